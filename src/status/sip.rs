//! SIP response codes and how FreeSWITCH maps them to and from hangup causes.
//!
//! A hang-up alert should say "486 Busy Here", not "USER_BUSY": people who run phones know
//! the SIP code. FreeSWITCH reports the SIP status only sometimes, so the cause tables
//! (extracted from sofia_glue.c and mod_sofia.c, kept as CSV under `fixtures/sip/`) fill gaps.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

const SIP_TO_CAUSE_CSV: &str = include_str!("../../fixtures/sip/sip_status_to_hangup_cause.csv");
const CAUSE_TO_SIP_CSV: &str = include_str!("../../fixtures/sip/hangup_cause_to_sip_status.csv");
const CAUSE_ENUM_CSV: &str = include_str!("../../fixtures/sip/hangup_cause_enum.csv");

/// Reason phrases: RFC 3261 §21 plus the later codes a PBX meets in practice.
const PHRASES: &[(u16, &str)] = &[
    (100, "Trying"),
    (180, "Ringing"),
    (181, "Call Is Being Forwarded"),
    (182, "Queued"),
    (183, "Session Progress"),
    (199, "Early Dialog Terminated"),
    (200, "OK"),
    (202, "Accepted"),
    (204, "No Notification"),
    (300, "Multiple Choices"),
    (301, "Moved Permanently"),
    (302, "Moved Temporarily"),
    (305, "Use Proxy"),
    (380, "Alternative Service"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (402, "Payment Required"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (406, "Not Acceptable"),
    (407, "Proxy Authentication Required"),
    (408, "Request Timeout"),
    (410, "Gone"),
    (412, "Conditional Request Failed"),
    (413, "Request Entity Too Large"),
    (414, "Request-URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Unsupported URI Scheme"),
    (417, "Unknown Resource-Priority"),
    (420, "Bad Extension"),
    (421, "Extension Required"),
    (422, "Session Interval Too Small"),
    (423, "Interval Too Brief"),
    (428, "Use Identity Header"),
    (429, "Provide Referrer Identity"),
    (433, "Anonymity Disallowed"),
    (436, "Bad Identity-Info"),
    (437, "Unsupported Certificate"),
    (438, "Invalid Identity Header"),
    (439, "First Hop Lacks Outbound Support"),
    (440, "Max-Breadth Exceeded"),
    (469, "Bad Info Package"),
    (470, "Consent Needed"),
    (480, "Temporarily Unavailable"),
    (481, "Call/Transaction Does Not Exist"),
    (482, "Loop Detected"),
    (483, "Too Many Hops"),
    (484, "Address Incomplete"),
    (485, "Ambiguous"),
    (486, "Busy Here"),
    (487, "Request Terminated"),
    (488, "Not Acceptable Here"),
    (489, "Bad Event"),
    (491, "Request Pending"),
    (493, "Undecipherable"),
    (494, "Security Agreement Required"),
    (500, "Server Internal Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Server Time-out"),
    (505, "Version Not Supported"),
    (513, "Message Too Large"),
    (580, "Precondition Failure"),
    (600, "Busy Everywhere"),
    (603, "Decline"),
    (604, "Does Not Exist Anywhere"),
    (606, "Not Acceptable"),
    (607, "Unwanted"),
    (608, "Rejected"),
];

/// The reason phrase for a SIP status code.
///
/// Unknown codes get their class name, because RFC 3261 §8.1.3.2 tells a UA to treat an
/// unknown code as the x00 of its class; the display should say at least that much.
pub fn reason_phrase(code: u16) -> &'static str {
    if let Ok(i) = PHRASES.binary_search_by_key(&code, |(c, _)| *c) {
        return PHRASES[i].1;
    }
    match code / 100 {
        1 => "Provisional",
        2 => "Success",
        3 => "Redirection",
        4 => "Request Failure",
        5 => "Server Failure",
        6 => "Global Failure",
        _ => "Unknown",
    }
}

/// Whether `code` has its own entry in the phrase table (not just a class name).
pub fn is_known_code(code: u16) -> bool {
    PHRASES.binary_search_by_key(&code, |(c, _)| *c).is_ok()
}

/// A SIP status that displays as `"486 Busy Here"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipStatus(pub u16);

impl fmt::Display for SipStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, reason_phrase(self.0))
    }
}

struct CauseTables {
    sip_to_cause: HashMap<u16, &'static str>,
    sip_default: &'static str,
    cause_to_sip: HashMap<&'static str, u16>,
    cause_default: u16,
    cause_numbers: HashMap<&'static str, u16>,
}

/// Data rows of an embedded CSV: the `# source` line and the column header are skipped.
fn csv_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split(',').map(str::trim).collect())
}

fn tables() -> &'static CauseTables {
    static TABLES: OnceLock<CauseTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = CauseTables {
            sip_to_cause: HashMap::new(),
            sip_default: "NORMAL_UNSPECIFIED",
            cause_to_sip: HashMap::new(),
            cause_default: 480,
            cause_numbers: HashMap::new(),
        };
        // Malformed rows are skipped, not fatal: the tests check that every row parses.
        for row in csv_rows(SIP_TO_CAUSE_CSV) {
            match (row.first(), row.get(1)) {
                (Some(&"default"), Some(cause)) => t.sip_default = cause,
                (Some(code), Some(cause)) => {
                    if let Ok(code) = code.parse() {
                        t.sip_to_cause.insert(code, *cause);
                    }
                }
                _ => {}
            }
        }
        for row in csv_rows(CAUSE_TO_SIP_CSV) {
            match (row.first(), row.get(2).and_then(|s| s.parse::<u16>().ok())) {
                (Some(&"default"), Some(sip)) => t.cause_default = sip,
                (Some(cause), Some(sip)) => {
                    t.cause_to_sip.insert(*cause, sip);
                }
                _ => {}
            }
        }
        for row in csv_rows(CAUSE_ENUM_CSV) {
            if let (Some(cause), Some(n)) = (row.first(), row.get(1).and_then(|s| s.parse().ok())) {
                t.cause_numbers.insert(*cause, n);
            }
        }
        t
    })
}

/// The SIP status FreeSWITCH sends when it ends a leg with `cause` (mod_sofia.c
/// `hangup_cause_to_sip`): every unlisted cause, NORMAL_CLEARING included, maps to 480.
pub fn sip_for_cause(cause: &str) -> u16 {
    sip_for_cause_listed(cause).unwrap_or(tables().cause_default)
}

/// Like [`sip_for_cause`], but `None` for causes the table does not list, so callers can tell
/// a real mapping from the catch-all 480.
pub fn sip_for_cause_listed(cause: &str) -> Option<u16> {
    tables().cause_to_sip.get(cause.trim().to_ascii_uppercase().as_str()).copied()
}

/// The hangup cause FreeSWITCH derives from a received SIP status when no `Reason: Q.850`
/// header says otherwise (sofia_glue.c); unlisted codes give NORMAL_UNSPECIFIED.
pub fn cause_for_sip(code: u16) -> &'static str {
    tables().sip_to_cause.get(&code).copied().unwrap_or(tables().sip_default)
}

/// The numeric value of a hangup cause name (Q.850 for values up to 127).
pub fn cause_number(cause: &str) -> Option<u16> {
    tables().cause_numbers.get(cause.trim().to_ascii_uppercase().as_str()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_sorted_unique_and_cover_rfc3261() {
        assert!(PHRASES.windows(2).all(|w| w[0].0 < w[1].0), "table must stay sorted");
        let rfc3261 = [
            100, 180, 181, 182, 183, 200, 300, 301, 302, 305, 380, 400, 401, 402, 403, 404, 405, 406, 407,
            408, 410, 413, 414, 415, 416, 420, 421, 423, 480, 481, 482, 483, 484, 485, 486, 487, 488, 491,
            493, 500, 501, 502, 503, 504, 505, 513, 600, 603, 604, 606,
        ];
        let later =
            [202, 204, 412, 417, 422, 428, 429, 433, 436, 437, 438, 439, 440, 469, 470, 494, 580, 607, 608];
        for code in rfc3261.iter().chain(later.iter()) {
            assert!(is_known_code(*code), "{code} missing");
        }
    }

    #[test]
    fn phrases_and_display() {
        assert_eq!(reason_phrase(486), "Busy Here");
        assert_eq!(reason_phrase(487), "Request Terminated");
        assert_eq!(reason_phrase(180), "Ringing");
        assert_eq!(SipStatus(486).to_string(), "486 Busy Here");
        assert_eq!(SipStatus(603).to_string(), "603 Decline");
        assert_eq!(reason_phrase(499), "Request Failure");
        assert_eq!(reason_phrase(599), "Server Failure");
        assert_eq!(reason_phrase(42), "Unknown");
    }

    #[test]
    fn every_sip_to_cause_row_round_trips() {
        let mut n = 0;
        for row in csv_rows(SIP_TO_CAUSE_CSV) {
            assert_eq!(row.len(), 4, "{row:?}");
            let cause_n: u16 = row[2].parse().expect("cause number");
            if row[0] == "default" {
                assert_eq!(cause_for_sip(999), row[1]);
            } else {
                let code: u16 = row[0].parse().expect("sip code");
                assert_eq!(cause_for_sip(code), row[1], "row {row:?}");
                assert!(is_known_code(code), "{code} has a cause mapping but no phrase");
            }
            assert_eq!(cause_number(row[1]), Some(cause_n), "enum value of {}", row[1]);
            n += 1;
        }
        assert!(n > 40);
    }

    #[test]
    fn every_cause_to_sip_row_round_trips() {
        let mut n = 0;
        for row in csv_rows(CAUSE_TO_SIP_CSV) {
            assert_eq!(row.len(), 3, "{row:?}");
            let sip: u16 = row[2].parse().expect("sip code");
            if row[0] == "default" {
                assert_eq!(sip_for_cause("NORMAL_CLEARING"), sip);
                assert_eq!(sip_for_cause_listed("NORMAL_CLEARING"), None);
            } else {
                assert_eq!(sip_for_cause(row[0]), sip, "row {row:?}");
                assert_eq!(sip_for_cause_listed(row[0]), Some(sip));
                assert_eq!(cause_number(row[0]), row[1].parse().ok(), "enum value of {}", row[0]);
                assert!(is_known_code(sip), "{sip} has no phrase");
            }
            n += 1;
        }
        assert!(n > 40);
    }

    #[test]
    fn every_cause_enum_row_parses() {
        let mut n = 0;
        for row in csv_rows(CAUSE_ENUM_CSV) {
            assert_eq!(row.len(), 2, "{row:?}");
            assert_eq!(cause_number(row[0]), Some(row[1].parse().expect("number")));
            n += 1;
        }
        assert!(n > 80);
        assert_eq!(cause_number("user_busy"), Some(17));
    }

    #[test]
    fn brief_examples() {
        assert_eq!(sip_for_cause("USER_BUSY"), 486);
        assert_eq!(sip_for_cause("ORIGINATOR_CANCEL"), 487);
        assert_eq!(cause_for_sip(486), "USER_BUSY");
        assert_eq!(cause_for_sip(487), "ORIGINATOR_CANCEL");
        assert_eq!(cause_for_sip(299), "NORMAL_UNSPECIFIED");
    }
}
