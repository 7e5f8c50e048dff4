//! SIP registrations on the `internal` profile, shaped the way `sofia_reg.c` stores and
//! reports them: the contact string, the `Registered(...)` status, the row in the core
//! `registrations` table that `show registrations` prints.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// How a device reaches the profile. Browsers (SIP.js, JsSIP) use `ws`/`wss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

impl Transport {
    pub const ALL: [Transport; 5] =
        [Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Ws, Transport::Wss];

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    /// WebSocket clients are always treated as behind NAT by sofia (`is_nat = "ws"`).
    pub fn is_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::Wss)
    }

    /// `status` column / header: sofia marks every WebSocket binding as NAT; the mock
    /// models desk phones as on the LAN.
    pub(crate) fn reg_desc(self) -> &'static str {
        match self {
            Transport::Udp => "Registered(UDP)",
            Transport::Tcp => "Registered(TCP)",
            Transport::Tls => "Registered(TLS)",
            Transport::Ws => "Registered(WS-NAT)",
            Transport::Wss => "Registered(WSS-NAT)",
        }
    }

    /// `network_proto` in the core registrations table: sofia writes only tls, tcp or
    /// udp there, so WebSocket bindings show as `udp` (a FreeSWITCH quirk kept on purpose).
    pub(crate) fn network_proto(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            _ => "udp",
        }
    }

    /// `variable_sip_via_protocol` of a call from such a device.
    pub(crate) fn via_protocol(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transport name that is not one of udp, tcp, tls, ws, wss.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?} (expected udp, tcp, tls, ws or wss)")]
pub struct UnknownTransport(pub String);

impl FromStr for Transport {
    type Err = UnknownTransport;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTransport(s.to_string()))
    }
}

/// One binding, as sofia and the core registrations table hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub user: String,
    /// `realm` / `from-host`: the profile's domain (the SIP IP in the vanilla config).
    pub realm: String,
    pub transport: Transport,
    pub user_agent: String,
    pub call_id: String,
    /// The full contact as sofia rewrites it (display name, `fs_nat`, `fs_path`).
    pub contact: String,
    /// The contact URI's user and `host[:port]`: outbound channels are named after them.
    pub contact_user: String,
    pub contact_host: String,
    pub network_ip: String,
    pub network_port: u16,
    /// The `Expires` the device asked for, in seconds.
    pub expires_secs: u64,
    /// Absolute expiry (epoch seconds) as stored: registration time + expires + 60 s
    /// (`sip-expires-late-margin`).
    pub expires_epoch: u64,
}

/// `sip-expires-late-margin` default.
pub(crate) const LATE_MARGIN_SECS: u64 = 60;

/// Characters `switch_url_encode` escapes (the set §1.7 lists for event values).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let special = b" #%&+:;<=>?@[\\]^`{|}\"".contains(&b);
        if !(0x20..=0x7e).contains(&b) || special {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// Everything that differs per device, derived from a counter so runs are reproducible.
pub(crate) struct DeviceShape {
    pub contact_user: String,
    pub contact_host: String,
    pub contact: String,
    pub network_ip: String,
    pub network_port: u16,
    pub call_id: String,
}

/// Lower-case letters and digits from a seed, as SIP.js makes its random contact parts.
fn token(mut seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        s.push(ALPHABET[((seed >> 33) % ALPHABET.len() as u64) as usize] as char);
    }
    s
}

/// The contact and network address a device of that transport would register with.
pub(crate) fn device_shape(user: &str, transport: Transport, n: u64) -> DeviceShape {
    let lan_host = 20 + (n % 200);
    let network_ip = if transport.is_websocket() {
        format!("203.0.113.{}", lan_host)
    } else {
        format!("198.51.100.{}", lan_host)
    };
    let call_id = token(n ^ 0x9e37_79b9_7f4a_7c15, 22);
    match transport {
        Transport::Ws | Transport::Wss => {
            // SIP.js: random contact user and an `.invalid` host; sofia appends fs_nat and an
            // fs_path pointing at the real source address.
            let network_port = 49_152 + (n * 7919 % 16_000) as u16;
            let contact_user = token(n, 8);
            let contact_host = format!("{}.invalid", token(n + 1, 12));
            let uparams = format!("transport={}", transport.as_str());
            let path = format!("sip:{contact_user}@{network_ip}:{network_port};{uparams}");
            let contact = format!(
                "\"{user}\" <sip:{contact_user}@{contact_host};{uparams};fs_nat=yes;fs_path={}>",
                url_encode(&path)
            );
            DeviceShape { contact_user, contact_host, contact, network_ip, network_port, call_id }
        }
        Transport::Udp | Transport::Tcp | Transport::Tls => {
            let network_port = match transport {
                Transport::Tls => 5061,
                _ => 5060,
            };
            let proto = if transport == Transport::Tls { "sips" } else { "sip" };
            let contact_host = format!("{network_ip}:{network_port}");
            let contact = format!(
                "\"{user}\" <{proto}:{user}@{contact_host};transport={}>",
                transport.as_str().to_ascii_uppercase()
            );
            DeviceShape {
                contact_user: user.to_string(),
                contact_host,
                contact,
                network_ip,
                network_port,
                call_id,
            }
        }
    }
}

impl Registration {
    /// The `url` column: `sofia/<profile>/` + the contact URI without display name.
    pub(crate) fn url(&self) -> String {
        let uri = self.contact.split_once('<').map_or(self.contact.as_str(), |(_, rest)| rest);
        format!("sofia/internal/{}", uri.trim_end_matches('>'))
    }

    /// Row of `show registrations`, in table column order.
    pub(crate) fn row(&self, hostname: &str) -> Vec<(&'static str, String)> {
        vec![
            ("reg_user", self.user.clone()),
            ("realm", self.realm.clone()),
            ("token", self.call_id.clone()),
            ("url", self.url()),
            ("expires", self.expires_epoch.to_string()),
            ("network_ip", self.network_ip.clone()),
            ("network_port", self.network_port.to_string()),
            ("network_proto", self.transport.network_proto().to_string()),
            ("hostname", hostname.to_string()),
            ("metadata", String::new()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_parse_case_insensitively() {
        assert_eq!("WSS".parse::<Transport>(), Ok(Transport::Wss));
        assert_eq!("udp".parse::<Transport>(), Ok(Transport::Udp));
        assert!("sctp".parse::<Transport>().is_err());
    }

    #[test]
    fn websocket_contact_has_fs_nat_and_encoded_path() {
        let d = device_shape("1001", Transport::Wss, 3);
        assert!(d.contact.starts_with("\"1001\" <sip:"), "{}", d.contact);
        assert!(d.contact.contains(".invalid;transport=wss;fs_nat=yes;fs_path=sip%3A"), "{}", d.contact);
        assert!(d.contact.contains(&format!("%40{}%3A{}%3Btransport%3Dwss>", d.network_ip, d.network_port)));
        assert_eq!(d.contact_user.len(), 8);
        assert_eq!(device_shape("1001", Transport::Wss, 3).call_id, d.call_id, "deterministic");
    }

    #[test]
    fn url_drops_display_name() {
        let d = device_shape("1002", Transport::Udp, 1);
        let r = Registration {
            user: "1002".into(),
            realm: "192.0.2.10".into(),
            transport: Transport::Udp,
            user_agent: "Zoiper".into(),
            call_id: d.call_id,
            contact: d.contact,
            contact_user: d.contact_user,
            contact_host: d.contact_host,
            network_ip: d.network_ip,
            network_port: d.network_port,
            expires_secs: 300,
            expires_epoch: 0,
        };
        assert_eq!(r.url(), "sofia/internal/sip:1002@198.51.100.21:5060;transport=UDP");
    }
}
