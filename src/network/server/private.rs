//! Private messages on the server: one person to one other, never anyone else.
//!
//! Owns finding the one recipient of a private message, refusing what cannot be delivered
//! (nobody of that name, oneself, a name someone else let go of moments ago), and the
//! message's way to its two people: live, in history and on resume (see
//! `StoredMessage::visible_to`). Shares the sender's rate budget and the text rules with
//! `Handler::chat`. The owner of the server (its console, the host's window as host) is not
//! told of private messages: they are between two people.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connection::End;
use super::handler::Handler;
use super::room::{Room, StoredMessage};
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{ChatMessage, Dialect, ErrorCode, now_rfc3339};
use crate::network::text::{MAX_NICK_CHARS, NickKey, quote};

/// A private message to a nickname that someone let go of (renamed or left) less than this
/// long ago, and that another member took after, is refused: it was most likely meant for
/// the one who had the name, and its sender had not yet seen the change.
pub(super) const NAME_GRACE: Duration = Duration::from_secs(10);

/// Why a private message found nobody to go to.
pub(super) enum NoRecipient {
    NotOnline,
    Yourself,
    /// The name changed hands moments ago.
    JustTaken(String),
}

impl Handler {
    /// Rate-limits, cleans, stores and delivers one private message to `to` alone, with the
    /// sender's own copy (its `client_id` back) as its confirmation.
    pub(super) fn private(
        &mut self,
        to: &str,
        text: &str,
        client_id: Option<String>,
        action: bool,
    ) -> Option<End> {
        let text = match self.admit_text(text, &client_id) {
            Ok(text) => text,
            Err(end) => return end,
        };
        let mut room = lock(&self.state.room);
        let target = match recipient(&room, self.id, to, Instant::now()) {
            Ok(position) => position,
            Err(why) => {
                drop(room);
                let (code, message) = refusal(to, why);
                self.send_error(code, &message, client_id);
                return None;
            }
        };
        // A lecture lets a private message to the host or a co-host through; a mute does not.
        let to_moderator = room.moderates(target);
        if let Some(silenced) = room.silenced(&self.session_token, to_moderator) {
            drop(room);
            self.tell_silenced(&silenced, client_id);
            return None;
        }
        let (to_nick, to_session, to_dialect, to_recipient) = {
            let member = &room.members[target];
            (
                member.nick.clone(),
                member.session.clone(),
                member.dialect,
                member.recipient.clone(),
            )
        };
        let message = ChatMessage {
            id: room.next_message_id + 1,
            time: now_rfc3339(),
            from: self.nick.clone().unwrap_or_default(),
            text,
            client_id: None,
            action,
            to: Some(to_nick),
        };
        // Measured as sent, with its id and the recipient's nickname (see `Handler::chat`).
        let (line, own_line) = match self.relayed_lines(&message, &client_id) {
            Ok(lines) => lines,
            Err(length) => {
                drop(room);
                self.too_long(length, client_id);
                return None;
            }
        };
        room.next_message_id += 1;
        // Joins and leaves waiting in a batch go first, as before any other message.
        room.flush_presence();
        match to_dialect {
            Dialect::Json => to_recipient.send(Arc::clone(&line)),
            Dialect::Plain => to_recipient.send(plain::private(&message).into_bytes().into()),
        }
        match self.dialect {
            Dialect::Json => self
                .recipient
                .send(own_line.clone().unwrap_or_else(|| Arc::clone(&line))),
            // A plain sender sees what it typed, not where it went: say so.
            Dialect::Plain => self.send_text(&plain::private_sent(&message)),
        }
        let stored = StoredMessage {
            message,
            session: self.session_token.clone(),
            line,
            own_line,
            to_session: Some(to_session),
        };
        room.remember(stored, self.config().history_len);
        None
    }
}

/// The place in the member list of the one person a private message to `to` from member
/// `from` goes to. Nicknames are compared as the room compares them (two members never look
/// alike), so case and look-alike letters find the same person.
pub(super) fn recipient(
    room: &Room,
    from: super::connection::ConnId,
    to: &str,
    now: Instant,
) -> Result<usize, NoRecipient> {
    let key = NickKey::of(to.trim());
    let position = room
        .members
        .iter()
        .position(|m| m.key.looks_like(&key))
        .ok_or(NoRecipient::NotOnline)?;
    let member = &room.members[position];
    if member.id == from {
        return Err(NoRecipient::Yourself);
    }
    let changed_hands = room.freed_nicks.iter().any(|(freed, at)| {
        freed.looks_like(&member.key)
            && *at <= member.named_at
            && now.duration_since(*at) < NAME_GRACE
    });
    if changed_hands {
        return Err(NoRecipient::JustTaken(member.nick.clone()));
    }
    Ok(position)
}

/// The error code and sentence for a private message that went to nobody.
pub(super) fn refusal(to: &str, why: NoRecipient) -> (ErrorCode, String) {
    let to = quote(to, MAX_NICK_CHARS + 8);
    match why {
        NoRecipient::NotOnline => (
            ErrorCode::NotOnline,
            format!("Nobody called {to} is online. Your private message was not sent."),
        ),
        NoRecipient::Yourself => (
            ErrorCode::ToYourself,
            "That is you: a private message goes to someone else. It was not sent.".to_string(),
        ),
        NoRecipient::JustTaken(nick) => (
            ErrorCode::NotOnline,
            format!(
                "The name {nick} changed hands moments ago, so your private message was not sent: check who you are writing to and send it again."
            ),
        ),
    }
}
