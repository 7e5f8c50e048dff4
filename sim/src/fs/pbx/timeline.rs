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

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at: Duration,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `expires`: the device's Expires in seconds; `None` is the transport's default.
    Register {
        user: String,
        transport: Transport,
        user_agent: String,
        expires: Option<u64>,
    },
    Unregister {
        user: String,
    },
    Expire {
        user: String,
    },
    Call(CallSpec),
    /// `api originate <args>`; with `talk_for`, the A leg is killed after that long.
    Originate {
        args: String,
        talk_for: Option<Duration>,
    },
    Gateway {
        name: String,
        up: bool,
    },
    Message {
        text: String,
    },
    /// `connection` None = every connection.
    Fault {
        fault: Fault,
        connection: Option<u64>,
    },
    Api {
        command: String,
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
    pub from: String,
    pub to: String,
    pub caller_name: Option<String>,
    /// How long it rings before the outcome happens.
    pub ring_for: Duration,
    pub outcome: Outcome,
    /// Who hangs up an answered call.
    pub hangup: Party,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Answer {
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
