//! Our MAX7219 chain driver over any embedded-hal 1.0 `SpiDevice<u8>`.
//!
//! [`wiring`] says which LED each logical pixel is, [`registers`] turns whole frames into
//! digit registers fast, and [`max7219`] puts those registers on the wire.

pub mod display_spec;
pub mod intensity;
pub mod max7219;
pub mod power;
pub mod registers;
pub mod wiring;

pub use display_spec::{DisplaySpec, DisplaySpecError};
pub use intensity::Intensity;
pub use max7219::{DriverError, Max7219, Sent};
pub use power::PowerBudget;
pub use registers::{RegisterPlan, Registers};
pub use wiring::{ChainOrder, Led, ModuleWiring, Rotation, Wiring, WiringError, MAX_CHIPS};
