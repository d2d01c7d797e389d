//! Every refused connection is told why in its own dialect, however many come at once, and the
//! server's events (and `natter serve`'s log) count every refusal (issue 10, item 6). A TLS
//! peer, which reads no frame before a handshake, is told with a documented TLS alert, and a
//! pinned Natter client reads it as a refusal, not as a host that stopped encrypting (issue 25).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::tls_peer::TlsPeer;
use common::{RawPeer, ServeProcess, WAIT, start_server, test_config};
use natter::network::client::{self, ClientError, ClientEvent, ConnectOptions};
use natter::network::protocol::{ClientFrame, ErrorCode, encode};
use natter::network::server::{JoinLimit, ServerConfig, ServerEvent, ServerHandle};

fn quick_sniff() -> ServerConfig {
    ServerConfig {
        sniff_window: Duration::from_millis(100),
        ..test_config()
    }
}

/// Reads until `needle` arrives; false if the server closed (or went quiet) first.
fn reads_reason(stream: &mut TcpStream, needle: &str) -> bool {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if String::from_utf8_lossy(&got).contains(needle) {
            return true;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// `Refused` events until `count` have come; returns them.
fn refusals(server: &ServerHandle, count: usize) -> Vec<(ErrorCode, u64)> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.events().recv_timeout(left) {
            Ok(ServerEvent::Refused { code, total, .. }) => seen.push((code, total)),
            Ok(_) => {}
            Err(e) => panic!("{} refusals reported of {count}: {e}", seen.len()),
        }
    }
    seen
}

#[test]
fn each_of_200_connections_to_a_full_room_reads_its_refusal_and_all_are_counted() {
    const BURST: usize = 200;
    let server = start_server(ServerConfig {
        max_clients: 2,
        ..quick_sniff()
    });
    let addr = server.local_addr();
    let (_a, _) = RawPeer::join(addr, "a");
    let (_b, _) = RawPeer::join(addr, "b");
    // Half are Natter clients (hello at once), half say nothing, like nc.
    let mut burst: Vec<(bool, TcpStream)> = (0..BURST)
        .map(|i| {
            let mut stream = TcpStream::connect(addr).unwrap();
            let natter = i % 2 == 0;
            if natter {
                let hello = ClientFrame::Hello {
                    version: 1,
                    nick: format!("n{i}"),
                    resume: None,
                    features: Vec::new(),
                };
                stream.write_all(&encode(&hello)).unwrap();
            }
            (natter, stream)
        })
        .collect();
    let mut silent = Vec::new();
    for (i, (natter, stream)) in burst.iter_mut().enumerate() {
        let needle = if *natter {
            "\"code\":\"room_full\""
        } else {
            "! The room is full"
        };
        if !reads_reason(stream, needle) {
            silent.push(i);
        }
    }
    assert!(
        silent.is_empty(),
        "{} refused without a word: {silent:?}",
        silent.len()
    );
    let seen = refusals(&server, BURST);
    assert!(
        seen.iter().all(|(code, _)| *code == ErrorCode::RoomFull),
        "{seen:?}"
    );
    let mut totals: Vec<u64> = seen.iter().map(|(_, total)| *total).collect();
    totals.sort_unstable();
    assert_eq!(totals, (1..=BURST as u64).collect::<Vec<_>>());
}

#[test]
fn over_the_address_cap_each_dialect_is_told_why() {
    let server = start_server(ServerConfig {
        max_per_address: 1,
        ..quick_sniff()
    });
    let addr = server.local_addr();
    let (_a, _) = RawPeer::join(addr, "a");
    let mut nc = TcpStream::connect(addr).unwrap();
    assert!(reads_reason(
        &mut nc,
        "! Too many connections from 127.0.0.1"
    ));
    let mut natter = TcpStream::connect(addr).unwrap();
    let hello = ClientFrame::Hello {
        version: 1,
        nick: "b".into(),
        resume: None,
        features: Vec::new(),
    };
    natter.write_all(&encode(&hello)).unwrap();
    assert!(reads_reason(
        &mut natter,
        "\"code\":\"too_many_connections\""
    ));
    let seen = refusals(&server, 2);
    assert!(
        seen.iter()
            .all(|(code, _)| *code == ErrorCode::TooManyConnections),
        "{seen:?}"
    );
}

/// The first event that ends `client`'s attempt: its failure.
fn failure_of(client: &client::ClientHandle) -> ClientError {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.events().recv_timeout(left).unwrap() {
            ClientEvent::Failed(error) => return error,
            ClientEvent::PlainMode { .. } => panic!("took a Natter host for a plain one"),
            ClientEvent::Unencrypted => panic!("talked to the host in the clear"),
            ClientEvent::Connected { .. } => panic!("should be refused"),
            _ => {}
        }
    }
}

/// Natter itself, refused at the door, says why instead of taking the host for a plain-text
/// server (or for one that stopped encrypting).
#[test]
fn a_natter_client_refused_for_too_many_connections_fails_with_the_reason() {
    let server = start_server(ServerConfig {
        max_per_address: 1,
        ..quick_sniff()
    });
    let addr: SocketAddr = server.local_addr();
    let (_a, _) = RawPeer::join(addr, "a");
    let options = ConnectOptions::new(addr.to_string(), "b");
    let client = client::connect(options, natter::network::no_wake_up()).unwrap();
    let error = failure_of(&client);
    assert_eq!(error, ClientError::TooManyFromYou, "{error}");
}

fn pinned_options(addr: SocketAddr, config: &ServerConfig) -> ConnectOptions {
    ConnectOptions {
        pinned: Some(config.identity.as_ref().unwrap().fingerprint()),
        ..ConnectOptions::new(addr.to_string(), "pinned")
    }
}

/// Issue 25 §2: a host turning a pinned app away for the address cap answers its ClientHello
/// with the documented alert (`access_denied`), and the app reads a refusal it may retry, not a
/// host that stopped encrypting.
#[test]
fn a_pinned_tls_client_over_the_address_cap_reads_the_access_denied_alert_as_too_many_from_its_network()
 {
    let config = ServerConfig {
        max_per_address: 1,
        ..quick_sniff()
    };
    let options = pinned_options("127.0.0.1:1".parse().unwrap(), &config);
    let server = start_server(config);
    let addr = server.local_addr();
    let (_a, _) = RawPeer::join(addr, "a");
    let error = TlsPeer::connect(addr).err().expect("refused");
    let alert = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned();
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::AccessDenied
        )),
        "{error}"
    );
    let options = ConnectOptions {
        address: addr.to_string(),
        ..options
    };
    let client = client::connect(options, natter::network::no_wake_up()).unwrap();
    let error = failure_of(&client);
    assert_eq!(error, ClientError::TooManyFromYou, "{error}");
    assert!(error.is_refusal_for_now() && !error.is_final());
}

/// The same over the new-connection budget, which the listener refuses at once: whether or not
/// the ClientHello had come (an alert, or the `too_many_joins` line), a refusal.
#[test]
fn a_pinned_tls_client_over_the_new_connection_budget_is_refused_not_warned_of_a_downgrade() {
    let config = ServerConfig {
        joins_per_address: JoinLimit {
            burst: 1.0,
            per_second: 0.001,
        },
        ..quick_sniff()
    };
    let options = pinned_options("127.0.0.1:1".parse().unwrap(), &config);
    let server = start_server(config);
    let addr = server.local_addr();
    let (_a, _) = RawPeer::join(addr, "a");
    for _ in 0..5 {
        let options = ConnectOptions {
            address: addr.to_string(),
            ..options.clone()
        };
        let client = client::connect(options, natter::network::no_wake_up()).unwrap();
        let error = failure_of(&client);
        assert_eq!(error, ClientError::TooManyFromYou, "{error}");
    }
}

#[test]
fn serve_logs_each_refusal_with_a_running_count() {
    let mut serve = ServeProcess::start(&["--max-clients", "0"]);
    let addr = serve.addr;
    for _ in 0..3 {
        let mut peer = TcpStream::connect(addr).unwrap();
        peer.write_all(b"hi\n").unwrap();
        assert!(reads_reason(&mut peer, "The room is full"));
    }
    let line = serve.line_with("3 refused so far");
    assert!(line.contains("room_full"), "{line}");
}
