//! The client's reader thread: bytes from the host become frames (or plain lines) for the
//! supervisor.
//!
//! Owns reading, splitting, decoding, the idle timeout and showing a plain host's prompt that
//! has no newline. Does not answer anything: the supervisor writes.

use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::error::ClientError;
use super::from_host::decode_from_host;
use super::host_stream::HostStream;
use super::transfers::FilesInput;
use crate::network::protocol::chunk_line::HostChunk;
use crate::network::protocol::{LineSplitter, ServerFrame};
use crate::network::text::clean_text;
use crate::network::timed_read::ReadOutcome;

/// How long a plain host's unfinished line ("Enter your name: ") waits before it is shown.
const PLAIN_PROMPT_PAUSE: Duration = Duration::from_millis(200);

/// Tests only: a line from the host holding this panics the reader, for the test of what a
/// panic costs (see `supervisor::link`).
#[cfg(test)]
pub(super) const PANIC_TEXT: &[u8] = b"natter-test: panic in the reader";

/// What the reader thread passes to the supervisor.
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

/// Everything the reader thread needs.
pub(super) struct Reader {
    pub(super) stream: HostStream,
    pub(super) splitter: LineSplitter,
    /// Lines the handshake already read.
    pub(super) early_lines: Vec<Vec<u8>>,
    pub(super) plain: bool,
    pub(super) idle_timeout: Duration,
    pub(super) incoming: Sender<Incoming>,
    /// The files thread: file data goes straight there, not through the supervisor, so a
    /// chunk wakes one thread, not two.
    pub(super) files: Option<Sender<FilesInput>>,
}

impl Reader {
    /// Reads until the connection ends or the supervisor stops listening.
    pub(super) fn run(mut self) {
        let early = std::mem::take(&mut self.early_lines);
        if !self.forward(early) {
            return;
        }
        // A file chunk's line is 60 kB: read it in one or two calls, not four.
        let mut buf = vec![0u8; 64 * 1024];
        let mut last_heard = Instant::now();
        loop {
            let waiting_prompt = self.plain && self.splitter.has_partial();
            let timeout = if waiting_prompt {
                PLAIN_PROMPT_PAUSE
            } else {
                self.idle_timeout
            };
            let mut lines = Vec::new();
            let result = match self.stream.read_within(&mut buf, timeout) {
                ReadOutcome::Bytes(n) => {
                    last_heard = Instant::now();
                    self.splitter
                        .push(&buf[..n], &mut lines)
                        .map_err(|_| lost("the host sent a line that is too long"))
                }
                ReadOutcome::TimedOut if waiting_prompt => {
                    lines.extend(self.splitter.take_partial());
                    Ok(())
                }
                ReadOutcome::TimedOut
                    if !self.plain && last_heard.elapsed() >= self.idle_timeout =>
                {
                    Err(ClientError::Silent {
                        secs: self.idle_timeout.as_secs(),
                    })
                }
                ReadOutcome::TimedOut => Ok(()),
                ReadOutcome::Closed => Err(lost("the host closed the connection")),
                ReadOutcome::Failed(e) => Err(ClientError::lost(&e)),
            };
            if !self.forward(lines) {
                return;
            }
            if let Err(error) = result {
                if self.plain {
                    let partial: Vec<_> = self.splitter.take_partial().into_iter().collect();
                    self.forward(partial);
                }
                let _ = self.incoming.send(Incoming::Ended(error));
                return;
            }
        }
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

fn lost(detail: &str) -> ClientError {
    ClientError::Lost {
        detail: detail.to_string(),
    }
}
