//! Strange and hostile peers: plain-text tools, limits, floods, slow readers, chaos.
//! Every load loop here is bounded in count and stops by itself; all traffic is on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::TcpStream;
use std::time::Duration;

use common::{RawPeer, chat_of, join_and_stop_reading, recv_where, start_server, test_config};
use natter::network::protocol::{ErrorCode, LeaveReason, ServerFrame};
use natter::network::server::{RateLimit, ServerConfig, ServerEvent, ServerHandle};

fn quick_sniff() -> ServerConfig {
    ServerConfig {
        sniff_window: Duration::from_millis(100),
        ..test_config()
    }
}

/// `nc HOST 5050`: says nothing first, so it is greeted after the sniff window; then it picks
/// a name, chats both ways with a Natter client, and leaves with BYE.
#[test]
fn an_nc_user_is_greeted_chats_and_leaves() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (mut natter, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    let greeting = nc.text_until("/who");
    assert!(greeting.contains("Welcome to Natter"), "{greeting}");
    assert!(greeting.contains("You are guest-1"), "{greeting}");
    assert!(greeting.contains("/nick NAME"), "{greeting}");
    assert!(greeting.contains("exit, quit, BYE or /quit"), "{greeting}");
    let online = nc.text_line();
    // Neither joined over TLS, and plain peers read that in the list.
    assert!(
        online.contains("Online (2): alice (without encryption), guest-1 (without encryption)"),
        "{online}"
    );
    // Greeted after its silence, it is announced with its first line (PROTOCOL.md §2).
    nc.send_raw(b"/nick Dana\n");
    assert_eq!(nc.text_line(), "* guest-1 is now Dana");
    assert_eq!(
        natter.frame_where(|f| match f {
            ServerFrame::Join { nick, .. } => Some(nick),
            _ => None,
        }),
        "guest-1"
    );
    // telnet sends CRLF.
    nc.send_raw("shalom שלום\r\n".as_bytes());
    let message = natter.frame_where(chat_of);
    assert_eq!(
        (message.from.as_str(), message.text.as_str()),
        ("Dana", "shalom שלום")
    );

    natter.say("hi Dana 你好", "1");
    let line = nc.text_line();
    assert!(
        line.starts_with('[') && line.ends_with("] alice: hi Dana 你好"),
        "{line:?}"
    );
    assert_eq!(&line[3..4], ":", "[HH:MM]: {line}");

    nc.send_raw(b"/who\n");
    let who = nc.text_line();
    assert!(
        who.contains("Online (2): alice (without encryption), Dana (without encryption)"),
        "{who}"
    );

    nc.send_raw(b"BYE\n");
    assert!(nc.text_until_closed().contains("Goodbye, Dana."));
    let left = natter.frame_where(|f| match f {
        ServerFrame::Leave { nick, reason, .. } => Some((nick, reason)),
        _ => None,
    });
    assert_eq!(left, ("Dana".into(), LeaveReason::Left));
}

/// The ten-line Python script: sends raw UTF-8 without a newline at once, then recv(1024).
#[test]
fn a_tutorial_script_without_newlines_is_understood() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (natter, _) = RawPeer::join(addr, "alice");
    let mut script = RawPeer::connect(addr);
    script.send_raw("你好，世界".as_bytes());
    let greeting = script.text_until("Online");
    assert!(greeting.contains("You are guest-1"), "{greeting}");
    let message = natter.frame_where(chat_of);
    assert_eq!(
        (message.from.as_str(), message.text.as_str()),
        ("guest-1", "你好，世界")
    );
}

#[test]
fn every_goodbye_word_leaves() {
    let server = start_server(quick_sniff());
    for word in ["exit", "quit", "BYE", "/quit"] {
        let mut peer = RawPeer::connect(server.local_addr());
        peer.text_until("Online");
        peer.send_raw(format!("{word}\r\n").as_bytes());
        assert!(peer.text_until_closed().contains("Goodbye"), "{word}");
    }
}

#[test]
fn invalid_utf8_and_escapes_from_plain_peers_are_cleaned_not_fatal() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (mut natter, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    nc.send_raw(b"caf\xe9 \x1b[31mred\x1b[0m \x07done\n");
    let message = natter.frame_where(chat_of);
    assert_eq!(message.text, "caf\u{fffd} red done");
    // And a Natter client cannot send an escape to a terminal either.
    natter.say("\u{1b}[2J\u{1b}]0;title\u{7}clean", "1");
    let line = nc.text_line();
    assert!(line.ends_with("alice: clean"), "{line:?}");
    assert!(!line.contains('\u{1b}'));
}

#[test]
fn room_full_is_said_in_each_dialect() {
    let server = start_server(ServerConfig {
        max_clients: 2,
        ..quick_sniff()
    });
    let addr = server.local_addr();
    let (_a, _) = RawPeer::join(addr, "a");
    let (_b, _) = RawPeer::join(addr, "b");
    let mut late = RawPeer::hello(addr, "late");
    let message = late.assert_error(ErrorCode::RoomFull);
    assert!(message.contains("full (2 people)"), "{message}");
    let nc = RawPeer::connect(addr);
    assert!(nc.text_until_closed().contains("The room is full"));
}

#[test]
fn connections_per_address_are_capped() {
    let server = start_server(ServerConfig {
        max_per_address: 2,
        ..quick_sniff()
    });
    let addr = server.local_addr();
    let (a, _) = RawPeer::join(addr, "a");
    let (_b, _) = RawPeer::join(addr, "b");
    let mut third = RawPeer::hello(addr, "c");
    third.assert_error(ErrorCode::TooManyConnections);
    // Once they are gone, there is room again. The refused connection's slot frees when the
    // server has finished closing it, so try a bounded number of times, each a full round trip.
    third.vanish();
    a.vanish();
    recv_where(server.events(), "server event Left", |e| {
        matches!(e, ServerEvent::Left { .. }).then_some(())
    });
    let joined = (0..50).find_map(|_| {
        let peer = RawPeer::hello(addr, "d");
        let _welcome = peer.frame();
        let answer = peer.line()?;
        match natter::network::protocol::decode::<ServerFrame>(&answer) {
            Ok(ServerFrame::Accepted { nick, .. }) => Some(nick),
            _ => None,
        }
    });
    assert_eq!(joined.as_deref(), Some("d"));
}

#[test]
fn a_flood_is_warned_then_dropped() {
    let server = start_server(ServerConfig {
        rate: RateLimit {
            burst: 3.0,
            per_second: 0.01,
            strikes: 3,
        },
        ..test_config()
    });
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut flooder, _) = RawPeer::join(addr, "flooder");
    for i in 0..10 {
        flooder.say(&format!("spam {i}"), &i.to_string());
    }
    let frames = flooder.frames_until_closed();
    let delivered = frames
        .iter()
        .filter(|f| matches!(f, ServerFrame::Chat(_)))
        .count();
    let warnings: Vec<Option<String>> = frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                client_id,
                ..
            } => Some(client_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, 3, "the burst goes through");
    assert_eq!(
        warnings,
        vec![Some("3".into()), Some("4".into())],
        "then warnings"
    );
    assert!(frames.iter().any(|f| matches!(
        f,
        ServerFrame::Error {
            code: ErrorCode::Flooding,
            ..
        }
    )));
    let texts: Vec<String> = (0..3).map(|_| watcher.frame_where(chat_of).text).collect();
    assert_eq!(texts, vec!["spam 0", "spam 1", "spam 2"]);
    let reason = watcher.frame_where(|f| match f {
        ServerFrame::Leave { reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(reason, LeaveReason::Dropped);
}

#[test]
fn long_nicknames_and_look_alikes_of_reserved_names_are_refused() {
    let server = start_server(test_config());
    for nick in ["x".repeat(40), "H0ST".into(), "sуstem".into()] {
        let mut peer = RawPeer::hello(server.local_addr(), &nick);
        peer.assert_error(ErrorCode::BadNick);
    }
}

/// Connections spread over two I/O threads (the default), or all on one (so the stalled
/// socket shares its thread with everyone). The slow-client guarantees hold for both.
const TWO_IO_THREADS: usize = 2;
const ONE_IO_THREAD: usize = 1;

fn fast_config() -> ServerConfig {
    ServerConfig {
        rate: RateLimit {
            burst: 10_000.0,
            per_second: 10_000.0,
            strikes: 10,
        },
        ..test_config()
    }
}

/// 6 MB of messages: more than the stalled client's socket buffers on both ends can hold, so
/// its writer is blocked for good. The 50 others still get every message, in order, each
/// within [`WAIT`] of the one before, while the stalled one sits in the room (it is not
/// dropped: its queue and stall deadline are generous here). How fast they get them is a
/// benchmark's figure (`cargo bench --bench load -- --mode blast`), not asserted here.
#[test]
fn a_client_with_a_full_socket_buffer_stays_while_fifty_others_get_every_message() {
    full_socket_buffer_does_not_delay_others(TWO_IO_THREADS);
}

#[test]
fn with_one_io_thread_a_client_with_a_full_socket_buffer_stays_while_fifty_others_get_every_message()
 {
    full_socket_buffer_does_not_delay_others(ONE_IO_THREAD);
}

fn full_socket_buffer_does_not_delay_others(io_threads: usize) {
    let server = start_server(ServerConfig {
        queue_lines: 100_000,
        write_stall: Duration::from_secs(600),
        io_threads,
        ..fast_config()
    });
    let addr = server.local_addr();
    let stalled = join_and_stop_reading(addr, "stalled");
    recv_where(server.events(), "server event Joined stalled", |e| {
        matches!(e, ServerEvent::Joined { nick, .. } if nick == "stalled").then_some(())
    });
    let readers: Vec<RawPeer> = (0..50)
        .map(|i| RawPeer::join(addr, &format!("r{i}")).0)
        .collect();
    let (mut sender, _) = RawPeer::join(addr, "sender");
    let chunk = "x".repeat(20_000);
    const COUNT: usize = 300;
    for i in 0..COUNT {
        sender.say(&format!("{i} {chunk}"), &i.to_string());
    }
    for reader in &readers {
        for i in 0..COUNT {
            let message = reader.frame_where(chat_of);
            assert!(
                message.text.starts_with(&format!("{i} ")),
                "{}: message {i}",
                reader.nick
            );
        }
    }
    assert!(
        server.members().contains(&"stalled".to_string()),
        "the stalled client was still sitting there the whole time"
    );
    drop(stalled);
}

/// With a small queue, the client that stopped reading is dropped with a reason everyone sees.
#[test]
fn a_client_that_stops_reading_is_dropped_once_its_queue_fills() {
    dropped_once_its_queue_fills(TWO_IO_THREADS);
}

#[test]
fn with_one_io_thread_a_client_that_stops_reading_is_dropped_once_its_queue_fills() {
    dropped_once_its_queue_fills(ONE_IO_THREAD);
}

fn dropped_once_its_queue_fills(io_threads: usize) {
    let server = start_server(ServerConfig {
        queue_lines: 32,
        io_threads,
        ..fast_config()
    });
    let addr = server.local_addr();
    let _stalled = join_and_stop_reading(addr, "stalled");
    recv_where(server.events(), "server event Joined stalled", |e| {
        matches!(e, ServerEvent::Joined { nick, .. } if nick == "stalled").then_some(())
    });
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut sender, _) = RawPeer::join(addr, "sender");
    let chunk = "y".repeat(20_000);
    for i in 0..400 {
        sender.say(&format!("{i} {chunk}"), &i.to_string());
    }
    let (reason, detail) = watcher.frame_where(|f| match f {
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            ..
        } if nick == "stalled" => Some((reason, detail)),
        _ => None,
    });
    assert_eq!(reason, LeaveReason::Dropped);
    assert!(detail.contains("stopped reading"), "{detail}");
}

/// A write that cannot progress past the deadline drops the client even with room in the queue.
#[test]
fn a_write_stalled_past_the_deadline_drops_the_client() {
    stalled_write_drops_the_client(TWO_IO_THREADS);
}

#[test]
fn with_one_io_thread_a_write_stalled_past_the_deadline_drops_the_client() {
    stalled_write_drops_the_client(ONE_IO_THREAD);
}

/// A room where "stalled" never reads and "sender" has just sent 300 messages of 20 KB: more
/// than the stalled member's socket buffers hold, so a write to it is pending.
fn room_with_a_stalled_member(
    io_threads: usize,
    write_stall: Duration,
) -> (ServerHandle, TcpStream, RawPeer) {
    let server = start_server(ServerConfig {
        queue_lines: 100_000,
        write_stall,
        io_threads,
        ..fast_config()
    });
    let addr = server.local_addr();
    let stalled = join_and_stop_reading(addr, "stalled");
    recv_where(server.events(), "server event Joined stalled", |e| {
        matches!(e, ServerEvent::Joined { nick, .. } if nick == "stalled").then_some(())
    });
    let (mut sender, _) = RawPeer::join(addr, "sender");
    let chunk = "z".repeat(20_000);
    for i in 0..300 {
        sender.say(&format!("{i} {chunk}"), &i.to_string());
    }
    (server, stalled, sender)
}

fn stalled_write_drops_the_client(io_threads: usize) {
    let (server, _stalled, _sender) =
        room_with_a_stalled_member(io_threads, Duration::from_millis(300));
    let detail = recv_where(server.events(), "server event Left stalled", |e| match e {
        ServerEvent::Left { nick, detail, .. } if nick == "stalled" => Some(detail),
        _ => None,
    });
    assert!(detail.contains("write stalled"), "{detail}");
}

/// A member whose socket is full (it never reads) must not hold up stop: stop shuts every
/// link, which fails the pending write at once instead of at the (here very long) deadline.
#[test]
fn stop_does_not_wait_for_a_client_that_stopped_reading() {
    stop_with_a_stalled_client(TWO_IO_THREADS);
}

#[test]
fn with_one_io_thread_stop_does_not_wait_for_a_client_that_stopped_reading() {
    stop_with_a_stalled_client(ONE_IO_THREAD);
}

fn stop_with_a_stalled_client(io_threads: usize) {
    let (server, _stalled, sender) =
        room_with_a_stalled_member(io_threads, Duration::from_secs(3600));
    // The sender's own copy of the last message proves all 300 were relayed, so the stalled
    // member's socket is full and its write is pending.
    sender.frame_where(|f| match f {
        ServerFrame::Chat(m) if m.text.starts_with("299 ") => Some(()),
        _ => None,
    });
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        server.stop();
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(common::WAIT).is_ok(),
        "stop waited on the stalled client's write"
    );
}

/// PROTOCOL.md §3: a peer that reads, but too slowly to keep up, is dropped as "reading too
/// slowly", not as a peer that stopped reading. It reads a little at a time (too little for the
/// system to report its socket writable), so its writes block for longer than the stall time
/// although every one of them moves; it used to be dropped as "stopped reading: a write
/// stalled".
#[test]
fn a_peer_that_reads_too_slowly_is_dropped_as_reading_too_slowly_not_as_stalled() {
    use std::io::{Read, Write};
    let server = start_server(ServerConfig {
        write_stall: Duration::from_secs(2),
        ..fast_config()
    });
    let addr = server.local_addr();
    let mut slow = join_and_stop_reading(addr, "slow");
    recv_where(server.events(), "server event Joined slow", |e| {
        matches!(e, ServerEvent::Joined { nick, .. } if nick == "slow").then_some(())
    });
    // Reads 256 bytes every 50 ms (5 kB/s) until the test has its answer, or the server closes
    // it, for at most a minute.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = std::sync::Arc::clone(&done);
    let reader = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 256];
        while std::time::Instant::now() < deadline
            && !reading.load(std::sync::atomic::Ordering::SeqCst)
        {
            match slow.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
    let (sender, _) = RawPeer::join(addr, "sender");
    // 3,000 messages of 2 kB: more than the socket buffers hold, and then more than the slow
    // peer's 1,024-line mark (less than its 4,096 lines). Written from a thread of their own,
    // since the server stops reading the sender while the slow peer holds the room.
    let mut writer = sender.stream.try_clone().unwrap();
    let blast = std::thread::spawn(move || {
        for i in 0..3000 {
            let line = format!(
                "{{\"type\":\"chat\",\"text\":\"{i} {}\"}}\n",
                "s".repeat(2000)
            );
            if writer.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
    });
    let detail = recv_where(server.events(), "server event Left slow", |e| match e {
        ServerEvent::Left { nick, detail, .. } if nick == "slow" => Some(detail),
        _ => None,
    });
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(detail.starts_with("reading too slowly"), "{detail}");
    blast.join().unwrap();
    reader.join().unwrap();
}
