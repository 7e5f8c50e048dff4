//! The terminal the preview draws on. There is one per process, shared by the terminal view
//! (which draws the LEDs), the log writer (whose lines go above the picture) and the signal
//! thread (which redraws on resize and restores the cursor on Ctrl-C), so it lives behind
//! one lock.
//!
//! The picture is a region at the bottom of the output: the LED rows, cropped to the
//! terminal's size with a one-line note when they do not fit, and a caption line. The cursor
//! waits on the line below the region, hidden while the preview runs. A redraw moves up to
//! the region's first line and rewrites it inside a synchronized update, so nothing scrolls
//! and supporting terminals never show half a frame. A log line erases the region, prints
//! itself where the region began and redraws the region below it: logs scroll above the
//! picture and never tear it.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, Once};

use crossterm::cursor::{Hide, MoveToColumn, MoveToPreviousLine, Show};
use crossterm::style::{Color, ResetColor, SetBackgroundColor, SetForegroundColor};
use crossterm::terminal::{BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};
use crossterm::Command;

use super::leds::{Ink, LedGrid};

/// How many colours the terminal shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colours {
    /// 24-bit colour: only where the terminal says so (`COLORTERM=truecolor` or `24bit`),
    /// since a terminal without it shows wrong colours or garbage.
    True,
    /// The xterm 256-colour palette: every colour terminal of the last decades has it.
    Palette256,
    /// No colour (`NO_COLOR`): `#` lit, `.` dark.
    None,
}

impl Colours {
    /// What the environment says: `NO_COLOR` wins, then `COLORTERM`.
    pub fn from_env(no_color: Option<&str>, colorterm: Option<&str>) -> Colours {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Colours::None;
        }
        match colorterm {
            Some("truecolor" | "24bit") => Colours::True,
            _ => Colours::Palette256,
        }
    }

    fn of_process() -> Colours {
        let var = |name| std::env::var(name).ok();
        Colours::from_env(var("NO_COLOR").as_deref(), var("COLORTERM").as_deref())
    }

    fn colour(self, (r, g, b): (u8, u8, u8)) -> Color {
        match self {
            Colours::True => Color::Rgb { r, g, b },
            Colours::Palette256 | Colours::None => Color::AnsiValue(palette_index(r, g, b)),
        }
    }
}

/// The nearest colour of the xterm 256-colour palette: its 6×6×6 cube or its grey ramp.
pub fn palette_index(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let nearest = |v: u8| (0..6).min_by_key(|&i| (i32::from(LEVELS[i]) - i32::from(v)).abs()).unwrap_or(0);
    let (ri, gi, bi) = (nearest(r), nearest(g), nearest(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let grey_step = ((u32::from(r) + u32::from(g) + u32::from(b)) / 3).saturating_sub(3) / 10;
    let grey_step = grey_step.min(23) as u8;
    let grey_level = 8 + 10 * grey_step;
    let dist = |(cr, cg, cb): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(cr, r) + d(cg, g) + d(cb, b)
    };
    if dist((grey_level, grey_level, grey_level)) < dist(cube) {
        232 + grey_step
    } else {
        16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8
    }
}

/// The region's lines for one picture: LED rows cropped to `cols × rows` of terminal, a
/// note when cropped, and the caption. Every line is shorter than `cols`, so none wraps.
pub fn region(leds: &LedGrid, (cols, rows): (u16, u16), colours: Colours, caption: &str) -> Vec<String> {
    // One column stays free: writing the last column leaves some terminals waiting to wrap.
    let usable = u32::from(cols).saturating_sub(1).max(1);
    let caption_rows = u32::from(!caption.is_empty());
    // The region must fit on the screen, or moving back up to its top would fall short.
    let room = u32::from(rows).saturating_sub(1 + caption_rows).max(1);
    // A dot per LED every two columns keeps LEDs round (a cell is twice as tall as wide);
    // half blocks put two LED rows in one text row, one column per LED, when dots do not fit.
    let dots = 2 * leds.width < usable && leds.height <= room;
    let (per_led, leds_per_row) = if dots || colours == Colours::None { (2, 1) } else { (1, 2) };
    let lead = u32::from(dots);
    let shown_w = leds.width.min((usable - lead) / per_led).max(1);
    let text_rows_needed = leds.height.div_ceil(leds_per_row);
    let note_rows = u32::from(shown_w < leds.width || text_rows_needed > room);
    let shown_text_rows = text_rows_needed.min(room.saturating_sub(note_rows).max(1));
    let shown_h = (shown_text_rows * leds_per_row).min(leds.height);

    let mut lines = Vec::new();
    for text_row in 0..shown_text_rows {
        let y = text_row * leds_per_row;
        let mut line = String::new();
        if colours == Colours::None {
            for x in 0..shown_w {
                line.push(if leds.at(x, y) > 0.0 { '#' } else { '.' });
                line.push(' ');
            }
            lines.push(line.trim_end().to_owned());
            continue;
        }
        let mut pen = Pen::new(colours);
        if dots {
            pen.bg(&mut line, Ink::Board);
            line.push(' ');
            for x in 0..shown_w {
                pen.fg(&mut line, leds.ink(x, y));
                line.push_str("● ");
            }
        } else {
            for x in 0..shown_w {
                pen.fg(&mut line, leds.ink(x, y));
                pen.bg(&mut line, if y + 1 < leds.height { leds.ink(x, y + 1) } else { Ink::Board });
                line.push('▀');
            }
        }
        let _ = ResetColor.write_ansi(&mut line);
        lines.push(line);
    }
    if note_rows > 0 {
        let note = if shown_h < leds.height {
            format!("⋯ {shown_w}×{shown_h} of {}×{} LEDs; enlarge the terminal", leds.width, leds.height)
        } else {
            format!("⋯ {shown_w} of {} columns; widen the terminal", leds.width)
        };
        lines.push(fit(&note, usable));
    }
    if caption_rows > 0 {
        lines.push(fit(caption, usable));
    }
    lines
}

/// `text` cut to `cols` characters.
fn fit(text: &str, cols: u32) -> String {
    text.chars().take(cols as usize).collect()
}

/// Emits a colour only when it changes, which keeps a redraw small.
struct Pen {
    colours: Colours,
    fg: Option<Ink>,
    bg: Option<Ink>,
}

impl Pen {
    fn new(colours: Colours) -> Self {
        Pen { colours, fg: None, bg: None }
    }
    fn fg(&mut self, out: &mut String, ink: Ink) {
        if self.fg != Some(ink) {
            let _ = SetForegroundColor(self.colours.colour(ink.rgb())).write_ansi(out);
            self.fg = Some(ink);
        }
    }
    fn bg(&mut self, out: &mut String, ink: Ink) {
        if self.bg != Some(ink) {
            let _ = SetBackgroundColor(self.colours.colour(ink.rgb())).write_ansi(out);
            self.bg = Some(ink);
        }
    }
}

/// The bytes that move from below an old region of `old_rows` lines to its first line and
/// write `lines` in its place, leaving the cursor below them.
pub fn redraw_bytes(old_rows: usize, lines: &[String]) -> String {
    let mut out = String::new();
    let _ = BeginSynchronizedUpdate.write_ansi(&mut out);
    out.push_str(&erase_bytes(old_rows));
    for line in lines {
        out.push_str(line);
        let _ = Clear(ClearType::UntilNewLine).write_ansi(&mut out);
        out.push_str("\r\n");
    }
    let _ = Clear(ClearType::FromCursorDown).write_ansi(&mut out);
    let _ = EndSynchronizedUpdate.write_ansi(&mut out);
    out
}

/// The bytes that move from below a region of `rows` lines to its first line and clear it.
fn erase_bytes(rows: usize) -> String {
    let mut out = String::new();
    if rows > 0 {
        let _ = MoveToPreviousLine(rows.min(u16::MAX as usize) as u16).write_ansi(&mut out);
    } else {
        let _ = MoveToColumn(0).write_ansi(&mut out);
    }
    let _ = Clear(ClearType::FromCursorDown).write_ansi(&mut out);
    out
}

/// What is on the terminal now.
struct Screen {
    /// The last picture, for redraws after a resize or a log line.
    leds: Option<LedGrid>,
    /// Lines of the region now on the screen, above the cursor.
    drawn_rows: usize,
    /// The terminal size the region was drawn for.
    size: (u16, u16),
    colours: Colours,
    /// The second half of the caption (the first says how to quit): link state, a note.
    status: String,
    /// The preview is running: the cursor is hidden and the caption says how to quit.
    live: bool,
    /// Interrupted: the terminal is restored and nothing more is drawn.
    interrupted: bool,
}

static SCREEN: Mutex<Screen> = Mutex::new(Screen {
    leds: None,
    drawn_rows: 0,
    size: (0, 0),
    colours: Colours::Palette256,
    status: String::new(),
    live: false,
    interrupted: false,
});

fn screen() -> MutexGuard<'static, Screen> {
    // A panic while drawing leaves a picture half drawn, not a state worth refusing.
    SCREEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The terminal's size, when stdout is one.
fn terminal_size() -> Option<(u16, u16)> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    crossterm::terminal::size().ok().filter(|&(c, r)| c > 0 && r > 0)
}

impl Screen {
    fn caption(&self, leds: &LedGrid) -> String {
        let mut caption = format!("eslmatrix {}×{}", leds.width, leds.height);
        if self.live {
            caption.push_str(" · Ctrl-C to quit");
        }
        if !self.status.is_empty() {
            let _ = write!(caption, " · {}", self.status);
        }
        caption
    }

    /// The bytes that draw the region for the current picture at `size`, replacing what
    /// is there. After a resize the old region's height on the screen is unknown (the
    /// terminal may have rewrapped it), so the screen is cleared and drawing starts at the top.
    fn draw(&mut self, size: (u16, u16)) -> String {
        let Some(leds) = &self.leds else { return String::new() };
        let lines = region(leds, size, self.colours, &self.caption(leds));
        let mut out = String::new();
        if size != self.size && self.drawn_rows > 0 {
            let _ = crossterm::cursor::MoveTo(0, 0).write_ansi(&mut out);
            let _ = Clear(ClearType::All).write_ansi(&mut out);
            self.drawn_rows = 0;
        }
        out.push_str(&redraw_bytes(self.drawn_rows, &lines));
        self.drawn_rows = lines.len();
        self.size = size;
        out
    }

    /// Cursor visible again below the picture, the caption rewritten without the quit hint.
    fn restore(&mut self) -> String {
        if !self.live {
            return String::new();
        }
        self.live = false;
        let mut out = match terminal_size() {
            Some(size) => self.draw(size),
            None => String::new(),
        };
        let _ = Show.write_ansi(&mut out);
        out
    }
}

fn write_stdout(bytes: &str) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(bytes.as_bytes())?;
    out.flush()
}

/// Draws `leds` in the region, in place. Returns false when stdout is not a terminal (the
/// caller then prints only the final picture).
pub fn draw(leds: &LedGrid) -> std::io::Result<bool> {
    let Some(size) = terminal_size() else { return Ok(false) };
    let mut s = screen();
    if s.interrupted {
        return Ok(true);
    }
    let mut bytes = String::new();
    if !s.live {
        s.live = true;
        s.colours = Colours::of_process();
        let _ = Hide.write_ansi(&mut bytes);
        watch_signals();
    }
    s.leds = Some(leds.clone());
    bytes.push_str(&s.draw(size));
    write_stdout(&bytes)?;
    Ok(true)
}

/// Ends the preview: the final picture stays, the cursor shows again below it.
pub fn finish() -> std::io::Result<()> {
    let bytes = screen().restore();
    write_stdout(&bytes)
}

/// Sets the caption's status part (the link state) and redraws.
pub fn set_status(status: &str) {
    let mut s = screen();
    if s.status == status {
        return;
    }
    s.status = status.to_owned();
    if s.live {
        if let Some(size) = terminal_size() {
            let bytes = s.draw(size);
            let _ = write_stdout(&bytes);
        }
    }
}

/// Writes a log line (or several) to stderr; while the picture is up on the same terminal,
/// above it.
pub fn write_log(text: &[u8]) -> std::io::Result<()> {
    let mut s = screen();
    let mut err = std::io::stderr().lock();
    if !(s.live && s.drawn_rows > 0 && std::io::stderr().is_terminal()) {
        return err.write_all(text);
    }
    let Some(size) = terminal_size() else { return err.write_all(text) };
    write_stdout(&erase_bytes(s.drawn_rows))?;
    s.drawn_rows = 0;
    err.write_all(text)?;
    err.flush()?;
    let bytes = s.draw(size);
    write_stdout(&bytes)
}

/// A `tracing_subscriber` writer that sends each log event through [`write_log`], so log
/// lines scroll above the picture instead of tearing it.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

/// One log event, written whole when dropped.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = write_log(&self.0);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}

/// Starts, once, the thread that redraws on SIGWINCH and restores the terminal on SIGINT
/// and SIGTERM.
///
/// A command with its own graceful shutdown (the daemon) also hears the signal and ends
/// the preview itself; one without (a scrolling `text`) would die with the cursor hidden.
/// So the thread restores the cursor at once and, if the process is still alive a moment
/// later, ends it as the signal's default action would.
fn watch_signals() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM, SIGWINCH};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGWINCH, SIGINT, SIGTERM]) else {
                return;
            };
            let _ = std::thread::Builder::new().name("terminal-signals".into()).spawn(move || {
                for signal in signals.forever() {
                    if signal == SIGWINCH {
                        let mut s = screen();
                        if let (true, Some(size)) = (s.live, terminal_size()) {
                            let bytes = s.draw(size);
                            let _ = write_stdout(&bytes);
                        }
                        continue;
                    }
                    let bytes = {
                        let mut s = screen();
                        s.interrupted = true;
                        s.restore()
                    };
                    let _ = write_stdout(&bytes);
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(w: u32, h: u32) -> LedGrid {
        LedGrid::from_fn(w, h, |x, y| if (x + y) % 3 == 0 { 1.0 } else { 0.0 })
    }

    /// What a line shows, escapes removed.
    fn visible(line: &str) -> String {
        let mut out = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn truecolour_only_when_the_terminal_says_so() {
        assert_eq!(Colours::from_env(None, Some("truecolor")), Colours::True);
        assert_eq!(Colours::from_env(None, Some("24bit")), Colours::True);
        assert_eq!(Colours::from_env(None, None), Colours::Palette256);
        assert_eq!(Colours::from_env(None, Some("yes")), Colours::Palette256);
        assert_eq!(Colours::from_env(Some("1"), Some("truecolor")), Colours::None);
        let leds = grid(4, 2);
        let palette = region(&leds, (80, 24), Colours::Palette256, "").concat();
        assert!(palette.contains("\x1b[38;5;") && !palette.contains("38;2;"), "{palette:?}");
        let truecolour = region(&leds, (80, 24), Colours::True, "").concat();
        assert!(truecolour.contains("\x1b[38;2;"), "{truecolour:?}");
    }

    #[test]
    fn the_palette_keeps_the_leds_apart() {
        assert_eq!(palette_index(0, 0, 0), 16);
        assert_eq!(palette_index(255, 0, 0), 196);
        assert_eq!(palette_index(8, 8, 8), 232);
        let lit = palette_index(Ink::Lit(15).rgb().0, Ink::Lit(15).rgb().1, Ink::Lit(15).rgb().2);
        let (r, g, b) = Ink::Lit(0).rgb();
        let dim = palette_index(r, g, b);
        let (r, g, b) = Ink::Unlit.rgb();
        let unlit = palette_index(r, g, b);
        let (r, g, b) = Ink::Board.rgb();
        let board = palette_index(r, g, b);
        let all = [lit, dim, unlit, board];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b, "{all:?}");
            }
        }
    }

    #[test]
    fn a_wide_terminal_gets_round_dots_and_the_caption() {
        let lines = region(&grid(32, 8), (80, 24), Colours::Palette256, "eslmatrix 32×8 · Ctrl-C to quit");
        assert_eq!(lines.len(), 9, "8 LED rows and the caption");
        assert_eq!(visible(&lines[0]).chars().filter(|&c| c == '●').count(), 32);
        assert_eq!(visible(&lines[8]), "eslmatrix 32×8 · Ctrl-C to quit");
        assert!(lines.iter().all(|l| visible(l).chars().count() < 80));
    }

    #[test]
    fn a_narrow_terminal_crops_with_a_note() {
        // 64 LEDs in 40 columns: half blocks, 39 LEDs shown, a note, the caption.
        let lines = region(&grid(64, 8), (40, 24), Colours::Palette256, "cap");
        assert_eq!(lines.len(), 4 + 2, "{lines:?}");
        assert_eq!(visible(&lines[0]).chars().count(), 39);
        assert_eq!(visible(&lines[4]), "⋯ 39 of 64 columns; widen the terminal");
        assert!(lines.iter().all(|l| visible(l).chars().count() < 40), "no line wraps");
        // Too few rows: the LED rows are cut, never the region taller than the screen.
        let short = region(&grid(8, 16), (80, 5), Colours::Palette256, "cap");
        assert!(short.len() < 5, "{short:?}");
        assert!(visible(&short[short.len() - 2]).contains("of 8×16 LEDs"), "{short:?}");
    }

    #[test]
    fn no_colour_draws_marks() {
        let lines = region(&grid(3, 2), (80, 24), Colours::None, "");
        assert_eq!(lines, ["# . .", ". . #"]);
    }

    #[test]
    fn redraws_overwrite_the_region_in_place() {
        let first = redraw_bytes(0, &["a".into(), "b".into()]);
        assert!(!first.contains("\x1b[2F") && first.contains("a\x1b[K\r\nb\x1b[K\r\n"), "{first:?}");
        let second = redraw_bytes(2, &["c".into()]);
        assert!(second.starts_with("\x1b[?2026h\x1b[2F\x1b[J"), "back to the first line: {second:?}");
        assert!(
            second.ends_with("c\x1b[K\r\n\x1b[J\x1b[?2026l"),
            "a shorter region clears below: {second:?}"
        );
    }
}
