//! The MAX7219 chain protocol: init, frames and control words over one `SpiDevice`.
//!
//! Every CS transaction carries exactly one word per chip (2·N bytes), the farthest chip's
//! word first, because a shorter or longer frame makes the chain latch stale or shifted
//! words. A frame is at most eight transactions, one per digit register, and digit rows
//! that no chip needs changed are skipped: that is what makes scrolling cheap on a slow bus.

use std::time::Instant;

use embedded_hal::spi::SpiDevice;

use super::intensity::Intensity;
use super::power::{estimate_ma, PowerBudget};
use super::registers::{RegisterPlan, Registers};
use super::wiring::{Wiring, WiringError};
use crate::render::Frame;

const REG_DECODE_MODE: u8 = 0x09;
const REG_INTENSITY: u8 = 0x0A;
const REG_SCAN_LIMIT: u8 = 0x0B;
const REG_SHUTDOWN: u8 = 0x0C;
const REG_DISPLAY_TEST: u8 = 0x0F;

/// Why a driver call did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DriverError<E> {
    #[error("SPI write failed: {0}")]
    /// The SPI device failed.
    Spi(E),
    #[error(transparent)]
    /// The frame does not fit the wiring.
    Wiring(#[from] WiringError),
}

/// What a call put on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// CS transactions.
    pub transactions: usize,
    /// Bytes over all transactions.
    pub bytes: usize,
}

/// A chain of MAX7219 chips behind one chip select, showing [`Frame`]s through a [`Wiring`].
///
/// The driver remembers what it last told the chips, so it can skip unchanged rows and
/// rebuild the whole state after a glitch with [`Max7219::refresh`].
pub struct Max7219<SPI> {
    spi: SPI,
    plan: RegisterPlan,
    /// The registers the chips should hold, by chain index.
    shown: Vec<Registers>,
    /// The next frame's registers; swapped with `shown`, so no frame allocates.
    scratch: Vec<Registers>,
    /// Digit rows (bit `d` = digit `d`) the chips may not hold yet: unknown RAM before
    /// init, or a write that failed.
    stale: u8,
    /// One CS frame, 2·N bytes.
    buf: Vec<u8>,
    /// The intensity sent to the chips: `wanted`, or lower to keep within the budget.
    intensity: Intensity,
    /// The intensity asked for.
    wanted: Intensity,
    budget: Option<PowerBudget>,
    /// When the budget last changed the intensity, for its pace.
    budget_changed: Option<Instant>,
    /// The highest estimated current of any picture sent, in mA.
    peak_ma: f64,
    power: bool,
    test: bool,
}

impl<SPI: SpiDevice<u8>> Max7219<SPI> {
    /// Sends nothing; call [`Max7219::init`] before the first frame. Fails only for a
    /// wiring without modules or too large to address.
    pub fn new(spi: SPI, wiring: Wiring) -> Result<Self, WiringError> {
        let plan = RegisterPlan::new(&wiring)?;
        let chips = plan.chips();
        Ok(Max7219 {
            spi,
            plan,
            shown: vec![[0; 8]; chips],
            scratch: vec![[0; 8]; chips],
            stale: 0xFF,
            buf: vec![0; 2 * chips],
            intensity: Intensity::default(),
            wanted: Intensity::default(),
            budget: None,
            budget_changed: None,
            peak_ma: 0.0,
            power: true,
            test: false,
        })
    }

    /// Keeps the chain's estimated current (see [`super::power`]) within `budget` from the
    /// next frame on, dimming the frames that would draw more; `None` lifts the limit.
    pub fn set_budget(&mut self, budget: Option<PowerBudget>) {
        self.budget = budget;
    }

    /// The power budget in force, if any.
    pub fn budget(&self) -> Option<PowerBudget> {
        self.budget
    }

    /// The estimated current of the picture on the chips now, in mA; display test lights
    /// every LED at the brightest duty, whatever the registers hold.
    pub fn estimated_ma(&self) -> f64 {
        if self.test {
            return estimate_ma(64 * self.chips(), Intensity::MAX);
        }
        estimate_ma(self.lit(), self.intensity)
    }

    /// The highest [`Max7219::estimated_ma`] since [`Max7219::reset_peak`] (or the start).
    pub fn peak_ma(&self) -> f64 {
        self.peak_ma
    }

    /// Starts a new peak, e.g. for the next test pattern.
    pub fn reset_peak(&mut self) {
        self.peak_ma = self.estimated_ma();
    }

    /// LEDs lit in the registers the chips hold.
    fn lit(&self) -> usize {
        self.shown.iter().map(|r| u64::from_le_bytes(*r).count_ones() as usize).sum()
    }

    /// The intensity the budget allows for the registers the chips are to hold, lowered
    /// at once and raised only at the budget's pace; `None` when it stays.
    fn budgeted(&self) -> Option<Intensity> {
        let Some(budget) = self.budget else {
            return (self.intensity != self.wanted).then_some(self.wanted);
        };
        let fits = budget.fitting(self.lit(), self.wanted);
        let paced = self.budget_changed.is_none_or(|at| at.elapsed() >= budget.raise_after);
        (fits < self.intensity || (fits > self.intensity && paced)).then_some(fits)
    }

    fn note_peak(&mut self) {
        self.peak_ma = self.peak_ma.max(self.estimated_ma());
    }

    /// The display this driver draws on.
    pub fn wiring(&self) -> &Wiring {
        self.plan.wiring()
    }

    /// Chips on the chain.
    pub fn chips(&self) -> usize {
        self.plan.chips()
    }

    /// The digit registers the chips were last told to hold, by chain index.
    pub fn registers(&self) -> &[Registers] {
        &self.shown
    }

    /// The intensity the chips were last told.
    pub fn intensity(&self) -> Intensity {
        self.intensity
    }

    /// Puts every chip in a known state with a dark display. The display stays in
    /// shutdown (blank) until the digit RAM is cleared, so neither power-up garbage nor a
    /// half-configured chip ever shows.
    pub fn init(&mut self, intensity: Intensity) -> Result<Sent, DriverError<SPI::Error>> {
        self.intensity = intensity;
        self.wanted = intensity;
        self.power = true;
        self.test = false;
        self.shown.fill([0; 8]);
        self.refresh()
    }

    /// Sends the digit rows of `frame` that differ from what the chips hold.
    pub fn write_frame(&mut self, frame: &Frame) -> Result<Sent, DriverError<SPI::Error>> {
        self.plan.registers_into(frame, &mut self.scratch)?;
        let diff = self
            .scratch
            .iter()
            .zip(&self.shown)
            .fold(0u64, |acc, (new, old)| acc | (u64::from_le_bytes(*new) ^ u64::from_le_bytes(*old)));
        // Bit d of `changed` is set when byte d (digit d) differs for any chip.
        let changed =
            diff.to_le_bytes().iter().rev().fold(0u8, |mask, &byte| mask << 1 | u8::from(byte != 0));
        std::mem::swap(&mut self.shown, &mut self.scratch);
        self.stale |= changed;
        let Some(level) = self.budgeted() else {
            let sent = self.send_stale_digits()?;
            self.note_peak();
            return Ok(sent);
        };
        self.budget_changed = Some(Instant::now());
        let dimmer = level < self.intensity;
        self.intensity = level;
        // Dimmer before the brighter picture, brighter after the dimmer one: no moment of
        // the frame exceeds the budget.
        let sent = if dimmer {
            self.broadcast(REG_INTENSITY, level.get())? + self.send_stale_digits()?
        } else {
            self.send_stale_digits()? + self.broadcast(REG_INTENSITY, level.get())?
        };
        self.note_peak();
        Ok(sent)
    }

    /// Re-sends the whole configuration and the current picture, for recovery from line
    /// noise or a module that was replugged. The chips are in shutdown while their RAM is
    /// rewritten, so the display never shows a half-restored state.
    pub fn refresh(&mut self) -> Result<Sent, DriverError<SPI::Error>> {
        self.stale = 0xFF;
        let mut sent = Sent::default();
        for (register, data) in [
            (REG_SHUTDOWN, 0),
            (REG_SCAN_LIMIT, 7),
            (REG_DECODE_MODE, 0),
            (REG_DISPLAY_TEST, u8::from(self.test)),
            (REG_INTENSITY, self.intensity.get()),
        ] {
            sent = sent + self.broadcast(register, data)?;
        }
        sent = sent + self.send_stale_digits()?;
        sent = sent + self.broadcast(REG_SHUTDOWN, u8::from(self.power))?;
        Ok(sent)
    }

    /// Brightness for every chip; the MAX7219 has no finer steps than [`Intensity`]'s.
    pub fn set_intensity(&mut self, intensity: Intensity) -> Result<Sent, DriverError<SPI::Error>> {
        self.wanted = intensity;
        self.intensity = self.budget.map_or(intensity, |b| b.fitting(self.lit(), intensity));
        let sent = self.broadcast(REG_INTENSITY, self.intensity.get())?;
        self.note_peak();
        Ok(sent)
    }

    /// Wakes the chips or puts them in shutdown; shutdown blanks the LEDs but keeps the
    /// picture, so waking shows it again without a frame.
    pub fn set_power(&mut self, on: bool) -> Result<Sent, DriverError<SPI::Error>> {
        self.power = on;
        self.broadcast(REG_SHUTDOWN, u8::from(on))
    }

    /// Display test lights every LED at full brightness, overriding shutdown: a wiring
    /// check that needs no frame.
    pub fn set_test(&mut self, on: bool) -> Result<Sent, DriverError<SPI::Error>> {
        self.test = on;
        let sent = self.broadcast(REG_DISPLAY_TEST, u8::from(on))?;
        self.note_peak();
        Ok(sent)
    }

    /// The device under the driver, e.g. to read what a VirtualChain shows.
    pub fn spi(&self) -> &SPI {
        &self.spi
    }

    /// Gives the SPI device back.
    pub fn release(self) -> SPI {
        self.spi
    }

    fn send_stale_digits(&mut self) -> Result<Sent, DriverError<SPI::Error>> {
        let mut sent = Sent::default();
        for digit in 0..8 {
            if self.stale & (1 << digit) == 0 {
                continue;
            }
            // The first word shifted out ends up in the farthest chip.
            for (word, regs) in self.buf.chunks_exact_mut(2).zip(self.shown.iter().rev()) {
                word[0] = digit as u8 + 1;
                word[1] = regs[digit];
            }
            self.spi.write(&self.buf).map_err(DriverError::Spi)?;
            self.stale &= !(1 << digit);
            sent = sent + Sent { transactions: 1, bytes: self.buf.len() };
        }
        Ok(sent)
    }

    /// The same word to every chip in one transaction.
    fn broadcast(&mut self, register: u8, data: u8) -> Result<Sent, DriverError<SPI::Error>> {
        for word in self.buf.chunks_exact_mut(2) {
            word[0] = register;
            word[1] = data;
        }
        self.spi.write(&self.buf).map_err(DriverError::Spi)?;
        Ok(Sent { transactions: 1, bytes: self.buf.len() })
    }
}

impl std::ops::Add for Sent {
    type Output = Sent;

    fn add(self, other: Sent) -> Sent {
        Sent { transactions: self.transactions + other.transactions, bytes: self.bytes + other.bytes }
    }
}

#[cfg(test)]
mod tests;
