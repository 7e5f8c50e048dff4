//! The driver's per-frame cost: the wiring transform alone, and whole `write_frame` calls
//! into an SPI device that does nothing, so what is measured is our code and not a bus.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use eslmatrix::driver::{Intensity, Max7219, RegisterPlan, Wiring};
use eslmatrix::render::Frame;

struct NoopSpi;

impl ErrorType for NoopSpi {
    type Error = core::convert::Infallible;
}

impl SpiDevice<u8> for NoopSpi {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        black_box(operations);
        Ok(())
    }
}

/// A deterministic busy picture, so no wiring gets an all-zero shortcut.
fn noise(width: u32, height: u32, seed: u64) -> Frame {
    let mut frame = Frame::new(width, height);
    let mut state = seed | 1;
    for b in frame.bytes_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state as u8;
    }
    frame
}

fn transform(c: &mut Criterion) {
    let mut group = c.benchmark_group("transform");
    for modules in [4u32, 16] {
        for orientation in [0, 90, -90, 180] {
            for rotate in [0u8, 1] {
                let wiring = Wiring::luma(8 * modules, 8, orientation, false, rotate).unwrap();
                let plan = RegisterPlan::new(&wiring).unwrap();
                let (w, h) = wiring.logical_size();
                let frame = noise(w, h, 0x1234_5678);
                let mut out = Vec::new();
                let id =
                    BenchmarkId::new(format!("{modules}_modules"), format!("bo{orientation}_rot{rotate}"));
                group.bench_function(id, |b| {
                    b.iter(|| {
                        plan.registers_into(black_box(&frame), &mut out).unwrap();
                        black_box(&out);
                    });
                });
            }
        }
    }
    group.finish();
}

fn write_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("write_frame");
    for modules in [4u32, 16] {
        let wiring = Wiring::luma(8 * modules, 8, -90, false, 0).unwrap();
        let (w, h) = wiring.logical_size();
        // A scroll: each frame is the previous one moved a pixel left, precomputed so the
        // measurement holds only the driver.
        let strip = noise(w * 4, h, 0xBEEF);
        let frames: Vec<Frame> = (0..64)
            .map(|x| {
                let mut f = Frame::new(w, h);
                f.copy_window(&strip, x, 0);
                f
            })
            .collect();
        let mut driver = Max7219::new(NoopSpi, wiring).unwrap();
        driver.init(Intensity::default()).unwrap();
        let mut i = 0;
        group.bench_function(BenchmarkId::new("scrolling", format!("{modules}_modules")), |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                black_box(driver.write_frame(black_box(&frames[i])).unwrap())
            });
        });
        let still = &frames[0];
        driver.write_frame(still).unwrap();
        group.bench_function(BenchmarkId::new("unchanged", format!("{modules}_modules")), |b| {
            b.iter(|| black_box(driver.write_frame(black_box(still)).unwrap()));
        });
    }
    group.finish();
}

criterion_group!(benches, transform, write_frame);
criterion_main!(benches);
