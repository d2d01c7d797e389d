//! When and how often the client dials again, against hosts on 127.0.0.1 that count its
//! connections: a web server or a host that hangs up at once is not redialed in a loop, every
//! wait stays within the announced cap, and Retry now cuts only the wait it was pressed in.
//! Counts are upper bounds over a time window, so a slow machine cannot fail them.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::client::{client_no_wake, connected, quick};
use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use common::{recv_where, start_server, test_config};
use natter::network::client::{self, ClientCommand, ClientError, ClientEvent, ConnectOptions};
use natter::network::protocol::ServerFrame;

/// A listener on 127.0.0.1:0, kept open, that answers every connection with `answer(stream)`
/// and reports each one it accepts.
///
/// Each connection is reported as whether it started with a TLS handshake (the Natter client
/// tries TLS first): such a host does not speak TLS, so the client dials again in the clear.
fn counting_host(
    answer: impl Fn(TcpStream) + Send + Clone + 'static,
) -> (std::net::SocketAddr, crossbeam_channel::Receiver<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, accepted) = crossbeam_channel::unbounded();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            if accepted_tx.send(starts_tls(&stream)).is_err() {
                return;
            }
            let answer = answer.clone();
            thread::spawn(move || answer(stream));
        }
    });
    (addr, accepted)
}

/// Whether the client's first byte starts a TLS handshake (waits up to 2 s for it).
fn starts_tls(stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first), Ok(1) if first[0] == 0x16)
}

/// Reads what the client sent first (its `hello`), so closing does not reset the connection.
fn read_first(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
}

/// Counts the connections `accepted` reports within `window`, from now: (TLS attempts, others).
fn connections_within(
    accepted: &crossbeam_channel::Receiver<bool>,
    window: Duration,
) -> (usize, usize) {
    let deadline = std::time::Instant::now() + window;
    let (mut tls, mut clear) = (0, 0);
    while let Ok(is_tls) = accepted.recv_deadline(deadline) {
        if is_tls { tls += 1 } else { clear += 1 }
    }
    (tls, clear)
}

/// Issue 17: a web server answering "400 Bad Request" and hanging up used to be redialed
/// every half second for ever. With the real (default) backoff it is dialed once in 5 s, the
/// events name it a web server once, and the client gives up saying it is not a Natter host.
#[test]
fn a_web_server_that_answers_400_is_dialed_once_with_tls_and_once_without_in_5_s_named_once_and_given_up_on()
 {
    let (addr, accepted) = counting_host(|mut stream| {
        read_first(&mut stream);
        let _ = stream.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
        );
    });
    let client = client::connect(
        ConnectOptions::new(addr.to_string(), "alice"),
        client_no_wake(),
    )
    .unwrap();
    let connections = connections_within(&accepted, Duration::from_secs(5));
    let events: Vec<ClientEvent> = client.events().try_iter().collect();
    assert_eq!(connections, (1, 1), "{events:?}");
    assert!(events.contains(&ClientEvent::Unencrypted), "{events:?}");
    let naming = events
        .iter()
        .filter(|e| format!("{e:?}").contains("web server"))
        .count();
    assert_eq!(naming, 1, "{events:?}");
    assert!(events.iter().any(|e| matches!(
        e,
        ClientEvent::PlainMode { looks_like: Some(what), .. } if what == "a web server"
    )));
    assert_eq!(
        events.last(),
        Some(&ClientEvent::Failed(ClientError::NotNatter {
            address: addr.to_string()
        }))
    );
}

/// A host that completes the handshake and hangs up at once must not be redialed in a loop:
/// only a link that stayed up starts the backoff over. With the default waits (0.5 s doubling
/// to 3 s) that is at most 4 connections in 4 s (a reset backoff would make 8 or more). The
/// host speaks no TLS: one TLS attempt first, never again.
#[test]
fn a_host_that_lets_us_in_and_hangs_up_at_once_is_dialed_at_most_4_times_in_4_s() {
    let (addr, accepted) = counting_host(|mut stream| {
        read_first(&mut stream);
        let welcome = ServerFrame::Welcome {
            server: "Flaky".into(),
            version: natter::network::protocol::PROTOCOL_VERSION,
            max_line_bytes: 8192,
            ping_interval_secs: 15,
            idle_timeout_secs: 45,
            text: String::new(),
            files: None,
        };
        let accepted = ServerFrame::Accepted {
            nick: "alice".into(),
            session: "s".into(),
            users: vec!["alice".into()],
            history_count: 0,
            resumed: false,
            history_complete: true,
            unencrypted: Vec::new(),
        };
        let mut bytes = natter::network::protocol::encode(&welcome);
        bytes.extend(natter::network::protocol::encode(&accepted));
        let _ = stream.write_all(&bytes);
    });
    let client = client::connect(
        ConnectOptions::new(addr.to_string(), "alice"),
        client_no_wake(),
    )
    .unwrap();
    let (tls, connections) = connections_within(&accepted, Duration::from_secs(4));
    let events: Vec<ClientEvent> = client.events().try_iter().collect();
    assert_eq!(tls, 1, "{events:?}");
    assert!(
        (2..=4).contains(&connections),
        "{connections} connections: {events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, ClientEvent::Failed(_))),
        "a Natter host is retried: {events:?}"
    );
}

/// After the host goes away, every wait before a new attempt stays within `backoff_max`, as
/// announced and as measured between the `LinkLost` and the next `Connecting`.
#[test]
fn reconnect_waits_never_exceed_the_cap_announced_or_measured() {
    let server = start_server(test_config());
    let cap = Duration::from_millis(200);
    let client = client::connect(
        quick(server.local_addr().to_string(), "alice"),
        client_no_wake(),
    )
    .unwrap();
    connected(&client);
    server.stop();
    for _ in 0..6 {
        let (retry_in, lost_at) = recv_where(client.events(), "LinkLost", |e| match e {
            ClientEvent::LinkLost { retry_in, .. } => Some((retry_in, std::time::Instant::now())),
            _ => None,
        });
        assert!(retry_in <= cap, "announced {retry_in:?}");
        recv_where(client.events(), "Connecting", |e| {
            matches!(e, ClientEvent::Connecting { .. }).then_some(())
        });
        let waited = lost_at.elapsed();
        // Some slack for a busy test machine; an uncapped wait would be 3.2 s by now.
        assert!(
            waited <= cap + Duration::from_millis(400),
            "waited {waited:?}"
        );
    }
}

/// `RetryNow` cuts a long wait short: the next attempt starts at once.
#[test]
fn retry_now_starts_the_next_attempt_at_once_instead_of_after_a_60_s_wait() {
    let server = start_server(test_config());
    let options = ConnectOptions {
        backoff_first: Duration::from_secs(60),
        backoff_max: Duration::from_secs(60),
        ..ConnectOptions::new(server.local_addr().to_string(), "alice")
    };
    let client = client::connect(options, client_no_wake()).unwrap();
    connected(&client);
    server.stop();
    let retry_in = recv_where(client.events(), "LinkLost", |e| match e {
        ClientEvent::LinkLost { retry_in, .. } => Some(retry_in),
        _ => None,
    });
    assert!(retry_in >= Duration::from_secs(45), "{retry_in:?}");
    let asked = std::time::Instant::now();
    client.send(ClientCommand::RetryNow);
    let attempt = recv_where(client.events(), "Connecting", |e| match e {
        ClientEvent::Connecting { attempt, .. } => Some(attempt),
        _ => None,
    });
    assert_eq!(attempt, 1);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
}

/// `RetryNow` while the link is up (or queued from before) is not kept for later: the wait
/// after the next drop is not cut short by it.
#[test]
fn retry_now_sent_while_the_link_is_up_does_not_cut_a_later_wait_short() {
    let server = start_server(test_config());
    let options = ConnectOptions {
        backoff_first: Duration::from_secs(60),
        backoff_max: Duration::from_secs(60),
        ..ConnectOptions::new(server.local_addr().to_string(), "alice")
    };
    let client = client::connect(options, client_no_wake()).unwrap();
    connected(&client);
    for _ in 0..3 {
        client.send(ClientCommand::RetryNow);
    }
    server.stop();
    recv_where(client.events(), "LinkLost", |e| {
        matches!(e, ClientEvent::LinkLost { .. }).then_some(())
    });
    let early = client.events().recv_timeout(Duration::from_secs(1));
    assert!(early.is_err(), "no new attempt within 1 s: {early:?}");
}
