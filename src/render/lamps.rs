//! A busy-lamp field: one cell per extension, each showing a [`Lamp`].
//!
//! # Layouts
//!
//! [`choose_layout`] picks one by how many extensions there are and how big the display is:
//!
//! * **Blocks** (a small PBX): each extension is a block 8 rows tall and 4 columns per
//!   character, labelled with its last digits in the small font: as many as the display has
//!   room for, at least as many as tell the extensions apart (1000-1015 need two:
//!   `00`…`15`; 1000 and 2000 need four). Blocks fill each 8-row band from the left; the
//!   block's last column and bottom row stay dark, so neighbours never merge.
//! * **Dots** (a big PBX), when the blocks do not fit: one LED per extension, 64 per 8×8
//!   module, eight per row within a module and modules in reading order (extension 10 of the
//!   list is row 1, column 2 of the first module).
//!
//! # Lamps
//!
//! | lamp | blocks | dots |
//! |---|---|---|
//! | [`Lamp::Dark`] (idle) | the digits lit on a dark block | off |
//! | [`Lamp::Lit`] (in a call) | the block lit, the digits dark | on |
//! | [`Lamp::FastBlink`] (ringing) | lit and dark in turn, [`FAST_BLINK`] each | on and off, [`FAST_BLINK`] each |
//! | [`Lamp::SlowBlink`] (on hold) | lit and dark in turn, [`SLOW_BLINK`] each | on and off, [`SLOW_BLINK`] each |
//! | [`Lamp::Faint`] (not registered) | the digits drawn on every other LED | on for [`FAINT_ON`] every [`FAINT_EVERY`] |
//!
//! A MAX7219 has one brightness for all its 64 LEDs, so a lamp cannot be dimmer than its
//! neighbours: "dim" has to be a pattern. A block has room to be sparse in space (half its
//! digits' LEDs, which reads as a fainter label and stays legible enough to know the phone);
//! a single LED has no room, so it is sparse in time: a short blip, a twentieth of the time,
//! unlike either blink (half the time each).
//!
//! Blink phases count from the moment the page appeared, so every lamp with the same state
//! blinks together.

use std::sync::Arc;
use std::time::Duration;

use super::{render_text, Font, Frame};

/// Each half of the ringing blink (4 Hz on the LEDs: fast enough to read as urgent).
pub const FAST_BLINK: Duration = Duration::from_millis(125);
/// Each half of the on-hold blink (1 Hz: four times slower than ringing, never mistaken for it).
pub const SLOW_BLINK: Duration = Duration::from_millis(500);
/// How long a not-registered single LED blips.
pub const FAINT_ON: Duration = Duration::from_millis(100);
/// How often it blips.
pub const FAINT_EVERY: Duration = Duration::from_secs(2);

/// Rows of a block (one module's height).
pub const BLOCK_HEIGHT: u32 = 8;
/// Columns per character of a block's label (the small font's cell).
pub const CHAR_WIDTH: u32 = 4;

/// What one cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lamp {
    /// Off: idle.
    Dark,
    /// On: in a call.
    Lit,
    /// Blinking fast: ringing.
    FastBlink,
    /// Blinking slowly: on hold.
    SlowBlink,
    /// A sparse pattern: not registered.
    Faint,
}

/// How the cells are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LampLayout {
    /// One labelled block per extension, its label this many characters long.
    Blocks {
        /// Characters of each label (the extension's last ones).
        chars: usize,
    },
    /// One LED per extension.
    Dots,
}

/// The lamps of a list of extensions.
#[derive(Debug, Clone)]
pub struct LampField {
    /// The extensions, in display order.
    pub extensions: Arc<[String]>,
    /// One lamp per extension.
    pub lamps: Vec<Lamp>,
}

impl PartialEq for LampField {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.extensions, &other.extensions) || self.extensions == other.extensions)
            && self.lamps == other.lamps
    }
}

impl Eq for LampField {}

/// How many single LEDs a `width`×`height` display has room for: 64 per whole module.
pub fn dot_capacity(width: u32, height: u32) -> usize {
    ((width / 8) * (height / 8)) as usize * 64
}

/// How many blocks with `chars`-character labels fit.
pub fn block_capacity(chars: usize, width: u32, height: u32) -> usize {
    let cell = CHAR_WIDTH as usize * chars.max(1);
    (width as usize / cell) * (height / BLOCK_HEIGHT) as usize
}

/// The fewest last characters that tell `extensions` apart (their longest length when even
/// that does not, which a checked list never has).
pub fn distinct_suffix(extensions: &[String]) -> usize {
    let longest = extensions.iter().map(|e| e.chars().count()).max().unwrap_or(1).max(1);
    (1..=longest)
        .find(|&k| {
            let mut seen = std::collections::HashSet::new();
            extensions.iter().all(|e| seen.insert(suffix(e, k)))
        })
        .unwrap_or(longest)
}

fn suffix(text: &str, k: usize) -> &str {
    let n = text.chars().count();
    let skip = n.saturating_sub(k);
    text.char_indices().nth(skip).map_or("", |(i, _)| &text[i..])
}

/// The layout for `extensions` on a `width`×`height` display (see the module docs): blocks
/// with the longest labels that fit, else dots; `None` when not even one LED each fits.
pub fn choose_layout(extensions: &[String], width: u32, height: u32) -> Option<LampLayout> {
    let n = extensions.len();
    let longest = extensions.iter().map(|e| e.chars().count()).max().unwrap_or(1).max(1);
    let fewest = distinct_suffix(extensions);
    for chars in (fewest..=longest).rev() {
        if n <= block_capacity(chars, width, height) {
            return Some(LampLayout::Blocks { chars });
        }
    }
    (n <= dot_capacity(width, height)).then_some(LampLayout::Dots)
}

/// Whether a blinking lamp is in its on phase `t` after the page appeared.
fn blink_on(half: Duration, t: Duration) -> bool {
    (t.as_nanos() / half.as_nanos()) % 2 == 0
}

fn faint_on(t: Duration) -> bool {
    t.as_nanos() % FAINT_EVERY.as_nanos() < FAINT_ON.as_nanos()
}

impl LampField {
    /// Draws the field on `frame` (cleared first) as it looks `t` after the page appeared.
    /// Cells beyond the display's room are not drawn (a checked config has none).
    pub fn draw(&self, frame: &mut Frame, t: Duration) {
        frame.clear();
        let (w, h) = (frame.width(), frame.height());
        match choose_layout(&self.extensions, w, h) {
            Some(LampLayout::Blocks { chars }) => self.draw_blocks(frame, chars, t),
            _ => self.draw_dots(frame, t),
        }
    }

    fn draw_dots(&self, frame: &mut Frame, t: Duration) {
        let modules_x = (frame.width() / 8).max(1) as usize;
        let room = dot_capacity(frame.width(), frame.height());
        for (i, lamp) in self.lamps.iter().enumerate().take(room) {
            let on = match lamp {
                Lamp::Dark => false,
                Lamp::Lit => true,
                Lamp::FastBlink => blink_on(FAST_BLINK, t),
                Lamp::SlowBlink => blink_on(SLOW_BLINK, t),
                Lamp::Faint => faint_on(t),
            };
            if on {
                let (m, j) = (i / 64, i % 64);
                let x = (m % modules_x) * 8 + j % 8;
                let y = (m / modules_x) * 8 + j / 8;
                frame.set(x as i32, y as i32, true);
            }
        }
    }

    fn draw_blocks(&self, frame: &mut Frame, chars: usize, t: Duration) {
        let cell = CHAR_WIDTH * chars as u32;
        let per_row = (frame.width() / cell).max(1) as usize;
        let room = block_capacity(chars, frame.width(), frame.height());
        for (i, (ext, lamp)) in self.extensions.iter().zip(&self.lamps).enumerate().take(room) {
            let x0 = ((i % per_row) as u32 * cell) as i32;
            let y0 = ((i / per_row) as u32 * BLOCK_HEIGHT) as i32;
            let lit = match lamp {
                Lamp::Dark | Lamp::Faint => false,
                Lamp::Lit => true,
                Lamp::FastBlink => blink_on(FAST_BLINK, t),
                Lamp::SlowBlink => blink_on(SLOW_BLINK, t),
            };
            let label = suffix(ext, chars);
            let text = render_text(label, Font::Small);
            // Right-aligned, so the last digits of labels of different lengths line up.
            let dx = cell as i32 - text.width() as i32;
            for y in 0..BLOCK_HEIGHT as i32 - 1 {
                for x in 0..cell as i32 - 1 {
                    let ink = text.get(x - dx, y);
                    let on = match lamp {
                        Lamp::Faint => ink && (x + y) % 2 == 0,
                        _ => ink != lit,
                    };
                    if on {
                        frame.set(x0 + x, y0 + y, true);
                    }
                }
            }
        }
    }

    /// When, after the page appeared, the picture next changes by itself: the next blink or
    /// blip edge of any lamp. `None` when every lamp is steady.
    pub fn next_change(&self, width: u32, height: u32, t: Duration) -> Option<Duration> {
        let dots = !matches!(choose_layout(&self.extensions, width, height), Some(LampLayout::Blocks { .. }));
        let edge = |period: Duration| {
            let p = period.as_nanos();
            Duration::from_nanos(((t.as_nanos() / p + 1) * p) as u64)
        };
        let mut next: Option<Duration> = None;
        let mut take = |d: Duration| next = Some(next.map_or(d, |n: Duration| n.min(d)));
        let has = |l: Lamp| self.lamps.contains(&l);
        if has(Lamp::FastBlink) {
            take(edge(FAST_BLINK));
        }
        if has(Lamp::SlowBlink) {
            take(edge(SLOW_BLINK));
        }
        if dots && has(Lamp::Faint) {
            let p = FAINT_EVERY.as_nanos();
            let base = t.as_nanos() / p * p;
            let off_at = base + FAINT_ON.as_nanos();
            let at = if t.as_nanos() < off_at { off_at } else { base + p };
            take(Duration::from_nanos(at as u64));
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exts(list: &[&str]) -> Arc<[String]> {
        list.iter().map(|e| (*e).to_owned()).collect()
    }

    fn range(from: u32, n: u32) -> Vec<String> {
        (from..from + n).map(|e| e.to_string()).collect()
    }

    #[test]
    fn the_layout_follows_the_count_and_the_room() {
        // 32×8 (four modules): 1000-1003 in two-digit blocks, as many digits as fit.
        assert_eq!(choose_layout(&range(1000, 4), 32, 8), Some(LampLayout::Blocks { chars: 2 }));
        assert_eq!(choose_layout(&range(1000, 2), 32, 8), Some(LampLayout::Blocks { chars: 4 }));
        assert_eq!(choose_layout(&range(1000, 8), 32, 8), Some(LampLayout::Blocks { chars: 1 }));
        // Ten tell apart by their last digit, eleven do not…
        assert_eq!(distinct_suffix(&range(1000, 10)), 1);
        assert_eq!(distinct_suffix(&range(1000, 11)), 2, "1000 and 1010 share their last digit");
        // …and 16 two-digit labels need 128 columns: on 32 they are dots.
        assert_eq!(choose_layout(&range(1000, 16), 32, 8), Some(LampLayout::Dots));
        assert_eq!(choose_layout(&range(1000, 16), 128, 8), Some(LampLayout::Blocks { chars: 2 }));
        assert_eq!(choose_layout(&range(1000, 256), 32, 8), Some(LampLayout::Dots));
        assert_eq!(choose_layout(&range(1000, 257), 32, 8), None, "more than one LED each");
        assert_eq!(dot_capacity(64, 16), 1024);
        assert_eq!(distinct_suffix(&["1000".into(), "2000".into()]), 4);
    }

    #[test]
    fn blocks_show_each_lamp_and_keep_their_edges_dark() {
        let extensions = exts(&["1000", "1001", "1002", "1003"]);
        let field = LampField {
            extensions: extensions.clone(),
            lamps: vec![Lamp::Dark, Lamp::Lit, Lamp::FastBlink, Lamp::Faint],
        };
        let mut f = Frame::new(32, 8);
        field.draw(&mut f, Duration::ZERO);
        // 00 idle, 01 in a call, 02 ringing (its lit phase), 03 not registered.
        let expected = [
            "........#######.#######.........",
            ".#...#..#.###.#.#.###.#..#...#..",
            "#.#.#.#..#.#..#..#.#.#..#.#...#.",
            "###.###....##.#....###...#...#..",
            "#.#.#.#..#.##.#..#.##.#.#.#...#.",
            ".#...#..#.##....#.##.....#...#..",
            "........#######.#######.........",
            "................................",
        ];
        assert_eq!(f.to_rows(), expected);
        let lit = |f: &Frame, x0: i32| {
            (0..8).flat_map(|y| (x0..x0 + 8).map(move |x| (x, y))).filter(|&(x, y)| f.get(x, y)).count()
        };
        let mut idle = Frame::new(32, 8);
        LampField { extensions, lamps: vec![Lamp::Dark; 4] }.draw(&mut idle, Duration::ZERO);
        for cell in [8, 16] {
            assert_eq!(
                lit(&f, cell) + lit(&idle, cell),
                7 * 7,
                "lit is the idle label inverted in its block"
            );
        }
        // Not registered: some of the label's LEDs, never two side by side.
        assert!(lit(&f, 24) < lit(&idle, 24));
        for (x, y) in (24..32).flat_map(|x| (0..8).map(move |y| (x, y))).filter(|&(x, y)| f.get(x, y)) {
            assert!(idle.get(x, y) && !f.get(x + 1, y) && !f.get(x, y + 1), "sparse at ({x}, {y})");
        }
        for y in 0..8 {
            assert!(!f.get(15, y) && !f.get(7, y), "a block's last column stays dark");
        }
        // Ringing: dark after FAST_BLINK, lit again after two.
        let mut g = Frame::new(32, 8);
        field.draw(&mut g, FAST_BLINK);
        assert_eq!(lit(&g, 16), lit(&idle, 16));
        field.draw(&mut g, FAST_BLINK * 2);
        assert_eq!(lit(&g, 16), lit(&f, 16));
    }

    #[test]
    fn dots_fill_each_module_row_by_row() {
        let n = 70;
        let field = LampField { extensions: range(1000, n).into(), lamps: vec![Lamp::Lit; n as usize] };
        let mut f = Frame::new(16, 8);
        field.draw(&mut f, Duration::ZERO);
        assert_eq!(f.lit(), 70);
        assert!(f.get(7, 7) && f.get(8, 0) && f.get(13, 0) && !f.get(14, 0), "64 in module 0, 6 in module 1");
        let mut lamps = vec![Lamp::Dark; n as usize];
        lamps[10] = Lamp::Faint;
        let faint = LampField { extensions: range(1000, n).into(), lamps };
        faint.draw(&mut f, Duration::ZERO);
        assert!(f.get(2, 1), "extension 10 is row 1, column 2");
        faint.draw(&mut f, FAINT_ON);
        assert_eq!(f.lit(), 0, "a blip, not a light");
    }

    #[test]
    fn the_picture_changes_at_each_blink_edge_and_never_when_steady() {
        let field =
            |lamps: Vec<Lamp>| LampField { extensions: range(1000, lamps.len() as u32).into(), lamps };
        let ms = Duration::from_millis;
        let steady = field(vec![Lamp::Dark, Lamp::Lit, Lamp::Faint]);
        assert_eq!(steady.next_change(32, 8, ms(0)), None, "a block's faint label is steady");
        let ring_hold = field(vec![Lamp::FastBlink, Lamp::SlowBlink]);
        assert_eq!(ring_hold.next_change(32, 8, ms(0)), Some(ms(125)));
        assert_eq!(ring_hold.next_change(32, 8, ms(130)), Some(ms(250)));
        let hold = field(vec![Lamp::SlowBlink]);
        assert_eq!(hold.next_change(32, 8, ms(499)), Some(ms(500)));
        let many = field(vec![Lamp::Faint; 100]);
        assert_eq!(many.next_change(32, 8, ms(0)), Some(ms(100)), "dots blip");
        assert_eq!(many.next_change(32, 8, ms(100)), Some(ms(2000)));
    }
}
