//! Call legs over time: creating, ringing, answering, bridging and ending channels with
//! the event sequence and variables FreeSWITCH produces for each step.

use super::channel::{self, CallState, ChanState, Channel, Direction, PeerRole, Profile, OPUS, PCMU};
use super::*;

use std::collections::{BTreeMap, HashMap};

/// Where an outbound leg goes.
pub(super) enum Route {
    User(Registration),
    /// Gateway name, its `register_to` URI and the number dialled through it.
    Gateway(String, String, String),
}

/// switch_channel.c switch_channel_set_name's "New Channel" NOTICE.
const SITE_NEW_CHANNEL: Site = ("switch_channel.c", "switch_channel_set_name", 1143);
/// switch_channel.c switch_channel_perform_hangup's "Hangup" NOTICE.
const SITE_HANGUP_LOG: Site = ("switch_channel.c", "switch_channel_perform_hangup", 3426);
/// switch_channel.c switch_channel_perform_set_callstate's DEBUG line.
const SITE_CALLSTATE_LOG: Site = ("switch_channel.c", "switch_channel_perform_set_callstate", 296);

/// The carrier's signalling address, as gateway legs and events report it.
pub(super) const GATEWAY_IP: &str = "192.0.2.200";

/// One row of the core `calls` table: a bridged pair.
#[derive(Clone, Debug)]
pub(super) struct Bridge {
    pub caller: String,
    pub callee: String,
    pub created_us: u64,
}

/// The channel and call tables of the core db: every leg from CREATE to DESTROY, oldest
/// first, and the bridged pairs. The state machine (lifecycle.rs) and the applications
/// change them; every `show` row and channel event reads them.
///
/// Indexed for a carrier-size PBX (10 000 legs): a leg or its bridge is found by UUID in
/// O(1), added or removed in O(log n), and the listings walk creation order without
/// searching.
#[derive(Debug, Default)]
pub(super) struct Calls {
    /// Legs by creation order (`next` at creation).
    legs: BTreeMap<u64, Channel>,
    by_uuid: HashMap<String, u64>,
    bridges: BTreeMap<u64, Bridge>,
    /// The bridges each leg is in (as caller or callee), oldest first.
    bridges_of: HashMap<String, Vec<u64>>,
    next: u64,
}

impl Calls {
    pub fn get(&self, uuid: &str) -> Option<&Channel> {
        self.by_uuid.get(uuid).and_then(|k| self.legs.get(k))
    }

    pub fn get_mut(&mut self, uuid: &str) -> Option<&mut Channel> {
        self.by_uuid.get(uuid).and_then(|k| self.legs.get_mut(k))
    }

    /// Legs alive now.
    pub fn len(&self) -> usize {
        self.legs.len()
    }

    /// Every leg, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.legs.values()
    }

    fn key(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub fn insert(&mut self, ch: Channel) {
        let k = self.key();
        if let Some(old) = self.by_uuid.insert(ch.uuid.clone(), k) {
            self.legs.remove(&old);
        }
        self.legs.insert(k, ch);
    }

    /// `origination_uuid`: the leg takes the UUID asked for (callers check it is free).
    pub fn rename(&mut self, uuid: &str, to: &str) -> Option<&mut Channel> {
        let k = self.by_uuid.remove(uuid)?;
        self.by_uuid.insert(to.to_string(), k);
        let ch = self.legs.get_mut(&k)?;
        ch.uuid = to.to_string();
        Some(ch)
    }

    pub fn remove(&mut self, uuid: &str) -> Option<Channel> {
        let k = self.by_uuid.remove(uuid)?;
        self.legs.remove(&k)
    }

    /// Bridged pairs now.
    pub fn bridge_count(&self) -> usize {
        self.bridges.len()
    }

    /// Every bridge, oldest first.
    pub fn bridges(&self) -> impl Iterator<Item = &Bridge> {
        self.bridges.values()
    }

    pub fn add_bridge(&mut self, bridge: Bridge) {
        let k = self.key();
        for leg in [&bridge.caller, &bridge.callee] {
            self.bridges_of.entry(leg.clone()).or_default().push(k);
        }
        self.bridges.insert(k, bridge);
    }

    /// The oldest bridge `uuid` is in.
    pub fn bridge_of(&self, uuid: &str) -> Option<&Bridge> {
        self.bridges_of.get(uuid).and_then(|ks| ks.first()).and_then(|k| self.bridges.get(k))
    }

    /// Takes the oldest bridge `uuid` is in out of the table.
    pub fn remove_bridge_of(&mut self, uuid: &str) -> Option<Bridge> {
        let k = *self.bridges_of.get(uuid)?.first()?;
        self.remove_bridge(k)
    }

    /// Takes out every bridge whose caller is `uuid`.
    pub fn remove_bridges_called_by(&mut self, uuid: &str) {
        let keys = self.bridges_of.get(uuid).cloned().unwrap_or_default();
        for k in keys {
            if self.bridges.get(&k).is_some_and(|b| b.caller == uuid) {
                self.remove_bridge(k);
            }
        }
    }

    fn remove_bridge(&mut self, k: u64) -> Option<Bridge> {
        let bridge = self.bridges.remove(&k)?;
        for leg in [&bridge.caller, &bridge.callee] {
            if let Some(ks) = self.bridges_of.get_mut(leg.as_str()) {
                ks.retain(|&x| x != k);
                if ks.is_empty() {
                    self.bridges_of.remove(leg.as_str());
                }
            }
        }
        Some(bridge)
    }

    /// Rows `show calls` prints: bridged pairs whose legs both live, and every leg in no
    /// bridge. Counted from the bridge index, without the rows.
    pub fn call_count(&self) -> usize {
        let in_bridges = self.bridges_of.keys().filter(|u| self.by_uuid.contains_key(u.as_str())).count();
        let pairs = self
            .bridges
            .values()
            .filter(|b| self.by_uuid.contains_key(&b.caller) && self.by_uuid.contains_key(&b.callee))
            .count();
        self.legs.len() - in_bridges + pairs
    }

    /// A restart: no channel survives it.
    pub fn clear(&mut self) {
        *self = Calls::default();
    }
}

impl State {
    pub(super) fn chan(&self, uuid: &str) -> Option<&Channel> {
        self.calls.get(uuid)
    }

    pub(super) fn chan_mut(&mut self, uuid: &str) -> Option<&mut Channel> {
        self.calls.get_mut(uuid)
    }

    /// `switch_core_session_locate`, the way the API commands reach a channel: it fails once
    /// the channel is down (switch_core_session_read_lock, src/switch_core_rwlock.c, refuses
    /// on `switch_channel_down_nosig`), though a socket or `myevents` holder keeps the
    /// channel in the table until its destroy.
    pub(super) fn locate(&self, uuid: &str) -> Option<&Channel> {
        self.calls.get(uuid).filter(|c| !c.hungup)
    }

    /// [`State::locate`], to change the channel.
    pub(super) fn locate_mut(&mut self, uuid: &str) -> Option<&mut Channel> {
        self.calls.get_mut(uuid).filter(|c| !c.hungup)
    }

    /// The leg's `peer` while that leg lives. A leg that ends leaves its UUID in its
    /// peers (UUIDs are never reused), so no table-wide clean-up runs per hangup.
    pub(super) fn live_peer<'a>(&self, ch: &'a Channel) -> Option<&'a str> {
        ch.peer.as_ref().map(|(p, _)| p.as_str()).filter(|p| self.chan(p).is_some())
    }

    /// Fires a channel event for `uuid` with `lead` headers right after the common ones.
    pub(super) fn fire_channel(&mut self, name: &str, site: Site, uuid: &str, lead: &[(&str, String)]) {
        let ev = self.channel_event(name, site, uuid, lead);
        self.fire(ev);
    }

    /// A channel event not yet fired, for callers that append headers after the data.
    pub(super) fn channel_event(
        &mut self,
        name: &str,
        site: Site,
        uuid: &str,
        lead: &[(&str, String)],
    ) -> Event {
        let mut ev = self.event_at(name, site);
        for (k, v) in lead {
            ev.push(*k, v.clone());
        }
        if let Some(ch) = self.chan(uuid) {
            let peer = ch.peer.as_ref().and_then(|(p, _)| self.chan(p));
            ch.add_event_data(&mut ev, peer);
        }
        ev
    }

    pub(super) fn new_channel(
        &mut self,
        direction: Direction,
        name: String,
        profile: Profile,
        codec: channel::Codec,
    ) -> String {
        let uuid = self.next_uuid();
        let now = self.now_us();
        self.counters.created(self.uptime_us());
        let ch = Channel {
            uuid: uuid.clone(),
            direction,
            sofia_profile: "internal",
            name,
            running: ChanState::Init,
            state: ChanState::Routing,
            callstate: CallState::Down,
            answered: false,
            hungup: false,
            cause: None,
            profile,
            presence_id: String::new(),
            codec,
            call_uuid: uuid.clone(),
            application: String::new(),
            application_data: String::new(),
            created_us: now,
            progress_us: 0,
            answered_us: 0,
            bridged_us: 0,
            hangup_us: 0,
            transfer_us: 0,
            peer: None,
            vars: Vec::new(),
            gateway: None,
            codec_set: false,
            source: "mod_sofia",
            app_running: false,
            app_uuid: String::new(),
            parked: false,
            pending: Vec::new(),
            loopback_peer: None,
            controller: None,
            bound: Vec::new(),
            sip_owned: false,
            bridge_wait: None,
        };
        let text = format!("New Channel {} [{uuid}]\n", ch.name);
        self.calls.insert(ch);
        self.log(super::logs::NOTICE, super::logs::ID_SESSION, SITE_NEW_CHANNEL, &uuid, &text);
        uuid
    }

    /// The inbound leg as sofia creates it, born (CHANNEL_CREATE) and not yet routing.
    fn new_inbound(&mut self, from: &str, to: &str, caller_name: &str) -> String {
        let context = self.directory.user_context(from);
        let realm = self.sip_ip();
        let reg = self.binding(from);
        let (ip, port, transport, ua) = match &reg {
            Some(r) => (r.network_ip.clone(), r.network_port, r.transport, r.user_agent.clone()),
            None => ("198.51.100.250".to_string(), 5060, Transport::Udp, String::new()),
        };
        let profile = Profile {
            username: from.to_string(),
            cid_name: caller_name.to_string(),
            cid_num: from.to_string(),
            network_addr: ip.clone(),
            dest: to.to_string(),
            context: context.clone(),
            ..Profile::default()
        };
        let codec = if transport.is_websocket() { OPUS } else { PCMU };
        let uuid =
            self.new_channel(Direction::Inbound, format!("sofia/internal/{from}@{realm}"), profile, codec);
        self.stats.calls_in += 1;
        let session_id = self.counters.since_startup;
        let call_id = format!("{:016x}", mix(self.ids ^ 0xca11));
        if let Some(ch) = self.chan_mut(&uuid) {
            ch.presence_id = format!("{from}@{realm}");
            let vars: Vec<(&str, String)> = vec![
                ("direction", "inbound".into()),
                ("uuid", uuid.clone()),
                ("session_id", session_id.to_string()),
                ("sip_from_user", from.into()),
                ("sip_from_uri", format!("{from}@{realm}")),
                ("sip_from_host", realm.clone()),
                ("channel_name", ch.name.clone()),
                ("sip_call_id", call_id),
                ("sip_local_network_addr", realm.clone()),
                ("sip_network_ip", ip.clone()),
                ("sip_network_port", port.to_string()),
                ("sip_received_ip", ip.clone()),
                ("sip_received_port", port.to_string()),
                ("sip_via_protocol", transport.via_protocol().into()),
                ("sip_authorized", "true".into()),
                ("sip_auth_username", from.into()),
                ("sip_auth_realm", realm.clone()),
                ("user_name", from.into()),
                ("domain_name", realm.clone()),
                ("user_context", context),
                ("effective_caller_id_name", caller_name.into()),
                ("effective_caller_id_number", from.into()),
                ("sofia_profile_name", "internal".into()),
                ("sip_req_user", to.into()),
                ("sip_to_user", to.into()),
                ("sip_user_agent", ua),
            ];
            for (k, v) in vars {
                if !v.is_empty() {
                    ch.set_var(k, v);
                }
            }
            ch.set_var("presence_id", format!("{from}@{realm}"));
        }
        self.birth(&uuid);
        uuid
    }

    /// The inbound leg of a call from a registered (or at least authenticated) user, in
    /// CS_ROUTING.
    pub(super) fn inbound_leg(&mut self, from: &str, to: &str, caller_name: &str) -> String {
        let uuid = self.new_inbound(from, to, caller_name);
        // An inbound leg entering CS_ROUTING is RINGING as far as the core is concerned.
        self.set_state(&uuid, ChanState::Routing);
        uuid
    }

    /// An INVITE from a real SIP client (`fs::sip::b2bua`): the inbound leg mod_sofia
    /// makes (sofia.c `sofia_handle_sip_i_invite`: the caller profile with the caller's
    /// `user_context`, vanilla `default`), then the state machine routes it
    /// (`switch_core_standard_on_routing`: hunt the XML dialplan, CS_EXECUTE, or
    /// NO_ROUTE_DESTINATION). What the dialplan does to the leg reaches the SIP side as
    /// [`SipNotice`]s.
    pub(super) fn sip_invite(
        &mut self,
        from: &str,
        to: &str,
        caller_name: Option<&str>,
    ) -> Result<String, PbxError> {
        for u in [from, to] {
            if !valid_user(u) {
                return Err(PbxError::InvalidUser(u.to_string()));
            }
        }
        let a = self.new_inbound(from, to, caller_name.unwrap_or(from));
        if let Some(ch) = self.chan_mut(&a) {
            ch.sip_owned = true;
        }
        self.route_channel(&a);
        Ok(a)
    }

    /// A BYE from the client on `uuid`: that leg ends `recv_bye`. The bridged peer follows
    /// unless it is an A leg whose `hangup_after_bridge` is not true: then its bridge
    /// application returns and its dialplan goes on (mod_dptools.c
    /// `audio_bridge_function` after `switch_ivr_multi_threaded_bridge`).
    pub(super) fn sip_bye(&mut self, uuid: &str) {
        let Some(ch) = self.chan(uuid).filter(|c| !c.hungup) else { return };
        let peer = self.live_peer(ch).map(str::to_string);
        let inbound = ch.direction == Direction::Inbound;
        let (a, b) = if inbound {
            (uuid.to_string(), peer)
        } else {
            (peer.unwrap_or_default(), Some(uuid.to_string()))
        };
        let a_goes_on = !inbound
            && self.chan(&a).is_some_and(|c| {
                c.application == "bridge"
                    && c.app_running
                    && !c.var("hangup_after_bridge").is_some_and(channel::is_true)
            });
        if a_goes_on {
            self.end_legs(&[LegEnd {
                uuid: uuid.to_string(),
                cause: Cause::named("NORMAL_CLEARING"),
                received: Some(200),
                disposition: "recv_bye",
                invite_failure: None,
            }]);
            self.finish_app(&a);
            if let Some(ch) = self.chan_mut(&a) {
                ch.peer = None;
            }
            self.resume(&a);
            return;
        }
        if !self.chan(&a).is_some_and(|c| c.answered) {
            return;
        }
        let by = if inbound { Party::Caller } else { Party::Callee };
        let _ = self.hangup(&CallHandle { a, b }, by);
    }

    /// A CANCEL from the caller of `a`: it ends ORIGINATOR_CANCEL with the device leg its
    /// bridge rings.
    pub(super) fn sip_cancel(&mut self, a: &str) {
        let b = self.chan(a).and_then(|c| c.bridge_wait.as_ref().map(|w| w.b.clone()));
        let _ = self.cancel(&CallHandle { a: a.to_string(), b });
    }

    /// Where a dialled number goes: a registered user, or the first gateway.
    pub(super) fn route(&self, to: &str) -> Result<Route, Cause> {
        if let Some(r) = self.binding(to) {
            return Ok(Route::User(r));
        }
        match self.gateways.first() {
            Some(g) if g.up => Ok(Route::Gateway(g.name.clone(), g.register_to.clone(), to.to_string())),
            Some(_) => Err(Cause::named("GATEWAY_DOWN")),
            None => Err(Cause::named("USER_NOT_REGISTERED")),
        }
    }

    /// Creates the outbound leg `a` bridges to and fires its CHANNEL_CREATE.
    pub(super) fn outbound_leg(&mut self, a: &str, to: &str, route: &Route) -> String {
        let realm = self.sip_ip();
        let Some(a_ch) = self.chan(a) else { return String::new() };
        let a_profile = a_ch.profile.clone();
        let a_uuid = a_ch.uuid.clone();
        let (name, ip, ua, codec, gateway) = match route {
            Route::User(r) => (
                format!("sofia/internal/{}@{}", r.contact_user, r.contact_host),
                r.network_ip.clone(),
                r.user_agent.clone(),
                if r.transport.is_websocket() { OPUS } else { PCMU },
                None,
            ),
            Route::Gateway(g, register_to, _) => {
                let host = register_to.rsplit('@').next().unwrap_or(g).to_string();
                (
                    format!("sofia/external/{to}@{host}"),
                    GATEWAY_IP.to_string(),
                    String::new(),
                    PCMU,
                    Some(g.clone()),
                )
            }
        };
        let profile = Profile {
            username: a_profile.username.clone(),
            cid_name: a_profile.cid_name.clone(),
            cid_num: a_profile.cid_num.clone(),
            network_addr: ip,
            dest: to.to_string(),
            context: a_profile.context.clone(),
            ..Profile::default()
        };
        let b = self.new_channel(Direction::Outbound, name, profile, codec);
        let session_id = self.counters.since_startup;
        if gateway.is_none() {
            self.stats.calls_out += 1;
        }
        if let Some(ch) = self.chan_mut(&b) {
            ch.call_uuid = a_uuid.clone();
            ch.peer = Some((a_uuid.clone(), PeerRole::Originator));
            ch.gateway = gateway.clone();
            if gateway.is_some() {
                ch.sofia_profile = "external";
            } else {
                ch.presence_id = format!("{to}@{realm}");
            }
            let vars: Vec<(&str, String)> = vec![
                ("direction", "outbound".into()),
                ("is_outbound", "true".into()),
                ("uuid", b.clone()),
                ("session_id", session_id.to_string()),
                ("sip_profile_name", ch.sofia_profile.into()),
                ("sofia_profile_name", ch.sofia_profile.into()),
                ("channel_name", ch.name.clone()),
                ("originator", a_uuid.clone()),
                ("call_uuid", a_uuid.clone()),
                ("dialed_user", to.into()),
                ("sip_user_agent", ua),
            ];
            for (k, v) in vars {
                if !v.is_empty() {
                    ch.set_var(k, v);
                }
            }
            if gateway.is_none() {
                ch.set_var("dialed_domain", realm.clone());
                ch.set_var("presence_id", format!("{to}@{realm}"));
            } else if let Some(g) = &gateway {
                ch.set_var("sip_gateway_name", g.clone());
            }
        }
        if let Some(ch) = self.chan_mut(a) {
            ch.peer = Some((b.clone(), PeerRole::Originatee));
            ch.profile.callee_name = "Outbound Call".into();
            ch.profile.callee_num = to.to_string();
            ch.set_var("dialed_user", to);
            ch.set_var("call_uuid", a_uuid);
        }
        self.outgoing(&b);
        self.birth(&b);
        // switch_ivr_originate.c originate_on_routing parks a ringing leg in CS_CONSUME_MEDIA.
        self.set_state(&b, ChanState::Routing);
        self.set_state(&b, ChanState::ConsumeMedia);
        b
    }

    /// `switch_channel_perform_set_callstate`: a change fires CHANNEL_CALLSTATE; nothing
    /// changes once a leg is in HANGUP.
    pub(super) fn set_callstate(&mut self, uuid: &str, new: CallState) {
        let Some(ch) = self.chan_mut(uuid) else { return };
        let old = ch.callstate;
        if old == new || old == CallState::Hangup {
            return;
        }
        ch.callstate = new;
        let text = format!("({}) Callstate Change {} -> {}\n", ch.name, old.as_str(), new.as_str());
        self.log(super::logs::DEBUG, super::logs::ID_LOG, SITE_CALLSTATE_LOG, uuid, &text);
        self.fire_channel(
            "CHANNEL_CALLSTATE",
            SITE_CALLSTATE,
            uuid,
            &[
                ("Original-Channel-Call-State", old.as_str().to_string()),
                ("Channel-Call-State-Number", new.number().to_string()),
            ],
        );
    }

    /// 180 Ringing: CHANNEL_PROGRESS on each leg, far end first; the call state changes
    /// after the event.
    pub(super) fn ring(&mut self, legs: &[&str]) {
        let now = self.now_us();
        for uuid in legs {
            if let Some(ch) = self.chan_mut(uuid) {
                ch.progress_us = now;
            }
            self.fire_channel("CHANNEL_PROGRESS", SITE_PROGRESS, uuid, &[]);
            self.set_callstate(uuid, CallState::Ringing);
        }
    }

    /// 200 OK: CHANNEL_ANSWER per leg (the event shows the call state before the answer).
    pub(super) fn mark_answered(&mut self, uuid: &str) {
        let now = self.now_us();
        self.set_codecs(uuid);
        if let Some(ch) = self.chan_mut(uuid) {
            ch.answered = true;
            ch.answered_us = now;
            ch.set_var("endpoint_disposition", "ANSWER");
        }
        self.fire_channel("CHANNEL_ANSWER", SITE_ANSWER, uuid, &[]);
        self.set_callstate(uuid, CallState::Active);
        if self.chan(uuid).is_some_and(|c| c.sip_owned && c.direction == Direction::Inbound) {
            self.notify_sip(SipNotice::Answered { uuid: uuid.to_string() });
        }
    }

    pub(super) fn bridge(&mut self, a: &str, b: &str) {
        let now = self.now_us();
        let (Some(a_name), Some(b_name)) =
            (self.chan(a).map(|c| c.name.clone()), self.chan(b).map(|c| c.name.clone()))
        else {
            return;
        };
        for (me, other, other_name) in [(a, b, &b_name), (b, a, &a_name)] {
            if let Some(ch) = self.chan_mut(me) {
                ch.bridged_us = now;
                ch.set_var("bridge_channel", other_name.clone());
                ch.set_var("bridge_uuid", other);
                ch.set_var("signal_bond", other);
                ch.set_var("last_bridge_to", other);
            }
        }
        // switch_ivr_multi_threaded_bridge moves the peer to CS_EXCHANGE_MEDIA before the
        // bridge thread fires CHANNEL_BRIDGE.
        self.set_state(b, ChanState::ExchangeMedia);
        self.calls.add_bridge(Bridge { caller: a.to_string(), callee: b.to_string(), created_us: now });
        self.fire_channel(
            "CHANNEL_BRIDGE",
            SITE_BRIDGE,
            a,
            &[("Bridge-A-Unique-ID", a.to_string()), ("Bridge-B-Unique-ID", b.to_string())],
        );
    }

    /// Ends one or two legs with FreeSWITCH's event order: HANGUP of the first leg,
    /// UNBRIDGE of a bridged A leg, HANGUP of the second, then HANGUP_COMPLETE of each.
    pub(super) fn end_legs(&mut self, legs: &[LegEnd]) {
        let now = self.now_us();
        let mut hung: Vec<&LegEnd> = Vec::new();
        for (i, end) in legs.iter().enumerate() {
            if self.chan(&end.uuid).is_none_or(|c| c.hungup) {
                continue;
            }
            // A leg hung up because its bridge ended leaves its application first.
            if i > 0 {
                self.leave_app(&end.uuid);
            }
            let Some(ch) = self.chan_mut(&end.uuid) else { continue };
            if let Some(status) = end.received {
                ch.set_var("sip_term_status", status.to_string());
                ch.set_var("proto_specific_hangup_cause", format!("sip:{status}"));
                ch.set_var("sip_term_cause", end.cause.number.to_string());
            }
            if end.disposition.starts_with("recv") {
                ch.set_var("sip_hangup_disposition", end.disposition);
            }
            let text = format!("Hangup {} [{}] [{}]\n", ch.name, ch.state.name(), end.cause.name);
            ch.hungup = true;
            ch.hangup_us = now;
            self.last_cause = Some(end.cause.clone());
            self.log(super::logs::NOTICE, super::logs::ID_LOG, SITE_HANGUP_LOG, &end.uuid, &text);
            let Some(ch) = self.chan_mut(&end.uuid) else { continue };
            ch.cause = Some(end.cause.clone());
            ch.state = ChanState::Hangup;
            let peer = ch.peer.clone();
            let bridged = self.calls.bridge_of(&end.uuid);
            if let Some(role) =
                bridged.map(|b| if b.caller == end.uuid { "originator" } else { "originatee" })
            {
                if let Some(ch) = self.chan_mut(&end.uuid) {
                    ch.set_var("last_bridge_role", role);
                }
            }
            let proto = end.received.map(|s| format!("sip:{s}"));
            if let Some(p) = peer.as_ref().and_then(|(p, _)| self.chan_mut(p)) {
                p.set_var("last_bridge_hangup_cause", end.cause.name.clone());
                if let Some(proto) = proto {
                    p.set_var("last_bridge_proto_specific_hangup_cause", proto);
                }
            }
            let Some(ch) = self.chan_mut(&end.uuid) else { continue };
            if let Some(status) = end.invite_failure {
                let phrase = if status == 487 { "CANCEL" } else { sip_phrase(status) };
                ch.set_var("sip_invite_failure_status", status.to_string());
                ch.set_var("sip_invite_failure_phrase", phrase);
                if end.disposition == "recv_refuse" {
                    // sofia copies the failure onto the bridging partner.
                    if let Some(p) = peer.as_ref().and_then(|(p, _)| self.chan_mut(p)) {
                        p.set_var("sip_invite_failure_status", status.to_string());
                        p.set_var("sip_invite_failure_phrase", phrase);
                    }
                }
            }
            self.fire_channel("CHANNEL_HANGUP", SITE_HANGUP, &end.uuid, &[]);
            hung.push(end);
            if i == 0 {
                if let Some(bridge) = self.calls.remove_bridge_of(&end.uuid) {
                    self.fire_channel("CHANNEL_UNBRIDGE", SITE_UNBRIDGE, &bridge.caller, &[]);
                }
                self.leave_app(&end.uuid);
            }
        }
        // switch_core_session_hangup_state: CHANNEL_STATE (CS_HANGUP), cause variables and
        // timestamps, call state HANGUP, then the endpoint's on_hangup (sofia's disposition).
        for end in &hung {
            self.set_state(&end.uuid, ChanState::Hangup);
            if let Some(ch) = self.chan_mut(&end.uuid) {
                ch.set_var("hangup_cause", end.cause.name.clone());
                ch.set_var("hangup_cause_q850", end.cause.q850().to_string());
                ch.set_cdr_vars();
            }
            self.set_callstate(&end.uuid, CallState::Hangup);
            if let Some(ch) = self.chan_mut(&end.uuid) {
                if ch.source == "mod_sofia" && ch.var("sip_hangup_disposition").is_none() {
                    ch.set_var("sip_hangup_disposition", end.disposition);
                }
            }
        }
        // switch_core_session_reporting_state: CHANNEL_STATE (CS_REPORTING), HANGUP_COMPLETE.
        for end in &hung {
            self.set_state(&end.uuid, ChanState::Reporting);
            self.fire_channel(
                "CHANNEL_HANGUP_COMPLETE",
                SITE_HANGUP_COMPLETE,
                &end.uuid,
                &[("Hangup-Cause", end.cause.name.clone())],
            );
        }
        for end in &hung {
            if let Some(ch) = self.chan(&end.uuid).filter(|c| c.sip_owned) {
                let sip_status = sofia_refuse_status(ch, &end.cause);
                let cause = end.cause.clone();
                self.notify_sip(SipNotice::Ended { uuid: end.uuid.clone(), cause, sip_status });
            }
        }
        let gone: Vec<String> =
            hung.iter().map(|e| e.uuid.clone()).filter(|u| !self.socket_holds(u)).collect();
        self.reap(&gone);
    }

    /// CHANNEL_DESTROY and the end of the rows: the legs leave the tables.
    pub(super) fn reap(&mut self, uuids: &[String]) {
        let up = self.uptime_us();
        for uuid in uuids {
            self.destroy(uuid);
            if let Some(ch) = self.calls.remove(uuid) {
                if !ch.answered && ch.gateway.is_none() {
                    match ch.direction {
                        Direction::Inbound => self.stats.failed_in += 1,
                        Direction::Outbound => self.stats.failed_out += 1,
                    }
                }
                self.counters.ended(up);
            }
        }
        for uuid in uuids {
            self.calls.remove_bridges_called_by(uuid);
        }
    }

    /// How a leg ends when FreeSWITCH (not the device) tears it down.
    pub(super) fn local_end(&self, uuid: &str, cause: &Cause) -> LegEnd {
        let (disposition, invite_failure) = match self.chan(uuid) {
            Some(c) if c.answered => ("send_bye", None),
            Some(c) if c.direction == Direction::Outbound => ("send_cancel", Some(487)),
            _ => ("send_refuse", None),
        };
        LegEnd { uuid: uuid.to_string(), cause: cause.clone(), received: None, disposition, invite_failure }
    }

    /// `uuid_kill` / `hupall`: the leg and its bridged peer go down with `cause`. A leg
    /// whose bridge rings a device takes that leg down ORIGINATOR_CANCEL
    /// (switch_ivr_originate.c: the originator left, IDX_CANCEL); a ringing device leg
    /// that goes down fails its A leg's bridge instead.
    pub(super) fn kill(&mut self, uuid: &str, cause: &Cause) -> bool {
        let Some(ch) = self.chan(uuid) else { return false };
        let waited = ch.peer.as_ref().is_some_and(|(p, _)| {
            self.chan(p).and_then(|c| c.bridge_wait.as_ref()).is_some_and(|w| w.b == uuid)
        });
        if waited {
            // The A leg is read first: ending the device leg reaps it, peer and all.
            let a = ch.peer.as_ref().map(|(p, _)| p.clone()).unwrap_or_default();
            let end = self.local_end(uuid, cause);
            self.end_legs(&[end]);
            self.wait_ended(&a, uuid, cause);
            return true;
        }
        let ringing = ch.bridge_wait.as_ref().map(|w| w.b.clone());
        let peer = self.live_peer(ch).map(str::to_string).or_else(|| ch.loopback_peer.clone());
        let mut legs = vec![self.local_end(uuid, cause)];
        if let Some(p) = peer.filter(|p| self.chan(p).is_some()) {
            legs.push(self.local_end(&p, cause));
        }
        if let Some(b) = ringing.filter(|b| self.chan(b).is_some_and(|c| !c.hungup)) {
            legs.push(self.local_end(&b, &Cause::named("ORIGINATOR_CANCEL")));
        }
        self.end_legs(&legs);
        true
    }

    /// Live legs of a handle, or `CallEnded` when the A leg is gone.
    pub(super) fn legs(&self, call: &CallHandle) -> Result<(String, Option<String>), PbxError> {
        if self.chan(&call.a).is_none() {
            return Err(PbxError::CallEnded);
        }
        let b = call.b.clone().filter(|b| self.chan(b).is_some());
        Ok((call.a.clone(), b))
    }

    pub(super) fn start_call(
        &mut self,
        from: &str,
        to: &str,
        caller_name: Option<&str>,
    ) -> Result<CallHandle, PbxError> {
        for u in [from, to] {
            if !valid_user(u) {
                return Err(PbxError::InvalidUser(u.to_string()));
            }
        }
        let a = self.inbound_leg(from, to, caller_name.unwrap_or(from));
        self.set_state(&a, ChanState::Execute);
        let route = self.route(to);
        let realm = self.sip_ip();
        let dialed = match &route {
            Ok(Route::User(_)) | Err(_) => format!("user/{to}@{realm}"),
            Ok(Route::Gateway(g, _, _)) => format!("sofia/gateway/{g}/{to}"),
        };
        self.start_app(&a, "bridge", &dialed);
        match route {
            Ok(route) => {
                let b = self.outbound_leg(&a, to, &route);
                self.ring(&[&b, &a]);
                Ok(CallHandle { a, b: Some(b) })
            }
            Err(cause) => {
                if let Some(ch) = self.chan_mut(&a) {
                    ch.set_var("originate_disposition", cause.name.clone());
                }
                self.finish_app(&a);
                let end = self.local_end(&a, &cause);
                self.end_legs(&[end]);
                Ok(CallHandle { a, b: None })
            }
        }
    }

    pub(super) fn answer(&mut self, call: &CallHandle) -> Result<(), PbxError> {
        let (a, b) = self.legs(call)?;
        let b = b.ok_or(PbxError::CallEnded)?;
        if self.chan(&b).is_some_and(|c| c.answered) {
            return Err(PbxError::AlreadyAnswered);
        }
        self.mark_answered(&b);
        self.mark_answered(&a);
        self.bridge(&a, &b);
        Ok(())
    }

    pub(super) fn hangup(&mut self, call: &CallHandle, by: Party) -> Result<(), PbxError> {
        let (a, b) = self.legs(call)?;
        if !self.chan(&a).is_some_and(|c| c.answered) {
            return Err(PbxError::NotAnswered);
        }
        let clearing = Cause::named("NORMAL_CLEARING");
        let bye = |uuid: &str| LegEnd {
            uuid: uuid.to_string(),
            cause: clearing.clone(),
            received: Some(200),
            disposition: "recv_bye",
            invite_failure: None,
        };
        let mut legs = Vec::new();
        match (by, b) {
            (Party::Caller, b) => {
                legs.push(bye(&a));
                if let Some(b) = b {
                    legs.push(self.local_end(&b, &clearing));
                }
            }
            (Party::Callee, Some(b)) => {
                legs.push(bye(&b));
                legs.push(self.local_end(&a, &clearing));
            }
            (Party::Callee, None) => legs.push(self.local_end(&a, &clearing)),
        }
        self.end_legs(&legs);
        Ok(())
    }

    pub(super) fn reject(&mut self, call: &CallHandle, status: u16) -> Result<(), PbxError> {
        if !(400..700).contains(&status) {
            return Err(PbxError::NotAFailureStatus(status));
        }
        let (a, b) = self.legs(call)?;
        let b = b.ok_or(PbxError::CallEnded)?;
        if self.chan(&b).is_some_and(|c| c.answered) {
            return Err(PbxError::AlreadyAnswered);
        }
        let cause = Cause::from_sip(status);
        let b_end = LegEnd {
            uuid: b,
            cause: cause.clone(),
            received: Some(status),
            disposition: "recv_refuse",
            invite_failure: Some(status),
        };
        let a_end =
            LegEnd { uuid: a, cause, received: None, disposition: "send_refuse", invite_failure: None };
        self.end_legs(&[b_end, a_end]);
        Ok(())
    }

    pub(super) fn cancel(&mut self, call: &CallHandle) -> Result<(), PbxError> {
        let (a, b) = self.legs(call)?;
        if self.chan(&a).is_some_and(|c| c.answered) {
            return Err(PbxError::AlreadyAnswered);
        }
        let cause = Cause::named("ORIGINATOR_CANCEL");
        let mut legs = vec![LegEnd {
            uuid: a,
            cause: cause.clone(),
            received: None,
            disposition: "recv_cancel",
            invite_failure: Some(487),
        }];
        if let Some(b) = b {
            legs.push(LegEnd {
                uuid: b,
                cause,
                received: None,
                disposition: "send_cancel",
                invite_failure: Some(487),
            });
        }
        self.end_legs(&legs);
        Ok(())
    }
}

/// The final status sofia answers an unanswered inbound INVITE with (mod_sofia.c
/// `sofia_on_hangup`): `hangup_cause_to_sip(cause)`, overridden by the SIP status the
/// bridged leg got (`last_bridge_proto_specific_hangup_cause` `sip:N`, which
/// switch_channel_perform_hangup sets on the partner) unless `sip_ignore_remote_cause`.
fn sofia_refuse_status(ch: &Channel, cause: &Cause) -> u16 {
    let ignore = ch.var("sip_ignore_remote_cause").is_some_and(channel::is_true);
    let remote = ch
        .var("last_bridge_proto_specific_hangup_cause")
        .filter(|_| !ignore)
        .and_then(|v| v.strip_prefix("sip:").or_else(|| v.strip_prefix("sips:")))
        .and_then(|n| n.trim().parse::<u16>().ok())
        .filter(|n| *n != 0);
    remote.unwrap_or_else(|| cause.sip_status_sent())
}
