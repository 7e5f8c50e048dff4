//! `eslmatrix mock-fs` as a program: host names for --listen, the password from the
//! environment, --max-connections and the -v log lines (never the password).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the mock however the test ends.
struct Mock(Child);

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str], password_env: &str) -> (Mock, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .arg("mock-fs")
        .args(args)
        .env("ESLMATRIX_MOCK_PASSWORD", password_env)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eslmatrix mock-fs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line
        .strip_prefix("mock FreeSWITCH listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (Mock(child), addr)
}

/// Reads until `want` has arrived (or the peer closes); returns everything read.
fn read_until(stream: &mut TcpStream, want: &str) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn mock_fs_takes_a_host_name_the_env_password_and_a_connection_limit() {
    let (mut mock, addr) =
        start(&["--listen", "localhost:0", "--max-connections", "1", "-vv"], "s3cret pass");
    assert!(addr.ip().is_loopback(), "{addr}");
    let mut a = TcpStream::connect(addr).unwrap();
    read_until(&mut a, "auth/request\n\n");
    a.write_all(b"auth s3cret pass\n\n").unwrap();
    assert!(read_until(&mut a, "+OK accepted\n").contains("Reply-Text: +OK accepted\n"));
    let mut b = TcpStream::connect(addr).unwrap();
    assert_eq!(
        read_until(&mut b, "later.\n"),
        "Content-Type: text/rude-rejection\nContent-Length: 39\n\nToo many connections, try again later.\n"
    );
    a.write_all(b"exit\n\n").unwrap();
    read_until(&mut a, "goodbye");
    let _ = mock.0.kill();
    let mut log = String::new();
    mock.0.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("authenticated"), "{log}");
    assert!(log.contains("refused connection"), "{log}");
    assert!(log.contains("command=auth ********"), "{log}");
    assert!(!log.contains("s3cret"), "the password never reaches the log: {log}");
}

#[test]
fn mock_fs_flag_errors_are_one_line_and_exit_code_2() {
    for args in
        [["--listen", "nonexistent.invalid:8021"], ["--listen", "127.0.0.1"], ["--max-connections", "0"]]
    {
        let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix")).arg("mock-fs").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

// mock_fs's WebSocket flags: with --sip on a free port, ws and wss get free ports too and
// sofia status lists exactly them (mod_sofia.c cmd_status prints WS-BIND-URL and
// WSS-BIND-URL only for bindings the profile really opened); `off` leaves one out.
#[test]
fn mock_fs_sip_opens_ws_and_wss_and_sofia_status_lists_them() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["mock-fs", "--listen", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--sip-wss", "off"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run eslmatrix mock-fs");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut said = Vec::new();
    let ws = loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "mock-fs ended: {said:?}");
        if let Some(addr) = line.trim().strip_prefix("SIP on ws://") {
            break addr.to_string();
        }
        said.push(line);
    };
    let mock = Mock(child);
    let esl = said[0].split_whitespace().nth(4).unwrap().to_string();
    let mut s = TcpStream::connect(esl.as_str()).unwrap();
    read_until(&mut s, "auth/request\n\n");
    s.write_all(b"auth ClueCon\n\napi sofia status profile internal\n\n").unwrap();
    let status = read_until(&mut s, "CALLS-IN");
    assert!(status.contains(&format!("WS-BIND-URL     \tsip:mod_sofia@{ws};transport=ws\n")), "{status}");
    assert!(!status.contains("WSS-BIND-URL"), "wss was turned off: {status}");
    assert!(!said.iter().any(|l| l.contains("wss://")), "{said:?}");
    drop(mock);

    let dir = std::env::temp_dir().join(format!("eslmatrix-mockfs-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not pem\n").unwrap();
    let junk = junk.to_str().unwrap();
    for args in [
        &["--sip-ws", "127.0.0.1:0"][..],
        &["--sip", "127.0.0.1:0", "--sip-ws", "127.0.0.1"],
        &["--sip", "127.0.0.1:0", "--sip-tls-cert", junk],
        &["--listen", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--sip-tls-cert", junk, "--sip-tls-key", junk],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix")).arg("mock-fs").args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `mock-fs` playing the scenario `toml` (written to `file`), and what it prints, line by
/// line, until a line starts with `until`.
fn mock_with_scenario(file: &std::path::Path, toml: &str, until: &str) -> (Mock, Vec<String>) {
    std::fs::write(file, toml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["mock-fs", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(file)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run eslmatrix mock-fs");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mock = Mock(child);
    let mut said: Vec<String> = Vec::new();
    while !said.last().is_some_and(|l| l.starts_with(until)) {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "mock-fs ended: {said:?}");
        said.push(line);
    }
    (mock, said)
}

// A scenario's [sip] table names the WebSocket bindings as the flags do.
#[test]
fn a_scenario_sip_table_turns_a_websocket_binding_off() {
    let dir = std::env::temp_dir().join(format!("eslmatrix-mockfs-sipws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = "name = \"sip\"\n[sip]\nlisten = \"127.0.0.1:0\"\nws = \"off\"\n";
    let (_mock, said) = mock_with_scenario(&dir.join("sip.toml"), toml, "SIP on wss://");
    assert!(!said.iter().any(|l| l.starts_with("SIP on ws://")), "{said:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// The profile's auth-calls from a scenario's [sip] table: off, an INVITE with no
// credentials is taken (100 Trying, then routed), not challenged with 407; a value that is
// not a boolean is a one-line error, exit code 2.
#[test]
fn a_scenario_sip_table_turns_auth_calls_off() {
    let dir = std::env::temp_dir().join(format!("eslmatrix-mockfs-sipauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sip.toml");
    let table = "name = \"sip\"\n[sip]\nlisten = \"127.0.0.1:0\"\nws = \"off\"\nwss = \"off\"\n";
    let (_mock, said) = mock_with_scenario(&file, &format!("{table}auth_calls = false\n"), "SIP on udp ");
    let udp = said.last().and_then(|l| l.trim().strip_prefix("SIP on udp ")).unwrap().to_string();
    let phone = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    phone.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let port = phone.local_addr().unwrap().port();
    let invite = format!(
        "INVITE sip:9196@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKauth1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1000@127.0.0.1>;tag=a\r\nTo: <sip:9196@127.0.0.1>\r\n\
         Call-ID: auth-off\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@127.0.0.1:{port}>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    phone.send_to(invite.as_bytes(), udp.as_str()).unwrap();
    let mut buf = [0u8; 4096];
    let n = phone.recv(&mut buf).unwrap();
    let first = String::from_utf8_lossy(&buf[..n]);
    assert!(first.starts_with("SIP/2.0 100 Trying\r\n"), "{first}");

    std::fs::write(&file, format!("{table}auth_calls = \"no\"\n")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["mock-fs", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("sip.auth_calls"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
