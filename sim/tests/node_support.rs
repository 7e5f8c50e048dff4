//! The Node clients the tests drive (sim/tests/clients/package.json, installed by .ci/run
//! into target/node): where they are, and the rule when they are not (a failure on CI, a
//! skip that says so elsewhere).

use std::path::PathBuf;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where .ci/run installs the packages (`ESLMATRIX_NODE_MODULES` overrides), or why not.
pub fn node_modules(packages: &[&str]) -> Result<PathBuf, String> {
    let dir = std::env::var_os("ESLMATRIX_NODE_MODULES")
        .map_or_else(|| workspace().join("target/node/node_modules"), PathBuf::from);
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node is not installed".into());
    }
    for p in packages {
        if !dir.join(p).join("package.json").is_file() {
            return Err(format!(
                "{p} is not installed in {} (npm install in target/node with sim/tests/clients/package.json, as .ci/run does)",
                dir.display()
            ));
        }
    }
    Ok(dir)
}

/// The node modules, or `None` after saying why `test` is skipped; on CI a failure.
pub fn node_or_skip(test: &str, packages: &[&str]) -> Option<PathBuf> {
    match node_modules(packages) {
        Ok(dir) => Some(dir),
        Err(why) if std::env::var_os("CI").is_some() => panic!("{test}: Node clients missing on CI: {why}"),
        Err(why) => {
            eprintln!("skipped {test}: {why}");
            None
        }
    }
}
