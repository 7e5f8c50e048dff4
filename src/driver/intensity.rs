//! The LED intensity, checked once: the MAX7219's sixteen PWM steps.

use std::fmt;

/// The brightest PWM step; the chip ignores the upper nibble, so anything above would
/// silently wrap to a dim level.
pub const MAX_INTENSITY: u8 = 15;

/// luma.led_matrix's default contrast 0x70, i.e. intensity 7.
pub const DEFAULT_INTENSITY: u8 = 7;

/// An intensity register value, 0 (duty 1/32) to [`MAX_INTENSITY`] (31/32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Intensity(u8);

/// An intensity above [`MAX_INTENSITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}: expected 0 to {MAX_INTENSITY}")]
pub struct IntensityError(pub u8);

impl Intensity {
    /// The brightest step.
    pub const MAX: Intensity = Intensity(MAX_INTENSITY);
    /// The dimmest step (the LEDs still light: only shutdown turns them off).
    pub const MIN: Intensity = Intensity(0);

    /// `value` if the chip has that step.
    pub fn new(value: u8) -> Result<Self, IntensityError> {
        if value > MAX_INTENSITY {
            return Err(IntensityError(value));
        }
        Ok(Intensity(value))
    }

    /// The register value.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Every step, dimmest first.
    pub fn all() -> impl Iterator<Item = Intensity> {
        (0..=MAX_INTENSITY).map(Intensity)
    }
}

impl Default for Intensity {
    fn default() -> Self {
        Intensity(DEFAULT_INTENSITY)
    }
}

impl fmt::Display for Intensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<u8> for Intensity {
    type Error = IntensityError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Intensity::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_steps_and_no_more() {
        assert_eq!(Intensity::all().count(), 16);
        assert_eq!(Intensity::new(15), Ok(Intensity::MAX));
        assert_eq!(Intensity::new(16), Err(IntensityError(16)));
        assert_eq!(IntensityError(16).to_string(), "16: expected 0 to 15");
        assert_eq!(Intensity::default().get(), 7);
    }
}
