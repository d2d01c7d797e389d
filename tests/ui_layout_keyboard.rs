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
    let chat = window.app().chat().unwrap();
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
        let port = host.app().hosting().unwrap().port;
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
            client.app().chat().unwrap().room.chars().count() >= 30,
            "a long room name"
        );
        assert_top_bar_fits(
            &host,
            width,
            "host",
            &["Save chat log", "Stop hosting", "Settings"],
        );
        assert_top_bar_fits(
            &client,
            width,
            "client",
            &["Save chat log", "Leave", "Settings"],
        );
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
        assert!(window.app().hosting().is_some());
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
    assert_eq!(window.app().settings().nickname, "x".repeat(24));
    window.type_into("Your nickname", &"字".repeat(30));
    assert_eq!(window.app().settings().nickname, "字".repeat(24));
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
        window.app().hosting().is_none(),
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

/// Issue 29 §12: the Connect tab chosen with Enter kept the focus, so typing went nowhere.
#[test]
fn choosing_the_connect_tab_with_enter_puts_typing_into_the_host_address() {
    let mut window = Window::new();
    window.type_into("Your nickname", "dana");
    window
        .harness
        .get_by_role_and_label(Role::Tab, "Connect")
        .focus();
    window.harness.run_steps(1);
    window.harness.key_press(egui::Key::Enter);
    window.harness.run_steps(2);
    assert_eq!(window.app().tab(), natter::app::Tab::Connect);
    let before = window.app().address_text().to_string();
    // Typed as a person types: into whatever has the focus.
    window.harness.event(egui::Event::Text("10.0.0.5".into()));
    window.harness.run_steps(2);
    assert_eq!(
        window.app().address_text(),
        format!("{before}10.0.0.5"),
        "typing went into the host address"
    );
    assert_eq!(
        window.app().settings().nickname,
        "dana",
        "not into the nickname"
    );
}

/// Issue 29 §6: with two 24-character names at 420×640 message text was squeezed into a column
/// one to three letters wide, and a Hebrew line overlapped the name. The text gets a readable
/// width: under the time and name when they take too much of the row.
#[test]
fn at_420_px_with_long_names_message_text_keeps_a_readable_width() {
    let mut host = Window::sized(420.0, 640.0);
    host.start_hosting(LONG_HOST_NICK);
    let port = host.app().hosting().unwrap().port;
    let mut client = Window::sized(420.0, 640.0);
    client.open_tab("Connect");
    client.type_into("Your nickname", LONG_CLIENT_NICK);
    client.type_into("Host address", &format!("127.0.0.1:{port}"));
    client.click("Connect");
    client.until_shown("Online (2)");
    let latin = "shall we meet at the station at noon tomorrow?";
    let hebrew = "נפגש בתחנה מחר בצהריים";
    client.say(latin);
    client.say(hebrew);
    host.until_shown(hebrew);
    host.harness.run_steps(2);
    let latin_row = host.harness.get_by_label_contains(latin).rect();
    assert!(
        latin_row.width() >= 150.0,
        "the text is {} px wide: {latin_row:?}",
        latin_row.width()
    );
    let hebrew_row = host.harness.get_by_label_contains(hebrew).rect();
    let line = 18.0;
    assert!(
        hebrew_row.height() <= 4.0 * line,
        "a short Hebrew line takes {} px of height: {hebrew_row:?}",
        hebrew_row.height()
    );
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(420.0, 640.0));
    assert!(screen.contains_rect(latin_row) && screen.contains_rect(hebrew_row));
}

/// Issue 29 §7: at 420 px the host card's code line ran past the window's edge.
#[test]
fn at_420_px_the_host_card_stays_inside_the_window() {
    let mut host = Window::sized(420.0, 640.0);
    host.start_hosting("alice");
    host.harness.run_steps(2);
    let code = host.app().hosting().unwrap().fingerprint.code();
    let hint = "people who connect see the same code: read it to them";
    for label in [code.as_str(), hint] {
        let rect = host.harness.get_by_label(label).rect();
        assert!(
            rect.right() <= 420.0 && rect.left() >= 0.0,
            "{label:?} at {rect:?} runs past 420 px"
        );
    }
}
