//! Where Save chat log puts the file when no file dialog can be shown.
//!
//! Owns telling whether this desktop can show a file dialog at all, the folder used instead
//! (Documents, else home), and writing a new dated file there without ever overwriting one.
//! Does not own the log's text (`chat_log`) nor showing the dialog or the outcome (`app`).
//!
//! Why: rfd's Linux backend asks the desktop's file-chooser portal over the D-Bus session bus;
//! with no portal (a bare window manager, a remote session) the dialog "returns None at once"
//! (rfd issue #119), and Save chat log used to do nothing at all.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A dialog that "closed" sooner than this after opening was never shown: no person cancels
/// a save dialog that fast, and rfd returns at once when there is no portal to ask.
pub const NEVER_SHOWN_WITHIN: Duration = Duration::from_millis(300);

/// At most this many dated names are tried before giving up.
const MAX_TRIES: u32 = 1000;

/// Whether a file dialog can be shown here, from the environment: on Linux the portal lives on
/// the session bus, found through `DBUS_SESSION_BUS_ADDRESS` or `$XDG_RUNTIME_DIR/bus`.
pub fn dialog_possible() -> bool {
    if cfg!(target_os = "linux") {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        session_bus_present(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS"),
            runtime.as_deref(),
        )
    } else {
        true
    }
}

/// Whether a session bus is there, given the two places one is announced.
pub fn session_bus_present(bus_address: Option<OsString>, runtime_dir: Option<&Path>) -> bool {
    bus_address.is_some_and(|a| !a.is_empty())
        || runtime_dir.is_some_and(|dir| dir.join("bus").exists())
}

/// The folder a log goes to when no dialog can be shown: Documents, else home, else the
/// current folder.
pub fn fallback_dir() -> PathBuf {
    directories::UserDirs::new()
        .map(|dirs| dirs.document_dir().unwrap_or(dirs.home_dir()).to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Writes `contents` to a new file in `dir` named `name` (`natter-2026-12-02.txt`), or
/// `natter-2026-12-02 (2).txt` and so on if taken. Never overwrites: the file is created
/// only if no file has that name. Returns where it went.
pub fn save_new(dir: &Path, name: &str, contents: &str) -> io::Result<PathBuf> {
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) => (stem, format!(".{extension}")),
        None => (name, String::new()),
    };
    for n in 1..=MAX_TRIES {
        let candidate = match n {
            1 => dir.join(name),
            n => dir.join(format!("{stem} ({n}){extension}")),
        };
        let file = private_new_file().open(&candidate);
        match file {
            Ok(mut file) => {
                let written = file
                    .write_all(contents.as_bytes())
                    .and_then(|()| file.sync_all());
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&candidate);
                    return Err(e);
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_TRIES} files named like {name} are already there"),
    ))
}

/// Options that create a new file readable by the person only (0600 on Unix), as downloads
/// are: a chat log is as private as what was sent. Never opens a file that is already there.
pub fn private_new_file() -> std::fs::OpenOptions {
    let mut options = crate::network::owner_only::file_options();
    options.write(true).create_new(true);
    options
}

/// What to tell the person after a save without a dialog.
pub fn fallback_message(dir: &Path, result: &io::Result<PathBuf>) -> String {
    match result {
        Ok(path) => format!(
            "No file dialog can be shown on this desktop, so the chat log was saved to {}.",
            path.display()
        ),
        Err(e) => format!(
            "No file dialog can be shown on this desktop, and saving the chat log to {} failed: {e}. Check that the folder exists and has space.",
            dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_bus_is_present_only_when_announced_by_address_or_socket() {
        let empty = tempfile::tempdir().unwrap();
        assert!(!session_bus_present(None, None));
        assert!(!session_bus_present(
            Some(OsString::new()),
            Some(empty.path())
        ));
        assert!(session_bus_present(
            Some("unix:path=/run/user/1000/bus".into()),
            None
        ));
        std::fs::write(empty.path().join("bus"), b"").unwrap();
        assert!(session_bus_present(None, Some(empty.path())));
    }

    #[test]
    fn saving_twice_keeps_both_files_under_numbered_names() {
        let dir = tempfile::tempdir().unwrap();
        let first = save_new(dir.path(), "natter-2026-12-02.txt", "one").unwrap();
        let second = save_new(dir.path(), "natter-2026-12-02.txt", "two").unwrap();
        assert_eq!(first, dir.path().join("natter-2026-12-02.txt"));
        assert_eq!(second, dir.path().join("natter-2026-12-02 (2).txt"));
        assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(second).unwrap(), "two");
    }

    #[test]
    fn saving_into_a_missing_folder_fails_with_a_sentence_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let result = save_new(&missing, "natter.txt", "x");
        assert!(result.is_err());
        let message = fallback_message(&missing, &result);
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
    }
}
