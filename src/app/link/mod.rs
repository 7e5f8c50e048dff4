//! One FreeSWITCH server's Event Socket link, supervised: connect, log in, subscribe,
//! rebuild state with `api` calls, follow events, and reconnect with backoff.
//!
//! freeswitch-esl-tokio never reconnects on its own, by design; [`supervise`] is the
//! policy. Each (re)connect runs:
//!
//! 1. connect and `auth` (a wrong password shows `AuthFailed`, an ACL rejection `AclDenied`;
//!    both are retried every [`LinkOptions::auth_retry`], never in a tight loop; a refused,
//!    unreachable or silent host shows `NoLink` and is retried with exponential backoff);
//! 2. subscribe (plain format) to the events the status model understands;
//! 3. rebuild the state with `api` calls (ESL has no replay), applying the events that arrive
//!    meanwhile: [`PbxStatus`]'s merge rule makes the race harmless;
//! 4. follow events until the session ends: EOF, a disconnect notice, or no event for 2.5
//!    heartbeat intervals (HEARTBEAT is the only liveness signal ESL has). After 1.5
//!    intervals of silence the figures are already marked stale and the uptime stops, so a
//!    stuck server (even one stopped in the middle of a frame) never looks live.
//!
//! Between sessions the figures stay on the display, marked stale, until the next refresh.
//! The view goes out on a `watch` channel, so a burst of events costs the player one redraw;
//! notices go on a bounded `mpsc` and are dropped (and counted) rather than ever slowing
//! event intake.

mod backoff;
mod esl_headers;
mod reconcile;
mod session;

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{info, warn, Instrument};

use crate::status::api::{ChannelRow, Registration, SofiaStatus};
use crate::status::{Headers, LinkState, Notice, PackedHeaders, PbxStatus, RefreshCommand, StatusView};

use backoff::Backoff;
pub use esl_headers::EslHeaders;
use session::{ConnectFailure, SessionEnd};

/// FreeSWITCH's Event Socket port (`mod_event_socket`'s `listen-port`).
pub const DEFAULT_PORT: u16 = 8021;

/// The host a server defaults to: FreeSWITCH on this machine.
pub const LOCAL_HOST: &str = "127.0.0.1";

/// FreeSWITCH's stock Event Socket password, used when nothing else gives one.
pub const DEFAULT_PASSWORD: &str = "ClueCon";

/// Where and how to reach one server.
#[derive(Clone)]
pub struct ServerConfig {
    /// Shown on the display when several servers are configured.
    pub name: String,
    /// Host name or address.
    pub host: String,
    /// Event Socket port.
    pub port: u16,
    /// Never logged or shown.
    pub password: String,
    /// FreeSWITCH keeps one binding per Call-ID (`multiple-registrations` on) instead of one
    /// per user@realm (its default).
    pub multiple_registrations: bool,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &"<hidden>")
            .field("multiple_registrations", &self.multiple_registrations)
            .finish()
    }
}

/// Supervision timings.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// First reconnect delay; doubles per failure, with jitter, up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Delay before retrying after a wrong password or an ACL rejection (never a tight loop).
    pub auth_retry: Duration,
    /// FreeSWITCH's HEARTBEAT interval: after 1.5 of them without a word the figures show
    /// as stale, after 2.5 the link is declared dead.
    pub heartbeat: Duration,
    /// How long a TCP connect and login may take.
    pub connect_timeout: Duration,
    /// How long one command may wait for its reply.
    pub command_timeout: Duration,
    /// How often the state is rebuilt from the `api` although nothing looked wrong, so no
    /// figure stays wrong longer than this whatever happened to the events. Signs of drift
    /// (see [`crate::status::Drift`]) rebuild at once.
    pub reconcile: Duration,
    /// The extensions the busy-lamp field pages show: their calls and registrations are
    /// followed one by one (see [`crate::status::lines`]) and the events their lamps need
    /// (call state, hold) subscribed. Empty: none, and the daemon pays nothing for lamps.
    pub lines: Vec<String>,
    /// Seeds the backoff jitter. `None` seeds from the clock and process, so displays that
    /// lost the same switch do not all come back at the same instant; tests set a value.
    pub jitter_seed: Option<u64>,
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
            reconcile: Duration::from_secs(60),
            lines: Vec::new(),
            jitter_seed: None,
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

/// What a link hands the call view (`eslmatrix calls`) besides its [`StatusView`]: the
/// channel and registration events as they come, and the listings of every rebuild, so the view follows the
/// calls one by one with the daemon's reconnects and rebuilds.
#[derive(Debug, Clone)]
pub enum CallFeed {
    /// A channel event (CHANNEL_* or CODEC), a `sofia::` registration event, or a HEARTBEAT
    /// (its `Event-Date-Timestamp` is the PBX's clock, which the listing's expiries need).
    Event(PackedHeaders),
    /// A rebuild starts: calls created from here on are newer than its listing.
    Rebuilding,
    /// The rebuild's `show channels as json`.
    Rebuilt(Vec<ChannelRow>),
    /// The rebuild's registrations listing.
    Registrations(Vec<Registration>),
    /// The rebuild's `sofia status`, for the gateways tab.
    Gateways(SofiaStatus),
    /// The rebuild's `sofia xmlstatus profile internal reg`: the user agents the
    /// registrations listing lacks, sent after [`CallFeed::Registrations`].
    Agents(Vec<crate::status::reg_table::RegAgent>),
}

/// The `sofia::` subclasses the registrations and gateways tabs follow.
const CALL_VIEW_SUBCLASSES: [&str; 4] =
    ["sofia::register", "sofia::unregister", "sofia::expire", "sofia::gateway_state"];

/// How many feed items may wait for the call view. A link never waits for it: an item
/// beyond this is dropped and the link rebuilds at once, so the view is right again from
/// the rebuild's listing.
pub const CALL_FEED_QUEUE: usize = 4096;

/// What a link did, returned when it stops: for logs, tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Connection attempts (each TCP connect + login).
    pub attempts: u64,
    /// Sessions that logged in and subscribed.
    pub sessions: u64,
    /// State rebuilds applied (one per session, plus one per resync after lost events).
    pub refreshes: u64,
    /// Events applied to the model.
    pub events: u64,
    /// Notices handed to the player.
    pub notices_sent: u64,
    /// Notices dropped because the player's queue was full (or gone).
    pub notices_dropped: u64,
    /// Times the published view actually changed.
    pub views_published: u64,
    /// Events the ESL client dropped because this task fell behind (each one forces a resync).
    pub events_lost: u64,
    /// Rebuilds after the first of a session: periodic, or for signs of drift or lost events.
    pub reconciles: u64,
    /// Events the client could not read (skipped; each kind logged once per link).
    pub events_unreadable: u64,
    /// Reconciles that changed a figure (each one logged with what changed and why).
    pub corrections: u64,
    /// Why the last session or attempt failed, as one line.
    pub last_error: Option<String>,
}

/// Heartbeat intervals of silence after which the figures show as stale (`~`) and the
/// uptime stops; the link is declared dead at [`DEAD_HEARTBEATS`].
pub const QUIET_HEARTBEATS: f64 = 1.5;
/// Heartbeat intervals of silence after which the link is declared dead and reconnects.
pub const DEAD_HEARTBEATS: f64 = 2.5;

/// How often the view is republished while nothing happens, so durations in it (uptime,
/// time without a link) keep counting on the display.
const VIEW_TICK: Duration = Duration::from_secs(1);

/// Runs the link to server `server` until `stop` turns true (or its sender is dropped), then
/// returns what it did. It never gives up on its own: every failure is shown in the view
/// and retried. `index` (the server's position in the config) only labels the logs.
///
/// Every state change is published on `out.status`; notices go on `out.notices`.
pub async fn supervise(
    index: usize,
    server: ServerConfig,
    opts: LinkOptions,
    out: LinkChannels,
    stop: watch::Receiver<bool>,
) -> LinkStats {
    supervise_feeding(index, server, opts, out, None, stop).await
}

/// [`supervise`], also feeding `calls` (the call view) every channel event and rebuild,
/// with the events only the call view reads subscribed too.
pub async fn supervise_feeding(
    index: usize,
    server: ServerConfig,
    opts: LinkOptions,
    out: LinkChannels,
    calls: Option<mpsc::Sender<CallFeed>>,
    mut stop: watch::Receiver<bool>,
) -> LinkStats {
    // The password stays out of the span: only name and address label the logs.
    let span =
        tracing::info_span!("link", index, server = %server.name, host = %server.host, port = server.port);
    let seed = opts.jitter_seed.unwrap_or_else(|| clock_seed(index));
    let backoff = Backoff::new(opts.backoff_min, opts.backoff_max, seed);
    let mut pbx = PbxStatus::new(&server.name);
    pbx.set_quiet_after(Some(opts.heartbeat.mul_f64(QUIET_HEARTBEATS)));
    pbx.set_multiple_registrations(server.multiple_registrations);
    pbx.watch_lines(&opts.lines);
    let link = Link {
        pbx,
        server,
        opts,
        out,
        stats: LinkStats::default(),
        down_since: None,
        advised_multiple: false,
        unreadable_kinds: Vec::new(),
        skip_listings: Vec::new(),
        calls,
        calls_behind: false,
    };
    link.run(backoff, &mut stop).instrument(span).await
}

fn clock_seed(index: usize) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()).rotate_left(32) ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Resolves once a stop is requested; a dropped sender counts as one.
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn is_stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// The supervisor's state, kept across sessions.
struct Link {
    server: ServerConfig,
    opts: LinkOptions,
    out: LinkChannels,
    pbx: PbxStatus,
    stats: LinkStats,
    /// Start of the current outage, kept through failed retries so the display's
    /// "down for" does not restart with every attempt.
    down_since: Option<Instant>,
    /// Whether the advice to set `multiple_registrations` was logged already.
    advised_multiple: bool,
    /// Kinds of unreadable event already logged.
    unreadable_kinds: Vec<String>,
    /// Listings during which a session broke, once per break (an answer too big for the
    /// client ends the connection, however the counts looked). Two breaks and this link never
    /// asks for that listing again, so a big PBX cannot cause a reconnect loop, while one
    /// network blip does not cost the listing for good.
    skip_listings: Vec<RefreshCommand>,
    /// The call view's feed, when one runs.
    calls: Option<mpsc::Sender<CallFeed>>,
    /// The feed dropped an item: the session rebuilds at once.
    calls_behind: bool,
}

impl Link {
    async fn run(mut self, mut backoff: Backoff, stop: &mut watch::Receiver<bool>) -> LinkStats {
        self.pbx.set_link(LinkState::Connecting);
        self.publish(Instant::now());
        while !is_stopped(stop) {
            self.stats.attempts += 1;
            let connected = tokio::select! {
                () = stop_requested(stop) => break,
                c = session::connect(&self.server, &self.opts) => c,
            };
            let wait = match connected {
                Ok(conn) => match session::run(&mut self, conn, stop).await {
                    SessionEnd::Stopped => break,
                    SessionEnd::Lost { reason, shutting_down, up_for } => {
                        if up_for >= self.opts.backoff_max {
                            backoff.reset();
                        }
                        let now = Instant::now();
                        self.down_since.get_or_insert(now);
                        if shutting_down {
                            // Stays on screen until a retry shows the switch is really gone.
                            self.pbx.set_link(LinkState::ShuttingDown);
                        } else {
                            self.link_lost(now);
                        }
                        let wait = backoff.next_delay();
                        warn!("link lost: {reason}; reconnecting in {wait:.1?}");
                        self.stats.last_error = Some(reason);
                        wait
                    }
                },
                Err(failure) => {
                    let now = Instant::now();
                    self.down_since.get_or_insert(now);
                    let wait = match &failure {
                        ConnectFailure::Auth(_) => {
                            self.pbx.set_link(LinkState::AuthFailed);
                            self.opts.auth_retry
                        }
                        ConnectFailure::Acl(_) => {
                            self.pbx.set_link(LinkState::AclDenied);
                            self.opts.auth_retry
                        }
                        ConnectFailure::Unreachable(_) => {
                            self.link_lost(now);
                            backoff.next_delay()
                        }
                    };
                    warn!("{failure}; retrying in {wait:.1?}");
                    self.stats.last_error = Some(failure.to_string());
                    wait
                }
            };
            self.publish(Instant::now());
            if !self.pause(wait, stop).await {
                break;
            }
        }
        info!("link stopped");
        self.stats
    }

    fn link_lost(&mut self, now: Instant) {
        let since = *self.down_since.get_or_insert(now);
        self.pbx.set_link(LinkState::NoLink { since });
    }

    /// Waits `wait`, republishing the view every tick; `false` if a stop came first.
    async fn pause(&mut self, wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        let until = Instant::now() + wait;
        loop {
            let now = Instant::now();
            if now >= until {
                return true;
            }
            tokio::select! {
                () = stop_requested(stop) => return false,
                () = tokio::time::sleep_until(until.min(now + VIEW_TICK)) => self.publish(Instant::now()),
            }
        }
    }

    /// Puts the current view on the watch channel if it differs from what is there.
    fn publish(&mut self, now: Instant) {
        let view = self.pbx.view(now);
        let changed = self.out.status.send_if_modified(|current| {
            if *current == view {
                false
            } else {
                *current = view;
                true
            }
        });
        if changed {
            self.stats.views_published += 1;
        }
    }

    fn on_event(&mut self, event: &freeswitch_esl_tokio::EslEvent, now: Instant) {
        self.stats.events += 1;
        let headers = EslHeaders(event);
        if let Some(notice) = self.pbx.apply_event(&headers, now) {
            self.notify(notice);
        }
        if self.calls.is_some()
            && (headers
                .value("Event-Name")
                .is_some_and(|n| n.starts_with("CHANNEL_") || n == "CODEC" || n == "HEARTBEAT")
                || headers.value("Event-Subclass").is_some_and(|s| CALL_VIEW_SUBCLASSES.contains(&s)))
        {
            let mut copy = PackedHeaders::new();
            for (name, value) in event.headers() {
                copy.push(name, value);
            }
            self.feed_calls(CallFeed::Event(copy));
        }
    }

    /// Hands the call view an item without ever waiting for it.
    fn feed_calls(&mut self, item: CallFeed) {
        if let Some(feed) = &self.calls {
            if feed.try_send(item).is_err() && !feed.is_closed() {
                self.calls_behind = true;
            }
        }
    }

    /// Hands a notice to the player without ever waiting for it.
    fn notify(&mut self, notice: Notice) {
        match self.out.notices.try_send(notice) {
            Ok(()) => self.stats.notices_sent += 1,
            Err(e) => {
                self.stats.notices_dropped += 1;
                tracing::debug!("notice dropped ({e})");
            }
        }
    }
}
