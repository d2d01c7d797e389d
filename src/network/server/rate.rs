//! The per-member token bucket that paces what a member makes the server send to others.
//!
//! Owns the arithmetic of the bucket: tokens, refill, and refusals in a row. Does not decide
//! what a refusal means (a warning, or a drop after too many): the handler does.

use std::time::Instant;

use super::config::RateLimit;

/// A token bucket: `burst` tokens at most, refilled at `per_second`.
pub(super) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
    strikes: u32,
}

impl TokenBucket {
    /// A full bucket.
    pub(super) fn new(limit: RateLimit) -> Self {
        Self::new_at(limit, Instant::now())
    }

    fn new_at(limit: RateLimit, now: Instant) -> Self {
        TokenBucket {
            limit,
            tokens: limit.burst,
            refilled: now,
            strikes: 0,
        }
    }

    /// Takes one token. `Err(strikes)` counts refusals in a row; a success resets the count.
    pub(super) fn take(&mut self) -> Result<(), u32> {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> Result<(), u32> {
        let earned = now.duration_since(self.refilled).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + earned).min(self.limit.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.strikes = 0;
            Ok(())
        } else {
            self.strikes += 1;
            Err(self.strikes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LIMIT: RateLimit = RateLimit {
        burst: 3.0,
        per_second: 2.0,
        strikes: 5,
    };

    #[test]
    fn a_full_bucket_allows_a_burst_then_counts_strikes_in_a_row() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new_at(LIMIT, start);
        for _ in 0..3 {
            assert_eq!(bucket.take_at(start), Ok(()));
        }
        assert_eq!(bucket.take_at(start), Err(1));
        assert_eq!(bucket.take_at(start), Err(2));
        assert_eq!(bucket.take_at(start), Err(3));
    }

    #[test]
    fn tokens_refill_at_the_rate_and_a_success_resets_the_strikes() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new_at(LIMIT, start);
        for _ in 0..3 {
            assert_eq!(bucket.take_at(start), Ok(()));
        }
        assert_eq!(bucket.take_at(start), Err(1));
        // 2 per second: after 0.4 s not yet a whole token, after 0.6 s one.
        assert_eq!(bucket.take_at(start + Duration::from_millis(400)), Err(2));
        assert_eq!(bucket.take_at(start + Duration::from_millis(600)), Ok(()));
        assert_eq!(bucket.take_at(start + Duration::from_millis(600)), Err(1));
    }

    #[test]
    fn a_long_pause_refills_no_more_than_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new_at(LIMIT, start);
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(bucket.take_at(later), Ok(()));
        }
        assert_eq!(bucket.take_at(later), Err(1));
    }
}
