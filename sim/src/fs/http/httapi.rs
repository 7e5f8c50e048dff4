//! The web side of the `httapi` application (src/mod/applications/mod_httapi/mod_httapi.c):
//! for each call that reaches it, request the URL with the call's parameters, run the
//! `<work>` of the `text/xml` document that comes back, and request again, until the work
//! stops, the channel hangs up or leaves; at hangup one last request with `exiting=true`
//! (`my_on_reporting`). The model is only touched through [`Pbx`]'s `httapi_*` methods, so
//! a slow web app never holds it.
//!
//! Bounds: a document at most [`MAX_DOCUMENT`] bytes (`HTTAPI_MAX_API_BYTES`), each request
//! within [`HttapiConfig::timeout`], at most [`HttapiConfig::max_requests`] per call.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;

use crate::fs::pbx::httapi_app::{HttapiRequest, Work};
use crate::fs::pbx::Pbx;

/// `HTTAPI_MAX_API_BYTES`: a longer reply is an error (the application ends).
pub const MAX_DOCUMENT: usize = 1024 * 1024;

/// The `default` profile of httapi.conf.xml, as shipped, plus the mock's own bounds.
#[derive(Clone, Debug)]
pub struct HttapiConfig {
    /// `gateway-url`: used when the application data names none (shipped:
    /// `http://www.freeswitch.org/api/index.cgi`; the mock has none by default, so a call
    /// without a URL returns from the application at once).
    pub url: Option<String>,
    /// `method`: none sends GET with the parameters in the query, as the module does
    /// (`get_style_method = method ? strcasecmp(method, "post") : 1`); `POST` sends them
    /// form-encoded in the body. A `{method=…}` in the data overrides it.
    pub method: Option<String>,
    /// Permission `get-vars` (shipped: false: `<getVariable>` is refused and ends the work).
    pub get_vars: bool,
    /// Permission `set-vars` (shipped: false: a document's `<variables>` are ignored).
    pub set_vars: bool,
    /// Permission `execute-apps` with its `application-list` (shipped: only `info` and
    /// `hangup`; any other `<execute>` hangs up with DESTINATION_OUT_OF_ORDER).
    pub execute_apps: Vec<String>,
    /// `timeout`, for the whole request (the module's default is none; the mock's 30 s).
    pub timeout: Duration,
    /// Requests one call may make; the module has no limit.
    pub max_requests: usize,
}

impl Default for HttapiConfig {
    fn default() -> Self {
        HttapiConfig {
            url: None,
            method: None,
            get_vars: false,
            set_vars: false,
            execute_apps: vec!["info".into(), "hangup".into()],
            timeout: Duration::from_secs(30),
            max_requests: 1000,
        }
    }
}

/// Serves every call `rx` hands over until the queue closes.
pub(crate) fn spawn(
    mut rx: mpsc::Receiver<HttapiRequest>,
    pbx: Pbx,
    config: HttapiConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut calls = JoinSet::new();
        loop {
            tokio::select! {
                request = rx.recv() => match request {
                    Some(request) => {
                        let client = Client { pbx: pbx.clone(), config: config.clone(), uuid: request.uuid.clone() };
                        calls.spawn(client.run(request.data));
                    }
                    None => break,
                },
                Some(_) = calls.join_next(), if !calls.is_empty() => {}
            }
        }
        calls.abort_all();
    })
}

/// Parameters in order; setting one again moves it to the end (`EF_UNIQ_HEADERS`).
#[derive(Clone, Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.0.push((name.to_string(), value.to_string()));
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// `switch_url_encode`: bytes outside printable ASCII and `SWITCH_URL_UNSAFE` as `%XX`
/// (upper-case hex); an existing `%XX` is kept.
pub fn url_encode(s: &str) -> String {
    const UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        let escape_kept = c == b'%'
            && b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if !escape_kept && (!(b' '..=b'~').contains(&c) || UNSAFE.contains(&c)) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

/// `switch_event_build_param_string`: `name=value&…` with values URL-encoded.
pub fn param_string(params: &[(String, String)]) -> String {
    params.iter().map(|(n, v)| format!("{n}={}", url_encode(v))).collect::<Vec<_>>().join("&")
}

/// `switch_event_create_brackets` on the application data: `{a=b,c=d}rest` gives the pairs
/// and the rest; data without a leading `{` is all rest.
pub fn split_brackets(data: &str) -> (Vec<(String, String)>, &str) {
    let Some(inner) = data.strip_prefix('{') else { return (Vec::new(), data) };
    let Some(end) = inner.find('}') else { return (Vec::new(), data) };
    let pairs = inner[..end]
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect();
    (pairs, &inner[end + 1..])
}

/// How a tag's handler left the loop (`switch_status_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Success,
    False,
}

/// One call's client (mod_httapi's `client_t`).
struct Client {
    pbx: Pbx,
    config: HttapiConfig,
    uuid: String,
}

/// What came back for one request.
struct Reply {
    code: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Client {
    async fn run(self, data: String) {
        // Subscribed before the first request, so the hangup cannot slip past.
        let mut events = self.pbx.subscribe();
        let (pairs, rest) = split_brackets(&data);
        let mut params = Params::default();
        for (k, v) in &pairs {
            params.set(k, v);
        }
        if rest.contains("://") {
            params.set("url", rest);
        }
        let Some(base) = self.pbx.httapi_params(&self.uuid) else { return };
        for (k, v) in &base {
            params.set(k, v);
        }
        let mut once = Params::default();
        let mut requests = 0;
        while self.pbx.httapi_ready(&self.uuid) && requests < self.config.max_requests {
            requests += 1;
            let status = match self.sync(&mut params, &mut once).await {
                Ok(reply)
                    if reply.code == 200 && reply.content_type.to_ascii_lowercase().contains("text/xml") =>
                {
                    self.run_document(&reply.body, &mut params, &mut once, &mut events).await
                }
                Ok(reply) => {
                    tracing::warn!(uuid = %self.uuid, code = reply.code, content_type = %reply.content_type, "httapi: no document; the application returns");
                    Status::False
                }
                Err(e) => {
                    tracing::warn!(uuid = %self.uuid, "httapi: {e}; the application returns");
                    Status::False
                }
            };
            if status != Status::Success {
                break;
            }
        }
        self.pbx.httapi_return(&self.uuid);
        // my_on_reporting: the client stays on the channel until it hangs up.
        wait_hangup(&self.pbx, &self.uuid, &mut events, None).await;
        once.set("exiting", "true");
        if let Err(e) = self.sync(&mut params, &mut once).await {
            tracing::debug!(uuid = %self.uuid, "httapi: the exiting request failed: {e}");
        }
    }

    /// `httapi_sync`: one request with the parameters plus the one-time ones (then cleared).
    async fn sync(&self, params: &mut Params, once: &mut Params) -> Result<Reply, String> {
        let session_id = params
            .get("HTTAPI_SESSION_ID")
            .map(str::to_string)
            .or_else(|| self.pbx.channel_variable(&self.uuid, "HTTAPI_SESSION_ID"))
            .unwrap_or_else(|| self.uuid.clone());
        if params.get("url").is_none() && once.get("url").is_none() {
            if let Some(url) = &self.config.url {
                params.set("url", url);
            }
        }
        let mut merged = params.clone();
        for (k, v) in std::mem::take(&mut once.0) {
            merged.set(&k, &v);
        }
        merged.0.retain(|(n, _)| n != "session_id");
        merged.0.insert(0, ("session_id".into(), session_id.clone()));
        let url = merged.get("url").ok_or("no url")?.to_string();
        let method = merged.get("method").map(str::to_string).or_else(|| self.config.method.clone());
        let post = method.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let data = param_string(&merged.0);
        let target = if post {
            url.clone()
        } else {
            format!("{url}{}{data}", if url.contains('?') { '&' } else { '?' })
        };
        let request = tokio::time::timeout(
            self.config.timeout,
            fetch(&target, post, method.as_deref(), data, &session_id),
        );
        request.await.map_err(|_| format!("{url}: no answer within {:?}", self.config.timeout))?
    }

    /// `parse_xml`: `<params>`, `<variables>`, then each `<work>` tag in order until one
    /// does not succeed; a document without work is a failure.
    async fn run_document(
        &self,
        body: &[u8],
        params: &mut Params,
        once: &mut Params,
        events: &mut broadcast::Receiver<std::sync::Arc<crate::fs::event::Event>>,
    ) -> Status {
        let text = String::from_utf8_lossy(body);
        let doc = match roxmltree::Document::parse(&text) {
            Ok(doc) => doc,
            Err(e) => {
                tracing::warn!(uuid = %self.uuid, "httapi: the document does not parse: {e}");
                return Status::False;
            }
        };
        let root = doc.root_element();
        let child = |name: &str| root.children().find(|n| n.is_element() && n.tag_name().name() == name);
        if let Some(list) = child("params") {
            for tag in list.children().filter(roxmltree::Node::is_element) {
                params.set(tag.tag_name().name(), tag.text().unwrap_or(""));
            }
        }
        if let Some(list) = child("variables") {
            for tag in list.children().filter(roxmltree::Node::is_element) {
                if self.config.set_vars {
                    let (name, value) = (tag.tag_name().name(), tag.text().unwrap_or(""));
                    self.pbx.httapi_work(&self.uuid, &Work::SetVar(name.into(), value.into()));
                } else {
                    tracing::warn!(uuid = %self.uuid, "httapi: variable {} permission denied!", tag.tag_name().name());
                }
            }
        }
        let Some(work) = child("work") else { return Status::False };
        let mut runs = 0;
        for tag in work.children().filter(roxmltree::Node::is_element) {
            runs += 1;
            // parse_common: action= replaces the URL, temp-action= for the next request only.
            if let Some(action) = tag.attribute("action") {
                params.set("url", action);
            }
            if let Some(temp) = tag.attribute("temp-action") {
                once.set("url", temp);
            }
            if self.run_tag(tag, params, once, events).await != Status::Success {
                return Status::False;
            }
        }
        if runs == 0 {
            return Status::False;
        }
        Status::Success
    }

    async fn run_tag(
        &self,
        tag: roxmltree::Node<'_, '_>,
        params: &mut Params,
        once: &mut Params,
        events: &mut broadcast::Receiver<std::sync::Arc<crate::fs::event::Event>>,
    ) -> Status {
        let body = tag.text().unwrap_or("");
        let attr = |name: &str| tag.attribute(name).filter(|v| !v.is_empty());
        match tag.tag_name().name() {
            // parse_playback: no media here, so files, speech and say take no time; a
            // pause really waits (and ends early when the call hangs up).
            "playback" => Status::from(attr("file").is_some()),
            "speak" => Status::from(attr("engine").is_some()),
            "say" => {
                let text = attr("text").or(attr("file")).or(Some(body).filter(|b| !b.is_empty()));
                Status::from(
                    attr("language").is_some()
                        && attr("type").is_some()
                        && attr("method").is_some()
                        && text.is_some(),
                )
            }
            "vmName" => Status::Success,
            "pause" => {
                let ms = attr("milliseconds").map(atoi).filter(|ms| *ms > 0).unwrap_or(1000);
                let hung =
                    wait_hangup(&self.pbx, &self.uuid, events, Some(Duration::from_millis(ms as u64))).await;
                Status::from(!hung)
            }
            "hangup" => {
                let cause = attr("cause").unwrap_or(body);
                self.pbx.httapi_work(&self.uuid, &Work::Hangup(cause.to_string()));
                Status::False
            }
            "answer" => {
                self.pbx.httapi_work(&self.uuid, &Work::Answer);
                Status::False
            }
            "preAnswer" | "ringReady" => Status::False,
            "dial" => {
                // Shipped permissions: dial yes, dial-full-originate no: a transfer to the
                // extension in the call's own context and dialplan.
                self.pbx.httapi_work(&self.uuid, &Work::Transfer(body.trim().to_string()));
                Status::Success
            }
            "execute" => {
                let app = attr("application").unwrap_or("");
                let data = attr("data").unwrap_or(body);
                let allowed = !app.is_empty() && self.config.execute_apps.iter().any(|a| a == app);
                // expand-vars is off as shipped: data with a `$` is refused.
                if !allowed || data.contains('$') {
                    tracing::warn!(uuid = %self.uuid, app, "httapi: Permission Denied!");
                    self.pbx.httapi_work(&self.uuid, &Work::Hangup("DESTINATION_OUT_OF_ORDER".into()));
                    return Status::False;
                }
                self.pbx
                    .httapi_work(&self.uuid, &Work::Execute { app: app.to_string(), data: data.to_string() });
                Status::Success
            }
            "getVariable" => {
                let Some(name) = attr("name") else { return Status::Success };
                if !self.config.get_vars {
                    tracing::warn!(uuid = %self.uuid, "httapi: variable {name} permission denied!");
                    return Status::False;
                }
                if let Some(value) = self.pbx.channel_variable(&self.uuid, name) {
                    let permanent = attr("permanent").is_some_and(switch_true);
                    if permanent {
                        params.set(name, &value);
                    } else {
                        once.set(name, &value);
                    }
                }
                Status::Success
            }
            "log" => {
                tracing::info!(uuid = %self.uuid, "httapi log: {body}");
                Status::Success
            }
            "continue" => Status::Success,
            "break" => Status::False,
            other => {
                // sms, conference, record, recordCall and voicemail need media or modules
                // the mock does not have; anything else is "Unsupported Tag".
                tracing::warn!(uuid = %self.uuid, "httapi: unsupported tag [{other}]");
                Status::False
            }
        }
    }
}

impl From<bool> for Status {
    fn from(ok: bool) -> Status {
        if ok {
            Status::Success
        } else {
            Status::False
        }
    }
}

/// C's `atoi` on an attribute.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .take(18)
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    if neg {
        -n
    } else {
        n
    }
}

/// `switch_true`.
fn switch_true(v: &str) -> bool {
    ["yes", "on", "true", "t", "enabled", "active", "allow"].iter().any(|t| v.eq_ignore_ascii_case(t))
        || v.parse::<i64>().is_ok_and(|n| n != 0)
}

/// Waits until the channel hangs up, or `limit` passes; true when it hung up.
async fn wait_hangup(
    pbx: &Pbx,
    uuid: &str,
    events: &mut broadcast::Receiver<std::sync::Arc<crate::fs::event::Event>>,
    limit: Option<Duration>,
) -> bool {
    let watch = async {
        loop {
            if pbx.hung_up(uuid) {
                return;
            }
            match events.recv().await {
                Ok(ev) => {
                    if ev.get("Unique-ID") == Some(uuid) && ev.name() == Some("CHANNEL_HANGUP") {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    if let Some(limit) = limit {
        tokio::time::timeout(limit, watch).await.is_ok()
    } else {
        watch.await;
        true
    }
}

/// One HTTP/1.1 exchange as curl makes it for the module: `User-Agent: mod_httapi/1.0`,
/// the `HTTAPI_SESSION_ID` cookie, credentials from `user:pass@` in the URL as basic auth,
/// a POST's parameters form-encoded. Plain `http://` only.
async fn fetch(
    target: &str,
    post: bool,
    method: Option<&str>,
    data: String,
    session_id: &str,
) -> Result<Reply, String> {
    let uri: Uri = target.parse().map_err(|e| format!("{target}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{target}: only http:// URLs are fetched"));
    }
    let authority = uri.authority().ok_or_else(|| format!("{target}: no host"))?.clone();
    let (creds, hostport) = match authority.as_str().rsplit_once('@') {
        Some((c, h)) => (Some(c.to_string()), h.to_string()),
        None => (None, authority.as_str().to_string()),
    };
    let addr = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.clone()
    } else {
        format!("{hostport}:80")
    };
    let stream = TcpStream::connect(&addr).await.map_err(|e| format!("{target}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let verb = match method {
        Some(m) if !m.is_empty() => m.to_string(),
        _ if post => "POST".into(),
        _ => "GET".into(),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = Request::builder()
        .method(verb.as_str())
        .uri(path)
        .header("Host", hostport.as_str())
        .header("User-Agent", "mod_httapi/1.0")
        .header("Accept", "*/*")
        .header("Cookie", format!("HTTAPI_SESSION_ID={session_id}"));
    if let Some(c) = creds {
        req = req.header("Authorization", format!("Basic {}", STANDARD.encode(c)));
    }
    let body = if post {
        req = req.header("Content-Type", "application/x-www-form-urlencoded");
        Bytes::from(data)
    } else {
        Bytes::new()
    };
    let req = req.body(Full::new(body)).map_err(|e| format!("{target}: {e}"))?;
    let res = sender.send_request(req).await.map_err(|e| format!("{target}: {e}"))?;
    let code = res.status().as_u16();
    let content_type =
        res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = Limited::new(res.into_body(), MAX_DOCUMENT - 1)
        .collect()
        .await
        .map_err(|e| format!("{target}: the reply is over {MAX_DOCUMENT} bytes or broken: {e}"))?
        .to_bytes()
        .to_vec();
    Ok(Reply { code, content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_switch_url_encode() {
        assert_eq!(url_encode("a b+c/d%41%zz"), "a%20b%2Bc/d%41%25zz");
        assert_eq!(url_encode("Ü"), "%C3%9C");
    }

    #[test]
    fn brackets_and_params() {
        let (pairs, rest) = split_brackets("{url=http://x/y,method=POST}");
        assert_eq!(pairs, [("url".to_string(), "http://x/y".to_string()), ("method".into(), "POST".into())]);
        assert_eq!(rest, "");
        assert_eq!(split_brackets("http://h/").1, "http://h/");
        let p = [("session_id".to_string(), "u 1".to_string()), ("exiting".into(), "true".into())];
        assert_eq!(param_string(&p), "session_id=u%201&exiting=true");
    }
}
