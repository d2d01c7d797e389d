//! Sockets that say nothing first: plain-text peers are still greeted after the sniff window,
//! but the room hears of one only when it sends its first line, so a browser's preconnect or
//! a port check never shows up as `guest-N joined`/`left`. All traffic is on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::{RawPeer, chat_of, recv_where, start_server, test_config};
use natter::network::protocol::ServerFrame;
use natter::network::server::{ServerConfig, ServerEvent, ServerHandle};

fn quick_sniff() -> ServerConfig {
    ServerConfig {
        sniff_window: Duration::from_millis(100),
        ..test_config()
    }
}

/// The nickname of the next join or leave `peer` reads, with which it is.
fn next_presence(peer: &RawPeer) -> (&'static str, String) {
    peer.frame_where(|f| match f {
        ServerFrame::Join { nick, .. } => Some(("join", nick)),
        ServerFrame::Leave { nick, .. } => Some(("leave", nick)),
        _ => None,
    })
}

/// The nickname of the next member the owner is told joined.
fn next_owner_join(server: &ServerHandle) -> String {
    recv_where(server.events(), "a join", |e| match e {
        ServerEvent::Joined { nick, .. } => Some(nick),
        _ => None,
    })
}

#[test]
fn a_silent_socket_is_greeted_but_its_close_is_never_announced() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (alice, _) = RawPeer::join(addr, "alice");
    assert_eq!(next_owner_join(&server), "alice");
    let silent = RawPeer::connect(addr);
    let greeting = silent.text_until("Online");
    assert!(greeting.contains("You are guest-1"), "{greeting}");
    silent.vanish();
    // The next join or leave anyone hears of is bob's: the silent socket came and went unseen.
    let (_bob, _) = RawPeer::join(addr, "bob");
    assert_eq!(next_presence(&alice), ("join", "bob".to_string()));
    assert_eq!(next_owner_join(&server), "bob");
    assert_eq!(server.members(), ["alice", "bob"]);
}

#[test]
fn a_greeted_plain_peer_is_announced_with_its_first_line_and_lists_itself_before() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (alice, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    let greeting = nc.text_until("Online");
    assert!(
        greeting.contains("Online (2): alice (without encryption), guest-1 (without encryption)"),
        "{greeting}"
    );
    let (_bob, _) = RawPeer::join(addr, "bob");
    assert_eq!(next_presence(&alice), ("join", "bob".to_string()));
    // It reads the room before it is announced, as a listening `nc` expects.
    assert!(nc.text_until("bob joined").contains("bob joined"));
    nc.send_raw("שלום 你好\n".as_bytes());
    assert_eq!(next_presence(&alice), ("join", "guest-1".to_string()));
    let message = alice.frame_where(chat_of);
    assert_eq!(
        (message.from.as_str(), message.text.as_str()),
        ("guest-1", "שלום 你好")
    );
}

#[test]
fn a_greeted_socket_whose_first_line_is_an_http_request_is_closed_unannounced() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (alice, _) = RawPeer::join(addr, "alice");
    let mut preconnect = RawPeer::connect(addr);
    preconnect.text_until("Online");
    preconnect.send_raw(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let rest = preconnect.text_until_closed();
    assert!(!rest.contains("GET /"), "{rest}");
    let (_bob, _) = RawPeer::join(addr, "bob");
    assert_eq!(next_presence(&alice), ("join", "bob".to_string()));
    assert_eq!(next_owner_join(&server), "alice");
    assert_eq!(next_owner_join(&server), "bob");
}
