//! The command line: a translation layer from arguments to the library, as ripgrep's flags
//! are. It belongs to the binary; nothing in the library imports it. Usage and input errors
//! exit with code 2 and one line naming the problem; nothing here panics on input.

pub mod calls;
pub mod demo;
pub mod display;
pub mod image;
pub mod mock_fs;
pub mod probe;
pub mod replay;
pub mod run;
pub mod selftest;
pub mod show;
pub mod text;
pub mod wiring;

use std::future::Future;

use clap::{Args, Parser, Subcommand};

use eslmatrix::backend::spidev::{SpiSpeed, SpiSpeedError};
use eslmatrix::backend::{BackendSpec, BackendSpecError, Output, OutputError, OutputSpec};
use eslmatrix::driver::DisplaySpecError;

#[derive(Parser, Debug)]
#[command(name = "eslmatrix", version, about = "FreeSWITCH status on MAX7219 LED matrices", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The whole system at once: a mock FreeSWITCH playing a demo, and the daemon showing it.
    Demo(demo::DemoArgs),
    /// Live calls in the terminal, in the spirit of sngrep, over the Event Socket: who calls
    /// whom, in which state, since when, and why the recent ones ended.
    Calls(calls::CallsArgs),
    /// The daemon: FreeSWITCH status on the display, from a config file.
    Run(run::RunArgs),
    /// Run one API command and scroll its output (the original Python script).
    Show(show::ShowArgs),
    /// Show or scroll text.
    Text(text::TextArgs),
    /// Show a PNG image (its size must be the display's).
    Image(image::ImageArgs),
    /// Feed a SPI capture (one CS transaction per line, hex bytes) through a virtual chain
    /// and print what the LEDs show.
    Replay(replay::ReplayArgs),
    /// Run a mock FreeSWITCH Event Socket server (for fs_cli, ESL libraries or the daemon).
    MockFs(mock_fs::MockFsArgs),
    /// Test patterns on the display: all on, chain indices, arrows, row and column sweeps,
    /// brightness, checkerboard.
    Selftest(selftest::SelftestArgs),
    /// Find the display's wiring by answering questions about test pictures, and print
    /// its display section for the config file.
    Wiring(wiring::WiringArgs),
    /// Count the chips through DOUT of the last module, wired to MISO via a voltage divider.
    ///
    /// Needs DOUT of the last module wired to the Pi's MISO (pin 21) through a voltage
    /// divider, e.g. 10 kΩ from DOUT to MISO and 20 kΩ from MISO to ground: DOUT is a 5 V
    /// output and the Pi's pins take 3.3 V at most. A marker is shifted through the chain
    /// with no-op words only, so the picture stays as it is.
    Probe(probe::ProbeArgs),
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Where the frames go: terminal, virtual, window[:SCALE], spilog:FILE, png:FILE,
    /// gif:FILE[:PITCH], spidev[:DEVICE] [default: terminal; for `run`, the config's
    /// [output] backend].
    #[arg(long, value_parser = parse_backend)]
    pub backend: Option<BackendSpec>,
    /// The SPI clock of the spidev backend in Hz, 10000 to 10000000 (the MAX7219's maximum)
    /// [default: 8000000; for `run`, the config's [output] spi_speed_hz].
    #[arg(long, visible_alias = "spi-speed", value_name = "HZ", value_parser = parse_spi_speed)]
    pub spi_speed_hz: Option<SpiSpeed>,
}

impl OutputArgs {
    /// The backend asked for, or the terminal preview.
    pub fn backend(&self) -> BackendSpec {
        self.backend.clone().unwrap_or(BackendSpec::Terminal)
    }

    /// The SPI clock asked for, or the default.
    pub fn spi_speed(&self) -> SpiSpeed {
        self.spi_speed_hz.unwrap_or_default()
    }
}

pub fn parse_spi_speed(s: &str) -> Result<SpiSpeed, SpiSpeedError> {
    s.parse()
}

fn parse_backend(s: &str) -> Result<BackendSpec, BackendSpecError> {
    s.parse()
}

/// A command failed. `usage` errors (bad input or options) exit with 2, others with 1.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub usage: bool,
}

impl CliError {
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError { message: message.to_string(), usage: true }
    }
    pub fn runtime(message: impl std::fmt::Display) -> Self {
        CliError { message: message.to_string(), usage: false }
    }
    pub fn exit_code(&self) -> i32 {
        if self.usage {
            2
        } else {
            1
        }
    }
}

impl From<DisplaySpecError> for CliError {
    fn from(e: DisplaySpecError) -> Self {
        CliError::usage(e.flag_message())
    }
}

impl From<OutputError> for CliError {
    fn from(e: OutputError) -> Self {
        if e.is_usage() {
            CliError::usage(e)
        } else {
            CliError::runtime(e)
        }
    }
}

/// Runs `body` on the output `spec` names, then says on stderr which file it wrote, if
/// any, so a file backend never finishes without a word.
pub fn with_output<T: Send>(
    spec: &OutputSpec,
    body: impl FnOnce(&mut Output) -> Result<T, CliError> + Send,
) -> Result<T, CliError> {
    let result = eslmatrix::backend::with_output(spec, body)?;
    if let Some(path) = spec.backend.file() {
        eprintln!("wrote {}", path.display());
    }
    Ok(result)
}

/// How many worker threads a command's runtime gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Everything on the calling thread: the daemon and the one-shot commands, whose work
    /// is one display and a few sockets.
    One,
    /// Worker threads, for a server that many clients may load at once (the mock).
    Workers(usize),
}

/// Runs `work` to completion on a tokio runtime: the one place the binary builds one.
pub fn block_on<F: Future>(threads: Threads, work: F) -> Result<F::Output, CliError> {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::Workers(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    };
    let rt = builder.enable_all().build().map_err(CliError::runtime)?;
    Ok(rt.block_on(work))
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Text(a) => text::run(a),
        Command::Image(a) => image::run(a),
        Command::Replay(a) => replay::run(a),
        Command::MockFs(a) => mock_fs::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Run(a) => run::run(a),
        Command::Calls(a) => calls::run(a),
        Command::Show(a) => show::run(a),
        Command::Selftest(a) => selftest::run(a),
        Command::Wiring(a) => wiring::run(a),
        Command::Probe(a) => probe::run(a),
    }
}
