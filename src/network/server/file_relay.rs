//! Files on the server: offers, and relaying each delivery between its two people.
//!
//! Owns the handling of the `file_*` frames (PROTOCOL.md §13): checking an offer against the
//! host's limits and showing it to its audience (plain-text peers get one line saying how to
//! get the file), routing a receiver's requests and acknowledgements to the sender and the
//! sender's data to that one receiver, holding every sender to its window so the host keeps
//! at most a window of each delivery, and telling the side still there when the other side
//! stops, leaves or does not come back. The data is relayed in `relay_data`; the record of
//! offers and deliveries is `file_ledger`.

use std::sync::Arc;
use std::time::Instant;

use super::config::ServerConfig;
use super::connection::End;
use super::file_ledger::{
    AcceptRefused, Asker, Ended, MAX_OPEN_OFFERS, Offer, OfferRefused, Places,
};
use super::handler::Handler;
use super::room::{Member, Room};
use super::state::ServerState;
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{
    CHUNK_BYTES, DATA_BYTES, Dialect, ErrorCode, FileLimits, FileOffer, LeaveReason, OfferRequest,
    ServerFrame, WINDOW_BYTES, encode, now_rfc3339, valid_file_id, valid_sha256,
};
use crate::network::text::{MAX_QUOTED_CHARS, quote, single_line};

/// Room in a `file_chunk` line for everything but its data: the type, a 64-byte id, an offset.
const CHUNK_FRAME_SLACK: usize = 256;

/// Longest reason for stopping a transfer that the host relays, in characters.
const MAX_REASON_CHARS: usize = 200;

impl Handler {
    /// A member offers a file to the room or to one person.
    pub(super) fn file_offer(&mut self, request: OfferRequest) -> Option<End> {
        if !valid_file_id(&request.id) || !valid_sha256(&request.sha256) {
            let message = "A file_offer needs an id of 1 to 64 letters, digits, - or _, and a sha256 of 64 hex digits.";
            return Some(self.refuse(ErrorCode::BadFrame, message));
        }
        if let Err(strikes) = self.bucket.take() {
            return self.offer_rate_limited(strikes, &request.id);
        }
        let name = crate::network::files::clean_file_name(&request.name);
        let max_bytes = self.config().max_file_bytes;
        if request.size > max_bytes {
            let reason = crate::network::files::too_large(&name, request.size, max_bytes);
            self.host_cancels(&request.id, &reason);
            return None;
        }
        let state = Arc::clone(&self.state);
        let mut room = lock(&state.room);
        let to = match &request.to {
            Some(to) => match self.file_recipient(&room, to, &name, request.size) {
                Ok(member) => Some(member),
                Err(reason) => {
                    drop(room);
                    self.host_cancels(&request.id, &reason);
                    return None;
                }
            },
            None => None,
        };
        // A muted member's offers reach nobody either (a lecture lets one to the host through).
        let to_moderator = to.is_some_and(|m| room.moderates(m));
        if let Some(silenced) = room.silenced(&self.session_token, to_moderator) {
            drop(room);
            self.host_cancels(&request.id, &silenced.message);
            return None;
        }
        let sha256 = request.sha256.to_ascii_lowercase();
        let time = now_rfc3339();
        let offer = Offer {
            name: name.clone(),
            size: request.size,
            sha256: sha256.clone(),
            time: time.clone(),
            sender: self.session_token.clone(),
            to: to.map(|m| room.members[m].session.clone()),
            sender_gone_since: None,
        };
        if let Err(refused) = room.ledger.add_offer(&request.id, offer) {
            drop(room);
            let reason = match refused {
                OfferRefused::IdInUse => {
                    "That file id is in use on this host; offer it again under another id."
                        .to_string()
                }
                OfferRefused::TooManyOffers => format!(
                    "You have {MAX_OPEN_OFFERS} files on offer; withdraw one before offering more."
                ),
            };
            self.host_cancels(&request.id, &reason);
            return None;
        }
        let from = self.nick.clone().unwrap_or_default();
        let offer = FileOffer {
            id: request.id,
            from,
            name,
            size: request.size,
            sha256,
            time,
            to: to.map(|m| room.members[m].nick.clone()),
        };
        log::info!(
            "connection {}: {} offered file {} ({} bytes{})",
            self.id,
            single_line(&offer.from),
            single_line(&offer.id),
            offer.size,
            if to.is_some() { ", privately" } else { "" }
        );
        let line: Arc<[u8]> = encode(&ServerFrame::FileOffer(offer.clone())).into();
        room.flush_presence();
        let plain_line = plain::file_offer(&offer.from, &offer.name, offer.size, to.is_some());
        match to {
            Some(position) => tell_member(&room.members[position], &line, &plain_line),
            None => (room.members.iter())
                .filter(|m| m.id != self.id)
                .for_each(|m| tell_member(m, &line, &plain_line)),
        }
        self.recipient.send(line);
        None
    }

    /// The place of the one person a private offer goes to, or why it cannot go (the
    /// person was told, if a plain-text peer, how to get the file).
    fn file_recipient(
        &self,
        room: &Room,
        to: &str,
        name: &str,
        size: u64,
    ) -> Result<usize, String> {
        let position =
            super::private::recipient(room, self.id, to, Instant::now()).map_err(|why| {
                super::private::refusal(to, why)
                    .1
                    .replace("private message", "file")
            })?;
        let member = &room.members[position];
        if member.dialect == Dialect::Json && member.files {
            return Ok(position);
        }
        if member.dialect == Dialect::Json {
            return Err(format!("{}'s program cannot receive files.", member.nick));
        }
        let from = self.nick.clone().unwrap_or_default();
        let line = plain::file_offer(&from, name, size, true);
        member.recipient.send(line.into_bytes().into());
        Err(format!(
            "{} uses a plain-text program and cannot receive files; they were told to join with Natter to get it.",
            member.nick
        ))
    }

    /// A receiver asks for a file from `offset` (0, or where it stopped before a drop).
    pub(super) fn file_accept(&mut self, file: &str, offset: u64) -> Option<End> {
        let past_end = (lock(&self.state.room).ledger.offer(file)).is_some_and(|o| offset > o.size);
        if past_end {
            let message = "A file_accept asked for bytes past the file's end.";
            return Some(self.refuse(ErrorCode::BadFrame, message));
        }
        let places = places(self.config());
        let state = Arc::clone(&self.state);
        let mut room = lock(&state.room);
        let asker = Asker {
            session: &self.session_token,
            ip: self.recipient.connection.peer.ip(),
        };
        let refused = match room
            .ledger
            .accept(file, asker, offset, places, Instant::now())
        {
            Ok((delivery, offer)) => {
                log::info!(
                    "connection {}: file {} accepted from byte {offset}: delivery {delivery}",
                    self.id,
                    single_line(file)
                );
                let sender = offer.sender.clone();
                let frame = ServerFrame::FileAccept {
                    id: file.to_string(),
                    delivery,
                    by: self.nick.clone().unwrap_or_default(),
                    offset,
                };
                send_to_session(&room, &sender, &frame);
                return None;
            }
            Err(refused) => refused,
        };
        drop(room);
        let reason = match refused {
            AcceptRefused::NoSuchFile => "That file is no longer on offer.".to_string(),
            AcceptRefused::Busy => format!(
                "The host is carrying {} transfers at once, its limit; press Save again in a moment.",
                places.at_once
            ),
            AcceptRefused::AddressBusy => format!(
                "Ledger to {} already take {} of the host's {} places, the most one address may have; press Save again when one of them ends.",
                self.recipient.connection.peer.ip(),
                places.per_address,
                places.at_once
            ),
        };
        self.host_cancels(file, &reason);
        None
    }

    /// A receiver does not want a file: its sender is told.
    pub(super) fn file_decline(&mut self, file: &str) -> Option<End> {
        let room = lock(&self.state.room);
        if let Some(offer) = room
            .ledger
            .offer(file)
            .filter(|o| o.for_session(&self.session_token))
        {
            let frame = ServerFrame::FileDecline {
                id: file.to_string(),
                by: self.nick.clone().unwrap_or_default(),
            };
            send_to_session(&room, &offer.sender, &frame);
        }
        None
    }

    /// A receiver confirms the first `offset` bytes of a file; its sender is told as much of
    /// it as was relayed.
    pub(super) fn file_ack(&mut self, file: &str, offset: u64) -> Option<End> {
        let mut room = lock(&self.state.room);
        let session = self.session_token.clone();
        let (delivery, d) = room.ledger.delivery_to(file, &session)?;
        if offset > d.size {
            drop(room);
            let message = "A file_ack named more bytes than the file has.";
            return Some(self.refuse(ErrorCode::BadFrame, message));
        }
        d.confirmed(offset);
        // The sender is told what the host believes, never more than it relayed: a sender
        // that trusted a larger offset would send past the window the host holds it to.
        let offset = offset.min(d.relayed);
        let sender = d.sender.clone();
        send_to_session(&room, &sender, &ServerFrame::FileAck { delivery, offset });
        None
    }

    /// A receiver has the whole file; the delivery is over.
    pub(super) fn file_done(&mut self, file: &str) -> Option<End> {
        let mut room = lock(&self.state.room);
        let session = self.session_token.clone();
        let (delivery, _) = room.ledger.delivery_to(file, &session)?;
        if let Some(d) = room.ledger.end_delivery(delivery) {
            log::info!("delivery {delivery} of file {} done", single_line(file));
            send_to_session(&room, &d.sender, &ServerFrame::FileDone { delivery });
        }
        None
    }

    /// Either side stops: a receiver its delivery of `file`; a sender one `delivery`, or
    /// (with `file` alone) its whole offer.
    pub(super) fn file_cancel(
        &mut self,
        file: Option<String>,
        delivery: Option<u64>,
        reason: &str,
    ) -> Option<End> {
        let reason = quote(reason, MAX_REASON_CHARS);
        log::info!(
            "connection {}: stopped file {} / delivery {delivery:?}: {reason}",
            self.id,
            file.as_deref().map(single_line).unwrap_or_default()
        );
        let by = self.nick.clone().unwrap_or_default();
        let session = self.session_token.clone();
        let state = Arc::clone(&self.state);
        let mut room = lock(&state.room);
        if let Some(number) = delivery {
            let mine = room
                .ledger
                .delivery(number)
                .is_some_and(|d| d.sender == session);
            if let Some(d) = mine.then(|| room.ledger.end_delivery(number)).flatten() {
                let frame = ServerFrame::FileCancel {
                    id: d.file,
                    delivery: None,
                    by,
                    reason,
                };
                send_to_session(&room, &d.receiver, &frame);
            }
            return None;
        }
        let file = file?;
        if room
            .ledger
            .offer(&file)
            .is_some_and(|o| o.sender == session)
        {
            if let Some((offer, _)) = room.ledger.withdraw(&file) {
                let frame = ServerFrame::FileCancel {
                    id: file,
                    delivery: None,
                    by,
                    reason,
                };
                tell_audience(&room, &offer.sender, offer.to.as_deref(), &frame);
            }
            return None;
        }
        if let Some((number, _)) = room.ledger.delivery_to(&file, &session)
            && let Some(d) = room.ledger.end_delivery(number)
        {
            let frame = ServerFrame::FileCancel {
                id: file,
                delivery: Some(number),
                by,
                reason,
            };
            send_to_session(&room, &d.sender, &frame);
        }
        None
    }

    /// This member said goodbye: what it offered or was receiving ends now.
    pub(super) fn files_left(&mut self) {
        let state = Arc::clone(&self.state);
        let mut room = lock(&state.room);
        let nick = self.nick.clone().unwrap_or_default();
        let ended = room.ledger.left(&self.session_token);
        let reason = format!("{} left.", quote(&nick, MAX_QUOTED_CHARS));
        tell_ended(&room, ended, &nick, &reason);
    }

    /// A refused offer under the rate limit: told as a `file_cancel` with its id (so the
    /// sender knows which), or a drop after too many in a row, as for messages.
    fn offer_rate_limited(&self, strikes: u32, file: &str) -> Option<End> {
        let rate = self.config().rate;
        if strikes >= rate.strikes {
            let message =
                "Too many messages, nickname changes or file offers too fast, even after warnings.";
            return Some(self.refuse(ErrorCode::Flooding, message));
        }
        let reason = format!(
            "Slow down: at most {} messages a second, file offers included. Your file was not offered.",
            rate.per_second
        );
        self.host_cancels(file, &reason);
        None
    }

    /// Tells this member the host stopped `file` (refused it or could not go on).
    fn host_cancels(&self, file: &str, reason: &str) {
        log::info!(
            "connection {}: file {} refused: {}",
            self.id,
            single_line(file),
            single_line(reason)
        );
        self.send_frame(&ServerFrame::FileCancel {
            id: file.to_string(),
            delivery: None,
            by: String::new(),
            reason: reason.to_string(),
        });
    }
}

/// After a member (re)entered the room: its dropped transfers go on, and the sender of each
/// delivery it is part of is asked again from the last confirmed byte.
pub(super) fn back_in_room(room: &mut Room, session: &str) {
    if room.ledger.is_empty() {
        return;
    }
    room.ledger.mark_gone(session, Instant::now(), true);
    for (delivery, id, by, offset) in room.ledger.deliveries_of_sender(session) {
        let by = (room.members.iter())
            .find(|m| m.session == by)
            .map(|m| m.nick.clone());
        let Some(by) = by else { continue };
        let frame = ServerFrame::FileAccept {
            id,
            delivery,
            by,
            offset,
        };
        send_to_session(room, session, &frame);
    }
}

/// A newcomer that takes files is shown every offer open to it, after its history: offers
/// made before it came count too. Why: after a host restart senders offer their files again
/// as their links come back, and a receiver whose link comes back later must still see them
/// to go on saving.
pub(super) fn show_open_offers(room: &Room, newcomer: &Member) {
    if !newcomer.files || room.ledger.is_empty() {
        return;
    }
    for (id, offer) in room.ledger.offers() {
        let sender = room.members.iter().find(|m| m.session == offer.sender);
        let (Some(sender), true) = (sender, offer.for_session(&newcomer.session)) else {
            continue;
        };
        let frame = ServerFrame::FileOffer(FileOffer {
            id: id.clone(),
            from: sender.nick.clone(),
            name: offer.name.clone(),
            size: offer.size,
            sha256: offer.sha256.clone(),
            time: offer.time.clone(),
            to: offer.to.as_ref().map(|_| newcomer.nick.clone()),
        });
        newcomer.recipient.send(encode(&frame).into());
    }
}

/// A member left the room: a link that broke may come back (its transfers wait, see
/// `transfers`); one the host dropped for breaking a rule ends its transfers now, like `bye`.
pub(super) fn out_of_room(room: &mut Room, session: &str, nick: &str, reason: LeaveReason) {
    if room.ledger.is_empty() {
        return;
    }
    if reason != LeaveReason::Dropped {
        room.ledger.mark_gone(session, Instant::now(), false);
        return;
    }
    let ended = room.ledger.left(session);
    let why = format!("{} was dropped by the host.", quote(nick, MAX_QUOTED_CHARS));
    tell_ended(room, ended, "", &why);
}

/// Ends transfers that waited too long for a side whose link dropped, and deliveries that
/// moved no data for the host's `file_idle` (both sides are told why). Called twice a second
/// by each I/O thread: cheap when nothing is under way.
pub(super) fn expire_transfers(state: &ServerState, now: Instant) {
    let mut room = lock(&state.room);
    if room.ledger.is_empty() {
        return;
    }
    let ended = room.ledger.expire(now, state.config.file_grace);
    let reason = "The other side's link dropped and did not come back.";
    tell_ended(&room, ended, "", reason);
    let idle = state.config.file_idle;
    let ended = room.ledger.expire_idle(now, idle);
    if !ended.is_empty() {
        let reason = format!(
            "No data moved for {} s, so the host ended this transfer to free its place for others. Save it again to go on.",
            idle.as_secs_f32()
        );
        tell_ended(&room, ended, "", &reason);
    }
}

/// How many deliveries the host carries at once, and how many for one address.
fn places(config: &ServerConfig) -> Places {
    Places {
        at_once: config.max_transfers,
        per_address: config.transfers_per_address(),
    }
}

/// Tells the side still there of everything in `ended`; `by`: who stopped it.
fn tell_ended(room: &Room, ended: Vec<Ended>, by: &str, reason: &str) {
    for end in ended {
        // By file id and delivery number: an `Ended` also holds session tokens, never logged.
        let (file, delivery) = match &end {
            Ended::Offer { file, .. } => (file, None),
            Ended::Delivery { number, file, .. } => (file, Some(*number)),
        };
        log::info!(
            "file {} / delivery {delivery:?} ended: {}",
            single_line(file),
            single_line(reason)
        );
        let frame = |id: String, delivery| ServerFrame::FileCancel {
            id,
            delivery,
            by: by.to_string(),
            reason: reason.to_string(),
        };
        match end {
            Ended::Offer {
                file, sender, to, ..
            } => {
                tell_audience(room, &sender, to.as_deref(), &frame(file, None));
            }
            Ended::Delivery {
                number,
                file,
                sender,
                receiver,
            } => {
                send_to_session(room, &receiver, &frame(file.clone(), None));
                send_to_session(room, &sender, &frame(file, Some(number)));
            }
        }
    }
}

/// Sends `frame` to the member of stay `session`, if it is in the room and takes files.
fn send_to_session(room: &Room, session: &str, frame: &ServerFrame) {
    if let Some(member) = room
        .members
        .iter()
        .find(|m| m.session == session && m.files)
    {
        member.recipient.send(encode(frame).into());
    }
}

/// Sends `frame` to everyone who could see an offer: its sender and the room, or the one
/// person it was for. Plain-text peers are told nothing more than the offer's line.
fn tell_audience(room: &Room, sender: &str, to: Option<&str>, frame: &ServerFrame) {
    let line: Arc<[u8]> = encode(frame).into();
    let sees = |m: &&Member| {
        m.files && (to.is_none() || m.session == sender || Some(m.session.as_str()) == to)
    };
    for member in room.members.iter().filter(sees) {
        member.recipient.send(Arc::clone(&line));
    }
}

/// An offer's line to one member in its dialect; a Natter client that did not ask for files
/// gets nothing (§10).
fn tell_member(member: &Member, line: &Arc<[u8]>, plain_line: &str) {
    match member.dialect {
        Dialect::Json if member.files => member.recipient.send(Arc::clone(line)),
        Dialect::Json => {}
        Dialect::Plain => member.recipient.send(plain_line.as_bytes().into()),
    }
}

/// What `welcome` says about files: a chunk's line must fit in the host's longest line.
pub(super) fn file_limits(config: &ServerConfig) -> FileLimits {
    let fits = config.max_line_bytes.saturating_sub(CHUNK_FRAME_SLACK) / 4 * 3;
    FileLimits {
        max_bytes: config.max_file_bytes,
        max_transfers: config.max_transfers,
        window_bytes: WINDOW_BYTES,
        chunk_bytes: CHUNK_BYTES.min(fits),
        data_bytes: Some(DATA_BYTES),
    }
}

mod relay_data;
pub(super) use relay_data::DATA_HEADROOM;
#[cfg(test)]
mod tests;
