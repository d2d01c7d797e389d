//! Members whose link dropped, held in the room for the grace a resume needs.
//!
//! Owns marking a member as away ([`hold`]) and announcing the leave of those whose grace ran
//! out ([`expire`]). Why: a Natter client whose link drops redials and resumes its session
//! within seconds; announcing "eve left" then "eve joined" for each such blip told the room
//! of a departure that never happened. A held member keeps its name and its place in the list;
//! what is said meanwhile reaches it in its resume's history (its queue is gone with its old
//! connection). Does not decide who may be held (see `Handler::leave_room`) nor resume anyone
//! (see `json_dialect`, which takes a held member over like one whose link still looks open).

use std::time::Instant;

use super::ServerEvent;
use super::handler::announce_leave;
use super::state::ServerState;
use crate::network::lock;
use crate::network::protocol::LeaveReason;
use crate::network::text::single_line;

/// Why and since when a member's link is gone: what the room is told if it does not come back.
pub(super) struct Away {
    since: Instant,
    reason: LeaveReason,
    detail: String,
}

/// Keeps `member` in the room while its link is gone: nobody is told, yet.
pub(super) fn hold(member: &mut super::room::Member, reason: LeaveReason, detail: &str) {
    member.away = Some(Away {
        since: Instant::now(),
        reason,
        detail: detail.to_string(),
    });
}

/// Takes out of the room every held member whose grace ran out by `now`, and tells everyone
/// it left, with the reason its link ended for. Called twice a second by each I/O thread:
/// cheap when nobody is held.
pub(super) fn expire(state: &ServerState, now: Instant) {
    let grace = state.config.member_grace;
    let late = |member: &super::room::Member| {
        (member.away.as_ref())
            .is_some_and(|away| now.saturating_duration_since(away.since) >= grace)
    };
    let mut room = lock(&state.room);
    if !room.members.iter().any(late) {
        return;
    }
    let mut gone = Vec::new();
    let mut position = 0;
    while position < room.members.len() {
        if late(&room.members[position]) {
            gone.push(room.members.remove(position));
        } else {
            position += 1;
        }
    }
    let mut left = Vec::new();
    for member in gone {
        let Some(away) = member.away.as_ref() else {
            continue;
        };
        announce_leave(state, &mut room, &member, away.reason, &away.detail);
        left.push((member.nick.clone(), away.reason, away.detail.clone()));
    }
    drop(room);
    for (nick, reason, detail) in left {
        log::info!(
            "{} left ({reason:?}): {}; its link did not come back within {} s",
            single_line(&nick),
            single_line(&detail),
            grace.as_secs_f32()
        );
        state.emit(ServerEvent::Left {
            nick,
            reason,
            detail,
        });
    }
}
