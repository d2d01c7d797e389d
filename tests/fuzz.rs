//! Property tests of every parser a peer reaches (JSON frames, plain lines, file chunk lines,
//! discovery datagrams, offered file names, nicknames, the dialect sniffer, window commands,
//! mentions), the line splitter, `file_data`'s frame splitter and the text cleaner (the
//! socket-level chaos test is `chaos.rs`). Text generators mix arbitrary Unicode with every
//! code point whose case mapping changes its UTF-8 length (computed from std's tables when the
//! tests run). PROPTEST_CASES sets how many inputs each property gets (default 1024, a second
//! or two of every CI run; ten times that or more is the long run:
//! `PROPTEST_CASES=10240 cargo test --release --test net fuzz::`); docs/HARDENING.md has the
//! commands for long runs and the coverage-guided fuzzing in `fuzz/`.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use natter::network::plain::parse_line;
use natter::network::protocol::{
    ChatMessage, ClientData, ClientFrame, ErrorCode, FrameSplitter, LeaveReason, LineSplitter,
    Piece, Resume, ServerFrame, decode, encode,
};
use natter::network::text::{clean_text, normalize_nick};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        // Enough to find what the tests have found so far, few enough for every CI run; the
        // long runs set PROPTEST_CASES (docs/HARDENING.md).
        .unwrap_or(1024);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \\n\\t\\r\\x1b\\[\\]0-9;你好שלום😀\"\\\\]{0,40}",
    ]
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (
            any::<u32>(),
            any_text(),
            proptest::option::of((any_text(), any::<u64>())),
            proptest::collection::vec(any_text(), 0..3)
        )
            .prop_map(|(version, nick, resume, features)| ClientFrame::Hello {
                version,
                nick,
                resume: resume.map(|(session, last_id)| Resume { session, last_id }),
                features,
            }),
        (
            any_text(),
            proptest::option::of(any_text()),
            any::<bool>(),
            proptest::option::of(any_text())
        )
            .prop_map(|(text, client_id, action, to)| ClientFrame::Chat {
                text,
                client_id,
                action,
                to,
            }),
        any_text().prop_map(|nick| ClientFrame::Nick { nick }),
        Just(ClientFrame::Ping {}),
        Just(ClientFrame::Pong {}),
        Just(ClientFrame::Bye {}),
    ]
}

/// A piece of a client's stream: a line, a `file_data` header with its bytes (of any length,
/// so some lie about it), a header in another spelling, or garbage.
fn stream_part() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![any::<u8>(), Just(b'\n'), Just(b'{')];
    prop_oneof![
        "[a-z{}\":,]{0,20}\n".prop_map(String::into_bytes),
        (0u64..40, proptest::collection::vec(byte.clone(), 0..40)).prop_map(|(length, bytes)| {
            let mut part = ClientData::line(1, 0, length as usize).into_bytes();
            part.extend_from_slice(&bytes);
            part
        }),
        "\\{\"type\":\"file_data\",[ -~]{0,20}\n".prop_map(String::into_bytes),
        proptest::collection::vec(byte, 0..40),
    ]
}

fn reason() -> impl Strategy<Value = LeaveReason> {
    prop_oneof![
        Just(LeaveReason::Left),
        Just(LeaveReason::TimedOut),
        Just(LeaveReason::Dropped),
        Just(LeaveReason::Replaced),
        Just(LeaveReason::ServerStopped),
    ]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (
            any::<u64>(),
            any_text(),
            any_text(),
            any_text(),
            proptest::option::of(any_text()),
            any::<bool>()
        )
            .prop_map(
                |(id, time, from, text, client_id, action)| ServerFrame::Chat(ChatMessage {
                    id,
                    time,
                    from,
                    text,
                    client_id,
                    action,
                    to: None,
                })
            ),
        (
            any_text(),
            any_text(),
            any::<usize>(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any_text(), 0..4)
        )
            .prop_map(
                |(nick, session, history_count, resumed, history_complete, users)| {
                    ServerFrame::Accepted {
                        nick,
                        session,
                        users,
                        history_count,
                        resumed,
                        history_complete,
                        unencrypted: Vec::new(),
                    }
                }
            ),
        (any_text(), reason(), any_text(), any_text()).prop_map(|(nick, reason, detail, time)| {
            ServerFrame::Leave {
                nick,
                reason,
                detail,
                time,
            }
        }),
        (any_text(), proptest::option::of(any_text())).prop_map(|(message, client_id)| {
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                message,
                client_id,
            }
        }),
        (any_text(), any::<bool>()).prop_map(|(reason, ended)| ServerFrame::Bye { reason, ended }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<ClientFrame>(&bytes);
        let _ = decode::<ServerFrame>(&bytes);
        let _ = parse_line(&bytes);
    }

    #[test]
    fn json_like_garbage_never_panics(text in "\\{(\"[a-z_]{0,8}\":(\"[^\"]{0,8}\"|[0-9]{1,3}|null|\\{\\}|\\[\\]),?){0,4}\\}?") {
        let _ = decode::<ClientFrame>(text.as_bytes());
    }

    #[test]
    fn client_frames_round_trip(frame in client_frame()) {
        let line = encode(&frame);
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(decode::<ClientFrame>(&line[..line.len() - 1]).unwrap(), frame);
    }

    #[test]
    fn server_frames_round_trip(frame in server_frame()) {
        let line = encode(&frame);
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(decode::<ServerFrame>(&line[..line.len() - 1]).unwrap(), frame);
    }

    /// However the stream is cut into reads, the same lines come out, and none is too long.
    #[test]
    fn the_splitter_is_independent_of_chunking(
        bytes in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\n'), Just(b'\r')], 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..8),
        max in 1usize..64,
    ) {
        let mut whole = LineSplitter::new(max);
        let mut expected = Vec::new();
        let whole_result = whole.push(&bytes, &mut expected);
        let mut cuts = cuts;
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut chunked = LineSplitter::new(max);
        let mut got = Vec::new();
        let mut start = 0;
        let mut chunked_result = Ok(());
        for cut in cuts {
            let cut = cut.min(bytes.len());
            if cut < start { continue; }
            chunked_result = chunked.push(&bytes[start..cut], &mut got);
            if chunked_result.is_err() { break; }
            start = cut;
        }
        prop_assert_eq!(whole_result.is_ok(), chunked_result.is_ok());
        if whole_result.is_ok() {
            prop_assert_eq!(&got, &expected);
        }
        for line in &got {
            prop_assert!(line.len() <= max);
            prop_assert!(!line.contains(&b'\n'));
        }
    }

    /// `file_data`'s counted bytes (PROTOCOL.md §13): however the stream of lines, headers
    /// (some lying), raw bytes and garbage is cut into reads, the same pieces and the same
    /// error come out, no data frame is longer than the limit or lost its bytes to a newline.
    #[test]
    fn the_frame_splitter_is_independent_of_chunking_and_holds_its_limits(
        parts in proptest::collection::vec(stream_part(), 0..8),
        cuts in proptest::collection::vec(0usize..400, 0..8),
        max_data in 1usize..32,
    ) {
        let bytes: Vec<u8> = parts.concat();
        let split = |cuts: &[usize]| {
            let mut splitter = FrameSplitter::<ClientData>::new(64, max_data);
            let mut got = Vec::new();
            let mut start = 0;
            for &cut in cuts.iter().chain([bytes.len()].iter()) {
                let cut = cut.min(bytes.len());
                if cut < start { continue; }
                if let Err(e) = splitter.push(&bytes[start..cut], &mut got) {
                    return (got, Err(e));
                }
                start = cut;
            }
            (got, Ok(()))
        };
        let (expected, whole) = split(&[]);
        let mut cuts = cuts;
        cuts.sort_unstable();
        let (got, chunked) = split(&cuts);
        prop_assert_eq!(&whole, &chunked);
        prop_assert_eq!(&got, &expected);
        for piece in &got {
            match piece {
                Piece::Line(line) => prop_assert!(line.len() <= 64 && !line.contains(&b'\n')),
                Piece::Data(header, data) => {
                    prop_assert!(!data.is_empty() && data.len() <= max_data);
                    prop_assert_eq!(header.length as usize, data.len());
                }
            }
        }
    }

    #[test]
    fn cleaned_text_has_no_controls_and_is_stable(text in any_text()) {
        let cleaned = clean_text(&text);
        prop_assert!(cleaned.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        prop_assert_eq!(clean_text(&cleaned), cleaned.clone());
        if let Ok(nick) = normalize_nick(&text) {
            prop_assert!(!nick.is_empty() && nick.chars().count() <= 24);
            prop_assert_eq!(normalize_nick(&nick).unwrap(), nick);
        }
    }
}

/// Every code point whose lower- or upper-case mapping has another length than the code point
/// itself, in UTF-8 bytes (U+212A KELVIN SIGN lowercases from 3 bytes to 1, U+0130 İ from 2 to
/// 3, ẞ from 3 to 2) or in characters (ß upper-cases to SS, ﬃ to FFI), from std's own tables,
/// so new Unicode versions count.
fn case_length_changing() -> &'static [char] {
    static LIST: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let changes = |c: char, mapped: &mut dyn Iterator<Item = char>| {
            let (chars, bytes) = mapped.fold((0, 0), |(n, b), m| (n + 1, b + m.len_utf8()));
            chars != 1 || bytes != c.len_utf8()
        };
        (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| changes(c, &mut c.to_lowercase()) || changes(c, &mut c.to_uppercase()))
            .collect()
    })
}

/// Words every parser looks for, so generated text hits the command and keyword paths.
const KEYWORDS: &[&str] = &[
    "/nick",
    "/NICK",
    "/msg",
    "/me",
    "/who",
    "/users",
    "/help",
    "/?",
    "exit",
    "bye",
    "/quit",
    "/name",
    "/query",
    "@",
    "//",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "`",
    "'",
    "\"",
    ".",
    "CON",
    "COM1",
    "lpt",
    "\u{1b}[31m",
    "\u{200f}",
    "\u{fe0f}",
    "\u{0307}",
    "Σ",
    "ς",
    "i",
    "I",
];

/// A keyword with one of its characters swapped for a case-length-changing one, preferably one
/// whose case mapping holds that very letter (`/nic` + U+212A KELVIN SIGN, `/ı` for `/i`...):
/// what a parser comparing case-folded copies takes for the keyword.
fn folded_keyword() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(KEYWORDS),
        any::<proptest::sample::Index>(),
        any::<proptest::sample::Index>(),
    )
        .prop_map(|(word, at, pick)| {
            let mut chars: Vec<char> = word.chars().collect();
            let at = at.index(chars.len());
            let letter = chars[at];
            let folding: Vec<char> = (case_length_changing().iter().copied())
                .filter(|c| {
                    (c.to_lowercase().chain(c.to_uppercase()))
                        .any(|m| m.eq_ignore_ascii_case(&letter))
                })
                .collect();
            let pool = if folding.is_empty() {
                case_length_changing()
            } else {
                &folding
            };
            chars[at] = pool[pick.index(pool.len())];
            chars.into_iter().collect()
        })
}

/// Text as a hostile peer types it: arbitrary characters, case-length-changing ones,
/// keywords (whole, or folded) and plain ASCII, in any order; half the time it starts with a
/// folded keyword and white space, as a command would.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(case_length_changing().to_vec()).prop_map(String::from),
        2 => folded_keyword(),
        2 => any::<char>().prop_map(String::from),
        2 => proptest::sample::select(KEYWORDS).prop_map(str::to_string),
        1 => "[a-zA-Z0-9 ]{1,4}",
    ];
    let mix = proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat());
    prop_oneof![
        mix.clone(),
        (folded_keyword(), "[ \t]{1,2}", mix).prop_map(|(word, space, rest)| word + &space + &rest),
    ]
}

/// Every parser a peer's (or the person's) text reaches; panics are the failure.
fn parse_everywhere(text: &str) {
    let _ = parse_line(text.as_bytes());
    let _ = natter::commands::parse(text);
    let _ = normalize_nick(text);
    let _ = natter::network::lookalike::NickKey::of(text);
    let _ = natter::network::lookalike::reserved_forms(text);
    let _ = natter::network::files::clean_file_name(text);
    let _ = natter::network::protocol::detect_dialect(text.as_bytes());
    let _ = natter::mentions::last_word(text);
    for nick in text.split(' ') {
        let _ = natter::mentions::mentions(text, nick);
        let _ = natter::mentions::complete(text, nick, &[nick.to_string()], "me");
    }
}

#[test]
fn the_case_length_changing_list_is_computed_and_holds_the_known_offenders() {
    let list = case_length_changing();
    for known in [
        '\u{212A}', '\u{0130}', '\u{00DF}', '\u{1E9E}', '\u{FB03}', '\u{0149}',
    ] {
        assert!(list.contains(&known), "{known:?} missing");
    }
    assert!(list.len() > 150, "only {} found", list.len());
    assert!(!list.contains(&'k') && !list.contains(&'\u{00E9}'));
}

/// Each of them, in every position of every command, goes through every parser: this finds
/// the Kelvin line (`/nic` + U+212A + ` bob`) in a fraction of a second.
#[test]
fn every_case_length_changing_letter_in_every_command_position_passes_every_parser() {
    for &c in case_length_changing() {
        for text in [
            format!("/nic{c} bob"),
            format!("/NIC{c}"),
            format!("{c}/nick bob"),
            format!("/{c}{c}{c}{c} x"),
            format!("/ms{c} a b"),
            format!("/m{c} waves"),
            format!("/wh{c}"),
            format!("exi{c}"),
            format!("hi @{c}{c} and {c}"),
            format!("CO{c}.txt"),
        ] {
            parse_everywhere(&text);
            let line = format!("{{\"type\":\"chat\",\"text\":\"{c}\",\"to\":\"{c}\"}}");
            let _ = decode::<ClientFrame>(line.as_bytes());
            let _ = decode::<ServerFrame>(line.as_bytes());
        }
        // No command: the plain side says the line as typed.
        assert_eq!(
            parse_line(format!("/nic{c} bob").as_bytes()),
            natter::network::command_line::Typed::Unknown {
                word: clean_text(&format!("nic{c}")),
                line: clean_text(&format!("/nic{c} bob"))
            }
        );
    }
}

/// Fewer cases than the cheap properties: each input goes through a dozen parsers.
fn parser_config() -> ProptestConfig {
    ProptestConfig {
        cases: (config().cases / 4).max(1),
        ..config()
    }
}

proptest! {
    #![proptest_config(parser_config())]

    #[test]
    fn hostile_text_passes_every_parser_and_commands_keep_the_typed_text(text in hostile_text()) {
        parse_everywhere(&text);
        let typed = clean_text(&text);
        use natter::network::command_line::Typed;
        match parse_line(text.as_bytes()) {
            Typed::Say(said)
            | Typed::Action(said)
            | Typed::Nick(said)
            | Typed::Farewell(said)
            | Typed::Unknown { line: said, .. } => {
                prop_assert!(typed.contains(&said), "{said:?} not in {typed:?}");
            }
            Typed::Private { to, text: said } => {
                prop_assert!(typed.contains(&to) && typed.contains(&said));
            }
            _ => {}
        }
        match natter::commands::parse(&text) {
            natter::commands::Typed::Say(said)
            | natter::commands::Typed::Action(said)
            | natter::commands::Typed::Nick(said) => prop_assert!(text.contains(&said)),
            _ => {}
        }
    }

    #[test]
    fn hostile_text_in_frames_datagrams_and_chunk_lines_never_panics(
        text in hostile_text(),
        number in any::<u64>(),
    ) {
        use natter::network::protocol::chunk_line::{ClientChunk, HostChunk};
        let quoted = serde_json::to_string(&text).unwrap();
        let frames = [
            format!("{{\"type\":\"hello\",\"version\":1,\"nick\":{quoted}}}"),
            format!("{{\"type\":\"chat\",\"text\":{quoted},\"client_id\":{quoted}}}"),
            format!("{{\"type\":\"file_offer\",\"name\":{quoted},\"size\":{number},\"sha256\":{quoted}}}"),
            format!("{{\"type\":\"file_chunk\",\"id\":{quoted},\"offset\":{number},\"data\":{quoted}}}"),
            format!("{{\"type\":\"file_chunk\",\"delivery\":{number},\"offset\":{number},\"data\":\"{text}\"}}"),
            format!("{{\"type\":\"room\",\"id\":{quoted},\"room\":{quoted},\"host\":{quoted},\"port\":{},\"people\":{number},\"version\":1}}", number % 65536),
            text.clone(),
        ];
        for frame in &frames {
            let bytes = frame.as_bytes();
            let _ = decode::<ClientFrame>(bytes);
            let _ = decode::<ServerFrame>(bytes);
            let _ = ClientChunk::read(bytes);
            let _ = HostChunk::read(bytes);
            let _ = natter::network::discovery::Datagram::decode(bytes);
            let _ = natter::network::protocol::detect_dialect(bytes);
            let _ = parse_line(bytes);
        }
    }
}
