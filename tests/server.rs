//! The server on real sockets (127.0.0.1, port 0), spoken to frame by frame.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::TcpListener;
use std::time::Duration;

use common::{RawPeer, chat_of, recv_where, start_server, test_config};
use natter::network::protocol::{
    ChatMessage, ClientFrame, ErrorCode, LeaveReason, Resume, ServerFrame,
};
use natter::network::server::{self, HostError, ServerConfig, ServerEvent};

#[test]
fn handshake_greets_first_frame_then_accepts_with_users() {
    let server = start_server(ServerConfig {
        name: "Lab 3".into(),
        ..test_config()
    });
    let (_alice, _) = RawPeer::join(server.local_addr(), "alice");
    let bob = RawPeer::hello(server.local_addr(), "bob");
    match bob.frame() {
        ServerFrame::Welcome {
            server,
            version,
            max_line_bytes,
            text,
            ..
        } => {
            assert_eq!(server, "Lab 3");
            assert_eq!(version, 1);
            assert_eq!(max_line_bytes, 64 * 1024);
            assert!(!text.is_empty());
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    match bob.frame() {
        ServerFrame::Accepted {
            nick,
            users,
            session,
            resumed,
            ..
        } => {
            assert_eq!(nick, "bob");
            assert_eq!(users, vec!["alice".to_string(), "bob".to_string()]);
            assert_eq!(session.len(), 32);
            assert!(!resumed);
        }
        other => panic!("expected accepted, got {other:?}"),
    }
}

#[test]
fn messages_reach_every_client_with_increasing_ids_and_a_confirmation() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    let (carol, _) = RawPeer::join(addr, "carol");
    alice.frame_where(|f| {
        matches!(f, ServerFrame::Join { nick, .. } if nick == "carol").then_some(())
    });
    bob.frame_where(|f| {
        matches!(f, ServerFrame::Join { nick, .. } if nick == "carol").then_some(())
    });

    alice.say("你好, שלום", "a1");
    alice.say("second", "a2");
    let own: Vec<ChatMessage> = (0..2).map(|_| alice.frame_where(chat_of)).collect();
    assert_eq!(own[0].client_id.as_deref(), Some("a1"));
    assert_eq!(own[1].client_id.as_deref(), Some("a2"));
    assert!(own[0].id < own[1].id);
    for peer in [&bob, &carol] {
        let first = peer.frame_where(chat_of);
        let second = peer.frame_where(chat_of);
        assert_eq!(first.text, "你好, שלום");
        assert_eq!(first.from, "alice");
        assert_eq!(first.id, own[0].id);
        assert_eq!(second.id, own[1].id);
        assert_eq!(first.client_id, None, "client ids go to the sender only");
        assert!(
            first.time.ends_with('Z') && first.time.contains('T'),
            "{}",
            first.time
        );
    }
    let relayed = recv_where(server.events(), "server event Message", |e| match e {
        ServerEvent::Message(m) => Some(m),
        _ => None,
    });
    assert_eq!(relayed.text, "你好, שלום");
}

#[test]
fn nicknames_are_unique_regardless_of_case() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (a, _) = RawPeer::join(addr, "alice");
    let (b, _) = RawPeer::join(addr, "alice");
    let (c, _) = RawPeer::join(addr, "ALICE");
    assert_eq!(a.nick, "alice");
    assert_eq!(b.nick, "alice-2");
    assert_eq!(c.nick, "ALICE-3");
    assert_eq!(server.members(), vec!["alice", "alice-2", "ALICE-3"]);
}

#[test]
fn renaming_is_announced_and_kept_unique() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    alice.send(&ClientFrame::Nick { nick: "bob".into() });
    let renamed = bob.frame_where(|f| match f {
        ServerFrame::Nick { from, to, .. } => Some((from, to)),
        _ => None,
    });
    assert_eq!(renamed, ("alice".into(), "bob-2".into()));
    alice.send(&ClientFrame::Nick {
        nick: "server".into(),
    });
    alice.assert_error(ErrorCode::BadNick);
    alice.say("still here", "x");
    assert_eq!(bob.frame_where(chat_of).from, "bob-2");
}

#[test]
fn a_late_joiner_gets_the_recent_history_in_order() {
    let server = start_server(ServerConfig {
        history_len: 3,
        ..test_config()
    });
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    for i in 1..=5 {
        alice.say(&format!("m{i}"), &i.to_string());
        alice.frame_where(chat_of);
    }
    let (_late, frames) = RawPeer::join(addr, "late");
    let ServerFrame::Accepted {
        history_count,
        history_complete,
        ..
    } = &frames[0]
    else {
        panic!("{frames:?}");
    };
    assert_eq!(*history_count, 3);
    assert!(history_complete);
    let texts: Vec<String> = frames[1..]
        .iter()
        .cloned()
        .filter_map(chat_of)
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["m3", "m4", "m5"]);
}

#[test]
fn resuming_after_a_dropped_link_delivers_exactly_the_missed_messages() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (mut bob, _) = RawPeer::join(addr, "bob");
    bob.say("before", "b0");
    let seen = alice.frame_where(chat_of);
    let session = alice.session.clone();
    // Alice's own message is in flight when her link drops; her copy never arrives.
    alice.say("mine, unconfirmed", "a7");
    let mine = bob.frame_where(|f| chat_of(f).filter(|m| m.from == "alice"));
    alice.vanish();
    recv_where(server.events(), "server event Left", |e| {
        matches!(e, ServerEvent::Left { .. }).then_some(())
    });
    bob.say("missed 1", "b1");
    bob.say("missed 2", "b2");
    // Bob's own copy of the second means the server has stored both before Alice is back.
    bob.frame_where(|f| chat_of(f).filter(|m| m.text == "missed 2"));

    let (alice, frames) = RawPeer::join_with(
        addr,
        "alice",
        Some(Resume {
            session: session.clone(),
            last_id: seen.id,
        }),
    );
    let ServerFrame::Accepted {
        resumed,
        history_complete,
        session: new_session,
        ..
    } = &frames[0]
    else {
        panic!("{frames:?}");
    };
    assert!(resumed);
    assert!(history_complete);
    assert_eq!(new_session, &session, "the session carries on");
    let missed: Vec<ChatMessage> = frames[1..].iter().cloned().filter_map(chat_of).collect();
    let texts: Vec<&str> = missed.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["mine, unconfirmed", "missed 1", "missed 2"]);
    assert_eq!(missed[0].id, mine.id);
    assert_eq!(
        missed[0].client_id.as_deref(),
        Some("a7"),
        "a resumed session learns its message was delivered"
    );
    assert_eq!(missed[1].client_id, None);
    assert_eq!(alice.nick, "alice");
}

#[test]
fn resuming_while_the_old_link_still_looks_alive_takes_it_over() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (old, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    let resume = Resume {
        session: old.session.clone(),
        last_id: 0,
    };
    let (new, _) = RawPeer::join_with(addr, "alice", Some(resume));
    assert_eq!(
        new.nick, "alice",
        "the nickname is handed over, not alice-2"
    );
    let frames = old.frames_until_closed();
    assert!(frames.iter().all(|f| !matches!(f, ServerFrame::Chat(_))));
    // The stay keeps its place in the list, as everyone's own copy of the list has it.
    assert_eq!(server.members(), vec!["alice", "bob"]);
    let (carol, _) = RawPeer::join(addr, "carol");
    drop(carol);
    // Bob saw carol join, and no leave or join for alice's takeover.
    let seen = bob.frame_where(|f| match f {
        ServerFrame::Join { nick, .. } | ServerFrame::Leave { nick, .. } => Some(nick),
        _ => None,
    });
    assert_eq!(seen, "carol");
}

#[test]
fn a_stale_session_from_another_server_run_is_not_resumed() {
    let server = start_server(test_config());
    let (_peer, frames) = RawPeer::join_with(
        server.local_addr(),
        "alice",
        Some(Resume {
            session: "0123456789abcdef0123456789abcdef".into(),
            last_id: 99,
        }),
    );
    assert!(matches!(
        frames[0],
        ServerFrame::Accepted { resumed: false, .. }
    ));
}

#[test]
fn joins_and_leaves_are_announced_with_reasons() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut polite, _) = RawPeer::join(addr, "polite");
    let (abrupt, _) = RawPeer::join(addr, "abrupt");
    let joined: Vec<String> = (0..2)
        .map(|_| {
            watcher.frame_where(|f| match f {
                ServerFrame::Join { nick, .. } => Some(nick),
                _ => None,
            })
        })
        .collect();
    assert_eq!(joined, vec!["polite", "abrupt"]);

    polite.send(&ClientFrame::Bye {});
    let left = watcher.frame_where(|f| match f {
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            ..
        } => Some((nick, reason, detail)),
        _ => None,
    });
    assert_eq!(
        left,
        ("polite".into(), LeaveReason::Left, "said goodbye".into())
    );

    // recv returning 0 is a leave too.
    abrupt.vanish();
    let left = watcher.frame_where(|f| match f {
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            ..
        } => Some((nick, reason, detail)),
        _ => None,
    });
    assert_eq!(left.0, "abrupt");
    assert_eq!(left.1, LeaveReason::Left);
    let event = recv_where(server.events(), "server event Left abrupt", |e| match e {
        ServerEvent::Left { nick, reason, .. } if nick == "abrupt" => Some(reason),
        _ => None,
    });
    assert_eq!(event, LeaveReason::Left);
    assert_eq!(server.members(), vec!["watcher"]);
}

/// Each bad line gets its own error code, then the server closes that connection while a
/// bystander keeps chatting.
#[test]
fn bad_frames_get_an_error_and_a_close_while_others_carry_on() {
    let server = start_server(ServerConfig {
        max_line_bytes: 1024,
        ..test_config()
    });
    let addr = server.local_addr();
    let (mut bystander, _) = RawPeer::join(addr, "bystander");
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        (
            "oversize",
            [b"{".repeat(2000), b"\n".to_vec()].concat(),
            ErrorCode::LineTooLong,
        ),
        (
            "invalid json",
            b"{\"type\": chat}\n".to_vec(),
            ErrorCode::BadJson,
        ),
        (
            "invalid utf-8",
            b"{\"type\":\"chat\",\"text\":\"\xff\xfe\"}\n".to_vec(),
            ErrorCode::BadUtf8,
        ),
        (
            "unknown type",
            b"{\"type\":\"teleport\"}\n".to_vec(),
            ErrorCode::UnknownType,
        ),
        (
            "chat before hello",
            b"{\"type\":\"chat\",\"text\":\"hi\"}\n".to_vec(),
            ErrorCode::NotReady,
        ),
        (
            "wrong field type",
            b"{\"type\":\"hello\",\"version\":\"1\",\"nick\":\"x\"}\n".to_vec(),
            ErrorCode::BadFrame,
        ),
        (
            "version mismatch",
            b"{\"type\":\"hello\",\"version\":9,\"nick\":\"x\"}\n".to_vec(),
            ErrorCode::VersionMismatch,
        ),
        (
            "reserved nick",
            b"{\"type\":\"hello\",\"version\":1,\"nick\":\"SYSTEM\"}\n".to_vec(),
            ErrorCode::BadNick,
        ),
    ];
    for (name, bytes, code) in cases {
        let mut peer = RawPeer::connect(addr);
        peer.send_raw(&bytes);
        let frames = peer.frames_until_closed();
        assert!(
            matches!(frames[0], ServerFrame::Welcome { .. }),
            "{name}: {frames:?}"
        );
        let errors: Vec<_> = frames
            .iter()
            .filter_map(|f| match f {
                ServerFrame::Error { code, message, .. } => Some((*code, message.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{name}: {frames:?}");
        assert_eq!(errors[0].0, code, "{name}");
        assert!(
            errors[0].1.len() > 10,
            "{name}: the message explains: {}",
            errors[0].1
        );

        bystander.say(name, name);
        assert_eq!(bystander.frame_where(chat_of).text, name);
    }
}

#[test]
fn a_joined_client_sending_garbage_is_dropped_and_others_see_why() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut rogue, _) = RawPeer::join(addr, "rogue");
    rogue.send_raw(b"\xc3\x28 not json\n");
    rogue.assert_error(ErrorCode::BadUtf8);
    let (nick, reason) = watcher.frame_where(|f| match f {
        ServerFrame::Leave { nick, reason, .. } => Some((nick, reason)),
        _ => None,
    });
    assert_eq!((nick.as_str(), reason), ("rogue", LeaveReason::Dropped));
}

#[test]
fn a_silent_natter_client_is_closed_after_the_handshake_deadline() {
    let server = start_server(ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..test_config()
    });
    let mut peer = RawPeer::connect(server.local_addr());
    // A '{' says "Natter client", but no hello follows.
    peer.send_raw(b"{");
    peer.assert_error(ErrorCode::HandshakeTimeout);
    assert!(
        peer.line().is_none(),
        "the connection closes after the error"
    );
}

#[test]
fn a_client_that_never_answers_pings_times_out() {
    let server = start_server(ServerConfig {
        ping_interval: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(1000),
        ..test_config()
    });
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mute, _) = RawPeer::join_full(addr, "mute", None, false);
    let frames = mute.frames_until_closed();
    assert!(
        frames.iter().any(|f| matches!(f, ServerFrame::Ping {})),
        "{frames:?}"
    );
    assert!(frames.iter().any(|f| matches!(
        f,
        ServerFrame::Error {
            code: ErrorCode::IdleTimeout,
            ..
        }
    )));
    // The watcher's reader answers its pings, so it is still in and sees why mute left.
    let reason = watcher.frame_where(|f| match f {
        ServerFrame::Leave { nick, reason, .. } if nick == "mute" => Some(reason),
        _ => None,
    });
    assert_eq!(reason, LeaveReason::TimedOut);
}

#[test]
fn pings_are_answered() {
    let server = start_server(test_config());
    let (mut peer, _) = RawPeer::join(server.local_addr(), "pinger");
    peer.send(&ClientFrame::Ping {});
    assert_eq!(peer.frame(), ServerFrame::Pong {});
}

#[test]
fn stop_says_bye_joins_threads_and_releases_the_port() {
    stop_says_bye_and_releases_the_port(test_config());
}

/// The same with every connection on one I/O thread.
#[test]
fn with_one_io_thread_stop_says_bye_joins_threads_and_releases_the_port() {
    stop_says_bye_and_releases_the_port(ServerConfig {
        io_threads: 1,
        ..test_config()
    });
}

fn stop_says_bye_and_releases_the_port(config: ServerConfig) {
    let server = start_server(config);
    let addr = server.local_addr();
    let (alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    let events = server.events().clone();
    server.stop();
    for peer in [&alice, &bob] {
        let frames = peer.frames_until_closed();
        assert!(
            frames.iter().any(|f| matches!(f, ServerFrame::Bye { .. })),
            "{frames:?}"
        );
    }
    let last = events.try_iter().last();
    assert_eq!(last, Some(ServerEvent::Stopped));
    // The port is free again at once.
    let again = TcpListener::bind(addr).unwrap();
    drop(again);
}

#[test]
fn hosting_on_a_taken_port_says_so_with_advice() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let error = server::bind(taken.local_addr().unwrap()).unwrap_err();
    assert!(matches!(error, HostError::AddrInUse { .. }));
    let text = error.to_string();
    assert!(text.contains("Another program already uses port"), "{text}");
    assert!(text.contains("0 to let the system choose"), "{text}");
}

#[test]
fn control_characters_and_escapes_never_reach_anyone() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut sender, _) = RawPeer::join(addr, "sender\u{1b}[31m");
    let (reader, _) = RawPeer::join(addr, "reader");
    assert_eq!(sender.nick, "sender");
    sender.say("\u{1b}]0;owned\u{7}hi \u{1b}[2Jthere\u{0}\r\nline two", "1");
    let message = reader.frame_where(chat_of);
    assert_eq!(message.text, "hi there\nline two");
    sender.say("\u{1b}[1m \u{7}", "2");
    let error = sender.frame_where(|f| match f {
        ServerFrame::Error {
            code, client_id, ..
        } => Some((code, client_id)),
        _ => None,
    });
    assert_eq!(error, (ErrorCode::EmptyText, Some("2".into())));
}

#[test]
fn an_action_reaches_a_plain_peer_as_a_star_line_and_a_plain_me_reaches_natter_peers_as_an_action()
{
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    alice.send(&ClientFrame::Chat {
        text: "waves".into(),
        client_id: Some("1".into()),
        action: true,
        to: None,
    });
    let seen = nc.text_until("* alice waves");
    assert!(!seen.contains("alice: waves"), "{seen}");
    let own = alice.frame_where(chat_of);
    assert!(own.action, "the sender's copy is an action too: {own:?}");

    nc.send_raw(b"/me nods\n");
    let relayed = alice.frame_where(chat_of);
    assert_eq!(
        (relayed.text.as_str(), relayed.action),
        ("nods", true),
        "{relayed:?}"
    );
}

/// Every line goes out only after the answer to the one before, so each read the host makes
/// empties the socket. On Windows the host must still read on until "would block", or mio
/// never reports the next line (scripts/windows_tests.sh runs this under Wine).
#[test]
fn a_peer_that_waits_for_each_answer_is_heard_line_after_line() {
    let server = start_server(test_config());
    let (mut alice, _) = RawPeer::join(server.local_addr(), "alice");
    for i in 0..5 {
        let id = format!("w{i}");
        alice.say(&format!("line {i}"), &id);
        let echoed = alice.frame_where(chat_of);
        assert_eq!(echoed.client_id.as_deref(), Some(id.as_str()));
        assert_eq!(echoed.text, format!("line {i}"));
    }
}
