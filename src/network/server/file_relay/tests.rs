//! The chunk line made by hand and the length of chunk data, against the codec.

use super::relay_data::{chunk_line, decoded_len};
use super::*;

#[test]
fn a_chunk_line_made_by_hand_is_byte_for_byte_the_encoded_frame() {
    let frame = ServerFrame::FileChunk {
        id: "9f2c-61_d0".into(),
        offset: 1 << 40,
        data: "QUJD+/89".into(),
    };
    assert_eq!(
        chunk_line("9f2c-61_d0", 1 << 40, b"QUJD+/89"),
        encode(&frame)
    );
}

#[test]
fn chunk_data_that_is_not_padded_base64_or_is_too_long_has_no_length() {
    assert_eq!(decoded_len(b"QUJD", 3), Some(3));
    assert_eq!(decoded_len(b"QUI=", 3), Some(2));
    assert_eq!(decoded_len(b"QU\"=", 3), None);
    assert_eq!(decoded_len(b"QUJDR", 3), None);
    assert_eq!(decoded_len(b"QUJDRA==", 3), None);
    assert_eq!(decoded_len(b"Q=JD", 3), None, "padding inside");
    assert_eq!(decoded_len(b"QUJD====", 6), None, "four padding characters");
    assert_eq!(decoded_len(b"QUJ\n", 3), None, "whitespace");
    assert_eq!(
        decoded_len(b"QUJ=", 3),
        None,
        "unused bits before = that are not zero"
    );
}
