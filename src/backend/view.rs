//! Views: where the picture a virtual chain shows goes after every frame — the terminal,
//! stdout at the end, a PNG. The window and GIF views plug in here too.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::LedGrid;

/// Showing the picture failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("writing to the terminal: {0}")]
    Terminal(std::io::Error),
    #[error(transparent)]
    Png(#[from] super::png::PngError),
    #[error("{0}")]
    Other(String),
}

/// Something that shows what the LEDs show.
pub trait View: Send {
    /// Called whenever the picture changed, with the time since the output opened.
    fn show(&mut self, leds: &LedGrid, at: Duration) -> Result<(), ViewError>;
    /// Called once when the output ends, with the final picture and time.
    fn finish(&mut self, leds: &LedGrid, at: Duration) -> Result<(), ViewError> {
        let _ = (leds, at);
        Ok(())
    }
    /// False once the person closed it (a window); the program should then end.
    fn is_open(&self) -> bool {
        true
    }
}

/// Shows nothing (a physical display, or a spilog without a picture).
pub struct NoView;

impl View for NoView {
    fn show(&mut self, _: &LedGrid, _: Duration) -> Result<(), ViewError> {
        Ok(())
    }
}

/// An ANSI picture of the LEDs, redrawn in place.
pub struct TerminalView {
    colour: bool,
    drawn_rows: u32,
}

impl Default for TerminalView {
    fn default() -> Self {
        TerminalView {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            drawn_rows: 0,
        }
    }
}

impl View for TerminalView {
    fn show(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        let mut out = std::io::stdout().lock();
        if self.drawn_rows > 0 && self.colour {
            write!(out, "\x1b[{}A", self.drawn_rows).map_err(ViewError::Terminal)?;
        } else if self.drawn_rows > 0 {
            writeln!(out).map_err(ViewError::Terminal)?;
        }
        out.write_all(leds.to_ansi(self.colour).as_bytes()).map_err(ViewError::Terminal)?;
        out.flush().map_err(ViewError::Terminal)?;
        self.drawn_rows = leds.height;
        Ok(())
    }
}

/// Prints the final picture as `#`/`.` rows.
pub struct PrintView;

impl View for PrintView {
    fn show(&mut self, _: &LedGrid, _: Duration) -> Result<(), ViewError> {
        Ok(())
    }
    fn finish(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        let mut out = std::io::stdout().lock();
        for row in leds.to_rows() {
            writeln!(out, "{row}").map_err(ViewError::Terminal)?;
        }
        Ok(())
    }
}

/// Writes the final picture's LED look to a PNG.
pub struct PngView {
    pub path: PathBuf,
    pub pitch: u32,
}

impl View for PngView {
    fn show(&mut self, _: &LedGrid, _: Duration) -> Result<(), ViewError> {
        Ok(())
    }
    fn finish(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        super::png::write_led_png(&self.path, leds, self.pitch)?;
        Ok(())
    }
}
