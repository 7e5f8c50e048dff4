//! The core's per-channel state machine as events: CHANNEL_STATE on every running-state
//! change, CODEC when codecs are set, CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE around
//! applications, CHANNEL_PARK / UNPARK, CHANNEL_OUTGOING / CREATE / ORIGINATE at birth and
//! CHANNEL_DESTROY at the end. The model runs each leg's state machine synchronously, so a
//! state set is at once the running state (FreeSWITCH's session thread picks it up a few
//! microseconds later; the events come in the same order).

use super::channel::{CallState, ChanState, Direction};
use super::{logs, Site, State};

/// Where the state machine sets the running state (file and line it passes on).
const SITE_RUN: Site = ("switch_core_state_machine.c", "switch_core_session_run", 581);
/// `switch_core_session_exec`'s EXECUTE line (SWITCH_CHANNEL_SESSION_LOG_CLEAN).
const SITE_EXEC_LOG: Site = ("switch_core_session.c", "switch_core_session_exec", 2907);

pub(super) const SITE_STATE: Site = ("switch_channel.c", "switch_channel_perform_set_running_state", 2409);
pub(super) const SITE_ORIGINATE: Site = ("switch_core_state_machine.c", "switch_core_session_run", 632);
pub(super) const SITE_OUTGOING: Site = ("switch_core_session.c", "switch_core_session_outgoing_channel", 768);
pub(super) const SITE_DESTROY: Site = ("switch_core_session.c", "switch_core_session_perform_destroy", 1588);
pub(super) const SITE_EXECUTE: Site = ("switch_core_session.c", "switch_core_session_exec", 2949);
pub(super) const SITE_EXECUTE_COMPLETE: Site = ("switch_core_session.c", "switch_core_session_exec", 2972);
pub(super) const SITE_PARK: Site = ("switch_ivr.c", "switch_ivr_park", 1002);
pub(super) const SITE_UNPARK: Site = ("switch_ivr.c", "switch_ivr_park", 1213);
pub(super) const SITE_READ_CODEC: Site = ("switch_core_codec.c", "switch_core_session_set_read_codec", 300);
pub(super) const SITE_WRITE_CODEC: Site = ("switch_core_codec.c", "switch_core_session_set_write_codec", 471);

impl State {
    /// `switch_channel_perform_set_running_state`: an inbound leg's call state follows
    /// (ROUTING → RINGING, answered → ACTIVE) before CHANNEL_STATE is fired.
    pub(super) fn set_state(&mut self, uuid: &str, new: ChanState) {
        let (cur, tot) = (self.calls.len(), self.counters.since_startup);
        let Some(ch) = self.chan_mut(uuid) else { return };
        // switch_channel_perform_set_state: nothing goes back once a leg is hanging up.
        if ch.state >= ChanState::Hangup && new < ch.state {
            return;
        }
        ch.state = new;
        ch.running = new;
        let (inbound, answered) = (ch.direction == Direction::Inbound, ch.answered);
        let text = format!("({}) Running State Change {} (Cur {cur} Tot {tot})\n", ch.name, new.name());
        self.log(logs::DEBUG, logs::ID_LOG, SITE_RUN, uuid, &text);
        if inbound && new < ChanState::Hangup {
            if new == ChanState::Routing {
                self.set_callstate(uuid, CallState::Ringing);
            } else if answered {
                self.set_callstate(uuid, CallState::Active);
            }
        }
        self.fire_channel("CHANNEL_STATE", SITE_STATE, uuid, &[]);
    }

    /// The state machine's first run: CHANNEL_STATE (CS_INIT) then CHANNEL_CREATE, and
    /// CHANNEL_ORIGINATE for an outbound leg (`switch_core_session_run`, case CS_INIT);
    /// the endpoint's on_init has already asked for CS_ROUTING, which
    /// `Channel-State-Number` of CHANNEL_CREATE shows.
    pub(super) fn birth(&mut self, uuid: &str) {
        self.set_state(uuid, ChanState::Init);
        if let Some(ch) = self.chan_mut(uuid) {
            ch.state = ChanState::Routing;
        }
        self.fire_channel("CHANNEL_CREATE", super::SITE_CREATE, uuid, &[]);
        if self.chan(uuid).is_some_and(|c| c.direction == Direction::Outbound) {
            self.fire_channel("CHANNEL_ORIGINATE", SITE_ORIGINATE, uuid, &[]);
        }
    }

    /// CHANNEL_OUTGOING, fired by `switch_core_session_outgoing_channel` before the new
    /// leg's thread runs (so it still shows CS_NONE with state CS_INIT).
    pub(super) fn outgoing(&mut self, uuid: &str) {
        if let Some(ch) = self.chan_mut(uuid) {
            ch.running = ChanState::None;
            ch.state = ChanState::Init;
        }
        self.fire_channel("CHANNEL_OUTGOING", SITE_OUTGOING, uuid, &[]);
    }

    /// Media negotiated: `switch_core_session_set_read_codec` then `_set_write_codec`,
    /// each firing CODEC with its own (differently cased) headers.
    pub(super) fn set_codecs(&mut self, uuid: &str) {
        let Some(ch) = self.chan_mut(uuid) else { return };
        if ch.codec_set {
            return;
        }
        ch.codec_set = true;
        let c = ch.codec;
        let mut ev = self.channel_event("CODEC", SITE_READ_CODEC, uuid, &[]);
        ev.push("channel-read-codec-name", c.name);
        ev.push("channel-read-codec-rate", c.rate.to_string());
        ev.push("channel-read-codec-bit-rate", c.bit_rate.to_string());
        self.fire(ev);
        let mut ev = self.channel_event("CODEC", SITE_WRITE_CODEC, uuid, &[]);
        ev.push("Channel-Write-Codec-Name", c.name);
        ev.push("Channel-Write-Codec-Rate", c.rate.to_string());
        ev.push("Channel-Write-codec-bit-rate", c.bit_rate.to_string());
        self.fire(ev);
    }

    /// `switch_core_session_exec` up to the application function: variables, then
    /// CHANNEL_EXECUTE with Application, -Data and -UUID after the channel data.
    pub(super) fn start_app(&mut self, uuid: &str, app: &str, data: &str) {
        let app_uuid = match self.chan_mut(uuid).and_then(|c| c.var("app_uuid").map(str::to_string)) {
            Some(given) => given,
            None => self.next_uuid(),
        };
        let name = self.chan_mut(uuid).and_then(|c| c.var("app_uuid_name").map(str::to_string));
        let Some(ch) = self.chan_mut(uuid) else { return };
        ch.vars
            .retain(|(n, _)| n != "app_uuid" && n != "app_uuid_name" && n != "current_application_response");
        ch.application = app.to_string();
        ch.application_data = data.to_string();
        ch.app_running = true;
        ch.app_uuid = app_uuid.clone();
        ch.set_var("current_application", app);
        let text = format!("EXECUTE [depth=0] {} {app}({data})\n", ch.name);
        if !data.is_empty() {
            ch.set_var("current_application_data", data);
        }
        self.log(logs::INFO, logs::ID_LOG_CLEAN, SITE_EXEC_LOG, uuid, &text);
        let mut ev = self.channel_event("CHANNEL_EXECUTE", SITE_EXECUTE, uuid, &[]);
        ev.push("Application", app);
        if !data.is_empty() {
            ev.push("Application-Data", data);
        }
        ev.push("Application-UUID", app_uuid.clone());
        if let Some(n) = &name {
            ev.push("Application-UUID-Name", n.clone());
        }
        self.fire(ev);
    }

    /// The application function returned: CHANNEL_EXECUTE_COMPLETE with its response
    /// (`current_application_response`, `_none_` when unset).
    pub(super) fn finish_app(&mut self, uuid: &str) {
        let Some(ch) = self.chan_mut(uuid) else { return };
        if !std::mem::take(&mut ch.app_running) {
            return;
        }
        let (app, data, app_uuid) =
            (ch.application.clone(), ch.application_data.clone(), ch.app_uuid.clone());
        let response = ch.var("current_application_response").unwrap_or("_none_").to_string();
        let mut ev = self.channel_event("CHANNEL_EXECUTE_COMPLETE", SITE_EXECUTE_COMPLETE, uuid, &[]);
        ev.push("Application", app);
        if !data.is_empty() {
            ev.push("Application-Data", data);
        }
        ev.push("Application-Response", response);
        ev.push("Application-UUID", app_uuid);
        self.fire(ev);
        if let Some(control) = self.chan(uuid).and_then(|c| c.controller.as_ref()) {
            control.app_done.notify_one();
        }
    }

    /// `switch_ivr_park`: CF_PARK set, then CHANNEL_PARK.
    pub(super) fn park(&mut self, uuid: &str) {
        let Some(ch) = self.chan_mut(uuid) else { return };
        if ch.parked {
            return;
        }
        ch.parked = true;
        self.fire_channel("CHANNEL_PARK", SITE_PARK, uuid, &[]);
    }

    /// Leaving `switch_ivr_park`'s loop (hangup, transfer, break): CHANNEL_UNPARK.
    pub(super) fn unpark(&mut self, uuid: &str) {
        let Some(ch) = self.chan_mut(uuid) else { return };
        if !std::mem::take(&mut ch.parked) {
            return;
        }
        self.fire_channel("CHANNEL_UNPARK", SITE_UNPARK, uuid, &[]);
    }

    /// The running application ends because the channel leaves it (hangup, transfer):
    /// park's UNPARK, then EXECUTE_COMPLETE.
    pub(super) fn leave_app(&mut self, uuid: &str) {
        self.unpark(uuid);
        self.finish_app(uuid);
    }

    /// `switch_core_session_perform_destroy`: CHANNEL_DESTROY (still CS_REPORTING, state
    /// CS_DESTROY), then `switch_core_session_destroy_state`'s CHANNEL_STATE (CS_DESTROY).
    /// The `channels` row lives until here, as the core db row does.
    pub(super) fn destroy(&mut self, uuid: &str) {
        if let Some(ch) = self.chan_mut(uuid) {
            ch.state = ChanState::Destroy;
        }
        self.fire_channel("CHANNEL_DESTROY", SITE_DESTROY, uuid, &[]);
        self.set_state(uuid, ChanState::Destroy);
    }
}
