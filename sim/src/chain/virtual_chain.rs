//! The chain itself: shift registers, the CS latch and the `SpiDevice` seam.

use core::convert::Infallible;

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use rand::{rngs::StdRng, RngCore, SeedableRng};

use super::chip::{reg, Chip};
use super::layout::{Layout, LayoutError};
use super::pixels::Pixels;

/// Counters that make driver mistakes visible without reading pixels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// CS periods (calls to `transaction`, including empty ones: CS still rises).
    pub transactions: u64,
    /// Bytes clocked into the chain, reads and transfer padding included.
    pub bytes: u64,
    /// Chip latches: every chip latches on every CS rise, so `transactions × chips`.
    pub latches: u64,
    /// Transactions whose length was not exactly 2·N bytes; their far chips latch stale
    /// words (short) or their first words fall off the end (long).
    pub bad_length: u64,
    /// Latches of the undefined registers 0xD and 0xE.
    pub undefined_register_writes: u64,
    /// Latches per register address (index = address 0x0–0xF; index 0 counts no-ops).
    pub register_writes: [u64; 16],
}

/// A daisy chain of MAX7219s behind `embedded_hal::spi::SpiDevice<u8>`.
///
/// Chain index 0 is the chip whose DIN is wired to the Pi; bytes leaving index N-1 are DOUT.
/// Every chip has a persistent 16-bit shift register that keeps shifting across
/// transactions, and every chip latches its own register on each CS rise, so short and long
/// transactions behave as on real hardware (stale latches, words falling off the end).
///
/// The N registers are stored as one delay line of 2·N bytes: shifting a byte into chip 0
/// pushes chip 0's high byte into chip 1 and so on, which is exactly a FIFO of the last 2·N
/// bytes. Since `SpiDevice<u8>` moves whole bytes, byte-granular shifting is bit-exact.
///
/// DOUT timing: the MAX7219 presents a bit on DOUT 16.5 clocks after it entered, on the
/// falling edge. This model drops the half clock: the bit that leaves the last register when
/// a new bit enters is the DOUT bit sampled with it. Only readback timing within a byte
/// depends on that half clock, and byte-wise SPI cannot observe it.
#[derive(Clone, Debug)]
pub struct VirtualChain {
    chips: Vec<Chip>,
    /// The shift registers: the last 2·N bytes clocked in, as a ring buffer.
    line: Vec<u8>,
    /// Ring index of the oldest byte, the next to leave on DOUT.
    oldest: usize,
    layout: Option<Layout>,
    dout_loopback: bool,
    broken_after: Option<usize>,
    stats: Stats,
}

impl VirtualChain {
    /// `chips` MAX7219s in their power-on state, digit RAM zeroed, shift registers zeroed.
    pub fn new(chips: usize) -> VirtualChain {
        VirtualChain::from_chips(vec![Chip::default(); chips])
    }

    /// Like [`VirtualChain::new`], but with seeded random digit RAM: real parts power up
    /// with undefined RAM, so a driver that leaves shutdown without clearing shows garbage.
    pub fn with_random_ram(chips: usize, seed: u64) -> VirtualChain {
        let mut rng = StdRng::seed_from_u64(seed);
        let chips = (0..chips)
            .map(|_| {
                let mut digits = [0u8; 8];
                rng.fill_bytes(&mut digits);
                Chip::with_digits(digits)
            })
            .collect();
        VirtualChain::from_chips(chips)
    }

    fn from_chips(chips: Vec<Chip>) -> VirtualChain {
        let line = vec![0; 2 * chips.len()];
        VirtualChain {
            chips,
            line,
            oldest: 0,
            layout: None,
            dout_loopback: false,
            broken_after: None,
            stats: Stats::default(),
        }
    }

    /// Sets the physical layout, consuming and returning the chain (builder style).
    pub fn with_layout(mut self, layout: Layout) -> Result<VirtualChain, LayoutError> {
        self.set_layout(layout)?;
        Ok(self)
    }

    /// Sets the physical layout; its module count must equal the chip count.
    pub fn set_layout(&mut self, layout: Layout) -> Result<(), LayoutError> {
        if layout.module_count() != self.chips.len() {
            return Err(LayoutError::ModuleCount { modules: layout.module_count(), chips: self.chips.len() });
        }
        self.layout = Some(layout);
        Ok(())
    }

    /// The layout in use: the one set, or one row of generic modules in chain order.
    pub fn layout(&self) -> Layout {
        self.layout.unwrap_or_else(|| {
            let n = u32::try_from(self.chips.len()).unwrap_or(u32::MAX);
            Layout::new(n, n.min(1))
        })
    }

    /// Number of chips.
    pub fn len(&self) -> usize {
        self.chips.len()
    }

    /// True for a chain of no chips (DIN wired straight to DOUT).
    pub fn is_empty(&self) -> bool {
        self.chips.is_empty()
    }

    /// All chips, chain index 0 (nearest the Pi) first.
    pub fn chips(&self) -> &[Chip] {
        &self.chips
    }

    /// The chip at chain index `index`, if there is one.
    pub fn chip(&self, index: usize) -> Option<&Chip> {
        self.chips.get(index)
    }

    /// What chip `index` would latch on the next CS rise: its shift register, high byte
    /// (address) first.
    pub fn shift_register(&self, index: usize) -> Option<u16> {
        if index >= self.chips.len() {
            return None;
        }
        Some(u16::from_be_bytes([self.byte_at_age(2 * index + 1), self.byte_at_age(2 * index)]))
    }

    /// Models DOUT of the last chip wired to MISO. When off (the default, and the usual
    /// wiring) reads return 0x00.
    pub fn set_dout_loopback(&mut self, on: bool) {
        self.dout_loopback = on;
    }

    /// Simulates a broken link: chip `index`'s DOUT is stuck low from now on, so chips
    /// after it only ever receive zeros (and loopback eventually reads only zeros). An index
    /// past the last chip names no wire and has no effect.
    pub fn break_after(&mut self, index: usize) {
        self.broken_after = Some(index);
    }

    /// Undoes [`VirtualChain::break_after`].
    pub fn repair(&mut self) {
        self.broken_after = None;
    }

    /// Counters since creation or the last [`VirtualChain::reset_stats`].
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Zeroes the counters, e.g. after an init sequence the test does not care about.
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Clocks `bytes` in within one CS period and latches: one recorded transaction.
    pub fn apply(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.shift(byte);
        }
        self.latch(bytes.len() as u64);
    }

    /// The display as seen, through the layout (see [`VirtualChain::layout`]).
    pub fn pixels(&self) -> Pixels {
        Pixels::capture(&self.layout(), &self.chips)
    }

    /// Ring index of the byte that entered `age` bytes ago (0 = newest); `line` is non-empty.
    fn index_of_age(&self, age: usize) -> usize {
        let len = self.line.len();
        (self.oldest + len - 1 - age % len) % len
    }

    fn byte_at_age(&self, age: usize) -> u8 {
        if self.line.is_empty() {
            return 0;
        }
        self.line[self.index_of_age(age)]
    }

    /// Clocks one byte into chip 0 and returns the byte that left the last chip.
    fn shift(&mut self, input: u8) -> u8 {
        self.stats.bytes += 1;
        let len = self.line.len();
        if len == 0 {
            return input;
        }
        let mut out = self.line[self.oldest];
        self.line[self.oldest] = input;
        self.oldest += 1;
        if self.oldest == len {
            self.oldest = 0;
        }
        if let Some(broken) = self.broken_after {
            let entering_next = 2 * broken + 2;
            if entering_next < len {
                // The byte that just moved out of the broken chip arrives as zeros.
                let index = self.index_of_age(entering_next);
                self.line[index] = 0;
            } else if entering_next == len {
                out = 0;
            }
        }
        out
    }

    /// What MISO sees for a byte that left the chain.
    fn miso(&self, dout: u8) -> u8 {
        if self.dout_loopback {
            dout
        } else {
            0
        }
    }

    /// CS rises: every chip latches its own register.
    fn latch(&mut self, transaction_bytes: u64) {
        self.stats.transactions += 1;
        let expected = 2 * self.chips.len() as u64;
        if transaction_bytes != expected {
            self.stats.bad_length += 1;
            tracing::warn!(
                bytes = transaction_bytes,
                expected,
                "MAX7219 transaction is not 2 bytes per chip: far chips latch stale or shifted words"
            );
        }
        for index in 0..self.chips.len() {
            let word = u16::from_be_bytes([self.byte_at_age(2 * index + 1), self.byte_at_age(2 * index)]);
            let address = self.chips[index].latch(word);
            self.stats.latches += 1;
            self.stats.register_writes[usize::from(address)] += 1;
            if address == reg::UNDEFINED_D || address == reg::UNDEFINED_E {
                self.stats.undefined_register_writes += 1;
                tracing::warn!(chip = index, register = address, "write to undefined MAX7219 register");
            }
        }
    }
}

impl ErrorType for VirtualChain {
    type Error = Infallible;
}

impl SpiDevice<u8> for VirtualChain {
    /// One CS-low period: every operation shifts bytes MSB first, then CS rises and all
    /// chips latch. `Read` and transfer padding clock 0x00; `DelayNs` is ignored (the
    /// chain has no timing).
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        let mut count = 0u64;
        for operation in operations.iter_mut() {
            match operation {
                Operation::Read(buf) => {
                    for slot in buf.iter_mut() {
                        let out = self.shift(0);
                        *slot = self.miso(out);
                    }
                    count += buf.len() as u64;
                }
                Operation::Write(buf) => {
                    for &byte in *buf {
                        self.shift(byte);
                    }
                    count += buf.len() as u64;
                }
                Operation::Transfer(read, write) => {
                    let len = read.len().max(write.len());
                    for i in 0..len {
                        let out = self.shift(write.get(i).copied().unwrap_or(0));
                        let miso = self.miso(out);
                        if let Some(slot) = read.get_mut(i) {
                            *slot = miso;
                        }
                    }
                    count += len as u64;
                }
                Operation::TransferInPlace(buf) => {
                    for slot in buf.iter_mut() {
                        let out = self.shift(*slot);
                        *slot = self.miso(out);
                    }
                    count += buf.len() as u64;
                }
                Operation::DelayNs(_) => {}
            }
        }
        self.latch(count);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_word_lands_in_the_farthest_chip() {
        let mut chain = VirtualChain::new(3);
        chain.apply(&[0x01, 0xAA, 0x02, 0xBB, 0x03, 0xCC]);
        assert_eq!(chain.chips()[2].digits()[0], 0xAA);
        assert_eq!(chain.chips()[1].digits()[1], 0xBB);
        assert_eq!(chain.chips()[0].digits()[2], 0xCC);
        assert_eq!(chain.shift_register(0), Some(0x03CC));
        assert_eq!(chain.shift_register(2), Some(0x01AA));
        assert_eq!(chain.shift_register(3), None);
    }

    #[test]
    fn odd_byte_counts_shift_bit_exactly() {
        // Three bytes into two chips: chip 0 holds the last two bytes, chip 1 holds the
        // previous frame's low byte as its high byte and the first new byte as its low one.
        let mut chain = VirtualChain::new(2);
        chain.apply(&[0x0A, 0x05, 0x0B, 0x06]);
        chain.apply(&[0x01, 0x02, 0x03]);
        assert_eq!(chain.shift_register(0), Some(0x0203));
        assert_eq!(chain.shift_register(1), Some(0x0601));
        // Chip 1 latched 0x06 0x01: register 6 = digit 5.
        assert_eq!(chain.chips()[1].digits()[5], 0x01);
        assert_eq!(chain.chips()[0].digits()[1], 0x03);
        assert_eq!(chain.stats().bad_length, 1);
    }

    #[test]
    fn zero_chips_is_a_wire() {
        let mut chain = VirtualChain::new(0);
        chain.set_dout_loopback(true);
        let mut buf = [0x12, 0x34];
        chain.transfer_in_place(&mut buf).unwrap();
        assert_eq!(buf, [0x12, 0x34]);
        assert_eq!(chain.pixels().to_rows(), Vec::<String>::new());
    }

    #[test]
    fn layout_must_match_chip_count() {
        let err = VirtualChain::new(3).with_layout(Layout::new(2, 2)).unwrap_err();
        assert_eq!(err.to_string(), "layout has 4 modules but the chain has 3 chips");
        assert!(VirtualChain::new(4).with_layout(Layout::new(2, 2)).is_ok());
    }
}
