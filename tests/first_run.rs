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
    assert!(out.contains("\nspi clock: 8000000 Hz (the default)\n"), "{out}");
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

/// A PNG whose header claims `w`×`h` over a few bytes of data: what a hostile or broken file
/// looks like to a decoder that trusts the header.
fn png_claiming(path: &Path, w: u32, h: u32) {
    let mut data = Vec::new();
    let mut enc = png::Encoder::new(&mut data, w, h);
    enc.set_color(png::ColorType::Grayscale);
    let mut writer = enc.write_header().unwrap();
    // An empty zlib stream (one stored block of 0 bytes): the rows are missing, which only
    // a decoder that went past the header would notice.
    let empty_zlib = [0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01];
    writer.write_chunk(png::chunk::IDAT, &empty_zlib).unwrap();
    drop(writer);
    std::fs::write(path, data).unwrap();
}

#[test]
fn an_image_too_big_for_any_display_is_refused_from_its_header() {
    let path = scratch("huge.png");
    png_claiming(&path, 23168, 23168);
    let err = refused(&eslmatrix(&["image", path.to_str().unwrap(), "--backend", "virtual"]), "23168×23168");
    assert!(err.contains("at most 4096"), "{err}");
    png_claiming(&path, 20, 8);
    refused(&eslmatrix(&["image", path.to_str().unwrap(), "--backend", "virtual"]), "multiples of 8");
}

#[test]
fn replay_reads_a_stream_with_bounded_lines() {
    // /dev/zero has no line end: the first line is over the cap, not all of memory.
    let o = eslmatrix(&["replay", "/dev/zero"]);
    refused(&o, "line 1 is longer than 64 KiB");
    let path = scratch("long-line.txt");
    std::fs::write(&path, format!("01 00 01 00 01 00 01 00\n{}\n", "00".repeat(40_000))).unwrap();
    refused(&eslmatrix(&["replay", path.to_str().unwrap()]), "line 2 is longer than 64 KiB");
    std::fs::write(&path, "# only a comment\n\n").unwrap();
    refused(&eslmatrix(&["replay", path.to_str().unwrap()]), "no transactions");
}

#[test]
fn control_characters_from_the_input_are_escaped_in_errors() {
    let path = scratch("escape.txt");
    std::fs::write(&path, "01 00\u{1b}[31m\n").unwrap();
    let err = refused(&eslmatrix(&["replay", path.to_str().unwrap()]), "is not hex");
    assert!(!err.contains('\u{1b}') && err.contains("\\u{1b}[31m"), "{err:?}");
}

#[test]
fn chain_lengths_share_one_documented_maximum() {
    for args in [&["--cascaded", "4294967295"][..], &["--modules", "65536x65536"]] {
        let mut all = vec!["text", "HI", "--backend", "virtual"];
        all.extend_from_slice(args);
        refused(&eslmatrix(&all), "4096");
    }
    let path = scratch("cascaded.toml");
    std::fs::write(&path, "[display]\ncascaded = 4294967295\n").unwrap();
    refused(&eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]), "4096");
}

#[test]
fn mock_fs_listens_on_a_host_name() {
    use std::io::Read;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["mock-fs", "--listen", &format!("localhost:{port}")])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let greeting = loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("localhost", port)) {
            let mut buf = [0u8; 26];
            s.read_exact(&mut buf).unwrap();
            break String::from_utf8_lossy(&buf).into_owned();
        }
        assert!(child.try_wait().unwrap().is_none(), "mock-fs exited");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(greeting, "Content-Type: auth/request");
}

#[test]
fn wiring_write_merges_into_an_existing_config_and_keeps_a_backup() {
    use std::io::Write;
    let original = std::fs::read_to_string(repo("fixtures/config/eslmatrix.toml")).unwrap();
    let path = scratch("merge.toml");
    std::fs::write(&path, &original).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["wiring", "--modules", "4x1", "--backend", "virtual", "--write", path.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"1\nup\nn\ny\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("merge.toml.bak"), "{}", stderr(&o));
    let merged = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(scratch("merge.toml.bak")).unwrap(),
        original,
        "the backup is the old file"
    );
    // Every other table and comment survives; the wiring keys are the wizard's.
    for kept in [
        "# Event Socket supervision.",
        "[link]",
        "heartbeat = \"20s\"",
        "[[page]]",
        "[alerts.incoming]",
        "intensity = 7",
        "font = \"proportional\"",
        "# eslmatrix daemon configuration",
    ] {
        assert!(merged.contains(kept), "{kept:?} kept in:\n{merged}");
    }
    assert!(
        merged.contains("modules = \"4x1\"") && merged.contains("# module wiring: the generic preset"),
        "{merged}"
    );
    assert!(!merged.contains("\ncascaded = 4"), "the old chain length is gone: {merged}");
    assert!(merged.lines().count() > 70, "not replaced by the 8-line section");
    let check = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    assert!(check.status.success(), "the merged file is a valid config: {}", stderr(&check));
}

#[test]
fn demo_falls_back_to_the_terminal_when_the_window_cannot_open() {
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["demo", "--seconds", "1"])
        .env("DISPLAY", ":9876")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("showing the demo in the terminal instead"), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 8, "the final picture: {}", stdout(&o));
    // Asked for by name, a window that cannot open is an error.
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["demo", "--seconds", "1", "--backend", "window"])
        .env("DISPLAY", ":9876")
        .output()
        .unwrap();
    refused(&o, "cannot open a window");
}

#[test]
fn font_names_are_the_same_on_the_command_line_and_in_the_config() {
    let a = eslmatrix(&["text", "Hi", "--font", "proportional8", "--backend", "virtual"]);
    let b = eslmatrix(&["text", "Hi", "--font", "proportional", "--backend", "virtual"]);
    assert!(a.status.success() && stdout(&a) == stdout(&b), "{}", stderr(&a));
    let path = scratch("font.toml");
    std::fs::write(&path, "[display]\nfont = \"proportional\"\n").unwrap();
    let o = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    assert!(o.status.success() && stdout(&o).contains("font proportional"), "{}", stderr(&o));
}

#[test]
fn a_refused_connection_says_what_to_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = eslmatrix(&[
        "run",
        "--backend",
        "virtual",
        "--seconds",
        "1",
        "--server",
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err.lines().find(|l| l.contains("cannot connect")).unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(&format!("mod_event_socket listening on 127.0.0.1:{port}")), "{line}");
    assert!(line.contains("event_socket.conf.xml"), "{line}");
    assert!(!line.contains('\u{1b}'), "plain log text when stderr is not a terminal: {line:?}");
}

/// The keys a config table takes, as the config's own parser lists them when it refuses an
/// unknown one: the list cannot drift from the code.
fn config_keys(table: &str) -> Vec<String> {
    let e = eslmatrix::config::Config::parse(&format!("[{table}]\nno_such_key = 1\n"), None)
        .expect_err("an unknown key is refused")
        .to_string();
    // serde says `expected one of `a`, `b`` or, for a table of one key, `expected `a``.
    let (_, list) = e.split_once("expected").unwrap_or_else(|| panic!("the error lists the keys: {e}"));
    let keys: Vec<String> = list.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    assert!(!keys.is_empty(), "{e}");
    keys
}

#[test]
fn every_display_and_output_key_of_the_config_has_its_run_flag() {
    let help = stdout(&eslmatrix(&["run", "--help"]));
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config/eslmatrix.toml"))
            .unwrap();
    for table in ["display", "output"] {
        let keys = config_keys(table);
        for key in &keys {
            let flag = format!("--{}", key.replace('_', "-"));
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "[{table}] {key} has no {flag} in run --help:\n{help}"
            );
            // The example config names every key, set, commented out or in a comment.
            assert!(example.contains(key.as_str()), "[{table}] {key} missing from the example config");
        }
    }
    assert!(config_keys("display").contains(&"flip_x".to_owned()), "the list is the real one");
}

#[test]
fn display_flags_mean_what_their_keys_mean() {
    let path = scratch("look.toml");
    std::fs::write(&path, "[display]\nflip_x = true\ninvert = true\nfont = \"small\"\nrefresh_every = \"60s\"\nblank_on_exit = true\nmax_current_ma = 500\n").unwrap();
    let from_file = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    let from_flags = eslmatrix(&[
        "run",
        "--check",
        "--flip-x",
        "--invert",
        "--font",
        "small",
        "--refresh-every",
        "60s",
        "--blank-on-exit",
        "--max-current-ma",
        "500",
    ]);
    assert!(
        from_file.status.success() && from_flags.status.success(),
        "{}{}",
        stderr(&from_file),
        stderr(&from_flags)
    );
    let settings = |o: &std::process::Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter(|l| l.starts_with("display:") || l.starts_with("look:") || l.starts_with("pages:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(settings(&from_file), settings(&from_flags));
    let shown = settings(&from_flags).join("\n");
    for want in [
        "columns_reversed yes",
        "font small",
        "invert yes",
        "refresh_every 60s",
        "blank_on_exit yes",
        "max_current_ma 500",
    ] {
        assert!(shown.contains(want), "{want} in {shown}");
    }
    // The bare number `text --refresh-every` always took still means seconds; zero is no period.
    let o = eslmatrix(&["run", "--check", "--refresh-every", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--refresh-every"), "{}", stderr(&o));
    std::fs::write(&path, "[display]\nmax_current_ma = 0\n").unwrap();
    let o = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    refused(&o, "display.max_current_ma 0: must be above 0 mA");
}

#[test]
fn the_spi_clock_is_a_checked_output_key_with_its_flag() {
    let path = scratch("spi.toml");
    std::fs::write(&path, "[output]\nbackend = \"spidev\"\nspi_speed_hz = 1_000_000\n").unwrap();
    let o = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    assert!(stdout(&o).contains("\nspi clock: 1000000 Hz ([output] spi_speed_hz)\n"), "{}", stdout(&o));
    let o = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap(), "--spi-speed", "4000000"]);
    assert!(stdout(&o).contains("\nspi clock: 4000000 Hz (--spi-speed-hz)\n"), "{}", stdout(&o));
    // The MAX7219 datasheet's maximum serial clock is 10 MHz.
    std::fs::write(&path, "[output]\nspi_speed_hz = 10_000_001\n").unwrap();
    let o = eslmatrix(&["run", "--check", "--config", path.to_str().unwrap()]);
    let err = refused(&o, "output.spi_speed_hz 10000001: expected Hz from 10000 to 10000000");
    assert_eq!(err.lines().count(), 1, "{err}");
    for bad in ["0", "20000000", "fast", "-5"] {
        let o = eslmatrix(&["text", "Hi", "--backend", "virtual", &format!("--spi-speed={bad}")]);
        assert_eq!(o.status.code(), Some(2), "--spi-speed {bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("expected Hz from 10000 to 10000000"), "{}", stderr(&o));
    }
    let o = eslmatrix(&["text", "Hi", "--backend", "virtual", "--spi-speed", "10000000"]);
    assert!(o.status.success(), "the maximum itself is fine: {}", stderr(&o));
}
