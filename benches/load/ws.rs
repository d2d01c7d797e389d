//! The load bench's browser-protocol members (`--dialect ws`): the WebSocket upgrade on the
//! room's port, each JSON line sent as one masked text frame, and the server's frames undone
//! back into lines, so the rest of the bench counts them as it counts a Natter client's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// Asks for the WebSocket on `/ws` as the page does (its own origin) and reads the `101`
/// byte by byte, leaving the frames after it in the socket for the reader.
pub fn upgrade(stream: &mut TcpStream, addr: SocketAddr) {
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed during the upgrade"
        );
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

/// Each `\n`-ended line of `batch` as a masked text frame, as a browser sends it.
pub fn frames(batch: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = Vec::with_capacity(batch.len() + 16);
    for line in batch.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        out.push(0x81);
        match line.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= usize::from(u16::MAX) => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(line.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    }
    out
}

/// The server's frames (unmasked) in, their payloads out as lines.
#[derive(Default)]
pub struct Deframer {
    raw: Vec<u8>,
}

impl Deframer {
    /// Appends each whole frame's payload in `bytes` (and earlier leftovers) to `lines`, with
    /// a `\n` after each.
    pub fn push(&mut self, bytes: &[u8], lines: &mut Vec<u8>) {
        self.raw.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.raw[at..];
            if rest.len() < 2 {
                break;
            }
            let (length, header) = match rest[1] & 0x7f {
                126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
                127 if rest.len() >= 10 => {
                    let mut eight = [0u8; 8];
                    eight.copy_from_slice(&rest[2..10]);
                    (u64::from_be_bytes(eight) as usize, 10)
                }
                126 | 127 => break,
                n => (usize::from(n), 2),
            };
            if rest.len() < header + length {
                break;
            }
            if rest[0] & 0x0f == 1 {
                lines.extend_from_slice(&rest[header..header + length]);
                lines.push(b'\n');
            }
            at += header + length;
        }
        self.raw.drain(..at);
    }
}
