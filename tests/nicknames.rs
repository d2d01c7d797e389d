//! Look-alike nicknames on real sockets: two names that look the same cannot both be in the room,
//! an invisible name is refused, and look-alikes of reserved names are refused.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{RawPeer, start_server, test_config};
use natter::network::protocol::{ClientFrame, ErrorCode, ServerFrame};
use natter::network::text::nicks_look_alike;

/// Look-alikes of `alice` from the issue, written with escapes so the test says what they are.
const ALICE_LOOK_ALIKES: [&str; 10] = [
    "\u{430}lice",    // Cyrillic small a
    "alic\u{435}",    // Cyrillic small ie
    "\u{3b1}lice",    // Greek small alpha
    "aIice",          // capital I for l
    "al\u{131}ce",    // dotless i
    "alice\u{3164}",  // Hangul filler
    "alice\u{fe0f}",  // variation selector 16
    "alice\u{e0041}", // tag latin capital A
    "al\u{34f}ice",   // combining grapheme joiner
    "\u{61c}alice",   // Arabic letter mark
];

#[test]
fn a_look_alike_of_an_online_nick_is_given_a_numbered_name_that_looks_like_neither() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (_alice, _) = RawPeer::join(addr, "alice");
    let mut others = Vec::new();
    for wanted in ALICE_LOOK_ALIKES {
        let (peer, _) = RawPeer::join(addr, wanted);
        assert_ne!(peer.nick, wanted, "{wanted:?} was let in as asked");
        assert!(
            !nicks_look_alike(&peer.nick, "alice"),
            "{wanted:?} became {:?}",
            peer.nick
        );
        others.push(peer);
    }
    // Every name in the room looks unlike every other.
    let members = server.members();
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            assert!(!nicks_look_alike(a, b), "{a:?} and {b:?} both online");
        }
    }
}

#[test]
fn renaming_to_a_look_alike_of_an_online_nick_gives_a_numbered_name() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (_alice, _) = RawPeer::join(addr, "alice");
    let (mut bob, _) = RawPeer::join(addr, "bob");
    bob.send(&ClientFrame::Nick {
        nick: "\u{430}lice".into(),
    });
    let to = bob.frame_where(|frame| match frame {
        ServerFrame::Nick { to, .. } => Some(to),
        _ => None,
    });
    assert_ne!(to, "\u{430}lice");
    assert!(!nicks_look_alike(&to, "alice"), "{to:?}");
}

#[test]
fn a_nick_of_only_invisible_characters_is_refused_with_bad_nick() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    for invisible in [
        "\u{3164}",
        "\u{fe0f}\u{34f}",
        "\u{e0041}\u{e0042}",
        "\u{115f}\u{3164}",
    ] {
        let mut peer = RawPeer::connect(addr);
        peer.send(&ClientFrame::Hello {
            version: 1,
            nick: invisible.into(),
            resume: None,
            features: Vec::new(),
        });
        let code = peer.frame_where(|frame| match frame {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        });
        assert_eq!(code, ErrorCode::BadNick, "{invisible:?}");
    }
    assert!(server.members().is_empty(), "{:?}", server.members());
}

#[test]
fn look_alikes_of_reserved_names_are_refused_with_bad_nick() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    for wanted in [
        "\u{ff48}\u{ff4f}\u{ff53}\u{ff54}",     // fullwidth host
        "\u{1d5c1}\u{1d5c8}\u{1d5cc}\u{1d5cd}", // mathematical sans-serif host
        "\u{127}ost",                           // h with stroke
        "h\u{f6}st",                            // o with diaeresis
        "s\u{435}rv\u{435}r",                   // Cyrillic ie
    ] {
        let mut peer = RawPeer::connect(addr);
        peer.send(&ClientFrame::Hello {
            version: 1,
            nick: wanted.into(),
            resume: None,
            features: Vec::new(),
        });
        let code = peer.frame_where(|frame| match frame {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        });
        assert_eq!(code, ErrorCode::BadNick, "{wanted:?}");
    }
    assert!(server.members().is_empty(), "{:?}", server.members());
}

#[test]
fn real_names_in_many_scripts_are_all_let_in_as_asked() {
    let server = start_server(test_config());
    let addr = server.local_addr();
    let (_alice, _) = RawPeer::join(addr, "alice");
    let mut peers = Vec::new();
    for wanted in [
        "王小明",
        "דנה",
        "José",
        "Zoë",
        "محمد",
        "さくら",
        "김민준",
        "Ольга",
        "Νίκος",
        "Zoe",
        "Jose",
        "alicia",
        "Alex",
    ] {
        let (peer, _) = RawPeer::join(addr, wanted);
        assert_eq!(peer.nick, wanted);
        peers.push(peer);
    }
}
