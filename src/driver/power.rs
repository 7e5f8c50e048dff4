//! The chain's supply current, estimated from what it shows, and a budget that dims frames
//! that would draw more.
//!
//! The model, from the MAX7219 datasheet: a lit segment draws the segment current ISEG,
//! about 100 × the current out of ISET, so set by RSET (the 10 kΩ of common modules gives
//! about [`SEGMENT_MA`]); it draws it only while its digit is scanned, 1/8 of the time with
//! scan limit 7, and only for the intensity's PWM duty, (2n+1)/32 on the MAX7219. One lit
//! LED therefore averages ISEG × (2n+1)/256, and a module with all 64 LEDs lit at intensity
//! 15 about 310 mA. The chips' own few milliamps are left out: the LEDs are what a 5 V pin
//! cannot feed. Display test runs every LED at 31/32 whatever the intensity, so no budget
//! holds while it is on.

use std::time::Duration;

use super::intensity::Intensity;

/// The segment current of common modules (RSET about 10 kΩ), in mA.
pub const SEGMENT_MA: f64 = 40.0;

/// How long the driver waits after a change of intensity before it raises it again, unless
/// told otherwise: a scrolling text that dims and brightens column by column would flicker.
pub const DEFAULT_RAISE_AFTER: Duration = Duration::from_secs(1);

/// The estimated average supply current of `lit` LEDs at `intensity`, in mA.
pub fn estimate_ma(lit: usize, intensity: Intensity) -> f64 {
    lit as f64 * SEGMENT_MA * f64::from(2 * intensity.get() + 1) / 256.0
}

/// A limit on the chain's estimated current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerBudget {
    /// The most the chain may draw, in mA.
    pub max_ma: u32,
    /// The least time between a change of intensity and a raise; lowering is immediate, so
    /// the budget always holds.
    pub raise_after: Duration,
}

impl PowerBudget {
    /// `max_ma` with the [`DEFAULT_RAISE_AFTER`] pace.
    pub fn new(max_ma: u32) -> Self {
        PowerBudget { max_ma, raise_after: DEFAULT_RAISE_AFTER }
    }

    /// The brightest intensity, at most `wanted`, at which `lit` LEDs stay within the
    /// budget; [`Intensity::MIN`] when even that is over (the chip cannot go dimmer).
    pub fn fitting(&self, lit: usize, wanted: Intensity) -> Intensity {
        Intensity::all()
            .filter(|&i| i <= wanted && estimate_ma(lit, i) <= f64::from(self.max_ma))
            .last()
            .unwrap_or(Intensity::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(n: u8) -> Intensity {
        Intensity::new(n).unwrap()
    }

    #[test]
    fn the_model_gives_the_datasheet_figures() {
        // A whole module at full brightness: 64 × 40 mA × 31/32 / 8.
        assert!((estimate_ma(64, Intensity::MAX) - 310.0).abs() < 0.01);
        assert!((estimate_ma(64, Intensity::MIN) - 10.0).abs() < 0.01, "1/32 duty");
        assert!(estimate_ma(0, Intensity::MAX).abs() < f64::EPSILON);
    }

    #[test]
    fn the_fitting_intensity_is_the_brightest_under_the_budget() {
        let budget = PowerBudget::new(500);
        // Four modules all lit: 256 LEDs draw 40·(2n+1) mA, so n = 5 (440 mA) fits, 6 does not.
        assert_eq!(budget.fitting(256, Intensity::MAX), level(5));
        assert_eq!(budget.fitting(256, level(3)), level(3), "never brighter than asked");
        assert_eq!(budget.fitting(10, Intensity::MAX), Intensity::MAX, "a few LEDs fit at any level");
        assert_eq!(PowerBudget::new(1).fitting(256, Intensity::MAX), Intensity::MIN);
    }
}
