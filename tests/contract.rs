//! Where the code and PROTOCOL.md used to disagree (issue 10, item 10): nickname length after
//! numbering, line length in both directions, the plain leave line, `welcome` before a fatal
//! error, server-only frame types sent by a client.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::{RawPeer, chat_of, start_server, test_config};
use natter::network::protocol::{
    ClientFrame, ErrorCode, MAX_LINE_BYTES, ServerFrame, decode, encode,
};
use natter::network::server::ServerConfig;
use natter::network::text::MAX_NICK_CHARS;

fn quick_sniff() -> ServerConfig {
    ServerConfig {
        sniff_window: Duration::from_millis(100),
        ..test_config()
    }
}

#[test]
fn a_taken_24_character_nick_is_numbered_within_24_characters_in_both_dialects() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let long = "abcdefghijklmnopqrstuvwx";
    assert_eq!(long.chars().count(), MAX_NICK_CHARS);
    let (first, _) = RawPeer::join(addr, long);
    assert_eq!(first.nick, long);
    let (second, _) = RawPeer::join(addr, long);
    assert_eq!(second.nick, "abcdefghijklmnopqrstuv-2");
    let cjk = "字".repeat(MAX_NICK_CHARS);
    let (_third, _) = RawPeer::join(addr, &cjk);
    let (fourth, _) = RawPeer::join(addr, &cjk);
    assert_eq!(
        fourth.nick.chars().count(),
        MAX_NICK_CHARS,
        "{}",
        fourth.nick
    );
    // A plain peer renaming to the taken long name.
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    nc.send_raw(format!("/nick {long}\n").as_bytes());
    let to = first.frame_where(|f| match f {
        ServerFrame::Nick { to, .. } => Some(to),
        _ => None,
    });
    assert_eq!(to, "abcdefghijklmnopqrstuv-3");
    assert!(
        server
            .members()
            .iter()
            .all(|n| n.chars().count() <= MAX_NICK_CHARS)
    );
}

/// A chat line that fits what the server accepts would become a longer line once relayed
/// (id, time and sender are added; a plain peer's bad bytes become three-byte U+FFFD). The
/// server sends no line longer than `max_line_bytes`: it refuses such a message instead.
#[test]
fn no_line_from_the_server_is_longer_than_max_line_bytes() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut sender, _) = RawPeer::join(addr, "sender-with-long-name");
    // The longest chat line the server accepts: exactly MAX_LINE_BYTES with its frame.
    let frame = |text: String| ClientFrame::Chat {
        text,
        client_id: Some("1".into()),
        action: false,
        to: None,
    };
    let overhead = encode(&frame(String::new())).len() - 1;
    let text = "\"".repeat((MAX_LINE_BYTES - overhead) / 2);
    let line = encode(&frame(text));
    assert!(line.len() - 1 <= MAX_LINE_BYTES);
    sender.send_raw(&line);
    let (code, client_id) = sender.frame_where(|f| match f {
        ServerFrame::Error {
            code, client_id, ..
        } => Some((code, client_id)),
        _ => None,
    });
    assert_eq!(
        (code, client_id.as_deref()),
        (ErrorCode::TextTooLong, Some("1"))
    );
    // A plain peer's 60,000 invalid bytes would be 180,000 bytes of U+FFFD.
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let mut bad = vec![0xffu8; 60_000];
    bad.push(b'\n');
    nc.send_raw(&bad);
    assert!(nc.text_until("too long").contains("! "));
    // Both still in the room; the watcher got neither message and no overlong line.
    sender.say("still here", "2");
    loop {
        let line = watcher.line().expect("watcher closed");
        assert!(
            line.len() <= MAX_LINE_BYTES,
            "a line of {} bytes",
            line.len()
        );
        if let Ok(ServerFrame::Chat(message)) = decode::<ServerFrame>(&line) {
            assert_eq!(message.text, "still here");
            break;
        }
    }
}

#[test]
fn a_client_id_longer_than_64_bytes_is_a_bad_frame() {
    let server = start_server(test_config());
    let (mut peer, _) = RawPeer::join(server.local_addr(), "a");
    peer.say("hi", &"9".repeat(65));
    let code = peer.frame_where(|f| match f {
        ServerFrame::Error { code, .. } => Some(code),
        _ => None,
    });
    assert_eq!(code, ErrorCode::BadFrame);
    let (mut ok, _) = RawPeer::join(server.local_addr(), "b");
    ok.say("hi", &"9".repeat(64));
    assert_eq!(ok.frame_where(chat_of).client_id, Some("9".repeat(64)));
}

/// PROTOCOL.md §7: `* alice left` when she left on her own, `* alice left (DETAIL)` otherwise.
#[test]
fn the_plain_leave_line_is_as_documented() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let (mut polite, _) = RawPeer::join(addr, "polite");
    polite.send(&ClientFrame::Bye {});
    let text = nc.text_until("polite left");
    assert!(text.lines().any(|l| l == "* polite left"), "{text:?}");
    let (mut rude, _) = RawPeer::join(addr, "rude");
    rude.send_raw(b"{\"type\":\"teleport\"}\n");
    let text = nc.text_until("rude left");
    let line = text.lines().find(|l| l.contains("rude left")).unwrap();
    assert_eq!(
        line,
        "* rude left (Unknown frame type \"teleport\": this server speaks Natter protocol version 1.)"
    );
}

/// PROTOCOL.md §4: `welcome` is sent before `hello` is looked at, so it can be followed by a
/// fatal error and the close.
#[test]
fn welcome_can_be_followed_by_a_fatal_error() {
    let server = start_server(test_config());
    let mut peer = RawPeer::connect(server.local_addr());
    peer.send(&ClientFrame::Hello {
        version: 9,
        nick: "x".into(),
        resume: None,
        features: Vec::new(),
    });
    let frames = peer.frames_until_closed();
    assert!(
        matches!(frames[0], ServerFrame::Welcome { .. }),
        "{frames:?}"
    );
    assert!(
        matches!(
            frames[1],
            ServerFrame::Error {
                code: ErrorCode::VersionMismatch,
                ..
            }
        ),
        "{frames:?}"
    );
    assert_eq!(frames.len(), 2, "{frames:?}");
}

/// PROTOCOL.md §5/§8: a type only the server sends is `unknown_type` from a client.
#[test]
fn server_only_frame_types_from_a_client_are_unknown_type() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    for kind in ["welcome", "accepted", "join", "leave", "error"] {
        let (mut peer, _) = RawPeer::join(addr, kind);
        peer.send_raw(format!("{{\"type\":\"{kind}\"}}\n").as_bytes());
        let code = peer.frame_where(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        });
        assert_eq!(code, ErrorCode::UnknownType, "{kind}");
    }
}

/// PROTOCOL.md §1: a line of only white space is no frame, even before the first `{`.
#[test]
fn blank_lines_before_and_between_frames_are_ignored() {
    let server = start_server(test_config());
    let mut peer = RawPeer::connect(server.local_addr());
    peer.send_raw(b"\r\n  \n");
    peer.send_raw(br#"{"type":"hello","version":1,"nick":"blank"}"#);
    peer.send_raw(b"\n\n   \n");
    peer.send_raw(br#"{"type":"chat","text":"after blanks","client_id":"1"}"#);
    peer.send_raw(b"\n");
    let echo = peer.frame_where(chat_of);
    assert_eq!(echo.text, "after blanks");
    assert_eq!(echo.from, "blank");
}

/// The next line that is a `chat` frame: the frame, and the line's length (newline excluded).
fn chat_line(peer: &RawPeer) -> (natter::network::protocol::ChatMessage, usize) {
    loop {
        let line = peer.line().expect("closed before a chat");
        if let Ok(ServerFrame::Chat(message)) = decode::<ServerFrame>(&line) {
            return (message, line.len());
        }
    }
}

/// PROTOCOL.md §3: a message is relayed when its `chat` frame, exactly as the server writes it
/// (its real id, time, sender, `to` and the sender's `client_id`), is at most `max_line_bytes`.
/// A client that computes this from the document alone finds the largest text that fits, sees
/// it relayed at exactly the limit, and sees one byte more refused with the exact length. (The
/// server used to measure an id of 20 digits and refuse texts 19 bytes short of the limit.)
#[test]
fn a_message_relayed_at_exactly_max_line_bytes_passes_and_one_byte_more_is_refused_exactly() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut sender, _) = RawPeer::join(addr, "sender");
    sender.say("probe", "0");
    let (probe, _) = chat_line(&sender);
    assert_eq!(chat_line(&watcher).0.id, probe.id);
    let mut next_id = probe.id + 1;
    // What the document says the sender's own copy is, for a text of `len` ASCII letters.
    let relayed = |id: u64, len: usize, client_id: &str, to: Option<&str>| {
        let message = natter::network::protocol::ChatMessage {
            id,
            time: probe.time.clone(),
            from: "sender".into(),
            text: "a".repeat(len),
            client_id: Some(client_id.into()),
            action: false,
            to: to.map(str::to_string),
        };
        encode(&ServerFrame::Chat(message)).len() - 1
    };
    for to in [None, Some("watcher")] {
        let overhead = relayed(next_id, 0, "1", to);
        let largest = MAX_LINE_BYTES - overhead;
        assert_eq!(relayed(next_id, largest, "1", to), MAX_LINE_BYTES);
        sender.send(&ClientFrame::Chat {
            text: "a".repeat(largest),
            client_id: Some("1".into()),
            action: false,
            to: to.map(str::to_string),
        });
        let (echo, len) = chat_line(&sender);
        assert_eq!((echo.id, echo.text.len()), (next_id, largest), "{to:?}");
        assert_eq!(
            len, MAX_LINE_BYTES,
            "the sender's copy is exactly at the limit"
        );
        let (seen, _) = chat_line(&watcher);
        assert_eq!(seen.id, next_id);
        next_id += 1;
        // One byte more: refused, saying the exact length, and the id is not used up.
        let over = relayed(next_id, largest + 1, "2", to);
        assert_eq!(over, MAX_LINE_BYTES + 1, "{to:?}");
        sender.send(&ClientFrame::Chat {
            text: "a".repeat(largest + 1),
            client_id: Some("2".into()),
            action: false,
            to: to.map(str::to_string),
        });
        let (code, message, client_id) = sender.frame_where(|f| match f {
            ServerFrame::Error {
                code,
                message,
                client_id,
            } => Some((code, message, client_id)),
            _ => None,
        });
        assert_eq!(
            (code, client_id.as_deref()),
            (ErrorCode::TextTooLong, Some("2"))
        );
        let exact = format!("({} bytes as a line; at most {MAX_LINE_BYTES})", over);
        assert!(message.contains(&exact), "{message}");
    }
    sender.say("after", "3");
    let (after, _) = chat_line(&sender);
    assert_eq!(after.id, next_id, "refused messages took no id");
}

/// PROTOCOL.md §3: `accepted` is at most 300 + 99 × people + 99 × those without encryption
/// (the `unencrypted` array repeats their nicknames). Measured with the longest nicknames
/// (24 characters of 4 bytes) and nobody encrypted, on a host that offers TLS.
#[test]
fn accepted_stays_within_the_documented_bound_with_every_long_nick_listed_as_unencrypted() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let nick = |i: u32| char::from_u32(0x20000 + i).unwrap().to_string().repeat(24);
    let mut peers = Vec::new();
    for i in 0..46 {
        let (peer, _) = RawPeer::join(addr, &nick(i));
        assert_eq!(peer.nick.len(), 96);
        peers.push(peer);
    }
    let mut last = RawPeer::connect(addr);
    last.send(&ClientFrame::Hello {
        version: 1,
        nick: nick(46),
        resume: None,
        features: Vec::new(),
    });
    assert!(matches!(last.frame(), ServerFrame::Welcome { .. }));
    let line = last.line().expect("accepted");
    let Ok(ServerFrame::Accepted {
        users, unencrypted, ..
    }) = decode::<ServerFrame>(&line)
    else {
        panic!("{}", String::from_utf8_lossy(&line));
    };
    let people = users.len();
    assert_eq!((people, unencrypted.len()), (47, 47));
    let bound = 300 + 99 * people + 99 * unencrypted.len();
    assert!(line.len() <= bound, "{} > {bound}", line.len());
    // The bound without the `unencrypted` array would not hold: the array is what it counts.
    assert!(line.len() > 300 + 99 * people, "{}", line.len());
    // And the document states this bound, not the one without the array.
    let document = include_str!("../docs/PROTOCOL.md").replace('\n', " ");
    assert!(
        document.contains(
            "300 + 99 × (people in the room) + 99 × (those of them without encryption) bytes"
        ),
        "PROTOCOL.md §3 states another bound for accepted"
    );
}
