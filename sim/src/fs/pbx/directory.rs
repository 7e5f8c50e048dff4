//! The user directory (conf/directory): who exists for `user/` dial strings and who may
//! log in with `userauth`. With no users configured, every valid user name exists, as the
//! mock's scenarios register whoever they like.

/// One `<user>`: its ESL parameters are those mod_event_socket reads for `userauth`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// The user id (`1000`), what `user/` and `userauth` name.
    pub id: String,
    /// The user's domain; empty matches any domain.
    pub domain: String,
    /// `esl-password`.
    pub esl_password: Option<String>,
    /// `esl-allowed-events`, `esl-allowed-api`, `esl-allowed-log` as written.
    pub allowed_events: Option<String>,
    /// `esl-allowed-api`: the API commands the user may run.
    pub allowed_api: Option<String>,
    /// `esl-allowed-log`: whether the user may receive log lines.
    pub allowed_log: Option<String>,
    /// The `password` param: what a SIP device's digest authentication is checked
    /// against (`sofia_reg_parse_auth`). `None`: the user cannot register over SIP.
    pub password: Option<String>,
    /// The `user_context` variable: the dialplan context the user's calls are routed in
    /// (`sofia_handle_sip_i_invite` takes it for the caller profile). `None`: `default`,
    /// as every vanilla user has it.
    pub user_context: Option<String>,
}

/// vars.xml's `default_password`, every vanilla user's SIP password.
pub const VANILLA_PASSWORD: &str = "1234";

/// The users the model knows; empty means every valid user name exists.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// Configured users, in the order they were added.
    pub users: Vec<User>,
}

impl Directory {
    /// Whether a `user/<id>` exists (always, with no users configured).
    pub fn has(&self, id: &str) -> bool {
        self.users.is_empty() || self.users.iter().any(|u| u.id == id)
    }

    /// The SIP password of `id@domain` (`sofia_reg_parse_auth`'s user lookup). With no
    /// users configured this is FreeSWITCH's vanilla directory: users 1000 to 1019 with
    /// `$${default_password}` 1234 (conf/directory/default/1000.xml…, vars.xml).
    pub fn sip_password(&self, id: &str, domain: &str) -> Option<String> {
        if self.users.is_empty() {
            let vanilla = id.len() == 4 && id.parse::<u32>().is_ok_and(|n| (1000..=1019).contains(&n));
            return vanilla.then(|| VANILLA_PASSWORD.to_string());
        }
        self.find(id, domain)?.password.clone()
    }

    /// The context `id`'s calls are routed in: its `user_context`, else `default`.
    pub fn user_context(&self, id: &str) -> String {
        let user = self.users.iter().find(|u| u.id == id);
        user.and_then(|u| u.user_context.clone()).unwrap_or_else(|| "default".to_string())
    }

    /// The entry a `userauth id@domain` logs in as, if configured.
    pub fn find(&self, id: &str, domain: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id && (u.domain.is_empty() || u.domain == domain))
    }
}
