//! `eslmatrix selftest`: the test patterns on any backend.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use super::display::DisplayArgs;
use super::with_output;
use super::{CliError, OutputArgs};
use eslmatrix::backend::{BackendSpec, Output, OutputSpec};
use eslmatrix::render::Frame;
use eslmatrix::tools::selftest::{self, Pace, Pattern, Timed, Unpaced, UntilEnter};

#[derive(Args, Debug)]
pub struct SelftestArgs {
    /// Keep each pattern up this many seconds instead of waiting for Enter. Without it a
    /// physical display waits for Enter when stdin is a terminal; the terminal preview
    /// holds each pattern 2 s; file backends do not wait.
    #[arg(long, value_name = "SECS")]
    pub hold: Option<f64>,
    /// Only these patterns, comma-separated: all-on, chain-index, arrows, row-sweep,
    /// column-sweep, brightness, checkerboard; or of the busy-lamp field: blf-idle,
    /// blf-in-call, blf-ringing, blf-on-hold, blf-not-registered, blf-panel, blf-dots.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_pattern)]
    pub only: Vec<Pattern>,
    /// The busy-lamp field's look instead of the test patterns: each state in turn on every
    /// cell, then all of them side by side as labelled blocks and as single LEDs, each with
    /// its legend.
    #[arg(long, conflicts_with = "only")]
    pub blf: bool,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_pattern(s: &str) -> Result<Pattern, String> {
    s.parse()
}

const DEFAULT_HOLD: Duration = Duration::from_secs(2);

pub fn run(a: SelftestArgs) -> Result<(), CliError> {
    let (wiring, intensity) = a.display.display()?;
    let hold = match a.hold {
        Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => return Err(CliError::usage(format!("--hold {s}: expected seconds, 0 or more"))),
        None => None,
    };
    let patterns = match (a.blf, a.only.is_empty()) {
        (true, _) => Pattern::BLF.to_vec(),
        (false, true) => Pattern::ALL.to_vec(),
        (false, false) => a.only.clone(),
    };
    let backend = &a.output.backend();
    // The terminal preview redraws in place on stdout; a line typed there would shift it.
    let preview = matches!(backend, BackendSpec::Terminal);
    let pace: Box<dyn Pace + Send> = match hold {
        _ if !backend.is_live() => Box::new(Unpaced::new(hold.unwrap_or(DEFAULT_HOLD))),
        Some(hold) => Box::new(Timed::new(hold)),
        None if !preview && std::io::stdin().is_terminal() => Box::new(UntilEnter::new(stdin_lines())),
        None => Box::new(Timed::new(DEFAULT_HOLD)),
    };
    let in_place = preview && std::io::stdout().is_terminal();
    let size = wiring.logical_size();
    let mut narrated =
        Narrated { inner: pace, count: patterns.len(), shown: 0, in_place, pending: None, size };
    let output = OutputSpec {
        backend: backend.clone(),
        wiring,
        intensity,
        spi_speed: a.output.spi_speed(),
        power: a.display.spec().power_budget()?,
    };
    let peaks = with_output(&output, |out: &mut Output| {
        let peaks =
            selftest::run(out, &patterns, &mut narrated).map_err(|e| CliError::runtime(e.to_string()))?;
        if backend.is_live() {
            let (w, h) = out.wiring().logical_size();
            out.show(&Frame::new(w, h))?;
        }
        Ok::<_, CliError>(peaks)
    })?;
    if in_place {
        eprintln!();
    }
    // What the 5 V supply must carry (the model is in docs/raspberry-pi.md).
    let peaks: Vec<String> = peaks.iter().map(|(p, ma)| format!("{} {ma:.0} mA", p.name())).collect();
    eprintln!("estimated peak current: {}", peaks.join(", "));
    Ok(())
}

/// One item per line typed on stdin, from a thread that owns it, so animations keep
/// running while the person looks.
fn stdin_lines() -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() || tx.send(()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Says on stderr which pattern is up and what it should look like.
struct Narrated {
    inner: Box<dyn Pace + Send>,
    count: usize,
    shown: usize,
    /// The terminal preview redraws in place just above the cursor: the line goes under
    /// the picture once it is drawn, and the cursor returns to the line's start so the
    /// next redraw lands where the last one was.
    in_place: bool,
    pending: Option<String>,
    /// The display's size, for the BLF panels' legends.
    size: (u32, u32),
}

impl Narrated {
    fn say(&mut self) {
        let Some(line) = self.pending.take() else { return };
        let mut err = std::io::stderr().lock();
        // Narration is a courtesy: a closed stderr must not stop the test patterns.
        let _ = if self.in_place { write!(err, "\x1b[K{line}\r") } else { writeln!(err, "{line}") };
        let _ = err.flush();
    }
}

impl Pace for Narrated {
    fn begin(&mut self, pattern: Pattern) {
        self.shown += 1;
        let mut line = format!("[{}/{}] {}: {}", self.shown, self.count, pattern.name(), pattern.expect());
        if let Some(legend) = pattern.legend(self.size.0, self.size.1) {
            // Not in place: the legend is for reading while the lamps are up.
            line = if self.in_place { format!("{line} ({legend})") } else { format!("{line}\n    {legend}") };
        }
        self.pending = Some(line);
        if !self.in_place {
            self.say();
        }
        self.inner.begin(pattern);
    }
    fn wait(&mut self, out: &mut Output, step: Option<Duration>, pass_done: bool) -> bool {
        self.say();
        self.inner.wait(out, step, pass_done)
    }
    fn now(&self) -> Duration {
        self.inner.now()
    }
}
