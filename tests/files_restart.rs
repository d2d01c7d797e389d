//! A transfer across a host restart (issue 29 §3; PROTOCOL.md §13, "A host that restarted"):
//! the host stops part-way and comes back on the same port with the same key; the receiver
//! keeps its part, the sender offers the file again under the same id and the save goes on to
//! a whole, identical file. And the host's part of it: a newcomer is shown the offers made
//! before it came, so sender and receiver may come back in either order. Real sockets on
//! 127.0.0.1.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::files::{content, file_with, names_in, natter, offer, offered, save, saved};

use common::{RawPeer, recv_where, test_config};
use natter::network::client::ClientEvent;
use natter::network::no_wake_up;
use natter::network::protocol::{ClientFrame, OfferRequest, ServerFrame};
use natter::network::server;

#[test]
fn a_save_cut_by_a_host_restart_keeps_its_part_and_goes_on_to_a_whole_file_once_offered_again() {
    // The second run serves a clone of the first run's listening socket (see tests/client.rs),
    // with the same key, as the window and `natter serve` keep theirs.
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let kept = listener.try_clone().unwrap();
    let config = test_config();
    let host = server::start(listener, config.clone(), no_wake_up()).unwrap();
    let addr = host.local_addr().to_string();
    let (outbox, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bytes = content(64 * 1024 * 1024);
    let path = file_with(outbox.path(), "big.bin", &bytes);
    let dana = natter(addr.as_str(), "dana");
    let bob = natter(addr.as_str(), "bob");
    offer(&dana, &path, None);
    let id = offered(&bob).id;
    save(&bob, &id, downloads.path());
    recv_where(bob.events(), "some progress", |e| match e {
        ClientEvent::FileProgress { done, .. } if done > 0 => Some(()),
        _ => None,
    });

    host.stop();
    recv_where(
        bob.events(),
        "LinkLost before the file is whole",
        |e| match e {
            ClientEvent::LinkLost { .. } => Some(()),
            ClientEvent::FileSaved { .. } => panic!("the file was whole before the host stopped"),
            ClientEvent::FileStopped { reason, .. } => panic!("stopped: {reason}"),
            _ => None,
        },
    );
    let parts = names_in(downloads.path());
    assert!(
        parts.len() == 1 && parts[0].ends_with(".natter-part"),
        "the part is kept while the host is away: {parts:?}"
    );

    let _host = server::start(kept, config, no_wake_up()).unwrap();
    // Panics if bob's save is stopped ("the host no longer knows this transfer").
    let path = saved(&bob);
    assert!(std::fs::read(&path).unwrap() == bytes, "the file differs");
    assert_eq!(names_in(downloads.path()), ["big.bin"]);
    // The sender offered it again under the same id; its old delivery was let go.
    recv_where(dana.events(), "dana's delivery to bob ended", |e| match e {
        ClientEvent::FileStopped {
            id: stopped,
            peer: Some(peer),
            reason,
            ..
        } if stopped == id && peer == "bob" => {
            assert!(reason.contains("host restarted"), "{reason}");
            Some(())
        }
        _ => None,
    });
    recv_where(dana.events(), "dana's file delivered to bob", |e| match e {
        ClientEvent::FileDelivered {
            id: delivered,
            peer,
        } if delivered == id => {
            assert_eq!(peer, "bob");
            Some(())
        }
        _ => None,
    });
}

#[test]
fn a_newcomer_that_takes_files_is_shown_the_offers_made_before_it_came_and_others_are_not() {
    let host = common::start_server(test_config());
    let addr = host.local_addr();
    let mut dana = RawPeer::hello_with_features(addr, "dana", &["files"]);
    dana.accepted();
    let mut offer_to = |id: &str, to: Option<&str>| {
        dana.send(&ClientFrame::FileOffer(OfferRequest {
            id: id.into(),
            name: format!("{id}.bin"),
            size: 10,
            sha256: "AB".repeat(32),
            to: to.map(str::to_string),
        }));
    };
    let mut carol = RawPeer::hello_with_features(addr, "carol", &["files"]);
    carol.accepted();
    offer_to("room", None);
    offer_to("for-carol", Some("carol"));
    // Dana's own copies say the host shows both.
    for _ in 0..2 {
        dana.frame_where(|f| matches!(f, ServerFrame::FileOffer(_)).then_some(()));
    }

    let mut bob = RawPeer::hello_with_features(addr, "bob", &["files"]);
    bob.accepted();
    let shown = bob.frame_where(|f| match f {
        ServerFrame::FileOffer(offer) => Some(offer),
        _ => None,
    });
    assert_eq!(
        (shown.id.as_str(), shown.from.as_str(), shown.size, shown.to),
        ("room", "dana", 10, None)
    );
    assert_eq!(shown.sha256, "ab".repeat(32));
    // Nothing more: the private offer is not bob's. A marker from dana comes next.
    dana.say("marker", "m");
    let next = bob.frame();
    assert!(
        matches!(&next, ServerFrame::Chat(m) if m.text == "marker"),
        "{next:?}"
    );
    // A client that did not list "files" is shown no offer.
    let (plain_natter, _) = RawPeer::join(addr, "erin");
    dana.say("marker 2", "m2");
    let next = plain_natter.frame();
    assert!(
        matches!(&next, ServerFrame::Chat(m) if m.text == "marker 2"),
        "{next:?}"
    );
}
