//! Natter: a desktop LAN messenger. One person hosts, everyone else connects by IP address.
//!
//! `network` does all socket I/O on background threads and knows nothing of the window;
//! `app` and its `*_ui` modules hold the window's state and draw it. Dependencies point one
//! way: UI → network → protocol.

pub mod app;
pub mod headless;
pub mod network;
