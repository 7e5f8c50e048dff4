//! The example WebRTC pages as `demo --sip` serves them, and their SIP.js pin: every
//! module of the pinned npm package has its SHA-384 in fixtures/webrtc/sipjs-pin.js, and no
//! other (the browser test then proves Chromium accepts them).

use std::net::SocketAddr;
use std::time::Duration;

use eslmatrix_sim::fs::sip::pages;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use crate::node_support::{node_or_skip, workspace};

async fn get(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(20), s.read_to_end(&mut raw)).await.expect("answered and closed").unwrap();
    String::from_utf8(raw).unwrap()
}

#[tokio::test]
async fn the_pages_are_served_by_name_and_nothing_else() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _task = pages::spawn(listener);

    let call = get(addr, "GET /call.html HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(call.starts_with("HTTP/1.1 200 OK\r\n"), "{call}");
    assert!(call.contains("content-type: text/html; charset=utf-8\r\n"), "{call}");
    assert!(call.ends_with(&std::fs::read_to_string(workspace().join("fixtures/webrtc/call.html")).unwrap()));

    let pin = get(addr, "GET /sipjs-pin.js HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(pin.contains("content-type: text/javascript; charset=utf-8\r\n"), "{pin}");

    // The bare address opens the click-to-call page, keeping what the person typed after `?`.
    let root = get(addr, "GET /?server=ws://127.0.0.1:5066 HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(root.starts_with("HTTP/1.1 302 Found\r\n"), "{root}");
    assert!(root.contains("location: call.html?server=ws://127.0.0.1:5066\r\n"), "{root}");

    for path in ["/nope.html", "/../Cargo.toml", "/%2e%2e/Cargo.toml"] {
        let r = get(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await;
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{path}: {r}");
    }
    let post = get(addr, "POST /call.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await;
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n") && post.contains("allow: GET, HEAD\r\n"),
        "{post}"
    );
}

#[test]
fn the_sipjs_pin_lists_every_module_of_the_pinned_package() {
    let Some(modules) = node_or_skip("the_sipjs_pin_lists_every_module_of_the_pinned_package", &["sip.js"])
    else {
        return;
    };
    let out = std::process::Command::new("node")
        .arg(workspace().join("sim/tests/clients/sipjs_pin.mjs"))
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = String::from_utf8(out.stdout).unwrap();
    let path = workspace().join("fixtures/webrtc/sipjs-pin.js");
    if std::env::var_os("ESLMATRIX_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    let pinned = std::fs::read_to_string(workspace().join("sim/tests/clients/package.json")).unwrap();
    assert!(
        committed == expected,
        "fixtures/webrtc/sipjs-pin.js does not match the installed sip.js package \
         (package.json pins: {}); rerun with ESLMATRIX_BLESS=1 after changing the pin",
        pinned.lines().find(|l| l.contains("sip.js\"")).unwrap_or("?").trim()
    );
    assert!(committed.matches("sha384-").count() > 150, "every module, not a few");
}
