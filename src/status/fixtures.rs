//! Test access to the captured samples under `fixtures/`.

use std::collections::HashMap;

/// A fixture file with its first line (the `# source:` note, not part of the payload) removed.
pub(crate) fn fixture(rel: &str) -> String {
    let path = format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.to_owned(),
        _ => text,
    }
}

/// Splits a multi-part fixture on its `=== name ===` separator lines.
pub(crate) fn sections(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut name: Option<String> = None;
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if t.starts_with("=== ") && t.ends_with(" ===") {
            if let Some(n) = name.take() {
                out.insert(n, std::mem::take(&mut body));
            }
            name = Some(t[4..t.len() - 4].to_owned());
            body.clear();
        } else if name.is_some() {
            body.push_str(line);
        }
    }
    if let Some(n) = name {
        out.insert(n, body);
    }
    out
}

/// The inner event of a wire frame: drops the outer `Content-Length`/`Content-Type` block.
pub(crate) fn inner_event(frame: &str) -> &str {
    if frame.starts_with("Content-Length:") {
        frame.split_once("\n\n").map_or(frame, |(_, inner)| inner)
    } else {
        frame
    }
}
