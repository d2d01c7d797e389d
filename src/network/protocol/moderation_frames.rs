//! The frames of running a room (PROTOCOL.md §15): what a host or co-host asks, and what the
//! room is told.
//!
//! Owns the shapes on the wire: [`ModCommand`] (a `moderate` frame's `action` and its
//! fields, also what the one command parser reads from `/mute NICK 10` and the like), the
//! roles a member may have ([`Role`]), the calm line everyone reads ([`ModNotice`]) and the
//! room's roles as a client learns them ([`RoomRoles`]). Does not own who may do what or what
//! it does (see `server::moderation`).

use serde::{Deserialize, Serialize};

/// The hello feature a client lists to be sent `moderation`, `roles` and `notice` frames (§10:
/// a new frame type goes only to clients that asked for it).
pub const FEATURE_MODERATION: &str = "moderation";

/// The longest mute or ban in minutes (ten years): beyond it, "for good" is what is meant.
pub const MAX_MINUTES: u32 = 10 * 366 * 24 * 60;

/// A member's standing in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everyone else.
    #[default]
    Member,
    /// May write during a lecture (`/voice`).
    Voiced,
    /// A co-host (`/op`): the host's tools, but not over the host or other co-hosts.
    Op,
    /// The person hosting: the window that runs the server (its own link), or `natter serve`'s
    /// console.
    Host,
}

impl Role {
    /// Host or co-host: may use the moderation commands.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Op | Role::Host)
    }

    /// May write while a lecture is on.
    pub fn may_speak_in_lecture(self) -> bool {
        self != Role::Member
    }
}

/// One moderation command, as a `moderate` frame carries it (`"action"` names it) and as
/// `/mute`, `/kick`… are read by the command parser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ModCommand {
    /// Their messages reach nobody, for `minutes` or until `unmute`.
    Mute {
        nick: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u32>,
    },
    Unmute {
        nick: String,
    },
    /// Disconnects them with `reason`; they may come back.
    Kick {
        nick: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// Refuses their address (a nickname names the address it is connected from) for
    /// `minutes` or for good; everyone connected from it is disconnected.
    Ban {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minutes: Option<u32>,
    },
    /// Lets an address (or the address a banned nickname had) in again.
    Unban {
        target: String,
    },
    /// Lists the bans (answered with a `notice`).
    Bans {},
    /// Only the host, co-hosts and the voiced may write to the room while it is on.
    Lecture {
        on: bool,
    },
    Voice {
        nick: String,
    },
    Unvoice {
        nick: String,
    },
    /// Makes them a co-host (the host only).
    Op {
        nick: String,
    },
    Deop {
        nick: String,
    },
}

impl ModCommand {
    /// The command's word, as typed after `/`.
    pub fn word(&self) -> &'static str {
        match self {
            ModCommand::Mute { .. } => "mute",
            ModCommand::Unmute { .. } => "unmute",
            ModCommand::Kick { .. } => "kick",
            ModCommand::Ban { .. } => "ban",
            ModCommand::Unban { .. } => "unban",
            ModCommand::Bans {} => "bans",
            ModCommand::Lecture { .. } => "lecture",
            ModCommand::Voice { .. } => "voice",
            ModCommand::Unvoice { .. } => "unvoice",
            ModCommand::Op { .. } => "op",
            ModCommand::Deop { .. } => "deop",
        }
    }
}

/// What happened, told to everyone who listed `moderation` (the `moderation` frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModNotice {
    /// The command's word: `mute`, `unmute`, `kick`, `ban`, `unban`, `lecture`, `voice`,
    /// `unvoice`, `op`, `deop`; or `unmuted` when a mute ran out.
    pub action: String,
    /// Who did it: a nickname, or `host` for `natter serve`'s console, empty when the host's
    /// clock did it (a mute ran out).
    pub by: String,
    /// Who it was done to (empty for `lecture`, and for a ban of an address nobody was
    /// connected from).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nick: String,
    /// `true` in the copy sent to the person it was done to.
    #[serde(default, skip_serializing_if = "is_false")]
    pub you: bool,
    /// When a mute or a ban ends (RFC 3339, UTC); absent: until undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The line to show, e.g. `dana muted bob for 10 minutes` (to bob: `dana muted you for 10
    /// minutes; it ends at 14:32`, in the host's local time).
    pub text: String,
    pub time: String,
}

/// The room's roles, sent after `accepted` and whenever one changes (the `roles` frame).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoomRoles {
    /// This client's own role.
    #[serde(default)]
    pub you: Role,
    /// The host's nickname, when the host chats in its room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The co-hosts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<String>,
    /// A lecture is on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lecture: bool,
    /// This client is muted until then (RFC 3339; absent: not muted, or `muted` says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<String>,
    /// This client is muted (with no end when `muted_until` is absent).
    #[serde(default, skip_serializing_if = "is_false")]
    pub muted: bool,
}

fn is_false(flag: &bool) -> bool {
    !*flag
}
