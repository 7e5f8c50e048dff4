//! Helpers shared by the integration tests: the whole path render → driver →
//! VirtualChain → pixels, and golden-file comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use eslmatrix::backend::sim_layout;
use eslmatrix::backend::SpiLog;
use eslmatrix::driver::wiring::Wiring;
use eslmatrix::driver::{Intensity, Max7219};
use eslmatrix::render::Frame;
use eslmatrix_sim::chain::VirtualChain;

/// Set this variable to 1 to rewrite PNG and SPI-log goldens from the current output.
/// (insta snapshots use insta's own `INSTA_UPDATE=always`.)
pub const BLESS_VAR: &str = "ESLMATRIX_BLESS";

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

pub fn blessing() -> bool {
    std::env::var(BLESS_VAR).is_ok_and(|v| v == "1")
}

/// Drives `frames` through our driver into a VirtualChain wired as `wiring` and returns the
/// chain (to read what it shows).
pub fn through_chain(wiring: Wiring, frames: &[&Frame]) -> VirtualChain {
    let chain = VirtualChain::new(wiring.chips()).with_layout(sim_layout(&wiring)).expect("layout");
    let mut driver = Max7219::new(chain, wiring).expect("wiring");
    driver.init(Intensity::default()).expect("init");
    for f in frames {
        driver.write_frame(f).expect("write_frame");
    }
    driver.release()
}

/// The exact SPI traffic of `init` then each frame, one hex line per transaction.
pub fn spi_log(wiring: Wiring, frames: &[&Frame]) -> String {
    let mut driver = Max7219::new(SpiLog::new(Vec::new()), wiring).expect("wiring");
    driver.init(Intensity::default()).expect("init");
    for f in frames {
        driver.write_frame(f).expect("write_frame");
    }
    String::from_utf8(driver.release().into_inner().expect("flush")).expect("ascii")
}

/// Compares `actual` with the golden text file at `rel` (under golden/), or rewrites it
/// when blessing.
pub fn check_text_golden(rel: &str, actual: &str) {
    let path = golden_dir().join(rel);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with {BLESS_VAR}=1)", path.display()));
    assert_eq!(actual, expected, "{} differs (review, then {BLESS_VAR}=1 to accept)", path.display());
}

/// Compares rows of `#`/`.` with the 1-bit PNG golden at `rel`, or rewrites it when blessing.
pub fn check_png_golden(rel: &str, rows: &[String]) {
    let path = golden_dir().join(rel);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        eslmatrix::backend::png::write_bits_png(&path, rows).unwrap();
        return;
    }
    let expected = eslmatrix::backend::png::read_bits_png(&path)
        .unwrap_or_else(|e| panic!("{e} (create it with {BLESS_VAR}=1)"));
    assert_eq!(rows, expected.as_slice(), "{} differs (review, then {BLESS_VAR}=1)", path.display());
}
