//! Placing a line of static text on a display.

use super::font::{Font, CELL_HEIGHT};
use super::text::{draw_text, text_width};
use super::Frame;

/// Horizontal placement of a line that is narrower than the display. A config file names
/// it in lower case (`align = "center"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    #[default]
    /// Flush left.
    Left,
    /// Centred; an odd spare column goes to the right side.
    Center,
    /// Flush right.
    Right,
}

/// Whether `text` fits in `width` columns without clipping. The scene uses it to choose
/// between showing a line still and scrolling it.
pub fn fits(text: &str, font: Font, width: u32) -> bool {
    text_width(text, font) <= width
}

/// Top-left corner of a line of `text_width` columns in a `width` × `height` display.
///
/// A line too long for the display is placed at the left whatever the alignment: its
/// start is what identifies it (a caller's name, a counter's label). The 8-row cell is
/// at the top of an 8-row display and centred on a taller one (rounding up).
pub fn position(text_width: u32, width: u32, height: u32, align: Align) -> (i32, i32) {
    let spare = width.saturating_sub(text_width);
    let x = match align {
        Align::Left => 0,
        Align::Center => spare / 2,
        Align::Right => spare,
    };
    let y = height.saturating_sub(CELL_HEIGHT) / 2;
    (x as i32, y as i32)
}

/// Clears `frame` and draws `text` on it, aligned and clipped.
pub fn draw_aligned(frame: &mut Frame, text: &str, font: Font, align: Align) {
    frame.clear();
    let (x, y) = position(text_width(text, font), frame.width(), frame.height(), align);
    draw_text(frame, text, font, x, y);
}

/// A `width` × `height` frame showing `text` aligned and clipped.
pub fn render_aligned(text: &str, font: Font, width: u32, height: u32, align: Align) -> Frame {
    let mut frame = Frame::new(width, height);
    draw_aligned(&mut frame, text, font, align);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::render_text;

    #[test]
    fn aligns_left_centre_right() {
        // "OK" fixed is 16 columns; on 32 there are 16 to spare.
        assert_eq!(position(16, 32, 8, Align::Left), (0, 0));
        assert_eq!(position(16, 32, 8, Align::Center), (8, 0));
        assert_eq!(position(16, 32, 8, Align::Right), (16, 0));
        assert_eq!(position(15, 32, 8, Align::Center), (8, 0));
        let strip = render_text("OK", Font::Fixed8);
        for (align, x) in [(Align::Left, 0), (Align::Center, 8), (Align::Right, 16)] {
            let mut want = Frame::new(32, 8);
            want.blit(&strip, x, 0);
            assert_eq!(render_aligned("OK", Font::Fixed8, 32, 8, align), want, "{align:?}");
        }
    }

    #[test]
    fn long_text_is_clipped_showing_its_start() {
        let text = "A long line of text";
        assert!(!fits(text, Font::Fixed8, 32));
        let strip = render_text(text, Font::Fixed8);
        let mut want = Frame::new(32, 8);
        want.blit(&strip, 0, 0);
        for align in [Align::Left, Align::Center, Align::Right] {
            assert_eq!(render_aligned(text, Font::Fixed8, 32, 8, align), want, "{align:?}");
        }
    }

    #[test]
    fn fits_is_exact_at_the_edge() {
        assert!(fits("ABCD", Font::Fixed8, 32));
        assert!(!fits("ABCD", Font::Fixed8, 31));
        assert!(fits("", Font::Small, 0));
    }

    #[test]
    fn centres_vertically_on_taller_displays() {
        assert_eq!(position(8, 32, 16, Align::Left), (0, 4));
        assert_eq!(position(8, 32, 8, Align::Left), (0, 0));
        assert_eq!(position(8, 32, 4, Align::Left), (0, 0));
        let f = render_aligned("X", Font::Fixed8, 16, 16, Align::Left);
        assert_eq!(f.lit(), render_text("X", Font::Fixed8).lit());
        assert!((0..16).all(|x| !f.get(x, 3) && !f.get(x, 12)));
    }

    #[test]
    fn redraw_replaces_previous_content() {
        let mut f = Frame::new(32, 8);
        draw_aligned(&mut f, "8888", Font::Fixed8, Align::Left);
        draw_aligned(&mut f, "1", Font::Fixed8, Align::Right);
        assert_eq!(f, render_aligned("1", Font::Fixed8, 32, 8, Align::Right));
    }
}
