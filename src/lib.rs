//! Natter: a desktop LAN messenger. One person hosts, everyone else connects by IP address.
//!
//! `network` does all socket I/O on background threads and knows nothing of the window;
//! `app` holds the window's state, `*_ui` modules draw it, `chat_state` is the chat's model.
//! Dependencies point one way: UI → network → protocol.

pub mod app;
pub mod bidi;
pub mod bidi_ui;
pub mod chat_log;
pub mod chat_state;
pub mod chat_ui;
pub mod connect_ui;
pub mod fonts;
pub mod headless;
pub mod host_ui;
pub mod network;
pub mod settings;

/// The window icon (also installed by `assets/natter.desktop`).
pub const ICON_PNG: &[u8] = include_bytes!("../assets/natter.png");
