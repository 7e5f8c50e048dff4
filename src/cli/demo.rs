//! `eslmatrix demo`: the whole system in one command — the mock FreeSWITCH in-process,
//! playing the built-in demo scenario on a loop, and the daemon showing it on the preview.
//! `demo --sip` takes real SIP clients instead and serves the example WebRTC pages, so a
//! person can call from one browser tab to another and watch the LEDs.

use clap::Args;
use std::net::SocketAddr;

use eslmatrix_sim::fs::pbx::scenario::Scenario;
use eslmatrix_sim::fs::pbx::PbxConfig;
use eslmatrix_sim::fs::sip::ws::WS_PORT;
use eslmatrix_sim::fs::sip::{pages, SipConfig};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};

use super::display::DisplayArgs;
use super::mock_fs::{fresh_seed, resolve_addr, websocket_flags};
use super::run::{init_logs, seconds, stop_signal};
use super::{block_on, parse_backend, CliError, Threads};
use eslmatrix::app::daemon::{self, DaemonSettings};
use eslmatrix::app::link::{ServerConfig, DEFAULT_PASSWORD};
use eslmatrix::backend::terminal::write_log;
use eslmatrix::backend::{BackendSpec, Output, OutputError};
use eslmatrix::config::Config;

/// The demo's pages and display, embedded so the demo needs no files.
pub const DEMO_CONFIG: &str = include_str!("../../fixtures/config/demo.toml");

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Stop after this many seconds (for CI).
    #[arg(long, value_name = "SECS")]
    pub seconds: Option<f64>,
    /// Where the frames go [default: window when a display is available, else terminal].
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<BackendSpec>,
    /// The scenario the mock plays: a built-in name or a TOML file [default: demo; none
    /// with --sip, where the calls are yours].
    #[arg(long, value_name = "FILE|NAME")]
    pub scenario: Option<String>,
    /// Take real SIP clients (UDP and TCP on HOST:PORT, 127.0.0.1:5060 when no address is
    /// given; ws :5066 and wss :7443 beside it) and serve the example WebRTC pages: open
    /// the answer page (extension 1000) in one tab and the call page in another.
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, default_missing_value = "127.0.0.1:5060")]
    pub sip: Option<String>,
    /// With --sip: SIP over WebSocket on HOST:PORT, or `off` [default: --sip's host, 5066].
    #[arg(long, value_name = "HOST:PORT|off")]
    pub sip_ws: Option<String>,
    /// With --sip: SIP over secure WebSocket on HOST:PORT, or `off` [default: --sip's
    /// host, 7443; a self-signed certificate].
    #[arg(long, value_name = "HOST:PORT|off")]
    pub sip_wss: Option<String>,
    /// With --sip: where the example pages are served. Keep it on loopback: a browser
    /// gives the microphone only to a secure context, which http://127.0.0.1 is.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8060")]
    pub pages: String,
    /// More logging (-v info, -vv debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub display: DisplayArgs,
}

/// The preview window when there is a screen to put it on (and this build has one), else
/// the terminal.
pub fn default_backend() -> BackendSpec {
    let screen =
        ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    match "window".parse::<BackendSpec>() {
        Ok(window) if screen => window,
        _ => BackendSpec::Terminal,
    }
}

/// Why the demo's output did not run: it could not open, or the demo itself failed.
enum DemoError {
    Output(OutputError),
    Demo(CliError),
}

impl From<OutputError> for DemoError {
    fn from(e: OutputError) -> Self {
        DemoError::Output(e)
    }
}

pub fn run(a: DemoArgs) -> Result<(), CliError> {
    let chosen = a.backend.clone();
    let backend = chosen.clone().unwrap_or_else(default_backend);
    init_logs(a.verbose, &backend);
    let config = Config::parse_with_overrides(DEMO_CONFIG, None, &a.display.spec())
        .map_err(|e| CliError::usage(e.0))?;
    let seconds = seconds(a.seconds)?;
    let sip = sip_setup(&a)?;
    let scenario_name = a.scenario.clone().or_else(|| sip.is_none().then(|| "demo".to_string()));
    let attempt = |backend: BackendSpec| -> Result<(), DemoError> {
        let scenario = scenario_name
            .as_deref()
            .map(super::mock_fs::load_scenario)
            .transpose()
            .map_err(DemoError::Demo)?;
        let mut config = config.clone();
        config.daemon.player.close_poll = backend.close_poll();
        let daemon = config.daemon.clone();
        eslmatrix::backend::with_output(&config.output(backend), |out| {
            demo_on(out, daemon, scenario, sip.clone(), seconds).map_err(DemoError::Demo)
        })
    };
    let result = match attempt(backend) {
        // A DISPLAY that no X server answers: the README promises the terminal then.
        Err(DemoError::Output(e @ OutputError::Window(_))) if chosen.is_none() => {
            eprintln!("eslmatrix: {e}; showing the demo in the terminal instead");
            attempt(BackendSpec::Terminal)
        }
        other => other,
    };
    match result {
        Ok(()) => Ok(()),
        Err(DemoError::Output(e)) => Err(e.into()),
        Err(DemoError::Demo(e)) => Err(e),
    }
}

/// `--sip`: the SIP listeners and where the pages are served.
#[derive(Clone, Debug)]
struct SipSetup {
    config: SipConfig,
    pages: SocketAddr,
}

/// What to open, once the pages and the ws binding listen (the pages dial
/// `ws://<their host>:5066` by themselves; another address goes in the URL).
fn invitation(pages: SocketAddr, ws: Option<SocketAddr>) -> String {
    let base = format!("http://{pages}");
    let query = match ws {
        Some(ws) if ws.port() != WS_PORT || ws.ip() != pages.ip() => format!("?server=ws://{ws}"),
        _ => String::new(),
    };
    format!(
        "WebRTC pages: open {base}/answer.html{query} (extension 1000 answers there) and \
         {base}/call.html{query} (it calls 1000) in two tabs"
    )
}

fn sip_setup(a: &DemoArgs) -> Result<Option<SipSetup>, CliError> {
    let Some(listen) = a.sip.as_deref() else {
        if a.sip_ws.is_some() || a.sip_wss.is_some() {
            return Err(CliError::usage("--sip-ws and --sip-wss need --sip"));
        }
        return Ok(None);
    };
    let mut config = SipConfig::default();
    config.listen.listen = resolve_addr("--sip", listen)?;
    config.seed = fresh_seed();
    websocket_flags(&mut config, a.sip_ws.as_deref(), a.sip_wss.as_deref(), None, None)?;
    Ok(Some(SipSetup { config, pages: resolve_addr("--pages", &a.pages)? }))
}

/// Starts the mock, points the daemon at it, and runs both until stopped.
fn demo_on(
    out: &mut Output,
    mut settings: DaemonSettings,
    scenario: Option<Scenario>,
    sip: Option<SipSetup>,
    seconds: Option<std::time::Duration>,
) -> Result<(), CliError> {
    block_on(Threads::One, async {
        let mock = MockConfig {
            pbx: PbxConfig { start_wall: std::time::SystemTime::now(), ..PbxConfig::default() },
            sip: sip.as_ref().map(|s| s.config.clone()),
            ..MockConfig::default()
        };
        let handle = MockFreeSwitch::start(mock).await.map_err(CliError::usage)?;
        let addr = handle.addr();
        tracing::info!(%addr, "mock FreeSWITCH up");
        let pages = match &sip {
            Some(s) => {
                let bad = |e: std::io::Error| CliError::usage(format!("--pages {}: {e}", s.pages));
                let listener = tokio::net::TcpListener::bind(s.pages).await.map_err(bad)?;
                let at = listener.local_addr().map_err(bad)?;
                // Above the picture on the terminal, on stderr otherwise.
                let _ = write_log(format!("{}\n", invitation(at, handle.sip_ws_addr())).as_bytes());
                Some(pages::spawn(listener))
            }
            None => None,
        };
        let (pbx, faults) = (handle.pbx().clone(), handle.faults().clone());
        let player = tokio::spawn(async move {
            let Some(scenario) = scenario else { return };
            loop {
                let report = scenario.run(&pbx, &faults).await;
                tracing::info!(steps = report.steps, calls = report.calls, "scenario pass over; again");
            }
        });
        settings.servers = vec![ServerConfig {
            name: "demo".into(),
            host: addr.ip().to_string(),
            port: addr.port(),
            password: DEFAULT_PASSWORD.into(),
            multiple_registrations: false,
        }];
        daemon::run(&settings, out, stop_signal(seconds)).await;
        player.abort();
        if let Some(pages) = pages {
            pages.abort();
        }
        handle.shutdown().await;
        Ok(())
    })?
}
