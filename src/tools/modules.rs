//! Where each chip's module sits in the logical picture, and how to show a picture meant
//! for one wiring through a driver set up for another.
//!
//! The tools draw per module ("this chip shows its index") and the wiring wizard shows
//! pictures through wirings it is still guessing at, while the driver keeps one fixed
//! wiring for the whole session.

use crate::driver::wiring::Wiring;
use crate::render::Frame;

/// A module's 8×8 square in the logical picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleSquare {
    /// Position in the chain; 0 is the chip wired to the Pi.
    pub chain_index: usize,
    /// Left column of the square in the logical picture.
    pub x: u32,
    /// Top row of the square in the logical picture.
    pub y: u32,
}

/// The logical square of every chip, by chain index. Rotation turns module squares into
/// module squares, so the square's two opposite corners are enough to place it.
pub fn module_squares(wiring: &Wiring) -> Vec<ModuleSquare> {
    let (pw, ph) = wiring.physical_size();
    (0..wiring.chips())
        .map(|chain_index| {
            let (mx, my) = wiring.chain.module(chain_index, wiring.modules_x);
            let (ax, ay) = wiring.rotation.to_logical(mx * 8, my * 8, pw, ph);
            let (bx, by) = wiring.rotation.to_logical(mx * 8 + 7, my * 8 + 7, pw, ph);
            ModuleSquare { chain_index, x: ax.min(bx), y: ay.min(by) }
        })
        .collect()
}

/// ORs an 8×8 glyph (rows top first, most significant bit leftmost) into the square at
/// `(x, y)`.
pub fn draw_glyph(frame: &mut Frame, x: u32, y: u32, rows: &[u8; 8]) {
    for (dy, bits) in rows.iter().enumerate() {
        for dx in 0..8 {
            if bits & (0x80 >> dx) != 0 {
                frame.set((x + dx) as i32, (y + dy as u32) as i32, true);
            }
        }
    }
}

/// The picture that, sent through `sent_through`, puts on the chips exactly the registers
/// that `frame` sent through `shown_as` would. Both wirings must have the same chip count;
/// pixels that land on no chip are dropped.
pub fn reframe(frame: &Frame, shown_as: &Wiring, sent_through: &Wiring) -> Frame {
    let (w, h) = sent_through.logical_size();
    // Logical pixel of `sent_through` for every (chip, digit, bit).
    let mut pixel_of = vec![None; sent_through.chips() * 64];
    for y in 0..h {
        for x in 0..w {
            if let Some(led) = sent_through.locate(x, y) {
                let slot = led.chip * 64 + usize::from(led.digit) * 8 + usize::from(led.bit);
                if let Some(p) = pixel_of.get_mut(slot) {
                    *p = Some((x, y));
                }
            }
        }
    }
    let mut out = Frame::new(w, h);
    for y in 0..frame.height() {
        for x in 0..frame.width() {
            if !frame.get(x as i32, y as i32) {
                continue;
            }
            let Some(led) = shown_as.locate(x, y) else { continue };
            let slot = led.chip * 64 + usize::from(led.digit) * 8 + usize::from(led.bit);
            if let Some(Some((px, py))) = pixel_of.get(slot) {
                out.set(*px as i32, *py as i32, true);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::wiring::{ChainOrder, ModuleWiring, Rotation};

    #[test]
    fn squares_follow_the_chain_and_the_rotation() {
        let w = Wiring::new(3, 2).unwrap().with_chain(ChainOrder::Serpentine);
        let at: Vec<_> = module_squares(&w).iter().map(|s| (s.x, s.y)).collect();
        assert_eq!(at, [(0, 0), (8, 0), (16, 0), (16, 8), (8, 8), (0, 8)]);
        // Turned a quarter clockwise, the physical top-left module shows the logical
        // bottom-left corner of the 16×24 picture.
        let r = Wiring::new(3, 2).unwrap().with_rotation(Rotation::R90);
        assert_eq!(module_squares(&r)[0], ModuleSquare { chain_index: 0, x: 0, y: 16 });
    }

    #[test]
    fn a_reframed_picture_lights_the_same_leds() {
        let base = Wiring::new(2, 2).unwrap();
        let other = base.with_chain(ChainOrder::ReversedSerpentine).with_module(ModuleWiring::FC16);
        let mut f = Frame::new(16, 16);
        f.set(1, 0, true);
        f.set(9, 14, true);
        let g = reframe(&f, &other, &base);
        assert_eq!(g.lit(), 2);
        for (x, y) in [(1, 0), (9, 14)] {
            let led = other.locate(x, y).unwrap();
            let hit = (0..16).flat_map(|y| (0..16).map(move |x| (x, y))).filter(|&(x, y)| g.get(x, y));
            assert!(hit.into_iter().any(|(gx, gy)| base.locate(gx as u32, gy as u32) == Some(led)));
        }
    }
}
