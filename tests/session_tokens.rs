//! Session tokens are what a resuming client proves itself with: every bit must be unguessable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashSet;

use common::{RawPeer, start_server, test_config};

/// Sixty clients join one run of the server (each connection then closes); the tokens they get
/// are 32 lowercase hex digits, all different, and no two share their first or last 16 digits,
/// as they would if half of each token were a per-run constant or a counter.
#[test]
fn session_tokens_of_one_run_are_32_hex_digits_with_no_shared_halves() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let tokens: Vec<String> = (0..60)
        .map(|i| {
            let (peer, _) = RawPeer::join(addr, &format!("user{i}"));
            let token = peer.session.clone();
            peer.vanish();
            token
        })
        .collect();
    for token in &tokens {
        assert_eq!(token.len(), 32, "{token}");
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{token}"
        );
    }
    let distinct: HashSet<&str> = tokens.iter().map(String::as_str).collect();
    assert_eq!(distinct.len(), tokens.len());
    let firsts: HashSet<&str> = tokens.iter().map(|t| &t[..16]).collect();
    let lasts: HashSet<&str> = tokens.iter().map(|t| &t[16..]).collect();
    assert_eq!(
        firsts.len(),
        tokens.len(),
        "shared first halves: {tokens:?}"
    );
    assert_eq!(lasts.len(), tokens.len(), "shared last halves: {tokens:?}");
}
