//! `eslmatrix show`: the original Python script's job — run one API command and scroll its
//! output across the display once — with its flags and defaults, so existing shell
//! invocations keep working: `eslmatrix show -s HOST -p 8021 -a ClueCon -c status -n 4
//! --block-orientation 0`.

use std::time::Duration;

use clap::Args;
use freeswitch_esl_tokio::EslClient;
use tokio::time::{sleep_until, Instant};

use super::display::DisplayArgs;
use super::run::{init_logs, stop_signal};
use super::text::{font, FontArg};
use super::{CliError, OutputArgs};
use crate::app::player::{Animation, PlayerOptions, ScrollMode};
use crate::backend::output::{with_output, Output};
use crate::render::Frame;
use crate::scene::{Cue, CueKind, CueStyle, Scroll};

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// FreeSWITCH host.
    #[arg(short = 's', long, default_value = "127.0.0.1")]
    pub server: String,
    /// Event Socket port.
    #[arg(short = 'p', long, default_value_t = 8021)]
    pub port: u16,
    /// Event Socket password [default: $ESLMATRIX_PASSWORD, else ClueCon].
    #[arg(short = 'a', long, value_name = "PASSWORD")]
    pub auth: Option<String>,
    /// The API command whose output scrolls.
    #[arg(short = 'c', long, default_value = "status")]
    pub command: String,
    /// Keep going: run the command again after each pass.
    #[arg(long)]
    pub repeat: bool,
    /// Scroll speed in columns per second (luma's scroll_delay 0.03 s ≈ 33).
    #[arg(long, default_value_t = 33.0)]
    pub speed: f64,
    #[arg(long, value_enum, default_value_t = FontArg::Proportional)]
    pub font: FontArg,
    /// More logging (-v info, -vv debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `command` on the server and returns its output as one line (newlines become
/// spaces, as the original script did).
pub async fn fetch(host: &str, port: u16, password: &str, command: &str) -> Result<String, CliError> {
    let (client, _events) = EslClient::connect(host, port, password)
        .await
        .map_err(|e| CliError::runtime(format!("{host}:{port}: {e}")))?;
    let reply = client.api(command).await.map_err(|e| CliError::runtime(format!("api {command}: {e}")))?;
    let body = match reply.api_result() {
        Ok(body) => body.to_owned(),
        Err(e) => return Err(CliError::runtime(format!("api {command}: {e}"))),
    };
    let _ = client.exit().await;
    Ok(one_line(&body))
}

/// Newlines (and the blank runs around them) become single spaces.
pub fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Scrolls `text` across `out` once, in from the right and out to the left. With `live`
/// the steps are paced on tokio time; otherwise they are sent as fast as the output takes
/// them (a file or a test).
pub async fn scroll_once(out: &mut Output, text: &str, opts: PlayerOptions, live: bool) {
    let (w, h) = out.wiring().logical_size();
    let opts = PlayerOptions { mode: ScrollMode::Once, delay: Duration::ZERO, ..opts };
    let style = CueStyle { scroll: Scroll::Always, ..CueStyle::default() };
    let anim = Animation::new(Cue { text: text.to_owned(), style, kind: CueKind::Page }, w, opts);
    let mut frame = Frame::new(w, h);
    let origin = Instant::now();
    let mut t = Duration::ZERO;
    loop {
        anim.draw(t, &mut frame);
        if let Err(e) = out.show_at(&frame, origin.elapsed()) {
            tracing::warn!("display: {e}");
        }
        let Some(next) = anim.next_change(t) else { break };
        if live {
            sleep_until(origin + next).await;
        }
        t = next;
    }
}

pub fn run(a: ShowArgs) -> Result<(), CliError> {
    init_logs(a.verbose, &a.output.backend);
    let wiring = a.display.wiring()?;
    let intensity = a.display.intensity()?;
    if !(a.speed.is_finite() && a.speed > 0.0) {
        return Err(CliError::usage(format!(
            "--speed {}: expected a positive number of columns per second",
            a.speed
        )));
    }
    let opts = PlayerOptions { font: font(a.font), speed: a.speed, ..PlayerOptions::default() };
    let live = a.output.backend.is_live() || super::run::close_poll(&a.output.backend).is_some();
    let password = a
        .auth
        .clone()
        .or_else(|| std::env::var(crate::config::PASSWORD_ENV).ok())
        .unwrap_or_else(|| crate::config::DEFAULT_PASSWORD.to_owned());
    with_output(&a.output.backend, wiring, intensity, |out| {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(CliError::runtime)?;
        rt.block_on(async {
            let work = async {
                loop {
                    let text = fetch(&a.server, a.port, &password, &a.command).await?;
                    scroll_once(out, &text, opts, live).await;
                    if !a.repeat || !out.is_open() {
                        return Ok(());
                    }
                }
            };
            tokio::select! {
                r = work => r,
                _ = stop_signal(None) => Ok(()),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_becomes_one_line() {
        let status = "UP 0 years, 0 days\r\nFreeSWITCH (Version 1.10) is ready\n\n0 session(s)\n";
        assert_eq!(one_line(status), "UP 0 years, 0 days FreeSWITCH (Version 1.10) is ready 0 session(s)");
    }
}
