//! The web API (mod_xml_rpc) over raw HTTP: exact statuses, the headers that matter and
//! bodies, each pinned to the FreeSWITCH function that decides it
//! (src/mod/xml_int/mod_xml_rpc/mod_xml_rpc.c unless another file is named).

use std::net::SocketAddr;
use std::time::Duration;

use eslmatrix_sim::fs::http::{HttpConfig, MAX_HEAD};
use eslmatrix_sim::fs::pbx::{ApiOutput, Transport};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use freeswitch_esl_tokio::{EslClient, EslEvent, EventFormat};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// base64 of `freeswitch:works`, the shipped xml_rpc.conf.xml credentials.
const AUTH: &str = "Authorization: Basic ZnJlZXN3aXRjaDp3b3Jrcw==\r\n";

pub async fn web_mock(http: HttpConfig) -> MockHandle {
    let config = MockConfig { heartbeat: None, http: Some(http), ..MockConfig::default() };
    MockFreeSwitch::start(config).await.expect("mock starts")
}

/// One response as received.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as written and reads until the server closes.
pub async fn exchange(addr: SocketAddr, request: &str) -> Page {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    timeout(Duration::from_secs(60), s.read_to_end(&mut raw)).await.expect("closes").expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Page {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head end in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect(status_line);
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect(l);
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    Page { status, headers, body: body.to_string() }
}

pub async fn get(addr: SocketAddr, target: &str) -> Page {
    exchange(addr, &format!("GET {target} HTTP/1.1\r\nHost: pbx\r\n{AUTH}\r\n")).await
}

fn text(mock: &MockHandle, cmd: &str, args: &str) -> String {
    match mock.pbx().api(cmd, args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("no {cmd}"),
    }
}

// handler_hook: "/txtapi/" sets Content-Type text/plain, the response is written by hand
// ("HTTP/1.1 200 OK", Connection: close, Date from Event-Date-GMT, Server
// "FreeSWITCH-<version>-mod_xml_rpc") after http_directory_auth added freeswitch-user and
// freeswitch-domain (switch_core_get_domain: vars.xml's domain=$${local_ip_v4}).
#[tokio::test]
async fn txtapi_runs_the_command_as_esl_api_does() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    let page = get(addr, "/txtapi/version").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Content-Type"), Some("text/plain"));
    assert_eq!(page.header("Connection"), Some("close"));
    assert_eq!(page.header("Server"), Some("FreeSWITCH-1.10.12-release~64bit-mod_xml_rpc"));
    assert_eq!(page.header("freeswitch-user"), Some("freeswitch"));
    assert_eq!(page.header("freeswitch-domain"), Some("192.0.2.10"));
    assert!(page.header("Date").unwrap().ends_with(" GMT"));
    assert_eq!(page.body, text(&mock, "version", ""));
    // Arguments come from the query, URL-decoded (abyss http.c unescapeUri).
    let page = get(addr, "/txtapi/echo?hello%20web%2Bworld+x").await;
    assert_eq!(page.body, "hello web+world+x");
    let page = get(addr, "/txtapi/uptime?fortnights").await;
    assert_eq!(page.body, text(&mock, "uptime", "fortnights"));
    assert!(page.body.starts_with("-USAGE: "), "{}", page.body);
}

// /api/: the module writes no Content-Type; http_stream_write adds "text/plain" before the
// first output unless the command wrote its own.
#[tokio::test]
async fn api_defaults_to_text_plain() {
    let mock = web_mock(HttpConfig::default()).await;
    let page = get(mock.http_addr().unwrap(), "/api/hostname").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Content-Type"), Some("text/plain"));
    assert_eq!(page.body, "pbx.example.org");
}

// switch_loadable_module.c switch_api_execute: an unknown command writes
// "INVALID COMMAND!\n" to the stream (the ESL "-ERR … Command not found!" is
// mod_event_socket's own text), and the page is still a 200.
#[tokio::test]
async fn unknown_command_is_invalid_command() {
    let mock = web_mock(HttpConfig::default()).await;
    let page = get(mock.http_addr().unwrap(), "/webapi/nosuch?x").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Content-Type"), Some("text/html"));
    assert_eq!(page.body, "INVALID COMMAND!\n");
}

// http_directory_auth "fail:": 401 with WWW-Authenticate Basic realm=<domain_name or
// auth-realm>; abyss response.c ResponseError2 writes the error page (text/html).
#[tokio::test]
async fn missing_or_wrong_credentials_get_401() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    let page = exchange(addr, "GET /txtapi/status HTTP/1.1\r\nHost: pbx\r\n\r\n").await;
    assert_eq!(page.status, 401);
    assert_eq!(page.header("WWW-Authenticate"), Some("Basic realm=\"freeswitch\""));
    assert_eq!(page.header("Content-Type"), Some("text/html"));
    assert!(page.body.starts_with(
        "<HTML><HEAD><TITLE>Error 401</TITLE></HEAD><BODY><H1>Error 401</H1><P>Unauthorized</P>"
    ));
    // A Basic token was read: the realm named is the domain it was checked against.
    let wrong = "GET /txtapi/status HTTP/1.1\r\nAuthorization: Basic ZnJlZXN3aXRjaDp3cm9uZw==\r\n\r\n";
    let page = exchange(addr, wrong).await;
    assert_eq!(page.status, 401);
    assert_eq!(page.header("WWW-Authenticate"), Some("Basic realm=\"192.0.2.10\""));
    // Auth comes first (auth_hook): even a path no handler takes is refused.
    assert_eq!(exchange(addr, "GET /nothing HTTP/1.0\r\n\r\n").await.status, 401);
}

// Configured credentials replace the shipped ones (xml_rpc.conf.xml auth-user, auth-pass).
#[tokio::test]
async fn configured_credentials() {
    let http = HttpConfig { user: "ops".into(), password: "s3cret".into(), ..HttpConfig::default() };
    let mock = web_mock(http).await;
    let addr = mock.http_addr().unwrap();
    assert_eq!(get(addr, "/txtapi/hostname").await.status, 401);
    // base64("ops:s3cret")
    let page =
        exchange(addr, "GET /txtapi/hostname HTTP/1.1\r\nAuthorization: Basic b3BzOnMzY3JldA==\r\n\r\n")
            .await;
    assert_eq!((page.status, page.body.as_str()), (200, "pbx.example.org"));
    assert_eq!(page.header("freeswitch-user"), Some("ops"));
}

// handler_hook returns FALSE for a path outside the api family: abyss's default handler
// answers 404; abyss http.c unescapeUri refuses a broken %-escape with 400.
#[tokio::test]
async fn not_found_and_bad_escapes() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    let page = get(addr, "/index.html").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("<H1>Error 404</H1><P>Not Found</P>"), "{}", page.body);
    assert_eq!(get(addr, "/txtapi/echo?%zz").await.status, 400);
}

// handler_hook: a POST's form body goes into the API event's headers only (its local
// `query` = qbuf); the command still gets `info->query`, the URL's query (api_str).
#[tokio::test]
async fn a_post_body_is_not_the_arguments() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    let body = "from the body";
    let req = format!(
        "POST /txtapi/echo?from%20the%20url HTTP/1.1\r\n{AUTH}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(exchange(addr, &req).await.body, "from the url");
    let big = "x".repeat(8000);
    let req = format!("POST /txtapi/echo?big HTTP/1.1\r\n{AUTH}Content-Length: {}\r\n\r\n{big}", big.len());
    assert_eq!(exchange(addr, &req).await.body, "big");
}

// Bounds: a head above MAX_HEAD is refused by the parser (431) and the server lives on; a
// connection above max_connections gets a 503 page and is closed.
#[tokio::test]
async fn oversized_heads_and_too_many_connections() {
    let mock = web_mock(HttpConfig { max_connections: 1, ..HttpConfig::default() }).await;
    let addr = mock.http_addr().unwrap();
    let long = format!("GET /txtapi/echo HTTP/1.1\r\nX-Big: {}\r\n{AUTH}\r\n", "a".repeat(MAX_HEAD));
    let page = exchange(addr, &long).await;
    assert!(page.status == 431 || page.status == 414, "{page:?}");
    assert_eq!(get(addr, "/txtapi/hostname").await.status, 200);
    let held = TcpStream::connect(addr).await.unwrap();
    // The held connection is counted once the server has accepted it.
    let mut refused = None;
    for _ in 0..200 {
        let page = get(addr, "/txtapi/hostname").await;
        if page.status == 503 {
            refused = Some(page);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = refused.expect("a 503 while one connection is held");
    assert!(refused.body.contains("<H1>Error 503</H1>"));
    drop(held);
    let mut served = false;
    for _ in 0..200 {
        if get(addr, "/txtapi/hostname").await.status == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served, "served again once the held connection closed");
}

async fn until(
    events: &mut freeswitch_esl_tokio::EslEventStream,
    done: impl Fn(&EslEvent) -> bool,
) -> Vec<EslEvent> {
    let mut seen = Vec::new();
    loop {
        let ev = timeout(Duration::from_secs(60), events.recv())
            .await
            .expect("event")
            .expect("open")
            .expect("parses");
        let stop = done(&ev);
        seen.push(ev);
        if stop {
            return seen;
        }
    }
}

// The seed's web call control: GET /webapi/originate?user/1000 &bridge(user/1001)
// (mod_commands.c originate_function through switch_api_execute, as ESL's `api` runs it)
// answers "+OK <uuid>" and the call happens in the model: an ESL subscriber
// (freeswitch-esl-tokio) sees the A leg created, the B leg bridged, both answered.
#[tokio::test]
async fn webapi_originate_places_a_call_esl_sees() {
    let mock = web_mock(HttpConfig::default()).await;
    mock.pbx().register("1000", Transport::Udp, "Yealink").unwrap();
    mock.pbx().register("1001", Transport::Udp, "Yealink").unwrap();
    let (esl, mut events) = EslClient::connect("127.0.0.1", mock.addr().port(), "ClueCon").await.unwrap();
    esl.subscribe_all_events(EventFormat::Plain).await.unwrap();
    let page = get(mock.http_addr().unwrap(), "/webapi/originate?user/1000%20%26bridge(user/1001)").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Content-Type"), Some("text/html"));
    let uuid =
        page.body.strip_prefix("+OK ").and_then(|b| b.strip_suffix('\n')).expect(&page.body).to_string();
    let is = |e: &EslEvent, name: &str| e.header_str("Event-Name") == Some(name);
    let seen = until(&mut events, |e| is(e, "CHANNEL_BRIDGE")).await;
    let create = seen
        .iter()
        .find(|e| is(e, "CHANNEL_CREATE") && e.header_str("Unique-ID") == Some(&uuid))
        .expect("the A leg is created");
    assert!(create.header_str("Channel-Name").unwrap().contains("1000"), "{create:?}");
    let bridge = seen.last().unwrap();
    assert_eq!(bridge.header_str("Bridge-A-Unique-ID"), Some(uuid.as_str()));
    let b = bridge.header_str("Bridge-B-Unique-ID").unwrap();
    assert!(seen.iter().any(|e| is(e, "CHANNEL_ANSWER") && e.header_str("Unique-ID") == Some(b)));
    assert!(seen.iter().any(|e| is(e, "CHANNEL_EXECUTE") && e.header_str("Application") == Some("bridge")));
    // The same call over ESL and the web API's txtapi.
    let over_web = get(mock.http_addr().unwrap(), "/txtapi/show?calls%20count").await.body;
    assert_eq!(over_web, "\n1 total.\n");
    assert_eq!(esl.api(&format!("uuid_exists {uuid}")).await.unwrap().body(), Some("true"));
}

// mod_commands.c set_format + status_function: over /webapi/ (HTTP-URI) and /api/
// (HTTP-API, which also writes its own "Content-Type: text/html\r\n\r\n", kept by
// http_stream_write) status is a page: <h1> heading, Event-Date-Local, "<br>\n" line ends
// but for the last line; /txtapi/ gets the console's text.
#[tokio::test]
async fn status_is_html_for_the_web() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    for target in ["/webapi/status", "/api/status"] {
        let page = get(addr, target).await;
        assert_eq!(page.header("Content-Type"), Some("text/html"), "{target}");
        let (heading, rest) = page.body.split_once("<br>\n").unwrap();
        assert!(heading.starts_with("<h1>FreeSWITCH Status</h1>\n"), "{heading}");
        assert_eq!(
            heading.len(),
            "<h1>FreeSWITCH Status</h1>\n".len() + "2025-11-24 16:00:00".len(),
            "{heading}"
        );
        assert!(rest.starts_with("UP 0 years, 0 days"), "{rest}");
        assert!(rest.contains("is ready<br>\n"), "{rest}");
        assert!(rest.contains("last 5min 0 <br>\n"), "{rest}");
        assert!(
            rest.ends_with(
                "session(s) max<br>\nmin idle cpu 0.00/99.63<br>\nCurrent Stack Size/Max 240K/8192K\n"
            ),
            "{rest}"
        );
        assert!(!page.body.contains("Content-Type"), "the header line is not part of the body");
    }
    let page = get(addr, "/txtapi/status").await;
    assert_eq!(page.header("Content-Type"), Some("text/plain"));
    assert!(page.body.starts_with("UP 0 years"), "{}", page.body);
    assert!(!page.body.contains("<br>"));
}

// mod_commands.c show_function with format.html (set_format: /webapi/, or /api/ which also
// writes its own Content-Type): the refreshable listings as a table; show_callback writes
// the title row before the first row, "<td>" before every cell and "</td><td>" after all but
// the last (so cells after the first open twice), rows alternating eeeeee/ffffff, values
// amp-encoded; then "</table>" and "<br>\nN total.<br>\n".
#[tokio::test]
async fn show_is_an_html_table_for_the_web() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    assert!(
        text(&mock, "originate", "{origination_caller_id_name='A&B'}null/1000 &park()").starts_with("+OK ")
    );
    let page = get(addr, "/webapi/show?channels").await;
    assert_eq!(page.header("Content-Type"), Some("text/html"));
    let (heading, rest) = page.body.split_once("<br>\n").unwrap();
    assert!(heading.starts_with("<h1>FreeSWITCH channels </h1>\n"), "{heading}");
    assert!(rest.starts_with("<table cellpadding=1 cellspacing=4 border=1>\n\n<tr><td><b>uuid</b></td><td><td><b>direction</b></td><td>"), "{rest}");
    assert!(rest.contains("</td></tr>\n<tr bgcolor=eeeeee><td>"), "{rest}");
    assert!(rest.contains("<td>A&amp;B</td><td>"), "{rest}");
    assert!(rest.ends_with("</td></tr>\n</table><br>\n1 total.<br>\n"), "{rest}");
    let page = get(addr, "/api/show?channels%20count").await;
    assert_eq!(page.header("Content-Type"), Some("text/html"));
    assert!(page.body.starts_with("<h1>FreeSWITCH channels (count)</h1>\n"), "{}", page.body);
    assert!(
        page.body.ends_with("<table cellpadding=1 cellspacing=4 border=1>\n</table><br>\n1 total.<br>\n"),
        "{}",
        page.body
    );
    // /txtapi/ and other forms answer as over ESL.
    assert_eq!(get(addr, "/txtapi/show?channels%20count").await.body, "\n1 total.\n");
    assert!(get(addr, "/webapi/show?channels%20as%20json").await.body.starts_with("{\"row_count\":1"));
}

// Hostile input: garbage instead of a request line gets the parser's 400 and a close, a
// client that never finishes its head is dropped after header_timeout, a %FF in the command
// is no command (INVALID COMMAND!), and the server answers normally afterwards.
#[tokio::test]
async fn garbage_slow_heads_and_raw_bytes() {
    let http = HttpConfig { header_timeout: Duration::from_millis(300), ..HttpConfig::default() };
    let mock = web_mock(http).await;
    let addr = mock.http_addr().unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"\x00\x01garbage\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(60), s.read_to_end(&mut raw)).await.expect("closed").unwrap();
    assert!(raw.starts_with(b"HTTP/1.1 400 Bad Request\r\n"), "{}", String::from_utf8_lossy(&raw));
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /txtapi/status HTTP/1.1\r\nHost: pbx\r\n").await.unwrap();
    let mut rest = Vec::new();
    let closed = timeout(Duration::from_secs(60), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an unfinished head is dropped");
    assert_eq!(get(addr, "/txtapi/st%FFatus").await.body, "INVALID COMMAND!\n");
    assert_eq!(get(addr, "/txtapi/hostname").await.body, "pbx.example.org");
}

// POST /RPC2: mod_xml_rpc.c freeswitch_api (registered as freeswitch.api and
// freeswitch_api) runs the command through switch_api_execute and returns its output as
// one string, serialized as xmlrpc-c does (xmlrpc_serialize.c: prologue and CRLF line
// ends); auth_hook guards it like every path.
#[tokio::test]
async fn xml_rpc_freeswitch_api() {
    let mock = web_mock(HttpConfig::default()).await;
    let addr = mock.http_addr().unwrap();
    let call = "<?xml version=\"1.0\"?><methodCall><methodName>freeswitch.api</methodName><params>\
                <param><value><string>hostname</string></value></param><param><value><string></string></value></param>\
                </params></methodCall>";
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\n{AUTH}Content-Type: text/xml\r\nContent-Length: {}\r\n\r\n{call}",
        call.len()
    );
    let page = exchange(addr, &req).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Content-Type"), Some("text/xml; charset=\"utf-8\""));
    assert_eq!(
        page.body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n\
         <param><value><string>pbx.example.org</string></value></param>\r\n</params>\r\n</methodResponse>\r\n"
    );
    let anonymous = format!("POST /RPC2 HTTP/1.1\r\nContent-Length: {}\r\n\r\n{call}", call.len());
    assert_eq!(exchange(addr, &anonymous).await.status, 401);
}
