//! Views: where the picture a virtual chain shows goes after every frame — the terminal,
//! stdout at the end, a PNG. The window and GIF views plug in here too.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::LedGrid;

/// Showing the picture failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("writing to the terminal: {0}")]
    /// The terminal could not be written.
    Terminal(std::io::Error),
    #[error(transparent)]
    /// The PNG could not be written.
    Png(#[from] super::png::PngError),
    #[error("writing the GIF: {0}")]
    /// The GIF could not be written.
    Gif(String),
    #[error("{0}")]
    /// Any other view failure, as its text.
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
    /// True for views a person closes themselves (a window): a command with nothing more
    /// to show keeps its last picture up until then instead of flashing it.
    fn stays_until_closed(&self) -> bool {
        false
    }
    /// What the source of the pictures is doing (the daemon's link state), for views with a
    /// caption; the LEDs themselves show only the picture.
    fn set_status(&mut self, status: &str) {
        let _ = status;
    }
}

/// Shows nothing (a physical display, or a spilog without a picture).
pub struct NoView;

impl View for NoView {
    fn show(&mut self, _: &LedGrid, _: Duration) -> Result<(), ViewError> {
        Ok(())
    }
}

/// A picture of the LEDs in the terminal, redrawn in place (see [`super::terminal`]: cropped
/// to the terminal, a caption, logs above it, cursor hidden until the end). When stdout is
/// not a terminal, only the final picture is printed, as `#`/`.` rows.
#[derive(Default)]
pub struct TerminalView {
    /// Whether a picture was drawn on a terminal, so the end restores it rather than print.
    drawn: bool,
}

impl View for TerminalView {
    fn show(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        self.drawn |= super::terminal::draw(leds).map_err(ViewError::Terminal)?;
        Ok(())
    }
    fn finish(&mut self, leds: &LedGrid, at: Duration) -> Result<(), ViewError> {
        if self.drawn || super::terminal::draw(leds).map_err(ViewError::Terminal)? {
            return super::terminal::finish().map_err(ViewError::Terminal);
        }
        PrintView.finish(leds, at)
    }
    fn set_status(&mut self, status: &str) {
        super::terminal::set_status(status);
    }
}

impl Drop for TerminalView {
    fn drop(&mut self) {
        // An early return (an error) must not leave the cursor hidden.
        if self.drawn {
            let _ = super::terminal::finish();
        }
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
    /// The file written at the end.
    pub path: PathBuf,
    /// Pixels per LED.
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
