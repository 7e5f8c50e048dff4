//! What the accept loop and every connection task share: the model, the listener list,
//! the configuration they both read and the server-wide orders. Both `server` and
//! `connection` import this module; neither imports the other's internals.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use super::acl::Cidr;
use super::fault::FaultControl;
use super::limits::Limits;
use super::listeners::Hub;
use super::pbx::{ApiOutput, Pbx};

/// Server-wide orders to connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// Send "The system is being shut down." and close.
    Shutdown,
}

/// State every connection task shares with the server.
pub(crate) struct Shared {
    pub pbx: Pbx,
    pub hub: Arc<Hub>,
    pub faults: FaultControl,
    pub password: String,
    pub acl: Vec<Cidr>,
    pub pre_auth_timeout: Duration,
    pub limits: Limits,
    pub control: broadcast::Sender<Control>,
    pub seed: u64,
    pub api_overrides: HashMap<String, ApiOutput>,
    /// Connections open now (including ones not yet authenticated).
    pub live: AtomicUsize,
    /// Connections accepted since start; the last one's id.
    pub accepted: AtomicU64,
    /// Connections refused because `max_connections` were open.
    pub refused: AtomicU64,
}
