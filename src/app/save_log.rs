//! Saving the chat log: with the desktop's file dialog, or without one to a dated file (see
//! `save`), on a background thread; the window says where it went.

use super::*;

impl NatterApp {
    /// The whole chat as log text (what Save chat log writes).
    pub fn log_text(&self) -> String {
        self.chat
            .as_ref()
            .map(|chat| chat_log::format_log(&chat.lines))
            .unwrap_or_default()
    }

    /// Writes the log to `path` and records the outcome for the window.
    pub fn save_log_to(&mut self, path: PathBuf) {
        let result = chat_log::write_atomically(&path, &self.log_text());
        self.log_status = Some(chat_log::outcome_message(&path, &result));
    }

    /// Saves through the desktop's file dialog, or, when none can be shown, to a new dated
    /// file in the Documents folder (see `save`). Cancelling the dialog saves nothing.
    pub(super) fn save_log_with_dialog(&mut self, scope: SaveScope) {
        let contents = self.log_text_of(scope);
        let name = chat_log::default_file_name(chrono::Local::now().date_naive());
        let done = self.saved_tx.clone();
        let wake = self.wake.clone();
        let try_dialog = self.save_dialog_possible;
        let fallback_dir = self.save_fallback_dir.clone();
        // The dialog blocks its thread until the person picks a file, so it gets its own.
        self.in_background("natter-save-dialog", move || {
            let opened = std::time::Instant::now();
            let picked = if try_dialog {
                rfd::FileDialog::new()
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
                    }
                }
                // Closed at once: no dialog was shown (no portal), so save anyway.
                None if !try_dialog || opened.elapsed() < save::NEVER_SHOWN_WITHIN => {
                    let dir = fallback_dir.unwrap_or_else(save::fallback_dir);
                    let result = save::save_new(&dir, &name, &contents);
                    Saved {
                        message: save::fallback_message(&dir, &result),
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
