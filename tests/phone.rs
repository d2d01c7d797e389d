//! Finding the room's page (PROTOCOL.md §14): the hosting window, `natter serve` and an `nc`
//! user's greeting all give the address a phone opens, the window and serve with a QR code of
//! it. All traffic is on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::net::Ipv4Addr;

use common::app_window::Window;
use common::{RawPeer, ServeProcess};
use egui_kittest::kittest::Queryable;
use natter::network::interfaces::{AddressKind, LocalAddress};

#[test]
fn the_hosting_window_shows_the_page_at_its_lan_address_with_a_qr_code_and_not_at_loopback() {
    let (mut window, address) = Window::host("alice");
    // Hosting on 127.0.0.1 (as tests do): no phone can open that, so no phone line.
    window.until_shown(&address);
    assert!(
        (window.harness)
            .query_by_label_contains("On a phone or any browser")
            .is_none()
    );
    // The card as on a computer in a classroom's Wi-Fi (only shown: nothing is sent there).
    let port = window.app().hosting().unwrap().port;
    let hosting = window.harness.state_mut().hosting_mut().unwrap();
    hosting.addresses.push(LocalAddress {
        ip: Ipv4Addr::new(192, 168, 1, 20),
        interface: "wlan0".into(),
        kind: AddressKind::Lan,
        prefix: 24,
        broadcast: None,
    });
    let url = format!("http://192.168.1.20:{port}/");
    window.until("the page's address is shown", |h| {
        h.query_by_label(&url).is_some()
    });
    window.until_shown("On a phone or any browser: open");
    window.until_shown(&format!("QR code of {url}"));
}

#[test]
fn serve_prints_the_page_address_then_a_qr_code_of_half_blocks() {
    // What serve printed before it said where it listens.
    let serve = ServeProcess::start(&[]);
    let url = format!("http://{}/", serve.addr);
    let printed: Vec<String> = (serve.printed.iter())
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .collect();
    let at = (printed.iter())
        .position(|l| l.starts_with("On a phone or any browser: open"))
        .unwrap_or_else(|| panic!("{printed:?}"));
    assert!(printed[at].contains(&url), "{}", printed[at]);
    // The code follows: 25 modules and a quiet zone of 4 each side, two rows a line.
    let code: Vec<&String> = printed[at + 1..]
        .iter()
        .take_while(|l| l.contains(['█', '▀']))
        .collect();
    assert_eq!(code.len(), 17, "{printed:?}");
    assert!(code.iter().all(|l| l.chars().count() == 33), "{code:?}");
}

#[test]
fn an_nc_users_greeting_names_the_page_at_the_address_it_used() {
    let serve = ServeProcess::start(&[]);
    let nc = RawPeer::connect(serve.addr);
    let greeting = nc.text_until("/who");
    assert!(
        greeting.contains(&format!(
            "From a browser or phone: open http://{}/",
            serve.addr
        )),
        "{greeting}"
    );
}
