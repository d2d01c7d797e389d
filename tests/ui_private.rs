//! Private conversations, mentions and nickname completion in the real window (`NatterApp`
//! through egui_kittest), hosting on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::app::NatterApp;
use natter::chat_state::{ConversationKey, LineKind};

/// Alice hosts; bob and carol join; everyone has seen everyone.
fn three() -> (Window, Window, Window) {
    let (mut alice, address) = Window::host("alice");
    let bob = Window::join("bob", &address);
    let mut carol = Window::join("carol", &address);
    alice.until_shown("Online (3)");
    carol.until_shown("Online (3)");
    (alice, bob, carol)
}

/// The conversation a window shows.
fn shown(window: &Window) -> ConversationKey {
    let chat = window.app().chat().expect("a chat");
    chat.conversations.shown().clone()
}

/// Unread messages in the private conversation with `nick`.
fn unread(app: &NatterApp, nick: &str) -> usize {
    app.chat().map_or(0, |c| {
        c.conversations.unread(&ConversationKey::private(nick))
    })
}

/// Every message text a window's chat holds, in any conversation.
fn texts(window: &Window) -> Vec<String> {
    let chat = window.app().chat().unwrap();
    chat.lines
        .iter()
        .filter_map(|l| match &l.kind {
            LineKind::Message { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn click_label(window: &mut Window, label: &str) {
    window.harness.get_by_label(label).click();
    window.harness.run_steps(2);
}

#[test]
fn clicking_a_name_opens_a_private_conversation_that_only_its_two_people_see_with_unread_counts() {
    let (mut alice, mut bob, mut carol) = three();
    click_label(&mut bob, "alice");
    assert!(
        bob.harness.query_by_label("Room").is_some(),
        "the room and the conversation side by side"
    );
    bob.say("just between us");
    bob.until_shown("bob: just between us");
    // Alice is in the room: the conversation appears beside it with one unread message, and
    // the room does not show the private line.
    alice.until_shown("bob (1)");
    assert!(
        alice
            .harness
            .query_by_label_contains("bob: just between us")
            .is_none()
    );
    // Carol, in the room meanwhile, writes there; alice opens bob's conversation.
    click_label(&mut alice, "bob (1)");
    alice.until_shown("bob: just between us");
    assert!(alice.harness.query_by_label("bob (1)").is_none(), "read");
    carol.say("room news");
    alice.until_shown("Room (1)");
    alice.say("ok, private reply");
    bob.until_shown("alice: ok, private reply");
    click_label(&mut alice, "Room (1)");
    alice.until_shown("carol: room news");
    // Carol's window never heard of either private message.
    carol.until_shown("carol: room news");
    assert_eq!(texts(&carol), vec!["room news"]);
}

#[test]
fn each_conversation_keeps_its_own_draft() {
    let (mut alice, _bob, _carol) = three();
    let input = alice.harness.get_by_role(Role::MultilineTextInput);
    input.focus();
    input.type_text("half a room message");
    alice.harness.run_steps(1);
    click_label(&mut alice, "bob");
    assert_eq!(alice.app().draft(), "", "bob's conversation starts empty");
    click_label(&mut alice, "Room");
    assert_eq!(alice.app().draft(), "half a room message");
}

#[test]
fn a_rename_moves_the_private_conversations_draft_unread_count_and_messages_together() {
    let (mut alice, mut bob, _carol) = three();
    click_label(&mut alice, "bob");
    let input = alice.harness.get_by_role(Role::MultilineTextInput);
    input.focus();
    input.type_text("half a reply");
    alice.harness.run_steps(1);
    click_label(&mut alice, "Room");
    bob.say("/msg alice psst");
    alice.until_shown("bob (1)");
    bob.say("/nick robert");
    alice.until_shown("robert (1)");
    let app = alice.app();
    assert_eq!(unread(app, "robert"), 1, "the unread count followed");
    assert_eq!(unread(app, "bob"), 0);
    let chat = app.chat().unwrap();
    let said_in = |nick: &str| -> Vec<String> {
        chat.lines_of(&ConversationKey::private(nick))
            .filter_map(|l| match &l.kind {
                LineKind::Message { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(said_in("robert"), ["psst"], "the messages followed");
    assert!(said_in("bob").is_empty());
    assert_eq!(chat.conversations.private().collect::<Vec<_>>(), ["robert"]);
    click_label(&mut alice, "robert (1)");
    alice.until_shown("bob: psst");
    assert_eq!(alice.app().draft(), "half a reply", "the draft followed");
}

#[test]
fn slash_msg_opens_the_conversation_and_reaches_only_that_person() {
    let (mut alice, mut bob, mut carol) = three();
    carol.say("/msg Alice hello, privately");
    carol.until_shown("carol: hello, privately");
    assert!(
        carol.harness.query_by_label("Room").is_some(),
        "carol's window shows the conversation with alice"
    );
    assert_eq!(
        shown(&carol),
        ConversationKey::private("alice"),
        "the name as the list spells it"
    );
    alice.until_shown("carol (1)");
    bob.say("sync");
    alice.until_shown("bob: sync");
    bob.until_shown("bob: sync");
    assert_eq!(texts(&bob), vec!["sync"]);
}

/// Issue 29 §11: it used to open and switch to a "zed (away)" tab, where the next lines went.
#[test]
fn msg_to_someone_not_online_says_so_keeps_the_line_and_stays_in_the_room() {
    let (mut alice, _bob, _carol) = three();
    alice.say("/msg zed are you there");
    alice.until_shown("Not sent: nobody called zed is online");
    assert_eq!(shown(&alice), ConversationKey::Room, "still in the room");
    assert!(
        !alice.app().chat().unwrap().conversations.has("zed"),
        "no conversation with zed"
    );
    assert!(
        alice
            .harness
            .query_by_label_contains("zed (away)")
            .is_none()
    );
    assert_eq!(
        alice.app().draft(),
        "/msg zed are you there",
        "the line is kept"
    );
}

#[test]
fn msg_to_yourself_is_answered_in_the_window_and_opens_no_conversation() {
    let (mut alice, _bob, _carol) = three();
    alice.say("/msg ALICE note to self");
    alice.until_shown("That is you: a private message goes to someone else.");
    assert!(!alice.app().chat().unwrap().conversations.any_private());
    assert!(alice.harness.query_by_label("Room").is_none(), "no tabs");
}

#[test]
fn a_conversation_follows_a_rename_and_says_when_the_other_person_left() {
    let (mut alice, mut bob, _carol) = three();
    click_label(&mut alice, "bob");
    alice.say("still there?");
    bob.until_shown("alice (1)");
    bob.say("/nick robert");
    alice.until_shown("bob is now robert; this conversation follows.");
    assert_eq!(shown(&alice), ConversationKey::private("robert"));
    alice.say("hi robert");
    bob.until("robert reads it in alice's conversation", |h| {
        h.state().chat().unwrap().lines.iter().any(|l| {
            l.with == ConversationKey::private("alice")
                && matches!(&l.kind, LineKind::Message { text, .. } if text == "hi robert")
        })
    });
    bob.end_chat("Leave");
    alice.until_shown("robert left. Messages written here now reach nobody");
    alice.until_shown("robert (away)");
}

#[test]
fn a_message_naming_you_is_highlighted_for_you_only() {
    let (mut alice, mut bob, mut carol) = three();
    bob.say("@carol look at this");
    carol.until_shown("bob: @carol look at this (mentions you)");
    alice.until_shown("bob: @carol look at this");
    assert!(
        alice
            .harness
            .query_by_label_contains("(mentions you)")
            .is_none()
    );
    bob.say("thanks alice!");
    alice.until_shown("bob: thanks alice! (mentions you)");
}

#[test]
fn tab_completes_a_nickname_in_the_input_box_and_tab_again_goes_to_the_next() {
    let (mut alice, _bob, _carol) = three();
    let input = alice.harness.get_by_role(Role::MultilineTextInput);
    input.focus();
    input.type_text("b");
    alice.harness.run_steps(1);
    alice.harness.key_press(egui::Key::Tab);
    alice.harness.run_steps(1);
    assert_eq!(alice.app().draft(), "bob: ");
    assert!(
        alice
            .harness
            .get_by_role(Role::MultilineTextInput)
            .is_focused(),
        "the box keeps the focus"
    );
    alice
        .harness
        .get_by_role(Role::MultilineTextInput)
        .type_text("hi @c");
    alice.harness.run_steps(1);
    alice.harness.key_press(egui::Key::Tab);
    alice.harness.run_steps(1);
    assert_eq!(alice.app().draft(), "bob: hi @carol ");
}

#[test]
fn an_unfocused_window_notifies_private_messages_and_mentions_and_a_click_opens_that_conversation()
{
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    alice.harness.input_mut().focused = false;
    alice.harness.run_steps(2);
    bob.say("a room message");
    bob.say("look, alice");
    click_label(&mut bob, "alice");
    bob.say("psst");
    alice.until("two notifications", |h| unread(h.state(), "bob") == 1);
    let shown = alice.notifications.taken();
    let summary: Vec<(&str, &str, Option<&str>)> = shown
        .iter()
        .map(|n| (n.title.as_str(), n.body.as_str(), n.conversation.nick()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("bob mentioned you in alice's room", "look, alice", None),
            ("bob (private)", "psst", Some("bob")),
        ]
    );
    // The person clicks the private one: the window shows bob's conversation.
    alice
        .app()
        .notify_events()
        .send(natter::notify::NotifyEvent::Clicked(
            ConversationKey::private("bob"),
        ))
        .unwrap();
    alice.until("bob's conversation is shown", |h| {
        h.state()
            .chat()
            .is_some_and(|c| *c.conversations.shown() == ConversationKey::private("bob"))
    });
    alice.until_shown("bob: psst");
}

#[test]
fn notifications_set_to_off_in_the_settings_menu_show_none_and_a_missing_service_is_explained() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    alice.click("Settings");
    alice
        .harness
        .get_by_role_and_label(Role::RadioButton, "Off")
        .click();
    alice.harness.run_steps(2);
    assert_eq!(
        alice.app().settings().notify,
        natter::notify::NotifyChoice::Off
    );
    alice.harness.input_mut().focused = false;
    alice.harness.run_steps(2);
    click_label(&mut bob, "alice");
    bob.say("psst");
    alice.until("the message arrived", |h| unread(h.state(), "bob") == 1);
    assert!(alice.notifications.taken().is_empty());
    // The notification side says why it cannot show anything: the menu tells the person.
    let why = "Desktop notifications are not available: no notification service answered";
    alice
        .app()
        .notify_events()
        .send(natter::notify::NotifyEvent::Unavailable(why.into()))
        .unwrap();
    alice.harness.input_mut().focused = true;
    alice.harness.run_steps(2);
    alice.click("Settings");
    alice.until_shown(why);
}

#[test]
fn with_private_conversations_save_offers_this_conversation_or_everything() {
    let folder = tempfile::tempdir().unwrap();
    let (mut alice, address) = Window::host("alice");
    {
        let app = alice.harness.state_mut();
        app.options_mut().save_dialog_possible = false;
        app.options_mut().save_fallback_dir = Some(folder.path().to_path_buf());
    }
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    bob.say("for the room");
    click_label(&mut bob, "alice");
    bob.say("for alice only");
    alice.until_shown("bob (1)");
    click_label(&mut alice, "bob (1)");
    // The first save, or (`second`) the one saved beside it as "… (2).txt".
    let read_saved = |folder: &std::path::Path, second: bool| {
        let path = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(" (2)") == second)
            .unwrap();
        std::fs::read_to_string(path).unwrap()
    };

    alice.click("Save chat log");
    alice.click("This conversation (bob)");
    alice.until_shown("so the chat log was saved to");
    let conversation = read_saved(folder.path(), false);
    assert!(
        conversation.contains("(private, bob) bob: for alice only"),
        "{conversation}"
    );
    assert!(!conversation.contains("for the room"), "{conversation}");

    alice.click("Save chat log");
    alice.click("Everything");
    alice.until("a second file", |_| {
        std::fs::read_dir(folder.path()).unwrap().count() == 2
    });
    let everything = read_saved(folder.path(), true);
    assert!(everything.contains("  bob: for the room"), "{everything}");
    assert!(
        everything.contains("(private, bob) bob: for alice only"),
        "{everything}"
    );
}
