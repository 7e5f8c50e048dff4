//! Turning a string into glyphs and glyphs into pixels.
//!
//! Each character goes through the same fallback chain, so that width, drawing and the
//! report of unsupported characters always agree: the font's own glyph; else an ASCII
//! spelling (é→e, €→EUR, “→"); else a hollow box. Controls and Unicode spaces draw as a
//! space; zero-width characters and stray combining marks draw nothing.

use super::font::{Font, Glyph, CELL_HEIGHT};
use super::translit::{compose, is_combining_mark, is_invisible, is_space_like, transliterate};
use super::Frame;

/// How a glyph came to be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The font's glyph for the character, or a stand-in spelling of it.
    Drawn,
    /// The character could not be drawn; the hollow box stands in for it.
    Missing(char),
}

/// Calls `emit` with every glyph `text` draws as in `font`, left to right.
fn for_each_glyph(text: &str, font: Font, mut emit: impl FnMut(Glyph, Source)) {
    let mut chars = text.chars().peekable();
    while let Some(mut c) = chars.next() {
        // A decomposed letter (e + U+0301) becomes é when the font can draw é.
        while let Some(&mark) = chars.peek().filter(|&&m| is_combining_mark(m)) {
            match compose(c, mark).filter(|&composed| font.own_glyph(composed).is_some()) {
                Some(composed) => {
                    c = composed;
                    chars.next();
                }
                None => break,
            }
        }
        if is_invisible(c) || is_combining_mark(c) {
            continue;
        }
        let c = if is_space_like(c) { ' ' } else { c };
        if let Some(glyph) = font.own_glyph(c) {
            emit(glyph, Source::Drawn);
        } else if let Some(spelling) = transliterate(c) {
            for a in spelling.chars() {
                match font.own_glyph(a) {
                    Some(glyph) => emit(glyph, Source::Drawn),
                    None => emit(font.missing_glyph(), Source::Missing(c)),
                }
            }
        } else {
            emit(font.missing_glyph(), Source::Missing(c));
        }
    }
}

/// Width in columns of `text` drawn in `font`.
pub fn text_width(text: &str, font: Font) -> u32 {
    let mut width = 0u32;
    for_each_glyph(text, font, |g, _| width = width.saturating_add(u32::from(g.width)));
    width
}

/// The characters of `text` that `font` can neither draw nor spell in ASCII, in order
/// of first appearance. Each of them is drawn as a hollow box.
pub fn unsupported_chars(text: &str, font: Font) -> Vec<char> {
    let mut missing = Vec::new();
    for_each_glyph(text, font, |_, source| {
        if let Source::Missing(c) = source {
            if !missing.contains(&c) {
                missing.push(c);
            }
        }
    });
    missing
}

/// `text` as a strip exactly [`text_width`] columns wide and 8 rows tall: the input of
/// a [`Scroll`](super::Scroll), or a picture to [`Frame::blit`].
pub fn render_text(text: &str, font: Font) -> Frame {
    let mut strip = Frame::new(text_width(text, font), CELL_HEIGHT);
    draw_text(&mut strip, text, font, 0, 0);
    strip
}

/// Draws `text` with the top-left of its 8-row cell at (`x`, `y`), ORing it into what is
/// already there and clipping at the frame's edges. Returns the x just past the text,
/// where a following piece of text would start.
pub fn draw_text(frame: &mut Frame, text: &str, font: Font, x: i32, y: i32) -> i32 {
    let mut pen = i64::from(x);
    for_each_glyph(text, font, |g, _| {
        for (dy, &bits) in g.rows.iter().enumerate() {
            or_row(frame, pen, i64::from(y) + dy as i64, bits, u32::from(g.width));
        }
        pen += i64::from(g.width);
    });
    pen.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// ORs `bits` (most significant bit = column `x`, `width` ≤ 8 columns) into row `y`,
/// dropping what falls outside the frame. Works on the packed bytes: at most two per
/// glyph row.
fn or_row(frame: &mut Frame, x: i64, y: i64, bits: u8, width: u32) {
    let (frame_width, frame_height) = (i64::from(frame.width()), i64::from(frame.height()));
    if bits == 0 || y < 0 || y >= frame_height {
        return;
    }
    let (mut x, mut bits, mut width) = (x, bits, i64::from(width));
    if x < 0 {
        let cut = -x;
        if cut >= width {
            return;
        }
        bits <<= cut;
        width -= cut;
        x = 0;
    }
    if x >= frame_width {
        return;
    }
    let visible = width.min(frame_width - x).min(8) as u32;
    bits &= (0xFF00u16 >> visible) as u8;
    let stride = frame.stride();
    let i = y as usize * stride + x as usize / 8;
    let shift = (x % 8) as u32;
    let bytes = frame.bytes_mut();
    bytes[i] |= bits >> shift;
    if shift > 0 {
        // Non-zero only if a visible column lies in the next byte, which then exists.
        let spill = bits << (8 - shift);
        if spill != 0 {
            bytes[i + 1] |= spill;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use font8x8::{UnicodeFonts, LATIN_FONTS};
    use proptest::prelude::*;

    fn rows(text: &str, font: Font) -> Vec<String> {
        render_text(text, font).to_rows()
    }

    #[test]
    fn fixed8_is_eight_columns_per_character() {
        assert_eq!(text_width("H", Font::Fixed8), 8);
        assert_eq!(text_width("Hello world", Font::Fixed8), 88);
        assert_eq!(text_width("", Font::Fixed8), 0);
        assert_eq!(render_text("", Font::Fixed8).width(), 0);
    }

    #[test]
    fn proportional_width_is_ink_plus_one_and_space_is_four() {
        assert_eq!(text_width("H", Font::Proportional8), 7);
        assert_eq!(text_width(" ", Font::Proportional8), 4);
        let ink = |c: char| {
            let strip = render_text(&c.to_string(), Font::Fixed8);
            let cols: Vec<i32> = (0..8).filter(|&x| (0..8).any(|y| strip.get(x, y))).collect();
            (cols.last().unwrap() - cols.first().unwrap() + 1) as u32
        };
        let expected: u32 = "Helloworld".chars().map(|c| ink(c) + 1).sum::<u32>() + 4;
        assert_eq!(text_width("Hello world", Font::Proportional8), expected);
        // Trimming must not cut ink: every glyph's pixels survive.
        let text = "Hello world";
        assert_eq!(render_text(text, Font::Proportional8).lit(), render_text(text, Font::Fixed8).lit());
    }

    #[test]
    fn small_is_four_columns_and_centred_in_the_cell() {
        assert_eq!(text_width("OK 42", Font::Small), 20);
        let r = rows("OK 42", Font::Small);
        assert_eq!(r.len(), 8);
        assert!(!r[0].contains('#') && !r[7].contains('#'));
    }

    #[test]
    fn fixed8_draws_font8x8_latin1_glyphs() {
        let e = LATIN_FONTS.get('é').unwrap();
        let strip = render_text("é", Font::Fixed8);
        for (y, byte) in e.iter().enumerate() {
            for x in 0..8 {
                assert_eq!(strip.get(x, y as i32), byte & (1 << x) != 0, "({x},{y})");
            }
        }
        assert!(unsupported_chars("é", Font::Fixed8).is_empty());
    }

    #[test]
    fn missing_letters_fall_back_to_ascii_spellings() {
        assert_eq!(rows("é", Font::Small), rows("e", Font::Small));
        assert_eq!(rows("Grüße", Font::Small), rows("Grusse", Font::Small));
        assert_eq!(rows("€", Font::Fixed8), rows("EUR", Font::Fixed8));
        assert_eq!(rows("€", Font::Small), rows("EUR", Font::Small));
        assert_eq!(rows("Łódź", Font::Proportional8), rows("Lódz", Font::Proportional8));
        assert_eq!(rows("‘a’ “b” – … —", Font::Fixed8), rows("'a' \"b\" - ... -", Font::Fixed8));
        assert!(unsupported_chars("Grüße – “€” ł ő č", Font::Small).is_empty());
    }

    #[test]
    fn whitespace_controls_and_invisibles() {
        assert_eq!(rows("a\tb\nc\rd\u{A0}e", Font::Proportional8), rows("a b c d e", Font::Proportional8));
        assert_eq!(text_width("\u{A0}", Font::Proportional8), 4);
        assert_eq!(rows("in\u{AD}visible\u{200B}!", Font::Fixed8), rows("invisible!", Font::Fixed8));
        assert_eq!(text_width("\u{301}", Font::Fixed8), 0);
    }

    #[test]
    fn decomposed_letters_recompose_when_the_font_has_them() {
        assert_eq!(rows("e\u{301}", Font::Fixed8), rows("é", Font::Fixed8));
        assert_eq!(rows("e\u{301}", Font::Small), rows("e", Font::Small));
        // q + acute has no precomposed form: the mark is dropped, q stays.
        assert_eq!(rows("q\u{301}", Font::Fixed8), rows("q", Font::Fixed8));
    }

    #[test]
    fn unknown_characters_draw_a_box_and_are_reported() {
        for font in Font::ALL {
            let boxed = render_text("中", font);
            assert_eq!(boxed, render_text("\u{10FFFF}", font), "{font}");
            assert!(boxed.lit() > 0, "{font}");
            assert_ne!(boxed, render_text("O", font), "{font}");
            assert_eq!(unsupported_chars("a中b中文", font), ['中', '文'], "{font}");
        }
        assert_eq!(unsupported_chars("Ω", Font::Fixed8), []);
        assert_eq!(unsupported_chars("Ω", Font::Small), ['Ω']);
    }

    #[test]
    fn box_and_block_elements_render() {
        assert!(unsupported_chars("╔═╗║╚╝─│┼▀▄█░▒▓", Font::Fixed8).is_empty());
        assert_eq!(render_text("█", Font::Fixed8).lit(), 64);
        assert_eq!(render_text("▀", Font::Fixed8).to_rows()[..4], ["########"; 4]);
        assert_eq!(render_text("▀", Font::Fixed8).lit(), 32);
    }

    #[test]
    fn draw_text_clips_like_a_blit() {
        let text = "Clip me!";
        let strip = render_text(text, Font::Proportional8);
        for x in -60..40 {
            for y in -9..12 {
                let mut fast = Frame::new(27, 10);
                let end = draw_text(&mut fast, text, Font::Proportional8, x, y);
                let mut slow = Frame::new(27, 10);
                slow.blit(&strip, x, y);
                assert_eq!(fast, slow, "at {x},{y}");
                assert_eq!(end, x + strip.width() as i32);
            }
        }
    }

    #[test]
    fn draw_text_ors_into_existing_pixels() {
        let mut f = Frame::new(16, 8);
        f.set(15, 7, true);
        draw_text(&mut f, "I", Font::Fixed8, 0, 0);
        assert!(f.get(15, 7));
        assert_eq!(f.lit(), render_text("I", Font::Fixed8).lit() + 1);
    }

    proptest! {
        #[test]
        fn any_text_renders_at_its_measured_width(text in "\\PC{0,24}", font in prop::sample::select(Font::ALL.to_vec())) {
            let strip = render_text(&text, font);
            prop_assert_eq!(strip.width(), text_width(&text, font));
            prop_assert_eq!(strip.height(), 8);
            let boxes = unsupported_chars(&text, font);
            prop_assert!(boxes.iter().all(|c| text.contains(*c)));
        }
    }
}
