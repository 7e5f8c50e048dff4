//! Calls from real clients, routed by the PBX model's dialplan and relayed as FreeSWITCH
//! relays them: a back-to-back user agent with up to two dialogs per call, each with its
//! own Call-ID and tags, the SDP passed through untouched between two clients so they
//! send media to each other (FreeSWITCH's bypass media).
//!
//! The model decides, the B2BUA signals. An INVITE becomes the inbound leg mod_sofia
//! creates (sofia.c `sofia_handle_sip_i_invite`) and runs the XML dialplan
//! ([`Pbx::sip_invite`]: CS_ROUTING, hunt, CS_EXECUTE), so the shipped extensions
//! (`local_extension` 10[01][0-9], 9196 echo) and a scenario's own apply to real calls.
//! What the dialplan then does to a SIP leg comes back as [`SipNotice`]s, drained after
//! each message and by the SIP server's task when the model acts on its own (ESL
//! `uuid_kill`, `hupall`, `sched_hangup`, a transfer, the bridged peer's hangup):
//!
//! * `Answered`: the dialplan answered the caller (`answer`, `echo`, `park` after
//!   `answer`, a bridge to a modelled leg that answers at once): 200 OK. The mock has no
//!   media engine, so the answer is the caller's own SDP mirrored ([`mirror_sdp`]):
//!   an RTP softphone then hears itself, which is what 9196 echo should sound like.
//! * `Dial`: a `bridge` reached a device that registered over SIP: an INVITE goes to its
//!   newest binding, over the connection it registered on (TCP, WS, WSS) or by UDP to
//!   its Contact, with the caller's SDP. Its 180/183 ring both legs and are relayed (183
//!   with its SDP); its 200 answers the B leg, brings the bridge up and reaches the
//!   caller with the callee's SDP; a 4xx–6xx fails the B leg with
//!   `sofia_glue_sip_cause_to_freeswitch`'s cause and the bridge application's failure
//!   handling runs (`continue_on_fail`, then the dialplan goes on or the A leg hangs up).
//! * `Ended`: BYE to an answered client, CANCEL to a ringing callee, and to a ringing
//!   caller the final status mod_sofia's `sofia_on_hangup` sends: `hangup_cause_to_sip`
//!   (fixtures/sip/: USER_BUSY 486, NO_ROUTE_DESTINATION 404, unlisted causes 480), or the
//!   callee's own status when the caller's bridge failed on it
//!   (`last_bridge_proto_specific_hangup_cause`).
//!
//! From the clients: 407 on an INVITE unless `auth_calls` is off or it answers our
//! challenge, then 100 Trying; CANCEL from the caller: 200, 487, the model cancels
//! (the ringing callee gets its CANCEL from the `Ended` notice); BYE from either side:
//! 200, the model hangs that leg up and the other side hears of it as `Ended`; a
//! re-INVITE is relayed to the other client (answered here with the mirror when the
//! dialplan holds the call alone), and one whose SDP says `sendonly`/`inactive` holds
//! the sender's leg (`uuid_hold`, CHANNEL_HOLD), `sendrecv` takes it off hold.
//!
//! Timers (`super::timers`, acted on in [`Calls::expired`]): our UDP requests and 2xx are
//! sent again there; a callee that never answers our INVITE at all fails as nta's own 408
//! makes it (`device_failed(b, 408)`: RECOVERY_ON_TIMER_EXPIRE); one that rings past the
//! A leg's `call_timeout` (60 s without one) is killed NO_ANSWER (a shorter `leg_timeout`
//! on it: ALLOTTED_TIMEOUT), so it gets CANCEL and the dialplan decides the caller's
//! fate as for any failed bridge; a side that never ACKs our 200 gets a BYE with
//! `Reason: SIP;cause=408;text="ACK Timeout"` after 64·T1 and the call ends.
//!
//! Bounds: at most [`MAX_CALLS`] SIP calls at once (503 past it); a call's state is two
//! dialogs and the caller's INVITE; one drain runs at most [`MAX_DRAIN_ROUNDS`] rounds
//! (a dialplan that fails over to an unreachable device forever cannot spin it), the
//! rest waits for the next wakeup. Not modelled: forking (a bridge group naming several
//! real devices rings the first), the callee's SDP after the dialplan already answered
//! the caller (no re-INVITE is sent), PRACK, a bridge to a device from a leg no SIP
//! client is on (a scenario or `originate` leg: the device is modelled as answering at
//! once).

use std::collections::HashMap;

use super::message::{self, Message, StartLine, Uri};
use super::reply::{phrase, response, to_tag, ALLOW};
use super::timers::{Expired, Expiry};
use super::transport::Link;
use crate::fs::pbx::{CallHandle, Pbx, Registration, SipNotice};

/// SIP calls relayed at once.
pub const MAX_CALLS: usize = 10_000;

/// Rounds of notices one drain handles (each round can queue the next: a failed device
/// leg runs the dialplan on, which may dial again).
pub const MAX_DRAIN_ROUNDS: usize = 16;

/// What the core gives the call side: a way to reach devices, nothing more.
pub(crate) trait Net {
    /// Sends one message on a link.
    fn send(&self, link: &Link, msg: &Message);
    /// Where a registered device is reached: its connection, or UDP to its contact.
    fn reach(&self, reg: &Registration, via: &Link) -> Option<Link>;
    /// The B leg of `call` rings from now on: its originate's timeout starts.
    fn ring(&self, b_call_id: &str, link: &Link, call: &CallHandle);
}

/// One dialog of a call, as we hold it.
#[derive(Clone, Debug)]
struct Dialog {
    link: Link,
    call_id: String,
    /// Our From/To value without the tag, and our tag.
    local: String,
    local_tag: String,
    /// The other side's From/To value without the tag, and its tag (once known).
    remote: String,
    remote_tag: Option<String>,
    /// Where in-dialog requests go (the other side's Contact URI).
    target: String,
    /// Our next CSeq in this dialog.
    cseq: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Where one side's INVITE transaction and dialog stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegState {
    /// The INVITE has no final response yet.
    Ringing,
    /// Answered, not ended.
    Answered,
    /// We sent CANCEL; the callee's final response is still due.
    Cancelling,
    /// Ended, or never was.
    Gone,
}

struct Call {
    /// The model's legs: the caller's, and the device leg its bridge rings (once any).
    handle: CallHandle,
    a: Dialog,
    a_state: LegState,
    /// The caller's INVITE: every response to it copies its headers.
    a_invite: Message,
    b: Option<Dialog>,
    b_state: LegState,
    /// Our INVITE to the callee (its branch and CSeq for CANCEL and ACK).
    b_invite: Message,
    /// A re-INVITE from one side waiting for the other side's answer.
    reinvite: Option<(Side, Message)>,
}

/// Every call in progress.
#[derive(Default)]
pub struct Calls {
    calls: HashMap<u64, Call>,
    by_call_id: HashMap<String, (u64, Side)>,
    /// The model's leg UUIDs of each call.
    by_leg: HashMap<String, u64>,
    next: u64,
    branches: u64,
}

/// The value of a From/To header without its tag parameter.
pub(super) fn without_tag(value: &str) -> String {
    let (main, params) = message::params(value);
    let mut out = main.to_string();
    for (n, v) in params.into_iter().filter(|(n, _)| !n.eq_ignore_ascii_case("tag")) {
        match v {
            Some(v) => out.push_str(&format!(";{n}={v}")),
            None => out.push_str(&format!(";{n}")),
        }
    }
    out
}

fn tag_of(value: &str) -> Option<String> {
    message::param(value, "tag").flatten().map(str::to_string)
}

/// Whether an SDP puts its sender on hold (RFC 3264 §8.4: `sendonly` or `inactive`, or
/// the old `c=IN IP4 0.0.0.0`); `None` when it says nothing either way.
pub fn sdp_hold(body: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(body).ok()?;
    let mut hold = None;
    for line in text.lines().map(str::trim) {
        match line {
            "a=sendonly" | "a=inactive" | "c=IN IP4 0.0.0.0" => hold = Some(true),
            "a=sendrecv" | "a=recvonly" if hold.is_none() => hold = Some(false),
            _ => {}
        }
    }
    hold
}

/// Our answer when the dialplan answers a caller itself: the mock has no media engine,
/// so the caller's offer comes back as the answer (RFC 3264 §6): our own `o=` line, the
/// directions turned around (`sendonly` ⇄ `recvonly`; `sendrecv` and `inactive` stay),
/// and the DTLS role chosen (RFC 5763 §5: `actpass` → `active`, `active` ⇄ `passive`).
/// Everything else (addresses, ports, codecs, ICE) is the caller's own, so its RTP comes
/// back to it: an RTP softphone hears itself, as on 9196 echo; a browser's DTLS
/// handshake with its own fingerprint does not complete (signalling does).
pub fn mirror_sdp(offer: &[u8], session: u64) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(offer) else { return offer.to_vec() };
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let end = if line.ends_with("\r\n") {
            "\r\n"
        } else if line.ends_with('\n') {
            "\n"
        } else {
            ""
        };
        let body = &line[..line.len() - end.len()];
        let swapped = match body {
            "a=sendonly" => "a=recvonly".to_string(),
            "a=recvonly" => "a=sendonly".to_string(),
            "a=setup:actpass" | "a=setup:passive" => "a=setup:active".to_string(),
            "a=setup:active" => "a=setup:passive".to_string(),
            o if o.starts_with("o=") => {
                // o=<user> <sess-id> <sess-version> <nettype> <addrtype> <address>
                let parts: Vec<&str> = o[2..].split_whitespace().collect();
                match parts.as_slice() {
                    [_, _, _, net, addr_type, addr] => {
                        format!("o=FreeSWITCH {session} {session} {net} {addr_type} {addr}")
                    }
                    _ => o.to_string(),
                }
            }
            other => other.to_string(),
        };
        out.push_str(&swapped);
        out.push_str(end);
    }
    out.into_bytes()
}

fn contact_uri(msg: &Message) -> Option<String> {
    msg.values("Contact").next().map(|c| message::addr_uri(c).to_string())
}

/// Our Contact on a link: `<sip:mod_sofia@host:port;transport=…>`.
fn our_contact(link: &Link) -> String {
    format!("<sip:mod_sofia@{};transport={}>", link.local, link.transport.as_str())
}

impl Calls {
    /// Calls in progress.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is in progress.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    fn branch(&mut self) -> String {
        self.branches += 1;
        format!("z9hG4bKesm{:x}", self.branches)
    }

    /// Which call and side a message's Call-ID belongs to.
    fn find(&self, msg: &Message) -> Option<(u64, Side)> {
        self.by_call_id.get(msg.header("Call-ID")?).copied()
    }

    /// An in-dialog request from us to `side` of call `id`.
    fn request(&mut self, id: u64, side: Side, method: &str, agent: &str) -> Option<(Link, Message)> {
        let branch = self.branch();
        let call = self.calls.get_mut(&id)?;
        let d = match side {
            Side::A => &mut call.a,
            Side::B => call.b.as_mut()?,
        };
        d.cseq += 1;
        let mut m = Message::request(method, &d.target);
        m.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                d.link.transport.as_str().to_ascii_uppercase(),
                d.link.local
            ),
        );
        m.push("Max-Forwards", "70");
        m.push("From", format!("{};tag={}", d.local, d.local_tag));
        let to = match &d.remote_tag {
            Some(t) => format!("{};tag={t}", d.remote),
            None => d.remote.clone(),
        };
        m.push("To", to);
        m.push("Call-ID", d.call_id.clone());
        m.push("CSeq", format!("{} {method}", d.cseq));
        m.push("Contact", our_contact(&d.link));
        m.push("User-Agent", agent);
        Some((d.link.clone(), m))
    }

    fn forget(&mut self, id: u64) {
        if let Some(call) = self.calls.remove(&id) {
            self.by_call_id.remove(&call.a.call_id);
            if let Some(b) = &call.b {
                self.by_call_id.remove(&b.call_id);
            }
            self.by_leg.remove(&call.handle.a);
            if let Some(b) = &call.handle.b {
                self.by_leg.remove(b);
            }
        }
    }

    /// A call whose two sides are both done is forgotten.
    fn settle(&mut self, id: u64) {
        if self.calls.get(&id).is_some_and(|c| c.a_state == LegState::Gone && c.b_state == LegState::Gone) {
            self.forget(id);
        }
    }

    /// A new INVITE from `caller` (authenticated as `caller` when auth-calls is on).
    pub(crate) fn invite(
        &mut self,
        net: &dyn Net,
        pbx: &Pbx,
        link: &Link,
        req: &Message,
        caller: &str,
        agent: &str,
    ) {
        let reply = |status: u16| response(req, link, status, phrase(status), agent);
        if let Some((id, Side::A)) = self.find(req) {
            // A retransmission of an INVITE we are working on.
            if self.calls.get(&id).is_some_and(|c| c.a_state == LegState::Ringing) {
                net.send(link, &reply(100));
            }
            return;
        }
        let to = req.uri().and_then(Uri::parse).and_then(|u| u.user.map(str::to_string));
        let Some(callee) = to else { return net.send(link, &reply(404)) };
        if self.calls.len() >= MAX_CALLS {
            return net.send(link, &reply(503));
        }
        net.send(link, &reply(100));
        let name =
            req.header("From").and_then(|f| f.split_once('<')).map(|(d, _)| d.trim().trim_matches('"'));
        let Ok(a_uuid) = pbx.sip_invite(caller, &callee, name.filter(|n| !n.is_empty())) else {
            return net.send(link, &reply(404));
        };
        self.next += 1;
        let id = self.next;
        let a = Dialog {
            link: link.clone(),
            call_id: req.header("Call-ID").unwrap_or_default().to_string(),
            local: without_tag(req.header("To").unwrap_or_default()),
            local_tag: to_tag(req),
            remote: without_tag(req.header("From").unwrap_or_default()),
            remote_tag: req.header("From").and_then(tag_of),
            target: contact_uri(req).unwrap_or_else(|| format!("sip:{caller}@{}", link.peer)),
            cseq: 0,
        };
        self.by_call_id.insert(a.call_id.clone(), (id, Side::A));
        self.by_leg.insert(a_uuid.clone(), id);
        let call = Call {
            handle: CallHandle { a: a_uuid, b: None },
            a,
            a_state: LegState::Ringing,
            a_invite: req.clone(),
            b: None,
            b_state: LegState::Gone,
            b_invite: Message::request("INVITE", ""),
            reinvite: None,
        };
        self.calls.insert(id, call);
        self.drain(net, pbx, agent);
    }

    /// Acts on what the model queued for SIP legs (see the module docs), in order.
    pub(crate) fn drain(&mut self, net: &dyn Net, pbx: &Pbx, agent: &str) {
        for _ in 0..MAX_DRAIN_ROUNDS {
            let notices = pbx.take_sip_notices();
            if notices.is_empty() {
                return;
            }
            for n in notices {
                self.notice(net, pbx, n, agent);
            }
        }
    }

    fn notice(&mut self, net: &dyn Net, pbx: &Pbx, notice: SipNotice, agent: &str) {
        match notice {
            SipNotice::Answered { uuid } => {
                let Some(&id) = self.by_leg.get(&uuid) else { return };
                let Some(call) = self.calls.get_mut(&id) else { return };
                if call.handle.a != uuid || call.a_state != LegState::Ringing {
                    return;
                }
                call.a_state = LegState::Answered;
                let mut ok = response(&call.a_invite, &call.a.link, 200, "OK", agent);
                ok.push("Contact", our_contact(&call.a.link));
                ok.push("Allow", ALLOW);
                if !call.a_invite.body.is_empty() {
                    ok.push(
                        "Content-Type",
                        call.a_invite.header("Content-Type").unwrap_or("application/sdp"),
                    );
                    ok.body = mirror_sdp(&call.a_invite.body, mix(id ^ 0x5d9));
                }
                net.send(&call.a.link, &ok);
            }
            SipNotice::Dial { a, b, reg } => self.dial(net, pbx, &a, &b, &reg, agent),
            SipNotice::Ended { uuid, sip_status, .. } => {
                let Some(id) = self.by_leg.remove(&uuid) else { return };
                let Some(call) = self.calls.get_mut(&id) else { return };
                if call.handle.a == uuid {
                    match std::mem::replace(&mut call.a_state, LegState::Gone) {
                        LegState::Ringing => {
                            let refuse =
                                response(&call.a_invite, &call.a.link, sip_status, phrase(sip_status), agent);
                            net.send(&call.a.link, &refuse);
                        }
                        LegState::Answered => {
                            if let Some((l, bye)) = self.request(id, Side::A, "BYE", agent) {
                                net.send(&l, &bye);
                            }
                        }
                        LegState::Cancelling | LegState::Gone => {}
                    }
                } else if call.handle.b.as_deref() == Some(uuid.as_str()) {
                    match call.b_state {
                        LegState::Ringing => {
                            call.b_state = LegState::Cancelling;
                            self.cancel_b(net, id);
                        }
                        LegState::Answered => {
                            call.b_state = LegState::Gone;
                            if let Some((l, bye)) = self.request(id, Side::B, "BYE", agent) {
                                net.send(&l, &bye);
                            }
                        }
                        LegState::Cancelling | LegState::Gone => {}
                    }
                }
                self.settle(id);
            }
        }
    }

    /// A bridge rings a real device: our INVITE to it, a new dialog with the caller's SDP.
    fn dial(
        &mut self,
        net: &dyn Net,
        pbx: &Pbx,
        a_uuid: &str,
        b_uuid: &str,
        reg: &Registration,
        agent: &str,
    ) {
        let Some(&id) = self.by_leg.get(a_uuid) else {
            // The caller is no SIP call of ours any more: nobody to relay for.
            return pbx.device_failed(b_uuid, 480);
        };
        let Some(call) = self.calls.get(&id) else { return };
        let Some(b_link) = net.reach(reg, &call.a.link) else {
            // Registered, but its connection is gone: it is not there (480).
            return pbx.device_failed(b_uuid, 480);
        };
        let req = call.a_invite.clone();
        let old = call.b.as_ref().map(|d| d.call_id.clone());
        let caller = call.a.remote.clone();
        if let Some(old) = old {
            self.by_call_id.remove(&old);
        }
        let host = b_link.local.to_string();
        let b_call_id = format!("{b_uuid}@{host}");
        let name =
            req.header("From").and_then(|f| f.split_once('<')).map(|(d, _)| d.trim().trim_matches('"'));
        let display = name.filter(|n| !n.is_empty()).map(|n| format!("\"{n}\" ")).unwrap_or_default();
        let user = message::addr_uri(&caller).strip_prefix("sip:").and_then(|u| u.split('@').next());
        let user = user.unwrap_or_default().to_string();
        let b = Dialog {
            link: b_link.clone(),
            call_id: b_call_id.clone(),
            local: format!("{display}<sip:{user}@{}>", b_link.local.ip()),
            local_tag: format!("{:016x}", mix(id ^ 0xb1e9 ^ self.branches)),
            remote: format!("<sip:{}@{}>", reg.user, b_link.local.ip()),
            remote_tag: None,
            target: message::addr_uri(&reg.contact).split(";fs_nat").next().unwrap_or_default().to_string(),
            cseq: 0,
        };
        self.by_call_id.insert(b_call_id, (id, Side::B));
        self.by_leg.insert(b_uuid.to_string(), id);
        if let Some(call) = self.calls.get_mut(&id) {
            call.handle.b = Some(b_uuid.to_string());
            call.b = Some(b);
            call.b_state = LegState::Ringing;
        }
        let Some((b_link, mut invite)) = self.request(id, Side::B, "INVITE", agent) else { return };
        let hops = req.header("Max-Forwards").and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(70);
        invite.set("Max-Forwards", hops.saturating_sub(1).to_string());
        invite.push("Allow", ALLOW);
        if let Some(ct) = req.header("Content-Type") {
            invite.push("Content-Type", ct);
        }
        invite.body = req.body.clone();
        if let Some(call) = self.calls.get_mut(&id) {
            call.b_invite = invite.clone();
            if let Some(b) = &call.b {
                net.ring(&b.call_id, &b_link, &call.handle);
            }
        }
        net.send(&b_link, &invite);
    }

    /// CANCEL of our INVITE to the callee (RFC 3261 §9.1: its Request-URI, Via and CSeq
    /// number).
    fn cancel_b(&self, net: &dyn Net, id: u64) {
        let Some(call) = self.calls.get(&id) else { return };
        let Some(b) = &call.b else { return };
        let mut cancel = call.b_invite.clone();
        cancel.start = StartLine::Request {
            method: "CANCEL".into(),
            uri: call.b_invite.uri().unwrap_or_default().into(),
        };
        let n = call.b_invite.cseq().map_or(1, |c| c.0);
        cancel.set("CSeq", format!("{n} CANCEL"));
        cancel.remove("Contact");
        cancel.remove("Content-Type");
        cancel.remove("Allow");
        cancel.body.clear();
        net.send(&b.link, &cancel);
    }

    /// A request inside a known call (CANCEL, BYE, ACK, re-INVITE, INFO, UPDATE…);
    /// `false` when the Call-ID is not one of ours.
    pub(crate) fn in_dialog(
        &mut self,
        net: &dyn Net,
        pbx: &Pbx,
        link: &Link,
        req: &Message,
        agent: &str,
    ) -> bool {
        let Some((id, side)) = self.find(req) else { return false };
        let method = req.method().unwrap_or_default().to_string();
        let ok = |status: u16| response(req, link, status, phrase(status), agent);
        match method.as_str() {
            "ACK" => {}
            "CANCEL" if side == Side::A => {
                net.send(link, &ok(200));
                let Some(call) = self.calls.get_mut(&id) else { return true };
                if call.a_state != LegState::Ringing {
                    return true;
                }
                call.a_state = LegState::Gone;
                let terminated = response(&call.a_invite, &call.a.link, 487, phrase(487), agent);
                net.send(&call.a.link, &terminated);
                let a = call.handle.a.clone();
                pbx.sip_cancel(&a);
            }
            "BYE" => {
                net.send(link, &ok(200));
                let Some(call) = self.calls.get_mut(&id) else { return true };
                let leg = match side {
                    Side::A => {
                        call.a_state = LegState::Gone;
                        call.handle.a.clone()
                    }
                    Side::B => {
                        call.b_state = LegState::Gone;
                        call.handle.b.clone().unwrap_or_default()
                    }
                };
                pbx.sip_bye(&leg);
            }
            "INVITE" => self.reinvite(net, pbx, link, req, id, side, agent),
            _ => {
                // INFO, UPDATE, MESSAGE in the dialog: accepted, not relayed.
                net.send(link, &ok(200));
            }
        }
        self.drain(net, pbx, agent);
        self.settle(id);
        true
    }

    /// A re-INVITE: relayed to the other client, or answered here (mirrored) when the
    /// dialplan holds the call alone; its SDP may put the sender on hold.
    #[allow(clippy::too_many_arguments)]
    fn reinvite(
        &mut self,
        net: &dyn Net,
        pbx: &Pbx,
        link: &Link,
        req: &Message,
        id: u64,
        side: Side,
        agent: &str,
    ) {
        let ok = |status: u16| response(req, link, status, phrase(status), agent);
        let Some(call) = self.calls.get(&id) else { return };
        let mine = if side == Side::A { call.a_state } else { call.b_state };
        if mine != LegState::Answered || call.reinvite.is_some() {
            return net.send(link, &ok(491));
        }
        let leg =
            if side == Side::A { call.handle.a.clone() } else { call.handle.b.clone().unwrap_or_default() };
        match sdp_hold(&req.body) {
            Some(true) => {
                let _ = pbx.api("uuid_hold", &leg);
            }
            Some(false) => {
                let _ = pbx.api("uuid_hold", &format!("off {leg}"));
            }
            None => {}
        }
        net.send(link, &ok(100));
        let other = if side == Side::A { call.b_state } else { call.a_state };
        if other != LegState::Answered {
            let mut answer = ok(200);
            answer.push("Contact", our_contact(link));
            if !req.body.is_empty() {
                answer.push("Content-Type", req.header("Content-Type").unwrap_or("application/sdp"));
                answer.body = mirror_sdp(&req.body, mix(id ^ 0x5d9));
            }
            return net.send(link, &answer);
        }
        let other = if side == Side::A { Side::B } else { Side::A };
        if let Some((l, mut invite)) = self.request(id, other, "INVITE", agent) {
            if let Some(ct) = req.header("Content-Type") {
                invite.push("Content-Type", ct);
            }
            invite.body = req.body.clone();
            if let Some(call) = self.calls.get_mut(&id) {
                call.reinvite = Some((side, req.clone()));
            }
            net.send(&l, &invite);
        }
    }

    /// A response; `false` when it is not for one of our requests.
    pub(crate) fn response(&mut self, net: &dyn Net, pbx: &Pbx, resp: &Message, agent: &str) -> bool {
        let Some((id, side)) = self.find(resp) else { return false };
        let status = resp.status().unwrap_or(0);
        let method = resp.cseq().map(|c| c.1.to_string()).unwrap_or_default();
        if method != "INVITE" || status < 101 {
            return true;
        }
        let Some(call) = self.calls.get(&id) else { return true };
        if let Some((from, re)) = call.reinvite.clone().filter(|(from, _)| *from != side) {
            // The answer to a relayed re-INVITE: ACK it here, answer the sender.
            if status >= 200 {
                let sender = match from {
                    Side::A => call.a.link.clone(),
                    Side::B => call.b.as_ref().map_or_else(|| call.a.link.clone(), |b| b.link.clone()),
                };
                self.ack(net, id, side, resp, agent);
                let mut answer = response(&re, &sender, status, resp.start_reason(), agent);
                if status < 300 {
                    answer.push("Contact", our_contact(&sender));
                    copy_body(resp, &mut answer);
                }
                net.send(&sender, &answer);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.reinvite = None;
                }
            }
            return true;
        }
        if side != Side::B {
            return true;
        }
        let Some(b_uuid) = call.handle.b.clone() else { return true };
        let (a_state, b_state) = (call.a_state, call.b_state);
        if let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.as_mut()) {
            if b.remote_tag.is_none() {
                b.remote_tag = resp.header("To").and_then(tag_of);
            }
            if let Some(t) = contact_uri(resp) {
                b.target = t;
            }
        }
        match status {
            180 | 183 if b_state == LegState::Ringing => {
                pbx.device_ringing(&b_uuid);
                if a_state == LegState::Ringing {
                    let Some(call) = self.calls.get(&id) else { return true };
                    let mut ring = response(&call.a_invite, &call.a.link, status, phrase(status), agent);
                    ring.push("Contact", our_contact(&call.a.link));
                    copy_body(resp, &mut ring);
                    net.send(&call.a.link, &ring);
                }
            }
            200..=299 => {
                self.ack(net, id, Side::B, resp, agent);
                match b_state {
                    LegState::Ringing if pbx.device_answered(&b_uuid) => {
                        let Some(call) = self.calls.get_mut(&id) else { return true };
                        call.b_state = LegState::Answered;
                        if call.a_state == LegState::Ringing {
                            call.a_state = LegState::Answered;
                            let mut ok = response(&call.a_invite, &call.a.link, 200, "OK", agent);
                            ok.push("Contact", our_contact(&call.a.link));
                            ok.push("Allow", ALLOW);
                            copy_body(resp, &mut ok);
                            net.send(&call.a.link, &ok);
                        }
                    }
                    // A 200 retransmitted: its ACK again (done above).
                    LegState::Answered => {}
                    _ => {
                        // Answered after our CANCEL crossed it, or for a leg the model
                        // ended meanwhile: hang that leg up.
                        if let Some((l, bye)) = self.request(id, Side::B, "BYE", agent) {
                            net.send(&l, &bye);
                        }
                        if let Some(call) = self.calls.get_mut(&id) {
                            call.b_state = LegState::Gone;
                        }
                    }
                }
            }
            300..=699 => {
                self.ack_failure(net, id, resp);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.b_state = LegState::Gone;
                }
                if b_state == LegState::Ringing {
                    pbx.device_failed(&b_uuid, status);
                }
            }
            _ => {}
        }
        self.drain(net, pbx, agent);
        self.settle(id);
        true
    }

    /// A timer of ours ran out (`super::timers`): the model hears what sofia and the
    /// originate would make of it.
    pub(crate) fn expired(&mut self, net: &dyn Net, pbx: &Pbx, e: &Expired, agent: &str) {
        let Some(&(id, side)) = self.by_call_id.get(&e.call_id) else { return };
        let Some(call) = self.calls.get_mut(&id) else { return };
        let b_uuid = call.handle.b.clone().unwrap_or_default();
        let first_invite = side == Side::B && call.b_invite.cseq().is_some_and(|c| c.0 == e.cseq);
        match e.what {
            Expiry::Invite if first_invite => {
                // Timer B: nta answers our INVITE itself with 408 (nta.c outgoing_timeout),
                // which sofia treats as the callee's 408; there is nothing to ACK.
                if std::mem::replace(&mut call.b_state, LegState::Gone) == LegState::Ringing {
                    pbx.device_failed(&b_uuid, 408);
                }
            }
            Expiry::Invite => {
                // A relayed re-INVITE nobody answered: its sender gets the 408.
                if let Some((from, re)) = call.reinvite.take().filter(|(from, _)| *from != side) {
                    let sender = match (from, &call.b) {
                        (Side::B, Some(b)) => b.link.clone(),
                        _ => call.a.link.clone(),
                    };
                    net.send(&sender, &response(&re, &sender, 408, phrase(408), agent));
                }
            }
            Expiry::Ring(cause) => {
                // switch_ivr_originate gives up on the peer; the model fails the bridge
                // (the callee's CANCEL comes back as its `Ended` notice).
                if side == Side::B && call.b_state == LegState::Ringing {
                    let _ = pbx.api("uuid_kill", &format!("{b_uuid} {cause}"));
                }
            }
            Expiry::Ack => {
                // No ACK for our 2xx (nua_session.c process_timeout): a BYE with its
                // Reason to that side, and the leg hung up (the bridge ends the other).
                let state = if side == Side::A { &mut call.a_state } else { &mut call.b_state };
                if *state != LegState::Answered {
                    return;
                }
                *state = LegState::Gone;
                let leg = if side == Side::A { call.handle.a.clone() } else { b_uuid };
                if let Some((l, mut bye)) = self.request(id, side, "BYE", agent) {
                    bye.push("Reason", "SIP;cause=408;text=\"ACK Timeout\"");
                    net.send(&l, &bye);
                }
                let _ = pbx.api("uuid_kill", &format!("{leg} NORMAL_CLEARING"));
            }
        }
        self.drain(net, pbx, agent);
        self.settle(id);
    }

    /// The ACK for a 2xx: a new transaction in the dialog (RFC 3261 §13.2.2.4).
    fn ack(&mut self, net: &dyn Net, id: u64, side: Side, resp: &Message, agent: &str) {
        let n = resp.cseq().map_or(1, |c| c.0);
        if let Some((l, mut ack)) = self.request(id, side, "ACK", agent) {
            ack.set("CSeq", format!("{n} ACK"));
            if let Some(call) = self.calls.get_mut(&id) {
                let d = if side == Side::A { Some(&mut call.a) } else { call.b.as_mut() };
                if let Some(d) = d {
                    d.cseq = d.cseq.saturating_sub(1).max(n);
                }
            }
            net.send(&l, &ack);
        }
    }

    /// The ACK for a failure: the INVITE's transaction (RFC 3261 §17.1.1.3): its Via,
    /// Request-URI and CSeq number, the response's To.
    fn ack_failure(&mut self, net: &dyn Net, id: u64, resp: &Message) {
        let Some(call) = self.calls.get(&id) else { return };
        let Some(b) = &call.b else { return };
        let inv = &call.b_invite;
        let mut ack = Message::request("ACK", inv.uri().unwrap_or_default());
        for name in ["Via", "Max-Forwards", "From", "Call-ID"] {
            if let Some(v) = inv.header(name) {
                ack.push(name, v);
            }
        }
        ack.push("To", resp.header("To").unwrap_or_default());
        ack.push("CSeq", format!("{} ACK", inv.cseq().map_or(1, |c| c.0)));
        net.send(&b.link, &ack);
    }
}

fn copy_body(from: &Message, to: &mut Message) {
    if !from.body.is_empty() {
        if let Some(ct) = from.header("Content-Type") {
            to.push("Content-Type", ct);
        }
        to.body = from.body.clone();
    }
}

/// SplitMix64 step, for tags.
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^ (z >> 31)
}

trait Reason {
    fn start_reason(&self) -> &str;
}

impl Reason for Message {
    fn start_reason(&self) -> &str {
        match &self.start {
            StartLine::Response { reason, .. } => reason,
            StartLine::Request { .. } => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_is_read_from_the_sdp() {
        assert_eq!(
            sdp_hold(b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"),
            Some(true)
        );
        assert_eq!(sdp_hold(b"v=0\r\na=inactive\r\n"), Some(true));
        assert_eq!(sdp_hold(b"v=0\r\nc=IN IP4 0.0.0.0\r\na=sendrecv\r\n"), Some(true));
        assert_eq!(sdp_hold(b"v=0\r\na=sendrecv\r\n"), Some(false));
        assert_eq!(sdp_hold(b"v=0\r\n"), None);
    }

    #[test]
    fn tags_come_off_and_stay_off() {
        assert_eq!(without_tag("\"A\" <sip:a@h>;tag=12;x=1"), "\"A\" <sip:a@h>;x=1");
        assert_eq!(tag_of("<sip:a@h>;tag=12"), Some("12".into()));
        assert_eq!(tag_of("<sip:a@h;tag=no>"), None);
    }

    // RFC 3264 §6.1 answer directions and RFC 5763 §5 DTLS roles; the rest is the offer's.
    #[test]
    fn the_mirror_turns_directions_and_roles_around() {
        let offer = "v=0\r\no=alice 7 8 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                     m=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=setup:actpass\r\n\
                     m=video 4002 RTP/AVP 96\r\na=recvonly\r\na=setup:active\r\n";
        let answer = String::from_utf8(mirror_sdp(offer.as_bytes(), 42)).unwrap();
        assert_eq!(
            answer,
            "v=0\r\no=FreeSWITCH 42 42 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 0\r\na=recvonly\r\na=setup:active\r\n\
             m=video 4002 RTP/AVP 96\r\na=sendonly\r\na=setup:passive\r\n"
        );
        assert_eq!(mirror_sdp(b"a=sendrecv\na=inactive", 1), b"a=sendrecv\na=inactive");
    }
}
