//! Issue 29, "a screen reader hears it all": the window as AccessKit describes it to assistive
//! technology (what eframe hands AT-SPI), read through egui_kittest from the real app.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::{By, NodeT, Queryable};

/// Alice hosting with Bob in the room and a message from each.
fn a_room_with_two() -> (Window, Window) {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    bob.say("hello from bob");
    alice.until_shown("bob: hello from bob");
    alice.say("hi bob");
    alice.until_shown("alice: hi bob");
    alice.harness.run_steps(2);
    (alice, bob)
}

#[test]
fn the_window_is_named_after_natter_and_the_room() {
    let (alice, _bob) = a_room_with_two();
    let root = alice.harness.root();
    let name = root.accesskit_node().label();
    assert_eq!(root.accesskit_node().role(), Role::Window);
    assert_eq!(name.as_deref(), Some(alice.app().window_title().as_str()));
    assert!(name.unwrap().starts_with("Natter"));
}

#[test]
fn the_message_box_and_the_settings_button_have_names_in_words() {
    let (alice, _bob) = a_room_with_two();
    alice
        .harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message to the room");
    alice
        .harness
        .get_by_role_and_label(Role::Button, "Settings");
    assert!(
        alice.harness.query_by_label("⚙").is_none(),
        "no control is named by its gear"
    );
}

#[test]
fn no_chat_line_carries_an_unnamed_node_of_unknown_role() {
    let (alice, _bob) = a_room_with_two();
    let unnamed: Vec<String> = alice
        .harness
        .query_all(By::new().role(Role::Unknown))
        .filter(|node| {
            node.accesskit_node()
                .label()
                .is_none_or(|l| l.trim().is_empty())
        })
        .map(|node| format!("{:?}", node.accesskit_node().bounding_box()))
        .collect();
    assert!(unnamed.is_empty(), "unnamed unknown nodes: {unnamed:#?}");
    // Each line is one named node, time, name and text together.
    alice.harness.get_by_label_contains("bob: hello from bob");
}

#[test]
fn the_people_in_the_room_are_a_list_with_an_item_each() {
    let (alice, _bob) = a_room_with_two();
    let list = alice
        .harness
        .get_by_role_and_label(Role::List, "People in the room");
    let mut people: Vec<String> = list
        .query_all_by_role(Role::ListItem)
        .filter_map(|item| item.accesskit_node().label())
        .map(|l| l.to_string())
        .collect();
    people.sort();
    assert_eq!(people, ["alice", "bob"]);
}

#[test]
fn the_messages_are_a_log_announced_politely_that_holds_each_line() {
    let (alice, _bob) = a_room_with_two();
    let log = alice.harness.get_by_role_and_label(Role::Log, "Messages");
    assert_eq!(
        log.accesskit_node().live(),
        egui::accesskit::Live::Polite,
        "new lines are announced without interrupting"
    );
    log.get_by_label_contains("bob: hello from bob");
}
