//! The player's cost per scroll step: drawing the cue's frame (scroll window plus effects)
//! and sending it through the driver into a virtual chain, which is what the daemon does
//! 50 times a second while text scrolls. benches/daemon.sh measures the whole process
//! (memory, CPU) against the mock.
//!
//! And the call view's (`eslmatrix calls`) share with 1000 live calls and 5000
//! registrations: one seconds-tick redraw of the list (and of the registrations tab) on an
//! 80×24 screen, one channel event and one REGISTER applied. benches/calls-view.sh runs the
//! binary itself against the mock with that load (memory, CPU).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use eslmatrix::app::player::{Animation, PlayerOptions, ScrollMode};
use eslmatrix::backend::view::NoView;
use eslmatrix::backend::{virtual_chain, Bus, Output};
use eslmatrix::driver::{Intensity, Wiring};
use eslmatrix::render::{Frame, Speed};
use eslmatrix::scene::{Cue, CueKind, CueStyle};
use eslmatrix::status::call_flow::RAW_BYTES;
use eslmatrix::status::call_table::CallTable;
use eslmatrix::status::gateway_table::GatewayTable;
use eslmatrix::status::reg_table::RegTable;
use eslmatrix::status::{HeaderMap, Headers, PackedHeaders, PbxStatus};
use eslmatrix::tui::calls::ServerCalls;
use eslmatrix::tui::{Screen, Surface, Tab, Ui};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::time::Instant;

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

/// A real CHANNEL_ANSWER (7.8 KB, every channel variable) with this call's own headers in
/// front (lookups take the first of a name), packed as the link feeds the view.
fn channel_event(template: &HeaderMap, name: &str, leg: &str, call: &str, n: usize) -> PackedHeaders {
    let mut ev = PackedHeaders::new()
        .with("Event-Name", name)
        .with("Unique-ID", leg)
        .with("Channel-Call-UUID", call)
        .with("Caller-Caller-ID-Number", &format!("{}", 10_000 + n))
        .with("Caller-Caller-ID-Name", &format!("Caller {n}"))
        .with("Caller-Destination-Number", &format!("{}", 20_000 + n))
        .with("Channel-Name", &format!("sofia/internal/{}@192.0.2.7", 10_000 + n));
    template.each_header(&mut |k, v| ev.push(k, v));
    ev
}

fn calls_view(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/esl-status/event_channel_answer_plain_cgrates2014.txt"
    ))
    .unwrap();
    let template = HeaderMap::from_plain(text.split_once('\n').unwrap().1);
    let t0 = Instant::now();
    let mut calls = CallTable::new(Duration::from_secs(60));
    for n in 0..1000 {
        let (a, b) = (format!("a-{n}"), format!("b-{n}"));
        for (name, leg) in [
            ("CHANNEL_CREATE", &a),
            ("CHANNEL_CREATE", &b),
            ("CHANNEL_PROGRESS", &b),
            ("CHANNEL_ANSWER", &b),
            ("CHANNEL_ANSWER", &a),
            ("CHANNEL_BRIDGE", &a),
        ] {
            calls.apply_event(&channel_event(&template, name, leg, &a, n), t0);
        }
    }
    let mut regs = RegTable::default();
    let register = |n: usize| {
        PackedHeaders::new()
            .with("Event-Subclass", "sofia::register")
            .with("from-user", &format!("{}", 10_000 + n))
            .with("from-host", "pbx.example.org")
            .with("contact", &format!("\"{n}\" <sip:{}@198.51.100.{}:5060>", 10_000 + n, n % 250))
            .with("network-ip", &format!("198.51.100.{}", n % 250))
            .with("network-port", "5060")
            .with("expires", "3600")
            .with("user-agent", "Yealink SIP-T46S 66.86.0.15")
            .with("call-id", &format!("reg-{n}"))
    };
    for n in 0..5000 {
        regs.apply_event(&register(n), t0);
    }
    assert_eq!((calls.live(), regs.len()), (1000, 5000));
    let status = PbxStatus::new("pbx").view(t0);
    let gateways = GatewayTable::default();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut group = c.benchmark_group("calls_view");
    for (bench, tab) in
        [("tick_redraw_1000_calls", Tab::Calls), ("tick_redraw_5000_registrations", Tab::Registrations)]
    {
        let ui = Ui { tab, ..Ui::default() };
        let mut now = t0;
        group.bench_function(bench, |b| {
            b.iter(|| {
                // What the seconds tick does: expire ended calls, draw the whole screen.
                now += Duration::from_secs(1);
                calls.expire(now);
                let screen = Screen {
                    servers: vec![ServerCalls {
                        status: &status,
                        calls: &calls,
                        registrations: &regs,
                        gateways: &gateways,
                        events_per_sec: 0,
                    }],
                    ui: &ui,
                    now,
                };
                terminal.show(&screen).unwrap();
            });
        });
    }
    let events: Vec<PackedHeaders> = (0..1000)
        .map(|n| {
            let mut ev =
                channel_event(&template, "CHANNEL_CALLSTATE", &format!("b-{n}"), &format!("a-{n}"), n);
            ev.push("Channel-Call-State", "ACTIVE");
            ev
        })
        .collect();
    let mut i = 0;
    group.bench_function("apply_channel_event_1000_calls", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            black_box(calls.apply_event(&events[i], t0));
        });
    });
    let registers: Vec<PackedHeaders> = (0..5000).map(register).collect();
    group.bench_function("apply_register_5000_registrations", |b| {
        b.iter(|| {
            i = (i + 1) % registers.len();
            black_box(regs.apply_event(&registers[i], t0));
        });
    });
    group.finish();
    let (held, bytes) = calls.raw_held();
    println!("calls_view: raw headers held: {held} events, {bytes} bytes (bound {RAW_BYTES})");
}

criterion_group!(benches, scroll_step, calls_view);
criterion_main!(benches);
