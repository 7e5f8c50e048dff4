//! `show`'s job, the original Python script's: run one API command and scroll its output
//! across the display once, in from the right and out to the left (luma's `show_message`).

use std::time::Duration;

use freeswitch_esl_tokio::{EslClient, EslError};
use tokio::time::{sleep_until, Instant};

use super::player::{Animation, PlayerOptions, ScrollMode};
use crate::backend::Output;
use crate::render::Frame;
use crate::scene::{Cue, CueKind, CueStyle, ScrollPolicy};

/// The command could not be run.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, or the login was refused.
    #[error("{host}:{port}: {source}")]
    Connect {
        /// The server.
        host: String,
        /// Its Event Socket port.
        port: u16,
        /// The client's reason.
        source: EslError,
    },
    /// The server did not run the command, or it failed there.
    #[error("api {command}: {source}")]
    Api {
        /// The command.
        command: String,
        /// The client's reason.
        source: EslError,
    },
}

/// Runs `command` on the server and returns its output as one line (newlines become
/// spaces, as the original script did).
pub async fn fetch(host: &str, port: u16, password: &str, command: &str) -> Result<String, FetchError> {
    let (client, _events) = EslClient::connect(host, port, password)
        .await
        .map_err(|source| FetchError::Connect { host: host.to_owned(), port, source })?;
    let api = |source| FetchError::Api { command: command.to_owned(), source };
    let reply = client.api(command).await.map_err(api)?;
    let body = reply.api_result().map_err(api)?.to_owned();
    let _ = client.exit().await;
    Ok(join_lines(&body))
}

/// Newlines (and the blank runs around them) become single spaces.
pub fn join_lines(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Scrolls `text` across `out` once, in from the right and out to the left. With `live`
/// the steps are paced on tokio time; otherwise they are sent as fast as the output takes
/// them (a file or a test).
pub async fn scroll_once(out: &mut Output, text: &str, opts: PlayerOptions, live: bool) {
    let (w, h) = out.wiring().logical_size();
    let opts = PlayerOptions { mode: ScrollMode::Once, delay: Duration::ZERO, ..opts };
    let style = CueStyle { scroll: ScrollPolicy::Always, ..CueStyle::default() };
    let anim = Animation::new(Cue::text(text, style, CueKind::Page), w, opts);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_becomes_one_line() {
        let status = "UP 0 years, 0 days\r\nFreeSWITCH (Version 1.10) is ready\n\n0 session(s)\n";
        assert_eq!(join_lines(status), "UP 0 years, 0 days FreeSWITCH (Version 1.10) is ready 0 session(s)");
    }
}
