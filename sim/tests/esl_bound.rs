//! Inbound connections bound to a call with `myevents UUID`, over real TCP. Each test cites
//! the FreeSWITCH function (src/mod/event_handlers/mod_event_socket/mod_event_socket.c
//! unless named otherwise) whose behaviour it pins: parse_command's `myevents` branch takes
//! `listener->session = switch_core_session_locate(uuid)`, a read lock the channel's
//! destroy waits for, and read_packet then treats the hangup as for an outbound session.

use eslmatrix_sim::fs::pbx::ApiOutput;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};

use crate::esl_support::{disconnect, reply, Msg, Raw};

async fn switch() -> MockHandle {
    MockFreeSwitch::start(MockConfig { heartbeat: None, ..MockConfig::default() }).await.expect("mock starts")
}

fn api(mock: &MockHandle, cmd: &str, args: &str) -> String {
    match mock.pbx().api(cmd, args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("{cmd}: not found"),
    }
}

/// A parked call that stays up until killed.
fn parked_call(mock: &MockHandle) -> String {
    let out = api(mock, "originate", "null/100 &park()");
    out.strip_prefix("+OK ").unwrap_or_else(|| panic!("originate: {out}")).trim().to_string()
}

fn linger_notice(uuid: &str, secs: u32) -> String {
    format!(
        "Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uuid}\nContent-Disposition: linger\n\
         Channel-Name: null/100\nLinger-Time: {secs}\nContent-Length: 0\n\n"
    )
}

/// The `Event-Name` of each plain event before the first message that is not one, and that
/// message.
async fn events_then(raw: &mut Raw) -> (Vec<String>, Msg) {
    let mut names = Vec::new();
    loop {
        let m = raw.next().await;
        if m.header("Content-Type") != Some("text/event-plain") {
            return (names, m);
        }
        let body = m.body_text();
        let name = body.lines().find_map(|l| l.strip_prefix("Event-Name: ")).unwrap_or("").to_string();
        assert!(body.contains("Unique-ID: "), "{body}");
        names.push(name);
    }
}

async fn bind(mock: &MockHandle, uuid: &str) -> Raw {
    let mut raw = Raw::login(mock.addr()).await;
    assert_eq!(raw.cmd(&format!("myevents {uuid}")).await.bytes, reply("+OK Events Enabled"));
    raw
}

// read_packet: `switch_channel_down(channel) && !LFLAG_HANDLE_DISCO` without LFLAG_LINGER
// breaks out after the events already queued were sent; listener_run ends with
// send_disconnect (the session's notice, Controlled-Session-UUID) and close_socket.
#[tokio::test]
async fn hangup_sends_its_events_then_the_disconnect_and_closes() {
    let mock = switch().await;
    let uuid = parked_call(&mock);
    let mut observer = destroy_observer(&mock).await;
    let mut raw = bind(&mock, &uuid).await;
    assert_eq!(api(&mock, "uuid_kill", &uuid), "+OK\n");
    let (names, notice) = events_then(&mut raw).await;
    assert_eq!(names.first().map(String::as_str), Some("CHANNEL_HANGUP"), "{names:?}");
    assert_eq!(names.last().map(String::as_str), Some("CHANNEL_HANGUP_COMPLETE"), "{names:?}");
    assert!(!names.iter().any(|n| n == "CHANNEL_DESTROY"), "destroy waits for the lock: {names:?}");
    assert_eq!(notice.bytes, disconnect(&uuid));
    assert!(raw.try_next().await.is_none(), "the socket closes after the notice");
    // The lock is gone with the connection: the channel is destroyed.
    assert_destroyed(&mut observer, &uuid).await;
}

/// Another client, subscribed to CHANNEL_DESTROY only.
async fn destroy_observer(mock: &MockHandle) -> Raw {
    let mut observer = Raw::login(mock.addr()).await;
    assert_eq!(
        observer.cmd("event plain CHANNEL_DESTROY").await.bytes,
        reply("+OK event listener enabled plain")
    );
    observer
}

/// The observer's next message is the CHANNEL_DESTROY of `uuid`.
async fn assert_destroyed(observer: &mut Raw, uuid: &str) {
    let destroy = observer.next().await.body_text();
    assert!(destroy.starts_with("Event-Name: CHANNEL_DESTROY\n"), "{destroy}");
    assert!(destroy.contains(&format!("\nUnique-ID: {uuid}\n")), "{destroy}");
}

/// A parked call bound by a connection that asked `linger 2`, then killed (its `uuid_exists`
/// true until then): the call's UUID, the connection past its linger notice, and the names
/// of the events it got before that notice.
async fn hung_up_while_lingering(mock: &MockHandle) -> (String, Raw, Vec<String>) {
    let uuid = parked_call(mock);
    let mut raw = bind(mock, &uuid).await;
    assert_eq!(raw.cmd("linger 2").await.bytes, reply("+OK will linger 2 seconds"));
    assert_eq!(api(mock, "uuid_exists", &uuid), "true");
    assert_eq!(api(mock, "uuid_kill", &uuid), "+OK\n");
    let (names, notice) = events_then(&mut raw).await;
    assert_eq!(String::from_utf8_lossy(&notice.bytes), linger_notice(&uuid, 2));
    (uuid, raw, names)
}

// read_packet with LFLAG_LINGER (`linger 2`, accepted because `myevents UUID` set
// listener->session): the linger notice (Content-Disposition: linger, Linger-Time: 2), the
// socket still answers commands, and once `linger_timeout` passes ("linger timeout,
// closing socket") listener_run ends with send_disconnect.
#[tokio::test]
async fn linger_keeps_the_bound_socket_then_disconnects() {
    let mock = switch().await;
    let (uuid, mut raw, names) = hung_up_while_lingering(&mock).await;
    assert_eq!(names.last().map(String::as_str), Some("CHANNEL_HANGUP_COMPLETE"), "{names:?}");
    assert_eq!(raw.cmd("getvar hangup_cause").await.bytes, reply("NORMAL_CLEARING"));
    assert_eq!(raw.rest().await, disconnect(&uuid));
}

// listener_run releases the session's read lock (switch_core_session_rwunlock) only at its
// very end, and switch_core_session_destroy (src/switch_core_session.c) needs the write
// lock: with two bound listeners, CHANNEL_DESTROY reaches another subscriber only after
// both are gone, the lingering one last.
#[tokio::test]
async fn destroy_waits_for_every_bound_connection() {
    let mock = switch().await;
    let uuid = parked_call(&mock);
    let mut observer = destroy_observer(&mock).await;
    let mut lingering = bind(&mock, &uuid).await;
    assert_eq!(lingering.cmd("linger 2").await.bytes, reply("+OK will linger 2 seconds"));
    let mut quick = bind(&mock, &uuid).await;
    assert_eq!(api(&mock, "uuid_kill", &uuid), "+OK\n");
    let (_, notice) = events_then(&mut quick).await;
    assert_eq!(notice.bytes, disconnect(&uuid));
    assert!(quick.try_next().await.is_none());
    let (_, notice) = events_then(&mut lingering).await;
    assert_eq!(String::from_utf8_lossy(&notice.bytes), linger_notice(&uuid, 2));
    // Queued events go out ahead of a reply: no destroy is queued while one listener holds on.
    let echo = observer.cmd("api echo held").await;
    assert_eq!(echo.header("Content-Type"), Some("api/response"));
    assert_eq!(echo.body_text(), "held");
    assert_eq!(lingering.rest().await, disconnect(&uuid));
    assert_destroyed(&mut observer, &uuid).await;
}

// switch_core_session_locate fails for a channel that is already down
// (switch_core_session_read_lock, src/switch_core_rwlock.c, refuses when
// switch_channel_down_nosig): parse_command answers `myevents UUID FORMAT` with
// "-ERR invalid uuid", the connection holds nothing and stays open, and the destroy waits
// only for the listener that bound the call while it was up.
#[tokio::test]
async fn binding_a_call_that_already_hung_up_is_refused() {
    let mock = switch().await;
    let uuid = parked_call(&mock);
    let mut observer = destroy_observer(&mock).await;
    let mut lingering = bind(&mock, &uuid).await;
    assert_eq!(lingering.cmd("linger 1").await.bytes, reply("+OK will linger 1 seconds"));
    assert_eq!(api(&mock, "uuid_kill", &uuid), "+OK\n");
    let (_, notice) = events_then(&mut lingering).await;
    assert_eq!(String::from_utf8_lossy(&notice.bytes), linger_notice(&uuid, 1));
    let mut late = Raw::login(mock.addr()).await;
    assert_eq!(late.cmd(&format!("myevents {uuid} plain")).await.bytes, reply("-ERR invalid uuid"));
    assert_eq!(late.cmd("linger 5").await.bytes, reply("-ERR not controlling a session"));
    // Without a format parse_command goes on with no session: the channel events of every
    // call, this one's destroy included, and nothing held.
    let mut unbound = Raw::login(mock.addr()).await;
    assert_eq!(unbound.cmd(&format!("myevents {uuid}")).await.bytes, reply("+OK Events Enabled"));
    assert_eq!(unbound.cmd("linger 5").await.bytes, reply("-ERR not controlling a session"));
    assert_eq!(lingering.rest().await, disconnect(&uuid));
    let destroy = observer.next().await;
    assert!(destroy.body_text().contains(&format!("\nUnique-ID: {uuid}\n")), "{}", destroy.body_text());
    let names = events_until_destroy(&mut unbound, &uuid).await;
    assert_eq!(names.last().map(String::as_str), Some("CHANNEL_DESTROY"), "{names:?}");
    // The late connection was never bound: still open, no notice.
    let echo = late.cmd("api echo open").await;
    assert_eq!(echo.body_text(), "open");
}

/// The names of the plain events up to `uuid`'s CHANNEL_DESTROY.
async fn events_until_destroy(raw: &mut Raw, uuid: &str) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        let m = raw.next().await;
        let body = m.body_text();
        assert_eq!(m.header("Content-Type"), Some("text/event-plain"), "{body}");
        let name = body.lines().find_map(|l| l.strip_prefix("Event-Name: ")).unwrap_or("").to_string();
        names.push(name.clone());
        if name == "CHANNEL_DESTROY" && body.contains(&format!("\nUnique-ID: {uuid}\n")) {
            return names;
        }
    }
}

// parse_command `myevents json` on an inbound connection: "json" is taken as the UUID,
// switch_core_session_locate finds nothing and no format follows, so the listener gets
// LFLAG_MYEVENTS with no session, the format from `strstr(cmd, "json")`; event_handler
// then passes every event with a Unique-ID (`if (!uuid || (l->session && …))`) and drops
// the others; a second `myevents` is "-ERR aready enabled.".
#[tokio::test]
async fn myevents_without_a_session_gets_every_channel() {
    let mock = switch().await;
    let mut raw = Raw::login(mock.addr()).await;
    assert_eq!(raw.cmd("myevents json").await.bytes, reply("+OK Events Enabled"));
    assert_eq!(raw.cmd("myevents").await.bytes, reply("-ERR aready enabled."));
    assert_eq!(raw.cmd("getvar uuid").await.bytes, reply("-ERR command not found"));
    mock.pbx().fire(mock.pbx().event("HEARTBEAT"));
    let uuid = parked_call(&mock);
    let first = raw.next().await;
    assert_eq!(first.header("Content-Type"), Some("text/event-json"));
    let json: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(json["Unique-ID"], uuid.as_str(), "{json}");
    assert_ne!(json["Event-Name"], "HEARTBEAT");
}

// An outbound `socket` session (socket_function's listener_run) and an inbound `myevents
// UUID` listener each hold the session's read lock: the outbound one ends at the hangup
// (read_packet, no linger) and the application returns, yet CHANNEL_DESTROY
// (switch_core_session_perform_destroy) waits for the lingering inbound one too.
#[tokio::test]
async fn destroy_waits_for_the_bound_connection_and_the_socket_session() {
    let mock = switch().await;
    let mut observer = destroy_observer(&mock).await;
    let app = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = app.local_addr().unwrap().port();
    let out = api(&mock, "originate", &format!("null/100 '&socket(127.0.0.1:{port} async full)'"));
    let uuid = out.strip_prefix("+OK ").unwrap_or_else(|| panic!("originate: {out}")).trim().to_string();
    let (stream, _) = tokio::time::timeout(crate::esl_support::PATIENCE, app.accept())
        .await
        .expect("the mock connects")
        .expect("accept");
    let mut socket = Raw::from_stream(stream);
    socket.send(b"connect\n\n").await;
    assert_eq!(socket.next().await.header("Socket-Mode"), Some("async"));
    let mut lingering = bind(&mock, &uuid).await;
    assert_eq!(lingering.cmd("linger 1").await.bytes, reply("+OK will linger 1 seconds"));
    assert_eq!(api(&mock, "uuid_kill", &uuid), "+OK\n");
    assert_eq!(socket.rest().await, disconnect(&uuid));
    let (_, notice) = events_then(&mut lingering).await;
    assert_eq!(String::from_utf8_lossy(&notice.bytes), linger_notice(&uuid, 1));
    let echo = observer.cmd("api echo held").await;
    assert_eq!(echo.header("Content-Type"), Some("api/response"), "no destroy while one holder is left");
    assert_eq!(lingering.rest().await, disconnect(&uuid));
    assert_destroyed(&mut observer, &uuid).await;
}

// A lingering holder keeps a hung-up channel in the table, but the API reaches channels
// through switch_core_session_locate (src/switch_core_session.c), whose read lock fails once
// the channel is down (switch_core_session_read_lock, src/switch_core_rwlock.c:
// switch_channel_down_nosig): switch_ivr_uuid_exists answers false, uuid_getvar_function and
// uuid_kill_function find no channel, and sendmsg (parse_command) an invalid session; the
// holder's own `getvar` reads listener->session and still answers.
#[tokio::test]
async fn the_api_finds_no_channel_once_it_is_down_though_a_holder_keeps_it() {
    let mock = switch().await;
    let (uuid, mut lingering, _) = hung_up_while_lingering(&mock).await;
    assert_eq!(api(&mock, "uuid_exists", &uuid), "false");
    assert_eq!(api(&mock, "uuid_getvar", &format!("{uuid} hangup_cause")), "-ERR No such channel!\n");
    assert_eq!(api(&mock, "uuid_kill", &uuid), "-ERR No such channel!\n");
    assert_eq!(api(&mock, "uuid_hold", &uuid), "+OK Success\n");
    let mut other = Raw::login(mock.addr()).await;
    let sent = other.cmd(&format!("sendmsg {uuid}\ncall-command: hangup")).await;
    assert_eq!(sent.bytes, reply(&format!("-ERR invalid session id [{uuid}]")));
    assert_eq!(lingering.cmd("getvar hangup_cause").await.bytes, reply("NORMAL_CLEARING"));
    assert_eq!(lingering.rest().await, disconnect(&uuid));
}
