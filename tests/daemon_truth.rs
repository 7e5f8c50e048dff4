//! The display never lies: hardware-in-the-loop stories (the whole daemon against the mock
//! FreeSWITCH on a virtual chain, paused tokio time) about alerts that follow their call and
//! figures that stay true. Goldens in golden/daemon/ list each picture with the time it
//! appeared, counted from the story's first event (regenerate with `INSTA_UPDATE=always`).
//!
//! The display is 32 modules with the small font ([`WIDE`]), so every text fits and stands
//! still. The story kit (tests/story) sets each story up; a test is its script.

use std::time::Duration;

use eslmatrix::config::Config;
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::{MultipleRegistrations, Party, Pbx, Transport};
use eslmatrix_sim::fs::MockConfig;
use tokio::time::sleep;

use crate::story::{screen, story, Setup, WIDE};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// The calls page on the wide display, three phones registered.
fn calls_story() -> Setup {
    story(&[CALLS_PAGE]).phones().screen(WIDE)
}

/// `text` as the wide display shows a page.
fn page(text: &str) -> Vec<String> {
    WIDE.page(text)
}

/// `text` in its blinking frame's on phase, as the ringing alert shows.
fn framed(text: &str) -> Vec<String> {
    WIDE.framed(text)
}

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../golden/daemon", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

const CALLS_PAGE: &str = "{calls} calls  {registrations} reg";

/// What the call stories may show: the page with 0–2 calls and these alerts.
fn call_texts(alerts: &[&str]) -> Vec<String> {
    let mut texts: Vec<String> = (0..3).map(|n| format!("{n} calls  3 reg")).collect();
    texts.extend(alerts.iter().map(std::string::ToString::to_string));
    texts
}

#[tokio::test(start_paused = true)]
async fn ring_then_busy_shows_the_reason_at_once() {
    let story = calls_story().start().await;
    let pbx = story.pbx();
    let played = story
        .play_timed(page("0 calls  3 reg"), |_| async move {
            let call = pbx.start_call("1000", "1001", None).unwrap();
            sleep(SECS(1)).await;
            pbx.reject(&call, 486).unwrap();
            sleep(SECS(12)).await;
        })
        .await;
    let seen = played.seen();
    let ring = played.shown_at(&framed("1000 → 1001")).expect("the ringing alert showed");
    let busy = played.shown_at(&page("1000 → 1001: 486 Busy Here")).expect("the busy alert showed");
    assert!(ring < SECS(1), "rang at {ring:?}");
    assert!(busy <= SECS(2), "busy 1 s after the reject at most, shown at {busy:?}");
    assert!(
        !seen.iter().any(|(at, r)| *at > busy && *r == framed("1000 → 1001")),
        "no ringing after the end"
    );
    golden!("truth_ring_busy", played.timeline(&call_texts(&["1000 → 1001", "1000 → 1001: 486 Busy Here"])));
}

#[tokio::test(start_paused = true)]
async fn ring_then_cancel_shows_the_cancel() {
    let story = calls_story().start().await;
    let pbx = story.pbx();
    let played = story
        .play_timed(page("0 calls  3 reg"), |_| async move {
            let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
            sleep(SECS(3)).await;
            pbx.cancel(&call).unwrap();
            sleep(SECS(12)).await;
        })
        .await;
    let seen = played.seen();
    // The ringing alert: its frame blinks around the text, on and off.
    let ringing = [framed("Alice (1001) → 1000"), page("Alice (1001) → 1000")];
    let rang = seen.iter().position(|(_, r)| *r == ringing[0]).expect("the ringing alert showed");
    let cancelled = rang + seen[rang..].iter().position(|(_, r)| !ringing.contains(r)).expect("it gave way");
    let (at, _) = &seen[cancelled];
    assert!(*at >= SECS(3) && *at <= SECS(4), "the ringing alert gave way at {at:?}");
    let texts = call_texts(&["Alice (1001) → 1000", "Alice (1001) → 1000: 487 Request Terminated"]);
    golden!("truth_ring_cancel", played.timeline(&texts));
}

#[tokio::test(start_paused = true)]
async fn ring_answer_hang_up_follows_the_call() {
    let story = calls_story().start().await;
    let pbx = story.pbx();
    let played = story
        .play_timed(page("0 calls  3 reg"), |_| async move {
            let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
            sleep(SECS(2)).await;
            pbx.answer(&call).unwrap();
            sleep(SECS(2)).await;
            pbx.hangup(&call, Party::Caller).unwrap();
            sleep(SECS(12)).await;
        })
        .await;
    let answered = played.shown_at(&page("Alice (1001) → 1000 answered")).expect("answered showed");
    assert!(answered >= SECS(2) && answered <= SECS(3), "answered at {answered:?}");
    let ended = played.shown_at(&page("Alice (1001) → 1000: 0:02")).expect("the hang-up showed");
    assert!(ended >= SECS(4) && ended <= SECS(5), "hang-up at {ended:?}");
    assert_eq!(played.seen().last().map(|(_, r)| r.clone()), Some(page("0 calls  3 reg")));
    let texts =
        call_texts(&["Alice (1001) → 1000", "Alice (1001) → 1000 answered", "Alice (1001) → 1000: 0:02"]);
    golden!("truth_ring_answer_hangup", played.timeline(&texts));
}

/// Two calls ringing a second apart: the second is on the LEDs the instant it rings (it
/// used to wait for the first call's alert and a whole page, 11 s), both share the ringing
/// alert, and each leaves it at its own end.
#[tokio::test(start_paused = true)]
async fn two_calls_ringing_a_second_apart_are_both_shown_at_once() {
    let story = calls_story().start().await;
    let pbx = story.pbx();
    let played = story
        .play_timed(page("0 calls  3 reg"), |_| async move {
            let first = pbx.start_call("1001", "1000", None).unwrap();
            sleep(SECS(1)).await;
            let second = pbx.start_call("1002", "1000", None).unwrap();
            sleep(SECS(2)).await;
            pbx.reject(&first, 486).unwrap();
            sleep(SECS(2)).await;
            pbx.cancel(&second).unwrap();
            sleep(SECS(12)).await;
        })
        .await;
    let both = played.shown_at(&framed("2 ringing: 1002 → 1000, 1001 → 1000")).expect("both calls shown");
    assert!(
        both >= SECS(1) && both < Duration::from_millis(1100),
        "the second call rang at 1 s, shown at {both:?}"
    );
    // Alice's busy takes her off the alert at once; Bob still rings, which matters more than
    // her outcome, and her outcome is history by the time his run ends.
    let bob = played.shown_at(&framed("1002 → 1000")).expect("the second call alone");
    assert!(bob >= SECS(3) && bob < Duration::from_millis(3100), "{bob:?}");
    let bob_end = played.shown_at(&page("1002 → 1000: 487 Request Terminated")).expect("Bob's outcome");
    assert!(bob_end >= SECS(5) && bob_end < Duration::from_millis(5100), "{bob_end:?}");
    assert_eq!(
        played.shown_at(&page("1001 → 1000: 486 Busy Here")),
        None,
        "no outcome after the next call's"
    );
    assert_eq!(played.seen().last().map(|(_, r)| r.clone()), Some(page("0 calls  3 reg")));
    let texts = call_texts(&[
        "1001 → 1000",
        "2 ringing: 1002 → 1000, 1001 → 1000",
        "1002 → 1000",
        "1002 → 1000: 487 Request Terminated",
        "1001 → 1000: 486 Busy Here",
    ]);
    golden!("truth_two_calls_ringing", played.timeline(&texts));
}

/// Ten calls in two seconds, ringing on: every one is on the LEDs the moment it rings, and
/// once the burst is over the pages come back (after the ringing alert's 8 s from the last
/// call) and keep their whole page time while the calls end one by one.
#[tokio::test(start_paused = true)]
async fn a_burst_of_ten_calls_shows_each_and_the_pages_come_back_after_it() {
    let story = story(&[CALLS_PAGE]).phones().screen(screen(512)).start().await;
    let pbx = story.pbx();
    let wide = screen(512);
    let played = story
        .play_timed(wide.page("0 calls  3 reg"), |_| {
            async move {
                let mut calls = Vec::new();
                for i in 1..=10 {
                    calls.push(pbx.start_call(&format!("20{i:02}"), "1000", None).unwrap());
                    sleep(Duration::from_millis(200)).await;
                }
                sleep(SECS(16)).await;
                // Now they end, 2 s apart: news, which takes its turn with the pages.
                for call in &calls {
                    pbx.cancel(call).unwrap();
                    sleep(SECS(2)).await;
                }
                sleep(SECS(20)).await;
            }
        })
        .await;
    let seen = played.seen();
    let ringing = |n: usize| {
        let named: Vec<String> = (0..n.min(3)).map(|k| format!("20{:02} → 1000", n - k)).collect();
        let rest = if n > 3 { format!(" +{}", n - 3) } else { String::new() };
        if n == 1 {
            named[0].clone()
        } else {
            format!("{n} ringing: {}{rest}", named.join(", "))
        }
    };
    for n in 1..=10u64 {
        let at = seen.iter().find(|(_, r)| *r == wide.framed(&ringing(n as usize))).map(|(at, _)| *at);
        let at = at.unwrap_or_else(|| panic!("call {n} never shown ringing"));
        let rang = Duration::from_millis((n - 1) * 200);
        assert!(
            at >= rang && at < rang + Duration::from_millis(100),
            "call {n} rang at {rang:?}, shown at {at:?}"
        );
    }
    // The last call rang at 1.8 s: the ringing alert ends 8 s later and a page shows.
    let back = seen.iter().find(|(at, r)| *at > SECS(2) && *r == wide.page("10 calls  3 reg"));
    let back = back.map(|(at, _)| *at).expect("the pages came back after the burst");
    assert!(back <= Duration::from_millis(9900), "pages back at {back:?}");
    // From then on, every page that gives way to an alert has shown for its whole page time.
    let is_page = |r: &Vec<String>| (0..=10).any(|n| *r == wide.page(&format!("{n} calls  3 reg")));
    let after: Vec<&(Duration, Vec<String>)> = seen.iter().filter(|(at, _)| *at >= back).collect();
    let mut page_since: Option<Duration> = None;
    for (at, rows) in after {
        if is_page(rows) {
            page_since.get_or_insert(*at);
        } else if let Some(since) = page_since.take() {
            assert!(*at - since >= SECS(5), "a page held only {:?} at {at:?}", *at - since);
        }
    }
    assert_eq!(seen.last().map(|(_, r)| r.clone()), Some(wide.page("0 calls  3 reg")));
    let mut texts: Vec<String> = (0..=10).map(|n| format!("{n} calls  3 reg")).collect();
    texts.extend((1..=10).map(ringing));
    texts.extend((1..=10).map(|i| format!("20{i:02} → 1000: 487 Request Terminated")));
    golden!("truth_burst_of_calls", played.timeline(&texts));
}

/// Mock and link both on a 2 s heartbeat: `~` after 3 s of silence, NO LINK after 5 s.
fn fast_heartbeat() -> MockConfig {
    MockConfig { heartbeat: Some(SECS(2)), ..MockConfig::default() }
}

/// Waits for the mock's HEARTBEAT that reports at least `uptime_s` of uptime, then one more
/// second: the connection has written it by then, so a fault injected now hits the next one
/// and the story runs on the heartbeat's clock, not on how long the connect took.
async fn past_heartbeat(events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<Event>>, uptime_s: u64) {
    loop {
        let ev = events.recv().await.expect("the mock's event bus");
        let up = ev.get("Uptime-msec").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if ev.get("Event-Name") == Some("HEARTBEAT") && up >= uptime_s * 1000 {
            break;
        }
    }
    sleep(SECS(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_server_stuck_mid_frame_is_marked_stale_then_dropped() {
    let story = story(&["{calls} calls  {registrations} reg  up {uptime}"])
        .phones()
        .screen(WIDE)
        .mock(fast_heartbeat())
        .config("[link]\nheartbeat = \"2s\"\n")
        .start()
        .await;
    let faults = story.faults();
    let mut bus = story.pbx().subscribe();
    let played = story
        .play_timed(page("0 calls  3 reg  up 6s"), |watch| {
            async move {
                // The HEARTBEAT at 10 s was the last whole event: the next one stops halfway
                // for 2.5 s, so nothing whole arrives for 3.5 s.
                past_heartbeat(&mut bus, 10).await;
                watch.mark_start();
                faults.inject(Fault::StallMidFrame { ms: 2500 });
                past_heartbeat(&mut bus, 20).await;
                // Now for good: stale 3 s after the last HEARTBEAT, dead after 5 s, then a new
                // session.
                faults.inject(Fault::StallMidFrame { ms: 60_000 });
                // Ends half a second after LINK UP shows, away from any change.
                sleep(Duration::from_millis(12_500)).await;
            }
        })
        .await;
    let seen = played.seen();
    let mut texts: Vec<String> = Vec::new();
    for up in 0..120 {
        texts.push(format!("0 calls  3 reg  up {up}s"));
        texts.push(format!("0~ calls  3~ reg  up {up}s~"));
    }
    texts.push("LINK UP".into());
    texts.push("NO LINK".into());
    let timeline = played.timeline(&texts);
    let stale = seen.iter().position(|(_, r)| *r == page("0~ calls  3~ reg  up 13s~"));
    let stale = stale.unwrap_or_else(|| panic!("no stale marker 3 s after the last event:\n{timeline}"));
    assert_eq!(seen[stale].0, SECS(2), "1.5 heartbeats after the HEARTBEAT at 10 s");
    // The uptime stood still until the stalled HEARTBEAT came whole, 2.5 s late.
    assert_eq!(seen[stale + 1], (Duration::from_millis(3500), page("0 calls  3 reg  up 14s")));
    let dead = played.shown_at(&framed("NO LINK")).expect("the stuck session is dropped");
    assert_eq!(dead, SECS(14), "2.5 heartbeats after the HEARTBEAT at 20 s");
    assert!(played.stats[0].sessions >= 2, "{:?}", played.stats[0]);
    golden!("truth_stuck_mid_frame", timeline);
}

/// Events the mock's PBX does not back: what a display sees when events were lost or never
/// meant for it. The api keeps telling the truth.
fn phantom_register(pbx: &Pbx) -> Event {
    pbx.custom_event("sofia::register")
        .with("profile-name", "internal")
        .with("from-user", "ghost")
        .with("from-host", "192.0.2.10")
        .with("call-id", "ghost-1")
        .with("contact", "<sip:ghost@198.51.100.9:5060>")
        .with("status", "Registered(UDP)")
}

fn phantom_channel(pbx: &Pbx, name: &str, uuid: &str) -> Event {
    pbx.event(name)
        .with("Unique-ID", uuid)
        .with("Channel-Call-UUID", uuid)
        .with("Call-Direction", "inbound")
        .with("Caller-Caller-ID-Number", "1009")
        .with("Caller-Destination-Number", "1000")
        .with("Hangup-Cause", "NORMAL_CLEARING")
}

/// How long each kind of drift stays on the display, under paused time. The figures in the
/// README's reconciliation table come from this story:
/// `cargo test --test main daemon_truth::drift -- --nocapture` prints them.
#[tokio::test(start_paused = true)]
async fn drift_is_corrected_within_one_reconcile_period() {
    let story = calls_story().start().await;
    let pbx = story.pbx();
    let mut marks: Vec<(&str, Duration, Duration)> = Vec::new();
    let played = story
        .play_timed(page("0 calls  3 reg"), |watch| {
            let marks = &mut marks;
            async move {
                // 1. A binding the api does not confirm (as after a lost unregister): no sign
                //    of drift, so the periodic check corrects it.
                let t = watch.now();
                pbx.fire(phantom_register(&pbx));
                let wrong = watch.until_shown_after(&page("0 calls  4 reg"), t).await;
                let right = watch.until_shown_after(&page("0 calls  3 reg"), wrong).await;
                marks.push(("unconfirmed binding, no sign", wrong, right));
                sleep(SECS(3)).await;
                // 2. A call the api does not confirm (its hang-up lost), then a hang-up of a
                //    channel never seen: that sign reconciles at once, and the ringing alert
                //    of the call that is gone ends with it.
                let t = watch.now();
                pbx.fire(phantom_channel(&pbx, "CHANNEL_CREATE", "ghost-a"));
                watch.until_shown_after(&framed("1009 → 1000"), t).await;
                sleep(SECS(3)).await;
                let sign = watch.now();
                pbx.fire(phantom_channel(&pbx, "CHANNEL_HANGUP_COMPLETE", "ghost-z"));
                let right = watch.until_shown_after(&page("0 calls  3 reg"), sign).await;
                marks.push(("unknown hang-up, a sign (from the sign)", sign, right));
                sleep(SECS(8)).await;
                // 3. An unregister under a foreign Call-ID for a phone the api still lists:
                //    FreeSWITCH would drop the binding, so the model does, until the check.
                let t = watch.now();
                pbx.fire(
                    pbx.custom_event("sofia::unregister")
                        .with("profile-name", "internal")
                        .with("from-user", "1001")
                        .with("from-host", "192.0.2.10")
                        .with("call-id", "someone-else"),
                );
                let wrong = watch.until_shown_after(&page("0 calls  2 reg"), t).await;
                let right = watch.until_shown_after(&page("0 calls  3 reg"), wrong).await;
                marks.push(("unconfirmed unregister, no sign", wrong, right));
                sleep(SECS(2)).await;
            }
        })
        .await;
    let mut table = String::from("drift | shown wrong for\n");
    for (what, from, to) in &marks {
        table.push_str(&format!("{what} | {:.1} s\n", (*to - *from).as_secs_f64()));
    }
    println!("{table}");
    let took = |i: usize| marks[i].2 - marks[i].1;
    assert!(took(0) <= SECS(60), "periodic check: {:?}", took(0));
    assert!(took(1) <= SECS(1), "a sign reconciles at once: {:?}", took(1));
    assert!(took(2) <= SECS(60), "{:?}", took(2));
    let stats = &played.stats;
    assert_eq!((stats[0].sessions, stats[0].events_lost), (1, 0));
    assert!(stats[0].corrections >= 3, "{:?}", stats[0]);
    let seen = played.seen();
    let texts = call_texts(&[
        "1009 → 1000",
        "1009 → 1000: NORMAL_CLEARING",
        "0 calls  4 reg",
        "0 calls  2 reg",
        "1 calls  3 reg",
    ]);
    let timeline = played.timeline(&texts);
    assert!(
        !seen.iter().any(|(at, r)| *r == framed("1009 → 1000") && played.start + *at >= marks[1].2),
        "the alert of the call found gone ended with it:\n{timeline}"
    );
    golden!("truth_drift", format!("{table}\n{timeline}"));
}

#[tokio::test(start_paused = true)]
async fn one_malformed_event_is_skipped_and_a_flood_of_them_ends_in_no_link_with_backoff() {
    let story = calls_story().start().await;
    let faults = story.faults();
    let pbx = story.pbx();
    let played = story
        .play_timed(page("0 calls  3 reg"), |watch| {
            async move {
                // One bad event between good ones: skipped, the session and figures stay.
                faults.inject(Fault::MalformedEvent);
                sleep(SECS(1)).await;
                pbx.register("1003", Transport::Udp, "Grandstream").unwrap();
                watch.until_shown(&page("0 calls  4 reg")).await;
                sleep(SECS(5)).await;
                // A server that sends nothing else: one NO LINK, a reconnect after the backoff.
                for _ in 0..300 {
                    faults.inject(Fault::MalformedEvent);
                }
                sleep(SECS(15)).await;
            }
        })
        .await;
    let seen = played.seen();
    let texts = call_texts(&["0 calls  4 reg", "NO LINK", "LINK UP"]);
    let timeline = played.timeline(&texts);
    let s = &played.stats[0];
    assert!(s.events_unreadable >= 257, "{s:?}");
    assert_eq!(s.sessions, 2, "one session dropped by the flood, one after it: {s:?}\n{timeline}");
    assert_eq!(s.attempts, 2, "no reconnect loop: {s:?}");
    assert!(s.last_error.as_deref().is_some_and(|e| e.contains("unreadable events in a row")), "{s:?}");
    let no_link = played.shown_at(&framed("NO LINK")).expect("the flood shows as NO LINK");
    assert!(no_link >= SECS(6), "the single bad event did not drop the link: {timeline}");
    assert_eq!(seen.last().map(|(_, r)| r.clone()), Some(page("0 calls  4 reg")), "{timeline}");
    golden!("truth_malformed", timeline);
}

/// The phone 1000 reboots and registers under a new Call-ID. With sofia's shipped default
/// FreeSWITCH replaces its binding and only says `sofia::register` for the new one: still
/// three registrations. With `multiple-registrations` on (the mock's profile and the server
/// setting alike) the old binding stays: four.
#[tokio::test(start_paused = true)]
async fn a_phone_rebooting_with_a_new_call_id_is_still_one_registration() {
    for multiple in [false, true] {
        let story = calls_story().server(&format!("multiple_registrations = {multiple}\n")).start().await;
        let pbx = story.pbx();
        if multiple {
            pbx.set_multiple_registrations(MultipleRegistrations::CallId);
        }
        let want = if multiple { "0 calls  4 reg" } else { "0 calls  3 reg" };
        let (rec, stats) = story
            .play_from(page("0 calls  3 reg"), || async move {
                pbx.register("1000", Transport::Udp, "Yealink SIP-T46S 66.86.0.160").unwrap();
                sleep(SECS(5)).await;
                let truth = pbx.snapshot().registrations;
                assert_eq!(format!("0 calls  {truth} reg"), want, "the mock's truth");
            })
            .await;
        assert_eq!(rec.last().map(|s| s.rows), Some(page(want)), "multiple_registrations = {multiple}");
        assert_eq!(stats[0].corrections, 0, "right from the events, nothing to correct: {:?}", stats[0]);
    }
}

#[test]
fn reconcile_and_multiple_registrations_are_settings() {
    let text = "[[server]]\nhost = \"pbx\"\nmultiple_registrations = true\n[link]\nreconcile = \"5m\"\n";
    let c = Config::parse(text, None).expect("valid");
    assert!(c.daemon.servers[0].multiple_registrations);
    assert_eq!(c.daemon.link.reconcile, SECS(300));
    let c = Config::parse("[[server]]\nhost = \"pbx\"\n", None).expect("valid");
    assert!(!c.daemon.servers[0].multiple_registrations, "FreeSWITCH's default");
    assert_eq!(c.daemon.link.reconcile, SECS(60));
    let e = Config::parse("[link]\nreconcile = \"0s\"\n", None).expect_err("zero");
    assert!(e.to_string().contains("link.reconcile"), "{e}");
}

/// A PBX with more registrations than one listing may carry: the count comes from `show
/// registrations count`, marked as counted, and the WebRTC figure is unknown rather than
/// made up; no listing is asked, so the session survives.
#[tokio::test(start_paused = true)]
async fn a_big_pbx_shows_counts_marked_and_webrtc_unknown() {
    let story = story(&["{registrations} reg  {webrtc} WebRTC"]).phones().screen(WIDE).start().await;
    let pbx = story.pbx();
    for i in 0..10_000 {
        pbx.register(&format!("{}", 20_000 + i), Transport::Udp, "desk").unwrap();
    }
    let (rec, stats) = story
        .play_from(page("10003~ reg  ?~ WebRTC"), || async move {
            pbx.unregister("20000").unwrap();
            sleep(SECS(3)).await;
        })
        .await;
    assert_eq!(rec.last().map(|s| s.rows), Some(page("10002~ reg  ?~ WebRTC")), "events still count");
    assert_eq!((stats[0].sessions, stats[0].attempts), (1, 1), "{:?}", stats[0]);
}
