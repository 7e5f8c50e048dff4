//! Shared by the esl_* integration tests: a raw TCP client that sees the mock's exact bytes.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use eslmatrix_sim::fs::wire;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Generous: only hit when the mock fails to answer (tokio time, so paused tests skip it).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// One message as received: headers (raw), body and the exact bytes.
#[derive(Debug)]
pub struct Msg {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub bytes: Vec<u8>,
}

impl Msg {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        Raw::from_stream(TcpStream::connect(addr).await.expect("connect"))
    }

    /// A socket the mock connected to (outbound mode).
    pub fn from_stream(stream: TcpStream) -> Raw {
        Raw { stream, buf: Vec::new() }
    }

    /// Connects, reads the greeting and logs in with ClueCon.
    pub async fn login(addr: SocketAddr) -> Raw {
        let mut raw = Raw::connect(addr).await;
        assert_eq!(raw.next().await.bytes, b"Content-Type: auth/request\n\n");
        raw.send(b"auth ClueCon\n\n").await;
        assert_eq!(raw.next().await.header("Reply-Text"), Some("+OK accepted"));
        raw
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Sends a command and returns the next message (which must be its reply: use only
    /// when no events can be in flight).
    pub async fn cmd(&mut self, line: &str) -> Msg {
        self.send(format!("{line}\n\n").as_bytes()).await;
        self.next().await
    }

    /// The next complete message; panics on EOF.
    pub async fn next(&mut self) -> Msg {
        self.try_next().await.expect("connection closed before a complete message")
    }

    /// The next complete message, or `None` at EOF.
    pub async fn try_next(&mut self) -> Option<Msg> {
        loop {
            if let Some((headers, body, used)) = wire::split_message(&self.buf).expect("valid ESL") {
                let bytes: Vec<u8> = self.buf.drain(..used).collect();
                return Some(Msg { headers, body, bytes });
            }
            self.buf.reserve(65536);
            let n = timeout(PATIENCE, self.stream.read_buf(&mut self.buf))
                .await
                .expect("mock went silent")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
        }
    }

    /// Everything until the mock closes the socket (a reset counts as a close).
    pub async fn rest(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        loop {
            out.reserve(65536);
            match timeout(PATIENCE, self.stream.read_buf(&mut out)).await.expect("mock never closed") {
                Ok(0) | Err(_) => return out,
                Ok(_) => {}
            }
        }
    }
}

pub const GOODBYE_NOTICE: &[u8] = b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\nDisconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

/// A `command/reply` with this Reply-Text, as bytes.
pub fn reply(text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n").into_bytes()
}

/// send_disconnect's notice for a listener with a session (mod_event_socket.c), as bytes.
pub fn disconnect(uuid: &str) -> Vec<u8> {
    let mut out = format!(
        "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\n\
         Content-Disposition: disconnect\nContent-Length: {}\n\n",
        wire::GOODBYE.len()
    )
    .into_bytes();
    out.extend_from_slice(wire::GOODBYE.as_bytes());
    out
}

/// `api status` output compared with the model's, ignoring the first (uptime) line, which
/// moves with the clock between the two calls.
pub fn assert_status(got: Option<&str>, model: &str) {
    let got = got.expect("a status body");
    let (got_up, got_rest) = got.split_once('\n').expect("multi-line status");
    let (model_up, model_rest) = model.split_once('\n').expect("multi-line status");
    assert!(got_up.starts_with("UP ") && model_up.starts_with("UP "), "{got_up:?} / {model_up:?}");
    assert_eq!(got_rest, model_rest);
}

/// freeswitch-esl-tokio helpers shared by the tests that use the library as their client.
pub mod library {
    use std::time::Duration;

    use freeswitch_esl_tokio::{EslClient, EslEvent, EslEventStream};
    use tokio::time::timeout;

    pub async fn api(c: &EslClient, cmd: &str) -> String {
        c.api(cmd).await.expect("api answers").body().unwrap_or_default().to_string()
    }

    /// `originate …` answered `+OK UUID`: the UUID.
    pub async fn originate(c: &EslClient, cmd: &str) -> String {
        let out = api(c, cmd).await;
        out.strip_prefix("+OK ").unwrap_or_else(|| panic!("{cmd}: {out}")).trim().to_string()
    }

    /// Events until `pred` holds for one (which is returned last).
    pub async fn until(events: &mut EslEventStream, pred: impl Fn(&EslEvent) -> bool) -> Vec<EslEvent> {
        let mut seen = Vec::new();
        loop {
            let ev = timeout(Duration::from_secs(30), events.recv())
                .await
                .expect("event in time")
                .expect("stream open")
                .expect("event parses");
            let done = pred(&ev);
            seen.push(ev);
            if done {
                return seen;
            }
        }
    }

    /// The event is `name` for the channel `uuid`.
    pub fn is(ev: &EslEvent, name: &str, uuid: &str) -> bool {
        ev.header_str("Event-Name") == Some(name) && ev.header_str("Unique-ID") == Some(uuid)
    }
}
