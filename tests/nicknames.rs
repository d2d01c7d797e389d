//! Look-alike nicknames on real sockets: two names that look the same cannot both be in the room,
//! an invisible name is refused, and look-alikes of reserved names are refused. Issue 25's
//! names are one table ([`NAMES`]), checked by the rules alone and over real sockets, in a
//! `hello` and in a plain peer's `/nick`.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{RawPeer, start_server, test_config};
use natter::network::protocol::{ClientFrame, ErrorCode, ServerFrame};
use natter::network::server::{RateLimit, ServerConfig};
use natter::network::text::{nicks_look_alike, normalize_nick};

/// Look-alikes of `alice` from the issue, written with escapes so the test says what they are.
const ALICE_LOOK_ALIKES: [&str; 8] = [
    "\u{430}lice",   // Cyrillic small a
    "alic\u{435}",   // Cyrillic small ie
    "\u{3b1}lice",   // Greek small alpha
    "aIice",         // capital I for l
    "al\u{131}ce",   // dotless i
    "alice\u{3164}", // Hangul filler
    "alice\u{fe0f}", // variation selector 16
    "al\u{34f}ice",  // combining grapheme joiner
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

/// What becomes of a wanted name while `alice`, `李雷` and `דנה` are online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Refused with `bad_nick`: invisible, a format character, or a reserved name.
    Refused,
    /// Let in, but under a numbered name: it looks like this online name.
    LooksLike(&'static str),
    /// Let in as typed, unlike anyone online and any other name of the table.
    Allowed,
}

/// Who is online while the table is checked.
const ONLINE: [&str; 3] = ["alice", "李雷", "דנה"];

/// Issue 25's names (name, fate, why), escaped so the table says what they are.
const NAMES: [(&str, Fate, &str); 37] = [
    (
        "alice\u{2800}",
        Fate::LooksLike("alice"),
        "braille pattern blank after alice",
    ),
    (
        "\u{2800}alice",
        Fate::LooksLike("alice"),
        "braille pattern blank before alice",
    ),
    (
        "al\u{131}\u{307}ce",
        Fate::LooksLike("alice"),
        "dotless i with a combining dot above",
    ),
    ("al\u{131}ce", Fate::LooksLike("alice"), "dotless i"),
    (
        "ali\u{307}ce",
        Fate::LooksLike("alice"),
        "a second dot on the i",
    ),
    (
        "李雷\u{2800}",
        Fate::LooksLike("李雷"),
        "braille pattern blank after Han",
    ),
    (
        "李雷\u{3164}",
        Fate::LooksLike("李雷"),
        "Hangul filler after Han",
    ),
    (
        "李雷\u{ffa0}",
        Fate::LooksLike("李雷"),
        "halfwidth Hangul filler after Han",
    ),
    (
        "דנה\u{2800}",
        Fate::LooksLike("דנה"),
        "braille pattern blank after Hebrew",
    ),
    (
        "\u{2800}דנה",
        Fate::LooksLike("דנה"),
        "braille pattern blank before Hebrew",
    ),
    (
        "דנה\u{115f}",
        Fate::LooksLike("דנה"),
        "Hangul choseong filler after Hebrew",
    ),
    ("\u{397}ost", Fate::Refused, "Greek capital Eta: Host"),
    (
        "\u{397}\u{39f}\u{405}\u{422}",
        Fate::Refused,
        "Greek and Cyrillic capitals: HOST",
    ),
    ("\u{41d}ost", Fate::Refused, "Cyrillic capital En: Host"),
    ("\u{39d}atter", Fate::Refused, "Greek capital Nu: Natter"),
    (
        "host\u{2800}",
        Fate::Refused,
        "host with a braille pattern blank",
    ),
    (
        "admin\u{2800}",
        Fate::Refused,
        "admin with a braille pattern blank",
    ),
    (
        "adm\u{131}\u{307}n",
        Fate::Refused,
        "admin with a dotless i and a combining dot",
    ),
    ("\u{2800}", Fate::Refused, "a braille pattern blank alone"),
    (
        "\u{3164}\u{2800}",
        Fate::Refused,
        "Hangul filler and braille blank",
    ),
    (
        "\u{ffa0}\u{2800}",
        Fate::Refused,
        "halfwidth Hangul filler and braille blank",
    ),
    ("\u{332}", Fate::Refused, "a lone combining low line"),
    (
        "\u{2800}\u{301}\u{1d159}",
        Fate::Refused,
        "a mark on blanks",
    ),
    (
        "zoe\u{61c}",
        Fate::Refused,
        "format character: Arabic letter mark",
    ),
    (
        "zo\u{180e}e",
        Fate::Refused,
        "format character: Mongolian vowel separator",
    ),
    (
        "\u{206a}zoe",
        Fate::Refused,
        "format character: inhibit symmetric swapping",
    ),
    (
        "zoe\u{1bca0}",
        Fate::Refused,
        "format character: shorthand letter overlap",
    ),
    (
        "alice\u{e0041}",
        Fate::Refused,
        "format character: tag latin capital A",
    ),
    (
        "\u{600}zoe",
        Fate::Refused,
        "format character: Arabic number sign",
    ),
    ("İlker", Fate::Allowed, "Turkish dotted capital I"),
    ("Ørjan", Fate::Allowed, "Norwegian"),
    (
        "Nguyễn",
        Fate::Allowed,
        "Vietnamese, two marks on one letter",
    ),
    ("דנה-כהן", Fate::Allowed, "Hebrew with a hyphen"),
    ("王小明", Fate::Allowed, "Han"),
    ("محمد", Fate::Allowed, "Arabic"),
    ("Ayşe", Fate::Allowed, "Turkish cedilla"),
    ("Νίκος", Fate::Allowed, "Greek"),
];

/// The rules alone (what the app checks as the name is typed, and the room compares by).
#[test]
fn each_name_of_the_table_is_refused_numbered_or_allowed_by_the_rules() {
    for (name, fate, why) in NAMES {
        let normalized = normalize_nick(name);
        match fate {
            Fate::Refused => assert!(normalized.is_err(), "{why}: {name:?} let in"),
            Fate::LooksLike(online) => {
                assert!(normalized.is_ok(), "{why}: {name:?} {normalized:?}");
                assert!(
                    nicks_look_alike(name, online),
                    "{why}: {name:?} vs {online:?}"
                );
            }
            Fate::Allowed => {
                assert_eq!(normalized.as_deref(), Ok(name), "{why}");
                for other in ONLINE {
                    assert!(
                        !nicks_look_alike(name, other),
                        "{why}: {name:?} vs {other:?}"
                    );
                }
            }
        }
    }
    let allowed: Vec<&str> = (NAMES.iter())
        .filter(|(_, fate, _)| *fate == Fate::Allowed)
        .map(|(name, ..)| *name)
        .collect();
    for (i, a) in allowed.iter().enumerate() {
        for b in &allowed[i + 1..] {
            assert!(
                !nicks_look_alike(a, b),
                "{a:?} and {b:?} taken for each other"
            );
        }
    }
}

/// Renames come fast here: the test's budget must not be what refuses them.
fn roomy_config() -> ServerConfig {
    ServerConfig {
        rate: RateLimit {
            burst: 1000.0,
            per_second: 1000.0,
            strikes: 10,
        },
        ..test_config()
    }
}

/// Over real sockets: a `hello` with each name, and the allowed ones all stay online at once.
#[test]
fn each_name_of_the_table_in_a_hello_is_refused_numbered_or_let_in_as_typed() {
    let server = start_server(roomy_config());
    let addr = server.local_addr();
    let _online: Vec<RawPeer> = ONLINE.iter().map(|n| RawPeer::join(addr, n).0).collect();
    let mut kept = Vec::new();
    for (name, fate, why) in NAMES {
        let mut peer = RawPeer::hello(addr, name);
        if fate == Fate::Refused {
            peer.assert_error(ErrorCode::BadNick);
            continue;
        }
        peer.accepted();
        match fate {
            Fate::LooksLike(online) => {
                assert_ne!(peer.nick, name, "{why}: let in as asked");
                assert!(
                    !nicks_look_alike(&peer.nick, online),
                    "{why}: {:?}",
                    peer.nick
                );
            }
            _ => {
                assert_eq!(peer.nick, name, "{why}");
                kept.push(peer);
            }
        }
    }
    let members = server.members();
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            assert!(!nicks_look_alike(a, b), "{a:?} and {b:?} both online");
        }
    }
}

/// Over real sockets: a plain peer's `/nick` with each name that is not allowed: a refusal
/// line, or a numbered name.
#[test]
fn each_refused_or_look_alike_name_of_the_table_in_a_plain_nick_is_refused_or_numbered() {
    let server = start_server(roomy_config());
    let addr = server.local_addr();
    let _online: Vec<RawPeer> = ONLINE.iter().map(|n| RawPeer::join(addr, n).0).collect();
    let mut nc = RawPeer::connect(addr);
    nc.send_raw(b"/who\n");
    nc.text_until("* Online");
    for (i, (name, fate, why)) in NAMES.into_iter().enumerate() {
        if fate == Fate::Allowed {
            continue;
        }
        // A name of its own first: a look-alike asked for twice would be the name it has.
        nc.send_raw(format!("/nick plain{i}\n").as_bytes());
        nc.text_until(&format!(" is now plain{i}"));
        nc.send_raw(format!("/nick {name}\n").as_bytes());
        let answer = loop {
            let line = nc.text_line();
            if line.starts_with("! ") || line.contains(" is now ") {
                break line;
            }
        };
        match fate {
            Fate::Refused => assert!(answer.starts_with("! "), "{why}: {answer:?}"),
            _ => {
                let to = answer
                    .rsplit(" is now ")
                    .next()
                    .unwrap_or_default()
                    .trim_end();
                assert_ne!(to, name, "{why}: {answer:?}");
                assert!(to.contains('-'), "{why}: not numbered: {answer:?}");
            }
        }
    }
}
