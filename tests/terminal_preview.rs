//! The terminal preview as a person sees it: the real binary in a tmux pane (tmux is a real
//! terminal emulator; .ci/run installs it), read back with `capture-pane`. In place, cropped
//! with a note when narrow, recovering on resize, the cursor back on exit and on Ctrl-C,
//! only the final picture when stdout is a pipe, and the daemon's link state in the caption.

use std::process::Command;
use std::time::{Duration, Instant};

use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};

/// One tmux server per test (its own socket), killed when the test ends (tests/calls_tmux.rs
/// drives its pane too).
pub(crate) struct Pane {
    socket: String,
}

impl Pane {
    pub(crate) fn new(name: &str, cols: u16, rows: u16) -> Pane {
        let pane = Pane { socket: format!("eslmatrix-test-{name}-{}", std::process::id()) };
        pane.tmux(&["new-session", "-d", "-x", &cols.to_string(), "-y", &rows.to_string(), "sh"]);
        pane
    }

    pub(crate) fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .env_remove("COLORTERM")
            .env_remove("NO_COLOR")
            .output()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types a command line into the pane's shell.
    pub(crate) fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-l", line]);
        self.tmux(&["send-keys", "Enter"]);
    }

    /// The pane's text, trailing blank lines removed.
    pub(crate) fn screen(&self) -> Vec<String> {
        let text = self.tmux(&["capture-pane", "-p"]);
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
        while lines.last().is_some_and(std::string::String::is_empty) {
            lines.pop();
        }
        lines
    }

    pub(crate) fn cursor_visible(&self) -> bool {
        self.tmux(&["display-message", "-p", "#{cursor_flag}"]).trim() == "1"
    }

    /// Waits until `done` holds for the screen (the program runs in real time).
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waiting for {what}; the screen:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).output();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_eslmatrix")
}

fn count(screen: &[String], needle: &str) -> usize {
    screen.iter().filter(|l| l.contains(needle)).count()
}

/// A scroll that ends by itself, watched while it runs: the test must see it running, and how
/// soon tmux and the test get to look depends on the machine's load, not on the program. So a
/// run the test only saw end (too quick for the machine, not wrong) is played again slower,
/// rather than a wall-time guess deciding the verdict.
#[test]
fn scrolling_text_draws_in_place_with_a_caption_and_gives_the_cursor_back() {
    let pane = Pane::new("inplace", 80, 24);
    // Each run at most some 21 s, within wait_for's bound.
    for speed in [80, 40, 20, 10] {
        pane.type_line(&format!(
            "clear; {} text 'HELLO WORLD, scrolling' --speed {speed}; echo EXIT=$?",
            bin()
        ));
        let first = pane.wait_for("the caption or the exit", |s| {
            count(s, "Ctrl-C to quit") == 1 || s.iter().any(|l| l == "EXIT=0")
        });
        let hidden = !pane.cursor_visible();
        // Still running after the cursor was read: the reading is of the running program
        // (it draws its last caption before it gives the cursor back).
        let still = count(&pane.screen(), "Ctrl-C to quit") == 1;
        if count(&first, "Ctrl-C to quit") != 1 || !still {
            pane.wait_for("the exit", |s| s.iter().any(|l| l == "EXIT=0"));
            // A clean screen, so the next run is not judged by this one's exit line.
            pane.type_line("clear");
            pane.wait_for("a clear screen", |s| !s.iter().any(|l| l == "EXIT=0"));
            continue;
        }
        assert!(hidden, "the cursor is hidden while the picture runs");
        // 8 LED rows of 32 round dots, once: nothing scrolled off, nothing repeated.
        assert_eq!(first.iter().filter(|l| l.matches('●').count() == 32).count(), 8, "{first:#?}");
        let done = pane.wait_for("the exit", |s| s.iter().any(|l| l == "EXIT=0"));
        assert_eq!(done.iter().filter(|l| l.contains('●')).count(), 8, "one picture, in place: {done:#?}");
        assert_eq!(count(&done, "eslmatrix 32×8"), 1);
        assert_eq!(count(&done, "Ctrl-C"), 0, "the final caption no longer says how to quit");
        assert!(pane.cursor_visible(), "the cursor is back");
        return;
    }
    panic!("the scroll ended before the test could look at it, even at 10 columns a second");
}

#[test]
fn a_narrow_terminal_crops_with_a_note_and_a_resize_recovers() {
    let pane = Pane::new("narrow", 40, 24);
    pane.type_line(&format!("clear; {} text 'HELLO WORLD, scrolling' --cascaded 8 --loop", bin()));
    let narrow = pane.wait_for("the crop note", |s| count(s, "39 of 64 columns; widen the terminal") == 1);
    assert!(narrow.iter().all(|l| l.chars().count() < 40), "no line wraps: {narrow:#?}");
    assert_eq!(
        narrow.iter().filter(|l| l.contains('▀')).count(),
        4,
        "8 LED rows in half blocks: {narrow:#?}"
    );

    pane.tmux(&["resize-window", "-x", "140"]);
    let wide = pane.wait_for("the full picture", |s| count(s, "columns; widen") == 0 && count(s, "●") == 8);
    assert_eq!(wide.iter().filter(|l| l.matches('●').count() == 64).count(), 8, "{wide:#?}");
    assert_eq!(count(&wide, "Ctrl-C to quit"), 1, "one region, not a trail of them: {wide:#?}");

    pane.tmux(&["send-keys", "C-c"]);
    pane.wait_for("the prompt", |s| s.last().is_some_and(|l| l.ends_with('$') || l.ends_with('#')));
    assert!(pane.cursor_visible(), "Ctrl-C gives the cursor back");
    let after = pane.screen();
    assert_eq!(count(&after, "Ctrl-C to quit"), 0, "{after:#?}");
    assert_eq!(after.iter().filter(|l| l.matches('●').count() == 64).count(), 8, "the last picture stays");
}

#[test]
fn colours_follow_colorterm() {
    let pane = Pane::new("colours", 80, 24);
    pane.type_line(&format!("clear; {} text HI; echo EXIT=$?", bin()));
    pane.wait_for("the exit", |s| s.iter().any(|l| l == "EXIT=0"));
    let palette = pane.tmux(&["capture-pane", "-p", "-e"]);
    // tmux re-encodes what it shows: a 256-colour program gives `38;5;N`, never `38;2;`.
    assert!(palette.contains("38;5;") && !palette.contains("38;2;"), "{palette:?}");

    let pane = Pane::new("truecolour", 80, 24);
    pane.tmux(&["set-option", "-g", "-a", "terminal-overrides", ",*:Tc"]);
    pane.type_line(&format!("clear; COLORTERM=truecolor {} text HI; echo EXIT=$?", bin()));
    pane.wait_for("the exit", |s| s.iter().any(|l| l == "EXIT=0"));
    let truecolour = pane.tmux(&["capture-pane", "-p", "-e"]);
    assert!(truecolour.contains("38;2;"), "{truecolour:?}");
}

#[test]
fn a_pipe_gets_only_the_final_picture() {
    let out = Command::new(bin())
        .args(["text", "HELLO WORLD, scrolling", "--speed", "1000", "--steps", "20"])
        .output()
        .expect("run eslmatrix");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 8, "one picture of 8 rows, no frames before it: {text}");
    assert!(!text.contains('\x1b'), "no escapes into a pipe: {text:?}");
    assert!(text.lines().all(|l| l.len() == 32 && l.chars().all(|c| c == '#' || c == '.')), "{text}");
    assert!(text.contains('#'), "20 steps in, letters are on the display: {text}");
}

#[test]
fn the_caption_follows_the_link_in_the_leds_words() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let fs = rt.block_on(MockFreeSwitch::start(MockConfig::default())).unwrap();
    let pane = Pane::new("link", 100, 24);
    pane.type_line(&format!(
        "clear; ESLMATRIX_PASSWORD=ClueCon {} run --server 127.0.0.1:{}",
        bin(),
        fs.addr().port()
    ));
    let up = pane.wait_for("LINK UP in the caption", |s| count(s, "Ctrl-C to quit · LINK UP") == 1);
    assert_eq!(count(&up, "●"), 8, "the picture above the caption: {up:#?}");
    rt.block_on(fs.shutdown());
    // FreeSWITCH going away says so, then the refused reconnects leave the link down.
    let down = pane.wait_for("NO LINK in the caption", |s| count(s, "Ctrl-C to quit · NO LINK") == 1);
    assert_eq!(count(&down, "LINK UP"), 0, "{down:#?}");
    pane.tmux(&["send-keys", "C-c"]);
    pane.wait_for("the prompt", |s| s.last().is_some_and(|l| l.ends_with('$') || l.ends_with('#')));
}
