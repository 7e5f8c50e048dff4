//! Outbound mode: the state of a session the `socket` application opens. mod_event_socket.c
//! `socket_function` connects to each `host:port` in turn (`fs::dialer`); the connected
//! socket then runs `listener_run` with the session already authenticated and bound to the
//! channel. Here the session is the same `connection` code inbound clients get, holding an
//! [`Outbound`]; dropping it lets the channel go (whatever ends the session) so its dialplan
//! goes on or, after a hangup, its CHANNEL_DESTROY comes.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::pbx::socket_app::SocketControl;
use super::pbx::Pbx;

/// How long one `host:port` may take to accept. FreeSWITCH waits for the kernel's connect
/// timeout; the mock gives up sooner so a black-holed target costs a call seconds, not
/// minutes. The model itself never waits: the call blocks in `socket` meanwhile.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An outbound session's part of the listener (`LFLAG_OUTBOUND` and friends). Dropping it
/// lets the channel go.
pub(crate) struct Outbound {
    /// The controlled channel (`listener->session`).
    pub uuid: String,
    pub control: Arc<SocketControl>,
    /// LFLAG_ASYNC: the channel parks after `connect`; commands return at once.
    pub async_mode: bool,
    /// LFLAG_FULL: the whole inbound command set.
    pub full: bool,
    /// LFLAG_CONNECTED: `connect` was answered.
    pub connected: bool,
    /// LFLAG_HANDLE_DISCO: the hangup was seen and answered (linger notice or disconnect).
    pub disco_handled: bool,
    /// `linger N`: when the socket closes after the hangup.
    pub linger_until: Option<Instant>,
    pub(crate) pbx: Pbx,
}

impl Outbound {
    /// Whether the session still waits for its channel's hangup.
    pub fn watching(&self) -> bool {
        !self.disco_handled
    }
}

impl Drop for Outbound {
    fn drop(&mut self) {
        self.pbx.socket_released(&self.uuid, self.async_mode);
    }
}
