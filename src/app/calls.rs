//! `eslmatrix calls`: the call view's loop. One supervised link per server, as the daemon
//! runs them (same reconnects, rebuilds and timings), each also feeding its channel events
//! and rebuild listings into that server's [`CallTable`]; the screen is drawn again when a
//! feed (at most every [`REDRAW_GAP`]) or a key changed something, and on every seconds
//! tick (durations count, ended calls expire, link states age).
//!
//! The loop reaches the terminal only through [`Surface`] and reads keys from any stream,
//! so tests run it on ratatui's `TestBackend` under paused time.

use std::future::Future;
use std::io;
use std::task::Poll;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::link::{self, CallFeed, LinkChannels, LinkOptions, LinkStats, ServerConfig, CALL_FEED_QUEUE};
use crate::backend::png::{write_rgb_png, PngError};
use crate::render::{draw_text, Font, Frame};
use crate::status::call_table::CallTable;
use crate::status::gateway_table::GatewayTable;
use crate::status::reg_table::RegTable;
use crate::status::Headers;
use crate::status::{PbxStatus, StatusView};
use crate::tui::calls::ServerCalls;
use crate::tui::{Action, Key, Picture, Screen, Surface, Tab, Ui};

/// What the call view runs with; the config file and the flags build it.
#[derive(Debug, Clone)]
pub struct CallsSettings {
    /// At least one server.
    pub servers: Vec<ServerConfig>,
    /// Supervision timings, the same for every server.
    pub link: LinkOptions,
    /// How long ended calls stay on screen.
    pub keep_ended: Duration,
}

/// Feed items applied between two pictures at most, so a flood still redraws.
const FEED_BATCH: usize = 1024;
/// The shortest time between two pictures drawn for news from the links (keys and the
/// seconds tick draw at once): at 1000 calls a picture costs about 2 ms, and a busy PBX
/// sends a hundred channel events a second.
const REDRAW_GAP: Duration = Duration::from_millis(100);
/// How long links get to close their sockets after the view ends.
const LINK_STOP_GRACE: Duration = Duration::from_secs(2);

struct Server {
    status: watch::Receiver<StatusView>,
    feed: mpsc::Receiver<CallFeed>,
    table: CallTable,
    regs: RegTable,
    gateways: GatewayTable,
    /// Events fed since the last tick, and the count of the last whole second.
    events: u64,
    rate: u64,
}

fn apply(server: &mut Server, item: CallFeed, now: Instant) -> bool {
    let changed = apply_item(server, item, now);
    // The first event tells the PBX's clock: calls of a listing dated by this machine's
    // clock before it are dated again by the PBX's.
    if server.table.has_undated() {
        if let Some(epoch) = server.regs.pbx_epoch(now) {
            server.table.redate(epoch, now);
            return true;
        }
    }
    changed
}

fn apply_item(server: &mut Server, item: CallFeed, now: Instant) -> bool {
    let table = &mut server.table;
    match item {
        CallFeed::Event(headers) => {
            // HEARTBEAT comes only to tell the PBX's clock (see `RegTable`), not as news.
            if headers.value("Event-Name") == Some("HEARTBEAT") {
                return server.regs.observe_clock(&headers, now);
            }
            server.events += 1;
            server.regs.apply_event(&headers, now)
                | server.gateways.apply_event(&headers, now)
                | table.apply_event(&headers, now)
        }
        CallFeed::Gateways(sofia) => {
            server.gateways.rebuild(&sofia, now);
            true
        }
        CallFeed::Registrations(rows) => {
            server.regs.rebuild(&rows, now);
            true
        }
        CallFeed::Agents(agents) => server.regs.fill_agents(&agents),
        CallFeed::Rebuilding => {
            table.begin_rebuild();
            false
        }
        CallFeed::Rebuilt(rows) => {
            // `created_epoch` is on the PBX's clock: its own time as its events date it is
            // right; this machine's is only a guess (right with NTP on both) for the first
            // rebuild, before any event came, and `apply` dates those calls again at the
            // first event.
            let epoch = server.regs.pbx_epoch(now).unwrap_or_else(|| {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
            });
            table.rebuild(&rows, now, epoch);
            true
        }
    }
}

/// The next feed item of any server, with the server's index; `None` once every feed closed.
/// Servers are asked in turn from `*first` on, which then moves past the one that answered,
/// so a flooding server cannot starve the others.
async fn next_feed(servers: &mut [Server], first: &mut usize) -> Option<(usize, CallFeed)> {
    std::future::poll_fn(|cx| {
        let mut open = false;
        let n = servers.len();
        for k in 0..n {
            let i = (*first + k) % n;
            match servers[i].feed.poll_recv(cx) {
                Poll::Ready(Some(item)) => {
                    *first = (i + 1) % n;
                    return Poll::Ready(Some((i, item)));
                }
                Poll::Ready(None) => {}
                Poll::Pending => open = true,
            }
        }
        if open {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    })
    .await
}

fn views_of(servers: &[Server]) -> Vec<StatusView> {
    servers.iter().map(|s| s.status.borrow().clone()).collect()
}

fn screen_of<'a>(servers: &'a [Server], views: &'a [StatusView], ui: &'a Ui, now: Instant) -> Screen<'a> {
    Screen {
        servers: servers
            .iter()
            .zip(views)
            .map(|(s, status)| ServerCalls {
                status,
                calls: &s.table,
                registrations: &s.regs,
                gateways: &s.gateways,
                events_per_sec: s.rate,
            })
            .collect(),
        ui,
        now,
    }
}

/// The rows the keys move over: the open ladder's events, the registrations, or the calls
/// that pass the filter.
fn rows_shown(servers: &[Server], ui: &Ui, now: Instant) -> usize {
    if let Some(flow) = &ui.flow {
        return servers
            .get(flow.server)
            .and_then(|s| s.table.get(&flow.call))
            .map_or(0, |c| c.flow.events.len());
    }
    match ui.tab {
        Tab::Registrations => servers.iter().map(|s| s.regs.len()).sum(),
        Tab::Gateways => servers.iter().map(|s| s.gateways.len()).sum(),
        Tab::Calls => servers
            .iter()
            .map(|s| s.table.rows(ui.sort, now).into_iter().filter(|c| ui.matches(c)).count())
            .sum(),
    }
}

/// Runs the view on `surface` until a quit key, `shutdown`, or the end of `keys` and
/// `shutdown` both; then stops the links and returns what each did. A drawing error ends
/// the view with that error.
pub async fn run(
    settings: &CallsSettings,
    surface: &mut impl Surface,
    mut keys: impl Stream<Item = Key> + Unpin,
    shutdown: impl Future<Output = ()>,
) -> io::Result<Vec<LinkStats>> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut links = JoinSet::new();
    let mut servers = Vec::new();
    // The daemon's notices are of no use here; the queue only has to exist (a link drops
    // and counts what it cannot queue, never waits).
    let (notices, _notices) = mpsc::channel(1);
    let now = Instant::now();
    for (index, server) in settings.servers.iter().enumerate() {
        let (status_tx, status_rx) = watch::channel(PbxStatus::new(&server.name).view(now));
        let (feed_tx, feed_rx) = mpsc::channel(CALL_FEED_QUEUE);
        let out = LinkChannels { status: status_tx, notices: notices.clone() };
        links.spawn(link::supervise_feeding(
            index,
            server.clone(),
            settings.link.clone(),
            out,
            Some(feed_tx),
            stop_rx.clone(),
        ));
        servers.push(Server {
            status: status_rx,
            feed: feed_rx,
            table: CallTable::new(settings.keep_ended),
            regs: RegTable::default(),
            gateways: GatewayTable::default(),
            events: 0,
            rate: 0,
        });
    }
    drop(notices);
    let mut ui = Ui::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::pin!(shutdown);
    let mut keys_open = true;
    let mut first_feed = 0;
    let mut last_draw: Option<Instant> = None;
    let mut pending = false;
    let result = loop {
        let redraw_at = last_draw.map_or_else(Instant::now, |t| t + REDRAW_GAP);
        let dirty = tokio::select! {
            () = &mut shutdown => break Ok(()),
            () = tokio::time::sleep_until(redraw_at), if pending => true,
            _ = tick.tick() => {
                let now = Instant::now();
                for s in &mut servers {
                    s.table.expire(now);
                    s.rate = std::mem::take(&mut s.events);
                }
                true
            }
            key = keys.next(), if keys_open => {
                if let Some(key) = key {
                    let now = Instant::now();
                    match ui.handle(key, rows_shown(&servers, &ui, now)) {
                        Action::Quit => break Ok(()),
                        Action::Redraw => true,
                        Action::None => false,
                        Action::Open => {
                            let views = views_of(&servers);
                            let screen = screen_of(&servers, &views, &ui, now);
                            let chosen = screen.selected_call();
                            if let Some((server, call)) = chosen {
                                ui.open_flow(server, call);
                            }
                            true
                        }
                    }
                } else {
                    keys_open = false;
                    false
                }
            }
            item = next_feed(&mut servers, &mut first_feed) => match item {
                Some((i, item)) => {
                    let now = Instant::now();
                    let mut changed = apply(&mut servers[i], item, now);
                    for _ in 0..FEED_BATCH {
                        let Ok(more) = servers[i].feed.try_recv() else { break };
                        changed |= apply(&mut servers[i], more, now);
                    }
                    // News waits for the gap since the last picture, so a stream of
                    // events costs at most one redraw per gap, not one per event.
                    let soon = last_draw.is_some_and(|t| now < t + REDRAW_GAP);
                    pending |= changed && soon;
                    changed && !soon
                }
                None => false,
            },
        };
        if dirty {
            pending = false;
            last_draw = Some(Instant::now());
            let views = views_of(&servers);
            let screen = screen_of(&servers, &views, &ui, Instant::now());
            if let Err(e) = surface.show(&screen) {
                break Err(e);
            }
        }
    };
    let _ = stop_tx.send(true);
    let mut stats = Vec::new();
    let _ = tokio::time::timeout(LINK_STOP_GRACE, async {
        while let Some(done) = links.join_next().await {
            if let Ok(s) = done {
                stats.push(s);
            }
        }
    })
    .await;
    result.map(|()| stats)
}

/// Whether every server's link is up and its figures rebuilt: the list then shows the
/// server's truth, not a guess.
fn settled(screen: &Screen<'_>) -> bool {
    screen.servers.iter().all(|s| s.status.link == crate::status::LinkView::Up && !s.status.stale)
}

/// A surface that also says when the screen it drew was [`settled`].
struct Settling<'s, S> {
    inner: &'s mut S,
    settled: watch::Sender<bool>,
}

impl<S: Surface> Surface for Settling<'_, S> {
    fn show(&mut self, screen: &Screen<'_>) -> io::Result<()> {
        self.inner.show(screen)?;
        if settled(screen) {
            self.settled.send_replace(true);
        }
        Ok(())
    }
}

/// Runs the view on `surface` without keys until every link is up and rebuilt and the list
/// drawn from it, or `limit` passes (the picture then says what the links are doing), and
/// returns the links' stats: `eslmatrix calls` when stdout is not a terminal prints that
/// one picture.
pub async fn run_once(
    settings: &CallsSettings,
    surface: &mut impl Surface,
    limit: Duration,
) -> io::Result<Vec<LinkStats>> {
    let (tx, mut rx) = watch::channel(false);
    let mut settling = Settling { inner: surface, settled: tx };
    let until = async move {
        let _ = tokio::time::timeout(limit, rx.wait_for(|s| *s)).await;
    };
    run(settings, &mut settling, futures_util::stream::pending(), until).await
}

/// A terminal cell's size in a picture: font8x8's 8×8 glyphs, each row drawn twice, so the
/// picture has a terminal's proportions.
const CELL_W: u32 = 8;
const CELL_H: u32 = 16;

/// Draws `picture` (a screen of the call view) as a PNG at `path`, each cell 8×16 pixels
/// in the product's own 8×8 font (`render::Font::Fixed8`, rows doubled) and the cell's
/// colours.
pub fn write_picture_png(picture: &Picture, path: &std::path::Path) -> Result<(), PngError> {
    let (w, h) = (u32::from(picture.width) * CELL_W, u32::from(picture.height) * CELL_H);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    let mut glyph = Frame::new(CELL_W, 8);
    let cols = usize::from(picture.width);
    for (i, &(c, fg, bg)) in picture.cells.iter().enumerate() {
        let (cx, cy) = ((i % cols) as u32 * CELL_W, (i / cols) as u32 * CELL_H);
        glyph.clear();
        // Shapes font8x8 lacks, as the nearest it has (one cell each, so columns stay).
        let c = match c {
            '▶' | '→' => '>',
            '◀' => '<',
            '▏' => '|',
            c => c,
        };
        draw_text(&mut glyph, c.encode_utf8(&mut [0; 4]), Font::Fixed8, 0, 0);
        for y in 0..CELL_H {
            for x in 0..CELL_W {
                let on = glyph.get(x as i32, (y / 2) as i32);
                let at = (((cy + y) * w + cx + x) * 3) as usize;
                rgb[at..at + 3].copy_from_slice(if on { &fg } else { &bg });
            }
        }
    }
    write_rgb_png(path, w, h, &rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::api::ChannelRow;
    use crate::status::call_table::Sort;

    /// A server with nothing heard yet; keep the senders while it runs.
    fn server(now: Instant) -> ((watch::Sender<StatusView>, mpsc::Sender<CallFeed>), Server) {
        let (status_tx, status) = watch::channel(PbxStatus::new("pbx").view(now));
        let (feed_tx, feed) = mpsc::channel(1);
        let server = Server {
            status,
            feed,
            table: CallTable::new(Duration::from_secs(30)),
            regs: RegTable::default(),
            gateways: GatewayTable::default(),
            events: 0,
            rate: 0,
        };
        ((status_tx, feed_tx), server)
    }

    /// A HEARTBEAT sent at `pbx_secs` on the PBX's clock.
    fn heartbeat(pbx_secs: u64) -> crate::status::PackedHeaders {
        crate::status::PackedHeaders::new()
            .with("Event-Name", "HEARTBEAT")
            .with("Event-Date-Timestamp", &(pbx_secs * 1_000_000).to_string())
    }

    /// `show channels`' row of a call up since `created_epoch` on the PBX's clock.
    fn active_row(created_epoch: u64) -> ChannelRow {
        ChannelRow {
            uuid: "a".into(),
            created_epoch: created_epoch.to_string(),
            callstate: "ACTIVE".into(),
            ..ChannelRow::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rebuilt_call_is_dated_by_the_pbx_clock_once_known() {
        let now = Instant::now();
        let (_senders, mut server) = server(now);
        // A PBX whose clock is years behind this machine's.
        let pbx_now = 1_000_000_000u64;
        let beat = heartbeat(pbx_now);
        apply(&mut server, CallFeed::Event(beat), now);
        assert_eq!(server.events, 0, "a HEARTBEAT is no channel or registration news");
        let row = active_row(pbx_now - 42);
        apply(&mut server, CallFeed::Rebuilt(vec![row]), now);
        let rows = server.table.rows(Sort::Start, now);
        assert_eq!(rows[0].duration(now), Duration::from_secs(42));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_listed_before_any_event_is_dated_again_by_the_first() {
        let now = Instant::now();
        let (_senders, mut server) = server(now);
        // The PBX's clock is years behind this machine's: the listing alone makes the call
        // look decades old (or new, were it ahead); the first HEARTBEAT puts it right.
        let pbx_now = 1_000_000_000u64;
        let row = active_row(pbx_now - 42);
        apply(&mut server, CallFeed::Rebuilt(vec![row]), now);
        assert!(server.table.rows(Sort::Start, now)[0].duration(now) != Duration::from_secs(42));
        let later = now + Duration::from_secs(3);
        let beat = heartbeat(pbx_now + 3);
        assert!(apply(&mut server, CallFeed::Event(beat), later), "the list changed");
        assert_eq!(server.table.rows(Sort::Start, later)[0].duration(later), Duration::from_secs(45));
        assert!(!server.table.has_undated());
    }
}
