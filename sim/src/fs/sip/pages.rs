//! The two example WebRTC pages (fixtures/webrtc/: a click-to-call page that calls 1000,
//! an answer page where 1000 registers), served over HTTP for `eslmatrix demo --sip` so a
//! person's browser can open them beside the mock's ws binding.
//!
//! The files are compiled in, so the binary serves them from anywhere. SIP.js itself is
//! not among them: the pages load it from a CDN, pinned by version and by each module's
//! SHA-384 (fixtures/webrtc/sipjs-pin.js). `http://127.0.0.1` and `http://localhost` are
//! secure contexts, which `getUserMedia` needs, and may open `ws://` to the same host; a
//! page served to another machine over plain HTTP is not, so serve loopback only.
//!
//! Bounds: GET and HEAD only, a request head of at most [`MAX_HEAD`] bytes read within
//! [`HEAD_TIMEOUT`], [`MAX_CONNECTIONS`] served at once, one request per connection.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Request line plus headers, in bytes (hyper's floor is 8 KiB).
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 32;

/// Every file of fixtures/webrtc/, by name, with its content type.
pub const FILES: [(&str, &str, &str); 7] = [
    ("call.html", "text/html; charset=utf-8", include_str!("../../../../fixtures/webrtc/call.html")),
    ("answer.html", "text/html; charset=utf-8", include_str!("../../../../fixtures/webrtc/answer.html")),
    ("call.js", "text/javascript; charset=utf-8", include_str!("../../../../fixtures/webrtc/call.js")),
    ("answer.js", "text/javascript; charset=utf-8", include_str!("../../../../fixtures/webrtc/answer.js")),
    ("phone.js", "text/javascript; charset=utf-8", include_str!("../../../../fixtures/webrtc/phone.js")),
    (
        "sipjs-pin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../fixtures/webrtc/sipjs-pin.js"),
    ),
    ("phone.css", "text/css; charset=utf-8", include_str!("../../../../fixtures/webrtc/phone.css")),
];

/// The page a path names: `/` is the click-to-call page; anything else is a file of
/// [`FILES`] by its exact name, or nothing.
pub fn page(path: &str) -> Option<(&'static str, &'static str)> {
    let name = path.strip_prefix('/')?;
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, t, body)| (*t, *body))
}

/// Serves the pages on `listener` until the task is aborted.
pub fn spawn(listener: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let live = Arc::new(AtomicUsize::new(0));
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept(), if live.load(Ordering::SeqCst) < MAX_CONNECTIONS => match accepted {
                    Ok((stream, peer)) => {
                        live.fetch_add(1, Ordering::SeqCst);
                        let live = live.clone();
                        conns.spawn(async move {
                            serve(stream, peer).await;
                            live.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) => {
                        tracing::warn!("pages accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

async fn serve(stream: tokio::net::TcpStream, peer: SocketAddr) {
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .keep_alive(false)
        .serve_connection(
            TokioIo::new(stream),
            service_fn(|req| async move { Ok::<_, Infallible>(respond(&req)) }),
        );
    if let Err(e) = conn.await {
        tracing::debug!(%peer, "pages connection ended: {e}");
    }
}

fn respond(req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    res.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    if req.method() != Method::GET && req.method() != Method::HEAD {
        *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        res.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let path = req.uri().path();
    if path == "/" {
        // Relative, so the query (server=, domain=) a person typed survives.
        *res.status_mut() = StatusCode::FOUND;
        let to = match req.uri().query() {
            Some(q) => format!("call.html?{q}"),
            None => "call.html".to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&to) {
            res.headers_mut().insert(LOCATION, v);
        }
        return res;
    }
    let Some((content_type, body)) = page(path) else {
        *res.status_mut() = StatusCode::NOT_FOUND;
        *res.body_mut() = Full::new(Bytes::from_static(b"not found\n"));
        return res;
    };
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A person editing the fixtures (or upgrading) sees the new page on reload.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if req.method() == Method::GET {
        *res.body_mut() = Full::new(Bytes::from_static(body.as_bytes()));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_served_by_its_name_only() {
        assert!(page("/call.html").unwrap().1.contains("call.js"));
        assert_eq!(page("/sipjs-pin.js").unwrap().0, "text/javascript; charset=utf-8");
        for bad in ["call.html", "/../Cargo.toml", "/CALL.HTML", "/webrtc/call.html", "/"] {
            assert!(page(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn every_file_of_the_fixture_directory_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/webrtc");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = FILES.iter().map(|(n, _, _)| n.to_string()).collect();
        served.sort();
        assert_eq!(served, on_disk);
    }
}
