//! One FreeSWITCH server's Event Socket link, supervised: connect, log in, subscribe,
//! rebuild state with `api` calls, follow events, and reconnect with backoff.
//!
//! SKELETON: the types below are the contract with the daemon; the supervisor lands next.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::status::{Notice, StatusView};

/// Where and how to reach one server.
#[derive(Clone)]
pub struct ServerConfig {
    /// Shown on the display when several servers are configured.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Never logged or shown.
    pub password: String,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Supervision timings.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// First reconnect delay; doubles per failure, with jitter, up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Delay before retrying after a wrong password or an ACL rejection (never a tight loop).
    pub auth_retry: Duration,
    /// FreeSWITCH's HEARTBEAT interval; the link is declared dead after 2.5 of them.
    pub heartbeat: Duration,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            auth_retry: Duration::from_secs(60),
            heartbeat: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
        }
    }
}

/// What a link publishes.
pub struct LinkChannels {
    /// The latest view of the server (link state included).
    pub status: watch::Sender<StatusView>,
    /// Every notice, in order.
    pub notices: mpsc::Sender<Notice>,
}
