//! The property the whole display half rests on: for every wiring and chain length, a
//! sequence of frames sent by our driver into a VirtualChain wired the same way shows
//! exactly the last frame — and the driver never sends a transaction of the wrong size.

use crate::common;

use eslmatrix::driver::wiring::{ChainOrder, ModuleWiring, Rotation, Wiring};
use eslmatrix::render::Frame;
use proptest::prelude::*;

fn arb_wiring() -> impl Strategy<Value = Wiring> {
    (1u32..=8, 1u32..=4, 0u8..8, 0u8..4, 0u8..4).prop_map(|(mx, my, flags, chain, rot)| Wiring {
        modules_x: mx,
        modules_y: my,
        chain: [
            ChainOrder::RowMajor,
            ChainOrder::Reversed,
            ChainOrder::Serpentine,
            ChainOrder::ReversedSerpentine,
        ][chain as usize],
        module: ModuleWiring {
            digits_are_rows: flags & 1 != 0,
            columns_reversed: flags & 2 != 0,
            rows_reversed: flags & 4 != 0,
        },
        rotation: [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270][rot as usize],
    })
}

fn frame_from_bits(w: u32, h: u32, seed: &[u8]) -> Frame {
    let mut f = Frame::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) as usize;
            let byte = seed.get(i / 8 % seed.len().max(1)).copied().unwrap_or(0);
            let salt = (i as u32).wrapping_mul(2654435761) >> 29;
            f.set(x as i32, y as i32, (byte >> (i % 8)) & 1 != (salt & 1) as u8);
        }
    }
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn frames_come_back_unchanged(w in arb_wiring(), seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..64), 1..4)) {
        let (lw, lh) = w.logical_size();
        let frames: Vec<Frame> = seeds.iter().map(|s| frame_from_bits(lw, lh, s)).collect();
        let refs: Vec<&Frame> = frames.iter().collect();
        let chain = common::through_chain(w, &refs);
        let shown = chain.pixels().to_rows();
        prop_assert_eq!(shown, frames.last().unwrap().to_rows());
        prop_assert_eq!(chain.stats().bad_length, 0);
    }
}

#[test]
fn long_chains_of_1_to_64_modules() {
    for n in [1u32, 2, 3, 8, 9, 17, 33, 64] {
        let w = Wiring {
            modules_x: n,
            modules_y: 1,
            chain: ChainOrder::RowMajor,
            module: ModuleWiring::FC16,
            rotation: Rotation::R0,
        };
        let f = frame_from_bits(8 * n, 8, &[0x5A, 0x17, n as u8]);
        let chain = common::through_chain(w, &[&f]);
        assert_eq!(chain.pixels().to_rows(), f.to_rows(), "{n} modules");
        // A full refresh is 8 transactions of 2·N bytes; init adds 6 control + 8 clear ones.
        let stats = chain.stats();
        assert_eq!(stats.bad_length, 0);
        assert_eq!(stats.bytes, (6 + 8 + 8) * 2 * u64::from(n), "{n} modules");
    }
}
