//! The chat session: the chat (its model, `ChatState`, with its conversations) and the client
//! that feeds it, the address and list room it was opened with, and the chat screen's own
//! questions (leave?, the rename box). Owns turning the client's events into the chat and into
//! [`News`] for the other features (notifications, trusted keys, recent hosts, the key
//! warning, the connect form's error); what a typed line does (`sending`); private
//! conversations and the log of the one shown (`private`).

use crossbeam_channel::Receiver;

use super::connect::{self, KeyWarning};
use crate::chat_state::{ChatState, ConversationKey, LineKind, LinkState};
use crate::network::WakeUp;
use crate::network::client::{self, ClientCommand, ClientError, ClientEvent, ClientHandle};
use crate::network::tls::Fingerprint;

mod private;
mod sending;

/// The chat shown (or being connected) and its link.
#[derive(Default)]
pub struct Session {
    chat: Option<ChatState>,
    client: Option<ClientHandle>,
    /// The address the chat was opened with (its pin: `Settings::pinned_address`).
    address: String,
    /// The `id` of the room the chat was joined through, from the list (its pin:
    /// `Settings::pinned_room`).
    room_id: Option<String>,
    next_local_id: u64,
    /// Stop hosting / Leave was clicked with others in the room: the window asks first.
    confirm_leave: bool,
    /// When the host ended the room: the window listens for it to be announced again after
    /// that, to join it again by itself (`NatterApp::pick_up_room`).
    room_ended_at: Option<std::time::Instant>,
    /// The rename box (opened by clicking your own name in the user list) and what it holds.
    rename_draft: Option<String>,
}

/// A message from someone else that arrived, for the notifications to weigh.
#[derive(Debug, Clone)]
pub(super) struct Arrived {
    pub from: String,
    pub text: String,
    pub action: bool,
    pub conversation: ConversationKey,
    pub mentions_me: bool,
    pub room: String,
}

/// What the client's events since the last frame mean for the rest of the window.
#[derive(Debug, Default)]
pub(super) struct News {
    /// Messages from others, in order.
    pub arrived: Vec<Arrived>,
    /// How many new messages came while the window was not focused.
    pub unseen: usize,
    /// The first Natter handshake of this chat.
    pub first_connect: bool,
    /// Keys the link was encrypted with, and where: the chat's address and list room.
    pub host_keys: Vec<Fingerprint>,
    pub address: String,
    pub room_id: Option<String>,
    /// The client stopped because of the host's key.
    pub key_warning: Option<KeyWarning>,
    /// The client ended before the link ever came up; `first_failure` says why, if it failed.
    pub ended_before_connecting: bool,
    pub first_failure: Option<ClientError>,
    /// The host said goodbye for good (`ClientError::RoomEnded`).
    room_ended: bool,
    /// The client ended: its handle can go.
    pub ended: bool,
}

impl News {
    /// The host ended the room (its goodbye said so).
    pub fn room_ended(&self) -> bool {
        self.room_ended
    }
}

impl Session {
    pub fn chat(&self) -> Option<&ChatState> {
        self.chat.as_ref()
    }

    pub fn chat_mut(&mut self) -> Option<&mut ChatState> {
        self.chat.as_mut()
    }

    /// Whether the chat view is up: the link came up once, or this is the host's own chat.
    pub fn in_chat(&self, hosting: bool) -> bool {
        self.chat
            .as_ref()
            .is_some_and(|chat| chat.ever_connected || hosting)
    }

    /// Whether the chat was left or hosting stopped: readable and saveable, nothing is sent.
    pub fn ended(&self) -> bool {
        self.chat
            .as_ref()
            .is_some_and(|c| matches!(c.link, LinkState::Ended))
    }

    /// Whether files can be offered now: a Natter host (not plain text) and the link up.
    pub fn can_send_files(&self) -> bool {
        self.client.is_some()
            && self
                .chat
                .as_ref()
                .is_some_and(|c| c.link == LinkState::Online)
    }

    /// How many other people leaving or stopping would cut off: those in the room while the
    /// link is up (or coming back).
    pub fn others_in_room(&self) -> usize {
        match &self.chat {
            Some(chat)
                if matches!(
                    chat.link,
                    LinkState::Online | LinkState::Reconnecting { .. }
                ) =>
            {
                chat.users.len().saturating_sub(1)
            }
            _ => 0,
        }
    }

    pub fn confirm_leave(&self) -> bool {
        self.confirm_leave
    }

    /// The chat, and the rename box under the user list (`None` while it is closed).
    pub fn chat_and_rename_draft(&mut self) -> (Option<&ChatState>, &mut Option<String>) {
        (self.chat.as_ref(), &mut self.rename_draft)
    }

    pub(super) fn set_confirm_leave(&mut self, ask: bool) {
        self.confirm_leave = ask;
    }

    /// The client is still there (it may be reconnecting).
    pub(super) fn is_live(&self) -> bool {
        self.client.is_some()
    }

    pub(super) fn set_chat(&mut self, chat: ChatState) {
        self.chat = Some(chat);
    }

    /// A new chat with `options`' address and nickname, and its client started.
    pub(super) fn open(
        &mut self,
        options: client::ConnectOptions,
        wake: WakeUp,
    ) -> std::io::Result<()> {
        self.chat = Some(ChatState::new(&options.nick));
        self.address = options.address.clone();
        self.room_id = None;
        match client::connect(options, wake) {
            Ok(handle) => {
                self.client = Some(handle);
                Ok(())
            }
            Err(e) => {
                self.chat = None;
                Err(e)
            }
        }
    }

    /// A new client for the chat shown (Reconnect): the conversation stays, the link starts
    /// over. With no chat, or a client still running, nothing happens.
    pub(super) fn reopen(
        &mut self,
        options: client::ConnectOptions,
        wake: WakeUp,
    ) -> std::io::Result<()> {
        let Some(chat) = &mut self.chat else {
            return Ok(());
        };
        if self.client.is_some() {
            return Ok(());
        }
        self.client = Some(client::connect(options, wake)?);
        chat.link = LinkState::Connecting { attempt: 1 };
        self.room_ended_at = None;
        Ok(())
    }

    /// The host ended the room now: wait for it to be announced again.
    pub(super) fn room_ended(&mut self) {
        self.room_ended_at = Some(std::time::Instant::now());
    }

    /// Since when the window waits for the ended room to be announced again, while it does
    /// (the chat is still there, no client runs).
    pub(super) fn waiting_for_room(&self) -> Option<std::time::Instant> {
        self.room_ended_at
            .filter(|_| self.client.is_none())
            .filter(|_| {
                self.chat
                    .as_ref()
                    .is_some_and(|c| matches!(c.link, LinkState::Failed(_)))
            })
    }

    /// The address the chat was opened with.
    pub(super) fn address(&self) -> &str {
        &self.address
    }

    /// The room joined from the list, by its `id`, if it was.
    pub(super) fn room_id(&self) -> Option<&str> {
        self.room_id.as_deref()
    }

    /// The chat was opened from the list's room `id` (its key is pinned for the room too).
    pub(super) fn joined_from_list(&mut self, id: Option<String>) {
        self.room_id = id;
    }

    /// The host's own chat in its own room: its link needs no word in the chat.
    pub(super) fn own_room(&mut self) {
        if let Some(chat) = &mut self.chat {
            chat.own_room = true;
        }
    }

    /// The client, to stop (on a background thread: saying bye may take a moment).
    pub(super) fn take_client(&mut self) -> Option<ClientHandle> {
        self.client.take()
    }

    /// The client's threads have finished: dropping the handle only joins them.
    pub(super) fn client_ended(&mut self) {
        self.client = None;
    }

    pub(super) fn send_command(&self, command: ClientCommand) {
        if let Some(client) = &self.client {
            client.send(command);
        }
    }

    /// No chat any more (Cancel, a first connection that failed, New chat).
    pub(super) fn close(&mut self) {
        self.chat = None;
    }

    /// The window is focused: the conversation shown has been read.
    pub(super) fn seen(&mut self) {
        if let Some(chat) = &mut self.chat {
            chat.conversations.seen();
        }
    }

    /// Left (or hosting stopped): a chat that was ever up stays, marked as ended, until the
    /// person closes it; one that never connected goes at once.
    pub(super) fn end(&mut self, was_hosting: bool, was_live: bool) {
        self.confirm_leave = false;
        match &mut self.chat {
            Some(chat) if chat.ever_connected => {
                if !matches!(chat.link, LinkState::Ended) {
                    chat.end(if was_hosting {
                        "You stopped hosting. The chat stays here to read and save."
                    } else if was_live {
                        "You left the chat. It stays here to read and save."
                    } else {
                        "You closed the connection. The chat stays here to read and save."
                    });
                }
            }
            _ => self.chat = None,
        }
    }

    /// Applies what the client said since the last frame to the chat, and says what it means
    /// for the rest of the window. `None`: no client (or no chat) to hear from.
    pub(super) fn drain(&mut self, focused: bool) -> Option<News> {
        let (Some(client), Some(chat)) = (&self.client, &mut self.chat) else {
            return None;
        };
        let events = pending_events(client.events());
        let mut news = News {
            address: self.address.clone(),
            room_id: self.room_id.clone(),
            ..News::default()
        };
        for event in events {
            let failure = match &event {
                ClientEvent::Failed(error) => Some(error.clone()),
                _ => None,
            };
            if let Some(warning) = failure
                .as_ref()
                .and_then(|e| connect::key_warning(e, &self.address, &chat.my_nick))
            {
                news.key_warning = Some(KeyWarning {
                    room_id: self.room_id.clone(),
                    ..warning
                });
            }
            let applied = chat.apply(event);
            if let Some(line) = applied.new_line.and_then(|i| chat.lines.get(i)) {
                let conversation = line.with.clone();
                if let LineKind::Message {
                    from, text, action, ..
                } = &line.kind
                {
                    news.arrived.push(Arrived {
                        from: from.clone(),
                        text: text.clone(),
                        action: *action,
                        conversation: conversation.clone(),
                        mentions_me: crate::mentions::mentions(text, &chat.my_nick),
                        room: chat.room.clone(),
                    });
                }
                chat.conversations.arrived(&conversation, focused);
            }
            news.first_connect |= applied.first_connect;
            news.host_keys.extend(applied.host_key);
            if applied.new_message && !focused {
                news.unseen += 1;
            }
            if applied.ended {
                news.ended = true;
                news.room_ended |= matches!(failure, Some(ClientError::RoomEnded));
                if !chat.ever_connected {
                    news.first_failure = failure;
                    news.ended_before_connecting = true;
                }
            }
        }
        Some(news)
    }
}

/// What the client said since the last look, without waiting.
fn pending_events(events: &Receiver<ClientEvent>) -> Vec<ClientEvent> {
    events.try_iter().collect()
}
