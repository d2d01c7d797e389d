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
        // finished but is not; closed so that Windows lets it be renamed.
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
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    // Readable by the person only: other accounts on the machine have no business reading
    // what someone sent them. The finished file keeps this mode.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
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
mod tests {
    use super::*;

    fn sha256(data: &[u8]) -> [u8; 32] {
        let digest = digest::digest(&digest::SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read the test folder")
            .map(|entry| {
                let entry = entry.expect("read a folder entry");
                entry.file_name().to_string_lossy().into_owned()
            })
            .collect();
        names.sort();
        names
    }

    fn receive(dir: &Path, offered_name: &str, data: &[u8]) -> PathBuf {
        let mut incoming = IncomingFile::create(dir, offered_name, data.len() as u64, sha256(data))
            .expect("create the incoming file");
        incoming.write_chunk(0, data).expect("write the data");
        incoming.finish().expect("finish the download")
    }

    fn test_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("create a temporary folder")
    }

    #[test]
    fn file_written_in_three_chunks_is_saved_byte_identical_and_no_part_file_remains() {
        let dir = test_dir();
        let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut incoming =
            IncomingFile::create(dir.path(), "report.pdf", data.len() as u64, sha256(&data))
                .expect("create");
        for offset in [0usize, 32_768, 65_536] {
            let end = (offset + 32_768).min(data.len());
            let chunk = incoming.write_chunk(offset as u64, &data[offset..end]);
            assert_eq!(chunk.expect("write chunk"), Chunk::Appended);
        }
        assert!(incoming.is_complete());
        let path = incoming.finish().expect("finish");
        assert_eq!(path, dir.path().join("report.pdf"));
        assert_eq!(fs::read(&path).expect("read saved file"), data);
        assert_eq!(names_in(dir.path()), ["report.pdf"]);
    }

    #[test]
    fn temp_file_is_hidden_in_the_folder_while_the_download_runs() {
        let dir = test_dir();
        let incoming =
            IncomingFile::create(dir.path(), "a.txt", 3, sha256(b"abc")).expect("create");
        let temp_name = incoming.temp_path().file_name().expect("temp file name");
        let temp_name = temp_name.to_string_lossy();
        assert!(temp_name.starts_with(".a.txt."), "{temp_name}");
        assert!(temp_name.ends_with(".natter-part"), "{temp_name}");
        assert_eq!(incoming.temp_path().parent(), Some(dir.path()));
        assert_eq!(incoming.final_name(), "a.txt");
        assert_eq!(incoming.size(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn temp_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = test_dir();
        let incoming =
            IncomingFile::create(dir.path(), "a.txt", 3, sha256(b"abc")).expect("create");
        let meta = fs::metadata(incoming.temp_path()).expect("temp metadata");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn chunk_at_the_wrong_offset_is_ignored_and_writes_nothing() {
        let dir = test_dir();
        let mut incoming =
            IncomingFile::create(dir.path(), "a.bin", 6, sha256(b"abcdef")).expect("create");
        assert_eq!(
            incoming.write_chunk(0, b"abc").expect("first"),
            Chunk::Appended
        );
        assert_eq!(
            incoming.write_chunk(0, b"abc").expect("repeat"),
            Chunk::Ignored
        );
        assert_eq!(incoming.write_chunk(4, b"ef").expect("gap"), Chunk::Ignored);
        assert_eq!(incoming.written(), 3);
        assert_eq!(fs::read(incoming.temp_path()).expect("read temp"), b"abc");
    }

    #[test]
    fn chunk_past_the_offered_size_is_an_error_and_writes_nothing() {
        let dir = test_dir();
        let mut incoming =
            IncomingFile::create(dir.path(), "a.bin", 4, sha256(b"abcd")).expect("create");
        let error = incoming
            .write_chunk(0, b"abcde")
            .expect_err("more than offered");
        assert!(
            matches!(error, FileError::MoreThanOffered { size: 4, .. }),
            "{error}"
        );
        assert!(incoming.write_chunk(u64::MAX, b"x").is_err());
        assert_eq!(incoming.written(), 0);
        assert_eq!(fs::read(incoming.temp_path()).expect("read temp"), b"");
    }

    #[test]
    fn hash_mismatch_is_an_error_and_leaves_the_folder_empty() {
        let dir = test_dir();
        let mut incoming =
            IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
        incoming.write_chunk(0, b"abX").expect("write");
        let error = incoming.finish().expect_err("damaged file");
        assert!(matches!(error, FileError::HashMismatch { .. }));
        assert!(error.to_string().contains("arrived damaged"), "{error}");
        assert!(error.to_string().contains("a.bin"), "{error}");
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn finishing_an_incomplete_file_is_an_error_and_leaves_the_folder_empty() {
        let dir = test_dir();
        let mut incoming =
            IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
        incoming.write_chunk(0, b"ab").expect("write");
        assert!(!incoming.is_complete());
        let error = incoming.finish().expect_err("incomplete");
        assert!(matches!(
            error,
            FileError::Incomplete {
                written: 2,
                size: 3,
                ..
            }
        ));
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn cancel_leaves_the_folder_empty() {
        let dir = test_dir();
        let mut incoming =
            IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
        incoming.write_chunk(0, b"ab").expect("write");
        incoming.cancel();
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn drop_without_finish_or_cancel_leaves_the_folder_empty() {
        let dir = test_dir();
        let mut incoming =
            IncomingFile::create(dir.path(), "a.bin", 3, sha256(b"abc")).expect("create");
        incoming.write_chunk(0, b"ab").expect("write");
        drop(incoming);
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn empty_file_is_complete_at_once_and_saved_empty() {
        let dir = test_dir();
        let incoming =
            IncomingFile::create(dir.path(), "empty.txt", 0, sha256(b"")).expect("create");
        assert!(incoming.is_complete());
        let path = incoming.finish().expect("finish");
        assert_eq!(fs::read(path).expect("read saved file"), b"");
        assert_eq!(names_in(dir.path()), ["empty.txt"]);
    }

    #[test]
    fn two_files_with_the_same_name_are_both_kept_with_their_own_contents() {
        let dir = test_dir();
        let first = receive(dir.path(), "photo.jpg", b"first");
        let second = receive(dir.path(), "photo.jpg", b"second");
        assert_eq!(first, dir.path().join("photo.jpg"));
        assert_eq!(second, dir.path().join("photo (1).jpg"));
        assert_eq!(fs::read(first).expect("read first"), b"first");
        assert_eq!(fs::read(second).expect("read second"), b"second");
        assert_eq!(names_in(dir.path()), ["photo (1).jpg", "photo.jpg"]);
    }

    #[test]
    fn existing_file_with_that_name_is_untouched() {
        let dir = test_dir();
        fs::write(dir.path().join("notes.txt"), b"mine").expect("write existing file");
        let saved = receive(dir.path(), "notes.txt", b"theirs");
        assert_eq!(saved, dir.path().join("notes (1).txt"));
        let mine = fs::read(dir.path().join("notes.txt")).expect("read existing file");
        assert_eq!(mine, b"mine");
        assert_eq!(fs::read(saved).expect("read saved file"), b"theirs");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_with_that_name_and_its_outside_target_are_untouched() {
        let dir = test_dir();
        let outside = test_dir();
        let target = outside.path().join("precious.txt");
        fs::write(&target, b"precious").expect("write outside file");
        let link = dir.path().join("photo.jpg");
        std::os::unix::fs::symlink(&target, &link).expect("make symlink");
        let saved = receive(dir.path(), "photo.jpg", b"download");
        assert_eq!(saved, dir.path().join("photo (1).jpg"));
        assert_eq!(fs::read_link(&link).expect("still a symlink"), target);
        assert_eq!(fs::read(&target).expect("read outside file"), b"precious");
        assert_eq!(fs::read(saved).expect("read saved file"), b"download");
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_with_that_name_counts_as_taken() {
        let dir = test_dir();
        let outside = test_dir();
        let target = outside.path().join("not-yet.txt");
        std::os::unix::fs::symlink(&target, dir.path().join("photo.jpg")).expect("symlink");
        let saved = receive(dir.path(), "photo.jpg", b"download");
        assert_eq!(saved, dir.path().join("photo (1).jpg"));
        assert!(!target.exists(), "the symlink was followed");
    }

    #[test]
    fn path_in_the_offered_name_lands_inside_the_folder_under_its_last_component() {
        let dir = test_dir();
        let saved = receive(dir.path(), "../../.bashrc", b"alias ls=rm");
        assert_eq!(saved, dir.path().join("bashrc"));
        assert_eq!(names_in(dir.path()), ["bashrc"]);
    }

    #[test]
    fn missing_folder_is_an_error_that_names_it() {
        let dir = test_dir();
        let missing = dir.path().join("gone");
        let error =
            IncomingFile::create(&missing, "a.txt", 1, [0; 32]).expect_err("missing folder");
        assert!(matches!(error, FileError::FolderMissing { .. }));
        let message = error.to_string();
        assert!(message.contains("does not exist"), "{message}");
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn file_in_place_of_the_folder_is_an_error() {
        let dir = test_dir();
        let file = dir.path().join("plain");
        fs::write(&file, b"x").expect("write file");
        let error = IncomingFile::create(&file, "a.txt", 1, [0; 32]).err();
        assert!(matches!(error, Some(FileError::NotAFolder { .. })));
    }

    #[test]
    fn move_if_free_refuses_a_dangling_symlink_and_moves_to_a_free_name() {
        let dir = test_dir();
        let from = dir.path().join("from");
        fs::write(&from, b"data").expect("write source");
        let taken = dir.path().join("taken");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &taken).expect("symlink");
        #[cfg(not(unix))]
        fs::write(&taken, b"other").expect("write taken");
        let refused = move_if_free(&from, &taken).expect_err("taken name refused");
        assert_eq!(refused.kind(), ErrorKind::AlreadyExists);
        move_if_free(&from, &dir.path().join("free")).expect("move to a free name");
        assert_eq!(names_in(dir.path()), ["free", "taken"]);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn rename_no_replace_refuses_an_existing_file_and_moves_to_a_free_name() {
        let dir = test_dir();
        let from = dir.path().join("from");
        fs::write(&from, b"data").expect("write source");
        let taken = dir.path().join("taken");
        fs::write(&taken, b"other").expect("write taken");
        let refused = move_no_replace(&from, &taken).expect_err("taken name refused");
        assert_eq!(refused.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&taken).expect("read taken"), b"other");
        move_no_replace(&from, &dir.path().join("free")).expect("move to a free name");
        assert_eq!(names_in(dir.path()), ["free", "taken"]);
    }
}
