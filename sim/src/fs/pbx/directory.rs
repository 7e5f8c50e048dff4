//! The user directory (conf/directory): who exists for `user/` dial strings and who may
//! log in with `userauth`. With no users configured, every valid user name exists, as the
//! mock's scenarios register whoever they like.

/// One `<user>`: its ESL parameters are those mod_event_socket reads for `userauth`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub domain: String,
    /// `esl-password`.
    pub esl_password: Option<String>,
    /// `esl-allowed-events`, `esl-allowed-api`, `esl-allowed-log` as written.
    pub allowed_events: Option<String>,
    pub allowed_api: Option<String>,
    pub allowed_log: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Directory {
    pub users: Vec<User>,
}

impl Directory {
    pub fn has(&self, id: &str) -> bool {
        self.users.is_empty() || self.users.iter().any(|u| u.id == id)
    }

    pub fn find(&self, id: &str, domain: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id && (u.domain.is_empty() || u.domain == domain))
    }
}
