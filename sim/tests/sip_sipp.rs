//! SIPp (Debian's sip-tester, installed by .ci/run) against the mock's SIP listeners: the
//! scenarios in fixtures/sipp/ are a real client's bytes, and what they did must show in
//! the model exactly (events, `show registrations`, counts).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{ApiOutput, Pbx};
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::MockHandle;
use tokio::sync::broadcast::Receiver;

use super::sip_register::mock_with;

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sipp")
}

/// A port free on loopback now for both UDP and TCP, for SIPp's own socket (`-p`): SIPp
/// binds it on the transport it runs, and a port only checked on UDP may be a TCP port
/// another test's connection holds (SIPp then fails to bind and makes no call).
pub(crate) fn free_port() -> u16 {
    for _ in 0..64 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free on both UDP and TCP in 64 tries")
}

/// Runs SIPp to the end (bounded: `-timeout`, and a kill after 120 s); its stdout and
/// whether every call succeeded (exit code 0).
pub(crate) async fn sipp(args: &[String]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new("sipp");
    cmd.args(args)
        .args(["-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err"])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run sipp ({e}): install Debian's sip-tester package (.ci/run does)")
    });
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("sipp ends within its own timeout")
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn api(pbx: &Pbx, cmd: &str, args: &str) -> String {
    match pbx.api(cmd, args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("{cmd} not found"),
    }
}

fn subclasses(rx: &mut Receiver<Arc<Event>>) -> Vec<String> {
    std::iter::from_fn(|| rx.try_recv().ok()).filter_map(|e| e.subclass().map(str::to_string)).collect()
}

fn args(mock: &MockHandle, tcp: bool, scenario: &str, calls: u32, port: u16) -> Vec<String> {
    let target = if tcp { mock.sip_tcp_addr() } else { mock.sip_udp_addr() }.unwrap();
    let dir = fixtures();
    vec![
        target.to_string(),
        "-sf".into(),
        dir.join(scenario).display().to_string(),
        "-inf".into(),
        dir.join("users.csv").display().to_string(),
        "-m".into(),
        calls.to_string(),
        "-r".into(),
        "50".into(),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "-t".into(),
        if tcp { "t1" } else { "u1" }.into(),
    ]
}

// sofia_reg_handle_register_token with a real client: ten users register through the
// challenge (fixtures/sipp/register.xml), each a sofia::register and a row from SIPp's
// socket; unregister.xml's Expires: 0 removes every one (sofia::unregister).
#[tokio::test]
async fn sipp_registers_ten_users_over_udp_and_unregisters_them() {
    let mock = mock_with(SipConfig::default()).await;
    let mut rx = mock.pbx().subscribe();
    let port = free_port();
    let (ok, out) = sipp(&args(&mock, false, "register.xml", 10, port)).await;
    assert!(ok, "SIPp's calls all succeed:\n{out}");
    assert_eq!(subclasses(&mut rx), vec!["sofia::register"; 10]);
    assert_eq!(api(mock.pbx(), "show", "registrations count"), "\n10 total.\n");
    let regs = mock.pbx().registrations();
    let users: Vec<&str> = regs.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(users, ["1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009"]);
    for r in &regs {
        assert_eq!((r.network_ip.as_str(), r.network_port), ("127.0.0.1", port));
        assert_eq!(r.user_agent, "SIPp register");
        assert_eq!(r.expires_secs, 300);
        assert_eq!(r.contact, format!("\"\" <sip:{}@127.0.0.1:{port};transport=UDP>", r.user));
    }
    let (ok, out) = sipp(&args(&mock, false, "unregister.xml", 10, free_port())).await;
    assert!(ok, "{out}");
    assert_eq!(subclasses(&mut rx), vec!["sofia::unregister"; 10]);
    assert_eq!(mock.pbx().snapshot().registrations, 0);
}

// The same over TCP (-t t1: one connection): `Registered(TCP)`, network_proto tcp.
#[tokio::test]
async fn sipp_registers_over_tcp() {
    let mock = mock_with(SipConfig::default()).await;
    let port = free_port();
    let (ok, out) = sipp(&args(&mock, true, "register.xml", 3, port)).await;
    assert!(ok, "{out}");
    let list = api(mock.pbx(), "show", "registrations");
    assert_eq!(list.matches(",tcp,").count(), 3, "{list}");
    assert!(mock.pbx().registrations().iter().all(|r| r.transport.as_str() == "tcp"));
}
