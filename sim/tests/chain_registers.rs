//! Register behaviour seen through the SPI seam, on chips that are not chip 0.

use embedded_hal::spi::SpiDevice;
use eslmatrix_sim::chain::{Layout, VirtualChain};

/// One transaction writing `(register, data)` to every chip.
fn all(chain: &mut VirtualChain, register: u8, data: u8) {
    chain.write(&[register, data].repeat(chain.len())).unwrap();
}

/// One transaction writing `(register, data)` to chip `index` only, no-ops elsewhere.
fn one(chain: &mut VirtualChain, index: usize, register: u8, data: u8) {
    let n = chain.len();
    let mut frame = vec![0u8; 2 * n];
    let word = n - 1 - index; // the first word goes to the farthest chip
    frame[2 * word] = register;
    frame[2 * word + 1] = data;
    chain.write(&frame).unwrap();
}

fn running(n: usize) -> VirtualChain {
    let mut chain = VirtualChain::new(n);
    all(&mut chain, 0x0C, 0x01);
    all(&mut chain, 0x0B, 0x07);
    chain
}

#[test]
fn power_on_state() {
    let chain = VirtualChain::new(3);
    for chip in chain.chips() {
        assert!(chip.shutdown());
        assert!(!chip.test());
        assert_eq!((chip.decode_mode(), chip.intensity(), chip.scan_limit()), (0, 0, 0));
        assert_eq!(chip.digits(), [0; 8]);
    }
    assert_eq!(chain.stats().transactions, 0);
    assert!(chain.pixels().to_rows().iter().all(|row| !row.contains('#')));
}

#[test]
fn random_ram_is_seeded_garbage_hidden_by_shutdown() {
    let a = VirtualChain::with_random_ram(4, 7);
    let b = VirtualChain::with_random_ram(4, 7);
    let c = VirtualChain::with_random_ram(4, 8);
    let ram = |chain: &VirtualChain| {
        chain.chips().iter().map(eslmatrix_sim::chain::Chip::digits).collect::<Vec<_>>()
    };
    assert_eq!(ram(&a), ram(&b), "same seed, same RAM");
    assert_ne!(ram(&a), ram(&c), "different seed, different RAM");
    assert!(ram(&a).iter().flatten().any(|&byte| byte != 0));
    assert!(a.chips().iter().all(|chip| chip.shutdown() && chip.intensity() == 0));
    assert!(!a.pixels().to_rows().concat().contains('#'), "shutdown hides the garbage");

    // A driver that leaves shutdown without clearing shows it.
    let mut forgetful = a.clone();
    all(&mut forgetful, 0x0B, 0x07);
    all(&mut forgetful, 0x0C, 0x01);
    assert!(forgetful.pixels().to_rows().concat().contains('#'));
}

#[test]
fn digit_registers_and_masked_address() {
    let mut chain = running(3);
    one(&mut chain, 1, 0xF1, 0x05); // top nibble is don't-care: digit 0
    one(&mut chain, 1, 0x38, 0x80); // digit 7
    assert_eq!(chain.chips()[1].digits(), [0x05, 0, 0, 0, 0, 0, 0, 0x80]);
    assert_eq!(chain.chips()[0].digits(), [0; 8]);
    assert_eq!(chain.chips()[2].digits(), [0; 8]);
    assert_eq!(chain.stats().register_writes[0x1], 1);
    assert_eq!(chain.stats().register_writes[0x8], 1);
}

#[test]
fn code_b_picture_on_a_chip() {
    let mut chain = running(2);
    one(&mut chain, 1, 0x09, 0xFF);
    // "8.-EHLP " with a decimal point on the first digit.
    for (digit, value) in [0x88u8, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x01].into_iter().enumerate() {
        one(&mut chain, 1, digit as u8 + 1, value);
    }
    assert_eq!(chain.chips()[1].shown_digits(), [0xFF, 0x01, 0x4F, 0x37, 0x0E, 0x67, 0x00, 0x30]);
    assert_eq!(chain.chips()[1].lit_digits(), chain.chips()[1].shown_digits());
    // Same bytes in no-decode mode are drawn raw.
    one(&mut chain, 1, 0x09, 0x00);
    assert_eq!(chain.chips()[1].shown_digits(), [0x88, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x01]);
}

#[test]
fn intensity_sets_brightness_per_module() {
    let mut chain = running(2).with_layout(Layout::new(2, 1)).unwrap();
    all(&mut chain, 0x01, 0x01); // column 0, row 0 of both modules
    one(&mut chain, 0, 0x0A, 0x0F);
    one(&mut chain, 1, 0x0A, 0x13); // only the low nibble: 3
    let pixels = chain.pixels();
    assert_eq!(pixels.brightness(0, 0), 31.0 / 32.0);
    assert_eq!(pixels.brightness(8, 0), 7.0 / 32.0);
    assert_eq!(pixels.brightness(1, 0), 0.0);
    assert_eq!(pixels.brightness(99, 99), 0.0, "outside the image is dark, not a panic");
}

#[test]
fn scan_limit_blanks_later_digits() {
    let mut chain = running(1);
    for digit in 1..=8 {
        all(&mut chain, digit, 0xFF);
    }
    all(&mut chain, 0x0B, 0x03);
    let rows = chain.pixels().to_rows();
    // Generic wiring: digit = column, so columns 0..=3 lit.
    assert!(rows.iter().all(|row| row == "####...."), "{rows:?}");
}

#[test]
fn shutdown_and_display_test() {
    let mut chain = running(2);
    one(&mut chain, 0, 0x01, 0x01);
    one(&mut chain, 1, 0x0C, 0x00);
    assert!(chain.chips()[1].shutdown() && !chain.chips()[0].shutdown());
    one(&mut chain, 1, 0x0F, 0x01); // test overrides shutdown
    let pixels = chain.pixels();
    assert!((8..16).all(|x| (0..8).all(|y| pixels.is_on(x, y) && pixels.brightness(x, y) == 31.0 / 32.0)));
    assert_eq!(pixels.to_rows()[0], "#.......########");
    one(&mut chain, 1, 0x0F, 0x00);
    assert_eq!(chain.pixels().to_rows()[0], "#...............");
}

#[test]
fn undefined_registers_are_counted_and_ignored() {
    let mut chain = running(2);
    one(&mut chain, 0, 0x01, 0x42);
    let before: Vec<_> = chain.chips().to_vec();
    all(&mut chain, 0x0D, 0xFF);
    one(&mut chain, 1, 0xFE, 0x01);
    assert_eq!(chain.chips(), &before[..]);
    assert_eq!(chain.stats().undefined_register_writes, 3);
    assert_eq!(chain.stats().register_writes[0xD], 2);
    assert_eq!(chain.stats().register_writes[0xE], 1);
}
