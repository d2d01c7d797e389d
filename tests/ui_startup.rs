//! The window as the command line starts it (`app::Startup`): `natter --host`, the desktop
//! entry's "Host a room", hosts at once with the nickname remembered from last time.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;
use egui_kittest::kittest::Queryable;
use natter::app::Startup;

#[test]
fn host_without_a_nickname_hosts_at_once_as_the_remembered_nickname() {
    let mut window = Window::new();
    // As loaded from the settings of the last run.
    window.harness.state_mut().settings_mut().nickname = "dana".into();
    window.harness.state_mut().start(Startup::Host {
        nick: None,
        port: Some(0),
    });
    window.until("the host is in its own room", |h| {
        h.query_by_label_contains("Online (1)").is_some()
    });
    let app = window.app();
    assert!(app.hosting().is_some(), "not hosting");
    assert_eq!(app.chat().map(|chat| chat.my_nick.as_str()), Some("dana"));
}

#[test]
fn host_with_a_nickname_hosts_as_that_nickname_and_remembers_it() {
    let mut window = Window::new();
    window.harness.state_mut().settings_mut().nickname = "dana".into();
    window.harness.state_mut().start(Startup::Host {
        nick: Some("eli".into()),
        port: Some(0),
    });
    window.until("the host is in its own room", |h| {
        h.query_by_label_contains("Online (1)").is_some()
    });
    let app = window.app();
    assert_eq!(app.chat().map(|chat| chat.my_nick.as_str()), Some("eli"));
    assert_eq!(app.settings().nickname, "eli");
}
