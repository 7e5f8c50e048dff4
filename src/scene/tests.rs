use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::status::{CallInfo, CallOutcome, LinkView, Notice, StatusView};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn view(server: &str, calls: u64) -> StatusView {
    StatusView {
        server: server.into(),
        hostname: Some("fs-test".into()),
        version: Some("1.10.12".into()),
        calls: Some(calls),
        channels: Some(calls * 2),
        registrations: Some(10),
        webrtc: Some(1),
        uptime: None,
        sessions_per_sec: Some(0),
        peak: Some(4),
        idle_cpu: Some(99.0),
        gateways_up: 1,
        gateways_total: 1,
        calls_counted: false,
        registrations_counted: false,
        link: LinkView::Up,
        stale: false,
        lines: None,
    }
}

fn page(t: &str) -> Page {
    Page::new(Template::parse(t).expect("test template"))
}

fn scene(pages: &[&str]) -> Scene {
    Scene::new(SceneConfig { pages: pages.iter().map(|p| page(p)).collect(), ..SceneConfig::default() })
}

/// Pages only: link alerts off, to look at what the pages say.
fn quiet_scene(pages: Vec<Page>) -> Scene {
    let alerts = AlertRules { link_down: None, link_up: None, ..AlertRules::default() };
    Scene::new(SceneConfig { pages, alerts, ..SceneConfig::default() })
}

fn alert(text: &str, priority: Priority, secs: u64) -> Alert {
    Alert { text: text.into(), priority, duration: s(secs), style: CueStyle::default() }
}

fn text(sc: &mut Scene, t: Duration) -> String {
    sc.current(t).text
}

#[test]
fn before_any_status_it_says_connecting() {
    let mut sc = scene(&["{calls} calls"]);
    let cue = sc.current(s(0));
    assert_eq!(cue, Cue::text("CONNECTING", CueStyle::default(), CueKind::Page));
    assert_eq!(sc.next_change(s(0)), None);
}

#[test]
fn default_page_and_uptime_ticks() {
    let mut sc = Scene::new(SceneConfig::default());
    let mut v = view("pbx1", 3);
    v.uptime = Some(s(4 * 3600 + 5 * 60 + 6));
    sc.on_status(v, s(10));
    assert_eq!(text(&mut sc, s(10)), "3 calls  10 reg  up 04:05:06");
    assert_eq!(sc.next_change(s(10)), Some(s(11)));
    assert_eq!(text(&mut sc, ms(12_500)), "3 calls  10 reg  up 04:05:08");
    assert_eq!(sc.next_change(ms(12_500)), Some(s(13)));
}

#[test]
fn static_single_page_never_changes_by_itself() {
    let mut sc = scene(&["{calls} calls"]);
    sc.on_status(view("pbx1", 2), s(0));
    assert_eq!(text(&mut sc, s(0)), "2 calls");
    assert_eq!(sc.next_change(s(0)), None);
    assert_eq!(text(&mut sc, s(100_000)), "2 calls");
}

#[test]
fn pages_rotate_every_page_time() {
    let mut sc = scene(&["A {calls}", "B {registrations}"]);
    sc.on_status(view("pbx1", 1), s(0));
    assert_eq!(text(&mut sc, s(0)), "A 1");
    assert_eq!(sc.next_change(s(0)), Some(s(5)));
    assert_eq!(text(&mut sc, ms(4_999)), "A 1");
    assert_eq!(text(&mut sc, s(5)), "B 10");
    assert_eq!(text(&mut sc, s(10)), "A 1");
    // A week later the rotation is still on the slot grid.
    assert_eq!(text(&mut sc, s(7 * 86_400 + 5)), "B 10");
    assert_eq!(sc.next_change(s(7 * 86_400 + 5)), Some(s(7 * 86_400 + 10)));
}

#[test]
fn identical_pages_are_not_a_change() {
    let mut sc = scene(&["same", "same"]);
    sc.on_status(view("pbx1", 1), s(0));
    assert_eq!(sc.next_change(s(0)), None);
}

#[test]
fn link_problems_replace_figures_and_age_counts() {
    let mut sc = quiet_scene(vec![page("{calls} calls")]);
    let mut v = view("pbx1", 3);
    v.link = LinkView::NoLink { down_for: s(100) };
    sc.on_status(v.clone(), s(0));
    let cue = sc.current(s(0));
    assert_eq!(cue.text, "NO LINK 1m");
    assert!(cue.style.frame && !cue.style.invert);
    assert_eq!(sc.next_change(s(0)), Some(s(20)));
    assert_eq!(text(&mut sc, s(20)), "NO LINK 2m");
    for (link, want, blink) in [
        (LinkView::Connecting, "CONNECTING", false),
        (LinkView::AuthFailed, "AUTH FAILED", true),
        (LinkView::AclDenied, "ACL DENIED", true),
        (LinkView::ShuttingDown, "SHUTTING DOWN", false),
    ] {
        v.link = link;
        sc.on_status(v.clone(), s(30));
        let cue = sc.current(s(30));
        assert_eq!((cue.text.as_str(), cue.style.blink), (want, blink));
    }
}

#[test]
fn the_link_state_is_told_in_the_leds_words_even_while_figures_show() {
    let mut sc = scene(&["{calls} calls"]);
    assert_eq!(sc.link_state(s(0)), "CONNECTING", "no status yet");
    sc.on_status(view("pbx1", 3), s(0));
    assert_eq!(text(&mut sc, s(1)), "3 calls");
    assert_eq!(sc.link_state(s(1)), "LINK UP");
    let mut v = view("pbx1", 3);
    v.link = LinkView::NoLink { down_for: s(100) };
    sc.on_status(v.clone(), s(2));
    assert_eq!(sc.link_state(s(2)), "NO LINK 1m");
    assert_eq!(sc.link_state(s(22)), "NO LINK 2m", "the age counts on the clock");
    v.link = LinkView::AuthFailed;
    sc.on_status(v, s(30));
    assert_eq!(sc.link_state(s(30)), "AUTH FAILED");
    sc.on_status(view("pbx2", 0), s(31));
    assert_eq!(sc.link_state(s(31)), "pbx1: AUTH FAILED · pbx2: LINK UP");
}

#[test]
fn link_failures_alert_once_per_outage() {
    let mut sc = scene(&["{calls} calls"]);
    sc.on_status(view("pbx1", 3), s(0));
    sc.on_alert(alert("Alice (1001) → 1000", Priority::High, 8), s(1));
    let mut v = view("pbx1", 3);
    v.link = LinkView::NoLink { down_for: Duration::ZERO };
    sc.on_status(v.clone(), s(2));
    let cue = sc.current(s(2));
    assert_eq!(cue.text, "NO LINK");
    assert_eq!(cue.kind, CueKind::Alert(Priority::Critical));
    assert!(cue.style.frame);
    // The page says it too, with the age, once the alert is over.
    assert_eq!(text(&mut sc, s(5)), "NO LINK 3s");
    // The same outage, reported again with a longer age, and a reconnect attempt: no alert.
    v.link = LinkView::NoLink { down_for: s(10) };
    sc.on_status(v.clone(), s(12));
    v.link = LinkView::Connecting;
    sc.on_status(v.clone(), s(13));
    // The call alert the failure interrupted was dropped: that call can no longer be followed.
    assert_eq!(sc.current(s(13)).kind, CueKind::Page);
    assert_eq!(text(&mut sc, s(13)), "CONNECTING");
    assert_eq!(sc.next_change(s(13)), None);
    v.link = LinkView::AuthFailed;
    sc.on_status(v.clone(), s(14));
    assert_eq!(text(&mut sc, s(14)), "AUTH FAILED", "a different failure is news");
    sc.on_status(view("pbx1", 4), s(30));
    let cue = sc.current(s(30));
    assert_eq!((cue.text.as_str(), cue.kind), ("LINK UP", CueKind::Alert(Priority::Normal)));
    sc.on_status(view("pbx1", 5), s(31));
    assert_eq!(text(&mut sc, s(33)), "5 calls", "no second LINK UP");
}

#[test]
fn stale_figures_are_marked() {
    let mut sc = scene(&["{calls} calls on {hostname}"]);
    let mut v = view("pbx1", 3);
    v.stale = true;
    sc.on_status(v, s(0));
    assert_eq!(text(&mut sc, s(0)), "3~ calls on fs-test");
}

#[test]
fn alert_shows_then_rotation_moves_on() {
    let mut sc = scene(&["A", "B", "C"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("ring", Priority::High, 3), s(2));
    let cue = sc.current(s(2));
    assert_eq!((cue.text.as_str(), cue.kind), ("ring", CueKind::Alert(Priority::High)));
    assert_eq!(sc.next_change(s(2)), Some(s(5)));
    assert_eq!(text(&mut sc, s(5)), "B", "the interrupted page's slot is over");
    assert_eq!(sc.next_change(s(5)), Some(s(10)));
    assert_eq!(text(&mut sc, s(10)), "C");
}

#[test]
fn equal_priority_queues_with_a_page_between() {
    let mut sc = scene(&["A", "B"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("one", Priority::Normal, 4), s(0));
    sc.on_alert(alert("two", Priority::Normal, 4), s(1));
    assert_eq!(text(&mut sc, s(1)), "one");
    assert_eq!(text(&mut sc, s(4)), "B");
    assert_eq!(sc.next_change(s(4)), Some(s(9)));
    assert_eq!(text(&mut sc, ms(8_999)), "B");
    assert_eq!(text(&mut sc, s(9)), "two");
    assert_eq!(text(&mut sc, s(13)), "A");
}

#[test]
fn lower_priority_waits_for_the_gap_too() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("high", Priority::High, 2), s(0));
    sc.on_alert(alert("low", Priority::Low, 2), s(1));
    assert_eq!(text(&mut sc, s(1)), "high", "lower never preempts");
    assert_eq!(text(&mut sc, s(2)), "A");
    assert_eq!(sc.next_change(s(2)), Some(s(7)));
    assert_eq!(text(&mut sc, s(7)), "low");
    assert_eq!(text(&mut sc, s(9)), "A");
    assert_eq!(sc.next_change(s(9)), None);
}

#[test]
fn higher_priority_preempts_and_the_preempted_alert_resumes() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("message", Priority::Normal, 5), s(0));
    sc.on_alert(alert("GW DOWN", Priority::Critical, 3), s(2));
    assert_eq!(sc.current(s(2)).kind, CueKind::Alert(Priority::Critical));
    assert_eq!(text(&mut sc, s(5)), "A", "a page after the critical alert");
    assert_eq!(text(&mut sc, s(10)), "message");
    assert_eq!(sc.next_change(s(10)), Some(s(13)), "resumes with its 3 s left");
    assert_eq!(text(&mut sc, s(13)), "A");
}

#[test]
fn higher_priority_may_cut_into_the_gap() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("ended", Priority::Normal, 2), s(0));
    assert_eq!(text(&mut sc, s(3)), "A");
    sc.on_alert(alert("ring", Priority::High, 2), s(3));
    assert_eq!(text(&mut sc, s(3)), "ring");
    sc.on_alert(alert("same", Priority::Normal, 2), s(3));
    assert_eq!(text(&mut sc, s(5)), "A");
    assert_eq!(text(&mut sc, s(10)), "same");
}

#[test]
fn bursts_collapse_to_the_newest_and_say_how_many_dropped() {
    let mut sc = Scene::new(SceneConfig { pages: vec![page("A")], max_queued: 2, ..SceneConfig::default() });
    sc.on_status(view("pbx1", 1), s(0));
    for i in 0..6 {
        sc.on_alert(alert(&format!("call {i}"), Priority::Normal, 1), s(0));
    }
    // "call 0" shows; 1..5 waited, only the newest two (4, 5) are kept.
    assert_eq!(text(&mut sc, s(0)), "call 0");
    assert_eq!(text(&mut sc, s(6)), "call 4 (+3 more)");
    assert_eq!(text(&mut sc, s(12)), "call 5");
    assert_eq!(text(&mut sc, s(13)), "A");
    assert_eq!(sc.next_change(s(13)), None);
}

#[test]
fn collapsing_drops_lowest_priority_first() {
    let mut sc = Scene::new(SceneConfig { pages: vec![page("A")], max_queued: 2, ..SceneConfig::default() });
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("showing", Priority::Critical, 1), s(0));
    sc.on_alert(alert("high", Priority::High, 1), s(0));
    sc.on_alert(alert("low", Priority::Low, 1), s(0));
    sc.on_alert(alert("normal", Priority::Normal, 1), s(0));
    assert_eq!(text(&mut sc, s(1)), "A", "the gap after a critical holds everything lower");
    assert_eq!(text(&mut sc, s(6)), "high (+1 more)");
    assert_eq!(text(&mut sc, s(7)), "A");
    assert_eq!(text(&mut sc, s(12)), "normal");
}

#[test]
fn multiple_servers_pick_views_and_prefix_link_text() {
    let mut p2 = page("{server} {calls}");
    p2.server = Some("pbx2".into());
    let mut sum = page("sum {calls}");
    sum.server = Some("sum".into());
    let mut sc = quiet_scene(vec![page("{server} {calls}"), p2, sum]);
    sc.on_status(view("pbx1", 1), s(0));
    assert_eq!(text(&mut sc, s(0)), "pbx1 1");
    assert_eq!(text(&mut sc, s(5)), "pbx2: CONNECTING");
    let mut v2 = view("pbx2", 2);
    v2.link = LinkView::AuthFailed;
    sc.on_status(v2, s(6));
    assert_eq!(text(&mut sc, s(6)), "pbx2: AUTH FAILED");
    sc.on_status(view("sum", 3), s(7));
    assert_eq!(text(&mut sc, s(10)), "sum 3");
    sc.on_status(view("pbx2", 5), s(11));
    assert_eq!(text(&mut sc, s(15)), "pbx1 1");
    assert_eq!(text(&mut sc, s(20)), "pbx2 5");
}

#[test]
fn notices_become_alerts_by_rule() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    let call =
        CallInfo { uuid: "u".into(), from: "1001".into(), from_name: Some("Zoë".into()), to: "1000".into() };
    sc.on_notice(&Notice::Incoming(call), s(1));
    let cue = sc.current(s(1));
    assert_eq!(cue.text, "Zoë (1001) → 1000");
    assert_eq!(cue.kind, CueKind::Alert(Priority::High));
    assert!(cue.style.frame);
    assert_eq!(sc.next_change(s(1)), Some(s(9)));
}

fn call(id: &str) -> CallInfo {
    CallInfo { uuid: id.into(), from: format!("10{id}"), from_name: None, to: "1000".into() }
}

fn ring(id: &str) -> Notice {
    Notice::Incoming(call(id))
}

fn answered(id: &str) -> Notice {
    Notice::Answered(call(id))
}

fn ended(id: &str, reason: &str) -> Notice {
    let c = call(id);
    Notice::HungUp(CallOutcome {
        uuid: c.uuid,
        from: c.from,
        from_name: None,
        to: c.to,
        answered: false,
        duration: Duration::ZERO,
        cause: "USER_BUSY".into(),
        sip_status: None,
        reason: reason.into(),
    })
}

#[test]
fn a_ringing_alert_is_replaced_by_the_outcome_at_once() {
    let mut sc = scene(&["A", "B"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_notice(&ring("1"), s(1));
    assert_eq!(text(&mut sc, s(1)), "101 → 1000");
    sc.on_notice(&ended("1", "486 Busy Here"), s(2));
    let cue = sc.current(s(2));
    assert_eq!(cue.text, "101 → 1000: 486 Busy Here", "not 7 s later");
    assert_eq!(cue.kind, CueKind::Alert(Priority::Normal));
    // The outcome shows for its own time, then a page.
    assert_eq!(sc.next_change(s(2)), Some(s(7)));
    assert_eq!(text(&mut sc, s(7)), "B");
}

#[test]
fn ring_answer_hang_up_is_one_run_and_the_gap_follows_its_highest_priority() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_notice(&ring("1"), s(0));
    sc.on_notice(&answered("1"), s(2));
    assert_eq!(sc.current(s(2)).kind, CueKind::Alert(Priority::Low), "answered replaces ringing");
    assert_eq!(text(&mut sc, s(2)), "101 → 1000 answered");
    sc.on_notice(&answered("1"), s(4));
    assert_eq!(sc.next_change(s(4)), Some(s(5)), "a repeated answer does not restart the alert");
    assert_eq!(text(&mut sc, s(5)), "A");
    // Later news about the call is a new alert: the ringing run was High, so a Normal
    // hang-up waits for a whole page.
    sc.on_notice(&ended("1", "0:08"), s(6));
    assert_eq!(text(&mut sc, s(6)), "A");
    assert_eq!(text(&mut sc, s(10)), "101 → 1000: 0:08");
}

#[test]
fn calls_ringing_together_share_one_alert_and_each_leaves_it_at_its_end() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_notice(&ring("1"), s(0));
    sc.on_notice(&ring("2"), s(1));
    // The second call is on the display the instant it rings, not after the first's 8 s.
    assert_eq!(text(&mut sc, s(1)), "2 ringing: 102 → 1000, 101 → 1000");
    assert_eq!(sc.current(s(1)).kind, CueKind::Alert(Priority::High));
    // Its time runs from the newest call.
    assert_eq!(sc.next_change(s(1)), Some(s(9)));
    sc.on_notice(&ring("2"), s(2));
    assert_eq!(sc.next_change(s(2)), Some(s(9)), "a repeated ringing event changes nothing");
    sc.on_notice(&ended("2", "487 Request Terminated"), s(3));
    assert_eq!(text(&mut sc, s(3)), "101 → 1000", "call 2 leaves at once; call 1 still rings");
    sc.on_notice(&ended("1", "486 Busy Here"), s(4));
    let mut shown = Vec::new();
    for t in 4..40 {
        let txt = text(&mut sc, s(t));
        if shown.last() != Some(&txt) {
            shown.push(txt);
        }
    }
    // Call 2's outcome waited behind the ringing and was history before its turn came.
    assert_eq!(shown, ["101 → 1000: 486 Busy Here", "A"]);
}

#[test]
fn the_ringing_alert_names_three_calls_and_counts_the_rest() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    for (i, id) in ["1", "2", "3", "4", "5"].iter().enumerate() {
        sc.on_notice(&ring(id), ms(i as u64 * 200));
    }
    assert_eq!(text(&mut sc, s(1)), "5 ringing: 105 → 1000, 104 → 1000, 103 → 1000 +2");
    sc.on_notice(&answered("4"), s(1));
    assert_eq!(text(&mut sc, s(1)), "4 ringing: 105 → 1000, 103 → 1000, 102 → 1000 +1");
    // The burst holds the display for one alert time after its last call, then a page.
    assert_eq!(sc.next_change(s(1)), Some(ms(8800)));
    assert_eq!(text(&mut sc, ms(8800)), "A");
}

#[test]
fn the_ringing_alert_follows_a_bounded_number_of_calls() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    for i in 0..RINGING_MAX + 50 {
        sc.on_notice(&ring(&(1000 + i).to_string()), ms(i as u64));
    }
    let newest = 1000 + RINGING_MAX + 49;
    let cue = sc.current(s(1));
    assert!(cue.text.starts_with(&format!("{RINGING_MAX} ringing: 10{newest} → 1000")), "{}", cue.text);
    // The oldest left the alert; their end changes nothing, a followed call's does.
    sc.on_notice(&ended("1000", "487 Request Terminated"), s(1));
    assert!(text(&mut sc, s(1)).starts_with(&format!("{RINGING_MAX} ringing")));
    sc.on_notice(&ended(&newest.to_string(), "487 Request Terminated"), s(1));
    assert!(text(&mut sc, s(1)).starts_with(&format!("{} ringing", RINGING_MAX - 1)));
}

#[test]
fn a_ringing_call_passes_the_page_gap_and_preempts_an_equal_alert() {
    let mut sc = scene(&["A", "B"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_notice(&ring("1"), s(0));
    sc.on_notice(&ended("1", "486 Busy Here"), s(1));
    // The outcome shows; a second call rings a second later and is shown at once, not after
    // the outcome and a whole page.
    sc.on_notice(&ring("2"), s(2));
    assert_eq!(text(&mut sc, s(2)), "102 → 1000");
    // The first call's outcome it set aside is history by the time the ringing ends.
    assert_eq!(text(&mut sc, s(10)), "B");
    // Right after that run, a new call passes the page gap too.
    sc.on_notice(&ring("3"), s(11));
    assert_eq!(text(&mut sc, s(11)), "103 → 1000");
    // An equal alert that is not a ringing call still waits for the run and a page.
    sc.on_alert(alert("GW carrier DOWN", Priority::High, 4), s(12));
    assert_eq!(text(&mut sc, s(12)), "103 → 1000");
    assert_eq!(text(&mut sc, s(19)), "A");
    assert_eq!(text(&mut sc, s(24)), "GW carrier DOWN");
    // And a ringing call preempts it; the gateway alert resumes with the time it had left
    // once the ringing run ends and a page has shown.
    sc.on_notice(&ring("4"), s(25));
    assert_eq!(text(&mut sc, s(25)), "104 → 1000");
    assert_eq!(text(&mut sc, s(33)), "B");
    assert_eq!(text(&mut sc, s(38)), "GW carrier DOWN");
    assert_eq!(sc.next_change(s(38)), Some(s(41)));
}

#[test]
fn a_link_failure_passes_the_page_gap_of_an_earlier_failure() {
    let mut sc = Scene::new(SceneConfig { pages: vec![page("{calls} calls")], ..SceneConfig::default() });
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_status(view("pbx2", 1), s(0));
    let mut down = view("pbx1", 1);
    down.link = LinkView::NoLink { down_for: Duration::ZERO };
    sc.on_status(down, s(1));
    assert_eq!(text(&mut sc, s(1)), "pbx1: NO LINK");
    // Its 3 s end at 4; the page gap holds Critical alerts until 9, but the page shows pbx1's
    // figures, not pbx2's: pbx2's failure must not wait for the gap.
    let mut down2 = view("pbx2", 1);
    down2.link = LinkView::AuthFailed;
    sc.on_status(down2, s(5));
    assert_eq!(text(&mut sc, s(5)), "pbx2: AUTH FAILED");
}

#[test]
fn a_call_whose_outcome_is_turned_off_just_ends_its_alert() {
    let alerts = AlertRules { hung_up: None, ..AlertRules::default() };
    let mut sc = Scene::new(SceneConfig { pages: vec![page("A")], alerts, ..SceneConfig::default() });
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_notice(&ring("1"), s(0));
    sc.on_notice(&ended("1", "486 Busy Here"), ms(1500));
    assert_eq!(text(&mut sc, ms(1500)), "A");
}

#[test]
fn a_call_found_gone_by_a_reconcile_ends_its_alert() {
    let mut sc = scene(&["A"]);
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_notice(&ring("1"), s(0));
    sc.on_notice(&ring("2"), s(1));
    sc.on_notice(&Notice::Gone("2".into()), s(2));
    sc.on_notice(&Notice::Gone("1".into()), s(3));
    assert_eq!(text(&mut sc, s(3)), "A");
    assert_eq!(text(&mut sc, s(30)), "A", "the waiting one is gone too");
}

#[test]
fn time_going_backwards_is_treated_as_now() {
    let mut sc = scene(&["A", "B"]);
    sc.on_status(view("pbx1", 1), s(0));
    assert_eq!(text(&mut sc, s(6)), "B");
    assert_eq!(text(&mut sc, s(1)), "B");
    sc.on_alert(alert("x", Priority::Low, 1), s(0));
    assert_eq!(text(&mut sc, s(6)), "x");
}

#[test]
fn zero_page_time_and_zero_duration_alerts_terminate() {
    let mut sc = Scene::new(SceneConfig {
        pages: vec![page("A"), page("B")],
        page_time: Duration::ZERO,
        ..SceneConfig::default()
    });
    sc.on_status(view("pbx1", 1), s(0));
    sc.on_alert(alert("blip", Priority::Normal, 0), s(0));
    sc.on_alert(alert("blip2", Priority::Normal, 0), s(0));
    let _ = sc.current(s(3600));
    assert!(sc.next_change(s(3600)).is_some());
}

/// A scene's history, sampled every 100 ms: runs of (text, kind) with their start times.
fn history(
    pages: usize,
    page_time: u64,
    events: &[(u64, u8, u64)],
    until: u64,
) -> Vec<(String, CueKind, u64)> {
    let names = ["A", "B", "C"];
    let mut sc = Scene::new(SceneConfig {
        pages: (0..pages).map(|i| page(names[i])).collect(),
        page_time: s(page_time),
        max_queued: 3,
        ..SceneConfig::default()
    });
    sc.on_status(view("pbx1", 1), s(0));
    let prios = [Priority::Low, Priority::Normal, Priority::High, Priority::Critical];
    let mut runs: Vec<(String, CueKind, u64)> = Vec::new();
    let mut next_event = 0;
    for tick in 0..=until * 10 {
        let t = ms(tick * 100);
        while next_event < events.len() && events[next_event].0 * 10 <= tick {
            let (_, p, d) = events[next_event];
            sc.on_alert(alert(&format!("alert {next_event}"), prios[p as usize % 4], d), t);
            next_event += 1;
        }
        let cue = sc.current(t);
        if runs.last().map(|(txt, k, _)| (txt.as_str(), *k)) != Some((cue.text.as_str(), cue.kind)) {
            runs.push((cue.text, cue.kind, tick * 100));
        }
    }
    runs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// After an alert ends, the next alert of the same or lower priority comes only after a
    /// page has shown for a whole page_time.
    #[test]
    fn pages_are_never_starved(
        pages in 1usize..4,
        page_time in 1u64..4,
        mut events in proptest::collection::vec((0u64..30, 0u8..4, 1u64..5), 0..12),
    ) {
        events.sort_by_key(|e| e.0);
        let runs = history(pages, page_time, &events, 80);
        for w in runs.windows(3) {
            if let (CueKind::Alert(p), CueKind::Page, CueKind::Alert(q)) = (w[0].1, w[1].1, w[2].1) {
                if q <= p {
                    prop_assert!(w[2].2 - w[1].2 >= page_time * 1000, "{w:?}");
                }
            }
        }
        for w in runs.windows(2) {
            if let (CueKind::Alert(p), CueKind::Alert(q)) = (w[0].1, w[1].1) {
                // Back to back only by preemption or by a strictly higher alert.
                prop_assert!(q > p, "{w:?}");
            }
        }
    }

    /// next_change predicts exactly: nothing changes before it, something changes at it.
    #[test]
    fn next_change_is_exact(
        mut events in proptest::collection::vec((0u64..20, 0u8..4, 1u64..4), 0..8),
        probe in 0u64..300,
    ) {
        events.sort_by_key(|e| e.0);
        let mut sc = scene(&["A", "B {calls}"]);
        let mut v = view("pbx1", 1);
        v.uptime = Some(s(3590));
        sc.on_status(v, s(0));
        let prios = [Priority::Low, Priority::Normal, Priority::High, Priority::Critical];
        for (i, (at, p, d)) in events.iter().enumerate() {
            sc.on_alert(alert(&format!("a{i}"), prios[*p as usize], *d), s(*at));
        }
        let now = ms(20_000 + probe * 100);
        let here = sc.current(now);
        let next = sc.next_change(now);
        if let Some(t) = next {
            prop_assert!(t > now);
            let mut copy = sc.clone();
            prop_assert_eq!(copy.current(t - ms(1)), here.clone());
            prop_assert_ne!(copy.current(t), here);
        }
    }
}

/// Which call an alert text is about (`10<id> → 1000…`), if any.
fn call_of(text: &str) -> Option<&str> {
    text.strip_prefix("10")?.split_once(" → 1000").map(|(id, _)| id)
}

/// Appends the scene's cue at `tick` (tenths of a second) with its run's priority to
/// `runs` when it differs from the last one.
fn record(runs: &mut Vec<(String, CueKind, Option<Priority>, u64)>, sc: &mut Scene, tick: u64) {
    let cue = sc.current(ms(tick * 100));
    let run = match &sc.showing {
        Showing::Alert { run, .. } => Some(*run),
        Showing::Page { .. } => None,
    };
    if runs.last().map(|(txt, k, r, _)| (txt.as_str(), *k, *r)) != Some((cue.text.as_str(), cue.kind, run)) {
        runs.push((cue.text, cue.kind, run, tick * 100));
    }
}

/// The calls a ringing alert names (`2 ringing: 101 → 1000, 100 → 1000`, or one call's
/// label alone); empty for any other text.
fn ringing_calls(text: &str) -> Vec<&str> {
    let list = text.split_once(" ringing: ").map_or(text, |(_, l)| l);
    let list = list.rsplit_once(" +").map_or(list, |(l, _)| l);
    let one = list.split(", ").map(call_of).collect::<Option<Vec<_>>>().unwrap_or_default();
    let plain = !text.contains(": 486") && !text.contains("answered");
    if plain {
        one
    } else {
        Vec::new()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random calls (ringing, maybe answered, ended) mixed with other alerts: an alert about
    /// a call never shows after the call ended except as its outcome, the outcome replaces a
    /// showing alert at the instant of the hang-up, and pages are still never starved.
    #[test]
    fn alerts_follow_their_call_and_pages_are_not_starved(
        calls in proptest::collection::vec((0u64..200, 0u64..80, any::<bool>(), 1u64..60), 0..5),
        others in proptest::collection::vec((0u64..300, 0u8..4, 1u64..5), 0..5),
        page_time in 1u64..4,
    ) {
        // (tenths of a second, what): 0 ring, 1 answer, 2 hang up, 3 another alert.
        let mut events: Vec<(u64, u8, usize)> = Vec::new();
        for (i, (start, ring_for, answer, talk)) in calls.iter().enumerate() {
            events.push((*start, 0, i));
            if *answer {
                events.push((start + ring_for, 1, i));
                events.push((start + ring_for + talk, 2, i));
            } else {
                events.push((start + ring_for, 2, i));
            }
        }
        for (i, (at, _, _)) in others.iter().enumerate() {
            events.push((*at, 3, i));
        }
        events.sort();
        let mut sc = Scene::new(SceneConfig {
            pages: vec![page("A"), page("B")],
            page_time: s(page_time),
            ..SceneConfig::default()
        });
        sc.on_status(view("pbx1", 1), s(0));
        let prios = [Priority::Low, Priority::Normal, Priority::High, Priority::Critical];
        let mut ended_at: Vec<Option<u64>> = vec![None; calls.len()];
        // (text, kind, the run's priority, start in ms)
        let mut runs: Vec<(String, CueKind, Option<Priority>, u64)> = Vec::new();
        let mut next = 0;
        for tick in 0..=600u64 {
            let t = ms(tick * 100);
            // What the tick's own transitions show before its events act.
            record(&mut runs, &mut sc, tick);
            while next < events.len() && events[next].0 <= tick {
                let (_, what, i) = events[next];
                let id = i.to_string();
                match what {
                    0 => {
                        sc.on_notice(&ring(&id), t);
                        // A new call is on the display the instant it rings, unless a
                        // strictly higher alert shows or waits.
                        let now = sc.clone().current(t);
                        let critical = |w: &Waiting| w.alert.priority == Priority::Critical;
                        if now.kind != CueKind::Alert(Priority::Critical) && !sc.queue.iter().any(critical) {
                            prop_assert!(ringing_calls(&now.text).contains(&id.as_str()), "{} at {tick}", now.text);
                        }
                    }
                    1 => sc.on_notice(&answered(&id), t),
                    2 => {
                        let before = sc.clone().current(t);
                        sc.on_notice(&ended(&id, "486 Busy Here"), t);
                        ended_at[i] = Some(tick);
                        if call_of(&before.text) == Some(id.as_str()) {
                            let now = sc.clone().current(t);
                            prop_assert!(now.text.starts_with(&format!("10{id} → 1000: 486 Busy Here")), "{}", now.text);
                        }
                    }
                    _ => {
                        let (_, p, d) = others[i];
                        sc.on_alert(alert(&format!("alert {i}"), prios[p as usize], d), t);
                    }
                }
                // Events of one tick each leave their picture: a call that joins the ringing
                // alert and leaves it in the same tick is two changes, not one.
                record(&mut runs, &mut sc, tick);
                next += 1;
            }
            let cue = sc.current(t);
            for id in ringing_calls(&cue.text) {
                let i: usize = id.parse().expect("call id");
                prop_assert!(ended_at[i].is_none(), "{} rings after call {id} ended", cue.text);
            }
            if let Some(id) = call_of(&cue.text) {
                let i: usize = id.parse().expect("call id");
                if ended_at[i].is_some() {
                    // Possibly with a "(+N more)" suffix for alerts dropped from a burst.
                    prop_assert!(cue.text.contains(": 486 Busy Here"), "{} after the call ended", cue.text);
                }
            }
            record(&mut runs, &mut sc, tick);
        }
        for w in runs.windows(2) {
            if let (Some(p), Some(q)) = (w[0].2, w[1].2) {
                let same_call = call_of(&w[0].0).is_some() && call_of(&w[0].0) == call_of(&w[1].0);
                // Back to back only when news replaces its call's alert, by preemption, or
                // for ringing calls, which never wait their turn.
                let ringing = !ringing_calls(&w[1].0).is_empty();
                prop_assert!(same_call || q > p || ringing, "{w:?}");
            }
        }
        for w in runs.windows(3) {
            if let (Some(p), None, Some(q)) = (w[0].2, w[1].2, w[2].2) {
                if q <= p && ringing_calls(&w[2].0).is_empty() {
                    prop_assert!(w[2].3 - w[1].3 >= page_time * 1000, "{w:?}");
                }
            }
        }
    }
}

#[test]
fn pages_load_from_config_and_bad_fields_are_named() {
    // The config's page table, as far as the scene's types read it.
    #[derive(serde::Deserialize)]
    struct PageTable {
        #[allow(dead_code)]
        template: Template,
        server: Option<String>,
        #[serde(default)]
        style: CueStyle,
    }
    #[derive(serde::Deserialize)]
    struct Config {
        pages: Vec<PageTable>,
    }
    let c: Config = toml::from_str(
        r#"pages = [
            { template = "{calls} calls" },
            { template = "{webrtc} webrtc", server = "pbx2", style = { invert = true, scroll = "never", align = "left" } },
        ]"#,
    )
    .expect("valid config");
    assert_eq!(c.pages[0].style, CueStyle::default());
    assert_eq!(c.pages[1].server.as_deref(), Some("pbx2"));
    assert_eq!(
        c.pages[1].style,
        CueStyle {
            scroll: ScrollPolicy::Never,
            align: Align::Left,
            invert: true,
            blink: false,
            frame: false
        }
    );
    let err = toml::from_str::<Config>(r#"pages = [{ template = "{bogus}" }]"#).err().map(|e| e.to_string());
    assert!(err.as_deref().is_some_and(|e| e.contains("unknown template field {bogus}")), "{err:?}");
}

/// Captured events through the status model into the scene, on one clock.
#[test]
fn status_to_scene_end_to_end() {
    use crate::status::fixtures::{fixture, inner_event};
    use crate::status::{HeaderMap, LinkState, PbxStatus, RefreshCommand as Cmd, RefreshResult};

    let start = tokio::time::Instant::now();
    let at = |secs: u64| start + s(secs);
    let mut pbx = PbxStatus::new("office");
    let mut sc = scene(&["{calls} calls  {registrations} reg  up {uptime}"]);
    sc.on_status(pbx.view(at(0)), s(0));
    assert_eq!(text(&mut sc, s(0)), "CONNECTING");

    pbx.set_link(LinkState::Up);
    pbx.begin_refresh();
    let mut r = RefreshResult::default();
    r.record(&Cmd::Status, &fixture("esl-status/api_status_RECONSTRUCTED_1.10.txt")).expect("status");
    r.record(&Cmd::CallsCount, &fixture("esl-status/show_calls_count_RECONSTRUCTED.txt")).expect("count");
    r.record(&Cmd::ChannelsCount, "\n6 total.\n").expect("count");
    r.record(&Cmd::RegistrationsCount, "\n12 total.\n").expect("count");
    pbx.apply_refresh(&r, at(1));
    sc.on_status(pbx.view(at(1)), s(1));
    // Counts, not channels followed one by one: marked.
    assert_eq!(text(&mut sc, s(1)), "3~ calls  12~ reg  up 2d 03:04");

    let hb = HeaderMap::from_plain(inner_event(&fixture(
        "esl-status/event_heartbeat_RECONSTRUCTED_1.10_wire.txt",
    )));
    pbx.apply_event(&hb, at(20));
    sc.on_status(pbx.view(at(20)), s(20));
    // Counts mode: the heartbeat's Session-Count (2) re-bases channels, and calls cannot
    // exceed channels.
    assert_eq!(text(&mut sc, s(20)), "2~ calls  12~ reg  up 2d 03:04");

    let create = HeaderMap::from_plain(&fixture("esl-status/event_channel_create_DECODED_greenswitch.txt"));
    let notice = pbx.apply_event(&create, at(21)).expect("an inbound call is news");
    sc.on_notice(&notice, s(21));
    sc.on_status(pbx.view(at(21)), s(21));
    assert_eq!(text(&mut sc, s(21)), "edev - 100 (100) → 101");
    assert_eq!(text(&mut sc, s(29)), "3~ calls  12~ reg  up 2d 03:04");

    let hangup = HeaderMap::from_plain(&format!(
        "{}\n",
        [
            "Event-Name: CHANNEL_HANGUP_COMPLETE",
            "Unique-ID: d0b1da34-a727-11e4-9728-6f83a2e5e50a",
            "Call-Direction: inbound",
            "Caller-Caller-ID-Number: 100",
            "Caller-Destination-Number: 101",
            "Hangup-Cause: USER_BUSY",
            "variable_proto_specific_hangup_cause: sip%3A486",
        ]
        .join("\n")
    ));
    let notice = pbx.apply_event(&hangup, at(40)).expect("hang-up is news");
    sc.on_notice(&notice, s(40));
    sc.on_status(pbx.view(at(40)), s(40));
    assert_eq!(text(&mut sc, s(40)), "100 → 101: 486 Busy Here");
    assert_eq!(text(&mut sc, s(45)), "2~ calls  12~ reg  up 2d 03:04");

    pbx.set_link(LinkState::NoLink { since: at(50) });
    sc.on_status(pbx.view(at(50)), s(50));
    assert_eq!(text(&mut sc, s(50)), "NO LINK");
    assert_eq!(text(&mut sc, s(173)), "NO LINK 2m");
    pbx.set_link(LinkState::Up);
    sc.on_status(pbx.view(at(180)), s(180));
    assert_eq!(text(&mut sc, s(180)), "LINK UP");
    // Up again, not yet refreshed: the uptime stays at what the server last vouched for.
    assert_eq!(text(&mut sc, s(183)), "2~ calls  12~ reg  up 2d 03:04~", "up again, not yet refreshed");
}

#[test]
fn a_blf_page_shows_lamps_only_when_the_view_vouches_for_them() {
    use crate::render::Lamp;
    use crate::status::{LineState, LineStates};
    let exts: std::sync::Arc<[String]> = ["1001", "1000", "1002"].iter().map(|e| (*e).to_owned()).collect();
    let mut sc = quiet_scene(vec![Page::lamps(exts)]);
    let mut v = view("pbx", 1);
    v.lines = Some(LineStates::from_pairs(&[
        ("1000", LineState::Ringing),
        ("1001", LineState::Held),
        ("1002", LineState::Unregistered),
    ]));
    sc.on_status(v.clone(), s(0));
    let cue = sc.current(s(0));
    let lamps = cue.lamps.expect("lamps");
    assert_eq!(lamps.lamps, [Lamp::SlowBlink, Lamp::FastBlink, Lamp::Faint], "in the page's order");
    assert_eq!(&lamps.extensions[..], ["1001", "1000", "1002"]);
    assert_eq!(sc.next_change(s(0)), None, "the scene has nothing to change; the lamps blink by themselves");

    sc.on_status(StatusView { stale: true, ..v.clone() }, s(1));
    let cue = sc.current(s(1));
    assert_eq!((cue.text.as_str(), cue.lamps.is_none()), (LAMPS_STALE, true));
    sc.on_status(StatusView { lines: None, ..v.clone() }, s(2));
    assert_eq!(sc.current(s(2)).text, LAMPS_UNKNOWN);
    let missing = LineStates::from_pairs(&[("1000", LineState::Idle)]);
    sc.on_status(StatusView { lines: Some(missing), ..v.clone() }, s(3));
    assert_eq!(sc.current(s(3)).text, LAMPS_UNKNOWN, "an extension not followed is not guessed");
    sc.on_status(StatusView { link: LinkView::NoLink { down_for: s(5) }, ..v }, s(4));
    let cue = sc.current(s(4));
    assert_eq!((cue.text.as_str(), cue.style.frame), ("NO LINK 5s", true), "as other pages say it");
}
