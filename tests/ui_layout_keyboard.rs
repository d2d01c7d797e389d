//! The window at every size and from the keyboard: top-bar buttons stay in view from 400 px,
//! focus starts where typing starts, Enter and Tab do what a person expects. Real windows
//! (`NatterApp` through egui_kittest) hosting on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use common::closed_port;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;

/// 24 characters each, the longest nicknames allowed.
const LONG_HOST_NICK: &str = "AlexandraKonstantinopoli";
const LONG_CLIENT_NICK: &str = "BartholomewFitzwilliamsX";

/// The rects of `buttons` lie inside the window and clear of the room title and status labels.
fn assert_top_bar_fits(window: &Window, width: f32, who: &str, buttons: &[&str]) {
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width, 640.0));
    let chat = window.app().chat.as_ref().unwrap();
    let title = window
        .harness
        .get_by_role_and_label(Role::Label, &chat.room)
        .rect();
    let status = window
        .harness
        .get_by_role_and_label(Role::Label, &format!("● Online as {}", chat.my_nick))
        .rect();
    assert!(
        title.width() > 0.0 && status.width() > 0.0,
        "{who} at {width}: labels shown"
    );
    for button in buttons {
        let rect = window
            .harness
            .get_by_role_and_label(Role::Button, button)
            .rect();
        assert!(
            screen.contains_rect(rect),
            "{who} at {width} px: {button:?} {rect:?} inside the window {screen:?}"
        );
        assert!(
            !rect.intersects(title) && !rect.intersects(status),
            "{who} at {width} px: {button:?} {rect:?} clear of title {title:?} and status {status:?}"
        );
    }
}

#[test]
fn top_bar_buttons_stay_inside_the_window_and_clear_of_title_and_status_at_400_640_900_px() {
    assert_eq!(LONG_HOST_NICK.chars().count(), 24);
    assert_eq!(LONG_CLIENT_NICK.chars().count(), 24);
    for width in [400.0, 640.0, 900.0] {
        let mut host = Window::sized(width, 640.0);
        host.start_hosting(LONG_HOST_NICK);
        let port = host.app().hosting.as_ref().unwrap().port;
        let mut client = Window::sized(width, 640.0);
        client.open_tab("Connect");
        client.type_into("Your nickname", LONG_CLIENT_NICK);
        client.type_into("Host address", &format!("127.0.0.1:{port}"));
        client.click("Connect");
        client.until_shown("Online (2)");
        host.until_shown("Online (2)");
        client.harness.run_steps(2);
        host.harness.run_steps(2);
        assert!(
            client.app().chat.as_ref().unwrap().room.chars().count() >= 30,
            "a long room name"
        );
        assert_top_bar_fits(
            &host,
            width,
            "host",
            &["Save chat log", "Stop hosting", "⚙"],
        );
        assert_top_bar_fits(&client, width, "client", &["Save chat log", "Leave", "⚙"]);
    }
}

#[test]
fn at_launch_the_nickname_field_has_the_keyboard_focus() {
    let mut window = Window::new();
    window.harness.run_steps(2);
    assert!(window.harness.get_by_label("Your nickname").is_focused());
}

#[test]
fn enter_in_the_host_tabs_nickname_or_port_field_starts_hosting() {
    for field in ["Your nickname", "Port"] {
        let mut window = Window::new();
        window.type_into("Port", "0");
        window.type_into("Your nickname", "alice");
        window.harness.get_by_label(field).focus();
        window.harness.run_steps(1);
        window.harness.key_press(egui::Key::Enter);
        window.until(&format!("Enter in {field:?} started hosting"), |h| {
            h.query_by_label_contains("Online (1)").is_some()
        });
        assert!(window.app().hosting.is_some());
    }
}

#[test]
fn in_the_chat_one_tab_press_from_no_focus_focuses_the_message_box() {
    let (mut alice, _address) = Window::host("alice");
    // Escape drops the focus the box gets when the chat opens.
    alice.harness.key_press(egui::Key::Escape);
    alice.harness.run_steps(2);
    assert!(
        !alice
            .harness
            .get_by_role(Role::MultilineTextInput)
            .is_focused()
    );
    alice.harness.key_press(egui::Key::Tab);
    alice.harness.run_steps(2);
    assert!(
        alice
            .harness
            .get_by_role(Role::MultilineTextInput)
            .is_focused(),
        "the message box is the first Tab stop"
    );
    assert!(
        !alice
            .harness
            .get_by_role_and_label(Role::Button, "Stop hosting")
            .is_focused()
    );
}

#[test]
fn the_nickname_field_does_not_take_a_25th_character() {
    let mut window = Window::new();
    window.type_into("Your nickname", &"x".repeat(25));
    assert_eq!(window.app().settings.nickname, "x".repeat(24));
    window.type_into("Your nickname", &"字".repeat(30));
    assert_eq!(window.app().settings.nickname, "字".repeat(24));
}

#[test]
fn a_nickname_error_shows_as_typed_and_disappears_once_fixed() {
    let mut window = Window::new();
    window.type_into("Your nickname", "server");
    assert!(
        window
            .harness
            .query_by_label_contains("is reserved")
            .is_some(),
        "shown while typing, before any button"
    );
    window.click("Start hosting");
    assert!(
        window.app().hosting.is_none(),
        "an invalid nick does not host"
    );
    assert!(
        window
            .harness
            .query_by_label_contains("is reserved")
            .is_some()
    );
    window.type_into("Your nickname", "dana");
    assert!(
        window
            .harness
            .query_by_label_contains("is reserved")
            .is_none(),
        "the stale error is gone"
    );
    // The same on the Connect tab, for a nickname with a forbidden first character.
    window.open_tab("Connect");
    window.type_into("Your nickname", "/dana");
    assert!(
        window
            .harness
            .query_by_label_contains("cannot start with")
            .is_some()
    );
    window.type_into("Your nickname", "dana");
    assert!(
        window
            .harness
            .query_by_label_contains("cannot start with")
            .is_none()
    );
}

#[test]
fn after_a_refused_connect_the_address_field_has_the_keyboard_focus() {
    let closed = closed_port();
    let mut window = Window::new();
    window.open_tab("Connect");
    window.type_into("Your nickname", "carol");
    window.type_into("Host address", &closed.addr.to_string());
    window.harness.key_press(egui::Key::Enter);
    window.until_shown("Nothing is listening at");
    window.harness.run_steps(2);
    assert!(window.harness.get_by_label("Host address").is_focused());
}
