//! eslmatrix: FreeSWITCH status on MAX7219 LED matrices.
//!
//! The data path runs one way: [`status`] → [`scene`] → [`render`] → [`driver`] →
//! an `embedded_hal::spi::SpiDevice` chosen in [`backend`]. See ARCHITECTURE.md.

pub mod app;
pub mod backend;
pub mod config;
pub mod driver;
pub mod render;
pub mod scene;
pub mod status;
pub mod tools;
pub mod tui;
