//! `eslmatrix calls`: the live call view in the terminal (flags only; the loop is
//! `app::calls`, the picture `tui::calls`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::run::{load_config, seconds, stop_signal};
use super::{block_on, CliError, Threads};
use eslmatrix::app::calls::{self, CallsSettings};
use eslmatrix::driver::DisplaySpec;
use eslmatrix::tui::terminal::{keys, FullScreen};
use eslmatrix::tui::TextScreen;

#[derive(Args, Debug)]
pub struct CallsArgs {
    /// The configuration file (the same as `run`'s; only its servers and link timings
    /// count here); without one, a local FreeSWITCH on 127.0.0.1:8021.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One server instead of the file's list, as HOST or HOST:PORT (the password comes
    /// from ESLMATRIX_PASSWORD, or is ClueCon).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// How long ended calls stay on screen, dimmed, with their hang-up cause (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_keep, default_value = "60s")]
    pub keep_ended: Duration,
    /// Stop after this many seconds. Without a terminal on stdout, the list is printed once
    /// as soon as every link is up and rebuilt, or after this long (default 5).
    #[arg(long, value_name = "SECS")]
    pub seconds: Option<f64>,
    /// Write the list once as an 80×24 picture to this PNG file instead (as soon as every
    /// link is up and rebuilt, or after --seconds), terminal or not.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
}

/// How long the one picture printed without a terminal waits for the links by default.
const ONCE_LIMIT: Duration = Duration::from_secs(5);

/// Without a terminal (a pipe, a file, a script): the list once, 80×24, as soon as every
/// link is up and rebuilt, or as it stands after `limit`.
fn print_once(settings: &CallsSettings, limit: Duration, png: Option<&Path>) -> Result<(), CliError> {
    let mut screen = TextScreen::new(80, 24).map_err(CliError::runtime)?;
    block_on(Threads::One, calls::run_once(settings, &mut screen, limit))?.map_err(CliError::runtime)?;
    match png {
        Some(path) => calls::write_picture_png(&screen.picture(), path).map_err(CliError::runtime)?,
        None => println!("{}", screen.text()),
    }
    Ok(())
}

fn parse_keep(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (e.g. 30s, 5m)"))
}

pub fn run(a: CallsArgs) -> Result<(), CliError> {
    let config = load_config(a.config.as_deref(), a.server.as_deref(), &DisplaySpec::default())?;
    let seconds = seconds(a.seconds)?;
    let settings =
        CallsSettings { servers: config.daemon.servers, link: config.daemon.link, keep_ended: a.keep_ended };
    if a.png.is_some() || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return print_once(&settings, seconds.unwrap_or(ONCE_LIMIT), a.png.as_deref());
    }
    // No log subscriber: a line on stderr would land in the middle of the picture; the
    // status line says what the links are doing.
    block_on(Threads::One, async {
        let mut screen = FullScreen::enter().map_err(|e| CliError::runtime(format!("terminal: {e}")))?;
        let result = calls::run(&settings, screen.terminal(), keys(), stop_signal(seconds)).await;
        drop(screen);
        result.map(|_| ()).map_err(|e| CliError::runtime(format!("terminal: {e}")))
    })?
}
