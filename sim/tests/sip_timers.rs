//! The mock's own timers (fs::sip::timers) over real UDP sockets, driven by
//! `SipCore::tick` with instants the test advances (the ticker is off): our INVITE sent
//! again at Timer A's instants and given up at Timer B (RFC 3261 §17.1.1.2), a ringing
//! callee cancelled at the originate's timeout, our 2xx sent again until the ACK
//! (§13.3.1.4) and the call ended when none comes, a BYE nobody answers (Timer E/F), a
//! final response sent again answered with the same ACK; then SIPp as a callee behind a
//! link that loses the first INVITE, with the real ticker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::ApiOutput;
use eslmatrix_sim::fs::sip::message::{self, Message};
use eslmatrix_sim::fs::sip::{SipConfig, SipCore};
use eslmatrix_sim::fs::MockHandle;
use tokio::net::UdpSocket;

use super::sip_b2bua::{callee_answer, caller_request, drain, invited_with, no_auth, SDP_B};
use super::sip_register::Phone;

fn ms(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// Ticks every 100 ms from `from_ms` to `to_ms` (inclusive) after `t0`; the instants (ms)
/// at which the core sent something again.
fn resent_at(core: &SipCore, t0: Instant, from_ms: u64, to_ms: u64) -> Vec<u64> {
    let mut at = Vec::new();
    for t in (from_ms..=to_ms).step_by(100) {
        let before = core.stats().resent;
        core.tick(ms(t0, t));
        let n = core.stats().resent - before;
        at.extend(std::iter::repeat_n(t, n as usize));
    }
    at
}

/// (direction, Hangup-Cause) of each CHANNEL_HANGUP, in order.
fn hangups(events: &[Arc<Event>]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.get("Event-Name") == Some("CHANNEL_HANGUP"))
        .map(|e| {
            let get = |h: &str| e.get(h).unwrap_or_default().to_string();
            (get("Call-Direction"), get("Hangup-Cause"))
        })
        .collect()
}

fn pair(dir: &str, cause: &str) -> (String, String) {
    (dir.to_string(), cause.to_string())
}

fn branch(msg: &Message) -> String {
    message::param(msg.header("Via").unwrap(), "branch").flatten().unwrap().to_string()
}

// A callee that never answers: our INVITE goes again at T1, 3·T1, 7·T1 … 63·T1 (Timer A
// doubles without a cap, six retransmissions), and at 64·T1 Timer B gives up. nta answers
// the INVITE itself with 408 (sofia-sip nta.c outgoing_timeout → outgoing_reply(orq,
// SIP_408_REQUEST_TIMEOUT)), which sofia.c takes as the callee's status (sip_term_status
// 408): sofia_glue.c sofia_glue_sip_cause_to_freeswitch(408) is RECOVERY_ON_TIMER_EXPIRE
// for the B leg, a cause switch_channel_handle_cause does not go on from, so the caller
// hangs up with it; mod_sofia.c sofia_on_hangup answers it the B leg's own 408
// (last_bridge_proto_specific_hangup_cause sip:408 over hangup_cause_to_sip's 504).
#[tokio::test]
async fn a_callee_that_never_answers_gets_the_invite_seven_times_then_the_caller_408() {
    let (mock, a, b, mut rx, invite) = invited_with(no_auth()).await;
    let core = mock.sip().unwrap();
    let t0 = Instant::now();
    core.tick(t0);
    assert_eq!(resent_at(core, t0, 100, 31_900), [500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    for _ in 0..6 {
        let again = b.recv().await;
        assert_eq!(again.to_bytes(), invite.to_bytes(), "the same INVITE, same branch");
    }
    assert!(a.quiet().await, "the caller has nothing before Timer B");
    assert_eq!(core.calls(), 1);
    core.tick(ms(t0, 32_000));
    let failed = a.recv().await;
    assert_eq!((failed.status(), failed.cseq()), (Some(408), Some((1, "INVITE"))));
    let events = drain(&mut rx);
    assert_eq!(
        hangups(&events),
        [pair("outbound", "RECOVERY_ON_TIMER_EXPIRE"), pair("inbound", "RECOVERY_ON_TIMER_EXPIRE")]
    );
    let b_hangup = events.iter().find(|e| e.get("Event-Name") == Some("CHANNEL_HANGUP")).unwrap();
    assert_eq!(b_hangup.get("variable_sip_term_status"), Some("408"));
    assert!(b.quiet().await, "no CANCEL after Timer B: the transaction is gone");
    assert_eq!((core.calls(), core.timers()), (0, 0));
    assert_eq!(mock.pbx().snapshot().channels, 0);
}

/// Runs a ringing call until its originate gives up: `vars` set on the legs first (A leg
/// `call_timeout`, B leg `leg_timeout`), the callee has sent 180. Returns the instant
/// (ms after the first tick) the callee got CANCEL, the caller's status, the hangups.
async fn ring_out(vars: &[(&str, &str)]) -> (u64, u16, Vec<(String, String)>) {
    let (mock, a, b, mut rx, invite) = invited_with(no_auth()).await;
    let core = mock.sip().unwrap();
    b.send(&callee_answer(&b, &invite, 180, "Ringing", "")).await;
    assert_eq!(a.recv().await.status(), Some(180));
    let legs = mock.pbx().channel_uuids();
    for (leg, var) in vars {
        let uuid = if *leg == "a" { &legs[0] } else { &legs[1] };
        let set = mock.pbx().api("uuid_setvar", &format!("{uuid} {var}"));
        assert!(matches!(&set, ApiOutput::Text(t) if t.starts_with("+OK")), "{set:?}");
    }
    let t0 = Instant::now();
    core.tick(t0);
    let mut cancelled_at = None;
    for t in (100..=61_000).step_by(100) {
        core.tick(ms(t0, t));
        if mock.pbx().snapshot().channels < 2 {
            cancelled_at = Some(t);
            break;
        }
    }
    let at = cancelled_at.expect("the originate gives up by 61 s");
    assert_eq!(core.stats().resent, 0, "the 180 stopped Timer A");
    let cancel = b.recv().await;
    assert_eq!(cancel.method(), Some("CANCEL"));
    assert_eq!(cancel.cseq(), Some((1, "CANCEL")));
    assert_eq!((branch(&cancel), cancel.header("Call-ID")), (branch(&invite), invite.header("Call-ID")));
    let refused = a.recv().await;
    // The CANCEL nobody answers goes again at T1 (Timer E).
    core.tick(ms(t0, at + 400));
    assert!(b.quiet().await);
    core.tick(ms(t0, at + 500));
    assert_eq!(b.recv().await.to_bytes(), cancel.to_bytes());
    b.send(&callee_answer(&b, &cancel, 200, "OK", "")).await;
    b.send(&callee_answer(&b, &invite, 487, "Request Terminated", "")).await;
    let ack = b.recv().await;
    assert_eq!((ack.method(), ack.cseq(), branch(&ack)), (Some("ACK"), Some((1, "ACK")), branch(&invite)));
    assert_eq!(core.calls(), 0);
    // Our ACK is kept 64·T1 for a 487 sent again, then nothing is timed.
    core.tick(ms(t0, at + 1_000));
    core.tick(ms(t0, at + 40_000));
    assert!(b.quiet().await, "the CANCEL's 200 stopped Timer E");
    assert_eq!(core.timers(), 0);
    (at, refused.status().unwrap(), hangups(&drain(&mut rx)))
}

// switch_ivr_originate.c switch_ivr_originate: the caller's call_timeout, else
// SWITCH_DEFAULT_TIMEOUT (60 s, switch_types.h); past it the peer is hung up NO_ANSWER
// (sofia CANCELs it) and the bridge fails with it. mod_dptools.c audio_bridge_function →
// switch_channel_handle_cause goes on after NO_ANSWER without continue_on_fail; the
// shipped local_extension has nothing after its bridge, so the caller "has executed the
// last dialplan instruction" (switch_core_state_machine.c standard_on_execute) and hangs
// up NORMAL_CLEARING: hangup_cause_to_sip(NORMAL_CLEARING) is the default, 480.
#[tokio::test]
async fn a_callee_that_only_rings_is_cancelled_at_60_s_and_the_caller_gets_480() {
    let (at, status, hangups) = ring_out(&[]).await;
    assert_eq!((at, status), (60_000, 480));
    assert_eq!(hangups, [pair("outbound", "NO_ANSWER"), pair("inbound", "NORMAL_CLEARING")]);
}

// The A leg's call_timeout sets the limit; a B leg's leg_timeout that is shorter ends it
// first, as check_per_channel_timeouts does: the peer ALLOTTED_TIMEOUT, a cause the bridge
// does not go on from, so the caller hangs up with it (hangup_cause_to_sip: 480).
#[tokio::test]
async fn call_timeout_and_a_shorter_leg_timeout_end_the_ringing_sooner() {
    let (at, status, hangups) = ring_out(&[("a", "call_timeout 5")]).await;
    assert_eq!((at, status), (5_000, 480));
    assert_eq!(hangups, [pair("outbound", "NO_ANSWER"), pair("inbound", "NORMAL_CLEARING")]);
    let (at, status, hangups) = ring_out(&[("a", "call_timeout 5"), ("b", "leg_timeout 3")]).await;
    assert_eq!((at, status), (3_000, 480));
    assert_eq!(hangups, [pair("outbound", "ALLOTTED_TIMEOUT"), pair("inbound", "ALLOTTED_TIMEOUT")]);
}

/// An answered call: the callee's 200 relayed to the caller (not ACKed yet) and our ACK
/// to the callee. Returns the caller's 200 and our ACK.
async fn answered(a: &Phone, b: &Phone, invite: &Message) -> (Message, Message) {
    b.send(&callee_answer(b, invite, 200, "OK", SDP_B)).await;
    let ok = a.recv().await;
    assert_eq!(ok.status(), Some(200));
    let ack = b.recv().await;
    assert_eq!(ack.method(), Some("ACK"));
    (ok, ack)
}

// RFC 3261 §13.3.1.4: our 2xx goes again T1, 2·T1 … apart, at most T2, until the ACK; after
// 64·T1 without one the UAS ends the session with BYE: nua_session.c process_timeout sends
// it with Reason "SIP;cause=408;text=\"ACK Timeout\"", and the bridge hangs the other leg up.
// A 200 the callee sends again (it missed our ACK, §13.2.2.4) gets the same ACK again.
#[tokio::test]
async fn a_caller_that_never_acks_gets_our_200_ten_more_times_then_a_bye() {
    let (mock, a, b, mut rx, invite) = invited_with(no_auth()).await;
    let core = mock.sip().unwrap();
    let (ok, ack) = answered(&a, &b, &invite).await;
    let t0 = Instant::now();
    core.tick(t0);
    let at = resent_at(core, t0, 100, 31_900);
    assert_eq!(at, [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    for _ in 0..10 {
        assert_eq!(a.recv().await.to_bytes(), ok.to_bytes());
    }
    b.send(&callee_answer(&b, &invite, 200, "OK", SDP_B)).await;
    assert_eq!(b.recv().await.to_bytes(), ack.to_bytes(), "the same ACK for the 200 again");
    assert_eq!(core.stats().resent, 11);
    assert_eq!(mock.pbx().snapshot().channels, 2, "the 200 sent again is no new answer");
    drain(&mut rx);
    core.tick(ms(t0, 32_000));
    let bye_a = a.recv().await;
    assert_eq!(bye_a.method(), Some("BYE"));
    assert_eq!(bye_a.header("Reason"), Some("SIP;cause=408;text=\"ACK Timeout\""));
    let bye_b = b.recv().await;
    assert_eq!((bye_b.method(), bye_b.header("Call-ID")), (Some("BYE"), invite.header("Call-ID")));
    assert_eq!(
        hangups(&drain(&mut rx)),
        [pair("inbound", "NORMAL_CLEARING"), pair("outbound", "NORMAL_CLEARING")]
    );
    assert_eq!((core.calls(), mock.pbx().snapshot().channels), (0, 0));
}

// The ACK stops our 2xx at once. A BYE the callee never answers goes again at T1, 3·T1,
// 7·T1, then every T2 (Timer E), and at 64·T1 Timer F drops it quietly: the call had ended.
#[tokio::test]
async fn the_ack_stops_our_200_and_an_unanswered_bye_is_dropped_at_timer_f() {
    let (mock, a, b, mut rx, invite) = invited_with(no_auth()).await;
    let core = mock.sip().unwrap();
    let (ok, _) = answered(&a, &b, &invite).await;
    let t0 = Instant::now();
    core.tick(t0);
    assert_eq!(resent_at(core, t0, 100, 600), [500]);
    assert_eq!(a.recv().await.to_bytes(), ok.to_bytes());
    let a_tag = message::param(ok.header("To").unwrap(), "tag").flatten().unwrap().to_string();
    a.send(&caller_request(&a, "ACK", 1, Some(&a_tag), "")).await;
    a.send(&caller_request(&a, "BYE", 2, Some(&a_tag), "")).await;
    assert_eq!(a.recv().await.status(), Some(200), "the 200 to the BYE, which came after the ACK");
    let bye = b.recv().await;
    assert_eq!(bye.method(), Some("BYE"));
    let t1 = Instant::now().max(ms(t0, 600));
    core.tick(t1);
    let at = resent_at(core, t1, 100, 31_900);
    assert_eq!(at, [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    for _ in 0..10 {
        assert_eq!(b.recv().await.to_bytes(), bye.to_bytes());
    }
    drain(&mut rx);
    core.tick(ms(t1, 32_000));
    assert!(a.quiet().await && b.quiet().await, "Timer F sends nothing");
    assert!(drain(&mut rx).is_empty(), "and changes nothing in the model");
    assert_eq!((core.calls(), core.timers()), (0, 0));
}

/// A UDP relay standing for a lossy network in front of a callee: what the mock sends to
/// it goes on to `callee` except the first datagram, which is lost; what comes back goes to
/// the mock. Returns its port and how many datagrams it dropped and passed.
async fn lossy_relay(mock: &MockHandle, callee: u16) -> (u16, Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = front.local_addr().unwrap().port();
    let server = mock.sip_udp_addr().unwrap();
    let passed = Arc::new(AtomicU64::new(0));
    let count = passed.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        let mut dropped = false;
        loop {
            let Ok((n, from)) = front.recv_from(&mut buf).await else { return };
            if from == server {
                if !dropped {
                    dropped = true;
                    continue;
                }
                count.fetch_add(1, Ordering::SeqCst);
                let _ = front.send_to(&buf[..n], ("127.0.0.1", callee)).await;
            } else {
                let _ = front.send_to(&buf[..n], server).await;
            }
        }
    });
    (port, passed)
}

// A real callee (SIPp, fixtures/sipp/uas_answer.xml) behind a link that loses the mock's
// first INVITE: the call still completes because Timer A sends it again, with the server's
// own ticker (the first retransmission is 0.5 s after the INVITE).
#[tokio::test]
async fn sipp_answers_the_invite_the_mock_sent_again_after_the_first_was_lost() {
    use super::sip_sipp::{fixtures, free_port, sipp};
    let mock = super::sip_register::mock_with(SipConfig::default()).await;
    let core = mock.sip().unwrap().clone();
    let uas_port = free_port();
    let (relay, passed) = lossy_relay(&mock, uas_port).await;
    let mut callee = Phone::udp(mock.sip_udp_addr().unwrap(), "1001").await;
    callee.contact_port = Some(relay);
    assert_eq!(callee.register("1234", 600).await.status(), Some(200));
    let mut rx = mock.pbx().subscribe();
    let dir = fixtures();
    let path = |f: &str| dir.join(f).display().to_string();
    let callee_args: Vec<String> = [
        "-sf",
        &path("uas_answer.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        &uas_port.to_string(),
        "-m",
        "1",
        "-t",
        "u1",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let callee = tokio::spawn(async move { sipp(&callee_args).await });
    super::sip_calls::bound(uas_port).await;
    let server = mock.sip_udp_addr().unwrap().to_string();
    let caller_args: Vec<String> = [
        server.as_str(),
        "-sf",
        &path("uac_auth.xml"),
        "-inf",
        &path("callers.csv"),
        "-s",
        "1001",
        "-i",
        "127.0.0.1",
        "-p",
        &free_port().to_string(),
        "-m",
        "1",
        "-t",
        "u1",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let (ok, out) = sipp(&caller_args).await;
    assert!(ok, "the SIPp call succeeds:\n{out}");
    let (ok, out) = callee.await.unwrap();
    assert!(ok, "the SIPp callee's call succeeds:\n{out}");
    assert!(core.stats().resent >= 1, "the INVITE went again");
    assert!(passed.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let events = drain(&mut rx);
    let hangups = hangups(&events);
    assert_eq!(hangups.len(), 2, "{hangups:?}");
    assert!(hangups.iter().all(|(_, c)| c == "NORMAL_CLEARING"), "{hangups:?}");
    assert!(events.iter().any(|e| e.get("Event-Name") == Some("CHANNEL_BRIDGE")));
}

// The dialplan's own `set call_timeout=2` before its bridge (vanilla's local_extension sets
// call_timeout=30 the same way) is what the originate reads when it starts ringing.
#[tokio::test]
async fn a_dialplan_call_timeout_is_the_ring_limit() {
    use eslmatrix_sim::fs::pbx::dialplan::ExtensionSpec;
    let mock = super::sip_register::mock_with(no_auth()).await;
    let spec = ExtensionSpec {
        context: "default".into(),
        name: "short_ring".into(),
        conditions: vec![(String::new(), "^1001$".into())],
        actions: vec!["set call_timeout=2".into(), "bridge user/1001@${domain_name}".into()],
    };
    mock.pbx().add_extensions(&[spec]).unwrap();
    let server = mock.sip_udp_addr().unwrap();
    let mut b = Phone::udp(server, "1001").await;
    assert_eq!(b.register("1234", 600).await.status(), Some(200));
    let a = Phone::udp(server, "1000").await;
    a.send(&caller_request(&a, "INVITE", 1, None, super::sip_b2bua::SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let invite = b.recv().await;
    b.send(&callee_answer(&b, &invite, 180, "Ringing", "")).await;
    assert_eq!(a.recv().await.status(), Some(180));
    let core = mock.sip().unwrap();
    let t0 = Instant::now();
    core.tick(t0);
    core.tick(ms(t0, 1_900));
    assert!(b.quiet().await, "still ringing at 1.9 s");
    core.tick(ms(t0, 2_000));
    assert_eq!(b.recv().await.method(), Some("CANCEL"));
    assert_eq!(a.recv().await.status(), Some(480));
}
