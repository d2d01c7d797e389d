//! The discovery datagrams: what they hold, how they are written and how they are read.
//!
//! Owns [`Datagram`] (announcement, query, goodbye, "could not reach you" note), the size
//! limit and the checks that make a foreign or hostile datagram harmless: anything too big,
//! not JSON, of an unknown kind or with a field out of range is refused as a whole, and every
//! text field is cleaned and cut before it leaves this module. No sockets, no threads.

use serde::{Deserialize, Serialize};

use crate::network::text::fit;
use crate::network::tls::Fingerprint;

/// The largest datagram sent or read; anything longer is ignored unread.
pub const MAX_DATAGRAM: usize = 512;
/// Longest room name in an announcement, in characters, "…" included (longer ones are cut
/// to 63 and end with it).
pub const MAX_ROOM_CHARS: usize = 64;
/// Longest host name in an announcement, in characters, "…" included.
pub const MAX_HOST_CHARS: usize = 32;
/// An instance id: 16 lowercase hex digits (64 random bits).
pub const ID_HEX_DIGITS: usize = 16;

/// One discovery datagram. On the wire: one JSON object whose `"natter"` field names the kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "natter", rename_all = "snake_case")]
pub enum Datagram {
    /// "A room is hosted here": sent by a host a few times when it starts, then at a steady
    /// pace, and in answer to a [`Datagram::Who`].
    Room(Announcement),
    /// "Who is hosting?": sent by a finder when it starts looking.
    Who {
        #[serde(default = "version_one")]
        version: u32,
    },
    /// "This room has stopped": sent once by a host when it stops.
    Gone { id: String, port: u16 },
    /// "Someone here could not reach your port": sent by a client that heard the room
    /// announced but could not open a TCP connection to it. Only ever shown, never acted on.
    Unreachable { id: String, port: u16 },
}

fn version_one() -> u32 {
    1
}

/// What a host says about its room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The Natter protocol version the host speaks on TCP (`hello`'s `version`).
    pub version: u32,
    /// This run of the host: random, so a restarted host is a new room.
    pub id: String,
    pub room: String,
    /// The host's nickname (or, for `natter serve`, the computer's name).
    pub host: String,
    /// The TCP port to connect to, at the address the datagram came from.
    pub port: u16,
    /// People in the room, the host included.
    pub people: u32,
    /// The host's key fingerprint (`sha256:` and 64 hex digits), once links are encrypted;
    /// absent until then. Anyone can announce any key: it proves nothing until a connection
    /// checks it (PROTOCOL.md §11, §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Why a datagram was ignored; counted, never logged one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("longer than {MAX_DATAGRAM} bytes")]
    TooBig,
    #[error("not a Natter discovery datagram")]
    Foreign,
    #[error("a field is out of range")]
    OutOfRange,
}

impl Announcement {
    /// This announcement with its names cleaned and cut to their limits (the "…" counted), and
    /// the room name cut further if need be, so that it fits [`MAX_DATAGRAM`] whatever the
    /// people count: 64 characters of 4 bytes, a host name of 32 and a key would not.
    pub fn fitted(self) -> Announcement {
        let host = fit(self.host.trim(), MAX_HOST_CHARS);
        let mut room_chars = MAX_ROOM_CHARS;
        loop {
            let fitted = Announcement {
                room: fit(self.room.trim(), room_chars),
                host: host.clone(),
                ..self.clone()
            };
            let widest = Announcement {
                people: u32::MAX,
                ..fitted.clone()
            };
            if room_chars <= 1 || Datagram::Room(widest).encode().len() <= MAX_DATAGRAM {
                return fitted;
            }
            room_chars -= 1;
        }
    }
}

impl Datagram {
    /// The bytes to send. Announcements are made to fit [`MAX_DATAGRAM`] by
    /// [`Announcement::fitted`]; the sender still checks.
    pub fn encode(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a received datagram. Text fields come back cleaned, on one line and cut to their
    /// limits; anything malformed is refused whole.
    pub fn decode(bytes: &[u8]) -> Result<Datagram, Ignored> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(Ignored::TooBig);
        }
        let datagram: Datagram = serde_json::from_slice(bytes).map_err(|_| Ignored::Foreign)?;
        datagram.checked()
    }

    fn checked(self) -> Result<Datagram, Ignored> {
        match self {
            Datagram::Room(a) => {
                if !valid_id(&a.id) || a.port == 0 || a.version == 0 {
                    return Err(Ignored::OutOfRange);
                }
                // A key is read whole or the room is not listed: a key cut or garbled into
                // "no key" would let the room be joined as a first visit (issue 25).
                let key = match a.key.as_deref().map(Fingerprint::from_text) {
                    None => None,
                    Some(Some(key)) => Some(key.to_text()),
                    Some(None) => return Err(Ignored::OutOfRange),
                };
                Ok(Datagram::Room(Announcement {
                    room: fit(a.room.trim(), MAX_ROOM_CHARS),
                    host: fit(a.host.trim(), MAX_HOST_CHARS),
                    key,
                    ..a
                }))
            }
            Datagram::Gone { id, port } | Datagram::Unreachable { id, port }
                if !valid_id(&id) || port == 0 =>
            {
                Err(Ignored::OutOfRange)
            }
            other => Ok(other),
        }
    }
}

fn valid_id(id: &str) -> bool {
    id.len() == ID_HEX_DIGITS && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A new instance id from the OS's secure random source; if it has none, from the clock and
/// the process id (an id only has to differ between hosts, not be secret).
pub fn new_instance_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default() as u64;
        bytes = (nanos ^ u64::from(std::process::id()).rotate_left(32)).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> Announcement {
        Announcement {
            version: 1,
            id: "0123456789abcdef".into(),
            room: "Lab 3".into(),
            host: "alice".into(),
            port: 5050,
            people: 3,
            key: None,
        }
    }

    #[test]
    fn an_announcement_is_the_documented_json_and_reads_back() {
        let bytes = Datagram::Room(room()).encode();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"{"natter":"room","version":1,"id":"0123456789abcdef","room":"Lab 3","host":"alice","port":5050,"people":3}"#
        );
        assert_eq!(Datagram::decode(&bytes), Ok(Datagram::Room(room())));
    }

    #[test]
    fn query_goodbye_and_note_are_the_documented_json() {
        assert_eq!(
            Datagram::decode(br#"{"natter":"who","version":1}"#),
            Ok(Datagram::Who { version: 1 })
        );
        assert_eq!(
            Datagram::decode(br#"{"natter":"who"}"#),
            Ok(Datagram::Who { version: 1 })
        );
        let gone = Datagram::Gone {
            id: "0123456789abcdef".into(),
            port: 5050,
        };
        assert_eq!(
            String::from_utf8_lossy(&gone.encode()),
            r#"{"natter":"gone","id":"0123456789abcdef","port":5050}"#
        );
        let note = br#"{"natter":"unreachable","id":"0123456789abcdef","port":5050}"#;
        assert!(matches!(
            Datagram::decode(note),
            Ok(Datagram::Unreachable { port: 5050, .. })
        ));
    }

    #[test]
    fn oversized_foreign_and_out_of_range_datagrams_are_refused() {
        let mut big = Datagram::Room(room()).encode();
        big.resize(MAX_DATAGRAM + 1, b' ');
        assert_eq!(Datagram::decode(&big), Err(Ignored::TooBig));
        for foreign in [
            &b""[..],
            b"M-SEARCH * HTTP/1.1\r\n",
            b"\xff\xfe",
            br#"{"natter":"teleport"}"#,
            br#"{"type":"hello"}"#,
            br#"[1,2,3]"#,
            br#"{"natter":"room","version":1,"id":"0123456789abcdef","room":"x","host":"y","port":"5050","people":1}"#,
        ] {
            assert_eq!(Datagram::decode(foreign), Err(Ignored::Foreign), "{foreign:?}");
        }
        for bad in [
            r#"{"natter":"room","version":1,"id":"xyz","room":"x","host":"y","port":5050,"people":1}"#,
            r#"{"natter":"room","version":1,"id":"0123456789abcdef","room":"x","host":"y","port":0,"people":1}"#,
            r#"{"natter":"gone","id":"0123456789abcdeg","port":5050}"#,
        ] {
            assert_eq!(
                Datagram::decode(bad.as_bytes()),
                Err(Ignored::OutOfRange),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_announced_key_reads_back_whole_and_a_malformed_key_refuses_the_room() {
        let text = format!("sha256:{}", "ab".repeat(32));
        let bytes = Datagram::Room(Announcement {
            key: Some(text.to_uppercase().replace("SHA256", "sha256")),
            ..room()
        })
        .encode();
        let Ok(Datagram::Room(read)) = Datagram::decode(&bytes) else {
            panic!("should decode");
        };
        assert_eq!(read.key.as_deref(), Some(text.as_str()));
        for bad in [
            "sha256:abc",
            "made-up",
            "",
            &format!("sha256:{}", "zz".repeat(32)),
            &format!("md5:{}", "ab".repeat(32)),
        ] {
            let bytes = Datagram::Room(Announcement {
                key: Some(bad.to_string()),
                ..room()
            })
            .encode();
            assert_eq!(Datagram::decode(&bytes), Err(Ignored::OutOfRange), "{bad}");
        }
    }

    #[test]
    fn names_are_cleaned_put_on_one_line_and_cut() {
        let long = "é".repeat(100);
        let hostile = Announcement {
            room: format!("\u{1b}]0;PWNED\u{7}Lab\n3 {long}"),
            host: "\u{1b}[31malice\r".into(),
            ..room()
        };
        let bytes = serde_json::to_vec(&Datagram::Room(hostile)).unwrap();
        let Ok(Datagram::Room(read)) = Datagram::decode(&bytes) else {
            panic!("should decode");
        };
        assert!(read.room.starts_with("Lab 3 éé"), "{}", read.room);
        assert_eq!(read.room.chars().count(), MAX_ROOM_CHARS);
        assert!(read.room.ends_with('…'));
        assert_eq!(read.host, "alice");
    }

    #[test]
    fn a_fitted_announcement_keeps_names_within_their_limits_and_fits_the_datagram() {
        let key = format!("sha256:{}", "ab".repeat(32));
        let fitted = Announcement {
            room: "😀".repeat(100),
            host: "字".repeat(40),
            key: Some(key.clone()),
            people: u32::MAX,
            ..room()
        }
        .fitted();
        assert_eq!(fitted.host.chars().count(), MAX_HOST_CHARS);
        assert!(fitted.host.ends_with('…'));
        assert!(fitted.room.chars().count() <= MAX_ROOM_CHARS);
        assert!(fitted.room.ends_with('…'));
        let bytes = Datagram::Room(fitted.clone()).encode();
        assert!(bytes.len() <= MAX_DATAGRAM, "{}", bytes.len());
        assert_eq!(Datagram::decode(&bytes), Ok(Datagram::Room(fitted)));
        // A short ASCII name is left alone, and one of 65 loses its last two for the "…".
        let ascii = Announcement {
            room: "r".repeat(65),
            host: "h".repeat(33),
            ..room()
        }
        .fitted();
        assert_eq!(ascii.room, format!("{}…", "r".repeat(63)));
        assert_eq!(ascii.host, format!("{}…", "h".repeat(31)));
        assert_eq!(room().fitted(), room());
    }

    #[test]
    fn a_key_is_read_whole_and_a_malformed_one_makes_the_datagram_out_of_range() {
        let key = format!("sha256:{}", "0f".repeat(32));
        let with_key = Announcement {
            key: Some(key.clone()),
            ..room()
        };
        let bytes = Datagram::Room(with_key.clone()).encode();
        assert_eq!(Datagram::decode(&bytes), Ok(Datagram::Room(with_key)));
        let bad = Announcement {
            key: Some("sha256:nothex".into()),
            ..room()
        };
        let bytes = Datagram::Room(bad).encode();
        assert_eq!(Datagram::decode(&bytes), Err(Ignored::OutOfRange));
    }

    #[test]
    fn unknown_fields_are_ignored_so_later_versions_can_add_some() {
        let bytes = br#"{"natter":"room","version":1,"id":"0123456789ABCDEF","room":"x","host":"y","port":1,"people":0,"colour":"teal"}"#;
        assert!(matches!(Datagram::decode(bytes), Ok(Datagram::Room(_))));
    }

    #[test]
    fn instance_ids_are_sixteen_hex_digits_and_differ() {
        let a = new_instance_id();
        assert!(valid_id(&a), "{a}");
        assert_ne!(a, new_instance_id());
    }
}
