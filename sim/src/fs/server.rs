//! The listening side of the mock: accept loop, connection limit, the HEARTBEAT timer,
//! restarts and shutdown. Each accepted socket is served by the private `connection`
//! module; what both share lives in `shared`, event fan-out in `listeners`.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{interval_at, sleep, sleep_until, timeout, Instant, MissedTickBehavior};

use super::acl::Cidr;
use super::connection;
use super::dialer;
use super::fault::{Fault, FaultControl};
use super::http::httapi::{self, HttapiConfig};
use super::http::{self, HttpConfig};
use super::limits::Limits;
use super::listeners::Hub;
use super::pbx::socket_app::SocketRequest;
use super::pbx::{ApiOutput, Pbx, PbxConfig};
use super::shared::{Control, Shared};
use super::sip::listen::SipServer;
use super::sip::ws::{WsServer, WsStartError};
use super::sip::{SipConfig, SipCore};
use super::wire;

/// Everything a mock FreeSWITCH is started with. `Default` is FreeSWITCH's own defaults
/// except the port: an ephemeral loopback port, so tests never collide.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Where to listen; port 0 picks a free one ([`MockHandle::addr`] tells which).
    pub listen: SocketAddr,
    /// Compared exactly (case-sensitive), like `strcmp` in mod_event_socket.
    pub password: String,
    /// Peers outside every network here get `text/rude-rejection`. Default: loopback.
    pub acl: Vec<Cidr>,
    /// HEARTBEAT period (FreeSWITCH default 20 s); `None` turns the timer off.
    pub heartbeat: Option<Duration>,
    /// How long a fresh connection may stay silent before it is dropped (FreeSWITCH: 25 s).
    pub pre_auth_timeout: Duration,
    /// The model's fixed facts (host names, version, clock start).
    pub pbx: PbxConfig,
    /// The handle faults arrive through (the running mock's is [`MockHandle::faults`]).
    pub faults: FaultControl,
    /// Seeds generated UUIDs (Job-UUID) so runs are reproducible; the default is random
    /// per start, as FreeSWITCH's are (set it with `pbx.seed` for reproducible runs).
    pub seed: u64,
    /// Canned `api`/`bgapi` answers by command name that take precedence over the model,
    /// for outputs the model never produces (an empty reply, a slow command's text).
    pub api_overrides: HashMap<String, ApiOutput>,
    /// Bounds on queues, filters, pre-auth input and connections.
    pub limits: Limits,
    /// The web API (mod_xml_rpc) beside the event socket; `None`: not served.
    pub http: Option<HttpConfig>,
    /// The `httapi` application's default profile (URL, method, permissions).
    pub httapi: HttapiConfig,
    /// Real SIP listeners on the internal profile (`mock-fs --sip`); `None`: none.
    pub sip: Option<SipConfig>,
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
            seed: uuid::Uuid::new_v4().as_u64_pair().1,
            api_overrides: HashMap::new(),
            limits: Limits::default(),
            http: None,
            httapi: HttapiConfig::default(),
            sip: None,
        }
    }
}

/// The mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listen address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS's reason.
        source: io::Error,
    },
    /// A SIP WebSocket binding could not open (its address, or the wss certificate).
    #[error("SIP WebSocket: {0}")]
    WebSocket(#[from] WsStartError),
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
        let http_listener = match &config.http {
            Some(h) => {
                Some(http::bind(h).await.map_err(|source| MockError::Bind { addr: h.listen, source })?)
            }
            None => None,
        };
        let (control, _) = broadcast::channel(16);
        let pbx = Pbx::new(config.pbx.clone());
        let hub = Arc::new(Hub::new(config.limits.clone()));
        pbx.bus().attach(hub.clone());
        let sockets = pbx.attach_sockets();
        let shared = Arc::new(Shared {
            hub,
            pbx,
            limits: config.limits.clone(),
            faults: config.faults.clone(),
            password: config.password.clone(),
            acl: config.acl.clone(),
            pre_auth_timeout: config.pre_auth_timeout,
            control,
            seed: config.seed,
            api_overrides: config.api_overrides.clone(),
            live: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let (stop, stopped) = oneshot::channel();
        let web = match (http_listener, &config.http) {
            (Some(l), Some(h)) => {
                let at = l.local_addr().map_err(|source| MockError::Bind { addr: h.listen, source })?;
                tracing::info!(addr = %at, "mock FreeSWITCH web API listening");
                Some((at, http::spawn(l, h, shared.clone(), &config.pbx.version, &config.pbx.ipv4)))
            }
            _ => None,
        };
        let mut websocket = None;
        let sip = match &config.sip {
            Some(c) => {
                let core = SipCore::new(shared.pbx.clone(), c);
                let server = SipServer::start(&c.listen, core.clone())
                    .await
                    .map_err(|source| MockError::Bind { addr: c.listen.listen, source })?;
                tracing::info!(udp = ?server.udp, tcp = ?server.tcp, "mock FreeSWITCH SIP listening");
                websocket = Some(WsServer::start(&c.websocket, &core).await?);
                Some((core, server))
            }
            None => None,
        };
        let web_client = httapi::spawn(shared.pbx.attach_httapi(), shared.pbx.clone(), config.httapi.clone());
        let task =
            tokio::spawn(accept_loop(listener, addr, config.heartbeat, shared.clone(), stopped, sockets));
        tracing::info!(%addr, "mock FreeSWITCH listening");
        Ok(MockHandle { addr, shared, stop: Some(stop), task: Some(task), web, web_client, sip, websocket })
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
    /// The web API's address and task, when [`MockConfig::http`] asked for one.
    web: Option<(SocketAddr, JoinHandle<()>)>,
    /// The `httapi` application's web client.
    web_client: JoinHandle<()>,
    /// The SIP core and its listeners, when [`MockConfig::sip`] asked for them.
    sip: Option<(SipCore, SipServer)>,
    /// The SIP WebSocket bindings (fs::sip::ws), when SIP is served.
    websocket: Option<WsServer>,
}

impl MockHandle {
    /// Where clients connect (the real port even if the config asked for 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the web API answers, when [`MockConfig::http`] was set.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(|(a, _)| *a)
    }

    /// The SIP core (for transports of other kinds and for tests), when SIP is served.
    pub fn sip(&self) -> Option<&SipCore> {
        self.sip.as_ref().map(|(core, _)| core)
    }

    /// Where SIP over UDP is served, when it is.
    pub fn sip_udp_addr(&self) -> Option<SocketAddr> {
        self.sip.as_ref().and_then(|(_, s)| s.udp)
    }

    /// Where SIP over WebSocket (`ws-binding`) is served, when it is.
    pub fn sip_ws_addr(&self) -> Option<SocketAddr> {
        self.websocket.as_ref().and_then(|w| w.ws)
    }

    /// Where SIP over secure WebSocket (`wss-binding`) is served, when it is.
    pub fn sip_wss_addr(&self) -> Option<SocketAddr> {
        self.websocket.as_ref().and_then(|w| w.wss)
    }

    /// The certificate the `wss-binding` presents (PEM), for clients that must trust it.
    pub fn sip_wss_certificate(&self) -> Option<&str> {
        self.websocket.as_ref().and_then(|w| w.wss_certificate.as_deref())
    }

    /// Where SIP over TCP is served, when it is.
    pub fn sip_tcp_addr(&self) -> Option<SocketAddr> {
        self.sip.as_ref().and_then(|(_, s)| s.tcp)
    }

    /// The PBX model behind the socket: drive calls and registrations through it.
    pub fn pbx(&self) -> &Pbx {
        &self.shared.pbx
    }

    /// The running mock's fault control: inject into it to misbehave from now on.
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

    /// Connections refused because [`Limits::max_connections`] were open.
    pub fn refused_connections(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Listeners killed by the lost-events rule since start.
    pub fn lost_event_kills(&self) -> u64 {
        self.shared.hub.kills()
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
        if let Some((_, web)) = self.web.take() {
            let _ = web.await;
        }
        self.websocket = None;
        if let Some((_, sip)) = self.sip.take() {
            sip.shutdown().await;
        }
        self.web_client.abort();
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some((_, web)) = self.web.take() {
            web.abort();
        }
        self.web_client.abort();
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
    mut sockets: mpsc::Receiver<SocketRequest>,
) {
    // Outbound sessions are listeners too; their ids stay clear of accepted connections'.
    let mut dialed: u64 = 1 << 62;
    let mut listener = Some(listener);
    let mut conns = JoinSet::new();
    let mut faults = shared.faults.subscribe();
    let period = heartbeat.unwrap_or(Duration::from_secs(3600));
    let mut beat = interval_at(Instant::now() + period, period);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut back_up_at = Instant::now();
    let mut backoff = AcceptBackoff::default();
    loop {
        // sofia_reg_check_expire: bindings leave when their Expires (+ late margin) passes.
        let expiry = shared.pbx.next_expiry();
        tokio::select! {
            _ = &mut stopped => break,
            accepted = accept(&listener) => match accepted {
                Ok((stream, peer)) => {
                    backoff.succeeded();
                    if shared.live.load(Ordering::SeqCst) >= shared.limits.max_connections {
                        refuse(&stream, peer, &shared);
                        continue;
                    }
                    let id = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                    shared.live.fetch_add(1, Ordering::SeqCst);
                    let guard = LiveGuard(shared.clone());
                    let shared = shared.clone();
                    conns.spawn(async move {
                        let _guard = guard;
                        connection::serve(stream, peer, id, shared).await;
                    });
                }
                // Out of descriptors (EMFILE) and the like: back off instead of spinning,
                // and say so once per run of failures rather than per attempt.
                Err(e) => {
                    let (wait, first) = backoff.failed();
                    if first {
                        tracing::warn!("accept failed: {e}; retrying with backoff (up to {:?})", MAX_BACKOFF);
                    } else {
                        tracing::debug!("accept failed again: {e}; next try in {wait:?}");
                    }
                    sleep(wait).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            Some(request) = sockets.recv() => {
                dialed += 1;
                conns.spawn(dialer::dial(request, dialed, shared.clone()));
            }
            fault = faults.recv() => {
                if let Ok((_, Fault::Restart { down_ms })) = fault {
                    // Like a FreeSWITCH crash/restart: the port closes, every socket drops
                    // without a notice, and the switch comes back with fresh state.
                    tracing::warn!(down_ms, "fault: restart");
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
            // A new binding may expire sooner than the one slept for: look again.
            _ = shared.pbx.bindings_changed() => {}
            _ = sleep_until(expiry.unwrap_or_else(Instant::now)), if expiry.is_some() && listener.is_some() => {
                let gone = shared.pbx.expire_due();
                tracing::info!("{gone} registrations expired");
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

/// Longest pause between accept attempts while they keep failing.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Doubling pauses after consecutive accept errors, from 10 ms up to [`MAX_BACKOFF`].
#[derive(Debug, Default)]
struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    /// The pause before the next attempt, and whether this failure starts a run.
    fn failed(&mut self) -> (Duration, bool) {
        self.failures += 1;
        let wait = Duration::from_millis(10u64 << (self.failures - 1).min(7)).min(MAX_BACKOFF);
        (wait, self.failures == 1)
    }

    fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!("accepting again after {} failed attempts", self.failures);
        }
        self.failures = 0;
    }
}

/// Over the connection limit: one `text/rude-rejection` written without waiting (a fresh
/// socket's send buffer is empty) and the socket closed, so the accept loop never stalls.
fn refuse(stream: &TcpStream, peer: SocketAddr, shared: &Shared) {
    shared.refused.fetch_add(1, Ordering::SeqCst);
    tracing::warn!(
        %peer,
        "refused connection: {} connections open (max-connections {})",
        shared.live.load(Ordering::SeqCst),
        shared.limits.max_connections
    );
    let _ = stream.try_write(&wire::too_many_connections().to_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_to_a_ceiling_and_resets() {
        let mut b = AcceptBackoff::default();
        assert_eq!(b.failed(), (Duration::from_millis(10), true));
        assert_eq!(b.failed(), (Duration::from_millis(20), false));
        for _ in 0..20 {
            b.failed();
        }
        assert_eq!(b.failed().0, MAX_BACKOFF);
        b.succeeded();
        assert_eq!(b.failed(), (Duration::from_millis(10), true));
    }
}
