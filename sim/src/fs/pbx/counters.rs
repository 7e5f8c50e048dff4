//! Session counters as the FreeSWITCH core keeps them (`runtime.sps_*`,
//! `runtime.sessions_peak*`), derived from channel creations and ends on the model's
//! clock so that `status`, HEARTBEAT and `show … count` agree.
//!
//! Per-second rates are counted in whole seconds of uptime: `last` is the count of the
//! previous complete second, `peak` and `five_min` include the second in progress (its
//! count can only grow, so it is a lower bound of what FreeSWITCH will report at the tick).

use std::collections::VecDeque;

/// Window of the "last 5min" figures, in microseconds of uptime.
const FIVE_MIN_US: u64 = 300 * 1_000_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    /// Sessions created since startup (`switch_core_session_id() - 1`).
    pub since_startup: u64,
    /// Live sessions.
    pub current: u32,
    /// Highest `current` ever.
    pub peak: u32,
    /// `(uptime_us, current)` after each change, newest last; older than five minutes is
    /// pruned except the one entry that gives the value at the window start.
    changes: VecDeque<(u64, u32)>,
    /// `(second of uptime, sessions created in it)`, newest last, five minutes kept.
    per_second: VecDeque<(u64, u32)>,
    /// Highest per-second creation count ever.
    sps_peak: u32,
}

/// What `status` and HEARTBEAT print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Sessions created since startup.
    pub since_startup: u64,
    /// Live sessions.
    pub current: u32,
    /// Highest live-session count since startup.
    pub peak: u32,
    /// Highest live-session count in the last five minutes.
    pub peak_five_min: u32,
    /// Sessions created in the previous complete second.
    pub sps_last: u32,
    /// Most sessions created in one second since startup.
    pub sps_peak: u32,
    /// Most sessions created in one second in the last five minutes.
    pub sps_five_min: u32,
}

impl Counters {
    pub fn created(&mut self, now_us: u64) {
        self.since_startup += 1;
        self.current += 1;
        self.peak = self.peak.max(self.current);
        let sec = now_us / 1_000_000;
        match self.per_second.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => self.per_second.push_back((sec, 1)),
        }
        let this_second = self.per_second.back().map_or(0, |(_, n)| *n);
        self.sps_peak = self.sps_peak.max(this_second);
        self.changed(now_us);
    }

    pub fn ended(&mut self, now_us: u64) {
        self.current = self.current.saturating_sub(1);
        self.changed(now_us);
    }

    fn changed(&mut self, now_us: u64) {
        self.changes.push_back((now_us, self.current));
        self.prune(now_us);
    }

    fn prune(&mut self, now_us: u64) {
        let start = now_us.saturating_sub(FIVE_MIN_US);
        while self.changes.len() > 1 && self.changes.get(1).is_some_and(|(t, _)| *t <= start) {
            self.changes.pop_front();
        }
        let start_sec = start / 1_000_000;
        while self.per_second.front().is_some_and(|(s, _)| *s < start_sec) {
            self.per_second.pop_front();
        }
    }

    pub fn snapshot(&self, now_us: u64) -> CounterSnapshot {
        let start = now_us.saturating_sub(FIVE_MIN_US);
        let peak_five_min = self
            .changes
            .iter()
            .filter(|(t, _)| *t >= start)
            .map(|(_, n)| *n)
            .chain(self.value_at(start))
            .max();
        let sec = now_us / 1_000_000;
        let sps_last = self.per_second.iter().find(|(s, _)| s + 1 == sec).map_or(0, |(_, n)| *n);
        let sps_five_min = self
            .per_second
            .iter()
            .filter(|(s, _)| *s >= start / 1_000_000)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        CounterSnapshot {
            since_startup: self.since_startup,
            current: self.current,
            peak: self.peak,
            peak_five_min: peak_five_min.unwrap_or(0).max(self.current),
            sps_last,
            sps_peak: self.sps_peak,
            sps_five_min,
        }
    }

    /// The session count in force at `t` (the last change at or before it).
    fn value_at(&self, t: u64) -> Option<u32> {
        self.changes.iter().rev().find(|(at, _)| *at <= t).map(|(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn peaks_and_rates_follow_the_clock() {
        let mut c = Counters::default();
        c.created(10 * S);
        c.created(10 * S + 5);
        c.created(10 * S + 9);
        let snap = c.snapshot(10 * S + 10);
        assert_eq!((snap.current, snap.peak, snap.since_startup), (3, 3, 3));
        assert_eq!((snap.sps_last, snap.sps_peak, snap.sps_five_min), (0, 3, 3));
        let snap = c.snapshot(11 * S);
        assert_eq!(snap.sps_last, 3);
        c.ended(20 * S);
        c.ended(20 * S);
        let snap = c.snapshot(21 * S);
        assert_eq!((snap.current, snap.peak, snap.peak_five_min, snap.sps_last), (1, 3, 3, 0));
        // Six minutes later the burst has left the five-minute window.
        let later = 20 * S + 6 * 60 * S;
        c.ended(later);
        let snap = c.snapshot(later);
        assert_eq!((snap.current, snap.peak, snap.peak_five_min, snap.sps_five_min), (0, 3, 1, 0));
        assert_eq!(c.snapshot(later + 1).peak_five_min, 1, "the value at the window start still counts");
    }
}
