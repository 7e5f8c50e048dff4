//! The SIP core's clocks: the transaction timers of RFC 3261 for what the mock itself sends,
//! and the originate's ring timeout, all driven by one [`SipCore::tick`].
//!
//! * Our requests (RFC 3261 §17.1): an INVITE is sent again after T1, 2·T1, 4·T1 … (Timer
//!   A) and given up 64·T1 after it was first sent (Timer B); a BYE or CANCEL after T1,
//!   doubling up to T2 (Timer E, T2 apart once a provisional came), given up at 64·T1
//!   (Timer F). Only over UDP: TCP, WS and WSS are reliable and carry each message once,
//!   but Timers B and F run on every transport (§17.1.1.2: "for any transport"). A
//!   response with the request's branch and CSeq method stops them (for an INVITE a
//!   provisional does too: the callee has it). Timer B ends the leg as sofia does: nta
//!   answers the INVITE itself with 408 (nta.c `outgoing_timeout`, `outgoing_reply(orq,
//!   SIP_408_REQUEST_TIMEOUT)`), which sofia takes as the callee's status, so the B leg
//!   ends with `sofia_glue_sip_cause_to_freeswitch(408)` = RECOVERY_ON_TIMER_EXPIRE and the
//!   model's bridge failure handling does the rest. Timer F gives up quietly.
//! * Our 2xx to an INVITE (§13.3.1.4): sent again T1, 2·T1 … apart up to T2 until the ACK
//!   with its Call-ID and CSeq number comes; 64·T1 without one and the call ends with a BYE
//!   carrying `Reason: SIP;cause=408;text="ACK Timeout"` (nua_session.c
//!   `process_timeout`). Sent again over UDP only: sofia's nta repeats a 2xx on reliable
//!   transports too (nta.c `incoming_reply`, Timer G for `status < 300`), but loopback
//!   TCP and WebSocket deliver it, so the mock waits for the ACK there without repeating.
//! * Our ACKs (§13.2.2.4, §17.1.1.3): kept 64·T1, so a final response the callee sends
//!   again (it missed our ACK) gets the same ACK again; the call side never sees it twice.
//! * The ring timeout: the B leg's originate gives up on a callee nobody answers after the
//!   A leg's `call_timeout` (switch_ivr_originate.c `switch_ivr_originate`: the caller's
//!   `call_timeout`, else SWITCH_DEFAULT_TIMEOUT, 60 s; `elapsed > timelimit_sec`), and the
//!   B leg is killed NO_ANSWER; a `leg_timeout` on the B leg (`check_per_channel_timeouts`)
//!   ends it ALLOTTED_TIMEOUT, whichever comes first. Both are read from the model's
//!   channel variables when the timer starts, as the originate reads them when it starts
//!   (so a dialplan's `set call_timeout=…` before its bridge counts).
//!
//! Simplified: the originate compares whole seconds (`elapsed > timelimit_sec`, so it
//! gives up 60–61 s in); the mock gives up at exactly the limit. After an ACK timeout sofia
//! ends the caller's leg when its BYE completes (the BYE's status as the cause); the mock
//! ends both legs NORMAL_CLEARING at once, as if the BYE was answered 200.
//!
//! Time: a timer starts at the first tick after its message was sent (the ticker is woken
//! for it, so in a running server that is the same moment), and every deadline comes from
//! the instants `tick` is given, never from the wall clock. A test drives `tick` with
//! instants it advances itself and sees exactly T1, 3·T1, 7·T1 … after its first tick.
//!
//! Bounds: one entry per message of ours still timed (request, 2xx, ACK kept for
//! retransmitted responses, ringing call): at most [`MAX_TIMERS`], [`PER_CALL`] for each
//! of the B2BUA's `MAX_CALLS`; past it a message is sent once, untimed, and counted. Each
//! entry holds one message (≤ `MAX_MESSAGE` bytes) and its link. A tick does at most one
//! retransmission per entry and costs O(entries).
//!
//! [`SipCore::tick`]: super::SipCore::tick

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::message::{self, Message, StartLine};
use super::transport::Link;
use crate::fs::pbx::{ApiOutput, CallHandle, Pbx};

/// RFC 3261's round-trip estimate (§17.1.1.1; sofia's NTA_SIP_T1).
pub const T1: Duration = Duration::from_millis(500);
/// The longest retransmission interval of a non-INVITE request and of a 2xx (NTA_SIP_T2).
pub const T2: Duration = Duration::from_secs(4);
/// 64·T1: Timers B and F, the wait for an ACK, how long our ACKs are kept.
pub const TIMEOUT: Duration = Duration::from_secs(32);
/// SWITCH_DEFAULT_TIMEOUT: the originate's limit without `call_timeout`.
pub const RING_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the ticker sleeps when nothing is due sooner.
pub const TICK: Duration = Duration::from_millis(100);
/// Timed messages of one call at most, in the usual case: our INVITE, its ring timeout,
/// its ACK, our 2xx to the caller, a CANCEL or two BYEs, a relayed re-INVITE and its ACK.
pub const PER_CALL: usize = 8;
/// Timed messages at once: [`PER_CALL`] for each of the B2BUA's 10 000 calls (`MAX_CALLS`;
/// sip/mod.rs checks the product when it compiles, as the call side imports this file).
pub const MAX_TIMERS: usize = 10_000 * PER_CALL;

/// What a timer is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// A client transaction of ours: the top Via's branch and the CSeq method (§17.1.3).
    Request { branch: String, method: String },
    /// Our 2xx to an INVITE waiting for its ACK: Call-ID and CSeq number (§13.3.1.4).
    Answer { call_id: String, cseq: u32 },
    /// An ACK of ours, for a final response sent again: Call-ID and CSeq number.
    Ack { call_id: String, cseq: u32 },
    /// A ringing B leg's originate timeout, by the B dialog's Call-ID.
    Ring { call_id: String },
}

/// A timer that ran out, for the call side to act on (`b2bua::Calls::expired`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expired {
    pub what: Expiry,
    /// The dialog's Call-ID and the CSeq number of the message timed.
    pub call_id: String,
    pub cseq: u32,
}

/// Which timer ran out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Timer B: no answer at all to our INVITE.
    Invite,
    /// No ACK for our 2xx.
    Ack,
    /// The originate gave up ringing; the B leg's cause (NO_ANSWER, ALLOTTED_TIMEOUT).
    Ring(&'static str),
}

struct Entry {
    link: Link,
    /// What is sent again (empty for a ring timeout).
    bytes: Vec<u8>,
    call_id: String,
    cseq: u32,
    /// Sent again at all: over UDP, for requests and 2xx.
    repeat: bool,
    /// Timer A doubles without bound; E and the 2xx stop at T2.
    capped: bool,
    /// A ring timeout's legs, read for `call_timeout` / `leg_timeout` when it starts.
    legs: Option<CallHandle>,
    /// Set by the first tick after the message was sent.
    run: Option<Run>,
}

struct Run {
    /// When it is sent again next, and the interval after that one.
    next: Option<Instant>,
    interval: Duration,
    /// When the timer runs out, and what that means.
    deadline: Instant,
    cause: &'static str,
}

/// Every timer of one core.
pub(crate) struct Timers {
    entries: HashMap<Key, Entry>,
    cap: usize,
    /// Messages sent untimed because the table was full.
    pub refused: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers::with_cap(MAX_TIMERS)
    }
}

fn call_id(msg: &Message) -> String {
    msg.header("Call-ID").unwrap_or_default().to_string()
}

fn branch(msg: &Message) -> Option<String> {
    let via = msg.values("Via").next()?;
    message::param(via, "branch").flatten().map(str::to_string)
}

/// A channel variable as `atoi` reads it (0 when unset or not a number).
fn var_secs(pbx: &Pbx, uuid: &str, name: &str) -> i64 {
    match pbx.api("uuid_getvar", &format!("{uuid} {name}")) {
        ApiOutput::Text(t) => crate::fs::pbx::atol(t.trim()),
        ApiOutput::NotFound => 0,
    }
}

impl Timers {
    pub(crate) fn with_cap(cap: usize) -> Timers {
        Timers { entries: HashMap::new(), cap, refused: 0 }
    }

    /// Timers running or about to start.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn insert(&mut self, key: Key, entry: Entry) -> bool {
        if self.entries.len() >= self.cap && !self.entries.contains_key(&key) {
            self.refused += 1;
            tracing::debug!("SIP timers full ({}): a message goes untimed", self.cap);
            return false;
        }
        self.entries.insert(key, entry);
        true
    }

    /// A message of ours went out on `link` as `bytes`: times it when it needs it.
    /// Returns whether a timer is waiting for its first tick.
    pub(crate) fn sent(&mut self, link: &Link, msg: &Message, bytes: &[u8]) -> bool {
        let Some((cseq, method)) = msg.cseq() else { return false };
        let call_id = call_id(msg);
        let udp = !link.is_stream();
        let entry = |repeat: bool, capped: bool| Entry {
            link: link.clone(),
            bytes: if repeat || method == "ACK" { bytes.to_vec() } else { Vec::new() },
            call_id: call_id.clone(),
            cseq,
            repeat,
            capped,
            legs: None,
            run: None,
        };
        let key = match &msg.start {
            StartLine::Request { method, .. } if method == "ACK" => {
                if !udp {
                    return false;
                }
                Key::Ack { call_id: call_id.clone(), cseq }
            }
            StartLine::Request { method, .. } => {
                if method == "CANCEL" || method == "BYE" {
                    // The call is ending on that leg: it rings no more.
                    self.entries.remove(&Key::Ring { call_id: call_id.clone() });
                }
                let Some(branch) = branch(msg) else { return false };
                let key = Key::Request { branch, method: method.clone() };
                return self.insert(key, entry(udp, method != "INVITE"));
            }
            StartLine::Response { status: 200..=299, .. } if method == "INVITE" => {
                Key::Answer { call_id: call_id.clone(), cseq }
            }
            StartLine::Response { .. } => return false,
        };
        let repeat = udp && matches!(key, Key::Answer { .. });
        self.insert(key, entry(repeat, true))
    }

    /// The B leg of `call` rings from now on (its INVITE went out on `link`).
    pub(crate) fn ring(&mut self, b_call_id: &str, link: &Link, call: &CallHandle) -> bool {
        let entry = Entry {
            link: link.clone(),
            bytes: Vec::new(),
            call_id: b_call_id.to_string(),
            cseq: 1,
            repeat: false,
            capped: true,
            legs: Some(call.clone()),
            run: None,
        };
        self.insert(Key::Ring { call_id: b_call_id.to_string() }, entry)
    }

    /// A response arrived. Stops the timers it answers; when it is a final response to
    /// an INVITE we already acknowledged, returns that ACK to send again (the response
    /// is then a retransmission, not for the call side).
    pub(crate) fn response(&mut self, resp: &Message) -> Option<(Link, Vec<u8>)> {
        let status = resp.status()?;
        let (cseq, method) = resp.cseq()?;
        let call_id = call_id(resp);
        if method == "INVITE" && status >= 200 {
            if let Some(ack) = self.entries.get(&Key::Ack { call_id: call_id.clone(), cseq }) {
                return Some((ack.link.clone(), ack.bytes.clone()));
            }
            self.entries.remove(&Key::Ring { call_id });
        }
        let key = Key::Request { branch: branch(resp)?, method: method.to_string() };
        if status >= 200 || method == "INVITE" {
            // Final, or an INVITE's provisional (§17.1.1.2 Proceeding: A and B stop).
            self.entries.remove(&key);
        } else if let Some(Entry { run: Some(run), .. }) = self.entries.get_mut(&key) {
            // A non-INVITE's provisional: Timer E goes on at T2 (§17.1.2.2).
            run.interval = T2;
        }
        None
    }

    /// An ACK arrived: the 2xx it acknowledges is not sent again.
    pub(crate) fn acked(&mut self, ack: &Message) {
        if let Some((cseq, _)) = ack.cseq() {
            self.entries.remove(&Key::Answer { call_id: call_id(ack), cseq });
        }
    }

    /// Starts what waited for a tick, sends again what is due, and returns the timers
    /// that ran out (each once; its entry is gone). `resent` counts what went out again.
    pub(crate) fn tick(&mut self, now: Instant, pbx: &Pbx, resent: &mut u64) -> Vec<Expired> {
        let mut out = Vec::new();
        let mut done = Vec::new();
        for (key, e) in &mut self.entries {
            let Some(run) = &mut e.run else {
                e.run = Some(start(key, e, now, pbx));
                continue;
            };
            if now >= run.deadline {
                done.push(key.clone());
                let what = match key {
                    Key::Request { method, .. } if method == "INVITE" => {
                        // The call side ends the call: nothing left to ring.
                        done.push(Key::Ring { call_id: e.call_id.clone() });
                        Some(Expiry::Invite)
                    }
                    Key::Answer { .. } => Some(Expiry::Ack),
                    Key::Ring { .. } => Some(Expiry::Ring(run.cause)),
                    Key::Request { .. } | Key::Ack { .. } => None,
                };
                if let Some(what) = what {
                    out.push(Expired { what, call_id: e.call_id.clone(), cseq: e.cseq });
                }
                continue;
            }
            if run.next.is_some_and(|n| now >= n) {
                if e.link.send(e.bytes.clone()) {
                    *resent += 1;
                }
                run.interval = if e.capped { (run.interval * 2).min(T2) } else { run.interval * 2 };
                run.next = Some(now + run.interval);
            }
        }
        for key in done {
            self.entries.remove(&key);
        }
        out
    }

    /// Starts the timers of what was sent since: at `now`, the tick that sent them.
    pub(crate) fn start_new(&mut self, now: Instant, pbx: &Pbx) {
        for (key, e) in self.entries.iter_mut().filter(|(_, e)| e.run.is_none()) {
            e.run = Some(start(key, e, now, pbx));
        }
    }

    /// The earliest instant a tick has something to do (`None`: no timer at all).
    pub(crate) fn next_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        for e in self.entries.values() {
            let at = match &e.run {
                None => return Some(Instant::now()),
                Some(r) => r.next.map_or(r.deadline, |n| n.min(r.deadline)),
            };
            due = Some(due.map_or(at, |d| d.min(at)));
        }
        due
    }
}

/// A timer's first tick: its deadline and first retransmission from `now`.
fn start(key: &Key, e: &Entry, now: Instant, pbx: &Pbx) -> Run {
    let (deadline, cause) = match (key, &e.legs) {
        (Key::Ring { .. }, Some(legs)) => {
            let (limit, cause) = ring_limit(pbx, legs);
            (now + limit, cause)
        }
        _ => (now + TIMEOUT, ""),
    };
    Run { next: e.repeat.then_some(now + T1), interval: T1, deadline, cause }
}

/// How long the B leg of `legs` may ring and the cause it ends with then: the A leg's
/// `call_timeout` (≤ 0 or unset: 60 s) → NO_ANSWER, or the B leg's `leg_timeout` (> 0)
/// when shorter → ALLOTTED_TIMEOUT; the originate checks `call_timeout` first.
fn ring_limit(pbx: &Pbx, legs: &CallHandle) -> (Duration, &'static str) {
    let call = var_secs(pbx, &legs.a, "call_timeout");
    let call = if call <= 0 { RING_TIMEOUT } else { Duration::from_secs(call.unsigned_abs()) };
    let leg = legs.b.as_deref().map_or(0, |b| var_secs(pbx, b, "leg_timeout"));
    if leg > 0 && Duration::from_secs(leg.unsigned_abs()) < call {
        (Duration::from_secs(leg.unsigned_abs()), "ALLOTTED_TIMEOUT")
    } else {
        (call, "NO_ANSWER")
    }
}

/// The ticker of a server: ticks when something is due (at most [`TICK`] apart while
/// timers run) and at once when a new timer waits for its start.
pub(crate) async fn run(core: super::SipCore) {
    loop {
        let now = tokio::time::Instant::now();
        let next = core.tick(now.into_std());
        let until = next.map_or(now + Duration::from_secs(3600), tokio::time::Instant::from_std);
        tokio::select! {
            _ = tokio::time::sleep_until(until.min(now + TICK).max(now)) => {}
            _ = core.woken() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::pbx::{PbxConfig, Transport};
    use tokio::sync::mpsc;

    fn invite(method: &str, cseq: u32) -> Message {
        let mut m = Message::request(method, "sip:1001@127.0.0.1:5070");
        m.push("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKesm1;rport");
        m.push("Call-ID", "b-leg@127.0.0.1");
        m.push("CSeq", format!("{cseq} {method}"));
        m
    }

    fn response(req: &Message, status: u16) -> Message {
        let mut m = Message {
            start: StartLine::Response { status, reason: "x".into() },
            headers: Vec::new(),
            body: Vec::new(),
        };
        for h in ["Via", "Call-ID", "CSeq"] {
            m.push(h, req.header(h).unwrap());
        }
        m
    }

    fn stream() -> (Link, mpsc::Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel(16);
        let at = "127.0.0.1:5060".parse().unwrap();
        (Link::stream(Transport::Tcp, at, "127.0.0.1:40000".parse().unwrap(), tx), rx)
    }

    fn secs(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    // RFC 3261 §17.1.1.2: over a reliable transport Timer A is not set, Timer B is.
    #[test]
    fn an_invite_over_tcp_is_not_sent_again_but_still_times_out() {
        let pbx = Pbx::new(PbxConfig::default());
        let (link, mut rx) = stream();
        let mut t = Timers::default();
        let inv = invite("INVITE", 1);
        assert!(t.sent(&link, &inv, &inv.to_bytes()));
        let t0 = Instant::now();
        let mut resent = 0;
        assert!(t.tick(t0, &pbx, &mut resent).is_empty());
        for s in [0.5, 1.5, 3.5, 7.5, 15.5, 31.5] {
            assert!(t.tick(secs(t0, s), &pbx, &mut resent).is_empty());
        }
        assert_eq!(resent, 0);
        assert!(rx.try_recv().is_err(), "nothing sent again on TCP");
        let out = t.tick(secs(t0, 32.0), &pbx, &mut resent);
        assert_eq!(out, [Expired { what: Expiry::Invite, call_id: "b-leg@127.0.0.1".into(), cseq: 1 }]);
        assert_eq!(t.len(), 0);
    }

    // §17.1.2.2: a provisional to a non-INVITE moves Timer E to T2; the final stops it.
    #[tokio::test]
    async fn a_bye_over_udp_goes_to_t2_after_a_provisional_and_stops_at_the_final() {
        let pbx = Pbx::new(PbxConfig::default());
        let sock = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // try_send_to needs the runtime to have seen the socket writable once.
        sock.writable().await.unwrap();
        let link = Link::datagram(sock.clone(), sock.local_addr().unwrap(), peer.local_addr().unwrap());
        let mut t = Timers::default();
        let bye = invite("BYE", 2);
        t.sent(&link, &bye, &bye.to_bytes());
        let t0 = Instant::now();
        let mut n = 0;
        t.tick(t0, &pbx, &mut n);
        t.tick(secs(t0, 0.5), &pbx, &mut n);
        assert_eq!(n, 1);
        assert!(t.response(&response(&bye, 100)).is_none());
        // The next one was set for 1.5 s (interval 1 s) before the 100; after it, T2.
        t.tick(secs(t0, 1.5), &pbx, &mut n);
        t.tick(secs(t0, 5.0), &pbx, &mut n);
        assert_eq!(n, 2, "4 s after the one at 1.5 s, not 2 s");
        t.tick(secs(t0, 5.5), &pbx, &mut n);
        assert_eq!(n, 3);
        t.response(&response(&bye, 200));
        assert_eq!(t.len(), 0);
        assert!(t.tick(secs(t0, 40.0), &pbx, &mut n).is_empty(), "Timer F gone with the final");
    }

    #[test]
    fn a_full_table_sends_untimed_and_counts_it() {
        let (link, _rx) = stream();
        let mut t = Timers::with_cap(2);
        for i in 0..3 {
            let mut m = invite("INVITE", 1);
            m.set("Via", format!("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKesm{i}"));
            t.sent(&link, &m, &m.to_bytes());
        }
        assert_eq!((t.len(), t.refused), (2, 1));
    }
}
