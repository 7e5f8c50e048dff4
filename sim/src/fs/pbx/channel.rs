//! One call leg as the FreeSWITCH core holds it, and the channel-event headers derived
//! from it (`switch_channel_event_set_basic_data`, `switch_caller_profile_event_set_data`,
//! `switch_channel_event_set_extended_data`, in that order).

use super::causes::Cause;
use super::clock;
use crate::fs::event::Event;

/// `switch_call_direction_t`: which way a leg points, seen from FreeSWITCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A leg that called in (the caller's A leg).
    Inbound,
    /// A leg FreeSWITCH placed (a bridge's B leg, an originate's A leg).
    Outbound,
}

impl Direction {
    /// The word `Call-Direction` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// `switch_channel_callstate_t` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// Created, not ringing yet.
    Down,
    /// Ringing without early media.
    Ringing,
    /// Ringing with early media (after 183 Session Progress).
    Early,
    /// Answered.
    Active,
    /// On hold (`switch_channel_set_flag_value`: CF_LEG_HOLDING on an answered leg).
    Held,
    /// Taken off hold (`switch_channel_clear_flag`: CF_LEG_HOLDING cleared); not ACTIVE again.
    Unheld,
    /// Hung up.
    Hangup,
}

impl CallState {
    /// `switch_channel_callstate_t` value (`Channel-Call-State-Number`).
    pub fn number(self) -> u8 {
        match self {
            CallState::Down => 0,
            CallState::Ringing => 2,
            CallState::Early => 3,
            CallState::Active => 4,
            CallState::Held => 5,
            CallState::Hangup => 7,
            CallState::Unheld => 8,
        }
    }

    /// The name `Channel-Call-State` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Down => "DOWN",
            CallState::Ringing => "RINGING",
            CallState::Early => "EARLY",
            CallState::Active => "ACTIVE",
            CallState::Held => "HELD",
            CallState::Unheld => "UNHELD",
            CallState::Hangup => "HANGUP",
        }
    }
}

/// `switch_channel_state_t` (switch_types.h), in enum order: `number` is the C value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[allow(dead_code)] // the whole C enum, so that `number` is the discriminant
pub enum ChanState {
    New,
    Init,
    Routing,
    SoftExecute,
    Execute,
    ExchangeMedia,
    Park,
    ConsumeMedia,
    Hibernate,
    Reset,
    Hangup,
    Reporting,
    Destroy,
    /// `switch_channel_init` leaves `running_state` at CS_NONE until the session thread
    /// first runs, so CHANNEL_OUTGOING (fired before the thread starts) shows it.
    None,
}

impl ChanState {
    /// `state_names[]` of switch_channel.c.
    pub fn name(self) -> &'static str {
        match self {
            ChanState::New => "CS_NEW",
            ChanState::Init => "CS_INIT",
            ChanState::Routing => "CS_ROUTING",
            ChanState::SoftExecute => "CS_SOFT_EXECUTE",
            ChanState::Execute => "CS_EXECUTE",
            ChanState::ExchangeMedia => "CS_EXCHANGE_MEDIA",
            ChanState::Park => "CS_PARK",
            ChanState::ConsumeMedia => "CS_CONSUME_MEDIA",
            ChanState::Hibernate => "CS_HIBERNATE",
            ChanState::Reset => "CS_RESET",
            ChanState::Hangup => "CS_HANGUP",
            ChanState::Reporting => "CS_REPORTING",
            ChanState::Destroy => "CS_DESTROY",
            ChanState::None => "CS_NONE",
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }
}

/// The negotiated codec: browsers get Opus, desk phones and trunks PCMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codec {
    pub name: &'static str,
    pub rate: u32,
    pub bit_rate: u32,
}

pub const OPUS: Codec = Codec { name: "opus", rate: 48_000, bit_rate: 0 };
pub const PCMU: Codec = Codec { name: "PCMU", rate: 8000, bit_rate: 64_000 };

/// The caller profile fields the events and `show channels` print.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub username: String,
    pub cid_name: String,
    pub cid_num: String,
    pub callee_name: String,
    pub callee_num: String,
    pub network_addr: String,
    pub dest: String,
    pub context: String,
}

/// A `bridge` whose B leg rings on a real device.
#[derive(Clone, Debug)]
pub(crate) struct BridgeWait {
    /// The B leg ringing.
    pub b: String,
    /// The failover groups (`|`) not dialled yet.
    pub rest: super::dialstring::DialString,
}

/// `switch_true`: `yes`, `on`, `true`, `t`, `enabled`, `active`, `allow` (any case) or a
/// non-zero number.
pub(super) fn is_true(v: &str) -> bool {
    let v = v.trim();
    ["yes", "on", "true", "t", "enabled", "active", "allow"].iter().any(|t| v.eq_ignore_ascii_case(t))
        || v.parse::<i64>().is_ok_and(|n| n != 0)
}

/// One leg.
#[derive(Clone, Debug)]
pub struct Channel {
    pub uuid: String,
    pub direction: Direction,
    /// Sofia profile the leg runs on (`internal`, or `external` for gateway legs).
    pub sofia_profile: &'static str,
    pub name: String,
    /// `running_state` (printed as `Channel-State`).
    pub running: ChanState,
    /// `state` (printed as `Channel-State-Number`); runs ahead of `running` on hangup.
    pub state: ChanState,
    pub callstate: CallState,
    pub answered: bool,
    pub hungup: bool,
    pub cause: Option<Cause>,
    pub profile: Profile,
    pub presence_id: String,
    pub codec: Codec,
    /// The A leg of the call (`Channel-Call-UUID`).
    pub call_uuid: String,
    pub application: String,
    pub application_data: String,
    pub created_us: u64,
    pub progress_us: u64,
    pub answered_us: u64,
    pub bridged_us: u64,
    pub hangup_us: u64,
    pub transfer_us: u64,
    /// The other leg and how this one relates to it (`Other-Type`).
    pub peer: Option<(String, PeerRole)>,
    /// `variable_*`, in the order they were set.
    pub vars: Vec<(String, String)>,
    /// Gateway the leg goes through, for gateway call counters.
    pub gateway: Option<String>,
    /// Read and write codecs are set (CODEC fired): the codec headers appear from then on.
    pub codec_set: bool,
    /// `Caller-Source`: the module that created the leg.
    pub source: &'static str,
    /// The application running now (`application`/`application_data` name it): its
    /// CHANNEL_EXECUTE_COMPLETE is still to come.
    pub app_running: bool,
    /// `Application-UUID` of the running application.
    pub app_uuid: String,
    /// In `park` (CF_PARK): CHANNEL_UNPARK is due when it leaves.
    pub parked: bool,
    /// Applications of the extension still to run after the current one returns.
    pub pending: Vec<(String, String)>,
    /// The other leg of a loopback pair (`other_loopback_leg_uuid`).
    pub loopback_peer: Option<String>,
    /// An outbound socket session controls the leg (`socket`): its destroy waits for it.
    pub controller: Option<std::sync::Arc<super::socket_app::SocketControl>>,
    /// Inbound listeners bound with `myevents UUID`: each holds the session's read lock
    /// too, and the destroy waits for all of them.
    pub bound: Vec<std::sync::Arc<super::socket_app::SocketControl>>,
    /// A leg a real SIP client is on (`fs::sip::b2bua`): the model queues its answer by
    /// the dialplan and its end for the B2BUA ([`super::SipNotice`]).
    pub sip_owned: bool,
    /// The A leg of a `bridge` that waits for a real device: the ringing B leg and the
    /// failover groups not dialled yet.
    pub bridge_wait: Option<BridgeWait>,
}

/// `Other-Type` of the peer as seen from this leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRole {
    /// The peer is the leg this one originated (this is the A leg).
    Originatee,
    /// The peer originated this leg (this is the B leg).
    Originator,
}

impl PeerRole {
    fn as_str(self) -> &'static str {
        match self {
            PeerRole::Originatee => "originatee",
            PeerRole::Originator => "originator",
        }
    }
}

impl Channel {
    /// Sets a channel variable, keeping its first position as FreeSWITCH's variable list does.
    pub fn set_var(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.vars.push((name.to_string(), value)),
        }
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn answer_state(&self) -> &'static str {
        if self.hungup {
            "hangup"
        } else if self.answered {
            "answered"
        } else if self.callstate == CallState::Early {
            "early"
        } else {
            "ringing"
        }
    }

    /// Basic data, caller profile, other leg, variables: everything after the common
    /// headers and the event-specific leading headers.
    pub fn add_event_data(&self, ev: &mut Event, peer: Option<&Channel>) {
        ev.push("Channel-State", self.running.name());
        ev.push("Channel-Call-State", self.callstate.as_str());
        ev.push("Channel-State-Number", self.state.number().to_string());
        ev.push("Channel-Name", self.name.clone());
        ev.push("Unique-ID", self.uuid.clone());
        ev.push("Call-Direction", self.direction.as_str());
        ev.push("Presence-Call-Direction", self.direction.as_str());
        let hit_dialplan = self.direction == Direction::Inbound;
        ev.push("Channel-HIT-Dialplan", if hit_dialplan { "true" } else { "false" });
        if !self.presence_id.is_empty() {
            ev.push("Channel-Presence-ID", self.presence_id.clone());
        }
        ev.push("Channel-Call-UUID", self.call_uuid.clone());
        ev.push("Answer-State", self.answer_state());
        if let Some(cause) = &self.cause {
            ev.push("Hangup-Cause", cause.name.clone());
        }
        if self.codec_set {
            for side in ["Read", "Write"] {
                ev.push(format!("Channel-{side}-Codec-Name"), self.codec.name);
                ev.push(format!("Channel-{side}-Codec-Rate"), self.codec.rate.to_string());
                ev.push(format!("Channel-{side}-Codec-Bit-Rate"), self.codec.bit_rate.to_string());
            }
        }
        self.add_profile(ev, "Caller");
        if let (Some((_, role)), Some(peer)) = (&self.peer, peer) {
            ev.push("Other-Type", role.as_str());
            peer.add_profile(ev, "Other-Leg");
        }
        for (name, value) in &self.vars {
            ev.push(format!("variable_{name}"), value.clone());
        }
    }

    pub(super) fn add_profile(&self, ev: &mut Event, prefix: &str) {
        let p = &self.profile;
        let mut put = |key: &str, value: &str| {
            if !value.is_empty() {
                ev.push(format!("{prefix}-{key}"), value.to_string());
            }
        };
        put("Direction", self.direction.as_str());
        put("Logical-Direction", self.direction.as_str());
        put("Username", &p.username);
        put("Dialplan", "XML");
        put("Caller-ID-Name", &p.cid_name);
        put("Caller-ID-Number", &p.cid_num);
        put("Orig-Caller-ID-Name", &p.cid_name);
        put("Orig-Caller-ID-Number", &p.cid_num);
        put("Callee-ID-Name", &p.callee_name);
        put("Callee-ID-Number", &p.callee_num);
        put("Network-Addr", &p.network_addr);
        put("ANI", &p.cid_num);
        put("Destination-Number", &p.dest);
        put("Unique-ID", &self.uuid);
        put("Source", self.source);
        put("Context", &p.context);
        put("Channel-Name", &self.name);
        put("Profile-Index", "1");
        let times = [
            ("Profile-Created-Time", self.created_us),
            ("Channel-Created-Time", self.created_us),
            ("Channel-Answered-Time", self.answered_us),
            ("Channel-Progress-Time", self.progress_us),
            ("Channel-Progress-Media-Time", 0),
            ("Channel-Hangup-Time", self.hangup_us),
            ("Channel-Transfer-Time", self.transfer_us),
            ("Channel-Resurrect-Time", 0),
            ("Channel-Bridged-Time", self.bridged_us),
            ("Channel-Last-Hold", 0),
            ("Channel-Hold-Accum", 0),
        ];
        for (key, t) in times {
            ev.push(format!("{prefix}-{key}"), t.to_string());
        }
        ev.push(format!("{prefix}-Screen-Bit"), "true");
        ev.push(format!("{prefix}-Privacy-Hide-Name"), "false");
        ev.push(format!("{prefix}-Privacy-Hide-Number"), "false");
    }

    /// The timing variables `switch_core_session_reporting_state` sets before
    /// CHANNEL_HANGUP_COMPLETE (`*_stamp`, `*_epoch`, `*_uepoch`, durations).
    pub fn set_cdr_vars(&mut self) {
        let stamps = [
            ("start", self.created_us),
            ("profile_start", self.created_us),
            ("answer", self.answered_us),
            ("bridge", self.bridged_us),
            ("progress", self.progress_us),
            ("end", self.hangup_us),
        ];
        for (name, t) in stamps {
            if t != 0 {
                self.set_var(&format!("{name}_stamp"), clock::local_date(t));
            }
        }
        for (name, t) in stamps {
            self.set_var(&format!("{name}_epoch"), (t / 1_000_000).to_string());
            self.set_var(&format!("{name}_uepoch"), t.to_string());
        }
        let caller_id = format!("\"{}\" <{}>", self.profile.cid_name, self.profile.cid_num);
        self.set_var("caller_id", caller_id);
        let end = self.hangup_us;
        let since = |t: u64| if t == 0 { 0 } else { end.saturating_sub(t) };
        let until = |t: u64| if t == 0 { 0 } else { t.saturating_sub(self.created_us) };
        let (duration, bill) = (end.saturating_sub(self.created_us), since(self.answered_us));
        let (progress, answer) = (until(self.progress_us), until(self.answered_us));
        self.set_var("duration", (duration / 1_000_000).to_string());
        self.set_var("billsec", (bill / 1_000_000).to_string());
        self.set_var("progresssec", (progress / 1_000_000).to_string());
        self.set_var("answersec", (answer / 1_000_000).to_string());
        self.set_var("waitsec", (answer / 1_000_000).to_string());
        self.set_var("mduration", (duration / 1000).to_string());
        self.set_var("billmsec", (bill / 1000).to_string());
        self.set_var("progressmsec", (progress / 1000).to_string());
        self.set_var("answermsec", (answer / 1000).to_string());
        self.set_var("uduration", duration.to_string());
        self.set_var("billusec", bill.to_string());
    }

    /// A row of the core `channels` table, in its column order (FreeSWITCH 1.10.12).
    pub fn channels_row(&self, hostname: &str) -> Vec<(&'static str, String)> {
        let created = clock::local_date(self.created_us);
        let p = &self.profile;
        let (codec, rate, bits) = if self.codec_set {
            (self.codec.name.to_string(), self.codec.rate.to_string(), self.codec.bit_rate.to_string())
        } else {
            (String::new(), String::new(), String::new())
        };
        vec![
            ("uuid", self.uuid.clone()),
            ("direction", self.direction.as_str().to_string()),
            ("created", created),
            ("created_epoch", (self.created_us / 1_000_000).to_string()),
            ("name", self.name.clone()),
            ("state", self.running.name().to_string()),
            ("cid_name", p.cid_name.clone()),
            ("cid_num", p.cid_num.clone()),
            ("ip_addr", p.network_addr.clone()),
            ("dest", p.dest.clone()),
            ("application", self.application.clone()),
            ("application_data", self.application_data.clone()),
            ("dialplan", "XML".to_string()),
            ("context", p.context.clone()),
            ("read_codec", codec.clone()),
            ("read_rate", rate.clone()),
            ("read_bit_rate", bits.clone()),
            ("write_codec", codec),
            ("write_rate", rate),
            ("write_bit_rate", bits),
            ("secure", String::new()),
            ("hostname", hostname.to_string()),
            ("presence_id", self.presence_id.clone()),
            ("presence_data", String::new()),
            ("accountcode", String::new()),
            ("callstate", self.callstate.as_str().to_string()),
            ("callee_name", p.callee_name.clone()),
            ("callee_num", p.callee_num.clone()),
            ("callee_direction", String::new()),
            ("call_uuid", self.call_uuid.clone()),
            ("sent_callee_name", String::new()),
            ("sent_callee_num", String::new()),
            ("initial_cid_name", p.cid_name.clone()),
            ("initial_cid_num", p.cid_num.clone()),
            ("initial_ip_addr", p.network_addr.clone()),
            ("initial_dest", p.dest.clone()),
            ("initial_dialplan", "XML".to_string()),
            ("initial_context", p.context.clone()),
        ]
    }
}

/// The `basic_calls` view columns taken from each leg (FreeSWITCH 1.10.12).
const CALL_COLUMNS: [&str; 20] = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
];

/// One row of `show calls`: the A leg, then the bridged B leg (empty when unbridged).
pub fn basic_calls_row(
    a: &Channel,
    b: Option<&Channel>,
    call_created_epoch: Option<u64>,
    hostname: &str,
) -> Vec<(String, String)> {
    let pick = |ch: &Channel| {
        let row = ch.channels_row(hostname);
        let mut out: Vec<(String, String)> = CALL_COLUMNS
            .iter()
            .map(|col| {
                let v = row.iter().find(|(n, _)| n == col).map(|(_, v)| v.clone()).unwrap_or_default();
                (col.to_string(), v)
            })
            .collect();
        let num =
            row.iter().find(|(n, _)| *n == "sent_callee_num").map(|(_, v)| v.clone()).unwrap_or_default();
        out.push(("sent_callee_num".to_string(), num));
        out
    };
    let mut row = pick(a);
    let b_cols: Vec<(String, String)> = match b {
        Some(b) => pick(b),
        None => pick(a).into_iter().map(|(n, _)| (n, String::new())).collect(),
    };
    // The view takes neither call_uuid nor hostname from the B leg.
    for (name, value) in b_cols {
        if name == "call_uuid" || name == "hostname" {
            continue;
        }
        row.push((format!("b_{name}"), value));
    }
    row.push((
        "call_created_epoch".to_string(),
        call_created_epoch.map(|e| e.to_string()).unwrap_or_default(),
    ));
    row
}
