//! The bring-up commands as a user runs them: selftest, wiring, probe, and text's
//! glitch refresh.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn eslmatrix(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eslmatrix");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eslmatrix-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn snapshot_rows(rel: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap();
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    body.trim_end().to_string() + "\n"
}

#[test]
fn selftest_on_a_file_backend_runs_without_waiting_and_keeps_the_last_pattern() {
    let o = eslmatrix(
        &["selftest", "--only", "chain-index", "--backend", "virtual", "--preset", "fc16", "--reverse-order"],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), snapshot_rows("golden/selftest/wide-fc16-reversed-chain-index.snap"));
    assert!(stderr(&o).contains("[1/1] chain-index: each module shows its chain index"));
    let all = eslmatrix(&["selftest", "--backend", "virtual"], "");
    assert!(all.status.success(), "{}", stderr(&all));
    assert_eq!(stderr(&all).lines().filter(|l| l.starts_with('[')).count(), 7);
}

#[test]
fn selftest_blf_shows_each_lamp_with_its_legend() {
    let o = eslmatrix(&["selftest", "--blf", "--modules", "8x1", "--backend", "virtual"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let legends: Vec<String> = stderr(&o).lines().filter(|l| l.starts_with('[')).map(str::to_owned).collect();
    let names: Vec<&str> =
        legends.iter().map(|l| l.split_whitespace().nth(1).unwrap_or("").trim_end_matches(':')).collect();
    assert_eq!(
        names,
        [
            "blf-idle",
            "blf-in-call",
            "blf-ringing",
            "blf-on-hold",
            "blf-not-registered",
            "blf-panel",
            "blf-dots"
        ]
    );
    assert!(legends[2].contains("blinking fast, 125 ms lit, 125 ms dark"), "{legends:?}");
    assert!(legends[3].contains("blinking slowly, 500 ms lit, 500 ms dark"), "{legends:?}");
    // The panels say which cell is which on this display.
    assert!(stderr(&o).contains(
        "2-digit blocks from the left: 00 idle, 01 in a call, 02 ringing, 03 on hold, 04 not registered, 05 idle"
    ));
    assert!(stderr(&o).contains("64 per module: row 0 idle, row 1 in a call, row 2 ringing"));
    // It ends on the dots: row 0 idle (dark), row 1 in a call, rows 2-4 blinking or blipping
    // in their lit phase, row 5 idle.
    let rows: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(rows.len(), 8);
    assert!(!rows[0].contains('#') && !rows[5].contains('#'));
    assert!([1, 2, 3, 4, 6, 7].iter().all(|&r| !rows[r].contains('.')));
    let both = eslmatrix(&["selftest", "--blf", "--only", "arrows", "--backend", "virtual"], "");
    assert_eq!(both.status.code(), Some(2), "--blf is its own list: {}", stderr(&both));
}

#[test]
fn wiring_wizard_answers_become_a_config_section() {
    // The virtual backend is a generic row-major chain: module 1 lights first, module 3
    // second, the arrow points up and the F reads normally.
    let o = eslmatrix(&["wiring", "--backend", "virtual"], "2x2\n1\n3\nup\nn\ny\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "[display]\nmodules = \"2x2\"\nchain_order = \"row-major\"\n# module wiring: the generic preset\n\
         digits_are_rows = false\ncolumns_reversed = false\nrows_reversed = false\nrotate = 0\n"
    );
    // Bad answers are explained and asked again; --write puts the section in a file.
    let file = scratch("display.toml");
    let o = eslmatrix(
        &["wiring", "--modules", "4x1", "--backend", "virtual", "--write", file.to_str().unwrap()],
        "2\n1\nsideways\nup\nn\ny\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("the chain must start at the left or right end of the top row"), "{err}");
    assert!(err.contains("\"sideways\" is not a direction"), "{err}");
    assert_eq!(stdout(&o), "");
    assert!(std::fs::read_to_string(&file).unwrap().contains("modules = \"4x1\""));
    // A simulated chain with a hidden wiring: FC-16 modules chained from the right. The
    // right module lights first, the arrow points right, the F does not read backwards.
    let o = eslmatrix(
        &[
            "wiring",
            "--modules",
            "4x1",
            "--backend",
            "virtual",
            "--sim-chain-order",
            "reversed",
            "--sim-preset",
            "fc16",
        ],
        "4\nright\nn\ny\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("chain_order = \"reversed\"\n# module wiring: the fc16 preset\n"),
        "{}",
        stdout(&o)
    );
    let o = eslmatrix(&["wiring", "--modules", "4x1", "--backend", "png:x.png", "--sim-preset", "fc16"], "");
    assert_eq!(o.status.code(), Some(2));
    // Stopping early writes nothing and says so.
    let o = eslmatrix(&["wiring", "--modules", "4x1", "--backend", "virtual"], "1\nq\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wiring wizard stopped: nothing written"));
}

#[test]
fn probe_reports_the_chain_or_what_to_check() {
    let o = eslmatrix(&["probe", "--backend", "virtual", "--sim-chips", "12"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "chain intact, 12 chips\n");
    let o = eslmatrix(&["probe", "--backend", "virtual", "--sim-chips", "12", "--sim-break-after", "5"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no marker came back after 256 words: DOUT not wired to MISO"));
    let o = eslmatrix(&["probe", "--backend", "virtual", "--expect", "8"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("chain intact, 4 chips, but 8 were expected"));
    let o = eslmatrix(&["probe", "--backend", "virtual", "--max-chips", "0"], "");
    assert_eq!(o.status.code(), Some(2));
    let help = eslmatrix(&["probe", "--help"], "");
    assert!(stdout(&help).contains("voltage divider"), "{}", stdout(&help));
}

#[cfg(not(feature = "hardware"))]
#[test]
fn spidev_without_the_hardware_feature_says_how_to_get_it() {
    for args in [
        &["probe"][..],
        &["selftest", "--backend", "spidev"][..],
        &["text", "hi", "--backend", "spidev:/dev/spidev0.1"][..],
    ] {
        let o = eslmatrix(args, "");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o),
            "eslmatrix: this build has no hardware support: rebuild with --features hardware\n"
        );
    }
}

#[test]
fn text_refreshes_on_request_and_never_blanks_on_exit() {
    let log = scratch("refresh.log");
    let spilog = format!("spilog:{}", log.display());
    let o = eslmatrix(
        &["text", "Hello there, world", "--steps", "5", "--refresh-every", "0", "--backend", &spilog],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&log).unwrap();
    // Init and every refresh start by putting the chips in shutdown.
    let refreshes = text.lines().filter(|l| l.starts_with("0C 00")).count();
    assert_eq!(refreshes, 1 + 5);
    // The last thing sent is picture or wake-up, never a blanking shutdown or a clear.
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("0C 01"), "{last}");
    let replay = eslmatrix(&["replay", log.to_str().unwrap()], "");
    assert!(replay.status.success(), "{}", stderr(&replay));
    assert!(stdout(&replay).contains('#'), "the text is still up:\n{}", stdout(&replay));

    let still = scratch("still.log");
    let o = eslmatrix(&["text", "Hi", "--backend", &format!("spilog:{}", still.display())], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&still).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("0C 00")).count(), 1, "only init shuts down");
    let o = eslmatrix(&["text", "Hi", "--refresh-every", "-1", "--backend", "virtual"], "");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn spidev_backend_names_parse_with_the_default_device() {
    use eslmatrix::backend::BackendSpec;
    assert_eq!("spidev".parse(), Ok(BackendSpec::Spidev("/dev/spidev0.0".into())));
    assert_eq!("spidev:/dev/spidev0.1".parse(), Ok(BackendSpec::Spidev("/dev/spidev0.1".into())));
    assert!(BackendSpec::Spidev("/dev/spidev0.0".into()).is_live());
}

#[cfg(feature = "hardware")]
#[test]
fn a_missing_spidev_device_says_to_enable_spi() {
    let e = eslmatrix::backend::spidev::open(Path::new("/nonexistent/spidev9.9"), Default::default())
        .err()
        .expect("no such device");
    assert!(e.to_string().contains("SPI is not enabled"), "{e}");
}
