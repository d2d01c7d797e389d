//! The real window (`NatterApp`) driven through egui_kittest: find widgets by label, click,
//! type, and assert on what is shown. Hosts listen on 127.0.0.1 with port 0. (Text as typed,
//! laid out and wrapped: tests/ui_text.rs.)
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use common::{CuttableProxy, closed_port};
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::app::Tab;

#[test]
fn hosting_lists_an_address_and_a_second_window_joins_and_chats() {
    let (mut alice, address) = Window::host("alice");
    // The address others type, with a copy button.
    alice.until_shown(&address);
    assert!(alice.harness.query_by_label("Copy").is_some());
    assert!(alice.harness.query_by_label("Stop hosting").is_some());

    let mut bob = Window::join("bob", &address);
    bob.until_shown("Online (2)");
    alice.until_shown("Online (2)");
    alice.until_shown("bob joined");
    alice.until_shown("2 people in the room");

    bob.say("hello from bob");
    alice.until_shown("bob: hello from bob");
    bob.until_shown("bob: hello from bob");

    alice.say("hi bob\nsecond line");
    bob.until_shown("alice: hi bob\nsecond line");

    // Leave (confirmed: alice is there): bob's chat stays, ended; New chat returns to the tabs;
    // alice sees him go.
    bob.end_chat("Leave");
    bob.until_shown("You left the chat.");
    bob.click("New chat");
    bob.until("the tabs are back", |h| !h.state().in_chat());
    assert!(
        bob.harness
            .query_by_role_and_label(Role::Tab, "Connect")
            .is_some()
    );
    alice.until_shown("bob left");
    alice.until_shown("Online (1)");
}

#[test]
fn a_refused_connection_shows_its_error_in_the_window() {
    let closed = closed_port();
    let mut window = Window::new();
    window.open_tab("Connect");
    window.type_into("Your nickname", "carol");
    window.type_into("Host address", &closed.addr.to_string());
    window.harness.key_press(egui::Key::Enter);
    window.until_shown("Nothing is listening at");
    assert!(!window.app().in_chat());
    assert_eq!(window.app().tab(), Tab::Connect);
}

#[test]
fn a_bad_address_or_nickname_is_explained_before_dialing() {
    let mut window = Window::new();
    window.open_tab("Connect");
    window.type_into("Your nickname", "server");
    window.type_into("Host address", "10.0.0.1");
    window.click("Connect");
    window.until_shown("is reserved");
    window.type_into("Your nickname", "dana");
    window.type_into("Host address", "10.0.0.1:port");
    window.click("Connect");
    window.until_shown("must be a number from 1 to 65535");
    assert!(window.app().chat().is_none(), "nothing was dialed");
}

#[test]
fn a_taken_port_is_explained_and_any_free_port_offered() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut window = Window::new();
    window.type_into("Your nickname", "alice");
    window.type_into("Port", &taken.local_addr().unwrap().port().to_string());
    window.click("Start hosting");
    window.until_shown("Another program already uses port");
    window.click("Use any free port");
    window.until("hosting started on another port", |h| {
        h.query_by_label_contains("Online (1)").is_some()
    });
    assert_ne!(
        window.app().hosting().unwrap().port,
        taken.local_addr().unwrap().port()
    );
}

#[test]
fn save_chat_log_writes_what_the_chat_shows() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    bob.say("שלום and 你好");
    alice.until_shown("bob: שלום and 你好");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.txt");
    alice.harness.state_mut().save_log_to(path.clone());
    alice.until_shown("Chat log saved to");
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(log.contains("  * bob joined\n"), "{log}");
    let line = log.lines().find(|l| l.contains("bob: ")).unwrap();
    // YYYY-MM-DD HH:MM:SS  bob: text
    assert_eq!(&line[4..5], "-");
    assert_eq!(&line[13..14], ":");
    assert!(line.ends_with("  bob: שלום and 你好"), "{line}");
}

#[test]
fn a_dropped_link_reconnects_and_unconfirmed_messages_are_delivered() {
    let (mut alice, address) = Window::host("alice");
    let proxy = CuttableProxy::start(address.parse().unwrap());
    let mut bob = Window::join("bob", &proxy.addr.to_string());
    alice.until_shown("bob joined");

    proxy.cut();
    bob.until_shown("Reconnecting…");
    bob.say("typed while offline");
    // Shown at once, marked as waiting; then delivered after the reconnect.
    bob.until_shown("typed while offline  (sending…)");
    bob.until_shown("Reconnected.");
    alice.until_shown("bob: typed while offline");
    bob.until("the pending mark is gone", |h| {
        h.query_by_label_contains("(sending…)").is_none()
            && h.query_by_label_contains("bob: typed while offline")
                .is_some()
    });
}

#[test]
fn an_unfocused_window_counts_unread_messages_in_its_title() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    // Alice's window loses focus, then bob writes twice.
    alice.harness.input_mut().focused = false;
    alice.harness.run_steps(2);
    bob.say("one");
    bob.say("two");
    alice.until("two unread", |h| h.state().unread() == 2);
    assert!(alice.app().window_title().starts_with("(2) Natter"));
    alice.harness.input_mut().focused = true;
    alice.until("read", |h| h.state().unread() == 0);
    assert!(alice.app().window_title().starts_with("Natter"));
}

#[test]
fn cancel_stops_a_connection_attempt() {
    // A listener that accepts but never answers keeps the client in its handshake.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let mut window = Window::new();
    window.open_tab("Connect");
    window.type_into("Your nickname", "dana");
    window.type_into("Host address", &address);
    window.click("Connect");
    window.until_shown("Connecting to");
    window.click("Cancel");
    assert!(window.app().chat().is_none());
    assert!(
        window
            .harness
            .query_by_role_and_label(Role::Button, "Connect")
            .is_some()
    );
    drop(listener);
}

/// Scrolled up, new messages do not yank the view down; a button offers to jump instead.
#[test]
fn scrolled_up_the_view_stays_and_offers_a_jump_to_new_messages() {
    use chrono::Local;
    use natter::chat_state::{ChatLine, ChatState, LineKind};

    let mut window = Window::new();
    let mut chat = ChatState::new("me");
    chat.ever_connected = true;
    for i in 0..300 {
        chat.lines.push(ChatLine::new(
            Local::now(),
            LineKind::System(format!("line {i}")),
        ));
    }
    window.harness.state_mut().set_chat(chat);
    window.harness.run_steps(4);
    assert!(
        window.harness.query_by_label_contains("line 299").is_some(),
        "starts at the bottom"
    );

    // Scroll up a long way, then a message arrives.
    window.harness.get_by_label_contains("line 299").hover();
    for _ in 0..10 {
        window.harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Page,
            delta: egui::vec2(0.0, 1.0),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        });
        window.harness.run_steps(1);
    }
    assert!(
        window.harness.query_by_label_contains("line 299").is_none(),
        "scrolled away from the end"
    );
    let chat = window.harness.state_mut().chat_mut().unwrap();
    chat.system("a new line");
    window.harness.run_steps(3);
    assert!(
        window
            .harness
            .query_by_label_contains("a new line")
            .is_none(),
        "the view did not jump"
    );
    window.click("Jump to new messages");
    window.harness.run_steps(4);
    assert!(
        window
            .harness
            .query_by_label_contains("a new line")
            .is_some(),
        "now at the end"
    );
    assert!(
        window
            .harness
            .query_by_label("Jump to new messages")
            .is_none()
    );
}

/// Issue 17: while the link is down the status line says so with the attempt and a
/// **Retry now** button, the user list is greyed as last seen, and clicking the button
/// dials at once instead of after the (here 60 s) wait.
#[test]
fn retry_now_appears_while_reconnecting_and_clicking_it_dials_at_once() {
    // A host that stops without ending the room (as `natter serve` does): guests redial. The
    // window's own Stop hosting ends the room instead (tests/ui_kept.rs).
    let server = common::start_server(common::test_config());
    let address = server.local_addr().to_string();
    let mut bob = Window::new();
    bob.harness.state_mut().options_mut().reconnect_backoff = (
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(60),
    );
    bob.open_tab("Connect");
    bob.type_into("Your nickname", "bob");
    bob.type_into("Host address", &address);
    bob.click("Connect");
    bob.until_shown("Online (1)");
    assert!(bob.harness.query_by_label("Retry now").is_none());

    server.stop();
    bob.until_shown("attempt 1, next try in");
    bob.until_shown("Last seen (");
    assert!(bob.harness.query_by_label_contains("(link down)").is_some());
    let lines_before = bob.app().chat().map_or(0, |c| c.lines.len());

    bob.click("Retry now");
    // Attempt 1 fails at once (nobody listens now): attempt 2 is announced long before 60 s.
    bob.until_shown("attempt 2, next try in");
    let lines_after = bob.app().chat().map_or(0, |c| c.lines.len());
    assert_eq!(
        lines_before, lines_after,
        "a failed retry adds no chat line"
    );
}

#[test]
fn stop_hosting_with_a_member_asks_first_cancel_keeps_hosting_and_confirming_keeps_the_chat_saveable()
 {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    bob.say("hello from bob");
    alice.until_shown("bob: hello from bob");

    alice.click("Stop hosting");
    alice.until_shown("Stop hosting?");
    assert!(alice.app().hosting().is_some(), "nothing stopped yet");
    alice.click("Cancel");
    assert!(alice.harness.query_by_label("Stop hosting?").is_none());
    assert!(alice.app().hosting().is_some(), "Cancel keeps hosting");
    assert!(!alice.app().chat_ended());

    alice.click("Stop hosting");
    alice.until_shown("Stop hosting?");
    alice.click("Stop hosting");
    alice.until("the chat has ended", |h| h.state().chat_ended());
    assert!(alice.app().hosting().is_none(), "hosting stopped");
    bob.until_shown("this room has ended");
    // The conversation is still shown, marked as ended, and can still be saved.
    alice.until_shown("You stopped hosting.");
    assert!(
        alice
            .harness
            .query_by_label_contains("bob: hello from bob")
            .is_some()
    );
    assert!(
        alice
            .harness
            .query_by_label_contains("● Chat ended")
            .is_some()
    );
    assert!(
        alice
            .harness
            .query_by_role(Role::MultilineTextInput)
            .is_none(),
        "nothing can be sent any more"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.txt");
    alice.harness.state_mut().save_log_to(path.clone());
    alice.until_shown("Chat log saved to");
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(log.contains("  bob: hello from bob\n"), "{log}");
    assert!(log.contains("You stopped hosting."), "{log}");
    assert!(
        alice
            .harness
            .query_by_role_and_label(Role::Button, "Save chat log")
            .is_some()
    );

    // Starting something new: New chat returns to the tabs.
    alice.click("New chat");
    alice.until("the tabs are back", |h| !h.state().in_chat());
    assert!(alice.app().chat().is_none());
}

#[test]
fn alone_in_the_room_stop_hosting_ends_at_once_without_asking() {
    let (mut alice, _address) = Window::host("alice");
    alice.say("note to self");
    alice.until_shown("alice: note to self");
    alice.click("Stop hosting");
    assert!(
        alice.harness.query_by_label("Stop hosting?").is_none(),
        "no confirmation when nobody else is there"
    );
    alice.until("the chat has ended", |h| h.state().chat_ended());
    alice.until_shown("You stopped hosting.");
    assert!(alice.app().log_text().contains("alice: note to self"));
    assert!(alice.app().in_chat(), "the conversation is still shown");
}

#[test]
fn a_late_joiner_sees_history_after_an_earlier_messages_line_and_before_connected() {
    let (mut alice, address) = Window::host("alice");
    alice.say("said before bob came");
    alice.until_shown("alice: said before bob came");
    let mut bob = Window::join("bob", &address);
    bob.until_shown("Connected to alice's room as bob.");
    let log = bob.app().log_text();
    let at = |text: &str| {
        log.find(text)
            .unwrap_or_else(|| panic!("{text:?} in the log: {log}"))
    };
    assert!(
        at("Earlier messages (before you joined):") < at("alice: said before bob came"),
        "{log}"
    );
    assert!(
        at("alice: said before bob came") < at("Connected to alice's room as bob."),
        "{log}"
    );
}
