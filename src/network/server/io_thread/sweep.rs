//! An I/O thread's sweep, twice a second: members that read too slowly to keep up are
//! dropped, and memory is handed back after a crowd came or went. Owns only those two checks;
//! the thread's loop calls [`Worker::sweep`], which also has transfers and held members whose
//! grace ran out ended (`file_relay`, `away`).

use std::time::{Duration, Instant};

use super::Worker;

/// How often every connection is checked for a queue held over its mark too long.
pub(super) const SWEEP: Duration = Duration::from_millis(500);
/// Once a thread's connection count held still for a sweep after changing by this many (a
/// crowd came or went), freed memory is handed back; also while a crowd of this size leaves.
const TRIM_AFTER_CHANGE: usize = 32;

impl Worker {
    /// Drops members whose queue stayed over its high mark for the stall time while their
    /// socket took bytes: they read, but too slowly to keep up, and hold everyone else.
    pub(super) fn sweep(&mut self, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP;
        self.trim_after_a_crowd();
        crate::network::server::file_relay::expire_transfers(&self.state, now);
        crate::network::server::away::expire(&self.state, now);
        let stall = self.state.config.write_stall;
        for conn in self.conns.values() {
            let outbox = &conn.connection.outbox;
            if let Some(since) = outbox.over_since()
                && now.saturating_duration_since(since) >= stall
            {
                let waiting = outbox.len();
                conn.connection.close(
                    crate::network::protocol::LeaveReason::Dropped,
                    format!(
                        "reading too slowly: {waiting} messages waited more than {} s",
                        stall.as_secs()
                    ),
                );
            }
        }
    }

    /// Hands freed memory back to the system once a crowd came or went: glibc keeps it in its
    /// arenas otherwise (a 5,000-person storm left ~100 MB resident after everyone left).
    fn trim_after_a_crowd(&mut self) {
        let now = self.conns.len();
        let settled = now == std::mem::replace(&mut self.conns_at_sweep, now);
        let change = now.abs_diff(self.conns_at_trim);
        let leaving = self.conns_at_trim.saturating_sub(now) >= 8 * TRIM_AFTER_CHANGE;
        let due = change >= TRIM_AFTER_CHANGE && (settled || leaving);
        if !due {
            return;
        }
        self.conns_at_trim = now;
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only walks glibc's own heap under its own locks.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
