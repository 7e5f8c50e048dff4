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

/// The longest capture line read: a transaction for the longest chain is about 6 bytes
/// of text per chip, so this leaves room for comments, and a file that is not a capture
/// (`/dev/zero`) fails on its first line instead of filling memory.
pub const MAX_LINE: usize = 64 << 10;
/// The most a capture may hold: hours of traffic at 50 frames/s, and a bound on how
/// long an endless input (`/dev/urandom`, a FIFO) can keep replay busy.
pub const MAX_CAPTURE: u64 = 256 << 20;

pub fn run(a: ReplayArgs) -> Result<(), CliError> {
    use std::io::{BufRead, Read};

    use eslmatrix_sim::chain::{parse_capture_line, CaptureError, VirtualChain};
    let (wiring, _) = a.display.display()?;
    let mut chain = VirtualChain::new(wiring.chips())
        .with_layout(eslmatrix::backend::sim_layout(&wiring))
        .map_err(CliError::usage)?;
    let name = a.file.display();
    let file = std::fs::File::open(&a.file).map_err(|e| CliError::usage(format!("{name}: {e}")))?;
    // Line by line, each transaction applied as it is read: memory stays one line.
    let mut input = std::io::BufReader::new(file);
    let mut line = Vec::new();
    let (mut line_no, mut read, mut transactions) = (0usize, 0u64, 0usize);
    loop {
        line.clear();
        let n = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| CliError::usage(format!("{name}: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        read += n as u64;
        if read > MAX_CAPTURE {
            return Err(CliError::usage(format!(
                "{name}: longer than {} MiB: not a capture",
                MAX_CAPTURE >> 20
            )));
        }
        if n > MAX_LINE && !line.ends_with(b"\n") {
            return Err(CliError::usage(format!(
                "{name}: line {line_no} is longer than {} KiB: not a capture",
                MAX_LINE >> 10
            )));
        }
        let text = String::from_utf8_lossy(&line);
        let tx = parse_capture_line(&text, line_no).map_err(|e| CliError::usage(format!("{name}: {e}")))?;
        if let Some(tx) = tx {
            chain.apply(&tx);
            transactions += 1;
        }
    }
    if transactions == 0 {
        return Err(CliError::usage(format!("{name}: {}", CaptureError::Empty)));
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
