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

impl TextScreen {
    /// The screen as coloured cells, for a picture of it (`eslmatrix calls --png`).
    pub fn picture(&self) -> Picture {
        Picture::of(self.terminal.backend().buffer())
    }
}

/// A screen as cells with their colours resolved (reversed, dimmed, bold applied), free of
/// ratatui's types, so the PNG writer below the views can draw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
    /// Row by row: the character and its foreground and background colour.
    pub cells: Vec<(char, [u8; 3], [u8; 3])>,
}

/// The colours of a dark terminal (xterm's VGA-ish palette).
fn rgb(color: ratatui::style::Color, default: [u8; 3]) -> [u8; 3] {
    use ratatui::style::Color;
    match color {
        Color::Reset => default,
        Color::Black => [0, 0, 0],
        Color::Red | Color::LightRed => [222, 72, 72],
        Color::Green | Color::LightGreen => [64, 200, 110],
        Color::Yellow | Color::LightYellow => [226, 200, 60],
        Color::Blue | Color::LightBlue => [80, 130, 230],
        Color::Magenta | Color::LightMagenta => [200, 100, 200],
        Color::Cyan | Color::LightCyan => [60, 190, 210],
        Color::Gray | Color::White => [230, 230, 230],
        Color::DarkGray => [128, 128, 128],
        Color::Rgb(r, g, b) => [r, g, b],
        Color::Indexed(_) => default,
    }
}

/// The foreground and background of the terminal a picture shows.
const FG: [u8; 3] = [208, 208, 208];
const BG: [u8; 3] = [28, 28, 32];

impl Picture {
    /// The cells of a ratatui buffer (what a `TestBackend` holds).
    pub fn of(buf: &ratatui::buffer::Buffer) -> Self {
        use ratatui::style::Modifier;
        let mut cells = Vec::with_capacity(buf.content.len());
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                let cell = &buf[(x, y)];
                let c = cell.symbol().chars().next().unwrap_or(' ');
                let (mut fg, mut bg) = (rgb(cell.fg, FG), rgb(cell.bg, BG));
                if cell.modifier.contains(Modifier::BOLD) {
                    fg = fg.map(|v| v.saturating_add(40));
                }
                if cell.modifier.contains(Modifier::DIM) {
                    fg = [0, 1, 2].map(|i| ((u16::from(fg[i]) + u16::from(bg[i])) / 2) as u8);
                }
                if cell.modifier.contains(Modifier::REVERSED) {
                    std::mem::swap(&mut fg, &mut bg);
                }
                cells.push((c, fg, bg));
            }
        }
        Self { width: buf.area.width, height: buf.area.height, cells }
    }
}

impl Surface for TextScreen {
    fn show(&mut self, screen: &Screen<'_>) -> io::Result<()> {
        self.terminal.show(screen)
    }
}
