//! The call view: one row per call, sngrep's call list over ESL, and a status line with each
//! server's link state in the LEDs' words.
//!
//! Layout, top to bottom: the column header, the calls (live ones in the chosen order, then
//! the recently ended ones, dimmed, with their hang-up cause), the status line. Narrow
//! terminals lose columns in a fixed order (WebRTC marker, codec, direction, then callee and
//! cause) rather than wrap; every cell is cut to its column, so nothing spills.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use tokio::time::Instant;

use crate::scene::link_words;
use crate::status::call_table::{Call, CallState, CallTable, Hangup, Sort};
use crate::status::calls::clock;
use crate::status::{LinkView, StatusView};

/// A key the view reacts to, whatever terminal library read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Escape.
    Esc,
    /// Ctrl-C (raw mode turns it into a key).
    Interrupt,
    /// The terminal changed size: draw again.
    Resize,
}

/// What a key asks of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// Draw again.
    Redraw,
    /// Leave.
    Quit,
}

/// What the person chose: order, selection, help. Rows are counted over all servers.
#[derive(Debug, Clone, Default)]
pub struct Ui {
    /// The call order.
    pub sort: Sort,
    /// The selected row.
    pub selected: usize,
    /// Whether the help box shows.
    pub help: bool,
}

/// Rows a page key moves.
const PAGE: usize = 10;

impl Ui {
    /// Applies `key` with `rows` rows on screen.
    pub fn handle(&mut self, key: Key, rows: usize) -> Action {
        let last = rows.saturating_sub(1);
        let before = (self.sort, self.selected, self.help);
        match key {
            Key::Char('q') | Key::Interrupt => return Action::Quit,
            Key::Esc if self.help => self.help = false,
            Key::Esc => return Action::Quit,
            Key::Char('?' | 'h') => self.help = !self.help,
            Key::Char('s') => self.sort = self.sort.next(),
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Char('j') => self.selected = (self.selected + 1).min(last),
            Key::PageUp => self.selected = self.selected.saturating_sub(PAGE),
            Key::PageDown => self.selected = (self.selected + PAGE).min(last),
            Key::Home | Key::Char('g') => self.selected = 0,
            Key::End | Key::Char('G') => self.selected = last,
            Key::Resize => return Action::Redraw,
            Key::Char(_) => {}
        }
        self.selected = self.selected.min(last);
        if (self.sort, self.selected, self.help) == before {
            Action::None
        } else {
            Action::Redraw
        }
    }
}

/// One server as the view sees it.
pub struct ServerCalls<'a> {
    /// Its latest view (name, link state).
    pub status: &'a StatusView,
    /// Its calls.
    pub calls: &'a CallTable,
}

/// Everything one picture shows.
pub struct Screen<'a> {
    /// Every server, in the config's order.
    pub servers: Vec<ServerCalls<'a>>,
    /// The person's choices.
    pub ui: &'a Ui,
    /// The time durations count to.
    pub now: Instant,
}

impl Screen<'_> {
    /// The rows shown, in order, with the server each belongs to.
    pub fn rows(&self) -> Vec<(&str, &Call)> {
        let mut live = Vec::new();
        let mut ended = Vec::new();
        for s in &self.servers {
            for call in s.calls.rows(self.ui.sort, self.now) {
                let row = (s.status.server.as_str(), call);
                if call.ended.is_some() {
                    ended.push(row);
                } else {
                    live.push(row);
                }
            }
        }
        match self.ui.sort {
            Sort::Start => live.sort_by_key(|r| std::cmp::Reverse(r.1.started)),
            Sort::Duration => live.sort_by_key(|r| std::cmp::Reverse(r.1.duration(self.now))),
        }
        ended.sort_by_key(|r| std::cmp::Reverse(r.1.ended));
        live.extend(ended);
        live
    }
}

/// The columns, in the order they are dropped when the terminal is narrow (last first).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Caller,
    State,
    Time,
    Cause,
    Callee,
    Direction,
    Codec,
    Web,
}

impl Column {
    fn title(self) -> &'static str {
        match self {
            Self::Direction => "Dir",
            Self::Caller => "Caller",
            Self::Callee => "Callee",
            Self::State => "State",
            Self::Time => "Time",
            Self::Codec => "Codec",
            Self::Web => "Web",
            Self::Cause => "Hang-up cause",
        }
    }

    fn width(self) -> Constraint {
        match self {
            Self::Direction | Self::Web => Constraint::Length(3),
            Self::Caller => Constraint::Fill(1),
            Self::Callee => Constraint::Length(8),
            Self::State => Constraint::Length(11),
            Self::Time => Constraint::Length(7),
            Self::Codec => Constraint::Length(5),
            Self::Cause => Constraint::Fill(1),
        }
    }
}

/// The columns that fit `width`, in display order.
fn columns(width: u16) -> Vec<Column> {
    use Column::{Callee, Caller, Cause, Codec, Direction, State, Time, Web};
    if width >= 72 {
        vec![Direction, Caller, Callee, State, Time, Codec, Web, Cause]
    } else if width >= 50 {
        vec![Caller, Callee, State, Time, Cause]
    } else if width >= 36 {
        vec![Caller, State, Time]
    } else {
        vec![Caller, State]
    }
}

fn state_style(state: CallState) -> Style {
    match state {
        CallState::Ringing | CallState::EarlyMedia => Style::new().fg(Color::Yellow),
        CallState::Answered | CallState::Bridged => Style::new().fg(Color::Green),
        CallState::Held => Style::new().fg(Color::Cyan),
        CallState::HungUp => Style::new(),
    }
}

fn cell(column: Column, call: &Call, server: &str, several: bool, now: Instant) -> Cell<'static> {
    let state = call.state();
    match column {
        Column::Direction => Cell::from(if call.direction == "outbound" { "out" } else { "in" }),
        Column::Caller => {
            let who = match &call.caller_name {
                Some(name) => format!("{name} ({})", call.caller_number),
                None => call.caller_number.clone(),
            };
            Cell::from(if several { format!("{server}: {who}") } else { who })
        }
        Column::Callee => Cell::from(call.callee.clone()),
        Column::State => Cell::from(state.word()).style(state_style(state)),
        Column::Time => Cell::from(Line::from(clock(call.duration(now))).right_aligned()),
        Column::Codec => Cell::from(call.codec.clone().unwrap_or_default()),
        Column::Web => Cell::from(if call.webrtc { "web" } else { "" }),
        Column::Cause => Cell::from(call.hangup.as_ref().map(Hangup::text).unwrap_or_default()),
    }
}

/// The status line: each server's link state in the LEDs' words, the counts, the order.
fn status_line(screen: &Screen<'_>, width: u16) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, s) in screen.servers.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" · "));
        }
        let style = match s.status.link {
            LinkView::Up => Style::new().fg(Color::Green),
            LinkView::Connecting => Style::new().fg(Color::Yellow),
            _ => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        };
        spans.push(Span::raw(format!("{}: ", s.status.server)));
        spans.push(Span::styled(link_words(&s.status.link), style));
    }
    let live: usize = screen.servers.iter().map(|s| s.calls.live()).sum();
    let ended: usize = screen.servers.iter().map(|s| s.calls.ended()).sum();
    // The least needed part goes first when the line is too long; the link states stay.
    let tail = [
        format!(" │ {live} live, {ended} ended"),
        format!(" │ sort {}", screen.ui.sort.word()),
        " │ ? help".to_owned(),
    ];
    let used: usize = spans.iter().map(Span::width).sum();
    let mut room = usize::from(width).saturating_sub(used);
    for part in tail {
        let w = Span::raw(part.as_str()).width();
        if w > room {
            break;
        }
        room -= w;
        spans.push(Span::raw(part));
    }
    Line::from(spans).style(Style::new().add_modifier(Modifier::REVERSED))
}

const HELP: [(&str, &str); 6] = [
    ("↑ ↓ j k", "select a call"),
    ("PgUp PgDn", "ten calls up or down"),
    ("Home End", "first or last call"),
    ("s", "sort by start or duration"),
    ("? h", "this help (Esc closes)"),
    ("q Esc Ctrl-C", "quit"),
];

/// Draws `screen` on the whole frame.
pub fn draw(frame: &mut Frame<'_>, screen: &Screen<'_>) {
    let area = frame.area();
    if area.height == 0 || area.width == 0 {
        return;
    }
    let [list, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(status_line(screen, status.width))
            .style(Style::new().add_modifier(Modifier::REVERSED)),
        status,
    );
    if list.height > 0 {
        draw_list(frame, screen, list);
    }
    if screen.ui.help {
        draw_help(frame, area);
    }
}

fn draw_list(frame: &mut Frame<'_>, screen: &Screen<'_>, area: Rect) {
    let cols = columns(area.width);
    let rows = screen.rows();
    let several = screen.servers.len() > 1;
    let header =
        Row::new(cols.iter().map(|c| Cell::from(c.title()))).style(Style::new().add_modifier(Modifier::BOLD));
    if rows.is_empty() {
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(
            Table::new(Vec::<Row>::new(), cols.iter().map(|c| c.width())).header(header),
            head,
        );
        frame.render_widget(Paragraph::new("no calls").style(Style::new().add_modifier(Modifier::DIM)), body);
        return;
    }
    let body: Vec<Row> = rows
        .iter()
        .map(|(server, call)| {
            let row = Row::new(cols.iter().map(|&c| cell(c, call, server, several, screen.now)));
            if call.ended.is_some() {
                row.style(Style::new().add_modifier(Modifier::DIM))
            } else {
                row
            }
        })
        .collect();
    let table = Table::new(body, cols.iter().map(|c| c.width()))
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(screen.ui.selected.min(rows.len() - 1)));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let width = 44.min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let rect = Rect { x, y, width, height };
    let lines: Vec<Line> = HELP.iter().map(|(keys, what)| Line::from(format!("{keys:<13}{what}"))).collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" keys ")), rect);
}
