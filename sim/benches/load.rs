//! The mock under carrier-size load (issue: hostile clients and a large PBX).
//!
//! * `load/fanout_500`: 500 subscribers of `event plain ALL` and one client that never
//!   reads; HEARTBEAT-sized events fired in rounds of 200, timed until every fast reader
//!   has all of them (throughput counts deliveries). The stuck client is killed by the
//!   lost-events rule along the way; the RSS of the process is printed before and after.
//! * `load/fanout_500_out_of_process`: the same fan-out with the mock in a process of its
//!   own (this bench binary run again with `ESLMATRIX_LOAD_MOCK=1`), so the readers' work
//!   is not counted against it; the HEARTBEAT-sized events are `sendevent`s pipelined by a
//!   control client, rounds of 200 as above.
//! * `load/greeting_under_filter_flood`: connect-to-greeting time of a new client while
//!   another pipelines costly `filter ... /regex/` commands without pause.
//! * `load/registrations_count`, `load/registrations_list`: `show registrations` over
//!   100 000 bindings; the memory they take is printed once (RSS growth per binding).
//! * `load/channels_count`, `load/channels_list`, `load/calls_list`: `show channels count`,
//!   `show channels` and `show calls` over 10 000 channels (5 000 answered calls);
//!   `load/call_at_10k_channels`: one more call placed, answered and hung up among them,
//!   against `load/call_at_0_channels`, the same call on an idle PBX: what 10 000 other
//!   legs add to each event's work.
//! * `load/sip_register_200`: 200 REGISTERs over loopback UDP, each through the digest
//!   challenge (401, then the answer, 200), pipelined from one socket, while one ESL
//!   client reads `event plain ALL` (the `sofia::register` events); throughput counts
//!   REGISTERs that ended in 200.
//! * `load/sip_call_setup_50`: 50 calls through the B2BUA (auth-calls off), pipelined:
//!   INVITE → 100 → the callee's 200 (an in-process UDP phone answering at once) → ACK
//!   → BYE → 200, with the ESL reader taking the legs' events; throughput counts calls
//!   set up and torn down.

mod support;

use std::io::{BufRead, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{Party, Pbx, PbxConfig, Transport};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use support::heartbeat;
use tokio::sync::mpsc;

const SUBSCRIBERS: usize = 500;
const ROUND: usize = 200;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

async fn login(mock: &MockHandle, subscribe: &str) -> TcpStream {
    login_at(mock.addr(), subscribe).await
}

async fn login_at(addr: SocketAddr, subscribe: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("auth ClueCon\n\n{subscribe}\n\n").as_bytes()).await.expect("write");
    let mut seen = 0;
    let mut buf = vec![0u8; 4096];
    let mut text = Vec::new();
    while seen < 3 {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed during login");
        text.extend_from_slice(&buf[..n]);
        seen = text.windows(2).filter(|w| w == b"\n\n").count();
    }
    s
}

/// A reader task that counts frames (one `Content-Length` per event frame) and reports
/// each time it has seen `every` more.
fn spawn_counter(mut s: TcpStream, every: usize, done: mpsc::UnboundedSender<()>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        let mut carry = Vec::new();
        let mut seen = 0usize;
        loop {
            let n = match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            carry.extend_from_slice(&buf[..n]);
            // Whole frames only: header block, then Content-Length bytes.
            let mut at = 0;
            while let Some(end) = carry[at..].windows(2).position(|w| w == b"\n\n") {
                let head = &carry[at..at + end];
                let len = head
                    .split(|&b| b == b'\n')
                    .find_map(|l| l.strip_prefix(b"Content-Length: "))
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
                    .unwrap_or(0);
                if carry.len() - at < end + 2 + len {
                    break;
                }
                at += end + 2 + len;
                seen += 1;
                if seen % every == 0 && done.send(()).is_err() {
                    return;
                }
            }
            carry.drain(..at);
        }
    });
}

fn fanout(c: &mut Criterion, rt: &Runtime) {
    let before = rss_bytes();
    let config = MockConfig { heartbeat: None, ..MockConfig::default() };
    let mock = rt.block_on(MockFreeSwitch::start(config)).expect("mock");
    let (tx, mut rx) = mpsc::unbounded_channel();
    rt.block_on(async {
        for _ in 0..SUBSCRIBERS {
            spawn_counter(login(&mock, "event plain ALL").await, ROUND, tx.clone());
        }
    });
    let stuck = rt.block_on(login(&mock, "event plain ALL"));
    let event = heartbeat();
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements((ROUND * SUBSCRIBERS) as u64));
    group.sample_size(10);
    group.bench_function("fanout_500", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let events: Vec<Event> = vec![event.clone(); ROUND];
                total += rt.block_on(async {
                    let start = Instant::now();
                    for ev in events {
                        mock.pbx().fire(ev);
                    }
                    for _ in 0..SUBSCRIBERS {
                        rx.recv().await.expect("a reader ended");
                    }
                    start.elapsed()
                });
            }
            total
        });
    });
    group.finish();
    let during = rss_bytes();
    println!(
        "fanout: RSS {} MiB before the mock, {} MiB after the runs; the client that never reads was {}",
        before >> 20,
        during >> 20,
        if mock.lost_event_kills() > 0 { "killed by the lost-events rule" } else { "not killed yet" }
    );
    drop(stuck);
    rt.block_on(mock.shutdown());
    std::thread::sleep(Duration::from_millis(500));
    println!("fanout: RSS {} MiB once every client has left", rss_bytes() >> 20);
}

/// Set in the child process that only runs the mock.
const MOCK_CHILD: &str = "ESLMATRIX_LOAD_MOCK";

/// The child: a mock on an ephemeral port, its address on stdout, until stdin closes.
fn mock_child() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let config = MockConfig { heartbeat: None, ..MockConfig::default() };
    let mock = rt.block_on(MockFreeSwitch::start(config)).expect("mock");
    println!("{}", mock.addr());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    rt.block_on(mock.shutdown());
}

/// utime + stime of a process, in clock ticks (`USER_HZ`, 100 on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// `sendevent` commands that make the mock fire HEARTBEAT-sized events: the fixture's
/// headers without the ones `sendevent` adds itself.
fn sendevents(n: usize) -> String {
    const ADDED: [&str; 13] = [
        "Event-Name",
        "Core-UUID",
        "FreeSWITCH-Hostname",
        "FreeSWITCH-Switchname",
        "FreeSWITCH-IPv4",
        "FreeSWITCH-IPv6",
        "Event-Date-Local",
        "Event-Date-GMT",
        "Event-Date-Timestamp",
        "Event-Calling-File",
        "Event-Calling-Function",
        "Event-Calling-Line-Number",
        "Event-Sequence",
    ];
    let mut one = String::from("sendevent HEARTBEAT\n");
    for (name, value) in &heartbeat().headers {
        if !ADDED.contains(&name.as_str()) {
            one.push_str(&format!("{name}: {value}\n"));
        }
    }
    one.push('\n');
    one.repeat(n)
}

fn fanout_out_of_process(c: &mut Criterion, rt: &Runtime) {
    let mut child = Command::new(std::env::current_exe().expect("bench binary"))
        .env(MOCK_CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("mock process");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address");
    let addr: SocketAddr = line.trim().parse().expect("mock address");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (control, stuck) = rt.block_on(async {
        for _ in 0..SUBSCRIBERS {
            spawn_counter(login_at(addr, "event plain ALL").await, ROUND, tx.clone());
        }
        let stuck = login_at(addr, "event plain ALL").await;
        let control = login_at(addr, "noevents").await;
        (control, stuck)
    });
    let (mut control_rx, mut control_tx) = control.into_split();
    rt.spawn(async move {
        let mut sink = vec![0u8; 1 << 16];
        while matches!(control_rx.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    let round = sendevents(ROUND);
    let cpu_before = cpu_ticks(child.id());
    let mut delivered = 0u64;
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements((ROUND * SUBSCRIBERS) as u64));
    group.sample_size(10);
    group.bench_function("fanout_500_out_of_process", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let start = Instant::now();
                    control_tx.write_all(round.as_bytes()).await.expect("sendevents");
                    for _ in 0..SUBSCRIBERS {
                        rx.recv().await.expect("a reader ended");
                    }
                    start.elapsed()
                });
                delivered += (ROUND * SUBSCRIBERS) as u64;
            }
            total
        });
    });
    group.finish();
    // CPU the mock process spent (user + system), which other load on the machine does not
    // inflate the way it inflates wall time.
    let ticks = cpu_ticks(child.id()).saturating_sub(cpu_before).max(1);
    println!(
        "fanout out of process: {delivered} deliveries in {:.2} s of the mock's CPU: {:.0} deliveries per CPU-second",
        ticks as f64 / 100.0,
        delivered as f64 * 100.0 / ticks as f64
    );
    drop(stuck);
    drop(child.stdin.take());
    let _ = child.wait();
}

fn greeting_under_flood(c: &mut Criterion, rt: &Runtime) {
    let config = MockConfig { heartbeat: None, ..MockConfig::default() };
    let mock = rt.block_on(MockFreeSwitch::start(config)).expect("mock");
    let addr = mock.addr();
    let flood = rt.spawn(async move {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"auth ClueCon\n\n").await.expect("auth");
        let (mut r, mut w) = s.into_split();
        tokio::spawn(async move {
            let mut sink = vec![0u8; 1 << 16];
            while matches!(r.read(&mut sink).await, Ok(n) if n > 0) {}
        });
        // Costly patterns; each connection may hold 128 filters, then answers -ERR: delete
        // and go again.
        loop {
            let mut batch = String::new();
            for i in 0..100 {
                batch.push_str(&format!("filter Event-Name /\\w{{{}}}/\n\n", 200 + i));
            }
            batch.push_str("filter delete all\n\n");
            if w.write_all(batch.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut group = c.benchmark_group("load");
    group.sample_size(50);
    group.bench_function("greeting_under_filter_flood", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let start = Instant::now();
                    let mut s = TcpStream::connect(addr).await.expect("connect");
                    let mut buf = [0u8; 64];
                    let n = s.read(&mut buf).await.expect("greeting");
                    assert!(buf[..n].starts_with(b"Content-Type: auth/request"));
                    start.elapsed()
                });
            }
            total
        });
    });
    group.finish();
    // The target is a p99, which criterion does not give: time single greetings.
    let mut times: Vec<Duration> = rt.block_on(async {
        let mut times = Vec::with_capacity(GREETING_SAMPLES);
        for _ in 0..GREETING_SAMPLES {
            let start = Instant::now();
            let mut s = TcpStream::connect(addr).await.expect("connect");
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await.expect("greeting");
            assert!(buf[..n].starts_with(b"Content-Type: auth/request"));
            times.push(start.elapsed());
        }
        times
    });
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "greeting under a filter flood: p50 {:?}, p99 {:?}, max {:?} over {GREETING_SAMPLES} connections",
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
    flood.abort();
    rt.block_on(mock.shutdown());
}

/// Greetings timed one by one for the p99.
const GREETING_SAMPLES: usize = 2000;

fn registrations(c: &mut Criterion) {
    const N: usize = 100_000;
    let before = rss_bytes();
    let pbx = Pbx::new(PbxConfig::default());
    let agents = ["Yealink SIP-T46S 66.86.0.15", "SIP.js/0.21.2 (Chrome)"];
    for u in 0..N {
        let transport = if u % 4 == 0 { Transport::Wss } else { Transport::Udp };
        pbx.register(&format!("{}", 100_000 + u), transport, agents[u % 2]).expect("register");
    }
    let grown = rss_bytes().saturating_sub(before);
    println!("registrations: {} bytes of RSS per binding ({N} bindings)", grown / N as u64);
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    group.bench_function("registrations_count", |b| b.iter(|| pbx.api("show", "registrations count")));
    group.bench_function("registrations_list", |b| b.iter(|| pbx.api("show", "registrations")));
    group.finish();
}

fn channels(c: &mut Criterion) {
    const CALLS: usize = 5_000;
    let pbx = Pbx::new(PbxConfig::default());
    for u in 0..2 * CALLS + 2 {
        pbx.register(&format!("{}", 100_000 + u), Transport::Udp, "bench").expect("register");
    }
    let (a, b) = (format!("{}", 100_000 + 2 * CALLS), format!("{}", 100_001 + 2 * CALLS));
    let call_cycle = |pbx: &Pbx| {
        let call = pbx.start_call(&a, &b, None).expect("call");
        pbx.answer(&call).expect("answer");
        pbx.hangup(&call, Party::Caller).expect("hangup");
    };
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    // The same call on an idle PBX: what the call costs without 10 000 other legs.
    group.bench_function("call_at_0_channels", |bch| bch.iter(|| call_cycle(&pbx)));
    for i in 0..CALLS {
        let call = pbx
            .start_call(&format!("{}", 100_000 + 2 * i), &format!("{}", 100_001 + 2 * i), None)
            .expect("call");
        pbx.answer(&call).expect("answer");
    }
    group.bench_function("channels_count", |bch| bch.iter(|| pbx.api("show", "channels count")));
    group.bench_function("channels_list", |bch| bch.iter(|| pbx.api("show", "channels")));
    group.bench_function("calls_list", |bch| bch.iter(|| pbx.api("show", "calls")));
    group.bench_function("call_at_10k_channels", |bch| bch.iter(|| call_cycle(&pbx)));
    group.finish();
}

/// The SIP benches' mock: UDP SIP on a free port, one ESL reader counting every event.
fn sip_mock(rt: &Runtime, auth_calls: bool) -> (MockHandle, mpsc::UnboundedReceiver<()>) {
    use eslmatrix_sim::fs::sip::SipConfig;
    let mut sip = SipConfig { auth_calls, ..SipConfig::default() };
    sip.listen.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    sip.listen.tcp = false;
    let config = MockConfig { heartbeat: None, sip: Some(sip), ..MockConfig::default() };
    let mock = rt.block_on(MockFreeSwitch::start(config)).expect("mock");
    let (tx, rx) = mpsc::unbounded_channel();
    rt.block_on(async { spawn_counter(login(&mock, "event plain ALL").await, 1, tx) });
    (mock, rx)
}

fn sip_register(u: usize, n: u64, port: u16, auth: Option<&str>) -> String {
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{n}x{u}\r\n\
         From: <sip:{u}@127.0.0.1>;tag=t{u}\r\nTo: <sip:{u}@127.0.0.1>\r\nCall-ID: b{u}\r\n\
         CSeq: {n} REGISTER\r\nContact: <sip:{u}@127.0.0.1:{port}>\r\nExpires: 3600\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

/// The answer to a challenge (RFC 2617, qop=auth) for user `u` with the vanilla password.
fn digest_answer(www: &str, u: usize) -> String {
    use eslmatrix_sim::fs::sip::digest::{Algorithm, Credentials};
    let param = |name: &str| {
        let at = www.find(&format!("{name}=\"")).expect("param") + name.len() + 2;
        www[at..].split('"').next().expect("quoted").to_string()
    };
    let mut c = Credentials {
        username: u.to_string(),
        realm: param("realm"),
        nonce: param("nonce"),
        uri: "sip:127.0.0.1".into(),
        qop: Some("auth".into()),
        nc: Some("00000001".into()),
        cnonce: Some("c".into()),
        ..Credentials::default()
    };
    c.response = c.expected(Algorithm::Md5, "REGISTER", "1234");
    format!(
        "Digest username=\"{u}\", realm=\"{}\", nonce=\"{}\", uri=\"sip:127.0.0.1\", response=\"{}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c\"",
        c.realm, c.nonce, c.response
    )
}

async fn recv_sip(sock: &tokio::net::UdpSocket, buf: &mut [u8]) -> eslmatrix_sim::fs::sip::message::Message {
    let (n, _) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(buf))
        .await
        .expect("answer")
        .expect("recv");
    eslmatrix_sim::fs::sip::message::Message::parse(&buf[..n]).expect("SIP")
}

/// Requests in flight at once from one benchmark socket.
const WINDOW: usize = 25;

fn sip_registers(c: &mut Criterion, rt: &Runtime) {
    const N: usize = 200;
    let (mock, mut events) = sip_mock(rt, true);
    let server = mock.sip_udp_addr().expect("udp");
    // A directory of enough users for every REGISTER of a batch to be its own binding.
    let users: Vec<eslmatrix_sim::fs::pbx::directory::User> = (0..N)
        .map(|u| eslmatrix_sim::fs::pbx::directory::User {
            id: (100_000 + u).to_string(),
            password: Some("1234".into()),
            ..Default::default()
        })
        .collect();
    mock.pbx().add_users(&users);
    let sock = rt.block_on(tokio::net::UdpSocket::bind("127.0.0.1:0")).expect("bind");
    let port = sock.local_addr().expect("addr").port();
    let mut round = 0u64;
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("sip_register_200", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut buf = vec![0u8; 65_535];
                let start = Instant::now();
                for _ in 0..iters {
                    round += 2;
                    // Windows of WINDOW requests: a socket's receive buffer holds about a
                    // hundred small datagrams (each costs its skb), more would be dropped.
                    for chunk in (0..N).collect::<Vec<_>>().chunks(WINDOW) {
                        for u in chunk {
                            let text = sip_register(100_000 + u, round, port, None);
                            sock.send_to(text.as_bytes(), server).await.expect("send");
                        }
                        let mut challenges = Vec::with_capacity(chunk.len());
                        for _ in chunk {
                            let m = recv_sip(&sock, &mut buf).await;
                            assert_eq!(m.status(), Some(401));
                            let user: usize =
                                m.header("Call-ID").expect("call-id")[1..].parse().expect("user");
                            challenges.push((user, m.header("WWW-Authenticate").expect("www").to_string()));
                        }
                        for (user, www) in &challenges {
                            let auth = digest_answer(www, *user);
                            let text = sip_register(*user, round + 1, port, Some(&auth));
                            sock.send_to(text.as_bytes(), server).await.expect("send");
                        }
                        for _ in chunk {
                            assert_eq!(recv_sip(&sock, &mut buf).await.status(), Some(200));
                        }
                    }
                    // The ESL reader has every sofia::register too.
                    for _ in 0..N {
                        events.recv().await.expect("event");
                    }
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

fn sip_calls(c: &mut Criterion, rt: &Runtime) {
    const N: usize = 50;
    let (mock, mut events) = sip_mock(rt, false);
    let server = mock.sip_udp_addr().expect("udp");
    let caller = rt.block_on(tokio::net::UdpSocket::bind("127.0.0.1:0")).expect("bind");
    let callee = std::sync::Arc::new(rt.block_on(tokio::net::UdpSocket::bind("127.0.0.1:0")).expect("bind"));
    let (cport, bport) = (caller.local_addr().expect("a").port(), callee.local_addr().expect("b").port());
    // The callee registers once (vanilla directory: 1001/1234), then answers everything.
    rt.block_on(async {
        let mut buf = vec![0u8; 65_535];
        callee.send_to(sip_register(1001, 1, bport, None).as_bytes(), server).await.expect("send");
        let www = recv_sip(&callee, &mut buf).await.header("WWW-Authenticate").expect("www").to_string();
        let auth = digest_answer(&www, 1001);
        callee.send_to(sip_register(1001, 2, bport, Some(&auth)).as_bytes(), server).await.expect("send");
        assert_eq!(recv_sip(&callee, &mut buf).await.status(), Some(200));
        while events.try_recv().is_ok() {}
    });
    let phone = callee.clone();
    rt.spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            let Ok((n, from)) = phone.recv_from(&mut buf).await else { return };
            let Ok(m) = eslmatrix_sim::fs::sip::message::Message::parse(&buf[..n]) else { continue };
            let status = match m.method() {
                Some("INVITE" | "BYE") => 200,
                _ => continue,
            };
            let mut r = eslmatrix_sim::fs::sip::message::Message {
                start: eslmatrix_sim::fs::sip::message::StartLine::Response { status, reason: "OK".into() },
                headers: Vec::new(),
                body: Vec::new(),
            };
            for name in ["Via", "From", "Call-ID", "CSeq"] {
                r.push(name, m.header(name).unwrap_or_default());
            }
            let to = m.header("To").unwrap_or_default();
            r.push("To", if to.contains("tag=") { to.to_string() } else { format!("{to};tag=b") });
            r.push("Contact", format!("<sip:1001@127.0.0.1:{bport}>"));
            let _ = phone.send_to(&r.to_bytes(), from).await;
        }
    });
    let invite = |i: u64| {
        format!(
            "INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bKi{i}\r\n\
             From: <sip:1000@127.0.0.1>;tag=a{i}\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: c{i}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:1000@127.0.0.1:{cport}>\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\nv=0\r\ns=-\r\n"
        )
    };
    let in_dialog = |method: &str, i: u64, tag: &str, cseq: u32| {
        format!(
            "{method} sip:mod_sofia@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK{method}{i}\r\n\
             From: <sip:1000@127.0.0.1>;tag=a{i}\r\nTo: <sip:1001@127.0.0.1>;tag={tag}\r\nCall-ID: c{i}\r\nCSeq: {cseq} {method}\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let mut next = 0u64;
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("sip_call_setup_50", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut buf = vec![0u8; 65_535];
                let start = Instant::now();
                for _ in 0..iters {
                    let first = next;
                    let mut tags = std::collections::HashMap::new();
                    for _ in 0..N / WINDOW {
                        for _ in 0..WINDOW {
                            next += 1;
                            caller.send_to(invite(next).as_bytes(), server).await.expect("send");
                        }
                        // Each call: 100 then 200 (in any order across calls).
                        let want = tags.len() + WINDOW;
                        while tags.len() < want {
                            let m = recv_sip(&caller, &mut buf).await;
                            if m.status() == Some(200) {
                                let id: u64 = m.header("Call-ID").expect("id")[1..].parse().expect("n");
                                let tag = eslmatrix_sim::fs::sip::message::param(
                                    m.header("To").expect("to"),
                                    "tag",
                                )
                                .flatten()
                                .expect("tag")
                                .to_string();
                                tags.insert(id, tag);
                            }
                        }
                    }
                    for window in (first + 1..=next).collect::<Vec<_>>().chunks(WINDOW) {
                        for &i in window {
                            caller
                                .send_to(in_dialog("ACK", i, &tags[&i], 1).as_bytes(), server)
                                .await
                                .expect("send");
                            caller
                                .send_to(in_dialog("BYE", i, &tags[&i], 2).as_bytes(), server)
                                .await
                                .expect("send");
                        }
                        let mut byes = 0;
                        while byes < window.len() {
                            if recv_sip(&caller, &mut buf).await.cseq().is_some_and(|c| c.1 == "BYE") {
                                byes += 1;
                            }
                        }
                    }
                    // Every leg's CHANNEL_HANGUP_COMPLETE … reached the ESL reader: wait for the
                    // channels to be gone in the model, then drain what the reader counted.
                    while mock.pbx().snapshot().channels > 0 {
                        tokio::task::yield_now().await;
                    }
                    while events.try_recv().is_ok() {}
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

fn main() {
    if std::env::var_os(MOCK_CHILD).is_some() {
        mock_child();
        return;
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut c = Criterion::default().configure_from_args();
    // `cargo test --all-targets` runs this binary without `--bench`: keep that run short.
    if std::env::args().any(|a| a == "--bench") {
        sip_registers(&mut c, &rt);
        sip_calls(&mut c, &rt);
        registrations(&mut c);
        channels(&mut c);
        fanout(&mut c, &rt);
        fanout_out_of_process(&mut c, &rt);
        greeting_under_flood(&mut c, &rt);
    }
    c.final_summary();
}
