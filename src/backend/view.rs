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
    /// True for views a person closes themselves (a window): a command with nothing more
    /// to show keeps its last picture up until then instead of flashing it.
    fn stays_until_closed(&self) -> bool {
        false
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
    /// A view that always draws in `style` (the default picks one for the terminal).
    pub fn with_style(style: TermStyle) -> Self {
        TerminalView { style, drawn_rows: 0 }
    }

    /// The bytes that replace the picture drawn before (if any) with `leds`.
    fn next_frame(&mut self, leds: &LedGrid) -> String {
        let bytes = self.redraw(leds, self.style);
        self.drawn_rows = self.style.rows(leds.height);
        bytes
    }

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
        if self.drawn_rows == 0 && self.style == TermStyle::Dots {
            self.style = TermStyle::fitting(leds.width, terminal_columns());
        }
        let bytes = self.next_frame(leds);
        let mut out = std::io::stdout().lock();
        out.write_all(bytes.as_bytes()).map_err(ViewError::Terminal)?;
        out.flush().map_err(ViewError::Terminal)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lit: u32) -> LedGrid {
        LedGrid::from_fn(4, 3, |x, _| if x == lit { 1.0 } else { 0.0 })
    }

    #[test]
    fn terminal_frames_overwrite_the_previous_picture() {
        let mut dots = TerminalView::with_style(TermStyle::Dots);
        let first = dots.next_frame(&grid(0));
        assert!(first.starts_with("\x1b[?2026h\x1b[48;2;"), "{first:?}");
        assert!(!first.contains("A\r"), "nothing to go back over yet");
        let second = dots.next_frame(&grid(1));
        assert!(second.starts_with("\x1b[?2026h\x1b[3A\r"), "{second:?}");
        assert!(second.ends_with("\x1b[0m\n\x1b[?2026l"), "cursor left below, colours reset");

        let mut half = TerminalView::with_style(TermStyle::HalfBlocks);
        half.next_frame(&grid(0));
        assert!(half.next_frame(&grid(1)).starts_with("\x1b[?2026h\x1b[2A\r"), "3 LED rows in 2 text rows");
    }

    #[test]
    fn plain_frames_follow_each_other() {
        let mut plain = TerminalView::with_style(TermStyle::Plain);
        assert_eq!(plain.next_frame(&grid(0)), "#...\n#...\n#...\n");
        assert_eq!(plain.next_frame(&grid(3)), "\n...#\n...#\n...#\n");
    }
}
