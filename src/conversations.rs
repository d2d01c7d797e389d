//! Which conversation the window shows, and what each one keeps while it is not shown.
//!
//! The room and each private conversation (see `ChatState::conversations`) have their own
//! unread count, their own draft and their own scroll position. The one shown uses the app's
//! `draft` and `list`; the others wait here. Conversations are named by the other person's
//! nickname and follow renames (`renamed`). Draws nothing and touches no socket.

use std::collections::HashMap;

use crate::ui::chat::MessageListState;

/// A conversation: `None` is the room, `Some(nick)` the private one with that person.
pub type ConversationKey = Option<String>;

/// The conversations' view state, beside the one shown.
#[derive(Debug, Default)]
pub struct Conversations {
    /// The conversation shown.
    pub current: ConversationKey,
    /// Draft and scroll position of the conversations not shown.
    waiting: HashMap<ConversationKey, (String, MessageListState)>,
    /// Messages from others that arrived in a conversation while it was not shown, or while
    /// the window was not focused.
    unread: HashMap<ConversationKey, usize>,
}

impl Conversations {
    /// Shows `to`: the shown one's draft and scroll position are put aside, `to`'s taken out.
    pub fn switch(&mut self, to: ConversationKey, draft: &mut String, list: &mut MessageListState) {
        if to == self.current {
            return;
        }
        let (next_draft, next_list) = self.waiting.remove(&to).unwrap_or_else(|| {
            let mut list = MessageListState::default();
            list.scroll_to_bottom = true;
            (String::new(), list)
        });
        let previous = std::mem::replace(&mut self.current, to);
        let put_aside = (
            std::mem::replace(draft, next_draft),
            std::mem::replace(list, next_list),
        );
        self.waiting.insert(previous, put_aside);
    }

    /// A message from someone else arrived in `key`.
    pub fn arrived(&mut self, key: ConversationKey, focused: bool) {
        if !focused || key != self.current {
            *self.unread.entry(key).or_default() += 1;
        }
    }

    /// The window is focused: the conversation shown has been read.
    pub fn seen(&mut self) {
        self.unread.remove(&self.current);
    }

    pub fn unread(&self, key: &ConversationKey) -> usize {
        self.unread.get(key).copied().unwrap_or(0)
    }

    /// Someone we have a conversation with is now called `to`.
    pub fn renamed(&mut self, from: &str, to: &str) {
        let old = Some(from.to_string());
        let new = Some(to.to_string());
        if self.current == old {
            self.current = new.clone();
        }
        if let Some(kept) = self.waiting.remove(&old) {
            self.waiting.insert(new.clone(), kept);
        }
        if let Some(count) = self.unread.remove(&old) {
            self.unread.insert(new, count);
        }
    }

    /// A new chat: back to the room, nothing kept.
    pub fn clear(&mut self) {
        *self = Conversations::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_conversation_keeps_its_own_draft_and_scroll_state_across_switches() {
        let mut conversations = Conversations::default();
        let mut draft = "to the room".to_string();
        let mut list = MessageListState::default();
        conversations.switch(Some("dana".into()), &mut draft, &mut list);
        assert_eq!(draft, "");
        assert!(list.scroll_to_bottom, "a conversation opens at its end");
        draft.push_str("to dana");
        conversations.switch(None, &mut draft, &mut list);
        assert_eq!(draft, "to the room");
        conversations.renamed("dana", "dee");
        conversations.switch(Some("dee".into()), &mut draft, &mut list);
        assert_eq!(draft, "to dana", "the draft followed the rename");
    }

    #[test]
    fn unread_counts_are_per_conversation_and_follow_renames() {
        let mut conversations = Conversations::default();
        conversations.arrived(None, true);
        assert_eq!(conversations.unread(&None), 0, "shown and focused: read");
        conversations.arrived(Some("dana".into()), true);
        conversations.arrived(Some("dana".into()), true);
        conversations.arrived(None, false);
        assert_eq!(conversations.unread(&Some("dana".into())), 2);
        assert_eq!(conversations.unread(&None), 1);
        conversations.seen();
        assert_eq!(conversations.unread(&None), 0);
        conversations.renamed("dana", "dee");
        assert_eq!(conversations.unread(&Some("dee".into())), 2);
    }
}
