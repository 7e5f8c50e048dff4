//! The LED look: turns a grid of LED brightnesses into what a person would see, as an
//! RGB picture (round red dots on black, unlit LEDs dim) or an ANSI terminal picture.
//! The preview window, `png:` and the terminal backend all draw from here, so they agree.

/// Brightness of every LED, row-major, 0.0 (dark) to 1.0 (full duty).
#[derive(Clone, Debug, PartialEq)]
pub struct LedGrid {
    /// LEDs across.
    pub width: u32,
    /// LEDs down.
    pub height: u32,
    /// Brightness of each LED, row-major, 0.0 (off) to 1.0.
    pub level: Vec<f32>,
}

/// Colour of a lit LED at full brightness.
const LIT: (f32, f32, f32) = (255.0, 36.0, 18.0);
/// Colour of a lit LED's centre at full brightness: hotter, still clearly red.
const HOT: (f32, f32, f32) = (255.0, 66.0, 44.0);
/// Colour of an unlit LED: a dim red so the matrix is visible when dark.
const UNLIT: (u8, u8, u8) = (48, 10, 10);
/// The background between LEDs.
const BOARD: (u8, u8, u8) = (8, 8, 8);

/// A MAX7219 has 16 intensity steps; step `n` drives the LEDs at PWM duty `(2n+1)/32`.
pub const SHADES: u8 = 16;

/// One pixel of the LED look. The look has few colours, so pictures can be stored as
/// indices into [`Ink::palette`] (the GIF recorder does) as well as RGB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    /// The board between LEDs.
    Board,
    /// An LED that is off.
    Unlit,
    /// A lit LED at intensity step 0..[`SHADES`].
    Lit(u8),
    /// The hot centre of a lit LED: the die shines through the diffuser there.
    Core(u8),
}

impl Ink {
    /// How many distinct inks there are.
    pub const COUNT: usize = 2 + 2 * SHADES as usize;

    /// The ink for an LED's PWM duty: the nearest intensity step, or unlit for 0.
    pub fn for_level(level: f32) -> Ink {
        if level.is_nan() || level <= 0.0 {
            return Ink::Unlit;
        }
        let step = ((level * 32.0 - 1.0) / 2.0).round().clamp(0.0, f32::from(SHADES - 1));
        Ink::Lit(step as u8)
    }

    /// A dense index, 0..[`Ink::COUNT`].
    pub fn index(self) -> u8 {
        match self {
            Ink::Board => 0,
            Ink::Unlit => 1,
            Ink::Lit(n) => 2 + n.min(SHADES - 1),
            Ink::Core(n) => 2 + SHADES + n.min(SHADES - 1),
        }
    }

    /// Every ink, in index order.
    pub fn palette() -> impl Iterator<Item = Ink> {
        [Ink::Board, Ink::Unlit]
            .into_iter()
            .chain((0..SHADES).map(Ink::Lit))
            .chain((0..SHADES).map(Ink::Core))
    }

    /// What the eye sees. Duty runs from 1/32 to 31/32 and the eye responds roughly as a
    /// square root, so the displayed level is lifted to stay readable at low intensity.
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Ink::Board => BOARD,
            Ink::Unlit => UNLIT,
            Ink::Lit(n) => Self::lit(n, LIT),
            Ink::Core(n) => Self::lit(n, HOT),
        }
    }

    /// A lit colour at step `n`, from `full` at full duty down towards unlit.
    fn lit(n: u8, full: (f32, f32, f32)) -> (u8, u8, u8) {
        let duty = (2.0 * f32::from(n.min(SHADES - 1)) + 1.0) / 32.0;
        let k = 0.35 + 0.65 * duty.sqrt();
        let mix = |lit: f32, unlit: u8| (f32::from(unlit) + (lit - f32::from(unlit)) * k).round() as u8;
        (mix(full.0, UNLIT.0), mix(full.1, UNLIT.1), mix(full.2, UNLIT.2))
    }

    /// The ink of a lit LED's centre; other inks have none.
    fn core(self) -> Ink {
        match self {
            Ink::Lit(n) => Ink::Core(n),
            other => other,
        }
    }

    /// As a 0x00RRGGBB word (minifb's pixel format).
    pub fn packed(self) -> u32 {
        let (r, g, b) = self.rgb();
        u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b)
    }
}

impl LedGrid {
    /// A grid of `width × height` dark LEDs.
    pub fn new(width: u32, height: u32) -> Self {
        LedGrid { width, height, level: vec![0.0; (width * height) as usize] }
    }

    /// A grid whose LED `(x, y)` has brightness `f(x, y)`.
    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> f32) -> Self {
        let mut level = Vec::with_capacity((width * height) as usize);
        for y in 0..height {
            for x in 0..width {
                level.push(f(x, y).clamp(0.0, 1.0));
            }
        }
        LedGrid { width, height, level }
    }

    /// The brightness of LED `(x, y)`; 0.0 outside the grid.
    pub fn at(&self, x: u32, y: u32) -> f32 {
        self.level[(y * self.width + x) as usize]
    }

    /// The ink of the LED at `(x, y)`.
    pub fn ink(&self, x: u32, y: u32) -> Ink {
        Ink::for_level(self.at(x, y))
    }

    /// Rows of `#` (lit) and `.` (dark).
    pub fn to_rows(&self) -> Vec<String> {
        (0..self.height)
            .map(|y| (0..self.width).map(|x| if self.at(x, y) > 0.0 { '#' } else { '.' }).collect())
            .collect()
    }

    /// The size in pixels of the look drawn `pitch` pixels per LED.
    pub fn look_size(&self, pitch: u32) -> (u32, u32) {
        let pitch = pitch.max(2);
        (self.width * pitch, self.height * pitch)
    }

    /// Draws the LEDs as round dots `pitch` pixels apart (each a disc filling about 80 % of
    /// its cell, lit ones with a hotter centre; hard-edged so the picture keeps a handful of
    /// colours), row-major, of [`LedGrid::look_size`].
    pub fn paint(&self, pitch: u32) -> Vec<Ink> {
        let pitch = pitch.max(2);
        let (w, h) = self.look_size(pitch);
        let mut buf = vec![Ink::Board; (w * h) as usize];
        let r = pitch as f32 * 0.4;
        let core = pitch as f32 * 0.25;
        let c = (pitch as f32 - 1.0) / 2.0;
        // What each pixel of a cell is: 0 board, 1 disc, 2 centre. Computed once.
        let mut cell = Vec::with_capacity((pitch * pitch) as usize);
        for dy in 0..pitch {
            for dx in 0..pitch {
                let (fx, fy) = (dx as f32 - c, dy as f32 - c);
                let d2 = fx * fx + fy * fy;
                cell.push(u8::from(d2 <= r * r) + u8::from(d2 <= core * core));
            }
        }
        for y in 0..self.height {
            for x in 0..self.width {
                let ink = self.ink(x, y);
                let inks = [Ink::Board, ink, ink.core()];
                for dy in 0..pitch {
                    let row = ((y * pitch + dy) * w + x * pitch) as usize;
                    for dx in 0..pitch {
                        let part = cell[(dy * pitch + dx) as usize];
                        if part > 0 {
                            buf[row + dx as usize] = inks[part as usize];
                        }
                    }
                }
            }
        }
        buf
    }

    /// The look as a 0x00RRGGBB buffer: `(width, height, pixels)`.
    pub fn draw_rgb(&self, pitch: u32) -> (u32, u32, Vec<u32>) {
        let (w, h) = self.look_size(pitch);
        let mut lut = [0u32; Ink::COUNT];
        for ink in Ink::palette() {
            lut[ink.index() as usize] = ink.packed();
        }
        let buf = self.paint(pitch).into_iter().map(|ink| lut[ink.index() as usize]).collect();
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

    /// An ANSI picture in the dot style, or `#`/`.` rows when `colour` is off (NO_COLOR,
    /// or output that is not a terminal).
    pub fn to_ansi(&self, colour: bool) -> String {
        self.to_term(if colour { TermStyle::Dots } else { TermStyle::Plain })
    }

    /// The picture for a terminal in `style`, one `\n`-terminated line per text row.
    pub fn to_term(&self, style: TermStyle) -> String {
        let mut out = String::new();
        match style {
            TermStyle::Plain => {
                for row in self.to_rows() {
                    out.push_str(&row);
                    out.push('\n');
                }
            }
            TermStyle::Dots => {
                for y in 0..self.height {
                    let mut pen = Pen::default();
                    pen.bg(&mut out, Ink::Board);
                    out.push(' ');
                    for x in 0..self.width {
                        pen.fg(&mut out, self.ink(x, y));
                        out.push_str("● ");
                    }
                    out.push_str("\x1b[0m\n");
                }
            }
            TermStyle::HalfBlocks => {
                for y in (0..self.height).step_by(2) {
                    let mut pen = Pen::default();
                    for x in 0..self.width {
                        pen.fg(&mut out, self.ink(x, y));
                        pen.bg(&mut out, if y + 1 < self.height { self.ink(x, y + 1) } else { Ink::Board });
                        out.push('▀');
                    }
                    out.push_str("\x1b[0m\n");
                }
            }
        }
        out
    }
}

/// How the terminal view draws LEDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermStyle {
    /// `#` lit, `.` dark: for pipes, logs and NO_COLOR.
    Plain,
    /// A coloured `●` every two columns on a dark panel: a terminal cell is about twice as
    /// tall as wide, so this keeps the LEDs round and evenly spaced.
    Dots,
    /// `▀` with the top LED as foreground and the bottom one as background: two LED rows
    /// per text row, one column per LED, for terminals too narrow for dots.
    HalfBlocks,
}

impl TermStyle {
    /// The nicest colour style that fits `columns` (unknown: assume 80).
    pub fn fitting(leds_wide: u32, columns: Option<u16>) -> TermStyle {
        if 2 * leds_wide < u32::from(columns.unwrap_or(80)) {
            TermStyle::Dots
        } else {
            TermStyle::HalfBlocks
        }
    }

    /// Text rows a picture `leds_high` LEDs tall takes.
    pub fn rows(self, leds_high: u32) -> u32 {
        match self {
            TermStyle::HalfBlocks => leds_high.div_ceil(2),
            TermStyle::Plain | TermStyle::Dots => leds_high,
        }
    }
}

/// Emits 24-bit colour escapes only when the colour changes, which keeps a redraw small.
#[derive(Default)]
struct Pen {
    fg: Option<Ink>,
    bg: Option<Ink>,
}

impl Pen {
    fn fg(&mut self, out: &mut String, ink: Ink) {
        if self.fg != Some(ink) {
            let (r, g, b) = ink.rgb();
            out.push_str(&format!("\x1b[38;2;{r};{g};{b}m"));
            self.fg = Some(ink);
        }
    }
    fn bg(&mut self, out: &mut String, ink: Ink) {
        if self.bg != Some(ink) {
            let (r, g, b) = ink.rgb();
            out.push_str(&format!("\x1b[48;2;{r};{g};{b}m"));
            self.bg = Some(ink);
        }
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
        let rim = img.get_pixel(5, 2);
        assert!(rim[0] > 200 && rim[1] < lit[1], "the centre is hotter than the rim: {rim:?}");
        assert!(dark[0] < 80, "unlit LED is dim: {dark:?}");
        assert_eq!(gap.0, [BOARD.0, BOARD.1, BOARD.2]);
        let dim = Ink::for_level(1.0 / 32.0).rgb();
        assert!(dim.0 < Ink::for_level(1.0).rgb().0 && dim.0 > UNLIT.0);
    }

    #[test]
    fn every_intensity_step_has_its_own_ink() {
        // The chip's duties (2n+1)/32 map to step n; display test (31/32) is step 15.
        for n in 0..SHADES {
            let duty = (2 * u32::from(n) + 1) as f32 / 32.0;
            assert_eq!(Ink::for_level(duty), Ink::Lit(n));
        }
        assert_eq!(Ink::for_level(0.0), Ink::Unlit);
        assert_eq!(Ink::for_level(f32::NAN), Ink::Unlit);
        let reds: Vec<u8> = (0..SHADES).map(|n| Ink::Lit(n).rgb().0).collect();
        assert!(reds.windows(2).all(|w| w[0] < w[1]), "brighter with each step: {reds:?}");
        let indices: Vec<u8> = Ink::palette().map(Ink::index).collect();
        assert_eq!(indices, (0..Ink::COUNT as u8).collect::<Vec<_>>());
    }

    #[test]
    fn half_blocks_pair_rows_and_dots_fill_two_columns() {
        let grid = LedGrid::from_fn(2, 3, |x, y| if (x + y) % 2 == 0 { 1.0 } else { 0.0 });
        let half = grid.to_term(TermStyle::HalfBlocks);
        assert_eq!(half.lines().count(), 2);
        assert_eq!(half.matches('▀').count(), 4);
        // Top-left LED lit over an unlit one: bright foreground, dim background.
        let (r, g, b) = Ink::Lit(15).rgb();
        assert!(half.starts_with(&format!("\x1b[38;2;{r};{g};{b}m")), "{half:?}");
        let dots = grid.to_term(TermStyle::Dots);
        assert_eq!(dots.lines().count(), 3);
        assert_eq!(dots.matches("● ").count(), 6);
        assert_eq!(TermStyle::fitting(32, Some(80)), TermStyle::Dots);
        assert_eq!(TermStyle::fitting(64, Some(80)), TermStyle::HalfBlocks);
        assert_eq!(TermStyle::HalfBlocks.rows(9), 5);
    }

    #[test]
    fn ansi_without_colour_is_plain_rows() {
        let grid = LedGrid::from_fn(3, 2, |x, y| if x == y { 0.5 } else { 0.0 });
        assert_eq!(grid.to_ansi(false), "#..\n.#.\n");
        assert!(grid.to_ansi(true).contains("\x1b[38;2;"));
    }
}
