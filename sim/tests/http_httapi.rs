//! The `httapi` application against a web app written here (a small hyper server): what
//! the mock sends (src/mod/applications/mod_httapi/mod_httapi.c `httapi_sync`,
//! `client_create`, `my_on_reporting`) and what it does with the documents it gets back
//! (`parse_xml` and the tag parsers), watched by an ESL client (freeswitch-esl-tokio).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eslmatrix_sim::fs::http::httapi::HttapiConfig;
use eslmatrix_sim::fs::pbx::dialplan::ExtensionSpec;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch, MockHandle};
use freeswitch_esl_tokio::{EslClient, EslEvent, EslEventStream, EventFormat};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// One request as the web app saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The parameters, from the body of a POST or the query of a GET, decoded, in order.
    fn params(&self) -> Vec<(String, String)> {
        let raw = if self.method == "GET" {
            self.target.split_once('?').map_or("", |(_, q)| q)
        } else {
            &self.body
        };
        raw.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), decode(v))).collect()
    }

    fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(n) = u8::from_str_radix(&v[i + 1..i + 3], 16) {
                out.push(n);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Script = Arc<dyn Fn(usize, &Seen) -> (u16, &'static str, String) + Send + Sync>;

/// A web app: answers request N with `script(N, request)`; every request is reported.
async fn web_app(script: Script) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(Mutex::new(0usize));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (tx, script, count) = (tx.clone(), script.clone(), count.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (tx, script, count) = (tx.clone(), script.clone(), count.clone());
                    async move {
                        let method = req.method().to_string();
                        let target = req.uri().to_string();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(http_body_util::Collected::to_bytes)
                            .unwrap_or_default();
                        let seen = Seen {
                            method,
                            target,
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        };
                        let n = {
                            let mut c = count.lock().unwrap();
                            *c += 1;
                            *c
                        };
                        let (status, ct, page) = script(n, &seen);
                        let _ = tx.send(seen);
                        let mut res = Response::new(Full::new(Bytes::from(page)));
                        *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        res.headers_mut().insert("content-type", ct.parse().unwrap());
                        Ok::<_, Infallible>(res)
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    (addr, rx)
}

fn doc(work: &str) -> String {
    format!("<document type=\"text/freeswitch-httapi\">{work}</document>")
}

async fn mock(httapi: HttapiConfig) -> MockHandle {
    let config = MockConfig { heartbeat: None, httapi, ..MockConfig::default() };
    MockFreeSwitch::start(config).await.unwrap()
}

async fn esl(mock: &MockHandle) -> (EslClient, EslEventStream) {
    let (c, events) = EslClient::connect("127.0.0.1", mock.addr().port(), "ClueCon").await.unwrap();
    c.subscribe_all_events(EventFormat::Plain).await.unwrap();
    (c, events)
}

async fn until(events: &mut EslEventStream, done: impl Fn(&EslEvent) -> bool) -> Vec<EslEvent> {
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

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    timeout(Duration::from_secs(60), rx.recv()).await.expect("a request").expect("open")
}

fn named<'a>(seen: &'a [EslEvent], name: &str) -> Vec<&'a EslEvent> {
    seen.iter().filter(|e| e.header_str("Event-Name") == Some(name)).collect()
}

async fn originate(c: &EslClient, cmd: &str) -> String {
    let out = c.api(cmd).await.unwrap().body().unwrap_or("").to_string();
    out.strip_prefix("+OK ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{cmd}: {out}"))
        .to_string()
}

// A POSTing call flow: httapi_function's loop requests, runs the work, requests again
// with the document's <params> (set-params is on as shipped), until <hangup>; then
// my_on_reporting's last request carries exiting=true. httapi_sync: session_id first (the
// channel's uuid), the HTTAPI_SESSION_ID cookie, User-Agent mod_httapi/1.0; client_create:
// hostname = switchname; the Caller-* profile (switch_caller_profile_event_set_data).
#[tokio::test]
async fn a_posting_web_app_drives_the_call() {
    let script: Script = Arc::new(|n, _| match n {
        1 => (
            200,
            "text/xml",
            doc("<params><step>two</step></params><work><playback file=\"ivr/welcome.wav\"/>\
                 <pause milliseconds=\"20\"/><execute application=\"info\"/></work>"),
        ),
        2 => (200, "text/xml; charset=utf-8", doc("<work><hangup cause=\"USER_BUSY\"/></work>")),
        _ => (200, "text/xml", doc("<work><continue/></work>")),
    });
    let (app, mut rx) = web_app(script).await;
    let mock = mock(HttapiConfig::default()).await;
    let (c, mut events) = esl(&mock).await;
    let url = format!("http://{app}/call");
    let uuid = originate(&c, &format!("originate null/1000 &httapi({{url={url},method=POST}})")).await;

    let first = next(&mut rx).await;
    assert_eq!(first.method, "POST");
    assert_eq!(first.target, "/call");
    assert_eq!(first.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(first.header("user-agent"), Some("mod_httapi/1.0"));
    assert_eq!(first.header("cookie"), Some(format!("HTTAPI_SESSION_ID={uuid}").as_str()));
    let params = first.params();
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).take(5).collect();
    assert_eq!(names, ["session_id", "url", "method", "hostname", "Caller-Direction"], "{params:?}");
    assert_eq!(first.param("session_id").as_deref(), Some(uuid.as_str()));
    assert_eq!(first.param("url"), Some(url.clone()));
    assert_eq!(first.param("hostname").as_deref(), Some("pbx.example.org"));
    assert_eq!(first.param("Caller-Unique-ID").as_deref(), Some(uuid.as_str()));
    assert_eq!(first.param("Caller-Channel-Name").as_deref(), Some("null/1000"));
    assert_eq!(first.param("exiting"), None);
    // The values go URL-encoded (switch_url_encode): the URL's ':' as %3A.
    let encoded = format!("url=http%3A//{}/call&", app.to_string().replace(':', "%3A"));
    assert!(first.body.contains(&encoded), "{}", first.body);

    let second = next(&mut rx).await;
    assert_eq!(second.param("step").as_deref(), Some("two"), "a document's <params> stay");
    assert_eq!(second.param("exiting"), None);

    let seen = until(&mut events, |e| e.header_str("Event-Name") == Some("CHANNEL_HANGUP")).await;
    let apps: Vec<&str> =
        named(&seen, "CHANNEL_EXECUTE").iter().filter_map(|e| e.header_str("Application")).collect();
    assert_eq!(apps, ["httapi", "info"], "playback and pause run inside httapi without EXECUTE");
    assert_eq!(seen.last().unwrap().header_str("Hangup-Cause"), Some("USER_BUSY"));

    let last = next(&mut rx).await;
    assert_eq!(last.param("exiting").as_deref(), Some("true"));
    assert_eq!(last.param("session_id").as_deref(), Some(uuid.as_str()));
}

// Shipped profile: no method, so GET with the parameters in the query
// (get_style_method = method ? strcasecmp(method, "post") : 1); the URL from the profile
// (gateway-url) when the data names none; get-vars is off, so <getVariable> ends the work
// ("permission denied") and the application returns: the dialplan goes on to its next
// action (park here).
#[tokio::test]
async fn the_profile_url_get_and_a_refused_get_variable() {
    let script: Script = Arc::new(|n, _| match n {
        1 => (200, "text/xml", doc("<work><getVariable name=\"caller_id_number\"/></work>")),
        _ => (200, "text/xml", doc("<work><continue/></work>")),
    });
    let (app, mut rx) = web_app(script).await;
    let mock =
        mock(HttapiConfig { url: Some(format!("http://{app}/ivr?tenant=7")), ..HttapiConfig::default() })
            .await;
    let spec = ExtensionSpec {
        context: "default".into(),
        name: "web".into(),
        conditions: vec![(String::new(), "^7000$".into())],
        actions: vec!["answer".into(), "httapi".into(), "park".into()],
    };
    mock.pbx().add_extensions(&[spec]).unwrap();
    let (c, mut events) = esl(&mock).await;
    let uuid = originate(&c, "originate null/1000 7000").await;
    let first = next(&mut rx).await;
    assert_eq!(first.method, "GET");
    assert!(first.target.starts_with("/ivr?tenant=7&session_id="), "{}", first.target);
    assert_eq!(first.body, "");
    assert_eq!(first.param("session_id").as_deref(), Some(uuid.as_str()));
    assert_eq!(first.param("hostname").as_deref(), Some("pbx.example.org"));
    let seen = until(&mut events, |e| e.header_str("Event-Name") == Some("CHANNEL_PARK")).await;
    let done: Vec<&str> =
        named(&seen, "CHANNEL_EXECUTE_COMPLETE").iter().filter_map(|e| e.header_str("Application")).collect();
    assert!(done.contains(&"httapi"), "{done:?}");
    // One request only: the refused getVariable ended the loop.
    assert!(timeout(Duration::from_millis(300), rx.recv()).await.is_err(), "no second request");
    let killed = c.api(&format!("uuid_kill {uuid}")).await.unwrap();
    assert_eq!(killed.body(), Some("+OK\n"));
    let last = next(&mut rx).await;
    assert_eq!(last.param("exiting").as_deref(), Some("true"));
}

// A URL that does not answer, a reply that is not text/xml, a 500: httapi_function logs and
// breaks out of its loop, so the application returns; an inline `&httapi()` then has run
// out of actions and the call ends NORMAL_CLEARING (switch_core_standard_on_execute).
#[tokio::test]
async fn failing_urls_end_the_application() {
    let script: Script = Arc::new(|n, _| match n {
        1 => (200, "text/plain", "hello".into()),
        _ => (500, "text/xml", doc("<work><continue/></work>")),
    });
    let (app, _rx) = web_app(script).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mock = mock(HttapiConfig::default()).await;
    let (c, mut events) = esl(&mock).await;
    for url in [format!("http://{closed}/"), format!("http://{app}/text"), format!("http://{app}/error")] {
        let uuid = originate(&c, &format!("originate null/1 &httapi({url})")).await;
        let seen = until(&mut events, |e| {
            e.header_str("Event-Name") == Some("CHANNEL_HANGUP") && e.header_str("Unique-ID") == Some(&uuid)
        })
        .await;
        assert_eq!(seen.last().unwrap().header_str("Hangup-Cause"), Some("NORMAL_CLEARING"), "{url}");
    }
}

// parse_execute: execute-apps as shipped allows only info and hangup; anything else is
// "Permission Denied!" and a hangup with DESTINATION_OUT_OF_ORDER. parse_dial (dial on,
// full originate off): a transfer to the extension (9196: answer, echo in default).
#[tokio::test]
async fn execute_permissions_and_dial() {
    let script: Script = Arc::new(|_, seen| {
        if seen.target.starts_with("/deny") {
            (200, "text/xml", doc("<work><execute application=\"playback\" data=\"x.wav\"/></work>"))
        } else {
            (200, "text/xml", doc("<work><dial>9196</dial></work>"))
        }
    });
    let (app, _rx) = web_app(script).await;
    let mock = mock(HttapiConfig::default()).await;
    let (c, mut events) = esl(&mock).await;
    let uuid = originate(&c, &format!("originate null/1 &httapi(http://{app}/deny)")).await;
    let seen = until(&mut events, |e| {
        e.header_str("Event-Name") == Some("CHANNEL_HANGUP") && e.header_str("Unique-ID") == Some(&uuid)
    })
    .await;
    assert_eq!(seen.last().unwrap().header_str("Hangup-Cause"), Some("DESTINATION_OUT_OF_ORDER"));
    assert!(!named(&seen, "CHANNEL_EXECUTE").iter().any(|e| e.header_str("Application") == Some("playback")));

    let uuid = originate(&c, &format!("originate null/2 &httapi(http://{app}/dial)")).await;
    let seen = until(&mut events, |e| {
        e.header_str("Event-Name") == Some("CHANNEL_EXECUTE")
            && e.header_str("Unique-ID") == Some(&uuid)
            && e.header_str("Application") == Some("echo")
    })
    .await;
    let routed = seen.iter().rev().find(|e| e.header_str("Unique-ID") == Some(&uuid)).unwrap();
    assert_eq!(routed.header_str("Caller-Destination-Number"), Some("9196"));
}

// HTTAPI_MAX_API_BYTES: a document of 1 MiB or more is an error (file_callback), the
// application returns.
#[tokio::test]
async fn an_oversized_document_is_refused() {
    let script: Script = Arc::new(|_, _| {
        let filler = "x".repeat(1024 * 1024);
        (200, "text/xml", doc(&format!("<work><log>{filler}</log></work>")))
    });
    let (app, mut rx) = web_app(script).await;
    let mock = mock(HttapiConfig::default()).await;
    let (c, mut events) = esl(&mock).await;
    let uuid = originate(&c, &format!("originate null/1 &httapi(http://{app}/big)")).await;
    let seen = until(&mut events, |e| {
        e.header_str("Event-Name") == Some("CHANNEL_HANGUP") && e.header_str("Unique-ID") == Some(&uuid)
    })
    .await;
    assert_eq!(seen.last().unwrap().header_str("Hangup-Cause"), Some("NORMAL_CLEARING"));
    next(&mut rx).await;
    assert_eq!(next(&mut rx).await.param("exiting").as_deref(), Some("true"));
}

// With get-vars and set-vars opened in the profile: a document's <variables> are set on
// the channel (parse_xml, switch_channel_set_variable) and <getVariable> sends the value
// with the next request only (one_time_params), or with every one when permanent="true"
// (parse_get_var).
#[tokio::test]
async fn opened_permissions_set_and_read_variables() {
    let script: Script = Arc::new(|n, _| match n {
        1 => (
            200,
            "text/xml",
            doc("<variables><color>blue</color></variables><work><getVariable name=\"color\"/>\
                 <getVariable name=\"caller_id_name\" permanent=\"true\"/></work>"),
        ),
        2 => (200, "text/xml", doc("<work><continue/></work>")),
        _ => (200, "text/xml", doc("<work><hangup/></work>")),
    });
    let (app, mut rx) = web_app(script).await;
    let open = HttapiConfig { get_vars: true, set_vars: true, ..HttapiConfig::default() };
    let mock = mock(open).await;
    let (c, _events) = esl(&mock).await;
    let uuid = originate(
        &c,
        &format!("originate {{origination_caller_id_name=Web}}null/1 &httapi(http://{app}/vars)"),
    )
    .await;
    let first = next(&mut rx).await;
    assert_eq!(first.param("color"), None);
    let second = next(&mut rx).await;
    assert_eq!(second.param("color").as_deref(), Some("blue"), "{:?}", second.params());
    assert_eq!(second.param("caller_id_name").as_deref(), Some("Web"));
    let third = next(&mut rx).await;
    assert_eq!(third.param("color"), None, "a one-time parameter goes once");
    assert_eq!(third.param("caller_id_name").as_deref(), Some("Web"), "a permanent one stays");
    let exiting = next(&mut rx).await;
    assert_eq!(exiting.param("exiting").as_deref(), Some("true"));
    assert_eq!(exiting.param("session_id").as_deref(), Some(uuid.as_str()));
}
