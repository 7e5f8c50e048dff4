//! What a person looking at the display sees, in the application's coordinates.

use std::fmt;

use super::chip::Chip;
use super::layout::Layout;

/// A snapshot of the display in logical coordinates (rotation undone), so that a frame
/// that goes driver → chain → `Pixels` comes back as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Pixels {
    width: usize,
    height: usize,
    /// Row-major PWM duty per LED; 0.0 is dark.
    levels: Vec<f32>,
}

impl Pixels {
    pub(crate) fn capture(layout: &Layout, chips: &[Chip]) -> Pixels {
        let (width, height) = layout.logical_size();
        let lit: Vec<[u8; 8]> = chips.iter().map(Chip::lit_digits).collect();
        let mut levels = vec![0.0; width * height];
        for y in 0..height {
            for x in 0..width {
                let Some(led) = layout.locate(x, y) else { continue };
                let (Some(digits), Some(chip)) = (lit.get(led.chip), chips.get(led.chip)) else { continue };
                if digits[usize::from(led.digit)] & (1 << led.bit) != 0 {
                    levels[y * width + x] = chip.pwm_duty();
                }
            }
        }
        Pixels { width, height, levels }
    }

    /// Logical width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Logical height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Whether the LED at logical `(x, y)` is lit; false outside the image.
    pub fn is_on(&self, x: usize, y: usize) -> bool {
        self.brightness(x, y) > 0.0
    }

    /// PWM duty of the LED at logical `(x, y)`: 0.0 dark, (2n+1)/32 for intensity n,
    /// 31/32 in display test; 0.0 outside the image.
    pub fn brightness(&self, x: usize, y: usize) -> f32 {
        if x >= self.width || y >= self.height {
            return 0.0;
        }
        self.levels[y * self.width + x]
    }

    /// One string per row, `#` lit and `.` dark: the golden-frame format.
    pub fn to_rows(&self) -> Vec<String> {
        (0..self.height)
            .map(|y| (0..self.width).map(|x| if self.is_on(x, y) { '#' } else { '.' }).collect())
            .collect()
    }
}

impl fmt::Display for Pixels {
    /// The rows of [`Pixels::to_rows`], one per line, for readable test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for row in self.to_rows() {
            writeln!(f, "{row}")?;
        }
        Ok(())
    }
}
