//! An output: the real driver over the chosen backend, and a view of what the LEDs show.
//! Every backend runs the same driver code; only the wire and the view change.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use eslmatrix_sim::chain::{Layout, VirtualChain};

use super::gif::{self, GifView};
use super::view::{NoView, PngView, PrintView, TerminalView, View, ViewError};
use super::window::{self, Mailbox, MinifbScreen, OpenError, Pump, Screen, WindowView};
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
    /// The LED look in a desktop window, `pitch` pixels per LED.
    Window { pitch: u32 },
    /// The LED look recorded as an animated GIF in real time, `pitch` pixels per LED.
    Gif { path: PathBuf, pitch: u32 },
    /// The physical chain on a spidev device (needs the `hardware` feature).
    Spidev(PathBuf),
}

impl BackendSpec {
    /// Whether frames should be paced in real time (someone is watching, or a recording
    /// keeps the timing).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            BackendSpec::Terminal
                | BackendSpec::Window { .. }
                | BackendSpec::Gif { .. }
                | BackendSpec::Spidev(_)
        )
    }
}

/// Accepted LED spacings for `window:SCALE` and `gif:FILE:PITCH`, in pixels.
const PITCHES: std::ops::RangeInclusive<u32> = 2..=64;

fn parse_pitch(s: &str, what: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(p) if PITCHES.contains(&p) => Ok(p),
        _ => Err(format!("{what} {s:?}: expected pixels per LED, {}..={}", PITCHES.start(), PITCHES.end())),
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
            "window" => match arg {
                None => Ok(BackendSpec::Window { pitch: window::DEFAULT_PITCH }),
                Some(a) => Ok(BackendSpec::Window { pitch: parse_pitch(a, "window scale")? }),
            },
            "gif" => {
                let whole = path("gif")?;
                // `gif:FILE:PITCH` when the last part is a number; a path may hold colons.
                let text = whole.to_string_lossy();
                match text.rsplit_once(':') {
                    Some((file, pitch)) if !file.is_empty() && pitch.bytes().all(|b| b.is_ascii_digit()) => {
                        Ok(BackendSpec::Gif { path: PathBuf::from(file), pitch: parse_pitch(pitch, "gif pitch")? })
                    }
                    _ => Ok(BackendSpec::Gif { path: whole, pitch: gif::DEFAULT_PITCH }),
                }
            }
            "spidev" => Ok(BackendSpec::Spidev(match arg {
                Some(a) if !a.is_empty() => PathBuf::from(a),
                _ => PathBuf::from(super::spidev::DEFAULT_DEVICE),
            })),
            other => Err(format!(
                "unknown backend {other:?}: expected terminal, virtual, window[:SCALE], spilog:FILE, png:FILE, \
                 gif:FILE[:PITCH] or spidev[:DEVICE]"
            )),
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
    Window(#[from] OpenError),
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
            BackendSpec::Gif { path, pitch } => {
                let file = File::create(path)
                    .map_err(|source| OutputError::Create { path: path.display().to_string(), source })?;
                (Bus::Chain(chain), Box::new(GifView::new(BufWriter::new(file), *pitch)))
            }
            // A window needs the main thread and a worker for the body; only `with_output`
            // arranges both.
            BackendSpec::Window { .. } => return Err(OpenError::NeedsWithOutput.into()),
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

    /// Keeps the last picture up until the person closes the view, for views that stay
    /// until closed (a window); returns at once for every other view.
    pub fn linger(&self) {
        while self.view.stays_until_closed() && self.view.is_open() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
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
/// (minifb's rule), so for the window backend the window opens here, on the calling thread
/// (call this from `main`'s thread), and `body` runs on a worker thread. Closing the window
/// makes `Output::is_open` false; the call returns once `body` has returned. Every command
/// that shows frames goes through this function.
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
    if let BackendSpec::Window { pitch } = spec {
        let title = format!("eslmatrix — {}×{} modules", wiring.modules_x, wiring.modules_y);
        let mut screen =
            MinifbScreen::open(&title, wiring.logical_size(), *pitch).map_err(OutputError::from)?;
        return with_screen(&mut screen, *pitch, wiring, intensity, body);
    }
    run_to_finish(Output::open(spec, wiring, intensity)?, body)
}

/// Runs `body` on `out`, then finishes the output (the view's last picture, log flush).
fn run_to_finish<T, E: From<OutputError>>(
    mut out: Output,
    body: impl FnOnce(&mut Output) -> Result<T, E>,
) -> Result<T, E> {
    let result = body(&mut out)?;
    out.finish()?;
    Ok(result)
}

/// The window backend over any [`Screen`]: `body` on a worker thread drawing into a
/// virtual chain, the screen pumped here.
pub fn with_screen<T, E>(
    screen: &mut impl Screen,
    pitch: u32,
    wiring: Wiring,
    intensity: u8,
    body: impl FnOnce(&mut Output) -> Result<T, E> + Send,
) -> Result<T, E>
where
    T: Send,
    E: From<OutputError> + Send,
{
    let mailbox = Arc::new(Mailbox::default());
    let view = WindowView::new(mailbox.clone());
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || -> Result<T, E> {
            let chain = virtual_chain(&wiring)?;
            run_to_finish(Output::with_bus(Bus::Chain(chain), Box::new(view), wiring, intensity)?, body)
        });
        let pumped = Pump::new(pitch).run(screen, &mailbox, || worker.is_finished());
        if pumped.is_err() {
            // The window broke: tell the worker as if it had been closed.
            mailbox.close();
        }
        let result = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let result = result?;
        pumped.map_err(|e| E::from(OutputError::View(e)))?;
        Ok(result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::window::tests::FakeScreen;
    use crate::driver::wiring::ModuleWiring;

    fn wiring(modules_x: u32) -> Wiring {
        Wiring::new(modules_x, 1).unwrap()
    }

    fn frame_with(w: u32, lit: &[u32]) -> Frame {
        let mut f = Frame::new(w, 8);
        for &x in lit {
            f.set(x as i32, 0, true);
        }
        f
    }

    #[test]
    fn backends_parse_with_their_options() {
        assert_eq!("window".parse(), Ok(BackendSpec::Window { pitch: window::DEFAULT_PITCH }));
        assert_eq!("window:24".parse(), Ok(BackendSpec::Window { pitch: 24 }));
        assert_eq!(
            "gif:out.gif".parse(),
            Ok(BackendSpec::Gif { path: "out.gif".into(), pitch: gif::DEFAULT_PITCH })
        );
        assert_eq!("gif:a:b.gif:12".parse(), Ok(BackendSpec::Gif { path: "a:b.gif".into(), pitch: 12 }));
        assert_eq!("gif:a:b.gif".parse(), Ok(BackendSpec::Gif { path: "a:b.gif".into(), pitch: 8 }));
        for bad in ["window:0", "window:big", "window:1000", "gif:", "gif:x.gif:1"] {
            let err = bad.parse::<BackendSpec>().unwrap_err();
            assert!(!err.contains('\n'), "{bad}: {err}");
            assert!(err.contains("pixels per LED") || err.contains("needs a file"), "{bad}: {err}");
        }
        assert!(BackendSpec::Window { pitch: 8 }.is_live());
        assert!(!BackendSpec::Virtual.is_live());
    }

    #[test]
    fn the_window_shows_the_work_until_the_person_closes_it() {
        let mut screen = FakeScreen::new((64 * 16, 8 * 16), usize::MAX);
        screen.close_after_presents = 3;
        let w = wiring(8);
        // The body is an ordinary command loop: it ends because the window closed.
        let shown = with_screen(&mut screen, 16, w, 15, |out| -> Result<u32, OutputError> {
            let mut n = 0;
            while out.is_open() {
                out.show(&frame_with(64, &[n % 64]))?;
                n += 1;
                std::thread::yield_now();
            }
            Ok(n)
        })
        .unwrap();
        assert!(shown >= 3, "the worker ran: {shown} frames");
        assert_eq!(screen.presented.len(), 3);
        let (w, h, pixels) = &screen.presented[0];
        assert_eq!((*w, *h), (64 * 16, 8 * 16));
        let red = pixels.iter().filter(|&&p| (p >> 16) & 0xff > 180 && (p >> 8) & 0xff < 90).count();
        assert!(red > 0, "a lit LED is painted red");
    }

    #[test]
    fn the_window_ends_with_the_work_and_returns_its_result() {
        let mut screen = FakeScreen::new((32 * 16, 8 * 16), usize::MAX);
        let wiring = wiring(4).with_module(ModuleWiring::FC16);
        let result = with_screen(&mut screen, 16, wiring, 3, |out| -> Result<&str, OutputError> {
            out.show(&frame_with(32, &[0, 31]))?;
            Ok("done")
        });
        assert_eq!(result.unwrap(), "done");
        let failed = with_screen(&mut screen, 16, wiring, 3, |_| -> Result<(), OutputError> {
            Err(OutputError::Driver("bus on fire".into()))
        });
        assert!(failed.unwrap_err().to_string().contains("bus on fire"));
    }

    #[test]
    fn window_pictures_follow_the_chain_intensity() {
        // Intensity 0 (duty 1/32) paints a darker red than intensity 15 (31/32).
        let reddest = |intensity: u8| {
            let mut screen = FakeScreen::new((8 * 4, 8 * 4), usize::MAX);
            screen.close_after_presents = 1;
            with_screen(&mut screen, 4, wiring(1), intensity, |out| -> Result<(), OutputError> {
                while out.is_open() {
                    out.show(&frame_with(8, &[0]))?;
                    out.show(&frame_with(8, &[1]))?;
                    std::thread::yield_now();
                }
                Ok(())
            })
            .unwrap();
            screen.presented[0].2.iter().map(|p| (p >> 16) & 0xff).max().unwrap()
        };
        assert!(reddest(0) < reddest(15), "{} vs {}", reddest(0), reddest(15));
    }
}
