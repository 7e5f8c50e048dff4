//! The wire under the driver: a virtual chain (maybe logged) or a physical device.

use std::fs::File;
use std::io::BufWriter;

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use eslmatrix_sim::chain::VirtualChain;

use super::spilog::{SpiLog, SpiLogError, Tee, TeeError};

/// The wire under the driver.
pub enum Bus {
    /// A virtual chain: what it shows can be viewed.
    Chain(VirtualChain),
    /// A virtual chain with every transaction also logged.
    Logged(Tee<VirtualChain, SpiLog<BufWriter<File>>>),
    /// Anything else (a physical chain): nothing to view.
    Device(Box<dyn SpiDevice<u8, Error = BusError> + Send>),
}

/// The wire failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The SPI log could not be written.
    #[error(transparent)]
    Log(#[from] SpiLogError),
    /// The physical device refused a transfer.
    #[error("spidev: {0}")]
    Device(std::io::Error),
}

impl embedded_hal::spi::Error for BusError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl ErrorType for Bus {
    type Error = BusError;
}

impl SpiDevice<u8> for Bus {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        match self {
            Bus::Chain(c) => c.transaction(operations).map_err(|never| match never {}),
            Bus::Logged(t) => t.transaction(operations).map_err(|e| match e {
                TeeError::First(never) => match never {},
                TeeError::Second(e) => BusError::Log(e),
            }),
            Bus::Device(d) => d.transaction(operations),
        }
    }
}

impl Bus {
    /// The virtual chain on this wire, if there is one.
    pub fn chain(&self) -> Option<&VirtualChain> {
        match self {
            Bus::Chain(c) => Some(c),
            Bus::Logged(t) => Some(&t.first),
            Bus::Device(_) => None,
        }
    }
}
