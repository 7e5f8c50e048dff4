//! Views: where the picture a virtual chain shows goes after every frame — the terminal,
//! stdout at the end, a PNG. The window and GIF views plug in here too.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::leds::TermStyle;
use super::LedGrid;

/// Showing the picture failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("writing to the terminal: {0}")]
    Terminal(std::io::Error),
    #[error(transparent)]
    Png(#[from] super::png::PngError),
    #[error("writing the GIF: {0}")]
    Gif(String),
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

/// A picture of the LEDs in the terminal, redrawn in place.
///
/// Each redraw is one write that moves the cursor back to the picture's first row and
/// overwrites it (inside a synchronized-update bracket, so supporting terminals never show
/// half a frame). The cursor is left on the line below the picture, visible, so an
/// interrupted program leaves the terminal as it found it.
pub struct TerminalView {
    style: TermStyle,
    drawn_rows: u32,
}

impl Default for TerminalView {
    fn default() -> Self {
        let stdout = std::io::stdout();
        let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        TerminalView { style: if colour { TermStyle::Dots } else { TermStyle::Plain }, drawn_rows: 0 }
    }
}

/// The terminal's width in columns, when stdout is one.
fn terminal_columns() -> Option<u16> {
    #[cfg(unix)]
    {
        rustix::termios::tcgetwinsize(std::io::stdout()).ok().map(|w| w.ws_col).filter(|&c| c > 0)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

impl TerminalView {
    /// The bytes of one redraw, given the rows drawn before.
    fn redraw(&self, leds: &LedGrid, style: TermStyle) -> String {
        let picture = leds.to_term(style);
        if style == TermStyle::Plain {
            // Not a terminal: frames follow one another, a blank line apart.
            return if self.drawn_rows > 0 { format!("\n{picture}") } else { picture };
        }
        let mut out = String::from("\x1b[?2026h");
        if self.drawn_rows > 0 {
            out.push_str(&format!("\x1b[{}A\r", self.drawn_rows));
        }
        out.push_str(&picture);
        out.push_str("\x1b[?2026l");
        out
    }
}

impl View for TerminalView {
    fn show(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        if self.drawn_rows == 0 && self.style != TermStyle::Plain {
            self.style = TermStyle::fitting(leds.width, terminal_columns());
        }
        let bytes = self.redraw(leds, self.style);
        let mut out = std::io::stdout().lock();
        out.write_all(bytes.as_bytes()).map_err(ViewError::Terminal)?;
        out.flush().map_err(ViewError::Terminal)?;
        self.drawn_rows = self.style.rows(leds.height);
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
