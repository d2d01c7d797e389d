//! Issue 29, "words and small things": what the window says when connecting goes wrong on this
//! computer itself. Driven through the real app with egui_kittest, on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app_window::Window;

/// A listener on 127.0.0.1 whose queue of connections waiting to be accepted is full, so a
/// new connection gets no answer at all; and the connections that fill it.
fn full_listener() -> (socket2::Socket, Vec<std::net::TcpStream>, String) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).unwrap();
    listener.listen(0).unwrap();
    let address = listener.local_addr().unwrap().as_socket().unwrap();
    // Linux queues backlog + 1 connections; a few more attempts make sure it is full. Each
    // attempt is bounded by a short timeout.
    let mut filling = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(300))
        {
            Ok(stream) => filling.push(stream),
            Err(_) => break,
        }
    }
    (listener, filling, address.to_string())
}

/// §8: a listener on this computer that never answers was "not on this computer's network",
/// behind "a router between you", with a firewall to blame.
#[test]
fn a_listener_on_this_computer_that_never_answers_gets_advice_about_this_computer() {
    let (_listener, _filling, address) = full_listener();
    let mut window = Window::new();
    window.open_tab("Connect");
    window.type_into("Your nickname", "carol");
    window.type_into("Host address", &address);
    window.click("Connect");
    window.until("the attempt has failed", |h| {
        h.state().connect_error().is_some()
    });
    let said = window.app().connect_error().unwrap().to_string();
    assert!(said.contains("is this computer"), "{said}");
    for wrong in ["not on this computer's network", "router", "firewall"] {
        assert!(!said.contains(wrong), "{wrong:?} in {said}");
    }
    assert!(!window.app().in_chat());
}
