//! A chain of MAX7219 chips, modelled bit for bit, and what it shows.
//!
//! [`VirtualChain`] is the oracle of the rig: a driver writes to it through
//! `embedded_hal::spi::SpiDevice<u8>` exactly as it would to the Pi's spidev, and the test
//! reads back the chips' registers ([`Chip`]), the counters ([`Stats`]) and the picture a
//! person would see ([`Pixels`]) through a [`Layout`] that implements ARCHITECTURE.md's
//! wiring model independently of the product.
//!
//! ```
//! use embedded_hal::spi::SpiDevice;
//! use eslmatrix_sim::chain::{Layout, VirtualChain};
//!
//! let mut chain = VirtualChain::new(2).with_layout(Layout::from_luma(16, 8, 0, false, 0)?)?;
//! // Leave shutdown and scan all digits on both chips: one word per chip per transaction.
//! chain.write(&[0x0C, 0x01, 0x0C, 0x01])?;
//! chain.write(&[0x0B, 0x07, 0x0B, 0x07])?;
//! // Column 0 of the far chip (first word) and of the near chip (last word).
//! chain.write(&[0x01, 0x01, 0x01, 0x80])?;
//! assert!(chain.pixels().is_on(8, 0));
//! assert!(chain.pixels().is_on(0, 7));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod capture;
mod chip;
pub mod layout;
mod pixels;
mod virtual_chain;

pub use capture::{parse_capture, parse_capture_line, CaptureError};
pub use chip::Chip;
pub use layout::{ChainOrder, Layout, LayoutError, Led, ModuleWiring, Rotation};
pub use pixels::Pixels;
pub use virtual_chain::{Stats, VirtualChain};
