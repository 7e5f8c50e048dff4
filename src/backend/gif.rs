//! `--backend gif:FILE`: the LED look recorded as an animated GIF, with the timing the
//! frames really had.
//!
//! The look has at most [`Ink::COUNT`] colours, so frames are stored as indices into one
//! fixed global palette (no quantizer, no per-frame palettes). After the first frame, each
//! frame covers only the rectangle that changed, with unchanged pixels transparent: a
//! scrolling text then costs a few hundred bytes a frame.

use std::io::Write;
use std::time::Duration;

use super::leds::{Ink, SHADES};
use super::view::{View, ViewError};
use super::LedGrid;

/// Pixels per LED when `gif:FILE` gives none: small files that still show round dots.
pub const DEFAULT_PITCH: u32 = 8;

/// How long the last picture stays up (at least) before the animation starts over.
pub const FINAL_HOLD: Duration = Duration::from_secs(2);

/// GIF delays are in 1/100 s, and browsers show any delay under 2/100 s as 1/10 s; a change
/// that would be up for less than this is merged into the next one instead.
const MIN_DELAY_CS: u64 = 2;

/// The palette slot marking "unchanged since the previous frame".
const TRANSPARENT: u8 = 0;

/// The palette slot of an ink. The LZW code size of a frame follows the largest index it
/// uses, so the common inks come first: the board, unlit LEDs, then lit ones from the
/// brightest step down (a recording at full intensity needs only 3-bit codes).
fn slot(ink: Ink) -> u8 {
    let dimmer = |n: u8| 2 * (SHADES - 1 - n.min(SHADES - 1));
    match ink {
        Ink::Board => 1,
        Ink::Unlit => 2,
        Ink::Lit(n) => 3 + dimmer(n),
        Ink::Core(n) => 4 + dimmer(n),
    }
}

/// Records every picture it is shown; the file is complete after `finish`.
pub struct GifView<W: Write + Send> {
    pitch: u32,
    sink: Option<W>,
    encoder: Option<gif::Encoder<W>>,
    /// What the animation shows after the frames written so far, as palette indices.
    canvas: Vec<u8>,
    /// The `at` of the first picture: the animation's time zero.
    start: Option<Duration>,
    /// The newest picture and when it appeared (in 1/100 s), written once the next change
    /// tells how long it stayed up.
    pending: Option<(LedGrid, u64)>,
}

impl<W: Write + Send> GifView<W> {
    /// A recorder writing to `sink`, `pitch` pixels per LED.
    pub fn new(sink: W, pitch: u32) -> Self {
        GifView {
            pitch: pitch.max(2),
            sink: Some(sink),
            encoder: None,
            canvas: Vec::new(),
            start: None,
            pending: None,
        }
    }

    /// `at` as 1/100 s since the first picture, rounded, so that rounding errors never add
    /// up: each delay is the difference of two rounded instants.
    fn centis(&mut self, at: Duration) -> u64 {
        let start = *self.start.get_or_insert(at);
        (at.saturating_sub(start).as_millis() as u64 + 5) / 10
    }

    fn record(&mut self, leds: &LedGrid, now: u64) -> Result<(), ViewError> {
        match self.pending.take() {
            None => self.pending = Some((leds.clone(), now)),
            Some((grid, since)) if grid == *leds => self.pending = Some((grid, since)),
            Some((_, since)) if now.saturating_sub(since) < MIN_DELAY_CS => {
                // Up too briefly to be seen: the newer picture takes its slot.
                self.pending = Some((leds.clone(), since));
            }
            Some((grid, since)) => {
                self.write_frame(&grid, now - since)?;
                self.pending = Some((leds.clone(), now));
            }
        }
        Ok(())
    }

    fn write_frame(&mut self, grid: &LedGrid, delay_cs: u64) -> Result<(), ViewError> {
        let (w, h) = grid.look_size(self.pitch);
        let too_big =
            || ViewError::Gif(format!("a {w}×{h} picture is too large for a GIF (65535 px at most)"));
        let width = u16::try_from(w).map_err(|_| too_big())?;
        let height = u16::try_from(h).map_err(|_| too_big())?;
        let pixels: Vec<u8> = grid.paint(self.pitch).into_iter().map(slot).collect();
        let delay = u16::try_from(delay_cs).unwrap_or(u16::MAX);
        let encode = |e: gif::EncodingError| ViewError::Gif(e.to_string());

        let encoder = match (&mut self.encoder, self.sink.take()) {
            (Some(encoder), _) => encoder,
            (None, Some(sink)) => {
                // Slot 0 (transparent) keeps the board colour for decoders that ignore it.
                let mut palette = vec![0u8; 3 * (Ink::COUNT + 1)];
                for ink in Ink::palette().chain([Ink::Board]) {
                    let at = 3 * slot(ink) as usize;
                    let (r, g, b) = ink.rgb();
                    palette[at..at + 3].copy_from_slice(&[r, g, b]);
                }
                let (r, g, b) = Ink::Board.rgb();
                palette[..3].copy_from_slice(&[r, g, b]);
                let mut encoder = gif::Encoder::new(sink, width, height, &palette).map_err(encode)?;
                encoder.set_repeat(gif::Repeat::Infinite).map_err(encode)?;
                let mut frame = gif::Frame::from_indexed_pixels(width, height, pixels.clone(), None);
                frame.delay = delay;
                encoder.write_frame(&frame).map_err(encode)?;
                self.canvas = pixels;
                self.encoder = Some(encoder);
                return Ok(());
            }
            (None, None) => return Err(ViewError::Gif("the recording has already ended".into())),
        };
        if pixels.len() != self.canvas.len() {
            return Err(ViewError::Gif("the picture changed size mid-recording".into()));
        }
        let frame = match changed_rect(&self.canvas, &pixels, w as usize) {
            Some((x0, y0, x1, y1)) => {
                let mut buffer = Vec::with_capacity((x1 - x0) * (y1 - y0));
                for y in y0..y1 {
                    let row = y * w as usize;
                    for x in x0..x1 {
                        let (old, new) = (self.canvas[row + x], pixels[row + x]);
                        buffer.push(if old == new { TRANSPARENT } else { new });
                    }
                }
                gif::Frame {
                    left: x0 as u16,
                    top: y0 as u16,
                    width: (x1 - x0) as u16,
                    height: (y1 - y0) as u16,
                    buffer: buffer.into(),
                    transparent: Some(TRANSPARENT),
                    ..gif::Frame::default()
                }
            }
            // The levels moved less than one intensity step: same look, one still pixel.
            None => gif::Frame {
                width: 1,
                height: 1,
                buffer: vec![TRANSPARENT].into(),
                transparent: Some(TRANSPARENT),
                ..gif::Frame::default()
            },
        };
        let frame = gif::Frame { delay, dispose: gif::DisposalMethod::Keep, ..frame };
        encoder.write_frame(&frame).map_err(encode)?;
        self.canvas = pixels;
        Ok(())
    }
}

/// The smallest rectangle `(x0, y0, x1, y1)` (end-exclusive) holding every pixel that
/// differs, or None when none does.
fn changed_rect(old: &[u8], new: &[u8], width: usize) -> Option<(usize, usize, usize, usize)> {
    let mut rect: Option<(usize, usize, usize, usize)> = None;
    for (i, _) in old.iter().zip(new).enumerate().filter(|(_, (a, b))| a != b) {
        let (x, y) = (i % width, i / width);
        rect = Some(match rect {
            None => (x, y, x + 1, y + 1),
            Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
        });
    }
    rect
}

impl<W: Write + Send> View for GifView<W> {
    fn show(&mut self, leds: &LedGrid, at: Duration) -> Result<(), ViewError> {
        let now = self.centis(at);
        self.record(leds, now)
    }

    /// Writes the last picture, held for as long as it was up but at least
    /// [`FINAL_HOLD`], and completes the file.
    fn finish(&mut self, leds: &LedGrid, at: Duration) -> Result<(), ViewError> {
        let now = self.centis(at);
        self.record(leds, now)?;
        if let Some((grid, since)) = self.pending.take() {
            let hold = (FINAL_HOLD.as_millis() as u64 / 10).max(now - since);
            self.write_frame(&grid, hold)?;
        }
        if let Some(encoder) = self.encoder.take() {
            let mut sink = encoder.into_inner().map_err(|e| ViewError::Gif(e.to_string()))?;
            sink.flush().map_err(|e| ViewError::Gif(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::AnimationDecoder;

    /// A writer the test can read back after the view is done with it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Decodes a GIF into (delay in ms, composited frame).
    fn decode(bytes: Vec<u8>) -> Vec<(u32, image::RgbaImage)> {
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        decoder
            .into_frames()
            .collect_frames()
            .unwrap()
            .into_iter()
            .map(|f| {
                let (n, d) = f.delay().numer_denom_ms();
                (n / d, f.into_buffer())
            })
            .collect()
    }

    fn lit(xs: &[u32]) -> LedGrid {
        LedGrid::from_fn(8, 2, |x, y| if y == 0 && xs.contains(&x) { 15.0 / 32.0 } else { 0.0 })
    }

    fn record(pitch: u32, steps: &[(u64, LedGrid)], end_ms: u64) -> Vec<u8> {
        let sink = Shared::default();
        let mut view = GifView::new(sink.clone(), pitch);
        for (ms, grid) in steps {
            view.show(grid, Duration::from_millis(*ms)).unwrap();
        }
        let last = &steps.last().unwrap().1;
        view.finish(last, Duration::from_millis(end_ms)).unwrap();
        let bytes = sink.0.lock().unwrap().clone();
        bytes
    }

    #[test]
    fn frames_keep_their_real_timing() {
        // Starts at 500 ms: the animation's clock starts at the first picture.
        let steps = [(500, lit(&[0])), (530, lit(&[1])), (565, lit(&[2])), (1500, lit(&[3]))];
        let frames = decode(record(4, &steps, 1600));
        let delays: Vec<u32> = frames.iter().map(|f| f.0).collect();
        // 0, 3, 6.5→7, 100 hundredths; the last picture is held the minimum 2 s.
        assert_eq!(delays, [30, 40, 930, 2000]);
        assert_eq!(delays.iter().sum::<u32>(), 1000 + 2000);
    }

    #[test]
    fn rounding_does_not_drift_over_many_frames() {
        // 300 changes 33 ms apart: each rounds to 3 or 4 hundredths, the sum stays exact.
        let steps: Vec<(u64, LedGrid)> = (0..300u64).map(|i| (i * 33, lit(&[(i % 8) as u32]))).collect();
        let frames = decode(record(2, &steps, 299 * 33 + 2500));
        assert_eq!(frames.len(), 300);
        let total: u32 = frames.iter().map(|f| f.0).sum();
        // The end (9867 + 2500 ms) to the nearest 1/100 s: 12370 ms.
        assert_eq!(total, 12370);
        assert!(frames.iter().all(|f| f.0 >= 20), "no frame too short for a browser");
    }

    #[test]
    fn lit_leds_are_red_and_changes_composite() {
        let pitch = 6;
        let steps = [(0, lit(&[0, 7])), (100, lit(&[7])), (200, lit(&[7])), (300, lit(&[3]))];
        let frames = decode(record(pitch, &steps, 300));
        // The repeated picture at 200 ms is no change: three frames.
        assert_eq!(frames.len(), 3);
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), [100, 200, 2000]);
        let centre = |x: u32| x * pitch + pitch / 2;
        let px = |f: &image::RgbaImage, x: u32| *f.get_pixel(centre(x), centre(0));
        let (first, second, third) = (&frames[0].1, &frames[1].1, &frames[2].1);
        assert_eq!(first.dimensions(), (8 * pitch, 2 * pitch));
        let red = px(first, 0);
        assert!(red[0] > 180 && red[1] < 90, "lit LED is red: {red:?}");
        assert!(px(second, 0)[0] < 80, "LED 0 went dark");
        assert_eq!(px(second, 7), px(first, 7), "LED 7 stayed lit through a partial frame");
        assert!(px(third, 3)[0] > 180 && px(third, 7)[0] < 80);
        let board = Ink::Board.rgb();
        assert_eq!(third.get_pixel(0, 0).0, [board.0, board.1, board.2, 255], "board between LEDs");
    }

    #[test]
    fn blips_shorter_than_a_browser_frame_are_merged() {
        let steps = [(0, lit(&[0])), (1000, lit(&[1])), (1005, lit(&[2])), (2000, lit(&[3]))];
        let frames = decode(record(2, &steps, 2000));
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), [1000, 1000, 2000]);
    }

    #[test]
    fn a_single_picture_is_a_still_gif() {
        let frames = decode(record(3, &[(0, lit(&[1]))], 0));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].0, 2000);
    }

    #[test]
    fn every_ink_has_its_own_slot() {
        let mut slots: Vec<u8> = Ink::palette().map(slot).collect();
        slots.sort();
        assert_eq!(slots, (1..=Ink::COUNT as u8).collect::<Vec<_>>());
        assert!(slot(Ink::Core(15)) < 8, "full intensity fits 3-bit codes");
    }

    #[test]
    fn changed_rect_bounds_the_difference() {
        let old = [0u8; 12];
        let mut new = old;
        new[5] = 1; // (1, 1) in a 4-wide picture
        new[10] = 1; // (2, 2)
        assert_eq!(changed_rect(&old, &new, 4), Some((1, 1, 3, 3)));
        assert_eq!(changed_rect(&old, &old, 4), None);
    }
}
