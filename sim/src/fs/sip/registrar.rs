//! REGISTER as `sofia_reg_handle_register_token` answers it (sofia_reg.c), into the PBX
//! model's registry, so `sofia::register` / `sofia::unregister`, `show registrations`
//! and the WebRTC count follow what real devices do.
//!
//! * Every REGISTER without credentials is challenged (401, one `WWW-Authenticate` per
//!   configured algorithm, realm from the From host: the profile's `challenge-realm`
//!   `auto_from`); a good answer registers; a wrong password or an unknown user is 403;
//!   an unknown or expired nonce or a reused `nc` gets a new challenge with `stale=true`.
//! * Expires: the `Expires` header, else the contact's `expires` parameter, else 300 (the
//!   `exptime` sofia starts from); below `min_expires` (when set) 423 with `Min-Expires`.
//!   `Expires: 0` unregisters; `Contact: *` with `Expires: 0` removes every binding of
//!   the user (RFC 3261 §10.2.2); `*` with another Expires is 400.
//! * The stored contact is sofia's: `"display" <sip:user@host:port;params>`, with
//!   `fs_nat=yes;fs_path=<source>` for WebSocket devices (sofia treats them as NATed).

use super::digest::{self, Algorithm, Credentials, Nonces, Verdict};
use super::message::{self, Message, Uri};
use super::reply::{phrase, response};
use super::transport::Link;
use crate::fs::pbx::registry::url_encode;
use crate::fs::pbx::{DeviceShape, Pbx};

/// The registrar's settings.
#[derive(Clone, Debug)]
pub struct RegistrarConfig {
    /// A REGISTER asking less than this (and more than 0) gets 423; 0: no minimum.
    pub min_expires: u64,
    /// Algorithms challenged, in order (RFC 8760 §2.4: the client takes the first it
    /// knows). The vanilla profile challenges MD5 only.
    pub digest: Vec<Algorithm>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig { min_expires: 0, digest: vec![Algorithm::Md5] }
    }
}

/// `exptime` when a REGISTER names none (sofia_reg.c `long exptime = 300`).
pub const DEFAULT_EXPIRES: u64 = 300;
/// The longest Expires kept (one day); longer asks are cut to it, as a registrar may.
pub const MAX_EXPIRES: u64 = 86_400;

/// The registrar: its settings and the nonces it issued.
pub struct Registrar {
    config: RegistrarConfig,
    nonces: Nonces,
    seed: u64,
}

impl Registrar {
    /// A registrar with no nonces yet; `seed` feeds the nonces.
    pub fn new(config: RegistrarConfig, seed: u64) -> Registrar {
        Registrar { config, nonces: Nonces::default(), seed }
    }

    /// Nonces outstanding (bounded by [`digest::MAX_NONCES`]).
    pub fn nonces(&self) -> usize {
        self.nonces.len()
    }

    /// Answers one REGISTER (and changes the registry when it was authenticated).
    pub fn register(&mut self, pbx: &Pbx, link: &Link, req: &Message, agent: &str) -> Message {
        let reply = |status: u16| response(req, link, status, phrase(status), agent);
        let to = req.header("To").map(message::addr_uri).and_then(Uri::parse);
        let from = req.header("From").map(message::addr_uri).and_then(Uri::parse);
        let (Some(to), Some(from)) = (to, from) else { return reply(400) };
        let Some(user) = to.user.map(str::to_string) else { return reply(400) };
        let reg_host = to.host.to_string();
        let realm = from.host.to_string();
        let contacts: Vec<&str> = req.values("Contact").collect();
        let star = contacts.first().is_some_and(|c| c.trim() == "*");
        let exptime = match req.header("Expires") {
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) => n,
                Err(_) => return reply(400),
            },
            None => contacts
                .first()
                .and_then(|c| message::param(c, "expires").flatten())
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_EXPIRES),
        }
        .min(MAX_EXPIRES);
        if star && (exptime != 0 || contacts.len() > 1) {
            return reply(400);
        }
        if exptime > 0 && exptime < self.config.min_expires && !contacts.is_empty() {
            let mut r = reply(423);
            r.push("Min-Expires", self.config.min_expires.to_string());
            return r;
        }
        let now = pbx.now_us() / 1_000_000;
        let method = req.method().unwrap_or("REGISTER");
        let stale = match req.header("Authorization") {
            None => false,
            Some(h) => match Credentials::parse(h) {
                // sofia: "Invalid Authorization header!" is AUTH_STALE.
                None => true,
                Some(creds) => {
                    let password = pbx.directory().sip_password(&creds.username, &creds.realm);
                    match self.nonces.check(&creds, method, password.as_deref(), now, exptime) {
                        Verdict::Ok => {
                            return self.accept(pbx, link, req, agent, &user, &reg_host, exptime, &contacts)
                        }
                        Verdict::Forbidden => return reply(403),
                        Verdict::Stale => true,
                    }
                }
            },
        };
        let mut r = reply(401);
        for &alg in &self.config.digest {
            let nonce = self.nonces.issue(alg, now, self.seed);
            r.push("WWW-Authenticate", digest::challenge(&realm, &nonce, alg, stale));
        }
        r
    }

    /// A call's INVITE as sofia_reg_handle_register_token(REG_INVITE) checks it
    /// (`auth-calls`): `Proxy-Authorization` answering our `Proxy-Authenticate`. `Ok` is
    /// the authenticated user; `Err` the 407 (a new or stale challenge) or 403 to send.
    pub fn authorize_invite(
        &mut self,
        pbx: &Pbx,
        link: &Link,
        req: &Message,
        agent: &str,
    ) -> Result<String, Message> {
        let now = pbx.now_us() / 1_000_000;
        let method = req.method().unwrap_or("INVITE");
        let stale = match req.header("Proxy-Authorization") {
            None => false,
            Some(h) => match Credentials::parse(h) {
                None => true,
                Some(creds) => {
                    let password = pbx.directory().sip_password(&creds.username, &creds.realm);
                    match self.nonces.check(&creds, method, password.as_deref(), now, 0) {
                        Verdict::Ok => return Ok(creds.username),
                        Verdict::Forbidden => return Err(response(req, link, 403, phrase(403), agent)),
                        Verdict::Stale => true,
                    }
                }
            },
        };
        let realm = req
            .header("From")
            .map(message::addr_uri)
            .and_then(Uri::parse)
            .map(|u| u.host.to_string())
            .unwrap_or_default();
        let mut r = response(req, link, 407, phrase(407), agent);
        for &alg in &self.config.digest {
            let nonce = self.nonces.issue(alg, now, self.seed);
            r.push("Proxy-Authenticate", digest::challenge(&realm, &nonce, alg, stale));
        }
        Err(r)
    }

    /// An authenticated REGISTER: store, refresh or remove, and answer 200 with the
    /// bindings as RFC 3261 §10.3 step 8 lists them.
    #[allow(clippy::too_many_arguments)]
    fn accept(
        &mut self,
        pbx: &Pbx,
        link: &Link,
        req: &Message,
        agent: &str,
        user: &str,
        reg_host: &str,
        exptime: u64,
        contacts: &[&str],
    ) -> Message {
        let mut ok = response(req, link, 200, "OK", agent);
        let call_id = req.header("Call-ID").unwrap_or_default();
        if contacts.first().is_some_and(|c| c.trim() == "*") {
            let _ = pbx.unregister(user);
            return ok;
        }
        let Some(contact) = contacts.first() else {
            // A query: the bindings, no change.
            push_bindings(pbx, user, &mut ok);
            return ok;
        };
        if exptime == 0 {
            pbx.unregister_device(user, call_id);
            return ok;
        }
        let Some(shape) = shape(contact, req, link) else {
            return response(req, link, 400, "Bad Contact", agent);
        };
        let device_agent = req.header("User-Agent").unwrap_or("unknown");
        pbx.register_device(user, reg_host, link.transport, device_agent, exptime, shape);
        push_bindings(pbx, user, &mut ok);
        ok.set("Contact", format!("{};expires={exptime}", angle(contact)));
        ok
    }
}

/// `Contact: <uri>` of each binding of `user`, with its time left.
fn push_bindings(pbx: &Pbx, user: &str, ok: &mut Message) {
    let now = pbx.now_us() / 1_000_000;
    for r in pbx.registrations().into_iter().filter(|r| r.user == user) {
        let left = r.expires_epoch.saturating_sub(now + crate::fs::pbx::registry::LATE_MARGIN_SECS);
        let uri = message::addr_uri(&r.contact);
        ok.push("Contact", format!("<{uri}>;expires={left}"));
    }
}

/// The contact's URI in angle brackets (without its header parameters).
fn angle(contact: &str) -> String {
    format!("<{}>", message::addr_uri(contact))
}

/// The contact as sofia stores it, and where the device is.
fn shape(contact: &str, req: &Message, link: &Link) -> Option<DeviceShape> {
    let uri_text = message::addr_uri(contact);
    let uri = Uri::parse(uri_text)?;
    let contact_user = uri.user.unwrap_or_default().to_string();
    let port = uri.port.map(|p| format!(":{p}")).unwrap_or_default();
    let contact_host = format!("{}{port}", uri.host);
    let display = contact
        .split_once('<')
        .map(|(d, _)| d.trim())
        .filter(|d| !d.is_empty())
        .or_else(|| {
            req.header("To").and_then(|t| t.split_once('<')).map(|(d, _)| d.trim()).filter(|d| !d.is_empty())
        })
        .unwrap_or("\"\"");
    let display = if display.contains('"') { display.to_string() } else { format!("\"{display}\"") };
    let uparams = uri.params.trim_start_matches(';');
    let proto = if uri.scheme.eq_ignore_ascii_case("sips") { "sips" } else { "sip" };
    let network_ip = link.peer.ip().to_string();
    let network_port = link.peer.port();
    let params = if uparams.is_empty() { String::new() } else { format!(";{uparams}") };
    let nat = if link.transport.is_websocket() {
        // sofia_reg.c: a WebSocket device is NATed: fs_nat, and an fs_path to its source.
        let path = format!("{proto}:{contact_user}@{network_ip}:{network_port}{params}");
        format!(";fs_nat=yes;fs_path={}", url_encode(&path))
    } else {
        String::new()
    };
    let contact = format!("{display} <{proto}:{contact_user}@{contact_host}{params}{nat}>");
    Some(DeviceShape {
        contact_user,
        contact_host,
        contact,
        network_ip,
        network_port,
        call_id: req.header("Call-ID").unwrap_or_default().to_string(),
    })
}
