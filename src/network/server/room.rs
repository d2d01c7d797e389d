//! The room: who is in it, the history late joiners get, and relaying to everyone.
//!
//! Owns the member list, message ids, the history and nickname uniqueness. Does not own
//! sockets or reading (see `handler`), nor how a line is written (see `outbox` and `conn_io`): a member
//! is reached through its [`Recipient`], which never blocks.

use std::cell::OnceCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::connection::{ConnId, Recipient};
use super::fanout::Fanout;
use super::presence::{Decision, Presence};
use crate::network::protocol::{ChatMessage, Dialect, ServerFrame, encode};
use crate::network::text::{MAX_NICK_CHARS, NickKey};

/// Someone in the room.
pub(super) struct Member {
    pub(super) id: ConnId,
    pub(super) nick: String,
    /// What `nick` is compared by, kept so a join does not recompute everyone's.
    pub(super) key: NickKey,
    pub(super) dialect: Dialect,
    /// The resume token of this member's stay (see `accepted` in PROTOCOL.md).
    pub(super) session: String,
    pub(super) recipient: Recipient,
    /// The last join or leave this member was told of or counted in its `accepted` list.
    pub(super) presence_seq: u64,
    /// Its `hello` asked for `presence` frames.
    pub(super) batches_presence: bool,
    /// When it took its nickname (joined or renamed): a private message to a name someone
    /// else let go of moments before it was taken is not delivered (see `private`).
    pub(super) named_at: Instant,
    /// Its link is not encrypted, on a host that offers encryption (`joined` says so).
    pub(super) unencrypted: bool,
    /// Its `hello` listed `files`: it is sent file frames.
    pub(super) files: bool,
    /// Its `hello` listed `file_data` too: file data goes to it raw, not as base64.
    pub(super) takes_data: bool,
    /// Its `hello` listed `encryption`: it is sent `encryption` frames.
    pub(super) hears_encryption: bool,
    /// Its `hello` listed `moderation`: it is sent `moderation`, `roles` and `notice` frames.
    pub(super) hears_moderation: bool,
    /// Others were told it joined. A plain peer greeted after a silence is not announced
    /// until it sends its first line (see `plain_dialect`): a socket that never becomes
    /// anyone (a browser's preconnect, a port check) leaves no trace. Until then it reads
    /// the room like everyone, but is in nobody's list.
    pub(super) announced: bool,
    /// Its link dropped without a goodbye and the room was not told: it waits here for its
    /// session to resume (see `away`).
    pub(super) away: Option<super::away::Away>,
}

/// A message kept for late joiners, with the stay that sent it, so a resuming sender gets
/// its own `client_id` back.
pub(super) struct StoredMessage {
    /// As relayed to everyone (no `client_id`).
    pub(super) message: ChatMessage,
    pub(super) session: String,
    /// `message` as the `chat` line everyone else got.
    pub(super) line: Arc<[u8]>,
    /// The sender's own copy, with its `client_id`, if it gave one.
    pub(super) own_line: Option<Arc<[u8]>>,
    /// A private message: the session of the one person it was sent to. Only that stay and
    /// the sender's ever get it again.
    pub(super) to_session: Option<String>,
}

impl StoredMessage {
    /// Whether the stay with this session token may be sent this message again.
    pub(super) fn visible_to(&self, session: &str) -> bool {
        match &self.to_session {
            None => true,
            Some(to) => to == session || self.session == session,
        }
    }
}

#[derive(Default)]
pub(super) struct Room {
    pub(super) next_message_id: u64,
    pub(super) next_guest: u64,
    pub(super) history: VecDeque<StoredMessage>,
    pub(super) members: Vec<Member>,
    pub(super) presence: Presence,
    /// Broadcast lines, kept once for every member's queue.
    fanout: Fanout,
    /// Nicknames let go of (by a rename or a leave) lately, with when: see `private`.
    pub(super) freed_nicks: VecDeque<(NickKey, Instant)>,
    /// Files on offer and deliveries under way.
    pub(super) ledger: super::file_ledger::Ledger,
    /// Roles, mutes and the lecture (see `moderation`).
    pub(super) moderation: super::moderation::Moderation,
    /// The writer of the history file, when the history is kept across a restart.
    pub(super) keeper: Option<super::history_file::Keeper>,
}

impl Member {
    pub(super) fn set_nick(&mut self, nick: &str) {
        self.nick = nick.to_string();
        self.key = NickKey::of(nick);
        self.named_at = Instant::now();
    }
}

impl Room {
    /// The nicknames others were told of (see [`Member::announced`]).
    pub(super) fn nicks(&self) -> Vec<String> {
        (self.members.iter())
            .filter(|m| m.announced)
            .map(|m| m.nick.clone())
            .collect()
    }

    /// Everyone's nickname as plain-text peer `viewer` reads it in `/who`: those without
    /// encryption marked so; the unannounced left out, but for the viewer itself.
    pub(super) fn nicks_marked(&self, viewer: ConnId) -> Vec<String> {
        (self.members.iter())
            .filter(|m| m.announced || m.id == viewer)
            .map(|m| match m.unencrypted {
                true => format!("{} (without encryption)", m.nick),
                false => m.nick.clone(),
            })
            .collect()
    }

    /// `wanted`, or a free variant of it (see [`unique_nick`]), ignoring member `except`. A
    /// name is taken when it looks like a member's (see [`NickKey`]).
    pub(super) fn unique_nick(&self, wanted: &str, except: Option<ConnId>) -> String {
        unique_nick(wanted, |candidate| {
            let key = NickKey::of(candidate);
            self.members
                .iter()
                .any(|m| Some(m.id) != except && m.key.looks_like(&key))
        })
    }

    /// Tells everyone of a join or leave: at once while the room is quiet, else in a batch
    /// (see `presence`), which must then be flushed by the time returned.
    pub(super) fn announce(&mut self, frame: &ServerFrame, plain: String) -> Option<Instant> {
        match self.presence.add(frame, plain, Instant::now()) {
            Decision::Now { json, plain } => {
                let json: Arc<[u8]> = json.into();
                let plain: Arc<[u8]> = plain.into_bytes().into();
                for member in &self.members {
                    let line = match member.dialect {
                        Dialect::Json => Arc::clone(&json),
                        Dialect::Plain => Arc::clone(&plain),
                    };
                    member.recipient.send(line);
                }
                None
            }
            Decision::Batched { due } => Some(due),
        }
    }

    /// Sends the joins and leaves waiting in a batch, if any.
    pub(super) fn flush_presence(&mut self) {
        if self.presence.has_pending() {
            self.presence.flush(&self.members, Instant::now());
        }
    }

    /// Sends one event to every member but `skip`, serialised once per dialect. Joins and
    /// leaves waiting in a batch go first, so everyone reads events in the order they happened.
    pub(super) fn broadcast(
        &mut self,
        skip: Option<ConnId>,
        frame: &ServerFrame,
        plain_text: impl Fn() -> String,
    ) {
        let json: Arc<[u8]> = encode(frame).into();
        self.broadcast_line(skip, &json, plain_text);
    }

    /// [`Room::broadcast`] of an already encoded frame (`json`, with its newline).
    pub(super) fn broadcast_line(
        &mut self,
        skip: Option<ConnId>,
        json: &Arc<[u8]>,
        plain_text: impl Fn() -> String,
    ) {
        self.flush_presence();
        let plain = OnceCell::<Arc<[u8]>>::new();
        let mut shared = None;
        for member in self.members.iter().filter(|m| Some(m.id) != skip) {
            match member.dialect {
                Dialect::Json => {
                    let line = shared.get_or_insert_with(|| self.fanout.add(Arc::clone(json)));
                    member.recipient.send_shared(line);
                }
                Dialect::Plain => member.recipient.send(Arc::clone(
                    plain.get_or_init(|| plain_text().into_bytes().into()),
                )),
            }
        }
    }

    /// Tells every member but `skip` that `nick`'s link is now `unencrypted` or not: an
    /// `encryption` frame to clients that asked for it, a line to plain peers. Other clients
    /// read it in their next `accepted`. Joins and leaves waiting in a batch go first.
    pub(super) fn tell_encryption(&mut self, skip: ConnId, nick: &str, unencrypted: bool) {
        self.flush_presence();
        let frame = ServerFrame::Encryption {
            nick: nick.to_string(),
            unencrypted,
            time: crate::network::protocol::now_rfc3339(),
        };
        let json: Arc<[u8]> = encode(&frame).into();
        let plain: Arc<[u8]> = crate::network::plain::encryption(nick, unencrypted)
            .into_bytes()
            .into();
        for member in self.members.iter().filter(|m| m.id != skip) {
            match member.dialect {
                Dialect::Json if member.hears_encryption => {
                    member.recipient.send(Arc::clone(&json))
                }
                Dialect::Json => {}
                Dialect::Plain => member.recipient.send(Arc::clone(&plain)),
            }
        }
    }

    pub(super) fn member(&self, id: ConnId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    pub(super) fn member_mut(&mut self, id: ConnId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// Remembers that `nick` was let go of now, forgetting names freed longer than `keep` ago.
    pub(super) fn free_nick(&mut self, nick: &str, keep: std::time::Duration) {
        let now = Instant::now();
        while self
            .freed_nicks
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) > keep)
        {
            self.freed_nicks.pop_front();
        }
        self.freed_nicks.push_back((NickKey::of(nick), now));
    }

    /// Appends to the history (and its file, if kept), forgetting the oldest beyond `keep`.
    pub(super) fn remember(&mut self, stored: StoredMessage, keep: usize) {
        if let Some(keeper) = &self.keeper {
            keeper.keep(&stored);
        }
        self.history.push_back(stored);
        while self.history.len() > keep {
            self.history.pop_front();
        }
    }
}

/// `wanted` if it is free, else `wanted-2`, `wanted-3`, ... The number replaces the end of a
/// long name rather than growing it past [`MAX_NICK_CHARS`].
pub(super) fn unique_nick(wanted: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(wanted) {
        return wanted.to_string();
    }
    (2u32..)
        .map(|n| {
            let suffix = format!("-{n}");
            let room_for_base = MAX_NICK_CHARS.saturating_sub(suffix.chars().count());
            let base: String = wanted.chars().take(room_for_base).collect();
            format!("{}{suffix}", base.trim_end())
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| wanted.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken_from(names: &[&str]) -> impl Fn(&str) -> bool {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        move |candidate| {
            names
                .iter()
                .any(|n| crate::network::text::nicks_look_alike(n, candidate))
        }
    }

    #[test]
    fn a_free_nick_is_kept_as_asked() {
        assert_eq!(unique_nick("dana", taken_from(&["alice"])), "dana");
    }

    #[test]
    fn a_taken_nick_gets_the_lowest_free_number_ignoring_case() {
        assert_eq!(unique_nick("Dana", taken_from(&["dana"])), "Dana-2");
        assert_eq!(
            unique_nick("dana", taken_from(&["dana", "DANA-2", "dana-3"])),
            "dana-4"
        );
    }

    #[test]
    fn a_numbered_long_nick_stays_within_the_length_limit() {
        let long = "x".repeat(MAX_NICK_CHARS);
        let unique = unique_nick(&long, taken_from(&[&long]));
        assert_eq!(unique.chars().count(), MAX_NICK_CHARS, "{unique}");
        assert!(unique.ends_with("-2"), "{unique}");
        let cjk = "字".repeat(MAX_NICK_CHARS);
        let unique = unique_nick(&cjk, taken_from(&[&cjk]));
        assert_eq!(unique.chars().count(), MAX_NICK_CHARS, "{unique}");
    }
}
