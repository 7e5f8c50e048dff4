//! The two example pages (fixtures/webrtc/) in a real browser against the mock, with the
//! daemon on a virtual chain watching: Debian's Chromium, driven by playwright-core
//! (sim/tests/clients/webrtc_pages.js) with a fake microphone. The answer page registers as
//! 1000 over the mock's ws binding, the click-to-call page (1001) sends it a chat message
//! (shown on the answer page) and calls it, the LEDs show the ringing alert, the answer
//! and the count of calls, audio flows page to page (RTP bytes received on both sides;
//! the mock relays only SIP), and the hang-up shows too.
//! A second case runs the same story over the wss binding, its self-signed certificate
//! trusted by Chromium through its public key (`--ignore-certificate-errors-spki-list`),
//! as a person's browser trusts it once they accept it.
//! The pages come from the same page server `demo --sip` runs; SIP.js from the npm
//! package in place of its CDN, checked against the pages' SHA-384 pins by Chromium.
//! Without Chromium, node or the packages the test fails when `CI` is set and says it
//! skipped otherwise.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use eslmatrix::app::recording::Recording;
use eslmatrix_sim::fs::sip::listen::ListenConfig;
use eslmatrix_sim::fs::sip::ws::WsBindings;
use eslmatrix_sim::fs::sip::{pages, SipConfig};
use eslmatrix_sim::fs::MockConfig;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

use crate::story::{story, until_one_of, WIDE};

/// Each step's bound: Chromium on a loaded 2-core machine is slow, a stuck step still fails.
const STEP: Duration = Duration::from_secs(40);

const CHROMIUM: &str = "/usr/bin/chromium";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The installed Node packages, or why the browser test cannot run here.
fn browser_kit() -> Result<PathBuf, String> {
    if !Path::new(CHROMIUM).exists() {
        return Err(format!("{CHROMIUM} is missing (apt-get install chromium, as .ci/run does)"));
    }
    let dir = std::env::var_os("ESLMATRIX_NODE_MODULES")
        .map_or_else(|| repo().join("target/node/node_modules"), PathBuf::from);
    for p in ["playwright-core", "sip.js"] {
        if !dir.join(p).join("package.json").is_file() {
            return Err(format!("{p} is not installed in {} (as .ci/run does)", dir.display()));
        }
    }
    Ok(dir)
}

/// The playwright driver as a child: one command per line in, one JSON event per line out.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
}

impl Browser {
    /// `certificate`: the wss binding's PEM, for Chromium to trust.
    async fn start(modules: &Path, origin: &str, query: &str, certificate: Option<&str>) -> Browser {
        let mut cmd = Command::new("node");
        cmd.arg(repo().join("sim/tests/clients/webrtc_pages.js"))
            .env("NODE_PATH", modules)
            .env("PAGES_DIR", repo().join("fixtures/webrtc"))
            .env("PAGES_ORIGIN", origin)
            .env("QUERY", query)
            .env("CHROMIUM", CHROMIUM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if let Some(pem) = certificate {
            cmd.env("CA_PEM", pem);
        }
        let mut child = cmd.spawn().expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut b = Browser { child, stdin, lines, seen: Vec::new() };
        b.expect("ready").await;
        b
    }

    /// Waits for the event that has `key`; fails on a page error or after [`STEP`].
    async fn expect(&mut self, key: &str) -> Value {
        loop {
            let line = timeout(STEP, self.lines.next_line())
                .await
                .unwrap_or_else(|_| {
                    panic!("the browser did not report {key:?} in time; it said {:?}", self.seen)
                })
                .expect("reads")
                .unwrap_or_else(|| panic!("the driver ended before {key:?}; it said {:?}", self.seen));
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            self.seen.push(v.clone());
            for bad in ["fatal", "error", "pageerror", "offline_request"] {
                assert!(v.get(bad).is_none(), "browser: {v}; before it: {:?}", self.seen);
            }
            if v.get(key).is_some() {
                return v;
            }
        }
    }

    /// Sends `command` and waits for the event `key` that says it was done.
    async fn run(&mut self, command: &str, key: &str) -> Value {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
        self.expect(key).await
    }

    async fn quit(mut self) {
        let _ = self.stdin.write_all(b"quit\n").await;
        let _ = timeout(STEP, self.expect("end")).await;
        let _ = timeout(STEP, self.child.wait()).await;
    }
}

/// [`until_one_of`] for one picture, within a step's bound.
async fn until_shown(rec: &Recording, rows: &[String], what: &str, after: usize) -> usize {
    until_one_of(rec, &[rows], what, after, STEP).await
}

/// [`until_shown`] for the first of several pictures.
async fn until_any(rec: &Recording, candidates: &[Vec<String>], what: &str, after: usize) -> usize {
    until_one_of(rec, candidates, what, after, STEP).await
}

/// Which of the mock's WebSocket bindings both pages use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    Ws,
    Wss,
}

/// One browser at a time: two Chromiums on a loaded 2-core machine make steps slower
/// than their bound for no gain (the cases test the same pages).
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_page_takes_a_call_from_the_click_to_call_page_and_the_leds_follow() {
    pages_call(Binding::Ws).await;
}

// The same over wss: what a person gets who opens the pages over https (phone.js then
// picks the wss binding) after accepting the mock's self-signed certificate; 1000's
// binding is WSS (`Registered(WSS-NAT)` in `sofia status profile internal reg`, a
// transport the daemon counts as WebRTC). Without the certificate trusted Chromium
// refuses the connection (net::ERR_CERT_AUTHORITY_INVALID) and the page says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_do_the_same_over_the_wss_binding_with_its_self_signed_certificate() {
    pages_call(Binding::Wss).await;
}

async fn pages_call(binding: Binding) {
    let modules = match browser_kit() {
        Ok(m) => m,
        Err(why) if std::env::var_os("CI").is_some() => panic!("browser test cannot run on CI: {why}"),
        Err(why) => {
            eprintln!("skipped the WebRTC pages test: {why}");
            return;
        }
    };
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let websocket = match binding {
        Binding::Ws => WsBindings { ws: Some(any), ..WsBindings::default() },
        Binding::Wss => WsBindings { wss: Some(any), ..WsBindings::default() },
    };
    let sip = SipConfig {
        listen: ListenConfig { listen: any, ..ListenConfig::default() },
        websocket,
        ..SipConfig::default()
    };
    let mock = MockConfig { sip: Some(sip), ..MockConfig::default() };
    let _one = ONE_BROWSER.lock().await;
    let story = story(&["{calls} calls  {webrtc} webrtc"]).screen(WIDE).mock(mock).start().await;
    let server = match binding {
        Binding::Ws => format!("ws://127.0.0.1:{}", story.mock().sip_ws_addr().expect("ws binding").port()),
        Binding::Wss => {
            format!("wss://127.0.0.1:{}", story.mock().sip_wss_addr().expect("wss binding").port())
        }
    };
    let certificate = story.mock().sip_wss_certificate().map(str::to_string);
    let pages_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", pages_listener.local_addr().unwrap());
    let _pages = pages::spawn(pages_listener);
    let query = format!("?server={server}&domain=127.0.0.1");
    let pbx = story.pbx();
    let (transport, status) = match binding {
        Binding::Ws => ("ws", "Registered(WS-NAT)"),
        Binding::Wss => ("wss", "Registered(WSS-NAT)"),
    };

    story
        .play(|rec| async move {
            let idle = until_shown(&rec, &WIDE.page("0 calls  0 webrtc"), "the idle page", 0).await;
            let mut browser = Browser::start(&modules, &origin, &query, certificate.as_deref()).await;
            browser.run("open-answer", "registered").await;
            let registered =
                until_shown(&rec, &WIDE.page("0 calls  1 webrtc"), "1000's registration", idle).await;
            let regs = pbx.registrations();
            assert_eq!(regs.len(), 1, "{regs:?}");
            assert_eq!((regs[0].user.as_str(), regs[0].transport.as_str()), ("1000", transport));
            // What `api sofia status profile internal reg` answers on ESL (mod_sofia.c
            // show_reg_callback: the status sofia_reg.c stores for a WebSocket contact,
            // always NATed).
            let reg = match pbx.api("sofia", "status profile internal reg") {
                eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
                eslmatrix_sim::fs::pbx::ApiOutput::NotFound => panic!("sofia status not found"),
            };
            assert!(reg.contains(&format!("Status:     \t{status}(unknown) EXP(")), "{status} in {reg}");
            // The 0.21.2 package still calls itself 0.21.1 (its lib/version.js).
            assert!(regs[0].user_agent.starts_with("SIP.js/0.21"), "{:?}", regs[0].user_agent);

            // The visitor's page does not register: it only calls.
            browser.run("open-call", "call_ready").await;
            // Chat: the call page's MESSAGE reaches the answer page through the mock
            // (sofia_presence_chat_send relays it to 1000's registration), text intact.
            let chat = browser.run("message Hallo 1000, gleich rufe ich an ✓", "chat").await;
            assert_eq!(chat["chat"], "Web Visitor: Hallo 1000, gleich rufe ich an ✓", "{chat}");
            let ringing = browser.run("call", "ringing").await;
            assert_eq!(ringing["caller"], "1001", "{ringing}");
            // scene::alert's texts: the caller's name and number, blinking while it rings.
            let rang =
                until_shown(&rec, &WIDE.framed("Web Visitor (1001) → 1000"), "the ringing alert", registered)
                    .await;
            browser.run("answer", "answered").await;
            let took =
                until_shown(&rec, &WIDE.page("Web Visitor (1001) → 1000 answered"), "the answer", rang).await;
            let answered = until_shown(&rec, &WIDE.page("1 calls  1 webrtc"), "the call counted", took).await;
            let media = browser.run("media", "media").await;
            for side in ["call", "answer"] {
                assert!(media["media"][side].as_u64().unwrap_or(0) > 2000, "{side} received RTP: {media}");
            }
            browser.run("hangup", "hung_up").await;
            // The end with the call's length, which depends on this machine's pace.
            let ends: Vec<Vec<String>> = (0..120)
                .map(|s| WIDE.page(&format!("Web Visitor (1001) → 1000: {}:{:02}", s / 60, s % 60)))
                .collect();
            let ended = until_any(&rec, &ends, "the hang-up with the call's length", answered).await;
            until_shown(&rec, &WIDE.page("0 calls  1 webrtc"), "no call left", ended).await;
            browser.quit().await;
        })
        .await;
}

/// `demo --sip` as a person runs it (free ports here): it says where the pages are, serves
/// them, and its ws binding speaks SIP over WebSocket (RFC 7118's handshake, answered with
/// the `sip` subprotocol, then an OPTIONS answered 200 in one frame).
#[test]
fn demo_sip_serves_the_pages_and_takes_sip_over_websocket() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args([
            "demo",
            "--sip",
            "127.0.0.1:0",
            "--pages",
            "127.0.0.1:0",
            "--backend",
            "virtual",
            "--seconds",
            "60",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eslmatrix demo runs");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let demo = Kill(child);
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let url = |page: &str| {
        let at = line.find("http://127.0.0.1:").unwrap_or_else(|| panic!("no address in {line:?}"));
        let rest = &line[at + "http://".len()..];
        let host = rest.split('/').next().unwrap().to_string();
        let query =
            rest.split_once(&format!("/{page}")).map(|(_, q)| q.split_whitespace().next().unwrap_or(""));
        (host, query.unwrap_or_else(|| panic!("no {page} in {line:?}")).to_string())
    };
    let (pages, query) = url("answer.html");
    let ws =
        query.strip_prefix("?server=ws://").unwrap_or_else(|| panic!("ws address in {line:?}")).to_string();

    // What the server sends until `until` shows (or the connection ends, or a step's bound).
    let read_until = |s: &mut std::net::TcpStream, until: &str| {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains(until) {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    };
    let get = |addr: &str, request: &[u8], until: &str| -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(STEP)).unwrap();
        s.write_all(request).unwrap();
        read_until(&mut s, until)
    };
    let page = get(&pages, b"GET /answer.html HTTP/1.1\r\nHost: x\r\n\r\n", "</html>");
    assert!(page.starts_with("HTTP/1.1 200 OK") && page.contains("answer.js"), "{pages} {line}: {page}");

    // A client's handshake, then one masked text frame, by hand (RFC 6455 §4.1, §5.3).
    let mut s = std::net::TcpStream::connect(&ws).unwrap();
    s.set_read_timeout(Some(STEP)).unwrap();
    let upgrade = format!(
        "GET / HTTP/1.1\r\nHost: {ws}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: sip\r\n\r\n"
    );
    s.write_all(upgrade.as_bytes()).unwrap();
    let head = read_until(&mut s, "\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("sec-websocket-protocol: sip\r\n"), "{head}");
    let options = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bKdemo\r\n\
        From: <sip:a@x.invalid>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: demo\r\nCSeq: 1 OPTIONS\r\n\
        Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | 126];
    frame.extend(u16::try_from(options.len()).unwrap().to_be_bytes());
    frame.extend(mask);
    frame.extend(options.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).unwrap();
    let answer = read_until(&mut s, "CSeq: 1 OPTIONS");
    assert!(answer.contains("SIP/2.0 200 OK\r\n"), "{answer}");
    drop(demo);
}
