//! The disk side of file transfers: cleaning a name someone offered, writing an incoming
//! file safely into the download folder, and hashing and reading a file someone sends.
//!
//! Owns: [`FileError`], the SHA-256 hex form, the default download folder, human-readable
//! sizes and the chunk size. Does not own anything on the wire (offers, acceptance, chunk
//! frames and resuming belong to the network side) and shows nothing on screen.

mod incoming;
mod name;
mod outgoing;
mod writeback;

pub use incoming::{Chunk, IncomingFile};
pub use name::{clean_file_name, with_number};
pub use outgoing::OutgoingFile;

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong with a file on disk. Each message is a sentence a person can
/// act on and names the file or folder; names offered by a peer appear only cleaned.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("The download folder {} does not exist. Create it or choose another folder.", folder.display())]
    FolderMissing { folder: PathBuf },
    #[error("{} is not a folder. Choose a folder to save downloads in.", folder.display())]
    NotAFolder { folder: PathBuf },
    #[error("Could not create a file in {}: {source}. Check that you may write there.", folder.display())]
    CreateTemp { folder: PathBuf, source: io::Error },
    #[error("Could not write {name} to disk: {source}. Check that there is free space.")]
    Write { name: String, source: io::Error },
    #[error(
        "The sender sent more of {name} than the {size} bytes it offered; the download was stopped."
    )]
    MoreThanOffered { name: String, size: u64 },
    #[error("{name} is not complete yet: {written} of {size} bytes arrived.")]
    Incomplete {
        name: String,
        written: u64,
        size: u64,
    },
    #[error(
        "The file {name} arrived damaged (its SHA-256 does not match what the sender announced); nothing was saved."
    )]
    HashMismatch { name: String },
    #[error("Could not save {name} in {}: that name and the numbered names up to (9999) are all taken. Tidy the folder or choose another one.", folder.display())]
    NoFreeName { name: String, folder: PathBuf },
    #[error("Could not save {name} in {}: {source}. Nothing was saved.", folder.display())]
    Place {
        name: String,
        folder: PathBuf,
        source: io::Error,
    },
    #[error("Could not open {}: {source}. Check that the file exists and you may read it.", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{} is a folder or a special file, not a regular file; only files can be sent.", path.display())]
    NotAFile { path: PathBuf },
    #[error("Could not read {}: {source}.", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} changed since it was offered (it is now shorter); offer it again.", path.display())]
    Changed { path: PathBuf },
}

/// A SHA-256 digest as 64 lowercase hex digits, the form offers carry and people compare.
pub fn sha256_hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Reads 64 hex digits (either case) back into a digest; anything else is `None`, so a
/// malformed offer is refused rather than half-read.
pub fn sha256_from_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        *out = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
    }
    Some(digest)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Where downloads go unless the person chose another folder: the system's Downloads folder,
/// else `Downloads` in the home folder, else the temporary folder (so there is always an
/// answer; [`IncomingFile::create`] says clearly if it does not exist).
pub fn default_download_dir() -> PathBuf {
    let user_dirs = directories::UserDirs::new();
    user_dirs
        .as_ref()
        .and_then(|dirs| dirs.download_dir().map(Path::to_path_buf))
        .or_else(|| {
            user_dirs
                .as_ref()
                .map(|dirs| dirs.home_dir().join("Downloads"))
        })
        .unwrap_or_else(std::env::temp_dir)
}

/// A size as people read it: "512 bytes", "2.1 MB", "1.0 GB". Decimal units (1 kB = 1000
/// bytes) as file managers on most systems show them, one decimal from kB up.
/// Why a file over a host's limit is not carried: both sizes, exact when rounding would
/// make them read the same.
pub fn too_large(name: &str, size: u64, max: u64) -> String {
    let (size_text, max_text) = (human_size(size), human_size(max));
    if size_text == max_text {
        return format!("{name} is {size} bytes; this host carries files up to {max} bytes.");
    }
    format!("{name} is {size_text}; this host carries files up to {max_text}.")
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        let noun = if bytes == 1 { "byte" } else { "bytes" };
        return format!("{bytes} {noun}");
    }
    // f64 is exact enough for one decimal; the rounding check keeps 999_999 from
    // showing as "1000.0 kB" instead of "1.0 MB".
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while (value * 10.0).round() >= 10_000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_round_trips_through_from_hex_in_either_case() {
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 9) as u8);
        let hex = sha256_hex(&digest);
        assert_eq!(hex.len(), 64);
        assert_eq!(hex, hex.to_lowercase());
        assert_eq!(sha256_from_hex(&hex), Some(digest));
        assert_eq!(sha256_from_hex(&hex.to_uppercase()), Some(digest));
    }

    #[test]
    fn sha256_from_hex_refuses_wrong_length_and_non_hex() {
        assert_eq!(sha256_from_hex(&"a".repeat(63)), None);
        assert_eq!(sha256_from_hex(&"a".repeat(65)), None);
        assert_eq!(sha256_from_hex(&format!("{}g", "a".repeat(63))), None);
        // 32 two-byte characters are 64 bytes but not hex.
        assert_eq!(sha256_from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn human_size_shows_bytes_below_a_kilobyte() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(999), "999 bytes");
    }

    #[test]
    fn human_size_uses_decimal_units_with_one_decimal() {
        assert_eq!(human_size(1000), "1.0 kB");
        assert_eq!(human_size(2_100_000), "2.1 MB");
        assert_eq!(human_size(1_000_000_000), "1.0 GB");
        assert_eq!(human_size(u64::MAX), "18.4 EB");
    }

    #[test]
    fn human_size_moves_to_the_next_unit_when_rounding_reaches_1000() {
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(human_size(999_940), "999.9 kB");
    }

    #[test]
    fn default_download_dir_is_an_absolute_path() {
        assert!(default_download_dir().is_absolute());
    }
}
