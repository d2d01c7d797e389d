//! The frames of file transfers (PROTOCOL.md §13) and their limits.
//!
//! Owns the shapes on the wire: an offer, a person's answer to it, the data of one delivery
//! (one copy of the file to one person) and its acknowledgements. Does not own what the
//! server or a client does with them (see `server::file_relay` and `client::transfers`).

use serde::{Deserialize, Serialize};

/// The hello feature a client lists to be sent file frames (§10: a new frame type goes only
/// to clients that asked for it).
pub const FEATURE_FILES: &str = "files";
/// Most file bytes in one `file_chunk` (before base64): as large as fits, as base64 with the
/// frame around it, in a line of 64 KiB (the default `max_line_bytes`), so there are few.
pub const CHUNK_BYTES: usize = 45 * 1024;
/// Most bytes a sender may have sent of one delivery beyond the receiver's last `file_ack`.
/// Bounds what the host holds per delivery, whatever the file's size.
pub const WINDOW_BYTES: u64 = 8 * 1024 * 1024;
/// The largest file a host carries unless its owner says otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Deliveries a host carries at once unless its owner says otherwise.
pub const DEFAULT_MAX_TRANSFERS: usize = 8;
/// Longest file id a client may choose.
pub const MAX_FILE_ID_BYTES: usize = 64;
/// Longest offered file name the host relays, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// What `welcome` says about files on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileLimits {
    /// The largest file this host carries, in bytes.
    pub max_bytes: u64,
    /// Deliveries this host carries at once (everyone's together).
    pub max_transfers: usize,
    /// See [`WINDOW_BYTES`].
    pub window_bytes: u64,
    /// See [`CHUNK_BYTES`].
    pub chunk_bytes: usize,
    /// The host takes and sends `file_data` frames of at most this many bytes (absent: it
    /// knows only `file_chunk`). See [`super::DATA_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_bytes: Option<usize>,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_bytes: DEFAULT_MAX_FILE_BYTES,
            max_transfers: DEFAULT_MAX_TRANSFERS,
            window_bytes: WINDOW_BYTES,
            chunk_bytes: CHUNK_BYTES,
            data_bytes: None,
        }
    }
}

/// A client offering a file: `file_offer`, client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRequest {
    /// Chosen by the sender: 1 to 64 of `A-Z a-z 0-9 _ -`, not in use on this host.
    pub id: String,
    pub name: String,
    pub size: u64,
    /// SHA-256 of the whole file, 64 hex digits.
    pub sha256: String,
    /// For this nickname alone (a private offer); absent: for the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A file on offer as the server relays it: `file_offer`, server → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    pub id: String,
    pub from: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Whether an offer id is one a client may choose.
pub fn valid_file_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_FILE_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `sha256` is 64 hex digits.
pub fn valid_sha256(sha256: &str) -> bool {
    sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_chunk_with_the_longest_id_and_offset_fits_the_default_line_limit() {
        let data = base64_simd::STANDARD.encode_to_string(vec![0u8; CHUNK_BYTES]);
        let frame = crate::network::protocol::ServerFrame::FileChunk {
            id: "x".repeat(MAX_FILE_ID_BYTES),
            offset: u64::MAX,
            data,
        };
        let line = crate::network::protocol::encode(&frame);
        assert!(
            line.len() - 1 <= crate::network::protocol::MAX_LINE_BYTES,
            "{}",
            line.len()
        );
    }

    #[test]
    fn file_ids_are_short_runs_of_letters_digits_dashes_and_underscores() {
        assert!(valid_file_id("a1_B-2"));
        assert!(!valid_file_id(""));
        assert!(!valid_file_id("a b"));
        assert!(!valid_file_id("../x"));
        assert!(!valid_file_id(&"x".repeat(MAX_FILE_ID_BYTES + 1)));
    }
}
