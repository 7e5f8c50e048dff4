//! One server's gateways (SIP trunks) one by one, for the call view's gateways tab: state,
//! when it changed, the far end's last answer, when a failed one retries.
//!
//! Rebuilt from `sofia status` on every (re)connect (mod_sofia.c `cmd_status` prints a
//! gateway as `%25s\t%s\t  %40s\t%s` with `profile::name`, `gateway`, its `register_to` and
//! `sofia_state_names[gp->state]`, plus ` (retry: %ds)` while FAILED, FAIL_WAIT or TRYING),
//! then kept by `sofia::gateway_state` events (sofia_reg.c
//! `sofia_reg_fire_custom_gateway_state_event`: `Gateway` without the profile, `State`,
//! `Ping-Status`, `Register-Network-IP`/`-Port` once known, `Phrase` and `Status` when a
//! reply caused the change). At most [`MAX_GATEWAYS`] are kept; beyond it new ones are
//! counted only.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::api::{GatewayState, SofiaStatus};
use super::headers::Headers;

/// Most gateways kept one by one (a big carrier setup has dozens).
pub const MAX_GATEWAYS: usize = 1_024;

/// One gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// Its name, without the profile.
    pub name: String,
    /// The profile it belongs to, once the listing told it.
    pub profile: Option<String>,
    /// Where it registers (`register_to`), once the listing told it.
    pub register_to: Option<String>,
    /// Its registration state.
    pub state: GatewayState,
    /// The ping status (`UP`, `DOWN`, `INVALID`), once an event told it.
    pub ping: Option<String>,
    /// The reply that changed its state last (`408 Request Timeout`), when an event said.
    pub reply: Option<String>,
    /// `ip:port` it registers with, once an event told it.
    pub network: Option<String>,
    /// When it entered its state, when the view saw it happen (not for the listing's rows).
    pub since: Option<Instant>,
    /// When a failed gateway tries again, from the listing's `(retry: Ns)`.
    pub retry_at: Option<Instant>,
}

/// One server's gateways; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct GatewayTable {
    gateways: BTreeMap<String, Gateway>,
    untracked: u64,
}

/// The seconds of a `(retry: 25s)` suffix.
fn retry_secs(state: &str) -> Option<u64> {
    let rest = state.split_once("(retry: ")?.1;
    rest.split_once("s)")?.0.trim().parse().ok()
}

impl GatewayTable {
    fn entry(&mut self, name: &str) -> Option<&mut Gateway> {
        if !self.gateways.contains_key(name) {
            if self.gateways.len() >= MAX_GATEWAYS {
                self.untracked += 1;
                return None;
            }
            let gateway = Gateway {
                name: name.to_owned(),
                profile: None,
                register_to: None,
                state: GatewayState::Other(String::new()),
                ping: None,
                reply: None,
                network: None,
                since: None,
                retry_at: None,
            };
            self.gateways.insert(name.to_owned(), gateway);
        }
        self.gateways.get_mut(name)
    }

    /// Replaces the gateways with `sofia status`'s, taken at `now`. What an event told and
    /// the listing cannot (ping, last reply, address, since when) stays while the state does.
    pub fn rebuild(&mut self, sofia: &SofiaStatus, now: Instant) {
        let mut listed = Vec::new();
        for entry in sofia.entries.iter().filter(|e| e.kind == super::api::SofiaKind::Gateway) {
            let (profile, name) =
                entry.name.split_once("::").map_or((None, entry.name.as_str()), |(p, g)| (Some(p), g));
            let state = GatewayState::parse(&entry.state);
            let retry_at = retry_secs(&entry.state).map(|s| now + Duration::from_secs(s));
            listed.push(name.to_owned());
            let Some(g) = self.entry(name) else { continue };
            if g.state != state {
                g.since = None;
                g.ping = None;
                g.reply = None;
            }
            g.state = state;
            g.profile = profile.map(str::to_owned);
            g.register_to = Some(entry.data.clone());
            g.retry_at = retry_at;
        }
        self.gateways.retain(|name, _| listed.contains(name));
    }

    /// Applies a `sofia::gateway_state` event at `now`; `true` if the table changed. Other
    /// events are ignored.
    pub fn apply_event(&mut self, ev: &impl Headers, now: Instant) -> bool {
        if ev.value("Event-Subclass") != Some("sofia::gateway_state") {
            return false;
        }
        let (Some(name), Some(state)) = (ev.value("Gateway"), ev.value("State")) else { return false };
        let state = GatewayState::parse(state);
        let Some(g) = self.entry(name) else { return false };
        if g.state != state {
            g.since = Some(now);
            g.retry_at = None;
        }
        g.state = state;
        g.ping = ev.value("Ping-Status").map(str::to_owned);
        g.reply = match (ev.value("Status"), ev.value("Phrase")) {
            (Some(code), Some(phrase)) => Some(format!("{code} {phrase}")),
            (Some(code), None) => Some(code.to_owned()),
            (None, Some(phrase)) => Some(phrase.to_owned()),
            (None, None) => None,
        };
        if let Some(ip) = ev.value("Register-Network-IP") {
            g.network = Some(match ev.value("Register-Network-Port") {
                Some(port) => format!("{ip}:{port}"),
                None => ip.to_owned(),
            });
        }
        true
    }

    /// The gateways by name.
    pub fn rows(&self) -> impl Iterator<Item = &Gateway> {
        self.gateways.values()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.gateways.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.gateways.is_empty()
    }

    /// Gateways not kept because [`MAX_GATEWAYS`] were.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::api::parse_sofia_status;
    use crate::status::HeaderMap;

    const LISTING: &str =
        "                     Name\t   Type\t                                      Data\tState\n\
=================================================================================================\n\
       external::carrier-a\tgateway\t    sip:eslmatrix@carrier-a.example.net\tREGED\n\
       external::carrier-b\tgateway\t    sip:eslmatrix@carrier-b.example.net\tFAILED (retry: 25s)\n\
                 internal\tprofile\t          sip:mod_sofia@192.0.2.10:5060\tRUNNING (0)\n\
=================================================================================================\n";

    #[test]
    fn the_listing_then_events_give_state_reply_and_retry() {
        let t0 = Instant::now();
        let mut t = GatewayTable::default();
        t.rebuild(&parse_sofia_status(LISTING).unwrap(), t0);
        let rows: Vec<&Gateway> = t.rows().collect();
        assert_eq!(rows.len(), 2, "profiles are no gateways");
        assert_eq!((rows[0].name.as_str(), rows[0].profile.as_deref()), ("carrier-a", Some("external")));
        assert_eq!(rows[1].state, GatewayState::Failed);
        assert_eq!(rows[1].retry_at, Some(t0 + Duration::from_secs(25)));
        let down = HeaderMap::new()
            .with("Event-Subclass", "sofia::gateway_state")
            .with("Gateway", "carrier-a")
            .with("State", "FAILED")
            .with("Ping-Status", "DOWN")
            .with("Phrase", "Request Timeout")
            .with("Status", "408");
        let t1 = t0 + Duration::from_secs(3);
        assert!(t.apply_event(&down, t1));
        let a = t.rows().next().unwrap();
        assert_eq!(
            (a.state.as_str(), a.reply.as_deref(), a.since),
            ("FAILED", Some("408 Request Timeout"), Some(t1))
        );
        assert!(!t.apply_event(&HeaderMap::new().with("Event-Subclass", "sofia::register"), t1));
        // A rebuild keeps what only the event said while the state is the same, and drops
        // what the listing no longer has.
        let again = LISTING.replace("external::carrier-a\tgateway\t    sip:eslmatrix@carrier-a.example.net\tREGED\n", "external::carrier-a\tgateway\t    sip:eslmatrix@carrier-a.example.net\tFAILED (retry: 9s)\n")
            .replace("external::carrier-b\tgateway\t    sip:eslmatrix@carrier-b.example.net\tFAILED (retry: 25s)\n", "");
        t.rebuild(&parse_sofia_status(&again).unwrap(), t1);
        let rows: Vec<&Gateway> = t.rows().collect();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].reply.as_deref(), rows[0].since), (Some("408 Request Timeout"), Some(t1)));
    }

    #[test]
    fn gateways_are_bounded() {
        let t0 = Instant::now();
        let mut t = GatewayTable::default();
        for i in 0..=MAX_GATEWAYS {
            let ev = HeaderMap::new()
                .with("Event-Subclass", "sofia::gateway_state")
                .with("Gateway", &format!("gw{i}"))
                .with("State", "REGED");
            t.apply_event(&ev, t0);
        }
        assert_eq!((t.len(), t.untracked()), (MAX_GATEWAYS, 1));
    }
}
