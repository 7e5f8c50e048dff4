//! A rebuild against a big PBX: 100 000 registrations and 10 000 channels.
//!
//! Measured twice: against the mock FreeSWITCH holding that PBX in its model (the whole
//! rebuild as a user sees it), and against a small Event Socket server here that answers at
//! once with generated `api` bodies of that size (the captured fixtures, their figures
//! scaled), which isolates the daemon's own share. The stand-in answers every listing in
//! full too, and counts what was asked: a rebuild that asked for `show registrations as
//! json` (about 32 MB here) or `show channels as json`
//! (about 9 MB) would break the ESL client's 8 MiB message limit and lose the session.
//!
//! * `big_pbx/rebuild`: connect, log in, subscribe, rebuild, until the view is fresh;
//! * `big_pbx/rebuild_from_mock`: the same against the mock FreeSWITCH holding that PBX;
//! * printed once: the resident memory of `eslmatrix run` (the release binary) following
//!   this server, after its rebuild.
//!
//! Run: `cargo bench --bench big_pbx`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use eslmatrix::app::link::{supervise, LinkChannels, LinkOptions, ServerConfig};
use eslmatrix::status::{LinkView, PbxStatus};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};

const REGISTRATIONS: u64 = 100_000;
const CHANNELS: u64 = 10_000;

fn fixture(rel: &str) -> String {
    let path = format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.to_owned(),
        _ => text,
    }
}

/// What the big PBX answers, and what it was asked.
struct BigPbx {
    status: String,
    profile: String,
    sofia: String,
    asked: Mutex<Vec<String>>,
    listed_bytes: AtomicU64,
}

impl BigPbx {
    fn new() -> Self {
        let status = fixture("esl-status/api_status_RECONSTRUCTED_1.10.txt")
            .replace("2 session(s) - peak 4", &format!("{CHANNELS} session(s) - peak {CHANNELS}"));
        let profile = fixture("esl-status/sofia_status_profile_internal_RECONSTRUCTED_1.10.12.txt")
            .replace("REGISTRATIONS    \t3", &format!("REGISTRATIONS    \t{REGISTRATIONS}"));
        Self {
            status,
            profile,
            sofia: fixture("esl-status/sofia_status_RECONSTRUCTED.txt"),
            asked: Mutex::new(Vec::new()),
            listed_bytes: AtomicU64::new(0),
        }
    }

    fn answer(&self, command: &str) -> String {
        self.asked.lock().unwrap().push(command.to_owned());
        match command {
            "show channels count" => format!("\n{CHANNELS} total.\n"),
            "show calls count" => format!("\n{} total.\n", CHANNELS / 2),
            "show registrations count" => format!("\n{REGISTRATIONS} total.\n"),
            "status" => self.status.clone(),
            "sofia status profile internal" => self.profile.clone(),
            "sofia status" => self.sofia.clone(),
            "version" => "FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069~64bit \
                          (git a88d069 2024-08-02 21:02:27Z 64bit)\n"
                .to_owned(),
            "show registrations as json" => {
                let rows: Vec<String> = (0..REGISTRATIONS)
                    .map(|i| {
                        format!(
                            "{{\"reg_user\":\"{i}\",\"realm\":\"192.0.2.10\",\"token\":\"c{i}@198.51.100.7\",\
                             \"url\":\"sofia/internal/sip:{i}@198.51.100.7:5060\",\"expires\":\"1764003600\",\
                             \"network_ip\":\"198.51.100.7\",\"network_port\":\"5060\",\"network_proto\":\"udp\",\
                             \"hostname\":\"pbx.example.org\",\"metadata\":\"\"}}"
                        )
                    })
                    .collect();
                let body = format!("{{\"row_count\":{REGISTRATIONS},\"rows\":[{}]}}\n", rows.join(","));
                self.listed_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                body
            }
            _ => "-ERR no reply\n".to_owned(),
        }
    }
}

/// A minimal Event Socket server: `auth`, `event`, `api`, `exit`; nothing else.
async fn serve(listener: TcpListener, pbx: Arc<BigPbx>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let pbx = pbx.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            if write.write_all(b"Content-Type: auth/request\n\n").await.is_err() {
                return;
            }
            let mut command = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.is_empty() {
                    command = line;
                    continue;
                }
                let reply = if let Some(api) = command.strip_prefix("api ") {
                    let body = pbx.answer(api.trim());
                    format!("Content-Type: api/response\nContent-Length: {}\n\n{body}", body.len())
                } else if command.starts_with("exit") {
                    let _ = write.write_all(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n").await;
                    return;
                } else if command.starts_with("auth") {
                    "Content-Type: command/reply\nReply-Text: +OK accepted\n\n".to_owned()
                } else {
                    "Content-Type: command/reply\nReply-Text: +OK\n\n".to_owned()
                };
                if write.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn start(rt: &Runtime) -> (std::net::SocketAddr, Arc<BigPbx>) {
    let pbx = Arc::new(BigPbx::new());
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(serve(listener, pbx.clone()));
    (addr, pbx)
}

fn server(addr: std::net::SocketAddr) -> ServerConfig {
    ServerConfig {
        name: "big".into(),
        host: addr.ip().to_string(),
        port: addr.port(),
        password: "ClueCon".into(),
        multiple_registrations: false,
    }
}

/// One link from connect to a fresh view.
async fn rebuild_once(addr: std::net::SocketAddr) -> Duration {
    let (status, mut views) = watch::channel(PbxStatus::new("big").view(tokio::time::Instant::now()));
    let (notices, _keep) = mpsc::channel(16);
    let (stop, stop_rx) = watch::channel(false);
    let opts = LinkOptions { jitter_seed: Some(1), ..LinkOptions::default() };
    let began = Instant::now();
    let task = tokio::spawn(supervise(0, server(addr), opts, LinkChannels { status, notices }, stop_rx));
    views
        .wait_for(|v| v.link == LinkView::Up && !v.stale && v.registrations == Some(REGISTRATIONS))
        .await
        .expect("a fresh view");
    let took = began.elapsed();
    let _ = stop.send(true);
    let _ = task.await;
    took
}

fn rebuild(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (addr, pbx) = start(&rt);
    let mut group = c.benchmark_group("big_pbx");
    group.bench_function("rebuild", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(rebuild_once(addr))).sum());
    });
    group.finish();
    let asked = pbx.asked.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|a| a.contains(" as json")),
        "a listing was asked for: {:?}",
        asked.iter().filter(|a| a.contains(" as json")).collect::<Vec<_>>()
    );
    println!(
        "big_pbx: {REGISTRATIONS} registrations, {CHANNELS} channels; one rebuild asks {:?}",
        &asked[..asked.len().min(7)]
    );
    daemon_memory(&rt, addr, &pbx);
}

/// `eslmatrix run` against the big PBX: VmRSS and VmHWM once it has rebuilt.
fn daemon_memory(rt: &Runtime, addr: std::net::SocketAddr, pbx: &BigPbx) {
    let dir = std::env::temp_dir().join(format!("eslmatrix-big-pbx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("big.toml");
    let text = format!(
        "[[server]]\nhost = \"{}\"\nport = {}\n[display]\ncascaded = 4\n[[page]]\ntemplate = \"{{calls}} calls {{registrations}} reg\"\n",
        addr.ip(),
        addr.port()
    );
    std::fs::write(&config, text).expect("config");
    let rebuilds = || pbx.asked.lock().unwrap().iter().filter(|a| *a == "version").count();
    let before = rebuilds();
    let bin = env!("CARGO_BIN_EXE_eslmatrix");
    let mut child = std::process::Command::new(bin)
        .args(["run", "--config"])
        .arg(&config)
        .args(["--backend", "virtual"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("eslmatrix run starts");
    // Let it connect, rebuild and settle, with the server answering on this runtime.
    rt.block_on(async { tokio::time::sleep(Duration::from_secs(3)).await });
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
    };
    println!(
        "big_pbx: eslmatrix run after its rebuild: VmRSS {} kB, VmHWM {} kB (target <= 16384 kB)",
        field("VmRSS:").unwrap_or_else(|| "?".into()),
        field("VmHWM:").unwrap_or_else(|| "?".into())
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(rebuilds() > before, "eslmatrix run never rebuilt against the big PBX");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same rebuild against the mock FreeSWITCH itself, holding 100 000 registrations and
/// 10 000 channels (5 000 answered calls) in its PBX model.
fn rebuild_from_mock(c: &mut Criterion) {
    use eslmatrix_sim::fs::pbx::Transport;
    use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mock = rt.block_on(MockFreeSwitch::start(MockConfig::default())).expect("mock starts");
    let pbx = mock.pbx();
    for i in 0..REGISTRATIONS {
        pbx.register(&format!("{}", 100_000 + i), Transport::Udp, "bench").expect("register");
    }
    for i in 0..CHANNELS / 2 {
        let call = pbx
            .start_call(&format!("{}", 100_000 + 2 * i), &format!("{}", 100_001 + 2 * i), None)
            .expect("call");
        pbx.answer(&call).expect("answer");
    }
    let mut group = c.benchmark_group("big_pbx");
    group.bench_function("rebuild_from_mock", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(rebuild_once(mock.addr()))).sum());
    });
    group.finish();
}

criterion_group!(benches, rebuild, rebuild_from_mock);
criterion_main!(benches);
