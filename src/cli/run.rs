//! `eslmatrix run`: the daemon.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use super::display::{DisplayArgs, LookArgs};
use super::with_output;
use super::{block_on, CliError, OutputArgs, Threads};
use eslmatrix::app::daemon::{self, DaemonSettings};
use eslmatrix::app::link::{ServerConfig, DEFAULT_PORT};
use eslmatrix::backend::spidev::SpiSpeed;
use eslmatrix::backend::{BackendSpec, Output};
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
    /// Stop after this many seconds (for scripts and benchmarks).
    #[arg(long, value_name = "SECS")]
    pub seconds: Option<f64>,
    /// More logging (-v info, -vv debug, -vvv trace); RUST_LOG takes precedence.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// Check the configuration, print the settings it resolves to (servers without their
    /// password, display, output) and exit: 0 when it is usable, 2 when not.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub look: LookArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Logs go to stderr through tracing; RUST_LOG wins over `-v`. By default only warnings,
/// and only errors under the terminal picture (they go above it, but a reconnecting link
/// would push the picture down every few seconds). The ESL client's own connect warnings
/// repeat ours, so they are quieter. Colours only when stderr is a terminal: a file or the
/// journal gets plain text.
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(eslmatrix::backend::terminal::LogWriter)
        .try_init();
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
    let display = a.look.over(a.display.spec());
    let mut config = load_config(a.config.as_deref(), a.server.as_deref(), &display)?;
    let daemon = &mut config.daemon;
    if let Some(speed) = a.speed {
        daemon.player.speed = speed;
    }
    if let Some(spi_speed) = a.output.spi_speed_hz {
        config.spi_speed = spi_speed;
    }
    Ok(config)
}

/// The config file (or the defaults without one) with `display` over its display section
/// and `--server` (one server instead of the file's list): what `run` and `calls` share.
pub fn load_config(
    path: Option<&std::path::Path>,
    server: Option<&str>,
    display: &eslmatrix::driver::DisplaySpec,
) -> Result<Config, CliError> {
    let env = std::env::var(PASSWORD_ENV).ok();
    let mut config = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("cannot read config {}: {e}", path.display())))?;
            Config::parse_with_overrides(&text, env.as_deref(), display)
                .map_err(|ConfigError(e)| CliError::usage(format!("{}: {e}", path.display())))?
        }
        None => Config::defaults(env.as_deref(), display).map_err(|ConfigError(e)| CliError::usage(e))?,
    };
    let daemon = &mut config.daemon;
    if let Some(spec) = server {
        let (host, port) =
            parse_host_port(spec, DEFAULT_PORT).map_err(|e| CliError::usage(format!("--server {e}")))?;
        let password = daemon.servers.first().map(|s| s.password.clone()).unwrap_or_default();
        let multiple_registrations = daemon.servers.first().is_some_and(|s| s.multiple_registrations);
        daemon.servers =
            vec![ServerConfig { name: host.clone(), host, port, password, multiple_registrations }];
    }
    Ok(config)
}

/// Where `run` sends frames: `--backend`, else the config's `[output] backend`, else the
/// terminal preview when stdout is a terminal. Anything else (a service, a pipe) would
/// write frames nobody sees, so it is refused at start.
pub fn backend(
    flag: Option<&BackendSpec>,
    config: Option<&BackendSpec>,
    stdout_is_terminal: bool,
) -> Result<BackendSpec, CliError> {
    match flag.or(config) {
        Some(b) => Ok(b.clone()),
        None if stdout_is_terminal => Ok(BackendSpec::Terminal),
        None => Err(CliError::usage(
            "no backend set and stdout is not a terminal: set backend = \"spidev\" (a Pi) in the \
             config's [output] table, or pass --backend spidev|virtual|window|spilog:FILE",
        )),
    }
}

pub fn run(a: RunArgs) -> Result<(), CliError> {
    let mut config = config(&a)?;
    if a.check {
        print!("{}", check_report(&a, &config));
        return Ok(());
    }
    let stdout_is_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let backend = backend(a.output.backend.as_ref(), config.backend.as_ref(), stdout_is_terminal)?;
    init_logs(a.verbose, &backend);
    let seconds = seconds(a.seconds)?;
    config.daemon.player.close_poll = backend.close_poll();
    tracing::info!(servers = config.daemon.servers.len(), backend = %backend, "starting");
    let output = config.output(backend);
    with_output(&output, |out| run_on(out, &config.daemon, seconds))
}

/// What `run --check` prints: the settings the file and the flags resolve to, one line
/// each. Passwords are never printed, only where they come from.
pub fn check_report(a: &RunArgs, config: &Config) -> String {
    let env = std::env::var(PASSWORD_ENV).ok();
    let mut out = String::new();
    let source = a.config.as_ref().map_or("no file: the defaults".to_owned(), |p| p.display().to_string());
    out.push_str(&format!("config: {source}\n"));
    for s in &config.daemon.servers {
        let password = if env.as_deref() == Some(s.password.as_str()) {
            format!("password from {PASSWORD_ENV}")
        } else if s.password == eslmatrix::app::link::DEFAULT_PASSWORD {
            "FreeSWITCH's default password".to_owned()
        } else {
            "password from the config".to_owned()
        };
        out.push_str(&format!("server {}: {}:{} ({password})\n", s.name, s.host, s.port));
    }
    let w = &config.wiring;
    let (lw, lh) = w.logical_size();
    let m = w.module;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    out.push_str(&format!(
        "display: {}x{} modules ({lw}×{lh} LEDs), chain_order {}, digits_are_rows {}, columns_reversed {}, \
         rows_reversed {}, rotate {}, intensity {}\n",
        w.modules_x,
        w.modules_y,
        w.chain,
        yes_no(m.digits_are_rows),
        yes_no(m.columns_reversed),
        yes_no(m.rows_reversed),
        w.rotation,
        config.intensity,
    ));
    let output = match (a.output.backend.as_ref(), config.backend.as_ref()) {
        (Some(flag), _) => format!("{flag} (--backend)"),
        (None, Some(file)) => format!("{file} ([output] backend)"),
        (None, None) => "none set: the terminal preview when run in a terminal, else refused".to_owned(),
    };
    out.push_str(&format!("output: {output}\n"));
    let spi = match (a.output.spi_speed_hz, config.spi_speed == SpiSpeed::DEFAULT) {
        (Some(_), _) => "--spi-speed-hz",
        (None, true) => "the default",
        (None, false) => "[output] spi_speed_hz",
    };
    out.push_str(&format!("spi clock: {} ({spi})\n", config.spi_speed));
    let p = &config.daemon.player;
    out.push_str(&format!(
        "pages: {}, {} each; font {}, scroll {} columns/s\n",
        config.daemon.scene.pages.len(),
        humantime_like(config.daemon.scene.page_time),
        p.font,
        p.speed,
    ));
    out.push_str(&format!(
        "look: invert {}, refresh_every {}, blank_on_exit {}, max_current_ma {}\n",
        yes_no(p.invert),
        p.refresh_every.map_or("off".to_owned(), humantime_like),
        yes_no(p.blank_on_exit),
        config.power.map_or("none".to_owned(), |b| b.max_ma.to_string()),
    ));
    out.push_str("ok\n");
    out
}

/// `5s`, `1500ms`: the config's own spelling of a duration.
fn humantime_like(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
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
            // Fields in words, not a Debug dump: this line ends up in the journal.
            tracing::info!(
                connects = s.attempts,
                sessions = s.sessions,
                rebuilds = s.refreshes,
                events = s.events,
                events_lost = s.events_lost,
                last_error = s.last_error.as_deref().unwrap_or("none"),
                "link stopped"
            );
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
