//! The rooms a finder has heard: kept fresh by announcements, dropped by goodbyes and by time.
//!
//! Owns [`FoundRoom`] and [`RoomList`]: pure bookkeeping over `Instant`s, no sockets. The
//! address to join is the announcement's source address with the announced TCP port.

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
    /// The host key it announced, if any (checked on the first connection).
    pub key: Option<Fingerprint>,
}

impl FoundRoom {
    /// Not heard for `dim_after`: shown faded.
    pub fn is_fading(&self, now: Instant, dim_after: Duration) -> bool {
        now.saturating_duration_since(self.last_heard) >= dim_after
    }
}

/// Rooms by instance id, sorted by name for showing.
#[derive(Debug, Default)]
pub struct RoomList {
    rooms: Vec<FoundRoom>,
}

impl RoomList {
    /// An announcement from `from` heard at `now`: adds the room or refreshes it.
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
        if let Some(known) = self.rooms.iter_mut().find(|r| r.id == room.id) {
            *known = room;
        } else if self.rooms.len() < MAX_ROOMS {
            self.rooms.push(room);
        } else {
            return;
        }
        self.rooms.sort_by(|a, b| {
            (a.room.to_lowercase(), &a.host, a.addr).cmp(&(b.room.to_lowercase(), &b.host, b.addr))
        });
    }

    /// The host said goodbye.
    pub fn gone(&mut self, id: &str) {
        self.rooms.retain(|r| r.id != id);
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

    #[test]
    fn rooms_are_refreshed_by_id_sorted_by_name_and_addressed_at_their_source() {
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
        list.gone("00000000000000aa");
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
}
