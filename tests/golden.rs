//! Golden frames: every scene goes the whole way — render → driver → VirtualChain →
//! pixels — on a set of wirings, and what the LEDs show must be, pixel for pixel, the
//! picture that was drawn, the reviewed snapshot in golden/frames/ and the 1-bit PNG in
//! golden/png/. The driver's exact traffic for one scene per wiring is pinned in
//! golden/spilog/.
//!
//! Regenerate: `INSTA_UPDATE=always cargo test --test main golden` for snapshots,
//! `ESLMATRIX_BLESS=1 cargo test --test main golden` for PNGs and SPI logs. Review the diff.

use crate::common;

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle, Rectangle};
use eslmatrix::driver::wiring::{ChainOrder, ModuleWiring, Rotation, Wiring};
use eslmatrix::render::{self, Align, Font, Frame, Scroll};

fn wiring(mx: u32, my: u32, module: ModuleWiring, chain: ChainOrder, rotation: Rotation) -> Wiring {
    Wiring { modules_x: mx, modules_y: my, chain, module, rotation }
}

const fn flags(digits_are_rows: bool, columns_reversed: bool, rows_reversed: bool) -> ModuleWiring {
    ModuleWiring { digits_are_rows, columns_reversed, rows_reversed }
}

/// Wirings whose logical picture is 32×8: luma's four orientations, reversed chains, a
/// mirrored board luma cannot express, and a vertical stack of four rotated 90°.
fn wide_wirings() -> Vec<(&'static str, Wiring)> {
    use ChainOrder::*;
    use Rotation::*;
    vec![
        ("generic-4x1", wiring(4, 1, ModuleWiring::GENERIC, RowMajor, R0)),
        ("fc16-4x1", wiring(4, 1, ModuleWiring::FC16, RowMajor, R0)),
        ("icstation-4x1-reversed", wiring(4, 1, ModuleWiring::ICSTATION, Reversed, R0)),
        ("bo180-4x1", wiring(4, 1, flags(false, true, true), RowMajor, R0)),
        ("mirrored-4x1", wiring(4, 1, flags(false, false, true), RowMajor, R0)),
        ("parola-4x1-reversed", wiring(4, 1, ModuleWiring::PAROLA, Reversed, R0)),
        ("fc16-1x4-rot90", wiring(1, 4, ModuleWiring::FC16, RowMajor, R90)),
        ("generic-1x4-rot270", wiring(1, 4, flags(true, true, true), Serpentine, R270)),
    ]
}

/// Wirings whose logical picture is 16×16.
fn square_wirings() -> Vec<(&'static str, Wiring)> {
    use ChainOrder::*;
    use Rotation::*;
    vec![
        ("generic-2x2", wiring(2, 2, ModuleWiring::GENERIC, RowMajor, R0)),
        ("parola-2x2-serpentine", wiring(2, 2, ModuleWiring::PAROLA, Serpentine, R0)),
        ("fc16-2x2-reversed-serpentine-rot180", wiring(2, 2, ModuleWiring::FC16, ReversedSerpentine, R180)),
        ("mirrored-2x2-reversed-rot90", wiring(2, 2, flags(true, false, true), Reversed, R90)),
    ]
}

fn text_frame(w: u32, h: u32, text: &str, font: Font, align: Align) -> Frame {
    let mut f = Frame::new(w, h);
    render::draw_aligned(&mut f, text, font, align);
    f
}

fn wide_scenes() -> Vec<(&'static str, Frame)> {
    let mut scroll_mid = Frame::new(32, 8);
    Scroll::new(render::render_text("3 calls", Font::Proportional8), 32).step(20, &mut scroll_mid);
    let mut inverse = text_frame(32, 8, "NO LINK", Font::Small, Align::Center);
    inverse.invert();
    let mut outline = Frame::new(32, 8);
    Rectangle::new(Point::zero(), Size::new(32, 8))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(&mut outline)
        .unwrap();
    Line::new(Point::new(2, 6), Point::new(29, 1))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(&mut outline)
        .unwrap();
    vec![
        ("hello-fixed", text_frame(32, 8, "HELL", Font::Fixed8, Align::Left)),
        ("hi-proportional", text_frame(32, 8, "Hi 42", Font::Proportional8, Align::Center)),
        ("ok42-small", text_frame(32, 8, "OK 42", Font::Small, Align::Right)),
        ("fallbacks", text_frame(32, 8, "é“€”", Font::Proportional8, Align::Left)),
        ("scroll-mid", scroll_mid),
        ("inverse", inverse),
        ("outline", outline),
    ]
}

fn square_scenes() -> Vec<(&'static str, Frame)> {
    let mut cross = Frame::new(16, 16);
    Rectangle::new(Point::new(1, 1), Size::new(14, 14))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(&mut cross)
        .unwrap();
    Line::new(Point::new(3, 3), Point::new(12, 8))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(&mut cross)
        .unwrap();
    cross.set(0, 0, true);
    let mut two_lines = Frame::new(16, 16);
    render::draw_text(&mut two_lines, "UP", Font::Small, 1, 0);
    render::draw_text(&mut two_lines, "42", Font::Small, 1, 8);
    vec![("box-and-arrow", cross), ("two-lines", two_lines)]
}

fn check_scene(name: &str, frame: &Frame, wirings: &[(&str, Wiring)]) {
    let drawn = frame.to_rows();
    for (wname, w) in wirings {
        let chain = common::through_chain(*w, &[frame]);
        let shown = chain.pixels().to_rows();
        assert_eq!(shown, drawn, "scene {name} on wiring {wname}: the LEDs do not show the drawn picture");
    }
    insta::with_settings!({snapshot_path => "../golden/frames", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, drawn.join("\n"));
    });
    common::check_png_golden(&format!("png/{name}.png"), &drawn);
}

#[test]
fn wide_scenes_on_every_wide_wiring() {
    let wirings = wide_wirings();
    for (name, frame) in wide_scenes() {
        check_scene(name, &frame, &wirings);
    }
}

#[test]
fn square_scenes_on_every_square_wiring() {
    let wirings = square_wirings();
    for (name, frame) in square_scenes() {
        check_scene(name, &frame, &wirings);
    }
}

/// The exact bytes for one scene on each wiring: init, the frame, and a one-row change.
#[test]
fn spi_traffic_is_pinned_per_wiring() {
    let first = text_frame(32, 8, "Hi 42", Font::Proportional8, Align::Center);
    let mut second = first.clone();
    second.set(0, 7, true);
    for (wname, w) in wide_wirings() {
        let log = common::spi_log(w, &[&first, &second, &second]);
        common::check_text_golden(&format!("spilog/hi-{wname}.txt"), &log);
    }
    let square = square_scenes().remove(0).1;
    for (wname, w) in square_wirings() {
        let log = common::spi_log(w, &[&square]);
        common::check_text_golden(&format!("spilog/box-{wname}.txt"), &log);
    }
}
