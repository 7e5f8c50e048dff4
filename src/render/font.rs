//! The fonts and their glyphs.
//!
//! Every glyph is an 8-row cell whose rows are bytes with the most significant bit
//! leftmost, the same packing as [`Frame`] rows, so drawing a glyph is a
//! shift and an OR per row. All fonts share the 8-row cell so that any of them fills an
//! 8-row module and lines of mixed fonts stay aligned; a font shorter than 8 px sits at a
//! fixed offset inside the cell.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use embedded_graphics::mono_font::{ascii::FONT_4X6, MonoTextStyle};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};
use font8x8::legacy::{BASIC_LEGACY, BLOCK_LEGACY, LATIN_LEGACY};
use font8x8::unicode::{BoxFonts, GreekFonts, MiscFonts};
use font8x8::{UnicodeFonts, BOX_FONTS, GREEK_FONTS, MISC_FONTS};

use super::Frame;

/// Rows in every glyph cell.
pub const CELL_HEIGHT: u32 = 8;

/// Columns of a space in a proportional font, as in luma's `proportional()`.
const PROPORTIONAL_SPACE: u8 = 4;

/// Rows above the [`Font::Small`] glyphs: its 6-row cell is centred in the 8-row cell.
pub const SMALL_TOP: u32 = 1;

/// A typeface for the 8-row display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Font {
    /// font8x8's public-domain 8×8 glyphs, every character 8 columns wide: ASCII,
    /// Latin-1, Greek, box drawing and block elements. Glyphs carry their own blank
    /// columns, as luma's fonts do.
    Fixed8,
    /// The [`Font::Fixed8`] glyphs spaced like luma's `proportional()`: blank columns
    /// trimmed from both sides, then one blank column after each glyph; a space is 4
    /// columns. Fits about a quarter more text on a line ("Hello world": 71 columns, not 88).
    #[default]
    Proportional8,
    /// The X11 4×6 font (via embedded-graphics), ASCII only, 4 columns per character,
    /// drawn in rows 1–6 of the cell. Twice as many characters per module as `Fixed8`.
    Small,
}

impl Font {
    /// Every font.
    pub const ALL: [Font; 3] = [Font::Fixed8, Font::Proportional8, Font::Small];

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Font::Fixed8 => "fixed",
            Font::Proportional8 => "proportional",
            Font::Small => "small",
        }
    }

    /// Height of a rendered line: always the 8-row cell.
    pub fn height(self) -> u32 {
        CELL_HEIGHT
    }

    /// The font's own glyph for `c`, if it has one. A glyph the source font stores as
    /// all blank (other than the space) counts as missing: font8x8 keeps blank
    /// placeholders, and drawing one would silently drop a character.
    pub(crate) fn own_glyph(self, c: char) -> Option<Glyph> {
        match self {
            Font::Fixed8 => fixed8(c),
            // Trimming would shrink the space to one column; luma fixes it at four.
            Font::Proportional8 if c == ' ' => Some(Glyph::SPACE_PROPORTIONAL),
            Font::Proportional8 => fixed8(c).map(Glyph::proportional),
            Font::Small => small(c),
        }
    }

    /// What the font draws for a character it cannot show: a hollow box, never a
    /// different character.
    pub(crate) fn missing_glyph(self) -> Glyph {
        match self {
            Font::Fixed8 => FIXED_BOX,
            Font::Proportional8 => FIXED_BOX.proportional(),
            Font::Small => SMALL_BOX,
        }
    }
}

impl fmt::Display for Font {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A font name in a configuration was not one we have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown font {0:?} (expected fixed, proportional or small)")]
pub struct UnknownFont(pub String);

impl FromStr for Font {
    type Err = UnknownFont;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The names the config took before the command line's became the one spelling
        // (`fixed8`, `proportional8`) are still accepted.
        let old = |f: Font| match f {
            Font::Fixed8 => "fixed8",
            Font::Proportional8 => "proportional8",
            Font::Small => "small",
        };
        Font::ALL
            .into_iter()
            .find(|&f| f.name().eq_ignore_ascii_case(s.trim()) || old(f).eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFont(s.to_owned()))
    }
}

/// One character's picture: `width` columns (at most 8) of an 8-row cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Glyph {
    /// Row bytes, most significant bit = leftmost column; bits past `width` are 0.
    pub rows: [u8; 8],
    pub width: u8,
}

impl Glyph {
    pub const SPACE_PROPORTIONAL: Glyph = Glyph { rows: [0; 8], width: PROPORTIONAL_SPACE };

    /// luma's `proportional()` rule: trim blank columns on both sides, then add one
    /// blank column; an all-blank glyph becomes one column.
    pub fn proportional(self) -> Glyph {
        let ink = self.rows.iter().fold(0u8, |acc, r| acc | r);
        if ink == 0 {
            return Glyph { rows: [0; 8], width: 1 };
        }
        let lead = ink.leading_zeros();
        let used = 8 - lead - ink.trailing_zeros();
        Glyph { rows: self.rows.map(|r| r << lead), width: used as u8 + 1 }
    }

    pub fn is_blank(&self) -> bool {
        self.rows.iter().all(|&r| r == 0)
    }
}

/// font8x8 stores bit 0 as the leftmost pixel; our rows want it in bit 7.
fn from_font8x8(rows: [u8; 8]) -> Glyph {
    Glyph { rows: rows.map(u8::reverse_bits), width: 8 }
}

// font8x8 exports its tables as consts; statics keep each lookup from copying a whole
// table onto the stack. ASCII, Latin-1 and block elements are contiguous and indexed
// directly. Latin-1 must be: font8x8 0.3.1's LATIN_FONTS labels U+00B3 and U+00B4 as
// U+00B2, so a search there draws ² as ³ and misses ³ and ´. Box drawing goes through
// BOX_FONTS, whose labels deliberately fix four glyphs the legacy array has out of order.
static BASIC: [[u8; 8]; 128] = BASIC_LEGACY;
static LATIN: [[u8; 8]; 96] = LATIN_LEGACY;
static BLOCKS: [[u8; 8]; 32] = BLOCK_LEGACY;
static BOXES: BoxFonts = BOX_FONTS;
static GREEK: GreekFonts = GREEK_FONTS;
static MISC: MiscFonts = MISC_FONTS;

fn fixed8(c: char) -> Option<Glyph> {
    if c == ' ' {
        return Some(Glyph { rows: [0; 8], width: 8 });
    }
    let code = c as usize;
    let rows = match code {
        0x21..=0x7E => BASIC[code],
        0xA0..=0xFF => LATIN[code - 0xA0],
        0x2580..=0x259F => BLOCKS[code - 0x2580],
        0x2500..=0x257F => BOXES.get(c)?,
        0x390..=0x3C9 => GREEK.get(c)?,
        _ => MISC.get(c)?,
    };
    let glyph = from_font8x8(rows);
    (!glyph.is_blank()).then_some(glyph)
}

/// A 6×7 hollow box in the columns and rows font8x8 capitals use.
const FIXED_BOX: Glyph = Glyph {
    rows: [0b1111_1100, 0b1000_0100, 0b1000_0100, 0b1000_0100, 0b1000_0100, 0b1000_0100, 0b1111_1100, 0],
    width: 8,
};

/// A 3×5 hollow box where the 4×6 capitals sit.
const SMALL_BOX: Glyph =
    Glyph { rows: [0, 0b1110_0000, 0b1010_0000, 0b1010_0000, 0b1010_0000, 0b1110_0000, 0, 0], width: 4 };

const SMALL_FIRST: u32 = 0x20;
const SMALL_LAST: u32 = 0x7E;

fn small(c: char) -> Option<Glyph> {
    let code = c as u32;
    if !(SMALL_FIRST..=SMALL_LAST).contains(&code) {
        return None;
    }
    let glyph = small_table()[(code - SMALL_FIRST) as usize];
    (c == ' ' || !glyph.is_blank()).then_some(glyph)
}

/// The 4×6 glyphs, lifted once out of embedded-graphics by drawing each character:
/// its font image layout is private, its drawing is not.
fn small_table() -> &'static [Glyph; (SMALL_LAST - SMALL_FIRST + 1) as usize] {
    static TABLE: OnceLock<[Glyph; (SMALL_LAST - SMALL_FIRST + 1) as usize]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let size = FONT_4X6.character_size;
        let style = MonoTextStyle::new(&FONT_4X6, BinaryColor::On);
        let mut cell = Frame::new(size.width, size.height);
        std::array::from_fn(|i| {
            let mut buf = [0u8; 4];
            let text = char::from_u32(SMALL_FIRST + i as u32).unwrap_or(' ').encode_utf8(&mut buf);
            cell.clear();
            // Drawing into a Frame cannot fail (its error type is Infallible).
            let _ = Text::with_baseline(text, Point::zero(), style, Baseline::Top).draw(&mut cell);
            let mut rows = [0u8; 8];
            for (y, row) in rows.iter_mut().skip(SMALL_TOP as usize).take(size.height as usize).enumerate() {
                *row = cell.row(y as u32)[0];
            }
            Glyph { rows, width: size.width as u8 }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed8_flips_font8x8_rows_so_bit0_is_the_left_pixel() {
        // font8x8 'H': columns 0,1 and 4,5 lit, stored with bit 0 leftmost.
        let h = Font::Fixed8.own_glyph('H').unwrap();
        assert_eq!(h.width, 8);
        assert_eq!(h.rows[0], 0b1100_1100);
        assert_eq!(h.rows[3], 0b1111_1100);
        assert_eq!(h.rows[7], 0);
    }

    #[test]
    fn direct_indexing_matches_font8x8_unicode_tables() {
        use font8x8::{BASIC_FONTS, BLOCK_FONTS, LATIN_FONTS};
        let tables: [&dyn UnicodeFonts; 4] = [&BASIC_FONTS, &LATIN_FONTS, &BOX_FONTS, &BLOCK_FONTS];
        let mut checked = 0;
        for table in tables {
            for entry in table.iter() {
                let c = entry.char();
                // Skip controls, the space, and labels the table uses twice (see `LATIN`).
                if c.is_control() || c == ' ' || table.iter().filter(|e| e.char() == c).count() > 1 {
                    continue;
                }
                let want = Some(from_font8x8(entry.byte_array())).filter(|g| !g.is_blank());
                assert_eq!(fixed8(c), want, "{c:?}");
                checked += 1;
            }
        }
        assert!(checked > 340, "only {checked} glyphs checked");
    }

    #[test]
    fn superscripts_and_acute_accent_get_their_own_glyphs() {
        let picture = |c| {
            let g = fixed8(c).unwrap_or_else(|| panic!("{c:?} missing"));
            g.rows[..5]
                .iter()
                .map(|r| format!("{r:08b}").replace('0', ".").replace('1', "#"))
                .collect::<Vec<_>>()
        };
        assert_eq!(picture('²'), ["..###...", "....##..", "...##...", "..##....", "..####.."]);
        assert_eq!(picture('³'), ["..###...", "....##..", "...##...", "....##..", "..###..."]);
        assert_eq!(picture('´'), ["...##...", "..##....", "........", "........", "........"]);
    }

    #[test]
    fn proportional_trims_and_adds_one_column() {
        let h = Font::Proportional8.own_glyph('H').unwrap();
        // Six ink columns + one spacer, like luma's CP437 'H' (also 7).
        assert_eq!(h.width, 7);
        assert_eq!(h.rows[3], 0b1111_1100);
        // 'i' in font8x8 has its ink in the middle columns: they move to the left edge.
        let fixed_i = Font::Fixed8.own_glyph('i').unwrap();
        let ink = fixed_i.rows.iter().fold(0u8, |a, r| a | r);
        let i = Font::Proportional8.own_glyph('i').unwrap();
        assert_eq!(u32::from(i.width), 8 - ink.leading_zeros() - ink.trailing_zeros() + 1);
        assert_eq!(i.rows.iter().fold(0u8, |a, r| a | r).leading_zeros(), 0);
        let blank = Glyph { rows: [0; 8], width: 8 }.proportional();
        assert_eq!(blank.width, 1);
    }

    #[test]
    fn blank_placeholders_count_as_missing() {
        // font8x8 stores NBSP and the soft hyphen as empty glyphs.
        assert!(Font::Fixed8.own_glyph('\u{A0}').is_none());
        assert!(Font::Fixed8.own_glyph('\u{AD}').is_none());
        assert!(Font::Fixed8.own_glyph(' ').is_some());
        assert!(Font::Small.own_glyph(' ').is_some());
    }

    #[test]
    fn small_glyphs_sit_in_rows_1_to_6() {
        for c in '!'..='~' {
            let g = Font::Small.own_glyph(c).unwrap_or_else(|| panic!("{c:?} missing"));
            assert_eq!(g.width, 4);
            assert_eq!(g.rows[0], 0, "{c:?}");
            assert_eq!(g.rows[7], 0, "{c:?}");
            assert!(g.rows.iter().all(|r| r & 0x0F == 0), "{c:?} wider than 4");
        }
        assert!(Font::Small.own_glyph('é').is_none());
    }

    #[test]
    fn font_names_parse_and_reject_unknown() {
        for f in Font::ALL {
            assert_eq!(f.name().parse::<Font>(), Ok(f));
        }
        assert_eq!(" Small ".parse::<Font>(), Ok(Font::Small));
        let err = "cp437".parse::<Font>().unwrap_err();
        assert_eq!(err.to_string(), "unknown font \"cp437\" (expected fixed, proportional or small)");
    }
}
