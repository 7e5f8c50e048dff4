//! `show` as mod_commands.c writes it for the web (`show_function` with `format.html`):
//! the refreshable listings (calls, channels, registrations, bridged_calls) as an HTML
//! table when they come over `/webapi/` or `/api/`. Other forms answer as over ESL.

use std::fmt::Write as _;

use super::api::StreamFormat;
use super::State;

/// `switch_amp_encode`: the five characters HTML cares about.
fn amp_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

impl State {
    /// `show ARGS` for a stream in `format`: HTML for the refreshable listings without
    /// `as`, else the text ESL gets.
    pub(super) fn show_for(&self, args: &str, format: StreamFormat) -> String {
        if format != StreamFormat::Plain {
            if let Some(page) = self.show_html(args, format == StreamFormat::HttpApi) {
                return page;
            }
        }
        self.show(args)
    }

    fn show_html(&self, args: &str, own_content_type: bool) -> Option<String> {
        let argv: Vec<&str> = args.split_whitespace().collect();
        let command = argv.first()?.to_ascii_lowercase();
        let count_only = argv.get(1).is_some_and(|a| a.eq_ignore_ascii_case("count"));
        if argv.len() > usize::from(count_only) + 1 {
            return None;
        }
        let host = &self.config.switchname;
        let (rows, count): (Vec<Vec<(String, String)>>, usize) = match (command.as_str(), count_only) {
            ("calls", true) => (Vec::new(), self.calls.call_count()),
            ("channels", true) => (Vec::new(), self.calls.len()),
            ("registrations", true) => (Vec::new(), self.registry.len()),
            ("calls", false) => (self.call_rows(), 0),
            ("bridged_calls", false) => {
                let rows: Vec<_> = self
                    .call_rows()
                    .into_iter()
                    .filter(|row| row.iter().any(|(k, v)| k == "b_uuid" && !v.is_empty()))
                    .collect();
                (rows, 0)
            }
            ("channels", false) => {
                (self.calls.iter().map(|c| super::api::owned(c.channels_row(host))).collect(), 0)
            }
            ("registrations", false) => {
                (self.registry.iter().map(|r| super::api::owned(r.row(host))).collect(), 0)
            }
            _ => return None,
        };
        let mut out = String::new();
        if own_content_type {
            out.push_str("Content-Type: text/html\r\n\r\n");
        }
        let heading = if count_only { "(count)" } else { "" };
        let _ = write!(
            out,
            "<h1>FreeSWITCH {command} {heading}</h1>\n{}<br>\n",
            super::clock::local_date(self.now_us())
        );
        out.push_str("<table cellpadding=1 cellspacing=4 border=1>\n");
        // show_callback: the title row before the first row; every cell opens with <td>
        // and ends with "</td><td>" (so cells after the first open twice), the last with
        // "</td></tr>\n"; rows alternate eeeeee / ffffff.
        for (i, row) in rows.iter().enumerate() {
            let last = row.len().saturating_sub(1);
            if i == 0 {
                out.push_str("\n<tr>");
                for (x, (name, _)) in row.iter().enumerate() {
                    let end = if x == last { "</td></tr>\n" } else { "</td><td>" };
                    let _ = write!(out, "<td><b>{name}</b>{end}");
                }
            }
            let _ = write!(out, "<tr bgcolor={}>", if i % 2 == 0 { "eeeeee" } else { "ffffff" });
            for (x, (_, value)) in row.iter().enumerate() {
                let end = if x == last { "</td></tr>\n" } else { "</td><td>" };
                let _ = write!(out, "<td>{}{end}", amp_encode(value));
            }
        }
        out.push_str("</table>");
        let total = if count_only { count } else { rows.len() };
        let _ = write!(out, "<br>\n{total} total.<br>\n");
        Some(out)
    }
}
