//! Encrypted links (issue 11) on real sockets: Natter clients encrypt and pin the host key,
//! a changed key or a host that stopped encrypting stops them before they send anything,
//! `ncat --ssl`-style peers chat in plain text inside TLS, and `--require-encryption`
//! refuses the rest in their own dialect. Handshakes that never finish or garbage after a
//! first 0x16 are cut without harm (tests/tls_host.rs, with `natter serve`'s identity file).

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::tls_peer::TlsPeer;
use common::{RawPeer, WAIT, recv_where, start_server, test_config};
use natter::network::client::{self, ClientCommand, ClientError, ClientEvent, ConnectOptions};
use natter::network::no_wake_up;
use natter::network::protocol::{ClientFrame, PROTOCOL_VERSION, Resume, ServerFrame};
use natter::network::server::{ServerConfig, ServerEvent};
use natter::network::tls::{Fingerprint, Identity};

pub(crate) fn options(addr: std::net::SocketAddr, nick: &str) -> ConnectOptions {
    ConnectOptions {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..ConnectOptions::new(addr.to_string(), nick)
    }
}

pub(crate) fn fingerprint_of(config: &ServerConfig) -> Fingerprint {
    config.identity.as_ref().expect("an identity").fingerprint()
}

pub(crate) fn encrypted(client: &client::ClientHandle) -> (Fingerprint, bool) {
    recv_where(client.events(), "Encrypted", |e| match e {
        ClientEvent::Encrypted {
            fingerprint,
            first_time,
        } => Some((fingerprint, first_time)),
        ClientEvent::Failed(error) => panic!("failed: {error}"),
        _ => None,
    })
}

/// Waits until `client` has been welcomed. A test that then connects someone else can count
/// on seeing them join: without the wait, both `hello`s may reach the host in either order.
pub(crate) fn welcomed(client: &client::ClientHandle) {
    recv_where(client.events(), "Connected", |e| match e {
        ClientEvent::Connected { .. } => Some(()),
        _ => None,
    })
}

pub(crate) fn failure(client: &client::ClientHandle) -> ClientError {
    recv_where(client.events(), "Failed", |e| match e {
        ClientEvent::Failed(error) => Some(error),
        ClientEvent::Connected { .. } => panic!("connected to a host it should refuse"),
        _ => None,
    })
}

#[test]
fn two_natter_clients_chat_over_tls_with_the_hosts_key_and_nobody_is_marked_unencrypted() {
    let config = test_config();
    let key = fingerprint_of(&config);
    let server = start_server(config);
    let alice = client::connect(options(server.local_addr(), "alice"), no_wake_up()).unwrap();
    assert_eq!(encrypted(&alice), (key, true));
    welcomed(&alice);
    let bob = client::connect(options(server.local_addr(), "bob"), no_wake_up()).unwrap();
    assert_eq!(encrypted(&bob), (key, true));
    let unencrypted = recv_where(bob.events(), "Connected", |e| match e {
        ClientEvent::Connected { unencrypted, .. } => Some(unencrypted),
        _ => None,
    });
    assert!(unencrypted.is_empty(), "{unencrypted:?}");
    let joined_unencrypted = recv_where(alice.events(), "bob joins", |e| match e {
        ClientEvent::Joined {
            nick, unencrypted, ..
        } if nick == "bob" => Some(unencrypted),
        _ => None,
    });
    assert!(!joined_unencrypted);
    bob.send(ClientCommand::Send {
        local_id: 1,
        text: "secret plans 秘密".into(),
    });
    let text = recv_where(alice.events(), "bob's message", |e| match e {
        ClientEvent::Message { message, .. } if message.from == "bob" => Some(message.text),
        _ => None,
    });
    assert_eq!(text, "secret plans 秘密");
}

/// A TLS session takes at most 64 KiB of plaintext at a time. A host may allow longer lines
/// (`max_line_bytes`), and a line longer than that buffer reaches it whole, not cut where the
/// buffer ended with the next frame glued on.
#[test]
fn a_message_line_longer_than_64_kib_reaches_the_host_whole_over_tls() {
    let config = ServerConfig {
        max_line_bytes: 256 * 1024,
        ..test_config()
    };
    let server = start_server(config);
    let alice = client::connect(options(server.local_addr(), "alice"), no_wake_up()).unwrap();
    encrypted(&alice);
    welcomed(&alice);
    let bob = client::connect(options(server.local_addr(), "bob"), no_wake_up()).unwrap();
    welcomed(&bob);
    let long = "秘密".repeat(20_000);
    assert!(long.len() > 100 * 1024);
    alice.send(ClientCommand::Send {
        local_id: 1,
        text: long.clone(),
    });
    alice.send(ClientCommand::Send {
        local_id: 2,
        text: "short one after".into(),
    });
    let mut texts = Vec::new();
    while texts.len() < 2 {
        texts.push(recv_where(bob.events(), "alice's messages", |e| match e {
            ClientEvent::Message { message, .. } if message.from == "alice" => Some(message.text),
            ClientEvent::Left { nick, detail, .. } if nick == "alice" => {
                panic!("alice's link broke: {detail}")
            }
            _ => None,
        }));
    }
    assert!(
        texts[0] == long,
        "the long message arrived changed ({} bytes)",
        texts[0].len()
    );
    assert_eq!(texts[1], "short one after");
}

/// A man in the middle on 127.0.0.1 with a key of its own (here: another Natter host) is
/// refused by a client pinned to the real host's key, before `hello`: the impostor never
/// sees anyone join, and the message typed meanwhile is never confirmed or sent.
#[test]
fn a_pinned_client_refuses_a_man_in_the_middle_with_its_own_key_and_sends_it_nothing() {
    let real = test_config();
    let real_key = fingerprint_of(&real);
    let impostor_config = test_config();
    let impostor_key = fingerprint_of(&impostor_config);
    let impostor = start_server(impostor_config);
    let client = client::connect(
        ConnectOptions {
            pinned: Some(real_key),
            ..options(impostor.local_addr(), "alice")
        },
        no_wake_up(),
    )
    .unwrap();
    client.send(ClientCommand::Send {
        local_id: 7,
        text: "my password is hunter2".into(),
    });
    assert_eq!(
        failure(&client),
        ClientError::HostKeyChanged {
            expected: real_key,
            found: impostor_key
        }
    );
    let events = impostor.events().clone();
    impostor.stop();
    let seen: Vec<ServerEvent> = events.try_iter().collect();
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            ServerEvent::Joined { .. } | ServerEvent::Message(_) | ServerEvent::PeerError { .. }
        )),
        "the impostor heard something: {seen:?}"
    );
    let later: Vec<ClientEvent> = client.events().try_iter().collect();
    assert!(
        !later
            .iter()
            .any(|e| matches!(e, ClientEvent::Message { .. })),
        "{later:?}"
    );
}

#[test]
fn a_host_without_tls_is_joined_in_the_clear_when_never_pinned_and_refused_when_pinned() {
    let config = ServerConfig {
        identity: None,
        ..test_config()
    };
    let server = start_server(config);
    let newcomer = client::connect(options(server.local_addr(), "alice"), no_wake_up()).unwrap();
    recv_where(
        newcomer.events(),
        "Unencrypted then Connected",
        |e| match e {
            ClientEvent::Unencrypted => Some(()),
            ClientEvent::Connected { .. } | ClientEvent::Encrypted { .. } => {
                panic!("{e:?} before Unencrypted")
            }
            _ => None,
        },
    );
    recv_where(newcomer.events(), "Connected", |e| {
        matches!(e, ClientEvent::Connected { .. }).then_some(())
    });
    let pinned_key = Identity::generate().unwrap().fingerprint();
    let pinned = client::connect(
        ConnectOptions {
            pinned: Some(pinned_key),
            ..options(server.local_addr(), "bob")
        },
        no_wake_up(),
    )
    .unwrap();
    assert_eq!(
        failure(&pinned),
        ClientError::NoLongerEncrypted {
            expected: pinned_key
        }
    );
    let chosen = client::connect(
        ConnectOptions {
            pinned: Some(pinned_key),
            allow_unencrypted: true,
            ..options(server.local_addr(), "carol")
        },
        no_wake_up(),
    )
    .unwrap();
    recv_where(chosen.events(), "Connected after choosing", |e| match e {
        ClientEvent::Connected { .. } => Some(()),
        ClientEvent::Failed(error) => panic!("{error}"),
        _ => None,
    });
}

/// `ncat --ssl HOST PORT`: TLS, then the plain-text dialect inside. It chats with a Natter
/// client and is not marked; a bare `nc` peer is, in both dialects' join announcements.
#[test]
fn an_ncat_ssl_style_peer_chats_unmarked_and_a_bare_nc_peer_joins_marked_without_encryption() {
    let config = test_config();
    let key = fingerprint_of(&config);
    let server = start_server(config);
    let alice = client::connect(options(server.local_addr(), "alice"), no_wake_up()).unwrap();
    encrypted(&alice);
    welcomed(&alice);
    let mut ncat = TlsPeer::connect(server.local_addr()).unwrap();
    assert_eq!(ncat.fingerprint, key);
    // Silent at first, like ncat: the host greets it in plain text after the sniff window,
    // and announces it with its first line (PROTOCOL.md §2).
    ncat.text_until("guest-");
    ncat.send("hello over tls\n".as_bytes());
    let (guest, marked) = recv_where(alice.events(), "the ncat peer joins", |e| match e {
        ClientEvent::Joined {
            nick, unencrypted, ..
        } if nick.starts_with("guest-") => Some((nick, unencrypted)),
        _ => None,
    });
    assert!(!marked, "a TLS peer is encrypted");
    let (from, text) = recv_where(alice.events(), "the ncat peer's line", |e| match e {
        ClientEvent::Message { message, .. } if message.from == guest => {
            Some((message.from, message.text))
        }
        _ => None,
    });
    assert_eq!(
        (from.as_str(), text.as_str()),
        (guest.as_str(), "hello over tls")
    );

    let mut nc = TcpStream::connect(server.local_addr()).unwrap();
    nc.write_all(b"hi\n").unwrap();
    let marked = recv_where(alice.events(), "the nc peer joins", |e| match e {
        ClientEvent::Joined {
            nick, unencrypted, ..
        } if nick != guest => Some(unencrypted),
        _ => None,
    });
    assert!(marked, "a bare TCP peer is marked");
    ncat.text_until("joined without encryption");
    ncat.send(b"/who\n");
    let who = ncat.text_until("(without encryption)");
    assert!(
        who.lines().any(|l| l.starts_with("* Online (3)")
            && l.contains(&format!("{guest},"))
            && l.contains("(without encryption)")),
        "{who:?}"
    );
}
/// PROTOCOL.md §9's Python client, as printed there (only the address changed, and it stops
/// after the first chat): it prints the host's code, and its message reaches the room.
#[test]
fn the_documented_python_client_prints_the_host_code_and_chats_over_tls() {
    let Some(python) = common::python3() else {
        return;
    };
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md")).unwrap();
    let section = doc.split("## 9. A minimal client").nth(1).unwrap();
    let code = section
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let config = test_config();
    let key = fingerprint_of(&config);
    let server = start_server(config);
    let port = server.local_addr().port();
    let script = code
        .replace(
            "(\"192.168.1.20\", 5050)",
            &format!("(\"127.0.0.1\", {port})"),
        )
        .replace(
            "print(frame[\"time\"], frame[\"from\"], frame[\"text\"])",
            "print(frame[\"time\"], frame[\"from\"], frame[\"text\"]); raise SystemExit(0)",
        );
    assert!(
        script.contains(&port.to_string()),
        "the address line is as documented"
    );
    let (done, finished) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let output = std::process::Command::new(python)
            .args(["-c", &script])
            .output();
        let _ = done.send(output);
    });
    let output = finished
        .recv_timeout(WAIT)
        .expect("the script ends")
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed} {output:?}");
    assert!(
        printed.contains(&format!("Host code: {}", key.code())),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("Pin: {}", key.to_text())),
        "{printed}"
    );
    assert!(printed.contains("py hello from Python"), "{printed}");
}

/// A host seen encrypting that hangs up during the handshake (it is stopping or restarting)
/// is tried again, with no warning, and the client is back when the host is.
#[test]
fn a_pinned_host_that_hangs_up_mid_handshake_is_retried_not_taken_for_unencrypted() {
    let listener = natter::network::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let for_the_fake = listener.try_clone().unwrap();
    let for_the_restart = listener.try_clone().unwrap();
    let config = test_config();
    let server = natter::network::server::start(listener, config.clone(), no_wake_up()).unwrap();
    let client = client::connect(options(server.local_addr(), "alice"), no_wake_up()).unwrap();
    encrypted(&client);
    server.stop();
    // While the host is away, something at its port takes connections and drops them.
    let (dropped_tx, dropped) = crossbeam_channel::unbounded();
    let fake = std::thread::spawn(move || {
        for _ in 0..2 {
            let (stream, _) = for_the_fake.accept().unwrap();
            drop(stream);
            dropped_tx.send(()).unwrap();
        }
    });
    for _ in 0..2 {
        dropped.recv_timeout(WAIT).expect("the client dials again");
    }
    fake.join().unwrap();
    let _back = natter::network::server::start(for_the_restart, config, no_wake_up()).unwrap();
    recv_where(client.events(), "Connected again", |e| match e {
        ClientEvent::Connected { .. } => Some(()),
        ClientEvent::Failed(error) => panic!("gave up: {error}"),
        _ => None,
    });
}

/// The `accepted` frame among what a TLS peer read.
fn accepted_session(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains("\"type\":\"accepted\""))
        .expect("an accepted frame");
    match natter::network::protocol::decode::<ServerFrame>(line.as_bytes()) {
        Ok(ServerFrame::Accepted { session, .. }) => session,
        other => panic!("{other:?}"),
    }
}

fn tls_hello(peer: &mut TlsPeer, resume: Option<Resume>) -> String {
    let hello = ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        nick: "alice".into(),
        resume,
        features: Vec::new(),
    };
    peer.send(&natter::network::protocol::encode(&hello));
    accepted_session(&peer.text_until("\"type\":\"accepted\""))
}

/// Issue 25 §4: alice joins over TLS, then her stay resumes over a bare link. Those already in
/// the room are told, in both dialects (an `encryption` frame to clients that asked for it, a
/// line to plain peers), and the window's model marks her; when she comes back over TLS, the
/// mark goes.
#[test]
fn a_stay_resumed_over_a_bare_link_is_marked_for_those_already_in_the_room_in_both_dialects() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let bob = client::connect(options(addr, "bob"), no_wake_up()).unwrap();
    let mut chat = natter::chat_state::ChatState::new("bob");
    recv_where(bob.events(), "bob is in", |e| {
        let connected = matches!(e, ClientEvent::Connected { .. });
        chat.apply(e);
        connected.then_some(())
    });
    let mut dana = RawPeer::hello_with_features(addr, "dana", &["encryption"]);
    dana.accepted();
    let mut nc = RawPeer::connect(addr);
    nc.send_raw(b"/who\n");
    nc.text_until("* Online");

    let mut tls = TlsPeer::connect(addr).unwrap();
    let session = tls_hello(&mut tls, None);
    recv_where(bob.events(), "alice joins, encrypted", |e| {
        chat.apply(e);
        chat.users.iter().any(|u| u == "alice").then_some(())
    });
    assert!(!chat.unencrypted.contains("alice"));

    let resume = Resume {
        session: session.clone(),
        last_id: 0,
    };
    let (bare, _) = RawPeer::join_with(addr, "alice", Some(resume.clone()));
    assert_eq!(bare.nick, "alice", "the stay resumed");
    let told = dana.frame_where(|f| match f {
        ServerFrame::Encryption {
            nick, unencrypted, ..
        } => Some((nick, unencrypted)),
        _ => None,
    });
    assert_eq!(told, ("alice".to_string(), true));
    nc.text_until("* alice is now connected without encryption");
    recv_where(bob.events(), "bob's model marks alice", |e| {
        chat.apply(e);
        chat.unencrypted.contains("alice").then_some(())
    });
    assert_eq!(
        chat.users.iter().filter(|u| *u == "alice").count(),
        1,
        "no second alice"
    );

    let mut back = TlsPeer::connect(addr).unwrap();
    assert_eq!(tls_hello(&mut back, Some(resume)), session);
    let told = dana.frame_where(|f| match f {
        ServerFrame::Encryption {
            nick, unencrypted, ..
        } => Some((nick, unencrypted)),
        _ => None,
    });
    assert_eq!(told, ("alice".to_string(), false));
    nc.text_until("* alice is now connected with encryption");
    recv_where(bob.events(), "bob's model unmarks alice", |e| {
        chat.apply(e);
        (!chat.unencrypted.contains("alice")).then_some(())
    });
}
