//! The mock under hostile or stuck clients: every bound of `Limits`, pinned with small
//! values, and the other clients served meanwhile. No timing asserts: each test drives the
//! mock until the bound is reached and checks what happened.

use crate::esl_support;

use esl_support::{Raw, GOODBYE_NOTICE};
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::{Limits, MockConfig, MockFreeSwitch, MockHandle};
use tokio::io::AsyncWriteExt;

const LOST_NOTICE: &[u8] =
    b"Content-Type: text/disconnect-notice\nContent-Length: 39\n\nkilled listener because of lost events\n";

fn config(limits: Limits) -> MockConfig {
    MockConfig { heartbeat: None, limits, ..MockConfig::default() }
}

async fn start(limits: Limits) -> MockHandle {
    MockFreeSwitch::start(config(limits)).await.expect("mock starts")
}

/// A CUSTOM event with a body of `size` bytes.
fn big_event(mock: &MockHandle, size: usize) -> Event {
    let mut ev = mock.pbx().custom_event("load::test");
    ev.body = Some("x".repeat(size));
    ev
}

/// mod_event_socket.c `event_handler`: a listener whose queue stays full for more than
/// `MAX_MISSED` consecutive pushes is killed with "killed listener because of lost
/// events" — here a reader that never reads, blocked in its write, with a queue of 4 and
/// a limit of 10. A reader that keeps up gets every event meanwhile.
#[tokio::test]
async fn a_reader_that_never_reads_is_killed_by_the_rule_and_others_get_everything() {
    let mock = start(Limits { event_queue: 4, lost_events: 10, ..Limits::default() }).await;
    let mut stuck = Raw::login(mock.addr()).await;
    stuck.cmd("event plain CUSTOM load::test").await;
    let mut fast = Raw::login(mock.addr()).await;
    fast.cmd("event plain CUSTOM load::test").await;
    let mut fired = 0;
    while mock.lost_event_kills() == 0 {
        assert!(fired < 20_000, "never killed after {fired} events of 64 KiB");
        mock.pbx().fire(big_event(&mock, 64 * 1024));
        fired += 1;
        let got = fast.next().await;
        assert!(got.body.ends_with(&[b'x'; 64 * 1024]), "the fast reader gets event {fired} whole");
    }
    // The killed listener gets whole frames, then the notice, then EOF.
    let rest = stuck.rest().await;
    assert!(
        rest.ends_with(LOST_NOTICE),
        "{:?}",
        String::from_utf8_lossy(&rest[rest.len().saturating_sub(200)..])
    );
    assert_eq!(mock.lost_event_kills(), 1);
    mock.pbx().fire(big_event(&mock, 10));
    assert_eq!(fast.next().await.header("Content-Type"), Some("text/event-plain"));
    assert_eq!(fast.cmd("api nosuch").await.body_text(), "-ERR nosuch Command not found!\n");
}

/// Events wait while a command is half read (as in FreeSWITCH); the byte budget bounds
/// that queue long before 100 000 large events pile up.
#[tokio::test]
async fn the_byte_budget_kills_a_listener_holding_large_events() {
    let limits = Limits { queue_bytes: 200_000, lost_events: 5, ..Limits::default() };
    let mock = start(limits).await;
    let mut holder = Raw::login(mock.addr()).await;
    holder.cmd("event plain CUSTOM load::test").await;
    holder.send(b"api stat").await;
    let mut other = Raw::login(mock.addr()).await;
    other.cmd("event plain CUSTOM load::test").await;
    // Three 60 000-byte events fit in 200 000 bytes; the next six pushes fail.
    for n in 1..=9 {
        mock.pbx().fire(big_event(&mock, 60_000));
        other.next().await;
        assert_eq!(mock.lost_event_kills(), u64::from(n == 9), "after {n} events");
    }
    let rest = holder.rest().await;
    assert_eq!(rest, LOST_NOTICE, "nothing queued is written after the kill");
    assert_eq!(other.cmd("api nosuch").await.header("Content-Type"), Some("api/response"));
}

/// Filters: at most `max_filters`, regexes within `regex_bytes`; beyond either a clear
/// `-ERR` and the connection goes on working.
#[tokio::test]
async fn filter_caps_answer_err_and_the_connection_keeps_working() {
    let mock = start(Limits { max_filters: 2, regex_bytes: 64 * 1024, ..Limits::default() }).await;
    let mut c = Raw::login(mock.addr()).await;
    c.cmd("event plain ALL").await;
    let reply = c.cmd("filter Event-Name /\\w{1000}/").await;
    assert_eq!(
        reply.header("Reply-Text"),
        Some("-ERR filter regex exceeds the size limit (65536 bytes compiled)")
    );
    assert_eq!(
        c.cmd("filter Event-Name CUSTOM").await.header("Reply-Text"),
        Some("+OK filter added. [Event-Name]=[CUSTOM]")
    );
    assert_eq!(
        c.cmd("filter Event-Name /^HEART/").await.header("Reply-Text"),
        Some("+OK filter added. [Event-Name]=[/^HEART/]")
    );
    assert_eq!(
        c.cmd("filter Event-Name API").await.header("Reply-Text"),
        Some("-ERR filter limit reached (2 filters)")
    );
    mock.pbx().fire(mock.pbx().heartbeat());
    assert_eq!(c.next().await.header("Content-Type"), Some("text/event-plain"));
    assert_eq!(c.cmd("filter delete all").await.header("Reply-Text"), Some("+OK filter deleted. [all][]"));
    assert_eq!(
        c.cmd("filter Event-Name API").await.header("Reply-Text"),
        Some("+OK filter added. [Event-Name]=[API]")
    );
}

/// Before auth only `pre_auth_bytes` may be buffered towards a command (FreeSWITCH's
/// pre-auth commands are a line each); a big body in progress ends the connection.
#[tokio::test]
async fn an_unauthenticated_body_in_progress_is_bounded() {
    let mock = start(Limits { pre_auth_bytes: 1024, ..Limits::default() }).await;
    let mut hostile = Raw::connect(mock.addr()).await;
    hostile.next().await;
    hostile.send(b"sendevent CUSTOM\nContent-Length: 1000000\n\n").await;
    let chunk = vec![b'x'; 4096];
    // The mock closes after about 1 KiB; later writes may fail once it has.
    for _ in 0..4 {
        if hostile.stream.write_all(&chunk).await.is_err() {
            break;
        }
    }
    assert_eq!(hostile.rest().await, GOODBYE_NOTICE);
    // A client within the bound logs in as usual; after auth the bound no longer applies.
    let mut ok = Raw::login(mock.addr()).await;
    ok.send(&[b"api nosuch\nX-Pad: ".as_slice(), &[b'p'; 4000], b"\n\n"].concat()).await;
    assert_eq!(ok.next().await.body_text(), "-ERR nosuch Command not found!\n");
}

/// `max_connections` open: the next client gets a `text/rude-rejection` and is closed,
/// the refusal is counted, and the open ones keep working.
#[tokio::test]
async fn connections_over_the_limit_are_refused() {
    let mock = start(Limits { max_connections: 2, ..Limits::default() }).await;
    let mut a = Raw::login(mock.addr()).await;
    let _b = Raw::login(mock.addr()).await;
    let mut third = Raw::connect(mock.addr()).await;
    let refusal = third.rest().await;
    assert_eq!(
        refusal,
        b"Content-Type: text/rude-rejection\nContent-Length: 39\n\nToo many connections, try again later.\n"
    );
    assert_eq!(mock.refused_connections(), 1);
    assert_eq!(a.cmd("api nosuch").await.header("Content-Type"), Some("api/response"));
    a.cmd("exit").await;
    a.rest().await;
    drop(a);
    // Once one has left, a new client is served again.
    while mock.live_connections() > 1 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut again = Raw::login(mock.addr()).await;
    assert_eq!(again.cmd("api nosuch").await.header("Content-Type"), Some("api/response"));
}
