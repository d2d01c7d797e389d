//! Property tests of the decoder, the line splitter and the text cleaner, and a socket-level
//! chaos test. PROPTEST_CASES sets how many inputs each property gets (default 4096; the long
//! run in the notes used millions).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{RawPeer, start_server, test_config};
use natter::network::plain::parse_line;
use natter::network::protocol::{
    ChatMessage, ClientFrame, ErrorCode, LeaveReason, LineSplitter, Resume, ServerFrame, decode,
    encode,
};
use natter::network::server::{RateLimit, ServerConfig};
use natter::network::text::{clean_text, normalize_nick};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \\n\\t\\r\\x1b\\[\\]0-9;你好שלום😀\"\\\\]{0,40}",
    ]
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (
            any::<u32>(),
            any_text(),
            proptest::option::of((any_text(), any::<u64>())),
            proptest::collection::vec(any_text(), 0..3)
        )
            .prop_map(|(version, nick, resume, features)| ClientFrame::Hello {
                version,
                nick,
                resume: resume.map(|(session, last_id)| Resume { session, last_id }),
                features,
            }),
        (
            any_text(),
            proptest::option::of(any_text()),
            any::<bool>(),
            proptest::option::of(any_text())
        )
            .prop_map(|(text, client_id, action, to)| ClientFrame::Chat {
                text,
                client_id,
                action,
                to,
            }),
        any_text().prop_map(|nick| ClientFrame::Nick { nick }),
        Just(ClientFrame::Ping {}),
        Just(ClientFrame::Pong {}),
        Just(ClientFrame::Bye {}),
    ]
}

fn reason() -> impl Strategy<Value = LeaveReason> {
    prop_oneof![
        Just(LeaveReason::Left),
        Just(LeaveReason::TimedOut),
        Just(LeaveReason::Dropped),
        Just(LeaveReason::Replaced),
        Just(LeaveReason::ServerStopped),
    ]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (
            any::<u64>(),
            any_text(),
            any_text(),
            any_text(),
            proptest::option::of(any_text()),
            any::<bool>()
        )
            .prop_map(
                |(id, time, from, text, client_id, action)| ServerFrame::Chat(ChatMessage {
                    id,
                    time,
                    from,
                    text,
                    client_id,
                    action,
                    to: None,
                })
            ),
        (
            any_text(),
            any_text(),
            any::<usize>(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any_text(), 0..4)
        )
            .prop_map(
                |(nick, session, history_count, resumed, history_complete, users)| {
                    ServerFrame::Accepted {
                        nick,
                        session,
                        users,
                        history_count,
                        resumed,
                        history_complete,
                        unencrypted: Vec::new(),
                    }
                }
            ),
        (any_text(), reason(), any_text(), any_text()).prop_map(|(nick, reason, detail, time)| {
            ServerFrame::Leave {
                nick,
                reason,
                detail,
                time,
            }
        }),
        (any_text(), proptest::option::of(any_text())).prop_map(|(message, client_id)| {
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                message,
                client_id,
            }
        }),
        any_text().prop_map(|reason| ServerFrame::Bye { reason }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<ClientFrame>(&bytes);
        let _ = decode::<ServerFrame>(&bytes);
        let _ = parse_line(&bytes);
    }

    #[test]
    fn json_like_garbage_never_panics(text in "\\{(\"[a-z_]{0,8}\":(\"[^\"]{0,8}\"|[0-9]{1,3}|null|\\{\\}|\\[\\]),?){0,4}\\}?") {
        let _ = decode::<ClientFrame>(text.as_bytes());
    }

    #[test]
    fn client_frames_round_trip(frame in client_frame()) {
        let line = encode(&frame);
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(decode::<ClientFrame>(&line[..line.len() - 1]).unwrap(), frame);
    }

    #[test]
    fn server_frames_round_trip(frame in server_frame()) {
        let line = encode(&frame);
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(decode::<ServerFrame>(&line[..line.len() - 1]).unwrap(), frame);
    }

    /// However the stream is cut into reads, the same lines come out, and none is too long.
    #[test]
    fn the_splitter_is_independent_of_chunking(
        bytes in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(b'\r')], 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..8),
        max in 1usize..64,
    ) {
        let mut whole = LineSplitter::new(max);
        let mut expected = Vec::new();
        let whole_result = whole.push(&bytes, &mut expected);
        let mut cuts = cuts;
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut chunked = LineSplitter::new(max);
        let mut got = Vec::new();
        let mut start = 0;
        let mut chunked_result = Ok(());
        for cut in cuts {
            let cut = cut.min(bytes.len());
            if cut < start { continue; }
            chunked_result = chunked.push(&bytes[start..cut], &mut got);
            if chunked_result.is_err() { break; }
            start = cut;
        }
        prop_assert_eq!(whole_result.is_ok(), chunked_result.is_ok());
        if whole_result.is_ok() {
            prop_assert_eq!(&got, &expected);
        }
        for line in &got {
            prop_assert!(line.len() <= max);
            prop_assert!(!line.contains(&b'\n'));
        }
    }

    #[test]
    fn cleaned_text_has_no_controls_and_is_stable(text in any_text()) {
        let cleaned = clean_text(&text);
        prop_assert!(cleaned.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        prop_assert_eq!(clean_text(&cleaned), cleaned.clone());
        if let Ok(nick) = normalize_nick(&text) {
            prop_assert!(!nick.is_empty() && nick.chars().count() <= 24);
            prop_assert_eq!(normalize_nick(&nick).unwrap(), nick);
        }
    }
}

/// A tiny deterministic generator, so a chaos run can be repeated.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One hostile connection, chosen by `kind`; it never waits for more than a moment.
fn hostile(addr: SocketAddr, kind: u64, rng: &mut Lcg) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    match kind {
        // Random bytes, then gone.
        0 => {
            let n = 1 + rng.next() as usize % 4000;
            let _ = stream.write_all(&rng.bytes(n));
        }
        // Half-open: a start of a frame, then silence until the handshake deadline.
        1 => {
            let _ = stream.write_all(b"{\"type\":\"hel");
        }
        // Abrupt reset: SO_LINGER 0 turns close into RST.
        2 => {
            let _ = stream.write_all(b"{\"type\":\"hello\",\"version\":1,\"nick\":\"rst\"}\n");
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
        // Oversized line.
        3 => {
            let _ = stream.write_all(&vec![b'a'; 70_000]);
        }
        // A first 0x16 (TLS) and then anything.
        5 => {
            let n = 1 + rng.next() as usize % 600;
            let mut bytes = vec![0x16];
            bytes.extend(rng.bytes(n));
            let _ = stream.write_all(&bytes);
        }
        // A TLS record header that promises a handshake, then random contents.
        6 => {
            let n = rng.next() as usize % 2000;
            let mut bytes = vec![0x16, 0x03, 0x01, (n >> 8) as u8, n as u8];
            let sent = n / (1 + rng.next() as usize % 3);
            bytes.extend(rng.bytes(sent));
            let _ = stream.write_all(&bytes);
        }
        // A real TLS session carrying random bytes (either dialect's garbage, encrypted).
        7 => {
            drop(stream);
            if let Ok(mut peer) = common::tls_peer::TlsPeer::connect(addr) {
                let n = 1 + rng.next() as usize % 300;
                let mut garbage = rng.bytes(n);
                garbage.push(b'\n');
                peer.send(&garbage);
            }
        }
        // A member that joins then sends garbage.
        _ => {
            let _ = stream.write_all(b"{\"type\":\"hello\",\"version\":1,\"nick\":\"chaos\"}\n");
            let mut garbage = rng.bytes(200);
            garbage.push(b'\n');
            let _ = stream.write_all(&garbage);
        }
    }
}

#[test]
fn chaos_at_the_socket_level_loses_nothing_for_normal_clients() {
    let server = start_server(ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        sniff_window: Duration::from_millis(100),
        rate: RateLimit {
            burst: 1000.0,
            per_second: 1000.0,
            strikes: 10,
        },
        ..test_config()
    });
    let addr = server.local_addr();
    const NORMAL: usize = 5;
    const EACH: usize = 40;
    let mut normals: Vec<RawPeer> = (0..NORMAL)
        .map(|i| RawPeer::join(addr, &format!("normal{i}")).0)
        .collect();

    let chaos = thread::Builder::new()
        .name("chaos".into())
        .spawn(move || {
            let mut rng = Lcg(0x5eed);
            for _ in 0..200 {
                let kind = rng.next() % 8;
                hostile(addr, kind, &mut rng);
            }
        })
        .unwrap();
    for round in 0..EACH {
        for (i, peer) in normals.iter_mut().enumerate() {
            peer.say(&format!("n{i}-{round}"), &round.to_string());
        }
    }
    chaos.join().unwrap();

    for peer in &normals {
        let mut seen = Vec::new();
        let mut last_id = 0;
        while seen.len() < NORMAL * EACH {
            if let ServerFrame::Chat(message) = peer.frame() {
                assert!(message.id > last_id, "ids strictly increase");
                last_id = message.id;
                // Random bytes that start with something other than '{' are a plain-text
                // peer, whose lines are relayed like anyone's: count only the normal clients.
                if message.from.starts_with("normal") {
                    seen.push(message.text);
                }
            }
        }
        for i in 0..NORMAL {
            let mine: Vec<&String> = seen
                .iter()
                .filter(|t| t.starts_with(&format!("n{i}-")))
                .collect();
            let expected: Vec<String> = (0..EACH).map(|r| format!("n{i}-{r}")).collect();
            assert_eq!(
                mine,
                expected.iter().collect::<Vec<_>>(),
                "{}: all of n{i}, in order",
                peer.nick
            );
        }
    }
    // And the server still answers.
    let (late, _) = RawPeer::join(addr, "late");
    assert_eq!(late.nick, "late");
    let members = server.members();
    for i in 0..NORMAL {
        assert!(members.contains(&format!("normal{i}")), "{members:?}");
    }
}
