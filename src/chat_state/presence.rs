//! Who is in the room, as the chat shows it: joins, leaves, renames and each member's
//! encryption, with the line each one adds to the room and to a private conversation with
//! that person. The roles themselves come from the host (`roles` frames, in `ChatState`); a
//! rename only carries them to the new name. Draws nothing; the events come from `apply`.

use super::{ChatState, ConversationKey, LineKind, parse_time};
use crate::network::protocol::LeaveReason;

impl ChatState {
    pub(super) fn on_joined(&mut self, nick: String, time: &str, unencrypted: bool) {
        if !self.users.contains(&nick) {
            self.users.push(nick.clone());
        }
        let text = if unencrypted {
            self.unencrypted.insert(nick.clone());
            format!("{nick} joined without encryption")
        } else {
            self.unencrypted.remove(&nick);
            format!("{nick} joined")
        };
        self.push(parse_time(time), LineKind::System(text));
        self.tell_conversation(&nick, parse_time(time), format!("{nick} is back."));
    }

    /// Someone already in the room came back over a link encrypted otherwise than before.
    pub(super) fn on_encryption_changed(&mut self, nick: String, unencrypted: bool, time: &str) {
        let text = if unencrypted {
            format!("{nick} is now connected without encryption")
        } else {
            format!("{nick} is now connected with encryption")
        };
        if unencrypted {
            self.unencrypted.insert(nick);
        } else {
            self.unencrypted.remove(&nick);
        }
        self.push(parse_time(time), LineKind::System(text));
    }

    pub(super) fn on_left(&mut self, nick: String, reason: LeaveReason, detail: &str, time: &str) {
        self.users.retain(|u| *u != nick);
        self.unencrypted.remove(&nick);
        let text = match reason {
            LeaveReason::Left => format!("{nick} left"),
            LeaveReason::TimedOut => format!("{nick} left (timed out)"),
            _ => format!("{nick} left ({detail})"),
        };
        self.push(parse_time(time), LineKind::System(text.clone()));
        self.tell_conversation(
            &nick,
            parse_time(time),
            format!("{text}. Messages written here now reach nobody until {nick} is back."),
        );
    }

    pub(super) fn on_renamed(&mut self, from: &str, to: String, time: &str) {
        for user in self.users.iter_mut().filter(|u| *u == from) {
            *user = to.clone();
        }
        if self.unencrypted.remove(from) {
            self.unencrypted.insert(to.clone());
        }
        let roles = &mut self.roles;
        for name in (roles.ops.iter_mut().chain(roles.host.as_mut())).filter(|n| *n == from) {
            *name = to.clone();
        }
        let text = if from == self.my_nick {
            self.my_nick = to.clone();
            match self.wanted_nick.take() {
                Some(wanted) if wanted != to => taken_notice(&wanted, &to),
                _ => format!("You are now {to}"),
            }
        } else {
            format!("{from} is now {to}")
        };
        self.push(parse_time(time), LineKind::System(text.clone()));
        // The conversation follows the person: its lines and its name take the new nickname.
        if from != self.my_nick && self.conversations.has(from) {
            self.conversations.renamed(from, &to);
            let old = ConversationKey::private(from);
            for line in self.lines.iter_mut().filter(|line| line.with == old) {
                line.with = ConversationKey::private(to.clone());
            }
            let note = format!("{text}; this conversation follows.");
            self.tell_conversation(&to, parse_time(time), note);
        }
    }
}

/// The host gave us another name than we asked for.
pub(super) fn taken_notice(asked: &str, given: &str) -> String {
    format!("The name {asked} was taken; you are {given}.")
}
