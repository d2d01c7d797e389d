//! A file someone sends, on its way into the download folder.
//!
//! Owns: the hidden temporary file, appending chunks in order, the running SHA-256, and
//! putting the finished file in place under a free name without ever replacing anything or
//! following a symlink; removing the temporary file whenever a download does not finish.
//! Does not own the wire (which chunk to ask for after a reconnect is the network side's
//! business: it asks from [`IncomingFile::written`]) nor asking the person anything.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ring::digest;

use super::FileError;
use super::name::{clean_file_name, with_number};
use super::writeback::Writeback;

/// Highest number tried after a name is taken (`photo (9999).jpg`); past that the folder is
/// more likely under attack or in a loop than full of honest downloads.
const MAX_NUMBER: u32 = 9999;

/// Attempts at a fresh temporary name. 64 random bits never clash by chance, so a clash
/// means someone planted the name; a few tries are plenty.
const TEMP_NAME_ATTEMPTS: usize = 8;

/// What [`IncomingFile::write_chunk`] did with a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// It started where the data on disk ends and was appended.
    Appended,
    /// It started elsewhere (a repeat after a resume, or stray data) and was not written.
    Ignored,
}

/// A download in progress: a hidden temporary file in the download folder that becomes the
/// real file only when every byte is there and the SHA-256 matches. Dropping it, as a
/// crashed transfer thread does, removes the temporary file.
pub struct IncomingFile {
    dir: PathBuf,
    name: String,
    file: File,
    temp: TempPath,
    hasher: digest::Context,
    written: u64,
    writeback: Writeback,
    size: u64,
    sha256: [u8; 32],
}

impl IncomingFile {
    /// Starts a download of `size` bytes into `dir`, saved in the end under the cleaned form
    /// of `offered_name`. Name, size and hash come from the sender and are not trusted: the
    /// name is cleaned, the size caps what is written, the hash is checked at the end.
    pub fn create(
        dir: &Path,
        offered_name: &str,
        size: u64,
        sha256: [u8; 32],
    ) -> Result<IncomingFile, FileError> {
        check_folder(dir)?;
        let name = clean_file_name(offered_name);
        let (file, temp) = create_temp(dir, &name)?;
        Ok(IncomingFile {
            dir: dir.to_path_buf(),
            name,
            file,
            temp,
            hasher: digest::Context::new(&digest::SHA256),
            written: 0,
            writeback: Writeback::default(),
            size,
            sha256,
        })
    }

    /// Bytes on disk, contiguous from the start: where a resumed transfer continues.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The size the sender offered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The cleaned name the file is saved under, before any " (1)" a taken name needs.
    pub fn final_name(&self) -> &str {
        &self.name
    }

    /// Where the data is written until the download finishes.
    pub fn temp_path(&self) -> &Path {
        &self.temp.path
    }

    /// Takes the chunk that starts at `offset`. Only a chunk starting exactly where the data
    /// on disk ends is written, so repeats after a reconnect are harmless; a chunk reaching
    /// past the offered size is an error, since the sender is not keeping its word.
    pub fn write_chunk(&mut self, offset: u64, data: &[u8]) -> Result<Chunk, FileError> {
        let end = u64::try_from(data.len())
            .ok()
            .and_then(|len| offset.checked_add(len));
        if end.is_none_or(|end| end > self.size) {
            return Err(FileError::MoreThanOffered {
                name: self.name.clone(),
                size: self.size,
            });
        }
        if offset != self.written {
            return Ok(Chunk::Ignored);
        }
        self.append(data)?;
        Ok(Chunk::Appended)
    }

    /// Whether every offered byte is on disk.
    pub fn is_complete(&self) -> bool {
        self.written == self.size
    }

    /// Checks the SHA-256 and puts the file in place under its cleaned name, or the first
    /// free numbered name. Returns where it was saved. On any error nothing is left behind:
    /// not the temporary file, and not a file under the final name.
    pub fn finish(self) -> Result<PathBuf, FileError> {
        if !self.is_complete() {
            return Err(FileError::Incomplete {
                name: self.name.clone(),
                written: self.written,
                size: self.size,
            });
        }
        let IncomingFile {
            dir,
            name,
            file,
            temp,
            hasher,
            sha256,
            ..
        } = self;
        if hasher.finish().as_ref() != sha256 {
            // Closed before the temporary file is removed, as Windows prefers.
            drop(file);
            return Err(FileError::HashMismatch { name });
        }
        // On disk before it carries its real name, so a crash never leaves a file that looks
        // finished but is not (the writeback of all but the last window started on the way,
        // so this waits for little); closed so that Windows lets it be renamed.
        file.sync_all().map_err(|source| FileError::Write {
            name: name.clone(),
            source,
        })?;
        drop(file);
        let (path, placed) = place(&temp.path, &dir, &name)?;
        temp.settle(placed);
        Ok(path)
    }

    /// Stops the download and removes the temporary file.
    pub fn cancel(self) {
        // Dropping removes the temporary file; this method says so where it is called.
        drop(self);
    }

    fn append(&mut self, data: &[u8]) -> Result<(), FileError> {
        // Seek first: a write that failed half-way left the cursor past `written`, and a
        // retry must land where the complete data ends.
        let position = SeekFrom::Start(self.written);
        let result = self
            .file
            .seek(position)
            .and_then(|_| self.file.write_all(data));
        result.map_err(|source| FileError::Write {
            name: self.name.clone(),
            source,
        })?;
        self.hasher.update(data);
        self.written += data.len() as u64;
        self.writeback.appended(&self.file, self.written);
        Ok(())
    }
}

/// By hand, because the running hash has no `Debug`; shows where the download stands.
impl std::fmt::Debug for IncomingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingFile")
            .field("name", &self.name)
            .field("temp", &self.temp.path)
            .field("written", &self.written)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The temporary file's path, removed when dropped unless the file was put in place by a
/// move. Kept apart from [`IncomingFile`] so that `finish` can take the file apart.
struct TempPath {
    path: PathBuf,
    armed: bool,
}

impl TempPath {
    /// After the file was put in place: a hard link leaves the temporary name to remove, a
    /// move leaves nothing (and something else might since have taken that name).
    fn settle(mut self, placed: Placed) {
        if placed == Placed::Moved {
            self.armed = false;
        }
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.armed {
            // Nothing to tell anyone if this fails: the download already failed or finished,
            // and a hidden ".natter-part" file is all that is left.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Refuses a missing folder or a file in its place before anything is created.
fn check_folder(dir: &Path) -> Result<(), FileError> {
    let folder = dir.to_path_buf();
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(FileError::NotAFolder { folder }),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(FileError::FolderMissing { folder }),
        Err(source) => Err(FileError::CreateTemp { folder, source }),
    }
}

/// Creates `.{name}.{16 random hex}.natter-part` in `dir`, hidden so file managers do not
/// show half a file. `create_new` (O_EXCL) never opens, follows or replaces anything
/// already there, symlinks included.
fn create_temp(dir: &Path, name: &str) -> Result<(File, TempPath), FileError> {
    let failed = |source| FileError::CreateTemp {
        folder: dir.to_path_buf(),
        source,
    };
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let path = dir.join(format!(
            ".{name}.{}.natter-part",
            random_hex().map_err(failed)?
        ));
        match new_file_options().open(&path) {
            Ok(file) => return Ok((file, TempPath { path, armed: true })),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(failed(source)),
        }
    }
    Err(failed(io::Error::new(
        ErrorKind::AlreadyExists,
        "every temporary name tried was already taken",
    )))
}

fn new_file_options() -> OpenOptions {
    // Readable by the person only: other accounts on the machine have no business reading
    // what someone sent them. The finished file keeps this mode.
    let mut options = crate::network::owner_only::file_options();
    options.write(true).create_new(true);
    options
}

/// 16 hex digits from the system's secure random source, so the temporary name cannot be
/// guessed and planted in advance.
fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// How the finished file got its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    Linked,
    Moved,
}

/// Gives the temporary file its name, or the first free numbered name, and returns the
/// path. Hard links first: `link` fails if anything is at the destination, a dangling
/// symlink included, and never follows one. Filesystems without hard links (FAT, some
/// network shares) get a move that does not replace instead.
fn place(temp: &Path, dir: &Path, name: &str) -> Result<(PathBuf, Placed), FileError> {
    let mut can_link = true;
    for n in 0..=MAX_NUMBER {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            with_number(name, n)
        };
        let dest = dir.join(candidate);
        match place_at(temp, &dest, &mut can_link) {
            Ok(placed) => return Ok((dest, placed)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(source) => {
                let (name, folder) = (name.to_string(), dir.to_path_buf());
                return Err(FileError::Place {
                    name,
                    folder,
                    source,
                });
            }
        }
    }
    Err(FileError::NoFreeName {
        name: name.to_string(),
        folder: dir.to_path_buf(),
    })
}

/// One attempt at `dest`; `AlreadyExists` means the name is taken. Any other link error
/// switches to moving for good: which error a filesystem without hard links gives varies
/// (EPERM on Linux FAT, EOPNOTSUPP on some FUSE and network filesystems, "incorrect
/// function" on Windows FAT), and a real problem such as no permission fails the move too
/// and is reported from there.
fn place_at(temp: &Path, dest: &Path, can_link: &mut bool) -> io::Result<Placed> {
    if *can_link {
        match fs::hard_link(temp, dest) {
            Ok(()) => return Ok(Placed::Linked),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(e),
            Err(_) => *can_link = false,
        }
    }
    move_no_replace(temp, dest).map(|()| Placed::Moved)
}

/// Linux with glibc: `renameat2(RENAME_NOREPLACE)` moves atomically and fails with EEXIST
/// if anything is at `to`. Filesystems that do not support the flag say EINVAL; those get
/// the checked rename.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn move_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    match rename_no_replace(from, to) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            move_if_free(from, to)
        }
        other => other,
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn move_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    move_if_free(from, to)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(from.as_os_str().as_bytes())?;
    let to = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both pointers are NUL-terminated strings that live until the call returns;
    // renameat2 only reads them.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The last resort, for filesystems with neither hard links nor an atomic no-replace move:
/// look (without following a symlink), then rename. Something created at `to` between the
/// look and the rename would be replaced; only a program of the person's own account
/// racing for that exact name within microseconds could do that, not the sender.
fn move_if_free(from: &Path, to: &Path) -> io::Result<()> {
    match fs::symlink_metadata(to) {
        Ok(_) => Err(io::Error::from(ErrorKind::AlreadyExists)),
        Err(e) if e.kind() == ErrorKind::NotFound => fs::rename(from, to),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
