//! Fonts, layout and scrolling, producing 1-bit [`Frame`]s.

pub mod frame;

pub use frame::Frame;
