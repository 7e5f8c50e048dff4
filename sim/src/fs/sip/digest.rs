//! Digest authentication as sofia_reg.c does it (RFC 2617, RFC 8760 for SHA-256):
//! challenges with a fresh nonce per `sofia_reg_auth_challenge`, answers checked by
//! `sofia_reg_parse_auth` against the directory's password.
//!
//! Nonces: FreeSWITCH keeps each in its `sip_authentication` table for
//! `DEFAULT_NONCE_TTL` (60 s, mod_sofia.h) and, after a good answer, for 60 s plus the
//! registration's Expires. An unknown or expired nonce, or a nonce count (`nc`) not above
//! the last one used, is *stale*: answered with a new challenge carrying `stale=true`, so
//! the client retries without asking its user. Bound: at most [`MAX_NONCES`] nonces are
//! kept; beyond that the oldest is forgotten (its client then gets a stale challenge).

use std::collections::{HashMap, VecDeque};

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// Outstanding nonces at most (each about 100 bytes).
pub const MAX_NONCES: usize = 10_000;
/// `DEFAULT_NONCE_TTL` in mod_sofia.h.
pub const NONCE_TTL_SECS: u64 = 60;

/// A digest algorithm the profile challenges with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RFC 2617's, the vanilla profile's only one.
    Md5,
    /// RFC 8760's `SHA-256`.
    Sha256,
}

impl Algorithm {
    /// The `algorithm=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// `sofia_alg_str2id`: case-insensitive.
    pub fn parse(s: &str) -> Option<Algorithm> {
        [Algorithm::Md5, Algorithm::Sha256].into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// The lower-case hex hash of `data`.
    pub fn hex(self, data: &str) -> String {
        let bytes: Vec<u8> = match self {
            Algorithm::Md5 => Md5::digest(data.as_bytes()).to_vec(),
            Algorithm::Sha256 => Sha256::digest(data.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The fields of an `Authorization: Digest …` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri`.
    pub uri: String,
    /// `response`.
    pub response: String,
    /// `algorithm` (MD5 when absent).
    pub algorithm: Option<String>,
    /// `qop`.
    pub qop: Option<String>,
    /// `nc`.
    pub nc: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
}

impl Credentials {
    /// Parses `Digest k=v, k="v", …`; `None` when it is not Digest or misses one of
    /// username, realm, nonce, uri, response (sofia: "Invalid Authorization header!").
    pub fn parse(header: &str) -> Option<Credentials> {
        let rest = header.trim();
        let (scheme, rest) = rest.split_once([' ', '\t'])?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let mut c = Credentials::default();
        let (mut have_user, mut have_realm, mut have_nonce, mut have_uri, mut have_resp) =
            (false, false, false, false, false);
        for part in super::message::split_list(rest) {
            let Some((k, v)) = part.split_once('=') else { continue };
            let v = v.trim().trim_matches('"').to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "username" => (c.username, have_user) = (v, true),
                "realm" => (c.realm, have_realm) = (v, true),
                "nonce" => (c.nonce, have_nonce) = (v, true),
                "uri" => (c.uri, have_uri) = (v, true),
                "response" => (c.response, have_resp) = (v, true),
                "algorithm" => c.algorithm = Some(v),
                "qop" => c.qop = Some(v),
                "nc" => c.nc = Some(v),
                "cnonce" => c.cnonce = Some(v),
                _ => {}
            }
        }
        (have_user && have_realm && have_nonce && have_uri && have_resp).then_some(c)
    }

    /// The response a client with `password` would send for `method` (RFC 2617 §3.2.2;
    /// with `qop` the nonce count and client nonce are hashed in).
    pub fn expected(&self, algorithm: Algorithm, method: &str, password: &str) -> String {
        let ha1 = algorithm.hex(&format!("{}:{}:{}", self.username, self.realm, password));
        let ha2 = algorithm.hex(&format!("{method}:{}", self.uri));
        match (&self.qop, &self.nc, &self.cnonce) {
            (Some(qop), Some(nc), Some(cnonce)) => {
                algorithm.hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce))
            }
            _ => algorithm.hex(&format!("{ha1}:{}:{ha2}", self.nonce)),
        }
    }
}

/// What checking an answer gave (sofia's `auth_res_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `AUTH_OK` / `AUTH_RENEWED`.
    Ok,
    /// `AUTH_STALE`: challenge again with `stale=true`.
    Stale,
    /// `AUTH_FORBIDDEN`: 403.
    Forbidden,
}

struct Nonce {
    expires: u64,
    last_nc: u64,
    algorithm: Algorithm,
}

/// The profile's `sip_authentication` table.
#[derive(Default)]
pub struct Nonces {
    by_value: HashMap<String, Nonce>,
    order: VecDeque<String>,
    counter: u64,
}

impl Nonces {
    /// A new nonce for a challenge with `algorithm` at `now` (epoch seconds). `seed`
    /// makes it unguessable enough for a mock and reproducible with a seeded model.
    pub fn issue(&mut self, algorithm: Algorithm, now: u64, seed: u64) -> String {
        self.counter += 1;
        let a = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ self.counter.rotate_left(17);
        let value = format!("{:016x}-{:08x}", a, self.counter as u32);
        // Oldest first: expired ones, then live ones while the table is full. `order` may
        // name nonces already dropped at lookup; it is compacted when it doubles.
        while let Some(front) = self.order.front() {
            let expired = self.by_value.get(front).is_none_or(|e| e.expires < now);
            if !expired && self.by_value.len() < MAX_NONCES {
                break;
            }
            if let Some(old) = self.order.pop_front() {
                self.by_value.remove(&old);
            }
        }
        if self.order.len() > 2 * MAX_NONCES {
            let live = &self.by_value;
            self.order.retain(|n| live.contains_key(n));
        }
        self.by_value.insert(value.clone(), Nonce { expires: now + NONCE_TTL_SECS, last_nc: 0, algorithm });
        self.order.push_back(value.clone());
        value
    }

    /// Nonces kept now.
    pub fn len(&self) -> usize {
        self.by_value.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.by_value.is_empty()
    }

    /// `sofia_reg_parse_auth`: the nonce must be ours, live, with a higher `nc`, and the
    /// response right for `password` (`None`: no such user → forbidden). On success the
    /// nonce lives on for 60 s plus `expires` (the next refresh may reuse it).
    pub fn check(
        &mut self,
        creds: &Credentials,
        method: &str,
        password: Option<&str>,
        now: u64,
        expires: u64,
    ) -> Verdict {
        let algorithm = match creds.algorithm.as_deref() {
            None => Algorithm::Md5,
            Some(a) => match Algorithm::parse(a) {
                Some(a) => a,
                None => return Verdict::Forbidden,
            },
        };
        let nc = creds.nc.as_deref().map(|n| u64::from_str_radix(n, 16).unwrap_or(0));
        let Some(entry) = self.by_value.get_mut(&creds.nonce) else { return Verdict::Stale };
        if entry.expires < now {
            self.by_value.remove(&creds.nonce);
            return Verdict::Stale;
        }
        if nc.is_some_and(|n| n <= entry.last_nc) {
            return Verdict::Stale;
        }
        let Some(password) = password else { return Verdict::Forbidden };
        if algorithm != entry.algorithm || creds.expected(algorithm, method, password) != creds.response {
            return Verdict::Forbidden;
        }
        if let Some(n) = nc {
            entry.last_nc = n;
            entry.expires = now + NONCE_TTL_SECS + expires;
        }
        Verdict::Ok
    }
}

/// `sofia_reg_auth_challenge`'s header value.
pub fn challenge(realm: &str, nonce: &str, algorithm: Algorithm, stale: bool) -> String {
    format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\",{} algorithm={}, qop=\"auth\"",
        if stale { " stale=true," } else { "" },
        algorithm.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2617 §3.5's example (qop=auth, MD5): Mufasa / "Circle Of Life".
    #[test]
    fn rfc2617_example() {
        let header = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let c = Credentials::parse(header).unwrap();
        assert_eq!(c.expected(Algorithm::Md5, "GET", "Circle Of Life"), c.response);
    }

    // RFC 7616 §3.9.1's SHA-256 example (the same hash RFC 8760 names for SIP).
    #[test]
    fn rfc7616_sha256_example() {
        let header = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let c = Credentials::parse(header).unwrap();
        assert_eq!(c.expected(Algorithm::Sha256, "GET", "Circle of Life"), c.response);
    }

    fn answer(nonce: &str, nc: &str, password: &str, alg: Algorithm) -> Credentials {
        let mut c = Credentials {
            username: "1000".into(),
            realm: "192.0.2.10".into(),
            nonce: nonce.into(),
            uri: "sip:192.0.2.10".into(),
            algorithm: Some(alg.as_str().into()),
            qop: Some("auth".into()),
            nc: Some(nc.into()),
            cnonce: Some("abc".into()),
            ..Credentials::default()
        };
        c.response = c.expected(alg, "REGISTER", password);
        c
    }

    // sofia_reg_parse_auth: an unknown nonce or a reused nc is AUTH_STALE, a wrong
    // password AUTH_FORBIDDEN; DEFAULT_NONCE_TTL (60 s) ends an unused nonce.
    #[test]
    fn nonce_life_and_counts() {
        let mut n = Nonces::default();
        let nonce = n.issue(Algorithm::Md5, 1000, 7);
        let ok = answer(&nonce, "00000001", "1234", Algorithm::Md5);
        assert_eq!(n.check(&ok, "REGISTER", Some("1234"), 1001, 3600), Verdict::Ok);
        assert_eq!(n.check(&ok, "REGISTER", Some("1234"), 1002, 3600), Verdict::Stale, "nc reused");
        let next = answer(&nonce, "00000002", "1234", Algorithm::Md5);
        assert_eq!(
            n.check(&next, "REGISTER", Some("1234"), 1000 + 3000, 3600),
            Verdict::Ok,
            "kept for expires"
        );
        let wrong = answer(&nonce, "00000003", "0000", Algorithm::Md5);
        assert_eq!(n.check(&wrong, "REGISTER", Some("1234"), 4001, 3600), Verdict::Forbidden);
        assert_eq!(
            n.check(&answer(&nonce, "4", "1234", Algorithm::Md5), "REGISTER", None, 4001, 0),
            Verdict::Forbidden
        );
        let unused = n.issue(Algorithm::Sha256, 5000, 7);
        let late = answer(&unused, "00000001", "1234", Algorithm::Sha256);
        assert_eq!(
            n.check(&late, "REGISTER", Some("1234"), 5061, 3600),
            Verdict::Stale,
            "expired after 60 s"
        );
        let fresh = n.issue(Algorithm::Sha256, 6000, 7);
        assert_eq!(
            n.check(&answer(&fresh, "1", "1234", Algorithm::Md5), "REGISTER", Some("1234"), 6001, 0),
            Verdict::Forbidden,
            "algorithm differs from the challenge"
        );
        assert_eq!(
            n.check(&answer(&fresh, "1", "1234", Algorithm::Sha256), "REGISTER", Some("1234"), 6001, 0),
            Verdict::Ok
        );
    }

    #[test]
    fn nonce_table_is_bounded() {
        let mut n = Nonces::default();
        let first = n.issue(Algorithm::Md5, 0, 1);
        for _ in 0..MAX_NONCES + 5 {
            n.issue(Algorithm::Md5, 0, 1);
        }
        assert_eq!(n.len(), MAX_NONCES);
        let c = answer(&first, "1", "1234", Algorithm::Md5);
        assert_eq!(n.check(&c, "REGISTER", Some("1234"), 1, 0), Verdict::Stale);
    }

    #[test]
    fn challenge_text_is_sofias() {
        assert_eq!(
            challenge("192.0.2.10", "n1", Algorithm::Md5, false),
            "Digest realm=\"192.0.2.10\", nonce=\"n1\", algorithm=MD5, qop=\"auth\""
        );
        assert_eq!(
            challenge("r", "n", Algorithm::Sha256, true),
            "Digest realm=\"r\", nonce=\"n\", stale=true, algorithm=SHA-256, qop=\"auth\""
        );
        assert_eq!(Credentials::parse("Basic abc"), None);
        assert_eq!(Credentials::parse("Digest username=\"a\""), None);
    }
}
