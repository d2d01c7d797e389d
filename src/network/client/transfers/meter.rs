//! How fast one transfer moves, and when to say so.
//!
//! Owns the speed estimate (bytes over the last second or so, smoothed) and the pace of
//! progress reports. Knows nothing of files or frames.

use std::time::{Duration, Instant};

/// Progress is reported at most this often per transfer.
const REPORT_EVERY: Duration = Duration::from_millis(100);

pub(super) struct Meter {
    /// Bytes done at the last sample, and when.
    sampled: (u64, Instant),
    bytes_per_sec: f64,
    reported: Option<Instant>,
    /// Done at the last report: nothing new, nothing to say.
    reported_done: u64,
}

impl Meter {
    pub(super) fn new(done: u64) -> Self {
        Meter {
            sampled: (done, Instant::now()),
            bytes_per_sec: 0.0,
            reported: None,
            reported_done: u64::MAX,
        }
    }

    /// Speed in bytes a second if a report is due for `done` bytes (`now`: whatever the
    /// pace), else `None`.
    pub(super) fn report(&mut self, done: u64, now: bool) -> Option<u64> {
        let at = Instant::now();
        let due = self
            .reported
            .is_none_or(|t| at.duration_since(t) >= REPORT_EVERY);
        if done == self.reported_done || !(due || now) {
            return None;
        }
        let (then_done, then) = self.sampled;
        let secs = at.duration_since(then).as_secs_f64();
        if secs >= 0.05 {
            let rate = done.saturating_sub(then_done) as f64 / secs;
            // Smoothed over about a second, so the time left does not jump about.
            let weight = (secs / 1.0).min(1.0);
            self.bytes_per_sec = match self.reported {
                None => rate,
                Some(_) => self.bytes_per_sec + (rate - self.bytes_per_sec) * weight,
            };
            self.sampled = (done, at);
        }
        self.reported = Some(at);
        self.reported_done = done;
        Some(self.bytes_per_sec as u64)
    }
}
