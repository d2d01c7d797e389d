//! Private messages on the server, on real sockets: they reach their two people and nobody
//! else, live, in history, on resume; what cannot be delivered is refused with a reason.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{RawPeer, chat_of, start_server, test_config};
use natter::network::protocol::{ChatMessage, ClientFrame, ErrorCode, Resume, ServerFrame};
use natter::network::server::{RateLimit, ServerConfig};

fn whisper(peer: &mut RawPeer, to: &str, text: &str, client_id: &str) {
    peer.send(&ClientFrame::Chat {
        text: text.into(),
        client_id: Some(client_id.into()),
        action: false,
        to: Some(to.into()),
    });
}

/// Reads chat frames until one with `text`; returns every chat text on the way, it included.
fn chats_until(peer: &RawPeer, text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let message = peer.frame_where(chat_of);
        seen.push(message.text.clone());
        if message.text == text {
            return seen;
        }
    }
}

fn texts(frames: &[ServerFrame]) -> Vec<String> {
    frames
        .iter()
        .cloned()
        .filter_map(chat_of)
        .map(|m| m.text)
        .collect()
}

#[test]
fn a_private_message_reaches_its_recipient_and_a_confirmation_its_sender_and_nobody_else() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    let (carol, _) = RawPeer::join(addr, "carol");
    whisper(&mut alice, "Bob", "psst", "p1");
    let got: ChatMessage = bob.frame_where(chat_of);
    assert_eq!(
        (got.from.as_str(), got.text.as_str(), got.to.as_deref()),
        ("alice", "psst", Some("bob")),
        "the nickname is matched as the room matches names, and the frame says whom it was for"
    );
    assert_eq!(got.client_id, None);
    let own = alice.frame_where(chat_of);
    assert_eq!(
        (own.id, own.client_id.as_deref(), own.to.as_deref()),
        (got.id, Some("p1"), Some("bob"))
    );
    alice.say("for everyone", "r1");
    assert_eq!(
        chats_until(&carol, "for everyone"),
        vec!["for everyone"],
        "carol's first chat frame is the room message"
    );
}

#[test]
fn a_late_joiner_history_holds_no_private_messages_natter_or_plain() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    whisper(&mut alice, "bob", "secret", "p1");
    alice.say("public", "r1");
    chats_until(&bob, "public");
    let (_dave, frames) = RawPeer::join(addr, "dave");
    assert_eq!(texts(&frames), vec!["public"]);
    let nc = RawPeer::connect(addr);
    let greeting = nc.text_until("public");
    assert!(!greeting.contains("secret"), "{greeting}");
}

#[test]
fn resuming_brings_back_missed_private_messages_to_their_two_people_only() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    let (carol, _) = RawPeer::join(addr, "carol");
    whisper(&mut alice, "bob", "for bob", "p1");
    whisper(&mut alice, "carol", "for carol", "p2");
    alice.say("public", "r1");
    chats_until(&bob, "public");
    chats_until(&carol, "public");
    chats_until(&alice, "public");
    // Each comes back as if nothing since the start had been seen: the takeover of a link
    // that still looks alive, as after a drop the server has not noticed.
    let resume = |peer: &RawPeer| {
        let resume = Resume {
            session: peer.session.clone(),
            last_id: 0,
        };
        RawPeer::join_with(addr, &peer.nick, Some(resume)).1
    };
    assert_eq!(texts(&resume(&bob)), vec!["for bob", "public"]);
    assert_eq!(texts(&resume(&carol)), vec!["for carol", "public"]);
    let alice_again = resume(&alice);
    assert_eq!(texts(&alice_again), vec!["for bob", "for carol", "public"]);
    let own: Vec<Option<String>> = alice_again
        .into_iter()
        .filter_map(chat_of)
        .map(|m| m.client_id)
        .collect();
    assert_eq!(
        own,
        vec![Some("p1".into()), Some("p2".into()), Some("r1".into())],
        "the sender learns her private messages were delivered"
    );
}

#[test]
fn a_private_message_to_someone_not_online_is_refused_with_their_name_and_its_client_id() {
    let server = start_server(test_config());
    let (mut alice, _) = RawPeer::join(server.local_addr(), "alice");
    whisper(&mut alice, "zed", "hello?", "p9");
    match alice.frame() {
        ServerFrame::Error {
            code: ErrorCode::NotOnline,
            message,
            client_id,
        } => {
            assert!(message.contains("zed"), "{message}");
            assert!(message.contains("not sent"), "{message}");
            assert_eq!(client_id.as_deref(), Some("p9"));
        }
        other => panic!("expected not_online, got {other:?}"),
    }
}

#[test]
fn a_private_message_to_oneself_is_refused_with_a_reason() {
    let server = start_server(test_config());
    let (mut alice, _) = RawPeer::join(server.local_addr(), "alice");
    whisper(&mut alice, "ALICE", "note to self", "p1");
    let message = alice.assert_error(ErrorCode::ToYourself);
    assert!(message.contains("That is you"), "{message}");
}

#[test]
fn a_private_message_to_a_name_just_renamed_away_or_taken_by_another_reaches_nobody() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (mut bob, _) = RawPeer::join(addr, "bob");
    let (mut carol, _) = RawPeer::join(addr, "carol");
    bob.send(&ClientFrame::Nick {
        nick: "bobby".into(),
    });
    bob.frame_where(|f| matches!(f, ServerFrame::Nick { .. }).then_some(()));
    // Sent before alice reads of the rename: it names nobody now.
    whisper(&mut alice, "bob", "one", "p1");
    alice.assert_error(ErrorCode::NotOnline);
    carol.send(&ClientFrame::Nick { nick: "bob".into() });
    alice.frame_where(|f| match f {
        ServerFrame::Nick { to, .. } if to == "bob" => Some(()),
        _ => None,
    });
    whisper(&mut alice, "bob", "two", "p2");
    let message = alice.assert_error(ErrorCode::NotOnline);
    assert!(message.contains("changed hands"), "{message}");
    alice.say("public", "r1");
    assert_eq!(chats_until(&bob, "public"), vec!["public"]);
    assert_eq!(chats_until(&carol, "public"), vec!["public"]);
}

#[test]
fn private_messages_take_from_the_senders_rate_budget() {
    let server = start_server(ServerConfig {
        rate: RateLimit {
            burst: 3.0,
            per_second: 0.001,
            strikes: 10,
        },
        ..test_config()
    });
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (_bob, _) = RawPeer::join(addr, "bob");
    alice.say("one", "1");
    whisper(&mut alice, "bob", "two", "2");
    whisper(&mut alice, "bob", "three", "3");
    whisper(&mut alice, "bob", "four", "4");
    let message = alice.assert_error(ErrorCode::RateLimited);
    assert!(message.contains("Slow down"), "{message}");
}

#[test]
fn a_plain_peer_sends_with_msg_reads_a_private_line_and_finds_msg_in_help() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    nc.send_raw(b"/msg alice hi from the terminal\n");
    let got = alice.frame_where(chat_of);
    assert_eq!(
        (got.from.as_str(), got.text.as_str(), got.to.as_deref()),
        ("guest-1", "hi from the terminal", Some("alice"))
    );
    nc.text_until("-> alice (private): hi from the terminal");
    whisper(&mut alice, "guest-1", "hello, terminal", "p1");
    let line = nc.text_until("hello, terminal");
    assert!(
        line.lines()
            .any(|l| l.starts_with('[') && l.ends_with("] *alice* (private): hello, terminal")),
        "{line:?}"
    );
    nc.send_raw(b"/msg nobody hello\n");
    nc.text_until("Nobody called nobody is online");
    nc.send_raw(b"/msg\n");
    nc.text_until("/msg NICK TEXT");
    nc.send_raw(b"/help\n");
    nc.text_until("/msg NICK TEXT (a private message to one person)");
}

#[test]
fn the_hosts_owner_is_told_of_room_messages_but_not_of_private_ones() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    let (bob, _) = RawPeer::join(addr, "bob");
    whisper(&mut alice, "bob", "between us", "p1");
    alice.say("for everyone", "r1");
    chats_until(&bob, "for everyone");
    let told = common::recv_where(server.events(), "a Message event", |e| match e {
        natter::network::server::ServerEvent::Message(message) => Some(message.text),
        _ => None,
    });
    assert_eq!(told, "for everyone");
}

/// The client half: a private message written while the link was down goes out after the
/// reconnect, to its one person, and comes back as confirmed. (What the server replays on
/// resume is checked above with raw frames.)
#[test]
fn a_private_message_written_while_the_link_is_down_reaches_its_one_person_after_the_reconnect() {
    use common::{CuttableProxy, recv_where};
    use natter::network::client::{self, ClientCommand, ClientEvent, ConnectOptions};
    let server = start_server(test_config());
    let addr = server.local_addr();
    let proxy = CuttableProxy::start(addr);
    let options = ConnectOptions {
        backoff_first: std::time::Duration::from_millis(50),
        backoff_max: std::time::Duration::from_millis(200),
        ..ConnectOptions::new(proxy.addr.to_string(), "alice")
    };
    let alice = client::connect(options, natter::network::no_wake_up()).unwrap();
    let connected = || {
        recv_where(alice.events(), "Connected", |e| match e {
            ClientEvent::Connected { resumed, .. } => Some(resumed),
            _ => None,
        })
    };
    connected();
    proxy.wait_accept();
    let (mut bob, _) = RawPeer::join(addr, "bob");
    let (carol, _) = RawPeer::join(addr, "carol");
    proxy.cut();
    recv_where(alice.events(), "LinkLost", |e| {
        matches!(e, ClientEvent::LinkLost { .. }).then_some(())
    });
    alice.send(ClientCommand::SendPrivate {
        local_id: 5,
        to: "bob".into(),
        text: "typed while offline".into(),
        action: false,
    });
    connected();
    let (confirmed, local_id) = recv_where(alice.events(), "the confirmation", |e| match e {
        ClientEvent::Message { message, local_id } => Some((message, local_id)),
        _ => None,
    });
    assert_eq!((confirmed.to.as_deref(), local_id), (Some("bob"), Some(5)));
    let got = bob.frame_where(|f| chat_of(f).filter(|m| m.from == "alice"));
    assert_eq!(
        (got.text.as_str(), got.to.as_deref()),
        ("typed while offline", Some("bob"))
    );
    bob.say("public", "b2");
    assert_eq!(chats_until(&carol, "public"), vec!["public"]);
}
