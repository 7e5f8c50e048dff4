//! Tools for bringing up a real display: test patterns (`selftest`), the wiring wizard
//! and the chain-length probe. Each is library code over an [`Output`] or a bare
//! `SpiDevice`, so tests run them on a VirtualChain exactly as a Pi runs them.
//!
//! [`Output`]: crate::backend::Output

pub mod modules;
pub mod probe;
pub mod selftest;
pub mod wiring_wizard;
