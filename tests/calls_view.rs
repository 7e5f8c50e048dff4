//! The call view (`eslmatrix calls`) as a person sees it: `app::calls::run` against the mock
//! FreeSWITCH, drawing on ratatui's TestBackend under paused tokio time. Calls are driven
//! through the mock's `Pbx` handle as the HIL stories drive them; each screen is an insta
//! snapshot in golden/calls/ (regenerate with `INSTA_UPDATE=always`, review with `cargo
//! insta review`).
//!
//! Actions happen at half seconds after the view starts and screens are read a fifth of a
//! second after a tick, so a few milliseconds of loopback delay never change a duration.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eslmatrix::app::calls::{self, CallsSettings};
use eslmatrix::app::link::{LinkOptions, ServerConfig};
use eslmatrix::tui::{Key, Screen, Surface};
use eslmatrix_sim::fs::pbx::{Party, PbxConfig, Transport};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};
use futures_util::Stream;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use crate::story::checkpoints;

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../golden/calls", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

/// A TestBackend terminal the test reads while the view draws on it.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Mutex<Terminal<TestBackend>>>);

impl Shared {
    pub(crate) fn new(cols: u16, rows: u16) -> Self {
        Shared(Arc::new(Mutex::new(Terminal::new(TestBackend::new(cols, rows)).unwrap())))
    }

    /// The screen's text, one line per row, trailing blanks cut.
    pub(crate) fn text(&self) -> String {
        let term = self.0.lock().unwrap();
        let buf = term.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
                line.trim_end().to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the cell at column 0 of the first row containing `needle` is dimmed.
    fn dimmed(&self, needle: &str) -> bool {
        let term = self.0.lock().unwrap();
        let buf = term.backend().buffer();
        (0..buf.area.height).any(|y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            line.contains(needle) && buf[(0, y)].modifier.contains(Modifier::DIM)
        })
    }

    /// The screen as coloured cells, for a PNG of it.
    pub(crate) fn picture(&self) -> eslmatrix::tui::Picture {
        eslmatrix::tui::Picture::of(self.0.lock().unwrap().backend().buffer())
    }

    pub(crate) fn resize(&self, cols: u16, rows: u16) {
        self.0.lock().unwrap().backend_mut().resize(cols, rows);
    }

    /// Resizes the terminal as a person would (the view hears of it as a key) and gives the
    /// text drawn by `then`.
    pub(crate) async fn resized(
        &self,
        key_tx: &mpsc::Sender<Key>,
        cols: u16,
        rows: u16,
        then: Instant,
    ) -> String {
        self.resize(cols, rows);
        key_tx.send(Key::Resize).await.unwrap();
        sleep_until(then).await;
        self.text()
    }
}

impl Surface for Shared {
    fn show(&mut self, screen: &Screen<'_>) -> std::io::Result<()> {
        self.0.lock().unwrap().show(screen)
    }
}

pub(crate) fn settings(port: u16) -> CallsSettings {
    let server = ServerConfig {
        name: "pbx".into(),
        host: "127.0.0.1".into(),
        port,
        password: "ClueCon".into(),
        multiple_registrations: false,
    };
    CallsSettings {
        servers: vec![server],
        link: LinkOptions { jitter_seed: Some(42), ..LinkOptions::default() },
        keep_ended: Duration::from_secs(30),
    }
}

pub(crate) fn at(t0: Instant, secs: f64) -> Instant {
    t0 + Duration::from_secs_f64(secs)
}

/// The view's keyboard: what the test sends on the sender, the view reads from the stream.
pub(crate) fn keyboard() -> (mpsc::Sender<Key>, impl Stream<Item = Key> + Unpin) {
    let (key_tx, mut key_rx) = mpsc::channel::<Key>(16);
    (key_tx, futures_util::stream::poll_fn(move |cx| key_rx.poll_recv(cx)))
}

/// Runs the view on `surface` until `script` ends; the view must neither fail nor outlast the
/// test's checkpoints.
pub(crate) async fn watch(
    settings: &CallsSettings,
    surface: &mut impl Surface,
    keys: impl Stream<Item = Key> + Unpin,
    script: impl Future<Output = ()>,
) {
    tokio::select! {
        r = calls::run(settings, surface, keys, script) => { r.expect("the view draws"); }
        () = checkpoints() => unreachable!(),
    }
}

#[tokio::test(start_paused = true)]
async fn calls_ring_answer_fail_and_end_on_screen() {
    let mock =
        MockConfig { pbx: PbxConfig { seed: Some(13), ..PbxConfig::default() }, ..MockConfig::default() };
    let fs = MockFreeSwitch::start(mock).await.expect("mock starts");
    let pbx = fs.pbx().clone();
    pbx.register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
    pbx.register("1001", Transport::Wss, "SIP.js/0.21").unwrap();
    pbx.register("1002", Transport::Udp, "Polycom VVX").unwrap();
    let screen = Shared::new(80, 24);
    let (key_tx, keys) = keyboard();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let view = calls::run(&settings, &mut surface, keys, async {
        let _ = stop_rx.await;
    });
    let script = async {
        sleep_until(at(t0, 1.2)).await;
        golden!("calls_idle", screen.text());

        sleep_until(at(t0, 1.5)).await;
        pbx.register("1003", Transport::Ws, "JsSIP 3.10.1").unwrap();
        let web = pbx.start_call("1001", "1000", Some("Web Visitor")).unwrap();
        sleep_until(at(t0, 3.2)).await;
        golden!("calls_ringing", screen.text());

        sleep_until(at(t0, 3.5)).await;
        pbx.answer(&web).unwrap();
        sleep_until(at(t0, 4.5)).await;
        let busy = pbx.start_call("1002", "1000", Some("Reception")).unwrap();
        sleep_until(at(t0, 5.5)).await;
        pbx.reject(&busy, 486).unwrap();
        sleep_until(at(t0, 6.2)).await;
        let status = screen.text().lines().last().unwrap_or_default().to_owned();
        let rate: u64 =
            status.split(" ev/s").next().and_then(|s| s.rsplit(' ').next()).unwrap().parse().unwrap();
        assert!(rate > 0, "the rejection's events counted in the last second: {status}");
        sleep_until(at(t0, 8.2)).await;
        let text = screen.text();
        golden!("calls_bridged_and_busy", text);
        assert!(screen.dimmed("486 Busy Here"), "an ended call is dimmed:\n{text}");
        assert!(!screen.dimmed("Web Visitor"), "a live call is not:\n{text}");

        key_tx.send(Key::Char('s')).await.unwrap();
        sleep_until(at(t0, 8.4)).await;
        assert!(screen.text().contains("sort duration"), "{}", screen.text());

        for key in [Key::Char('/'), Key::Char('r'), Key::Char('E'), Key::Char('c'), Key::Enter] {
            key_tx.send(key).await.unwrap();
        }
        sleep_until(at(t0, 8.6)).await;
        golden!("calls_filtered", screen.text());
        key_tx.send(Key::Char('4')).await.unwrap();
        sleep_until(at(t0, 8.7)).await;
        assert!(screen.text().contains("no calls match \"rEc4\""), "{}", screen.text());
        key_tx.send(Key::Esc).await.unwrap();
        sleep_until(at(t0, 8.8)).await;
        assert!(
            screen.text().contains("Web Visitor") && !screen.text().contains("filter"),
            "Esc clears: {}",
            screen.text()
        );

        sleep_until(at(t0, 10.5)).await;
        pbx.hangup(&web, Party::Caller).unwrap();
        sleep_until(at(t0, 12.2)).await;
        golden!("calls_all_ended", screen.text());

        let text = screen.resized(&key_tx, 40, 10, at(t0, 12.4)).await;
        golden!("calls_narrow_40x10", text);
        let text = screen.resized(&key_tx, 20, 2, at(t0, 12.6)).await;
        golden!("calls_tiny_20x2", text);
        screen.resize(80, 24);

        key_tx.send(Key::Tab).await.unwrap();
        sleep_until(at(t0, 12.7)).await;
        golden!("calls_registrations", screen.text());
        // Tab goes round: registrations, gateways, calls.
        key_tx.send(Key::Tab).await.unwrap();
        key_tx.send(Key::Tab).await.unwrap();

        key_tx.send(Key::Char('?')).await.unwrap();
        sleep_until(at(t0, 12.8)).await;
        golden!("calls_help", screen.text());
        key_tx.send(Key::Esc).await.unwrap();
        sleep_until(at(t0, 13.0)).await;
        assert!(!screen.text().contains("keys"), "Esc closes the help first");

        sleep_until(at(t0, 41.2)).await;
        assert!(
            screen.text().contains("no calls"),
            "ended calls expire after keep_ended:\n{}",
            screen.text()
        );
        key_tx.send(Key::Char('q')).await.unwrap();
        // `q` alone ends the view; the stop signal is the test's safety net.
        sleep_until(at(t0, 45.0)).await;
        let _ = stop_tx.send(());
    };
    let stats = tokio::select! {
        (stats, ()) = async { tokio::join!(view, script) } => stats,
        () = checkpoints() => unreachable!(),
    };
    let stats = stats.expect("the view draws");
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].sessions, 1, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn the_status_line_says_no_link_in_the_leds_words() {
    // Nothing listens on the port: the link retries, the status line counts the outage.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let screen = Shared::new(80, 24);
    let keys = futures_util::stream::pending::<Key>();
    let t0 = Instant::now();
    let settings = settings(port);
    let mut surface = screen.clone();
    let script = async {
        sleep_until(at(t0, 125.2)).await;
        golden!("calls_no_link", screen.text());
    };
    watch(&settings, &mut surface, keys, script).await;
}

#[tokio::test(start_paused = true)]
async fn several_servers_share_one_list_each_row_named() {
    let mut mocks = Vec::new();
    for seed in [21, 22] {
        let mock = MockConfig {
            pbx: PbxConfig { seed: Some(seed), ..PbxConfig::default() },
            ..MockConfig::default()
        };
        let fs = MockFreeSwitch::start(mock).await.expect("mock starts");
        fs.pbx().register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
        fs.pbx().register("1001", Transport::Udp, "Polycom VVX").unwrap();
        mocks.push(fs);
    }
    let mut settings = settings(0);
    settings.servers = mocks
        .iter()
        .enumerate()
        .map(|(i, fs)| ServerConfig {
            name: format!("pbx{}", i + 1),
            host: "127.0.0.1".into(),
            port: fs.addr().port(),
            password: "ClueCon".into(),
            multiple_registrations: false,
        })
        .collect();
    let screen = Shared::new(80, 24);
    let t0 = Instant::now();
    let mut surface = screen.clone();
    let (one, two) = (mocks[0].pbx().clone(), mocks[1].pbx().clone());
    let script = async {
        sleep_until(at(t0, 1.5)).await;
        one.start_call("1000", "1001", Some("Alice")).unwrap();
        sleep_until(at(t0, 2.5)).await;
        let c = two.start_call("1001", "1000", Some("Bob")).unwrap();
        two.reject(&c, 603).unwrap();
        sleep_until(at(t0, 4.2)).await;
        golden!("calls_two_servers", screen.text());
    };
    watch(&settings, &mut surface, futures_util::stream::pending(), script).await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_pbx_shows_the_listings_expiry_once_a_heartbeat_dates_it() {
    // No call, no register while the view runs: the rows come from `show registrations`
    // alone, whose expires is an epoch on the PBX's clock (switch_core_sqldb.c
    // switch_core_add_registration, written by sofia_reg.c sofia_reg_handle_register_token as
    // reg_time + Expires + sip-expires-late-margin). The mock's clock starts in 2025, far from
    // this machine's, so only the PBX's own clock (HEARTBEAT's Event-Date-Timestamp,
    // switch_core.c send_heartbeat, every 20 s) can count it down.
    let mock = MockConfig::default();
    let fs = MockFreeSwitch::start(mock).await.expect("mock starts");
    fs.pbx().register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
    let screen = Shared::new(80, 24);
    let (key_tx, keys) = keyboard();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let row = |text: &str| text.lines().find(|l| l.starts_with("1000@")).map(str::to_owned);
    let script = async {
        key_tx.send(Key::Tab).await.unwrap();
        sleep_until(at(t0, 1.2)).await;
        let before = row(&screen.text()).unwrap_or_else(|| panic!("{}", screen.text()));
        let words: Vec<&str> = before.split_whitespace().collect();
        // The user agent is there from the first rebuild: `show registrations` lacks it,
        // `sofia xmlstatus profile internal reg` (mod_sofia.c show_reg_callback_xml) has it.
        assert!(before.ends_with(" Yealink SIP-T46S"), "{before:?}");
        assert_eq!(words.len(), 5, "user, transport, address, agent; no expiry yet: {before:?}");
        assert!(words[2].contains(':') && words[2].contains('.'), "the listing's ip:port: {before:?}");
        sleep_until(at(t0, 21.2)).await;
        let after = row(&screen.text()).unwrap_or_else(|| panic!("{}", screen.text()));
        let expiry = after.split_whitespace().nth(2).unwrap_or_default().to_owned();
        let secs = expiry.split(':').try_fold(0u64, |acc, p| p.parse::<u64>().map(|n| acc * 60 + n));
        // Registered with the mock's UDP Expires (3600) plus the 60 s margin, 21 s ago.
        assert!(secs.as_ref().is_ok_and(|s| (3638..=3640).contains(s)), "{after:?}");
        assert_eq!(after.split_whitespace().nth(3), Some(words[2]), "the address stays");
    };
    watch(&settings, &mut surface, keys, script).await;
}

#[tokio::test(start_paused = true)]
async fn the_gateways_tab_follows_gateway_events_and_every_rebuild() {
    use eslmatrix_sim::fs::fault::Fault;
    // Two trunks before the view starts: the first rebuild's `sofia status` lists them
    // (mod_sofia.c cmd_status: `profile::name`, `gateway`, register_to, the state and
    // ` (retry: Ns)` while FAILED).
    let fs = MockFreeSwitch::start(MockConfig::default()).await.expect("mock starts");
    let pbx = fs.pbx().clone();
    pbx.set_gateway("carrier-a", true).unwrap();
    pbx.set_gateway("carrier-b", true).unwrap();
    pbx.set_gateway("carrier-b", false).unwrap();
    let screen = Shared::new(80, 24);
    let (key_tx, keys) = keyboard();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let row = |name: &str| {
        screen.text().lines().find(|l| l.starts_with(name)).map(str::to_owned).unwrap_or_default()
    };
    let script = async {
        key_tx.send(Key::Tab).await.unwrap();
        key_tx.send(Key::Tab).await.unwrap();
        sleep_until(at(t0, 1.2)).await;
        golden!("calls_gateways", screen.text());
        assert!(row("carrier-b").contains("FAILED"), "{}", screen.text());

        // sofia::gateway_state (sofia_reg.c sofia_reg_fire_custom_gateway_state_event).
        sleep_until(at(t0, 1.5)).await;
        pbx.set_gateway("carrier-a", false).unwrap();
        sleep_until(at(t0, 4.2)).await;
        let a = row("carrier-a");
        assert!(a.contains("FAILED") && a.contains("408 Request Timeout") && a.contains("0:02"), "{a:?}");

        // While the link is down the events go nowhere; the rebuild after the reconnect
        // tells the state.
        fs.faults().inject(Fault::Restart { down_ms: 1_000 });
        sleep_until(at(t0, 4.5)).await;
        pbx.set_gateway("carrier-b", true).unwrap();
        sleep_until(at(t0, 9.2)).await;
        let b = row("carrier-b");
        assert!(
            b.contains("REGED"),
            "the rebuild after the reconnect says it is back: {b:?}\n{}",
            screen.text()
        );
    };
    watch(&settings, &mut surface, keys, script).await;
}

/// Counts the pictures drawn.
struct Counting(Arc<Mutex<u32>>);

impl Surface for Counting {
    fn show(&mut self, _: &Screen<'_>) -> std::io::Result<()> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_of_events_redraws_at_most_once_per_gap() {
    let fs = MockFreeSwitch::start(MockConfig::default()).await.expect("mock starts");
    let pbx = fs.pbx().clone();
    pbx.register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
    pbx.register("1001", Transport::Udp, "Polycom VVX").unwrap();
    let draws = Arc::new(Mutex::new(0));
    let mut surface = Counting(draws.clone());
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let script = async {
        sleep_until(at(t0, 1.1)).await;
        let before = *draws.lock().unwrap();
        // 40 calls 10 ms apart, some 200 channel events, all between two ticks.
        for i in 0..40 {
            sleep_until(at(t0, 1.1 + 0.01 * f64::from(i))).await;
            pbx.start_call("1001", "1000", None).unwrap();
        }
        sleep_until(at(t0, 1.95)).await;
        let drawn = *draws.lock().unwrap() - before;
        // 0.85 s of news at one picture per 100 ms at most, and no tick in between.
        assert!((1..=9).contains(&drawn), "{drawn} pictures for some 200 events");
    };
    watch(&settings, &mut surface, futures_util::stream::pending(), script).await;
}
