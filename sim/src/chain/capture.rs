//! SPI captures as text: one CS transaction per line, so recordings (spilog files, luma
//! dumps, logic-analyser exports) can be replayed into a [`VirtualChain`](super::VirtualChain).
//!
//! Format:
//! * each non-blank line is one transaction;
//! * `#` starts a comment that runs to the end of the line;
//! * bytes are hex, case-insensitive, written as whitespace-separated tokens; a token may
//!   hold several bytes back to back (`01 00` and `0100` are the same two bytes), so both
//!   spaced dumps and contiguous hex strings read the same way;
//! * every token must have an even number of hex digits (a lone nibble is ambiguous);
//! * lines with no bytes (blank or comment-only) are skipped.

use thiserror::Error;

/// Why a capture could not be read. Line numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CaptureError {
    /// A token with an odd number of hex digits: which nibble is missing is unknowable.
    #[error("line {line}: `{token}` has an odd number of hex digits")]
    OddDigits {
        /// 1-based line number.
        line: usize,
        /// The offending token (shortened if long).
        token: String,
    },
    /// A token with a character that is not a hex digit.
    #[error("line {line}: `{token}` is not hex")]
    NotHex {
        /// 1-based line number.
        line: usize,
        /// The offending token (shortened if long).
        token: String,
    },
    /// The text holds no transaction at all, which is never a useful capture.
    #[error("capture holds no transactions")]
    Empty,
}

/// Parses one line of a capture (`line_no` counts from 1 for messages): its transaction,
/// or `None` for a blank or comment-only line. For reading a capture as a stream.
pub fn parse_capture_line(line: &str, line_no: usize) -> Result<Option<Vec<u8>>, CaptureError> {
    let content = line.split_once('#').map_or(line, |(before, _)| before);
    let mut bytes = Vec::new();
    for token in content.split_whitespace() {
        parse_token(token, line_no, &mut bytes)?;
    }
    Ok((!bytes.is_empty()).then_some(bytes))
}

/// Parses a capture into transactions, one `Vec<u8>` per CS period, in order.
pub fn parse_capture(text: &str) -> Result<Vec<Vec<u8>>, CaptureError> {
    let mut transactions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if let Some(bytes) = parse_capture_line(line, index + 1)? {
            transactions.push(bytes);
        }
    }
    if transactions.is_empty() {
        return Err(CaptureError::Empty);
    }
    Ok(transactions)
}

fn parse_token(token: &str, line: usize, out: &mut Vec<u8>) -> Result<(), CaptureError> {
    if !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CaptureError::NotHex { line, token: shorten(token) });
    }
    // All ASCII from here, so byte offsets are char boundaries.
    if token.len() % 2 != 0 {
        return Err(CaptureError::OddDigits { line, token: shorten(token) });
    }
    for pair in token.as_bytes().chunks_exact(2) {
        out.push((nibble(pair[0]) << 4) | nibble(pair[1]));
    }
    Ok(())
}

/// Value of an ASCII hex digit; callers have checked `is_ascii_hexdigit`.
fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit.wrapping_sub(b'A').wrapping_add(10),
    }
}

/// Keeps error messages on one readable line even for a megabyte of garbage.
fn shorten(token: &str) -> String {
    const MAX: usize = 24;
    if token.chars().count() <= MAX {
        token.to_owned()
    } else {
        let head: String = token.chars().take(MAX).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_contiguous_and_mixed_tokens() {
        let text = "# luma init\n0B 07 0b 07\n\n   \n09000900  # decode off\n0f00 0F 00\n";
        assert_eq!(
            parse_capture(text).unwrap(),
            vec![vec![0x0B, 0x07, 0x0B, 0x07], vec![0x09, 0, 0x09, 0], vec![0x0F, 0, 0x0F, 0]]
        );
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(
            parse_capture("01 00\n# c\n01 0\n").unwrap_err(),
            CaptureError::OddDigits { line: 3, token: "0".into() }
        );
        assert_eq!(
            parse_capture("01 00\n0x01\n").unwrap_err(),
            CaptureError::NotHex { line: 2, token: "0x01".into() }
        );
        assert_eq!(parse_capture("01 00\nzz é\n").unwrap_err().to_string(), "line 2: `zz` is not hex");
    }

    #[test]
    fn empty_captures_are_rejected() {
        assert_eq!(parse_capture(""), Err(CaptureError::Empty));
        assert_eq!(parse_capture("# only a comment\n\n  \t\n"), Err(CaptureError::Empty));
    }

    #[test]
    fn long_bad_tokens_are_shortened() {
        let token = "é".repeat(100);
        let message = parse_capture(&token).unwrap_err().to_string();
        assert!(message.chars().count() < 60, "{message}");
        assert!(message.starts_with("line 1: `éé"));
    }
}
