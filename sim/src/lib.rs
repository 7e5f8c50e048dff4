//! eslmatrix-sim: the hardware-in-the-loop rig.
//!
//! * [`chain`]: a bit-level virtual MAX7219 chain behind `embedded_hal::spi::SpiDevice`.
//! * [`fs`]: a mock FreeSWITCH Event Socket server with a PBX model, scenarios and faults.
//!
//! This crate never depends on `eslmatrix`: it checks that code, so it must not share it.

pub mod chain;
pub mod fs;
