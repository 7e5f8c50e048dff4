//! `eslmatrix mock-fs`: the mock FreeSWITCH as a program, so fs_cli, any ESL library or the
//! daemon can be pointed at it.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use eslmatrix_sim::fs::pbx::scenario::{Scenario, BUILTIN};
use eslmatrix_sim::fs::{Cidr, MockConfig, MockFreeSwitch};

use super::{block_on, CliError, Threads};
use eslmatrix::app::link::{DEFAULT_PASSWORD, DEFAULT_PORT};

#[derive(Args, Debug)]
pub struct MockFsArgs {
    /// Address to listen on. Loopback by default: the mock is for this machine.
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    pub listen: SocketAddr,
    /// The Event Socket password clients must send.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// A scenario: a TOML file, or a built-in name (demo, webrtc-click-to-call, originate,
    /// rejections, busy-office).
    #[arg(long, value_name = "FILE|NAME")]
    pub scenario: Option<String>,
    /// Networks allowed to connect (repeatable), like apply-inbound-acl; default loopback.
    #[arg(long, value_name = "CIDR")]
    pub acl: Vec<String>,
    /// HEARTBEAT interval in seconds (FreeSWITCH's default is 20); 0 turns it off.
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub heartbeat: u64,
    /// Makes the Core-UUID and every UUID reproducible; without it each start is fresh,
    /// as FreeSWITCH's are.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// Reads a scenario from a file, or by built-in name.
pub fn load_scenario(spec: &str) -> Result<Scenario, CliError> {
    if std::path::Path::new(spec).exists() {
        return Scenario::load(spec).map_err(CliError::usage);
    }
    if let Some(parsed) = Scenario::builtin(spec) {
        parsed.map_err(CliError::usage)
    } else {
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        Err(CliError::usage(format!(
            "--scenario {spec:?}: no such file, and not a built-in scenario ({})",
            names.join(", ")
        )))
    }
}

pub fn run(a: MockFsArgs) -> Result<(), CliError> {
    let mut acl = Vec::new();
    for spec in &a.acl {
        acl.push(spec.parse::<Cidr>().map_err(|e| CliError::usage(format!("--acl {spec:?}: {e}")))?);
    }
    let scenario = a.scenario.as_deref().map(load_scenario).transpose()?;
    let mut config = MockConfig {
        pbx: eslmatrix_sim::fs::pbx::PbxConfig {
            start_wall: std::time::SystemTime::now(),
            seed: a.seed,
            ..Default::default()
        },
        listen: a.listen,
        password: a.password,
        heartbeat: (a.heartbeat > 0).then(|| Duration::from_secs(a.heartbeat)),
        ..MockConfig::default()
    };
    if !acl.is_empty() {
        config.acl = acl;
    }
    if let Some(n) = a.seed {
        config.seed = n;
    }
    block_on(Threads::Workers(2), async move {
        let handle = MockFreeSwitch::start(config).await.map_err(CliError::usage)?;
        println!("mock FreeSWITCH listening on {} (Ctrl-C to stop)", handle.addr());
        if let Some(scenario) = scenario {
            let pbx = handle.pbx().clone();
            let faults = handle.faults().clone();
            tokio::spawn(async move {
                let report = scenario.run(&pbx, &faults).await;
                eprintln!("scenario finished: {} steps, {} calls", report.steps, report.calls);
            });
        }
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        Ok(())
    })?
}
