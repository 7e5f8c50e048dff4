//! `listener->session`: the read lock a listener keeps on its channel until listener_run
//! ends (mod_event_socket.c releases it with `switch_core_session_rwunlock` last), which
//! the channel's destroy waits for (`switch_core_session_destroy` needs the write lock).
//! An outbound session holds its channel from the start; an inbound listener takes the
//! lock with `myevents UUID`. Both see the hangup the same way, in read_packet: the linger
//! notice, or the end of the session.

use std::sync::Arc;

use tokio::time::Instant;

use super::pbx::socket_app::SocketControl;
use super::pbx::Pbx;

/// Who took the lock, and so what letting go does.
pub(crate) enum Holder {
    /// A `socket` session: the application returns (UNPARK first in async mode).
    Socket { async_mode: bool },
    /// An inbound `myevents UUID`: only the lock goes.
    Bound,
}

/// A listener's hold on its channel. Dropping it lets the channel go.
pub(crate) struct SessionHold {
    /// The held channel.
    pub uuid: String,
    /// Marked down by the channel's hangup.
    pub control: Arc<SocketControl>,
    /// LFLAG_HANDLE_DISCO: the hangup was seen and answered (linger notice or disconnect).
    pub disco_handled: bool,
    /// `linger N`: when the socket closes after the hangup.
    pub linger_until: Option<Instant>,
    pub holder: Holder,
    pub(crate) pbx: Pbx,
}

impl SessionHold {
    /// Whether the listener still waits for its channel's hangup.
    pub fn watching(&self) -> bool {
        !self.disco_handled
    }
}

impl Drop for SessionHold {
    fn drop(&mut self) {
        match self.holder {
            Holder::Socket { async_mode } => self.pbx.socket_released(&self.uuid, async_mode),
            Holder::Bound => self.pbx.bound_released(&self.uuid, &self.control),
        }
    }
}
