//! Where SPI bytes and pixels go: the VirtualChain, spilog files, PNGs, GIFs, the
//! terminal, a window.

pub mod gif;
pub mod leds;
pub mod output;
pub mod png;
pub mod spidev;
pub mod spilog;
pub mod view;
pub mod window;

pub use leds::LedGrid;
pub use spilog::{SpiLog, Tee};
