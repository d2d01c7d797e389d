//! Stopping an announcing server and a finder leaves no discovery thread behind.
//!
//! Alone in its process (tests/solo.rs), so no other test's threads are counted. Linux only: it reads
//! thread names from /proc. Loopback only.
#![cfg(target_os = "linux")]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{WAIT, natter_threads, start_server, test_config};
use natter::network::discovery::{AnnounceConfig, Finder, Pace, Reach};
use natter::network::server::ServerConfig;

#[test]
fn stopping_the_server_and_the_finder_joins_the_announce_and_find_threads() {
    let _alone = crate::alone();
    let (woken_tx, woken) = crossbeam_channel::unbounded();
    let mut finder = Finder::start(
        Reach::Loopback {
            listen_port: 0,
            peers: vec![],
        },
        Pace::default(),
        std::sync::Arc::new(move || {
            let _ = woken_tx.send(());
        }),
    )
    .unwrap();
    let server = start_server(ServerConfig {
        announce: Some(AnnounceConfig {
            key: None,
            reach: Reach::Loopback {
                listen_port: 0,
                peers: vec![finder.local_addr().unwrap()],
            },
            host: "alice".into(),
            pace: Pace::default(),
        }),
        ..test_config()
    });
    // A thread names itself once it runs: the room heard means both discovery threads have,
    // and someone let in means the listener has (`Started` comes before it is spawned).
    woken.recv_timeout(WAIT).expect("the room is heard");
    assert_eq!(finder.rooms().len(), 1);
    let (someone, _) = common::RawPeer::join(server.local_addr(), "someone");
    drop(someone);
    let running = natter_threads();
    for name in ["natter-announce", "natter-find", "natter-listen"] {
        assert!(running.iter().any(|t| t == name), "{name}: {running:?}");
    }
    server.stop();
    finder.stop();
    assert_eq!(natter_threads(), Vec::<String>::new());
}
