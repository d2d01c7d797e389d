//! Which host key is trusted for a host: by the address connected to and, for a room joined
//! from the network list, by the room's `id`.
//!
//! Owns the pin keys (an address as `host:port`; a room `id`), reading and writing them in
//! [`Settings`], and the one decision the Connect tab, its list and Join share:
//! [`trusted_key_for`]. Does not own checking a key (the client does, right after the TLS
//! handshake and before sending anything) or what a person is shown (`app`, `ui`).
//!
//! Why pins by room too: a room announcement is unauthenticated, so anyone can announce the
//! real room's `id` at their own address with their own key. A person who joined that room
//! before must be held to the key they trusted for it, whatever address the entry shows.

use serde::{Deserialize, Serialize};

use crate::network::client::parse_address;
use crate::network::discovery::FoundRoom;
use crate::network::protocol::DEFAULT_PORT;
use crate::network::tls::Fingerprint;
use crate::settings::Settings;

/// Rooms whose key is remembered; the oldest is forgotten first. A room's `id` is new at every
/// start of its host, so these matter for one run of a host; the address pin outlives it.
pub const MAX_KNOWN_ROOMS: usize = 64;

/// The key trusted for one room, by the `id` it announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownRoom {
    pub id: String,
    pub key: Fingerprint,
}

/// The key an address is pinned under: `host:port` (`[v6]:port`), the port defaulted and a
/// computer name in lowercase, so `192.168.1.20` typed and `192.168.1.20:5050` joined from
/// the list are one host. `None` for text that is not an address.
pub fn address_pin(address: &str) -> Option<String> {
    let (host, port) = parse_address(address).ok()?;
    let host = host.to_lowercase();
    Some(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// The forms older settings may hold the same address under: as typed, and bare when the port
/// is the default one.
fn older_forms(address: &str) -> Vec<String> {
    let typed = address.trim().to_string();
    let mut forms = vec![typed.clone()];
    if let Ok((host, DEFAULT_PORT)) = parse_address(&typed) {
        forms.push(host);
    }
    forms
}

impl Settings {
    /// The key trusted for the host at `address`, if any.
    pub fn pinned_address(&self, address: &str) -> Option<Fingerprint> {
        address_pin(address)
            .into_iter()
            .chain(older_forms(address))
            .find_map(|form| self.known_hosts.get(&form).copied())
    }

    /// Trusts `key` for the host at `address`, replacing what was trusted. Only a person's
    /// explicit choice may call this over an existing pin (the host-key warning's box).
    pub fn pin_address(&mut self, address: &str, key: Fingerprint) {
        for form in older_forms(address) {
            self.known_hosts.remove(&form);
        }
        let pin = address_pin(address).unwrap_or_else(|| address.trim().to_string());
        self.known_hosts.insert(pin, key);
    }

    /// Trusts `key` for `address` unless a key is trusted for it already (trust on first use).
    pub fn pin_address_if_new(&mut self, address: &str, key: Fingerprint) {
        if self.pinned_address(address).is_none() {
            self.pin_address(address, key);
        }
    }

    /// The key trusted for the room that announced `id`, if any.
    pub fn pinned_room(&self, id: &str) -> Option<Fingerprint> {
        self.known_rooms.iter().find(|r| r.id == id).map(|r| r.key)
    }

    /// Trusts `key` for room `id`, replacing what was trusted (see [`Settings::pin_address`]).
    pub fn pin_room(&mut self, id: &str, key: Fingerprint) {
        self.known_rooms.retain(|r| r.id != id);
        self.known_rooms.insert(
            0,
            KnownRoom {
                id: id.to_string(),
                key,
            },
        );
        self.known_rooms.truncate(MAX_KNOWN_ROOMS);
    }

    /// Trusts `key` for room `id` unless a key is trusted for it already.
    pub fn pin_room_if_new(&mut self, id: &str, key: Fingerprint) {
        if self.pinned_room(id).is_none() {
            self.pin_room(id, key);
        }
    }
}

/// The key a connection to the list entry `room` is held to, if one is trusted: the room's own
/// pin first (its `id` joined before, or another entry of `rooms` claiming the same `id` from
/// a pinned address with that address's key: the real host beside an impostor), else the
/// pin of the entry's address. The room's pin comes first because it is the room a person
/// means when they press Join; the address is only where the announcement came from.
pub fn trusted_key_for(
    settings: &Settings,
    room: &FoundRoom,
    rooms: &[FoundRoom],
) -> Option<Fingerprint> {
    settings
        .pinned_room(&room.id)
        .or_else(|| {
            rooms.iter().filter(|r| r.id == room.id).find_map(|r| {
                let key = r.key?;
                (settings.pinned_address(&r.addr.to_string()) == Some(key)).then_some(key)
            })
        })
        .or_else(|| settings.pinned_address(&room.addr.to_string()))
}

/// The trusted key, when the entry announces another one (or none): the list marks such an
/// entry before anyone presses Join.
pub fn differing_key(
    settings: &Settings,
    room: &FoundRoom,
    rooms: &[FoundRoom],
) -> Option<Fingerprint> {
    trusted_key_for(settings, room, rooms).filter(|trusted| room.key != Some(*trusted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn key(byte: u8) -> Fingerprint {
        Fingerprint::from_text(&format!("sha256:{}", format!("{byte:02x}").repeat(32))).unwrap()
    }

    fn entry(id: &str, addr: &str, key_byte: Option<u8>) -> FoundRoom {
        FoundRoom {
            id: id.into(),
            room: "Lab 3".into(),
            host: "alice".into(),
            addr: addr.parse().unwrap(),
            people: 1,
            version: 1,
            from: addr.parse().unwrap(),
            last_heard: Instant::now(),
            key: key_byte.map(key),
        }
    }

    #[test]
    fn an_address_typed_bare_or_older_settings_forms_find_the_same_pin() {
        let mut settings = Settings::default();
        settings.known_hosts.insert("192.168.1.20".into(), key(1));
        assert_eq!(settings.pinned_address("192.168.1.20:5050"), Some(key(1)));
        assert_eq!(settings.pinned_address(" 192.168.1.20 "), Some(key(1)));
        assert_eq!(settings.pinned_address("192.168.1.20:6000"), None);
        settings.pin_address_if_new("192.168.1.20:5050", key(2));
        assert_eq!(
            settings.pinned_address("192.168.1.20"),
            Some(key(1)),
            "kept"
        );
        settings.pin_address("192.168.1.20:5050", key(2));
        assert_eq!(
            settings.known_hosts.keys().collect::<Vec<_>>(),
            ["192.168.1.20:5050"],
            "one form, the older one replaced"
        );
        settings.pin_address("LabPC", key(3));
        assert_eq!(settings.pinned_address("labpc:5050"), Some(key(3)));
        settings.pin_address("[::1]:7000", key(4));
        assert_eq!(settings.pinned_address("[::1]:7000"), Some(key(4)));
    }

    #[test]
    fn room_pins_are_newest_first_bounded_and_replaced_only_by_pin_room() {
        let mut settings = Settings::default();
        for i in 0..(MAX_KNOWN_ROOMS + 5) {
            settings.pin_room(&format!("{i:016x}"), key(1));
        }
        assert_eq!(settings.known_rooms.len(), MAX_KNOWN_ROOMS);
        assert_eq!(settings.pinned_room(&format!("{:016x}", 0)), None);
        let newest = format!("{:016x}", MAX_KNOWN_ROOMS + 4);
        settings.pin_room_if_new(&newest, key(2));
        assert_eq!(settings.pinned_room(&newest), Some(key(1)));
        settings.pin_room(&newest, key(2));
        assert_eq!(settings.pinned_room(&newest), Some(key(2)));
    }

    #[test]
    fn an_entry_claiming_a_pinned_room_at_another_address_is_held_to_the_rooms_key() {
        let id = "00000000000000aa";
        let real = entry(id, "10.0.0.7:5050", Some(1));
        let impostor = entry(id, "10.0.0.66:5050", Some(2));
        let rooms = [real.clone(), impostor.clone()];
        // Pinned by joining the room from the list.
        let mut by_room = Settings::default();
        by_room.pin_room(id, key(1));
        assert_eq!(trusted_key_for(&by_room, &impostor, &rooms), Some(key(1)));
        assert_eq!(differing_key(&by_room, &impostor, &rooms), Some(key(1)));
        assert_eq!(differing_key(&by_room, &real, &rooms), None);
        // Pinned by typing the real host's address: the real entry beside it names the key.
        let mut by_address = Settings::default();
        by_address.pin_address("10.0.0.7", key(1));
        assert_eq!(
            trusted_key_for(&by_address, &impostor, &rooms),
            Some(key(1))
        );
        assert_eq!(differing_key(&by_address, &real, &rooms), None);
        // Alone in the list, an impostor with a room id never joined is a first visit.
        assert_eq!(
            trusted_key_for(&by_address, &impostor, std::slice::from_ref(&impostor)),
            None
        );
        // An entry at a pinned address announcing another key, or none, is marked.
        let spoofed = entry("00000000000000bb", "10.0.0.7:5050", Some(3));
        assert_eq!(differing_key(&by_address, &spoofed, &rooms), Some(key(1)));
        let keyless = entry("00000000000000bb", "10.0.0.7:5050", None);
        assert_eq!(differing_key(&by_address, &keyless, &rooms), Some(key(1)));
    }
}
