//! Full-screen terminal views beside the LEDs, drawn with ratatui: the call view of
//! `eslmatrix calls` ([`calls`]) and the terminal it takes over ([`terminal`]).
//!
//! The views are pure functions of the state they are given (the links' [`StatusView`]s and
//! [`CallTable`]s, a [`calls::Ui`], the time), so ratatui's `TestBackend` snapshots them; the
//! loop that feeds them lives in `app::calls`, which reaches ratatui only through
//! [`Surface`].
//!
//! [`StatusView`]: crate::status::StatusView
//! [`CallTable`]: crate::status::call_table::CallTable

pub mod calls;
pub mod flow;
pub mod terminal;

use std::io;

pub use calls::{Action, FlowChoice, Key, Screen, Tab, Ui};

/// Where a [`Screen`] is drawn: a ratatui `Terminal` (the real one or a `TestBackend`), or a
/// test's wrapper around one.
pub trait Surface {
    /// Draws the whole screen; ratatui sends only the cells that changed.
    fn show(&mut self, screen: &Screen<'_>) -> io::Result<()>;
}

impl<B: ratatui::backend::Backend> Surface for ratatui::Terminal<B> {
    fn show(&mut self, screen: &Screen<'_>) -> io::Result<()> {
        self.draw(|frame| draw(frame, screen)).map(|_| ()).map_err(|e| io::Error::other(e.to_string()))
    }
}

/// Draws `screen` on the whole frame: the open call's ladder, else the list (or the
/// registrations tab), with the help box over either.
pub fn draw(frame: &mut ratatui::Frame<'_>, screen: &Screen<'_>) {
    match &screen.ui.flow {
        Some(choice) => {
            flow::draw(frame, screen, choice);
            if screen.ui.help {
                calls::draw_help(frame, frame.area());
            }
        }
        None => calls::draw(frame, screen),
    }
}

/// A screen in memory (ratatui's `TestBackend`): what `eslmatrix calls` prints when stdout
/// is not a terminal.
pub struct TextScreen {
    terminal: ratatui::Terminal<ratatui::backend::TestBackend>,
}

impl TextScreen {
    /// A `cols`×`rows` screen.
    pub fn new(cols: u16, rows: u16) -> io::Result<Self> {
        let terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(cols, rows))
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self { terminal })
    }

    /// The text on screen, one line per row, without trailing blanks or blank last rows.
    pub fn text(&self) -> String {
        let buf = self.terminal.backend().buffer();
        let mut lines: Vec<String> = (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>().trim_end().to_owned()
            })
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines.join("\n")
    }
}

impl Surface for TextScreen {
    fn show(&mut self, screen: &Screen<'_>) -> io::Result<()> {
        self.terminal.show(screen)
    }
}
