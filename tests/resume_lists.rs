//! Every member's user list, kept the way PROTOCOL.md says (the `users` of `accepted`, then
//! `join`, `leave` and `nick` frames), equals the server's after every kind of resume
//! (issue 10, item 9).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::SocketAddr;

use common::{RawPeer, recv_where, start_server, test_config};
use natter::network::protocol::{Resume, ServerFrame};
use natter::network::server::{ServerEvent, ServerHandle};

/// A member that keeps the user list a client writer would keep from PROTOCOL.md alone.
struct Member {
    peer: RawPeer,
    users: Vec<String>,
}

impl Member {
    fn join(addr: SocketAddr, nick: &str, resume: Option<Resume>) -> Member {
        let (peer, frames) = RawPeer::join_with(addr, nick, resume);
        let Some(ServerFrame::Accepted { users, .. }) = frames.first() else {
            panic!("no accepted: {frames:?}");
        };
        Member {
            users: users.clone(),
            peer,
        }
    }

    /// Applies room events until the chat `marker` arrives.
    fn read_until(&mut self, marker: &str) {
        loop {
            match self.peer.frame() {
                ServerFrame::Join { nick, .. } => self.users.push(nick),
                ServerFrame::Leave { nick, .. } => self.users.retain(|u| *u != nick),
                ServerFrame::Nick { from, to, .. } => {
                    for user in self.users.iter_mut().filter(|u| **u == from) {
                        *user = to.clone();
                    }
                }
                ServerFrame::Chat(message) if message.text == marker => return,
                _ => {}
            }
        }
    }
}

/// The first member says `marker`; once everyone has read up to it, every list must be the
/// server's, in the same order.
fn assert_lists_agree(server: &ServerHandle, members: &mut [&mut Member], marker: &str) {
    members[0].peer.say(marker, marker);
    for member in members.iter_mut() {
        member.read_until(marker);
    }
    let truth = server.members();
    for member in members.iter() {
        assert_eq!(
            member.users, truth,
            "{marker}: {}'s list differs from the server's",
            member.peer.nick
        );
    }
}

fn resume_of(peer: &RawPeer) -> Option<Resume> {
    Some(Resume {
        session: peer.session.clone(),
        last_id: 0,
    })
}

#[test]
fn every_members_list_equals_the_servers_after_every_kind_of_resume() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut first = Member::join(addr, "first", None);
    let mut alice = Member::join(addr, "alice", None);
    let mut last = Member::join(addr, "last", None);
    assert_lists_agree(&server, &mut [&mut first, &mut alice, &mut last], "start");

    // 1. The old link still looks open; same nickname.
    let mut same = Member::join(addr, "alice", resume_of(&alice.peer));
    assert_eq!(same.peer.nick, "alice");
    assert_lists_agree(
        &server,
        &mut [&mut first, &mut last, &mut same],
        "same nick",
    );

    // 2. The old link still looks open; another nickname asked for: the stay keeps its name.
    let mut other = Member::join(addr, "alicia", resume_of(&same.peer));
    assert_eq!(
        other.peer.nick, "alice",
        "a resumed stay keeps its nickname"
    );
    assert_lists_agree(
        &server,
        &mut [&mut first, &mut last, &mut other],
        "other nick",
    );

    // 3. The old link is gone (the room saw the leave): the token still resumes history, and
    //    the stay comes back as a newcomer under the name it asks for.
    let token = resume_of(&other.peer);
    other.peer.vanish();
    // Wait until the server has seen the drop: a hello that came first would take over the
    // still-open old link instead (case 1), which is the other documented outcome.
    recv_where(server.events(), "server event Left alice", |e| {
        matches!(e, ServerEvent::Left { nick, .. } if nick == "alice").then_some(())
    });
    let mut back = Member::join(addr, "alice2", token);
    assert_eq!(back.peer.nick, "alice2");
    assert_lists_agree(&server, &mut [&mut first, &mut last, &mut back], "expired");

    // 4. A token this server never issued: a plain newcomer.
    let unknown = Some(Resume {
        session: "0123456789abcdef0123456789abcdef".into(),
        last_id: 0,
    });
    let mut stranger = Member::join(addr, "first", unknown);
    assert_eq!(stranger.peer.nick, "first-2");
    assert_lists_agree(
        &server,
        &mut [&mut first, &mut last, &mut back, &mut stranger],
        "unknown token",
    );
}
