//! A seeded generator of office traffic: who registers how, who calls whom, how calls
//! end. The same seed gives the same timeline, so a load run or a demo is reproducible.
//!
//! The mix is a small office: most phones on UDP, some browsers on WSS, one on TCP;
//! calls arrive as a Poisson process; two thirds are answered and talk for an
//! exponentially distributed time (mean 90 s, 5 s to 10 min); the rest are busy, not
//! answered, cancelled or rejected as not found; now and then a phone re-registers, and
//! every phone refreshes its binding at half its Expires (3600 s, 600 s on WebSocket), as
//! SIP user agents do, so a large PBX shows its real REGISTER rate.
//!
//! Up to 100 000 users and 60 000 calls a minute: the timeline is made as it is played
//! ([`GeneratorSpec::stream`]), holding one entry per user, not one per step.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use toml::{Table, Value};

use super::timeline::{parse_duration, Action, CallSpec, Outcome, Step};
use super::{Party, Transport};

/// Most users a generator takes.
pub const MAX_USERS: usize = 100_000;
/// Highest call rate a generator takes.
pub const MAX_CALLS_PER_MINUTE: f64 = 60_000.0;

/// A `[generator]` key that is missing or wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("generator.{key}: {message}")]
pub struct GeneratorError {
    /// The key under `[generator]` at fault.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// `[generator]` of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorSpec {
    /// The same seed makes the same timeline.
    pub seed: u64,
    /// Mean rate of call starts, above 0 and at most [`MAX_CALLS_PER_MINUTE`].
    pub calls_per_minute: f64,
    /// Who registers and calls: 2 to [`MAX_USERS`] user names.
    pub users: Vec<String>,
    /// Calls start within this window; they may end after it.
    pub duration: Duration,
}

const AGENTS: [(&str, Transport); 6] = [
    ("Yealink SIP-T46S 66.86.0.15", Transport::Udp),
    ("Grandstream GXP2170 1.0.11.23", Transport::Udp),
    ("Zoiper rv2.10.20.5", Transport::Udp),
    ("SIP.js/0.21.2 (Chrome)", Transport::Wss),
    ("JsSIP 3.10.1", Transport::Wss),
    ("Linphone-Desktop/5.2.6 (belle-sip/5.2.0)", Transport::Tcp),
];

const NAMES: [&str; 12] =
    ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Olivia"];

impl GeneratorSpec {
    pub(crate) fn from_table(t: &Table) -> Result<GeneratorSpec, GeneratorError> {
        let err = |key: &str, message: String| GeneratorError { key: key.to_string(), message };
        for key in t.keys() {
            if !["seed", "calls_per_minute", "users", "duration"].contains(&key.as_str()) {
                return Err(err(key, "unknown key".into()));
            }
        }
        let seed = match t.get("seed") {
            Some(Value::Integer(n)) if *n >= 0 => *n as u64,
            Some(_) => return Err(err("seed", "expected a non-negative integer".into())),
            None => return Err(err("seed", "missing".into())),
        };
        let calls_per_minute = match t.get("calls_per_minute") {
            Some(Value::Integer(n)) => *n as f64,
            Some(Value::Float(f)) => *f,
            Some(_) => return Err(err("calls_per_minute", "expected a number".into())),
            None => return Err(err("calls_per_minute", "missing".into())),
        };
        if !(calls_per_minute > 0.0 && calls_per_minute <= MAX_CALLS_PER_MINUTE) {
            return Err(err(
                "calls_per_minute",
                format!("must be above 0 and at most {MAX_CALLS_PER_MINUTE}"),
            ));
        }
        let users = match t.get("users") {
            Some(Value::Integer(n)) if (2..=MAX_USERS as i64).contains(n) => {
                (0..*n).map(|i| (1000 + i).to_string()).collect()
            }
            Some(Value::Array(list)) => {
                let mut users = Vec::new();
                for v in list {
                    match v {
                        Value::String(s) if super::valid_user(s) => users.push(s.clone()),
                        _ => return Err(err("users", format!("invalid user {v}"))),
                    }
                }
                if users.len() < 2 {
                    return Err(err("users", "at least two users are needed to call each other".into()));
                }
                if users.len() > MAX_USERS {
                    return Err(err("users", format!("at most {MAX_USERS} users")));
                }
                users
            }
            Some(_) => {
                return Err(err(
                    "users",
                    format!("expected a count (2 to {MAX_USERS}) or a list of user names"),
                ))
            }
            None => return Err(err("users", "missing".into())),
        };
        let duration = match t.get("duration") {
            Some(Value::String(s)) => parse_duration(s).map_err(|m| err("duration", m))?,
            Some(_) => return Err(err("duration", "expected a string such as \"10m\"".into())),
            None => return Err(err("duration", "missing".into())),
        };
        if duration > Duration::from_secs(7 * 86_400) {
            return Err(err("duration", "at most 7 days".into()));
        }
        Ok(GeneratorSpec { seed, calls_per_minute, users, duration })
    }

    /// The whole timeline for this seed, sorted by `at` (for small specs and tests; a
    /// scenario plays [`GeneratorSpec::stream`]).
    pub fn steps(&self) -> Vec<Step> {
        self.stream().collect()
    }

    /// The timeline for this seed, in `at` order, made step by step.
    pub fn stream(&self) -> Traffic<'_> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        // Everyone registers in the first few seconds, each with a device picked by weight.
        let mut agents = Vec::with_capacity(self.users.len());
        let mut first = Vec::with_capacity(self.users.len());
        for i in 0..self.users.len() {
            let weights = [30, 25, 15, 15, 10, 5];
            let mut pick = rng.random_range(0..weights.iter().sum::<u32>());
            let mut idx = 0;
            while pick >= weights[idx] {
                pick -= weights[idx];
                idx += 1;
            }
            agents.push(idx as u8);
            first.push(Reverse((Duration::from_millis(rng.random_range(0..5000)), Kind::Register, i as u32)));
        }
        // The fields are public: a spec built by hand may be degenerate; it then only registers.
        let calls = self.users.len() >= 2 && self.calls_per_minute.is_finite() && self.calls_per_minute > 0.0;
        let mean_gap = if calls { 60.0 / self.calls_per_minute } else { f64::INFINITY };
        let next_call = if calls { 5.0 + exponential(&mut rng, mean_gap) } else { f64::INFINITY };
        Traffic { spec: self, rng, agents, pending: BinaryHeap::from(first), next_call, mean_gap }
    }
}

/// What a pending entry becomes when its time comes. The order breaks ties the way the
/// materialized timeline did: registrations before the re-registers calls scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The first REGISTER, then each refresh at half the Expires.
    Register,
    /// An occasional re-REGISTER half a second after a call.
    Reregister,
}

/// The generator's timeline as an iterator ([`GeneratorSpec::stream`]).
pub struct Traffic<'a> {
    spec: &'a GeneratorSpec,
    rng: StdRng,
    /// Each user's device (index into `AGENTS`).
    agents: Vec<u8>,
    /// Registrations and refreshes to come, soonest first: one entry per user at most,
    /// plus the re-registers scheduled by calls.
    pending: BinaryHeap<Reverse<(Duration, Kind, u32)>>,
    next_call: f64,
    mean_gap: f64,
}

impl Traffic<'_> {
    fn register(&self, user: usize) -> Action {
        let (ua, transport) = AGENTS[usize::from(self.agents[user])];
        Action::Register {
            user: self.spec.users[user].clone(),
            transport,
            user_agent: ua.to_string(),
            expires: None,
        }
    }

    /// Half the transport's default Expires: when a device refreshes its binding.
    fn refresh_gap(&self, user: usize) -> Duration {
        let (_, transport) = AGENTS[usize::from(self.agents[user])];
        Duration::from_secs(if transport.is_websocket() { 300 } else { 1800 })
    }

    fn call(&mut self, t: f64) -> Step {
        let spec = self.spec;
        let rng = &mut self.rng;
        let from_idx = rng.random_range(0..spec.users.len());
        let mut to_idx = rng.random_range(0..spec.users.len() - 1);
        if to_idx >= from_idx {
            to_idx += 1;
        }
        let roll = rng.random_range(0..100);
        let outcome = match roll {
            0..=64 => Outcome::Answer { talk_for: secs(exponential(rng, 90.0).clamp(5.0, 600.0)) },
            65..=74 => Outcome::Busy,
            75..=84 => Outcome::NoAnswer,
            85..=92 => Outcome::Cancel,
            _ => Outcome::NotFound,
        };
        let ring_for = match outcome {
            Outcome::Busy | Outcome::NotFound => secs(rng.random_range(0.2..1.0)),
            Outcome::NoAnswer => secs(rng.random_range(15.0..30.0)),
            _ => secs(rng.random_range(2.0..12.0)),
        };
        let hangup = if rng.random_bool(0.5) { Party::Caller } else { Party::Callee };
        let name = NAMES[from_idx % NAMES.len()].to_string();
        // About once per five minutes per ten users, a phone re-registers.
        let n = spec.users.len() as f64;
        if rng.random_bool((0.1 * n / (5.0 * spec.calls_per_minute)).min(1.0)) {
            let i = rng.random_range(0..spec.users.len());
            self.pending.push(Reverse((secs(t + 0.5), Kind::Reregister, i as u32)));
        }
        self.next_call = t + exponential(&mut self.rng, self.mean_gap);
        Step {
            at: secs(t),
            action: Action::Call(CallSpec {
                from: spec.users[from_idx].clone(),
                to: spec.users[to_idx].clone(),
                caller_name: Some(name),
                ring_for,
                outcome,
                hangup,
                hold: None,
            }),
        }
    }
}

impl Iterator for Traffic<'_> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        let end = self.spec.duration.as_secs_f64();
        let call_due = self.next_call < end;
        let pending = self.pending.peek().map(|Reverse((at, _, _))| *at);
        if call_due && pending.is_none_or(|at| secs(self.next_call) < at) {
            let t = self.next_call;
            return Some(self.call(t));
        }
        let Reverse((at, kind, user)) = self.pending.pop()?;
        let user = user as usize;
        if kind == Kind::Register {
            // Refreshes go on for as long as calls arrive, so a pass still ends.
            let next = at + self.refresh_gap(user);
            if next.as_secs_f64() < end {
                self.pending.push(Reverse((next, Kind::Register, user as u32)));
            }
        }
        Some(Step { at, action: self.register(user) })
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// An exponentially distributed value with that mean (inverse transform sampling).
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -u.ln() * mean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> GeneratorSpec {
        GeneratorSpec {
            seed,
            calls_per_minute: 6.0,
            users: (1000..1010).map(|u| u.to_string()).collect(),
            duration: Duration::from_secs(600),
        }
    }

    #[test]
    fn degenerate_specs_only_register() {
        let only_registers = |s: &GeneratorSpec| {
            let steps = s.steps();
            let mut users: Vec<String> = steps
                .iter()
                .map(|st| match &st.action {
                    Action::Register { user, .. } => user.clone(),
                    other => panic!("not a registration: {other:?}"),
                })
                .collect();
            users.sort();
            users.dedup();
            users.len()
        };
        let mut s = spec(1);
        s.calls_per_minute = -3.0;
        assert_eq!(only_registers(&s), 10);
        s.calls_per_minute = f64::NAN;
        assert_eq!(only_registers(&s), 10);
        s.calls_per_minute = 6.0;
        s.users.truncate(1);
        assert_eq!(only_registers(&s), 1);
        s.users.clear();
        assert!(s.steps().is_empty());
    }

    #[test]
    fn same_seed_same_timeline() {
        assert_eq!(spec(7).steps(), spec(7).steps());
        assert_ne!(spec(7).steps(), spec(8).steps());
    }

    #[test]
    fn rate_and_mix_are_plausible() {
        let steps = spec(1).steps();
        let calls: Vec<&CallSpec> = steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Call(c) => Some(c),
                _ => None,
            })
            .collect();
        // 6 calls a minute for ~10 minutes.
        assert!((35..=90).contains(&calls.len()), "{}", calls.len());
        assert!(calls.iter().all(|c| c.from != c.to));
        let answered = calls.iter().filter(|c| matches!(c.outcome, Outcome::Answer { .. })).count();
        assert!(answered * 3 > calls.len(), "answered {answered} of {}", calls.len());
        assert!(steps.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn every_phone_refreshes_at_half_its_expires() {
        let s = spec(3);
        let regs: Vec<(Duration, String, Transport)> = s
            .steps()
            .into_iter()
            .filter_map(|st| match st.action {
                Action::Register { user, transport, .. } => Some((st.at, user, transport)),
                _ => None,
            })
            .collect();
        for user in &s.users {
            let mine: Vec<&(Duration, String, Transport)> = regs.iter().filter(|r| &r.1 == user).collect();
            let gap = if mine[0].2.is_websocket() { 300 } else { 1800 };
            // 600 s of traffic: WebSocket phones refresh at 300 s; the others not yet.
            let refreshed = mine.iter().any(|r| r.0 == mine[0].0 + Duration::from_secs(gap));
            assert_eq!(refreshed, gap == 300, "{user}: {mine:?}");
        }
    }

    #[test]
    fn a_carrier_size_spec_streams_without_holding_its_timeline() {
        let big = GeneratorSpec {
            seed: 9,
            calls_per_minute: MAX_CALLS_PER_MINUTE,
            users: (0..MAX_USERS).map(|u| format!("u{u}")).collect(),
            duration: Duration::from_secs(3600),
        };
        let mut stream = big.stream();
        let first_minute: Vec<Step> =
            stream.by_ref().take_while(|s| s.at < Duration::from_secs(65)).collect();
        let calls = first_minute.iter().filter(|s| matches!(s.action, Action::Call(_))).count();
        let registers = first_minute.len() - calls;
        // 100 000 first REGISTERs within 5 s, then about 1000 calls a second.
        assert!(registers >= MAX_USERS, "{registers}");
        assert!((50_000..70_000).contains(&calls), "{calls} calls in the first minute");
        assert!(first_minute.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(stream.pending.len() <= MAX_USERS + 1000, "one entry per user, not per step");
    }
}
