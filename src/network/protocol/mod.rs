//! The Natter wire protocol: frames in both directions, the line codec, and the limits.
//!
//! Owns what crosses the wire and nothing else: no sockets, no threads. docs/PROTOCOL.md is the
//! human-readable twin of this file; a change here is a change there.
//!
//! Frames are typed by direction: [`ClientFrame`] travels client → server, [`ServerFrame`]
//! server → client. Each is one JSON object on one line, tagged by its `"type"` field.

use serde::{Deserialize, Serialize};

pub mod chunk_line;
mod codec;
mod file_data;
mod file_frames;
mod moderation_frames;

pub use codec::*;
pub use file_data::*;
pub use file_frames::*;
pub use moderation_frames::*;

/// Version spoken by this build. A server refuses a `hello` with any other version.
pub const PROTOCOL_VERSION: u32 = 1;
/// The port a server listens on and a client dials when none is given.
pub const DEFAULT_PORT: u16 = 5050;
/// Longest line (JSON frame or plain-text line) a server accepts, newline excluded.
/// Announced in `welcome`; a longer line is answered with `line_too_long` and a close.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Longest `client_id` a client may attach to a `chat`, in bytes; a longer one is `bad_frame`.
pub const MAX_CLIENT_ID_BYTES: usize = 64;
/// Every server accepts at least this long a line, so a client may send `hello` before it has
/// read `welcome`.
pub const MIN_LINE_BYTES: usize = 4 * 1024;
/// Messages kept for late joiners and resuming clients.
pub const HISTORY_LEN: usize = 200;

/// Frames a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame of a Natter client, sent at once on connect (see "Dialects" in PROTOCOL.md).
    Hello {
        version: u32,
        nick: String,
        /// Present when the client comes back after a dropped link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
        /// What this client understands beyond version 1's frames (see [`FEATURE_PRESENCE`]).
        /// Absent means none; servers ignore names they do not know.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        features: Vec<String>,
    },
    /// A message for everyone. `client_id` is echoed back in the sender's copy only.
    Chat {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// An action ("/me waves"): shown as `* alice waves`. Absent means false, so peers
        /// that do not know the field ignore it and see an ordinary message.
        #[serde(default, skip_serializing_if = "is_false")]
        action: bool,
        /// A private message for this nickname alone (see "Private messages" in
        /// PROTOCOL.md). Absent means a message for everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// Ask for another nickname.
    Nick {
        nick: String,
    },
    Ping {},
    Pong {},
    /// Leaving on purpose; the server answers nothing and closes.
    Bye {},
    /// Offers a file to the room or to one person (§13).
    FileOffer(OfferRequest),
    /// Asks for the offered file `id`, from byte `offset` (0, or where a dropped delivery
    /// stopped).
    FileAccept {
        id: String,
        offset: u64,
    },
    /// Does not want the offered file `id`.
    FileDecline {
        id: String,
    },
    /// The sender's data for one delivery: `data` is base64 of at most [`CHUNK_BYTES`] bytes
    /// starting at `offset`.
    FileChunk {
        delivery: u64,
        offset: u64,
        data: String,
    },
    /// The receiver has the first `offset` bytes of file `id` on its disk.
    FileAck {
        id: String,
        offset: u64,
    },
    /// The receiver has all of file `id` and its SHA-256 matched.
    FileDone {
        id: String,
    },
    /// Stops a transfer: the receiver names the file (`id`); the sender names one
    /// `delivery`, or the file `id` to withdraw the offer from everyone.
    FileCancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<u64>,
        #[serde(default)]
        reason: String,
    },
    /// The hosting window's own link proves it is the host's (§15): `token` is the secret the
    /// server was started with. Anyone else's is refused with `not_allowed`.
    HostToken {
        token: String,
    },
    /// A host or co-host runs the room (§15): mute, kick, ban…
    Moderate(ModCommand),
}

/// What a client that lost its link says to pick up where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The `session` from the `accepted` frame of the earlier connection.
    pub session: String,
    /// Id of the last chat message this client saw (0 if none).
    pub last_id: u64,
}

/// Frames a server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The server's first frame to a Natter client.
    Welcome {
        server: String,
        version: u32,
        max_line_bytes: usize,
        ping_interval_secs: u64,
        idle_timeout_secs: u64,
        text: String,
        /// What this host carries in files (absent: it carries none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files: Option<FileLimits>,
    },
    /// Answer to `hello`: the client is in the room. Exactly `history_count` `chat` frames
    /// follow at once, oldest first; live traffic comes after them.
    Accepted {
        nick: String,
        session: String,
        users: Vec<String>,
        history_count: usize,
        /// True when `hello` carried a session this server issued: history then holds
        /// exactly the messages after `last_id`.
        resumed: bool,
        /// False when a resuming client missed more than the server still keeps.
        history_complete: bool,
        /// Members (of `users`) whose link is not encrypted; absent when none is, or when
        /// the host speaks no TLS at all.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unencrypted: Vec<String>,
    },
    Chat(ChatMessage),
    Join {
        nick: String,
        time: String,
        /// The newcomer's link is not encrypted (on a host that offers TLS); absent: it is.
        #[serde(default, skip_serializing_if = "is_false")]
        unencrypted: bool,
    },
    Leave {
        nick: String,
        reason: LeaveReason,
        detail: String,
        time: String,
    },
    /// A member's link changed: its stay came back (resumed) over a link that is not encrypted
    /// (`unencrypted` true) or, after such a link, over an encrypted one (false). Sent only to
    /// clients whose `hello` listed [`FEATURE_ENCRYPTION`].
    Encryption {
        nick: String,
        unencrypted: bool,
        time: String,
    },
    Nick {
        from: String,
        to: String,
        time: String,
    },
    Ping {},
    Pong {},
    Error {
        code: ErrorCode,
        message: String,
        /// Set when the error refuses one particular `chat` frame.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// The server is going away (it is stopping); the connection closes after this.
    /// `ended`: the person hosting ended the room (Stop hosting, or closed the window), so
    /// clients stop redialling; without it the host may be restarting and clients come back.
    Bye {
        reason: String,
        #[serde(default, skip_serializing_if = "is_false")]
        ended: bool,
    },
    /// Several joins and leaves that came in a burst, in order, as one frame (`time`: when
    /// the batch was sent). Sent only to clients whose `hello` listed [`FEATURE_PRESENCE`];
    /// others get one `join`/`leave` frame each.
    Presence {
        time: String,
        events: Vec<PresenceEvent>,
    },
    /// A file someone offers (to a client that listed [`FEATURE_FILES`]).
    FileOffer(FileOffer),
    /// To the sender: `by` asks for file `id` from `offset`; send it as `delivery`. A new
    /// `file_accept` for a delivery already under way restarts it from its `offset`.
    FileAccept {
        id: String,
        delivery: u64,
        by: String,
        offset: u64,
    },
    /// To the sender: `by` does not want file `id`.
    FileDecline {
        id: String,
        by: String,
    },
    /// To the receiver: file data, as the sender sent it.
    FileChunk {
        id: String,
        offset: u64,
        data: String,
    },
    /// To the sender: the receiver of `delivery` has its first `offset` bytes.
    FileAck {
        delivery: u64,
        offset: u64,
    },
    /// To the sender: the receiver of `delivery` has the whole file, checked.
    FileDone {
        delivery: u64,
    },
    /// A transfer stopped: `by` (a nickname) stopped it, or the host did (`by` empty).
    /// To a receiver: `id`; to the sender: `id` and `delivery`.
    FileCancel {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<u64>,
        by: String,
        reason: String,
    },
    /// Someone ran the room: one calm line (§15). Only to clients that listed
    /// [`FEATURE_MODERATION`].
    Moderation(ModNotice),
    /// The room's roles as this client sees them (§15), after `accepted` and on each change.
    Roles(RoomRoles),
    /// A line for this client alone: the answer to `/bans`, or what a command did.
    Notice {
        text: String,
    },
}

/// The `accepted` frame with borrowed fields, for the server: byte for byte what
/// [`ServerFrame::Accepted`] encodes to, without copying a crowd's member list per joiner.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "accepted")]
pub struct AcceptedRef<'a> {
    pub nick: &'a str,
    pub session: &'a str,
    pub users: Vec<&'a str>,
    pub history_count: usize,
    pub resumed: bool,
    pub history_complete: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unencrypted: Vec<&'a str>,
}

/// A hello feature: the client understands `presence` frames.
pub const FEATURE_PRESENCE: &str = "presence";

/// A hello feature: the client understands `encryption` frames.
pub const FEATURE_ENCRYPTION: &str = "encryption";

/// One join or leave inside a `presence` frame, kept short (a storm sends every join to
/// everyone): `{"join":"dana"}` or `{"leave":"dana","reason":"left","detail":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PresenceEvent {
    Join {
        join: String,
        #[serde(default, skip_serializing_if = "is_false")]
        unencrypted: bool,
    },
    Leave {
        leave: String,
        reason: LeaveReason,
        detail: String,
    },
}

/// One chat message as the server stored and relayed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Server-assigned, strictly increasing, never reused while the server runs.
    pub id: u64,
    /// When the server accepted it: RFC 3339, UTC, e.g. `2026-11-23T09:30:00.123Z`.
    pub time: String,
    pub from: String,
    pub text: String,
    /// Only in the sender's own copy: the id the sender attached to its `chat` frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// An action ("/me waves"), shown as `* alice waves`; absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub action: bool,
    /// Set on a private message: the nickname it was sent to. Only the sender and that person
    /// ever get it, live, in history or on resume; absent means a message for everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A `chat` frame encoded from a borrowed message: the same bytes as [`ServerFrame::Chat`]
/// with `client_id` set to the one given (the sender's own copy) or left out. The host
/// encodes one or two of these for every message it relays; copying the message into a
/// `ServerFrame` first cost a tenth of its time in a small busy room.
#[derive(Serialize)]
#[serde(tag = "type", rename = "chat")]
pub struct ChatRef<'a> {
    id: u64,
    time: &'a str,
    from: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    action: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<&'a str>,
}

impl<'a> ChatRef<'a> {
    /// `message` as a frame, carrying `client_id` instead of the message's own.
    pub fn new(message: &'a ChatMessage, client_id: Option<&'a str>) -> ChatRef<'a> {
        ChatRef {
            id: message.id,
            time: &message.time,
            from: &message.from,
            text: &message.text,
            client_id,
            action: message.action,
            to: message.to.as_deref(),
        }
    }
}

/// For serde: leave a false flag out of the frame, so old peers see nothing new.
fn is_false(flag: &bool) -> bool {
    !*flag
}

/// Why someone left the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// Sent `bye` (or typed `exit`), or closed the socket.
    Left,
    /// Said nothing for longer than the idle timeout.
    TimedOut,
    /// Removed by the server for breaking a rule or a limit; `detail` says which.
    Dropped,
    /// The same session connected again; the old link was closed.
    Replaced,
    /// The server stopped.
    ServerStopped,
}

/// Error codes of `error` frames. The list in PROTOCOL.md matches this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadUtf8,
    BadJson,
    BadFrame,
    UnknownType,
    LineTooLong,
    NotReady,
    AlreadyJoined,
    VersionMismatch,
    BadNick,
    HandshakeTimeout,
    IdleTimeout,
    RoomFull,
    TooManyConnections,
    TooManyJoins,
    RateLimited,
    Flooding,
    EmptyText,
    /// The message would make a line longer than `max_line_bytes` once relayed.
    TextTooLong,
    /// A private message named nobody in the room (or someone who took that name moments ago).
    NotOnline,
    /// A private message to oneself.
    ToYourself,
    /// A message from a muted member, or from someone without a voice during a lecture
    /// (carries the `client_id`).
    Muted,
    /// A moderation command the sender may not give, or that makes no sense (not fatal).
    NotAllowed,
    /// A host or co-host disconnected this member (fatal; it may come back).
    Kicked,
    /// This address is banned (fatal, sent instead of `accepted` or to a member banned).
    Banned,
    ServerError,
    /// The host accepts only encrypted (TLS) connections.
    EncryptionRequired,
}

impl ErrorCode {
    /// Fatal errors are followed by the server closing the connection.
    pub fn is_fatal(self) -> bool {
        !matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::EmptyText
                | ErrorCode::BadNick
                | ErrorCode::TextTooLong
                | ErrorCode::NotOnline
                | ErrorCode::ToYourself
                | ErrorCode::Muted
                | ErrorCode::NotAllowed
        )
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUtf8 => "bad_utf8",
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::LineTooLong => "line_too_long",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::BadNick => "bad_nick",
            ErrorCode::HandshakeTimeout => "handshake_timeout",
            ErrorCode::EncryptionRequired => "encryption_required",
            ErrorCode::IdleTimeout => "idle_timeout",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::TooManyJoins => "too_many_joins",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Flooding => "flooding",
            ErrorCode::EmptyText => "empty_text",
            ErrorCode::TextTooLong => "text_too_long",
            ErrorCode::NotOnline => "not_online",
            ErrorCode::ToYourself => "to_yourself",
            ErrorCode::Muted => "muted",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::Kicked => "kicked",
            ErrorCode::Banned => "banned",
            ErrorCode::ServerError => "server_error",
        }
    }
}

/// The two languages one port speaks. See "Dialects" in PROTOCOL.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Natter clients: JSON frames, one per line.
    Json,
    /// Everyone else (nc, telnet, tutorial scripts): lines of UTF-8 text.
    Plain,
}

/// Tells the dialect from the first bytes a peer sent within the sniff window: a Natter client's
/// first byte (after optional white space) is `{`. Silence (no bytes) means plain text.
pub fn detect_dialect(first_bytes: &[u8]) -> Dialect {
    match first_bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Dialect::Json,
        _ => Dialect::Plain,
    }
}

/// Current time as the protocol writes it: RFC 3339, UTC, milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
