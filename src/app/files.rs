//! Shared files, the window's side: what Save, Decline, Cancel, Send file…, a dropped file,
//! Open and Show in folder do, the path field that stands in for a file dialog, and the
//! download folder setting.
//!
//! The file and folder dialogs run on a thread of their own (they block until the person
//! picks); with no dialog to show (no portal: rfd returns at once, see `save`) the window asks
//! for a path in a text field instead. The files' state is in `chat_state::SharedFiles`, their
//! lines in `ui::file_row`, the wire in `network::client::transfers`.

use std::path::Path;

use crossbeam_channel::{Receiver, Sender};

use super::*;
use crate::network::client::{ClientCommand, FileCommand};
use crate::save;

/// What a person did to a file, or to where files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    /// Save someone's offer `id` into the download folder.
    Save(String),
    Decline(String),
    /// Stop saving `id`, or stop offering our `id`.
    Cancel(String),
    /// Open a saved file with the desktop's program for it.
    Open(PathBuf),
    /// Show the folder of a saved file.
    ShowInFolder(PathBuf),
    /// Send file…: the desktop's file dialog, or the path field when none can be shown.
    Pick,
    /// Offer this file to the conversation shown (the path field, a dropped file).
    Offer(PathBuf),
    /// Close the path field without sending.
    ClosePathField,
    /// The download folder as typed (empty: the default).
    SetDownloadDir(String),
    /// Choose… beside the download folder: the folder dialog.
    ChooseDownloadDir,
}

/// The path field and the download folder's note, and what the dialog threads found.
pub struct Files {
    /// Send file… could show no file dialog: the path typed instead (`None`: no field).
    send_path: Option<String>,
    /// A sentence beside the download folder setting (e.g. no folder dialog here).
    note: Option<String>,
    tx: Sender<Picked>,
    rx: Receiver<Picked>,
}

impl Default for Files {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Files {
            send_path: None,
            note: None,
            tx,
            rx,
        }
    }
}

impl Files {
    /// The path field, while it is open.
    pub fn send_path_mut(&mut self) -> &mut Option<String> {
        &mut self.send_path
    }

    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// A new chat: no path field.
    pub(super) fn close_path_field(&mut self) {
        self.send_path = None;
    }
}

/// What a dialog thread found.
enum Picked {
    /// A file to offer to `to` (`None`: the room).
    File {
        path: PathBuf,
        to: Option<String>,
    },
    /// No file dialog could be shown: ask for a path.
    NoFileDialog,
    Folder(PathBuf),
    /// No folder dialog could be shown: the folder is typed in the field.
    NoFolderDialog,
}

impl NatterApp {
    /// Where Save puts files: the folder chosen, else the system's Downloads folder.
    pub fn download_dir(&self) -> PathBuf {
        self.settings
            .download_dir
            .clone()
            .unwrap_or_else(crate::network::files::default_download_dir)
    }

    pub fn can_send_files(&self) -> bool {
        self.session.can_send_files()
    }

    pub(super) fn apply_file(&mut self, action: FileAction) {
        match action {
            FileAction::Save(id) => {
                let folder = self.download_dir();
                // The default Downloads folder may not exist yet; if it cannot be made, the
                // network side says so on the file's line.
                let _ = std::fs::create_dir_all(&folder);
                if let Some(chat) = self.session.chat_mut() {
                    chat.files.saving(&id);
                }
                self.send_file_command(FileCommand::Save { id, folder });
            }
            FileAction::Decline(id) => {
                if let Some(chat) = self.session.chat_mut() {
                    chat.files.declined_by_us(&id);
                }
                self.send_file_command(FileCommand::Decline { id });
            }
            FileAction::Cancel(id) => self.send_file_command(FileCommand::Cancel { id }),
            FileAction::Open(path) => self.open_or_say(&path, "open"),
            FileAction::ShowInFolder(path) => {
                let folder = path.parent().map(Path::to_path_buf).unwrap_or(path);
                self.open_or_say(&folder, "show");
            }
            FileAction::Pick => self.pick_file(),
            FileAction::Offer(path) => {
                self.files.send_path = None;
                if self.can_send_files() {
                    let to = self.shown_nick();
                    self.scroll_to_end();
                    self.send_file_command(FileCommand::Offer { path, to });
                }
            }
            FileAction::ClosePathField => self.files.send_path = None,
            FileAction::SetDownloadDir(text) => {
                let text = text.trim();
                self.settings.download_dir = (!text.is_empty()).then(|| PathBuf::from(text));
            }
            FileAction::ChooseDownloadDir => self.pick_folder(),
        }
    }

    fn send_file_command(&self, command: FileCommand) {
        self.session.send_command(ClientCommand::File(command));
    }

    /// Opens `path` with the desktop; a failure is said in the chat, never a panic.
    fn open_or_say(&mut self, path: &Path, what: &str) {
        if let Err(e) = open::that_detached(path)
            && let Some(chat) = self.session.chat_mut()
        {
            chat.system(format!(
                "Could not {what} {}: {e}. The file is there; open it from your file manager.",
                path.display()
            ));
        }
    }

    /// Send file…: the file dialog on its own thread; the path field at once when no dialog
    /// can be shown, or when the dialog closed too soon to have been shown.
    fn pick_file(&mut self) {
        if !self.options.save_dialog_possible {
            self.files.send_path = Some(String::new());
            return;
        }
        let to = self.shown_nick();
        let done = self.files.tx.clone();
        let wake = self.wake.clone();
        self.in_background("natter-file-dialog", move || {
            let opened = std::time::Instant::now();
            let picked = match rfd::FileDialog::new().pick_file() {
                Some(path) => Picked::File { path, to },
                None if opened.elapsed() < save::NEVER_SHOWN_WITHIN => Picked::NoFileDialog,
                None => return,
            };
            let _ = done.send(picked);
            wake();
        });
    }

    /// Choose… for the download folder; with no dialog the person types it in the field.
    fn pick_folder(&mut self) {
        if !self.options.save_dialog_possible {
            self.files.note = Some(NO_FOLDER_DIALOG.into());
            return;
        }
        let start = self.download_dir();
        let done = self.files.tx.clone();
        let wake = self.wake.clone();
        self.in_background("natter-folder-dialog", move || {
            let opened = std::time::Instant::now();
            let picked = match rfd::FileDialog::new().set_directory(start).pick_folder() {
                Some(folder) => Picked::Folder(folder),
                None if opened.elapsed() < save::NEVER_SHOWN_WITHIN => Picked::NoFolderDialog,
                None => return,
            };
            let _ = done.send(picked);
            wake();
        });
    }

    /// What the dialog threads found (every frame).
    pub(super) fn drain_picked(&mut self) {
        while let Ok(picked) = self.files.rx.try_recv() {
            match picked {
                Picked::File { path, to } => {
                    if self.can_send_files() {
                        self.send_file_command(FileCommand::Offer { path, to });
                    }
                }
                Picked::NoFileDialog => self.files.send_path = Some(String::new()),
                Picked::Folder(folder) => {
                    self.settings.download_dir = Some(folder);
                    self.files.note = None;
                }
                Picked::NoFolderDialog => self.files.note = Some(NO_FOLDER_DIALOG.into()),
            }
        }
    }
}

/// Said beside the download folder when Choose… cannot show a dialog.
const NO_FOLDER_DIALOG: &str =
    "No folder dialog can be shown on this desktop: type the folder's path in the field.";
