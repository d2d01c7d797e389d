//! The conversation kept on this computer from earlier visits to the same host: the lines
//! worth keeping as they come ([`KeptLine`], taken by the window's writer with
//! [`ChatState::take_to_keep`]), and the kept ones shown again above the live session
//! ([`ChatState::add_earlier`]), each conversation's set closed by a line "Earlier (Tuesday 3
//! December)", the date of its last kept line.
//!
//! Every message is shown once: a message is known by its host id, time, sender and text, so
//! the host's history replay (a late joiner's, or after a host restarted with its history
//! file) of a message already kept, or a kept one already shown live, is left out. Owns no
//! file: reading and writing are the window's (`app::kept`, on its writer thread).

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Datelike, Local};
use serde::{Deserialize, Serialize};

use super::{ChatLine, ChatState, ConversationKey, Delivery, LineKind};
use crate::network::protocol::ChatMessage;
use crate::network::text::clean_text;

/// One message as kept on disk: a line of JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptLine {
    /// The host's time for it (RFC 3339), as the host sent it.
    pub time: String,
    /// The host's id for it.
    pub id: u64,
    pub from: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub action: bool,
    /// The private conversation it belongs to (the other person's nickname); `None`: the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
}

impl KeptLine {
    fn of(message: &ChatMessage, with: &ConversationKey) -> KeptLine {
        KeptLine {
            time: message.time.clone(),
            id: message.id,
            from: message.from.clone(),
            text: message.text.clone(),
            action: message.action,
            with: with.nick().map(str::to_string),
        }
    }

    /// The line as written to the file.
    pub fn to_json(&self) -> String {
        // Strings and numbers only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A line of the file, if it is one; its text cleaned as peer text is (a hand may have
    /// edited the file).
    pub fn from_json(line: &str) -> Option<KeptLine> {
        let mut kept: KeptLine = serde_json::from_str(line).ok()?;
        kept.from = clean_text(&kept.from);
        kept.text = clean_text(&kept.text);
        kept.with = kept.with.map(|nick| clean_text(&nick));
        (kept.id > 0).then_some(kept)
    }

    fn key(&self) -> u64 {
        message_key(self.id, &self.time, &self.from, &self.text)
    }

    fn conversation(&self) -> ConversationKey {
        match &self.with {
            Some(nick) => ConversationKey::private(nick.clone()),
            None => ConversationKey::Room,
        }
    }
}

/// A chat's side of keeping: what it showed, what is to be written, what it shows from before.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// Every message shown, by [`message_key`]: none is shown twice.
    seen: HashSet<u64>,
    /// Messages to keep on disk since the window last took them.
    to_keep: Vec<KeptLine>,
    /// How many lines at the top are kept ones (with their "Earlier" lines), and their keys.
    lines: usize,
    keys: Vec<u64>,
    /// The host's history is coming: its "Earlier messages" line goes above the first of its
    /// messages not shown already, so one whose every message was kept is not announced.
    pub(super) history_header: bool,
}

/// What tells one message from another: the host's id and time, the sender and the text.
fn message_key(id: u64, time: &str, from: &str, text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (id, time, from, text).hash(&mut hasher);
    hasher.finish()
}

/// "Earlier (Tuesday 3 December)": the last kept line's day, with its year when that is not
/// this year.
pub fn earlier_line(last: DateTime<Local>) -> String {
    let day = if last.year() == Local::now().year() {
        last.format("%A %-d %B")
    } else {
        last.format("%A %-d %B %Y")
    };
    format!("Earlier ({day})")
}

impl ChatState {
    /// Whether `message` was shown already (live or kept); if not, it is now, and it is kept.
    pub(super) fn first_sight(&mut self, message: &ChatMessage, with: &ConversationKey) -> bool {
        if message.id == 0 {
            return true;
        }
        let key = message_key(message.id, &message.time, &message.from, &message.text);
        if !self.kept.seen.insert(key) {
            return false;
        }
        self.kept.to_keep.push(KeptLine::of(message, with));
        true
    }

    /// The messages to keep that came since the last call, in order.
    pub fn take_to_keep(&mut self) -> Vec<KeptLine> {
        std::mem::take(&mut self.kept.to_keep)
    }

    /// Shows the kept conversation above everything else: each conversation's kept lines
    /// (private ones get their tab back), then its "Earlier (…)" line. Lines already shown
    /// (the host replayed them first) and repeats are left out.
    pub fn add_earlier(&mut self, kept: Vec<KeptLine>) {
        let mut groups: Vec<(ConversationKey, Vec<ChatLine>)> = Vec::new();
        for line in kept {
            let key = line.key();
            if !self.kept.seen.insert(key) {
                continue;
            }
            self.kept.keys.push(key);
            let with = line.conversation();
            let time = DateTime::parse_from_rfc3339(&line.time)
                .map(|t| t.with_timezone(&Local))
                .unwrap_or_else(|_| Local::now());
            let mut shown = ChatLine::new(
                time,
                LineKind::Message {
                    id: Some(line.id),
                    from: line.from,
                    text: line.text,
                    delivery: Delivery::Delivered,
                    local_id: None,
                    action: line.action,
                },
            );
            shown.with = with.clone();
            match groups.iter_mut().find(|(key, _)| *key == with) {
                Some((_, lines)) => lines.push(shown),
                None => groups.push((with, vec![shown])),
            }
        }
        let mut earlier = Vec::new();
        for (with, lines) in groups {
            if let Some(nick) = with.nick()
                && nick != self.my_nick
            {
                self.conversations.open(nick);
            }
            let last = lines.last().map_or_else(Local::now, |l| l.time);
            earlier.extend(lines);
            let mut divider = ChatLine::new(last, LineKind::System(earlier_line(last)));
            divider.with = with;
            earlier.push(divider);
        }
        let added = earlier.len();
        if added == 0 {
            return;
        }
        self.lines.splice(0..0, earlier);
        self.kept.lines += added;
        self.shift_indices(added, true);
    }

    /// How many lines at the top are the kept conversation (and its "Earlier" lines).
    pub fn earlier_lines(&self) -> usize {
        self.kept.lines
    }

    /// The kept conversation is forgotten: its lines leave the screen too.
    pub fn forget_earlier(&mut self) {
        let gone = std::mem::take(&mut self.kept.lines).min(self.lines.len());
        self.lines.drain(..gone);
        self.shift_indices(gone, false);
        for key in std::mem::take(&mut self.kept.keys) {
            self.kept.seen.remove(&key);
        }
    }

    /// Lines were added (`up`) or removed at the top: the places remembered move with them.
    fn shift_indices(&mut self, by: usize, up: bool) {
        let shift = |index: &mut usize| {
            *index = if up {
                *index + by
            } else {
                index.saturating_sub(by)
            }
        };
        self.pending.values_mut().for_each(shift);
        self.file_lines.values_mut().for_each(shift);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn text_of(line: &ChatLine) -> String {
        match &line.kind {
            LineKind::Message { text, .. } | LineKind::System(text) => text.clone(),
            other => format!("{other:?}"),
        }
    }

    fn kept(id: u64, text: &str, with: Option<&str>) -> KeptLine {
        KeptLine {
            time: format!("2026-12-01T10:00:{id:02}.000Z"),
            id,
            from: "dana".into(),
            text: text.into(),
            action: false,
            with: with.map(str::to_string),
        }
    }

    #[test]
    fn the_earlier_line_names_the_day_and_the_year_only_when_it_is_another() {
        let this_year = Local::now().year();
        let day = Local
            .with_ymd_and_hms(this_year, 12, 3, 18, 0, 0)
            .single()
            .unwrap();
        let weekday = day.format("%A").to_string();
        assert_eq!(earlier_line(day), format!("Earlier ({weekday} 3 December)"));
        let long_ago = Local
            .with_ymd_and_hms(2024, 12, 3, 18, 0, 0)
            .single()
            .unwrap();
        assert_eq!(earlier_line(long_ago), "Earlier (Tuesday 3 December 2024)");
    }

    #[test]
    fn kept_lines_go_above_the_live_ones_each_conversation_closed_by_its_earlier_line() {
        let mut chat = ChatState::new("bob");
        chat.add_pending(1, "typed now");
        chat.add_earlier(vec![
            kept(1, "room then", None),
            kept(2, "private then", Some("dana")),
            kept(1, "room then", None),
        ]);
        let texts: Vec<String> = chat.lines.iter().map(text_of).collect();
        assert_eq!(texts.len(), 5, "{texts:?}");
        assert_eq!(texts[0], "room then");
        assert!(texts[1].starts_with("Earlier ("), "{texts:?}");
        assert_eq!(texts[2], "private then");
        assert_eq!(chat.lines[2].with, ConversationKey::private("dana"));
        assert!(chat.conversations.has("dana"), "the private tab is back");
        assert_eq!(texts[4], "typed now");
        // The pending line moved down with its index: the echo still confirms it.
        assert_eq!(chat.pending[&1], 4);
        chat.forget_earlier();
        assert_eq!(chat.lines.len(), 1);
        assert_eq!(chat.pending[&1], 0);
    }

    #[test]
    fn a_host_history_of_kept_messages_only_adds_no_earlier_messages_line() {
        let replay = |chat: &mut ChatState, ids: &[u64]| {
            chat.apply(crate::network::client::ClientEvent::Connected {
                nick: "bob".into(),
                server: "Lab".into(),
                welcome: String::new(),
                users: vec!["bob".into()],
                resumed: false,
                history_complete: true,
                history: ids.len(),
                unencrypted: Vec::new(),
            });
            for &id in ids {
                let kept = kept(id, &format!("said {id}"), None);
                chat.apply(crate::network::client::ClientEvent::Message {
                    message: ChatMessage {
                        id,
                        time: kept.time,
                        from: kept.from,
                        text: kept.text,
                        client_id: None,
                        action: false,
                        to: None,
                    },
                    local_id: None,
                });
            }
        };
        let header = "Earlier messages (before you joined):";
        let mut chat = ChatState::new("bob");
        chat.add_earlier(vec![kept(1, "said 1", None), kept(2, "said 2", None)]);
        replay(&mut chat, &[1, 2]);
        let texts: Vec<String> = chat.lines.iter().map(text_of).collect();
        assert!(!texts.iter().any(|t| t == header), "{texts:?}");
        assert_eq!(texts.iter().filter(|t| *t == "said 1").count(), 1);

        let mut chat = ChatState::new("bob");
        chat.add_earlier(vec![kept(1, "said 1", None)]);
        replay(&mut chat, &[1, 2]);
        let texts: Vec<String> = chat.lines.iter().map(text_of).collect();
        let at = |line: &str| texts.iter().position(|t| t == line).unwrap();
        assert!(at("said 1") < at(header), "{texts:?}");
        assert_eq!(at(header) + 1, at("said 2"), "{texts:?}");
    }

    #[test]
    fn a_message_is_shown_once_whether_kept_or_replayed_first() {
        let message = |id: u64, text: &str| ChatMessage {
            id,
            time: format!("2026-12-01T10:00:{id:02}.000Z"),
            from: "dana".into(),
            text: text.into(),
            client_id: None,
            action: false,
            to: None,
        };
        let mut chat = ChatState::new("bob");
        chat.add_earlier(vec![kept(1, "kept first", None)]);
        assert!(!chat.first_sight(&message(1, "kept first"), &ConversationKey::Room));
        assert!(chat.first_sight(&message(2, "replayed first"), &ConversationKey::Room));
        chat.add_earlier(vec![kept(2, "replayed first", None)]);
        assert_eq!(
            chat.earlier_lines(),
            2,
            "one kept line and its Earlier line"
        );
        assert_eq!(
            chat.take_to_keep(),
            [kept(2, "replayed first", None)],
            "only what was new is kept again"
        );
    }
}
