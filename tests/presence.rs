//! Joins and leaves in a burst are gathered (PROTOCOL.md §5, `presence`): each member still
//! learns of every one exactly once, in order, in the form it reads.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;

use common::{RawPeer, start_server, test_config};
use natter::network::protocol::{PresenceEvent, ServerFrame};

/// Sends every hello first and only then reads, so the joins reach the server together.
fn join_at_once(addr: std::net::SocketAddr, nicks: &[String], features: &[&str]) -> Vec<RawPeer> {
    let mut peers: Vec<RawPeer> = nicks
        .iter()
        .map(|nick| RawPeer::hello_with_features(addr, nick, features))
        .collect();
    for peer in &mut peers {
        peer.accepted();
    }
    peers
}

/// Names joined as `watcher` learns of them (single `join` frames and `presence` events),
/// until `want` names are known; also how many `presence` frames brought them. Panics on a
/// join for a name already known.
fn joins_seen(
    watcher: &RawPeer,
    mut known: BTreeSet<String>,
    want: usize,
) -> (BTreeSet<String>, usize) {
    let mut presence_frames = 0;
    while known.len() < want {
        let joined: Vec<String> = match watcher.frame() {
            ServerFrame::Join { nick, .. } => vec![nick],
            ServerFrame::Presence { events, .. } => {
                presence_frames += 1;
                events
                    .into_iter()
                    .filter_map(|e| match e {
                        PresenceEvent::Join { join, .. } => Some(join),
                        PresenceEvent::Leave { .. } => None,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        for nick in joined {
            assert!(
                known.insert(nick.clone()),
                "{}: {nick} joined twice",
                watcher.nick
            );
        }
    }
    (known, presence_frames)
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn a_burst_of_joins_comes_as_presence_frames_to_those_who_asked_and_as_single_joins_to_others() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut batched = RawPeer::hello_with_features(addr, "batched", &["presence"]);
    batched.accepted();
    let (single, _) = RawPeer::join(addr, "single");
    let crowd = names("n", 20);
    let _peers = join_at_once(addr, &crowd, &["presence"]);

    let before: BTreeSet<String> = ["batched".to_string()].into();
    let (seen, presence_frames) = joins_seen(&batched, before, 22);
    assert!(presence_frames >= 1, "the burst came as single joins only");
    let expected: BTreeSet<String> = ["batched", "single"]
        .map(String::from)
        .into_iter()
        .chain(crowd.clone())
        .collect();
    assert_eq!(seen, expected);

    // Without the feature: the same joins, one `join` frame each, never a `presence` frame.
    let mut singles = BTreeSet::new();
    while singles.len() < crowd.len() {
        match single.frame() {
            ServerFrame::Join { nick, .. } => assert!(singles.insert(nick)),
            ServerFrame::Presence { .. } => panic!("a presence frame to a client that did not ask"),
            _ => {}
        }
    }
    assert_eq!(singles, crowd.into_iter().collect());
}

#[test]
fn everyone_joining_at_once_learns_of_everyone_exactly_once() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let crowd = names("p", 30);
    let mut peers: Vec<RawPeer> = crowd
        .iter()
        .map(|nick| RawPeer::hello_with_features(addr, nick, &["presence"]))
        .collect();
    for peer in &mut peers {
        let (accepted, _) = peer.accepted();
        let ServerFrame::Accepted { users, .. } = accepted else {
            unreachable!("accepted() checks the frame")
        };
        let known: BTreeSet<String> = users.into_iter().collect();
        let (seen, _) = joins_seen(peer, known, crowd.len());
        assert_eq!(seen, crowd.iter().cloned().collect(), "{}", peer.nick);
    }
}

#[test]
fn a_message_right_after_a_burst_of_joins_arrives_after_its_senders_join() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut watcher = RawPeer::hello_with_features(addr, "watcher", &["presence"]);
    watcher.accepted();
    let mut peers = join_at_once(addr, &names("q", 10), &["presence"]);
    let last = peers.last_mut().unwrap();
    last.say("hello everyone", "1");
    let mut joined = BTreeSet::new();
    loop {
        match watcher.frame() {
            ServerFrame::Join { nick, .. } => {
                joined.insert(nick);
            }
            ServerFrame::Presence { events, .. } => {
                for event in events {
                    if let PresenceEvent::Join { join, .. } = event {
                        joined.insert(join);
                    }
                }
            }
            ServerFrame::Chat(message) => {
                assert_eq!(message.from, "q9");
                assert!(
                    joined.contains("q9"),
                    "the message came before q9's join: {joined:?}"
                );
                break;
            }
            _ => {}
        }
    }
}
