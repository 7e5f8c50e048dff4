//! One server's registrations one by one, for the call view's registrations tab: user,
//! contact, transport (WebRTC marked), user agent, network address and expiry.
//!
//! Bindings are keyed by user@realm, FreeSWITCH's default (see [`super::tracking`]). Events
//! (`sofia::register`, `sofia::unregister`, `sofia::expire`) carry every field; the rebuild
//! listing (`show registrations as json`, the core's table) has no user agent, address or
//! expiry, so a binding known only from it shows them once its phone registers again.
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
    /// When it expires, when an event told it.
    pub expires_at: Option<Instant>,
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

    /// Applies a `sofia::` event at `now`; `true` if a binding changed.
    pub fn apply_event(&mut self, ev: &impl Headers, now: Instant) -> bool {
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
                };
                self.bindings.insert(key, binding);
                true
            }
            "sofia::unregister" | "sofia::expire" => self.bindings.remove(&key).is_some(),
            _ => false,
        }
    }

    /// Rebuilds from the listing: bindings it lacks go, new ones come without the fields
    /// only events carry, and known ones keep them.
    pub fn rebuild(&mut self, rows: &[Registration]) {
        let mut fresh = BTreeMap::new();
        for row in rows {
            let key = format!("{}@{}", row.user, row.realm);
            let binding = self.bindings.remove(&key).unwrap_or_else(|| {
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
                }
            });
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
        };
        t.rebuild(&[listed("1001"), listed("1002")]);
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
}
