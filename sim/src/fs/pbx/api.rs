//! `api` commands over the model, byte-exact to mod_commands.c and mod_sofia.c output
//! (FreeSWITCH 1.10.12). Sub-commands the mock does not emulate answer with an explicit
//! `-ERR … not emulated by the eslmatrix mock` line rather than a made-up FreeSWITCH text.

use std::fmt::Write as _;

use super::causes::Cause;
use super::channel::{basic_calls_row, ChanState};
use super::dialstring::{separate_blank, DialString, MAX_ARGS};
use super::endpoints::Origin;
use super::{ApiOutput, State, Transport};

const SHOW_SYNTAX: &str = "codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status";
const ORIGINATE_SYNTAX: &str = "<call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]";
const UPTIME_SYNTAX: &str = "[us|ms|s|m|h|d|microseconds|milliseconds|seconds|minutes|hours|days]";
const KILL_SYNTAX: &str = "<uuid> [cause]";
const RULE: &str =
    "=================================================================================================";

fn not_emulated(command: &str, args: &str) -> String {
    format!("-ERR {} {}: not emulated by the eslmatrix mock\n", command, args.trim())
}

/// `cJSON_PrintUnformatted` string escaping, as the event encoder does it.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::fs::wire::json_string(s, &mut out);
    out
}

/// The three output forms of `show_function` for a row set.
enum ShowAs {
    Delim,
    Json,
    Xml,
}

/// `switch_xml_ampencode` for text and attribute values.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// mod_commands.c show_as_xml_callback rows serialized by switch_xml.c
/// switch_xml_toxml_r: two-space indent, every element with text (never `<x/>`), the
/// row count on `<result>`; no rows at all prints `<result row_count="0"/>`.
fn render_xml(rows: &[Vec<(String, String)>], count_only: bool) -> String {
    let n = rows.len();
    if count_only {
        return format!("<result row_count=\"{n}\"></result>\n");
    }
    if n == 0 {
        return "<result row_count=\"0\"/>\n".to_string();
    }
    let mut out = format!("<result row_count=\"{n}\">\n");
    for (i, row) in rows.iter().enumerate() {
        let _ = writeln!(out, "  <row row_id=\"{}\">", i + 1);
        for (k, v) in row {
            let _ = writeln!(out, "    <{k}>{}</{k}>", xml_escape(v));
        }
        out.push_str("  </row>\n");
    }
    out.push_str("</result>\n");
    out
}

/// `show X count`: the one SQL row of a count query.
fn render_count(n: usize, as_: ShowAs) -> String {
    match as_ {
        ShowAs::Delim => format!("\n{n} total.\n"),
        // The count query always yields one SQL row, so the array exists (empty).
        ShowAs::Json => format!("{{\"row_count\":{n},\"rows\":[]}}"),
        ShowAs::Xml => format!("<result row_count=\"{n}\"></result>\n"),
    }
}

fn render_show(rows: &[Vec<(String, String)>], count_only: bool, as_: ShowAs) -> String {
    let n = rows.len();
    if count_only {
        return render_count(n, as_);
    }
    match as_ {
        ShowAs::Delim => {
            let mut out = String::new();
            if let Some(first) = rows.first() {
                let names: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
                out.push_str(&names.join(","));
                out.push('\n');
            }
            for row in rows {
                let values: Vec<&str> = row.iter().map(|(_, v)| v.as_str()).collect();
                out.push_str(&values.join(","));
                out.push('\n');
            }
            let _ = write!(out, "\n{n} total.\n");
            out
        }
        ShowAs::Json if n == 0 => "{\"row_count\": 0}\n".to_string(),
        ShowAs::Xml => render_xml(rows, count_only),
        ShowAs::Json => {
            let objects: Vec<String> = rows
                .iter()
                .map(|row| {
                    let fields: Vec<String> =
                        row.iter().map(|(k, v)| format!("{}:{}", json_str(k), json_str(v))).collect();
                    format!("{{{}}}", fields.join(","))
                })
                .collect();
            format!("{{\"row_count\":{n},\"rows\":[{}]}}", objects.join(","))
        }
    }
}

/// How a command's output stream reached it (mod_commands.c `set_format`: the
/// `HTTP-URI` and `HTTP-API` headers mod_xml_rpc puts on the stream's event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFormat {
    /// ESL, the console, `/txtapi/` and `/xmlapi/`.
    Plain,
    /// `/webapi/`: HTML.
    Web,
    /// `/api/`: HTML from the commands that know the web, with their own Content-Type.
    HttpApi,
}

/// The delim form's header line (from the first row) and rows; the number of rows.
fn write_delim(rows: impl Iterator<Item = Vec<(&'static str, String)>>, out: &mut String) -> usize {
    let mut n = 0;
    for row in rows {
        if n == 0 {
            for (i, (k, _)) in row.iter().enumerate() {
                out.push_str(if i == 0 { "" } else { "," });
                out.push_str(k);
            }
            out.push('\n');
        }
        for (i, (_, v)) in row.iter().enumerate() {
            out.push_str(if i == 0 { "" } else { "," });
            out.push_str(v);
        }
        out.push('\n');
        n += 1;
    }
    n
}

pub(super) fn owned(row: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    row.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl State {
    pub(super) fn api(&mut self, command: &str, args: &str) -> ApiOutput {
        self.api_as(command, args, StreamFormat::Plain)
    }

    /// [`State::api`] for a stream that came over HTTP: the commands that call
    /// mod_commands.c `set_format` write HTML for it.
    pub(super) fn api_as(&mut self, command: &str, args: &str, format: StreamFormat) -> ApiOutput {
        let args = args.trim();
        let text = match command {
            "status" => self.status(format),
            "show" => self.show_for(args, format),
            "sofia" => self.sofia(args),
            "uptime" => self.uptime(args),
            "version" => self.version(args),
            "originate" => self.originate(args),
            "uuid_kill" => self.uuid_kill(args),
            "hupall" => self.hupall(args),
            _ => match self.channel_api(command, args) {
                Some(text) => text,
                None => return ApiOutput::NotFound,
            },
        };
        ApiOutput::Text(text)
    }

    /// `switch_version_full_human()`: `1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit`.
    fn version_human(&self) -> String {
        let v = &self.config.version;
        let release = v.split(['~', '+']).next().unwrap_or(v);
        format!("{release} {}", self.config.revision)
    }

    /// mod_commands.c `status_function`; for the web (`/webapi/`, and `/api/` which also
    /// announces its own `Content-Type: text/html`) a heading, the date and `<br>` line ends.
    fn status(&self, format: StreamFormat) -> String {
        let up = self.uptime_us();
        let c = self.counters.snapshot(up);
        let mut out = String::new();
        let nl = if format == StreamFormat::Plain { "\n" } else { "<br>\n" };
        if format == StreamFormat::HttpApi {
            out.push_str("Content-Type: text/html\r\n\r\n");
        }
        if format != StreamFormat::Plain {
            let _ =
                write!(out, "<h1>FreeSWITCH Status</h1>\n{}{nl}", super::clock::local_date(self.now_us()));
        }
        let _ = write!(out, "UP {}{nl}", super::clock::uptime_text(up));
        let _ = write!(out, "FreeSWITCH (Version {}) is ready{nl}", self.version_human());
        let _ = write!(out, "{} session(s) since startup{nl}", c.since_startup);
        let _ = write!(out, "{} session(s) - peak {}, last 5min {} {nl}", c.current, c.peak, c.peak_five_min);
        let _ = write!(
            out,
            "{} session(s) per Sec out of max {}, peak {}, last 5min {} {nl}",
            c.sps_last, self.config.sessions_per_sec_cap, c.sps_peak, c.sps_five_min
        );
        let _ = write!(out, "{} session(s) max{nl}", self.config.max_sessions);
        let _ = write!(out, "min idle cpu 0.00/{:.2}{nl}", self.idle_cpu());
        out.push_str("Current Stack Size/Max 240K/8192K\n");
        out
    }

    fn uptime(&self, args: &str) -> String {
        let scale: u64 = match args {
            "" | "seconds" | "s" => 1_000_000,
            "microseconds" | "us" => 1,
            "milliseconds" | "ms" => 1000,
            "minutes" | "m" => 60_000_000,
            "hours" | "h" => 3_600_000_000,
            "days" | "d" => 86_400_000_000,
            _ => return format!("-USAGE: {UPTIME_SYNTAX}\n"),
        };
        format!("{}\n", self.uptime_us() / scale)
    }

    fn version(&self, args: &str) -> String {
        if args.is_empty() {
            return format!("FreeSWITCH Version {} ({})\n", self.config.version, self.config.revision);
        }
        if args.split_whitespace().next().is_some_and(|a| a.to_ascii_lowercase().contains("short")) {
            let short: String =
                self.config.version.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            return format!("{short}\n");
        }
        format!("FreeSWITCH Version {} ({})\n", self.config.version, self.version_human())
    }

    /// Rows of the `basic_calls` view: each bridged pair once (A leg first), each
    /// unbridged leg on its own; unbridged rows (NULL `call_created_epoch`) sort first.
    pub(super) fn call_rows(&self) -> Vec<Vec<(String, String)>> {
        let host = &self.config.switchname;
        let mut rows = Vec::new();
        for ch in self.calls.iter() {
            if self.calls.bridge_of(&ch.uuid).is_some() {
                continue;
            }
            rows.push(basic_calls_row(ch, None, None, host));
        }
        for b in self.calls.bridges() {
            if let (Some(a), Some(bb)) = (self.chan(&b.caller), self.chan(&b.callee)) {
                rows.push(basic_calls_row(a, Some(bb), Some(b.created_us / 1_000_000), host));
            }
        }
        rows
    }

    pub(super) fn show(&self, args: &str) -> String {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let Some(&command) = argv.first() else { return format!("-USAGE: {SHOW_SYNTAX}\n") };
        let arg = |i: usize| argv.get(i).copied();
        let mut as_ = if arg(1).is_some_and(|a| a.eq_ignore_ascii_case("as")) { arg(2) } else { None };
        let mut count_only = false;
        let host = &self.config.switchname;
        let mut counted = None;
        let rows: Vec<Vec<(String, String)>> = match command.to_ascii_lowercase().as_str() {
            "calls" | "channels" | "registrations" => {
                if arg(1).is_some_and(|a| a.eq_ignore_ascii_case("count")) {
                    count_only = true;
                    if arg(2).is_some_and(|a| a.eq_ignore_ascii_case("as")) {
                        as_ = arg(3);
                    }
                }
                match command.to_ascii_lowercase().as_str() {
                    // Counted from the tables' indexes, without building a row.
                    "calls" if count_only => {
                        counted = Some(self.calls.call_count());
                        Vec::new()
                    }
                    "channels" if count_only => {
                        counted = Some(self.calls.len());
                        Vec::new()
                    }
                    "calls" => self.call_rows(),
                    "channels" if arg(1).is_some_and(|a| a.eq_ignore_ascii_case("like")) => {
                        if arg(3).is_some_and(|a| a.eq_ignore_ascii_case("as")) {
                            as_ = arg(4);
                        }
                        let needle = arg(2).unwrap_or("").replace('%', "");
                        self.calls
                            .iter()
                            .map(|c| c.channels_row(host))
                            .filter(|row| {
                                row.iter().any(|(k, v)| {
                                    matches!(*k, "uuid" | "name" | "cid_name" | "cid_num")
                                        && v.contains(&needle)
                                })
                            })
                            .map(owned)
                            .collect()
                    }
                    // Written row by row, without holding 10 000 rows first.
                    "channels"
                        if as_.is_none_or(|a| {
                            a.eq_ignore_ascii_case("delim") || a.eq_ignore_ascii_case("csv")
                        }) =>
                    {
                        let mut out = String::new();
                        let n = write_delim(self.calls.iter().map(|c| c.channels_row(host)), &mut out);
                        let _ = write!(out, "\n{n} total.\n");
                        return out;
                    }
                    "channels" => self.calls.iter().map(|c| owned(c.channels_row(host))).collect(),
                    // Counted or listed straight from the registry's index, without
                    // building 100 000 rows first.
                    _ if count_only => {
                        counted = Some(self.registry.len());
                        Vec::new()
                    }
                    _ if as_.is_none() => {
                        let mut out = String::new();
                        self.registry.write_delim(host, &mut out);
                        let _ = write!(out, "\n{} total.\n", self.registry.len());
                        return out;
                    }
                    _ => self.registry.iter().map(|r| owned(r.row(host))).collect(),
                }
            }
            "bridged_calls" => self
                .call_rows()
                .into_iter()
                .filter(|row| row.iter().any(|(k, v)| k == "b_uuid" && !v.is_empty()))
                .collect(),
            "codec"
            | "endpoint"
            | "application"
            | "api"
            | "dialplan"
            | "file"
            | "timer"
            | "detailed_calls"
            | "detailed_bridged_calls"
            | "aliases"
            | "complete"
            | "chat"
            | "management"
            | "modules"
            | "module"
            | "nat_map"
            | "say"
            | "interfaces"
            | "interface_types"
            | "tasks"
            | "limits"
            | "status"
            | "help" => return not_emulated("show", args),
            _ => return format!("-USAGE: {SHOW_SYNTAX}\n"),
        };
        let as_ = match as_.map(str::to_ascii_lowercase).as_deref() {
            None | Some("delim" | "csv") => ShowAs::Delim,
            Some("json") => ShowAs::Json,
            Some("xml") => ShowAs::Xml,
            Some(_) => return not_emulated("show", args),
        };
        match counted {
            Some(n) => render_count(n, as_),
            None => render_show(&rows, count_only, as_),
        }
    }

    fn sofia(&self, args: &str) -> String {
        let argv: Vec<&str> = args.split_whitespace().collect();
        if argv.first() == Some(&"xmlstatus") {
            return self.sofia_xmlstatus(&argv[1..], args);
        }
        if argv.first() != Some(&"status") {
            return not_emulated("sofia", args);
        }
        match argv.get(1..).unwrap_or_default() {
            [] => self.sofia_status(),
            ["profile", name, reg] if reg.eq_ignore_ascii_case("reg") => self.sofia_profile_reg(name),
            ["profile", name, rest @ ..] => {
                if !rest.is_empty() {
                    return not_emulated("sofia", args);
                }
                self.sofia_profile(name)
            }
            ["gateway", name] => self.sofia_gateway(name),
            [_] => not_emulated("sofia", args),
            _ => "Invalid Syntax!\n".to_string(),
        }
    }

    /// `sofia status profile <name> reg` (mod_sofia.c `cmd_status`: no profile lines,
    /// every binding as `show_reg_callback` writes it, then the count).
    fn sofia_profile_reg(&self, name: &str) -> String {
        let ip = self.sip_ip();
        let internal = name == "internal" || name == ip;
        if !internal && name != "external" {
            return "Invalid Profile!\n".to_string();
        }
        let mut out = format!("\nRegistrations:\n{RULE}\n");
        let rows = if internal {
            self.registry.write_text_reg(&self.config.switchname, self.now_us() / 1_000_000, &mut out)
        } else {
            0
        };
        let _ = write!(out, "Total items returned: {rows}\n{RULE}\n");
        out
    }

    /// `sofia xmlstatus profile <name> reg` only (mod_sofia.c `cmd_xml_status`); every
    /// other xmlstatus form is not emulated.
    fn sofia_xmlstatus(&self, argv: &[&str], args: &str) -> String {
        match argv {
            ["profile", name, reg] if reg.eq_ignore_ascii_case("reg") => {
                let ip = self.sip_ip();
                let internal = *name == "internal" || *name == ip;
                if !internal && *name != "external" {
                    return "Invalid Profile!\n".to_string();
                }
                let mut out = String::new();
                if internal {
                    self.registry.write_xml_reg(&self.config.switchname, self.now_us() / 1_000_000, &mut out);
                } else {
                    out.push_str(
                        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<profile>\n  <registrations>\n  </registrations>\n</profile>\n",
                    );
                }
                out
            }
            _ => not_emulated("sofia", args),
        }
    }

    fn inuse(&self, profile: &str) -> usize {
        self.calls.iter().filter(|c| c.sofia_profile == profile).count()
    }

    fn sofia_status(&self) -> String {
        /// `"%25s\t%s\t  %40s\t%s"`, the row format of `cmd_status`.
        fn row(out: &mut String, name: &str, kind: &str, data: &str, state: &str) {
            let _ = writeln!(out, "{name:>25}\t{kind}\t  {data:>40}\t{state}");
        }
        let ip = self.sip_ip();
        let mut out = String::new();
        row(&mut out, "Name", "   Type", "Data", "State");
        let _ = writeln!(out, "{RULE}");
        row(&mut out, &ip, "  alias", "internal", "ALIASED");
        let running = |profile: &str| format!("RUNNING ({})", self.inuse(profile));
        row(&mut out, "external", "profile", &format!("sip:mod_sofia@{ip}:5080"), &running("external"));
        let now = self.now_us();
        for g in self.gateways.iter() {
            let state = if g.up {
                "REGED".to_string()
            } else {
                format!("FAILED (retry: {}s)", retry_secs(now, g.failed_at_us))
            };
            row(&mut out, &format!("external::{}", g.name), "gateway", &g.register_to, &state);
        }
        row(&mut out, "internal", "profile", &self.internal_url(), &running("internal"));
        let _ = writeln!(out, "{RULE}");
        out.push_str("2 profiles 1 alias\n");
        out
    }

    fn sofia_profile(&self, name: &str) -> String {
        let ip = self.sip_ip();
        let (profile, port) = match name {
            "internal" => ("internal", 5060),
            "external" => ("external", 5080),
            n if n == ip => ("internal", 5060),
            _ => return "Invalid Profile!\n".to_string(),
        };
        let internal = profile == "internal";
        let mut lines: Vec<(&str, String)> = vec![("Name", name.to_string()), ("Domain Name", "N/A".into())];
        if name != profile {
            lines.push(("Alias Of", profile.to_string()));
        }
        let stats = self.stats;
        let (calls_in, failed_in, calls_out, failed_out, regs) = if internal {
            (stats.calls_in, stats.failed_in, stats.calls_out, stats.failed_out, self.registry.len())
        } else {
            (0, 0, 0, 0, 0)
        };
        lines.extend([
            ("Auto-NAT", "false".to_string()),
            ("DBName", format!("sofia_reg_{profile}")),
            ("Pres Hosts", if internal { format!("{ip},{ip}") } else { String::new() }),
            ("Dialplan", "XML".into()),
            ("Context", "public".into()),
            ("Challenge Realm", "auto_from".into()),
        ]);
        // config_sofia_profile_urls (sofia.c): the URLs of what is really bound.
        if let Some(open) = self.open_bindings().filter(|_| internal) {
            lines.push(("RTP-IP", open.ip.clone()));
            lines.push(("SIP-IP", open.ip.clone()));
            if let (Some(url), Some(bind)) = (open.url, open.bind_url) {
                lines.push(("URL", url));
                lines.push(("BIND-URL", bind));
            }
            lines.extend(open.ws.map(|u| ("WS-BIND-URL", u)));
            lines.extend(open.wss.map(|u| ("WSS-BIND-URL", u)));
        } else {
            lines.push(("RTP-IP", ip.clone()));
            lines.push(("SIP-IP", ip.clone()));
            lines.push(("URL", format!("sip:mod_sofia@{ip}:{port}")));
            lines.push(("BIND-URL", format!("sip:mod_sofia@{ip}:{port};transport=udp,tcp")));
            if internal {
                lines.push(("WS-BIND-URL", format!("sip:mod_sofia@{ip}:5066;transport=ws")));
                lines.push(("WSS-BIND-URL", format!("sips:mod_sofia@{ip}:7443;transport=wss")));
            }
        }
        lines.extend([
            ("HOLD-MUSIC", "local_stream://moh".to_string()),
            ("OUTBOUND-PROXY", "N/A".into()),
            ("CODECS IN", "OPUS,G722,PCMU,PCMA,H264,VP8".into()),
            ("CODECS OUT", "OPUS,G722,PCMU,PCMA,H264,VP8".into()),
            ("TEL-EVENT", "101".into()),
            ("DTMF-MODE", "rfc2833".into()),
            ("CNG", "13".into()),
            ("SESSION-TO", "0".into()),
            ("MAX-DIALOG", "0".into()),
            ("MAX-RECV-RPS", "1000".into()),
            ("NOMEDIA", "false".into()),
            ("LATE-NEG", "true".into()),
            ("PROXY-MEDIA", "false".into()),
            ("AGGRESSIVENAT", "false".into()),
            ("CALLS-IN", calls_in.to_string()),
            ("FAILED-CALLS-IN", failed_in.to_string()),
            ("CALLS-OUT", calls_out.to_string()),
            ("FAILED-CALLS-OUT", failed_out.to_string()),
            ("REGISTRATIONS", regs.to_string()),
        ]);
        let mut out = format!("{RULE}\n");
        for (key, value) in lines {
            // mod_sofia pads every key to 17 columns, except WS-BIND-URL (16).
            let width = if key == "WS-BIND-URL" { 16 } else { 17 };
            let _ = writeln!(out, "{key:<width$}\t{value}");
        }
        out
    }

    /// The internal profile's URLs from the SIP listeners really bound (`mock-fs --sip`),
    /// as `config_sofia_profile_urls` (sofia.c) writes them; `None` when none is bound
    /// (the mock then shows the vanilla profile's ports, as its scenarios assume).
    /// The internal profile's `url` (sofia.c `config_sofia_profile_urls`): the first row
    /// of `sofia status`, and `login` on the MESSAGE events of chat.
    pub(super) fn internal_url(&self) -> String {
        match self.open_bindings() {
            Some(b) => b.url.unwrap_or_default(),
            None => format!("sip:mod_sofia@{}:5060", self.sip_ip()),
        }
    }

    fn open_bindings(&self) -> Option<OpenBindings> {
        use std::net::SocketAddr;
        if self.sip_bindings.is_empty() {
            return None;
        }
        let host = |a: &SocketAddr| {
            let ip = if a.ip().is_unspecified() { self.sip_ip() } else { a.ip().to_string() };
            if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip
            }
        };
        let first = |t: Transport| self.sip_bindings.iter().find(|(k, _)| *k == t).map(|(_, a)| *a);
        let (udp, tcp) = (first(Transport::Udp), first(Transport::Tcp));
        let main = udp.or(tcp);
        let ip =
            main.or(first(Transport::Ws)).or(first(Transport::Wss)).map(|a| host(&a)).unwrap_or_default();
        let url = main.map(|a| format!("sip:mod_sofia@{}:{}", host(&a), a.port()));
        let transports: Vec<&str> =
            [(udp, "udp"), (tcp, "tcp")].iter().filter(|(a, _)| a.is_some()).map(|(_, t)| *t).collect();
        let bind_url = url.as_ref().map(|u| format!("{u};transport={}", transports.join(",")));
        let ws =
            first(Transport::Ws).map(|a| format!("sip:mod_sofia@{}:{};transport=ws", host(&a), a.port()));
        let wss =
            first(Transport::Wss).map(|a| format!("sips:mod_sofia@{}:{};transport=wss", host(&a), a.port()));
        Some(OpenBindings { ip: ip.trim_matches(['[', ']']).to_string(), url, bind_url, ws, wss })
    }

    fn sofia_gateway(&self, name: &str) -> String {
        let Some(g) = self.gateways.find(name) else {
            return "Invalid Gateway!\n".to_string();
        };
        let host = g.register_to.rsplit('@').next().unwrap_or_default();
        let (ob, ob_failed) = self.gateway_calls(name);
        let lines: [(&str, String); 25] = [
            ("Name    ", g.name.clone()),
            ("Profile ", "external".into()),
            ("Scheme  ", "Digest".into()),
            ("Realm   ", host.to_string()),
            ("Username", "eslmatrix".into()),
            ("Password", "yes".into()),
            ("From    ", format!("<sip:eslmatrix@{host}>")),
            ("Contact ", format!("<sip:gw+{}@{}:5080;transport=udp;gw={}>", g.name, self.sip_ip(), g.name)),
            ("Exten   ", "eslmatrix".into()),
            ("To      ", g.register_to.clone()),
            ("Proxy   ", format!("sip:{host}")),
            ("Context ", "public".into()),
            ("Expires ", "3600".into()),
            ("Freq    ", "3600".into()),
            ("Ping    ", "0".into()),
            ("PingFreq", "0".into()),
            ("PingTime", "0.00".into()),
            ("PingState", "0/0/0".into()),
            ("State   ", if g.up { "REGED" } else { "FAILED" }.into()),
            ("Status  ", if g.up { "UP" } else { "DOWN" }.into()),
            ("Uptime  ", "0s".into()),
            ("CallsIN ", "0".into()),
            ("CallsOUT", ob.to_string()),
            ("FailedCallsIN", "0".into()),
            ("FailedCallsOUT", ob_failed.to_string()),
        ];
        let mut out = format!("{RULE}\n");
        for (key, value) in lines {
            let _ = writeln!(out, "{key}\t{value}");
        }
        let _ = writeln!(out, "{RULE}");
        out
    }

    /// Outbound calls through a gateway (live legs; the mock keeps no gateway history).
    fn gateway_calls(&self, name: &str) -> (usize, usize) {
        let legs = self.calls.iter().filter(|c| c.gateway.as_deref() == Some(name));
        (legs.count(), 0)
    }

    fn uuid_kill(&mut self, args: &str) -> String {
        let mut parts = args.splitn(2, ' ');
        let uuid = parts.next().unwrap_or("");
        if uuid.is_empty() {
            return format!("-USAGE: {KILL_SYNTAX}\n");
        }
        let cause = parts
            .next()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .and_then(Cause::parse)
            .unwrap_or_else(|| Cause::named("NORMAL_CLEARING"));
        // uuid_kill_function locates the session first: a down channel is no channel.
        if self.locate(uuid).is_some() && self.kill(uuid, &cause) {
            "+OK\n".to_string()
        } else {
            "-ERR No such channel!\n".to_string()
        }
    }

    fn hupall(&mut self, args: &str) -> String {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let cause = argv
            .first()
            .and_then(|c| Cause::parse(c))
            .filter(|c| c.number != 0)
            .unwrap_or_else(|| Cause::named("MANAGER_REQUEST"));
        let pairs: Vec<(&str, &str)> =
            argv.get(1..).unwrap_or_default().chunks_exact(2).map(|p| (p[0], p[1])).collect();
        let targets: Vec<String> = self
            .calls
            .iter()
            .filter(|c| pairs.iter().all(|(k, v)| c.var(k) == Some(*v)))
            .map(|c| c.uuid.clone())
            .collect();
        for uuid in targets {
            if self.chan(&uuid).is_some_and(|c| !c.hungup) {
                self.kill(&uuid, &cause);
            }
        }
        match pairs.as_slice() {
            [] => format!("+OK hangup all channels with cause {}\n", cause.name),
            [(k, v)] => format!("+OK hangup all channels matching [{k}]=[{v}] with cause: {}\n", cause.name),
            [(k, v), ..] => {
                format!("+OK hangup all channels matching [{k}]=[{v}]... with cause: {}\n", cause.name)
            }
        }
    }

    /// `originate_function` (mod_commands.c): arguments split as `switch_separate_string`
    /// does (quotes group), `undef` for an empty field, then `switch_ivr_originate` over
    /// the dial string; `&app(args)` runs inline, an extension goes through the dialplan
    /// (`switch_ivr_session_transfer`). The mock's far ends act at once, so everything up
    /// to the first blocking application has happened when `+OK <uuid>` is returned.
    fn originate(&mut self, args: &str) -> String {
        if args.is_empty() {
            return format!("-USAGE: {ORIGINATE_SYNTAX}\n");
        }
        let argv = separate_blank(args, MAX_ARGS);
        if argv.len() < 2 || argv.len() > 7 {
            return format!("-USAGE: {ORIGINATE_SYNTAX}\n");
        }
        let field = |i: usize| argv.get(i).map(String::as_str).filter(|a| !a.eq_ignore_ascii_case("undef"));
        let (Some(dial), Some(exten)) = (field(0), field(1)) else {
            return format!("-USAGE: {ORIGINATE_SYNTAX}\n");
        };
        let context = field(3).unwrap_or("default").to_string();
        let origin = Origin {
            cid_name: field(4).unwrap_or("").to_string(),
            cid_num: field(5).unwrap_or("0000000000").to_string(),
            originator: None,
        };
        let Ok(dial) = DialString::parse(dial) else {
            return "-ERR INVALID_NUMBER_FORMAT\n".to_string();
        };
        let leg = match self.dial(&dial, &origin) {
            Ok(leg) => leg,
            Err(cause) => return format!("-ERR {}\n", cause.name),
        };
        match exten.strip_prefix('&').filter(|a| !a.is_empty()) {
            Some(app) => {
                let app = app.split(')').next().unwrap_or(app);
                let (name, data) = app.split_once('(').unwrap_or((app, ""));
                self.set_state(&leg, ChanState::Execute);
                self.run_actions(&leg, vec![(name.to_string(), data.to_string())]);
            }
            None => self.transfer(&leg, exten, Some(&context)),
        }
        format!("+OK {leg}\n")
    }
}

/// Seconds to the next registration retry of a failed gateway (FreeSWITCH retries every 30 s).
fn retry_secs(now_us: u64, failed_at_us: u64) -> u64 {
    let elapsed = now_us.saturating_sub(failed_at_us) / 1_000_000;
    30 - elapsed % 30
}

/// The internal profile's URLs as its open listeners make them.
struct OpenBindings {
    ip: String,
    url: Option<String>,
    bind_url: Option<String>,
    ws: Option<String>,
    wss: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_like_cjson() {
        assert_eq!(json_str("a\"b\\c\n\u{1}/é"), "\"a\\\"b\\\\c\\n\\u0001/é\"");
    }

    #[test]
    fn show_forms() {
        let rows = vec![vec![("a".to_string(), "1".to_string()), ("b".to_string(), String::new())]];
        assert_eq!(render_show(&rows, false, ShowAs::Delim), "a,b\n1,\n\n1 total.\n");
        assert_eq!(render_show(&rows, true, ShowAs::Delim), "\n1 total.\n");
        assert_eq!(render_show(&[], false, ShowAs::Delim), "\n0 total.\n");
        assert_eq!(
            render_show(&rows, false, ShowAs::Json),
            "{\"row_count\":1,\"rows\":[{\"a\":\"1\",\"b\":\"\"}]}"
        );
        assert_eq!(render_show(&[], false, ShowAs::Json), "{\"row_count\": 0}\n");
        assert_eq!(render_show(&[], true, ShowAs::Json), "{\"row_count\":0,\"rows\":[]}");
        // switch_xml_toxml_r's layout for show_as_xml_callback's tree.
        let xml_rows = vec![vec![("a".to_string(), "1&2".to_string()), ("b".to_string(), String::new())]];
        assert_eq!(
            render_show(&xml_rows, false, ShowAs::Xml),
            "<result row_count=\"1\">\n  <row row_id=\"1\">\n    <a>1&amp;2</a>\n    <b></b>\n  </row>\n</result>\n"
        );
        assert_eq!(render_show(&[], false, ShowAs::Xml), "<result row_count=\"0\"/>\n");
    }
}
