//! The daemon's commands as a user runs them: `show` against the mock, `run` with good and
//! bad configs, `demo` for a few seconds.

use std::process::{Command, Output};
use std::time::Duration;

use eslmatrix::app::player::PlayerOptions;
use eslmatrix::app::recording::Recording;
use eslmatrix::app::show::{fetch, scroll_once, FetchError};
use eslmatrix::backend::{virtual_chain, Bus, Output as LedOutput};
use eslmatrix::driver::wiring::Wiring;
use eslmatrix::driver::Intensity;
use eslmatrix::render::{render_text, Font, Frame};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};

fn eslmatrix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("ESLMATRIX_PASSWORD")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A mock on a runtime of its own, so a child process can talk to it.
fn mock_in_background() -> (tokio::runtime::Runtime, MockHandle) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let handle = rt.block_on(MockFreeSwitch::start(MockConfig::default())).unwrap();
    (rt, handle)
}

#[tokio::test]
async fn show_fetches_status_and_scrolls_it_once_through_the_chain() {
    let fs = MockFreeSwitch::start(MockConfig::default()).await.unwrap();
    let addr = fs.addr();
    let text = fetch(&addr.ip().to_string(), addr.port(), "ClueCon", "status").await.unwrap();
    assert!(text.starts_with("UP "), "{text}");
    assert!(!text.contains('\n'));
    assert!(text.contains("session(s)"), "{text}");

    let rec = Recording::new();
    let wiring = Wiring::new(4, 1).unwrap();
    let mut out = LedOutput::with_bus(
        Bus::Chain(virtual_chain(&wiring).unwrap()),
        rec.view(),
        wiring,
        Intensity::default(),
    )
    .unwrap();
    scroll_once(&mut out, &text, PlayerOptions::default(), false).await;
    // Every step of luma's show_message reached the LEDs, in order: blank, the text
    // sliding in from the right and out to the left, blank.
    let strip = render_text(&text, Font::Proportional8);
    // (The blank first step changes nothing on a blank chain, so the view never sees it.)
    assert_eq!(rec.last().map(|s| s.rows.concat().contains('#')), Some(false));
    let shots = rec.shots();
    // One picture per step after the first, less the rare step that looks like the one
    // before (a run of blank columns wider than the display).
    let steps = strip.width() as usize + 32;
    assert!(shots.len() <= steps && shots.len() + 8 >= steps, "{} pictures for {steps} steps", shots.len());
    for step in [1, 40, strip.width() as i32] {
        let mut want = Frame::new(32, 8);
        want.blit(&strip, 32 - step, 0);
        assert!(rec.showed(&want.to_rows()), "step {step} was shown");
    }
}

#[tokio::test]
async fn show_names_a_refused_password() {
    let fs = MockFreeSwitch::start(MockConfig::default()).await.unwrap();
    let addr = fs.addr();
    let e = fetch(&addr.ip().to_string(), addr.port(), "wrong", "status").await.unwrap_err();
    assert!(matches!(e, FetchError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains(&addr.port().to_string()), "{e}");
}

#[test]
fn show_exits_1_naming_the_server_when_the_password_is_refused() {
    let (_rt, fs) = mock_in_background();
    let port = fs.addr().port().to_string();
    let o = eslmatrix(&["show", "-s", "127.0.0.1", "-p", &port, "-a", "wrong", "--backend", "virtual"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("127.0.0.1:{port}")), "{}", stderr(&o));
}

#[test]
fn show_command_line_keeps_the_scripts_flags() {
    let (_rt, fs) = mock_in_background();
    let port = fs.addr().port().to_string();
    let dir = std::env::temp_dir().join(format!("eslmatrix-show-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("show.spi");
    let backend = format!("spilog:{}", log.display());
    let o = eslmatrix(&[
        "show",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-a",
        "ClueCon",
        "-c",
        "status",
        "-n",
        "4",
        "--block-orientation",
        "0",
        "--backend",
        &backend,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Init, then one frame per scroll step: far more than a still picture's eight.
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(lines > 200, "{lines} transactions");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_refuses_a_bad_config_with_the_key_and_exit_code_2() {
    let dir = std::env::temp_dir().join(format!("eslmatrix-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[display]\ncascaded = 4\nbrightnes = 3\n").unwrap();
    let o = eslmatrix(&["run", "--config", bad.to_str().unwrap(), "--backend", "virtual"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("line 3 in [display]: unknown field `brightnes`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    std::fs::write(&bad, "[display]\nintensity = 16\n").unwrap();
    let o = eslmatrix(&["run", "--config", bad.to_str().unwrap(), "--backend", "virtual"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("display.intensity 16: expected 0 to 15"), "{}", stderr(&o));

    let o = eslmatrix(&["run", "--config", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read config"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_with_the_example_config_shows_the_status_and_never_logs_the_password() {
    let (_rt, fs) = mock_in_background();
    fs.pbx().register("1000", eslmatrix_sim::fs::pbx::Transport::Udp, "Yealink").unwrap();
    let server = format!("127.0.0.1:{}", fs.addr().port());
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["run", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config/eslmatrix.toml")])
        .args(["--server", &server, "--backend", "virtual", "--seconds", "2", "-vv"])
        .env("ESLMATRIX_PASSWORD", "ClueCon")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let logs = stderr(&o);
    assert!(logs.contains("state rebuilt"), "{logs}");
    assert!(logs.contains("registrations=1"), "figures in words: {logs}");
    assert!(!logs.contains("ClueCon"), "the password leaked into the logs");
    // Logs that go to a file or the journal: plain text, fields in words, no Rust Debug.
    assert!(!logs.contains('\x1b'), "colour codes in piped logs: {logs}");
    for debug in ["Some(", "None", " { "] {
        assert!(!logs.contains(debug), "Rust Debug text {debug:?} in the logs: {logs}");
    }
    // The final picture: 32 × 8 `#`/`.` rows.
    let picture = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<&str> = picture.lines().collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.len() == 32));
    assert!(picture.contains('#'));
}

#[test]
fn run_logs_a_refused_password_without_it() {
    const SECRET: &str = "n0t-the-Password";
    let (_rt, fs) = mock_in_background();
    let server = format!("127.0.0.1:{}", fs.addr().port());
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["run", "--server", &server, "--backend", "virtual", "--seconds", "2", "-v"])
        .env("ESLMATRIX_PASSWORD", SECRET)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let logs = stderr(&o);
    assert!(logs.contains("password refused"), "the failure is logged: {logs}");
    assert!(logs.contains("ESLMATRIX_PASSWORD"), "the log says how to fix it: {logs}");
    assert!(!logs.contains(SECRET), "the password leaked into the logs: {logs}");
}

#[test]
fn demo_runs_for_the_seconds_asked() {
    let started = std::time::Instant::now();
    let o = eslmatrix(&["demo", "--seconds", "3", "--backend", "virtual"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let picture = String::from_utf8_lossy(&o.stdout);
    // The demo display is 8 modules wide, and something is lit.
    assert!(picture.lines().all(|r| r.len() == 64) && picture.lines().count() == 8, "{picture}");
    assert!(picture.contains('#'));
    // It stopped by itself (a generous bound: this is not a timing test).
    assert!(started.elapsed() < Duration::from_secs(60));
}
