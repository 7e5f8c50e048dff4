//! The dialer behind the `socket` application: connects a call's targets in turn, as
//! mod_event_socket.c `socket_function` does, and hands the first that accepts to the
//! connection code as an outbound session. Above `connection` and `outbound`, so neither
//! names the other's caller.

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::connection;
use super::outbound::{Outbound, CONNECT_TIMEOUT};
use super::pbx::socket_app::SocketRequest;
use super::session_hold::{Holder, SessionHold};
use super::shared::Shared;

/// Connects a `socket` call's targets in order and serves the first that accepts; when
/// none does, the application returns ("Socket Error!") and the dialplan goes on.
pub(crate) async fn dial(request: SocketRequest, id: u64, shared: Arc<Shared>) {
    let SocketRequest { uuid, args, control } = request;
    let pbx = shared.pbx.clone();
    // Made first, so the channel is let go however this task ends (a restart aborts it).
    let hold = SessionHold {
        uuid: uuid.clone(),
        control,
        disco_handled: false,
        linger_until: None,
        holder: Holder::Socket { async_mode: args.async_mode },
        pbx: pbx.clone(),
    };
    let outbound = Outbound { async_mode: args.async_mode, full: args.full, connected: false };
    let mut errors = Vec::new();
    for target in &args.targets {
        pbx.socket_trying(&uuid, &target.host);
        match timeout(CONNECT_TIMEOUT, TcpStream::connect((target.host.as_str(), target.port))).await {
            Ok(Ok(stream)) => return connection::serve_outbound(stream, id, shared, outbound, hold).await,
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(_) => errors.push("Connection timed out".to_string()),
        }
    }
    tracing::info!(%uuid, "socket: no target accepted ({})", errors.join("; "));
    pbx.socket_failed(&uuid, &errors);
}
