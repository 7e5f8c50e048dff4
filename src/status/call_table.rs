//! One server's calls one by one, for the call view (`eslmatrix calls`): who calls whom, in
//! which state, since when, with which codec, and how the recent ones ended.
//!
//! A call is the legs that share a `Channel-Call-UUID` (a B leg carries its A leg's UUID from
//! its CHANNEL_CREATE on, as [`super::tracking`] explains); its caller and callee are its
//! first leg's. It is fed the same channel events as [`super::PbxStatus`] plus the ones only
//! a person watching cares about (progress, hold, codec), and rebuilt from `show channels as
//! json` after every (re)connect. Ended calls stay, dimmed, for [`CallTable::keep_ended`].
//!
//! Bounds: at most [`MAX_CALLS`] live calls (beyond it new calls are not followed, and
//! [`CallTable::untracked`] says how many were skipped), [`MAX_ENDED`] ended ones, and
//! [`ENDED_LEGS`] UUIDs of hung-up legs to absorb late duplicates.
//!
//! A leg leaves its call's state at its first hang-up event (CHANNEL_HANGUP, or
//! HANGUP_COMPLETE when HANGUP is not subscribed), but what the leg still reports after it
//! (CALLSTATE HANGUP, HANGUP_COMPLETE with its billsec and duration) goes on the call's
//! flow, live or ended, as sngrep keeps a dialog's last messages: those events never bring a
//! leg or a call back.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::api::ChannelRow;
use super::call_flow::{Flow, RawHeaders};
use super::calls::sip_status_of;
use super::headers::Headers;
use super::sip::SipStatus;

/// Most live calls followed one by one.
pub const MAX_CALLS: usize = 8_192;
/// Most ended calls kept (the oldest go first), whatever [`CallTable::keep_ended`] says.
pub const MAX_ENDED: usize = 256;
/// How many hung-up leg UUIDs are remembered, so a late event or a rebuild's snapshot taken
/// before the hang-up does not bring a leg back.
pub const ENDED_LEGS: usize = 4_096;

/// Where a call stands, in the order a call goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallState {
    /// Ringing, no media yet.
    Ringing,
    /// Early media (183 Session Progress: a ring-back tone or an announcement).
    EarlyMedia,
    /// Answered.
    Answered,
    /// A leg is on hold.
    Held,
    /// Two legs are bridged.
    Bridged,
    /// Every leg hung up.
    HungUp,
}

impl CallState {
    /// The state in the view's words.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::EarlyMedia => "early media",
            Self::Answered => "answered",
            Self::Held => "held",
            Self::Bridged => "bridged",
            Self::HungUp => "hung up",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hangup {
    /// The `Hangup-Cause` name, e.g. `USER_BUSY`.
    pub cause: String,
    /// The final SIP status reported, or implied by the cause (see
    /// [`super::CallOutcome::from_event`] for the order).
    pub sip: Option<u16>,
}

impl Hangup {
    /// A failure's SIP status and reason phrase (`486 Busy Here`); the cause name
    /// (`NORMAL_CLEARING`) when no failure status is known: a `200` says nothing about why
    /// an answered call ended.
    pub fn text(&self) -> String {
        match self.sip {
            Some(code) if code >= 300 => SipStatus(code).to_string(),
            _ => self.cause.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Leg {
    callstate: String,
    answered: bool,
    bridged: bool,
}

/// One call.
#[derive(Debug, Clone)]
pub struct Call {
    /// The call's UUID (its first leg's Unique-ID).
    pub id: String,
    /// `inbound` or `outbound`, as its first leg says.
    pub direction: String,
    /// Caller-ID name, when it says more than the number.
    pub caller_name: Option<String>,
    /// Caller number.
    pub caller_number: String,
    /// The dialled number.
    pub callee: String,
    /// The codec read, once media is up.
    pub codec: Option<String>,
    /// A leg came over WebSocket (`variable_sip_via_protocol` ws or wss): a browser.
    pub webrtc: bool,
    /// When the view first saw it (or the listing's creation time after a rebuild).
    pub started: Instant,
    /// When it hung up.
    pub ended: Option<Instant>,
    /// Why, once hung up.
    pub hangup: Option<Hangup>,
    /// Its events for the ladder (none for a call known only from a rebuild's listing,
    /// until its next event).
    pub flow: Flow,
    /// The listing's `created_epoch` while `started` is dated by a guess of the PBX's clock
    /// (see [`CallTable::redate`]).
    undated_epoch: Option<u64>,
    legs: BTreeMap<String, Leg>,
    seq: u64,
}

impl Call {
    /// Where the call stands now.
    pub fn state(&self) -> CallState {
        if self.ended.is_some() {
            return CallState::HungUp;
        }
        let legs = || self.legs.values();
        if legs().any(|l| l.callstate == "HELD") {
            CallState::Held
        } else if legs().any(|l| l.bridged) {
            CallState::Bridged
        } else if legs().any(|l| l.answered || l.callstate == "ACTIVE") {
            CallState::Answered
        } else if legs().any(|l| l.callstate == "EARLY") {
            CallState::EarlyMedia
        } else {
            CallState::Ringing
        }
    }

    /// How long it has lasted at `now` (or lasted, once ended).
    pub fn duration(&self, now: Instant) -> Duration {
        self.ended.unwrap_or(now).saturating_duration_since(self.started)
    }

    /// Live legs.
    pub fn legs(&self) -> usize {
        self.legs.len()
    }
}

/// How the view orders calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest first.
    #[default]
    Start,
    /// Longest first.
    Duration,
}

impl Sort {
    /// The other order.
    pub fn next(self) -> Self {
        match self {
            Self::Start => Self::Duration,
            Self::Duration => Self::Start,
        }
    }

    /// The order's name.
    pub fn word(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Duration => "duration",
        }
    }
}

/// One server's calls; see the module docs.
#[derive(Debug, Clone)]
pub struct CallTable {
    live: HashMap<String, Call>,
    /// Leg Unique-ID → call ID.
    leg_call: HashMap<String, String>,
    ended: VecDeque<Call>,
    /// Hung-up leg Unique-ID → its call ID, so its later events reach the call's flow.
    ended_legs: HashMap<String, String>,
    ended_legs_order: VecDeque<String>,
    keep_ended: Duration,
    next_seq: u64,
    /// Calls created from this sequence number on postdate the rebuild in flight.
    refresh_mark: Option<u64>,
    untracked: u64,
    raw: RawHeaders,
    /// Some live call has an `undated_epoch`.
    undated: bool,
}

fn is_channel_event(name: &str) -> bool {
    name.starts_with("CHANNEL_") || name == "CODEC"
}

impl CallTable {
    /// An empty table keeping ended calls for `keep_ended`.
    pub fn new(keep_ended: Duration) -> Self {
        Self {
            live: HashMap::new(),
            leg_call: HashMap::new(),
            ended: VecDeque::new(),
            ended_legs: HashMap::new(),
            ended_legs_order: VecDeque::new(),
            keep_ended,
            next_seq: 0,
            refresh_mark: None,
            untracked: 0,
            raw: RawHeaders::default(),
            undated: false,
        }
    }

    /// How long ended calls stay.
    pub fn keep_ended(&self) -> Duration {
        self.keep_ended
    }

    /// Calls not followed because [`MAX_CALLS`] were live.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// The call `id`, live or ended, while the table keeps it.
    pub fn get(&self, id: &str) -> Option<&Call> {
        self.live.get(id).or_else(|| self.ended.iter().find(|c| c.id == id))
    }

    /// The raw headers of a flow event ([`FlowEvent::raw`](super::call_flow::FlowEvent::raw)),
    /// unless the bound let them go.
    pub fn raw(&self, id: u64) -> Option<String> {
        self.raw.get(id)
    }

    /// The raw headers held, for every call together: `(events, bytes)`.
    pub fn raw_held(&self) -> (usize, usize) {
        (self.raw.len(), self.raw.bytes())
    }

    /// Live calls.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// Ended calls still shown.
    pub fn ended(&self) -> usize {
        self.ended.len()
    }

    /// Applies one event at `now`; `true` if the table changed. Events other than channel
    /// events are ignored.
    pub fn apply_event(&mut self, ev: &impl Headers, now: Instant) -> bool {
        let Some(name) = ev.value("Event-Name") else { return false };
        if !is_channel_event(name) {
            return false;
        }
        let Some(uuid) = ev.value("Unique-ID") else { return false };
        if let Some(call_id) = self.ended_legs.get(uuid) {
            return self.record_after_hangup(ev, uuid, &call_id.clone(), now);
        }
        let gone = matches!(name, "CHANNEL_HANGUP" | "CHANNEL_HANGUP_COMPLETE" | "CHANNEL_DESTROY");
        let call_id = match self.leg_call.get(uuid) {
            Some(id) => id.clone(),
            None if gone && name == "CHANNEL_DESTROY" => return false,
            None => {
                let id = ev.value("Channel-Call-UUID").filter(|c| !c.is_empty()).unwrap_or(uuid).to_owned();
                if !self.live.contains_key(&id) {
                    if self.live.len() >= MAX_CALLS {
                        self.untracked += 1;
                        return false;
                    }
                    let call = self.new_call(&id, ev, now);
                    self.live.insert(id.clone(), call);
                }
                self.leg_call.insert(uuid.to_owned(), id.clone());
                id
            }
        };
        let Some(call) = self.live.get_mut(&call_id) else { return false };
        let raw = self.raw.keep(ev);
        call.flow.record(ev, uuid, &call.id, now, raw);
        let leg = call.legs.entry(uuid.to_owned()).or_default();
        if let Some(state) = ev.value("Channel-Call-State") {
            state.clone_into(&mut leg.callstate);
        }
        match name {
            "CHANNEL_ANSWER" => leg.answered = true,
            "CHANNEL_HOLD" => "HELD".clone_into(&mut leg.callstate),
            "CHANNEL_UNHOLD" => "ACTIVE".clone_into(&mut leg.callstate),
            _ => {}
        }
        if ev.value("Answer-State") == Some("answered") {
            leg.answered = true;
        }
        match name {
            "CHANNEL_BRIDGE" => call.legs.values_mut().for_each(|l| l.bridged = true),
            "CHANNEL_UNBRIDGE" => call.legs.values_mut().for_each(|l| l.bridged = false),
            _ => {}
        }
        // The caller's codec: a transcoded call's other leg says only what the callee got.
        let first_leg = uuid == call.id || call.codec.is_none();
        if let Some(codec) = ev.value("Channel-Read-Codec-Name").filter(|_| first_leg) {
            if call.codec.as_deref() != Some(codec) {
                call.codec = Some(codec.to_owned());
            }
        }
        if ev
            .value("variable_sip_via_protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case("ws") || p.eq_ignore_ascii_case("wss"))
        {
            call.webrtc = true;
        }
        if gone {
            // The first leg's cause is the call's: it says why the caller's side ended; a
            // B leg's counts when the first leg is already gone without one.
            if let Some(cause) = ev.value("Hangup-Cause").or_else(|| ev.value("variable_hangup_cause")) {
                let cause = cause.to_ascii_uppercase();
                if uuid == call.id || call.hangup.is_none() {
                    let sip = sip_status_of(ev, &cause);
                    call.hangup = Some(Hangup { cause, sip });
                }
            }
            call.legs.remove(uuid);
            let last = call.legs.is_empty();
            self.leg_call.remove(uuid);
            self.remember_ended_leg(uuid, &call_id);
            if last {
                self.end_call(&call_id, now);
            }
        }
        true
    }

    fn new_call(&mut self, id: &str, ev: &impl Headers, now: Instant) -> Call {
        let caller_number = ev
            .value("Caller-Caller-ID-Number")
            .or_else(|| ev.value("Caller-ANI"))
            .or_else(|| ev.value("Caller-Username"))
            .unwrap_or("?")
            .to_owned();
        let caller_name = ev
            .value("Caller-Caller-ID-Name")
            .filter(|n| *n != caller_number && !n.eq_ignore_ascii_case("unknown") && !n.is_empty())
            .map(str::to_owned);
        let direction =
            ev.value("Call-Direction").or_else(|| ev.value("Caller-Direction")).unwrap_or("inbound");
        self.next_seq += 1;
        Call {
            id: id.to_owned(),
            direction: direction.to_ascii_lowercase(),
            caller_name,
            caller_number,
            callee: ev.value("Caller-Destination-Number").unwrap_or("?").to_owned(),
            codec: None,
            webrtc: false,
            started: now,
            ended: None,
            hangup: None,
            flow: Flow::default(),
            undated_epoch: None,
            legs: BTreeMap::new(),
            seq: self.next_seq,
        }
    }

    /// An event of a leg after its first hang-up event: drawn on its call's flow (live or
    /// still kept as ended), and a cause the call lacks taken from it; nothing else changes.
    fn record_after_hangup(&mut self, ev: &impl Headers, uuid: &str, call_id: &str, now: Instant) -> bool {
        let call = match self.live.get_mut(call_id) {
            Some(call) => call,
            None => match self.ended.iter_mut().find(|c| c.id == call_id) {
                Some(call) => call,
                None => return false,
            },
        };
        let raw = self.raw.keep(ev);
        call.flow.record(ev, uuid, &call.id, now, raw);
        if call.hangup.is_none() {
            if let Some(cause) = ev.value("Hangup-Cause").or_else(|| ev.value("variable_hangup_cause")) {
                let cause = cause.to_ascii_uppercase();
                let sip = sip_status_of(ev, &cause);
                call.hangup = Some(Hangup { cause, sip });
            }
        }
        true
    }

    fn remember_ended_leg(&mut self, uuid: &str, call_id: &str) {
        if self.ended_legs.insert(uuid.to_owned(), call_id.to_owned()).is_none() {
            self.ended_legs_order.push_back(uuid.to_owned());
            if self.ended_legs_order.len() > ENDED_LEGS {
                if let Some(old) = self.ended_legs_order.pop_front() {
                    self.ended_legs.remove(&old);
                }
            }
        }
    }

    fn end_call(&mut self, id: &str, now: Instant) {
        if let Some(mut call) = self.live.remove(id) {
            for leg in std::mem::take(&mut call.legs).into_keys() {
                self.leg_call.remove(&leg);
            }
            call.ended = Some(now);
            self.ended.push_front(call);
            self.ended.truncate(MAX_ENDED);
        }
    }

    /// Drops ended calls older than [`keep_ended`](Self::keep_ended); `true` if any went.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.ended.len();
        let keep = self.keep_ended;
        self.ended.retain(|c| c.ended.is_some_and(|t| now.saturating_duration_since(t) < keep));
        self.ended.len() != before
    }

    /// A rebuild starts: calls created from now on are kept whatever its listing says.
    pub fn begin_rebuild(&mut self) {
        self.refresh_mark = Some(self.next_seq + 1);
    }

    /// Rebuilds the live calls from `show channels as json` taken at `now`, when the wall
    /// clock said `epoch_now` (seconds), which dates the listing's `created_epoch`. Calls
    /// gone from the listing ended while nobody was looking: they leave without a cause.
    /// Calls created since [`begin_rebuild`](Self::begin_rebuild) stay.
    pub fn rebuild(&mut self, rows: &[ChannelRow], now: Instant, epoch_now: u64) {
        let mark = self.refresh_mark.take().unwrap_or(u64::MAX);
        let listed: HashSet<&str> = rows
            .iter()
            .map(|r| if r.call_uuid.is_empty() { r.uuid.as_str() } else { r.call_uuid.as_str() })
            .collect();
        let stale: Vec<String> = self
            .live
            .values()
            .filter(|c| c.seq < mark && !listed.contains(c.id.as_str()))
            .map(|c| c.id.clone())
            .collect();
        for id in stale {
            if let Some(call) = self.live.remove(&id) {
                for leg in call.legs.keys() {
                    self.leg_call.remove(leg);
                }
            }
        }
        for row in rows {
            if self.ended_legs.contains_key(&row.uuid) {
                continue;
            }
            let id = if row.call_uuid.is_empty() { row.uuid.clone() } else { row.call_uuid.clone() };
            if !self.live.contains_key(&id) {
                if self.live.len() >= MAX_CALLS {
                    self.untracked += 1;
                    continue;
                }
                let created = row.created_epoch.parse::<u64>().ok();
                self.undated |= created.is_some();
                let age =
                    created.map_or(Duration::ZERO, |t| Duration::from_secs(epoch_now.saturating_sub(t)));
                self.next_seq += 1;
                let number = if row.cid_num.is_empty() { "?".to_owned() } else { row.cid_num.clone() };
                let name = Some(row.cid_name.clone())
                    .filter(|n| !n.is_empty() && *n != number && !n.eq_ignore_ascii_case("unknown"));
                let call = Call {
                    id: id.clone(),
                    direction: if row.direction.is_empty() {
                        "inbound".to_owned()
                    } else {
                        row.direction.clone()
                    },
                    caller_name: name,
                    caller_number: number,
                    callee: if row.dest.is_empty() { "?".to_owned() } else { row.dest.clone() },
                    codec: None,
                    webrtc: false,
                    started: now.checked_sub(age).unwrap_or(now),
                    ended: None,
                    hangup: None,
                    flow: Flow::default(),
                    undated_epoch: created,
                    legs: BTreeMap::new(),
                    seq: self.next_seq,
                };
                self.live.insert(id.clone(), call);
            }
            let Some(call) = self.live.get_mut(&id) else { continue };
            if call.codec.is_none() && !row.read_codec.is_empty() {
                call.codec = Some(row.read_codec.clone());
            }
            let leg = call.legs.entry(row.uuid.clone()).or_default();
            if !row.callstate.is_empty() {
                leg.callstate.clone_from(&row.callstate);
            }
            leg.answered |= matches!(row.callstate.as_str(), "ACTIVE" | "HELD");
            self.leg_call.insert(row.uuid.clone(), id);
        }
    }

    /// Whether a call from a listing is still dated by a guess of the PBX's clock.
    pub fn has_undated(&self) -> bool {
        self.undated
    }

    /// Dates the calls known only from a listing by the PBX's clock, `epoch_now` at `now`
    /// (seconds): [`rebuild`](Self::rebuild) had to take this machine's clock for it when
    /// no event had told the PBX's yet, and the two can be minutes apart.
    pub fn redate(&mut self, epoch_now: u64, now: Instant) {
        self.undated = false;
        for call in self.live.values_mut() {
            if let Some(created) = call.undated_epoch.take() {
                let age = Duration::from_secs(epoch_now.saturating_sub(created));
                call.started = now.checked_sub(age).unwrap_or(now);
            }
        }
    }

    /// Live calls in `sort` order, then the ended ones, most recently ended first.
    pub fn rows(&self, sort: Sort, now: Instant) -> Vec<&Call> {
        let mut live: Vec<&Call> = self.live.values().collect();
        match sort {
            Sort::Start => live.sort_by(|a, b| b.started.cmp(&a.started).then(b.seq.cmp(&a.seq))),
            Sort::Duration => {
                live.sort_by(|a, b| b.duration(now).cmp(&a.duration(now)).then(a.seq.cmp(&b.seq)));
            }
        }
        live.extend(self.ended.iter());
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::HeaderMap;

    fn ev(name: &str, uuid: &str, call: &str, state: &str) -> HeaderMap {
        HeaderMap::new()
            .with("Event-Name", name)
            .with("Unique-ID", uuid)
            .with("Channel-Call-UUID", call)
            .with("Channel-Call-State", state)
            .with("Call-Direction", if uuid == call { "inbound" } else { "outbound" })
            .with("Caller-Caller-ID-Number", "1001")
            .with("Caller-Caller-ID-Name", "Alice")
            .with("Caller-Destination-Number", "1000")
    }

    #[test]
    fn a_call_goes_through_its_states_and_ends_with_its_cause() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut t = CallTable::new(Duration::from_secs(30));
        assert!(t.apply_event(&ev("CHANNEL_CREATE", "a", "a", "DOWN"), s(0)));
        assert_eq!(t.rows(Sort::Start, s(0))[0].state(), CallState::Ringing);
        t.apply_event(&ev("CHANNEL_CREATE", "b", "a", "RINGING"), s(0));
        t.apply_event(&ev("CHANNEL_PROGRESS_MEDIA", "a", "a", "EARLY"), s(1));
        assert_eq!(t.rows(Sort::Start, s(1))[0].state(), CallState::EarlyMedia);
        t.apply_event(
            &ev("CHANNEL_ANSWER", "a", "a", "ACTIVE").with("Channel-Read-Codec-Name", "OPUS"),
            s(2),
        );
        assert_eq!(t.rows(Sort::Start, s(2))[0].state(), CallState::Answered);
        t.apply_event(&ev("CHANNEL_BRIDGE", "a", "a", "ACTIVE"), s(2));
        assert_eq!(t.rows(Sort::Start, s(2))[0].state(), CallState::Bridged);
        t.apply_event(&ev("CHANNEL_HOLD", "b", "a", "HELD").with("Channel-Read-Codec-Name", "PCMU"), s(3));
        assert_eq!(t.rows(Sort::Start, s(3))[0].state(), CallState::Held);
        t.apply_event(&ev("CHANNEL_UNHOLD", "b", "a", "ACTIVE"), s(4));
        assert_eq!(t.rows(Sort::Start, s(4))[0].state(), CallState::Bridged);
        assert_eq!((t.live(), t.rows(Sort::Start, s(4))[0].legs()), (1, 2), "two legs, one call");
        t.apply_event(
            &ev("CHANNEL_HANGUP_COMPLETE", "b", "a", "HANGUP").with("Hangup-Cause", "NORMAL_CLEARING"),
            s(9),
        );
        t.apply_event(
            &ev("CHANNEL_HANGUP_COMPLETE", "a", "a", "HANGUP")
                .with("Hangup-Cause", "USER_BUSY")
                .with("variable_sip_term_status", "486"),
            s(10),
        );
        let rows = t.rows(Sort::Start, s(20));
        let c = rows[0];
        assert_eq!(
            (c.state(), c.duration(s(20)), c.codec.as_deref()),
            (CallState::HungUp, Duration::from_secs(10), Some("OPUS")),
            "the caller's codec"
        );
        assert_eq!(c.hangup.as_ref().unwrap().text(), "486 Busy Here", "the first leg's cause wins");
        let flow_len = c.flow.events.len();
        assert!(
            t.apply_event(&ev("CHANNEL_HANGUP_COMPLETE", "a", "a", "HANGUP"), s(21)),
            "a leg's late event goes on the ended call's flow"
        );
        let c = t.rows(Sort::Start, s(21))[0];
        assert_eq!((t.live(), t.ended(), c.flow.events.len()), (0, 1, flow_len + 1));
        assert_eq!(
            (c.state(), c.duration(s(21))),
            (CallState::HungUp, Duration::from_secs(10)),
            "nothing else"
        );
        assert_eq!(c.hangup.as_ref().unwrap().text(), "486 Busy Here");
        let ok = Hangup { cause: "NORMAL_CLEARING".into(), sip: Some(200) };
        assert_eq!(ok.text(), "NORMAL_CLEARING", "a 200 is no reason");
        assert!(!t.expire(s(39)));
        assert!(t.expire(s(40)), "kept for keep_ended");
        assert_eq!(t.ended(), 0);
    }

    /// FreeSWITCH fires CHANNEL_HANGUP from switch_channel_perform_hangup, then in the
    /// hangup state CHANNEL_CALLSTATE (HANGUP), and CHANNEL_HANGUP_COMPLETE from
    /// switch_core_session_reporting_state with the billsec and duration that
    /// switch_channel_set_timestamps set in between (switch_core_state_machine.c): every one
    /// of them is on the ladder, the leg leaving the call at the first.
    #[test]
    fn events_after_a_legs_hang_up_reach_the_flow_and_bring_nothing_back() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut t = CallTable::new(Duration::from_secs(30));
        t.apply_event(&ev("CHANNEL_CREATE", "a", "a", "DOWN"), s(0));
        t.apply_event(&ev("CHANNEL_CREATE", "b", "a", "RINGING"), s(0));
        t.apply_event(&ev("CHANNEL_ANSWER", "b", "a", "ACTIVE"), s(1));
        let hangup = |name, uuid| ev(name, uuid, "a", "HANGUP").with("Hangup-Cause", "NORMAL_CLEARING");
        let complete = |uuid| {
            hangup("CHANNEL_HANGUP_COMPLETE", uuid)
                .with("variable_billsec", "20")
                .with("variable_duration", "24")
        };
        t.apply_event(&hangup("CHANNEL_HANGUP", "b"), s(24));
        assert_eq!(t.rows(Sort::Start, s(24))[0].legs(), 1, "b left the call at its HANGUP");
        assert!(t.apply_event(&ev("CHANNEL_CALLSTATE", "b", "a", "HANGUP"), s(24)));
        assert!(t.apply_event(&complete("b"), s(24)));
        assert_eq!((t.live(), t.rows(Sort::Start, s(24))[0].legs()), (1, 1), "and did not come back");
        t.apply_event(&hangup("CHANNEL_HANGUP", "a"), s(25));
        assert_eq!((t.live(), t.ended()), (0, 1));
        assert!(t.apply_event(&complete("a"), s(25)), "the ended call's flow takes it");
        let rows: Vec<(String, Option<String>)> = t.rows(Sort::Start, s(25))[0]
            .flow
            .events
            .iter()
            .map(|e| (e.name.to_owned(), e.detail.as_deref().map(str::to_owned)))
            .collect();
        let tail: Vec<(&str, Option<&str>)> =
            rows[rows.len() - 5..].iter().map(|(n, d)| (n.as_str(), d.as_deref())).collect();
        assert_eq!(
            tail,
            [
                ("HANGUP", Some("NORMAL_CLEARING")),
                ("CALLSTATE", Some("HANGUP")),
                ("HANGUP_COMPLETE", Some("billsec 20s of 24s")),
                ("HANGUP", Some("NORMAL_CLEARING")),
                ("HANGUP_COMPLETE", Some("billsec 20s of 24s")),
            ],
            "HANGUP_COMPLETE adds the times; the cause its leg's HANGUP told is not repeated"
        );
        assert_eq!((t.live(), t.ended()), (0, 1), "no call brought back");
        assert!(t.expire(s(60)));
        assert!(!t.apply_event(&complete("a"), s(61)), "a leg of a call no longer kept changes nothing");
        assert_eq!((t.live(), t.ended()), (0, 0));
    }

    #[test]
    fn a_cause_without_a_sip_status_maps_through_the_cause_table() {
        let t0 = Instant::now();
        let mut t = CallTable::new(Duration::from_secs(30));
        t.apply_event(&ev("CHANNEL_CREATE", "a", "a", "DOWN"), t0);
        t.apply_event(
            &ev("CHANNEL_HANGUP_COMPLETE", "a", "a", "HANGUP").with("Hangup-Cause", "NO_ANSWER"),
            t0,
        );
        assert_eq!(t.rows(Sort::Start, t0)[0].hangup.as_ref().unwrap().text(), "480 Temporarily Unavailable");
    }

    #[test]
    fn webrtc_and_sorting() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut t = CallTable::new(Duration::from_secs(30));
        t.apply_event(&ev("CHANNEL_CREATE", "a", "a", "DOWN"), s(0));
        t.apply_event(&ev("CHANNEL_CREATE", "c", "c", "DOWN").with("variable_sip_via_protocol", "wss"), s(5));
        let ids = |sort| t.rows(sort, s(6)).iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(Sort::Start), ["c", "a"]);
        assert_eq!(ids(Sort::Duration), ["a", "c"]);
        assert!(t.rows(Sort::Start, s(6))[0].webrtc);
    }

    #[test]
    fn a_rebuild_replaces_what_ended_unseen_and_keeps_what_is_newer() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut t = CallTable::new(Duration::from_secs(30));
        t.apply_event(&ev("CHANNEL_CREATE", "old", "old", "DOWN"), t0);
        t.begin_rebuild();
        t.apply_event(&ev("CHANNEL_CREATE", "new", "new", "DOWN"), t0);
        let row = ChannelRow {
            uuid: "x".into(),
            direction: "inbound".into(),
            created_epoch: "1000".into(),
            cid_name: "Bob".into(),
            cid_num: "1002".into(),
            dest: "1003".into(),
            callstate: "ACTIVE".into(),
            read_codec: "PCMA".into(),
            ..ChannelRow::default()
        };
        t.rebuild(&[row], t0, 1060);
        let rows = t.rows(Sort::Start, t0);
        let ids: Vec<&str> = rows.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["new", "x"]);
        let x = rows[1];
        assert_eq!(
            (x.state(), x.duration(t0), x.caller_name.as_deref()),
            (CallState::Answered, Duration::from_secs(60), Some("Bob"))
        );
    }

    #[test]
    fn live_calls_are_bounded() {
        let t0 = Instant::now();
        let mut t = CallTable::new(Duration::from_secs(30));
        for i in 0..=MAX_CALLS {
            let id = format!("u{i}");
            t.apply_event(&ev("CHANNEL_CREATE", &id, &id, "DOWN"), t0);
        }
        assert_eq!((t.live(), t.untracked()), (MAX_CALLS, 1));
    }
}
