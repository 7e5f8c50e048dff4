//! Written the way an ESL library's live-FreeSWITCH suite is (freeswitch-esl-tokio's own
//! examples need "mod_loopback and extension 9199 in context test"): the mock plays the
//! switch, the library is the client, and every assertion is about what a live switch
//! answers. Each test cites the FreeSWITCH function whose behaviour it pins.

use std::time::Duration;

use eslmatrix_sim::fs::pbx::dialplan::ExtensionSpec;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use freeswitch_esl_tokio::commands::{Application, Endpoint, LoopbackEndpoint, Originate};
use freeswitch_esl_tokio::{EslClient, EslEvent, EslEventStream, EventFormat};

use crate::esl_support::library::{api, is, originate, until};

/// The switch of the live suites: the shipped dialplan plus `test` context extension 9199.
async fn switch() -> MockHandle {
    let mock = MockFreeSwitch::start(MockConfig { heartbeat: None, ..MockConfig::default() })
        .await
        .expect("mock starts");
    mock.pbx()
        .add_extensions(&[ExtensionSpec {
            context: "test".into(),
            name: "9199".into(),
            conditions: vec![(String::new(), "^9199$".into())],
            actions: vec!["answer".into(), "park".into()],
        }])
        .unwrap();
    mock
}

async fn client(mock: &MockHandle) -> (EslClient, EslEventStream) {
    EslClient::connect("127.0.0.1", mock.addr().port(), "ClueCon").await.expect("login")
}

// mod_loopback.c channel_outgoing_channel / channel_on_init: `loopback/9199-a` (outbound)
// and `loopback/9199-b` (inbound, routed in context `test`); the B leg's answer answers the
// A leg (channel_receive_message INDICATE_ANSWER); mod_commands.c originate_function then
// runs `&park()` on the A leg. switch_ivr.c switch_ivr_park fires CHANNEL_PARK.
#[tokio::test]
async fn originate_to_loopback_and_park() {
    let mock = switch().await;
    let (c, mut events) = client(&mock).await;
    c.subscribe_all_events(EventFormat::Plain).await.unwrap();
    let cmd = Originate::application(
        Endpoint::Loopback(LoopbackEndpoint::new("9199").with_context("test")),
        Application::simple("park"),
    )
    .to_string();
    let a = originate(&c, &cmd).await;
    let seen = until(&mut events, |e| is(e, "CHANNEL_PARK", &a)).await;
    let create_a = seen.iter().find(|e| is(e, "CHANNEL_CREATE", &a)).expect("A created");
    assert_eq!(create_a.header_str("Channel-Name"), Some("loopback/9199-a"));
    assert_eq!(create_a.header_str("Call-Direction"), Some("outbound"));
    // on_init has already asked for CS_ROUTING when CREATE is fired.
    assert_eq!(create_a.header_str("Channel-State"), Some("CS_INIT"));
    assert_eq!(create_a.header_str("Channel-State-Number"), Some("2"));
    let b = create_a.header_str("variable_other_loopback_leg_uuid").map(str::to_string);
    let b_create = seen
        .iter()
        .find(|e| {
            e.header_str("Event-Name") == Some("CHANNEL_CREATE")
                && e.header_str("Channel-Name") == Some("loopback/9199-b")
        })
        .expect("B created");
    let b_uuid = b_create.header_str("Unique-ID").unwrap().to_string();
    assert_eq!(b.as_deref(), Some(b_uuid.as_str()), "the pair names each other");
    assert_eq!(b_create.header_str("Caller-Context"), Some("test"));
    assert_eq!(b_create.header_str("variable_other_loopback_leg_uuid"), Some(a.as_str()));
    // The B leg ran the extension: answer, then park.
    let b_apps: Vec<&str> = seen
        .iter()
        .filter(|e| is(e, "CHANNEL_EXECUTE", &b_uuid))
        .map(|e| e.header_str("Application").unwrap())
        .collect();
    assert_eq!(b_apps, ["answer", "park"]);
    assert!(seen.iter().any(|e| is(e, "CHANNEL_ANSWER", &a)));
    assert!(seen.iter().any(|e| is(e, "CHANNEL_PARK", &b_uuid)));
    // Two rows in the core db while they live.
    assert_eq!(api(&c, "show channels count").await, "\n2 total.\n");
    // Killing one loopback leg takes the other down (mod_loopback channel_on_hangup).
    assert_eq!(api(&c, &format!("uuid_kill {a}")).await, "+OK\n");
    let gone = until(&mut events, |e| is(e, "CHANNEL_DESTROY", &b_uuid)).await;
    assert!(gone.iter().any(|e| is(e, "CHANNEL_UNPARK", &a)), "park is left on hangup");
    assert!(gone.iter().any(|e| is(e, "CHANNEL_DESTROY", &a)));
    assert_eq!(api(&c, "show channels count").await, "\n0 total.\n");
    assert_eq!(api(&c, &format!("uuid_exists {a}")).await, "false");
}

// switch_ivr.c switch_ivr_session_transfer: an extension target routes the leg through
// the dialplan (default context: 9196 answers and echoes); null endpoint (mod_loopback.c
// null_channel_on_consume_media) answers by itself.
#[tokio::test]
async fn extension_and_inline_targets() {
    let mock = switch().await;
    let (c, mut events) = client(&mock).await;
    c.subscribe_all_events(EventFormat::Plain).await.unwrap();
    let uuid = originate(&c, "originate null/4711 9196").await;
    let seen = until(&mut events, |e| {
        is(e, "CHANNEL_EXECUTE", &uuid) && e.header_str("Application") == Some("echo")
    })
    .await;
    let create = seen.iter().find(|e| is(e, "CHANNEL_CREATE", &uuid)).unwrap();
    assert_eq!(create.header_str("Channel-Name"), Some("null/4711"));
    let routing = seen
        .iter()
        .filter(|e| is(e, "CHANNEL_STATE", &uuid))
        .map(|e| e.header_str("Channel-State").unwrap())
        .collect::<Vec<_>>();
    assert_eq!(routing, ["CS_INIT", "CS_ROUTING", "CS_CONSUME_MEDIA", "CS_ROUTING", "CS_EXECUTE"]);
    let row = api(&c, "show channels").await;
    assert!(row.contains(&format!("{uuid},outbound,")), "{row}");
    assert!(row.contains(",echo,"), "{row}");
    // Inline: the application returns and the inline extension is over: hangup.
    let uuid = originate(&c, "originate null/1 &playback(silence_stream://100)").await;
    let seen = until(&mut events, |e| is(e, "CHANNEL_HANGUP_COMPLETE", &uuid)).await;
    let done = seen.iter().find(|e| is(e, "CHANNEL_EXECUTE_COMPLETE", &uuid)).unwrap();
    assert_eq!(done.header_str("Application"), Some("playback"));
    assert_eq!(done.header_str("Application-Data"), Some("silence_stream://100"));
    assert_eq!(done.header_str("Application-Response"), Some("FILE PLAYED"));
    assert_eq!(seen.last().unwrap().header_str("Hangup-Cause"), Some("NORMAL_CLEARING"));
}

// mod_commands.c uuid_setvar_function / uuid_getvar_function (no newline after the value,
// `_undef_` for none), originate `{}` variables set on the leg (switch_ivr_originate.c),
// quoted words kept whole (switch_utils.c switch_separate_string).
#[tokio::test]
async fn setvar_getvar_round_trip_and_origination_variables() {
    let mock = switch().await;
    let (c, _events) = client(&mock).await;
    let uuid = originate(
        &c,
        "originate {origination_caller_id_name='ESL Test',color=blue}null/1 &park() XML default 'ESL Caller' 5551234",
    )
    .await;
    assert_eq!(api(&c, &format!("uuid_setvar {uuid} mood calm")).await, "+OK\n");
    assert_eq!(api(&c, &format!("uuid_getvar {uuid} mood")).await, "calm");
    assert_eq!(api(&c, &format!("uuid_getvar {uuid} color")).await, "blue");
    assert_eq!(api(&c, &format!("uuid_getvar {uuid} nothing")).await, "_undef_");
    assert_eq!(api(&c, &format!("uuid_setvar_multi {uuid} a=1;b=2")).await, "+OK\n");
    assert_eq!(api(&c, &format!("uuid_getvar {uuid} b")).await, "2");
    assert_eq!(
        api(&c, "uuid_getvar 00000000-0000-0000-0000-000000000000 x").await,
        "-ERR No such channel!\n"
    );
    let dump = api(&c, &format!("uuid_dump {uuid} json")).await;
    let json: serde_json::Value = serde_json::from_str(&dump).expect("uuid_dump json parses");
    assert_eq!(json["Event-Name"], "CHANNEL_DATA");
    assert_eq!(json["Caller-Caller-ID-Name"], "ESL Test", "origination_caller_id_name wins");
    assert_eq!(json["Caller-Caller-ID-Number"], "5551234");
    assert_eq!(json["variable_mood"], "calm");
    assert_eq!(api(&c, &format!("eval uuid:{uuid} ${{color}}-${{mood}}")).await, "blue-calm");
}

// mod_commands.c kill_function → switch_ivr_kill_uuid with switch_channel_str2cause;
// switch_core_state_machine.c switch_core_session_hangup_state sets hangup_cause_q850.
#[tokio::test]
async fn uuid_kill_with_cause_codec_and_destroy() {
    let mock = switch().await;
    let (c, mut events) = client(&mock).await;
    c.subscribe_all_events(EventFormat::Json).await.unwrap();
    let uuid = originate(&c, "originate null/2 &park()").await;
    assert_eq!(api(&c, &format!("uuid_kill {uuid} USER_BUSY")).await, "+OK\n");
    let seen = until(&mut events, |e| is(e, "CHANNEL_DESTROY", &uuid)).await;
    let codec: Vec<&EslEvent> = seen.iter().filter(|e| is(e, "CODEC", &uuid)).collect();
    assert_eq!(codec.len(), 2, "read then write codec");
    assert_eq!(codec[0].header_str("channel-read-codec-name"), Some("L16"));
    assert_eq!(codec[1].header_str("Channel-Write-Codec-Name"), Some("L16"));
    let done = seen.iter().find(|e| is(e, "CHANNEL_HANGUP_COMPLETE", &uuid)).unwrap();
    assert_eq!(done.header_str("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(done.header_str("variable_hangup_cause_q850"), Some("17"));
    let destroy = seen.last().unwrap();
    assert_eq!(destroy.header_str("Channel-State"), Some("CS_REPORTING"));
    assert_eq!(api(&c, &format!("uuid_kill {uuid}")).await, "-ERR No such channel!\n");
}

// mod_commands.c originate_function: its -USAGE text for a wrong argument count and
// `-ERR <cause>` when switch_ivr_originate fails; mod_dptools.c error_outgoing_channel;
// switch_core_session_outgoing_channel's CHAN_NOT_IMPLEMENTED; `|` failover.
#[tokio::test]
async fn originate_errors_and_failover() {
    let mock = switch().await;
    let (c, _events) = client(&mock).await;
    let usage = "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n";
    assert_eq!(api(&c, "originate null/1").await, usage);
    assert_eq!(api(&c, "originate a b c d e f g h").await, usage);
    assert_eq!(api(&c, "originate error/USER_BUSY &park()").await, "-ERR USER_BUSY\n");
    assert_eq!(api(&c, "originate error/nonsense &park()").await, "-ERR DESTINATION_OUT_OF_ORDER\n");
    assert_eq!(api(&c, "originate pigeon/1 &park()").await, "-ERR CHAN_NOT_IMPLEMENTED\n");
    assert_eq!(api(&c, "originate user/1000 &park()").await, "-ERR USER_NOT_REGISTERED\n");
    let uuid = originate(&c, "originate error/USER_BUSY|null/5 &park()").await;
    assert_eq!(api(&c, &format!("uuid_getvar {uuid} channel_name")).await, "null/5");
    let fixed =
        originate(&c, "originate {origination_uuid=5e1f2a3b-0000-4000-8000-000000000001}null/6 &park()")
            .await;
    assert_eq!(fixed, "5e1f2a3b-0000-4000-8000-000000000001");
}

// mod_event_socket.c parse_command `myevents <uuid>` and `sendmsg <uuid>` for a live
// channel; switch_ivr.c switch_ivr_parse_event runs `execute` inside park.
#[tokio::test]
async fn myevents_and_sendmsg_on_a_live_channel() {
    let mock = switch().await;
    let (c, _events) = client(&mock).await;
    let uuid = originate(&c, "originate null/7 &park()").await;
    let (watcher, mut mine) = client(&mock).await;
    watcher.myevents_uuid(&uuid, EventFormat::Plain).await.expect("myevents accepts a live uuid");
    let reply = watcher.execute("set", Some("answered_by=esl"), Some(&uuid)).await.expect("sendmsg execute");
    assert_eq!(reply.reply_text(), Some("+OK"));
    let seen = until(&mut mine, |e| is(e, "CHANNEL_EXECUTE_COMPLETE", &uuid)).await;
    assert!(seen.iter().all(|e| e.header_str("Unique-ID") == Some(uuid.as_str())));
    assert_eq!(seen.last().unwrap().header_str("Application"), Some("set"));
    assert_eq!(api(&c, &format!("uuid_getvar {uuid} answered_by")).await, "esl");
    // Still parked: the row shows park as the application.
    assert!(api(&c, "show channels").await.contains(",park,"));
    let mut hangup = EslEvent::new();
    hangup.set_header("call-command", "hangup");
    hangup.set_header("hangup-cause", "CALL_REJECTED");
    let reply = watcher.sendmsg(Some(&uuid), hangup).await.expect("sendmsg hangup");
    assert_eq!(reply.reply_text(), Some("+OK"));
    let seen = until(&mut mine, |e| is(e, "CHANNEL_HANGUP_COMPLETE", &uuid)).await;
    assert_eq!(seen.last().unwrap().header_str("Hangup-Cause"), Some("CALL_REJECTED"));
}

// mod_commands.c msleep_function: switch_yield(ms * 1000), then `+OK` without newline.
#[tokio::test(start_paused = true)]
async fn msleep_really_waits() {
    let pbx = eslmatrix_sim::fs::pbx::Pbx::new(Default::default());
    let start = tokio::time::Instant::now();
    let out = pbx.api_call("msleep", "250").await;
    assert_eq!(out, eslmatrix_sim::fs::pbx::ApiOutput::Text("+OK".into()));
    assert_eq!(start.elapsed(), Duration::from_millis(250));
}

// mod_commands.c: hostname, global_setvar/getvar, echo, version short, reloadxml.
#[tokio::test]
async fn core_commands() {
    let mock = switch().await;
    let (c, _events) = client(&mock).await;
    assert_eq!(api(&c, "hostname").await, "pbx.example.org");
    assert_eq!(api(&c, "global_setvar suite=live").await, "+OK");
    assert_eq!(api(&c, "global_getvar suite").await, "live");
    assert_eq!(api(&c, "echo hello world").await, "hello world");
    assert_eq!(api(&c, "version short").await, "1.10.12\n");
    assert_eq!(api(&c, "reloadxml").await, "+OK [Success]\n");
    assert_eq!(api(&c, "eval ${suite}").await, "live");
    // mod_commands.c show_function: `like` filters rows, `as xml` is show_as_xml_callback's.
    assert_eq!(api(&c, "show calls as xml").await, "<result row_count=\"0\"/>\n");
    let uuid = originate(&c, "originate null/9 &park()").await;
    let xml = api(&c, "show calls as xml").await;
    assert!(xml.starts_with("<result row_count=\"1\">\n  <row row_id=\"1\">\n"), "{xml}");
    assert!(xml.contains(&format!("    <uuid>{uuid}</uuid>\n")), "{xml}");
    assert!(xml.ends_with("  </row>\n</result>\n"));
    let like = api(&c, "show channels like null/9").await;
    assert!(like.ends_with("\n1 total.\n"), "{like}");
    assert_eq!(api(&c, "show channels like nothing-like-it").await, "\n0 total.\n");
}

// mod_event_socket.c: `log LEVEL` (switch_log_str2level) queues lines at or below the level
// (socket_logger: `l->level >= node->level`) and listener_run writes them as log/data;
// switch_channel.c switch_channel_set_name logs "New Channel" (NOTICE, session channel),
// switch_core_session.c switch_core_session_exec "EXECUTE" (INFO, LOG_CLEAN: no prefix).
#[tokio::test]
async fn log_lines_with_their_level() {
    let mock = switch().await;
    let (c, mut events) = client(&mock).await;
    assert_eq!(c.log("info").await.unwrap().reply_text(), Some("+OK log level info [6]"));
    let uuid = originate(&c, "originate null/8 &park()").await;
    let seen = until(&mut events, |e| e.body().is_some_and(|b| b.starts_with("EXECUTE"))).await;
    assert!(
        seen.iter().all(|e| e.header_str("Event-Name") == Some("LOG")),
        "only log lines: not subscribed to events"
    );
    let levels: Vec<u8> = seen.iter().map(|e| e.header_str("Log-Level").unwrap().parse().unwrap()).collect();
    assert!(levels.iter().all(|&l| l <= 6), "no DEBUG lines at level info: {levels:?}");
    let new = &seen[0];
    assert_eq!(new.header_str("Log-Level"), Some("5"));
    assert_eq!(new.header_str("Text-Channel"), Some("3"));
    assert_eq!(new.header_str("Log-File"), Some("switch_channel.c"));
    assert_eq!(new.header_str("Log-Func"), Some("switch_channel_set_name"));
    assert_eq!(new.header_str("User-Data"), Some(uuid.as_str()));
    let body = new.body().unwrap();
    assert!(body.contains(" [NOTICE] switch_channel.c:1143 New Channel null/8 ["), "{body}");
    let exec = seen.last().unwrap();
    assert_eq!(exec.header_str("Text-Channel"), Some("1"));
    assert_eq!(exec.body(), Some("EXECUTE [depth=0] null/8 park()\n"));
    // The hangup is a NOTICE with the state it left and the cause.
    assert_eq!(api(&c, &format!("uuid_kill {uuid} USER_BUSY")).await, "+OK\n");
    let seen = until(&mut events, |e| e.body().is_some_and(|b| b.contains("Hangup "))).await;
    assert!(seen.last().unwrap().body().unwrap().ends_with("Hangup null/8 [CS_EXECUTE] [USER_BUSY]\n"));
    assert_eq!(c.nolog().await.unwrap().reply_text(), Some("+OK no longer logging"));
    assert_eq!(c.nolog().await.unwrap().reply_text(), Some("-ERR not loging"));
}

// mod_event_socket.c parse_command "userauth": the directory user's esl-password and its
// esl-allowed-* lists, enforced later (`-ERR permission denied` for api, event and log);
// an unknown user or a wrong password is `-ERR invalid`.
#[tokio::test]
async fn userauth_against_the_directory() {
    use eslmatrix_sim::fs::pbx::directory::User;
    use freeswitch_esl_tokio::{AuthMethod, EslConnectOptions};
    let mock = switch().await;
    mock.pbx().add_users(&[User {
        id: "monitor".into(),
        esl_password: Some("watch".into()),
        allowed_events: Some("HEARTBEAT CHANNEL_CREATE".into()),
        allowed_api: Some("status,show".into()),
        allowed_log: Some("false".into()),
        ..User::default()
    }]);
    let port = mock.addr().port();
    let auth = |user: &str, pass: &str| {
        EslClient::connect_with_auth(
            "127.0.0.1",
            port,
            AuthMethod::user(user, pass),
            EslConnectOptions::default(),
        )
    };
    let (c, _events) = auth("monitor@pbx.example.org", "watch").await.expect("userauth accepted");
    let reply = c.auth_response().expect("the auth reply is kept");
    assert_eq!(reply.header("Allowed-Events"), Some("HEARTBEAT CHANNEL_CREATE"));
    assert_eq!(reply.header("Allowed-API"), Some("status,show"));
    assert_eq!(reply.header("Allowed-LOG"), Some("false"));
    assert!(api(&c, "status").await.starts_with("UP "));
    let denied = c.api("uuid_kill x").await.expect("a reply");
    assert_eq!(denied.reply_text(), Some("-ERR permission denied"));
    assert!(c.subscribe_events_raw(EventFormat::Plain, "HEARTBEAT").await.is_ok());
    assert!(c.subscribe_events_raw(EventFormat::Plain, "CHANNEL_ANSWER").await.is_err());
    assert_eq!(c.log("debug").await.unwrap().reply_text(), Some("-ERR permission denied"));
    assert!(auth("monitor@pbx.example.org", "wrong").await.is_err());
    assert!(auth("nobody@pbx.example.org", "watch").await.is_err());
}
