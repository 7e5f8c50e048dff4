//! Shared rig for the link tests: a supervised link to an in-process mock FreeSWITCH, with
//! the view and notice channels the daemon would read.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eslmatrix::app::link::{supervise, LinkChannels, LinkOptions, LinkStats, ServerConfig};
use eslmatrix::status::{LinkView, Notice, PbxStatus, StatusView};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// Longest any wait in these tests may take, in tokio time (instant when paused).
pub const PATIENCE: Duration = Duration::from_secs(900);

pub async fn mock(config: MockConfig) -> MockHandle {
    MockFreeSwitch::start(config).await.expect("mock starts")
}

/// A new switch on the port an old one just gave up. Another test may take that port in
/// between (a client's ephemeral port, a listener on port 0) until it lets go, so the bind
/// is retried for up to 5 s of real time; the blocking wait leaves paused tokio time alone.
pub async fn mock_again(config: MockConfig) -> MockHandle {
    for _ in 0..250 {
        match MockFreeSwitch::start(config.clone()).await {
            Err(eslmatrix_sim::fs::MockError::Bind { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            started => return started.expect("mock starts"),
        }
    }
    panic!("port {} stayed taken for 5 s", config.listen)
}

pub fn server(addr: SocketAddr, password: &str) -> ServerConfig {
    ServerConfig {
        name: "pbx1".into(),
        host: addr.ip().to_string(),
        port: addr.port(),
        password: password.into(),
        multiple_registrations: false,
    }
}

/// Defaults with a fixed jitter seed, so delays are the same on every run.
pub fn options() -> LinkOptions {
    LinkOptions { jitter_seed: Some(42), ..LinkOptions::default() }
}

pub struct Rig {
    pub views: watch::Receiver<StatusView>,
    pub notices: mpsc::Receiver<Notice>,
    stop: watch::Sender<bool>,
    task: JoinHandle<LinkStats>,
}

impl Rig {
    pub fn start(server: ServerConfig, opts: LinkOptions) -> Self {
        Self::with_notice_capacity(server, opts, 256)
    }

    pub fn with_notice_capacity(server: ServerConfig, opts: LinkOptions, capacity: usize) -> Self {
        let (status, views) = watch::channel(PbxStatus::new(&server.name).view(Instant::now()));
        let (notices_tx, notices) = mpsc::channel(capacity);
        let (stop, stop_rx) = watch::channel(false);
        let out = LinkChannels { status, notices: notices_tx };
        let task = tokio::spawn(supervise(0, server, opts, out, stop_rx));
        Rig { views, notices, stop, task }
    }

    /// Waits until the view satisfies `pred` and returns that view.
    pub async fn until(&mut self, what: &str, pred: impl FnMut(&StatusView) -> bool) -> StatusView {
        let waited = timeout(PATIENCE, self.views.wait_for(pred)).await.map(|r| r.map(|v| v.clone()));
        match waited {
            Ok(Ok(view)) => view,
            Ok(Err(_)) => panic!("link task ended while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; last view: {:?}", *self.views.borrow()),
        }
    }

    /// Waits for a fresh view of a live link: connected and refreshed.
    pub async fn fresh(&mut self) -> StatusView {
        self.until("a fresh live view", |v| v.link == LinkView::Up && !v.stale).await
    }

    pub fn view(&self) -> StatusView {
        self.views.borrow().clone()
    }

    pub async fn notice(&mut self) -> Notice {
        timeout(PATIENCE, self.notices.recv()).await.expect("a notice in time").expect("notice channel open")
    }

    /// Stops the link and returns its statistics.
    pub async fn stop(self) -> LinkStats {
        let _ = self.stop.send(true);
        timeout(PATIENCE, self.task).await.expect("link stops in time").expect("link task completes")
    }
}

/// The kind of a link state, without the ticking duration.
pub fn kind(link: LinkView) -> &'static str {
    match link {
        LinkView::Connecting => "connecting",
        LinkView::Up => "up",
        LinkView::NoLink { .. } => "nolink",
        LinkView::AuthFailed => "authfailed",
        LinkView::AclDenied => "acldenied",
        LinkView::ShuttingDown => "shuttingdown",
    }
}

/// Records every distinct link state the watch channel shows, in order.
pub fn record_links(views: &watch::Receiver<StatusView>) -> Arc<Mutex<Vec<&'static str>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = views.clone();
    let out = seen.clone();
    tokio::spawn(async move {
        loop {
            let k = kind(rx.borrow_and_update().link);
            {
                let mut seen = out.lock().unwrap();
                if seen.last() != Some(&k) {
                    seen.push(k);
                }
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    });
    seen
}
