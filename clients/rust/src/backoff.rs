//! Exponential backoff with jitter, shared by connecting and the worker loop.

use std::time::Duration;

/// Doubles from `initial` up to `max`; each delay is jittered to 75–125 %.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.min(max);
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// The next delay to wait.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        // uuid's v4 generator is the random source we already have.
        let r = (uuid::Uuid::new_v4().as_u128() % 501) as u32; // 0..=500
        (base * (750 + r) / 1000).min(self.max)
    }

    /// Back to the initial delay, after a success.
    pub(crate) fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_bound_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let first = b.next_delay();
        assert!((75..=125).contains(&first.as_millis()), "{first:?}");
        for _ in 0..10 {
            assert!(b.next_delay() <= Duration::from_millis(1000));
        }
        let late = b.next_delay();
        assert!(late >= Duration::from_millis(750), "{late:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(125));
    }
}
