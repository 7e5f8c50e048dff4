//! `eslmatrix probe`: count the chips through DOUT → MISO.

use clap::Args;

use super::CliError;
use eslmatrix::backend::{BackendSpec, BackendSpecError, Bus, OutputError};
use eslmatrix::driver::MAX_CHIPS;
use eslmatrix::tools::probe::{probe, ProbeReport, DEFAULT_MAX_CHIPS};

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// spidev or spidev:DEVICE probes the real chain (default /dev/spidev0.0); any other backend
    /// probes a simulated chain of --sim-chips modules with DOUT wired.
    #[arg(long, default_value = "spidev", value_parser = parse_backend)]
    pub backend: BackendSpec,
    /// Give up after this many words: the longest chain to look for.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CHIPS)]
    pub max_chips: usize,
    /// Fail unless the chain has exactly this many chips.
    #[arg(long, value_name = "N")]
    pub expect: Option<usize>,
    /// Simulated chain: its number of chips.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub sim_chips: usize,
    /// Simulated chain: break the link after this chain index.
    #[arg(long, value_name = "INDEX")]
    pub sim_break_after: Option<usize>,
    /// The SPI clock of a spidev device in Hz, 10000 to 10000000 [default: 8000000].
    #[arg(long, visible_alias = "spi-speed", value_name = "HZ", value_parser = super::parse_spi_speed)]
    pub spi_speed_hz: Option<eslmatrix::backend::spidev::SpiSpeed>,
}

fn parse_backend(s: &str) -> Result<BackendSpec, BackendSpecError> {
    s.parse()
}

pub fn run(a: ProbeArgs) -> Result<(), CliError> {
    let report = if let BackendSpec::Spidev(path) = &a.backend {
        let mut dev = Bus::Device(
            eslmatrix::backend::spidev::open(path, a.spi_speed_hz.unwrap_or_default())
                .map_err(|e| CliError::from(OutputError::from(e)))?,
        );
        probe(&mut dev, a.max_chips).map_err(probe_error)?
    } else {
        if a.sim_chips > MAX_CHIPS {
            return Err(CliError::usage(format!("--sim-chips {}: at most {MAX_CHIPS}", a.sim_chips)));
        }
        let mut chain = eslmatrix_sim::chain::VirtualChain::new(a.sim_chips);
        chain.set_dout_loopback(true);
        if let Some(k) = a.sim_break_after {
            chain.break_after(k);
        }
        probe(&mut chain, a.max_chips).map_err(probe_error)?
    };
    match (report, a.expect) {
        (ProbeReport::Intact { chips, .. }, Some(want)) if chips != want => Err(CliError::runtime(format!(
            "{report}, but {want} were expected: check --modules, or a module that passes data without showing it"
        ))),
        (ProbeReport::Intact { .. }, _) => {
            println!("{report}");
            Ok(())
        }
        (ProbeReport::NoMarker { .. }, _) => Err(CliError::runtime(report)),
    }
}

fn probe_error<E: std::fmt::Debug>(e: eslmatrix::tools::probe::ProbeError<E>) -> CliError {
    match e {
        eslmatrix::tools::probe::ProbeError::MaxChips(_) => CliError::usage(e),
        other => CliError::runtime(other),
    }
}
