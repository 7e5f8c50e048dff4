//! The PBX model: one state from which every `api` output, HEARTBEAT and channel or
//! registration event derives, so they always agree.
//!
//! Time: the model's wall clock is `PbxConfig::start_wall` plus the tokio time elapsed
//! since [`Pbx::new`], so tests under paused time see deterministic `Event-Date-*`
//! values (`Event-Date-Local` uses UTC as the local zone); uptime counts from `new` or the
//! last [`Pbx::reset`]. Identity as FreeSWITCH has it: a fresh Core-UUID and fresh channel
//! UUIDs on every start and a new Core-UUID after a restart, unless
//! [`PbxConfig::seed`] is set: then the Core-UUIDs and every UUID come from a counter mixed
//! with that seed, so tests and goldens are reproducible.
//!
//! Operations ([`Pbx::register`], [`Pbx::start_call`], [`Pbx::answer`], …) fire the events
//! FreeSWITCH would fire for them, in its order, with the `Event-Calling-*` headers of
//! the FreeSWITCH function that creates each event (line numbers from the 1.10/master
//! source the research notes were written against).
//!
//! Registrations stay until [`Pbx::unregister`] or [`Pbx::expire`]: devices are modelled
//! as refreshing their bindings, so nothing times out on its own.

mod api;
mod api_channel;
mod api_web;
mod calls;
pub mod causes;
mod channel;
pub(crate) mod clock;
mod counters;
pub mod dialplan;
mod dialstring;
pub mod directory;
mod endpoints;
mod gateways;
pub mod generator;
pub mod httapi_app;
mod lifecycle;
pub mod logs;
pub mod registry;
pub mod scenario;
pub mod socket_app;
pub mod timeline;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::bus::EventBus;
use super::event::Event;
pub use api::StreamFormat;
pub use causes::Cause;
pub use channel::{CallState, Direction};
pub use counters::CounterSnapshot;
use counters::Counters;
pub use registry::{DeviceShape, MultipleRegistrations, Registration, Transport, UnknownTransport};

/// Fixed facts about the mocked FreeSWITCH.
#[derive(Clone, Debug)]
pub struct PbxConfig {
    /// `FreeSWITCH-Hostname` on every event and the `hostname` API.
    pub hostname: String,
    /// The `switchname` API and the host column of `show` rows.
    pub switchname: String,
    /// A fixed Core-UUID for the first boot; empty: generated (from `seed` when set).
    pub core_uuid: String,
    /// Makes every identifier reproducible (`mock-fs --seed N`); `None`: random per start.
    pub seed: Option<u64>,
    /// `FreeSWITCH-IPv4` on every event; also the SIP address devices register to.
    pub ipv4: String,
    /// `FreeSWITCH-IPv6` on every event.
    pub ipv6: String,
    /// `FreeSWITCH-Version` as HEARTBEAT carries it, e.g. `1.10.12-release~64bit`.
    pub version: String,
    /// `switch_version_revision_human()`, the part of `version` output in parentheses and
    /// of `status` after the release: `git a88d069 2024-08-02 21:02:27Z 64bit`.
    pub revision: String,
    /// Wall-clock time at start; the model's clock is this plus tokio time elapsed, so
    /// paused-time tests get deterministic dates.
    pub start_wall: SystemTime,
    /// `Max-Sessions` in HEARTBEAT and `status`; the model does not refuse calls above it.
    pub max_sessions: u32,
    /// Configured sessions-per-second cap (`Session-Per-Sec` in HEARTBEAT).
    pub sessions_per_sec_cap: u32,
    /// How far a [`Pbx::subscribe`] observer may fall behind before it sees `Lagged`.
    /// ESL listeners have their own queues (`fs::Limits::event_queue`).
    pub event_queue: usize,
    /// Idle CPU percentage of an idle box; each live channel takes a little off it.
    pub idle_cpu: f64,
}

impl Default for PbxConfig {
    fn default() -> Self {
        PbxConfig {
            hostname: "pbx.example.org".into(),
            switchname: "pbx.example.org".into(),
            core_uuid: String::new(),
            seed: None,
            ipv4: "192.0.2.10".into(),
            ipv6: "::1".into(),
            version: "1.10.12-release~64bit".into(),
            revision: "git a88d069 2024-08-02 21:02:27Z 64bit".into(),
            start_wall: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000),
            max_sessions: 1000,
            sessions_per_sec_cap: 30,
            event_queue: 100_000,
            idle_cpu: 99.63,
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

/// Why a model operation could not run. The model is unchanged when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PbxError {
    /// A user name with characters a SIP user part or dial string cannot carry.
    #[error("invalid user name {0:?}: use letters, digits, '.', '_' or '-'")]
    InvalidUser(String),
    /// The user has no binding to unregister, expire or call from.
    #[error("user {0} has no registration")]
    NotRegistered(String),
    /// The call's A leg (or, to answer or reject, its B leg) is gone: hung up or killed.
    #[error("the call has already ended")]
    CallEnded,
    /// Answer, reject or cancel of a call that is already answered.
    #[error("the call was already answered")]
    AlreadyAnswered,
    /// A normal hangup of a call never answered (reject or cancel it instead).
    #[error("the call is not answered yet")]
    NotAnswered,
    /// A rejection must carry a 4xx–6xx status to map to a hangup cause.
    #[error("SIP status {0} is not a final failure response (400-699)")]
    NotAFailureStatus(u16),
}

/// The legs of a call placed with [`Pbx::start_call`]; `b` is `None` when the call
/// failed before an outbound leg existed (callee not registered, gateway down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallHandle {
    /// The A leg's UUID (the caller's inbound channel).
    pub a: String,
    /// The B leg's UUID (the outbound channel to the callee).
    pub b: Option<String>,
}

/// What the model tells the SIP core (`fs::sip::b2bua`) about the legs real clients are
/// on, in the order it happened. Each leg yields at most one of each kind, so the queue
/// holds at most three notices per live SIP leg: bounded by the B2BUA's call limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipNotice {
    /// The model answered a SIP caller's leg itself (`answer`, `echo`…, a bridge to a
    /// modelled leg): the caller gets its 200 OK.
    Answered {
        /// The inbound leg.
        uuid: String,
    },
    /// A `bridge` from SIP leg `a` rings a real device: the B2BUA sends it an INVITE for
    /// leg `b` and reports its answer ([`Pbx::device_ringing`], [`Pbx::device_answered`],
    /// [`Pbx::device_failed`]).
    Dial {
        /// The caller's leg.
        a: String,
        /// The new outbound leg.
        b: String,
        /// The device's binding.
        reg: Box<Registration>,
    },
    /// A SIP leg ended: BYE to an answered client, CANCEL to a ringing callee, the final
    /// status `sip_status` to a ringing caller.
    Ended {
        /// The leg.
        uuid: String,
        /// Its hangup cause.
        cause: Cause,
        /// What sofia answers an unanswered INVITE with (mod_sofia.c `sofia_on_hangup`).
        sip_status: u16,
    },
}

/// Which side ends an answered call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The A leg hangs up first.
    Caller,
    /// The B leg hangs up first.
    Callee,
}

/// A counted view of the model, for tests and the scenario runner.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Bindings in the registry.
    pub registrations: usize,
    /// Live channels (legs).
    pub channels: usize,
    /// Rows of `show calls` (a bridged pair once, an unbridged leg once).
    pub calls: usize,
    /// Bridged pairs.
    pub bridged_calls: usize,
    /// The session counters as `status` prints them now.
    pub counters: CounterSnapshot,
    /// `(name, up)` per gateway.
    pub gateways: Vec<(String, bool)>,
    /// Model uptime in microseconds (tokio time since start).
    pub uptime_us: u64,
}

/// A shared handle to the model. Cloning is cheap; all clones see one state.
#[derive(Clone)]
pub struct Pbx {
    inner: Arc<Mutex<State>>,
    /// Woken when a binding is added, so the server's expiry sweep looks again.
    bindings_changed: Arc<tokio::sync::Notify>,
    events: EventBus,
    logs: broadcast::Sender<Arc<logs::LogLine>>,
}

/// Where FreeSWITCH creates an event: `Event-Calling-File`, `-Function`, `-Line-Number`.
type Site = (&'static str, &'static str, u32);

const SITE_CREATE: Site = ("switch_core_state_machine.c", "switch_core_session_run", 626);
const SITE_PROGRESS: Site = ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3507);
const SITE_ANSWER: Site = ("switch_channel.c", "switch_channel_perform_mark_answered", 3848);
const SITE_BRIDGE: Site = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689);
const SITE_UNBRIDGE: Site = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879);
const SITE_CALLSTATE: Site = ("switch_channel.c", "switch_channel_perform_set_callstate", 302);
const SITE_HANGUP: Site = ("switch_channel.c", "switch_channel_perform_hangup", 3447);
const SITE_HANGUP_COMPLETE: Site =
    ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943);
const SITE_HEARTBEAT: Site = ("switch_core.c", "send_heartbeat", 95);
const SITE_BACKGROUND_JOB: Site = ("mod_event_socket.c", "api_exec", 1580);
const SITE_SENDEVENT: Site = ("mod_event_socket.c", "parse_command", 2283);
const SITE_REGISTER: Site = ("sofia_reg.c", "sofia_reg_handle_register_token", 2059);
const SITE_UNREGISTER: Site = ("sofia_reg.c", "sofia_reg_handle_register_token", 2213);
const SITE_EXPIRE: Site = ("sofia_reg.c", "sofia_reg_del_callback", 726);
const SITE_GATEWAY: Site = ("sofia_reg.c", "sofia_reg_fire_custom_gateway_state_event", 156);

/// The CUSTOM subclass the daemon shows as a pushed message (reserved by eslmatrix).
pub const MESSAGE_SUBCLASS: &str = "eslmatrix::message";

/// `CALLS-IN` … `FAILED-CALLS-OUT` of the internal profile.
#[derive(Clone, Copy, Debug, Default)]
struct ProfileStats {
    calls_in: u32,
    failed_in: u32,
    calls_out: u32,
    failed_out: u32,
}

/// How one leg ends (the SIP side of a hangup).
#[derive(Clone, Debug)]
struct LegEnd {
    uuid: String,
    cause: Cause,
    /// The SIP final status this leg received, if any (`sip_term_status`).
    received: Option<u16>,
    /// `sip_hangup_disposition`; `recv_*` are known before CHANNEL_HANGUP, `send_*` are
    /// set by sofia's hangup handler after it.
    disposition: &'static str,
    /// `sip_invite_failure_status` for failed or cancelled INVITEs.
    invite_failure: Option<u16>,
}

struct State {
    config: PbxConfig,
    events: EventBus,
    core_uuid: String,
    boots: u64,
    sequence: u64,
    created_at: Instant,
    booted_at: Instant,
    seed: u64,
    ids: u64,
    counters: Counters,
    registry: registry::Registry,
    /// Channels and calls: the core's `channels` and `calls` tables.
    calls: calls::Calls,
    gateways: gateways::Gateways,
    stats: ProfileStats,
    /// `global_getvar` / `global_setvar` variables, in the order they were set.
    globals: Vec<(String, String)>,
    dialplan: dialplan::Dialplan,
    /// The cause of the most recent hangup (a loopback pair reports it to its originate).
    last_cause: Option<Cause>,
    directory: directory::Directory,
    logs: broadcast::Sender<Arc<logs::LogLine>>,
    /// Where `socket` queues its calls for the server's dialer (none: it fails at once).
    sockets: Option<tokio::sync::mpsc::Sender<socket_app::SocketRequest>>,
    /// Where `httapi` queues its calls for the web client (none: it holds the call).
    httapi: Option<tokio::sync::mpsc::Sender<httapi_app::HttapiRequest>>,
    /// SIP listeners really bound (`mock-fs --sip`), in bind order; `sofia status` shows
    /// these instead of the vanilla profile's when any is open.
    sip_bindings: Vec<(Transport, std::net::SocketAddr)>,
    /// What the SIP core must act on; see [`SipNotice`] for its bound.
    sip_notices: std::collections::VecDeque<SipNotice>,
    /// Woken when a notice is queued (the SIP server's drain task waits on it).
    sip_wake: Arc<tokio::sync::Notify>,
}

/// The longest `msleep` the mock honours (one hour): a typo must not pin a connection for days.
const MAX_MSLEEP_MS: u64 = 3_600_000;

/// C's `atol`: leading spaces, an optional sign, digits; anything else ends the number.
pub(crate) fn atol(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// SplitMix64: a tiny, well-mixed generator for reproducible identifiers.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The Core-UUID of boot number `boots`: `switch_core_init` makes a v4 UUID each start.
fn boot_uuid(seeded: Option<u64>, seed: u64, boots: u64) -> String {
    match seeded {
        Some(_) => format_uuid(mix(seed ^ (boots << 56) ^ 0xc0de), mix(boots ^ seed)),
        None => uuid::Uuid::new_v4().hyphenated().to_string(),
    }
}

/// A version-4-shaped UUID from two 64-bit words.
fn format_uuid(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 64
        && user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Reason phrases of the SIP statuses the model uses.
pub(crate) fn sip_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}

impl State {
    /// Queues a notice for the SIP core and wakes its drain task.
    fn notify_sip(&mut self, notice: SipNotice) {
        self.sip_notices.push_back(notice);
        self.sip_wake.notify_one();
    }

    fn now_us(&self) -> u64 {
        let start = self.config.start_wall.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        (start + self.created_at.elapsed()).as_micros() as u64
    }

    fn uptime_us(&self) -> u64 {
        self.booted_at.elapsed().as_micros() as u64
    }

    fn next_uuid(&mut self) -> String {
        self.ids += 1;
        let hi = mix(self.seed ^ self.ids);
        let lo = mix(hi ^ self.ids.rotate_left(32));
        format_uuid(hi, lo)
    }

    fn sip_ip(&self) -> String {
        self.config.ipv4.clone()
    }

    /// A new event with the 13 common headers, as `switch_event_prep_for_delivery` adds them.
    fn event_at(&mut self, name: &str, site: Site) -> Event {
        self.sequence += 1;
        let now = self.now_us();
        let mut ev = Event::new();
        self.add_common(&mut ev, name, site, now);
        ev
    }

    fn add_common(&self, ev: &mut Event, name: &str, site: Site, now: u64) {
        ev.push("Event-Name", name);
        ev.push("Core-UUID", self.core_uuid.clone());
        ev.push("FreeSWITCH-Hostname", self.config.hostname.clone());
        ev.push("FreeSWITCH-Switchname", self.config.switchname.clone());
        ev.push("FreeSWITCH-IPv4", self.config.ipv4.clone());
        ev.push("FreeSWITCH-IPv6", self.config.ipv6.clone());
        ev.push("Event-Date-Local", clock::local_date(now));
        ev.push("Event-Date-GMT", clock::rfc822_date(now));
        ev.push("Event-Date-Timestamp", now.to_string());
        ev.push("Event-Calling-File", site.0);
        ev.push("Event-Calling-Function", site.1);
        ev.push("Event-Calling-Line-Number", site.2.to_string());
        ev.push("Event-Sequence", self.sequence.to_string());
    }

    fn custom_at(&mut self, subclass: &str, site: Site) -> Event {
        self.event_at("CUSTOM", site).with("Event-Subclass", subclass)
    }

    /// Writes a log line if anyone listens (formatting costs nothing otherwise).
    fn log(&self, level: u8, text_channel: u8, site: Site, uuid: &str, text: &str) {
        if self.logs.receiver_count() == 0 {
            return;
        }
        let line = logs::LogLine::new(level, text_channel, site, uuid, text, self.now_us(), self.idle_cpu());
        let _ = self.logs.send(Arc::new(line));
    }

    fn fire(&self, ev: Event) {
        self.events.send(Arc::new(ev));
    }

    fn idle_cpu(&self) -> f64 {
        (self.config.idle_cpu - 0.05 * self.calls.len() as f64).max(0.0)
    }

    fn heartbeat(&mut self) -> Event {
        let up = self.uptime_us();
        let c = self.counters.snapshot(up);
        let mut ev = self.event_at("HEARTBEAT", SITE_HEARTBEAT);
        ev.push("Event-Info", "System Ready");
        ev.push("Up-Time", clock::uptime_text(up));
        ev.push("FreeSWITCH-Version", self.config.version.clone());
        ev.push("Uptime-msec", (up / 1000).to_string());
        ev.push("Session-Count", c.current.to_string());
        ev.push("Max-Sessions", self.config.max_sessions.to_string());
        ev.push("Session-Per-Sec", self.config.sessions_per_sec_cap.to_string());
        ev.push("Session-Per-Sec-Last", c.sps_last.to_string());
        ev.push("Session-Per-Sec-Max", c.sps_peak.to_string());
        ev.push("Session-Per-Sec-FiveMin", c.sps_five_min.to_string());
        ev.push("Session-Since-Startup", c.since_startup.to_string());
        ev.push("Session-Peak-Max", c.peak.to_string());
        ev.push("Session-Peak-FiveMin", c.peak_five_min.to_string());
        ev.push("Idle-CPU", format!("{:.6}", self.idle_cpu()));
        ev
    }

    fn reset(&mut self) {
        self.boots += 1;
        self.core_uuid = boot_uuid(self.config.seed, self.seed, self.boots);
        self.sequence = 0;
        self.booted_at = Instant::now();
        self.counters = Counters::default();
        self.registry.clear();
        self.calls.clear();
        self.stats = ProfileStats::default();
        self.gateways.all_up();
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            registrations: self.registry.len(),
            channels: self.calls.len(),
            calls: self.call_rows().len(),
            bridged_calls: self.calls.bridge_count(),
            counters: self.counters.snapshot(self.uptime_us()),
            gateways: self.gateways.iter().map(|g| (g.name.clone(), g.up)).collect(),
            uptime_us: self.uptime_us(),
        }
    }

    // ---- registrations ------------------------------------------------------------

    fn register(
        &mut self,
        user: &str,
        transport: Transport,
        user_agent: &str,
        expires_secs: Option<u64>,
    ) -> Result<Registration, PbxError> {
        if !valid_user(user) {
            return Err(PbxError::InvalidUser(user.to_string()));
        }
        let expires = expires_secs.unwrap_or(if transport.is_websocket() { 600 } else { 3600 });
        let now = self.now_us() / 1_000_000;
        let realm = self.sip_ip();
        let done = self.registry.register(user, &realm, transport, user_agent, expires, now);
        let mut ev = self.custom_at("sofia::register", SITE_REGISTER);
        registry::fill_register(&mut ev, &done, &realm);
        self.fire(ev);
        Ok(done.reg)
    }

    /// A real device's REGISTER (`fs::sip`): realm from its request, shape from its
    /// headers and source address.
    fn register_device(
        &mut self,
        user: &str,
        realm: &str,
        transport: Transport,
        user_agent: &str,
        expires_secs: u64,
        shape: registry::DeviceShape,
    ) -> Registration {
        let now = self.now_us() / 1_000_000;
        let done = self.registry.register_real(user, realm, transport, user_agent, expires_secs, now, shape);
        let mut ev = self.custom_at("sofia::register", SITE_REGISTER);
        registry::fill_register(&mut ev, &done, &self.sip_ip());
        self.fire(ev);
        done.reg
    }

    /// A real device's `Expires: 0`: with `multiple-registrations` off every binding
    /// of the user goes (`delete … where sip_user and sip_host`), else only its Call-ID's.
    fn unregister_device(&mut self, user: &str, call_id: &str) -> usize {
        let gone = match self.registry.mode() {
            MultipleRegistrations::Off => self.registry.remove_user(user),
            _ => self.registry.remove_call_id(user, call_id),
        };
        for r in &gone {
            self.fire_gone(r, false);
        }
        gone.len()
    }

    /// Removes every binding of `user`; `expired` picks the event (timeout vs REGISTER
    /// with `Expires: 0`).
    fn drop_bindings(&mut self, user: &str, expired: bool) -> Result<usize, PbxError> {
        let gone = self.registry.remove_user(user);
        if gone.is_empty() {
            return Err(PbxError::NotRegistered(user.to_string()));
        }
        for r in &gone {
            self.fire_gone(r, expired);
        }
        Ok(gone.len())
    }

    fn fire_gone(&mut self, r: &Registration, expired: bool) {
        let ev = if expired {
            let mut ev = self.custom_at("sofia::expire", SITE_EXPIRE);
            registry::fill_expire(&mut ev, r);
            ev
        } else {
            let mut ev = self.custom_at("sofia::unregister", SITE_UNREGISTER);
            registry::fill_unregister(&mut ev, r);
            ev
        };
        self.fire(ev);
    }

    /// Bindings past their expiry go, each with `sofia::expire`.
    fn expire_due(&mut self) -> usize {
        let gone = self.registry.take_expired(self.now_us() / 1_000_000);
        for r in &gone {
            self.fire_gone(r, true);
        }
        gone.len()
    }

    fn directory_has(&self, user: &str) -> bool {
        self.directory.has(user)
    }

    /// The newest binding of a user: where an outbound leg to them goes.
    fn binding(&self, user: &str) -> Option<Registration> {
        self.registry.binding(user)
    }

    // ---- gateways -----------------------------------------------------------------

    fn set_gateway(&mut self, name: &str, up: bool) -> bool {
        let now = self.now_us();
        if !self.gateways.set(name, up, now) {
            return false;
        }
        let mut ev = self.custom_at("sofia::gateway_state", SITE_GATEWAY);
        ev.push("Gateway", name);
        if up {
            ev.push("State", "REGED");
            ev.push("Ping-Status", "UP");
            ev.push("Register-Network-IP", calls::GATEWAY_IP);
            ev.push("Register-Network-Port", "5060");
        } else {
            ev.push("State", "FAILED");
            ev.push("Ping-Status", "DOWN");
            ev.push("Phrase", sip_phrase(408));
            ev.push("Status", "408");
        }
        self.fire(ev);
        true
    }

    /// mod_event_socket.c `parse_command`, `sendevent`: the command event as read
    /// (`Command`, then the client's headers), a fresh `Event-UUID` appended even when the
    /// client sent one, the type from `switch_name_event` (unknown names stay CLONE), then
    /// `switch_event_prep_for_delivery`'s headers. An event whose `Unique-ID` names a live
    /// channel is queued to that session instead of the bus. The reply is the new UUID.
    fn sendevent(
        &mut self,
        line: &str,
        name: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> String {
        use crate::fs::filter::{name_event, EventKey};
        let uuid = self.next_uuid();
        let event_name = match name_event(name) {
            Some(EventKey::Type(known)) => known,
            _ => "CLONE",
        };
        let mut ev = Event::new();
        ev.push("Command", line);
        for (n, v) in headers {
            let skip = ["Content-Length", "Event-Name"].iter().any(|s| n.eq_ignore_ascii_case(s));
            if !skip {
                ev.push(n.as_str(), v.as_str());
            }
        }
        ev.push("Event-UUID", uuid.clone());
        // switch_event_set_subclass_name deletes Event-Subclass and adds it at the bottom.
        if event_name == "CUSTOM" {
            if let Some(pos) = ev.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case("Event-Subclass")) {
                let (_, sub) = ev.headers.remove(pos);
                ev.push("Event-Subclass", sub);
            }
        }
        ev.body = body;
        let to_session = ev.get("Unique-ID").is_some_and(|u| self.calls.get(u).is_some());
        if !to_session {
            self.sequence += 1;
            let now = self.now_us();
            self.add_common(&mut ev, event_name, SITE_SENDEVENT, now);
            self.fire(ev);
        }
        uuid
    }

    fn message(&mut self, text: &str) -> String {
        let uuid = self.next_uuid();
        self.sequence += 1;
        let now = self.now_us();
        let mut ev = Event::new();
        ev.push("Command", "sendevent CUSTOM");
        ev.push("Event-Subclass", MESSAGE_SUBCLASS);
        ev.push("Message-Text", text);
        ev.push("Event-UUID", uuid.clone());
        self.add_common(&mut ev, "CUSTOM", SITE_SENDEVENT, now);
        self.fire(ev);
        uuid
    }
}

impl Pbx {
    /// A freshly booted model: no registrations, no channels, the shipped dialplan.
    pub fn new(config: PbxConfig) -> Self {
        let events = EventBus::new(config.event_queue);
        let (logs, _) = broadcast::channel(config.event_queue.max(1));
        let now = Instant::now();
        let seed = match config.seed {
            Some(n) => mix(n),
            None => uuid::Uuid::new_v4().as_u64_pair().0,
        };
        let core_uuid = match config.core_uuid.as_str() {
            "" => boot_uuid(config.seed, seed, 0),
            given => given.to_string(),
        };
        let state = State {
            core_uuid,
            config,
            events: events.clone(),
            boots: 0,
            sequence: 0,
            created_at: now,
            booted_at: now,
            seed,
            ids: 0,
            counters: Counters::default(),
            registry: registry::Registry::default(),
            calls: calls::Calls::default(),
            gateways: gateways::Gateways::default(),
            stats: ProfileStats::default(),
            globals: Vec::new(),
            dialplan: dialplan::Dialplan::default(),
            last_cause: None,
            directory: directory::Directory::default(),
            logs: logs.clone(),
            sockets: None,
            httapi: None,
            sip_bindings: Vec::new(),
            sip_notices: std::collections::VecDeque::new(),
            sip_wake: Arc::default(),
        };
        Pbx { inner: Arc::new(Mutex::new(state)), bindings_changed: Arc::default(), events, logs }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs an API command (`api status` → `api("status", "")`). `msleep` answers at
    /// once here; [`Pbx::api_call`] really sleeps.
    pub fn api(&self, command: &str, args: &str) -> ApiOutput {
        if command == "msleep" {
            return ApiOutput::Text("+OK".into());
        }
        self.lock().api(command, args)
    }

    /// [`Pbx::api`] as a connection runs it: `msleep N` waits N ms (atol) before `+OK`,
    /// without holding the model, so the caller's connection blocks as FreeSWITCH's
    /// synchronous `api` does (mod_commands.c `msleep_function`).
    pub async fn api_call(&self, command: &str, args: &str) -> ApiOutput {
        self.api_call_as(command, args, StreamFormat::Plain).await
    }

    /// [`Pbx::api_call`] on a stream that came over HTTP (the web API's `format`).
    pub async fn api_call_as(&self, command: &str, args: &str, format: StreamFormat) -> ApiOutput {
        if command == "msleep" {
            let ms = atol(args).max(0) as u64;
            tokio::time::sleep(std::time::Duration::from_millis(ms.min(MAX_MSLEEP_MS))).await;
            return ApiOutput::Text("+OK".into());
        }
        self.lock().api_as(command, args, format)
    }

    /// A `sendmsg` to a live channel (`call-command: execute` / `hangup`); the reply text.
    pub fn sendmsg(&self, uuid: &str, cmd: &crate::fs::command::Command) -> String {
        self.lock().sendmsg(uuid, cmd)
    }

    /// Adds scenario dialplan extensions ahead of the shipped ones.
    pub fn add_extensions(&self, specs: &[dialplan::ExtensionSpec]) -> Result<(), dialplan::DialplanError> {
        self.lock().dialplan.extend(specs)
    }

    /// The user directory `userauth` and `user/` dial strings consult.
    pub fn directory(&self) -> directory::Directory {
        self.lock().directory.clone()
    }

    /// Adds users to the directory (from a scenario's `[[user]]` tables).
    pub fn add_users(&self, users: &[directory::User]) {
        self.lock().directory.users.extend(users.iter().cloned());
    }

    /// How many log lines a listener may fall behind by (its queue).
    pub fn log_queue(&self) -> usize {
        self.lock().config.event_queue
    }

    /// The model's wall clock in µs since the epoch.
    pub fn now_us(&self) -> u64 {
        self.lock().now_us()
    }

    /// Every log line the PBX writes from now on (all levels; listeners filter).
    pub fn subscribe_logs(&self) -> broadcast::Receiver<Arc<logs::LogLine>> {
        self.logs.subscribe()
    }

    /// Every event the PBX fires from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Where fired events go; the server attaches its listener queues to it.
    pub fn bus(&self) -> &EventBus {
        &self.events
    }

    /// A new event of that name with the 13 common headers FreeSWITCH adds at creation.
    /// The calling site is the FreeSWITCH function that creates events of that name
    /// (HEARTBEAT: `send_heartbeat`, BACKGROUND_JOB: `api_exec`); others are attributed to
    /// `sendevent`, the way an outside party injects events.
    pub fn event(&self, name: &str) -> Event {
        let site = match name {
            "HEARTBEAT" => SITE_HEARTBEAT,
            "BACKGROUND_JOB" => SITE_BACKGROUND_JOB,
            _ => SITE_SENDEVENT,
        };
        self.lock().event_at(name, site)
    }

    /// A new CUSTOM event with that subclass.
    pub fn custom_event(&self, subclass: &str) -> Event {
        self.event("CUSTOM").with("Event-Subclass", subclass)
    }

    /// Delivers an event to every listener.
    pub fn fire(&self, event: Event) {
        self.events.send(Arc::new(event));
    }

    /// A HEARTBEAT event carrying the model's counters (not fired).
    pub fn heartbeat(&self) -> Event {
        self.lock().heartbeat()
    }

    /// A FreeSWITCH restart: calls and registrations gone (no events: the process that
    /// would send them is gone), counters and Event-Sequence reset, uptime 0, a new
    /// Core-UUID; gateways come back up.
    pub fn reset(&self) {
        self.lock().reset();
    }

    /// The Core-UUID of the running instance (changes on [`Pbx::reset`]).
    pub fn core_uuid(&self) -> String {
        self.lock().core_uuid.clone()
    }

    /// Counts of everything, consistent with every output at this instant.
    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot()
    }

    /// A device registers with its default Expires (3600 s, 600 s on WebSocket), or
    /// refreshes: the same user, transport and user agent is the same device and keeps its
    /// Call-ID. See [`registry`] for how bindings replace each other.
    pub fn register(
        &self,
        user: &str,
        transport: Transport,
        user_agent: &str,
    ) -> Result<Registration, PbxError> {
        let reg = self.lock().register(user, transport, user_agent, None);
        self.bindings_changed.notify_one();
        reg
    }

    /// [`Pbx::register`] with the device's `Expires` in seconds (at least 1).
    pub fn register_expiring(
        &self,
        user: &str,
        transport: Transport,
        user_agent: &str,
        expires_secs: u64,
    ) -> Result<Registration, PbxError> {
        let reg = self.lock().register(user, transport, user_agent, Some(expires_secs.max(1)));
        self.bindings_changed.notify_one();
        reg
    }

    /// A REGISTER from a real SIP device (see `fs::sip`): fires `sofia::register` with
    /// the device's own Call-ID, contact and source address.
    pub fn register_device(
        &self,
        user: &str,
        realm: &str,
        transport: Transport,
        user_agent: &str,
        expires_secs: u64,
        shape: registry::DeviceShape,
    ) -> Registration {
        let reg = self.lock().register_device(user, realm, transport, user_agent, expires_secs.max(1), shape);
        self.bindings_changed.notify_one();
        reg
    }

    /// Resolves once a binding was added since the last call (the expiry sweep's wake-up).
    pub async fn bindings_changed(&self) {
        self.bindings_changed.notified().await;
    }

    /// A real device's REGISTER with `Expires: 0`; how many bindings went.
    pub fn unregister_device(&self, user: &str, call_id: &str) -> usize {
        self.lock().unregister_device(user, call_id)
    }

    /// The profile's `multiple-registrations` (shipped default: off).
    pub fn set_multiple_registrations(&self, mode: MultipleRegistrations) {
        self.lock().registry.set_mode(mode);
    }

    /// Bindings whose Expires (plus the 60 s late margin) has passed go, each with
    /// `sofia::expire`; the server calls this as sofia's expiry check. Returns how many.
    pub fn expire_due(&self) -> usize {
        self.lock().expire_due()
    }

    /// When the next binding expires, on the model's clock (tokio time).
    pub fn next_expiry(&self) -> Option<Instant> {
        let state = self.lock();
        let at = state.registry.next_expiry()?;
        let now = state.now_us() / 1_000_000;
        Some(Instant::now() + std::time::Duration::from_secs(at.saturating_sub(now)))
    }

    /// Every binding of `user` sends REGISTER with `Expires: 0` (`sofia::unregister`).
    pub fn unregister(&self, user: &str) -> Result<usize, PbxError> {
        self.lock().drop_bindings(user, false)
    }

    /// Every binding of `user` times out (`sofia::expire`).
    pub fn expire(&self, user: &str) -> Result<usize, PbxError> {
        self.lock().drop_bindings(user, true)
    }

    /// The newest binding of `user`: where a call to them goes.
    pub fn binding(&self, user: &str) -> Option<Registration> {
        self.lock().binding(user)
    }

    /// Current bindings, oldest first.
    pub fn registrations(&self) -> Vec<Registration> {
        self.lock().registry.iter().collect()
    }

    /// `from` dials `to`: the inbound leg is created, routed, the outbound leg created and
    /// both ring. If `to` cannot be reached (not registered, gateway down) the inbound leg
    /// is refused at once and the handle has no B leg.
    pub fn start_call(
        &self,
        from: &str,
        to: &str,
        caller_name: Option<&str>,
    ) -> Result<CallHandle, PbxError> {
        self.lock().start_call(from, to, caller_name)
    }

    /// The callee picks up: both legs answered and bridged.
    pub fn answer(&self, call: &CallHandle) -> Result<(), PbxError> {
        self.lock().answer(call)
    }

    /// One side sends BYE on an answered call.
    pub fn hangup(&self, call: &CallHandle, by: Party) -> Result<(), PbxError> {
        self.lock().hangup(call, by)
    }

    /// The callee's device answers the INVITE with a failure status (486, 404, 480 …);
    /// causes follow the tables in fixtures/sip/.
    pub fn reject(&self, call: &CallHandle, sip_status: u16) -> Result<(), PbxError> {
        self.lock().reject(call, sip_status)
    }

    /// The caller hangs up while it still rings (CANCEL → ORIGINATOR_CANCEL).
    pub fn cancel(&self, call: &CallHandle) -> Result<(), PbxError> {
        self.lock().cancel(call)
    }

    /// A gateway goes down or comes back (`sofia::gateway_state`); the first mention of a
    /// name creates it and reports its state. Returns whether an event was fired (a known
    /// gateway that keeps its state fires none).
    pub fn set_gateway(&self, name: &str, up: bool) -> Result<bool, PbxError> {
        if !valid_user(name) {
            return Err(PbxError::InvalidUser(name.to_string()));
        }
        Ok(self.lock().set_gateway(name, up))
    }

    /// A client's `sendevent` (see `State::sendevent`); returns the new Event-UUID.
    pub fn sendevent(
        &self,
        line: &str,
        name: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> String {
        self.lock().sendevent(line, name, headers, body)
    }

    /// Pushes a message to the display: a CUSTOM `eslmatrix::message` event shaped as an
    /// ESL client's `sendevent` produces it. Returns its `Event-UUID`.
    pub fn message(&self, text: &str) -> String {
        self.lock().message(text)
    }

    /// A new event as `switch_event_create` at a FreeSWITCH call site `(file, function,
    /// line)` makes it: its common headers and Event-Sequence are taken now, however late
    /// it is fired ([`Pbx::fire`]), as chat's MESSAGE event is.
    pub fn event_created_at(&self, name: &str, site: (&'static str, &'static str, u32)) -> Event {
        self.lock().event_at(name, site)
    }

    /// Every binding of `user`, oldest first (`sofia_reg_find_reg_url_multi`).
    pub fn bindings(&self, user: &str) -> Vec<Registration> {
        self.lock().registry.bindings(user)
    }

    /// The internal profile's URL, `sip:mod_sofia@ip:port` of the bound listener.
    pub fn profile_url(&self) -> String {
        self.lock().internal_url()
    }

    /// The domain (`$${domain}`, vanilla: the SIP IP), which `<domain name="all"
    /// alias="true"/>` makes an alias of the internal profile.
    pub fn domain(&self) -> String {
        self.lock().sip_ip()
    }

    /// The cause of the most recent hangup (a refused call's, right after `start_call`).
    pub fn last_cause(&self) -> Option<Cause> {
        self.lock().last_cause.clone()
    }

    /// `FreeSWITCH-Version` (`1.10.12-release~64bit`).
    pub fn version(&self) -> String {
        self.lock().config.version.clone()
    }

    /// A SIP listener is bound (see `fs::sip::SipCore::bind`).
    pub(crate) fn sip_bind(&self, transport: Transport, addr: std::net::SocketAddr) {
        self.lock().sip_bindings.push((transport, addr));
    }

    /// A SIP listener closed.
    pub(crate) fn sip_unbind(&self, transport: Transport, addr: std::net::SocketAddr) {
        let mut state = self.lock();
        if let Some(i) = state.sip_bindings.iter().position(|b| *b == (transport, addr)) {
            state.sip_bindings.remove(i);
        }
    }

    /// An INVITE from a real SIP client: the inbound leg is created and routed through the
    /// dialplan (see `State::sip_invite`); returns its UUID. What follows comes as
    /// [`SipNotice`]s ([`Pbx::take_sip_notices`]).
    pub fn sip_invite(&self, from: &str, to: &str, caller_name: Option<&str>) -> Result<String, PbxError> {
        self.lock().sip_invite(from, to, caller_name)
    }

    /// The notices queued for the SIP core, oldest first; the queue is left empty.
    pub fn take_sip_notices(&self) -> Vec<SipNotice> {
        self.lock().sip_notices.drain(..).collect()
    }

    /// Resolves once a notice was queued since the last call.
    pub async fn sip_notified(&self) {
        let wake = self.lock().sip_wake.clone();
        wake.notified().await;
    }

    /// The device of leg `b` rings (180/183).
    pub fn device_ringing(&self, b: &str) {
        self.lock().device_ringing(b);
    }

    /// The device of leg `b` answered (200): its bridge comes up. `false` when the leg
    /// is gone or already answered.
    pub fn device_answered(&self, b: &str) -> bool {
        self.lock().device_answered(b)
    }

    /// The device of leg `b` refused with `status` (4xx–6xx).
    pub fn device_failed(&self, b: &str, status: u16) {
        self.lock().device_failed(b, status);
    }

    /// A BYE from the client on leg `uuid`.
    pub fn sip_bye(&self, uuid: &str) {
        self.lock().sip_bye(uuid);
    }

    /// A CANCEL from the caller on leg `a`.
    pub fn sip_cancel(&self, a: &str) {
        self.lock().sip_cancel(a);
    }

    /// UUIDs of the live channels, oldest first.
    pub fn channel_uuids(&self) -> Vec<String> {
        self.lock().calls.iter().map(|c| c.uuid.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_deterministic_with_a_seed_and_fresh_without() {
        let seeded = || PbxConfig { seed: Some(7), ..PbxConfig::default() };
        let a = Pbx::new(seeded());
        let b = Pbx::new(seeded());
        assert_eq!(a.core_uuid(), b.core_uuid());
        let ua = a.lock().next_uuid();
        assert_eq!(ua, b.lock().next_uuid());
        let (c, d) = (Pbx::new(PbxConfig::default()), Pbx::new(PbxConfig::default()));
        assert_ne!(c.core_uuid(), d.core_uuid(), "switch_core_init: a new Core-UUID per start");
        assert_ne!(c.lock().next_uuid(), d.lock().next_uuid());
        assert_eq!(c.core_uuid().len(), 36);
        assert_ne!(ua, a.lock().next_uuid());
        assert_eq!(ua.len(), 36);
        assert_eq!(&ua[14..15], "4");
    }

    #[test]
    fn common_headers_in_order() {
        let pbx = Pbx::new(PbxConfig::default());
        let ev = pbx.event("HEARTBEAT");
        let names: Vec<&str> = ev.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Event-Name",
                "Core-UUID",
                "FreeSWITCH-Hostname",
                "FreeSWITCH-Switchname",
                "FreeSWITCH-IPv4",
                "FreeSWITCH-IPv6",
                "Event-Date-Local",
                "Event-Date-GMT",
                "Event-Date-Timestamp",
                "Event-Calling-File",
                "Event-Calling-Function",
                "Event-Calling-Line-Number",
                "Event-Sequence"
            ]
        );
        assert_eq!(ev.get("Event-Calling-Function"), Some("send_heartbeat"));
        assert_eq!(ev.get("Event-Sequence"), Some("1"));
        assert_eq!(pbx.event("X").get("Event-Sequence"), Some("2"));
    }
}
