//! What a SIP transport gives the core and gets from it.
//!
//! A transport (UDP and TCP here in `listen`; WebSocket and WSS in their own files) owns
//! its sockets and framing. For each message it read it calls [`SipCore::receive`] with
//! the bytes of exactly one SIP message and the [`Link`] it came on; the core parses,
//! answers and relays through [`Link::send`], which never blocks. A connection transport
//! (TCP, WS, WSS) makes one [`Link`] per connection with [`Link::stream`] and keeps the
//! [`Connection`] that [`SipCore::connect`] returns for as long as the connection is
//! open: the core then sends responses, and requests to a device registered over that
//! connection, back on the same connection (RFC 3261 §18.2.2, RFC 5626, RFC 7118 §5.3),
//! and dropping the `Connection` tells the core it closed. A listener that is really
//! bound reports it with [`SipCore::bind`], so `sofia status` lists only what is open.
//!
//! Bounds: a stream link's outgoing queue holds at most [`LINK_QUEUE`] messages; a
//! message that finds it full is dropped and counted (the writer is not keeping up; on
//! a reliable transport sofia would close such a connection). UDP sends are
//! `try_send_to`: a full socket buffer drops the datagram, as the network may.
//!
//! [`SipCore::receive`]: super::SipCore::receive
//! [`SipCore::connect`]: super::SipCore::connect
//! [`SipCore::bind`]: super::SipCore::bind

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

pub use crate::fs::pbx::Transport;

/// Messages waiting to be written on one stream link (TCP, WS or WSS connection).
pub const LINK_QUEUE: usize = 256;

/// Where a link's outgoing messages go.
#[derive(Clone, Debug)]
enum Out {
    /// The listening UDP socket: each message is one datagram to the peer.
    Datagram(Arc<UdpSocket>),
    /// The connection's writer task: each item is one whole SIP message (a WebSocket
    /// transport writes each as one text frame, RFC 7118 §5.1).
    Stream(mpsc::Sender<Vec<u8>>),
}

/// One way to reach a peer: the transport, both addresses, and the way back.
#[derive(Clone, Debug)]
pub struct Link {
    /// How the peer reached us (`Via` transport, the registry's transport column).
    pub transport: Transport,
    /// The peer's source address: `received` / `rport` (RFC 3581) and where answers go.
    pub peer: SocketAddr,
    /// The local address the message arrived on (our `Via` / `Contact` host).
    pub local: SocketAddr,
    out: Out,
    dropped: Arc<AtomicU64>,
}

impl Link {
    /// A UDP peer: answers go from `socket` (the one the request arrived on) to `peer`.
    /// `local` is the socket's bound address; on `0.0.0.0` or `[::]` the link's
    /// [`Link::local`] is the address the peer reaches us at ([`reachable_from`]).
    pub fn datagram(socket: Arc<UdpSocket>, local: SocketAddr, peer: SocketAddr) -> Link {
        let local = reachable_from(local, peer);
        Link { transport: Transport::Udp, peer, local, out: Out::Datagram(socket), dropped: Arc::default() }
    }

    /// A connection (TCP, WS, WSS): the connection's writer task reads `tx`'s receiver
    /// (made with `mpsc::channel(LINK_QUEUE)`) and writes each item as one message.
    pub fn stream(
        transport: Transport,
        local: SocketAddr,
        peer: SocketAddr,
        tx: mpsc::Sender<Vec<u8>>,
    ) -> Link {
        let local = reachable_from(local, peer);
        Link { transport, peer, local, out: Out::Stream(tx), dropped: Arc::default() }
    }

    /// Whether the transport is connection-oriented (TCP, TLS, WS, WSS).
    pub fn is_stream(&self) -> bool {
        matches!(self.out, Out::Stream(_))
    }

    /// Sends one whole message without waiting; false when it was dropped (queue full,
    /// connection gone, socket buffer full).
    pub fn send(&self, bytes: Vec<u8>) -> bool {
        let sent = match &self.out {
            Out::Datagram(socket) => socket.try_send_to(&bytes, self.peer).is_ok(),
            Out::Stream(tx) => tx.try_send(bytes).is_ok(),
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Messages this link could not send since it was made.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A UDP link to another peer from the same socket (the core reaching a device
    /// registered over UDP); `None` for stream links, which reach only their own peer.
    pub fn to_peer(&self, peer: SocketAddr) -> Option<Link> {
        match &self.out {
            // From the socket's bound address: on `0.0.0.0` another peer may reach us at
            // another of our addresses than this link's peer does.
            Out::Datagram(s) => Some(Link::datagram(s.clone(), s.local_addr().unwrap_or(self.local), peer)),
            Out::Stream(_) => None,
        }
    }

    /// The key a connection is found by: transport and peer address.
    pub(crate) fn key(&self) -> (Transport, SocketAddr) {
        (self.transport, self.peer)
    }
}

/// Routes remembered by [`reachable_from`]; past this many the memory starts afresh.
pub const ROUTE_CACHE: usize = 1024;

/// The address `peer` reaches us at when we listen on `bound`: `bound` itself, unless it
/// is the unspecified address (`--sip 0.0.0.0:5060`, so phones on the LAN can register).
/// Then it is the source address the kernel would pick to send to `peer` (a UDP socket
/// connected to it, nothing sent), with `bound`'s port: what our Via and Contact must
/// name, or the phone sends its ACK and BYE to `0.0.0.0`. FreeSWITCH needs no such thing,
/// as its `sip-ip` is always one address. Falls back to `bound` when no route is found.
pub fn reachable_from(bound: SocketAddr, peer: SocketAddr) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    static ROUTES: OnceLock<Mutex<HashMap<IpAddr, IpAddr>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Mutex::default);
    let known = routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&peer.ip()).copied();
    if let Some(ip) = known {
        return SocketAddr::new(ip, bound.port());
    }
    let any = SocketAddr::new(bound.ip(), 0);
    let probe = std::net::UdpSocket::bind(any).and_then(|s| {
        s.connect(peer)?;
        s.local_addr()
    });
    let Ok(found) = probe else { return bound };
    let mut map = routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= ROUTE_CACHE {
        map.clear();
    }
    map.insert(peer.ip(), found.ip());
    SocketAddr::new(found.ip(), bound.port())
}

/// What a [`Connection`] or [`Binding`] tells the core when it is dropped; the core
/// implements it, so this file never names the core.
pub(crate) trait Owner: Send + Sync {
    /// The connection of `link` closed.
    fn disconnected(&self, link: &Link);
    /// The listener at `addr` closed.
    fn unbind(&self, transport: Transport, addr: SocketAddr);
}

/// A connection the core knows; dropping it tells the core the connection closed.
#[must_use = "the core forgets the connection when this is dropped"]
pub struct Connection {
    pub(crate) link: Link,
    pub(crate) owner: Arc<dyn Owner>,
}

impl Connection {
    /// The link this connection's messages arrive on; pass it to `SipCore::receive`.
    pub fn link(&self) -> &Link {
        &self.link
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.owner.disconnected(&self.link);
    }
}

/// A listener the core reports in `sofia status`; dropping it removes the binding.
#[must_use = "the binding disappears from sofia status when this is dropped"]
pub struct Binding {
    pub(crate) transport: Transport,
    pub(crate) addr: SocketAddr,
    pub(crate) owner: Arc<dyn Owner>,
}

impl Drop for Binding {
    fn drop(&mut self) {
        self.owner.unbind(self.transport, self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A phone must be told an address it can send to: with the profile on 0.0.0.0 a
    // peer on loopback reaches us at 127.0.0.1, on the listener's port.
    #[test]
    fn the_unspecified_address_becomes_the_one_the_peer_reaches() {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(reachable_from("0.0.0.0:5060".parse().unwrap(), peer), "127.0.0.1:5060".parse().unwrap());
        let bound: SocketAddr = "127.0.0.1:5062".parse().unwrap();
        assert_eq!(reachable_from(bound, peer), bound);
        // No route from an IPv4 socket to an IPv6 peer: the bound address stays.
        let v6: SocketAddr = "[::1]:40000".parse().unwrap();
        assert_eq!(reachable_from("0.0.0.0:5060".parse().unwrap(), v6), "0.0.0.0:5060".parse().unwrap());
    }
}
