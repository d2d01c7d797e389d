//! File data as raw bytes (`file_data`, PROTOCOL.md §13): a header line, then exactly its
//! `length` bytes. Peers that listed `file_data` send and get it raw; the host turns it into
//! base64 `file_chunk` lines for peers that did not (and the reverse), holds a header to the
//! length limit before reading a byte of it, and lets go of a sender that stops inside one,
//! while everyone else goes on. Plain-text peers are not affected.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::files::{content, file_with, natter, offer, offered, save, saved};

use common::{RawPeer, start_server, test_config};
use natter::network::client::ClientHandle;
use natter::network::protocol::{
    CHUNK_BYTES, ClientData, ClientFrame, DATA_BYTES, ErrorCode, OfferRequest, ServerFrame,
};
use natter::network::server::ServerHandle;

/// What a client lists to send and take raw data.
const NEW: &[&str] = &["files", "file_data"];
/// What a client from before raw data lists.
const OLD: &[&str] = &["files"];

fn joined(addr: std::net::SocketAddr, nick: &str, features: &[&str]) -> RawPeer {
    let mut peer = RawPeer::hello_with_features(addr, nick, features);
    peer.accepted();
    peer
}

/// `sender` offers `bytes` as file `id` to the room.
fn raw_offer(sender: &mut RawPeer, id: &str, bytes: &[u8]) {
    sender.send(&ClientFrame::FileOffer(OfferRequest {
        id: id.into(),
        name: format!("{id}.bin"),
        size: bytes.len() as u64,
        sha256: common::sha256_hex_of(bytes),
        to: None,
    }));
}

/// The id of the next offer `peer` is shown.
fn offer_id(peer: &RawPeer) -> String {
    peer.frame_where(|f| match f {
        ServerFrame::FileOffer(o) => Some(o.id),
        _ => None,
    })
}

/// The delivery of the next `file_accept` the sender `peer` gets.
fn delivery_of(peer: &RawPeer) -> u64 {
    peer.frame_where(|f| match f {
        ServerFrame::FileAccept { delivery, .. } => Some(delivery),
        _ => None,
    })
}

/// A `file_data` frame as a client sends it.
fn data_frame(delivery: u64, offset: u64, bytes: &[u8]) -> Vec<u8> {
    let mut frame = ClientData::line(delivery, offset, bytes.len()).into_bytes();
    frame.extend_from_slice(bytes);
    frame
}

/// `file_data` frames for `id` until `len` bytes came from `from`: the bytes, and the longest
/// frame's length. Each must start where the last ended.
/// What keeps a room with a Natter sender alive: the host, the sender's file and the sender.
struct Room {
    _server: ServerHandle,
    _outbox: tempfile::TempDir,
    _dana: ClientHandle,
}

/// Dana (the Natter client) offers a file of `size` bytes, and bob, a raw peer taking
/// `file_data`, accepts it from `offset`: the room, the file's bytes, bob and the offer's id.
fn dana_offers_and_raw_bob_accepts(size: usize, offset: u64) -> (Room, Vec<u8>, RawPeer, String) {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let outbox = tempfile::tempdir().unwrap();
    let bytes = content(size);
    let path = file_with(outbox.path(), "photo.jpg", &bytes);
    let dana = natter(addr.to_string(), "dana");
    let mut bob = joined(addr, "bob", NEW);
    offer(&dana, &path, None);
    let id = offer_id(&bob);
    bob.send(&ClientFrame::FileAccept {
        id: id.clone(),
        offset,
    });
    let room = Room {
        _server: server,
        _outbox: outbox,
        _dana: dana,
    };
    (room, bytes, bob, id)
}

/// Mallory (a raw peer listing `sender` features) offers `bytes` as "f1" and bob (listing
/// `receiver` features) accepts it from the start: mallory, bob, the offer's id and the
/// delivery.
fn offered_and_accepted(
    addr: std::net::SocketAddr,
    sender: &[&str],
    receiver: &[&str],
    bytes: &[u8],
) -> (RawPeer, RawPeer, String, u64) {
    let mut mallory = joined(addr, "mallory", sender);
    let mut bob = joined(addr, "bob", receiver);
    raw_offer(&mut mallory, "f1", bytes);
    let id = offer_id(&bob);
    bob.send(&ClientFrame::FileAccept {
        id: id.clone(),
        offset: 0,
    });
    let delivery = delivery_of(&mallory);
    (mallory, bob, id, delivery)
}

/// Bob still chats: the line he says comes back to him.
fn assert_still_chats(bob: &mut RawPeer) {
    bob.say("still here", "b1");
    let text = bob.frame_where(|f| match f {
        ServerFrame::Chat(m) if m.from == "bob" => Some(m.text),
        _ => None,
    });
    assert_eq!(text, "still here");
}

fn raw_data(peer: &RawPeer, id: &str, from: u64, len: usize) -> (Vec<u8>, usize) {
    let (mut got, mut longest) = (Vec::new(), 0);
    while got.len() < len {
        let (header, bytes) = peer.data();
        assert_eq!(header.id, id);
        assert_eq!(header.offset, from + got.len() as u64);
        assert_eq!(header.length as usize, bytes.len());
        longest = longest.max(bytes.len());
        got.extend_from_slice(&bytes);
    }
    (got, longest)
}

#[test]
fn a_natter_sender_sends_raw_frames_larger_than_a_chunk_and_a_raw_receiver_gets_them_byte_for_byte()
{
    let (_room, bytes, bob, id) = dana_offers_and_raw_bob_accepts(2_600_000, 0);
    let (got, longest) = raw_data(&bob, &id, 0, bytes.len());
    assert!(got == bytes, "the bytes differ");
    assert_eq!(
        longest, DATA_BYTES,
        "frames of the raw size, not base64 chunks"
    );
}

#[test]
fn a_raw_sender_s_frames_are_saved_and_checked_by_a_natter_receiver() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let downloads = tempfile::tempdir().unwrap();
    let bytes = content(300_000);
    let mut mallory = joined(addr, "mallory", NEW);
    let bob = natter(addr.to_string(), "bob");
    raw_offer(&mut mallory, "f1", &bytes);
    let offer = offered(&bob);
    save(&bob, &offer.id, downloads.path());
    let delivery = delivery_of(&mallory);
    // Newlines and every byte value inside: data is counted, never split at a newline.
    mallory.send_raw(&data_frame(delivery, 0, &bytes[..200_000]));
    mallory.send_raw(&data_frame(delivery, 200_000, &bytes[200_000..]));
    let path = saved(&bob);
    assert!(
        std::fs::read(path).unwrap() == bytes,
        "the saved file differs"
    );
}

#[test]
fn raw_data_reaches_a_receiver_without_file_data_as_base64_chunks_of_at_most_chunk_bytes() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let bytes = content(200_000);
    let (mut mallory, bob, _, delivery) = offered_and_accepted(addr, NEW, OLD, &bytes);
    mallory.send_raw(&data_frame(delivery, 0, &bytes));
    let mut got = Vec::new();
    while got.len() < bytes.len() {
        let (offset, data) = bob.frame_where(|f| match f {
            ServerFrame::FileChunk { offset, data, .. } => Some((offset, data)),
            _ => None,
        });
        let data = base64_simd::STANDARD.decode_to_vec(data).unwrap();
        assert_eq!(offset, got.len() as u64);
        assert!(data.len() <= CHUNK_BYTES, "{} bytes in a chunk", data.len());
        got.extend_from_slice(&data);
    }
    assert!(got == bytes, "the bytes differ");
}

#[test]
fn base64_chunks_from_a_sender_without_file_data_reach_a_file_data_receiver_raw() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let bytes = content(40_000);
    let (mut mallory, bob, id, delivery) = offered_and_accepted(addr, OLD, NEW, &bytes);
    mallory.send(&ClientFrame::FileChunk {
        delivery,
        offset: 0,
        data: base64_simd::STANDARD.encode_to_string(&bytes),
    });
    let (got, _) = raw_data(&bob, &id, 0, bytes.len());
    assert!(got == bytes, "the bytes differ");
}

#[test]
fn a_receiver_that_asks_from_an_offset_gets_raw_frames_from_that_offset_on() {
    let (_room, bytes, bob, id) = dana_offers_and_raw_bob_accepts(700_000, 300_001);
    let (got, _) = raw_data(&bob, &id, 300_001, bytes.len() - 300_001);
    assert!(got == bytes[300_001..], "the bytes differ");
}

#[test]
fn a_header_announcing_more_than_the_limit_drops_its_sender_with_bad_frame_and_the_room_goes_on() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let mut mallory = joined(addr, "mallory", NEW);
    let mut bob = joined(addr, "bob", NEW);
    let header = ClientData::line(1, 0, DATA_BYTES + 1);
    mallory.send_raw(header.as_bytes());
    let message = mallory.assert_error(ErrorCode::BadFrame);
    assert!(
        message.contains(&format!("announced {} bytes", DATA_BYTES + 1))
            && message.contains(&format!("at most {DATA_BYTES}")),
        "{message}"
    );
    assert!(
        mallory.line().is_none(),
        "mallory is closed after the error"
    );
    assert_still_chats(&mut bob);
}

#[test]
fn a_sender_that_closes_inside_a_frame_leaves_saying_so_and_nothing_of_the_frame_is_relayed() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let bytes = content(1000);
    let (mut mallory, mut bob, _, delivery) = offered_and_accepted(addr, NEW, NEW, &bytes);
    let frame = data_frame(delivery, 0, &bytes);
    mallory.send_raw(&frame[..frame.len() - 500]);
    mallory.vanish();
    // `frame_where` panics on any file_data before the leave.
    let detail = bob.frame_where(|f| match f {
        ServerFrame::Leave { nick, detail, .. } if nick == "mallory" => Some(detail),
        _ => None,
    });
    assert!(detail.contains("in the middle of file data"), "{detail}");
    assert_still_chats(&mut bob);
}

#[test]
fn a_plain_text_peer_that_types_a_file_data_header_is_read_as_two_lines_of_text() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let bob = joined(addr, "bob", NEW);
    let mut nc = RawPeer::connect(addr);
    nc.text_until("Online");
    let header = ClientData::line(1, 0, 5);
    nc.send_raw(header.as_bytes());
    nc.send_raw(b"after\n");
    let mut texts = Vec::new();
    while texts.len() < 2 {
        texts.push(bob.frame_where(|f| match f {
            ServerFrame::Chat(m) if m.from.starts_with("guest") => Some(m.text),
            _ => None,
        }));
    }
    assert_eq!(texts, [header.trim_end(), "after"]);
}
