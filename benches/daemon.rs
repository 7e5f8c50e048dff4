//! The player's cost per scroll step: drawing the cue's frame (scroll window plus effects)
//! and sending it through the driver into a virtual chain, which is what the daemon does
//! 50 times a second while text scrolls. benches/daemon.sh measures the whole process
//! (memory, CPU) against the mock.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use eslmatrix::app::player::{Animation, PlayerOptions, ScrollMode};
use eslmatrix::backend::view::NoView;
use eslmatrix::backend::{virtual_chain, Bus, Output};
use eslmatrix::driver::{Intensity, Wiring};
use eslmatrix::render::{Frame, Speed};
use eslmatrix::scene::{Cue, CueKind, CueStyle};

fn scroll_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("player");
    for modules in [4u32, 16] {
        let wiring = Wiring::new(modules, 1).unwrap();
        let mut out = Output::with_bus(
            Bus::Chain(virtual_chain(&wiring).unwrap()),
            Box::new(NoView),
            wiring,
            Intensity::default(),
        )
        .unwrap();
        let opts = PlayerOptions {
            speed: Speed::new(50.0).unwrap(),
            delay: Duration::ZERO,
            mode: ScrollMode::Continuous { gap: 8 },
            ..PlayerOptions::default()
        };
        let cue = Cue::text(
            "3 calls  42 reg  up 3d 04:05  FreeSWITCH 1.10.12 on pbx1",
            CueStyle::default(),
            CueKind::Page,
        );
        let anim = Animation::new(cue, modules * 8, opts);
        let mut frame = Frame::new(modules * 8, 8);
        let mut t = Duration::ZERO;
        group.bench_function(format!("scroll_step_{modules}_modules"), |b| {
            b.iter(|| {
                t += Duration::from_millis(20);
                anim.draw(t, &mut frame);
                black_box(out.show_at(&frame, t).unwrap());
                black_box(anim.next_change(t));
            });
        });
    }
    group.finish();
}

criterion_group!(benches, scroll_step);
criterion_main!(benches);
