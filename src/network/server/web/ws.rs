//! WebSocket framing (RFC 6455) for the browser dialect: a browser's masked frames in, one
//! text frame per JSON line out.
//!
//! Owns undoing the frames a browser sends (their headers read by tungstenite) into the JSON
//! lines the handler reads, within the same line limit as a Natter client's, and wrapping each
//! line the server sends in a frame. Does not own the socket or what the lines mean.

use std::io::Cursor;
use std::sync::Arc;

use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// What a browser's bytes came to.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::network::server) enum Incoming {
    /// Whole text messages, each ended with `\n`: lines for the JSON handler.
    Lines(Vec<u8>),
    /// The browser closed the WebSocket (a close frame): lines before it are in `lines`.
    Closed { lines: Vec<u8> },
    /// It broke the framing rules; the connection ends (the words say why).
    Broken { lines: Vec<u8>, why: &'static str },
    /// A message longer than the line limit.
    TooLong { lines: Vec<u8> },
}

/// A browser's side of one WebSocket: bytes not yet a whole frame, and a fragmented message
/// being put together.
pub(in crate::network::server) struct WsReader {
    buffer: Vec<u8>,
    message: Vec<u8>,
    /// A text message's fragments are coming.
    in_message: bool,
    max_message: usize,
}

impl WsReader {
    /// `max_message`: the line limit (`max_line_bytes`) a message must keep to.
    pub(in crate::network::server) fn new(max_message: usize) -> WsReader {
        WsReader {
            buffer: Vec::new(),
            message: Vec::new(),
            in_message: false,
            max_message,
        }
    }

    /// Takes bytes as they came from the socket.
    pub(in crate::network::server) fn read(&mut self, bytes: &[u8]) -> Incoming {
        self.buffer.extend_from_slice(bytes);
        let mut lines = Vec::new();
        let mut used = 0;
        let outcome = loop {
            let mut cursor = Cursor::new(&self.buffer[used..]);
            let (header, length) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => break None,
                Err(_) => break Some("sent a frame that is not WebSocket"),
            };
            let Some(mask) = header.mask else {
                break Some("sent an unmasked frame");
            };
            if header.rsv1 || header.rsv2 || header.rsv3 {
                break Some("used a WebSocket extension it was not offered");
            }
            let Ok(length) = usize::try_from(length) else {
                return Incoming::TooLong { lines };
            };
            if length > self.max_message || self.message.len() + length > self.max_message {
                return Incoming::TooLong { lines };
            }
            let start = used + cursor.position() as usize;
            if self.buffer.len() - start < length {
                break None;
            }
            let mut payload = self.buffer[start..start + length].to_vec();
            used = start + length;
            apply_mask(&mut payload, mask);
            match header.opcode {
                OpCode::Data(Data::Text) if !self.in_message => {
                    self.message = payload;
                    self.in_message = !header.is_final;
                }
                OpCode::Data(Data::Continue) if self.in_message => {
                    self.message.extend_from_slice(&payload);
                    self.in_message = !header.is_final;
                }
                OpCode::Data(Data::Binary) => break Some("sent a binary message"),
                OpCode::Data(_) => break Some("broke a message's fragments"),
                OpCode::Control(Control::Close) => {
                    self.buffer.clear();
                    return Incoming::Closed { lines };
                }
                // Browsers do not ping; a pong to nothing asked is allowed and ignored.
                OpCode::Control(Control::Ping | Control::Pong) => continue,
                OpCode::Control(_) => break Some("sent an unknown control frame"),
            }
            if !self.in_message {
                // One message is one JSON frame: a line break inside it is no frame's end.
                lines.extend(
                    self.message
                        .drain(..)
                        .map(|b| if b == b'\n' { b' ' } else { b }),
                );
                lines.push(b'\n');
            }
        };
        self.buffer.drain(..used);
        match outcome {
            None if self.buffer.len() > self.max_message + 14 => Incoming::TooLong { lines },
            None => Incoming::Lines(lines),
            Some(why) => Incoming::Broken { lines, why },
        }
    }
}

/// Undoes (or applies) a frame's mask.
fn apply_mask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// A line the server sends (ended by `\n`) as one unmasked text frame, without the `\n`.
pub(in crate::network::server) fn frame_line(line: &[u8]) -> Arc<[u8]> {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    let mut frame = Vec::with_capacity(header.len(text.len() as u64) + text.len());
    // Writing into a Vec cannot fail.
    let _ = header.format(text.len() as u64, &mut frame);
    frame.extend_from_slice(text);
    frame.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A browser's frame: masked, final unless `more`.
    fn masked(opcode: u8, payload: &[u8], more: bool) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![if more { 0 } else { 0x80 } | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        apply_mask(&mut body, mask);
        frame.extend_from_slice(&body);
        frame
    }

    #[test]
    fn text_frames_become_lines_even_split_across_reads_and_fragments() {
        let mut reader = WsReader::new(1000);
        let mut bytes = masked(1, "{\"type\":\"chat\",\"text\":\"שלום\"}".as_bytes(), false);
        bytes.extend(masked(1, b"{\"a\":", true));
        bytes.extend(masked(9, b"ping", false));
        bytes.extend(masked(0, b"1}", false));
        let (first, rest) = bytes.split_at(5);
        assert_eq!(reader.read(first), Incoming::Lines(Vec::new()));
        let mut expected = "{\"type\":\"chat\",\"text\":\"שלום\"}\n"
            .as_bytes()
            .to_vec();
        expected.extend_from_slice(b"{\"a\":1}\n");
        assert_eq!(reader.read(rest), Incoming::Lines(expected));
    }

    #[test]
    fn unmasked_binary_oversized_and_closing_frames_end_the_link() {
        let unmasked = [0x81, 0x02, b'h', b'i'];
        assert!(matches!(
            WsReader::new(100).read(&unmasked),
            Incoming::Broken { .. }
        ));
        assert!(matches!(
            WsReader::new(100).read(&masked(2, b"hi", false)),
            Incoming::Broken { .. }
        ));
        assert!(matches!(
            WsReader::new(100).read(&masked(1, &[b'x'; 101], false)),
            Incoming::TooLong { .. }
        ));
        let mut bytes = masked(1, b"{}", false);
        bytes.extend(masked(8, &[3, 232], false));
        assert_eq!(
            WsReader::new(100).read(&bytes),
            Incoming::Closed {
                lines: b"{}\n".to_vec()
            }
        );
    }

    #[test]
    fn a_line_goes_out_as_one_unmasked_text_frame_without_its_newline() {
        assert_eq!(
            &*frame_line(b"{\"type\":\"ping\"}\n"),
            b"\x81\x0f{\"type\":\"ping\"}"
        );
        let long = vec![b'x'; 300];
        let frame = frame_line(&long);
        assert_eq!(&frame[..4], &[0x81, 126, 1, 44]);
        assert_eq!(frame.len(), 304);
    }
}
