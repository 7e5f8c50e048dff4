//! `eslmatrix mock-fs --http` driven by clients we did not write: curl (Debian) and
//! Python's urllib (tests/clients/web_api_client.py), while a raw ESL connection watches
//! the events of the call the web request places. Both tools are installed by .ci/run;
//! without them these tests fail under CI and say so elsewhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `mock-fs --http 127.0.0.1:0 ARGS`; returns the ESL and the web addresses.
fn start(args: &[&str]) -> (Mock, SocketAddr, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["mock-fs", "--listen", "127.0.0.1:0", "--heartbeat", "0", "--http", "127.0.0.1:0"])
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("ESLMATRIX_MOCK_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run eslmatrix mock-fs");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut esl = String::new();
    out.read_line(&mut esl).unwrap();
    let mut web = String::new();
    out.read_line(&mut web).unwrap();
    let esl = esl
        .strip_prefix("mock FreeSWITCH listening on ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no ESL address in {esl:?}"));
    let web = web
        .strip_prefix("web API on http://")
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no web address in {web:?}"));
    (Mock(child), esl, web)
}

/// Whether `tool` runs; under CI a missing one is a failure, not a skip.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing: .ci/run installs it (apt-get install {tool})"
        );
        eprintln!("{tool} is not installed: skipping (CI installs it)");
    }
    ok
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A raw ESL subscriber: logs in and asks for `events`.
fn esl_subscriber(addr: SocketAddr, events: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    read_until(&mut s, "auth/request\n\n");
    s.write_all(b"auth ClueCon\n\n").unwrap();
    read_until(&mut s, "+OK accepted\n\n");
    s.write_all(format!("event plain {events}\n\n").as_bytes()).unwrap();
    read_until(&mut s, "+OK event listener enabled plain\n\n");
    s
}

fn read_until(s: &mut TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => panic!("connection ended before {want:?}: {}", String::from_utf8_lossy(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

// mod_xml_rpc.c http_directory_auth (401, WWW-Authenticate Basic realm="freeswitch") and
// handler_hook (/txtapi/ is text/plain; /webapi/originate answers "+OK <uuid>"), seen by curl.
#[test]
fn curl_gets_the_api_and_places_a_call() {
    if !have("curl") {
        return;
    }
    let (_mock, esl, web) = start(&[]);
    let base = format!("http://{web}");
    let head = run(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-D",
        "-",
        &format!("{base}/txtapi/hostname"),
    ]));
    assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("www-authenticate: basic realm=\"freeswitch\"\r\n"), "{head}");
    let head = run(Command::new("curl").args([
        "-s",
        "-D",
        "-",
        "-u",
        "freeswitch:works",
        &format!("{base}/txtapi/hostname"),
    ]));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\npbx.example.org"), "{head}");
    let mut events = esl_subscriber(esl, "CHANNEL_CREATE CHANNEL_PARK");
    // Spaces as %20: abyss decodes only %XX in the path and query, so a form-encoded `+`
    // (curl --data-urlencode) would reach originate as a `+`, as it does FreeSWITCH's.
    let answer = run(Command::new("curl").args([
        "-sf",
        "-u",
        "freeswitch:works",
        &format!("{base}/webapi/originate?null/1000%20%26park()"),
    ]));
    let uuid = answer.strip_prefix("+OK ").and_then(|a| a.strip_suffix('\n')).expect(&answer);
    let seen = read_until(&mut events, "Event-Name: CHANNEL_PARK\n");
    assert!(seen.contains(&format!("Unique-ID: {uuid}\n")), "{seen}");
    assert!(seen.contains("Channel-Name: null/1000\n"), "{seen}");
}

// The same paths through Python's urllib: its basic-auth handler answers the 401 challenge
// only for the realm it was given, so the challenge must parse as FreeSWITCH's does; and
// XML-RPC through xmlrpc.client, the way scripts drive mod_xml_rpc's /RPC2.
#[test]
fn python_urllib_authenticates_on_the_challenge() {
    if !have("python3") {
        return;
    }
    let (_mock, esl, web) = start(&["--http-user", "ops", "--http-password", "s3cret"]);
    let mut events = esl_subscriber(esl, "CHANNEL_PARK");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/web_api_client.py");
    let out = run(Command::new("python3").args([script, &format!("http://{web}"), "ops", "s3cret"]));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let field = |what: &str, key: &str| {
        let line = lines.iter().find(|l| l["what"] == what).unwrap_or_else(|| panic!("{what} in {out}"));
        line[key].clone()
    };
    assert_eq!(field("anonymous", "status"), 401);
    assert_eq!(field("anonymous", "content_type"), "Basic realm=\"freeswitch\"");
    assert_eq!(field("version", "status"), 200);
    assert_eq!(field("version", "content_type"), "text/plain");
    assert!(field("version", "body").as_str().unwrap().starts_with("FreeSWITCH Version 1.10.12"), "{out}");
    assert_eq!(field("originate", "content_type"), "text/html");
    let answer = field("originate", "body");
    let uuid = answer.as_str().unwrap().strip_prefix("+OK ").and_then(|a| a.strip_suffix('\n')).expect(&out);
    assert!(read_until(&mut events, "Event-Name: CHANNEL_PARK\n").contains(&format!("Unique-ID: {uuid}\n")));
    assert_eq!(field("count", "body"), "\n1 total.\n");
    assert_eq!(field("unknown", "body"), "INVALID COMMAND!\n");
    // mod_xml_rpc.c freeswitch_api over /RPC2: the command's output, "ERROR!" when
    // switch_api_execute fails, and xmlrpc-c's fault for a method it does not register.
    assert!(
        field("rpc_version", "body").as_str().unwrap().starts_with("FreeSWITCH Version 1.10.12"),
        "{out}"
    );
    assert_eq!(field("rpc_unknown", "body"), "ERROR!");
    assert_eq!(field("rpc_fault", "status"), -506);
}

// Bad --http values are one line and exit code 2, like --listen's: no port, and an address
// the web API cannot bind (taken).
#[test]
fn bad_http_addresses_are_one_line_errors() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    for (spec, says) in [("127.0.0.1", "--http \"127.0.0.1\""), (busy.as_str(), "cannot listen on")] {
        let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
            .args(["mock-fs", "--listen", "127.0.0.1:0", "--http", spec])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{spec}: {err}");
        assert_eq!(err.lines().count(), 1, "{spec}: {err}");
        assert!(err.contains(says), "{spec}: {err}");
    }
}
