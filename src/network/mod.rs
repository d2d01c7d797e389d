//! Everything that touches a socket: the wire protocol, the server, the client.
//!
//! Knows nothing of egui. Background threads report through crossbeam channels and call a
//! [`WakeUp`] after each event, so a window can repaint at once and sleep otherwise.
//!
//! File transfer crosses every layer, each with a name of its own:
//! `protocol::file_frames` (the `file_*` frames on the wire), `files` (the disk: a cleaned
//! name, the incoming temporary file, hashing and reading what we send), `client::transfers`
//! (one client's transfers over its link, on the `natter-files` thread), `server::file_relay`
//! (the host handling file frames and relaying each delivery) and `server::file_ledger` (the
//! host's record of offers and deliveries). The window's model of them is outside `network`.

pub mod client;
pub mod command_line;
pub mod discovery;
pub mod doctor;
pub mod files;
pub mod interfaces;
pub mod io_words;
pub mod journal;
pub mod lookalike;
pub mod owner_only;
pub mod panics;
pub mod plain;
pub mod protocol;
pub mod server;
pub mod text;
mod timed_read;
pub mod tls;

use std::sync::{Arc, Mutex, MutexGuard};

/// Called by network threads after each event they post. A window passes one that calls
/// `request_repaint`; the headless host and tests pass [`no_wake_up`] or a channel poke.
pub type WakeUp = Arc<dyn Fn() + Send + Sync>;

/// A [`WakeUp`] that does nothing, for callers that block on the event channel instead.
pub fn no_wake_up() -> WakeUp {
    Arc::new(|| {})
}

/// Locks a mutex, taking the data even if a thread panicked while holding it: the room and
/// connection tables are updated whole under the lock, so a poisoned lock is still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
