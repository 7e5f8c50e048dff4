//! An output: the real driver over the chosen backend, and a view of what the LEDs show.
//! Every backend runs the same driver code; only the wire and the view change.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use eslmatrix_sim::chain::{Layout, VirtualChain};

use super::view::{NoView, PngView, PrintView, TerminalView, View, ViewError};
use super::{LedGrid, SpiLog, Tee};
use crate::driver::wiring::{ChainOrder, Rotation, Wiring};
use crate::driver::{Max7219, Sent};
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
    /// The physical chain on a spidev device (needs the `hardware` feature).
    Spidev(PathBuf),
}

impl BackendSpec {
    /// Whether frames should be paced in real time (someone is watching).
    pub fn is_live(&self) -> bool {
        matches!(self, BackendSpec::Terminal | BackendSpec::Spidev(_))
    }
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
            "spidev" => Ok(BackendSpec::Spidev(match arg {
                Some(a) if !a.is_empty() => PathBuf::from(a),
                _ => PathBuf::from(super::spidev::DEFAULT_DEVICE),
            })),
            other => {
                Err(format!("unknown backend {other:?}: expected terminal, virtual, spilog:FILE, png:FILE or spidev[:DEVICE]"))
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

/// A virtual chain wired as `wiring`.
pub fn virtual_chain(wiring: &Wiring) -> Result<VirtualChain, OutputError> {
    VirtualChain::new(wiring.chips())
        .with_layout(sim_layout(wiring))
        .map_err(|e| OutputError::Driver(e.to_string()))
}

/// The wire under the driver.
pub enum Bus {
    /// A virtual chain: what it shows can be viewed.
    Chain(VirtualChain),
    /// A virtual chain with every transaction also logged.
    Logged(Tee<VirtualChain, SpiLog<BufWriter<File>>>),
    /// Anything else (a physical chain): nothing to view.
    Device(Box<dyn SpiDevice<u8, Error = BusError> + Send>),
}

/// The wire failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BusError(pub String);

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
            Bus::Device(d) => d.transaction(operations),
        }
    }
}

impl Bus {
    /// The virtual chain on this wire, if there is one.
    pub fn chain(&self) -> Option<&VirtualChain> {
        match self {
            Bus::Chain(c) => Some(c),
            Bus::Logged(t) => Some(&t.first),
            Bus::Device(_) => None,
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
    View(#[from] ViewError),
    #[error(transparent)]
    Spidev(#[from] super::spidev::SpidevError),
}

/// The driver over a backend, plus a view.
pub struct Output {
    driver: Max7219<Bus>,
    view: Box<dyn View>,
    opened: Instant,
}

impl Output {
    /// Opens the backend named by `spec` and initialises the chain.
    pub fn open(spec: &BackendSpec, wiring: Wiring, intensity: u8) -> Result<Self, OutputError> {
        let chain = virtual_chain(&wiring)?;
        let (bus, view): (Bus, Box<dyn View>) = match spec {
            BackendSpec::SpiLog(path) => {
                let file = File::create(path)
                    .map_err(|source| OutputError::Create { path: path.display().to_string(), source })?;
                (
                    Bus::Logged(Tee { first: chain, second: SpiLog::new(BufWriter::new(file)) }),
                    Box::new(NoView),
                )
            }
            BackendSpec::Terminal => (Bus::Chain(chain), Box::new(TerminalView::default())),
            BackendSpec::Virtual => (Bus::Chain(chain), Box::new(PrintView)),
            BackendSpec::Png(path) => {
                (Bus::Chain(chain), Box::new(PngView { path: path.clone(), pitch: 16 }))
            }
            BackendSpec::Spidev(path) => (Bus::Device(super::spidev::open(path)?), Box::new(NoView)),
        };
        Self::with_bus(bus, view, wiring, intensity)
    }

    /// An output over any wire and view.
    pub fn with_bus(
        bus: Bus,
        view: Box<dyn View>,
        wiring: Wiring,
        intensity: u8,
    ) -> Result<Self, OutputError> {
        let mut driver = Max7219::new(bus, wiring).map_err(|e| OutputError::Driver(e.to_string()))?;
        driver.init(intensity).map_err(|e| OutputError::Driver(format!("{e:?}")))?;
        Ok(Output { driver, view, opened: Instant::now() })
    }

    pub fn wiring(&self) -> &Wiring {
        self.driver.wiring()
    }

    /// The driver, for brightness, power and glitch-recovery refreshes.
    pub fn driver_mut(&mut self) -> &mut Max7219<Bus> {
        &mut self.driver
    }

    /// Sends a frame; the view sees it when the LEDs changed. Time is since `open`.
    pub fn show(&mut self, frame: &Frame) -> Result<Sent, OutputError> {
        let at = self.opened.elapsed();
        self.show_at(frame, at)
    }

    /// Sends a frame, stamping the view with `at` (the daemon passes tokio time).
    pub fn show_at(&mut self, frame: &Frame, at: Duration) -> Result<Sent, OutputError> {
        let sent = self.driver.write_frame(frame).map_err(|e| OutputError::Driver(format!("{e:?}")))?;
        if sent.transactions > 0 {
            if let Some(leds) = self.leds() {
                self.view.show(&leds, at)?;
            }
        }
        Ok(sent)
    }

    /// Hands the view the LEDs as they are now, after a change that sent no frame
    /// (display test, intensity), so a recording or window sees it too.
    pub fn redraw_at(&mut self, at: Duration) -> Result<(), OutputError> {
        if let Some(leds) = self.leds() {
            self.view.show(&leds, at)?;
        }
        Ok(())
    }

    /// What the LEDs show now, when the wire is a virtual chain.
    pub fn leds(&self) -> Option<LedGrid> {
        self.driver.spi().chain().map(chain_leds)
    }

    /// Whether the view is still open (a window the person has not closed).
    pub fn is_open(&self) -> bool {
        self.view.is_open()
    }

    /// Ends the output: the view gets the final picture; a log file is flushed.
    pub fn finish(mut self) -> Result<(), OutputError> {
        let at = self.opened.elapsed();
        if let Some(leds) = self.leds() {
            self.view.finish(&leds, at)?;
        }
        if let Bus::Logged(tee) = self.driver.release() {
            tee.second.into_inner().map_err(|e| OutputError::Driver(e.to_string()))?;
        }
        Ok(())
    }
}

/// Runs `body` with an [`Output`] opened for `spec`.
///
/// This is the one place that knows about threads: a window must live on the main thread
/// (minifb's rule), so for windowed backends the window runs here and `body` runs on a
/// worker thread. Every command that shows frames goes through this function.
pub fn with_output<T, E>(
    spec: &BackendSpec,
    wiring: Wiring,
    intensity: u8,
    body: impl FnOnce(&mut Output) -> Result<T, E> + Send,
) -> Result<T, E>
where
    T: Send,
    E: From<OutputError> + Send,
{
    let mut out = Output::open(spec, wiring, intensity)?;
    let result = body(&mut out)?;
    out.finish()?;
    Ok(result)
}
