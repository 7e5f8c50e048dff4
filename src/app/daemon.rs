//! The daemon: one supervised link per configured server, and the player drawing their
//! scene on an output, until asked to stop.
//!
//! Everything runs on tokio time, so the whole daemon can run under a paused clock in tests
//! against the mock FreeSWITCH and a virtual chain.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::link::{self, LinkChannels, LinkOptions, LinkStats, ServerConfig};
use super::player::{Combine, Inputs, Player, PlayerOptions};
use crate::backend::Output;
use crate::scene::{Scene, SceneConfig};
use crate::status::PbxStatus;

/// Everything the daemon runs with; the config file (or a command) builds it, the daemon
/// never reads files.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// At least one server.
    pub servers: Vec<ServerConfig>,
    /// Whether pages show each server or their sum.
    pub combine: Combine,
    /// How the player draws.
    pub player: PlayerOptions,
    /// Pages and alerts.
    pub scene: SceneConfig,
    /// Supervision timings, the same for every server.
    pub link: LinkOptions,
}

/// How many notices may wait for the player. A link drops (and counts) notices beyond
/// this rather than slow its event intake; the scene collapses bursts anyway.
pub const NOTICE_QUEUE: usize = 256;

/// How long links get to close their sockets after the player stopped.
const LINK_STOP_GRACE: Duration = Duration::from_secs(2);

/// The channels between `servers` links and one player: each link's half, and the
/// player's inputs. Every view starts as "connecting".
fn channels(names: &[&str]) -> (Vec<LinkChannels>, Inputs) {
    let now = Instant::now();
    let (ntx, nrx) = mpsc::channel(NOTICE_QUEUE);
    let mut links = Vec::new();
    let mut status = Vec::new();
    for name in names {
        let (tx, rx) = watch::channel(PbxStatus::new(name).view(now));
        links.push(LinkChannels { status: tx, notices: ntx.clone() });
        status.push(rx);
    }
    (links, Inputs { status, notices: nrx })
}

/// Runs the daemon on `out` until `shutdown` resolves or the view is closed, then stops the
/// links and returns what each did.
pub async fn run(
    config: &DaemonSettings,
    out: &mut Output,
    shutdown: impl Future<Output = ()>,
) -> Vec<LinkStats> {
    let names: Vec<&str> = config.servers.iter().map(|s| s.name.as_str()).collect();
    let (link_channels, inputs) = channels(&names);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut links = JoinSet::new();
    for (index, (server, chans)) in config.servers.iter().zip(link_channels).enumerate() {
        tracing::info!(server = %server.name, host = %server.host, port = server.port, "link starting");
        links.spawn(link::supervise(index, server.clone(), config.link.clone(), chans, stop_rx.clone()));
    }
    let mut player = Player::new(Scene::new(config.scene.clone()), config.player, config.combine);
    player.run(out, inputs, shutdown).await;
    let _ = stop_tx.send(true);
    let mut stats = Vec::new();
    let gathered = tokio::time::timeout(LINK_STOP_GRACE, async {
        while let Some(done) = links.join_next().await {
            if let Ok(s) = done {
                stats.push(s);
            }
        }
    })
    .await;
    if gathered.is_err() {
        tracing::warn!("links did not stop within {LINK_STOP_GRACE:?}");
    }
    stats
}
