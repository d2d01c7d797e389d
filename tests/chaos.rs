//! The socket-level chaos test: hostile connections of every kind (garbage, half frames,
//! floods, stalls) beside normal clients, who lose nothing. Deterministic (a seeded
//! generator), bounded in count and time, loopback only. The parsers' properties are in
//! `fuzz.rs`.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{RawPeer, start_server, test_config};
use natter::network::protocol::ServerFrame;
use natter::network::server::{RateLimit, ServerConfig};

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
