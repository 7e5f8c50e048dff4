//! Hardware in the loop: the whole daemon (links, scene, player, driver) against the mock
//! FreeSWITCH, drawing on a virtual MAX7219 chain, under paused tokio time. Each test
//! checks the sequence of pictures the LEDs showed against a golden file in
//! golden/daemon/ (regenerate with `INSTA_UPDATE=always`, review with `cargo insta review`).
//!
//! The display is 16 modules with the small font, so every text in these stories fits and
//! stands still: a golden sequence lists pictures, not scroll steps.

use std::future::Future;
use std::time::Duration;

use eslmatrix::app::daemon;
use eslmatrix::app::link::LinkStats;
use eslmatrix::app::recording::{sequence_text, Recording};
use eslmatrix::backend::{virtual_chain, Bus, Output};
use eslmatrix::config::Config;
use eslmatrix::render::{render_aligned, Align, Font};
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::{Party, Transport};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::time::sleep;

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn config(fs: &MockHandle, password: &str, pages: &[&str], extra: &str) -> Config {
    let addr = fs.addr();
    let pages: String = pages.iter().map(|p| format!("[[page]]\ntemplate = {p:?}\n")).collect();
    let text = format!(
        "page_time = \"5s\"\n\
         [[server]]\nname = \"pbx\"\nhost = \"{}\"\nport = {}\npassword = {password:?}\n\
         [display]\nmodules = \"16x1\"\nfont = \"small\"\n\
         {pages}{extra}",
        addr.ip(),
        addr.port()
    );
    let mut c = Config::parse(&text, None).expect("test config is valid");
    c.daemon.link.jitter_seed = Some(42);
    c
}

async fn mock(config: MockConfig) -> MockHandle {
    MockFreeSwitch::start(config).await.expect("mock starts")
}

/// One story at a time: under paused time the clock jumps ahead whenever the runtime waits
/// for the kernel to deliver loopback bytes, and the less the machine is loaded, the less
/// that happens.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the daemon until `script` ends; returns what the LEDs showed and the links' stats.
/// The script gets the recording, to wait for what the display shows.
async fn run<F: Future<Output = ()>>(
    config: &Config,
    script: impl FnOnce(Recording) -> F,
) -> (Recording, Vec<LinkStats>) {
    let rec = Recording::new();
    let chain = virtual_chain(&config.wiring).expect("chain");
    let mut out =
        Output::with_bus(Bus::Chain(chain), rec.view(), config.wiring, config.intensity).expect("output");
    let stats = daemon::run(&config.daemon, &mut out, script(rec.clone())).await;
    (rec, stats)
}

/// Waits (in tokio time) until the display has shown `rows`. Stories start from what the
/// display shows, not from a clock reading, so a slow connect cannot reorder them.
async fn until_shown(rec: &Recording, rows: &[String]) {
    for _ in 0..12_000 {
        if rec.showed(rows) {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("the display never showed {rows:#?}");
}

/// The pictures a person could have seen, in order, each change once: pictures replaced
/// within the same instant of tokio time never reached an eye.
fn seen(rec: &Recording) -> String {
    sequence_text(&pictures(rec))
}

fn pictures(rec: &Recording) -> Vec<Vec<String>> {
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

/// `text` as the test display shows a page: small font, centred on 128 columns.
fn page(text: &str) -> Vec<String> {
    render_aligned(text, Font::Small, 128, 8, Align::Center).to_rows()
}

/// `text` in inverse video, as alarms show.
fn inverted(text: &str) -> Vec<String> {
    let mut f = render_aligned(text, Font::Small, 128, 8, Align::Center);
    f.invert();
    f.to_rows()
}

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../golden/daemon", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

fn phones(fs: &MockHandle) {
    let pbx = fs.pbx();
    pbx.register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
    pbx.register("1001", Transport::Udp, "Polycom VVX").unwrap();
    pbx.register("1002", Transport::Wss, "SIP.js/0.21").unwrap();
}

#[tokio::test(start_paused = true)]
async fn startup_status() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg  {webrtc} WebRTC"], "");
    let (rec, stats) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg  1 WebRTC")).await;
        sleep(SECS(3)).await;
    })
    .await;
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].sessions, 1);
    golden!("startup_status", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn incoming_call_alert() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg"], "");
    let pbx = fs.pbx().clone();
    let (rec, _) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg")).await;
        sleep(SECS(2)).await;
        pbx.start_call("1001", "1000", Some("Alice")).unwrap();
        sleep(SECS(3)).await;
    })
    .await;
    golden!("incoming_call_alert", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn answered_call() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg"], "");
    let pbx = fs.pbx().clone();
    let (rec, _) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg")).await;
        sleep(SECS(2)).await;
        let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
        sleep(SECS(4)).await;
        pbx.answer(&call).unwrap();
        // "answered" replaces the ringing alert at once and shows for 3 s.
        sleep(SECS(20)).await;
        pbx.hangup(&call, Party::Caller).unwrap();
        sleep(SECS(30)).await;
    })
    .await;
    golden!("answered_call", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn busy_hangup_with_its_reason() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(
        &fs,
        "ClueCon",
        &["{calls} calls  {registrations} reg"],
        "[alerts.incoming]\nduration = \"2s\"\n",
    );
    let pbx = fs.pbx().clone();
    let (rec, _) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg")).await;
        sleep(SECS(2)).await;
        let call = pbx.start_call("1000", "1001", None).unwrap();
        sleep(SECS(1)).await;
        pbx.reject(&call, 486).unwrap();
        sleep(SECS(20)).await;
    })
    .await;
    let text = seen(&rec);
    golden!("busy_hangup", text);
}

#[tokio::test(start_paused = true)]
async fn webrtc_registration_changes_the_count() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{webrtc} WebRTC of {registrations} reg"], "");
    let pbx = fs.pbx().clone();
    let (rec, _) = run(&c, |rec| async move {
        until_shown(&rec, &page("1 WebRTC of 3 reg")).await;
        sleep(SECS(2)).await;
        pbx.register("1003", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
        sleep(SECS(2)).await;
        pbx.unregister("1002").unwrap();
        sleep(SECS(2)).await;
    })
    .await;
    golden!("webrtc_registration", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn link_lost_then_reconnected_with_counts_rebuilt() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg"], "");
    let pbx = fs.pbx().clone();
    let faults = fs.faults().clone();
    let (rec, stats) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg")).await;
        sleep(SECS(2)).await;
        faults.inject(Fault::Restart { down_ms: 4000 });
        // The restarted switch has forgotten the phones; one registers while the daemon has
        // no link, so only the rebuild after the reconnect can know it.
        sleep(SECS(1)).await;
        pbx.register("1003", Transport::Udp, "Grandstream").unwrap();
        sleep(SECS(20)).await;
    })
    .await;
    assert!(stats[0].sessions >= 2, "{:?}", stats[0]);
    let seen_pictures = pictures(&rec);
    assert_eq!(seen_pictures.first(), Some(&page("0 calls  3 reg")));
    assert_eq!(seen_pictures.last(), Some(&page("0 calls  1 reg")), "the rebuild found the one phone");
    golden!("link_lost_and_back", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn wrong_password() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    let c = config(&fs, "not-the-password", &["{calls} calls"], "");
    let (rec, stats) = run(&c, |rec| async move {
        until_shown(&rec, &inverted("AUTH FAILED")).await;
        // Mid-way through a blink phase, so the count of phases cannot be off by one.
        sleep(Duration::from_millis(7250)).await;
    })
    .await;
    assert_eq!(stats[0].sessions, 0);
    golden!("wrong_password", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_loss() {
    let _serial = SERIAL.lock().await;
    let mock_config = MockConfig { heartbeat: Some(SECS(2)), ..MockConfig::default() };
    let fs = mock(mock_config).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg"], "[link]\nheartbeat = \"2s\"\n");
    let faults = fs.faults().clone();
    let (rec, stats) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg")).await;
        sleep(SECS(3)).await;
        // The socket stays open but goes silent: only the missing heartbeats tell.
        faults.inject(Fault::Stall { ms: 12_000 });
        sleep(SECS(30)).await;
    })
    .await;
    assert!(stats[0].sessions >= 2, "{:?}", stats[0]);
    golden!("heartbeat_loss", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn pushed_message() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    phones(&fs);
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg"], "");
    let pbx = fs.pbx().clone();
    let (rec, _) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  3 reg")).await;
        sleep(SECS(2)).await;
        pbx.message("Lunch is ready!");
        sleep(SECS(15)).await;
    })
    .await;
    let text = seen(&rec);
    golden!("pushed_message", text);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_ten_thousand_events_shows_the_right_final_counts() {
    let _serial = SERIAL.lock().await;
    let fs = mock(MockConfig::default()).await;
    let c = config(&fs, "ClueCon", &["{calls} calls  {registrations} reg  {webrtc} WebRTC"], "");
    let pbx = fs.pbx().clone();
    let (rec, stats) = run(&c, |rec| async move {
        until_shown(&rec, &page("0 calls  0 reg  0 WebRTC")).await;
        sleep(SECS(2)).await;
        for i in 0..5000 {
            let t = if i % 2 == 0 { Transport::Wss } else { Transport::Udp };
            pbx.register(&format!("{}", 10_000 + i), t, "burst").unwrap();
        }
        // All but the last seven go again: 9 993 REGISTER/UNREGISTER events in one instant.
        for i in 0..4993 {
            pbx.unregister(&format!("{}", 10_000 + i)).unwrap();
        }
        sleep(SECS(10)).await;
    })
    .await;
    assert_eq!(stats[0].events_lost, 0);
    assert!(stats[0].events >= 9993, "{:?}", stats[0]);
    let last = rec.last().expect("a picture");
    // Of the last seven (14993..14999), the even ones registered over WSS: three WebRTC.
    assert_eq!(last.rows, page("0 calls  7 reg  3 WebRTC"));
    golden!("burst_final", sequence_text(&[last.rows]));
}
