//! The chat's side of shared files: the client's `File*` events turned into the files' state
//! ([`super::SharedFiles`]) and each file's one line in the chat, kept up to date. Draws nothing.

use chrono::Local;

use super::shared_files::{Change, Progress, Receiver};
use super::{Applied, ChatLine, ChatState, LineKind};
use crate::network::client::ClientEvent;

impl ChatState {
    /// One `File*` event (others are not given here).
    pub(super) fn on_file_event(&mut self, event: ClientEvent, applied: &mut Applied) {
        match event {
            ClientEvent::FileOffering { id, name, to } => {
                let change = self.files.offering(id, name, to, &self.my_nick);
                self.on_file_change(change);
            }
            ClientEvent::FileOffered { offer, ours } => {
                let change = self.files.offered(offer, ours);
                if !ours && matches!(change, Change::New(_)) {
                    applied.new_message = true;
                    applied.new_line = Some(self.lines.len());
                }
                self.on_file_change(change);
            }
            ClientEvent::FileProgress {
                id,
                peer,
                done,
                total,
                bytes_per_sec,
            } => {
                let progress = Progress {
                    done,
                    total,
                    bytes_per_sec,
                };
                self.files.progress(&id, peer, progress);
            }
            ClientEvent::FileSaved { id, path } => self.files.saved(&id, path),
            ClientEvent::FileDelivered { id, peer } => {
                self.files.receiver(&id, peer, Receiver::HasIt);
            }
            ClientEvent::FileDeclined { id, peer } => {
                self.files.receiver(&id, peer, Receiver::Declined);
            }
            ClientEvent::FileStopped {
                id,
                peer,
                reason,
                offer_open,
            } => {
                let change = self.files.stopped(&id, peer, reason, offer_open);
                self.on_file_change(change);
            }
            _ => {}
        }
    }

    /// A file's line: added for a new file (in its conversation, opened if private), its
    /// summary refreshed for a known one.
    fn on_file_change(&mut self, change: Change) {
        match change {
            Change::Nothing => {}
            Change::New(id) => {
                let Some(transfer) = self.files.get(&id) else {
                    return;
                };
                let with = transfer.conversation(&self.my_nick);
                let summary = transfer.summary();
                if let Some(nick) = with.nick() {
                    self.conversations.open(nick);
                }
                self.file_lines.insert(id.clone(), self.lines.len());
                let mut line = ChatLine::new(Local::now(), LineKind::File { id, summary });
                line.with = with;
                self.lines.push(line);
            }
            Change::Updated(id) => {
                let summary = self.files.get(&id).map(|t| t.summary());
                let line = self
                    .file_lines
                    .get(&id)
                    .and_then(|i| self.lines.get_mut(*i));
                if let (Some(summary), Some(line)) = (summary, line)
                    && let LineKind::File { summary: shown, .. } = &mut line.kind
                {
                    *shown = summary;
                }
            }
        }
    }
}
