//! The rooms a finder has heard: kept fresh by announcements, dropped by goodbyes and by time.
//!
//! Owns [`FoundRoom`] and [`RoomList`]: pure bookkeeping over `Instant`s, no sockets. The
//! address to join is the announcement's source address with the announced TCP port.
//!
//! An announcement is unauthenticated: anyone on the link can send one with any `id`, name
//! and key. So an entry is one (address to join, announced key) pair, the two things a
//! connection can check, and never the `id` a datagram merely claims: a second host claiming
//! a room is a second entry, never a rewrite of the first. A goodbye counts only from the
//! socket that announced the room. Whether a key is trusted is not decided here (the app
//! compares entries with its pins; PROTOCOL.md §11).

use crate::network::tls::Fingerprint;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::datagram::Announcement;

/// Rooms kept at most; a flood of made-up rooms cannot grow the list beyond this.
pub const MAX_ROOMS: usize = 64;

/// A room heard on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRoom {
    /// The host's instance id for this run.
    pub id: String,
    pub room: String,
    pub host: String,
    /// Where to connect: the address the announcement came from, at the announced TCP port.
    pub addr: SocketAddr,
    pub people: u32,
    /// The Natter protocol version the host speaks.
    pub version: u32,
    /// Where the announcement came from (its UDP source), for a "could not reach you" note.
    pub from: SocketAddr,
    pub last_heard: Instant,
    /// The host key it announced, if any. It proves nothing by itself: a connection to the
    /// room is held to it (PROTOCOL.md §12).
    pub key: Option<Fingerprint>,
}

impl FoundRoom {
    /// Whether `other` is the same entry: the same address to join and the same announced key.
    pub fn same_entry(&self, other: &FoundRoom) -> bool {
        self.addr == other.addr && self.key == other.key
    }

    /// Not heard for `dim_after`: shown faded.
    pub fn is_fading(&self, now: Instant, dim_after: Duration) -> bool {
        now.saturating_duration_since(self.last_heard) >= dim_after
    }
}

/// Rooms by (address to join, announced key), sorted by name for showing.
#[derive(Debug, Default)]
pub struct RoomList {
    rooms: Vec<FoundRoom>,
}

impl RoomList {
    /// An announcement from `from` heard at `now`: refreshes the entry with the same address
    /// and key, or adds one. Another host's entry is never touched, whatever `id` it claims.
    pub fn heard(&mut self, announcement: Announcement, from: SocketAddr, now: Instant) {
        let room = FoundRoom {
            addr: SocketAddr::new(from.ip(), announcement.port),
            id: announcement.id,
            room: announcement.room,
            host: announcement.host,
            people: announcement.people,
            version: announcement.version,
            from,
            last_heard: now,
            key: announcement.key.as_deref().and_then(Fingerprint::from_text),
        };
        if let Some(known) = self.rooms.iter_mut().find(|r| r.same_entry(&room)) {
            *known = room;
        } else if self.rooms.len() < MAX_ROOMS {
            self.rooms.push(room);
        } else {
            return;
        }
        self.rooms.sort_by(|a, b| {
            (
                a.room.to_lowercase(),
                &a.host,
                a.addr,
                a.key.map(|k| k.to_text()),
            )
                .cmp(&(
                    b.room.to_lowercase(),
                    &b.host,
                    b.addr,
                    b.key.map(|k| k.to_text()),
                ))
        });
    }

    /// A goodbye for room `id` at TCP `port`, sent from `from`: drops the entries that socket
    /// announced under that id and port. A goodbye from anywhere else drops nothing.
    pub fn gone(&mut self, id: &str, port: u16, from: SocketAddr) {
        self.rooms
            .retain(|r| !(r.id == id && r.from == from && r.addr.port() == port));
    }

    /// Forgets rooms not heard for `fade_after`.
    pub fn expire(&mut self, now: Instant, fade_after: Duration) {
        self.rooms
            .retain(|r| now.saturating_duration_since(r.last_heard) < fade_after);
    }

    pub fn rooms(&self) -> &[FoundRoom] {
        &self.rooms
    }

    /// The room that listens at `addr`, if one was heard.
    pub fn at(&self, addr: SocketAddr) -> Option<&FoundRoom> {
        self.rooms.iter().find(|r| r.addr == addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announcement(id: &str, room: &str, port: u16) -> Announcement {
        Announcement {
            version: 1,
            id: id.into(),
            room: room.into(),
            host: "alice".into(),
            port,
            people: 1,
            key: None,
        }
    }

    fn key(byte: u8) -> String {
        format!("sha256:{}", format!("{byte:02x}").repeat(32))
    }

    fn with_key(a: Announcement, byte: u8) -> Announcement {
        Announcement {
            key: Some(key(byte)),
            ..a
        }
    }

    #[test]
    fn rooms_are_refreshed_by_address_and_key_sorted_by_name_and_addressed_at_their_source() {
        let now = Instant::now();
        let from: SocketAddr = "10.0.0.7:5050".parse().unwrap();
        let mut list = RoomList::default();
        list.heard(announcement("00000000000000aa", "zeta", 6000), from, now);
        list.heard(announcement("00000000000000bb", "Alpha", 5050), from, now);
        list.heard(
            Announcement {
                people: 4,
                ..announcement("00000000000000aa", "zeta", 6000)
            },
            from,
            now,
        );
        let names: Vec<_> = list.rooms().iter().map(|r| r.room.as_str()).collect();
        assert_eq!(names, ["Alpha", "zeta"]);
        assert_eq!(list.rooms()[1].people, 4);
        assert_eq!(list.rooms()[1].addr, "10.0.0.7:6000".parse().unwrap());
        assert!(list.at("10.0.0.7:5050".parse().unwrap()).is_some());
    }

    #[test]
    fn rooms_go_on_goodbye_or_after_fade_after_and_dim_before() {
        let t0 = Instant::now();
        let from: SocketAddr = "10.0.0.7:5050".parse().unwrap();
        let mut list = RoomList::default();
        list.heard(announcement("00000000000000aa", "a", 1), from, t0);
        list.heard(announcement("00000000000000bb", "b", 2), from, t0);
        list.gone("00000000000000aa", 1, from);
        assert_eq!(list.rooms().len(), 1);
        let dim = Duration::from_secs(6);
        assert!(!list.rooms()[0].is_fading(t0 + Duration::from_secs(5), dim));
        assert!(list.rooms()[0].is_fading(t0 + Duration::from_secs(6), dim));
        list.expire(t0 + Duration::from_secs(15), Duration::from_secs(16));
        assert_eq!(list.rooms().len(), 1);
        list.expire(t0 + Duration::from_secs(16), Duration::from_secs(16));
        assert!(list.rooms().is_empty());
    }

    #[test]
    fn the_list_holds_at_most_max_rooms() {
        let now = Instant::now();
        let from: SocketAddr = "10.0.0.7:5050".parse().unwrap();
        let mut list = RoomList::default();
        for i in 0..(MAX_ROOMS + 10) {
            list.heard(
                announcement(&format!("{i:016x}"), "flood", 1 + i as u16),
                from,
                now,
            );
        }
        assert_eq!(list.rooms().len(), MAX_ROOMS);
    }

    #[test]
    fn an_impostor_claiming_a_rooms_id_is_a_second_entry_and_rewrites_nothing() {
        let now = Instant::now();
        let real: SocketAddr = "10.0.0.7:5050".parse().unwrap();
        let impostor: SocketAddr = "10.0.0.66:5050".parse().unwrap();
        let id = "00000000000000aa";
        let mut list = RoomList::default();
        list.heard(with_key(announcement(id, "Lab 3", 5050), 1), real, now);
        list.heard(with_key(announcement(id, "Lab 3", 5050), 2), impostor, now);
        // The same address with another key (a spoofed source address) is a third entry.
        list.heard(with_key(announcement(id, "Lab 3", 5050), 3), real, now);
        let entries: Vec<_> = list
            .rooms()
            .iter()
            .map(|r| (r.addr, r.key.map(|k| k.to_text())))
            .collect();
        assert_eq!(
            entries,
            [
                (real, Some(key(1))),
                (real, Some(key(3))),
                (impostor, Some(key(2))),
            ]
        );
        // The real host's next announcement refreshes its own entry only.
        list.heard(
            Announcement {
                people: 5,
                ..with_key(announcement(id, "Lab 3", 5050), 1)
            },
            real,
            now,
        );
        assert_eq!(list.rooms().len(), 3);
        let people: Vec<_> = list.rooms().iter().map(|r| r.people).collect();
        assert_eq!(people, [5, 1, 1]);
    }

    #[test]
    fn a_goodbye_counts_only_from_the_socket_that_announced_the_room_and_for_its_port() {
        let now = Instant::now();
        let real: SocketAddr = "10.0.0.7:5050".parse().unwrap();
        let impostor: SocketAddr = "10.0.0.66:5050".parse().unwrap();
        let id = "00000000000000aa";
        let mut list = RoomList::default();
        list.heard(with_key(announcement(id, "Lab 3", 6000), 1), real, now);
        list.gone(id, 6000, impostor);
        list.gone(id, 6000, "10.0.0.7:40000".parse().unwrap());
        list.gone(id, 5050, real);
        list.gone("00000000000000bb", 6000, real);
        assert_eq!(list.rooms().len(), 1, "no goodbye from elsewhere counts");
        list.gone(id, 6000, real);
        assert!(list.rooms().is_empty(), "the host's own goodbye does");
    }
}
