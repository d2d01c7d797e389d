//! What a live link does with the bytes the host sends: lines become frames (or plain lines)
//! for the supervisor, file data goes straight to the files thread.
//!
//! Owns splitting, decoding, the idle timeout, showing a plain host's prompt that has no
//! newline, and the words a link's end is passed on with. Does not touch the socket (the
//! link thread, `link_io`, reads and hands the bytes over) and answers nothing (the
//! supervisor does).

use std::time::Duration;

use crossbeam_channel::Sender;

use super::error::ClientError;
use super::from_host::decode_from_host;
use super::transfers::FilesInput;
use crate::network::protocol::chunk_line::HostChunk;
use crate::network::protocol::{FrameSplitter, HostData, Piece, ServerFrame};
use crate::network::text::clean_text;

/// How long a plain host's unfinished line ("Enter your name: ") waits before it is shown.
const PLAIN_PROMPT_PAUSE: Duration = Duration::from_millis(200);

/// Tests only: a line from the host holding this panics the reader, for the test of what a
/// panic costs (see `supervisor::link`).
#[cfg(test)]
pub(super) const PANIC_TEXT: &[u8] = b"natter-test: panic in the reader";

/// What the link thread passes to the supervisor.
pub(super) enum Incoming {
    Frame(ServerFrame),
    /// A line from a plain host, escapes stripped.
    Text(String),
    /// File data (`file_chunk` decoded here, so the files thread only checks and writes it, or
    /// `file_data` as it came); `None`: `data` was not base64.
    Chunk {
        id: String,
        offset: u64,
        bytes: Option<Vec<u8>>,
    },
    /// The connection ended; the last item.
    Ended(ClientError),
}

impl Incoming {
    /// File data for `id` at `offset`, decoded from its base64.
    fn chunk(id: String, offset: u64, base64: &[u8]) -> Incoming {
        Incoming::Chunk {
            id,
            offset,
            bytes: base64_simd::STANDARD.decode_to_vec(base64).ok(),
        }
    }
}

/// Whether the link goes on after what the reader was given.
pub(super) enum Flow {
    Go,
    /// The link ended (the supervisor was told why) or nobody listens any more.
    Stop,
}

/// Everything the link's reading needs, besides the socket.
pub(super) struct Reader {
    pub(super) splitter: FrameSplitter<HostData>,
    /// Lines (and file data) the handshake already read.
    pub(super) early_lines: Vec<Piece<HostData>>,
    pub(super) plain: bool,
    pub(super) incoming: Sender<Incoming>,
    /// The files thread: file data goes straight there, not through the supervisor, so a
    /// chunk wakes one thread, not two.
    pub(super) files: Option<Sender<FilesInput>>,
}

impl Reader {
    /// Passes on the lines the handshake already read.
    pub(super) fn forward_early(&mut self) -> Flow {
        let early = std::mem::take(&mut self.early_lines);
        flow(self.forward(early))
    }

    /// Bytes from the host: every line they complete is passed on.
    pub(super) fn on_bytes(&mut self, bytes: &[u8]) -> Flow {
        let mut pieces = Vec::new();
        let pushed = self.splitter.push(bytes, &mut pieces);
        if !self.forward(pieces) {
            return Flow::Stop;
        }
        if let Err(e) = pushed {
            self.end(lost(&super::handshake::split_error(&e)));
            return Flow::Stop;
        }
        Flow::Go
    }

    /// Nothing came for `quiet`: a plain host's unfinished line (a prompt) is shown after a
    /// pause, and a Natter host silent past `idle_timeout` ends the link.
    pub(super) fn on_quiet(&mut self, quiet: Duration, idle_timeout: Duration) -> Flow {
        if self.plain {
            if self.splitter.has_partial() && quiet >= PLAIN_PROMPT_PAUSE {
                let partial = self.splitter.take_partial().map(Piece::Line);
                return flow(self.forward(partial.into_iter().collect()));
            }
            return Flow::Go;
        }
        if quiet >= idle_timeout {
            self.end(ClientError::Silent {
                secs: idle_timeout.as_secs(),
            });
            return Flow::Stop;
        }
        Flow::Go
    }

    /// How long the link may wait for bytes before [`Reader::on_quiet`] has something to do
    /// (`None`: no limit).
    pub(super) fn wait_for(&self, quiet: Duration, idle_timeout: Duration) -> Option<Duration> {
        if !self.plain {
            return Some(idle_timeout.saturating_sub(quiet));
        }
        (self.splitter.has_partial()).then(|| PLAIN_PROMPT_PAUSE.saturating_sub(quiet))
    }

    /// The host closed the connection.
    pub(super) fn closed(&mut self) {
        self.end(lost("the host closed the connection"));
    }

    /// The link ended with `error`: a plain host's unfinished line is shown first.
    pub(super) fn end(&mut self, error: ClientError) {
        if self.plain {
            let partial = self.splitter.take_partial().map(Piece::Line);
            self.forward(partial.into_iter().collect());
        }
        let _ = self.incoming.send(Incoming::Ended(error));
    }

    /// Passes lines and file data on; false once reading should stop (a bad frame, or nobody
    /// listening).
    fn forward(&self, pieces: Vec<Piece<HostData>>) -> bool {
        for piece in pieces {
            let item = match piece {
                Piece::Line(line) => self.to_item(&line),
                // Raw already: nothing to decode.
                Piece::Data(header, bytes) => Incoming::Chunk {
                    id: header.id,
                    offset: header.offset,
                    bytes: Some(bytes),
                },
            };
            let item = match item {
                Incoming::Chunk { id, offset, bytes } if self.files.is_some() => {
                    if let Some(files) = &self.files {
                        let _ = files.send(FilesInput::Chunk { id, offset, bytes });
                    }
                    continue;
                }
                item => item,
            };
            let failed = matches!(item, Incoming::Ended(_));
            if self.incoming.send(item).is_err() || failed {
                return false;
            }
        }
        true
    }

    fn to_item(&self, line: &[u8]) -> Incoming {
        #[cfg(test)]
        if line.windows(PANIC_TEXT.len()).any(|w| w == PANIC_TEXT) {
            panic!("a test asked the reader to fail");
        }
        if self.plain {
            return Incoming::Text(clean_text(&String::from_utf8_lossy(line)));
        }
        // The data is decoded straight from the line: no 43 kB `String` on the way.
        if let Some(chunk) = HostChunk::read(line) {
            return Incoming::chunk(chunk.id.to_string(), chunk.offset, chunk.data);
        }
        match decode_from_host(line) {
            Ok(ServerFrame::FileChunk { id, offset, data }) => {
                Incoming::chunk(id, offset, data.as_bytes())
            }
            Ok(frame) => Incoming::Frame(frame),
            Err(e) => Incoming::Ended(lost(&format!("the host sent a bad frame: {e}"))),
        }
    }
}

fn flow(go_on: bool) -> Flow {
    if go_on { Flow::Go } else { Flow::Stop }
}

fn lost(detail: &str) -> ClientError {
    ClientError::Lost {
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::protocol::DATA_BYTES;

    #[test]
    fn file_data_from_the_host_goes_to_the_files_thread_as_it_came_newlines_and_all() {
        let (incoming, _frames) = crossbeam_channel::unbounded();
        let (files, chunks) = crossbeam_channel::unbounded();
        let mut reader = Reader {
            splitter: FrameSplitter::new(1 << 16, DATA_BYTES),
            early_lines: Vec::new(),
            plain: false,
            incoming,
            files: Some(files),
        };
        let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let mut stream = HostData::line("f1", 7, data.len()).into_bytes();
        stream.extend_from_slice(&data);
        for part in stream.chunks(4096) {
            assert!(matches!(reader.on_bytes(part), Flow::Go));
        }
        match chunks.try_recv() {
            Ok(FilesInput::Chunk { id, offset, bytes }) => {
                assert_eq!((id.as_str(), offset), ("f1", 7));
                assert!(bytes == Some(data), "the bytes differ");
            }
            _ => panic!("no chunk reached the files thread"),
        }
        assert!(chunks.try_recv().is_err(), "one frame, one chunk");
    }
}
