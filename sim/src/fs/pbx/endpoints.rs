//! Endpoints a dial string reaches: `user/` and `sofia/` (registered devices and
//! gateways, which answer at once), `loopback/EXT[/CONTEXT[/DIALPLAN]]` (mod_loopback's
//! two legs, the B leg running the dialplan), `null/` (mod_loopback's null endpoint,
//! auto-answering) and `error/CAUSE` (mod_dptools, fails with that cause).
//!
//! The mock has no SIP network: a `sofia/` target that is neither a registered user nor a
//! known gateway fails with NO_ROUTE_DESTINATION, and a leg nobody answers fails with
//! NO_ANSWER at once instead of after the originate timeout.

use super::calls::{Route, GATEWAY_IP};
use super::causes::Cause;
use super::channel::{BridgeWait, ChanState, Codec, Direction, PeerRole, Profile, OPUS, PCMU};
use super::dialstring::{DialString, LegSpec};
use super::State;

/// mod_loopback's default codec (`tech_init` without a peer codec: L16 at 8 kHz, 20 ms).
const L16: Codec = Codec { name: "L16", rate: 8000, bit_rate: 128_000 };

/// Caller-ID and routing facts an originate gives every leg.
#[derive(Clone, Debug, Default)]
pub(super) struct Origin {
    pub cid_name: String,
    pub cid_num: String,
    /// The A leg of a `bridge`, or none for `api originate`.
    pub originator: Option<String>,
}

fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl State {
    /// An outbound leg as `switch_core_session_outgoing_channel` makes it, with the dial
    /// string's variables set on it; CHANNEL_OUTGOING is fired.
    fn new_outbound(
        &mut self,
        name: String,
        profile: Profile,
        codec: Codec,
        source: &'static str,
        vars: &[(String, String)],
        origin: &Origin,
    ) -> String {
        let mut uuid = self.new_channel(Direction::Outbound, name, profile, codec);
        if let Some(want) = var(vars, "origination_uuid").map(str::to_string) {
            if self.chan(&want).is_none() && !want.is_empty() {
                if let Some(ch) = self.calls.rename(&uuid, &want) {
                    ch.call_uuid = want.clone();
                }
                uuid = want;
            }
        }
        let session_id = self.counters.since_startup;
        if let Some(ch) = self.chan_mut(&uuid) {
            ch.source = source;
            for (k, v) in vars {
                ch.set_var(k, v.clone());
            }
            ch.set_var("direction", "outbound");
            ch.set_var("is_outbound", "true");
            ch.set_var("uuid", ch.uuid.clone());
            ch.set_var("session_id", session_id.to_string());
            ch.set_var("channel_name", ch.name.clone());
        }
        if let Some(a) = &origin.originator {
            let call_uuid = self.chan(a).map(|c| c.call_uuid.clone()).unwrap_or_else(|| a.clone());
            if let Some(ch) = self.chan_mut(&uuid) {
                ch.call_uuid = call_uuid.clone();
                ch.peer = Some((a.clone(), PeerRole::Originator));
                ch.set_var("originator", a.clone());
                ch.set_var("call_uuid", call_uuid);
            }
        }
        uuid
    }

    /// The leg's state machine up to waiting for an answer (`originate_on_routing`).
    fn start_outbound(&mut self, uuid: &str) {
        self.outgoing(uuid);
        self.birth(uuid);
        self.set_state(uuid, ChanState::Routing);
        self.set_state(uuid, ChanState::ConsumeMedia);
    }

    fn leg_profile(&self, leg_vars: &[(String, String)], origin: &Origin, dest: &str, addr: &str) -> Profile {
        let from_a = origin.originator.as_ref().and_then(|a| self.chan(a)).map(|c| c.profile.clone());
        let cid_name = var(leg_vars, "origination_caller_id_name")
            .map(str::to_string)
            .or_else(|| from_a.as_ref().map(|p| p.cid_name.clone()))
            .unwrap_or_else(|| origin.cid_name.clone());
        let cid_num = var(leg_vars, "origination_caller_id_number")
            .map(str::to_string)
            .or_else(|| from_a.as_ref().map(|p| p.cid_num.clone()))
            .unwrap_or_else(|| origin.cid_num.clone());
        Profile {
            username: from_a.as_ref().map(|p| p.username.clone()).unwrap_or_default(),
            cid_name,
            cid_num,
            network_addr: addr.to_string(),
            dest: dest.to_string(),
            context: from_a.map(|p| p.context).unwrap_or_else(|| "default".into()),
            ..Profile::default()
        }
    }

    /// Creates one leg of a dial string and lets its far end act. `Ok` is a live leg
    /// (answered or not), `Err` the cause the leg failed with.
    pub(super) fn create_leg(
        &mut self,
        leg: &LegSpec,
        global: &[(String, String)],
        origin: &Origin,
    ) -> Result<String, Cause> {
        let mut vars: Vec<(String, String)> = global.to_vec();
        vars.extend(leg.vars.iter().cloned());
        let (tech, rest) = leg.target.split_once('/').unwrap_or((leg.target.as_str(), ""));
        let realm = self.sip_ip();
        match tech {
            "user" => {
                let user = rest.split('@').next().unwrap_or(rest);
                if !super::valid_user(user) {
                    return Err(Cause::named("INVALID_NUMBER_FORMAT"));
                }
                if !self.directory_has(user) {
                    return Err(Cause::named("SUBSCRIBER_ABSENT"));
                }
                let reg = self.binding(user).ok_or_else(|| Cause::named("USER_NOT_REGISTERED"))?;
                vars.push(("dialed_user".into(), user.into()));
                vars.push(("dialed_domain".into(), realm.clone()));
                Ok(self.sofia_leg(&Route::User(reg), user, &vars, origin))
            }
            "sofia" => {
                if let Some(gw) = rest.strip_prefix("gateway/") {
                    let (g, number) = gw.split_once('/').ok_or_else(|| Cause::named("INVALID_URL"))?;
                    let Some(gateway) = self.gateways.find(g) else {
                        return Err(Cause::named("INVALID_GATEWAY"));
                    };
                    if !gateway.up {
                        return Err(Cause::named("GATEWAY_DOWN"));
                    }
                    let route =
                        Route::Gateway(gateway.name.clone(), gateway.register_to.clone(), number.into());
                    return Ok(self.sofia_leg(&route, number, &vars, origin));
                }
                let (profile, target) = rest.split_once('/').unwrap_or((rest, ""));
                if !matches!(profile, "internal" | "external") {
                    return Err(Cause::named("INVALID_PROFILE"));
                }
                let user = target.split('@').next().unwrap_or(target);
                match self.binding(user) {
                    Some(reg) => Ok(self.sofia_leg(&Route::User(reg), user, &vars, origin)),
                    None => Err(Cause::named("NO_ROUTE_DESTINATION")),
                }
            }
            "loopback" => self.loopback_legs(rest, &vars, origin),
            "null" => {
                let profile = self.leg_profile(&vars, origin, rest, "");
                let uuid =
                    self.new_outbound(format!("null/{rest}"), profile, L16, "mod_loopback", &vars, origin);
                self.start_outbound(&uuid);
                // null_channel_on_consume_media: enable_auto_answer is on by default.
                if var(&vars, "null_enable_auto_answer") != Some("false") {
                    self.mark_answered(&uuid);
                }
                Ok(uuid)
            }
            "error" => Err(Cause::parse(rest)
                .filter(|c| c.number != 0)
                .unwrap_or_else(|| Cause::named("DESTINATION_OUT_OF_ORDER"))),
            _ => Err(Cause::named("CHAN_NOT_IMPLEMENTED")),
        }
    }

    /// A device or carrier leg: created, rings (180), answers at once (200 with SDP).
    fn sofia_leg(&mut self, route: &Route, dest: &str, vars: &[(String, String)], origin: &Origin) -> String {
        let realm = self.sip_ip();
        let (name, addr, codec, ua, gateway) = match route {
            Route::User(r) => (
                format!("sofia/internal/{}@{}", r.contact_user, r.contact_host),
                r.network_ip.clone(),
                if r.transport.is_websocket() { OPUS } else { PCMU },
                r.user_agent.clone(),
                None,
            ),
            Route::Gateway(g, register_to, number) => (
                format!("sofia/external/{number}@{}", register_to.rsplit('@').next().unwrap_or(g)),
                GATEWAY_IP.to_string(),
                PCMU,
                String::new(),
                Some(g.clone()),
            ),
        };
        let profile = self.leg_profile(vars, origin, dest, &addr);
        let uuid = self.new_outbound(name, profile, codec, "mod_sofia", vars, origin);
        if gateway.is_none() {
            self.stats.calls_out += 1;
        }
        if let Some(ch) = self.chan_mut(&uuid) {
            let sofia_profile = if gateway.is_some() { "external" } else { "internal" };
            ch.sofia_profile = sofia_profile;
            ch.gateway = gateway.clone();
            ch.set_var("sip_profile_name", sofia_profile);
            ch.set_var("sofia_profile_name", sofia_profile);
            if !ua.is_empty() {
                ch.set_var("sip_user_agent", ua);
            }
            match &gateway {
                None => {
                    ch.presence_id = format!("{dest}@{realm}");
                    ch.set_var("presence_id", format!("{dest}@{realm}"));
                }
                Some(g) => ch.set_var("sip_gateway_name", g.clone()),
            }
        }
        self.start_outbound(&uuid);
        // A real device's leg rings until the device answers (sofia_glue_do_invite: the
        // INVITE goes out, the originate waits in switch_ivr_originate). Only a SIP
        // caller's bridge waits: the B2BUA relays between two dialogs it holds.
        let waiter = origin.originator.as_ref().filter(|a| self.chan(a).is_some_and(|c| c.sip_owned));
        if let (Route::User(reg), Some(a)) = (route, waiter) {
            if reg.real_device {
                let a = a.clone();
                if let Some(ch) = self.chan_mut(&uuid) {
                    ch.sip_owned = true;
                }
                self.notify_sip(super::SipNotice::Dial { a, b: uuid.clone(), reg: Box::new(reg.clone()) });
                return uuid;
            }
        }
        self.ring(&[&uuid]);
        self.mark_answered(&uuid);
        uuid
    }

    /// mod_loopback: `channel_outgoing_channel` makes `loopback/EXT-a` (outbound), its
    /// `channel_on_init` makes `loopback/EXT-b` (inbound) with a copy of the profile and
    /// the originate variables; the B leg routes through the dialplan, and its answer
    /// answers the A leg (`channel_receive_message`, INDICATE_ANSWER).
    fn loopback_legs(
        &mut self,
        rest: &str,
        vars: &[(String, String)],
        origin: &Origin,
    ) -> Result<String, Cause> {
        let mut parts = rest.splitn(3, '/');
        let ext = parts.next().unwrap_or("").to_string();
        let context = parts.next().filter(|c| !c.is_empty()).unwrap_or("default").to_string();
        if ext.is_empty() {
            return Err(Cause::named("DESTINATION_OUT_OF_ORDER"));
        }
        let mut profile = self.leg_profile(vars, origin, &ext, "");
        profile.context = context;
        let a = self.new_outbound(
            format!("loopback/{ext}-a"),
            profile.clone(),
            L16,
            "mod_loopback",
            vars,
            origin,
        );
        // tech_init sets the codecs before the leg exists for the core.
        self.set_codecs(&a);
        if let Some(from) = &origin.originator {
            self.set_var(&a, "loopback_from_uuid", from);
        }
        self.outgoing(&a);
        // switch_core_session_run case CS_INIT: CHANNEL_STATE, then the endpoint's on_init
        // (which makes the B leg) runs before CHANNEL_CREATE is fired.
        self.set_state(&a, ChanState::Init);
        let b = self.new_channel(Direction::Inbound, format!("loopback/{ext}-b"), profile, L16);
        let session_id = self.counters.since_startup;
        if let Some(ch) = self.chan_mut(&b) {
            ch.source = "mod_loopback";
            ch.loopback_peer = Some(a.clone());
            for (k, v) in vars {
                ch.set_var(k, v.clone());
            }
            ch.set_var("direction", "inbound");
            ch.set_var("uuid", ch.uuid.clone());
            ch.set_var("session_id", session_id.to_string());
            ch.set_var("channel_name", ch.name.clone());
            ch.set_var("other_loopback_leg_uuid", a.clone());
        }
        self.set_codecs(&b);
        if let Some(ch) = self.chan_mut(&a) {
            ch.loopback_peer = Some(b.clone());
            ch.set_var("other_loopback_leg_uuid", b.clone());
            ch.set_var("loopback_leg", "A");
        }
        if let Some(from) = &origin.originator {
            self.set_var(&b, "other_loopback_from_uuid", from);
        }
        if let Some(ch) = self.chan_mut(&a) {
            ch.state = ChanState::Routing;
        }
        self.fire_channel("CHANNEL_CREATE", super::SITE_CREATE, &a, &[]);
        self.fire_channel("CHANNEL_ORIGINATE", super::lifecycle::SITE_ORIGINATE, &a, &[]);
        self.set_state(&a, ChanState::Routing);
        self.set_state(&a, ChanState::ConsumeMedia);
        self.birth(&b);
        self.set_var(&b, "loopback_leg", "B");
        self.route_channel(&b);
        if self.chan(&a).is_some() {
            Ok(a)
        } else {
            let cause = self.last_cause.clone().unwrap_or_else(|| Cause::named("NORMAL_CLEARING"));
            Err(cause)
        }
    }

    /// `answer`: a loopback B leg tells its A leg first.
    pub(super) fn answer_leg(&mut self, uuid: &str) {
        let Some(ch) = self.chan(uuid) else { return };
        if ch.answered {
            return;
        }
        if let (Direction::Inbound, Some(a)) = (ch.direction, ch.loopback_peer.clone()) {
            if self.chan(&a).is_some_and(|c| !c.answered) {
                self.mark_answered(&a);
            }
        }
        self.mark_answered(uuid);
    }

    /// Dials a whole dial string: failover groups in order; in a group the first leg
    /// that answers wins and the others lose the race. Returns the answered leg or the
    /// cause of the last failure.
    pub(super) fn dial(&mut self, dial: &DialString, origin: &Origin) -> Result<String, Cause> {
        match self.dial_groups(dial.clone(), origin)? {
            Dialled::Answered(uuid) => Ok(uuid),
            Dialled::Ringing(wait) => {
                self.kill(&wait.b, &Cause::named("NO_ANSWER"));
                Err(Cause::named("NO_ANSWER"))
            }
        }
    }

    /// [`State::dial`], stopping at a group whose real device rings: that leg and the
    /// groups after it come back for the B2BUA's answer. A group's first ringing device
    /// is the one rung; the group's other unanswered legs end NO_ANSWER (the B2BUA relays
    /// one callee dialog per call, no forking).
    fn dial_groups(&mut self, mut dial: DialString, origin: &Origin) -> Result<Dialled, Cause> {
        let mut cause = Cause::named("NORMAL_CLEARING");
        while !dial.groups.is_empty() {
            let group = dial.groups.remove(0);
            let mut live = Vec::new();
            for leg in &group {
                match self.create_leg(leg, &dial.global, origin) {
                    Ok(uuid) => live.push(uuid),
                    Err(c) => cause = c,
                }
            }
            let winner = live.iter().find(|u| self.chan(u).is_some_and(|c| c.answered)).cloned();
            let ringing = match &winner {
                Some(_) => None,
                None => live.iter().find(|u| self.chan(u).is_some_and(|c| c.sip_owned)).cloned(),
            };
            for uuid in &live {
                let keep = Some(uuid) == winner.as_ref() || Some(uuid) == ringing.as_ref();
                if !keep && self.chan(uuid).is_some() {
                    let c = if winner.is_some() { "LOSE_RACE" } else { "NO_ANSWER" };
                    self.kill(uuid, &Cause::named(c));
                    cause = Cause::named(c);
                }
            }
            if let Some(w) = winner {
                return Ok(Dialled::Answered(w));
            }
            if let Some(b) = ringing {
                return Ok(Dialled::Ringing(BridgeWait { b, rest: dial }));
            }
        }
        Err(cause)
    }

    /// mod_dptools `bridge` (`audio_bridge_function`): dial from `a`, answer `a` when the
    /// far end answers, bridge. `Blocked` while the A leg is in its bridge (up, or waiting
    /// for a real device); `Next` or `Stop` after a failure, as
    /// [`State::bridge_failed`] decides.
    pub(super) fn bridge_app(&mut self, a: &str, data: &str) -> BridgeFlow {
        let Ok(dial) = DialString::parse(data) else {
            return BridgeFlow::Failed(Cause::named("INVALID_NUMBER_FORMAT"));
        };
        self.continue_bridge(a, dial)
    }

    fn continue_bridge(&mut self, a: &str, dial: DialString) -> BridgeFlow {
        let origin = Origin { originator: Some(a.to_string()), ..Origin::default() };
        match self.dial_groups(dial, &origin) {
            Ok(Dialled::Answered(b)) => {
                self.bridged(a, &b);
                BridgeFlow::Up
            }
            Ok(Dialled::Ringing(wait)) => {
                if let Some(ch) = self.chan_mut(a) {
                    ch.bridge_wait = Some(wait);
                }
                BridgeFlow::Up
            }
            Err(cause) => BridgeFlow::Failed(cause),
        }
    }

    /// The originate succeeded: `originate_disposition` SUCCESS, the A leg answered (if it
    /// was not) and bridged to `b`.
    fn bridged(&mut self, a: &str, b: &str) {
        if let Some(ch) = self.chan_mut(a) {
            ch.peer = Some((b.to_string(), PeerRole::Originatee));
            ch.set_var("originate_disposition", "SUCCESS");
        }
        let dest = self.chan(b).map(|c| c.profile.dest.clone()).unwrap_or_default();
        if let Some(ch) = self.chan_mut(a) {
            ch.profile.callee_name = "Outbound Call".into();
            ch.profile.callee_num = dest;
        }
        self.answer_leg(a);
        self.bridge(a, b);
    }

    /// `audio_bridge_function`'s failure: `originate_failed_cause` and
    /// `originate_disposition` set, then `switch_channel_handle_cause` (switch_channel.c)
    /// decides: `continue_on_fail` `true` or a list naming the cause (name or number)
    /// continues, and with no `continue_on_fail` at all NO_ANSWER, NO_USER_RESPONSE and
    /// ORIGINATOR_CANCEL continue too; otherwise the A leg hangs up with the cause.
    /// Returns whether the dialplan goes on.
    pub(super) fn bridge_failed(&mut self, a: &str, cause: &Cause) -> bool {
        self.set_var(a, "originate_failed_cause", &cause.name);
        self.set_var(a, "originate_disposition", &cause.name);
        self.finish_app(a);
        let cont = match self.chan(a).and_then(|c| c.var("continue_on_fail")) {
            Some(v) if super::channel::is_true(v) => true,
            Some(list) => list
                .split(',')
                .map(str::trim)
                .any(|c| c.eq_ignore_ascii_case(&cause.name) || c == cause.number.to_string()),
            None => matches!(cause.name.as_str(), "NO_ANSWER" | "NO_USER_RESPONSE" | "ORIGINATOR_CANCEL"),
        };
        if !cont {
            self.kill(a, cause);
        }
        cont
    }

    /// The device of a waiting bridge's B leg sent 180/183: CHANNEL_PROGRESS on the B leg,
    /// then on the A leg while it is not answered (switch_ivr_originate passes the ring
    /// to the caller, sofia sends it 180).
    pub(super) fn device_ringing(&mut self, b: &str) {
        let Some(ch) = self.chan(b).filter(|c| !c.hungup && c.progress_us == 0) else { return };
        let a = ch.peer.as_ref().map(|(p, _)| p.clone());
        self.ring(&[b]);
        if let Some(a) = a.filter(|a| self.chan(a).is_some_and(|c| !c.answered && !c.hungup)) {
            if self.chan(&a).is_some_and(|c| c.progress_us == 0) {
                self.ring(&[&a]);
            }
        }
    }

    /// The device answered (200): the B leg is answered and the waiting bridge is up.
    pub(super) fn device_answered(&mut self, b: &str) -> bool {
        let Some(ch) = self.chan(b).filter(|c| !c.hungup && !c.answered) else { return false };
        let a = ch.peer.as_ref().map(|(p, _)| p.clone()).unwrap_or_default();
        self.mark_answered(b);
        let waiting = self.chan_mut(&a).and_then(|c| c.bridge_wait.take_if(|w| w.b == b)).is_some();
        if waiting {
            self.bridged(&a, b);
        }
        true
    }

    /// The device refused (4xx–6xx): the B leg ends with
    /// `sofia_glue_sip_cause_to_freeswitch`'s cause, and the waiting bridge dials its
    /// next failover group or fails (then the A leg's dialplan goes on, or it hangs up).
    pub(super) fn device_failed(&mut self, b: &str, status: u16) {
        let Some(ch) = self.chan(b).filter(|c| !c.hungup) else { return };
        let a = ch.peer.as_ref().map(|(p, _)| p.clone()).unwrap_or_default();
        let cause = Cause::from_sip(status);
        self.end_legs(&[super::LegEnd {
            uuid: b.to_string(),
            cause: cause.clone(),
            received: Some(status),
            disposition: "recv_refuse",
            invite_failure: Some(status),
        }]);
        let Some(wait) = self.chan_mut(&a).and_then(|c| c.bridge_wait.take_if(|w| w.b == b)) else { return };
        self.after_wait(&a, wait.rest, cause);
    }

    /// A waiting bridge's B leg is gone: the next failover group, or the failure handling
    /// with `cause` (the last leg's).
    fn after_wait(&mut self, a: &str, rest: DialString, cause: Cause) {
        let flow =
            if rest.groups.is_empty() { BridgeFlow::Failed(cause) } else { self.continue_bridge(a, rest) };
        if let BridgeFlow::Failed(cause) = flow {
            if self.bridge_failed(a, &cause) {
                self.resume(a);
            }
        }
    }

    /// A waiting bridge's B leg ended some other way (`uuid_kill` of the B leg): the A
    /// leg's bridge fails with that cause.
    pub(super) fn wait_ended(&mut self, a: &str, b: &str, cause: &Cause) {
        if let Some(wait) = self.chan_mut(a).and_then(|c| c.bridge_wait.take_if(|w| w.b == b)) {
            self.after_wait(a, wait.rest, cause.clone());
        }
    }
}

/// How a dial string went.
enum Dialled {
    Answered(String),
    Ringing(BridgeWait),
}

/// What `bridge` did to the A leg.
pub(super) enum BridgeFlow {
    /// Bridged, or waiting for a device: the application blocks.
    Up,
    /// The originate failed with this cause.
    Failed(Cause),
}
