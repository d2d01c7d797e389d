//! Everything a peer makes the server send to others is paced: chat, nickname changes in both
//! dialects, and joining itself (new connections per address). All on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::SocketAddr;

use common::{RawPeer, chat_of, recv_where, start_server, test_config};
use natter::network::protocol::{ClientFrame, ErrorCode, LeaveReason, ServerFrame, encode};
use natter::network::server::{JoinLimit, RateLimit, ServerConfig, ServerEvent};

/// A burst of 5 and (for the length of a test) no refill: exactly 5 actions get through.
fn five_then_nothing() -> ServerConfig {
    ServerConfig {
        rate: RateLimit {
            burst: 5.0,
            per_second: 0.001,
            strikes: 10,
        },
        ..test_config()
    }
}

/// Counts the `nick` frames `watcher` sees until `nick`'s leave, and returns them with the
/// leave reason.
fn renames_until_leave(watcher: &RawPeer, leaving: impl Fn(&str) -> bool) -> (usize, LeaveReason) {
    let mut renames = 0;
    loop {
        match watcher.frame() {
            ServerFrame::Nick { .. } => renames += 1,
            ServerFrame::Leave { nick, reason, .. } if leaving(&nick) => return (renames, reason),
            _ => {}
        }
    }
}

fn has_error(frames: &[ServerFrame], wanted: ErrorCode) -> bool {
    frames
        .iter()
        .any(|f| matches!(f, ServerFrame::Error { code, .. } if *code == wanted))
}

/// 1,000 `nick` frames in one write: the other member sees the first 5 renames only; the
/// sender is warned `rate_limited`, then dropped with `flooding`; the room goes on.
#[test]
fn a_thousand_nick_frames_reach_others_only_for_the_burst_then_the_sender_is_dropped() {
    let server = start_server(five_then_nothing());
    let addr = server.local_addr();
    let (mut watcher, _) = RawPeer::join(addr, "watcher");
    let (mut flooder, _) = RawPeer::join(addr, "flooder");
    let flood: Vec<u8> = (0..1000)
        .flat_map(|i| {
            encode(&ClientFrame::Nick {
                nick: format!("flooder{i}"),
            })
        })
        .collect();
    flooder.send_raw(&flood);
    let own = flooder.frames_until_closed();
    assert!(has_error(&own, ErrorCode::RateLimited), "{own:?}");
    assert!(has_error(&own, ErrorCode::Flooding), "{own:?}");
    let (renames, reason) = renames_until_leave(&watcher, |nick| nick.starts_with("flooder"));
    assert_eq!(renames, 5);
    assert_eq!(reason, LeaveReason::Dropped);
    watcher.say("still here", "1");
    assert_eq!(watcher.frame_where(chat_of).text, "still here");
}

/// The same with a plain peer typing `/nick a`, `/nick b`, … 1,000 times.
#[test]
fn a_thousand_plain_nick_commands_reach_others_only_for_the_burst_then_the_sender_is_dropped() {
    let server = start_server(five_then_nothing());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let mut flooder = RawPeer::connect(addr);
    let flood: String = (0..1000)
        .map(|i| format!("/nick {}\r\n", if i % 2 == 0 { "a" } else { "b" }))
        .collect();
    flooder.send_raw(flood.as_bytes());
    let text = flooder.text_until_closed();
    assert!(text.contains("! Slow down"), "{text}");
    assert!(text.contains("! Too many messages"), "{text}");
    let (renames, reason) = renames_until_leave(&watcher, |nick| nick == "a" || nick == "b");
    assert_eq!(renames, 5);
    assert_eq!(reason, LeaveReason::Dropped);
}

/// What one connection from this address is told: the first frame after `hello`.
fn try_join(addr: SocketAddr, nick: &str) -> Result<RawPeer, (String, RawPeer)> {
    let mut peer = RawPeer::connect(addr);
    peer.send(&ClientFrame::Hello {
        version: 1,
        nick: nick.into(),
        resume: None,
        features: Vec::new(),
    });
    match peer.frame() {
        ServerFrame::Welcome { .. } => {
            assert!(matches!(peer.frame(), ServerFrame::Accepted { .. }));
            Ok(peer)
        }
        ServerFrame::Error {
            code: ErrorCode::TooManyJoins,
            message,
            ..
        } => Err((message, peer)),
        other => panic!("expected welcome or too_many_joins, got {other:?}"),
    }
}

/// Joining and leaving over and over from one address: after the burst (6, of which the two
/// members used 2) every new connection is refused at once with `too_many_joins`, a Natter
/// client and a silent `nc` alike, and the host logs it; the members keep chatting.
#[test]
fn rapid_reconnects_from_one_address_are_refused_after_the_burst_while_members_chat() {
    let server = start_server(ServerConfig {
        joins_per_address: JoinLimit {
            burst: 6.0,
            per_second: 0.001,
        },
        ..test_config()
    });
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    let mut joined = 0;
    let mut refusal = None;
    for i in 0..50 {
        match try_join(addr, &format!("churn{i}")) {
            Ok(peer) => {
                joined += 1;
                peer.vanish();
            }
            Err((message, peer)) => {
                assert!(peer.line().is_none(), "closed after the refusal");
                refusal = Some(message);
                break;
            }
        }
    }
    assert_eq!(joined, 4);
    let message = refusal.expect("a connection past the burst is refused");
    // Every further attempt is told so too, not just cut off.
    for i in 0..200 {
        assert!(try_join(addr, &format!("again{i}")).is_err());
    }
    assert!(
        message.contains("Too many new connections from 127.0.0.1"),
        "{message}"
    );
    let logged = recv_where(
        server.events(),
        "the too_many_joins log line",
        |e| match e {
            ServerEvent::PeerError {
                code: ErrorCode::TooManyJoins,
                message,
                ..
            } => Some(message),
            _ => None,
        },
    );
    assert!(logged.contains("1 refused since the last note"), "{logged}");
    // A peer that says nothing (nc) gets the same line, readable as text.
    let text = RawPeer::connect(addr).text_until_closed();
    assert!(text.contains("too_many_joins"), "{text}");
    assert!(text.contains("Too many new connections"), "{text}");
    alice.say("still here", "1");
    assert_eq!(bob.frame_where(chat_of).text, "still here");
}

/// The limit is per address: while 127.0.0.1 is refused, 127.0.0.2 joins (Linux routes all
/// of 127.0.0.0/8 to the loopback interface).
#[cfg(target_os = "linux")]
#[test]
fn another_address_joins_while_one_is_refused() {
    use socket2::{Domain, Socket, Type};
    let server = start_server(ServerConfig {
        joins_per_address: JoinLimit {
            burst: 1.0,
            per_second: 0.001,
        },
        ..test_config()
    });
    let addr = server.local_addr();
    let (first, _) = RawPeer::join(addr, "first");
    assert!(try_join(addr, "second").is_err());
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let other: SocketAddr = "127.0.0.2:0".parse().unwrap();
    socket.bind(&other.into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream = std::net::TcpStream::from(socket);
    std::io::Write::write_all(
        &mut stream,
        &encode(&ClientFrame::Hello {
            version: 1,
            nick: "elsewhere".into(),
            resume: None,
            features: Vec::new(),
        }),
    )
    .unwrap();
    let joined = first.frame_where(|f| match f {
        ServerFrame::Join { nick, .. } => Some(nick),
        _ => None,
    });
    assert_eq!(joined, "elsewhere");
}
