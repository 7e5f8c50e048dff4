//! Fonts, layout and scrolling, producing 1-bit [`Frame`]s.
//!
//! A line of text becomes a [`Frame`] either placed still ([`render_aligned`]) or as a
//! strip that a [`Scroll`] slides across the display; [`Effects`] go on last. Text never
//! fails to render: characters a [`Font`] lacks are spelled in ASCII or boxed, and
//! [`unsupported_chars`] says which were boxed.
//!
//! ```
//! use std::time::Duration;
//! use eslmatrix::render::{fits, render_aligned, render_text, Align, Font, Frame, Scroll};
//!
//! let line = "Anruf von Jürgen – 0301234567";
//! let mut display = Frame::new(32, 8);
//! if fits(line, Font::Proportional8, display.width()) {
//!     display = render_aligned(line, Font::Proportional8, 32, 8, Align::Center);
//! } else {
//!     let scroll = Scroll::new(render_text(line, Font::Proportional8), display.width());
//!     let step = scroll.position_at(Duration::from_millis(1500), 30.0);
//!     scroll.step(step, &mut display);
//! }
//! assert!(display.lit() > 0);
//! ```

pub mod effects;
pub mod font;
pub mod frame;
pub mod lamps;
pub mod layout;
pub mod scroll;
pub mod speed;
pub mod text;
mod translit;

#[cfg(test)]
mod golden;

pub use effects::{Blink, Effects};
pub use font::{Font, UnknownFont};
pub use frame::Frame;
pub use lamps::{Lamp, LampField, LampLayout};
pub use layout::{draw_aligned, fits, render_aligned, Align};
pub use scroll::{Repeat, Scroll};
pub use speed::{Speed, SpeedError};
pub use text::{draw_text, render_text, text_width, unsupported_chars};
