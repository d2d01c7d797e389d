//! The words of running a room: the calm line everyone reads ("dana muted bob for 10
//! minutes"), the same addressed to the person concerned ("dana muted you for 10 minutes; it
//! ends at 14:32"), and why a command was refused. Times are the host's local time.
//!
//! Owns wording only; `moderation` decides what happened. Nicknames here were cleaned when
//! they were taken; a kick's reason is cleaned by the caller.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::bans::Ban;
use crate::network::protocol::{ErrorCode, Role};

/// What the room is told of a ban of an address nobody was connected from.
pub(super) const AN_ADDRESS: &str = "an address";

/// What someone without a voice reads when it writes during a lecture.
pub(super) const LECTURE_SILENCE: &str = "A lecture is on: only the host, co-hosts and those given a voice may write to the room. Your message was not sent; a private message to the host still goes through.";

/// `time` as the protocol writes times (RFC 3339, UTC, milliseconds).
pub(super) fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `14:32` today, else `Tue 3 Dec 14:32`, in the host's local time.
fn clock(time: SystemTime) -> String {
    let local = chrono::DateTime::<chrono::Local>::from(time);
    if local.date_naive() == chrono::Local::now().date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%a %-d %b %H:%M").to_string()
    }
}

/// `for 10 minutes`, `for 2 hours`, `for 3 days`; `None`: `until lifted` words are the caller's.
fn span(minutes: u32) -> String {
    let (n, unit) = match minutes {
        m if m >= 1440 && m % 1440 == 0 => (m / 1440, "day"),
        m if m >= 60 && m % 60 == 0 => (m / 60, "hour"),
        m => (m, "minute"),
    };
    format!("for {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What is left of `left`, roughly: `52 more minutes`, `3 more hours`.
fn left_words(left: Duration) -> String {
    let minutes = left.as_secs().div_ceil(60).max(1);
    match minutes {
        m if m > 2 * 1440 => format!("{} more days", m / 1440),
        m if m > 120 => format!("{} more hours", m / 60),
        1 => "1 more minute".to_string(),
        m => format!("{m} more minutes"),
    }
}

/// Everyone's line and the muted member's.
pub(super) fn muted(
    by: &str,
    nick: &str,
    minutes: Option<u32>,
    ends: Option<SystemTime>,
) -> (String, String) {
    match (minutes, ends) {
        (Some(minutes), Some(ends)) => (
            format!("{by} muted {nick} {}", span(minutes)),
            format!(
                "{by} muted you {}; it ends at {}. Until then your messages reach nobody.",
                span(minutes),
                clock(ends)
            ),
        ),
        _ => (
            format!("{by} muted {nick}"),
            format!("{by} muted you: your messages reach nobody until you are unmuted."),
        ),
    }
}

/// What a muted member reads when it writes anyway.
pub(super) fn still_muted(ends: Option<SystemTime>) -> String {
    match ends {
        Some(ends) => format!(
            "You are muted until {}: your messages reach nobody. This one was not sent.",
            clock(ends)
        ),
        None => "You are muted: your messages reach nobody until you are unmuted. This one was not sent.".into(),
    }
}

pub(super) fn unmuted(by: &str, nick: &str) -> (String, String) {
    (
        format!("{by} unmuted {nick}"),
        format!("{by} unmuted you: you may write again."),
    )
}

pub(super) fn kicked(by: &str, nick: &str, reason: &str) -> (String, String) {
    if reason.is_empty() {
        (
            format!("{by} kicked {nick}"),
            format!("{by} kicked you out of the room. You may come back."),
        )
    } else {
        (
            format!("{by} kicked {nick} ({reason})"),
            format!("{by} kicked you out of the room: {reason}. You may come back."),
        )
    }
}

pub(super) fn banned(
    by: &str,
    shown: &str,
    minutes: Option<u32>,
    ends: Option<SystemTime>,
) -> (String, String) {
    match (minutes, ends) {
        (Some(minutes), Some(ends)) => (
            format!("{by} banned {shown} {}", span(minutes)),
            format!(
                "{by} banned you from this room {}; it ends at {}.",
                span(minutes),
                clock(ends)
            ),
        ),
        _ => (
            format!("{by} banned {shown}"),
            format!("{by} banned you from this room."),
        ),
    }
}

/// What a banned address reads when it connects.
pub(super) fn refused(ban: &Ban, now: SystemTime) -> String {
    let by = if ban.by.is_empty() {
        "the host"
    } else {
        &ban.by
    };
    match (ban.left(now), ban.ends()) {
        (Some(left), Some(ends)) => format!(
            "This address is banned from this room by {by} for {} (until {}).",
            left_words(left),
            clock(ends)
        ),
        _ => format!("This address is banned from this room by {by}."),
    }
}

pub(super) fn lecture(by: &str, on: bool) -> String {
    if on {
        format!(
            "{by} started a lecture: only the host, co-hosts and those given a voice may write; private messages to the host still work"
        )
    } else {
        format!("{by} ended the lecture: everyone may write again")
    }
}

pub(super) fn role_changed(by: &str, nick: &str, word: &str) -> (String, String) {
    match word {
        "voice" => (
            format!("{by} gave {nick} a voice"),
            format!("{by} gave you a voice: you may write during a lecture."),
        ),
        "unvoice" => (
            format!("{by} took {nick}'s voice"),
            format!("{by} took your voice: during a lecture you may only read."),
        ),
        "op" => (
            format!("{by} made {nick} a co-host"),
            format!(
                "{by} made you a co-host: you have the host's tools (/mute, /kick, /ban, /lecture, /voice; /help lists them)."
            ),
        ),
        _ => (
            format!("{by} made {nick} a member again"),
            format!("{by} made you a member again: you are no longer a co-host."),
        ),
    }
}

/// The leave's detail everyone reads for a member put out.
pub(super) fn leave_detail(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Banned => "banned",
        _ => "kicked",
    }
}

pub(super) fn lifted(bans: &[Ban]) -> String {
    let names: Vec<String> = bans.iter().map(described).collect();
    format!("Lifted the ban on {}.", names.join(", "))
}

fn described(ban: &Ban) -> String {
    match ban.nick.is_empty() {
        true => ban.address.to_string(),
        false => format!("{} ({})", ban.address, ban.nick),
    }
}

/// The answer to `/bans`.
pub(super) fn bans(bans: &[Ban], now: SystemTime) -> String {
    if bans.is_empty() {
        return "Nobody is banned.".into();
    }
    let lines: Vec<String> = bans
        .iter()
        .map(|ban| {
            let how_long = match ban.left(now) {
                Some(left) => left_words(left),
                None => "until lifted".to_string(),
            };
            format!("{}, by {}, {how_long}", described(ban), ban.by)
        })
        .collect();
    format!("Banned ({}): {}.", bans.len(), lines.join("; "))
}

pub(super) fn not_a_moderator(word: &str) -> String {
    format!("Only the host and co-hosts can use /{word}.")
}

pub(super) fn nobody_called(nick: &str) -> String {
    format!(
        "Nobody called {} is in the room.",
        crate::network::text::quote(nick, 24)
    )
}

pub(super) fn not_yourself(word: &str) -> String {
    format!("You cannot /{word} yourself.")
}

pub(super) fn not_the_host(word: &str) -> String {
    format!("Nobody can /{word} the host.")
}

pub(super) fn not_a_co_host(word: &str, nick: &str) -> String {
    format!("{nick} is a co-host: only the host can /{word} a co-host.")
}

pub(super) fn only_the_host_makes_co_hosts() -> String {
    "Only the host can make or unmake co-hosts.".into()
}

pub(super) fn not_muted(nick: &str) -> String {
    format!("{nick} is not muted.")
}

pub(super) fn no_such_ban(target: &str) -> String {
    format!(
        "No ban on {} (/bans lists them).",
        crate::network::text::quote(target, 40)
    )
}

pub(super) fn lecture_already(on: bool) -> String {
    match on {
        true => "A lecture is on already.".into(),
        false => "No lecture is on.".into(),
    }
}

pub(super) fn address_shielded(address: IpAddr, nick: &str, role: Role) -> String {
    match role {
        Role::Host => format!("{address} is the host's address ({nick}): nobody can ban the host."),
        _ => format!("{address} is co-host {nick}'s address: only the host can ban a co-host."),
    }
}

/// A ban of the address the giver itself connects from (another person behind the same
/// router, or on the same computer).
pub(super) fn own_address(address: IpAddr) -> String {
    format!(
        "{address} is the address you connect from too: banning it would shut you out. /kick or /mute them instead."
    )
}

pub(super) fn role_already(word: &str, nick: &str, now: Role) -> String {
    match (word, now) {
        ("voice", Role::Op) => format!("{nick} is a co-host and may write already."),
        ("voice", _) => format!("{nick} has a voice already."),
        ("unvoice", _) => format!("{nick} has no voice to take."),
        ("op", _) => format!("{nick} is a co-host already."),
        _ => format!("{nick} is not a co-host."),
    }
}

/// What the console answers a line that is no command of its own.
pub(super) fn console_help() -> String {
    let usage: Vec<&str> = (crate::network::command_line::MODERATION_USAGE.iter())
        .take(7)
        .map(|(_, usage)| *usage)
        .collect();
    format!("Commands: {}; /who.", usage.join("; "))
}
