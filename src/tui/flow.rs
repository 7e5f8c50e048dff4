//! The call flow: one call's ladder, drawn the way sngrep draws a SIP flow, with the call's
//! legs as columns and every channel event the link saw as a time-stamped row: an arrow
//! between two legs (a B leg's CREATE from the A leg, BRIDGE and UNBRIDGE between the
//! bridged legs) or a state box on its leg (PROGRESS, ANSWER, HOLD, HANGUP with its cause
//! and SIP status…). `v` splits the screen and shows the selected event's raw headers.
//!
//! Times are the PBX's (`Event-Date-Local` with the milliseconds of
//! `Event-Date-Timestamp`), so two rows' difference is the PBX's, not the link's delay.
//! Narrow terminals shorten the time column, then drop it, and draw as many legs as fit
//! (later legs' events land on the last column drawn); every cell is cut to the screen.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::calls::{status_bar, FlowChoice, Screen};
use crate::status::call_flow::{time_of_day, Flow, FlowEvent};
use crate::status::call_table::{Call, CallTable, Hangup};
use crate::status::calls::clock;

/// The narrowest column a leg gets before legs stop being drawn.
const LANE_MIN: usize = 12;

/// Draws the ladder of `choice`'s call on the whole frame.
pub fn draw(frame: &mut Frame<'_>, screen: &Screen<'_>, choice: &FlowChoice) {
    let area = frame.area();
    if area.height == 0 || area.width == 0 {
        return;
    }
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let server = screen.servers.get(choice.server);
    let call = server.and_then(|s| s.calls.get(&choice.call));
    frame.render_widget(Paragraph::new(status_line(screen, choice, call, status.width)), status);
    let (Some(server), Some(call)) = (server, call) else {
        frame.render_widget(
            Paragraph::new("this call is no longer kept (ended calls stay for --keep-ended); Esc goes back")
                .style(Style::new().add_modifier(Modifier::DIM)),
            body,
        );
        return;
    };
    if body.height == 0 {
        return;
    }
    let [title, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    frame.render_widget(Paragraph::new(title_line(call, screen)), title);
    let selected = choice.selected.min(call.flow.events.len().saturating_sub(1));
    let event = call.flow.events.get(selected);
    if choice.raw {
        if rest.height >= 10 {
            let [ladder, raw] =
                Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(rest);
            draw_ladder(frame, ladder, &call.flow, selected);
            draw_raw(frame, raw, server.calls, event, choice.raw_scroll);
        } else {
            draw_raw(frame, rest, server.calls, event, choice.raw_scroll);
        }
    } else {
        draw_ladder(frame, rest, &call.flow, selected);
    }
}

fn title_line(call: &Call, screen: &Screen<'_>) -> Line<'static> {
    let who = match &call.caller_name {
        Some(name) => format!("{name} ({})", call.caller_number),
        None => call.caller_number.clone(),
    };
    let mut parts = vec![
        format!("{who} → {}", call.callee),
        call.state().word().to_owned(),
        clock(call.duration(screen.now)),
    ];
    if let Some(codec) = &call.codec {
        parts.push(codec.clone());
    }
    if call.webrtc {
        parts.push("web".to_owned());
    }
    if let Some(h) = call.hangup.as_ref().map(Hangup::text) {
        parts.push(h);
    }
    if call.flow.dropped > 0 {
        parts.push(format!("{} earlier events not kept", call.flow.dropped));
    }
    Line::from(clean(&parts.join(" · "))).style(Style::new().add_modifier(Modifier::BOLD))
}

fn status_line(screen: &Screen<'_>, choice: &FlowChoice, call: Option<&Call>, width: u16) -> Line<'static> {
    let events = call.map_or(0, |c| c.flow.events.len());
    let tail = [
        format!(" │ event {} of {events}", if events == 0 { 0 } else { choice.selected.min(events - 1) + 1 }),
        if choice.raw { " │ v ladder" } else { " │ v headers" }.to_owned(),
        " │ Esc back".to_owned(),
        " │ ? help".to_owned(),
    ];
    status_bar(screen, tail, width)
}

/// Control characters (a header value can carry any byte) shown as `·`, so nothing reaches
/// the terminal but printable text.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '·' } else { c }).collect()
}

fn event_style(ev: &FlowEvent) -> Style {
    let color = match ev.name {
        "CREATE" => Color::Yellow,
        "PROGRESS" | "PROGRESS_MEDIA" => Color::Magenta,
        "ANSWER" | "BRIDGE" => Color::Green,
        "HOLD" | "UNHOLD" => Color::Cyan,
        "HANGUP" | "HANGUP_COMPLETE" | "DESTROY" => Color::Red,
        _ => return Style::new(),
    };
    Style::new().fg(color)
}

/// One row of the ladder as cells, turned into spans of equal style.
struct Row {
    cells: Vec<(char, Style)>,
}

impl Row {
    fn new(width: usize) -> Self {
        Self { cells: vec![(' ', Style::new()); width] }
    }

    fn put(&mut self, x: usize, c: char, style: Style) {
        if let Some(cell) = self.cells.get_mut(x) {
            *cell = (c, style);
        }
    }

    /// Writes `text` from `x` on, one cell per character (wider or control characters as
    /// `?`), never past the row's end.
    fn text(&mut self, x: usize, text: &str, style: Style) {
        for (x, c) in (x..).zip(text.chars()) {
            let c = if c.is_control() || Span::raw(c.to_string()).width() != 1 { '?' } else { c };
            self.put(x, c, style);
        }
    }

    fn into_spans(self, base: Style) -> Vec<Span<'static>> {
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut run = String::new();
        let mut style = None;
        for (c, s) in self.cells {
            if style != Some(s) {
                if let Some(prev) = style {
                    spans.push(Span::styled(std::mem::take(&mut run), base.patch(prev)));
                }
                style = Some(s);
            }
            run.push(c);
        }
        if let Some(prev) = style {
            spans.push(Span::styled(run, base.patch(prev)));
        }
        spans
    }
}

/// Where each drawn leg's line runs, in the lanes' width.
fn centers(width: usize, legs: usize) -> Vec<usize> {
    let n = legs.clamp(1, (width / LANE_MIN).max(1));
    (0..n).map(|i| width * (2 * i + 1) / (2 * n)).collect()
}

/// Writes `text` centred on `center`, moved left or right to stay within `width`.
fn centred(row: &mut Row, width: usize, center: usize, text: &str, style: Style) {
    let len = text.chars().count().min(width);
    let start = center.saturating_sub(len / 2).min(width - len);
    let cut: String = text.chars().take(len).collect();
    row.text(start, &cut, style);
}

fn draw_ladder(frame: &mut Frame<'_>, area: Rect, flow: &Flow, selected: usize) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let width = usize::from(area.width);
    let (time_w, long_time) = if width >= 56 {
        (13, true)
    } else if width >= 30 {
        (10, false)
    } else {
        (0, false)
    };
    let lanes = width - time_w;
    let xs = centers(lanes, flow.legs.len());
    let col = |leg: u8| xs[usize::from(leg).min(xs.len() - 1)];
    let dim = Style::new().add_modifier(Modifier::DIM);
    let mut lines = Vec::new();
    let head_rows = match area.height {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    };
    for r in 0..head_rows {
        let mut row = Row::new(lanes);
        for (i, &x) in xs.iter().enumerate() {
            let Some(leg) = flow.legs.get(i) else { break };
            let room = if xs.len() == 1 { lanes } else { (lanes / xs.len()).saturating_sub(1).max(1) };
            let text: String = if r == 0 {
                let more = if i + 1 == xs.len() && flow.legs.len() > xs.len() {
                    format!(" +{}", flow.legs.len() - xs.len())
                } else {
                    String::new()
                };
                format!("{}{more}", leg.label)
            } else {
                leg.uuid.chars().take(8).collect()
            };
            let text: String = text.chars().take(room).collect();
            let style = if r == 0 { Style::new().add_modifier(Modifier::BOLD) } else { dim };
            centred(&mut row, lanes, x, &clean(&text), style);
        }
        let mut spans = vec![Span::styled(
            format!("{:<time_w$}", if r == 0 && time_w > 0 { "PBX time" } else { "" }),
            dim,
        )];
        spans.extend(row.into_spans(Style::new()));
        lines.push(Line::from(spans));
    }
    let rows = usize::from(area.height) - head_rows;
    if flow.events.is_empty() && rows > 0 {
        lines.push(Line::from(Span::styled(
            "no events yet: the call is known from a rebuild's listing; its next event starts the flow",
            dim,
        )));
    }
    let offset = (selected + 1).saturating_sub(rows);
    for (i, ev) in flow.events.iter().enumerate().skip(offset).take(rows) {
        let mut row = Row::new(lanes);
        for &x in &xs {
            row.put(x, '│', dim);
        }
        let style = event_style(ev);
        let label = match &ev.detail {
            Some(d) => format!("{} {}", ev.name, clean(d)),
            None => ev.name.to_owned(),
        };
        let (from, to) = match ev.peer {
            Some(p) if ev.name == "CREATE" => (col(p), col(ev.leg)),
            Some(p) => (col(ev.leg), col(p)),
            None => (col(ev.leg), col(ev.leg)),
        };
        if from == to {
            centred(&mut row, lanes, from, &format!("[{label}]"), style.add_modifier(Modifier::BOLD));
        } else {
            let (lo, hi) = (from.min(to), from.max(to));
            for x in lo + 1..hi {
                row.put(x, '─', style);
            }
            if to > from {
                row.put(to - 1, '▶', style);
            } else {
                row.put(to + 1, '◀', style);
            }
            let span = hi - lo - 1;
            if span > 4 {
                let text: String = format!(" {label} ").chars().take(span - 2).collect();
                centred(&mut row, lanes, lo + 1 + span / 2, &text, style);
            }
        }
        let time = match ev.pbx_ms {
            Some(ms) if long_time => time_of_day(ms),
            Some(ms) => time_of_day(ms)[3..].to_owned(),
            None => String::new(),
        };
        let base = if i == selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
        let mut spans = Vec::new();
        if time_w > 0 {
            spans.push(Span::styled(format!("{time:<time_w$}"), base));
        }
        spans.extend(row.into_spans(base));
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_raw(frame: &mut Frame<'_>, area: Rect, table: &CallTable, event: Option<&FlowEvent>, scroll: usize) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let dim = Style::new().add_modifier(Modifier::DIM);
    let (title, lines): (String, Vec<Line>) = match event {
        None => (" headers ".to_owned(), vec![Line::from(Span::styled("no event selected", dim))]),
        Some(ev) => {
            let time = ev.pbx_ms.map(time_of_day).unwrap_or_default();
            let title = format!(" {} {time} ", ev.name);
            match table.raw(ev.raw) {
                Some(text) => (title, text.lines().skip(scroll).map(|l| Line::from(clean(l))).collect()),
                None => (
                    title,
                    vec![Line::from(Span::styled(
                        "headers no longer kept (the oldest go first; see call_flow::RAW_BYTES)",
                        dim,
                    ))],
                ),
            }
        }
    };
    let paragraph = Paragraph::new(lines);
    if area.height >= 3 && area.width >= 4 {
        frame.render_widget(paragraph.block(Block::bordered().title(clean(&title))), area);
    } else {
        frame.render_widget(paragraph, area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_spread_over_the_width_and_stop_when_too_narrow() {
        assert_eq!(centers(60, 2), [15, 45]);
        assert_eq!(centers(60, 1), [30]);
        assert_eq!(centers(20, 3), [10], "one leg drawn when two do not fit");
        assert_eq!(centers(1, 0), [0]);
    }

    #[test]
    fn a_box_stays_within_the_row() {
        let mut row = Row::new(10);
        centred(&mut row, 10, 9, "[HANGUP NORMAL_CLEARING]", Style::new());
        let text: String = row.cells.iter().map(|c| c.0).collect();
        assert_eq!(text, "[HANGUP NO");
        let mut row = Row::new(10);
        centred(&mut row, 10, 9, "[A]", Style::new());
        let text: String = row.cells.iter().map(|c| c.0).collect();
        assert_eq!(text, "       [A]");
        row.text(0, "\u{1b}[2J", Style::new());
        assert!(row.cells[0].0 == '?', "an escape never reaches the terminal");
    }
}
