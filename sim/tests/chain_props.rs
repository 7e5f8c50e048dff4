//! Properties: the byte-wise delay line agrees with a naive bit-by-bit model of the chain,
//! nothing panics on arbitrary input, and the counters add up.

use embedded_hal::spi::SpiDevice;
use eslmatrix_sim::chain::{parse_capture, ChainOrder, Layout, ModuleWiring, Rotation, VirtualChain};
use proptest::prelude::*;

/// The chain as the datasheet draws it: one u16 per chip, shifted one bit per clock, MSB
/// first; a broken chip's DOUT is stuck low.
struct BitModel {
    registers: Vec<u16>,
    broken_after: Option<usize>,
    /// Per chip: digits, decode, intensity, scan limit, shutdown, test.
    state: Vec<([u8; 8], u8, u8, u8, bool, bool)>,
}

impl BitModel {
    fn new(n: usize, broken_after: Option<usize>) -> Self {
        BitModel { registers: vec![0; n], broken_after, state: vec![([0; 8], 0, 0, 0, true, false); n] }
    }

    fn clock(&mut self, mut bit: u16) -> u16 {
        for (i, register) in self.registers.iter_mut().enumerate() {
            let out = *register >> 15;
            *register = (*register << 1) | bit;
            bit = if self.broken_after == Some(i) { 0 } else { out };
        }
        bit
    }

    fn shift_byte(&mut self, byte: u8) -> u8 {
        let mut out = 0u8;
        for k in (0..8).rev() {
            out = (out << 1) | self.clock(u16::from(byte >> k) & 1) as u8;
        }
        out
    }

    fn latch(&mut self) {
        for (register, state) in self.registers.iter().zip(self.state.iter_mut()) {
            let data = (*register & 0xFF) as u8;
            match (*register >> 8) & 0x0F {
                a @ 1..=8 => state.0[usize::from(a - 1)] = data,
                9 => state.1 = data,
                10 => state.2 = data & 0x0F,
                11 => state.3 = data & 0x07,
                12 => state.4 = data & 1 == 0,
                15 => state.5 = data & 1 == 1,
                _ => {}
            }
        }
    }
}

fn transactions() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..24), 0..16)
}

proptest! {
    #[test]
    fn byte_delay_line_matches_bit_model(
        n in 0usize..6,
        frames in transactions(),
        broken in prop::option::of(0usize..6),
    ) {
        let mut chain = VirtualChain::new(n);
        chain.set_dout_loopback(true);
        if let Some(k) = broken { chain.break_after(k); }
        let mut model = BitModel::new(n, broken);
        for frame in &frames {
            let mut readback = frame.clone();
            chain.transfer_in_place(&mut readback).unwrap();
            let expected: Vec<u8> = frame.iter().map(|&b| model.shift_byte(b)).collect();
            model.latch();
            prop_assert_eq!(readback, expected);
        }
        for i in 0..n {
            prop_assert_eq!(chain.shift_register(i), Some(model.registers[i]));
            let chip = &chain.chips()[i];
            let state = (chip.digits(), chip.decode_mode(), chip.intensity(), chip.scan_limit(), chip.shutdown(), chip.test());
            prop_assert_eq!(state, model.state[i]);
        }
    }

    #[test]
    fn stats_add_up(n in 0usize..9, frames in transactions()) {
        let mut chain = VirtualChain::new(n);
        for frame in &frames {
            chain.write(frame).unwrap();
        }
        let stats = chain.stats();
        let t = frames.len() as u64;
        prop_assert_eq!(stats.transactions, t);
        prop_assert_eq!(stats.bytes, frames.iter().map(|f| f.len() as u64).sum::<u64>());
        prop_assert_eq!(stats.latches, t * n as u64);
        prop_assert_eq!(stats.register_writes.iter().sum::<u64>(), stats.latches);
        prop_assert_eq!(stats.bad_length, frames.iter().filter(|f| f.len() != 2 * n).count() as u64);
        prop_assert_eq!(stats.undefined_register_writes, stats.register_writes[0xD] + stats.register_writes[0xE]);
        let _ = chain.pixels().to_rows();
    }

    #[test]
    fn capture_parser_never_panics(text in any::<String>()) {
        let _ = parse_capture(&text);
    }

    #[test]
    fn capture_parser_never_panics_on_near_misses(text in "[0-9a-fA-FxX# \t\n\u{e9}]{0,80}") {
        let _ = parse_capture(&text);
    }

    #[test]
    fn captures_round_trip(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..12), 1..8), spaced in any::<bool>()) {
        let sep = if spaced { " " } else { "" };
        let text: String = frames
            .iter()
            .map(|f| f.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(sep) + "  # note\n")
            .collect();
        prop_assert_eq!(parse_capture(&text).unwrap(), frames);
    }

    #[test]
    fn any_image_through_any_layout_comes_back(
        mx in 1u32..4, my in 1u32..3,
        order in 0usize..4, wiring in 0u8..8, rotation in 0u8..4,
        seed in any::<u64>(),
    ) {
        let layout = Layout {
            modules_x: mx,
            modules_y: my,
            chain_order: [ChainOrder::RowMajor, ChainOrder::Reversed, ChainOrder::Serpentine, ChainOrder::ReversedSerpentine][order],
            module: ModuleWiring { digits_are_rows: wiring & 1 != 0, columns_reversed: wiring & 2 != 0, rows_reversed: wiring & 4 != 0 },
            rotation: Rotation::from_luma(rotation).unwrap(),
        };
        let n = layout.module_count();
        let (w, h) = layout.logical_size();
        // A cheap deterministic image from the seed.
        let on = |x: usize, y: usize| (seed.rotate_left((x * 7 + y * 13) as u32 % 64) ^ (x * y) as u64) & 1 == 1;
        let mut ram = vec![[0u8; 8]; n];
        for y in 0..h {
            for x in 0..w {
                if on(x, y) {
                    let led = layout.locate(x, y).unwrap();
                    ram[led.chip][usize::from(led.digit)] |= 1 << led.bit;
                }
            }
        }
        let mut chain = VirtualChain::new(n).with_layout(layout).unwrap();
        chain.write(&[0x0C, 0x01].repeat(n)).unwrap();
        chain.write(&[0x0B, 0x07].repeat(n)).unwrap();
        for digit in 0u8..8 {
            // The first word goes to the farthest chip.
            let frame: Vec<u8> =
                ram.iter().rev().flat_map(|digits| [digit + 1, digits[usize::from(digit)]]).collect();
            chain.write(&frame).unwrap();
        }
        let expected: Vec<String> =
            (0..h).map(|y| (0..w).map(|x| if on(x, y) { '#' } else { '.' }).collect()).collect();
        prop_assert_eq!(chain.pixels().to_rows(), expected);
    }
}
