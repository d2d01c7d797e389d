//! Overload: when fan-out cannot keep up, the server slows the senders down instead of
//! dropping readers (PROTOCOL.md §9, backpressure).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{RawPeer, join_and_stop_reading, recv_where, start_server, test_config};
use natter::network::protocol::{ClientFrame, LeaveReason, ServerFrame, encode};
use natter::network::server::{RateLimit, ServerConfig, ServerEvent};

/// Every member sends this many messages as fast as its socket takes them.
const MESSAGES_EACH: usize = 300;
const MEMBERS: usize = 10;

/// Queues of 64 lines: one read's fan-out alone would overflow them, so without backpressure
/// readers are dropped at once. Rate limits are raised so the blast is not refused by design.
fn blast_config() -> ServerConfig {
    ServerConfig {
        queue_lines: 64,
        rate: RateLimit {
            burst: 1e9,
            per_second: 1e9,
            strikes: 10,
        },
        ..test_config()
    }
}

/// Writes `count` chat frames in one go from a thread of its own, so the test can read while
/// the socket is blocked by backpressure.
fn blast(stream: &TcpStream, from: usize, count: usize, pad: usize) -> thread::JoinHandle<()> {
    let mut stream = stream.try_clone().unwrap();
    let mut bytes = Vec::new();
    let padding = "x".repeat(pad);
    for i in 0..count {
        bytes.extend(encode(&ClientFrame::Chat {
            text: format!("m{from}-{i} {padding}"),
            client_id: Some(format!("{from}-{i}")),
            action: false,
            to: None,
        }));
    }
    thread::spawn(move || stream.write_all(&bytes).unwrap())
}

#[test]
fn when_every_member_blasts_nobody_is_dropped_and_every_message_reaches_everyone() {
    let server = start_server(blast_config());
    let addr = server.local_addr();
    everyone_blasts(addr, 0);
    assert_eq!(server.members().len(), MEMBERS);
    let left: Vec<ServerEvent> = server
        .events()
        .try_iter()
        .filter(|e| matches!(e, ServerEvent::Left { .. }))
        .collect();
    assert_eq!(left, Vec::new());
}

/// MEMBERS join, each blasts MESSAGES_EACH messages padded by `pad` bytes, and every one of
/// them receives every message (see [`receive_every_message`]).
fn everyone_blasts(addr: std::net::SocketAddr, pad: usize) {
    let peers: Vec<RawPeer> = (0..MEMBERS)
        .map(|i| RawPeer::join(addr, &format!("p{i}")).0)
        .collect();
    let writers: Vec<_> = peers
        .iter()
        .enumerate()
        .map(|(i, peer)| blast(&peer.stream, i, MESSAGES_EACH, pad))
        .collect();
    for peer in &peers {
        receive_every_message(peer);
    }
    for writer in writers {
        writer.join().unwrap();
    }
}

/// Reads until `peer` has every member's every message, checking each sender's order;
/// panics on a leave or an error, or after a minute.
fn receive_every_message(peer: &RawPeer) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut chats = 0;
    let mut next_from = [0usize; MEMBERS];
    while chats < MEMBERS * MESSAGES_EACH {
        assert!(
            Instant::now() < deadline,
            "{}: only {chats} chats",
            peer.nick
        );
        match peer.frame() {
            ServerFrame::Chat(message) => {
                // Each sender's messages arrive whole and in the order sent.
                let id = message.text[1..].split(' ').next().unwrap();
                let (from, i) = id.split_once('-').unwrap();
                let (from, i): (usize, usize) = (from.parse().unwrap(), i.parse().unwrap());
                assert_eq!(i, next_from[from], "{}: order from p{from}", peer.nick);
                next_from[from] += 1;
                chats += 1;
            }
            ServerFrame::Leave { nick, detail, .. } if nick != "stalled" => {
                panic!("{}: {nick} left: {detail}", peer.nick)
            }
            ServerFrame::Error { message, .. } => panic!("{}: error {message}", peer.nick),
            _ => {}
        }
    }
}

/// A member that stops reading in the middle of a blast holds the others back only briefly:
/// once its socket has taken nothing for a second it stops counting, its queue fills, and it
/// alone is dropped, while everyone else still gets every message.
#[test]
fn during_a_blast_only_the_member_that_stopped_reading_is_dropped() {
    let server = start_server(blast_config());
    let addr = server.local_addr();
    let _stalled = join_and_stop_reading(addr, "stalled");
    recv_where(server.events(), "server event Joined stalled", |e| {
        matches!(e, ServerEvent::Joined { nick, .. } if nick == "stalled").then_some(())
    });
    // 2 KB each: 6 MB in all, far more than the stalled member's socket buffers take.
    everyone_blasts(addr, 2000);
    let (reason, detail) = recv_where(server.events(), "server event Left stalled", |e| match e {
        ServerEvent::Left {
            nick,
            reason,
            detail,
        } if nick == "stalled" => Some((reason, detail)),
        ServerEvent::Left { nick, detail, .. } => panic!("{nick} left: {detail}"),
        _ => None,
    });
    assert_eq!(reason, LeaveReason::Dropped);
    assert!(detail.contains("stopped reading"), "{detail}");
    assert_eq!(server.members().len(), MEMBERS);
}

/// While the room is under pressure nobody's messages are read, but a new connection's first
/// bytes still are: a Natter client whose hello sat unread past the sniff window would be
/// taken for a plain-text peer and greeted in text.
#[test]
fn a_natter_client_connecting_while_the_room_is_under_pressure_is_still_greeted_as_one() {
    let server = start_server(ServerConfig {
        // The stalled member holds everyone's reading for the whole test.
        hold_grace: Duration::from_secs(3600),
        write_stall: Duration::from_secs(3600),
        ..blast_config()
    });
    let addr = server.local_addr();
    let _stalled = join_and_stop_reading(addr, "stalled");
    recv_where(server.events(), "server event Joined stalled", |e| {
        matches!(e, ServerEvent::Joined { nick, .. } if nick == "stalled").then_some(())
    });
    let (sender, _) = RawPeer::join(addr, "sender");
    let blasting = blast(&sender.stream, 0, MESSAGES_EACH, 20_000);
    // Pressure is on once the sender's messages stop coming back for a second: the stalled
    // member's queue is over its mark and the sender's input is not read.
    let mut echoed = 0;
    while let Some(frame) = sender.frame_within(Duration::from_secs(1)) {
        if let ServerFrame::Chat(_) = frame {
            echoed += 1;
        }
        assert!(
            echoed < MESSAGES_EACH,
            "all relayed: the pressure never came on"
        );
    }
    let newcomer = RawPeer::hello_with_features(addr, "newcomer", &["presence"]);
    let first = newcomer.line().expect("the server says something first");
    assert!(
        first.starts_with(br#"{"type":"welcome""#),
        "greeted as plain text: {:?}",
        String::from_utf8_lossy(&first)
    );
    newcomer.stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(blasting);
}
