//! SIP messages (RFC 3261 §7): parsing from bytes and writing back, bounded.
//!
//! Ours rather than a SIP crate's: the mock must answer every malformed input with the
//! status RFC 3261 asks for (400 with a reason naming the fault, 505, 413) and, to do so,
//! still read the head of a request whose body or one header is broken; it relays
//! headers it does not know in their order and bytes (the B2BUA passes SDP and unknown
//! headers through); and every input is bounded by numbers we document. The crates we
//! looked at (rsip on nom) reject a message as a whole and bring their own allocation
//! pattern with no size bound.
//!
//! Bounds: a message is at most [`MAX_MESSAGE`] bytes (the largest UDP payload; also
//! applied to TCP and WebSocket framing), at most [`MAX_HEADERS`] header fields after
//! unfolding. Parsing is one pass over the bytes and allocates only what it keeps, so a
//! malformed datagram costs O(its length) and nothing stays behind.
//!
//! Header names are kept in their full form (`v` → `Via`, RFC 3261 §7.3.3 compact forms
//! are expanded on reading), folded lines (§7.3.1) are joined with one space, values are
//! trimmed. Written messages always carry a `Content-Length` computed from the body.

use std::fmt;

/// The largest message read or written, in bytes: 65 535, the largest UDP datagram.
pub const MAX_MESSAGE: usize = 65_535;
/// Header fields in one message (after unfolding, before splitting comma lists).
pub const MAX_HEADERS: usize = 128;

/// RFC 3261 §7.3.3 compact forms, plus the ones later RFCs added (RFC 3265 `o`/`u`,
/// RFC 3515 `r`, RFC 3892 `b`, RFC 3841 `a`/`j`/`d`, RFC 4028 `x`).
const COMPACT: [(u8, &str); 17] = [
    (b'a', "Accept-Contact"),
    (b'b', "Referred-By"),
    (b'c', "Content-Type"),
    (b'd', "Request-Disposition"),
    (b'e', "Content-Encoding"),
    (b'f', "From"),
    (b'i', "Call-ID"),
    (b'j', "Reject-Contact"),
    (b'k', "Supported"),
    (b'l', "Content-Length"),
    (b'm', "Contact"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b's', "Subject"),
    (b't', "To"),
    (b'u', "Allow-Events"),
    (b'v', "Via"),
];

/// Full names written in RFC 3261's spelling whatever case the peer used, so lookups
/// and relayed copies look alike (`call-id` → `Call-ID`, `CSEQ` → `CSeq`).
const CANONICAL: [&str; 24] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Min-Expires",
    "User-Agent",
    "Server",
    "Allow",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Authorization",
    "Proxy-Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Record-Route",
    "Route",
];

/// The first line: a request or a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD Request-URI SIP/2.0`.
    Request {
        /// Case-sensitive, as RFC 3261 §7.1 says (`INVITE`, not `invite`).
        method: String,
        /// The Request-URI as written.
        uri: String,
    },
    /// `SIP/2.0 CODE Reason`.
    Response {
        /// 100–699.
        status: u16,
        /// The reason phrase (may be empty).
        reason: String,
    },
}

/// One parsed SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The request or status line.
    pub start: StartLine,
    /// Header fields in order, names in full form, values unfolded and trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, `Content-Length` bytes of it.
    pub body: Vec<u8>,
}

/// What was wrong with a message, and what to answer a request with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// More than [`MAX_MESSAGE`] bytes.
    TooLarge(usize),
    /// No blank line ends the head (a datagram cut short, or not SIP).
    Truncated,
    /// The first line is neither a request nor a status line.
    BadStartLine,
    /// A version other than SIP/2.0 (answered 505).
    BadVersion(String),
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// A header line without a colon or with an invalid name; the 1-based line number.
    BadHeader(usize),
    /// Bytes that are not UTF-8 in the head.
    NotUtf8,
    /// `Content-Length` not a number, given twice with different values, or larger than
    /// the bytes that follow.
    BadContentLength,
    /// A header every request needs is missing or unreadable (RFC 3261 §8.1.1): Via,
    /// From, To, Call-ID, CSeq (and Max-Forwards is not required: §16.6 adds it).
    Missing(&'static str),
    /// The CSeq method differs from the request's (RFC 3261 §8.1.1.5).
    CSeqMismatch,
}

/// A message that could not be read. `head` is the part that could, when the start line
/// and headers were readable, so a request can still be answered (400, 505).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The readable head (start line and headers, no body), if any.
    pub head: Option<Box<Message>>,
}

impl ParseError {
    fn bare(kind: ParseErrorKind) -> Self {
        ParseError { kind, head: None }
    }

    /// The status a request with this fault is answered with, and its reason phrase
    /// (RFC 3261 §8.2: 400 naming the fault, 505 for the version, 513 for the size).
    pub fn response(&self) -> (u16, String) {
        match &self.kind {
            ParseErrorKind::BadVersion(_) => (505, "Version Not Supported".into()),
            ParseErrorKind::TooLarge(_) => (513, "Message Too Large".into()),
            _ => (400, self.to_string()),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ParseErrorKind::TooLarge(n) => write!(f, "Message Too Large ({n} bytes, at most {MAX_MESSAGE})"),
            ParseErrorKind::Truncated => f.write_str("Bad Request (no end of headers)"),
            ParseErrorKind::BadStartLine => f.write_str("Bad Request Line"),
            ParseErrorKind::BadVersion(v) => write!(f, "Version Not Supported ({v})"),
            ParseErrorKind::TooManyHeaders => write!(f, "Too Many Headers (at most {MAX_HEADERS})"),
            ParseErrorKind::BadHeader(line) => write!(f, "Bad Header (line {line})"),
            ParseErrorKind::NotUtf8 => f.write_str("Bad Request (not UTF-8)"),
            ParseErrorKind::BadContentLength => f.write_str("Bad Content-Length"),
            ParseErrorKind::Missing(name) => write!(f, "Missing or Bad {name}"),
            ParseErrorKind::CSeqMismatch => f.write_str("CSeq Method Mismatch"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Where a message's head ends: the index just past its blank line.
fn head_end(bytes: &[u8]) -> Option<usize> {
    // Bare LF line ends are accepted (RFC 3261 §7 asks for CRLF; §7.5 says be lenient).
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            match bytes.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Leading CRLFs before a message (RFC 3261 §7.5) and keep-alives (RFC 5626 §3.5.1).
pub fn skip_keepalive(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count()
}

/// For a stream (TCP): how long the message at the front of `buf` is, once its head and
/// `Content-Length` body have arrived. `Ok(None)`: wait for more bytes. A stream message
/// without `Content-Length` is an error (RFC 3261 §18.3 requires it on streams).
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let Some(end) = head_end(buf) else {
        if buf.len() > MAX_MESSAGE {
            return Err(ParseError::bare(ParseErrorKind::TooLarge(buf.len())));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| ParseError::bare(ParseErrorKind::NotUtf8))?;
    let mut length = None;
    for line in head.split('\n').skip(1) {
        let Some((name, value)) = line.split_once(':') else { continue };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| ParseError::bare(ParseErrorKind::BadContentLength))?,
            );
        }
    }
    let Some(length) = length else {
        return Err(ParseError::bare(ParseErrorKind::Missing("Content-Length")));
    };
    let total = end.saturating_add(length);
    if total > MAX_MESSAGE {
        return Err(ParseError::bare(ParseErrorKind::TooLarge(total)));
    }
    Ok((buf.len() >= total).then_some(total))
}

fn canonical_name(name: &str) -> String {
    if name.len() == 1 {
        let c = name.as_bytes()[0].to_ascii_lowercase();
        if let Some((_, full)) = COMPACT.iter().find(|(k, _)| *k == c) {
            return (*full).to_string();
        }
    }
    match CANONICAL.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        Some(c) => (*c).to_string(),
        None => name.to_string(),
    }
}

/// RFC 3261 §25.1 `token` characters: what a header name or method may hold.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// The start line, and a fault found in it that still lets the head be read (a
/// request's unknown version: answered 505 with the head's Via).
fn parse_start(line: &str) -> Result<(StartLine, Option<ParseErrorKind>), ParseError> {
    let mut parts = line.splitn(3, ' ');
    let (a, b, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if let Some(version) = a.strip_prefix("SIP/") {
        if version != "2.0" {
            return Err(ParseError::bare(ParseErrorKind::BadVersion(a.to_string())));
        }
        let status: u16 = match b.parse() {
            Ok(s) if (100..=699).contains(&s) && b.len() == 3 => s,
            _ => return Err(ParseError::bare(ParseErrorKind::BadStartLine)),
        };
        return Ok((StartLine::Response { status, reason: c.to_string() }, None));
    }
    if !is_token(a) || b.is_empty() || b.contains(' ') || !c.starts_with("SIP/") || c.contains(' ') {
        return Err(ParseError::bare(ParseErrorKind::BadStartLine));
    }
    let version = (!c.eq_ignore_ascii_case("SIP/2.0")).then(|| ParseErrorKind::BadVersion(c.to_string()));
    Ok((StartLine::Request { method: a.to_string(), uri: b.to_string() }, version))
}

impl Message {
    /// Parses one whole message (a datagram, a framed stream message, a WebSocket
    /// message). On UDP a body longer than `Content-Length` is cut to it (RFC 3261
    /// §18.3); a missing `Content-Length` means the rest of the bytes.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(ParseError::bare(ParseErrorKind::TooLarge(bytes.len())));
        }
        let bytes = &bytes[skip_keepalive(bytes)..];
        let end = head_end(bytes).ok_or(ParseError::bare(ParseErrorKind::Truncated))?;
        let head =
            std::str::from_utf8(&bytes[..end]).map_err(|_| ParseError::bare(ParseErrorKind::NotUtf8))?;
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let (start, mut broken) = parse_start(lines.next().unwrap_or(""))?;
        let mut msg = Message { start, headers: Vec::new(), body: Vec::new() };
        let mut line_no = 1;
        for line in lines {
            line_no += 1;
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                // §7.3.1 folding: a continuation line joins the previous value.
                match msg.headers.last_mut() {
                    Some((_, v)) => {
                        v.push(' ');
                        v.push_str(line.trim());
                    }
                    None => broken = broken.or(Some(ParseErrorKind::BadHeader(line_no))),
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                broken = broken.or(Some(ParseErrorKind::BadHeader(line_no)));
                continue;
            };
            let name = name.trim_end();
            if !is_token(name) {
                broken = broken.or(Some(ParseErrorKind::BadHeader(line_no)));
                continue;
            }
            if msg.headers.len() == MAX_HEADERS {
                return Err(ParseError::bare(ParseErrorKind::TooManyHeaders));
            }
            msg.headers.push((canonical_name(name), value.trim().to_string()));
        }
        let fail = |msg: Message, kind| Err(ParseError { kind, head: Some(Box::new(msg)) });
        if let Some(kind) = broken {
            return fail(msg, kind);
        }
        let rest = &bytes[end..];
        let mut lengths =
            msg.headers.iter().filter(|(n, _)| n == "Content-Length").map(|(_, v)| v.parse::<usize>());
        let length = match (lengths.next(), lengths.next()) {
            (None, _) => rest.len(),
            (Some(Ok(n)), None) if n <= rest.len() => n,
            _ => return fail(msg, ParseErrorKind::BadContentLength),
        };
        if let StartLine::Request { method, .. } = &msg.start {
            for name in ["Via", "From", "To", "Call-ID"] {
                if msg.header(name).is_none_or(str::is_empty) {
                    return fail(msg, ParseErrorKind::Missing(name));
                }
            }
            match msg.cseq() {
                None => return fail(msg, ParseErrorKind::Missing("CSeq")),
                // ACK and CANCEL carry their own method too (§17.1.1.3, §9.1).
                Some((_, m)) if m != method => return fail(msg, ParseErrorKind::CSeqMismatch),
                Some(_) => {}
            }
        }
        msg.body = rest[..length].to_vec();
        Ok(msg)
    }

    /// A request with no headers yet.
    pub fn request(method: &str, uri: &str) -> Message {
        Message {
            start: StartLine::Request { method: method.to_string(), uri: uri.to_string() },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The request's method, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The response's status, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }

    /// The Request-URI, `None` for a response.
    pub fn uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The first value of a header, by full name, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a header, comma lists split (RFC 3261 §7.3.1), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| split_list(v))
    }

    /// `CSeq`: the number and the method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let (n, m) = self.header("CSeq")?.split_once([' ', '\t'])?;
        Some((n.parse().ok()?, m.trim()))
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push((name.to_string(), value.into()));
    }

    /// Replaces every value of a header by one (appended if it was absent).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(i) => {
                self.headers[i].1 = value;
                let mut seen = 0;
                self.headers.retain(|(n, _)| {
                    let same = n.eq_ignore_ascii_case(name);
                    seen += usize::from(same);
                    !same || seen == 1
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every value of a header.
    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The bytes on the wire: `Content-Length` written from the body whatever the headers
    /// said, so a relayed body can never disagree with its length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(format!("{method} {uri} SIP/2.0\r\n").as_bytes());
            }
            StartLine::Response { status, reason } => {
                out.extend_from_slice(format!("SIP/2.0 {status} {reason}\r\n").as_bytes());
            }
        }
        for (n, v) in &self.headers {
            if n != "Content-Length" {
                out.extend_from_slice(n.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(v.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// Splits a header value at commas outside quotes and angle brackets.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut escape, mut from) = (false, false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escape => escape = false,
            '\\' if quoted => escape = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(value[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value[from..].trim());
    parts.into_iter().filter(|p| !p.is_empty())
}

/// A header value's `;name=value` parameters after its main part (`Via`, `To`, `Contact`),
/// outside quotes and angle brackets: `("SIP/2.0/UDP h:5060", [("branch", Some("z9…"))])`.
pub fn params(value: &str) -> (&str, Vec<(&str, Option<&str>)>) {
    let (mut quoted, mut angle) = (false, false);
    let mut cuts = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ';' if !quoted && !angle => cuts.push(i),
            _ => {}
        }
    }
    let main_end = cuts.first().copied().unwrap_or(value.len());
    let mut out = Vec::new();
    for (k, &at) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).copied().unwrap_or(value.len());
        let p = value[at + 1..end].trim();
        if p.is_empty() {
            continue;
        }
        out.push(match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (p, None),
        });
    }
    (value[..main_end].trim(), out)
}

/// One parameter of a header value, by name (case-insensitive): `Some(None)` for a flag.
pub fn param<'a>(value: &'a str, name: &str) -> Option<Option<&'a str>> {
    params(value).1.into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The URI of a name-addr or addr-spec (`"Bob" <sip:b@h>;tag=1` → `sip:b@h`).
pub fn addr_uri(value: &str) -> &str {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => params(value).0,
    }
}

/// A SIP URI's parts (RFC 3261 §19.1), enough to route: `sip:user@host:port;params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri<'a> {
    /// `sip` or `sips`.
    pub scheme: &'a str,
    /// The user part, if any.
    pub user: Option<&'a str>,
    /// Host name or address (IPv6 with its brackets).
    pub host: &'a str,
    /// The port, if written.
    pub port: Option<u16>,
    /// `;transport=…` and the rest, as written after the host.
    pub params: &'a str,
}

impl<'a> Uri<'a> {
    /// Parses `sip:` and `sips:` URIs; any other scheme (`tel:`) or shape is `None`.
    pub fn parse(uri: &'a str) -> Option<Uri<'a>> {
        let (scheme, rest) = uri.split_once(':')?;
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            return None;
        }
        let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.split_once(':').map_or(u, |(u, _)| u)), h),
            None => (None, rest),
        };
        let (hostport, params) = match hostport.find(';') {
            Some(i) => (&hostport[..i], &hostport[i..]),
            None => (hostport, ""),
        };
        let (host, port) = if hostport.starts_with('[') {
            let close = hostport.find(']')?;
            let port = hostport[close + 1..].strip_prefix(':').map(str::parse).transpose().ok()?;
            (&hostport[..=close], port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p.parse().ok()?)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || user == Some("") {
            return None;
        }
        Some(Uri { scheme, user, host, port, params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REGISTER: &str = "REGISTER sip:192.0.2.10 SIP/2.0\r\n\
        v: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport\r\n\
        f: <sip:1000@192.0.2.10>;tag=a1\r\n\
        t: <sip:1000@192.0.2.10>\r\n\
        i: abc@10.0.0.5\r\n\
        CSEQ: 1 REGISTER\r\n\
        m: <sip:1000@10.0.0.5:5062>,\r\n <sip:1000@10.0.0.6>\r\n\
        Subject: one,\r\n\ttwo\r\n\
        l: 4\r\n\r\nbodyEXTRA";

    #[test]
    fn compact_forms_folding_and_body_cut_to_content_length() {
        let m = Message::parse(REGISTER.as_bytes()).unwrap();
        assert_eq!(m.method(), Some("REGISTER"));
        assert_eq!(m.uri(), Some("sip:192.0.2.10"));
        assert_eq!(m.header("via"), Some("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport"));
        assert_eq!(m.header("Call-ID"), Some("abc@10.0.0.5"));
        assert_eq!(m.cseq(), Some((1, "REGISTER")));
        assert_eq!(m.headers[4].0, "CSeq");
        assert_eq!(m.header("Subject"), Some("one, two"));
        assert_eq!(
            m.values("Contact").collect::<Vec<_>>(),
            ["<sip:1000@10.0.0.5:5062>", "<sip:1000@10.0.0.6>"]
        );
        assert_eq!(m.body, b"body");
    }

    #[test]
    fn written_messages_parse_back_the_same() {
        let m = Message::parse(REGISTER.as_bytes()).unwrap();
        let again = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(again, m);
        assert!(String::from_utf8(m.to_bytes()).unwrap().contains("\r\nContent-Length: 4\r\n\r\nbody"));
    }

    #[test]
    fn responses_parse() {
        let m = Message::parse(b"SIP/2.0 180 Ringing\r\nVia: x\r\n\r\n").unwrap();
        assert_eq!(m.status(), Some(180));
        assert_eq!(m.start, StartLine::Response { status: 180, reason: "Ringing".into() });
        assert!(Message::parse(b"SIP/2.0 1800 Ringing\r\n\r\n").is_err());
        assert!(Message::parse(b"SIP/2.0 099 Low\r\n\r\n").is_err());
    }

    fn kind(bytes: &[u8]) -> ParseErrorKind {
        Message::parse(bytes).unwrap_err().kind
    }

    #[test]
    fn each_fault_is_named_and_keeps_the_head_when_readable() {
        assert_eq!(kind(b"garbage"), ParseErrorKind::Truncated);
        assert_eq!(kind(b"hello world\r\n\r\n"), ParseErrorKind::BadStartLine);
        assert_eq!(kind(b"OPTIONS sip:a SIP/3.0\r\n\r\n"), ParseErrorKind::BadVersion("SIP/3.0".into()));
        assert_eq!(kind(b"SIP/1.0 200 OK\r\n\r\n"), ParseErrorKind::BadVersion("SIP/1.0".into()));
        let base = "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\n";
        let e = Message::parse(format!("{base}\r\n").as_bytes()).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Missing("CSeq"));
        assert_eq!(e.head.as_ref().unwrap().header("Call-ID"), Some("c"));
        assert_eq!(e.response(), (400, "Missing or Bad CSeq".into()));
        assert_eq!(kind(format!("{base}CSeq: 1 INVITE\r\n\r\n").as_bytes()), ParseErrorKind::CSeqMismatch);
        assert_eq!(
            kind(format!("{base}CSeq: x OPTIONS\r\n\r\n").as_bytes()),
            ParseErrorKind::Missing("CSeq")
        );
        assert_eq!(
            kind(format!("{base}CSeq: 1 OPTIONS\r\nbad line\r\n\r\n").as_bytes()),
            ParseErrorKind::BadHeader(7)
        );
        let long = format!("{base}CSeq: 1 OPTIONS\r\nContent-Length: 10\r\n\r\nshort");
        assert_eq!(kind(long.as_bytes()), ParseErrorKind::BadContentLength);
        let twice = format!("{base}CSeq: 1 OPTIONS\r\nl: 1\r\nContent-Length: 2\r\n\r\nab");
        assert_eq!(kind(twice.as_bytes()), ParseErrorKind::BadContentLength);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(kind(format!("{base}{many}\r\n").as_bytes()), ParseErrorKind::TooManyHeaders);
        assert_eq!(kind(&vec![b'a'; MAX_MESSAGE + 1]), ParseErrorKind::TooLarge(MAX_MESSAGE + 1));
        assert_eq!(kind(b"OPTIONS sip:a SIP/2.0\r\nX: \xff\r\n\r\n"), ParseErrorKind::NotUtf8);
        assert_eq!(Message::parse(format!("{base}CSeq: 1 OPTIONS\r\n\r\n").as_bytes()).unwrap().body, b"");
        // ACK and CANCEL share the INVITE's CSeq number with their own method.
        let ack = "ACK sip:a SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: c\r\nCSeq: 1 ACK\r\n\r\n";
        assert!(Message::parse(ack.as_bytes()).is_ok());
    }

    #[test]
    fn stream_framing_waits_for_the_body_and_needs_content_length() {
        let msg = b"SIP/2.0 200 OK\r\nl: 3\r\n\r\nabcNEXT";
        assert_eq!(frame_len(&msg[..10]), Ok(None));
        assert_eq!(frame_len(&msg[..26]), Ok(None));
        assert_eq!(frame_len(msg), Ok(Some(27)));
        assert_eq!(
            frame_len(b"SIP/2.0 200 OK\r\n\r\n").unwrap_err().kind,
            ParseErrorKind::Missing("Content-Length")
        );
        assert_eq!(
            frame_len(b"SIP/2.0 200 OK\r\nContent-Length: 99999\r\n\r\n").unwrap_err().kind,
            ParseErrorKind::TooLarge(99999 + 41)
        );
        assert!(matches!(
            frame_len(&vec![b'x'; MAX_MESSAGE + 1]).unwrap_err().kind,
            ParseErrorKind::TooLarge(_)
        ));
        assert_eq!(skip_keepalive(b"\r\n\r\nINVITE"), 4);
    }

    #[test]
    fn params_uris_and_lists() {
        let (main, p) = params("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport;received=\"1.2.3.4\"");
        assert_eq!(main, "SIP/2.0/UDP 10.0.0.5:5062");
        assert_eq!(p, [("branch", Some("z9hG4bK1")), ("rport", None), ("received", Some("1.2.3.4"))]);
        assert_eq!(param("<sip:a@h;transport=tcp>;tag=9", "tag"), Some(Some("9")));
        assert_eq!(param("<sip:a@h;transport=tcp>", "transport"), None);
        assert_eq!(addr_uri("\"A, B\" <sip:a@h;lr>;tag=1"), "sip:a@h;lr");
        assert_eq!(addr_uri("sip:a@h;tag=1"), "sip:a@h");
        let u = Uri::parse("sip:1000:pw@[::1]:5070;transport=tcp").unwrap();
        assert_eq!((u.user, u.host, u.port, u.params), (Some("1000"), "[::1]", Some(5070), ";transport=tcp"));
        let u = Uri::parse("sips:example.org").unwrap();
        assert_eq!((u.scheme, u.user, u.host, u.port), ("sips", None, "example.org", None));
        assert_eq!(Uri::parse("tel:+1555"), None);
        assert_eq!(Uri::parse("sip:a@h:port"), None);
        assert_eq!(
            split_list("\"a,b\" <sip:x>, <sip:y,z>").collect::<Vec<_>>(),
            ["\"a,b\" <sip:x>", "<sip:y,z>"]
        );
    }

    #[test]
    fn set_replaces_every_value() {
        let mut m = Message::request("OPTIONS", "sip:a");
        m.push("Via", "1");
        m.push("X", "k");
        m.push("via", "2");
        m.set("Via", "3");
        assert_eq!(m.headers, [("Via".to_string(), "3".to_string()), ("X".into(), "k".into())]);
        m.remove("x");
        assert_eq!(m.headers.len(), 1);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Message::parse(&bytes);
            let _ = frame_len(&bytes);
        }

        #[test]
        fn never_panics_on_sip_shaped_noise(
            lines in proptest::collection::vec("[A-Za-z:;,<>\" \t=@.0-9/\r\n-]{0,40}", 0..12)
        ) {
            let text = format!("INVITE sip:a@b SIP/2.0\r\n{}\r\n\r\n", lines.join("\r\n"));
            let _ = Message::parse(text.as_bytes());
            for l in &lines {
                let _ = Uri::parse(l);
                let _ = params(l);
                let _ = split_list(l).count();
            }
        }

        #[test]
        fn requests_round_trip(
            method in "[A-Z]{3,9}",
            user in "[0-9a-z]{1,8}",
            extra in proptest::collection::vec(("X-[A-Za-z]{1,6}", "[ -~]{0,30}"), 0..6),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut m = Message::request(&method, &format!("sip:{user}@example.org"));
            m.push("Via", "SIP/2.0/UDP h;branch=z9hG4bK1");
            m.push("From", "<sip:a@h>;tag=1");
            m.push("To", "<sip:b@h>");
            m.push("Call-ID", "c");
            m.push("CSeq", format!("7 {method}"));
            for (n, v) in &extra {
                m.push(n, v.trim());
            }
            m.body = body;
            let back = Message::parse(&m.to_bytes()).unwrap();
            prop_assert_eq!(&back.body, &m.body);
            prop_assert_eq!(back.start, m.start.clone());
            let sent = m.headers.clone();
            prop_assert_eq!(&back.headers[..sent.len()], &sent[..]);
            prop_assert_eq!(frame_len(&m.to_bytes()).unwrap(), Some(m.to_bytes().len()));
        }
    }
}
