//! An output: the real driver over the chosen backend, and a view of what the LEDs show.
//! Every backend runs the same driver code; only the wire and the view change.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eslmatrix_sim::chain::LayoutError;

use super::bus::{Bus, BusError};
use super::gif::GifView;
use super::sim_wiring::{chain_leds, virtual_chain};
use super::spec::{BackendSpec, OutputSpec};
use super::spidev::{self, SpidevError};
use super::spilog::SpiLogError;
use super::view::{NoView, PngView, PrintView, TerminalView, View, ViewError};
use super::window::OpenError;
use super::{LedGrid, SpiLog, Tee};
use crate::driver::{DriverError, Intensity, Max7219, Sent, Wiring, WiringError};
use crate::render::Frame;

/// Opening or driving an output failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file backend could not create its file.
    #[error("{}: {source}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The wiring cannot be driven.
    #[error("driver: {0}")]
    Wiring(#[from] WiringError),
    /// The virtual chain refused the wiring.
    #[error("driver: {0}")]
    Chain(#[from] LayoutError),
    /// The driver could not put a frame or a setting on the wire.
    #[error("driver: {0}")]
    Driver(#[from] DriverError<BusError>),
    /// The SPI log could not be completed.
    #[error(transparent)]
    Log(#[from] SpiLogError),
    /// The view failed.
    #[error(transparent)]
    View(#[from] ViewError),
    /// The window could not open.
    #[error(transparent)]
    Window(#[from] OpenError),
    /// The spidev device could not open.
    #[error(transparent)]
    Spidev(#[from] SpidevError),
}

impl OutputError {
    /// Whether the person can fix this by asking differently (another backend, a file that
    /// can be written, a build with hardware support), rather than the display failing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OutputError::Create { .. }
                | OutputError::View(ViewError::Png(super::png::PngError::Io { .. }))
                | OutputError::Window(_)
                | OutputError::Spidev(SpidevError::NoHardwareSupport)
        )
    }
}

/// The driver over a backend, plus a view.
pub struct Output {
    driver: Max7219<Bus>,
    view: Box<dyn View>,
    opened: Instant,
}

impl Output {
    /// Opens the backend named by `spec` and initialises the chain.
    pub fn open(spec: &OutputSpec) -> Result<Self, OutputError> {
        let chain = virtual_chain(&spec.wiring)?;
        let (bus, view): (Bus, Box<dyn View>) = match &spec.backend {
            BackendSpec::SpiLog(path) => {
                let file = File::create(path)
                    .map_err(|source| OutputError::Create { path: path.clone(), source })?;
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
            BackendSpec::Gif { path, pitch } => {
                let file = File::create(path)
                    .map_err(|source| OutputError::Create { path: path.clone(), source })?;
                (Bus::Chain(chain), Box::new(GifView::new(BufWriter::new(file), *pitch)))
            }
            // A window needs the main thread and a worker for the body; only `with_output`
            // arranges both.
            BackendSpec::Window { .. } => return Err(OpenError::NeedsWithOutput.into()),
            BackendSpec::Spidev(path) => (Bus::Device(spidev::open(path, spec.spi_speed)?), Box::new(NoView)),
        };
        let mut out = Self::with_bus(bus, view, spec.wiring, spec.intensity)?;
        out.driver.set_budget(spec.power);
        Ok(out)
    }

    /// An output over any wire and view.
    pub fn with_bus(
        bus: Bus,
        view: Box<dyn View>,
        wiring: Wiring,
        intensity: Intensity,
    ) -> Result<Self, OutputError> {
        let mut driver = Max7219::new(bus, wiring)?;
        driver.init(intensity)?;
        Ok(Output { driver, view, opened: Instant::now() })
    }

    /// The display this output drives.
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
        let sent = self.driver.write_frame(frame)?;
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

    /// Tells the view what the pictures' source is doing (the daemon's link state), for
    /// a caption beside the picture.
    pub fn set_status(&mut self, status: &str) {
        self.view.set_status(status);
    }

    /// Whether the view is still open (a window the person has not closed).
    pub fn is_open(&self) -> bool {
        self.view.is_open()
    }

    /// Keeps the last picture up until the person closes the view, for views that stay
    /// until closed (a window); returns at once for every other view.
    pub fn linger(&self) {
        while self.view.stays_until_closed() && self.view.is_open() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ends the output: the view gets the final picture; a log file is flushed.
    pub fn finish(mut self) -> Result<(), OutputError> {
        let at = self.opened.elapsed();
        if let Some(leds) = self.leds() {
            self.view.finish(&leds, at)?;
        }
        if let Bus::Logged(tee) = self.driver.release() {
            tee.second.into_inner()?;
        }
        Ok(())
    }
}
