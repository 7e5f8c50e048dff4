//! Scroll speed, checked once: columns (LED pixels) per second.

use std::fmt;

/// The fastest scroll accepted. A person cannot read text that moves faster, and at 1000
/// columns per second a frame is already due every millisecond.
pub const MAX_SPEED: f64 = 1000.0;

/// A scroll speed in columns per second: finite, above 0, at most [`MAX_SPEED`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Speed(f64);

/// A speed that is not one (zero, negative, not a number, too fast).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: expected columns per second, above 0 and at most {MAX_SPEED}")]
pub struct SpeedError(pub String);

impl Speed {
    /// The daemon's default: ESPHome's max7219digit scrolls at about this pace.
    pub const DAEMON: Speed = Speed(30.0);
    /// luma's default `scroll_delay` of 0.03 s per column, which `show` and `text` keep.
    pub const LUMA: Speed = Speed(33.0);

    /// `columns_per_second` if it is a speed.
    pub fn new(columns_per_second: f64) -> Result<Self, SpeedError> {
        if columns_per_second.is_finite() && columns_per_second > 0.0 && columns_per_second <= MAX_SPEED {
            Ok(Speed(columns_per_second))
        } else {
            Err(SpeedError(columns_per_second.to_string()))
        }
    }

    /// Columns per second.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Speed {
    type Err = SpeedError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Speed::new(s.trim().parse().map_err(|_| SpeedError(s.to_owned()))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_are_positive_finite_and_bounded() {
        assert_eq!(Speed::new(33.0).map(Speed::get), Ok(33.0));
        assert_eq!(Speed::new(MAX_SPEED).map(Speed::get), Ok(MAX_SPEED));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_SPEED + 0.5] {
            assert!(Speed::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            SpeedError("0".into()).to_string(),
            "0: expected columns per second, above 0 and at most 1000"
        );
        assert_eq!("40".parse::<Speed>().map(Speed::get), Ok(40.0));
        assert!("fast".parse::<Speed>().is_err());
    }
}
