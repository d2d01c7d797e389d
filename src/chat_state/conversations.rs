//! The conversations of one chat: the room and each private one (in the order they were
//! opened), which one is shown, and what each keeps while it is not shown: its draft and its
//! unread count.
//!
//! The one owner of a conversation's name: a rename (`ChatState`'s `on_renamed`) moves the
//! conversation's lines, draft and unread count together, in one place. Each conversation also
//! has a [`ConversationId`] that a rename does not change, so the window's view state (its
//! scroll position, kept by `ui`) follows without being told. Draws nothing, touches no socket,
//! imports nothing of `ui`.

/// A conversation: the room, or the private one with the person of that nickname.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ConversationKey {
    #[default]
    Room,
    Private(String),
}

impl ConversationKey {
    pub fn private(nick: impl Into<String>) -> Self {
        ConversationKey::Private(nick.into())
    }

    /// The other person's nickname, for a private conversation.
    pub fn nick(&self) -> Option<&str> {
        match self {
            ConversationKey::Room => None,
            ConversationKey::Private(nick) => Some(nick),
        }
    }

    pub fn is_room(&self) -> bool {
        *self == ConversationKey::Room
    }
}

/// A conversation's identity for as long as the chat lasts, through renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversationId(u64);

#[derive(Debug)]
struct Conversation {
    key: ConversationKey,
    id: ConversationId,
    /// What is typed in its message box (kept while another conversation is shown).
    draft: String,
    /// Messages from others that arrived while it was not shown, or while the window was not
    /// focused.
    unread: usize,
}

/// The room (always first) and the private conversations, and which one is shown.
#[derive(Debug)]
pub struct Conversations {
    all: Vec<Conversation>,
    /// Index into `all` of the conversation shown.
    shown: usize,
    next_id: u64,
}

impl Default for Conversations {
    fn default() -> Self {
        Conversations {
            all: vec![Conversation {
                key: ConversationKey::Room,
                id: ConversationId(0),
                draft: String::new(),
                unread: 0,
            }],
            shown: 0,
            next_id: 1,
        }
    }
}

impl Conversations {
    fn find(&self, key: &ConversationKey) -> Option<usize> {
        self.all.iter().position(|c| c.key == *key)
    }

    /// The conversation `key`, opened (added last) if it is new.
    fn open_key(&mut self, key: &ConversationKey) -> usize {
        if let Some(index) = self.find(key) {
            return index;
        }
        let id = ConversationId(self.next_id);
        self.next_id += 1;
        self.all.push(Conversation {
            key: key.clone(),
            id,
            draft: String::new(),
            unread: 0,
        });
        self.all.len() - 1
    }

    /// Adds a private conversation with `nick`, if there is none yet.
    pub fn open(&mut self, nick: &str) {
        self.open_key(&ConversationKey::private(nick));
    }

    pub fn has(&self, nick: &str) -> bool {
        self.all.iter().any(|c| c.key.nick() == Some(nick))
    }

    /// The private conversations' nicknames, in the order they were opened.
    pub fn private(&self) -> impl Iterator<Item = &str> {
        self.all.iter().filter_map(|c| c.key.nick())
    }

    /// Whether there is any private conversation (the tabs and the save choice show then).
    pub fn any_private(&self) -> bool {
        self.all.len() > 1
    }

    /// The conversation shown.
    pub fn shown(&self) -> &ConversationKey {
        &self.shown_one().key
    }

    /// The shown conversation's identity, for view state that must survive renames.
    pub fn shown_id(&self) -> ConversationId {
        self.shown_one().id
    }

    fn shown_one(&self) -> &Conversation {
        // `shown` always indexes `all`, which always holds the room; the fallback is the room.
        self.all.get(self.shown).unwrap_or(&self.all[0])
    }

    /// What is typed in the shown conversation's message box.
    pub fn draft(&self) -> &str {
        &self.shown_one().draft
    }

    pub fn draft_mut(&mut self) -> &mut String {
        let shown = self.shown.min(self.all.len() - 1);
        &mut self.all[shown].draft
    }

    /// Shows `key`, opening it if it is new; the other conversations keep their drafts.
    pub fn show(&mut self, key: &ConversationKey) {
        self.shown = self.open_key(key);
    }

    /// A message from someone else arrived in `key`: unread unless it is shown in a focused
    /// window.
    pub fn arrived(&mut self, key: &ConversationKey, focused: bool) {
        let index = self.open_key(key);
        if !focused || index != self.shown {
            self.all[index].unread += 1;
        }
    }

    /// The window is focused: the conversation shown has been read.
    pub fn seen(&mut self) {
        let shown = self.shown.min(self.all.len() - 1);
        self.all[shown].unread = 0;
    }

    pub fn unread(&self, key: &ConversationKey) -> usize {
        self.find(key).map_or(0, |i| self.all[i].unread)
    }

    /// The person of the private conversation `from` is now called `to`: the conversation keeps
    /// its draft, unread count and identity under the new name. If a conversation with `to`
    /// was already open (someone earlier of that name, gone), the two become one, as their
    /// lines do.
    pub(super) fn renamed(&mut self, from: &str, to: &str) {
        let Some(index) = self.find(&ConversationKey::private(from)) else {
            return;
        };
        self.all[index].key = ConversationKey::private(to);
        let earlier = self
            .all
            .iter()
            .enumerate()
            .position(|(i, c)| i != index && c.key.nick() == Some(to));
        if let Some(earlier) = earlier {
            let gone = self.all.remove(earlier);
            let index = if earlier < index { index - 1 } else { index };
            let kept = &mut self.all[index];
            kept.unread += gone.unread;
            if kept.draft.is_empty() {
                kept.draft = gone.draft;
            }
            if self.shown == earlier {
                self.shown = index;
            } else if self.shown > earlier {
                self.shown -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dana() -> ConversationKey {
        ConversationKey::private("dana")
    }

    #[test]
    fn each_conversation_keeps_its_own_draft_across_switches_and_a_rename() {
        let mut conversations = Conversations::default();
        conversations.draft_mut().push_str("to the room");
        conversations.show(&dana());
        assert_eq!(conversations.draft(), "", "a new conversation starts empty");
        conversations.draft_mut().push_str("to dana");
        conversations.show(&ConversationKey::Room);
        assert_eq!(conversations.draft(), "to the room");
        conversations.renamed("dana", "dee");
        conversations.show(&ConversationKey::private("dee"));
        assert_eq!(
            conversations.draft(),
            "to dana",
            "the draft followed the rename"
        );
    }

    #[test]
    fn unread_counts_are_per_conversation_and_follow_renames_with_the_same_id() {
        let mut conversations = Conversations::default();
        conversations.arrived(&ConversationKey::Room, true);
        assert_eq!(
            conversations.unread(&ConversationKey::Room),
            0,
            "shown, focused"
        );
        conversations.arrived(&dana(), true);
        conversations.arrived(&dana(), true);
        conversations.arrived(&ConversationKey::Room, false);
        assert_eq!(conversations.unread(&dana()), 2);
        assert_eq!(conversations.unread(&ConversationKey::Room), 1);
        conversations.seen();
        assert_eq!(conversations.unread(&ConversationKey::Room), 0);
        conversations.show(&dana());
        let id = conversations.shown_id();
        conversations.show(&ConversationKey::Room);
        conversations.renamed("dana", "dee");
        assert_eq!(conversations.unread(&ConversationKey::private("dee")), 2);
        assert_eq!(conversations.unread(&dana()), 0);
        conversations.show(&ConversationKey::private("dee"));
        assert_eq!(conversations.shown_id(), id, "the view state follows too");
    }

    #[test]
    fn a_rename_onto_an_open_conversation_makes_one_conversation_of_the_two() {
        let mut conversations = Conversations::default();
        conversations.arrived(&ConversationKey::private("dee"), false);
        conversations.show(&dana());
        conversations.draft_mut().push_str("hi");
        conversations.arrived(&dana(), false);
        conversations.renamed("dana", "dee");
        assert_eq!(conversations.private().collect::<Vec<_>>(), ["dee"]);
        assert_eq!(conversations.unread(&ConversationKey::private("dee")), 2);
        assert_eq!(conversations.shown(), &ConversationKey::private("dee"));
        assert_eq!(conversations.draft(), "hi");
    }
}
