//! The chat as the window knows it: lines, who is online, what is pending, how the link is.
//!
//! Owns turning [`ClientEvent`]s into lines and list changes, and the visible side of the
//! unconfirmed messages (pending and not-sent marks). Its conversations (`conversations`: the
//! one owner of each one's draft, unread count and name) and its shared files
//! (`shared_files`, fed by `files`) are its parts. Draws nothing, touches no socket, and
//! imports nothing of `app` or `ui`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use crate::network::client::ClientEvent;
use crate::network::protocol::{ChatMessage, RoomRoles};
use crate::network::tls::Fingerprint;

mod conversations;
mod earlier;
mod files;
mod line;
mod presence;
mod shared_files;

pub use conversations::{ConversationId, ConversationKey, Conversations};
pub use earlier::{KeptLine, earlier_line};
pub use line::{ChatLine, Delivery, LineKind, LinkState, Security};
pub use shared_files::{
    Change, Incoming, Outgoing, Progress, Receiver, SharedFile, SharedFiles, Side,
};

/// What one event changed, for the app to react to (attention, recent hosts, screens).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// A message from someone else arrived.
    pub new_message: bool,
    /// Where in `lines` that message is (its conversation, sender and text: notifications).
    pub new_line: Option<usize>,
    /// The first Natter handshake of this chat (plain hosts never set it: they are not
    /// remembered as recent hosts).
    pub first_connect: bool,
    /// The client ended (failed or closed): its handle can go.
    pub ended: bool,
    /// The host key this link was encrypted with: the app remembers it for the host.
    pub host_key: Option<Fingerprint>,
}

#[derive(Debug)]
pub struct ChatState {
    pub lines: Vec<ChatLine>,
    /// Everyone online, including us, in join order.
    pub users: Vec<String>,
    /// Those of `users` whose link to the host is not encrypted.
    pub unencrypted: HashSet<String>,
    pub security: Security,
    /// This is the host's own chat in its own room: its link needs no word in the chat.
    pub own_room: bool,
    /// The room and the private conversations (by the other person's nickname, followed
    /// through renames), which one is shown, and each one's draft and unread count.
    pub conversations: Conversations,
    pub my_nick: String,
    pub room: String,
    pub link: LinkState,
    /// Whether the link ever came up; before that, failures belong to the Connect tab.
    pub ever_connected: bool,
    pending: HashMap<u64, usize>,
    /// First connect with history: the history messages still to come, and the
    /// "Connected… / welcome" lines that follow them.
    history_left: usize,
    connected_lines: Vec<String>,
    /// The name asked for with `/nick`, until the answer comes: if the host gave another
    /// (taken, so `bob-2`), the chat says so.
    wanted_nick: Option<String>,
    /// Files offered in this chat, ours and others' (each has one `LineKind::File` line).
    pub files: SharedFiles,
    /// Where each file's line is in `lines`, to keep its summary up to date.
    file_lines: HashMap<String, usize>,
    /// Who runs the room (host, co-hosts), our own role, the lecture and our mute, as the
    /// host last said (`roles` frames); followed through renames.
    pub roles: RoomRoles,
    /// What is kept on disk and shown again from earlier visits (`earlier`).
    kept: earlier::Kept,
}

impl ChatState {
    pub fn new(my_nick: &str) -> Self {
        ChatState {
            lines: Vec::new(),
            users: Vec::new(),
            unencrypted: HashSet::new(),
            security: Security::Unknown,
            own_room: false,
            conversations: Conversations::default(),
            my_nick: my_nick.to_string(),
            room: String::new(),
            link: LinkState::Connecting { attempt: 1 },
            ever_connected: false,
            pending: HashMap::new(),
            roles: RoomRoles::default(),
            history_left: 0,
            connected_lines: Vec::new(),
            wanted_nick: None,
            files: Default::default(),
            file_lines: HashMap::new(),
            kept: Default::default(),
        }
    }

    pub fn system(&mut self, text: impl Into<String>) {
        self.push(Local::now(), LineKind::System(text.into()));
    }

    /// A line of the app's own in the conversation shown (an answer to what was typed there).
    pub fn system_in_shown(&mut self, text: impl Into<String>) {
        let mut line = ChatLine::new(Local::now(), LineKind::System(text.into()));
        line.with = self.conversations.shown().clone();
        self.lines.push(line);
    }

    fn push(&mut self, time: DateTime<Local>, kind: LineKind) {
        self.lines.push(ChatLine::new(time, kind));
    }

    /// Shows a line we typed as pending until the server confirms it.
    pub fn add_pending(&mut self, local_id: u64, text: &str) {
        self.add_pending_line(local_id, text, false);
    }

    /// Like [`ChatState::add_pending`]; `action` for "/me waves".
    pub fn add_pending_line(&mut self, local_id: u64, text: &str, action: bool) {
        self.pending.insert(local_id, self.lines.len());
        self.push(
            Local::now(),
            LineKind::Message {
                id: None,
                from: self.my_nick.clone(),
                text: text.to_string(),
                delivery: Delivery::Pending,
                local_id: Some(local_id),
                action,
            },
        );
    }

    /// Like [`ChatState::add_pending`], for a private message to `to` (its conversation).
    pub fn add_pending_private(&mut self, local_id: u64, to: &str, text: &str, action: bool) {
        self.open_conversation(to);
        self.add_pending_line(local_id, text, action);
        if let Some(line) = self.lines.last_mut() {
            line.with = ConversationKey::private(to);
        }
    }

    /// Adds a private conversation with `nick`, if there is none yet.
    pub fn open_conversation(&mut self, nick: &str) {
        self.conversations.open(nick);
    }

    /// The lines of one conversation, in order.
    pub fn lines_of<'a>(&'a self, with: &'a ConversationKey) -> impl Iterator<Item = &'a ChatLine> {
        self.lines.iter().filter(move |l| l.with == *with)
    }

    /// Adds a line of the app's own to the conversation with `nick`, if there is one.
    fn tell_conversation(&mut self, nick: &str, time: DateTime<Local>, text: String) {
        if self.conversations.has(nick) {
            let mut line = ChatLine::new(time, LineKind::System(text));
            line.with = ConversationKey::private(nick);
            self.lines.push(line);
        }
    }

    /// We asked the host for this nickname (`/nick`); see `wanted_nick`.
    pub fn asked_for_nick(&mut self, nick: &str) {
        self.wanted_nick = Some(nick.to_string());
    }

    /// How many of our lines wait for confirmation.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    pub fn apply(&mut self, event: ClientEvent) -> Applied {
        let mut applied = Applied::default();
        if !matches!(event, ClientEvent::Message { .. }) {
            // History is only ever followed by live events: whatever is missing is not coming.
            self.end_history();
        }
        match event {
            ClientEvent::FileOffering { .. }
            | ClientEvent::FileOffered { .. }
            | ClientEvent::FileProgress { .. }
            | ClientEvent::FileSaved { .. }
            | ClientEvent::FileDelivered { .. }
            | ClientEvent::FileDeclined { .. }
            | ClientEvent::FileStopped { .. } => self.on_file_event(event, &mut applied),
            ClientEvent::Connecting { attempt, .. } => self.on_connecting(attempt),
            ClientEvent::Encrypted {
                fingerprint,
                first_time,
            } => {
                applied.host_key = Some(fingerprint);
                self.on_encrypted(fingerprint, first_time);
            }
            ClientEvent::Unencrypted => self.on_unencrypted(),
            ClientEvent::Connected {
                nick,
                server,
                welcome,
                users,
                unencrypted,
                resumed,
                history_complete,
                history,
            } => {
                applied.first_connect = !self.ever_connected;
                self.unencrypted = unencrypted.into_iter().collect();
                self.on_connected(nick, server, welcome, users, history);
                if applied.first_connect {
                    return applied;
                }
                self.on_reconnected(resumed, history_complete);
            }
            ClientEvent::PlainMode {
                address,
                looks_like,
            } => self.on_plain_mode(address, looks_like),
            ClientEvent::Message { message, local_id } => {
                applied.new_message = self.on_message(message, local_id);
                applied.new_line = applied.new_message.then(|| self.lines.len() - 1);
                if self.history_left > 0 {
                    self.history_left -= 1;
                    if self.history_left == 0 {
                        self.end_history();
                    }
                }
            }
            ClientEvent::PlainText(text) => {
                applied.new_message = true;
                self.push(Local::now(), LineKind::Plain(text));
            }
            ClientEvent::Joined {
                nick,
                time,
                unencrypted,
            } => self.on_joined(nick, &time, unencrypted),
            ClientEvent::EncryptionChanged {
                nick,
                unencrypted,
                time,
            } => self.on_encryption_changed(nick, unencrypted, &time),
            ClientEvent::Left {
                nick,
                reason,
                detail,
                time,
            } => self.on_left(nick, reason, &detail, &time),
            ClientEvent::Renamed { from, to, time } => self.on_renamed(&from, to, &time),
            ClientEvent::NotSent { local_id, reason } => self.on_not_sent(local_id, reason),
            ClientEvent::Warning(text) => self.system(text),
            ClientEvent::Moderation(notice) => {
                self.push(parse_time(&notice.time), LineKind::System(notice.text));
            }
            ClientEvent::Roles(roles) => self.roles = roles,
            ClientEvent::Notice(text) => self.system(text),
            ClientEvent::LinkLost {
                error,
                attempt,
                retry_in,
            } => self.on_link_lost(&error, attempt, retry_in),
            ClientEvent::Failed(error) => {
                applied.ended = true;
                self.on_failed(error.to_string());
            }
            ClientEvent::Closed => applied.ended = true,
        }
        applied
    }

    /// A new attempt. While reconnecting it updates the status in place (no chat line).
    fn on_connecting(&mut self, attempt: u32) {
        match &mut self.link {
            LinkState::Reconnecting {
                attempt: shown,
                retry_at,
                ..
            } => {
                *shown = attempt;
                *retry_at = None;
            }
            link => *link = LinkState::Connecting { attempt },
        }
    }

    /// Joined (first time or again): who we are, where, and who is here. The first time also
    /// says so, with the room's welcome: after the history when there is some, which is set
    /// apart by an "Earlier messages" line, so the room's past never reads as news after
    /// "Connected".
    fn on_connected(
        &mut self,
        nick: String,
        server: String,
        welcome: String,
        users: Vec<String>,
        history: usize,
    ) {
        let first = !self.ever_connected;
        self.ever_connected = true;
        self.link = LinkState::Online;
        // We asked for `my_nick`; a taken name comes back as `bob-2`. Said at once, plainly.
        let asked = std::mem::replace(&mut self.my_nick, nick.clone());
        if asked != nick {
            self.system(presence::taken_notice(&asked, &nick));
        }
        self.room = server.clone();
        self.users = users;
        if first {
            self.connected_lines = vec![format!("Connected to {server} as {nick}.")];
            if !welcome.is_empty() {
                self.connected_lines.push(welcome);
            }
            if history > 0 {
                // Said with the first of them not shown already (`earlier`).
                self.kept.history_header = true;
                self.history_left = history;
            } else {
                self.end_history();
            }
        }
    }

    /// The history is in (or will not come): now say that we are connected.
    fn end_history(&mut self) {
        self.history_left = 0;
        self.kept.history_header = false;
        for text in std::mem::take(&mut self.connected_lines) {
            self.system(text);
        }
    }

    /// Back after a lost link: what is being re-sent and whether anything was missed.
    fn on_reconnected(&mut self, resumed: bool, history_complete: bool) {
        self.files.host_back(resumed);
        let pending = self.pending.len();
        let mut text = "Reconnected.".to_string();
        if pending > 0 {
            text.push_str(&format!(" Sending {pending} waiting message(s)."));
        }
        if !history_complete {
            text.push_str(
                " Some messages from while you were away are no longer kept by the host.",
            );
        } else if !resumed {
            text.push_str(" The host restarted, so earlier messages are not repeated.");
        }
        self.system(text);
    }

    /// A host that does not speak Natter: said once, with what it seems to be; a reconnect to
    /// it says only that the link is back.
    fn on_plain_mode(&mut self, address: String, looks_like: Option<String>) {
        let first = !self.ever_connected;
        let was_down = matches!(self.link, LinkState::Reconnecting { .. });
        self.ever_connected = true;
        self.link = LinkState::Plain;
        self.room = address.clone();
        self.users.clear();
        if first {
            let seems = looks_like
                .map(|what| format!(" (it answered like {what})"))
                .unwrap_or_default();
            self.system(format!(
                "{address} is not a Natter host{seems}: plain mode. What you type is sent as plain text lines; what the host sends is shown as it comes."
            ));
        } else if was_down {
            self.system("Reconnected (plain mode).");
        }
    }

    /// A chat message: confirms our own pending line, or adds a new one. Returns whether it is
    /// someone else's new message (which counts as unread).
    fn on_message(&mut self, message: ChatMessage, local_id: Option<u64>) -> bool {
        let time = parse_time(&message.time);
        let id = (message.id > 0).then_some(message.id);
        let confirmed = local_id.and_then(|local| self.pending.remove(&local));
        if let Some(with) = confirmed
            .and_then(|index| self.lines.get(index))
            .map(|l| l.with.clone())
        {
            self.first_sight(&message, &with);
        }
        if let Some(line) = confirmed.and_then(|index| self.lines.get_mut(index)) {
            if let LineKind::Message {
                id: line_id,
                delivery,
                ..
            } = &mut line.kind
            {
                *line_id = id;
                *delivery = Delivery::Delivered;
            }
            // The line keeps the time it was written; a later minute is shown next to it.
            let now = Local::now();
            if now.format("%Y-%m-%d %H:%M").to_string()
                != line.time.format("%Y-%m-%d %H:%M").to_string()
            {
                line.delivered_late = Some(now);
            }
            return false;
        }
        // A private message belongs to the conversation with the other one of its two people.
        let with = match message.to.clone() {
            Some(to) if message.from == self.my_nick => ConversationKey::Private(to),
            Some(_) => ConversationKey::private(message.from.clone()),
            None => ConversationKey::Room,
        };
        // Shown already: kept from an earlier visit, or replayed again by the host.
        if !self.first_sight(&message, &with) {
            return false;
        }
        if std::mem::take(&mut self.kept.history_header) {
            self.system("Earlier messages (before you joined):");
        }
        if let Some(nick) = with.nick() {
            self.conversations.open(nick);
        }
        let kind = LineKind::Message {
            id,
            from: message.from,
            text: message.text,
            delivery: Delivery::Delivered,
            local_id,
            action: message.action,
        };
        self.push(time, kind);
        if let Some(line) = self.lines.last_mut() {
            line.with = with;
        }
        local_id.is_none()
    }

    /// The link is encrypted. Said in the chat only when it matters: the first time this
    /// host's key is seen (compare the code), or when a host that did not encrypt now does.
    fn on_encrypted(&mut self, fingerprint: Fingerprint, first_time: bool) {
        let was = std::mem::replace(&mut self.security, Security::Encrypted { fingerprint });
        if self.own_room || (self.ever_connected && was != Security::Unencrypted) {
            return;
        }
        if first_time {
            self.system(format!(
                "New host: compare this code with the host's screen: {}. If they differ, \
                 leave: someone may be posing as the host.",
                fingerprint.code()
            ));
        } else {
            self.system(format!(
                "Encrypted. The host's code {} is the one you trusted before.",
                fingerprint.code()
            ));
        }
    }

    fn on_unencrypted(&mut self) {
        let was = std::mem::replace(&mut self.security, Security::Unencrypted);
        if was != Security::Unencrypted {
            self.system(
                "This host does not encrypt: anyone on the network can read this chat and \
                 pose as the host.",
            );
        }
    }

    fn on_not_sent(&mut self, local_id: u64, reason: String) {
        if let Some(index) = self.pending.remove(&local_id)
            && let Some(LineKind::Message { delivery, .. }) =
                self.lines.get_mut(index).map(|l| &mut l.kind)
        {
            *delivery = Delivery::NotSent(reason);
        }
    }

    /// The link is down, or one more attempt failed. Only the first says so in the chat;
    /// later ones update the status line in place.
    fn on_link_lost(&mut self, error: &impl std::fmt::Display, attempt: u32, retry_in: Duration) {
        self.files.host_away();
        if !matches!(self.link, LinkState::Reconnecting { .. }) {
            self.system(format!("{error} Reconnecting…"));
        }
        self.link = LinkState::Reconnecting {
            error: error.to_string(),
            attempt: attempt.saturating_add(1),
            retry_at: Some(Instant::now() + retry_in),
        };
    }

    /// Whether the link is down while the client keeps trying (the user list is last seen).
    /// We left: says so and marks the chat ended (see [`LinkState::Ended`]).
    pub fn end(&mut self, text: &str) {
        self.pending.clear();
        for line in &mut self.lines {
            if let LineKind::Message { delivery, .. } = &mut line.kind
                && *delivery == Delivery::Pending
            {
                *delivery = Delivery::NotSent("you left before it was delivered".into());
            }
        }
        self.system(text);
        self.link = LinkState::Ended;
    }

    pub fn link_down(&self) -> bool {
        matches!(self.link, LinkState::Reconnecting { .. } | LinkState::Ended)
            || (self.ever_connected && matches!(self.link, LinkState::Failed(_)))
    }

    fn on_failed(&mut self, text: String) {
        if self.ever_connected {
            self.system(format!(
                "{text} Natter stopped trying: Reconnect tries again, Leave ends the chat."
            ));
        }
        self.link = LinkState::Failed(text);
    }

    /// Seconds until the next reconnect attempt, for the status line.
    pub fn retry_in(&self) -> Option<Duration> {
        match &self.link {
            LinkState::Reconnecting {
                retry_at: Some(retry_at),
                ..
            } => Some(retry_at.saturating_duration_since(Instant::now())),
            _ => None,
        }
    }
}

/// Server time (RFC 3339) in local time; an unreadable stamp becomes "now".
fn parse_time(rfc3339: &str) -> DateTime<Local> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&Local))
        .unwrap_or_else(|_| Local::now())
}

#[cfg(test)]
mod tests;
