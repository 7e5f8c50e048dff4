//! `eslmatrix mock-fs`: the mock FreeSWITCH as a program, so fs_cli, any ESL library or the
//! daemon can be pointed at it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::{ArgAction, Args};
use eslmatrix_sim::fs::pbx::scenario::{Scenario, BUILTIN};
use eslmatrix_sim::fs::{Cidr, Limits, MockConfig, MockFreeSwitch};

use super::{block_on, CliError, Threads};
use eslmatrix::app::link::{DEFAULT_PASSWORD, DEFAULT_PORT};

#[derive(Args, Debug)]
pub struct MockFsArgs {
    /// Address to listen on, HOST:PORT (a name such as localhost is resolved; port 0 picks
    /// a free one). Loopback by default: the mock is for this machine.
    #[arg(long, value_name = "HOST:PORT", default_value_t = format!("127.0.0.1:{DEFAULT_PORT}"))]
    pub listen: String,
    /// The Event Socket password clients must send; without it, $ESLMATRIX_MOCK_PASSWORD,
    /// else ClueCon. The variable keeps the password out of `ps`.
    #[arg(long)]
    pub password: Option<String>,
    /// Open connections at most; one more is refused (text/rude-rejection) and logged.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Log connections, auth results and kills (-v), also commands, passwords hidden
    /// (-vv), everything (-vvv); RUST_LOG takes precedence. Warnings always show.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// A scenario: a TOML file, or a built-in name (demo, webrtc-click-to-call, originate,
    /// rejections, busy-office).
    #[arg(long, value_name = "FILE|NAME")]
    pub scenario: Option<String>,
    /// Networks allowed to connect (repeatable), like apply-inbound-acl; default loopback.
    #[arg(long, value_name = "CIDR")]
    pub acl: Vec<String>,
    /// HEARTBEAT interval in seconds (FreeSWITCH's default is 20); 0 turns it off.
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub heartbeat: u64,
    /// Makes the Core-UUID and every UUID reproducible; without it each start is fresh,
    /// as FreeSWITCH's are.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Also serve the API over HTTP as mod_xml_rpc does (/api/, /webapi/, /txtapi/ with
    /// basic auth), e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "HOST:PORT")]
    pub http: Option<String>,
    /// The web API's user (xml_rpc.conf.xml auth-user).
    #[arg(long, value_name = "NAME", default_value = "freeswitch", requires = "http")]
    pub http_user: String,
    /// The web API's password (auth-pass).
    #[arg(long, value_name = "PASSWORD", default_value = "works", requires = "http")]
    pub http_password: String,
    /// Also take real SIP clients on the internal profile: UDP and TCP on HOST:PORT
    /// (127.0.0.1:5060 when no address is given). A scenario's [sip] table does the same.
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = "127.0.0.1:5060")]
    pub sip: Option<String>,
    /// With --sip: SIP over WebSocket (RFC 7118, what SIP.js in a browser uses) on
    /// HOST:PORT, or `off`. Default: --sip's host, port 5066 (sofia's ws-binding); a free
    /// port when --sip's port is 0.
    #[arg(long, value_name = "HOST:PORT|off")]
    pub sip_ws: Option<String>,
    /// With --sip: SIP over secure WebSocket on HOST:PORT, or `off`. Default: --sip's host,
    /// port 7443 (sofia's wss-binding); a free port when --sip's port is 0.
    #[arg(long, value_name = "HOST:PORT|off")]
    pub sip_wss: Option<String>,
    /// The wss certificate chain (PEM); without it a self-signed one for localhost,
    /// 127.0.0.1 and ::1 is made at start.
    #[arg(long, value_name = "FILE")]
    pub sip_tls_cert: Option<std::path::PathBuf>,
    /// The wss certificate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub sip_tls_key: Option<std::path::PathBuf>,
    /// The URL the `httapi` application requests when its data names none (httapi.conf's
    /// gateway-url).
    #[arg(long, value_name = "URL")]
    pub httapi_url: Option<String>,
}

/// Reads a scenario from a file, or by built-in name.
pub fn load_scenario(spec: &str) -> Result<Scenario, CliError> {
    if std::path::Path::new(spec).exists() {
        return Scenario::load(spec).map_err(CliError::usage);
    }
    if let Some(parsed) = Scenario::builtin(spec) {
        parsed.map_err(CliError::usage)
    } else {
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        Err(CliError::usage(format!(
            "--scenario {spec:?}: no such file, and not a built-in scenario ({})",
            names.join(", ")
        )))
    }
}

/// Where `ESLMATRIX_MOCK_PASSWORD` is read from when `--password` is not given.
pub const PASSWORD_ENV: &str = "ESLMATRIX_MOCK_PASSWORD";

/// `--listen`: an address or a host name with a port, resolved once, first address wins.
fn resolve_listen(spec: &str) -> Result<SocketAddr, CliError> {
    resolve_addr("--listen", spec)
}

pub fn resolve_addr(flag: &str, spec: &str) -> Result<SocketAddr, CliError> {
    let bad = |why: String| CliError::usage(format!("{flag} {spec:?}: {why}"));
    let (host, port) = match spec.rsplit_once(':') {
        Some((host, port)) => (host.trim_start_matches('[').trim_end_matches(']'), port),
        None => return Err(bad("expected HOST:PORT".into())),
    };
    let port: u16 = port.parse().map_err(|_| bad(format!("{port:?} is not a port number")))?;
    let mut addrs =
        (host, port).to_socket_addrs().map_err(|e| bad(format!("cannot resolve {host:?}: {e}")))?;
    addrs.next().ok_or_else(|| bad(format!("{host:?} has no address")))
}

/// `--sip` wins over the scenario's `[sip]`; the scenario's registrar settings apply
/// either way.
fn sip_config(
    flag: Option<&str>,
    spec: Option<&eslmatrix_sim::fs::pbx::scenario::SipSpec>,
    seed: Option<u64>,
) -> Result<Option<eslmatrix_sim::fs::sip::SipConfig>, CliError> {
    use eslmatrix_sim::fs::sip::{digest::Algorithm, listen::ListenConfig, SipConfig};
    let listen = match (flag, spec.and_then(|s| s.listen.as_deref())) {
        (Some(f), _) => resolve_addr("--sip", f)?,
        (None, Some(l)) => resolve_addr("[sip] listen", l)?,
        (None, None) if spec.is_some() => ListenConfig::default().listen,
        (None, None) => return Ok(None),
    };
    let mut config = SipConfig { seed: seed.unwrap_or_else(fresh_seed), ..SipConfig::default() };
    config.listen.listen = listen;
    if let Some(spec) = spec {
        config.listen.udp = spec.udp;
        config.listen.tcp = spec.tcp;
        config.registrar.min_expires = spec.min_expires.unwrap_or(0);
        config.registrar.digest = spec.digest.iter().filter_map(|a| Algorithm::parse(a)).collect();
        config.auth_calls = spec.auth_calls;
        config.auth_messages = spec.auth_messages;
    }
    Ok(Some(config))
}

/// `--sip-ws` / `--sip-wss` and the certificate flags, on a SIP config `--sip` made.
pub fn websocket_flags(
    sip: &mut eslmatrix_sim::fs::sip::SipConfig,
    ws: Option<&str>,
    wss: Option<&str>,
    cert: Option<std::path::PathBuf>,
    key: Option<std::path::PathBuf>,
) -> Result<(), CliError> {
    use eslmatrix_sim::fs::sip::tls::TlsSource;
    use eslmatrix_sim::fs::sip::ws::{WSS_PORT, WS_PORT};
    let base = sip.listen.listen;
    let binding = |flag: &str, given: Option<&str>, port: u16| -> Result<Option<SocketAddr>, CliError> {
        match given {
            Some("off") => Ok(None),
            Some(spec) => resolve_addr(flag, spec).map(Some),
            // Tests and scripts that let --sip pick a port get free ones here too.
            None => Ok(Some(SocketAddr::new(base.ip(), if base.port() == 0 { 0 } else { port }))),
        }
    };
    sip.websocket.ws = binding("--sip-ws", ws, WS_PORT)?;
    sip.websocket.wss = binding("--sip-wss", wss, WSS_PORT)?;
    match (cert, key) {
        (Some(cert), Some(key)) => sip.websocket.tls = TlsSource::Files { cert, key },
        (None, None) => {}
        _ => return Err(CliError::usage("--sip-tls-cert and --sip-tls-key go together")),
    }
    Ok(())
}

/// A per-start seed for nonces when `--seed` is not given.
/// A seed for the SIP side's nonces and tags when none is given: they differ per start, as a
/// real switch's do.
pub fn fresh_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn init_logs(verbose: u8) {
    let level = ["warn", "info", "debug"].get(usize::from(verbose)).copied().unwrap_or("trace");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(a: MockFsArgs) -> Result<(), CliError> {
    init_logs(a.verbose);
    let listen = resolve_listen(&a.listen)?;
    if a.max_connections == 0 {
        return Err(CliError::usage("--max-connections must be at least 1"));
    }
    let password = match a.password {
        Some(p) => p,
        None => std::env::var(PASSWORD_ENV).unwrap_or_else(|_| DEFAULT_PASSWORD.to_string()),
    };
    let mut acl = Vec::new();
    for spec in &a.acl {
        acl.push(spec.parse::<Cidr>().map_err(|e| CliError::usage(format!("--acl {spec:?}: {e}")))?);
    }
    let scenario = a.scenario.as_deref().map(load_scenario).transpose()?;
    let http = match a.http.as_deref() {
        Some(spec) => Some(eslmatrix_sim::fs::http::HttpConfig {
            listen: resolve_addr("--http", spec)?,
            user: a.http_user,
            password: a.http_password,
            ..Default::default()
        }),
        None => None,
    };
    let mut sip = sip_config(a.sip.as_deref(), scenario.as_ref().and_then(|s| s.sip.as_ref()), a.seed)?;
    let spec = scenario.as_ref().and_then(|s| s.sip.as_ref());
    // The flags win over the scenario's `ws` / `wss`, as --sip wins over its `listen`.
    let ws = a.sip_ws.as_deref().or_else(|| spec.and_then(|s| s.ws.as_deref()));
    let wss = a.sip_wss.as_deref().or_else(|| spec.and_then(|s| s.wss.as_deref()));
    match sip.as_mut() {
        Some(sip) => {
            websocket_flags(sip, ws, wss, a.sip_tls_cert, a.sip_tls_key)?;
        }
        None if a.sip_ws.is_some()
            || a.sip_wss.is_some()
            || a.sip_tls_cert.is_some()
            || a.sip_tls_key.is_some() =>
        {
            return Err(CliError::usage("--sip-ws, --sip-wss, --sip-tls-cert and --sip-tls-key need --sip"));
        }
        None => {}
    }
    let mut config = MockConfig {
        pbx: eslmatrix_sim::fs::pbx::PbxConfig {
            start_wall: std::time::SystemTime::now(),
            seed: a.seed,
            ..Default::default()
        },
        listen,
        password,
        limits: Limits { max_connections: a.max_connections, ..Limits::default() },
        heartbeat: (a.heartbeat > 0).then(|| Duration::from_secs(a.heartbeat)),
        http,
        httapi: eslmatrix_sim::fs::http::httapi::HttapiConfig { url: a.httapi_url, ..Default::default() },
        sip,
        ..MockConfig::default()
    };
    if !acl.is_empty() {
        config.acl = acl;
    }
    if let Some(n) = a.seed {
        config.seed = n;
    }
    block_on(Threads::Workers(2), async move {
        let handle = MockFreeSwitch::start(config).await.map_err(CliError::usage)?;
        println!("mock FreeSWITCH listening on {} (Ctrl-C to stop)", handle.addr());
        if let Some(udp) = handle.sip_udp_addr() {
            println!("SIP on udp {udp}");
        }
        if let Some(tcp) = handle.sip_tcp_addr() {
            println!("SIP on tcp {tcp}");
        }
        if let Some(ws) = handle.sip_ws_addr() {
            println!("SIP on ws://{ws}");
        }
        if let Some(wss) = handle.sip_wss_addr() {
            println!("SIP on wss://{wss}");
        }
        if let Some(web) = handle.http_addr() {
            println!("web API on http://{web}/ (/api/, /webapi/, /txtapi/)");
        }
        if let Some(scenario) = scenario {
            let pbx = handle.pbx().clone();
            let faults = handle.faults().clone();
            tokio::spawn(async move {
                let report = scenario.run(&pbx, &faults).await;
                eprintln!("scenario finished: {} steps, {} calls", report.steps, report.calls);
            });
        }
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        Ok(())
    })?
}
