//! Real SIP clients on the mock: the `internal` profile's signalling, fed into the same
//! PBX model as scenarios, so every ESL event, `api` output and count stays one truth.
//!
//! * [`message`]: SIP messages, parsed and written, bounded.
//! * [`transport`]: what a transport hands the core ([`Link`], [`Connection`],
//!   [`Binding`]) and how the core answers on the same link.
//! * [`ws`]: SIP over WebSocket (RFC 7118), the `ws-binding`/`wss-binding` browsers use;
//!   [`tls`]: the certificate the `wss` binding presents (generated or given); [`pages`]:
//!   the example WebRTC pages (fixtures/webrtc/) served for `eslmatrix demo --sip`.
//! * [`SipCore`]: stateless answers (OPTIONS, errors) so far; the registrar and calls
//!   build on it.
//!
//! Bounds: every message is bounded by [`message::MAX_MESSAGE`] and
//! [`message::MAX_HEADERS`]; the work for one datagram is one parse plus at most one
//! response of bounded size, and nothing is kept for a message that fails to parse.

pub mod message;
pub mod pages;
pub mod tls;
pub mod transport;
pub mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use message::{Message, StartLine};
pub use transport::{Binding, Connection, Link, Transport};

use super::pbx::Pbx;

/// Methods the profile accepts (`Allow` of sofia's responses, mod_sofia.c's
/// `SOFIA_DEFAULT_ALLOW`-like list, minus the ones the mock never handles).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY";

/// Counts of what the core did, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SipStats {
    /// Messages handed to [`SipCore::receive`].
    pub received: u64,
    /// Messages that failed to parse (answered when they were requests with a readable
    /// head, dropped otherwise).
    pub malformed: u64,
    /// Responses and requests sent.
    pub sent: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    malformed: AtomicU64,
    sent: AtomicU64,
}

/// The SIP side of the mock: cheap to clone, all clones share one state.
#[derive(Clone)]
pub struct SipCore {
    inner: Arc<Inner>,
}

struct Inner {
    pbx: Pbx,
    /// `Server` / `User-Agent` on what we send: `FreeSWITCH-mod_sofia/<version>`.
    agent: String,
    counters: Counters,
    state: Mutex<CoreState>,
}

#[derive(Default)]
struct CoreState {
    /// Open connections by transport and peer: where requests to a device registered
    /// over a connection go.
    links: HashMap<(Transport, SocketAddr), Link>,
}

impl SipCore {
    /// A core over `pbx`; transports then bind, connect and receive.
    pub fn new(pbx: Pbx) -> SipCore {
        let agent = format!("FreeSWITCH-mod_sofia/{}", pbx.version());
        SipCore {
            inner: Arc::new(Inner { pbx, agent, counters: Counters::default(), state: Mutex::default() }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CoreState> {
        self.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The PBX model this core feeds.
    pub fn pbx(&self) -> &Pbx {
        &self.inner.pbx
    }

    /// Reports a listener that is really bound; `sofia status` shows it while the
    /// returned [`Binding`] lives.
    pub fn bind(&self, transport: Transport, addr: SocketAddr) -> Binding {
        self.inner.pbx.sip_bind(transport, addr);
        Binding { transport, addr, core: self.clone() }
    }

    pub(crate) fn unbind(&self, transport: Transport, addr: SocketAddr) {
        self.inner.pbx.sip_unbind(transport, addr);
    }

    /// A connection opened (TCP, WS, WSS): requests to devices registered over it go
    /// back on it while the returned [`Connection`] lives.
    pub fn connect(&self, link: Link) -> Connection {
        self.lock().links.insert(link.key(), link.clone());
        Connection { link, core: self.clone() }
    }

    pub(crate) fn disconnected(&self, link: &Link) {
        self.lock().links.remove(&link.key());
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.lock().links.len()
    }

    /// What the core did so far.
    pub fn stats(&self) -> SipStats {
        let c = &self.inner.counters;
        SipStats {
            received: c.received.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
        }
    }

    fn send(&self, link: &Link, msg: &Message) {
        if link.send(msg.to_bytes()) {
            self.inner.counters.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One whole SIP message from `link` (a datagram, a framed stream message, a
    /// WebSocket message). Never blocks and never panics on any input.
    pub fn receive(&self, link: &Link, bytes: &[u8]) {
        self.inner.counters.received.fetch_add(1, Ordering::Relaxed);
        let msg = match Message::parse(bytes) {
            Ok(msg) => msg,
            Err(e) => {
                self.inner.counters.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(peer = %link.peer, "malformed SIP message: {e}");
                // RFC 3261 §8.2: a request we can address gets its 4xx/5xx; anything
                // else (a response, unreadable garbage) is dropped silently.
                if let Some(head) = e.head.as_deref() {
                    if head.method().is_some_and(|m| m != "ACK") && sendable(head) {
                        let (status, reason) = e.response();
                        let mut resp = self.response(head, link, status, &reason);
                        resp.body.clear();
                        self.send(link, &resp);
                    }
                }
                return;
            }
        };
        match &msg.start {
            StartLine::Request { method, .. } => self.request(link, method.clone().as_str(), &msg),
            StartLine::Response { .. } => {}
        }
    }

    fn request(&self, link: &Link, method: &str, msg: &Message) {
        match method {
            "OPTIONS" => {
                let mut resp = self.response(msg, link, 200, "OK");
                resp.push("Allow", ALLOW);
                resp.push("Accept", "application/sdp");
                resp.push("Supported", "timer, path, replaces");
                self.send(link, &resp);
            }
            "ACK" => {}
            _ => {
                let mut resp = self.response(msg, link, 501, "Not Implemented");
                resp.push("Allow", ALLOW);
                self.send(link, &resp);
            }
        }
    }

    /// A response to `req` (RFC 3261 §8.2.6): its Vias (the top one with `received` and,
    /// when asked, `rport` of the peer, RFC 3581), From, To with our tag, Call-ID, CSeq.
    fn response(&self, req: &Message, link: &Link, status: u16, reason: &str) -> Message {
        let mut resp = Message {
            start: StartLine::Response { status, reason: reason.to_string() },
            headers: Vec::with_capacity(8),
            body: Vec::new(),
        };
        for (i, via) in req.values("Via").enumerate() {
            if i == 0 {
                resp.push("Via", received_via(via, link.peer));
            } else {
                resp.push("Via", via);
            }
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            if let Some(v) = req.header(name) {
                let v = if name == "To" && status > 100 && message::param(v, "tag").is_none() {
                    format!("{v};tag={}", self.to_tag(req))
                } else {
                    v.to_string()
                };
                resp.push(name, v);
            }
        }
        resp.push("User-Agent", self.inner.agent.clone());
        resp
    }

    /// The tag we put in To: stable for one request (a retransmission gets the same).
    fn to_tag(&self, req: &Message) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (req.header("Call-ID"), req.header("From"), req.cseq().map(|c| c.0)).hash(&mut h);
        format!("{:x}", h.finish())
    }
}

/// Whether a response to this head can be addressed: it has the headers one copies.
fn sendable(head: &Message) -> bool {
    ["Via", "From", "To", "Call-ID", "CSeq"].iter().all(|h| head.header(h).is_some())
}

/// The top Via with `received` (always, as sofia-sip's `nta` adds it when the host
/// differs, and harmlessly when it does not) and `rport` filled in when the client
/// asked for it (RFC 3581 §4).
fn received_via(via: &str, peer: SocketAddr) -> String {
    let (main, params) = message::params(via);
    let mut out = main.to_string();
    let mut had_received = false;
    for (n, v) in params {
        if n.eq_ignore_ascii_case("rport") {
            out.push_str(&format!(";rport={}", peer.port()));
        } else if n.eq_ignore_ascii_case("received") {
            had_received = true;
            out.push_str(&format!(";received={}", peer.ip()));
        } else {
            match v {
                Some(v) => out.push_str(&format!(";{n}={v}")),
                None => out.push_str(&format!(";{n}")),
            }
        }
    }
    if !had_received {
        out.push_str(&format!(";received={}", peer.ip()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_and_rport_are_filled_from_the_peer() {
        let peer: SocketAddr = "10.0.0.9:40000".parse().unwrap();
        assert_eq!(
            received_via("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport", peer),
            "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport=40000;received=10.0.0.9"
        );
        assert_eq!(
            received_via("SIP/2.0/TCP h;received=1.1.1.1;branch=z9hG4bK2", peer),
            "SIP/2.0/TCP h;received=10.0.0.9;branch=z9hG4bK2"
        );
    }
}
