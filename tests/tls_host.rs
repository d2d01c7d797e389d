//! The host's side of encryption on real sockets: `--require-encryption` refuses JSON and
//! plain peers in their own dialect, a TLS handshake that never finishes or garbage after a
//! first 0x16 is cut without harm, and `natter serve` prints its identity file's code and says
//! what to do with a corrupt one. (Clients, pins and peers over TLS: tests/tls.rs.)
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::tls::{encrypted, options};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::tls_peer::TlsPeer;
use common::{RawPeer, WAIT, recv_where, start_server, test_config};
use natter::network::client::{self, ClientEvent};
use natter::network::no_wake_up;
use natter::network::protocol::{ClientFrame, ErrorCode, PROTOCOL_VERSION, ServerFrame};
use natter::network::server::ServerConfig;
use natter::network::tls::Identity;

#[test]
fn only_encrypted_connections_refuses_json_and_plain_peers_in_their_own_dialect() {
    let config = ServerConfig {
        require_encryption: true,
        ..test_config()
    };
    let server = start_server(config);
    let mut json = RawPeer::connect(server.local_addr());
    json.send(&ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        nick: "dana".into(),
        resume: None,
        features: Vec::new(),
    });
    let message = json.assert_error(ErrorCode::EncryptionRequired);
    assert!(message.contains("only encrypted"), "{message}");
    let mut plain = RawPeer::connect(server.local_addr());
    plain.send_raw(b"erin\n");
    let text = plain.text_until_closed();
    assert!(text.contains("only encrypted connections"), "{text:?}");
    assert!(!text.contains('{'), "plain peers get no JSON: {text:?}");
    let natter = client::connect(options(server.local_addr(), "frank"), no_wake_up()).unwrap();
    encrypted(&natter);
    recv_where(natter.events(), "Connected", |e| match e {
        ClientEvent::Connected { .. } => Some(()),
        ClientEvent::Failed(error) => panic!("{error}"),
        _ => None,
    });
}

/// A ClientHello that never finishes holds nothing: the connection is closed at the handshake
/// timeout, and the room goes on.
#[test]
fn a_tls_handshake_that_never_finishes_is_closed_at_the_handshake_timeout() {
    let config = ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..test_config()
    };
    let server = start_server(config);
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    // A TLS record header promising 512 bytes, and only 3 of them.
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01])
        .unwrap();
    stalled.set_read_timeout(Some(WAIT)).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let read = stalled.read(&mut buf);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "expected the close, got {read:?}"
    );
    assert!(
        started.elapsed() < WAIT,
        "closed by the server, not by our timeout"
    );
    let peer = TlsPeer::connect(server.local_addr());
    assert!(peer.is_ok(), "the host still serves TLS");
}

#[test]
fn garbage_after_a_first_0x16_is_closed_without_a_word_and_the_host_goes_on() {
    let server = start_server(test_config());
    for garbage in [
        &b"\x16this is not a TLS record at all\r\n"[..],
        &[0x16, 0x03, 0x03, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff][..],
        &[0x16, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00][..],
    ] {
        let mut peer = TcpStream::connect(server.local_addr()).unwrap();
        peer.write_all(garbage).unwrap();
        peer.set_read_timeout(Some(WAIT)).unwrap();
        let mut got = Vec::new();
        let _ = peer.read_to_end(&mut got);
        assert!(
            !String::from_utf8_lossy(&got).contains("Welcome"),
            "garbage got a greeting: {got:?}"
        );
    }
    let (mut natter, _) = RawPeer::join(server.local_addr(), "still-here");
    natter.say("fine", "1");
    let echoed = natter.frame_where(|f| match f {
        ServerFrame::Chat(message) => Some(message.text),
        _ => None,
    });
    assert_eq!(echoed, "fine");
}

#[test]
fn natter_serve_prints_the_code_of_its_identity_file_and_refuses_plain_peers_when_asked() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("host-identity.pem");
    let (identity, _) = Identity::load_or_create(&file).unwrap();
    let path = file.to_str().unwrap();
    let mut serve = common::ServeProcess::start(&["--identity", path, "--require-encryption"]);
    let printed: String = serve
        .printed
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert!(
        printed.contains(&format!("Host code: {}", identity.fingerprint().code())),
        "{printed}"
    );
    assert!(printed.contains("Only encrypted connections"), "{printed}");
    let mut plain = RawPeer::connect(serve.addr);
    plain.send_raw(b"hi\n");
    let text = plain.text_until_closed();
    assert!(text.contains("only encrypted connections"), "{text:?}");
    let mut ncat = TlsPeer::connect(serve.addr).unwrap();
    assert_eq!(ncat.fingerprint, identity.fingerprint());
    ncat.text_until("guest-");
    // Announced (and so printed) with its first line.
    ncat.send(b"\n");
    serve.line_with("(plain text, encrypted)");
    let key_line = serve
        .printed
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .find(|l| l.starts_with("Host key: "));
    assert_eq!(
        key_line.as_deref().map(str::trim),
        Some(format!("Host key: {}", identity.fingerprint().to_text()).as_str())
    );
}

#[test]
fn natter_serve_with_a_corrupt_identity_file_says_what_to_do_and_leaves_it_alone() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("host-identity.pem");
    std::fs::write(&file, "-----BEGIN PRIVATE KEY-----\nnot base64!\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_natter"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--no-announce",
        ])
        .arg("--identity")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("Nothing was changed"), "{said}");
    assert!(said.contains("move that file"), "{said}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n"
    );
}
