//! The shipped scenarios run to completion under paused time and leave the expected
//! state; bad scenario text gives one-line errors naming step and key, never a panic.

use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::fault::{Fault, FaultControl, Target};
use eslmatrix_sim::fs::pbx::scenario::{Action, Repeat, RunReport, Scenario, ScenarioError};
use eslmatrix_sim::fs::pbx::{Pbx, PbxConfig, Transport};
use proptest::prelude::*;
use tokio::sync::broadcast::Receiver;
use tokio::time::Instant;

fn shipped(name: &str) -> Scenario {
    let path = format!("{}/../fixtures/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(ev);
    }
    out
}

async fn play(scenario: &Scenario) -> (Pbx, Vec<Arc<Event>>, RunReport, Duration) {
    // Seeded: reproducible runs are what --seed is for (without it every start is fresh).
    let pbx = Pbx::new(PbxConfig { seed: Some(11), ..PbxConfig::default() });
    let mut rx = pbx.subscribe();
    let start = Instant::now();
    let report = scenario.run(&pbx, &FaultControl::new()).await;
    let took = start.elapsed();
    let events = drain(&mut rx);
    (pbx, events, report, took)
}

/// Event names (subclass for CUSTOM), without the state-machine events pbx_events checks
/// (CHANNEL_CALLSTATE, CHANNEL_STATE, CODEC, EXECUTE, OUTGOING, ORIGINATE, DESTROY…).
fn names(events: &[Arc<Event>]) -> Vec<&str> {
    const LIFECYCLE: [&str; 9] = [
        "CHANNEL_CALLSTATE",
        "CHANNEL_STATE",
        "CODEC",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_OUTGOING",
        "CHANNEL_ORIGINATE",
        "CHANNEL_DESTROY",
        "CHANNEL_PARK",
    ];
    events
        .iter()
        .map(|e| e.subclass().or(e.name()).unwrap_or(""))
        .filter(|n| !LIFECYCLE.contains(n))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn webrtc_click_to_call() {
    let (pbx, events, report, took) = play(&shipped("webrtc-click-to-call")).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(took, Duration::from_secs(26), "2 s + 4 s ringing + 20 s talk");
    assert_eq!(
        names(&events),
        [
            "sofia::register",
            "sofia::register",
            "CHANNEL_CREATE",
            "CHANNEL_CREATE",
            "CHANNEL_PROGRESS",
            "CHANNEL_PROGRESS",
            "CHANNEL_ANSWER",
            "CHANNEL_ANSWER",
            "CHANNEL_BRIDGE",
            "CHANNEL_HANGUP",
            "CHANNEL_UNBRIDGE",
            "CHANNEL_HANGUP",
            "CHANNEL_HANGUP_COMPLETE",
            "CHANNEL_HANGUP_COMPLETE"
        ]
    );
    assert_eq!(events[0].get("status"), Some("Registered(WSS-NAT)"));
    assert_eq!(events[0].get("user-agent"), Some("SIP.js/0.21.2 (Chrome)"));
    let create = events.iter().find(|e| e.name() == Some("CHANNEL_CREATE")).unwrap();
    assert_eq!(create.get("Caller-Caller-ID-Name"), Some("Web Visitor"));
    assert_eq!(create.get("variable_sip_via_protocol"), Some("wss"));
    let regs = pbx.registrations();
    assert!(regs.iter().all(|r| r.transport == Transport::Wss));
    let snap = pbx.snapshot();
    assert_eq!((snap.registrations, snap.channels, snap.counters.since_startup), (2, 0, 2));
}

#[tokio::test(start_paused = true)]
async fn originate_from_an_esl_client() {
    let (pbx, events, report, took) = play(&shipped("originate")).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(took, Duration::from_secs(16));
    let bridge = events.iter().find(|e| e.name() == Some("CHANNEL_BRIDGE")).expect("bridged");
    assert_eq!(bridge.get("Call-Direction"), Some("outbound"));
    assert_eq!(bridge.get("Caller-Destination-Number"), Some("1000"));
    assert_eq!(bridge.get("Caller-Caller-ID-Number"), Some("0000000000"));
    assert_eq!(bridge.get("Other-Leg-Destination-Number"), Some("1001"));
    let completes: Vec<&Arc<Event>> =
        events.iter().filter(|e| e.name() == Some("CHANNEL_HANGUP_COMPLETE")).collect();
    assert_eq!(completes.len(), 2);
    assert!(completes.iter().all(|e| e.get("Hangup-Cause") == Some("NORMAL_CLEARING")));
    assert_eq!(pbx.snapshot().channels, 0);
}

#[tokio::test(start_paused = true)]
async fn rejections_in_turn() {
    let (pbx, events, report, _) = play(&shipped("rejections")).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let b_causes: Vec<&str> = events
        .iter()
        .filter(|e| {
            e.name() == Some("CHANNEL_HANGUP_COMPLETE") && e.get("Call-Direction") == Some("outbound")
        })
        .map(|e| e.get("Hangup-Cause").unwrap())
        .collect();
    assert_eq!(b_causes, ["USER_BUSY", "UNALLOCATED_NUMBER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL"]);
    let statuses: Vec<Option<&str>> = events
        .iter()
        .filter(|e| {
            e.name() == Some("CHANNEL_HANGUP_COMPLETE") && e.get("Call-Direction") == Some("outbound")
        })
        .map(|e| e.get("variable_sip_term_status"))
        .collect();
    assert_eq!(statuses, [Some("486"), Some("404"), Some("480"), None]);
    assert!(events.iter().all(|e| e.name() != Some("CHANNEL_ANSWER")));
    let snap = pbx.snapshot();
    assert_eq!((snap.channels, snap.counters.since_startup), (0, 8));
    let profile = match pbx.api("sofia", "status profile internal") {
        eslmatrix_sim::fs::pbx::ApiOutput::Text(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(profile.contains(
        "CALLS-IN         \t4\nFAILED-CALLS-IN  \t4\nCALLS-OUT        \t4\nFAILED-CALLS-OUT \t4\n"
    ));
}

#[tokio::test(start_paused = true)]
async fn busy_office_is_reproducible() {
    let scenario = shipped("busy-office");
    let calls = scenario.timeline().filter(|s| matches!(s.action, Action::Call(_))).count();
    assert!(calls > 40, "{calls} calls in 10 minutes at 8/min");
    let (pbx, events, report, _) = play(&scenario).await;
    assert_eq!(report.calls, calls);
    assert_eq!(pbx.snapshot().channels, 0, "every call ended");
    assert_eq!(pbx.snapshot().registrations, 20);
    let (_, again, _, _) = play(&scenario).await;
    let key = |e: &Arc<Event>| {
        (
            e.name().map(str::to_string),
            e.get("Unique-ID").map(str::to_string),
            e.get("Hangup-Cause").map(str::to_string),
            e.get("Event-Date-Timestamp").map(str::to_string),
        )
    };
    assert_eq!(events.iter().map(key).collect::<Vec<_>>(), again.iter().map(key).collect::<Vec<_>>());
    let answered = events.iter().filter(|e| e.name() == Some("CHANNEL_BRIDGE")).count();
    assert!(answered * 2 > calls, "most calls are answered: {answered} of {calls}");
}

#[tokio::test(start_paused = true)]
async fn demo_loops() {
    let mut demo = shipped("demo");
    assert_eq!(demo.repeat, Repeat::Forever);
    demo.repeat = Repeat::Times(2);
    let (pbx, events, report, took) = play(&demo).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.passes, 2);
    assert_eq!(took, Duration::from_secs(240), "two passes of the 120 s period");
    let count = |n: &str| names(&events).iter().filter(|x| **x == n).count();
    assert_eq!(count("eslmatrix::message"), 2);
    assert_eq!(count("sofia::gateway_state"), 5, "up, down, up; then down, up in the second pass");
    assert!(count("CHANNEL_BRIDGE") >= 8);
    assert!(events.iter().any(|e| e.get("Hangup-Cause") == Some("GATEWAY_DOWN")));
    assert!(events.iter().any(|e| e.get("status") == Some("Registered(WS-NAT)")));
    let snap = pbx.snapshot();
    assert_eq!((snap.registrations, snap.channels), (4, 0));
}

#[tokio::test(start_paused = true)]
async fn fault_steps_reach_the_fault_control() {
    let scenario = Scenario::parse(
        r#"
        [[step]]
        at = "1s"
        action = "fault"
        kind = "split_writes"
        max = 1

        [[step]]
        at = "2s"
        action = "fault"
        kind = "restart"
        down_ms = 500
        connection = 2
        "#,
    )
    .unwrap();
    let faults = FaultControl::new();
    let mut rx = faults.subscribe();
    let pbx = Pbx::new(PbxConfig::default());
    scenario.run(&pbx, &faults).await;
    assert_eq!(rx.try_recv().unwrap(), (Target::All, Fault::SplitWrites { max: 1 }));
    assert_eq!(rx.try_recv().unwrap(), (Target::Connection(2), Fault::Restart { down_ms: 500 }));
}

#[test]
fn errors_name_the_step_and_key() {
    let cases = [
        ("[[step]]\nat = \"1s\"\naction = \"dance\"", "step 1 (dance): key \"action\": unknown action \"dance\""),
        ("[[step]]\naction = \"register\"\nuser = \"1000\"", "step 1 (register): key \"at\": missing"),
        (
            "[[step]]\nat = \"1x\"\naction = \"message\"\ntext = \"hi\"",
            "step 1 (message): key \"at\": invalid duration unit",
        ),
        (
            "[[step]]\nat = \"0s\"\naction = \"register\"\nuser = \"1000\"\ntransport = \"sctp\"",
            "step 1 (register): key \"transport\": unknown transport \"sctp\"",
        ),
        (
            "[[step]]\nat = \"0s\"\naction = \"call\"\nfrom = \"1000\"\nto = \"1001\"\noutcome = \"maybe\"",
            "step 1 (call): key \"outcome\": unknown outcome \"maybe\"",
        ),
        (
            "[[step]]\nat = \"0s\"\naction = \"call\"\nfrom = \"1000\"\nto = \"1001\"\noutcome = \"busy\"\ntalk_for = \"3s\"",
            "step 1 (call): key \"talk_for\": only an answered call talks",
        ),
        (
            "[[step]]\nat = \"0s\"\naction = \"message\"\ntext = \"a\"\n[[step]]\nat = \"0s\"\naction = \"unregister\"\nuser = \"10 00\"",
            "step 2 (unregister): key \"user\": invalid user",
        ),
        (
            "[[step]]\nat = \"2s\"\naction = \"message\"\ntext = \"a\"\n[[step]]\nat = \"1s\"\naction = \"message\"\ntext = \"b\"",
            "step 2 (message): key \"at\": steps must be in time order",
        ),
        ("[[step]]\nat = \"0s\"\naction = \"message\"\ntext = \"a\"\ncolour = \"red\"", "step 1 (message): key \"colour\": unknown key"),
        ("[[step]]\nat = \"0s\"\naction = \"fault\"\nkind = \"explode\"", "step 1 (fault): key \"kind\": unknown variant"),
        ("[[step]]\nat = \"0s\"\naction = \"gateway\"\nname = \"carrier\"\nstate = \"sideways\"", "step 1 (gateway): key \"state\""),
        ("repeat = 0", "key \"repeat\": expected a count of at least 1"),
        ("repeat = \"forever\"", "key \"repeat\": a scenario that repeats forever needs steps"),
        ("speed = 2", "key \"speed\": unknown key"),
        ("[generator]\ncalls_per_minute = 1\nusers = 3\nduration = \"1m\"", "key \"generator.seed\": missing"),
        ("[generator]\nseed = 1\ncalls_per_minute = 0\nusers = 3\nduration = \"1m\"", "key \"generator.calls_per_minute\""),
        ("[generator]\nseed = 1\ncalls_per_minute = 1\nusers = 1\nduration = \"1m\"", "key \"generator.users\""),
        ("name = ", "invalid TOML"),
        ("multiple_registrations = \"sometimes\"", "key \"multiple_registrations\": expected true, false"),
        (
            "[[step]]\nat = \"0s\"\naction = \"register\"\nuser = \"1000\"\nexpires = 0",
            "step 1 (register): key \"expires\": expected seconds, at least 1",
        ),
        (
            "[generator]\nseed = 1\ncalls_per_minute = 60001\nusers = 3\nduration = \"1m\"",
            "key \"generator.calls_per_minute\": must be above 0 and at most 60000",
        ),
        ("[generator]\nseed = 1\ncalls_per_minute = 1\nusers = 100001\nduration = \"1m\"", "key \"generator.users\""),
        (
            "[[step]]\nat = \"0s\"\naction = \"call\"\nfrom = \"1000\"\nto = \"1001\"\nhold_after = \"1s\"",
            "step 1 (call): key \"hold_for\": missing",
        ),
        (
            "[[step]]\nat = \"0s\"\naction = \"call\"\nfrom = \"1000\"\nto = \"1001\"\noutcome = \"busy\"\nhold_after = \"1s\"\nhold_for = \"1s\"",
            "step 1 (call): key \"hold_after\": only an answered call is held",
        ),
        (
            "[[step]]\nat = \"0s\"\naction = \"call\"\nfrom = \"1000\"\nto = \"1001\"\ntalk_for = \"5s\"\nhold_after = \"2s\"\nhold_for = \"4s\"",
            "step 1 (call): key \"hold_for\": hold_after + hold_for must fit in talk_for",
        ),
    ];
    for (input, expected) in cases {
        let err = Scenario::parse(input).expect_err(input).to_string();
        assert!(err.starts_with(expected), "{input:?}\n  got:  {err}\n  want: {expected}");
        assert!(!err.contains('\n'), "one line: {err:?}");
    }
    assert!(matches!(Scenario::load("no/such/file.toml"), Err(ScenarioError::Io { .. })));
}

#[test]
fn every_shipped_scenario_parses() {
    for name in ["webrtc-click-to-call", "originate", "busy-office", "rejections", "demo"] {
        let s = shipped(name);
        assert_eq!(s.name, name);
        let timeline: Vec<_> = s.timeline().collect();
        assert!(!timeline.is_empty());
        assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(Scenario::builtin(name), Some(Ok(s)), "the embedded copy is the file");
    }
    assert_eq!(Scenario::builtin("nosuch"), None);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = Scenario::parse(&text);
    }

    #[test]
    fn arbitrary_steps_never_panic(
        action in prop::sample::select(vec!["register", "unregister", "expire", "call", "originate", "gateway", "message", "fault", "api", "x"]),
        at in prop::sample::select(vec!["0s", "1.5s", "500ms", "-1s", "1e9h", "", "2m", "NaNs", "18446744073709551616s"]),
        key in prop::sample::select(vec!["user", "from", "to", "outcome", "ring_for", "talk_for", "kind", "max", "state", "text", "args", "transport", "connection"]),
        value in prop::sample::select(vec!["\"1000\"", "\"answer\"", "\"busy\"", "\"3s\"", "-5", "1.5", "true", "[1, 2]", "{a = 1}", "\"split_writes\"", "\"wss\"", "\"up\"", "99999999999999"]),
    ) {
        let text = format!("[[step]]\nat = \"{at}\"\naction = \"{action}\"\n{key} = {value}\n");
        let _ = Scenario::parse(&text);
    }
}

// A scenario's [[dialplan]] adds contexts and extensions (mod_dialplan_xml semantics:
// first matching extension, $N from the condition's captures).
#[tokio::test(start_paused = true)]
async fn scenario_dialplan_routes_loopback_calls() {
    let scenario = Scenario::parse(
        r#"
[[dialplan]]
context = "test"
extension = "busy_line"
condition = '^(92\d\d)$'
actions = ["set line=$1", "hangup USER_BUSY"]

[[dialplan]]
context = "test"
condition = "^9199$"
actions = ["answer", "park"]

[[step]]
at = "0s"
action = "originate"
args = "loopback/9199/test &park()"
talk_for = "2s"

[[step]]
at = "1s"
action = "originate"
args = "loopback/9201/test &park()"
"#,
    )
    .unwrap();
    assert_eq!(scenario.dialplan.len(), 2);
    let (pbx, events, report, _) = play(&scenario).await;
    assert_eq!(pbx.snapshot().channels, 0);
    let parked: Vec<&str> = events
        .iter()
        .filter(|e| e.name() == Some("CHANNEL_PARK"))
        .map(|e| e.get("Channel-Name").unwrap())
        .collect();
    assert_eq!(parked, ["loopback/9199-b", "loopback/9199-a"]);
    let busy = events
        .iter()
        .find(|e| {
            e.name() == Some("CHANNEL_HANGUP_COMPLETE") && e.get("Channel-Name") == Some("loopback/9201-b")
        })
        .expect("the busy extension hung up its leg");
    assert_eq!(busy.get("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(busy.get("variable_line"), Some("9201"), "$1 from the condition's capture");
    // The originate of the busy line fails: nothing answered its A leg.
    assert!(
        report.skipped.is_empty() || report.skipped.iter().all(|s| s.contains("USER_BUSY")),
        "{:?}",
        report.skipped
    );
    let err = Scenario::parse("[[dialplan]]\ncondition = \"(\"\nactions = [\"park\"]").unwrap_err();
    assert!(
        err.to_string().starts_with("dialplan entry 1: key \"condition\": not a regular expression"),
        "{err}"
    );
    let err = Scenario::parse("[[dialplan]]\ncondition = \"^1$\"").unwrap_err();
    assert_eq!(err.to_string(), "dialplan entry 1: key \"actions\": missing");
}

/// fixtures/scenarios/blf.toml (the BLF screenshot's): seven phones, 1006 never registers.
#[test]
fn the_blf_picture_scenario_loads() {
    let s = shipped("blf");
    let users: Vec<String> = s
        .steps
        .iter()
        .filter_map(|st| match &st.action {
            Action::Register { user, .. } => Some(user.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(users, ["1000", "1001", "1002", "1003", "1004", "1005", "1007"]);
}

/// A call step's `hold_after` / `hold_for`: the callee's leg is held through `uuid_hold`
/// (switch_ivr.c `switch_ivr_hold`: HELD, then CHANNEL_HOLD) and taken off
/// (`switch_ivr_unhold`: UNHELD, then CHANNEL_UNHOLD) at those times after the answer.
#[tokio::test(start_paused = true)]
async fn a_call_step_holds_and_unholds_the_callee() {
    let scenario = Scenario::parse(
        "[[step]]\nat = \"0s\"\naction = \"register\"\nuser = \"1000\"\n\
         [[step]]\nat = \"0s\"\naction = \"register\"\nuser = \"1001\"\n\
         [[step]]\nat = \"0s\"\naction = \"call\"\nfrom = \"1001\"\nto = \"1000\"\nring_for = \"1s\"\n\
         talk_for = \"10s\"\nhold_after = \"2s\"\nhold_for = \"3s\"\n",
    )
    .unwrap();
    let pbx = Pbx::new(PbxConfig { seed: Some(3), ..PbxConfig::default() });
    let mut rx = pbx.subscribe();
    let start = Instant::now();
    let run = tokio::spawn({
        let pbx = pbx.clone();
        async move { scenario.run(&pbx, &FaultControl::new()).await }
    });
    let mut seen = Vec::new();
    while let Ok(ev) = rx.recv().await {
        let name = ev.name().unwrap_or("").to_owned();
        if matches!(
            name.as_str(),
            "CHANNEL_ANSWER" | "CHANNEL_HOLD" | "CHANNEL_UNHOLD" | "CHANNEL_HANGUP_COMPLETE"
        ) {
            let outbound = ev.get("Call-Direction") == Some("outbound");
            seen.push((
                name.clone(),
                outbound,
                ev.get("Channel-Call-State").unwrap_or("").to_owned(),
                start.elapsed(),
            ));
        }
        if name == "CHANNEL_HANGUP_COMPLETE" && seen.iter().filter(|s| s.0 == name).count() == 2 {
            break;
        }
    }
    run.await.unwrap();
    let at =
        |name: &str| seen.iter().find(|s| s.0 == name).map(|s| (s.1, s.2.clone(), s.3.as_secs())).unwrap();
    assert_eq!(at("CHANNEL_HOLD"), (true, "HELD".into(), 3), "the callee's leg, 2 s after the answer");
    assert_eq!(at("CHANNEL_UNHOLD"), (true, "UNHELD".into(), 6));
    assert_eq!(at("CHANNEL_HANGUP_COMPLETE").2, 11, "the call still talks for its talk_for");
}
