//! Append-only files of lines kept on disk by one named writer thread: the window's kept
//! conversations (one file per host identity) and a host's room history (`--history-file`).
//!
//! Owns every write, read and removal of those files, on its own thread, so whoever feeds it
//! never waits for a disk (nor parses what is read back: [`Journal::load`] hands it over there): lines go in on a crossbeam channel, are appended at once (a crash
//! loses nothing the system took), and are forced to the disk (`sync_data`) on a timer while
//! any file is dirty, and when the writer stops. Each file is owner-only (0600 in a 0700
//! folder on Unix) and bounded ([`Bound`]): a quarter past its bound it is rewritten whole (under a
//! temporary name, then renamed over) with only its newest lines. A line the disk tore (a
//! crash mid-write) or that is not UTF-8 is skipped when read, and counted. Knows nothing of
//! what the lines mean: callers parse them.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// How much of one file is kept: read back, and what it is cut down to when it grows past
/// this by a quarter (so it is rewritten once per quarter of its bound, not at every line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub lines: usize,
    pub bytes: u64,
}

impl Bound {
    /// Whether a file of `lines` and `bytes` has grown enough past the bound to be cut.
    fn passed_by(self, lines: usize, bytes: u64) -> bool {
        lines > self.lines.saturating_add(self.lines / 4)
            || bytes > self.bytes.saturating_add(self.bytes / 4)
    }

    /// The most a file ever holds on the disk.
    pub fn most(self) -> Bound {
        Bound {
            lines: self.lines.saturating_add(self.lines / 4),
            bytes: self.bytes.saturating_add(self.bytes / 4),
        }
    }
}

/// A file's lines as read: the newest that fit its bound, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub path: PathBuf,
    pub lines: Vec<String>,
    /// Lines skipped: torn by a crash or not text.
    pub skipped: usize,
}

enum Input {
    Append {
        path: PathBuf,
        line: Arc<[u8]>,
        bound: Bound,
    },
    Load {
        path: PathBuf,
        bound: Bound,
        then: Box<dyn FnOnce(Loaded) + Send>,
    },
    Forget {
        path: PathBuf,
    },
}

/// The writer thread and its inbox. [`Journal::stop`] (or dropping it) writes what is queued,
/// forces it to the disk and joins the thread.
pub struct Journal {
    inbox: Option<Sender<Input>>,
    thread: Option<JoinHandle<()>>,
}

/// Whose files a journal keeps: it names the writer thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeps {
    /// The window's kept conversations (`natter-conversations`).
    Conversations,
    /// A host's room history (`natter-room-history`).
    RoomHistory,
}

impl Journal {
    /// Starts the writer thread, which forces dirty files to the disk every `sync_every`.
    pub fn start(keeps: Keeps, sync_every: Duration) -> io::Result<Journal> {
        let (inbox, input) = crossbeam_channel::unbounded();
        let run = move || Writer::default().run(&input, sync_every);
        let thread = match keeps {
            Keeps::Conversations => thread::Builder::new()
                .name("natter-conversations".into())
                .spawn(run)?,
            Keeps::RoomHistory => thread::Builder::new()
                .name("natter-room-history".into())
                .spawn(run)?,
        };
        Ok(Journal {
            inbox: Some(inbox),
            thread: Some(thread),
        })
    }

    /// Appends `line` (one line; a trailing newline is added) to the file at `path`, made if
    /// missing, cut to `bound`'s newest lines when it grows past it.
    pub fn append(&self, path: &Path, line: impl Into<Arc<[u8]>>, bound: Bound) {
        self.send(Input::Append {
            path: path.to_path_buf(),
            line: line.into(),
            bound,
        });
    }

    /// Reads the file at `path` (after every line queued before) and hands its newest lines
    /// within `bound` to `then`, on the writer's thread (so parsing them costs the caller
    /// nothing either). A missing file reads as no lines.
    pub fn load(&self, path: &Path, bound: Bound, then: impl FnOnce(Loaded) + Send + 'static) {
        self.send(Input::Load {
            path: path.to_path_buf(),
            bound,
            then: Box::new(then),
        });
    }

    /// Removes the file at `path` (after every line queued before).
    pub fn forget(&self, path: &Path) {
        self.send(Input::Forget {
            path: path.to_path_buf(),
        });
    }

    fn send(&self, input: Input) {
        // A writer that is gone (it cannot be, short of a panic) loses the line, not the caller.
        if let Some(inbox) = &self.inbox {
            let _ = inbox.send(input);
        }
    }

    /// Writes everything queued, forces it to the disk and joins the thread.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.inbox = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A file open for appending, and how much it holds.
struct Open {
    file: File,
    lines: usize,
    bytes: u64,
    dirty: bool,
}

#[derive(Default)]
struct Writer {
    open: HashMap<PathBuf, Open>,
}

impl Writer {
    fn run(mut self, input: &Receiver<Input>, sync_every: Duration) {
        let mut sync_at: Option<Instant> = None;
        loop {
            let next = match sync_at {
                Some(at) => input.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => input.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match next {
                Ok(input) => {
                    self.handle(input);
                    if sync_at.is_none() && self.open.values().any(|o| o.dirty) {
                        sync_at = Some(Instant::now() + sync_every);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.sync();
                    sync_at = None;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.sync();
                    return;
                }
            }
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Append { path, line, bound } => {
                if let Err(e) = self.append(&path, &line, bound) {
                    log::warn!("could not write {}: {e}", path.display());
                    self.open.remove(&path);
                }
            }
            Input::Load { path, bound, then } => {
                let loaded = read_tail(&path, bound).unwrap_or_else(|e| {
                    log::warn!("could not read {}: {e}", path.display());
                    Loaded {
                        path: path.clone(),
                        ..Loaded::default()
                    }
                });
                then(loaded);
            }
            Input::Forget { path } => {
                self.open.remove(&path);
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        log::warn!("could not remove {}: {e}", path.display());
                    }
                    _ => {}
                }
            }
        }
    }

    fn append(&mut self, path: &Path, line: &[u8], bound: Bound) -> io::Result<()> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if !self.open.contains_key(path) {
            let opened = open_for_append(path, bound)?;
            self.open.insert(path.to_path_buf(), opened);
        }
        let Some(open) = self.open.get_mut(path) else {
            return Ok(());
        };
        let mut whole = Vec::with_capacity(line.len() + 1);
        whole.extend_from_slice(line);
        whole.push(b'\n');
        open.file.write_all(&whole)?;
        open.lines += 1;
        open.bytes += whole.len() as u64;
        open.dirty = true;
        if bound.passed_by(open.lines, open.bytes) {
            self.open.remove(path);
            let opened = cut(path, bound)?;
            self.open.insert(path.to_path_buf(), opened);
        }
        Ok(())
    }

    fn sync(&mut self) {
        for (path, open) in self.open.iter_mut().filter(|(_, o)| o.dirty) {
            if let Err(e) = open.file.sync_data() {
                log::warn!("could not write {} to the disk: {e}", path.display());
            }
            open.dirty = false;
        }
    }
}

/// Opens `path` to append (owner-only, its folder made owner-only if missing). A file past
/// `bound` is cut first; a last line torn by a crash is ended, so the next line stands apart.
fn open_for_append(path: &Path, bound: Bound) -> io::Result<Open> {
    make_folder(path)?;
    let mut file = owner_only()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let bytes = file.metadata()?.len();
    if bound.passed_by(0, bytes) {
        drop(file);
        return cut(path, bound);
    }
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    let mut lines = memchr::memchr_iter(b'\n', &text).count();
    let mut bytes = text.len() as u64;
    if text.last().is_some_and(|&b| b != b'\n') {
        file.write_all(b"\n")?;
        lines += 1;
        bytes += 1;
    }
    if bound.passed_by(lines, bytes) {
        drop(file);
        return cut(path, bound);
    }
    Ok(Open {
        file,
        lines,
        bytes,
        dirty: false,
    })
}

/// Rewrites `path` with its newest lines within `keep`, whole or not at all (a temporary file
/// forced to the disk, then renamed over), and opens it to append.
fn cut(path: &Path, keep: Bound) -> io::Result<Open> {
    let kept = read_tail(path, keep)?;
    let mut text = Vec::new();
    for line in &kept.lines {
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = fs::remove_file(&temporary);
    let mut file = owner_only().write(true).create_new(true).open(&temporary)?;
    file.write_all(&text)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)?;
    let file = owner_only().read(true).append(true).open(path)?;
    Ok(Open {
        file,
        lines: kept.lines.len(),
        bytes: text.len() as u64,
        dirty: false,
    })
}

/// The newest lines of `path` within `bound` (at most `bound.bytes` are read, from the end),
/// oldest first; a torn or non-UTF-8 line is skipped and counted. A missing file has none.
pub fn read_tail(path: &Path, bound: Bound) -> io::Result<Loaded> {
    let mut loaded = Loaded {
        path: path.to_path_buf(),
        ..Loaded::default()
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(loaded),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(bound.bytes);
    file.seek(SeekFrom::Start(start))?;
    let mut text = Vec::new();
    file.take(bound.bytes).read_to_end(&mut text)?;
    let mut rest = text.as_slice();
    if start > 0 {
        // Read from the middle of a line: that part is not a line.
        rest = match memchr::memchr(b'\n', rest) {
            Some(end) => &rest[end + 1..],
            None => &[],
        };
    }
    let mut pieces: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    // What follows the last newline: nothing, or a line a crash cut short.
    if let Some(torn) = pieces.pop()
        && !torn.is_empty()
    {
        loaded.skipped += 1;
    }
    let first = pieces.len().saturating_sub(bound.lines);
    for piece in &pieces[first..] {
        match std::str::from_utf8(piece) {
            Ok(line) if !line.trim().is_empty() => loaded.lines.push(line.to_string()),
            Ok(_) => {}
            Err(_) => loaded.skipped += 1,
        }
    }
    Ok(loaded)
}

fn make_folder(path: &Path) -> io::Result<()> {
    let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    super::owner_only::folder_builder().create(folder)
}

/// Open options that make a file readable and writable by its owner only.
fn owner_only() -> OpenOptions {
    super::owner_only::file_options()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: Bound = Bound {
        lines: 1000,
        bytes: 1 << 20,
    };

    fn load(journal: &Journal, path: &Path, bound: Bound) -> Loaded {
        let (reply, loaded) = crossbeam_channel::bounded(1);
        journal.load(path, bound, move |read| {
            let _ = reply.send(read);
        });
        loaded.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn lines_appended_are_read_back_in_order_and_forget_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("room.jsonl");
        let journal = Journal::start(Keeps::Conversations, Duration::from_secs(1)).unwrap();
        journal.append(&path, b"one".as_slice(), WIDE);
        journal.append(&path, b"two\n".as_slice(), WIDE);
        assert_eq!(load(&journal, &path, WIDE).lines, ["one", "two"]);
        journal.forget(&path);
        assert_eq!(load(&journal, &path, WIDE).lines, Vec::<String>::new());
        assert!(!path.exists());
        journal.stop();
    }

    #[cfg(unix)]
    #[test]
    fn the_file_and_its_folder_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kept").join("room.jsonl");
        let journal = Journal::start(Keeps::Conversations, Duration::from_secs(1)).unwrap();
        journal.append(&path, b"one".as_slice(), WIDE);
        journal.stop();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[test]
    fn past_its_bound_a_file_keeps_only_its_newest_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room.jsonl");
        let bound = Bound {
            lines: 8,
            bytes: 1 << 20,
        };
        let journal = Journal::start(Keeps::Conversations, Duration::from_secs(1)).unwrap();
        for n in 0..20 {
            journal.append(&path, format!("line {n}").into_bytes(), bound);
        }
        journal.stop();
        let read = read_tail(&path, WIDE).unwrap();
        assert!(read.lines.len() <= bound.most().lines, "{:?}", read.lines);
        assert!(
            read.lines.len() >= 8,
            "at least the bound is kept: {:?}",
            read.lines
        );
        assert_eq!(read.lines.last().map(String::as_str), Some("line 19"));
        assert!(
            !read.lines.iter().any(|l| l == "line 0"),
            "{:?}",
            read.lines
        );
    }

    #[test]
    fn a_line_torn_by_a_crash_and_bytes_that_are_no_text_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("room.jsonl");
        fs::write(&path, b"good\n\xff\xfe\nalso good\ntorn").unwrap();
        let read = read_tail(&path, WIDE).unwrap();
        assert_eq!(read.lines, ["good", "also good"]);
        assert_eq!(read.skipped, 2);
        // The next line appended stands apart from the torn one.
        let journal = Journal::start(Keeps::Conversations, Duration::from_secs(1)).unwrap();
        journal.append(&path, b"after".as_slice(), WIDE);
        journal.stop();
        let read = read_tail(&path, WIDE).unwrap();
        assert_eq!(read.lines, ["good", "also good", "torn", "after"]);
    }
}
