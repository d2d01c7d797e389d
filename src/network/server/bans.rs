//! The room's bans: addresses refused at connect, until a time or for good, kept in a file in
//! the host's data folder so they survive a restart.
//!
//! Owns [`BanList`]: adding, lifting, expiring and finding a ban by address, and writing the
//! list to its file (owner-only, written whole to a temporary file then renamed, so a crash
//! leaves the old list or the new one, never half). Does not decide who may ban whom (see
//! `moderation`) nor refuse anyone (`handler` asks [`BanList::find`] when a peer connects).
//!
//! Times in the file are wall-clock (seconds since the Unix epoch), since a restart loses
//! every `Instant`.

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file name of the bans in the host's data folder, beside its identity.
pub const BANS_FILE: &str = "bans.json";

/// Why the bans file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BansError {
    #[error("Could not read the bans in {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "The bans in {path} are not readable ({source}); they were left as they are and this room starts without them."
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("Could not keep the bans in {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// One banned address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub address: IpAddr,
    /// The nickname it had when banned by name (so `/unban bob` finds it), else empty.
    #[serde(default)]
    pub nick: String,
    /// Who banned it.
    #[serde(default)]
    pub by: String,
    /// When it ends, in seconds since the Unix epoch; `None`: until lifted.
    #[serde(default)]
    pub until: Option<u64>,
}

impl Ban {
    /// Time left at `now`; `None`: for good. Zero once over.
    pub fn left(&self, now: SystemTime) -> Option<Duration> {
        let until = UNIX_EPOCH + Duration::from_secs(self.until?);
        Some(until.duration_since(now).unwrap_or_default())
    }

    fn over(&self, now: SystemTime) -> bool {
        self.left(now).is_some_and(|left| left.is_zero())
    }

    /// When it ends, as a wall-clock time.
    pub fn ends(&self) -> Option<SystemTime> {
        self.until
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
    }
}

/// The bans of one server, and where they are kept.
#[derive(Debug, Default)]
pub struct BanList {
    bans: Vec<Ban>,
    file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct BansFile {
    bans: Vec<Ban>,
}

impl BanList {
    /// The bans kept in `file` (none if it does not exist yet), or none kept anywhere.
    pub fn load(file: Option<&Path>) -> Result<BanList, BansError> {
        let Some(path) = file else {
            return Ok(BanList::default());
        };
        let mut list = BanList {
            bans: Vec::new(),
            file: Some(path.to_path_buf()),
        };
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(list),
            Err(source) => {
                return Err(BansError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let kept: BansFile = serde_json::from_str(&text).map_err(|source| BansError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        list.bans = kept.bans;
        list.expire(SystemTime::now());
        Ok(list)
    }

    /// A list kept nowhere, for when the file could not be read (so it is not overwritten).
    pub fn unkept() -> BanList {
        BanList::default()
    }

    /// The ban on `address` in force at `now`, if any. An IPv4 address seen as IPv6
    /// (`::ffff:192.168.1.7`, on a host listening on `::`) is the same address.
    pub fn find(&mut self, address: IpAddr, now: SystemTime) -> Option<Ban> {
        self.expire(now);
        let address = address.to_canonical();
        self.bans.iter().find(|b| b.address == address).cloned()
    }

    /// Bans `address` (replacing an earlier ban of it) and keeps the list.
    pub fn add(&mut self, mut ban: Ban) -> Result<(), BansError> {
        ban.address = ban.address.to_canonical();
        self.bans.retain(|b| b.address != ban.address);
        self.bans.push(ban);
        self.save()
    }

    /// Lifts the bans of `address`, or of the address banned under nickname `nick` (as the
    /// room compares names: `same_name`). Returns the bans lifted.
    pub fn lift(
        &mut self,
        address: Option<IpAddr>,
        same_name: impl Fn(&str) -> bool,
    ) -> Result<Vec<Ban>, BansError> {
        let address = address.map(|a| a.to_canonical());
        let (lifted, kept): (Vec<Ban>, Vec<Ban>) =
            std::mem::take(&mut self.bans).into_iter().partition(|b| {
                Some(b.address) == address || (!b.nick.is_empty() && same_name(&b.nick))
            });
        self.bans = kept;
        if !lifted.is_empty() {
            self.save()?;
        }
        Ok(lifted)
    }

    /// The bans in force at `now`, oldest first.
    pub fn list(&mut self, now: SystemTime) -> Vec<Ban> {
        self.expire(now);
        self.bans.clone()
    }

    /// Forgets the bans that are over (the file is rewritten with the next change).
    fn expire(&mut self, now: SystemTime) {
        self.bans.retain(|b| !b.over(now));
    }

    /// Writes the list to its file, if it has one: owner-only, whole or not at all.
    fn save(&self) -> Result<(), BansError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let kept = BansFile {
            bans: self.bans.clone(),
        };
        let text = serde_json::to_string_pretty(&kept).unwrap_or_default();
        write_owner_only(path, text.as_bytes()).map_err(|source| BansError::Write {
            path: path.clone(),
            source,
        })
    }
}

/// Writes `bytes` to a new temporary file beside `path` (owner-only), syncs it and renames it
/// over `path`.
fn write_owner_only(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(folder)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    let temporary = path.with_file_name(name);
    let written = crate::network::owner_only::file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .and_then(|mut file| {
            // An older temporary file may have had other rights: make sure.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(fs::Permissions::from_mode(0o600))?;
            }
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ban(address: &str, nick: &str, until: Option<u64>) -> Ban {
        Ban {
            address: address.parse().unwrap(),
            nick: nick.into(),
            by: "dana".into(),
            until,
        }
    }

    #[test]
    fn bans_are_kept_in_an_owner_only_file_and_read_back_without_the_expired_ones() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(BANS_FILE);
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let mut list = BanList::load(Some(&path)).unwrap();
        list.add(ban("10.0.0.7", "bob", None)).unwrap();
        list.add(ban("10.0.0.8", "", Some(secs + 600))).unwrap();
        list.add(ban("10.0.0.9", "", Some(secs - 1))).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        }
        let mut again = BanList::load(Some(&path)).unwrap();
        let kept: Vec<String> = (again.list(now).iter())
            .map(|b| b.address.to_string())
            .collect();
        assert_eq!(kept, ["10.0.0.7", "10.0.0.8"]);
        let left = again
            .find("10.0.0.8".parse().unwrap(), now)
            .unwrap()
            .left(now);
        assert!(
            left.is_some_and(|l| l <= Duration::from_secs(600) && l > Duration::from_secs(590))
        );
        let lifted = again.lift(None, |nick| nick == "bob").unwrap();
        assert_eq!(lifted.len(), 1);
        assert!(
            BanList::load(Some(&path))
                .unwrap()
                .find("10.0.0.7".parse().unwrap(), now)
                .is_none()
        );
    }

    #[test]
    fn an_ipv4_address_seen_as_ipv6_is_the_same_banned_address() {
        let mut list = BanList::default();
        list.add(ban("::ffff:10.0.0.7", "", None)).unwrap();
        let now = SystemTime::now();
        assert!(list.find("10.0.0.7".parse().unwrap(), now).is_some());
        assert!(list.find("::ffff:10.0.0.7".parse().unwrap(), now).is_some());
        assert!(list.find("10.0.0.8".parse().unwrap(), now).is_none());
        assert_eq!(
            list.lift(Some("10.0.0.7".parse().unwrap()), |_| false)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn an_unreadable_bans_file_is_an_error_in_words_naming_the_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(BANS_FILE);
        fs::write(&path, "not json").unwrap();
        let error = BanList::load(Some(&path)).unwrap_err().to_string();
        assert!(
            error.contains("bans.json") && error.contains("not readable"),
            "{error}"
        );
    }
}
