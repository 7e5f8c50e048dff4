//! The text grammar of `originate` and `bridge`: FreeSWITCH's argument splitter
//! (switch_utils.c `switch_separate_string`, blank delimiter) and the dial string of
//! switch_ivr_originate.c (`{global}` / `<global>` variables, `|` failover groups, `,`
//! simultaneous legs, `[per-leg]` variables).

/// Bound on the arguments `switch_separate_string` returns (`originate_function` passes
/// `argv[10]`); the last one keeps the unsplit rest, as in C.
pub(super) const MAX_ARGS: usize = 10;
/// Bound on the legs and failover groups of one dial string (`MAX_PEERS` is 128).
pub(super) const MAX_LEGS: usize = 128;

/// `separate_string_blank_delim` then `cleanup_separated_string`: words split on runs of
/// spaces outside single quotes; quotes are dropped, `\` escapes the next character.
pub(super) fn separate_blank(input: &str, max: usize) -> Vec<String> {
    let bytes = input.as_bytes();
    let mut starts_ends: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    let mut quoted = false;
    while i < bytes.len() && starts_ends.len() < max {
        let start = i;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if starts_ends.len() + 1 == max {
            starts_ends.push((start, bytes.len()));
            break;
        }
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'\'' => quoted = !quoted,
                b' ' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        starts_ends.push((start, i.min(bytes.len())));
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
    }
    starts_ends.into_iter().map(|(s, e)| cleanup(&input[s..e], None)).collect()
}

/// `separate_string_char_delim`: split on `delim` outside single quotes.
pub(super) fn separate_char(input: &str, delim: char, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if parts.len() + 1 >= max {
            cur.push(c);
            cur.extend(chars.by_ref());
            break;
        }
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c == delim && !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts.into_iter().map(|p| cleanup(&p, Some(delim))).collect()
}

/// `cleanup_separated_string`: leading spaces and quotes go, escapes resolve, trailing
/// unquoted spaces go.
fn cleanup(s: &str, delim: Option<char>) -> String {
    let s = s.trim_start_matches(' ');
    let mut out = String::with_capacity(s.len());
    let mut end = 0;
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&e) = chars.peek() {
                let un = match e {
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    's' => Some(' '),
                    '\'' | '"' | '\\' => Some(e),
                    e if Some(e) == delim => Some(e),
                    _ => None,
                };
                if let Some(u) = un {
                    chars.next();
                    out.push(u);
                    end = out.len();
                    continue;
                }
            }
        }
        if c == '\'' {
            quoted = !quoted;
            if quoted {
                end = out.len();
            }
            continue;
        }
        out.push(c);
        if c != ' ' || quoted {
            end = out.len();
        }
    }
    out.truncate(end);
    out
}

/// One leg of a dial string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LegSpec {
    /// `[x=y]` variables of this leg (after the global ones, so they win).
    pub vars: Vec<(String, String)>,
    /// `user/1000`, `loopback/9199/test`, …
    pub target: String,
}

/// A parsed dial string: failover groups tried in order, each dialled at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DialString {
    pub global: Vec<(String, String)>,
    pub groups: Vec<Vec<LegSpec>>,
}

/// Why a dial string could not be parsed; FreeSWITCH ends the originate with this cause.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Malformed;

/// `{a=b,c='x,y'}` → pairs; `^^:` switches the delimiter as `switch_event_create_brackets` allows.
fn parse_vars(body: &str) -> Vec<(String, String)> {
    let (delim, body) = match body.strip_prefix("^^") {
        Some(rest) if rest.len() > 1 => {
            let d = rest.chars().next().unwrap_or(',');
            (d, &rest[d.len_utf8()..])
        }
        _ => (',', body),
    };
    separate_char(body, delim, MAX_LEGS)
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// The text between an opening bracket at the start of `s` and its matching close.
fn bracketed(s: &str, open: char, close: char) -> Option<(&str, &str)> {
    let rest = s.strip_prefix(open)?;
    let mut depth = 1;
    for (i, c) in rest.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some((&rest[..i], &rest[i + 1..]));
            }
        }
    }
    None
}

/// Splits on `delim` outside brackets and quotes (a `[a=b,c=d]` block keeps its commas).
fn split_top(s: &str, delim: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' | '{' | '<' if !quoted => depth += 1,
            ']' | '}' | '>' if !quoted => depth -= 1,
            '\'' => quoted = !quoted,
            c if c == delim && depth <= 0 && !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

impl DialString {
    pub(super) fn parse(text: &str) -> Result<DialString, Malformed> {
        let mut rest = text.trim();
        let mut global = Vec::new();
        while let Some((body, after)) = bracketed(rest, '{', '}').or_else(|| bracketed(rest, '<', '>')) {
            global.extend(parse_vars(body));
            rest = after.trim_start();
        }
        if rest.starts_with('{') || rest.starts_with('<') {
            return Err(Malformed);
        }
        let mut groups = Vec::new();
        for group in split_top(rest, '|').into_iter().take(MAX_LEGS) {
            let mut legs = Vec::new();
            for leg in split_top(group, ',').into_iter().take(MAX_LEGS) {
                let mut leg = leg.trim();
                let mut vars = Vec::new();
                if leg.starts_with('[') {
                    let (body, after) = bracketed(leg, '[', ']').ok_or(Malformed)?;
                    vars = parse_vars(body);
                    leg = after.trim_start();
                }
                if leg.is_empty() {
                    continue;
                }
                legs.push(LegSpec { vars, target: leg.to_string() });
            }
            if !legs.is_empty() {
                groups.push(legs);
            }
        }
        if groups.is_empty() {
            return Err(Malformed);
        }
        Ok(DialString { global, groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // switch_utils.c separate_string_blank_delim + cleanup_separated_string.
    #[test]
    fn blank_split_keeps_quoted_words() {
        assert_eq!(
            separate_blank("user/1000  &park() XML default 'ESL Test' 1234 ", MAX_ARGS),
            ["user/1000", "&park()", "XML", "default", "ESL Test", "1234"]
        );
        // An escaped blank keeps the word whole but stays escaped; `\s` is the blank.
        assert_eq!(separate_blank("a\\ b c", MAX_ARGS), ["a\\ b", "c"]);
        assert_eq!(separate_blank("a\\sb c", MAX_ARGS), ["a b", "c"]);
        let many = separate_blank("1 2 3 4 5 6 7 8 9 10 11 12", MAX_ARGS);
        assert_eq!(many.len(), 10);
        assert_eq!(many[9], "10 11 12");
    }

    #[test]
    fn dial_string_grammar() {
        let d = DialString::parse("{a=b,c='x,y'}[l=1]user/1000,loopback/9199/test|error/USER_BUSY").unwrap();
        assert_eq!(d.global, [("a".into(), "b".into()), ("c".into(), "x,y".into())]);
        assert_eq!(d.groups.len(), 2);
        assert_eq!(
            d.groups[0][0],
            LegSpec { vars: vec![("l".into(), "1".into())], target: "user/1000".into() }
        );
        assert_eq!(d.groups[0][1].target, "loopback/9199/test");
        assert_eq!(d.groups[1][0].target, "error/USER_BUSY");
        assert_eq!(DialString::parse("{a=b"), Err(Malformed));
        assert_eq!(DialString::parse("{a=b}"), Err(Malformed));
    }
}
