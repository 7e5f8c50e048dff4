//! The display pipeline's cost per frame, end to end: one scroll step, the wiring
//! transform and the SPI encoding, into a SpiDevice that discards the bytes. Also the
//! VirtualChain's cost to decode one full refresh.
//!
//! Run: `cargo bench --bench frame`. Anchor (luma.led_matrix 1.9, same kind of machine):
//! 34–44 µs per scrolled frame for 4 modules, 91–115 µs for 16.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use eslmatrix::driver::wiring::{ChainOrder, ModuleWiring, Rotation, Wiring};
use eslmatrix::driver::{Intensity, Max7219};
use eslmatrix::render::{render_text, Font, Frame, Scroll};
use eslmatrix_sim::chain::VirtualChain;

/// A wire that only counts bytes, so the benchmark measures our code, not a device.
struct Sink(u64);

impl ErrorType for Sink {
    type Error = core::convert::Infallible;
}

impl SpiDevice<u8> for Sink {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        for op in ops {
            if let Operation::Write(b) = op {
                self.0 += b.len() as u64;
            }
        }
        Ok(())
    }
}

const ORIENTATIONS: [(&str, ModuleWiring); 4] = [
    ("bo0", ModuleWiring::GENERIC),
    ("bo90", ModuleWiring::FC16),
    ("bo-90", ModuleWiring::ICSTATION),
    ("bo180", ModuleWiring { digits_are_rows: false, columns_reversed: true, rows_reversed: true }),
];

fn scrolled_frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("scrolled_frame");
    for modules in [4u32, 16] {
        for (oname, module) in ORIENTATIONS {
            let wiring = Wiring {
                modules_x: modules,
                modules_y: 1,
                chain: ChainOrder::RowMajor,
                module,
                rotation: Rotation::R0,
            };
            let strip = render_text("12 calls  34 reg  up 3d 04:05", Font::Proportional8);
            let scroll = Scroll::new(strip, 8 * modules);
            let steps = scroll.steps();
            let mut driver = Max7219::new(Sink(0), wiring).unwrap();
            driver.init(Intensity::default()).unwrap();
            let mut frame = Frame::new(8 * modules, 8);
            let mut i = 0;
            g.throughput(Throughput::Elements(1));
            g.bench_function(BenchmarkId::new(oname, modules), |b| {
                b.iter(|| {
                    scroll.step(i, &mut frame);
                    i = (i + 1) % steps;
                    driver.write_frame(black_box(&frame)).unwrap();
                });
            });
        }
    }
    g.finish();
}

fn unchanged_frame(c: &mut Criterion) {
    let wiring = Wiring {
        modules_x: 4,
        modules_y: 1,
        chain: ChainOrder::RowMajor,
        module: ModuleWiring::FC16,
        rotation: Rotation::R0,
    };
    let mut driver = Max7219::new(Sink(0), wiring).unwrap();
    driver.init(Intensity::default()).unwrap();
    let frame = render_text("HELLO", Font::Fixed8);
    let mut f = Frame::new(32, 8);
    f.blit(&frame, 0, 0);
    driver.write_frame(&f).unwrap();
    c.bench_function("unchanged_frame/4", |b| b.iter(|| driver.write_frame(black_box(&f)).unwrap()));
}

fn chain_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("virtual_chain_full_refresh");
    for modules in [4usize, 16] {
        let mut chain = VirtualChain::new(modules);
        let frames: Vec<Vec<u8>> = (1..=8u8)
            .map(|d| (0..modules).flat_map(|m| [d, (m as u8).wrapping_mul(37) ^ d]).collect())
            .collect();
        g.throughput(Throughput::Bytes(16 * modules as u64));
        g.bench_function(BenchmarkId::from_parameter(modules), |b| {
            b.iter(|| {
                for tx in &frames {
                    chain.write(black_box(tx)).unwrap();
                }
            });
        });
    }
    g.finish();
}

criterion_group!(benches, scrolled_frame, unchanged_frame, chain_decode);
criterion_main!(benches);
