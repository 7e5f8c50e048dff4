//! Responses to requests (RFC 3261 §8.2.6), shared by the registrar and the call side.

use std::net::SocketAddr;

use super::message::{self, Message, StartLine};
use super::transport::Link;

/// Methods the profile accepts (`Allow` of its answers; sofia's list less SUBSCRIBE,
/// NOTIFY, PUBLISH and PRACK, which the mock does not serve).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER";

/// A response to `req`: its Vias (the top one with `received` and, when asked, `rport`
/// of the peer, RFC 3581), From, To with our tag, Call-ID, CSeq, and `User-Agent`.
pub fn response(req: &Message, link: &Link, status: u16, reason: &str, agent: &str) -> Message {
    let mut resp = Message {
        start: StartLine::Response { status, reason: reason.to_string() },
        headers: Vec::with_capacity(8),
        body: Vec::new(),
    };
    for (i, via) in req.values("Via").enumerate() {
        if i == 0 {
            resp.push("Via", received_via(via, link.peer));
        } else {
            resp.push("Via", via);
        }
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = req.header(name) {
            let v = if name == "To" && status > 100 && message::param(v, "tag").is_none() {
                format!("{v};tag={}", to_tag(req))
            } else {
                v.to_string()
            };
            resp.push(name, v);
        }
    }
    resp.push("User-Agent", agent);
    resp
}

/// The tag we put in To: stable for one request, so a retransmission gets the same.
pub fn to_tag(req: &Message) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (req.header("Call-ID"), req.header("From"), req.cseq().map(|c| c.0)).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Whether a response to this head can be addressed: it has the headers one copies.
pub fn sendable(head: &Message) -> bool {
    ["Via", "From", "To", "Call-ID", "CSeq"].iter().all(|h| head.header(h).is_some())
}

/// The top Via with `received` (always, as sofia-sip's `nta` adds it when the host
/// differs, and harmlessly when it does not) and `rport` filled in when the client
/// asked for it (RFC 3581 §4).
pub fn received_via(via: &str, peer: SocketAddr) -> String {
    let (main, params) = message::params(via);
    let mut out = main.to_string();
    let mut had_received = false;
    for (n, v) in params {
        if n.eq_ignore_ascii_case("rport") {
            out.push_str(&format!(";rport={}", peer.port()));
        } else if n.eq_ignore_ascii_case("received") {
            had_received = true;
            out.push_str(&format!(";received={}", peer.ip()));
        } else {
            match v {
                Some(v) => out.push_str(&format!(";{n}={v}")),
                None => out.push_str(&format!(";{n}")),
            }
        }
    }
    if !had_received {
        out.push_str(&format!(";received={}", peer.ip()));
    }
    out
}

/// The reason phrase RFC 3261 §21 gives a status (the ones the mock sends).
pub fn phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_and_rport_are_filled_from_the_peer() {
        let peer: SocketAddr = "10.0.0.9:40000".parse().unwrap();
        assert_eq!(
            received_via("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport", peer),
            "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;rport=40000;received=10.0.0.9"
        );
        assert_eq!(
            received_via("SIP/2.0/TCP h;received=1.1.1.1;branch=z9hG4bK2", peer),
            "SIP/2.0/TCP h;received=10.0.0.9;branch=z9hG4bK2"
        );
    }
}
