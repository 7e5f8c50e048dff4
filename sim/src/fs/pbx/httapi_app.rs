//! The `httapi` dialplan application (mod_httapi.c `SWITCH_STANDARD_APP(httapi_function)`)
//! on the model's side. The model never waits on the network: the application hands an
//! [`HttapiRequest`] to a bounded queue and the channel blocks in it; the web client
//! (`fs::http::httapi`) fetches documents and applies their work through the methods here,
//! then returns the application with [`Pbx::httapi_return`] (the next action runs).

use tokio::sync::mpsc;

use super::{Cause, Event, Pbx, State};

/// Calls that reached `httapi` and wait for the web client; one more returns at once.
pub(crate) const PENDING_HTTAPI: usize = 1024;

/// A call that reached `httapi`, with the application's data (`{url=…,…}` or a URL).
#[derive(Debug)]
pub struct HttapiRequest {
    /// The channel the application runs on.
    pub uuid: String,
    /// The application data as the dialplan expanded it.
    pub data: String,
}

/// A work item that changes the channel (mod_httapi.c's tag parsers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    /// `<answer/>`: `switch_channel_answer`.
    Answer,
    /// `<hangup cause="…"/>`: `switch_channel_hangup` (NORMAL_CLEARING when unnamed).
    Hangup(String),
    /// `<execute application="…" data="…"/>`: `switch_core_session_execute_application`.
    Execute {
        /// The application's name.
        app: String,
        /// Its data.
        data: String,
    },
    /// `<dial>EXT</dial>`: `switch_ivr_session_transfer` to that extension.
    Transfer(String),
    /// A document's `<variables>` entry: `switch_channel_set_variable` (no event).
    SetVar(String, String),
}

impl Pbx {
    /// Connects the `httapi` application to a web client: calls reaching it from now on
    /// arrive on the returned queue. Without one the application holds the call like `park`.
    pub(crate) fn attach_httapi(&self) -> mpsc::Receiver<HttapiRequest> {
        let (tx, rx) = mpsc::channel(PENDING_HTTAPI);
        self.lock().httapi = Some(tx);
        rx
    }

    /// What every request of the call carries before its own parameters (`client_create`:
    /// `hostname` = `switch_core_get_switchname()`; `switch_caller_profile_event_set_data`
    /// with the `Caller` prefix). `None` once the channel is gone.
    pub fn httapi_params(&self, uuid: &str) -> Option<Vec<(String, String)>> {
        let state = self.lock();
        let ch = state.chan(uuid)?;
        let mut ev = Event::new();
        ev.push("hostname", state.config.switchname.clone());
        ch.add_profile(&mut ev, "Caller");
        Some(ev.headers.clone())
    }

    /// `switch_channel_ready` as the application's loop tests it: the channel exists, has
    /// not hung up and is still in `httapi` (a transfer takes it out).
    pub fn httapi_ready(&self, uuid: &str) -> bool {
        let state = self.lock();
        state.chan(uuid).is_some_and(|c| !c.hungup && c.app_running && c.application == "httapi")
    }

    /// Whether the channel has hung up (or is gone).
    pub fn hung_up(&self, uuid: &str) -> bool {
        self.lock().chan(uuid).is_none_or(|c| c.hungup)
    }

    /// Applies one work item to the channel.
    pub fn httapi_work(&self, uuid: &str, work: &Work) {
        let mut state = self.lock();
        if state.chan(uuid).is_none_or(|c| c.hungup) {
            return;
        }
        match work {
            Work::Answer => state.answer_leg(uuid),
            Work::Hangup(cause) => {
                let cause = Cause::parse(cause).unwrap_or_else(|| Cause::named("NORMAL_CLEARING"));
                state.kill(uuid, &cause);
            }
            Work::Execute { app, data } => state.execute_now(uuid, app, data),
            Work::Transfer(dest) => state.transfer(uuid, dest, None),
            Work::SetVar(name, value) => state.set_var(uuid, name, value),
        }
    }

    /// The application returns (its loop ended): EXECUTE_COMPLETE, then the next action.
    pub fn httapi_return(&self, uuid: &str) {
        let mut state = self.lock();
        if !state.chan(uuid).is_some_and(|c| !c.hungup && c.app_running && c.application == "httapi") {
            return;
        }
        state.finish_app(uuid);
        state.resume(uuid);
    }
}

impl State {
    /// The application itself: queues the call for the web client; false when it returns at
    /// once (the client's queue is full).
    pub(super) fn httapi_app(&mut self, uuid: &str, data: &str) -> bool {
        let Some(tx) = &self.httapi else { return true };
        let request = HttapiRequest { uuid: uuid.to_string(), data: data.to_string() };
        if tx.try_send(request).is_err() {
            tracing::warn!(%uuid, "httapi: {PENDING_HTTAPI} calls already wait for the web client");
            return false;
        }
        true
    }
}
