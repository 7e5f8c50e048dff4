//! The `max7219` crate (0.5, embedded-hal 1.0) drives the chain as an independent client:
//! its documented addressing ("addr 0 -> last" in the chain) must land where it says.

use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};
use eslmatrix_sim::chain::VirtualChain;
use max7219::{DecodeMode, MAX7219};

/// Lets the test inspect the chain while the driver owns its `SpiDevice`.
#[derive(Clone)]
struct Shared(Rc<RefCell<VirtualChain>>);

impl ErrorType for Shared {
    type Error = Infallible;
}

impl SpiDevice<u8> for Shared {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        self.0.borrow_mut().transaction(operations)
    }
}

fn driven(
    chain: VirtualChain,
) -> (MAX7219<max7219::connectors::SpiConnector<Shared>>, Rc<RefCell<VirtualChain>>) {
    let shared = Rc::new(RefCell::new(chain));
    let n = shared.borrow().len();
    let display = MAX7219::from_spi(n, Shared(shared.clone())).expect("infallible SPI");
    (display, shared)
}

#[test]
fn construction_clears_random_ram_and_leaves_chips_in_shutdown() {
    let (_display, chain) = driven(VirtualChain::with_random_ram(4, 99));
    let chain = chain.borrow();
    for chip in chain.chips() {
        assert_eq!(chip.digits(), [0; 8]);
        assert!(chip.shutdown());
        assert!(!chip.test());
        assert_eq!((chip.scan_limit(), chip.decode_mode()), (7, 0));
    }
    assert_eq!(chain.stats().bad_length, 0, "every max7219 frame is 2·N bytes");
    assert!(chain.stats().transactions > 0);
}

#[test]
fn write_raw_addr_0_is_the_farthest_chip() {
    let (mut display, chain) = driven(VirtualChain::new(4));
    display.power_on().unwrap();
    let raw = [0x81, 0x42, 0x24, 0x18, 0x18, 0x24, 0x42, 0x81];
    display.write_raw(0, &raw).unwrap();
    display.write_raw(3, &[0xFF, 0, 0, 0, 0, 0, 0, 0x01]).unwrap();
    let chain = chain.borrow();
    assert_eq!(chain.chips()[3].digits(), raw);
    assert_eq!(chain.chips()[0].digits(), [0xFF, 0, 0, 0, 0, 0, 0, 0x01]);
    assert_eq!(chain.chips()[1].digits(), [0; 8]);
    assert_eq!(chain.chips()[2].digits(), [0; 8]);
    assert!(chain.chips().iter().all(|chip| !chip.shutdown()));
    // Default layout: chip 3 is the rightmost module; digit = column, bit 0 = top row.
    let rows = chain.pixels().to_rows();
    assert_eq!(rows[0], "#......#................#......#");
    assert_eq!(rows[7], "#.......................#......#");
}

#[test]
fn intensity_test_shutdown_and_decode_reach_the_addressed_chip() {
    let (mut display, chain) = driven(VirtualChain::new(3));
    display.power_on().unwrap();
    display.set_intensity(1, 9).unwrap();
    display.test(2, true).unwrap();
    display.set_decode_mode(0, DecodeMode::CodeBDigits7_0).unwrap();
    display.write_raw_byte(0, 0x01, 0x03).unwrap();
    {
        let chain = chain.borrow();
        let intensities: Vec<u8> = chain.chips().iter().map(eslmatrix_sim::chain::Chip::intensity).collect();
        assert_eq!(intensities, [0, 9, 0]);
        assert!(chain.chips()[0].test() && !chain.chips()[1].test());
        assert_eq!(chain.chips()[2].shown_digits()[0], 0x79, "Code-B 3");
    }
    display.power_off().unwrap();
    let chain = chain.borrow();
    assert!(chain.chips().iter().all(eslmatrix_sim::chain::Chip::shutdown));
    let pixels = chain.pixels();
    // Chip 0 (left module) is still in display test, which overrides shutdown.
    assert!(pixels.is_on(0, 0) && pixels.is_on(7, 7));
    assert!(!pixels.to_rows().iter().any(|row| row[8..].contains('#')));
}

#[test]
fn eight_chips_is_the_crate_maximum_and_works() {
    let (mut display, chain) = driven(VirtualChain::new(8));
    display.power_on().unwrap();
    for addr in 0..8 {
        display.write_raw(addr, &[addr as u8 + 1; 8]).unwrap();
    }
    let chain = chain.borrow();
    let firsts: Vec<u8> = chain.chips().iter().map(|chip| chip.digits()[0]).collect();
    assert_eq!(firsts, [8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(chain.stats().bad_length, 0);
}
