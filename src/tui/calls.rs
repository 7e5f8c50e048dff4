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
use crate::status::gateway_table::{Gateway, GatewayTable};
use crate::status::reg_table::RegTable;
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
    /// Enter.
    Enter,
    /// Backspace.
    Backspace,
    /// Tab: calls or registrations.
    Tab,
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
    /// Open the selected call's ladder.
    Open,
}

/// What the person chose: order, selection, help, filter, the call whose flow shows. Rows
/// are counted over all servers, after the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ui {
    /// The call order.
    pub sort: Sort,
    /// The selected row.
    pub selected: usize,
    /// Whether the help box shows.
    pub help: bool,
    /// Shows only the calls whose caller name or number, callee or state contains it
    /// (ignoring case); at most [`FILTER_MAX`] characters.
    pub filter: String,
    /// Whether keys are typed into the filter (after `/` or a digit) rather than commands.
    pub editing: bool,
    /// The tab shown: calls, registrations or gateways (Tab goes round).
    pub tab: Tab,
    /// The call whose ladder shows instead of the list (Enter opens it, Esc goes back).
    pub flow: Option<FlowChoice>,
}

/// What the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// The calls.
    #[default]
    Calls,
    /// The registrations.
    Registrations,
    /// The gateways (SIP trunks).
    Gateways,
}

impl Tab {
    /// The tab Tab goes to.
    pub fn next(self) -> Self {
        match self {
            Self::Calls => Self::Registrations,
            Self::Registrations => Self::Gateways,
            Self::Gateways => Self::Calls,
        }
    }
}

/// The ladder of one call: which call, which event is selected, whether its raw headers show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowChoice {
    /// The server's index in [`Screen::servers`].
    pub server: usize,
    /// The call's ID.
    pub call: String,
    /// The selected event, counted over the events the call keeps.
    pub selected: usize,
    /// Whether the selected event's raw headers show (`v`).
    pub raw: bool,
    /// The first header line shown.
    pub raw_scroll: usize,
}

/// Rows a page key moves.
const PAGE: usize = 10;

/// The longest filter: more than any number or name, and a bound on what a key-repeat
/// can make the view compare.
pub const FILTER_MAX: usize = 32;

impl Ui {
    /// Whether `call` passes the filter.
    pub fn matches(&self, call: &Call) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let needle = self.filter.to_lowercase();
        let name = call.caller_name.as_deref().unwrap_or_default();
        [name, &call.caller_number, &call.callee, call.state().word()]
            .iter()
            .any(|field| field.to_lowercase().contains(&needle))
    }

    fn changed(&self, before: &Ui) -> Action {
        if self == before {
            Action::None
        } else {
            Action::Redraw
        }
    }

    /// Opens the ladder of call `call` of server `server`.
    pub fn open_flow(&mut self, server: usize, call: String) {
        self.flow = Some(FlowChoice { server, call, selected: 0, raw: false, raw_scroll: 0 });
    }

    /// Applies `key` with `rows` rows on screen (after the filter); with a ladder open,
    /// `rows` is its events. [`Action::Open`] asks the loop to open the selected call's
    /// ladder ([`Ui::open_flow`]).
    pub fn handle(&mut self, key: Key, rows: usize) -> Action {
        let last = rows.saturating_sub(1);
        let before = self.clone();
        if self.flow.is_some() {
            return self.handle_flow(key, last, &before);
        }
        if self.editing {
            match key {
                Key::Char(c) if !c.is_control() => {
                    if self.filter.chars().count() < FILTER_MAX {
                        self.filter.push(c);
                        self.selected = 0;
                    }
                }
                Key::Backspace => {
                    self.filter.pop();
                }
                Key::Enter => self.editing = false,
                Key::Esc => {
                    self.filter.clear();
                    self.editing = false;
                }
                _ => return self.navigate(key, last, &before),
            }
            return self.changed(&before);
        }
        match key {
            Key::Char('/') => self.editing = true,
            Key::Char(c @ ('0'..='9' | '+' | '*' | '#')) => {
                self.editing = true;
                self.filter.push(c);
                self.selected = 0;
            }
            Key::Backspace => {
                self.filter.pop();
            }
            Key::Esc if !self.help && !self.filter.is_empty() => self.filter.clear(),
            Key::Enter if !self.help && self.tab == Tab::Calls && rows > 0 => return Action::Open,
            _ => return self.navigate(key, last, &before),
        }
        self.changed(&before)
    }

    /// The ladder's keys: events up and down, `v` for the headers, Esc or Backspace back.
    fn handle_flow(&mut self, key: Key, last: usize, before: &Ui) -> Action {
        match key {
            Key::Char('q') | Key::Interrupt => return Action::Quit,
            Key::Esc if self.help => self.help = false,
            Key::Char('?' | 'h') => self.help = !self.help,
            Key::Esc | Key::Backspace => self.flow = None,
            Key::Resize => return Action::Redraw,
            _ => {}
        }
        if let Some(flow) = self.flow.as_mut() {
            let selected = flow.selected;
            match key {
                Key::Char('v') | Key::Enter => {
                    flow.raw = !flow.raw;
                    flow.raw_scroll = 0;
                }
                Key::Up | Key::Char('k') => flow.selected = flow.selected.saturating_sub(1),
                Key::Down | Key::Char('j') => flow.selected = (flow.selected + 1).min(last),
                Key::PageUp if flow.raw => flow.raw_scroll = flow.raw_scroll.saturating_sub(PAGE),
                Key::PageDown if flow.raw => {
                    flow.raw_scroll = flow.raw_scroll.saturating_add(PAGE).min(RAW_SCROLL_MAX);
                }
                Key::PageUp => flow.selected = flow.selected.saturating_sub(PAGE),
                Key::PageDown => flow.selected = (flow.selected + PAGE).min(last),
                Key::Home | Key::Char('g') => flow.selected = 0,
                Key::End | Key::Char('G') => flow.selected = last,
                _ => {}
            }
            flow.selected = flow.selected.min(last);
            if flow.selected != selected {
                flow.raw_scroll = 0;
            }
        }
        self.changed(before)
    }

    /// The keys that do the same while the filter is typed: moves, help and leaving.
    fn navigate(&mut self, key: Key, last: usize, before: &Ui) -> Action {
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
            Key::Tab => {
                self.tab = self.tab.next();
                self.selected = 0;
            }
            Key::Char(_) | Key::Enter | Key::Backspace => {}
        }
        self.selected = self.selected.min(last);
        self.changed(before)
    }
}

/// How far the headers scroll at most: more lines than any event has.
const RAW_SCROLL_MAX: usize = 4096;

/// One server as the view sees it.
pub struct ServerCalls<'a> {
    /// Its latest view (name, link state).
    pub status: &'a StatusView,
    /// Its calls.
    pub calls: &'a CallTable,
    /// Its registrations.
    pub registrations: &'a RegTable,
    /// Its gateways.
    pub gateways: &'a GatewayTable,
    /// Channel and registration events it sent in the last whole second.
    pub events_per_sec: u64,
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
        self.indexed_rows()
            .into_iter()
            .map(|(i, call)| (self.servers[i].status.server.as_str(), call))
            .collect()
    }

    /// The selected call of the list, as its server's index and its ID.
    pub fn selected_call(&self) -> Option<(usize, String)> {
        let rows = self.indexed_rows();
        let last = rows.len().checked_sub(1)?;
        rows.get(self.ui.selected.min(last)).map(|(i, call)| (*i, call.id.clone()))
    }

    /// The rows shown, in order, with the index of the server each belongs to.
    fn indexed_rows(&self) -> Vec<(usize, &Call)> {
        let mut live = Vec::new();
        let mut ended = Vec::new();
        for (i, s) in self.servers.iter().enumerate() {
            for call in s.calls.rows(self.ui.sort, self.now) {
                let row = (i, call);
                if !self.ui.matches(call) {
                    continue;
                }
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

/// Each server's name and link state in the LEDs' words, as the status lines begin.
fn link_spans(screen: &Screen<'_>) -> Vec<Span<'static>> {
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
    spans
}

/// The status line: each server's link state in the LEDs' words, the counts, the order.
fn status_line(screen: &Screen<'_>, width: u16) -> Line<'static> {
    let live: usize = screen.servers.iter().map(|s| s.calls.live()).sum();
    let ended: usize = screen.servers.iter().map(|s| s.calls.ended()).sum();
    // The least needed part goes first when the line is too long; the link states stay.
    let ui = screen.ui;
    let filter = match (ui.editing, ui.filter.is_empty()) {
        (true, _) => format!(" │ filter: {}▏", ui.filter),
        (false, false) => format!(" │ filter: {}", ui.filter),
        (false, true) => String::new(),
    };
    let rate: u64 = screen.servers.iter().map(|s| s.events_per_sec).sum();
    let tail = [
        filter,
        format!(" │ {live} live, {ended} ended"),
        format!(" │ {rate} ev/s"),
        format!(" │ sort {}", screen.ui.sort.word()),
        match ui.tab.next() {
            Tab::Calls => " │ Tab calls",
            Tab::Registrations => " │ Tab regs",
            Tab::Gateways => " │ Tab gateways",
        }
        .to_owned(),
        " │ ? help".to_owned(),
    ];
    status_bar(screen, tail, width)
}

/// A status line as both views draw it, reversed: the links' states, then the `tail`'s parts
/// in order as long as each fits in `width` (the first that does not fit ends the line).
pub(super) fn status_bar(
    screen: &Screen<'_>,
    tail: impl IntoIterator<Item = String>,
    width: u16,
) -> Line<'static> {
    let mut spans = link_spans(screen);
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

const HELP: [(&str, &str); 10] = [
    ("↑ ↓ j k", "select a call (or event)"),
    ("PgUp PgDn", "ten calls up or down"),
    ("Home End", "first or last call"),
    ("Enter", "the call's flow; Esc back"),
    ("v", "flow: the event's headers"),
    ("Tab", "calls, regs, gateways"),
    ("s", "sort by start or duration"),
    ("/ or 0-9", "filter: number, name, state"),
    ("? h", "this help"),
    ("q Esc Ctrl-C", "quit"),
];

/// Draws the call list (or the registrations tab) of `screen` on the whole frame.
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
        match screen.ui.tab {
            Tab::Calls => draw_list(frame, screen, list),
            Tab::Registrations => draw_registrations(frame, screen, list),
            Tab::Gateways => draw_gateways(frame, screen, list),
        }
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
        let empty = if screen.ui.filter.is_empty() {
            "no calls".to_owned()
        } else {
            format!("no calls match {:?}", screen.ui.filter)
        };
        frame.render_widget(Paragraph::new(empty).style(Style::new().add_modifier(Modifier::DIM)), body);
        return;
    }
    let (start, shown, selected) = window(rows.len(), screen.ui.selected, area.height);
    let body: Vec<Row> = rows[start..start + shown]
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
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The rows a table under a header in `height` rows shows with row `selected` of `count` in
/// view, as ratatui's `Table` would scroll them: `(first, how many, selected among them)`.
/// Only those are built, so a redraw costs the screen, not the list (5000 registrations).
fn window(count: usize, selected: usize, height: u16) -> (usize, usize, usize) {
    let visible = usize::from(height).saturating_sub(1).max(1);
    let selected = selected.min(count.saturating_sub(1));
    let start = (selected + 1).saturating_sub(visible);
    (start, visible.min(count - start), selected - start)
}

/// The registrations tab: one row per binding, WebRTC marked, expiry counting down.
fn draw_registrations(frame: &mut Frame<'_>, screen: &Screen<'_>, area: Rect) {
    let several = screen.servers.len() > 1;
    let wide = area.width >= 72;
    let widest = area.width >= 120;
    let mut titles = vec!["User", "Transport", "Expires", "Address"];
    let mut widths =
        vec![Constraint::Fill(1), Constraint::Length(9), Constraint::Length(7), Constraint::Length(21)];
    if wide {
        titles.push("User agent");
        widths.push(Constraint::Fill(1));
    }
    if widest {
        titles.push("Contact");
        widths.push(Constraint::Fill(1));
    }
    if area.width < 50 {
        titles.truncate(3);
        widths.truncate(3);
    }
    let header =
        Row::new(titles.iter().map(|t| Cell::from(*t))).style(Style::new().add_modifier(Modifier::BOLD));
    let count: usize = screen.servers.iter().map(|s| s.registrations.len()).sum();
    let (start, shown, selected) = window(count, screen.ui.selected, area.height);
    let mut rows = Vec::new();
    let mut index = 0;
    for s in &screen.servers {
        let len = s.registrations.len();
        let skip = start.saturating_sub(index).min(len);
        index += len;
        for b in s.registrations.rows().skip(skip).take(shown - rows.len()) {
            let user = if several { format!("{}: {}", s.status.server, b.user) } else { b.user.clone() };
            let transport = if b.webrtc { format!("{} web", b.transport) } else { b.transport.clone() };
            let expires = b.expires_in(screen.now).map(clock).unwrap_or_default();
            let mut cells = vec![
                Cell::from(user),
                Cell::from(transport),
                Cell::from(Line::from(expires).right_aligned()),
                Cell::from(b.network.clone().unwrap_or_default()),
            ];
            cells.push(Cell::from(b.user_agent.clone().unwrap_or_default()));
            cells.push(Cell::from(b.contact.clone()));
            cells.truncate(titles.len());
            rows.push(Row::new(cells));
        }
    }
    if rows.is_empty() {
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(Table::new(Vec::<Row>::new(), widths).header(header), head);
        frame.render_widget(
            Paragraph::new("no registrations").style(Style::new().add_modifier(Modifier::DIM)),
            body,
        );
        return;
    }
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn gateway_cells(g: &Gateway, server: &str, several: bool, now: Instant) -> Vec<Cell<'static>> {
    let name = if several { format!("{server}: {}", g.name) } else { g.name.clone() };
    let style = if g.state.is_up() {
        Style::new().fg(Color::Green)
    } else {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    };
    // A failed gateway's retry counts down; otherwise how long it has been in its state.
    let time = match (g.retry_at, g.since) {
        (Some(at), _) if !g.state.is_up() => format!("in {}", clock(at.saturating_duration_since(now))),
        (_, Some(since)) => clock(now.saturating_duration_since(since)),
        _ => String::new(),
    };
    vec![
        Cell::from(name),
        Cell::from(g.state.as_str().to_owned()).style(style),
        Cell::from(Line::from(time).right_aligned()),
        Cell::from(g.ping.clone().unwrap_or_default()),
        Cell::from(g.reply.clone().unwrap_or_default()),
        Cell::from(g.register_to.clone().unwrap_or_default()),
    ]
}

/// The gateways tab: one row per gateway, its state (red when calls cannot go out through
/// it), since when or when it retries, ping, the reply that changed it, where it registers.
fn draw_gateways(frame: &mut Frame<'_>, screen: &Screen<'_>, area: Rect) {
    let several = screen.servers.len() > 1;
    let mut titles = vec!["Gateway", "State", "Time", "Ping", "Last reply", "Register to"];
    let mut widths = vec![
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(4),
        Constraint::Length(20),
        Constraint::Fill(1),
    ];
    let keep = if area.width >= 72 {
        6
    } else if area.width >= 50 {
        5
    } else {
        3
    };
    if keep < 6 {
        // Narrow: the address goes first, then ping and reply.
        titles.remove(5);
        widths.remove(5);
        if keep < 5 {
            titles.truncate(3);
            widths.truncate(3);
        } else {
            titles.remove(3);
            widths.remove(3);
        }
    }
    let header =
        Row::new(titles.iter().map(|t| Cell::from(*t))).style(Style::new().add_modifier(Modifier::BOLD));
    let mut rows = Vec::new();
    for s in &screen.servers {
        for g in s.gateways.rows() {
            let mut cells = gateway_cells(g, &s.status.server, several, screen.now);
            if keep < 6 {
                cells.remove(5);
                if keep < 5 {
                    cells.truncate(3);
                } else {
                    cells.remove(3);
                }
            }
            rows.push(Row::new(cells));
        }
    }
    if rows.is_empty() {
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(Table::new(Vec::<Row>::new(), widths).header(header), head);
        frame.render_widget(
            Paragraph::new("no gateways").style(Style::new().add_modifier(Modifier::DIM)),
            body,
        );
        return;
    }
    let count = rows.len();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(screen.ui.selected.min(count - 1)));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The keys, in a box over the middle of `area`.
pub fn draw_help(frame: &mut Frame<'_>, area: Rect) {
    let width = 44.min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height - height) / 2;
    let rect = Rect { x, y, width, height };
    let lines: Vec<Line> = HELP.iter().map(|(keys, what)| Line::from(format!("{keys:<13}{what}"))).collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" keys ")), rect);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_within_the_rows_sort_help_and_quit() {
        let mut ui = Ui::default();
        assert_eq!(ui.handle(Key::Up, 5), Action::None, "already at the top");
        assert_eq!(ui.handle(Key::End, 5), Action::Redraw);
        assert_eq!(ui.selected, 4);
        assert_eq!(ui.handle(Key::Down, 5), Action::None, "the last row stays selected");
        ui.handle(Key::PageUp, 5);
        assert_eq!(ui.selected, 0);
        ui.handle(Key::PageDown, 30);
        assert_eq!(ui.selected, 10);
        ui.handle(Key::Resize, 3);
        assert_eq!(ui.selected, 10, "a resize alone keeps the selection");
        ui.handle(Key::Char('k'), 3);
        assert_eq!(ui.selected, 2, "clamped to the rows there are");
        ui.handle(Key::Char('s'), 3);
        assert_eq!(ui.sort, Sort::Duration);
        ui.handle(Key::Char('?'), 3);
        assert!(ui.help);
        assert_eq!(ui.handle(Key::Esc, 3), Action::Redraw, "Esc closes the help first");
        assert_eq!(ui.handle(Key::Esc, 3), Action::Quit);
        ui.handle(Key::End, 3);
        ui.handle(Key::Tab, 3);
        assert_eq!(
            (ui.tab, ui.selected),
            (Tab::Registrations, 0),
            "Tab switches to the registrations, from the top"
        );
        assert_eq!(Ui::default().handle(Key::Char('q'), 0), Action::Quit);
        assert_eq!(Ui::default().handle(Key::Interrupt, 0), Action::Quit);
    }

    #[test]
    fn enter_opens_a_ladder_whose_keys_select_events_show_headers_and_go_back() {
        let mut ui = Ui::default();
        assert_eq!(ui.handle(Key::Enter, 0), Action::None, "no call, no ladder");
        assert_eq!(ui.handle(Key::Enter, 3), Action::Open);
        ui.open_flow(0, "a".into());
        assert_eq!(ui.handle(Key::Up, 5), Action::None);
        ui.handle(Key::End, 5);
        assert_eq!(ui.flow.as_ref().unwrap().selected, 4);
        ui.handle(Key::Char('v'), 5);
        ui.handle(Key::PageDown, 5);
        let flow = ui.flow.clone().unwrap();
        assert_eq!((flow.raw, flow.raw_scroll, flow.selected), (true, PAGE, 4), "PgDn scrolls the headers");
        ui.handle(Key::Up, 5);
        assert_eq!(ui.flow.as_ref().unwrap().raw_scroll, 0, "another event's headers from the top");
        ui.handle(Key::Char('s'), 5);
        assert_eq!(ui.sort, Sort::Start, "list keys do nothing on the ladder");
        assert_eq!(ui.handle(Key::Esc, 5), Action::Redraw);
        assert!(ui.flow.is_none(), "Esc goes back, not out");
        ui.open_flow(0, "a".into());
        ui.handle(Key::Backspace, 5);
        assert!(ui.flow.is_none());
        ui.open_flow(0, "a".into());
        assert_eq!(ui.handle(Key::Char('q'), 5), Action::Quit);
    }

    #[test]
    fn typing_filters_and_esc_clears_before_it_quits() {
        let mut ui = Ui::default();
        ui.handle(Key::Char('1'), 9);
        assert!(ui.editing, "a digit starts the filter");
        ui.handle(Key::Char('0'), 9);
        ui.handle(Key::Char('q'), 9);
        assert_eq!(ui.filter, "10q", "while typing, letters are the filter's");
        ui.handle(Key::Backspace, 9);
        assert_eq!(ui.handle(Key::Enter, 9), Action::Redraw);
        assert_eq!((ui.filter.as_str(), ui.editing), ("10", false));
        assert_eq!(ui.handle(Key::Esc, 9), Action::Redraw, "Esc clears the filter first");
        assert!(ui.filter.is_empty());
        ui.handle(Key::Char('/'), 9);
        for _ in 0..100 {
            ui.handle(Key::Char('x'), 9);
        }
        assert_eq!(ui.filter.len(), FILTER_MAX, "bounded");
        ui.handle(Key::Esc, 9);
        assert_eq!((ui.filter.as_str(), ui.editing), ("", false));
        assert_eq!(ui.handle(Key::Esc, 9), Action::Quit);
    }
}

#[cfg(test)]
mod scroll_tests {
    use super::*;
    use crate::status::{HeaderMap, PbxStatus};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen_text(terminal: &Terminal<TestBackend>) -> Vec<String> {
        let buf = terminal.backend().buffer();
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect()
    }

    #[test]
    fn the_selection_scrolls_into_view_on_a_short_screen() {
        let t0 = Instant::now();
        let mut table = CallTable::new(std::time::Duration::from_secs(60));
        for i in 0..30u64 {
            let id = format!("u{i}");
            let ev = HeaderMap::new()
                .with("Event-Name", "CHANNEL_CREATE")
                .with("Unique-ID", &id)
                .with("Caller-Caller-ID-Number", &format!("2{i:03}"))
                .with("Caller-Destination-Number", "1000");
            table.apply_event(&ev, t0 + std::time::Duration::from_secs(i));
        }
        let status = PbxStatus::new("pbx").view(t0);
        let regs = RegTable::default();
        let gateways = GatewayTable::default();
        let mut terminal = Terminal::new(TestBackend::new(80, 8)).unwrap();
        let mut ui = Ui::default();
        let draw = |terminal: &mut Terminal<TestBackend>, ui: &Ui| {
            let screen = Screen {
                servers: vec![ServerCalls {
                    status: &status,
                    calls: &table,
                    registrations: &regs,
                    gateways: &gateways,
                    events_per_sec: 0,
                }],
                ui,
                now: t0 + std::time::Duration::from_secs(40),
            };
            terminal.draw(|f| draw(f, &screen)).unwrap();
            screen_text(terminal)
        };
        let top = draw(&mut terminal, &ui);
        assert!(top[1].contains("2029"), "newest first: {top:#?}");
        ui.handle(Key::End, 30);
        let bottom = draw(&mut terminal, &ui);
        assert!(bottom.iter().any(|l| l.contains("2000")), "the last call is in view: {bottom:#?}");
        assert!(!bottom.iter().any(|l| l.contains("2029")), "the first scrolled off: {bottom:#?}");
        assert!(bottom[7].contains("CONNECTING"), "the status line stays: {bottom:#?}");
    }
}
