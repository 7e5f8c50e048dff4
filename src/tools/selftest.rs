//! `selftest`: test patterns that make every kind of wiring or hardware fault visible,
//! each named so a person can say which one looked wrong.
//!
//! The patterns are pictures (plus the display-test register and intensity) computed from
//! the wiring, so the same code drives a virtual chain in tests and the real chain on a Pi.
//! How long each stays up is the [`Pace`]'s business: a person pressing Enter, a timer, or
//! nothing at all when the output is a file.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::modules::{draw_glyph, module_squares};
use crate::backend::{Output, OutputError};
use crate::driver::wiring::Wiring;
use crate::driver::Intensity;
use crate::render::lamps::{block_capacity, dot_capacity, FAINT_EVERY, FAST_BLINK, SLOW_BLINK};
use crate::render::{draw_text, text_width, Font, Frame, Lamp, LampField};

/// An arrow pointing up and right: a module mounted turned or mirrored shows it pointing
/// elsewhere, and a whole display turned shows every arrow turned alike.
pub const ARROW_UP_RIGHT: [u8; 8] = [0x00, 0x1E, 0x06, 0x0A, 0x12, 0x20, 0x40, 0x00];

/// One self-test picture sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Every LED through the chips' display-test register: no frame involved, so a dark
    /// LED here is a dead LED or a dead module, never a wiring setting.
    AllOn,
    /// Each module shows its chain index (0 = the module wired to the Pi).
    ChainIndex,
    /// An arrow up and to the right on every module.
    Arrows,
    /// One lit row moving down.
    RowSweep,
    /// One lit column moving right.
    ColumnSweep,
    /// Every LED lit at intensity 0 to 15, the level shown dark on the first module.
    Brightness,
    /// A checkerboard and its inverse, alternating: every LED toggles.
    Checkerboard,
    /// Busy-lamp field: every cell idle.
    BlfIdle,
    /// Every cell in a call.
    BlfInCall,
    /// Every cell ringing.
    BlfRinging,
    /// Every cell on hold.
    BlfHeld,
    /// Every cell not registered.
    BlfUnregistered,
    /// The cells in turn idle, in a call, ringing, on hold, not registered, in the layout a
    /// small PBX gets on this display.
    BlfPanel,
    /// One LED per extension on every LED of the display, row by row in the same turn.
    BlfDots,
}

/// The lamps in the order the BLF panels repeat them.
const PANEL_ORDER: [Lamp; 5] = [Lamp::Dark, Lamp::Lit, Lamp::FastBlink, Lamp::SlowBlink, Lamp::Faint];

/// The time step of a BLF pattern that blips (the shortest edge: a not-registered LED is on
/// for 100 ms of every 2 s, and every blink edge falls on it too).
const BLF_STEP: Duration = Duration::from_millis(25);

impl Pattern {
    /// Every pattern, in the order they run.
    pub const ALL: [Pattern; 7] = [
        Pattern::AllOn,
        Pattern::ChainIndex,
        Pattern::Arrows,
        Pattern::RowSweep,
        Pattern::ColumnSweep,
        Pattern::Brightness,
        Pattern::Checkerboard,
    ];

    /// The busy-lamp field's patterns (`selftest --blf`), in the order they run: each lamp on
    /// every cell in turn, then all of them side by side as labelled blocks and as dots.
    pub const BLF: [Pattern; 7] = [
        Pattern::BlfIdle,
        Pattern::BlfInCall,
        Pattern::BlfRinging,
        Pattern::BlfHeld,
        Pattern::BlfUnregistered,
        Pattern::BlfPanel,
        Pattern::BlfDots,
    ];

    /// The name `--only` takes and the golden files use.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::AllOn => "all-on",
            Pattern::ChainIndex => "chain-index",
            Pattern::Arrows => "arrows",
            Pattern::RowSweep => "row-sweep",
            Pattern::ColumnSweep => "column-sweep",
            Pattern::Brightness => "brightness",
            Pattern::Checkerboard => "checkerboard",
            Pattern::BlfIdle => "blf-idle",
            Pattern::BlfInCall => "blf-in-call",
            Pattern::BlfRinging => "blf-ringing",
            Pattern::BlfHeld => "blf-on-hold",
            Pattern::BlfUnregistered => "blf-not-registered",
            Pattern::BlfPanel => "blf-panel",
            Pattern::BlfDots => "blf-dots",
        }
    }

    /// What a person should see when all is well.
    pub fn expect(self) -> &'static str {
        match self {
            Pattern::AllOn => "every LED lit, bright and even; a dark LED or module is a hardware fault",
            Pattern::ChainIndex => {
                "each module shows its chain index, 0 on the module wired to the Pi, upright"
            }
            Pattern::Arrows => "every module shows an arrow pointing up and to the right",
            Pattern::RowSweep => "one full-width row moving from top to bottom, no gaps",
            Pattern::ColumnSweep => "one full-height column moving from left to right, no gaps",
            Pattern::Brightness => "the whole display brightening in 16 steps, the level on the first module",
            Pattern::Checkerboard => "a checkerboard that inverts: every LED blinks, no stuck rows",
            Pattern::BlfIdle => "idle: each block's digits lit on a dark block (one LED each: off)",
            Pattern::BlfInCall => "in a call: each block lit, its digits dark (one LED each: on)",
            Pattern::BlfRinging => "ringing: blinking fast, 125 ms lit, 125 ms dark",
            Pattern::BlfHeld => "on hold: blinking slowly, 500 ms lit, 500 ms dark",
            Pattern::BlfUnregistered => {
                "not registered: the digits on every other LED (one LED each: a 100 ms blip every 2 s)"
            }
            Pattern::BlfPanel => {
                "legend, cell by cell: idle, in a call, ringing, on hold, not registered, and again"
            }
            Pattern::BlfDots => {
                "one LED per extension, 64 per module, row by row: idle, in a call, ringing, on hold, \
                 not registered, and again"
            }
        }
    }

    /// How long one picture of an animated pattern stays up.
    pub fn step(self) -> Duration {
        match self {
            Pattern::RowSweep => Duration::from_millis(80),
            Pattern::ColumnSweep => Duration::from_millis(40),
            Pattern::Brightness => Duration::from_millis(200),
            Pattern::Checkerboard => Duration::from_millis(500),
            Pattern::BlfRinging => FAST_BLINK,
            Pattern::BlfHeld => SLOW_BLINK,
            Pattern::BlfUnregistered | Pattern::BlfPanel | Pattern::BlfDots => BLF_STEP,
            Pattern::AllOn
            | Pattern::ChainIndex
            | Pattern::Arrows
            | Pattern::BlfIdle
            | Pattern::BlfInCall => Duration::ZERO,
        }
    }

    /// The pictures, in order, for a display wired as `wiring` and normally driven at
    /// `intensity`.
    pub fn shots(self, wiring: &Wiring, intensity: Intensity) -> Vec<Shot> {
        let (w, h) = wiring.logical_size();
        let still = |frame| vec![Shot { frame, test: false, intensity }];
        match self {
            Pattern::AllOn => vec![Shot { frame: Frame::new(w, h), test: true, intensity }],
            Pattern::ChainIndex => still(chain_index_frame(wiring)),
            Pattern::Arrows => {
                let mut f = Frame::new(w, h);
                for sq in module_squares(wiring) {
                    draw_glyph(&mut f, sq.x, sq.y, &ARROW_UP_RIGHT);
                }
                still(f)
            }
            Pattern::RowSweep => (0..h)
                .map(|row| Shot { frame: lit_where(w, h, |_, y| y == row), test: false, intensity })
                .collect(),
            Pattern::ColumnSweep => (0..w)
                .map(|col| Shot { frame: lit_where(w, h, |x, _| x == col), test: false, intensity })
                .collect(),
            Pattern::Brightness => {
                let first = module_squares(wiring).first().copied();
                Intensity::all()
                    .map(|level| {
                        let mut dark = Frame::new(w, h);
                        if let Some(sq) = first {
                            draw_number(&mut dark, sq.x, sq.y, usize::from(level.get()));
                        }
                        let frame = lit_where(w, h, |x, y| !dark.get(x as i32, y as i32));
                        Shot { frame, test: false, intensity: level }
                    })
                    .collect()
            }
            Pattern::BlfIdle
            | Pattern::BlfInCall
            | Pattern::BlfRinging
            | Pattern::BlfHeld
            | Pattern::BlfUnregistered
            | Pattern::BlfPanel
            | Pattern::BlfDots => {
                let field = self.lamp_field(w, h);
                let step = self.step();
                // One cycle of every lamp (each period divides FAINT_EVERY), ending on its
                // first phase: a file backend keeps the last picture, which then shows the
                // blinking lamps lit.
                let count =
                    if step.is_zero() { 1 } else { (FAINT_EVERY.as_millis() / step.as_millis()) as u32 };
                let count = match self {
                    Pattern::BlfRinging | Pattern::BlfHeld => 2,
                    _ => count,
                };
                (1..=count)
                    .map(|k| {
                        let mut frame = Frame::new(w, h);
                        field.draw(&mut frame, step * k);
                        Shot { frame, test: false, intensity }
                    })
                    .collect()
            }
            Pattern::Checkerboard => [0, 1]
                .into_iter()
                .map(|phase| Shot {
                    frame: lit_where(w, h, |x, y| (x + y) % 2 == phase),
                    test: false,
                    intensity,
                })
                .collect(),
        }
    }
}

impl Pattern {
    /// The cells a BLF pattern shows on a `w`×`h` display: as many two-digit blocks as fit
    /// (at least five, one per lamp, in smaller blocks or dots if need be), or, for
    /// [`Pattern::BlfDots`], one extension per LED.
    pub fn lamp_field(self, w: u32, h: u32) -> LampField {
        let n = match self {
            Pattern::BlfDots => dot_capacity(w, h),
            _ => block_capacity(2, w, h).max(PANEL_ORDER.len()).min(dot_capacity(w, h)),
        };
        let extensions: std::sync::Arc<[String]> = (0..n).map(|i| (1000 + i).to_string()).collect();
        let lamps = (0..n)
            .map(|i| match self {
                Pattern::BlfIdle => Lamp::Dark,
                Pattern::BlfInCall => Lamp::Lit,
                Pattern::BlfRinging => Lamp::FastBlink,
                Pattern::BlfHeld => Lamp::SlowBlink,
                Pattern::BlfUnregistered => Lamp::Faint,
                // Row by row within each module.
                Pattern::BlfDots => PANEL_ORDER[(i % 64 / 8) % PANEL_ORDER.len()],
                _ => PANEL_ORDER[i % PANEL_ORDER.len()],
            })
            .collect();
        LampField { extensions, lamps }
    }
}

impl Pattern {
    /// For the BLF panels, which cell shows what on a `w`×`h` display, in the words a person
    /// reads it by: `"2-digit blocks: 00 idle, 01 in a call, …"`. `None` for other patterns.
    pub fn legend(self, w: u32, h: u32) -> Option<String> {
        let word = |l: Lamp| match l {
            Lamp::Dark => "idle",
            Lamp::Lit => "in a call",
            Lamp::FastBlink => "ringing",
            Lamp::SlowBlink => "on hold",
            Lamp::Faint => "not registered",
        };
        let field = self.lamp_field(w, h);
        match (self, crate::render::lamps::choose_layout(&field.extensions, w, h)) {
            (Pattern::BlfPanel, Some(crate::render::LampLayout::Blocks { chars })) => {
                let cells: Vec<String> = field
                    .extensions
                    .iter()
                    .zip(&field.lamps)
                    .map(|(e, l)| format!("{} {}", &e[e.len().saturating_sub(chars)..], word(*l)))
                    .collect();
                Some(format!("{chars}-digit blocks from the left: {}", cells.join(", ")))
            }
            (Pattern::BlfPanel | Pattern::BlfDots, Some(_)) => {
                let rows: Vec<String> =
                    (0..8).map(|r| format!("row {r} {}", word(PANEL_ORDER[r % 5]))).collect();
                let rows = if self == Pattern::BlfDots {
                    rows
                } else {
                    field.lamps.iter().enumerate().map(|(i, l)| format!("LED {i} {}", word(*l))).collect()
                };
                Some(format!("one LED each, 64 per module: {}", rows.join(", ")))
            }
            _ => None,
        }
    }
}

impl std::str::FromStr for Pattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::ALL.into_iter().chain(Pattern::BLF).find(|p| p.name() == s.trim()).ok_or_else(|| {
            let names: Vec<_> = Pattern::ALL.iter().chain(&Pattern::BLF).map(|p| p.name()).collect();
            format!("unknown pattern {s:?}: expected one of {}", names.join(", "))
        })
    }
}

/// One picture of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shot {
    /// The picture.
    pub frame: Frame,
    /// The display-test register, which lights everything regardless of the frame.
    pub test: bool,
    /// The intensity it shows at.
    pub intensity: Intensity,
}

fn lit_where(w: u32, h: u32, on: impl Fn(u32, u32) -> bool) -> Frame {
    let mut f = Frame::new(w, h);
    for y in 0..h {
        for x in 0..w {
            if on(x, y) {
                f.set(x as i32, y as i32, true);
            }
        }
    }
    f
}

/// Every module's chain index, drawn upright in its own square.
pub fn chain_index_frame(wiring: &Wiring) -> Frame {
    let (w, h) = wiring.logical_size();
    let mut f = Frame::new(w, h);
    for sq in module_squares(wiring) {
        draw_number(&mut f, sq.x, sq.y, sq.chain_index);
    }
    f
}

/// Draws `n` in the 8×8 square at `(x, y)`: two small digits fit, so hundreds are shown
/// as that many dots (at most eight) along the bottom row.
pub fn draw_number(frame: &mut Frame, x: u32, y: u32, n: usize) {
    let text = (n % 100).to_string();
    let tw = text_width(&text, Font::Small).min(8);
    draw_text(frame, &text, Font::Small, (x + (8 - tw).div_ceil(2)) as i32, y as i32);
    for dot in 0..(n / 100).min(8) {
        frame.set((x + dot as u32) as i32, (y + 7) as i32, true);
    }
}

/// How long each picture stays up, and when the person is done with a pattern.
pub trait Pace {
    /// A pattern starts.
    fn begin(&mut self, pattern: Pattern);
    /// The current picture is on the display. `step` is how long an animation frame
    /// stays up (`None` for a still pattern); `pass_done` says the animation has just
    /// shown its last picture. Returns true to move on to the next pattern.
    fn wait(&mut self, out: &mut Output, step: Option<Duration>, pass_done: bool) -> bool;
    /// Time since the self-test started, for the view's timestamps.
    fn now(&self) -> Duration;
}

/// No waiting, for outputs that are files: each pattern plays once and the view's clock
/// moves by `hold` per still picture, so a recording still shows each for that long.
pub struct Unpaced {
    /// How long each pattern (or animation pass) stays up.
    pub hold: Duration,
    clock: Duration,
}

impl Unpaced {
    /// Pacing of `hold` per pattern.
    pub fn new(hold: Duration) -> Self {
        Unpaced { hold, clock: Duration::ZERO }
    }
}

impl Pace for Unpaced {
    fn begin(&mut self, _: Pattern) {}
    fn wait(&mut self, _: &mut Output, step: Option<Duration>, pass_done: bool) -> bool {
        self.clock += step.unwrap_or(self.hold);
        pass_done
    }
    fn now(&self) -> Duration {
        self.clock
    }
}

/// Each pattern for at least `hold` of real time, animations looping until then.
pub struct Timed {
    /// How long each pattern stays up (never actually waited).
    pub hold: Duration,
    started: Instant,
    pattern_started: Instant,
}

impl Timed {
    /// No waiting; time advances by `hold` per pattern.
    pub fn new(hold: Duration) -> Self {
        let now = Instant::now();
        Timed { hold, started: now, pattern_started: now }
    }
}

impl Pace for Timed {
    fn begin(&mut self, _: Pattern) {
        self.pattern_started = Instant::now();
    }
    fn wait(&mut self, out: &mut Output, step: Option<Duration>, pass_done: bool) -> bool {
        let left = self.hold.saturating_sub(self.pattern_started.elapsed());
        match step {
            None => {
                sleep_while_open(out, left);
                true
            }
            Some(step) => {
                std::thread::sleep(step);
                (pass_done && self.pattern_started.elapsed() >= self.hold) || !out.is_open()
            }
        }
    }
    fn now(&self) -> Duration {
        self.started.elapsed()
    }
}

fn sleep_while_open(out: &Output, mut left: Duration) {
    while !left.is_zero() && out.is_open() {
        let nap = left.min(Duration::from_millis(100));
        std::thread::sleep(nap);
        left -= nap;
    }
}

/// Until the person presses Enter: `lines` yields one item per line read from the
/// terminal (a reader thread owns stdin, so animations keep running while it waits).
pub struct UntilEnter {
    lines: Receiver<()>,
    started: Instant,
}

impl UntilEnter {
    /// Advances on every line read from `lines`.
    pub fn new(lines: Receiver<()>) -> Self {
        UntilEnter { lines, started: Instant::now() }
    }
}

impl Pace for UntilEnter {
    fn begin(&mut self, _: Pattern) {
        // A line typed during the previous pattern's last picture must not skip this one.
        while self.lines.try_recv().is_ok() {}
    }
    fn wait(&mut self, out: &mut Output, step: Option<Duration>, _: bool) -> bool {
        // Poll so a closed window ends the wait too.
        let poll = step.unwrap_or(Duration::from_millis(100));
        let deadline = Instant::now() + poll;
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) if !out.is_open() => return true,
                Err(RecvTimeoutError::Timeout) if step.is_some() => return false,
                Err(RecvTimeoutError::Timeout) => continue,
            }
        }
    }
    fn now(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The self-test failed to drive the output.
#[derive(Debug, thiserror::Error)]
pub enum SelfTestError {
    #[error(transparent)]
    /// The output failed.
    Output(#[from] OutputError),
}

/// Shows `patterns` in order, paced by `pace`, then turns display test off and restores
/// the intensity it started with, leaving the last picture up (a file backend records it;
/// a live display is blanked by the caller). Returns each pattern's estimated peak current
/// in mA (see [`crate::driver::power`]): what the supply must carry.
pub fn run(
    out: &mut Output,
    patterns: &[Pattern],
    pace: &mut dyn Pace,
) -> Result<Vec<(Pattern, f64)>, SelfTestError> {
    let wiring = *out.wiring();
    let intensity = out.driver_mut().intensity();
    let mut test = false;
    let mut last = None;
    let mut peaks = Vec::new();
    for &pattern in patterns {
        pace.begin(pattern);
        let shots = pattern.shots(&wiring, intensity);
        let step = (shots.len() > 1).then(|| pattern.step());
        let mut i = 0;
        while let Some(shot) = shots.get(i % shots.len().max(1)) {
            put(out, shot, &mut test, pace.now())?;
            if i == 0 {
                // From the pattern's own first picture on: not the one before it, nor the
                // moments in between while the test register and intensity change.
                out.driver_mut().reset_peak();
            }
            last = Some(shot.frame.clone());
            i += 1;
            if pace.wait(out, step, i % shots.len() == 0) || !out.is_open() {
                break;
            }
        }
        peaks.push((pattern, out.driver_mut().peak_ma()));
    }
    let (w, h) = wiring.logical_size();
    let frame = last.unwrap_or_else(|| Frame::new(w, h));
    put(out, &Shot { frame, test: false, intensity }, &mut test, pace.now())?;
    Ok(peaks)
}

/// Puts one shot on the display, changing the test register and intensity only when they
/// differ from what the chips hold.
fn put(out: &mut Output, shot: &Shot, test: &mut bool, at: Duration) -> Result<(), OutputError> {
    if shot.test && out.driver_mut().budget().is_some() {
        // Display test ignores the intensity, so under a power budget every LED is lit
        // through the digit registers instead, where the budget can dim it.
        let mut lit = shot.frame.clone();
        lit.clear();
        lit.invert();
        return put(out, &Shot { frame: lit, test: false, intensity: shot.intensity }, test, at);
    }
    let mut redraw = false;
    if out.driver_mut().intensity() != shot.intensity {
        out.driver_mut().set_intensity(shot.intensity)?;
        redraw = true;
    }
    if *test != shot.test {
        out.driver_mut().set_test(shot.test)?;
        *test = shot.test;
        redraw = true;
    }
    let sent = out.show_at(&shot.frame, at)?;
    if redraw && sent.transactions == 0 {
        out.redraw_at(at)?;
    }
    Ok(())
}
