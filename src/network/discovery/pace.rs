//! When a host announces: a quick burst after it starts, then a slow steady pace, with answers
//! to queries and news of the people count squeezed in but never closer than a minimum gap.
//!
//! Owns [`Pace`] (the timings, shared with the finder, whose fading follows them) and
//! [`Schedule`] (pure arithmetic over `Instant`s). Sends nothing.

use std::time::{Duration, Instant};

/// The first announcements, as offsets from the start: a finder that missed one (a lost
/// datagram, a Wi-Fi power-save nap) hears the next within a second or two.
pub const BURST: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(250),
    Duration::from_millis(1000),
    Duration::from_millis(2500),
];

/// Timings of announcing and of forgetting rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Between announcements once the burst is over.
    pub steady: Duration,
    /// Closest two announcements may be (answers to queries and people-count news included),
    /// so a flood of queries costs at most one datagram per gap per interface.
    pub min_gap: Duration,
    /// A room not heard for this long is shown faded (one announcement missed).
    pub dim_after: Duration,
    /// A room not heard for this long is forgotten (three announcements missed).
    pub fade_after: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            steady: Duration::from_secs(5),
            min_gap: Duration::from_millis(500),
            dim_after: Duration::from_secs(6),
            fade_after: Duration::from_secs(16),
        }
    }
}

/// Which announcement is due when.
#[derive(Debug, Clone)]
pub struct Schedule {
    pace: Pace,
    started: Instant,
    /// Announcements sent so far.
    sent: usize,
    last_sent: Option<Instant>,
    due: Instant,
}

impl Schedule {
    pub fn new(started: Instant, pace: Pace) -> Schedule {
        Schedule {
            pace,
            started,
            sent: 0,
            last_sent: None,
            due: started,
        }
    }

    /// When the next announcement is due.
    pub fn due(&self) -> Instant {
        self.due
    }

    /// One was sent at `now`: the next is the next burst slot, or one steady interval on.
    pub fn sent(&mut self, now: Instant) {
        self.sent += 1;
        self.last_sent = Some(now);
        let next_burst = BURST.get(self.sent).map(|offset| self.started + *offset);
        self.due = match next_burst {
            Some(at) => at.max(now + self.pace.min_gap.min(BURST[1])),
            None => now + self.pace.steady,
        };
    }

    /// Something new to say (a query, a changed people count): announce as soon as the
    /// minimum gap since the last one allows, if that is sooner than planned.
    pub fn soon(&mut self, now: Instant) {
        let earliest = self.last_sent.map_or(now, |last| last + self.pace.min_gap);
        self.due = self.due.min(earliest.max(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_comes_first_then_the_steady_pace() {
        let t0 = Instant::now();
        let pace = Pace::default();
        let mut schedule = Schedule::new(t0, pace);
        let mut times = Vec::new();
        for _ in 0..6 {
            let due = schedule.due();
            times.push(due - t0);
            schedule.sent(due);
        }
        let steady_1 = BURST[3] + pace.steady;
        assert_eq!(
            times,
            [
                BURST[0],
                BURST[1],
                BURST[2],
                BURST[3],
                steady_1,
                steady_1 + pace.steady
            ]
        );
    }

    #[test]
    fn queries_bring_the_next_announcement_forward_but_never_closer_than_the_gap() {
        let t0 = Instant::now();
        let pace = Pace::default();
        let mut schedule = Schedule::new(t0, pace);
        for _ in 0..4 {
            let due = schedule.due();
            schedule.sent(due);
        }
        let last = t0 + BURST[3];
        // Asked right after the last one: answered once the gap has passed.
        schedule.soon(last + Duration::from_millis(10));
        assert_eq!(schedule.due(), last + pace.min_gap);
        // A flood of queries changes nothing more.
        for ms in 20..400 {
            schedule.soon(last + Duration::from_millis(ms));
        }
        assert_eq!(schedule.due(), last + pace.min_gap);
        // Asked long after: answered at once.
        schedule.sent(last + pace.min_gap);
        let later = last + Duration::from_secs(3);
        schedule.soon(later);
        assert_eq!(schedule.due(), later);
    }
}
