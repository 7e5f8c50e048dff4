//! The SIP WebSocket bindings (RFC 7118) over the SIP core: the handshake, one message
//! per frame both ways over the connection it came on, ws and wss (the generated
//! certificate, trusted by the client exactly), and every bound: size (1009), connections
//! (503), silence (Ping, then close); the core forgets a connection when it closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::pbx::{Pbx, PbxConfig};
use eslmatrix_sim::fs::sip::tls::TlsIdentity;
use eslmatrix_sim::fs::sip::ws::{self, WsLimits};
use eslmatrix_sim::fs::sip::SipCore;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

struct Binding {
    addr: SocketAddr,
    core: SipCore,
    _task: tokio::task::JoinHandle<()>,
}

async fn binding(tls: Option<TlsIdentity>, limits: WsLimits) -> Binding {
    let core = SipCore::new(Pbx::new(PbxConfig::default()), &eslmatrix_sim::fs::sip::SipConfig::default());
    let listener = ws::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = ws::spawn(core.clone(), listener, tls, limits).unwrap();
    Binding { addr, core, _task: task }
}

fn request(url: &str, protocol: Option<&str>) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut r = url.into_client_request().unwrap();
    if let Some(p) = protocol {
        r.headers_mut().insert("sec-websocket-protocol", p.parse().unwrap());
    }
    r
}

/// Waits (bounded) until the core counts `n` open connections.
async fn connections(core: &SipCore, n: usize) {
    timeout(WAIT, async {
        while core.connections() != n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} connections, expected {n}", core.connections()));
}

/// The next text or binary frame, as text.
async fn reply<S>(client: &mut tokio_tungstenite::WebSocketStream<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match timeout(WAIT, client.next()).await.expect("an answer in time") {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(Message::Binary(b))) => return String::from_utf8_lossy(&b).into_owned(),
            Some(Ok(_)) => continue,
            other => panic!("expected a SIP message, got {other:?}"),
        }
    }
}

const OPTIONS: &str = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n\
    From: <sip:a@x.invalid>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
    Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

fn options(call_id: &str) -> String {
    OPTIONS.replace("c1", call_id)
}

// RFC 7118 §5.1 one message per frame (text or binary); the answer comes back as one
// text frame over the same connection, with the peer's address in Via `received`.
#[tokio::test]
async fn one_message_per_frame_both_ways_over_the_connection_it_came_on() {
    let b = binding(None, WsLimits::default()).await;
    let url = format!("ws://{}/", b.addr);
    let stream = TcpStream::connect(b.addr).await.unwrap();
    let (mut first, answer) =
        tokio_tungstenite::client_async(request(&url, Some("sip")), stream).await.unwrap();
    assert_eq!(answer.headers()["sec-websocket-protocol"], "sip");
    let (mut second, _) = tokio_tungstenite::connect_async(request(&url, Some("sip"))).await.unwrap();
    connections(&b.core, 2).await;

    // A CRLF keep-alive is no message; a binary frame is one.
    first.send(Message::text("\r\n\r\n")).await.unwrap();
    first.send(Message::binary(options("first").into_bytes())).await.unwrap();
    second.send(Message::text(options("second"))).await.unwrap();
    let to_first = reply(&mut first).await;
    let to_second = reply(&mut second).await;
    assert!(
        to_first.starts_with("SIP/2.0 200 OK\r\n") && to_first.contains("Call-ID: first\r\n"),
        "{to_first}"
    );
    assert!(to_second.contains("Call-ID: second\r\n"), "{to_second}");
    assert!(to_first.contains(";received=127.0.0.1"), "{to_first}");
    assert_eq!(b.core.stats().received, 2);

    first.close(None).await.unwrap();
    connections(&b.core, 1).await;
    second.close(None).await.unwrap();
    connections(&b.core, 0).await;
}

#[tokio::test]
async fn a_client_that_does_not_offer_sip_is_refused() {
    let b = binding(None, WsLimits::default()).await;
    for offered in [None, Some("chat")] {
        let stream = TcpStream::connect(b.addr).await.unwrap();
        let url = format!("ws://{}/", b.addr);
        let e = tokio_tungstenite::client_async(request(&url, offered), stream).await.unwrap_err();
        match e {
            tokio_tungstenite::tungstenite::Error::Http(r) => assert_eq!(r.status(), 400, "{offered:?}"),
            other => panic!("{offered:?}: {other}"),
        }
    }
    // Not a WebSocket upgrade at all: tungstenite drops it unanswered.
    let mut s = TcpStream::connect(b.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    timeout(WAIT, s.read_to_end(&mut rest)).await.expect("closed in time").unwrap();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
}

#[tokio::test]
async fn a_message_over_the_bound_closes_with_1009() {
    let limits = WsLimits { max_message: 1024, ..WsLimits::default() };
    let b = binding(None, limits).await;
    let url = format!("ws://{}/", b.addr);
    let (mut client, _) = tokio_tungstenite::connect_async(request(&url, Some("sip"))).await.unwrap();
    client.send(Message::text("x".repeat(1025))).await.unwrap();
    let close = loop {
        match timeout(WAIT, client.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Size));
    connections(&b.core, 0).await;
    assert_eq!(b.core.stats().received, 0, "nothing was handed on");
}

#[tokio::test]
async fn connections_past_the_bound_are_answered_503() {
    let limits = WsLimits { max_connections: 2, ..WsLimits::default() };
    let b = binding(None, limits).await;
    let url = format!("ws://{}/", b.addr);
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(tokio_tungstenite::connect_async(request(&url, Some("sip"))).await.unwrap());
    }
    let e = tokio_tungstenite::connect_async(request(&url, Some("sip"))).await.unwrap_err();
    match e {
        tokio_tungstenite::tungstenite::Error::Http(r) => assert_eq!(r.status(), 503),
        other => panic!("{other}"),
    }
    drop(open);
    // Room again once they are gone (the count is released when each task ends).
    let mut last = None;
    for _ in 0..200 {
        match tokio_tungstenite::connect_async(request(&url, Some("sip"))).await {
            Ok(c) => {
                last = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(last.is_some(), "a slot was freed");
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_closed_and_one_that_answers_stays() {
    let limits =
        WsLimits { keepalive: Duration::from_millis(150), pings_unanswered: 2, ..WsLimits::default() };
    let b = binding(None, limits).await;
    let url = format!("ws://{}/", b.addr);
    // Reads its frames (tungstenite answers each Ping with a Pong while reading).
    let (mut lively, _) = tokio_tungstenite::connect_async(request(&url, Some("sip"))).await.unwrap();
    // Never reads, so never answers.
    let (mute, _) = tokio_tungstenite::connect_async(request(&url, Some("sip"))).await.unwrap();
    connections(&b.core, 2).await;

    let mut pings = 0;
    let gone = connections(&b.core, 1);
    tokio::pin!(gone);
    loop {
        tokio::select! {
            frame = lively.next() => {
                if let Some(Ok(Message::Ping(_))) = frame { pings += 1; }
                assert!(matches!(frame, Some(Ok(_))), "the lively client stays connected: {frame:?}");
            }
            () = &mut gone => break,
        }
    }
    assert!(pings >= 1, "{pings} pings");
    // The one left is the lively one: it still gets answers.
    lively.send(Message::text(OPTIONS)).await.unwrap();
    assert!(reply(&mut lively).await.starts_with("SIP/2.0 200 OK"));
    drop(mute);
}

#[tokio::test]
async fn wss_presents_the_generated_certificate() {
    let identity = TlsIdentity::self_signed().unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(identity.certificate_der().to_vec())).unwrap();
    let b = binding(Some(identity), WsLimits::default()).await;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    for name in ["localhost", "127.0.0.1"] {
        let tcp = TcpStream::connect(b.addr).await.unwrap();
        let tls = connector.connect(ServerName::try_from(name).unwrap(), tcp).await.expect(name);
        let url = format!("wss://{name}:{}/", b.addr.port());
        let (mut client, _) = tokio_tungstenite::client_async(request(&url, Some("sip")), tls).await.unwrap();
        client.send(Message::text(OPTIONS)).await.unwrap();
        let answer = reply(&mut client).await;
        assert!(answer.starts_with("SIP/2.0 200 OK"), "{answer}");
    }
}
