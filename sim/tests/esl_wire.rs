//! The mock's event encoders against captured and reconstructed FreeSWITCH frames: decode
//! a capture into an Event, encode it again, demand the same bytes.

use std::fmt;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::wire::{self, Format};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// A fixture without its first line (the `# source:` note, not part of the payload).
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/esl/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = bytes.iter().position(|&b| b == b'\n').expect("source line") + 1;
    bytes[start..].to_vec()
}

/// Sections of a fixture separated by `=== ... ===` lines.
fn sections(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.split_inclusive('\n') {
        if line.starts_with("=== ") {
            out.extend(cur.take());
            cur = Some(String::new());
        } else if let Some(c) = cur.as_mut() {
            c.push_str(line);
        }
    }
    out.extend(cur);
    out.into_iter().map(String::into_bytes).collect()
}

/// Decodes one framed plain event and checks it re-encodes to exactly the same frame.
fn roundtrip_plain(frame: &[u8]) -> Event {
    let (headers, body, used) = wire::split_message(frame).unwrap().expect("complete frame");
    assert_eq!(used, frame.len(), "frame has trailing bytes");
    assert_eq!(headers[1], ("Content-Type".into(), "text/event-plain".into()));
    let event = wire::decode_plain(std::str::from_utf8(&body).unwrap()).unwrap();
    let again = wire::event_message(&event, Format::Plain).to_bytes();
    assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(frame));
    event
}

#[test]
fn heartbeat_frame_is_byte_identical() {
    let frame = fixture("event_heartbeat_RECONSTRUCTED_1.10_wire.txt");
    let event = roundtrip_plain(&frame);
    assert_eq!(
        event.get("Up-Time"),
        Some("0 years, 2 days, 3 hours, 4 minutes, 5 seconds, 678 milliseconds, 901 microseconds")
    );
    assert_eq!(event.get("FreeSWITCH-IPv6"), Some("::1"));
}

#[test]
fn sofia_register_unregister_expire_are_byte_identical_with_subclass_first() {
    let frames = sections(&fixture("event_sofia_register_unregister_expire_RECONSTRUCTED_1.10_wire.txt"));
    assert_eq!(frames.len(), 3);
    for frame in &frames {
        let mut event = roundtrip_plain(frame);
        // Even if the subclass is stored last, it is serialized first.
        let sub = event.headers.remove(0);
        event.headers.push(sub);
        let again = wire::event_message(&event, Format::Plain).to_bytes();
        assert_eq!(&again, frame);
    }
}

#[test]
fn background_job_plain_json_xml_are_byte_identical() {
    let parts = sections(&fixture("event_background_job_RECONSTRUCTED_1.10_wire.txt"));
    let (reply, plain, json) = (&parts[1], &parts[2], &parts[3]);
    let job = "6a0e9c3e-5a0b-4c3a-9a55-2a1c3c0d9e11";
    let expected_reply =
        wire::command_reply(&format!("+OK Job-UUID: {job}"), &[("Job-UUID", job)]).to_bytes();
    assert_eq!(&expected_reply, reply);
    let event = roundtrip_plain(plain);
    assert_eq!(event.get("Job-Owner-UUID"), Some(""));
    assert_eq!(event.body.as_deref().map(str::len), Some(370));
    // The capture adds one newline after the json frame for readability only.
    let json_frame = &json[..json.len() - 1];
    assert_eq!(
        String::from_utf8_lossy(&wire::event_message(&event, Format::Json).to_bytes()),
        String::from_utf8_lossy(json_frame)
    );
    let xml = fixture("event_background_job_xml_RECONSTRUCTED_1.10_wire.txt");
    assert_eq!(
        String::from_utf8_lossy(&wire::event_message(&event, Format::Xml).to_bytes()),
        String::from_utf8_lossy(&xml)
    );
}

/// A JSON object read into ordered pairs (serde_json's map would sort or merge keys).
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a flat JSON object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    out.push(pair);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn event_from_json(text: &str) -> Event {
    let Pairs(pairs) = serde_json::from_str(text).unwrap();
    let mut event = Event::new();
    for (n, v) in pairs {
        match n.as_str() {
            "Content-Length" => {}
            "_body" => event.body = Some(v),
            _ => {
                event.push(n, v);
            }
        }
    }
    event
}

#[test]
fn fs_1_4_20_capture_plain_and_json_are_byte_identical() {
    let parts = sections(&fixture("event_background_job_plain_and_json_fs1.4.20.txt"));
    // msg2: the plain frame; its body ends with the status output's last newline.
    let plain = &parts[1];
    let event = roundtrip_plain(plain);
    assert_eq!(event.get("Job-Command"), Some("status"));
    // msg7: a json frame of another job, decoded from json and re-encoded.
    let json = &parts[6][..parts[6].len() - 1];
    let (headers, body, _) = wire::split_message(json).unwrap().unwrap();
    assert_eq!(headers[1].1, "text/event-json");
    let event = event_from_json(std::str::from_utf8(&body).unwrap());
    assert_eq!(wire::event_message(&event, Format::Json).to_bytes(), json);
}

#[test]
fn cgrates_hangup_complete_keeps_duplicates_and_encoding() {
    let block = fixture("event_channel_hangup_complete_plain_cgrates.txt");
    let text = String::from_utf8(block).unwrap();
    let event = wire::decode_plain(&text).unwrap();
    assert_eq!(event.get_all("Hangup-Cause").collect::<Vec<_>>(), ["NORMAL_CLEARING", "NORMAL_CLEARING"]);
    let again = String::from_utf8(wire::encode_plain(&event)).unwrap();
    // The last header was appended to the capture by hand (cgrates' own test data) and is
    // not encoded there; FreeSWITCH would encode its ';'. Every other byte must match.
    let hand_added = "variable_cgr_flags: *resources;*attributes;*sessions;*routes;*routes_event_cost;*routes_ignore_errors;*accounts\n";
    let as_fs_sends = "variable_cgr_flags: *resources%3B*attributes%3B*sessions%3B*routes%3B*routes_event_cost%3B*routes_ignore_errors%3B*accounts\n";
    assert!(text.contains(hand_added));
    assert_eq!(again, text.replace(hand_added, as_fs_sends));
    assert!(text.len() > 13_000, "the whole capture was compared");
}

#[test]
fn duplicate_headers_survive_json_as_repeated_keys() {
    let event = Event::new()
        .with("Event-Name", "CHANNEL_HANGUP_COMPLETE")
        .with("Hangup-Cause", "A")
        .with("Hangup-Cause", "B");
    let json = String::from_utf8(wire::encode_json(&event)).unwrap();
    assert_eq!(json, r#"{"Event-Name":"CHANNEL_HANGUP_COMPLETE","Hangup-Cause":"A","Hangup-Cause":"B"}"#);
    let Pairs(pairs) = serde_json::from_str(&json).unwrap();
    assert_eq!(pairs.len(), 3);
}

/// Every fixed string the server can send, checked against the transcript's literals.
#[test]
fn replies_and_notices_match_the_transcript() {
    let transcript = String::from_utf8(fixture("wire_transcript_RECONSTRUCTED.txt")).unwrap();
    let literal = |title: &str| -> Vec<u8> {
        let at = transcript.find(&format!("## {title}\n")).unwrap_or_else(|| panic!("no section {title}"));
        let line = transcript[at..].lines().find(|l| l.starts_with("S->C: ")).unwrap();
        // Python literals: concatenated '...' pieces with only \n escapes.
        line["S->C: ".len()..]
            .split('\'')
            .skip(1)
            .step_by(2)
            .collect::<String>()
            .replace("\\n", "\n")
            .into_bytes()
    };
    let cat = |msgs: &[wire::Message]| {
        msgs.iter().flat_map(eslmatrix_sim::fs::wire::Message::to_bytes).collect::<Vec<u8>>()
    };
    assert_eq!(
        literal("greeting (sent immediately after TCP accept, only if ACL passes)"),
        wire::auth_request().to_bytes()
    );
    assert_eq!(literal("auth accepted"), wire::command_reply("+OK accepted", &[]).to_bytes());
    assert_eq!(
        literal("auth rejected (then server closes)"),
        cat(&[wire::command_reply("-ERR invalid", &[]), wire::disconnect_notice(wire::GOODBYE)])
    );
    assert_eq!(
        literal("userauth accepted"),
        wire::command_reply(
            "+OK accepted",
            &[("Allowed-Events", "all"), ("Allowed-API", "all"), ("Allowed-LOG", "true")]
        )
        .to_bytes()
    );
    assert_eq!(
        literal("ACL denial (apply-inbound-acl / default loopback.auto); no auth/request is sent"),
        cat(&[wire::rude_rejection(), wire::disconnect_notice(wire::GOODBYE)])
    );
    assert_eq!(
        literal("api unknown function"),
        wire::api_response("-ERR foo Command not found!\n").to_bytes()
    );
    assert_eq!(literal("api with empty output"), wire::api_response("-ERR no reply\n").to_bytes());
    assert_eq!(literal("shutdown while connected"), wire::disconnect_notice(wire::SHUTDOWN).to_bytes());
    assert_eq!(
        literal("listener killed for >500 lost events (queue of 100000 full)"),
        wire::disconnect_notice(wire::LOST_EVENTS).to_bytes()
    );
    assert_eq!(wire::disconnect_notice(wire::GOODBYE).body.len(), 67);
}
