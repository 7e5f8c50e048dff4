//! Live channel and registration sets, and how a refresh merges with events.
//!
//! # The merge rule
//!
//! Events are set operations keyed by an ID (channel Unique-ID, registration Call-ID), so a
//! duplicated or reordered event cannot drive a count negative or count twice:
//!
//! * A channel that hung up is remembered (a bounded "ended" set), so a late or repeated
//!   CHANNEL_CREATE or CHANNEL_HANGUP_COMPLETE for it changes nothing.
//! * A refresh that lists IDs (`show channels as json`, `show registrations [as json]`) wins:
//!   the sets are rebuilt from it, minus channels already known to have ended, plus channels
//!   created and registrations changed since
//!   [`PbxStatus::begin_refresh`](super::PbxStatus::begin_refresh) (events that may postdate
//!   the snapshot are replayed on top of it; replaying is harmless because the operations are
//!   idempotent). Once every event up to the snapshot has arrived, the sets equal the truth,
//!   whichever side of the snapshot each in-flight event fell; a property test checks this.
//! * A refresh that gives only counts also wins, but its entries have no IDs: they are kept
//!   as an "untracked" number that a hang-up or unregister of an unknown ID decrements.
//!   Counts cannot say whether an in-flight event is already included, so in this mode each
//!   HEARTBEAT's `Session-Count` re-bases the channel figure; drift lasts one heartbeat at
//!   most. With a listing, heartbeats are not used (they race channel creation by design).
//!
//! So the daemon should refresh with `show channels as json` and `show registrations as
//! json`; the counts are a fallback for servers where listings are too large to fetch.
//!
//! # Bindings
//!
//! With FreeSWITCH's shipped defaults (no `multiple-registrations`, in sofia's profile or in
//! switch.conf) a REGISTER replaces every binding of its user@realm, whatever its Call-ID
//! (`sofia_reg_handle_register_token` deletes `where sip_user and sip_host` before it inserts;
//! `switch_core_add_registration` does the same in the core `registrations` table that `show
//! registrations` prints), and an unregister removes them all. So bindings are keyed by
//! user@realm, and a phone that reboots with a new Call-ID is still one binding. A server
//! configured with `multiple-registrations` keeps one binding per Call-ID; the server setting
//! `multiple_registrations` makes the model key them so.
//!
//! # Drift
//!
//! Some events say the model has lost track: a register for a binding known under another
//! Call-ID, an unregister or hang-up of something unknown (a count that would go below
//! zero), an answer for a channel never seen. Each is recorded as a [`Drift`] for the link to
//! take and reconcile at once, rather than wait for the next periodic refresh.

use std::collections::{HashMap, HashSet, VecDeque};

use std::fmt;

use super::api::{ChannelRow, RegistrationList};

/// A sign that the model has lost track of the server; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// A REGISTER for a binding the model knows under another Call-ID.
    NewCallId,
    /// An unregister or expiry of a binding the model does not know.
    UnknownUnregister,
    /// A hang-up of a channel the model does not know.
    UnknownHangup,
    /// An answer or bridge for a channel the model never saw created.
    UnknownChannel,
    /// More busy-lamp changes arrived during a rebuild than are kept to replay over it: the
    /// lamps are unknown until another rebuild.
    LampsBehind,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NewCallId => "a binding re-registered under a new Call-ID",
            Self::UnknownUnregister => "an unknown binding unregistered",
            Self::UnknownHangup => "an unknown channel hung up",
            Self::UnknownChannel => "an event for a channel never seen",
            Self::LampsBehind => "more lamp changes during a rebuild than kept to replay",
        })
    }
}

/// Most channels followed one by one. Beyond it (a flood of CHANNEL_CREATE without hang-ups,
/// or a PBX too big to list) new channels are only counted, the figures come from the `api`
/// counts at each reconcile and the display marks them as not followed one by one.
pub const MAX_TRACKED_CHANNELS: usize = 8_192;
/// Most registration bindings followed one by one; beyond it, as for channels, bindings are
/// counted and the WebRTC figure, which needs them one by one, is unknown.
pub const MAX_TRACKED_REGISTRATIONS: usize = 20_000;
/// How many ended channel IDs are remembered to absorb late duplicates.
const ENDED_MEMORY: usize = 4096;
/// How many calls that vanished without a hang-up one refresh reports (for the alerts about
/// them to end); beyond that many the display's alert queue is overrun anyway.
pub(crate) const VANISHED_REPORTED: usize = 64;
/// How many registration events are kept for replay over a refresh.
const JOURNAL_LIMIT: usize = 1024;

/// Live channels and the calls they form.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChannelSet {
    /// Unique-ID → Channel-Call-UUID.
    live: HashMap<String, String>,
    ended: HashSet<String>,
    ended_order: VecDeque<String>,
    created_during_refresh: HashMap<String, String>,
    /// Loopback B legs among the live channels: never a call by themselves.
    loopback_b: HashSet<String>,
    refreshing: bool,
    untracked_channels: u64,
    untracked_calls: u64,
    /// Set by a counts-only refresh: heartbeats then re-base the channel figure.
    counts_mode: bool,
    channels_known: bool,
    calls_known: bool,
    drift: Option<Drift>,
}

impl ChannelSet {
    pub(crate) fn take_drift(&mut self) -> Option<Drift> {
        self.drift.take()
    }

    fn noticed(&mut self, d: Drift) {
        // Before the first refresh nothing is known, so nothing can be missing.
        if self.channels_known {
            self.drift.get_or_insert(d);
        }
    }

    /// An event about a channel that should be live (answer, bridge): one never seen is a
    /// sign of missed events. Counts-only tracking cannot tell.
    pub(crate) fn expect_live(&mut self, uuid: &str) {
        if !self.counts_mode && !self.live.contains_key(uuid) && !self.ended.contains(uuid) {
            self.noticed(Drift::UnknownChannel);
        }
    }

    pub(crate) fn channels(&self) -> Option<u64> {
        self.channels_known.then(|| self.untracked_channels + self.live.len() as u64)
    }

    /// Calls as people count them: the live channels grouped by the call they belong to.
    ///
    /// * A B leg carries the A leg's UUID from its CHANNEL_CREATE on, so a ringing pair is one
    ///   call (FreeSWITCH's `basic_calls` view, behind `show calls`, counts the ringing B leg
    ///   as a call of its own until CHANNEL_BRIDGE puts the pair in its `calls` table).
    /// * A leg whose call's head is gone is a call by itself: after an unbridge the ending
    ///   call counts once until its last leg hangs up, and a leg that lives on after its
    ///   caller left (a transfer, a parked or queued leg) still counts.
    /// * A loopback B leg, and every leg that hangs off it, belong to the call that dialled
    ///   the loopback: never a call by themselves.
    pub(crate) fn calls(&self) -> Option<u64> {
        let mut roots: HashSet<&str> = HashSet::new();
        for uuid in self.live.keys() {
            if let Some(root) = self.root(uuid) {
                roots.insert(root);
            }
        }
        self.calls_known.then(|| self.untracked_calls + roots.len() as u64)
    }

    /// The channel that stands for `uuid`'s call, `None` for a loopback B leg's side.
    fn root<'a>(&'a self, uuid: &'a str) -> Option<&'a str> {
        let mut at = uuid;
        // A malformed cycle of call UUIDs stands for one call: its smallest member.
        let mut least = uuid;
        // Calls nest at most a loopback deep; the bound also stops a malformed cycle.
        for _ in 0..8 {
            least = least.min(at);
            if self.loopback_b.contains(at) {
                return None;
            }
            match self.live.get_key_value(at) {
                Some((own, call)) if call.is_empty() || call == own => return Some(own),
                Some((own, call)) => match self.live.get_key_value(call.as_str()) {
                    Some((next, _)) => at = next,
                    None => return Some(own),
                },
                None => return None,
            }
        }
        Some(least)
    }

    /// Marks a live channel as a loopback B leg (its name or `loopback_leg` says so).
    pub(crate) fn mark_loopback_b(&mut self, uuid: &str) {
        if self.live.contains_key(uuid) {
            self.loopback_b.insert(uuid.to_owned());
        }
    }

    /// Whether `uuid` is a known loopback B leg.
    pub(crate) fn is_loopback_b(&self, uuid: &str) -> bool {
        self.loopback_b.contains(uuid)
    }

    pub(crate) fn is_ended(&self, uuid: &str) -> bool {
        self.ended.contains(uuid)
    }

    /// Whether the figures are counts rather than channels followed one by one.
    pub(crate) fn counted(&self) -> bool {
        self.channels_known && self.counts_mode
    }

    /// Returns whether the channel is new (not live, not ended).
    pub(crate) fn create(&mut self, uuid: &str, call_uuid: &str) -> bool {
        if self.ended.contains(uuid) {
            return false;
        }
        if self.live.len() >= MAX_TRACKED_CHANNELS && !self.live.contains_key(uuid) {
            // Counted only, until a reconcile finds fewer channels than the cap.
            self.counts_mode = true;
            self.untracked_channels += 1;
            if call_uuid.is_empty() || call_uuid == uuid {
                self.untracked_calls += 1;
            }
            return true;
        }
        if self.refreshing {
            self.created_during_refresh.insert(uuid.to_owned(), call_uuid.to_owned());
        }
        self.live.insert(uuid.to_owned(), call_uuid.to_owned()).is_none()
    }

    /// Bridging makes both legs one call: both take the event's call UUID.
    pub(crate) fn bridge(&mut self, a: &str, b: Option<&str>, call_uuid: &str) {
        for leg in std::iter::once(a).chain(b) {
            if let Some(c) = self.live.get_mut(leg) {
                *c = call_uuid.to_owned();
            }
            if let Some(c) = self.created_during_refresh.get_mut(leg) {
                *c = call_uuid.to_owned();
            }
        }
    }

    /// Returns whether this is the first hang-up seen for the channel.
    pub(crate) fn hangup(&mut self, uuid: &str, call_uuid: &str) -> bool {
        if self.ended.contains(uuid) {
            return false;
        }
        self.remember_ended(uuid);
        self.created_during_refresh.remove(uuid);
        self.loopback_b.remove(uuid);
        if self.live.remove(uuid).is_none() {
            if self.untracked_channels > 0 {
                self.untracked_channels -= 1;
                if call_uuid.is_empty() || call_uuid == uuid {
                    self.untracked_calls = self.untracked_calls.saturating_sub(1);
                }
                self.untracked_calls = self.untracked_calls.min(self.untracked_channels);
            } else if !self.refreshing {
                // During a refresh it may simply predate the snapshot being rebuilt.
                self.noticed(Drift::UnknownHangup);
            }
        }
        true
    }

    fn remember_ended(&mut self, uuid: &str) {
        if self.ended_order.len() >= ENDED_MEMORY {
            if let Some(old) = self.ended_order.pop_front() {
                self.ended.remove(&old);
            }
        }
        self.ended.insert(uuid.to_owned());
        self.ended_order.push_back(uuid.to_owned());
    }

    pub(crate) fn begin_refresh(&mut self) {
        self.refreshing = true;
        self.created_during_refresh.clear();
    }

    /// Rebuilds from a listing (exact) or from counts; see the module docs. Returns the
    /// calls (heading channels) that were live and are gone without a hang-up seen, at most
    /// [`VANISHED_REPORTED`] of them.
    pub(crate) fn apply_refresh(
        &mut self,
        list: Option<&[ChannelRow]>,
        channels: Option<u64>,
        calls: Option<u64>,
    ) -> Vec<String> {
        let during = std::mem::take(&mut self.created_during_refresh);
        self.refreshing = false;
        let mut vanished = Vec::new();
        if let Some(rows) = list {
            let before = std::mem::take(&mut self.live);
            let fresh: Vec<&ChannelRow> = rows.iter().filter(|r| !self.ended.contains(&r.uuid)).collect();
            let (followed, counted) = fresh.split_at(fresh.len().min(MAX_TRACKED_CHANNELS));
            self.live = followed.iter().map(|r| (r.uuid.clone(), r.call_uuid.clone())).collect();
            let survivors: HashSet<String> =
                self.loopback_b.iter().filter(|u| self.live.contains_key(*u)).cloned().collect();
            self.loopback_b = followed.iter().filter(|r| r.is_loopback_b()).map(|r| r.uuid.clone()).collect();
            self.loopback_b.extend(survivors);
            for (uuid, call) in during {
                if self.live.len() < MAX_TRACKED_CHANNELS {
                    self.live.insert(uuid, call);
                }
            }
            vanished = before
                .into_iter()
                .filter(|(uuid, call)| (call.is_empty() || call == uuid) && !self.live.contains_key(uuid))
                .map(|(uuid, _)| uuid)
                .take(VANISHED_REPORTED)
                .collect();
            self.untracked_channels = counted.len() as u64;
            self.untracked_calls =
                counted.iter().filter(|r| r.call_uuid.is_empty() || r.call_uuid == r.uuid).count() as u64;
            self.counts_mode = !counted.is_empty();
            self.channels_known = true;
            self.calls_known = true;
        } else if channels.is_some() || calls.is_some() {
            self.live.clear();
            self.untracked_channels = channels.or(calls).unwrap_or(0);
            self.untracked_calls = calls.unwrap_or(0).min(self.untracked_channels);
            self.counts_mode = true;
            self.channels_known = true;
            self.calls_known = calls.is_some();
        }
        vanished
    }

    /// Heartbeat `Session-Count`: re-bases the channel figure in counts mode only.
    pub(crate) fn heartbeat(&mut self, sessions: u64) {
        let exact = self.channels_known && !self.counts_mode;
        if self.refreshing || exact {
            return;
        }
        self.counts_mode = true;
        self.channels_known = true;
        self.untracked_channels = sessions.saturating_sub(self.live.len() as u64);
        self.untracked_calls = self.untracked_calls.min(self.untracked_channels);
    }
}

/// Who a registration event or listing row is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding<'a> {
    pub(crate) user: Option<&'a str>,
    pub(crate) realm: Option<&'a str>,
    pub(crate) call_id: Option<&'a str>,
}

#[derive(Debug, Clone)]
enum RegOp {
    Add { key: String, call_id: String, webrtc: bool, update: bool, user: String },
    Remove { key: String },
}

/// Registered bindings, total and WebRTC.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistrationSet {
    /// Binding key (see [`RegistrationSet::key`]) → (Call-ID, is WebRTC, user).
    known: HashMap<String, (String, bool, String)>,
    /// Known bindings per user, for the busy lamps.
    per_user: HashMap<String, u32>,
    untracked: u64,
    journal: Vec<RegOp>,
    refreshing: bool,
    known_total: bool,
    /// WebRTC figures need a listing; a bare count cannot tell transports apart.
    known_webrtc: bool,
    /// The server keeps one binding per Call-ID (`multiple-registrations`).
    multiple: bool,
    drift: Option<Drift>,
    /// A listing showed several bindings for one user@realm while the model keys by it.
    saw_several_per_user: bool,
}

impl RegistrationSet {
    pub(crate) fn total(&self) -> Option<u64> {
        self.known_total.then(|| self.untracked + self.known.len() as u64)
    }

    pub(crate) fn webrtc(&self) -> Option<u64> {
        self.known_webrtc.then(|| self.known.values().filter(|(_, w, _)| *w).count() as u64)
    }

    /// Whether `user` has a binding, when bindings are followed one by one (a listing, and
    /// fewer than [`MAX_TRACKED_REGISTRATIONS`]); `None` otherwise.
    pub(crate) fn user_registered(&self, user: &str) -> Option<bool> {
        self.followed().then(|| self.per_user.get(user).is_some_and(|n| *n > 0))
    }

    /// Whether every binding is known by its user (not just counted).
    pub(crate) fn followed(&self) -> bool {
        self.known_total && self.known_webrtc
    }

    fn insert_known(&mut self, key: String, value: (String, bool, String)) -> Option<(String, bool, String)> {
        *self.per_user.entry(value.2.clone()).or_default() += 1;
        let before = self.known.insert(key, value);
        if let Some(old) = &before {
            self.forget_user(&old.2);
        }
        before
    }

    fn remove_known(&mut self, key: &str) -> bool {
        match self.known.remove(key) {
            Some((_, _, user)) => {
                self.forget_user(&user);
                true
            }
            None => false,
        }
    }

    fn forget_user(&mut self, user: &str) {
        if let Some(n) = self.per_user.get_mut(user) {
            *n -= 1;
            if *n == 0 {
                self.per_user.remove(user);
            }
        }
    }

    /// Whether the total is a count rather than bindings followed one by one.
    pub(crate) fn counted(&self) -> bool {
        self.known_total && !self.known_webrtc
    }

    /// Keys bindings by Call-ID (`true`) or by user@realm (`false`, FreeSWITCH's default).
    pub(crate) fn set_multiple(&mut self, multiple: bool) {
        self.multiple = multiple;
    }

    pub(crate) fn take_drift(&mut self) -> Option<Drift> {
        self.drift.take()
    }

    /// Whether the last listing had several bindings for one user@realm although the model
    /// keys by user@realm: the server has `multiple-registrations` on.
    pub(crate) fn saw_several_per_user(&self) -> bool {
        self.saw_several_per_user
    }

    /// What identifies a binding on this server; `None` when the event names too little.
    fn key(&self, b: Binding<'_>) -> Option<String> {
        match (self.multiple, b.user, b.realm, b.call_id) {
            (false, Some(user), Some(realm), _) => Some(format!("{user}@{realm}")),
            (_, _, _, Some(call_id)) => Some(format!("call-id {call_id}")),
            _ => None,
        }
    }

    fn noticed(&mut self, d: Drift) {
        if self.known_total && !self.refreshing {
            self.drift.get_or_insert(d);
        }
    }

    pub(crate) fn begin_refresh(&mut self) {
        self.refreshing = true;
        self.journal.clear();
    }

    fn apply(&mut self, op: &RegOp) -> Option<Drift> {
        match op {
            RegOp::Add { key, call_id, webrtc, update, user } => {
                if self.known.len() >= MAX_TRACKED_REGISTRATIONS && !self.known.contains_key(key) {
                    // Counted only: a refresh of a binding already counted adds nothing.
                    if !*update {
                        self.untracked += 1;
                    }
                    self.known_webrtc = false;
                    return None;
                }
                // A refresh of a binding a counts-only refresh already counted moves it from
                // the anonymous count into the known set instead of counting it twice.
                let before = self.insert_known(key.clone(), (call_id.clone(), *webrtc, user.clone()));
                match before {
                    None if *update && self.untracked > 0 => {
                        self.untracked -= 1;
                        None
                    }
                    Some((old, _, _)) if old != *call_id => Some(Drift::NewCallId),
                    _ => None,
                }
            }
            RegOp::Remove { key } => {
                if self.remove_known(key) {
                    None
                } else if self.untracked > 0 {
                    self.untracked -= 1;
                    None
                } else {
                    Some(Drift::UnknownUnregister)
                }
            }
        }
    }

    fn record(&mut self, op: RegOp) {
        if let Some(d) = self.apply(&op) {
            self.noticed(d);
        }
        if self.refreshing && self.journal.len() < JOURNAL_LIMIT {
            self.journal.push(op);
        }
    }

    pub(crate) fn register(&mut self, b: Binding<'_>, webrtc: bool, update: bool) {
        let Some(key) = self.key(b) else { return };
        let call_id = b.call_id.unwrap_or_default().to_owned();
        let user = b.user.unwrap_or_default().to_owned();
        self.record(RegOp::Add { key, call_id, webrtc, update, user });
    }

    pub(crate) fn unregister(&mut self, b: Binding<'_>) {
        let Some(mut key) = self.key(b) else { return };
        if !self.multiple && (b.user.is_none() || b.realm.is_none()) {
            // An event that names only the Call-ID: find the binding that has it (rare, so a
            // scan is fine).
            if let Some(found) = self.known.iter().find(|(_, (c, _, _))| Some(c.as_str()) == b.call_id) {
                key = found.0.clone();
            }
        }
        self.record(RegOp::Remove { key });
    }

    pub(crate) fn apply_refresh(&mut self, list: Option<&RegistrationList>, count: Option<u64>) {
        let journal = std::mem::take(&mut self.journal);
        self.refreshing = false;
        if let Some(list) = list {
            let mut known = HashMap::with_capacity(list.rows.len().min(MAX_TRACKED_REGISTRATIONS));
            for r in list.rows.iter().take(MAX_TRACKED_REGISTRATIONS) {
                let b = Binding { user: Some(&r.user), realm: Some(&r.realm), call_id: Some(&r.call_id) };
                if let Some(key) = self.key(b) {
                    known.insert(key, (r.call_id.clone(), r.is_webrtc(), r.user.clone()));
                }
            }
            self.per_user.clear();
            for (_, _, user) in known.values() {
                *self.per_user.entry(user.clone()).or_default() += 1;
            }
            self.saw_several_per_user =
                !self.multiple && known.len() < list.rows.len().min(MAX_TRACKED_REGISTRATIONS);
            self.known = known;
            // Rows that share a key are still separate bindings to FreeSWITCH: keep them
            // counted, anonymously.
            self.untracked = list.total.max(list.rows.len() as u64).saturating_sub(self.known.len() as u64);
            self.known_total = true;
            self.known_webrtc = list.rows.len() <= MAX_TRACKED_REGISTRATIONS;
        } else if let Some(n) = count {
            self.known.clear();
            self.per_user.clear();
            self.untracked = n;
            self.known_total = true;
            self.known_webrtc = false;
            return;
        } else {
            return;
        }
        // Replayed events already had their say about drift when they arrived.
        for op in &journal {
            let _ = self.apply(op);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::api::Registration;
    use proptest::prelude::*;

    fn row(uuid: &str, call: &str) -> ChannelRow {
        ChannelRow { uuid: uuid.into(), call_uuid: call.into(), name: String::new(), ..ChannelRow::default() }
    }

    #[test]
    fn duplicates_and_reordering_never_go_negative() {
        let mut c = ChannelSet::default();
        c.apply_refresh(Some(&[]), None, None);
        assert!(c.hangup("a", "a"));
        assert!(!c.create("a", "a"), "create after hangup is stale");
        assert!(!c.hangup("a", "a"));
        assert_eq!((c.channels(), c.calls()), (Some(0), Some(0)));
        assert!(c.create("b", "b"));
        assert!(!c.create("b", "b"));
        assert_eq!(c.channels(), Some(1));
    }

    #[test]
    fn bridged_legs_are_one_call() {
        let mut c = ChannelSet::default();
        c.apply_refresh(Some(&[]), None, None);
        c.create("a", "a");
        c.create("b", "b");
        assert_eq!(c.calls(), Some(2));
        c.bridge("a", Some("b"), "a");
        assert_eq!((c.channels(), c.calls()), (Some(2), Some(1)));
        c.hangup("b", "a");
        assert_eq!((c.channels(), c.calls()), (Some(1), Some(1)));
    }

    fn counts(c: &ChannelSet) -> (Option<u64>, Option<u64>) {
        (c.calls(), c.channels())
    }

    /// {calls} as a person counts, through every transition; {channels} counts legs.
    #[test]
    fn calls_count_as_people_do_through_every_transition() {
        let mut c = ChannelSet::default();
        c.apply_refresh(Some(&[]), None, None);
        // Ringing: the B leg carries the A leg's call UUID from its creation.
        c.create("a", "a");
        c.create("b", "a");
        assert_eq!(counts(&c), (Some(1), Some(2)), "ringing pair");
        c.bridge("a", Some("b"), "a");
        assert_eq!(counts(&c), (Some(1), Some(2)), "bridged");
        // UNBRIDGE changes nothing; the call ends with its last leg.
        c.hangup("b", "a");
        assert_eq!(counts(&c), (Some(1), Some(1)), "between the first and the last hang-up");
        c.hangup("a", "a");
        assert_eq!(counts(&c), (Some(0), Some(0)));

        // The caller leaves first; the callee's leg lives on (a transfer, a queue): still a call.
        c.create("c", "c");
        c.create("d", "c");
        c.bridge("c", Some("d"), "c");
        c.hangup("c", "c");
        assert_eq!(counts(&c), (Some(1), Some(1)), "an orphaned leg is a call of its own");
        // Blind transfer: d is bridged to a new leg e.
        c.create("e", "d");
        c.bridge("d", Some("e"), "d");
        assert_eq!(counts(&c), (Some(1), Some(2)), "transferred");
        c.hangup("e", "d");
        c.hangup("d", "d");

        // Attended transfer: while consulting, two conversations; after it, one.
        c.create("f", "f");
        c.create("g", "f");
        c.bridge("f", Some("g"), "f");
        c.create("g2", "g2");
        c.create("h", "g2");
        assert_eq!(counts(&c), (Some(2), Some(4)), "consulting");
        c.bridge("f", Some("h"), "f");
        c.hangup("g", "f");
        c.hangup("g2", "g2");
        assert_eq!(counts(&c), (Some(1), Some(2)), "transfer completed");
        c.hangup("h", "f");
        c.hangup("f", "f");

        // Parked: one answered leg and nobody else is a call.
        c.create("p", "p");
        assert_eq!(counts(&c), (Some(1), Some(1)), "parked");
        c.hangup("p", "p");

        // Loopback: A → loopback-a, loopback-b → B are one call of four legs.
        c.create("la", "la");
        c.create("lpa", "la");
        c.create("lpb", "lpb");
        c.mark_loopback_b("lpb");
        c.create("lb", "lpb");
        c.bridge("lpb", Some("lb"), "lpb");
        assert_eq!(counts(&c), (Some(1), Some(4)), "loopback");
        // A listing says the same.
        let rows = [
            ChannelRow {
                uuid: "la".into(),
                call_uuid: "la".into(),
                name: "sofia/internal/1001@x".into(),
                ..ChannelRow::default()
            },
            ChannelRow {
                uuid: "lpa".into(),
                call_uuid: "la".into(),
                name: "loopback/1000-a".into(),
                ..ChannelRow::default()
            },
            ChannelRow {
                uuid: "lpb".into(),
                call_uuid: "lpb".into(),
                name: "loopback/1000-b".into(),
                ..ChannelRow::default()
            },
            ChannelRow {
                uuid: "lb".into(),
                call_uuid: "lpb".into(),
                name: "sofia/internal/1000@y".into(),
                ..ChannelRow::default()
            },
        ];
        let mut listed = ChannelSet::default();
        listed.apply_refresh(Some(&rows), None, None);
        assert_eq!(counts(&listed), (Some(1), Some(4)), "loopback, from a listing");
    }

    #[test]
    fn a_cycle_of_call_uuids_terminates_and_counts_once() {
        let mut c = ChannelSet::default();
        c.apply_refresh(Some(&[row("x", "y"), row("y", "x")]), None, None);
        assert_eq!(counts(&c), (Some(1), Some(2)));
    }

    #[test]
    fn listing_refresh_after_events_does_not_double_count() {
        let mut c = ChannelSet::default();
        c.begin_refresh();
        // Events that race the snapshot: x ended before it was taken, y started after.
        c.create("x", "x");
        c.hangup("x", "x");
        c.create("y", "y");
        c.create("z", "z");
        // The snapshot still lists x (taken before its hangup), lists z, misses y.
        c.apply_refresh(Some(&[row("x", "x"), row("z", "z"), row("w", "w")]), Some(3), Some(3));
        assert_eq!(c.channels(), Some(3), "z, w from the snapshot, y replayed");
        assert_eq!(c.calls(), Some(3));
    }

    #[test]
    fn counts_refresh_then_unknown_hangups_decrement() {
        let mut c = ChannelSet::default();
        assert_eq!(c.channels(), None);
        c.apply_refresh(None, Some(3), Some(2));
        assert_eq!((c.channels(), c.calls()), (Some(3), Some(2)));
        // A bridged pair ends: the B leg carries the A leg's call UUID.
        c.hangup("b", "a");
        assert_eq!((c.channels(), c.calls()), (Some(2), Some(2)));
        c.hangup("a", "a");
        assert_eq!((c.channels(), c.calls()), (Some(1), Some(1)));
        c.hangup("s", "s");
        c.hangup("t", "t");
        assert_eq!((c.channels(), c.calls()), (Some(0), Some(0)));
    }

    #[test]
    fn heartbeat_rebases_only_in_counts_mode() {
        let mut c = ChannelSet::default();
        c.apply_refresh(None, Some(2), None);
        assert_eq!(c.calls(), None);
        c.create("n", "n");
        c.heartbeat(5);
        assert_eq!(c.channels(), Some(5));
        let mut exact = ChannelSet::default();
        exact.apply_refresh(Some(&[row("a", "a")]), None, None);
        exact.heartbeat(7);
        assert_eq!(exact.channels(), Some(1));
    }

    #[test]
    fn ended_memory_is_bounded() {
        let mut c = ChannelSet::default();
        for i in 0..ENDED_MEMORY + 10 {
            c.hangup(&i.to_string(), "");
        }
        assert_eq!(c.ended.len(), ENDED_MEMORY);
        assert!(!c.is_ended("0"));
        assert!(c.is_ended(&(ENDED_MEMORY + 9).to_string()));
    }

    #[test]
    fn a_flood_of_creates_is_counted_beyond_the_cap_not_kept() {
        let mut c = ChannelSet::default();
        c.apply_refresh(Some(&[]), None, None);
        let n = MAX_TRACKED_CHANNELS + 5_000;
        for i in 0..n {
            assert!(c.create(&format!("c{i}"), &format!("c{i}")));
        }
        assert_eq!((c.channels(), c.calls()), (Some(n as u64), Some(n as u64)));
        assert_eq!(c.live.len(), MAX_TRACKED_CHANNELS, "memory stays bounded");
        assert!(c.counted(), "the display marks the figures");
        // A reconcile that finds fewer than the cap follows them one by one again.
        c.begin_refresh();
        c.apply_refresh(Some(&[row("a", "a"), row("b", "a")]), None, None);
        assert_eq!((c.channels(), c.calls(), c.counted()), (Some(2), Some(1), false));
        // A listing longer than the cap keeps the rest as counts.
        let rows: Vec<ChannelRow> = (0..n).map(|i| row(&format!("r{i}"), &format!("r{i}"))).collect();
        c.begin_refresh();
        c.apply_refresh(Some(&rows), None, None);
        assert_eq!((c.channels(), c.calls(), c.counted()), (Some(n as u64), Some(n as u64), true));
        assert_eq!(c.live.len(), MAX_TRACKED_CHANNELS);
    }

    #[test]
    fn registrations_beyond_the_cap_are_counted_and_webrtc_becomes_unknown() {
        let mut r = RegistrationSet::default();
        r.apply_refresh(Some(&RegistrationList::default()), None);
        let n = MAX_TRACKED_REGISTRATIONS + 100;
        for i in 0..n {
            r.register(by(&format!("u{i}"), &format!("c{i}")), false, false);
        }
        assert_eq!((r.total(), r.webrtc(), r.counted()), (Some(n as u64), None, true));
        assert_eq!(r.known.len(), MAX_TRACKED_REGISTRATIONS);
        r.register(by("u0", "c0"), false, true);
        assert_eq!(r.total(), Some(n as u64), "a refresh REGISTER adds nothing");
    }

    #[derive(Debug, Clone, Copy)]
    enum Ev {
        Create(usize),
        Hangup(usize),
    }

    /// A valid FreeSWITCH history: each channel is created once, then maybe hung up once.
    fn timeline() -> impl Strategy<Value = Vec<Ev>> {
        proptest::collection::vec((0usize..12, any::<bool>()), 0..24).prop_map(|picks| {
            let mut created = [false; 12];
            let mut ended = [false; 12];
            let mut out = Vec::new();
            for (id, hang) in picks {
                if !created[id] {
                    created[id] = true;
                    out.push(Ev::Create(id));
                } else if hang && !ended[id] {
                    ended[id] = true;
                    out.push(Ev::Hangup(id));
                }
            }
            out
        })
    }

    fn live_after(events: &[Ev]) -> Vec<ChannelRow> {
        let mut live: Vec<usize> = Vec::new();
        for e in events {
            match e {
                Ev::Create(i) => live.push(*i),
                Ev::Hangup(i) => live.retain(|x| x != i),
            }
        }
        live.iter().map(|i| row(&i.to_string(), &i.to_string())).collect()
    }

    fn deliver(c: &mut ChannelSet, e: &Ev) {
        match e {
            Ev::Create(i) => c.create(&i.to_string(), &i.to_string()),
            Ev::Hangup(i) => c.hangup(&i.to_string(), &i.to_string()),
        };
    }

    proptest! {
        /// The refresh starts after event `j`; FreeSWITCH takes its snapshot after event `k`;
        /// the answer arrives after event `m` was delivered (`m` may be before or after `k`:
        /// queued events can trail an api reply). Once everything is delivered the set is exact,
        /// and at no point does a figure exceed the channels ever created.
        #[test]
        fn listing_refresh_converges_whatever_the_race(
            events in timeline(),
            cuts in (0usize..30, 0usize..30, 0usize..30),
        ) {
            let n = events.len();
            let j = cuts.0.min(n);
            let k = (j + cuts.1).min(n);
            let m = (j + cuts.2).min(n);
            let mut c = ChannelSet::default();
            for e in &events[..j] {
                deliver(&mut c, e);
            }
            c.begin_refresh();
            for e in &events[j..m] {
                deliver(&mut c, e);
            }
            c.apply_refresh(Some(&live_after(&events[..k])), None, None);
            prop_assert!(c.channels().unwrap_or(0) <= 12);
            for e in &events[m..] {
                deliver(&mut c, e);
                prop_assert!(c.channels().unwrap_or(0) <= 12);
            }
            let truth = live_after(&events).len() as u64;
            prop_assert_eq!(c.channels(), Some(truth));
            prop_assert_eq!(c.calls(), Some(truth));
        }

        /// Duplicated and shuffled events: counts stay within what was created and drain to
        /// zero once every channel has hung up.
        #[test]
        fn shuffled_duplicates_drain_to_zero(
            ops in proptest::collection::vec((0usize..8, 0u8..3), 0..40),
        ) {
            let mut c = ChannelSet::default();
            c.apply_refresh(Some(&[]), None, None);
            for (id, op) in &ops {
                let u = id.to_string();
                match op {
                    0 => { c.create(&u, &u); }
                    1 => { c.hangup(&u, &u); }
                    _ => c.bridge(&u, Some(&((id + 1) % 8).to_string()), &u),
                }
                prop_assert!(c.channels().unwrap_or(0) <= 8);
                prop_assert!(c.calls() <= c.channels());
            }
            for id in 0..8 {
                c.hangup(&id.to_string(), "");
            }
            prop_assert_eq!((c.channels(), c.calls()), (Some(0), Some(0)));
        }
    }

    fn reg(user: &str, call_id: &str, proto: &str) -> Registration {
        Registration {
            user: user.into(),
            realm: "r".into(),
            call_id: call_id.into(),
            url: String::new(),
            network_proto: proto.into(),
            ..Registration::default()
        }
    }

    fn by(user: &str, call_id: &str) -> Binding<'static> {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        Binding { user: Some(leak(user)), realm: Some("r"), call_id: Some(leak(call_id)) }
    }

    #[test]
    fn registrations_list_refresh_replays_journal() {
        let mut r = RegistrationSet::default();
        assert_eq!(r.total(), None);
        r.begin_refresh();
        r.register(by("n", "new"), true, false);
        r.unregister(by("g", "gone"));
        let list = RegistrationList {
            rows: vec![reg("g", "gone", "udp"), reg("a", "a", "wss"), reg("n", "new", "ws")],
            total: 3,
        };
        r.apply_refresh(Some(&list), None);
        assert_eq!((r.total(), r.webrtc()), (Some(2), Some(2)));
        r.register(by("a", "a"), true, true);
        assert_eq!(r.total(), Some(2), "a refresh REGISTER is not a new binding");
        assert_eq!(r.take_drift(), None);
    }

    #[test]
    fn one_binding_per_user_whatever_the_call_id() {
        let mut r = RegistrationSet::default();
        r.apply_refresh(Some(&RegistrationList { rows: vec![reg("1000", "c1", "udp")], total: 1 }), None);
        // The phone rebooted: FreeSWITCH replaced its binding and only says so for the new one.
        r.register(by("1000", "c2"), false, false);
        assert_eq!(r.total(), Some(1));
        assert_eq!(r.take_drift(), Some(Drift::NewCallId), "a sign worth a reconcile");
        // An unregister sent under yet another Call-ID removes it too.
        r.unregister(by("1000", "c3"));
        assert_eq!(r.total(), Some(0));
        assert_eq!(r.take_drift(), None);
        r.unregister(by("1000", "c3"));
        assert_eq!((r.total(), r.take_drift()), (Some(0), Some(Drift::UnknownUnregister)));
    }

    #[test]
    fn multiple_registrations_key_by_call_id() {
        let mut r = RegistrationSet::default();
        r.set_multiple(true);
        r.apply_refresh(Some(&RegistrationList { rows: vec![reg("1000", "c1", "udp")], total: 1 }), None);
        r.register(by("1000", "c2"), true, false);
        assert_eq!((r.total(), r.webrtc()), (Some(2), Some(1)));
        r.unregister(by("1000", "c1"));
        assert_eq!(r.total(), Some(1));
        assert_eq!(r.take_drift(), None);
        assert!(!r.saw_several_per_user());
    }

    #[test]
    fn a_listing_with_several_bindings_per_user_keeps_them_counted_and_says_so() {
        let mut r = RegistrationSet::default();
        let rows = vec![reg("1000", "c1", "udp"), reg("1000", "c2", "wss")];
        r.apply_refresh(Some(&RegistrationList { rows, total: 2 }), None);
        assert_eq!(r.total(), Some(2));
        assert!(r.saw_several_per_user());
    }

    #[test]
    fn registrations_counts_mode() {
        let mut r = RegistrationSet::default();
        r.apply_refresh(None, Some(2));
        assert_eq!((r.total(), r.webrtc()), (Some(2), None));
        r.register(by("x", "x"), false, true);
        assert_eq!(r.total(), Some(2));
        r.register(by("y", "y"), false, false);
        assert_eq!(r.total(), Some(3));
        r.unregister(by("u1", "unknown"));
        assert_eq!((r.total(), r.take_drift()), (Some(2), None), "the anonymous count absorbs it");
        r.unregister(by("u2", "unknown2"));
        assert_eq!(
            (r.total(), r.take_drift()),
            (Some(2), Some(Drift::UnknownUnregister)),
            "never below zero"
        );
        r.unregister(by("x", "x"));
        r.unregister(by("y", "y"));
        assert_eq!((r.total(), r.take_drift()), (Some(0), None));
    }
}
