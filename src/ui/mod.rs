//! Drawing: every module here turns the piece of the app's state it is given into widgets and
//! returns what the person asked for as [`UiAction`](crate::app::UiAction)s. A screen gets a
//! struct of borrowed pieces (`chat::ChatScreen`, `shell::Tabs`) and hands each part only what
//! it draws; no module takes the whole `NatterApp`. Nothing here changes state beyond what a
//! widget edits in place (a text field, the selected tab), and nothing touches the network.
//!
//! `shell` is the window outside a chat (tabs, theme, the card), `host` and `connect` fill the
//! card (`rooms`: the Connect tab's rooms heard on the network), `chat` is the chat screen (`message_list`: the
//! conversation shown, and [`message_list::ChatView`], the lists' scroll state the app keeps
//! for `ui`; `conversations`: the private conversations' tabs and the save choice;
//! `completion`: Tab completes nicknames). `bidi` (the Unicode Bidirectional Algorithm) and
//! `bidi_text` (a label that uses it) draw right-to-left scripts; `fonts` makes every script
//! in a chat drawable. `host_notes` is what the hosting card says about reaching the host; `qr` draws
//! the QR code of the page a phone opens. `file_row` draws
//! a file's line (offers, progress, saved) and `send_file` the Send file… button, its path
//! field, dropped files and the download folder setting.

pub mod bidi;
pub mod bidi_text;
pub mod chat;
pub mod chat_top;
pub mod completion;
pub mod connect;
pub mod conversations;
pub mod file_row;
pub mod fonts;
pub mod host;
pub mod host_notes;
pub mod key_warning;
pub mod message_list;
pub mod qr;
pub mod rooms;
pub mod send_file;
pub mod shell;
pub mod user_list;
