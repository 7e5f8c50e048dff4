//! `eslmatrix calls` end to end: the real binary in a tmux pane against `mock-fs --scenario
//! demo`, read back with `capture-pane`, at 80×24 and at 40 columns; `q` gives the person's
//! screen and cursor back. Runs in real time: it waits for what the screen shows, never for
//! a duration.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::terminal_preview::Pane;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_eslmatrix")
}

/// The mock, killed when the test ends.
struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo_mock() -> (Mock, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(bin())
        .args(["mock-fs", "--scenario", "demo", "--seed", "1", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mock-fs starts");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "mock-fs never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Mock(child), port)
}

fn has(screen: &[String], needle: &str) -> bool {
    screen.iter().any(|l| l.contains(needle))
}

#[test]
fn the_call_list_runs_in_tmux_narrows_and_q_gives_the_terminal_back() {
    let (_mock, port) = demo_mock();
    let pane = Pane::new("calls", 80, 24);
    pane.type_line(&format!("clear; {} calls --server 127.0.0.1:{port}; echo EXIT=$?", bin()));
    let wide = pane.wait_for("the demo's WebRTC call", |s| {
        s.iter().any(|l| l.contains("Web Visitor (1001)") && l.contains("web"))
    });
    assert!(wide[0].starts_with("Dir Caller"), "the column header on top: {wide:#?}");
    assert!(has(&wide, "Hang-up cause"), "{wide:#?}");
    let status = pane.wait_for("the status line", |s| s.len() == 24 && s[23].contains("LINK UP"));
    assert!(status[23].starts_with("127.0.0.1: LINK UP │ "), "{status:#?}");
    assert!(status[23].contains("? help"), "{status:#?}");
    assert!(status.iter().all(|l| l.chars().count() <= 80), "nothing wraps: {status:#?}");
    assert_eq!(pane.tmux(&["display-message", "-p", "#{alternate_on}"]).trim(), "1", "the alternate screen");
    assert!(!pane.cursor_visible(), "no cursor over the list");

    pane.tmux(&["resize-window", "-x", "40"]);
    let narrow = pane.wait_for("the narrow list", |s| s.first().is_some_and(|l| l.starts_with("Caller")));
    assert!(narrow.iter().all(|l| l.chars().count() <= 40), "no line wraps at 40 columns: {narrow:#?}");
    assert!(has(&narrow, "Web Visitor (1001)"), "{narrow:#?}");
    assert!(narrow.iter().any(|l| l.starts_with("127.0.0.1: LINK UP")), "{narrow:#?}");

    pane.tmux(&["send-keys", "/", "V", "i", "s", "Enter"]);
    // Typing shows `filter: Vis▏` before Enter lands: wait for the kept filter itself, so a
    // capture between the keys and their redraw is not taken for the answer.
    let filtered = pane.wait_for("the filter kept by Enter", |s| {
        s.iter().any(|l| l.contains("filter: Vis")) && !s.iter().any(|l| l.contains("filter: Vis▏"))
    });
    assert!(!has(&filtered, "Reception (1002)"), "only matching calls: {filtered:#?}");
    pane.tmux(&["send-keys", "Escape"]);
    pane.tmux(&["send-keys", "Tab"]);
    let regs = pane.wait_for("the registrations tab", |s| s.first().is_some_and(|l| l.starts_with("User")));
    assert!(regs.iter().any(|l| l.contains("1001@") && l.contains("wss web")), "{regs:#?}");
    pane.tmux(&["send-keys", "q"]);
    let after = pane.wait_for("the exit", |s| s.iter().any(|l| l == "EXIT=0"));
    assert!(!has(&after, "LINK UP"), "the person's screen is back, not the list: {after:#?}");
    assert_eq!(pane.tmux(&["display-message", "-p", "#{alternate_on}"]).trim(), "0");
    assert!(pane.cursor_visible(), "the cursor is back");
}

#[test]
fn ctrl_c_also_restores_the_terminal() {
    let (_mock, port) = demo_mock();
    let pane = Pane::new("calls-ctrl-c", 80, 24);
    pane.type_line(&format!("clear; {} calls --server 127.0.0.1:{port}; echo EXIT=$?", bin()));
    pane.wait_for("the list", |s| s.len() == 24 && s[23].contains("LINK UP"));
    pane.tmux(&["send-keys", "C-c"]);
    pane.wait_for("the exit", |s| s.iter().any(|l| l == "EXIT=0"));
    assert_eq!(pane.tmux(&["display-message", "-p", "#{alternate_on}"]).trim(), "0");
    assert!(pane.cursor_visible());
}

#[test]
fn without_a_terminal_it_prints_the_list_once() {
    let (_mock, port) = demo_mock();
    let out = Command::new(bin()).args(["calls", "--server", &format!("127.0.0.1:{port}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Dir Caller"), "{text}");
    assert!(
        lines.last().unwrap().starts_with("127.0.0.1: LINK UP │ "),
        "printed once the link is up: {text}"
    );
    assert!(!text.contains('\x1b'), "plain text, no escapes: {text:?}");

    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(bin())
        .args(["calls", "--server", &format!("127.0.0.1:{down}"), "--seconds", "1.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().last().unwrap().starts_with("127.0.0.1: NO LINK"), "{text}");

    let bad = Command::new(bin()).args(["calls", "--keep-ended", "soon"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
}
