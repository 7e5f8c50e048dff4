//! The supervised link against the mock FreeSWITCH: the start-up rebuild, events turned
//! into notices, and a burst of events absorbed without losing count or redrawing per event.

use crate::link_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eslmatrix::app::link::ServerConfig;
use eslmatrix::status::{LinkView, Notice};
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{MultipleRegistrations, Party, Pbx, Transport};
use eslmatrix_sim::fs::MockConfig;
use link_support::{mock, options, server, Rig};

#[tokio::test(start_paused = true)]
async fn startup_rebuild_shows_the_models_counts() {
    let fs = mock(MockConfig::default()).await;
    let pbx = fs.pbx();
    pbx.register("1001", Transport::Udp, "Yealink SIP-T46S").unwrap();
    pbx.register("1002", Transport::Wss, "SIP.js/0.21").unwrap();
    pbx.register("1003", Transport::Ws, "JsSIP 3.10").unwrap();
    pbx.register("1004", Transport::Tcp, "Zoiper").unwrap();
    let talking = pbx.start_call("1001", "1002", Some("Alice")).unwrap();
    pbx.answer(&talking).unwrap();
    pbx.start_call("1004", "1003", None).unwrap();
    let truth = pbx.snapshot();
    // FreeSWITCH's `show calls` counts the ringing pair twice until it is bridged.
    assert_eq!((truth.registrations, truth.calls, truth.channels), (4, 3, 4), "the scene is set");

    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), options());
    let view = rig.fresh().await;
    assert_eq!(view.registrations, Some(4));
    assert_eq!(view.webrtc, Some(2), "ws and wss bindings are WebRTC");
    assert_eq!(view.calls, Some(2), "one talking, one ringing");
    assert_eq!(view.channels, Some(truth.channels as u64));
    assert_eq!(view.version.as_deref(), Some("1.10.12"));
    assert!(view.uptime.is_some() && view.idle_cpu.is_some());

    // New facts arrive as events on top of the rebuilt state.
    pbx.register("1005", Transport::Wss, "SIP.js/0.21").unwrap();
    let view = rig.until("the new binding", |v| v.registrations == Some(5)).await;
    assert_eq!(view.webrtc, Some(3));
    let stats = rig.stop().await;
    assert_eq!((stats.attempts, stats.sessions, stats.refreshes), (1, 1, 1));
    assert_eq!(stats.events_lost, 0);
}

#[tokio::test(start_paused = true)]
async fn call_events_become_notices_with_the_sip_reason() {
    let fs = mock(MockConfig::default()).await;
    let pbx = fs.pbx();
    pbx.register("1000", Transport::Udp, "Yealink").unwrap();
    pbx.register("1001", Transport::Udp, "Polycom").unwrap();
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), options());
    assert_eq!(rig.fresh().await.calls, Some(0));

    let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
    match rig.notice().await {
        Notice::Incoming(info) => assert_eq!(info.label(), "Alice (1001) → 1000"),
        other => panic!("expected Incoming, got {other:?}"),
    }
    rig.until("one call ringing", |v| v.calls == Some(1) && v.channels == Some(2)).await;
    pbx.answer(&call).unwrap();
    assert!(matches!(rig.notice().await, Notice::Answered(info) if info.from == "1001"));
    pbx.hangup(&call, Party::Caller).unwrap();
    match rig.notice().await {
        Notice::HungUp(outcome) => {
            assert!(outcome.answered);
            assert_eq!(outcome.cause, "NORMAL_CLEARING");
        }
        other => panic!("expected HungUp, got {other:?}"),
    }

    let busy = pbx.start_call("1000", "1001", None).unwrap();
    assert!(matches!(rig.notice().await, Notice::Incoming(info) if info.from == "1000"));
    pbx.reject(&busy, 486).unwrap();
    match rig.notice().await {
        Notice::HungUp(outcome) => {
            assert!(!outcome.answered);
            assert_eq!(outcome.sip_status, Some(486));
            assert_eq!(outcome.reason, "486 Busy Here");
        }
        other => panic!("expected HungUp, got {other:?}"),
    }
    let view = rig.until("all calls over", |v| v.calls == Some(0) && v.channels == Some(0)).await;
    assert_eq!(view.link, LinkView::Up);

    pbx.message("Fire drill at 3");
    assert_eq!(rig.notice().await, Notice::Message("Fire drill at 3".into()));
    let stats = rig.stop().await;
    assert_eq!((stats.notices_sent, stats.notices_dropped), (6, 0));
}

#[tokio::test(start_paused = true)]
async fn a_full_notice_queue_drops_notices_but_never_events() {
    let fs = mock(MockConfig::default()).await;
    let pbx = fs.pbx();
    pbx.register("1000", Transport::Udp, "Yealink").unwrap();
    // Nobody reads the notices: the queue holds one.
    let mut rig = Rig::with_notice_capacity(server(fs.addr(), "ClueCon"), options(), 1);
    rig.fresh().await;
    for _ in 0..5 {
        let call = pbx.start_call("2000", "1000", None).unwrap();
        pbx.reject(&call, 486).unwrap();
    }
    pbx.register("1001", Transport::Udp, "Polycom").unwrap();
    let view = rig.until("the last event applied", |v| v.registrations == Some(2)).await;
    assert_eq!(view.calls, Some(0));
    let stats = rig.stop().await;
    assert_eq!(stats.notices_sent, 1);
    assert_eq!(stats.notices_dropped, 9, "5 Incoming + 5 HungUp, one of which fitted");
}

/// A `sofia::register` as mod_sofia sends it, fired straight into the mock's event bus
/// (like `sendevent`): a burst without the PBX model's bookkeeping in the way.
fn register_event(pbx: &Pbx, call_id: &str, user: usize, webrtc: bool) -> Event {
    let (transport, status) =
        if webrtc { ("wss", "Registered(WSS-NAT)") } else { ("udp", "Registered(UDP)") };
    pbx.custom_event("sofia::register")
        .with("profile-name", "internal")
        .with("from-user", format!("b{user}"))
        .with("from-host", "192.0.2.10")
        .with("contact", format!("\"b{user}\" <sip:b{user}@198.51.100.7:5060;transport={transport}>"))
        .with("call-id", call_id)
        .with("status", status)
        .with("expires", "3600")
        .with("username", format!("b{user}"))
        .with("realm", "192.0.2.10")
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_events_keeps_exact_counts_and_coalesces_redraws() {
    const REGISTERS: usize = 8_000;
    const UNREGISTERS: usize = 2_000;
    let fs = mock(MockConfig::default()).await;
    let pbx = fs.pbx();
    for i in 0..1_002 {
        pbx.register(&format!("u{i}"), Transport::Udp, "desk").unwrap();
    }
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), options());
    assert_eq!(rig.fresh().await.registrations, Some(1_002));

    // A slow player: it takes every change it is woken for, like a redraw would.
    let redraws = Arc::new(AtomicU64::new(0));
    let mut player = rig.views.clone();
    let counted = redraws.clone();
    tokio::spawn(async move {
        while player.changed().await.is_ok() {
            player.borrow_and_update();
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });

    // 10 000 registration events in one go, then calls through the PBX.
    for i in 0..REGISTERS {
        pbx.fire(register_event(pbx, &format!("burst-{i}"), i, i % 4 == 1));
    }
    for i in 0..UNREGISTERS {
        pbx.fire(
            pbx.custom_event("sofia::unregister")
                .with("profile-name", "internal")
                .with("from-user", format!("b{i}"))
                .with("from-host", "192.0.2.10")
                .with("call-id", format!("burst-{i}")),
        );
    }
    for i in 0..500 {
        let call = pbx.start_call(&format!("u{}", 2 * i), &format!("u{}", 2 * i + 1), None).unwrap();
        if i % 2 == 0 {
            pbx.answer(&call).unwrap();
        }
    }
    let truth = pbx.snapshot();
    let registrations = (1_002 + REGISTERS - UNREGISTERS) as u64;
    let view = rig
        .until("the burst applied", |v| {
            v.registrations == Some(registrations) && v.channels == Some(truth.channels as u64)
        })
        .await;
    // 250 answered and 250 ringing calls; `show calls` would count each ringing pair twice.
    assert_eq!((truth.channels, truth.bridged_calls, truth.calls), (1_000, 250, 750));
    assert_eq!(view.calls, Some(500));
    assert_eq!(view.webrtc, Some(((REGISTERS - UNREGISTERS) / 4) as u64), "every fourth kept binding is wss");
    let stats = rig.stop().await;
    assert_eq!(stats.events_lost, 0);
    assert!(stats.events >= (REGISTERS + UNREGISTERS) as u64, "{} events", stats.events);
    let redraws = redraws.load(Ordering::Relaxed);
    assert!(
        stats.views_published < 500 && redraws <= stats.views_published,
        "{} views published, {redraws} seen, for {} events",
        stats.views_published,
        stats.events
    );
}

#[tokio::test(start_paused = true)]
async fn rebuilds_racing_a_stream_of_events_converge_to_the_truth() {
    let fs = mock(MockConfig::default()).await;
    let pbx = fs.pbx().clone();
    pbx.set_multiple_registrations(MultipleRegistrations::Contact);
    // Registrations and calls keep changing while the link connects and rebuilds: events
    // land before, inside and after the rebuild. (Without `begin_refresh` this fails.)
    let churn = tokio::spawn({
        let pbx = pbx.clone();
        async move {
            for i in 0..3_000u32 {
                let user = format!("c{}", i % 97);
                if i % 3 == 2 {
                    let _ = pbx.unregister(&user);
                } else {
                    let transport = if i % 5 == 0 { Transport::Ws } else { Transport::Udp };
                    pbx.register(&user, transport, "churn").unwrap();
                }
                if i % 7 == 0 {
                    let from = format!("c{}", (i + 1) % 97);
                    if let Ok(call) = pbx.start_call(&from, &user, None) {
                        if call.b.is_some() && i % 2 == 0 {
                            let _ = pbx.answer(&call);
                        }
                    }
                }
                // Only yields: a sleep would wait for the runtime to go idle (paused time)
                // and so never overlap the rebuild.
                tokio::task::yield_now().await;
            }
        }
    });
    // Both sides keep a binding per device (user, transport, agent), as a server with
    // `multiple-registrations` does.
    let multi = ServerConfig { multiple_registrations: true, ..server(fs.addr(), "ClueCon") };
    let mut rig = Rig::start(multi, options());
    churn.await.unwrap();
    let truth = pbx.snapshot();
    let webrtc = pbx.registrations().iter().filter(|r| r.transport.is_websocket()).count() as u64;
    let view = rig
        .until("the truth", |v| {
            !v.stale
                && v.registrations == Some(truth.registrations as u64)
                && v.channels == Some(truth.channels as u64)
        })
        .await;
    assert_eq!(view.webrtc, Some(webrtc));
    assert!(truth.registrations > 0 && truth.channels > 0, "the churn left something to count");
    let stats = rig.stop().await;
    assert_eq!((stats.sessions, stats.refreshes, stats.events_lost), (1, 1, 0));
}
