//! Golden pictures of rendered text, one per scene, kept as `#`/`.` rows under
//! golden/render/ so a change to any glyph, spacing or fallback shows up in review.
//! Regenerate with `INSTA_UPDATE=always` and read the result before committing.

use super::*;

fn picture(frame: &Frame) -> String {
    frame.to_string()
}

macro_rules! golden {
    ($name:expr, $frame:expr) => {
        insta::with_settings!({
            snapshot_path => "../../golden/render",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, picture(&$frame));
        })
    };
}

#[test]
fn hello_fixed8() {
    golden!("hello_fixed8", render_text("HELLO", Font::Fixed8));
}

#[test]
fn hello_world_proportional8() {
    golden!("hello_world_proportional8", render_text("Hello world", Font::Proportional8));
}

#[test]
fn ok_42_small() {
    golden!("ok_42_small", render_text("OK 42", Font::Small));
}

#[test]
fn fallbacks_proportional8() {
    let text = "Grüße – “€”";
    assert!(unsupported_chars(text, Font::Proportional8).is_empty());
    golden!("fallbacks_proportional8", render_text(text, Font::Proportional8));
}

#[test]
fn centred_on_32x8() {
    golden!("centred_on_32x8", render_aligned("Hi 5", Font::Proportional8, 32, 8, Align::Center));
}

#[test]
fn mid_scroll_step() {
    let scroll = Scroll::new(render_text("Calls: 3", Font::Proportional8), 32);
    let mut frame = Frame::new(32, 8);
    scroll.step(scroll.steps() / 2, &mut frame);
    golden!("mid_scroll_step", frame);
}
