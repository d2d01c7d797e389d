//! `file_chunk` lines read without a general JSON parse.
//!
//! A chunk's line is 60 kB, nearly all of it base64; a JSON parser scans that string a byte at
//! a time for escapes and copies it into a `String`, which took a tenth of a transfer's CPU.
//! Natter writes chunk lines in one spelling (PROTOCOL.md §13's examples: these keys in this
//! order, no spaces); this module reads exactly that spelling and borrows the data. Any other
//! spelling (spaces, another key order, an escape in a string, a number JSON does not allow)
//! gives `None`, and the caller decodes the line as any other frame, so what is accepted and
//! what is refused is the same either way. Owns only the reading; checking the data is base64
//! and within the window is the caller's.

/// A `file_chunk` from a client: `{"type":"file_chunk","delivery":D,"offset":O,"data":"…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientChunk<'a> {
    pub delivery: u64,
    pub offset: u64,
    /// The base64 text, not yet checked.
    pub data: &'a [u8],
}

/// A `file_chunk` from the host: `{"type":"file_chunk","id":"…","offset":O,"data":"…"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostChunk<'a> {
    /// Letters, digits, `-` and `_` (any other id is left to the JSON decoder).
    pub id: &'a str,
    pub offset: u64,
    /// The base64 text, not yet checked.
    pub data: &'a [u8],
}

impl<'a> ClientChunk<'a> {
    /// The chunk in `line` (without its newline), if it is spelt as Natter spells it.
    pub fn read(line: &'a [u8]) -> Option<Self> {
        let mut scan = Scan(line);
        scan.literal(br#"{"type":"file_chunk","delivery":"#)?;
        let delivery = scan.number()?;
        scan.literal(br#","offset":"#)?;
        let offset = scan.number()?;
        scan.literal(br#","data":""#)?;
        let data = scan.unescaped()?;
        scan.end()?;
        Some(ClientChunk {
            delivery,
            offset,
            data,
        })
    }
}

impl<'a> HostChunk<'a> {
    /// The chunk in `line` (without its newline), if it is spelt as Natter spells it.
    pub fn read(line: &'a [u8]) -> Option<Self> {
        let mut scan = Scan(line);
        scan.literal(br#"{"type":"file_chunk","id":""#)?;
        let id = scan.unescaped()?;
        let plain_id = (id.iter()).all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain_id {
            return None;
        }
        scan.literal(br#","offset":"#)?;
        let offset = scan.number()?;
        scan.literal(br#","data":""#)?;
        let data = scan.unescaped()?;
        scan.end()?;
        Some(HostChunk {
            id: std::str::from_utf8(id).ok()?,
            offset,
            data,
        })
    }
}

/// What is left of a line to read (also `file_data`'s headers).
pub(super) struct Scan<'a>(pub(super) &'a [u8]);

impl<'a> Scan<'a> {
    pub(super) fn literal(&mut self, literal: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(literal)?;
        Some(())
    }

    /// A whole number as JSON writes it (no sign, no leading zero, no fraction), up to
    /// `u64::MAX`.
    pub(super) fn number(&mut self) -> Option<u64> {
        let digits = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        let (number, rest) = self.0.split_at(digits);
        if number.is_empty() || (number.len() > 1 && number[0] == b'0') {
            return None;
        }
        let value = std::str::from_utf8(number).ok()?.parse().ok()?;
        self.0 = rest;
        Some(value)
    }

    /// The rest of a string up to its closing quote, if it has no escape and no control
    /// character (both need the decoder).
    pub(super) fn unescaped(&mut self) -> Option<&'a [u8]> {
        let end = memchr::memchr(b'"', self.0)?;
        let (text, rest) = self.0.split_at(end);
        // No early exit: a loop without branches is vectorised, and runs at memory speed.
        let needs_decoder = (text.iter()).fold(false, |acc, &b| acc | (b < 0x20) | (b == b'\\'));
        if needs_decoder {
            return None;
        }
        self.0 = &rest[1..];
        Some(text)
    }

    pub(super) fn end(&mut self) -> Option<()> {
        (self.0 == b"}").then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::protocol::{ClientFrame, ServerFrame, decode, encode};

    #[test]
    fn a_client_chunk_as_natter_encodes_it_reads_the_same_as_the_json_decoder() {
        let frame = ClientFrame::FileChunk {
            delivery: 7,
            offset: u64::MAX,
            data: "QUJD+/89".into(),
        };
        let line = encode(&frame);
        let line = line.strip_suffix(b"\n").unwrap();
        let chunk = ClientChunk::read(line).unwrap();
        assert_eq!(
            (chunk.delivery, chunk.offset, chunk.data),
            (7, u64::MAX, &b"QUJD+/89"[..])
        );
        assert_eq!(decode::<ClientFrame>(line).unwrap(), frame);
    }

    #[test]
    fn a_host_chunk_as_natter_encodes_it_reads_the_same_as_the_json_decoder() {
        let frame = ServerFrame::FileChunk {
            id: "9f2c-61_d0".into(),
            offset: 0,
            data: "QUI=".into(),
        };
        let line = encode(&frame);
        let line = line.strip_suffix(b"\n").unwrap();
        let chunk = HostChunk::read(line).unwrap();
        assert_eq!(
            (chunk.id, chunk.offset, chunk.data),
            ("9f2c-61_d0", 0, &b"QUI="[..])
        );
    }

    #[test]
    fn other_spellings_are_left_to_the_json_decoder() {
        let others: [&[u8]; 9] = [
            br#"{"type":"file_chunk", "delivery":1,"offset":0,"data":"QUJD"}"#,
            br#"{"type":"file_chunk","offset":0,"delivery":1,"data":"QUJD"}"#,
            br#"{"type":"file_chunk","delivery":1,"offset":0,"data":"QU\u004aD"}"#,
            br#"{"type":"file_chunk","delivery":01,"offset":0,"data":"QUJD"}"#,
            br#"{"type":"file_chunk","delivery":1,"offset":1.0,"data":"QUJD"}"#,
            br#"{"type":"file_chunk","delivery":1,"offset":18446744073709551616,"data":"QUJD"}"#,
            br#"{"type":"file_chunk","delivery":1,"offset":0,"data":"QUJD"} "#,
            br#"{"type":"file_chunk","delivery":1,"offset":0,"data":"QUJD","extra":1}"#,
            b"{\"type\":\"file_chunk\",\"delivery\":1,\"offset\":0,\"data\":\"QU\tD\"}",
        ];
        for line in others {
            assert_eq!(
                ClientChunk::read(line),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let escaped_id = br#"{"type":"file_chunk","id":"a\"b","offset":0,"data":"QUJD"}"#;
        let spaced_id = br#"{"type":"file_chunk","id":"a b","offset":0,"data":"QUJD"}"#;
        assert_eq!(HostChunk::read(escaped_id), None);
        assert_eq!(HostChunk::read(spaced_id), None);
    }
}
