//! Calls between real SIP clients through the mock (fs::sip::b2bua): SIPp as caller and
//! callee (fixtures/sipp/uac_*.xml, uas_*.xml), and a hand-written UDP phone where a
//! test needs to see the bytes (SDP through, tags per leg, hold, BYE from the callee).
//! What ESL sees is the model's two legs: CHANNEL_CREATE, PROGRESS, ANSWER, BRIDGE,
//! HANGUP with the causes of fixtures/sip/ (sofia_glue_sip_cause_to_freeswitch for the
//! callee's answer, hangup_cause_to_sip for what the caller gets).

use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::MockHandle;
use tokio::sync::broadcast::Receiver;

use super::sip_register::{mock_with, Phone};
use super::sip_sipp::{fixtures, free_port, sipp};

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// `(Event-Name, Call-Direction, Hangup-Cause)` of the channel events, in order.
fn channel_events(events: &[Arc<Event>]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.get("Event-Name"),
                Some(
                    "CHANNEL_CREATE"
                        | "CHANNEL_PROGRESS"
                        | "CHANNEL_ANSWER"
                        | "CHANNEL_BRIDGE"
                        | "CHANNEL_HANGUP"
                        | "CHANNEL_HOLD"
                        | "CHANNEL_UNHOLD"
                )
            )
        })
        .map(|e| {
            let get = |h: &str| e.get(h).unwrap_or_default().to_string();
            (get("Event-Name"), get("Call-Direction"), get("Hangup-Cause"))
        })
        .collect()
}

fn named(events: &[(String, String, String)], name: &str) -> Vec<(String, String)> {
    events.iter().filter(|(n, _, _)| n == name).map(|(_, d, c)| (d.clone(), c.clone())).collect()
}

/// Registers `user` with its Contact at `port` (where a SIPp callee will listen).
async fn register_at(mock: &MockHandle, user: &str, port: u16) {
    let mut phone = Phone::udp(mock.sip_udp_addr().unwrap(), user).await;
    phone.contact_port = Some(port);
    assert_eq!(phone.register("1234", 600).await.status(), Some(200));
}

/// Waits until a process has bound UDP `port` on loopback (our own bind then fails).
pub(crate) async fn bound(port: u16) {
    for _ in 0..500 {
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("SIPp never bound port {port}");
}

fn path(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

/// Runs a SIPp callee with `uas` and a SIPp caller with `uac` calling 1001; both must
/// succeed. Returns every event the model fired meanwhile.
async fn sipp_call(mock: &MockHandle, uas: &str, uac: &str) -> Vec<Arc<Event>> {
    sipp_calls(mock, Some(uas), uac, "1001", 1, &[]).await
}

/// As [`sipp_call`] for `calls` calls in a row to `service` (the dialled number), the
/// SIPp callee registered as 1001 only when `uas` names its scenario, `caller_flags` (a
/// rate, say) added to the caller's command line.
pub(crate) async fn sipp_calls(
    mock: &MockHandle,
    uas: Option<&str>,
    uac: &str,
    service: &str,
    calls: usize,
    caller_flags: &[&str],
) -> Vec<Arc<Event>> {
    let calls = calls.to_string();
    let callee = match uas {
        Some(uas) => {
            let uas_port = free_port();
            register_at(mock, "1001", uas_port).await;
            let callee_args: Vec<String> =
                ["-sf", &path(uas), "-i", "127.0.0.1", "-p", &uas_port.to_string(), "-m", &calls, "-t", "u1"]
                    .iter()
                    .map(ToString::to_string)
                    .collect();
            let callee = tokio::spawn(async move { sipp(&callee_args).await });
            bound(uas_port).await;
            Some(callee)
        }
        None => None,
    };
    let mut rx = mock.pbx().subscribe();
    let server = mock.sip_udp_addr().unwrap().to_string();
    let caller_args: Vec<String> = [
        server.as_str(),
        "-sf",
        &path(uac),
        "-inf",
        &path("callers.csv"),
        "-s",
        service,
        "-i",
        "127.0.0.1",
        "-p",
        &free_port().to_string(),
        "-m",
        &calls,
        "-t",
        "u1",
    ]
    .iter()
    .chain(caller_flags)
    .map(ToString::to_string)
    .collect();
    let (ok, out) = sipp(&caller_args).await;
    assert!(ok, "every SIPp call succeeds:\n{out}");
    if let Some(callee) = callee {
        let (ok, out) = callee.await.unwrap();
        assert!(ok, "the SIPp callee's calls succeed:\n{out}");
    }
    drain(&mut rx)
}

// An answered call hung up by the caller: two legs (inbound A, outbound B), both ring,
// both answer, one bridge, both hang up NORMAL_CLEARING.
#[tokio::test]
async fn sipp_answered_call() {
    let mock = mock_with(SipConfig::default()).await;
    let events = channel_events(&sipp_call(&mock, "uas_answer.xml", "uac_auth.xml").await);
    assert_eq!(
        named(&events, "CHANNEL_CREATE"),
        [("inbound".into(), "".into()), ("outbound".into(), "".into())]
    );
    assert_eq!(named(&events, "CHANNEL_PROGRESS").len(), 2);
    assert_eq!(named(&events, "CHANNEL_ANSWER").len(), 2);
    assert_eq!(named(&events, "CHANNEL_BRIDGE").len(), 1);
    let hangups = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangups.len(), 2, "{events:?}");
    assert!(hangups.iter().all(|(_, c)| c == "NORMAL_CLEARING"), "{hangups:?}");
    let snap = mock.pbx().snapshot();
    assert_eq!((snap.channels, snap.calls), (0, 0));
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// The callee answers 486: sofia_glue_sip_cause_to_freeswitch(486) = USER_BUSY on both
// legs, and hangup_cause_to_sip(USER_BUSY) = 486 is what the caller gets (uac_busy.xml
// expects exactly 486).
#[tokio::test]
async fn sipp_busy_call() {
    let mock = mock_with(SipConfig::default()).await;
    let events = channel_events(&sipp_call(&mock, "uas_busy.xml", "uac_busy.xml").await);
    let hangups = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangups.len(), 2, "{events:?}");
    assert!(hangups.iter().all(|(_, c)| c == "USER_BUSY"), "{hangups:?}");
    assert!(named(&events, "CHANNEL_ANSWER").is_empty());
    assert_eq!(mock.pbx().snapshot().channels, 0);
}

// The caller cancels while it rings: ORIGINATOR_CANCEL on both legs; the callee gets a
// CANCEL (uas_ring.xml) and the caller its 487.
#[tokio::test]
async fn sipp_cancelled_call() {
    let mock = mock_with(SipConfig::default()).await;
    let events = channel_events(&sipp_call(&mock, "uas_ring.xml", "uac_cancel.xml").await);
    let hangups = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangups.len(), 2, "{events:?}");
    assert!(hangups.iter().all(|(_, c)| c == "ORIGINATOR_CANCEL"), "{hangups:?}");
    assert_eq!(mock.pbx().snapshot().channels, 0);
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// A short load run: SIPp calls 1001 at 20 calls/s until 100 calls (each through the 407
// challenge, answered, 300 ms of talk, BYE). Every call shows in the model exactly: 200
// legs created and hung up NORMAL_CLEARING, `status` counts 200 sessions since startup,
// the profile 100 calls in and 100 out, nothing left up.
#[tokio::test]
async fn sipp_load_run_counts_exactly() {
    let mock = mock_with(SipConfig::default()).await;
    let calls = 100;
    let events = channel_events(
        &sipp_calls(&mock, Some("uas_answer.xml"), "uac_auth.xml", "1001", calls, &["-r", "20"]).await,
    );
    assert_eq!(named(&events, "CHANNEL_CREATE").len(), 2 * calls);
    assert_eq!(named(&events, "CHANNEL_BRIDGE").len(), calls);
    let hangups = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangups.len(), 2 * calls);
    assert!(hangups.iter().all(|(_, c)| c == "NORMAL_CLEARING"));
    let snap = mock.pbx().snapshot();
    assert_eq!((snap.channels, snap.calls, snap.counters.since_startup), (0, 0, 2 * calls as u64));
    let status = match mock.pbx().api("status", "") {
        eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(status.contains(&format!("{} session(s) since startup", 2 * calls)), "{status}");
    let profile = match mock.pbx().api("sofia", "status profile internal") {
        eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(profile.contains(&format!("CALLS-IN         \t{calls}\n")), "{profile}");
    assert!(profile.contains(&format!("CALLS-OUT        \t{calls}\n")), "{profile}");
    assert!(profile.contains("FAILED-CALLS-IN  \t0\n"));
    assert_eq!(mock.sip().unwrap().calls(), 0);
}
