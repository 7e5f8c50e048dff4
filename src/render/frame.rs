//! The 1-bit framebuffer every picture passes through.
//!
//! Pixels are packed eight to a byte, row-major, most significant bit leftmost. That
//! layout makes an 8×8 module a run of eight bytes one stride apart, which is what the
//! driver's wiring transform works on, and makes a scroll step a byte-wise shift.

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;

/// A width × height 1-bit picture. Coordinates outside it are ignored when drawing
/// and read as dark.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    width: u32,
    height: u32,
    stride: usize,
    bits: Vec<u8>,
}

/// A row of a textual picture was not `#`/`.` or had the wrong length.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("picture row {row}: {problem}")]
pub struct ParseFrameError {
    /// The row, counted from 0.
    pub row: usize,
    /// What is wrong with it.
    pub problem: String,
}

impl Frame {
    /// A dark frame.
    pub fn new(width: u32, height: u32) -> Self {
        let stride = (width as usize).div_ceil(8);
        Frame { width, height, stride, bits: vec![0; stride * height as usize] }
    }

    /// Pixels across.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Pixels down.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The packed rows: `stride()` bytes per row, bit 7 of byte 0 is x = 0.
    pub fn bytes(&self) -> &[u8] {
        &self.bits
    }

    /// Mutable packed rows. Bits past `width` in the last byte of a row must stay 0.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bits
    }

    /// One packed row.
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.bits[start..start + self.stride]
    }

    /// Whether pixel `(x, y)` is lit; false outside the frame.
    pub fn get(&self, x: i32, y: i32) -> bool {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return false;
        }
        let i = y as usize * self.stride + x as usize / 8;
        self.bits[i] & (0x80 >> (x as usize % 8)) != 0
    }

    /// Lights or darkens pixel `(x, y)`; outside the frame nothing happens.
    pub fn set(&mut self, x: i32, y: i32, on: bool) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return;
        }
        let i = y as usize * self.stride + x as usize / 8;
        let mask = 0x80 >> (x as usize % 8);
        if on {
            self.bits[i] |= mask;
        } else {
            self.bits[i] &= !mask;
        }
    }

    /// Turns every pixel off.
    pub fn clear(&mut self) {
        self.bits.fill(0);
    }

    /// Flips every pixel (inverse video).
    pub fn invert(&mut self) {
        for b in &mut self.bits {
            *b = !*b;
        }
        self.mask_tail();
    }

    /// Number of lit pixels.
    pub fn lit(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Parses rows of `#` (on) and `.` (off); all rows must have the same length.
    pub fn from_rows<S: AsRef<str>>(rows: &[S]) -> Result<Self, ParseFrameError> {
        let width = rows.first().map_or(0, |r| r.as_ref().chars().count());
        let mut f = Frame::new(width as u32, rows.len() as u32);
        for (y, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.chars().count() != width {
                return Err(ParseFrameError {
                    row: y,
                    problem: format!("{} pixels, expected {width}", row.chars().count()),
                });
            }
            for (x, c) in row.chars().enumerate() {
                match c {
                    '#' => f.set(x as i32, y as i32, true),
                    '.' => {}
                    other => {
                        return Err(ParseFrameError {
                            row: y,
                            problem: format!("unexpected {other:?} at column {x}"),
                        })
                    }
                }
            }
        }
        Ok(f)
    }

    /// Rows of `#` (on) and `.` (off).
    pub fn to_rows(&self) -> Vec<String> {
        (0..self.height as i32)
            .map(|y| (0..self.width as i32).map(|x| if self.get(x, y) { '#' } else { '.' }).collect())
            .collect()
    }

    /// Copies `src` into this frame with its top-left corner at (`dx`, `dy`); parts
    /// that fall outside are clipped. Set pixels of `src` are ORed in.
    pub fn blit(&mut self, src: &Frame, dx: i32, dy: i32) {
        for y in 0..src.height as i32 {
            let ty = y + dy;
            if ty < 0 || ty as u32 >= self.height {
                continue;
            }
            for x in 0..src.width as i32 {
                if src.get(x, y) {
                    self.set(x + dx, ty, true);
                }
            }
        }
    }

    /// Fills this frame with the window of `src` whose top-left corner is at
    /// (`sx`, `sy`) in `src`; pixels outside `src` are dark. This is the scroll step, so
    /// it works a byte at a time rather than a pixel at a time.
    pub fn copy_window(&mut self, src: &Frame, sx: i32, sy: i32) {
        let src_stride = src.stride;
        for y in 0..self.height as usize {
            let out = &mut self.bits[y * self.stride..(y + 1) * self.stride];
            let syy = sy + y as i32;
            if syy < 0 || syy as u32 >= src.height {
                out.fill(0);
                continue;
            }
            let srow = &src.bits[syy as usize * src_stride..(syy as usize + 1) * src_stride];
            let byte_at = |i: i64| -> u8 {
                if i < 0 || i as usize >= srow.len() {
                    0
                } else {
                    srow[i as usize]
                }
            };
            let shift = sx.rem_euclid(8) as u32;
            let first = i64::from(sx.div_euclid(8));
            for (k, o) in out.iter_mut().enumerate() {
                let hi = byte_at(first + k as i64);
                *o = if shift == 0 {
                    hi
                } else {
                    let lo = byte_at(first + k as i64 + 1);
                    (hi << shift) | (lo >> (8 - shift))
                };
            }
        }
        self.mask_tail();
    }

    /// Keeps the padding bits past `width` at zero so that equality and `lit` see
    /// only real pixels.
    fn mask_tail(&mut self) {
        let rem = self.width as usize % 8;
        if rem == 0 || self.stride == 0 {
            return;
        }
        let mask = 0xFFu8 << (8 - rem);
        for row in self.bits.chunks_mut(self.stride) {
            if let Some(last) = row.last_mut() {
                *last &= mask;
            }
        }
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Frame {}x{}", self.width, self.height)?;
        for row in self.to_rows() {
            writeln!(f, "{row}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for row in self.to_rows() {
            writeln!(f, "{row}")?;
        }
        Ok(())
    }
}

impl OriginDimensions for Frame {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Frame {
    type Color = BinaryColor;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            self.set(p.x, p.y, c.is_on());
        }
        Ok(())
    }

    fn clear(&mut self, color: Self::Color) -> Result<(), Self::Error> {
        self.bits.fill(if color.is_on() { 0xFF } else { 0 });
        self.mask_tail();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

    #[test]
    fn rows_round_trip_and_reject_bad_rows() {
        let rows = ["#..#.....#", ".##......."];
        let f = Frame::from_rows(&rows).unwrap();
        assert_eq!(f.to_rows(), rows);
        assert_eq!(f.lit(), 5);
        assert!(Frame::from_rows(&["#.", "#"]).is_err());
        assert!(Frame::from_rows(&["#x"]).is_err());
    }

    #[test]
    fn draws_through_embedded_graphics_and_clips() {
        let mut f = Frame::new(10, 3);
        Rectangle::new(Point::new(8, 1), Size::new(5, 5))
            .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
            .draw(&mut f)
            .unwrap();
        assert_eq!(f.to_rows(), ["..........", "........##", "........##"]);
        DrawTarget::clear(&mut f, BinaryColor::On).unwrap();
        assert_eq!(f.lit(), 30);
        f.invert();
        assert_eq!(f.lit(), 0);
    }

    #[test]
    fn copy_window_matches_pixel_by_pixel_copy() {
        let mut src = Frame::new(29, 5);
        for (i, (x, y)) in (0..29).flat_map(|x| (0..5).map(move |y| (x, y))).enumerate() {
            src.set(x, y, (i * 7 + i / 3) % 5 < 2);
        }
        for sx in -12..34 {
            for sy in -2..3 {
                let mut fast = Frame::new(16, 4);
                fast.copy_window(&src, sx, sy);
                let mut slow = Frame::new(16, 4);
                for y in 0..4 {
                    for x in 0..16 {
                        slow.set(x, y, src.get(x + sx, y + sy));
                    }
                }
                assert_eq!(fast, slow, "window at {sx},{sy}");
            }
        }
    }
}
