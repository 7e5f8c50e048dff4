//! Read access to an event's headers, whatever parsed it.
//!
//! The status model only needs to look headers up by name, so it depends on this small trait
//! rather than on one ESL client: the daemon's link adapts its client's events to it, tests
//! and the replay tool feed it [`HeaderMap`]s built from captured text.

/// An event as a bag of headers plus an optional body.
pub trait Headers {
    /// The value of header `name`, matched case-insensitively, because FreeSWITCH spells some
    /// headers differently on different code paths (`Unique-ID` vs `unique-id`).
    fn header(&self, name: &str) -> Option<&str>;

    /// The event body (the part after the inner `Content-Length`), if any.
    fn body(&self) -> Option<&str>;

    /// A header that carries information: FreeSWITCH prints empty values as `_undef_`, and an
    /// empty string says nothing either, so both read as absent.
    fn value(&self, name: &str) -> Option<&str> {
        self.header(name).map(str::trim).filter(|v| !v.is_empty() && *v != "_undef_")
    }

    /// Calls `f` with every header in order, for the call view's raw headers; a source that
    /// cannot list its headers lists none.
    fn each_header(&self, f: &mut dyn FnMut(&str, &str)) {
        let _ = f;
    }
}

/// A plain ordered header list, as read from a `text/event-plain` block.
///
/// Duplicates are kept (FreeSWITCH sends `Hangup-Cause` twice); lookups return the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl HeaderMap {
    /// An empty event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder-style header append, handy for tests.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.push(name, value);
        self
    }

    /// Appends a header (already decoded).
    pub fn push(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// Sets the body.
    pub fn set_body(&mut self, body: &str) {
        self.body = Some(body.to_owned());
    }

    /// Parses the inner block of a `text/event-plain` event: `Name: value` lines with
    /// percent-encoded values, an empty line, then optionally a body whose length the inner
    /// `Content-Length` header gives.
    ///
    /// Lines without a `": "` separator are skipped rather than rejected, so hand-edited
    /// captures (decoded multi-line SDP) still load. The body is taken as the rest of the text
    /// when the stated length runs past it.
    pub fn from_plain(text: &str) -> Self {
        let mut map = Self::new();
        let mut rest = text;
        loop {
            let (line, after) = match rest.find('\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            rest = after;
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(": ") {
                map.push(name.trim(), &percent_decode(value));
            }
            if after.is_empty() {
                break;
            }
        }
        let body_len = map.header("Content-Length").and_then(|v| v.trim().parse::<usize>().ok());
        if let Some(len) = body_len {
            let body = match rest.get(..len) {
                Some(b) => b,
                None => rest,
            };
            map.body = Some(body.to_owned());
        }
        map
    }
}

impl Headers for HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    fn each_header(&self, f: &mut dyn FnMut(&str, &str)) {
        for (name, value) in &self.headers {
            f(name, value);
        }
    }
}

/// An event's headers packed in one buffer, for events kept or queued a while (the call
/// view's feed): two allocations per event instead of two per header, about half the
/// memory of a [`HeaderMap`] and no heap of small strings left behind when they go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedHeaders {
    text: String,
    /// Each header's name start, value start (the name's end) and value end in `text`.
    spans: Vec<(u32, u32, u32)>,
}

impl PackedHeaders {
    /// An empty event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder-style header append, handy for tests.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.push(name, value);
        self
    }

    /// Appends a header (already decoded). A header that would take the buffer past 4 GiB
    /// is dropped (no event comes near: the ESL client refuses messages above 8 MiB).
    pub fn push(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        let (Ok(a), Ok(b), Ok(c)) = (
            u32::try_from(start),
            u32::try_from(start + name.len()),
            u32::try_from(start + name.len() + value.len()),
        ) else {
            return;
        };
        self.text.push_str(name);
        self.text.push_str(value);
        self.spans.push((a, b, c));
    }

    fn pair(&self, &(a, b, c): &(u32, u32, u32)) -> (&str, &str) {
        (&self.text[a as usize..b as usize], &self.text[b as usize..c as usize])
    }
}

impl Headers for PackedHeaders {
    fn header(&self, name: &str) -> Option<&str> {
        self.spans.iter().map(|s| self.pair(s)).find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    fn body(&self) -> Option<&str> {
        None
    }

    fn each_header(&self, f: &mut dyn FnMut(&str, &str)) {
        for span in &self.spans {
            let (name, value) = self.pair(span);
            f(name, value);
        }
    }
}

/// Decodes `%XX` escapes as FreeSWITCH's plain serializer writes them. `+` stays `+` (FreeSWITCH
/// never form-encodes), malformed escapes stay literal, and invalid UTF-8 (Latin-1 caller
/// names) is replaced rather than rejected so one odd byte cannot hide a whole event.
pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_freeswitch_escapes_and_keeps_plus() {
        assert_eq!(percent_decode("2015-07-07%2016%3A53%3A14"), "2015-07-07 16:53:14");
        assert_eq!(percent_decode("1.5.15b%2Bgit"), "1.5.15b+git");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("Andr%C3%A9"), "André");
    }

    #[test]
    fn plain_block_lookup_is_case_insensitive_and_keeps_first_duplicate() {
        let m = HeaderMap::from_plain("Event-Name: X\nHangup-Cause: A\nhangup-cause: B\n\n");
        assert_eq!(m.header("HANGUP-CAUSE"), Some("A"));
        assert_eq!(m.header("event-name"), Some("X"));
        assert_eq!(m.body(), None);
    }

    #[test]
    fn plain_block_body_uses_inner_content_length() {
        let m = HeaderMap::from_plain("Event-Name: CUSTOM\nContent-Length: 5\n\nhello world");
        assert_eq!(m.body(), Some("hello"));
    }

    #[test]
    fn packed_headers_read_as_a_header_map_does() {
        let packed =
            PackedHeaders::new().with("Event-Name", "X").with("Hangup-Cause", "A").with("hangup-cause", "B");
        assert_eq!(packed.header("HANGUP-CAUSE"), Some("A"), "the first of a name");
        assert_eq!(packed.value("Missing"), None);
        let mut all = Vec::new();
        packed.each_header(&mut |n, v| all.push(format!("{n}={v}")));
        assert_eq!(all, ["Event-Name=X", "Hangup-Cause=A", "hangup-cause=B"]);
    }

    #[test]
    fn undef_reads_as_absent() {
        let m = HeaderMap::new().with("Caller-Caller-ID-Name", "_undef_").with("X", " ");
        assert_eq!(m.value("Caller-Caller-ID-Name"), None);
        assert_eq!(m.value("X"), None);
    }

    proptest! {
        #[test]
        fn decoding_and_parsing_never_panic(s in ".{0,200}") {
            let _ = percent_decode(&s);
            let _ = HeaderMap::from_plain(&s);
        }
    }
}
