//! The Connect tab's "Rooms on your network" and the host's "could not reach you" note, in the
//! real app driven through egui_kittest. Discovery on loopback only (`Reach::Loopback`).
//! Issue 25: an announcement claiming a pinned room, or a key its host does not hold, never
//! takes a click on Join past the host-key warning.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use common::app_window::Window;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use natter::network::discovery::{Finder, Pace, Reach};
use natter::network::server::{ServerEvent, ServerHandle};
use natter::network::tls::Fingerprint;
use natter::ui::rooms::DIFFERS;

fn quick() -> Pace {
    Pace {
        steady: Duration::from_millis(300),
        min_gap: Duration::from_millis(50),
        dim_after: Duration::from_millis(700),
        fade_after: Duration::from_millis(1500),
    }
}

/// A window whose Connect tab looks for rooms on loopback, with its finder's address.
fn connect_window(pace: Pace) -> (Window, std::net::SocketAddr) {
    let mut window = Window::new();
    {
        let app = window.harness.state_mut();
        app.options_mut().discovery = Some(Reach::Loopback {
            listen_port: 0,
            peers: vec![],
        });
        app.options_mut().discovery_pace = pace;
    }
    window.open_tab("Connect");
    window.until("the finder runs", |h| h.state().finder_addr().is_some());
    let addr = window.app().finder_addr().unwrap();
    (window, addr)
}

#[test]
fn a_room_fed_to_the_connect_tab_is_listed_and_one_click_joins_it_with_the_typed_nickname() {
    let (_host, address) = Window::host("alice");
    let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
    let (mut bob, finder_at) = connect_window(Pace::default());
    bob.until_shown("Rooms on your network");
    bob.type_into("Your nickname", "bob");
    let feed = UdpSocket::bind("127.0.0.1:0").unwrap();
    let announcement = format!(
        r#"{{"natter":"room","version":1,"id":"00000000000000aa","room":"alice's room","host":"alice","port":{port},"people":1}}"#
    );
    feed.send_to(announcement.as_bytes(), finder_at).unwrap();
    bob.until_shown("alice's room");
    bob.until_shown(&format!("hosted by alice · 127.0.0.1:{port} · 1 person"));
    bob.click("Join");
    bob.until("bob is in the room", |h| h.state().in_chat());
    bob.until_shown("Online (2)");
    assert_eq!(bob.app().address_text(), format!("127.0.0.1:{port}"));
}

#[test]
fn a_room_that_stops_announcing_fades_then_leaves_the_list() {
    let (mut window, finder_at) = connect_window(quick());
    let feed = UdpSocket::bind("127.0.0.1:0").unwrap();
    feed.send_to(
        br#"{"natter":"room","version":1,"id":"00000000000000bb","room":"Lab 3","host":"dana","port":5050,"people":2}"#,
        finder_at,
    )
    .unwrap();
    window.until_shown("Lab 3");
    window.until_shown("not heard lately");
    window.until("the room left the list", |h| {
        h.query_by_label_contains("Lab 3").is_none()
    });
    window.until_shown("No rooms heard yet");
}

#[test]
fn a_hosting_window_announces_its_room_and_shows_the_could_not_reach_note_with_steps() {
    let (tx, woken) = crossbeam_channel::unbounded();
    let mut finder = Finder::start(
        Reach::Loopback {
            listen_port: 0,
            peers: vec![],
        },
        Pace::default(),
        Arc::new(move || {
            let _ = tx.send(());
        }),
    )
    .unwrap();
    let mut host = Window::new();
    host.harness.state_mut().options_mut().discovery = Some(Reach::Loopback {
        listen_port: 0,
        peers: vec![finder.local_addr().unwrap()],
    });
    host.start_hosting("alice");
    woken.recv_timeout(common::WAIT).expect("the room is heard");
    let room = finder.rooms().first().cloned().expect("one room");
    assert_eq!(room.room, "alice's room");
    assert_eq!(room.host, "alice");
    assert!(finder.tell_unreachable(room.addr));
    host.until_shown(&format!(
        "Someone at 127.0.0.1 tried to join but could not reach port {}: your firewall probably blocks it.",
        room.addr.port()
    ));
    host.until_shown(&format!("Linux: sudo ufw allow {}/tcp", room.addr.port()));
    host.until_shown("Windows: Allow Natter on private networks");
    host.until_shown("macOS: System Settings");
    host.click("OK");
    host.until("the note is dismissed", |h| {
        h.query_by_label_contains("tried to join").is_none()
    });
}

/// An announcement of "alice's room" with room `id`, TCP `port` on 127.0.0.1 and `key`, as a
/// host (or anyone on the network) sends it.
fn announcement(id: &str, port: u16, key: &Fingerprint) -> String {
    format!(
        r#"{{"natter":"room","version":1,"id":"{id}","room":"alice's room","host":"alice","port":{port},"people":1,"key":"{}"}}"#,
        key.to_text()
    )
}

/// Sends `datagrams` to the window's finder, as it runs now, from a socket of their own.
fn feed(window: &Window, datagrams: &[&str]) {
    let to = window.app().finder_addr().expect("the finder runs");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for datagram in datagrams {
        socket.send_to(datagram.as_bytes(), to).unwrap();
    }
}

/// Waits until the list holds `count` entries.
fn until_entries(window: &mut Window, count: usize) {
    window.until(&format!("{count} entries are listed"), |h| {
        h.state().rooms().len() == count
    });
}

/// Clicks the Join button of the entry at `addr` (the buttons are drawn in the list's order).
fn click_join_of(window: &mut Window, addr: SocketAddr) {
    let index = window
        .app()
        .rooms()
        .iter()
        .position(|r| r.addr == addr)
        .expect("the entry is listed");
    window
        .harness
        .query_all_by_role_and_label(Role::Button, "Join")
        .nth(index)
        .expect("the entry's Join button")
        .click();
    window.harness.run_steps(2);
}

/// Stops `server` and checks it heard nothing from anyone past the handshake: no join, no
/// message, no peer error (a client that stopped before sending).
fn assert_nothing_heard(server: ServerHandle) {
    let events = server.events().clone();
    server.stop();
    let heard: Vec<ServerEvent> = events
        .try_iter()
        .filter(|e| {
            matches!(
                e,
                ServerEvent::Joined { .. }
                    | ServerEvent::Message(_)
                    | ServerEvent::PeerError { .. }
            )
        })
        .collect();
    assert!(heard.is_empty(), "the host heard something: {heard:?}");
}

fn addr_of(address: &str) -> SocketAddr {
    address.parse().unwrap()
}

/// The host's key, from its window's card.
fn key_of(host: &Window) -> Fingerprint {
    host.app().hosting().unwrap().fingerprint
}

/// An impostor: a real Natter host with a key of its own on 127.0.0.1, and its key.
fn impostor() -> (ServerHandle, Fingerprint) {
    let config = common::test_config();
    let key = config.identity.as_ref().unwrap().fingerprint();
    (common::start_server(config), key)
}

const ROOM_ID: &str = "00000000000000aa";

#[test]
fn join_on_an_impostors_entry_for_a_host_pinned_by_typing_its_address_shows_the_changed_code_warning_and_sends_nothing()
 {
    let (alice, address) = Window::host("alice");
    let real_key = key_of(&alice);
    let (impostor, impostor_key) = impostor();
    let (mut bob, _) = connect_window(Pace::default());
    // Bob typed the real host's address once: its key is pinned for that address.
    bob.type_into("Your nickname", "bob");
    bob.type_into("Host address", &address);
    bob.click("Connect");
    bob.until_shown("New host: compare this code");
    bob.end_chat("Leave");
    bob.click("New chat");
    bob.until("the finder runs again", |h| {
        h.state().finder_addr().is_some()
    });
    // The real room and an impostor claiming its id, at its own address with its own key.
    let real_port = addr_of(&address).port();
    let fake_port = impostor.local_addr().port();
    feed(
        &bob,
        &[
            &announcement(ROOM_ID, real_port, &real_key),
            &announcement(ROOM_ID, fake_port, &impostor_key),
        ],
    );
    until_entries(&mut bob, 2);
    click_join_of(&mut bob, impostor.local_addr());
    bob.until("the warning is up", |h| h.state().key_warning().is_some());
    bob.until_shown("this host's code has changed");
    assert!(bob.harness.query_by_label(&real_key.code()).is_some());
    assert!(bob.harness.query_by_label(&impostor_key.code()).is_some());
    assert!(!bob.app().in_chat());
    let fake_address = impostor.local_addr().to_string();
    assert_nothing_heard(impostor);
    assert_eq!(bob.app().settings().pinned_address(&fake_address), None);
}

#[test]
fn dont_connect_then_join_on_the_impostors_entry_again_still_warns_and_keeps_the_pins() {
    let (alice, address) = Window::host("alice");
    let real_key = key_of(&alice);
    let real_port = addr_of(&address).port();
    let (impostor, impostor_key) = impostor();
    let fake_port = impostor.local_addr().port();
    let fake_address = impostor.local_addr().to_string();
    let (mut bob, _) = connect_window(Pace::default());
    bob.type_into("Your nickname", "bob");
    // Bob joins the real room from the list: its key is pinned for the room and the address.
    feed(&bob, &[&announcement(ROOM_ID, real_port, &real_key)]);
    until_entries(&mut bob, 1);
    click_join_of(&mut bob, addr_of(&address));
    bob.until_shown("New host: compare this code");
    bob.end_chat("Leave");
    bob.click("New chat");
    bob.until("the finder runs again", |h| {
        h.state().finder_addr().is_some()
    });
    for round in 0..2 {
        // Announced again each round, as hosts do, so no entry fades on a slow machine.
        feed(
            &bob,
            &[
                &announcement(ROOM_ID, real_port, &real_key),
                &announcement(ROOM_ID, fake_port, &impostor_key),
            ],
        );
        until_entries(&mut bob, 2);
        click_join_of(&mut bob, impostor.local_addr());
        bob.until(&format!("warning {round} is up"), |h| {
            h.state().key_warning().is_some()
        });
        bob.until_shown("this host's code has changed");
        bob.click("Don't connect");
        bob.until("back on the Connect tab", |h| {
            h.state().key_warning().is_none() && h.query_by_label("Rooms on your network").is_some()
        });
        let settings = bob.app().settings();
        assert_eq!(
            settings.pinned_room(ROOM_ID),
            Some(real_key),
            "round {round}"
        );
        assert_eq!(settings.pinned_address(&address), Some(real_key));
        assert_eq!(settings.pinned_address(&fake_address), None);
    }
    assert_nothing_heard(impostor);
}

#[test]
fn an_entry_announcing_another_code_than_the_one_trusted_is_marked_in_words_and_the_real_one_is_not()
 {
    let (alice, address) = Window::host("alice");
    let real_key = key_of(&alice);
    let real_port = addr_of(&address).port();
    let (_impostor, impostor_key) = impostor();
    let (mut bob, _) = connect_window(Pace::default());
    bob.harness
        .state_mut()
        .settings_mut()
        .pin_address(&address, real_key);
    // The real room, and one claiming the same address with another key.
    feed(
        &bob,
        &[
            &announcement(ROOM_ID, real_port, &real_key),
            &announcement("00000000000000bb", real_port, &impostor_key),
        ],
    );
    until_entries(&mut bob, 2);
    bob.until_shown(DIFFERS);
    assert_eq!(
        bob.harness.query_all_by_label_contains(DIFFERS).count(),
        1,
        "only the entry with the other code is marked"
    );
}

#[test]
fn a_room_announcing_a_code_its_host_does_not_hold_gets_a_warning_and_the_host_is_sent_nothing() {
    let (host, host_key) = impostor();
    let made_up =
        Fingerprint::from_text(&format!("sha256:{}", "5a".repeat(32))).expect("a fingerprint");
    let (mut bob, _) = connect_window(Pace::default());
    bob.type_into("Your nickname", "bob");
    feed(
        &bob,
        &[&announcement(ROOM_ID, host.local_addr().port(), &made_up)],
    );
    until_entries(&mut bob, 1);
    click_join_of(&mut bob, host.local_addr());
    bob.until("the warning is up", |h| h.state().key_warning().is_some());
    bob.until_shown("this host's code is not the one its room announced");
    assert!(bob.harness.query_by_label(&made_up.code()).is_some());
    assert!(bob.harness.query_by_label(&host_key.code()).is_some());
    assert!(
        bob.harness
            .query_by_label_contains("New host: compare this code")
            .is_none()
    );
    let address = host.local_addr().to_string();
    assert_eq!(bob.app().settings().pinned_address(&address), None);
    assert_eq!(bob.app().settings().pinned_room(ROOM_ID), None);
    assert_nothing_heard(host);
}

#[test]
fn connect_anyway_after_the_announced_code_warning_joins_and_trusts_the_proven_code_for_the_address_and_the_room()
 {
    let (alice, address) = Window::host("alice");
    let real_key = key_of(&alice);
    let made_up =
        Fingerprint::from_text(&format!("sha256:{}", "5a".repeat(32))).expect("a fingerprint");
    let (mut bob, _) = connect_window(Pace::default());
    bob.type_into("Your nickname", "bob");
    feed(
        &bob,
        &[&announcement(ROOM_ID, addr_of(&address).port(), &made_up)],
    );
    until_entries(&mut bob, 1);
    click_join_of(&mut bob, addr_of(&address));
    bob.until_shown("this host's code is not the one its room announced");
    bob.harness
        .get_by_label("I asked the person hosting: their window shows the code the host shows now")
        .click();
    bob.harness.run_steps(2);
    bob.click("Connect anyway");
    bob.until_shown("Online as bob");
    let settings = bob.app().settings();
    assert_eq!(settings.pinned_address(&address), Some(real_key));
    assert_eq!(settings.pinned_room(ROOM_ID), Some(real_key));
}

#[test]
fn connect_anyway_on_a_changed_code_from_the_list_replaces_the_rooms_pin_and_pins_the_new_address()
{
    let (impostor, impostor_key) = impostor();
    let address = impostor.local_addr().to_string();
    let old_key =
        Fingerprint::from_text(&format!("sha256:{}", "a5".repeat(32))).expect("a fingerprint");
    let (mut bob, _) = connect_window(Pace::default());
    bob.harness
        .state_mut()
        .settings_mut()
        .pin_room(ROOM_ID, old_key);
    bob.type_into("Your nickname", "bob");
    feed(
        &bob,
        &[&announcement(
            ROOM_ID,
            impostor.local_addr().port(),
            &impostor_key,
        )],
    );
    until_entries(&mut bob, 1);
    bob.until_shown(DIFFERS);
    click_join_of(&mut bob, impostor.local_addr());
    bob.until_shown("this host's code has changed");
    assert_eq!(bob.app().settings().pinned_room(ROOM_ID), Some(old_key));
    bob.harness
        .get_by_label("I asked the person hosting: their window shows the new code")
        .click();
    bob.harness.run_steps(2);
    bob.click("Connect anyway");
    bob.until_shown("Online as bob");
    let settings = bob.app().settings();
    assert_eq!(settings.pinned_room(ROOM_ID), Some(impostor_key));
    assert_eq!(settings.pinned_address(&address), Some(impostor_key));
}
