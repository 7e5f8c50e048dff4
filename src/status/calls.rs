//! What the people at the phones care about: who is calling whom, and how a call ended.

use std::time::Duration;

use super::api::GatewayState;
use super::headers::Headers;
use super::sip::{self, SipStatus};

/// A new inbound call (from CHANNEL_CREATE or CHANNEL_ANSWER of an inbound leg).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The channel's Unique-ID.
    pub uuid: String,
    /// Caller number.
    pub from: String,
    /// Caller-ID name, when it says more than the number. Kept as sent (may be non-ASCII);
    /// the renderer transliterates.
    pub from_name: Option<String>,
    /// Dialled number.
    pub to: String,
}

impl CallInfo {
    /// Reads the caller and destination of a channel event, `None` for an outbound leg: it is
    /// the other half of a call already shown. Events that state no direction at all (some
    /// older builds) are taken as inbound rather than silently dropped.
    pub fn from_event(ev: &impl Headers) -> Option<Self> {
        let direction = ev
            .value("Call-Direction")
            .or_else(|| ev.value("Caller-Direction"))
            .or_else(|| ev.value("variable_direction"));
        if direction.is_some_and(|d| !d.eq_ignore_ascii_case("inbound")) {
            return None;
        }
        let uuid = ev.value("Unique-ID")?.to_owned();
        let from = ev
            .value("Caller-Caller-ID-Number")
            .or_else(|| ev.value("Caller-ANI"))
            .or_else(|| ev.value("Caller-Username"))
            .unwrap_or("?")
            .to_owned();
        let from_name =
            ev.value("Caller-Caller-ID-Name").filter(|n| *n != from && !n.eq_ignore_ascii_case("unknown"));
        let to = ev.value("Caller-Destination-Number").unwrap_or("?").to_owned();
        Some(Self { uuid, from_name: from_name.map(str::to_owned), from, to })
    }

    /// `"Alice (1001) → 1000"`, or `"1001 → 1000"` without a name.
    pub fn label(&self) -> String {
        match &self.from_name {
            Some(name) => format!("{name} ({}) → {}", self.from, self.to),
            None => format!("{} → {}", self.from, self.to),
        }
    }
}

/// How a call ended, from CHANNEL_HANGUP_COMPLETE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// The inbound leg's Unique-ID, the same as its [`CallInfo::uuid`].
    pub uuid: String,
    /// Caller number.
    pub from: String,
    /// Caller-ID name, if it adds anything.
    pub from_name: Option<String>,
    /// Dialled number.
    pub to: String,
    /// Whether the call was answered.
    pub answered: bool,
    /// Talk time (zero if never answered).
    pub duration: Duration,
    /// The `Hangup-Cause` name, e.g. `USER_BUSY`.
    pub cause: String,
    /// The final SIP status, when FreeSWITCH reported one or the cause implies one.
    pub sip_status: Option<u16>,
    /// What to tell people: `"486 Busy Here"`, or the talk time `"1:06"` for a normally
    /// ended answered call, or the cause name when nothing better is known.
    pub reason: String,
}

impl CallOutcome {
    /// Builds the outcome of an inbound leg's hang-up; `None` for other legs.
    ///
    /// The SIP status comes from `variable_sip_term_status`, else from
    /// `variable_proto_specific_hangup_cause` (`sip:486`), else from the cause table when the
    /// cause has a listed mapping (NORMAL_CLEARING has none: it would read as 480).
    pub fn from_event(ev: &impl Headers) -> Option<Self> {
        let call = CallInfo::from_event(ev)?;
        let cause = ev
            .value("Hangup-Cause")
            .or_else(|| ev.value("variable_hangup_cause"))
            .unwrap_or("NONE")
            .to_ascii_uppercase();
        let answered_at = micros(ev, "Caller-Channel-Answered-Time");
        let answered = answered_at.is_some_and(|t| t > 0);
        let duration = if answered {
            ev.value("variable_billsec")
                .and_then(|s| s.parse::<u64>().ok())
                .map(Duration::from_secs)
                .or_else(|| {
                    let end = micros(ev, "Caller-Channel-Hangup-Time")?;
                    Some(Duration::from_micros(end.checked_sub(answered_at?)?))
                })
                .unwrap_or_default()
        } else {
            Duration::ZERO
        };
        let sip_status = sip_status_of(ev, &cause);
        let reason = match sip_status {
            Some(code) if code >= 300 => SipStatus(code).to_string(),
            _ if answered => clock(duration),
            Some(code) => SipStatus(code).to_string(),
            None => cause.clone(),
        };
        Some(Self {
            uuid: call.uuid,
            from: call.from,
            from_name: call.from_name,
            to: call.to,
            answered,
            duration,
            cause,
            sip_status,
            reason,
        })
    }

    /// `"1001 → 1000: 486 Busy Here"`.
    pub fn label(&self) -> String {
        let who = CallInfo {
            uuid: self.uuid.clone(),
            from: self.from.clone(),
            from_name: self.from_name.clone(),
            to: self.to.clone(),
        };
        format!("{}: {}", who.label(), self.reason)
    }
}

/// The final SIP status of a hang-up: `variable_sip_term_status`, else
/// `variable_proto_specific_hangup_cause` (`sip:486`), else the cause table's listed mapping.
pub(crate) fn sip_status_of(ev: &impl Headers, cause: &str) -> Option<u16> {
    ev.value("variable_sip_term_status")
        .and_then(|s| s.parse::<u16>().ok())
        .or_else(|| {
            let v = ev.value("variable_proto_specific_hangup_cause")?;
            v.strip_prefix("sip:")?.parse::<u16>().ok()
        })
        .filter(|c| (100..700).contains(c))
        .or_else(|| sip::sip_for_cause_listed(cause))
}

fn micros(ev: &impl Headers, name: &str) -> Option<u64> {
    ev.value(name)?.parse().ok()
}

/// `m:ss`, or `h:mm:ss` past an hour: how long a call lasted.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Something that happened which people might want to see, returned by
/// [`PbxStatus::apply_event`](super::PbxStatus::apply_event) for the scene to turn into an
/// alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An inbound call started ringing.
    Incoming(CallInfo),
    /// An inbound call was answered.
    Answered(CallInfo),
    /// An inbound call ended.
    HungUp(CallOutcome),
    /// A gateway moved between up and not up.
    Gateway {
        /// The gateway name.
        name: String,
        /// Its new state.
        state: GatewayState,
    },
    /// A message pushed with CUSTOM `eslmatrix::message`.
    Message(String),
    /// A call (its inbound leg's Unique-ID) that a reconcile found gone although its hang-up
    /// never arrived: nothing to announce, but an alert about it must end.
    Gone(String),
}

impl Notice {
    /// The call this notice is news about (its inbound leg's Unique-ID), so the scene can
    /// replace an alert about a call with what happened to it next.
    pub fn call(&self) -> Option<&str> {
        match self {
            Self::Incoming(c) | Self::Answered(c) => Some(&c.uuid),
            Self::HungUp(o) => Some(&o.uuid),
            Self::Gone(uuid) => Some(uuid),
            Self::Gateway { .. } | Self::Message(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::fixtures::fixture;
    use crate::status::headers::HeaderMap;

    fn inbound() -> HeaderMap {
        HeaderMap::new()
            .with("Event-Name", "CHANNEL_HANGUP_COMPLETE")
            .with("Unique-ID", "u1")
            .with("Call-Direction", "inbound")
            .with("Caller-Caller-ID-Number", "1001")
            .with("Caller-Caller-ID-Name", "1001")
            .with("Caller-Destination-Number", "1000")
    }

    #[test]
    fn create_sample_gives_incoming_call() {
        let ev = HeaderMap::from_plain(&fixture("esl-status/event_channel_create_DECODED_greenswitch.txt"));
        let c = CallInfo::from_event(&ev).unwrap();
        assert_eq!(c.uuid, "d0b1da34-a727-11e4-9728-6f83a2e5e50a");
        assert_eq!(c.label(), "edev - 100 (100) → 101");
    }

    #[test]
    fn names_equal_to_the_number_are_dropped_and_unicode_kept() {
        let c = CallInfo::from_event(&inbound()).unwrap();
        assert_eq!(c.label(), "1001 → 1000");
        let ev = HeaderMap::new()
            .with("Unique-ID", "u")
            .with("Call-Direction", "inbound")
            .with("Caller-Caller-ID-Number", "1001")
            .with("Caller-Caller-ID-Name", "Zoë Ångström")
            .with("Caller-Destination-Number", "1000");
        assert_eq!(CallInfo::from_event(&ev).unwrap().label(), "Zoë Ångström (1001) → 1000");
    }

    #[test]
    fn outbound_legs_are_not_calls_to_announce() {
        let ev = HeaderMap::new().with("Unique-ID", "u").with("Call-Direction", "outbound");
        assert_eq!(CallInfo::from_event(&ev), None);
        assert_eq!(CallOutcome::from_event(&ev), None);
    }

    #[test]
    fn hangup_sample_answered_normal_clearing() {
        let ev =
            HeaderMap::from_plain(&fixture("esl-status/event_channel_hangup_complete_plain_cgrates.txt"));
        let o = CallOutcome::from_event(&ev).unwrap();
        assert!(o.answered);
        assert_eq!(o.duration, Duration::from_secs(66));
        assert_eq!(o.cause, "NORMAL_CLEARING");
        assert_eq!(o.sip_status, Some(200));
        assert_eq!(o.label(), "1001 → 1003: 1:06");
    }

    #[test]
    fn busy_from_term_status() {
        let ev = inbound().with("Hangup-Cause", "USER_BUSY").with("variable_sip_term_status", "486");
        let o = CallOutcome::from_event(&ev).unwrap();
        assert!(!o.answered);
        assert_eq!(o.sip_status, Some(486));
        assert_eq!(o.label(), "1001 → 1000: 486 Busy Here");
    }

    #[test]
    fn proto_specific_cause_then_cause_table() {
        let ev = inbound()
            .with("Hangup-Cause", "CALL_REJECTED")
            .with("variable_proto_specific_hangup_cause", "sip:603");
        assert_eq!(CallOutcome::from_event(&ev).unwrap().reason, "603 Decline");
        let ev = inbound().with("Hangup-Cause", "NO_ANSWER");
        assert_eq!(CallOutcome::from_event(&ev).unwrap().reason, "480 Temporarily Unavailable");
        let ev = inbound().with("Hangup-Cause", "NORMAL_CLEARING");
        let o = CallOutcome::from_event(&ev).unwrap();
        assert_eq!((o.sip_status, o.reason.as_str()), (None, "NORMAL_CLEARING"));
        let ev =
            inbound().with("Hangup-Cause", "ORIGINATOR_CANCEL").with("variable_sip_term_status", "banana");
        assert_eq!(CallOutcome::from_event(&ev).unwrap().reason, "487 Request Terminated");
    }

    #[test]
    fn answered_duration_falls_back_to_timestamps() {
        let ev = inbound()
            .with("Hangup-Cause", "NORMAL_CLEARING")
            .with("Caller-Channel-Answered-Time", "1000000")
            .with("Caller-Channel-Hangup-Time", "3726000000");
        let o = CallOutcome::from_event(&ev).unwrap();
        assert_eq!(o.duration, Duration::from_secs(3725));
        assert_eq!(o.reason, "1:02:05");
        let ev = inbound().with("Caller-Channel-Answered-Time", "5").with("Caller-Channel-Hangup-Time", "1");
        assert_eq!(CallOutcome::from_event(&ev).unwrap().duration, Duration::ZERO);
    }
}
