//! Files through the host, on real sockets (PROTOCOL.md §13): a file arrives byte-identical
//! in the room and in private and nobody else sees it, declining writes nothing, either side
//! can stop and no partial file is left, a cut link resumes without sending again what was
//! confirmed, hostile names are saved harmlessly, and the host's limit is told in words.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{CuttableProxy, RawPeer, recv_where, start_server, test_config};
use natter::network::client::{
    self, ClientCommand, ClientEvent, ClientHandle, ConnectOptions, FileCommand,
};
use natter::network::protocol::{ClientFrame, FileOffer, Resume, ServerFrame};

fn quick(address: impl Into<String>, nick: &str) -> ConnectOptions {
    ConnectOptions {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..ConnectOptions::new(address, nick)
    }
}

/// A Natter client in the room.
fn natter(address: impl Into<String>, nick: &str) -> ClientHandle {
    let client = client::connect(quick(address, nick), natter::network::no_wake_up()).unwrap();
    recv_where(client.events(), "Connected", |e| match e {
        ClientEvent::Connected { .. } => Some(()),
        _ => None,
    });
    client
}

/// `len` bytes that differ from chunk to chunk, so a misplaced chunk changes the hash.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4099) as u8).collect()
}

fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn offer(client: &ClientHandle, path: &Path, to: Option<&str>) {
    client.send(ClientCommand::File(FileCommand::Offer {
        path: path.to_path_buf(),
        to: to.map(str::to_string),
    }));
}

/// Waits for someone else's offer.
fn offered(client: &ClientHandle) -> FileOffer {
    recv_where(client.events(), "someone's FileOffered", |e| match e {
        ClientEvent::FileOffered { offer, ours: false } => Some(offer),
        _ => None,
    })
}

fn save(client: &ClientHandle, id: &str, folder: &Path) {
    client.send(ClientCommand::File(FileCommand::Save {
        id: id.to_string(),
        folder: folder.to_path_buf(),
    }));
}

/// The saved file's path. Waits WAIT after each sign of progress rather than WAIT in all: a
/// 32 MiB file takes longer than that under Wine on a busy machine, while a stall still fails.
fn saved(client: &ClientHandle) -> PathBuf {
    loop {
        let saved = recv_where(client.events(), "FileSaved or FileProgress", |e| match e {
            ClientEvent::FileSaved { path, .. } => Some(Some(path)),
            ClientEvent::FileProgress { .. } => Some(None),
            ClientEvent::FileStopped { reason, .. } => panic!("stopped: {reason}"),
            _ => None,
        });
        if let Some(path) = saved {
            return path;
        }
    }
}

/// The next stop: to whom (one delivery of ours), why, and whether the offer is still open.
fn stopped(client: &ClientHandle) -> (Option<String>, String, bool) {
    recv_where(client.events(), "FileStopped", |e| match e {
        ClientEvent::FileStopped {
            peer,
            reason,
            offer_open,
            ..
        } => Some((peer, reason, offer_open)),
        _ => None,
    })
}

/// The download folder holds nothing: no file, no temporary part.
fn assert_nothing_left(folder: &Path) {
    let names = names_in(folder);
    assert!(names.is_empty(), "left behind: {names:?}");
}

/// Names in `folder`, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_file_offered_to_the_room_arrives_byte_identical_and_the_sender_hears_it_was_delivered() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let (outbox, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Over two windows, and not a whole number of chunks.
    let bytes = content(9 * 1024 * 1024 + 123);
    let path = file_with(outbox.path(), "photo.jpg", &bytes);
    let dana = natter(&addr, "dana");
    let bob = natter(&addr, "bob");
    offer(&dana, &path, None);
    let offer = offered(&bob);
    assert_eq!(
        (offer.name.as_str(), offer.size, offer.from.as_str()),
        ("photo.jpg", bytes.len() as u64, "dana")
    );
    save(&bob, &offer.id, downloads.path());
    let saved_at = saved(&bob);
    assert_eq!(saved_at, downloads.path().join("photo.jpg"));
    assert!(
        std::fs::read(&saved_at).unwrap() == bytes,
        "the saved file differs from the sent one"
    );
    assert_eq!(
        names_in(downloads.path()),
        ["photo.jpg"],
        "no temporary file is left"
    );
    let peer = recv_where(dana.events(), "FileDelivered", |e| match e {
        ClientEvent::FileDelivered { peer, .. } => Some(peer),
        _ => None,
    });
    assert_eq!(peer, "bob");
}

#[test]
fn a_private_file_reaches_its_one_person_and_a_third_is_sent_no_frame_of_it() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (outbox, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bytes = content(300_000);
    let path = file_with(outbox.path(), "notes.txt", &bytes);
    let dana = natter(addr.to_string(), "dana");
    let bob = natter(addr.to_string(), "bob");
    let mut carol = RawPeer::hello_with_features(addr, "carol", &["files", "presence"]);
    carol.accepted();
    offer(&dana, &path, Some("bob"));
    let offer = offered(&bob);
    assert_eq!(offer.to.as_deref(), Some("bob"));
    save(&bob, &offer.id, downloads.path());
    assert!(std::fs::read(saved(&bob)).unwrap() == bytes);
    recv_where(dana.events(), "FileDelivered", |e| {
        matches!(e, ClientEvent::FileDelivered { .. }).then_some(())
    });
    dana.send(ClientCommand::Send {
        local_id: 1,
        text: "after".into(),
    });
    let mut seen = Vec::new();
    loop {
        let frame = carol.frame();
        if matches!(&frame, ServerFrame::Chat(m) if m.text == "after") {
            break;
        }
        seen.push(frame);
    }
    let file_frames: Vec<_> = seen
        .iter()
        .filter(|f| format!("{f:?}").starts_with("File"))
        .collect();
    assert!(file_frames.is_empty(), "carol was sent {file_frames:?}");
}

#[test]
fn declining_writes_nothing_and_tells_the_sender_who_declined() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let (outbox, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let path = file_with(outbox.path(), "photo.jpg", &content(1000));
    let dana = natter(&addr, "dana");
    let bob = natter(&addr, "bob");
    offer(&dana, &path, None);
    let offer = offered(&bob);
    bob.send(ClientCommand::File(FileCommand::Decline { id: offer.id }));
    let peer = recv_where(dana.events(), "FileDeclined", |e| match e {
        ClientEvent::FileDeclined { peer, .. } => Some(peer),
        _ => None,
    });
    assert_eq!(peer, "bob");
    assert!(names_in(downloads.path()).is_empty());
}

/// Starts a large delivery from dana to bob and waits until bob has some of it.
fn transfer_under_way(
    addr: &str,
    bob_address: &str,
    size: usize,
) -> (
    ClientHandle,
    ClientHandle,
    String,
    tempfile::TempDir,
    tempfile::TempDir,
    Vec<u8>,
) {
    let (outbox, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bytes = content(size);
    let path = file_with(outbox.path(), "big.bin", &bytes);
    let dana = natter(addr, "dana");
    let bob = natter(bob_address, "bob");
    offer(&dana, &path, None);
    let offer = offered(&bob);
    save(&bob, &offer.id, downloads.path());
    recv_where(bob.events(), "some progress", |e| match e {
        ClientEvent::FileProgress { done, .. } if done > 0 => Some(()),
        _ => None,
    });
    (dana, bob, offer.id, outbox, downloads, bytes)
}

#[test]
fn a_receiver_who_cancels_midway_keeps_no_partial_file_may_save_again_and_the_sender_is_told() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let (dana, bob, id, _outbox, downloads, _) = transfer_under_way(&addr, &addr, 64 * 1024 * 1024);
    bob.send(ClientCommand::File(FileCommand::Cancel { id }));
    let (_, reason, offer_open) = stopped(&bob);
    assert!(reason.contains("You stopped"), "{reason}");
    assert!(offer_open, "the offer stays, so Save can be pressed again");
    let (peer, reason, offer_open) = stopped(&dana);
    assert_eq!(peer.as_deref(), Some("bob"));
    assert!(reason.contains("bob"), "{reason}");
    assert!(!offer_open, "the sender has nothing to save");
    assert_nothing_left(downloads.path());
}

#[test]
fn a_sender_who_stops_offering_midway_leaves_the_receiver_no_partial_file_and_no_offer() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let (dana, bob, id, _outbox, downloads, _) = transfer_under_way(&addr, &addr, 64 * 1024 * 1024);
    dana.send(ClientCommand::File(FileCommand::Cancel { id }));
    let (_, reason, offer_open) = stopped(&bob);
    assert!(reason.contains("dana"), "{reason}");
    assert!(!offer_open, "a withdrawn offer cannot be saved again");
    assert_nothing_left(downloads.path());
}

#[test]
fn a_cut_link_mid_transfer_resumes_and_the_file_arrives_whole() {
    let server = start_server(test_config());
    let addr = server.local_addr().to_string();
    let proxy = CuttableProxy::start(server.local_addr());
    let (_dana, bob, _id, _outbox, downloads, bytes) =
        transfer_under_way(&addr, &proxy.addr.to_string(), 32 * 1024 * 1024);
    proxy.wait_accept();
    proxy.cut();
    recv_where(
        bob.events(),
        "LinkLost before the file is whole",
        |e| match e {
            ClientEvent::LinkLost { .. } => Some(()),
            ClientEvent::FileSaved { .. } => panic!("the file was whole before the cut"),
            _ => None,
        },
    );
    proxy.wait_accept();
    let path = saved(&bob);
    assert!(
        std::fs::read(&path).unwrap() == bytes,
        "the resumed file differs"
    );
    assert_eq!(names_in(downloads.path()), ["big.bin"]);
}

#[test]
fn after_a_drop_the_sender_sends_nothing_the_receiver_had_confirmed() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let outbox = tempfile::tempdir().unwrap();
    let bytes = content(12 * 1024 * 1024);
    let path = file_with(outbox.path(), "big.bin", &bytes);
    let dana = natter(addr.to_string(), "dana");
    let (mut bob, id) = raw_receiver_offered(addr, &dana, &path);
    bob.send(&ClientFrame::FileAccept {
        id: id.clone(),
        offset: 0,
    });
    // Take 2 MiB, confirm it, then drop the link without a word.
    let mut have = Vec::new();
    while have.len() < 2 * 1024 * 1024 {
        let (offset, data) = chunk_of(&bob);
        if offset == have.len() as u64 {
            have.extend(data);
        }
    }
    let confirmed = have.len() as u64;
    bob.send(&ClientFrame::FileAck {
        id: id.clone(),
        offset: confirmed,
    });
    let session = bob.session.clone();
    bob.vanish();
    let mut bob = RawPeer::connect(addr);
    bob.send(&ClientFrame::Hello {
        version: 1,
        nick: "bob".into(),
        resume: Some(Resume {
            session,
            last_id: 0,
        }),
        features: vec!["files".into()],
    });
    bob.accepted();
    bob.send(&ClientFrame::FileAccept {
        id: id.clone(),
        offset: confirmed,
    });
    let mut lowest = u64::MAX;
    while have.len() < bytes.len() {
        let (offset, data) = chunk_of(&bob);
        lowest = lowest.min(offset);
        if offset == have.len() as u64 {
            have.extend(data);
            bob.send(&ClientFrame::FileAck {
                id: id.clone(),
                offset: have.len() as u64,
            });
        }
    }
    assert!(
        lowest >= confirmed,
        "after the drop a chunk from {lowest} came; {confirmed} were confirmed"
    );
    assert!(have == bytes);
}

/// A raw receiver "bob" that takes files, and the id of the file `sender` then offers it.
fn raw_receiver_offered(
    addr: std::net::SocketAddr,
    sender: &ClientHandle,
    path: &Path,
) -> (RawPeer, String) {
    let mut bob = RawPeer::hello_with_features(addr, "bob", &["files"]);
    bob.accepted();
    offer(sender, path, None);
    let id = bob.frame_where(|f| match f {
        ServerFrame::FileOffer(o) => Some(o.id),
        _ => None,
    });
    (bob, id)
}

/// The next `file_chunk` a raw receiver gets: its offset and bytes.
fn chunk_of(peer: &RawPeer) -> (u64, Vec<u8>) {
    peer.frame_where(|f| match f {
        ServerFrame::FileChunk { offset, data, .. } => {
            Some((offset, base64_simd::STANDARD.decode_to_vec(data).unwrap()))
        }
        _ => None,
    })
}

/// A raw sender offers `name` with `bytes` and serves the first request in one chunk.
fn raw_offer_and_serve(sender: &mut RawPeer, id: &str, name: &str, bytes: &[u8]) {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let sha256: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    sender.send(&ClientFrame::FileOffer(
        natter::network::protocol::OfferRequest {
            id: id.into(),
            name: name.into(),
            size: bytes.len() as u64,
            sha256,
            to: None,
        },
    ));
    let delivery = sender.frame_where(|f| match f {
        ServerFrame::FileAccept {
            id: accepted,
            delivery,
            ..
        } if accepted == id => Some(delivery),
        _ => None,
    });
    let data = base64_simd::STANDARD.encode_to_string(bytes);
    sender.send(&ClientFrame::FileChunk {
        delivery,
        offset: 0,
        data,
    });
}

#[test]
fn hostile_names_are_saved_harmlessly_inside_the_folder_and_a_collision_keeps_both_files() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let downloads = tempfile::tempdir().unwrap();
    let mut mallory = RawPeer::hello_with_features(addr, "mallory", &["files"]);
    mallory.accepted();
    let bob = natter(addr.to_string(), "bob");
    let names = ["../../.bashrc", "CON.txt", "a\u{202E}gnp.exe", "CON.txt"];
    for (i, name) in names.iter().enumerate() {
        let id = format!("f{i}");
        let bytes = format!("file {i}").into_bytes();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let offer = offered(&bob);
                save(&bob, &offer.id, downloads.path());
            });
            raw_offer_and_serve(&mut mallory, &id, name, &bytes);
        });
        let path = saved(&bob);
        assert_eq!(path.parent(), Some(downloads.path()));
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
    assert_eq!(
        names_in(downloads.path()),
        ["_CON (1).txt", "_CON.txt", "agnp.exe", "bashrc"]
    );
}

#[test]
fn an_offer_over_the_hosts_limit_is_refused_with_the_limit_in_words() {
    let config = natter::network::server::ServerConfig {
        max_file_bytes: 1000,
        ..test_config()
    };
    let server = start_server(config);
    let addr = server.local_addr();
    let mut mallory = RawPeer::hello_with_features(addr, "mallory", &["files"]);
    mallory.accepted();
    mallory.send(&ClientFrame::FileOffer(
        natter::network::protocol::OfferRequest {
            id: "big".into(),
            name: "movie.mkv".into(),
            size: 2_100_000,
            sha256: "ab".repeat(32),
            to: None,
        },
    ));
    let reason = mallory.frame_where(|f| match f {
        ServerFrame::FileCancel { id, by, reason, .. } if id == "big" && by.is_empty() => {
            Some(reason)
        }
        _ => None,
    });
    assert_eq!(
        reason,
        "movie.mkv is 2.1 MB; this host carries files up to 1.0 kB."
    );
    // The Natter client says the same before it sends anything.
    let outbox = tempfile::tempdir().unwrap();
    let path = file_with(outbox.path(), "movie.mkv", &content(2000));
    let dana = natter(addr.to_string(), "dana");
    offer(&dana, &path, None);
    let (_, reason, _) = stopped(&dana);
    assert_eq!(
        reason,
        "movie.mkv is 2.0 kB; this host carries files up to 1.0 kB."
    );
}

#[test]
fn a_plain_text_peer_is_told_what_is_offered_and_how_to_get_it() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let plain = RawPeer::connect(addr);
    plain.text_until("Online");
    let outbox = tempfile::tempdir().unwrap();
    let path = file_with(outbox.path(), "photo.jpg", &content(2_100_000));
    let dana = natter(addr.to_string(), "dana");
    offer(&dana, &path, None);
    let text = plain.text_until("offers");
    assert!(
        text.contains("* dana offers photo.jpg (2.1 MB): join with Natter to receive it"),
        "{text}"
    );
}

#[test]
fn a_client_that_did_not_ask_for_files_is_closed_with_bad_frame_when_it_sends_one() {
    let server = start_server(test_config());
    let (mut peer, _) = RawPeer::join(server.local_addr(), "old");
    peer.send(&ClientFrame::FileDecline { id: "f1".into() });
    let message = peer.assert_error(natter::network::protocol::ErrorCode::BadFrame);
    assert!(message.contains("files"), "{message}");
    // A chunk in Natter's own spelling (read without the JSON decoder) is held to the same rule.
    let (mut peer, _) = RawPeer::join(server.local_addr(), "older");
    peer.send_raw(b"{\"type\":\"file_chunk\",\"delivery\":1,\"offset\":0,\"data\":\"QUJD\"}\n");
    let message = peer.assert_error(natter::network::protocol::ErrorCode::BadFrame);
    assert!(message.contains("files"), "{message}");
}

#[test]
fn a_chunk_spelt_with_spaces_and_its_keys_reordered_is_relayed_like_natters_own() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut mallory = RawPeer::hello_with_features(addr, "mallory", &["files"]);
    mallory.accepted();
    let mut bob = RawPeer::hello_with_features(addr, "bob", &["files"]);
    bob.accepted();
    let bytes = b"two ways to spell a chunk";
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let id = bob.frame_where(|f| match f {
                ServerFrame::FileOffer(o) => Some(o.id),
                _ => None,
            });
            bob.send(&ClientFrame::FileAccept { id, offset: 0 });
        });
        let sha256 = ring::digest::digest(&ring::digest::SHA256, bytes);
        mallory.send(&ClientFrame::FileOffer(
            natter::network::protocol::OfferRequest {
                id: "f1".into(),
                name: "spelt.txt".into(),
                size: bytes.len() as u64,
                sha256: sha256.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
                to: None,
            },
        ));
    });
    let delivery = mallory.frame_where(|f| match f {
        ServerFrame::FileAccept { delivery, .. } => Some(delivery),
        _ => None,
    });
    let data = base64_simd::STANDARD.encode_to_string(bytes);
    let line = format!(
        "{{ \"offset\": 0, \"data\": \"{data}\", \"delivery\": {delivery}, \"type\": \"file_chunk\" }}\n"
    );
    mallory.send_raw(line.as_bytes());
    assert_eq!(chunk_of(&bob), (0, bytes.to_vec()));
}

#[test]
fn a_receiver_dropped_for_a_bad_request_ends_its_delivery_and_the_sender_is_told_why() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let outbox = tempfile::tempdir().unwrap();
    let path = file_with(outbox.path(), "photo.jpg", &content(5000));
    let dana = natter(addr.to_string(), "dana");
    let (mut bob, id) = raw_receiver_offered(addr, &dana, &path);
    bob.send(&ClientFrame::FileAccept {
        id: id.clone(),
        offset: 0,
    });
    recv_where(dana.events(), "a chunk sent", |e| match e {
        ClientEvent::FileProgress { .. } => Some(()),
        _ => None,
    });
    bob.send(&ClientFrame::FileAccept {
        id,
        offset: 999_999,
    });
    bob.assert_error(natter::network::protocol::ErrorCode::BadFrame);
    let (peer, reason, _) = stopped(&dana);
    assert_eq!(peer.as_deref(), Some("bob"));
    assert_eq!(reason, "bob was dropped by the host.");
}

#[test]
fn an_offer_over_the_rate_limit_is_refused_with_its_id() {
    let config = natter::network::server::ServerConfig {
        rate: natter::network::server::RateLimit {
            burst: 1.0,
            per_second: 0.1,
            strikes: 10,
        },
        ..test_config()
    };
    let server = start_server(config);
    let mut mallory = RawPeer::hello_with_features(server.local_addr(), "mallory", &["files"]);
    mallory.accepted();
    for id in ["first", "second"] {
        mallory.send(&ClientFrame::FileOffer(
            natter::network::protocol::OfferRequest {
                id: id.into(),
                name: "a.txt".into(),
                size: 1,
                sha256: "ab".repeat(32),
                to: None,
            },
        ));
    }
    let reason = mallory.frame_where(|f| match f {
        ServerFrame::FileCancel { id, reason, .. } if id == "second" => Some(reason),
        _ => None,
    });
    assert!(reason.starts_with("Slow down"), "{reason}");
}

/// A raw Natter peer that takes files, in the room, connected from the loopback address `from`.
fn files_peer_from(addr: std::net::SocketAddr, from: [u8; 4], nick: &str) -> RawPeer {
    let mut peer = RawPeer::connect_from(addr, from.into()).say_hello(nick, &["files"]);
    peer.accepted();
    peer
}

/// `peer` offers file `id` of `size` bytes to the room and reads the host's confirmation.
fn offer_raw(peer: &mut RawPeer, id: &str, size: u64) {
    peer.send(&ClientFrame::FileOffer(
        natter::network::protocol::OfferRequest {
            id: id.into(),
            name: format!("{id}.bin"),
            size,
            sha256: "ab".repeat(32),
            to: None,
        },
    ));
    peer.frame_where(|f| matches!(f, ServerFrame::FileOffer(o) if o.id == id).then_some(()));
}

/// The next `file_accept` the sender `peer` gets: file id, delivery, asker.
fn accepted_by(peer: &RawPeer) -> (String, u64, String) {
    peer.frame_where(|f| match f {
        ServerFrame::FileAccept {
            id, delivery, by, ..
        } => Some((id, delivery, by)),
        _ => None,
    })
}

/// The next `file_cancel` `peer` gets: file id, delivery (to a sender), by, reason.
fn cancelled(peer: &RawPeer) -> (String, Option<u64>, String, String) {
    peer.frame_where(|f| match f {
        ServerFrame::FileCancel {
            id,
            delivery,
            by,
            reason,
        } => Some((id, delivery, by, reason)),
        _ => None,
    })
}

/// PROTOCOL.md §13: the host forwards a `file_ack` cut to what it relayed, so a sender that
/// keeps to its window from the acks it is sent is never dropped. (A receiver used to be able
/// to ack 100 MiB with nothing relayed; the sender got that offset, went past the window the
/// host holds it to, and was dropped with `bad_frame`.)
#[test]
fn a_file_ack_past_what_was_relayed_reaches_the_sender_cut_to_what_was_relayed() {
    use natter::network::protocol::WINDOW_BYTES;
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut dana = files_peer_from(addr, [127, 0, 0, 1], "dana");
    let mut bob = files_peer_from(addr, [127, 0, 0, 2], "bob");
    let size = 104_857_600;
    offer_raw(&mut dana, "big", size);
    bob.send(&ClientFrame::FileAccept {
        id: "big".into(),
        offset: 0,
    });
    let (_, delivery, _) = accepted_by(&dana);
    let acked = |dana: &RawPeer| {
        dana.frame_where(|f| match f {
            ServerFrame::FileAck { offset, .. } => Some(offset),
            _ => None,
        })
    };
    let inflated = ClientFrame::FileAck {
        id: "big".into(),
        offset: size,
    };
    bob.send(&inflated);
    assert_eq!(acked(&dana), 0, "nothing was relayed yet");
    let chunk = |offset: u64, len: usize| ClientFrame::FileChunk {
        delivery,
        offset,
        data: base64_simd::STANDARD.encode_to_string(vec![7u8; len]),
    };
    dana.send(&chunk(0, 3000));
    assert_eq!(chunk_of(&bob).0, 0);
    bob.send(&inflated);
    let last_ack = acked(&dana);
    assert_eq!(
        last_ack, 3000,
        "cut to the end of the furthest chunk relayed"
    );
    // Keeping to §13's window from that ack: a chunk ending exactly a window past it is
    // relayed, and the sender stays in the room.
    let edge = last_ack + WINDOW_BYTES - 3000;
    dana.send(&chunk(edge, 3000));
    assert_eq!(chunk_of(&bob).0, edge);
}

/// PROTOCOL.md §13: receivers at one address may hold at most half the host's delivery places,
/// so two connections from one address that take every place and then send nothing cannot
/// shut everyone else out. (Two connections used to hold all 8 places.)
#[test]
fn receivers_at_one_address_take_at_most_half_the_places_and_another_address_still_gets_one() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut offerer = files_peer_from(addr, [127, 0, 0, 1], "mal-1");
    let mut taker = files_peer_from(addr, [127, 0, 0, 1], "mal-2");
    let mut bob = files_peer_from(addr, [127, 0, 0, 2], "bob");
    let ids: Vec<String> = (0..8).map(|i| format!("f{i}")).collect();
    for id in &ids {
        offer_raw(&mut offerer, id, 1 << 30);
    }
    for id in &ids {
        taker.send(&ClientFrame::FileAccept {
            id: id.clone(),
            offset: 0,
        });
    }
    let taken: Vec<String> = (0..4).map(|_| accepted_by(&offerer).0).collect();
    assert_eq!(taken, ids[..4]);
    for id in &ids[4..] {
        let (refused, _, by, reason) = cancelled(&taker);
        assert_eq!((&refused, by.as_str()), (id, ""));
        assert!(
            reason.contains("127.0.0.1") && reason.contains("the most one address may have"),
            "{reason}"
        );
    }
    bob.send(&ClientFrame::FileAccept {
        id: "f4".into(),
        offset: 0,
    });
    let (id, _, by) = accepted_by(&offerer);
    assert_eq!((id.as_str(), by.as_str()), ("f4", "bob"));
}

/// PROTOCOL.md §13: a delivery through which no data moves for `file_idle` is ended, both
/// sides told why by the host, and its place goes to someone else. (Deliveries that moved
/// nothing used to hold their places for as long as their two ends stayed connected.)
#[test]
fn a_delivery_that_moves_no_data_is_ended_both_sides_told_and_its_place_freed() {
    let server = start_server(natter::network::server::ServerConfig {
        max_transfers: 1,
        file_idle: Duration::from_millis(300),
        ..test_config()
    });
    let addr = server.local_addr();
    let mut dana = files_peer_from(addr, [127, 0, 0, 1], "dana");
    let mut bob = files_peer_from(addr, [127, 0, 0, 2], "bob");
    let mut carol = files_peer_from(addr, [127, 0, 0, 3], "carol");
    offer_raw(&mut dana, "f1", 1 << 30);
    offer_raw(&mut dana, "f2", 1 << 30);
    bob.send(&ClientFrame::FileAccept {
        id: "f1".into(),
        offset: 0,
    });
    let (_, delivery, _) = accepted_by(&dana);
    let (id, to_sender, by, reason) = cancelled(&dana);
    assert_eq!(
        (id.as_str(), to_sender, by.as_str()),
        ("f1", Some(delivery), "")
    );
    assert!(reason.starts_with("No data moved for 0.3 s"), "{reason}");
    let (id, to_receiver, by, reason_to_bob) = cancelled(&bob);
    assert_eq!((id.as_str(), to_receiver, by.as_str()), ("f1", None, ""));
    assert_eq!(reason_to_bob, reason);
    // The one place is free again.
    carol.send(&ClientFrame::FileAccept {
        id: "f2".into(),
        offset: 0,
    });
    let (id, _, by) = accepted_by(&dana);
    assert_eq!((id.as_str(), by.as_str()), ("f2", "carol"));
}
