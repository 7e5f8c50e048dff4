//! The player: owns the [`Scene`] and draws its cue on an [`Output`], on tokio time.
//!
//! It sleeps until the next thing that changes the picture — the next scroll column, a
//! blink phase, the scene's next change (page rotation, an alert ending, a ticking
//! figure), a status update or a notice — and never polls otherwise. Status updates come
//! through `watch` channels, so a burst of events between two frames costs one render.
//!
//! Scrolling follows ESPHome's max7219digit, which many displays of this kind run: text
//! that does not fit starts left-aligned (its beginning is what identifies it), holds for
//! `delay`, then moves left at `speed` columns per second, either round and round
//! ([`ScrollMode::Continuous`]) or until its end reaches the right edge, where it holds for
//! `dwell` and starts over ([`ScrollMode::Stop`]). [`ScrollMode::Once`] is luma's
//! `show_message`: in from the right, out to the left, once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{sleep_until, Instant};

use crate::backend::Output;
use crate::render::{self, Blink, Effects, Font, Frame, Repeat, Scroll, Speed};
use crate::scene::{Cue, CueKind, Scene, ScrollPolicy};
use crate::status::{Aggregate, Notice, StatusView};

/// The name of the summed view when servers are summed.
pub const SUM_NAME: &str = "all";

/// With several servers: a page per server, or one page for their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// Each server has its own pages (prefixed with its name).
    #[default]
    Each,
    /// The servers' figures are added up into one view named [`SUM_NAME`].
    Sum,
}

/// Blank columns between the end of continuously scrolling text and its next start.
pub const DEFAULT_GAP: u32 = 8;

/// How long text that scrolls to its end holds there before it starts over.
pub const DEFAULT_DWELL: Duration = Duration::from_secs(1);

/// How text that does not fit moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollMode {
    /// Round and round, with `gap` blank columns between the end and the next start.
    Continuous {
        /// Blank columns between passes.
        gap: u32,
    },
    /// Until the end of the text reaches the right edge; hold `dwell`; start over.
    Stop {
        /// How long the end holds still.
        dwell: Duration,
    },
    /// In from the right, out to the left, then blank (luma's `show_message`).
    Once,
}

/// How the player draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerOptions {
    /// The font for every cue.
    pub font: Font,
    /// Scroll speed.
    pub speed: Speed,
    /// How text that does not fit moves.
    pub mode: ScrollMode,
    /// How long scrolling text holds still at its start before it moves.
    pub delay: Duration,
    /// Inverse video for everything (on top of a cue's own `invert`).
    pub invert: bool,
    /// The rhythm of blinking cues.
    pub blink: Blink,
    /// Re-send the chips' whole state this often, repairing modules that line noise
    /// corrupted (a MAX7219 has no way to report it).
    pub refresh_every: Option<Duration>,
    /// Blank and power down the LEDs on exit. Off by default: a display that goes dark
    /// whenever the daemon restarts looks broken.
    pub blank_on_exit: bool,
    /// How often to check whether the view was closed, for views that can be (a window).
    pub close_poll: Option<Duration>,
}

impl Default for PlayerOptions {
    fn default() -> Self {
        PlayerOptions {
            font: Font::Proportional8,
            speed: Speed::DAEMON,
            mode: ScrollMode::Continuous { gap: DEFAULT_GAP },
            delay: Duration::from_millis(1500),
            invert: false,
            blink: Blink { on: Duration::from_millis(500), off: Duration::from_millis(500) },
            refresh_every: None,
            blank_on_exit: false,
            close_poll: None,
        }
    }
}

/// What the player listens to: one status channel per server and the notices of all.
pub struct Inputs {
    /// The latest view of each server, in configuration order.
    pub status: Vec<watch::Receiver<StatusView>>,
    /// Every server's notices, in arrival order.
    pub notices: mpsc::Receiver<Notice>,
}

/// How one cue is drawn over time, from the moment it appeared.
#[derive(Debug, Clone)]
pub struct Animation {
    cue: Cue,
    scroll: Option<Scroll>,
    width: u32,
    height: u32,
    opts: PlayerOptions,
}

impl Animation {
    /// The animation of `cue` on a display `width` columns wide and one module tall.
    pub fn new(cue: Cue, width: u32, opts: PlayerOptions) -> Self {
        Self::for_display(cue, width, 8, opts)
    }

    /// The animation of `cue` on a display `width`×`height`: a busy-lamp field's layout
    /// depends on both.
    pub fn for_display(cue: Cue, width: u32, height: u32, opts: PlayerOptions) -> Self {
        let font = opts.font;
        let scrolls = cue.lamps.is_none()
            && match cue.style.scroll {
                ScrollPolicy::Always => true,
                ScrollPolicy::Never => false,
                ScrollPolicy::Auto => !render::fits(&cue.text, font, width),
            };
        let scroll = scrolls.then(|| {
            let repeat = match opts.mode {
                ScrollMode::Continuous { gap } => Repeat::Loop { gap },
                ScrollMode::Stop { dwell } => Repeat::StopAtEnd { dwell },
                ScrollMode::Once => Repeat::Once,
            };
            Scroll::new(render::render_text(&cue.text, font), width).with_repeat(repeat)
        });
        Animation { cue, scroll, width, height, opts }
    }

    /// The cue this animation draws.
    pub fn cue(&self) -> &Cue {
        &self.cue
    }

    /// Whether the text moves.
    pub fn scrolls(&self) -> bool {
        self.scroll.is_some()
    }

    /// The scroll step at `t` after the cue appeared, and when the step next changes
    /// (relative to the same origin).
    fn step_at(&self, scroll: &Scroll, t: Duration) -> (usize, Option<Duration>) {
        let speed = self.opts.speed.get();
        let start = self.width as usize;
        let at = |steps: usize| Duration::from_nanos((steps as f64 * 1e9 / speed).ceil() as u64);
        // The small allowance keeps a wake-up computed by `at` from flooring one step short.
        let columns = |d: Duration| (d.as_nanos() as f64 * speed / 1e9 + 1e-6).floor() as usize;
        match self.opts.mode {
            ScrollMode::Once => {
                let last = scroll.steps() - 1;
                let k = columns(t).min(last);
                (k, (k < last).then(|| at(k + 1)))
            }
            ScrollMode::Continuous { .. } => {
                let cycle = scroll.cycle_steps();
                let period = self.opts.delay + at(cycle);
                let (base, r) = split(t, period);
                if r < self.opts.delay {
                    return (start % cycle, Some(base + self.opts.delay));
                }
                let k = columns(r - self.opts.delay).min(cycle - 1);
                ((start + k) % cycle, Some(base + self.opts.delay + at(k + 1)))
            }
            ScrollMode::Stop { dwell } => {
                let travel = scroll.end_at_right_step().saturating_sub(start);
                let moving = at(travel);
                let period = self.opts.delay + moving + dwell;
                if travel == 0 {
                    return (start.min(scroll.end_at_right_step()), None);
                }
                let (base, r) = split(t, period);
                if r < self.opts.delay {
                    return (start, Some(base + self.opts.delay));
                }
                if r < self.opts.delay + moving {
                    let k = columns(r - self.opts.delay).min(travel);
                    return (start + k, Some(base + self.opts.delay + at(k + 1)));
                }
                (start + travel, Some(base + period))
            }
        }
    }

    /// Draws the picture `t` after the cue appeared.
    pub fn draw(&self, t: Duration, frame: &mut Frame) {
        match (&self.cue.lamps, &self.scroll) {
            (Some(lamps), _) => lamps.draw(frame, t),
            (None, Some(scroll)) => scroll.step(self.step_at(scroll, t).0, frame),
            (None, None) => render::draw_aligned(frame, &self.cue.text, self.opts.font, self.cue.style.align),
        }
        let effects = Effects {
            inverse: self.cue.style.invert != self.opts.invert,
            blink: self.cue.style.blink.then_some(self.opts.blink),
            frame: self.cue.style.frame.then_some(self.opts.blink),
        };
        effects.apply(frame, t);
    }

    /// When, after the cue appeared, the picture next changes by itself: the next scroll
    /// column or blink phase (of the text or its frame). `None` for a still picture.
    pub fn next_change(&self, t: Duration) -> Option<Duration> {
        if let Some(lamps) = &self.cue.lamps {
            return lamps.next_change(self.width, self.height, t);
        }
        let scroll = self.scroll.as_ref().and_then(|s| self.step_at(s, t).1);
        let blinks = self.cue.style.blink || self.cue.style.frame;
        let blink = blinks.then(|| {
            let b = self.opts.blink;
            let period = b.on + b.off;
            let (base, r) = split(t, period);
            if r < b.on {
                base + b.on
            } else {
                base + period
            }
        });
        match (scroll, blink) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `t` as whole periods (their start) plus the remainder.
fn split(t: Duration, period: Duration) -> (Duration, Duration) {
    let p = period.as_nanos();
    if p == 0 {
        return (t, Duration::ZERO);
    }
    let r = t.as_nanos() % p;
    let r = Duration::from_nanos(r as u64);
    (t - r, r)
}

/// The cue on display and when it appeared.
struct OnDisplay {
    animation: Animation,
    page_index: usize,
    since: Duration,
}

/// The display loop; see the module docs.
pub struct Player {
    scene: Scene,
    opts: PlayerOptions,
    combine: Combine,
    showing: Option<OnDisplay>,
    /// The scene's next change, cached: computing it simulates the scene forward.
    scene_next: Option<Option<Duration>>,
    frame: Frame,
    bus_failing: bool,
    frames: u64,
}

impl Player {
    /// A player for `scene`, drawing with `opts`; `combine` says how several servers' views meet.
    pub fn new(scene: Scene, opts: PlayerOptions, combine: Combine) -> Self {
        Player {
            scene,
            opts,
            combine,
            showing: None,
            scene_next: None,
            frame: Frame::new(0, 0),
            bus_failing: false,
            frames: 0,
        }
    }

    /// Frames drawn so far (each a render; the driver sends only what changed).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// New figures from the status channels that changed (all of them when `all`).
    fn ingest(&mut self, status: &mut [watch::Receiver<StatusView>], all: bool, now: Duration) {
        match self.combine {
            Combine::Each => {
                for rx in status.iter_mut() {
                    if all || rx.has_changed().unwrap_or(false) {
                        let view = rx.borrow_and_update().clone();
                        self.scene.on_status(view, now);
                    }
                }
            }
            Combine::Sum => {
                let changed = status.iter().any(|rx| rx.has_changed().unwrap_or(false));
                if all || changed {
                    let views: Vec<StatusView> =
                        status.iter_mut().map(|rx| rx.borrow_and_update().clone()).collect();
                    self.scene.on_status(Aggregate::combine(SUM_NAME, &views), now);
                }
            }
        }
        self.scene_next = None;
    }

    fn notice(&mut self, notice: &Notice, now: Duration) {
        self.scene.on_notice(notice, now);
        self.scene_next = None;
    }

    /// Draws the scene's cue at `now` and returns when to draw next, if nothing comes in.
    pub fn draw(&mut self, out: &mut Output, now: Duration) -> Option<Duration> {
        let (width, height) = out.wiring().logical_size();
        if self.frame.width() != width || self.frame.height() != height {
            self.frame = Frame::new(width, height);
        }
        let cue = self.scene.current(now);
        let page_index = self.scene.page_index();
        let restart = match &self.showing {
            None => true,
            Some(s) => {
                let was = s.animation.cue();
                // A page whose figures tick keeps scrolling where it was; a new page or a
                // new alert starts from its beginning.
                was.kind != cue.kind
                    || (matches!(cue.kind, CueKind::Page) && s.page_index != page_index)
                    || (matches!(cue.kind, CueKind::Alert(_)) && was.text != cue.text)
            }
        };
        match &mut self.showing {
            Some(s) if !restart => {
                if s.animation.cue() != &cue {
                    s.animation = Animation::for_display(cue, width, height, self.opts);
                }
                s.page_index = page_index;
            }
            _ => {
                tracing::debug!(text = %cue.text, kind = ?cue.kind, "cue");
                self.showing = Some(OnDisplay {
                    animation: Animation::for_display(cue, width, height, self.opts),
                    page_index,
                    since: now,
                });
            }
        }
        out.set_status(&self.scene.link_state(now));
        let Some(showing) = &self.showing else { return None };
        let t = now.saturating_sub(showing.since);
        showing.animation.draw(t, &mut self.frame);
        self.frames += 1;
        match out.show_at(&self.frame, now) {
            Ok(_) => self.bus_failing = false,
            Err(e) => {
                if !self.bus_failing {
                    tracing::warn!("display: {e}");
                }
                self.bus_failing = true;
            }
        }
        let own = showing.animation.next_change(t).map(|d| showing.since + d);
        if self.scene_next.is_none_or(|n| n.is_some_and(|n| n <= now)) {
            self.scene_next = Some(self.scene.next_change(now));
        }
        let scene_next = self.scene_next.flatten();
        match (own, scene_next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs until `shutdown` resolves or the view is closed. Time is measured from the call.
    pub async fn run(&mut self, out: &mut Output, inputs: Inputs, shutdown: impl Future<Output = ()>) {
        let origin = Instant::now();
        let Inputs { mut status, mut notices } = inputs;
        // One forwarder per server turns "this channel changed" into one wake-up; the
        // permit a Notify stores is what coalesces a burst.
        let wake = Arc::new(Notify::new());
        let mut forwarders = Vec::new();
        for rx in &status {
            let mut rx = rx.clone();
            let wake = wake.clone();
            forwarders.push(tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    wake.notify_one();
                }
            }));
        }
        self.ingest(&mut status, true, Duration::ZERO);
        let mut notices_open = true;
        let mut next_refresh = self.opts.refresh_every.map(|every| origin + every);
        tokio::pin!(shutdown);
        loop {
            let now = origin.elapsed();
            let next = self.draw(out, now);
            if !out.is_open() {
                break;
            }
            let mut wake_at = next.map(|n| origin + n);
            for extra in
                [next_refresh, self.opts.close_poll.map(|p| Instant::now() + p)].into_iter().flatten()
            {
                wake_at = Some(wake_at.map_or(extra, |w| w.min(extra)));
            }
            let sleep = async {
                match wake_at {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = sleep => {}
                _ = wake.notified() => {
                    let now = origin.elapsed();
                    self.ingest(&mut status, false, now);
                }
                n = notices.recv(), if notices_open => match n {
                    Some(n) => {
                        let now = origin.elapsed();
                        self.notice(&n, now);
                        // Everything already queued goes into the same frame.
                        while let Ok(n) = notices.try_recv() {
                            self.notice(&n, now);
                        }
                    }
                    None => notices_open = false,
                },
            }
            if let Some(at) = next_refresh {
                if Instant::now() >= at {
                    if let Err(e) = out.driver_mut().refresh() {
                        tracing::warn!("display refresh: {e}");
                    }
                    next_refresh = self.opts.refresh_every.map(|every| Instant::now() + every);
                }
            }
        }
        for f in forwarders {
            f.abort();
        }
        if self.opts.blank_on_exit {
            let blank = Frame::new(self.frame.width(), self.frame.height());
            let _ = out.show_at(&blank, origin.elapsed());
            if let Err(e) = out.driver_mut().set_power(false) {
                tracing::warn!("display power off: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests;
