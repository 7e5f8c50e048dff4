//! The physical chain on the Pi's SPI, through Linux spidev (feature `hardware`).
//!
//! The MAX7219 takes at most 10 MHz and the Pi's 3.3 V logic is already below its input
//! threshold, so the clock is set under the limit by default ([`SpiSpeed`]): marginal
//! levels fail first at high speed, and a long or unshielded chain may need less.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use embedded_hal::spi::SpiDevice;

use super::bus::BusError;

/// The SPI clock for the chain, in Hz, checked against the MAX7219's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiSpeed(u32);

impl SpiSpeed {
    /// luma's default, 8 MHz: margin under the datasheet's maximum.
    pub const DEFAULT: SpiSpeed = SpiSpeed(8_000_000);
    /// The datasheet's maximum serial clock (tCP ≥ 100 ns).
    pub const MAX_HZ: u32 = 10_000_000;
    /// The slowest clock taken: at 10 kHz one frame of a four-module display (8 transactions
    /// of 64 bits) already takes 51 ms, slower than a scroll step; the Pi's divider goes
    /// little lower (about 4 kHz).
    pub const MIN_HZ: u32 = 10_000;

    /// `hz`, when the chip can take it.
    pub fn new(hz: u32) -> Result<SpiSpeed, SpiSpeedError> {
        if (Self::MIN_HZ..=Self::MAX_HZ).contains(&hz) {
            Ok(SpiSpeed(hz))
        } else {
            Err(SpiSpeedError(hz.to_string()))
        }
    }

    /// The clock in Hz.
    pub fn hz(self) -> u32 {
        self.0
    }
}

impl Default for SpiSpeed {
    fn default() -> Self {
        SpiSpeed::DEFAULT
    }
}

impl fmt::Display for SpiSpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.0)
    }
}

impl FromStr for SpiSpeed {
    type Err = SpiSpeedError;

    /// Hz as a whole number (`8000000`; `_` separators allowed, as in TOML).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.trim().chars().filter(|&c| c != '_').collect();
        digits.parse::<u32>().map_err(|_| SpiSpeedError(s.trim().to_owned())).and_then(SpiSpeed::new)
    }
}

/// An SPI clock the MAX7219 cannot take, or not a number of Hz.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0}: expected Hz from {min} to {max} (the MAX7219's 10 MHz maximum; 8000000 is the default)",
    min = SpiSpeed::MIN_HZ,
    max = SpiSpeed::MAX_HZ
)]
pub struct SpiSpeedError(String);

/// The spidev device the Pi exposes for CE0 of SPI0.
pub const DEFAULT_DEVICE: &str = "/dev/spidev0.0";

/// A spidev device could not be opened or configured. The message says what to fix on
/// the Pi, because the cause is nearly always SPI being off or a missing group.
#[derive(Debug, thiserror::Error)]
pub enum SpidevError {
    #[error("{}: {source} ({})", path.display(), open_hint(source))]
    /// The device could not be opened.
    Open {
        /// The device.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    #[error("{}: cannot set SPI mode 0 at {speed}: {source}", path.display())]
    /// The device refused SPI mode 0 or the clock.
    Configure {
        /// The device.
        path: PathBuf,
        /// The clock asked for.
        speed: SpiSpeed,
        /// Why.
        source: std::io::Error,
    },
    #[error("this build has no hardware support: rebuild with --features hardware")]
    /// This binary was built without the `hardware` feature.
    NoHardwareSupport,
}

fn open_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            "SPI is not enabled: run `sudo raspi-config nonint do_spi 0` and reboot"
        }
        std::io::ErrorKind::PermissionDenied => {
            "add the user to the spi group: `sudo usermod -aG spi $USER`, then log in again"
        }
        _ => "see docs/raspberry-pi.md",
    }
}

/// The wire to a physical chain, ready for the driver.
pub type Device = Box<dyn SpiDevice<u8, Error = BusError> + Send>;

/// Opens `path` in SPI mode 0 (the MAX7219 samples DIN on the rising clock edge), MSB
/// first, 8 bits per word, at `speed`.
#[cfg(feature = "hardware")]
pub fn open(path: &Path, speed: SpiSpeed) -> Result<Device, SpidevError> {
    Ok(Box::new(hardware::Spidev::open(path, speed)?))
}

/// Without the `hardware` feature there is no spidev code in the binary at all.
#[cfg(not(feature = "hardware"))]
pub fn open(path: &Path, speed: SpiSpeed) -> Result<Device, SpidevError> {
    let _ = (path, speed);
    Err(SpidevError::NoHardwareSupport)
}

#[cfg(feature = "hardware")]
mod hardware {
    use std::path::Path;

    use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
    use linux_embedded_hal::spidev::{SpiModeFlags, SpidevOptions};
    use linux_embedded_hal::SpidevDevice;

    use super::{BusError, SpiSpeed, SpidevError};

    /// linux-embedded-hal's device with its errors turned into the output's [`BusError`],
    /// so it fits behind `Bus::Device` next to the virtual backends.
    pub struct Spidev(SpidevDevice);

    impl Spidev {
        pub fn open(path: &Path, speed: SpiSpeed) -> Result<Self, SpidevError> {
            let mut dev = SpidevDevice::open(path)
                .map_err(|e| SpidevError::Open { path: path.to_owned(), source: into_io(e) })?;
            let options = SpidevOptions::new()
                .bits_per_word(8)
                .max_speed_hz(speed.hz())
                .lsb_first(false)
                .mode(SpiModeFlags::SPI_MODE_0)
                .build();
            dev.configure(&options).map_err(|source| SpidevError::Configure {
                path: path.to_owned(),
                speed,
                source,
            })?;
            Ok(Spidev(dev))
        }
    }

    fn into_io(e: linux_embedded_hal::SPIError) -> std::io::Error {
        std::io::Error::new(e.inner().kind(), e.inner().to_string())
    }

    impl ErrorType for Spidev {
        type Error = BusError;
    }

    impl SpiDevice<u8> for Spidev {
        fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), BusError> {
            self.0.transaction(operations).map_err(|e| BusError::Device(into_io(e)))
        }
    }
}
