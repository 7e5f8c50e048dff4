//! What a new user meets first, through the real binary: `run` refusing to write frames
//! nobody sees, `run --check`, and bad input answered with one line and exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn eslmatrix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(args)
        .env_remove("ESLMATRIX_PASSWORD")
        .output()
        .expect("run eslmatrix")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eslmatrix-first-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).display().to_string()
}

/// Exit code 2 and exactly one line on stderr, naming `needle`.
fn refused(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(needle), "{needle:?} in {err:?}");
    err
}

#[test]
fn run_without_a_backend_and_without_a_terminal_refuses_at_start() {
    // The tests' stdout is a pipe, as under systemd.
    let o = eslmatrix(&["run", "--seconds", "1"]);
    let err = refused(&o, "no backend set and stdout is not a terminal");
    assert!(err.contains("[output]") && err.contains("--backend"), "says how to choose: {err}");
    assert!(stdout(&o).is_empty(), "no frames: {}", stdout(&o));
}

#[test]
fn run_check_prints_the_resolved_settings_of_the_installed_config() {
    let o = eslmatrix(&["run", "--check", "--config", &repo("docs/deploy/eslmatrix.toml")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("\noutput: spidev:/dev/spidev0.0 ([output] backend)\n"), "{out}");
    assert!(out.contains("server 127.0.0.1: 127.0.0.1:8021"), "{out}");
    assert!(out.contains("display: 4x1 modules (32×8 LEDs)"), "{out}");
    assert!(out.ends_with("ok\n"), "{out}");
    // --backend overrides the file.
    let o = eslmatrix(&[
        "run",
        "--check",
        "--config",
        &repo("docs/deploy/eslmatrix.toml"),
        "--backend",
        "virtual",
    ]);
    assert!(stdout(&o).contains("\noutput: virtual (--backend)\n"), "{}", stdout(&o));
}

#[test]
fn run_check_never_prints_a_password() {
    let path = scratch("secret.toml");
    std::fs::write(&path, "[[server]]\nhost = \"pbx\"\npassword = \"hunter2\"\n").unwrap();
    let o = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("hunter2") && stdout(&o).contains("password from the config"),
        "{}",
        stdout(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["run", "--check"])
        .env("ESLMATRIX_PASSWORD", "from-env")
        .output()
        .unwrap();
    assert!(stdout(&o).contains("password from ESLMATRIX_PASSWORD") && !stdout(&o).contains("from-env"));
}

#[test]
fn run_check_refuses_a_bad_config_with_exit_2() {
    let path = scratch("typo.toml");
    std::fs::write(&path, "[output]\nbackend = \"spidve\"\n").unwrap();
    refused(
        &eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]),
        "output.backend: unknown backend",
    );
    std::fs::write(&path, "[[server]]\npassword = 987654321\n").unwrap();
    let err = refused(&eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]), "password");
    assert!(!err.contains("987654321"), "{err}");
}

#[test]
fn a_password_with_a_line_break_is_refused_at_start() {
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["run", "--backend", "virtual", "--seconds", "5"])
        .env("ESLMATRIX_PASSWORD", "ClueCon\r\n")
        .output()
        .unwrap();
    let err = refused(&o, "the password has a line break");
    assert!(!err.contains("ClueCon\r"), "{err:?}");
}

#[test]
fn text_options_that_cannot_apply_are_refused_not_ignored() {
    let err =
        refused(&eslmatrix(&["text", "NO LINK", "--align", "center", "--backend", "virtual"]), "--align");
    assert!(err.contains("scrolls") && err.contains("--font small"), "says what to do: {err}");
    refused(
        &eslmatrix(&["text", "HI", "--blink", "500", "--backend", "virtual"]),
        "--blink 500 needs --hold",
    );
    refused(&eslmatrix(&["text", "HI", "--loop", "--hold", "2", "--backend", "virtual"]), "--loop");
}

#[test]
fn scrolling_text_on_a_picture_backend_keeps_its_first_full_picture() {
    // Without --steps the scroll would end blank; the picture views keep the first picture
    // whose left edge is the text's start.
    let o = eslmatrix(&["text", "HELLO WORLD", "--backend", "virtual"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert!(rows.iter().any(|r| r.starts_with('#')), "text from the left edge: {rows:?}");
    assert!(rows.iter().all(|r| r.len() == 32));
    let png = scratch("scroll.png");
    let o = eslmatrix(&["text", "HELLO WORLD", "--backend", &format!("png:{}", png.display())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), format!("wrote {}\n", png.display()), "a file backend says what it wrote");
    let img = image::open(&png).unwrap().to_rgb8();
    assert!(img.pixels().any(|p| p[0] > 200 && p[1] < 90), "lit LEDs in the PNG");
}

#[test]
fn an_unwritable_output_is_a_usage_error() {
    for backend in
        ["png:/nonexistent/dir/x.png", "spilog:/nonexistent/dir/x.txt", "gif:/nonexistent/dir/x.gif"]
    {
        refused(&eslmatrix(&["text", "HI", "--backend", backend]), "/nonexistent/dir/x.");
    }
    let capture = repo("fixtures/spi/hello-fc16-4x1.txt");
    let o = eslmatrix(&["replay", &capture, "--block-orientation", "90", "--png", "/nonexistent/dir/x.png"]);
    refused(&o, "/nonexistent/dir/x.png");
}
