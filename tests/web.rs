//! The browser dialect on the room's port, from the wire: HTTP requests and their bounds, the
//! WebSocket upgrade and its Origin check, and a WebSocket member held to the JSON dialect's
//! rules. (The page in a real browser: tests/browser.rs.) All traffic is on 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use common::{RawPeer, WAIT, chat_of, start_server, test_config};
use natter::network::protocol::{ErrorCode, LeaveReason, ServerFrame};
use natter::network::server::{RateLimit, ServerConfig};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

/// Sends `request` and reads the response until the server closes.
fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// A WebSocket to `/ws` with `origin` (None: no Origin header, as a script sends).
fn websocket(
    addr: SocketAddr,
    origin: Option<&str>,
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    websocket_over(TcpStream::connect(addr).unwrap(), addr, origin)
}

/// [`websocket`] over a socket connected already.
fn websocket_over(
    stream: TcpStream,
    addr: SocketAddr,
    origin: Option<&str>,
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
    }
    tungstenite::client(request, stream)
        .map(|(socket, _)| socket)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => panic!("blocking socket interrupted"),
        })
}

/// The next frame of the JSON dialect a WebSocket carries, one per text message.
fn frame(socket: &mut WebSocket<TcpStream>) -> ServerFrame {
    loop {
        match socket.read().unwrap() {
            Message::Text(text) => {
                assert!(!text.contains('\n'), "one frame a message: {text:?}");
                return serde_json::from_str(&text).unwrap();
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

fn frame_where<T>(
    socket: &mut WebSocket<TcpStream>,
    mut pick: impl FnMut(ServerFrame) -> Option<T>,
) -> T {
    loop {
        if let Some(found) = pick(frame(socket)) {
            return found;
        }
    }
}

fn send(socket: &mut WebSocket<TcpStream>, json: &str) {
    socket.send(Message::text(json)).unwrap();
}

/// Joins over a WebSocket from the host's own page; returns the socket after `accepted`.
fn join(addr: SocketAddr, nick: &str) -> WebSocket<TcpStream> {
    join_as(addr, nick).0
}

/// [`join`], with the nickname the room gave.
fn join_as(addr: SocketAddr, nick: &str) -> (WebSocket<TcpStream>, String) {
    let mut socket = websocket(addr, Some(&format!("http://{addr}"))).unwrap();
    assert!(matches!(frame(&mut socket), ServerFrame::Welcome { .. }));
    send(
        &mut socket,
        &format!(r#"{{"type":"hello","version":1,"nick":"{nick}"}}"#),
    );
    let given = frame_where(&mut socket, |f| match f {
        ServerFrame::Accepted { nick, .. } => Some(nick),
        _ => None,
    });
    (socket, given)
}

#[test]
fn the_root_is_the_page_with_its_policy_and_nothing_else_is_served() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let page = http(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("\r\nContent-Security-Policy: default-src 'none'; script-src 'sha256-"));
    assert!(page.contains("aria-label=\"People\""));
    for path in [
        "/../Cargo.toml",
        "/Cargo.toml",
        "/src/main.rs",
        "/favicon.ico",
        "//etc/passwd",
    ] {
        let response = http(addr, format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes());
        assert!(response.starts_with("HTTP/1.1 404 "), "{path}: {response}");
    }
    // A web request is nobody in the room.
    assert!(server.members().is_empty());
}

#[test]
fn a_request_head_over_8_kib_is_refused_with_431() {
    let server = start_server(test_config());
    let mut request = b"GET / HTTP/1.1\r\nX: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 9000));
    let response = http(server.local_addr(), &request);
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
}

#[test]
fn a_websocket_from_another_pages_origin_is_refused_and_the_hosts_own_page_joins() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (mut alice, _) = RawPeer::join(addr, "alice");
    match websocket(addr, Some("http://evil.example")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let mut browser = join(addr, "Noa");
    let joined = alice.frame_where(|f| match f {
        ServerFrame::Join {
            nick, unencrypted, ..
        } => Some((nick, unencrypted)),
        _ => None,
    });
    assert_eq!(joined, ("Noa".to_string(), true), "marked like nc users");
    send(
        &mut browser,
        r#"{"type":"chat","text":"שלום 你好 <b>x</b>","client_id":"w1"}"#,
    );
    let message = alice.frame_where(chat_of);
    assert_eq!(
        (message.from.as_str(), message.text.as_str()),
        ("Noa", "שלום 你好 <b>x</b>")
    );
    alice.say("hi Noa", "1");
    let own_then_alice: Vec<_> = (0..2)
        .map(|_| frame_where(&mut browser, chat_of))
        .map(|m| (m.from, m.text, m.client_id))
        .collect();
    assert_eq!(
        own_then_alice,
        [
            ("Noa".into(), "שלום 你好 <b>x</b>".into(), Some("w1".into())),
            ("alice".into(), "hi Noa".into(), None)
        ]
    );
}

#[test]
fn a_websocket_member_is_held_to_the_rate_limit_and_the_line_limit() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut browser = join(addr, "Noa");
    for i in 0..25 {
        send(
            &mut browser,
            &format!(r#"{{"type":"chat","text":"{i}","client_id":"{i}"}}"#),
        );
    }
    let code = frame_where(&mut browser, |f| match f {
        ServerFrame::Error { code, .. } => Some(code),
        _ => None,
    });
    assert_eq!(code, ErrorCode::RateLimited);
    let long = format!(
        r#"{{"type":"chat","text":"{}"}}"#,
        "x".repeat(natter::network::protocol::MAX_LINE_BYTES)
    );
    send(&mut browser, &long);
    let code = frame_where(&mut browser, |f| match f {
        ServerFrame::Error { code, .. } if code != ErrorCode::RateLimited => Some(code),
        _ => None,
    });
    assert_eq!(code, ErrorCode::LineTooLong);
}

#[test]
fn a_websocket_member_asking_for_a_look_alike_of_an_online_name_gets_a_numbered_one() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (_alice, _) = RawPeer::join(addr, "alice");
    // A Cyrillic а, as a prankster on a phone would type it.
    let (_browser, given) = join_as(addr, "\u{430}lice");
    assert_eq!(given, "\u{430}lice-2");
}

/// A browser whose phone stopped reading (its socket's buffer full) is dropped once its queue
/// fills, as a Natter client is, and everyone reads why.
#[test]
fn a_websocket_member_that_stops_reading_is_dropped_once_its_queue_fills() {
    let server = start_server(ServerConfig {
        queue_lines: 32,
        // The sender is not what is limited here.
        rate: RateLimit {
            burst: 10_000.0,
            per_second: 10_000.0,
            strikes: 10,
        },
        ..test_config()
    });
    let addr = server.local_addr();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stalled = websocket_over(socket.into(), addr, Some(&format!("http://{addr}"))).unwrap();
    send(
        &mut stalled,
        r#"{"type":"hello","version":1,"nick":"stalled"}"#,
    );
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let (mut sender, _) = RawPeer::join(addr, "sender");
    let chunk = "y".repeat(20_000);
    for i in 0..400 {
        sender.say(&format!("{i} {chunk}"), &i.to_string());
    }
    let (reason, detail) = watcher.frame_where(|f| match f {
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            ..
        } if nick == "stalled" => Some((reason, detail)),
        _ => None,
    });
    assert_eq!(reason, LeaveReason::Dropped);
    assert!(detail.contains("stopped reading"), "{detail}");
}

/// A browser joins as `nick`, resuming `resume` (a session token) if given; returns the socket
/// and the `accepted` frame.
fn join_resuming(
    addr: SocketAddr,
    nick: &str,
    resume: Option<&str>,
) -> (WebSocket<TcpStream>, ServerFrame) {
    let mut socket = websocket(addr, Some(&format!("http://{addr}"))).unwrap();
    assert!(matches!(frame(&mut socket), ServerFrame::Welcome { .. }));
    let resume = resume.map_or(String::new(), |session| {
        format!(r#","resume":{{"session":"{session}","last_id":0}}"#)
    });
    send(
        &mut socket,
        &format!(r#"{{"type":"hello","version":1,"nick":"{nick}"{resume}}}"#),
    );
    let accepted = frame_where(&mut socket, |f| {
        matches!(f, ServerFrame::Accepted { .. }).then_some(f)
    });
    (socket, accepted)
}

#[test]
fn a_websocket_member_resuming_within_the_grace_is_not_seen_to_leave_and_a_close_frame_is_a_leave_at_once()
 {
    let server = start_server(ServerConfig {
        member_grace: WAIT * 6,
        ..test_config()
    });
    let addr = server.local_addr();
    let (mut bob, _) = RawPeer::join(addr, "bob");
    let (mut page, accepted) = join_resuming(addr, "eve", None);
    let ServerFrame::Accepted { session, .. } = accepted else {
        unreachable!()
    };
    bob.frame_where(|f| matches!(f, ServerFrame::Join { nick, .. } if nick == "eve").then_some(()));

    // The browser's link breaks (no close frame): the host closes its side once it noticed.
    page.get_mut().shutdown(std::net::Shutdown::Write).unwrap();
    while page.read().is_ok() {}
    let (mut page, accepted) = join_resuming(addr, "eve", Some(&session));
    assert!(
        matches!(&accepted, ServerFrame::Accepted { resumed: true, nick, .. } if nick == "eve"),
        "{accepted:?}"
    );
    bob.say("after the resume", "b1");
    let seen = bob.frame_where(|f| match f {
        ServerFrame::Join { nick, .. } | ServerFrame::Leave { nick, .. } => Some(nick),
        ServerFrame::Chat(m) if m.text == "after the resume" => Some(String::new()),
        _ => None,
    });
    assert_eq!(seen, "", "bob read a join or leave of {seen}");

    // Closing the page sends a close frame: it will not resume, so the leave is not held.
    page.close(None).unwrap();
    let detail = bob.frame_where(|f| match f {
        ServerFrame::Leave { nick, detail, .. } if nick == "eve" => Some(detail),
        _ => None,
    });
    assert_eq!(detail, "closed the connection");
}

/// PROTOCOL.md §13 and §14: a WebSocket carries text messages only, so a member there that
/// lists `file_data` still gets a file's data as base64 `file_chunk`s (the host converts a raw
/// sender's `file_data`), and a `file_data` header it sends is a line of an unknown type.
#[test]
fn a_websocket_member_listing_file_data_gets_base64_chunks_and_cannot_send_raw_data() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut mallory = RawPeer::hello_with_features(addr, "mallory", &["files", "file_data"]);
    mallory.accepted();
    let mut socket = websocket(addr, Some(&format!("http://{addr}"))).unwrap();
    assert!(matches!(frame(&mut socket), ServerFrame::Welcome { .. }));
    send(
        &mut socket,
        r#"{"type":"hello","version":1,"nick":"noa","features":["files","file_data"]}"#,
    );
    let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    mallory.send(&natter::network::protocol::ClientFrame::FileOffer(
        natter::network::protocol::OfferRequest {
            id: "f1".into(),
            name: "f1.bin".into(),
            size: bytes.len() as u64,
            sha256: common::sha256_hex_of(&bytes),
            to: None,
        },
    ));
    frame_where(&mut socket, |f| match f {
        ServerFrame::FileOffer(o) if o.id == "f1" => Some(()),
        _ => None,
    });
    send(
        &mut socket,
        r#"{"type":"file_accept","id":"f1","offset":0}"#,
    );
    let delivery = mallory.frame_where(|f| match f {
        ServerFrame::FileAccept { delivery, .. } => Some(delivery),
        _ => None,
    });
    let header = natter::network::protocol::ClientData::line(delivery, 0, bytes.len());
    let mut frame_bytes = header.into_bytes();
    frame_bytes.extend_from_slice(&bytes);
    mallory.send_raw(&frame_bytes);
    let mut got = Vec::new();
    while got.len() < bytes.len() {
        let (offset, text) = frame_where(&mut socket, |f| match f {
            ServerFrame::FileChunk { offset, data, .. } => Some((offset, data)),
            _ => None,
        });
        assert_eq!(offset, got.len() as u64);
        got.extend(base64_simd::STANDARD.decode_to_vec(text).unwrap());
    }
    assert!(got == bytes, "the bytes differ");
    let header = natter::network::protocol::ClientData::line(1, 0, 3);
    send(&mut socket, header.trim_end());
    let code = frame_where(&mut socket, |f| match f {
        ServerFrame::Error { code, .. } => Some(code),
        _ => None,
    });
    assert_eq!(code, ErrorCode::UnknownType);
}
