//! The link thread against a host made by hand, for what a real host never does on purpose:
//! stop reading what we send while it goes on talking.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use crossbeam_channel::Receiver;
use rustls::{ServerConnection, StreamOwned};

use crate::network::client::{ClientCommand, ClientEvent, ConnectOptions, FileCommand, connect};
use crate::network::no_wake_up;
use crate::network::protocol::{
    ChatMessage, ClientFrame, FileLimits, MAX_LINE_BYTES, PROTOCOL_VERSION, ServerFrame, decode,
    encode,
};
use crate::network::tls::{Identity, server_config};

const WAIT: Duration = Duration::from_secs(60);
/// Far more than the sockets between us hold (a few MiB on loopback), so our upload stalls.
const FILE_BYTES: usize = 24 << 20;

type Tls = StreamOwned<ServerConnection, TcpStream>;

/// The next line from the client, without its newline.
fn next_line(tls: &mut Tls, pending: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line = pending[..end].to_vec();
            pending.drain(..=end);
            return line;
        }
        let mut buf = [0u8; 64 * 1024];
        let n = tls.read(&mut buf).unwrap();
        assert!(n > 0, "the client closed");
        pending.extend_from_slice(&buf[..n]);
    }
}

/// A Natter host that lets alice in, asks for the file she offers, reads the first chunk and
/// from then on reads nothing more, but tells her a message. It keeps the link open until
/// `finish` says so.
fn stalling_host(listener: TcpListener, identity: &Identity, finish: &Receiver<()>) {
    let (tcp, _) = listener.accept().unwrap();
    // A small receive buffer: our side of the loopback holds little of her upload.
    let _ = socket2::SockRef::from(&tcp).set_recv_buffer_size(64 * 1024);
    let session = ServerConnection::new(server_config(identity).unwrap()).unwrap();
    let mut tls = StreamOwned::new(session, tcp);
    let mut pending = Vec::new();
    let hello = next_line(&mut tls, &mut pending);
    assert!(matches!(
        decode::<ClientFrame>(&hello),
        Ok(ClientFrame::Hello { .. })
    ));
    let limits = FileLimits {
        window_bytes: 1 << 30,
        ..FileLimits::default()
    };
    let welcome = ServerFrame::Welcome {
        server: "stalling".into(),
        version: PROTOCOL_VERSION,
        max_line_bytes: MAX_LINE_BYTES,
        ping_interval_secs: 15,
        idle_timeout_secs: 45,
        text: String::new(),
        files: Some(limits),
    };
    let accepted = ServerFrame::Accepted {
        nick: "alice".into(),
        session: "s".into(),
        users: vec!["alice".into(), "bob".into()],
        history_count: 0,
        resumed: false,
        history_complete: true,
        unencrypted: Vec::new(),
    };
    tls.write_all(&[encode(&welcome), encode(&accepted)].concat())
        .unwrap();
    let id = loop {
        let line = next_line(&mut tls, &mut pending);
        if let Ok(ClientFrame::FileOffer(offer)) = decode::<ClientFrame>(&line) {
            break offer.id;
        }
    };
    let accept = ServerFrame::FileAccept {
        id,
        delivery: 1,
        by: "bob".into(),
        offset: 0,
    };
    tls.write_all(&encode(&accept)).unwrap();
    // Data flows: from here on nothing is read.
    let chunk = next_line(&mut tls, &mut pending);
    assert!(chunk.starts_with(br#"{"type":"file_chunk""#));
    let message = ServerFrame::Chat(ChatMessage {
        id: 1,
        time: "2026-12-05T13:00:00.000Z".into(),
        from: "bob".into(),
        text: "still there?".into(),
        client_id: None,
        action: false,
        to: None,
    });
    tls.write_all(&encode(&message)).unwrap();
    let _ = finish.recv_timeout(WAIT * 2);
}

#[test]
fn a_message_comes_through_while_the_host_takes_none_of_our_upload_and_the_stall_ends_the_link() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let _ = socket2::SockRef::from(&listener).set_recv_buffer_size(64 * 1024);
    let addr = listener.local_addr().unwrap();
    let identity = Identity::generate().unwrap();
    let (finish_tx, finish) = crossbeam_channel::bounded(1);
    let host = std::thread::spawn(move || stalling_host(listener, &identity, &finish));
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("big.bin");
    std::fs::write(&path, vec![7u8; FILE_BYTES]).unwrap();
    let client = connect(ConnectOptions::new(addr.to_string(), "alice"), no_wake_up()).unwrap();
    client.send(ClientCommand::File(FileCommand::Offer { path, to: None }));
    let next = |what: &str| loop {
        match client.events().recv_timeout(WAIT) {
            Ok(ClientEvent::Message { message, .. }) => return Ok(message.text),
            Ok(ClientEvent::LinkLost { error, .. }) => return Err(error.to_string()),
            Ok(ClientEvent::Failed(error)) => panic!("the client gave up: {error}"),
            Ok(_) => {}
            Err(_) => panic!("no {what} within {WAIT:?}"),
        }
    };
    // The link's one thread reads while its writes wait: the message is not held up behind
    // the upload (a thread blocked writing under the session's lock held it until its write
    // timed out).
    assert_eq!(next("message"), Ok("still there?".to_string()));
    // And a host that takes nothing for the stall time is given up on, in words.
    let lost = next("end of the link").unwrap_err();
    assert!(
        lost.contains("the host took nothing we sent for 10 s"),
        "{lost}"
    );
    finish_tx.send(()).unwrap();
    host.join().unwrap();
    client.disconnect();
}
