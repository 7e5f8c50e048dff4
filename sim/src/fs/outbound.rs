//! Outbound mode: the state of a session the `socket` application opens. mod_event_socket.c
//! `socket_function` connects to each `host:port` in turn (`fs::dialer`); the connected
//! socket then runs `listener_run` with the session already authenticated and bound to the
//! channel. Here the session is the same `connection` code inbound clients get, holding an
//! [`Outbound`] and the [`super::session_hold::SessionHold`] whose drop lets the channel go
//! (whatever ends the session) so its dialplan goes on or, after a hangup, its
//! CHANNEL_DESTROY comes.

use std::time::Duration;

/// How long one `host:port` may take to accept. FreeSWITCH waits for the kernel's connect
/// timeout; the mock gives up sooner so a black-holed target costs a call seconds, not
/// minutes. The model itself never waits: the call blocks in `socket` meanwhile.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An outbound session's part of the listener (`LFLAG_OUTBOUND` and friends).
pub(crate) struct Outbound {
    /// LFLAG_ASYNC: the channel parks after `connect`; commands return at once.
    pub async_mode: bool,
    /// LFLAG_FULL: the whole inbound command set.
    pub full: bool,
    /// LFLAG_CONNECTED: `connect` was answered.
    pub connected: bool,
}
