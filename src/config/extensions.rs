//! A busy-lamp field page's `extensions`: single extensions and ranges, checked and expanded.
//!
//! ```toml
//! extensions = ["1000-1015", "2000", "alice"]
//! ```
//!
//! An item is an extension (1 to [`MAX_EXTENSION_LEN`] letters, digits or `_ . + * #`, the
//! characters of a SIP user part that need no escaping) or a range of numbers `FIRST-LAST`,
//! both ends included; ends of the same length keep their leading zeros (`"0100-0103"`).
//! Order is kept: it is the order of the cells on the display.

/// Most extensions one page shows: 16 modules of single LEDs, beyond any operator panel.
pub const MAX_EXTENSIONS: usize = 1024;
/// Longest extension: SIP user parts of phones are short, and a longer one is a typo.
pub const MAX_EXTENSION_LEN: usize = 32;

fn plain(item: &str) -> bool {
    !item.is_empty()
        && item.len() <= MAX_EXTENSION_LEN
        && item.chars().all(|c| c.is_ascii_alphanumeric() || "_.+*#".contains(c))
}

/// Expands `items` into the extensions they name, in order; a message naming the bad item
/// otherwise (without the key, which the caller adds).
pub fn expand(items: &[String]) -> Result<Vec<String>, String> {
    if items.is_empty() {
        return Err("is empty: list the extensions, e.g. [\"1000-1015\"]".into());
    }
    let mut out: Vec<String> = Vec::new();
    let too_many = || format!("list more than {MAX_EXTENSIONS} extensions, the most one page shows");
    for item in items {
        let shown = crate::config::one_line(item);
        let bad =
            || format!("\"{shown}\" is not an extension or a range (write e.g. \"1000\" or \"1000-1015\")");
        let item = item.trim();
        match item.split_once('-') {
            Some((a, b)) => {
                let digits =
                    |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|c| c.is_ascii_digit());
                if !digits(a) || !digits(b) {
                    return Err(bad());
                }
                let (first, last) =
                    (a.parse::<u64>().map_err(|_| bad())?, b.parse::<u64>().map_err(|_| bad())?);
                if first > last {
                    return Err(format!("range \"{shown}\" runs backwards"));
                }
                // Counted before anything is made, so "1-999999999" costs nothing.
                if (last - first) as usize >= MAX_EXTENSIONS.saturating_sub(out.len()) {
                    return Err(too_many());
                }
                let width = if a.len() == b.len() { a.len() } else { 0 };
                out.extend((first..=last).map(|n| format!("{n:0width$}")));
            }
            None if plain(item) => {
                if out.len() >= MAX_EXTENSIONS {
                    return Err(too_many());
                }
                out.push(item.to_owned());
            }
            None => return Err(bad()),
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = out.iter().find(|e| !seen.insert(e.as_str())) {
        return Err(format!("{twice} is listed twice"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Result<Vec<String>, String> {
        expand(&items.iter().map(|i| (*i).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn ranges_and_single_extensions_expand_in_order() {
        assert_eq!(list(&["1000-1002", "2000", "alice"]).unwrap(), ["1000", "1001", "1002", "2000", "alice"]);
        assert_eq!(list(&["0098-0101"]).unwrap(), ["0098", "0099", "0100", "0101"], "leading zeros kept");
        assert_eq!(list(&["98-101"]).unwrap(), ["98", "99", "100", "101"]);
        assert_eq!(list(&[" 7 "]).unwrap(), ["7"]);
        assert_eq!(list(&["1000-1000"]).unwrap(), ["1000"]);
    }

    #[test]
    fn bad_input_is_one_line_naming_the_item() {
        let err = |items: &[&str]| list(items).unwrap_err();
        assert!(err(&[]).contains("is empty"));
        assert!(err(&["10a0-1015"]).contains("\"10a0-1015\" is not an extension or a range"));
        assert!(err(&["1000-"]).contains("not an extension"));
        assert!(err(&["a b"]).contains("not an extension"));
        assert!(err(&["1\n2"]).contains("\"1\\n2\""), "control characters escaped: {}", err(&["1\n2"]));
        assert!(err(&["1015-1000"]).contains("runs backwards"));
        assert!(err(&["1000-1001", "1001"]).contains("1001 is listed twice"));
        assert!(err(&["1-999999999999999999"]).contains("more than 1024"));
        assert!(err(&["1-1024", "x"]).contains("more than 1024"));
        assert_eq!(list(&["1-1024"]).unwrap().len(), MAX_EXTENSIONS);
        assert!(err(&[&"9".repeat(40)]).contains("not an extension"));
        for e in [err(&["1015-1000"]), err(&["a b"]), err(&["1-99999"])] {
            assert!(!e.contains('\n'));
        }
    }
}
