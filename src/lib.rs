//! Natter: a desktop LAN messenger. One person hosts, everyone else connects by IP address.
//!
//! The tree reads: `app` (the window's state, one piece per feature) · `ui` (drawing) ·
//! `network` (sockets, on background threads, knowing nothing of the window). `chat_state` is
//! the chat's model (its conversations, and its shared files), `commands` what a typed line
//! means, `chat_log` its text file, `settings` what is remembered, `headless` is `natter serve`.
//!
//! Dependencies, as they are: `app` is the top. It holds the model and the `ui`'s own view
//! state, calls `ui` to draw, and carries out the `app::UiAction`s `ui` returns; so `app` → `ui`
//! and `ui` → `app` (the feature states it draws and the actions it returns), both above the
//! model. The model (`chat_state`, `settings`, `trust`, `chat_log`, `commands`) imports neither
//! `app` nor `ui`; `network` imports none of these; `network::protocol` no other `network`
//! module. So: {app, ui} → model → network → protocol.
//!
//! `app` and `ui` (and the desktop notification service) are the cargo feature `window`, on
//! by default; without it the crate is the model, the network and `natter serve`.

#[cfg(feature = "window")]
pub mod app;
pub mod chat_log;
pub mod chat_state;
pub mod commands;
pub mod console;
pub mod console_input;
pub mod headless;
pub mod logging;
pub mod mentions;
pub mod network;
pub mod notify;
pub mod phone;
pub mod rooms;
pub mod save;
pub mod settings;
pub mod startup_pages;
pub mod trust;
#[cfg(feature = "window")]
pub mod ui;
#[cfg(windows)]
pub mod windows_console;
#[cfg(windows)]
pub mod windows_identity;

/// Natter's application id: the desktop entry's and metainfo's name on Linux
/// (`packaging/linux/`), the AppUserModelID on Windows (its window, Start-menu shortcuts and
/// toasts: `windows_identity`, `packaging/windows/natter.nsi`).
pub const APP_ID: &str = "io.github.natter.Natter";

/// The window icon (the packages install it too: `packaging/`).
pub const ICON_PNG: &[u8] = include_bytes!("../assets/natter.png");

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `dir` (or `dir` itself).
    fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
        if dir.is_file() {
            found.push(dir.to_path_buf());
            return;
        }
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn the_model_and_the_network_import_neither_app_nor_ui() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let model = [
            "chat_state",
            "settings.rs",
            "trust.rs",
            "chat_log.rs",
            "commands.rs",
            "mentions.rs",
            "notify",
            "network",
        ];
        let mut files = Vec::new();
        for part in model {
            sources(&src.join(part), &mut files);
        }
        assert!(files.len() > 20, "the sources were found: {files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for upward in ["crate::ui", "crate::app", "super::ui", "super::app"] {
                assert!(
                    !text.contains(upward),
                    "{} imports {upward}: the model sits below the window",
                    file.display()
                );
            }
        }
    }
}
