//! Event sequences and headers the model fires, checked against FreeSWITCH's behaviour
//! (research §1.6, §4 and the cgrates / sofia_reg captures).

use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{CallHandle, Party, Pbx, PbxConfig, Transport, MESSAGE_SUBCLASS};
use tokio::sync::broadcast::Receiver;
use tokio::time::advance;

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(ev);
    }
    out
}

/// `(Event-Name, Unique-ID)` of every channel event.
fn sequence(events: &[Arc<Event>]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.name().unwrap_or("").to_string(), e.get("Unique-ID").unwrap_or("").to_string()))
        .collect()
}

fn office() -> (Pbx, Receiver<Arc<Event>>) {
    let pbx = Pbx::new(PbxConfig::default());
    pbx.register("1000", Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    pbx.register("1001", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
    let rx = pbx.subscribe();
    (pbx, rx)
}

fn find<'a>(events: &'a [Arc<Event>], name: &str, uuid: &str) -> &'a Event {
    events
        .iter()
        .find(|e| e.name() == Some(name) && e.get("Unique-ID") == Some(uuid))
        .unwrap_or_else(|| panic!("no {name} for {uuid}"))
}

/// Names without the state-machine events (answered_call_fires_freeswitch_sequence pins those).
fn classic(events: &[Arc<Event>]) -> Vec<&str> {
    const LIFECYCLE: [&str; 7] = [
        "CHANNEL_STATE",
        "CODEC",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_OUTGOING",
        "CHANNEL_ORIGINATE",
        "CHANNEL_DESTROY",
    ];
    events.iter().map(|e| e.name().unwrap()).filter(|n| !LIFECYCLE.contains(n)).collect()
}

fn legs(call: &CallHandle) -> (String, String) {
    (call.a.clone(), call.b.clone().expect("B leg"))
}

const COMMON: [&str; 13] = [
    "Event-Name",
    "Core-UUID",
    "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4",
    "FreeSWITCH-IPv6",
    "Event-Date-Local",
    "Event-Date-GMT",
    "Event-Date-Timestamp",
    "Event-Calling-File",
    "Event-Calling-Function",
    "Event-Calling-Line-Number",
    "Event-Sequence",
];

#[tokio::test(start_paused = true)]
async fn answered_call_fires_freeswitch_sequence() {
    let (pbx, mut rx) = office();
    let call = pbx.start_call("1001", "1000", Some("Web Visitor")).unwrap();
    let (a, b) = legs(&call);
    advance(Duration::from_secs(4)).await;
    pbx.answer(&call).unwrap();
    advance(Duration::from_secs(20)).await;
    pbx.hangup(&call, Party::Caller).unwrap();
    let events = drain(&mut rx);
    let s = |n: &str, u: &str| (n.to_string(), u.to_string());
    // switch_core_state_machine.c switch_core_session_run (CHANNEL_STATE from
    // switch_channel.c switch_channel_perform_set_running_state on every state the thread
    // picks up, CREATE/ORIGINATE in case CS_INIT), switch_core_session.c
    // switch_core_session_outgoing_channel (OUTGOING), switch_core_session_exec
    // (EXECUTE/EXECUTE_COMPLETE), switch_core_codec.c set_read_codec/set_write_codec
    // (CODEC ×2), switch_core_session_perform_destroy (DESTROY, then
    // switch_core_session_destroy_state's CHANNEL_STATE CS_DESTROY).
    assert_eq!(
        sequence(&events),
        vec![
            s("CHANNEL_STATE", &a),
            s("CHANNEL_CREATE", &a),
            s("CHANNEL_CALLSTATE", &a),
            s("CHANNEL_STATE", &a),
            s("CHANNEL_STATE", &a),
            s("CHANNEL_EXECUTE", &a),
            s("CHANNEL_OUTGOING", &b),
            s("CHANNEL_STATE", &b),
            s("CHANNEL_CREATE", &b),
            s("CHANNEL_ORIGINATE", &b),
            s("CHANNEL_STATE", &b),
            s("CHANNEL_STATE", &b),
            s("CHANNEL_PROGRESS", &b),
            s("CHANNEL_CALLSTATE", &b),
            s("CHANNEL_PROGRESS", &a),
            s("CODEC", &b),
            s("CODEC", &b),
            s("CHANNEL_ANSWER", &b),
            s("CHANNEL_CALLSTATE", &b),
            s("CODEC", &a),
            s("CODEC", &a),
            s("CHANNEL_ANSWER", &a),
            s("CHANNEL_CALLSTATE", &a),
            s("CHANNEL_STATE", &b),
            s("CHANNEL_BRIDGE", &a),
            s("CHANNEL_HANGUP", &a),
            s("CHANNEL_UNBRIDGE", &a),
            s("CHANNEL_EXECUTE_COMPLETE", &a),
            s("CHANNEL_HANGUP", &b),
            s("CHANNEL_STATE", &a),
            s("CHANNEL_CALLSTATE", &a),
            s("CHANNEL_STATE", &b),
            s("CHANNEL_CALLSTATE", &b),
            s("CHANNEL_STATE", &a),
            s("CHANNEL_HANGUP_COMPLETE", &a),
            s("CHANNEL_STATE", &b),
            s("CHANNEL_HANGUP_COMPLETE", &b),
            s("CHANNEL_DESTROY", &a),
            s("CHANNEL_STATE", &a),
            s("CHANNEL_DESTROY", &b),
            s("CHANNEL_STATE", &b),
        ]
    );
    let states = |uuid: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.name() == Some("CHANNEL_STATE") && e.get("Unique-ID") == Some(uuid))
            .map(|e| {
                format!("{}/{}", e.get("Channel-State").unwrap(), e.get("Channel-State-Number").unwrap())
            })
            .collect()
    };
    assert_eq!(
        states(&a),
        ["CS_INIT/1", "CS_ROUTING/2", "CS_EXECUTE/4", "CS_HANGUP/10", "CS_REPORTING/11", "CS_DESTROY/12"]
    );
    assert_eq!(
        states(&b),
        [
            "CS_INIT/1",
            "CS_ROUTING/2",
            "CS_CONSUME_MEDIA/7",
            "CS_EXCHANGE_MEDIA/5",
            "CS_HANGUP/10",
            "CS_REPORTING/11",
            "CS_DESTROY/12"
        ]
    );
    // OUTGOING is fired before the leg's thread runs: running state CS_NONE, state CS_INIT.
    let outgoing = find(&events, "CHANNEL_OUTGOING", &b);
    assert_eq!(outgoing.get("Channel-State"), Some("CS_NONE"));
    assert_eq!(outgoing.get("Channel-State-Number"), Some("1"));
    // The read codec event uses lowercase names, the write one mixed case (switch_core_codec.c).
    let codecs: Vec<&Arc<Event>> = events
        .iter()
        .filter(|e| e.name() == Some("CODEC") && e.get("Unique-ID") == Some(a.as_str()))
        .collect();
    assert_eq!(codecs[0].get("channel-read-codec-name"), Some("opus"));
    assert_eq!(codecs[0].get("channel-read-codec-rate"), Some("48000"));
    assert_eq!(codecs[1].get("Channel-Write-Codec-Name"), Some("opus"));
    assert_eq!(codecs[1].get("Channel-Write-codec-bit-rate"), Some("0"));
    // switch_core_session_exec: Application headers follow the channel data.
    let exec = find(&events, "CHANNEL_EXECUTE", &a);
    assert_eq!(exec.get("Application"), Some("bridge"));
    assert_eq!(exec.get("Application-Data"), Some("user/1000@192.0.2.10"));
    let n = exec.headers.len();
    assert_eq!(exec.headers[n - 3].0, "Application");
    assert_eq!(exec.headers[n - 1].0, "Application-UUID");
    let done = find(&events, "CHANNEL_EXECUTE_COMPLETE", &a);
    assert_eq!(done.get("Application-Response"), Some("_none_"));
    assert_eq!(done.get("Application-UUID"), exec.get("Application-UUID"));
    let destroy = find(&events, "CHANNEL_DESTROY", &a);
    assert_eq!(destroy.get("Channel-State"), Some("CS_REPORTING"));
    assert_eq!(destroy.get("Channel-State-Number"), Some("12"));
    assert_eq!(destroy.get("Answer-State"), Some("hangup"));
    // CHANNEL_CALLSTATE: old state and new number lead; the event shows the new state.
    let transitions: Vec<String> = events
        .iter()
        .filter(|e| e.name() == Some("CHANNEL_CALLSTATE"))
        .map(|e| {
            assert_eq!(e.headers[13].0, "Original-Channel-Call-State");
            assert_eq!(e.headers[14].0, "Channel-Call-State-Number");
            format!(
                "{}->{}({})",
                e.get("Original-Channel-Call-State").unwrap(),
                e.get("Channel-Call-State").unwrap(),
                e.get("Channel-Call-State-Number").unwrap()
            )
        })
        .collect();
    assert_eq!(
        transitions,
        [
            "DOWN->RINGING(2)",
            "DOWN->RINGING(2)",
            "RINGING->ACTIVE(4)",
            "RINGING->ACTIVE(4)",
            "ACTIVE->HANGUP(7)",
            "ACTIVE->HANGUP(7)"
        ]
    );
    // The progress event still shows the state before it; hangup shows the call state
    // before the state machine moves it to HANGUP.
    let b_progress = find(&events, "CHANNEL_PROGRESS", &b);
    assert_eq!(b_progress.get("Channel-Call-State"), Some("DOWN"));
    assert_eq!(find(&events, "CHANNEL_HANGUP", &b).get("Channel-Call-State"), Some("ACTIVE"));
    // Every event starts with the 13 common headers, sequence numbers climb by one.
    let first_seq: u64 = events[0].get("Event-Sequence").unwrap().parse().unwrap();
    for (i, ev) in events.iter().enumerate() {
        let names: Vec<&str> = ev.headers.iter().take(13).map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, COMMON);
        assert_eq!(ev.get("Event-Sequence"), Some((first_seq + i as u64).to_string().as_str()));
    }
    let create = find(&events, "CHANNEL_CREATE", &a);
    assert_eq!(create.get("Event-Calling-File"), Some("switch_core_state_machine.c"));
    assert_eq!(create.get("Channel-State"), Some("CS_INIT"));
    assert_eq!(create.get("Call-Direction"), Some("inbound"));
    assert_eq!(create.get("Caller-Caller-ID-Name"), Some("Web Visitor"));
    assert_eq!(create.get("Caller-Destination-Number"), Some("1000"));
    assert_eq!(create.get("Answer-State"), Some("ringing"));
    assert_eq!(create.get("Event-Date-Timestamp"), Some("1764000000000000"));
    let b_create = find(&events, "CHANNEL_CREATE", &b);
    assert_eq!(b_create.get("Call-Direction"), Some("outbound"));
    assert_eq!(b_create.get("Other-Type"), Some("originator"));
    assert_eq!(b_create.get("Other-Leg-Unique-ID"), Some(a.as_str()));
    assert_eq!(b_create.get("Channel-Call-UUID"), Some(a.as_str()));
    let answer = find(&events, "CHANNEL_ANSWER", &a);
    assert_eq!(answer.get("Event-Calling-Function"), Some("switch_channel_perform_mark_answered"));
    assert_eq!(answer.get("Answer-State"), Some("answered"));
    assert_eq!(answer.get("Event-Date-Timestamp"), Some("1764000004000000"));
    assert_eq!(answer.get("Channel-Read-Codec-Name"), Some("opus"));
    let bridge = find(&events, "CHANNEL_BRIDGE", &a);
    assert_eq!(bridge.headers[13], ("Bridge-A-Unique-ID".to_string(), a.clone()));
    assert_eq!(bridge.headers[14], ("Bridge-B-Unique-ID".to_string(), b.clone()));
    assert_eq!(bridge.get("Other-Type"), Some("originatee"));
    assert_eq!(bridge.get("Other-Leg-Unique-ID"), Some(b.as_str()));
    let hup_a = find(&events, "CHANNEL_HANGUP", &a);
    assert_eq!(hup_a.get("Hangup-Cause"), Some("NORMAL_CLEARING"));
    assert_eq!(hup_a.get("variable_sip_hangup_disposition"), Some("recv_bye"));
    assert_eq!(hup_a.get("variable_hangup_cause"), None, "set only after CHANNEL_HANGUP");
    let done_a = find(&events, "CHANNEL_HANGUP_COMPLETE", &a);
    // Hangup-Cause twice: right after the common headers, then in the channel data.
    assert_eq!(done_a.headers[13], ("Hangup-Cause".to_string(), "NORMAL_CLEARING".to_string()));
    assert_eq!(done_a.get_all("Hangup-Cause").count(), 2);
    assert_eq!(done_a.get("Channel-State"), Some("CS_REPORTING"));
    assert_eq!(done_a.get("Channel-State-Number"), Some("11"));
    assert_eq!(done_a.get("Answer-State"), Some("hangup"));
    assert_eq!(done_a.get("variable_sip_term_status"), Some("200"));
    assert_eq!(done_a.get("variable_proto_specific_hangup_cause"), Some("sip:200"));
    assert_eq!(done_a.get("variable_hangup_cause"), Some("NORMAL_CLEARING"));
    assert_eq!(done_a.get("variable_hangup_cause_q850"), Some("16"));
    assert_eq!(done_a.get("variable_billsec"), Some("20"));
    assert_eq!(done_a.get("variable_duration"), Some("24"));
    assert_eq!(done_a.get("Event-Calling-Function"), Some("switch_core_session_reporting_state"));
    let done_b = find(&events, "CHANNEL_HANGUP_COMPLETE", &b);
    assert_eq!(done_b.get("variable_sip_hangup_disposition"), Some("send_bye"));
    assert_eq!(done_b.get("variable_sip_term_status"), None, "B received no final status");
    assert_eq!(pbx.snapshot().channels, 0);
}

/// Runs a rejected call and returns (A leg HANGUP_COMPLETE, B leg HANGUP_COMPLETE, all).
fn rejected(status: Option<u16>) -> (Event, Event, Vec<Arc<Event>>) {
    let (pbx, mut rx) = office();
    let call = pbx.start_call("1000", "1001", None).unwrap();
    let (a, b) = legs(&call);
    match status {
        Some(s) => pbx.reject(&call, s).unwrap(),
        None => pbx.cancel(&call).unwrap(),
    }
    let events = drain(&mut rx);
    assert!(events.iter().all(|e| e.name() != Some("CHANNEL_BRIDGE") && e.name() != Some("CHANNEL_ANSWER")));
    let done_a = find(&events, "CHANNEL_HANGUP_COMPLETE", &a).clone();
    let done_b = find(&events, "CHANNEL_HANGUP_COMPLETE", &b).clone();
    assert_eq!(pbx.snapshot().channels, 0);
    (done_a, done_b, events)
}

#[test]
fn busy_here_is_user_busy() {
    let (a, b, events) = rejected(Some(486));
    let names = classic(&events);
    assert_eq!(
        names,
        [
            "CHANNEL_CREATE",
            "CHANNEL_CALLSTATE",
            "CHANNEL_CREATE",
            "CHANNEL_PROGRESS",
            "CHANNEL_CALLSTATE",
            "CHANNEL_PROGRESS",
            "CHANNEL_HANGUP",
            "CHANNEL_HANGUP",
            "CHANNEL_CALLSTATE",
            "CHANNEL_CALLSTATE",
            "CHANNEL_HANGUP_COMPLETE",
            "CHANNEL_HANGUP_COMPLETE"
        ]
    );
    // The B leg received 486 and sofia mapped it; the A leg was refused with the same cause.
    assert_eq!(events[6].get("Unique-ID"), b.get("Unique-ID"));
    assert_eq!(b.get_all("Hangup-Cause").collect::<Vec<_>>(), ["USER_BUSY", "USER_BUSY"]);
    assert_eq!(b.get("variable_sip_term_status"), Some("486"));
    assert_eq!(b.get("variable_proto_specific_hangup_cause"), Some("sip:486"));
    assert_eq!(b.get("variable_sip_term_cause"), Some("17"));
    assert_eq!(b.get("variable_sip_hangup_disposition"), Some("recv_refuse"));
    assert_eq!(b.get("variable_hangup_cause_q850"), Some("17"));
    assert_eq!(a.get("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(a.get("variable_sip_hangup_disposition"), Some("send_refuse"));
    assert_eq!(a.get("variable_sip_invite_failure_status"), Some("486"));
    assert_eq!(a.get("variable_sip_term_status"), None);
}

#[test]
fn not_found_is_unallocated_number() {
    let (a, b, _) = rejected(Some(404));
    assert_eq!(b.get("Hangup-Cause"), Some("UNALLOCATED_NUMBER"));
    assert_eq!(b.get("variable_proto_specific_hangup_cause"), Some("sip:404"));
    assert_eq!(b.get("variable_hangup_cause_q850"), Some("1"));
    assert_eq!(a.get("Hangup-Cause"), Some("UNALLOCATED_NUMBER"));
}

#[test]
fn temporarily_unavailable_is_no_user_response() {
    let (a, b, _) = rejected(Some(480));
    assert_eq!(b.get("Hangup-Cause"), Some("NO_USER_RESPONSE"));
    assert_eq!(b.get("variable_sip_term_status"), Some("480"));
    assert_eq!(b.get("variable_hangup_cause_q850"), Some("18"));
    assert_eq!(a.get("variable_hangup_cause"), Some("NO_USER_RESPONSE"));
}

#[test]
fn caller_cancel_is_originator_cancel_with_q850_16() {
    let (a, b, events) = rejected(None);
    // The caller's leg goes first.
    let first_hangup = events.iter().find(|e| e.name() == Some("CHANNEL_HANGUP")).unwrap();
    assert_eq!(first_hangup.get("Unique-ID"), a.get("Unique-ID"));
    for leg in [&a, &b] {
        assert_eq!(leg.get("Hangup-Cause"), Some("ORIGINATOR_CANCEL"));
        assert_eq!(leg.get("variable_hangup_cause_q850"), Some("16"));
        assert_eq!(leg.get("variable_sip_invite_failure_status"), Some("487"));
    }
    assert_eq!(a.get("variable_sip_hangup_disposition"), Some("recv_cancel"));
    assert_eq!(b.get("variable_sip_hangup_disposition"), Some("send_cancel"));
}

#[test]
fn unregistered_callee_refuses_the_caller() {
    let (pbx, mut rx) = office();
    let call = pbx.start_call("1000", "4711", None).unwrap();
    assert_eq!(call.b, None);
    let events = drain(&mut rx);
    let names = classic(&events);
    assert_eq!(
        names,
        [
            "CHANNEL_CREATE",
            "CHANNEL_CALLSTATE",
            "CHANNEL_HANGUP",
            "CHANNEL_CALLSTATE",
            "CHANNEL_HANGUP_COMPLETE"
        ]
    );
    let done = events.iter().find(|e| e.name() == Some("CHANNEL_HANGUP_COMPLETE")).unwrap();
    assert_eq!(done.get("Hangup-Cause"), Some("USER_NOT_REGISTERED"));
    assert_eq!(done.get("variable_hangup_cause_q850"), Some("16"));
    assert_eq!(done.get("variable_sip_hangup_disposition"), Some("send_refuse"));
    assert_eq!(pbx.answer(&call), Err(eslmatrix_sim::fs::pbx::PbxError::CallEnded));
    // With a gateway that is down the cause is GATEWAY_DOWN; when up, the call goes out.
    pbx.set_gateway("carrier", false).unwrap();
    drain(&mut rx);
    pbx.start_call("1000", "5550100", None).unwrap();
    let gone = drain(&mut rx);
    let done = gone.iter().rev().find(|e| e.name() == Some("CHANNEL_HANGUP_COMPLETE")).unwrap();
    assert_eq!(done.get("Hangup-Cause"), Some("GATEWAY_DOWN"));
    pbx.set_gateway("carrier", true).unwrap();
    let out = pbx.start_call("1000", "5550100", None).unwrap();
    let b = out.b.unwrap();
    let b_create = drain(&mut rx).into_iter().find(|e| e.get("Unique-ID") == Some(b.as_str())).unwrap();
    assert_eq!(b_create.get("Channel-Name"), Some("sofia/external/5550100@carrier.example.net"));
}

#[test]
fn registration_events_follow_sofia_reg() {
    let pbx = Pbx::new(PbxConfig::default());
    let mut rx = pbx.subscribe();
    let reg = pbx.register("1001", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
    pbx.register("1001", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
    pbx.unregister("1001").unwrap();
    pbx.register("1002", Transport::Udp, "Zoiper rv2.10.20.5").unwrap();
    pbx.expire("1002").unwrap();
    assert!(pbx.unregister("1002").is_err(), "no binding left");
    let events = drain(&mut rx);
    let keys = |e: &Event| e.headers.iter().skip(14).map(|(n, _)| n.clone()).collect::<Vec<_>>();
    for e in &events {
        assert_eq!(e.name(), Some("CUSTOM"));
        assert_eq!(e.headers[13].0, "Event-Subclass");
        assert_eq!(e.get("Event-Calling-File"), Some("sofia_reg.c"));
    }
    assert_eq!(events[0].subclass(), Some("sofia::register"));
    assert_eq!(
        keys(&events[0]),
        [
            "profile-name",
            "from-user",
            "from-host",
            "presence-hosts",
            "contact",
            "call-id",
            "rpid",
            "status",
            "expires",
            "to-user",
            "to-host",
            "network-ip",
            "network-port",
            "username",
            "realm",
            "user-agent"
        ]
    );
    assert_eq!(events[0].get("status"), Some("Registered(WSS-NAT)"));
    assert_eq!(events[0].get("contact"), Some(reg.contact.as_str()));
    assert_eq!(events[0].get("user-agent"), Some("SIP.js/0.21.2 (Chrome)"));
    // sofia_reg.c sofia_reg_handle_register_token: `update_registration` is only set with
    // multiple-registrations on; the shipped profile deletes and re-inserts the binding.
    assert_eq!(events[1].get("update-reg"), None);
    assert_eq!(events[1].get("call-id"), events[0].get("call-id"), "a refresh keeps its Call-ID");
    assert_eq!(events[2].subclass(), Some("sofia::unregister"));
    assert_eq!(
        keys(&events[2]),
        [
            "profile-name",
            "username",
            "from-user",
            "from-host",
            "contact",
            "call-id",
            "rpid",
            "realm",
            "network-ip",
            "network-port",
            "user-agent",
            "expires"
        ]
    );
    assert_eq!(events[2].get("expires"), Some("0"));
    assert_eq!(events[3].get("status"), Some("Registered(UDP)"));
    assert_eq!(events[4].subclass(), Some("sofia::expire"));
    assert_eq!(
        keys(&events[4]),
        [
            "profile-name",
            "call-id",
            "user",
            "username",
            "host",
            "contact",
            "expires",
            "user-agent",
            "realm",
            "network-ip",
            "network-port"
        ]
    );
    assert_eq!(events[4].get("Event-Calling-Function"), Some("sofia_reg_del_callback"));
    assert_eq!(events.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn gateway_message_and_heartbeat() {
    let (pbx, mut rx) = office();
    pbx.set_gateway("carrier", true).unwrap();
    assert_eq!(pbx.set_gateway("carrier", true), Ok(false), "no change, no event");
    pbx.set_gateway("carrier", false).unwrap();
    let uuid = pbx.message("Team meeting at 3 pm");
    let events = drain(&mut rx);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].get("State"), Some("REGED"), "a new gateway reports its registration");
    assert_eq!(events[0].get("Ping-Status"), Some("UP"));
    let down = &events[1];
    assert_eq!(down.subclass(), Some("sofia::gateway_state"));
    assert_eq!(
        down.headers.iter().skip(14).map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>(),
        ["Gateway=carrier", "State=FAILED", "Ping-Status=DOWN", "Phrase=Request Timeout", "Status=408"]
    );
    let msg = &events[2];
    assert_eq!(msg.subclass(), Some(MESSAGE_SUBCLASS));
    assert_eq!(msg.name(), Some("CUSTOM"));
    assert_eq!(msg.get("Message-Text"), Some("Team meeting at 3 pm"));
    assert_eq!(msg.get("Event-UUID"), Some(uuid.as_str()));
    assert_eq!(msg.get("Event-Calling-Function"), Some("parse_command"));

    let call = pbx.start_call("1000", "1001", None).unwrap();
    pbx.answer(&call).unwrap();
    let hb = pbx.heartbeat();
    let body: Vec<String> = hb.headers.iter().skip(13).map(|(n, v)| format!("{n}={v}")).collect();
    assert_eq!(
        body,
        [
            "Event-Info=System Ready",
            "Up-Time=0 years, 0 days, 0 hours, 0 minutes, 0 seconds, 0 milliseconds, 0 microseconds",
            "FreeSWITCH-Version=1.10.12-release~64bit",
            "Uptime-msec=0",
            "Session-Count=2",
            "Max-Sessions=1000",
            "Session-Per-Sec=30",
            "Session-Per-Sec-Last=0",
            "Session-Per-Sec-Max=2",
            "Session-Per-Sec-FiveMin=2",
            "Session-Since-Startup=2",
            "Session-Peak-Max=2",
            "Session-Peak-FiveMin=2",
            "Idle-CPU=99.530000",
        ]
    );
    assert_eq!(hb.get("Event-Calling-Function"), Some("send_heartbeat"));
    assert!(drain(&mut rx).iter().all(|e| e.name() != Some("HEARTBEAT")), "heartbeat() does not fire");
}

#[tokio::test(start_paused = true)]
async fn heartbeat_uptime_and_reset() {
    let (pbx, _rx) = office();
    let before = pbx.core_uuid();
    advance(Duration::from_millis(61_001)).await;
    let hb = pbx.heartbeat();
    assert_eq!(
        hb.get("Up-Time"),
        Some("0 years, 0 days, 0 hours, 1 minute, 1 second, 1 millisecond, 0 microseconds")
    );
    assert_eq!(hb.get("Uptime-msec"), Some("61001"));
    assert_eq!(hb.get("Event-Date-GMT"), Some("Mon, 24 Nov 2025 16:01:01 GMT"));
    let call = pbx.start_call("1000", "1001", None).unwrap();
    pbx.answer(&call).unwrap();
    pbx.reset();
    assert_ne!(pbx.core_uuid(), before, "a restarted FreeSWITCH has a new Core-UUID");
    let hb = pbx.heartbeat();
    assert_eq!(hb.get("Event-Sequence"), Some("1"));
    assert_eq!(hb.get("Session-Count"), Some("0"));
    assert_eq!(hb.get("Session-Since-Startup"), Some("0"));
    assert_eq!(hb.get("Uptime-msec"), Some("0"));
    assert_eq!(hb.get("Core-UUID"), Some(pbx.core_uuid().as_str()));
    // The wall clock keeps going across the restart.
    assert_eq!(hb.get("Event-Date-Local"), Some("2025-11-24 16:01:01"));
    let snap = pbx.snapshot();
    assert_eq!((snap.registrations, snap.channels, snap.calls), (0, 0, 0));
}

fn api_text(pbx: &Pbx, command: &str, args: &str) -> String {
    match pbx.api(command, args) {
        eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
        other => panic!("{command} {args}: {other:?}"),
    }
}

/// `(Event-Name, Channel-Call-State)` of the channel events of `uuid`, without the state
/// machine's.
fn hold_events(events: &[Arc<Event>], uuid: &str) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.get("Unique-ID") == Some(uuid) && e.name() != Some("CHANNEL_STATE"))
        .map(|e| (e.name().unwrap_or("").to_owned(), e.get("Channel-Call-State").unwrap_or("").to_owned()))
        .collect()
}

/// `uuid_hold` as mod_commands.c `uuid_hold_function` runs it: `switch_ivr_hold` sends
/// SWITCH_MESSAGE_INDICATE_HOLD, which mod_sofia (mod_sofia.c `sofia_receive_message`)
/// answers by setting CF_LEG_HOLDING; on an answered leg `switch_channel_set_flag_value`
/// makes that callstate HELD (CHANNEL_CALLSTATE), then `switch_ivr_hold` fires CHANNEL_HOLD.
/// `switch_ivr_unhold` refuses a leg that is not HELD; clearing the flag
/// (`switch_channel_clear_flag`) makes it UNHELD, not ACTIVE, before CHANNEL_UNHOLD.
#[tokio::test(start_paused = true)]
async fn uuid_hold_fires_hold_and_unhold_as_switch_ivr_does() {
    let (pbx, mut rx) = office();
    let call = pbx.start_call("1001", "1000", None).unwrap();
    let (_, b) = legs(&call);
    pbx.answer(&call).unwrap();
    drain(&mut rx);
    let ev = |name: &str, state: &str| (name.to_owned(), state.to_owned());

    assert_eq!(api_text(&pbx, "uuid_hold", &b), "+OK Success\n");
    let events = drain(&mut rx);
    assert_eq!(hold_events(&events, &b), [ev("CHANNEL_CALLSTATE", "HELD"), ev("CHANNEL_HOLD", "HELD")]);
    let callstate = find(&events, "CHANNEL_CALLSTATE", &b);
    assert_eq!(callstate.get("Original-Channel-Call-State"), Some("ACTIVE"));
    assert_eq!(callstate.get("Channel-Call-State-Number"), Some("5"));
    let hold = find(&events, "CHANNEL_HOLD", &b);
    assert_eq!(
        (hold.get("Event-Calling-File"), hold.get("Event-Calling-Function")),
        (Some("switch_ivr.c"), Some("switch_ivr_hold"))
    );
    assert!(hold_events(&events, &call.a).is_empty(), "the other leg keeps its state");
    assert!(api_text(&pbx, "show", "channels").contains("HELD"), "show channels lists the call state");

    // switch_ivr_hold: "Call is already on hold. No need to hold again."
    assert_eq!(api_text(&pbx, "uuid_hold", &b), "-ERR Operation failed\n");
    assert!(drain(&mut rx).is_empty());

    assert_eq!(api_text(&pbx, "uuid_hold", &format!("off {b}")), "+OK Success\n");
    let events = drain(&mut rx);
    assert_eq!(hold_events(&events, &b), [ev("CHANNEL_CALLSTATE", "UNHELD"), ev("CHANNEL_UNHOLD", "UNHELD")]);
    assert_eq!(find(&events, "CHANNEL_CALLSTATE", &b).get("Channel-Call-State-Number"), Some("8"));
    // switch_ivr_unhold: "Call is not on hold. No need to unhold."
    assert_eq!(api_text(&pbx, "uuid_hold", &format!("off {b}")), "-ERR Operation failed\n");

    // switch_ivr_hold_toggle_uuid: UNHELD or ACTIVE is held, HELD is taken off.
    assert_eq!(api_text(&pbx, "uuid_hold", &format!("toggle {b}")), "+OK Success\n");
    assert_eq!(hold_events(&drain(&mut rx), &b).last(), Some(&ev("CHANNEL_HOLD", "HELD")));
    assert_eq!(api_text(&pbx, "uuid_hold", &format!("toggle {b}")), "+OK Success\n");
    assert_eq!(hold_events(&drain(&mut rx), &b).last(), Some(&ev("CHANNEL_UNHOLD", "UNHELD")));
    assert_eq!(api_text(&pbx, "uuid_hold", &format!("toggle {}", call.a)), "+OK Success\n");
    assert_eq!(hold_events(&drain(&mut rx), &call.a).last(), Some(&ev("CHANNEL_HOLD", "HELD")));

    // switch_ivr_hold_uuid starts from SWITCH_STATUS_SUCCESS: no session, nothing fails.
    assert_eq!(api_text(&pbx, "uuid_hold", "no-such-uuid"), "+OK Success\n");
    assert_eq!(
        api_text(&pbx, "uuid_hold", ""),
        "-USAGE: [off|toggle] <uuid> [<display>]\n-ERR Operation failed\n"
    );
    pbx.hangup(&call, Party::Caller).unwrap();
}

/// A ringing leg is not ACTIVE: `switch_channel_set_flag_value` sets HELD only on an
/// answered leg, so CHANNEL_HOLD fires with the call state unchanged, and `toggle` (which
/// acts on ACTIVE, UNHELD or HELD only) leaves it alone.
#[tokio::test(start_paused = true)]
async fn holding_a_ringing_leg_fires_hold_without_a_call_state() {
    let (pbx, mut rx) = office();
    let call = pbx.start_call("1001", "1000", None).unwrap();
    let (_, b) = legs(&call);
    drain(&mut rx);
    assert_eq!(api_text(&pbx, "uuid_hold", &format!("toggle {b}")), "+OK Success\n");
    assert!(drain(&mut rx).is_empty());
    assert_eq!(api_text(&pbx, "uuid_hold", &b), "+OK Success\n");
    assert_eq!(hold_events(&drain(&mut rx), &b), [("CHANNEL_HOLD".to_owned(), "RINGING".to_owned())]);
    assert_eq!(api_text(&pbx, "uuid_hold", &format!("off {b}")), "-ERR Operation failed\n");
}
