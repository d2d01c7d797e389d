//! One read from a blocking socket that gives up after a timeout.
//!
//! Owns the read-with-timeout pattern of the client's handshake (the supervisor reads
//! blocking until it is in the room; the link thread then waits in a poll): set the timeout,
//! read, and tell bytes, silence, an orderly close and a broken connection apart. Does not own
//! buffers, line splitting or what a timeout means.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Duration;

/// What one [`read_within`] produced.
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// This many bytes are at the start of the buffer.
    Bytes(usize),
    /// Nothing arrived within the timeout; the connection is still open.
    TimedOut,
    /// The peer closed its sending side (end of stream).
    Closed,
    /// The connection broke (reset, shut down by us, ...).
    Failed(io::Error),
}

/// Reads once into `buf`, waiting at most `timeout` (at least a millisecond, since a zero
/// timeout means "forever" to the operating system).
pub(crate) fn read_within(stream: &TcpStream, buf: &mut [u8], timeout: Duration) -> ReadOutcome {
    if let Err(e) = stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1)))) {
        return ReadOutcome::Failed(e);
    }
    match (&*stream).read(buf) {
        Ok(0) => ReadOutcome::Closed,
        Ok(n) => ReadOutcome::Bytes(n),
        Err(e) if is_timeout(&e) => ReadOutcome::TimedOut,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::TimedOut,
        Err(e) => ReadOutcome::Failed(e),
    }
}

/// Whether an I/O error is a timeout: `WouldBlock` on Unix, `TimedOut` on Windows.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
