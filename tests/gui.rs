//! The window's test crate: the real `NatterApp` driven through egui_kittest (ui*, the
//! screenshots, idle repainting, stopping a hosting window) and the real binary in a real
//! window under Xvfb. One binary instead of one per file (issue 28); each file stays at
//! tests/NAME.rs as a module.
// Test helpers (tests/common/) unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// kittest renders with wgpu, which has no device under Wine: not a dev-dependency on Windows.
#![cfg(not(windows))]

mod common;

mod idle;
mod phone;
mod screen_reader;
mod screenshots;
mod stop_hosting;
mod ui;
mod ui_access;
mod ui_commands;
mod ui_files;
mod ui_history;
mod ui_kept;
mod ui_layout_keyboard;
mod ui_moderation;
mod ui_private;
mod ui_rooms;
mod ui_save;
mod ui_startup;
mod ui_text;
mod ui_tls;
mod ui_words;
mod window;
