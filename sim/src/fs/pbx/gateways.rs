//! The `external` profile's gateways (SIP trunks): their registration state, which
//! `sofia status`, `sofia/gateway/…` dial strings and the `sofia::gateway_state` events
//! read.

/// A SIP trunk on the `external` profile.
#[derive(Clone, Debug)]
pub(super) struct Gateway {
    pub name: String,
    pub register_to: String,
    pub up: bool,
    /// When it went down (µs of wall clock), for the `(retry: Ns)` column.
    pub failed_at_us: u64,
}

/// Gateways in the order they were first mentioned.
#[derive(Clone, Debug, Default)]
pub(super) struct Gateways {
    pub list: Vec<Gateway>,
}

impl Gateways {
    pub fn find(&self, name: &str) -> Option<&Gateway> {
        self.list.iter().find(|g| g.name == name)
    }

    pub fn first(&self) -> Option<&Gateway> {
        self.list.first()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Gateway> {
        self.list.iter()
    }

    /// Sets a gateway's state, creating it (registered) on first mention. Returns whether
    /// anything is to be reported: a new gateway reports its first outcome, a known one
    /// only a change.
    pub fn set(&mut self, name: &str, up: bool, now_us: u64) -> bool {
        let known = self.list.iter().position(|g| g.name == name);
        let idx = if let Some(i) = known {
            i
        } else {
            let host = if name.contains('.') { name.to_string() } else { format!("{name}.example.net") };
            self.list.push(Gateway {
                name: name.to_string(),
                register_to: format!("sip:eslmatrix@{host}"),
                up: true,
                failed_at_us: 0,
            });
            self.list.len() - 1
        };
        if known.is_some() && self.list[idx].up == up {
            return false;
        }
        self.list[idx].up = up;
        if !up {
            self.list[idx].failed_at_us = now_us;
        }
        true
    }

    /// A restart: every gateway registers again.
    pub fn all_up(&mut self) {
        for g in &mut self.list {
            g.up = true;
        }
    }
}
