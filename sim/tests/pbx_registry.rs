//! Registrations as sofia keeps them (sofia_reg.c), and the registry at carrier size.

use std::sync::Arc;
use std::time::Duration;

use eslmatrix_sim::fs::event::Event;
use eslmatrix_sim::fs::pbx::{ApiOutput, MultipleRegistrations, Pbx, PbxConfig, Transport};
use eslmatrix_sim::fs::{MockConfig, MockFreeSwitch};
use tokio::sync::broadcast::Receiver;

fn drain(rx: &mut Receiver<Arc<Event>>) -> Vec<Arc<Event>> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

fn subclasses(events: &[Arc<Event>]) -> Vec<&str> {
    events.iter().filter_map(|e| e.subclass()).collect()
}

fn show(pbx: &Pbx, args: &str) -> String {
    match pbx.api("show", args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("show not found"),
    }
}

/// sofia_reg.c `sofia_reg_handle_register_token`, shipped profile (`multiple-registrations`
/// unset): `delete from sip_registrations where sip_user='%q' and sip_host='%q'` before
/// every insert, so a second device silently replaces the first: one `sofia::register`,
/// no unregister or expire for the binding it replaced; calls go to the new device.
#[test]
fn a_new_call_id_replaces_the_binding_with_only_a_register_event() {
    let pbx = Pbx::new(PbxConfig::default());
    let mut rx = pbx.subscribe();
    let desk = pbx.register("1001", Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    let browser = pbx.register("1001", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
    assert_ne!(desk.call_id, browser.call_id);
    let events = drain(&mut rx);
    assert_eq!(subclasses(&events), ["sofia::register", "sofia::register"]);
    assert!(events.iter().all(|e| e.get("update-reg").is_none()));
    assert_eq!(pbx.registrations(), vec![browser.clone()]);
    assert_eq!(show(&pbx, "registrations count"), "\n1 total.\n");
    // The desk phone's refresh takes the binding back, with its own Call-ID.
    let again = pbx.register("1001", Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    assert_eq!(again.call_id, desk.call_id);
    assert_eq!(pbx.registrations(), vec![again]);
}

/// With `multiple-registrations` on, each Call-ID keeps its binding, and a device's own
/// refresh is `update_registration` (`update-reg: true`).
#[test]
fn multiple_registrations_keep_one_binding_per_device() {
    let pbx = Pbx::new(PbxConfig::default());
    pbx.set_multiple_registrations(MultipleRegistrations::parse("contact").unwrap());
    let mut rx = pbx.subscribe();
    pbx.register("1001", Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    let browser = pbx.register("1001", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
    pbx.register("1001", Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    let events = drain(&mut rx);
    let updates: Vec<Option<&str>> = events.iter().map(|e| e.get("update-reg")).collect();
    assert_eq!(updates, [None, None, Some("true")]);
    assert_eq!(show(&pbx, "registrations count"), "\n2 total.\n");
    // The newest binding is where a call goes; the refreshed desk phone is now newest.
    assert_ne!(pbx.registrations().last().unwrap().call_id, browser.call_id);
    assert_eq!(pbx.unregister("1001"), Ok(2), "Expires: 0 for every binding");
    assert_eq!(MultipleRegistrations::parse("false"), Some(MultipleRegistrations::Off));
    assert_eq!(MultipleRegistrations::parse("call-id"), Some(MultipleRegistrations::CallId));
    assert_eq!(MultipleRegistrations::parse("sometimes"), None);
}

/// Expiry from the device's Expires plus `sip-expires-late-margin` (60 s): the server runs
/// sofia's `sofia_reg_check_expire` and the binding leaves with `sofia::expire`.
#[tokio::test(start_paused = true)]
async fn a_binding_expires_after_its_expires_and_the_late_margin() {
    let mock = MockFreeSwitch::start(MockConfig { heartbeat: None, ..MockConfig::default() }).await.unwrap();
    let pbx = mock.pbx().clone();
    let mut rx = pbx.subscribe();
    pbx.register_expiring("1001", Transport::Udp, "Zoiper rv2.10.20.5", 30).unwrap();
    pbx.register("1002", Transport::Udp, "Zoiper rv2.10.20.5").unwrap();
    tokio::time::sleep(Duration::from_secs(89)).await;
    assert_eq!(pbx.registrations().len(), 2, "30 s + 60 s margin not yet over");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let regs = pbx.registrations();
    assert_eq!(regs.iter().map(|r| r.user.as_str()).collect::<Vec<_>>(), ["1002"]);
    let expired: Vec<_> =
        drain(&mut rx).into_iter().filter(|e| e.subclass() == Some("sofia::expire")).collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].get("user"), Some("1001"));
    mock.shutdown().await;
}

/// 100 000 bindings: the list is written straight from the table in order, the same
/// bytes the generic table renderer gives, and counting does not build rows.
#[test]
fn a_carrier_size_registry_lists_and_counts_every_binding() {
    let pbx = Pbx::new(PbxConfig::default());
    for u in 0..100_000 {
        pbx.register(&format!("u{u}"), Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    }
    assert_eq!(show(&pbx, "registrations count"), "\n100000 total.\n");
    let list = show(&pbx, "registrations");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 100_000 + 3);
    assert_eq!(
        lines[0],
        "reg_user,realm,token,url,expires,network_ip,network_port,network_proto,hostname,metadata"
    );
    assert!(lines[1].starts_with("u0,192.0.2.10,"), "{}", lines[1]);
    assert!(lines[100_000].starts_with("u99999,"), "{}", lines[100_000]);
    assert_eq!(&lines[100_001..], ["", "100000 total."]);
    // The same rows as the generic renderer, checked through its CSV form.
    let csv = show(&pbx, "registrations as csv");
    assert_eq!(csv, list);
    assert_eq!(pbx.unregister("u500"), Ok(1));
    assert_eq!(show(&pbx, "registrations count"), "\n99999 total.\n");
}

/// A scenario sets `multiple_registrations` and each REGISTER's Expires; the bindings
/// then expire on their own when nothing refreshes them.
#[tokio::test(start_paused = true)]
async fn a_scenario_sets_multiple_registrations_and_expires() {
    let scenario = eslmatrix_sim::fs::pbx::scenario::Scenario::parse(
        "multiple_registrations = true\n\
         [[step]]\nat = \"0s\"\naction = \"register\"\nuser = \"1001\"\nexpires = 20\n\
         [[step]]\nat = \"1s\"\naction = \"register\"\nuser = \"1001\"\ntransport = \"wss\"\nuser_agent = \"SIP.js\"\nexpires = 20\n",
    )
    .unwrap();
    let mock = MockFreeSwitch::start(MockConfig { heartbeat: None, ..MockConfig::default() }).await.unwrap();
    let report = scenario.run(mock.pbx(), mock.faults()).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(show(mock.pbx(), "registrations count"), "\n2 total.\n");
    tokio::time::sleep(Duration::from_secs(82)).await;
    assert_eq!(show(mock.pbx(), "registrations count"), "\n0 total.\n");
    mock.shutdown().await;
}
