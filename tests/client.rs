//! The client half of the network against a real server (and a few impostors) on 127.0.0.1.
//! (When and how often it dials again: tests/client_redial.rs.)
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::{CuttableProxy, RawPeer, WAIT, closed_port, recv_where, start_server, test_config};
use natter::network::WakeUp;
use natter::network::client::{
    self, ClientCommand, ClientError, ClientEvent, ClientHandle, ConnectOptions,
};
use natter::network::protocol::{ChatMessage, ServerFrame};
use natter::network::server::{self, ServerConfig};

pub(crate) fn quick(address: impl Into<String>, nick: &str) -> ConnectOptions {
    ConnectOptions {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..ConnectOptions::new(address, nick)
    }
}

/// A wake-up that counts, to prove the client pokes its owner for every event.
pub(crate) fn counting_wake() -> (WakeUp, crossbeam_channel::Receiver<()>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (
        std::sync::Arc::new(move || {
            let _ = tx.send(());
        }),
        rx,
    )
}

pub(crate) fn connected(client: &ClientHandle) -> (String, Vec<String>, bool) {
    recv_where(client.events(), "client event Connected", |e| match e {
        ClientEvent::Connected {
            nick,
            users,
            resumed,
            ..
        } => Some((nick, users, resumed)),
        ClientEvent::Failed(error) => panic!("failed: {error}"),
        _ => None,
    })
}

pub(crate) fn message(client: &ClientHandle) -> (ChatMessage, Option<u64>) {
    recv_where(client.events(), "client event Message", |e| match e {
        ClientEvent::Message { message, local_id } => Some((message, local_id)),
        _ => None,
    })
}

pub(crate) fn failure(client: &ClientHandle) -> ClientError {
    recv_where(client.events(), "client event Failed", |e| match e {
        ClientEvent::Failed(error) => Some(error),
        ClientEvent::Connected { .. } => panic!("should not connect"),
        _ => None,
    })
}

#[test]
fn two_clients_chat_and_each_event_wakes_the_owner() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let (wake, wakes) = counting_wake();
    let alice = client::connect(quick(&addr, "alice"), wake).unwrap();
    let (nick, users, _) = connected(&alice);
    assert_eq!(nick, "alice");
    assert_eq!(users, vec!["alice"]);
    // The owner is woken just after each event is posted: wait for both wake-ups.
    for event in ["Connecting", "Connected"] {
        wakes
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("{event} did not wake the owner"));
    }

    let bob = client::connect(quick(&addr, "alice"), client_no_wake()).unwrap();
    assert_eq!(connected(&bob).0, "alice-2");
    let joined = recv_where(alice.events(), "Joined alice-2", |e| match e {
        ClientEvent::Joined { nick, .. } => Some(nick),
        _ => None,
    });
    assert_eq!(joined, "alice-2");

    alice.send(ClientCommand::Send {
        local_id: 41,
        text: "hello 你好".into(),
    });
    let (own, local_id) = message(&alice);
    assert_eq!(local_id, Some(41), "the echo confirms delivery");
    let (theirs, local_id) = message(&bob);
    assert_eq!(local_id, None);
    assert_eq!(theirs.text, "hello 你好");
    assert_eq!(theirs.id, own.id);

    bob.disconnect();
    let left = recv_where(alice.events(), "Left alice-2", |e| match e {
        ClientEvent::Left { nick, detail, .. } => Some((nick, detail)),
        _ => None,
    });
    assert_eq!(left, ("alice-2".into(), "said goodbye".into()));
    alice.send(ClientCommand::Disconnect);
    recv_where(alice.events(), "Closed", |e| {
        matches!(e, ClientEvent::Closed).then_some(())
    });
}

pub(crate) fn client_no_wake() -> WakeUp {
    natter::network::no_wake_up()
}

#[test]
fn a_refused_connection_fails_with_advice() {
    let closed = closed_port();
    let client = client::connect(quick(closed.addr.to_string(), "x"), client_no_wake()).unwrap();
    let error = failure(&client);
    assert!(matches!(error, ClientError::Refused { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("is the host running Natter"), "{text}");
    assert!(text.contains("firewall"), "{text}");
}

#[test]
fn a_bad_address_fails_before_dialing() {
    let client = client::connect(quick("192.168.1.20:port", "x"), client_no_wake()).unwrap();
    let error = failure(&client);
    assert!(
        matches!(error, ClientError::InvalidAddress { .. }),
        "{error:?}"
    );
}

#[test]
fn a_reserved_nickname_is_refused_by_the_host_for_good() {
    let server = start_server(test_config());
    let client = client::connect(
        quick(server.local_addr().to_string(), "server"),
        client_no_wake(),
    )
    .unwrap();
    let error = failure(&client);
    assert!(error.is_final());
    assert!(error.to_string().contains("reserved"), "{error}");
}

#[test]
fn a_dropped_link_reconnects_resumes_and_delivers_unconfirmed_messages() {
    let server = start_server(test_config());
    let proxy = CuttableProxy::start(server.local_addr());
    let alice = client::connect(quick(proxy.addr.to_string(), "alice"), client_no_wake()).unwrap();
    connected(&alice);
    proxy.wait_accept();
    let (mut bob, _) = RawPeer::join(server.local_addr(), "bob");
    bob.say("before the drop", "b0");
    assert_eq!(message(&alice).0.text, "before the drop");

    proxy.cut();
    recv_where(alice.events(), "LinkLost", |e| {
        matches!(e, ClientEvent::LinkLost { .. }).then_some(())
    });
    // Written while the link is down: kept unconfirmed, sent again after the reconnect.
    alice.send(ClientCommand::Send {
        local_id: 7,
        text: "typed while offline".into(),
    });
    bob.say("while alice was away", "b1");

    let (nick, _, resumed) = connected(&alice);
    assert_eq!(nick, "alice");
    assert!(resumed);
    let (missed, _) = message(&alice);
    assert_eq!(
        missed.text, "while alice was away",
        "exactly the missed message, once"
    );
    let (own, local_id) = message(&alice);
    assert_eq!(
        (own.text.as_str(), local_id),
        ("typed while offline", Some(7))
    );
    let delivered = bob.frame_where(|f| match f {
        ServerFrame::Chat(m) if m.from == "alice" => Some(m.text),
        _ => None,
    });
    assert_eq!(delivered, "typed while offline");
}

/// The host stops (its clients see `HostStopped`) and a new server run comes up at the same
/// address: the client reconnects by itself, is a new session there, and delivers what it wrote
/// in between. The second run serves a `try_clone` of the first run's listening socket, so no
/// other program can take the port in the gap; connections made in the gap wait in its backlog
/// instead of being refused. That the port itself is released on stop is checked in
/// tests/server.rs.
#[test]
fn a_host_that_stops_and_comes_back_gets_the_unconfirmed_messages() {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener
        .try_clone()
        .expect("a second handle on the listening socket");
    // The host keeps its identity across the restart, as the window and `natter serve` do.
    let config = test_config();
    let server = server::start(listener, config.clone(), client_no_wake()).unwrap();
    let addr = server.local_addr();
    let alice = client::connect(quick(addr.to_string(), "alice"), client_no_wake()).unwrap();
    connected(&alice);
    server.stop();
    let error = recv_where(
        alice.events(),
        "LinkLost after the host stopped",
        |e| match e {
            ClientEvent::LinkLost { error, .. } => Some(error),
            _ => None,
        },
    );
    assert_eq!(error, ClientError::HostStopped);
    alice.send(ClientCommand::Send {
        local_id: 1,
        text: "anyone?".into(),
    });
    let server = server::start(kept, config, client_no_wake()).unwrap();
    assert_eq!(server.local_addr(), addr);
    let (_, _, resumed) = connected(&alice);
    assert!(!resumed, "a restarted host does not know the old session");
    let (own, local_id) = message(&alice);
    assert_eq!((own.text.as_str(), local_id), ("anyone?", Some(1)));
    drop(server);
}

/// An echo server: the Natter client falls back to plain mode after the handshake timeout.
#[test]
fn a_server_that_does_not_speak_natter_gets_plain_mode() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Like the tutorials: a thread per client, each echoing (the client's TLS attempt too).
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 || stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let options = ConnectOptions {
        handshake_timeout: Duration::from_millis(300),
        ..quick(addr.to_string(), "alice")
    };
    let client = client::connect(options, client_no_wake()).unwrap();
    recv_where(client.events(), "PlainMode", |e| match e {
        ClientEvent::PlainMode { .. } => Some(()),
        ClientEvent::Connected { .. } | ClientEvent::Failed(_) => panic!("{e:?}"),
        _ => None,
    });
    client.send(ClientCommand::Send {
        local_id: 3,
        text: "echo me".into(),
    });
    let (own, local_id) = message(&client);
    assert_eq!((own.text.as_str(), local_id), ("echo me", Some(3)));
    let echoed = recv_where(client.events(), "PlainText echo", |e| match e {
        ClientEvent::PlainText(text) => Some(text),
        _ => None,
    });
    assert_eq!(
        echoed, "echo me",
        "our hello's echo is not shown, the typed line is"
    );
}

/// A tutorial chat server greets first with text: plain mode at once, greeting shown.
#[test]
fn a_tutorial_server_that_greets_in_text_is_shown_as_plain_lines() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // A thread per client, greeting each (the client's TLS attempt too).
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            thread::spawn(move || {
                let _ = stream.write_all("Welcome to the chat! 欢迎\nEnter your name: ".as_bytes());
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                }
            });
        }
    });
    let client = client::connect(quick(addr.to_string(), "alice"), client_no_wake()).unwrap();
    recv_where(client.events(), "PlainMode", |e| {
        matches!(e, ClientEvent::PlainMode { .. }).then_some(())
    });
    let lines: Vec<String> = (0..2)
        .map(|_| {
            recv_where(client.events(), "PlainText line", |e| match e {
                ClientEvent::PlainText(text) => Some(text),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        lines,
        vec!["Welcome to the chat! 欢迎", "Enter your name: "]
    );
}

#[test]
fn rate_limited_messages_are_reported_not_sent() {
    let server = start_server(ServerConfig {
        rate: natter::network::server::RateLimit {
            burst: 1.0,
            per_second: 0.01,
            strikes: 100,
        },
        ..test_config()
    });
    let client = client::connect(
        quick(server.local_addr().to_string(), "eager"),
        client_no_wake(),
    )
    .unwrap();
    connected(&client);
    for local_id in [1, 2] {
        client.send(ClientCommand::Send {
            local_id,
            text: format!("m{local_id}"),
        });
    }
    assert_eq!(message(&client).1, Some(1));
    let (local_id, reason) = recv_where(client.events(), "NotSent", |e| match e {
        ClientEvent::NotSent { local_id, reason } => Some((local_id, reason)),
        _ => None,
    });
    assert_eq!(local_id, 2);
    assert!(reason.contains("Slow down"), "{reason}");
}

/// A server that accepts and never speaks: the handshake times out into plain mode, where the
/// client's reader waits on a silent socket. Dropping the handle must still return promptly;
/// the bound is generous (WAIT), so only a hang fails, not a slow machine.
#[test]
fn a_client_that_is_dropped_never_blocks_its_owner() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Holds every connection open (the TLS attempt, then the plain one) and says nothing.
    let holder = thread::spawn(move || {
        let mut held = Vec::new();
        for _ in 0..2 {
            held.push(listener.accept().map(|(s, _)| s));
        }
        held
    });
    let options = ConnectOptions {
        handshake_timeout: Duration::from_millis(200),
        ..quick(addr.to_string(), "alice")
    };
    let client = client::connect(options, client_no_wake()).unwrap();
    recv_where(client.events(), "PlainMode", |e| {
        matches!(e, ClientEvent::PlainMode { .. }).then_some(())
    });
    // The silent server keeps its end open for the whole drop.
    let held = holder.join().unwrap();
    assert!(
        held.iter().all(Result::is_ok),
        "the client connected twice: {held:?}"
    );
    let (done_tx, done) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        drop(client);
        let _ = done_tx.send(());
    });
    done.recv_timeout(WAIT)
        .expect("dropping the client handle returned within WAIT");
}

#[test]
fn a_client_that_renames_itself_is_seen_renamed_by_everyone() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let alice = client::connect(quick(&addr, "alice"), client_no_wake()).unwrap();
    connected(&alice);
    let bob = client::connect(quick(&addr, "bob"), client_no_wake()).unwrap();
    connected(&bob);
    recv_where(alice.events(), "Joined bob", |e| {
        matches!(e, ClientEvent::Joined { nick, .. } if nick == "bob").then_some(())
    });

    alice.send(ClientCommand::Rename("Alicia".into()));
    for (who, client) in [("alice", &alice), ("bob", &bob)] {
        let renamed = recv_where(
            client.events(),
            &format!("Renamed seen by {who}"),
            |e| match e {
                ClientEvent::Renamed { from, to, .. } => Some((from, to)),
                _ => None,
            },
        );
        assert_eq!(renamed, ("alice".into(), "Alicia".into()), "seen by {who}");
    }
    assert_eq!(server.members(), vec!["Alicia", "bob"]);
}

/// The client asks for `presence` frames, so a burst of joins comes batched; each join in
/// them still reaches the owner as one `Joined` event.
#[test]
fn a_burst_of_joins_reaches_the_owner_as_one_joined_event_each() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let client = client::connect(quick(addr.to_string(), "owner"), client_no_wake()).unwrap();
    connected(&client);
    let crowd: Vec<String> = (0..12).map(|i| format!("j{i}")).collect();
    let mut peers: Vec<RawPeer> = crowd
        .iter()
        .map(|nick| RawPeer::hello(addr, nick))
        .collect();
    for peer in &mut peers {
        peer.accepted();
    }
    let mut joined = Vec::new();
    while joined.len() < crowd.len() {
        joined.push(recv_where(
            client.events(),
            "client event Joined",
            |e| match e {
                ClientEvent::Joined { nick, .. } => Some(nick),
                _ => None,
            },
        ));
    }
    joined.sort();
    let mut expected = crowd.clone();
    expected.sort();
    assert_eq!(joined, expected);
}
