//! `eslmatrix image`: show a picture.

use std::path::PathBuf;

use clap::Args;

use super::display::DisplayArgs;
use super::with_output;
use super::{CliError, OutputArgs};
use eslmatrix::backend::OutputSpec;
use eslmatrix::render::Frame;

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// A PNG (or any format the image crate reads); non-black pixels are lit, as in luma.
    pub file: PathBuf,
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: ImageArgs) -> Result<(), CliError> {
    let img =
        ::image::open(&a.file).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?.to_rgba8();
    let (iw, ih) = img.dimensions();
    if iw == 0 || ih == 0 || iw % 8 != 0 || ih % 8 != 0 {
        return Err(CliError::usage(format!(
            "{}: image is {iw}×{ih}; both sides must be multiples of 8 (one module is 8×8)",
            a.file.display()
        )));
    }
    let mut display = a.display.spec();
    if display.cascaded.is_none() && display.modules.is_none() {
        // No grid given: the image says how big the display is.
        let (mx, my) = match display.rotation()? {
            eslmatrix::driver::wiring::Rotation::R90 | eslmatrix::driver::wiring::Rotation::R270 => {
                (ih / 8, iw / 8)
            }
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
    let output = OutputSpec { backend: a.output.backend(), wiring, intensity: display.intensity()? };
    with_output(&output, |out| {
        out.show(&frame)?;
        out.linger();
        Ok::<(), CliError>(())
    })
}
