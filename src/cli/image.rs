//! `eslmatrix image`: show a picture.

use std::path::PathBuf;

use clap::Args;

use super::display::DisplayArgs;
use super::with_output;
use super::{CliError, OutputArgs};
use eslmatrix::backend::OutputSpec;
use eslmatrix::driver::MAX_CHIPS;
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

/// What the decoder may allocate: far above the largest display's picture
/// ([`MAX_CHIPS`] modules of 8×8 as RGBA is 1 MiB), far below what a small Pi has.
const DECODE_ALLOC: u64 = 64 << 20;

/// Reads the image, checking its size from the header before anything is decoded: a small
/// file can claim a huge picture (a 510 KiB PNG of 23168×23168 decodes to 2 GB).
fn load(path: &std::path::Path) -> Result<::image::RgbaImage, CliError> {
    let bad = |e: &dyn std::fmt::Display| CliError::usage(format!("{}: {e}", path.display()));
    let open = || {
        ::image::ImageReader::open(path)
            .and_then(::image::ImageReader::with_guessed_format)
            .map_err(|e| bad(&e))
    };
    let (iw, ih) = open()?.into_dimensions().map_err(|e| bad(&e))?;
    if iw == 0 || ih == 0 || iw % 8 != 0 || ih % 8 != 0 {
        return Err(bad(&format_args!(
            "image is {iw}×{ih}; both sides must be multiples of 8 (one module is 8×8)"
        )));
    }
    let modules = u64::from(iw / 8) * u64::from(ih / 8);
    if modules > MAX_CHIPS as u64 {
        return Err(bad(&format_args!(
            "image is {iw}×{ih}, {modules} modules of 8×8; a display has at most {MAX_CHIPS}"
        )));
    }
    let mut reader = open()?;
    let mut limits = ::image::Limits::default();
    limits.max_image_width = Some(iw);
    limits.max_image_height = Some(ih);
    limits.max_alloc = Some(DECODE_ALLOC);
    reader.limits(limits);
    Ok(reader.decode().map_err(|e| bad(&e))?.to_rgba8())
}

pub fn run(a: ImageArgs) -> Result<(), CliError> {
    let img = load(&a.file)?;
    let (iw, ih) = img.dimensions();
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
    let output = OutputSpec {
        backend: a.output.backend(),
        wiring,
        intensity: display.intensity()?,
        spi_speed: a.output.spi_speed(),
        power: display.power_budget()?,
    };
    with_output(&output, |out| {
        out.show(&frame)?;
        out.linger();
        Ok::<(), CliError>(())
    })
}
