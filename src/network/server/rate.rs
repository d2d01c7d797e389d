//! Token buckets: the per-member one that paces what a member makes the server send to
//! others, and one per IP address that paces new connections.
//!
//! Owns the arithmetic of a bucket (tokens, refill, refusals in a row) and the bounded table of
//! per-address buckets. Does not decide what a refusal means (a warning, a drop, a refused
//! connection): the handler and the listener do.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::config::{JoinLimit, RateLimit};

/// A token bucket: `burst` tokens at most, refilled at `per_second`.
pub(super) struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    refilled: Instant,
    strikes: u32,
}

impl TokenBucket {
    /// A full bucket.
    pub(super) fn new(limit: RateLimit) -> Self {
        Self::full(limit.burst, limit.per_second, Instant::now())
    }

    fn full(burst: f64, per_second: f64, now: Instant) -> Self {
        TokenBucket {
            burst,
            per_second,
            tokens: burst,
            refilled: now,
            strikes: 0,
        }
    }

    /// Takes one token. `Err(strikes)` counts refusals in a row; a success resets the count.
    pub(super) fn take(&mut self) -> Result<(), u32> {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> Result<(), u32> {
        self.tokens = self.tokens_at(now);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.strikes = 0;
            Ok(())
        } else {
            self.strikes = self.strikes.saturating_add(1);
            Err(self.strikes)
        }
    }

    fn tokens_at(&self, now: Instant) -> f64 {
        let earned = now.saturating_duration_since(self.refilled).as_secs_f64() * self.per_second;
        (self.tokens + earned).min(self.burst)
    }
}

/// Per-address buckets are forgotten once full again (a fresh one would be the same); beyond
/// this many addresses at once, the fullest half is forgotten too. About 100 bytes each.
pub(super) const ADDRESSES_TRACKED: usize = 4096;

/// During a flood of refused connections from one address, the host is told at most this
/// often (and at the first refusal), with the count since it was last told.
pub(super) const REFUSALS_NOTED_EVERY: Duration = Duration::from_secs(10);

/// New connections per IP address: a bucket for each address seen lately, at most `cap`.
pub(super) struct AddressBuckets {
    limit: JoinLimit,
    cap: usize,
    addresses: HashMap<IpAddr, Address>,
}

struct Address {
    bucket: TokenBucket,
    /// Refusals the host has not been told of yet.
    unnoted: u32,
    noted_at: Option<Instant>,
}

/// A connection refused by [`AddressBuckets::admit`].
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refused {
    /// `Some(n)` when the host should be told now: `n` refusals from this address since it
    /// was last told, this one included.
    pub(super) note: Option<u32>,
}

impl AddressBuckets {
    pub(super) fn new(limit: JoinLimit, cap: usize) -> Self {
        AddressBuckets {
            limit,
            cap: cap.max(2),
            addresses: HashMap::new(),
        }
    }

    /// Takes a token for one new connection from `ip`.
    pub(super) fn admit(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refused> {
        if !self.addresses.contains_key(&ip) && self.addresses.len() >= self.cap {
            self.prune(now);
        }
        let JoinLimit { burst, per_second } = self.limit;
        let address = self.addresses.entry(ip).or_insert_with(|| Address {
            bucket: TokenBucket::full(burst, per_second, now),
            unnoted: 0,
            noted_at: None,
        });
        if address.bucket.take_at(now).is_ok() {
            return Ok(());
        }
        address.unnoted = address.unnoted.saturating_add(1);
        let due = address
            .noted_at
            .is_none_or(|at| now.saturating_duration_since(at) >= REFUSALS_NOTED_EVERY);
        if !due {
            return Err(Refused { note: None });
        }
        address.noted_at = Some(now);
        Err(Refused {
            note: Some(std::mem::take(&mut address.unnoted)),
        })
    }

    /// Forgets every address whose bucket has refilled; if that leaves more than half the cap
    /// (many addresses connecting at once), keeps only the emptiest half (the addresses that
    /// connect most), so that pruning runs at most once per `cap / 2` new addresses.
    fn prune(&mut self, now: Instant) {
        let burst = self.limit.burst;
        self.addresses
            .retain(|_, address| address.bucket.tokens_at(now) < burst);
        let keep = self.cap / 2;
        if self.addresses.len() <= keep {
            return;
        }
        let mut levels: Vec<(f64, IpAddr)> = self
            .addresses
            .iter()
            .map(|(ip, address)| (address.bucket.tokens_at(now), *ip))
            .collect();
        levels.select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0));
        for (_, ip) in &levels[keep..] {
            self.addresses.remove(ip);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.addresses.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit {
        burst: 3.0,
        per_second: 2.0,
        strikes: 5,
    };

    fn bucket_at(start: Instant) -> TokenBucket {
        TokenBucket::full(LIMIT.burst, LIMIT.per_second, start)
    }

    #[test]
    fn a_full_bucket_allows_a_burst_then_counts_strikes_in_a_row() {
        let start = Instant::now();
        let mut bucket = bucket_at(start);
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
        let mut bucket = bucket_at(start);
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
        let mut bucket = bucket_at(start);
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(bucket.take_at(later), Ok(()));
        }
        assert_eq!(bucket.take_at(later), Err(1));
    }

    const JOINS: JoinLimit = JoinLimit {
        burst: 2.0,
        per_second: 1.0,
    };

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn each_address_has_its_own_burst() {
        let start = Instant::now();
        let mut joins = AddressBuckets::new(JOINS, 16);
        assert_eq!(joins.admit(ip(1), start), Ok(()));
        assert_eq!(joins.admit(ip(1), start), Ok(()));
        assert!(joins.admit(ip(1), start).is_err());
        assert_eq!(joins.admit(ip(2), start), Ok(()));
        assert_eq!(joins.admit(ip(1), start + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn refusals_are_noted_at_the_first_then_counted_every_ten_seconds() {
        let start = Instant::now();
        let mut joins = AddressBuckets::new(
            JoinLimit {
                burst: 1.0,
                per_second: 0.5,
            },
            16,
        );
        let noted = |joins: &mut AddressBuckets, at: Instant| match joins.admit(ip(1), at) {
            Ok(()) => None,
            Err(Refused { note }) => Some(note),
        };
        assert_eq!(noted(&mut joins, start), None, "the burst");
        assert_eq!(noted(&mut joins, start), Some(Some(1)));
        // A flood: a token now and then lets one through, the rest are counted quietly.
        let mut notes = Vec::new();
        for tenth in 1..=250 {
            let at = start + Duration::from_millis(tenth * 100);
            for _ in 0..10 {
                if let Some(Some(n)) = noted(&mut joins, at) {
                    notes.push(n);
                }
            }
        }
        // 25 s of 100 tries a second, 1 admitted every 2 s: noted at 10 s and 20 s.
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().all(|&n| n > 900), "{notes:?}");
    }

    #[test]
    fn refilled_addresses_are_forgotten_once_the_table_is_full() {
        let start = Instant::now();
        let mut joins = AddressBuckets::new(JOINS, 8);
        for n in 0..8 {
            assert_eq!(joins.admit(ip(n), start), Ok(()));
        }
        assert_eq!(joins.tracked(), 8);
        // Two seconds later every bucket is full again: a new address finds room.
        let later = start + Duration::from_secs(2);
        assert_eq!(joins.admit(ip(100), later), Ok(()));
        assert_eq!(joins.tracked(), 1);
    }

    #[test]
    fn a_flood_of_addresses_never_holds_more_than_the_cap_and_keeps_the_emptiest() {
        let start = Instant::now();
        let mut joins = AddressBuckets::new(JOINS, 64);
        // One address used up its burst; then 10,000 others come at the same moment.
        assert_eq!(joins.admit(ip(0), start), Ok(()));
        assert_eq!(joins.admit(ip(0), start), Ok(()));
        for n in 1..10_000 {
            assert_eq!(joins.admit(ip(n), start), Ok(()));
            assert!(joins.tracked() <= 64);
        }
        assert!(joins.admit(ip(0), start).is_err());
    }
}
