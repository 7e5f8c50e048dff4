//! `probe` on a VirtualChain with DOUT of the last chip looped back to MISO.

use std::convert::Infallible;

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use eslmatrix::backend::sim_layout;
use eslmatrix::driver::wiring::Wiring;
use eslmatrix::driver::{Intensity, Max7219};
use eslmatrix::render::Frame;
use eslmatrix::tools::probe::{probe, ProbeReport, DEFAULT_MAX_CHIPS};
use eslmatrix_sim::chain::VirtualChain;

fn looped(chips: usize) -> VirtualChain {
    let mut chain = VirtualChain::new(chips);
    chain.set_dout_loopback(true);
    chain
}

#[test]
fn counts_every_chain_length_from_1_to_64() {
    for n in 1..=64 {
        let mut chain = looped(n);
        assert_eq!(
            probe(&mut chain, DEFAULT_MAX_CHIPS).unwrap(),
            ProbeReport::Intact { chips: n, skew_bits: 0 },
            "{n} chips"
        );
        // A second probe right after sees the same: nothing of the first is left over.
        assert_eq!(
            probe(&mut chain, DEFAULT_MAX_CHIPS).unwrap(),
            ProbeReport::Intact { chips: n, skew_bits: 0 }
        );
    }
}

#[test]
fn a_broken_chain_or_a_missing_wire_returns_no_marker() {
    for n in [1, 4, 12] {
        for k in 0..n {
            let mut chain = looped(n);
            chain.break_after(k);
            assert_eq!(
                probe(&mut chain, 64).unwrap(),
                ProbeReport::NoMarker { words: 64 },
                "{n} chips, break after {k}"
            );
            chain.repair();
            assert_eq!(probe(&mut chain, 64).unwrap(), ProbeReport::Intact { chips: n, skew_bits: 0 });
        }
    }
    let mut unwired = VirtualChain::new(4);
    assert_eq!(probe(&mut unwired, 64).unwrap(), ProbeReport::NoMarker { words: 64 });
}

#[test]
fn a_chain_longer_than_the_search_is_not_counted() {
    let mut chain = looped(20);
    assert_eq!(probe(&mut chain, 16).unwrap(), ProbeReport::NoMarker { words: 16 });
    assert_eq!(probe(&mut chain, 20).unwrap(), ProbeReport::Intact { chips: 20, skew_bits: 0 });
    assert!(probe(&mut chain, 0).is_err());
}

#[test]
fn probing_leaves_the_picture_alone() {
    let wiring = Wiring::new(4, 1).unwrap();
    let mut chain = VirtualChain::new(4).with_layout(sim_layout(&wiring)).unwrap();
    chain.set_dout_loopback(true);
    let mut driver = Max7219::new(chain, wiring).unwrap();
    driver.init(Intensity::default()).unwrap();
    let mut frame = Frame::new(32, 8);
    for x in 0..32 {
        frame.set(x, x % 8, true);
    }
    driver.write_frame(&frame).unwrap();
    let mut chain = driver.release();
    let before = chain.chips().to_vec();
    let picture = chain.pixels();
    chain.reset_stats();
    assert_eq!(probe(&mut chain, 8).unwrap(), ProbeReport::Intact { chips: 4, skew_bits: 0 });
    assert_eq!(chain.chips(), &before[..]);
    assert_eq!(chain.pixels(), picture);
    // Every chip latched a no-op and nothing else.
    let writes = chain.stats().register_writes;
    assert_eq!(writes[0], 4);
    assert_eq!(writes[1..].iter().sum::<u64>(), 0);
}

/// A MISO sampled one clock late: every byte read arrives one bit later.
struct LateMiso(VirtualChain, bool);

impl ErrorType for LateMiso {
    type Error = Infallible;
}

impl SpiDevice<u8> for LateMiso {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        self.0.transaction(ops)?;
        for op in ops.iter_mut() {
            if let Operation::Transfer(read, _) = op {
                let mut carry = self.1;
                for b in read.iter_mut() {
                    let next = *b & 1 != 0;
                    *b = (*b >> 1) | if carry { 0x80 } else { 0 };
                    carry = next;
                }
                self.1 = carry;
            }
        }
        Ok(())
    }
}

#[test]
fn a_clock_of_skew_still_counts_right_and_is_reported() {
    let mut dev = LateMiso(looped(5), false);
    let report = probe(&mut dev, 32).unwrap();
    assert_eq!(report, ProbeReport::Intact { chips: 5, skew_bits: 1 });
    assert_eq!(report.to_string(), "chain intact, 5 chips (DOUT arrives +1 bit off the word boundary)");
}
