//! `file_data`: a file's bytes as they are, after a header line that says how many follow
//! (PROTOCOL.md §13, "Raw data").
//!
//! A `file_chunk` carries base64, a third more bytes than the file and a pass to encode and
//! one to decode on every chunk. A client that lists [`FEATURE_FILE_DATA`] sends and is sent
//! `file_data` instead: one JSON header line, spelt exactly as [`ClientData`] and [`HostData`]
//! read it, then `length` raw bytes. Owns those two headers and [`FrameSplitter`], which cuts a
//! byte stream into lines and such frames, refusing a lying length before reading any of it.
//! Not what the host or a client does with the data (see `server::file_relay`,
//! `client::transfers`).

use super::chunk_line::Scan;
use super::codec::{LineSplitter, LineTooLong};

/// The hello feature of a client that sends and takes `file_data` frames.
pub const FEATURE_FILE_DATA: &str = "file_data";
/// Most bytes one `file_data` frame carries, either way: large enough that a header line and
/// a TLS record or two are little beside it, small enough that chat waits behind at most this.
pub const DATA_BYTES: usize = 256 * 1024;
/// Every header starts so (the type first, as Natter writes it): a line that does and is not
/// a header of the right spelling is refused, never read as a line.
const HEADER_START: &[u8] = br#"{"type":"file_data","#;

/// A header the splitter can read: where its data belongs and how long it is.
pub trait DataHeader: Sized {
    /// The header in `line` (without its newline), if it is spelt exactly right.
    fn read(line: &[u8]) -> Option<Self>;
    /// How many raw bytes follow the header's newline.
    fn length(&self) -> u64;
}

/// A `file_data` header from a client: `{"type":"file_data","delivery":D,"offset":O,"length":N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientData {
    pub delivery: u64,
    pub offset: u64,
    pub length: u64,
}

/// A `file_data` header from the host: `{"type":"file_data","id":"…","offset":O,"length":N}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostData {
    pub id: String,
    pub offset: u64,
    pub length: u64,
}

impl ClientData {
    /// The header line, newline included.
    pub fn line(delivery: u64, offset: u64, length: usize) -> String {
        format!(
            r#"{{"type":"file_data","delivery":{delivery},"offset":{offset},"length":{length}}}"#
        ) + "\n"
    }
}

impl HostData {
    /// The header line, newline included. `id` is letters, digits, `-` and `_` (checked when
    /// it was offered), so it needs no escaping.
    pub fn line(id: &str, offset: u64, length: usize) -> String {
        format!(r#"{{"type":"file_data","id":"{id}","offset":{offset},"length":{length}}}"#) + "\n"
    }
}

impl DataHeader for ClientData {
    fn read(line: &[u8]) -> Option<Self> {
        let mut scan = Scan(line);
        scan.literal(br#"{"type":"file_data","delivery":"#)?;
        let delivery = scan.number()?;
        scan.literal(br#","offset":"#)?;
        let offset = scan.number()?;
        scan.literal(br#","length":"#)?;
        let length = scan.number()?;
        scan.end()?;
        Some(ClientData {
            delivery,
            offset,
            length,
        })
    }

    fn length(&self) -> u64 {
        self.length
    }
}

impl DataHeader for HostData {
    fn read(line: &[u8]) -> Option<Self> {
        let mut scan = Scan(line);
        scan.literal(br#"{"type":"file_data","id":""#)?;
        let id = scan.unescaped()?;
        let id = std::str::from_utf8(id).ok()?;
        if !super::valid_file_id(id) {
            return None;
        }
        scan.literal(br#","offset":"#)?;
        let offset = scan.number()?;
        scan.literal(br#","length":"#)?;
        let length = scan.number()?;
        scan.end()?;
        Some(HostData {
            id: id.to_string(),
            offset,
            length,
        })
    }

    fn length(&self) -> u64 {
        self.length
    }
}

/// What the splitter cut from the stream: a line, or a `file_data` frame whole. A frame's
/// bytes follow the splitter's headroom (see [`FrameSplitter::with_headroom`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<H> {
    Line(Vec<u8>),
    Data(H, Vec<u8>),
}

/// Why the stream cannot be read on: each ends the link (there is no way to find the next
/// frame after any of them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("a line is longer than {max} bytes")]
    LineTooLong { max: usize },
    #[error(
        "a line starting {{\"type\":\"file_data\", is not a file_data header as PROTOCOL.md §13 spells it"
    )]
    BadHeader,
    #[error(
        "a file_data header announced {length} bytes; at most {max} (and at least 1) may follow one"
    )]
    TooLong { length: u64, max: usize },
}

/// The data frame being read: its header, the bytes so far (after the headroom), and the
/// buffer's length once the frame is whole (headroom and data).
struct Counting<H> {
    header: H,
    data: Vec<u8>,
    length: usize,
}

/// Splits a byte stream into lines (as [`LineSplitter`] does) and, when a line is a
/// `file_data` header, the counted bytes after it. Lines only when built with
/// [`FrameSplitter::lines_only`] (plain text, a browser's WebSocket): there a header is a line
/// like any other.
pub struct FrameSplitter<H> {
    lines: LineSplitter,
    /// Most bytes after one header (`None`: no data frames in this stream).
    max_data: Option<usize>,
    counting: Option<Counting<H>>,
    /// Reused for the one line each newline completes.
    found: Vec<Vec<u8>>,
    /// Bytes left free before each frame's data (see [`FrameSplitter::with_headroom`]).
    headroom: usize,
    /// A frame's buffer given back ([`FrameSplitter::recycle`]), for the next frame.
    spare: Vec<u8>,
}

impl<H: DataHeader> FrameSplitter<H> {
    /// Lines of at most `max_line` bytes, and data frames of at most `max_data` bytes.
    pub fn new(max_line: usize, max_data: usize) -> Self {
        FrameSplitter {
            lines: LineSplitter::new(max_line),
            max_data: Some(max_data),
            counting: None,
            found: Vec::new(),
            headroom: 0,
            spare: Vec::new(),
        }
    }

    /// Each frame's data comes after `headroom` zero bytes, where a relay can write the
    /// header it passes the data on with: one buffer from the socket to the next socket.
    pub fn with_headroom(self, headroom: usize) -> Self {
        FrameSplitter { headroom, ..self }
    }

    /// Gives a frame's buffer back for the next frame: a file's frames then take no new
    /// allocation each (a fresh 256 KiB is fresh pages, faulted in one by one).
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        self.spare = buffer;
    }

    /// Lines only: a `file_data` header is a line like any other.
    pub fn lines_only(max_line: usize) -> Self {
        FrameSplitter {
            max_data: None,
            ..Self::new(max_line, 0)
        }
    }

    /// From now on lines only (a browser's WebSocket carries no raw bytes).
    pub fn stop_data(&mut self) {
        self.max_data = None;
    }

    /// Appends `bytes` and moves every completed line and data frame to `out`. On error what
    /// was completed before is in `out`, and the stream cannot be read on.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<Piece<H>>) -> Result<(), SplitError> {
        let Some(max_data) = self.max_data else {
            return self.push_lines(bytes, out);
        };
        while !bytes.is_empty() {
            if let Some(counting) = &mut self.counting {
                let take = (counting.length - counting.data.len()).min(bytes.len());
                counting.data.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if counting.data.len() == counting.length
                    && let Some(done) = self.counting.take()
                {
                    out.push(Piece::Data(done.header, done.data));
                }
                continue;
            }
            let Some(newline) = memchr::memchr(b'\n', bytes) else {
                return self.push_lines(bytes, out);
            };
            let (line, rest) = bytes.split_at(newline + 1);
            bytes = rest;
            let mut found = std::mem::take(&mut self.found);
            let pushed = self.lines.push(line, &mut found);
            for line in found.drain(..) {
                if !line.starts_with(HEADER_START) {
                    // File data has stopped for now: the spare buffer is not kept idle.
                    self.spare = Vec::new();
                    out.push(Piece::Line(line));
                    continue;
                }
                let header = H::read(&line).ok_or(SplitError::BadHeader)?;
                let length = header.length();
                let fits = usize::try_from(length).ok().filter(|&n| n <= max_data);
                let Some(length) = fits.filter(|&n| n > 0) else {
                    return Err(SplitError::TooLong {
                        length,
                        max: max_data,
                    });
                };
                let mut data = std::mem::take(&mut self.spare);
                data.clear();
                data.reserve_exact(self.headroom + length);
                data.resize(self.headroom, 0);
                self.counting = Some(Counting {
                    header,
                    data,
                    length: self.headroom + length,
                });
            }
            self.found = found;
            pushed.map_err(too_long)?;
        }
        Ok(())
    }

    /// Whether bytes wait after the last newline (not inside a data frame).
    pub fn has_partial(&self) -> bool {
        self.lines.has_partial()
    }

    /// Takes the bytes after the last newline as a line of their own.
    pub fn take_partial(&mut self) -> Option<Vec<u8>> {
        self.lines.take_partial()
    }

    /// Whether a data frame is part read: the stream stopped in the middle of one.
    pub fn in_data(&self) -> bool {
        self.counting.is_some()
    }

    fn push_lines(&mut self, bytes: &[u8], out: &mut Vec<Piece<H>>) -> Result<(), SplitError> {
        let mut found = std::mem::take(&mut self.found);
        let pushed = self.lines.push(bytes, &mut found);
        out.extend(found.drain(..).map(Piece::Line));
        self.found = found;
        pushed.map_err(too_long)
    }
}

fn too_long(e: LineTooLong) -> SplitError {
    SplitError::LineTooLong { max: e.max }
}

#[cfg(test)]
mod tests;
