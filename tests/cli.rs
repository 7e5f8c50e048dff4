//! The command line as a user meets it: pictures on stdout, captures that replay, and
//! one-line errors with exit code 2 for bad input — never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn eslmatrix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eslmatrix")).args(args).output().expect("run eslmatrix")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eslmatrix-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).display().to_string()
}

/// The rows of an insta snapshot file (after its `---` header).
fn snapshot_rows(rel: &str) -> String {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    body.trim_end().to_string() + "\n"
}

#[test]
fn text_on_the_virtual_backend_prints_the_leds() {
    let o = eslmatrix(&["text", "HELL", "--font", "fixed", "--backend", "virtual"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), snapshot_rows("golden/frames/hello-fixed.snap"));
}

#[test]
fn a_spilog_capture_replays_to_the_same_picture() {
    let log = scratch("hi.txt");
    let spilog = format!("spilog:{}", log.display());
    let o = eslmatrix(&[
        "text",
        "Hi 42",
        "--align",
        "center",
        "--block-orientation",
        "-90",
        "--backend",
        &spilog,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let replay = eslmatrix(&["replay", log.to_str().unwrap(), "--block-orientation", "-90"]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    assert_eq!(stdout(&replay), snapshot_rows("golden/frames/hi-proportional.snap"));
    // Read with the wrong module wiring, the same bytes show a different picture.
    let wrong = eslmatrix(&["replay", log.to_str().unwrap(), "--block-orientation", "90"]);
    assert_ne!(stdout(&wrong), stdout(&replay));
}

#[test]
fn the_shipped_capture_replays_and_a_short_chain_is_warned_about() {
    let capture = fixture("fixtures/spi/hello-fc16-4x1.txt");
    let o = eslmatrix(&["replay", &capture, "--block-orientation", "90"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), snapshot_rows("golden/frames/hello-fixed.snap"));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let short = eslmatrix(&["replay", &capture, "--cascaded", "2", "--block-orientation", "90"]);
    assert!(short.status.success());
    assert!(stderr(&short).contains("were not 4 bytes"), "{}", stderr(&short));
}

#[test]
fn mid_scroll_steps_and_non_ascii_text() {
    let o = eslmatrix(&["text", "Grüße – “€” 日本", "--steps", "30", "--backend", "virtual"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.len() == 32));
    assert!(rows.iter().any(|r| r.contains('#')), "30 steps in, text is on the display");
}

#[test]
fn png_output_is_the_led_look() {
    let png = scratch("hello.png");
    let o = eslmatrix(&["text", "Hi", "--cascaded", "2", "--backend", &format!("png:{}", png.display())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (16 * 16, 8 * 16));
    let lit = img.pixels().filter(|p| p[0] > 200 && p[1] < 100).count();
    assert!(lit > 0, "some LEDs are lit red");
}

#[test]
fn an_image_must_fit_the_display() {
    let ok = eslmatrix(&["image", &fixture("golden/png/box-and-arrow.png"), "--backend", "virtual"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(stdout(&ok), snapshot_rows("golden/frames/box-and-arrow.snap"));
    let wrong = eslmatrix(&["image", &fixture("golden/png/box-and-arrow.png"), "--cascaded", "4"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("16×16 but the display is 32×8"), "{}", stderr(&wrong));
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let odd = scratch("odd.txt");
    std::fs::write(&odd, "0C 0\n").unwrap();
    let nothex = scratch("nothex.txt");
    std::fs::write(&nothex, "# a comment\n01 zz\n").unwrap();
    let empty = scratch("empty.txt");
    std::fs::write(&empty, "# only comments\n\n").unwrap();
    let odd_image = scratch("odd.png");
    image::RgbImage::new(10, 8).save(&odd_image).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["replay", odd.to_str().unwrap()], "odd number of hex digits"),
        (vec!["replay", nothex.to_str().unwrap()], "line 2"),
        (vec!["replay", empty.to_str().unwrap()], "no transactions"),
        (vec!["replay", "does/not/exist.txt"], "does/not/exist.txt"),
        (vec!["image", odd_image.to_str().unwrap()], "multiples of 8"),
        (vec!["text", "x", "--block-orientation", "45"], "45"),
        (vec!["text", "x", "--modules", "0x2"], "at least one module"),
        (vec!["text", "x", "--modules", "four"], "expected WxH"),
        (vec!["text", "x", "--cascaded", "0"], "at least 1"),
        (vec!["text", "x", "--intensity", "16"], "0 to 15"),
        (vec!["text", "x", "--rotate", "45"], "--rotate 45"),
        (vec!["text", "x", "--chain-order", "zigzag"], "zigzag"),
        (vec!["text", "x", "--preset", "fc17"], "fc17"),
        (vec!["text", "x", "--backend", "hdmi"], "unknown backend"),
        (vec!["text", "x", "--backend", "spilog:"], "needs a file"),
    ];
    for (args, needle) in cases {
        let o = eslmatrix(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn one_chain_length_bound_for_cascaded_modules_and_the_config() {
    let max = eslmatrix::driver::MAX_CHIPS;
    let config = scratch("too-long.toml");
    std::fs::write(&config, format!("[display]\ncascaded = {}\n", max + 1)).unwrap();
    let over_cascaded = (max + 1).to_string();
    let over_modules = format!("{}x2", max / 2 + 1);
    let config = config.display().to_string();
    for args in [
        vec!["text", "x", "--backend", "virtual", "--cascaded", &over_cascaded],
        vec!["text", "x", "--backend", "virtual", "--modules", &over_modules],
        vec!["run", "--backend", "virtual", "--seconds", "0", "--config", &config],
    ] {
        let o = eslmatrix(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("more than {max} modules")), "{args:?}: {}", stderr(&o));
    }
    let at_max = max.to_string();
    let o = eslmatrix(&["text", "x", "--backend", "spilog:/dev/null", "--cascaded", &at_max]);
    assert!(o.status.success(), "{max} modules are allowed: {}", stderr(&o));
}
