//! The Natter (JSON lines) dialect on the server: `welcome`, `hello`, resume, pings.
//!
//! Owns what only Natter clients get: the handshake and its deadline, resuming a session with
//! exactly the history it missed, keep-alive pings and the idle timeout, and the dispatch of
//! each [`ClientFrame`]. Actions both dialects share live in `handler`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::ServerConfig;
use super::connection::End;
use super::handler::Handler;
use super::room::{Member, Room};
use crate::network::lock;
use crate::network::protocol::chunk_line::ClientChunk;
use crate::network::protocol::{
    AcceptedRef, ClientFrame, DecodeError, ErrorCode, FEATURE_ENCRYPTION, FEATURE_FILE_DATA,
    FEATURE_FILES, FEATURE_MODERATION, FEATURE_PRESENCE, LeaveReason, MAX_CLIENT_ID_BYTES,
    PROTOCOL_VERSION, Resume, ServerFrame, decode, encode,
};
use crate::network::text::normalize_nick;

impl Handler {
    /// The server's first frame to a Natter client.
    pub(super) fn send_welcome(&self) -> Option<End> {
        self.send_frame(&welcome_frame(self.config()));
        None
    }

    /// Handshake deadline, pings and the idle timeout. Returns how long the next read may wait.
    pub(super) fn check_json_deadlines(&mut self) -> Result<Duration, End> {
        let (handshake_timeout, ping_interval, idle_timeout) = {
            let config = self.config();
            (
                config.handshake_timeout,
                config.ping_interval,
                config.idle_timeout,
            )
        };
        let now = Instant::now();
        if self.nick.is_none() {
            let deadline = self.connected_at + handshake_timeout;
            if now >= deadline {
                let secs = handshake_timeout.as_secs_f32();
                let message = format!("No hello within {secs} s of connecting.");
                return Err(self.refuse(ErrorCode::HandshakeTimeout, &message));
            }
            return Ok(deadline - now);
        }
        let silent = now.duration_since(self.last_heard);
        if silent >= idle_timeout {
            let secs = idle_timeout.as_secs_f32();
            let message = format!("Nothing heard for {secs} s; closing the link.");
            return Err(self.refuse(ErrorCode::IdleTimeout, &message));
        }
        if silent >= ping_interval && now.duration_since(self.last_ping) >= ping_interval {
            self.last_ping = now;
            self.send_frame(&ServerFrame::Ping {});
        }
        let until_ping = if silent < ping_interval {
            ping_interval - silent
        } else {
            ping_interval.saturating_sub(now.duration_since(self.last_ping))
        };
        Ok(until_ping
            .min(idle_timeout - silent)
            .max(Duration::from_millis(10)))
    }

    pub(super) fn handle_json_line(&mut self, line: &[u8]) -> Option<End> {
        // A blank line is no frame: a hand-typed session (telnet) or a newline sent before the
        // first `{` must not cost the connection.
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        if let Some(chunk) = ClientChunk::read(line) {
            return (self.file_frames_refused())
                .or_else(|| self.file_chunk(chunk.delivery, chunk.offset, chunk.data));
        }
        let frame = match decode::<ClientFrame>(line) {
            Ok(frame) => frame,
            Err(e) => return Some(self.refuse(e.code(), &decode_message(&e))),
        };
        // Every frame type has its arm: a new one does not compile until it is handled here.
        match frame {
            ClientFrame::Hello {
                version,
                nick,
                resume,
                features,
            } => {
                self.batches_presence = features.iter().any(|f| f == FEATURE_PRESENCE);
                self.takes_files = features.iter().any(|f| f == FEATURE_FILES);
                self.takes_data = self.takes_files
                    && !self.websocket
                    && features.iter().any(|f| f == FEATURE_FILE_DATA);
                self.hears_encryption = features.iter().any(|f| f == FEATURE_ENCRYPTION);
                self.hears_moderation = features.iter().any(|f| f == FEATURE_MODERATION);
                self.hello(version, &nick, resume)
            }
            ClientFrame::Chat {
                text,
                client_id,
                action,
                to,
            } => self.chat_frame(&text, client_id, action, to),
            ClientFrame::Nick { .. } if self.nick.is_none() => {
                Some(self.refuse(ErrorCode::NotReady, "Send hello before nick."))
            }
            ClientFrame::Nick { nick } => self.rename(&nick),
            ClientFrame::Ping {} => {
                self.send_frame(&ServerFrame::Pong {});
                None
            }
            ClientFrame::Pong {} => None,
            ClientFrame::Bye {} => {
                self.said_goodbye = true;
                self.files_left();
                Some(End::new(LeaveReason::Left, "said goodbye"))
            }
            ClientFrame::HostToken { .. } | ClientFrame::Moderate(_) if self.nick.is_none() => {
                Some(self.refuse(ErrorCode::NotReady, "Send hello before running the room."))
            }
            ClientFrame::HostToken { token } => self.host_token(&token),
            ClientFrame::Moderate(command) => self.moderate(command),
            ClientFrame::FileOffer(request) => self
                .file_frames_refused()
                .or_else(|| self.file_offer(request)),
            ClientFrame::FileAccept { id, offset } => self
                .file_frames_refused()
                .or_else(|| self.file_accept(&id, offset)),
            ClientFrame::FileDecline { id } => self
                .file_frames_refused()
                .or_else(|| self.file_decline(&id)),
            ClientFrame::FileChunk {
                delivery,
                offset,
                data,
            } => self
                .file_frames_refused()
                .or_else(|| self.file_chunk(delivery, offset, data.as_bytes())),
            ClientFrame::FileAck { id, offset } => self
                .file_frames_refused()
                .or_else(|| self.file_ack(&id, offset)),
            ClientFrame::FileDone { id } => {
                self.file_frames_refused().or_else(|| self.file_done(&id))
            }
            ClientFrame::FileCancel {
                id,
                delivery,
                reason,
            } => self
                .file_frames_refused()
                .or_else(|| self.file_cancel(id, delivery, &reason)),
        }
    }

    /// Why this client may not use file frames yet, if it may not (and it is told so).
    pub(super) fn file_frames_refused(&mut self) -> Option<End> {
        if self.nick.is_none() {
            return Some(self.refuse(ErrorCode::NotReady, "Send hello before any file frame."));
        }
        if !self.takes_files {
            let message = "List \"files\" in your hello's features to use file frames.";
            return Some(self.refuse(ErrorCode::BadFrame, message));
        }
        None
    }

    /// A `chat` frame: to everyone, or private when it names someone.
    fn chat_frame(
        &mut self,
        text: &str,
        client_id: Option<String>,
        action: bool,
        to: Option<String>,
    ) -> Option<End> {
        if self.nick.is_none() {
            return Some(self.refuse(ErrorCode::NotReady, "Send hello before chatting."));
        }
        if client_id
            .as_ref()
            .is_some_and(|id| id.len() > MAX_CLIENT_ID_BYTES)
        {
            let message = format!(
                "Could not read your frame: a client_id is at most {MAX_CLIENT_ID_BYTES} bytes."
            );
            return Some(self.refuse(ErrorCode::BadFrame, &message));
        }
        match to {
            Some(to) => self.private(&to, text, client_id, action),
            None => self.chat(text, client_id, action),
        }
    }

    fn hello(&mut self, version: u32, wanted: &str, resume: Option<Resume>) -> Option<End> {
        if self.nick.is_some() {
            return Some(self.refuse(ErrorCode::AlreadyJoined, "Hello was already sent."));
        }
        if version != PROTOCOL_VERSION {
            let message = format!(
                "This server speaks Natter protocol version {PROTOCOL_VERSION}, your client version {version}: use the same Natter version on both ends."
            );
            return Some(self.refuse(ErrorCode::VersionMismatch, &message));
        }
        let wanted = match normalize_nick(wanted) {
            Ok(nick) => nick,
            Err(e) => return Some(self.refuse(ErrorCode::BadNick, &e.to_string())),
        };
        // Made before the room is touched, so that a failure changes nothing there.
        let fresh_token = match self.state.new_session_token() {
            Ok(token) => token,
            Err(e) => return Some(self.no_session_token(&e)),
        };
        let state = Arc::clone(&self.state);
        let mut room = lock(&state.room);
        // A session coming back takes over from its own old connection, which may not have
        // noticed the drop yet, or from its stay held since the drop (see `away`); the room
        // sees no leave and no join, so the stay keeps its nickname and its place in the list
        // whatever name this hello asks for.
        let replaced = resume
            .as_ref()
            .and_then(|r| take_member(&mut room, &r.session));
        if replaced.is_none() && room.members.len() >= self.config().max_clients {
            drop(room);
            return Some(self.room_full());
        }
        let nick = match &replaced {
            Some((_, old)) => old.nick.clone(),
            None => room.unique_nick(&wanted, None),
        };
        if let Some((_, old)) = &replaced {
            let old_connection = &old.recipient.connection;
            old_connection.close(LeaveReason::Replaced, "reconnected on a new connection");
        }
        let place = replaced.as_ref().map(|(position, _)| *position);
        self.accept(&room, &nick, place, resume.as_ref(), fresh_token);
        self.enter_room(&mut room, &nick, replaced.is_none());
        if replaced.is_none()
            && let Some(newcomer) = room.members.last()
        {
            super::file_relay::show_open_offers(&room, newcomer);
        }
        if let Some(position) = place
            && let Some(member) = room.members.pop()
        {
            let position = position.min(room.members.len());
            room.members.insert(position, member);
        }
        // The stay came back over a link encrypted otherwise than before: those already in
        // the room are told, as late joiners read it in `accepted` and `/who` shows it.
        let unencrypted = self.shows_unencrypted();
        if replaced
            .as_ref()
            .is_some_and(|(_, old)| old.unencrypted != unencrypted)
        {
            room.tell_encryption(self.id, &nick, unencrypted);
        }
        room.send_roles(Some(self.id));
        drop(room);
        self.joined(nick);
        None
    }

    /// Sends `accepted` and the history that follows it; `place` is where a resumed stay
    /// sits in the list (a newcomer comes last). Only a session this very server issued can
    /// resume: after a restart, message ids start again and an old `last_id` means nothing.
    fn accept(
        &mut self,
        room: &Room,
        nick: &str,
        place: Option<usize>,
        resume: Option<&Resume>,
        fresh_token: String,
    ) {
        let resumed = resume.filter(|r| self.state.issued_here(&r.session));
        if let Some(r) = resumed {
            log::debug!(
                "connection {} from {}: resumed its session after message {}",
                self.id,
                self.recipient.connection.peer,
                r.last_id
            );
        } else if resume.is_some() {
            log::debug!(
                "connection {} from {}: asked to resume a session this run did not issue; joins afresh",
                self.id,
                self.recipient.connection.peer
            );
        }
        self.session_token = match resumed {
            Some(r) => r.session.clone(),
            None => fresh_token,
        };
        self.state.remember_session(&self.session_token);
        let since = resumed.map(|r| r.last_id);
        let history: Vec<Arc<[u8]>> = room
            .history
            .iter()
            .filter(|stored| since.is_none_or(|last| stored.message.id > last))
            .filter(|stored| stored.visible_to(&self.session_token))
            .map(|stored| match &stored.own_line {
                Some(own) if stored.session == self.session_token => Arc::clone(own),
                _ => Arc::clone(&stored.line),
            })
            .collect();
        let history_complete = match (since, room.history.front()) {
            (Some(last), Some(oldest)) => oldest.message.id <= last + 1,
            _ => true,
        };
        // Borrowed, not cloned: a crowd's list is long and every joiner gets one.
        let mut users: Vec<&str> = (room.members.iter())
            .filter(|m| m.announced)
            .map(|m| m.nick.as_str())
            .collect();
        let place = place.unwrap_or(users.len()).min(users.len());
        users.insert(place, nick);
        let mut unencrypted: Vec<&str> = (room.members.iter())
            .filter(|m| m.announced && m.unencrypted)
            .map(|m| m.nick.as_str())
            .collect();
        if self.shows_unencrypted() {
            unencrypted.push(nick);
        }
        let accepted = encode(&AcceptedRef {
            nick,
            session: &self.session_token,
            users,
            history_count: history.len(),
            resumed: since.is_some(),
            history_complete,
            unencrypted,
        });
        self.send_line(accepted);
        // The stored lines as they are: one push, no encoding under the room's lock.
        if self.recipient.queue.push_all(history).is_err() {
            self.recipient.connection.close(
                LeaveReason::Dropped,
                "stopped reading: too many messages waiting",
            );
        }
    }
}

/// The server's first frame to a Natter client, sent before its `hello` is looked at.
pub(super) fn welcome_frame(config: &ServerConfig) -> ServerFrame {
    ServerFrame::Welcome {
        server: config.name.clone(),
        version: PROTOCOL_VERSION,
        max_line_bytes: config.max_line_bytes,
        ping_interval_secs: config.ping_interval.as_secs(),
        idle_timeout_secs: config.idle_timeout.as_secs(),
        text: config.welcome_text.clone(),
        files: Some(super::file_relay::file_limits(config)),
    }
}

/// Takes the member whose stay has this session token out of the room, if it is there, with
/// its place in the list.
fn take_member(room: &mut Room, session: &str) -> Option<(usize, Member)> {
    let position = room.members.iter().position(|m| m.session == session)?;
    Some((position, room.members.remove(position)))
}

fn decode_message(e: &DecodeError) -> String {
    match e {
        DecodeError::UnknownType(kind) => format!(
            "Unknown frame type \"{kind}\": this server speaks Natter protocol version {PROTOCOL_VERSION}."
        ),
        other => format!("Could not read your frame: {other}."),
    }
}
