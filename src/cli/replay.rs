//! `eslmatrix replay`: a SPI capture through a virtual chain.

use std::path::PathBuf;

use clap::Args;

use super::display::DisplayArgs;
use super::CliError;

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The capture: one CS transaction per line, hex bytes, '#' comments.
    pub file: PathBuf,
    /// Also write the picture's LED look to this PNG.
    #[arg(long, value_name = "OUT")]
    pub png: Option<PathBuf>,
    #[command(flatten)]
    pub display: DisplayArgs,
}

pub fn run(a: ReplayArgs) -> Result<(), CliError> {
    use eslmatrix_sim::chain::{parse_capture, VirtualChain};
    let text = std::fs::read(&a.file).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?;
    let text = String::from_utf8_lossy(&text);
    let capture = parse_capture(&text).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?;
    let (wiring, _) = a.display.display()?;
    let mut chain = VirtualChain::new(wiring.chips())
        .with_layout(eslmatrix::backend::sim_layout(&wiring))
        .map_err(CliError::usage)?;
    for tx in &capture {
        chain.apply(tx);
    }
    let stats = chain.stats();
    if stats.bad_length > 0 {
        eprintln!(
            "warning: {} of {} transactions were not {} bytes (2 per chip for {} chips): \
             the chain latched stale words, as real hardware would",
            stats.bad_length,
            stats.transactions,
            2 * wiring.chips(),
            wiring.chips()
        );
    }
    let leds = eslmatrix::backend::chain_leds(&chain);
    for row in leds.to_rows() {
        println!("{row}");
    }
    if let Some(path) = &a.png {
        eslmatrix::backend::png::write_led_png(path, &leds, 16).map_err(|e| match e {
            // An unwritable path is the user's to fix, like any other bad argument.
            eslmatrix::backend::png::PngError::Io { .. } => CliError::usage(e),
            e => CliError::runtime(e),
        })?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
