//! The HIL story kit: a mock FreeSWITCH, the whole daemon against it on a virtual chain,
//! and a script that acts on the mock and waits for what the display shows, all under
//! paused tokio time. A story reads as its script:
//!
//! ```ignore
//! let story = story(&["{calls} calls"]).phones().start().await;
//! let pbx = story.pbx();
//! let (rec, _) = story.play_from(page("0 calls"), || async move {
//!     pbx.start_call("1001", "1000", Some("Alice")).unwrap();
//!     sleep(SECS(3)).await;
//! }).await;
//! ```
//!
//! A story whose golden lists each picture with its time plays [`Story::play_timed`]: its
//! script gets a [`Watch`] (the recording and the clock the pictures are timed on), and the
//! [`Played`] story lists what was seen from the moment the script marked as its start.
//!
//! Paused time jumps to the next timer whenever the runtime has nothing to do, and the
//! runtime has nothing to do while loopback bytes are still on their way through the kernel
//! (more often the busier the machine). [`Story::play`] therefore runs a checkpoint task
//! beside the daemon: no jump goes past the next checkpoint, and at each one the clock is
//! held (a blocking task inhibits auto-advance) for a moment of real time, so bytes in flight
//! land before time moves on. Stories then need no lock against each other: neither
//! tests/daemon_hil.rs nor tests/daemon_truth.rs takes one, although the daemon still reaches
//! the mock over loopback TCP (the freeswitch-esl-tokio client connects only by a
//! `TcpStream`, so no in-process transport can stand in).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eslmatrix::app::daemon;
use eslmatrix::app::link::LinkStats;
use eslmatrix::app::recording::{sequence_text, Recording, Shot};
use eslmatrix::backend::{virtual_chain, Bus, Output};
use eslmatrix::config::Config;
use eslmatrix::render::{render_aligned, Align, Font};
use eslmatrix_sim::fs::fault::FaultControl;
use eslmatrix_sim::fs::pbx::{Pbx, Transport};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::time::{sleep, Instant};

/// How far paused time may jump at once.
const CHECKPOINT: Duration = Duration::from_millis(5);

/// Real time the clock is held at each checkpoint, for loopback bytes to land.
const LANDING: Duration = Duration::from_micros(50);

/// Columns of the story display: 16 modules, so every text of these stories fits and stands
/// still, and a golden sequence lists pictures, not scroll steps.
pub const WIDTH: u32 = 128;

/// A story display: the small font, centred, on one row of modules `width` columns wide.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    width: u32,
}

/// The usual story display, [`WIDTH`] columns.
pub const NARROW: Screen = Screen { width: WIDTH };

/// 32 modules: wide enough for a call and its outcome on one picture.
pub const WIDE: Screen = Screen { width: 256 };

/// A display of `width` columns (whole modules), one module tall.
pub const fn screen(width: u32) -> Screen {
    Screen { width }
}

impl Screen {
    /// `text` as this display shows a page.
    pub fn page(self, text: &str) -> Vec<String> {
        render_aligned(text, Font::Small, self.width, 8, Align::Center).to_rows()
    }

    /// `text` between the bars its frame blinks at both ends, as alerts that must be seen
    /// and a link that is down show (the frame's off phase is [`Screen::page`]).
    pub fn framed(self, text: &str) -> Vec<String> {
        let mut f = render_aligned(text, Font::Small, self.width, 8, Align::Center);
        let w = self.width as i32;
        for y in 0..8 {
            for (x, on) in [(0, true), (1, false), (w - 2, false), (w - 1, true)] {
                f.set(x, y, on);
            }
        }
        f.to_rows()
    }
}

/// A story being set up: its pages, config extras and mock.
pub struct Setup {
    pages: Vec<String>,
    extra: String,
    server: String,
    screen: Screen,
    password: String,
    phones: bool,
    mock: MockConfig,
}

/// A story showing `pages` (templates), one server, the small font on [`WIDTH`] columns.
pub fn story(pages: &[&str]) -> Setup {
    Setup {
        pages: pages.iter().map(|p| (*p).to_owned()).collect(),
        extra: String::new(),
        server: String::new(),
        screen: NARROW,
        password: "ClueCon".into(),
        phones: false,
        mock: MockConfig::default(),
    }
}

impl Setup {
    /// Three phones registered before the daemon starts: two desk phones, one WebRTC.
    pub fn phones(mut self) -> Self {
        self.phones = true;
        self
    }

    /// The password the daemon logs in with.
    pub fn password(mut self, password: &str) -> Self {
        password.clone_into(&mut self.password);
        self
    }

    /// More config text after the pages (alert or link tables).
    pub fn config(mut self, extra: &str) -> Self {
        extra.clone_into(&mut self.extra);
        self
    }

    /// More keys of the one `[[server]]` table.
    pub fn server(mut self, keys: &str) -> Self {
        keys.clone_into(&mut self.server);
        self
    }

    /// The display, [`NARROW`] unless told.
    pub fn screen(mut self, screen: Screen) -> Self {
        self.screen = screen;
        self
    }

    /// The mock's own settings.
    pub fn mock(mut self, mock: MockConfig) -> Self {
        self.mock = mock;
        self
    }

    /// Starts the mock and checks the daemon's config.
    pub async fn start(self) -> Story {
        let fs = MockFreeSwitch::start(self.mock).await.expect("mock starts");
        let addr = fs.addr();
        let pages: String = self.pages.iter().map(|p| format!("[[page]]\ntemplate = {p:?}\n")).collect();
        let text = format!(
            "page_time = \"5s\"\n\
             [[server]]\nname = \"pbx\"\nhost = \"{}\"\nport = {}\npassword = {:?}\n{}\
             [display]\nmodules = \"{}x1\"\nfont = \"small\"\n\
             {pages}{}",
            addr.ip(),
            addr.port(),
            self.password,
            self.server,
            self.screen.width / 8,
            self.extra,
        );
        let mut config = Config::parse(&text, None).expect("story config is valid");
        config.daemon.link.jitter_seed = Some(42);
        if self.phones {
            let pbx = fs.pbx();
            pbx.register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
            pbx.register("1001", Transport::Udp, "Polycom VVX").unwrap();
            pbx.register("1002", Transport::Wss, "SIP.js/0.21").unwrap();
        }
        Story { fs, config, screen: self.screen }
    }
}

/// A mock and a daemon config, ready to play a script.
pub struct Story {
    fs: MockHandle,
    config: Config,
    screen: Screen,
}

impl Story {
    /// The mock's PBX, for the script to act on.
    pub fn pbx(&self) -> Pbx {
        self.fs.pbx().clone()
    }

    /// The mock itself (its SIP bindings' addresses, say).
    pub fn mock(&self) -> &MockHandle {
        &self.fs
    }

    /// The mock's fault switchboard.
    pub fn faults(&self) -> FaultControl {
        self.fs.faults().clone()
    }

    /// Runs the daemon until `script` ends; returns what the LEDs showed and the links'
    /// stats. The script gets the recording, to wait for what the display shows.
    pub async fn play<F: Future<Output = ()>>(
        &self,
        script: impl FnOnce(Recording) -> F,
    ) -> (Recording, Vec<LinkStats>) {
        self.run(|watch| script(watch.rec.clone())).await
    }

    /// [`Story::play`] with a script that starts once the display has shown `first`: what
    /// the display shows, not a clock reading, starts every story, so a slow connect cannot
    /// reorder it.
    pub async fn play_from<F: Future<Output = ()>>(
        &self,
        first: Vec<String>,
        script: impl FnOnce() -> F,
    ) -> (Recording, Vec<LinkStats>) {
        self.play(|rec| async move {
            until_shown(&rec, &first).await;
            script().await;
        })
        .await
    }

    /// [`Story::play_from`] for a story told with times: the script gets a [`Watch`], and
    /// the times of [`Played::seen`] count from the moment `first` showed, or from the last
    /// [`Watch::mark_start`].
    pub async fn play_timed<F: Future<Output = ()>>(
        &self,
        first: Vec<String>,
        script: impl FnOnce(Watch) -> F,
    ) -> Played {
        let mut marks = None;
        let (rec, stats) = self
            .run(|watch| {
                marks = Some(watch.start.clone());
                async move {
                    until_shown(&watch.rec, &first).await;
                    watch.mark_start();
                    script(watch).await;
                }
            })
            .await;
        let start = marks.map_or(Duration::ZERO, |m| *m.lock().expect("start mark"));
        Played { rec, stats, start, screen: self.screen }
    }

    async fn run<F: Future<Output = ()>>(
        &self,
        script: impl FnOnce(Watch) -> F,
    ) -> (Recording, Vec<LinkStats>) {
        let rec = Recording::new();
        let wiring = self.config.wiring;
        let chain = virtual_chain(&wiring).expect("chain");
        let mut out =
            Output::with_bus(Bus::Chain(chain), rec.view(), wiring, self.config.intensity).expect("output");
        // The recording times its pictures from the output's opening: this same instant of
        // paused time.
        let watch = Watch { rec: rec.clone(), origin: Instant::now(), start: Arc::default() };
        let clock = tokio::spawn(checkpoints());
        let stats = daemon::run(&self.config.daemon, &mut out, script(watch)).await;
        clock.abort();
        (rec, stats)
    }
}

/// What a timed script sees: the recording and the clock its pictures are timed on.
#[derive(Clone)]
pub struct Watch {
    rec: Recording,
    origin: Instant,
    start: Arc<Mutex<Duration>>,
}

impl Watch {
    /// Time since the output opened, the clock of every picture.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The story's times count from now.
    pub fn mark_start(&self) {
        *self.start.lock().expect("start mark") = self.now();
    }

    /// Waits until the display has shown `rows`.
    pub async fn until_shown(&self, rows: &[String]) {
        until_shown(&self.rec, rows).await;
    }

    /// Waits until the display shows `rows` at or after `since` ([`Watch::now`]'s clock);
    /// returns when it did.
    pub async fn until_shown_after(&self, rows: &[String], since: Duration) -> Duration {
        for _ in 0..60_000 {
            if let Some(s) = self.rec.shots().iter().find(|s| s.at >= since && s.rows == rows) {
                return s.at;
            }
            sleep(Duration::from_millis(10)).await;
        }
        panic!("the display never showed {rows:#?} after {since:?}");
    }
}

/// A story played with times.
pub struct Played {
    /// Every picture the LEDs showed.
    pub rec: Recording,
    /// The links' stats.
    pub stats: Vec<LinkStats>,
    /// When the story started, on [`Watch::now`]'s clock.
    pub start: Duration,
    screen: Screen,
}

impl Played {
    /// The pictures a person could have seen from the start on (pictures replaced within
    /// the same instant never reached an eye), each with its time since the start; the
    /// picture on display at the start counts from it.
    pub fn seen(&self) -> Vec<(Duration, Vec<String>)> {
        let shots: Vec<Shot> = self.rec.shots();
        let from = self.start;
        let mut out: Vec<(Duration, Vec<String>)> = Vec::new();
        for (i, s) in shots.iter().enumerate() {
            let lasted = shots.get(i + 1).is_none_or(|next| next.at > s.at);
            let on_at_start = shots.get(i + 1).is_none_or(|next| next.at > from);
            if !lasted || (s.at < from && !on_at_start) {
                continue;
            }
            if out.last().map(|(_, r)| r) != Some(&s.rows) {
                out.push((s.at.saturating_sub(from), s.rows.clone()));
            }
        }
        out
    }

    /// When `rows` first showed, counted from the start.
    pub fn shown_at(&self, rows: &[String]) -> Option<Duration> {
        self.seen().into_iter().find(|(_, r)| r == rows).map(|(at, _)| at)
    }

    /// [`Played::seen`] as a golden's text: each picture with its time, named by the first
    /// of `texts` it shows (as a page or framed), so the golden reads as the story.
    pub fn timeline(&self, texts: &[String]) -> String {
        let mut out = String::new();
        for (i, (at, rows)) in self.seen().iter().enumerate() {
            let name = texts.iter().find_map(|t| {
                (self.screen.page(t) == *rows)
                    .then(|| t.clone())
                    .or_else(|| (self.screen.framed(t) == *rows).then(|| format!("{t} (framed)")))
            });
            let name = name.map(|n| format!(": {n}")).unwrap_or_default();
            out.push_str(&format!("#{i} at +{:.3}s{name}\n", at.as_secs_f64()));
            for r in rows {
                out.push_str(r);
                out.push('\n');
            }
        }
        out
    }
}

pub async fn checkpoints() {
    loop {
        sleep(CHECKPOINT).await;
        let _ = tokio::task::spawn_blocking(|| std::thread::sleep(LANDING)).await;
    }
}

/// Waits (in tokio time) until the display has shown `rows`. Stories start from what the
/// display shows, not from a clock reading, so a slow connect cannot reorder them.
pub async fn until_shown(rec: &Recording, rows: &[String]) {
    for _ in 0..12_000 {
        if rec.showed(rows) {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("the display never showed {rows:#?}");
}

/// Waits (real time, at most `bound`: real processes such as SIPp or a browser drive the
/// mock) until a picture after the first `after` ones (what the display showed before the
/// step that should change it) is one of `candidates`; says what it showed if not. Returns
/// the count of pictures so far, for the next step.
pub async fn until_one_of(
    rec: &Recording,
    candidates: &[impl AsRef<[String]>],
    what: &str,
    after: usize,
    bound: Duration,
) -> usize {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        let shots = rec.shots();
        if shots.iter().skip(after).any(|s| candidates.iter().any(|c| c.as_ref() == s.rows)) {
            return shots.len();
        }
        sleep(Duration::from_millis(20)).await;
    }
    let wanted: Vec<String> = candidates.iter().map(|c| c.as_ref().join("\n")).collect();
    let shown: Vec<String> = rec.distinct().iter().map(|r| r.join("\n")).collect();
    panic!(
        "the display never showed {what}:\n{}\nit showed:\n{}",
        wanted.join("\n\nor\n\n"),
        shown.join("\n\n")
    );
}

/// The pictures a person could have seen, in order, each change once: pictures replaced
/// within the same instant of tokio time never reached an eye.
pub fn seen(rec: &Recording) -> String {
    sequence_text(&pictures(rec))
}

/// [`seen`] as pictures.
pub fn pictures(rec: &Recording) -> Vec<Vec<String>> {
    let shots = rec.shots();
    let mut pictures: Vec<Vec<String>> = Vec::new();
    for (i, s) in shots.iter().enumerate() {
        let lasted = shots.get(i + 1).is_none_or(|next| next.at > s.at);
        if lasted && pictures.last() != Some(&s.rows) {
            pictures.push(s.rows.clone());
        }
    }
    pictures
}

/// `text` as the [`NARROW`] story display shows a page.
pub fn page(text: &str) -> Vec<String> {
    NARROW.page(text)
}

/// `text` framed on the [`NARROW`] story display, as alarms show.
pub fn framed(text: &str) -> Vec<String> {
    NARROW.framed(text)
}

/// A mock that takes real SIP clients on a free loopback UDP port only (no TCP, no
/// WebSocket), as the SIPp and softphone stories use it.
pub fn sip_over_udp() -> MockConfig {
    use eslmatrix_sim::fs::sip::{listen::ListenConfig, SipConfig};
    let listen = ListenConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        tcp: false,
        ..ListenConfig::default()
    };
    MockConfig { sip: Some(SipConfig { listen, ..SipConfig::default() }), ..MockConfig::default() }
}
