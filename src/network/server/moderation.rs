//! Running the room: who is host, co-host or voiced, who is muted, whether a lecture is on,
//! and carrying out `/mute`, `/kick`, `/ban` and the rest for whoever may give them.
//!
//! Owns [`Moderation`] (kept in the `Room`, under its lock: roles and mutes are keyed by the
//! stay's session, so they follow a rename and a resume, never a look-alike name), the rules
//! of who may do what to whom ([`run`]), and telling the room: one calm line to everyone
//! (`moderation` frames to clients that listed the feature, `* …` lines to plain peers), the
//! same addressed to the person concerned, and `roles` frames when a role changes. Bans are
//! kept by `bans` (in `ServerState`, so a connecting peer is checked without the room's
//! lock); the wording is in `moderation_words`; a connection's side (frames, typed commands,
//! the console) in `moderation_handler`. Does not read commands: each side parses them
//! with `network::command_line` (plain peers, the window's typed lines) or gets a frame.
//!
//! Who is the host: the console of `natter serve` ([`Actor::Console`]), and the stay whose
//! link presented the secret `host_token` the server was started with (the hosting window's
//! own link; nobody else knows it). A co-host has the same tools, but not over the host nor
//! over other co-hosts, and only the host makes co-hosts. Nobody acts on themselves.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::ServerEvent;
use super::bans::Ban;
use super::connection::ConnId;
use super::moderation_words as words;
use super::room::Room;
use super::state::ServerState;
use crate::network::lock;
use crate::network::protocol::{
    Dialect, ErrorCode, LeaveReason, ModCommand, ModNotice, Role, RoomRoles, ServerFrame, encode,
    now_rfc3339,
};
use crate::network::text::NickKey;

/// The roles, mutes and lecture of one room.
#[derive(Default)]
pub(super) struct Moderation {
    /// Roles other than member, by session.
    roles: HashMap<String, Role>,
    /// Mutes in force, by session.
    mutes: HashMap<String, Mute>,
    lecture: bool,
    /// Sessions of plain peers already told, during this lecture, that they may not write.
    lecture_told: HashSet<String>,
}

struct Mute {
    /// When it ends (`None`: when lifted).
    until: Option<Instant>,
    /// The same end on the wall clock, for people.
    ends: Option<SystemTime>,
    /// A plain peer was told once that its messages reach nobody.
    told: bool,
}

/// Who gives a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Actor {
    /// `natter serve`'s console: the host.
    Console,
    /// A member of the room, by connection.
    Member(ConnId),
}

/// Why a member may not write now; `tell` is false when a plain peer was told already.
pub(super) struct Silenced {
    pub(super) message: String,
    pub(super) tell: bool,
}

impl Moderation {
    pub(super) fn role(&self, session: &str) -> Role {
        self.roles.get(session).copied().unwrap_or_default()
    }

    /// Forgets the roles and mutes of stays this run no longer knows (`known`: they can never
    /// resume) and mutes that ran out, so what is kept stays bounded by the sessions the
    /// server remembers, however many commands are given.
    pub(super) fn forget(&mut self, known: impl Fn(&str) -> bool, now: Instant) {
        self.roles.retain(|session, _| known(session));
        self.mutes
            .retain(|session, mute| known(session) && mute.until.is_none_or(|until| until > now));
        self.lecture_told.retain(|session| known(session));
    }

    /// The stay with `session` proved it is the host's.
    pub(super) fn make_host(&mut self, session: &str) {
        self.roles.insert(session.to_string(), Role::Host);
    }

    /// The end of `session`'s mute, if it is muted (`Some(None)`: until lifted). Forgets a
    /// mute that is over. Reads the clock only for a timed mute: this runs for every message.
    fn muted(&mut self, session: &str) -> Option<Option<SystemTime>> {
        let over = (self.mutes.get(session)?.until).is_some_and(|until| until <= Instant::now());
        if over {
            self.mutes.remove(session);
            return None;
        }
        self.mutes.get(session).map(|mute| mute.ends)
    }
}

impl Room {
    /// Whether the stay `session` may not write now, and why: it is muted, or a lecture is on
    /// and it has no voice (`to_moderator`: a private message to the host or a co-host, which
    /// a lecture lets through).
    pub(super) fn silenced(&mut self, session: &str, to_moderator: bool) -> Option<Silenced> {
        let moderation = &mut self.moderation;
        if let Some(ends) = moderation.muted(session) {
            let mute = moderation.mutes.get_mut(session)?;
            let tell = !std::mem::replace(&mut mute.told, true);
            return Some(Silenced {
                message: words::still_muted(ends),
                tell,
            });
        }
        let voiceless = !moderation.role(session).may_speak_in_lecture();
        if moderation.lecture && voiceless && !to_moderator {
            let tell = moderation.lecture_told.insert(session.to_string());
            return Some(Silenced {
                message: words::LECTURE_SILENCE.to_string(),
                tell,
            });
        }
        None
    }

    /// Whether the member at `position` is the host or a co-host.
    pub(super) fn moderates(&self, position: usize) -> bool {
        (self.members.get(position)).is_some_and(|m| self.moderation.role(&m.session).moderates())
    }

    /// The roles as the member with `session` sees them.
    fn roles_for(&mut self, session: &str, host: &Option<String>, ops: &[String]) -> RoomRoles {
        let you = self.moderation.role(session);
        let muted = self.moderation.muted(session);
        RoomRoles {
            you,
            host: host.clone(),
            ops: ops.to_vec(),
            lecture: self.moderation.lecture,
            muted_until: muted.flatten().map(words::rfc3339),
            muted: muted.is_some(),
        }
    }

    fn host_and_ops(&self) -> (Option<String>, Vec<String>) {
        let role = |m: &&super::room::Member| self.moderation.role(&m.session);
        let announced = self.members.iter().filter(|m| m.announced);
        let host = (announced.clone())
            .find(|m| role(m) == Role::Host)
            .map(|m| m.nick.clone());
        let ops = announced
            .filter(|m| role(m) == Role::Op)
            .map(|m| m.nick.clone())
            .collect();
        (host, ops)
    }

    /// Sends every client that listed `moderation` (or only `only`) the room's roles as it
    /// sees them.
    pub(super) fn send_roles(&mut self, only: Option<ConnId>) {
        let (host, ops) = self.host_and_ops();
        let targets: Vec<(String, super::connection::Recipient)> = (self.members.iter())
            .filter(|m| m.hears_moderation && only.is_none_or(|id| id == m.id))
            .map(|m| (m.session.clone(), m.recipient.clone()))
            .collect();
        for (session, recipient) in targets {
            let roles = self.roles_for(&session, &host, &ops);
            recipient.send(encode(&ServerFrame::Roles(roles)).into());
        }
    }

    /// Tells everyone what happened (`text`) and the member `concerned` its own words
    /// (`to_them`), each in its dialect.
    fn tell_all(&mut self, notice: ModNotice, concerned: Option<(ConnId, String)>) {
        self.flush_presence();
        let json: Arc<[u8]> = encode(&ServerFrame::Moderation(notice.clone())).into();
        let plain: Arc<[u8]> = crate::network::plain::event(&notice.text)
            .into_bytes()
            .into();
        for member in &self.members {
            let theirs = concerned.as_ref().filter(|(id, _)| *id == member.id);
            let line = match (member.dialect, theirs) {
                (Dialect::Json, _) if !member.hears_moderation => continue,
                (Dialect::Json, Some((_, text))) => encode(&ServerFrame::Moderation(ModNotice {
                    you: true,
                    text: text.clone(),
                    ..notice.clone()
                }))
                .into(),
                (Dialect::Json, None) => Arc::clone(&json),
                (Dialect::Plain, Some((_, text))) => {
                    crate::network::plain::event(text).into_bytes().into()
                }
                (Dialect::Plain, None) => Arc::clone(&plain),
            };
            member.recipient.send(line);
        }
    }

    /// The announced member whose nickname looks like `nick`.
    fn find(&self, nick: &str) -> Option<usize> {
        let key = NickKey::of(nick);
        (self.members.iter()).position(|m| m.announced && m.key.looks_like(&key))
    }

    /// Takes the member at `position` out of the room for `code` (`kicked`, `banned`): it is
    /// told `message` and closed once that is written; everyone else reads it leave.
    fn put_out(&mut self, state: &ServerState, position: usize, code: ErrorCode, message: &str) {
        let member = self.members.remove(position);
        let detail = words::leave_detail(code);
        let line = match member.dialect {
            Dialect::Json => encode(&ServerFrame::Error {
                code,
                message: message.to_string(),
                client_id: None,
            }),
            Dialect::Plain => crate::network::plain::notice(message).into_bytes(),
        };
        member.recipient.send(line.into());
        member.recipient.queue.close_after_flush();
        (member.recipient.connection).set_end_reason(LeaveReason::Dropped, detail);
        self.free_nick(&member.nick, super::private::NAME_GRACE);
        super::file_relay::out_of_room(self, &member.session, &member.nick, LeaveReason::Dropped);
        let frame = ServerFrame::Leave {
            nick: member.nick.clone(),
            reason: LeaveReason::Dropped,
            detail: detail.to_string(),
            time: now_rfc3339(),
        };
        let plain = crate::network::plain::leave(&member.nick, LeaveReason::Dropped, detail);
        let due = self.announce(&frame, plain);
        state.presence_due_by(due);
    }
}

/// Who gives a command: its name in the calm line, its role, its connection.
struct Giver {
    name: String,
    role: Role,
    id: Option<ConnId>,
}

/// Carries out `command` for `actor`: `Ok` with an answer for the giver alone (the list of
/// bans, a lifted ban), or `Err` with why it was refused, in words.
pub(super) fn run(
    state: &Arc<ServerState>,
    actor: Actor,
    command: ModCommand,
) -> Result<Option<String>, String> {
    let mut room = lock(&state.room);
    room.moderation
        .forget(|session| state.issued_here(session), Instant::now());
    let giver = match actor {
        Actor::Console => Giver {
            name: "host".into(),
            role: Role::Host,
            id: None,
        },
        Actor::Member(id) => {
            let member = room.member(id).ok_or("You are not in the room.")?;
            Giver {
                name: member.nick.clone(),
                role: room.moderation.role(&member.session),
                id: Some(id),
            }
        }
    };
    if !giver.role.moderates() {
        return Err(words::not_a_moderator(command.word()));
    }
    let word = command.word();
    let done = match command {
        ModCommand::Mute { nick, minutes } => mute(&mut room, &giver, &nick, minutes),
        ModCommand::Unmute { nick } => unmute(&mut room, &giver, &nick),
        ModCommand::Kick { nick, reason } => kick(state, &mut room, &giver, &nick, &reason),
        ModCommand::Ban { target, minutes } => ban(state, &mut room, &giver, &target, minutes),
        ModCommand::Unban { target } => return unban(state, &room, &target).map(Some),
        ModCommand::Bans {} => return Ok(Some(bans_list(state))),
        ModCommand::Lecture { on } => lecture(&mut room, &giver, on),
        ModCommand::Voice { nick } => set_role(&mut room, &giver, &nick, word, Role::Voiced),
        ModCommand::Unvoice { nick } => set_role(&mut room, &giver, &nick, word, Role::Member),
        ModCommand::Op { nick } => set_role(&mut room, &giver, &nick, word, Role::Op),
        ModCommand::Deop { nick } => set_role(&mut room, &giver, &nick, word, Role::Member),
    };
    let text = done?;
    drop(room);
    state.emit(ServerEvent::Moderation { text });
    Ok(None)
}

/// The member `nick` names, if the giver may act on it with `word`.
fn target(room: &Room, giver: &Giver, nick: &str, word: &str) -> Result<usize, String> {
    let position = room.find(nick).ok_or_else(|| words::nobody_called(nick))?;
    let member = &room.members[position];
    if Some(member.id) == giver.id {
        return Err(words::not_yourself(word));
    }
    match room.moderation.role(&member.session) {
        Role::Host => Err(words::not_the_host(word)),
        Role::Op if giver.role != Role::Host => Err(words::not_a_co_host(word, &member.nick)),
        _ => Ok(position),
    }
}

/// When `minutes` from now ends, on both clocks.
fn ending(minutes: Option<u32>) -> (Option<Instant>, Option<SystemTime>) {
    let Some(minutes) = minutes else {
        return (None, None);
    };
    let length = Duration::from_secs(u64::from(minutes) * 60);
    (
        Instant::now().checked_add(length),
        SystemTime::now().checked_add(length),
    )
}

fn mute(
    room: &mut Room,
    giver: &Giver,
    nick: &str,
    minutes: Option<u32>,
) -> Result<String, String> {
    let position = target(room, giver, nick, "mute")?;
    let (id, nick, session) = {
        let m = &room.members[position];
        (m.id, m.nick.clone(), m.session.clone())
    };
    let (until, ends) = ending(minutes);
    let mute = Mute {
        until,
        ends,
        told: false,
    };
    room.moderation.mutes.insert(session, mute);
    let (text, to_them) = words::muted(&giver.name, &nick, minutes, ends);
    room.tell_all(
        notice("mute", giver, &nick, ends, &text),
        Some((id, to_them)),
    );
    room.send_roles(Some(id));
    Ok(text)
}

fn unmute(room: &mut Room, giver: &Giver, nick: &str) -> Result<String, String> {
    let position = target(room, giver, nick, "unmute")?;
    let (id, nick, session) = {
        let m = &room.members[position];
        (m.id, m.nick.clone(), m.session.clone())
    };
    if room.moderation.muted(&session).is_none() {
        return Err(words::not_muted(&nick));
    }
    room.moderation.mutes.remove(&session);
    let (text, to_them) = words::unmuted(&giver.name, &nick);
    room.tell_all(
        notice("unmute", giver, &nick, None, &text),
        Some((id, to_them)),
    );
    room.send_roles(Some(id));
    Ok(text)
}

fn kick(
    state: &ServerState,
    room: &mut Room,
    giver: &Giver,
    nick: &str,
    reason: &str,
) -> Result<String, String> {
    let position = target(room, giver, nick, "kick")?;
    let reason = crate::network::text::fit(&crate::network::text::single_line(reason), 200);
    let nick = room.members[position].nick.clone();
    let (text, to_them) = words::kicked(&giver.name, &nick, &reason);
    room.put_out(state, position, ErrorCode::Kicked, &to_them);
    room.tell_all(notice("kick", giver, &nick, None, &text), None);
    Ok(text)
}

fn ban(
    state: &ServerState,
    room: &mut Room,
    giver: &Giver,
    target_text: &str,
    minutes: Option<u32>,
) -> Result<String, String> {
    let (address, nick) = match target_text.trim().parse::<IpAddr>() {
        Ok(address) => (address.to_canonical(), None),
        Err(_) => {
            let position = target(room, giver, target_text, "ban")?;
            let member = &room.members[position];
            (
                member.recipient.connection.peer.ip().to_canonical(),
                Some(member.nick.clone()),
            )
        }
    };
    let at_address =
        |m: &&super::room::Member| m.recipient.connection.peer.ip().to_canonical() == address;
    // Nobody shuts themselves out.
    if (room.members.iter()).any(|m| Some(m.id) == giver.id && at_address(&m)) {
        return Err(words::own_address(address));
    }
    // Nobody bans the host, nor a co-host unless the host does, by address either.
    for member in room.members.iter().filter(at_address) {
        let role = room.moderation.role(&member.session);
        if role == Role::Host || (role == Role::Op && giver.role != Role::Host) {
            return Err(words::address_shielded(address, &member.nick, role));
        }
    }
    let (_, ends) = ending(minutes);
    let entry = Ban {
        address,
        nick: nick.clone().unwrap_or_default(),
        by: giver.name.clone(),
        until: ends
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
    };
    let kept = lock(&state.bans).add(entry);
    let shown = nick
        .clone()
        .unwrap_or_else(|| words::AN_ADDRESS.to_string());
    let (text, to_them) = words::banned(&giver.name, &shown, minutes, ends);
    while let Some(position) = (room.members.iter())
        .position(|m| m.recipient.connection.peer.ip().to_canonical() == address)
    {
        room.put_out(state, position, ErrorCode::Banned, &to_them);
    }
    room.tell_all(
        notice("ban", giver, nick.as_deref().unwrap_or(""), ends, &text),
        None,
    );
    match kept {
        Ok(()) => Ok(text),
        // The ban holds while this server runs; the giver learns it will not survive a restart.
        Err(e) => Err(format!("{text}. {e}")),
    }
}

fn unban(state: &ServerState, room: &Room, target_text: &str) -> Result<String, String> {
    let address = target_text.trim().parse::<IpAddr>().ok();
    let key = NickKey::of(target_text.trim());
    let lifted = lock(&state.bans)
        .lift(address, |nick| NickKey::of(nick).looks_like(&key))
        .map_err(|e| e.to_string())?;
    let _ = room;
    if lifted.is_empty() {
        return Err(words::no_such_ban(target_text));
    }
    Ok(words::lifted(&lifted))
}

fn bans_list(state: &ServerState) -> String {
    let now = SystemTime::now();
    words::bans(&lock(&state.bans).list(now), now)
}

fn lecture(room: &mut Room, giver: &Giver, on: bool) -> Result<String, String> {
    if room.moderation.lecture == on {
        return Err(words::lecture_already(on));
    }
    room.moderation.lecture = on;
    room.moderation.lecture_told.clear();
    let text = words::lecture(&giver.name, on);
    room.tell_all(notice("lecture", giver, "", None, &text), None);
    room.send_roles(None);
    Ok(text)
}

/// `/voice`, `/unvoice`, `/op`, `/deop`: gives the member `nick` the role `to`.
fn set_role(
    room: &mut Room,
    giver: &Giver,
    nick: &str,
    word: &str,
    to: Role,
) -> Result<String, String> {
    let is_op_word = matches!(word, "op" | "deop");
    if is_op_word && giver.role != Role::Host {
        return Err(words::only_the_host_makes_co_hosts());
    }
    let position = target(room, giver, nick, word)?;
    let (id, nick, session) = {
        let m = &room.members[position];
        (m.id, m.nick.clone(), m.session.clone())
    };
    let now = room.moderation.role(&session);
    let fits = match word {
        "voice" => now == Role::Member,
        "unvoice" => now == Role::Voiced,
        "op" => now != Role::Op,
        _ => now == Role::Op,
    };
    if !fits {
        return Err(words::role_already(word, &nick, now));
    }
    match to {
        Role::Member => room.moderation.roles.remove(&session),
        role => room.moderation.roles.insert(session, role),
    };
    let (text, to_them) = words::role_changed(&giver.name, &nick, word);
    room.tell_all(notice(word, giver, &nick, None, &text), Some((id, to_them)));
    room.send_roles(None);
    Ok(text)
}

fn notice(
    action: &str,
    giver: &Giver,
    nick: &str,
    ends: Option<SystemTime>,
    text: &str,
) -> ModNotice {
    ModNotice {
        action: action.to_string(),
        by: giver.name.clone(),
        nick: nick.to_string(),
        you: false,
        until: ends.map(words::rfc3339),
        text: text.to_string(),
        time: now_rfc3339(),
    }
}

/// The ban on `address` in force now, as the words a refused peer reads.
pub(super) fn refusal_for(state: &ServerState, address: IpAddr) -> Option<String> {
    let now = SystemTime::now();
    let ban = lock(&state.bans).find(address, now)?;
    Some(words::refused(&ban, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_mutes_of_forgotten_stays_and_mutes_that_ran_out_are_dropped() {
        let mut moderation = Moderation::default();
        let now = Instant::now();
        moderation.roles.insert("kept".into(), Role::Op);
        moderation.roles.insert("gone".into(), Role::Voiced);
        for (session, until) in [("kept", None), ("gone", None), ("over", Some(now))] {
            let mute = Mute {
                until,
                ends: None,
                told: false,
            };
            moderation.mutes.insert(session.into(), mute);
        }
        moderation.forget(|session| session != "gone", now);
        assert_eq!(moderation.role("kept"), Role::Op);
        assert_eq!(moderation.role("gone"), Role::Member);
        let mut muted: Vec<&String> = moderation.mutes.keys().collect();
        muted.sort();
        assert_eq!(muted, ["kept"]);
    }
}
