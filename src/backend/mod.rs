//! Where SPI bytes and pixels go: the VirtualChain, spilog files, PNGs, GIFs, the
//! terminal, a window.

pub mod bus;
pub mod gif;
pub mod leds;
pub mod output;
pub mod png;
pub mod sim_wiring;
pub mod spec;
pub mod spidev;
pub mod spilog;
pub mod terminal;
pub mod threads;
pub mod view;
pub mod window;

pub use bus::{Bus, BusError};
pub use leds::LedGrid;
pub use output::{Output, OutputError};
pub use sim_wiring::{chain_leds, sim_layout, virtual_chain};
pub use spec::{BackendSpec, BackendSpecError, OutputSpec};
pub use spilog::{SpiLog, Tee};
pub use threads::with_output;
