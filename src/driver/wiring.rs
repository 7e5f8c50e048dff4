//! How a logical frame reaches the LEDs: module grid, chain order, per-module wiring and
//! whole-display rotation. The semantics are pinned in ARCHITECTURE.md ("Wiring model");
//! sim/ implements the same description independently.

/// How one 8×8 module's digit registers and bits map onto its LEDs, as seen on the
/// mounted display (x right, y down).
///
/// With all flags false, digit register `d` (1-based register `d + 1`) drives column
/// `x = d` and bit `b` drives row `y = b`: luma.led_matrix's `block_orientation = 0`.
/// `digits_are_rows` swaps the roles (digit → row, bit → column); `columns_reversed`
/// mirrors x (`x → 7 - x`) and `rows_reversed` mirrors y, applied to the mounted picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ModuleWiring {
    pub digits_are_rows: bool,
    pub columns_reversed: bool,
    pub rows_reversed: bool,
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

/// Whole-display rotation, clockwise, as luma.led_matrix's `rotate` (0–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

/// The full description of a physical display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Wiring {
    /// Modules across.
    pub modules_x: u32,
    /// Modules down.
    pub modules_y: u32,
    pub chain: ChainOrder,
    pub module: ModuleWiring,
    pub rotation: Rotation,
}
