//! Our wiring told to the sim crate in its own words, and what its chain shows as the LED
//! look draws it. The sim crate never depends on ours, so the translation lives here.

use eslmatrix_sim::chain::{self as sim, Layout, LayoutError, VirtualChain};

use super::LedGrid;
use crate::driver::wiring::{ChainOrder, Rotation, Wiring};

/// The sim crate's independent description of the same display.
pub fn sim_layout(w: &Wiring) -> Layout {
    Layout {
        modules_x: w.modules_x,
        modules_y: w.modules_y,
        chain_order: match w.chain {
            ChainOrder::RowMajor => sim::ChainOrder::RowMajor,
            ChainOrder::Reversed => sim::ChainOrder::Reversed,
            ChainOrder::Serpentine => sim::ChainOrder::Serpentine,
            ChainOrder::ReversedSerpentine => sim::ChainOrder::ReversedSerpentine,
        },
        module: sim::ModuleWiring {
            digits_are_rows: w.module.digits_are_rows,
            columns_reversed: w.module.columns_reversed,
            rows_reversed: w.module.rows_reversed,
        },
        rotation: match w.rotation {
            Rotation::R0 => sim::Rotation::R0,
            Rotation::R90 => sim::Rotation::R90,
            Rotation::R180 => sim::Rotation::R180,
            Rotation::R270 => sim::Rotation::R270,
        },
    }
}

/// The LEDs a VirtualChain shows, as the LED look draws them.
pub fn chain_leds(chain: &VirtualChain) -> LedGrid {
    let px = chain.pixels();
    LedGrid::from_fn(px.width() as u32, px.height() as u32, |x, y| px.brightness(x as usize, y as usize))
}

/// A virtual chain wired as `wiring`.
pub fn virtual_chain(wiring: &Wiring) -> Result<VirtualChain, LayoutError> {
    VirtualChain::new(wiring.chips()).with_layout(sim_layout(wiring))
}
