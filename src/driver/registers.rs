//! The fast frame → digit-register transform.
//!
//! A frame row's byte is eight pixels of one module row, so a module's 8×8 block is eight
//! bytes one stride apart: one `u64`. Rotation and module wiring together are always one
//! of the eight symmetries of a square, so every chip needs the same three bit-matrix
//! operations (flip rows, flip columns, transpose) on its block; only where the block
//! comes from differs per chip. [`RegisterPlan`] works both out once, leaving the
//! per-frame loop a gather and a handful of shifts per chip.

use super::wiring::{Wiring, WiringError};
use crate::render::Frame;

/// Digit registers 1–8 of one chip: element `d` is the data byte of register `d + 1`.
pub type Registers = [u8; 8];

/// A [`Wiring`] compiled for turning frames into digit registers quickly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterPlan {
    wiring: Wiring,
    width: u32,
    height: u32,
    stride: usize,
    /// Per chain index: the byte offset in the frame of the top row of the logical block
    /// that the chip shows.
    sources: Vec<usize>,
    op: BlockOp,
}

/// The symmetry that takes a logical block (byte `y` = frame row `y`, bit `7 - x` =
/// pixel `x`) to a chip's registers (byte `d` = digit `d`, bit `b` = bit `b`): first the
/// flips, then the transpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BlockOp {
    flip_rows: bool,
    flip_cols: bool,
    transpose: bool,
}

impl BlockOp {
    /// Reads the op off the per-pixel mapping: where register (digit, bit) finds its
    /// pixel in the block matrix. Three probes settle all three flags because the mapping
    /// is a symmetry of the square.
    fn from_mapping(source: impl Fn(u8, u8) -> (u8, u8)) -> Self {
        let origin = source(0, 0);
        let next_digit = source(1, 0);
        BlockOp { flip_rows: origin.0 == 7, flip_cols: origin.1 == 7, transpose: next_digit.0 == origin.0 }
    }
}

impl RegisterPlan {
    /// The plan for `wiring`; fails for a wiring without modules or too large.
    pub fn new(wiring: &Wiring) -> Result<Self, WiringError> {
        wiring.validate()?;
        let (width, height) = wiring.logical_size();
        let stride = width as usize / 8;
        let (mx_count, my_count) = (wiring.modules_x, wiring.modules_y);
        let sources = (0..wiring.chips())
            .map(|chip| {
                let (mx, my) = wiring.chain.module(chip, mx_count);
                // Modules are aligned 8×8 blocks on both sides of the rotation, so the
                // rotation's formulas apply to module coordinates too.
                let (bx, by) = wiring.rotation.to_logical(mx, my, mx_count, my_count);
                by as usize * 8 * stride + bx as usize
            })
            .collect();
        let op = BlockOp::from_mapping(|digit, bit| {
            let (x, y) = wiring.module.pixel(digit, bit);
            let (u, v) = wiring.rotation.to_logical(x, y, 8, 8);
            (v as u8, 7 - u as u8)
        });
        Ok(RegisterPlan { wiring: *wiring, width, height, stride, sources, op })
    }

    /// The wiring this plan transforms for.
    pub fn wiring(&self) -> &Wiring {
        &self.wiring
    }

    /// Chips on the chain.
    pub fn chips(&self) -> usize {
        self.sources.len()
    }

    /// Fills `out` with every chip's digit registers, indexed by chain index. `out` is
    /// resized to the chip count, so a reused vector costs no allocation.
    pub fn registers_into(&self, frame: &Frame, out: &mut Vec<Registers>) -> Result<(), WiringError> {
        if frame.width() != self.width || frame.height() != self.height {
            return Err(WiringError::FrameSize {
                width: frame.width(),
                height: frame.height(),
                expected_width: self.width,
                expected_height: self.height,
            });
        }
        out.resize(self.sources.len(), [0; 8]);
        let (bytes, stride, sources) = (frame.bytes(), self.stride, &self.sources[..]);
        // One monomorphised loop per symmetry keeps the per-chip work free of branches.
        match (self.op.flip_rows, self.op.flip_cols, self.op.transpose) {
            (false, false, false) => transform::<false, false, false>(bytes, stride, sources, out),
            (false, false, true) => transform::<false, false, true>(bytes, stride, sources, out),
            (false, true, false) => transform::<false, true, false>(bytes, stride, sources, out),
            (false, true, true) => transform::<false, true, true>(bytes, stride, sources, out),
            (true, false, false) => transform::<true, false, false>(bytes, stride, sources, out),
            (true, false, true) => transform::<true, false, true>(bytes, stride, sources, out),
            (true, true, false) => transform::<true, true, false>(bytes, stride, sources, out),
            (true, true, true) => transform::<true, true, true>(bytes, stride, sources, out),
        }
        Ok(())
    }

    /// Every chip's digit registers, indexed by chain index.
    pub fn registers(&self, frame: &Frame) -> Result<Vec<Registers>, WiringError> {
        let mut out = Vec::with_capacity(self.sources.len());
        self.registers_into(frame, &mut out)?;
        Ok(out)
    }
}

impl Wiring {
    /// Every chip's digit registers for `frame`, indexed by chain index. Builds a
    /// [`RegisterPlan`] each call; keep one when converting many frames.
    pub fn registers(&self, frame: &Frame) -> Result<Vec<Registers>, WiringError> {
        RegisterPlan::new(self)?.registers(frame)
    }
}

fn transform<const FLIP_ROWS: bool, const FLIP_COLS: bool, const TRANSPOSE: bool>(
    bytes: &[u8],
    stride: usize,
    sources: &[usize],
    out: &mut [Registers],
) {
    for (regs, &base) in out.iter_mut().zip(sources) {
        let block = &bytes[base..=base + 7 * stride];
        let mut m = 0u64;
        for row in 0..8 {
            m |= u64::from(block[row * stride]) << (8 * row);
        }
        if FLIP_ROWS && FLIP_COLS {
            m = m.reverse_bits();
        } else if FLIP_ROWS {
            m = m.swap_bytes();
        } else if FLIP_COLS {
            m = m.reverse_bits().swap_bytes();
        }
        if TRANSPOSE {
            m = transpose8(m);
        }
        *regs = m.to_le_bytes();
    }
}

/// Transposes the 8×8 bit matrix whose row `i` is byte `i` and column `j` is bit `j`:
/// three delta swaps exchanging the row and column halves of the bit index.
fn transpose8(mut m: u64) -> u64 {
    let t = (m ^ (m >> 7)) & 0x00AA_00AA_00AA_00AA;
    m ^= t ^ (t << 7);
    let t = (m ^ (m >> 14)) & 0x0000_CCCC_0000_CCCC;
    m ^= t ^ (t << 14);
    let t = (m ^ (m >> 28)) & 0x0000_0000_F0F0_F0F0;
    m ^= t ^ (t << 28);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::wiring::{ChainOrder, ModuleWiring, Rotation};
    use proptest::prelude::*;

    /// Straight from ARCHITECTURE.md, one pixel at a time.
    fn reference(wiring: &Wiring, frame: &Frame) -> Vec<Registers> {
        let mut regs = vec![[0u8; 8]; wiring.chips()];
        for ly in 0..frame.height() {
            for lx in 0..frame.width() {
                if frame.get(lx as i32, ly as i32) {
                    let led = wiring.locate(lx, ly).expect("pixel inside the frame");
                    regs[led.chip][usize::from(led.digit)] |= 1 << led.bit;
                }
            }
        }
        regs
    }

    fn frame_from_bytes(wiring: &Wiring, bytes: &[u8]) -> Frame {
        let (w, h) = wiring.logical_size();
        let mut frame = Frame::new(w, h);
        let n = frame.bytes().len();
        frame.bytes_mut().copy_from_slice(&bytes[..n]);
        frame
    }

    fn wiring(mx: u32, my: u32, module: usize, chain: usize, rotation: usize) -> Wiring {
        Wiring::new(mx, my)
            .unwrap()
            .with_module(ModuleWiring::ALL[module])
            .with_chain(ChainOrder::ALL[chain])
            .with_rotation(Rotation::ALL[rotation])
    }

    #[test]
    fn transpose8_swaps_rows_and_columns() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let m = state;
            let t = transpose8(m);
            for i in 0..8 {
                for j in 0..8 {
                    assert_eq!((t >> (8 * i + j)) & 1, (m >> (8 * j + i)) & 1);
                }
            }
        }
    }

    #[test]
    fn every_single_pixel_lands_where_the_reference_puts_it() {
        for module in 0..8 {
            for chain in 0..4 {
                for rotation in 0..4 {
                    let w = wiring(3, 2, module, chain, rotation);
                    let plan = RegisterPlan::new(&w).unwrap();
                    let (lw, lh) = w.logical_size();
                    for ly in 0..lh {
                        for lx in 0..lw {
                            let mut f = Frame::new(lw, lh);
                            f.set(lx as i32, ly as i32, true);
                            assert_eq!(
                                plan.registers(&f).unwrap(),
                                reference(&w, &f),
                                "{w:?} pixel ({lx},{ly})"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn wrong_frame_size_is_an_error() {
        let w = Wiring::new(4, 1).unwrap().with_rotation(Rotation::R90);
        let err = w.registers(&Frame::new(32, 8)).unwrap_err();
        assert_eq!(
            err,
            WiringError::FrameSize { width: 32, height: 8, expected_width: 8, expected_height: 32 }
        );
        assert_eq!(err.to_string(), "frame is 32×8 px but the display's logical size is 8×32");
        assert!(w.registers(&Frame::new(8, 31)).is_err());
        assert_eq!(w.registers(&Frame::new(8, 32)).unwrap().len(), 4);
    }

    #[test]
    fn invalid_wiring_cannot_make_a_plan() {
        let mut w = Wiring::new(2, 2).unwrap();
        w.modules_y = 0;
        assert_eq!(RegisterPlan::new(&w), Err(WiringError::NoModules { modules_x: 2, modules_y: 0 }));
    }

    #[test]
    fn reused_output_is_resized_to_the_chain() {
        let plan = RegisterPlan::new(&Wiring::new(2, 1).unwrap()).unwrap();
        let mut out = vec![[0xFF; 8]; 5];
        plan.registers_into(&Frame::new(16, 8), &mut out).unwrap();
        assert_eq!(out, vec![[0; 8]; 2]);
    }

    #[test]
    fn every_wiring_and_grid_agrees_with_the_reference_on_noise() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut noise = vec![0u8; 6 * 4 * 8];
        for mx in 1..=6 {
            for my in 1..=4 {
                for module in 0..8 {
                    for chain in 0..4 {
                        for rotation in 0..4 {
                            for b in &mut noise {
                                state ^= state << 13;
                                state ^= state >> 7;
                                state ^= state << 17;
                                *b = state as u8;
                            }
                            let w = wiring(mx, my, module, chain, rotation);
                            let frame = frame_from_bytes(&w, &noise);
                            assert_eq!(w.registers(&frame).unwrap(), reference(&w, &frame), "{w:?}");
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn fast_path_equals_the_reference(
            mx in 1u32..=6,
            my in 1u32..=4,
            module in 0usize..8,
            chain in 0usize..4,
            rotation in 0usize..4,
            bytes in proptest::collection::vec(any::<u8>(), 6 * 4 * 8),
        ) {
            let w = wiring(mx, my, module, chain, rotation);
            let frame = frame_from_bytes(&w, &bytes);
            prop_assert_eq!(RegisterPlan::new(&w).unwrap().registers(&frame).unwrap(), reference(&w, &frame));
        }
    }
}
