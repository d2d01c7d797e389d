//! How busy an I/O thread is: the share of a short window it did not spend waiting, which
//! sets its write coalescing interval. Owns only that measure; the thread's loop feeds it.

use std::time::{Duration, Instant};

/// How busy a thread was: the share of the last [`LOAD_WINDOW`] it did not spend waiting.
pub(super) struct Load {
    since: Instant,
    waited: Duration,
}

/// How often an I/O thread's load is measured.
const LOAD_WINDOW: Duration = Duration::from_millis(100);

impl Load {
    pub(super) fn new(now: Instant) -> Load {
        Load {
            since: now,
            waited: Duration::ZERO,
        }
    }

    /// Counts a wait from `from` to `to`; once a window is over, returns its busy share.
    pub(super) fn waited(&mut self, from: Instant, to: Instant) -> Option<f64> {
        self.waited += to.saturating_duration_since(from);
        let elapsed = to.saturating_duration_since(self.since);
        if elapsed < LOAD_WINDOW {
            return None;
        }
        let busy = 1.0 - self.waited.as_secs_f64() / elapsed.as_secs_f64();
        *self = Load::new(to);
        Some(busy.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_spent_a_quarter_waiting_is_three_quarters_busy_and_only_then_reported() {
        let t0 = Instant::now();
        let mut load = Load::new(t0);
        assert_eq!(load.waited(t0, t0 + LOAD_WINDOW / 8), None);
        let end = t0 + LOAD_WINDOW;
        let busy = load.waited(end - LOAD_WINDOW / 8, end).unwrap();
        assert!((busy - 0.75).abs() < 1e-9, "{busy}");
        assert_eq!(load.since, end, "the next window starts afresh");
    }
}
