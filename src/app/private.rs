//! The window's side of private conversations: sending to one person, showing a conversation
//! (opening it if new), and the log of the conversation shown. The model is in `chat_state`
//! and `conversations`; the wire in `network`.

use super::{NatterApp, SaveScope};
use crate::chat_log;
use crate::network::client::ClientCommand;

impl NatterApp {
    /// Sends a private message to `to`, shown pending in the conversation with them.
    pub(super) fn send_private(&mut self, to: String, text: String, action: bool) {
        let (Some(chat), Some(client)) = (&mut self.chat, &self.client) else {
            return;
        };
        let local_id = self.next_local_id;
        self.next_local_id += 1;
        chat.add_pending_private(local_id, &to, &text, action);
        client.send(ClientCommand::SendPrivate {
            local_id,
            to,
            text,
            action,
        });
        self.list.scroll_to_bottom = true;
    }

    /// Shows the room (`None`) or the private conversation with `with`, opening it if new.
    /// Oneself has no conversation: clicking one's own name renames instead.
    pub fn show_conversation(&mut self, with: Option<String>) {
        if let (Some(chat), Some(nick)) = (&mut self.chat, &with) {
            if *nick == chat.my_nick {
                return;
            }
            chat.open_conversation(nick);
        }
        self.conversations
            .switch(with, &mut self.draft, &mut self.list);
        if self.focused {
            self.conversations.seen();
        }
    }

    /// The log text of what `scope` covers (see [`SaveScope`]).
    pub fn log_text_of(&self, scope: SaveScope) -> String {
        match (scope, &self.chat) {
            (SaveScope::Conversation, Some(chat)) => {
                let with = self.conversations.current.as_deref();
                let lines: Vec<_> = chat.lines_of(with).cloned().collect();
                chat_log::format_log(&lines)
            }
            _ => self.log_text(),
        }
    }
}
