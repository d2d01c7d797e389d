//! The chat window's commands (`/nick`, `/me`, `/who`, `/help`, `//`), renaming from the user
//! list, and the look: theme menu, Copy → Copied, the no-LAN-address hint. Real windows
//! (`NatterApp` through egui_kittest) hosting on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

/// Whether no widget in `window` has a label containing `text`.
fn no_label_contains(window: &Window, text: &str) -> bool {
    window.harness.query_by_label_contains(text).is_none()
}

#[test]
fn slash_nick_renames_and_the_member_lists_show_the_new_name() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    bob.say("/nick robert");
    bob.until_shown("You are now robert");
    bob.until("bob's member list shows robert", |h| {
        h.query_by_label("robert").is_some()
    });
    alice.until_shown("bob is now robert");
    alice.until("alice's member list shows robert", |h| {
        h.query_by_label("robert").is_some() && h.query_by_label("bob").is_none()
    });
}

#[test]
fn slash_me_shows_a_star_line_in_both_windows() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    alice.say("/me waves");
    bob.until_shown("* alice waves");
    alice.until_shown("* alice waves");
    assert!(no_label_contains(&bob, "/me"));
}

#[test]
fn an_unknown_command_is_answered_locally_and_not_sent() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    alice.say("/dance now");
    alice.until_shown("Unknown command /dance; /help lists them");
    alice.say("after the dance");
    bob.until_shown("alice: after the dance");
    assert!(no_label_contains(&bob, "dance now"), "nothing was sent");
    assert!(no_label_contains(&bob, "Unknown command"));
}

#[test]
fn double_slash_sends_a_line_that_starts_with_one_slash() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    alice.say("//text");
    bob.until_shown("alice: /text");
    assert!(no_label_contains(&bob, "//text"));
}

#[test]
fn who_and_help_are_answered_in_the_window() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    alice.say("/who");
    alice.until_shown("Online (2): alice, bob");
    alice.say("/help");
    alice.until_shown("/me TEXT");
    alice.say("sync");
    bob.until_shown("alice: sync");
    assert!(no_label_contains(&bob, "Online (2): alice, bob"));
}

/// How many widgets in `window` have a label containing `text`.
fn labels_containing(window: &Window, text: &str) -> usize {
    window.harness.query_all_by_label_contains(text).count()
}

#[test]
fn a_taken_name_is_announced_once_with_the_name_given() {
    let (mut alice, address) = Window::host("alice");
    let mut other = Window::join("alice", &address);
    other.until_shown("The name alice was taken; you are alice-2.");
    alice.until_shown("alice-2 joined");
    // A message each way after the join: a second announcement would have shown by then.
    alice.say("after the join");
    other.until_shown("alice: after the join");
    other.say("me too");
    alice.until_shown("alice-2: me too");
    assert_eq!(labels_containing(&other, "was taken; you are"), 1);
    assert_eq!(labels_containing(&alice, "alice-2 joined"), 1);
}

#[test]
fn the_settings_button_in_the_chat_switches_the_theme() {
    let (mut alice, _) = Window::host("alice");
    assert!(!(alice.harness.ctx.theme() == egui::Theme::Dark));
    alice.click("Settings");
    alice
        .harness
        .get_by_role_and_label(Role::RadioButton, "Dark")
        .click();
    alice.harness.run_steps(3);
    assert_eq!(
        alice.app().settings().theme,
        natter::settings::ThemeChoice::Dark
    );
    assert!(
        (alice.harness.ctx.theme() == egui::Theme::Dark),
        "the window is dark now"
    );
    assert!(alice.app().in_chat(), "still chatting");
}

#[test]
fn copy_says_copied_after_a_click_and_copy_again_seconds_later() {
    let (mut alice, address) = Window::host("alice");
    alice.until_shown(&address);
    alice.click("Copy");
    assert!(
        alice
            .harness
            .query_by_role_and_label(Role::Button, "Copied")
            .is_some()
    );
    assert!(
        alice
            .harness
            .query_by_role_and_label(Role::Button, "Copy")
            .is_none()
    );
    // Kittest's clock moves 1/60 s a step: three seconds later it says Copy again.
    alice.harness.run_steps(180);
    assert!(
        alice
            .harness
            .query_by_role_and_label(Role::Button, "Copy")
            .is_some()
    );
}

#[test]
fn a_host_without_a_private_lan_address_is_told_what_that_means_and_what_to_do() {
    use natter::network::interfaces::{AddressKind, LocalAddress};
    let (mut alice, _) = Window::host("alice");
    alice
        .harness
        .state_mut()
        .hosting_mut()
        .as_mut()
        .unwrap()
        .addresses = vec![LocalAddress {
        ip: std::net::Ipv4Addr::new(100, 64, 1, 2),
        interface: "wwan0".into(),
        kind: AddressKind::Other,
        prefix: 24,
        broadcast: None,
    }];
    alice.harness.run_steps(2);
    alice.until_shown("no private LAN address");
    alice.until_shown("connect this computer to the same Wi-Fi or wired network");
    alice.until_shown("100.64.1.2:");
}

#[test]
fn clicking_your_own_name_opens_a_focused_rename_box_that_renames_you() {
    let (mut alice, address) = Window::host("alice");
    let mut bob = Window::join("bob", &address);
    alice.until_shown("bob joined");
    bob.harness.get_by_label("bob").click();
    bob.harness.run_steps(2);
    assert!(
        bob.harness.get_by_label("New name").is_focused(),
        "the box has the keyboard focus"
    );
    bob.type_into("New name", "robert");
    bob.click("Rename");
    bob.until_shown("You are now robert");
    assert!(
        bob.harness.query_by_label("New name").is_none(),
        "the box closed"
    );
    alice.until("alice's member list shows robert", |h| {
        h.query_by_label("robert").is_some()
    });
}

#[test]
fn to_a_host_that_does_not_speak_natter_slash_lines_are_sent_as_typed() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (lines_tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        let mut stream = common::accept_skipping_tls(&listener);
        stream.write_all(b"Welcome to the tutorial chat\n").unwrap();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let _ = lines_tx.send(line);
        }
    });
    let mut window = Window::join("carol", &address);
    window.until_shown("Welcome to the tutorial chat");
    window.say("/nick dana");
    let wait = std::time::Duration::from_secs(5);
    let sent = std::iter::from_fn(|| lines.recv_timeout(wait).ok())
        .find(|line| !line.starts_with('{'))
        .expect("a line reached the host");
    assert_eq!(sent, "/nick dana");
}
