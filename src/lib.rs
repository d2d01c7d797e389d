//! Natter: a desktop LAN messenger. One person hosts, everyone else connects by IP address.
//!
//! The tree reads: `app` (the window's state) · `ui` (drawing) · `network` (sockets, on
//! background threads, knowing nothing of the window). `chat_state` is the chat's model, `commands` what a typed line means,
//! `chat_log` its text file, `settings` what is remembered, `transfers` the files offered and saved, `headless` is `natter serve`.
//! Dependencies point one way: UI → network → protocol.

pub mod app;
pub mod chat_log;
pub mod chat_state;
pub mod commands;
pub mod console;
pub mod conversations;
pub mod headless;
pub mod mentions;
pub mod network;
pub mod notify;
pub mod phone;
pub mod rooms;
pub mod save;
pub mod settings;
pub mod transfers;
pub mod trust;
pub mod ui;
#[cfg(windows)]
pub mod windows_console;

/// The window icon (the packages install it too: `packaging/`).
pub const ICON_PNG: &[u8] = include_bytes!("../assets/natter.png");
