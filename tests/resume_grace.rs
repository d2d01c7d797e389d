//! A Natter client whose link drops stays in the room for the host's grace (PROTOCOL.md §4):
//! a resume within it shows others neither a leave nor a join, whether they read JSON or plain
//! text, and what was said meanwhile reaches it; a link that does not come back is announced
//! as left once the grace runs out (issue 29 §5). Real sockets on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::Shutdown;
use std::time::Duration;

use common::{RawPeer, WAIT, chat_of, recv_where, start_server, test_config};
use natter::network::protocol::{ClientFrame, LeaveReason, PresenceEvent, Resume, ServerFrame};
use natter::network::server::{ServerConfig, ServerEvent};

fn with_grace(grace: Duration) -> ServerConfig {
    ServerConfig {
        member_grace: grace,
        ..test_config()
    }
}

/// Ends `peer`'s link from its side without a goodbye, and returns once the host has let the
/// connection go (it closes its side too): whatever the host does about the drop is done.
fn drop_link(peer: RawPeer) {
    peer.stream.shutdown(Shutdown::Write).unwrap();
    peer.frames_until_closed();
}

/// The joins and leaves `watcher` reads (as "+nick" and "-nick") until its own chat `marker`
/// comes back.
fn presence_until(watcher: &mut RawPeer, marker: &str) -> Vec<String> {
    watcher.say(marker, marker);
    let mut seen = Vec::new();
    loop {
        match watcher.frame() {
            ServerFrame::Join { nick, .. } => seen.push(format!("+{nick}")),
            ServerFrame::Leave { nick, .. } => seen.push(format!("-{nick}")),
            ServerFrame::Presence { events, .. } => {
                seen.extend(events.into_iter().map(|event| match event {
                    PresenceEvent::Join { join, .. } => format!("+{join}"),
                    PresenceEvent::Leave { leave, .. } => format!("-{leave}"),
                }))
            }
            ServerFrame::Chat(message) if message.text == marker => return seen,
            _ => {}
        }
    }
}

#[test]
fn a_resume_within_the_grace_shows_no_leave_or_join_to_natter_and_plain_peers_and_brings_what_was_said_meanwhile()
 {
    let server = start_server(with_grace(WAIT * 6));
    let addr = server.local_addr();
    let (mut bob, _) = RawPeer::join(addr, "bob");
    let nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let (mut eve, _) = RawPeer::join(addr, "eve");
    nc.text_until("* eve joined");
    assert_eq!(presence_until(&mut bob, "eve is in"), vec!["+eve"]);
    eve.say("before the drop", "e1");
    let last = eve.frame_where(|f| chat_of(f).filter(|m| m.text == "before the drop"));
    let session = eve.session.clone();

    drop_link(eve);
    // Said while eve's link is gone: to the room, and to eve alone.
    bob.say("while eve was away", "b1");
    bob.send(&ClientFrame::Chat {
        text: "just for eve".into(),
        client_id: Some("b2".into()),
        action: false,
        to: Some("eve".into()),
    });
    let confirmed = bob.frame_where(|f| match f {
        ServerFrame::Chat(m) if m.client_id.as_deref() == Some("b2") => Some(Ok(m.text)),
        ServerFrame::Error { message, .. } => Some(Err(message)),
        _ => None,
    });
    assert_eq!(
        confirmed.as_deref(),
        Ok("just for eve"),
        "a member whose link dropped moments ago is still in the room"
    );

    let resume = Resume {
        session,
        last_id: last.id,
    };
    let (_eve, frames) = RawPeer::join_with(addr, "eve", Some(resume));
    let ServerFrame::Accepted {
        nick,
        resumed,
        users,
        ..
    } = &frames[0]
    else {
        panic!("{frames:?}");
    };
    assert!(resumed);
    assert_eq!(nick, "eve");
    assert_eq!(users, &vec!["bob".to_string(), "eve".to_string()]);
    let missed: Vec<String> = frames[1..]
        .iter()
        .cloned()
        .filter_map(chat_of)
        .map(|m| m.text)
        .collect();
    assert_eq!(missed, vec!["while eve was away", "just for eve"]);

    assert_eq!(
        presence_until(&mut bob, "after the resume"),
        Vec::<String>::new(),
        "bob read a leave or a join for a link that came back within the grace"
    );
    let plain = nc.text_until("after the resume");
    assert!(
        !plain.contains("eve left") && !plain.contains("eve joined"),
        "the plain peer read: {plain}"
    );
    assert_eq!(server.members(), vec!["bob", "eve"]);
}

#[test]
fn a_dropped_link_that_does_not_come_back_is_announced_as_left_once_the_grace_runs_out() {
    let grace = Duration::from_secs(2);
    let server = start_server(with_grace(grace));
    let addr = server.local_addr();
    let (bob, _) = RawPeer::join(addr, "bob");
    let nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let (eve, _) = RawPeer::join(addr, "eve");
    nc.text_until("* eve joined");

    drop_link(eve);
    assert_eq!(
        server.members(),
        vec!["bob", "eve"],
        "held for the grace ({grace:?}) right after the drop"
    );
    let (reason, detail) = bob.frame_where(|f| match f {
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            ..
        } if nick == "eve" => Some((reason, detail)),
        ServerFrame::Presence { events, .. } => events.into_iter().find_map(|e| match e {
            PresenceEvent::Leave {
                leave,
                reason,
                detail,
            } if leave == "eve" => Some((reason, detail)),
            _ => None,
        }),
        _ => None,
    });
    assert_eq!(reason, LeaveReason::Left);
    assert_eq!(detail, "closed the connection");
    nc.text_until("* eve left");
    recv_where(server.events(), "server event Left eve", |e| match e {
        ServerEvent::Left { nick, .. } if nick == "eve" => Some(()),
        _ => None,
    });
    assert_eq!(server.members(), vec!["bob"]);
}

#[test]
fn a_member_that_says_goodbye_is_announced_as_left_at_once_whatever_the_grace() {
    let server = start_server(with_grace(WAIT * 6));
    let addr = server.local_addr();
    let (mut bob, _) = RawPeer::join(addr, "bob");
    let (mut eve, _) = RawPeer::join(addr, "eve");
    assert_eq!(presence_until(&mut bob, "eve is in"), vec!["+eve"]);
    eve.send(&ClientFrame::Bye {});
    let detail = bob.frame_where(|f| match f {
        ServerFrame::Leave { nick, detail, .. } if nick == "eve" => Some(detail),
        _ => None,
    });
    assert_eq!(detail, "said goodbye");
}

/// A member kicked while it is held in its grace is taken out at once: the room reads the kick
/// and one leave, and the grace running out later adds no second one. Dave, dropped at the
/// same moment and not kicked, is announced when the grace ends; by then bob's would have been.
#[test]
fn a_member_kicked_while_held_in_its_grace_is_announced_as_left_once() {
    use natter::network::protocol::ModCommand;
    let server = start_server(ServerConfig {
        member_grace: Duration::from_secs(2),
        ..crate::moderation::config()
    });
    let addr = server.local_addr();
    let mut dana = crate::moderation::host(addr, "dana");
    let mut watcher = crate::moderation::member(addr, "watcher", 3);
    let (bob, _) = RawPeer::join(addr, "bob");
    let (dave, _) = RawPeer::join(addr, "dave");
    drop_link(bob);
    drop_link(dave);
    dana.send(&ClientFrame::Moderate(ModCommand::Kick {
        nick: "bob".into(),
        reason: String::new(),
    }));
    let mut seen = Vec::new();
    while !seen.iter().any(|s| s == "-dave") {
        match watcher.frame() {
            ServerFrame::Moderation(notice) => seen.push(notice.text),
            ServerFrame::Leave { nick, .. } => seen.push(format!("-{nick}")),
            ServerFrame::Presence { events, .. } => {
                seen.extend(events.into_iter().filter_map(|event| match event {
                    PresenceEvent::Leave { leave, .. } => Some(format!("-{leave}")),
                    PresenceEvent::Join { .. } => None,
                }))
            }
            _ => {}
        }
    }
    // Anything the same sweep announced comes before the watcher's own line.
    seen.extend(presence_until(&mut watcher, "after dave"));
    assert!(
        seen.iter().any(|s| s == "dana kicked bob"),
        "bob was kicked while held: {seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|s| *s == "-bob").count(),
        1,
        "bob left once: {seen:?}"
    );
    drop(server);
}
