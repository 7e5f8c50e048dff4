//! The client's events seen through the status model's [`Headers`] trait, so the model
//! never depends on the ESL client crate.

use freeswitch_esl_tokio::EslEvent;

use crate::status::Headers;

/// An [`EslEvent`] read as [`Headers`].
pub struct EslHeaders<'a>(pub &'a EslEvent);

impl Headers for EslHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        // The crate folds case for most keys but keeps `variable_*` keys verbatim (their
        // suffix carries SIP casing); a linear scan covers the rare miss.
        self.0.header_str(name).or_else(|| {
            self.0.headers().iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        })
    }

    fn body(&self) -> Option<&str> {
        self.0.body()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{LinkState, PbxStatus, RefreshCommand, RefreshResult};
    use tokio::time::Instant;

    #[test]
    fn lookup_ignores_case_including_variables() {
        let mut e = EslEvent::new();
        e.set_header("Unique-ID", "u1");
        e.set_header("variable_sip_term_status", "486");
        e.set_body("text");
        let h = EslHeaders(&e);
        assert_eq!(h.header("unique-id"), Some("u1"));
        assert_eq!(h.header("VARIABLE_SIP_TERM_STATUS"), Some("486"));
        assert_eq!(h.body(), Some("text"));
    }

    #[test]
    fn a_client_event_drives_the_model() {
        let now = Instant::now();
        let mut s = PbxStatus::new("t");
        s.set_link(LinkState::Up);
        let mut r = RefreshResult::default();
        r.record(&RefreshCommand::RegistrationsJson, "{\"row_count\": 0}\n").unwrap();
        s.apply_refresh(&r, now);
        let mut e = EslEvent::new();
        e.set_header("Event-Name", "CUSTOM");
        e.set_header("Event-Subclass", "sofia::register");
        e.set_header("call-id", "c1");
        e.set_header("contact", "<sip:x@y;transport=wss>");
        s.apply_event(&EslHeaders(&e), now);
        assert_eq!(s.webrtc_registrations(), Some(1));
    }
}
