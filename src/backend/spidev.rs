//! The physical chain on the Pi's SPI, through Linux spidev (feature `hardware`).
//!
//! The MAX7219 takes at most 10 MHz and the Pi's 3.3 V logic is already below its input
//! threshold, so the clock is set well under the limit: marginal levels fail first at
//! high speed.

use std::path::{Path, PathBuf};

use embedded_hal::spi::SpiDevice;

use super::bus::BusError;

/// SPI clock for the chain: 8 MHz leaves margin under the datasheet's 10 MHz maximum.
pub const SPI_CLOCK_HZ: u32 = 8_000_000;

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
    #[error("{}: cannot set SPI mode 0 at {SPI_CLOCK_HZ} Hz: {source}", path.display())]
    /// The device refused SPI mode 0 or the clock.
    Configure {
        /// The device.
        path: PathBuf,
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
/// first, 8 bits per word, at [`SPI_CLOCK_HZ`].
#[cfg(feature = "hardware")]
pub fn open(path: &Path) -> Result<Device, SpidevError> {
    Ok(Box::new(hardware::Spidev::open(path)?))
}

/// Without the `hardware` feature there is no spidev code in the binary at all.
#[cfg(not(feature = "hardware"))]
pub fn open(path: &Path) -> Result<Device, SpidevError> {
    let _ = path;
    Err(SpidevError::NoHardwareSupport)
}

#[cfg(feature = "hardware")]
mod hardware {
    use std::path::Path;

    use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
    use linux_embedded_hal::spidev::{SpiModeFlags, SpidevOptions};
    use linux_embedded_hal::SpidevDevice;

    use super::{BusError, SpidevError, SPI_CLOCK_HZ};

    /// linux-embedded-hal's device with its errors turned into the output's [`BusError`],
    /// so it fits behind `Bus::Device` next to the virtual backends.
    pub struct Spidev(SpidevDevice);

    impl Spidev {
        pub fn open(path: &Path) -> Result<Self, SpidevError> {
            let mut dev = SpidevDevice::open(path)
                .map_err(|e| SpidevError::Open { path: path.to_owned(), source: into_io(e) })?;
            let options = SpidevOptions::new()
                .bits_per_word(8)
                .max_speed_hz(SPI_CLOCK_HZ)
                .lsb_first(false)
                .mode(SpiModeFlags::SPI_MODE_0)
                .build();
            dev.configure(&options)
                .map_err(|source| SpidevError::Configure { path: path.to_owned(), source })?;
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
