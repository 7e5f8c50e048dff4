//! `eslmatrix run`: the daemon.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use super::display::DisplayArgs;
use super::text::{font, FontArg};
use super::{block_on, CliError, OutputArgs, Threads};
use eslmatrix::app::daemon::{self, DaemonSettings};
use eslmatrix::app::link::{ServerConfig, DEFAULT_PORT};
use eslmatrix::backend::{with_output, BackendSpec, Output};
use eslmatrix::config::{Config, ConfigError, PASSWORD_ENV};
use eslmatrix::render::Speed;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The configuration file (see docs/configuration.md); without one, a local
    /// FreeSWITCH on 127.0.0.1:8021 and the default pages.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One server instead of the file's list, as HOST or HOST:PORT (the password comes
    /// from ESLMATRIX_PASSWORD, or is ClueCon).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// Scroll speed in columns per second, at most 1000 (overrides scroll.speed).
    #[arg(long)]
    pub speed: Option<Speed>,
    #[arg(long, value_enum)]
    pub font: Option<FontArg>,
    /// Stop after this many seconds (for scripts and benchmarks).
    #[arg(long, value_name = "SECS")]
    pub seconds: Option<f64>,
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG takes precedence.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Logs go to stderr through tracing; RUST_LOG wins over `-v`. By default only warnings,
/// and only errors while the terminal backend redraws its picture in place (log lines would
/// tear it). The ESL client's own connect warnings repeat ours, so they are quieter.
pub fn init_logs(verbose: u8, backend: &BackendSpec) {
    let level = match (verbose, backend) {
        (0, BackendSpec::Terminal) => "error",
        (0, _) => "warn,freeswitch_esl_tokio=error",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// `HOST` or `HOST:PORT` (an IPv6 address goes in brackets: `[::1]:8021`).
pub fn parse_host_port(s: &str, default_port: u16) -> Result<(String, u16), String> {
    let bad = || format!("{s:?}: expected HOST or HOST:PORT");
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_owned(), port));
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port: u16 = port.parse().map_err(|_| bad())?;
            if host.is_empty() || port == 0 {
                return Err(bad());
            }
            Ok((host.to_owned(), port))
        }
        _ if s.trim().is_empty() => Err(bad()),
        _ => Ok((s.to_owned(), default_port)),
    }
}

/// The configuration the flags describe: the file (if any), then the flags over it.
pub fn config(a: &RunArgs) -> Result<Config, CliError> {
    let env = std::env::var(PASSWORD_ENV).ok();
    let mut config = match &a.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("cannot read config {}: {e}", path.display())))?;
            Config::parse_with_overrides(&text, env.as_deref(), &a.display.spec())
                .map_err(|ConfigError(e)| CliError::usage(format!("{}: {e}", path.display())))?
        }
        None => Config::defaults(env.as_deref(), &a.display.spec())
            .map_err(|ConfigError(e)| CliError::usage(e))?,
    };
    let daemon = &mut config.daemon;
    if let Some(spec) = &a.server {
        let (host, port) =
            parse_host_port(spec, DEFAULT_PORT).map_err(|e| CliError::usage(format!("--server {e}")))?;
        let password = daemon.servers.first().map(|s| s.password.clone()).unwrap_or_default();
        let multiple_registrations = daemon.servers.first().is_some_and(|s| s.multiple_registrations);
        daemon.servers =
            vec![ServerConfig { name: host.clone(), host, port, password, multiple_registrations }];
    }
    if let Some(speed) = a.speed {
        daemon.player.speed = speed;
    }
    if let Some(f) = a.font {
        daemon.player.font = font(f);
    }
    daemon.player.close_poll = a.output.backend.close_poll();
    Ok(config)
}

pub fn run(a: RunArgs) -> Result<(), CliError> {
    init_logs(a.verbose, &a.output.backend);
    let config = config(&a)?;
    let seconds = seconds(a.seconds)?;
    tracing::info!(servers = config.daemon.servers.len(), "starting");
    let output = config.output(a.output.backend.clone());
    with_output(&output, |out| run_on(out, &config.daemon, seconds))
}

pub fn seconds(s: Option<f64>) -> Result<Option<Duration>, CliError> {
    s.map(|s| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| CliError::usage(format!("--seconds {s}: expected seconds, 0 or more")))
    })
    .transpose()
}

/// Runs the daemon on `out` until Ctrl-C, SIGTERM, `seconds` or the view closes.
pub fn run_on(
    out: &mut Output,
    settings: &DaemonSettings,
    seconds: Option<Duration>,
) -> Result<(), CliError> {
    block_on(Threads::One, async {
        let stats = daemon::run(settings, out, stop_signal(seconds)).await;
        for s in stats {
            tracing::info!(?s, "link stopped");
        }
    })
}

/// Resolves on Ctrl-C, SIGTERM, or after `seconds`.
pub async fn stop_signal(seconds: Option<Duration>) {
    let timer = async {
        match seconds {
            Some(s) => tokio::time::sleep(s).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
        _ = term => tracing::info!("terminated"),
        _ = timer => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port() {
        assert_eq!(parse_host_port("pbx", 8021), Ok(("pbx".into(), 8021)));
        assert_eq!(parse_host_port("pbx:18021", 8021), Ok(("pbx".into(), 18021)));
        assert_eq!(parse_host_port("[::1]:9", 8021), Ok(("::1".into(), 9)));
        assert_eq!(parse_host_port("::1", 8021), Ok(("::1".into(), 8021)));
        assert!(parse_host_port("pbx:x", 8021).is_err());
        assert!(parse_host_port(":80", 8021).is_err());
        assert!(parse_host_port("", 8021).is_err());
    }
}
