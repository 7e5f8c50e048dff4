//! `probe`: counts the chips by shifting a marker through the chain and listening for it
//! on DOUT of the last module (wired to the Pi's MISO through a voltage divider).
//!
//! Only no-op words (register 0x0) are ever sent, and every chip ignores a no-op's data
//! byte, so the marker can be a no-op with a distinctive data byte: the chips latch no-ops
//! when CS rises and the picture stays as it was. Counting is done in bits, so a DOUT that
//! the Pi samples a clock late still gives the right count.

use embedded_hal::spi::{Operation, SpiDevice};

/// The marker: two no-op words whose data bytes are unlikely to come from noise or from a
/// picture (a no-op never reaches a display register, so nothing else sends these).
pub const MARKER: [u8; 4] = [0x00, 0xA5, 0x00, 0x5A];

/// The longest chain `probe` looks for by default. One transaction carries twice this many
/// words plus the marker, which stays well under spidev's default 4096-byte buffer.
pub const DEFAULT_MAX_CHIPS: usize = 256;

/// What came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeReport {
    /// The marker came back after `chips` words.
    Intact {
        /// Chips the marker passed through.
        chips: usize,
        /// Bits of delay beyond `16·chips`: DOUT sampled off by a clock (harmless, but
        /// worth knowing when a long chain misbehaves).
        skew_bits: i64,
    },
    /// Nothing came back within `words` words.
    NoMarker {
        /// Words shifted in before giving up.
        words: usize,
    },
}

impl std::fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ProbeReport::Intact { chips, skew_bits: 0 } => {
                write!(f, "chain intact, {chips} chip{}", if chips == 1 { "" } else { "s" })
            }
            ProbeReport::Intact { chips, skew_bits } => write!(
                f,
                "chain intact, {chips} chip{} (DOUT arrives {skew_bits:+} bit{} off the word boundary)",
                if chips == 1 { "" } else { "s" },
                if skew_bits.abs() == 1 { "" } else { "s" }
            ),
            ProbeReport::NoMarker { words } => write!(
                f,
                "no marker came back after {words} words: DOUT not wired to MISO, or the chain is broken after some module"
            ),
        }
    }
}

/// The probe could not talk to the bus, or was asked for nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError<E: std::fmt::Debug> {
    #[error("SPI transfer failed: {0:?}")]
    /// The SPI device failed.
    Spi(E),
    #[error("--max-chips must be between 1 and 4096, got {0}")]
    /// `max_chips` is beyond what any chain can be.
    MaxChips(usize),
}

/// Shifts `max_chips` no-op words (to flush whatever the chain holds), the marker, and
/// `max_chips` more no-op words through the chain in one CS period, reading MISO all the
/// way, and finds where the marker came back.
pub fn probe<SPI: SpiDevice<u8>>(
    spi: &mut SPI,
    max_chips: usize,
) -> Result<ProbeReport, ProbeError<SPI::Error>> {
    if !(1..=4096).contains(&max_chips) {
        return Err(ProbeError::MaxChips(max_chips));
    }
    let flush = 2 * max_chips;
    let mut out = vec![0u8; flush + MARKER.len() + 2 * max_chips];
    out[flush..flush + MARKER.len()].copy_from_slice(&MARKER);
    let mut back = vec![0u8; out.len()];
    spi.transaction(&mut [Operation::Transfer(&mut back, &out)]).map_err(ProbeError::Spi)?;
    // Only bits clocked after the marker left can be the marker coming back; earlier
    // ones are what the shift registers held before.
    let sent_at = 8 * (flush + 1);
    let found = find_bits(&back, &MARKER[1..], sent_at);
    Ok(match found {
        Some(at) => {
            let delay = (at - sent_at) as i64;
            let chips = (delay + 8).div_euclid(16);
            ProbeReport::Intact { chips: chips as usize, skew_bits: delay - 16 * chips }
        }
        None => ProbeReport::NoMarker { words: max_chips },
    })
}

/// The first bit position at or after `from` where `pattern` starts in `stream` (both
/// read most significant bit first).
fn find_bits(stream: &[u8], pattern: &[u8], from: usize) -> Option<usize> {
    let bit = |bytes: &[u8], i: usize| bytes[i / 8] & (0x80 >> (i % 8)) != 0;
    let (n, m) = (stream.len() * 8, pattern.len() * 8);
    (from..=n.checked_sub(m)?).find(|&start| (0..m).all(|i| bit(stream, start + i) == bit(pattern, i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_search_finds_shifted_patterns() {
        assert_eq!(find_bits(&[0x00, 0xA5, 0x00, 0x5A], &[0xA5, 0x00, 0x5A], 0), Some(8));
        // The same, one bit later.
        assert_eq!(find_bits(&[0x00, 0x52, 0x80, 0x2D, 0x00], &[0xA5, 0x00, 0x5A], 0), Some(9));
        assert_eq!(find_bits(&[0x00, 0xA5, 0x00, 0x5A], &[0xA5, 0x00, 0x5A], 9), None);
        assert_eq!(find_bits(&[0xA5], &[0xA5, 0x00], 0), None);
    }

    #[test]
    fn messages_say_what_to_check() {
        assert_eq!(ProbeReport::Intact { chips: 4, skew_bits: 0 }.to_string(), "chain intact, 4 chips");
        assert_eq!(ProbeReport::Intact { chips: 1, skew_bits: 0 }.to_string(), "chain intact, 1 chip");
        assert!(ProbeReport::NoMarker { words: 256 }
            .to_string()
            .starts_with("no marker came back after 256 words"));
    }
}
