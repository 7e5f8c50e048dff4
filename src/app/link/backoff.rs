//! Reconnect delays: exponential with jitter, reproducible under a seed.

use std::time::Duration;

/// Exponential backoff whose delays never exceed the configured ceiling.
///
/// The jitter only shortens a delay (by up to a quarter), so `max` is a promise: once
/// FreeSWITCH is back, the display reconnects within `max`. Without jitter, every display
/// restarted by the same power cut would knock on the switch at the same instants.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Self { min, max: max.max(min), failures: 0, rng: seed }
    }

    /// The delay before the next attempt; each call counts one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.base();
        self.failures = self.failures.saturating_add(1);
        // Uniform in [0, 1): the top 53 bits of the next SplitMix64 output.
        let unit = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(1.0 - 0.25 * unit)
    }

    /// Forgets past failures, after a session that stayed up long enough to count as healthy.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    fn base(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// SplitMix64: tiny, well mixed, and deterministic for tests.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(30);

    #[test]
    fn doubles_from_min_to_max_within_a_quarter_jitter() {
        let mut b = Backoff::new(MIN, MAX, 7);
        let mut base = MIN;
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(d <= base && d >= base.mul_f64(0.75), "{d:?} outside [¾·{base:?}, {base:?}]");
            base = (base * 2).min(MAX);
        }
        assert_eq!(base, MAX, "the ceiling is reached");
    }

    #[test]
    fn same_seed_same_delays_and_different_seeds_differ() {
        let run = |seed| {
            let mut b = Backoff::new(MIN, MAX, seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn reset_starts_over_and_many_failures_do_not_overflow() {
        let mut b = Backoff::new(MIN, MAX, 3);
        for _ in 0..100 {
            assert!(b.next_delay() <= MAX);
        }
        b.reset();
        assert!(b.next_delay() <= MIN);
    }

    #[test]
    fn max_below_min_is_raised_to_min() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(1), 0);
        let d = b.next_delay();
        assert!(d <= Duration::from_secs(2) && d >= Duration::from_millis(1500));
    }
}
