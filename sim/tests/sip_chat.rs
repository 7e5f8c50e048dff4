//! MESSAGE as chat, pinned to a vanilla FreeSWITCH's handling with hand-written UDP
//! phones: sofia_presence.c `sofia_presence_handle_sip_i_message` (202 Accepted, the MESSAGE
//! event, `auth-messages`), switch_loadable_module.c `do_chat_send` (the event fired after
//! delivery with `Nonblocking-Delivery`), `sofia_presence_chat_send` (a new MESSAGE to each
//! binding; `sofia::error` "no recipient"). SIP.js receiving one over wss is in
//! sim/tests/sip_ws_sipjs.rs.

use std::sync::Arc;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::sip::message::{self, Message};
use eslmatrix_sim::fs::sip::SipConfig;
use tokio::sync::broadcast::Receiver;

use super::sip_register::{answer, mock_with, Phone};

/// Without the ticker: a relayed MESSAGE a phone answers late is not sent again (Timer E,
/// sim/tests/sip_timers.rs), so each phone hears exactly what these tests expect.
fn untimed() -> SipConfig {
    SipConfig { ticker: false, ..SipConfig::default() }
}

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// A MESSAGE from `from` to `to_user@127.0.0.1` as a phone writes it.
fn message(from: &Phone, to_user: &str, n: u32, extra: &str, ctype: &str, body: &str) -> String {
    let port = from.port();
    format!(
        "MESSAGE sip:{to_user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKchat{n}-{port};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:{}@127.0.0.1>;tag=al{n}\r\nTo: <sip:{to_user}@127.0.0.1>\r\n\
         Call-ID: chat-{n}-{port}\r\nCSeq: {n} MESSAGE\r\n{extra}Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        from.user,
        body.len()
    )
}

/// The event names and subclasses among `events`, in firing order.
fn kinds(events: &[Arc<Event>]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match (e.name(), e.subclass()) {
            (Some("CUSTOM"), Some(s)) => Some(s.to_string()),
            (Some(n @ ("MESSAGE" | "RECV_MESSAGE")), _) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// The headers after the 13 common ones (`switch_event_prep_for_delivery`).
fn own_headers(ev: &Event) -> Vec<(String, String)> {
    ev.headers.iter().skip_while(|(n, _)| n != "Event-Sequence").skip(1).cloned().collect()
}

// sofia_presence_handle_sip_i_message with auth-messages (vanilla's default): no
// credentials → the 407 challenge a call gets; the right ones → 202 Accepted. Then
// sofia_presence_chat_send relays a new MESSAGE to 1001's binding: its own Call-ID, From
// tag and CSeq, the sender's From, the Content-Type's type/subtype (sofia-sip c_type), the
// body byte for byte, X-FS-Sending-Message with our Core-UUID, the sender's X- header (the
// event's sip_h_ headers). 1001's 200 is absorbed (no 481 comes back). do_chat_send fires
// the MESSAGE event after delivery with the headers sofia put on it, dest_proto and
// Nonblocking-Delivery; nothing else (no sofia::error, no RECV_MESSAGE: fire-message-events
// is off).
#[tokio::test]
async fn a_message_to_a_registered_user_is_relayed_and_fires_the_message_event() {
    let mock = mock_with(untimed()).await;
    let server = mock.sip_udp_addr().unwrap();
    let mut bob = Phone::udp(server, "1001").await;
    assert_eq!(bob.register("1234", 600).await.status(), Some(200));
    let alice = Phone::udp(server, "1000").await;
    let mut rx = mock.pbx().subscribe();
    let text = "Grüße — lunch at 12? ✓";
    let plain = "text/plain;charset=UTF-8";
    let challenge = alice.ask(&message(&alice, "1001", 1, "X-Room: kitchen\r\n", plain, text)).await;
    assert_eq!(challenge.status(), Some(407), "{challenge}");
    assert!(drain(&mut rx).is_empty(), "a challenged MESSAGE fires nothing");
    let www = challenge.header("Proxy-Authenticate").unwrap();
    let auth = answer(www, "1000", "1234", "MESSAGE", "sip:1001@127.0.0.1", 1);
    let extra = format!("X-Room: kitchen\r\nProxy-Authorization: {auth}\r\n");
    let accepted = alice.ask(&message(&alice, "1001", 2, &extra, plain, text)).await;
    assert_eq!((accepted.status(), accepted.header("CSeq")), (Some(202), Some("2 MESSAGE")));

    let relayed = bob.recv().await;
    assert_eq!(relayed.method(), Some("MESSAGE"), "{relayed}");
    assert_eq!(relayed.uri(), Some(format!("sip:1001@127.0.0.1:{}", bob.port()).as_str()), "to the contact");
    assert_eq!(relayed.body, text.as_bytes(), "the text byte for byte");
    assert_eq!(relayed.header("Content-Type"), Some("text/plain"));
    assert_eq!(relayed.header("X-FS-Sending-Message"), Some(mock.pbx().core_uuid().as_str()));
    assert_eq!(relayed.header("X-Room"), Some("kitchen"));
    assert_ne!(relayed.header("Call-ID"), accepted.header("Call-ID"), "a new Call-ID");
    let from = relayed.header("From").unwrap();
    assert!(from.starts_with("\"Alice\" <sip:1000@127.0.0.1>;tag="), "{from}");
    assert!(!from.contains("tag=al2"), "our own tag: {from}");
    assert_eq!(relayed.cseq().map(|c| c.1), Some("MESSAGE"));
    assert!(relayed.header("Via").unwrap().contains(";branch=z9hG4bKesm"));
    assert!(relayed.header("Proxy-Authorization").is_none());

    // 1001 answers; the answer is absorbed, so the next thing 1001 hears is its OPTIONS' 200.
    let mut ok = Message {
        start: message::StartLine::Response { status: 200, reason: "OK".into() },
        headers: Vec::new(),
        body: Vec::new(),
    };
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        ok.push(name, relayed.header(name).unwrap());
    }
    bob.send(&String::from_utf8(ok.to_bytes()).unwrap()).await;
    let options = format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKopt-after\r\n\
         From: <sip:1001@127.0.0.1>;tag=o1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: opt-after\r\nCSeq: 1 OPTIONS\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        bob.port()
    );
    let next = bob.ask(&options).await;
    assert_eq!((next.status(), next.header("CSeq")), (Some(200), Some("1 OPTIONS")), "{next}");
    let stats = mock.sip().unwrap().stats();
    assert_eq!((stats.chat_relayed, stats.chat_answered), (1, 1));

    let events = drain(&mut rx);
    assert_eq!(kinds(&events), ["MESSAGE"]);
    let ev = &events[0];
    assert_eq!(ev.get("Event-Calling-Function"), Some("sofia_presence_handle_sip_i_message"));
    let port = server.port();
    let expected: Vec<(String, String)> = [
        ("login", format!("sip:mod_sofia@127.0.0.1:{port}")),
        ("proto", "sip".into()),
        ("to_proto", "sip".into()),
        ("from", "1000@127.0.0.1".into()),
        ("from_user", "1000".into()),
        ("from_host", "127.0.0.1".into()),
        ("to_user", "1001".into()),
        ("to_host", "127.0.0.1".into()),
        ("from_sip_ip", "127.0.0.1".into()),
        ("from_sip_port", alice.port().to_string()),
        ("to", "1001@127.0.0.1".into()),
        ("subject", "SIMPLE MESSAGE".into()),
        ("context", "public".into()),
        ("type", "text/plain".into()),
        ("from_full", "\"Alice\" <sip:1000@127.0.0.1>;tag=al2".into()),
        ("sip_profile", "internal".into()),
        ("sip_h_X-Room", "kitchen".into()),
        ("dest_proto", "sip".into()),
        ("Nonblocking-Delivery", "true".into()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v))
    .collect();
    assert_eq!(own_headers(ev), expected);
    assert_eq!(ev.body.as_deref(), Some(text));
    mock.shutdown().await;
}

// Nobody to deliver to. sofia_presence_chat_send: a user without a binding at a host of
// this box (here the profile's address) is "Not sending to local box": CUSTOM sofia::error
// with Error-Type chat / Error-Reason "no recipient", then do_chat_send fires the MESSAGE
// event it created first (so its Event-Sequence is the older one). The sender still gets
// 202: sofia_presence_handle_sip_i_message answers before delivery is tried. A user the
// directory lacks is the same. A registered user asked for at another host is not
// found by sofia_reg_find_reg_url_multi (sip_host must match): no relay, no error.
#[tokio::test]
async fn a_message_nobody_can_receive_is_accepted_with_sofia_error_no_recipient() {
    let mock = mock_with(SipConfig { auth_messages: false, ..untimed() }).await;
    let server = mock.sip_udp_addr().unwrap();
    let mut bob = Phone::udp(server, "1001").await;
    assert_eq!(bob.register("1234", 600).await.status(), Some(200));
    let alice = Phone::udp(server, "1000").await;
    let mut rx = mock.pbx().subscribe();
    for (n, user) in [(1, "1002"), (2, "nobody")] {
        let resp = alice.ask(&message(&alice, user, n, "", "text/plain", "anyone there?")).await;
        assert_eq!(resp.status(), Some(202), "{user}: {resp}");
        let events = drain(&mut rx);
        assert_eq!(kinds(&events), ["sofia::error", "MESSAGE"], "{user}");
        let (error, msg) = (&events[0], &events[1]);
        assert_eq!(error.get("Event-Calling-Function"), Some("sofia_presence_chat_send"));
        assert_eq!(
            own_headers(error),
            [
                ("Event-Subclass", "sofia::error".to_string()),
                ("Error-Type", "chat".into()),
                ("Error-Reason", "no recipient".into()),
                ("Chat-Send-To", format!("{user}@127.0.0.1")),
                ("Chat-Send-From", format!("\"Alice\" <sip:1000@127.0.0.1>;tag=al{n}")),
                ("Chat-Send-Profile", "internal".into()),
            ]
            .map(|(k, v)| (k.to_string(), v))
        );
        assert_eq!(error.body.as_deref(), Some("anyone there?"));
        let seq = |e: &Event| e.get("Event-Sequence").unwrap().parse::<u64>().unwrap();
        assert!(seq(msg) < seq(error), "the MESSAGE event was created before the error");
        assert_eq!(msg.get("Nonblocking-Delivery"), Some("true"));
        assert_eq!(msg.get("to"), Some(format!("{user}@127.0.0.1").as_str()));
    }
    let elsewhere = message(&alice, "1001", 3, "", "text/plain", "hi")
        .replace("To: <sip:1001@127.0.0.1>", "To: <sip:1001@chat.example.invalid>");
    assert_eq!(alice.ask(&elsewhere).await.status(), Some(202));
    assert_eq!(kinds(&drain(&mut rx)), ["MESSAGE"]);
    assert_eq!(mock.sip().unwrap().stats().chat_relayed, 0, "nothing reached 1001");
    mock.shutdown().await;
}

// What sofia_presence_handle_sip_i_message turns away before any event: a MESSAGE that
// carries our own X-FS-Sending-Message (one we sent, come back) is 503, an is-composing
// notice (RFC 3994, a `composing` subtype) is 202 and nothing more; failing credentials
// are 401 (not a new challenge). The display keeps its own path (sim/tests/sip_b2bua.rs).
#[tokio::test]
async fn loops_composing_notices_and_bad_credentials_fire_nothing() {
    let mock = mock_with(untimed()).await;
    let server = mock.sip_udp_addr().unwrap();
    let alice = Phone::udp(server, "1000").await;
    let mut rx = mock.pbx().subscribe();
    let core = mock.pbx().core_uuid();
    let challenge = alice.ask(&message(&alice, "1001", 1, "", "text/plain", "hi")).await;
    let www = challenge.header("Proxy-Authenticate").unwrap().to_string();
    let good = answer(&www, "1000", "1234", "MESSAGE", "sip:1001@127.0.0.1", 1);
    let looped = format!("X-FS-Sending-Message: {core}\r\nProxy-Authorization: {good}\r\n");
    assert_eq!(alice.ask(&message(&alice, "1001", 2, &looped, "text/plain", "hi")).await.status(), Some(503));
    let good = answer(&www, "1000", "1234", "MESSAGE", "sip:1001@127.0.0.1", 2);
    let composing = format!("Proxy-Authorization: {good}\r\n");
    let notice = message(&alice, "1001", 3, &composing, "application/im-iscomposing+xml", "<isComposing/>");
    assert_eq!(alice.ask(&notice).await.status(), Some(202));
    let wrong = answer(&www, "1000", "wrong", "MESSAGE", "sip:1001@127.0.0.1", 3);
    let wrong = format!("Proxy-Authorization: {wrong}\r\n");
    let refused = alice.ask(&message(&alice, "1001", 4, &wrong, "text/plain", "hi")).await;
    assert_eq!(refused.status(), Some(401), "{refused}");
    assert!(refused.header("Proxy-Authenticate").is_none() && refused.header("WWW-Authenticate").is_none());
    assert!(kinds(&drain(&mut rx)).is_empty());
    mock.shutdown().await;
}
