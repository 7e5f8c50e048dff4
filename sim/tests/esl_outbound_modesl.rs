//! A second independent client for outbound mode: Node's modesl (`esl.Server`, pinned in
//! sim/tests/clients/package.json, installed by .ci/run into target/node). The script
//! (sim/tests/clients/modesl_outbound.js) is an outbound application: it takes the call the
//! mock's `socket` application connects, answers, sets a variable, reads it back with
//! `api`, hangs up, and prints what it saw. Without node or the package the test fails when
//! `CI` is set and says it skipped otherwise.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use eslmatrix_sim::fs::wire::GOODBYE;
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};
use freeswitch_esl_tokio::EslClient;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where .ci/run installs the package (`ESLMATRIX_NODE_MODULES` overrides), or why not.
fn node_modules() -> Result<PathBuf, String> {
    let dir = std::env::var_os("ESLMATRIX_NODE_MODULES")
        .map_or_else(|| workspace().join("target/node/node_modules"), PathBuf::from);
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node is not installed".into());
    }
    if !dir.join("modesl/package.json").is_file() {
        return Err(format!(
            "modesl is not installed in {} (npm install --prefix target/node sim/tests/clients, as .ci/run does)",
            dir.display()
        ));
    }
    Ok(dir)
}

// mod_event_socket.c socket_function connects; parse_command `connect` answers the
// CHANNEL_DATA block modesl keeps as getInfo(); `myevents` (modesl's Server option) and
// sendmsg execute (switch_ivr.c switch_ivr_parse_event) run answer, set and hangup; `api`
// works in full mode; listener_run ends with send_disconnect's session notice.
#[tokio::test]
async fn modesl_outbound_server_controls_a_call() {
    let modules = match node_modules() {
        Ok(dir) => dir,
        Err(why) if std::env::var_os("CI").is_some() => panic!("modesl client missing on CI: {why}"),
        Err(why) => {
            eprintln!("skipped modesl_outbound_server_controls_a_call: {why}");
            return;
        }
    };
    let mock = MockFreeSwitch::start(MockConfig { heartbeat: None, ..MockConfig::default() }).await.unwrap();
    let script = workspace().join("sim/tests/clients/modesl_outbound.js");
    let mut child = Command::new("node")
        .arg(&script)
        .env("NODE_PATH", &modules)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let line = timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("modesl script answers in time")
            .expect("reads")
            .expect("the script printed a line before it ended");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    };
    let port = next().await["listening"].as_u64().expect("listening port");

    let (obs, _events) = EslClient::connect("127.0.0.1", mock.addr().port(), "ClueCon").await.unwrap();
    let answer = obs
        .api(&format!("originate null/200 '&socket(127.0.0.1:{port} async full)'"))
        .await
        .unwrap()
        .body()
        .unwrap_or_default()
        .to_string();
    let uuid = answer.strip_prefix("+OK ").unwrap_or_else(|| panic!("{answer}")).trim().to_string();

    let mut seen = Vec::new();
    loop {
        let v = next().await;
        let end = v.get("end").is_some() || v.get("timeout").is_some();
        seen.push(v);
        if end {
            break;
        }
    }
    let find =
        |key: &str| seen.iter().find(|v| v.get(key).is_some()).unwrap_or_else(|| panic!("{key} in {seen:?}"));
    let c = find("connected");
    assert_eq!(c["connected"], uuid.as_str());
    assert_eq!((c["channel"].as_str(), c["destination"].as_str()), (Some("null/200"), Some("200")));
    assert_eq!((c["mode"].as_str(), c["control"].as_str()), (Some("async"), Some("full")));
    let e = find("executed");
    assert_eq!((e["executed"].as_str(), e["data"].as_str()), (Some("set"), Some("color=blue")));
    assert_eq!(find("getvar")["getvar"], "blue");
    assert_eq!(find("hangup")["hangup"], "USER_BUSY");
    let n = find("notice");
    assert_eq!((n["notice"].as_str(), n["session"].as_str()), (Some("disconnect"), Some(uuid.as_str())));
    assert_eq!(n["body"], GOODBYE);
    assert!(seen.last().unwrap().get("end").is_some(), "{seen:?}");
    let _ = child.wait().await;
}
