//! The ESL link under load, over loopback against the mock FreeSWITCH:
//! * `absorb`: how many events per second the link takes in (the mock serializes them, the
//!   ESL client parses them, the link applies them) until the view shows the result;
//! * `event_to_view`: the time from firing one event to the watch channel showing its
//!   effect; p50/p99 are printed before criterion's own summary.
//!
//! Events are `sofia::register` / `sofia::unregister` built by hand and fired straight into
//! the mock's event bus, so the PBX model's own bookkeeping is not what gets measured.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use eslmatrix::app::link::{supervise, EslHeaders, LinkChannels, LinkOptions, LinkStats, ServerConfig};
use eslmatrix::status::{LinkView, Notice, PbxStatus, StatusView};
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::Pbx;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const BURST: u64 = 10_000;

struct Rig {
    rt: Runtime,
    fs: MockHandle,
    views: watch::Receiver<StatusView>,
    stop: watch::Sender<bool>,
    task: JoinHandle<LinkStats>,
    _notices: mpsc::Receiver<Notice>,
    /// Call-IDs currently registered by the bench (besides none at start).
    registered: Vec<String>,
    next_id: u64,
}

fn register(pbx: &Pbx, call_id: &str, user: u64) -> Event {
    pbx.custom_event("sofia::register")
        .with("profile-name", "internal")
        .with("from-user", format!("b{user}"))
        .with("from-host", "192.0.2.10")
        .with("contact", format!("\"b{user}\" <sip:b{user}@198.51.100.7:5060>"))
        .with("call-id", call_id)
        .with("status", "Registered(UDP)")
        .with("expires", "3600")
        .with("to-user", format!("b{user}"))
        .with("to-host", "192.0.2.10")
        .with("network-ip", "198.51.100.7")
        .with("network-port", "5060")
        .with("username", format!("b{user}"))
        .with("realm", "192.0.2.10")
        .with("user-agent", "bench")
}

fn unregister(pbx: &Pbx, call_id: &str) -> Event {
    pbx.custom_event("sofia::unregister")
        .with("profile-name", "internal")
        .with("call-id", call_id)
        .with("network-ip", "198.51.100.7")
        .with("expires", "0")
}

impl Rig {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (fs, views, stop, task, notices) = rt.block_on(async {
            let fs = MockFreeSwitch::start(MockConfig::default()).await.expect("mock starts");
            let server = ServerConfig {
                name: "bench".into(),
                host: fs.addr().ip().to_string(),
                port: fs.addr().port(),
                password: "ClueCon".into(),
                multiple_registrations: false,
            };
            let (status, mut views) =
                watch::channel(PbxStatus::new("bench").view(tokio::time::Instant::now()));
            let (notices_tx, notices) = mpsc::channel(64);
            let (stop, stop_rx) = watch::channel(false);
            let out = LinkChannels { status, notices: notices_tx };
            let opts = LinkOptions { jitter_seed: Some(1), ..LinkOptions::default() };
            let task = tokio::spawn(supervise(0, server, opts, out, stop_rx));
            views.wait_for(|v| v.link == LinkView::Up && !v.stale).await.expect("link up");
            (fs, views, stop, task, notices)
        });
        Rig { rt, fs, views, stop, task, _notices: notices, registered: Vec::new(), next_id: 0 }
    }

    /// Fires `n` events (registers if none are held, else unregisters them all) and
    /// returns the time until the view shows the outcome.
    fn burst(&mut self, n: u64) -> Duration {
        let pbx = self.fs.pbx().clone();
        let events: Vec<Event> = if self.registered.is_empty() {
            (0..n)
                .map(|_| {
                    self.next_id += 1;
                    let id = format!("bench-{}", self.next_id);
                    let ev = register(&pbx, &id, self.next_id);
                    self.registered.push(id);
                    ev
                })
                .collect()
        } else {
            self.registered.drain(..).map(|id| unregister(&pbx, &id)).collect()
        };
        let target = Some(self.registered.len() as u64);
        let views = &mut self.views;
        self.rt.block_on(async {
            let started = Instant::now();
            for ev in events {
                pbx.fire(ev);
            }
            views.wait_for(|v| v.registrations == target).await.expect("link alive");
            started.elapsed()
        })
    }

    fn stop(self) -> LinkStats {
        let _ = self.stop.send(true);
        self.rt.block_on(self.task).expect("link task")
    }
}

/// The same bursts drained by a bare ESL client: what the mock and the client cost before
/// the link does anything, so the link's own share can be read off.
fn client_only(c: &mut Criterion) {
    use freeswitch_esl_tokio::{EslClient, EslConnectOptions, EventFormat, EventOverflow};
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (fs, client, mut events) = rt.block_on(async {
        let fs = MockFreeSwitch::start(MockConfig::default()).await.expect("mock starts");
        // The link's own client settings, so only the link's work differs.
        let options = EslConnectOptions::new()
            .with_event_queue_size(4096)
            .with_event_overflow(EventOverflow::BlockFor(Duration::from_millis(500)));
        let (client, events) = EslClient::connect_with_options(
            &fs.addr().ip().to_string(),
            fs.addr().port(),
            "ClueCon",
            options,
        )
        .await
        .expect("login");
        client
            .subscribe_events_raw(EventFormat::Plain, "CUSTOM sofia::register sofia::unregister")
            .await
            .expect("subscribe");
        (fs, client, events)
    });
    let pbx = fs.pbx().clone();
    let mut next = 0u64;
    let mut group = c.benchmark_group("esl_client_only");
    group.sample_size(20);
    group.throughput(Throughput::Elements(BURST));
    group.bench_function("drain_10k_events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch: Vec<Event> = (0..BURST)
                    .map(|_| {
                        next += 1;
                        register(&pbx, &format!("c-{next}"), next)
                    })
                    .collect();
                total += rt.block_on(async {
                    let started = Instant::now();
                    for ev in batch {
                        pbx.fire(ev);
                    }
                    for _ in 0..BURST {
                        events.recv().await.expect("stream open").expect("event parses");
                    }
                    started.elapsed()
                });
            }
            total
        });
    });
    group.finish();
    assert_eq!(client.dropped_event_count(), 0, "the bare client fell behind");
}

/// The link's own per-event work without a socket: the status model applying parsed
/// events. The ceiling the link could reach with an infinitely fast server and parser.
fn model_only(c: &mut Criterion) {
    use freeswitch_esl_tokio::EslEvent;
    let source = Pbx::new(Default::default());
    let parsed: Vec<EslEvent> = (0..BURST)
        .map(|i| {
            let mut ev = EslEvent::new();
            for (name, value) in register(&source, &format!("m-{i}"), i).headers {
                ev.set_header(&name, &value);
            }
            ev
        })
        .collect();
    let now = tokio::time::Instant::now();
    let mut group = c.benchmark_group("status_model_only");
    group.throughput(Throughput::Elements(BURST));
    group.bench_function("apply_10k_events", |b| {
        b.iter(|| {
            let mut pbx = PbxStatus::new("bench");
            for ev in &parsed {
                std::hint::black_box(pbx.apply_event(&EslHeaders(ev), now));
            }
            pbx.view(now)
        });
    });
    group.finish();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn link(c: &mut Criterion) {
    let mut rig = Rig::start();

    // Latency distribution first, printed, since criterion summarizes means only.
    let mut samples: Vec<Duration> = (0..4000).map(|_| rig.burst(1)).collect();
    samples.sort();
    println!(
        "link/event_to_view: p50 {:?}  p99 {:?}  max {:?}  ({} samples)",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
        samples.len()
    );

    let mut group = c.benchmark_group("link");
    group.sample_size(20);
    group.throughput(Throughput::Elements(BURST));
    group.bench_function("absorb_10k_events", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rig.burst(BURST)).sum());
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("event_to_view", |b| b.iter_custom(|iters| (0..iters).map(|_| rig.burst(1)).sum()));
    group.finish();

    let stats = rig.stop();
    println!(
        "link stats: {} events applied, {} lost, {} views published, {} sessions",
        stats.events, stats.events_lost, stats.views_published, stats.sessions
    );
    assert_eq!((stats.events_lost, stats.sessions), (0, 1), "the link fell behind or dropped");
}

criterion_group!(benches, link, client_only, model_only);
criterion_main!(benches);
