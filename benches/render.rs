//! Renderer costs that bound the frame rate: one scroll step (the per-frame work while
//! text moves) and rendering a status line (the work when the text changes).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use eslmatrix::render::{render_text, Font, Frame, Scroll};

const STATUS_LINE: &str = "UP 3d 04:12 Calls 12/250  Regs 48  GW ok";

fn scroll_step(c: &mut Criterion) {
    let strip = render_text(STATUS_LINE, Font::Proportional8);
    for width in [32u32, 128] {
        let scroll = Scroll::new(strip.clone(), width);
        let mut frame = Frame::new(width, 8);
        // An odd step, so the window is not byte-aligned: the slower shifting path.
        let step = (scroll.steps() / 2) | 1;
        c.bench_function(&format!("scroll_step_{width}x8"), |b| {
            b.iter(|| scroll.step(black_box(step), black_box(&mut frame)));
        });
    }
}

fn render_status_line(c: &mut Criterion) {
    assert_eq!(STATUS_LINE.chars().count(), 40);
    for font in [Font::Fixed8, Font::Proportional8, Font::Small] {
        c.bench_function(&format!("render_text_40_chars_{font}"), |b| {
            b.iter(|| render_text(black_box(STATUS_LINE), font));
        });
    }
}

criterion_group!(benches, scroll_step, render_status_line);
criterion_main!(benches);
