//! Drawing: every module here turns the app's state into widgets and returns what the person
//! asked for as [`UiAction`](crate::app::UiAction)s. Nothing here changes state beyond what a
//! widget edits in place (a text field, the selected tab), and nothing touches the network.
//!
//! `shell` is the window outside a chat (tabs, theme, the card), `host` and `connect` fill the
//! card (`rooms`: the Connect tab's rooms heard on the network), `chat` is the chat screen (`conversations`: its private
//! conversations' tabs and the save choice; `completion`: Tab completes nicknames). `bidi` (the Unicode Bidirectional Algorithm) and
//! `bidi_text` (a label that uses it) draw right-to-left scripts; `fonts` makes every script
//! in a chat drawable. `host_notes` is what the hosting card says about reaching the host; `qr` draws
//! the QR code of the page a phone opens. `transfers` draws
//! a file's line (offers, progress, saved) and `send_file` the Send file… button, its path
//! field, dropped files and the download folder setting.

pub mod bidi;
pub mod bidi_text;
pub mod chat;
pub mod chat_top;
pub mod completion;
pub mod connect;
pub mod conversations;
pub mod fonts;
pub mod host;
pub mod host_notes;
pub mod key_warning;
pub mod qr;
pub mod rooms;
pub mod send_file;
pub mod shell;
pub mod transfers;
pub mod user_list;
