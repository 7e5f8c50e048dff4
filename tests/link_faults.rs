//! The supervised link when things go wrong: a restarting or stopping switch, a wrong
//! password, an ACL, lost heartbeats, an unreachable host. All on paused tokio time.

use crate::link_support;

use std::time::Duration;

use eslmatrix::app::link::LinkOptions;
use eslmatrix::status::LinkView;
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::Transport;
use eslmatrix_sim::fs::MockConfig;
use link_support::{mock, mock_again, options, record_links, server, Rig};
use tokio::time::{sleep, Instant};

#[tokio::test(start_paused = true)]
async fn a_restart_is_noticed_and_the_new_truth_replaces_the_old() {
    let fs = mock(MockConfig::default()).await;
    let pbx = fs.pbx();
    pbx.register("1000", Transport::Udp, "Yealink").unwrap();
    pbx.register("1001", Transport::Wss, "SIP.js").unwrap();
    pbx.start_call("1001", "1000", None).unwrap();
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), options());
    let before = rig.fresh().await;
    assert_eq!((before.registrations, before.channels), (Some(2), Some(2)));

    fs.faults().inject(Fault::Restart { down_ms: 5_000 });
    let down = rig.until("the link lost", |v| matches!(v.link, LinkView::NoLink { .. })).await;
    assert!(down.stale, "figures from before the outage are not confirmed");
    assert_eq!(down.registrations, Some(2), "the last known figures stay on show");
    // Retries while the port is closed keep one outage: its age keeps counting.
    let later = rig
        .until(
            "an outage of 3 s",
            |v| matches!(v.link, LinkView::NoLink { down_for } if down_for >= Duration::from_secs(3)),
        )
        .await;
    assert!(later.stale);

    // The switch came back empty: the display must show that, not old + new.
    let after = rig.fresh().await;
    assert_eq!(
        (after.registrations, after.webrtc, after.calls, after.channels),
        (Some(0), Some(0), Some(0), Some(0))
    );
    pbx.register("1000", Transport::Udp, "Yealink").unwrap();
    assert_eq!(rig.until("one binding", |v| v.registrations == Some(1)).await.calls, Some(0));
    let stats = rig.stop().await;
    assert_eq!((stats.sessions, stats.refreshes), (2, 2));
    assert!(stats.attempts > 2, "connects were refused while the port was down: {stats:?}");
    assert_eq!(fs.accepted_connections(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_notice_shows_shutting_down_then_no_link_until_a_new_switch_answers() {
    let fs = mock(MockConfig::default()).await;
    let addr = fs.addr();
    fs.pbx().register("1000", Transport::Udp, "Yealink").unwrap();
    let mut rig = Rig::start(server(addr, "ClueCon"), options());
    rig.fresh().await;
    let links = record_links(&rig.views);

    fs.shutdown().await;
    rig.until("the outage", |v| matches!(v.link, LinkView::NoLink { .. })).await;
    let fs = mock_again(MockConfig { listen: addr, ..MockConfig::default() }).await;
    fs.pbx().register("2000", Transport::Ws, "JsSIP").unwrap();
    fs.pbx().register("2001", Transport::Ws, "JsSIP").unwrap();
    let view = rig.fresh().await;
    assert_eq!((view.registrations, view.webrtc), (Some(2), Some(2)));
    assert_eq!(*links.lock().unwrap(), ["up", "shuttingdown", "nolink", "up"]);
    let stats = rig.stop().await;
    assert!(
        stats.last_error.unwrap_or_default().contains("connect"),
        "the last failure was a refused connect"
    );
}

#[tokio::test(start_paused = true)]
async fn a_killed_listener_reconnects_and_rebuilds() {
    let fs = mock(MockConfig::default()).await;
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), options());
    rig.fresh().await;
    let links = record_links(&rig.views);
    fs.faults().inject(Fault::SlowReaderKill);
    rig.until("the outage", |v| matches!(v.link, LinkView::NoLink { .. })).await;
    fs.pbx().register("1000", Transport::Udp, "Yealink").unwrap();
    assert_eq!(rig.fresh().await.registrations, Some(1), "the registration made while away is rebuilt");
    assert_eq!(*links.lock().unwrap(), ["up", "nolink", "up"]);
    let stats = rig.stop().await;
    assert_eq!((stats.sessions, stats.refreshes), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn a_wrong_password_shows_auth_failed_and_retries_at_the_configured_pace() {
    // That the failure is logged without the password is checked on the real process
    // (daemon_cli::run_logs_a_refused_password_without_it): a per-test tracing subscriber in
    // a test binary whose tests run in parallel can miss events, because tracing caches
    // each call site's interest process-wide.
    const SECRET: &str = "n0t-the-Password";

    let fs = mock(MockConfig::default()).await;
    let opts = LinkOptions { auth_retry: Duration::from_secs(60), ..options() };
    let mut rig = Rig::start(server(fs.addr(), SECRET), opts);
    rig.until("auth failure", |v| v.link == LinkView::AuthFailed).await;
    let links = record_links(&rig.views);
    assert_eq!(fs.accepted_connections(), 1);
    sleep(Duration::from_secs(59)).await;
    assert_eq!(fs.accepted_connections(), 1, "no retry before auth_retry");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(fs.accepted_connections(), 2);
    sleep(Duration::from_secs(600)).await;
    assert_eq!(fs.accepted_connections(), 12, "one attempt a minute, never a tight loop");
    assert_eq!(*links.lock().unwrap(), ["authfailed"], "retries do not flicker the display");
    let stats = rig.stop().await;
    assert_eq!((stats.attempts, stats.sessions), (12, 0));
    let last_error = stats.last_error.unwrap_or_default();
    assert!(last_error.contains("password refused"), "{last_error}");
    assert!(!last_error.contains(SECRET));
}

#[tokio::test(start_paused = true)]
async fn an_acl_rejection_shows_acl_denied_and_waits_before_retrying() {
    let fs =
        mock(MockConfig { acl: vec!["198.51.100.0/24".parse().unwrap()], ..MockConfig::default() }).await;
    let opts = LinkOptions { auth_retry: Duration::from_secs(30), ..options() };
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), opts);
    rig.until("ACL denial", |v| v.link == LinkView::AclDenied).await;
    sleep(Duration::from_secs(95)).await;
    assert_eq!(fs.accepted_connections(), 4, "attempts at 0, 30, 60 and 90 s");
    assert_eq!(rig.view().link, LinkView::AclDenied);
    let stats = rig.stop().await;
    assert!(stats.last_error.unwrap_or_default().contains("Access Denied"));
}

#[tokio::test(start_paused = true)]
async fn without_heartbeats_the_link_is_declared_dead_after_two_and_a_half_intervals() {
    let fs = mock(MockConfig { heartbeat: None, ..MockConfig::default() }).await;
    let opts = LinkOptions { heartbeat: Duration::from_secs(20), ..options() };
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), opts);
    rig.fresh().await;
    let up_at = Instant::now();
    rig.until("the silence noticed", |v| matches!(v.link, LinkView::NoLink { .. })).await;
    let silent = up_at.elapsed();
    assert!(
        silent >= Duration::from_secs(50) && silent < Duration::from_secs(52),
        "declared dead after {silent:?} of tokio time"
    );
    // The switch still answers: the link comes back, and dies again without heartbeats.
    rig.fresh().await;
    assert_eq!(fs.accepted_connections(), 2);
    let stats = rig.stop().await;
    assert!(stats.last_error.unwrap_or_default().contains("heartbeat lost"));
}

#[tokio::test(start_paused = true)]
async fn a_stalled_connection_is_dropped_and_a_healthy_one_is_kept() {
    let fs = mock(MockConfig::default()).await;
    let opts = LinkOptions { heartbeat: Duration::from_secs(20), ..options() };
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), opts);
    rig.fresh().await;
    // Ten minutes of heartbeats every 20 s (the last at 600 s): never a false alarm.
    let links = record_links(&rig.views);
    sleep(Duration::from_secs(605)).await;
    assert_eq!(*links.lock().unwrap(), ["up"]);
    assert_eq!(fs.accepted_connections(), 1);

    fs.faults().inject(Fault::Stall { ms: 120_000 });
    let stalled_at = Instant::now();
    rig.until("the stall noticed", |v| matches!(v.link, LinkView::NoLink { .. })).await;
    let noticed = stalled_at.elapsed();
    assert!(
        noticed >= Duration::from_secs(44) && noticed <= Duration::from_secs(46),
        "2.5 intervals after the heartbeat at 600 s is 45 s after the stall began, not {noticed:?}"
    );
    rig.fresh().await;
    assert_eq!(fs.accepted_connections(), 2);
    rig.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_host_is_retried_with_growing_delays() {
    // A port that was just free: connects are refused.
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut rig = Rig::start(server(addr, "ClueCon"), options());
    rig.until("no link", |v| matches!(v.link, LinkView::NoLink { .. })).await;
    sleep(Duration::from_secs(60)).await;
    let view = rig.view();
    assert!(
        matches!(view.link, LinkView::NoLink { down_for } if down_for >= Duration::from_secs(59)),
        "one outage since the first failure: {view:?}"
    );
    assert!(view.stale && view.calls.is_none(), "nothing is known, nothing is made up");
    let stats = rig.stop().await;
    // 0.5 s doubling to 30 s, each shortened by at most a quarter: 7 to 9 tries in a minute.
    assert!((7..=9).contains(&stats.attempts), "{} attempts in a minute", stats.attempts);
}

#[tokio::test(start_paused = true)]
async fn stop_ends_the_link_during_a_session_and_during_a_wait() {
    let fs = mock(MockConfig::default()).await;
    let mut rig = Rig::start(server(fs.addr(), "ClueCon"), options());
    rig.fresh().await;
    let stats = rig.stop().await;
    assert_eq!(stats.sessions, 1);
    // The mock sees the link hang up.
    while fs.live_connections() > 0 {
        sleep(Duration::from_millis(100)).await;
    }

    let opts = LinkOptions { auth_retry: Duration::from_secs(3600), ..options() };
    let mut rig = Rig::start(server(fs.addr(), "wrong"), opts);
    rig.until("auth failure", |v| v.link == LinkView::AuthFailed).await;
    let asked = Instant::now();
    let stats = rig.stop().await;
    assert!(asked.elapsed() < Duration::from_secs(1), "the hour-long wait is cut short");
    assert_eq!(stats.attempts, 1);
}
