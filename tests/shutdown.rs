//! Stopping a server leaves no thread of its own behind: listener, refuser, I/O threads.
//!
//! Alone in its process (tests/solo.rs), so no other test's server threads are counted. Linux only: it
//! reads thread names from /proc.
#![cfg(target_os = "linux")]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{RawPeer, natter_threads, start_server, test_config};
use natter::network::server::ServerConfig;

#[test]
fn stop_joins_every_server_thread_with_one_or_two_io_threads() {
    let _alone = crate::alone();
    for io_threads in [2, 1] {
        let server = start_server(ServerConfig {
            io_threads,
            ..test_config()
        });
        let addr = server.local_addr();
        let (mut alice, _) = RawPeer::join(addr, "alice");
        let (bob, _) = RawPeer::join(addr, "bob");
        alice.say("hello", "1");
        bob.frame_where(common::chat_of);
        let running = natter_threads();
        let io = running
            .iter()
            .filter(|n| n.starts_with("natter-io-"))
            .count();
        assert_eq!(io, io_threads, "{running:?}");
        server.stop();
        assert_eq!(natter_threads(), Vec::<String>::new());
        drop((alice, bob));
    }
}
