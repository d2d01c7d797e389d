//! Finding the room's page (PROTOCOL.md §14): the hosting window, `natter serve` and an `nc`
//! user's greeting all give the address a phone opens, the window and serve with a QR code of
//! it. All traffic is on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::app_window::Window;
use common::{RawPeer, ServeProcess};
use egui_kittest::kittest::Queryable;

#[test]
fn the_hosting_window_shows_the_page_address_and_its_qr_code() {
    let (mut window, address) = Window::host("alice");
    let url = format!("http://{address}/");
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
