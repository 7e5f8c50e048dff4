//! How fast the web API answers: `/txtapi/status` requests per second against the mock's
//! HTTP front end, each on its own connection as mod_xml_rpc's API handler answers
//! (`Connection: close`), by raw TCP clients over loopback.
//!
//! * `http_api/txtapi_status_1`: one client, requests back to back.
//! * `http_api/txtapi_status_8`: eight clients at once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use eslmatrix_sim::fs::http::HttpConfig;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

const REQUESTS_PER_CLIENT: usize = 100;
const REQUEST: &[u8] =
    b"GET /txtapi/status HTTP/1.1\r\nHost: pbx\r\nAuthorization: Basic ZnJlZXN3aXRjaDp3b3Jrcw==\r\n\r\n";

/// One request on a fresh connection, read to the close; checks it was a 200.
async fn one(addr: SocketAddr, buf: &mut Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(REQUEST).await.expect("write");
    buf.clear();
    s.read_to_end(buf).await.expect("read");
    assert!(buf.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(buf));
}

fn throughput(c: &mut Criterion, rt: &Runtime, clients: usize) {
    let mock = rt.block_on(async {
        let http = HttpConfig { max_connections: 64, ..HttpConfig::default() };
        MockFreeSwitch::start(MockConfig { heartbeat: None, http: Some(http), ..MockConfig::default() })
            .await
            .expect("mock starts")
    });
    let addr = mock.http_addr().expect("web API");
    let mut group = c.benchmark_group("http_api");
    group.throughput(Throughput::Elements((REQUESTS_PER_CLIENT * clients) as u64));
    group.sample_size(10);
    group.bench_function(format!("txtapi_status_{clients}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..clients)
                        .map(|_| {
                            tokio::spawn(async move {
                                let mut buf = Vec::with_capacity(4096);
                                for _ in 0..REQUESTS_PER_CLIENT {
                                    one(addr, &mut buf).await;
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("client");
                    }
                    start.elapsed()
                });
            }
            total
        });
    });
    group.finish();
    rt.block_on(mock.shutdown());
}

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c, &rt, 1);
    throughput(&mut c, &rt, 8);
    c.final_summary();
}
