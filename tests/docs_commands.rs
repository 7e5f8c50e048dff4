//! The README and docs/*.md are true, by test: every command in a fenced `sh` block runs,
//! with a time limit, and exits 0; the examples that claim a picture are checked for it.
//!
//! A block's info string says where its commands run:
//! * ```` ```sh ```` here, as written: `eslmatrix` commands on the virtual backend (a
//!   `--backend` naming hardware or a window becomes `virtual`), endless ones (`run`,
//!   `demo`) bounded with `--seconds`, servers (`mock-fs`) checked to listen and then
//!   stopped; `cargo run -- ARGS` is `eslmatrix ARGS`; other `cargo` commands must be ones
//!   CI runs (.ci/); any other program is refused, so a new one must be marked.
//! * ```` ```sh network ```` against a FreeSWITCH: the test starts a mock one (with the
//!   password the command uses) and points every host and port in the command at it.
//! * ```` ```sh pi ```` on a Raspberry Pi: `eslmatrix` commands run on the virtual chain in
//!   place of spidev (the wizard gets the answers a generic chain calls for); the other
//!   lines set up the Pi (raspi-config, apt-get, usermod, dpkg -i…) and cannot run here.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};

/// A debug build on a loaded 2-core machine: generous, but a hung command still fails.
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Clone)]
struct Block {
    file: String,
    line: usize,
    tag: String,
    commands: Vec<(usize, String)>,
}

/// Every fenced `sh` block of README.md and docs/*.md.
fn blocks() -> Vec<Block> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.strip_prefix(repo()).unwrap().display().to_string();
        let mut current: Option<Block> = None;
        let mut pending = String::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if let Some(block) = current.as_mut() {
                if line.trim_start().starts_with("```") {
                    out.push(current.take().unwrap());
                    continue;
                }
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                if let Some(head) = trimmed.strip_suffix('\\') {
                    pending.push_str(head);
                    continue;
                }
                pending.push_str(trimmed);
                block.commands.push((n, std::mem::take(&mut pending)));
            } else if let Some(info) = line.trim_start().strip_prefix("```sh") {
                if info.is_empty() || info.starts_with(' ') {
                    let tag = info.trim().to_owned();
                    current = Some(Block { file: file.clone(), line: n, tag, commands: Vec::new() });
                }
            }
        }
    }
    out
}

/// Shell words: quotes, and a `#` comment outside them. Enough for documentation lines.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// A command ready to run: environment, arguments, standard input.
#[derive(Debug, Default)]
struct Run {
    env: Vec<(String, String)>,
    args: Vec<String>,
    stdin: String,
}

/// How a documented command runs here, or why it cannot.
enum Plan {
    Eslmatrix(Run),
    /// A pipeline through the shell (network blocks).
    Shell(String),
    /// A cargo command that CI runs.
    InCi,
    /// Setting up a Pi.
    PiSetup,
}

fn flag_value<'a>(args: &'a [String], names: &[&str]) -> Option<&'a str> {
    args.iter().position(|a| names.contains(&a.as_str())).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn set_flag(args: &mut Vec<String>, names: &[&str], value: &str) {
    match args.iter().position(|a| names.contains(&a.as_str())) {
        Some(i) if i + 1 < args.len() => args[i + 1] = value.to_owned(),
        _ => {
            args.push(names[0].to_owned());
            args.push(value.to_owned());
        }
    }
}

const TAKES_BACKEND: &[&str] = &["demo", "run", "show", "text", "image", "selftest", "wiring", "probe"];

/// The Event Socket password a command logs in with.
fn password_of(line: &str, run: Option<&Run>) -> String {
    if let Some(run) = run {
        if let Some(p) = flag_value(&run.args, &["-a", "--password"]) {
            return p.to_owned();
        }
        if let Some((_, v)) = run.env.iter().find(|(k, _)| k == "ESLMATRIX_PASSWORD") {
            return v.clone();
        }
    }
    let w = words(line);
    if let Some(i) = w.iter().position(|x| x.starts_with("auth ")) {
        // printf's text: the password ends at the first `\n` escape.
        let rest = w[i].trim_start_matches("auth ");
        return rest.split(['\\', '\n', ' ']).next().unwrap_or("").to_owned();
    }
    "ClueCon".to_owned()
}

fn plan(block: &Block, line: &str, mock_port: Option<u16>) -> Result<Plan, String> {
    let mut w = words(line);
    let mut env = Vec::new();
    while w.first().is_some_and(|x| x.contains('=') && !x.starts_with('-')) {
        let (k, v) = w.remove(0).split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap();
        env.push((k, v));
    }
    let program = w.first().cloned().unwrap_or_default();
    let mut args: Vec<String> = match program.as_str() {
        "eslmatrix" => w[1..].to_vec(),
        "cargo" if w.get(1).is_some_and(|s| s == "run") => {
            let dash = w.iter().position(|x| x == "--").ok_or("cargo run without --")?;
            w[dash + 1..].to_vec()
        }
        "cargo" if block.tag == "pi" => return Ok(Plan::PiSetup),
        "cargo" => {
            let ci = ci_text();
            let sub = format!("cargo {}", w.get(1).map_or("", String::as_str));
            let runs = ci
                .lines()
                .filter(|l| l.contains(&sub))
                .any(|l| w[2..].iter().all(|a| l.contains(a.as_str())));
            return if runs { Ok(Plan::InCi) } else { Err(format!("`{line}`: no .ci/ script runs it")) };
        }
        _ if block.tag == "pi" => return Ok(Plan::PiSetup),
        _ if block.tag == "network" => {
            let port = mock_port.ok_or("no mock")?;
            let mut shell = line.to_owned();
            for host in ["192.0.2.10", "pbx.example.com", "10.0.0.5"] {
                shell = shell.replace(&format!("{host} 8021"), &format!("127.0.0.1 {port}"));
            }
            return Ok(Plan::Shell(shell));
        }
        other => {
            return Err(format!("`{line}`: {other} is not eslmatrix; mark the block (```sh pi or network)"))
        }
    };
    let sub = args.first().cloned().unwrap_or_default();
    let backend = args.iter().position(|a| a == "--backend");
    match backend {
        Some(i) => {
            let b = args.get(i + 1).cloned().unwrap_or_default();
            if b.starts_with("spidev") || b.starts_with("window") {
                args[i + 1] = "virtual".into();
            }
        }
        None if TAKES_BACKEND.contains(&sub.as_str()) => {
            args.push("--backend".into());
            args.push("virtual".into());
        }
        None => {}
    }
    // SIP's fixed ports (5060, 5066, 7443) and the pages' (8060) may be taken on this
    // machine or by a test beside this one: free ports, the documented flags otherwise.
    if let Some(i) = args.iter().position(|a| a == "--sip") {
        match args.get(i + 1) {
            Some(v) if !v.starts_with('-') => "127.0.0.1:0".clone_into(&mut args[i + 1]),
            _ => args.insert(i + 1, "127.0.0.1:0".into()),
        }
        if sub == "demo" {
            set_flag(&mut args, &["--pages"], "127.0.0.1:0");
        }
    }
    if (sub == "run" || sub == "demo") && !args.iter().any(|a| a == "--seconds") {
        args.extend(["--seconds".into(), "2".into()]);
    }
    if let Some(port) = mock_port {
        if (sub == "run" || sub == "calls") && flag_value(&args, &["--server"]).is_some() {
            set_flag(&mut args, &["--server"], &format!("127.0.0.1:{port}"));
        }
        if sub == "show" {
            set_flag(&mut args, &["-s", "--server"], "127.0.0.1");
            set_flag(&mut args, &["-p", "--port"], &port.to_string());
        }
    }
    let stdin = if sub == "wiring" { "1\nup\nn\ny\n".to_owned() } else { String::new() };
    Ok(Plan::Eslmatrix(Run { env, args, stdin }))
}

fn ci_text() -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(repo().join(".ci")).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

/// Runs `cmd` in `dir` to its end or the time limit; returns (exit code, stdout, stderr).
fn run_limited(mut cmd: Command, stdin: &str, dir: &Path) -> (Option<i32>, String, String) {
    let mut child = cmd
        .current_dir(dir)
        .env_remove("ESLMATRIX_PASSWORD")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, out, err)
}

/// A scratch directory with what the docs' commands expect beside them: the repository's
/// fixtures, and an `eslmatrix.toml` (the documented example, pointed at `port`).
fn workdir(name: &str, port: Option<u16>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eslmatrix-docs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(repo().join("fixtures"), dir.join("fixtures")).unwrap();
    // Commands that make the docs' pictures write them under docs/; here they land in the
    // scratch copy (`docs_pictures_are_what_their_commands_make` compares them).
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    let mut config = std::fs::read_to_string(repo().join("fixtures/config/eslmatrix.toml")).unwrap();
    if let Some(port) = port {
        config = config.replace("port = 8021", &format!("port = {port}"));
    }
    std::fs::write(dir.join("eslmatrix.toml"), config).unwrap();
    dir
}

/// `mock-fs` serves until stopped: it passes when it answers with the ESL greeting.
fn check_server(run: &Run, dir: &Path) -> Result<(), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut args = run.args.clone();
    set_flag(&mut args, &["--listen"], &format!("127.0.0.1:{port}"));
    if args.iter().any(|a| a == "--http") {
        set_flag(&mut args, &["--http"], "127.0.0.1:0");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(&args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let greeting = loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap_or(0);
            break String::from_utf8_lossy(&buf[..n]).into_owned();
        }
        if started.elapsed() > TIME_LIMIT || child.try_wait().unwrap().is_some() {
            break String::new();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    if greeting.starts_with("Content-Type: auth/request") {
        Ok(())
    } else {
        Err(format!("{args:?}: no ESL greeting on port {port}: {greeting:?}"))
    }
}

/// Runs one block's commands; each failure is one message.
fn run_block(block: &Block, index: usize) -> Vec<String> {
    let mut failures = Vec::new();
    let network = block.tag == "network";
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    // A mock per password the block's commands log in with; ClueCon's also serves the
    // example config in the scratch directory.
    let mut mocks: Vec<(String, eslmatrix_sim::fs::MockHandle)> = Vec::new();
    let web = std::cell::Cell::new(None);
    let mut mock_port = |password: String| -> u16 {
        if let Some((_, m)) = mocks.iter().find(|(p, _)| *p == password) {
            return m.addr().port();
        }
        // The web API too: `network` blocks may show curl against 127.0.0.1:8080.
        let http = Some(eslmatrix_sim::fs::http::HttpConfig::default());
        let config = MockConfig { password: password.clone(), http, ..MockConfig::default() };
        let mock = rt.block_on(MockFreeSwitch::start(config)).unwrap();
        let port = mock.addr().port();
        if password == "ClueCon" {
            web.set(mock.http_addr());
        }
        mocks.push((password, mock));
        port
    };
    let dir_port = network.then(|| mock_port("ClueCon".into()));
    let dir = workdir(&format!("{index}"), dir_port);
    for (line_no, line) in &block.commands {
        let at = format!("{}:{line_no}", block.file);
        let port = if network {
            let run = match plan(block, line, Some(0)) {
                Ok(Plan::Eslmatrix(r)) => Some(r),
                _ => None,
            };
            Some(mock_port(password_of(line, run.as_ref())))
        } else {
            None
        };
        let planned = match plan(block, line, port) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        let result = match planned {
            Plan::InCi | Plan::PiSetup => Ok(()),
            Plan::Eslmatrix(run) if run.args.first().is_some_and(|s| s == "mock-fs") => {
                check_server(&run, &dir)
            }
            Plan::Eslmatrix(run) => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_eslmatrix"));
                cmd.args(&run.args);
                for (k, v) in &run.env {
                    cmd.env(k, v);
                }
                match run_limited(cmd, &run.stdin, &dir) {
                    (Some(0), _, _) => Ok(()),
                    (code, _, err) => Err(format!("{:?} exited {code:?}: {}", run.args, err.trim())),
                }
            }
            Plan::Shell(mut shell) => {
                if let Some(web) = web.get() {
                    shell = shell.replace("127.0.0.1:8080", &web.to_string());
                }
                let mut cmd = Command::new("sh");
                cmd.args(["-c", &shell]);
                match run_limited(cmd, "", &dir) {
                    (Some(0), out, _) if !out.contains("-ERR") => Ok(()),
                    (code, out, err) => {
                        Err(format!("`{shell}` exited {code:?}: {} {}", out.trim(), err.trim()))
                    }
                }
            }
        };
        if let Err(e) = result {
            failures.push(format!("{at}: {e}"));
        }
    }
    failures
}

#[test]
fn every_documented_command_runs() {
    let blocks = blocks();
    assert!(blocks.len() >= 10, "found the docs' sh blocks: {}", blocks.len());
    let mut failures = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        if !["", "pi", "network"].contains(&block.tag.as_str()) {
            failures.push(format!("{}:{}: unknown block tag {:?}", block.file, block.line, block.tag));
            continue;
        }
        failures.extend(run_block(block, i));
    }
    assert!(failures.is_empty(), "documented commands that fail:\n{}", failures.join("\n"));
}

#[test]
fn the_markers_mean_what_they_say() {
    let block = |tag: &str| Block { file: "x.md".into(), line: 1, tag: tag.into(), commands: vec![] };
    // An unmarked foreign program is refused; marked, it is a Pi's setup step.
    assert!(plan(&block(""), "sudo reboot", None).is_err());
    assert!(matches!(plan(&block("pi"), "sudo reboot", None), Ok(Plan::PiSetup)));
    // Hardware becomes the virtual chain; a daemon is bounded; a PBX becomes the mock.
    let Ok(Plan::Eslmatrix(r)) =
        plan(&block("pi"), "eslmatrix selftest --backend spidev --modules 4x1", None)
    else {
        panic!()
    };
    assert_eq!(r.args, ["selftest", "--backend", "virtual", "--modules", "4x1"]);
    let Ok(Plan::Eslmatrix(r)) =
        plan(&block("network"), "ESLMATRIX_PASSWORD=secret eslmatrix run --server pbx.example.com", Some(9))
    else {
        panic!()
    };
    assert_eq!(r.env, [("ESLMATRIX_PASSWORD".to_owned(), "secret".to_owned())]);
    assert_eq!(r.args, ["run", "--server", "127.0.0.1:9", "--backend", "virtual", "--seconds", "2"]);
    assert_eq!(password_of("", Some(&r)), "secret");
    // SIP and the pages on free ports, whether --sip names an address or not.
    let Ok(Plan::Eslmatrix(r)) = plan(&block(""), "eslmatrix demo --sip", None) else { panic!() };
    assert_eq!(
        r.args,
        ["demo", "--sip", "127.0.0.1:0", "--backend", "virtual", "--pages", "127.0.0.1:0", "--seconds", "2"]
    );
    let Ok(Plan::Eslmatrix(r)) = plan(&block(""), "eslmatrix mock-fs --sip 127.0.0.1:5060 -v", None) else {
        panic!()
    };
    assert_eq!(r.args, ["mock-fs", "--sip", "127.0.0.1:0", "-v"]);
    assert_eq!(password_of(r"printf 'auth s3cret\n\napi status\n\n' | nc 192.0.2.10 8021", None), "s3cret");
    assert_eq!(
        words(r#"eslmatrix text "Zoë's \"call\"" --x 'a b' # note"#),
        ["eslmatrix", "text", "Zoë's \"call\"", "--x", "a b"]
    );
    // A cargo command nobody runs is refused.
    assert!(plan(&block(""), "cargo frobnicate --all", None).is_err());
    assert!(matches!(plan(&block(""), "cargo test --workspace", None), Ok(Plan::InCi)));
}

// The pictures the README promises.

fn eslmatrix(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eslmatrix")).args(args).output().unwrap()
}

fn rows(o: &std::process::Output) -> Vec<Vec<bool>> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(|l| l.chars().map(|c| c == '#').collect()).collect()
}

/// The documented command line, as words, from the README's text block.
fn readme_command(starts: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let line =
        readme.lines().find(|l| l.starts_with(starts)).unwrap_or_else(|| panic!("README has `{starts}`"));
    words(line)[1..].to_vec()
}

#[test]
fn hello_fits_and_stands_still() {
    let mut args = readme_command("eslmatrix text \"Hello\"");
    assert!(readme_command("eslmatrix text \"Hello\"").len() == 2, "the plain example: {args:?}");
    args.extend(["--backend".into(), "virtual".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let still = rows(&eslmatrix(&args));
    assert_eq!((still.len(), still[0].len()), (8, 32));
    let lit_columns: Vec<usize> = (0..32).filter(|&x| still.iter().any(|r| r[x])).collect();
    assert_eq!(lit_columns.first(), Some(&0), "starts at the left edge, whole");
    assert!(*lit_columns.last().unwrap() < 31, "ends inside the display: it fits");
    // Standing still: one step into a scroll it would look different; it does not scroll.
    let mut one_step = args.clone();
    one_step.extend(["--steps", "1"]);
    assert_eq!(rows(&eslmatrix(&one_step)), still);
}

#[test]
fn no_link_is_centred_inverted_blinking_and_held() {
    let doc = readme_command("eslmatrix text \"NO LINK\"");
    for flag in ["--align", "center", "--invert", "--blink", "500", "--hold", "5"] {
        assert!(doc.iter().any(|a| a == flag), "{flag} in {doc:?}");
    }
    let mut picture = doc.clone();
    picture.extend(["--backend".into(), "virtual".into()]);
    let picture: Vec<&str> = picture.iter().map(String::as_str).collect();
    let leds = rows(&eslmatrix(&picture));
    assert!(leds[0].iter().all(|&l| l), "inverted: the background is lit");
    let dark_columns: Vec<usize> = (0..32).filter(|&x| leds.iter().any(|r| !r[x])).collect();
    let (left, right) = (dark_columns[0], 31 - dark_columns[dark_columns.len() - 1]);
    assert!(left.abs_diff(right) <= 1, "centred: {left} columns left, {right} right");

    // Blinking and held: recorded as a GIF in real time, the text and the blank alternate
    // for the 5 s of --hold.
    let gif = std::env::temp_dir().join(format!("eslmatrix-docs-{}-nolink.gif", std::process::id()));
    let mut recorded = doc.clone();
    recorded.extend(["--backend".into(), format!("gif:{}:2", gif.display())]);
    let recorded: Vec<&str> = recorded.iter().map(String::as_str).collect();
    assert!(eslmatrix(&recorded).status.success());
    let decoder =
        image::codecs::gif::GifDecoder::new(std::io::BufReader::new(std::fs::File::open(&gif).unwrap()))
            .unwrap();
    let frames = image::AnimationDecoder::into_frames(decoder).collect_frames().unwrap();
    let total: Duration = frames.iter().map(|f| Duration::from(f.delay())).sum();
    assert!(frames.len() >= 8, "blinks: {} pictures", frames.len());
    assert!(total >= Duration::from_millis(4500), "held about 5 s: {total:?}");
}

/// The busy-lamp field's pictures in docs/ are exactly what the README's commands make.
#[test]
fn docs_pictures_are_what_their_commands_make() {
    for (starts, picture) in [
        ("eslmatrix selftest --only blf-panel --modules 8x1 --backend png:", "docs/blf-panel.png"),
        ("eslmatrix selftest --only blf-panel --modules 8x1 --backend gif:", "docs/blf-panel.gif"),
    ] {
        let args = readme_command(starts);
        assert!(args.iter().any(|a| a.contains(picture)), "{args:?} writes {picture}");
        let dir = workdir(&format!("picture-{}", picture.replace('/', "-")), None);
        let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix")).args(&args).current_dir(&dir).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let (made, kept) = (dir.join(picture), repo().join(picture));
        // A GIF is timed by the clock it was recorded on: its pictures must match, not its delays.
        let same = if picture.ends_with(".gif") {
            gif_pictures(&made) == gif_pictures(&kept)
        } else {
            std::fs::read(&made).unwrap() == std::fs::read(&kept).unwrap()
        };
        assert!(same, "{picture} is not what `{}` makes: run it again", args.join(" "));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn gif_pictures(path: &Path) -> Vec<Vec<u8>> {
    let decoder =
        image::codecs::gif::GifDecoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()))
            .unwrap();
    let frames = image::AnimationDecoder::into_frames(decoder).collect_frames().unwrap();
    frames.into_iter().map(|f| f.into_buffer().into_raw()).collect()
}
