//! Page templates: `"{calls} calls  {registrations} reg  up {uptime}"`.
//!
//! Templates are parsed once, when the config loads, so a typo in a field name is a config
//! error with the field named, not a blank spot on the LEDs at 3 a.m.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::status::StatusView;

/// A value a template can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Current calls.
    Calls,
    /// Current channels (call legs).
    Channels,
    /// Registered bindings.
    Registrations,
    /// Registered WebRTC bindings.
    Webrtc,
    /// Uptime, compact: `3d 04:05`, `04:05:06`, `5m`, `42s`.
    Uptime,
    /// Sessions per second.
    Sps,
    /// Peak sessions.
    Peak,
    /// Idle CPU, `99%`.
    IdleCpu,
    /// FreeSWITCH's hostname.
    Hostname,
    /// Short FreeSWITCH version.
    Version,
    /// Gateways, `2/3 up`.
    Gateways,
    /// The configured server name.
    Server,
}

impl Field {
    /// Every field with its template name.
    pub const ALL: [(&'static str, Field); 12] = [
        ("calls", Field::Calls),
        ("channels", Field::Channels),
        ("registrations", Field::Registrations),
        ("webrtc", Field::Webrtc),
        ("uptime", Field::Uptime),
        ("sps", Field::Sps),
        ("peak", Field::Peak),
        ("idle_cpu", Field::IdleCpu),
        ("hostname", Field::Hostname),
        ("version", Field::Version),
        ("gateways", Field::Gateways),
        ("server", Field::Server),
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// Whether this figure is a count not followed one by one (see
    /// [`StatusView::calls_counted`]), which the display marks like a stale one.
    fn is_counted_in(self, view: &StatusView) -> bool {
        match self {
            Field::Calls | Field::Channels => view.calls_counted,
            Field::Registrations | Field::Webrtc => view.registrations_counted,
            _ => false,
        }
    }

    /// Figures can be out of date; names cannot. Only figures get the stale marker.
    fn is_figure(self) -> bool {
        !matches!(self, Field::Hostname | Field::Version | Field::Server)
    }
}

/// Why a template did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` with a name that is not a [`Field`].
    #[error("unknown template field {{{name}}} (known: calls, channels, registrations, webrtc, uptime, sps, peak, idle_cpu, hostname, version, gateways, server)")]
    UnknownField {
        /// The name as written.
        name: String,
    },
    /// A `{` with no closing `}`.
    #[error("unclosed '{{' at byte {at} in template")]
    Unclosed {
        /// Byte offset of the `{`.
        at: usize,
    },
    /// A lone `}` (write `}}` for a literal brace).
    #[error("unmatched '}}' at byte {at} in template (write '}}}}' for a literal brace)")]
    UnmatchedClose {
        /// Byte offset of the `}`.
        at: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

/// A parsed page template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// A template filled in at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text.
    pub text: String,
    /// How long until the text would read differently by the clock alone (uptime ticking);
    /// `None` when only new data can change it.
    pub changes_in: Option<Duration>,
}

/// Appended to every figure that is not confirmed since the last (re)connect: `12~ calls`.
/// A tilde reads as "about" and fits in one narrow column, unlike a word.
pub const STALE_MARKER: char = '~';

impl Template {
    /// Parses `{field}` placeholders; `{{` and `}}` are literal braces.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(TemplateError::UnmatchedClose { at: i }),
                '{' => {
                    let rest = &source[i + 1..];
                    let end = rest.find('}').ok_or(TemplateError::Unclosed { at: i })?;
                    let name = rest[..end].trim();
                    let field = Field::from_name(name)
                        .ok_or_else(|| TemplateError::UnknownField { name: name.to_owned() })?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(field));
                    // Skip the field name and the closing brace.
                    while let Some((j, _)) = chars.peek() {
                        if *j > i + end + 1 {
                            break;
                        }
                        chars.next();
                    }
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { source: source.to_owned(), parts })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Fills the template from `view`, taken `elapsed` ago (uptime has moved on by that much).
    pub fn render(&self, view: &StatusView, elapsed: Duration) -> Rendered {
        let mut text = String::new();
        let mut changes_in: Option<Duration> = None;
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Field(f) => {
                    let (value, tick) = field_text(*f, view, elapsed);
                    text.push_str(&value);
                    if f.is_figure() && (view.stale || f.is_counted_in(view)) {
                        text.push(STALE_MARKER);
                    }
                    if let Some(t) = tick {
                        changes_in = Some(changes_in.map_or(t, |c| c.min(t)));
                    }
                }
            }
        }
        Rendered { text, changes_in }
    }
}

impl FromStr for Template {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Template {
    type Error = TemplateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

fn field_text(field: Field, v: &StatusView, elapsed: Duration) -> (String, Option<Duration>) {
    match field {
        Field::Calls => (num(v.calls), None),
        Field::Channels => (num(v.channels), None),
        Field::Registrations => (num(v.registrations), None),
        Field::Webrtc => (num(v.webrtc), None),
        Field::Sps => (num(v.sessions_per_sec), None),
        Field::Peak => (num(v.peak), None),
        Field::IdleCpu => (v.idle_cpu.map_or_else(|| "?".to_owned(), |c| format!("{c:.0}%")), None),
        Field::Hostname => (v.hostname.clone().unwrap_or_else(|| "?".to_owned()), None),
        Field::Version => (v.version.clone().unwrap_or_else(|| "?".to_owned()), None),
        Field::Server => (v.server.clone(), None),
        Field::Gateways => (format!("{}/{} up", v.gateways_up, v.gateways_total), None),
        // A stale uptime is the last one vouched for: it must not count on by itself.
        Field::Uptime => match v.uptime {
            Some(u) if v.stale => (compact_uptime(u).0, None),
            Some(u) => {
                let (text, tick) = compact_uptime(u + elapsed);
                (text, Some(tick))
            }
            None => ("?".to_owned(), None),
        },
    }
}

/// Time left until `d` reaches the next multiple of `unit`.
fn until_next(d: Duration, unit: Duration) -> Duration {
    let unit_ns = unit.as_nanos().max(1);
    let rem = d.as_nanos() % unit_ns;
    Duration::from_nanos((unit_ns - rem).min(u128::from(u64::MAX)) as u64)
}

/// Uptime in as few columns as says enough: under a minute `42s`, under an hour `5m`, under a
/// day `04:05:06`, then `3d 04:05`. Returns the text and how long it stays valid.
pub fn compact_uptime(d: Duration) -> (String, Duration) {
    const SEC: Duration = Duration::from_secs(1);
    const MIN: Duration = Duration::from_secs(60);
    let s = d.as_secs();
    if s < 60 {
        (format!("{s}s"), until_next(d, SEC))
    } else if s < 3600 {
        (format!("{}m", s / 60), until_next(d, MIN))
    } else if s < 86_400 {
        (format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60), until_next(d, SEC))
    } else {
        (format!("{}d {:02}:{:02}", s / 86_400, s / 3600 % 24, s / 60 % 60), until_next(d, MIN))
    }
}

/// A coarse age for status lines: `45s`, `2m`, `3h`, `2d`, and how long it stays valid.
pub fn compact_age(d: Duration) -> (String, Duration) {
    let s = d.as_secs();
    let (text, unit) = if s < 60 {
        (format!("{s}s"), 1)
    } else if s < 3600 {
        (format!("{}m", s / 60), 60)
    } else if s < 86_400 {
        (format!("{}h", s / 3600), 3600)
    } else {
        (format!("{}d", s / 86_400), 86_400)
    };
    (text, until_next(d, Duration::from_secs(unit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::LinkView;
    use proptest::prelude::*;

    pub(crate) fn view() -> StatusView {
        StatusView {
            server: "pbx1".into(),
            hostname: Some("fs-test".into()),
            version: Some("1.10.12".into()),
            calls: Some(3),
            channels: Some(5),
            registrations: Some(42),
            webrtc: Some(7),
            uptime: Some(Duration::from_secs(3 * 86_400 + 4 * 3600 + 5 * 60 + 6)),
            sessions_per_sec: Some(1),
            peak: Some(9),
            idle_cpu: Some(98.87),
            gateways_up: 2,
            gateways_total: 3,
            calls_counted: false,
            registrations_counted: false,
            link: LinkView::Up,
            stale: false,
            lines: None,
        }
    }

    #[test]
    fn default_page_renders() {
        let t = Template::parse("{calls} calls  {registrations} reg  up {uptime}").unwrap();
        let r = t.render(&view(), Duration::ZERO);
        assert_eq!(r.text, "3 calls  42 reg  up 3d 04:05");
        assert_eq!(r.changes_in, Some(Duration::from_secs(54)));
        let r = t.render(&view(), Duration::from_secs(54));
        assert_eq!(r.text, "3 calls  42 reg  up 3d 04:06");
        assert_eq!(r.changes_in, Some(Duration::from_secs(60)));
    }

    #[test]
    fn every_field() {
        let t = Template::parse(
            "{channels}|{webrtc}|{sps}|{peak}|{idle_cpu}|{hostname}|{version}|{gateways}|{server}|{ calls }",
        )
        .unwrap();
        let r = t.render(&view(), Duration::ZERO);
        assert_eq!(r.text, "5|7|1|9|99%|fs-test|1.10.12|2/3 up|pbx1|3");
        assert_eq!(r.changes_in, None);
    }

    #[test]
    fn unknown_values_and_stale_marker() {
        let mut v = view();
        v.calls = None;
        v.uptime = None;
        v.stale = true;
        let t = Template::parse("{calls} calls on {hostname} up {uptime}").unwrap();
        assert_eq!(t.render(&v, Duration::ZERO).text, "?~ calls on fs-test up ?~");
        v.calls = Some(12);
        assert_eq!(Template::parse("{calls}").unwrap().render(&v, Duration::ZERO).text, "12~");
    }

    #[test]
    fn escapes_and_errors() {
        let t = Template::parse("{{calls}} = {calls}}}").unwrap();
        assert_eq!(t.render(&view(), Duration::ZERO).text, "{calls} = 3}");
        assert_eq!(t.source(), "{{calls}} = {calls}}}");
        assert_eq!(Template::parse("{cals}"), Err(TemplateError::UnknownField { name: "cals".into() }));
        assert!(Template::parse("{cals}")
            .unwrap_err()
            .to_string()
            .starts_with("unknown template field {cals}"));
        assert_eq!(Template::parse("up {uptime"), Err(TemplateError::Unclosed { at: 3 }));
        assert_eq!(Template::parse("a } b"), Err(TemplateError::UnmatchedClose { at: 2 }));
        assert_eq!(Template::parse("{}"), Err(TemplateError::UnknownField { name: String::new() }));
        assert_eq!(Template::parse("Zoë {calls} ☎").unwrap().render(&view(), Duration::ZERO).text, "Zoë 3 ☎");
    }

    #[test]
    fn uptime_formats_and_ticks() {
        let s = Duration::from_secs;
        assert_eq!(compact_uptime(s(42)), ("42s".into(), s(1)));
        assert_eq!(compact_uptime(s(5 * 60 + 7)), ("5m".into(), s(53)));
        assert_eq!(compact_uptime(s(4 * 3600 + 5 * 60 + 6)), ("04:05:06".into(), s(1)));
        assert_eq!(compact_uptime(s(3 * 86_400 + 4 * 3600 + 5 * 60)), ("3d 04:05".into(), s(60)));
        assert_eq!(compact_uptime(Duration::from_millis(1500)).1, Duration::from_millis(500));
        assert_eq!(compact_age(s(45)), ("45s".into(), s(1)));
        assert_eq!(compact_age(s(150)), ("2m".into(), s(30)));
        assert_eq!(compact_age(s(3 * 3600)), ("3h".into(), s(3600)));
        assert_eq!(compact_age(s(2 * 86_400 + 1)), ("2d".into(), s(86_399)));
    }

    #[test]
    fn deserializes_from_config_text() {
        #[derive(serde::Deserialize)]
        struct C {
            page: Template,
        }
        let c: C = toml::from_str("page = \"{calls} calls\"").unwrap();
        assert_eq!(c.page.render(&view(), Duration::ZERO).text, "3 calls");
        let e =
            toml::from_str::<C>("page = \"{call} calls\"").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("unknown template field {call}"), "{e}");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips_literals(s in "(?s).{0,64}") {
            if let Ok(t) = Template::parse(&s) {
                let _ = t.render(&view(), Duration::from_secs(1));
            }
            let escaped = s.replace('{', "{{").replace('}', "}}");
            let t = Template::parse(&escaped).unwrap();
            prop_assert_eq!(t.render(&view(), Duration::ZERO).text, s);
        }
    }
}
