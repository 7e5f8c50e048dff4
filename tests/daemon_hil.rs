//! Hardware in the loop: the whole daemon (links, scene, player, driver) against the mock
//! FreeSWITCH, drawing on a virtual MAX7219 chain, under paused tokio time. Each test
//! checks the sequence of pictures the LEDs showed against a golden file in
//! golden/daemon/ (regenerate with `INSTA_UPDATE=always`, review with `cargo insta review`).
//! The story kit (tests/story) sets up the mock and the daemon; each story is its script.

use std::time::Duration;

use eslmatrix::app::recording::sequence_text;
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::{Party, Transport};
use eslmatrix_sim::fs::MockConfig;
use tokio::time::sleep;

use crate::story::{framed, page, pictures, seen, story};

const SECS: fn(u64) -> Duration = Duration::from_secs;

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../golden/daemon", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

#[tokio::test(start_paused = true)]
async fn startup_status() {
    let story = story(&["{calls} calls  {registrations} reg  {webrtc} WebRTC"]).phones().start().await;
    let (rec, stats) = story
        .play_from(page("0 calls  3 reg  1 WebRTC"), || async move {
            sleep(SECS(3)).await;
        })
        .await;
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].sessions, 1);
    golden!("startup_status", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn incoming_call_alert() {
    let story = story(&["{calls} calls  {registrations} reg"]).phones().start().await;
    let pbx = story.pbx();
    let (rec, _) = story
        .play_from(page("0 calls  3 reg"), || async move {
            sleep(SECS(2)).await;
            pbx.start_call("1001", "1000", Some("Alice")).unwrap();
            // Ends mid-way through a phase of the alert's blinking frame, so whether the
            // last phase change made it into the recording cannot vary.
            sleep(Duration::from_millis(3250)).await;
        })
        .await;
    golden!("incoming_call_alert", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn answered_call() {
    let story = story(&["{calls} calls  {registrations} reg"]).phones().start().await;
    let pbx = story.pbx();
    let (rec, _) = story
        .play_from(page("0 calls  3 reg"), || async move {
            sleep(SECS(2)).await;
            let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
            sleep(SECS(4)).await;
            pbx.answer(&call).unwrap();
            // "answered" replaces the ringing alert at once and shows for 3 s.
            sleep(SECS(20)).await;
            pbx.hangup(&call, Party::Caller).unwrap();
            sleep(SECS(30)).await;
        })
        .await;
    golden!("answered_call", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn busy_hangup_with_its_reason() {
    let story = story(&["{calls} calls  {registrations} reg"])
        .phones()
        .config("[alerts.incoming]\nduration = \"2s\"\n")
        .start()
        .await;
    let pbx = story.pbx();
    let (rec, _) = story
        .play_from(page("0 calls  3 reg"), || async move {
            sleep(SECS(2)).await;
            let call = pbx.start_call("1000", "1001", None).unwrap();
            sleep(SECS(1)).await;
            pbx.reject(&call, 486).unwrap();
            sleep(SECS(20)).await;
        })
        .await;
    let text = seen(&rec);
    golden!("busy_hangup", text);
}

#[tokio::test(start_paused = true)]
async fn webrtc_registration_changes_the_count() {
    let story = story(&["{webrtc} WebRTC of {registrations} reg"]).phones().start().await;
    let pbx = story.pbx();
    let (rec, _) = story
        .play_from(page("1 WebRTC of 3 reg"), || async move {
            sleep(SECS(2)).await;
            pbx.register("1003", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
            sleep(SECS(2)).await;
            pbx.unregister("1002").unwrap();
            sleep(SECS(2)).await;
        })
        .await;
    golden!("webrtc_registration", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn link_lost_then_reconnected_with_counts_rebuilt() {
    let story = story(&["{calls} calls  {registrations} reg"]).phones().start().await;
    let pbx = story.pbx();
    let faults = story.faults();
    let (rec, stats) = story
        .play_from(page("0 calls  3 reg"), || async move {
            sleep(SECS(2)).await;
            faults.inject(Fault::Restart { down_ms: 4000 });
            // The restarted switch has forgotten the phones; one registers while the daemon has
            // no link, so only the rebuild after the reconnect can know it.
            sleep(SECS(1)).await;
            pbx.register("1003", Transport::Udp, "Grandstream").unwrap();
            sleep(SECS(20)).await;
        })
        .await;
    assert!(stats[0].sessions >= 2, "{:?}", stats[0]);
    let seen_pictures = pictures(&rec);
    assert_eq!(seen_pictures.first(), Some(&page("0 calls  3 reg")));
    assert_eq!(seen_pictures.last(), Some(&page("0 calls  1 reg")), "the rebuild found the one phone");
    golden!("link_lost_and_back", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn wrong_password() {
    let story = story(&["{calls} calls"]).password("not-the-password").start().await;
    let (rec, stats) = story
        .play_from(framed("AUTH FAILED"), || async move {
            // Mid-way through a blink phase, so the count of phases cannot be off by one.
            sleep(Duration::from_millis(7250)).await;
        })
        .await;
    assert_eq!(stats[0].sessions, 0);
    golden!("wrong_password", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_loss() {
    let story = story(&["{calls} calls  {registrations} reg"])
        .phones()
        .mock(MockConfig { heartbeat: Some(SECS(2)), ..MockConfig::default() })
        .config("[link]\nheartbeat = \"2s\"\n")
        .start()
        .await;
    let faults = story.faults();
    let (rec, stats) = story
        .play_from(page("0 calls  3 reg"), || async move {
            sleep(SECS(3)).await;
            // The socket stays open but goes silent: only the missing heartbeats tell.
            faults.inject(Fault::Stall { ms: 12_000 });
            sleep(SECS(30)).await;
        })
        .await;
    assert!(stats[0].sessions >= 2, "{:?}", stats[0]);
    golden!("heartbeat_loss", seen(&rec));
}

#[tokio::test(start_paused = true)]
async fn pushed_message() {
    let story = story(&["{calls} calls  {registrations} reg"]).phones().start().await;
    let pbx = story.pbx();
    let (rec, _) = story
        .play_from(page("0 calls  3 reg"), || async move {
            sleep(SECS(2)).await;
            pbx.message("Lunch is ready!");
            sleep(SECS(15)).await;
        })
        .await;
    let text = seen(&rec);
    golden!("pushed_message", text);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_ten_thousand_events_shows_the_right_final_counts() {
    let story = story(&["{calls} calls  {registrations} reg  {webrtc} WebRTC"]).start().await;
    let pbx = story.pbx();
    let (rec, stats) = story
        .play_from(page("0 calls  0 reg  0 WebRTC"), || async move {
            sleep(SECS(2)).await;
            for i in 0..5000 {
                let t = if i % 2 == 0 { Transport::Wss } else { Transport::Udp };
                pbx.register(&format!("{}", 10_000 + i), t, "burst").unwrap();
            }
            // All but the last seven go again: 9 993 REGISTER/UNREGISTER events in one instant.
            for i in 0..4993 {
                pbx.unregister(&format!("{}", 10_000 + i)).unwrap();
            }
            sleep(SECS(10)).await;
        })
        .await;
    assert_eq!(stats[0].events_lost, 0);
    assert!(stats[0].events >= 9993, "{:?}", stats[0]);
    let last = rec.last().expect("a picture");
    // Of the last seven (14993..14999), the even ones registered over WSS: three WebRTC.
    assert_eq!(last.rows, page("0 calls  7 reg  3 WebRTC"));
    golden!("burst_final", sequence_text(&[last.rows]));
}
