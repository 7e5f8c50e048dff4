//! Display options shared by every command, and their translation into a [`Wiring`].

use clap::Args;

use crate::driver::wiring::{ChainOrder, ModuleWiring, Rotation, Wiring};

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
}

/// A display option that does not make sense; the message names the option.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct DisplayError(pub String);

impl DisplayArgs {
    /// The module grid these options describe.
    pub fn grid(&self) -> Result<(u32, u32), DisplayError> {
        if let Some(n) = self.cascaded {
            if n == 0 {
                return Err(DisplayError("--cascaded must be at least 1".into()));
            }
            return Ok((n, 1));
        }
        let Some(spec) = &self.modules else { return Ok((4, 1)) };
        let bad = || DisplayError(format!("--modules {spec:?}: expected WxH, e.g. 4x1"));
        let lower = spec.to_ascii_lowercase();
        let (w, h) = lower.split_once('x').ok_or_else(bad)?;
        let w: u32 = w.trim().parse().map_err(|_| bad())?;
        let h: u32 = h.trim().parse().map_err(|_| bad())?;
        if w == 0 || h == 0 {
            return Err(DisplayError(format!("--modules {spec:?}: a display needs at least one module")));
        }
        if w.saturating_mul(h) > 4096 {
            return Err(DisplayError(format!("--modules {spec:?}: more than 4096 modules")));
        }
        Ok((w, h))
    }

    pub fn module_wiring(&self) -> Result<ModuleWiring, DisplayError> {
        if let Some(bo) = self.block_orientation {
            return ModuleWiring::from_block_orientation(bo).map_err(|e| DisplayError(e.to_string()));
        }
        if let Some(name) = &self.preset {
            return name.parse::<ModuleWiring>().map_err(|e| DisplayError(e.to_string()));
        }
        Ok(ModuleWiring {
            digits_are_rows: self.digits_are_rows,
            columns_reversed: self.columns_reversed,
            rows_reversed: self.rows_reversed,
        })
    }

    pub fn rotation(&self) -> Result<Rotation, DisplayError> {
        Ok(match self.rotate.unwrap_or(0) {
            0 => Rotation::R0,
            1 | 90 => Rotation::R90,
            2 | 180 => Rotation::R180,
            3 | 270 => Rotation::R270,
            other => {
                return Err(DisplayError(format!(
                    "--rotate {other}: expected 0, 1, 2, 3 (luma) or 90, 180, 270 (degrees)"
                )))
            }
        })
    }

    pub fn chain_order(&self) -> Result<ChainOrder, DisplayError> {
        if self.reverse_order {
            return Ok(ChainOrder::Reversed);
        }
        match &self.chain_order {
            None => Ok(ChainOrder::RowMajor),
            Some(s) => s.parse::<ChainOrder>().map_err(|e| DisplayError(e.to_string())),
        }
    }

    pub fn intensity(&self) -> Result<u8, DisplayError> {
        let intensity = self.intensity.unwrap_or(7);
        if intensity > 15 {
            return Err(DisplayError(format!("--intensity {intensity}: expected 0 to 15")));
        }
        Ok(intensity)
    }

    /// The full wiring, checked.
    pub fn wiring(&self) -> Result<Wiring, DisplayError> {
        let (modules_x, modules_y) = self.grid()?;
        Ok(Wiring {
            modules_x,
            modules_y,
            chain: self.chain_order()?,
            module: self.module_wiring()?,
            rotation: self.rotation()?,
        })
    }
}
