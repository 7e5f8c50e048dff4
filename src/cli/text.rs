//! `eslmatrix text`: show or scroll text.

use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::display::{font, DisplayArgs, FontArg};
use super::with_output;
use super::{CliError, OutputArgs};
use eslmatrix::backend::{BackendSpec, Output, OutputSpec};
use eslmatrix::render::{self, Align, Frame, Scroll, Speed};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlignArg {
    Left,
    Center,
    Right,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScrollArg {
    /// Scroll only when the text does not fit.
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct TextArgs {
    /// The text (any Unicode: letters the fonts lack are transliterated or drawn as a box).
    pub text: String,
    #[arg(long, value_enum, default_value_t = FontArg::Proportional)]
    pub font: FontArg,
    /// Alignment of text that fits (text that scrolls has none: refused).
    #[arg(long, value_enum, default_value_t = AlignArg::Left)]
    pub align: AlignArg,
    #[arg(long, value_enum, default_value_t = ScrollArg::Auto)]
    pub scroll: ScrollArg,
    /// Scroll speed in pixels per second (luma's default scroll_delay 0.03 s ≈ 33 px/s).
    #[arg(long, default_value_t = Speed::LUMA)]
    pub speed: Speed,
    /// Scroll forever (interrupt with Ctrl-C).
    #[arg(long = "loop")]
    pub looping: bool,
    /// Stop after this many scroll steps (to capture a picture mid-scroll).
    #[arg(long)]
    pub steps: Option<u32>,
    /// Inverse video: lit background, dark text.
    #[arg(long)]
    pub invert: bool,
    /// Blink: on and off for this many milliseconds each, during --hold.
    #[arg(long, value_name = "MS")]
    pub blink: Option<u64>,
    /// Keep the text up this many seconds: still text as it is, scrolling text once its end
    /// reaches the right edge (live backends: terminal, window, gif, spidev).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub hold: f64,
    /// Re-send the chips' setup and the whole picture this often (e.g. 60s; a bare number
    /// is seconds; 0: after every frame), so line noise or a replugged module cannot leave
    /// garbage up for long.
    #[arg(long, value_name = "DURATION", value_parser = super::display::parse_period)]
    pub refresh_every: Option<Duration>,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: TextArgs) -> Result<(), CliError> {
    let (wiring, intensity) = a.display.display()?;
    if !(a.hold.is_finite() && a.hold >= 0.0) {
        return Err(CliError::usage(format!("--hold {}: expected seconds, 0 or more", a.hold)));
    }
    match a.blink {
        Some(0) => return Err(CliError::usage("--blink 0: expected milliseconds on and off, above 0")),
        Some(ms) if a.hold == 0.0 => {
            return Err(CliError::usage(format!(
                "--blink {ms} needs --hold SECS: how long to keep the text up blinking"
            )))
        }
        _ => {}
    }
    if a.looping && a.hold > 0.0 {
        return Err(CliError::usage(
            "--loop scrolls until interrupted, so --hold never comes: use one of them",
        ));
    }
    let backend = a.output.backend();
    let live = backend.is_live();
    // A picture view keeps only the last picture: the first full one says more than the
    // blank that ends a scroll.
    let picture_only = matches!(backend, BackendSpec::Virtual | BackendSpec::Png(_));
    let output = OutputSpec {
        backend,
        wiring,
        intensity,
        spi_speed: a.output.spi_speed(),
        power: a.display.spec().power_budget()?,
    };
    with_output(&output, |out| show_text(out, &a, live, picture_only))
}

/// Shows the text still or scrolls it; `live` paces frames in real time; `picture_only`
/// stops a scroll at the first full picture.
///
/// Text that scrolls: `--invert` applies to every step; with `--hold` (and `--blink`) it
/// scrolls until its end reaches the right edge and holds that, blinking if asked;
/// `--align` cannot apply and is refused.
fn show_text(out: &mut Output, a: &TextArgs, live: bool, picture_only: bool) -> Result<(), CliError> {
    let mut refresher = Refresher::new(a.refresh_every);
    let started = Instant::now();
    let font = font(a.font);
    let (w, h) = out.wiring().logical_size();
    let scroll = match a.scroll {
        ScrollArg::Always => true,
        ScrollArg::Never => false,
        ScrollArg::Auto => !render::fits(&a.text, font, w),
    };
    let mut frame = Frame::new(w, h);
    if !scroll {
        let align = match a.align {
            AlignArg::Left => Align::Left,
            AlignArg::Center => Align::Center,
            AlignArg::Right => Align::Right,
        };
        render::draw_aligned(&mut frame, &a.text, font, align);
        if a.invert {
            frame.invert();
        }
        out.show(&frame)?;
        if live && a.hold > 0.0 {
            hold(out, &frame, a, &mut refresher)?;
        }
        out.linger();
        return Ok(());
    }
    let strip = render::render_text(&a.text, font);
    if a.align != AlignArg::Left {
        return Err(CliError::usage(format!(
            "--align: {:?} is {} px wide and the display {w} px, so it scrolls and has no alignment; \
             use --font small, more modules (--cascaded), or --scroll never to cut it",
            eslmatrix::config::one_line(&a.text),
            strip.width()
        )));
    }
    let scroll = Scroll::new(strip, w);
    let holding = a.hold > 0.0;
    let total = match a.steps {
        Some(s) => s as usize,
        None if holding => scroll.end_at_right_step() + 1,
        None if picture_only => (w as usize + 1).min(scroll.steps()),
        None => scroll.steps(),
    };
    let step_time = Duration::from_secs_f64(1.0 / a.speed.get());
    let mut i: usize = 0;
    while out.is_open() {
        if i >= total {
            if a.looping && live && a.steps.is_none() {
                i = 0;
            } else {
                break;
            }
        }
        scroll.step(i, &mut frame);
        if a.invert {
            frame.invert();
        }
        out.show(&frame)?;
        refresher.tick(out, started.elapsed())?;
        if live {
            std::thread::sleep(step_time);
        }
        i += 1;
    }
    if live && holding {
        hold(out, &frame, a, &mut refresher)?;
    }
    Ok(())
}

/// Keeps still text up for `--hold` seconds, blinking it if asked.
fn hold(out: &mut Output, frame: &Frame, a: &TextArgs, refresher: &mut Refresher) -> Result<(), CliError> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(a.hold);
    let mut dark = Frame::new(frame.width(), frame.height());
    if a.invert {
        dark.invert();
    }
    let mut lit = true;
    while out.is_open() {
        let now = Instant::now();
        if now >= until {
            break;
        }
        refresher.tick(out, started.elapsed())?;
        let Some(ms) = a.blink else {
            std::thread::sleep((until - now).min(Duration::from_millis(100)));
            continue;
        };
        std::thread::sleep(Duration::from_millis(ms.max(10)).min(until - now));
        lit = !lit;
        out.show(if lit { frame } else { &dark })?;
    }
    Ok(())
}

/// Periodic full refreshes (`--refresh-every`): the driver only sends rows that changed,
/// so a chip that lost its registers stays wrong until something re-sends everything.
struct Refresher {
    every: Option<Duration>,
    last: Duration,
}

impl Refresher {
    fn new(every: Option<Duration>) -> Self {
        Refresher { every, last: Duration::ZERO }
    }

    /// Whether a refresh is due at `now` (time since the start); remembers it if so.
    fn due(&mut self, now: Duration) -> bool {
        match self.every {
            Some(every) if now.saturating_sub(self.last) >= every => {
                self.last = now;
                true
            }
            _ => false,
        }
    }

    fn tick(&mut self, out: &mut Output, now: Duration) -> Result<(), CliError> {
        if self.due(now) {
            out.driver_mut().refresh().map_err(|e| CliError::runtime(format!("refresh: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_come_once_per_period() {
        let mut r = Refresher::new(Some(Duration::from_secs(10)));
        let at = |s| Duration::from_secs(s);
        let due: Vec<_> = [1, 9, 10, 11, 19, 20, 35].into_iter().filter(|&s| r.due(at(s))).collect();
        assert_eq!(due, [10, 20, 35]);
        let mut off = Refresher::new(None);
        assert!(!off.due(at(1000)));
        let mut always = Refresher::new(Some(Duration::ZERO));
        assert!(always.due(at(0)) && always.due(at(0)));
    }
}
