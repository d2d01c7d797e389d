use super::*;

fn split_all(splitter: &mut LineSplitter, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for chunk in chunks {
        splitter.push(chunk, &mut out).unwrap();
    }
    out
}

#[test]
fn the_borrowed_chat_frame_encodes_byte_for_byte_like_the_owned_one() {
    let plain = ChatMessage {
        id: 7,
        time: "2026-12-05T22:00:00.000Z".into(),
        from: "dana \"x\"".into(),
        text: "שלום 你好\n\u{7}".into(),
        client_id: None,
        action: false,
        to: None,
    };
    let private_action = ChatMessage {
        action: true,
        to: Some("bob".into()),
        ..plain.clone()
    };
    for message in [plain, private_action] {
        let owned = encode(&ServerFrame::Chat(message.clone()));
        assert_eq!(encode(&ChatRef::new(&message, None)), owned);
        let own_copy = ChatMessage {
            client_id: Some("c-1".into()),
            ..message.clone()
        };
        let owned = encode(&ServerFrame::Chat(own_copy));
        assert_eq!(encode(&ChatRef::new(&message, Some("c-1"))), owned);
    }
}

#[test]
fn the_borrowed_accepted_frame_encodes_byte_for_byte_like_the_owned_one() {
    let owned = ServerFrame::Accepted {
        nick: "dana \"x\"".into(),
        session: "s".into(),
        users: vec!["a".into(), "dana \"x\"".into()],
        history_count: 3,
        resumed: true,
        history_complete: false,
        unencrypted: Vec::new(),
    };
    let borrowed = AcceptedRef {
        nick: "dana \"x\"",
        session: "s",
        users: vec!["a", "dana \"x\""],
        history_count: 3,
        resumed: true,
        history_complete: false,
        unencrypted: Vec::new(),
    };
    assert_eq!(encode(&borrowed), encode(&owned));
}

#[test]
fn frames_round_trip_and_have_the_documented_shape() {
    let hello = ClientFrame::Hello {
        version: 1,
        nick: "alice".into(),
        resume: None,
        features: Vec::new(),
    };
    let line = encode(&hello);
    assert_eq!(
        std::str::from_utf8(&line).unwrap(),
        "{\"type\":\"hello\",\"version\":1,\"nick\":\"alice\"}\n"
    );
    assert_eq!(
        decode::<ClientFrame>(&line[..line.len() - 1]).unwrap(),
        hello
    );

    let chat = ServerFrame::Chat(ChatMessage {
        id: 7,
        time: "2026-11-23T09:30:00.123Z".into(),
        from: "王小明".into(),
        text: "שלום\nworld".into(),
        client_id: Some("c1".into()),
        action: false,
        to: None,
    });
    let line = encode(&chat);
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    assert!(
        std::str::from_utf8(&line)
            .unwrap()
            .starts_with("{\"type\":\"chat\",\"id\":7,")
    );
    assert_eq!(
        decode::<ServerFrame>(&line[..line.len() - 1]).unwrap(),
        chat
    );

    let ping: ClientFrame = decode(br#"{"type":"ping"}"#).unwrap();
    assert_eq!(ping, ClientFrame::Ping {});
}

#[test]
fn decode_tells_the_kinds_of_bad_lines_apart() {
    let cases: [(&[u8], ErrorCode); 6] = [
        (b"\xff\xfe{", ErrorCode::BadUtf8),
        (b"not json", ErrorCode::BadJson),
        (b"[1,2]", ErrorCode::BadJson),
        (br#"{"nick":"x"}"#, ErrorCode::BadJson),
        (br#"{"type":"teleport"}"#, ErrorCode::UnknownType),
        (br#"{"type":"chat","text":5}"#, ErrorCode::BadFrame),
    ];
    for (line, code) in cases {
        let err = decode::<ClientFrame>(line).unwrap_err();
        assert_eq!(err.code(), code, "{:?}", String::from_utf8_lossy(line));
    }
}

#[test]
fn dialect_is_told_by_the_first_byte() {
    assert_eq!(detect_dialect(b"{\"type\":\"hello\""), Dialect::Json);
    assert_eq!(detect_dialect(b"\r\n {"), Dialect::Json);
    assert_eq!(detect_dialect(b"hello {"), Dialect::Plain);
    assert_eq!(detect_dialect(b""), Dialect::Plain);
    assert_eq!(detect_dialect("你好".as_bytes()), Dialect::Plain);
}

#[test]
fn only_warnings_are_not_fatal() {
    assert!(!ErrorCode::RateLimited.is_fatal());
    assert!(ErrorCode::LineTooLong.is_fatal());
    assert!(ErrorCode::NotReady.is_fatal());
    let json = serde_json::to_string(&ErrorCode::TooManyConnections).unwrap();
    assert_eq!(
        json,
        format!("\"{}\"", ErrorCode::TooManyConnections.as_str())
    );
}

#[test]
fn splitter_joins_chunks_and_strips_crlf() {
    let mut s = LineSplitter::new(100);
    let lines = split_all(&mut s, &[b"hel", b"lo\r\nwor", b"ld\n\n", b"tail"]);
    assert_eq!(
        lines,
        vec![b"hello".to_vec(), b"world".to_vec(), b"".to_vec()]
    );
    assert!(s.has_partial());
    assert_eq!(s.take_partial(), Some(b"tail".to_vec()));
    assert_eq!(s.take_partial(), None);
}

#[test]
fn splitter_refuses_long_lines_with_or_without_newline() {
    let mut s = LineSplitter::new(4);
    let mut out = Vec::new();
    assert_eq!(s.push(b"12345\n", &mut out), Err(LineTooLong { max: 4 }));
    let mut s = LineSplitter::new(4);
    assert!(s.push(b"12", &mut out).is_ok());
    assert_eq!(s.push(b"3456", &mut out), Err(LineTooLong { max: 4 }));
    // Exactly the limit, with CRLF, is fine.
    let mut s = LineSplitter::new(4);
    let mut out = Vec::new();
    s.push(b"1234\r", &mut out).unwrap();
    s.push(b"\n", &mut out).unwrap();
    assert_eq!(out, vec![b"1234".to_vec()]);
}

#[test]
fn a_value_the_parser_quotes_comes_back_cleaned_on_one_line_not_escaped() {
    let line = br#"{"type":"hello","version":"\u001b[31mred\nnext \"q\" \\ \u00e9","nick":"x"}"#;
    let Err(DecodeError::BadFrame { detail, .. }) = decode::<ClientFrame>(line) else {
        panic!("should be a bad frame");
    };
    assert!(
        detail.starts_with(r#"invalid type: string "red next "q" \ é", expected"#),
        "{detail}"
    );
    assert!(
        !detail.contains("\\u") && !detail.contains("\\n"),
        "{detail}"
    );
}
