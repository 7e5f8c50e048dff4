//! When to rebuild the state although the session is fine: events are the fast path, the
//! `api` is the truth. A rebuild runs every `reconcile` period, and soon after any sign of
//! drift the model reports, so no figure stays wrong for more than one period whatever the
//! event stream did, and a known-wrong one is corrected within [`DRIFT_GAP`].

use std::time::Duration;

use tokio::time::Instant;

use crate::status::{Drift, PbxStatus};

/// Shortest time between the start of one rebuild and a drift-triggered next one: a server
/// that keeps sending events about unknown channels must not keep the link rebuilding.
pub(super) const DRIFT_GAP: Duration = Duration::from_secs(2);

/// Why a rebuild runs, for the log line that reports a correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    /// The session just started.
    Connect,
    /// The periodic check.
    Period,
    /// The model saw a sign of drift.
    Drift(Drift),
    /// The client dropped events.
    Lost,
    /// An event could not be read: it may have been one the model needed.
    Unreadable,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect => f.write_str("connect"),
            Self::Period => f.write_str("periodic check"),
            Self::Drift(d) => write!(f, "{d}"),
            Self::Lost => f.write_str("events lost"),
            Self::Unreadable => f.write_str("an unreadable event"),
        }
    }
}

/// The rebuild timetable of one session.
#[derive(Debug)]
pub(super) struct Schedule {
    period: Duration,
    /// When the next rebuild is due (while none is in flight) and why.
    next: Option<(Instant, Cause)>,
    /// A sign of drift seen while a rebuild was in flight: its snapshot may predate it.
    pending: Option<Cause>,
    last_start: Instant,
    /// Why the rebuild in flight (or the last one) runs.
    running: Cause,
}

impl Schedule {
    /// A session whose first rebuild starts at `now`.
    pub(super) fn new(period: Duration, now: Instant) -> Self {
        Self { period, next: None, pending: None, last_start: now, running: Cause::Connect }
    }

    /// Whether a rebuild is due at `now`; if so, it counts as started.
    pub(super) fn start_if_due(&mut self, now: Instant) -> bool {
        match self.next {
            Some((at, cause)) if now >= at => {
                self.next = None;
                self.started(cause, now);
                true
            }
            _ => false,
        }
    }

    /// A rebuild starts now, for `cause`.
    pub(super) fn started(&mut self, cause: Cause, now: Instant) {
        self.last_start = now;
        self.running = cause;
        self.pending = None;
    }

    /// Why the rebuild that just landed ran.
    pub(super) fn cause(&self) -> Cause {
        self.running
    }

    /// The rebuild in flight landed at `now`: schedule the next one.
    pub(super) fn landed(&mut self, now: Instant) {
        self.next = match self.pending.take() {
            Some(cause) => Some(((self.last_start + DRIFT_GAP).max(now), cause)),
            None if self.period.is_zero() => None,
            None => Some((now + self.period, Cause::Period)),
        };
    }

    /// The model saw drift at `now`; `refreshing` says whether a rebuild is in flight.
    pub(super) fn drift(&mut self, drift: Drift, refreshing: bool, now: Instant) {
        self.soon(Cause::Drift(drift), refreshing, now);
    }

    /// A rebuild for `cause` as soon as [`DRIFT_GAP`] allows.
    pub(super) fn soon(&mut self, cause: Cause, refreshing: bool, now: Instant) {
        if refreshing {
            self.pending.get_or_insert(cause);
            return;
        }
        let at = (self.last_start + DRIFT_GAP).max(now);
        match self.next {
            Some((t, c)) if t <= at && c != Cause::Period => {}
            _ => self.next = Some((at, cause)),
        }
    }

    /// When to wake up for the next rebuild, if one is scheduled.
    pub(super) fn wake(&self) -> Option<Instant> {
        self.next.map(|(at, _)| at)
    }
}

/// The figures a reconcile may correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Figures {
    calls: Option<u64>,
    channels: Option<u64>,
    registrations: Option<u64>,
    webrtc: Option<u64>,
}

impl Figures {
    pub(super) fn of(pbx: &PbxStatus) -> Self {
        Self {
            calls: pbx.calls(),
            channels: pbx.channels(),
            registrations: pbx.registrations(),
            webrtc: pbx.webrtc_registrations(),
        }
    }

    /// What changed from `self` to `after`, as `registrations 4 → 3, …`; `None` if nothing.
    pub(super) fn changes(&self, after: &Figures) -> Option<String> {
        let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let pairs = [
            ("calls", self.calls, after.calls),
            ("channels", self.channels, after.channels),
            ("registrations", self.registrations, after.registrations),
            ("webrtc", self.webrtc, after.webrtc),
        ];
        let parts: Vec<String> = pairs
            .iter()
            .filter(|(_, a, b)| a != b)
            .map(|(name, a, b)| format!("{name} {} → {}", show(*a), show(*b)))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[tokio::test(start_paused = true)]
    async fn periodic_then_drift_soon_but_never_in_a_loop() {
        let t0 = Instant::now();
        let mut s = Schedule::new(S(60), t0);
        assert_eq!(s.wake(), None, "nothing until the first rebuild lands");
        s.landed(t0 + S(1));
        assert_eq!(s.wake(), Some(t0 + S(61)));
        assert!(!s.start_if_due(t0 + S(60)));
        // Drift right after a rebuild waits out the gap; more drift does not push it back.
        s.drift(Drift::UnknownHangup, false, t0 + S(1));
        assert_eq!(s.wake(), Some(t0 + DRIFT_GAP));
        s.drift(Drift::NewCallId, false, t0 + S(2));
        assert_eq!(s.wake(), Some(t0 + DRIFT_GAP));
        assert!(s.start_if_due(t0 + DRIFT_GAP));
        assert_eq!(s.cause(), Cause::Drift(Drift::UnknownHangup));
        // Drift during the rebuild asks for another one after it.
        s.drift(Drift::UnknownUnregister, true, t0 + S(3));
        s.landed(t0 + S(3));
        assert_eq!(s.wake(), Some(t0 + DRIFT_GAP + DRIFT_GAP));
        assert!(s.start_if_due(t0 + S(10)));
        s.landed(t0 + S(10));
        assert_eq!(s.wake(), Some(t0 + S(70)), "then back to the period");
    }

    #[test]
    fn figures_report_only_what_changed() {
        let a = Figures { calls: Some(1), channels: Some(2), registrations: Some(4), webrtc: None };
        let b = Figures { registrations: Some(3), webrtc: Some(0), ..a };
        assert_eq!(a.changes(&a), None);
        assert_eq!(a.changes(&b).as_deref(), Some("registrations 4 → 3, webrtc ? → 0"));
    }
}
