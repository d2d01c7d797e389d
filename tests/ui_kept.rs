//! Issue 29, "nothing typed or read is lost" and "a room that ended lets go", driven through
//! the real app with egui_kittest against real servers on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::UdpSocket;
use std::sync::Arc;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use natter::chat_state::{ConversationKey, LinkState};
use natter::network::discovery::Reach;
use natter::network::no_wake_up;
use natter::network::server::{self, ServerConfig, ServerEvent, ServerHandle};
use natter::network::tls::Identity;

/// Bob in a room whose host then restarts with a new identity: Bob's window shows the key
/// warning. Returns Bob's window and the restarted server (kept running).
fn bob_at_a_key_warning() -> (Window, ServerHandle) {
    bob_at_a_key_warning_after(|_| {})
}

/// Like [`bob_at_a_key_warning`], with `before` done in Bob's chat before the restart.
fn bob_at_a_key_warning_after(before: impl FnOnce(&mut Window)) -> (Window, ServerHandle) {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener.try_clone().unwrap();
    let config = |identity: Identity| ServerConfig {
        identity: Some(Arc::new(identity)),
        ..common::test_config()
    };
    let first = server::start(
        listener,
        config(Identity::generate().unwrap()),
        no_wake_up(),
    )
    .unwrap();
    let address = first.local_addr().to_string();
    let mut bob = Window::join("bob", &address);
    bob.until_shown("New host: compare this code");
    before(&mut bob);
    first.stop();
    let second = server::start(kept, config(Identity::generate().unwrap()), no_wake_up()).unwrap();
    bob.until("the warning is up", |h| h.state().key_warning().is_some());
    (bob, second)
}

#[test]
fn text_typed_after_dont_connect_stays_in_the_box_and_the_chat_says_it_was_not_sent() {
    let (mut bob, _server) = bob_at_a_key_warning();
    bob.click("Don't connect");
    bob.until("back in the chat", |h| {
        h.state().key_warning().is_none() && h.state().in_chat()
    });
    bob.until_shown("Disconnected");
    bob.say("did you restart?");
    assert_eq!(bob.app().draft(), "did you restart?", "the text is kept");
    bob.until_shown("Not sent: Natter is not connected to the host");
    let input = bob.harness.get_by_role(Role::MultilineTextInput);
    assert_eq!(
        input.accesskit_node().value().as_deref(),
        Some("did you restart?"),
        "the box still shows it"
    );
}

/// Issue 29 §4: after the host's goodbye guests went on redialling ("attempt 20" after 45 s).
/// A goodbye that ends the room stops the client, the chat says so and offers Reconnect, which
/// joins again with the conversation kept.
#[test]
fn a_room_the_host_ended_is_not_redialled_and_reconnect_joins_again_keeping_the_chat() {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener.try_clone().unwrap();
    let config = common::test_config();
    let first = server::start(listener, config.clone(), no_wake_up()).unwrap();
    let address = first.local_addr().to_string();
    let mut bob = Window::join("bob", &address);
    bob.say("before the end");
    bob.until_shown("bob: before the end");

    first.end_room();
    bob.until_shown("this room has ended");
    assert!(
        matches!(bob.app().link_state(), Some(LinkState::Failed(_))),
        "{:?}",
        bob.app().link_state()
    );
    // The same host back on the same port: a redialling client would join by itself within
    // its first backoff (500 ms).
    let second = server::start(kept, config, no_wake_up()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut joined = None;
    while let Ok(event) = second
        .events()
        .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        if matches!(event, ServerEvent::Joined { .. }) {
            joined = Some(event);
            break;
        }
    }
    assert!(joined.is_none(), "bob redialled: {joined:?}");

    bob.click("Reconnect");
    bob.until_shown("Online as bob");
    assert_eq!(second.members(), ["bob"]);
    assert!(
        bob.harness
            .query_by_label_contains("bob: before the end")
            .is_some(),
        "the conversation is kept"
    );
}

/// Issue 29 §4, the rest: a room the host ended is joined again by itself once it is announced
/// again (discovery on loopback only).
#[test]
fn a_room_the_host_ended_is_joined_again_when_it_is_announced_again() {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener.try_clone().unwrap();
    let config = common::test_config();
    let first = server::start(listener, config.clone(), no_wake_up()).unwrap();
    let address = first.local_addr();
    let mut bob = Window::new();
    bob.harness.state_mut().options_mut().discovery = Some(Reach::Loopback {
        listen_port: 0,
        peers: vec![],
    });
    bob.open_tab("Connect");
    bob.type_into("Your nickname", "bob");
    bob.type_into("Host address", &address.to_string());
    bob.click("Connect");
    bob.until_shown("Online as bob");
    assert!(
        bob.app().finder_addr().is_none(),
        "no listening while in a live chat"
    );

    first.end_room();
    bob.until_shown("this room has ended");
    bob.until("the window listens for the room", |h| {
        h.state().finder_addr().is_some()
    });
    let finder_at = bob.app().finder_addr().unwrap();
    let second = server::start(kept, config, no_wake_up()).unwrap();
    let announcement = format!(
        r#"{{"natter":"room","version":1,"id":"00000000000000cc","room":"back","host":"alice","port":{},"people":0}}"#,
        address.port()
    );
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(announcement.as_bytes(), finder_at)
        .unwrap();
    bob.until_shown("Online as bob");
    assert_eq!(second.members(), ["bob"]);
    bob.until("the finder stopped", |h| h.state().finder_addr().is_none());
}

/// Issue 29 §1: Connect anyway used to start a new chat: only three new system lines were
/// left, the private tabs were gone, and the first said the new code "is the one you trusted
/// before".
#[test]
fn connect_anyway_keeps_the_conversation_and_marks_where_the_new_host_begins() {
    let (mut bob, _server) = bob_at_a_key_warning_after(|bob| {
        bob.say("before the restart");
        bob.until_shown("bob: before the restart");
        bob.harness
            .state_mut()
            .show_conversation(ConversationKey::private("zed"));
        bob.harness
            .state_mut()
            .show_conversation(ConversationKey::Room);
    });
    let new_code = bob.app().key_warning().unwrap().found.unwrap().code();
    bob.harness
        .get_by_label("I asked the person hosting: their window shows the new code")
        .click();
    bob.harness.run_steps(2);
    bob.click("Connect anyway");
    bob.until_shown("Online as bob");
    let log = bob.app().log_text();
    assert!(log.contains("bob: before the restart"), "{log}");
    assert!(
        log.contains(&format!(
            "From here on, a new host: you checked its new code {new_code}"
        )),
        "{log}"
    );
    assert!(!log.contains("is the one you trusted before"), "{log}");
    assert!(
        bob.app().chat().unwrap().conversations.has("zed"),
        "the private tab is kept"
    );
    assert!(
        bob.harness
            .query_by_label_contains("bob: before the restart")
            .is_some()
    );
}
