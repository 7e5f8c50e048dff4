//! An output: the real driver over the chosen backend, and a way to show what the LEDs
//! show. Every backend runs the same driver code; only the wire changes.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use eslmatrix_sim::chain::{Layout, VirtualChain};

use super::{LedGrid, SpiLog, Tee};
use crate::driver::wiring::{ChainOrder, Rotation, Wiring};
use crate::driver::Max7219;
use crate::render::Frame;

/// Which backend, as `--backend` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendSpec {
    /// An ANSI picture of the LEDs in the terminal, redrawn in place.
    Terminal,
    /// Prints the final picture as `#`/`.` rows.
    Virtual,
    /// Every CS transaction as one hex line (the format `replay` reads).
    SpiLog(PathBuf),
    /// The LED look of the final picture as a PNG.
    Png(PathBuf),
}

impl FromStr for BackendSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let path = |what: &str| match arg {
            Some(a) if !a.is_empty() => Ok(PathBuf::from(a)),
            _ => Err(format!("backend {what} needs a file: {what}:FILE")),
        };
        match kind {
            "terminal" => Ok(BackendSpec::Terminal),
            "virtual" => Ok(BackendSpec::Virtual),
            "spilog" => Ok(BackendSpec::SpiLog(path("spilog")?)),
            "png" => Ok(BackendSpec::Png(path("png")?)),
            other => {
                Err(format!("unknown backend {other:?}: expected terminal, virtual, spilog:FILE or png:FILE"))
            }
        }
    }
}

/// The sim crate's independent description of the same display.
pub fn sim_layout(w: &Wiring) -> Layout {
    use eslmatrix_sim::chain as sim;
    Layout {
        modules_x: w.modules_x,
        modules_y: w.modules_y,
        chain_order: match w.chain {
            ChainOrder::RowMajor => sim::ChainOrder::RowMajor,
            ChainOrder::Reversed => sim::ChainOrder::Reversed,
            ChainOrder::Serpentine => sim::ChainOrder::Serpentine,
            ChainOrder::ReversedSerpentine => sim::ChainOrder::ReversedSerpentine,
        },
        module: sim::ModuleWiring {
            digits_are_rows: w.module.digits_are_rows,
            columns_reversed: w.module.columns_reversed,
            rows_reversed: w.module.rows_reversed,
        },
        rotation: match w.rotation {
            Rotation::R0 => sim::Rotation::R0,
            Rotation::R90 => sim::Rotation::R90,
            Rotation::R180 => sim::Rotation::R180,
            Rotation::R270 => sim::Rotation::R270,
        },
    }
}

/// The LEDs a VirtualChain shows, as the LED look draws them.
pub fn chain_leds(chain: &VirtualChain) -> LedGrid {
    let px = chain.pixels();
    LedGrid::from_fn(px.width() as u32, px.height() as u32, |x, y| px.brightness(x as usize, y as usize))
}

/// The wire under the driver: a VirtualChain, optionally with every transaction logged.
pub enum Bus {
    Chain(VirtualChain),
    Logged(Tee<VirtualChain, SpiLog<BufWriter<File>>>),
}

/// The wire failed (only a log file can fail; the VirtualChain cannot).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BusError(String);

impl embedded_hal::spi::Error for BusError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl ErrorType for Bus {
    type Error = BusError;
}

impl SpiDevice<u8> for Bus {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        match self {
            Bus::Chain(c) => c.transaction(operations).map_err(|e| BusError(format!("{e:?}"))),
            Bus::Logged(t) => t.transaction(operations).map_err(|e| BusError(e.to_string())),
        }
    }
}

impl Bus {
    pub fn chain(&self) -> &VirtualChain {
        match self {
            Bus::Chain(c) => c,
            Bus::Logged(t) => &t.first,
        }
    }
}

/// Opening or driving an output failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("driver: {0}")]
    Driver(String),
    #[error(transparent)]
    Png(#[from] super::png::PngError),
    #[error("writing to the terminal: {0}")]
    Terminal(std::io::Error),
}

/// The driver over a backend, plus presentation.
pub struct Output {
    spec: BackendSpec,
    driver: Max7219<Bus>,
    colour: bool,
    drawn_rows: u32,
}

impl Output {
    /// Opens the backend and initialises the chain.
    pub fn open(spec: BackendSpec, wiring: Wiring, intensity: u8) -> Result<Self, OutputError> {
        let chain = VirtualChain::new(wiring.chips())
            .with_layout(sim_layout(&wiring))
            .map_err(|e| OutputError::Driver(e.to_string()))?;
        let bus = match &spec {
            BackendSpec::SpiLog(path) => {
                let file = File::create(path)
                    .map_err(|source| OutputError::Create { path: path.display().to_string(), source })?;
                Bus::Logged(Tee { first: chain, second: SpiLog::new(BufWriter::new(file)) })
            }
            _ => Bus::Chain(chain),
        };
        let mut driver = Max7219::new(bus, wiring).map_err(|e| OutputError::Driver(e.to_string()))?;
        driver.init(intensity).map_err(|e| OutputError::Driver(format!("{e:?}")))?;
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Ok(Output { spec, driver, colour, drawn_rows: 0 })
    }

    pub fn wiring(&self) -> &Wiring {
        self.driver.wiring()
    }

    /// Sends a frame and, on the terminal backend, redraws the picture in place.
    pub fn show(&mut self, frame: &Frame) -> Result<(), OutputError> {
        self.driver.write_frame(frame).map_err(|e| OutputError::Driver(format!("{e:?}")))?;
        if self.spec == BackendSpec::Terminal {
            let leds = chain_leds(self.driver.spi().chain());
            let mut out = std::io::stdout().lock();
            if self.drawn_rows > 0 {
                write!(out, "\x1b[{}A", self.drawn_rows).map_err(OutputError::Terminal)?;
            }
            out.write_all(leds.to_ansi(self.colour).as_bytes()).map_err(OutputError::Terminal)?;
            out.flush().map_err(OutputError::Terminal)?;
            self.drawn_rows = leds.height;
        }
        Ok(())
    }

    /// What the LEDs show now.
    pub fn leds(&self) -> LedGrid {
        chain_leds(self.driver.spi().chain())
    }

    /// Ends the output: prints or writes the final picture where the backend asks for it.
    pub fn finish(self) -> Result<(), OutputError> {
        let leds = self.leds();
        match &self.spec {
            BackendSpec::Virtual => {
                let mut out = std::io::stdout().lock();
                for row in leds.to_rows() {
                    writeln!(out, "{row}").map_err(OutputError::Terminal)?;
                }
            }
            BackendSpec::Png(path) => super::png::write_led_png(path, &leds, 16)?,
            BackendSpec::SpiLog(_) => {
                if let Bus::Logged(tee) = self.driver.release() {
                    tee.second.into_inner().map_err(|e| OutputError::Driver(e.to_string()))?;
                }
            }
            BackendSpec::Terminal => {}
        }
        Ok(())
    }
}
