//! The line codec: a frame to one JSON line and back ([`encode`], [`decode`], with the reason a
//! line is not a frame in words a peer can act on, [`DecodeError`]), and cutting a byte stream
//! into lines within the limit ([`LineSplitter`]). Not the frames themselves (see the parent
//! module) nor any socket.

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use crate::network::text::{MAX_QUOTED_CHARS, quote};

/// Longest parser explanation quoted back (it can quote a value the peer sent), in characters.
const MAX_DETAIL_CHARS: usize = 120;

/// Why a line could not be read as a frame. Each maps to the error code the server answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the line is not valid UTF-8 (byte {valid_up_to} starts a bad sequence)")]
    BadUtf8 { valid_up_to: usize },
    #[error("the line is not a JSON object: {0}")]
    BadJson(String),
    #[error("unknown frame type \"{0}\"")]
    UnknownType(String),
    #[error("frame \"{kind}\" is malformed: {detail}")]
    BadFrame { kind: String, detail: String },
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::BadUtf8 { .. } => ErrorCode::BadUtf8,
            DecodeError::BadJson(_) => ErrorCode::BadJson,
            DecodeError::UnknownType(_) => ErrorCode::UnknownType,
            DecodeError::BadFrame { .. } => ErrorCode::BadFrame,
        }
    }
}

/// Serialises a frame as one line, newline included. serde_json escapes every control
/// character, so the result never holds a newline before its end.
pub fn encode<F: Serialize>(frame: &F) -> Vec<u8> {
    // Serialising these plain enums cannot fail: no maps with non-string keys, no I/O.
    let mut line = serde_json::to_vec(frame).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Parses one line (without its newline) into a frame, telling apart the ways it can be wrong.
pub fn decode<F: for<'de> Deserialize<'de>>(line: &[u8]) -> Result<F, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| DecodeError::BadUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    match serde_json::from_str::<F>(text) {
        Ok(frame) => Ok(frame),
        // Only on the error path: find out whether the JSON itself or the frame is wrong.
        Err(frame_error) => Err(classify(text, frame_error)),
    }
}

/// Tells why `text` is not a frame. What the peer wrote (its type name, a value the parser
/// quotes) is cleaned and cut short here, where it enters our messages: these errors are sent
/// to the peer, quoted in the leave notice others read and printed on the host's console.
fn classify(text: &str, frame_error: serde_json::Error) -> DecodeError {
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => value,
        Err(e) => return DecodeError::BadJson(quote(&e.to_string(), MAX_DETAIL_CHARS)),
    };
    let Some(object) = value.as_object() else {
        return DecodeError::BadJson("expected an object such as {\"type\":\"ping\"}".into());
    };
    let Some(kind) = object.get("type").and_then(|t| t.as_str()) else {
        return DecodeError::BadJson("the object has no string field \"type\"".into());
    };
    let detail = frame_error.to_string();
    if detail.starts_with("unknown variant") {
        DecodeError::UnknownType(quote(kind, MAX_QUOTED_CHARS))
    } else {
        DecodeError::BadFrame {
            kind: quote(kind, MAX_QUOTED_CHARS),
            detail: quote(&unescape_debug_strings(&detail), MAX_DETAIL_CHARS),
        }
    }
}

/// The parser's explanation with each string it quotes (serde writes them as Rust's `Debug`
/// does: `"\u{1b}[31mred\nnext"`) turned back into the text the peer sent, so that `quote`
/// cleans that text as §6 says (escapes removed, one line) instead of passing on a spelling
/// of it. A `"` opens a quoted string up to the next `"` that is not escaped.
fn unescape_debug_strings(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut chars = detail.chars();
    let mut inside = false;
    while let Some(c) = chars.next() {
        if c == '"' {
            inside = !inside;
            out.push(c);
            continue;
        }
        if !inside || c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                // `\u{1b}`: hex digits in braces.
                let hex: String = chars.by_ref().skip(1).take_while(|&h| h != '}').collect();
                let decoded = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                out.push(decoded.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The line is longer than the limit; the connection cannot be trusted to resynchronise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a line is longer than {max} bytes")]
pub struct LineTooLong {
    pub max: usize,
}

/// Splits a byte stream into lines of at most `max` bytes.
///
/// Lines come out without their `\n` and without one `\r` before it (telnet sends CRLF).
/// Bytes after the last newline wait in the splitter; plain-text peers that send no newline at
/// all are served by [`LineSplitter::take_partial`].
#[derive(Debug)]
pub struct LineSplitter {
    pending: Vec<u8>,
    max: usize,
}

impl LineSplitter {
    pub fn new(max: usize) -> Self {
        LineSplitter {
            pending: Vec::new(),
            max,
        }
    }

    /// Appends `bytes` and moves every completed line to `out`.
    ///
    /// On error the splitter keeps nothing; lines completed before the long one are in `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), LineTooLong> {
        while let Some(newline) = memchr::memchr(b'\n', bytes) {
            let (head, rest) = bytes.split_at(newline);
            bytes = &rest[1..];
            let mut line = if self.pending.is_empty() {
                head.to_vec()
            } else {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(head);
                line
            };
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > self.max {
                self.pending.clear();
                return Err(LineTooLong { max: self.max });
            }
            out.push(line);
        }
        // +1: a CR that may yet be followed by its LF does not count against the limit.
        if self.pending.len() + bytes.len() > self.max + 1 {
            self.pending.clear();
            return Err(LineTooLong { max: self.max });
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    /// Whether bytes wait after the last newline.
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes the bytes after the last newline as a line of their own (a trailing `\r` dropped).
    pub fn take_partial(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            return None;
        }
        let mut line = std::mem::take(&mut self.pending);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }
}
