//! Files through the host at the wire level (PROTOCOL.md §13), raw peers and clients against
//! the host's rules: hostile names saved harmlessly, the size and rate limits told in words,
//! plain-text peers told how to get a file, bad frames and requests dropping only their
//! sender, acks cut to what was relayed, places shared between addresses, idle deliveries
//! ended. (tests/files.rs: files as people send and save them.)
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::files::{
    chunk_of, content, file_with, names_in, natter, offer, offered, raw_receiver_offered, save,
    saved, stopped,
};

use std::time::Duration;

use common::{RawPeer, recv_where, start_server, test_config};
use natter::network::client::ClientEvent;
use natter::network::protocol::{ClientFrame, ServerFrame};

/// A raw sender offers `name` with `bytes` and serves the first request in one chunk.
fn raw_offer_and_serve(sender: &mut RawPeer, id: &str, name: &str, bytes: &[u8]) {
    let sha256 = common::sha256_hex_of(bytes);
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
        mallory.send(&ClientFrame::FileOffer(
            natter::network::protocol::OfferRequest {
                id: "f1".into(),
                name: "spelt.txt".into(),
                size: bytes.len() as u64,
                sha256: common::sha256_hex_of(bytes),
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
