//! `eslmatrix show`: the original Python script's job — run one API command and scroll its
//! output across the display once — with its flags and defaults, so existing shell
//! invocations keep working: `eslmatrix show -s HOST -p 8021 -a ClueCon -c status -n 4
//! --block-orientation 0`.

use clap::Args;

use super::display::{font, DisplayArgs, FontArg};
use super::run::{init_logs, stop_signal};
use super::with_output;
use super::{block_on, CliError, OutputArgs, Threads};
use eslmatrix::app::link::{DEFAULT_PASSWORD, DEFAULT_PORT, LOCAL_HOST};
use eslmatrix::app::player::PlayerOptions;
use eslmatrix::app::show::{fetch, scroll_once};
use eslmatrix::backend::OutputSpec;
use eslmatrix::config::PASSWORD_ENV;
use eslmatrix::render::Speed;

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// FreeSWITCH host.
    #[arg(short = 's', long, default_value = LOCAL_HOST)]
    pub server: String,
    /// Event Socket port.
    #[arg(short = 'p', long, default_value_t = DEFAULT_PORT)]
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
    #[arg(long, default_value_t = Speed::LUMA)]
    pub speed: Speed,
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

pub fn run(a: ShowArgs) -> Result<(), CliError> {
    init_logs(a.verbose, &a.output.backend());
    let (wiring, intensity) = a.display.display()?;
    let opts = PlayerOptions { font: font(a.font), speed: a.speed, ..PlayerOptions::default() };
    let live = a.output.backend().is_live() || a.output.backend().close_poll().is_some();
    let password = a
        .auth
        .clone()
        .or_else(|| std::env::var(PASSWORD_ENV).ok())
        .unwrap_or_else(|| DEFAULT_PASSWORD.to_owned());
    let output = OutputSpec {
        backend: a.output.backend(),
        wiring,
        intensity,
        spi_speed: a.output.spi_speed(),
        power: a.display.spec().power_budget()?,
    };
    with_output(&output, |out| {
        block_on(Threads::One, async {
            let work = async {
                loop {
                    let text =
                        fetch(&a.server, a.port, &password, &a.command).await.map_err(CliError::runtime)?;
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
        })?
    })
}
