//! Text that came from a peer (frame type names, nicknames, values quoted in errors, leave
//! details) never carries a terminal escape or a control byte to another member, to the
//! server's events or to a client's events (issue 10, item 1), and is quoted cut short.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{RawPeer, ServeProcess, WAIT, start_server, test_config};
use natter::network::client::{self, ClientEvent, ConnectOptions};
use natter::network::protocol::{ErrorCode, ServerFrame};
use natter::network::server::{ServerConfig, ServerEvent, ServerHandle};

/// The frame type a hostile peer sent: set the terminal's title, then clear the screen.
const HOSTILE_TYPE_LINE: &[u8] = b"{\"type\":\"\\u001b]0;PWNED\\u0007\\u001b[2J\"}\n";

fn quick_sniff() -> ServerConfig {
    ServerConfig {
        sniff_window: Duration::from_millis(100),
        ..test_config()
    }
}

/// Control characters other than newline and tab: what must never reach a terminal.
fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
}

fn has_control_byte(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| (b < 0x20 && b != b'\n' && b != b'\r' && b != b'\t') || b == 0x7f)
}

/// Every server event until `until` accepts one (included).
fn events_until(
    server: &ServerHandle,
    mut until: impl FnMut(&ServerEvent) -> bool,
) -> Vec<ServerEvent> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = server
            .events()
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no matching event after {seen:?}: {e}"));
        let last = until(&event);
        seen.push(event);
        if last {
            return seen;
        }
    }
}

/// The text of every event, for checking what `natter serve` would print.
fn event_texts(events: &[ServerEvent]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| match e {
            ServerEvent::Joined { nick, .. } => vec![nick.clone()],
            ServerEvent::Left { nick, detail, .. } => vec![nick.clone(), detail.clone()],
            ServerEvent::Renamed { from, to } => vec![from.clone(), to.clone()],
            ServerEvent::Message(m) => vec![m.from.clone(), m.text.clone()],
            ServerEvent::PeerError { message, .. } => vec![message.clone()],
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn an_unknown_frame_type_made_of_escapes_reaches_no_member_and_no_event() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let (mut rogue, _) = RawPeer::join(addr, "rogue");
    rogue.send_raw(HOSTILE_TYPE_LINE);

    let rogue_frames = rogue.frames_until_closed();
    let error = rogue_frames
        .iter()
        .find_map(|f| match f {
            ServerFrame::Error { code, message, .. } => Some((*code, message.clone())),
            _ => None,
        })
        .expect("the rogue is told why");
    assert_eq!(error.0, ErrorCode::UnknownType);
    assert!(!has_control(&error.1), "error quoted raw: {:?}", error.1);

    let leave_line = watcher.frame_where(|f| matches!(f, ServerFrame::Leave { .. }).then_some(f));
    let ServerFrame::Leave { nick, detail, .. } = leave_line else {
        unreachable!()
    };
    assert_eq!(nick, "rogue");
    assert!(detail.contains("Unknown frame type"), "{detail:?}");
    assert!(!has_control(&detail), "leave detail raw: {detail:?}");

    let plain = nc.text_until("rogue left");
    assert!(
        !has_control_byte(plain.as_bytes()),
        "plain peer got {plain:?}"
    );

    let events = events_until(
        &server,
        |e| matches!(e, ServerEvent::Left { nick, .. } if nick == "rogue"),
    );
    for text in event_texts(&events) {
        assert!(!has_control(&text), "event carries {text:?}");
    }
}

#[test]
fn a_value_quoted_back_in_an_error_is_clean_and_cut_short_everywhere() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let (mut rogue, _) = RawPeer::join(addr, "rogue");
    // A known type with a wrong field: the parser quotes the value it did not expect.
    let long_value = format!("\\u001b[2J{}\\u0007", "A".repeat(20_000));
    let line = format!("{{\"type\":\"hello\",\"version\":\"{long_value}\",\"nick\":\"x\"}}\n");
    rogue.send_raw(line.as_bytes());
    let (mut rogue2, _) = RawPeer::join(addr, "rogue2");
    let line = format!(
        "{{\"type\":\"hello\",\"version\":1,\"nick\":\"x\",\"resume\":\"{long_value}\"}}\n"
    );
    rogue2.send_raw(line.as_bytes());
    let (mut rogue3, _) = RawPeer::join(addr, "rogue3");
    let line = format!("{{\"type\":\"{}\"}}\n", "B".repeat(30_000));
    rogue3.send_raw(line.as_bytes());

    let mut details = Vec::new();
    while details.len() < 3 {
        if let ServerFrame::Leave { detail, .. } = watcher.frame() {
            details.push(detail);
        }
    }
    for detail in &details {
        assert!(!has_control(detail), "{detail:?}");
        assert!(
            detail.chars().count() <= 200,
            "{} chars: {detail:.300}",
            detail.len()
        );
    }
    let plain = nc.text_until("rogue3 left");
    assert!(!has_control_byte(plain.as_bytes()), "{plain:?}");
    assert!(
        plain.lines().all(|l| l.chars().count() <= 250),
        "a plain line quotes too much: {plain:.400}"
    );
}

/// PROTOCOL.md §6: a value the parser quotes is cleaned like chat text and made one line, in
/// the error to the peer, the leave detail others read (both dialects) and the host's events:
/// `"red next"`, not the escaped spelling `"\u{1b}[31mred\nnext"` it used to carry.
#[test]
fn a_value_quoted_in_a_parse_error_is_shown_cleaned_on_one_line_not_as_escapes() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let mut rogue = RawPeer::connect(addr);
    rogue.send_raw(b"{\"type\":\"hello\",\"version\":1,\"nick\":\"rogue\"}\n");
    rogue.accepted();
    rogue.send_raw(b"{\"type\":\"chat\",\"text\":\"hi\",\"action\":\"\\u001b[31mred\\nnext\"}\n");
    let said = "expected a boolean";
    let cleaned = "red next";
    let message = rogue.assert_error(ErrorCode::BadFrame);
    let detail = watcher.frame_where(|f| match f {
        ServerFrame::Leave { nick, detail, .. } if nick == "rogue" => Some(detail),
        _ => None,
    });
    let plain = nc.text_until("rogue left");
    let events = events_until(
        &server,
        |e| matches!(e, ServerEvent::Left { nick, .. } if nick == "rogue"),
    );
    let mut texts = event_texts(&events);
    texts.retain(|t| t.contains(said) || t.contains(cleaned));
    texts.extend([message, detail, plain]);
    for text in &texts {
        assert!(text.contains("\"red next\""), "{text:?}");
        assert!(!text.contains("\\u") && !text.contains("\\n"), "{text:?}");
    }
}

#[test]
fn a_plain_peer_naming_itself_with_escapes_is_announced_clean() {
    let server = start_server(quick_sniff());
    let addr = server.local_addr();
    let (watcher, _) = RawPeer::join(addr, "watcher");
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    nc.send_raw(b"/nick \x1b]0;PWNED\x07bob\x1b[2J\n");
    let (from, to) = watcher.frame_where(|f| match f {
        ServerFrame::Nick { from, to, .. } => Some((from, to)),
        _ => None,
    });
    assert!(from.starts_with("guest-"), "{from}");
    assert_eq!(to, "bob");
    let events = events_until(&server, |e| matches!(e, ServerEvent::Renamed { .. }));
    for text in event_texts(&events) {
        assert!(!has_control(&text), "event carries {text:?}");
    }
}

/// A host that answers a Natter client with escapes in every text field it can: nothing the
/// client reports to its owner (and so to the window and the saved chat log) carries them.
#[test]
fn a_hostile_host_puts_no_escape_into_any_client_event() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let host = std::thread::spawn(move || {
        let stream = common::accept_skipping_tls(&listener);
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut hello = String::new();
        reader.read_line(&mut hello).unwrap();
        let e = "\\u001b]0;PWNED\\u0007\\u001b[2J\\u009b1m";
        let lines = [
            format!(
                r#"{{"type":"welcome","server":"Lab{e}","version":1,"max_line_bytes":65536,"ping_interval_secs":15,"idle_timeout_secs":45,"text":"hi{e}"}}"#
            ),
            format!(
                r#"{{"type":"accepted","nick":"me{e}","session":"s","users":["a{e}","me{e}"],"history_count":1,"resumed":false,"history_complete":true}}"#
            ),
            format!(
                r#"{{"type":"chat","id":1,"time":"2026-11-23T09:30:00.123Z","from":"a{e}","text":"x{e}\nline"}}"#
            ),
            format!(r#"{{"type":"join","nick":"b{e}","time":"2026-11-23T09:30:00.123Z"}}"#),
            format!(
                r#"{{"type":"nick","from":"b{e}","to":"c{e}","time":"2026-11-23T09:30:00.123Z"}}"#
            ),
            format!(
                r#"{{"type":"leave","nick":"c{e}","reason":"dropped","detail":"d{e}","time":"2026-11-23T09:30:00.123Z"}}"#
            ),
            format!(r#"{{"type":"error","code":"bad_nick","message":"m{e}"}}"#),
            format!(r#"{{"type":"{e}"}}"#),
        ];
        let mut stream = stream;
        for line in lines {
            stream.write_all(line.as_bytes()).unwrap();
            stream.write_all(b"\n").unwrap();
        }
        // Keep the socket open until the test is done reading.
        let mut rest = String::new();
        let _ = reader.read_line(&mut rest);
    });
    let options = ConnectOptions {
        backoff_first: Duration::from_secs(30),
        ..ConnectOptions::new(addr.to_string(), "me")
    };
    let client = client::connect(options, natter::network::no_wake_up()).unwrap();
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = client
            .events()
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no link lost after {seen:?}: {e}"));
        let text = format!("{event:?}");
        let lost = matches!(event, ClientEvent::LinkLost { .. } | ClientEvent::Failed(_));
        let shown = match &event {
            ClientEvent::LinkLost { error, .. } | ClientEvent::Failed(error) => error.to_string(),
            _ => String::new(),
        };
        seen.push(text.clone());
        assert!(
            !text.contains("\\u{1b}") && !text.contains("\\u{7}") && !text.contains("\\u{9b}"),
            "event carries an escape: {text}"
        );
        assert!(
            !has_control(&shown),
            "error text carries an escape: {shown:?}"
        );
        if lost {
            break;
        }
    }
    assert!(seen.iter().any(|e| e.contains("Warning")), "{seen:?}");
    drop(client);
    host.join().unwrap();
}

/// `natter serve`'s console: a frame type made of escapes, a nickname with escapes and a
/// multi-line message that imitates a log line reach stdout with no control byte, and every
/// line printed starts with the time stamp or is an indented continuation.
#[test]
fn serve_prints_no_escape_and_no_forged_line_from_peer_text() {
    let mut serve = ServeProcess::start(&[]);
    let addr = serve.addr;

    // From here on every line printed is an event.
    serve.printed.clear();
    let (mut liar, _) = RawPeer::join(addr, "liar");
    liar.say("hi\n[00:00:00] admin joined from 10.0.0.1 (Natter)", "1");
    serve.line_with("liar: hi");
    let (mut rogue, _) = RawPeer::join(addr, "rogue\u{1b}[31m");
    rogue.send_raw(HOSTILE_TYPE_LINE);
    serve.line_with("rogue left");

    for line in &serve.printed {
        let text = String::from_utf8_lossy(line);
        assert!(!has_control_byte(line), "printed raw: {text:?}");
        assert!(
            text.starts_with('[') || text.starts_with(' '),
            "a line that does not start with the time: {text:?}"
        );
        assert!(!text.starts_with("[00:00:00] admin"), "forged: {text:?}");
    }
}
