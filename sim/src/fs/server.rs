//! The listening side of the mock: accept loop, ACL, the HEARTBEAT timer, restarts and
//! shutdown. Each accepted socket is served by the private `connection` module.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{interval_at, sleep, sleep_until, timeout, Instant, MissedTickBehavior};

use super::acl::Cidr;
use super::connection;
use super::fault::{Fault, FaultControl};
use super::pbx::{ApiOutput, Pbx, PbxConfig};

/// Everything a mock FreeSWITCH is started with. `Default` is FreeSWITCH's own defaults
/// except the port: an ephemeral loopback port, so tests never collide.
#[derive(Clone, Debug)]
pub struct MockConfig {
    pub listen: SocketAddr,
    /// Compared exactly (case-sensitive), like `strcmp` in mod_event_socket.
    pub password: String,
    /// Peers outside every network here get `text/rude-rejection`. Default: loopback.
    pub acl: Vec<Cidr>,
    /// HEARTBEAT period (FreeSWITCH default 20 s); `None` turns the timer off.
    pub heartbeat: Option<Duration>,
    /// How long a fresh connection may stay silent before it is dropped (FreeSWITCH: 25 s).
    pub pre_auth_timeout: Duration,
    pub pbx: PbxConfig,
    pub faults: FaultControl,
    /// Seeds generated UUIDs (Job-UUID, Event-UUID) so runs are reproducible.
    pub seed: u64,
    /// Canned `api`/`bgapi` answers by command name that take precedence over the model,
    /// for outputs the model never produces (an empty reply, a slow command's text).
    pub api_overrides: HashMap<String, ApiOutput>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            password: "ClueCon".into(),
            acl: Cidr::loopback(),
            heartbeat: Some(Duration::from_secs(20)),
            pre_auth_timeout: Duration::from_secs(25),
            pbx: PbxConfig::default(),
            faults: FaultControl::new(),
            seed: 0x5EED,
            api_overrides: HashMap::new(),
        }
    }
}

/// The mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// Server-wide orders to connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// Send "The system is being shut down." and close.
    Shutdown,
}

/// State every connection task shares with the server.
pub(crate) struct Shared {
    pub pbx: Pbx,
    pub faults: FaultControl,
    pub password: String,
    pub acl: Vec<Cidr>,
    pub pre_auth_timeout: Duration,
    pub control: broadcast::Sender<Control>,
    pub seed: u64,
    pub api_overrides: HashMap<String, ApiOutput>,
    live: AtomicUsize,
    accepted: AtomicU64,
}

/// Decrements the live count however a connection task ends (including abort).
struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Entry point type: `MockFreeSwitch::start(config)`.
pub struct MockFreeSwitch;

impl MockFreeSwitch {
    /// Binds the listener and starts serving in the background.
    pub async fn start(config: MockConfig) -> Result<MockHandle, MockError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| MockError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| MockError::Bind { addr: config.listen, source })?;
        let (control, _) = broadcast::channel(16);
        let shared = Arc::new(Shared {
            pbx: Pbx::new(config.pbx.clone()),
            faults: config.faults.clone(),
            password: config.password.clone(),
            acl: config.acl.clone(),
            pre_auth_timeout: config.pre_auth_timeout,
            control,
            seed: config.seed,
            api_overrides: config.api_overrides.clone(),
            live: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, addr, config.heartbeat, shared.clone(), stopped));
        Ok(MockHandle { addr, shared, stop: Some(stop), task: Some(task) })
    }
}

/// Starts the mock and serves until `stop` resolves, then shuts down as FreeSWITCH does
/// (notice to every client). For the `eslmatrix mock-fs` command; prints nothing.
/// `on_ready` receives the bound address (useful with port 0).
pub async fn run_mock(
    config: MockConfig,
    on_ready: impl FnOnce(&MockHandle),
    stop: impl Future<Output = ()>,
) -> Result<(), MockError> {
    let handle = MockFreeSwitch::start(config).await?;
    on_ready(&handle);
    stop.await;
    handle.shutdown().await;
    Ok(())
}

/// Control over a running mock. Dropping it stops the mock abruptly; call
/// [`MockHandle::shutdown`] for the polite way.
pub struct MockHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockHandle {
    /// Where clients connect (the real port even if the config asked for 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PBX model behind the socket: drive calls and registrations through it.
    pub fn pbx(&self) -> &Pbx {
        &self.shared.pbx
    }

    pub fn faults(&self) -> &FaultControl {
        &self.shared.faults
    }

    /// Connections currently open (including ones not yet authenticated).
    pub fn live_connections(&self) -> usize {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Connections accepted since start; also the id the next one will have minus one.
    pub fn accepted_connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Sends every client "The system is being shut down.", closes them and the listener,
    /// and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Waits for a connection; never resolves while the listener is down.
async fn accept(listener: &Option<TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    heartbeat: Option<Duration>,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut listener = Some(listener);
    let mut conns = JoinSet::new();
    let mut faults = shared.faults.subscribe();
    let period = heartbeat.unwrap_or(Duration::from_secs(3600));
    let mut beat = interval_at(Instant::now() + period, period);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut back_up_at = Instant::now();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = accept(&listener) => match accepted {
                Ok((stream, peer)) => {
                    let id = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                    shared.live.fetch_add(1, Ordering::SeqCst);
                    let guard = LiveGuard(shared.clone());
                    let shared = shared.clone();
                    conns.spawn(async move {
                        let _guard = guard;
                        connection::serve(stream, peer, id, shared).await;
                    });
                }
                // Out of descriptors and the like: back off instead of spinning.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            fault = faults.recv() => {
                if let Ok((_, Fault::Restart { down_ms })) = fault {
                    // Like a FreeSWITCH crash/restart: the port closes, every socket drops
                    // without a notice, and the switch comes back with fresh state.
                    listener = None;
                    conns.abort_all();
                    shared.pbx.reset();
                    back_up_at = Instant::now() + Duration::from_millis(down_ms);
                }
            }
            _ = sleep_until(back_up_at), if listener.is_none() => {
                match TcpListener::bind(addr).await {
                    Ok(l) => listener = Some(l),
                    Err(e) => {
                        tracing::warn!("rebinding {addr} failed: {e}; retrying");
                        back_up_at = Instant::now() + Duration::from_millis(100);
                    }
                }
            }
            _ = beat.tick(), if heartbeat.is_some() => {
                if listener.is_some() {
                    shared.pbx.fire(shared.pbx.heartbeat());
                }
            }
        }
    }
    drop(listener);
    let _ = shared.control.send(Control::Shutdown);
    let _ = timeout(Duration::from_secs(10), async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}
