//! The LED look: turns a grid of LED brightnesses into what a person would see, as an
//! RGB picture (round red dots on black, unlit LEDs dim) or an ANSI terminal picture.
//! The preview window, `png:` and the terminal backend all draw from here, so they agree.

/// Brightness of every LED, row-major, 0.0 (dark) to 1.0 (full duty).
#[derive(Clone, Debug, PartialEq)]
pub struct LedGrid {
    pub width: u32,
    pub height: u32,
    pub level: Vec<f32>,
}

/// Colour of a lit LED at full brightness (0x00RRGGBB).
const LIT: (f32, f32, f32) = (255.0, 36.0, 18.0);
/// Colour of an unlit LED: a dim red so the matrix is visible when dark.
const UNLIT: (u8, u8, u8) = (48, 10, 10);
/// The background between LEDs.
const BOARD: (u8, u8, u8) = (8, 8, 8);

impl LedGrid {
    pub fn new(width: u32, height: u32) -> Self {
        LedGrid { width, height, level: vec![0.0; (width * height) as usize] }
    }

    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> f32) -> Self {
        let mut level = Vec::with_capacity((width * height) as usize);
        for y in 0..height {
            for x in 0..width {
                level.push(f(x, y).clamp(0.0, 1.0));
            }
        }
        LedGrid { width, height, level }
    }

    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.level[(y * self.width + x) as usize]
    }

    /// Rows of `#` (lit) and `.` (dark).
    pub fn to_rows(&self) -> Vec<String> {
        (0..self.height)
            .map(|y| (0..self.width).map(|x| if self.at(x, y) > 0.0 { '#' } else { '.' }).collect())
            .collect()
    }

    /// The LED colour for a brightness. A MAX7219's PWM duty runs from 1/32 to 31/32; the
    /// eye sees that roughly as a square root, so the displayed level is lifted to stay
    /// readable at low intensity.
    fn colour(level: f32) -> (u8, u8, u8) {
        if level <= 0.0 {
            return UNLIT;
        }
        let k = 0.35 + 0.65 * level.sqrt();
        let mix = |lit: f32, unlit: u8| (unlit as f32 + (lit - unlit as f32) * k).round() as u8;
        (mix(LIT.0, UNLIT.0), mix(LIT.1, UNLIT.1), mix(LIT.2, UNLIT.2))
    }

    /// Draws the LEDs as round dots, `pitch` pixels apart (each LED a disc filling about
    /// 80 % of its cell), into a 0x00RRGGBB buffer of `(width·pitch) × (height·pitch)`.
    pub fn draw_rgb(&self, pitch: u32) -> (u32, u32, Vec<u32>) {
        let pitch = pitch.max(2);
        let w = self.width * pitch;
        let h = self.height * pitch;
        let pack = |(r, g, b): (u8, u8, u8)| (r as u32) << 16 | (g as u32) << 8 | b as u32;
        let mut buf = vec![pack(BOARD); (w * h) as usize];
        let r = pitch as f32 * 0.4;
        let c = (pitch as f32 - 1.0) / 2.0;
        // Which pixels of a cell belong to the disc: computed once.
        let mut disc = Vec::with_capacity((pitch * pitch) as usize);
        for dy in 0..pitch {
            for dx in 0..pitch {
                let (fx, fy) = (dx as f32 - c, dy as f32 - c);
                disc.push(fx * fx + fy * fy <= r * r);
            }
        }
        for y in 0..self.height {
            for x in 0..self.width {
                let colour = pack(Self::colour(self.at(x, y)));
                for dy in 0..pitch {
                    let row = ((y * pitch + dy) * w + x * pitch) as usize;
                    for dx in 0..pitch {
                        if disc[(dy * pitch + dx) as usize] {
                            buf[row + dx as usize] = colour;
                        }
                    }
                }
            }
        }
        (w, h, buf)
    }

    /// The LED look as an RGB image.
    pub fn to_image(&self, pitch: u32) -> image::RgbImage {
        let (w, h, buf) = self.draw_rgb(pitch);
        let mut img = image::RgbImage::new(w, h);
        for (p, v) in img.pixels_mut().zip(buf) {
            *p = image::Rgb([(v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
        img
    }

    /// An ANSI picture: one `●` per LED in 24-bit colour, or `#`/`.` when `colour` is off
    /// (NO_COLOR, or output that is not a terminal).
    pub fn to_ansi(&self, colour: bool) -> String {
        let mut out = String::new();
        for y in 0..self.height {
            for x in 0..self.width {
                let level = self.at(x, y);
                if colour {
                    let (r, g, b) = Self::colour(level);
                    out.push_str(&format!("\x1b[38;2;{r};{g};{b}m●"));
                } else {
                    out.push(if level > 0.0 { '#' } else { '.' });
                }
            }
            if colour {
                out.push_str("\x1b[0m");
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lit_leds_are_red_and_brighter_with_level() {
        let grid = LedGrid::from_fn(2, 1, |x, _| if x == 0 { 1.0 } else { 0.0 });
        let img = grid.to_image(10);
        assert_eq!(img.dimensions(), (20, 10));
        let lit = img.get_pixel(5, 5);
        let dark = img.get_pixel(15, 5);
        let gap = img.get_pixel(10, 0);
        assert!(lit[0] > 200 && lit[1] < 80, "lit LED is red: {lit:?}");
        assert!(dark[0] < 80, "unlit LED is dim: {dark:?}");
        assert_eq!(gap.0, [BOARD.0, BOARD.1, BOARD.2]);
        let dim = LedGrid::colour(1.0 / 32.0);
        assert!(dim.0 < LedGrid::colour(1.0).0 && dim.0 > UNLIT.0);
    }

    #[test]
    fn ansi_without_colour_is_plain_rows() {
        let grid = LedGrid::from_fn(3, 2, |x, y| if x == y { 0.5 } else { 0.0 });
        assert_eq!(grid.to_ansi(false), "#..\n.#.\n");
        assert!(grid.to_ansi(true).contains("\x1b[38;2;"));
    }
}
