//! `userauth user@domain:password` against the PBX directory, as mod_event_socket.c
//! parse_command does it: the user's `esl-password`, and its `esl-allowed-events`,
//! `esl-allowed-api`, `esl-allowed-log` lists enforced on later commands
//! (`-ERR permission denied`). The reply is built the way FreeSWITCH builds it, fixed
//! buffers included: each `Allowed-*` line in a 512-byte buffer and the whole reply in
//! another, so long lists are cut (and the header block may lose its end), as there.

use super::filter::{name_event, EventKey};
use super::pbx::directory::Directory;

/// `char reply[512]`, `event_reply[512]`…: snprintf keeps 511 bytes.
const REPLY_BUFFER: usize = 512;

/// What a `userauth` login may do afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    /// `None`: all events. Otherwise event names (upper case) and CUSTOM subclasses.
    events: Option<Vec<String>>,
    /// Subclasses allowed after `CUSTOM` in the list.
    subclasses: Vec<String>,
    /// `None`: all API commands.
    api: Option<Vec<String>>,
    log: bool,
}

/// C's `snprintf(buf, 512, …)`: at most 511 bytes (cut on a char boundary here).
fn truncate(mut s: String) -> String {
    let mut end = s.len().min(REPLY_BUFFER - 1);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// Splits a list on `,`, or on spaces when it has any (as parse_command does).
fn split_list(list: &str) -> Vec<String> {
    let delim = if list.contains(' ') { ' ' } else { ',' };
    list.split(delim).map(str::to_string).collect()
}

/// The successful login: the reply bytes to write and the permissions.
pub struct Login {
    /// The whole `command/reply` to write, at most 511 bytes of reply text as in C.
    pub reply: Vec<u8>,
    /// What the session may subscribe to, run and read from now on.
    pub permissions: Permissions,
}

/// Checks `user@domain:password` (the text after `userauth `). With an empty directory the
/// mock's one password logs anyone in with every permission.
pub fn login(directory: &Directory, args: &str, fallback_password: &str) -> Option<Login> {
    let (user, rest) = args.split_once('@').unwrap_or((args, ""));
    let (domain, pass) = rest.split_once(':').unwrap_or((rest, ""));
    let (user, pass) = match user.split_once(':') {
        Some((u, p)) => (u, p),
        None => (user, pass),
    };
    if user.is_empty() || domain.is_empty() {
        return None;
    }
    let (password, events, api, log) = if directory.users.is_empty() {
        (Some(fallback_password.to_string()), None, None, true)
    } else {
        let u = directory.find(user, domain)?;
        let log = u.allowed_log.as_deref().is_none_or(switch_true);
        (u.esl_password.clone(), u.allowed_events.clone(), u.allowed_api.clone(), log)
    };
    let password = password.filter(|p| !p.is_empty())?;
    if pass.is_empty() || pass != password {
        return None;
    }
    let event_reply = truncate(format!("Allowed-Events: {}\n", events.as_deref().unwrap_or("all")));
    let api_reply = truncate(format!("Allowed-API: {}\n", api.as_deref().unwrap_or("all")));
    let log_reply = truncate(format!("Allowed-LOG: {}\n", if log { "true" } else { "false" }));
    let reply = truncate(format!("~Reply-Text: +OK accepted\n{event_reply}{api_reply}{log_reply}\n"));
    let mut bytes = b"Content-Type: command/reply\n".to_vec();
    bytes.extend_from_slice(&reply.as_bytes()[1..]);
    let mut permissions = Permissions { log, ..Permissions::default() };
    if let Some(list) = &events {
        let mut names = Vec::new();
        let mut custom = false;
        for item in split_list(list) {
            if custom {
                permissions.subclasses.push(item);
                continue;
            }
            match name_event(&item) {
                Some(EventKey::All) => names.push("ALL".to_string()),
                Some(EventKey::Type(t)) => {
                    custom |= t == "CUSTOM";
                    names.push(t.to_string());
                }
                None => {}
            }
        }
        permissions.events = (!names.iter().any(|n| n == "ALL")).then_some(names);
    }
    permissions.api = api.as_deref().map(split_list);
    Some(Login { reply: bytes, permissions })
}

/// `switch_true`.
fn switch_true(v: &str) -> bool {
    ["yes", "on", "true", "t", "enabled", "active", "allow"].iter().any(|t| v.eq_ignore_ascii_case(t))
        || v.parse::<i64>().is_ok_and(|n| n != 0)
}

impl Permissions {
    /// Everything allowed (`auth` with the password).
    pub fn all() -> Self {
        Permissions { log: true, ..Permissions::default() }
    }

    /// `auth_api_command`: the command must be listed; for `bgapi`, `sched_api`, `eval`,
    /// `expand`, `xml_wrap` the command they wrap must be listed too.
    pub fn allows_api(&self, command: &str, args: &str) -> bool {
        let Some(list) = &self.api else { return true };
        const SNEAKY: [&str; 5] = ["bgapi", "sched_api", "eval", "expand", "xml_wrap"];
        let mut words = std::iter::once(command).chain(args.split(' '));
        let mut check = words.next();
        while let Some(cmd) = check {
            if !list.iter().any(|a| a == cmd) {
                return false;
            }
            if !SNEAKY.iter().any(|s| s.eq_ignore_ascii_case(cmd)) {
                return true;
            }
            check = words.next();
        }
        true
    }

    /// Whether `log` is allowed (`esl-allowed-log`, true when unset).
    pub fn allows_log(&self) -> bool {
        self.log
    }

    /// An `event` keyword: an event name, or a subclass after CUSTOM.
    pub fn allows_event(&self, name: &str, is_subclass: bool) -> bool {
        let Some(list) = &self.events else { return true };
        if is_subclass {
            return self.subclasses.iter().any(|s| s == name);
        }
        match name_event(name) {
            Some(EventKey::Type(t)) => list.iter().any(|n| n == t),
            Some(EventKey::All) => false,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::pbx::directory::User;

    fn dir() -> Directory {
        Directory {
            users: vec![User {
                id: "ops".into(),
                domain: String::new(),
                esl_password: Some("s3cret".into()),
                allowed_events: Some("CHANNEL_CREATE,HEARTBEAT,CUSTOM,sofia::register".into()),
                allowed_api: Some("status,bgapi,show".into()),
                allowed_log: Some("false".into()),
                password: None,
                user_context: None,
            }],
        }
    }

    // mod_event_socket.c parse_command "userauth": the ~ reply with the three Allowed lines.
    #[test]
    fn reply_and_permissions() {
        let ok = login(&dir(), "ops@pbx.example.org:s3cret", "ClueCon").unwrap();
        assert_eq!(
            String::from_utf8(ok.reply).unwrap(),
            "Content-Type: command/reply\nReply-Text: +OK accepted\nAllowed-Events: CHANNEL_CREATE,HEARTBEAT,CUSTOM,sofia::register\nAllowed-API: status,bgapi,show\nAllowed-LOG: false\n\n"
        );
        let p = ok.permissions;
        assert!(p.allows_api("status", ""));
        assert!(!p.allows_api("uuid_kill", "x"));
        assert!(p.allows_api("bgapi", "status"));
        assert!(!p.allows_api("bgapi", "originate null/1 &park()"));
        assert!(p.allows_event("HEARTBEAT", false));
        assert!(!p.allows_event("CHANNEL_ANSWER", false));
        assert!(p.allows_event("sofia::register", true));
        assert!(!p.allows_event("sofia::expire", true));
        assert!(!p.allows_log());
        assert!(login(&dir(), "ops@pbx.example.org:wrong", "ClueCon").is_none());
        assert!(login(&dir(), "nobody@pbx.example.org:s3cret", "ClueCon").is_none());
        assert!(login(&dir(), "ops:s3cret", "ClueCon").is_none(), "no domain");
    }

    // The 512-byte buffers: a long list is cut at 511 bytes, and so is the whole reply.
    #[test]
    fn long_lists_are_cut_like_the_c_buffers() {
        let mut d = dir();
        d.users[0].allowed_api = Some(vec!["uuid_getvar"; 60].join(","));
        let ok = login(&d, "ops@x:s3cret", "ClueCon").unwrap();
        let text = String::from_utf8(ok.reply).unwrap();
        assert_eq!(text.len(), "Content-Type: command/reply\n".len() + 510);
        assert!(!text.ends_with("\n\n"), "the block lost its end, as FreeSWITCH's does");
    }
}
