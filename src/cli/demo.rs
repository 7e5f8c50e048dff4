//! `eslmatrix demo`: the whole system in one command — the mock FreeSWITCH in-process,
//! playing the built-in demo scenario on a loop, and the daemon showing it on the preview.

use clap::Args;
use eslmatrix_sim::fs::pbx::scenario::Scenario;
use eslmatrix_sim::fs::pbx::PbxConfig;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};

use super::display::DisplayArgs;
use super::run::{init_logs, seconds, stop_signal};
use super::{block_on, parse_backend, CliError, Threads};
use eslmatrix::app::daemon::{self, DaemonSettings};
use eslmatrix::app::link::{ServerConfig, DEFAULT_PASSWORD};
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
    /// The scenario the mock plays: a built-in name or a TOML file.
    #[arg(long, value_name = "FILE|NAME", default_value = "demo")]
    pub scenario: String,
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
    let attempt = |backend: BackendSpec| -> Result<(), DemoError> {
        let scenario = super::mock_fs::load_scenario(&a.scenario).map_err(DemoError::Demo)?;
        let mut config = config.clone();
        config.daemon.player.close_poll = backend.close_poll();
        let daemon = config.daemon.clone();
        eslmatrix::backend::with_output(&config.output(backend), |out| {
            demo_on(out, daemon, scenario, seconds).map_err(DemoError::Demo)
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

/// Starts the mock, points the daemon at it, and runs both until stopped.
fn demo_on(
    out: &mut Output,
    mut settings: DaemonSettings,
    scenario: Scenario,
    seconds: Option<std::time::Duration>,
) -> Result<(), CliError> {
    block_on(Threads::One, async {
        let mock = MockConfig {
            pbx: PbxConfig { start_wall: std::time::SystemTime::now(), ..PbxConfig::default() },
            ..MockConfig::default()
        };
        let handle = MockFreeSwitch::start(mock).await.map_err(CliError::runtime)?;
        let addr = handle.addr();
        tracing::info!(%addr, "mock FreeSWITCH up");
        let (pbx, faults) = (handle.pbx().clone(), handle.faults().clone());
        let player = tokio::spawn(async move {
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
        handle.shutdown().await;
        Ok(())
    })?
}
