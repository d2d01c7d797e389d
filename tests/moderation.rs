//! Running a room on real sockets (127.0.0.1, port 0): mute, kick, ban, lecture, co-hosts,
//! given from the host's own link (the secret host token) and by a co-host, in both dialects,
//! with what everyone reads and what the person concerned reads.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use crate::common;

use common::{RawPeer, chat_of, start_server, test_config};
use natter::network::protocol::{
    ClientFrame, ErrorCode, FEATURE_MODERATION, LeaveReason, ModCommand, ModNotice, Resume, Role,
    RoomRoles, ServerFrame,
};
use natter::network::server::{ServerConfig, ServerEvent, ServerHandle};

pub(crate) const TOKEN: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub(crate) fn config() -> ServerConfig {
    ServerConfig {
        host_token: Some(TOKEN.into()),
        ..test_config()
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A Natter client that listed `moderation`, joined from `from`.
pub(crate) fn member(addr: SocketAddr, nick: &str, from: u8) -> RawPeer {
    let peer = RawPeer::connect_from(addr, ip(from));
    let mut peer = peer.say_hello(nick, &[FEATURE_MODERATION]);
    peer.accepted();
    roles(&peer);
    peer
}

/// The host's own link: a member that presented the host token.
pub(crate) fn host(addr: SocketAddr, nick: &str) -> RawPeer {
    let mut peer = member(addr, nick, 1);
    peer.send(&ClientFrame::HostToken {
        token: TOKEN.into(),
    });
    let roles = roles(&peer);
    assert_eq!(roles.you, Role::Host);
    peer
}

/// A plain-text peer from `from` that named itself `nick` (so the room was told it joined).
pub(crate) fn plain(addr: SocketAddr, nick: &str, from: u8) -> RawPeer {
    let mut peer = RawPeer::connect_from(addr, ip(from));
    peer.send_raw(format!("/nick {nick}\n").as_bytes());
    peer.text_until(&format!("is now {nick}"));
    peer
}

fn roles(peer: &RawPeer) -> RoomRoles {
    peer.frame_where(|frame| match frame {
        ServerFrame::Roles(roles) => Some(roles),
        _ => None,
    })
}

/// Reads `roles` frames until one satisfies `wanted` (earlier ones may still be queued: every
/// change of roles is sent to everyone).
fn roles_until(peer: &RawPeer, wanted: impl Fn(&RoomRoles) -> bool) -> RoomRoles {
    loop {
        let roles = roles(peer);
        if wanted(&roles) {
            return roles;
        }
    }
}

fn notice(peer: &RawPeer) -> ModNotice {
    peer.frame_where(|frame| match frame {
        ServerFrame::Moderation(notice) => Some(notice),
        _ => None,
    })
}

/// The next `moderation` frame addressed to `peer` (others' on the way are skipped).
pub(crate) fn notice_to_me(peer: &RawPeer) -> ModNotice {
    loop {
        let notice = notice(peer);
        if notice.you {
            return notice;
        }
    }
}

fn refused(peer: &mut RawPeer, command: ModCommand) -> String {
    peer.send(&ClientFrame::Moderate(command));
    peer.assert_error(ErrorCode::NotAllowed)
}

fn mute(nick: &str, minutes: Option<u32>) -> ModCommand {
    ModCommand::Mute {
        nick: nick.into(),
        minutes,
    }
}

/// Waits until `peer`'s next chat is `text` (none other may come first).
fn next_chat_is(peer: &RawPeer, text: &str) {
    let got = peer.frame_where(chat_of);
    assert_eq!(got.text, text, "another message came first");
}

/// A plain peer's next message line (`[HH:MM] nick: text` → `nick: text`), skipping `*`
/// and `!` lines.
fn next_plain_message(peer: &RawPeer) -> String {
    loop {
        let line = peer.text_line();
        if line.starts_with('[')
            && let Some((_, text)) = line.split_once("] ")
        {
            return text.trim_end().to_string();
        }
    }
}

fn error_of(peer: &RawPeer) -> (ErrorCode, String, Option<String>) {
    peer.frame_where(|frame| match frame {
        ServerFrame::Error {
            code,
            message,
            client_id,
        } => Some((code, message, client_id)),
        _ => None,
    })
}

#[test]
fn a_mute_from_the_host_link_silences_a_member_for_everyone_and_tells_it_when_it_ends() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let mut bob = member(addr, "bob", 2);
    let carol = plain(addr, "carol", 3);
    // A look-alike spelling (Cyrillic О, capitals) names bob as the room compares names.
    dana.send(&ClientFrame::Moderate(mute("B\u{041E}B", Some(10))));
    let to_bob = notice(&bob);
    assert!(to_bob.you, "{to_bob:?}");
    assert!(
        to_bob
            .text
            .starts_with("dana muted you for 10 minutes; it ends at "),
        "{to_bob:?}"
    );
    assert!(to_bob.until.is_some());
    assert!(roles(&bob).muted, "bob's roles say he is muted");
    carol.text_until("* dana muted bob for 10 minutes");
    let to_dana = notice(&dana);
    assert_eq!(
        (to_dana.text.as_str(), to_dana.you),
        ("dana muted bob for 10 minutes", false)
    );
    bob.say("can anyone hear me", "b1");
    let (code, message, client_id) = error_of(&bob);
    assert_eq!((code, client_id.as_deref()), (ErrorCode::Muted, Some("b1")));
    assert!(message.contains("You are muted until"), "{message}");
    dana.say("after the mute", "d1");
    assert_eq!(next_plain_message(&carol), "dana: after the mute");
    dana.send(&ClientFrame::Moderate(ModCommand::Unmute {
        nick: "bob".into(),
    }));
    assert_eq!(notice(&bob).text, "dana unmuted you: you may write again.");
    bob.say("back", "b2");
    next_chat_is(&dana, "after the mute");
    next_chat_is(&dana, "back");
    assert_eq!(next_plain_message(&carol), "bob: back");
}

#[test]
fn a_mute_follows_the_session_through_a_rename_and_a_resume() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let mut bob = member(addr, "bob", 2);
    dana.send(&ClientFrame::Moderate(mute("bob", None)));
    assert_eq!(
        notice(&bob).text,
        "dana muted you: your messages reach nobody until you are unmuted."
    );
    bob.send(&ClientFrame::Nick {
        nick: "robert".into(),
    });
    bob.frame_where(|f| matches!(f, ServerFrame::Nick { .. }).then_some(()));
    bob.say("new name, new voice?", "b1");
    assert_eq!(error_of(&bob).0, ErrorCode::Muted);
    // The same stay comes back on a new connection (its old one still open: a takeover).
    let resume = Resume {
        session: bob.session.clone(),
        last_id: 0,
    };
    let (mut back, _) = RawPeer::join_with(addr, "bobby", Some(resume));
    assert_eq!(back.nick, "robert", "the resumed stay keeps its name");
    back.say("after the resume", "b2");
    assert_eq!(error_of(&back).0, ErrorCode::Muted);
    // Gone for good (the room read it leave), then back with its session: a newcomer in the
    // list, the same stay for the mute.
    let session = back.session.clone();
    back.vanish();
    common::recv_where(server.events(), "robert left", |event| match event {
        ServerEvent::Left {
            nick,
            reason: LeaveReason::Left,
            ..
        } if nick == "robert" => Some(()),
        _ => None,
    });
    let resume = Resume {
        session,
        last_id: 0,
    };
    let (mut newcomer, _) = RawPeer::join_with(addr, "bob", Some(resume));
    newcomer.say("and now?", "b3");
    assert_eq!(error_of(&newcomer).0, ErrorCode::Muted);
    dana.say("still only me", "d1");
    next_chat_is(&dana, "still only me");
}

#[test]
fn a_plain_member_muted_is_told_once_and_its_lines_reach_nobody() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let carol = plain(addr, "carol", 3);
    let mut eve = plain(addr, "eve", 4);
    dana.send(&ClientFrame::Moderate(mute("eve", Some(5))));
    let told = eve.text_until("dana muted you for 5 minutes; it ends at ");
    assert!(told.contains("* dana muted you"), "{told}");
    carol.text_until("* dana muted eve for 5 minutes");
    eve.send_raw(b"one\ntwo\nthree\n");
    let reminder = eve.text_until("You are muted until");
    assert!(reminder.contains("! You are muted until"), "{reminder}");
    dana.say("only this", "d1");
    // No second reminder before the host's line, and carol read none of eve's.
    let next = eve.text_line();
    assert!(next.trim_end().ends_with("] dana: only this"), "{next:?}");
    assert_eq!(next_plain_message(&carol), "dana: only this");
}

#[test]
fn a_kicked_member_reads_the_reason_in_its_dialect_is_disconnected_and_may_come_back() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let bob = member(addr, "bob", 2);
    let mut eve = plain(addr, "eve", 4);
    dana.send(&ClientFrame::Moderate(ModCommand::Kick {
        nick: "bob".into(),
        reason: "spamming links".into(),
    }));
    let frames = bob.frames_until_closed();
    let kicked = frames.iter().find_map(|f| match f {
        ServerFrame::Error { code, message, .. } if *code == ErrorCode::Kicked => Some(message),
        _ => None,
    });
    assert_eq!(
        kicked.map(String::as_str),
        Some("dana kicked you out of the room: spamming links. You may come back."),
        "{frames:?}"
    );
    eve.text_until("* dana kicked bob (spamming links)");
    dana.send(&ClientFrame::Moderate(ModCommand::Kick {
        nick: "eve".into(),
        reason: String::new(),
    }));
    let text = eve.text_until_closed();
    assert!(
        text.contains("! dana kicked you out of the room. You may come back."),
        "{text}"
    );
    // What a kicked peer still sends on its open socket is not handled: its connection ends.
    eve.send_raw(b"still here\n");
    common::recv_where(
        server.events(),
        "eve's connection ended",
        |event| match event {
            ServerEvent::Left { nick, .. } if nick == "eve" => Some(()),
            _ => None,
        },
    );
    dana.say("after the kicks", "d1");
    next_chat_is(&dana, "after the kicks");
    assert!(server.members().iter().all(|m| m != "bob" && m != "eve"));
    let back = member(addr, "bob", 2);
    assert_eq!(back.nick, "bob", "a kicked member may come back");
}

#[test]
fn a_ban_by_nickname_refuses_its_address_at_connect_in_each_dialect_with_the_time_left() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let bob = member(addr, "bob", 2);
    let carol = plain(addr, "carol", 3);
    dana.send(&ClientFrame::Moderate(ModCommand::Ban {
        target: "bob".into(),
        minutes: Some(60),
    }));
    let frames = bob.frames_until_closed();
    assert!(
        frames.iter().any(
            |f| matches!(f, ServerFrame::Error { code: ErrorCode::Banned, message, .. }
            if message.starts_with("dana banned you from this room for 1 hour; it ends at "))
        ),
        "{frames:?}"
    );
    carol.text_until("* dana banned bob for 1 hour");
    // Natter client from the same address: welcome, then the refusal with the time left.
    let mut again = RawPeer::connect_from(addr, ip(2)).say_hello("bob-again", &[]);
    let message = again.assert_error(ErrorCode::Banned);
    assert!(
        message.starts_with("This address is banned from this room by dana for 60 more minutes"),
        "{message}"
    );
    // A plain peer from there reads the same as a line.
    let nc = RawPeer::connect_from(addr, ip(2));
    let text = nc.text_until_closed();
    assert!(
        text.contains("! This address is banned from this room by dana for 60 more minutes"),
        "{text}"
    );
    // Another address, another person.
    let other = member(addr, "zoe", 5);
    assert_eq!(other.nick, "zoe");
    dana.send(&ClientFrame::Moderate(ModCommand::Bans {}));
    let listed = dana.frame_where(|f| match f {
        ServerFrame::Notice { text } => Some(text),
        _ => None,
    });
    assert!(
        listed.starts_with("Banned (1): 127.0.0.2 (bob), by dana, "),
        "{listed}"
    );
    dana.send(&ClientFrame::Moderate(ModCommand::Unban {
        target: "BOB".into(),
    }));
    let lifted = dana.frame_where(|f| match f {
        ServerFrame::Notice { text } => Some(text),
        _ => None,
    });
    assert_eq!(lifted, "Lifted the ban on 127.0.0.2 (bob).");
    let welcome_back = member(addr, "bob", 2);
    assert_eq!(welcome_back.nick, "bob");
}

#[test]
fn bans_survive_a_host_restart_with_the_same_bans_file_and_expire() {
    let folder = tempfile::tempdir().unwrap();
    let bans_file = folder.path().join("bans.json");
    let with_file = || ServerConfig {
        bans_file: Some(bans_file.clone()),
        ..config()
    };
    let server = start_server(with_file());
    let mut dana = host(server.local_addr(), "dana");
    dana.send(&ClientFrame::Moderate(ModCommand::Ban {
        target: "127.0.0.2".into(),
        minutes: None,
    }));
    let notice = notice(&dana);
    assert_eq!(notice.text, "dana banned an address");
    server.stop();
    let restarted: ServerHandle = start_server(with_file());
    let mut refused_peer =
        RawPeer::connect_from(restarted.local_addr(), ip(2)).say_hello("bob", &[]);
    let message = refused_peer.assert_error(ErrorCode::Banned);
    assert_eq!(message, "This address is banned from this room by dana.");
    // A ban that ran out is not kept: written with an end in the past, read as none.
    std::fs::write(
        &bans_file,
        r#"{"bans":[{"address":"127.0.0.2","nick":"","by":"dana","until":1}]}"#,
    )
    .unwrap();
    restarted.stop();
    let later = start_server(with_file());
    let bob = member(later.local_addr(), "bob", 2);
    assert_eq!(bob.nick, "bob");
}

#[test]
fn a_lecture_lets_only_the_host_co_hosts_and_the_voiced_write_and_private_messages_to_the_host_pass()
 {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let mut bob = member(addr, "bob", 2);
    let mut eve = plain(addr, "eve", 4);
    dana.send(&ClientFrame::Moderate(ModCommand::Lecture { on: true }));
    assert!(notice(&bob).text.starts_with("dana started a lecture"));
    assert!(roles(&bob).lecture);
    eve.text_until("* dana started a lecture");
    bob.say("a question", "b1");
    let (code, message, client_id) = error_of(&bob);
    assert_eq!((code, client_id.as_deref()), (ErrorCode::Muted, Some("b1")));
    assert!(message.starts_with("A lecture is on"), "{message}");
    bob.send(&ClientFrame::Chat {
        text: "may I ask privately?".into(),
        client_id: Some("b2".into()),
        action: false,
        to: Some("dana".into()),
    });
    let private = dana.frame_where(chat_of);
    assert_eq!(
        (private.text.as_str(), private.to.as_deref()),
        ("may I ask privately?", Some("dana"))
    );
    eve.send_raw(b"me too\n");
    eve.text_until("! A lecture is on");
    dana.send(&ClientFrame::Moderate(ModCommand::Voice {
        nick: "bob".into(),
    }));
    assert_eq!(
        notice(&bob).text,
        "dana gave you a voice: you may write during a lecture."
    );
    bob.say("thank you", "b3");
    next_chat_is(&dana, "thank you");
    assert_eq!(next_plain_message(&eve), "bob: thank you");
    dana.send(&ClientFrame::Moderate(ModCommand::Lecture { on: false }));
    eve.text_until("* dana ended the lecture: everyone may write again");
    eve.send_raw(b"finally\n");
    next_chat_is(&dana, "finally");
}

#[test]
fn a_co_host_has_the_tools_but_not_over_the_host_or_other_co_hosts_and_members_have_none() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let mut bob = member(addr, "bob", 2);
    let mut carol = member(addr, "carol", 3);
    let zed = member(addr, "zed", 6);
    let message = refused(&mut carol, mute("bob", None));
    assert_eq!(message, "Only the host and co-hosts can use /mute.");
    dana.send(&ClientFrame::Moderate(ModCommand::Op {
        nick: "bob".into(),
    }));
    assert!(notice(&bob).text.starts_with("dana made you a co-host"));
    let seen_by_carol = roles(&carol);
    assert_eq!(
        (
            seen_by_carol.you,
            seen_by_carol.host.as_deref(),
            seen_by_carol.ops
        ),
        (Role::Member, Some("dana"), vec!["bob".to_string()])
    );
    bob.send(&ClientFrame::Moderate(mute("carol", Some(1))));
    assert_eq!(
        notice(&carol).text.split(';').next(),
        Some("bob muted you for 1 minute")
    );
    assert_eq!(
        refused(&mut bob, mute("dana", None)),
        "Nobody can /mute the host."
    );
    assert_eq!(
        refused(
            &mut bob,
            ModCommand::Ban {
                target: "127.0.0.1".into(),
                minutes: None
            }
        ),
        "127.0.0.1 is the host's address (dana): nobody can ban the host."
    );
    assert_eq!(
        refused(&mut bob, ModCommand::Op { nick: "zed".into() }),
        "Only the host can make or unmake co-hosts."
    );
    assert_eq!(
        refused(&mut bob, mute("bob", None)),
        "You cannot /mute yourself."
    );
    // Someone else behind bob's own address: a ban would shut bob out too.
    let _twin = member(addr, "twin", 2);
    assert_eq!(
        refused(
            &mut bob,
            ModCommand::Ban {
                target: "twin".into(),
                minutes: None
            }
        ),
        "127.0.0.2 is the address you connect from too: banning it would shut you out. /kick or /mute them instead."
    );
    dana.send(&ClientFrame::Moderate(ModCommand::Op {
        nick: "zed".into(),
    }));
    // zed still has the roles frame from when bob was made co-host queued: wait for its own.
    roles_until(&zed, |roles| roles.you == Role::Op);
    assert_eq!(
        refused(
            &mut bob,
            ModCommand::Kick {
                nick: "zed".into(),
                reason: String::new()
            }
        ),
        "zed is a co-host: only the host can /kick a co-host."
    );
    // Muted, a co-host cannot lift its own mute, nor write.
    dana.send(&ClientFrame::Moderate(mute("bob", None)));
    assert_eq!(
        refused(&mut bob, ModCommand::Unmute { nick: "bob".into() }),
        "You cannot /unmute yourself."
    );
}

#[test]
fn a_plain_co_host_types_the_commands_and_reads_the_answers_as_lines() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let mut eve = plain(addr, "eve", 4);
    let bob = member(addr, "bob", 2);
    eve.send_raw(b"/mute bob 5\n");
    eve.text_until("! Only the host and co-hosts can use /mute.");
    dana.send(&ClientFrame::Moderate(ModCommand::Op {
        nick: "eve".into(),
    }));
    eve.text_until("* dana made you a co-host");
    eve.send_raw(b"/mute bob 5\n");
    let to_bob = notice_to_me(&bob);
    assert!(
        to_bob.text.starts_with("eve muted you for 5 minutes"),
        "{to_bob:?}"
    );
    eve.text_until("* eve muted bob for 5 minutes");
    eve.send_raw(b"/mute\n");
    eve.text_until("! /mute NICK [minutes]");
    eve.send_raw(b"/bans\n");
    eve.text_until("! Nobody is banned.");
}

#[test]
fn only_the_secret_host_token_makes_a_link_the_host() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut mallory = member(addr, "mallory", 2);
    mallory.send(&ClientFrame::HostToken {
        token: "00000000000000000000000000000000".into(),
    });
    let message = mallory.assert_error(ErrorCode::NotAllowed);
    assert!(
        message.starts_with("That is not this room's host token"),
        "{message}"
    );
    let bob = member(addr, "bob", 3);
    assert_eq!(
        refused(&mut mallory, mute("bob", None)),
        "Only the host and co-hosts can use /mute."
    );
    // Without a token configured nobody's link is the host, whatever it presents.
    let untokened = start_server(test_config());
    let mut claimer = member(untokened.local_addr(), "claimer", 2);
    claimer.send(&ClientFrame::HostToken {
        token: TOKEN.into(),
    });
    claimer.assert_error(ErrorCode::NotAllowed);
    drop(bob);
}

#[test]
fn a_muted_members_file_offer_reaches_nobody_and_it_is_told_why() {
    let server = start_server(config());
    let addr = server.local_addr();
    let mut dana = host(addr, "dana");
    let peer = RawPeer::connect_from(addr, ip(2));
    let mut bob = peer.say_hello("bob", &[FEATURE_MODERATION, "files"]);
    bob.accepted();
    dana.send(&ClientFrame::Moderate(mute("bob", Some(3))));
    notice(&bob);
    bob.send(&ClientFrame::FileOffer(
        natter::network::protocol::OfferRequest {
            id: "f1".into(),
            name: "spam.zip".into(),
            size: 10,
            sha256: "ab".repeat(32),
            to: None,
        },
    ));
    let reason = bob.frame_where(|frame| match frame {
        ServerFrame::FileCancel { id, by, reason, .. } if id == "f1" && by.is_empty() => {
            Some(reason)
        }
        ServerFrame::FileOffer(offer) => panic!("the offer went out: {offer:?}"),
        _ => None,
    });
    assert!(reason.starts_with("You are muted until"), "{reason}");
}
