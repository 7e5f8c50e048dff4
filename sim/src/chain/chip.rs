//! One MAX7219's register file and what its LEDs show.

/// Code-B font, indexed by the low nibble of a digit register, in segment order
/// DP,A,B,C,D,E,F,G = bits 7..0 (DP is never set here: it passes through from bit 7).
const CODE_B: [u8; 16] = [
    0x7E, 0x30, 0x6D, 0x79, 0x33, 0x5B, 0x5F, 0x70, // 0..7
    0x7F, 0x7B, 0x01, 0x4F, 0x37, 0x0E, 0x67, 0x00, // 8, 9, '-', 'E', 'H', 'L', 'P', blank
];

/// Register addresses (the low nibble of a word's high byte).
pub(crate) mod reg {
    pub const NO_OP: u8 = 0x0;
    pub const DIGIT_0: u8 = 0x1;
    pub const DIGIT_7: u8 = 0x8;
    pub const DECODE_MODE: u8 = 0x9;
    pub const INTENSITY: u8 = 0xA;
    pub const SCAN_LIMIT: u8 = 0xB;
    pub const SHUTDOWN: u8 = 0xC;
    pub const UNDEFINED_D: u8 = 0xD;
    pub const UNDEFINED_E: u8 = 0xE;
    pub const DISPLAY_TEST: u8 = 0xF;
}

/// The latched state of one MAX7219.
///
/// Values are kept as the chip keeps them (intensity as the 4-bit register, not a duty),
/// so tests can compare them with what a driver meant to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chip {
    digits: [u8; 8],
    decode_mode: u8,
    intensity: u8,
    scan_limit: u8,
    shutdown: bool,
    test: bool,
}

impl Default for Chip {
    /// The datasheet's power-on state: control registers reset, the part in shutdown.
    /// Digit RAM is undefined on real parts; here it starts zeroed (see
    /// [`VirtualChain::with_random_ram`](super::VirtualChain::with_random_ram) for garbage).
    fn default() -> Self {
        Chip { digits: [0; 8], decode_mode: 0, intensity: 0, scan_limit: 0, shutdown: true, test: false }
    }
}

impl Chip {
    pub(crate) fn with_digits(digits: [u8; 8]) -> Self {
        Chip { digits, ..Chip::default() }
    }

    /// Applies one latched word. Returns the masked register address, which is what the
    /// chip decodes: the top nibble of the high byte is "don't care" on the wire.
    pub(crate) fn latch(&mut self, word: u16) -> u8 {
        let [high, data] = word.to_be_bytes();
        let address = high & 0x0F;
        match address {
            reg::NO_OP => {}
            reg::DIGIT_0..=reg::DIGIT_7 => self.digits[usize::from(address - reg::DIGIT_0)] = data,
            reg::DECODE_MODE => self.decode_mode = data,
            reg::INTENSITY => self.intensity = data & 0x0F,
            reg::SCAN_LIMIT => self.scan_limit = data & 0x07,
            reg::SHUTDOWN => self.shutdown = data & 0x01 == 0,
            reg::DISPLAY_TEST => self.test = data & 0x01 == 1,
            // 0xD and 0xE are undefined: the chip ignores them (the chain counts them).
            _ => {}
        }
        address
    }

    /// Raw digit RAM, digit 0 (register 0x1) first, exactly as written.
    pub fn digits(&self) -> [u8; 8] {
        self.digits
    }

    /// Segment patterns after Code-B decoding, for digits whose decode-mode bit is set.
    /// Scan limit, shutdown and display test are not applied: see [`Chip::lit_digits`].
    pub fn shown_digits(&self) -> [u8; 8] {
        let mut shown = self.digits;
        for (d, segments) in shown.iter_mut().enumerate() {
            if self.decode_mode & (1 << d) != 0 {
                // Bits 4–6 are ignored in Code-B; DP (bit 7) passes through.
                *segments = CODE_B[usize::from(*segments & 0x0F)] | (*segments & 0x80);
            }
        }
        shown
    }

    /// The LEDs actually lit per digit: everything in display test, nothing in shutdown,
    /// nothing beyond the scan limit, otherwise [`Chip::shown_digits`].
    pub fn lit_digits(&self) -> [u8; 8] {
        if self.test {
            return [0xFF; 8];
        }
        if self.shutdown {
            return [0; 8];
        }
        let mut lit = self.shown_digits();
        for segments in lit.iter_mut().skip(usize::from(self.scan_limit) + 1) {
            *segments = 0;
        }
        lit
    }

    /// Decode-mode register: bit `d` set means digit `d` is Code-B decoded.
    pub fn decode_mode(&self) -> u8 {
        self.decode_mode
    }

    /// Intensity register, 0–15 (only the low nibble of a write counts).
    pub fn intensity(&self) -> u8 {
        self.intensity
    }

    /// Scan-limit register, 0–7: digits 0..=limit are scanned, the rest are dark.
    pub fn scan_limit(&self) -> u8 {
        self.scan_limit
    }

    /// True while the chip is in shutdown (register 0xC bit 0 written as 0, or never written).
    pub fn shutdown(&self) -> bool {
        self.shutdown
    }

    /// True while display test (register 0xF bit 0) is on; it overrides shutdown.
    pub fn test(&self) -> bool {
        self.test
    }

    /// PWM duty of a lit LED, 0.0..=1.0: the MAX7219's (2n+1)/32 for intensity n, 31/32 in
    /// display test, 0 in shutdown. Scan-limit time sharing is left out (see
    /// [`Chip::scan_share`]) so a matrix at scan limit 7 reads as the datasheet duty.
    pub fn pwm_duty(&self) -> f32 {
        if self.test {
            31.0 / 32.0
        } else if self.shutdown {
            0.0
        } else {
            f32::from(2 * self.intensity + 1) / 32.0
        }
    }

    /// Share of the scan cycle each scanned digit is driven: 1/(limit+1), or 1/8 in display
    /// test. Relative to a full scan, a digit at scan limit `l` looks `8/(l+1)` times brighter;
    /// multiply by [`Chip::pwm_duty`] to compare chips with different scan limits.
    pub fn scan_share(&self) -> f32 {
        let scanned = if self.test { 8 } else { self.scan_limit + 1 };
        1.0 / f32::from(scanned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(address: u8, data: u8) -> u16 {
        u16::from_be_bytes([address, data])
    }

    fn running() -> Chip {
        let mut chip = Chip::default();
        chip.latch(word(0x0C, 0x01));
        chip.latch(word(0x0B, 0x07));
        chip
    }

    #[test]
    fn power_on_state_is_shutdown_with_reset_control_registers() {
        let chip = Chip::default();
        assert!(chip.shutdown());
        assert!(!chip.test());
        assert_eq!((chip.decode_mode(), chip.intensity(), chip.scan_limit()), (0, 0, 0));
        assert_eq!(chip.digits(), [0; 8]);
        assert_eq!(chip.lit_digits(), [0; 8]);
    }

    #[test]
    fn digit_registers_store_raw_bytes_and_top_nibble_is_ignored() {
        let mut chip = running();
        assert_eq!(chip.latch(word(0xF1, 0x05)), 0x1);
        chip.latch(word(0x08, 0xA5));
        assert_eq!(chip.digits(), [0x05, 0, 0, 0, 0, 0, 0, 0xA5]);
        assert_eq!(chip.lit_digits(), [0x05, 0, 0, 0, 0, 0, 0, 0xA5]);
    }

    #[test]
    fn code_b_decodes_every_nibble_and_passes_dp() {
        let mut chip = running();
        chip.latch(word(0x09, 0xFF));
        let expected =
            [0x7E, 0x30, 0x6D, 0x79, 0x33, 0x5B, 0x5F, 0x70, 0x7F, 0x7B, 0x01, 0x4F, 0x37, 0x0E, 0x67, 0];
        for (nibble, &segments) in expected.iter().enumerate() {
            let nibble = nibble as u8;
            // Bits 4–6 are noise the chip must ignore.
            chip.latch(word(0x01, 0x70 | nibble));
            assert_eq!(chip.shown_digits()[0], segments, "nibble {nibble:X}");
            chip.latch(word(0x01, 0x80 | nibble));
            assert_eq!(chip.shown_digits()[0], segments | 0x80, "nibble {nibble:X} with DP");
        }
    }

    #[test]
    fn decode_mode_applies_per_digit() {
        let mut chip = running();
        chip.latch(word(0x09, 0x01));
        chip.latch(word(0x01, 0x03));
        chip.latch(word(0x02, 0x03));
        assert_eq!(chip.decode_mode(), 0x01);
        assert_eq!(&chip.shown_digits()[..2], &[0x79, 0x03]);
        assert_eq!(&chip.digits()[..2], &[0x03, 0x03]);
    }

    #[test]
    fn intensity_keeps_low_nibble_and_sets_duty() {
        let mut chip = running();
        chip.latch(word(0x0A, 0xF3));
        assert_eq!(chip.intensity(), 3);
        assert_eq!(chip.pwm_duty(), 7.0 / 32.0);
        chip.latch(word(0x0A, 0x0F));
        assert_eq!(chip.pwm_duty(), 31.0 / 32.0);
        chip.latch(word(0x0A, 0x00));
        assert_eq!(chip.pwm_duty(), 1.0 / 32.0);
    }

    #[test]
    fn scan_limit_darkens_digits_beyond_it() {
        let mut chip = running();
        for d in 1..=8 {
            chip.latch(word(d, 0xFF));
        }
        chip.latch(word(0x0B, 0xFA)); // low 3 bits: 2
        assert_eq!(chip.scan_limit(), 2);
        assert_eq!(chip.lit_digits(), [0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0]);
        assert_eq!(chip.scan_share(), 1.0 / 3.0);
        assert_eq!(chip.digits(), [0xFF; 8], "scan limit must not touch RAM");
    }

    #[test]
    fn shutdown_blanks_but_keeps_data() {
        let mut chip = running();
        chip.latch(word(0x01, 0x81));
        chip.latch(word(0x0C, 0xFE)); // D0 = 0
        assert!(chip.shutdown());
        assert_eq!(chip.lit_digits(), [0; 8]);
        assert_eq!(chip.pwm_duty(), 0.0);
        chip.latch(word(0x0C, 0x01));
        assert_eq!(chip.lit_digits()[0], 0x81);
    }

    #[test]
    fn display_test_overrides_shutdown_and_scan_limit() {
        let mut chip = Chip::default();
        chip.latch(word(0x0F, 0x01));
        assert!(chip.test() && chip.shutdown());
        assert_eq!(chip.lit_digits(), [0xFF; 8]);
        assert_eq!(chip.pwm_duty(), 31.0 / 32.0);
        assert_eq!(chip.scan_share(), 1.0 / 8.0);
        chip.latch(word(0x0F, 0x02)); // D0 = 0: test off
        assert!(!chip.test());
        assert_eq!(chip.lit_digits(), [0; 8]);
    }

    #[test]
    fn undefined_registers_and_no_op_change_nothing() {
        let mut chip = running();
        chip.latch(word(0x01, 0x42));
        let before = chip.clone();
        assert_eq!(chip.latch(word(0x0D, 0xFF)), 0xD);
        assert_eq!(chip.latch(word(0x0E, 0xFF)), 0xE);
        assert_eq!(chip.latch(word(0x00, 0xFF)), 0x0);
        assert_eq!(chip, before);
    }
}
