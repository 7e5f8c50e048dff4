use super::*;
use crate::driver::wiring::{ChainOrder, ModuleWiring, Rotation};
use embedded_hal::spi::{ErrorKind, ErrorType, Operation};
use embedded_hal_mock::eh1::spi::{Mock, Transaction};
use std::collections::BTreeMap;

/// One CS frame with `data[chip]` for each chip, written the way the wire carries it:
/// the farthest chip's word first.
fn words(register: u8, data: &[u8]) -> Vec<u8> {
    data.iter().rev().flat_map(|&d| [register, d]).collect()
}

fn level(n: u8) -> Intensity {
    Intensity::new(n).unwrap()
}

fn expect(frames: impl IntoIterator<Item = Vec<u8>>) -> Vec<Transaction<u8>> {
    frames
        .into_iter()
        .flat_map(|bytes| {
            [Transaction::transaction_start(), Transaction::write_vec(bytes), Transaction::transaction_end()]
        })
        .collect()
}

fn init_frames(chips: usize, intensity: u8) -> Vec<Vec<u8>> {
    let all = |register, data| words(register, &vec![data; chips]);
    let mut frames =
        vec![all(0x0C, 0x00), all(0x0B, 0x07), all(0x09, 0x00), all(0x0F, 0x00), all(0x0A, intensity)];
    frames.extend((1..=8).map(|digit| all(digit, 0x00)));
    frames.push(all(0x0C, 0x01));
    frames
}

/// Every write of every transaction, one `Vec` per CS frame.
#[derive(Default)]
struct Recorder {
    frames: Vec<Vec<u8>>,
}

impl ErrorType for Recorder {
    type Error = ErrorKind;
}

impl SpiDevice<u8> for Recorder {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        let mut frame = Vec::new();
        for op in operations {
            match op {
                Operation::Write(bytes) => frame.extend_from_slice(bytes),
                _ => return Err(ErrorKind::Other),
            }
        }
        self.frames.push(frame);
        Ok(())
    }
}

/// Fails the `n`th transaction (0-based), then works again.
struct FailOnce {
    recorder: Recorder,
    fail_at: usize,
    seen: usize,
}

impl ErrorType for FailOnce {
    type Error = ErrorKind;
}

impl SpiDevice<u8> for FailOnce {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Self::Error> {
        self.seen += 1;
        if self.seen - 1 == self.fail_at {
            return Err(ErrorKind::Other);
        }
        self.recorder.transaction(operations)
    }
}

/// What the chips' digit registers hold after `frames`, by chain index: a CS frame of
/// 2·N bytes puts word `k` into chip `N - 1 - k`.
fn digit_effect(chips: usize, frames: &[Vec<u8>]) -> Vec<[u8; 8]> {
    let mut regs = vec![[0u8; 8]; chips];
    for frame in frames {
        assert_eq!(frame.len(), 2 * chips, "every CS frame must carry one word per chip");
        for (k, word) in frame.chunks_exact(2).enumerate() {
            if let digit @ 1..=8 = word[0] & 0x0F {
                regs[chips - 1 - k][usize::from(digit) - 1] = word[1];
            }
        }
    }
    regs
}

/// A frame for `chips` generic modules in a row with pixel (0,0) of the nearest chip and
/// pixel (1,2) of the farthest chip lit.
fn two_dots(chips: usize) -> Frame {
    let mut f = Frame::new(8 * chips as u32, 8);
    f.set(0, 0, true);
    f.set(8 * (chips as i32 - 1) + 1, 2, true);
    f
}

#[test]
fn init_first_frame_partial_update_and_unchanged_frame_on_1_2_and_4_chips() {
    for chips in [1usize, 2, 4] {
        let last = chips - 1;
        // First frame after the clear: digit 0 of chip 0 has bit 0, digit 1 of the last
        // chip has bit 2; only those two digit rows go out.
        let mut digit0 = vec![0u8; chips];
        digit0[0] = 0x01;
        let mut digit1 = vec![0u8; chips];
        digit1[last] = 0x04;
        // Update: the far dot moves to (7,7) of the last chip. Digit 1 clears, digit 7
        // gets bit 7; digit 0 is unchanged and is not sent.
        let mut digit7 = vec![0u8; chips];
        digit7[last] = 0x80;

        let mut frames = init_frames(chips, 3);
        frames.extend([words(0x01, &digit0), words(0x02, &digit1)]);
        frames.extend([words(0x02, &vec![0; chips]), words(0x08, &digit7)]);
        let mut mock = Mock::new(&expect(frames));

        let mut driver = Max7219::new(mock.clone(), Wiring::new(chips as u32, 1).unwrap()).unwrap();
        let n = 2 * chips;
        assert_eq!(driver.init(level(3)).unwrap(), Sent { transactions: 14, bytes: 14 * n });
        let first = two_dots(chips);
        assert_eq!(driver.write_frame(&first).unwrap(), Sent { transactions: 2, bytes: 2 * n });
        let mut second = first.clone();
        second.set(8 * last as i32 + 1, 2, false);
        second.set(8 * last as i32 + 7, 7, true);
        assert_eq!(driver.write_frame(&second).unwrap(), Sent { transactions: 2, bytes: 2 * n });
        assert_eq!(driver.write_frame(&second).unwrap(), Sent::default());
        mock.done();
    }
}

#[test]
fn two_chip_frame_bytes_put_the_far_chip_first() {
    // Spelled out once without the helper: register 1 for the far chip (0x00) comes
    // before register 1 for the near chip (0x01).
    let mut mock = Mock::new(&expect([vec![0x01, 0x00, 0x01, 0x01], vec![0x02, 0x04, 0x02, 0x00]]));
    let mut driver = Max7219::new(mock.clone(), Wiring::new(2, 1).unwrap()).unwrap();
    driver.stale = 0; // as if initialised, so that only the two lit rows go out
    driver.write_frame(&two_dots(2)).unwrap();
    mock.done();
}

#[test]
fn a_frame_before_init_sends_every_row() {
    let mut rec = Recorder::default();
    let mut driver = Max7219::new(&mut rec, Wiring::new(2, 1).unwrap()).unwrap();
    assert_eq!(driver.write_frame(&Frame::new(16, 8)).unwrap(), Sent { transactions: 8, bytes: 32 });
    assert_eq!(driver.write_frame(&Frame::new(16, 8)).unwrap(), Sent::default());
    assert_eq!(rec.frames.len(), 8);
}

#[test]
fn refresh_resends_config_and_the_current_picture_and_keeps_settings() {
    let mut rec = Recorder::default();
    let mut driver = Max7219::new(&mut rec, Wiring::new(2, 1).unwrap()).unwrap();
    driver.init(level(5)).unwrap();
    driver.write_frame(&two_dots(2)).unwrap();
    driver.set_power(false).unwrap();
    driver.set_test(true).unwrap();
    driver.set_intensity(level(15)).unwrap();
    assert_eq!(driver.refresh().unwrap(), Sent { transactions: 14, bytes: 56 });
    assert_eq!(driver.write_frame(&two_dots(2)).unwrap(), Sent::default());
    drop(driver);
    let refresh = &rec.frames[rec.frames.len() - 14..];
    let mut expected = vec![
        words(0x0C, &[0, 0]),
        words(0x0B, &[7, 7]),
        words(0x09, &[0, 0]),
        words(0x0F, &[1, 1]),
        words(0x0A, &[15, 15]),
        words(0x01, &[0x01, 0]),
        words(0x02, &[0, 0x04]),
    ];
    expected.extend((3..=8).map(|d| words(d, &[0, 0])));
    expected.push(words(0x0C, &[0, 0]));
    assert_eq!(refresh, expected);
    let controls = &rec.frames[rec.frames.len() - 17..rec.frames.len() - 14];
    assert_eq!(controls, [words(0x0C, &[0, 0]), words(0x0F, &[1, 1]), words(0x0A, &[15, 15])]);
}

#[test]
fn control_words_go_to_every_chip_in_one_transaction() {
    let mock = Mock::new(&expect([
        vec![0x0A, 0x0F, 0x0A, 0x0F, 0x0A, 0x0F],
        vec![0x0C, 0x00, 0x0C, 0x00, 0x0C, 0x00],
        vec![0x0C, 0x01, 0x0C, 0x01, 0x0C, 0x01],
        vec![0x0F, 0x01, 0x0F, 0x01, 0x0F, 0x01],
        vec![0x0F, 0x00, 0x0F, 0x00, 0x0F, 0x00],
    ]));
    let mut driver = Max7219::new(mock, Wiring::new(1, 3).unwrap()).unwrap();
    driver.set_intensity(level(15)).unwrap();
    driver.set_power(false).unwrap();
    driver.set_power(true).unwrap();
    driver.set_test(true).unwrap();
    driver.set_test(false).unwrap();
    driver.release().done();
}

#[test]
fn a_failed_write_is_retried_by_the_next_frame() {
    // Transactions 0..14 are the init; 14 is the first digit row of the frame.
    let spi = FailOnce { recorder: Recorder::default(), fail_at: 14, seen: 0 };
    let mut driver = Max7219::new(spi, Wiring::new(2, 1).unwrap()).unwrap();
    driver.init(level(0)).unwrap();
    assert!(matches!(driver.write_frame(&two_dots(2)), Err(DriverError::Spi(ErrorKind::Other))));
    // The same frame again: nothing changed, but the row that failed and the one after
    // it were never sent.
    assert_eq!(driver.write_frame(&two_dots(2)).unwrap(), Sent { transactions: 2, bytes: 8 });
    let spi = driver.release();
    let wanted = Wiring::new(2, 1).unwrap().registers(&two_dots(2)).unwrap();
    assert_eq!(digit_effect(2, &spi.recorder.frames), wanted);
}

#[test]
fn one_and_sixty_four_chips_carry_one_word_per_chip() {
    for chips in [1u32, 64] {
        for wiring in [
            Wiring::new(chips, 1).unwrap().with_module(ModuleWiring::FC16),
            Wiring::new(1, chips).unwrap().with_chain(ChainOrder::Serpentine).with_rotation(Rotation::R90),
        ] {
            let (w, h) = wiring.logical_size();
            let mut frame = Frame::new(w, h);
            for i in 0..(w * h) as i32 {
                frame.set(i % w as i32, i / w as i32, i % 7 == 0 || i % 11 == 3);
            }
            let mut rec = Recorder::default();
            let mut driver = Max7219::new(&mut rec, wiring).unwrap();
            driver.init(level(1)).unwrap();
            let sent = driver.write_frame(&frame).unwrap();
            assert!(sent.transactions <= 8);
            assert_eq!(sent.bytes, sent.transactions * 2 * chips as usize);
            drop(driver);
            assert_eq!(digit_effect(chips as usize, &rec.frames), wiring.registers(&frame).unwrap());
        }
    }
}

#[derive(serde::Deserialize)]
struct LumaCase {
    width: u32,
    height: u32,
    block_orientation: i32,
    transactions: Vec<String>,
    pixels: Vec<String>,
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex byte in the fixture")).collect()
}

#[test]
fn luma_reference_frames_have_the_same_effect_on_the_chips() {
    let cases: BTreeMap<String, LumaCase> =
        serde_json::from_str(include_str!("../../../fixtures/luma/luma_reference_frames.json")).unwrap();
    assert_eq!(cases.len(), 12);
    for (name, case) in &cases {
        let frame = Frame::from_rows(&case.pixels).unwrap();
        let wiring = Wiring::luma(case.width, case.height, case.block_orientation, false, 0).unwrap();
        let chips = wiring.chips();
        let mut rec = Recorder::default();
        let mut driver = Max7219::new(&mut rec, wiring).unwrap();
        driver.init(level(7)).unwrap();
        driver.write_frame(&frame).unwrap();
        drop(driver);
        let luma: Vec<Vec<u8>> = case.transactions.iter().map(|t| hex(t)).collect();
        assert_eq!(luma.len(), 8, "{name}");
        assert_eq!(digit_effect(chips, &rec.frames), digit_effect(chips, &luma), "{name}");
    }
}

#[test]
fn luma_rotate_one_lights_physical_15_0_for_logical_origin() {
    // 16×8 physical, rotate=1: the logical frame is 8×16 and (0,0) shows at physical
    // (15,0): the far chip (index 1), its column 7 (register 8), row 0 (bit 0).
    let wiring = Wiring::luma(16, 8, 0, false, 1).unwrap();
    let mut frame = Frame::new(8, 16);
    frame.set(0, 0, true);
    let mut mock = Mock::new(&expect([vec![0x08, 0x01, 0x08, 0x00]]));
    let mut driver = Max7219::new(mock.clone(), wiring).unwrap();
    driver.stale = 0;
    assert_eq!(driver.write_frame(&frame).unwrap(), Sent { transactions: 1, bytes: 4 });
    mock.done();
}

#[test]
fn bad_input_is_a_typed_error_and_sends_nothing() {
    let mut mock = Mock::new(&[]);
    let mut driver = Max7219::new(mock.clone(), Wiring::new(4, 1).unwrap()).unwrap();
    let err = driver.write_frame(&Frame::new(24, 8)).unwrap_err();
    assert!(matches!(
        err,
        DriverError::Wiring(WiringError::FrameSize {
            width: 24,
            height: 8,
            expected_width: 32,
            expected_height: 8
        })
    ));
    assert_eq!(err.to_string(), "frame is 24×8 px but the display's logical size is 32×8");
    let _: &dyn std::error::Error = &err;
    // An intensity the chip lacks cannot reach the driver: it is refused where it is parsed.
    assert!(Intensity::new(16).is_err());
    assert_eq!(driver.intensity(), Intensity::default());
    mock.done();

    let no_modules = Wiring {
        modules_x: 0,
        modules_y: 1,
        chain: ChainOrder::RowMajor,
        module: ModuleWiring::GENERIC,
        rotation: Rotation::R0,
    };
    assert_eq!(
        Max7219::new(Recorder::default(), no_modules).err(),
        Some(WiringError::NoModules { modules_x: 0, modules_y: 1 })
    );
    assert_eq!(Wiring::new(0, 1).err(), Some(WiringError::NoModules { modules_x: 0, modules_y: 1 }));
    let err = Wiring::luma(32, 8, 45, false, 0).unwrap_err();
    assert_eq!(err.to_string(), "block orientation 45 is not one of 0, 90, -90, 180");
}
