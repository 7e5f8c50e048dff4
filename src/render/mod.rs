//! Fonts, layout and scrolling, producing 1-bit [`Frame`]s.
//!
//! A line of text becomes a [`Frame`] either placed still ([`render_aligned`]) or as a
//! strip that a [`Scroll`] slides across the display; [`Effects`] go on last. Text never
//! fails to render: characters a [`Font`] lacks are spelled in ASCII or boxed, and
//! [`unsupported_chars`] says which were boxed.

pub mod effects;
pub mod font;
pub mod frame;
pub mod layout;
pub mod scroll;
pub mod text;
mod translit;

#[cfg(test)]
mod golden;

pub use effects::{Blink, Effects};
pub use font::{Font, UnknownFont};
pub use frame::Frame;
pub use layout::{draw_aligned, fits, render_aligned, Align};
pub use scroll::{Repeat, Scroll};
pub use text::{draw_text, render_text, text_width, unsupported_chars};
