//! A SIPp load run against the mock's SIP listeners with the whole daemon watching on a
//! virtual chain (real time): 200 calls at 20 calls/s (10 s, the load run issue 14 asks
//! for) from a SIPp caller to a SIPp callee registered as 1001, each through the 407
//! challenge, answered, 300 ms of talk, BYE. The display must follow the calls up and come
//! back to exactly `0 calls  2 reg` (1000 and 1001 stay registered), and the
//! model must count every leg. SIPp is Debian's sip-tester, installed by .ci/run.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use eslmatrix::app::recording::Recording;
use eslmatrix_sim::fs::pbx::ApiOutput;
use tokio::time::{sleep, Instant};

use crate::story::{sip_over_udp, story, until_one_of, WIDE};

const CALLS: usize = 200;
/// Each wait's bound on a loaded 2-core machine; a stuck run still fails.
const STEP: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sipp").join(name).display().to_string()
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs SIPp to its end; panics with its output unless every call succeeded.
async fn sipp(args: Vec<String>) {
    let child = tokio::process::Command::new("sipp")
        .args(&args)
        .args(["-nostdin", "-timeout", "90s", "-timeout_error", "-i", "127.0.0.1", "-t", "u1"])
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run sipp ({e}): install Debian's sip-tester package (.ci/run does)")
        });
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("sipp ends")
        .unwrap();
    assert!(
        out.status.success(),
        "sipp {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(ToString::to_string).collect()
}

/// [`until_one_of`] for one picture, within a step's bound.
async fn until_shown(rec: &Recording, rows: &[String], what: &str, after: usize) -> usize {
    until_one_of(rec, &[rows], what, after, STEP).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sipp_load_run_ends_on_the_leds_exactly() {
    let mock = sip_over_udp();
    let story = story(&["{calls} calls  {registrations} reg"]).screen(WIDE).mock(mock).start().await;
    let server = story.mock().sip_udp_addr().expect("udp").to_string();
    let pbx = story.pbx();
    story
        .play(|rec| async move {
            let idle = until_shown(&rec, &WIDE.page("0 calls  0 reg"), "the idle page", 0).await;
            // The callee registers from the port it will answer on (register.xml, user 1001
            // is the second line of users.csv: -m 2 registers 1000 and 1001 from it).
            let callee_port = free_port();
            let port = callee_port.to_string();
            sipp(strings(&[
                &server,
                "-sf",
                &fixture("register.xml"),
                "-inf",
                &fixture("users.csv"),
                "-m",
                "2",
                "-p",
                &port,
            ]))
            .await;
            let registered =
                until_shown(&rec, &WIDE.page("0 calls  2 reg"), "the two registrations", idle).await;
            let calls = CALLS.to_string();
            let callee_args = strings(&["-sf", &fixture("uas_answer.xml"), "-p", &port, "-m", &calls]);
            let callee = tokio::spawn(sipp(callee_args));
            for _ in 0..500 {
                if std::net::UdpSocket::bind(("127.0.0.1", callee_port)).is_err() {
                    break;
                }
                sleep(Duration::from_millis(10)).await;
            }
            let caller_port = free_port().to_string();
            sipp(strings(&[
                &server,
                "-sf",
                &fixture("uac_auth.xml"),
                "-inf",
                &fixture("callers.csv"),
                "-s",
                "1001",
                "-p",
                &caller_port,
                "-m",
                &calls,
                "-r",
                "20",
            ]))
            .await;
            callee.await.unwrap();
            let busy = rec.shots().iter().skip(registered).any(|s| s.rows != WIDE.page("0 calls  2 reg"));
            assert!(busy, "the display followed the calls up");
            // What the LEDs show once the load is over: no call left, both bindings.
            let end = WIDE.page("0 calls  2 reg");
            let deadline = Instant::now() + STEP;
            while rec.shots().last().map(|s| &s.rows) != Some(&end) {
                assert!(Instant::now() < deadline, "the display did not come back to 0 calls");
                sleep(Duration::from_millis(20)).await;
            }
            let status = match pbx.api("status", "") {
                ApiOutput::Text(t) => t,
                ApiOutput::NotFound => panic!("status"),
            };
            assert!(status.contains(&format!("{} session(s) since startup", 2 * CALLS)), "{status}");
            assert_eq!(pbx.snapshot().channels, 0);
        })
        .await;
}
