//! Where SPI bytes and pixels go: the VirtualChain, spilog files, PNGs, the terminal.

pub mod leds;
pub mod output;
pub mod png;
pub mod spidev;
pub mod spilog;
pub mod view;

pub use leds::LedGrid;
pub use spilog::{SpiLog, Tee};
