//! The room's history kept in a file across a restart, when asked (`ServerConfig::history_file`:
//! `natter serve --history-file FILE`, the window's Host tab option).
//!
//! Owns reading the file back before the first connection is accepted ([`restore`], on the
//! listener's thread) and handing each message the room remembers to the `natter-room-history`
//! writer ([`Keeper`], a `network::journal`), which appends it, forces it to the disk each
//! second and keeps the file within the in-memory history's bound. The file holds the room's
//! messages as their `chat` lines, one a line; private messages are not kept (only their two
//! sessions may see them again, and no session outlives a restart). A line that is no message
//! (a torn write, a hand edit) is skipped and logged; a file that cannot be read leaves the
//! history empty, and one that cannot be written is logged: the room goes on either way.
//! Does not own the history in memory (`room`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::room::StoredMessage;
use super::state::ServerState;
use crate::network::journal::{self, Bound, Journal, Keeps};
use crate::network::lock;
use crate::network::protocol::{ServerFrame, decode, encode};
use crate::network::text::clean_text;

/// How often appended lines are forced to the disk while there are new ones.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// The writer of the room's history file.
pub(super) struct Keeper {
    journal: Journal,
    path: PathBuf,
    bound: Bound,
}

impl Keeper {
    /// Appends one message the room remembered, as its `chat` line.
    pub(super) fn keep(&self, stored: &StoredMessage) {
        if stored.to_session.is_none() {
            self.journal
                .append(&self.path, Arc::clone(&stored.line), self.bound);
        }
    }
}

/// The file's bound: as many messages as the room keeps in memory, each at most a line long.
fn bound(history_len: usize, max_line_bytes: usize) -> Bound {
    let lines = history_len.max(1);
    Bound {
        lines,
        bytes: (lines as u64).saturating_mul(max_line_bytes as u64 + 1),
    }
}

/// Reads the history file into the room (message ids go on from the newest one kept) and
/// starts its writer. Runs before the first connection is accepted.
pub(super) fn restore(state: &ServerState) {
    let Some(path) = state.config.history_file.clone() else {
        return;
    };
    let bound = bound(state.config.history_len, state.config.max_line_bytes);
    let loaded = journal::read_tail(&path, bound).unwrap_or_else(|e| {
        log::warn!(
            "could not read the room's history from {}: {e}; starting without it",
            path.display()
        );
        journal::Loaded::default()
    });
    let mut skipped = loaded.skipped;
    let mut restored = Vec::new();
    for line in &loaded.lines {
        match decode::<ServerFrame>(line.as_bytes()) {
            Ok(ServerFrame::Chat(mut message)) if message.to.is_none() && message.id > 0 => {
                // The file is ours, but a hand may have edited it: peer text rules apply.
                message.text = clean_text(&message.text);
                message.from = clean_text(&message.from);
                message.client_id = None;
                restored.push(message);
            }
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        log::warn!(
            "{}: skipped {skipped} line(s) that are no message of the room",
            path.display()
        );
    }
    log::info!(
        "restored {} message(s) of the room's history from {}",
        restored.len(),
        path.display()
    );
    let journal = match Journal::start(Keeps::RoomHistory, SYNC_EVERY) {
        Ok(journal) => Some(journal),
        Err(e) => {
            log::warn!("could not start keeping the room's history: {e}");
            None
        }
    };
    let mut room = lock(&state.room);
    for message in restored {
        room.next_message_id = room.next_message_id.max(message.id);
        let line: Arc<[u8]> = encode(&ServerFrame::Chat(message.clone())).into();
        let stored = StoredMessage {
            message,
            session: String::new(),
            line,
            own_line: None,
            to_session: None,
        };
        room.remember(stored, state.config.history_len);
    }
    room.keeper = journal.map(|journal| Keeper {
        journal,
        path,
        bound,
    });
}

/// Writes what is queued, forces it to the disk and joins the writer (the server stops).
pub(super) fn stop(state: &ServerState) {
    let keeper = lock(&state.room).keeper.take();
    if let Some(keeper) = keeper {
        keeper.journal.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_bounded_like_the_history_in_memory() {
        assert_eq!(
            bound(200, 1000),
            Bound {
                lines: 200,
                bytes: 200 * 1001
            }
        );
        assert_eq!(bound(0, 10).lines, 1);
    }
}
