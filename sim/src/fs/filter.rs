//! What one connection listens to: the `event`/`nixevent`/`noevents` subscription and the
//! `filter` list, with mod_event_socket's `event_handler` semantics.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use super::event::Event;
use super::wire::Format;

/// Event type names FreeSWITCH knows (`EVENT_NAMES` in switch_event.c), without `ALL`.
pub const EVENT_NAMES: &[&str] = &[
    "CUSTOM",
    "CLONE",
    "CHANNEL_CREATE",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE",
    "CHANNEL_CALLSTATE",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_UNPARK",
    "CHANNEL_APPLICATION",
    "CHANNEL_ORIGINATE",
    "CHANNEL_UUID",
    "API",
    "LOG",
    "INBOUND_CHAN",
    "OUTBOUND_CHAN",
    "STARTUP",
    "SHUTDOWN",
    "PUBLISH",
    "UNPUBLISH",
    "TALK",
    "NOTALK",
    "SESSION_CRASH",
    "MODULE_LOAD",
    "MODULE_UNLOAD",
    "DTMF",
    "MESSAGE",
    "PRESENCE_IN",
    "NOTIFY_IN",
    "PRESENCE_OUT",
    "PRESENCE_PROBE",
    "MESSAGE_WAITING",
    "MESSAGE_QUERY",
    "ROSTER",
    "CODEC",
    "BACKGROUND_JOB",
    "DETECTED_SPEECH",
    "DETECTED_TONE",
    "PRIVATE_COMMAND",
    "HEARTBEAT",
    "TRAP",
    "ADD_SCHEDULE",
    "DEL_SCHEDULE",
    "EXE_SCHEDULE",
    "RE_SCHEDULE",
    "RELOADXML",
    "NOTIFY",
    "PHONE_FEATURE",
    "PHONE_FEATURE_SUBSCRIBE",
    "SEND_MESSAGE",
    "RECV_MESSAGE",
    "REQUEST_PARAMS",
    "CHANNEL_DATA",
    "GENERAL",
    "COMMAND",
    "SESSION_HEARTBEAT",
    "CLIENT_DISCONNECTED",
    "SERVER_DISCONNECTED",
    "SEND_INFO",
    "RECV_INFO",
    "RECV_RTCP_MESSAGE",
    "SEND_RTCP_MESSAGE",
    "CALL_SECURE",
    "NAT",
    "RECORD_START",
    "RECORD_STOP",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "CALL_UPDATE",
    "FAILURE",
    "SOCKET_DATA",
    "MEDIA_BUG_START",
    "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY",
    "CONFERENCE_DATA",
    "CALL_SETUP_REQ",
    "CALL_SETUP_RESULT",
    "CALL_DETAIL",
    "DEVICE_STATE",
    "TEXT",
    "SHUTDOWN_REQUESTED",
    "CERT_RELOAD",
];

/// A recognised `event` keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKey {
    /// `ALL`: every event type.
    All,
    /// One event type, by its canonical name from the event-name table.
    Type(&'static str),
}

/// `switch_name_event`: case-insensitive, `SWITCH_EVENT_` prefix optional.
pub fn name_event(token: &str) -> Option<EventKey> {
    let bare = match token.get(..13) {
        Some(p) if p.eq_ignore_ascii_case("SWITCH_EVENT_") => &token[13..],
        _ => token,
    };
    if bare.eq_ignore_ascii_case("ALL") {
        return Some(EventKey::All);
    }
    // Every delivered event is looked up here once per listener: the exact spelling first.
    static EXACT: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let exact = EXACT.get_or_init(|| EVENT_NAMES.iter().map(|n| (*n, *n)).collect());
    if let Some(n) = exact.get(bare) {
        return Some(EventKey::Type(n));
    }
    EVENT_NAMES.iter().find(|n| n.eq_ignore_ascii_case(bare)).map(|n| EventKey::Type(n))
}

/// One `filter` entry. The stored value keeps its `+`/`-` prefix, as FreeSWITCH stores the
/// raw text and re-parses it per event.
#[derive(Clone, Debug)]
pub struct Filter {
    header: String,
    value: String,
    positive: bool,
    matcher: Matcher,
}

#[derive(Clone, Debug)]
enum Matcher {
    Exact(String),
    Regex(Regex),
    /// A `/.../` that does not compile: never matches, like a failed `switch_regex_perform`.
    Never,
}

/// A `filter` the mock refuses (FreeSWITCH accepts these; see the README).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The connection already holds the most filters [`Limits`](crate::fs::Limits)
    /// allows (the limit).
    #[error("filter limit reached ({0} filters)")]
    TooMany(usize),
    /// The regex compiles to more than the size limit (the limit, in bytes).
    #[error("filter regex exceeds the size limit ({0} bytes compiled)")]
    TooLarge(usize),
    /// The regex fails to compile for another reason than its size.
    #[error("filter regex could not be compiled")]
    Compile,
}

impl Filter {
    /// Whether [`Filter::parse`] has a regex to compile (the costly case).
    pub fn needs_compiling(value: &str) -> bool {
        value.trim_start_matches(['+', '-', ' ']).starts_with('/')
    }

    /// Parses a filter value; a regex is built within `regex_bytes` (compiled program and
    /// lazy-DFA cache). A regex with a syntax error is kept and never matches, as
    /// FreeSWITCH keeps it; one over the size limit is refused.
    pub fn parse(header: &str, value: &str, regex_bytes: usize) -> Result<Filter, FilterError> {
        let mut positive = true;
        let mut rest = value;
        while let Some(c) = rest.chars().next() {
            match c {
                '+' => positive = true,
                '-' => positive = false,
                ' ' => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        let matcher = match rest.strip_prefix('/') {
            Some(re) => {
                let re = re.strip_suffix('/').unwrap_or(re);
                let built = RegexBuilder::new(re).size_limit(regex_bytes).dfa_size_limit(regex_bytes).build();
                match built {
                    Ok(re) => Matcher::Regex(re),
                    Err(regex::Error::CompiledTooBig(_)) => return Err(FilterError::TooLarge(regex_bytes)),
                    Err(_) => Matcher::Never,
                }
            }
            None => Matcher::Exact(rest.to_string()),
        };
        Ok(Filter { header: header.to_string(), value: value.to_string(), positive, matcher })
    }

    fn matches(&self, value: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(want) => want.eq_ignore_ascii_case(value),
            Matcher::Regex(re) => re.is_match(value),
            Matcher::Never => false,
        }
    }
}

/// The listening state of one connection.
#[derive(Clone, Debug, Default)]
pub struct Subscription {
    /// How events are serialized for this connection; the last `event` with a format sets it.
    pub format: Format,
    /// Set by a successful `event`; `noevents` answers an error without it.
    pub enabled: bool,
    all: bool,
    types: HashSet<&'static str>,
    subclasses: HashSet<String>,
    filters: Vec<Filter>,
}

impl Subscription {
    /// Applies `event [fmt] NAMES...`; returns how many keywords were recognised
    /// (0 → `-ERR no keywords supplied`). Every token after `CUSTOM` is a subclass.
    pub fn subscribe(&mut self, args: &str) -> usize {
        let mut keys = 0;
        let mut custom = false;
        for (i, token) in args.split(' ').filter(|t| !t.is_empty()).enumerate() {
            if custom {
                self.subclasses.insert(token.to_string());
                continue;
            }
            if i == 0 {
                if let Some(format) = Format::parse(token) {
                    self.format = format;
                    continue;
                }
            }
            match name_event(token) {
                Some(EventKey::All) => {
                    keys += 1;
                    self.all = true;
                }
                Some(EventKey::Type(name)) => {
                    keys += 1;
                    custom = name == "CUSTOM";
                    self.types.insert(name);
                }
                None => {}
            }
        }
        if keys > 0 {
            self.enabled = true;
        }
        keys
    }

    /// Applies `nixevent NAMES...`; returns the recognised keyword count. `ALL` is expanded
    /// into every type first so a single type can be removed from it.
    pub fn nix(&mut self, args: &str) -> usize {
        let mut keys = 0;
        let mut custom = false;
        for token in args.split(' ').filter(|t| !t.is_empty()) {
            if custom {
                self.subclasses.remove(token);
                continue;
            }
            match name_event(token) {
                Some(EventKey::All) => {
                    keys += 1;
                    self.all = false;
                    self.types.clear();
                    self.subclasses.clear();
                }
                Some(EventKey::Type(name)) => {
                    keys += 1;
                    if std::mem::take(&mut self.all) {
                        self.types.extend(EVENT_NAMES.iter().copied());
                    }
                    if name == "CUSTOM" {
                        custom = true;
                    } else {
                        self.types.remove(name);
                    }
                }
                None => {}
            }
        }
        keys
    }

    /// `noevents`: false when nothing was ever subscribed.
    pub fn clear(&mut self) -> bool {
        let was = std::mem::take(&mut self.enabled);
        self.all = false;
        self.types.clear();
        self.subclasses.clear();
        was
    }

    /// Subscribed to the event's type (and, for CUSTOM, its subclass)?
    pub fn subscribed(&self, event: &Event) -> bool {
        if self.all {
            return true;
        }
        let Some(EventKey::Type(name)) = event.name().and_then(name_event) else {
            return false;
        };
        if !self.types.contains(name) {
            return false;
        }
        name != "CUSTOM" || event.subclass().is_none_or(|s| self.subclasses.contains(s))
    }

    /// `filter HDR VALUE` with the default limits.
    pub fn add_filter(&mut self, header: &str, value: &str) -> Result<(), FilterError> {
        let limits = super::limits::Limits::default();
        let filter = Filter::parse(header, value, limits.regex_bytes)?;
        self.insert_filter(filter, limits.max_filters)
    }

    /// Adds a parsed filter unless `max` are already there.
    pub fn insert_filter(&mut self, filter: Filter, max: usize) -> Result<(), FilterError> {
        if self.filters.len() >= max {
            return Err(FilterError::TooMany(max));
        }
        self.filters.push(filter);
        Ok(())
    }

    /// How many `filter` entries the connection holds (what the filter limit counts).
    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }

    /// `filter delete HDR [VALUE]`; `filter delete all` is [`Subscription::clear_filters`].
    pub fn delete_filter(&mut self, header: &str, value: Option<&str>) {
        self.filters
            .retain(|f| !(f.header.eq_ignore_ascii_case(header) && value.is_none_or(|v| f.value == v)));
    }

    /// `filter delete all`: every filter goes.
    pub fn clear_filters(&mut self) {
        self.filters.clear();
    }

    /// Filters pass the event? With any filter present, some positive filter must match
    /// and no negative one may; a filter on a header the event lacks never matches.
    pub fn passes_filters(&self, event: &Event) -> bool {
        if self.filters.is_empty() {
            return true;
        }
        let mut send = false;
        for f in &self.filters {
            let Some(value) = event.get(&f.header) else { continue };
            if send && f.positive {
                continue;
            }
            if f.matches(value) {
                if !f.positive {
                    return false;
                }
                send = true;
            }
        }
        send
    }

    /// Both checks together: what decides delivery.
    pub fn wants(&self, event: &Event) -> bool {
        self.subscribed(event) && self.passes_filters(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str) -> Event {
        Event::new().with("Event-Name", name)
    }

    #[test]
    fn custom_takes_every_following_token_as_subclass() {
        let mut s = Subscription::default();
        assert_eq!(s.subscribe("json heartbeat CUSTOM sofia::register HEARTBEAT"), 2);
        assert_eq!(s.format, Format::Json);
        assert!(s.subscribed(&ev("HEARTBEAT")));
        assert!(s.subscribed(&ev("CUSTOM").with("Event-Subclass", "sofia::register")));
        assert!(s.subscribed(&ev("CUSTOM").with("Event-Subclass", "HEARTBEAT")));
        assert!(!s.subscribed(&ev("CUSTOM").with("Event-Subclass", "sofia::expire")));
        assert!(!s.subscribed(&ev("CHANNEL_CREATE")));
    }

    #[test]
    fn format_word_only_first_and_unknown_names_ignored() {
        let mut s = Subscription::default();
        assert_eq!(s.subscribe("HEARTBEAT xml NOT_AN_EVENT"), 1);
        assert_eq!(s.format, Format::Plain);
        assert_eq!(s.subscribe("plain nope"), 0);
        assert_eq!(s.subscribe("SWITCH_EVENT_channel_create"), 1);
        assert!(s.subscribed(&ev("CHANNEL_CREATE")));
    }

    #[test]
    fn nix_expands_all_first() {
        let mut s = Subscription::default();
        s.subscribe("ALL");
        assert!(s.subscribed(&ev("CUSTOM").with("Event-Subclass", "a::b")));
        assert_eq!(s.nix("HEARTBEAT"), 1);
        assert!(!s.subscribed(&ev("HEARTBEAT")));
        assert!(s.subscribed(&ev("CHANNEL_ANSWER")));
        assert_eq!(s.nix("bogus"), 0);
        assert!(s.clear());
        assert!(!s.clear());
    }

    #[test]
    fn filter_semantics() {
        let mut s = Subscription::default();
        s.subscribe("ALL");
        let hb = ev("HEARTBEAT");
        let create = ev("CHANNEL_CREATE").with("Unique-ID", "abc");
        s.add_filter("unique-id", "ABC").unwrap();
        assert!(s.wants(&create));
        assert!(!s.wants(&hb), "event lacking the header is dropped");
        s.add_filter("Event-Name", "/^HEART/").unwrap();
        assert!(s.wants(&hb));
        s.add_filter("Event-Name", "-channel_create").unwrap();
        assert!(!s.wants(&create), "negative wins regardless of order");
        s.delete_filter("EVENT-NAME", None);
        assert!(s.wants(&create) && !s.wants(&hb));
        s.clear_filters();
        s.add_filter("Event-Name", "-HEARTBEAT").unwrap();
        assert!(!s.wants(&create), "negative-only filters drop everything");
    }

    #[test]
    fn regex_size_and_filter_count_are_bounded() {
        assert_eq!(
            Filter::parse("X", "/\\p{Greek}{4000}/", 1 << 20).unwrap_err(),
            FilterError::TooLarge(1 << 20)
        );
        assert!(
            Filter::parse("X", "/^(unclosed/", 1 << 20).is_ok(),
            "a syntax error is kept, never matching"
        );
        assert!(Filter::needs_compiling(" -/x/") && !Filter::needs_compiling("x/"));
        let mut s = Subscription::default();
        for i in 0..3 {
            s.insert_filter(Filter::parse("X", &i.to_string(), 1 << 20).unwrap(), 3).unwrap();
        }
        let fourth = Filter::parse("X", "3", 1 << 20).unwrap();
        assert_eq!(s.insert_filter(fourth, 3), Err(FilterError::TooMany(3)));
        assert_eq!(s.filter_count(), 3);
    }
}
