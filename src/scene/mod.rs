//! What to show now, as data: the scene picks a [`Cue`] (text plus style) from rotating pages
//! and queued alerts. No pixels here; the renderer draws the cue.
//!
//! The scene is a pure state machine on an explicit clock (`now`, a [`Duration`] since any
//! fixed origin, normally the daemon's start): the same inputs at the same times give the same
//! cues, whichever moments the caller happens to look. [`Scene::next_change`] says when the
//! cue will next differ, so the daemon sleeps exactly that long instead of polling.
//!
//! ```
//! use std::time::Duration;
//! use eslmatrix::scene::{Alert, CueKind, CueStyle, Priority, Scene, SceneConfig};
//! use eslmatrix::status::{LinkState, PbxStatus};
//! use tokio::time::Instant;
//!
//! let start = Instant::now();
//! let mut pbx = PbxStatus::new("office");
//! pbx.set_link(LinkState::Up);
//! let mut scene = Scene::new(SceneConfig::default());
//! scene.on_status(pbx.view(start), Duration::ZERO);
//! // Not refreshed yet: unknown figures show as `?`, marked stale.
//! assert_eq!(scene.current(Duration::ZERO).text, "?~ calls  ?~ reg  up ?~");
//!
//! let s = Duration::from_secs;
//! let hello = Alert { text: "Lunch!".into(), priority: Priority::Normal, duration: s(4), style: CueStyle::default() };
//! scene.on_alert(hello, s(1));
//! assert_eq!(scene.current(s(1)).kind, CueKind::Alert(Priority::Normal));
//! // The daemon sleeps until the cue changes, then draws again.
//! assert_eq!(scene.next_change(s(1)), Some(s(5)));
//! assert_eq!(scene.current(s(5)).kind, CueKind::Page);
//! ```
//!
//! # Rules
//!
//! * **Pages** rotate every `page_time` while no alert shows. A page whose server has no link
//!   shows the link state instead, because the display must never show figures it cannot
//!   vouch for: `CONNECTING`, `NO LINK 2m`, `AUTH FAILED`, `ACL DENIED`, `SHUTTING DOWN`
//!   (prefixed with the server name when the scene knows several servers). Figures not
//!   confirmed since the last reconnect carry the [`STALE_MARKER`] (`12~ calls`).
//! * **Alerts** show for their duration. A strictly higher priority alert preempts the one
//!   showing, which goes back to the head of its queue with the time it had left. Equal or
//!   lower priority alerts wait; the next one is the highest priority, oldest first.
//! * **Ringing calls share one alert and never wait their turn**: a call that starts ringing
//!   is on the display at once (in the wake-up its event brings, no render period later),
//!   whatever is showing except a strictly higher alert (a link failure). It joins the
//!   ringing alert if one is showing or waiting (`2 ringing: Bob (1002) → 1000, Alice (1001)
//!   → 1000`, newest first, at most three named, then `+N`; one call alone reads as before;
//!   it follows at most [`RINGING_MAX`] calls, the oldest leaving it beyond that),
//!   and that alert's time then runs from the newest call. With none, it preempts an alert of
//!   its own priority or lower and passes the page gap (but not a higher alert the gap holds:
//!   that one is first in line). The text changes only on news (a
//!   call joining or leaving), so it never alternates by itself: no flicker.
//! * **Alerts follow their call**: news about a call (ringing, answered, hung up; see
//!   [`Notice::call`]) replaces any alert about the same call at once, showing or waiting,
//!   whatever the priorities: `Alice (1001) → 1000` becomes `… : 486 Busy Here` the moment
//!   the hang-up arrives, and an alert about a call never outlives the call's end (when the
//!   outcome's kind is turned off, the call's alert simply ends). When other calls still ring
//!   on the same alert, the call leaves it at once and its news waits its turn as an alert of
//!   its own: a phone still ringing is more urgent than another call's outcome. Once a call's
//!   alert has run its time, later news about the call is a new alert under the usual rules.
//! * **Call news expires**: an answered or hung-up alert that has not started within its own
//!   duration of the event is dropped: by then it is history (the call view keeps it), and
//!   shown after the next call's alert it would read as that call's outcome.
//! * **Pages are never starved**: when an alert run ends (an alert and the news about its
//!   call that replaced it), the next page shows for a full `page_time` before any alert of
//!   the run's highest priority P or lower may start; only a strictly higher one may cut in,
//!   and only a priority above P preempts a run. The exceptions are urgent news: a call that
//!   starts ringing, a link that fails. They come once per call or outage, so when they stop
//!   coming, the pages are back within one alert run: a burst of calls holds the display for
//!   the ringing alert's time after the last of them, then pages and news take turns as
//!   before. A call gives at most three pieces of news, so with four priorities a bounded
//!   number of alerts can run back to back.
//!   After an alert the rotation moves on to the next page.
//! * **Link failures** raise the `link_down` alert (Critical by default) once per outage and
//!   discard every lower alert, waiting or showing: a ringing call the display can no longer
//!   follow is not news. Recovery raises `link_up`.
//! * **Bursts collapse**: at most `max_queued` alerts wait. Beyond that the oldest alert of
//!   the lowest waiting priority is dropped, and the next alert to start says how many were
//!   dropped with a `(+N more)` suffix.

pub mod alert;
pub mod template;

use std::time::Duration;

use serde::Deserialize;

pub use alert::{Alert, AlertRule, AlertRules, Priority};
pub use template::{compact_age, compact_uptime, Field, Rendered, Template, TemplateError, STALE_MARKER};

use std::sync::Arc;

use crate::render::{Align, Lamp, LampField};
/// Most extensions the busy-lamp field pages of one config show in all (one server's lamps).
pub use crate::status::lines::MAX_LINES;
use crate::status::{LineState, LinkView, Notice, StatusView};

/// When a cue's text scrolls: a policy, which the player turns into a
/// [`render::Scroll`](crate::render::Scroll) (the engine) when it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScrollPolicy {
    /// Scroll only if it does not fit.
    #[default]
    Auto,
    /// Always scroll.
    Always,
    /// Never scroll (clip).
    Never,
}

/// How a cue is drawn; a page's `style` table in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CueStyle {
    /// Scrolling.
    pub scroll: ScrollPolicy,
    /// Alignment of text that stands still; centred unless a page says otherwise.
    pub align: Align,
    /// Lit background, dark text.
    pub invert: bool,
    /// Blink.
    pub blink: bool,
    /// A frame blinks (a bar down each end of the display) while the text stays as it is:
    /// draws the eye and, unlike inverse video, keeps the text easy to read on LEDs.
    pub frame: bool,
}

impl Default for CueStyle {
    fn default() -> Self {
        CueStyle {
            scroll: ScrollPolicy::Auto,
            align: Align::Center,
            invert: false,
            blink: false,
            frame: false,
        }
    }
}

/// Whether a cue is a page or an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueKind {
    /// A rotating page (including a link-state page).
    Page,
    /// An alert of this priority.
    Alert(Priority),
}

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    /// The text.
    pub text: String,
    /// How to draw it.
    pub style: CueStyle,
    /// Page or alert.
    pub kind: CueKind,
    /// A busy-lamp field page draws these lamps instead of its text (which names the page
    /// in logs).
    pub lamps: Option<LampField>,
}

impl Cue {
    /// A text cue.
    pub fn text(text: impl Into<String>, style: CueStyle, kind: CueKind) -> Self {
        Cue { text: text.into(), style, kind, lamps: None }
    }
}

/// What a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageContent {
    /// Text from a template.
    Text(Template),
    /// A busy-lamp field of these extensions, in display order.
    Lamps(Arc<[String]>),
}

/// The text a busy-lamp field shows when its server's states cannot be vouched for: not
/// refreshed since the last reconnect, or the server gone quiet.
pub const LAMPS_STALE: &str = "BLF ?~";
/// The text a busy-lamp field shows when the states are not followed one by one (a PBX too
/// big to list, or more legs than the lamps follow).
pub const LAMPS_UNKNOWN: &str = "BLF ?";

/// The lamp an extension's state shows.
pub fn lamp_for(state: LineState) -> Lamp {
    match state {
        LineState::Unregistered => Lamp::Faint,
        LineState::Idle => Lamp::Dark,
        LineState::Held => Lamp::SlowBlink,
        LineState::InCall => Lamp::Lit,
        LineState::Ringing => Lamp::FastBlink,
    }
}

/// One page of the rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// What it shows.
    pub content: PageContent,
    /// How its text looks.
    pub style: CueStyle,
    /// Which server's view it shows; `None` is the first server the scene heard of.
    pub server: Option<String>,
}

impl Page {
    /// A text page with the default style, for the first server.
    pub fn new(template: Template) -> Self {
        Self { content: PageContent::Text(template), style: CueStyle::default(), server: None }
    }

    /// A busy-lamp field of `extensions`, for the first server.
    pub fn lamps(extensions: Arc<[String]>) -> Self {
        Self { content: PageContent::Lamps(extensions), style: CueStyle::default(), server: None }
    }
}

/// The page shown when the config has none.
pub const DEFAULT_TEMPLATE: &str = "{calls} calls  {registrations} reg  up {uptime}";

/// Scene settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneConfig {
    /// The rotation (empty means the default page).
    pub pages: Vec<Page>,
    /// How long each page shows; also the page gap after an alert.
    pub page_time: Duration,
    /// How many alerts may wait.
    pub max_queued: usize,
    /// How notices become alerts.
    pub alerts: AlertRules,
}

impl Default for SceneConfig {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            page_time: Duration::from_secs(5),
            max_queued: 3,
            alerts: AlertRules::default(),
        }
    }
}

#[derive(Debug, Clone)]
struct Waiting {
    alert: Alert,
    remaining: Duration,
    seq: u64,
    started: bool,
    /// The call the alert is news about, if any (the ringing alert names its calls in
    /// `ringing` instead).
    call: Option<String>,
    /// The ringing alert's calls, newest first, as (Unique-ID, label): every call ringing
    /// at once shares this one alert. Empty for any other alert.
    ringing: Vec<(String, String)>,
    /// Urgent news (a call ringing, a link failing): it passes the page gap and, until it
    /// has started, preempts an alert of its own priority.
    urgent: bool,
    /// Call news that has not started by this time is history and is dropped.
    expires: Option<Duration>,
}

impl Waiting {
    fn new(alert: Alert, seq: u64) -> Self {
        Waiting {
            remaining: alert.duration,
            alert,
            seq,
            started: false,
            call: None,
            ringing: Vec::new(),
            urgent: false,
            expires: None,
        }
    }

    fn is_about(&self, call: &str) -> bool {
        self.call.as_deref() == Some(call) || self.ringing.iter().any(|(id, _)| id == call)
    }

    /// Whether this is the ringing alert of several calls, `call` among them: news about
    /// one of them takes that call off the alert instead of replacing it.
    fn shares_ringing(&self, call: &str) -> bool {
        self.ringing.len() > 1 && self.ringing.iter().any(|(id, _)| id == call)
    }

    /// Takes `call` off the ringing alert's list and rewrites its text.
    fn leave_ringing(&mut self, call: &str) {
        self.ringing.retain(|(id, _)| id != call);
        self.alert.text = ringing_text(&self.ringing);
    }
}

/// Most calls the ringing alert names; it counts the rest.
const RINGING_NAMED: usize = 3;

/// Most calls the ringing alert follows: beyond it the oldest leave the alert (they were
/// announced when they rang), so a flood of CHANNEL_CREATE cannot grow it without bound.
pub const RINGING_MAX: usize = 100;

/// The ringing alert's text: one call's label alone, or the count and the newest calls.
fn ringing_text(calls: &[(String, String)]) -> String {
    if let [(_, one)] = calls {
        return one.clone();
    }
    let named: Vec<&str> = calls.iter().take(RINGING_NAMED).map(|(_, l)| l.as_str()).collect();
    let rest = calls.len().saturating_sub(RINGING_NAMED);
    let more = if rest > 0 { format!(" +{rest}") } else { String::new() };
    format!("{} ringing: {}{more}", calls.len(), named.join(", "))
}

#[derive(Debug, Clone)]
enum Showing {
    Page {
        since: Duration,
    },
    /// `run` is the highest priority shown since the last page, replacements included: the
    /// page gap and preemption go by it, so a call's quieter outcome cannot open the door to
    /// an endless chain of alerts.
    Alert {
        waiting: Waiting,
        ends_at: Duration,
        run: Priority,
    },
}

/// The scene state machine; see the module docs for its rules.
#[derive(Debug, Clone)]
pub struct Scene {
    pages: Vec<Page>,
    page_time: Duration,
    max_queued: usize,
    rules: AlertRules,
    /// Views by server, in the order first seen, with the time each was taken.
    views: Vec<(StatusView, Duration)>,
    /// Per server, the class of link failure last announced, so the growing age of one
    /// outage or a reconnect attempt does not alert again.
    announced: Vec<(String, u8)>,
    showing: Showing,
    page_index: usize,
    queue: Vec<Waiting>,
    /// After an alert of this priority ends, lower-or-equal ones wait until this time.
    gap: Option<(Priority, Duration)>,
    clock: Duration,
    seq: u64,
    dropped: u64,
}

impl Scene {
    /// A scene showing its first page from time zero.
    pub fn new(config: SceneConfig) -> Self {
        let mut pages = config.pages;
        if pages.is_empty() {
            if let Ok(t) = Template::parse(DEFAULT_TEMPLATE) {
                pages.push(Page::new(t));
            }
        }
        Self {
            pages,
            // A zero period would make rotation spin; a millisecond is below any display's
            // refresh anyway.
            page_time: config.page_time.max(Duration::from_millis(1)),
            max_queued: config.max_queued,
            rules: config.alerts,
            views: Vec::new(),
            announced: Vec::new(),
            showing: Showing::Page { since: Duration::ZERO },
            page_index: 0,
            queue: Vec::new(),
            gap: None,
            clock: Duration::ZERO,
            seq: 0,
            dropped: 0,
        }
    }

    /// The state of every link at `t` in the words the LEDs use (`LINK UP`, `CONNECTING`,
    /// `NO LINK 2m`, `AUTH FAILED`…), each prefixed with its server's name when there are
    /// several: the terminal preview's caption, which says it even while a page shows figures.
    pub fn link_state(&self, t: Duration) -> String {
        if self.views.is_empty() {
            return link_word(&LinkView::Connecting).to_owned();
        }
        let several = self.views.len() > 1;
        let states: Vec<String> = self
            .views
            .iter()
            .map(|(view, at)| {
                let state = match link_text(&view.link, t.saturating_sub(*at)) {
                    Some((text, _, _)) => text,
                    None => link_word(&view.link).to_owned(),
                };
                if several {
                    format!("{}: {state}", view.server)
                } else {
                    state
                }
            })
            .collect();
        states.join(" · ")
    }

    /// New figures for the server `view.server` (or the aggregate), taken at `now`.
    ///
    /// A link that fails (or recovers) also raises the `link_down` (`link_up`) alert once per
    /// outage, so the news does not wait for the alert on screen to run out.
    pub fn on_status(&mut self, view: StatusView, now: Duration) {
        self.advance(now);
        let now = self.clock;
        let link = view.link;
        let server = view.server.clone();
        match self.views.iter_mut().find(|(v, _)| v.server == view.server) {
            Some(slot) => *slot = (view, now),
            None => self.views.push((view, now)),
        }
        let class = link.severity().0;
        let prev = self.announced.iter().position(|(s, _)| *s == server);
        let prefix = if self.views.len() > 1 { format!("{server}: ") } else { String::new() };
        let alert = match (link, prev) {
            (LinkView::Up, Some(i)) => {
                self.announced.remove(i);
                self.rules.link_up.map(|r| r.make(format!("{prefix}LINK UP")))
            }
            (LinkView::Up | LinkView::Connecting, _) => None,
            (_, Some(i)) if self.announced[i].1 == class => None,
            (problem, prev) => {
                match prev {
                    Some(i) => self.announced[i].1 = class,
                    None => self.announced.push((server, class)),
                }
                // The alert is frozen text; the page carries the ticking age.
                let text = link_word(&problem);
                let alert = self.rules.link_down.map(|r| r.make(format!("{prefix}{text}")));
                if let Some(a) = &alert {
                    self.discard_below(a.priority, now);
                }
                alert
            }
        };
        if let Some(a) = alert {
            // A failure is urgent news; a recovery takes its turn.
            let urgent = link != LinkView::Up;
            self.seq += 1;
            self.enqueue(Waiting { urgent, ..Waiting::new(a, self.seq) });
        }
    }

    /// Queues an alert at `now` (it may start at once; see the module rules).
    pub fn on_alert(&mut self, alert: Alert, now: Duration) {
        self.advance(now);
        self.seq += 1;
        self.enqueue(Waiting::new(alert, self.seq));
    }

    fn enqueue(&mut self, waiting: Waiting) {
        let now = self.clock;
        self.queue.push(waiting);
        self.try_start(now);
        while self.queue.len() > self.max_queued {
            let victim =
                self.queue.iter().enumerate().min_by_key(|(_, w)| (w.alert.priority, w.seq)).map(|(i, _)| i);
            if let Some(i) = victim {
                self.queue.remove(i);
                self.dropped += 1;
            }
        }
    }

    /// Turns a status notice into an alert per the configured rules and queues it; news
    /// about a call replaces the alerts about that call (see the module rules).
    pub fn on_notice(&mut self, notice: &Notice, now: Duration) {
        let alert = self.rules.alert_for(notice);
        match (notice, notice.call()) {
            (Notice::Incoming(call), _) if alert.is_some() => {
                if let Some(alert) = alert {
                    self.ring(&call.uuid, alert, now);
                }
            }
            (_, Some(call)) => self.follow_call(call, alert, now),
            (_, None) => {
                if let Some(alert) = alert {
                    self.on_alert(alert, now);
                }
            }
        }
    }

    /// A call started ringing: it joins the ringing alert, or becomes one that shows at once
    /// (see the module rules).
    fn ring(&mut self, call: &str, alert: Alert, now: Duration) {
        self.advance(now);
        let now = self.clock;
        let on_showing = matches!(&self.showing, Showing::Alert { waiting, .. } if waiting.is_about(call));
        if on_showing || self.queue.iter().any(|w| w.ringing.iter().any(|(id, _)| id == call)) {
            // A repeated event: the call is on the display already, or about to be.
            return;
        }
        let label = (call.to_owned(), alert.text.clone());
        if let Showing::Alert { waiting, ends_at, run } = &mut self.showing {
            if !waiting.ringing.is_empty() {
                waiting.ringing.insert(0, label);
                waiting.ringing.truncate(RINGING_MAX);
                waiting.alert.text = ringing_text(&waiting.ringing);
                *ends_at = (*ends_at).max(now + alert.duration);
                *run = (*run).max(alert.priority);
                return;
            }
        }
        if let Some(w) = self.queue.iter_mut().find(|w| !w.ringing.is_empty()) {
            w.ringing.insert(0, label);
            w.ringing.truncate(RINGING_MAX);
            w.alert.text = ringing_text(&w.ringing);
            w.remaining = w.remaining.max(alert.duration);
            self.try_start(now);
            return;
        }
        // Older news about the call (none is expected before it rings) gives way.
        self.queue.retain(|w| !w.is_about(call));
        self.seq += 1;
        self.enqueue(Waiting { ringing: vec![label], urgent: true, ..Waiting::new(alert, self.seq) });
    }

    /// Puts `alert` (the latest news about `call`, or nothing) in the place of the alerts
    /// about that call.
    fn follow_call(&mut self, call: &str, alert: Option<Alert>, now: Duration) {
        self.advance(now);
        let now = self.clock;
        // Other calls still ringing keep their alert; only this call leaves it, and its news
        // waits its turn.
        let mut left_ringing = false;
        if let Showing::Alert { waiting, .. } = &mut self.showing {
            if waiting.shares_ringing(call) {
                waiting.leave_ringing(call);
                left_ringing = true;
            }
        }
        for w in self.queue.iter_mut().filter(|w| w.shares_ringing(call)) {
            w.leave_ringing(call);
            left_ringing = true;
        }
        let about = |w: &Waiting| w.is_about(call);
        let queued_seq = self.queue.iter().filter(|w| about(w)).map(|w| w.seq).min();
        self.queue.retain(|w| !about(w));
        if let Showing::Alert { waiting, run, .. } = &self.showing {
            if about(waiting) {
                let run = *run;
                match alert {
                    // A repeated event must not restart the alert's time.
                    Some(a) if a.text == waiting.alert.text => {}
                    Some(a) => {
                        self.seq += 1;
                        let run = run.max(a.priority);
                        // Set aside by a ringing call, it may come back only while it is news.
                        let expires = Some(now + a.duration);
                        let next = Waiting {
                            started: true,
                            call: Some(call.to_owned()),
                            expires,
                            ..Waiting::new(a, self.seq)
                        };
                        let ends_at = now + next.remaining;
                        self.showing = Showing::Alert { waiting: next, ends_at, run };
                    }
                    None => self.end_alert(now),
                }
                self.try_start(now);
                return;
            }
        }
        if let Some(a) = alert {
            // News about a call that was waiting keeps the place the call had in the queue.
            let seq = queued_seq.filter(|_| !left_ringing).unwrap_or_else(|| {
                self.seq += 1;
                self.seq
            });
            let expires = Some(now + a.duration);
            self.enqueue(Waiting { call: Some(call.to_owned()), expires, ..Waiting::new(a, seq) });
        }
    }

    /// What to show at `now`. Time never runs backwards: an earlier `now` than seen before
    /// reads as the latest time seen.
    pub fn current(&mut self, now: Duration) -> Cue {
        self.advance(now);
        self.cue_at(self.clock).0
    }

    /// Which page of the rotation is current (as of the last call that took a time), so the
    /// player can tell a page that moved on from a page whose figures changed.
    pub fn page_index(&self) -> usize {
        self.page_index
    }

    /// The next time after `now` at which [`current`](Self::current) will return a different
    /// cue if nothing new comes in; `None` if it never will.
    pub fn next_change(&mut self, now: Duration) -> Option<Duration> {
        self.advance(now);
        let (cue, mut tick) = self.cue_at(self.clock);
        let mut sim = self.clone();
        // Rotating through pages that happen to read the same is not a change; the bound
        // covers a rotation of identical pages, which never changes.
        for _ in 0..256 {
            let t = match (sim.next_transition(), tick) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b)?,
            };
            sim.advance(t);
            let (next, next_tick) = sim.cue_at(t);
            if next != cue {
                return Some(t);
            }
            tick = next_tick;
        }
        None
    }

    /// Drops every alert, waiting or showing, below `priority`: after a link failure the
    /// display can no longer follow the calls they are about.
    fn discard_below(&mut self, priority: Priority, now: Duration) {
        self.queue.retain(|w| w.alert.priority >= priority);
        if let Showing::Alert { waiting, .. } = &self.showing {
            if waiting.alert.priority < priority {
                self.showing = Showing::Page { since: now };
            }
        }
    }

    fn next_transition(&self) -> Option<Duration> {
        match &self.showing {
            Showing::Alert { ends_at, .. } => Some(*ends_at),
            Showing::Page { since } => {
                (self.pages.len() > 1 || !self.queue.is_empty()).then(|| *since + self.page_time)
            }
        }
    }

    /// Runs every transition due up to `now`, each at its exact time.
    fn advance(&mut self, now: Duration) {
        let now = now.max(self.clock);
        loop {
            // Idle rotation can span days; jump whole slots instead of stepping through them.
            if let Showing::Page { since } = &mut self.showing {
                if self.queue.is_empty() && now >= *since + self.page_time {
                    let period = self.page_time.as_nanos();
                    let slots = (now - *since).as_nanos() / period;
                    let n = self.pages.len().max(1) as u128;
                    self.page_index = ((self.page_index as u128 + slots) % n) as usize;
                    // At most `now - since`, so it fits a Duration.
                    let skip = slots * period;
                    *since += Duration::new((skip / 1_000_000_000) as u64, (skip % 1_000_000_000) as u32);
                    self.gap = None;
                }
            }
            match self.next_transition() {
                Some(t) if t <= now => self.transition(t),
                _ => break,
            }
        }
        self.clock = now;
    }

    /// The alert run showing ends at `t`: a page follows, with the gap rule.
    fn end_alert(&mut self, t: Duration) {
        if let Showing::Alert { run, .. } = &self.showing {
            self.gap = Some((*run, t + self.page_time));
            self.next_page(t);
        }
    }

    fn transition(&mut self, t: Duration) {
        match &self.showing {
            Showing::Alert { .. } => {
                self.end_alert(t);
                self.try_start(t);
            }
            Showing::Page { .. } => {
                if self.gap.is_some_and(|(_, until)| until <= t) {
                    self.gap = None;
                }
                if !self.try_start(t) {
                    self.next_page(t);
                }
            }
        }
    }

    fn next_page(&mut self, t: Duration) {
        self.page_index = (self.page_index + 1) % self.pages.len().max(1);
        self.showing = Showing::Page { since: t };
    }

    fn try_start(&mut self, t: Duration) -> bool {
        self.queue.retain(|w| w.expires.is_none_or(|e| e >= t));
        let gap = self.gap;
        // Urgent news passes the page gap, but not an alert above it held by the gap: that
        // one is first in line, and cutting in a moment later would be flicker.
        let top_held = self.queue.iter().map(|w| w.alert.priority).max();
        let allowed = |w: &Waiting| {
            let p = w.alert.priority;
            match &self.showing {
                Showing::Alert { run, .. } => p > *run || (w.urgent && !w.started && p >= *run),
                Showing::Page { .. } => {
                    gap.is_none_or(|(gp, until)| p > gp || until <= t)
                        || (w.urgent && top_held.is_none_or(|top| top <= p))
                }
            }
        };
        let Some((i, _)) = self
            .queue
            .iter()
            .enumerate()
            .filter(|(_, w)| allowed(w))
            .max_by_key(|(_, w)| (w.alert.priority, w.urgent, std::cmp::Reverse(w.seq)))
        else {
            return false;
        };
        let mut next = self.queue.remove(i);
        if let Showing::Alert { waiting, ends_at, .. } = &self.showing {
            let mut back = waiting.clone();
            back.remaining = ends_at.saturating_sub(t);
            if !back.remaining.is_zero() {
                self.queue.push(back);
            }
        }
        if !next.started {
            next.started = true;
            if self.dropped > 0 {
                next.alert.text = format!("{} (+{} more)", next.alert.text, self.dropped);
                self.dropped = 0;
            }
        }
        let ends_at = t + next.remaining;
        let run = next.alert.priority;
        self.showing = Showing::Alert { waiting: next, ends_at, run };
        true
    }

    /// The cue at `t` and, for a page whose text runs on the clock, when that text changes.
    fn cue_at(&self, t: Duration) -> (Cue, Option<Duration>) {
        match &self.showing {
            Showing::Alert { waiting, .. } => (
                Cue::text(
                    waiting.alert.text.clone(),
                    waiting.alert.style,
                    CueKind::Alert(waiting.alert.priority),
                ),
                None,
            ),
            Showing::Page { .. } => {
                let Some(page) = self.pages.get(self.page_index) else {
                    return (Cue::text(String::new(), CueStyle::default(), CueKind::Page), None);
                };
                let found = match &page.server {
                    Some(name) => self.views.iter().find(|(v, _)| &v.server == name),
                    None => self.views.first(),
                };
                let prefix =
                    |server: &str| if self.views.len() > 1 { format!("{server}: ") } else { String::new() };
                let page_cue = |text: String, style: CueStyle| Cue::text(text, style, CueKind::Page);
                let Some((view, at)) = found else {
                    let who = page.server.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
                    return (page_cue(format!("{who}CONNECTING"), CueStyle::default()), None);
                };
                let elapsed = t.saturating_sub(*at);
                if let Some((text, style, tick)) = link_text(&view.link, elapsed) {
                    return (page_cue(format!("{}{text}", prefix(&view.server)), style), tick.map(|d| t + d));
                }
                match &page.content {
                    PageContent::Text(template) => {
                        let r = template.render(view, elapsed);
                        (page_cue(r.text, page.style), r.changes_in.map(|d| t + d))
                    }
                    PageContent::Lamps(extensions) => (lamps_cue(extensions, view), None),
                }
            }
        }
    }
}

/// A busy-lamp field page's cue: the lamps when the view can vouch for them, else a word
/// saying why not (see [`LAMPS_STALE`], [`LAMPS_UNKNOWN`]).
fn lamps_cue(extensions: &Arc<[String]>, view: &StatusView) -> Cue {
    let plain = CueStyle::default();
    if view.stale {
        return Cue::text(LAMPS_STALE, plain, CueKind::Page);
    }
    let Some(states) = &view.lines else { return Cue::text(LAMPS_UNKNOWN, plain, CueKind::Page) };
    // An extension the link does not follow has no state to show: say so rather than guess.
    let Some(lamps) = extensions.iter().map(|e| states.get(e).map(lamp_for)).collect() else {
        return Cue::text(LAMPS_UNKNOWN, plain, CueKind::Page);
    };
    Cue {
        text: "BLF".into(),
        style: plain,
        kind: CueKind::Page,
        lamps: Some(LampField { extensions: extensions.clone(), lamps }),
    }
}

/// A link's state in the LEDs' words with its age (`LINK UP`, `CONNECTING`, `NO LINK 2m`,
/// `AUTH FAILED`…), for views beside the LEDs (the call view's status line) that must not
/// spell them differently.
pub fn link_words(link: &LinkView) -> String {
    link_text(link, Duration::ZERO).map_or_else(|| link_word(link).to_owned(), |(text, _, _)| text)
}

/// The words for a link state, without the age.
fn link_word(link: &LinkView) -> &'static str {
    match link {
        LinkView::Up => "LINK UP",
        LinkView::Connecting => "CONNECTING",
        LinkView::NoLink { .. } => "NO LINK",
        LinkView::AuthFailed => "AUTH FAILED",
        LinkView::AclDenied => "ACL DENIED",
        LinkView::ShuttingDown => "SHUTTING DOWN",
    }
}

/// The text for a link that is not up, its style, and when its text changes by the clock.
fn link_text(link: &LinkView, elapsed: Duration) -> Option<(String, CueStyle, Option<Duration>)> {
    let plain = CueStyle::default();
    // A link that is down is framed, as the alerts that must be seen are: legible, and
    // never mistaken for figures.
    let framed = CueStyle { frame: true, ..plain };
    // Failures that need a person to fix the config shout: the text blinks too.
    let alarm = CueStyle { frame: true, blink: true, ..plain };
    let word = link_word(link).to_owned();
    Some(match link {
        LinkView::Up => return None,
        LinkView::Connecting => (word, plain, None),
        LinkView::NoLink { down_for } => {
            let (age, tick) = compact_age(*down_for + elapsed);
            (format!("{word} {age}"), framed, Some(tick))
        }
        LinkView::AuthFailed | LinkView::AclDenied => (word, alarm, None),
        LinkView::ShuttingDown => (word, framed, None),
    })
}

#[cfg(test)]
mod tests;
