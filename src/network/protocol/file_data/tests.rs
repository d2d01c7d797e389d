//! The `file_data` headers and the splitter that counts the bytes after one.

use super::*;

fn split<H: DataHeader>(splitter: &mut FrameSplitter<H>, parts: &[&[u8]]) -> Vec<Piece<H>> {
    let mut out = Vec::new();
    for part in parts {
        splitter.push(part, &mut out).unwrap();
    }
    out
}

#[test]
fn header_lines_as_natter_writes_them_read_back_the_same() {
    let line = ClientData::line(7, 1 << 40, 262_144);
    let read = ClientData::read(line.trim_end().as_bytes()).unwrap();
    assert_eq!(
        read,
        ClientData {
            delivery: 7,
            offset: 1 << 40,
            length: 262_144
        }
    );
    let line = HostData::line("9f2c-61_d0", 0, 5);
    let read = HostData::read(line.trim_end().as_bytes()).unwrap();
    assert_eq!(
        (read.id.as_str(), read.offset, read.length),
        ("9f2c-61_d0", 0, 5)
    );
}

#[test]
fn raw_bytes_after_a_header_come_whole_even_with_newlines_and_split_anywhere() {
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let mut stream = b"{\"type\":\"ping\"}\n".to_vec();
    stream.extend_from_slice(ClientData::line(3, 0, data.len()).as_bytes());
    stream.extend_from_slice(&data);
    stream.extend_from_slice(b"{\"type\":\"pong\"}\n");
    for cut in [1, 7, 20, 500, 1016, stream.len() - 1] {
        let mut splitter = FrameSplitter::<ClientData>::new(100, 4096);
        let pieces = split(&mut splitter, &[&stream[..cut], &stream[cut..]]);
        assert_eq!(
            pieces,
            vec![
                Piece::Line(b"{\"type\":\"ping\"}".to_vec()),
                Piece::Data(
                    ClientData {
                        delivery: 3,
                        offset: 0,
                        length: 1000
                    },
                    data.clone()
                ),
                Piece::Line(b"{\"type\":\"pong\"}".to_vec()),
            ],
            "cut at {cut}"
        );
        assert!(!splitter.in_data());
    }
}

#[test]
fn a_length_over_the_limit_or_zero_is_refused_before_any_byte_is_read() {
    let mut splitter = FrameSplitter::<ClientData>::new(100, 4096);
    let mut out = Vec::new();
    let header = ClientData::line(1, 0, 4097);
    assert_eq!(
        splitter.push(header.as_bytes(), &mut out),
        Err(SplitError::TooLong {
            length: 4097,
            max: 4096
        })
    );
    let mut splitter = FrameSplitter::<ClientData>::new(100, 4096);
    let huge = br#"{"type":"file_data","delivery":1,"offset":0,"length":18446744073709551615}"#;
    let mut line = huge.to_vec();
    line.push(b'\n');
    assert!(matches!(
        splitter.push(&line, &mut out),
        Err(SplitError::TooLong { .. })
    ));
    let mut splitter = FrameSplitter::<ClientData>::new(100, 4096);
    let zero = ClientData::line(1, 0, 0);
    assert!(matches!(
        splitter.push(zero.as_bytes(), &mut out),
        Err(SplitError::TooLong { length: 0, .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn a_header_in_another_spelling_is_refused_not_read_as_a_line() {
    let others: [&[u8]; 4] = [
        b"{\"type\":\"file_data\",\"offset\":0,\"delivery\":1,\"length\":3}\n",
        b"{\"type\":\"file_data\",\"delivery\":1,\"offset\":0, \"length\":3}\n",
        b"{\"type\":\"file_data\",\"delivery\":1,\"offset\":0,\"length\":03}\n",
        b"{\"type\":\"file_data\",\"delivery\":1,\"offset\":0}\n",
    ];
    for line in others {
        let mut splitter = FrameSplitter::<ClientData>::new(100, 4096);
        let mut out = Vec::new();
        assert_eq!(
            splitter.push(line, &mut out),
            Err(SplitError::BadHeader),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    let bad_id = b"{\"type\":\"file_data\",\"id\":\"a b\",\"offset\":0,\"length\":3}\n";
    let mut splitter = FrameSplitter::<HostData>::new(100, 4096);
    assert_eq!(
        splitter.push(bad_id, &mut Vec::new()),
        Err(SplitError::BadHeader)
    );
}

#[test]
fn a_stream_that_stops_inside_data_says_so_and_gives_no_part() {
    let mut splitter = FrameSplitter::<ClientData>::new(100, 4096);
    let mut stream = ClientData::line(1, 0, 10).into_bytes();
    stream.extend_from_slice(b"12345");
    let pieces = split(&mut splitter, &[&stream]);
    assert!(pieces.is_empty());
    assert!(splitter.in_data());
}

#[test]
fn lines_only_reads_a_header_as_a_plain_line() {
    let mut splitter = FrameSplitter::<ClientData>::lines_only(100);
    let header = ClientData::line(1, 0, 3);
    let pieces = split(&mut splitter, &[header.as_bytes(), b"abc\n"]);
    assert_eq!(
        pieces,
        vec![
            Piece::Line(header.trim_end().as_bytes().to_vec()),
            Piece::Line(b"abc".to_vec())
        ]
    );
}

#[test]
fn with_headroom_data_follows_that_many_zero_bytes_and_a_recycled_buffer_is_used_again() {
    let mut splitter = FrameSplitter::<ClientData>::new(100, 4096).with_headroom(4);
    let mut stream = ClientData::line(1, 0, 3).into_bytes();
    stream.extend_from_slice(b"abc");
    let mut pieces = split(&mut splitter, &[&stream]);
    let Some(Piece::Data(_, buffer)) = pieces.pop() else {
        panic!("no data frame");
    };
    assert_eq!(buffer, b"\0\0\0\0abc");
    let reused = buffer.as_ptr();
    splitter.recycle(buffer);
    stream = ClientData::line(1, 3, 2).into_bytes();
    stream.extend_from_slice(b"de");
    let Some(Piece::Data(_, buffer)) = split(&mut splitter, &[&stream]).pop() else {
        panic!("no data frame");
    };
    assert_eq!(buffer, b"\0\0\0\0de");
    assert_eq!(
        buffer.as_ptr(),
        reused,
        "the recycled buffer holds the next frame"
    );
}
