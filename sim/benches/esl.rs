//! How fast the mock pushes events, and what an idle connection costs.
//!
//! * `esl_events/one_client`, `esl_events/ten_clients`: HEARTBEAT-sized plain events from
//!   `Pbx::fire` to raw TCP readers over loopback, counted as delivered frames.
//! * The idle-connection memory is printed once before the timed benches: RSS growth
//!   (from /proc/self/statm) over 1000 authenticated, idle connections, client sockets
//!   included since both ends live in this process.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::PbxConfig;
use eslmatrix_sim::fs::{Limits, MockConfig, MockFreeSwitch, MockHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use support::heartbeat;

const EVENTS_PER_ROUND: usize = 20_000;

/// A reader that counts complete `Content-Length` framed messages without keeping them.
struct Counter {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Counter {
    async fn login(mock: &MockHandle, subscribe: &str) -> Counter {
        let stream = TcpStream::connect(mock.addr()).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut c = Counter { stream, buf: Vec::with_capacity(1 << 20) };
        c.stream.write_all(format!("auth ClueCon\n\n{subscribe}\n\n").as_bytes()).await.expect("write");
        // Greeting, auth reply, subscribe reply: three header-only messages.
        c.count(3).await;
        c
    }

    /// Reads until `n` more messages have arrived.
    async fn count(&mut self, n: usize) {
        let mut seen = 0;
        while seen < n {
            seen += self.consume(n - seen);
            if seen < n {
                self.buf.reserve(1 << 20);
                let read = self.stream.read_buf(&mut self.buf).await.expect("read");
                assert!(read > 0, "mock closed the connection");
            }
        }
    }

    /// Drops up to `max` complete messages from the buffer; returns how many.
    fn consume(&mut self, max: usize) -> usize {
        let mut at = 0;
        let mut done = 0;
        while done < max {
            let Some(end) = self.buf[at..].windows(2).position(|w| w == b"\n\n") else { break };
            let head = &self.buf[at..at + end];
            let length = head
                .split(|&b| b == b'\n')
                .find_map(|l| l.strip_prefix(b"Content-Length: "))
                .map_or(0, |v| {
                    std::str::from_utf8(v).ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(0)
                });
            let total = end + 2 + length;
            if self.buf.len() - at < total {
                break;
            }
            at += total;
            done += 1;
        }
        self.buf.drain(..at);
        done
    }
}

fn heartbeats(n: usize) -> Vec<Event> {
    vec![heartbeat(); n]
}

async fn start() -> MockHandle {
    // Each round fires 20 000 events (~20 MB) without pausing, faster than any reader:
    // the byte budget is raised so the burst is measured, not the slow-reader rule.
    let config = MockConfig {
        heartbeat: None,
        pbx: PbxConfig { event_queue: 1 << 17, ..PbxConfig::default() },
        limits: Limits { queue_bytes: 64 << 20, ..Limits::default() },
        ..MockConfig::default()
    };
    MockFreeSwitch::start(config).await.expect("mock starts")
}

/// Fires `EVENTS_PER_ROUND` events per iteration and waits until every client has them.
fn throughput(c: &mut Criterion, rt: &Runtime, clients: usize, name: &str) {
    let mock = rt.block_on(start());
    let readers: Vec<_> = rt
        .block_on(async { futures_join(&mock, clients).await })
        .into_iter()
        .map(tokio::sync::Mutex::new)
        .map(Arc::new)
        .collect();
    let mut group = c.benchmark_group("esl_events");
    group.throughput(Throughput::Elements((EVENTS_PER_ROUND * clients) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let events = heartbeats(EVENTS_PER_ROUND);
                total += rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = readers
                        .iter()
                        .cloned()
                        .map(|r| tokio::spawn(async move { r.lock().await.count(EVENTS_PER_ROUND).await }))
                        .collect();
                    for ev in events {
                        mock.pbx().fire(ev);
                    }
                    for t in tasks {
                        t.await.expect("reader");
                    }
                    start.elapsed()
                });
            }
            total
        });
    });
    group.finish();
    rt.block_on(mock.shutdown());
}

async fn futures_join(mock: &MockHandle, clients: usize) -> Vec<Counter> {
    let mut out = Vec::with_capacity(clients);
    for _ in 0..clients {
        out.push(Counter::login(mock, "event plain HEARTBEAT").await);
    }
    out
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn idle_connection_memory(rt: &Runtime) {
    const N: usize = 1000;
    rt.block_on(async {
        let mock = start().await;
        // Warm up allocator arenas and the runtime with a few connections first.
        let warm: Vec<_> = futures_join(&mock, 8).await;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_bytes();
        let mut idle = Vec::with_capacity(N);
        for _ in 0..N {
            idle.push(Counter::login(&mock, "event plain HEARTBEAT").await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = rss_bytes();
        assert_eq!(mock.live_connections(), N);
        println!(
            "idle connection memory: {} bytes each ({} KiB RSS growth over {N} authenticated, subscribed, idle connections, both socket ends in-process)",
            after.saturating_sub(before) / N as u64,
            after.saturating_sub(before) / 1024
        );
        drop(idle);
        mock.shutdown().await;
    });
}

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // `cargo test --all-targets` runs this binary without `--bench`: keep that run short.
    if std::env::args().any(|a| a == "--bench") {
        idle_connection_memory(&rt);
    }
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c, &rt, 1, "one_client");
    throughput(&mut c, &rt, 10, "ten_clients");
    c.final_summary();
}
