//! The import invariants of ARCHITECTURE.md ("Which module may import which"), checked by
//! reading every source file: data flows one way, so a module names only the floors below
//! it, and a few crates belong to one floor each.
//!
//! Test code (`#[cfg(test)]` modules, `tests.rs`, `fixtures.rs`) may reach further: a test
//! of the link runs the mock, a test of the status model replays its outputs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The top-level modules of src/ each module may name (besides itself).
const MAY_IMPORT: &[(&str, &[&str])] = &[
    ("status", &[]),
    ("render", &[]),
    ("scene", &["status", "render"]),
    ("driver", &["render"]),
    ("backend", &["driver", "render"]),
    ("tools", &["backend", "driver", "render"]),
    ("app", &["backend", "driver", "render", "scene", "status"]),
    ("config", &["app", "backend", "driver", "render", "scene"]),
];

/// Crates that belong to some modules only; `cli` is the binary (src/main.rs, src/cli/).
const CRATE_OWNERS: &[(&str, &[&str])] = &[
    ("freeswitch_esl_tokio", &["app"]),
    ("clap", &["cli"]),
    ("eslmatrix_sim", &["backend", "cli"]),
    ("minifb", &["backend"]),
    ("crossterm", &["backend"]),
    ("toml", &["config"]),
];

/// One forbidden name: where, and which rule.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    file: String,
    line: usize,
    names: String,
}

/// `line` with the insides of its string literals blanked: `"eslmatrix::message"` is an
/// event name, not a path.
fn without_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    in_string = false;
                    out.push('"');
                }
                _ => {}
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// The code lines of a file, with comments and test-only items left out.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip_item = false;
    let mut skipping_block = false;
    for (i, raw) in text.lines().enumerate() {
        let stripped = without_strings(raw);
        let line = stripped.split("//").next().unwrap_or("").trim_end();
        if skipping_block {
            if raw == "}" {
                skipping_block = false;
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]" {
            skip_item = true;
            continue;
        }
        if skip_item {
            skip_item = false;
            // A test module: one line (`mod tests;`) or a block closed at column 0.
            if trimmed.ends_with('{') && !raw.starts_with(' ') {
                skipping_block = true;
            }
            continue;
        }
        if !trimmed.is_empty() {
            out.push((i + 1, line.to_owned()));
        }
    }
    out
}

/// Lines joined into whole `use` statements (which may span lines), numbered by their first.
fn statements(lines: Vec<(usize, String)>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (no, line) in lines {
        if open {
            let last = out.last_mut().expect("an open statement");
            last.1.push_str(line.trim());
        } else {
            out.push((no, line.clone()));
        }
        let t = line.trim_start();
        let starts_use =
            t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ");
        if starts_use || open {
            open = !line.contains(';');
        }
    }
    out
}

/// The src/ modules a file of module `owner` names through `crate::` (or `eslmatrix::` in
/// the binary), and the external crates it names.
fn named(line: &str, prefix: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let ident = |s: &str| -> String {
        s.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    };
    let mut modules = BTreeSet::new();
    for part in line.split(prefix).skip(1) {
        if let Some(group) = part.strip_prefix('{') {
            // `crate::{a::X, b::{Y, Z}}`: the first name of each top-level item.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        modules.insert(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        modules.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            modules.insert(ident(part));
        }
    }
    modules.remove("");
    let crates = CRATE_OWNERS
        .iter()
        .filter(|(krate, _)| {
            line.match_indices(krate).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = &line[at + krate.len()..];
                !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    && after.starts_with("::")
            })
        })
        .map(|(krate, _)| (*krate).to_owned())
        .collect();
    (modules, crates)
}

/// Every violation in one file of module `owner`.
fn check_file(owner: &str, file: &str, text: &str) -> Vec<Violation> {
    let prefix = if owner == "cli" { "eslmatrix::" } else { "crate::" };
    let allowed: BTreeSet<&str> = MAY_IMPORT
        .iter()
        .find(|(m, _)| *m == owner)
        .map(|(_, a)| a.iter().copied().collect())
        .unwrap_or_default();
    let mut found = Vec::new();
    for (line_no, line) in statements(code_lines(text)) {
        let (modules, crates) = named(&line, prefix);
        let mut bad: Vec<String> = Vec::new();
        if owner != "cli" {
            bad.extend(
                modules
                    .into_iter()
                    .filter(|m| m != owner && !allowed.contains(m.as_str()))
                    .map(|m| format!("{owner} may not import {m}")),
            );
        }
        for krate in crates {
            let owners = CRATE_OWNERS.iter().find(|(k, _)| *k == krate).map(|(_, o)| *o).unwrap_or(&[]);
            if !owners.contains(&owner) {
                bad.push(format!("{krate} belongs to {}", owners.join(", ")));
            }
        }
        if !bad.is_empty() {
            found.push(Violation { file: file.to_owned(), line: line_no, names: bad.join("; ") });
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file of src/ belongs to, or `None` for test-only files and the crate root.
fn owner_of(rel: &Path) -> Option<String> {
    let name = rel.file_name()?.to_str()?;
    if name == "tests.rs" || name == "fixtures.rs" || name == "golden.rs" || name == "lib.rs" {
        return None;
    }
    if rel == Path::new("main.rs") {
        return Some("cli".into());
    }
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

#[test]
fn every_module_imports_only_the_floors_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut owners = BTreeSet::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let Some(owner) = owner_of(rel) else { continue };
        assert!(
            owner == "cli" || MAY_IMPORT.iter().any(|(m, _)| *m == owner),
            "src/{} is in module {owner}, which ARCHITECTURE.md and MAY_IMPORT do not place",
            rel.display()
        );
        owners.insert(owner.clone());
        let text = std::fs::read_to_string(&path).unwrap();
        violations.extend(check_file(&owner, &format!("src/{}", rel.display()), &text));
    }
    assert!(owners.len() >= MAY_IMPORT.len(), "every module was read: {owners:?}");
    let report: Vec<String> =
        violations.iter().map(|v| format!("{}:{}: {}", v.file, v.line, v.names)).collect();
    assert!(report.is_empty(), "imports that run back up:\n{}", report.join("\n"));
}

#[test]
fn the_rig_never_names_the_product() {
    let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim");
    let mut files = Vec::new();
    rust_files(&sim.join("src"), &mut files);
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (line_no, line) in code_lines(&text) {
            assert!(
                !line.contains("eslmatrix::"),
                "{}:{line_no}: the sim crate names eslmatrix",
                path.display()
            );
        }
    }
    let manifest = std::fs::read_to_string(sim.join("Cargo.toml")).unwrap();
    assert!(
        !manifest
            .lines()
            .any(|l| l.trim_start().starts_with("eslmatrix ") || l.trim_start().starts_with("eslmatrix=")),
        "sim/Cargo.toml depends on eslmatrix"
    );
}

#[test]
fn the_checker_catches_a_forbidden_import() {
    let upward = "use crate::config::Config;\nfn f() { let _ = crate::app::daemon::run; }\n";
    let found = check_file("status", "src/status/x.rs", upward);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].names, "status may not import config");
    assert_eq!(found[1].line, 2);
    let client = "use freeswitch_esl_tokio::EslEvent;\n";
    assert_eq!(check_file("status", "x", client)[0].names, "freeswitch_esl_tokio belongs to app");
    // Down the floors, comments and test modules are fine.
    let fine = "use crate::render::Frame; // crate::app in a comment\nconst S: &str = \"crate::config\";\n#[cfg(test)]\nmod tests {\n    use crate::config::Config;\n}\n";
    assert_eq!(check_file("scene", "x", fine), []);
    assert_eq!(check_file("app", "x", "use super::link;\nuse crate::config::Config;\n")[0].line, 2);
    let grouped = "use crate::{\n    render::Frame,\n    app::{daemon, link},\n};\n";
    assert_eq!(check_file("driver", "x", grouped)[0].names, "driver may not import app");
}
