//! The chain plus `Layout::from_luma` must turn luma.led_matrix 1.9's recorded SPI traffic
//! back into the images luma was given: a check against an implementation we did not write.

use std::collections::BTreeMap;

use eslmatrix_sim::chain::{parse_capture, Layout, VirtualChain};
use serde::Deserialize;

const FIXTURE: &str = include_str!("../../fixtures/luma/luma_reference_frames.json");

#[derive(Deserialize)]
struct Case {
    width: u32,
    height: u32,
    block_orientation: i32,
    transactions: Vec<String>,
    pixels: Vec<String>,
}

/// luma's own init frames (research §2.2), minus the clear: one word repeated per chip.
fn luma_init(chain: &mut VirtualChain) {
    let n = chain.len();
    for word in [[0x0B, 0x07], [0x09, 0x00], [0x0F, 0x00], [0x0A, 0x07], [0x0C, 0x01]] {
        chain.apply(&word.repeat(n));
    }
}

#[test]
fn all_twelve_luma_cases_round_trip_to_their_source_images() {
    let cases: BTreeMap<String, Case> = serde_json::from_str(FIXTURE).expect("fixture is valid JSON");
    assert_eq!(cases.len(), 12);
    for (name, case) in cases {
        let layout = Layout::from_luma(case.width, case.height, case.block_orientation, false, 0)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut chain = VirtualChain::new(layout.module_count()).with_layout(layout).unwrap();
        luma_init(&mut chain);
        // Garbage first, so the test proves the 8 frames overwrite every digit.
        for digit in 1..=8u8 {
            chain.apply(&[digit, 0xFF].repeat(chain.len()));
        }
        let frames = parse_capture(&case.transactions.join("\n")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frames.len(), 8, "{name}");
        for frame in &frames {
            chain.apply(frame);
        }
        assert_eq!(chain.stats().bad_length, 0, "{name}");
        assert_eq!(chain.pixels().to_rows(), case.pixels, "{name}\n{}", chain.pixels());
    }
}

#[test]
fn a_wrong_block_orientation_does_not_reproduce_the_image() {
    // Guards the test above against a layout that ignores orientation.
    let cases: BTreeMap<String, Case> = serde_json::from_str(FIXTURE).unwrap();
    let case = &cases["hello_cp437prop_32x8_bo90"];
    let layout = Layout::from_luma(case.width, case.height, 0, false, 0).unwrap();
    let mut chain = VirtualChain::new(layout.module_count()).with_layout(layout).unwrap();
    luma_init(&mut chain);
    for frame in parse_capture(&case.transactions.join("\n")).unwrap() {
        chain.apply(&frame);
    }
    assert_ne!(chain.pixels().to_rows(), case.pixels);
}
