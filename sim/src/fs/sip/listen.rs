//! The UDP and TCP listeners of the internal profile (5060 in FreeSWITCH's vanilla
//! config; any address here so tests use ephemeral ports).
//!
//! Bounds: one datagram buffer of [`MAX_MESSAGE`] bytes per UDP socket (a longer
//! datagram is cut by the kernel and fails to parse); at most
//! [`ListenConfig::max_connections`] TCP connections (one more is closed at once); a TCP
//! connection buffers at most one message ([`MAX_MESSAGE`]) plus one read; a framing
//! error closes it (after a 400 when the head was readable), as a stream cannot be
//! resynchronised.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::message::{frame_len, skip_keepalive, MAX_MESSAGE};
use super::transport::{Link, Transport, LINK_QUEUE};
use super::SipCore;

/// `mock-fs --sip ADDR` / a scenario's `[sip]`: where the profile listens.
#[derive(Clone, Debug)]
pub struct ListenConfig {
    /// UDP and TCP on this address; port 0 picks one free port for both.
    pub listen: SocketAddr,
    /// Serve UDP (default true).
    pub udp: bool,
    /// Serve TCP on the same port (default true).
    pub tcp: bool,
    /// TCP connections open at once; one more is closed at once.
    pub max_connections: usize,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
            udp: true,
            tcp: true,
            max_connections: 1024,
        }
    }
}

/// The listeners that are open, and their tasks (stopped when this is dropped).
pub struct SipServer {
    /// The UDP socket's address, when UDP is served.
    pub udp: Option<SocketAddr>,
    /// The TCP listener's address, when TCP is served.
    pub tcp: Option<SocketAddr>,
    tasks: JoinSet<()>,
}

impl SipServer {
    /// Binds what `config` asks for and starts serving into `core`.
    pub async fn start(config: &ListenConfig, core: SipCore) -> io::Result<SipServer> {
        let (udp, tcp) = bind_pair(config).await?;
        let mut tasks = JoinSet::new();
        let mut server = SipServer { udp: None, tcp: None, tasks: JoinSet::new() };
        // Calls the model ends or answers on its own reach the clients from here.
        tasks.spawn(core.clone().follow_model());
        if let Some(sock) = udp {
            let addr = sock.local_addr()?;
            server.udp = Some(addr);
            let binding = core.bind(Transport::Udp, addr);
            let core = core.clone();
            tasks.spawn(async move {
                let _binding = binding;
                serve_udp(Arc::new(sock), addr, core).await;
            });
        }
        if let Some(listener) = tcp {
            let addr = listener.local_addr()?;
            server.tcp = Some(addr);
            let binding = core.bind(Transport::Tcp, addr);
            let max = config.max_connections;
            let core = core.clone();
            tasks.spawn(async move {
                let _binding = binding;
                serve_tcp(listener, addr, core, max).await;
            });
        }
        if core.runs_ticker() {
            // One ticker per core: our retransmissions and timeouts (super::timers).
            tasks.spawn(super::timers::run(core.clone()));
        }
        server.tasks = tasks;
        Ok(server)
    }

    /// Stops every listener and connection.
    pub async fn shutdown(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// UDP and TCP on one port: with port 0 the UDP port picked is then asked of TCP, and a
/// few fresh picks are tried if TCP has it taken.
async fn bind_pair(config: &ListenConfig) -> io::Result<(Option<UdpSocket>, Option<TcpListener>)> {
    match (config.udp, config.tcp) {
        (false, false) => Ok((None, None)),
        (true, false) => Ok((Some(UdpSocket::bind(config.listen).await?), None)),
        (false, true) => Ok((None, Some(TcpListener::bind(config.listen).await?))),
        (true, true) => {
            let mut last = None;
            for _ in 0..8 {
                let udp = UdpSocket::bind(config.listen).await?;
                let at = udp.local_addr()?;
                match TcpListener::bind(at).await {
                    Ok(tcp) => return Ok((Some(udp), Some(tcp))),
                    Err(e) if config.listen.port() == 0 => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no port free for both UDP and TCP")))
        }
    }
}

async fn serve_udp(sock: Arc<UdpSocket>, local: SocketAddr, core: SipCore) {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                let bytes = &buf[..n];
                // RFC 5626 §4.4.1 keep-alives (CRLF) need no answer on UDP (STUN would).
                if skip_keepalive(bytes) == n {
                    continue;
                }
                core.receive(&Link::datagram(sock.clone(), local, peer), bytes);
            }
            // ICMP port unreachable from an earlier send shows up here on Linux: not ours.
            Err(e) => tracing::debug!("SIP UDP receive: {e}"),
        }
    }
}

async fn serve_tcp(listener: TcpListener, local: SocketAddr, core: SipCore, max: usize) {
    let live = Arc::new(AtomicUsize::new(0));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if live.load(Ordering::SeqCst) >= max {
                        tracing::warn!(%peer, "SIP TCP connection refused: {max} open");
                        continue;
                    }
                    live.fetch_add(1, Ordering::SeqCst);
                    let (core, live) = (core.clone(), live.clone());
                    conns.spawn(async move {
                        serve_stream(stream, local, peer, core).await;
                        live.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) => {
                    tracing::warn!("SIP TCP accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// One TCP connection: messages framed by Content-Length (RFC 3261 §18.3), answers and
/// requests to it written by a writer task in the order the core sent them.
async fn serve_stream(stream: TcpStream, local: SocketAddr, peer: SocketAddr, core: SipCore) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(LINK_QUEUE);
    let conn = core.connect(Link::stream(Transport::Tcp, local, peer, tx));
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let lead = skip_keepalive(&buf);
            if lead > 0 {
                // RFC 5626 §4.4.1: a double CRLF ping is answered with one CRLF pong.
                if buf[..lead].windows(4).any(|w| w == b"\r\n\r\n") {
                    conn.link().send(b"\r\n".to_vec());
                }
                buf.drain(..lead);
            }
            match frame_len(&buf) {
                Ok(Some(len)) => {
                    core.receive(conn.link(), &buf[..len]);
                    buf.drain(..len);
                }
                Ok(None) => break,
                Err(e) => {
                    // Let the core answer what it can read of the head, then close.
                    core.receive_unframed(conn.link(), &buf[..buf.len().min(MAX_MESSAGE)], e);
                    break 'read;
                }
            }
        }
    }
    drop(conn);
    // The writer ends once the core's copies of the link are gone and the queue drains.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), writer).await;
}
