//! What mod_xml_rpc makes of a request before it runs a command: the URI as abyss
//! decodes it, the `/api/` family of paths, the basic-auth check. Pure functions, so the
//! rules are tested without a socket.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

use crate::fs::pbx::StreamFormat;

/// How the output of a command is framed (`handler_hook`'s `api`/`html`/`text`/`xml` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `/api/`: no Content-Type from the module; the command may write its own header,
    /// else the first write adds `Content-Type: text/plain` (`http_stream_write`).
    Api,
    /// `/webapi/`: `text/html`; commands that know HTTP format for the web.
    Web,
    /// `/txtapi/`: `text/plain`.
    Txt,
    /// `/xmlapi/`: `text/xml`.
    Xml,
}

impl Flavour {
    /// The Content-Type the module announces itself (`None` for `/api/`).
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Flavour::Api => None,
            Flavour::Web => Some("text/html"),
            Flavour::Txt => Some("text/plain"),
            Flavour::Xml => Some("text/xml"),
        }
    }

    /// What mod_commands.c `set_format` makes of it.
    pub fn stream_format(self) -> StreamFormat {
        match self {
            Flavour::Api => StreamFormat::HttpApi,
            Flavour::Web => StreamFormat::Web,
            Flavour::Txt | Flavour::Xml => StreamFormat::Plain,
        }
    }
}

/// A request that names an API command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    pub flavour: Flavour,
    /// The command, whitespace-stripped as `switch_api_execute` does.
    pub command: String,
    /// The whole decoded query, `&key=value` pairs included (mod_xml_rpc passes
    /// `info->query` unchanged and only copies the pairs into event headers).
    pub args: String,
    /// What followed the command after a `/` (`HTTP-Path-Info`).
    pub path_info: Option<String>,
}

/// abyss `unescapeUri`: every `%XX` decoded over the whole request target (query
/// included, before it is split at `?`); a `%` not followed by two hex digits is a 400.
/// `+` stays a `+`. A decoded NUL ends the C string there.
pub fn unescape_uri(raw: &str) -> Result<Vec<u8>, ()> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) else {
                return Err(());
            };
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if let Some(nul) = out.iter().position(|&b| b == 0) {
        out.truncate(nul);
    }
    Ok(out)
}

/// `switch_strip_whitespace`: leading and trailing blanks (space, tab, CR, LF) removed.
fn strip(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// `handler_hook`: the first of `/api/`, `/webapi/`, `/txtapi/`, `/xmlapi/` found
/// anywhere in the path (`strstr`, tried in that order) names the command; anything else
/// is not the module's (the file handler's 404). `decoded` is the unescaped target.
pub fn route(decoded: &str) -> Option<ApiRequest> {
    let (path, query) = match decoded.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (decoded, None),
    };
    const PREFIXES: [(&str, Flavour); 4] = [
        ("/api/", Flavour::Api),
        ("/webapi/", Flavour::Web),
        ("/txtapi/", Flavour::Txt),
        ("/xmlapi/", Flavour::Xml),
    ];
    let (flavour, command) = PREFIXES
        .iter()
        .find_map(|(prefix, flavour)| path.find(prefix).map(|at| (*flavour, &path[at + prefix.len()..])))?;
    let (command, path_info) = match command.split_once('/') {
        Some((c, info)) => (c, Some(info.to_string())),
        None => (command, None),
    };
    Some(ApiRequest {
        flavour,
        command: strip(command).to_string(),
        args: strip(query.unwrap_or("")).to_string(),
        path_info,
    })
}

/// The credentials mod_xml_rpc is configured with (xml_rpc.conf.xml `auth-realm`,
/// `auth-user`, `auth-pass`) and the domain a user without `@domain` belongs to.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub realm: String,
    pub user: String,
    pub password: String,
    /// `switch_core_get_domain`: the `domain` global, `$${local_ip_v4}` in vanilla vars.xml.
    pub default_domain: String,
}

/// What `http_directory_auth` decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Accepted: the `freeswitch-user` / `freeswitch-domain` response headers.
    Accepted { user: String, domain: String },
    /// 401 with `WWW-Authenticate: Basic realm="<realm>"`.
    Refused { realm: String },
}

/// `switch_b64_decode` skips what is not base64 rather than failing.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `http_directory_auth` for the configured user: the token after `Basic` is compared
/// byte for byte with base64 of `user:pass` (or `user@realm:pass` when the sent user
/// carried `@`). The realm a refusal names is the domain the request was checked
/// against once a Basic token was read, else the configured realm. Directory users
/// (`user_attributes`) are not consulted.
pub fn authorize(header: Option<&str>, creds: &Credentials) -> Auth {
    let refused = |realm: &str| Auth::Refused { realm: realm.to_string() };
    let Some(header) = header else { return refused(&creds.realm) };
    let value = header.trim_start_matches([' ', '\t']);
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return refused(&creds.realm);
    }
    let token = rest.trim_start_matches([' ', '\t']);
    let cleaned: String =
        token.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/')).collect();
    let decoded = LENIENT.decode(cleaned.as_bytes()).unwrap_or_default();
    let decoded = String::from_utf8_lossy(&decoded);
    let user_part = decoded.split_once(':').map_or(&*decoded, |(u, _)| u);
    let (user, domain, at) = match user_part.split_once('@') {
        Some((u, d)) => (u, d, true),
        None => (user_part, creds.default_domain.as_str(), false),
    };
    if user.is_empty() || domain.is_empty() {
        return refused(domain);
    }
    let expected = if at {
        format!("{}@{}:{}", creds.user, creds.realm, creds.password)
    } else {
        format!("{}:{}", creds.user, creds.password)
    };
    if !creds.realm.is_empty() && !creds.user.is_empty() && token == LENIENT.encode(expected) {
        return Auth::Accepted { user: user.to_string(), domain: domain.to_string() };
    }
    refused(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            realm: "freeswitch".into(),
            user: "freeswitch".into(),
            password: "works".into(),
            default_domain: "192.0.2.10".into(),
        }
    }

    #[test]
    fn unescapes_like_abyss() {
        assert_eq!(unescape_uri("/api/a%20b%2Bc+d").unwrap(), b"/api/a b+c+d");
        assert_eq!(unescape_uri("/x%3fy").unwrap(), b"/x?y");
        assert!(unescape_uri("/x%4").is_err());
        assert!(unescape_uri("/x%zz").is_err());
        assert_eq!(unescape_uri("/a%00b").unwrap(), b"/a");
    }

    #[test]
    fn routes_the_api_family() {
        let r = route("/webapi/originate?user/1000 &bridge(user/1001)").unwrap();
        assert_eq!(r.flavour, Flavour::Web);
        assert_eq!((r.command.as_str(), r.args.as_str()), ("originate", "user/1000 &bridge(user/1001)"));
        let r = route("/prefix/txtapi/show/x?calls").unwrap();
        assert_eq!(
            (r.flavour, r.command.as_str(), r.path_info.as_deref()),
            (Flavour::Txt, "show", Some("x"))
        );
        assert_eq!(route("/api/status").unwrap().args, "");
        assert!(route("/index.html").is_none());
        assert!(route("/apis/status").is_none());
    }

    #[test]
    fn basic_auth_as_http_directory_auth() {
        let b = |s: &str| format!("Basic {}", LENIENT.encode(s));
        let ok = Auth::Accepted { user: "freeswitch".into(), domain: "192.0.2.10".into() };
        assert_eq!(authorize(Some(&b("freeswitch:works")), &creds()), ok);
        assert_eq!(
            authorize(Some(&b("freeswitch:works")).map(|s| s.replace("Basic", "bAsIc")).as_deref(), &creds()),
            ok
        );
        let at = authorize(Some(&b("freeswitch@freeswitch:works")), &creds());
        assert_eq!(at, Auth::Accepted { user: "freeswitch".into(), domain: "freeswitch".into() });
        assert_eq!(authorize(None, &creds()), Auth::Refused { realm: "freeswitch".into() });
        assert_eq!(authorize(Some("Digest x"), &creds()), Auth::Refused { realm: "freeswitch".into() });
        assert_eq!(
            authorize(Some(&b("freeswitch:wrong")), &creds()),
            Auth::Refused { realm: "192.0.2.10".into() }
        );
        assert_eq!(
            authorize(Some(&b("x@example.com:works")), &creds()),
            Auth::Refused { realm: "example.com".into() }
        );
    }
}
