//! Whole-frame effects that draw attention: inverse video, blinking, and a frame (a bar at
//! each end) that blinks beside text that itself stays readable.

use std::time::Duration;

use super::Frame;

/// On for `on`, off for `off`, repeating from the moment the blinking started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blink {
    /// How long the text shows.
    pub on: Duration,
    /// How long it is dark.
    pub off: Duration,
}

impl Blink {
    /// Whether the content shows `elapsed` after blinking started. The cycle starts
    /// with the `on` phase, so an alert is visible the moment it appears. A zero `off`
    /// never hides; a zero `on` with a non-zero `off` always hides.
    pub fn visible_at(&self, elapsed: Duration) -> bool {
        let period = self.on.as_nanos() + self.off.as_nanos();
        if period == 0 {
            return true;
        }
        elapsed.as_nanos() % period < self.on.as_nanos()
    }
}

/// Effects applied to a finished frame, last thing before it goes to the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Effects {
    /// Lit background, dark text.
    pub inverse: bool,
    /// Blinking, if any.
    pub blink: Option<Blink>,
    /// A bar down each end of the display, shown in this blink's on phase.
    pub frame: Option<Blink>,
}

impl Effects {
    /// Applies the effects for time `elapsed` (since the effect started). In the blink's
    /// off phase the display is dark, inverse or not: dark is the contrast that draws the eye.
    pub fn apply(&self, frame: &mut Frame, elapsed: Duration) {
        if let Some(blink) = self.blink {
            if !blink.visible_at(elapsed) {
                frame.clear();
                return;
            }
        }
        if self.inverse {
            frame.invert();
        }
        if let Some(blink) = self.frame {
            if blink.visible_at(elapsed) {
                // Against a lit background the frame is dark, so it shows either way.
                draw_frame(frame, !self.inverse);
            }
        }
    }
}

/// A bar of `on` LEDs down each end of `frame`, with a column of the other colour inside it.
/// Only the ends: a top or bottom edge would run into the 8-px fonts' capitals, digits and
/// descenders, and make `0` read as `W`; the inner column keeps the bar apart from
/// scrolling text.
fn draw_frame(frame: &mut Frame, on: bool) {
    let (w, h) = (frame.width() as i32, frame.height() as i32);
    for y in 0..h {
        if w >= 4 {
            frame.set(1, y, !on);
            frame.set(w - 2, y, !on);
        }
        frame.set(0, y, on);
        frame.set(w - 1, y, on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn blink_starts_on_and_alternates() {
        let b = Blink { on: MS(300), off: MS(200) };
        for (t, want) in
            [(0, true), (299, true), (300, false), (499, false), (500, true), (5_250, true), (5_400, false)]
        {
            assert_eq!(b.visible_at(MS(t)), want, "t={t}ms");
        }
    }

    #[test]
    fn degenerate_blinks() {
        assert!(Blink { on: MS(0), off: MS(0) }.visible_at(MS(123)));
        assert!(Blink { on: MS(100), off: MS(0) }.visible_at(MS(150)));
        assert!(!Blink { on: MS(0), off: MS(100) }.visible_at(MS(0)));
        // Duration::MAX is an odd number of whole seconds: the off half of a 2 s cycle.
        assert!(!Blink { on: MS(1000), off: MS(1000) }.visible_at(Duration::MAX));
    }

    #[test]
    fn effects_invert_and_blank() {
        let mut f = Frame::from_rows(&["#...", "..#."]).unwrap();
        let fx = Effects { inverse: true, blink: Some(Blink { on: MS(100), off: MS(100) }), frame: None };
        let mut shown = f.clone();
        fx.apply(&mut shown, MS(50));
        assert_eq!(shown.to_rows(), [".###", "##.#"]);
        fx.apply(&mut f, MS(150));
        assert_eq!(f.lit(), 0);
        let mut plain = Frame::from_rows(&["#..."]).unwrap();
        Effects::default().apply(&mut plain, MS(150));
        assert_eq!(plain.to_rows(), ["#..."]);
    }

    #[test]
    fn the_frame_blinks_around_text_that_stays() {
        let text = Frame::from_rows(&["#.....", "..#...", "...#..", "......"]).unwrap();
        let fx = Effects { frame: Some(Blink { on: MS(100), off: MS(100) }), ..Effects::default() };
        let mut on = text.clone();
        fx.apply(&mut on, MS(50));
        assert_eq!(on.to_rows(), ["#....#", "#.#..#", "#..#.#", "#....#"], "a bar at each end, a gap inside");
        let mut off = text.clone();
        fx.apply(&mut off, MS(150));
        assert_eq!(off.to_rows(), text.to_rows(), "the text alone in the off phase");
        let mut inverse = text.clone();
        Effects { inverse: true, ..fx }.apply(&mut inverse, MS(50));
        assert_eq!(inverse.to_rows(), [".####.", ".#.##.", ".##.#.", ".####."], "dark bars on lit ground");
    }
}
