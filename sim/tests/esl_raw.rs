//! The mock over plain TCP: exact bytes for greeting, replies, notices, hostile input,
//! event delivery order and faults.

use crate::esl_support;

use std::time::Duration;

use esl_support::{assert_status, Raw, GOODBYE_NOTICE};
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::ApiOutput;
use eslmatrix_sim::fs::wire;
use eslmatrix_sim::fs::{Limits, MockConfig, MockFreeSwitch, MockHandle};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{sleep, Instant};

fn quiet() -> MockConfig {
    MockConfig { heartbeat: None, ..MockConfig::default() }
}

async fn start(config: MockConfig) -> MockHandle {
    MockFreeSwitch::start(config).await.expect("mock starts")
}

fn reply(text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n").into_bytes()
}

#[tokio::test]
async fn login_and_api_replies_are_exact() {
    let mut config = quiet();
    config.api_overrides.insert("noop".into(), ApiOutput::Text(String::new()));
    let mock = start(config).await;
    let mut c = Raw::login(mock.addr()).await;

    let status = c.cmd("api status").await;
    let ApiOutput::Text(model) = mock.pbx().api("status", "") else { panic!("model has no status") };
    assert_status(Some(&status.body_text()), &model);
    let head = format!("Content-Type: api/response\nContent-Length: {}\n\n", status.body.len());
    assert_eq!(status.bytes, [head.as_bytes(), &status.body].concat());

    assert_eq!(
        c.cmd("api nosuch arg1 arg2").await.bytes,
        b"Content-Type: api/response\nContent-Length: 31\n\n-ERR nosuch Command not found!\n"
    );
    assert_eq!(
        c.cmd("api noop").await.bytes,
        b"Content-Type: api/response\nContent-Length: 14\n\n-ERR no reply\n"
    );
    assert_eq!(c.cmd("frobnicate").await.bytes, reply("-ERR command not found"));
    assert_eq!(
        c.cmd("auth ClueCon").await.bytes,
        reply("-ERR command not found"),
        "auth after auth is unknown"
    );
    c.send(b"exit\n\n").await;
    let mut expected = reply("+OK bye");
    expected.extend_from_slice(GOODBYE_NOTICE);
    assert_eq!(c.rest().await, expected);
}

#[tokio::test]
async fn before_auth_only_auth_userauth_and_exit_work() {
    let mock = start(quiet()).await;
    let mut c = Raw::connect(mock.addr()).await;
    assert_eq!(c.next().await.bytes, b"Content-Type: auth/request\n\n");
    assert_eq!(c.cmd("api status").await.bytes, reply("-ERR command not found"));
    assert_eq!(c.cmd("event plain ALL").await.bytes, reply("-ERR command not found"));
    // CRLF framing and stray empty lines are fine.
    c.send(b"\r\n\r\nuserauth 1000@default:ClueCon\r\n\r\n").await;
    assert_eq!(
        c.next().await.bytes,
        b"Content-Type: command/reply\nReply-Text: +OK accepted\nAllowed-Events: all\nAllowed-API: all\nAllowed-LOG: true\n\n"
    );
    assert_eq!(c.cmd("...").await.bytes, reply("+OK bye"));
    assert_eq!(c.rest().await, GOODBYE_NOTICE);

    let mut c = Raw::connect(mock.addr()).await;
    c.next().await;
    c.send(b"exit\n\n").await;
    let mut expected = reply("+OK bye");
    expected.extend_from_slice(GOODBYE_NOTICE);
    assert_eq!(c.rest().await, expected);
}

#[tokio::test]
async fn wrong_password_and_bad_userauth_are_refused_and_closed() {
    let mock = start(quiet()).await;
    let mut expected = reply("-ERR invalid");
    expected.extend_from_slice(GOODBYE_NOTICE);
    for attempt in [
        "auth cluecon",
        "auth ClueCon ",
        "userauth 1000@default:nope",
        "userauth nodomain:ClueCon",
        "userauth @d:ClueCon",
    ] {
        let mut c = Raw::connect(mock.addr()).await;
        c.next().await;
        c.send(format!("{attempt}\n\n").as_bytes()).await;
        assert_eq!(c.rest().await, expected, "{attempt}");
    }
    // The mock is still fine for others.
    Raw::login(mock.addr()).await;
}

#[tokio::test]
async fn acl_denial_is_rude_and_sends_no_greeting() {
    let config = MockConfig { acl: vec!["192.0.2.0/24".parse().unwrap()], ..quiet() };
    let mock = start(config).await;
    let mut c = Raw::connect(mock.addr()).await;
    let mut expected =
        b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n".to_vec();
    expected.extend_from_slice(GOODBYE_NOTICE);
    assert_eq!(c.rest().await, expected);
}

#[tokio::test(start_paused = true)]
async fn pre_auth_silence_ends_after_25_seconds_but_only_before_the_first_command() {
    let mock = start(quiet()).await;
    let mut silent = Raw::connect(mock.addr()).await;
    let t0 = Instant::now();
    silent.next().await;
    assert_eq!(silent.rest().await, GOODBYE_NOTICE);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs(25) && waited < Duration::from_secs(26), "{waited:?}");

    let mut talker = Raw::connect(mock.addr()).await;
    talker.next().await;
    assert_eq!(talker.cmd("hello").await.bytes, reply("-ERR command not found"));
    sleep(Duration::from_secs(120)).await;
    assert_eq!(talker.cmd("auth ClueCon").await.bytes, reply("+OK accepted"));
}

#[tokio::test]
async fn bgapi_reply_then_event_only_when_subscribed_and_not_filtered() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    let job = "6a0e9c3e-5a0b-4c3a-9a55-2a1c3c0d9e11";

    // Not subscribed: the reply, and nothing after it.
    c.send(format!("bgapi status\nJob-UUID: {job}\n\n").as_bytes()).await;
    assert_eq!(
        c.next().await.bytes,
        format!("Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job}\nJob-UUID: {job}\n\n")
            .into_bytes()
    );
    assert_eq!(c.cmd("event plain BACKGROUND_JOB").await.bytes, reply("+OK event listener enabled plain"));

    // Subscribed: reply first, then the event with the job headers and the output as body.
    let r = c.cmd("bgapi status").await;
    let generated = r.header("Job-UUID").unwrap().to_string();
    assert_eq!(r.header("Reply-Text"), Some(format!("+OK Job-UUID: {generated}").as_str()));
    assert_eq!(generated.len(), 36);
    let ev = c.next().await;
    assert_eq!(ev.header("Content-Type"), Some("text/event-plain"));
    let event = wire::decode_plain(&ev.body_text()).unwrap();
    let ApiOutput::Text(status) = mock.pbx().api("status", "") else { panic!() };
    assert_eq!(event.name(), Some("BACKGROUND_JOB"));
    assert_eq!(event.get("Job-UUID"), Some(generated.as_str()));
    assert_eq!(event.get("Job-Owner-UUID"), Some(""));
    assert!(ev.body_text().contains("Job-Owner-UUID: _undef_\n"));
    assert_eq!(event.get("Job-Command"), Some("status"));
    assert_eq!(event.get("Job-Command-Arg"), None);
    assert_status(event.body.as_deref(), &status);

    // Unknown command with an argument, in json.
    c.cmd("event json BACKGROUND_JOB").await;
    c.cmd("bgapi nosuch a b").await;
    let ev = c.next().await;
    let json: serde_json::Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(json["Job-Command-Arg"], "a b");
    assert_eq!(json["_body"], "-ERR nosuch Command not found!\n");

    // A filter the job event does not match silences it.
    c.cmd("filter Unique-ID 0b8a6f3e").await;
    c.cmd("bgapi status").await;
    assert_eq!(c.cmd("noevents").await.bytes, reply("+OK no longer listening for events"));
}

#[tokio::test]
async fn subscription_and_filter_replies_are_exact() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    assert_eq!(c.cmd("noevents").await.bytes, reply("-ERR not listening for events"));
    assert_eq!(c.cmd("event").await.bytes, reply("-ERR no keywords supplied"));
    assert_eq!(c.cmd("event json NOPE also_nope").await.bytes, reply("-ERR no keywords supplied"));
    assert_eq!(c.cmd("EVENTS xml heartbeat").await.bytes, reply("+OK event listener enabled xml"));
    assert_eq!(c.cmd("event CHANNEL_CREATE").await.bytes, reply("+OK event listener enabled xml"));
    assert_eq!(c.cmd("nixevent").await.bytes, reply("-ERR no keywords supplied"));
    assert_eq!(c.cmd("nixevent HEARTBEAT").await.bytes, reply("+OK events nixed"));
    assert_eq!(
        c.cmd("filter Event-Name HEARTBEAT").await.bytes,
        reply("+OK filter added. [Event-Name]=[HEARTBEAT]")
    );
    assert_eq!(
        c.cmd("filter add Unique-ID /^abc/").await.bytes,
        reply("+OK filter added. [Unique-ID]=[/^abc/]")
    );
    assert_eq!(c.cmd("filter Event-Name").await.bytes, reply("-ERR invalid syntax"));
    assert_eq!(c.cmd("filter add Event-Name").await.bytes, reply("-ERR invalid syntax"));
    assert_eq!(c.cmd("filter delete").await.bytes, reply("-ERR invalid syntax"));
    assert_eq!(
        c.cmd("filter delete Event-Name HEARTBEAT").await.bytes,
        reply("+OK filter deleted. [Event-Name][HEARTBEAT]")
    );
    assert_eq!(c.cmd("filter delete Unique-ID").await.bytes, reply("+OK filter deleted. [Unique-ID][]"));
    assert_eq!(c.cmd("filter delete all").await.bytes, reply("+OK filter deleted. [all][]"));
    assert_eq!(c.cmd("noevents").await.bytes, reply("+OK no longer listening for events"));
}

#[tokio::test]
async fn session_commands_answer_like_a_plain_inbound_socket() {
    let mut config = quiet();
    config.api_overrides.insert("uuid_exists".into(), ApiOutput::Text("false".into()));
    let mock = start(config).await;
    let mut c = Raw::login(mock.addr()).await;
    let uuid = "0b8a6f3e-1b2c-4d5e-8f90-123456789abc";
    assert_eq!(c.cmd("log 6").await.bytes, reply("+OK log level 6 [6]"));
    assert_eq!(c.cmd("log warning").await.bytes, reply("+OK log level warning [4]"));
    assert_eq!(c.cmd("log loud").await.bytes, reply("-ERR invalid log level"));
    assert_eq!(c.cmd("nolog").await.bytes, reply("+OK no longer logging"));
    assert_eq!(c.cmd("nolog").await.bytes, reply("-ERR not loging"));
    assert_eq!(c.cmd("linger 30").await.bytes, reply("-ERR not controlling a session"));
    assert_eq!(c.cmd("nolinger").await.bytes, reply("-ERR not controlling a session"));
    assert_eq!(c.cmd("divert_events on").await.bytes, reply("-ERR not controlling a session."));
    assert_eq!(c.cmd(&format!("myevents {uuid} json")).await.bytes, reply("-ERR invalid uuid"));
    assert_eq!(
        c.cmd(&format!("sendmsg {uuid}\ncall-command: hangup")).await.bytes,
        reply(&format!("-ERR invalid session id [{uuid}]"))
    );
    assert_eq!(c.cmd("getvar foo").await.bytes, reply("-ERR command not found"));
}

#[tokio::test]
async fn myevents_binds_to_one_known_call() {
    let mut config = quiet();
    config.api_overrides.insert("uuid_exists".into(), ApiOutput::Text("true".into()));
    let mock = start(config).await;
    let mut c = Raw::login(mock.addr()).await;
    assert_eq!(c.cmd("myevents abc json").await.bytes, reply("+OK Events Enabled"));
    assert_eq!(c.cmd("myevents abc").await.bytes, reply("-ERR aready enabled."));
    mock.pbx().fire(mock.pbx().event("CHANNEL_ANSWER").with("Unique-ID", "other"));
    mock.pbx().fire(mock.pbx().event("HEARTBEAT"));
    mock.pbx().fire(mock.pbx().event("CHANNEL_ANSWER").with("Unique-ID", "abc"));
    let ev = c.next().await;
    assert_eq!(ev.header("Content-Type"), Some("text/event-json"));
    let json: serde_json::Value = serde_json::from_slice(&ev.body).unwrap();
    assert_eq!(json["Unique-ID"], "abc");
}

#[tokio::test]
async fn sendevent_fires_into_the_pbx_and_reaches_subscribers() {
    let mock = start(quiet()).await;
    let mut listener = Raw::login(mock.addr()).await;
    listener.cmd("event plain CUSTOM esl::test").await;
    let mut sender = Raw::login(mock.addr()).await;
    sender
        .send(b"sendevent CUSTOM\nEvent-Subclass: esl::test\nX-Foo: bar baz\nContent-Length: 7\n\nhello\n\n")
        .await;
    let r = sender.next().await;
    let uuid = r.header("Reply-Text").unwrap().strip_prefix("+OK ").unwrap().to_string();
    assert_eq!(uuid.len(), 36);
    let ev = listener.next().await;
    let body = ev.body_text();
    // parse_command: Command, the client's headers, Event-UUID, (Event-Subclass, moved
    // to the bottom by switch_event_set_subclass_name and to the top by switch_event_dup),
    // then switch_event_prep_for_delivery's Event-Name, Core-UUID, …
    let expected = format!(
        "Event-Subclass: esl%3A%3Atest\nCommand: sendevent%20CUSTOM\nX-Foo: bar%20baz\nEvent-UUID: {uuid}\nEvent-Name: CUSTOM\nCore-UUID: "
    );
    assert!(body.starts_with(&expected), "{body}");
    let event = wire::decode_plain(&body).unwrap();
    assert_eq!(event.get("X-Foo"), Some("bar baz"));
    assert_eq!(event.get("Event-UUID"), Some(uuid.as_str()));
    assert_eq!(event.body.as_deref(), Some("hello\n\n"));

    // mod_event_socket.c parse_command: the reply is always the fresh Event-UUID, even
    // with a Unique-ID header; an unsubscribed subclass reaches nobody.
    sender.send(b"sendevent CUSTOM\nEvent-Subclass: other::thing\nUnique-ID: u-1\n\n").await;
    let answer = sender.next().await;
    let fresh = answer.header("Reply-Text").unwrap().strip_prefix("+OK ").unwrap().to_string();
    assert_eq!(fresh.len(), 36);
    assert_ne!(fresh, uuid);
    sender.send(b"sendevent CHANNEL_CREATE\nUnique-ID: u-2\n\n").await;
    sender.next().await;
    listener.cmd("nixevent CUSTOM esl::test").await;
    assert_eq!(
        listener.cmd("event plain CHANNEL_CREATE").await.bytes,
        reply("+OK event listener enabled plain")
    );
    sender.send(b"sendevent CHANNEL_CREATE\nUnique-ID: u-3\n\n").await;
    sender.next().await;
    let ev = wire::decode_plain(&listener.next().await.body_text()).unwrap();
    assert_eq!((ev.name(), ev.get("Unique-ID")), (Some("CHANNEL_CREATE"), Some("u-3")));
}

#[tokio::test]
async fn held_events_are_written_ahead_of_the_next_reply() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    c.cmd("event plain HEARTBEAT").await;
    // The fault is seen before the event: the connection polls faults ahead of events.
    mock.faults().inject_into(1, Fault::HoldEvents);
    mock.pbx().fire(mock.pbx().heartbeat());
    c.send(b"api status\n\n").await;
    let first = c.next().await;
    assert_eq!(first.header("Content-Type"), Some("text/event-plain"), "the event races ahead of the reply");
    assert_eq!(c.next().await.header("Content-Type"), Some("api/response"));
}

#[tokio::test]
async fn hostile_input_closes_only_that_connection() {
    let mock = start(quiet()).await;
    let mut bystander = Raw::login(mock.addr()).await;
    let huge = {
        let mut v = b"api ".to_vec();
        v.resize(10 * 1024 * 1024 + 16, b'a');
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("negative length", b"sendevent CUSTOM\nContent-Length: -1\n\n".to_vec()),
        ("length over 16 MiB", b"sendevent CUSTOM\nContent-Length: 16777217\n\n".to_vec()),
        ("bare CR", b"api status\rexit\n\n".to_vec()),
        ("NUL", b"api status\0\n\n".to_vec()),
        ("over-long line", huge),
    ];
    for (what, bytes) in cases {
        let mut c = Raw::login(mock.addr()).await;
        // The huge write may be cut short by the close; that is the point.
        let _ = c.stream.write_all(&bytes).await;
        let rest = c.rest().await;
        assert!(rest.is_empty() || rest == GOODBYE_NOTICE, "{what}: {:?}", String::from_utf8_lossy(&rest));
        assert_eq!(bystander.cmd("api nosuch").await.header("Content-Type"), Some("api/response"), "{what}");
    }
}

#[tokio::test]
async fn shutdown_notifies_every_client() {
    let mock = start(quiet()).await;
    let mut a = Raw::login(mock.addr()).await;
    let mut b = Raw::connect(mock.addr()).await;
    b.next().await;
    assert_eq!(mock.live_connections(), 2);
    let addr = mock.addr();
    mock.shutdown().await;
    let notice =
        b"Content-Type: text/disconnect-notice\nContent-Length: 31\n\nThe system is being shut down.\n";
    assert_eq!(a.rest().await, notice);
    assert_eq!(b.rest().await, notice);
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

#[tokio::test]
async fn a_listener_that_falls_behind_is_killed() {
    let config =
        MockConfig { limits: Limits { event_queue: 8, lost_events: 50, ..Limits::default() }, ..quiet() };
    let mock = start(config).await;
    let mut slow = Raw::login(mock.addr()).await;
    slow.cmd("event plain ALL").await;
    let mut idle = Raw::login(mock.addr()).await;
    // Fired without yielding: 100 events into a queue of 8.
    for _ in 0..100 {
        mock.pbx().fire(mock.pbx().heartbeat());
    }
    let rest = slow.rest().await;
    let notice = b"Content-Type: text/disconnect-notice\nContent-Length: 39\n\nkilled listener because of lost events\n";
    assert!(rest.ends_with(notice), "{}", String::from_utf8_lossy(&rest));
    // An unsubscribed connection lost nothing it wanted and stays.
    assert_eq!(idle.cmd("api nosuch").await.header("Content-Type"), Some("api/response"));
}

#[tokio::test]
async fn split_writes_and_drip_keep_the_bytes() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    c.cmd("event plain HEARTBEAT").await;
    let heartbeat = mock.pbx().heartbeat();
    let expected = wire::event_message(&heartbeat, wire::Format::Plain).to_bytes();
    for max in [1, 7, 100] {
        mock.faults().inject(Fault::SplitWrites { max });
        c.cmd("api nosuch").await;
        mock.pbx().fire(heartbeat.clone());
        assert_eq!(c.next().await.bytes, expected, "max {max}");
    }
    mock.faults().inject(Fault::WholeWrites);
    assert_eq!(c.cmd("api nosuch").await.body_text(), "-ERR nosuch Command not found!\n");
}

#[tokio::test]
async fn close_mid_header_and_mid_body() {
    let mock = start(quiet()).await;
    let full = b"Content-Type: api/response\nContent-Length: 31\n\n-ERR nosuch Command not found!\n";

    let mut c = Raw::login(mock.addr()).await;
    mock.faults().inject_into(1, Fault::CloseMidBody);
    c.cmd("noevents").await; // header-only replies pass untouched
    c.send(b"api nosuch\n\n").await;
    let got = c.rest().await;
    assert_eq!(got, full[..full.len() - 31 + 15]);

    let mut c = Raw::login(mock.addr()).await;
    mock.faults().inject_into(2, Fault::CloseMidHeader);
    c.send(b"api nosuch\n\n").await;
    let got = c.rest().await;
    assert_eq!(got, full[..(full.len() - 31) / 2]);
}

#[tokio::test]
async fn garbage_is_written_raw() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    mock.faults().inject(Fault::Garbage);
    mock.faults().inject(Fault::Shutdown);
    let rest = c.rest().await;
    assert!(rest.starts_with(b"\x00\x01\xfe\xff"), "{rest:?}");
    assert!(rest.ends_with(b"The system is being shut down.\n"));
}

#[tokio::test(start_paused = true)]
async fn stall_delays_writes_in_tokio_time() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    mock.faults().inject(Fault::Stall { ms: 5_000 });
    let t0 = Instant::now();
    assert_eq!(c.cmd("noevents").await.bytes, reply("-ERR not listening for events"));
    assert!(t0.elapsed() >= Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[tokio::test(start_paused = true)]
async fn restart_drops_everyone_refuses_then_comes_back_on_the_same_port() {
    let mock = start(quiet()).await;
    let addr = mock.addr();
    let mut c = Raw::login(addr).await;
    mock.faults().inject(Fault::Restart { down_ms: 3_000 });
    assert_eq!(c.rest().await, b"", "dropped without a notice");
    sleep(Duration::from_millis(500)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "refused while down");
    sleep(Duration::from_millis(3_000)).await;
    let mut back = Raw::login(addr).await;
    assert_eq!(back.cmd("api nosuch").await.header("Content-Type"), Some("api/response"));
    assert_eq!(mock.accepted_connections(), 2);
}

#[tokio::test(start_paused = true)]
async fn heartbeat_timer_feeds_every_subscriber_the_same_event() {
    let config = MockConfig { heartbeat: Some(Duration::from_secs(20)), ..MockConfig::default() };
    let mock = start(config).await;
    let mut a = Raw::login(mock.addr()).await;
    let mut b = Raw::login(mock.addr()).await;
    a.cmd("event plain HEARTBEAT").await;
    b.cmd("event json ALL").await;
    let t0 = Instant::now();
    let (ea, eb) = (a.next().await, b.next().await);
    assert!(t0.elapsed() <= Duration::from_secs(20));
    let plain = wire::decode_plain(&ea.body_text()).unwrap();
    assert_eq!(plain.name(), Some("HEARTBEAT"));
    assert_eq!(eb.body, wire::encode_json(&plain), "one event, two formats");
    let t1 = Instant::now();
    a.next().await;
    assert_eq!(t1.elapsed(), Duration::from_secs(20));
}

#[tokio::test]
async fn run_mock_serves_until_stopped_then_says_goodbye() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(eslmatrix_sim::fs::run_mock(
        quiet(),
        move |handle| {
            let _ = ready_tx.send(handle.addr());
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let addr = ready_rx.await.expect("ready");
    let mut c = Raw::login(addr).await;
    stop.send(()).unwrap();
    assert_eq!(
        c.rest().await,
        b"Content-Type: text/disconnect-notice\nContent-Length: 31\n\nThe system is being shut down.\n"
    );
    server.await.unwrap().expect("clean exit");
}

#[tokio::test]
async fn bind_failure_is_a_typed_error() {
    let mock = start(quiet()).await;
    let taken = MockConfig { listen: mock.addr(), ..quiet() };
    let err = MockFreeSwitch::start(taken).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with(&format!("cannot listen on {}", mock.addr())), "{err}");
}

// mod_event_socket.c listener_run: when the read loop ends because the client closed its
// side, the socket is still there and send_disconnect says goodbye before close_socket.
#[tokio::test]
async fn client_half_close_still_gets_the_goodbye_notice() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    c.stream.shutdown().await.unwrap();
    assert_eq!(c.rest().await, GOODBYE_NOTICE);
}

// mod_event_socket.c handles the command line as bytes: an unknown API name comes back
// byte for byte in api_exec's "-ERR %s Command not found!" (no hang-up for non-UTF-8).
#[tokio::test]
async fn command_lines_are_bytes() {
    let mock = start(quiet()).await;
    let mut c = Raw::login(mock.addr()).await;
    c.send(b"api st\xffatus\n\n").await;
    let m = c.next().await;
    let body = b"-ERR st\xffatus Command not found!\n";
    let mut expected = format!("Content-Type: api/response\nContent-Length: {}\n\n", body.len()).into_bytes();
    expected.extend_from_slice(body);
    assert_eq!(m.bytes, expected);
    assert_eq!(
        c.cmd("api uuid_exists x").await.header("Content-Type"),
        Some("api/response"),
        "still connected"
    );
    // read_packet: `clen = atoi(val)`, so `+5` and trailing junk still frame a 5-byte body.
    c.send(b"sendevent CUSTOM\nEvent-Subclass: esl::atoi\nContent-Length: +5 bytes\n\nhello").await;
    assert!(c.next().await.header("Reply-Text").unwrap().starts_with("+OK "));
    assert_eq!(c.cmd("api echo framed").await.body_text(), "framed");
}

// mod_event_socket.c socket_logger: a listener whose log queue is full loses lines; past
// MAX_MISSED (500) lost lines it is killed with "killed listener because of lost log lines".
#[tokio::test]
async fn a_listener_that_loses_too_many_log_lines_is_killed() {
    let pbx = eslmatrix_sim::fs::pbx::PbxConfig { event_queue: 8, ..Default::default() };
    let config = MockConfig { pbx, ..quiet() };
    let mock = start(config).await;
    let mut c = Raw::login(mock.addr()).await;
    assert_eq!(c.cmd("log debug").await.bytes, reply("+OK log level debug [7]"));
    // Hold the connection's writes while the model logs far more than the queue holds.
    mock.faults().inject_into(1, Fault::HoldEvents);
    c.send(b"api uuid_exists x\n\n").await;
    assert_eq!(c.next().await.body_text(), "false");
    mock.faults().inject_into(1, Fault::HoldEvents);
    sleep(Duration::from_millis(50)).await;
    for i in 0..120 {
        let out = mock.pbx().api("originate", &format!("null/{i} &hangup()"));
        assert!(matches!(out, ApiOutput::Text(ref t) if t.starts_with("+OK ")), "{out:?}");
    }
    c.send(b"api uuid_exists x\n\n").await;
    let rest = c.rest().await;
    let notice = b"Content-Type: text/disconnect-notice\nContent-Length: 42\n\nkilled listener because of lost log lines\n";
    assert!(rest.ends_with(notice), "{}", String::from_utf8_lossy(&rest[rest.len().saturating_sub(300)..]));
}
