//! The power budget through the virtual chain: what the driver sends under a current limit,
//! read back from the emulated chips, whose own intensity register, PWM duty and scan share
//! give the current independently of the driver's estimate.

use std::time::Duration;

use eslmatrix::backend::virtual_chain;
use eslmatrix::driver::power::SEGMENT_MA;
use eslmatrix::driver::{Intensity, Max7219, PowerBudget, Wiring};
use eslmatrix::render::{render_aligned, Align, Font, Frame};
use eslmatrix_sim::chain::VirtualChain;

fn driver(budget: PowerBudget) -> Max7219<VirtualChain> {
    let wiring = Wiring::new(4, 1).unwrap();
    let mut d = Max7219::new(virtual_chain(&wiring).unwrap(), wiring).unwrap();
    d.init(Intensity::MAX).unwrap();
    d.set_budget(Some(budget));
    d
}

/// The chain's current as the emulated chips draw it: lit LEDs × ISEG × PWM duty × scan share.
fn chain_ma(chain: &VirtualChain) -> f64 {
    chain
        .chips()
        .iter()
        .map(|c| {
            let lit: u32 = c.lit_digits().iter().map(|d| d.count_ones()).sum();
            f64::from(lit) * SEGMENT_MA * f64::from(c.pwm_duty()) * f64::from(c.scan_share())
        })
        .sum()
}

fn intensities(chain: &VirtualChain) -> Vec<u8> {
    chain.chips().iter().map(eslmatrix_sim::chain::Chip::intensity).collect()
}

fn all_on() -> Frame {
    let mut f = Frame::new(32, 8);
    f.invert();
    f
}

#[test]
fn an_all_on_frame_at_full_intensity_under_500_ma_is_sent_at_the_brightest_level_that_fits() {
    let mut d = driver(PowerBudget { max_ma: 500, raise_after: Duration::ZERO });
    d.write_frame(&all_on()).unwrap();
    // 256 LEDs draw 40 mA × (2n+1) at intensity n: 5 gives 440 mA, 6 would give 520.
    assert_eq!(intensities(d.spi()), [5; 4]);
    let drawn = chain_ma(d.spi());
    assert!((drawn - 440.0).abs() < 1.0, "the chips draw {drawn} mA");
    assert!((d.estimated_ma() - drawn).abs() < 1.0, "the estimate agrees: {}", d.estimated_ma());
    // A sparse picture fits at the intensity asked for, and gets it back.
    d.write_frame(&render_aligned("Hi", Font::Proportional8, 32, 8, Align::Left)).unwrap();
    assert_eq!(intensities(d.spi()), [15; 4]);
    assert!(d.peak_ma() <= 500.0 && d.peak_ma() > 400.0, "peak {}", d.peak_ma());
}

#[test]
fn the_intensity_is_lowered_at_once_but_raised_only_at_the_budgets_pace() {
    let mut d = driver(PowerBudget { max_ma: 500, raise_after: Duration::from_secs(3600) });
    let sparse = render_aligned("Hi", Font::Proportional8, 32, 8, Align::Left);
    for _ in 0..3 {
        d.write_frame(&all_on()).unwrap();
        assert_eq!(intensities(d.spi()), [5; 4], "over the budget: dimmed in the same frame");
        assert!(chain_ma(d.spi()) <= 500.0);
        d.write_frame(&sparse).unwrap();
        assert_eq!(intensities(d.spi()), [5; 4], "not raised again within the pace: no flicker");
    }
    // Asking for less than the budget allows is obeyed at once.
    d.set_intensity(Intensity::new(2).unwrap()).unwrap();
    assert_eq!(intensities(d.spi()), [2; 4]);
}

#[test]
fn without_a_budget_nothing_is_dimmed() {
    let wiring = Wiring::new(4, 1).unwrap();
    let mut d = Max7219::new(virtual_chain(&wiring).unwrap(), wiring).unwrap();
    d.init(Intensity::MAX).unwrap();
    d.write_frame(&all_on()).unwrap();
    assert_eq!(intensities(d.spi()), [15; 4]);
    assert!((chain_ma(d.spi()) - 1240.0).abs() < 1.0, "four modules at full brightness: 4 × 310 mA");
}
