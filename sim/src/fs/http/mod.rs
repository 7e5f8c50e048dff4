//! The mock's web front end, as mod_xml_rpc serves FreeSWITCH's API over HTTP:
//! `/api/CMD?ARGS`, `/webapi/…` (text/html), `/txtapi/…` (text/plain), `/xmlapi/…`
//! (text/xml) behind basic auth (xml_rpc.conf.xml: realm and user `freeswitch`, password
//! `works`). Every command runs through the same dispatcher as ESL's `api`
//! ([`Pbx::api_call`], with the server's canned overrides first), so a call started here
//! fires all its events to every ESL listener.
//!
//! Bounds: request line plus headers at most [`MAX_HEAD`] bytes (hyper answers 431 or
//! 414 past it), at most [`MAX_HEADERS`] header fields, an XML-RPC call at most
//! `xml_rpc::MAX_CALL` bytes (413 past it), other POST bodies read up to [`MAX_BODY`] and
//! dropped, [`HttpConfig::max_connections`]
//! open at once (503 past it), [`HttpConfig::header_timeout`] to send the head. One request
//! per connection, answered with `Connection: close`, as mod_xml_rpc's API handler does.
//!
//! `request` holds the parsing rules; this module the socket side; [`httapi`] is the
//! client side: the `httapi` dialplan application's requests to a web app.

pub mod httapi;
mod request;
mod xml_rpc;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE, DATE, SERVER, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::pbx::{clock, ApiOutput};
use super::shared::{Control, Shared};
use request::{authorize, route, unescape_uri, Auth, Credentials, Flavour};

/// Request line plus header fields, in bytes (hyper's read buffer; its floor is 8 KiB).
pub const MAX_HEAD: usize = 16 * 1024;
/// Header fields in one request.
pub const MAX_HEADERS: usize = 64;
/// What is read of a POST body to an API path (mod_xml_rpc's `qbuf[8192]`).
pub const MAX_BODY: usize = 8192;

/// `mock-fs --http ADDR`: where and as whom the web API answers. `Default` is
/// FreeSWITCH's shipped xml_rpc.conf.xml except the port (an ephemeral loopback one).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Where to listen (FreeSWITCH's `http-port` is 8080 on every address).
    pub listen: SocketAddr,
    /// `auth-realm`: named in `WWW-Authenticate` when no credentials came.
    pub realm: String,
    /// `auth-user`.
    pub user: String,
    /// `auth-pass`.
    pub password: String,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// How long a client may take to send its request head.
    pub header_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            realm: "freeswitch".into(),
            user: "freeswitch".into(),
            password: "works".into(),
            max_connections: 64,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// What every request handler reads.
struct Site {
    shared: Arc<Shared>,
    creds: Credentials,
    /// `Server: FreeSWITCH-<switch_version_full()>-mod_xml_rpc`.
    server: HeaderValue,
    live: AtomicUsize,
    max_connections: usize,
    header_timeout: Duration,
}

/// abyss `addServerHeaderFld`, on the pages abyss itself writes (errors).
const ABYSS_SERVER: &str = "Freeswitch xmlrpc-c_abyss /1.26.0";

/// Binds the web API's listener; serving starts with [`spawn`].
pub(crate) async fn bind(config: &HttpConfig) -> std::io::Result<TcpListener> {
    TcpListener::bind(config.listen).await
}

/// Serves `listener` until the mock shuts down (its `Control::Shutdown`).
pub(crate) fn spawn(
    listener: TcpListener,
    config: &HttpConfig,
    shared: Arc<Shared>,
    version: &str,
    default_domain: &str,
) -> tokio::task::JoinHandle<()> {
    let server = HeaderValue::from_str(&format!("FreeSWITCH-{version}-mod_xml_rpc"))
        .unwrap_or_else(|_| HeaderValue::from_static("FreeSWITCH-mod_xml_rpc"));
    let site = Arc::new(Site {
        creds: Credentials {
            realm: config.realm.clone(),
            user: config.user.clone(),
            password: config.password.clone(),
            default_domain: default_domain.to_string(),
        },
        shared,
        server,
        live: AtomicUsize::new(0),
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
    });
    tokio::spawn(accept_loop(listener, site))
}

async fn accept_loop(listener: TcpListener, site: Arc<Site>) {
    let mut control = site.shared.control.subscribe();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            order = control.recv() => {
                if matches!(order, Ok(Control::Shutdown) | Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if site.live.load(Ordering::SeqCst) >= site.max_connections {
                        refuse(&stream, peer, &site);
                        continue;
                    }
                    site.live.fetch_add(1, Ordering::SeqCst);
                    let site = site.clone();
                    conns.spawn(async move {
                        serve(stream, peer, &site).await;
                        site.live.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: the ESL side logs and backs off too.
                    tracing::warn!("http accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

/// Over the limit: a 503 page written without waiting (a fresh socket's buffer is empty).
fn refuse(stream: &TcpStream, peer: SocketAddr, site: &Site) {
    tracing::warn!(%peer, "refused http connection: {} open (max {})", site.live.load(Ordering::SeqCst), site.max_connections);
    let body = abyss_error_body(StatusCode::SERVICE_UNAVAILABLE);
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nServer: {ABYSS_SERVER}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = stream.try_write(format!("{head}{body}").as_bytes());
}

async fn serve(stream: TcpStream, peer: SocketAddr, site: &Arc<Site>) {
    let svc = {
        let site = site.clone();
        service_fn(move |req| {
            let site = site.clone();
            async move { Ok::<_, Infallible>(site.respond(req).await) }
        })
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(site.header_timeout)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), svc);
    if let Err(e) = conn.await {
        tracing::debug!(%peer, "http connection ended: {e}");
    }
}

/// abyss `ResponseError2`'s page for a status, with `HTTPReasonByStatus`'s text.
fn abyss_error_body(status: StatusCode) -> String {
    let code = status.as_u16();
    let reason = match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Request Entity Too Large",
        503 => "Service Unavailable",
        _ => status.canonical_reason().unwrap_or(""),
    };
    format!(
        "<HTML><HEAD><TITLE>Error {code}</TITLE></HEAD><BODY><H1>Error {code}</H1><P>{reason}</P>\
         <p><HR><b><i><a href=\"http://xmlrpc-c.sourceforge.net\">ABYSS Web Server for XML-RPC For C/C++</a></i></b> \
         version 1.26.0<br></p></BODY></HTML>"
    )
}

type Reply = Response<Full<Bytes>>;

impl Site {
    /// `POST /RPC2` (xmlrpc-c's handler): `freeswitch.api` through the same dispatcher;
    /// an unknown command is "ERROR!" (switch_api_execute's status, not its text).
    async fn rpc(&self, req: Request<Incoming>, user: &str, domain: &str) -> Reply {
        let Ok(body) = Limited::new(req.into_body(), xml_rpc::MAX_CALL).collect().await else {
            return self.error(StatusCode::PAYLOAD_TOO_LARGE);
        };
        let page = match xml_rpc::parse(&body.to_bytes()) {
            xml_rpc::Call::Api { command, arg } => {
                let output = match self.shared.api_overrides.get(&command) {
                    Some(canned) => canned.clone(),
                    None => self.shared.pbx.api_call(command.trim(), arg.trim()).await,
                };
                match output {
                    ApiOutput::Text(t) => xml_rpc::response(&t),
                    ApiOutput::NotFound => xml_rpc::response("ERROR!"),
                }
            }
            xml_rpc::Call::Fault { code, text } => xml_rpc::fault(code, &text),
        };
        let mut res = Response::new(Full::new(Bytes::from(page)));
        let h = res.headers_mut();
        for (name, value) in [("freeswitch-user", user), ("freeswitch-domain", domain)] {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
        h.insert(CONNECTION, HeaderValue::from_static("close"));
        h.insert(DATE, self.date());
        h.insert(SERVER, HeaderValue::from_static(ABYSS_SERVER));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=\"utf-8\""));
        res
    }

    fn date(&self) -> HeaderValue {
        let date = clock::rfc822_date(self.shared.pbx.now_us());
        HeaderValue::from_str(&date)
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
    }

    /// A page abyss writes itself (`ResponseError`): the auth refusal, 404, bad URI.
    fn error(&self, status: StatusCode) -> Reply {
        let mut res = Response::new(Full::new(Bytes::from(abyss_error_body(status))));
        *res.status_mut() = status;
        let h = res.headers_mut();
        h.insert(CONNECTION, HeaderValue::from_static("close"));
        h.insert(DATE, self.date());
        h.insert(SERVER, HeaderValue::from_static(ABYSS_SERVER));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        res
    }

    async fn respond(&self, req: Request<Incoming>) -> Reply {
        // auth_hook runs before any handler: every path but /pub needs the credentials.
        let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let (user, domain) = match authorize(header, &self.creds) {
            Auth::Accepted { user, domain } => (user, domain),
            Auth::Refused { realm } => {
                let mut res = self.error(StatusCode::UNAUTHORIZED);
                let challenge = HeaderValue::from_str(&format!("Basic realm=\"{realm}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("Basic realm=\"freeswitch\""));
                res.headers_mut().insert(WWW_AUTHENTICATE, challenge);
                return res;
            }
        };
        if req.uri().path() == "/RPC2" && req.method() == Method::POST {
            return self.rpc(req, &user, &domain).await;
        }
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_string();
        let Ok(decoded) = unescape_uri(&target) else {
            return self.error(StatusCode::BAD_REQUEST);
        };
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        let Some(call) = route(&decoded) else {
            return self.error(StatusCode::NOT_FOUND);
        };
        if req.method() == Method::POST {
            // handler_hook reads up to qbuf's 8192 bytes of a POST's form body, only into
            // the API event's headers: the command's arguments stay `info->query`.
            // Read (and dropped) so the close after the answer is clean.
            let _ = Limited::new(req.into_body(), MAX_BODY).collect().await;
        }
        let output = match self.shared.api_overrides.get(&call.command) {
            Some(canned) => canned.clone(),
            None => {
                self.shared.pbx.api_call_as(&call.command, &call.args, call.flavour.stream_format()).await
            }
        };
        // switch_api_execute writes this itself over HTTP; ESL's "Command not found!"
        // is mod_event_socket's own text.
        let mut body = match output {
            ApiOutput::Text(t) => t,
            ApiOutput::NotFound => "INVALID COMMAND!\n".to_string(),
        };
        let mut content_type = call.flavour.content_type();
        if call.flavour == Flavour::Api {
            // http_stream_write: output that brings its own header keeps it.
            content_type = Some("text/plain");
            if let Some(rest) = body.strip_prefix("Content-Type: ") {
                if let Some((ct, page)) = rest.split_once("\r\n\r\n") {
                    let ct: &'static str = if ct == "text/html" { "text/html" } else { "text/plain" };
                    content_type = Some(ct);
                    body = page.to_string();
                }
            }
        }
        tracing::info!(command = %call.command, args = %call.args, "http api");
        let mut res = Response::new(Full::new(Bytes::from(body)));
        let h = res.headers_mut();
        for (name, value) in [("freeswitch-user", user), ("freeswitch-domain", domain)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        h.insert(CONNECTION, HeaderValue::from_static("close"));
        h.insert(DATE, self.date());
        h.insert(SERVER, self.server.clone());
        if let Some(ct) = content_type {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        res
    }
}
