//! One connection's side of the conversation and its place in the room, whichever dialect it
//! speaks, without I/O.
//!
//! Owns turning what the connection's I/O thread feeds it into action (bytes → lines → the
//! dialect's handling, with deadlines), answering the peer, refusing it, and the actions both
//! dialects share: chatting, renaming, entering and leaving the room. The dialect-specific
//! parts are in `json_dialect` and `plain_dialect`, file frames in `file_relay`. Does not own
//! the socket, its reads, writes or close (see `conn_io`, which calls this, and `connection`).
//!
//! Rule: every action of a member that makes the server send something to others takes a
//! token from the member's `bucket` first (today: chat and rename). Joining (and so leaving) is
//! paced per address by the listener instead, before a connection has a handler.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::ServerEvent;
use super::config::ServerConfig;
use super::connection::{ConnId, End, Recipient};
use super::rate::TokenBucket;
use super::room::{Member, Room, StoredMessage};
use super::state::ServerState;
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{
    ChatMessage, ChatRef, ClientData, DATA_BYTES, Dialect, ErrorCode, FrameSplitter, LeaveReason,
    Piece, ServerFrame, SplitError, encode, now_rfc3339,
};
use crate::network::text::{NickKey, clean_text, normalize_nick, single_line};

/// Lines held back by pressure ([`Handler::pending`]) keep room for this many once handled.
const KEEP_PENDING: usize = 16;

/// A message's line for everyone, and the sender's own copy when it differs (its
/// `client_id`).
type RelayedLines = (Arc<[u8]>, Option<Arc<[u8]>>);

/// Handles one connection, from its first line to its leaving the room.
pub(super) struct Handler {
    pub(super) state: Arc<ServerState>,
    pub(super) recipient: Recipient,
    pub(super) id: ConnId,
    pub(super) dialect: Dialect,
    /// Lines, and `file_data` frames from a Natter client (not over a WebSocket).
    pub(super) splitter: FrameSplitter<ClientData>,
    /// Complete lines (and data frames) read but not yet handled: handling waits while the
    /// room is under pressure, so the peer is slowed by its own TCP window.
    pending: VecDeque<Piece<ClientData>>,
    /// Set once the peer is in the room.
    pub(super) nick: Option<String>,
    /// The resume token of this stay (empty until the peer is in the room).
    pub(super) session_token: String,
    /// The peer's `hello` asked for `presence` frames.
    pub(super) batches_presence: bool,
    /// The peer's `hello` listed `files`: it is sent file frames.
    pub(super) takes_files: bool,
    /// Its `hello` listed `file_data` (and it is no WebSocket): its file data goes raw.
    pub(super) takes_data: bool,
    /// A browser's WebSocket: no raw bytes either way.
    pub(super) websocket: bool,
    /// `file_data` frames this sender's data went out in, used again once written (see
    /// `file_relay::relay_data`).
    pub(super) data_frames: Vec<Arc<[u8]>>,
    /// Its `hello` listed `encryption`.
    pub(super) hears_encryption: bool,
    /// Its `hello` listed `moderation`.
    pub(super) hears_moderation: bool,
    /// The connection is a TLS link.
    pub(super) encrypted: bool,
    /// Others were told this member joined (see `Member::announced`).
    pub(super) announced: bool,
    /// The peer said it is leaving (`bye`, a WebSocket close): it will not resume, so its
    /// leave is announced at once (see `away`).
    pub(super) said_goodbye: bool,
    /// The host's address this connection came to (a plain peer's greeting names the page there).
    pub(super) local: Option<std::net::SocketAddr>,
    pub(super) bucket: TokenBucket,
    pub(super) connected_at: Instant,
    pub(super) last_heard: Instant,
    pub(super) last_ping: Instant,
}

impl Handler {
    pub(super) fn new(
        state: &Arc<ServerState>,
        recipient: Recipient,
        id: ConnId,
        dialect: Dialect,
        encrypted: bool,
    ) -> Self {
        let now = Instant::now();
        Handler {
            state: Arc::clone(state),
            recipient,
            id,
            dialect,
            splitter: match dialect {
                Dialect::Json => FrameSplitter::new(state.config.max_line_bytes, DATA_BYTES)
                    .with_headroom(super::file_relay::DATA_HEADROOM),
                Dialect::Plain => FrameSplitter::lines_only(state.config.max_line_bytes),
            },
            pending: VecDeque::new(),
            nick: None,
            session_token: String::new(),
            batches_presence: false,
            takes_files: false,
            takes_data: false,
            websocket: false,
            data_frames: Vec::new(),
            hears_encryption: false,
            hears_moderation: false,
            encrypted,
            announced: true,
            said_goodbye: false,
            local: None,
            bucket: TokenBucket::new(state.config.rate),
            connected_at: now,
            last_heard: now,
            last_ping: now,
        }
    }

    pub(super) fn config(&self) -> &ServerConfig {
        &self.state.config
    }

    /// The connection's first words, in its dialect, then `first_bytes` (what the sniffing
    /// read) as if just received.
    pub(super) fn start(&mut self, first_bytes: &[u8]) -> Option<End> {
        if let Some(end) = self.refuse_banned().or_else(|| self.refuse_unencrypted()) {
            return Some(end);
        }
        let started = match self.dialect {
            Dialect::Json => self.send_welcome(),
            Dialect::Plain => self.join_plain(first_bytes.is_empty()),
        };
        started.or_else(|| self.feed(first_bytes))
    }

    /// Bytes arrived at `now`.
    pub(super) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// When the handler next needs looking at without any bytes arriving (`None`: never), or
    /// the end a passed deadline (handshake, idle) brings. May send a ping. A plain peer's
    /// partial line ("hello" without a newline, from a script that then waits) counts as sent
    /// after a short silence; a silent plain peer is never timed out: TCP keepalive and
    /// `TCP_USER_TIMEOUT` find dead peers, since plain peers cannot answer pings (see
    /// `connection::configure`).
    pub(super) fn next_deadline(&mut self, now: Instant) -> Result<Option<Instant>, End> {
        match self.dialect {
            Dialect::Json => self.check_json_deadlines().map(|wait| Some(now + wait)),
            Dialect::Plain => Ok(self
                .splitter
                .has_partial()
                .then(|| self.last_heard + self.config().plain_flush)),
        }
    }

    /// A deadline from [`Handler::next_deadline`] passed.
    pub(super) fn on_deadline(&mut self, now: Instant) -> Option<End> {
        match self.dialect {
            // The deadlines are checked again by `next_deadline`.
            Dialect::Json => None,
            // Waiting lines come before the partial one; it is looked at again after them.
            Dialect::Plain if self.has_pending() => None,
            Dialect::Plain if now >= self.last_heard + self.config().plain_flush => {
                self.flush_partial_plain_line()
            }
            Dialect::Plain => None,
        }
    }

    /// The peer closed or the connection broke: a plain peer's unfinished line still counts.
    pub(super) fn on_closed(&mut self, detail: &str) -> End {
        if let Some(end) = self.handle_pending(true) {
            return end;
        }
        if self.dialect == Dialect::Plain {
            self.flush_partial_plain_line();
        }
        if self.splitter.in_data() {
            // What came of the frame is dropped: the receiver asks again from what it has.
            return End::new(
                LeaveReason::Left,
                format!("{detail} in the middle of file data"),
            );
        }
        End::new(LeaveReason::Left, detail)
    }

    /// The connection is a browser's WebSocket: its messages are lines, never raw bytes.
    pub(super) fn on_websocket(&mut self) {
        self.websocket = true;
        self.splitter.stop_data();
    }

    /// Splits `bytes` into lines (and data frames) and handles each complete one, in the
    /// peer's dialect.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<End> {
        let mut pieces = Vec::new();
        match self.splitter.push(bytes, &mut pieces) {
            Ok(()) => {
                self.pending.extend(pieces);
                self.handle_pending(false)
            }
            Err(SplitError::LineTooLong { .. }) => Some(self.line_too_long()),
            Err(e) => {
                let message = format!("Could not read your frame: {e}.");
                Some(self.refuse(ErrorCode::BadFrame, &message))
            }
        }
    }

    /// Handles the lines read but not handled yet, in order. While the room is under pressure
    /// (some member's queue is over its high mark) the rest wait, unless `all`: so the
    /// fan-out of one read never overshoots a queue's mark by more than a line.
    pub(super) fn handle_pending(&mut self, all: bool) -> Option<End> {
        while let Some(piece) = self.pending.pop_front() {
            // Put out of the room by a host (kicked, banned): nothing it sends counts.
            if let Some((reason, detail)) = self.recipient.connection.end_reason() {
                self.pending.clear();
                return Some(End {
                    linger: true,
                    ..End::new(reason, detail)
                });
            }
            if !all && self.state.pressure.is_on() {
                self.pending.push_front(piece);
                return None;
            }
            let end = match (self.dialect, piece) {
                (Dialect::Json, Piece::Line(line)) => self.handle_json_line(&line),
                (Dialect::Json, Piece::Data(header, data)) => self.file_data_frame(header, data),
                (Dialect::Plain, Piece::Line(line)) => self.handle_plain_line(&line),
                // A plain peer's splitter reads lines only.
                (Dialect::Plain, Piece::Data(..)) => None,
            };
            if end.is_some() {
                return end;
            }
        }
        // A read's worth of lines held back by pressure made room for a hundred or more.
        super::outbox::give_back_room(&mut self.pending, KEEP_PENDING);
        None
    }

    /// Whether lines wait to be handled (see [`Handler::handle_pending`]).
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    pub(super) fn send_line(&self, line: Vec<u8>) {
        self.recipient.send(line.into());
    }

    pub(super) fn send_frame(&self, frame: &ServerFrame) {
        self.send_line(encode(frame));
    }

    pub(super) fn send_text(&self, text: &str) {
        self.send_line(text.as_bytes().to_vec());
    }

    /// Tells the peer what went wrong in its own dialect, and the owner too.
    pub(super) fn send_error(&self, code: ErrorCode, message: &str, client_id: Option<String>) {
        self.tell(code, message, client_id);
        log::debug!(
            "connection {} from {}: told {} ({})",
            self.id,
            self.recipient.connection.peer,
            code.as_str(),
            single_line(message)
        );
        self.state.emit(ServerEvent::PeerError {
            peer: self.recipient.connection.peer,
            code,
            message: message.to_string(),
        });
    }

    /// Tells the peer what went wrong in its own dialect.
    pub(super) fn tell(&self, code: ErrorCode, message: &str, client_id: Option<String>) {
        match self.dialect {
            Dialect::Json => self.send_frame(&ServerFrame::Error {
                code,
                message: message.to_string(),
                client_id,
            }),
            Dialect::Plain => self.send_text(&plain::notice(message)),
        }
    }

    /// Whether others are told this member's link is not encrypted: only on a host that
    /// offers encryption (on one that does not, nobody's is, and clients show that once).
    pub(super) fn shows_unencrypted(&self) -> bool {
        !self.encrypted && self.state.tls.is_some()
    }

    /// On a host with **Only encrypted connections**, a peer without TLS is refused in its
    /// own dialect, before its welcome.
    pub(super) fn refuse_unencrypted(&self) -> Option<End> {
        if self.encrypted || !self.config().require_encryption {
            return None;
        }
        Some(self.refuse(
            ErrorCode::EncryptionRequired,
            "This room accepts only encrypted connections. Connect with Natter, or with \
             `ncat --ssl HOST PORT` or `openssl s_client -connect HOST:PORT`.",
        ))
    }

    /// Sends a fatal error, then closes once it is written.
    pub(super) fn refuse(&self, code: ErrorCode, message: &str) -> End {
        self.send_error(code, message, None);
        self.close_after_error(code, message)
    }

    /// Closes once the fatal error just queued is written.
    fn close_after_error(&self, code: ErrorCode, message: &str) -> End {
        self.recipient.queue.close_after_flush();
        let reason = match code {
            ErrorCode::IdleTimeout => LeaveReason::TimedOut,
            _ => LeaveReason::Dropped,
        };
        End {
            reason,
            detail: message.to_string(),
            linger: true,
        }
    }

    pub(super) fn line_too_long(&self) -> End {
        let max = self.config().max_line_bytes;
        self.refuse(
            ErrorCode::LineTooLong,
            &format!("A line was longer than {max} bytes."),
        )
    }

    /// Refuses a peer at the room's door; counted with the other refusals.
    pub(super) fn room_full(&self) -> End {
        let message = room_full_message(self.config());
        self.tell(ErrorCode::RoomFull, &message, None);
        let peer = self.recipient.connection.peer;
        self.state
            .count_refusal(peer, ErrorCode::RoomFull, &message);
        self.close_after_error(ErrorCode::RoomFull, &message)
    }

    /// The OS had no secure randomness for a session token (it practically never happens):
    /// refuse rather than hand out a guessable one.
    pub(super) fn no_session_token(&self, error: &getrandom::Error) -> End {
        let message =
            format!("The host could not make a session token ({error}). Try again in a moment.");
        self.refuse(ErrorCode::ServerError, &message)
    }

    /// What every message passes before it is stored: the sender's rate budget, cleaning
    /// (trimmed) and not empty. The clean text, or the end this brought (the peer was told
    /// why). Its length is checked once its relayed lines are made ([`Handler::relayed_lines`]).
    pub(super) fn admit_text(
        &mut self,
        text: &str,
        client_id: &Option<String>,
    ) -> Result<String, Option<End>> {
        if let Err(strikes) = self.bucket.take() {
            let end = self.rate_limited(strikes, client_id.clone(), "That message was not sent.");
            return Err(end);
        }
        let cleaned = clean_text(text);
        let text = cleaned.trim_matches(|c: char| c == '\n' || c == ' ' || c == '\t');
        if text.is_empty() {
            let message = "An empty message was not sent.";
            self.send_error(ErrorCode::EmptyText, message, client_id.clone());
            return Err(None);
        }
        if text.len() == cleaned.len() {
            return Ok(cleaned);
        }
        Ok(text.to_string())
    }

    /// The lines that relay `message` (made under the room's lock, with the id it will have):
    /// everyone's, and the sender's own copy with its `client_id` (a Natter sender that gave
    /// one). `Err(length)` when either would be longer than `max_line_bytes`, which no line the
    /// server sends may be: let go of the room and tell the sender ([`Handler::too_long`]).
    pub(super) fn relayed_lines(
        &self,
        message: &ChatMessage,
        client_id: &Option<String>,
    ) -> Result<RelayedLines, usize> {
        let line = encode(&ChatRef::new(message, None));
        let own_line = (self.dialect == Dialect::Json)
            .then_some(client_id.as_deref())
            .flatten()
            .map(|id| encode(&ChatRef::new(message, Some(id))));
        // Newlines excluded, as the limit is counted.
        let longest = line.len().max(own_line.as_ref().map_or(0, Vec::len)) - 1;
        if longest > self.config().max_line_bytes {
            return Err(longest);
        }
        Ok((line.into(), own_line.map(Arc::from)))
    }

    /// Refuses a message whose relayed line would be `length` bytes, over the limit.
    pub(super) fn too_long(&self, length: usize, client_id: Option<String>) {
        let max = self.config().max_line_bytes;
        let message = format!(
            "That message is too long to relay ({length} bytes as a line; at most {max}). It was not sent."
        );
        self.send_error(ErrorCode::TextTooLong, &message, client_id);
    }

    /// Rate-limits, cleans, stores and relays one message. `client_id` goes back to the sender.
    /// A message from this peer; `action` for "/me waves" (relayed as `* alice waves`).
    pub(super) fn chat(
        &mut self,
        text: &str,
        client_id: Option<String>,
        action: bool,
    ) -> Option<End> {
        let text = match self.admit_text(text, &client_id) {
            Ok(text) => text,
            Err(end) => return end,
        };
        let mut room = lock(&self.state.room);
        if let Some(silenced) = room.silenced(&self.session_token, false) {
            drop(room);
            self.tell_silenced(&silenced, client_id);
            return None;
        }
        let message = ChatMessage {
            id: room.next_message_id + 1,
            time: now_rfc3339(),
            from: self.nick.clone().unwrap_or_default(),
            text,
            client_id: None,
            action,
            to: None,
        };
        // Measured as sent: with the id it gets, not a guess at its width. The lock is held
        // from here to the id's use, so no other message can take it meanwhile.
        let (line, own_line) = match self.relayed_lines(&message, &client_id) {
            Ok(lines) => lines,
            Err(length) => {
                drop(room);
                self.too_long(length, client_id);
                return None;
            }
        };
        room.next_message_id += 1;
        // A plain-text sender already sees its line on its own terminal; a Natter sender gets
        // its copy back with its client_id, which is its delivery confirmation. Both lines
        // are kept with the history, so a late joiner's replay encodes nothing.
        room.broadcast_line(Some(self.id), &line, || plain::chat(&message));
        if self.dialect == Dialect::Json {
            self.recipient
                .send(own_line.clone().unwrap_or_else(|| Arc::clone(&line)));
        }
        let stored = StoredMessage {
            message: message.clone(),
            session: self.session_token.clone(),
            line,
            own_line,
            to_session: None,
        };
        room.remember(stored, self.config().history_len);
        drop(room);
        self.state.emit(ServerEvent::Message(message));
        None
    }

    /// A refused message or nickname change (`what_happened` says which): a warning, or a drop
    /// after too many in a row.
    pub(super) fn rate_limited(
        &self,
        strikes: u32,
        client_id: Option<String>,
        what_happened: &str,
    ) -> Option<End> {
        if strikes >= self.config().rate.strikes {
            let message = "Too many messages or nickname changes too fast, even after warnings.";
            return Some(self.refuse(ErrorCode::Flooding, message));
        }
        let per_second = self.config().rate.per_second;
        let message = format!(
            "Slow down: at most {per_second} messages a second, nickname changes included. {what_happened}"
        );
        self.send_error(ErrorCode::RateLimited, &message, client_id);
        None
    }

    /// Changes this member's nickname and tells everyone; like a message, it takes a token
    /// from the member's rate budget, since everyone in the room is sent the change.
    pub(super) fn rename(&mut self, wanted: &str) -> Option<End> {
        if let Err(strikes) = self.bucket.take() {
            return self.rate_limited(strikes, None, "Your nickname was not changed.");
        }
        let wanted = match normalize_nick(wanted) {
            Ok(nick) => nick,
            Err(e) => {
                self.send_error(ErrorCode::BadNick, &e.to_string(), None);
                return None;
            }
        };
        let mut room = lock(&self.state.room);
        let from = room.member(self.id).map(|m| m.nick.clone())?;
        let to = room.unique_nick(&wanted, Some(self.id));
        if to == from {
            return None;
        }
        if let Some(member) = room.member_mut(self.id) {
            member.set_nick(&to);
        }
        room.free_nick(&from, super::private::NAME_GRACE);
        let frame = ServerFrame::Nick {
            from: from.clone(),
            to: to.clone(),
            time: now_rfc3339(),
        };
        room.broadcast(None, &frame, || plain::renamed(&from, &to));
        drop(room);
        self.nick = Some(to.clone());
        self.state.emit(ServerEvent::Renamed { from, to });
        None
    }

    /// Adds this connection to the room (under the caller's lock), announcing it to the others
    /// unless it quietly takes over its own session's old connection.
    pub(super) fn enter_room(&self, room: &mut Room, nick: &str, announce: bool) {
        let unencrypted = self.shows_unencrypted();
        if announce {
            let frame = ServerFrame::Join {
                nick: nick.to_string(),
                time: now_rfc3339(),
                unencrypted,
            };
            let due = room.announce(&frame, plain::join(nick, unencrypted));
            self.state.presence_due_by(due);
        }
        room.members.push(Member {
            id: self.id,
            nick: nick.to_string(),
            key: NickKey::of(nick),
            dialect: self.dialect,
            session: self.session_token.clone(),
            recipient: self.recipient.clone(),
            presence_seq: room.presence.seq(),
            batches_presence: self.batches_presence,
            named_at: Instant::now(),
            unencrypted,
            files: self.takes_files,
            takes_data: self.takes_data,
            hears_encryption: self.hears_encryption,
            hears_moderation: self.hears_moderation,
            announced: self.announced,
            away: None,
        });
        super::file_relay::back_in_room(room, &self.session_token);
    }

    /// After [`Handler::enter_room`] and the room's lock is let go: remembers the nickname and
    /// tells the owner.
    pub(super) fn joined(&mut self, nick: String) {
        self.nick = Some(nick.clone());
        log::info!(
            "connection {} from {}: {} joined",
            self.id,
            self.recipient.connection.peer,
            single_line(&nick)
        );
        self.state.emit(ServerEvent::Joined {
            nick,
            peer: self.recipient.connection.peer,
            dialect: self.dialect,
            encrypted: self.encrypted,
        });
    }

    /// Takes this connection out of the room and tells everyone why; a link that dropped and
    /// may resume stays in it, unannounced, for the grace (see `away`).
    pub(super) fn leave_room(&mut self, reason: LeaveReason, detail: &str) {
        let Some(nick) = self.nick.take() else {
            return;
        };
        let mut room = lock(&self.state.room);
        // Gone already if the same session's new connection took over: the room saw no change.
        if let Some(position) = room.members.iter().position(|m| m.id == self.id) {
            if self.may_resume(reason) && room.members[position].announced {
                super::away::hold(&mut room.members[position], reason, detail);
                drop(room);
                log::info!(
                    "connection {} from {}: {}'s link dropped ({}); held {} s for a resume",
                    self.id,
                    self.recipient.connection.peer,
                    single_line(&nick),
                    single_line(detail),
                    self.config().member_grace.as_secs_f32()
                );
                return;
            }
            let member = room.members.remove(position);
            if !member.announced {
                // Nobody was told it came: nobody is told it went.
                return;
            }
            announce_leave(&self.state, &mut room, &member, reason, detail);
        }
        drop(room);
        log::info!(
            "connection {} from {}: {} left ({reason:?}): {}",
            self.id,
            self.recipient.connection.peer,
            single_line(&nick),
            single_line(detail)
        );
        self.state.emit(ServerEvent::Left {
            nick,
            reason,
            detail: detail.to_string(),
        });
    }

    /// Whether a stay that ends for `reason` may still come back: a Natter client's or a
    /// browser's link that broke or closed without a goodbye, while the server runs on.
    fn may_resume(&self, reason: LeaveReason) -> bool {
        reason == LeaveReason::Left
            && !self.said_goodbye
            && self.dialect == Dialect::Json
            && !self.config().member_grace.is_zero()
            && !self
                .state
                .stopping
                .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Tells everyone that `member`, just taken out of the room (and announced when it came),
/// left, and ends or holds its transfers.
pub(super) fn announce_leave(
    state: &ServerState,
    room: &mut Room,
    member: &Member,
    reason: LeaveReason,
    detail: &str,
) {
    room.free_nick(&member.nick, super::private::NAME_GRACE);
    super::file_relay::out_of_room(room, &member.session, &member.nick, reason);
    let frame = ServerFrame::Leave {
        nick: member.nick.clone(),
        reason,
        detail: detail.to_string(),
        time: now_rfc3339(),
    };
    let due = room.announce(&frame, plain::leave(&member.nick, reason, detail));
    state.presence_due_by(due);
}

/// What someone who finds the room full is told.
pub(super) fn room_full_message(config: &ServerConfig) -> String {
    format!(
        "The room is full ({} people). Try again later.",
        config.max_clients
    )
}
