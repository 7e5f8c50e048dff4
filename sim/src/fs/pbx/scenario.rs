//! Scenarios: timed scripts of PBX activity (TOML, documented in
//! fixtures/scenarios/README.md) played against a [`Pbx`] on tokio time.
//!
//! Timing is a timeline (see `timeline`): each step has `at`, its offset from the start
//! of the pass. Calls and originates run in the background from their `at`, so later
//! steps (another call, a gateway flap) happen while they ring or talk; a pass ends when
//! every step has run and every call it started has ended. A generator's steps are made
//! as the pass reaches them, so a carrier-size timeline is never held in memory.

use std::path::Path;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};
use toml::{Table, Value};

use super::dialplan::ExtensionSpec;
use super::directory::User;
use super::generator::GeneratorSpec;
pub use super::timeline::{parse_duration, Action, CallSpec, Hold, Outcome, Step};
use super::{ApiOutput, MultipleRegistrations, Party, Pbx, PbxError, Transport};
use crate::fs::fault::{Fault, FaultControl};

/// Why a scenario could not be loaded. Each message is one line naming the step and key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {message}")]
    Io {
        /// The path as given.
        path: String,
        /// The I/O error's text.
        message: String,
    },
    /// The text is not TOML; the parser's first line.
    #[error("invalid TOML: {0}")]
    Toml(String),
    /// A top-level key (`name`, `repeat`, `[generator]`…) is missing, unknown or wrong.
    #[error("key {key:?}: {message}")]
    Top {
        /// The key, dotted for a table's key (`generator.seed`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `[[user]]` entry is wrong. `index` counts from 1 in file order.
    #[error("user {index}: key {key:?}: {message}")]
    User {
        /// Which `[[user]]`.
        index: usize,
        /// The key at fault.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `[[dialplan]]` entry is wrong. `index` counts from 1 in file order.
    #[error("dialplan entry {index}: key {key:?}: {message}")]
    Dialplan {
        /// Which `[[dialplan]]`.
        index: usize,
        /// The key at fault.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `[[step]]` is wrong. `index` counts from 1 in file order.
    #[error("step {index} ({action}): key {key:?}: {message}")]
    Step {
        /// Which `[[step]]`.
        index: usize,
        /// The step's `action` as written (`?` when missing).
        action: String,
        /// The key at fault.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// How many times the timeline plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// `repeat = N`: N passes, then `run` returns.
    Times(u32),
    /// `repeat = "forever"`: `run` never returns.
    Forever,
}

/// A parsed scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `name`: how `mock-fs --scenario` and [`BUILTIN`] refer to it.
    pub name: String,
    /// `description`: one line for people.
    pub description: String,
    /// How many passes the timeline plays.
    pub repeat: Repeat,
    /// Minimum length of one pass: the next pass starts no earlier than this.
    pub period: Option<Duration>,
    /// The explicit `[[step]]`s in time order; [`Scenario::timeline`] merges in the
    /// generator's.
    pub steps: Vec<Step>,
    /// `[generator]`: seeded random calls merged into each pass.
    pub generator: Option<GeneratorSpec>,
    /// The profile's `multiple-registrations` while the scenario runs (`None`: as is).
    pub multiple_registrations: Option<MultipleRegistrations>,
    /// `[[dialplan]]` extensions, installed ahead of the shipped dialplan when the
    /// scenario runs.
    pub dialplan: Vec<ExtensionSpec>,
    /// `[[user]]` directory entries (who `userauth`, `user/` and SIP digest auth know).
    pub users: Vec<User>,
    /// `[sip]`: real SIP listeners for the scenario (`mock-fs` opens them).
    pub sip: Option<SipSpec>,
}

/// A scenario's `[sip]` table: where the internal profile listens for real clients.
/// Plain values here; `mock-fs` turns them into the SIP server's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipSpec {
    /// `listen`: HOST:PORT for UDP and TCP (default `127.0.0.1:5060`).
    pub listen: Option<String>,
    /// `udp` (default true).
    pub udp: bool,
    /// `tcp` (default true).
    pub tcp: bool,
    /// `min_expires`: a REGISTER asking less is answered 423 (default: no minimum, as
    /// sofia has none).
    pub min_expires: Option<u64>,
    /// `digest`: the algorithms challenged, in order (`["MD5"]` default, as the vanilla
    /// profile; `"SHA-256"` as `auth-digest-algorithms` adds it, RFC 8760).
    pub digest: Vec<String>,
    /// `ws`: HOST:PORT of SIP over WebSocket, or `"off"` (default: `listen`'s host, 5066).
    pub ws: Option<String>,
    /// `wss`: HOST:PORT of SIP over secure WebSocket, or `"off"` (default: its host, 7443).
    pub wss: Option<String>,
    /// `auth_calls`: the profile's `auth-calls` (default true, as the vanilla internal
    /// profile): an INVITE must answer a 407 challenge.
    pub auth_calls: bool,
    /// `auth_messages`: the profile's `auth-messages` (default true, as sofia.c sets it):
    /// a MESSAGE must answer a 407 challenge.
    pub auth_messages: bool,
}

fn parse_sip(t: &Table) -> Result<SipSpec, ScenarioError> {
    let prefix = |e: ScenarioError| match e {
        ScenarioError::Top { key, message } => ScenarioError::Top { key: format!("sip.{key}"), message },
        other => other,
    };
    let mut keys = Keys::new(t, Place::Top);
    let listen = keys.opt_str("listen").map_err(prefix)?;
    let mut flag = |name: &'static str| match keys.get(name) {
        None => Ok(true),
        Some(Value::Boolean(b)) => Ok(*b),
        Some(_) => Err(Place::Top.err(&format!("sip.{name}"), "expected true or false")),
    };
    let (udp, tcp) = (flag("udp")?, flag("tcp")?);
    let (auth_calls, auth_messages) = (flag("auth_calls")?, flag("auth_messages")?);
    let min_expires = match keys.opt_int("min_expires").map_err(prefix)? {
        None => None,
        Some(n) if n >= 0 => Some(n as u64),
        Some(_) => return Err(Place::Top.err("sip.min_expires", "expected seconds, at least 0")),
    };
    let digest = match keys.get("digest") {
        None => vec!["MD5".to_string()],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(a) if a.eq_ignore_ascii_case("MD5") || a.eq_ignore_ascii_case("SHA-256") => {
                        out.push(a.to_ascii_uppercase());
                    }
                    _ => return Err(Place::Top.err("sip.digest", "expected \"MD5\" and/or \"SHA-256\"")),
                }
            }
            out
        }
        Some(_) => return Err(Place::Top.err("sip.digest", "expected a list such as [\"SHA-256\", \"MD5\"]")),
    };
    let ws = keys.opt_str("ws").map_err(prefix)?;
    let wss = keys.opt_str("wss").map_err(prefix)?;
    keys.finish().map_err(prefix)?;
    Ok(SipSpec { listen, udp, tcp, min_expires, digest, ws, wss, auth_calls, auth_messages })
}

/// What a run did; model errors (a call killed by `hupall` before its answer step, a
/// user unregistered twice) are expected under faults and are listed, not fatal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Passes played to the end.
    pub passes: u32,
    /// Steps run, over all passes (skipped ones included).
    pub steps: usize,
    /// Calls and originates started.
    pub calls: usize,
    /// One line per step the model refused or call that failed, saying why.
    pub skipped: Vec<String>,
}

/// The shipped scenarios, by name.
pub const BUILTIN: [(&str, &str); 5] = [
    ("webrtc-click-to-call", include_str!("../../../../fixtures/scenarios/webrtc-click-to-call.toml")),
    ("originate", include_str!("../../../../fixtures/scenarios/originate.toml")),
    ("rejections", include_str!("../../../../fixtures/scenarios/rejections.toml")),
    ("busy-office", include_str!("../../../../fixtures/scenarios/busy-office.toml")),
    ("demo", include_str!("../../../../fixtures/scenarios/demo.toml")),
];

/// Reads typed keys from one TOML table and reports unknown ones, naming the place.
struct Keys<'a> {
    table: &'a Table,
    used: Vec<&'static str>,
    place: Place,
}

#[derive(Clone)]
enum Place {
    Top,
    Step(usize, String),
    Dialplan(usize),
    User(usize),
}

impl Place {
    fn err(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        let message = message.into();
        match self {
            Place::Top => ScenarioError::Top { key: key.to_string(), message },
            Place::Step(index, action) => {
                ScenarioError::Step { index: *index, action: action.clone(), key: key.to_string(), message }
            }
            Place::Dialplan(index) => {
                ScenarioError::Dialplan { index: *index, key: key.to_string(), message }
            }
            Place::User(index) => ScenarioError::User { index: *index, key: key.to_string(), message },
        }
    }
}

impl<'a> Keys<'a> {
    fn new(table: &'a Table, place: Place) -> Self {
        Keys { table, used: Vec::new(), place }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.table.get(key)
    }

    fn opt_str(&mut self, key: &'static str) -> Result<Option<String>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.place.err(key, format!("expected a string, found {}", other.type_str()))),
        }
    }

    fn str(&mut self, key: &'static str) -> Result<String, ScenarioError> {
        self.opt_str(key)?.ok_or_else(|| self.place.err(key, "missing"))
    }

    fn user(&mut self, key: &'static str) -> Result<String, ScenarioError> {
        let u = self.str(key)?;
        if super::valid_user(&u) {
            Ok(u)
        } else {
            Err(self.place.err(key, format!("invalid user {u:?} (letters, digits, '.', '_', '-')")))
        }
    }

    fn opt_duration(&mut self, key: &'static str) -> Result<Option<Duration>, ScenarioError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(s) => parse_duration(&s).map(Some).map_err(|m| self.place.err(key, m)),
        }
    }

    fn opt_int(&mut self, key: &'static str) -> Result<Option<i64>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => Ok(Some(*i)),
            Some(other) => {
                Err(self.place.err(key, format!("expected an integer, found {}", other.type_str())))
            }
        }
    }

    fn finish(self) -> Result<(), ScenarioError> {
        let mut unknown: Vec<&String> =
            self.table.keys().filter(|k| !self.used.contains(&k.as_str())).collect();
        unknown.sort();
        match unknown.first() {
            Some(k) => Err(self.place.err(k, "unknown key")),
            None => Ok(()),
        }
    }
}

impl Scenario {
    /// Parses a scenario; every error names the step (1-based) and the key.
    pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| {
            ScenarioError::Toml(e.message().lines().next().unwrap_or("syntax error").to_string())
        })?;
        let mut top = Keys::new(&table, Place::Top);
        let name = top.opt_str("name")?.unwrap_or_default();
        let description = top.opt_str("description")?.unwrap_or_default();
        let repeat = match top.get("repeat") {
            None => Repeat::Times(1),
            Some(Value::Integer(n)) if (1..=i64::from(u32::MAX)).contains(n) => Repeat::Times(*n as u32),
            Some(Value::String(s)) if s == "forever" => Repeat::Forever,
            Some(_) => return Err(Place::Top.err("repeat", "expected a count of at least 1 or \"forever\"")),
        };
        let period = top.opt_duration("period")?;
        let generator = match top.get("generator") {
            None => None,
            Some(Value::Table(t)) => Some(GeneratorSpec::from_table(t).map_err(|e| ScenarioError::Top {
                key: format!("generator.{}", e.key),
                message: e.message,
            })?),
            Some(_) => return Err(Place::Top.err("generator", "expected a table")),
        };
        let multiple_registrations = match top.get("multiple_registrations") {
            None => None,
            Some(Value::Boolean(on)) => {
                Some(if *on { MultipleRegistrations::Contact } else { MultipleRegistrations::Off })
            }
            Some(Value::String(s)) => Some(MultipleRegistrations::parse(s).ok_or_else(|| {
                Place::Top.err(
                    "multiple_registrations",
                    format!("expected true, false, \"call-id\" or \"contact\", not {s:?}"),
                )
            })?),
            Some(_) => {
                return Err(Place::Top
                    .err("multiple_registrations", "expected true, false, \"call-id\" or \"contact\""))
            }
        };
        let mut steps = Vec::new();
        match top.get("step") {
            None => {}
            Some(Value::Array(items)) => {
                let mut last = Duration::ZERO;
                for (i, item) in items.iter().enumerate() {
                    let Value::Table(t) = item else {
                        return Err(Place::Top.err("step", format!("step {} is not a table", i + 1)));
                    };
                    let step = parse_step(i + 1, t)?;
                    if step.at < last {
                        return Err(Place::Step(i + 1, step.action.name().to_string()).err(
                            "at",
                            "steps must be in time order (at is earlier than the previous step)",
                        ));
                    }
                    last = step.at;
                    steps.push(step);
                }
            }
            Some(_) => return Err(Place::Top.err("step", "expected [[step]] tables")),
        }
        let mut dialplan = Vec::new();
        match top.get("dialplan") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let Value::Table(t) = item else {
                        return Err(Place::Top.err("dialplan", format!("entry {} is not a table", i + 1)));
                    };
                    dialplan.push(parse_extension(i + 1, t)?);
                }
            }
            Some(_) => return Err(Place::Top.err("dialplan", "expected [[dialplan]] tables")),
        }
        let mut users = Vec::new();
        match top.get("user") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let Value::Table(t) = item else {
                        return Err(Place::Top.err("user", format!("entry {} is not a table", i + 1)));
                    };
                    let mut keys = Keys::new(t, Place::User(i + 1));
                    let id = keys.user("id")?;
                    users.push(User {
                        id,
                        domain: keys.opt_str("domain")?.unwrap_or_default(),
                        esl_password: keys.opt_str("esl-password")?,
                        allowed_events: keys.opt_str("esl-allowed-events")?,
                        allowed_api: keys.opt_str("esl-allowed-api")?,
                        allowed_log: keys.opt_str("esl-allowed-log")?,
                        password: keys.opt_str("password")?,
                        user_context: keys.opt_str("user_context")?,
                    });
                    keys.finish()?;
                }
            }
            Some(_) => return Err(Place::Top.err("user", "expected [[user]] tables")),
        }
        let sip = match top.get("sip") {
            None => None,
            Some(Value::Table(t)) => Some(parse_sip(t)?),
            Some(_) => return Err(Place::Top.err("sip", "expected a table")),
        };
        top.finish()?;

        if repeat == Repeat::Forever && steps.is_empty() && generator.is_none() {
            return Err(Place::Top.err("repeat", "a scenario that repeats forever needs steps"));
        }
        Ok(Scenario {
            name,
            description,
            repeat,
            period,
            steps,
            generator,
            multiple_registrations,
            dialplan,
            users,
            sip,
        })
    }

    /// A scenario shipped in fixtures/scenarios/, embedded so the demo needs no files:
    /// `webrtc-click-to-call`, `originate`, `rejections`, `busy-office`, `demo`.
    pub fn builtin(name: &str) -> Option<Result<Scenario, ScenarioError>> {
        BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, text)| Scenario::parse(text))
    }

    /// Reads and parses a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::Io { path: path.display().to_string(), message: e.to_string() })?;
        Scenario::parse(&text)
    }

    /// One pass's steps in time order: the explicit ones and the generator's, made as
    /// they are reached. On equal `at`, explicit steps go first.
    pub fn timeline(&self) -> impl Iterator<Item = Step> + '_ {
        let mut explicit = self.steps.iter().cloned().peekable();
        let mut generated = self.generator.iter().flat_map(GeneratorSpec::stream).peekable();
        std::iter::from_fn(move || match (explicit.peek(), generated.peek()) {
            (Some(e), Some(g)) if g.at < e.at => generated.next(),
            (Some(_), _) => explicit.next(),
            (None, _) => generated.next(),
        })
    }

    /// Plays the scenario on tokio time. Returns when every pass is done (never, for
    /// `repeat = "forever"`).
    pub async fn run(&self, pbx: &Pbx, faults: &FaultControl) -> RunReport {
        let mut report = RunReport::default();
        if let Some(mode) = self.multiple_registrations {
            pbx.set_multiple_registrations(mode);
        }
        if let Err(e) = pbx.add_extensions(&self.dialplan) {
            report.skipped.push(e.to_string());
        }
        pbx.add_users(&self.users);
        loop {
            let start = Instant::now();
            let mut calls = JoinSet::new();
            for step in self.timeline() {
                sleep_until(start + step.at).await;
                report.steps += 1;
                tracing::debug!(at = ?step.at, action = step.action.name(), "scenario step");
                if let Err(e) = execute(&step.action, pbx, faults, &mut calls, &mut report) {
                    tracing::info!(action = step.action.name(), "scenario step skipped: {e}");
                    report.skipped.push(format!("{}: {e}", step.action.name()));
                }
                // Finished calls are collected as the pass goes: a long run holds only
                // the calls still in progress.
                while let Some(result) = calls.try_join_next() {
                    call_ended(result, &mut report);
                }
            }
            while let Some(result) = calls.join_next().await {
                call_ended(result, &mut report);
            }
            if let Some(period) = self.period {
                sleep_until(start + period).await;
            }
            report.passes += 1;
            if let Repeat::Times(n) = self.repeat {
                if report.passes >= n {
                    return report;
                }
            }
        }
    }
}

/// The report keeps only skipped steps and failed calls (bounded by what the pass ran).
fn call_ended(result: Result<Result<(), PbxError>, tokio::task::JoinError>, report: &mut RunReport) {
    match result {
        Ok(Err(e)) => report.skipped.push(format!("call: {e}")),
        Ok(Ok(())) => {}
        Err(e) => report.skipped.push(format!("call task: {e}")),
    }
}

/// One `[[dialplan]]` entry: `context` (default `default`), `extension` (its name),
/// `condition` (a regex on `field`, default `destination_number`) and `actions`
/// (`"app data"` strings run in order).
fn parse_extension(index: usize, t: &Table) -> Result<ExtensionSpec, ScenarioError> {
    let place = Place::Dialplan(index);
    let mut keys = Keys::new(t, place.clone());
    let context = keys.opt_str("context")?.unwrap_or_else(|| "default".into());
    let name = keys.opt_str("extension")?.unwrap_or_else(|| format!("scenario_{index}"));
    let field = keys.opt_str("field")?.unwrap_or_default();
    let condition = keys.str("condition")?;
    if let Err(e) = regex::Regex::new(&condition) {
        return Err(place.err("condition", format!("not a regular expression: {e}")));
    }
    let actions = match keys.get("actions") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(place.err("actions", "expected non-empty strings like \"hangup USER_BUSY\"")),
            })
            .collect::<Result<Vec<String>, ScenarioError>>()?,
        Some(_) => return Err(place.err("actions", "expected an array of strings")),
        None => return Err(place.err("actions", "missing")),
    };
    keys.finish()?;
    Ok(ExtensionSpec { context, name, conditions: vec![(field, condition)], actions })
}

fn parse_transport(keys: &mut Keys, place: &Place) -> Result<Transport, ScenarioError> {
    match keys.opt_str("transport")? {
        None => Ok(Transport::Udp),
        Some(t) => t.parse().map_err(|e: super::UnknownTransport| place.err("transport", e.to_string())),
    }
}

fn parse_step(index: usize, t: &Table) -> Result<Step, ScenarioError> {
    let action_name = match t.get("action") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Place::Step(index, "?".into()).err("action", "expected a string")),
        None => return Err(Place::Step(index, "?".into()).err("action", "missing")),
    };
    let place = Place::Step(index, action_name.clone());
    let mut keys = Keys::new(t, place.clone());
    keys.get("action");
    let at = keys
        .opt_duration("at")?
        .ok_or_else(|| place.err("at", "missing (offset from the start, e.g. \"1.5s\")"))?;
    let action = match action_name.as_str() {
        "register" => Action::Register {
            user: keys.user("user")?,
            transport: parse_transport(&mut keys, &place)?,
            user_agent: keys.opt_str("user_agent")?.unwrap_or_else(|| "Zoiper rv2.10.20.5".to_string()),
            expires: match keys.opt_int("expires")? {
                None => None,
                Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => Some(n as u64),
                Some(_) => return Err(place.err("expires", "expected seconds, at least 1")),
            },
        },
        "unregister" => Action::Unregister { user: keys.user("user")? },
        "expire" => Action::Expire { user: keys.user("user")? },
        "call" => {
            let from = keys.user("from")?;
            let to = keys.user("to")?;
            let caller_name = keys.opt_str("caller_name")?;
            let ring_for = keys.opt_duration("ring_for")?.unwrap_or(Duration::from_secs(3));
            let talk_for = keys.opt_duration("talk_for")?;
            let outcome = match keys.opt_str("outcome")?.as_deref().unwrap_or("answer") {
                "answer" => Outcome::Answer { talk_for: talk_for.unwrap_or(Duration::from_secs(30)) },
                other => {
                    if talk_for.is_some() {
                        return Err(place.err("talk_for", "only an answered call talks (outcome = \"answer\")"));
                    }
                    match other {
                        "busy" => Outcome::Busy,
                        "not_found" => Outcome::NotFound,
                        "no_answer" => Outcome::NoAnswer,
                        "cancel" => Outcome::Cancel,
                        _ => {
                            return Err(place.err(
                                "outcome",
                                format!("unknown outcome {other:?} (answer, busy, not_found, no_answer, cancel)"),
                            ))
                        }
                    }
                }
            };
            let hangup = match keys.opt_str("hangup")?.as_deref() {
                None | Some("caller") => Party::Caller,
                Some("callee") => Party::Callee,
                Some(other) => return Err(place.err("hangup", format!("expected \"caller\" or \"callee\", not {other:?}"))),
            };
            let hold = match (keys.opt_duration("hold_after")?, keys.opt_duration("hold_for")?) {
                (None, None) => None,
                (Some(after), Some(lasts)) => match outcome {
                    Outcome::Answer { talk_for } if after + lasts <= talk_for => Some(Hold { after, lasts }),
                    Outcome::Answer { .. } => {
                        return Err(place.err("hold_for", "hold_after + hold_for must fit in talk_for"))
                    }
                    _ => return Err(place.err("hold_after", "only an answered call is held (outcome = \"answer\")")),
                },
                (Some(_), None) => return Err(place.err("hold_for", "missing (hold_after needs it)")),
                (None, Some(_)) => return Err(place.err("hold_after", "missing (hold_for needs it)")),
            };
            Action::Call(CallSpec { from, to, caller_name, ring_for, outcome, hangup, hold })
        }
        "originate" => {
            let args = keys.str("args")?;
            if args.contains(['\r', '\n']) {
                return Err(place.err("args", "must be one line"));
            }
            Action::Originate { args, talk_for: keys.opt_duration("talk_for")? }
        }
        "gateway" => {
            let name = keys.user("name")?;
            let up = match keys.str("state")?.as_str() {
                "up" => true,
                "down" => false,
                other => return Err(place.err("state", format!("expected \"up\" or \"down\", not {other:?}"))),
            };
            Action::Gateway { name, up }
        }
        "message" => Action::Message { text: keys.str("text")? },
        "api" => Action::Api { command: keys.str("command")?, args: keys.opt_str("args")?.unwrap_or_default() },
        "fault" => {
            let connection = match keys.opt_int("connection")? {
                None => None,
                Some(n) if n >= 1 => Some(n as u64),
                Some(_) => return Err(place.err("connection", "connections are numbered from 1")),
            };
            let mut rest = t.clone();
            for k in ["action", "at", "connection"] {
                rest.remove(k);
            }
            let fault = Fault::deserialize(Value::Table(rest))
                .map_err(|e| place.err("kind", e.to_string().lines().next().unwrap_or("invalid fault").to_string()))?;
            return Ok(Step { at, action: Action::Fault { fault, connection } });
        }
        other => {
            return Err(place.err(
                "action",
                format!("unknown action {other:?} (register, unregister, expire, call, originate, gateway, message, fault, api)"),
            ))
        }
    };
    keys.finish()?;
    Ok(Step { at, action })
}

use serde::Deserialize as _;

fn execute(
    action: &Action,
    pbx: &Pbx,
    faults: &FaultControl,
    calls: &mut JoinSet<Result<(), PbxError>>,
    report: &mut RunReport,
) -> Result<(), String> {
    match action {
        Action::Register { user, transport, user_agent, expires } => match expires {
            Some(secs) => pbx.register_expiring(user, *transport, user_agent, *secs),
            None => pbx.register(user, *transport, user_agent),
        }
        .map(|_| ())
        .map_err(|e| e.to_string()),
        Action::Unregister { user } => pbx.unregister(user).map(|_| ()).map_err(|e| e.to_string()),
        Action::Expire { user } => pbx.expire(user).map(|_| ()).map_err(|e| e.to_string()),
        Action::Call(spec) => {
            report.calls += 1;
            calls.spawn(run_call(pbx.clone(), spec.clone()));
            Ok(())
        }
        Action::Originate { args, talk_for } => {
            report.calls += 1;
            let out = match pbx.api("originate", args) {
                ApiOutput::Text(t) => t,
                ApiOutput::NotFound => return Err("originate: command not found".into()),
            };
            let Some(uuid) = out.strip_prefix("+OK ").map(|u| u.trim().to_string()) else {
                return Err(format!("originate {args}: {}", out.trim()));
            };
            if let Some(talk) = *talk_for {
                let pbx = pbx.clone();
                calls.spawn(async move {
                    sleep(talk).await;
                    // The call may already be gone (a failed bridge, hupall): that is fine.
                    let _ = pbx.api("uuid_kill", &uuid);
                    Ok(())
                });
            }
            Ok(())
        }
        Action::Gateway { name, up } => pbx.set_gateway(name, *up).map(|_| ()).map_err(|e| e.to_string()),
        Action::Message { text } => {
            pbx.message(text);
            Ok(())
        }
        Action::Fault { fault, connection } => {
            match connection {
                Some(c) => faults.inject_into(*c, fault.clone()),
                None => faults.inject(fault.clone()),
            }
            Ok(())
        }
        Action::Api { command, args } => match pbx.api(command, args) {
            ApiOutput::Text(t) if t.starts_with("-ERR") || t.starts_with("-USAGE") => {
                Err(format!("api {command} {args}: {}", t.trim()))
            }
            ApiOutput::Text(_) => Ok(()),
            ApiOutput::NotFound => Err(format!("api {command}: command not found")),
        },
    }
}

/// One call from dial to hangup, on tokio time.
pub async fn run_call(pbx: Pbx, spec: CallSpec) -> Result<(), PbxError> {
    let call = pbx.start_call(&spec.from, &spec.to, spec.caller_name.as_deref())?;
    if call.b.is_none() {
        return Ok(());
    }
    sleep(spec.ring_for).await;
    match spec.outcome {
        Outcome::Answer { talk_for } => {
            pbx.answer(&call)?;
            let mut talk = talk_for;
            if let (Some(hold), Some(b)) = (spec.hold, &call.b) {
                // The callee's phone holds (mod_commands.c uuid_hold, see api_channel.rs).
                sleep(hold.after).await;
                let _ = pbx.api("uuid_hold", b);
                sleep(hold.lasts).await;
                let _ = pbx.api("uuid_hold", &format!("off {b}"));
                talk = talk.saturating_sub(hold.after + hold.lasts);
            }
            sleep(talk).await;
            pbx.hangup(&call, spec.hangup)
        }
        Outcome::Busy => pbx.reject(&call, 486),
        Outcome::NotFound => pbx.reject(&call, 404),
        Outcome::NoAnswer => pbx.reject(&call, 480),
        Outcome::Cancel => pbx.cancel(&call),
    }
}
