//! Bytes on the wire, server → client: the three event formats and the message framing
//! FreeSWITCH's mod_event_socket uses (see `../shared/research/esl-protocol.md` §1.3, §1.7).
//!
//! Everything here is pure (no I/O) so the encoders can be checked byte for byte against
//! captures. A [`Message`] keeps the header block and the body apart because FreeSWITCH
//! writes them with separate `send()` calls, and the fault injector cuts at that seam.

use std::fmt::Write as _;

use super::event::Event;

/// `Disconnected, goodbye.` — the notice FreeSWITCH sends whenever a listener ends normally.
pub const GOODBYE: &str = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
/// Notice sent to every client when FreeSWITCH shuts down.
pub const SHUTDOWN: &str = "The system is being shut down.\n";
/// Notice sent to a listener whose event queue overflowed.
pub const LOST_EVENTS: &str = "killed listener because of lost events\n";
/// Body of `text/rude-rejection` (ACL denial).
pub const ACCESS_DENIED: &str = "Access Denied, go away.\n";
/// Body of the mock's own refusal past its connection limit (FreeSWITCH has no limit).
pub const TOO_MANY_CONNECTIONS: &str = "Too many connections, try again later.\n";

/// How a connection wants its events serialized (`event plain|json|xml ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/event-plain`: headers URL-encoded, one per line (the default).
    #[default]
    Plain = 0,
    /// `text/event-json`: one JSON object.
    Json = 1,
    /// `text/event-xml`: an `<event>` document.
    Xml = 2,
}

impl Format {
    /// The word FreeSWITCH echoes in `+OK event listener enabled <fmt>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Json => "json",
            Format::Xml => "xml",
        }
    }

    /// Parses the format keyword exactly as the `event` command does (case-insensitive).
    pub fn parse(word: &str) -> Option<Format> {
        [Format::Plain, Format::Json, Format::Xml].into_iter().find(|f| word.eq_ignore_ascii_case(f.as_str()))
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Plain => "text/event-plain",
            Format::Json => "text/event-json",
            Format::Xml => "text/event-xml",
        }
    }
}

/// One server → client message: its header block (including the terminating blank line)
/// and its body (possibly empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// Header lines and the blank line that ends them.
    pub head: Vec<u8>,
    /// Exactly `Content-Length` bytes; empty without that header.
    pub body: Vec<u8>,
}

impl Message {
    /// The message as one contiguous byte string.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.append_to(&mut out);
        out
    }

    /// Appends the whole message to a write buffer.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&self.body);
    }

    /// Total length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// True when the message has no bytes at all (never the case for a real message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `Content-Type: auth/request`, the greeting.
pub fn auth_request() -> Message {
    Message { head: b"Content-Type: auth/request\n\n".to_vec(), body: Vec::new() }
}

/// A `command/reply` with its `Reply-Text` and any extra headers in order
/// (bgapi's `Job-UUID`, userauth's `Allowed-*`).
pub fn command_reply(reply_text: &str, extra: &[(&str, &str)]) -> Message {
    let mut head = String::with_capacity(48 + reply_text.len());
    head.push_str("Content-Type: command/reply\nReply-Text: ");
    head.push_str(reply_text);
    head.push('\n');
    for (name, value) in extra {
        let _ = writeln!(head, "{name}: {value}");
    }
    head.push('\n');
    Message { head: head.into_bytes(), body: Vec::new() }
}

/// An `api/response`; the body is the API output verbatim.
pub fn api_response(body: &str) -> Message {
    api_response_bytes(body.as_bytes())
}

/// An `api/response` whose body need not be UTF-8 (a command name echoed as sent).
pub fn api_response_bytes(body: &[u8]) -> Message {
    with_length("api/response", body)
}

/// A `text/disconnect-notice` with the given human text.
pub fn disconnect_notice(text: &str) -> Message {
    with_length("text/disconnect-notice", text.as_bytes())
}

/// mod_event_socket.c `send_disconnect` for a listener with a session (outbound, or
/// bound by `myevents UUID`): the session and the disposition come first.
pub fn session_disconnect_notice(uuid: &str, text: &str) -> Message {
    let head = format!(
        "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\n\
         Content-Disposition: disconnect\nContent-Length: {}\n\n",
        text.len()
    );
    Message { head: head.into_bytes(), body: text.as_bytes().to_vec() }
}

/// mod_event_socket.c `read_packet`: what a lingering listener gets when its channel goes
/// down; `linger_secs` is the `linger` argument (-1: until the client leaves).
pub fn linger_notice(uuid: &str, channel_name: &str, linger_secs: i64) -> Message {
    let head = format!(
        "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\n\
         Content-Disposition: linger\nChannel-Name: {channel_name}\nLinger-Time: {linger_secs}\n\
         Content-Length: 0\n\n"
    );
    Message { head: head.into_bytes(), body: Vec::new() }
}

/// The `text/rude-rejection` an ACL-denied peer gets instead of the greeting.
pub fn rude_rejection() -> Message {
    with_length("text/rude-rejection", ACCESS_DENIED.as_bytes())
}

/// What a client over the mock's `max_connections` gets instead of the greeting.
pub fn too_many_connections() -> Message {
    with_length("text/rude-rejection", TOO_MANY_CONNECTIONS.as_bytes())
}

fn with_length(content_type: &str, body: &[u8]) -> Message {
    let head = format!("Content-Type: {content_type}\nContent-Length: {}\n\n", body.len());
    Message { head: head.into_bytes(), body: body.to_vec() }
}

/// An event framed for delivery: outer `Content-Length` first, then `Content-Type`, as
/// mod_event_socket writes it (the opposite order from `api/response`).
pub fn event_message(event: &Event, format: Format) -> Message {
    let body = match format {
        Format::Plain => encode_plain(event),
        Format::Json => encode_json(event),
        Format::Xml => encode_xml(event),
    };
    let head = format!("Content-Length: {}\nContent-Type: {}\n\n", body.len(), format.content_type());
    Message { head: head.into_bytes(), body }
}

/// [`event_message`] in plain, appended to `out` (head, then body), with `scratch` as the
/// encoder's room: a writer that holds the only copy of an event frames it there, with no
/// message of its own to allocate and free.
pub(crate) fn append_plain_event(event: &Event, scratch: &mut String, out: &mut Vec<u8>) {
    scratch.clear();
    encode_plain_into(event, scratch);
    let _ = std::io::Write::write_fmt(
        out,
        format_args!("Content-Length: {}\nContent-Type: {}\n\n", scratch.len(), Format::Plain.content_type()),
    );
    out.extend_from_slice(scratch.as_bytes());
}

/// Header order as a listener sees it: `switch_event_dup` re-creates `Event-Subclass`
/// before copying the rest, so it comes first on every delivered CUSTOM event.
fn ordered_headers(event: &Event) -> impl Iterator<Item = &(String, String)> {
    let sub = event.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case("Event-Subclass"));
    let first = sub.map(|i| &event.headers[i]);
    first
        .into_iter()
        .chain(event.headers.iter().enumerate().filter(move |(i, _)| Some(*i) != sub).map(|(_, h)| h))
}

/// Body text as FreeSWITCH treats it: an empty body serializes as no body at all.
fn body_of(event: &Event) -> Option<&str> {
    event.body.as_deref().filter(|b| !b.is_empty())
}

/// `text/event-plain` inner block: percent-encoded values, `_undef_` for empty ones, an
/// inner `Content-Length` and the raw body when there is one.
pub fn encode_plain(event: &Event) -> Vec<u8> {
    let mut out =
        String::with_capacity(64 * event.headers.len() + event.body.as_ref().map_or(0, String::len));
    encode_plain_into(event, &mut out);
    out.into_bytes()
}

fn encode_plain_into(event: &Event, out: &mut String) {
    for (name, value) in ordered_headers(event) {
        out.push_str(name);
        out.push_str(": ");
        if value.is_empty() {
            out.push_str("_undef_");
        } else {
            percent_encode_into(value, out);
        }
        out.push('\n');
    }
    match body_of(event) {
        Some(body) => {
            let _ = write!(out, "Content-Length: {}\n\n", body.len());
            out.push_str(body);
        }
        None => out.push('\n'),
    }
}

/// Whether `switch_url_encode_opt` escapes this byte.
fn must_encode(b: u8) -> bool {
    ESCAPED[usize::from(b)]
}

/// [`must_encode`] as a table: the encoder asks once per byte of every value.
static ESCAPED: [bool; 256] = {
    let mut table = [true; 256];
    let mut b = 0x20;
    while b <= 0x7E {
        table[b] = false;
        b += 1;
    }
    let unsafe_set = b" #%&+:;<=>?@[\\]^`{|}\"";
    let mut i = 0;
    while i < unsafe_set.len() {
        table[unsafe_set[i] as usize] = true;
        i += 1;
    }
    table
};

/// Percent-encodes a header value the way FreeSWITCH does: uppercase hex, a fixed unsafe
/// set, and a `%` that already starts an escape (`%41`) left alone — lossy, but faithful.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    percent_encode_into(value, &mut out);
    out
}

fn percent_encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes();
    let mut literal_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if must_encode(b) && !escaped {
            push_literal(&bytes[literal_from..i], out);
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xF)] as char);
            literal_from = i + 1;
        }
    }
    push_literal(&bytes[literal_from..], out);
}

/// Only printable ASCII is ever left literal, so the run is always valid UTF-8.
fn push_literal(run: &[u8], out: &mut String) {
    if let Ok(text) = std::str::from_utf8(run) {
        out.push_str(text);
    }
}

/// Plain `%XX` decoding; `+` stays `+`. Invalid escapes pass through; the result is
/// decoded as UTF-8 lossily because FreeSWITCH values may be Latin-1.
pub fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
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

/// `text/event-json` body: one unformatted object, raw values, `ARRAY::` values as JSON
/// arrays, duplicate headers kept as duplicate keys (cJSON appends without checking), then
/// `Content-Length` and `_body` if there is a body.
pub fn encode_json(event: &Event) -> Vec<u8> {
    let mut out = String::with_capacity(80 * event.headers.len());
    out.push('{');
    let mut first = true;
    let mut key = |out: &mut String, name: &str| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        json_string(name, out);
        out.push(':');
    };
    for (name, value) in ordered_headers(event) {
        key(&mut out, name);
        match value.strip_prefix("ARRAY::") {
            Some(items) => {
                out.push('[');
                for (i, item) in items.split("|:").enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_string(item, &mut out);
                }
                out.push(']');
            }
            None => json_string(value, &mut out),
        }
    }
    if let Some(body) = body_of(event) {
        key(&mut out, "Content-Length");
        json_string(&body.len().to_string(), &mut out);
        key(&mut out, "_body");
        json_string(body, &mut out);
    }
    out.push('}');
    out.into_bytes()
}

/// cJSON's string escaping: `"` `\` and control characters; everything else (including
/// `/` and non-ASCII) is written raw.
pub(crate) fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `text/event-xml` body as `switch_event_xmlize` + `switch_xml_toxml` print it: no prolog,
/// two-space indentation, percent-encoded header values, raw (XML-escaped) body, and the
/// `switch_xml_toxml` quirk of indenting the close tag when the text ends with a newline.
pub fn encode_xml(event: &Event) -> Vec<u8> {
    let mut out = String::with_capacity(96 * event.headers.len());
    out.push_str("<event>\n  <headers>\n");
    for (name, value) in ordered_headers(event) {
        xml_leaf(name, &percent_encode(value), 2, &mut out);
    }
    out.push_str("  </headers>\n");
    if let Some(body) = body_of(event) {
        xml_leaf("Content-Length", &body.len().to_string(), 1, &mut out);
        xml_leaf("body", body, 1, &mut out);
    }
    out.push_str("</event>\n");
    out.into_bytes()
}

fn xml_leaf(tag: &str, text: &str, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let _ = write!(out, "{indent}<{tag}>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    if text.ends_with('\n') {
        out.push_str(&indent);
    }
    let _ = writeln!(out, "</{tag}>");
}

/// Why bytes could not be read as ESL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// A header line with no `: ` (the line).
    #[error("header line without ': ' separator: {0:?}")]
    BadHeaderLine(String),
    /// A `Content-Length` that is not a byte count (the value).
    #[error("invalid Content-Length {0:?}")]
    BadLength(String),
    /// The bytes end inside the body.
    #[error("body shorter than its Content-Length ({have} of {want} bytes)")]
    ShortBody {
        /// Body bytes present.
        have: usize,
        /// What `Content-Length` announced.
        want: usize,
    },
    /// The bytes end inside the header block.
    #[error("header block is not terminated by an empty line")]
    Unterminated,
    /// The header block is not valid UTF-8.
    #[error("message is not UTF-8")]
    NotUtf8,
}

/// Headers of one message, raw (not percent-decoded), in order.
pub type RawHeaders = Vec<(String, String)>;

/// Splits the first complete message off `buf`: its headers, its body, and how many bytes
/// it took. `Ok(None)` means more bytes are needed. For clients of the mock (tests, benches).
pub fn split_message(buf: &[u8]) -> Result<Option<(RawHeaders, Vec<u8>, usize)>, WireError> {
    let Some(end) = buf.windows(2).position(|w| w == b"\n\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| WireError::NotUtf8)?;
    let headers = parse_header_lines(head)?;
    let length = match headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("Content-Length")) {
        Some((_, v)) => v.parse::<usize>().map_err(|_| WireError::BadLength(v.clone()))?,
        None => 0,
    };
    let start = end + 2;
    if buf.len() < start + length {
        return Ok(None);
    }
    Ok(Some((headers, buf[start..start + length].to_vec(), start + length)))
}

fn parse_header_lines(head: &str) -> Result<RawHeaders, WireError> {
    head.split('\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            line.split_once(": ")
                .or_else(|| line.strip_suffix(':').map(|n| (n, "")))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .ok_or_else(|| WireError::BadHeaderLine(line.to_string()))
        })
        .collect()
}

/// Reads a `text/event-plain` inner block back into an [`Event`]: values percent-decoded,
/// `_undef_` turned back into an empty value, the inner `Content-Length` consumed into the body.
pub fn decode_plain(block: &str) -> Result<Event, WireError> {
    let (head, rest) = match block.split_once("\n\n") {
        Some(parts) => parts,
        None if block.ends_with('\n') => (block.trim_end_matches('\n'), ""),
        None => return Err(WireError::Unterminated),
    };
    let mut event = Event::new();
    let mut length = None;
    for (name, value) in parse_header_lines(head)? {
        if name.eq_ignore_ascii_case("Content-Length") {
            length = Some(value.parse::<usize>().map_err(|_| WireError::BadLength(value.clone()))?);
        } else if value == "_undef_" {
            event.push(name, "");
        } else {
            event.push(name, percent_decode(&value));
        }
    }
    if let Some(want) = length {
        let body = rest.as_bytes();
        if body.len() < want {
            return Err(WireError::ShortBody { have: body.len(), want });
        }
        event.body = Some(String::from_utf8_lossy(&body[..want]).into_owned());
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_documented_set() {
        assert_eq!(percent_encode("2015-07-07 16:53:14"), "2015-07-07%2016%3A53%3A14");
        assert_eq!(percent_encode("::1"), "%3A%3A1");
        assert_eq!(percent_encode("%(2000,4000,440)"), "%25(2000,4000,440)");
        assert_eq!(percent_encode("+3120 alloted_timeout"), "%2B3120%20alloted_timeout");
        assert_eq!(percent_encode("a/b.c,d-e_f~g!h$i'j(k)l*m"), "a/b.c,d-e_f~g!h$i'j(k)l*m");
        assert_eq!(percent_encode("é\t\"|"), "%C3%A9%09%22%7C");
        // An existing escape is not re-encoded: FreeSWITCH's lossy edge.
        assert_eq!(percent_encode("100%41"), "100%41");
        assert_eq!(percent_encode("100%4"), "100%254");
    }

    #[test]
    fn decoding_keeps_plus_and_tolerates_broken_escapes() {
        assert_eq!(percent_decode("a+b%20c"), "a+b c");
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn plain_with_body_has_two_lengths_in_bytes() {
        let ev = Event::new().with("Event-Name", "API").with("Empty", "");
        let mut ev2 = ev.clone();
        ev2.body = Some("héllo".into());
        assert_eq!(encode_plain(&ev), b"Event-Name: API\nEmpty: _undef_\n\n");
        assert_eq!(
            encode_plain(&ev2),
            "Event-Name: API\nEmpty: _undef_\nContent-Length: 6\n\nhéllo".as_bytes()
        );
        let msg = event_message(&ev2, Format::Plain);
        assert!(msg.head.starts_with(b"Content-Length: 56\nContent-Type: text/event-plain\n\n"));
    }

    #[test]
    fn subclass_goes_first_and_duplicates_stay() {
        let ev = Event::new()
            .with("Event-Name", "CUSTOM")
            .with("Hangup-Cause", "A")
            .with("Event-Subclass", "x::y")
            .with("Hangup-Cause", "B");
        assert_eq!(
            encode_plain(&ev),
            b"Event-Subclass: x%3A%3Ay\nEvent-Name: CUSTOM\nHangup-Cause: A\nHangup-Cause: B\n\n"
        );
        assert_eq!(
            encode_json(&ev),
            br#"{"Event-Subclass":"x::y","Event-Name":"CUSTOM","Hangup-Cause":"A","Hangup-Cause":"B"}"#
        );
    }

    #[test]
    fn json_escapes_like_cjson_and_expands_arrays() {
        let mut ev = Event::new().with("A", "q\"/\u{1}é").with("L", "ARRAY::x|:y");
        ev.body = Some("l1\nl2".into());
        assert_eq!(
            encode_json(&ev),
            "{\"A\":\"q\\\"/\\u0001é\",\"L\":[\"x\",\"y\"],\"Content-Length\":\"5\",\"_body\":\"l1\\nl2\"}"
                .as_bytes()
        );
    }

    #[test]
    fn split_message_waits_for_the_whole_body() {
        let msg = api_response("UP\n").to_bytes();
        assert_eq!(split_message(&msg[..msg.len() - 1]), Ok(None));
        let (headers, body, used) = split_message(&msg).unwrap().unwrap();
        assert_eq!(headers[0], ("Content-Type".into(), "api/response".into()));
        assert_eq!((body.as_slice(), used), (&b"UP\n"[..], msg.len()));
    }

    #[test]
    fn decode_plain_reports_bad_input() {
        assert_eq!(decode_plain("no separator\n\n"), Err(WireError::BadHeaderLine("no separator".into())));
        assert_eq!(
            decode_plain("A: b\nContent-Length: 9\n\nshort"),
            Err(WireError::ShortBody { have: 5, want: 9 })
        );
        assert_eq!(decode_plain("A: b\nContent-Length: -1\n\n"), Err(WireError::BadLength("-1".into())));
    }
}
