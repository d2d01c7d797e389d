//! Files through the host, on real sockets (PROTOCOL.md §13): a file arrives byte-identical
//! in the room and in private and nobody else sees it, declining writes nothing, either side
//! can stop and no partial file is left, a cut link resumes without sending again what was
//! confirmed. (The host's rules at the wire level: tests/files_wire.rs.)
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{CuttableProxy, RawPeer, recv_where, start_server, test_config};
use natter::network::client::{
    self, ClientCommand, ClientEvent, ClientHandle, ConnectOptions, FileCommand,
};
use natter::network::protocol::{ClientFrame, FileOffer, Resume, ServerFrame};

pub(crate) fn quick(address: impl Into<String>, nick: &str) -> ConnectOptions {
    ConnectOptions {
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..ConnectOptions::new(address, nick)
    }
}

/// A Natter client in the room.
pub(crate) fn natter(address: impl Into<String>, nick: &str) -> ClientHandle {
    let client = client::connect(quick(address, nick), natter::network::no_wake_up()).unwrap();
    recv_where(client.events(), "Connected", |e| match e {
        ClientEvent::Connected { .. } => Some(()),
        _ => None,
    });
    client
}

/// `len` bytes that differ from chunk to chunk, so a misplaced chunk changes the hash: byte
/// `i` is `(7i + i / 4099) mod 256`. That repeats every 4099 × 128 bytes, so one period is
/// computed and the rest copied: 64 MiB made byte by byte took seconds in a debug build.
pub(crate) fn content(len: usize) -> Vec<u8> {
    const PERIOD: usize = 4099 * 128;
    let period: Vec<u8> = (0..PERIOD.min(len))
        .map(|i| (i * 7 + i / 4099) as u8)
        .collect();
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let more = (len - bytes.len()).min(PERIOD);
        bytes.extend_from_slice(&period[..more]);
    }
    bytes
}

#[test]
fn the_copied_content_is_byte_for_byte_the_formula() {
    let len = 4099 * 128 * 2 + 4321;
    let bytes = content(len);
    assert_eq!(bytes.len(), len);
    for (i, byte) in bytes.iter().enumerate() {
        assert_eq!(*byte, (i * 7 + i / 4099) as u8, "byte {i}");
    }
}

pub(crate) fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

pub(crate) fn offer(client: &ClientHandle, path: &Path, to: Option<&str>) {
    client.send(ClientCommand::File(FileCommand::Offer {
        path: path.to_path_buf(),
        to: to.map(str::to_string),
    }));
}

/// Waits for someone else's offer.
pub(crate) fn offered(client: &ClientHandle) -> FileOffer {
    recv_where(client.events(), "someone's FileOffered", |e| match e {
        ClientEvent::FileOffered { offer, ours: false } => Some(offer),
        _ => None,
    })
}

pub(crate) fn save(client: &ClientHandle, id: &str, folder: &Path) {
    client.send(ClientCommand::File(FileCommand::Save {
        id: id.to_string(),
        folder: folder.to_path_buf(),
    }));
}

/// The saved file's path. Waits WAIT after each sign of progress rather than WAIT in all: a
/// 32 MiB file takes longer than that under Wine on a busy machine, while a stall still fails.
pub(crate) fn saved(client: &ClientHandle) -> PathBuf {
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
pub(crate) fn stopped(client: &ClientHandle) -> (Option<String>, String, bool) {
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
pub(crate) fn assert_nothing_left(folder: &Path) {
    let names = names_in(folder);
    assert!(names.is_empty(), "left behind: {names:?}");
}

/// Names in `folder`, sorted.
pub(crate) fn names_in(folder: &Path) -> Vec<String> {
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

/// Two clients and a transfer between them: the sender, the receiver, the file's id, the two
/// folders and the bytes.
type UnderWay = (
    ClientHandle,
    ClientHandle,
    String,
    tempfile::TempDir,
    tempfile::TempDir,
    Vec<u8>,
);

/// Starts a large delivery from dana to bob and waits until bob has some of it. Bob joins
/// through `proxy`, whose links pass 4 MiB more once he joined (the offer, then part of the
/// file): the file is not whole whatever the speed, until the proxy lets more through.
fn transfer_under_way(addr: &str, proxy: &CuttableProxy, size: usize) -> UnderWay {
    let (outbox, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bytes = content(size);
    let path = file_with(outbox.path(), "big.bin", &bytes);
    let dana = natter(addr, "dana");
    let bob = natter(proxy.addr.to_string(), "bob");
    proxy.limit_downloads(4 * 1024 * 1024);
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
    // Through a proxy that holds bob's link after 4 MiB: the file is not whole, however fast.
    let proxy = CuttableProxy::start(server.local_addr());
    let (dana, bob, id, _outbox, downloads, _) =
        transfer_under_way(&addr, &proxy, 64 * 1024 * 1024);
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
    // Through a proxy that holds bob's link after 4 MiB: the file is not whole, however fast.
    let proxy = CuttableProxy::start(server.local_addr());
    let (dana, bob, id, _outbox, downloads, _) =
        transfer_under_way(&addr, &proxy, 64 * 1024 * 1024);
    dana.send(ClientCommand::File(FileCommand::Cancel { id }));
    // What the host sends bob goes on, the cancel among it.
    proxy.unlimit_downloads();
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
        transfer_under_way(&addr, &proxy, 32 * 1024 * 1024);
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
pub(crate) fn raw_receiver_offered(
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
pub(crate) fn chunk_of(peer: &RawPeer) -> (u64, Vec<u8>) {
    peer.frame_where(|f| match f {
        ServerFrame::FileChunk { offset, data, .. } => {
            Some((offset, base64_simd::STANDARD.decode_to_vec(data).unwrap()))
        }
        _ => None,
    })
}
