//! The Connect tab's "Rooms on your network" and the host's "could not reach you" note, in the
//! real app driven through egui_kittest. Discovery on loopback only (`Reach::Loopback`).
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use common::app_window::Window;
use egui_kittest::kittest::Queryable;
use natter::network::discovery::{Finder, Pace, Reach};

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
        app.discovery = Some(Reach::Loopback {
            listen_port: 0,
            peers: vec![],
        });
        app.discovery_pace = pace;
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
    assert_eq!(bob.app().address_text, format!("127.0.0.1:{port}"));
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
    host.harness.state_mut().discovery = Some(Reach::Loopback {
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
    host.until_shown("Windows: Make this network Private");
    host.until_shown("macOS: System Settings");
    host.click("OK");
    host.until("the note is dismissed", |h| {
        h.query_by_label_contains("tried to join").is_none()
    });
}
