//! The command line: a translation layer from arguments to the library. Usage and input
//! errors exit with code 2 and one line naming the problem; nothing here panics on input.

pub mod display;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::output::{BackendSpec, Output};
use crate::render::{self, Align, Font, Frame, Scroll};
use display::DisplayArgs;

#[derive(Parser, Debug)]
#[command(name = "eslmatrix", version, about = "FreeSWITCH status on MAX7219 LED matrices", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show or scroll text.
    Text(TextArgs),
    /// Show a PNG image (its size must be the display's).
    Image(ImageArgs),
    /// Feed a SPI capture (one CS transaction per line, hex bytes) through a virtual chain
    /// and print what the LEDs show.
    Replay(ReplayArgs),
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Where the frames go: terminal, virtual, spilog:FILE, png:FILE.
    #[arg(long, default_value = "terminal", value_parser = parse_backend)]
    pub backend: BackendSpec,
}

fn parse_backend(s: &str) -> Result<BackendSpec, String> {
    s.parse()
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontArg {
    /// 8×8 glyphs, fixed width.
    Fixed,
    /// 8-px glyphs with blank columns trimmed (luma's `proportional`).
    Proportional,
    /// A small font, at most 6 px tall.
    Small,
}

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
    /// Alignment of text that is shown still.
    #[arg(long, value_enum, default_value_t = AlignArg::Left)]
    pub align: AlignArg,
    #[arg(long, value_enum, default_value_t = ScrollArg::Auto)]
    pub scroll: ScrollArg,
    /// Scroll speed in pixels per second (luma's default scroll_delay 0.03 s ≈ 33 px/s).
    #[arg(long, default_value_t = 33.0)]
    pub speed: f64,
    /// Scroll forever (interrupt with Ctrl-C).
    #[arg(long = "loop")]
    pub looping: bool,
    /// Stop after this many scroll steps (to capture a picture mid-scroll).
    #[arg(long)]
    pub steps: Option<u32>,
    /// Inverse video: lit background, dark text.
    #[arg(long)]
    pub invert: bool,
    /// Blink: on and off for this many milliseconds each (terminal only; needs --hold).
    #[arg(long, value_name = "MS")]
    pub blink: Option<u64>,
    /// Keep showing still text for this many seconds (terminal backend).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub hold: f64,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// A PNG (or any format the image crate reads); non-black pixels are lit, as in luma.
    pub file: PathBuf,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

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

/// A command failed. `usage` errors (bad input or options) exit with 2, others with 1.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub usage: bool,
}

impl CliError {
    fn usage(message: impl std::fmt::Display) -> Self {
        CliError { message: message.to_string(), usage: true }
    }
    fn runtime(message: impl std::fmt::Display) -> Self {
        CliError { message: message.to_string(), usage: false }
    }
    pub fn exit_code(&self) -> i32 {
        if self.usage {
            2
        } else {
            1
        }
    }
}

impl From<display::DisplayError> for CliError {
    fn from(e: display::DisplayError) -> Self {
        CliError::usage(e)
    }
}

impl From<crate::backend::output::OutputError> for CliError {
    fn from(e: crate::backend::output::OutputError) -> Self {
        use crate::backend::output::OutputError;
        match e {
            OutputError::Create { .. } => CliError::usage(e),
            other => CliError::runtime(other),
        }
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Text(a) => text(a),
        Command::Image(a) => image(a),
        Command::Replay(a) => replay(a),
    }
}

fn font(f: FontArg) -> Font {
    match f {
        FontArg::Fixed => Font::Fixed8,
        FontArg::Proportional => Font::Proportional8,
        FontArg::Small => Font::Small,
    }
}

fn text(a: TextArgs) -> Result<(), CliError> {
    let wiring = a.display.wiring()?;
    let intensity = a.display.intensity()?;
    if !(a.speed.is_finite() && a.speed > 0.0) {
        return Err(CliError::usage(format!("--speed {}: expected a positive number of px/s", a.speed)));
    }
    let font = font(a.font);
    let (w, h) = wiring.logical_size();
    let mut out = Output::open(a.output.backend.clone(), wiring, intensity)?;
    let scroll = match a.scroll {
        ScrollArg::Always => true,
        ScrollArg::Never => false,
        ScrollArg::Auto => !render::fits(&a.text, font, w),
    };
    let interactive = a.output.backend == BackendSpec::Terminal;
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
        if interactive && a.hold > 0.0 {
            let until = std::time::Instant::now() + Duration::from_secs_f64(a.hold);
            let mut lit = true;
            while std::time::Instant::now() < until {
                let Some(ms) = a.blink else {
                    std::thread::sleep(until - std::time::Instant::now());
                    break;
                };
                std::thread::sleep(Duration::from_millis(ms.max(10)));
                lit = !lit;
                if lit {
                    out.show(&frame)?;
                } else {
                    let mut dark = Frame::new(w, h);
                    if a.invert {
                        dark.invert();
                    }
                    out.show(&dark)?;
                }
            }
        }
        return out.finish().map_err(Into::into);
    }
    let strip = render::render_text(&a.text, font);
    let scroll = Scroll::new(strip, w);
    let total = a.steps.map_or(scroll.steps(), |s| s as usize);
    let step_time = Duration::from_secs_f64(1.0 / a.speed);
    let mut i: usize = 0;
    loop {
        if i >= total {
            if a.looping && interactive && a.steps.is_none() {
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
        if interactive {
            std::thread::sleep(step_time);
        }
        i += 1;
    }
    out.finish().map_err(Into::into)
}

fn image(a: ImageArgs) -> Result<(), CliError> {
    let img =
        ::image::open(&a.file).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?.to_rgba8();
    let (iw, ih) = img.dimensions();
    if iw == 0 || ih == 0 || iw % 8 != 0 || ih % 8 != 0 {
        return Err(CliError::usage(format!(
            "{}: image is {iw}×{ih}; both sides must be multiples of 8 (one module is 8×8)",
            a.file.display()
        )));
    }
    let mut display = a.display.clone();
    if display.cascaded.is_none() && display.modules.is_none() {
        // No grid given: the image says how big the display is.
        let (mx, my) = match display.rotation()? {
            crate::driver::wiring::Rotation::R90 | crate::driver::wiring::Rotation::R270 => (ih / 8, iw / 8),
            _ => (iw / 8, ih / 8),
        };
        display.modules = Some(format!("{mx}x{my}"));
    }
    let wiring = display.wiring()?;
    let (w, h) = wiring.logical_size();
    if (w, h) != (iw, ih) {
        return Err(CliError::usage(format!(
            "{}: image is {iw}×{ih} but the display is {w}×{h}",
            a.file.display()
        )));
    }
    let mut frame = Frame::new(w, h);
    for (x, y, p) in img.enumerate_pixels() {
        // luma's mode "1": any colour that is not black (and not transparent) is lit.
        let on = p[3] > 0 && (p[0] | p[1] | p[2]) != 0;
        frame.set(x as i32, y as i32, on);
    }
    let mut out = Output::open(a.output.backend.clone(), wiring, display.intensity()?)?;
    out.show(&frame)?;
    out.finish().map_err(Into::into)
}

fn replay(a: ReplayArgs) -> Result<(), CliError> {
    use eslmatrix_sim::chain::{parse_capture, VirtualChain};
    let text = std::fs::read(&a.file).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?;
    let text = String::from_utf8_lossy(&text);
    let capture = parse_capture(&text).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?;
    let wiring = a.display.wiring()?;
    let mut chain = VirtualChain::new(wiring.chips())
        .with_layout(crate::backend::output::sim_layout(&wiring))
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
    let leds = crate::backend::output::chain_leds(&chain);
    for row in leds.to_rows() {
        println!("{row}");
    }
    if let Some(path) = &a.png {
        crate::backend::png::write_led_png(path, &leds, 16).map_err(CliError::runtime)?;
    }
    Ok(())
}
