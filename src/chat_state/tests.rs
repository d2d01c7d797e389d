//! Tests of the chat's state: what each event does to the lines, the list and the marks.
use super::*;
use crate::network::protocol::LeaveReason;

/// The link back, the session resumed and nothing missed.
fn back_online() -> ClientEvent {
    ClientEvent::Connected {
        nick: "me".into(),
        server: "Lab".into(),
        welcome: String::new(),
        users: vec!["me".into()],
        resumed: true,
        history_complete: true,
        history: 0,
        unencrypted: Vec::new(),
    }
}
use crate::network::client::ClientError;
use crate::network::protocol::ChatMessage;

fn message(id: u64, from: &str, text: &str) -> ChatMessage {
    ChatMessage {
        id,
        time: "2026-11-23T09:30:00.000Z".into(),
        from: from.into(),
        text: text.into(),
        client_id: None,
        action: false,
        to: None,
    }
}

fn connected(chat: &mut ChatState) -> Applied {
    chat.apply(ClientEvent::Connected {
        nick: "me".into(),
        server: "Lab".into(),
        welcome: "hi".into(),
        users: vec!["bob".into(), "me".into()],
        resumed: false,
        history_complete: true,
        history: 0,
        unencrypted: Vec::new(),
    })
}

#[test]
fn a_first_key_asks_to_compare_the_code_and_an_unencrypted_join_is_marked_and_follows_renames() {
    let mut chat = ChatState::new("me");
    let key = crate::network::tls::Fingerprint::of_public_key(b"key");
    let applied = chat.apply(ClientEvent::Encrypted {
        fingerprint: key,
        first_time: true,
    });
    assert_eq!(applied.host_key, Some(key));
    assert_eq!(chat.security, Security::Encrypted { fingerprint: key });
    connected(&mut chat);
    let said = |chat: &ChatState| match &chat.lines.last().map(|l| &l.kind) {
        Some(LineKind::System(text)) => text.clone(),
        other => panic!("{other:?}"),
    };
    assert!(chat.lines.iter().any(|l| matches!(&l.kind,
        LineKind::System(t) if t.contains("compare this code") && t.contains(&key.code()))));
    chat.apply(ClientEvent::Joined {
        nick: "nc".into(),
        time: "2026-11-23T09:30:00.000Z".into(),
        unencrypted: true,
    });
    assert_eq!(said(&chat), "nc joined without encryption");
    assert!(chat.unencrypted.contains("nc"));
    chat.apply(ClientEvent::Renamed {
        from: "nc".into(),
        to: "dana".into(),
        time: "2026-11-23T09:30:01.000Z".into(),
    });
    assert!(chat.unencrypted.contains("dana") && !chat.unencrypted.contains("nc"));
}

#[test]
fn pending_lines_are_confirmed_in_place() {
    let mut chat = ChatState::new("me");
    assert!(connected(&mut chat).first_connect);
    chat.add_pending(1, "hello");
    chat.apply(ClientEvent::Message {
        message: message(5, "bob", "in between"),
        local_id: None,
    });
    assert_eq!(chat.pending_count(), 1);
    let applied = chat.apply(ClientEvent::Message {
        message: message(6, "me", "hello"),
        local_id: Some(1),
    });
    assert!(!applied.new_message, "our own echo is not news");
    assert_eq!(chat.pending_count(), 0);
    let mine = chat
        .lines
        .iter()
        .find(|l| matches!(&l.kind, LineKind::Message { text, .. } if text == "hello"))
        .unwrap();
    assert!(matches!(
        mine.kind,
        LineKind::Message {
            id: Some(6),
            delivery: Delivery::Delivered,
            ..
        }
    ));
    let count = chat
        .lines
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Message { .. }))
        .count();
    assert_eq!(count, 2, "confirmation did not add a line");
}

#[test]
fn refused_lines_are_marked_not_sent() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    chat.add_pending(9, "spam");
    chat.apply(ClientEvent::NotSent {
        local_id: 9,
        reason: "Slow down".into(),
    });
    assert!(chat.lines.iter().any(|l| matches!(
        &l.kind,
        LineKind::Message { delivery: Delivery::NotSent(r), .. } if r == "Slow down"
    )));
}

#[test]
fn a_nick_the_host_changed_because_it_was_taken_is_said_once() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    chat.asked_for_nick("bob");
    chat.apply(ClientEvent::Renamed {
        from: "me".into(),
        to: "bob-2".into(),
        time: "2026-11-23T09:30:00.000Z".into(),
    });
    assert_eq!(chat.my_nick, "bob-2");
    let taken = "The name bob was taken; you are bob-2.";
    assert_eq!(system_lines(&chat).last(), Some(&taken));
    chat.apply(ClientEvent::Renamed {
        from: "bob-2".into(),
        to: "bob-3".into(),
        time: "2026-11-23T09:30:00.000Z".into(),
    });
    assert_eq!(system_lines(&chat).last(), Some(&"You are now bob-3"));
}

#[test]
fn the_user_list_follows_joins_leaves_and_renames() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    let time = "2026-11-23T09:30:00.000Z".to_string();
    chat.apply(ClientEvent::Joined {
        nick: "carol".into(),
        time: time.clone(),
        unencrypted: false,
    });
    chat.apply(ClientEvent::Renamed {
        from: "bob".into(),
        to: "robert".into(),
        time: time.clone(),
    });
    chat.apply(ClientEvent::Left {
        nick: "carol".into(),
        reason: LeaveReason::TimedOut,
        detail: String::new(),
        time,
    });
    assert_eq!(chat.users, vec!["robert", "me"]);
    let system: Vec<&str> = chat
        .lines
        .iter()
        .filter_map(|l| match &l.kind {
            LineKind::System(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert!(system.contains(&"carol joined"));
    assert!(system.contains(&"bob is now robert"));
    assert!(system.contains(&"carol left (timed out)"));
}

#[test]
fn a_lost_link_says_so_and_a_reconnect_reports_the_unconfirmed_messages() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    chat.apply(ClientEvent::LinkLost {
        error: ClientError::HostStopped,
        attempt: 0,
        retry_in: Duration::from_secs(2),
    });
    assert!(matches!(chat.link, LinkState::Reconnecting { .. }));
    chat.add_pending(3, "offline line");
    let applied = chat.apply(back_online());
    assert!(!applied.first_connect);
    assert_eq!(chat.link, LinkState::Online);
    let last = chat.lines.last().unwrap();
    assert_eq!(
        last.kind,
        LineKind::System("Reconnected. Sending 1 waiting message(s).".into())
    );
}

fn system_lines(chat: &ChatState) -> Vec<&str> {
    chat.lines
        .iter()
        .filter_map(|l| match &l.kind {
            LineKind::System(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn many_failed_reconnects_add_one_line_and_update_the_status_in_place() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    let before = chat.lines.len();
    let refused = ClientError::Refused {
        addr: "127.0.0.1:5050".parse().unwrap(),
    };
    chat.apply(ClientEvent::LinkLost {
        error: ClientError::HostStopped,
        attempt: 0,
        retry_in: Duration::from_millis(500),
    });
    for attempt in 1..=6 {
        chat.apply(ClientEvent::Connecting {
            address: "x".into(),
            attempt,
        });
        assert!(chat.retry_in().is_none(), "no countdown while dialing");
        chat.apply(ClientEvent::LinkLost {
            error: refused.clone(),
            attempt,
            retry_in: Duration::from_secs(3),
        });
        assert!(matches!(
            &chat.link,
            LinkState::Reconnecting { attempt: next, retry_at: Some(_), .. } if *next == attempt + 1
        ));
        assert!(chat.link_down());
    }
    assert_eq!(chat.lines.len(), before + 1, "one line for the loss");
    assert_eq!(
        system_lines(&chat).last(),
        Some(&"The host stopped hosting. Reconnecting…")
    );
    chat.apply(back_online());
    assert_eq!(chat.lines.len(), before + 2, "and one for the return");
    assert!(!chat.link_down());
}

#[test]
fn a_plain_host_is_named_once_with_what_it_seems_to_be_and_is_not_a_first_connect() {
    let mut chat = ChatState::new("me");
    let applied = chat.apply(ClientEvent::PlainMode {
        address: "10.0.0.2:80".into(),
        looks_like: Some("a web server".into()),
    });
    assert!(!applied.first_connect, "a plain host is not remembered");
    assert_eq!(chat.link, LinkState::Plain);
    chat.apply(ClientEvent::LinkLost {
        error: ClientError::HostStopped,
        attempt: 0,
        retry_in: Duration::from_secs(1),
    });
    chat.apply(ClientEvent::PlainMode {
        address: "10.0.0.2:80".into(),
        looks_like: Some("a web server".into()),
    });
    let lines = system_lines(&chat);
    let naming: Vec<_> = lines.iter().filter(|l| l.contains("web server")).collect();
    assert_eq!(naming.len(), 1, "{lines:?}");
    assert!(naming[0].contains("is not a Natter host (it answered like a web server)"));
    assert_eq!(lines.last(), Some(&"Reconnected (plain mode)."));
}

#[test]
fn history_on_joining_comes_after_an_earlier_messages_line_and_before_connected() {
    let mut chat = ChatState::new("me");
    chat.apply(ClientEvent::Connected {
        nick: "me".into(),
        server: "Lab".into(),
        welcome: "Welcome to Lab".into(),
        users: vec!["bob".into(), "me".into()],
        resumed: false,
        history_complete: true,
        history: 2,
        unencrypted: Vec::new(),
    });
    for (id, text) in [(1, "old one"), (2, "old two")] {
        chat.apply(ClientEvent::Message {
            message: message(id, "bob", text),
            local_id: None,
        });
    }
    chat.apply(ClientEvent::Message {
        message: message(3, "bob", "live"),
        local_id: None,
    });
    let texts: Vec<&str> = chat
        .lines
        .iter()
        .map(|l| match &l.kind {
            LineKind::Message { text, .. }
            | LineKind::System(text)
            | LineKind::Plain(text)
            | LineKind::File { summary: text, .. } => text.as_str(),
        })
        .collect();
    assert_eq!(
        texts,
        [
            "Earlier messages (before you joined):",
            "old one",
            "old two",
            "Connected to Lab as me.",
            "Welcome to Lab",
            "live"
        ]
    );
}

#[test]
fn without_history_connected_and_welcome_come_first_and_a_cut_history_still_says_connected() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    assert_eq!(system_lines(&chat), ["Connected to Lab as me.", "hi"]);

    let mut chat = ChatState::new("me");
    chat.apply(ClientEvent::Connected {
        nick: "me".into(),
        server: "Lab".into(),
        welcome: String::new(),
        users: vec!["me".into()],
        resumed: false,
        history_complete: true,
        history: 5,
        unencrypted: Vec::new(),
    });
    chat.apply(ClientEvent::Message {
        message: message(1, "bob", "old"),
        local_id: None,
    });
    chat.apply(ClientEvent::Joined {
        nick: "bob".into(),
        time: "2026-11-23T09:31:00.000Z".into(),
        unencrypted: false,
    });
    assert_eq!(
        system_lines(&chat),
        [
            "Earlier messages (before you joined):",
            "Connected to Lab as me.",
            "bob joined"
        ]
    );
}

#[test]
fn a_line_confirmed_in_a_later_minute_keeps_its_written_time_and_records_the_delivery() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    chat.add_pending(1, "typed offline");
    let written = Local::now() - chrono::Duration::minutes(2);
    let index = chat.lines.len() - 1;
    chat.lines[index].time = written;
    chat.apply(ClientEvent::Message {
        message: message(7, "me", "typed offline"),
        local_id: Some(1),
    });
    let late = &chat.lines[index];
    assert_eq!(late.time, written, "the written time stays");
    let delivered = late.delivered_late.expect("a later delivery is recorded");
    assert!(delivered > written + chrono::Duration::minutes(1));
}

#[test]
fn a_rename_moves_the_private_conversations_draft_unread_count_and_messages_together() {
    let mut chat = ChatState::new("me");
    connected(&mut chat);
    let (bob, robert) = (
        ConversationKey::private("bob"),
        ConversationKey::private("robert"),
    );
    let mut psst = message(1, "bob", "psst");
    psst.to = Some("me".into());
    chat.apply(ClientEvent::Message {
        message: psst,
        local_id: None,
    });
    // The room is shown: the private message is unread.
    chat.conversations.arrived(&bob, true);
    chat.conversations.show(&bob);
    chat.conversations.draft_mut().push_str("half a reply");
    chat.conversations.show(&ConversationKey::Room);
    chat.apply(ClientEvent::Renamed {
        from: "bob".into(),
        to: "robert".into(),
        time: "2026-11-23T09:30:01.000Z".into(),
    });
    assert_eq!(chat.conversations.private().collect::<Vec<_>>(), ["robert"]);
    assert_eq!(chat.conversations.unread(&robert), 1, "the unread count");
    assert_eq!(chat.conversations.unread(&bob), 0);
    let texts = |key: &ConversationKey| -> Vec<String> {
        chat.lines_of(key)
            .filter_map(|l| match &l.kind {
                LineKind::Message { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(texts(&robert), ["psst"], "the messages");
    assert!(texts(&bob).is_empty());
    chat.conversations.show(&robert);
    assert_eq!(chat.conversations.draft(), "half a reply", "the draft");
}

#[test]
fn the_rooms_roles_follow_renames_and_a_moderation_line_is_shown() {
    use crate::network::protocol::{ModNotice, Role, RoomRoles};
    let mut chat = ChatState::new("bob");
    chat.apply(ClientEvent::Roles(RoomRoles {
        you: Role::Member,
        host: Some("dana".into()),
        ops: vec!["erin".into()],
        ..RoomRoles::default()
    }));
    chat.apply(ClientEvent::Renamed {
        from: "erin".into(),
        to: "Erin T.".into(),
        time: "2026-12-05T14:22:00.000Z".into(),
    });
    chat.apply(ClientEvent::Renamed {
        from: "dana".into(),
        to: "Dana".into(),
        time: "2026-12-05T14:22:01.000Z".into(),
    });
    assert_eq!(chat.roles.ops, ["Erin T."]);
    assert_eq!(chat.roles.host.as_deref(), Some("Dana"));
    chat.apply(ClientEvent::Moderation(ModNotice {
        action: "mute".into(),
        by: "Dana".into(),
        nick: "bob".into(),
        you: true,
        until: None,
        text: "Dana muted you: your messages reach nobody until you are unmuted.".into(),
        time: "2026-12-05T14:22:02.000Z".into(),
    }));
    assert!(
        chat.lines
            .iter()
            .any(|l| matches!(&l.kind, LineKind::System(t) if t.starts_with("Dana muted you"))),
        "the line addressed to us is shown"
    );
}
