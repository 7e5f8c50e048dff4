//! Hangup causes and their SIP mapping, loaded from the tables extracted from the
//! FreeSWITCH source (fixtures/sip/*.csv, embedded at build time) so the mock and the
//! research notes cannot drift apart.

use std::sync::OnceLock;

const ENUM_CSV: &str = include_str!("../../../../fixtures/sip/hangup_cause_enum.csv");
const TO_SIP_CSV: &str = include_str!("../../../../fixtures/sip/hangup_cause_to_sip_status.csv");
const FROM_SIP_CSV: &str = include_str!("../../../../fixtures/sip/sip_status_to_hangup_cause.csv");

/// A `switch_call_cause_t`: the name as `Hangup-Cause` prints it and its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The name `Hangup-Cause` prints (`NORMAL_CLEARING`).
    pub name: String,
    /// The `switch_call_cause_t` value (16); above 127 for FreeSWITCH's own causes.
    pub number: u32,
}

impl Cause {
    /// `variable_hangup_cause_q850`: FreeSWITCH-internal causes (above 127) report 16.
    pub fn q850(&self) -> u32 {
        if self.number <= 127 {
            self.number
        } else {
            16
        }
    }

    /// The SIP status FreeSWITCH sends when it ends a leg for this cause.
    pub fn sip_status_sent(&self) -> u16 {
        let t = tables();
        t.to_sip.iter().find(|(n, _)| *n == self.name).map_or(t.default_sent, |(_, s)| *s)
    }

    /// The cause FreeSWITCH assigns a leg that received this SIP final status.
    pub fn from_sip(status: u16) -> Cause {
        let t = tables();
        t.from_sip
            .iter()
            .find(|(s, _)| *s == status)
            .map_or_else(|| t.default_received.clone(), |(_, c)| c.clone())
    }

    /// `switch_channel_str2cause`: a cause name (any case) or its number.
    pub fn parse(text: &str) -> Option<Cause> {
        let text = text.trim();
        let t = tables();
        if let Ok(n) = text.parse::<u32>() {
            return t.all.iter().find(|c| c.number == n).cloned();
        }
        t.all.iter().find(|c| c.name.eq_ignore_ascii_case(text)).cloned()
    }

    /// A cause by its exact name; the names used by the model are all in the enum table.
    pub(crate) fn named(name: &str) -> Cause {
        Cause::parse(name).unwrap_or(Cause { name: name.to_string(), number: 0 })
    }
}

/// The three tables, parsed once.
#[derive(Debug)]
pub(crate) struct Tables {
    all: Vec<Cause>,
    to_sip: Vec<(String, u16)>,
    default_sent: u16,
    from_sip: Vec<(u16, Cause)>,
    default_received: Cause,
}

/// The embedded tables. They are part of the source tree, so a parse failure is a build
/// defect caught by this module's tests, not a runtime condition.
pub(crate) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| parse_tables().unwrap_or_else(|e| panic!("embedded SIP cause tables: {e}")))
}

/// Data rows of one CSV: the `# source:` line and the column header skipped.
fn rows(csv: &str) -> impl Iterator<Item = Vec<&str>> {
    csv.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(str::trim).collect())
}

fn parse_tables() -> Result<Tables, String> {
    let mut all = Vec::new();
    for r in rows(ENUM_CSV) {
        let [name, number] = r[..] else { return Err(format!("enum row {r:?}")) };
        let number = number.parse().map_err(|_| format!("enum number {number:?}"))?;
        all.push(Cause { name: name.to_string(), number });
    }
    let mut to_sip = Vec::new();
    let mut default_sent = None;
    for r in rows(TO_SIP_CSV) {
        let [name, _, status] = r[..] else { return Err(format!("to-sip row {r:?}")) };
        let status: u16 = status.parse().map_err(|_| format!("to-sip status {status:?}"))?;
        if name == "default" {
            default_sent = Some(status);
        } else {
            to_sip.push((name.to_string(), status));
        }
    }
    let mut from_sip = Vec::new();
    let mut default_received = None;
    for r in rows(FROM_SIP_CSV) {
        let [status, name, number, _] = r[..] else { return Err(format!("from-sip row {r:?}")) };
        let cause = Cause {
            name: name.to_string(),
            number: number.parse().map_err(|_| format!("from-sip number {number:?}"))?,
        };
        if status == "default" {
            default_received = Some(cause);
        } else {
            from_sip.push((status.parse().map_err(|_| format!("from-sip status {status:?}"))?, cause));
        }
    }
    Ok(Tables {
        all,
        to_sip,
        default_sent: default_sent.ok_or("no default row in the to-sip table")?,
        from_sip,
        default_received: default_received.ok_or("no default row in the from-sip table")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_and_are_complete() {
        let t = parse_tables().expect("tables parse");
        assert_eq!(t.all.len(), 82);
        assert_eq!(t.default_sent, 480);
        assert_eq!(t.default_received.name, "NORMAL_UNSPECIFIED");
        // Every cause named in the SIP tables exists in the enum with the same number.
        for (_, c) in &t.from_sip {
            assert_eq!(Cause::parse(&c.name).as_ref(), Some(c), "{c:?}");
        }
        for (name, _) in &t.to_sip {
            assert!(Cause::parse(name).is_some(), "{name}");
        }
    }

    #[test]
    fn rejections_map_as_section_4_says() {
        let busy = Cause::from_sip(486);
        assert_eq!((busy.name.as_str(), busy.number, busy.q850()), ("USER_BUSY", 17, 17));
        assert_eq!(busy.sip_status_sent(), 486);
        let nf = Cause::from_sip(404);
        assert_eq!((nf.name.as_str(), nf.q850()), ("UNALLOCATED_NUMBER", 1));
        let na = Cause::from_sip(480);
        assert_eq!((na.name.as_str(), na.q850()), ("NO_USER_RESPONSE", 18));
        assert_eq!(na.sip_status_sent(), 408);
        let cancel = Cause::from_sip(487);
        assert_eq!((cancel.name.as_str(), cancel.number, cancel.q850()), ("ORIGINATOR_CANCEL", 487, 16));
        assert_eq!(Cause::from_sip(299).name, "NORMAL_UNSPECIFIED");
        assert_eq!(Cause::named("NORMAL_CLEARING").sip_status_sent(), 480);
    }

    #[test]
    fn parse_accepts_names_and_numbers() {
        assert_eq!(Cause::parse("user_busy").map(|c| c.number), Some(17));
        assert_eq!(Cause::parse("806").map(|c| c.name), Some("USER_NOT_REGISTERED".to_string()));
        assert_eq!(Cause::parse("NO_SUCH_THING"), None);
    }
}
