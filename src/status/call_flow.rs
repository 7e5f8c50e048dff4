//! One call's flow as the call view's ladder draws it: every channel event the link saw for
//! the call, in order, each on the leg it concerns, with the raw headers kept apart.
//!
//! Bounds (a call can flap hold a thousand times, a PBX can run thousands of calls):
//! a call keeps its last [`FLOW_EVENTS`] events (the oldest go first and are counted in
//! [`Flow::dropped`]) and its first [`FLOW_LEGS`] legs as columns (a later leg's events land
//! on the last column, named); the raw headers of every call of a table share one
//! [`RawHeaders`] of at most [`RAW_BYTES`] bytes and [`RAW_EVENTS`] events, oldest first
//! out, so the summary of an old event outlives its headers. With [`super::call_table`]'s
//! [`MAX_CALLS`](super::call_table::MAX_CALLS) + [`MAX_ENDED`](super::call_table::MAX_ENDED)
//! calls that makes at most about 8 448 × 64 summaries of some 80 bytes (43 MB) on a PBX
//! that busy, and 4 MiB of headers.

use std::collections::VecDeque;

use tokio::time::Instant;

use super::headers::Headers;

/// Events kept per call (the last ones).
pub const FLOW_EVENTS: usize = 64;
/// Legs drawn as columns per call; later legs share the last column.
pub const FLOW_LEGS: usize = 8;
/// Bytes of raw header text kept for all calls of one server together.
pub const RAW_BYTES: usize = 4 << 20;
/// Events whose raw headers are kept, for all calls of one server together.
pub const RAW_EVENTS: usize = 8_192;
/// The longest raw text kept of one event; an event beyond it is cut (a channel event with
/// every variable is some 10 KB; this bounds a pathological one).
pub const RAW_EVENT_MAX: usize = 64 << 10;

/// One leg, a column of the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLeg {
    /// Its Unique-ID.
    pub uuid: Box<str>,
    /// Who is on it: the user part of its channel name (`sofia/internal/1001@…` → `1001`),
    /// else its caller or dialled number.
    pub label: Box<str>,
}

/// One event of the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowEvent {
    /// When the view got it.
    pub at: Instant,
    /// The PBX's local time of day of the event, in milliseconds since midnight
    /// (`Event-Date-Local`'s clock time, `Event-Date-Timestamp`'s milliseconds).
    pub pbx_ms: Option<u32>,
    /// The event name without its `CHANNEL_` prefix: `CREATE`, `ANSWER`, `HANGUP`…
    /// (`EVENT` for one the view does not subscribe to).
    pub name: &'static str,
    /// The leg it concerns, an index into [`Flow::legs`].
    pub leg: u8,
    /// The other leg an arrow runs to: the A leg for a B leg's CREATE (the arrow then runs
    /// from it), the other side of a BRIDGE or UNBRIDGE.
    pub peer: Option<u8>,
    /// What the event says in a few words: the call state, the codec, the hang-up cause.
    pub detail: Option<Box<str>>,
    /// Its raw headers in [`RawHeaders`].
    pub raw: u64,
}

/// A call's events and legs; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    /// The legs in the order they showed up.
    pub legs: Vec<FlowLeg>,
    /// The last [`FLOW_EVENTS`] events, oldest first.
    pub events: VecDeque<FlowEvent>,
    /// Events dropped for the bound.
    pub dropped: u64,
}

/// Who is on a leg: the first leg's caller (the user part of its channel name,
/// `sofia/internal/1001@…`, else its caller number); a later leg's dialled number (its
/// channel name's user part is the phone's contact, random for a browser).
fn leg_label(ev: &impl Headers, first: bool) -> Box<str> {
    let from_name = ev.value("Channel-Name").map(|n| {
        let tail = n.rsplit('/').next().unwrap_or(n);
        tail.split('@').next().unwrap_or(tail).to_owned()
    });
    let label = if first {
        from_name.filter(|n| !n.is_empty()).or_else(|| ev.value("Caller-Caller-ID-Number").map(str::to_owned))
    } else {
        ev.value("Caller-Callee-ID-Number")
            .or_else(|| ev.value("Caller-Destination-Number"))
            .map(str::to_owned)
            .or(from_name.filter(|n| !n.is_empty()))
    };
    label.unwrap_or_else(|| "?".to_owned()).into()
}

/// Milliseconds since the PBX's local midnight, from `Event-Date-Local` (`%Y-%m-%d %T`) and
/// the milliseconds of `Event-Date-Timestamp` (µs since the epoch).
fn pbx_ms(ev: &impl Headers) -> Option<u32> {
    let local = ev.value("Event-Date-Local")?;
    let clock = local.rsplit(' ').next()?;
    let mut parts = clock.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let ms = ev
        .value("Event-Date-Timestamp")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(0, |us| (us / 1000 % 1000) as u32);
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// HANGUP_COMPLETE's billed and whole time in seconds (`variable_billsec`,
/// `variable_duration`), as `billsec 20s of 24s`.
fn billing(ev: &impl Headers) -> Option<String> {
    let secs = |name: &str| ev.value(name).and_then(|v| v.trim().parse::<u64>().ok());
    match (secs("variable_billsec"), secs("variable_duration")) {
        (Some(bill), Some(all)) => Some(format!("billsec {bill}s of {all}s")),
        (Some(bill), None) => Some(format!("billsec {bill}s")),
        (None, Some(all)) => Some(format!("duration {all}s")),
        (None, None) => None,
    }
}

/// A time of day in milliseconds as `HH:MM:SS.mmm`.
pub fn time_of_day(ms: u32) -> String {
    let (s, ms) = (ms / 1000, ms % 1000);
    format!("{:02}:{:02}:{:02}.{ms:03}", s / 3600 % 24, s / 60 % 60, s % 60)
}

impl Flow {
    fn leg_index(&mut self, uuid: &str, ev: &impl Headers) -> u8 {
        if let Some(i) = self.known_leg(uuid) {
            return i;
        }
        if self.legs.len() >= FLOW_LEGS {
            return (FLOW_LEGS - 1) as u8;
        }
        let first = self.legs.is_empty();
        self.legs.push(FlowLeg { uuid: uuid.into(), label: leg_label(ev, first) });
        (self.legs.len() - 1) as u8
    }

    fn known_leg(&self, uuid: &str) -> Option<u8> {
        self.legs.iter().position(|l| &*l.uuid == uuid).map(|i| i as u8)
    }

    /// Records `ev` (a channel event of leg `uuid` of the call `call_id`), whose raw headers
    /// are `raw` in the table's [`RawHeaders`].
    pub fn record(&mut self, ev: &impl Headers, uuid: &str, call_id: &str, now: Instant, raw: u64) {
        let full = ev.value("Event-Name").unwrap_or("?");
        let name = static_name(full.strip_prefix("CHANNEL_").unwrap_or(full));
        let leg = self.leg_index(uuid, ev);
        let peer = match name {
            "CREATE" if uuid != call_id => self.known_leg(call_id),
            "BRIDGE" | "UNBRIDGE" => ev
                .value("Other-Leg-Unique-ID")
                .or_else(|| ev.value("Bridge-B-Unique-ID").filter(|b| *b != uuid))
                .or_else(|| ev.value("Bridge-A-Unique-ID").filter(|a| *a != uuid))
                .map(|other| self.leg_index(other, &NoHeaders)),
            _ => None,
        }
        .filter(|p| *p != leg);
        let mut detail = match name {
            "CALLSTATE" => ev.value("Channel-Call-State").map(str::to_owned),
            "CODEC" => {
                ev.value("Channel-Read-Codec-Name").map(|c| match ev.value("Channel-Read-Codec-Rate") {
                    Some(rate) => format!("{c}/{rate}"),
                    None => c.to_owned(),
                })
            }
            "HANGUP" | "HANGUP_COMPLETE" | "DESTROY" => {
                let cause =
                    ev.value("Hangup-Cause").or_else(|| ev.value("variable_hangup_cause")).map(|cause| {
                        let cause = cause.to_ascii_uppercase();
                        match super::calls::sip_status_of(ev, &cause) {
                            Some(code) if code >= 300 => format!("{cause} {}", super::sip::SipStatus(code)),
                            Some(code) => format!("{cause} {code}"),
                            None => cause,
                        }
                    });
                // The leg's HANGUP row said the cause already: HANGUP_COMPLETE then adds what
                // only it carries, the billed and the whole time (switch_channel_set_timestamps
                // sets them in the hangup state, after CHANNEL_HANGUP fired).
                let told = cause.as_deref().is_some_and(|c| {
                    self.events
                        .iter()
                        .any(|e| e.leg == leg && e.name == "HANGUP" && e.detail.as_deref() == Some(c))
                });
                let cause = cause.filter(|_| !told || name == "HANGUP");
                let billed = (name == "HANGUP_COMPLETE").then(|| billing(ev)).flatten();
                match (cause, billed) {
                    (Some(c), Some(b)) => Some(format!("{c}, {b}")),
                    (c, b) => c.or(b),
                }
            }
            "CREATE" => ev.value("Caller-Destination-Number").map(|d| format!("to {d}")),
            _ => None,
        };
        if self.legs.get(usize::from(leg)).is_some_and(|l| &*l.uuid != uuid) {
            // A leg past FLOW_LEGS: its events name it on the last column.
            let short: String = uuid.chars().take(8).collect();
            detail = Some(match detail {
                Some(d) => format!("{short} {d}"),
                None => short,
            });
        }
        self.events.push_back(FlowEvent {
            at: now,
            pbx_ms: pbx_ms(ev),
            name,
            leg,
            peer,
            detail: detail.map(String::into_boxed_str),
            raw,
        });
        if self.events.len() > FLOW_EVENTS {
            self.events.pop_front();
            self.dropped += 1;
        }
    }
}

/// The names of the events the call view subscribes to (session.rs `EVENTS`,
/// `CALL_VIEW_EVENTS`), so a flow event holds no copy of its name.
fn static_name(name: &str) -> &'static str {
    const NAMES: [&str; 15] = [
        "CREATE",
        "PROGRESS",
        "PROGRESS_MEDIA",
        "ANSWER",
        "BRIDGE",
        "UNBRIDGE",
        "HOLD",
        "UNHOLD",
        "CALLSTATE",
        "HANGUP",
        "HANGUP_COMPLETE",
        "DESTROY",
        "CODEC",
        "STATE",
        "PARK",
    ];
    NAMES.iter().find(|n| **n == name).copied().unwrap_or("EVENT")
}

/// No headers: a leg first named by another leg's event (the other side of a bridge).
struct NoHeaders;

impl Headers for NoHeaders {
    fn header(&self, _: &str) -> Option<&str> {
        None
    }
    fn body(&self) -> Option<&str> {
        None
    }
}

/// The raw header text of a table's recent events, oldest out first; see the module docs.
///
/// The texts sit end to end in one ring of bytes of at most [`RAW_BYTES`], allocated once:
/// kept as separate strings of a few kilobytes each, freed oldest first among the tables'
/// other allocations, they cost about three times their bytes in resident memory.
#[derive(Debug, Clone, Default)]
pub struct RawHeaders {
    ring: VecDeque<u8>,
    /// Each kept text's start, counted in bytes ever written, and its length.
    spans: VecDeque<(u64, u32)>,
    /// The id of `spans[0]`.
    first: u64,
    /// Bytes ever dropped from the ring's front: the position of `ring[0]`.
    dropped: u64,
}

impl RawHeaders {
    /// Keeps `ev`'s headers as `Name: value` lines (and its body after a blank line), cut
    /// to [`RAW_EVENT_MAX`], and returns their id.
    pub fn keep(&mut self, ev: &impl Headers) -> u64 {
        if self.ring.capacity() < RAW_BYTES {
            self.ring.reserve_exact(RAW_BYTES - self.ring.len());
        }
        // Room for the largest text first, so the ring never grows.
        while self.ring.len() + RAW_EVENT_MAX > RAW_BYTES || self.spans.len() >= RAW_EVENTS {
            let Some((_, len)) = self.spans.pop_front() else { break };
            self.ring.drain(..len as usize);
            self.dropped += u64::from(len);
            self.first += 1;
        }
        let start = self.ring.len();
        let ring = &mut self.ring;
        let mut push = |part: &str| {
            let room = RAW_EVENT_MAX.saturating_sub(ring.len() - start);
            let mut end = part.len().min(room);
            while !part.is_char_boundary(end) {
                end -= 1;
            }
            ring.extend(&part.as_bytes()[..end]);
        };
        ev.each_header(&mut |name, value| {
            for part in [name, ": ", value, "\n"] {
                push(part);
            }
        });
        if let Some(body) = ev.body().filter(|b| !b.is_empty()) {
            push("\n");
            push(body);
        }
        let len = (self.ring.len() - start) as u32;
        self.spans.push_back((self.dropped + start as u64, len));
        self.first + self.spans.len() as u64 - 1
    }

    /// The headers kept as `id`, unless the bound let them go.
    pub fn get(&self, id: u64) -> Option<String> {
        let index = usize::try_from(id.checked_sub(self.first)?).ok()?;
        let &(start, len) = self.spans.get(index)?;
        let from = usize::try_from(start - self.dropped).ok()?;
        let bytes: Vec<u8> = self.ring.range(from..from + len as usize).copied().collect();
        // Cut at character boundaries when written, so this never replaces anything.
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.ring.len()
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::HeaderMap;

    #[test]
    fn the_raw_headers_keep_to_their_byte_and_event_bounds_oldest_out_first() {
        let mut raw = RawHeaders::default();
        let big = "x".repeat(100_000);
        let ev = HeaderMap::new().with("Event-Name", "CHANNEL_ANSWER").with("variable_big", &big);
        let first = raw.keep(&ev);
        assert_eq!(raw.get(first).unwrap().len(), RAW_EVENT_MAX, "one event is cut to RAW_EVENT_MAX");
        let capacity = raw.ring.capacity();
        let mut last = first;
        for _ in 0..(RAW_BYTES / RAW_EVENT_MAX) + 10 {
            last = raw.keep(&ev);
        }
        assert!(raw.bytes() <= RAW_BYTES, "{}", raw.bytes());
        assert_eq!(raw.ring.capacity(), capacity, "the ring never grows");
        assert_eq!(raw.get(first), None, "the oldest went first");
        assert!(raw.get(last).unwrap().starts_with("Event-Name: CHANNEL_ANSWER\n"));
        let small = HeaderMap::new().with("Event-Name", "CHANNEL_CALLSTATE");
        for _ in 0..RAW_EVENTS + 5 {
            last = raw.keep(&small);
        }
        assert_eq!(raw.len(), RAW_EVENTS);
        assert_eq!(raw.get(last).as_deref(), Some("Event-Name: CHANNEL_CALLSTATE\n"));
        assert_eq!(raw.get(last + 1), None);
    }

    #[test]
    fn a_flow_keeps_its_last_events_and_its_first_legs() {
        let t0 = Instant::now();
        let mut flow = Flow::default();
        for i in 0..FLOW_EVENTS + 3 {
            let ev = HeaderMap::new().with("Event-Name", "CHANNEL_HOLD");
            flow.record(&ev, "a", "a", t0, i as u64);
        }
        assert_eq!((flow.events.len(), flow.dropped), (FLOW_EVENTS, 3));
        assert_eq!(flow.events[0].raw, 3, "the oldest went");
        for i in 0..FLOW_LEGS + 2 {
            let ev = HeaderMap::new().with("Event-Name", "CHANNEL_CREATE");
            flow.record(&ev, &format!("leg{i:02}-uuid"), "a", t0, 0);
        }
        assert_eq!(flow.legs.len(), FLOW_LEGS);
        let late = flow.events.back().unwrap();
        assert_eq!(usize::from(late.leg), FLOW_LEGS - 1, "a leg past the bound lands on the last column");
        assert_eq!(late.detail.as_deref(), Some("leg09-uu"), "named");
    }

    #[test]
    fn events_read_as_arrows_and_boxes() {
        let t0 = Instant::now();
        let mut flow = Flow::default();
        let create = HeaderMap::new()
            .with("Event-Name", "CHANNEL_CREATE")
            .with("Channel-Name", "sofia/internal/1001@10.0.0.5:5060")
            .with("Caller-Destination-Number", "1000")
            .with("Event-Date-Local", "2025-01-01 12:00:01")
            .with("Event-Date-Timestamp", "1735732801120456");
        flow.record(&create, "a", "a", t0, 0);
        let b = HeaderMap::new()
            .with("Event-Name", "CHANNEL_CREATE")
            .with("Channel-Name", "sofia/internal/x7ab2@198.51.100.7:5060")
            .with("Caller-Destination-Number", "1000");
        flow.record(&b, "b", "a", t0, 1);
        let bridge = HeaderMap::new().with("Event-Name", "CHANNEL_BRIDGE").with("Other-Leg-Unique-ID", "b");
        flow.record(&bridge, "a", "a", t0, 2);
        let hangup = HeaderMap::new()
            .with("Event-Name", "CHANNEL_HANGUP")
            .with("Hangup-Cause", "USER_BUSY")
            .with("variable_sip_term_status", "486");
        flow.record(&hangup, "b", "a", t0, 3);
        let labels: Vec<&str> = flow.legs.iter().map(|l| &*l.label).collect();
        assert_eq!(labels, ["1001", "1000"]);
        let e = &flow.events;
        assert_eq!((e[0].name, e[0].peer, e[0].detail.as_deref()), ("CREATE", None, Some("to 1000")));
        assert_eq!(e[0].pbx_ms.map(time_of_day).as_deref(), Some("12:00:01.120"));
        assert_eq!((e[1].leg, e[1].peer), (1, Some(0)), "a B leg's CREATE runs from the A leg");
        assert_eq!((e[2].leg, e[2].peer), (0, Some(1)));
        assert_eq!(e[3].detail.as_deref(), Some("USER_BUSY 486 Busy Here"));
        // HANGUP_COMPLETE of another cause than its HANGUP's says both; without billing
        // variables, just the cause.
        let complete = HeaderMap::new()
            .with("Event-Name", "CHANNEL_HANGUP_COMPLETE")
            .with("Hangup-Cause", "NORMAL_CLEARING")
            .with("variable_billsec", "0")
            .with("variable_duration", "3");
        flow.record(&complete, "b", "a", t0, 4);
        assert_eq!(flow.events[4].detail.as_deref(), Some("NORMAL_CLEARING, billsec 0s of 3s"));
        let bare =
            HeaderMap::new().with("Event-Name", "CHANNEL_HANGUP_COMPLETE").with("Hangup-Cause", "NO_ANSWER");
        flow.record(&bare, "a", "a", t0, 5);
        assert_eq!(flow.events[5].detail.as_deref(), Some("NO_ANSWER 480 Temporarily Unavailable"));
    }
}
