//! Alerts: short-lived messages that interrupt the pages.

use std::time::Duration;

use serde::Deserialize;

use super::{CueStyle, ScrollPolicy};
use crate::render::Align;
use crate::status::Notice;

/// How urgent an alert is. Higher preempts lower; equal waits its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Nice to know (a call was answered).
    Low,
    /// Worth a look (a call ended, a message).
    Normal,
    /// Look now (a call is ringing, a gateway went down).
    High,
    /// Interrupts everything.
    Critical,
}

/// Something to show for a while instead of the pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The text (may be non-ASCII; the renderer transliterates).
    pub text: String,
    /// Its urgency.
    pub priority: Priority,
    /// How long to show it.
    pub duration: Duration,
    /// How to show it.
    pub style: CueStyle,
}

/// How one kind of notice becomes an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRule {
    /// Priority of the alert.
    pub priority: Priority,
    /// How long it shows.
    pub duration: Duration,
    /// How it looks.
    pub style: CueStyle,
}

/// How the built-in alerts look: plain text, or text in a blinking frame when it must be
/// seen. Never inverse video: a lit field with dark letters glares on LEDs and the letters'
/// thin strokes drown in it, while lit letters on dark read from across a room.
#[derive(Clone, Copy)]
enum Look {
    Plain,
    Framed,
}

impl AlertRule {
    const fn new(priority: Priority, secs: u64, look: Look) -> Self {
        let frame = matches!(look, Look::Framed);
        Self {
            priority,
            duration: Duration::from_secs(secs),
            style: CueStyle {
                scroll: ScrollPolicy::Auto,
                align: Align::Center,
                invert: false,
                blink: false,
                frame,
            },
        }
    }

    pub(crate) fn make(&self, text: String) -> Alert {
        Alert { text, priority: self.priority, duration: self.duration, style: self.style }
    }
}

/// Which notices become alerts, and how. `None` turns a kind off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    /// A call is ringing.
    pub incoming: Option<AlertRule>,
    /// A call was answered.
    pub answered: Option<AlertRule>,
    /// A call ended.
    pub hung_up: Option<AlertRule>,
    /// A gateway stopped working.
    pub gateway_down: Option<AlertRule>,
    /// A gateway works again.
    pub gateway_up: Option<AlertRule>,
    /// A pushed `eslmatrix::message`.
    pub message: Option<AlertRule>,
    /// A server's link failed (no link, refused password or ACL, shutdown). The pages say
    /// so too, but only once the alert showing ends; this makes it immediate.
    pub link_down: Option<AlertRule>,
    /// A server's link is back after a failure.
    pub link_up: Option<AlertRule>,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            incoming: Some(AlertRule::new(Priority::High, 8, Look::Framed)),
            answered: Some(AlertRule::new(Priority::Low, 3, Look::Plain)),
            hung_up: Some(AlertRule::new(Priority::Normal, 5, Look::Plain)),
            gateway_down: Some(AlertRule::new(Priority::High, 10, Look::Framed)),
            gateway_up: Some(AlertRule::new(Priority::Normal, 5, Look::Plain)),
            message: Some(AlertRule::new(Priority::Normal, 10, Look::Plain)),
            link_down: Some(AlertRule::new(Priority::Critical, 3, Look::Framed)),
            link_up: Some(AlertRule::new(Priority::Normal, 3, Look::Plain)),
        }
    }
}

impl AlertRules {
    /// The alert for a notice, if that kind is enabled.
    ///
    /// Texts: `Alice (1001) → 1000`, `1001 → 1000 answered`, `1001 → 1000: 486 Busy Here`,
    /// `GW carrier DOWN (FAILED)`, `GW carrier UP`, and a message as sent.
    pub fn alert_for(&self, notice: &Notice) -> Option<Alert> {
        match notice {
            Notice::Incoming(call) => self.incoming.map(|r| r.make(call.label())),
            Notice::Answered(call) => self.answered.map(|r| r.make(format!("{} answered", call.label()))),
            Notice::HungUp(outcome) => self.hung_up.map(|r| r.make(outcome.label())),
            Notice::Gateway { name, state } if state.is_up() => {
                self.gateway_up.map(|r| r.make(format!("GW {name} UP")))
            }
            Notice::Gateway { name, state } => {
                self.gateway_down.map(|r| r.make(format!("GW {name} DOWN ({})", state.as_str())))
            }
            Notice::Message(text) => self.message.map(|r| r.make(text.clone())),
            Notice::Gone(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{CallInfo, CallOutcome, GatewayState};

    fn call() -> CallInfo {
        CallInfo { uuid: "u".into(), from: "1001".into(), from_name: Some("Alice".into()), to: "1000".into() }
    }

    #[test]
    fn texts_and_priorities() {
        let rules = AlertRules::default();
        let a = rules.alert_for(&Notice::Incoming(call())).unwrap();
        assert_eq!((a.text.as_str(), a.priority), ("Alice (1001) → 1000", Priority::High));
        let a = rules.alert_for(&Notice::Answered(call())).unwrap();
        assert_eq!((a.text.as_str(), a.priority), ("Alice (1001) → 1000 answered", Priority::Low));
        let outcome = CallOutcome {
            uuid: "u".into(),
            from: "1001".into(),
            from_name: None,
            to: "1000".into(),
            answered: false,
            duration: Duration::ZERO,
            cause: "USER_BUSY".into(),
            sip_status: Some(486),
            reason: "486 Busy Here".into(),
        };
        assert_eq!(rules.alert_for(&Notice::HungUp(outcome)).unwrap().text, "1001 → 1000: 486 Busy Here");
        let down = Notice::Gateway { name: "carrier".into(), state: GatewayState::FailWait };
        let a = rules.alert_for(&down).unwrap();
        assert_eq!((a.text.as_str(), a.style.frame), ("GW carrier DOWN (FAIL_WAIT)", true));
        // No built-in alert is in inverse video: it is hard to read on LEDs.
        let kinds = [rules.incoming, rules.answered, rules.hung_up, rules.gateway_down, rules.gateway_up];
        let mut kinds = kinds.into_iter().chain([rules.message, rules.link_down, rules.link_up]).flatten();
        assert!(kinds.all(|r| !r.style.invert));
        let up = Notice::Gateway { name: "carrier".into(), state: GatewayState::Reged };
        assert_eq!(rules.alert_for(&up).unwrap().text, "GW carrier UP");
        assert_eq!(rules.alert_for(&Notice::Message("hi".into())).unwrap().text, "hi");
        let quiet = AlertRules { answered: None, ..AlertRules::default() };
        assert_eq!(quiet.alert_for(&Notice::Answered(call())), None);
        assert!(Priority::Critical > Priority::High && Priority::High > Priority::Normal);
    }
}
