//! The display flags shared by every command, and their translation into a [`DisplaySpec`].

use std::time::Duration;

use clap::{Args, ValueEnum};

use eslmatrix::driver::{DisplaySpec, DisplaySpecError, Intensity, Wiring};
use eslmatrix::render::Font;

/// The font names, the same on the command line and in the config's `font` key.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontArg {
    /// 8×8 glyphs, fixed width (the older name `fixed8` works too).
    #[value(alias = "fixed8")]
    Fixed,
    /// 8-px glyphs with blank columns trimmed (luma's `proportional`; the older `proportional8`).
    #[value(alias = "proportional8")]
    Proportional,
    /// A small font, at most 6 px tall.
    Small,
}

/// The renderer's font for a `--font` value.
pub fn font(f: FontArg) -> Font {
    match f {
        FontArg::Fixed => Font::Fixed8,
        FontArg::Proportional => Font::Proportional8,
        FontArg::Small => Font::Small,
    }
}

/// How the modules are laid out and wired. luma.led_matrix's options are accepted under
/// their own names and mean exactly what they mean there.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Display")]
pub struct DisplayArgs {
    /// Number of modules in one row (luma's `cascaded`); same as --modules Nx1.
    #[arg(short = 'n', long, value_name = "N", conflicts_with = "modules")]
    pub cascaded: Option<u32>,

    /// Module grid, modules across × down, e.g. 4x1 or 4x2 [default: 4x1].
    #[arg(long, value_name = "WxH")]
    pub modules: Option<String>,

    /// luma's block_orientation: 0, 90, -90 or 180.
    #[arg(long, value_name = "DEG", allow_hyphen_values = true, conflicts_with = "preset")]
    pub block_orientation: Option<i32>,

    /// Module wiring preset: generic, fc16, parola, icstation.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,

    /// Module wiring flag: digit registers drive rows (else columns).
    #[arg(long, conflicts_with_all = ["block_orientation", "preset"])]
    pub digits_are_rows: bool,

    /// Module wiring flag: columns mirrored.
    #[arg(long, conflicts_with_all = ["block_orientation", "preset"])]
    pub columns_reversed: bool,

    /// Module wiring flag: rows mirrored.
    #[arg(long, conflicts_with_all = ["block_orientation", "preset"])]
    pub rows_reversed: bool,

    /// luma's blocks_arranged_in_reverse_order: the chain starts at the right.
    #[arg(long, conflicts_with = "chain_order")]
    pub reverse_order: bool,

    /// Chain order: row-major, reversed, serpentine, reversed-serpentine.
    #[arg(long, value_name = "ORDER")]
    pub chain_order: Option<String>,

    /// Whole-display rotation, clockwise: luma's 0–3, or 90, 180, 270 degrees [default: 0].
    // Optional so that a config file's value stands unless the flag is given.
    #[arg(long, value_name = "R")]
    pub rotate: Option<u32>,

    /// LED intensity 0–15 (the MAX7219's 16 PWM steps) [default: 7].
    #[arg(long, value_name = "0-15")]
    pub intensity: Option<u8>,

    /// ESPHome's flip_x: mirror each module left to right.
    #[arg(long)]
    pub flip_x: bool,

    /// The most current the chain may draw, in mA: frames that would draw more are dimmed
    /// (estimated from the lit LEDs and the intensity; docs/raspberry-pi.md).
    #[arg(long, value_name = "MA")]
    pub max_current_ma: Option<u32>,
}

/// How the daemon draws on the display: the rest of the config's `[display]` keys, each
/// under the key's own name.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Display")]
pub struct LookArgs {
    /// Font: fixed, proportional or small (fixed8 and proportional8 too) [default: proportional].
    #[arg(long, value_enum)]
    pub font: Option<FontArg>,

    /// Lit background, dark text, for everything shown.
    #[arg(long)]
    pub invert: bool,

    /// Re-send the chips' whole state this often (e.g. 60s), repairing noise-corrupted modules.
    #[arg(long, value_name = "DURATION", value_parser = parse_period)]
    pub refresh_every: Option<Duration>,

    /// Blank the display when the daemon stops, instead of leaving the last picture up.
    #[arg(long)]
    pub blank_on_exit: bool,
}

impl LookArgs {
    /// `spec` with these options added.
    pub fn over(&self, spec: DisplaySpec) -> DisplaySpec {
        DisplaySpec {
            font: self.font.map(|f| font(f).name().to_owned()),
            invert: self.invert,
            refresh_every: self.refresh_every,
            blank_on_exit: self.blank_on_exit,
            ..spec
        }
    }
}

/// The longest period a flag takes, as in the config: a year.
const MAX_PERIOD: Duration = Duration::from_secs(365 * 86_400);

/// A period as the config writes it (`60s`, `500ms`, `2m`); a bare number is seconds, as
/// `text --refresh-every SECS` always took it.
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 && secs <= MAX_PERIOD.as_secs_f64() => {
            Duration::from_secs_f64(secs)
        }
        Ok(_) => return Err(format!("{s:?}: expected a period from 0 to a year")),
        Err(_) => humantime::parse_duration(s.trim())
            .map_err(|e| format!("{s:?}: {e} (write e.g. 60s, 500ms, 2m)"))?,
    };
    if d > MAX_PERIOD {
        return Err(format!("{s:?}: at most a year"));
    }
    Ok(d)
}

impl DisplayArgs {
    /// The options as the library takes them.
    pub fn spec(&self) -> DisplaySpec {
        DisplaySpec {
            cascaded: self.cascaded,
            modules: self.modules.clone(),
            block_orientation: self.block_orientation,
            preset: self.preset.clone(),
            digits_are_rows: self.digits_are_rows,
            columns_reversed: self.columns_reversed,
            rows_reversed: self.rows_reversed,
            reverse_order: self.reverse_order,
            chain_order: self.chain_order.clone(),
            rotate: self.rotate,
            intensity: self.intensity,
            flip_x: self.flip_x,
            max_current_ma: self.max_current_ma,
            ..DisplaySpec::default()
        }
    }

    /// The wiring and intensity these flags describe, checked.
    pub fn display(&self) -> Result<(Wiring, Intensity), DisplaySpecError> {
        let spec = self.spec();
        Ok((spec.wiring()?, spec.intensity()?))
    }
}
