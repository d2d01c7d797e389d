//! Conversations kept on this computer: each host's (by its identity, the key it proved, not
//! its address) room and private conversations, written as they come and shown again above
//! the live session the next time the window joins that host (`chat_state::earlier`).
//!
//! Owns which identity the chat's lines go to, the `natter-conversations` writer
//! (`network::journal`: every read, write and removal happens there, never on the window's
//! thread) and the file of each identity in the data folder. Settings: **Keep conversations
//! on this computer** (on by default: off, nothing is read or written) and **Forget this
//! room's history** (⚙). A host without encryption has no identity, and nothing is kept.

use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, Sender};

use super::*;
use crate::chat_state::KeptLine;
use crate::network::journal::{Bound, Journal, Keeps, Loaded};
use crate::network::tls::Fingerprint;

/// How often new lines are forced to the disk while there are some.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// The most one host's file holds on the disk, by default (about 10,000 lines).
pub const KEPT_BYTES: u64 = 2 * 1024 * 1024;

/// The window's kept conversations: the writer, and the identity the chat shown belongs to.
pub struct Kept {
    journal: Option<Journal>,
    /// The chat's host identity, once its link was encrypted.
    identity: Option<Fingerprint>,
    loaded_tx: Sender<Earlier>,
    loaded: Receiver<Earlier>,
}

/// One host's kept conversation, read and parsed on the writer's thread.
struct Earlier {
    path: PathBuf,
    lines: Vec<KeptLine>,
}

impl Default for Kept {
    fn default() -> Self {
        let (loaded_tx, loaded) = crossbeam_channel::unbounded();
        Kept {
            journal: None,
            identity: None,
            loaded_tx,
            loaded,
        }
    }
}

/// Where the window keeps what it keeps between runs (conversations, the hosted room's
/// history): the system's data folder for Natter.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "Natter").map(|dirs| dirs.data_dir().to_path_buf())
}

/// One host's file in the folder of kept conversations.
pub fn kept_file(dir: &Path, identity: &Fingerprint) -> PathBuf {
    dir.join(format!("{}.jsonl", identity.to_text().replace(':', "-")))
}

/// The kept lines of a file (on the writer's thread); the others are skipped and logged.
fn parse(loaded: Loaded) -> Earlier {
    let mut skipped = loaded.skipped;
    let mut lines = Vec::with_capacity(loaded.lines.len());
    for line in &loaded.lines {
        match KeptLine::from_json(line) {
            Some(kept) => lines.push(kept),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        log::warn!(
            "{}: skipped {skipped} line(s) that are no kept message",
            loaded.path.display()
        );
    }
    Earlier {
        path: loaded.path,
        lines,
    }
}

/// A file's bound for a cap on its size: cut back to four fifths, so it never passes the cap.
fn bound(cap: u64) -> Bound {
    Bound {
        lines: usize::MAX / 2,
        bytes: cap - cap / 5,
    }
}

impl Kept {
    /// A new chat: its host's identity is not known yet.
    pub(super) fn new_chat(&mut self) {
        self.identity = None;
        while self.loaded.try_recv().is_ok() {}
    }

    /// Whether the chat has a host identity to keep its conversation for (Forget is offered).
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    fn journal(&mut self) -> Option<&Journal> {
        if self.journal.is_none() {
            match Journal::start(Keeps::Conversations, SYNC_EVERY) {
                Ok(journal) => self.journal = Some(journal),
                Err(e) => log::warn!("could not start keeping conversations: {e}"),
            }
        }
        self.journal.as_ref()
    }

    /// After the client's events: the host's identity once known (its kept conversation is
    /// asked for), and the new messages written to its file. `place`: the folder and the cap
    /// of each file, while conversations are kept (`None`: nothing is read or written).
    pub(super) fn follow(
        &mut self,
        host_keys: &[Fingerprint],
        chat: &mut ChatState,
        place: Option<(&Path, u64)>,
        wake: &WakeUp,
    ) {
        let to_keep = chat.take_to_keep();
        let known_before = self.identity.is_some();
        // Connect anyway to a host with a new key: from there on, its lines are its own.
        if let Some(&last) = host_keys.last() {
            self.identity = Some(last);
        }
        let (Some((dir, cap)), Some(identity)) = (place, self.identity) else {
            return;
        };
        let path = kept_file(dir, &identity);
        let reply = self.loaded_tx.clone();
        let Some(journal) = self.journal() else {
            return;
        };
        if !known_before {
            let wake = wake.clone();
            journal.load(&path, bound(cap), move |loaded| {
                let _ = reply.send(parse(loaded));
                wake();
            });
        }
        for line in to_keep {
            journal.append(&path, line.to_json().into_bytes(), bound(cap));
        }
    }

    /// The kept conversation read back, shown above the chat (if it is still this host's).
    pub(super) fn drain_loaded(&mut self, chat: Option<&mut ChatState>, dir: Option<&Path>) {
        let Some(earlier) = self.loaded.try_iter().last() else {
            return;
        };
        let current = dir.zip(self.identity).map(|(dir, id)| kept_file(dir, &id));
        if let Some(chat) = chat.filter(|_| current.as_ref() == Some(&earlier.path)) {
            chat.add_earlier(earlier.lines);
        }
    }

    /// Forget this room's history: its file goes (after what is queued), and its kept lines
    /// leave the screen.
    pub(super) fn forget(&mut self, chat: &mut ChatState, dir: &Path) {
        let Some(identity) = self.identity else {
            return;
        };
        let path = kept_file(dir, &identity);
        if let Some(journal) = self.journal() {
            journal.forget(&path);
        }
        chat.forget_earlier();
        chat.system_in_shown(
            "This room's history is forgotten on this computer. What is said from now on is \
             kept again while Keep conversations on this computer is on.",
        );
    }

    /// Writes what is queued, forces it to the disk and joins the writer.
    pub(super) fn stop(&mut self) {
        if let Some(journal) = self.journal.take() {
            journal.stop();
        }
    }
}
