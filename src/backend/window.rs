//! The preview window: the LED look in a desktop window, live.
//!
//! A window must be driven from the main thread (minifb's rule, strict on macOS), while the
//! commands are written as plain loops over an [`Output`](super::output::Output). So the
//! work runs on a worker thread whose view, a [`WindowView`], only posts pictures to a
//! [`Mailbox`]; the main thread runs a [`Pump`] that takes the newest picture and paints
//! it. The pump talks to the window through [`Screen`], so it is tested with a fake.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::view::{View, ViewError};
use super::LedGrid;

/// Pixels per LED when `--backend window` gives no scale.
pub const DEFAULT_PITCH: u32 = 16;

/// The pump repaints at least this often (in idle ticks, ~0.25 s at 60 fps) even without a
/// new picture: X11 does not keep the window's contents when another window covers it.
const REPAINT_TICKS: u32 = 15;

/// Between the worker and the window: the newest picture (older ones are dropped, the
/// window only ever needs the latest) and whether the person closed the window.
#[derive(Default)]
pub struct Mailbox {
    latest: Mutex<Option<LedGrid>>,
    closed: AtomicBool,
}

impl Mailbox {
    /// Replaces any picture not yet painted.
    pub fn post(&self, grid: LedGrid) {
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some(grid);
    }

    /// The newest picture, if one arrived since the last take.
    pub fn take(&self) -> Option<LedGrid> {
        self.latest.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Marks the window closed (the person closed it, or it broke).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the window was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The worker's side of the window: hands pictures to the pump, reports the window closed.
pub struct WindowView {
    mailbox: Arc<Mailbox>,
}

impl WindowView {
    /// A view that hands pictures to `mailbox`.
    pub fn new(mailbox: Arc<Mailbox>) -> Self {
        WindowView { mailbox }
    }
}

impl View for WindowView {
    fn show(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        self.mailbox.post(leds.clone());
        Ok(())
    }
    fn finish(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        self.mailbox.post(leds.clone());
        Ok(())
    }
    fn is_open(&self) -> bool {
        !self.mailbox.is_closed()
    }
    fn stays_until_closed(&self) -> bool {
        true
    }
}

/// What the pump needs from a window.
pub trait Screen {
    /// False once the person closed the window (or pressed Esc).
    fn is_open(&self) -> bool;
    /// The drawable size in pixels, which changes when the person resizes the window.
    fn size(&self) -> (usize, usize);
    /// Shows `pixels` (0x00RRGGBB, `width × height`), handles events, and waits out the
    /// rest of the frame time.
    fn present(&mut self, pixels: &[u32], width: usize, height: usize) -> Result<(), ViewError>;
    /// Handles events and waits out the frame time without new pixels.
    fn idle(&mut self);
}

/// Paints the newest picture into a [`Screen`] until the window closes or the work ends.
pub struct Pump {
    pitch: u32,
    /// The picture on screen, kept to repaint it without drawing it again.
    picture: Option<Picture>,
    idle_ticks: u32,
}

/// A picture drawn for one window size.
struct Picture {
    grid: LedGrid,
    drawn_for: (usize, usize),
    width: usize,
    height: usize,
    pixels: Vec<u32>,
}

impl Pump {
    /// `pitch` is the LED spacing the window opened with; a resized window gets the
    /// largest spacing that fits it.
    pub fn new(pitch: u32) -> Self {
        Pump { pitch: pitch.max(2), picture: None, idle_ticks: 0 }
    }

    /// Runs until the screen closes (then the mailbox is marked closed, so the worker's
    /// `is_open()` turns false) or `work_done()` says the worker has ended.
    pub fn run(
        &mut self,
        screen: &mut impl Screen,
        mailbox: &Mailbox,
        work_done: impl Fn() -> bool,
    ) -> Result<(), ViewError> {
        loop {
            if !screen.is_open() {
                mailbox.close();
                return Ok(());
            }
            if work_done() {
                return Ok(());
            }
            self.tick(screen, mailbox)?;
        }
    }

    /// One frame: paint when there is a new picture, a new window size or the repaint
    /// interval passed, otherwise just keep the window responsive.
    pub fn tick(&mut self, screen: &mut impl Screen, mailbox: &Mailbox) -> Result<(), ViewError> {
        let size = screen.size();
        let fresh = mailbox.take();
        let stale = self.picture.as_ref().is_some_and(|p| p.drawn_for != size);
        let grid = match (fresh, self.picture.take()) {
            (Some(grid), _) => Some(grid),
            (None, Some(p)) if stale => Some(p.grid),
            (None, kept) => {
                self.picture = kept;
                None
            }
        };
        if let Some(grid) = grid {
            let (w, h, pixels) = grid.draw_rgb(self.pitch_for(&grid, size));
            self.picture =
                Some(Picture { grid, drawn_for: size, width: w as usize, height: h as usize, pixels });
        } else if self.idle_ticks < REPAINT_TICKS || self.picture.is_none() {
            screen.idle();
            self.idle_ticks += 1;
            return Ok(());
        }
        if let Some(p) = &self.picture {
            screen.present(&p.pixels, p.width, p.height)?;
        }
        self.idle_ticks = 0;
        Ok(())
    }

    /// The LED spacing that fills a `size` window (minifb scales the small remainder).
    fn pitch_for(&self, grid: &LedGrid, (w, h): (usize, usize)) -> u32 {
        if w == 0 || h == 0 || grid.width == 0 || grid.height == 0 {
            return self.pitch;
        }
        let fit = (w as u32 / grid.width).min(h as u32 / grid.height);
        fit.clamp(2, 256)
    }
}

/// The real window.
pub struct MinifbScreen {
    window: minifb::Window,
    escaped: Arc<AtomicBool>,
}

/// Notes an Esc press as it happens: minifb only keeps key levels per frame, so a quick
/// tap (down and up between two frames) would otherwise be missed.
struct EscWatch(Arc<AtomicBool>);

impl minifb::InputCallback for EscWatch {
    fn add_char(&mut self, _: u32) {}
    fn set_key_state(&mut self, key: minifb::Key, down: bool) {
        if down && key == minifb::Key::Escape {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// Why no window could be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no display for the window backend: set DISPLAY or use --backend terminal")]
    /// No display to open a window on (`DISPLAY` unset).
    NoDisplay,
    #[error("cannot open a window on display {display:?}: {detail}")]
    /// The display refused the window.
    Failed {
        /// `DISPLAY` as set.
        display: String,
        /// minifb's reason.
        detail: String,
    },
    #[error("the window backend opens only through backend::with_output")]
    /// The window backend was asked for outside `with_output`, which owns the main thread.
    NeedsWithOutput,
}

impl MinifbScreen {
    /// Opens a resizable window sized for `pitch` pixels per LED of a `leds` grid.
    pub fn open(title: &str, leds: (u32, u32), pitch: u32) -> Result<Self, OpenError> {
        let pitch = pitch.max(2);
        let (w, h) = (leds.0.max(1) * pitch, leds.1.max(1) * pitch);
        let options = minifb::WindowOptions {
            resize: true,
            scale_mode: minifb::ScaleMode::AspectRatioStretch,
            ..minifb::WindowOptions::default()
        };
        let mut window = minifb::Window::new(title, w as usize, h as usize, options).map_err(|e| {
            match std::env::var("DISPLAY") {
                Ok(display) if !display.is_empty() => OpenError::Failed { display, detail: e.to_string() },
                _ => OpenError::NoDisplay,
            }
        })?;
        window.set_target_fps(60);
        window.set_background_color(8, 8, 8);
        let escaped = Arc::new(AtomicBool::new(false));
        window.set_input_callback(Box::new(EscWatch(escaped.clone())));
        Ok(MinifbScreen { window, escaped })
    }
}

impl Screen for MinifbScreen {
    fn is_open(&self) -> bool {
        self.window.is_open() && !self.escaped.load(Ordering::Acquire)
    }
    fn size(&self) -> (usize, usize) {
        self.window.get_size()
    }
    fn present(&mut self, pixels: &[u32], width: usize, height: usize) -> Result<(), ViewError> {
        self.window
            .update_with_buffer(pixels, width, height)
            .map_err(|e| ViewError::Other(format!("window: {e}")))
    }
    fn idle(&mut self) {
        self.window.update();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A window in memory: records what was presented; the "person" closes it after
    /// `open_ticks` frames or once `close_after_presents` pictures were shown.
    pub(crate) struct FakeScreen {
        pub size: (usize, usize),
        pub open_ticks: usize,
        pub close_after_presents: usize,
        pub ticks: usize,
        pub presented: Vec<(usize, usize, Vec<u32>)>,
        /// Called every frame, to act like a person or a worker between frames.
        pub on_tick: Box<dyn FnMut(usize) + Send>,
    }

    impl FakeScreen {
        pub(crate) fn new(size: (usize, usize), open_ticks: usize) -> Self {
            FakeScreen {
                size,
                open_ticks,
                close_after_presents: usize::MAX,
                ticks: 0,
                presented: Vec::new(),
                on_tick: Box::new(|_| {}),
            }
        }
        fn frame(&mut self) {
            (self.on_tick)(self.ticks);
            self.ticks += 1;
            // A real window waits out the frame; let the worker run meanwhile.
            std::thread::yield_now();
        }
    }

    impl Screen for FakeScreen {
        fn is_open(&self) -> bool {
            self.ticks < self.open_ticks && self.presented.len() < self.close_after_presents
        }
        fn size(&self) -> (usize, usize) {
            self.size
        }
        fn present(&mut self, pixels: &[u32], width: usize, height: usize) -> Result<(), ViewError> {
            assert_eq!(pixels.len(), width * height);
            self.presented.push((width, height, pixels.to_vec()));
            self.frame();
            Ok(())
        }
        fn idle(&mut self) {
            self.frame();
        }
    }

    fn one_lit(x: u32) -> LedGrid {
        LedGrid::from_fn(4, 1, |lx, _| if lx == x { 1.0 } else { 0.0 })
    }

    /// The red channel at the centre of LED `x` in a presented picture with `pitch`.
    fn red_at(p: &(usize, usize, Vec<u32>), pitch: usize, x: usize) -> u32 {
        let (w, _, px) = p;
        (px[(pitch / 2) * w + x * pitch + pitch / 2] >> 16) & 0xff
    }

    #[test]
    fn only_the_newest_picture_is_painted() {
        let mailbox = Mailbox::default();
        for x in 0..3 {
            mailbox.post(one_lit(x));
        }
        let mut screen = FakeScreen::new((64, 16), usize::MAX);
        let mut pump = Pump::new(16);
        pump.tick(&mut screen, &mailbox).unwrap();
        assert_eq!(screen.presented.len(), 1);
        let p = &screen.presented[0];
        assert_eq!((p.0, p.1), (64, 16));
        assert!(red_at(p, 16, 2) > 200, "LED 2 lit");
        assert!(red_at(p, 16, 0) < 80 && red_at(p, 16, 1) < 80, "older pictures dropped");
    }

    #[test]
    fn idle_frames_do_not_repaint_until_the_interval() {
        let mailbox = Mailbox::default();
        mailbox.post(one_lit(0));
        let mut screen = FakeScreen::new((64, 16), usize::MAX);
        let mut pump = Pump::new(16);
        for _ in 0..=REPAINT_TICKS {
            pump.tick(&mut screen, &mailbox).unwrap();
        }
        assert_eq!(screen.presented.len(), 1, "one picture, painted once");
        pump.tick(&mut screen, &mailbox).unwrap();
        assert_eq!(screen.presented.len(), 2, "repainted after {REPAINT_TICKS} idle frames");
        mailbox.post(one_lit(1));
        pump.tick(&mut screen, &mailbox).unwrap();
        assert_eq!(screen.presented.len(), 3, "a new picture paints at once");
    }

    #[test]
    fn a_resized_window_is_repainted_at_a_fitting_pitch() {
        let mailbox = Mailbox::default();
        mailbox.post(one_lit(3));
        let mut screen = FakeScreen::new((64, 16), usize::MAX);
        let mut pump = Pump::new(16);
        pump.tick(&mut screen, &mailbox).unwrap();
        screen.size = (130, 40);
        pump.tick(&mut screen, &mailbox).unwrap();
        let p = &screen.presented[1];
        assert_eq!((p.0, p.1), (128, 32), "pitch 32 fits 130×40");
        assert!(red_at(p, 32, 3) > 200);
    }

    #[test]
    fn nothing_is_painted_before_the_first_picture() {
        let mailbox = Mailbox::default();
        let mut screen = FakeScreen::new((64, 16), 5);
        Pump::new(16).run(&mut screen, &mailbox, || false).unwrap();
        assert!(screen.presented.is_empty());
        assert_eq!(screen.ticks, 5);
    }

    #[test]
    fn closing_the_window_closes_the_view() {
        let mailbox = Arc::new(Mailbox::default());
        let mut view = WindowView::new(mailbox.clone());
        assert!(view.is_open());
        view.show(&one_lit(1), Duration::ZERO).unwrap();
        let mut screen = FakeScreen::new((64, 16), 3);
        Pump::new(16).run(&mut screen, &mailbox, || false).unwrap();
        assert!(!view.is_open(), "the worker sees the window closed");
        assert_eq!(screen.presented.len(), 1);
    }

    #[test]
    fn the_pump_stops_when_the_work_is_done() {
        let mailbox = Mailbox::default();
        let mut screen = FakeScreen::new((64, 16), usize::MAX);
        let done = std::sync::atomic::AtomicUsize::new(0);
        Pump::new(16).run(&mut screen, &mailbox, || done.fetch_add(1, Ordering::Relaxed) >= 4).unwrap();
        assert_eq!(screen.ticks, 4);
        assert!(!mailbox.is_closed(), "the window was not closed by the person");
    }
}
