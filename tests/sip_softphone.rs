//! A real softphone against the mock, with the daemon on a virtual chain watching (real
//! time): two instances of baresip (Debian's `baresip-core`, installed by .ci/run), each
//! with its own config directory, registering through the mock's digest challenge over
//! UDP as 1000 and 1001. 1001 dials 1000; the LEDs show the ringing alert with the
//! caller's display name; 1000 answers; the LEDs count the call; audio (a sine wave, opus)
//! flows phone to phone, the mock relaying only the SIP; 1000 hangs up and the caller
//! gets the BYE, and the LEDs show the end. baresip is driven through its `cons` module
//! (one command per UDP datagram) and read from its log. A second test calls the echo
//! extension 9196 and hangs the call up from ESL.
//! Without baresip the test fails when `CI` is set and says it skipped otherwise.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use eslmatrix::app::recording::Recording;
use tokio::process::{Child, Command};
use tokio::time::{sleep, Instant};

use crate::story::{sip_over_udp, story, until_one_of, Story, WIDE};

/// Each step's bound on a loaded 2-core machine; a stuck step still fails.
const STEP: Duration = Duration::from_secs(40);

const BARESIP: &str = "/usr/bin/baresip";

/// A port free on loopback for both UDP and TCP now (baresip's `sip_listen` binds both).
fn free_port() -> u16 {
    for _ in 0..64 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free on both UDP and TCP in 64 tries")
}

/// One baresip with its own config directory (removed when dropped) and log.
struct Phone {
    child: Child,
    dir: PathBuf,
    console: SocketAddr,
}

impl Phone {
    /// Starts baresip registered as `user` (display name `name`) at the mock's UDP `server`.
    fn start(user: &str, name: &str, server: SocketAddr) -> Phone {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("eslmatrix-baresip-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let console = SocketAddr::from(([127, 0, 0, 1], free_port()));
        // The smallest config a softphone runs with and no sound card: a sine source
        // (ausine is 48 kHz only, hence opus), received audio to a file, commands on UDP.
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip}\n\
             net_interface 127.0.0.1\n\
             module_path /usr/lib/baresip/modules\n\
             module opus.so\n\
             module ausine.so\n\
             module aufile.so\n\
             module cons.so\n\
             module_app account.so\n\
             module_app menu.so\n\
             cons_listen {console}\n\
             audio_source ausine,440\n\
             audio_player aufile,{out}\n\
             audio_alert aufile,/dev/null\n\
             rtp_timeout 0\n",
            sip = free_port(),
            out = dir.join("heard.wav").display(),
        );
        std::fs::write(dir.join("config"), config).unwrap();
        let account = format!("\"{name}\" <sip:{user}@{server};transport=udp>;auth_pass=1234;regint=60\n");
        std::fs::write(dir.join("accounts"), account).unwrap();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let child = Command::new(BARESIP)
            .arg("-f")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("baresip runs");
        Phone { child, dir, console }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// One command to its console (`/dial 1000`, `/accept`, `/hangup`).
    fn command(&self, cmd: &str) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.send_to(format!("{cmd}\n").as_bytes(), self.console).unwrap();
    }

    /// Waits until its log says `what`.
    async fn until_log(&self, what: &str) {
        let deadline = Instant::now() + STEP;
        while !self.log().contains(what) {
            assert!(Instant::now() < deadline, "baresip never said {what:?}:\n{}", self.log());
            sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn until_shown(rec: &Recording, rows: &[String], what: &str, after: usize) -> usize {
    until_one_of(rec, &[rows], what, after, STEP).await
}

/// The mock with SIP on a free UDP port and the daemon watching `{calls} calls
/// {registrations} reg`; `None` (the test skips) without baresip, unless `CI` is set.
async fn softphone_story() -> Option<Story> {
    if !Path::new(BARESIP).exists() {
        let why = format!("{BARESIP} is missing (apt-get install baresip-core, as .ci/run does)");
        assert!(std::env::var_os("CI").is_none(), "softphone test cannot run on CI: {why}");
        eprintln!("skipped the softphone test: {why}");
        return None;
    }
    Some(story(&["{calls} calls  {registrations} reg"]).screen(WIDE).mock(sip_over_udp()).start().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_baresip_softphones_call_each_other_through_the_mock_and_the_leds_follow() {
    let Some(story) = softphone_story().await else { return };
    let server = story.mock().sip_udp_addr().expect("udp");
    let pbx = story.pbx();
    story
        .play(|rec| async move {
            let idle = until_shown(&rec, &WIDE.page("0 calls  0 reg"), "the idle page", 0).await;
            let callee = Phone::start("1000", "Front Desk", server);
            let caller = Phone::start("1001", "Bare Sip", server);
            // sofia_reg_handle_register: the 401 challenge answered with the password.
            callee.until_log("1000@127.0.0.1: {0/UDP/v4} 200 OK").await;
            caller.until_log("1001@127.0.0.1: {0/UDP/v4} 200 OK").await;
            let registered = until_shown(&rec, &WIDE.page("0 calls  2 reg"), "both phones", idle).await;
            let regs = pbx.registrations();
            assert!(regs.iter().all(|r| r.user_agent.starts_with("baresip v1.")), "{regs:?}");

            caller.command("/dial 1000");
            callee.until_log("Incoming call from: Bare Sip sip:1001@").await;
            caller.until_log("180 Ringing").await;
            let rang =
                until_shown(&rec, &WIDE.framed("Bare Sip (1001) → 1000"), "the ringing alert", registered)
                    .await;
            callee.command("/accept");
            caller.until_log("Call established: sip:1000@").await;
            callee.until_log("Call established: sip:1001@").await;
            let took =
                until_shown(&rec, &WIDE.page("Bare Sip (1001) → 1000 answered"), "the answer", rang).await;
            let counted = until_shown(&rec, &WIDE.page("1 calls  2 reg"), "the call counted", took).await;
            // The SDP went through untouched: each phone gets the other's RTP.
            caller.until_log("incoming rtp for 'audio' established").await;
            callee.until_log("incoming rtp for 'audio' established").await;
            assert_eq!(pbx.snapshot().channels, 2);

            callee.command("/hangup");
            // The callee's BYE reaches the caller as the mock's own BYE (baresip reports a
            // BYE received as its session closed with ECONNRESET).
            caller.until_log("session closed: Connection reset by peer").await;
            let ends: Vec<Vec<String>> = (0..120)
                .map(|s| WIDE.page(&format!("Bare Sip (1001) → 1000: {}:{:02}", s / 60, s % 60)))
                .collect();
            let ended = until_one_of(&rec, &ends, "the hang-up with the call's length", counted, STEP).await;
            until_shown(&rec, &WIDE.page("0 calls  2 reg"), "no call left", ended).await;
            assert_eq!(pbx.snapshot().channels, 0);
        })
        .await;
}

// The shipped dialplan's 9196 (conf/vanilla/dialplan/default.xml: answer, echo) with a
// real softphone: the PBX answers it itself. The mock has no media engine, so its answer
// is the caller's own SDP mirrored, and the phone hears itself: its own RTP comes back
// (b2bua::mirror_sdp). Killing the channel over ESL (`uuid_kill`) must reach the phone as
// a BYE (sofia_on_hangup), or it keeps a call the LEDs no longer count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baresip_softphone_calls_the_echo_test_and_an_esl_kill_hangs_it_up() {
    let Some(story) = softphone_story().await else { return };
    let server = story.mock().sip_udp_addr().expect("udp");
    let pbx = story.pbx();
    story
        .play(|rec| async move {
            let idle = until_shown(&rec, &WIDE.page("0 calls  0 reg"), "the idle page", 0).await;
            let phone = Phone::start("1001", "Bare Sip", server);
            phone.until_log("1001@127.0.0.1: {0/UDP/v4} 200 OK").await;
            let registered = until_shown(&rec, &WIDE.page("0 calls  1 reg"), "the phone", idle).await;
            phone.command("/dial 9196");
            phone.until_log("Call established: sip:9196@").await;
            let counted = until_shown(&rec, &WIDE.page("1 calls  1 reg"), "the echo call", registered).await;
            // Its own RTP back: sent to the port its own SDP offered.
            phone.until_log("incoming rtp for 'audio' established").await;
            let uuids = pbx.channel_uuids();
            assert_eq!(uuids.len(), 1, "one leg, no B leg: {uuids:?}");
            let app = match pbx.api("uuid_getvar", &format!("{} current_application", uuids[0])) {
                eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
                eslmatrix_sim::fs::pbx::ApiOutput::NotFound => panic!("uuid_getvar"),
            };
            assert_eq!(app.trim(), "echo");
            let _ = pbx.api("uuid_kill", &uuids[0]);
            phone.until_log("session closed: Connection reset by peer").await;
            until_shown(&rec, &WIDE.page("0 calls  1 reg"), "no call left", counted).await;
            assert_eq!(pbx.snapshot().channels, 0);
        })
        .await;
}
