//! The `socket` dialplan application (mod_event_socket.c `SWITCH_STANDARD_APP(socket_function)`)
//! on the model's side: the call blocks in the application while the server's dialer connects
//! out, then a controlling session (`fs::outbound`) drives it.
//!
//! The model never waits on the network: `socket` hands a [`SocketRequest`] to a bounded
//! queue and blocks the channel; the dialer reports back with [`super::Pbx::socket_failed`]
//! (the application returns and the dialplan goes on, as `socket_function` returns after
//! "Socket Error!") or runs the session and ends it with [`super::Pbx::socket_released`].
//!
//! A controlled channel's CHANNEL_DESTROY waits for its session: `listener_run` holds the
//! session's read lock until it is done, and `switch_core_session_destroy` needs the write
//! lock. Hangup marks the [`SocketControl`] down instead, which the session sees. An
//! inbound listener bound with `myevents UUID` holds the same lock (parse_command's
//! `switch_core_session_locate`) and gets a control of its own the same way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use super::{logs, Event, Site, State};

/// `socket_function`'s default port (`switch_port_t port = 8084`).
pub const DEFAULT_PORT: u16 = 8084;
/// Calls that reached `socket` and wait for the dialer; one more fails as a refused connect.
pub(crate) const PENDING_SOCKETS: usize = 1024;

const SITE_SOCKET: Site = ("mod_event_socket.c", "socket_function", 452);
const SITE_SOCKET_ERROR: Site = ("mod_event_socket.c", "socket_function", 486);
const SITE_SOCKET_FAILED: Site = ("mod_event_socket.c", "socket_function", 490);
const SITE_PARSE_ERROR: Site = ("mod_event_socket.c", "socket_function", 438);
/// `connect`'s reply is a CHANNEL_DATA event created in `parse_command`.
const SITE_CONNECT: Site = ("mod_event_socket.c", "parse_command", 2029);

/// One `host[:port]` of the application's `|`-separated list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketTarget {
    /// Host name or address, as given.
    pub host: String,
    /// Port: the last `:N` (C's `atoi`, cast to a 16-bit port), else the previous host's.
    pub port: u16,
}

/// The application's arguments: `host:port[|host:port…] [async] [full]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketArgs {
    /// Tried in order until one connects.
    pub targets: Vec<SocketTarget>,
    /// `async`: commands return at once and the channel parks (LFLAG_ASYNC).
    pub async_mode: bool,
    /// `full`: the whole inbound command set (LFLAG_FULL); else single-channel.
    pub full: bool,
    /// `/path` after the port, kept in `socket_path`.
    pub path: Option<String>,
}

impl SocketArgs {
    /// `socket_function`'s parsing: words split on spaces, hosts on `|`, the port after the
    /// last `:`, a path after the first `/` of the port (or host); `async`/`full`
    /// case-insensitive anywhere after the first word. `None`: no word at all ("Parse Error!").
    pub fn parse(data: &str) -> Option<SocketArgs> {
        let mut argv = data.split(' ').filter(|w| !w.is_empty());
        let first = argv.next()?;
        let (mut async_mode, mut full) = (false, false);
        for word in argv {
            full |= word.eq_ignore_ascii_case("full");
            async_mode |= word.eq_ignore_ascii_case("async");
        }
        let mut port = DEFAULT_PORT;
        let mut path = None;
        let mut targets = Vec::new();
        for host in first.split('|').filter(|h| !h.is_empty()) {
            let (mut host, mut port_name) = match host.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.to_string())),
                None => (host.to_string(), None),
            };
            if let Some(p) = &port_name {
                // (switch_port_t) atoi(port_name): the low 16 bits.
                port = super::atol(p) as u16;
            }
            let tail = port_name.as_mut().unwrap_or(&mut host);
            if let Some((before, after)) = tail.split_once('/') {
                path = Some(after.to_string());
                *tail = before.to_string();
            }
            targets.push(SocketTarget { host, port });
        }
        Some(SocketArgs { targets, async_mode, full, path })
    }
}

/// A call that reached `socket`: what the server's dialer connects and serves.
#[derive(Debug)]
pub struct SocketRequest {
    /// The controlled channel.
    pub uuid: String,
    /// Where to connect and how to serve.
    pub args: SocketArgs,
    /// Shared with the channel: its hangup reaches the session through it.
    pub control: Arc<SocketControl>,
}

/// What a controlled channel and its session share.
#[derive(Debug, Default)]
pub struct SocketControl {
    down: AtomicBool,
    /// Woken when the channel goes down.
    pub notify: Notify,
    /// Woken when an application of the channel returns (a sync-mode `sendmsg` waits).
    pub app_done: Notify,
}

impl SocketControl {
    /// `switch_channel_down`: the channel is hanging up (or gone).
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    fn set_down(&self) {
        self.down.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

impl State {
    /// The application itself: true when the channel now blocks in it, waiting for the
    /// dialer; false when it returned at once (parse error, no dialer, queue full).
    pub(super) fn socket_app(&mut self, uuid: &str, data: &str) -> bool {
        let Some(args) = SocketArgs::parse(data) else {
            self.log(logs::ERR, logs::ID_LOG, SITE_PARSE_ERROR, uuid, "Parse Error!\n");
            return false;
        };
        let Some(first) = args.targets.first().cloned() else {
            self.log(logs::ERR, logs::ID_LOG, SITE_SOCKET_FAILED, uuid, "Socket Error!\n");
            return false;
        };
        if let Some(ch) = self.chan_mut(uuid) {
            if let Some(path) = &args.path {
                ch.set_var("socket_path", path.clone());
            }
            ch.set_var("socket_host", first.host);
        }
        let control = Arc::new(SocketControl::default());
        let request = SocketRequest { uuid: uuid.to_string(), args, control: control.clone() };
        let queued = self.sockets.as_ref().is_some_and(|tx| tx.try_send(request).is_ok());
        if !queued {
            self.log(logs::ERR, logs::ID_LOG, SITE_SOCKET_FAILED, uuid, "Socket Error!\n");
            return false;
        }
        if let Some(ch) = self.chan_mut(uuid) {
            ch.controller = Some(control);
        }
        true
    }

    /// At hangup: a controlled or bound channel stays (CS_REPORTING) until every session
    /// holding it lets go.
    pub(super) fn socket_holds(&mut self, uuid: &str) -> bool {
        let Some(ch) = self.chan(uuid) else { return false };
        for control in ch.controller.iter().chain(&ch.bound) {
            control.set_down();
        }
        ch.controller.is_some() || !ch.bound.is_empty()
    }

    /// A hung-up channel nobody holds any more is destroyed.
    fn reap_if_free(&mut self, uuid: &str) {
        if self.chan(uuid).is_some_and(|c| c.hungup && c.controller.is_none() && c.bound.is_empty()) {
            self.reap(&[uuid.to_string()]);
        }
    }

    /// The application returns without a session: the next action runs (or the call ends
    /// as an extension that ran out does), unless the call hung up meanwhile.
    fn socket_done(&mut self, uuid: &str, was_parked: bool) {
        let Some(ch) = self.chan_mut(uuid) else { return };
        if ch.controller.take().is_none() {
            return;
        }
        if ch.hungup {
            self.reap_if_free(uuid);
            return;
        }
        if was_parked {
            self.unpark(uuid);
        }
        self.finish_app(uuid);
        self.resume(uuid);
    }

    /// `CHANNEL_DATA` as `connect` answers it: the profile once more with the `Channel-`
    /// prefix (`switch_caller_profile_event_set_data(…, "Channel", …)`), then the channel data.
    fn connect_data(&mut self, uuid: &str) -> Event {
        let mut ev = self.event_at("CHANNEL_DATA", SITE_CONNECT);
        if let Some(ch) = self.chan(uuid) {
            ch.add_profile(&mut ev, "Channel");
            let peer = ch.peer.as_ref().and_then(|(p, _)| self.chan(p));
            ch.add_event_data(&mut ev, peer);
        }
        ev
    }

    /// `switch_channel_get_variable`: the channel's variables, then its caller-profile
    /// fields, then the globals.
    fn channel_variable(&self, uuid: &str, name: &str) -> Option<String> {
        let ch = self.chan(uuid)?;
        if let Some(v) = ch.var(name) {
            return Some(v.to_string());
        }
        let p = &ch.profile;
        let field = match name {
            "destination_number" => Some(&p.dest),
            "caller_id_number" | "ani" => Some(&p.cid_num),
            "caller_id_name" => Some(&p.cid_name),
            "context" => Some(&p.context),
            "network_addr" => Some(&p.network_addr),
            "username" => Some(&p.username),
            "uuid" => Some(&ch.uuid),
            "chan_name" => Some(&ch.name),
            _ => None,
        };
        match field {
            Some(v) if !v.is_empty() => Some(v.clone()),
            _ => self.globals.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        }
    }
}

impl super::Pbx {
    /// Where `socket` hands its calls; the server's dialer takes them from the receiver.
    pub(crate) fn attach_sockets(&self) -> mpsc::Receiver<SocketRequest> {
        let (tx, rx) = mpsc::channel(PENDING_SOCKETS);
        self.lock().sockets = Some(tx);
        rx
    }

    /// The dialer tries a host ("Trying host: …").
    pub(crate) fn socket_trying(&self, uuid: &str, host: &str) {
        let mut state = self.lock();
        if let Some(ch) = state.chan_mut(uuid) {
            ch.set_var("socket_host", host);
        }
        state.log(logs::NOTICE, logs::ID_LOG, SITE_SOCKET, uuid, &format!("Trying host: {host}\n"));
    }

    /// No host connected: "Socket Error: …" per failure, "Socket Error!", and the
    /// application returns.
    pub(crate) fn socket_failed(&self, uuid: &str, errors: &[String]) {
        let mut state = self.lock();
        for e in errors {
            state.log(logs::ERR, logs::ID_LOG, SITE_SOCKET_ERROR, uuid, &format!("Socket Error: {e}\n"));
        }
        state.log(logs::ERR, logs::ID_LOG, SITE_SOCKET_FAILED, uuid, "Socket Error!\n");
        state.socket_done(uuid, false);
    }

    /// The `connect` reply's event, without its protocol headers (only the common ones
    /// when the channel is gone).
    pub(crate) fn socket_connect_data(&self, uuid: &str) -> Event {
        self.lock().connect_data(uuid)
    }

    /// `socket_function` in async mode, once the session is connected: `switch_ivr_park`.
    pub(crate) fn socket_park(&self, uuid: &str) {
        let mut state = self.lock();
        if state.chan(uuid).is_some_and(|c| !c.hungup) {
            state.park(uuid);
        }
    }

    /// The session ended: a hung-up channel is destroyed now; a live one leaves the
    /// application (UNPARK first in async mode) and its dialplan goes on.
    pub(crate) fn socket_released(&self, uuid: &str, async_mode: bool) {
        self.lock().socket_done(uuid, async_mode);
    }

    /// Whether the channel is inside an application other than `socket` itself (one a
    /// sync-mode `sendmsg` started and that blocks: park, a bridge that is up, echo).
    pub(crate) fn in_other_app(&self, uuid: &str) -> bool {
        self.lock().chan(uuid).is_some_and(|c| !c.hungup && c.app_running && c.application != "socket")
    }

    /// `getvar`'s lookup; `None` when unset (or the channel is gone).
    pub(crate) fn channel_variable(&self, uuid: &str, name: &str) -> Option<String> {
        self.lock().channel_variable(uuid, name)
    }

    /// Sets a channel variable (`resume` sets `socket_resume`).
    pub(crate) fn set_channel_variable(&self, uuid: &str, name: &str, value: &str) {
        self.lock().set_var(uuid, name, value);
    }

    /// `myevents UUID`'s `switch_core_session_locate`: a read lock on a live channel, seen
    /// as a control of its own. `Err(true)`: the channel exists but is down, which
    /// `switch_core_session_read_lock` refuses (`switch_channel_down_nosig`); `Err(false)`:
    /// no such channel.
    pub(crate) fn bind(&self, uuid: &str) -> Result<Arc<SocketControl>, bool> {
        let mut state = self.lock();
        let ch = state.chan_mut(uuid).ok_or(false)?;
        if ch.hungup {
            return Err(true);
        }
        let control = Arc::new(SocketControl::default());
        ch.bound.push(control.clone());
        Ok(control)
    }

    /// A bound listener ended (`switch_core_session_rwunlock` at the end of listener_run):
    /// the last holder of a hung-up channel lets its CHANNEL_DESTROY come.
    pub(crate) fn bound_released(&self, uuid: &str, control: &Arc<SocketControl>) {
        let mut state = self.lock();
        let Some(ch) = state.chan_mut(uuid) else { return };
        ch.bound.retain(|c| !Arc::ptr_eq(c, control));
        state.reap_if_free(uuid);
    }

    /// The channel's name (the linger notice carries it).
    pub(crate) fn channel_name(&self, uuid: &str) -> Option<String> {
        self.lock().chan(uuid).map(|c| c.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: u16) -> SocketTarget {
        SocketTarget { host: host.into(), port }
    }

    /// mod_event_socket.c socket_function: `strrchr(host, ':')`, `atoi`, a port that carries
    /// over to the next host, `strchr(port, '/')` for the path, keywords anywhere.
    #[test]
    fn arguments_parse_as_socket_function_does() {
        let a = SocketArgs::parse("127.0.0.1:8040 async full").unwrap();
        assert_eq!(a.targets, [target("127.0.0.1", 8040)]);
        assert!(a.async_mode && a.full);
        let a = SocketArgs::parse("a:9000|b|::1:8021/x/y FULL").unwrap();
        assert_eq!(a.targets, [target("a", 9000), target("b", 9000), target("::1", 8021)]);
        assert_eq!(a.path.as_deref(), Some("x/y"));
        assert!(a.full && !a.async_mode);
        assert_eq!(SocketArgs::parse("localhost").unwrap().targets, [target("localhost", 8084)]);
        assert_eq!(SocketArgs::parse("h:70000").unwrap().targets, [target("h", 4464)]);
        assert_eq!(SocketArgs::parse("  "), None);
    }
}
