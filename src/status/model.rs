//! One FreeSWITCH server's state, rebuilt by a refresh and kept current by events.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::api::{self, GatewayState, VersionInfo};
use super::calls::{CallInfo, CallOutcome, Notice};
use super::headers::Headers;
use super::lines::{LineSet, LineStates};
use super::refresh::RefreshResult;
use super::tracking::{Binding, ChannelSet, Drift, RegistrationSet};

/// The binding a sofia event is about. `sofia::register` and `sofia::unregister` name it
/// `from-user`@`from-host`, `sofia::expire` `user`@`host` (sofia_reg.c:
/// `sofia_reg_handle_register_token`, `sofia_reg_del_callback`).
fn binding<'a>(ev: &'a impl Headers, call_id: Option<&'a str>) -> Binding<'a> {
    Binding {
        user: ev.value("from-user").or_else(|| ev.value("user")),
        realm: ev.value("from-host").or_else(|| ev.value("host")),
        call_id,
    }
}

/// The state of the ESL connection, as the daemon's supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Connecting or authenticating.
    Connecting,
    /// Authenticated and subscribed.
    Up,
    /// The connection is lost (or went silent for 2.5 heartbeat intervals) since the given time.
    NoLink {
        /// When the link was lost.
        since: Instant,
    },
    /// The password was refused; retrying will not help without a config change.
    AuthFailed,
    /// FreeSWITCH's ACL rejected this host (`text/rude-rejection`).
    AclDenied,
    /// FreeSWITCH announced it is shutting down.
    ShuttingDown,
}

/// The link state at one moment, with durations instead of instants, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkView {
    /// Connecting or authenticating.
    Connecting,
    /// Connected.
    Up,
    /// No connection for this long.
    NoLink {
        /// Time since the link was lost.
        down_for: Duration,
    },
    /// Password refused.
    AuthFailed,
    /// ACL refused.
    AclDenied,
    /// FreeSWITCH is shutting down.
    ShuttingDown,
}

impl LinkView {
    /// How bad the state is, for picking the worst of several servers: a state that needs a
    /// person (bad password, ACL) outranks one that heals by itself.
    pub fn severity(&self) -> (u8, Duration) {
        match self {
            Self::Up => (0, Duration::ZERO),
            Self::Connecting => (1, Duration::ZERO),
            Self::ShuttingDown => (2, Duration::ZERO),
            Self::NoLink { down_for } => (3, *down_for),
            Self::AclDenied => (4, Duration::ZERO),
            Self::AuthFailed => (5, Duration::ZERO),
        }
    }
}

/// One server's state.
///
/// Time comes in as tokio [`Instant`]s so uptime keeps counting between refreshes and tests can
/// run on paused time.
#[derive(Debug, Clone)]
pub struct PbxStatus {
    name: String,
    link: LinkState,
    stale: bool,
    channels: ChannelSet,
    registrations: RegistrationSet,
    /// The busy lamps' extensions, when a BLF page watches some.
    lines: LineSet,
    uptime: Option<(Duration, Instant)>,
    sessions_per_sec: Option<u64>,
    peak: Option<u64>,
    idle_cpu: Option<f64>,
    hostname: Option<String>,
    version: Option<String>,
    gateways: BTreeMap<String, GatewayState>,
    /// Calls found gone by the last refresh, for [`take_vanished`](Self::take_vanished).
    vanished: Vec<String>,
    /// When the server last said anything (an event or a refresh answer).
    last_heard: Option<Instant>,
    /// Silence longer than this marks the figures stale; see [`set_quiet_after`](Self::set_quiet_after).
    quiet_after: Option<Duration>,
}

impl PbxStatus {
    /// A server named `name` (the config's name for it), not yet connected.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            link: LinkState::Connecting,
            stale: true,
            channels: ChannelSet::default(),
            registrations: RegistrationSet::default(),
            lines: LineSet::default(),
            uptime: None,
            sessions_per_sec: None,
            peak: None,
            idle_cpu: None,
            hostname: None,
            version: None,
            gateways: BTreeMap::new(),
            vanished: Vec::new(),
            last_heard: None,
            quiet_after: None,
        }
    }

    /// The configured server name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The link state.
    pub fn link(&self) -> LinkState {
        self.link
    }

    /// Keys registrations by Call-ID when the server keeps several bindings per user
    /// (`multiple-registrations`), by user@realm otherwise (FreeSWITCH's default).
    pub fn set_multiple_registrations(&mut self, multiple: bool) {
        self.registrations.set_multiple(multiple);
    }

    /// Follows the calls and registrations of `extensions` one by one for the busy lamps
    /// ([`lines`](super::lines); at most [`MAX_LINES`](super::lines::MAX_LINES)). Call before
    /// the first refresh: the lamps are unknown until a refresh lists the channels.
    pub fn watch_lines(&mut self, extensions: &[String]) {
        self.lines.watch(extensions);
    }

    /// Whether any extension is watched: the link then subscribes to the call-state and
    /// hold events the lamps need.
    pub fn watches_lines(&self) -> bool {
        self.lines.watching()
    }

    /// The watched extensions' states, when they can be vouched for: channels listed and
    /// followed one by one, bindings too.
    pub fn lines(&self) -> Option<LineStates> {
        if !self.lines.watching() || self.channels.counted() {
            return None;
        }
        let regs = &self.registrations;
        let registered = |u: &str| regs.user_registered(u).unwrap_or(false);
        let followed = regs.followed();
        self.lines.states(followed.then_some(&registered as &dyn Fn(&str) -> bool))
    }

    /// The first sign of drift since the last call (see [`tracking`](super::tracking)):
    /// the link reconciles at once when there is one.
    pub fn take_drift(&mut self) -> Option<Drift> {
        let channels = self.channels.take_drift();
        let registrations = self.registrations.take_drift();
        let lamps = self.lines.take_behind().then_some(Drift::LampsBehind);
        channels.or(registrations).or(lamps)
    }

    /// Whether the last registration listing showed several bindings for one user@realm
    /// while the model keys by it: the server setting `multiple_registrations` is off but
    /// FreeSWITCH has `multiple-registrations` on.
    pub fn registrations_look_multiple(&self) -> bool {
        self.registrations.saw_several_per_user()
    }

    /// Calls the last refreshes found gone although no hang-up was seen: each comes back as a
    /// [`Notice::Gone`], so an alert about it ends with it.
    pub fn take_vanished(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.vanished).into_iter().map(Notice::Gone).collect()
    }

    /// Records a link change. Leaving `Up` marks every figure stale; coming back does not
    /// clear the mark, only a refresh does, since events missed in between are gone for good.
    pub fn set_link(&mut self, link: LinkState) {
        if link != LinkState::Up {
            self.stale = true;
        }
        self.link = link;
    }

    /// Whether the figures are unconfirmed since the last (re)connect.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// After this much silence the figures count as stale and the uptime stops advancing,
    /// until the server speaks again. The link sets 1.5 heartbeat intervals: a server sends a
    /// HEARTBEAT every interval, so a longer silence means it, or the path to it, is stuck
    /// (possibly mid-frame, which no reader can tell from a slow one), well before the link
    /// gives up on it at 2.5 intervals. `None` (the default) never goes quiet.
    pub fn set_quiet_after(&mut self, quiet_after: Option<Duration>) {
        self.quiet_after = quiet_after.filter(|d| !d.is_zero());
    }

    /// The server said something at `now` (a whole event, or an answer to a command).
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = Some(now);
    }

    /// When the server last said something.
    pub fn last_heard(&self) -> Option<Instant> {
        self.last_heard
    }

    /// When silence since the last word will make the figures stale, if it has not yet.
    pub fn quiet_at(&self) -> Option<Instant> {
        Some(self.last_heard? + self.quiet_after?)
    }

    /// Whether the server has been silent too long at `now`.
    pub fn is_quiet(&self, now: Instant) -> bool {
        self.quiet_at().is_some_and(|at| now >= at)
    }

    /// Whether the figures can be vouched for at `now`: refreshed since the last
    /// (re)connect, and the server not silent too long.
    fn stale_at(&self, now: Instant) -> bool {
        self.stale || self.is_quiet(now)
    }

    /// Current calls, if known: a ringing or bridged pair of legs counts once (FreeSWITCH's
    /// `show calls` counts a ringing pair twice until it is bridged).
    pub fn calls(&self) -> Option<u64> {
        self.channels.calls()
    }

    /// Current channels (call legs), if known.
    pub fn channels(&self) -> Option<u64> {
        self.channels.channels()
    }

    /// Registered bindings, if known.
    pub fn registrations(&self) -> Option<u64> {
        self.registrations.total()
    }

    /// Registered WebRTC (ws/wss) bindings, if known.
    pub fn webrtc_registrations(&self) -> Option<u64> {
        self.registrations.webrtc()
    }

    /// Uptime as of `now`, counting on from the last report while the figures are current.
    /// While they are stale it stands still (a server that went silent may have stopped at
    /// any moment since), at the value it had when the silence became too long, so it never
    /// runs backwards on the display.
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        let upto = match (self.stale_at(now), self.quiet_at(), self.last_heard) {
            (false, _, _) => now,
            (true, Some(quiet), _) if now >= quiet => quiet,
            (true, _, Some(heard)) => heard.min(now),
            (true, _, None) => now,
        };
        self.uptime.map(|(d, at)| d + upto.saturating_duration_since(at))
    }

    /// Sessions created in the last second.
    pub fn sessions_per_sec(&self) -> Option<u64> {
        self.sessions_per_sec
    }

    /// Highest session count since startup.
    pub fn peak(&self) -> Option<u64> {
        self.peak
    }

    /// Idle CPU in percent.
    pub fn idle_cpu(&self) -> Option<f64> {
        self.idle_cpu
    }

    /// FreeSWITCH's hostname.
    pub fn hostname(&self) -> Option<&str> {
        self.hostname.as_deref()
    }

    /// Short version (`1.10.12`).
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Gateways by name.
    pub fn gateways(&self) -> &BTreeMap<String, GatewayState> {
        &self.gateways
    }

    /// Call before sending the refresh `api` commands: events from here on may or may not be
    /// included in their answers, and [`apply_refresh`](Self::apply_refresh) merges them
    /// accordingly (rule in [`tracking`](super::tracking)).
    pub fn begin_refresh(&mut self) {
        self.channels.begin_refresh();
        self.registrations.begin_refresh();
        self.lines.begin_refresh();
    }

    /// Takes in the results of a refresh and clears the stale mark.
    pub fn apply_refresh(&mut self, r: &RefreshResult, now: Instant) {
        let status_sessions = r.status.as_ref().map(|s| s.sessions);
        let vanished =
            self.channels.apply_refresh(r.channel_list.as_deref(), r.channels.or(status_sessions), r.calls);
        self.vanished.extend(vanished);
        let fresh: Option<Vec<_>> = r
            .channel_list
            .as_ref()
            .map(|rows| rows.iter().filter(|row| !self.channels.is_ended(&row.uuid)).cloned().collect());
        self.lines.apply_refresh(fresh.as_deref());
        self.vanished.truncate(super::tracking::VANISHED_REPORTED);
        let profile_regs: Option<u64> = {
            let counts: Vec<u64> =
                r.profiles.iter().filter_map(|p| p.registrations().ok().flatten()).collect();
            (!counts.is_empty()).then(|| counts.iter().sum())
        };
        self.registrations.apply_refresh(r.registrations.as_ref(), r.registration_count.or(profile_regs));
        if let Some(s) = &r.status {
            self.uptime = Some((s.uptime, now));
            self.sessions_per_sec = Some(s.sessions_per_sec);
            self.peak = Some(s.peak);
            self.idle_cpu = s.idle_cpu.or(self.idle_cpu);
            if let Ok(v) = VersionInfo::parse(&s.version) {
                self.version = Some(v.short);
            }
        }
        if let Some(u) = r.uptime {
            self.uptime = Some((u, now));
        }
        if let Some(v) = &r.version {
            self.version = Some(v.short.clone());
        }
        if let Some(h) = &r.hostname {
            self.hostname = Some(h.clone());
        }
        if let Some(sofia) = &r.sofia {
            self.gateways = sofia.gateways().map(|(n, s)| (n.to_owned(), s)).collect();
        }
        self.stale = false;
        self.heard(now);
    }

    /// Applies one event and returns what people might want to see about it.
    ///
    /// Handles HEARTBEAT, CHANNEL_CREATE/ANSWER/BRIDGE/UNBRIDGE/HANGUP_COMPLETE, SHUTDOWN and
    /// CUSTOM `sofia::register`, `sofia::unregister`, `sofia::expire`, `sofia::gateway_state`,
    /// `eslmatrix::message`. Anything else, or an event missing the headers it needs, is
    /// ignored: one odd event must not disturb the rest of the state.
    pub fn apply_event(&mut self, ev: &impl Headers, now: Instant) -> Option<Notice> {
        self.heard(now);
        let name = ev.value("Event-Name")?.to_ascii_uppercase();
        if name.starts_with("CHANNEL_") {
            self.lines.on_event(&name, ev);
        }
        match name.as_str() {
            "HEARTBEAT" => {
                self.heartbeat(ev, now);
                None
            }
            "CHANNEL_CREATE" => {
                let uuid = ev.value("Unique-ID")?;
                let new = self.channels.create(uuid, ev.value("Channel-Call-UUID").unwrap_or(uuid));
                let loopback_b = ev.value("Channel-Name").is_some_and(api::is_loopback_b_name)
                    || ev.value("variable_loopback_leg").is_some_and(|l| l.eq_ignore_ascii_case("B"));
                if loopback_b {
                    // The dialled side of a loopback: the call was announced by its caller.
                    self.channels.mark_loopback_b(uuid);
                    return None;
                }
                if new {
                    CallInfo::from_event(ev).map(Notice::Incoming)
                } else {
                    None
                }
            }
            "CHANNEL_ANSWER" => {
                let uuid = ev.value("Unique-ID")?;
                if self.channels.is_ended(uuid) {
                    return None;
                }
                self.channels.expect_live(uuid);
                CallInfo::from_event(ev).map(Notice::Answered)
            }
            "CHANNEL_BRIDGE" => {
                let a = ev.value("Unique-ID")?;
                let call = ev.value("Channel-Call-UUID").unwrap_or(a);
                self.channels.bridge(a, ev.value("Other-Leg-Unique-ID"), call);
                None
            }
            // The legs stay one call until the last of them hangs up (see `calls`): an
            // unbridge is how a call starts to end, or a transfer starts.
            "CHANNEL_UNBRIDGE" => None,
            "CHANNEL_HANGUP_COMPLETE" => {
                let uuid = ev.value("Unique-ID")?;
                let loopback_b = self.channels.is_loopback_b(uuid)
                    || ev.value("Channel-Name").is_some_and(api::is_loopback_b_name);
                let first = self.channels.hangup(uuid, ev.value("Channel-Call-UUID").unwrap_or(uuid));
                if first && !loopback_b {
                    CallOutcome::from_event(ev).map(Notice::HungUp)
                } else {
                    None
                }
            }
            "SHUTDOWN" => {
                self.set_link(LinkState::ShuttingDown);
                None
            }
            "CUSTOM" => self.custom(ev),
            _ => None,
        }
    }

    fn heartbeat(&mut self, ev: &impl Headers, now: Instant) {
        let num = |h: &str| ev.value(h).and_then(|v| v.parse::<u64>().ok());
        let uptime = num("Uptime-msec")
            .map(Duration::from_millis)
            .or_else(|| ev.value("Up-Time").and_then(|t| api::parse_uptime_parts(t).ok()));
        if let Some(u) = uptime {
            self.uptime = Some((u, now));
        }
        if let Some(n) = num("Session-Count") {
            self.channels.heartbeat(n);
        }
        if let Some(n) = num("Session-Per-Sec-Last") {
            self.sessions_per_sec = Some(n);
        }
        if let Some(n) = num("Session-Peak-Max") {
            self.peak = Some(n);
        }
        if let Some(c) = ev.value("Idle-CPU").and_then(|v| v.parse::<f64>().ok()).filter(|c| c.is_finite()) {
            self.idle_cpu = Some(c);
        }
        if let Some(h) = ev.value("FreeSWITCH-Hostname") {
            self.hostname = Some(h.to_owned());
        }
        if let Some(v) = ev.value("FreeSWITCH-Version").and_then(|v| VersionInfo::parse(v).ok()) {
            self.version = Some(v.short);
        }
    }

    fn custom(&mut self, ev: &impl Headers) -> Option<Notice> {
        let subclass = ev.value("Event-Subclass")?.to_ascii_lowercase();
        match subclass.as_str() {
            "sofia::register" => {
                let call_id = ev.value("call-id")?;
                let webrtc = ev.value("contact").is_some_and(api::contact_is_webrtc)
                    || ev.value("status").is_some_and(|s| {
                        let s = s.to_ascii_uppercase();
                        s.contains("(WS") || s.contains("(WSS")
                    });
                let update = ev.value("update-reg").is_some_and(|v| v.eq_ignore_ascii_case("true"));
                self.registrations.register(binding(ev, Some(call_id)), webrtc, update);
                None
            }
            "sofia::unregister" | "sofia::expire" => {
                self.registrations.unregister(binding(ev, ev.value("call-id")));
                None
            }
            "sofia::gateway_state" => {
                let name = ev.value("Gateway")?.to_owned();
                let state = GatewayState::parse(ev.value("State")?);
                let was_up = self.gateways.get(&name).map(GatewayState::is_up);
                let changed = was_up != Some(state.is_up()) && (was_up.is_some() || !state.is_up());
                self.gateways.insert(name.clone(), state.clone());
                changed.then_some(Notice::Gateway { name, state })
            }
            "eslmatrix::message" => {
                let text = ev
                    .value("Message-Text")
                    .or_else(|| ev.body().map(str::trim).filter(|b| !b.is_empty()))?;
                Some(Notice::Message(text.to_owned()))
            }
            _ => None,
        }
    }

    /// A snapshot for the scene, with times turned into durations as of `now`.
    pub fn view(&self, now: Instant) -> StatusView {
        StatusView {
            server: self.name.clone(),
            hostname: self.hostname.clone(),
            version: self.version.clone(),
            calls: self.calls(),
            channels: self.channels(),
            registrations: self.registrations(),
            webrtc: self.webrtc_registrations(),
            uptime: self.uptime(now),
            sessions_per_sec: self.sessions_per_sec,
            peak: self.peak,
            idle_cpu: self.idle_cpu,
            gateways_up: self.gateways.values().filter(|g| g.is_up()).count() as u64,
            gateways_total: self.gateways.len() as u64,
            calls_counted: self.channels.counted(),
            registrations_counted: self.registrations.counted(),
            link: match self.link {
                LinkState::Connecting => LinkView::Connecting,
                LinkState::Up => LinkView::Up,
                LinkState::NoLink { since } => {
                    LinkView::NoLink { down_for: now.saturating_duration_since(since) }
                }
                LinkState::AuthFailed => LinkView::AuthFailed,
                LinkState::AclDenied => LinkView::AclDenied,
                LinkState::ShuttingDown => LinkView::ShuttingDown,
            },
            stale: self.stale_at(now),
            lines: self.lines(),
        }
    }
}

/// What the scene needs to know about one server (or the sum of several), frozen at one
/// moment. `None` means unknown, which the display shows as `?` rather than a made-up zero.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusView {
    /// The configured server name (or the aggregate's name).
    pub server: String,
    /// FreeSWITCH's hostname.
    pub hostname: Option<String>,
    /// Short version.
    pub version: Option<String>,
    /// Current calls.
    pub calls: Option<u64>,
    /// Current channels.
    pub channels: Option<u64>,
    /// Registered bindings.
    pub registrations: Option<u64>,
    /// Registered WebRTC bindings.
    pub webrtc: Option<u64>,
    /// Uptime at the moment of the view.
    pub uptime: Option<Duration>,
    /// Sessions per second.
    pub sessions_per_sec: Option<u64>,
    /// Peak sessions.
    pub peak: Option<u64>,
    /// Idle CPU percent.
    pub idle_cpu: Option<f64>,
    /// Gateways that can carry calls.
    pub gateways_up: u64,
    /// All gateways.
    pub gateways_total: u64,
    /// Calls and channels are counts from the `api` (a PBX too big to list, or more channels
    /// than [`MAX_TRACKED_CHANNELS`](super::tracking::MAX_TRACKED_CHANNELS)), not channels
    /// followed one by one: between two reconciles they can be off, and the display marks
    /// them.
    pub calls_counted: bool,
    /// The same for registrations.
    pub registrations_counted: bool,
    /// The link.
    pub link: LinkView,
    /// Figures not confirmed since the last (re)connect.
    pub stale: bool,
    /// The busy lamps' extensions, when watched and known (see [`PbxStatus::lines`]).
    pub lines: Option<LineStates>,
}

/// Several servers summed into one view, for a "sum" page.
///
/// Counts add up over the servers that know them; uptime and idle CPU take the minimum (the
/// weakest server is the one to watch); the link is the worst one; the result is stale when
/// any part is stale or unknown, because a sum with a missing term is not the true total.
#[derive(Debug, Clone, Copy)]
pub struct Aggregate;

impl Aggregate {
    /// Sums already-taken views.
    pub fn combine(name: &str, views: &[StatusView]) -> StatusView {
        fn sum(views: &[StatusView], f: impl Fn(&StatusView) -> Option<u64>) -> (Option<u64>, bool) {
            let known: Vec<u64> = views.iter().filter_map(&f).collect();
            // All unknown is plain unknown (`?`); only a partial sum is a misleading total.
            let missing = !known.is_empty() && known.len() != views.len();
            ((!known.is_empty()).then(|| known.iter().sum()), missing)
        }
        let mut missing = false;
        let mut take = |f: fn(&StatusView) -> Option<u64>| {
            let (v, m) = sum(views, f);
            missing |= m;
            v
        };
        let calls = take(|v| v.calls);
        let channels = take(|v| v.channels);
        let registrations = take(|v| v.registrations);
        let webrtc = take(|v| v.webrtc);
        let sessions_per_sec = take(|v| v.sessions_per_sec);
        let peak = take(|v| v.peak);
        let versions: Vec<&String> = views.iter().filter_map(|v| v.version.as_ref()).collect();
        let version = match versions.first() {
            Some(first) if versions.iter().all(|v| v == first) => Some((*first).clone()),
            Some(_) => Some("mixed".to_owned()),
            None => None,
        };
        StatusView {
            server: name.to_owned(),
            hostname: None,
            version,
            calls,
            channels,
            registrations,
            webrtc,
            uptime: views.iter().filter_map(|v| v.uptime).min(),
            sessions_per_sec,
            peak,
            idle_cpu: views.iter().filter_map(|v| v.idle_cpu).min_by(f64::total_cmp),
            gateways_up: views.iter().map(|v| v.gateways_up).sum(),
            gateways_total: views.iter().map(|v| v.gateways_total).sum(),
            calls_counted: views.iter().any(|v| v.calls_counted),
            registrations_counted: views.iter().any(|v| v.registrations_counted),
            link: views.iter().map(|v| v.link).max_by_key(LinkView::severity).unwrap_or(LinkView::Connecting),
            stale: views.is_empty() || missing || views.iter().any(|v| v.stale || v.link != LinkView::Up),
            lines: LineStates::combine(&views.iter().map(|v| v.lines.as_ref()).collect::<Vec<_>>()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::fixtures::{fixture, inner_event, sections};
    use crate::status::headers::HeaderMap;
    use crate::status::refresh::RefreshCommand as Cmd;

    fn t0() -> Instant {
        Instant::now()
    }

    fn up(now: Instant) -> PbxStatus {
        let mut s = PbxStatus::new("pbx1");
        s.set_link(LinkState::Up);
        s.begin_refresh();
        let mut r = RefreshResult::default();
        r.record(&Cmd::ChannelsJson, "{\"row_count\": 0}\n").unwrap();
        r.record(&Cmd::RegistrationsJson, "{\"row_count\": 0}\n").unwrap();
        s.apply_refresh(&r, now);
        s
    }

    fn channel(name: &str, uuid: &str, dir: &str) -> HeaderMap {
        HeaderMap::new()
            .with("Event-Name", name)
            .with("Unique-ID", uuid)
            .with("Channel-Call-UUID", uuid)
            .with("Call-Direction", dir)
            .with("Caller-Caller-ID-Number", "1001")
            .with("Caller-Caller-ID-Name", "Alice")
            .with("Caller-Destination-Number", "1000")
    }

    #[test]
    fn heartbeat_sample_fills_figures_and_uptime_keeps_counting() {
        let now = t0();
        let mut s = up(now);
        let ev = HeaderMap::from_plain(inner_event(&fixture(
            "esl-status/event_heartbeat_RECONSTRUCTED_1.10_wire.txt",
        )));
        assert_eq!(s.apply_event(&ev, now), None);
        assert_eq!(s.uptime(now), Some(Duration::from_millis(183_845_678)));
        assert_eq!(s.uptime(now + Duration::from_secs(10)), Some(Duration::from_millis(183_855_678)));
        assert_eq!(s.hostname(), Some("fs-test"));
        assert_eq!(s.version(), Some("1.10.12"));
        assert_eq!(s.idle_cpu(), Some(98.866667));
        assert_eq!((s.sessions_per_sec(), s.peak()), (Some(0), Some(4)));
        // Exact channel set from the listing: Session-Count does not override it.
        assert_eq!(s.channels(), Some(0));
    }

    #[test]
    fn silence_marks_figures_stale_and_stops_the_uptime_until_the_server_speaks() {
        let now = t0();
        let mut s = up(now);
        s.set_quiet_after(Some(Duration::from_secs(30)));
        let beat = HeaderMap::new().with("Event-Name", "HEARTBEAT").with("Uptime-msec", "100000");
        s.apply_event(&beat, now);
        let at = |secs| now + Duration::from_secs(secs);
        assert!(!s.view(at(29)).stale);
        assert_eq!(s.uptime(at(29)), Some(Duration::from_secs(129)));
        let quiet = s.view(at(30));
        assert!(quiet.stale, "1.5 heartbeats of silence");
        assert_eq!(quiet.uptime, Some(Duration::from_secs(130)));
        assert_eq!(s.view(at(45)).uptime, Some(Duration::from_secs(130)), "stands still, never runs back");
        assert_eq!(s.quiet_at(), Some(at(30)));
        s.apply_event(&HeaderMap::new().with("Event-Name", "RE_SCHEDULE"), at(46));
        let back = s.view(at(46));
        assert!(!back.stale, "any whole event proves the server alive");
        assert_eq!(back.uptime, Some(Duration::from_secs(146)));
        s.set_quiet_after(Some(Duration::ZERO));
        assert!(!s.view(at(1000)).stale, "zero turns the rule off");
    }

    #[test]
    fn old_heartbeat_without_uptime_msec_uses_up_time() {
        let now = t0();
        let mut s = PbxStatus::new("x");
        let mut ev = HeaderMap::from_plain(&fixture("esl-status/event_heartbeat_plain_greenswitch.txt"));
        assert_eq!(s.apply_event(&ev, now), None);
        assert_eq!(s.version(), Some("1.5.15"));
        assert_eq!(s.channels(), Some(0), "no refresh yet: the heartbeat count is all we have");
        ev = HeaderMap::new().with("Event-Name", "HEARTBEAT").with("Up-Time", "0 years, 1 day, 0 hours");
        s.apply_event(&ev, now);
        assert_eq!(s.uptime(now), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn call_lifecycle_counts_and_notices() {
        let now = t0();
        let mut s = up(now);
        let n = s.apply_event(&channel("CHANNEL_CREATE", "a", "inbound"), now);
        assert!(matches!(&n, Some(Notice::Incoming(c)) if c.label() == "Alice (1001) → 1000"));
        assert_eq!(s.apply_event(&channel("CHANNEL_CREATE", "a", "inbound"), now), None, "duplicate");
        let b = channel("CHANNEL_CREATE", "b", "outbound").with("Channel-Call-UUID", "ignored-duplicate");
        assert_eq!(s.apply_event(&b, now), None, "outbound legs are not announced");
        assert_eq!((s.channels(), s.calls()), (Some(2), Some(2)));
        let bridge = HeaderMap::new()
            .with("Event-Name", "CHANNEL_BRIDGE")
            .with("Unique-ID", "a")
            .with("Other-Leg-Unique-ID", "b")
            .with("Channel-Call-UUID", "a");
        s.apply_event(&bridge, now);
        assert_eq!((s.channels(), s.calls()), (Some(2), Some(1)));
        assert!(matches!(
            s.apply_event(&channel("CHANNEL_ANSWER", "a", "inbound"), now),
            Some(Notice::Answered(_))
        ));
        let hang = channel("CHANNEL_HANGUP_COMPLETE", "a", "inbound")
            .with("Hangup-Cause", "NORMAL_CLEARING")
            .with("variable_sip_term_status", "200")
            .with("Caller-Channel-Answered-Time", "1")
            .with("variable_billsec", "5");
        assert!(
            matches!(s.apply_event(&hang, now), Some(Notice::HungUp(o)) if o.label() == "Alice (1001) → 1000: 0:05")
        );
        assert_eq!(s.apply_event(&hang, now), None, "second hangup is a duplicate");
        s.apply_event(&channel("CHANNEL_HANGUP_COMPLETE", "b", "outbound"), now);
        assert_eq!((s.channels(), s.calls()), (Some(0), Some(0)));
        assert_eq!(s.apply_event(&channel("CHANNEL_ANSWER", "a", "inbound"), now), None, "late answer");
    }

    #[test]
    fn register_unregister_expire_samples() {
        let now = t0();
        let mut s = up(now);
        let frames = sections(&fixture(
            "esl-status/event_sofia_register_unregister_expire_RECONSTRUCTED_1.10_wire.txt",
        ));
        let ev = |name: &str| HeaderMap::from_plain(inner_event(&frames[name]));
        s.apply_event(&ev("sofia::register"), now);
        assert_eq!((s.registrations(), s.webrtc_registrations()), (Some(1), Some(0)));
        s.apply_event(&ev("sofia::unregister"), now);
        assert_eq!(s.registrations(), Some(0));
        s.apply_event(&ev("sofia::register"), now);
        s.apply_event(&ev("sofia::expire"), now);
        assert_eq!(s.registrations(), Some(0));
        s.apply_event(&ev("sofia::expire"), now);
        assert_eq!(s.registrations(), Some(0), "never below zero");

        let ws = HeaderMap::new()
            .with("Event-Name", "CUSTOM")
            .with("Event-Subclass", "sofia::register")
            .with("call-id", "w1")
            .with("contact", "\"1002\" <sip:abc@df7jal23ls0d.invalid;transport=ws>")
            .with("status", "Registered(WSS-NAT)");
        s.apply_event(&ws, now);
        assert_eq!((s.registrations(), s.webrtc_registrations()), (Some(1), Some(1)));
        // The 2009 capture spells the subclass unencoded.
        let old = HeaderMap::from_plain(&fixture("esl-status/event_custom_sofia_register_plain_2009.txt"));
        s.apply_event(&old, now);
        assert_eq!((s.registrations(), s.webrtc_registrations()), (Some(2), Some(1)));
    }

    #[test]
    fn gateway_changes_notify_only_on_up_down_transitions() {
        let now = t0();
        let mut s = up(now);
        let gw = |state: &str| {
            HeaderMap::new()
                .with("Event-Name", "CUSTOM")
                .with("Event-Subclass", "sofia::gateway_state")
                .with("Gateway", "carrier")
                .with("State", state)
        };
        assert_eq!(
            s.apply_event(&gw("TRYING"), now),
            Some(Notice::Gateway { name: "carrier".into(), state: GatewayState::Trying })
        );
        assert_eq!(s.apply_event(&gw("FAILED"), now), None, "still down");
        assert_eq!(
            s.apply_event(&gw("REGED"), now),
            Some(Notice::Gateway { name: "carrier".into(), state: GatewayState::Reged })
        );
        assert_eq!(s.apply_event(&gw("REGED"), now), None);
        assert_eq!(s.view(now).gateways_up, 1);
        let mut fresh = up(now);
        assert_eq!(
            fresh.apply_event(&gw("REGED"), now),
            None,
            "first sighting of an up gateway is news to no one"
        );
    }

    #[test]
    fn pushed_messages_from_header_or_body() {
        let now = t0();
        let mut s = up(now);
        let base = HeaderMap::new().with("Event-Name", "CUSTOM").with("Event-Subclass", "eslmatrix::message");
        let with_header = base.clone().with("Message-Text", "Lunch 12:00");
        assert_eq!(s.apply_event(&with_header, now), Some(Notice::Message("Lunch 12:00".into())));
        let mut with_body = base.clone();
        with_body.set_body("  Fire drill  \n");
        assert_eq!(s.apply_event(&with_body, now), Some(Notice::Message("Fire drill".into())));
        assert_eq!(s.apply_event(&base, now), None);
    }

    #[test]
    fn junk_events_are_ignored() {
        let now = t0();
        let mut s = up(now);
        for ev in [
            HeaderMap::new(),
            HeaderMap::new().with("Event-Name", "CHANNEL_CREATE"),
            HeaderMap::new().with("Event-Name", "CUSTOM"),
            HeaderMap::new().with("Event-Name", "CUSTOM").with("Event-Subclass", "sofia::register"),
            HeaderMap::new()
                .with("Event-Name", "HEARTBEAT")
                .with("Uptime-msec", "-5")
                .with("Idle-CPU", "NaN"),
            HeaderMap::new().with("Event-Name", "RE_SCHEDULE"),
        ] {
            assert_eq!(s.apply_event(&ev, now), None);
        }
        assert_eq!(
            (s.channels(), s.registrations(), s.idle_cpu(), s.uptime(now)),
            (Some(0), Some(0), None, None)
        );
    }

    #[test]
    fn refresh_from_api_bodies_and_stale_marker() {
        let now = t0();
        let mut s = PbxStatus::new("pbx1");
        assert!(s.is_stale());
        let mut r = RefreshResult::default();
        r.record(&Cmd::Status, &fixture("esl-status/api_status_RECONSTRUCTED_1.10.txt")).unwrap();
        r.record(&Cmd::CallsCount, "\n1 total.\n").unwrap();
        r.record(
            &Cmd::Registrations,
            fixture("esl-status/show_registrations_real.txt").split("===").next().unwrap_or(""),
        )
        .unwrap();
        r.record(&Cmd::SofiaStatus, &fixture("esl-status/sofia_status_RECONSTRUCTED.txt")).unwrap();
        r.record(&Cmd::Hostname, "fs-test").unwrap();
        assert!(r.record(&Cmd::CallsCount, "-ERR no reply\n").is_err());
        s.set_link(LinkState::Up);
        assert!(s.is_stale(), "up but not refreshed");
        s.apply_refresh(&r, now);
        assert!(!s.is_stale());
        assert_eq!((s.channels(), s.calls()), (Some(2), Some(1)), "status sessions stand in for channels");
        assert_eq!((s.registrations(), s.webrtc_registrations()), (Some(2), Some(0)));
        assert_eq!(s.version(), Some("1.10.12"));
        assert_eq!(s.gateways().get("example.com"), Some(&GatewayState::NoReg));
        let v = s.view(now + Duration::from_secs(1));
        assert_eq!(v.uptime, Some(Duration::from_secs(183_846) + Duration::from_micros(678_901)));
        assert_eq!(v.hostname.as_deref(), Some("fs-test"));
        let lost = now + Duration::from_secs(5);
        s.set_link(LinkState::NoLink { since: lost });
        assert!(s.is_stale());
        assert_eq!(
            s.view(lost + Duration::from_secs(120)).link,
            LinkView::NoLink { down_for: Duration::from_secs(120) }
        );
        s.set_link(LinkState::Up);
        assert!(s.is_stale(), "reconnected but not yet refreshed");
    }

    #[test]
    fn profile_registration_count_is_a_fallback() {
        let now = t0();
        let mut s = PbxStatus::new("p");
        let mut r = RefreshResult::default();
        r.record(
            &Cmd::SofiaProfile("internal".into()),
            &fixture("esl-status/sofia_status_profile_internal_RECONSTRUCTED_1.10.12.txt"),
        )
        .unwrap();
        s.apply_refresh(&r, now);
        assert_eq!((s.registrations(), s.webrtc_registrations()), (Some(3), None));
    }

    #[test]
    fn shutdown_event_sets_link() {
        let now = t0();
        let mut s = up(now);
        s.apply_event(&HeaderMap::new().with("Event-Name", "SHUTDOWN"), now);
        assert_eq!(s.link(), LinkState::ShuttingDown);
        assert!(s.is_stale());
    }

    #[test]
    fn aggregate_sums_and_takes_worst() {
        let now = t0();
        let mut a = up(now);
        let mut b = up(now);
        for (s, n) in [(&mut a, 2u64), (&mut b, 3)] {
            let r = RefreshResult {
                calls: Some(n),
                channels: Some(n * 2),
                registration_count: Some(n * 10),
                uptime: Some(Duration::from_secs(n * 100)),
                ..Default::default()
            };
            s.apply_refresh(&r, now);
        }
        let v = Aggregate::combine("sum", &[a.view(now), b.view(now)]);
        assert_eq!((v.calls, v.channels, v.registrations), (Some(5), Some(10), Some(50)));
        assert_eq!(v.uptime, Some(Duration::from_secs(200)));
        assert_eq!(v.link, LinkView::Up);
        assert!(!v.stale);
        assert_eq!(v.server, "sum");
        b.set_link(LinkState::NoLink { since: now });
        let c = PbxStatus::new("c");
        let later = now + Duration::from_secs(60);
        let v = Aggregate::combine("sum", &[a.view(later), b.view(later), c.view(later)]);
        assert_eq!(v.link, LinkView::NoLink { down_for: Duration::from_secs(60) });
        assert!(v.stale);
        assert_eq!(v.calls, Some(5), "known parts still add up, marked stale");
        b.set_link(LinkState::AuthFailed);
        assert_eq!(Aggregate::combine("sum", &[a.view(later), b.view(later)]).link, LinkView::AuthFailed);
        assert!(Aggregate::combine("none", &[]).stale);
    }

    #[test]
    fn busy_lamps_follow_calls_and_registrations_through_events_and_rebuilds() {
        use crate::status::LineState::*;
        let now = t0();
        let mut s = PbxStatus::new("pbx1");
        s.watch_lines(&["1000".into(), "1001".into(), "1002".into()]);
        assert!(s.watches_lines());
        s.set_link(LinkState::Up);
        assert_eq!(s.lines(), None, "nothing known before the first rebuild");
        s.begin_refresh();
        let mut r = RefreshResult::default();
        r.record(&Cmd::ChannelsJson, "{\"row_count\": 0}\n").unwrap();
        let regs = r#"{"row_count": 2, "rows": [
            {"reg_user": "1000", "realm": "pbx", "token": "t0"},
            {"reg_user": "1001", "realm": "pbx", "token": "t1"}]}"#;
        r.record(&Cmd::RegistrationsJson, regs).unwrap();
        s.apply_refresh(&r, now);
        let states = |s: &PbxStatus| {
            let l = s.view(now).lines.expect("known");
            ["1000", "1001", "1002"].map(|e| l.get(e).unwrap())
        };
        assert_eq!(states(&s), [Idle, Idle, Unregistered]);
        let ev = |name: &str, uuid: &str, dir: &str, presence: &str, state: &str| {
            HeaderMap::new()
                .with("Event-Name", name)
                .with("Unique-ID", uuid)
                .with("Channel-Call-UUID", "a")
                .with("Call-Direction", dir)
                .with("Channel-Presence-ID", presence)
                .with("Channel-Call-State", state)
        };
        s.apply_event(&ev("CHANNEL_CREATE", "a", "inbound", "1001@pbx", "DOWN"), now);
        s.apply_event(&ev("CHANNEL_CREATE", "b", "outbound", "1000@pbx", "DOWN"), now);
        assert_eq!(states(&s), [Ringing, InCall, Unregistered]);
        s.apply_event(&ev("CHANNEL_ANSWER", "b", "outbound", "1000@pbx", "RINGING"), now);
        s.apply_event(&ev("CHANNEL_HOLD", "a", "inbound", "1001@pbx", "HELD"), now);
        assert_eq!(states(&s), [InCall, Held, Unregistered]);
        let unreg = HeaderMap::new()
            .with("Event-Name", "CUSTOM")
            .with("Event-Subclass", "sofia::unregister")
            .with("from-user", "1000")
            .with("from-host", "pbx")
            .with("call-id", "t0");
        s.apply_event(&unreg, now);
        s.apply_event(&ev("CHANNEL_HANGUP_COMPLETE", "b", "outbound", "1000@pbx", "HANGUP"), now);
        s.apply_event(&ev("CHANNEL_HANGUP_COMPLETE", "a", "inbound", "1001@pbx", "HANGUP"), now);
        assert_eq!(states(&s), [Unregistered, Idle, Unregistered]);
        // A reconnect: stale until the rebuild, which lists a call that started meanwhile.
        s.set_link(LinkState::NoLink { since: now });
        assert!(s.view(now).stale, "the scene shows the link, not the lamps");
        s.set_link(LinkState::Up);
        s.begin_refresh();
        let mut r = RefreshResult::default();
        let rows = r#"{"row_count": 1, "rows": [
            {"uuid": "c", "direction": "outbound", "presence_id": "1001@pbx", "callstate": "RINGING"}]}"#;
        r.record(&Cmd::ChannelsJson, rows).unwrap();
        r.record(&Cmd::RegistrationsJson, regs).unwrap();
        s.apply_refresh(&r, now);
        assert_eq!(states(&s), [Idle, Ringing, Unregistered]);
        // Counts only: the lamps cannot be vouched for.
        s.begin_refresh();
        s.apply_refresh(&RefreshResult { channels: Some(1), calls: Some(1), ..Default::default() }, now);
        assert_eq!(s.view(now).lines, None);
    }
}
