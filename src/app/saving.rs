//! Saving the chat log: with the desktop's file dialog, or without one to a dated file (see
//! `save`), on a background thread; the choice of what to save once there are private
//! conversations; the window says where it went.

use crossbeam_channel::{Receiver, Sender};

use super::*;
use std::path::Path;

use crate::chat_log;
use crate::save;

/// What Save chat log saves once there are private conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveScope {
    /// The conversation shown (the room, or one private conversation).
    Conversation,
    /// The room and every private conversation, in order, private lines marked.
    Everything,
}

/// How a save ended, from the save thread.
struct Saved {
    /// The sentence the window shows.
    message: String,
    /// The file, when it was saved without a dialog.
    without_dialog: Option<PathBuf>,
    /// The folder it went to, when it was saved: the next dialog opens there.
    folder: Option<PathBuf>,
}

/// The save choice, and how the last save went.
pub struct Saving {
    /// Last result of saving the chat log.
    status: Option<String>,
    /// Where the last save went when no file dialog could be shown (Open folder, Copy path).
    without_dialog: Option<PathBuf>,
    /// Save chat log asks "this conversation or everything?" (private conversations exist).
    choice: bool,
    tx: Sender<Saved>,
    rx: Receiver<Saved>,
}

impl Default for Saving {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Saving {
            status: None,
            without_dialog: None,
            choice: false,
            tx,
            rx,
        }
    }
}

impl Saving {
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    pub fn saved_without_dialog(&self) -> Option<&std::path::Path> {
        self.without_dialog.as_deref()
    }

    /// Whether the window asks which chat log to save.
    pub fn asking(&self) -> bool {
        self.choice
    }

    pub(super) fn ask(&mut self, ask: bool) {
        self.choice = ask;
    }

    /// A new chat: nothing said about saves of the last one.
    pub(super) fn clear(&mut self) {
        self.status = None;
        self.without_dialog = None;
        self.choice = false;
    }

    /// The person read how the last save went (OK).
    pub(super) fn dismiss(&mut self) {
        self.status = None;
        self.without_dialog = None;
    }

    pub(super) fn say(&mut self, status: String) {
        self.status = Some(status);
    }

    /// How the save thread's last save went; the folder it saved in, if it did.
    pub(super) fn drain(&mut self) -> Option<PathBuf> {
        let saved = self.rx.try_recv().ok()?;
        self.status = Some(saved.message);
        self.without_dialog = saved.without_dialog;
        saved.folder
    }
}

impl NatterApp {
    /// The whole chat as log text (what Save chat log writes).
    pub fn log_text(&self) -> String {
        self.session
            .chat()
            .map(|chat| chat_log::format_log(&chat.lines))
            .unwrap_or_default()
    }

    /// Writes the log to `path` and records the outcome for the window.
    pub fn save_log_to(&mut self, path: PathBuf) {
        let result = chat_log::write_atomically(&path, &self.log_text());
        self.saving.status = Some(chat_log::outcome_message(&path, &result));
        if result.is_ok() {
            self.settings.log_dir = path.parent().map(std::path::Path::to_path_buf);
        }
    }

    /// Where the save dialog opens: where the last chat log went, if that folder is still
    /// there, else Documents (the folder a save without a dialog uses), never `/`.
    pub fn log_dialog_dir(&self) -> PathBuf {
        self.settings
            .log_dir
            .clone()
            .filter(|dir| dir.is_dir())
            .or_else(|| self.options.save_fallback_dir.clone())
            .unwrap_or_else(save::fallback_dir)
    }

    /// Saves through the desktop's file dialog, or, when none can be shown, to a new dated
    /// file in the Documents folder (see `save`). Cancelling the dialog saves nothing.
    pub(super) fn save_log_with_dialog(&mut self, scope: SaveScope) {
        let contents = self.log_text_of(scope);
        let name = chat_log::default_file_name(chrono::Local::now().date_naive());
        let done = self.saving.tx.clone();
        let wake = self.wake.clone();
        let try_dialog = self.options.save_dialog_possible;
        let fallback_dir = self.options.save_fallback_dir.clone();
        let start_dir = self.log_dialog_dir();
        // The dialog blocks its thread until the person picks a file, so it gets its own.
        self.in_background("natter-save-dialog", move || {
            let opened = std::time::Instant::now();
            let picked = if try_dialog {
                rfd::FileDialog::new()
                    .set_directory(&start_dir)
                    .set_file_name(&name)
                    .add_filter("Text", &["txt"])
                    .save_file()
            } else {
                None
            };
            let saved = match picked {
                Some(path) => {
                    let result = chat_log::write_atomically(&path, &contents);
                    Saved {
                        message: chat_log::outcome_message(&path, &result),
                        without_dialog: None,
                        folder: result
                            .is_ok()
                            .then(|| path.parent().map(Path::to_path_buf))
                            .flatten(),
                    }
                }
                // Closed at once: no dialog was shown (no portal), so save anyway.
                None if !try_dialog || opened.elapsed() < save::NEVER_SHOWN_WITHIN => {
                    let dir = fallback_dir.unwrap_or_else(save::fallback_dir);
                    let result = save::save_new(&dir, &name, &contents);
                    Saved {
                        message: save::fallback_message(&dir, &result),
                        folder: result.is_ok().then_some(dir),
                        without_dialog: result.ok(),
                    }
                }
                None => return,
            };
            let _ = done.send(saved);
            wake();
        });
    }
}
