//! MESSAGE outside a dialog (RFC 3428), delivered as a vanilla FreeSWITCH delivers chat:
//! sofia_presence.c `sofia_presence_handle_sip_i_message` turns it into a MESSAGE event
//! and hands it to `switch_core_chat_send("sip", …)` (switch_loadable_module.c), whose
//! `do_chat_send` calls the `sip` chat interface, `sofia_presence_chat_send`, then fires
//! the event. The vanilla modules.conf.xml leaves mod_sms (the chatplan) commented out,
//! so no GLOBAL_ interface runs first and nothing replies.
//!
//! * With `auth-messages` (vanilla's default) a MESSAGE without credentials gets the 407
//!   challenge calls get (`sofia_reg_handle_register` with REG_INVITE), and one whose
//!   credentials fail (wrong, stale, unknown user) gets 401 Unauthorized, no new challenge.
//! * The sender always gets 202 Accepted (200 only with `sip-messages-respond-200-ok`,
//!   off in vanilla), whether or not anyone receives it: delivery is queued, not waited
//!   for. Except: a MESSAGE carrying our own `X-FS-Sending-Message` (one we sent that came
//!   back) is 503, and an `*composing*` Content-Type (RFC 3994) is 202 with nothing else.
//! * The user is the To header's, not the Request-URI's; `proto+user+host` names another
//!   chat protocol, which vanilla does not load: no delivery, the event still fires.
//! * Delivery: every binding of user@host (`sofia_reg_find_reg_url_multi`) gets a new
//!   MESSAGE, each with its own Call-ID (a fresh UUID), our From tag and CSeq, the
//!   sender's From (sofia passes the sender's whole From, tag included, to `nua_message`;
//!   a tag of our own keeps the relay a transaction of ours), To the binding's contact, the Content-Type's type/subtype (sofia-sip's
//!   `c_type`: parameters dropped), the body as is, `X-FS-Sending-Message: <Core-UUID>`,
//!   and the sender's `X-`/`P-` headers (the event's `sip_h_` headers, relayed by
//!   `sofia_glue_get_extra_headers_from_event`). It goes where a call would: over the
//!   connection the device registered on, or UDP to its contact (`Net::reach`).
//! * Nobody registered at a host of this box (the profile's alias, its address, a profile
//!   name): CUSTOM `sofia::error` with `Error-Type: chat`, `Error-Reason: no recipient`.
//!   A foreign host would get the MESSAGE by DNS; the mock reaches no other host, so
//!   that attempt fails unseen, as FreeSWITCH's non-blocking send does on ESL.
//! * Then the MESSAGE event fires, created before delivery (its Event-Sequence is older
//!   than a `sofia::error` it caused), with `dest_proto` and `Nonblocking-Delivery: true`.
//!
//! Bounds: [`MAX_PENDING`] relayed MESSAGEs awaiting their answer (the oldest is
//! forgotten past it, its late answer then dropped like any stray response); the
//! delivery list is the user's bindings, which the registrar bounds.

use std::collections::VecDeque;

use super::b2bua::{mix, without_tag, Net};
use super::message::{self, Message, Uri};
use super::registrar::Registrar;
use super::reply::{phrase, response};
use super::transport::Link;
use crate::fs::event::Event;
use crate::fs::pbx::Pbx;

/// Relayed MESSAGEs whose final answer we still wait for.
pub const MAX_PENDING: usize = 1024;

/// Where `sofia_presence_handle_sip_i_message` creates the MESSAGE event (1.10.12).
const SITE_MESSAGE: (&str, &str, u32) = ("sofia_presence.c", "sofia_presence_handle_sip_i_message", 4889);
/// Where `sofia_presence_chat_send` creates the `sofia::error` "no recipient" event.
const SITE_NO_RECIPIENT: (&str, &str, u32) = ("sofia_presence.c", "sofia_presence_chat_send", 276);

/// `auth-messages`: the 407 challenge, or 401 for credentials that fail.
pub(crate) fn authorize(
    registrar: &mut Registrar,
    pbx: &Pbx,
    link: &Link,
    req: &Message,
    agent: &str,
) -> Result<(), Message> {
    let offered = req.header("Proxy-Authorization").is_some() || req.header("Authorization").is_some();
    match registrar.authorize_invite(pbx, link, req, agent) {
        Ok(_) => Ok(()),
        Err(_) if offered => Err(response(req, link, 401, phrase(401), agent)),
        Err(challenge) => Err(challenge),
    }
}

/// What chat keeps: the Call-IDs of our relayed MESSAGEs not answered yet.
pub struct Chat {
    pending: VecDeque<String>,
    seed: u64,
    sent: u64,
    answered: u64,
}

/// The header sofia puts on every MESSAGE it sends, and refuses on one it receives.
pub const SENDING_HEADER: &str = "X-FS-Sending-Message";

impl Chat {
    /// Empty; `seed` makes the relayed Call-IDs and tags reproducible.
    pub fn new(seed: u64) -> Chat {
        Chat { pending: VecDeque::new(), seed, sent: 0, answered: 0 }
    }

    /// Relayed MESSAGEs sent so far.
    pub fn relayed(&self) -> u64 {
        self.sent
    }

    /// Final answers to them received so far.
    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// A MESSAGE outside any dialog: delivers it and fires its events; the status the
    /// sender gets back.
    pub(crate) fn receive(
        &mut self,
        net: &dyn Net,
        pbx: &Pbx,
        link: &Link,
        req: &Message,
        agent: &str,
    ) -> u16 {
        let core = pbx.core_uuid();
        if req.header(SENDING_HEADER).is_some_and(|v| v.trim() == core) {
            return 503;
        }
        let ctype = req.header("Content-Type").map(|c| message::params(c).0.trim().to_string());
        if ctype.as_deref().and_then(|c| c.split_once('/')).is_some_and(|(_, sub)| sub.contains("composing"))
        {
            return 202;
        }
        let to_value = req.header("To").unwrap_or_default();
        let Some(to) = Uri::parse(message::addr_uri(to_value)) else { return 202 };
        let Some(to_user) = to.user.filter(|u| !u.is_empty()) else { return 202 };
        let from_value = req.header("From").unwrap_or_default().trim().to_string();
        let from = Uri::parse(message::addr_uri(&from_value));
        let (from_user, from_host) = from.as_ref().map_or(("", ""), |u| (u.user.unwrap_or_default(), u.host));
        // `proto+user+host` in the To user names the chat protocol to deliver with.
        let (proto, to_addr) = match to_user.split_once('+') {
            Some((p, rest)) if !p.is_empty() => (p.to_string(), rest.replacen('+', "@", 1)),
            _ => ("sip".to_string(), format!("{to_user}@{}", to.host)),
        };
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let mut ev = pbx.event_created_at("MESSAGE", SITE_MESSAGE);
        ev.push("login", pbx.profile_url());
        ev.push("proto", "sip");
        ev.push("to_proto", proto.clone());
        ev.push("from", format!("{from_user}@{from_host}"));
        ev.push("from_user", from_user);
        ev.push("from_host", from_host);
        ev.push("to_user", to_user);
        ev.push("to_host", to.host);
        ev.push("from_sip_ip", link.peer.ip().to_string());
        ev.push("from_sip_port", link.peer.port().to_string());
        ev.push("to", to_addr.clone());
        ev.push("subject", "SIMPLE MESSAGE");
        ev.push("context", "public");
        ev.push("type", ctype.clone().filter(|c| c.contains('/')).unwrap_or_else(|| "text/plain".into()));
        ev.push("from_full", from_value.clone());
        ev.push("sip_profile", "internal");
        if let Some(info) = req.header("Call-Info") {
            ev.push("sip_call_info", info);
        }
        for (name, value) in &req.headers {
            let extra = ["X-", "P-"].iter().any(|p| name.len() > 2 && name[..2].eq_ignore_ascii_case(p))
                || name.eq_ignore_ascii_case("User-to-User")
                || name.eq_ignore_ascii_case("Diversion");
            if extra && !value.is_empty() && !name.eq_ignore_ascii_case(SENDING_HEADER) {
                let mut key = format!("sip_h_{name}");
                let mut reps = 1;
                while ev.get(&key).is_some() {
                    key = format!("sip_h_{name}-{reps}");
                    reps += 1;
                }
                ev.push(key, value.clone());
            }
        }
        if !req.body.is_empty() {
            ev.body = Some(body);
        }
        ev.push("dest_proto", proto.clone());
        if proto == "sip" {
            self.chat_send(net, pbx, link, &ev, req, agent);
        }
        ev.push("Nonblocking-Delivery", "true");
        pbx.fire(ev);
        202
    }

    /// `sofia_presence_chat_send`: the MESSAGE to every binding of the user, or the
    /// "no recipient" error.
    fn chat_send(&mut self, net: &dyn Net, pbx: &Pbx, link: &Link, ev: &Event, req: &Message, agent: &str) {
        let to = ev.get("to").unwrap_or_default();
        let (user, host) = to.split_once('@').unwrap_or((to, ""));
        let bindings: Vec<_> = pbx.bindings(user).into_iter().filter(|r| r.realm == host).collect();
        if bindings.is_empty() {
            let url = pbx.profile_url();
            let ours = Uri::parse(&url).map(|u| u.host.to_string()).unwrap_or_default();
            let local = host == ours
                || host == pbx.domain()
                || host == link.local.ip().to_string()
                || host == "internal"
                || host == "external";
            if local {
                let mut err =
                    pbx.event_created_at("CUSTOM", SITE_NO_RECIPIENT).with("Event-Subclass", "sofia::error");
                err.push("Error-Type", "chat");
                err.push("Error-Reason", "no recipient");
                err.push("Chat-Send-To", to);
                err.push("Chat-Send-From", ev.get("from_full").unwrap_or_default());
                err.push("Chat-Send-Profile", "internal");
                err.body = Some(ev.body.clone().unwrap_or_default());
                pbx.fire(err);
            }
            return;
        }
        let from = without_tag(ev.get("from_full").unwrap_or_default());
        let ctype = ev.get("type").unwrap_or("text/plain");
        for reg in bindings {
            let Some(out) = net.reach(&reg, link) else { continue };
            let contact = message::addr_uri(&reg.contact);
            let target = contact.split(";fs_").next().unwrap_or(contact);
            self.sent += 1;
            let n = self.sent;
            let id = mix(self.seed ^ n.rotate_left(17) ^ 0xc4a7);
            let call_id = uuid::Uuid::from_u64_pair(id, mix(id ^ n)).hyphenated().to_string();
            let mut m = Message::request("MESSAGE", target);
            m.push(
                "Via",
                format!(
                    "SIP/2.0/{} {};branch=z9hG4bKesmc{n:x};rport",
                    out.transport.as_str().to_ascii_uppercase(),
                    out.local
                ),
            );
            m.push("Max-Forwards", "70");
            m.push("From", format!("{from};tag={:016x}", mix(id ^ 0x7a9)));
            m.push("To", format!("<{target}>"));
            m.push("Call-ID", call_id.clone());
            m.push("CSeq", format!("{} MESSAGE", 1 + (id % 50_000) as u32));
            m.push("User-Agent", agent);
            m.push(SENDING_HEADER, pbx.core_uuid());
            for (name, value) in &ev.headers {
                if let Some(h) = name.strip_prefix("sip_h_") {
                    m.push(h, value.clone());
                }
            }
            m.push("Content-Type", ctype);
            m.body = req.body.clone();
            if self.pending.len() >= MAX_PENDING {
                self.pending.pop_front();
            }
            self.pending.push_back(call_id);
            net.send(&out, &m);
        }
    }

    /// A response: `true` when it answers one of our relayed MESSAGEs (it is absorbed:
    /// the send was non-blocking, nobody waits for the result).
    pub(crate) fn response(&mut self, resp: &Message) -> bool {
        let Some(call_id) = resp.header("Call-ID") else { return false };
        let Some(at) = self.pending.iter().position(|c| c == call_id) else { return false };
        if resp.status().is_some_and(|s| s >= 200) {
            self.pending.remove(at);
            self.answered += 1;
        }
        true
    }
}
