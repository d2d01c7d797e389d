//! Finding rooms without typing: hosts announce their room on the local network with UDP,
//! finders ask and listen.
//!
//! This module owns the discovery datagrams and the two threads that use them. It does not own
//! the TCP side (`network::server`, `network::client`), what a failed link means to a person
//! (`network::doctor`) or drawing the list (`ui`). The work is split by concept:
//!
//! - `datagram`: the JSON datagrams (announcement, query, goodbye, note), their limits and
//!   checks;
//! - `reach`: where datagrams go ([`Reach`]): each interface's subnet broadcast on UDP port
//!   [`DISCOVERY_PORT`] with TTL 1, or loopback unicast for tests;
//! - `pace`: when a host announces ([`Pace`], `Schedule`);
//! - `announcer`: the host's thread, `natter-announce` ([`Announcer`]);
//! - `note_gate`: how many "could not reach you" notes the host is shown, forged sources
//!   included;
//! - `room_list`: the rooms heard ([`RoomList`], [`FoundRoom`]);
//! - `finder`: the finder's thread, `natter-find` ([`Finder`]).
//!
//! Subnet broadcast rather than multicast: it needs no group membership, works on every OS
//! without IGMP snooping surprises, and a router never forwards it. docs/PROTOCOL.md §11 has
//! the datagrams.

mod announcer;
mod datagram;
mod finder;
mod note_gate;
mod pace;
mod reach;
mod room_list;

pub use announcer::{AnnounceConfig, Announcer, Note, Noted, OnNote, PeopleCount};
pub use datagram::{Announcement, Datagram, Ignored, MAX_DATAGRAM};
pub use finder::Finder;
pub use note_gate::{NOTE_WINDOW, NOTES_PER_WINDOW};
pub use pace::{BURST, Pace};
pub use reach::{DISCOVERY_PORT, Reach, broadcast_destinations};
pub use room_list::{FoundRoom, MAX_ROOMS, RoomList};
