//! The log lines FreeSWITCH writes for what the model simulates, and their `log/data`
//! frames (mod_event_socket.c listener_run: `Content-Type: log/data`, `Content-Length`,
//! `Log-Level`, `Text-Channel`, `Log-File`, `Log-Func`, `Log-Line`, `User-Data`, then the
//! line). Text as switch_log.c switch_log_meta_vprintf formats it: `DATE.USEC IDLE% [LEVEL]
//! file:line text`, or the bare text for SWITCH_CHANNEL_ID_LOG_CLEAN.

use super::clock;
use super::Site;

/// `switch_text_channel_t` SWITCH_CHANNEL_ID_LOG: a line with the date/level/site prefix.
pub const ID_LOG: u8 = 0;
/// SWITCH_CHANNEL_ID_LOG_CLEAN: the text as is, no prefix.
pub const ID_LOG_CLEAN: u8 = 1;
/// SWITCH_CHANNEL_ID_SESSION: a prefixed line about one session.
pub const ID_SESSION: u8 = 3;

/// `switch_log_level2str` names by level number.
const LEVELS: [&str; 8] = ["CONSOLE", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"];

/// `SWITCH_LOG_DEBUG`.
pub const DEBUG: u8 = 7;
/// `SWITCH_LOG_INFO`.
pub const INFO: u8 = 6;
/// `SWITCH_LOG_NOTICE`.
pub const NOTICE: u8 = 5;
/// `SWITCH_LOG_ERROR`.
pub const ERR: u8 = 3;
/// `SWITCH_LOG_CRIT`.
pub const CRIT: u8 = 2;

/// mod_event_socket.c MAX_MISSED: a listener that lost more log lines than this is killed.
pub const MAX_MISSED: u64 = 500;
/// The notice it is killed with (`kill_listener`).
pub const LOST_LOGS: &str = "killed listener because of lost log lines\n";

/// One `switch_log_node_t` as a listener receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `switch_log_level_t`, 0 (CONSOLE) to 7 (DEBUG); a listener's `log N` keeps up to N.
    pub level: u8,
    /// [`ID_LOG`], [`ID_LOG_CLEAN`] or [`ID_SESSION`].
    pub text_channel: u8,
    /// The C source file that logged it (`Log-File`).
    pub file: &'static str,
    /// The C function (`Log-Func`).
    pub func: &'static str,
    /// The source line (`Log-Line`).
    pub line: u32,
    /// The channel's UUID, or empty (`switch_str_nil`).
    pub user_data: String,
    /// The formatted line, ending in `\n`.
    pub data: String,
}

impl LogLine {
    /// A line at `now_us` (model wall clock) with the idle CPU figure of the prefix.
    pub fn new(
        level: u8,
        text_channel: u8,
        site: Site,
        user_data: &str,
        text: &str,
        now_us: u64,
        idle_cpu: f64,
    ) -> LogLine {
        let data = if text_channel == ID_LOG_CLEAN {
            text.to_string()
        } else {
            format!(
                "{}.{:06} {:.2}% [{}] {}:{} {}",
                clock::local_date(now_us),
                now_us % 1_000_000,
                idle_cpu,
                LEVELS[usize::from(level.min(7))],
                site.0,
                site.2,
                text
            )
        };
        LogLine {
            level,
            text_channel,
            file: site.0,
            func: site.1,
            line: site.2,
            user_data: user_data.to_string(),
            data,
        }
    }

    /// The bytes on the wire: header block, then the line.
    pub fn frame(&self) -> Vec<u8> {
        let mut out = format!(
            "Content-Type: log/data\nContent-Length: {}\nLog-Level: {}\nText-Channel: {}\nLog-File: {}\nLog-Func: {}\nLog-Line: {}\nUser-Data: {}\n\n",
            self.data.len(),
            self.level,
            self.text_channel,
            self.file,
            self.func,
            self.line,
            self.user_data
        )
        .into_bytes();
        out.extend_from_slice(self.data.as_bytes());
        out
    }
}

/// `switch_log_str2level`: a number 0–7 or a level name (`error` is `err`).
pub fn parse_level(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    let s = if s.eq_ignore_ascii_case("error") { "err" } else { s };
    LEVELS.iter().position(|n| n.eq_ignore_ascii_case(s)).map(|p| p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    // mod_event_socket.c listener_run's log/data header block, byte for byte.
    #[test]
    fn frame_layout() {
        let site = ("switch_channel.c", "switch_channel_set_name", 1143);
        let l = LogLine::new(
            NOTICE,
            ID_SESSION,
            site,
            "u-1",
            "New Channel null/1 [u-1]\n",
            1_764_000_000_000_042,
            99.5,
        );
        assert_eq!(
            l.data,
            "2025-11-24 16:00:00.000042 99.50% [NOTICE] switch_channel.c:1143 New Channel null/1 [u-1]\n"
        );
        let f = String::from_utf8(l.frame()).unwrap();
        assert_eq!(
            f,
            format!("Content-Type: log/data\nContent-Length: {}\nLog-Level: 5\nText-Channel: 3\nLog-File: switch_channel.c\nLog-Func: switch_channel_set_name\nLog-Line: 1143\nUser-Data: u-1\n\n{}", l.data.len(), l.data)
        );
        let clean = LogLine::new(INFO, ID_LOG_CLEAN, site, "", "EXECUTE x\n", 0, 0.0);
        assert_eq!(clean.data, "EXECUTE x\n");
        assert!(String::from_utf8(clean.frame()).unwrap().contains("\nUser-Data: \n\n"));
        assert_eq!(parse_level("debug"), Some(7));
        assert_eq!(parse_level("ERROR"), Some(3));
        assert_eq!(parse_level("8"), None);
    }
}
