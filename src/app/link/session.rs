//! One ESL session: log in, subscribe, rebuild the state, follow events until it ends.

use std::time::Duration;

use freeswitch_esl_tokio::{
    ConnectionStatus, DisconnectReason, EslClient, EslConnectOptions, EslError, EslEvent, EslEventStream,
    EslEventType, EventFormat, EventOverflow, EventSubscription, EventSubscriptionError,
};
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, info, warn};

use super::reconcile::{Cause, Figures, Schedule};
use super::{stop_requested, CallFeed, Link, LinkOptions, ServerConfig, VIEW_TICK};
use crate::status::reg_table::{parse_agents_xml, RegAgent};
use crate::status::{LinkState, RefreshCommand, RefreshResult};

/// The event types the status model reads.
pub(super) const EVENTS: [EslEventType; 7] = [
    EslEventType::Heartbeat,
    EslEventType::ChannelCreate,
    EslEventType::ChannelAnswer,
    EslEventType::ChannelBridge,
    EslEventType::ChannelUnbridge,
    EslEventType::ChannelHangupComplete,
    EslEventType::Shutdown,
];

/// The events only the call view (`eslmatrix calls`) and the busy lamps read: a link that
/// feeds a call view or watches extensions subscribes to these too, so the daemon alone pays
/// nothing for them.
pub(super) const CALL_VIEW_EVENTS: [EslEventType; 7] = [
    EslEventType::ChannelProgress,
    EslEventType::ChannelProgressMedia,
    EslEventType::ChannelCallstate,
    EslEventType::ChannelHold,
    EslEventType::ChannelUnhold,
    EslEventType::ChannelHangup,
    EslEventType::Codec,
];

/// CUSTOM subclasses the status model reads; `CUSTOM` alone would deliver none of them.
pub(super) const SUBCLASSES: [&str; 5] =
    ["sofia::register", "sofia::unregister", "sofia::expire", "sofia::gateway_state", "eslmatrix::message"];

/// The `api` commands that rebuild the state after a (re)connect, after the counts and the
/// listings that fit ([`RefreshCommand::listings_within_limits`]): each answers in a few
/// lines whatever the PBX's size.
pub(super) fn refresh_commands() -> [RefreshCommand; 4] {
    [
        RefreshCommand::SofiaProfile("internal".to_owned()),
        RefreshCommand::SofiaStatus,
        RefreshCommand::Status,
        RefreshCommand::Version,
    ]
}

/// Events the ESL client may buffer ahead of this task; bursts beyond it wait briefly.
const EVENT_QUEUE: usize = 4096;
/// How long the client's reader may wait for room before it drops an event. This task
/// never blocks while it drains (not even during the refresh, which runs beside it), so a
/// drop means the process is starved; the next event then triggers a resync.
const OVERFLOW_WAIT: Duration = Duration::from_millis(500);
/// Events applied between two view publications at most, so a flood still redraws.
const DRAIN_BATCH: usize = 1024;
/// Unreadable events in a row after which the server counts as broken: the session ends and
/// the reconnect goes through the backoff, so a server that only sends garbage shows NO LINK
/// instead of figures nothing confirms, and is never hammered.
const UNREADABLE_IN_A_ROW: u32 = 256;
/// A goodbye to a dead peer must not hold up the reconnect.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a connection attempt failed, sorted by what the supervisor does next.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectFailure {
    // Each message ends with what to change, since the person reading it has to fix it.
    #[error("password refused ({0}): set the Event Socket password (ESLMATRIX_PASSWORD, -a for show, or password in [[server]])")]
    Auth(String),
    #[error("ACL refused this host ({0}): allow it in apply-inbound-acl of event_socket.conf.xml")]
    Acl(String),
    #[error("cannot connect: {0}")]
    Unreachable(String),
}

/// Why a rebuild failed.
#[derive(Debug, thiserror::Error)]
enum RebuildError {
    #[error("state rebuild failed: {0}")]
    Esl(#[from] EslError),
    /// The connection broke while a listing was coming in (an answer over the client's
    /// message limit does that): later sessions rebuild without it.
    #[error("state rebuild failed during `{command}`: {source}")]
    Listing { command: RefreshCommand, source: EslError },
    #[error("state rebuild failed: no api command was answered")]
    Empty,
}

/// How a session ended.
pub(super) enum SessionEnd {
    /// The supervisor was told to stop.
    Stopped,
    /// The link went away; `up_for` is how long the session lasted.
    Lost { reason: String, shutting_down: bool, up_for: Duration },
}

/// A logged-in connection, not yet subscribed.
pub(super) struct Connection {
    client: EslClient,
    events: EslEventStream,
}

/// Connects and logs in, classifying a failure as the display should show it.
pub(super) async fn connect(server: &ServerConfig, opts: &LinkOptions) -> Result<Connection, ConnectFailure> {
    let options = EslConnectOptions::new()
        .with_connect_timeout(opts.connect_timeout)
        .with_event_queue_size(EVENT_QUEUE)
        .with_event_overflow(EventOverflow::BlockFor(OVERFLOW_WAIT));
    match EslClient::connect_with_options(&server.host, server.port, &server.password, options).await {
        Ok((client, events)) => {
            client.set_command_timeout(opts.command_timeout);
            Ok(Connection { client, events })
        }
        Err(EslError::AuthenticationFailed { reason }) => Err(ConnectFailure::Auth(one_line(&reason))),
        Err(EslError::AccessDenied { reason }) => Err(ConnectFailure::Acl(one_line(&reason))),
        Err(e) => Err(ConnectFailure::Unreachable(format!(
            "{}; is FreeSWITCH running, with mod_event_socket listening on {}:{} (listen-ip and \
             listen-port in event_socket.conf.xml)?",
            one_line(&e.to_string()),
            server.host,
            server.port
        ))),
    }
}

/// The subscription every session makes; `call_view` adds [`CALL_VIEW_EVENTS`].
pub(super) fn subscription(call_view: bool) -> Result<EventSubscription, EventSubscriptionError> {
    let sub = EventSubscription::new(EventFormat::Plain).events(EVENTS);
    let sub = if call_view { sub.events(CALL_VIEW_EVENTS) } else { sub };
    sub.custom_subclasses(SUBCLASSES)
}

/// Runs one session to its end and says how it ended. The connection is closed on return.
pub(super) async fn run(link: &mut Link, conn: Connection, stop: &mut watch::Receiver<bool>) -> SessionEnd {
    let Connection { client, mut events } = conn;
    let started = Instant::now();
    let mut lost_seen = 0;
    let end = follow(link, &client, &mut events, stop, &mut lost_seen).await;
    link.stats.events_lost += client.dropped_event_count().saturating_sub(lost_seen);
    drop(events);
    if timeout(DISCONNECT_TIMEOUT, client.disconnect()).await.is_err() {
        debug!("disconnect did not complete");
    }
    match end {
        Ok(()) => SessionEnd::Stopped,
        Err((reason, shutting_down)) => SessionEnd::Lost { reason, shutting_down, up_for: started.elapsed() },
    }
}

/// What ended a session: a one-line reason and whether FreeSWITCH said it is shutting down.
type Ended = (String, bool);

async fn follow(
    link: &mut Link,
    client: &EslClient,
    events: &mut EslEventStream,
    stop: &mut watch::Receiver<bool>,
    lost_seen: &mut u64,
) -> Result<(), Ended> {
    let sub = subscription(link.calls.is_some() || link.pbx.watches_lines())
        .map_err(|e| (format!("bad subscription: {e}"), false))?;
    tokio::select! {
        () = stop_requested(stop) => return Ok(()),
        r = client.apply_subscription(&sub) => r.map_err(|e| (format!("subscribe failed: {}", one_line(&e.to_string())), false))?,
    }
    link.stats.sessions += 1;
    link.down_since = None;
    link.pbx.set_link(LinkState::Up);
    // Events from here on may or may not be in the rebuild's answers; the model merges both.
    link.pbx.begin_refresh();
    link.feed_calls(CallFeed::Rebuilding);
    let mut now = Instant::now();
    link.pbx.heard(now);
    link.publish(now);
    info!("connected; rebuilding state");

    let dead_after = link.opts.heartbeat.mul_f64(super::DEAD_HEARTBEATS);
    let mut last_seen = now;
    let agents = link.calls.is_some();
    let refresh = rebuild(client.clone(), skipped(&link.skip_listings), agents);
    tokio::pin!(refresh);
    let mut refreshing = true;
    // Set when events were lost. A rebuild in flight may have taken its snapshots before
    // the loss, so another one starts once it lands (dropping it mid-command could pair the
    // next command with its late reply: ESL replies carry no IDs).
    let mut needs_rebuild = false;
    let mut schedule = Schedule::new(link.opts.reconcile, now);
    let mut unreadable_in_a_row = 0u32;
    loop {
        if !refreshing {
            let due = if needs_rebuild {
                schedule.started(Cause::Lost, Instant::now());
                true
            } else {
                schedule.start_if_due(Instant::now())
            };
            if due {
                needs_rebuild = false;
                link.pbx.begin_refresh();
                link.feed_calls(CallFeed::Rebuilding);
                refresh.set(rebuild(client.clone(), skipped(&link.skip_listings), agents));
                refreshing = true;
            }
        }
        // The call view fell behind and lost an event: only a rebuild puts it right.
        needs_rebuild |= std::mem::take(&mut link.calls_behind);
        let mut wake = now + VIEW_TICK;
        if !dead_after.is_zero() {
            wake = wake.min(last_seen + dead_after);
        }
        // The stale marker goes up the moment the silence gets too long, not a tick later.
        if let Some(quiet) = link.pbx.quiet_at().filter(|q| *q > now) {
            wake = wake.min(quiet);
        }
        if let Some(next) = schedule.wake().filter(|_| !refreshing) {
            wake = wake.min(next);
        }
        tokio::select! {
            biased;
            () = stop_requested(stop) => return Ok(()),
            // Polled ahead of events: under a flood it must still make progress.
            rebuilt = &mut refresh, if refreshing => {
                refreshing = false;
                if let Err(RebuildError::Listing { command, .. }) = &rebuilt {
                    let breaks = link.skip_listings.iter().filter(|c| *c == command).count();
                    if breaks < LISTING_BREAKS {
                        link.skip_listings.push(command.clone());
                    }
                    if breaks + 1 >= LISTING_BREAKS {
                        warn!(%command, "the connection broke during this listing again; rebuilding from counts from now on");
                    }
                }
                let (result, agents) = rebuilt.map_err(|e| (one_line(&e.to_string()), false))?;
                now = Instant::now();
                let before = Figures::of(&link.pbx);
                link.pbx.apply_refresh(&result, now);
                if let Some(rows) = &result.channel_list {
                    link.feed_calls(CallFeed::Rebuilt(rows.clone()));
                }
                if let Some(list) = &result.registrations {
                    link.feed_calls(CallFeed::Registrations(list.rows.clone()));
                }
                if !agents.is_empty() {
                    link.feed_calls(CallFeed::Agents(agents));
                }
                if let Some(sofia) = &result.sofia {
                    link.feed_calls(CallFeed::Gateways(sofia.clone()));
                }
                link.stats.refreshes += 1;
                last_seen = now;
                link.publish(now);
                schedule.landed(now);
                note_rebuild(link, schedule.cause(), before);
                for gone in link.pbx.take_vanished() {
                    link.notify(gone);
                }
            }
            first = events.recv() => {
                now = Instant::now();
                let mut item = first;
                let mut applied = 0;
                loop {
                    match item {
                        None => return Err(closed(events.status())),
                        Some(Ok(ev)) => {
                            // Only a whole, readable event proves the server alive.
                            last_seen = now;
                            unreadable_in_a_row = 0;
                            link.on_event(&ev, now);
                            if let Some(drift) = link.pbx.take_drift() {
                                debug!("drift: {drift}");
                                schedule.drift(drift, refreshing, now);
                            }
                        }
                        Some(Err(EslError::QueueFull)) => needs_rebuild |= note_losses(link, client, lost_seen),
                        // The client reports a frame it could not parse and reads on (a break
                        // in the framing itself ends the stream, seen as `None` next).
                        Some(Err(e)) => {
                            unreadable_in_a_row += 1;
                            note_unreadable(link, &e);
                            schedule.soon(Cause::Unreadable, refreshing, now);
                            if unreadable_in_a_row >= UNREADABLE_IN_A_ROW {
                                let reason = format!(
                                    "{unreadable_in_a_row} unreadable events in a row, the last: {}",
                                    one_line(&e.to_string())
                                );
                                return Err((reason, false));
                            }
                        }
                    }
                    applied += 1;
                    if applied >= DRAIN_BATCH {
                        break;
                    }
                    match ready_now(events).await {
                        Some(next) => item = next,
                        None => break,
                    }
                }
                link.publish(now);
            }
            () = sleep_until(wake) => {
                now = Instant::now();
                if !dead_after.is_zero() && now >= last_seen + dead_after {
                    return Err((format!("no event for {:.1?}: heartbeat lost", now - last_seen), false));
                }
                // The client's in-band loss marker waits for the next event; the count does not.
                needs_rebuild |= note_losses(link, client, lost_seen);
                link.publish(now);
            }
        }
    }
}

/// Counts an unreadable event and logs the first of each kind (later ones at debug level:
/// a server that keeps sending them must not flood the log).
fn note_unreadable(link: &mut Link, e: &EslError) {
    link.stats.events_unreadable += 1;
    let debug = format!("{e:?}");
    let kind: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    if link.unreadable_kinds.len() < MAX_UNREADABLE_KINDS && !link.unreadable_kinds.contains(&kind) {
        warn!(
            "unreadable event skipped ({kind}): {}; further ones of this kind are logged at debug level",
            one_line(&e.to_string())
        );
        link.unreadable_kinds.push(kind);
    } else {
        debug!("unreadable event skipped: {e}");
    }
}

/// Kinds of unreadable event remembered for log-once (the client has about twenty).
const MAX_UNREADABLE_KINDS: usize = 32;

/// Logs a landed rebuild: the first of a session as the state found, a reconcile only when
/// it corrected something (with what and why).
fn note_rebuild(link: &mut Link, cause: Cause, before: Figures) {
    let after = Figures::of(&link.pbx);
    if cause == Cause::Connect {
        // Figures in words (a number or "unknown"), not Debug's `Some(3)`: this line ends up
        // in the journal.
        let word = |n: Option<u64>| n.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        info!(calls = %word(link.pbx.calls()), registrations = %word(link.pbx.registrations()), "state rebuilt");
    } else {
        link.stats.reconciles += 1;
        if let Some(changes) = before.changes(&after) {
            link.stats.corrections += 1;
            info!("reconciled after {cause}: {changes}");
        } else {
            debug!("reconciled after {cause}: no change");
        }
    }
    if link.pbx.registrations_look_multiple() && !link.advised_multiple {
        link.advised_multiple = true;
        warn!(
            "FreeSWITCH keeps several bindings per user@realm: set multiple_registrations = true for \
             this server so the count follows its events exactly"
        );
    }
}

/// Counts events the client dropped since the last look; `true` if there were any, since
/// the model can no longer be trusted without a rebuild.
fn note_losses(link: &mut Link, client: &EslClient, lost_seen: &mut u64) -> bool {
    let dropped = client.dropped_event_count();
    if dropped <= *lost_seen {
        return false;
    }
    link.stats.events_lost += dropped - *lost_seen;
    *lost_seen = dropped;
    warn!(dropped, "events were lost; rebuilding state");
    true
}

/// The next queued item if there is one right now, without waiting.
async fn ready_now(events: &mut EslEventStream) -> Option<Option<Result<EslEvent, EslError>>> {
    tokio::select! {
        biased;
        item = events.recv() => Some(item),
        () = std::future::ready(()) => None,
    }
}

/// Runs the refresh commands. A command the server refuses or answers unreadably is
/// skipped (its figure stays unknown or falls back to another command's); a dead
/// connection fails the whole rebuild.
async fn rebuild(
    client: EslClient,
    skip: Vec<RefreshCommand>,
    agents: bool,
) -> Result<(RefreshResult, Vec<RegAgent>), RebuildError> {
    let mut result = RefreshResult::default();
    let mut answered = 0;
    // Listings replace counts only when they are small enough to ask for: counts first.
    for command in RefreshCommand::COUNTS {
        answered += ask(&client, &command, &mut result).await?;
    }
    for command in RefreshCommand::listings_within_limits(&result) {
        if skip.contains(&command) {
            continue;
        }
        answered += match ask(&client, &command, &mut result).await {
            Err(RebuildError::Esl(source)) => return Err(RebuildError::Listing { command, source }),
            other => other?,
        };
    }
    for command in refresh_commands() {
        answered += ask(&client, &command, &mut result).await?;
    }
    if answered == 0 {
        return Err(RebuildError::Empty);
    }
    let agents = if agents { ask_agents(&client).await? } else { Vec::new() };
    Ok((result, agents))
}

/// The registrations listing lacks user agents; sofia's own table has them. Only the call
/// view asks. A refusal or an unreadable answer leaves the agents unknown.
async fn ask_agents(client: &EslClient) -> Result<Vec<RegAgent>, RebuildError> {
    match client.api(AGENTS_COMMAND).await {
        Ok(reply) if reply.api_result().is_ok() => Ok(parse_agents_xml(reply.body().unwrap_or_default())),
        Ok(_) => Ok(Vec::new()),
        Err(e) if e.is_recoverable() => {
            warn!("{AGENTS_COMMAND} failed: {e}");
            Ok(Vec::new())
        }
        Err(e) => Err(e.into()),
    }
}

/// Lists `sip_registrations` with each binding's user agent (mod_sofia.c `cmd_xml_status`).
const AGENTS_COMMAND: &str = "sofia xmlstatus profile internal reg";

/// Sessions a listing may break before the link stops asking for it.
const LISTING_BREAKS: usize = 2;

/// The listings not to ask for: those that broke [`LISTING_BREAKS`] sessions.
fn skipped(breaks: &[RefreshCommand]) -> Vec<RefreshCommand> {
    let mut out: Vec<RefreshCommand> = Vec::new();
    for c in breaks {
        if !out.contains(c) && breaks.iter().filter(|b| *b == c).count() >= LISTING_BREAKS {
            out.push(c.clone());
        }
    }
    out
}

/// Runs one refresh command into `result`: 1 if it was answered and read, 0 if the server
/// refused it or answered unreadably (logged), an error if the connection is gone.
async fn ask(
    client: &EslClient,
    command: &RefreshCommand,
    result: &mut RefreshResult,
) -> Result<u32, RebuildError> {
    let reply = match client.api(&command.text()).await {
        Ok(reply) => reply,
        Err(e) if e.is_recoverable() => {
            warn!(%command, "refresh command failed: {e}");
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = reply.api_result() {
        debug!(%command, "refresh command refused: {e}");
        return Ok(0);
    }
    match result.record(command, reply.body().unwrap_or_default()) {
        Ok(()) => Ok(1),
        Err(e) => {
            warn!(%command, "unreadable refresh answer: {e}");
            Ok(0)
        }
    }
}

/// Why the event stream ended, from the client's record of it.
fn closed(status: ConnectionStatus) -> Ended {
    match status {
        ConnectionStatus::Disconnected(DisconnectReason::ServerNotice { body, .. }) => {
            let text = one_line(body.as_deref().unwrap_or(""));
            // "The system is being shut down." (FreeSWITCH stopping or mod_event_socket unloading).
            let shutting_down = text.contains("shut down");
            (format!("FreeSWITCH closed the session: {text}"), shutting_down)
        }
        ConnectionStatus::Disconnected(reason) => (reason.to_string(), false),
        other => (format!("event stream ended ({other:?})"), false),
    }
}

/// Server texts end in newlines and may span lines; logs and the display want one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::link::{LinkChannels, LinkStats};
    use crate::status::{LinkView, PbxStatus};
    use eslmatrix_sim::fs::pbx::Transport;
    use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};
    use tokio::sync::mpsc;

    /// A client whose queue holds one event and drops the rest, so a burst loses events:
    /// the link must notice and rebuild rather than show a wrong count for good.
    #[tokio::test(start_paused = true)]
    async fn lost_events_trigger_a_rebuild_that_restores_the_counts() {
        let fs = MockFreeSwitch::start(MockConfig::default()).await.expect("mock");
        let options = EslConnectOptions::new()
            .with_event_queue_size(1)
            .with_event_overflow(EventOverflow::DropIncoming);
        let (client, mut events) =
            EslClient::connect_with_options("127.0.0.1", fs.addr().port(), "ClueCon", options)
                .await
                .expect("login");
        let (status, mut views) = watch::channel(PbxStatus::new("t").view(Instant::now()));
        let (notices, _notices) = mpsc::channel(8);
        let server = ServerConfig {
            name: "t".into(),
            host: "127.0.0.1".into(),
            port: 0,
            password: String::new(),
            multiple_registrations: false,
        };
        let mut link = Link {
            server,
            opts: LinkOptions::default(),
            out: LinkChannels { status, notices },
            pbx: PbxStatus::new("t"),
            stats: LinkStats::default(),
            down_since: None,
            advised_multiple: false,
            unreadable_kinds: Vec::new(),
            skip_listings: Vec::new(),
            calls: None,
            calls_behind: false,
        };
        let (stop_tx, mut stop) = watch::channel(false);
        let mut lost_seen = 0;
        let pbx = fs.pbx().clone();
        let driver = async {
            views.wait_for(|v| v.link == LinkView::Up && !v.stale).await.expect("fresh");
            for i in 0..300 {
                pbx.register(&format!("u{i}"), Transport::Udp, "burst").expect("register");
            }
            let rebuilt = tokio::time::timeout(
                Duration::from_secs(600),
                views.wait_for(|v| v.registrations == Some(300)),
            );
            assert!(matches!(rebuilt.await, Ok(Ok(_))), "the count was never restored");
            stop_tx.send(true).expect("stop");
        };
        let (ended, ()) =
            tokio::join!(follow(&mut link, &client, &mut events, &mut stop, &mut lost_seen), driver);
        assert!(ended.is_ok(), "stopped, not lost");
        assert!(link.stats.events_lost > 0, "the burst overflowed the queue");
        assert!(link.stats.refreshes >= 2, "a rebuild followed the loss: {:?}", link.stats);
        assert!(link.stats.events < 300, "the count came from the rebuild, not the events");
    }

    #[test]
    fn subscription_names_every_event_and_subclass_with_custom_last() {
        let sub = subscription(false).expect("constant subscription is valid");
        let text = sub.to_event_string().expect("non-empty");
        let (types, subclasses) = text.split_once("CUSTOM").expect("CUSTOM present");
        for name in [
            "HEARTBEAT",
            "CHANNEL_CREATE",
            "CHANNEL_ANSWER",
            "CHANNEL_BRIDGE",
            "CHANNEL_UNBRIDGE",
            "CHANNEL_HANGUP_COMPLETE",
            "SHUTDOWN",
        ] {
            assert!(types.split_whitespace().any(|t| t == name), "{name} missing from {text}");
        }
        let subs: Vec<&str> = subclasses.split_whitespace().collect();
        assert_eq!(subs, SUBCLASSES);
    }

    #[test]
    fn the_call_view_subscribes_to_progress_hold_and_codec_too() {
        let plain = subscription(false).unwrap().to_event_string().unwrap();
        let calls = subscription(true).unwrap().to_event_string().unwrap();
        for name in ["CHANNEL_PROGRESS_MEDIA", "CHANNEL_HOLD", "CHANNEL_UNHOLD", "CHANNEL_CALLSTATE", "CODEC"]
        {
            assert!(!plain.split_whitespace().any(|t| t == name), "the daemon alone skips {name}");
            assert!(calls.split_whitespace().any(|t| t == name), "{name} missing from {calls}");
        }
        assert!(calls.ends_with(SUBCLASSES.join(" ").as_str()), "CUSTOM's subclasses stay last: {calls}");
    }

    #[test]
    fn a_listing_is_dropped_after_it_broke_two_sessions() {
        let json = RefreshCommand::ChannelsJson;
        assert!(skipped(&[]).is_empty());
        assert!(skipped(std::slice::from_ref(&json)).is_empty(), "one break may be a network blip");
        assert_eq!(skipped(&[json.clone(), RefreshCommand::RegistrationsJson, json.clone()]), [json]);
    }

    #[test]
    fn disconnect_notices_are_classified() {
        let notice = |body: &str| {
            ConnectionStatus::Disconnected(DisconnectReason::ServerNotice {
                controlled_session_uuid: None,
                body: Some(body.into()),
            })
        };
        let (reason, shutting) = closed(notice("The system is being shut down.\n"));
        assert!(shutting);
        assert_eq!(reason, "FreeSWITCH closed the session: The system is being shut down.");
        let (reason, shutting) = closed(notice("killed listener because of lost events\n"));
        assert!(!shutting);
        assert!(reason.ends_with("killed listener because of lost events"));
        assert!(!closed(ConnectionStatus::Disconnected(DisconnectReason::ConnectionClosed)).1);
    }
}
