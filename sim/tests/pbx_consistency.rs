//! Property: after any sequence of model operations, every output that reports a count
//! (`status`, `show … count`, `show … as json`, `sofia status profile internal`,
//! HEARTBEAT) tells the same story, and every channel that was created has ended or is
//! still listed.

use std::sync::Arc;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{ApiOutput, CallHandle, Party, Pbx, PbxConfig, Transport};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Register(u8, u8),
    Unregister(u8),
    Expire(u8),
    Call(u8, u8),
    Answer(u8),
    Hangup(u8, bool),
    Reject(u8, u16),
    Cancel(u8),
    Kill(u8),
    Hupall,
    Gateway(bool),
    Originate(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..5, 0u8..5).prop_map(|(u, t)| Op::Register(u, t)),
        (0u8..5).prop_map(Op::Unregister),
        (0u8..5).prop_map(Op::Expire),
        (0u8..6, 0u8..6).prop_map(|(a, b)| Op::Call(a, b)),
        any::<u8>().prop_map(Op::Answer),
        (any::<u8>(), any::<bool>()).prop_map(|(i, by)| Op::Hangup(i, by)),
        (any::<u8>(), prop::sample::select(vec![404u16, 480, 486, 603, 503]))
            .prop_map(|(i, s)| Op::Reject(i, s)),
        any::<u8>().prop_map(Op::Cancel),
        any::<u8>().prop_map(Op::Kill),
        Just(Op::Hupall),
        any::<bool>().prop_map(Op::Gateway),
        (0u8..5, 0u8..6).prop_map(|(a, b)| Op::Originate(a, b)),
    ]
}

fn user(n: u8) -> String {
    // 1005 is never registered: calls to it exercise the refusal paths.
    format!("100{n}")
}

fn text(pbx: &Pbx, cmd: &str, args: &str) -> String {
    match pbx.api(cmd, args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("{cmd} not found"),
    }
}

fn count(pbx: &Pbx, what: &str) -> usize {
    let out = text(pbx, "show", &format!("{what} count"));
    out.trim().strip_suffix(" total.").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out:?}"))
}

fn json_count(pbx: &Pbx, what: &str) -> usize {
    let out = text(pbx, "show", &format!("{what} as json"));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let n = v["row_count"].as_u64().expect("row_count") as usize;
    assert_eq!(v["rows"].as_array().map_or(0, std::vec::Vec::len), n, "{out}");
    n
}

fn status_line(status: &str, index: usize) -> &str {
    status.lines().nth(index).expect("status line")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_output_agrees(ops in prop::collection::vec(op(), 1..40)) {
        let pbx = Pbx::new(PbxConfig::default());
        let mut rx = pbx.subscribe();
        let mut calls: Vec<CallHandle> = Vec::new();
        let pick = |calls: &Vec<CallHandle>, i: u8| calls.get(i as usize % calls.len().max(1)).cloned();
        for op in &ops {
            match op.clone() {
                Op::Register(u, t) => { pbx.register(&user(u), Transport::ALL[t as usize], "Phone").unwrap(); }
                Op::Unregister(u) => { let _ = pbx.unregister(&user(u)); }
                Op::Expire(u) => { let _ = pbx.expire(&user(u)); }
                Op::Call(a, b) => calls.push(pbx.start_call(&user(a), &user(b), None).unwrap()),
                Op::Answer(i) => { if let Some(c) = pick(&calls, i) { let _ = pbx.answer(&c); } }
                Op::Hangup(i, by) => {
                    if let Some(c) = pick(&calls, i) {
                        let _ = pbx.hangup(&c, if by { Party::Caller } else { Party::Callee });
                    }
                }
                Op::Reject(i, s) => { if let Some(c) = pick(&calls, i) { let _ = pbx.reject(&c, s); } }
                Op::Cancel(i) => { if let Some(c) = pick(&calls, i) { let _ = pbx.cancel(&c); } }
                Op::Kill(i) => {
                    let uuids = pbx.channel_uuids();
                    if !uuids.is_empty() {
                        let out = text(&pbx, "uuid_kill", &uuids[i as usize % uuids.len()]);
                        prop_assert_eq!(out, "+OK\n");
                    }
                }
                Op::Hupall => { text(&pbx, "hupall", ""); }
                Op::Gateway(up) => { pbx.set_gateway("carrier", up).unwrap(); }
                Op::Originate(a, b) => { text(&pbx, "originate", &format!("user/{} &bridge(user/{})", user(a), user(b))); }
            }
        }
        let snap = pbx.snapshot();
        let channels = count(&pbx, "channels");
        let calls_n = count(&pbx, "calls");
        let regs = count(&pbx, "registrations");
        prop_assert_eq!(channels, snap.channels);
        prop_assert_eq!(calls_n, snap.calls);
        prop_assert_eq!(regs, snap.registrations);
        prop_assert_eq!(json_count(&pbx, "channels"), channels);
        prop_assert_eq!(json_count(&pbx, "calls"), calls_n);
        prop_assert_eq!(json_count(&pbx, "registrations"), regs);
        // Rows: bridged pairs once, every other leg once.
        prop_assert_eq!(calls_n, channels - snap.bridged_calls);

        let status = text(&pbx, "status", "");
        let since_startup = format!("{} session(s) since startup", snap.counters.since_startup);
        prop_assert_eq!(status_line(&status, 2), since_startup.as_str());
        let current = format!("{channels} session(s) - peak");
        prop_assert!(status_line(&status, 3).starts_with(&current), "{}", status);

        let profile = text(&pbx, "sofia", "status profile internal");
        let registrations_line = format!("REGISTRATIONS    \t{regs}\n");
        prop_assert!(profile.ends_with(&registrations_line), "{}", profile);
        let inuse = format!("RUNNING ({})\n", snap.channels - external_legs(&pbx));
        prop_assert!(text(&pbx, "sofia", "status").contains(&inuse));

        let hb = pbx.heartbeat();
        let (session_count, since) = (channels.to_string(), snap.counters.since_startup.to_string());
        prop_assert_eq!(hb.get("Session-Count"), Some(session_count.as_str()));
        prop_assert_eq!(hb.get("Session-Since-Startup"), Some(since.as_str()));

        // Events: every leg created either completed or is still listed.
        let mut created = 0usize;
        let mut completed = 0usize;
        let mut last_seq = 0u64;
        while let Ok(ev) = rx.try_recv() {
            let ev: Arc<Event> = ev;
            let seq: u64 = ev.get("Event-Sequence").unwrap().parse().unwrap();
            prop_assert!(seq > last_seq);
            last_seq = seq;
            match ev.name() {
                Some("CHANNEL_CREATE") => created += 1,
                Some("CHANNEL_HANGUP_COMPLETE") => {
                    completed += 1;
                    prop_assert_eq!(ev.get_all("Hangup-Cause").count(), 2);
                }
                _ => {}
            }
        }
        prop_assert_eq!(created as u64, snap.counters.since_startup);
        prop_assert_eq!(created - completed, channels);
        prop_assert!(snap.counters.peak as usize >= channels);
    }
}

/// Legs through the gateway run on the external profile.
fn external_legs(pbx: &Pbx) -> usize {
    let out = text(pbx, "show", "channels");
    out.lines().filter(|l| l.contains(",sofia/external/")).count()
}
