//! The player's cost per scroll step: drawing the cue's frame (scroll window plus effects)
//! and sending it through the driver into a virtual chain, which is what the daemon does
//! 50 times a second while text scrolls. benches/daemon.sh measures the whole process
//! (memory, CPU) against the mock.
//!
//! And the call view's (`eslmatrix calls`) share with 1000 live calls and 5000
//! registrations: one seconds-tick redraw of the list (and of the registrations tab) on an
//! 80×24 screen, one channel event and one REGISTER applied. benches/calls-view.sh runs the
//! binary itself against the mock with that load (memory, CPU).
//!
//! And `sip_to_led`: a real SIP INVITE over loopback UDP to the mock's B2BUA until the
//! virtual chain shows the incoming-call alert, with the whole daemon (link, scene, player,
//! driver) in between; p50/p99 over single calls are printed after criterion's summary.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use eslmatrix::app::daemon;
use eslmatrix::app::player::{Animation, PlayerOptions, ScrollMode};
use eslmatrix::backend::view::{NoView, View, ViewError};
use eslmatrix::backend::{virtual_chain, Bus, LedGrid, Output};
use eslmatrix::config::Config;
use eslmatrix::driver::{Intensity, Wiring};
use eslmatrix::render::{render_aligned, Align, Font, Frame, Speed};
use eslmatrix::scene::{Cue, CueKind, CueStyle};
use eslmatrix::status::call_flow::RAW_BYTES;
use eslmatrix::status::call_table::CallTable;
use eslmatrix::status::gateway_table::GatewayTable;
use eslmatrix::status::reg_table::RegTable;
use eslmatrix::status::{HeaderMap, Headers, PackedHeaders, PbxStatus};
use eslmatrix::tui::calls::ServerCalls;
use eslmatrix::tui::{Screen, Surface, Tab, Ui};
use eslmatrix_sim::fs::sip::digest::Algorithm;
use eslmatrix_sim::fs::sip::listen::ListenConfig;
use eslmatrix_sim::fs::sip::message::{Message, StartLine};
use eslmatrix_sim::fs::sip::SipConfig;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
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

/// How the SIP-to-LED bench's daemon is set up: one page with the counts, the built-in
/// incoming-call alert (framed, 8 s), and no answered/hung-up alerts, so a cancelled call
/// leaves the idle page straight back and the next INVITE starts from it. The default
/// `page_time` (5 s): a ringing call passes the page gap the previous call's alert leaves,
/// so no call waits for it.
const SIP_TO_LED_PAGE: &str = "{calls} calls  {registrations} reg";

/// Calls timed one by one after criterion's run, for the p99 criterion does not give.
const SIP_TO_LED_SAMPLES: usize = 300;

/// Bound on every wait of the SIP-to-LED bench: a stuck step fails the bench, it never hangs.
const SIP_STEP: Duration = Duration::from_secs(10);

/// Columns of the bench's display (32 modules, as tests/story's WIDE): the alert's text fits.
const SIP_TO_LED_WIDTH: u32 = 256;

/// Hands every picture the virtual chain shows (decoded from the chain's registers by the
/// output) to the bench with the real instant it was written.
struct ChainWatch(tokio::sync::watch::Sender<(std::time::Instant, Vec<String>)>);

impl View for ChainWatch {
    fn show(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        self.0.send_replace((std::time::Instant::now(), leds.to_rows()));
        Ok(())
    }
}

/// A hand-written UDP phone, as sim/tests/sip_register.rs's: every byte it sends is here.
struct SipPhone {
    sock: UdpSocket,
    server: SocketAddr,
    user: &'static str,
}

impl SipPhone {
    async fn new(server: SocketAddr, user: &'static str) -> SipPhone {
        SipPhone { sock: UdpSocket::bind("127.0.0.1:0").await.expect("udp bind"), server, user }
    }

    fn port(&self) -> u16 {
        self.sock.local_addr().expect("local addr").port()
    }

    async fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.server).await.expect("udp send");
    }

    async fn recv(&self) -> Message {
        let mut buf = vec![0u8; 65_535];
        let (n, _) = tokio::time::timeout(SIP_STEP, self.sock.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{}: no SIP message within {SIP_STEP:?}", self.user))
            .expect("udp recv");
        Message::parse(&buf[..n]).expect("the mock sends well-formed SIP")
    }

    fn register_text(&self, cseq: u32, auth: Option<&str>) -> String {
        let (user, port, host) = (self.user, self.port(), self.server.ip());
        let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        format!(
            "REGISTER sip:{host} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-r{cseq}-{port};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@{host}>;tag=f{port}\r\nTo: <sip:{user}@{host}>\r\n\
             Call-ID: reg-{user}-{port}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{port}>\r\n\
             Expires: 3600\r\n{auth}Content-Length: 0\r\n\r\n"
        )
    }

    /// REGISTER through the 401 challenge (the example directory's password 1234).
    async fn register(&self) {
        self.send(&self.register_text(1, None)).await;
        let challenge = self.recv().await;
        assert_eq!(challenge.status(), Some(401), "{challenge}");
        let www = challenge.header("WWW-Authenticate").expect("a challenge").to_string();
        let uri = format!("sip:{}", self.server.ip());
        self.send(&self.register_text(2, Some(&digest_answer(&www, self.user, "REGISTER", &uri, 1)))).await;
        let ok = self.recv().await;
        assert_eq!(ok.status(), Some(200), "{ok}");
    }
}

/// A param of a digest challenge (`realm="…"`).
fn challenge_param(www: &str, name: &str) -> String {
    let at = www.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} in {www}")) + name.len() + 1;
    let rest = &www[at..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    rest.split(['"', ',']).next().unwrap_or_default().to_string()
}

/// The Authorization a client computes for a challenge (RFC 2617 §3.2.2, qop=auth).
fn digest_answer(www: &str, user: &str, method: &str, uri: &str, nc: u32) -> String {
    let (realm, nonce) = (challenge_param(www, "realm"), challenge_param(www, "nonce"));
    let name = challenge_param(www, "algorithm");
    let alg = Algorithm::parse(&name).expect("an algorithm the mock offers");
    let nc = format!("{nc:08x}");
    let ha1 = alg.hex(&format!("{user}:{realm}:1234"));
    let ha2 = alg.hex(&format!("{method}:{uri}"));
    let response = alg.hex(&format!("{ha1}:{nonce}:{nc}:c0ffee:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={name}, qop=auth, nc={nc}, cnonce=\"c0ffee\""
    )
}

/// The callee's answer to a request it received: `status`, its tag on the To.
fn callee_answer(req: &Message, status: u16, reason: &str, port: u16) -> Vec<u8> {
    let mut m = Message {
        start: StartLine::Response { status, reason: reason.into() },
        headers: Vec::new(),
        body: Vec::new(),
    };
    for v in req.values("Via") {
        m.push("Via", v);
    }
    m.push("From", req.header("From").unwrap_or_default());
    let to = req.header("To").unwrap_or_default();
    m.push("To", if to.contains("tag=") { to.to_string() } else { format!("{to};tag=b{port}") });
    m.push("Call-ID", req.header("Call-ID").unwrap_or_default());
    m.push("CSeq", req.header("CSeq").unwrap_or_default());
    m.push("Contact", format!("<sip:1001@127.0.0.1:{port}>"));
    m.to_bytes()
}

/// 1001's phone: rings (180) at every INVITE, and answers a CANCEL as RFC 3261 §9.2 says
/// (200 to the CANCEL, 487 to the INVITE). Never answers, so every call stays ringing
/// until the caller cancels it.
async fn ringing_callee(phone: SipPhone) {
    let port = phone.port();
    let mut ringing: HashMap<String, Message> = HashMap::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, from)) = phone.sock.recv_from(&mut buf).await else { return };
        let Ok(req) = Message::parse(&buf[..n]) else { continue };
        let call_id = req.header("Call-ID").unwrap_or_default().to_string();
        let reply = |bytes: Vec<u8>| {
            let sock = &phone.sock;
            async move {
                let _ = sock.send_to(&bytes, from).await;
            }
        };
        match req.method() {
            Some("INVITE") => {
                reply(callee_answer(&req, 180, "Ringing", port)).await;
                ringing.insert(call_id, req);
            }
            Some("CANCEL") => {
                reply(callee_answer(&req, 200, "OK", port)).await;
                if let Some(invite) = ringing.remove(&call_id) {
                    reply(callee_answer(&invite, 487, "Request Terminated", port)).await;
                }
            }
            Some("BYE") => reply(callee_answer(&req, 200, "OK", port)).await,
            _ => {}
        }
    }
}

/// The mock with SIP on ephemeral loopback ports, the whole daemon on a virtual chain
/// watching it, 1000 and 1001 registered over UDP, and 1000 holding a 407 nonce.
struct SipToLed {
    fs: MockHandle,
    caller: SipPhone,
    chain: tokio::sync::watch::Receiver<(std::time::Instant, Vec<String>)>,
    stop: tokio::sync::watch::Sender<bool>,
    daemon: JoinHandle<()>,
    callee: JoinHandle<()>,
    /// When the model last fired the inbound leg's CHANNEL_CREATE (seen in-process, beside
    /// the ESL socket the daemon reads): splits each latency into the mock's share and the
    /// daemon's.
    created: tokio::sync::watch::Receiver<std::time::Instant>,
    watcher: JoinHandle<()>,
    /// The 407's Proxy-Authenticate: every INVITE answers it with the next nonce count.
    challenge: String,
    calls: u32,
    idle: Vec<String>,
    alert: [Vec<String>; 2],
}

fn rows_of(text: &str, framed: bool) -> Vec<String> {
    let mut f = render_aligned(text, Font::Small, SIP_TO_LED_WIDTH, 8, Align::Center);
    if framed {
        // scene's alert frame: a bar at each end, a dark column inside it.
        let w = SIP_TO_LED_WIDTH as i32;
        for y in 0..8 {
            for (x, on) in [(0, true), (1, false), (w - 2, false), (w - 1, true)] {
                f.set(x, y, on);
            }
        }
    }
    f.to_rows()
}

impl SipToLed {
    async fn start() -> SipToLed {
        let sip = SipConfig {
            listen: ListenConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                tcp: false,
                ..Default::default()
            },
            ..SipConfig::default()
        };
        let fs =
            MockFreeSwitch::start(MockConfig { sip: Some(sip), heartbeat: None, ..MockConfig::default() })
                .await
                .expect("mock starts");
        let addr = fs.addr();
        let text = format!(
            "[[server]]\nname = \"pbx\"\nhost = \"{}\"\nport = {}\npassword = \"ClueCon\"\n\
             [display]\nmodules = \"{}x1\"\nfont = \"small\"\n\
             [[page]]\ntemplate = {SIP_TO_LED_PAGE:?}\n\
             [alerts.answered]\nenabled = false\n[alerts.hung_up]\nenabled = false\n",
            addr.ip(),
            addr.port(),
            SIP_TO_LED_WIDTH / 8,
        );
        let config = Config::parse(&text, None).expect("bench config is valid");
        let wiring = config.wiring;
        let (tx, chain) = tokio::sync::watch::channel((std::time::Instant::now(), Vec::new()));
        let mut out = Output::with_bus(
            Bus::Chain(virtual_chain(&wiring).unwrap()),
            Box::new(ChainWatch(tx)),
            wiring,
            config.intensity,
        )
        .unwrap();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let daemon = tokio::spawn(async move {
            let _ = daemon::run(&config.daemon, &mut out, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        });
        let server = fs.sip_udp_addr().expect("udp binding");
        let caller = SipPhone::new(server, "1000").await;
        let callee = SipPhone::new(server, "1001").await;
        callee.register().await;
        caller.register().await;
        // The 407 once, before the timed calls: a phone that keeps its nonce (nc
        // counting up) sends every later INVITE with credentials straight away.
        caller.send(&invite_text(&caller, 0, None)).await;
        let challenge = loop {
            let m = caller.recv().await;
            if m.status() == Some(407) {
                caller.send(&ack_text(&caller, 0, &m)).await;
                break m.header("Proxy-Authenticate").expect("a challenge").to_string();
            }
        };
        let callee = tokio::spawn(ringing_callee(callee));
        let (mark, created) = tokio::sync::watch::channel(std::time::Instant::now());
        let mut events = fs.pbx().subscribe();
        let watcher = tokio::spawn(async move {
            while let Ok(e) = events.recv().await {
                if e.get("Event-Name") == Some("CHANNEL_CREATE") && e.get("Call-Direction") == Some("inbound")
                {
                    mark.send_replace(std::time::Instant::now());
                }
            }
        });
        let mut rig = SipToLed {
            created,
            watcher,
            fs,
            caller,
            chain,
            stop,
            daemon,
            callee,
            challenge,
            calls: 0,
            idle: rows_of("0 calls  2 reg", false),
            alert: [rows_of("Bench (1000) → 1001", true), rows_of("Bench (1000) → 1001", false)],
        };
        let idle = rig.idle.clone();
        rig.until(|rows| rows == idle.as_slice(), "the idle page with both phones").await;
        rig
    }

    /// Waits until the chain shows a picture `want` accepts; returns when it was written.
    async fn until(&mut self, want: impl Fn(&[String]) -> bool, what: &str) -> std::time::Instant {
        let deadline = tokio::time::Instant::now() + SIP_STEP;
        loop {
            {
                let seen = self.chain.borrow_and_update();
                if want(&seen.1) {
                    return seen.0;
                }
            }
            match tokio::time::timeout_at(deadline, self.chain.changed()).await {
                Ok(Ok(())) => {}
                _ => panic!("the chain never showed {what}; it shows:\n{}", self.chain.borrow().1.join("\n")),
            }
        }
    }

    /// One call: INVITE (with credentials for the kept nonce) until the chain shows the
    /// alert — the time returned — then CANCEL, 487, ACK, the idle page again and the page
    /// gap, untimed.
    async fn one_call(&mut self) -> (Duration, Duration) {
        self.calls += 1;
        let n = self.calls;
        let auth = digest_answer(&self.challenge, "1000", "INVITE", "sip:1001@127.0.0.1", n);
        let invite = invite_text(&self.caller, n, Some(&auth));
        self.chain.mark_unchanged();
        let sent = std::time::Instant::now();
        self.caller.send(&invite).await;
        let alert = self.alert.clone();
        let shown = self.until(|rows| alert.iter().any(|a| a == rows), "the incoming-call alert").await;
        let took = shown.saturating_duration_since(sent);
        let in_mock = self.created.borrow().saturating_duration_since(sent);
        self.caller.send(&cancel_text(&self.caller, n)).await;
        loop {
            let m = self.caller.recv().await;
            match m.status() {
                Some(487) => {
                    self.caller.send(&ack_text(&self.caller, n, &m)).await;
                    break;
                }
                Some(s) if s >= 300 => panic!("call {n} failed: {m}"),
                _ => {}
            }
        }
        let idle = self.idle.clone();
        self.until(|rows| rows == idle.as_slice(), "the idle page after the cancel").await;
        (took, in_mock)
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.callee.abort();
        self.watcher.abort();
        let _ = self.daemon.await;
        self.fs.shutdown().await;
    }
}

/// Call `n`'s INVITE from 1000 to 1001 (call 0 is the one that fetches the 407).
fn invite_text(a: &SipPhone, n: u32, auth: Option<&str>) -> String {
    let port = a.port();
    let auth = auth.map(|a| format!("Proxy-Authorization: {a}\r\n")).unwrap_or_default();
    format!(
        "INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKlat{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Bench\" <sip:1000@127.0.0.1>;tag=a{n}\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: lat-{n}-{port}\r\nCSeq: 1 INVITE\r\nContact: <sip:1000@127.0.0.1:{port}>\r\n{auth}\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{BENCH_SDP}",
        BENCH_SDP.len()
    )
}

const BENCH_SDP: &str =
    "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n";

/// The CANCEL of call `n`'s INVITE: its branch, Call-ID, From and CSeq number (§9.1).
fn cancel_text(a: &SipPhone, n: u32) -> String {
    let port = a.port();
    format!(
        "CANCEL sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKlat{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Bench\" <sip:1000@127.0.0.1>;tag=a{n}\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: lat-{n}-{port}\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The ACK of a final non-2xx answer to call `n`'s INVITE (§17.1.1.3): same branch, the
/// answer's To.
fn ack_text(a: &SipPhone, n: u32, answer: &Message) -> String {
    let port = a.port();
    let to = answer.header("To").unwrap_or_default();
    format!(
        "ACK sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKlat{n};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Bench\" <sip:1000@127.0.0.1>;tag=a{n}\r\nTo: {to}\r\n\
         Call-ID: lat-{n}-{port}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    )
}

fn sip_to_led(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut rig = rt.block_on(SipToLed::start());
    let mut group = c.benchmark_group("sip_to_led");
    // Each timed call also waits for its cancel and the idle page, untimed.
    group.sample_size(10);
    group.bench_function("invite_to_alert_on_chain", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(rig.one_call()).0;
            }
            total
        });
    });
    group.finish();
    let (mut times, mut in_mock): (Vec<Duration>, Vec<Duration>) =
        (0..SIP_TO_LED_SAMPLES).map(|_| rt.block_on(rig.one_call())).unzip();
    times.sort();
    in_mock.sort();
    let at = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    println!(
        "sip_to_led: INVITE sent -> incoming-call alert on the chain: p50 {:?}, p99 {:?}, min {:?}, max {:?} over {SIP_TO_LED_SAMPLES} calls",
        at(&times, 0.5),
        at(&times, 0.99),
        times[0],
        times[times.len() - 1]
    );
    println!(
        "sip_to_led: of which INVITE sent -> CHANNEL_CREATE fired in the mock: p50 {:?}, p99 {:?}",
        at(&in_mock, 0.5),
        at(&in_mock, 0.99)
    );
    rt.block_on(rig.stop());
}

criterion_group!(benches, scroll_step, calls_view, sip_to_led);
criterion_main!(benches);
