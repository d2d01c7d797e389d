//! The window's host stopping: **Stop hosting**, or closing the window (eframe drops the app),
//! tells every peer goodbye in its own dialect, as `natter serve` does on a signal.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::app_window::Window;
use common::{RawPeer, WAIT};
use natter::network::protocol::ServerFrame;

/// A hosting window with one JSON peer and one plain peer in its room.
fn host_with_two_peers() -> (Window, RawPeer, TcpStream) {
    let (mut window, address) = Window::host("alice");
    let addr: SocketAddr = address.parse().unwrap();
    let (json, _) = RawPeer::join(addr, "bob");
    window.until_shown("bob joined");
    let mut plain = TcpStream::connect(addr).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("You are guest-") {
        let n = plain.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the greeting");
        seen.extend_from_slice(&buf[..n]);
    }
    // Greeted after its silence, it is announced with its first line (PROTOCOL.md §2).
    plain.write_all(b"\n").unwrap();
    window.until_shown("guest-1 joined");
    (window, json, plain)
}

/// Checks that the JSON peer read `bye` and the plain peer the goodbye line, then the close.
fn both_were_told_goodbye(json: &RawPeer, mut plain: TcpStream) {
    let frames = json.frames_until_closed();
    assert!(
        frames.iter().any(
            |f| matches!(f, ServerFrame::Bye { reason, ended: true } if reason.contains("stopped hosting"))
        ),
        "the JSON peer got no bye saying the room ended: {frames:?}"
    );
    let mut text = Vec::new();
    let _ = plain.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("stopped hosting"), "plain peer read {text:?}");
}

#[test]
fn stop_hosting_tells_a_json_peer_bye_and_a_plain_peer_goodbye() {
    let (mut window, json, plain) = host_with_two_peers();
    window.end_chat("Stop hosting");
    both_were_told_goodbye(&json, plain);
}

#[test]
fn closing_the_hosting_window_tells_a_json_peer_bye_and_a_plain_peer_goodbye() {
    let (window, json, plain) = host_with_two_peers();
    // eframe drops the app when the window closes; the harness does the same here.
    drop(window);
    both_were_told_goodbye(&json, plain);
}
