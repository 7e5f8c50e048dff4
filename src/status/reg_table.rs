//! One server's registrations one by one, for the call view's registrations tab: user,
//! contact, transport (WebRTC marked), user agent, network address and expiry.
//!
//! Bindings are keyed by user@realm, FreeSWITCH's default (see [`super::tracking`]). Events
//! (`sofia::register`, `sofia::unregister`, `sofia::expire`) carry every field; the rebuild
//! listing (`show registrations as json`, the core's `registrations` table,
//! switch_core_sqldb.c) carries address and expiry but no user agent (sofia keeps that in its
//! own `sip_registrations`), so a binding known only from the listing shows its user agent
//! once its phone registers again.
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
                }
            });
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
}
