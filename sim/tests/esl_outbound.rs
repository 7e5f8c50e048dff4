//! Outbound mode: a call reaching `socket HOST:PORT [async] [full]` makes the mock connect
//! to a listener of ours and speak mod_event_socket's outbound ESL. freeswitch-esl-tokio's
//! `EslClient::accept_outbound` is the independent client; raw sockets pin the exact bytes.
//! Each test cites the FreeSWITCH function (src/mod/event_handlers/mod_event_socket/
//! mod_event_socket.c unless named otherwise) whose behaviour it pins.

use std::time::Duration;

use eslmatrix_sim::fs::pbx::dialplan::ExtensionSpec;
use eslmatrix_sim::fs::wire::GOODBYE;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use freeswitch_esl_tokio::{
    ConnectionStatus, DisconnectReason, EslClient, EslEvent, EslEventStream, EventFormat, HeaderLookup,
};
use tokio::net::TcpListener;
use tokio::time::timeout;

use crate::esl_support::library::{api, is, originate, until};
use crate::esl_support::{disconnect, reply, Msg, Raw};

const WAIT: Duration = Duration::from_secs(30);

async fn switch() -> MockHandle {
    MockFreeSwitch::start(MockConfig { heartbeat: None, ..MockConfig::default() }).await.expect("mock starts")
}

/// An inbound client that watches every channel event, for what the outbound socket
/// does not see.
async fn observer(mock: &MockHandle) -> (EslClient, EslEventStream) {
    let (c, events) = EslClient::connect("127.0.0.1", mock.addr().port(), "ClueCon").await.expect("login");
    c.subscribe_events_raw(EventFormat::Plain, "ALL").await.expect("event ALL");
    (c, events)
}

async fn listen() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn app_is(ev: &EslEvent, name: &str, app: &str) -> bool {
    ev.header_str("Event-Name") == Some(name) && ev.header_str("Application") == Some(app)
}

/// Raw side of an outbound session: accepts the mock's connection.
async fn accept_raw(listener: &TcpListener) -> Raw {
    let (stream, _) = timeout(WAIT, listener.accept()).await.expect("the mock connects").expect("accept");
    Raw::from_stream(stream)
}

/// `originate {VARS}null/DEST '&socket(127.0.0.1:PORT FLAGS)'` to a listener of ours, the
/// raw side of the session, and its answer to `connect`.
async fn raw_session(obs: &EslClient, vars: &str, dest: &str, flags: &str) -> (String, Raw, Msg) {
    let (listener, port) = listen().await;
    let cmd = format!("originate {vars}null/{dest} '&socket(127.0.0.1:{port} {flags})'");
    let uuid = originate(obs, &cmd).await;
    let mut raw = accept_raw(&listener).await;
    raw.send(b"connect\n\n").await;
    let data = raw.next().await;
    (uuid, raw, data)
}

// parse_command `connect`: a CHANNEL_DATA event with the caller profile under `Channel-`,
// the channel data, then Content-Type, Reply-Text, Socket-Mode and Control at the bottom;
// socket_function parks the channel once connected in async mode; `myevents` scopes
// delivery to the session; sendmsg `execute` runs the dialplan applications
// (switch_ivr.c switch_ivr_parse_event); on hangup without linger listener_run ends with
// send_disconnect's session notice; the channel's CHANNEL_DESTROY waits for the session.
#[tokio::test]
async fn connect_myevents_execute_and_disconnect_with_freeswitch_esl_tokio() {
    let mock = switch().await;
    let (obs, mut seen) = observer(&mock).await;
    let (listener, port) = listen().await;
    let uuid = originate(&obs, &format!("originate null/100 '&socket(127.0.0.1:{port} async full)'")).await;

    let (client, mut events) = timeout(WAIT, EslClient::accept_outbound(&listener)).await.unwrap().unwrap();
    let data = client.connect_session().await.expect("connect answers").into_result().expect("+OK");
    assert_eq!(data.header_str("Event-Name"), Some("CHANNEL_DATA"));
    assert_eq!(data.header_str("Unique-ID"), Some(uuid.as_str()));
    assert_eq!(data.header_str("Channel-Unique-ID"), Some(uuid.as_str()), "the profile as Channel-*");
    assert_eq!(data.header_str("Channel-Name"), Some("null/100"));
    assert_eq!(data.header_str("Caller-Destination-Number"), Some("100"));
    assert_eq!(data.header_str("variable_current_application"), Some("socket"));
    assert_eq!(data.header_str("Socket-Mode"), Some("async"));
    assert_eq!(data.header_str("Control"), Some("full"));
    let park = until(&mut seen, |e| is(e, "CHANNEL_PARK", &uuid)).await;
    assert!(park.iter().any(|e| app_is(e, "CHANNEL_EXECUTE", "socket")), "socket ran as an application");

    client.myevents(EventFormat::Plain).await.expect("myevents");
    let _ =
        client.execute("set", Some("color=blue"), None).await.expect("execute set").into_result().unwrap();
    let got = until(&mut events, |e| app_is(e, "CHANNEL_EXECUTE_COMPLETE", "set")).await;
    for e in &got {
        assert_eq!(
            e.header_str("Unique-ID"),
            Some(uuid.as_str()),
            "myevents: own channel only: {:?}",
            e.event_type()
        );
    }
    assert_eq!(got.last().unwrap().header_str("Application-Data"), Some("color=blue"));
    assert_eq!(client.getvar("color").await.unwrap(), "blue");

    let _ = client
        .execute("hangup", Some("USER_BUSY"), None)
        .await
        .expect("execute hangup")
        .into_result()
        .unwrap();
    let got = until(&mut events, |e| is(e, "CHANNEL_HANGUP_COMPLETE", &uuid)).await;
    let hangup = got.iter().find(|e| is(e, "CHANNEL_HANGUP", &uuid)).expect("CHANNEL_HANGUP");
    assert_eq!(hangup.header_str("Hangup-Cause"), Some("USER_BUSY"));
    // No linger: the disconnect notice follows, and the stream ends.
    while let Ok(Some(Ok(ev))) = timeout(WAIT, events.recv()).await {
        assert!(!is(&ev, "CHANNEL_DESTROY", &uuid), "destroy waits for the session to let go");
    }
    match client.status() {
        // The crate title-cases the header name (Controlled-Session-Uuid) and then looks up
        // Controlled-Session-UUID, so it reports none; the exact bytes are pinned below.
        ConnectionStatus::Disconnected(DisconnectReason::ServerNotice { body, .. }) => {
            assert_eq!(body.as_deref(), Some(GOODBYE));
        }
        other => panic!("expected the disconnect notice, got {other:?}"),
    }
    until(&mut seen, |e| is(e, "CHANNEL_DESTROY", &uuid)).await;
}

// parse_command `connect` (switch_event_serialize: percent-encoded values, no
// Content-Length, a blank line), and listener_run's outbound start: the first packet is
// parsed but its reply is never sent, so a `myevents` sent first is silent.
#[tokio::test]
async fn connect_reply_bytes_and_the_silent_first_command() {
    let mock = switch().await;
    let (obs, _seen) = observer(&mock).await;
    let (listener, port) = listen().await;
    let uuid = originate(&obs, &format!("originate null/101 &socket(127.0.0.1:{port})")).await;
    let mut raw = accept_raw(&listener).await;
    raw.send(b"myevents\n\n").await;
    raw.send(b"connect\n\n").await;
    let m = raw.next().await;
    let text = String::from_utf8(m.bytes.clone()).unwrap();
    assert!(text.starts_with("Event-Name: CHANNEL_DATA\nCore-UUID: "), "{text}");
    assert!(
        text.contains("\nEvent-Calling-File: mod_event_socket.c\nEvent-Calling-Function: parse_command\n")
    );
    assert!(text.contains(&format!("\nUnique-ID: {uuid}\n")));
    assert!(text.contains("\nChannel-Name: null/101\n"));
    assert!(
        text.ends_with("Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: static\nControl: single-channel\n\n"),
        "{text}"
    );
    assert!(!text.contains("Content-Length"));
    // myevents took effect although it was not answered: a second one is refused.
    assert_eq!(raw.cmd("myevents").await.bytes, reply("-ERR aready enabled."));
}

// parse_command: in single-channel mode (no `full`) everything after `sendmsg` answers
// "-ERR command not found" (`if (LFLAG_OUTBOUND && !LFLAG_FULL) goto done`), `linger`
// included; `getvar` answers the value, or nothing, which `done:` turns into the same
// text; `resume` sets socket_resume; `divert_events` wants a value.
#[tokio::test]
async fn single_channel_command_set() {
    let mock = switch().await;
    let (obs, _seen) = observer(&mock).await;
    let (uuid, mut raw, data) = raw_session(&obs, "{color=green}", "102", "async").await;
    assert_eq!(data.header("Control"), Some("single-channel"));
    assert_eq!(data.header("Socket-Mode"), Some("async"));
    for refused in
        ["api status", "event plain ALL", "linger", "bgapi status", "log debug", "sendevent CUSTOM"]
    {
        assert_eq!(raw.cmd(refused).await.bytes, reply("-ERR command not found"), "{refused}");
    }
    assert_eq!(raw.cmd("getvar color").await.bytes, reply("green"));
    assert_eq!(raw.cmd("getvar no_such_variable").await.bytes, reply("-ERR command not found"));
    assert_eq!(raw.cmd("getvar destination_number").await.bytes, reply("102"), "caller-profile fields too");
    assert_eq!(raw.cmd("resume").await.bytes, reply("+OK"));
    assert_eq!(raw.cmd("getvar socket_resume").await.bytes, reply("true"));
    assert_eq!(raw.cmd("divert_events").await.bytes, reply("-ERR missing value."));
    assert_eq!(raw.cmd("divert_events on").await.bytes, reply("+OK events diverted"));
    assert_eq!(raw.cmd("divert_events off").await.bytes, reply("+OK events not diverted"));
    assert_eq!(raw.cmd("filter Unique-ID x").await.bytes, reply("+OK filter added. [Unique-ID]=[x]"));
    assert_eq!(
        raw.cmd(&format!("sendmsg {uuid}\ncall-command: execute\nexecute-app-name: answer")).await.bytes,
        reply("+OK")
    );
}

// read_packet: when the channel goes down a lingering listener gets the linger notice
// (Controlled-Session-UUID, Content-Disposition: linger, Channel-Name, Linger-Time,
// Content-Length: 0) and keeps its events until `linger N` runs out; then listener_run
// ends with send_disconnect's session notice.
#[tokio::test]
async fn linger_notice_then_disconnect_bytes() {
    let mock = switch().await;
    let (obs, mut seen) = observer(&mock).await;
    let (uuid, mut raw, _) = raw_session(&obs, "", "103", "async full").await;
    assert_eq!(raw.cmd("linger 1").await.bytes, reply("+OK will linger 1 seconds"));
    assert_eq!(raw.cmd("myevents").await.bytes, reply("+OK Events Enabled"));
    assert_eq!(api(&obs, &format!("uuid_kill {uuid} CALL_REJECTED")).await, "+OK\n");
    let mut names = Vec::new();
    let notice = loop {
        let m = raw.next().await;
        match m.header("Content-Type") {
            Some("text/event-plain") => {
                let body = m.body_text();
                names.push(body.lines().next().unwrap_or("").to_string());
            }
            _ => break m,
        }
    };
    assert!(names.contains(&"Event-Name: CHANNEL_HANGUP_COMPLETE".to_string()), "{names:?}");
    assert!(!names.contains(&"Event-Name: CHANNEL_DESTROY".to_string()), "{names:?}");
    let expected = format!(
        "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\nContent-Disposition: linger\n\
         Channel-Name: null/103\nLinger-Time: 1\nContent-Length: 0\n\n"
    );
    assert_eq!(String::from_utf8_lossy(&notice.bytes), expected);
    // Still open while lingering: commands are answered.
    assert_eq!(raw.cmd("getvar hangup_cause").await.bytes, reply("CALL_REJECTED"));
    assert_eq!(raw.rest().await, disconnect(&uuid));
    until(&mut seen, |e| is(e, "CHANNEL_DESTROY", &uuid)).await;
}

// parse_command `exit` answers "+OK bye", listener_run's end sends the session notice and
// clears CF_CONTROLLED: switch_ivr_park returns (CHANNEL_UNPARK), socket_function returns
// and the extension goes on; `&socket(...)` was its last action, so
// switch_core_standard_on_execute hangs up with NORMAL_CLEARING.
#[tokio::test]
async fn exit_lets_the_dialplan_go_on() {
    let mock = switch().await;
    let (obs, mut seen) = observer(&mock).await;
    let (uuid, mut raw, _) = raw_session(&obs, "", "104", "async full").await;
    until(&mut seen, |e| is(e, "CHANNEL_PARK", &uuid)).await;
    assert_eq!(raw.cmd("exit").await.bytes, reply("+OK bye"));
    assert_eq!(raw.rest().await, disconnect(&uuid));
    let after = until(&mut seen, |e| is(e, "CHANNEL_HANGUP", &uuid)).await;
    assert!(after.iter().any(|e| is(e, "CHANNEL_UNPARK", &uuid)));
    assert!(after.iter().any(|e| app_is(e, "CHANNEL_EXECUTE_COMPLETE", "socket")));
    assert_eq!(after.last().unwrap().header_str("Hangup-Cause"), Some("NORMAL_CLEARING"));
}

// socket_function: every host refused ("Socket Error!") and the application returns, so
// the extension's next action runs (here a hangup with a cause of its own).
#[tokio::test]
async fn a_refused_target_lets_the_extension_go_on() {
    let mock = switch().await;
    let dead = {
        let (l, port) = listen().await;
        drop(l);
        port
    };
    mock.pbx()
        .add_extensions(&[ExtensionSpec {
            context: "default".into(),
            name: "ivr".into(),
            conditions: vec![(String::new(), "^7000$".into())],
            actions: vec![
                "answer".into(),
                format!("socket 127.0.0.1:{dead}|127.0.0.1:{dead} async full"),
                "hangup CALL_REJECTED".into(),
            ],
        }])
        .unwrap();
    let (obs, mut seen) = observer(&mock).await;
    let mut logs = Raw::login(mock.addr()).await;
    assert_eq!(logs.cmd("log notice").await.bytes, reply("+OK log level notice [5]"));
    let uuid = originate(&obs, "originate loopback/7000 &park()").await;
    let b = until(&mut seen, |e| app_is(e, "CHANNEL_EXECUTE_COMPLETE", "socket")).await;
    let b_leg = b.last().unwrap().header_str("Unique-ID").unwrap().to_string();
    assert_ne!(b_leg, uuid);
    let hangup = until(&mut seen, |e| is(e, "CHANNEL_HANGUP", &b_leg)).await;
    assert_eq!(hangup.last().unwrap().header_str("Hangup-Cause"), Some("CALL_REJECTED"));
    assert_eq!(hangup.last().unwrap().header_str("variable_socket_host"), Some("127.0.0.1"));
    // socket_function's log lines: "Trying host" (NOTICE) per host, "Socket Error: …" per
    // refusal, then "Socket Error!" (ERR), all for the B leg.
    let mut lines = Vec::new();
    while lines.last().is_none_or(|(_, t): &(String, String)| t != "Socket Error!") {
        let m = logs.next().await;
        if m.header("Log-Func") == Some("socket_function") {
            assert_eq!(m.header("User-Data"), Some(b_leg.as_str()));
            let text = m.body_text();
            // "DATE IDLE% [LEVEL] file:line text"
            let after = text.trim_end().split_once("] ").map_or("", |(_, t)| t);
            let text = after.split_once(' ').map_or(after, |(_, t)| t).to_string();
            lines.push((m.header("Log-Level").unwrap_or_default().to_string(), text));
        }
    }
    let shown: Vec<(&str, &str)> =
        lines.iter().map(|(l, t)| (l.as_str(), t.split(':').next().unwrap_or(""))).collect();
    assert_eq!(
        shown,
        [
            ("5", "Trying host"),
            ("5", "Trying host"),
            ("3", "Socket Error"),
            ("3", "Socket Error"),
            ("3", "Socket Error!")
        ]
    );
}

/// The plain events of a raw session until one named `last` (returned last).
async fn events_until(raw: &mut Raw, last: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let m = raw.next().await;
        assert_eq!(m.header("Content-Type"), Some("text/event-plain"), "{:?}", m.body_text());
        let body = m.body_text();
        let done = body.starts_with(&format!("Event-Name: {last}\n"));
        seen.push(body);
        if done {
            return seen;
        }
    }
}

// switch_ivr.c switch_ivr_parse_event, call-command execute: the argument is
// execute-app-arg, else a text/plain body; `loops` stops after a run shorter than 500 ms
// (every run of the model's applications), with current_loop / total_loops set while it
// runs and unset after; event-lock is accepted; `unicast` and `nomedia` answer +OK; the
// reply comes before the application's events (they are written on the next loop of
// listener_run). call-command hangup takes hangup-cause.
#[tokio::test]
async fn sendmsg_execute_loops_body_and_hangup() {
    let mock = switch().await;
    let (obs, _seen) = observer(&mock).await;
    let (uuid, mut raw, data) = raw_session(&obs, "", "105", "full").await;
    assert_eq!(data.header("Socket-Mode"), Some("static"));
    assert_eq!(raw.cmd("myevents").await.bytes, reply("+OK Events Enabled"));
    let body = "color=red";
    let msg = format!(
        "sendmsg\ncall-command: execute\nexecute-app-name: set\nloops: 3\nevent-lock: true\n\
         content-type: text/plain\ncontent-length: {}\n\n{body}",
        body.len()
    );
    assert_eq!(raw.cmd(&msg).await.bytes, reply("+OK"), "the reply first");
    let got = events_until(&mut raw, "CHANNEL_EXECUTE_COMPLETE").await;
    let executes: Vec<&String> =
        got.iter().filter(|e| e.starts_with("Event-Name: CHANNEL_EXECUTE\n")).collect();
    assert_eq!(executes.len(), 1, "one run: it took under 500 ms");
    assert!(executes[0].contains("\nApplication-Data: color%3Dred\n"), "{}", executes[0]);
    assert!(
        executes[0].contains("\nvariable_current_loop: 1\n")
            && executes[0].contains("\nvariable_total_loops: 3\n")
    );
    assert_eq!(raw.cmd("getvar color").await.bytes, reply("red"));
    assert_eq!(raw.cmd("getvar total_loops").await.bytes, reply("-ERR command not found"));
    let msg = "sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: shade=dark\n\
               content-type: text/plain\ncontent-length: 10\n\nshade=pale";
    assert_eq!(raw.cmd(msg).await.bytes, reply("+OK"));
    events_until(&mut raw, "CHANNEL_EXECUTE_COMPLETE").await;
    assert_eq!(raw.cmd("getvar shade").await.bytes, reply("dark"), "execute-app-arg wins over the body");
    assert_eq!(raw.cmd("sendmsg\ncall-command: unicast").await.bytes, reply("+OK"));
    assert_eq!(raw.cmd("sendmsg\ncall-command: nomedia").await.bytes, reply("+OK"));
    assert_eq!(
        raw.cmd(&format!("sendmsg {uuid}\ncall-command: hangup\nhangup-cause: NO_ANSWER")).await.bytes,
        reply("+OK")
    );
    let got = events_until(&mut raw, "CHANNEL_HANGUP").await;
    assert!(got.last().unwrap().contains("\nHangup-Cause: NO_ANSWER\n"));
}

// mod_event_socket.c parse_command `sendmsg`: in sync mode (no `async` in the socket
// arguments, no `async: true` header) switch_ivr_parse_event runs in the listener's own
// thread, so an application that blocks (park here) holds the reply until it returns; in
// async mode (or with the header) the event is queued to the session and +OK comes at once.
#[tokio::test]
async fn sync_mode_holds_the_reply_while_the_application_blocks() {
    let mock = switch().await;
    let (obs, _seen) = observer(&mock).await;
    let park = "sendmsg\ncall-command: execute\nexecute-app-name: park\n\n";

    let (uuid, mut raw, _) = raw_session(&obs, "", "106", "async full").await;
    assert_eq!(raw.cmd(park.trim_end()).await.bytes, reply("+OK"), "async: at once");
    assert_eq!(api(&obs, &format!("uuid_kill {uuid}")).await, "+OK\n");
    assert_eq!(raw.rest().await, disconnect(&uuid));

    let (uuid, mut raw, _) = raw_session(&obs, "", "107", "full").await;
    let forced = "sendmsg\ncall-command: execute\nexecute-app-name: park\nasync: true";
    assert_eq!(raw.cmd(forced).await.bytes, reply("+OK"), "sync, but the async header queues it");
    assert_eq!(api(&obs, &format!("uuid_kill {uuid}")).await, "+OK\n");
    assert_eq!(raw.rest().await, disconnect(&uuid));

    let (uuid, mut raw, _) = raw_session(&obs, "", "108", "full").await;
    raw.send(park.as_bytes()).await;
    assert!(timeout(Duration::from_millis(300), raw.next()).await.is_err(), "no reply while parked");
    assert!(api(&obs, "show channels").await.contains(",park,"));
    assert_eq!(api(&obs, &format!("uuid_kill {uuid}")).await, "+OK\n");
    let mut expected = reply("+OK");
    expected.extend_from_slice(&disconnect(&uuid));
    assert_eq!(raw.rest().await, expected, "the reply once park returned, then the disconnect");
}
