//! Property: whatever happens to the events (dropped, duplicated, reordered, naming other
//! Call-IDs or channels), one reconcile that starts after the damage makes every figure equal
//! FreeSWITCH's truth, and the events that follow keep it so.
//!
//! The truth is a small PBX model with FreeSWITCH's default registration rule (one binding per
//! user@realm, a REGISTER under a new Call-ID replaces it, an unregister under any Call-ID
//! removes it) and two-leg calls. Its listings answer the reconcile exactly as `show channels
//! as json` and `show registrations as json` would.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tokio::time::Instant;

use super::api::{ChannelRow, Registration, RegistrationList};
use super::{HeaderMap, LinkState, PbxStatus, RefreshResult};

const REALM: &str = "192.0.2.10";

/// What can happen on the PBX.
#[derive(Debug, Clone)]
enum Op {
    /// User `u` registers under Call-ID generation `g` (a new generation is a reboot).
    Register {
        user: u8,
        generation: u8,
        webrtc: bool,
    },
    Unregister {
        user: u8,
    },
    /// A call from the caller, bridged to a second leg if `answered`.
    Call {
        answered: bool,
    },
    /// The oldest live call ends (B leg first, as a caller's BYE does).
    HangUp,
}

/// How an event is damaged on the way.
#[derive(Debug, Clone, Copy)]
enum Damage {
    None,
    Drop,
    Duplicate,
    /// Delivered after the next event.
    Late,
    /// Also delivered: an event about a Call-ID or channel this PBX never had.
    Foreign,
}

#[derive(Default)]
struct Truth {
    /// user → (Call-ID, WebRTC)
    bindings: BTreeMap<String, (String, bool)>,
    /// uuid → call uuid, creation order
    channels: Vec<(String, String)>,
    next_id: u32,
}

impl Truth {
    fn id(&mut self, what: &str) -> String {
        self.next_id += 1;
        format!("{what}-{}", self.next_id)
    }

    /// Applies `op` and returns the events FreeSWITCH fires for it.
    fn apply(&mut self, op: &Op) -> Vec<HeaderMap> {
        let sofia = |sub: &str| HeaderMap::new().with("Event-Name", "CUSTOM").with("Event-Subclass", sub);
        match op {
            Op::Register { user, generation, webrtc } => {
                let user = format!("u{user}");
                let call_id = format!("{user}-boot{generation}");
                let transport = if *webrtc { "wss" } else { "udp" };
                let update = self.bindings.get(&user).is_some_and(|(c, _)| *c == call_id);
                self.bindings.insert(user.clone(), (call_id.clone(), *webrtc));
                vec![sofia("sofia::register")
                    .with("from-user", &user)
                    .with("from-host", REALM)
                    .with("call-id", &call_id)
                    .with("contact", &format!("<sip:{user}@198.51.100.7;transport={transport}>"))
                    .with("update-reg", if update { "true" } else { "false" })]
            }
            Op::Unregister { user } => {
                let user = format!("u{user}");
                match self.bindings.remove(&user) {
                    // The phone says goodbye under a Call-ID of its own, not the binding's.
                    Some(_) => vec![sofia("sofia::unregister")
                        .with("from-user", &user)
                        .with("from-host", REALM)
                        .with("call-id", &format!("{user}-bye"))],
                    None => Vec::new(),
                }
            }
            Op::Call { answered } => {
                let a = self.id("a");
                let mut out = vec![channel("CHANNEL_CREATE", &a, &a, "inbound")];
                self.channels.push((a.clone(), a.clone()));
                let b = self.id("b");
                out.push(channel("CHANNEL_CREATE", &b, &a, "outbound"));
                self.channels.push((b.clone(), a.clone()));
                if *answered {
                    out.push(channel("CHANNEL_ANSWER", &a, &a, "inbound"));
                    out.push(channel("CHANNEL_BRIDGE", &a, &a, "inbound").with("Other-Leg-Unique-ID", &b));
                }
                out
            }
            Op::HangUp => {
                let Some((a, _)) = self.channels.iter().find(|(u, c)| u == c).cloned() else {
                    return Vec::new();
                };
                let legs: Vec<(String, String)> =
                    self.channels.iter().filter(|(_, c)| *c == a).rev().cloned().collect();
                self.channels.retain(|(_, c)| *c != a);
                legs.iter()
                    .map(|(u, c)| {
                        let dir = if u == c { "inbound" } else { "outbound" };
                        channel("CHANNEL_HANGUP_COMPLETE", u, c, dir).with("Hangup-Cause", "NORMAL_CLEARING")
                    })
                    .collect()
            }
        }
    }

    /// The reconcile's answers, as of now.
    fn listings(&self) -> RefreshResult {
        let rows = self
            .bindings
            .iter()
            .map(|(user, (call_id, webrtc))| Registration {
                user: user.clone(),
                realm: REALM.into(),
                call_id: call_id.clone(),
                url: format!("sofia/internal/sip:{user}@198.51.100.7:5060"),
                network_proto: if *webrtc { "wss" } else { "udp" }.into(),
                ..Registration::default()
            })
            .collect::<Vec<_>>();
        RefreshResult {
            channel_list: Some(
                self.channels
                    .iter()
                    .map(|(u, c)| ChannelRow {
                        uuid: u.clone(),
                        call_uuid: c.clone(),
                        name: String::new(),
                        ..ChannelRow::default()
                    })
                    .collect(),
            ),
            registrations: Some(RegistrationList { total: rows.len() as u64, rows }),
            ..RefreshResult::default()
        }
    }

    fn figures(&self) -> (Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
        let calls = self.channels.iter().filter(|(u, c)| u == c).count() as u64;
        let webrtc = self.bindings.values().filter(|(_, w)| *w).count() as u64;
        (Some(calls), Some(self.channels.len() as u64), Some(self.bindings.len() as u64), Some(webrtc))
    }
}

fn channel(name: &str, uuid: &str, call: &str, dir: &str) -> HeaderMap {
    HeaderMap::new()
        .with("Event-Name", name)
        .with("Unique-ID", uuid)
        .with("Channel-Call-UUID", call)
        .with("Call-Direction", dir)
        .with("Caller-Caller-ID-Number", "1001")
        .with("Caller-Destination-Number", "1000")
}

fn foreign(n: usize) -> HeaderMap {
    match n % 3 {
        0 => HeaderMap::new()
            .with("Event-Name", "CUSTOM")
            .with("Event-Subclass", "sofia::unregister")
            .with("from-user", &format!("stranger{n}"))
            .with("from-host", "other.example")
            .with("call-id", &format!("foreign-{n}")),
        1 => channel("CHANNEL_HANGUP_COMPLETE", &format!("foreign-{n}"), &format!("foreign-{n}"), "inbound"),
        _ => HeaderMap::new()
            .with("Event-Name", "CUSTOM")
            .with("Event-Subclass", "sofia::register")
            .with("from-user", &format!("u{}", n % 6))
            .with("from-host", REALM)
            .with("call-id", &format!("foreign-{n}")),
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 0u8..3, any::<bool>()).prop_map(|(user, generation, webrtc)| Op::Register {
            user,
            generation,
            webrtc
        }),
        (0u8..6).prop_map(|user| Op::Unregister { user }),
        any::<bool>().prop_map(|answered| Op::Call { answered }),
        Just(Op::HangUp),
    ]
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => Just(Damage::None),
        1 => Just(Damage::Drop),
        1 => Just(Damage::Duplicate),
        1 => Just(Damage::Late),
        1 => Just(Damage::Foreign),
    ]
}

/// Delivers `events` damaged as `damages` says.
fn deliver(pbx: &mut PbxStatus, events: &[HeaderMap], damages: &[Damage], now: Instant) {
    let mut late: Option<&HeaderMap> = None;
    for (i, ev) in events.iter().enumerate() {
        match damages.get(i).copied().unwrap_or(Damage::None) {
            Damage::None => {
                pbx.apply_event(ev, now);
            }
            Damage::Drop => {}
            Damage::Duplicate => {
                pbx.apply_event(ev, now);
                pbx.apply_event(ev, now);
            }
            Damage::Late => {
                if let Some(prev) = late.replace(ev) {
                    pbx.apply_event(prev, now);
                }
                continue;
            }
            Damage::Foreign => {
                pbx.apply_event(ev, now);
                pbx.apply_event(&foreign(i), now);
            }
        }
        if let Some(prev) = late.take() {
            pbx.apply_event(prev, now);
        }
    }
    if let Some(prev) = late {
        pbx.apply_event(prev, now);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Damaged history, then a reconcile that races faithful events (some land before the
    /// snapshot, some after, some after the answer), then more faithful events: the figures
    /// equal the truth, and stay equal.
    #[test]
    fn one_reconcile_after_the_damage_restores_the_truth(
        before in proptest::collection::vec((op(), damage()), 0..40),
        racing in proptest::collection::vec(op(), 0..12),
        cuts in (0usize..13, 0usize..13),
        after in proptest::collection::vec(op(), 0..12),
    ) {
        let now = Instant::now();
        let mut truth = Truth::default();
        let mut pbx = PbxStatus::new("pbx");
        pbx.set_link(LinkState::Up);
        pbx.begin_refresh();
        pbx.apply_refresh(&truth.listings(), now);
        for (op, d) in &before {
            let events = truth.apply(op);
            let damages: Vec<Damage> = events.iter().map(|_| *d).collect();
            deliver(&mut pbx, &events, &damages, now);
        }
        // The reconcile starts; FreeSWITCH answers after `snapshot` racing ops; their
        // events reach the model up to `answered` before the answer does.
        let mut racing_events: Vec<Vec<HeaderMap>> = Vec::new();
        let snapshot = cuts.0.min(racing.len());
        let answered = cuts.1.min(racing.len());
        pbx.begin_refresh();
        let mut listing = None;
        for (i, op) in racing.iter().enumerate() {
            if i == snapshot {
                listing = Some(truth.listings());
            }
            racing_events.push(truth.apply(op));
        }
        let listing = listing.unwrap_or_else(|| truth.listings());
        for events in &racing_events[..answered] {
            deliver(&mut pbx, events, &[], now);
        }
        pbx.apply_refresh(&listing, now);
        for events in &racing_events[answered..] {
            deliver(&mut pbx, events, &[], now);
        }
        let figures = |p: &PbxStatus| (p.calls(), p.channels(), p.registrations(), p.webrtc_registrations());
        prop_assert_eq!(figures(&pbx), truth.figures());
        for op in &after {
            let events = truth.apply(op);
            deliver(&mut pbx, &events, &[], now);
            prop_assert_eq!(figures(&pbx), truth.figures());
        }
    }

    /// Damage is noticed: a stream that loses an event leaves a sign of drift often enough
    /// that the link reconciles at once rather than at the end of the period. (Not every
    /// loss can be seen, which is why the period exists.)
    #[test]
    fn foreign_and_unknown_events_are_reported_as_drift(n in 0usize..60) {
        let now = Instant::now();
        let mut pbx = PbxStatus::new("pbx");
        pbx.set_link(LinkState::Up);
        pbx.begin_refresh();
        pbx.apply_refresh(&Truth::default().listings(), now);
        prop_assert_eq!(pbx.take_drift(), None);
        pbx.apply_event(&foreign(n), now);
        let registers_new = n % 3 == 2;
        // A REGISTER for a binding not known yet is simply a new binding.
        prop_assert_eq!(pbx.take_drift().is_some(), !registers_new);
    }
}
