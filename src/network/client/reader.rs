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
use crate::network::protocol::{LineSplitter, ServerFrame};
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
    /// File data (`file_chunk`), decoded here so the files thread only checks and writes it;
    /// `None`: `data` was not base64.
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
    pub(super) splitter: LineSplitter,
    /// Lines the handshake already read.
    pub(super) early_lines: Vec<Vec<u8>>,
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
        let mut lines = Vec::new();
        let pushed = self.splitter.push(bytes, &mut lines);
        if !self.forward(lines) {
            return Flow::Stop;
        }
        if pushed.is_err() {
            self.end(lost("the host sent a line that is too long"));
            return Flow::Stop;
        }
        Flow::Go
    }

    /// Nothing came for `quiet`: a plain host's unfinished line (a prompt) is shown after a
    /// pause, and a Natter host silent past `idle_timeout` ends the link.
    pub(super) fn on_quiet(&mut self, quiet: Duration, idle_timeout: Duration) -> Flow {
        if self.plain {
            if self.splitter.has_partial() && quiet >= PLAIN_PROMPT_PAUSE {
                let partial: Vec<_> = self.splitter.take_partial().into_iter().collect();
                return flow(self.forward(partial));
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
            let partial: Vec<_> = self.splitter.take_partial().into_iter().collect();
            self.forward(partial);
        }
        let _ = self.incoming.send(Incoming::Ended(error));
    }

    /// Passes lines on; false once reading should stop (a bad frame, or nobody listening).
    fn forward(&self, lines: Vec<Vec<u8>>) -> bool {
        for line in lines {
            let item = match self.to_item(&line) {
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
