//! Real SIP clients on the mock: the `internal` profile's signalling, fed into the same
//! PBX model as scenarios, so every ESL event, `api` output and count stays one truth.
//!
//! * [`message`]: SIP messages, parsed and written, bounded.
//! * [`transport`]: what a transport hands the core ([`Link`], [`Connection`],
//!   [`Binding`]) and how the core answers on the same link.
//! * [`listen`]: the UDP and TCP listeners (`mock-fs --sip`).
//! * [`registrar`] with [`digest`]: REGISTER, digest auth (MD5, SHA-256), expiry.
//! * [`b2bua`]: calls between real clients, two dialogs per call, into the model's legs.
//! * [`chat`]: MESSAGE outside a dialog, delivered to the user's registered devices with
//!   FreeSWITCH's MESSAGE event; to the user `display` it is a pushed message instead
//!   (CUSTOM `eslmatrix::message`).
//! * `reply`: responses as RFC 3261 §8.2.6 builds them.
//! * [`timers`]: what the mock sends, timed: its requests and 2xx sent again over UDP
//!   (RFC 3261 Timers A, B, E, F; §13.3.1.4), the ring timeout, one [`SipCore::tick`].
//! * [`ws`]: SIP over WebSocket (RFC 7118), the `ws-binding`/`wss-binding` browsers use;
//!   [`tls`]: the certificate the `wss` binding presents (generated or given); [`pages`]:
//!   the example WebRTC pages (fixtures/webrtc/) served for `eslmatrix demo --sip`.
//! * [`SipCore`]: the dispatcher: request checks (RFC 3261 §8.2), server-transaction
//!   retransmissions, OPTIONS, REGISTER.
//!
//! Bounds and cost: every message is bounded by [`message::MAX_MESSAGE`] and
//! [`message::MAX_HEADERS`]; a datagram costs one parse, linear in its length, and at
//! most one response no longer than its head plus a few hundred bytes; a malformed one
//! leaves nothing behind. So a flood of malformed datagrams costs O(bytes received) CPU
//! and no memory. Kept state is bounded: [`MAX_TRANSACTIONS`] answered transactions
//! (for retransmissions, each at most one response), [`digest::MAX_NONCES`] nonces,
//! one [`Link`] per open connection (the listeners bound those), [`timers::MAX_TIMERS`]
//! timed messages of ours (a few per call; past it one goes out once, untimed).

pub mod b2bua;
pub mod chat;
pub mod digest;
pub mod listen;
pub mod message;
pub mod pages;
pub mod registrar;
mod reply;
pub mod timers;
pub mod tls;
pub mod transport;
pub mod ws;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use message::{Message, StartLine};
use registrar::{Registrar, RegistrarConfig};
pub use transport::{Binding, Connection, Link, Transport};

use super::pbx::Pbx;

pub use reply::ALLOW;
/// Option tags we support (`Supported`); a `Require` naming another is 420.
pub const SUPPORTED: [&str; 3] = ["timer", "path", "replaces"];
/// Methods RFC 3261 and its extensions define that the mock refuses with 405.
const KNOWN: [&str; 5] = ["SUBSCRIBE", "NOTIFY", "PUBLISH", "PRACK", "REFER"];
/// Answered server transactions kept for retransmissions (RFC 3261 §17.2: a
/// retransmitted request gets the last response again, not a second processing).
pub const MAX_TRANSACTIONS: usize = 4096;

/// The core's settings (`mock-fs --sip` and a scenario's `[sip]` fill them).
#[derive(Clone, Debug)]
pub struct SipConfig {
    /// Where UDP and TCP listen.
    pub listen: listen::ListenConfig,
    /// The registrar's settings.
    pub registrar: RegistrarConfig,
    /// The WebSocket bindings (ws, wss) beside UDP and TCP; none by default.
    pub websocket: ws::WsBindings,
    /// Seeds nonces and tags (a seeded model's seed makes runs reproducible).
    pub seed: u64,
    /// The profile's `auth-calls` (vanilla: true): an INVITE must answer a 407 challenge.
    pub auth_calls: bool,
    /// The profile's `auth-messages` (vanilla: true, sofia.c sets PFLAG_AUTH_MESSAGES
    /// unless told otherwise): a MESSAGE must answer a 407 challenge too.
    pub auth_messages: bool,
    /// Whether the server runs the ticker that drives [`SipCore::tick`] (default true);
    /// off, whoever embeds the core ticks it (tests, with instants of their own).
    pub ticker: bool,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: listen::ListenConfig::default(),
            registrar: RegistrarConfig::default(),
            websocket: ws::WsBindings::default(),
            seed: 0,
            auth_calls: true,
            auth_messages: true,
            ticker: true,
        }
    }
}

/// The user a MESSAGE is addressed to when it is meant for the LEDs.
pub const DISPLAY_USER: &str = "display";

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
    /// Retransmitted requests answered from the transaction cache.
    pub retransmissions: u64,
    /// MESSAGEs relayed to registered devices ([`chat`]).
    pub chat_relayed: u64,
    /// Final answers to them, absorbed.
    pub chat_answered: u64,
    /// Our own messages sent again by the timers (requests, 2xx, ACKs).
    pub resent: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    malformed: AtomicU64,
    sent: AtomicU64,
    retransmissions: AtomicU64,
    resent: AtomicU64,
}

/// The SIP side of the mock: cheap to clone, all clones share one state.
#[derive(Clone)]
pub struct SipCore {
    inner: Arc<Inner>,
}

struct Inner {
    pbx: Pbx,
    /// `User-Agent` on what we send: `FreeSWITCH-mod_sofia/<version>`.
    agent: String,
    counters: Counters,
    state: Mutex<CoreState>,
    /// Wakes the ticker for a timer that waits for its first tick.
    wake: tokio::sync::Notify,
    ticker: bool,
}

/// A transaction: top Via branch, sent-by and CSeq method (RFC 3261 §17.2.3), and the
/// source it came from (two clients that pick the same branch are two transactions).
type TxKey = (String, String, String, SocketAddr);

struct CoreState {
    /// Open connections by transport and peer: where requests to a device registered
    /// over a connection go.
    links: HashMap<(Transport, SocketAddr), Link>,
    registrar: Registrar,
    /// Final responses sent, by transaction, oldest first in `tx_order`.
    answered: HashMap<TxKey, Vec<u8>>,
    tx_order: VecDeque<TxKey>,
    calls: b2bua::Calls,
    chat: chat::Chat,
    /// A UDP link of our listener: devices registered over UDP are reached from it.
    udp: Option<Link>,
    auth_calls: bool,
    auth_messages: bool,
    /// Our messages still timed; a `RefCell` so the call side's `Net` can arm them.
    timers: RefCell<timers::Timers>,
}

/// What the call side sees of the core while its state is locked.
struct NetView<'a> {
    links: &'a HashMap<(Transport, SocketAddr), Link>,
    udp: Option<&'a Link>,
    sent: &'a AtomicU64,
    timers: &'a RefCell<timers::Timers>,
    wake: &'a tokio::sync::Notify,
}

/// A [`NetView`] of the parts of a locked `CoreState` the call side does not own
/// (a macro, as a function taking the whole state would borrow its `calls` too).
macro_rules! net_view {
    ($state:expr, $inner:expr) => {
        NetView {
            links: &$state.links,
            udp: $state.udp.as_ref(),
            sent: &$inner.counters.sent,
            timers: &$state.timers,
            wake: &$inner.wake,
        }
    };
}

impl b2bua::Net for NetView<'_> {
    fn send(&self, link: &Link, msg: &Message) {
        let bytes = msg.to_bytes();
        if self.timers.borrow_mut().sent(link, msg, &bytes) {
            self.wake.notify_one();
        }
        if link.send(bytes) {
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn ring(&self, b_call_id: &str, link: &Link, call: &crate::fs::pbx::CallHandle) {
        if self.timers.borrow_mut().ring(b_call_id, link, call) {
            self.wake.notify_one();
        }
    }

    fn reach(&self, reg: &crate::fs::pbx::Registration, via: &Link) -> Option<Link> {
        let network: Option<SocketAddr> = format!("{}:{}", reg.network_ip, reg.network_port).parse().ok();
        if reg.transport != Transport::Udp {
            // sofia-sip's tport: back over the connection the device registered on.
            return self.links.get(&(reg.transport, network?)).cloned();
        }
        // A UDP device is reached at its Contact when that is an address, else where
        // its REGISTER came from.
        let contact: Option<SocketAddr> =
            reg.contact_host.parse().ok().or_else(|| format!("{}:5060", reg.contact_host).parse().ok());
        let to = contact.or(network)?;
        via.to_peer(to).or_else(|| self.udp.and_then(|u| u.to_peer(to)))
    }
}

impl transport::Owner for Inner {
    fn disconnected(&self, link: &Link) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.links.remove(&link.key());
    }

    fn unbind(&self, transport: Transport, addr: SocketAddr) {
        self.pbx.sip_unbind(transport, addr);
    }
}

impl SipCore {
    /// A core over `pbx`; transports then bind, connect and receive.
    pub fn new(pbx: Pbx, config: &SipConfig) -> SipCore {
        let agent = format!("FreeSWITCH-mod_sofia/{}", pbx.version());
        let state = CoreState {
            links: HashMap::new(),
            registrar: Registrar::new(config.registrar.clone(), config.seed),
            answered: HashMap::new(),
            tx_order: VecDeque::new(),
            calls: b2bua::Calls::default(),
            chat: chat::Chat::new(config.seed),
            udp: None,
            auth_calls: config.auth_calls,
            auth_messages: config.auth_messages,
            timers: RefCell::new(timers::Timers::default()),
        };
        let inner = Inner {
            pbx,
            agent,
            counters: Counters::default(),
            state: Mutex::new(state),
            wake: tokio::sync::Notify::new(),
            ticker: config.ticker,
        };
        SipCore { inner: Arc::new(inner) }
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
        Binding { transport, addr, owner: self.inner.clone() }
    }

    /// A connection opened (TCP, WS, WSS): requests to devices registered over it go
    /// back on it while the returned [`Connection`] lives.
    pub fn connect(&self, link: Link) -> Connection {
        self.lock().links.insert(link.key(), link.clone());
        Connection { link, owner: self.inner.clone() }
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.lock().links.len()
    }

    /// Nonces outstanding.
    pub fn nonces(&self) -> usize {
        self.lock().registrar.nonces()
    }

    /// What the core did so far.
    pub fn stats(&self) -> SipStats {
        let c = &self.inner.counters;
        let (chat_relayed, chat_answered) = {
            let state = self.lock();
            (state.chat.relayed(), state.chat.answered())
        };
        SipStats {
            chat_relayed,
            chat_answered,
            received: c.received.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            retransmissions: c.retransmissions.load(Ordering::Relaxed),
            resent: c.resent.load(Ordering::Relaxed),
        }
    }

    /// Does what the timers have due at `now` (see [`timers`]): sends again what is
    /// due, ends what ran out; returns when the next thing is due (`None`: no timer).
    /// The server's ticker calls it; with [`SipConfig::ticker`] off, the embedder does.
    pub fn tick(&self, now: Instant) -> Option<Instant> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut resent = 0;
        let expired = state.timers.get_mut().tick(now, &self.inner.pbx, &mut resent);
        self.inner.counters.resent.fetch_add(resent, Ordering::Relaxed);
        let net = net_view!(state, self.inner);
        for e in &expired {
            state.calls.expired(&net, &self.inner.pbx, e, &self.inner.agent);
        }
        // What the expiries sent (a CANCEL, BYEs) was sent now.
        state.timers.get_mut().start_new(now, &self.inner.pbx);
        let next = state.timers.borrow().next_due();
        next
    }

    /// Messages of ours timed now (bounded by [`timers::MAX_TIMERS`]).
    pub fn timers(&self) -> usize {
        self.lock().timers.borrow().len()
    }

    /// Whether the server runs a ticker for this core ([`SipConfig::ticker`]).
    pub(crate) fn runs_ticker(&self) -> bool {
        self.inner.ticker
    }

    /// Resolves when a timer waits for its first tick.
    pub(crate) async fn woken(&self) {
        self.inner.wake.notified().await;
    }

    fn send_bytes(&self, link: &Link, bytes: Vec<u8>) {
        if link.send(bytes) {
            self.inner.counters.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends a final response and keeps it for the request's retransmissions.
    fn answer(&self, link: &Link, req: &Message, resp: &Message) {
        let bytes = resp.to_bytes();
        if let Some(key) = tx_key(req, link) {
            let mut state = self.lock();
            if state.tx_order.len() >= MAX_TRANSACTIONS {
                if let Some(old) = state.tx_order.pop_front() {
                    state.answered.remove(&old);
                }
            }
            if state.answered.insert(key.clone(), bytes.clone()).is_none() {
                state.tx_order.push_back(key);
            }
        }
        self.send_bytes(link, bytes);
    }

    fn reply(&self, req: &Message, link: &Link, status: u16) -> Message {
        reply::response(req, link, status, reply::phrase(status), &self.inner.agent)
    }

    /// One whole SIP message from `link` (a datagram, a framed stream message, a
    /// WebSocket message). Never blocks and never panics on any input.
    pub fn receive(&self, link: &Link, bytes: &[u8]) {
        self.inner.counters.received.fetch_add(1, Ordering::Relaxed);
        match Message::parse(bytes) {
            Ok(msg) => match &msg.start {
                StartLine::Request { .. } => self.request(link, &msg),
                StartLine::Response { .. } => {
                    let mut guard = self.lock();
                    let state = &mut *guard;
                    // A final response sent again gets our ACK again, and no more.
                    if let Some((link, ack)) = state.timers.get_mut().response(&msg) {
                        drop(guard);
                        self.inner.counters.resent.fetch_add(1, Ordering::Relaxed);
                        return self.send_bytes(&link, ack);
                    }
                    let net = net_view!(state, self.inner);
                    if !state.chat.response(&msg) {
                        state.calls.response(&net, &self.inner.pbx, &msg, &self.inner.agent);
                    }
                }
            },
            Err(e) => self.malformed(link, e),
        }
    }

    /// A stream's framing failed (no `Content-Length`, too large): answered like a
    /// malformed message, from what of its head is readable.
    pub fn receive_unframed(&self, link: &Link, bytes: &[u8], error: message::ParseError) {
        self.inner.counters.received.fetch_add(1, Ordering::Relaxed);
        let head = match Message::parse(bytes) {
            Ok(m) => Some(Box::new(m)),
            Err(e) => e.head,
        };
        self.malformed(link, message::ParseError { kind: error.kind, head });
    }

    fn malformed(&self, link: &Link, e: message::ParseError) {
        self.inner.counters.malformed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(peer = %link.peer, "malformed SIP message: {e}");
        // RFC 3261 §8.2: a request we can address gets its 4xx/5xx; anything else (a
        // response, unreadable garbage) is dropped silently.
        if let Some(head) = e.head.as_deref() {
            if head.method().is_some_and(|m| m != "ACK") && reply::sendable(head) {
                let (status, reason) = e.response();
                let resp = reply::response(head, link, status, &reason, &self.inner.agent);
                self.send_bytes(link, resp.to_bytes());
            }
        }
    }

    fn request(&self, link: &Link, req: &Message) {
        let method = req.method().unwrap_or_default();
        if !link.is_stream() && self.lock().udp.is_none() {
            self.lock().udp = Some(link.clone());
        }
        if method != "ACK" {
            if let Some(key) = tx_key(req, link) {
                let again = self.lock().answered.get(&key).cloned();
                if let Some(bytes) = again {
                    self.inner.counters.retransmissions.fetch_add(1, Ordering::Relaxed);
                    self.send_bytes(link, bytes);
                    return;
                }
            }
        }
        if let Some(resp) = self.refuse(link, req, method) {
            if method != "ACK" {
                self.answer(link, req, &resp);
            }
            return;
        }
        match method {
            "OPTIONS" => {
                let mut resp = self.reply(req, link, 200);
                resp.push("Allow", ALLOW);
                resp.push("Accept", "application/sdp");
                resp.push("Supported", SUPPORTED.join(", "));
                self.answer(link, req, &resp);
            }
            "REGISTER" => {
                let resp = {
                    let mut state = self.lock();
                    state.registrar.register(&self.inner.pbx, link, req, &self.inner.agent)
                };
                self.answer(link, req, &resp);
            }
            "INVITE" | "ACK" | "CANCEL" | "BYE" | "INFO" | "UPDATE" | "MESSAGE" => {
                self.dialog(link, method, req);
            }
            _ => {
                let mut resp = self.reply(req, link, 501);
                resp.push("Allow", ALLOW);
                self.answer(link, req, &resp);
            }
        }
    }

    /// Requests of calls and messages: a new INVITE (authenticated when `auth_calls`),
    /// anything inside a known call, MESSAGE to the display or as chat ([`chat`]); else
    /// 481 (ACK: nothing).
    fn dialog(&self, link: &Link, method: &str, req: &Message) {
        let pbx = &self.inner.pbx;
        let agent = &self.inner.agent;
        let mut guard = self.lock();
        let state = &mut *guard;
        if method == "ACK" {
            state.timers.get_mut().acked(req);
        }
        let net = net_view!(state, self.inner);
        if state.calls.in_dialog(&net, pbx, link, req, agent) {
            return;
        }
        let has_tag = req.header("To").and_then(|t| message::param(t, "tag")).is_some();
        match method {
            "INVITE" if !has_tag => {
                let caller = if state.auth_calls {
                    match state.registrar.authorize_invite(pbx, link, req, agent) {
                        Ok(user) => user,
                        Err(challenge) => {
                            drop(guard);
                            return self.answer(link, req, &challenge);
                        }
                    }
                } else {
                    let from = req.header("From").map(message::addr_uri).and_then(message::Uri::parse);
                    from.and_then(|u| u.user.map(str::to_string)).unwrap_or_default()
                };
                state.calls.invite(&net, pbx, link, req, &caller, agent);
            }
            "MESSAGE" if !has_tag => {
                if state.auth_messages {
                    if let Err(refusal) = chat::authorize(&mut state.registrar, pbx, link, req, agent) {
                        drop(guard);
                        return self.answer(link, req, &refusal);
                    }
                }
                let user = req.uri().and_then(message::Uri::parse).and_then(|u| u.user.map(str::to_string));
                let status = if user.as_deref() == Some(DISPLAY_USER) {
                    pbx.message(String::from_utf8_lossy(&req.body).trim());
                    202
                } else {
                    state.chat.receive(&net, pbx, link, req, agent)
                };
                drop(guard);
                let resp = self.reply(req, link, status);
                self.answer(link, req, &resp);
            }
            "ACK" => {}
            _ => {
                drop(guard);
                let resp = self.reply(req, link, 481);
                self.answer(link, req, &resp);
            }
        }
    }

    /// The model acted on SIP legs on its own (ESL `uuid_kill`, `hupall`, a dialplan
    /// `hangup` or transfer, the bridged peer's hangup): the B2BUA tells the clients.
    /// The SIP server's task calls this on every [`Pbx::sip_notified`] wakeup.
    pub fn model_changed(&self) {
        let pbx = &self.inner.pbx;
        let mut guard = self.lock();
        let state = &mut *guard;
        let net = net_view!(state, self.inner);
        state.calls.drain(&net, pbx, &self.inner.agent);
    }

    /// Acts on the model's notices whenever it queues one, until the task is dropped.
    pub async fn follow_model(self) {
        loop {
            self.inner.pbx.sip_notified().await;
            self.model_changed();
        }
    }

    /// SIP calls in progress.
    pub fn calls(&self) -> usize {
        self.lock().calls.len()
    }

    /// The checks RFC 3261 §8.2.1–8.2.2 and sofia-sip's nta make before a request is
    /// handled: 405 for a method we know but do not serve, 420 for an unsupported
    /// `Require`, 483 for `Max-Forwards: 0` on what we would relay, 482 for a request
    /// that carries our own Via (a loop).
    fn refuse(&self, link: &Link, req: &Message, method: &str) -> Option<Message> {
        if KNOWN.contains(&method) {
            let mut resp = self.reply(req, link, 405);
            resp.push("Allow", ALLOW);
            return Some(resp);
        }
        let unsupported: Vec<&str> =
            req.values("Require").filter(|t| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t))).collect();
        if !unsupported.is_empty() && method != "ACK" && method != "CANCEL" {
            let mut resp = self.reply(req, link, 420);
            resp.push("Unsupported", unsupported.join(", "));
            return Some(resp);
        }
        let hops = req.header("Max-Forwards").map(|v| v.trim().parse::<u32>());
        match hops {
            Some(Err(_)) => return Some(self.reply(req, link, 400)),
            Some(Ok(0)) if matches!(method, "INVITE" | "MESSAGE") => return Some(self.reply(req, link, 483)),
            _ => {}
        }
        if req
            .values("Via")
            .any(|v| message::param(v, "branch").flatten().is_some_and(|b| b.starts_with(OUR_BRANCH)))
        {
            return Some(self.reply(req, link, 482));
        }
        None
    }
}

const _: () = assert!(timers::MAX_TIMERS == b2bua::MAX_CALLS * timers::PER_CALL);

/// The prefix of the branches we put in our own Vias (after RFC 3261's magic cookie).
const OUR_BRANCH: &str = "z9hG4bKesm";

/// The transaction a request belongs to; `None` without an RFC 3261 branch.
fn tx_key(req: &Message, link: &Link) -> Option<TxKey> {
    let via = req.values("Via").next()?;
    let branch = message::param(via, "branch").flatten()?;
    if !branch.starts_with("z9hG4bK") {
        return None;
    }
    let sent_by = message::params(via).0.to_string();
    let method = req.cseq()?.1.to_string();
    Some((branch.to_string(), sent_by, method, link.peer))
}
