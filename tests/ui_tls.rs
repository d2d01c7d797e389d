//! Encryption as people see it (issue 11), driven through the real app with egui_kittest:
//! the host's code on its card is the code in a client's header, and a host whose identity
//! file was replaced stops the client at a warning with both codes that only an explicit
//! choice gets past.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use natter::network::no_wake_up;
use natter::network::server::{self, ServerConfig};
use natter::network::tls::Identity;

#[test]
fn the_host_code_on_the_hosting_card_is_the_code_in_a_clients_chat_header() {
    let (mut host, address) = Window::host("alice");
    let code = host.app().hosting().unwrap().fingerprint.code();
    host.until("the code is on the hosting card", |h| {
        h.query_by_label(&code).is_some()
    });
    let mut bob = Window::join("bob", &address);
    bob.until("the header shows the host's code", |h| {
        h.query_by_label(&code).is_some()
    });
    bob.until_shown("New host: compare this code with the host's screen");
    assert_eq!(
        bob.app()
            .settings()
            .known_hosts
            .get(&address)
            .map(|k| k.code()),
        Some(code),
        "the key is remembered for the address"
    );
}

#[test]
fn a_replaced_identity_file_shows_both_codes_and_connecting_needs_the_box_ticked() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("host-identity.pem");
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener.try_clone().unwrap();
    let (old, _) = Identity::load_or_create(&file).unwrap();
    let old_code = old.fingerprint().code();
    let config = |identity: Identity| ServerConfig {
        identity: Some(Arc::new(identity)),
        ..common::test_config()
    };
    let first = server::start(listener, config(old), no_wake_up()).unwrap();
    let address = first.local_addr().to_string();
    let mut bob = Window::join("bob", &address);
    bob.until_shown("New host: compare this code");

    first.stop();
    std::fs::remove_file(&file).unwrap();
    let (new, _) = Identity::load_or_create(&file).unwrap();
    let new_key = new.fingerprint();
    let _second = server::start(kept, config(new), no_wake_up()).unwrap();

    bob.until("the warning is up", |h| h.state().key_warning().is_some());
    bob.until_shown("this host's code has changed");
    assert!(
        bob.harness.query_by_label(&old_code).is_some(),
        "the trusted code"
    );
    assert!(
        bob.harness.query_by_label(&new_key.code()).is_some(),
        "the new code"
    );
    let anyway = bob
        .harness
        .get_by_role_and_label(Role::Button, "Connect anyway");
    assert!(
        anyway.accesskit_node().is_disabled(),
        "Connect anyway waits for the box"
    );
    anyway.click();
    bob.harness.run_steps(3);
    assert!(
        bob.app().key_warning().is_some(),
        "a click on the greyed button does nothing"
    );
    assert_ne!(
        bob.app().settings().known_hosts.get(&address),
        Some(&new_key),
        "nothing trusted yet"
    );

    bob.harness
        .get_by_label("I asked the person hosting: their window shows the new code")
        .click();
    bob.harness.run_steps(2);
    bob.click("Connect anyway");
    bob.until("connected again", |h| {
        h.state().key_warning().is_none() && h.query_by_label_contains("Online as bob").is_some()
    });
    assert_eq!(
        bob.app().settings().known_hosts.get(&address),
        Some(&new_key)
    );
}

#[test]
fn only_encrypted_connections_on_the_host_tab_turns_away_a_plain_peer() {
    let mut host = Window::new();
    host.harness
        .get_by_label("Only encrypted connections")
        .click();
    host.harness.run_steps(2);
    assert!(host.app().settings().require_encryption);
    host.start_hosting("alice");
    let port = host.app().hosting().unwrap().port;
    let mut plain = common::RawPeer::connect(format!("127.0.0.1:{port}").parse().unwrap());
    plain.send_raw(b"mallory\n");
    let text = plain.text_until_closed();
    assert!(text.contains("only encrypted connections"), "{text:?}");
    let address = format!("127.0.0.1:{port}");
    let mut bob = Window::join("bob", &address);
    bob.until_shown("Online as bob");
}

/// Issue 25 §2: a host that turns a pinned window away (too many connections from its address)
/// is shown as that, with Retry, and never as a host that stopped encrypting; Retry, once there
/// is room, joins with the code still trusted.
#[test]
fn a_pinned_host_refusing_for_too_many_connections_shows_the_reason_and_retry_not_a_key_warning() {
    let config = ServerConfig {
        max_per_address: 1,
        ..common::test_config()
    };
    let key = config.identity.as_ref().unwrap().fingerprint();
    let server = common::start_server(config);
    let address = server.local_addr().to_string();
    let (taken, _) = common::RawPeer::join(server.local_addr(), "a");

    let mut bob = Window::new();
    bob.open_tab("Connect");
    bob.harness
        .state_mut()
        .settings_mut()
        .known_hosts
        .insert(address.clone(), key);
    bob.type_into("Your nickname", "bob");
    bob.type_into("Host address", &address);
    bob.click("Connect");
    bob.until_shown("too many connections from your network; try again in a minute");
    assert!(bob.app().key_warning().is_none(), "no key warning");
    assert!(
        bob.harness
            .query_by_label_contains("no longer encrypts")
            .is_none()
            && bob
                .harness
                .query_by_label_contains("without encryption")
                .is_none(),
        "no word of a downgrade"
    );
    assert_eq!(bob.app().settings().known_hosts.get(&address), Some(&key));

    taken.vanish();
    common::recv_where(server.events(), "the taken place is free", |e| {
        matches!(e, server::ServerEvent::Left { .. }).then_some(())
    });
    // The host counts the closed connection out just after it tells of the leave: Retry
    // until it has (each refusal brings Retry back).
    for attempt in 1.. {
        assert!(attempt < 50, "still refused after {attempt} retries");
        bob.click("Retry");
        bob.until("joined, or refused again", |h| {
            h.query_by_label_contains("Online as bob").is_some()
                || (h.state().connect_retry() && !h.state().connecting())
        });
        if bob
            .harness
            .query_by_label_contains("Online as bob")
            .is_some()
        {
            break;
        }
    }
    assert!(bob.app().key_warning().is_none());
    assert_eq!(bob.app().settings().known_hosts.get(&address), Some(&key));
}
