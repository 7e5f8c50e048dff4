//! Scrolling a rendered strip across the display, right to left.
//!
//! Steps follow luma's `show_message`, which users of the original script know: at step 0
//! the display is blank with the text just past its right edge; each step moves the text
//! one column left; the last step is blank again with the text just past the left edge.
//! A pass is `text_width + display_width + 1` steps. Steps are numbered, and time maps to a
//! step, so the scene can drive scrolling from any clock and skip steps when it runs late
//! rather than slow down, which luma did (every step there was a full render).

use std::time::Duration;

use super::Frame;

/// What happens after the text has gone by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// One pass, then stay on the last (blank) step, as `show_message` does.
    Once,
    /// Start again, after `gap` extra blank steps.
    Loop {
        /// Blank steps between passes.
        gap: u32,
    },
    /// Scroll only until the end of the text reaches the right edge, hold that for
    /// `dwell`, then start again from blank. Keeps the tail of a long line readable.
    StopAtEnd {
        /// How long the end holds still.
        dwell: Duration,
    },
}

impl Default for Repeat {
    fn default() -> Self {
        Repeat::Loop { gap: 0 }
    }
}

/// A strip of text moving across a display `display_width` columns wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scroll {
    strip: Frame,
    display_width: u32,
    repeat: Repeat,
}

impl Scroll {
    /// Scrolls `strip` (usually from [`render_text`](super::render_text)) across a display
    /// `display_width` columns wide, looping with no gap.
    pub fn new(strip: Frame, display_width: u32) -> Self {
        Scroll { strip, display_width, repeat: Repeat::default() }
    }

    /// The same scroll with another [`Repeat`].
    pub fn with_repeat(mut self, repeat: Repeat) -> Self {
        self.repeat = repeat;
        self
    }

    /// What happens after a pass.
    pub fn repeat(&self) -> Repeat {
        self.repeat
    }

    /// The rendered text.
    pub fn strip(&self) -> &Frame {
        &self.strip
    }

    /// Columns of the display it crosses.
    pub fn display_width(&self) -> u32 {
        self.display_width
    }

    /// Steps in one full pass, from blank-right to blank-left.
    pub fn steps(&self) -> usize {
        self.strip.width() as usize + self.display_width as usize + 1
    }

    /// The step at which the end of the text touches the right edge (the held step in
    /// [`Repeat::StopAtEnd`]). For text narrower than the display that leaves it
    /// right-aligned; a scene that wants it still should check `fits` first.
    pub fn end_at_right_step(&self) -> usize {
        self.strip.width() as usize
    }

    /// Steps before the sequence repeats: a full pass plus the gap, or, when stopping at
    /// the end, the steps up to and including [`Scroll::end_at_right_step`]. For
    /// [`Repeat::Once`], the single pass.
    pub fn cycle_steps(&self) -> usize {
        match self.repeat {
            Repeat::Once => self.steps(),
            Repeat::Loop { gap } => self.steps() + gap as usize,
            Repeat::StopAtEnd { .. } => self.end_at_right_step() + 1,
        }
    }

    /// Display column of the strip's left edge at step `i`.
    pub fn text_x(&self, i: usize) -> i64 {
        i64::from(self.display_width) - i as i64
    }

    /// Draws step `i` into `frame` (which should be `display_width` wide). The strip is
    /// centred vertically if the frame is taller. Steps past the pass (the loop gap) are
    /// blank. No allocation: one window copy.
    pub fn step(&self, i: usize, frame: &mut Frame) {
        if i >= self.steps() {
            frame.clear();
            return;
        }
        // i < steps, so both fit an i32 for any strip a Frame can hold.
        let sx = i as i64 - i64::from(self.display_width);
        let sy = -(i64::from(frame.height().saturating_sub(self.strip.height())) / 2);
        frame.copy_window(&self.strip, sx as i32, sy as i32);
    }

    /// The step to show `elapsed` after the scroll started, moving `speed_px_per_s`
    /// columns per second. Steps are whole columns, taken by flooring. A speed that is
    /// zero, negative or not a number holds step 0.
    pub fn position_at(&self, elapsed: Duration, speed_px_per_s: f64) -> usize {
        if !(speed_px_per_s > 0.0 && speed_px_per_s.is_finite()) {
            return 0;
        }
        let travelled = elapsed.as_secs_f64() * speed_px_per_s;
        match self.repeat {
            Repeat::Once => floor_to_step(travelled).min(self.steps() - 1),
            Repeat::Loop { .. } => {
                let cycle = self.cycle_steps();
                // rem_euclid may round up to the divisor itself.
                floor_to_step(travelled.rem_euclid(cycle as f64)).min(cycle - 1)
            }
            Repeat::StopAtEnd { dwell } => {
                let last = self.end_at_right_step();
                let cycle = last as f64 + dwell.as_secs_f64() * speed_px_per_s;
                if cycle <= 0.0 {
                    return last;
                }
                floor_to_step(travelled.rem_euclid(cycle)).min(last)
            }
        }
    }

    /// How long one cycle (see [`Scroll::cycle_steps`]) lasts at `speed_px_per_s`: the
    /// time a scene should keep this scroll up to show the text once. `None` if the speed
    /// is not positive and finite.
    pub fn cycle_duration(&self, speed_px_per_s: f64) -> Option<Duration> {
        if !(speed_px_per_s > 0.0 && speed_px_per_s.is_finite()) {
            return None;
        }
        let total = match self.repeat {
            // The held step is the last of the cycle: the dwell replaces its time.
            Repeat::StopAtEnd { dwell } => {
                self.end_at_right_step() as f64 / speed_px_per_s + dwell.as_secs_f64()
            }
            Repeat::Once | Repeat::Loop { .. } => self.cycle_steps() as f64 / speed_px_per_s,
        };
        Duration::try_from_secs_f64(total).ok()
    }
}

fn floor_to_step(columns: f64) -> usize {
    // `as` saturates, so a huge elapsed time cannot wrap.
    columns.floor() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{render_text, text_width, Font};

    fn hi() -> Scroll {
        Scroll::new(render_text("Hi", Font::Proportional8), 32)
    }

    /// What step `i` must show: the strip blitted at its display column.
    fn reference(scroll: &Scroll, i: usize, height: u32) -> Frame {
        let mut f = Frame::new(scroll.display_width(), height);
        let y = (height.saturating_sub(8) / 2) as i32;
        f.blit(scroll.strip(), scroll.text_x(i) as i32, y);
        f
    }

    #[test]
    fn a_pass_has_text_width_plus_display_width_plus_one_steps() {
        let s = hi();
        let tw = text_width("Hi", Font::Proportional8) as usize;
        assert_eq!(s.steps(), tw + 32 + 1);
        let empty = Scroll::new(Frame::new(0, 8), 32);
        assert_eq!(empty.steps(), 33);
    }

    #[test]
    fn first_and_last_steps_are_blank_and_all_between_are_the_moving_text() {
        let s = Scroll::new(render_text("Hello world", Font::Proportional8), 32);
        let mut f = Frame::new(32, 8);
        s.step(0, &mut f);
        assert_eq!(f.lit(), 0);
        s.step(s.steps() - 1, &mut f);
        assert_eq!(f.lit(), 0);
        for i in 0..s.steps() {
            s.step(i, &mut f);
            assert_eq!(f, reference(&s, i, 8), "step {i}");
        }
        // Text enters at the right: step 1 shows the strip's first column in column 31.
        s.step(1, &mut f);
        assert!((0..8).all(|y| f.get(31, y) == s.strip().get(0, y)));
        // ... and leaves at the left: the second-to-last shows its last column in column 0.
        s.step(s.steps() - 2, &mut f);
        let last = s.strip().width() as i32 - 1;
        assert!((0..8).all(|y| f.get(0, y) == s.strip().get(last, y)));
    }

    #[test]
    fn step_centres_on_taller_frames_and_overwrites() {
        let s = hi();
        let mut f = Frame::new(32, 16);
        f.invert();
        s.step(20, &mut f);
        assert_eq!(f, reference(&s, 20, 16));
    }

    #[test]
    fn loops_with_and_without_gap() {
        let s = hi();
        let n = s.steps();
        let at = |s: &Scroll, secs: f64| s.position_at(Duration::from_secs_f64(secs), 10.0);
        assert_eq!(at(&s, 0.0), 0);
        assert_eq!(at(&s, 0.25), 2);
        assert_eq!(at(&s, (n as f64 - 0.5) / 10.0), n - 1);
        assert_eq!(at(&s, (n as f64 + 0.5) / 10.0), 0);
        assert_eq!(at(&s, (3.0 * n as f64 + 4.5) / 10.0), 4);

        let gapped = hi().with_repeat(Repeat::Loop { gap: 5 });
        assert_eq!(gapped.cycle_steps(), n + 5);
        assert_eq!(at(&gapped, (n as f64 + 2.5) / 10.0), n + 2);
        assert_eq!(at(&gapped, (n as f64 + 5.5) / 10.0), 0);
        let mut f = Frame::new(32, 8);
        f.invert();
        gapped.step(n + 2, &mut f);
        assert_eq!(f.lit(), 0);
    }

    #[test]
    fn once_stays_on_the_blank_last_step() {
        let s = hi().with_repeat(Repeat::Once);
        let n = s.steps();
        assert_eq!(s.position_at(Duration::from_secs(3600), 30.0), n - 1);
        assert_eq!(s.position_at(Duration::from_millis(150), 20.0), 3);
        assert_eq!(s.cycle_duration(10.0), Some(Duration::from_secs_f64(n as f64 / 10.0)));
    }

    #[test]
    fn stop_at_end_holds_the_tail_at_the_right_edge_then_restarts() {
        let text = "A long status line";
        let s = Scroll::new(render_text(text, Font::Proportional8), 32)
            .with_repeat(Repeat::StopAtEnd { dwell: Duration::from_secs(2) });
        let last = s.end_at_right_step();
        let tw = text_width(text, Font::Proportional8) as usize;
        assert_eq!(last, tw);
        let mut f = Frame::new(32, 8);
        s.step(last, &mut f);
        // The strip's last 32 columns fill the display.
        let mut tail = Frame::new(32, 8);
        tail.blit(s.strip(), 32 - tw as i32, 0);
        assert_eq!(f, tail);

        let speed = 20.0;
        let travel = tw as f64 / speed;
        let at = |secs: f64| s.position_at(Duration::from_secs_f64(secs), speed);
        assert_eq!(at(0.0), 0);
        assert_eq!(at(travel / 2.0 + 0.01), tw / 2);
        assert_eq!(at(travel + 0.01), last);
        assert_eq!(at(travel + 1.99), last);
        assert_eq!(at(travel + 2.01), 0);
        assert_eq!(at(travel + 2.0 + 0.26), 5);
        let cycle = s.cycle_duration(speed).unwrap();
        assert_eq!(cycle, Duration::from_secs_f64(travel + 2.0));
    }

    #[test]
    fn degenerate_inputs_hold_still() {
        let s = hi();
        for speed in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            assert_eq!(s.position_at(Duration::from_secs(5), speed), 0);
            assert_eq!(s.cycle_duration(speed), None);
        }
        let empty = Scroll::new(Frame::new(0, 8), 8).with_repeat(Repeat::StopAtEnd { dwell: Duration::ZERO });
        assert_eq!(empty.position_at(Duration::from_secs(5), 30.0), 0);
        assert!(s.position_at(Duration::MAX, 1e9) < s.steps());
    }
}
