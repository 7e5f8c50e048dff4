//! A scenario's timeline: steps at offsets from the start of a pass, what each step does,
//! and how durations are written. Scenario files and the traffic generator both produce
//! it; the scenario runner plays it. Neither producer imports the other.

use std::time::Duration;

use super::{Party, Transport};
use crate::fs::fault::Fault;

/// The longest duration a scenario takes anywhere (also what the config allows).
const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Parses a duration as humantime writes it (`"1.5s"`, `"500ms"`, `"2m"`, `"1h 30m"`),
/// at most a year. A bare number is refused: `"60"` could mean seconds or milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| match e {
        humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
            format!("duration {text:?} needs a unit: ms, s, m or h")
        }
        humantime::DurationError::UnknownUnit { .. } => {
            format!("invalid duration unit in {text:?} (ms, s, m or h)")
        }
        e => format!("invalid duration {text:?}: {e} (write e.g. \"1.5s\", \"500ms\", \"2m\")"),
    })?;
    if d > MAX_DURATION {
        return Err(format!("duration {text:?} is out of range (at most a year)"));
    }
    Ok(d)
}

/// One `[[step]]`: what happens and when in the pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Offset from the start of the pass; steps of a timeline are in `at` order.
    pub at: Duration,
    /// What the step does to the model or the connections.
    pub action: Action,
}

/// What a step does: one `action = "..."` of a scenario file.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A device registers (or refreshes its binding); fires CUSTOM `sofia::register`.
    /// `expires`: the device's Expires in seconds; `None` is the transport's default.
    Register {
        /// The registering user (`1000`).
        user: String,
        /// How the device reaches the profile; part of the device's identity.
        transport: Transport,
        /// The device's `User-Agent`, also part of its identity.
        user_agent: String,
        /// Requested Expires in seconds.
        expires: Option<u64>,
    },
    /// Every binding of `user` is removed (REGISTER with `Expires: 0`).
    Unregister {
        /// Whose bindings go.
        user: String,
    },
    /// Every binding of `user` times out (CUSTOM `sofia::expire`).
    Expire {
        /// Whose bindings expire.
        user: String,
    },
    /// A call between two users, run in the background from `at`.
    Call(CallSpec),
    /// `api originate <args>`; with `talk_for`, the A leg is killed after that long.
    Originate {
        /// The `originate` arguments, as an ESL client sends them.
        args: String,
        /// How long the originated call lasts before `uuid_kill`; `None`: it stays up.
        talk_for: Option<Duration>,
    },
    /// A gateway goes up or down (CUSTOM `sofia::gateway_state`); the first mention
    /// creates it.
    Gateway {
        /// The gateway's name in the profile.
        name: String,
        /// `true`: registered and pinging; `false`: failed.
        up: bool,
    },
    /// A CUSTOM `eslmatrix::message` event, as an ESL `sendevent` makes it.
    Message {
        /// Its `Message-Text`.
        text: String,
    },
    /// A fault injected into the connections. `connection` None = every connection.
    Fault {
        /// The misbehaviour.
        fault: Fault,
        /// The connection's number (from 1), or `None` for all of them.
        connection: Option<u64>,
    },
    /// An API command run as an ESL client would (`hupall`, `uuid_kill …`); an `-ERR`
    /// answer is a skipped step.
    Api {
        /// The command name.
        command: String,
        /// Its arguments (may be empty).
        args: String,
    },
}

impl Action {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Register { .. } => "register",
            Action::Unregister { .. } => "unregister",
            Action::Expire { .. } => "expire",
            Action::Call(_) => "call",
            Action::Originate { .. } => "originate",
            Action::Gateway { .. } => "gateway",
            Action::Message { .. } => "message",
            Action::Fault { .. } => "fault",
            Action::Api { .. } => "api",
        }
    }
}

/// One call from a registered user to another number.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSpec {
    /// The calling user; must be registered for the call to start.
    pub from: String,
    /// The dialled number, routed through the dialplan.
    pub to: String,
    /// `Caller-Caller-ID-Name`; `None`: the caller's number.
    pub caller_name: Option<String>,
    /// How long it rings before the outcome happens.
    pub ring_for: Duration,
    /// How the ringing ends.
    pub outcome: Outcome,
    /// Who hangs up an answered call.
    pub hangup: Party,
    /// The callee puts an answered call on hold (`uuid_hold` on its leg) and takes it off.
    pub hold: Option<Hold>,
}

/// When an answered call is on hold, counted from the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    /// From the answer to the hold.
    pub after: Duration,
    /// How long it stays on hold.
    pub lasts: Duration,
}

/// How a call's ringing ends, and the hangup cause that follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The callee answers; [`CallSpec::hangup`] hangs up after `talk_for`.
    Answer {
        /// Time from answer to hangup.
        talk_for: Duration,
    },
    /// 486 Busy Here → USER_BUSY.
    Busy,
    /// 404 Not Found → UNALLOCATED_NUMBER.
    NotFound,
    /// 480 Temporarily Unavailable → NO_USER_RESPONSE.
    NoAnswer,
    /// The caller hangs up while it rings → ORIGINATOR_CANCEL (487).
    Cancel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_humantime_writes_them() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 500ms "), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("60").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("365d").is_ok());
        assert!(parse_duration("366d").unwrap_err().contains("out of range"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }
}
