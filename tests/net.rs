//! The network test crate: the server, the client, discovery, files, the hostile-peer and
//! property tests, and `natter serve` as a real process, all on 127.0.0.1 with port 0 (the lab
//! in namespaces it makes itself). One binary instead of one per file, so the GUI stack the
//! library pulls in is linked once (issue 28); each file stays at tests/NAME.rs as a module.
//! Not here: the window's tests (tests/gui.rs) and tests that need the process to themselves
//! (tests/solo.rs). Every tests/*.rs file must belong to one of the crates (`test_crates`).
// Test helpers (tests/common/) unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod architecture;
mod blocked_stdout;
mod browser;
mod chaos;
mod client;
mod client_redial;
mod contract;
mod discovery;
mod files;
mod files_data;
mod files_restart;
mod files_wire;
mod fuzz;
mod hardening;
mod history;
mod lab;
mod logging;
mod moderation;
mod moderation_commands;
mod moderation_serve;
mod nicknames;
mod overload;
mod peer_text;
mod presence;
mod private;
mod rate_limits;
mod refusals;
mod resume_grace;
mod resume_lists;
mod serve;
mod server;
mod session_tokens;
mod signals;
mod silent_sockets;
mod test_crates;
mod tls;
mod tls_host;
mod web;
