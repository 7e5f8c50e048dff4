//! What the mock's benchmarks share: a real-sized HEARTBEAT from the captured fixtures.

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::wire;

/// A real-sized HEARTBEAT (the 1.10 reconstruction: 881-byte inner block), whatever the
/// model's own heartbeat looks like.
pub fn heartbeat() -> Event {
    let path =
        format!("{}/../fixtures/esl/event_heartbeat_RECONSTRUCTED_1.10_wire.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("heartbeat fixture");
    let frame = text.split_once('\n').expect("source line").1;
    let (_, body, _) = wire::split_message(frame.as_bytes()).expect("valid frame").expect("complete frame");
    wire::decode_plain(std::str::from_utf8(&body).expect("utf-8")).expect("plain event")
}
