//! Tests that need the process to themselves, one at a time: they count this process's
//! `natter-…` threads (which any other test's server would add to), or set the process-wide
//! `DBUS_SESSION_BUS_ADDRESS`. Every test here starts with [`alone`], so even in one binary
//! no two of them run at once and no other crate's test shares their process. Linux only: threads
//! are counted in /proc, and the bus is D-Bus.
#![cfg(target_os = "linux")]
// Test helpers (tests/common/) unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Mutex, MutexGuard};

mod common;

mod crowd;
mod discovery_shutdown;
mod notify_dbus;
mod shutdown;

/// Held for a whole test: the other tests of this binary wait until it is dropped. A test that
/// failed (a poisoned lock) does not stop the others from running.
#[must_use = "the test runs alone only while the guard lives"]
pub fn alone() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
