//! `api` outputs of the mock against the FreeSWITCH 1.10 formats (research samples
//! api_status_*, show_*, sofia_status_*, version_*, uptime_*), byte for byte.

use std::time::Duration;

use eslmatrix_sim::fs::pbx::{ApiOutput, Party, Pbx, PbxConfig, Transport};
use tokio::time::advance;

fn text(pbx: &Pbx, line: &str) -> String {
    let (cmd, args) = line.split_once(' ').unwrap_or((line, ""));
    match pbx.api(cmd, args) {
        ApiOutput::Text(t) => t,
        ApiOutput::NotFound => panic!("{line}: command not found"),
    }
}

fn office() -> Pbx {
    let pbx = Pbx::new(PbxConfig::default());
    pbx.register("1000", Transport::Udp, "Yealink SIP-T46S 66.86.0.15").unwrap();
    pbx.register("1001", Transport::Wss, "SIP.js/0.21.2 (Chrome)").unwrap();
    pbx
}

#[tokio::test(start_paused = true)]
async fn status_is_byte_exact() {
    let pbx = office();
    let call = pbx.start_call("1001", "1000", None).unwrap();
    pbx.answer(&call).unwrap();
    advance(Duration::from_micros(((2 * 86_400 + 3 * 3600 + 4 * 60 + 5) * 1_000_000) + 678_901)).await;
    assert_eq!(
        text(&pbx, "status"),
        "UP 0 years, 2 days, 3 hours, 4 minutes, 5 seconds, 678 milliseconds, 901 microseconds\n\
         FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n\
         2 session(s) since startup\n\
         2 session(s) - peak 2, last 5min 2 \n\
         0 session(s) per Sec out of max 30, peak 2, last 5min 0 \n\
         1000 session(s) max\n\
         min idle cpu 0.00/99.53\n\
         Current Stack Size/Max 240K/8192K\n"
    );
    pbx.hangup(&call, Party::Callee).unwrap();
    let status = text(&pbx, "status");
    assert!(status.contains("\n0 session(s) - peak 2, last 5min 2 \n"), "{status}");
    assert!(status.ends_with("min idle cpu 0.00/99.63\nCurrent Stack Size/Max 240K/8192K\n"));
}

#[tokio::test(start_paused = true)]
async fn show_counts_have_a_leading_newline() {
    let pbx = Pbx::new(PbxConfig::default());
    for what in ["calls", "channels", "registrations"] {
        assert_eq!(text(&pbx, &format!("show {what} count")), "\n0 total.\n");
        assert_eq!(text(&pbx, &format!("show {what}")), "\n0 total.\n");
    }
    pbx.register("1000", Transport::Udp, "Yealink").unwrap();
    pbx.register("1001", Transport::Udp, "Yealink").unwrap();
    let call = pbx.start_call("1000", "1001", None).unwrap();
    // While it rings nothing is bridged: basic_calls lists each leg.
    assert_eq!(text(&pbx, "show calls count"), "\n2 total.\n");
    assert_eq!(text(&pbx, "show bridged_calls"), "\n0 total.\n");
    pbx.answer(&call).unwrap();
    assert_eq!(text(&pbx, "show calls count"), "\n1 total.\n");
    assert_eq!(text(&pbx, "show channels count"), "\n2 total.\n");
    assert_eq!(text(&pbx, "show registrations count"), "\n2 total.\n");
    assert_eq!(text(&pbx, "show calls count as json"), "{\"row_count\":1,\"rows\":[]}");
}

#[tokio::test(start_paused = true)]
async fn show_registrations_csv_and_json() {
    let pbx = Pbx::new(PbxConfig::default());
    assert_eq!(text(&pbx, "show registrations as json"), "{\"row_count\": 0}\n");
    assert_eq!(text(&pbx, "show calls as json"), "{\"row_count\": 0}\n");
    assert_eq!(text(&pbx, "show channels as json"), "{\"row_count\": 0}\n");
    assert_eq!(text(&pbx, "show registrations count as json"), "{\"row_count\":0,\"rows\":[]}");
    let reg = pbx.register("1000", Transport::Udp, "Yealink").unwrap();
    // Registered at start_wall (1 764 000 000) for 3600 s plus the 60 s late margin.
    assert_eq!(reg.expires_epoch, 1_764_003_660);
    let expected = format!(
        "reg_user,realm,token,url,expires,network_ip,network_port,network_proto,hostname,metadata\n\
         1000,192.0.2.10,{},sofia/internal/sip:1000@198.51.100.21:5060;transport=UDP,1764003660,198.51.100.21,5060,udp,pbx.example.org,\n\
         \n1 total.\n",
        reg.call_id
    );
    assert_eq!(text(&pbx, "show registrations"), expected);
    let json = text(&pbx, "show registrations as json");
    assert_eq!(
        json,
        format!(
            "{{\"row_count\":1,\"rows\":[{{\"reg_user\":\"1000\",\"realm\":\"192.0.2.10\",\"token\":\"{}\",\
             \"url\":\"sofia/internal/sip:1000@198.51.100.21:5060;transport=UDP\",\"expires\":\"1764003660\",\
             \"network_ip\":\"198.51.100.21\",\"network_port\":\"5060\",\"network_proto\":\"udp\",\
             \"hostname\":\"pbx.example.org\",\"metadata\":\"\"}}]}}",
            reg.call_id
        )
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["row_count"], 1);
}

#[tokio::test(start_paused = true)]
async fn show_calls_columns_follow_the_basic_calls_view() {
    let pbx = office();
    let call = pbx.start_call("1001", "1000", Some("Web Visitor")).unwrap();
    pbx.answer(&call).unwrap();
    let out = text(&pbx, "show calls");
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header,
        "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,presence_id,presence_data,\
         accountcode,callstate,callee_name,callee_num,callee_direction,call_uuid,hostname,sent_callee_name,\
         sent_callee_num,b_uuid,b_direction,b_created,b_created_epoch,b_name,b_state,b_cid_name,b_cid_num,\
         b_ip_addr,b_dest,b_presence_id,b_presence_data,b_accountcode,b_callstate,b_callee_name,b_callee_num,\
         b_callee_direction,b_sent_callee_name,b_sent_callee_num,call_created_epoch"
    );
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(row.len(), 41);
    assert_eq!(row[0], call.a);
    assert_eq!((row[1], row[2], row[3]), ("inbound", "2025-11-24 16:00:00", "1764000000"));
    assert_eq!((row[6], row[7], row[9], row[13]), ("Web Visitor", "1001", "1000", "ACTIVE"));
    assert_eq!(row[21], call.b.as_deref().unwrap());
    assert_eq!(row[22], "outbound");
    assert_eq!(row[40], "1764000000");
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("1 total."));
    let channels = text(&pbx, "show channels");
    assert!(channels.starts_with(
        "uuid,direction,created,created_epoch,name,state,cid_name,cid_num,ip_addr,dest,application,\
         application_data,dialplan,context,read_codec,read_rate,read_bit_rate,write_codec,write_rate,\
         write_bit_rate,secure,hostname,presence_id,presence_data,accountcode,callstate,callee_name,callee_num,\
         callee_direction,call_uuid,sent_callee_name,sent_callee_num,initial_cid_name,initial_cid_num,\
         initial_ip_addr,initial_dest,initial_dialplan,initial_context\n"
    ));
    assert!(
        channels.contains(",bridge,user/1000@192.0.2.10,XML,default,opus,48000,0,opus,48000,0,"),
        "{channels}"
    );
    assert!(channels.ends_with("\n\n2 total.\n"));
    assert!(text(&pbx, &format!("show channels like {}", &call.a[..8])).ends_with("\n\n1 total.\n"));
}

#[tokio::test(start_paused = true)]
async fn sofia_status_table_with_tabs() {
    let pbx = office();
    pbx.set_gateway("carrier", true).unwrap();
    pbx.start_call("1001", "1000", None).unwrap();
    advance(Duration::from_secs(10)).await;
    pbx.set_gateway("carrier", false).unwrap();
    advance(Duration::from_secs(12)).await;
    let rule = "=".repeat(97);
    assert_eq!(
        text(&pbx, "sofia status"),
        format!(
            "                     Name\t   Type\t                                      Data\tState\n\
             {rule}\n\
             \x20              192.0.2.10\t  alias\t                                  internal\tALIASED\n\
             \x20                external\tprofile\t             sip:mod_sofia@192.0.2.10:5080\tRUNNING (0)\n\
             \x20       external::carrier\tgateway\t         sip:eslmatrix@carrier.example.net\tFAILED (retry: 18s)\n\
             \x20                internal\tprofile\t             sip:mod_sofia@192.0.2.10:5060\tRUNNING (2)\n\
             {rule}\n\
             2 profiles 1 alias\n"
        )
    );
    pbx.set_gateway("carrier", true).unwrap();
    assert!(text(&pbx, "sofia status").contains("sip:eslmatrix@carrier.example.net\tREGED\n"));
}

#[tokio::test(start_paused = true)]
async fn sofia_status_profile_internal_layout() {
    let pbx = office();
    let out = text(&pbx, "sofia status profile internal");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("=".repeat(97).as_str()));
    let mut keys = Vec::new();
    for line in lines {
        let (key, value) = line.split_once('\t').expect("key<TAB>value");
        let expected_width = if key.trim_end() == "WS-BIND-URL" { 16 } else { 17 };
        assert_eq!(key.len(), expected_width, "{line:?}");
        keys.push((key.trim_end().to_string(), value.to_string()));
    }
    let get = |k: &str| keys.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("Name"), Some("internal"));
    assert_eq!(get("BIND-URL"), Some("sip:mod_sofia@192.0.2.10:5060;transport=udp,tcp"));
    assert!(out.contains("WS-BIND-URL     \tsip:mod_sofia@192.0.2.10:5066;transport=ws\n"));
    assert!(out.contains("WSS-BIND-URL     \tsips:mod_sofia@192.0.2.10:7443;transport=wss\n"));
    assert!(out.ends_with("REGISTRATIONS    \t2\n"));
    assert_eq!(keys.len(), 33);
    assert_eq!(keys.first().map(|(k, _)| k.as_str()), Some("Name"));
    // The alias answers too, and says what it aliases.
    let alias = text(&pbx, "sofia status profile 192.0.2.10");
    assert!(alias
        .contains("Name             \t192.0.2.10\nDomain Name      \tN/A\nAlias Of         \tinternal\n"));
    assert_eq!(text(&pbx, "sofia status profile nosuch"), "Invalid Profile!\n");
    assert_eq!(text(&pbx, "sofia status gateway nosuch"), "Invalid Gateway!\n");
    assert!(!text(&pbx, "sofia status profile external").contains("WS-BIND-URL"));
}

#[tokio::test(start_paused = true)]
async fn uptime_and_version() {
    let pbx = Pbx::new(PbxConfig::default());
    advance(Duration::from_millis(183_725_400)).await;
    assert_eq!(text(&pbx, "uptime"), "183725\n");
    assert_eq!(text(&pbx, "uptime ms"), "183725400\n");
    assert_eq!(text(&pbx, "uptime h"), "51\n");
    assert_eq!(
        text(&pbx, "uptime fortnights"),
        "-USAGE: [us|ms|s|m|h|d|microseconds|milliseconds|seconds|minutes|hours|days]\n"
    );
    assert_eq!(
        text(&pbx, "version"),
        "FreeSWITCH Version 1.10.12-release~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)\n"
    );
    assert_eq!(text(&pbx, "version short"), "1.10.12\n");
    pbx.reset();
    assert_eq!(text(&pbx, "uptime"), "0\n");
}

#[tokio::test(start_paused = true)]
async fn originate_places_a_bridged_call() {
    let pbx = office();
    let out = text(&pbx, "originate user/1000 &bridge(user/1001)");
    let uuid = out.strip_prefix("+OK ").and_then(|u| u.strip_suffix('\n')).expect("+OK <uuid>\\n");
    assert_eq!(uuid.len(), 36);
    assert_eq!(text(&pbx, "show calls count"), "\n1 total.\n");
    assert_eq!(text(&pbx, "show channels count"), "\n2 total.\n");
    let calls = text(&pbx, "show calls");
    assert!(calls.lines().nth(1).unwrap().starts_with(&format!("{uuid},outbound,")), "{calls}");
    assert_eq!(text(&pbx, "originate user/2000 &bridge(user/1001)"), "-ERR USER_NOT_REGISTERED\n");
    assert_eq!(text(&pbx, "originate user/1000"), format!(
        "-USAGE: {}\n",
        "<call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]"
    ));
    // A bridge to an unregistered user fails and the originated leg is hung up.
    let out = text(&pbx, "originate user/1001 &bridge(user/3000)");
    assert!(out.starts_with("+OK "));
    assert_eq!(text(&pbx, "show channels count"), "\n2 total.\n");
    // uuid_kill takes the bridged peer down with it.
    assert_eq!(text(&pbx, &format!("uuid_kill {uuid}")), "+OK\n");
    assert_eq!(text(&pbx, "show channels count"), "\n0 total.\n");
    assert_eq!(text(&pbx, &format!("uuid_kill {uuid}")), "-ERR No such channel!\n");
    assert_eq!(text(&pbx, "uuid_kill"), "-USAGE: <uuid> [cause]\n");
}

#[tokio::test(start_paused = true)]
async fn originate_through_a_gateway() {
    let pbx = office();
    assert_eq!(text(&pbx, "originate sofia/gateway/carrier/5550100 &park()"), "-ERR INVALID_GATEWAY\n");
    pbx.set_gateway("carrier", false).unwrap();
    assert_eq!(text(&pbx, "originate sofia/gateway/carrier/5550100 &park()"), "-ERR GATEWAY_DOWN\n");
    pbx.set_gateway("carrier", true).unwrap();
    let out = text(&pbx, "originate sofia/gateway/carrier/5550100 1000");
    assert!(out.starts_with("+OK "), "{out}");
    assert!(text(&pbx, "show calls").contains(",sofia/external/5550100@carrier.example.net,"));
    assert!(text(&pbx, "sofia status").contains("RUNNING (1)\n"), "one leg on each profile");
    let gw = text(&pbx, "sofia status gateway carrier");
    let rule = "=".repeat(97);
    assert!(gw.starts_with(&format!("{rule}\nName    \tcarrier\nProfile \texternal\n")), "{gw}");
    assert!(gw.contains("\nState   \tREGED\nStatus  \tUP\n"));
    assert!(gw.contains("\nCallsOUT\t1\nFailedCallsIN\t0\nFailedCallsOUT\t0\n"));
    assert!(gw.ends_with(&format!("{rule}\n")));
    assert_eq!(text(&pbx, "originate sofia/gateway/carrier &park()"), "-ERR INVALID_URL\n");
    assert_eq!(text(&pbx, "originate pigeon/1000 &park()"), "-ERR CHAN_NOT_IMPLEMENTED\n");
}

#[tokio::test(start_paused = true)]
async fn hupall_clears_everything() {
    let pbx = office();
    pbx.register("1002", Transport::Udp, "Yealink").unwrap();
    let c1 = pbx.start_call("1000", "1001", None).unwrap();
    pbx.answer(&c1).unwrap();
    pbx.start_call("1002", "1000", None).unwrap();
    assert_eq!(text(&pbx, "show channels count"), "\n4 total.\n");
    assert_eq!(text(&pbx, "hupall"), "+OK hangup all channels with cause MANAGER_REQUEST\n");
    assert_eq!(text(&pbx, "show channels count"), "\n0 total.\n");
    assert_eq!(text(&pbx, "hupall USER_BUSY"), "+OK hangup all channels with cause USER_BUSY\n");
    assert_eq!(
        text(&pbx, "hupall NORMAL_CLEARING dialed_user 1001"),
        "+OK hangup all channels matching [dialed_user]=[1001] with cause: NORMAL_CLEARING\n"
    );
}

#[test]
fn unknown_commands_are_not_found() {
    let pbx = Pbx::new(PbxConfig::default());
    assert_eq!(pbx.api("frobnicate", ""), ApiOutput::NotFound);
    assert_eq!(pbx.api("", ""), ApiOutput::NotFound);
    assert!(matches!(pbx.api("show", "nonsense"), ApiOutput::Text(t) if t.starts_with("-USAGE: codec|")));
    assert!(matches!(pbx.api("show", ""), ApiOutput::Text(t) if t.starts_with("-USAGE: ")));
}

// mod_sofia.c cmd_xml_status / show_reg_callback_xml: `sofia xmlstatus profile <name> reg`
// lists sip_registrations, user agent included, with contact and agent passed through
// switch_amp_encode (switch_utils.c) and sip-auth-user through switch_url_encode.
#[tokio::test(start_paused = true)]
async fn sofia_xmlstatus_profile_reg_lists_bindings_with_their_agent() {
    let pbx = office();
    let reg = pbx.register("1002", Transport::Udp, "Acme \"Desk\" <a&b> 'c'").unwrap();
    let out = text(&pbx, "sofia xmlstatus profile internal reg");
    let expected = format!(
        "    <registration>\n\
         \x20       <call-id>{call_id}</call-id>\n\
         \x20       <user>1002@{realm}</user>\n\
         \x20       <contact>&quot;1002&quot; &lt;sip:1002@{ip}:{port};transport=UDP&gt;</contact>\n\
         \x20       <agent>Acme &quot;Desk&quot; &lt;a&amp;b&gt; &apos;c&apos;</agent>\n\
         \x20       <status>Registered(UDP)(unknown) exp({exp}) expsecs({secs})</status>\n\
         \x20       <ping-status>Reachable</ping-status>\n\
         \x20       <ping-time>0.00</ping-time>\n\
         \x20       <host>{host}</host>\n\
         \x20       <network-ip>{ip}</network-ip>\n\
         \x20       <network-port>{port}</network-port>\n\
         \x20       <sip-auth-user>1002</sip-auth-user>\n\
         \x20       <sip-auth-realm>{realm}</sip-auth-realm>\n\
         \x20       <mwi-account>1002@{realm}</mwi-account>\n\
         \x20   </registration>\n",
        call_id = reg.call_id,
        realm = reg.realm,
        ip = reg.network_ip,
        port = reg.network_port,
        exp = utc_date(reg.expires_epoch),
        secs = reg.expires_epoch as i64 - (pbx.now_us() / 1_000_000) as i64,
        host = PbxConfig::default().switchname,
    );
    assert!(
        out.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<profile>\n  <registrations>\n    <registration>\n"),
        "{out}"
    );
    assert!(out.ends_with(&format!("{expected}  </registrations>\n</profile>\n")), "{out}");
    assert_eq!(out.matches("<registration>").count(), 3);
    assert!(out.contains("<agent>SIP.js/0.21.2 (Chrome)</agent>"));
    assert!(out.contains("<status>Registered(WSS-NAT)(unknown) exp("));
    assert_eq!(
        text(&pbx, "sofia xmlstatus profile external reg"),
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<profile>\n  <registrations>\n  </registrations>\n</profile>\n"
    );
    assert_eq!(text(&pbx, "sofia xmlstatus profile nosuch reg"), "Invalid Profile!\n");
    assert!(text(&pbx, "sofia xmlstatus profile internal").starts_with("-ERR"), "not emulated");
}

// mod_sofia.c cmd_status with `reg` / show_reg_callback: `sofia status profile <name> reg`
// prints no profile lines, one block per binding (contact and agent as stored, no
// encoding; `EXP(…) EXPSECS(…)` in capitals), then the count between two rules.
#[tokio::test(start_paused = true)]
async fn sofia_status_profile_reg_lists_bindings_as_text() {
    let pbx = office();
    let reg = pbx.register("1002", Transport::Udp, "Acme <a&b>").unwrap();
    let out = text(&pbx, "sofia status profile internal reg");
    let rule = "=".repeat(97);
    let block = format!(
        "Call-ID:    \t{call_id}\nUser:       \t1002@{realm}\nContact:    \t\"1002\" <sip:1002@{ip}:{port};transport=UDP>\n\
         Agent:      \tAcme <a&b>\nStatus:     \tRegistered(UDP)(unknown) EXP({exp}) EXPSECS({secs})\n\
         Ping-Status:\tReachable\nPing-Time:\t0.00\nHost:       \t{host}\nIP:         \t{ip}\nPort:       \t{port}\n\
         Auth-User:  \t1002\nAuth-Realm: \t{realm}\nMWI-Account:\t1002@{realm}\n\n",
        call_id = reg.call_id,
        realm = reg.realm,
        ip = reg.network_ip,
        port = reg.network_port,
        exp = utc_date(reg.expires_epoch),
        secs = reg.expires_epoch as i64 - (pbx.now_us() / 1_000_000) as i64,
        host = PbxConfig::default().switchname,
    );
    assert!(out.starts_with(&format!("\nRegistrations:\n{rule}\nCall-ID:    \t")), "{out}");
    assert!(out.ends_with(&format!("{block}Total items returned: 3\n{rule}\n")), "{out}");
    assert!(out.contains("Status:     \tRegistered(WSS-NAT)(unknown) EXP("), "{out}");
    assert_eq!(
        text(&pbx, "sofia status profile external reg"),
        format!("\nRegistrations:\n{rule}\nTotal items returned: 0\n{rule}\n")
    );
    assert_eq!(text(&pbx, "sofia status profile nosuch reg"), "Invalid Profile!\n");
}

/// `%Y-%m-%d %T` in UTC, the mock's local zone.
fn utc_date(epoch: u64) -> String {
    let days = epoch / 86_400;
    let rem = epoch % 86_400;
    // Howard Hinnant's civil_from_days, written out again so the test does not reuse the
    // code it checks.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}
