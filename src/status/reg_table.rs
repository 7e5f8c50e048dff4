//! One server's registrations one by one, for the call view's registrations tab: user,
//! contact, transport (WebRTC marked), user agent, network address and expiry.
//!
//! Bindings are keyed by user@realm, FreeSWITCH's default (see [`super::tracking`]). Events
//! (`sofia::register`, `sofia::unregister`, `sofia::expire`) carry every field; the rebuild
//! listing (`show registrations as json`, the core's `registrations` table,
//! switch_core_sqldb.c) carries address and expiry but no user agent (sofia keeps that in its
//! own `sip_registrations`), so the call view's rebuild also reads `sofia xmlstatus profile
//! internal reg` ([`parse_agents_xml`]) and fills the agents in by user@realm and Call-ID; a
//! server that refuses it leaves them empty until the phone registers again.
//!
//! The listing's expiry is an epoch time on the PBX's clock. It is turned into a countdown
//! against the PBX's clock as the link last saw it (`Event-Date-Timestamp` of the events fed
//! here), never this machine's: the two can be minutes apart (no NTP, a VM resumed, a mock
//! with its own epoch), and the countdown must say when FreeSWITCH drops the binding.
//! Until an event told the PBX's time, such an expiry waits, unshown.
//! At most [`MAX_REGISTRATIONS`] bindings are kept; beyond it new ones are counted only.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::api::{contact_is_webrtc, Registration};
use super::headers::Headers;

/// Most bindings kept one by one.
pub const MAX_REGISTRATIONS: usize = 20_000;

/// One binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `user@realm`.
    pub user: String,
    /// The contact URI.
    pub contact: String,
    /// `udp`, `tcp`, `tls`, `ws`, `wss`.
    pub transport: String,
    /// A browser (or any WebSocket client).
    pub webrtc: bool,
    /// The phone's `User-Agent`, when an event told it.
    pub user_agent: Option<String>,
    /// `ip:port` it registered from, when an event told it.
    pub network: Option<String>,
    /// When it expires, once known (an event told it, or the listing's epoch with the PBX's
    /// clock known).
    pub expires_at: Option<Instant>,
    /// The listing's expiry (PBX epoch seconds) while the PBX's clock is not known yet.
    expires_epoch: Option<u64>,
    /// The binding's Call-ID, when the listing or an event told it.
    call_id: Option<String>,
}

impl Binding {
    /// Time left at `now`, `None` when unknown.
    pub fn expires_in(&self, now: Instant) -> Option<Duration> {
        self.expires_at.map(|t| t.saturating_duration_since(now))
    }
}

/// One server's bindings; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct RegTable {
    bindings: BTreeMap<String, Binding>,
    untracked: u64,
    /// The PBX's clock as last seen: its epoch (µs) and the local instant it arrived.
    pbx_clock: Option<(u64, Instant)>,
}

/// The transport a contact names (`;transport=wss`), if it names one.
fn contact_transport(contact: &str) -> Option<String> {
    contact
        .split([';', '>', '?', '&'])
        .find_map(|p| p.split_once('=').filter(|(k, _)| k.trim().eq_ignore_ascii_case("transport")))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
}

/// The contact's transport, else UDP (SIP's default).
fn transport_of(contact: &str) -> String {
    contact_transport(contact).unwrap_or_else(|| "udp".to_owned())
}

impl RegTable {
    /// Bindings in user order.
    pub fn rows(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.values()
    }

    /// How many bindings.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Bindings not kept because [`MAX_REGISTRATIONS`] were.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// The PBX's time at `now`, epoch seconds, if an event told it (the call list dates its
    /// listing by it too).
    pub fn pbx_epoch(&self, now: Instant) -> Option<u64> {
        self.pbx_clock.map(|(us, at)| (us + now.saturating_duration_since(at).as_micros() as u64) / 1_000_000)
    }

    /// The instant a PBX epoch time falls on, by the PBX's clock.
    fn local_instant(&self, epoch: u64, now: Instant) -> Option<Instant> {
        self.pbx_epoch(now).map(|pbx_now| now + Duration::from_secs(epoch.saturating_sub(pbx_now)))
    }

    /// Notes the PBX's time from any event's `Event-Date-Timestamp` (µs since the epoch, set
    /// by FreeSWITCH when it fires the event) and places expiries that waited for it; `true`
    /// if one did.
    pub fn observe_clock(&mut self, ev: &impl Headers, now: Instant) -> bool {
        let Some(us) = ev.value("Event-Date-Timestamp").and_then(|v| v.trim().parse::<u64>().ok()) else {
            return false;
        };
        self.pbx_clock = Some((us, now));
        let mut placed = false;
        let pbx_now = us / 1_000_000;
        for b in self.bindings.values_mut() {
            if let Some(epoch) = b.expires_epoch.take() {
                b.expires_at = Some(now + Duration::from_secs(epoch.saturating_sub(pbx_now)));
                placed = true;
            }
        }
        placed
    }

    /// Applies a `sofia::` event at `now`; `true` if a binding changed.
    pub fn apply_event(&mut self, ev: &impl Headers, now: Instant) -> bool {
        let placed = self.observe_clock(ev, now);
        self.apply_registration(ev, now) || placed
    }

    fn apply_registration(&mut self, ev: &impl Headers, now: Instant) -> bool {
        let Some(subclass) = ev.value("Event-Subclass") else { return false };
        let user = ev.value("from-user").or_else(|| ev.value("user"));
        let realm = ev.value("from-host").or_else(|| ev.value("host"));
        let (Some(user), Some(realm)) = (user, realm) else { return false };
        let key = format!("{user}@{realm}");
        match subclass {
            "sofia::register" => {
                if !self.bindings.contains_key(&key) && self.bindings.len() >= MAX_REGISTRATIONS {
                    self.untracked += 1;
                    return false;
                }
                let contact = ev.value("contact").unwrap_or_default().to_owned();
                let transport = transport_of(&contact);
                let network = match (ev.value("network-ip"), ev.value("network-port")) {
                    (Some(ip), Some(port)) => Some(format!("{ip}:{port}")),
                    (Some(ip), None) => Some(ip.to_owned()),
                    _ => None,
                };
                let expires_at = ev
                    .value("expires")
                    .and_then(|e| e.parse::<u64>().ok())
                    .map(|s| now + Duration::from_secs(s));
                let binding = Binding {
                    user: key.clone(),
                    webrtc: contact_is_webrtc(&contact) || transport == "ws" || transport == "wss",
                    contact,
                    transport,
                    user_agent: ev.value("user-agent").map(str::to_owned),
                    network,
                    expires_at,
                    expires_epoch: None,
                    call_id: ev.value("call-id").map(str::to_owned),
                };
                self.bindings.insert(key, binding);
                true
            }
            "sofia::unregister" | "sofia::expire" => self.bindings.remove(&key).is_some(),
            _ => false,
        }
    }

    /// Rebuilds from the listing at `now`: bindings it lacks go, new ones come with the
    /// listing's address and expiry but no user agent, and known ones keep what events told
    /// (the phone's own Expires, newer than or as new as the listing), gaining only what they
    /// lacked.
    pub fn rebuild(&mut self, rows: &[Registration], now: Instant) {
        let mut fresh = BTreeMap::new();
        for row in rows {
            let key = format!("{}@{}", row.user, row.realm);
            let network = match (row.network_ip.trim(), row.network_port.trim()) {
                ("", _) => None,
                (ip, "") => Some(ip.to_owned()),
                (ip, port) => Some(format!("{ip}:{port}")),
            };
            let expires_at = row.expires.and_then(|e| self.local_instant(e, now));
            let expires_epoch = if expires_at.is_none() { row.expires } else { None };
            let mut binding = self.bindings.remove(&key).unwrap_or_else(|| {
                let contact = row.url.clone();
                // The contact says how the phone is reached; the listing's protocol column is
                // empty or `udp` on some builds for a WebSocket binding.
                let transport = contact_transport(&contact)
                    .or_else(|| Some(row.network_proto.to_ascii_lowercase()).filter(|p| !p.is_empty()))
                    .unwrap_or_else(|| "udp".to_owned());
                Binding {
                    user: key.clone(),
                    webrtc: row.is_webrtc(),
                    contact,
                    transport,
                    user_agent: None,
                    network: None,
                    expires_at: None,
                    expires_epoch: None,
                    call_id: None,
                }
            });
            if binding.call_id.is_none() && !row.call_id.is_empty() {
                binding.call_id = Some(row.call_id.clone());
            }
            if binding.network.is_none() {
                binding.network = network;
            }
            if binding.expires_at.is_none() {
                binding.expires_at = expires_at;
                binding.expires_epoch = expires_epoch;
            }
            if fresh.len() < MAX_REGISTRATIONS {
                fresh.insert(key, binding);
            }
        }
        self.bindings = fresh;
    }
}

/// Most bytes of a `sofia xmlstatus profile internal reg` answer read: about 700 per
/// binding (`show_reg_callback_xml`), so [`MAX_REGISTRATIONS`] fit; beyond it the rest is
/// not read and those bindings keep no agent.
pub const MAX_AGENTS_XML: usize = MAX_REGISTRATIONS * 1024;

/// Most bytes of one user agent kept (`show_reg_callback_xml` cuts at 2047 anyway).
const MAX_AGENT: usize = 256;

/// One `<registration>` of `sofia xmlstatus profile internal reg`: who, which Call-ID, and
/// the agent sofia keeps in `sip_registrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegAgent {
    /// `user@realm`.
    pub user: String,
    /// The binding's Call-ID.
    pub call_id: String,
    /// The phone's `User-Agent`, XML entities decoded.
    pub agent: String,
}

/// The text between `<tag>` and `</tag>` in `block`, if both are there.
fn element<'a>(block: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = block.find(&open)? + open.len();
    let len = block[start..].find(&close)?;
    Some(&block[start..start + len])
}

/// The five entities `switch_amp_encode` writes, decoded; anything else stays as it is.
fn amp_decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (c, n) = [("&quot;", '"'), ("&apos;", '\''), ("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
            .iter()
            .find(|(e, _)| rest.starts_with(e))
            .map_or(('&', 1), |(e, c)| (*c, e.len()));
        out.push(c);
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

/// Reads `sofia xmlstatus profile internal reg` (mod_sofia.c `cmd_xml_status`, one
/// `<registration>` per `sip_registrations` row, written by `show_reg_callback_xml`): at
/// most [`MAX_AGENTS_XML`] bytes and [`MAX_REGISTRATIONS`] rows. Anything that is not that
/// answer (an `-ERR`, `Invalid Profile!`, cut XML) gives no rows, never an error: agents
/// are extra.
pub fn parse_agents_xml(body: &str) -> Vec<RegAgent> {
    let mut cut = body.len().min(MAX_AGENTS_XML);
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    let Some(list) = element(&body[..cut], "registrations").or_else(|| {
        // A cut answer: its complete rows still count.
        body[..cut].find("<registrations>").map(|i| &body[i + "<registrations>".len()..cut])
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for block in list.split("<registration>").skip(1) {
        if out.len() >= MAX_REGISTRATIONS {
            break;
        }
        let Some(block) = block.split_once("</registration>").map(|(b, _)| b) else { continue };
        let (Some(user), Some(call_id), Some(agent)) =
            (element(block, "user"), element(block, "call-id"), element(block, "agent"))
        else {
            continue;
        };
        let mut agent = amp_decode(agent.trim());
        if agent.len() > MAX_AGENT {
            let mut n = MAX_AGENT;
            while !agent.is_char_boundary(n) {
                n -= 1;
            }
            agent.truncate(n);
        }
        if agent.is_empty() {
            continue;
        }
        out.push(RegAgent { user: user.trim().to_owned(), call_id: call_id.trim().to_owned(), agent });
    }
    out
}

impl RegTable {
    /// Gives bindings without a user agent the one `sofia xmlstatus` lists for their
    /// user@realm (the Call-ID picks among several rows of one user); `true` if one changed.
    pub fn fill_agents(&mut self, agents: &[RegAgent]) -> bool {
        let mut changed = false;
        for b in self.bindings.values_mut().filter(|b| b.user_agent.is_none()) {
            let mut of_user = agents.iter().filter(|a| a.user == b.user);
            let pick = match &b.call_id {
                Some(id) => {
                    agents.iter().find(|a| a.user == b.user && &a.call_id == id).or_else(|| of_user.next())
                }
                None => of_user.next(),
            };
            if let Some(a) = pick {
                b.user_agent = Some(a.agent.clone());
                changed = true;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::HeaderMap;

    fn register(user: &str, transport: &str) -> HeaderMap {
        HeaderMap::new()
            .with("Event-Name", "CUSTOM")
            .with("Event-Subclass", "sofia::register")
            .with("from-user", user)
            .with("from-host", "pbx.local")
            .with("contact", &format!("\"{user}\" <sip:{user}@192.0.2.7:5062;transport={transport}>"))
            .with("expires", "300")
            .with("network-ip", "192.0.2.7")
            .with("network-port", "5062")
            .with("user-agent", "SIP.js/0.21")
    }

    #[test]
    fn register_unregister_and_a_rebuild() {
        let t0 = Instant::now();
        let mut t = RegTable::default();
        assert!(t.apply_event(&register("1001", "wss"), t0));
        let b = t.rows().next().unwrap();
        assert_eq!((b.user.as_str(), b.transport.as_str(), b.webrtc), ("1001@pbx.local", "wss", true));
        assert_eq!(b.network.as_deref(), Some("192.0.2.7:5062"));
        assert_eq!(b.expires_in(t0 + Duration::from_secs(100)), Some(Duration::from_secs(200)));
        let listed = |user: &str| Registration {
            user: user.into(),
            realm: "pbx.local".into(),
            call_id: "c".into(),
            url: format!("sofia/internal/sip:{user}@192.0.2.8:5060;transport=tcp"),
            network_proto: "udp".into(),
            ..Registration::default()
        };
        t.rebuild(&[listed("1001"), listed("1002")], t0);
        let rows: Vec<&Binding> = t.rows().collect();
        assert_eq!(
            rows[0].user_agent.as_deref(),
            Some("SIP.js/0.21"),
            "a known binding keeps what events told"
        );
        assert_eq!(
            (rows[1].transport.as_str(), rows[1].user_agent.as_deref()),
            ("tcp", None),
            "the contact's transport"
        );
        let gone = HeaderMap::new()
            .with("Event-Subclass", "sofia::unregister")
            .with("from-user", "1001")
            .with("from-host", "pbx.local");
        assert!(t.apply_event(&gone, t0));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn the_listings_expiry_counts_on_the_pbx_clock() {
        let t0 = Instant::now();
        let mut t = RegTable::default();
        // The PBX's clock is an hour behind this machine's, and known only from events.
        let pbx_now = 1_764_000_000u64;
        let row = Registration {
            user: "1002".into(),
            realm: "pbx.local".into(),
            url: "sofia/internal/sip:1002@192.0.2.9:5070".into(),
            network_proto: "udp".into(),
            // Registered at pbx_now - 40 with Expires 300, plus the 60 s late margin.
            expires: Some(pbx_now - 40 + 300 + 60),
            network_ip: "192.0.2.9".into(),
            network_port: "5070".into(),
            ..Registration::default()
        };
        t.rebuild(std::slice::from_ref(&row), t0);
        let b = t.rows().next().unwrap();
        assert_eq!(b.network.as_deref(), Some("192.0.2.9:5070"));
        assert_eq!(b.expires_in(t0), None, "no PBX clock yet: nothing made up from ours");
        let heartbeat = |epoch: u64| {
            HeaderMap::new()
                .with("Event-Name", "HEARTBEAT")
                .with("Event-Date-Timestamp", &(epoch * 1_000_000).to_string())
        };
        let t1 = t0 + Duration::from_secs(5);
        assert!(t.observe_clock(&heartbeat(pbx_now + 5), t1), "the waiting expiry is placed");
        assert_eq!(t.rows().next().unwrap().expires_in(t1), Some(Duration::from_secs(315)));
        // A later rebuild with the clock known places it at once; 10 s later by the link's
        // instant, the PBX clock has moved on by as much.
        let mut u = RegTable::default();
        u.observe_clock(&heartbeat(pbx_now), t0);
        u.rebuild(&[row], t0 + Duration::from_secs(10));
        let b = u.rows().next().unwrap();
        assert_eq!(b.expires_in(t0 + Duration::from_secs(10)), Some(Duration::from_secs(310)));
        assert!(
            !u.observe_clock(&HeaderMap::new().with("Event-Name", "HEARTBEAT"), t0),
            "no timestamp, no clock"
        );
    }

    /// As mod_sofia.c `show_reg_callback_xml` writes it (contact and agent through
    /// switch_amp_encode), 2 rows of one user told apart by Call-ID.
    const XMLSTATUS: &str = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<profile>\n  <registrations>\n\
        \x20   <registration>\n        <call-id>a1</call-id>\n        <user>1001@pbx.local</user>\n\
        \x20       <contact>&quot;1001&quot; &lt;sip:1001@192.0.2.7&gt;</contact>\n\
        \x20       <agent>Acme &quot;Desk&quot; &lt;a&amp;b&gt; &apos;c&apos; &x;</agent>\n\
        \x20       <status>Registered(UDP)(unknown) exp(2025-01-01 00:00:00) expsecs(300)</status>\n\
        \x20   </registration>\n\
        \x20   <registration>\n        <call-id>b2</call-id>\n        <user>1001@pbx.local</user>\n\
        \x20       <agent>Yealink</agent>\n    </registration>\n  </registrations>\n</profile>\n";

    #[test]
    fn xmlstatus_agents_fill_bindings_by_user_and_call_id() {
        let agents = parse_agents_xml(XMLSTATUS);
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].agent, "Acme \"Desk\" <a&b> 'c' &x;");
        assert_eq!((agents[1].user.as_str(), agents[1].call_id.as_str()), ("1001@pbx.local", "b2"));
        let listed = |user: &str, call_id: &str| Registration {
            user: user.into(),
            realm: "pbx.local".into(),
            call_id: call_id.into(),
            url: format!("sofia/internal/sip:{user}@192.0.2.8:5060"),
            ..Registration::default()
        };
        let t0 = Instant::now();
        let mut t = RegTable::default();
        t.rebuild(&[listed("1001", "b2"), listed("1002", "c3")], t0);
        assert!(t.fill_agents(&agents));
        let rows: Vec<&Binding> = t.rows().collect();
        assert_eq!(rows[0].user_agent.as_deref(), Some("Yealink"), "the Call-ID picks the row");
        assert_eq!(rows[1].user_agent, None, "not listed, not made up");
        assert!(!t.fill_agents(&agents), "an agent already known stays");
    }

    #[test]
    fn a_refusal_or_broken_xml_gives_no_agents() {
        for body in [
            "-ERR sofia xmlstatus: not emulated\n",
            "Invalid Profile!\n",
            "",
            "<registrations><registration><user>x",
        ] {
            assert!(parse_agents_xml(body).is_empty(), "{body:?}");
        }
        // A cut answer still gives its complete rows.
        let cut = &XMLSTATUS[..XMLSTATUS.find("<agent>Yealink").unwrap()];
        assert_eq!(parse_agents_xml(cut).len(), 1);
        let long = format!("<registrations><registration><call-id>a</call-id><user>u@r</user><agent>{}</agent></registration></registrations>", "é".repeat(400));
        assert_eq!(
            parse_agents_xml(&long)[0].agent.len(),
            MAX_AGENT,
            "a long agent is cut on a char boundary"
        );
    }
}
