//! The busy-lamp field's model: what each watched extension is doing, from the same channel
//! and registration tracking as the counts.
//!
//! # Which extension a leg belongs to
//!
//! A leg is one phone's side of a call. Its extension is the user part of its presence ID
//! (`Channel-Presence-ID`, `presence_id` in `show channels`): FreeSWITCH's own presence and
//! BLF (mod_sofia) go by it, and it names the caller on a phone's inbound leg and the callee
//! on a `user/` leg. A leg without one (a gateway's) falls back to its numbers: the caller's
//! (`Caller-Caller-ID-Number`) on an inbound leg, the dialled one
//! (`Caller-Destination-Number`) on an outbound leg. Legs of extensions nobody watches are
//! not kept.
//!
//! # A leg's phase, an extension's state
//!
//! * an outbound leg not answered yet (`DOWN`, `RINGING`, `EARLY`): the phone **rings**;
//! * an inbound leg not answered yet: the caller's phone is dialling, **in a call** as far as
//!   a lamp goes (it cannot take another);
//! * answered (`ACTIVE`, `UNHELD`, `Answer-State: answered`): **in a call**;
//! * `HELD`, or CHANNEL_HOLD: **on hold** (the leg whose phone or `uuid_hold` put the call on
//!   hold; the other side stays in a call); CHANNEL_UNHOLD: in a call again;
//! * hung up (`CHANNEL_HANGUP`, `CHANNEL_HANGUP_COMPLETE`, `CHANNEL_DESTROY`, callstate
//!   `HANGUP`): gone.
//!
//! An extension with several legs shows the most urgent: ringing, then in a call, then on
//! hold; with none it is idle when one of its bindings is registered, unregistered otherwise.
//!
//! # Rebuilds
//!
//! The merge rule is the counts' ([`super::tracking`]): a rebuild's `show channels as json`
//! replaces the legs, then every leg change since the rebuild began is replayed over it in
//! order (a phase is set, not toggled, so the replay ends at the truth once every event up to
//! the snapshot has arrived). Without a listing (a PBX too big to list, or channels beyond
//! [`MAX_LINE_LEGS`]) or without bindings followed one by one, the states are unknown and the
//! display says so instead of guessing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::api::ChannelRow;
use super::headers::Headers;

/// Most extensions one server's lamps follow (every BLF page's extensions together).
pub const MAX_LINES: usize = 4_096;
/// Most legs of watched extensions kept; beyond it the lamps are unknown until a rebuild finds
/// fewer.
pub const MAX_LINE_LEGS: usize = 8_192;
/// Most leg changes kept for replay over a rebuild in flight; beyond it the lamps are unknown
/// until the next rebuild.
const JOURNAL_LIMIT: usize = 4_096;
/// How many hung-up legs are remembered, so a late event cannot bring one back.
const ENDED_MEMORY: usize = 4_096;

/// What one extension is doing, least urgent first (an extension shows the most urgent of
/// its legs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineState {
    /// No binding registered and no call.
    Unregistered,
    /// Registered, no call.
    Idle,
    /// Its call is on hold.
    Held,
    /// In a call (or dialling out).
    InCall,
    /// Its phone rings.
    Ringing,
}

impl LineState {
    /// Every state, least urgent first.
    pub const ALL: [LineState; 5] =
        [LineState::Unregistered, LineState::Idle, LineState::Held, LineState::InCall, LineState::Ringing];

    /// The state in words.
    pub fn word(self) -> &'static str {
        match self {
            Self::Unregistered => "not registered",
            Self::Idle => "idle",
            Self::Held => "on hold",
            Self::InCall => "in a call",
            Self::Ringing => "ringing",
        }
    }
}

/// The watched extensions' states at one moment, for the scene.
#[derive(Debug, Clone)]
pub struct LineStates {
    /// Sorted, without duplicates.
    names: Arc<[String]>,
    states: Vec<LineState>,
}

impl PartialEq for LineStates {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.names, &other.names) || self.names == other.names) && self.states == other.states
    }
}

impl Eq for LineStates {}

impl LineStates {
    /// States given one by one (the selftest's and tests' pictures); a name given twice
    /// keeps its last state.
    pub fn from_pairs(pairs: &[(&str, LineState)]) -> Self {
        let mut map: Vec<(String, LineState)> = Vec::new();
        for (n, s) in pairs {
            match map.iter_mut().find(|(m, _)| m == n) {
                Some(slot) => slot.1 = *s,
                None => map.push(((*n).to_owned(), *s)),
            }
        }
        map.sort();
        let names: Arc<[String]> = map.iter().map(|(n, _)| n.clone()).collect();
        LineStates { names, states: map.into_iter().map(|(_, s)| s).collect() }
    }

    /// The state of `extension`, if it is watched.
    pub fn get(&self, extension: &str) -> Option<LineState> {
        self.names.binary_search_by(|n| n.as_str().cmp(extension)).ok().map(|i| self.states[i])
    }

    /// Several servers' states as one: each extension shows its most urgent state anywhere
    /// (a phone registered on either server is registered). `None` when any is unknown.
    pub fn combine(all: &[Option<&LineStates>]) -> Option<LineStates> {
        let mut out: Option<LineStates> = None;
        for states in all {
            let states = (*states)?;
            match &mut out {
                None => out = Some(states.clone()),
                Some(acc) => {
                    for (name, s) in states.names.iter().zip(&states.states) {
                        if let Ok(i) = acc.names.binary_search(name) {
                            acc.states[i] = acc.states[i].max(*s);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The phase of one leg, as a lamp sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ringing,
    InCall,
    Held,
}

impl Phase {
    fn state(self) -> LineState {
        match self {
            Phase::Ringing => LineState::Ringing,
            Phase::InCall => LineState::InCall,
            Phase::Held => LineState::Held,
        }
    }

    /// A leg's phase from its call state, direction and answer state (see the module docs).
    fn of(callstate: &str, outbound: bool, answered: bool) -> Phase {
        match callstate {
            "HELD" => Phase::Held,
            "ACTIVE" | "UNHELD" => Phase::InCall,
            _ if answered => Phase::InCall,
            _ if outbound => Phase::Ringing,
            _ => Phase::InCall,
        }
    }
}

#[derive(Debug, Clone)]
enum LegOp {
    Set { uuid: String, line: u32, phase: Phase },
    Gone { uuid: String },
}

/// The extension a leg belongs to: its presence ID's user, else its caller's number (inbound)
/// or the dialled number (outbound).
fn extension_of<'a>(presence: Option<&'a str>, outbound: bool, caller: &'a str, dialled: &'a str) -> &'a str {
    match presence.and_then(|p| p.split('@').next()).filter(|u| !u.is_empty()) {
        Some(user) => user,
        None if outbound => dialled,
        None => caller,
    }
}

/// The legs of watched extensions; see the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineSet {
    names: Arc<[String]>,
    index: HashMap<String, u32>,
    /// Unique-ID → (line, phase).
    legs: HashMap<String, (u32, Phase)>,
    ended: HashSet<String>,
    ended_order: VecDeque<String>,
    journal: Vec<LegOp>,
    refreshing: bool,
    /// The journal filled up during the rebuild in flight.
    journal_full: bool,
    /// Legs are followed one by one since the last rebuild's listing.
    known: bool,
    /// A rebuild landed on a full journal: the link should rebuild again at once.
    behind: bool,
}

impl LineSet {
    /// Follows `extensions` (sorted and deduplicated here, at most [`MAX_LINES`]).
    pub(crate) fn watch(&mut self, extensions: &[String]) {
        let mut names: Vec<String> = extensions.to_vec();
        names.sort();
        names.dedup();
        names.truncate(MAX_LINES);
        self.index = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        self.names = names.into();
        self.legs.clear();
        self.known = false;
    }

    /// Whether the last rebuild could not replay every change made during it (see
    /// [`Drift::LampsBehind`](super::Drift::LampsBehind)); cleared by the call.
    pub(crate) fn take_behind(&mut self) -> bool {
        std::mem::take(&mut self.behind)
    }

    pub(crate) fn watching(&self) -> bool {
        !self.names.is_empty()
    }

    fn record(&mut self, op: LegOp) {
        self.apply(&op);
        if self.refreshing {
            if self.journal.len() < JOURNAL_LIMIT {
                self.journal.push(op);
            } else {
                self.journal_full = true;
            }
        }
    }

    fn apply(&mut self, op: &LegOp) {
        match op {
            LegOp::Set { uuid, line, phase } => {
                if self.ended.contains(uuid) {
                    return;
                }
                if self.legs.len() >= MAX_LINE_LEGS && !self.legs.contains_key(uuid) {
                    self.known = false;
                    return;
                }
                self.legs.insert(uuid.clone(), (*line, *phase));
            }
            LegOp::Gone { uuid } => {
                self.legs.remove(uuid);
                if self.ended.insert(uuid.clone()) {
                    self.ended_order.push_back(uuid.clone());
                    if self.ended_order.len() > ENDED_MEMORY {
                        if let Some(old) = self.ended_order.pop_front() {
                            self.ended.remove(&old);
                        }
                    }
                }
            }
        }
    }

    /// A channel event named `name` (upper case).
    pub(crate) fn on_event(&mut self, name: &str, ev: &impl Headers) {
        if !self.watching() {
            return;
        }
        let Some(uuid) = ev.value("Unique-ID") else { return };
        let callstate = ev.value("Channel-Call-State").unwrap_or("");
        let gone = matches!(name, "CHANNEL_HANGUP" | "CHANNEL_HANGUP_COMPLETE" | "CHANNEL_DESTROY")
            || callstate == "HANGUP"
            || ev.value("Answer-State") == Some("hangup");
        if gone {
            self.record(LegOp::Gone { uuid: uuid.to_owned() });
            return;
        }
        let outbound = ev
            .value("Call-Direction")
            .or_else(|| ev.value("Caller-Direction"))
            .is_some_and(|d| d.eq_ignore_ascii_case("outbound"));
        let ext = extension_of(
            ev.value("Channel-Presence-ID"),
            outbound,
            ev.value("Caller-Caller-ID-Number").unwrap_or(""),
            ev.value("Caller-Destination-Number").unwrap_or(""),
        );
        let Some(&line) = self.index.get(ext) else { return };
        // CHANNEL_ANSWER carries the call state from before the answer.
        let answered = name == "CHANNEL_ANSWER" || ev.value("Answer-State") == Some("answered");
        let phase = match name {
            "CHANNEL_HOLD" => Phase::Held,
            "CHANNEL_UNHOLD" => Phase::InCall,
            _ => Phase::of(callstate, outbound, answered),
        };
        self.record(LegOp::Set { uuid: uuid.to_owned(), line, phase });
    }

    pub(crate) fn begin_refresh(&mut self) {
        self.refreshing = true;
        self.journal_full = false;
        self.journal.clear();
    }

    /// A rebuild landed: `rows` is its channel listing (`None` when it had none).
    pub(crate) fn apply_refresh(&mut self, rows: Option<&[ChannelRow]>) {
        let journal = std::mem::take(&mut self.journal);
        let full = std::mem::take(&mut self.journal_full);
        self.refreshing = false;
        if !self.watching() {
            return;
        }
        let Some(rows) = rows else {
            self.legs.clear();
            self.known = false;
            return;
        };
        self.legs.clear();
        self.known = !full;
        self.behind |= full;
        for row in rows {
            let outbound = row.direction.eq_ignore_ascii_case("outbound");
            let presence = Some(row.presence_id.as_str());
            let ext = extension_of(presence, outbound, &row.cid_num, &row.dest);
            if let Some(&line) = self.index.get(ext) {
                let phase = Phase::of(&row.callstate, outbound, false);
                self.apply(&LegOp::Set { uuid: row.uuid.clone(), line, phase });
            }
        }
        for op in &journal {
            self.apply(op);
        }
    }

    /// The states, when they can be vouched for: `registered` says whether an extension has
    /// a binding (`None`: bindings are not followed one by one).
    pub(crate) fn states(&self, registered: Option<&dyn Fn(&str) -> bool>) -> Option<LineStates> {
        if !self.watching() || !self.known {
            return None;
        }
        let registered = registered?;
        let mut states: Vec<LineState> = self
            .names
            .iter()
            .map(|n| if registered(n) { LineState::Idle } else { LineState::Unregistered })
            .collect();
        for (line, phase) in self.legs.values() {
            if let Some(s) = states.get_mut(*line as usize) {
                *s = (*s).max(phase.state());
            }
        }
        Some(LineStates { names: self.names.clone(), states })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::HeaderMap;

    fn leg(name: &str, uuid: &str, dir: &str, presence: &str, state: &str) -> HeaderMap {
        HeaderMap::new()
            .with("Event-Name", name)
            .with("Unique-ID", uuid)
            .with("Call-Direction", dir)
            .with("Channel-Presence-ID", presence)
            .with("Channel-Call-State", state)
            .with("Caller-Caller-ID-Number", "1001")
            .with("Caller-Destination-Number", "1000")
    }

    fn set(exts: &[&str]) -> LineSet {
        let mut l = LineSet::default();
        l.watch(&exts.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>());
        l.begin_refresh();
        l.apply_refresh(Some(&[]));
        l
    }

    fn feed(l: &mut LineSet, ev: &HeaderMap) {
        l.on_event(ev.value("Event-Name").unwrap(), ev);
    }

    fn states(l: &LineSet, registered: &[&str]) -> Vec<LineState> {
        let f = |u: &str| registered.contains(&u);
        let s = l.states(Some(&f)).expect("known");
        ["1000", "1001", "1002"].iter().filter_map(|e| s.get(e)).collect()
    }

    use LineState::*;

    #[test]
    fn ring_answer_hold_unhold_hang_up() {
        let mut l = set(&["1000", "1001", "1002"]);
        let regs = ["1000", "1001"];
        assert_eq!(states(&l, &regs), [Idle, Idle, Unregistered]);
        feed(&mut l, &leg("CHANNEL_CREATE", "a", "inbound", "1001@pbx", "DOWN"));
        feed(&mut l, &leg("CHANNEL_CREATE", "b", "outbound", "1000@pbx", "DOWN"));
        assert_eq!(states(&l, &regs), [Ringing, InCall, Unregistered], "the callee rings, the caller dials");
        feed(&mut l, &leg("CHANNEL_CALLSTATE", "b", "outbound", "1000@pbx", "RINGING"));
        assert_eq!(states(&l, &regs)[0], Ringing);
        // switch_channel.c: CHANNEL_ANSWER fires before the call state moves to ACTIVE.
        feed(&mut l, &leg("CHANNEL_ANSWER", "b", "outbound", "1000@pbx", "RINGING"));
        assert_eq!(states(&l, &regs), [InCall, InCall, Unregistered]);
        feed(&mut l, &leg("CHANNEL_CALLSTATE", "b", "outbound", "1000@pbx", "HELD"));
        assert_eq!(states(&l, &regs), [Held, InCall, Unregistered], "the holder's lamp, not the other's");
        feed(&mut l, &leg("CHANNEL_UNHOLD", "b", "outbound", "1000@pbx", "UNHELD"));
        assert_eq!(states(&l, &regs)[0], InCall);
        feed(&mut l, &leg("CHANNEL_HOLD", "b", "outbound", "1000@pbx", "ACTIVE"));
        assert_eq!(states(&l, &regs)[0], Held, "CHANNEL_HOLD on a leg whose state did not change");
        feed(&mut l, &leg("CHANNEL_HANGUP", "b", "outbound", "1000@pbx", "HANGUP"));
        feed(&mut l, &leg("CHANNEL_HANGUP_COMPLETE", "a", "inbound", "1001@pbx", "HANGUP"));
        assert_eq!(states(&l, &regs), [Idle, Idle, Unregistered]);
        feed(&mut l, &leg("CHANNEL_CALLSTATE", "b", "outbound", "1000@pbx", "ACTIVE"));
        assert_eq!(states(&l, &regs)[0], Idle, "a late event never brings a hung-up leg back");
    }

    #[test]
    fn the_most_urgent_leg_wins_and_numbers_stand_in_for_a_missing_presence() {
        let mut l = set(&["1000", "1001"]);
        feed(&mut l, &leg("CHANNEL_ANSWER", "x", "inbound", "1000@pbx", "ACTIVE"));
        feed(&mut l, &leg("CHANNEL_HOLD", "y", "outbound", "1000@pbx", "HELD"));
        feed(&mut l, &leg("CHANNEL_CREATE", "z", "outbound", "1000@pbx", "DOWN"));
        assert_eq!(states(&l, &["1000"])[0], Ringing, "a second call rings while one talks");
        feed(&mut l, &leg("CHANNEL_HANGUP", "z", "outbound", "1000@pbx", "HANGUP"));
        assert_eq!(states(&l, &["1000"])[0], InCall);
        // A gateway's legs have no presence: the caller's number on the way in.
        let gw = leg("CHANNEL_CREATE", "g", "inbound", "", "DOWN");
        let gw = HeaderMap::new()
            .with("Event-Name", "CHANNEL_CREATE")
            .with("Unique-ID", "g")
            .with("Call-Direction", "inbound")
            .with("Caller-Caller-ID-Number", "1001")
            .with("Caller-Destination-Number", gw.value("Caller-Destination-Number").unwrap());
        feed(&mut l, &gw);
        assert_eq!(states(&l, &["1000"])[1], InCall);
    }

    #[test]
    fn unwatched_extensions_keep_nothing() {
        let mut l = set(&["2000"]);
        feed(&mut l, &leg("CHANNEL_CREATE", "a", "inbound", "1001@pbx", "DOWN"));
        assert!(l.legs.is_empty());
        let mut none = LineSet::default();
        none.on_event("CHANNEL_CREATE", &leg("CHANNEL_CREATE", "a", "inbound", "1001@pbx", "DOWN"));
        assert!(none.states(Some(&|_: &str| true)).is_none(), "nothing watched, nothing to show");
    }

    fn row(uuid: &str, dir: &str, presence: &str, callstate: &str) -> ChannelRow {
        ChannelRow {
            uuid: uuid.into(),
            direction: dir.into(),
            presence_id: presence.into(),
            callstate: callstate.into(),
            ..ChannelRow::default()
        }
    }

    #[test]
    fn a_rebuild_replaces_the_legs_and_replays_what_changed_meanwhile() {
        let mut l = set(&["1000", "1001", "1002"]);
        let regs = ["1000", "1001", "1002"];
        feed(&mut l, &leg("CHANNEL_ANSWER", "old", "inbound", "1002@pbx", "ACTIVE"));
        l.begin_refresh();
        // During the rebuild: 1000 answers and holds (the listing, taken earlier, says RINGING);
        // 1001's leg hangs up (the listing still has it).
        feed(&mut l, &leg("CHANNEL_ANSWER", "b", "outbound", "1000@pbx", "RINGING"));
        feed(&mut l, &leg("CHANNEL_HOLD", "b", "outbound", "1000@pbx", "HELD"));
        feed(&mut l, &leg("CHANNEL_HANGUP", "a", "inbound", "1001@pbx", "HANGUP"));
        assert!(l.states(Some(&|_: &str| true)).is_some());
        l.apply_refresh(Some(&[
            row("b", "outbound", "1000@pbx", "RINGING"),
            row("a", "inbound", "1001@pbx", "ACTIVE"),
        ]));
        assert_eq!(states(&l, &regs), [Held, Idle, Idle], "1002's call ended unseen: the listing says so");
        // Counts only: unknown, not guessed.
        l.begin_refresh();
        l.apply_refresh(None);
        assert!(l.states(Some(&|_: &str| true)).is_none());
        // A listing brings them back; a listed HELD leg is on hold.
        l.begin_refresh();
        l.apply_refresh(Some(&[row("c", "inbound", "1002@pbx", "HELD")]));
        assert_eq!(states(&l, &regs), [Idle, Idle, Held]);
        assert!(l.states(None).is_none(), "bindings not followed one by one: unknown");
    }

    #[test]
    fn a_flooded_journal_leaves_the_lamps_unknown_until_the_next_rebuild() {
        let mut l = set(&["1000"]);
        l.begin_refresh();
        for i in 0..=JOURNAL_LIMIT {
            feed(&mut l, &leg("CHANNEL_CALLSTATE", &format!("u{i}"), "inbound", "1000@pbx", "ACTIVE"));
        }
        l.apply_refresh(Some(&[]));
        assert!(l.states(Some(&|_: &str| true)).is_none());
        assert!(l.take_behind(), "the link is told to rebuild again");
        assert!(!l.take_behind());
        l.begin_refresh();
        l.apply_refresh(Some(&[]));
        assert_eq!(l.states(Some(&|_: &str| true)).and_then(|s| s.get("1000")), Some(Idle));
    }

    #[test]
    fn legs_are_bounded() {
        let mut l = set(&["1000"]);
        for i in 0..=MAX_LINE_LEGS {
            feed(&mut l, &leg("CHANNEL_CALLSTATE", &format!("u{i}"), "inbound", "1000@pbx", "ACTIVE"));
        }
        assert_eq!(l.legs.len(), MAX_LINE_LEGS);
        assert!(l.states(Some(&|_: &str| true)).is_none(), "beyond the bound: unknown");
    }

    #[test]
    fn servers_combine_to_the_most_urgent_state() {
        let a = LineStates::from_pairs(&[("1000", Idle), ("1001", Unregistered)]);
        let b = LineStates::from_pairs(&[("1000", Unregistered), ("1001", Ringing)]);
        let c = LineStates::combine(&[Some(&a), Some(&b)]).unwrap();
        assert_eq!((c.get("1000"), c.get("1001"), c.get("1002")), (Some(Idle), Some(Ringing), None));
        assert_eq!(LineStates::combine(&[Some(&a), None]), None);
    }
}
