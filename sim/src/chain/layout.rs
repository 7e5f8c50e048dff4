//! Where each LED of a physical display sits in the chain: the oracle's side of the wiring
//! model pinned in ARCHITECTURE.md ("Wiring model").
//!
//! This is written independently of the product's driver, plainly and per pixel, so that a
//! mistake in one shows up as a mismatch against the other.

use thiserror::Error;

/// How one 8×8 module's digit registers and bits map onto its LEDs as mounted
/// (local x right, y down).
///
/// `x' = columns_reversed ? 7-x : x`, `y' = rows_reversed ? 7-y : y`; then with
/// `digits_are_rows` digit = `y'`, bit = `x'`, otherwise digit = `x'`, bit = `y'`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModuleWiring {
    /// Digit registers drive rows (else columns).
    pub digits_are_rows: bool,
    /// Mirror x before mapping.
    pub columns_reversed: bool,
    /// Mirror y before mapping.
    pub rows_reversed: bool,
}

impl ModuleWiring {
    /// Digit = column with digit 0 left, bit 0 top: luma `block_orientation = 0`.
    pub const GENERIC: ModuleWiring =
        ModuleWiring { digits_are_rows: false, columns_reversed: false, rows_reversed: false };
    /// FC-16 boards: digit = row with digit 0 top, bit 7 left: luma `block_orientation = 90`.
    pub const FC16: ModuleWiring =
        ModuleWiring { digits_are_rows: true, columns_reversed: true, rows_reversed: false };
    /// ICStation boards (an FC-16 turned 180°): luma `block_orientation = -90`.
    pub const ICSTATION: ModuleWiring =
        ModuleWiring { digits_are_rows: true, columns_reversed: false, rows_reversed: true };
    /// Digit = column with digit 0 right, bit 0 bottom: luma `block_orientation = 180`.
    pub const LUMA_180: ModuleWiring =
        ModuleWiring { digits_are_rows: false, columns_reversed: true, rows_reversed: true };
    /// Parola boards (Wokwi's default): digit = row, bit 0 left. luma cannot express it.
    pub const PAROLA: ModuleWiring =
        ModuleWiring { digits_are_rows: true, columns_reversed: false, rows_reversed: false };

    /// The wiring luma.led_matrix 1.9 means by `block_orientation` (0, 90, -90 or 180).
    pub fn from_luma_block_orientation(block_orientation: i32) -> Result<ModuleWiring, LayoutError> {
        match block_orientation {
            0 => Ok(Self::GENERIC),
            90 => Ok(Self::FC16),
            -90 => Ok(Self::ICSTATION),
            180 => Ok(Self::LUMA_180),
            other => Err(LayoutError::BlockOrientation(other)),
        }
    }

    /// Digit (0–7) and bit (0–7) driving local LED `(x, y)` of a module; both in 0..8.
    pub fn digit_and_bit(self, x: u8, y: u8) -> (u8, u8) {
        let x = if self.columns_reversed { 7 - x } else { x };
        let y = if self.rows_reversed { 7 - y } else { y };
        if self.digits_are_rows {
            (y, x)
        } else {
            (x, y)
        }
    }
}

/// The order in which the chain visits the module grid. Chain index 0 is the chip whose
/// DIN is wired to the Pi.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChainOrder {
    /// Top-left first, every row left to right, rows top to bottom (luma.led_matrix).
    #[default]
    RowMajor,
    /// Top-right first, every row right to left (luma `blocks_arranged_in_reverse_order`).
    Reversed,
    /// Top-left first; even rows left to right, odd rows right to left.
    Serpentine,
    /// Top-right first; even rows right to left, odd rows left to right.
    ReversedSerpentine,
}

/// Whole-display rotation, clockwise (luma `rotate` 0–3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rotation {
    /// As drawn.
    #[default]
    R0,
    /// A quarter turn clockwise.
    R90,
    /// Upside down.
    R180,
    /// A quarter turn counter-clockwise.
    R270,
}

impl Rotation {
    /// luma's `rotate` argument (0–3).
    pub fn from_luma(rotate: u8) -> Result<Rotation, LayoutError> {
        match rotate {
            0 => Ok(Rotation::R0),
            1 => Ok(Rotation::R90),
            2 => Ok(Rotation::R180),
            3 => Ok(Rotation::R270),
            other => Err(LayoutError::Rotate(other)),
        }
    }
}

/// Why a layout cannot describe a display or a chain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// luma accepts only 0, 90, -90 and 180.
    #[error("block_orientation {0} is not one of 0, 90, -90, 180")]
    BlockOrientation(i32),
    /// luma's `rotate` is 0–3.
    #[error("rotate {0} is not one of 0, 1, 2, 3")]
    Rotate(u8),
    /// Width and height must be positive multiples of 8 pixels.
    #[error("display size {width}x{height} is not a positive multiple of 8 in both directions")]
    Size {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// The layout's module count must equal the chain's chip count.
    #[error("layout has {modules} modules but the chain has {chips} chips")]
    ModuleCount {
        /// Modules the layout describes.
        modules: usize,
        /// Chips in the chain.
        chips: usize,
    },
}

/// Where one LED is driven from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Led {
    /// Chain index of the chip (0 = nearest the Pi).
    pub chip: usize,
    /// Digit 0–7 (register `digit + 1`).
    pub digit: u8,
    /// Bit 0–7 of the digit's data byte.
    pub bit: u8,
}

/// A physical display: a grid of modules, the chain's path through it, each module's wiring
/// and the rotation of the whole picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Modules across (physical).
    pub modules_x: u32,
    /// Modules down (physical).
    pub modules_y: u32,
    /// Path of the chain through the grid.
    pub chain_order: ChainOrder,
    /// Wiring shared by every module.
    pub module: ModuleWiring,
    /// Rotation of the logical image onto the physical grid.
    pub rotation: Rotation,
}

impl Layout {
    /// A `modules_x × modules_y` grid, row-major chain, generic modules, no rotation.
    pub fn new(modules_x: u32, modules_y: u32) -> Layout {
        Layout {
            modules_x,
            modules_y,
            chain_order: ChainOrder::RowMajor,
            module: ModuleWiring::GENERIC,
            rotation: Rotation::R0,
        }
    }

    /// Replaces the chain order.
    pub fn with_chain_order(mut self, chain_order: ChainOrder) -> Layout {
        self.chain_order = chain_order;
        self
    }

    /// Replaces the module wiring.
    pub fn with_module(mut self, module: ModuleWiring) -> Layout {
        self.module = module;
        self
    }

    /// Replaces the rotation.
    pub fn with_rotation(mut self, rotation: Rotation) -> Layout {
        self.rotation = rotation;
        self
    }

    /// The layout luma.led_matrix 1.9 builds from `max7219(width=, height=,
    /// block_orientation=, blocks_arranged_in_reverse_order=, rotate=)`. As in luma, `width`
    /// and `height` are the physical size before rotation.
    pub fn from_luma(
        width: u32,
        height: u32,
        block_orientation: i32,
        reverse: bool,
        rotate: u8,
    ) -> Result<Layout, LayoutError> {
        if width == 0 || height == 0 || width % 8 != 0 || height % 8 != 0 {
            return Err(LayoutError::Size { width, height });
        }
        let module = ModuleWiring::from_luma_block_orientation(block_orientation)?;
        let rotation = Rotation::from_luma(rotate)?;
        let chain_order = if reverse { ChainOrder::Reversed } else { ChainOrder::RowMajor };
        Ok(Layout { modules_x: width / 8, modules_y: height / 8, chain_order, module, rotation })
    }

    /// Number of modules (chips) the layout needs.
    pub fn module_count(&self) -> usize {
        self.modules_x as usize * self.modules_y as usize
    }

    /// Physical size in pixels, as mounted: `(8·modules_x, 8·modules_y)`.
    pub fn physical_size(&self) -> (usize, usize) {
        (8 * self.modules_x as usize, 8 * self.modules_y as usize)
    }

    /// Size of the image the application draws: the physical size, swapped for 90°/270°.
    pub fn logical_size(&self) -> (usize, usize) {
        let (pw, ph) = self.physical_size();
        match self.rotation {
            Rotation::R0 | Rotation::R180 => (pw, ph),
            Rotation::R90 | Rotation::R270 => (ph, pw),
        }
    }

    /// Physical position of logical pixel `(lx, ly)`, or `None` outside the logical size.
    pub fn logical_to_physical(&self, lx: usize, ly: usize) -> Option<(usize, usize)> {
        let (lw, lh) = self.logical_size();
        if lx >= lw || ly >= lh {
            return None;
        }
        let (pw, ph) = self.physical_size();
        Some(match self.rotation {
            Rotation::R0 => (lx, ly),
            Rotation::R90 => (pw - 1 - ly, lx),
            Rotation::R180 => (pw - 1 - lx, ph - 1 - ly),
            Rotation::R270 => (ly, ph - 1 - lx),
        })
    }

    /// Chain index of the module at grid position `(mx, my)`, or `None` outside the grid.
    pub fn chain_index(&self, mx: usize, my: usize) -> Option<usize> {
        let w = self.modules_x as usize;
        if mx >= w || my >= self.modules_y as usize {
            return None;
        }
        let left_to_right = match self.chain_order {
            ChainOrder::RowMajor => true,
            ChainOrder::Reversed => false,
            ChainOrder::Serpentine => my % 2 == 0,
            ChainOrder::ReversedSerpentine => my % 2 == 1,
        };
        let column = if left_to_right { mx } else { w - 1 - mx };
        Some(my * w + column)
    }

    /// Which chip, digit and bit drive logical pixel `(lx, ly)`; `None` outside the image.
    pub fn locate(&self, lx: usize, ly: usize) -> Option<Led> {
        let (px, py) = self.logical_to_physical(lx, ly)?;
        let chip = self.chain_index(px / 8, py / 8)?;
        // Both are < 8, so the casts are exact.
        let (digit, bit) = self.module.digit_and_bit((px % 8) as u8, (py % 8) as u8);
        Some(Led { chip, digit, bit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const ORDERS: [ChainOrder; 4] =
        [ChainOrder::RowMajor, ChainOrder::Reversed, ChainOrder::Serpentine, ChainOrder::ReversedSerpentine];
    const ROTATIONS: [Rotation; 4] = [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270];

    fn all_wirings() -> impl Iterator<Item = ModuleWiring> {
        (0..8u8).map(|f| ModuleWiring {
            digits_are_rows: f & 1 != 0,
            columns_reversed: f & 2 != 0,
            rows_reversed: f & 4 != 0,
        })
    }

    #[test]
    fn luma_block_orientation_table_for_two_chips() {
        // research §2.3: (0,0) and (9,0) of a 16×8 display, as recorded from luma.
        let cases = [
            (0, (0, 0, 0), (1, 1, 0)),
            (90, (0, 0, 7), (1, 0, 6)),
            (-90, (0, 7, 0), (1, 7, 1)),
            (180, (0, 7, 7), (1, 6, 7)),
        ];
        for (bo, origin, nine) in cases {
            let layout = Layout::from_luma(16, 8, bo, false, 0).unwrap();
            let led = layout.locate(0, 0).unwrap();
            assert_eq!((led.chip, led.digit, led.bit), origin, "bo {bo} (0,0)");
            let led = layout.locate(9, 0).unwrap();
            assert_eq!((led.chip, led.digit, led.bit), nine, "bo {bo} (9,0)");
        }
    }

    #[test]
    fn luma_rotate_1_puts_origin_top_right() {
        let layout = Layout::from_luma(16, 8, 0, false, 1).unwrap();
        assert_eq!(layout.logical_size(), (8, 16));
        assert_eq!(layout.logical_to_physical(0, 0), Some((15, 0)));
        assert_eq!(layout.logical_to_physical(7, 15), Some((0, 7)));
    }

    #[test]
    fn rotations_follow_architecture_formulas() {
        let layout = Layout::new(2, 1); // 16×8 physical
        let at = |r, lx, ly| layout.with_rotation(r).logical_to_physical(lx, ly);
        assert_eq!(at(Rotation::R0, 3, 5), Some((3, 5)));
        assert_eq!(at(Rotation::R90, 3, 5), Some((15 - 5, 3)));
        assert_eq!(at(Rotation::R180, 3, 5), Some((15 - 3, 7 - 5)));
        assert_eq!(at(Rotation::R270, 3, 5), Some((5, 7 - 3)));
        assert_eq!(at(Rotation::R90, 8, 0), None, "logical width of R90 is 8");
    }

    #[test]
    fn chain_orders_on_a_3x2_grid() {
        let grid = |order| {
            let layout = Layout::new(3, 2).with_chain_order(order);
            (0..2)
                .map(|my| (0..3).map(|mx| layout.chain_index(mx, my).unwrap()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(grid(ChainOrder::RowMajor), [[0, 1, 2], [3, 4, 5]]);
        assert_eq!(grid(ChainOrder::Reversed), [[2, 1, 0], [5, 4, 3]]);
        assert_eq!(grid(ChainOrder::Serpentine), [[0, 1, 2], [5, 4, 3]]);
        assert_eq!(grid(ChainOrder::ReversedSerpentine), [[2, 1, 0], [3, 4, 5]]);
    }

    #[test]
    fn module_wiring_flags() {
        assert_eq!(ModuleWiring::GENERIC.digit_and_bit(2, 5), (2, 5));
        assert_eq!(ModuleWiring::FC16.digit_and_bit(2, 5), (5, 5));
        assert_eq!(ModuleWiring::ICSTATION.digit_and_bit(2, 5), (2, 2));
        assert_eq!(ModuleWiring::LUMA_180.digit_and_bit(2, 5), (5, 2));
        assert_eq!(ModuleWiring::PAROLA.digit_and_bit(2, 5), (5, 2));
        let mirrored = ModuleWiring { columns_reversed: true, ..ModuleWiring::GENERIC };
        assert_eq!(mirrored.digit_and_bit(2, 5), (5, 5));
    }

    #[test]
    fn every_layout_is_a_bijection_onto_the_chain() {
        for order in ORDERS {
            for rotation in ROTATIONS {
                for module in all_wirings() {
                    let layout = Layout { modules_x: 3, modules_y: 2, chain_order: order, module, rotation };
                    let (w, h) = layout.logical_size();
                    let mut seen = HashSet::new();
                    for y in 0..h {
                        for x in 0..w {
                            let led = layout.locate(x, y).unwrap();
                            assert!(led.chip < 6 && led.digit < 8 && led.bit < 8);
                            assert!(seen.insert(led), "{layout:?} maps two pixels to {led:?}");
                        }
                    }
                    assert_eq!(seen.len(), 6 * 64);
                    assert_eq!(layout.locate(w, 0), None);
                    assert_eq!(layout.locate(0, h), None);
                }
            }
        }
    }

    #[test]
    fn from_luma_rejects_what_luma_rejects() {
        assert_eq!(Layout::from_luma(12, 8, 0, false, 0), Err(LayoutError::Size { width: 12, height: 8 }));
        assert_eq!(Layout::from_luma(0, 8, 0, false, 0), Err(LayoutError::Size { width: 0, height: 8 }));
        assert_eq!(Layout::from_luma(8, 8, 45, false, 0), Err(LayoutError::BlockOrientation(45)));
        assert_eq!(Layout::from_luma(8, 8, 0, false, 4), Err(LayoutError::Rotate(4)));
        let layout = Layout::from_luma(32, 16, -90, true, 3).unwrap();
        assert_eq!((layout.modules_x, layout.modules_y), (4, 2));
        assert_eq!(layout.chain_order, ChainOrder::Reversed);
        assert_eq!(layout.module, ModuleWiring::ICSTATION);
        assert_eq!(layout.rotation, Rotation::R270);
    }
}
