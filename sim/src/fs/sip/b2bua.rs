//! Calls between real clients, relayed as FreeSWITCH relays them: a back-to-back user
//! agent with two dialogs per call, each with its own Call-ID and tags, the SDP passed
//! through untouched so the two clients send media to each other (FreeSWITCH's bypass
//! media). Every step drives the PBX model ([`Pbx::start_call`], `answer`, `reject`,
//! `cancel`, `hangup`, `uuid_hold`), so the two legs' ESL events, causes and counts are
//! the model's, from the tables in fixtures/sip/.
//!
//! * INVITE (new dialog): 407 unless `auth_calls` is off or it answers our challenge;
//!   100 Trying; `start_call(from, to)`. A refused call (callee not registered …) gets
//!   the status `hangup_cause_to_sip` gives its cause (USER_NOT_REGISTERED → 480).
//!   Otherwise an INVITE goes to the callee's newest binding: over the connection it
//!   registered on (TCP, WS, WSS), or by UDP to its Contact.
//! * The callee's 180/183 are relayed (183 with its SDP), its 200 answers both legs (ACK
//!   to the callee, 200 with the callee's SDP to the caller), a 4xx–6xx rejects the call
//!   (`sofia_glue_sip_cause_to_freeswitch` for the callee's leg, `hangup_cause_to_sip`
//!   for what the caller gets: 480 from the callee reaches the caller as 408).
//! * CANCEL from the caller: 200, 487 to its INVITE, CANCEL to the callee; BYE from
//!   either side: 200 there, BYE to the other; a re-INVITE from either side is relayed,
//!   and one whose SDP says `sendonly`/`inactive` holds the sender's leg
//!   (`uuid_hold`, CHANNEL_HOLD), `sendrecv` takes it off hold.
//!
//! Bounds: at most [`MAX_CALLS`] SIP calls at once (503 past it); a call's state is two
//! dialogs and the caller's INVITE. Not modelled: our own retransmissions (loopback does
//! not lose datagrams; a client's retransmissions are answered again), ring timeouts,
//! PRACK, forking.

use std::collections::HashMap;

use super::message::{self, Message, StartLine, Uri};
use super::reply::{phrase, response, to_tag, ALLOW};
use super::transport::Link;
use crate::fs::pbx::{CallHandle, Party, Pbx, Registration};

/// SIP calls relayed at once.
pub const MAX_CALLS: usize = 10_000;

/// What the core gives the call side: a way to reach devices, nothing more.
pub(crate) trait Net {
    /// Sends one message on a link.
    fn send(&self, link: &Link, msg: &Message);
    /// Where a registered device is reached: its connection, or UDP to its contact.
    fn reach(&self, reg: &Registration, via: &Link) -> Option<Link>;
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

struct Call {
    handle: CallHandle,
    a: Dialog,
    b: Dialog,
    /// The caller's INVITE: every response to it copies its headers.
    a_invite: Message,
    /// Our INVITE to the callee (its branch and CSeq for CANCEL and ACK).
    b_invite: Message,
    answered: bool,
    ended: bool,
    /// A re-INVITE from one side waiting for the other side's answer.
    reinvite: Option<(Side, Message)>,
}

/// Every call in progress.
#[derive(Default)]
pub struct Calls {
    calls: HashMap<u64, Call>,
    by_call_id: HashMap<String, (u64, Side)>,
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
            Side::B => &mut call.b,
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
            self.by_call_id.remove(&call.b.call_id);
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
            if self.calls.get(&id).is_some_and(|c| !c.answered) {
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
        let Ok(handle) = pbx.start_call(caller, &callee, name.filter(|n| !n.is_empty())) else {
            return net.send(link, &reply(404));
        };
        let callee_reg = pbx.binding(&callee);
        let target = callee_reg.as_ref().and_then(|r| net.reach(r, link).map(|l| (l, r.clone())));
        let Some((b_link, reg)) = target.filter(|_| handle.b.is_some()) else {
            let status = match &handle.b {
                // Registered but not a device we can reach (a modelled one): it is not there.
                Some(_) => {
                    let _ = pbx.reject(&handle, 480);
                    crate::fs::pbx::Cause::from_sip(480).sip_status_sent()
                }
                None => pbx.last_cause().map_or(480, |c| c.sip_status_sent()),
            };
            return net.send(link, &reply(status));
        };
        self.next += 1;
        let id = self.next;
        let host = b_link.local.to_string();
        let b_call_id = format!("{}@{host}", handle.b.clone().unwrap_or_default());
        let display = name.map(|n| format!("\"{n}\" ")).unwrap_or_default();
        let b = Dialog {
            link: b_link.clone(),
            call_id: b_call_id.clone(),
            local: format!("{display}<sip:{caller}@{}>", b_link.local.ip()),
            local_tag: format!("{:016x}", mix(id ^ 0xb1e9)),
            remote: format!("<sip:{callee}@{}>", b_link.local.ip()),
            remote_tag: None,
            target: message::addr_uri(&reg.contact).split(";fs_nat").next().unwrap_or_default().to_string(),
            cseq: 0,
        };
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
        self.by_call_id.insert(b_call_id, (id, Side::B));
        let call = Call {
            handle,
            a,
            b,
            a_invite: req.clone(),
            b_invite: Message::request("INVITE", ""),
            answered: false,
            ended: false,
            reinvite: None,
        };
        self.calls.insert(id, call);
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
        }
        net.send(&b_link, &invite);
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
                let Some(call) = self.calls.get(&id) else { return true };
                if call.answered || call.ended {
                    return true;
                }
                let terminated = response(&call.a_invite, &call.a.link, 487, phrase(487), agent);
                net.send(&call.a.link, &terminated);
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
                net.send(&call.b.link, &cancel);
                let _ = pbx.cancel(&call.handle);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.ended = true;
                }
            }
            "BYE" => {
                net.send(link, &ok(200));
                let Some(call) = self.calls.get(&id) else { return true };
                let handle = call.handle.clone();
                let was_answered = call.answered;
                let other = if side == Side::A { Side::B } else { Side::A };
                if let Some((l, bye)) = self.request(id, other, "BYE", agent) {
                    net.send(&l, &bye);
                }
                if was_answered {
                    let by = if side == Side::A { Party::Caller } else { Party::Callee };
                    let _ = pbx.hangup(&handle, by);
                }
                self.forget(id);
            }
            "INVITE" => {
                // A re-INVITE: relay it; its SDP may put the sender on hold.
                let Some(call) = self.calls.get(&id) else { return true };
                if !call.answered || call.reinvite.is_some() {
                    net.send(link, &ok(491));
                    return true;
                }
                let leg = if side == Side::A {
                    call.handle.a.clone()
                } else {
                    call.handle.b.clone().unwrap_or_default()
                };
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
            _ => {
                // INFO, UPDATE, MESSAGE in the dialog: accepted, not relayed.
                net.send(link, &ok(200));
            }
        }
        true
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
                    Side::B => call.b.link.clone(),
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
        let a_link = call.a.link.clone();
        let a_invite = call.a_invite.clone();
        let handle = call.handle.clone();
        let (answered, ended) = (call.answered, call.ended);
        if let Some(call) = self.calls.get_mut(&id) {
            if call.b.remote_tag.is_none() {
                call.b.remote_tag = resp.header("To").and_then(tag_of);
            }
            if let Some(t) = contact_uri(resp) {
                call.b.target = t;
            }
        }
        match status {
            180 | 183 if !answered && !ended => {
                let mut ring = response(&a_invite, &a_link, status, phrase(status), agent);
                ring.push("Contact", our_contact(&a_link));
                copy_body(resp, &mut ring);
                net.send(&a_link, &ring);
            }
            200..=299 if !answered => {
                self.ack(net, id, Side::B, resp, agent);
                if ended {
                    // Answered after our CANCEL crossed it: hang that leg up.
                    if let Some((l, bye)) = self.request(id, Side::B, "BYE", agent) {
                        net.send(&l, &bye);
                    }
                    self.forget(id);
                    return true;
                }
                let _ = pbx.answer(&handle);
                let mut ok = response(&a_invite, &a_link, 200, "OK", agent);
                ok.push("Contact", our_contact(&a_link));
                ok.push("Allow", ALLOW);
                copy_body(resp, &mut ok);
                net.send(&a_link, &ok);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.answered = true;
                }
            }
            300..=699 => {
                self.ack_failure(net, id, resp);
                if !ended && !answered {
                    let _ = pbx.reject(&handle, status);
                    let sent = crate::fs::pbx::Cause::from_sip(status).sip_status_sent();
                    net.send(&a_link, &response(&a_invite, &a_link, sent, phrase(sent), agent));
                }
                self.forget(id);
            }
            _ => {}
        }
        true
    }

    /// The ACK for a 2xx: a new transaction in the dialog (RFC 3261 §13.2.2.4).
    fn ack(&mut self, net: &dyn Net, id: u64, side: Side, resp: &Message, agent: &str) {
        let n = resp.cseq().map_or(1, |c| c.0);
        if let Some((l, mut ack)) = self.request(id, side, "ACK", agent) {
            ack.set("CSeq", format!("{n} ACK"));
            if let Some(call) = self.calls.get_mut(&id) {
                let d = if side == Side::A { &mut call.a } else { &mut call.b };
                d.cseq = d.cseq.saturating_sub(1).max(n);
            }
            net.send(&l, &ack);
        }
    }

    /// The ACK for a failure: the INVITE's transaction (RFC 3261 §17.1.1.3): its Via,
    /// Request-URI and CSeq number, the response's To.
    fn ack_failure(&mut self, net: &dyn Net, id: u64, resp: &Message) {
        let Some(call) = self.calls.get(&id) else { return };
        let inv = &call.b_invite;
        let mut ack = Message::request("ACK", inv.uri().unwrap_or_default());
        for name in ["Via", "Max-Forwards", "From", "Call-ID"] {
            if let Some(v) = inv.header(name) {
                ack.push(name, v);
            }
        }
        ack.push("To", resp.header("To").unwrap_or_default());
        ack.push("CSeq", format!("{} ACK", inv.cseq().map_or(1, |c| c.0)));
        net.send(&call.b.link, &ack);
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
}
