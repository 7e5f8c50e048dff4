//! Outbound mode: the dialer behind the `socket` application and the state of a session it
//! opens. mod_event_socket.c `socket_function` connects to each `host:port` in turn; the
//! connected socket then runs `listener_run` with the session already authenticated and
//! bound to the channel. Here the session is the same `connection` code inbound clients
//! get; this module connects, and lets the channel go (whatever ends the session) so its
//! dialplan goes on or, after a hangup, its CHANNEL_DESTROY comes.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::connection;
use super::pbx::socket_app::{SocketControl, SocketRequest};
use super::pbx::Pbx;
use super::shared::Shared;

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
    pbx: Pbx,
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

/// Connects a `socket` call's targets in order and serves the first that accepts; when
/// none does, the application returns ("Socket Error!") and the dialplan goes on.
pub(crate) async fn dial(request: SocketRequest, id: u64, shared: Arc<Shared>) {
    let SocketRequest { uuid, args, control } = request;
    let pbx = shared.pbx.clone();
    // Made first, so the channel is let go however this task ends (a restart aborts it).
    let outbound = Outbound {
        uuid: uuid.clone(),
        control,
        async_mode: args.async_mode,
        full: args.full,
        connected: false,
        disco_handled: false,
        linger_until: None,
        pbx: pbx.clone(),
    };
    let mut errors = Vec::new();
    for target in &args.targets {
        pbx.socket_trying(&uuid, &target.host);
        match timeout(CONNECT_TIMEOUT, TcpStream::connect((target.host.as_str(), target.port))).await {
            Ok(Ok(stream)) => return connection::serve_outbound(stream, id, shared, outbound).await,
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(_) => errors.push("Connection timed out".to_string()),
        }
    }
    tracing::info!(%uuid, "socket: no target accepted ({})", errors.join("; "));
    pbx.socket_failed(&uuid, &errors);
}
