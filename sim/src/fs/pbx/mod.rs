//! The PBX model: one state from which every `api` output, HEARTBEAT and channel or
//! registration event derives, so they always agree.
//!
//! SKELETON: the signatures here are the contract between the ESL server (sim/src/fs/
//! server side) and the model; bodies are placeholders until the model lands.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::broadcast;

use super::event::Event;

/// Fixed facts about the mocked FreeSWITCH.
#[derive(Clone, Debug)]
pub struct PbxConfig {
    pub hostname: String,
    pub switchname: String,
    pub core_uuid: String,
    pub ipv4: String,
    pub ipv6: String,
    /// `FreeSWITCH-Version` as HEARTBEAT carries it, e.g. `1.10.12-release~64bit`.
    pub version: String,
    /// Wall-clock time at start; the model's clock is this plus tokio time elapsed, so
    /// paused-time tests get deterministic dates.
    pub start_wall: SystemTime,
    pub max_sessions: u32,
    /// Configured sessions-per-second cap (`Session-Per-Sec` in HEARTBEAT).
    pub sessions_per_sec_cap: u32,
    /// Capacity of the event queue each listener may fall behind by before it is killed
    /// (FreeSWITCH: 100 000).
    pub event_queue: usize,
}

impl Default for PbxConfig {
    fn default() -> Self {
        PbxConfig {
            hostname: "pbx.example.org".into(),
            switchname: "pbx.example.org".into(),
            core_uuid: "6b7b5a52-7f0c-4b37-9c1e-1f7a3c0d2e41".into(),
            ipv4: "192.0.2.10".into(),
            ipv6: "::1".into(),
            version: "1.10.12-release~64bit".into(),
            start_wall: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000),
            max_sessions: 1000,
            sessions_per_sec_cap: 30,
            event_queue: 100_000,
        }
    }
}

/// What an `api` command produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiOutput {
    /// The command ran; this is its output (may be empty: the server then answers
    /// `-ERR no reply\n` as FreeSWITCH does).
    Text(String),
    /// No such API command: the server answers `-ERR <cmd> Command not found!\n`.
    NotFound,
}

/// A shared handle to the model. Cloning is cheap; all clones see one state.
#[derive(Clone)]
pub struct Pbx {
    inner: Arc<Mutex<State>>,
    events: broadcast::Sender<Arc<Event>>,
}

struct State {
    config: PbxConfig,
    sequence: u64,
}

impl Pbx {
    pub fn new(config: PbxConfig) -> Self {
        let (events, _) = broadcast::channel(config.event_queue.max(1));
        Pbx { inner: Arc::new(Mutex::new(State { config, sequence: 0 })), events }
    }

    /// Runs an API command (`api status` → `api("status", "")`).
    pub fn api(&self, command: &str, args: &str) -> ApiOutput {
        let _ = args;
        match command {
            "status" => ApiOutput::Text("UP 0 years, 0 days, 0 hours, 0 minutes, 0 seconds\n".into()),
            _ => ApiOutput::NotFound,
        }
    }

    /// Every event the PBX fires from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// A new event of that name with the 13 common headers FreeSWITCH adds at creation.
    pub fn event(&self, name: &str) -> Event {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.sequence += 1;
        Event::new().with("Event-Name", name).with("Core-UUID", s.config.core_uuid.clone())
    }

    /// A new CUSTOM event with that subclass.
    pub fn custom_event(&self, subclass: &str) -> Event {
        self.event("CUSTOM").with("Event-Subclass", subclass)
    }

    /// Delivers an event to every listener.
    pub fn fire(&self, event: Event) {
        let _ = self.events.send(Arc::new(event));
    }

    /// A HEARTBEAT event carrying the model's counters (not fired).
    pub fn heartbeat(&self) -> Event {
        self.event("HEARTBEAT").with("Event-Info", "System Ready")
    }

    /// A FreeSWITCH restart: calls and registrations gone, counters reset, uptime 0.
    pub fn reset(&self) {}
}
