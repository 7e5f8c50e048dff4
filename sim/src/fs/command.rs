//! Client → server framing: cutting commands out of the byte stream the way
//! mod_event_socket's `read_packet` does (§1.2 of the protocol notes), and refusing what
//! FreeSWITCH 1.11 refuses.

/// FreeSWITCH force-ends a header block at 10 MiB; the mock treats reaching it as hostile.
pub const MAX_HEADER_BLOCK: usize = 10 * 1024 * 1024;
/// Content-Length cap added to FreeSWITCH in 2026 (commit a097e12421).
pub const MAX_CONTENT_LENGTH: usize = 16 * 1024 * 1024;

/// What a connection's read buffer keeps between commands: more than any ordinary command
/// needs, a small fraction of the large ones it may have taken.
const KEPT_CAPACITY: usize = 64 * 1024;

/// One complete client command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The first line, e.g. `api status`, without its line ending (invalid UTF-8 shown
    /// as U+FFFD; `raw_line` keeps the bytes).
    pub line: String,
    /// The first line as sent: mod_event_socket handles commands as bytes and echoes
    /// them back (`-ERR st\xffatus Command not found!`).
    pub raw_line: Vec<u8>,
    /// `Name: value` lines after it, verbatim (never percent-decoded).
    pub headers: Vec<(String, String)>,
    /// The `Content-Length` body, if the block announced one.
    pub body: Option<Vec<u8>>,
}

impl Command {
    /// First header of that name, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Input that ends the connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// No blank line within the first `MAX_HEADER_BLOCK` bytes of a command.
    #[error("command header block exceeds {MAX_HEADER_BLOCK} bytes")]
    TooLong,
    /// A `Content-Length` that is not a number of bytes the mock accepts (the value as sent).
    #[error("Content-Length {0:?} is negative or above {MAX_CONTENT_LENGTH} bytes")]
    BadLength(String),
    /// A CR not followed by LF, or a NUL: bytes no ESL client sends in a command.
    #[error("command contains a bare CR or a NUL byte")]
    ControlBytes,
}

/// Accumulates client bytes and cuts complete commands off the front. Remembers how far
/// it has scanned so a slowly arriving 10 MiB block costs linear time.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    scanned: usize,
    newlines: usize,
    /// End of a complete header block whose body is still arriving.
    header_end: Option<usize>,
}

impl Framer {
    /// The buffer to read socket bytes into (append only).
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Nothing buffered: no command is partially read, so events may be written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next complete command. `Ok(None)`: wait for more bytes. Stray empty lines
    /// before a command are consumed.
    pub fn next_command(&mut self) -> Result<Option<Command>, FrameError> {
        if self.scanned == 0 && self.header_end.is_none() {
            let skip = self.buf.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
            self.buf.drain(..skip);
        }
        // Two LFs end the block; CRs between them neither count nor break the run.
        let mut end = self.header_end;
        for (i, &b) in
            self.buf.iter().enumerate().skip(self.scanned).take_while(|_| self.header_end.is_none())
        {
            match b {
                b'\n' => {
                    self.newlines += 1;
                    if self.newlines == 2 {
                        end = Some(i + 1);
                        break;
                    }
                }
                b'\r' => {}
                _ => self.newlines = 0,
            }
        }
        let Some(end) = end else {
            self.scanned = self.buf.len();
            return if self.buf.len() > MAX_HEADER_BLOCK { Err(FrameError::TooLong) } else { Ok(None) };
        };
        if end > MAX_HEADER_BLOCK {
            return Err(FrameError::TooLong);
        }
        self.header_end = Some(end);
        let block = &self.buf[..end];
        let bare_cr = block.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n' && w[1] != b'\r');
        if bare_cr || block.contains(&0) {
            return Err(FrameError::ControlBytes);
        }
        let raw_line: Vec<u8> = {
            let first = block.iter().position(|&b| b == b'\n').unwrap_or(block.len());
            let mut l = block[..first].to_vec();
            while l.last() == Some(&b'\r') {
                l.pop();
            }
            l
        };
        let text = String::from_utf8_lossy(block);
        let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty());
        let line = lines.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_string(), v.trim_start_matches(' ').to_string()))
            .collect();
        let length = match headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("Content-Length")) {
            Some((_, v)) => content_length(v)?,
            None => 0,
        };
        if self.buf.len() < end + length {
            return Ok(None);
        }
        let body = (length > 0).then(|| self.buf[end..end + length].to_vec());
        self.buf.drain(..end + length);
        // One large command (a 16 MiB sendevent body) must not pin its buffer for the rest
        // of a long-lived connection.
        if self.buf.capacity() > KEPT_CAPACITY && self.buf.len() <= KEPT_CAPACITY / 2 {
            self.buf.shrink_to(KEPT_CAPACITY);
        }
        self.scanned = 0;
        self.newlines = 0;
        self.header_end = None;
        Ok(Some(Command { line, raw_line, headers, body }))
    }
}

/// `atoi` semantics (mod_event_socket.c read_packet: `clen = atoi(val)`): leading blanks,
/// an optional sign, the leading digits, anything after ignored, no digits → 0; then
/// 1.11's bounds check (negative or above the cap refused).
fn content_length(value: &str) -> Result<usize, FrameError> {
    let v = value.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let bad = || FrameError::BadLength(value.to_string());
    let (negative, rest) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let digits = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(bad());
    }
    match digits.parse::<usize>() {
        Ok(n) if n <= MAX_CONTENT_LENGTH => Ok(n),
        _ => Err(bad()),
    }
}

/// Case-insensitive prefix test, the way `strncasecmp(cmd, "event", 5)` matches.
pub fn has_prefix(line: &str, prefix: &str) -> bool {
    line.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(bytes: &[u8]) -> (Result<Option<Command>, FrameError>, Vec<u8>) {
        let mut f = Framer::default();
        f.buffer().extend_from_slice(bytes);
        let r = f.next_command();
        (r, f.buf)
    }

    #[test]
    fn a_large_command_does_not_keep_its_buffer() {
        let mut f = Framer::default();
        let body = vec![b'x'; 1 << 20];
        f.buffer()
            .extend_from_slice(format!("sendevent CUSTOM\nContent-Length: {}\n\n", body.len()).as_bytes());
        f.buffer().extend_from_slice(&body);
        f.buffer().extend_from_slice(b"api status\n\n");
        let big = f.next_command().unwrap().unwrap();
        assert_eq!(big.body.map(|b| b.len()), Some(1 << 20));
        assert!(f.buffer().capacity() <= KEPT_CAPACITY, "{}", f.buffer().capacity());
        assert_eq!(f.next_command().unwrap().unwrap().line, "api status", "what followed is kept");
    }

    #[test]
    fn bytes_arriving_one_at_a_time() {
        let mut f = Framer::default();
        let input = b"\r\nsendevent CUSTOM\r\nContent-Length: 2\r\n\r\nhiapi status\n\n";
        let mut got = Vec::new();
        for &b in input {
            f.buffer().push(b);
            while let Some(c) = f.next_command().unwrap() {
                got.push((c.line, c.body));
            }
        }
        assert_eq!(got, vec![("sendevent CUSTOM".into(), Some(b"hi".to_vec())), ("api status".into(), None)]);
        assert!(f.is_empty());
    }

    #[test]
    fn lf_crlf_and_stray_lines() {
        let (c, rest) = take(b"\n\r\napi status\r\n\r\nexit\n\n");
        assert_eq!(c.unwrap().unwrap().line, "api status");
        assert_eq!(rest, b"exit\n\n");
        let (c, _) = take(b"bgapi status\nJob-UUID:  abc\n\n");
        let c = c.unwrap().unwrap();
        assert_eq!(c.header("job-uuid"), Some("abc"));
        assert_eq!(take(b"api status\n").0, Ok(None));
    }

    #[test]
    fn body_waits_for_all_bytes() {
        let msg = b"sendevent CUSTOM\nContent-Length: 5\n\nhel";
        assert_eq!(take(msg).0, Ok(None));
        let (c, rest) = take(b"sendevent CUSTOM\nContent-Length: 5\n\nhelloapi");
        assert_eq!(c.unwrap().unwrap().body.as_deref(), Some(&b"hello"[..]));
        assert_eq!(rest, b"api");
    }

    #[test]
    fn hostile_input_is_refused() {
        assert!(matches!(take(b"sendevent X\nContent-Length: -1\n\n").0, Err(FrameError::BadLength(_))));
        assert!(matches!(
            take(b"sendevent X\nContent-Length: 16777217\n\n").0,
            Err(FrameError::BadLength(_))
        ));
        assert!(take(b"sendevent X\nContent-Length: 16777216\n\n").0.unwrap().is_none());
        assert_eq!(take(b"sendevent X\nContent-Length: abc\n\n").0.unwrap().unwrap().body, None);
        // atoi: a plus sign, leading blanks and trailing junk are all fine; -0 is 0.
        let (c, _) = take(b"sendevent X\nContent-Length: +5\n\nhelloapi");
        assert_eq!(c.unwrap().unwrap().body.as_deref(), Some(&b"hello"[..]));
        let (c, _) = take(b"sendevent X\nContent-Length: \t 3xyz\n\nabc");
        assert_eq!(c.unwrap().unwrap().body.as_deref(), Some(&b"abc"[..]));
        assert_eq!(take(b"sendevent X\nContent-Length: -0\n\n").0.unwrap().unwrap().body, None);
        assert_eq!(take(b"api st\ratus\n\n").0, Err(FrameError::ControlBytes));
        assert_eq!(take(b"api \0\n\n").0, Err(FrameError::ControlBytes));
        let c = take(b"api st\xffatus\n\n").0.unwrap().unwrap();
        assert_eq!(c.raw_line, b"api st\xffatus");
        assert_eq!(c.line, "api st\u{fffd}atus");
        let long = vec![b'a'; MAX_HEADER_BLOCK + 2];
        assert_eq!(take(&long).0, Err(FrameError::TooLong));
    }

    #[test]
    fn prefix_is_case_insensitive() {
        assert!(has_prefix("EVENTS plain ALL", "event"));
        assert!(!has_prefix("ev", "event"));
        assert!(!has_prefix("é", "e"));
    }
}
