//! An independent ESL client (freeswitch-esl-tokio) against the mock: if the mock's bytes
//! were wrong in a way a real client notices, these fail.

use crate::esl_support;

use std::time::Duration;

use esl_support::assert_status;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::ApiOutput;
use eslmatrix_sim::fs::wire;
use eslmatrix_sim::fs::{Limits, MockConfig, MockFreeSwitch, MockHandle};
use freeswitch_esl_tokio::{
    ConnectionStatus, DisconnectReason, EslClient, EslError, EslEvent, EslEventStream, EslEventType,
    EventFormat,
};
use tokio::time::timeout;

fn quiet() -> MockConfig {
    MockConfig { heartbeat: None, ..MockConfig::default() }
}

async fn start(config: MockConfig) -> MockHandle {
    MockFreeSwitch::start(config).await.expect("mock starts")
}

async fn connect(mock: &MockHandle) -> (EslClient, EslEventStream) {
    EslClient::connect("127.0.0.1", mock.addr().port(), "ClueCon").await.expect("login")
}

async fn next_event(events: &mut EslEventStream) -> EslEvent {
    timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event")
        .expect("stream open")
        .expect("event parses")
}

/// Asserts that nothing arrives while the mock is idle (tokio time; instant when paused).
async fn assert_no_event(events: &mut EslEventStream) {
    if let Ok(Some(got)) = timeout(Duration::from_secs(2), events.recv()).await {
        panic!("unexpected event: {got:?}");
    }
}

fn status_text(mock: &MockHandle) -> String {
    match mock.pbx().api("status", "") {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("model has no status"),
    }
}

async fn disconnect_reason(events: &mut EslEventStream) -> DisconnectReason {
    // Drain until the stream ends; the reader records why.
    while let Ok(Some(_)) = timeout(Duration::from_secs(30), events.recv()).await {}
    match events.status() {
        ConnectionStatus::Disconnected(reason) => reason,
        other => panic!("still connected: {other:?}"),
    }
}

fn notice_body(reason: DisconnectReason) -> String {
    match reason {
        DisconnectReason::ServerNotice { body, .. } => body.unwrap_or_default(),
        other => panic!("expected a disconnect notice, got {other:?}"),
    }
}

#[tokio::test]
async fn login_api_and_errors() {
    let mut config = quiet();
    config.api_overrides.insert("noop".into(), ApiOutput::Text(String::new()));
    let mock = start(config).await;
    let (client, _events) = connect(&mock).await;
    let status = client.api("status").await.unwrap();
    assert_status(status.body(), &status_text(&mock));
    let unknown = client.api("nosuch").await.unwrap();
    assert_eq!(unknown.body(), Some("-ERR nosuch Command not found!\n"));
    assert!(unknown.api_result().is_err());
    let empty = client.api("noop").await.unwrap();
    assert_eq!(empty.body(), Some("-ERR no reply\n"));
    assert!(empty.api_result().is_err());
}

fn refused<T>(result: Result<T, EslError>) -> EslError {
    match result {
        Ok(_) => panic!("login should have been refused"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn wrong_password_and_acl_are_reported_as_such() {
    let mock = start(quiet()).await;
    let err = refused(EslClient::connect("127.0.0.1", mock.addr().port(), "wrong").await);
    assert!(matches!(err, EslError::AuthenticationFailed { .. }), "{err:?}");

    let denied = start(MockConfig { acl: vec!["198.51.100.0/24".parse().unwrap()], ..quiet() }).await;
    let err = refused(EslClient::connect("127.0.0.1", denied.addr().port(), "ClueCon").await);
    assert!(
        matches!(&err, EslError::AccessDenied { reason } if reason == "Access Denied, go away.\n"),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn bgapi_result_only_when_subscribed_and_unfiltered() {
    let mock = start(quiet()).await;
    let (client, mut events) = connect(&mock).await;

    let job = client.bgapi("status").await.unwrap();
    assert!(job.job_uuid().is_some());
    assert_no_event(&mut events).await;

    client.subscribe_events(EventFormat::Plain, [EslEventType::BackgroundJob]).await.unwrap();
    let job = client.bgapi("status").await.unwrap();
    let ev = next_event(&mut events).await;
    assert_eq!(ev.event_type(), Some(EslEventType::BackgroundJob));
    assert_eq!(ev.header_str("Job-UUID"), job.job_uuid());
    assert_status(ev.body(), &status_text(&mock));

    client.filter_raw("Unique-ID", "0b8a6f3e").await.unwrap();
    client.bgapi("status").await.unwrap().check().unwrap();
    assert_no_event(&mut events).await;

    client.filter_raw("Job-Command", "status").await.unwrap();
    let job = client.bgapi("status").await.unwrap();
    assert_eq!(next_event(&mut events).await.header_str("Job-UUID"), job.job_uuid());
}

/// Values that need every escaping rule: spaces, colons, percent signs, unicode, newlines.
fn awkward_event(mock: &MockHandle) -> Event {
    let mut ev = mock
        .pbx()
        .custom_event("sofia::register")
        .with("contact", "\"1001\" <sip:1001@198.51.100.7:5062;transport=UDP;fs_nat=yes>")
        .with("user-agent", "Zoiper v2.10 — ünïcode & <xml> 100%")
        .with("multi", "line one\nline two");
    ev.body = Some("body with Ünïcode\nand a second line\n".into());
    ev
}

#[tokio::test]
async fn events_arrive_intact_in_plain_json_and_xml() {
    let mock = start(quiet()).await;
    for format in [EventFormat::Plain, EventFormat::Json, EventFormat::Xml] {
        let (client, mut events) = connect(&mock).await;
        client.subscribe_events_raw(format, "HEARTBEAT CUSTOM sofia::register").await.unwrap();
        let hb = mock.pbx().heartbeat();
        let sent = awkward_event(&mock);
        mock.pbx().fire(hb.clone());
        mock.pbx().fire(sent.clone());
        // FreeSWITCH percent-encodes XML header text too (switch_event_xmlize);
        // freeswitch-esl-tokio hands XML values over undecoded, so decode them here.
        let value_of = |ev: &EslEvent, name: &str| {
            let v = ev.header_str(name).map(str::to_string);
            if format == EventFormat::Xml {
                v.map(|v| wire::percent_decode(&v))
            } else {
                v
            }
        };
        let got_hb = next_event(&mut events).await;
        assert_eq!(got_hb.event_type(), Some(EslEventType::Heartbeat), "{format:?}");
        for (name, value) in &hb.headers {
            assert_eq!(value_of(&got_hb, name).as_deref(), Some(value.as_str()), "{format:?} {name}");
        }
        let got = next_event(&mut events).await;
        assert_eq!(got.event_type(), Some(EslEventType::Custom), "{format:?}");
        for (name, value) in &sent.headers {
            assert_eq!(value_of(&got, name).as_deref(), Some(value.as_str()), "{format:?} {name}");
        }
        // switch_xml_toxml indents the closing tag when the text ends in a newline, so
        // an XML parser sees two extra spaces: a real FreeSWITCH quirk, kept.
        let mut body = sent.body.clone().unwrap();
        if format == EventFormat::Xml {
            body.push_str("  ");
        }
        assert_eq!(got.body(), Some(body.as_str()), "{format:?}");
    }
}

#[tokio::test]
async fn negative_and_regex_filters() {
    let mock = start(quiet()).await;
    let (client, mut events) = connect(&mock).await;
    client.subscribe_events(EventFormat::Plain, [EslEventType::All]).await.unwrap();
    client.filter_raw("Event-Name", "/^CHANNEL_/").await.unwrap();
    client.filter_raw("Unique-ID", "-bad").await.unwrap();
    let pbx = mock.pbx();
    pbx.fire(pbx.event("CHANNEL_CREATE").with("Unique-ID", "bad"));
    pbx.fire(pbx.heartbeat());
    pbx.fire(pbx.event("CHANNEL_CREATE").with("Unique-ID", "good"));
    pbx.fire(pbx.event("CHANNEL_ANSWER").with("Unique-ID", "BAD"));
    pbx.fire(pbx.event("CHANNEL_ANSWER").with("Unique-ID", "good"));
    let a = next_event(&mut events).await;
    let b = next_event(&mut events).await;
    assert_eq!(
        (a.event_type(), a.header_str("Unique-ID")),
        (Some(EslEventType::ChannelCreate), Some("good"))
    );
    assert_eq!(
        (b.event_type(), b.header_str("Unique-ID")),
        (Some(EslEventType::ChannelAnswer), Some("good"))
    );
    client.filter_delete_all().await.unwrap();
    pbx.fire(pbx.heartbeat());
    assert_eq!(next_event(&mut events).await.event_type(), Some(EslEventType::Heartbeat));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_timer_under_paused_time() {
    let config = MockConfig { heartbeat: Some(Duration::from_secs(20)), ..MockConfig::default() };
    let mock = start(config).await;
    let (client, mut events) = connect(&mock).await;
    client.subscribe_events(EventFormat::Json, [EslEventType::Heartbeat]).await.unwrap();
    for _ in 0..3 {
        let ev = next_event(&mut events).await;
        assert_eq!(ev.event_type(), Some(EslEventType::Heartbeat));
        assert_eq!(ev.header_str("Event-Info"), Some("System Ready"));
    }
}

#[tokio::test]
async fn exit_shutdown_and_slow_reader_notices() {
    let mock = start(quiet()).await;
    let (client, mut events) = connect(&mock).await;
    assert_eq!(client.exit().await.unwrap().reply_text(), Some("+OK bye"));
    assert_eq!(
        notice_body(disconnect_reason(&mut events).await),
        "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    );

    let (_client, mut events) = connect(&mock).await;
    mock.shutdown().await;
    assert_eq!(notice_body(disconnect_reason(&mut events).await), "The system is being shut down.\n");

    let config =
        MockConfig { limits: Limits { event_queue: 16, lost_events: 20, ..Limits::default() }, ..quiet() };
    let mock = start(config).await;
    let (client, mut events) = connect(&mock).await;
    client.subscribe_events(EventFormat::Plain, [EslEventType::Heartbeat]).await.unwrap();
    // Fired without yielding, so the listener falls more than its queue behind.
    for _ in 0..200 {
        mock.pbx().fire(mock.pbx().heartbeat());
    }
    assert_eq!(notice_body(disconnect_reason(&mut events).await), "killed listener because of lost events\n");
}

#[tokio::test]
async fn split_writes_and_one_byte_drip() {
    let mock = start(quiet()).await;
    let (client, mut events) = connect(&mock).await;
    client.subscribe_events_raw(EventFormat::Plain, "CUSTOM sofia::register").await.unwrap();
    for max in [1, 3, 64] {
        mock.faults().inject(Fault::SplitWrites { max });
        let status = client.api("status").await.unwrap();
        assert_status(status.body(), &status_text(&mock));
        let sent = awkward_event(&mock);
        mock.pbx().fire(sent.clone());
        let got = next_event(&mut events).await;
        assert_eq!(got.body(), sent.body.as_deref(), "max {max}");
        assert_eq!(got.header_str("contact"), sent.get("contact"));
    }
}

#[tokio::test(start_paused = true)]
async fn stall_shorter_than_the_command_timeout_is_survived() {
    let mock = start(quiet()).await;
    let (client, _events) = connect(&mock).await;
    mock.faults().inject(Fault::Stall { ms: 3_000 });
    assert_status(client.api("status").await.unwrap().body(), &status_text(&mock));
}

#[tokio::test]
async fn close_mid_body_ends_the_client_cleanly() {
    let mock = start(quiet()).await;
    let (client, mut events) = connect(&mock).await;
    mock.faults().inject(Fault::CloseMidBody);
    let result = client.api("status").await;
    assert!(result.is_err(), "{result:?}");
    let reason = disconnect_reason(&mut events).await;
    assert!(!matches!(reason, DisconnectReason::ServerNotice { .. }), "{reason:?}");
    assert!(!client.is_connected());
}

#[tokio::test]
async fn an_event_racing_ahead_of_a_reply_is_handled() {
    let mock = start(quiet()).await;
    let (client, mut events) = connect(&mock).await;
    client.subscribe_events(EventFormat::Plain, [EslEventType::Heartbeat]).await.unwrap();
    mock.faults().inject(Fault::HoldEvents);
    mock.pbx().fire(mock.pbx().heartbeat());
    // On the wire the HEARTBEAT comes first, then this api/response.
    assert_status(client.api("status").await.unwrap().body(), &status_text(&mock));
    assert_eq!(next_event(&mut events).await.event_type(), Some(EslEventType::Heartbeat));
}

#[tokio::test(start_paused = true)]
async fn concurrent_clients_keep_their_own_subscriptions_and_filters() {
    let mock = start(quiet()).await;
    let (hb, mut hb_events) = connect(&mock).await;
    hb.subscribe_events(EventFormat::Xml, [EslEventType::Heartbeat]).await.unwrap();
    let (calls, mut call_events) = connect(&mock).await;
    calls
        .subscribe_events(EventFormat::Json, [EslEventType::ChannelCreate, EslEventType::ChannelAnswer])
        .await
        .unwrap();
    calls.filter_raw("Unique-ID", "a").await.unwrap();
    let (regs, mut reg_events) = connect(&mock).await;
    regs.subscribe_events_raw(EventFormat::Plain, "CUSTOM sofia::register sofia::unregister").await.unwrap();
    let (_idle, mut idle_events) = connect(&mock).await;
    assert_eq!(mock.live_connections(), 4);

    let pbx = mock.pbx();
    for round in 0..3 {
        pbx.fire(pbx.heartbeat().with("Round", round.to_string()));
        pbx.fire(pbx.event("CHANNEL_CREATE").with("Unique-ID", "a").with("Round", round.to_string()));
        pbx.fire(pbx.event("CHANNEL_CREATE").with("Unique-ID", "b"));
        pbx.fire(pbx.custom_event("sofia::register").with("Round", round.to_string()));
        pbx.fire(pbx.custom_event("sofia::expire"));
        pbx.fire(pbx.event("CHANNEL_ANSWER").with("Unique-ID", "a").with("Round", round.to_string()));
    }
    for round in 0..3 {
        let r = round.to_string();
        let e = next_event(&mut hb_events).await;
        assert_eq!(
            (e.event_type(), e.header_str("Round")),
            (Some(EslEventType::Heartbeat), Some(r.as_str()))
        );
        let e = next_event(&mut call_events).await;
        assert_eq!(
            (e.event_type(), e.header_str("Round")),
            (Some(EslEventType::ChannelCreate), Some(r.as_str()))
        );
        let e = next_event(&mut call_events).await;
        assert_eq!(
            (e.event_type(), e.header_str("Round")),
            (Some(EslEventType::ChannelAnswer), Some(r.as_str()))
        );
        let e = next_event(&mut reg_events).await;
        assert_eq!(
            (e.header_str("Event-Subclass"), e.header_str("Round")),
            (Some("sofia::register"), Some(r.as_str()))
        );
    }
    // Nobody got more than they asked for.
    pbx.fire(pbx.event("CHANNEL_DESTROY"));
    assert_no_event(&mut hb_events).await;
    assert_no_event(&mut call_events).await;
    assert_no_event(&mut reg_events).await;
    assert_no_event(&mut idle_events).await;
}
