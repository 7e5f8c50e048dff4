//! Daisy-chain behaviour: word order, stale latches, words falling off, DOUT readback,
//! broken links and chain lengths, all through `SpiDevice`.

use embedded_hal::spi::{Operation, SpiDevice};
use eslmatrix_sim::chain::{Layout, VirtualChain};

/// A full frame writing digit 0 of chip `i` with `data[i]` (data indexed by chain index).
fn digit0_frame(data: &[u8]) -> Vec<u8> {
    data.iter().rev().flat_map(|&d| [0x01, d]).collect()
}

fn digit0(chain: &VirtualChain) -> Vec<u8> {
    chain.chips().iter().map(|chip| chip.digits()[0]).collect()
}

#[test]
fn first_word_lands_in_the_farthest_chip() {
    let mut chain = VirtualChain::new(4);
    chain.write(&[0x01, 0xD3, 0x01, 0xD2, 0x01, 0xD1, 0x01, 0xD0]).unwrap();
    assert_eq!(digit0(&chain), [0xD0, 0xD1, 0xD2, 0xD3]);
    assert_eq!(chain.stats().bad_length, 0);
}

#[test]
fn short_transaction_relatches_stale_words() {
    let mut chain = VirtualChain::new(4);
    chain.write(&digit0_frame(&[0x10, 0x11, 0x12, 0x13])).unwrap();
    // One word: chip 0 takes it, every other chip re-latches its neighbour's old word.
    chain.write(&[0x02, 0xEE]).unwrap();
    assert_eq!(chain.chips()[0].digits()[1], 0xEE);
    assert_eq!(digit0(&chain), [0x10, 0x10, 0x11, 0x12], "the picture shifts by one module");
    assert_eq!(chain.stats().bad_length, 1);
    assert_eq!(chain.stats().transactions, 2);
}

#[test]
fn long_transaction_drops_its_first_words() {
    let mut chain = VirtualChain::new(3);
    chain.set_dout_loopback(true);
    chain.write(&digit0_frame(&[0x20, 0x21, 0x22])).unwrap();
    let mut read = [0u8; 8];
    let frame = [[0x03, 0x99], [0x01, 0x32], [0x01, 0x31], [0x01, 0x30]].concat();
    chain.transfer(&mut read, &frame).unwrap();
    assert_eq!(digit0(&chain), [0x30, 0x31, 0x32]);
    assert!(chain.chips().iter().all(|chip| chip.digits()[2] != 0x99), "the first word fell off");
    // What left DOUT: the old words of chips 2, 1, 0, then the dropped word.
    assert_eq!(read, [0x01, 0x22, 0x01, 0x21, 0x01, 0x20, 0x03, 0x99]);
    assert_eq!(chain.stats().bad_length, 1);
}

/// Writes a no-op marker word, then reads words one per transaction until it comes back.
fn probe(chain: &mut VirtualChain, limit: usize) -> Option<usize> {
    const MARKER: [u8; 2] = [0xF0, 0xA5]; // address 0 after masking: a no-op everywhere
    chain.write(&MARKER).unwrap();
    (1..=limit).find(|_| {
        let mut word = [0u8; 2];
        chain.read(&mut word).unwrap();
        word == MARKER
    })
}

#[test]
fn dout_loopback_returns_a_word_n_words_later() {
    for n in [1, 2, 5, 17] {
        let mut chain = VirtualChain::new(n);
        chain.set_dout_loopback(true);
        assert_eq!(probe(&mut chain, 4 * n), Some(n), "chain of {n}");
    }
}

#[test]
fn loopback_off_reads_zeros() {
    let mut chain = VirtualChain::new(2);
    chain.write(&[0xAB; 4]).unwrap();
    let mut buf = [0x55u8; 4];
    chain.transfer_in_place(&mut buf).unwrap();
    assert_eq!(buf, [0; 4]);
    assert_eq!(probe(&mut chain, 8), None);
}

#[test]
fn broken_chain_never_returns_the_marker() {
    for k in [0, 2, 3] {
        let mut chain = VirtualChain::new(4);
        chain.set_dout_loopback(true);
        chain.break_after(k);
        assert_eq!(probe(&mut chain, 16), None, "break after chip {k}");
    }
    let mut chain = VirtualChain::new(4);
    chain.set_dout_loopback(true);
    chain.break_after(1);
    chain.repair();
    assert_eq!(probe(&mut chain, 16), Some(4));
}

#[test]
fn broken_chain_starves_the_far_chips() {
    let mut chain = VirtualChain::new(4);
    chain.break_after(1);
    chain.write(&digit0_frame(&[0x40, 0x41, 0x42, 0x43])).unwrap();
    // Chips 2 and 3 received zeros: a no-op, so their RAM is untouched.
    assert_eq!(digit0(&chain), [0x40, 0x41, 0, 0]);
    assert_eq!(chain.shift_register(2), Some(0));
    assert_eq!(chain.stats().register_writes[0], 2);
}

#[test]
fn all_operation_kinds_share_one_cs_period() {
    let mut chain = VirtualChain::new(2);
    chain.set_dout_loopback(true);
    let mut read = [0u8; 1];
    let mut in_place = [0x01, 0x77];
    let mut transfer_read = [0u8; 3];
    chain
        .transaction(&mut [
            Operation::Write(&[0x01]),
            Operation::DelayNs(1_000),
            Operation::Read(&mut read),
            Operation::Transfer(&mut transfer_read, &[0x02]),
            Operation::TransferInPlace(&mut in_place),
        ])
        .unwrap();
    // Clocked in: 01 | 00 | 02 00 00 | 01 77 (reads and transfer padding clock zeros).
    assert_eq!(chain.stats().transactions, 1);
    assert_eq!(chain.stats().bytes, 7);
    assert_eq!(chain.stats().bad_length, 1);
    assert_eq!(chain.shift_register(0), Some(0x0177));
    assert_eq!(chain.shift_register(1), Some(0x0000));
    assert_eq!(chain.chips()[0].digits()[0], 0x77);
    // DOUT is the input 4 bytes (2 words) late: power-on zeros, then 01 00 02.
    assert_eq!(read, [0]);
    assert_eq!(transfer_read, [0, 0, 0x01]);
    assert_eq!(in_place, [0x00, 0x02]);
}

#[test]
fn single_chip_chain() {
    let mut chain = VirtualChain::new(1);
    chain.write(&[0x0C, 0x01, 0x0B, 0x07, 0x03, 0x81]).unwrap(); // 3 words: only the last sticks
    assert!(chain.chips()[0].shutdown());
    assert_eq!(chain.chips()[0].digits()[2], 0x81);
    chain.write(&[0x0C, 0x01]).unwrap();
    chain.write(&[0x0B, 0x07]).unwrap();
    let rows = chain.pixels().to_rows();
    assert_eq!(rows[0], "..#.....");
    assert_eq!(rows[7], "..#.....");
    assert_eq!(rows.len(), 8);
}

#[test]
fn sixty_four_chip_chain() {
    let n = 64;
    let mut chain = VirtualChain::new(n).with_layout(Layout::new(8, 8)).unwrap();
    chain.write(&[0x0C, 0x01].repeat(n)).unwrap();
    chain.write(&[0x0B, 0x07].repeat(n)).unwrap();
    let data: Vec<u8> = (0..n as u8).collect();
    chain.write(&digit0_frame(&data)).unwrap();
    assert_eq!(digit0(&chain), data);
    assert_eq!(chain.stats().bad_length, 0);
    assert_eq!(chain.stats().latches, 3 * 64);
    let pixels = chain.pixels();
    assert_eq!((pixels.width(), pixels.height()), (64, 64));
    // Module (mx, my) is chip my*8+mx; its column 0 shows the chip index as bits, top = bit 0.
    for chip in 0..n {
        let (x, y0) = (8 * (chip % 8), 8 * (chip / 8));
        for bit in 0..8 {
            assert_eq!(pixels.is_on(x, y0 + bit), chip & (1 << bit) != 0, "chip {chip} bit {bit}");
        }
    }
}
