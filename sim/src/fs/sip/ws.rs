//! SIP over WebSocket (RFC 7118): the internal profile's `ws-binding` (:5066) and
//! `wss-binding` (:7443), where browsers (SIP.js, JsSIP) register and call.
//!
//! * The handshake must offer the `sip` subprotocol (RFC 7118 §4.1) and is answered with
//!   it; a client that does not offer it gets `400 Bad Request`, as does anything that is
//!   not a WebSocket upgrade.
//! * One SIP message per text or binary frame (§5.1): a frame is handed to the SIP core
//!   whole, never reassembled from a stream; what the core sends goes out as one text
//!   frame per message (binary when it is not UTF-8).
//! * Every message is handed to the core with the connection's [`Link`], so replies and
//!   later requests to that client go back over the same connection (§5.2: the client's
//!   Via and Contact hosts are `*.invalid`, so no one could dial it).
//!
//! Bounds (all in [`WsLimits`]): connections open at once per binding (one more is
//! answered 503 on ws, closed before TLS on wss), the handshake's time (TLS included), a message's and a
//! frame's size ([`MAX_MESSAGE`], as every SIP transport here; a larger one closes the
//! connection with 1009, "message too big"), the messages queued towards a slow client
//! ([`LINK_QUEUE`], the core drops past it), and idleness: after [`WsLimits::keepalive`] of
//! silence the mock sends a Ping, and a connection that stays silent for
//! [`WsLimits::pings_unanswered`] more periods is closed. Browsers answer Pings by
//! themselves, so a registered page that is waiting for a call stays connected; a
//! vanished laptop is gone within a few periods.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use super::message::MAX_MESSAGE;
use super::tls::{TlsError, TlsIdentity, TlsSource};
use super::transport::{Link, Transport, LINK_QUEUE};
use super::SipCore;

/// The subprotocol RFC 7118 registers for SIP.
pub const SUBPROTOCOL: &str = "sip";
/// sofia's `ws-binding` in the shipped internal profile.
pub const WS_PORT: u16 = 5066;
/// sofia's `wss-binding` in the shipped internal profile.
pub const WSS_PORT: u16 = 7443;

/// The bounds every WebSocket connection is held to.
#[derive(Clone, Debug)]
pub struct WsLimits {
    /// Connections open at once per binding.
    pub max_connections: usize,
    /// Bytes in one SIP message (= one WebSocket message, = one frame: SIP.js never
    /// fragments); at most [`MAX_MESSAGE`], the core's bound for every transport.
    pub max_message: usize,
    /// From accept to the 101 answer, TLS handshake included.
    pub handshake_timeout: Duration,
    /// Silence after which a Ping is sent.
    pub keepalive: Duration,
    /// Further silent periods after the first Ping before the connection is closed (at
    /// least one): with the defaults, 90 s of silence in all.
    pub pings_unanswered: u32,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_connections: 1024,
            max_message: MAX_MESSAGE,
            handshake_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(30),
            pings_unanswered: 2,
        }
    }
}

/// `mock-fs --sip` / a scenario's `[sip]`: which WebSocket bindings to open. `Default` opens
/// none (tests pick ports; `mock-fs --sip` asks for sofia's 5066 and 7443).
#[derive(Clone, Debug, Default)]
pub struct WsBindings {
    /// The `ws-binding` (sofia's internal profile: `:5066`).
    pub ws: Option<SocketAddr>,
    /// The `wss-binding` (`:7443`).
    pub wss: Option<SocketAddr>,
    /// The certificate `wss` presents.
    pub tls: TlsSource,
    /// Bounds of both.
    pub limits: WsLimits,
}

/// Why the WebSocket bindings could not open: one line.
#[derive(Debug, thiserror::Error)]
pub enum WsStartError {
    /// An address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS's reason.
        source: io::Error,
    },
    /// The wss certificate could not be made or read.
    #[error("wss certificate: {0}")]
    Tls(#[from] TlsError),
}

/// The open WebSocket bindings; dropping this closes them and every connection.
#[derive(Debug, Default)]
pub struct WsServer {
    /// Where `ws` listens, when it does.
    pub ws: Option<SocketAddr>,
    /// Where `wss` listens, when it does.
    pub wss: Option<SocketAddr>,
    /// The certificate `wss` presents, when it listens (PEM, for clients to trust).
    pub wss_certificate: Option<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl WsServer {
    /// Binds what `config` asks for and serves it for `core`.
    pub async fn start(config: &WsBindings, core: &SipCore) -> Result<WsServer, WsStartError> {
        let mut server = WsServer::default();
        let bound = |addr: SocketAddr| async move {
            let l = bind(addr).await.map_err(|source| WsStartError::Bind { addr, source })?;
            let at = l.local_addr().map_err(|source| WsStartError::Bind { addr, source })?;
            Ok::<_, WsStartError>((l, at))
        };
        if let Some(addr) = config.ws {
            let (l, at) = bound(addr).await?;
            let task = spawn(core.clone(), l, None, config.limits.clone())
                .map_err(|source| WsStartError::Bind { addr, source })?;
            server.tasks.push(task);
            server.ws = Some(at);
        }
        if let Some(addr) = config.wss {
            let identity = TlsIdentity::load(&config.tls)?;
            server.wss_certificate = Some(identity.certificate_pem());
            let (l, at) = bound(addr).await?;
            let task = spawn(core.clone(), l, Some(identity), config.limits.clone())
                .map_err(|source| WsStartError::Bind { addr, source })?;
            server.tasks.push(task);
            server.wss = Some(at);
        }
        Ok(server)
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A binding's shared state: what every connection task reads.
struct Binding {
    transport: Transport,
    local: SocketAddr,
    tls: Option<TlsIdentity>,
    limits: WsLimits,
    core: SipCore,
    live: AtomicUsize,
}

/// Binds a ws or wss listener; serving starts with [`spawn`].
pub async fn bind(listen: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// Serves `listener` for `core` until the returned task is aborted (which ends every
/// connection and takes the binding out of `sofia status`). With `tls` it is a `wss`
/// binding, else `ws`.
pub fn spawn(
    core: SipCore,
    listener: TcpListener,
    tls: Option<TlsIdentity>,
    limits: WsLimits,
) -> io::Result<tokio::task::JoinHandle<()>> {
    let local = listener.local_addr()?;
    let transport = if tls.is_some() { Transport::Wss } else { Transport::Ws };
    let limits = WsLimits { max_message: limits.max_message.min(MAX_MESSAGE), ..limits };
    let binding = Arc::new(Binding { transport, local, tls, limits, core, live: AtomicUsize::new(0) });
    tracing::info!(addr = %local, transport = %transport, "SIP WebSocket binding listening");
    Ok(tokio::spawn(accept_loop(listener, binding)))
}

async fn accept_loop(listener: TcpListener, binding: Arc<Binding>) {
    let _listed = binding.core.bind(binding.transport, binding.local);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if binding.live.load(Ordering::SeqCst) >= binding.limits.max_connections {
                        refuse(&stream, peer, &binding);
                        continue;
                    }
                    binding.live.fetch_add(1, Ordering::SeqCst);
                    let binding = binding.clone();
                    conns.spawn(async move {
                        accept_one(stream, peer, &binding).await;
                        binding.live.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!("SIP {} accept failed: {e}", binding.transport);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Over the limit: a 503 written without waiting (a fresh socket's buffer is empty).
fn refuse(stream: &TcpStream, peer: SocketAddr, binding: &Binding) {
    tracing::warn!(%peer, "refused SIP {} connection: {} open (max {})", binding.transport,
        binding.live.load(Ordering::SeqCst), binding.limits.max_connections);
    if binding.tls.is_none() {
        let _ = stream
            .try_write(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
}

async fn accept_one(stream: TcpStream, peer: SocketAddr, binding: &Binding) {
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + binding.limits.handshake_timeout;
    match &binding.tls {
        Some(tls) => match tokio::time::timeout_at(deadline, tls.acceptor().accept(stream)).await {
            Ok(Ok(tls_stream)) => serve(tls_stream, peer, deadline, binding).await,
            Ok(Err(e)) => tracing::debug!(%peer, "SIP wss TLS handshake failed: {e}"),
            Err(_) => tracing::debug!(%peer, "SIP wss TLS handshake timed out"),
        },
        None => serve(stream, peer, deadline, binding).await,
    }
}

/// RFC 7118 §4.1: the client offers `sip` among its subprotocols; the answer names it.
#[allow(clippy::result_large_err)] // tungstenite's callback fixes the error type
fn negotiate(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let offered = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case(SUBPROTOCOL));
    if !offered {
        let mut refusal = ErrorResponse::new(Some("SIP over WebSocket needs subprotocol \"sip\"\n".into()));
        *refusal.status_mut() = StatusCode::BAD_REQUEST;
        return Err(refusal);
    }
    response.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(SUBPROTOCOL));
    Ok(response)
}

async fn serve<S>(stream: S, peer: SocketAddr, deadline: Instant, binding: &Binding)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = WebSocketConfig::default()
        .max_message_size(Some(binding.limits.max_message))
        .max_frame_size(Some(binding.limits.max_message));
    let upgrade = tokio_tungstenite::accept_hdr_async_with_config(stream, negotiate, Some(config));
    let ws = match tokio::time::timeout_at(deadline, upgrade).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "SIP {} handshake refused: {e}", binding.transport);
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "SIP {} handshake timed out", binding.transport);
            return;
        }
    };
    let (tx, mut outbound) = mpsc::channel::<Vec<u8>>(LINK_QUEUE);
    let conn = binding.core.connect(Link::stream(binding.transport, binding.local, peer, tx));
    tracing::info!(%peer, "SIP {} connection open", binding.transport);
    let (mut sink, mut source) = ws.split();
    let period = binding.limits.keepalive;
    let mut heard = Instant::now();
    let mut pings: u32 = 0;
    let why = loop {
        let next_ping = heard + period * (pings + 1);
        tokio::select! {
            frame = source.next() => {
                heard = Instant::now();
                pings = 0;
                let bytes = match frame {
                    Some(Ok(Message::Text(t))) => Bytes::from(t),
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break "closed by the client",
                    Some(Err(WsError::Capacity(e))) => {
                        tracing::warn!(%peer, "SIP {}: {e}; closing", binding.transport);
                        let frame = CloseFrame { code: CloseCode::Size, reason: "message too big".into() };
                        let _ = timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
                        break "message too big";
                    }
                    Some(Err(e)) => {
                        tracing::debug!(%peer, "SIP {} read: {e}", binding.transport);
                        break "protocol error";
                    }
                };
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    // RFC 5626 §4.4.1 keep-alive (CRLF CRLF): nothing to hand on.
                    continue;
                }
                binding.core.receive(conn.link(), &bytes);
            }
            out = outbound.recv() => {
                let Some(bytes) = out else { break "the core let go" };
                let message = match String::from_utf8(bytes) {
                    Ok(text) => Message::text(text),
                    Err(e) => Message::binary(e.into_bytes()),
                };
                if let Err(e) = sink.send(message).await {
                    tracing::debug!(%peer, "SIP {} write: {e}", binding.transport);
                    break "write failed";
                }
            }
            _ = sleep_until(next_ping) => {
                // Closed `pings_unanswered` periods after the first Ping, never sooner than one.
                if pings >= binding.limits.pings_unanswered.max(1) {
                    break "silent past keepalive";
                }
                pings += 1;
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    break "write failed";
                }
            }
        }
    };
    tracing::info!(%peer, "SIP {} connection closed: {why}", binding.transport);
    // Dropping the connection tells the core: nothing more can be sent to this client.
    drop(conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(protocols: Option<&str>) -> Request {
        let mut b = Request::builder()
            .uri("/")
            .header("host", "127.0.0.1")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        if let Some(p) = protocols {
            b = b.header("sec-websocket-protocol", p);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn the_sip_subprotocol_is_required_and_echoed() {
        let ok = negotiate(&upgrade(Some("chat, SIP")), Response::new(())).unwrap();
        assert_eq!(ok.headers()["sec-websocket-protocol"], "sip");
        for offered in [None, Some("chat"), Some("sips")] {
            let refused = negotiate(&upgrade(offered), Response::new(())).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{offered:?}");
        }
    }
}
