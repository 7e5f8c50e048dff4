//! The B2BUA's bytes, seen by two hand-written UDP phones (auth-calls off, so each request
//! is visible): separate Call-IDs and tags per leg, SDP through both ways, a re-INVITE to
//! hold (uuid_hold: CHANNEL_HOLD), BYE from the callee, a refused call's status, and
//! MESSAGE to the display.

use std::sync::Arc;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::sip::message::{self, Message};
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::MockHandle;
use tokio::sync::broadcast::Receiver;

use super::sip_register::{mock_with, Phone};

pub(crate) fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

pub(crate) fn names(events: &[Arc<Event>], pick: &[&str]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.get("Event-Name"))
        .filter(|n| pick.contains(n))
        .map(str::to_string)
        .collect()
}

pub(crate) const SDP_A: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n";
pub(crate) const SDP_B: &str = "v=0\r\no=b 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=sendrecv\r\n";

/// No 407 challenge, and no ticker: these tests see each message once (our timers have
/// sim/tests/sip_timers.rs).
pub(crate) fn no_auth() -> SipConfig {
    SipConfig { auth_calls: false, auth_messages: false, ticker: false, ..SipConfig::default() }
}

/// A request from the caller's phone: `to_tag` once the dialog exists.
pub(crate) fn caller_request(a: &Phone, method: &str, cseq: u32, to_tag: Option<&str>, sdp: &str) -> String {
    let port = a.port();
    let tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let ctype = if sdp.is_empty() { String::new() } else { "Content-Type: application/sdp\r\n".into() };
    format!(
        "{method} sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKa{method}{cseq};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Alice\" <sip:1000@127.0.0.1>;tag=a1\r\nTo: <sip:1001@127.0.0.1>{tag}\r\n\
         Call-ID: call-a\r\nCSeq: {cseq} {method}\r\nContact: <sip:1000@127.0.0.1:{port}>\r\n{ctype}\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The callee's answer to a request it received (`status`, its tag, maybe an SDP).
pub(crate) fn callee_answer(b: &Phone, req: &Message, status: u16, reason: &str, sdp: &str) -> String {
    let mut m = Message {
        start: message::StartLine::Response { status, reason: reason.into() },
        headers: Vec::new(),
        body: sdp.as_bytes().to_vec(),
    };
    for v in req.values("Via") {
        m.push("Via", v);
    }
    m.push("From", req.header("From").unwrap());
    let to = req.header("To").unwrap();
    m.push("To", if to.contains("tag=") { to.to_string() } else { format!("{to};tag=b1") });
    m.push("Call-ID", req.header("Call-ID").unwrap());
    m.push("CSeq", req.header("CSeq").unwrap());
    m.push("Contact", format!("<sip:1001@127.0.0.1:{}>", b.port()));
    if !sdp.is_empty() {
        m.push("Content-Type", "application/sdp");
    }
    String::from_utf8(m.to_bytes()).unwrap()
}

/// A fresh mock (no auth) with 1001 registered over UDP, the model's events subscribed, and
/// 1000's INVITE (SDP_A) sent: the caller has had its 100 Trying, the callee holds the INVITE.
async fn invited() -> (MockHandle, Phone, Phone, Receiver<Arc<Event>>, Message) {
    invited_with(no_auth()).await
}

/// [`invited`] on a mock with `config`.
pub(crate) async fn invited_with(
    config: SipConfig,
) -> (MockHandle, Phone, Phone, Receiver<Arc<Event>>, Message) {
    let mock = mock_with(config).await;
    let server = mock.sip_udp_addr().unwrap();
    let mut b = Phone::udp(server, "1001").await;
    assert_eq!(b.register("1234", 600).await.status(), Some(200));
    let a = Phone::udp(server, "1000").await;
    let rx = mock.pbx().subscribe();
    a.send(&caller_request(&a, "INVITE", 1, None, SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let invite = b.recv().await;
    (mock, a, b, rx, invite)
}

// sofia's bypass-media B2BUA: the callee's INVITE is a new dialog (own Call-ID, From tag)
// carrying the caller's SDP; the caller's 200 carries the callee's SDP with our tag.
// A re-INVITE with a=sendonly is a hold (switch_ivr_hold: CHANNEL_HOLD on the sender's
// leg); the callee's BYE ends both legs NORMAL_CLEARING, the caller gets a BYE.
#[tokio::test]
async fn a_call_through_the_b2bua_with_hold_and_the_callee_hanging_up() {
    let (mock, a, b, mut rx, invite) = invited().await;
    let server = mock.sip_udp_addr().unwrap();
    assert_eq!(invite.method(), Some("INVITE"));
    assert_ne!(invite.header("Call-ID"), Some("call-a"), "the B leg is its own dialog");
    assert!(!invite.header("From").unwrap().contains("tag=a1"));
    assert!(invite.header("From").unwrap().starts_with("\"Alice\" <sip:1000@"));
    assert!(invite.header("Via").unwrap().contains(";branch=z9hG4bKesm"));
    assert_eq!(invite.header("Max-Forwards"), Some("69"));
    assert_eq!(invite.body, SDP_A.as_bytes(), "SDP passed through");
    b.send(&callee_answer(&b, &invite, 180, "Ringing", "")).await;
    assert_eq!(a.recv().await.status(), Some(180));
    b.send(&callee_answer(&b, &invite, 200, "OK", SDP_B)).await;
    let ok = a.recv().await;
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.body, SDP_B.as_bytes());
    assert_eq!(ok.header("Call-ID"), Some("call-a"));
    let a_tag = message::param(ok.header("To").unwrap(), "tag").flatten().unwrap().to_string();
    assert_ne!(a_tag, "b1", "the caller sees our tag, not the callee's");
    let ack = b.recv().await;
    assert_eq!((ack.method(), ack.cseq()), (Some("ACK"), Some((1, "ACK"))));
    assert!(ack.header("To").unwrap().ends_with(";tag=b1"));
    assert_eq!(
        ack.uri(),
        Some(format!("sip:1001@127.0.0.1:{}", b.port()).as_str()),
        "to the callee's Contact"
    );
    a.send(&caller_request(&a, "ACK", 1, Some(&a_tag), "")).await;

    let hold_sdp = SDP_A.replace("a=sendrecv", "a=sendonly");
    a.send(&caller_request(&a, "INVITE", 2, Some(&a_tag), &hold_sdp)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let reinvite = b.recv().await;
    assert_eq!(reinvite.method(), Some("INVITE"));
    assert_eq!(reinvite.header("Call-ID"), invite.header("Call-ID"));
    assert_eq!(reinvite.body, hold_sdp.as_bytes());
    b.send(&callee_answer(&b, &reinvite, 200, "OK", &SDP_B.replace("a=sendrecv", "a=recvonly"))).await;
    let held = a.recv().await;
    assert_eq!((held.status(), held.cseq()), (Some(200), Some((2, "INVITE"))));
    assert_eq!(b.recv().await.method(), Some("ACK"));
    let events = drain(&mut rx);
    let hold: Vec<&Arc<Event>> =
        events.iter().filter(|e| e.get("Event-Name") == Some("CHANNEL_HOLD")).collect();
    assert_eq!(hold.len(), 1);
    assert_eq!(hold[0].get("Call-Direction"), Some("inbound"), "the caller's leg is held");
    // a=sendrecv again takes it off hold (switch_ivr_unhold: CHANNEL_UNHOLD).
    a.send(&caller_request(&a, "INVITE", 3, Some(&a_tag), SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let resume = b.recv().await;
    assert_eq!(resume.body, SDP_A.as_bytes());
    b.send(&callee_answer(&b, &resume, 200, "OK", SDP_B)).await;
    assert_eq!(a.recv().await.cseq(), Some((3, "INVITE")));
    assert_eq!(b.recv().await.method(), Some("ACK"));
    assert_eq!(names(&drain(&mut rx), &["CHANNEL_HOLD", "CHANNEL_UNHOLD"]), ["CHANNEL_UNHOLD"]);

    // The callee hangs up.
    let bye = format!(
        "BYE sip:mod_sofia@{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKbye1;rport\r\n\
         From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        b.port(),
        ok_to(&invite),
        invite.header("From").unwrap(),
        invite.header("Call-ID").unwrap()
    );
    b.send(&bye).await;
    assert_eq!(b.recv().await.status(), Some(200));
    let bye_a = a.recv().await;
    assert_eq!(bye_a.method(), Some("BYE"));
    assert_eq!(bye_a.header("Call-ID"), Some("call-a"));
    assert_eq!(bye_a.uri(), Some(format!("sip:1000@127.0.0.1:{}", a.port()).as_str()));
    assert!(bye_a.header("From").unwrap().ends_with(&format!(";tag={a_tag}")));
    assert!(bye_a.header("To").unwrap().ends_with(";tag=a1"));
    let events = drain(&mut rx);
    let hangups: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.get("Event-Name") == Some("CHANNEL_HANGUP"))
        .map(|e| (e.get("Call-Direction").unwrap_or_default(), e.get("Hangup-Cause").unwrap_or_default()))
        .collect();
    assert_eq!(
        hangups,
        [("outbound", "NORMAL_CLEARING"), ("inbound", "NORMAL_CLEARING")],
        "the callee's leg first"
    );
    assert_eq!(mock.pbx().snapshot().channels, 0);
    assert_eq!(mock.sip().unwrap().calls(), 0);
}

/// The callee's To, as the callee sends it in its own requests (its From).
pub(crate) fn ok_to(invite: &Message) -> String {
    format!("{};tag=b1", invite.header("To").unwrap())
}

// A callee with no binding: the model refuses the A leg USER_NOT_REGISTERED
// (sofia_glue / mod_sofia.c hangup_cause_to_sip: every unlisted cause is 480).
#[tokio::test]
async fn a_call_to_an_unregistered_user_gets_480() {
    let mock = mock_with(no_auth()).await;
    let a = Phone::udp(mock.sip_udp_addr().unwrap(), "1000").await;
    let mut rx = mock.pbx().subscribe();
    a.send(&caller_request(&a, "INVITE", 1, None, SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let refused = a.recv().await;
    assert_eq!(refused.status(), Some(480));
    let events = drain(&mut rx);
    assert_eq!(names(&events, &["CHANNEL_CREATE", "CHANNEL_HANGUP"]), ["CHANNEL_CREATE", "CHANNEL_HANGUP"]);
    let hangup = events.iter().find(|e| e.get("Event-Name") == Some("CHANNEL_HANGUP")).unwrap();
    assert_eq!(hangup.get("Hangup-Cause"), Some("USER_NOT_REGISTERED"));
}

// MESSAGE to the user `display` is what an ESL client's sendevent of the CUSTOM message
// event does (Pbx::message): 202 Accepted, the text in Message-Text (other users: chat,
// sim/tests/sip_chat.rs).
#[tokio::test]
async fn message_to_display_pushes_text() {
    let mock = mock_with(no_auth()).await;
    let server = mock.sip_udp_addr().unwrap();
    let a = Phone::udp(server, "1000").await;
    let mut rx = mock.pbx().subscribe();
    let text = "Lunch is ready";
    let msg = format!(
        "MESSAGE sip:display@{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKmsg1\r\n\
         From: <sip:1000@127.0.0.1>;tag=m1\r\nTo: <sip:display@{server}>\r\nCall-ID: msg-1\r\nCSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
        a.port(),
        text.len()
    );
    assert_eq!(a.ask(&msg).await.status(), Some(202));
    let events = drain(&mut rx);
    let pushed: Vec<&Arc<Event>> =
        events.iter().filter(|e| e.subclass() == Some("eslmatrix::message")).collect();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].get("Message-Text"), Some(text));
    let stray = caller_request(&a, "BYE", 5, Some("x"), "").replace("call-a", "no-such-call");
    assert_eq!(a.ask(&stray).await.status(), Some(481));
}

// The callee's failure statuses through the fixtures/sip/ tables and the bridge's failure
// handling: the callee's leg gets sofia_glue_sip_cause_to_freeswitch's cause; the caller's
// leg hangs up with it (switch_channel.c switch_channel_handle_cause), except for
// NO_USER_RESPONSE, which with no continue_on_fail set always continues: local_extension
// has nothing after its bridge, so switch_core_standard_on_execute hangs up
// NORMAL_CLEARING. The caller's status is the callee's own either way: mod_sofia.c
// sofia_on_hangup overrides hangup_cause_to_sip with the partner's
// last_bridge_proto_specific_hangup_cause (switch_channel_perform_hangup sets sip:N). The
// callee gets its ACK.
#[tokio::test]
async fn callee_failures_map_through_the_cause_tables() {
    for (status, reason, causes, caller_gets) in [
        (404, "Not Found", ["UNALLOCATED_NUMBER", "UNALLOCATED_NUMBER"], 404),
        (480, "Temporarily Unavailable", ["NO_USER_RESPONSE", "NORMAL_CLEARING"], 480),
        (603, "Decline", ["CALL_REJECTED", "CALL_REJECTED"], 603),
    ] {
        let (mock, a, b, mut rx, invite) = invited().await;
        b.send(&callee_answer(&b, &invite, status, reason, "")).await;
        assert_eq!(a.recv().await.status(), Some(caller_gets), "{status}");
        let ack = b.recv().await;
        assert_eq!((ack.method(), ack.cseq()), (Some("ACK"), Some((1, "ACK"))));
        assert_eq!(ack.header("Via"), invite.header("Via"), "a failure's ACK is the INVITE's transaction");
        let events = drain(&mut rx);
        let hangups: Vec<(&str, &str)> = events
            .iter()
            .filter(|e| e.get("Event-Name") == Some("CHANNEL_HANGUP"))
            .map(|e| (e.get("Call-Direction").unwrap_or_default(), e.get("Hangup-Cause").unwrap_or_default()))
            .collect();
        assert_eq!(hangups, [("outbound", causes[0]), ("inbound", causes[1])], "{status}");
        let a_hangup = events
            .iter()
            .find(|e| {
                e.get("Event-Name") == Some("CHANNEL_HANGUP") && e.get("Call-Direction") == Some("inbound")
            })
            .unwrap();
        assert_eq!(a_hangup.get("variable_originate_disposition"), Some(causes[0]), "{status}");
        assert_eq!(
            a_hangup.get("variable_last_bridge_proto_specific_hangup_cause"),
            Some(format!("sip:{status}").as_str())
        );
        assert_eq!(mock.sip().unwrap().calls(), 0);
    }
}

// RFC 3261 §18.2.2 / sofia-sip tport: a callee registered over TCP gets its INVITE on the
// connection it registered on, and its answers there reach the caller on UDP.
#[tokio::test]
async fn a_callee_registered_over_tcp_is_called_on_its_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = mock_with(no_auth()).await;
    let mut stream = tokio::net::TcpStream::connect(mock.sip_tcp_addr().unwrap()).await.unwrap();
    let local = stream.local_addr().unwrap();
    let mut buf = Vec::new();
    async fn next(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Message {
        loop {
            if let Ok(Some(n)) = message::frame_len(buf) {
                let m = Message::parse(&buf[..n]).unwrap();
                buf.drain(..n);
                return m;
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
                .await
                .expect("in time")
                .unwrap();
            assert!(n > 0, "connection closed");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    let reg = |auth: &str, cseq: u32| {
        format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKt{cseq}\r\n\
             From: <sip:1001@127.0.0.1>;tag=t\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: tcp-b\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:1001@{local};transport=tcp>\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    };
    stream.write_all(reg("", 1).as_bytes()).await.unwrap();
    let challenge = next(&mut stream, &mut buf).await;
    let auth = super::sip_register::answer(
        challenge.header("WWW-Authenticate").unwrap(),
        "1001",
        "1234",
        "REGISTER",
        "sip:127.0.0.1",
        1,
    );
    stream.write_all(reg(&format!("Authorization: {auth}\r\n"), 2).as_bytes()).await.unwrap();
    assert_eq!(next(&mut stream, &mut buf).await.status(), Some(200));
    let a = Phone::udp(mock.sip_udp_addr().unwrap(), "1000").await;
    a.send(&caller_request(&a, "INVITE", 1, None, SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let invite = next(&mut stream, &mut buf).await;
    assert_eq!(invite.method(), Some("INVITE"));
    assert!(invite.header("Via").unwrap().starts_with("SIP/2.0/TCP "), "{invite}");
    assert_eq!(invite.body, SDP_A.as_bytes());
    stream.write_all(callee_answer(&a, &invite, 486, "Busy Here", "").as_bytes()).await.unwrap();
    assert_eq!(a.recv().await.status(), Some(486));
    assert_eq!(next(&mut stream, &mut buf).await.method(), Some("ACK"));
}

// auth-calls (sofia_reg_handle_register_token with REG_INVITE): an INVITE without
// credentials gets 407 with sofia_reg_auth_challenge's Proxy-Authenticate and starts no
// leg; a wrong password is 403; the right one places the call, whose 183 reaches the
// caller with the callee's early SDP.
#[tokio::test]
async fn invites_are_challenged_and_early_media_is_relayed() {
    let mock = mock_with(SipConfig::default()).await;
    let server = mock.sip_udp_addr().unwrap();
    let mut b = Phone::udp(server, "1001").await;
    assert_eq!(b.register("1234", 600).await.status(), Some(200));
    let a = Phone::udp(server, "1000").await;
    let mut rx = mock.pbx().subscribe();
    let challenge = a.ask(&caller_request(&a, "INVITE", 1, None, SDP_A)).await;
    assert_eq!(challenge.status(), Some(407));
    let www = challenge.header("Proxy-Authenticate").unwrap().to_string();
    assert!(
        www.starts_with("Digest realm=\"127.0.0.1\", nonce=\"")
            && www.ends_with("algorithm=MD5, qop=\"auth\""),
        "{www}"
    );
    assert!(names(&drain(&mut rx), &["CHANNEL_CREATE"]).is_empty(), "a challenge starts no leg");
    let with = |auth: &str, cseq: u32| {
        caller_request(&a, "INVITE", cseq, None, SDP_A)
            .replace("Max-Forwards: 70\r\n", &format!("Max-Forwards: 70\r\nProxy-Authorization: {auth}\r\n"))
    };
    let wrong = super::sip_register::answer(&www, "1000", "nope", "INVITE", "sip:1001@127.0.0.1", 1);
    assert_eq!(a.ask(&with(&wrong, 2)).await.status(), Some(403));
    let right = super::sip_register::answer(&www, "1000", "1234", "INVITE", "sip:1001@127.0.0.1", 2);
    a.send(&with(&right, 3)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let invite = b.recv().await;
    assert!(invite.header("From").unwrap().contains("<sip:1000@"), "the caller is the authenticated user");
    let early = SDP_B.replace("o=b", "o=early");
    b.send(&callee_answer(&b, &invite, 183, "Session Progress", &early)).await;
    let progress = a.recv().await;
    assert_eq!(progress.status(), Some(183));
    assert_eq!(progress.body, early.as_bytes());
    assert_eq!(progress.header("Content-Type"), Some("application/sdp"));
    let created = names(&drain(&mut rx), &["CHANNEL_CREATE"]);
    assert_eq!(created.len(), 2);
}

// `--sip 0.0.0.0:5060`, so phones on the LAN can reach the mock: every address we hand a
// phone (the Via and Contact of the INVITE to the callee, the Contact of the caller's 200)
// must be one it can send to, the address it reached us at, never 0.0.0.0 (the phone's
// ACK and BYE would go nowhere). transport::reachable_from.
#[tokio::test]
async fn on_the_unspecified_address_phones_are_given_the_address_they_reach() {
    let mut sip = no_auth();
    sip.listen.listen = "0.0.0.0:0".parse().unwrap();
    let mock = eslmatrix_sim::fs::MockFreeSwitch::start(eslmatrix_sim::fs::MockConfig {
        sip: Some(sip),
        heartbeat: None,
        ..eslmatrix_sim::fs::MockConfig::default()
    })
    .await
    .unwrap();
    let bound = mock.sip_udp_addr().unwrap();
    assert!(bound.ip().is_unspecified());
    let server: std::net::SocketAddr = ([127, 0, 0, 1], bound.port()).into();
    let mut b = Phone::udp(server, "1001").await;
    assert_eq!(b.register("1234", 600).await.status(), Some(200));
    let a = Phone::udp(server, "1000").await;
    a.send(&caller_request(&a, "INVITE", 1, None, SDP_A)).await;
    assert_eq!(a.recv().await.status(), Some(100));
    let invite = b.recv().await;
    let here = format!("127.0.0.1:{}", bound.port());
    assert!(invite.header("Via").unwrap().contains(&format!("SIP/2.0/UDP {here};")), "{invite:?}");
    assert!(invite.header("Contact").unwrap().contains(&format!("@{here};")), "{invite:?}");
    b.send(&callee_answer(&b, &invite, 200, "OK", SDP_B)).await;
    let ok = a.recv().await;
    assert_eq!(ok.status(), Some(200));
    assert!(ok.header("Contact").unwrap().contains(&format!("@{here};")), "{ok:?}");
}
