//! What the chat is made of: one line ([`ChatLine`], its [`LineKind`], and for our own
//! messages their [`Delivery`]) and the state of the link the header shows ([`LinkState`],
//! [`Security`]). Plain data; turning events into it is `chat_state`'s.

use std::time::Instant;

use chrono::{DateTime, Local};

use crate::network::tls::Fingerprint;

/// Whether one of our own messages reached the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Typed, not yet confirmed; sent again after a reconnect.
    Pending,
    NotSent(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Message {
        /// Server id; `None` while pending or in plain mode.
        id: Option<u64>,
        from: String,
        text: String,
        delivery: Delivery,
        /// Set on our own messages.
        local_id: Option<u64>,
        /// An action ("/me waves"), shown as `* alice waves`.
        action: bool,
    },
    /// Joins, leaves, connection state: the app speaking.
    System(String),
    /// A line from a server in plain mode.
    Plain(String),
    /// A file on offer, ours or someone's: drawn from `ChatState::transfers[id]`; `summary`
    /// ("dana offers photo.jpg (2.1 MB)") stands for it in a saved log.
    File { id: String, summary: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// When it was written (our own lines: when we typed it, even if it went out later).
    pub time: DateTime<Local>,
    pub kind: LineKind,
    /// Our own line confirmed by the host in a later minute than it was written (queued while
    /// the link was down): when it was delivered.
    pub delivered_late: Option<DateTime<Local>>,
    /// The conversation it belongs to: the room, or the private one (the other person's
    /// nickname, followed through renames).
    pub with: super::ConversationKey,
}

impl ChatLine {
    pub fn new(time: DateTime<Local>, kind: LineKind) -> Self {
        ChatLine {
            time,
            kind,
            delivered_late: None,
            with: super::ConversationKey::Room,
        }
    }
}

/// The link as the chat view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting {
        attempt: u32,
    },
    Online,
    Plain,
    /// The link is down and the client keeps trying. `attempt` is the next (or current)
    /// reconnect attempt; `retry_at` is when it starts, `None` while it is under way.
    Reconnecting {
        error: String,
        attempt: u32,
        retry_at: Option<Instant>,
    },
    /// Gave up for good; `Leave` is the way out.
    Failed(String),
    /// We left (or stopped hosting): the chat is kept to read and save.
    Ended,
}

/// Whether the link to the host is encrypted, as the chat header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Not known yet (before the first link).
    Unknown,
    /// Encrypted with the host key `fingerprint` (its code is what people compare).
    Encrypted { fingerprint: Fingerprint },
    /// The host does not encrypt.
    Unencrypted,
}
