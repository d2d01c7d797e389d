//! The window's side of private conversations: sending to one person, showing a conversation
//! (opening it if new), and the log of the conversation shown. The model is in `chat_state`
//! and `conversations`; the wire in `network`.

use crate::app::{NatterApp, SaveScope};
use crate::chat_log;
use crate::chat_state::ConversationKey;
use crate::network::client::ClientCommand;

impl NatterApp {
    /// Sends a private message to `to`, shown pending in the conversation with them.
    pub(super) fn send_private(&mut self, to: String, text: String, action: bool) {
        let session = &mut self.session;
        let (Some(chat), Some(client)) = (&mut session.chat, &session.client) else {
            return;
        };
        session.next_local_id += 1;
        let local_id = session.next_local_id;
        chat.add_pending_private(local_id, &to, &text, action);
        client.send(ClientCommand::SendPrivate {
            local_id,
            to,
            text,
            action,
        });
        self.scroll_to_end();
    }

    /// Shows the room or the private conversation with `with`, opening it if new.
    /// Oneself has no conversation: clicking one's own name renames instead.
    pub fn show_conversation(&mut self, with: ConversationKey) {
        let Some(chat) = &mut self.session.chat else {
            return;
        };
        if with.nick() == Some(chat.my_nick.as_str()) {
            return;
        }
        chat.conversations.show(&with);
        if self.focused {
            chat.conversations.seen();
        }
    }

    /// The nickname of the private conversation shown (`None`: the room, or no chat).
    pub(in crate::app) fn shown_nick(&self) -> Option<String> {
        let chat = self.session.chat.as_ref()?;
        chat.conversations.shown().nick().map(str::to_string)
    }

    /// The conversation shown scrolls to its end on the next frame (after sending to it).
    pub(in crate::app) fn scroll_to_end(&mut self) {
        if let Some(chat) = &self.session.chat {
            let shown = chat.conversations.shown();
            self.view
                .scroll_to_end(chat.conversations.shown_id(), shown.is_room());
        }
    }

    /// What is typed in the message box of the conversation shown.
    pub fn draft(&self) -> &str {
        self.session
            .chat
            .as_ref()
            .map_or("", |c| c.conversations.draft())
    }

    /// Replaces what is typed in the message box of the conversation shown (tests).
    pub fn set_draft(&mut self, text: impl Into<String>) {
        if let Some(chat) = &mut self.session.chat {
            *chat.conversations.draft_mut() = text.into();
        }
    }

    /// The log text of what `scope` covers (see [`SaveScope`]).
    pub fn log_text_of(&self, scope: SaveScope) -> String {
        match (scope, &self.session.chat) {
            (SaveScope::Conversation, Some(chat)) => {
                let lines: Vec<_> = chat.lines_of(chat.conversations.shown()).cloned().collect();
                chat_log::format_log(&lines)
            }
            _ => self.log_text(),
        }
    }
}
