//! The call flow of `eslmatrix calls` (Enter on a call): its ladder as a person sees it,
//! `app::calls::run` against the mock FreeSWITCH playing its shipped scenarios, drawn on
//! ratatui's TestBackend under paused tokio time; each screen is an insta snapshot in
//! golden/calls/ (regenerate with `INSTA_UPDATE=always`).

use eslmatrix::app::calls;
use eslmatrix::tui::Key;
use eslmatrix_sim::fs::pbx::scenario::Scenario;
use eslmatrix_sim::fs::pbx::PbxConfig;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::sync::oneshot;
use tokio::time::{sleep_until, Instant};

use crate::calls_view::{at, keyboard, settings, watch, Shared};
use crate::story::checkpoints;

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../golden/calls", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

async fn mock(seed: u64) -> MockHandle {
    let config =
        MockConfig { pbx: PbxConfig { seed: Some(seed), ..PbxConfig::default() }, ..MockConfig::default() };
    MockFreeSwitch::start(config).await.expect("mock starts")
}

/// Plays the built-in scenario `name` from half a second after `t0` (the view's start), so
/// its steps land between the view's ticks.
async fn play(fs: &MockHandle, name: &str, t0: Instant) {
    let scenario = Scenario::builtin(name).unwrap().unwrap();
    sleep_until(at(t0, 0.5)).await;
    scenario.run(fs.pbx(), fs.faults()).await;
}

/// The view on an 80×24 screen against a fresh mock (`seed`) playing the built-in scenario
/// `name`, with `look` (given the screen, the keyboard and the view's start) beside them
/// until it ends or the scenario does.
async fn while_playing<F: std::future::Future<Output = ()>>(
    seed: u64,
    name: &str,
    look: impl FnOnce(Shared, tokio::sync::mpsc::Sender<Key>, Instant) -> F,
) {
    let fs = mock(seed).await;
    let screen = Shared::new(80, 24);
    let (key_tx, keys) = keyboard();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let look = look(screen, key_tx, t0);
    let script = async {
        tokio::select! {
            () = play(&fs, name, t0) => {}
            () = look => {}
        }
    };
    watch(&settings, &mut surface, keys, script).await;
}

#[tokio::test(start_paused = true)]
async fn a_webrtc_calls_ladder_from_ring_to_hang_up_with_its_headers() {
    let fs = mock(13).await;
    let screen = Shared::new(80, 24);
    let (key_tx, keys) = keyboard();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let view = calls::run(&settings, &mut surface, keys, async {
        let _ = stop_rx.await;
    });
    let play = play(&fs, "webrtc-click-to-call", t0);
    let script = async {
        // The call rings from 2.5 s; Enter opens its ladder.
        sleep_until(at(t0, 3.2)).await;
        key_tx.send(Key::Enter).await.unwrap();
        sleep_until(at(t0, 3.4)).await;
        golden!("flow_ringing", screen.text());

        // Answered at 6.5 s (ring_for 4 s) and bridged.
        sleep_until(at(t0, 8.2)).await;
        let text = screen.text();
        golden!("flow_answered", text);
        for name in ["CREATE", "ANSWER", "BRIDGE"] {
            assert!(text.contains(name), "{name} on the ladder:\n{text}");
        }

        // The selected event's raw headers: the third event, `v`.
        for key in [Key::Down, Key::Down, Key::Char('v')] {
            key_tx.send(key).await.unwrap();
        }
        sleep_until(at(t0, 8.4)).await;
        let text = screen.text();
        golden!("flow_headers", text);
        assert!(text.contains("Event-Name: CHANNEL_"), "{text}");
        key_tx.send(Key::Char('v')).await.unwrap();

        // The caller hangs up at 26.5 s.
        sleep_until(at(t0, 28.2)).await;
        let text = screen.text();
        golden!("flow_hung_up", text);
        assert!(text.contains("HANGUP"), "{text}");

        let text = screen.resized(&key_tx, 40, 12, at(t0, 28.4)).await;
        golden!("flow_narrow_40x12", text);
        let text = screen.resized(&key_tx, 20, 4, at(t0, 28.6)).await;
        golden!("flow_tiny_20x4", text);
        screen.resize(80, 24);

        // The end of the ladder: each leg's HANGUP, then what it reports after it (the
        // UNBRIDGE, CALLSTATE HANGUP, and HANGUP_COMPLETE with the billed time: answered at
        // 6.5 s, ended at 26.5 s of a call that rang from 2.5 s), which the view once dropped.
        key_tx.send(Key::End).await.unwrap();
        sleep_until(at(t0, 28.7)).await;
        let text = screen.text();
        golden!("flow_hung_up_end", text);
        assert!(text.contains("UNBRIDGE"), "{text}");
        assert_eq!(text.matches("HANGUP_COMPLETE billsec 20s of 24s").count(), 2, "one per leg:\n{text}");

        key_tx.send(Key::Esc).await.unwrap();
        sleep_until(at(t0, 28.8)).await;
        let text = screen.text();
        assert!(text.starts_with("Dir Caller"), "Esc goes back to the list:\n{text}");
        key_tx.send(Key::Enter).await.unwrap();
        key_tx.send(Key::Backspace).await.unwrap();
        sleep_until(at(t0, 29.0)).await;
        assert!(screen.text().starts_with("Dir Caller"), "so does Backspace:\n{}", screen.text());

        // Ended calls leave after keep_ended (30 s); an open ladder says so.
        key_tx.send(Key::Enter).await.unwrap();
        sleep_until(at(t0, 58.2)).await;
        let text = screen.text();
        assert!(text.contains("no longer kept"), "{text}");
        key_tx.send(Key::Char('q')).await.unwrap();
        sleep_until(at(t0, 60.0)).await;
        let _ = stop_tx.send(());
    };
    let stats = tokio::select! {
        (stats, (), ()) = async { tokio::join!(view, script, play) } => stats,
        () = checkpoints() => unreachable!(),
    };
    stats.expect("the view draws");
}

#[tokio::test(start_paused = true)]
async fn a_rejected_calls_ladder_ends_with_its_cause_and_sip_status() {
    while_playing(14, "rejections", |screen, key_tx, t0| async move {
        // The first call (busy) rings at 1.5 s and is rejected 0.5 s later.
        sleep_until(at(t0, 3.2)).await;
        key_tx.send(Key::Enter).await.unwrap();
        sleep_until(at(t0, 3.4)).await;
        let text = screen.text();
        golden!("flow_busy", text);
        assert!(text.contains("486 Busy Here"), "{text}");
        // Both legs' HANGUP_COMPLETE, after their HANGUP and CALLSTATE HANGUP.
        assert_eq!(text.matches("[HANGUP_COMPLETE billsec 0s of 0s]").count(), 2, "{text}");
    })
    .await;
}

/// The list through three minutes of the seeded `busy-office` scenario (20 phones, 8 calls a
/// minute, every outcome): what the status line counts is what the rows show, every ended
/// row carries its cause, and the registrations tab lists the office's 20 phones.
#[tokio::test(start_paused = true)]
async fn a_busy_office_list_counts_what_it_shows() {
    while_playing(16, "busy-office", |screen, key_tx, t0| async move {
        sleep_until(at(t0, 180.2)).await;
        let text = screen.text();
        golden!("calls_busy_office", text);
        let lines: Vec<&str> = text.lines().collect();
        let rows: Vec<&str> =
            lines[1..].iter().copied().filter(|l| l.starts_with("in ") || l.starts_with("out")).collect();
        let ended = rows.iter().filter(|r| r.contains("hung up")).count();
        let live = rows.len() - ended;
        assert!(ended > 0 && rows.len() > ended, "three minutes in, calls both live and ended:\n{text}");
        let status = lines.last().unwrap();
        assert!(status.contains(&format!("{live} live, {ended} ended")), "{status}\n{text}");
        let cause_at = lines[0].find("Hang-up cause").expect("the cause column at 80 columns");
        for row in rows.iter().filter(|r| r.contains("hung up")) {
            let cause = row.get(cause_at..).unwrap_or("").trim();
            assert!(!cause.is_empty(), "an ended call names its cause: {row}");
        }
        key_tx.send(Key::Tab).await.unwrap();
        sleep_until(at(t0, 180.4)).await;
        let regs = screen.text();
        let phones = regs.lines().filter(|l| l.starts_with("10") && l.contains('@')).count();
        assert_eq!(phones, 20, "{regs}");
    })
    .await;
}

#[test]
fn the_readme_shows_the_busy_flow_as_its_golden_has_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let golden = std::fs::read_to_string(format!("{root}/golden/calls/flow_busy.snap")).unwrap();
    let screen: Vec<&str> =
        golden.splitn(3, "---\n").nth(2).unwrap().lines().take_while(|l| !l.is_empty()).collect();
    assert!(screen.len() > 5, "{golden}");
    assert!(
        readme.contains(&screen.join("\n")),
        "README's flow excerpt differs from golden/calls/flow_busy.snap"
    );
}

/// `picture` drawn as a PNG is `docs/NAME` byte for byte; `ESLMATRIX_BLESS=1` writes it.
fn same_picture(picture: &eslmatrix::tui::Picture, name: &str) {
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name);
    let made = std::env::temp_dir().join(format!("eslmatrix-{}-{name}", std::process::id()));
    calls::write_picture_png(picture, &made).unwrap();
    if std::env::var_os("ESLMATRIX_BLESS").is_some() {
        std::fs::copy(&made, &kept).unwrap();
    }
    let same = std::fs::read(&made).unwrap() == std::fs::read(&kept).unwrap_or_default();
    let _ = std::fs::remove_file(&made);
    assert!(same, "docs/{name} is not what this test draws (ESLMATRIX_BLESS=1 makes it again)");
}

/// The README's pictures of `eslmatrix calls` (docs/calls.png, docs/calls-flow.png): an
/// office's calls in every state, then one call's flow, from the mock under paused time.
#[tokio::test(start_paused = true)]
async fn the_readme_pictures_are_what_the_view_draws() {
    use eslmatrix_sim::fs::pbx::Transport;
    let fs = mock(15).await;
    let pbx = fs.pbx().clone();
    for (user, transport, agent) in [
        ("1000", Transport::Udp, "Yealink SIP-T46S"),
        ("1001", Transport::Wss, "SIP.js/0.21"),
        ("1002", Transport::Udp, "Polycom VVX"),
        ("1003", Transport::Tcp, "Zoiper 5"),
        ("1004", Transport::Udp, "Yealink SIP-T54W"),
        ("1005", Transport::Wss, "JsSIP 3.10.1"),
    ] {
        pbx.register(user, transport, agent).unwrap();
    }
    let screen = Shared::new(80, 24);
    let (key_tx, keys) = keyboard();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let script = async {
        sleep_until(at(t0, 1.5)).await;
        let web = pbx.start_call("1001", "1000", Some("Web Visitor")).unwrap();
        sleep_until(at(t0, 2.5)).await;
        pbx.answer(&web).unwrap();
        let sales = pbx.start_call("1003", "1004", Some("Sales")).unwrap();
        sleep_until(at(t0, 3.5)).await;
        pbx.answer(&sales).unwrap();
        let busy = pbx.start_call("1002", "1000", Some("Reception")).unwrap();
        sleep_until(at(t0, 4.5)).await;
        pbx.reject(&busy, 486).unwrap();
        // Nobody is 1009: 404.
        let _ = pbx.start_call("1004", "1009", None);
        sleep_until(at(t0, 5.5)).await;
        pbx.start_call("1005", "1002", Some("Support chat")).unwrap();
        sleep_until(at(t0, 24.2)).await;
        same_picture(&screen.picture(), "calls.png");
        // The web call's flow: it is the oldest live call, the third row.
        for key in [Key::Down, Key::Down, Key::Enter] {
            key_tx.send(key).await.unwrap();
        }
        sleep_until(at(t0, 24.4)).await;
        assert!(screen.text().starts_with("Web Visitor"), "{}", screen.text());
        same_picture(&screen.picture(), "calls-flow.png");
    };
    watch(&settings, &mut surface, keys, script).await;
}

/// `uuid_hold` and `uuid_hold off` (switch_ivr.c switch_ivr_hold / switch_ivr_unhold:
/// CHANNEL_CALLSTATE HELD, then CHANNEL_HOLD; UNHELD, then CHANNEL_UNHOLD) on the ladder.
#[tokio::test(start_paused = true)]
async fn hold_and_unhold_show_on_the_held_leg() {
    use eslmatrix_sim::fs::pbx::Transport;
    let fs = mock(16).await;
    let pbx = fs.pbx().clone();
    pbx.register("1000", Transport::Udp, "Yealink SIP-T46S").unwrap();
    pbx.register("1001", Transport::Udp, "Polycom VVX").unwrap();
    let screen = Shared::new(80, 30);
    let (key_tx, keys) = keyboard();
    let t0 = Instant::now();
    let settings = settings(fs.addr().port());
    let mut surface = screen.clone();
    let script = async {
        sleep_until(at(t0, 1.5)).await;
        let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
        sleep_until(at(t0, 2.5)).await;
        pbx.answer(&call).unwrap();
        key_tx.send(Key::Enter).await.unwrap();
        sleep_until(at(t0, 3.5)).await;
        let legs = pbx.channel_uuids();
        assert_eq!(legs.len(), 2, "{legs:?}");
        let out = pbx.api("uuid_hold", &legs[0]);
        assert!(
            matches!(&out, eslmatrix_sim::fs::pbx::ApiOutput::Text(t) if t.starts_with("+OK")),
            "{out:?}"
        );
        sleep_until(at(t0, 4.2)).await;
        let held = screen.text();
        assert!(held.contains("[HOLD]") && held.contains("· held ·"), "{held}");
        pbx.api("uuid_hold", &format!("off {}", legs[0]));
        sleep_until(at(t0, 5.2)).await;
        let text = screen.text();
        assert!(text.contains("[UNHOLD]") && text.contains("· bridged ·"), "{text}");
        // A box is centred on its leg's line.
        let column = |name: &str| {
            let line: Vec<char> = text.lines().find(|l| l.contains(name))?.chars().collect();
            let open = line.iter().position(|&c| c == '[')?;
            let close = line.iter().position(|&c| c == ']')?;
            Some((open + close).div_ceil(2))
        };
        assert_eq!(column("[HOLD]"), column("[UNHOLD]"), "both on the same leg:\n{text}");
    };
    watch(&settings, &mut surface, keys, script).await;
}
