//! Properties of the mock's framing and encoding over arbitrary input.

use eslmatrix_sim::fs::command::Framer;
use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::wire::{self, Format};
use proptest::prelude::*;

/// A `%` followed by two hex digits is the one thing FreeSWITCH's encoder leaves alone.
fn has_escape(s: &str) -> bool {
    s.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,20}"
}

fn event() -> impl Strategy<Value = Event> {
    let value = any::<String>().prop_filter("encodable", |v| !has_escape(v) && v != "_undef_");
    (proptest::collection::vec((header_name(), value), 1..12), proptest::option::of(any::<String>()))
        .prop_map(|(headers, body)| {
            let mut ev = Event::new().with("Event-Name", "CUSTOM");
            for (n, v) in headers {
                if !n.eq_ignore_ascii_case("Content-Length") && !n.eq_ignore_ascii_case("Event-Subclass") {
                    ev.push(n, v);
                }
            }
            ev.body = body.filter(|b| !b.is_empty());
            ev
        })
}

proptest! {
    #[test]
    fn percent_encoding_round_trips(v in any::<String>().prop_filter("no escapes", |v| !has_escape(v))) {
        let encoded = wire::percent_encode(&v);
        prop_assert!(encoded.bytes().all(|b| (0x21..=0x7E).contains(&b)));
        prop_assert_eq!(wire::percent_decode(&encoded), v);
    }

    #[test]
    fn plain_frames_decode_to_the_event_they_came_from(ev in event()) {
        let frame = wire::event_message(&ev, Format::Plain).to_bytes();
        let (headers, body, used) = wire::split_message(&frame).unwrap().unwrap();
        prop_assert_eq!(used, frame.len());
        prop_assert_eq!(headers[0].1.parse::<usize>().unwrap(), body.len());
        let back = wire::decode_plain(std::str::from_utf8(&body).unwrap()).unwrap();
        prop_assert_eq!(back, ev);
    }

    #[test]
    fn json_is_valid_and_carries_raw_values(ev in event()) {
        let json: serde_json::Value = serde_json::from_slice(&wire::encode_json(&ev)).unwrap();
        for (n, v) in &ev.headers {
            if !v.starts_with("ARRAY::") && ev.get_all(n).count() == 1 {
                prop_assert_eq!(json[n.as_str()].as_str(), Some(v.as_str()));
            }
        }
        prop_assert_eq!(json["_body"].as_str(), ev.body.as_deref());
    }

    #[test]
    fn framing_does_not_depend_on_how_bytes_arrive(
        lines in proptest::collection::vec("[a-z]{1,8}( [A-Za-z0-9:@.]{1,12}){0,3}", 1..6),
        bodies in proptest::collection::vec(proptest::option::of(proptest::collection::vec(any::<u8>(), 1..40)), 6),
        cuts in proptest::collection::vec(1usize..17, 1..64),
        crlf in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (line, body) in lines.iter().zip(&bodies) {
            stream.extend_from_slice(format!("{nl}{line}{nl}X-Test: v{nl}").as_bytes());
            if let Some(b) = body {
                stream.extend_from_slice(format!("Content-Length: {}{nl}{nl}", b.len()).as_bytes());
                stream.extend_from_slice(b);
            } else {
                stream.extend_from_slice(nl.as_bytes());
            }
            expected.push((line.clone(), body.clone()));
        }
        let mut framer = Framer::default();
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= stream.len() {
                break;
            }
            let end = (at + cut).min(stream.len());
            framer.buffer().extend_from_slice(&stream[at..end]);
            at = end;
            while let Some(c) = framer.next_command().unwrap() {
                prop_assert_eq!(c.header("x-test"), Some("v"));
                got.push((c.line, c.body));
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert!(framer.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_framer(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..32)) {
        let mut framer = Framer::default();
        for chunk in chunks {
            framer.buffer().extend_from_slice(&chunk);
            while let Ok(Some(_)) = framer.next_command() {}
        }
    }
}
