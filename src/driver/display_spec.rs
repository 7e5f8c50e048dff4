//! A display as a person describes it — luma's and ESPHome's words (`cascaded`,
//! `block_orientation`, `rotate`, presets) — and its translation into a checked [`Wiring`]
//! and [`Intensity`].
//!
//! The command line and the config file both fill a [`DisplaySpec`]; neither knows the
//! other. A problem comes back as a [`DisplaySpecError`] naming its [`DisplayField`], so
//! each side says it in its own words: `--rotate 5: …` on the command line,
//! `display.rotate 5: …` in a config file.
//!
//! ```
//! use eslmatrix::driver::display_spec::DisplaySpec;
//!
//! let spec = DisplaySpec { modules: Some("4x2".into()), rotate: Some(1), ..DisplaySpec::default() };
//! let wiring = spec.wiring().unwrap();
//! assert_eq!((wiring.modules_x, wiring.modules_y), (4, 2));
//!
//! let bad = DisplaySpec { rotate: Some(5), ..DisplaySpec::default() }.wiring().unwrap_err();
//! assert_eq!(bad.flag_message(), "--rotate 5: expected 0, 1, 2, 3 (luma) or 90, 180, 270 (degrees)");
//! ```

use std::fmt;
use std::time::Duration;

use crate::render::Font;

use super::intensity::{Intensity, IntensityError};
use super::power::PowerBudget;
use super::wiring::{ChainOrder, ModuleWiring, Rotation, Wiring, MAX_CHIPS};

/// How the modules are laid out and wired, as given; every field is optional so that a
/// command-line flag can override a config file's key ([`DisplaySpec::over`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplaySpec {
    /// Modules in one row (luma's `cascaded`); the same as `modules = "Nx1"`.
    pub cascaded: Option<u32>,
    /// The module grid as `WxH`, modules across × down.
    pub modules: Option<String>,
    /// luma's `block_orientation`: 0, 90, -90 or 180.
    pub block_orientation: Option<i32>,
    /// A module wiring preset: generic, fc16, parola, icstation.
    pub preset: Option<String>,
    /// Module wiring flag: digit registers drive rows (else columns).
    pub digits_are_rows: bool,
    /// Module wiring flag: columns mirrored.
    pub columns_reversed: bool,
    /// Module wiring flag: rows mirrored.
    pub rows_reversed: bool,
    /// luma's `blocks_arranged_in_reverse_order`: the chain starts at the right.
    pub reverse_order: bool,
    /// Chain order: row-major, reversed, serpentine, reversed-serpentine.
    pub chain_order: Option<String>,
    /// Whole-display rotation: luma's 0–3, or 90, 180, 270 degrees.
    pub rotate: Option<u32>,
    /// LED intensity 0–15.
    pub intensity: Option<u8>,
    /// ESPHome's `flip_x`: each module mirrored left to right.
    pub flip_x: bool,
    /// Lit background, dark text, for everything shown.
    pub invert: bool,
    /// The font's name (`fixed`, `proportional`, `small`; `fixed8`, `proportional8` too).
    pub font: Option<String>,
    /// How often the chips' whole state is sent again, repairing noise-corrupted modules.
    pub refresh_every: Option<Duration>,
    /// Blank the display when the program stops, instead of leaving the last picture up.
    pub blank_on_exit: bool,
    /// The most current the chain may draw, in mA (see [`super::power`]).
    pub max_current_ma: Option<u32>,
}

/// The display option a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayField {
    /// `cascaded`.
    Cascaded,
    /// `modules`.
    Modules,
    /// `block_orientation`.
    BlockOrientation,
    /// `preset`.
    Preset,
    /// `chain_order`.
    ChainOrder,
    /// `rotate`.
    Rotate,
    /// `intensity`.
    Intensity,
    /// `font`.
    Font,
    /// `refresh_every`.
    RefreshEvery,
    /// `max_current_ma`.
    MaxCurrent,
}

impl DisplayField {
    /// The name as a config key (`block_orientation`).
    pub fn key(self) -> &'static str {
        match self {
            DisplayField::Cascaded => "cascaded",
            DisplayField::Modules => "modules",
            DisplayField::BlockOrientation => "block_orientation",
            DisplayField::Preset => "preset",
            DisplayField::ChainOrder => "chain_order",
            DisplayField::Rotate => "rotate",
            DisplayField::Intensity => "intensity",
            DisplayField::Font => "font",
            DisplayField::RefreshEvery => "refresh_every",
            DisplayField::MaxCurrent => "max_current_ma",
        }
    }

    /// The name as a command-line flag, without the dashes (`block-orientation`).
    pub fn flag(self) -> String {
        self.key().replace('_', "-")
    }
}

/// What is wrong with a display option's value. The text starts with the value, so it
/// reads on after the option's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayProblem {
    /// `cascaded = 0`.
    #[error("0: must be at least 1")]
    NoCascade,
    /// Not `WxH`.
    #[error("{0:?}: expected WxH, e.g. 4x1")]
    NotAGrid(String),
    /// A side of zero modules.
    #[error("{0:?}: a display needs at least one module")]
    EmptyGrid(String),
    /// More modules than [`MAX_CHIPS`].
    #[error("{0}: more than {MAX_CHIPS} modules")]
    TooManyModules(String),
    /// Not one of luma's four block orientations.
    #[error("{0}: expected 0, 90, -90 or 180")]
    BlockOrientation(i32),
    /// Not a preset name.
    #[error("{0:?}: expected generic, fc16, parola or icstation")]
    Preset(String),
    /// Not a chain order name.
    #[error("{0:?}: expected row-major, reversed, serpentine or reversed-serpentine")]
    ChainOrder(String),
    /// Not a rotation.
    #[error("{0}: expected 0, 1, 2, 3 (luma) or 90, 180, 270 (degrees)")]
    Rotate(u32),
    /// Above the chip's brightest step.
    #[error(transparent)]
    Intensity(#[from] IntensityError),
    /// Not a font name.
    #[error("{0:?}: expected fixed, proportional or small")]
    Font(String),
    /// A period of zero would re-send without pause.
    #[error("0s: must be longer than zero")]
    ZeroPeriod,
    /// No current at all would leave nothing to show.
    #[error("0: must be above 0 mA")]
    NoCurrent,
}

/// A display option that does not make sense, and which option it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {problem}", field.key())]
pub struct DisplaySpecError {
    /// The option.
    pub field: DisplayField,
    /// Its problem.
    pub problem: DisplayProblem,
}

impl DisplaySpecError {
    fn new(field: DisplayField, problem: DisplayProblem) -> Self {
        DisplaySpecError { field, problem }
    }

    /// The message in command-line words: `--rotate 5: expected …`.
    pub fn flag_message(&self) -> String {
        format!("--{} {}", self.field.flag(), self.problem)
    }

    /// The message in config-file words, for the keys of `table`: `display.rotate 5: …`.
    pub fn key_message(&self, table: &str) -> String {
        format!("{table}.{} {}", self.field.key(), self.problem)
    }
}

/// Options given together that contradict each other (`preset` and `block_orientation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayConflict {
    /// More than one of `block_orientation`, `preset` and the three module flags.
    ModuleWiring,
    /// Both `cascaded` and `modules`.
    Grid,
    /// Both `reverse_order` and `chain_order`.
    ChainOrder,
}

impl fmt::Display for DisplayConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DisplayConflict::ModuleWiring => {
                "give one of block_orientation, preset, or the three wiring flags"
            }
            DisplayConflict::Grid => "give cascaded or modules, not both",
            DisplayConflict::ChainOrder => "give reverse_order or chain_order, not both",
        })
    }
}

/// The grid when neither `cascaded` nor `modules` is given: luma's four-in-one board.
pub const DEFAULT_GRID: (u32, u32) = (4, 1);

impl DisplaySpec {
    /// `self` laid over `base`: an option given here wins, and wins with its whole group,
    /// so `--preset fc16` beats a file's `block_orientation = 90` instead of contradicting it.
    #[must_use]
    pub fn over(&self, base: &DisplaySpec) -> DisplaySpec {
        let mut out = base.clone();
        if self.cascaded.is_some() || self.modules.is_some() {
            out.cascaded = self.cascaded;
            out.modules.clone_from(&self.modules);
        }
        let flags = self.digits_are_rows || self.columns_reversed || self.rows_reversed;
        if self.block_orientation.is_some() || self.preset.is_some() || flags {
            out.block_orientation = self.block_orientation;
            out.preset.clone_from(&self.preset);
            out.digits_are_rows = self.digits_are_rows;
            out.columns_reversed = self.columns_reversed;
            out.rows_reversed = self.rows_reversed;
        }
        if self.reverse_order || self.chain_order.is_some() {
            out.reverse_order = self.reverse_order;
            out.chain_order.clone_from(&self.chain_order);
        }
        out.rotate = self.rotate.or(base.rotate);
        out.intensity = self.intensity.or(base.intensity);
        // A switch given on either side is on: the command line can only turn it on.
        out.flip_x = self.flip_x || base.flip_x;
        out.invert = self.invert || base.invert;
        out.blank_on_exit = self.blank_on_exit || base.blank_on_exit;
        out.font = self.font.clone().or_else(|| base.font.clone());
        out.refresh_every = self.refresh_every.or(base.refresh_every);
        out.max_current_ma = self.max_current_ma.or(base.max_current_ma);
        out
    }

    /// The first pair of options that contradict each other. The command line refuses these
    /// while parsing; a file says them all at once, so it asks here.
    pub fn conflict(&self) -> Option<DisplayConflict> {
        let wiring_given = [
            self.block_orientation.is_some(),
            self.preset.is_some(),
            self.digits_are_rows || self.columns_reversed || self.rows_reversed,
        ];
        if wiring_given.iter().filter(|g| **g).count() > 1 {
            return Some(DisplayConflict::ModuleWiring);
        }
        if self.cascaded.is_some() && self.modules.is_some() {
            return Some(DisplayConflict::Grid);
        }
        if self.reverse_order && self.chain_order.is_some() {
            return Some(DisplayConflict::ChainOrder);
        }
        None
    }

    /// The module grid, modules across × down, at most [`MAX_CHIPS`] modules.
    pub fn grid(&self) -> Result<(u32, u32), DisplaySpecError> {
        if let Some(n) = self.cascaded {
            let err = |p| DisplaySpecError::new(DisplayField::Cascaded, p);
            if n == 0 {
                return Err(err(DisplayProblem::NoCascade));
            }
            if n as usize > MAX_CHIPS {
                return Err(err(DisplayProblem::TooManyModules(n.to_string())));
            }
            return Ok((n, 1));
        }
        let Some(spec) = &self.modules else { return Ok(DEFAULT_GRID) };
        let err = |p| DisplaySpecError::new(DisplayField::Modules, p);
        let bad = || err(DisplayProblem::NotAGrid(spec.clone()));
        let lower = spec.to_ascii_lowercase();
        let (w, h) = lower.split_once('x').ok_or_else(bad)?;
        let w: u32 = w.trim().parse().map_err(|_| bad())?;
        let h: u32 = h.trim().parse().map_err(|_| bad())?;
        if w == 0 || h == 0 {
            return Err(err(DisplayProblem::EmptyGrid(spec.clone())));
        }
        if (w as usize).saturating_mul(h as usize) > MAX_CHIPS {
            return Err(err(DisplayProblem::TooManyModules(format!("{spec:?}"))));
        }
        Ok((w, h))
    }

    /// The per-module wiring: luma's block orientation, a preset, or the three flags.
    pub fn module_wiring(&self) -> Result<ModuleWiring, DisplaySpecError> {
        if let Some(degrees) = self.block_orientation {
            return ModuleWiring::from_block_orientation(degrees).map_err(|_| {
                DisplaySpecError::new(
                    DisplayField::BlockOrientation,
                    DisplayProblem::BlockOrientation(degrees),
                )
            });
        }
        if let Some(name) = &self.preset {
            return name.parse::<ModuleWiring>().map_err(|_| {
                DisplaySpecError::new(DisplayField::Preset, DisplayProblem::Preset(name.clone()))
            });
        }
        Ok(ModuleWiring {
            digits_are_rows: self.digits_are_rows,
            columns_reversed: self.columns_reversed,
            rows_reversed: self.rows_reversed,
        })
    }

    /// The rotation, from luma's quarter turns or from degrees.
    pub fn rotation(&self) -> Result<Rotation, DisplaySpecError> {
        let rotate = self.rotate.unwrap_or(0);
        Rotation::from_luma_or_degrees(rotate)
            .ok_or(DisplaySpecError::new(DisplayField::Rotate, DisplayProblem::Rotate(rotate)))
    }

    /// The chain order.
    pub fn chain_order(&self) -> Result<ChainOrder, DisplaySpecError> {
        if self.reverse_order {
            return Ok(ChainOrder::Reversed);
        }
        match &self.chain_order {
            None => Ok(ChainOrder::RowMajor),
            Some(s) => s.parse::<ChainOrder>().map_err(|_| {
                DisplaySpecError::new(DisplayField::ChainOrder, DisplayProblem::ChainOrder(s.clone()))
            }),
        }
    }

    /// The intensity, [`Intensity::default`] when not given.
    pub fn intensity(&self) -> Result<Intensity, DisplaySpecError> {
        self.intensity.map_or(Ok(Intensity::default()), |i| {
            Intensity::new(i).map_err(|e| DisplaySpecError::new(DisplayField::Intensity, e.into()))
        })
    }

    /// The font, when one is named.
    pub fn font(&self) -> Result<Option<Font>, DisplaySpecError> {
        self.font
            .as_deref()
            .map(|name| {
                name.parse::<Font>().map_err(|_| {
                    DisplaySpecError::new(DisplayField::Font, DisplayProblem::Font(name.to_owned()))
                })
            })
            .transpose()
    }

    /// The refresh period, when one is given; never zero.
    pub fn refresh_every(&self) -> Result<Option<Duration>, DisplaySpecError> {
        match self.refresh_every {
            Some(d) if d.is_zero() => {
                Err(DisplaySpecError::new(DisplayField::RefreshEvery, DisplayProblem::ZeroPeriod))
            }
            d => Ok(d),
        }
    }

    /// The power budget, when a current limit is given.
    pub fn power_budget(&self) -> Result<Option<PowerBudget>, DisplaySpecError> {
        match self.max_current_ma {
            Some(0) => Err(DisplaySpecError::new(DisplayField::MaxCurrent, DisplayProblem::NoCurrent)),
            ma => Ok(ma.map(PowerBudget::new)),
        }
    }

    /// The full wiring, checked.
    pub fn wiring(&self) -> Result<Wiring, DisplaySpecError> {
        let (modules_x, modules_y) = self.grid()?;
        let mut module = self.module_wiring()?;
        if self.flip_x {
            // ESPHome's flip_x mirrors each module left to right, whatever its wiring.
            module.columns_reversed = !module.columns_reversed;
        }
        Ok(Wiring { modules_x, modules_y, chain: self.chain_order()?, module, rotation: self.rotation()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag_err(spec: DisplaySpec) -> String {
        spec.wiring().and(spec.intensity().map(|_| ())).map(|_| ()).unwrap_err().flag_message()
    }

    #[test]
    fn the_look_keys_are_checked_and_flip_x_mirrors_each_module() {
        let font = DisplaySpec { font: Some("cp437".into()), ..DisplaySpec::default() }.font().unwrap_err();
        assert_eq!(font.flag_message(), "--font \"cp437\": expected fixed, proportional or small");
        assert_eq!(
            font.key_message("display"),
            "display.font \"cp437\": expected fixed, proportional or small"
        );
        let old = DisplaySpec { font: Some("proportional8".into()), ..DisplaySpec::default() };
        assert_eq!(old.font(), Ok(Some(Font::Proportional8)), "the older name still works");
        let zero = DisplaySpec { refresh_every: Some(Duration::ZERO), ..DisplaySpec::default() };
        assert_eq!(
            zero.refresh_every().unwrap_err().flag_message(),
            "--refresh-every 0s: must be longer than zero"
        );
        let fc16 = DisplaySpec { preset: Some("fc16".into()), ..DisplaySpec::default() };
        let flipped = DisplaySpec { flip_x: true, ..fc16.clone() };
        let (a, b) = (fc16.wiring().unwrap().module, flipped.wiring().unwrap().module);
        assert_eq!((a.columns_reversed, b.columns_reversed), (true, false));
        assert_eq!((a.digits_are_rows, a.rows_reversed), (b.digits_are_rows, b.rows_reversed));
        let cli = DisplaySpec { flip_x: true, ..DisplaySpec::default() };
        assert!(cli.over(&fc16).wiring().unwrap().module == b, "a flag adds to the file's wiring");
    }

    #[test]
    fn every_problem_names_its_option_in_either_words() {
        let cases = [
            (DisplaySpec { cascaded: Some(0), ..DisplaySpec::default() }, "--cascaded 0: must be at least 1"),
            (
                DisplaySpec { modules: Some("4".into()), ..DisplaySpec::default() },
                "--modules \"4\": expected WxH, e.g. 4x1",
            ),
            (
                DisplaySpec { block_orientation: Some(45), ..DisplaySpec::default() },
                "--block-orientation 45: expected 0, 90, -90 or 180",
            ),
            (
                DisplaySpec { chain_order: Some("zigzag".into()), ..DisplaySpec::default() },
                "--chain-order \"zigzag\": expected row-major, reversed, serpentine or reversed-serpentine",
            ),
            (
                DisplaySpec { intensity: Some(16), ..DisplaySpec::default() },
                "--intensity 16: expected 0 to 15",
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(flag_err(spec), want);
        }
        let e = DisplaySpec { rotate: Some(5), ..DisplaySpec::default() }.rotation().unwrap_err();
        assert_eq!(
            e.key_message("display"),
            "display.rotate 5: expected 0, 1, 2, 3 (luma) or 90, 180, 270 (degrees)"
        );
    }

    #[test]
    fn cascaded_and_modules_share_one_maximum() {
        let max = u32::try_from(MAX_CHIPS).unwrap();
        assert!(DisplaySpec { cascaded: Some(max), ..DisplaySpec::default() }.grid().is_ok());
        assert!(DisplaySpec { modules: Some(format!("{}x2", max / 2)), ..DisplaySpec::default() }
            .grid()
            .is_ok());
        let over = DisplaySpec { cascaded: Some(max + 1), ..DisplaySpec::default() }.grid().unwrap_err();
        assert_eq!(over.problem, DisplayProblem::TooManyModules((max + 1).to_string()));
        let over = DisplaySpec { modules: Some(format!("{max}x2")), ..DisplaySpec::default() };
        assert!(matches!(over.grid().unwrap_err().problem, DisplayProblem::TooManyModules(_)));
    }

    #[test]
    fn an_option_given_wins_with_its_group() {
        let file = DisplaySpec {
            modules: Some("4x2".into()),
            block_orientation: Some(90),
            chain_order: Some("serpentine".into()),
            rotate: Some(2),
            intensity: Some(3),
            ..DisplaySpec::default()
        };
        let cli = DisplaySpec { cascaded: Some(8), preset: Some("parola".into()), ..DisplaySpec::default() };
        let merged = cli.over(&file);
        assert_eq!(merged.conflict(), None);
        let w = merged.wiring().unwrap();
        assert_eq!((w.modules_x, w.modules_y), (8, 1));
        assert_eq!(w.module, ModuleWiring::PAROLA);
        assert_eq!(w.chain, ChainOrder::Serpentine);
        assert_eq!(w.rotation, Rotation::R180);
        assert_eq!(merged.intensity().unwrap().get(), 3);
        let both =
            DisplaySpec { preset: Some("fc16".into()), block_orientation: Some(0), ..DisplaySpec::default() };
        assert_eq!(both.conflict(), Some(DisplayConflict::ModuleWiring));
    }
}
