//! A seeded generator of office traffic: who registers how, who calls whom, how calls
//! end. The same seed gives the same timeline, so a load run or a demo is reproducible.
//!
//! The mix is a small office: most phones on UDP, some browsers on WSS, one on TCP;
//! calls arrive as a Poisson process; two thirds are answered and talk for an
//! exponentially distributed time (mean 90 s, 5 s to 10 min); the rest are busy, not
//! answered, cancelled or rejected as not found; now and then a phone re-registers.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use toml::{Table, Value};

use super::scenario::{Action, CallSpec, Outcome, ScenarioError, Step};
use super::{Party, Transport};

/// `[generator]` of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorSpec {
    pub seed: u64,
    pub calls_per_minute: f64,
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
    pub(crate) fn from_table(t: &Table) -> Result<GeneratorSpec, ScenarioError> {
        let err =
            |key: &str, message: String| ScenarioError::Top { key: format!("generator.{key}"), message };
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
        if !(calls_per_minute > 0.0 && calls_per_minute <= 6000.0) {
            return Err(err("calls_per_minute", "must be above 0 and at most 6000".into()));
        }
        let users = match t.get("users") {
            Some(Value::Integer(n)) if (2..=1000).contains(n) => {
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
                users
            }
            Some(_) => {
                return Err(err("users", "expected a count (2 to 1000) or a list of user names".into()))
            }
            None => return Err(err("users", "missing".into())),
        };
        let duration = match t.get("duration") {
            Some(Value::String(s)) => super::scenario::parse_duration(s).map_err(|m| err("duration", m))?,
            Some(_) => return Err(err("duration", "expected a string such as \"10m\"".into())),
            None => return Err(err("duration", "missing".into())),
        };
        if duration > Duration::from_secs(7 * 86_400) {
            return Err(err("duration", "at most 7 days".into()));
        }
        Ok(GeneratorSpec { seed, calls_per_minute, users, duration })
    }

    /// The timeline for this seed, sorted by `at`.
    pub fn steps(&self) -> Vec<Step> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut steps = Vec::new();
        // Everyone registers in the first few seconds, each with a device picked by weight.
        let mut agents = Vec::new();
        for user in &self.users {
            let weights = [30, 25, 15, 15, 10, 5];
            let mut pick = rng.random_range(0..weights.iter().sum::<u32>());
            let mut idx = 0;
            while pick >= weights[idx] {
                pick -= weights[idx];
                idx += 1;
            }
            let (ua, transport) = AGENTS[idx];
            agents.push((ua, transport));
            let at = Duration::from_millis(rng.random_range(0..5000));
            steps.push(Step {
                at,
                action: Action::Register { user: user.clone(), transport, user_agent: ua.to_string() },
            });
        }
        // The fields are public: a spec built by hand may be degenerate; it then only registers.
        if self.users.len() < 2 || !(self.calls_per_minute.is_finite() && self.calls_per_minute > 0.0) {
            steps.sort_by_key(|s| s.at);
            return steps;
        }
        let mean_gap = 60.0 / self.calls_per_minute;
        let mut t = 5.0 + exponential(&mut rng, mean_gap);
        let end = self.duration.as_secs_f64();
        while t < end {
            let from_idx = rng.random_range(0..self.users.len());
            let mut to_idx = rng.random_range(0..self.users.len() - 1);
            if to_idx >= from_idx {
                to_idx += 1;
            }
            let roll = rng.random_range(0..100);
            let outcome = match roll {
                0..=64 => Outcome::Answer { talk_for: secs(exponential(&mut rng, 90.0).clamp(5.0, 600.0)) },
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
            steps.push(Step {
                at: secs(t),
                action: Action::Call(CallSpec {
                    from: self.users[from_idx].clone(),
                    to: self.users[to_idx].clone(),
                    caller_name: Some(name),
                    ring_for,
                    outcome,
                    hangup,
                }),
            });
            // About once per five minutes per ten users, a phone re-registers.
            if rng.random_bool((0.1 * self.users.len() as f64 / (5.0 * self.calls_per_minute)).min(1.0)) {
                let i = rng.random_range(0..self.users.len());
                let (ua, transport) = agents[i];
                steps.push(Step {
                    at: secs(t + 0.5),
                    action: Action::Register {
                        user: self.users[i].clone(),
                        transport,
                        user_agent: ua.to_string(),
                    },
                });
            }
            t += exponential(&mut rng, mean_gap);
        }
        steps.sort_by_key(|s| s.at);
        steps
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
        let mut s = spec(1);
        s.calls_per_minute = -3.0;
        assert_eq!(s.steps().len(), 10);
        s.calls_per_minute = f64::NAN;
        assert_eq!(s.steps().len(), 10);
        s.calls_per_minute = 6.0;
        s.users.truncate(1);
        assert_eq!(s.steps().len(), 1);
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
}
