//! How a logical frame reaches the LEDs: module grid, chain order, per-module wiring and
//! whole-display rotation. The semantics are pinned in ARCHITECTURE.md ("Wiring model");
//! sim/ implements the same description independently.
//!
//! The functions here map one pixel at a time and are meant to be read against that
//! description; the driver's hot path lives in [`super::registers`] and is tested against
//! [`Wiring::locate`].

use std::fmt;
use std::str::FromStr;

/// The most modules (chips) one display may have: 4096 × 2 bytes is an 8 KiB CS frame, and
/// at the MAX7219's 10 MHz a full refresh of that many chips already takes 53 ms. The
/// command line (`--cascaded`, `--modules`), the config file and [`Wiring::validate`]
/// all refuse more.
pub const MAX_CHIPS: usize = 4096;

/// A wiring that cannot exist or a name that does not parse. The message names the bad
/// value and what would have been accepted, because this is what a user sees for a typo
/// in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WiringError {
    #[error("a display needs at least one module, got {modules_x}×{modules_y}")]
    /// A side of zero modules.
    NoModules {
        /// Modules across.
        modules_x: u32,
        /// Modules down.
        modules_y: u32,
    },
    #[error("a display of {modules_x}×{modules_y} modules has more than {MAX_CHIPS}")]
    /// More than [`MAX_CHIPS`] modules.
    TooLarge {
        /// Modules across.
        modules_x: u32,
        /// Modules down.
        modules_y: u32,
    },
    #[error("display size {width}×{height} px is not a positive multiple of 8 in both directions")]
    /// luma's pixel size is not a whole number of modules.
    PixelSize {
        /// Pixels across.
        width: u32,
        /// Pixels down.
        height: u32,
    },
    #[error("block orientation {0} is not one of 0, 90, -90, 180")]
    /// Not one of luma's block orientations.
    BlockOrientation(i32),
    #[error("luma rotate {0} is not one of 0, 1, 2, 3")]
    /// Not one of luma's `rotate` values.
    LumaRotate(u8),
    #[error("chain order {0:?} is not one of row-major, reversed, serpentine, reversed-serpentine")]
    /// Not a chain order name.
    ChainOrder(String),
    #[error("module wiring {0:?} is not one of generic, fc16, parola, icstation")]
    /// Not a preset name.
    Preset(String),
    #[error(
        "frame is {width}×{height} px but the display's logical size is {expected_width}×{expected_height}"
    )]
    /// A frame of another size than the display's.
    FrameSize {
        /// The frame's width.
        width: u32,
        /// The frame's height.
        height: u32,
        /// The display's logical width.
        expected_width: u32,
        /// The display's logical height.
        expected_height: u32,
    },
}

/// How one 8×8 module's digit registers and bits map onto its LEDs, as seen on the
/// mounted display (x right, y down).
///
/// With all flags false, digit register `d` (1-based register `d + 1`) drives column
/// `x = d` and bit `b` drives row `y = b`: luma.led_matrix's `block_orientation = 0`.
/// `digits_are_rows` swaps the roles (digit → row, bit → column); `columns_reversed`
/// mirrors x (`x → 7 - x`) and `rows_reversed` mirrors y, applied to the mounted picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ModuleWiring {
    /// Digit registers drive rows (else columns).
    pub digits_are_rows: bool,
    /// Columns mirrored.
    pub columns_reversed: bool,
    /// Rows mirrored.
    pub rows_reversed: bool,
}

impl ModuleWiring {
    /// Digits are columns, DIG0 at the left, bit 0 at the top (luma 0).
    pub const GENERIC: Self = Self::flags(false, false, false);
    /// The common 4-in-1 board as luma sees it with `block_orientation = 90`: digits are
    /// rows, DIG0 at the top, bit 7 at the left.
    pub const FC16: Self = Self::flags(true, true, false);
    /// Digits are rows, DIG0 at the top, bit 0 at the left; the layout Wokwi calls
    /// "parola", which luma cannot express.
    pub const PAROLA: Self = Self::flags(true, false, false);
    /// An FC-16 mounted the other way up (luma -90): digits are rows, DIG0 at the
    /// bottom, bit 0 at the left.
    pub const ICSTATION: Self = Self::flags(true, false, true);
    /// Every combination of the three flags, for exhaustive tests and pickers.
    pub const ALL: [Self; 8] = [
        Self::flags(false, false, false),
        Self::flags(false, false, true),
        Self::flags(false, true, false),
        Self::flags(false, true, true),
        Self::flags(true, false, false),
        Self::flags(true, false, true),
        Self::flags(true, true, false),
        Self::flags(true, true, true),
    ];

    const fn flags(digits_are_rows: bool, columns_reversed: bool, rows_reversed: bool) -> Self {
        ModuleWiring { digits_are_rows, columns_reversed, rows_reversed }
    }

    /// luma.led_matrix's `block_orientation`, which only covers the four wirings that
    /// are rotations of the generic one.
    pub fn from_block_orientation(degrees: i32) -> Result<Self, WiringError> {
        match degrees {
            0 => Ok(Self::GENERIC),
            90 => Ok(Self::FC16),
            -90 => Ok(Self::ICSTATION),
            180 => Ok(Self::flags(false, true, true)),
            other => Err(WiringError::BlockOrientation(other)),
        }
    }

    /// The digit (0–7) and bit (0–7) that light the module's LED at local `(x, y)`.
    pub fn register_bit(self, x: u32, y: u32) -> (u8, u8) {
        let x = if self.columns_reversed { 7 - x % 8 } else { x % 8 };
        let y = if self.rows_reversed { 7 - y % 8 } else { y % 8 };
        if self.digits_are_rows {
            (y as u8, x as u8)
        } else {
            (x as u8, y as u8)
        }
    }

    /// The local `(x, y)` of the LED that digit `digit`, bit `bit` lights: the inverse
    /// of [`ModuleWiring::register_bit`], which the virtual chain and the fast transform
    /// need.
    pub fn pixel(self, digit: u8, bit: u8) -> (u32, u32) {
        let (x, y) = if self.digits_are_rows { (bit % 8, digit % 8) } else { (digit % 8, bit % 8) };
        let x = if self.columns_reversed { 7 - x } else { x };
        let y = if self.rows_reversed { 7 - y } else { y };
        (u32::from(x), u32::from(y))
    }
}

/// Preset names, so a config file can say `module = "fc16"`.
impl FromStr for ModuleWiring {
    type Err = WiringError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "generic" => Ok(Self::GENERIC),
            "fc16" => Ok(Self::FC16),
            "parola" => Ok(Self::PAROLA),
            "icstation" => Ok(Self::ICSTATION),
            _ => Err(WiringError::Preset(s.to_owned())),
        }
    }
}

/// The order in which the chain visits the grid of modules. Chain index 0 is the chip
/// whose DIN is wired to the Pi.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChainOrder {
    /// Top-left first, each row left to right, rows top to bottom (luma.led_matrix).
    #[default]
    RowMajor,
    /// Top-right first, each row right to left, rows top to bottom (luma's
    /// `blocks_arranged_in_reverse_order`, which luma itself only supports on one row).
    Reversed,
    /// Top-left first, first row left to right, the next right to left, and so on.
    Serpentine,
    /// Top-right first, first row right to left, the next left to right, and so on.
    ReversedSerpentine,
}

impl ChainOrder {
    /// Every chain order.
    pub const ALL: [Self; 4] = [Self::RowMajor, Self::Reversed, Self::Serpentine, Self::ReversedSerpentine];

    /// The config-file spelling, also used by `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RowMajor => "row-major",
            Self::Reversed => "reversed",
            Self::Serpentine => "serpentine",
            Self::ReversedSerpentine => "reversed-serpentine",
        }
    }

    /// Chain index of module `(mx, my)` in a grid `modules_x` wide.
    pub fn index(self, mx: u32, my: u32, modules_x: u32) -> usize {
        let w = modules_x as usize;
        let (mx, my) = (mx as usize, my as usize);
        let right_to_left = match self {
            Self::RowMajor => false,
            Self::Reversed => true,
            Self::Serpentine => my % 2 == 1,
            Self::ReversedSerpentine => my % 2 == 0,
        };
        // Saturating so that out-of-range input gives a wrong answer, not a panic.
        my * w + if right_to_left { w.saturating_sub(1 + mx) } else { mx }
    }

    /// The module `(mx, my)` at chain index `index`: the inverse of [`ChainOrder::index`].
    pub fn module(self, index: usize, modules_x: u32) -> (u32, u32) {
        let w = modules_x as usize;
        let (my, along) = (index.checked_div(w).unwrap_or(0), index.checked_rem(w).unwrap_or(0));
        let right_to_left = match self {
            Self::RowMajor => false,
            Self::Reversed => true,
            Self::Serpentine => my % 2 == 1,
            Self::ReversedSerpentine => my % 2 == 0,
        };
        let mx = if right_to_left { w.saturating_sub(1 + along) } else { along };
        (mx as u32, my as u32)
    }
}

impl fmt::Display for ChainOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChainOrder {
    type Err = WiringError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|o| o.name() == wanted)
            .ok_or_else(|| WiringError::ChainOrder(s.to_owned()))
    }
}

/// Whole-display rotation, clockwise, as luma.led_matrix's `rotate` (0–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    /// Unrotated.
    R0,
    /// A quarter turn clockwise.
    R90,
    /// Upside down.
    R180,
    /// Three quarter turns clockwise.
    R270,
}

impl Rotation {
    /// Every rotation, by quarter turns.
    pub const ALL: [Self; 4] = [Self::R0, Self::R90, Self::R180, Self::R270];

    /// luma's quarter turns (0–3) or degrees (0, 90, 180, 270), as `--rotate` and a config
    /// file's `rotate` take them; `None` for anything else.
    pub fn from_luma_or_degrees(value: u32) -> Option<Self> {
        match value {
            0 => Some(Self::R0),
            1 | 90 => Some(Self::R90),
            2 | 180 => Some(Self::R180),
            3 | 270 => Some(Self::R270),
            _ => None,
        }
    }

    /// luma's `rotate` argument: quarter turns clockwise.
    pub fn from_luma(rotate: u8) -> Result<Self, WiringError> {
        Self::ALL.get(usize::from(rotate)).copied().ok_or(WiringError::LumaRotate(rotate))
    }

    /// The rotation in degrees clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Self::R0 => 0,
            Self::R90 => 90,
            Self::R180 => 180,
            Self::R270 => 270,
        }
    }

    /// Whether width and height trade places between the logical and physical picture.
    pub fn swaps_axes(self) -> bool {
        matches!(self, Self::R90 | Self::R270)
    }

    /// Where logical `(lx, ly)` lands on a physical display `pw × ph` pixels.
    pub fn to_physical(self, lx: u32, ly: u32, pw: u32, ph: u32) -> (u32, u32) {
        match self {
            Self::R0 => (lx, ly),
            Self::R90 => (mirror(ly, pw), lx),
            Self::R180 => (mirror(lx, pw), mirror(ly, ph)),
            Self::R270 => (ly, mirror(lx, ph)),
        }
    }

    /// Which logical pixel physical `(px, py)` shows: the inverse of
    /// [`Rotation::to_physical`].
    pub fn to_logical(self, px: u32, py: u32, pw: u32, ph: u32) -> (u32, u32) {
        match self {
            Self::R0 => (px, py),
            Self::R90 => (py, mirror(px, pw)),
            Self::R180 => (mirror(px, pw), mirror(py, ph)),
            Self::R270 => (mirror(py, ph), px),
        }
    }
}

/// `size - 1 - v`, saturating so that a coordinate outside the display cannot panic.
fn mirror(v: u32, size: u32) -> u32 {
    size.saturating_sub(v.saturating_add(1))
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.degrees())
    }
}

/// The full description of a physical display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Wiring {
    /// Modules across.
    pub modules_x: u32,
    /// Modules down.
    pub modules_y: u32,
    /// How the chain visits the modules.
    pub chain: ChainOrder,
    /// How each module is wired.
    pub module: ModuleWiring,
    /// Whole-display rotation.
    pub rotation: Rotation,
}

/// One LED's address on the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Led {
    /// Chain index; 0 is nearest the Pi.
    pub chip: usize,
    /// Digit 0–7, written through register `digit + 1`.
    pub digit: u8,
    /// Bit 0–7 of the digit register's data byte.
    pub bit: u8,
}

impl Wiring {
    /// A `modules_x × modules_y` grid of generic modules chained row-major, unrotated;
    /// adjust with the `with_*` methods.
    pub fn new(modules_x: u32, modules_y: u32) -> Result<Self, WiringError> {
        let wiring = Wiring {
            modules_x,
            modules_y,
            chain: ChainOrder::RowMajor,
            module: ModuleWiring::GENERIC,
            rotation: Rotation::R0,
        };
        wiring.validate()?;
        Ok(wiring)
    }

    /// luma.led_matrix's `max7219(width=, height=, block_orientation=,
    /// blocks_arranged_in_reverse_order=, rotate=)`. `width` and `height` are physical,
    /// as in luma. luma's reverse order fails on more than one row of modules; here it
    /// reverses every row.
    pub fn luma(
        width_px: u32,
        height_px: u32,
        block_orientation: i32,
        reverse: bool,
        rotate: u8,
    ) -> Result<Self, WiringError> {
        if width_px == 0 || height_px == 0 || width_px % 8 != 0 || height_px % 8 != 0 {
            return Err(WiringError::PixelSize { width: width_px, height: height_px });
        }
        Ok(Wiring::new(width_px / 8, height_px / 8)?
            .with_module(ModuleWiring::from_block_orientation(block_orientation)?)
            .with_chain(if reverse { ChainOrder::Reversed } else { ChainOrder::RowMajor })
            .with_rotation(Rotation::from_luma(rotate)?))
    }

    /// This wiring with another chain order.
    pub fn with_chain(self, chain: ChainOrder) -> Self {
        Wiring { chain, ..self }
    }

    /// This wiring with another module wiring.
    pub fn with_module(self, module: ModuleWiring) -> Self {
        Wiring { module, ..self }
    }

    /// This wiring with another rotation.
    pub fn with_rotation(self, rotation: Rotation) -> Self {
        Wiring { rotation, ..self }
    }

    /// The fields are public, so anything that relies on a sane grid checks again here.
    pub fn validate(&self) -> Result<(), WiringError> {
        let (modules_x, modules_y) = (self.modules_x, self.modules_y);
        if modules_x == 0 || modules_y == 0 {
            return Err(WiringError::NoModules { modules_x, modules_y });
        }
        let fits = (modules_x as usize).checked_mul(modules_y as usize).is_some_and(|n| n <= MAX_CHIPS);
        if !fits {
            return Err(WiringError::TooLarge { modules_x, modules_y });
        }
        Ok(())
    }

    /// Number of chips on the chain.
    pub fn chips(&self) -> usize {
        self.modules_x as usize * self.modules_y as usize
    }

    /// Width and height of the module grid in pixels, as mounted.
    pub fn physical_size(&self) -> (u32, u32) {
        (self.modules_x.saturating_mul(8), self.modules_y.saturating_mul(8))
    }

    /// Width and height of the frames the application draws.
    pub fn logical_size(&self) -> (u32, u32) {
        let (w, h) = self.physical_size();
        if self.rotation.swaps_axes() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The LED that shows logical pixel `(lx, ly)`, or `None` outside the frame. This is
    /// the description in ARCHITECTURE.md step by step; the fast path must agree with it.
    ///
    /// ```
    /// use eslmatrix::driver::{Led, Wiring};
    /// // Four FC-16 modules as luma's `max7219(width=32, height=8, block_orientation=90)`.
    /// let wiring = Wiring::luma(32, 8, 90, false, 0)?;
    /// // The top-left pixel is digit 0 (register 1), bit 7 of the chip nearest the Pi.
    /// assert_eq!(wiring.locate(0, 0), Some(Led { chip: 0, digit: 0, bit: 7 }));
    /// # Ok::<(), eslmatrix::driver::WiringError>(())
    /// ```
    pub fn locate(&self, lx: u32, ly: u32) -> Option<Led> {
        let (lw, lh) = self.logical_size();
        if lx >= lw || ly >= lh {
            return None;
        }
        let (pw, ph) = self.physical_size();
        let (px, py) = self.rotation.to_physical(lx, ly, pw, ph);
        let chip = self.chain.index(px / 8, py / 8, self.modules_x);
        let (digit, bit) = self.module.register_bit(px % 8, py % 8);
        Some(Led { chip, digit, bit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_the_architecture_table() {
        let t = |dr, cr, rr| ModuleWiring { digits_are_rows: dr, columns_reversed: cr, rows_reversed: rr };
        assert_eq!(ModuleWiring::GENERIC, t(false, false, false));
        assert_eq!(ModuleWiring::FC16, t(true, true, false));
        assert_eq!(ModuleWiring::ICSTATION, t(true, false, true));
        assert_eq!(ModuleWiring::PAROLA, t(true, false, false));
        assert_eq!(ModuleWiring::from_block_orientation(0), Ok(ModuleWiring::GENERIC));
        assert_eq!(ModuleWiring::from_block_orientation(90), Ok(ModuleWiring::FC16));
        assert_eq!(ModuleWiring::from_block_orientation(-90), Ok(ModuleWiring::ICSTATION));
        assert_eq!(ModuleWiring::from_block_orientation(180), Ok(t(false, true, true)));
        assert_eq!("FC16".parse(), Ok(ModuleWiring::FC16));
        assert_eq!(" parola".parse(), Ok(ModuleWiring::PAROLA));
        assert_eq!("icstation".parse(), Ok(ModuleWiring::ICSTATION));
        assert_eq!("generic".parse(), Ok(ModuleWiring::GENERIC));
        let all: std::collections::HashSet<_> = ModuleWiring::ALL.into_iter().collect();
        assert_eq!(all.len(), 8);
    }

    /// The per-block mappings research recorded from luma 1.9 (two chips, one lit pixel).
    #[test]
    fn block_orientations_light_what_luma_lights() {
        // (orientation, (digit, bit) of local (0,0), (digit, bit) of local (1,0))
        let cases = [(0, (0, 0), (1, 0)), (90, (0, 7), (0, 6)), (-90, (7, 0), (7, 1)), (180, (7, 7), (6, 7))];
        for (orientation, origin, next) in cases {
            let m = ModuleWiring::from_block_orientation(orientation).unwrap();
            assert_eq!(m.register_bit(0, 0), origin, "orientation {orientation}");
            assert_eq!(m.register_bit(1, 0), next, "orientation {orientation}");
        }
    }

    #[test]
    fn module_pixel_inverts_register_bit() {
        for m in ModuleWiring::ALL {
            for x in 0..8 {
                for y in 0..8 {
                    let (d, b) = m.register_bit(x, y);
                    assert_eq!(m.pixel(d, b), (x, y), "{m:?}");
                }
            }
        }
    }

    #[test]
    fn chain_orders_visit_the_grid_as_described() {
        let order = |o: ChainOrder| -> Vec<(u32, u32)> { (0..6).map(|i| o.module(i, 3)).collect() };
        assert_eq!(order(ChainOrder::RowMajor), [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]);
        assert_eq!(order(ChainOrder::Reversed), [(2, 0), (1, 0), (0, 0), (2, 1), (1, 1), (0, 1)]);
        assert_eq!(order(ChainOrder::Serpentine), [(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1)]);
        assert_eq!(order(ChainOrder::ReversedSerpentine), [(2, 0), (1, 0), (0, 0), (0, 1), (1, 1), (2, 1)]);
        for o in ChainOrder::ALL {
            for i in 0..6 {
                let (mx, my) = o.module(i, 3);
                assert_eq!(o.index(mx, my, 3), i, "{o}");
            }
            assert_eq!(o.to_string().parse(), Ok(o));
        }
        assert!(matches!("zigzag".parse::<ChainOrder>(), Err(WiringError::ChainOrder(s)) if s == "zigzag"));
    }

    #[test]
    fn rotations_parse_and_invert() {
        for r in Rotation::ALL {
            assert_eq!(Rotation::from_luma_or_degrees(r.degrees()), Some(r));
            // Physical 16×24 display.
            for (px, py) in [(0, 0), (5, 2), (15, 7), (3, 23), (15, 23)] {
                let (lx, ly) = r.to_logical(px, py, 16, 24);
                assert_eq!(r.to_physical(lx, ly, 16, 24), (px, py), "{r}");
            }
        }
        assert_eq!(Rotation::from_luma(3), Ok(Rotation::R270));
        assert_eq!(Rotation::from_luma(4), Err(WiringError::LumaRotate(4)));
        assert_eq!(Rotation::from_luma_or_degrees(1), Some(Rotation::R90));
        assert_eq!(Rotation::from_luma_or_degrees(270), Some(Rotation::R270));
        assert_eq!(Rotation::from_luma_or_degrees(45), None);
    }

    #[test]
    fn luma_rotate_one_puts_the_origin_top_right() {
        // 16×8 physical, rotate=1: logical is 8×16 and (0,0) shows at physical (15,0),
        // which is module 1 (the far chip), local (7,0).
        let w = Wiring::luma(16, 8, 0, false, 1).unwrap();
        assert_eq!(w.logical_size(), (8, 16));
        assert_eq!(w.rotation.to_physical(0, 0, 16, 8), (15, 0));
        assert_eq!(w.locate(0, 0), Some(Led { chip: 1, digit: 7, bit: 0 }));
        assert_eq!(w.locate(8, 0), None);
    }

    #[test]
    fn bad_sizes_and_names_are_errors_with_clear_messages() {
        assert_eq!(Wiring::new(0, 2), Err(WiringError::NoModules { modules_x: 0, modules_y: 2 }));
        assert_eq!(
            Wiring::new(0, 1).unwrap_err().to_string(),
            "a display needs at least one module, got 0×1"
        );
        assert!(matches!(Wiring::new(u32::MAX, 1), Err(WiringError::TooLarge { .. })));
        assert!(Wiring::new(64, 64).is_ok(), "MAX_CHIPS modules are allowed");
        assert!(matches!(Wiring::new(4097, 1), Err(WiringError::TooLarge { .. })));
        assert_eq!(Wiring::luma(20, 8, 0, false, 0), Err(WiringError::PixelSize { width: 20, height: 8 }));
        assert_eq!(Wiring::luma(0, 8, 0, false, 0), Err(WiringError::PixelSize { width: 0, height: 8 }));
        assert_eq!(Wiring::luma(32, 8, 0, false, 7), Err(WiringError::LumaRotate(7)));
        let err = ModuleWiring::from_block_orientation(45).unwrap_err();
        assert_eq!(err, WiringError::BlockOrientation(45));
        assert_eq!(err.to_string(), "block orientation 45 is not one of 0, 90, -90, 180");
        assert_eq!(Wiring::luma(32, 8, 45, false, 0), Err(WiringError::BlockOrientation(45)));
        assert_eq!("fc-17".parse::<ModuleWiring>(), Err(WiringError::Preset("fc-17".into())));
    }

    #[test]
    fn luma_arguments_map_onto_the_model() {
        let w = Wiring::luma(32, 16, -90, true, 2).unwrap();
        assert_eq!((w.modules_x, w.modules_y, w.chips()), (4, 2, 8));
        assert_eq!(w.module, ModuleWiring::ICSTATION);
        assert_eq!(w.chain, ChainOrder::Reversed);
        assert_eq!(w.rotation, Rotation::R180);
        assert_eq!(w.logical_size(), (32, 16));
        assert_eq!(Wiring::luma(32, 16, 0, false, 3).unwrap().logical_size(), (16, 32));
    }
}
