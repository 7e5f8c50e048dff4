//! Our MAX7219 chain driver over any embedded-hal 1.0 `SpiDevice<u8>`.

pub mod wiring;
