//! A `SpiDevice` that writes every CS transaction as one line of hex bytes: the format
//! `eslmatrix replay` reads back, so any traffic can be captured and replayed.

use std::io::Write;

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};

/// Writing the log failed.
#[derive(Debug, thiserror::Error)]
#[error("writing the SPI log: {0}")]
pub struct SpiLogError(#[from] pub std::io::Error);

impl embedded_hal::spi::Error for SpiLogError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// Logs transactions to any writer. Reads see 0x00 (nothing is wired to MISO).
pub struct SpiLog<W: Write> {
    out: W,
    line: String,
    transactions: u64,
}

impl<W: Write> SpiLog<W> {
    /// A log writing to `out`.
    pub fn new(out: W) -> Self {
        SpiLog { out, line: String::new(), transactions: 0 }
    }

    /// Transactions logged so far.
    pub fn transactions(&self) -> u64 {
        self.transactions
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> Result<W, SpiLogError> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        use std::fmt::Write as _;
        for b in bytes {
            if !self.line.is_empty() {
                self.line.push(' ');
            }
            let _ = write!(self.line, "{b:02X}");
        }
    }
}

impl<W: Write> ErrorType for SpiLog<W> {
    type Error = SpiLogError;
}

impl<W: Write> SpiDevice<u8> for SpiLog<W> {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        self.line.clear();
        for op in operations {
            match op {
                Operation::Write(bytes) => self.push_bytes(bytes),
                Operation::Transfer(read, write) => {
                    self.push_bytes(write);
                    read.fill(0);
                }
                Operation::TransferInPlace(bytes) => {
                    let copy = bytes.to_vec();
                    self.push_bytes(&copy);
                    bytes.fill(0);
                }
                Operation::Read(buf) => {
                    let zeros = vec![0u8; buf.len()];
                    self.push_bytes(&zeros);
                    buf.fill(0);
                }
                Operation::DelayNs(_) => {}
            }
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        self.transactions += 1;
        Ok(())
    }
}

/// Sends every transaction to two devices: the first's reads are the ones returned.
/// Used to watch traffic (spilog) while it also drives a chain.
pub struct Tee<A, B> {
    /// The device that answers (its reads are returned).
    pub first: A,
    /// The device that only sees what was written.
    pub second: B,
}

/// Either side of a [`Tee`] failed.
#[derive(Debug, thiserror::Error)]
pub enum TeeError<A: std::fmt::Debug, B: std::fmt::Debug> {
    #[error("first device: {0:?}")]
    /// The first device failed.
    First(A),
    #[error("second device: {0:?}")]
    /// The second device failed.
    Second(B),
}

impl<A: std::fmt::Debug, B: std::fmt::Debug> embedded_hal::spi::Error for TeeError<A, B> {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl<A: SpiDevice<u8>, B: SpiDevice<u8>> ErrorType for Tee<A, B> {
    type Error = TeeError<A::Error, B::Error>;
}

impl<A: SpiDevice<u8>, B: SpiDevice<u8>> SpiDevice<u8> for Tee<A, B> {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        // The second device sees only the bytes written; it must not clobber what the
        // first one reads back.
        let mut written: Vec<u8> = Vec::new();
        for op in operations.iter() {
            match op {
                Operation::Write(b) => written.extend_from_slice(b),
                Operation::Transfer(_, w) => written.extend_from_slice(w),
                Operation::TransferInPlace(b) => written.extend_from_slice(b),
                Operation::Read(b) => written.extend(std::iter::repeat_n(0u8, b.len())),
                Operation::DelayNs(_) => {}
            }
        }
        self.first.transaction(operations).map_err(TeeError::First)?;
        self.second.write(&written).map_err(TeeError::Second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_transaction_in_upper_hex() {
        let mut log = SpiLog::new(Vec::new());
        log.write(&[0x0C, 0x00, 0x0C, 0x00]).unwrap();
        let mut read = [0xAAu8; 2];
        log.transaction(&mut [Operation::Write(&[0x01, 0xFF]), Operation::Read(&mut read)]).unwrap();
        assert_eq!(read, [0, 0]);
        assert_eq!(log.transactions(), 2);
        let text = String::from_utf8(log.into_inner().unwrap()).unwrap();
        assert_eq!(text, "0C 00 0C 00\n01 FF 00 00\n");
    }

    #[test]
    fn tee_feeds_both_devices() {
        let mut tee = Tee { first: SpiLog::new(Vec::new()), second: SpiLog::new(Vec::new()) };
        tee.write(&[0x0A, 0x07]).unwrap();
        let a = String::from_utf8(tee.first.into_inner().unwrap()).unwrap();
        let b = String::from_utf8(tee.second.into_inner().unwrap()).unwrap();
        assert_eq!(a, "0A 07\n");
        assert_eq!(a, b);
    }
}
