//! SIP registrations on the `internal` profile, kept the way `sofia_reg.c` keeps them and
//! shaped the way it reports them: the contact string, the `Registered(...)` status, the
//! `sofia::register` / `unregister` / `expire` events, the row in the core
//! `registrations` table that `show registrations` prints.
//!
//! Bindings (`sofia_reg_handle_register_token`): with the shipped profiles
//! (`multiple-registrations` unset) every REGISTER first deletes all bindings of that
//! user@realm, so a device with a new Call-ID silently replaces the old one and only
//! `sofia::register` fires. With `multiple-registrations` each device keeps its binding;
//! a device's refresh updates its own (`update-reg: true`). Expiry is the device's
//! Expires plus `sip-expires-late-margin`, checked by the server (`sofia_reg_check_expire`).
//!
//! Indexed for a carrier-size PBX: bindings by user, in table order, and by expiry, so a
//! REGISTER, a lookup and an expiry sweep cost O(log n) and listing is linear.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;

use crate::fs::event::Event;

/// How a device reaches the profile. Browsers (SIP.js, JsSIP) use `ws`/`wss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP (desk phones' default).
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
    /// SIP over WebSocket.
    Ws,
    /// SIP over secure WebSocket (browsers).
    Wss,
}

impl Transport {
    /// Every transport, in declaration order.
    pub const ALL: [Transport; 5] =
        [Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Ws, Transport::Wss];

    /// The lower-case name, as scenarios write it and sofia's contact `transport=` carries it.
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
    /// The registered user (`sip_user`).
    pub user: String,
    /// `realm` / `from-host`: the profile's domain (the SIP IP in the vanilla config).
    pub realm: String,
    /// How the device reaches the profile.
    pub transport: Transport,
    /// The device's `User-Agent`.
    pub user_agent: String,
    /// The REGISTER's Call-ID, kept by the device across refreshes.
    pub call_id: String,
    /// The full contact as sofia rewrites it (display name, `fs_nat`, `fs_path`).
    pub contact: String,
    /// The contact URI's user and `host[:port]`: outbound channels are named after them.
    pub contact_user: String,
    /// See `contact_user`.
    pub contact_host: String,
    /// The source address of the REGISTER.
    pub network_ip: String,
    /// The port the REGISTER came from.
    pub network_port: u16,
    /// The `Expires` the device asked for, in seconds.
    pub expires_secs: u64,
    /// Absolute expiry (epoch seconds) as stored: registration time + expires + 60 s
    /// (`sip-expires-late-margin`).
    pub expires_epoch: u64,
    /// A binding a real SIP device made (`register_real`): a call to it waits for the
    /// device's answer. Modelled bindings answer at once.
    pub real_device: bool,
}

/// `sip-expires-late-margin` default.
pub(crate) const LATE_MARGIN_SECS: u64 = 60;

/// The profile's `multiple-registrations` (sofia.c `parse_profile`): unset or false keeps
/// one binding per user@realm; `call-id` one per Call-ID; `contact` (or true) one per
/// contact. The mock's devices keep one contact per Call-ID, so the last two behave alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MultipleRegistrations {
    /// One binding per user@realm: a new REGISTER replaces the old one.
    #[default]
    Off,
    /// `call-id`: one binding per Call-ID.
    CallId,
    /// `contact` or true: one binding per contact.
    Contact,
}

impl MultipleRegistrations {
    /// The parameter's value as sofia reads it: `call-id`, `contact` or a boolean word.
    pub fn parse(value: &str) -> Option<MultipleRegistrations> {
        let v = value.to_ascii_lowercase();
        match v.as_str() {
            "call-id" => Some(MultipleRegistrations::CallId),
            "contact" | "true" | "yes" | "on" | "1" | "enabled" | "active" | "allow" => {
                Some(MultipleRegistrations::Contact)
            }
            "false" | "no" | "off" | "0" | "disabled" | "inactive" | "disallow" => {
                Some(MultipleRegistrations::Off)
            }
            _ => None,
        }
    }
}

/// A device as the model knows it: the same user, transport and user agent is the same
/// phone, which keeps its Call-ID and contact across REGISTERs. Kept as a 64-bit hash so
/// 100 000 devices cost 16 bytes each (a collision, about 1 in 10^9 at that size, would
/// only give two phones one shape).
fn device_key(user: &str, transport: Transport, user_agent: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (user, transport, user_agent).hash(&mut h);
    h.finish()
}

/// What a REGISTER did.
pub(crate) struct Registered {
    pub reg: Registration,
    /// sofia's `update_registration`: a known binding refreshed with multiple
    /// registrations on (the event then carries `update-reg: true`).
    pub update: bool,
}

/// One binding as the registry stores it: what the device shape cannot give back. The
/// Call-ID, contact user and host and the network address derive from the device number
/// ([`device_shape`]); the realm and user agent, the same for thousands of phones, are
/// shared. About 90 bytes plus the user and contact strings, against 9 owned strings in
/// [`Registration`] (1030 bytes of RSS per binding with its indexes, 100 000 bindings).
#[derive(Debug)]
struct Binding {
    user: Box<str>,
    realm: Arc<str>,
    user_agent: Arc<str>,
    /// Kept rather than derived: the `url` column of a 100 000-row list is cut from it.
    contact: Box<str>,
    device: u64,
    expires_secs: u64,
    expires_epoch: u64,
    transport: Transport,
    /// A real SIP device's own Call-ID, contact and source (`fs::sip`); `None` for a
    /// modelled device, whose shape derives from `device`.
    real: Option<Box<DeviceShape>>,
}

impl Binding {
    fn shape(&self) -> DeviceShape {
        match &self.real {
            Some(real) => (**real).clone(),
            None => device_shape(&self.user, self.transport, self.device),
        }
    }

    fn registration(&self) -> Registration {
        let shape = self.shape();
        debug_assert_eq!(*shape.contact, *self.contact);
        Registration {
            user: self.user.to_string(),
            realm: self.realm.to_string(),
            transport: self.transport,
            user_agent: self.user_agent.to_string(),
            call_id: shape.call_id,
            contact: shape.contact,
            contact_user: shape.contact_user,
            contact_host: shape.contact_host,
            network_ip: shape.network_ip,
            network_port: shape.network_port,
            expires_secs: self.expires_secs,
            expires_epoch: self.expires_epoch,
            real_device: self.real.is_some(),
        }
    }
}

/// A user's key in the `by_user` index: a hash, so the index holds no copy of the name
/// (rows found under it are checked against the binding's user).
fn user_key(user: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    user.hash(&mut h);
    h.finish()
}

/// One shared copy of each distinct string (realms, user agents). Entries stay while the
/// registry lives: there are as many as distinct values ever registered, at most one per
/// REGISTER, and a real PBX has a handful.
#[derive(Debug, Default)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.0.insert(shared.clone());
        shared
    }
}

/// Every binding of the profile.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    mode: MultipleRegistrations,
    /// Row ids in insertion order, like the core db's table.
    next_row: u64,
    rows: BTreeMap<u64, Binding>,
    /// `(user_key(user), row)`: a user's bindings; the realm is the profile's, one per model.
    by_user: BTreeSet<(u64, u64)>,
    /// `(expires_epoch, row)`: what the sweep takes next.
    expiry: BTreeSet<(u64, u64)>,
    /// Device numbers in order of first REGISTER: what their contact and Call-ID derive from.
    devices: HashMap<u64, u64>,
    strings: Interner,
}

impl Registry {
    pub(crate) fn set_mode(&mut self, mode: MultipleRegistrations) {
        self.mode = mode;
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Bindings in table order (oldest first).
    pub(crate) fn iter(&self) -> impl Iterator<Item = Registration> + '_ {
        self.rows.values().map(Binding::registration)
    }

    /// A user's rows, oldest first.
    fn rows_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = u64> + 'a {
        let key = user_key(user);
        self.by_user
            .range((key, 0)..=(key, u64::MAX))
            .map(|(_, row)| *row)
            .filter(move |row| self.rows.get(row).is_some_and(|b| &*b.user == user))
    }

    /// Every binding of a user, oldest first: where a chat message to them goes.
    pub(crate) fn bindings(&self, user: &str) -> Vec<Registration> {
        self.rows_of(user).filter_map(|row| self.rows.get(&row)).map(Binding::registration).collect()
    }

    /// The newest binding of a user: where an outbound leg to them goes.
    pub(crate) fn binding(&self, user: &str) -> Option<Registration> {
        self.rows_of(user).last().and_then(|row| self.rows.get(&row)).map(Binding::registration)
    }

    /// Forgets every binding (a restart); devices keep their shapes.
    pub(crate) fn clear(&mut self) {
        self.rows.clear();
        self.by_user.clear();
        self.expiry.clear();
    }

    fn insert(&mut self, b: Binding) -> u64 {
        self.next_row += 1;
        let row = self.next_row;
        self.by_user.insert((user_key(&b.user), row));
        self.expiry.insert((b.expires_epoch, row));
        self.rows.insert(row, b);
        row
    }

    fn remove(&mut self, row: u64) -> Option<Registration> {
        let b = self.rows.remove(&row)?;
        self.expiry.remove(&(b.expires_epoch, row));
        self.by_user.remove(&(user_key(&b.user), row));
        Some(b.registration())
    }

    /// A REGISTER from a real device (`fs::sip`): its own Call-ID, contact and source
    /// address. Its refresh is a REGISTER with the same Call-ID (RFC 3261 §10.2.4).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn register_real(
        &mut self,
        user: &str,
        realm: &str,
        transport: Transport,
        user_agent: &str,
        expires_secs: u64,
        now_epoch: u64,
        shape: DeviceShape,
    ) -> Registered {
        let rows: Vec<u64> = self.rows_of(user).collect();
        let own = rows
            .iter()
            .copied()
            .find(|r| self.rows[r].real.as_ref().is_some_and(|d| d.call_id == shape.call_id));
        let update = self.mode != MultipleRegistrations::Off && own.is_some();
        let replaced: Vec<u64> = match self.mode {
            MultipleRegistrations::Off => rows,
            _ => own.into_iter().collect(),
        };
        for row in replaced {
            self.remove(row);
        }
        let binding = Binding {
            user: user.into(),
            realm: self.strings.get(realm),
            user_agent: self.strings.get(user_agent),
            contact: shape.contact.as_str().into(),
            device: 0,
            expires_secs,
            expires_epoch: now_epoch + expires_secs + LATE_MARGIN_SECS,
            transport,
            real: Some(Box::new(shape)),
        };
        let reg = binding.registration();
        self.insert(binding);
        Registered { reg, update }
    }

    /// The bindings of `user` with that Call-ID (an unregister with
    /// `multiple-registrations` on: `delete … where call_id`, sofia_reg.c).
    pub(crate) fn remove_call_id(&mut self, user: &str, call_id: &str) -> Vec<Registration> {
        let rows: Vec<u64> = self
            .rows_of(user)
            .filter(|r| self.rows[r].real.as_ref().is_some_and(|d| d.call_id == call_id))
            .collect();
        rows.into_iter().filter_map(|row| self.remove(row)).collect()
    }

    /// The profile's `multiple-registrations`.
    pub(crate) fn mode(&self) -> MultipleRegistrations {
        self.mode
    }

    /// A REGISTER with `Expires: expires_secs` (above 0) at `now_epoch`.
    pub(crate) fn register(
        &mut self,
        user: &str,
        realm: &str,
        transport: Transport,
        user_agent: &str,
        expires_secs: u64,
        now_epoch: u64,
    ) -> Registered {
        let next_device = self.devices.len() as u64 + 1;
        let device = *self.devices.entry(device_key(user, transport, user_agent)).or_insert(next_device);
        let rows: Vec<u64> = self.rows_of(user).collect();
        // The same device number is the same Call-ID.
        let own = rows.iter().copied().find(|r| self.rows[r].device == device);
        let update = self.mode != MultipleRegistrations::Off && own.is_some();
        // Off: `delete ... where sip_user and sip_host`; on: `where call_id` (or contact).
        let replaced: Vec<u64> = match self.mode {
            MultipleRegistrations::Off => rows,
            _ => own.into_iter().collect(),
        };
        for row in replaced {
            if let Some(b) = self.rows.remove(&row) {
                self.expiry.remove(&(b.expires_epoch, row));
                self.by_user.remove(&(user_key(&b.user), row));
            }
        }
        let shape = device_shape(user, transport, device);
        let binding = Binding {
            user: user.into(),
            realm: self.strings.get(realm),
            user_agent: self.strings.get(user_agent),
            contact: shape.contact.as_str().into(),
            device,
            expires_secs,
            expires_epoch: now_epoch + expires_secs + LATE_MARGIN_SECS,
            transport,
            real: None,
        };
        let reg = Registration {
            user: user.to_string(),
            realm: realm.to_string(),
            transport,
            user_agent: user_agent.to_string(),
            call_id: shape.call_id,
            contact: shape.contact,
            contact_user: shape.contact_user,
            contact_host: shape.contact_host,
            network_ip: shape.network_ip,
            network_port: shape.network_port,
            expires_secs,
            expires_epoch: binding.expires_epoch,
            real_device: false,
        };
        self.insert(binding);
        Registered { reg, update }
    }

    /// Every binding of `user` (REGISTER `Expires: 0`, or a test's expiry), oldest first.
    pub(crate) fn remove_user(&mut self, user: &str) -> Vec<Registration> {
        let rows: Vec<u64> = self.rows_of(user).collect();
        rows.into_iter().filter_map(|row| self.remove(row)).collect()
    }

    /// `sofia_reg_check_expire`: bindings whose expiry has passed, soonest first.
    pub(crate) fn take_expired(&mut self, now_epoch: u64) -> Vec<Registration> {
        let due: Vec<u64> =
            self.expiry.iter().take_while(|(at, _)| *at <= now_epoch).map(|(_, row)| *row).collect();
        due.into_iter().filter_map(|row| self.remove(row)).collect()
    }

    /// When the next binding expires (epoch seconds).
    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.expiry.first().map(|(at, _)| *at)
    }

    /// `show registrations` in its delimited form, written straight from the table.
    pub(crate) fn write_delim(&self, hostname: &str, out: &mut String) {
        out.reserve(self.rows.len() * 200);
        if self.rows.is_empty() {
            return;
        }
        out.push_str(
            "reg_user,realm,token,url,expires,network_ip,network_port,network_proto,hostname,metadata\n",
        );
        for b in self.rows.values() {
            out.push_str(&b.user);
            out.push(',');
            out.push_str(&b.realm);
            out.push(',');
            match &b.real {
                Some(d) => out.push_str(&d.call_id),
                None => push_token(out, call_id_seed(b.device), CALL_ID_LEN),
            }
            out.push_str(",sofia/internal/");
            out.push_str(contact_uri(&b.contact));
            let _ = write!(out, ",{},", b.expires_epoch);
            if let Some(d) = &b.real {
                let _ = write!(out, "{},{},", d.network_ip, d.network_port);
            } else {
                let (network, port) = network_address(b.transport, b.device);
                let _ = write!(out, "{}.{},{port},", network.0, network.1);
            }
            out.push_str(b.transport.network_proto());
            out.push(',');
            out.push_str(hostname);
            out.push_str(",\n");
        }
    }
}

/// Most bytes `switch_amp_encode` writes: `show_reg_callback_xml` gives it a 2048-byte
/// buffer and it stops one short, so a longer contact or user agent comes out cut.
const AMP_ENCODE_MAX: usize = 2047;

/// `switch_amp_encode` (switch_utils.c): the five XML specials as entities, stopping before
/// an entity or character that would pass [`AMP_ENCODE_MAX`].
fn push_amp_encoded(out: &mut String, s: &str) {
    let mut used = 0;
    for c in s.chars() {
        let enc = match c {
            '"' => "&quot;",
            '\'' => "&apos;",
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => "",
        };
        let n = if enc.is_empty() { c.len_utf8() } else { enc.len() };
        if used + n > AMP_ENCODE_MAX {
            break;
        }
        used += n;
        if enc.is_empty() {
            out.push(c);
        } else {
            out.push_str(enc);
        }
    }
}

impl Registry {
    /// `sofia xmlstatus profile internal reg` (mod_sofia.c `cmd_xml_status`): the profile's
    /// `sip_registrations` rows, each as `show_reg_callback` writes it for `sofia status
    /// profile <name> reg` (the contact and agent as stored, not encoded); how many.
    pub(crate) fn write_text_reg(&self, hostname: &str, now_epoch: u64, out: &mut String) -> usize {
        for b in self.rows.values() {
            let r = b.registration();
            let exp_secs = r.expires_epoch as i64 - now_epoch as i64;
            let exp_date = super::clock::local_date(r.expires_epoch * 1_000_000);
            let _ = write!(
                out,
                "Call-ID:    \t{}\nUser:       \t{}@{}\nContact:    \t{}\nAgent:      \t{}\n\
                 Status:     \t{}(unknown) EXP({exp_date}) EXPSECS({exp_secs})\nPing-Status:\tReachable\n\
                 Ping-Time:\t0.00\nHost:       \t{hostname}\nIP:         \t{}\nPort:       \t{}\n\
                 Auth-User:  \t{}\nAuth-Realm: \t{}\nMWI-Account:\t{}@{}\n\n",
                r.call_id,
                r.user,
                r.realm,
                r.contact,
                r.user_agent,
                r.transport.reg_desc(),
                r.network_ip,
                r.network_port,
                r.user,
                r.realm,
                r.user,
                r.realm
            );
        }
        self.rows.len()
    }

    /// `sip_registrations` rows, each as `show_reg_callback_xml` writes it. The mock's
    /// `sip_registrations` holds what the core table does plus the user agent; every
    /// binding is `Reachable` with ping time 0, as sofia inserts it.
    pub(crate) fn write_xml_reg(&self, hostname: &str, now_epoch: u64, out: &mut String) {
        out.reserve(self.rows.len() * 700);
        out.push_str("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<profile>\n  <registrations>\n");
        for b in self.rows.values() {
            let r = b.registration();
            let exp_secs = r.expires_epoch as i64 - now_epoch as i64;
            let exp_date = super::clock::local_date(r.expires_epoch * 1_000_000);
            out.push_str("    <registration>\n");
            let _ = writeln!(out, "        <call-id>{}</call-id>", r.call_id);
            let _ = writeln!(out, "        <user>{}@{}</user>", r.user, r.realm);
            out.push_str("        <contact>");
            push_amp_encoded(out, &r.contact);
            out.push_str("</contact>\n        <agent>");
            push_amp_encoded(out, &r.user_agent);
            out.push_str("</agent>\n");
            let _ = writeln!(
                out,
                "        <status>{}(unknown) exp({exp_date}) expsecs({exp_secs})</status>",
                r.transport.reg_desc()
            );
            out.push_str("        <ping-status>Reachable</ping-status>\n");
            out.push_str("        <ping-time>0.00</ping-time>\n");
            let _ = writeln!(out, "        <host>{hostname}</host>");
            let _ = writeln!(out, "        <network-ip>{}</network-ip>", r.network_ip);
            let _ = writeln!(out, "        <network-port>{}</network-port>", r.network_port);
            let _ = writeln!(out, "        <sip-auth-user>{}</sip-auth-user>", url_encode(&r.user));
            let _ = writeln!(out, "        <sip-auth-realm>{}</sip-auth-realm>", r.realm);
            let _ = writeln!(out, "        <mwi-account>{}@{}</mwi-account>", r.user, r.realm);
            out.push_str("    </registration>\n");
        }
        out.push_str("  </registrations>\n</profile>\n");
    }
}

/// `sofia::register` headers after the common ones (`sofia_reg_handle_register_token`).
pub(crate) fn fill_register(ev: &mut Event, r: &Registered, sip_ip: &str) {
    let reg = &r.reg;
    ev.push("profile-name", "internal");
    ev.push("from-user", reg.user.clone());
    ev.push("from-host", reg.realm.clone());
    ev.push("presence-hosts", format!("{sip_ip},{sip_ip}"));
    ev.push("contact", reg.contact.clone());
    ev.push("call-id", reg.call_id.clone());
    ev.push("rpid", "unknown");
    ev.push("status", reg.transport.reg_desc());
    ev.push("expires", reg.expires_secs.to_string());
    ev.push("to-user", reg.user.clone());
    ev.push("to-host", reg.realm.clone());
    ev.push("network-ip", reg.network_ip.clone());
    ev.push("network-port", reg.network_port.to_string());
    ev.push("username", reg.user.clone());
    ev.push("realm", reg.realm.clone());
    ev.push("user-agent", reg.user_agent.clone());
    if r.update {
        ev.push("update-reg", "true");
    }
}

/// `sofia::unregister` headers (REGISTER with `Expires: 0`).
pub(crate) fn fill_unregister(ev: &mut Event, r: &Registration) {
    ev.push("profile-name", "internal");
    ev.push("username", r.user.clone());
    ev.push("from-user", r.user.clone());
    ev.push("from-host", r.realm.clone());
    ev.push("contact", r.contact.clone());
    ev.push("call-id", r.call_id.clone());
    ev.push("rpid", "unknown");
    ev.push("realm", r.realm.clone());
    ev.push("network-ip", r.network_ip.clone());
    ev.push("network-port", r.network_port.to_string());
    ev.push("user-agent", r.user_agent.clone());
    ev.push("expires", "0");
}

/// `sofia::expire` headers (`sofia_reg_del_callback`).
pub(crate) fn fill_expire(ev: &mut Event, r: &Registration) {
    ev.push("profile-name", "internal");
    ev.push("call-id", r.call_id.clone());
    ev.push("user", r.user.clone());
    ev.push("username", r.user.clone());
    ev.push("host", r.realm.clone());
    ev.push("contact", r.contact.clone());
    ev.push("expires", r.expires_epoch.to_string());
    ev.push("user-agent", r.user_agent.clone());
    ev.push("realm", r.realm.clone());
    ev.push("network-ip", r.network_ip.clone());
    ev.push("network-port", r.network_port.to_string());
}

/// Characters `switch_url_encode` escapes (the set §1.7 lists for event values).
pub(crate) fn url_encode(s: &str) -> String {
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

/// Everything that differs per device: derived from a counter for modelled devices so
/// runs are reproducible, taken from the REGISTER for real ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceShape {
    /// The contact URI's user part.
    pub contact_user: String,
    /// The contact URI's `host[:port]`.
    pub contact_host: String,
    /// The contact as sofia stores it (display name, `fs_nat`, `fs_path`).
    pub contact: String,
    /// The REGISTER's source address.
    pub network_ip: String,
    /// The REGISTER's source port.
    pub network_port: u16,
    /// The REGISTER's Call-ID.
    pub call_id: String,
}

/// Lower-case letters and digits from a seed, as SIP.js makes its random contact parts.
fn token(seed: u64, len: usize) -> String {
    let mut s = String::with_capacity(len);
    push_token(&mut s, seed, len);
    s
}

/// [`token`], appended to `out`.
fn push_token(out: &mut String, mut seed: u64, len: usize) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..len {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        out.push(ALPHABET[((seed >> 33) % ALPHABET.len() as u64) as usize] as char);
    }
}

const CALL_ID_LEN: usize = 22;

fn call_id_seed(n: u64) -> u64 {
    n ^ 0x9e37_79b9_7f4a_7c15
}

/// A device's source address: `(network prefix, last octet)` and port.
fn network_address(transport: Transport, n: u64) -> ((&'static str, u64), u16) {
    let lan_host = 20 + (n % 200);
    match transport {
        Transport::Ws | Transport::Wss => (("203.0.113", lan_host), 49_152 + (n * 7919 % 16_000) as u16),
        Transport::Tls => (("198.51.100", lan_host), 5061),
        Transport::Udp | Transport::Tcp => (("198.51.100", lan_host), 5060),
    }
}

/// The contact URI without display name and angle brackets.
fn contact_uri(contact: &str) -> &str {
    let uri = contact.split_once('<').map_or(contact, |(_, rest)| rest);
    uri.trim_end_matches('>')
}

/// The contact and network address a device of that transport would register with.
pub(crate) fn device_shape(user: &str, transport: Transport, n: u64) -> DeviceShape {
    let ((network, lan_host), network_port) = network_address(transport, n);
    let network_ip = format!("{network}.{lan_host}");
    let call_id = token(call_id_seed(n), CALL_ID_LEN);
    match transport {
        Transport::Ws | Transport::Wss => {
            // SIP.js: random contact user and an `.invalid` host; sofia appends fs_nat and an
            // fs_path pointing at the real source address.
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
        format!("sofia/internal/{}", self.uri())
    }

    /// The contact URI without display name and angle brackets.
    fn uri(&self) -> &str {
        contact_uri(&self.contact)
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
            real_device: false,
        };
        assert_eq!(r.url(), "sofia/internal/sip:1002@198.51.100.21:5060;transport=UDP");
    }

    /// The compact table gives back what the registration held, and the delimited list
    /// written from it matches the rows, for every transport.
    #[test]
    fn stored_bindings_give_back_registrations_and_their_rows() {
        let mut reg = Registry::default();
        let mut made = Vec::new();
        for (i, t) in Transport::ALL.into_iter().enumerate() {
            let user = format!("10{i:02}");
            made.push(reg.register(&user, "192.0.2.10", t, "Phone/1.0", 300, 1_000).reg);
        }
        let again = reg.register("1000", "192.0.2.10", Transport::Udp, "Phone/1.0", 300, 2_000).reg;
        assert_eq!(again.call_id, made[0].call_id, "same device, same Call-ID");
        made.remove(0);
        made.push(again);
        let stored: Vec<Registration> = reg.iter().collect();
        assert_eq!(stored, made);
        assert_eq!(reg.binding("1003"), Some(made[2].clone()));
        let mut delim = String::new();
        reg.write_delim("host", &mut delim);
        let mut lines = delim.lines();
        let head = lines.next().unwrap();
        let names: Vec<&str> = made[0].row("host").iter().map(|(n, _)| *n).collect();
        assert_eq!(head, names.join(","));
        for (line, r) in lines.zip(&made) {
            let values: Vec<String> = r.row("host").into_iter().map(|(_, v)| v).collect();
            assert_eq!(line, values.join(","));
        }
        assert_eq!(reg.remove_user("1004"), vec![made[3].clone()]);
        assert_eq!(reg.binding("1004"), None);
        assert_eq!(reg.len(), 4);
    }
}
