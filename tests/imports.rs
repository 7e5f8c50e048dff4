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
    ("tui", &["scene", "status"]),
    ("app", &["backend", "driver", "render", "scene", "status", "tui"]),
    ("config", &["app", "backend", "driver", "render", "scene"]),
];

/// Crates that belong to some modules only; `cli` is the binary (src/main.rs, src/cli/).
const CRATE_OWNERS: &[(&str, &[&str])] = &[
    ("freeswitch_esl_tokio", &["app"]),
    ("clap", &["cli"]),
    ("eslmatrix_sim", &["backend", "cli"]),
    ("minifb", &["backend"]),
    ("crossterm", &["backend", "tui"]),
    ("ratatui", &["tui"]),
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

/// The module path of a file under a crate's source folder: `fs/connection.rs` is
/// `fs::connection`, `fs/mod.rs` is `fs`, the crate roots are the empty path.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> =
        rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// Every module path a line names through `crate::`, `super::` or `self::`, resolved
/// against the module `here` of the file it is in: `super::x::{A, b::C}` is `x::A` and
/// `x::b::C` under the parent of `here`.
fn paths_named(line: &str, here: &[String]) -> Vec<Vec<String>> {
    fn chain(s: &str) -> (Vec<String>, &str) {
        let mut segs = Vec::new();
        let mut rest = s;
        loop {
            let ident: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if ident.is_empty() {
                return (segs, rest);
            }
            rest = &rest[ident.len()..];
            segs.push(ident);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => return (segs, rest),
            }
        }
    }
    fn expand(base: Vec<String>, s: &str, out: &mut Vec<Vec<String>>) {
        let (segs, rest) = chain(s);
        let mut path = base;
        path.extend(segs);
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        expand(path.clone(), group[start..i].trim_start(), out);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(path.clone(), group[start..i].trim_start(), out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    for (at, _) in line.match_indices("::") {
        let word_start =
            line[..at].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        if word_start > 0 && (bytes[word_start - 1] == b':') {
            continue; // the middle of a path, not its head
        }
        let mut base: Vec<String> = match &line[word_start..at] {
            "crate" => Vec::new(),
            "self" => here.to_vec(),
            "super" => here[..here.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        let mut rest = &line[at + 2..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        expand(base, rest, &mut out);
    }
    out
}

/// The file-level import graph of one source folder: file → the files whose items it names.
fn file_graph(src: &Path) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let by_module: std::collections::BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(src).unwrap();
            (module_path(rel), rel.display().to_string())
        })
        .collect();
    let mut graph = std::collections::BTreeMap::new();
    for path in &files {
        let rel = path.strip_prefix(src).unwrap();
        let name = rel.display().to_string();
        if owner_of(rel).is_none() && rel != Path::new("lib.rs") {
            continue; // test-only files may reach anywhere
        }
        let here = module_path(rel);
        let text = std::fs::read_to_string(path).unwrap();
        let mut targets = BTreeSet::new();
        for (_, line) in code_lines(&text) {
            for named in paths_named(&line, &here) {
                // The deepest module that is a file of its own holds the item.
                let target = (0..=named.len())
                    .rev()
                    .find_map(|n| by_module.get(&named[..n]))
                    .filter(|t| **t != name && !t.ends_with("lib.rs") && !t.ends_with("main.rs"));
                targets.extend(target.cloned());
            }
        }
        graph.insert(name, targets);
    }
    graph
}

/// The circles of a graph: its strongly connected components of more than one file.
fn circles(graph: &std::collections::BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reach_of: std::collections::BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|k| (k, reach(k))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for (a, ra) in &reach_of {
        let circle: Vec<String> =
            ra.iter().filter(|b| reach_of.get(b).is_some_and(|rb| rb.contains(*a))).cloned().collect();
        if circle.len() > 1 && !out.iter().any(|c| c.contains(a)) {
            out.push(circle);
        }
    }
    out
}

#[test]
fn no_two_files_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in [root.join("src"), root.join("sim/src")] {
        let graph = file_graph(&src);
        assert!(graph.len() > 20, "{} was read: {} files", src.display(), graph.len());
        let found = circles(&graph);
        assert!(found.is_empty(), "files that import each other under {}: {found:?}", src.display());
    }
}

#[test]
fn the_circle_check_sees_a_circle() {
    let here = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        paths_named("use super::text::{font, FontArg};", &here("cli::display")),
        [here("cli::text::font"), here("cli::text::FontArg")]
    );
    assert_eq!(
        paths_named(
            "    #[arg(value_parser = super::super::x::p)] crate::{a::B, c::{d::E}}",
            &here("m::n::o")
        ),
        [here("m::x::p"), here("a::B"), here("c::d::E")]
    );
    assert_eq!(paths_named("let x = foo::crate_like::y; self::z::w()", &here("q")), [here("q::z::w")]);
    let graph: std::collections::BTreeMap<String, BTreeSet<String>> =
        [("a.rs", &["b.rs"][..]), ("b.rs", &["c.rs"]), ("c.rs", &["a.rs"]), ("d.rs", &["a.rs"])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect();
    assert_eq!(circles(&graph), [vec!["a.rs".to_owned(), "b.rs".into(), "c.rs".into()]]);
}
