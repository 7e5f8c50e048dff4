//! SIP.js (pinned in sim/tests/clients/package.json, installed by .ci/run into
//! target/node) under Node with the `ws` package: an independent client of the mock's
//! WebSocket bindings. The script (sim/tests/clients/sipjs_ws.js) runs user agents with a
//! fake SessionDescriptionHandler and reports each event as a JSON line. Without node or
//! the packages the test fails when `CI` is set and says it skipped otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::node_support::{node_or_skip, workspace};
use std::process::Stdio;
use std::time::Duration;

use eslmatrix_sim::fs::sip::listen::ListenConfig;
use eslmatrix_sim::fs::sip::ws::WsBindings;
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use tokio::time::timeout;

/// The SIP.js script as a child: commands in, events out, everything it said kept.
pub struct SipJs {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pub seen: Vec<Value>,
}

impl SipJs {
    pub async fn start(modules: &PathBuf, uas: Value, ca_pem: Option<String>) -> SipJs {
        let script = workspace().join("sim/tests/clients/sipjs_ws.js");
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .env("NODE_PATH", modules)
            .env("UAS", uas.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if let Some(pem) = ca_pem {
            cmd.env("CA_PEM", pem);
        }
        let mut child = cmd.spawn().expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut js = SipJs { child, stdin, lines, seen: Vec::new() };
        js.until(|v| v.get("ready").is_some()).await;
        js
    }

    pub async fn say(&mut self, command: &str) {
        self.stdin.write_all(format!("{command}\n").as_bytes()).await.unwrap();
    }

    /// Reads events until one matches; fails on a script error or after 30 s.
    pub async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = timeout(Duration::from_secs(30), self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("SIP.js did not report in time; it said: {:?}", self.seen))
                .expect("reads")
                .unwrap_or_else(|| panic!("the SIP.js script ended; it said: {:?}", self.seen));
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            self.seen.push(v.clone());
            assert!(
                v.get("fatal").is_none() && v.get("error").is_none(),
                "SIP.js: {v} after {:?}",
                self.seen
            );
            if want(&v) {
                return v;
            }
        }
    }

    /// `{"name": name, key: value}` arrives.
    pub async fn event(&mut self, name: &str, key: &str, value: &str) -> Value {
        self.until(|v| v["name"] == name && v[key] == value).await
    }

    pub async fn quit(mut self) {
        self.say("quit").await;
        self.until(|v| v.get("end").is_some()).await;
        let _ = timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// tshark on the loopback interface, recording one TCP port (the ws binding) to a file.
pub struct Capture {
    child: Child,
    file: PathBuf,
    port: u16,
}

/// One SIP message as tshark decoded it off the wire.
#[derive(Debug, PartialEq, Eq)]
pub struct WireSip {
    /// The method of a request, or the status of a response.
    pub what: String,
}

impl Capture {
    /// Starts capturing; `None` (after saying why) where tshark cannot run, a failure on CI.
    pub async fn start(port: u16) -> Option<Capture> {
        let usable =
            std::process::Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success());
        if !usable {
            assert!(std::env::var_os("CI").is_none(), "tshark is missing on CI (.ci/run installs it)");
            eprintln!("not checking the wire: tshark is not installed");
            return None;
        }
        let file =
            std::env::temp_dir().join(format!("eslmatrix-sip-ws-{}-{port}.pcapng", std::process::id()));
        let mut child = Command::new("tshark")
            .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(&file)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tshark runs");
        let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut said = Vec::new();
        let started = timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = err.next_line().await {
                if line.contains("Capturing on") {
                    return true;
                }
                said.push(line);
            }
            false
        })
        .await;
        if started != Ok(true) {
            // Capturing needs root or CAP_NET_RAW: CI has it, a developer's account may not.
            assert!(std::env::var_os("CI").is_none(), "tshark could not capture on CI: {said:?}");
            eprintln!("not checking the wire: tshark could not capture: {said:?}");
            return None;
        }
        // Keep draining its notices so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = err.next_line().await {} });
        Some(Capture { child, file, port })
    }

    /// Stops the capture and decodes it: every WebSocket data frame on the port must be
    /// one well-formed SIP message (tshark's SIP dissector, reached through the HTTP
    /// upgrade and the `sip` subprotocol), with no malformed packet or expert warning.
    pub async fn sip(mut self) -> Vec<WireSip> {
        // Let the last frames reach the capture before it stops.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = self.child.id().expect("tshark still runs");
        let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
        let _ = timeout(Duration::from_secs(20), self.child.wait()).await.expect("tshark stops");
        let out = std::process::Command::new("tshark")
            .arg("-r")
            .arg(&self.file)
            .args(["-d", &format!("tcp.port=={},http", self.port), "-T", "fields", "-E", "separator=|"])
            .args(["-e", "frame.number", "-e", "frame.protocols", "-e", "websocket.opcode"])
            .args([
                "-e",
                "sip.Method",
                "-e",
                "sip.Status-Code",
                "-e",
                "_ws.malformed",
                "-e",
                "_ws.expert.severity",
            ])
            .output()
            .expect("tshark reads its capture");
        let _ = std::fs::remove_file(&self.file);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // PI_WARN (0x00600000) and above: tshark found something wrong with the packet.
        const WARN: u64 = 0x0060_0000;
        let mut sip = Vec::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split('|').collect();
            let [frame, protocols, opcodes, method, status, malformed, severity] = f[..] else {
                panic!("unexpected tshark line {line:?}");
            };
            assert!(malformed.is_empty(), "frame {frame} is malformed: {line}");
            let worst = severity.split(',').filter_map(|s| s.parse::<u64>().ok()).max().unwrap_or(0);
            if protocols.contains("websocket") {
                assert!(worst < WARN, "frame {frame}: tshark warns: {line}\n{text}");
            }
            let data = opcodes.split(',').any(|o| o == "1" || o == "2");
            if data {
                assert!(
                    protocols.contains(":websocket:sip"),
                    "frame {frame} carries a WebSocket message that is not SIP: {line}"
                );
                for what in method.split(',').chain(status.split(',')).filter(|w| !w.is_empty()) {
                    sip.push(WireSip { what: what.to_string() });
                }
            }
        }
        sip
    }
}

/// A mock with SIP on loopback: UDP/TCP, ws and wss each on a free port.
pub async fn mock_with_websockets() -> MockHandle {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let sip = SipConfig {
        listen: ListenConfig { listen: any, ..ListenConfig::default() },
        websocket: WsBindings { ws: Some(any), wss: Some(any), ..WsBindings::default() },
        ..SipConfig::default()
    };
    MockFreeSwitch::start(MockConfig { sip: Some(sip), heartbeat: None, ..MockConfig::default() })
        .await
        .unwrap()
}

fn registrations(mock: &MockHandle) -> Vec<(String, String)> {
    let mut r: Vec<(String, String)> =
        mock.pbx().registrations().into_iter().map(|r| (r.user, r.transport.as_str().to_string())).collect();
    r.sort();
    r
}

// RFC 7118 over a real client: SIP.js connects with subprotocol `sip` over ws and over
// wss (trusting exactly the generated certificate) and REGISTERs through the digest
// challenge; the registry shows each binding with its WebSocket transport, and an
// unregister takes it out again.
#[tokio::test]
async fn sipjs_registers_over_ws_and_wss() {
    let Some(modules) = node_or_skip("sipjs_registers_over_ws_and_wss", &["sip.js", "ws"]) else { return };
    let mock = mock_with_websockets().await;
    let (plain, secure) = (mock.sip_ws_addr().unwrap(), mock.sip_wss_addr().unwrap());
    let pem = mock.sip_wss_certificate().unwrap().to_string();
    let uas = json!([
        {"name": "ws", "user": "1001", "password": "1234", "domain": "127.0.0.1", "server": format!("ws://127.0.0.1:{}", plain.port())},
        {"name": "wss", "user": "1000", "password": "1234", "domain": "127.0.0.1", "server": format!("wss://localhost:{}", secure.port())},
    ]);
    let capture = Capture::start(plain.port()).await;
    let mut js = SipJs::start(&modules, uas, Some(pem)).await;
    js.say("register ws").await;
    js.event("ws", "registration", "Registered").await;
    js.say("register wss").await;
    js.event("wss", "registration", "Registered").await;
    assert_eq!(mock.sip().unwrap().connections(), 2);
    assert_eq!(registrations(&mock), [("1000".into(), "wss".into()), ("1001".into(), "ws".into())]);
    js.say("unregister ws").await;
    js.event("ws", "registration", "Unregistered").await;
    assert_eq!(registrations(&mock), [("1000".to_string(), "wss".to_string())]);
    js.quit().await;
    if let Some(capture) = capture {
        // What the plain ws connection carried, as tshark reads it (wss is encrypted).
        let seen: Vec<String> = capture.sip().await.into_iter().map(|w| w.what).collect();
        assert_eq!(seen, ["REGISTER", "401", "REGISTER", "200", "REGISTER", "401", "REGISTER", "200"]);
    }
}

fn api(mock: &MockHandle, cmd: &str, args: &str) -> String {
    match mock.pbx().api(cmd, args) {
        eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
        eslmatrix_sim::fs::pbx::ApiOutput::NotFound => panic!("{cmd} not found"),
    }
}

// A call between two SIP.js user agents through the mock's B2BUA: 1001 over ws calls 1000
// registered over wss; the INVITE reaches 1000 over the connection it registered on (its
// Contact is a *.invalid host, RFC 7118 §5), 1000 answers, SDP passes through unchanged,
// `show calls` counts the call while it lasts, and the caller's BYE ends both sides.
#[tokio::test]
async fn sipjs_receives_a_call_over_wss_and_the_caller_hangs_up() {
    let Some(modules) = node_or_skip("sipjs_receives_a_call_over_wss", &["sip.js", "ws"]) else { return };
    let mock = mock_with_websockets().await;
    let (plain, secure) = (mock.sip_ws_addr().unwrap(), mock.sip_wss_addr().unwrap());
    let pem = mock.sip_wss_certificate().unwrap().to_string();
    let uas = json!([
        {"name": "caller", "user": "1001", "password": "1234", "domain": "127.0.0.1", "display": "Web Visitor",
         "server": format!("ws://127.0.0.1:{}", plain.port())},
        {"name": "callee", "user": "1000", "password": "1234", "domain": "127.0.0.1",
         "server": format!("wss://localhost:{}", secure.port())},
    ]);
    let capture = Capture::start(plain.port()).await;
    let mut js = SipJs::start(&modules, uas, Some(pem)).await;
    js.say("register callee").await;
    js.event("callee", "registration", "Registered").await;
    js.say("call caller 1000").await;
    let invite = js.until(|v| v["name"] == "callee" && v.get("invite").is_some()).await;
    assert_eq!((invite["invite"].as_str(), invite["display"].as_str()), (Some("1001"), Some("Web Visitor")));
    // SIP.js reads the offer when it accepts: the caller's SDP as the caller wrote it
    // (origin line), and the answer back the same way.
    js.say("answer callee").await;
    js.until(|v| v["name"] == "callee" && v["remote_sdp"] == "o=1001 1 1 IN IP4 127.0.0.1").await;
    js.until(|v| v["name"] == "caller" && v["remote_sdp"] == "o=1000 1 1 IN IP4 127.0.0.1").await;
    js.event("caller", "session", "Established").await;
    assert!(api(&mock, "show", "calls count").contains("1 total"), "{}", api(&mock, "show", "calls count"));
    js.say("bye caller").await;
    js.event("caller", "session", "Terminated").await;
    js.event("callee", "session", "Terminated").await;
    for _ in 0..200 {
        if api(&mock, "show", "calls count").contains("0 total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(api(&mock, "show", "calls count").contains("0 total"), "{}", api(&mock, "show", "calls count"));
    js.quit().await;
    if let Some(capture) = capture {
        // The caller's side of the call on the ws wire, as tshark decodes it: the 407
        // challenge (auth-calls) answered, the callee's ringing and answer relayed, the BYE.
        let seen: Vec<String> = capture.sip().await.into_iter().map(|w| w.what).collect();
        assert_eq!(seen, ["INVITE", "407", "ACK", "INVITE", "100", "180", "200", "ACK", "BYE", "200"]);
    }
}

/// The next event on a `event json` subscription, as JSON.
async fn json_event(esl: &mut crate::esl_support::Raw) -> Value {
    let msg = esl.next().await;
    assert_eq!(msg.header("Content-Type"), Some("text/event-json"), "{msg:?}");
    serde_json::from_slice(&msg.body).unwrap_or_else(|e| panic!("{e}: {}", msg.body_text()))
}

// Chat between two SIP.js user agents, as a vanilla FreeSWITCH delivers it: 1001 (over ws)
// sends a MESSAGE, answers the 407 of auth-messages, gets 202 Accepted
// (sofia_presence_handle_sip_i_message); sofia_presence_chat_send relays it to 1000's
// binding over the wss connection 1000 registered on, where SIP.js hands it to the
// application with the text intact. An ESL subscriber sees the MESSAGE event do_chat_send
// fires (switch_loadable_module.c), and for a user nobody registered the sofia::error "no
// recipient" before it, while the sender still gets 202.
#[tokio::test]
async fn sipjs_chat_reaches_a_user_over_wss_and_esl_sees_the_message_events() {
    let Some(modules) = node_or_skip("sipjs_chat_reaches_a_user_over_wss", &["sip.js", "ws"]) else { return };
    let mock = mock_with_websockets().await;
    let (plain, secure) = (mock.sip_ws_addr().unwrap(), mock.sip_wss_addr().unwrap());
    let pem = mock.sip_wss_certificate().unwrap().to_string();
    let mut esl = crate::esl_support::Raw::login(mock.addr()).await;
    let ok = esl.cmd("event json MESSAGE CUSTOM sofia::error").await;
    assert_eq!(ok.header("Reply-Text"), Some("+OK event listener enabled json"));
    let uas = json!([
        {"name": "alice", "user": "1001", "password": "1234", "domain": "127.0.0.1",
         "server": format!("ws://127.0.0.1:{}", plain.port())},
        {"name": "bob", "user": "1000", "password": "1234", "domain": "127.0.0.1",
         "server": format!("wss://localhost:{}", secure.port())},
    ]);
    let mut js = SipJs::start(&modules, uas, Some(pem)).await;
    js.say("register bob").await;
    js.event("bob", "registration", "Registered").await;
    let text = "Grüße aus 1001 — über wss ✓";
    js.say(&format!("message alice 1000 {text}")).await;
    let got = js.until(|v| v["name"] == "bob" && v.get("message").is_some()).await;
    assert_eq!((got["message"].as_str(), got["from"].as_str()), (Some(text), Some("1001")), "{got}");
    assert_eq!(got["content_type"], "text/plain", "{got}");
    // The 202 and the relayed MESSAGE travel on two connections: either may come first.
    let status = |v: &Value| v["name"] == "alice" && v.get("message_status").is_some();
    let sent = match js.seen.iter().find(|v| status(v)).cloned() {
        Some(v) => v,
        None => js.until(status).await,
    };
    assert_eq!(sent["message_status"], 202, "{sent}");
    let ev = json_event(&mut esl).await;
    assert_eq!(ev["Event-Name"], "MESSAGE", "{ev}");
    assert_eq!(
        (ev["from"].as_str(), ev["to"].as_str()),
        (Some("1001@127.0.0.1"), Some("1000@127.0.0.1")),
        "{ev}"
    );
    assert_eq!((ev["proto"].as_str(), ev["dest_proto"].as_str()), (Some("sip"), Some("sip")), "{ev}");
    assert_eq!(ev["Nonblocking-Delivery"], "true", "{ev}");
    assert_eq!(ev["_body"], text, "{ev}");
    assert_eq!(mock.sip().unwrap().stats().chat_relayed, 1);

    js.say("message alice 1009 anyone there?").await;
    let sent = js.until(|v| v["name"] == "alice" && v.get("message_status").is_some()).await;
    assert_eq!(sent["message_status"], 202, "FreeSWITCH accepts what it cannot deliver: {sent}");
    let error = json_event(&mut esl).await;
    assert_eq!(
        (error["Event-Subclass"].as_str(), error["Error-Reason"].as_str()),
        (Some("sofia::error"), Some("no recipient")),
        "{error}"
    );
    assert_eq!(error["Chat-Send-To"], "1009@127.0.0.1", "{error}");
    let ev = json_event(&mut esl).await;
    assert_eq!(
        (ev["Event-Name"].as_str(), ev["to"].as_str()),
        (Some("MESSAGE"), Some("1009@127.0.0.1")),
        "{ev}"
    );
    js.quit().await;
}
