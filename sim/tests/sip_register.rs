//! Real SIP over UDP and TCP against the mock (`MockConfig::sip`): the listeners that
//! `sofia status` reports, OPTIONS, the registrar with digest auth (sofia_reg.c
//! `sofia_reg_handle_register_token`, `sofia_reg_parse_auth`, `sofia_reg_auth_challenge`)
//! and the 4xx answers to bad requests. A hand-written client: every byte it sends is
//! visible in the test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{ApiOutput, Pbx};
use eslmatrix_sim::fs::sip::digest::Algorithm;
use eslmatrix_sim::fs::sip::message::Message;
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::broadcast::Receiver;

pub(crate) async fn mock_with(sip: SipConfig) -> MockHandle {
    let mut sip = sip;
    sip.listen.listen = "127.0.0.1:0".parse().unwrap();
    MockFreeSwitch::start(MockConfig { sip: Some(sip), heartbeat: None, ..MockConfig::default() })
        .await
        .unwrap()
}

fn api(pbx: &Pbx, cmd: &str, args: &str) -> String {
    match pbx.api(cmd, args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("{cmd} not found"),
    }
}

/// A UDP phone: one socket, requests written out in full.
pub(crate) struct Phone {
    sock: UdpSocket,
    server: SocketAddr,
    pub user: String,
    call_id: String,
    cseq: u32,
    branch: u32,
    /// Where the Contact says the phone is (another process's port, e.g. a SIPp UAS).
    pub contact_port: Option<u16>,
}

impl Phone {
    pub(crate) async fn udp(server: SocketAddr, user: &str) -> Phone {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let call_id = format!("reg-{user}-{}@127.0.0.1", sock.local_addr().unwrap().port());
        Phone { sock, server, user: user.into(), call_id, cseq: 0, branch: 0, contact_port: None }
    }

    pub(crate) fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }

    pub(crate) fn register_text(&mut self, expires: u64, auth: Option<&str>) -> String {
        self.cseq += 1;
        self.branch += 1;
        let (user, port, host) = (&self.user, self.port(), self.server.ip());
        let contact = self.contact_port.unwrap_or(port);
        let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        format!(
            "REGISTER sip:{host} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-r{}-{port};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@{host}>;tag=f{port}\r\n\
             To: <sip:{user}@{host}>\r\n\
             Call-ID: {}\r\n\
             CSeq: {} REGISTER\r\n\
             Contact: <sip:{user}@127.0.0.1:{contact}>\r\n\
             Expires: {expires}\r\n\
             User-Agent: test-phone/1.0\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            self.branch, self.call_id, self.cseq
        )
    }

    pub(crate) async fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.server).await.unwrap();
    }

    pub(crate) async fn recv(&self) -> Message {
        let mut buf = vec![0u8; 65_535];
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), self.sock.recv_from(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        Message::parse(&buf[..n]).unwrap()
    }

    /// Whether nothing arrives for a moment: a datagram sent before this call already
    /// waits in the socket's buffer (loopback), so it is always seen.
    pub(crate) async fn quiet(&self) -> bool {
        let mut buf = vec![0u8; 65_535];
        tokio::time::timeout(Duration::from_millis(100), self.sock.recv_from(&mut buf)).await.is_err()
    }

    pub(crate) async fn ask(&self, text: &str) -> Message {
        self.send(text).await;
        self.recv().await
    }

    /// REGISTER, answer the challenge with `password`, return the final answer.
    pub(crate) async fn register(&mut self, password: &str, expires: u64) -> Message {
        let text = self.register_text(expires, None);
        let challenge = self.ask(&text).await;
        assert_eq!(challenge.status(), Some(401), "{challenge}");
        let www = challenge.header("WWW-Authenticate").unwrap().to_string();
        let auth = answer(&www, &self.user, password, "REGISTER", &format!("sip:{}", self.server.ip()), 1);
        let text = self.register_text(expires, Some(&auth));
        self.ask(&text).await
    }
}

/// A param of a challenge (`realm="…"`).
fn challenge_param(www: &str, name: &str) -> String {
    let at = www.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} in {www}")) + name.len() + 1;
    let rest = &www[at..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    rest.split(['"', ',']).next().unwrap().to_string()
}

fn hex(alg: &str, s: &str) -> String {
    use md5::Digest as _;
    let bytes: Vec<u8> = if alg == "SHA-256" {
        sha2::Sha256::digest(s.as_bytes()).to_vec()
    } else {
        md5::Md5::digest(s.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Authorization a client computes for a challenge (RFC 2617 §3.2.2, qop=auth).
pub(crate) fn answer(www: &str, user: &str, password: &str, method: &str, uri: &str, nc: u32) -> String {
    let (realm, nonce) = (challenge_param(www, "realm"), challenge_param(www, "nonce"));
    let alg = challenge_param(www, "algorithm");
    let nc = format!("{nc:08x}");
    let ha1 = hex(&alg, &format!("{user}:{realm}:{password}"));
    let ha2 = hex(&alg, &format!("{method}:{uri}"));
    let response = hex(&alg, &format!("{ha1}:{nonce}:{nc}:c0ffee:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={alg}, qop=auth, nc={nc}, cnonce=\"c0ffee\""
    )
}

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

fn subclasses(events: &[Arc<Event>]) -> Vec<String> {
    events.iter().filter_map(|e| e.subclass().map(str::to_string)).collect()
}

// mod_sofia.c cmd_status / "sofia status profile": the URL, BIND-URL (sofia.c
// config_sofia_profile_urls: `;transport=udp,tcp`) of the sockets really bound.
#[tokio::test]
async fn sofia_status_shows_the_bound_listeners() {
    let mock = mock_with(SipConfig::default()).await;
    let (udp, tcp) = (mock.sip_udp_addr().unwrap(), mock.sip_tcp_addr().unwrap());
    assert_eq!(udp.port(), tcp.port(), "UDP and TCP share one port, as sofia binds them");
    let profile = api(mock.pbx(), "sofia", "status profile internal");
    let port = udp.port();
    assert!(profile.contains(&format!("URL              \tsip:mod_sofia@127.0.0.1:{port}\n")), "{profile}");
    assert!(
        profile.contains(&format!("BIND-URL         \tsip:mod_sofia@127.0.0.1:{port};transport=udp,tcp\n"))
    );
    assert!(profile.contains("SIP-IP           \t127.0.0.1\n"));
    assert!(!profile.contains("WS-BIND-URL"), "no WebSocket listener is open: {profile}");
    let status = api(mock.pbx(), "sofia", "status");
    let row = format!(
        "{:>25}\t{}\t  {:>40}\t{}\n",
        "internal",
        "profile",
        format!("sip:mod_sofia@127.0.0.1:{port}"),
        "RUNNING (0)"
    );
    assert!(status.contains(&row), "{status}");
    // UDP only: the bind URL names only what is open.
    let only_udp = mock_with(SipConfig {
        listen: eslmatrix_sim::fs::sip::listen::ListenConfig { tcp: false, ..Default::default() },
        ..SipConfig::default()
    })
    .await;
    assert_eq!(only_udp.sip_tcp_addr(), None);
    let p = only_udp.sip_udp_addr().unwrap().port();
    assert!(api(only_udp.pbx(), "sofia", "status profile internal")
        .contains(&format!("BIND-URL         \tsip:mod_sofia@127.0.0.1:{p};transport=udp\n")));
    // Without SIP the vanilla profile's ports stay, as the scenarios assume.
    let plain = MockFreeSwitch::start(MockConfig::default()).await.unwrap();
    assert!(api(plain.pbx(), "sofia", "status profile internal")
        .contains("WS-BIND-URL     \tsip:mod_sofia@192.0.2.10:5066;transport=ws\n"));
    mock.shutdown().await;
}

// RFC 3261 §11 OPTIONS; RFC 3581 rport/received on the top Via.
#[tokio::test]
async fn options_are_answered_with_received_and_rport() {
    let mock = mock_with(SipConfig::default()).await;
    let phone = Phone::udp(mock.sip_udp_addr().unwrap(), "1000").await;
    let port = phone.port();
    let resp = phone
        .ask(&format!(
            "OPTIONS sip:{} SIP/2.0\r\nVia: SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bKopt1;rport\r\n\
             From: <sip:ping@example.org>;tag=p1\r\nTo: <sip:{}>\r\nCall-ID: opt1\r\nCSeq: 7 OPTIONS\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            phone.server, phone.server
        ))
        .await;
    assert_eq!(resp.status(), Some(200));
    assert_eq!(
        resp.header("Via"),
        Some(
            format!("SIP/2.0/UDP 10.9.9.9:5099;branch=z9hG4bKopt1;rport={port};received=127.0.0.1").as_str()
        )
    );
    assert_eq!(resp.header("CSeq"), Some("7 OPTIONS"));
    assert!(resp.header("To").unwrap().contains(";tag="));
    assert!(resp.header("Allow").unwrap().contains("REGISTER"));
    assert_eq!(resp.header("User-Agent"), Some("FreeSWITCH-mod_sofia/1.10.12-release~64bit"));
}

// sofia_reg_auth_challenge: `Digest realm="%q", nonce="%q", algorithm=MD5, qop="auth"`;
// a good answer registers (sofia::register with the device's own Call-ID, contact and
// source), `show registrations` lists it; Expires: 0 unregisters.
#[tokio::test]
async fn register_with_md5_digest_then_unregister() {
    let mock = mock_with(SipConfig::default()).await;
    let mut rx = mock.pbx().subscribe();
    let mut phone = Phone::udp(mock.sip_udp_addr().unwrap(), "1000").await;
    let port = phone.port();
    let text = phone.register_text(120, None);
    let challenge = phone.ask(&text).await;
    assert_eq!(challenge.status(), Some(401));
    let www = challenge.header("WWW-Authenticate").unwrap().to_string();
    assert!(www.starts_with("Digest realm=\"127.0.0.1\", nonce=\""), "{www}");
    assert!(www.ends_with("\", algorithm=MD5, qop=\"auth\""), "{www}");
    assert!(drain(&mut rx).is_empty(), "a challenge changes nothing");
    let auth = answer(&www, "1000", "1234", "REGISTER", "sip:127.0.0.1", 1);
    let text = phone.register_text(120, Some(&auth));
    let ok = phone.ask(&text).await;
    assert_eq!(ok.status(), Some(200), "{ok}");
    assert_eq!(ok.header("Contact"), Some(format!("<sip:1000@127.0.0.1:{port}>;expires=120").as_str()));
    let events = drain(&mut rx);
    assert_eq!(subclasses(&events), ["sofia::register"]);
    let ev = &events[0];
    assert_eq!(ev.get("call-id"), Some(phone.call_id.as_str()));
    assert_eq!(ev.get("contact"), Some(format!("\"\" <sip:1000@127.0.0.1:{port}>").as_str()));
    assert_eq!(ev.get("network-ip"), Some("127.0.0.1"));
    assert_eq!(ev.get("network-port"), Some(port.to_string().as_str()));
    assert_eq!(ev.get("status"), Some("Registered(UDP)"));
    assert_eq!(ev.get("expires"), Some("120"));
    assert_eq!(ev.get("user-agent"), Some("test-phone/1.0"));
    let list = api(mock.pbx(), "show", "registrations");
    assert!(
        list.contains(&format!("1000,127.0.0.1,{},sofia/internal/sip:1000@127.0.0.1:{port},", phone.call_id)),
        "{list}"
    );
    assert!(list.contains(&format!(",127.0.0.1,{port},udp,")), "{list}");
    // A refresh with the next nonce count on the same nonce (RFC 2617 §3.2.2 nc).
    let auth2 = answer(&www, "1000", "1234", "REGISTER", "sip:127.0.0.1", 2);
    let text = phone.register_text(120, Some(&auth2));
    assert_eq!(phone.ask(&text).await.status(), Some(200));
    assert_eq!(subclasses(&drain(&mut rx)), ["sofia::register"]);
    assert_eq!(mock.pbx().snapshot().registrations, 1);
    // The same nc again is stale: a new challenge with stale=true.
    let text = phone.register_text(120, Some(&auth2));
    let stale = phone.ask(&text).await;
    assert_eq!(stale.status(), Some(401));
    assert!(stale.header("WWW-Authenticate").unwrap().contains(", stale=true, algorithm=MD5"));
    // Expires: 0 with a fresh answer: sofia::unregister, the binding is gone.
    let www = stale.header("WWW-Authenticate").unwrap().to_string();
    let auth = answer(&www, "1000", "1234", "REGISTER", "sip:127.0.0.1", 1);
    let text = phone.register_text(0, Some(&auth));
    assert_eq!(phone.ask(&text).await.status(), Some(200));
    assert_eq!(subclasses(&drain(&mut rx)), ["sofia::unregister"]);
    assert_eq!(mock.pbx().snapshot().registrations, 0);
    assert_eq!(api(mock.pbx(), "show", "registrations count"), "\n0 total.\n");
}

// sofia_reg_parse_auth: a wrong password and a user the directory lacks are both
// AUTH_FORBIDDEN (403); the scenario directory's own passwords replace the vanilla 1234.
#[tokio::test]
async fn wrong_password_and_unknown_user_are_forbidden() {
    let mock = mock_with(SipConfig::default()).await;
    let server = mock.sip_udp_addr().unwrap();
    let mut phone = Phone::udp(server, "1000").await;
    assert_eq!(phone.register("4321", 60).await.status(), Some(403));
    let mut stranger = Phone::udp(server, "2000").await;
    assert_eq!(stranger.register("1234", 60).await.status(), Some(403));
    use eslmatrix_sim::fs::pbx::directory::User;
    mock.pbx().add_users(&[User { id: "2000".into(), password: Some("s3cret".into()), ..User::default() }]);
    assert_eq!(stranger.register("s3cret", 60).await.status(), Some(200));
    let mut vanilla = Phone::udp(server, "1001").await;
    assert_eq!(
        vanilla.register("1234", 60).await.status(),
        Some(403),
        "a configured directory replaces the vanilla one"
    );
    assert_eq!(mock.pbx().snapshot().registrations, 1);
}

// RFC 8760: with SHA-256 configured first, one WWW-Authenticate per algorithm, each with
// its own nonce (sofia_reg_auth_challenge's rfc8760 branch); SHA-256 answers register.
#[tokio::test]
async fn sha256_digest_registers() {
    let mock = mock_with(SipConfig {
        registrar: eslmatrix_sim::fs::sip::registrar::RegistrarConfig {
            digest: vec![Algorithm::Sha256, Algorithm::Md5],
            ..Default::default()
        },
        ..SipConfig::default()
    })
    .await;
    let mut phone = Phone::udp(mock.sip_udp_addr().unwrap(), "1005").await;
    let text = phone.register_text(300, None);
    let challenge = phone.ask(&text).await;
    let all: Vec<&str> =
        challenge.headers.iter().filter(|(n, _)| n == "WWW-Authenticate").map(|(_, v)| v.as_str()).collect();
    assert_eq!(all.len(), 2, "{challenge}");
    assert!(all[0].ends_with("algorithm=SHA-256, qop=\"auth\""), "{}", all[0]);
    assert!(all[1].ends_with("algorithm=MD5, qop=\"auth\""));
    assert_ne!(challenge_param(all[0], "nonce"), challenge_param(all[1], "nonce"));
    let auth = answer(all[0], "1005", "1234", "REGISTER", "sip:127.0.0.1", 1);
    let text = phone.register_text(300, Some(&auth));
    assert_eq!(phone.ask(&text).await.status(), Some(200));
    // An MD5 answer to the SHA-256 nonce does not pass.
    let mut other = Phone::udp(mock.sip_udp_addr().unwrap(), "1006").await;
    let text = other.register_text(300, None);
    let c = other.ask(&text).await;
    let sha =
        c.headers.iter().find(|(n, v)| n == "WWW-Authenticate" && v.contains("SHA-256")).unwrap().1.clone();
    let forged = answer(&sha, "1006", "1234", "REGISTER", "sip:127.0.0.1", 1)
        .replace("algorithm=SHA-256", "algorithm=MD5");
    let text = other.register_text(300, Some(&forged));
    assert_eq!(other.ask(&text).await.status(), Some(403));
}

// sofia_reg_check_expire: a binding leaves with sofia::expire once its Expires plus the
// 60 s sip-expires-late-margin pass (paused time: the sweep runs on tokio time).
#[tokio::test(start_paused = true)]
async fn a_binding_that_is_not_refreshed_expires() {
    let mock = mock_with(SipConfig::default()).await;
    let mut rx = mock.pbx().subscribe();
    let mut phone = Phone::udp(mock.sip_udp_addr().unwrap(), "1002").await;
    assert_eq!(phone.register("1234", 30).await.status(), Some(200));
    assert_eq!(subclasses(&drain(&mut rx)), ["sofia::register"]);
    tokio::time::sleep(Duration::from_secs(80)).await;
    assert!(drain(&mut rx).is_empty(), "still within Expires + late margin");
    tokio::time::sleep(Duration::from_secs(12)).await;
    let events = drain(&mut rx);
    assert_eq!(subclasses(&events), ["sofia::expire"]);
    assert_eq!(events[0].get("call-id"), Some(phone.call_id.as_str()));
    assert_eq!(mock.pbx().snapshot().registrations, 0);
}

fn base(server: SocketAddr, method: &str, n: u32) -> String {
    format!(
        "{method} sip:1000@{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKbad{method}{n}\r\n\
         From: <sip:x@127.0.0.1>;tag=b{n}\r\nTo: <sip:1000@{server}>\r\nCall-ID: bad{n}\r\n"
    )
}

// RFC 3261 §8.2 and sofia-sip nta: each fault gets its status, none is fatal.
#[tokio::test]
async fn bad_requests_get_their_4xx() {
    let mock = mock_with(SipConfig {
        registrar: eslmatrix_sim::fs::sip::registrar::RegistrarConfig {
            min_expires: 60,
            ..Default::default()
        },
        ..SipConfig::default()
    })
    .await;
    let server = mock.sip_udp_addr().unwrap();
    let phone = Phone::udp(server, "1000").await;
    let status = |m: Message| (m.status().unwrap(), m);
    // No CSeq: nothing to address an answer with (a response must copy it), so dropped.
    phone.send(&format!("{}\r\n", base(server, "OPTIONS", 1))).await;
    let bad_line = format!("{}CSeq: 1 OPTIONS\r\nno colon here\r\n\r\n", base(server, "OPTIONS", 11));
    let (s, m) = status(phone.ask(&bad_line).await);
    assert_eq!(
        (s, m.start.clone()),
        (
            400,
            eslmatrix_sim::fs::sip::message::StartLine::Response {
                status: 400,
                reason: "Bad Header (line 7)".into()
            }
        )
    );
    assert_eq!(mock.sip().unwrap().stats().malformed, 2, "the CSeq-less one was read and dropped");
    let v3 = base(server, "OPTIONS", 2).replace(" SIP/2.0\r\n", " SIP/3.0\r\n");
    assert_eq!(phone.ask(&format!("{v3}CSeq: 1 OPTIONS\r\n\r\n")).await.status(), Some(505));
    let (s, m) =
        status(phone.ask(&format!("{}CSeq: 1 SUBSCRIBE\r\n\r\n", base(server, "SUBSCRIBE", 3))).await);
    assert_eq!(s, 405);
    assert!(m.header("Allow").unwrap().contains("INVITE"));
    let (s, m) = status(
        phone
            .ask(&format!("{}CSeq: 1 OPTIONS\r\nRequire: 100rel, timer\r\n\r\n", base(server, "OPTIONS", 4)))
            .await,
    );
    assert_eq!((s, m.header("Unsupported")), (420, Some("100rel")));
    let hop = format!("{}CSeq: 1 INVITE\r\nMax-Forwards: 0\r\n\r\n", base(server, "INVITE", 5));
    assert_eq!(phone.ask(&hop).await.status(), Some(483));
    let loop_ = format!(
        "{}CSeq: 1 MESSAGE\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKesm-1\r\n\r\n",
        base(server, "MESSAGE", 6),
        server.port()
    );
    assert_eq!(phone.ask(&loop_).await.status(), Some(482));
    assert_eq!(
        phone.ask(&format!("{}CSeq: 1 FOO\r\n\r\n", base(server, "FOO", 7))).await.status(),
        Some(501)
    );
    let brief = format!(
        "{}CSeq: 1 REGISTER\r\nContact: <sip:1000@127.0.0.1:1>\r\nExpires: 5\r\n\r\n",
        base(server, "REGISTER", 8)
    );
    let (s, m) = status(phone.ask(&brief).await);
    assert_eq!((s, m.header("Min-Expires")), (423, Some("60")));
    let star =
        format!("{}CSeq: 1 REGISTER\r\nContact: *\r\nExpires: 10\r\n\r\n", base(server, "REGISTER", 9));
    assert_eq!(phone.ask(&star).await.status(), Some(400));
    let long = format!("{}CSeq: 1 OPTIONS\r\nContent-Length: 50\r\n\r\nshort", base(server, "OPTIONS", 10));
    assert_eq!(
        phone.ask(&long).await.start,
        eslmatrix_sim::fs::sip::message::StartLine::Response {
            status: 400,
            reason: "Bad Content-Length".into()
        }
    );
    // A retransmission gets the same answer again, not a second processing.
    let again = format!("{}CSeq: 1 FOO\r\n\r\n", base(server, "FOO", 7));
    assert_eq!(phone.ask(&again).await.status(), Some(501));
    assert_eq!(mock.sip().unwrap().stats().retransmissions, 1);
}

// The flood bound (fs::sip module docs): garbage costs a parse and leaves nothing; the
// core keeps answering and holds no state for it.
#[tokio::test]
async fn a_flood_of_malformed_datagrams_leaves_nothing_behind() {
    let mock = mock_with(SipConfig::default()).await;
    let server = mock.sip_udp_addr().unwrap();
    let core = mock.sip().unwrap().clone();
    let flood = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let junk: Vec<Vec<u8>> = vec![
        b"\xff\xfe garbage".to_vec(),
        b"INVITE sip:x SIP/2.0\r\n\r\n".to_vec(),
        vec![b'A'; 60_000],
        b"SIP/2.0 200 OK\r\n\r\n".to_vec(),
        b"REGISTER sip:h SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nContent-Length: 999\r\n\r\n".to_vec(),
    ];
    let rounds = 400;
    for i in 0..rounds {
        for j in &junk {
            flood.send_to(j, server).await.unwrap();
        }
        if i % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let phone = Phone::udp(server, "1000").await;
    let ping = format!("{}CSeq: 1 OPTIONS\r\n\r\n", base(server, "OPTIONS", 99));
    // The flood may fill the socket's receive buffer: resend as Timer A would (RFC 3261
    // §17.1.1.2), the answer comes from the transaction cache if the first got through.
    let mut answered = None;
    for _ in 0..40 {
        phone.send(&ping).await;
        let mut buf = vec![0u8; 65_535];
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(500), phone.sock.recv_from(&mut buf)).await
        {
            answered = Message::parse(&buf[..n]).ok();
            break;
        }
    }
    assert_eq!(answered.and_then(|m| m.status()), Some(200));
    let stats = core.stats();
    assert!(stats.malformed > 0 && stats.malformed <= (rounds * junk.len()) as u64, "{stats:?}");
    assert_eq!(core.nonces(), 0);
    assert_eq!(mock.pbx().snapshot().registrations, 0);
    assert_eq!(core.connections(), 0);
}

/// A TCP phone reads whole messages by Content-Length.
async fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Message> {
    loop {
        if let Ok(Some(n)) = eslmatrix_sim::fs::sip::message::frame_len(buf) {
            let m = Message::parse(&buf[..n]).unwrap();
            buf.drain(..n);
            return Some(m);
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

// RFC 3261 §18.2.2: the answer goes back on the connection the request came on; the
// binding is TCP (`Registered(TCP)`, network_proto tcp). A stream message without
// Content-Length is 400 and the connection closes (§18.3).
#[tokio::test]
async fn register_over_tcp_and_a_broken_stream() {
    let mock = mock_with(SipConfig::default()).await;
    let server = mock.sip_tcp_addr().unwrap();
    let mut rx = mock.pbx().subscribe();
    let mut stream = TcpStream::connect(server).await.unwrap();
    let local = stream.local_addr().unwrap();
    let mut buf = Vec::new();
    let reg = |auth: Option<&str>, cseq: u32| {
        let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKtcp{cseq}\r\n\
             From: <sip:1003@127.0.0.1>;tag=t1\r\nTo: <sip:1003@127.0.0.1>\r\nCall-ID: tcp-1\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:1003@{local};transport=tcp>\r\nExpires: 600\r\n\
             {auth}Content-Length: 0\r\n\r\n"
        )
    };
    // Two messages in one write, and a keep-alive in front: framing splits them.
    stream.write_all(format!("\r\n\r\n{}", reg(None, 1)).as_bytes()).await.unwrap();
    let mut pong = [0u8; 2];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n", "RFC 5626 §4.4.1 pong");
    let challenge = read_message(&mut stream, &mut buf).await.unwrap();
    assert_eq!(challenge.status(), Some(401));
    let auth =
        answer(challenge.header("WWW-Authenticate").unwrap(), "1003", "1234", "REGISTER", "sip:127.0.0.1", 1);
    stream.write_all(reg(Some(&auth), 2).as_bytes()).await.unwrap();
    assert_eq!(read_message(&mut stream, &mut buf).await.unwrap().status(), Some(200));
    let events = drain(&mut rx);
    assert_eq!(events[0].get("status"), Some("Registered(TCP)"));
    assert_eq!(events[0].get("contact"), Some(format!("\"\" <sip:1003@{local};transport=tcp>").as_str()));
    assert!(api(mock.pbx(), "show", "registrations").contains(&format!(",127.0.0.1,{},tcp,", local.port())));
    assert_eq!(mock.sip().unwrap().connections(), 1);
    let broken =
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKnl\r\nFrom: <sip:a@h>;tag=1\r\n\
                  To: <sip:b@h>\r\nCall-ID: nl\r\nCSeq: 1 OPTIONS\r\n\r\n";
    stream.write_all(broken.as_bytes()).await.unwrap();
    let refused = read_message(&mut stream, &mut buf).await.unwrap();
    assert_eq!(
        refused.start,
        eslmatrix_sim::fs::sip::message::StartLine::Response {
            status: 400,
            reason: "Missing or Bad Content-Length".into()
        }
    );
    assert!(read_message(&mut stream, &mut buf).await.is_none(), "closed after a framing error");
    for _ in 0..100 {
        if mock.sip().unwrap().connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.sip().unwrap().connections(), 0);
}

// Never a crash (fs::sip module docs): every request shape the core knows, cut or with
// one header mangled, is either answered or dropped, and the core keeps answering.
#[tokio::test]
async fn mangled_requests_never_break_the_core() {
    use eslmatrix_sim::fs::sip::{Link, SipCore};
    let mock = mock_with(SipConfig::default()).await;
    let core: SipCore = mock.sip().unwrap().clone();
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let local = sock.local_addr().unwrap();
    let link = Link::datagram(sock.clone(), local, local);
    let methods =
        ["INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "MESSAGE", "INFO", "UPDATE", "SUBSCRIBE"];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..3000u64 {
        let method = methods[(next() % methods.len() as u64) as usize];
        let tag = if next() % 2 == 0 { ";tag=x" } else { "" };
        let mut text = format!(
            "{method} sip:100{}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKm{round}\r\n\
             From: \"x\" <sip:1000@127.0.0.1>;tag=f{round}\r\nTo: <sip:1001@127.0.0.1>{tag}\r\nCall-ID: m{}\r\n\
             CSeq: {} {method}\r\nContact: <sip:1000@127.0.0.1:1>\r\nMax-Forwards: {}\r\nExpires: {}\r\n\
             Authorization: Digest username=\"1000\", realm=\"127.0.0.1\", nonce=\"n\", uri=\"u\", response=\"r\"\r\n\
             Content-Type: application/sdp\r\nContent-Length: 8\r\n\r\nv=0\r\na=x",
            next() % 3,
            next() % 5,
            next() % 4,
            next() % 3,
            next() % 100_000
        );
        // Cut it, or overwrite a byte, or drop a line.
        match next() % 4 {
            0 => text.truncate((next() as usize) % text.len()),
            1 => {
                let at = (next() as usize) % text.len();
                let mut bytes = text.into_bytes();
                bytes[at] = (next() % 256) as u8;
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            2 => {
                let lines: Vec<&str> = text.split("\r\n").collect();
                let skip = (next() as usize) % lines.len();
                text = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\r\n");
            }
            _ => {}
        }
        core.receive(&link, text.as_bytes());
    }
    assert!(core.stats().received >= 3000);
    let phone = Phone::udp(mock.sip_udp_addr().unwrap(), "1000").await;
    let ping = format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{};branch=z9hG4bKlast\r\nFrom: <sip:a@h>;tag=1\r\n\
         To: <sip:b@h>\r\nCall-ID: last\r\nCSeq: 1 OPTIONS\r\n\r\n",
        phone.port()
    );
    assert_eq!(phone.ask(&ping).await.status(), Some(200));
    assert!(core.nonces() <= eslmatrix_sim::fs::sip::digest::MAX_NONCES);
}
