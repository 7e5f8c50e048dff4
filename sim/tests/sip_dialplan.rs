//! Real SIP calls through the model's XML dialplan (fs::sip::b2bua, fs::pbx::dialplan):
//! SIPp and hand-written UDP phones call the shipped extensions (9196 echo,
//! local_extension) and a scenario's own, and the model ending a call on its own (ESL
//! `uuid_kill`, a dialplan `hangup` after `answer`, the bridged peer's BYE) reaches the
//! clients as BYE, CANCEL or a final response.
//!
//! The FreeSWITCH facts pinned here: sofia.c `sofia_handle_sip_i_invite` creates the
//! inbound leg and switch_core_state_machine.c `switch_core_standard_on_routing` hunts
//! the dialplan (no extension: NO_ROUTE_DESTINATION); switch_core_session.c
//! `switch_core_session_exec` fires CHANNEL_EXECUTE with `current_application` set;
//! mod_dptools.c `audio_bridge_function` sets `originate_disposition` and hands a
//! failure to switch_channel.c `switch_channel_handle_cause`; mod_sofia.c
//! `sofia_on_hangup` answers an unanswered INVITE with `hangup_cause_to_sip`
//! (fixtures/sip/), and `sofia_glue_sip_cause_to_freeswitch` maps a callee's status.

use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::dialplan::ExtensionSpec;
use eslmatrix_sim::fs::pbx::Pbx;
use eslmatrix_sim::fs::sip::message;
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::MockHandle;
use tokio::sync::broadcast::Receiver;

use super::esl_support::Raw;
use super::sip_b2bua::{callee_answer, no_auth, SDP_A, SDP_B};
use super::sip_calls::sipp_calls;
use super::sip_register::{mock_with, Phone};
use super::sip_sipp::{fixtures, free_port, sipp};

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

fn named<'a>(events: &'a [Arc<Event>], name: &str) -> Vec<&'a Arc<Event>> {
    events.iter().filter(|e| e.get("Event-Name") == Some(name)).collect()
}

/// `Application` of every CHANNEL_EXECUTE, in order.
fn executed(events: &[Arc<Event>]) -> Vec<String> {
    named(events, "CHANNEL_EXECUTE")
        .iter()
        .map(|e| e.get("Application").unwrap_or_default().to_string())
        .collect()
}

fn extension(name: &str, number: &str, actions: &[&str]) -> ExtensionSpec {
    ExtensionSpec {
        context: "default".into(),
        name: name.into(),
        conditions: vec![(String::new(), format!("^{number}$"))],
        actions: actions.iter().map(ToString::to_string).collect(),
    }
}

/// A mock with SIP (auth-calls on, as vanilla) and `extensions` added to `default`.
async fn mock_with_extensions(sip: SipConfig, extensions: &[ExtensionSpec]) -> MockHandle {
    let mock = mock_with(sip).await;
    mock.pbx().add_extensions(extensions).unwrap();
    mock
}

// 9196 (conf/vanilla/dialplan/default.xml: answer, echo) from SIPp: the PBX answers the
// call itself, so ESL sees one leg, its answer and echo executes (current_application
// echo while it runs), the ANSWER with Answer-State answered, and the caller's BYE ends it
// NORMAL_CLEARING (recv_bye).
#[tokio::test]
async fn sipp_calls_9196_and_the_pbx_answers_with_echo() {
    let mock = mock_with(SipConfig::default()).await;
    let events = sipp_calls(&mock, None, "uac_auth.xml", "9196", 1, &[]).await;
    let created = named(&events, "CHANNEL_CREATE");
    assert_eq!(created.len(), 1, "one leg: nothing is bridged");
    assert_eq!(created[0].get("Call-Direction"), Some("inbound"));
    assert_eq!(created[0].get("Caller-Destination-Number"), Some("9196"));
    assert_eq!(created[0].get("Caller-Context"), Some("default"));
    assert_eq!(executed(&events), ["answer", "echo"]);
    let echo = named(&events, "CHANNEL_EXECUTE")[1];
    assert_eq!(echo.get("variable_current_application"), Some("echo"));
    let answers = named(&events, "CHANNEL_ANSWER");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].get("Answer-State"), Some("answered"));
    let hangup = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangup.len(), 1);
    assert_eq!(hangup[0].get("Hangup-Cause"), Some("NORMAL_CLEARING"));
    let complete = named(&events, "CHANNEL_HANGUP_COMPLETE");
    assert_eq!(complete[0].get("variable_sip_hangup_disposition"), Some("recv_bye"));
    assert_eq!(mock.pbx().snapshot().channels, 0);
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// A scenario's extension that refuses the call (`hangup USER_BUSY`): the leg never
// answers and hangs up USER_BUSY; hangup_cause_to_sip(USER_BUSY) = 486 is what the SIPp
// caller gets (uac_busy.xml expects exactly 486).
#[tokio::test]
async fn a_scenario_extension_hanging_up_user_busy_gives_486() {
    let busy = extension("always_busy", "2000", &["hangup USER_BUSY"]);
    let mock = mock_with_extensions(SipConfig::default(), &[busy]).await;
    let events = sipp_calls(&mock, None, "uac_busy.xml", "2000", 1, &[]).await;
    assert_eq!(executed(&events), ["hangup"]);
    assert_eq!(named(&events, "CHANNEL_EXECUTE")[0].get("Application-Data"), Some("USER_BUSY"));
    assert!(named(&events, "CHANNEL_ANSWER").is_empty());
    let hangup = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangup.len(), 1);
    assert_eq!(hangup[0].get("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(hangup[0].get("Answer-State"), Some("hangup"));
    let complete = named(&events, "CHANNEL_HANGUP_COMPLETE");
    assert_eq!(complete[0].get("variable_sip_hangup_disposition"), Some("send_refuse"));
    assert_eq!(mock.pbx().snapshot().channels, 0);
}

// A number no extension matches: switch_core_standard_on_routing finds nothing, the leg
// hangs up NO_ROUTE_DESTINATION without executing anything, and the caller gets 404.
#[tokio::test]
async fn a_number_without_an_extension_gets_404() {
    let mock = mock_with(SipConfig::default()).await;
    let events = sipp_calls(&mock, None, "uac_not_found.xml", "5555", 1, &[]).await;
    assert_eq!(named(&events, "CHANNEL_CREATE").len(), 1);
    assert!(executed(&events).is_empty());
    let routing = named(&events, "CHANNEL_STATE");
    assert!(routing.iter().any(|e| e.get("Channel-State") == Some("CS_ROUTING")));
    let hangup = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangup.len(), 1);
    assert_eq!(hangup[0].get("Hangup-Cause"), Some("NO_ROUTE_DESTINATION"));
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// A bridge to a real callee that answers 486, then a fallback: with continue_on_fail the
// bridge's failure (originate_disposition USER_BUSY on the A leg, the B leg USER_BUSY)
// lets the dialplan go on (switch_channel_handle_cause), whose `answer` answers the SIPp
// caller itself; the caller's BYE ends it.
#[tokio::test]
async fn a_busy_real_callee_falls_back_to_the_next_action() {
    let fallback = extension(
        "busy_fallback",
        "2001",
        &["set continue_on_fail=true", "bridge user/1001", "answer", "park"],
    );
    let mock = mock_with_extensions(SipConfig::default(), &[fallback]).await;
    let events = sipp_calls(&mock, Some("uas_busy.xml"), "uac_auth.xml", "2001", 1, &[]).await;
    assert_eq!(executed(&events), ["set", "bridge", "answer", "park"]);
    let bridge_done = named(&events, "CHANNEL_EXECUTE_COMPLETE")
        .into_iter()
        .find(|e| e.get("Application") == Some("bridge"))
        .unwrap();
    assert_eq!(bridge_done.get("variable_originate_disposition"), Some("USER_BUSY"));
    assert_eq!(bridge_done.get("variable_originate_failed_cause"), Some("USER_BUSY"));
    let hangups: Vec<(&str, &str)> = named(&events, "CHANNEL_HANGUP")
        .iter()
        .map(|e| (e.get("Call-Direction").unwrap_or_default(), e.get("Hangup-Cause").unwrap_or_default()))
        .collect();
    assert_eq!(hangups, [("outbound", "USER_BUSY"), ("inbound", "NORMAL_CLEARING")]);
    let answers = named(&events, "CHANNEL_ANSWER");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].get("Call-Direction"), Some("inbound"));
    assert!(named(&events, "CHANNEL_BRIDGE").is_empty());
    assert_eq!(mock.pbx().snapshot().channels, 0);
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

/// Waits until the model has a live answered leg; its UUID.
async fn answered_leg(pbx: &Pbx) -> String {
    for _ in 0..3000 {
        let snap = pbx.snapshot();
        if snap.channels == 1 {
            let uuid = pbx.channel_uuids().remove(0);
            if let eslmatrix_sim::fs::pbx::ApiOutput::Text(t) =
                pbx.api("uuid_getvar", &format!("{uuid} endpoint_disposition"))
            {
                if t.trim() == "ANSWER" {
                    return uuid;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no answered leg");
}

// `api uuid_kill` over ESL on a SIPp call the PBX answered (9196): switch_channel_hangup
// on an answered sofia leg sends BYE (sofia_on_hangup, disposition send_bye), which SIPp
// waits for and answers (uac_hung_up.xml); the B2BUA forgets the call.
#[tokio::test]
async fn uuid_kill_over_esl_sends_the_sipp_caller_a_bye() {
    let mock = mock_with(SipConfig::default()).await;
    let mut rx = mock.pbx().subscribe();
    let server = mock.sip_udp_addr().unwrap().to_string();
    let dir = fixtures();
    let caller: Vec<String> = [
        server.as_str(),
        "-sf",
        &dir.join("uac_hung_up.xml").display().to_string(),
        "-inf",
        &dir.join("callers.csv").display().to_string(),
        "-s",
        "9196",
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
    let run = tokio::spawn(async move { sipp(&caller).await });
    let uuid = answered_leg(mock.pbx()).await;
    let mut esl = Raw::login(mock.addr()).await;
    assert_eq!(esl.cmd(&format!("api uuid_kill {uuid}")).await.body_text(), "+OK\n");
    let (ok, out) = run.await.unwrap();
    assert!(ok, "SIPp got its BYE:\n{out}");
    let events = drain(&mut rx);
    let complete = named(&events, "CHANNEL_HANGUP_COMPLETE");
    assert_eq!(complete.len(), 1);
    assert_eq!(complete[0].get("Hangup-Cause"), Some("NORMAL_CLEARING"));
    assert_eq!(complete[0].get("variable_sip_hangup_disposition"), Some("send_bye"));
    assert_eq!(mock.pbx().snapshot().channels, 0);
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

/// An INVITE from `a` (user 1000, no auth) to `number`.
fn invite(a: &Phone, number: &str, sdp: &str) -> String {
    let port = a.port();
    format!(
        "INVITE sip:{number}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKdp{number};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1000@127.0.0.1>;tag=a1\r\nTo: <sip:{number}@127.0.0.1>\r\n\
         Call-ID: dp-{number}\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@127.0.0.1:{port}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// A phone 1001 registered over UDP, and caller 1000's phone.
async fn two_phones(mock: &MockHandle) -> (Phone, Phone) {
    let server = mock.sip_udp_addr().unwrap();
    let mut b = Phone::udp(server, "1001").await;
    assert_eq!(b.register("1234", 600).await.status(), Some(200));
    (Phone::udp(server, "1000").await, b)
}

// The dialplan answers (the mirror of the caller's SDP, RFC 3264 directions) and then
// hangs up: the caller gets its 200, then a BYE in the caller's dialog.
#[tokio::test]
async fn a_dialplan_hangup_after_answer_sends_bye() {
    let short = extension("short", "2002", &["answer", "hangup"]);
    let mock = mock_with_extensions(no_auth(), &[short]).await;
    let (a, _b) = two_phones(&mock).await;
    a.send(&invite(&a, "2002", &SDP_A.replace("a=sendrecv", "a=sendonly"))).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let ok = a.recv().await;
    assert_eq!(ok.status(), Some(200));
    let body = String::from_utf8(ok.body.clone()).unwrap();
    assert!(body.contains("m=audio 40000 RTP/AVP 0\r\na=recvonly\r\n"), "{body}");
    assert!(body.starts_with("v=0\r\no=FreeSWITCH "), "{body}");
    let bye = a.recv().await;
    assert_eq!(bye.method(), Some("BYE"));
    assert_eq!(bye.header("Call-ID"), Some("dp-2002"));
    assert!(bye.header("To").unwrap().ends_with(";tag=a1"));
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// The model kills a caller whose bridge still rings a real callee (uuid_kill from the
// API, not from SIP): the caller gets hangup_cause_to_sip(NORMAL_CLEARING) = 480, the
// callee a CANCEL of our INVITE, its leg ORIGINATOR_CANCEL (switch_ivr_originate.c: the
// originator left).
#[tokio::test]
async fn a_ringing_call_killed_by_the_model_cancels_the_callee() {
    let mock = mock_with(no_auth()).await;
    let (a, b) = two_phones(&mock).await;
    let mut rx = mock.pbx().subscribe();
    a.send(&invite(&a, "1001", SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let inv = b.recv().await;
    assert_eq!(inv.method(), Some("INVITE"));
    b.send(&callee_answer(&b, &inv, 180, "Ringing", "")).await;
    assert_eq!(a.recv().await.status(), Some(180));
    let a_uuid = mock.pbx().channel_uuids().remove(0);
    let _ = mock.pbx().api("uuid_kill", &a_uuid);
    assert_eq!(a.recv().await.status(), Some(480));
    let cancel = b.recv().await;
    assert_eq!(cancel.method(), Some("CANCEL"));
    assert_eq!(cancel.header("Call-ID"), inv.header("Call-ID"));
    assert_eq!(cancel.cseq(), Some((1, "CANCEL")));
    b.send(&callee_answer(&b, &inv, 487, "Request Terminated", "")).await;
    assert_eq!(b.recv().await.method(), Some("ACK"));
    let events = drain(&mut rx);
    let hangups: Vec<(&str, &str)> = named(&events, "CHANNEL_HANGUP")
        .iter()
        .map(|e| (e.get("Call-Direction").unwrap_or_default(), e.get("Hangup-Cause").unwrap_or_default()))
        .collect();
    assert_eq!(hangups, [("inbound", "NORMAL_CLEARING"), ("outbound", "ORIGINATOR_CANCEL")]);
    assert_eq!(mock.sip().unwrap().calls(), 0);
    assert_eq!(mock.pbx().snapshot().channels, 0);
}

// hupall on a bridged call: both legs go down with the cause and both phones get a BYE.
#[tokio::test]
async fn hupall_on_a_bridged_call_sends_both_phones_a_bye() {
    let mock = mock_with(no_auth()).await;
    let (a, b) = two_phones(&mock).await;
    a.send(&invite(&a, "1001", SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let inv = b.recv().await;
    b.send(&callee_answer(&b, &inv, 200, "OK", SDP_B)).await;
    let ok = a.recv().await;
    assert_eq!((ok.status(), ok.body.as_slice()), (Some(200), SDP_B.as_bytes()));
    assert_eq!(b.recv().await.method(), Some("ACK"));
    assert_eq!(mock.pbx().snapshot().bridged_calls, 1);
    let _ = mock.pbx().api("hupall", "MANAGER_REQUEST");
    let (bye_a, bye_b) = (a.recv().await, b.recv().await);
    assert_eq!((bye_a.method(), bye_a.header("Call-ID")), (Some("BYE"), Some("dp-1001")));
    assert_eq!((bye_b.method(), bye_b.header("Call-ID")), (Some("BYE"), inv.header("Call-ID")));
    assert_eq!(mock.sip().unwrap().calls(), 0);
    assert_eq!(mock.pbx().snapshot().channels, 0);
}

// Without hangup_after_bridge the A leg outlives its bridge (mod_dptools.c
// audio_bridge_function returns after switch_ivr_multi_threaded_bridge): the callee's BYE
// ends its leg, the dialplan goes on to `hangup CALL_REJECTED`, and the caller gets a BYE.
// local_extension sets hangup_after_bridge=true, so there the caller's leg just follows.
#[tokio::test]
async fn the_callee_hanging_up_lets_the_dialplan_go_on_without_hangup_after_bridge() {
    let on = extension("goes_on", "2003", &["bridge user/1001", "hangup CALL_REJECTED"]);
    let mock = mock_with_extensions(no_auth(), &[on]).await;
    let (a, b) = two_phones(&mock).await;
    let mut rx = mock.pbx().subscribe();
    a.send(&invite(&a, "2003", SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let inv = b.recv().await;
    b.send(&callee_answer(&b, &inv, 200, "OK", SDP_B)).await;
    assert_eq!(a.recv().await.status(), Some(200));
    assert_eq!(b.recv().await.method(), Some("ACK"));
    let bye = format!(
        "BYE sip:mod_sofia@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKbyeb;rport\r\n\
         From: {};tag=b1\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        b.port(),
        inv.header("To").unwrap(),
        inv.header("From").unwrap(),
        inv.header("Call-ID").unwrap()
    );
    b.send(&bye).await;
    assert_eq!(b.recv().await.status(), Some(200));
    let bye_a = a.recv().await;
    assert_eq!(bye_a.method(), Some("BYE"));
    let events = drain(&mut rx);
    assert_eq!(executed(&events), ["bridge", "hangup"]);
    let hangups: Vec<(&str, &str)> = named(&events, "CHANNEL_HANGUP")
        .iter()
        .map(|e| (e.get("Call-Direction").unwrap_or_default(), e.get("Hangup-Cause").unwrap_or_default()))
        .collect();
    assert_eq!(hangups, [("outbound", "NORMAL_CLEARING"), ("inbound", "CALL_REJECTED")]);
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// A call the dialplan holds alone (answer, park): a re-INVITE to hold is answered here with
// the mirror (uuid_hold: CHANNEL_HOLD), and `uuid_transfer` to an extension that hangs up
// USER_BUSY (switch_ivr_session_transfer: the leg leaves park, routes again) ends the
// answered caller with a BYE.
#[tokio::test]
async fn a_transfer_to_an_extension_that_hangs_up_sends_bye() {
    let parked = extension("parked", "2004", &["answer", "park"]);
    let busy = extension("always_busy", "2000", &["hangup USER_BUSY"]);
    let mock = mock_with_extensions(no_auth(), &[parked, busy]).await;
    let (a, _b) = two_phones(&mock).await;
    let mut rx = mock.pbx().subscribe();
    a.send(&invite(&a, "2004", SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let ok = a.recv().await;
    assert_eq!(ok.status(), Some(200));
    let tag = message::param(ok.header("To").unwrap(), "tag").flatten().unwrap().to_string();
    let hold = invite(&a, "2004", &SDP_A.replace("a=sendrecv", "a=sendonly"))
        .replace("CSeq: 1 INVITE", "CSeq: 2 INVITE")
        .replace("To: <sip:2004@127.0.0.1>", &format!("To: <sip:2004@127.0.0.1>;tag={tag}"))
        .replace("branch=z9hG4bKdp2004", "branch=z9hG4bKdp2004h");
    a.send(&hold).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let held = a.recv().await;
    assert_eq!((held.status(), held.cseq()), (Some(200), Some((2, "INVITE"))));
    assert!(String::from_utf8_lossy(&held.body).contains("a=recvonly"));
    let uuid = mock.pbx().channel_uuids().remove(0);
    let _ = mock.pbx().api("uuid_transfer", &format!("{uuid} 2000"));
    let bye = a.recv().await;
    assert_eq!((bye.method(), bye.header("Call-ID")), (Some("BYE"), Some("dp-2004")));
    let events = drain(&mut rx);
    assert_eq!(named(&events, "CHANNEL_HOLD").len(), 1);
    assert_eq!(executed(&events), ["answer", "park", "hangup"]);
    assert_eq!(named(&events, "CHANNEL_UNPARK").len(), 1);
    let hangup = named(&events, "CHANNEL_HANGUP");
    assert_eq!(hangup.len(), 1);
    assert_eq!(hangup[0].get("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

// uuid_transfer of a caller whose bridge rings a device: the device leg ends
// ORIGINATOR_CANCEL (its phone gets a CANCEL), the caller routes again and the new
// extension's `answer` answers it.
#[tokio::test]
async fn transferring_a_ringing_caller_cancels_the_device() {
    let parked = extension("parked", "2004", &["answer", "park"]);
    let mock = mock_with_extensions(no_auth(), &[parked]).await;
    let (a, b) = two_phones(&mock).await;
    let mut rx = mock.pbx().subscribe();
    a.send(&invite(&a, "1001", SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let inv = b.recv().await;
    let a_uuid = mock.pbx().channel_uuids().remove(0);
    let _ = mock.pbx().api("uuid_transfer", &format!("{a_uuid} 2004"));
    let cancel = b.recv().await;
    assert_eq!((cancel.method(), cancel.header("Call-ID")), (Some("CANCEL"), inv.header("Call-ID")));
    assert_eq!(a.recv().await.status(), Some(200));
    b.send(&callee_answer(&b, &inv, 487, "Request Terminated", "")).await;
    assert_eq!(b.recv().await.method(), Some("ACK"));
    let events = drain(&mut rx);
    let hangups: Vec<&str> =
        named(&events, "CHANNEL_HANGUP").iter().map(|e| e.get("Hangup-Cause").unwrap_or_default()).collect();
    assert_eq!(hangups, ["ORIGINATOR_CANCEL"]);
    assert_eq!(mock.pbx().snapshot().channels, 1, "the caller stays, parked");
    assert_eq!(mock.sip().unwrap().calls(), 1);
}

// The caller's directory `user_context` is the context its INVITE is routed in
// (sofia_handle_sip_i_invite puts it in the caller profile): 1000 in `office` reaches
// office's 3000, which `default` lacks; 1001, in no context of its own, gets 404 there.
#[tokio::test]
async fn the_callers_user_context_picks_the_dialplan_context() {
    use eslmatrix_sim::fs::pbx::directory::User;
    let office = ExtensionSpec {
        context: "office".into(),
        ..extension("reception", "3000", &["hangup CALL_REJECTED"])
    };
    let mock = mock_with_extensions(no_auth(), &[office]).await;
    let user = |id: &str, context: Option<&str>| User {
        id: id.into(),
        password: Some("1234".into()),
        user_context: context.map(str::to_string),
        ..User::default()
    };
    mock.pbx().add_users(&[user("1000", Some("office")), user("1001", None)]);
    let mut rx = mock.pbx().subscribe();
    let (a, b) = two_phones(&mock).await;
    a.send(&invite(&a, "3000", SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    assert_eq!(a.recv().await.status(), Some(603), "CALL_REJECTED through hangup_cause_to_sip");
    let created = drain(&mut rx);
    let create = named(&created, "CHANNEL_CREATE")[0].clone();
    assert_eq!(create.get("Caller-Context"), Some("office"));
    assert_eq!(create.get("variable_user_context"), Some("office"));
    let from_b = invite(&b, "3000", SDP_A).replace("sip:1000@", "sip:1001@").replace("dp-3000", "dp-3000b");
    b.send(&from_b).await;
    assert_eq!(b.recv().await.status(), Some(100));
    assert_eq!(b.recv().await.status(), Some(404));
}

// A scenario's [[user]] carries user_context (fixtures/scenarios/README.md).
#[test]
fn a_scenario_user_names_its_context() {
    let scenario = eslmatrix_sim::fs::pbx::scenario::Scenario::parse(
        "[[user]]\nid = \"1000\"\nuser_context = \"office\"\n",
    )
    .unwrap();
    assert_eq!(scenario.users[0].user_context.as_deref(), Some("office"));
    assert_eq!(scenario.users[0].id, "1000");
}
