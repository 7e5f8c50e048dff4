//! A FreeSWITCH event as the core holds it: ordered headers (duplicates allowed, as
//! FreeSWITCH sends `Hangup-Cause` twice on CHANNEL_HANGUP_COMPLETE) and an optional body.
//! Values are stored decoded; the wire encoders in this module's siblings encode them.

/// One event. Header order is the order FreeSWITCH would serialize them in, before the
/// per-format rules (such as `Event-Subclass` first for CUSTOM) are applied by the encoder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// `(name, value)` in serialization order, values decoded.
    pub headers: Vec<(String, String)>,
    /// The body, if any (a `BACKGROUND_JOB`'s result).
    pub body: Option<String>,
}

impl Event {
    /// An event with no headers yet.
    pub fn new() -> Self {
        Event::default()
    }

    /// Appends a header (duplicates are kept, in order).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Builder form of [`Event::push`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push(name, value);
        self
    }

    /// Replaces the first header of that name (case-insensitive) or appends it.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, v)) => *v = value,
            None => self.headers.push((name.to_string(), value)),
        }
        self
    }

    /// The first value of a header, looked up case-insensitively as FreeSWITCH does.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `Event-Name`, e.g. `CHANNEL_CREATE` or `CUSTOM`.
    pub fn name(&self) -> Option<&str> {
        self.get("Event-Name")
    }

    /// `Event-Subclass` of a CUSTOM event, e.g. `sofia::register`.
    pub fn subclass(&self) -> Option<&str> {
        self.get("Event-Subclass")
    }
}
