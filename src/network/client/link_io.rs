//! The link thread, `natter-client-link`: the one owner of a live link's socket and TLS session.
//!
//! Owns every byte of one live link in both directions: it waits in a mio poll on the socket
//! and a waker, writes the lines the supervisor and the files thread give it through channels
//! ([`LinkWriter`], [`BulkWriter`]), reads what the host sends and passes it on as the
//! `reader` makes it into frames, keeps the idle timeout, and closes the link. No lock: the
//! supervisor and the files thread never touch the stream. Does not decide what to write or
//! what a frame means (`supervisor`, `transfers`).
//!
//! Chat goes before file data: the supervisor's lines are taken whenever they come, the files
//! thread's only once everything before them is written, one at a time through a channel of
//! one. So a chat line waits behind at most one chunk, and a host that reads slowly holds the
//! files thread back (its send waits) as a blocking write did, never the chat.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::{Events, Interest, Poll, Token, Waker};
use rustls::ClientConnection;

use super::error::ClientError;
use super::host_stream::HostStream;
use super::reader::{Flow, Reader};

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);
/// Bytes read in one turn before what waits to be written gets its turn.
const READ_PER_TURN: usize = 256 * 1024;
/// Most bytes one read takes from a TLS link's socket.
const NET_READ_BYTES: usize = 256 * 1024;
/// How long a closing link waits for the host to take what is left (its `bye` above all).
const CLOSE_FLUSH: Duration = Duration::from_secs(1);
/// A host that takes none of what waits to be written for this long is given up on, as the
/// blocking writes' timeout (10 s) did before the link had a thread of its own.
const WRITE_STALL: Duration = Duration::from_secs(10);

/// The supervisor's way to write on the link. Dropping it closes the link: what was given is
/// written first (for at most [`CLOSE_FLUSH`]), then the thread says goodbye and ends.
pub(super) struct LinkWriter {
    /// `None` once dropped: the thread sees the channel closed.
    lines: Option<Sender<Vec<u8>>>,
    waker: Arc<Waker>,
}

impl LinkWriter {
    /// Queues one line. A link that already ended drops it: its end comes as
    /// `Incoming::Ended`.
    pub(super) fn write(&self, line: Vec<u8>) {
        if self.lines.as_ref().is_some_and(|l| l.send(line).is_ok()) {
            let _ = self.waker.wake();
        }
    }
}

impl Drop for LinkWriter {
    fn drop(&mut self) {
        // The thread sees the channel closed once it looks: make it look.
        self.lines.take();
        let _ = self.waker.wake();
    }
}

/// The files thread's way to write on the link: one line at a time, after everything the
/// supervisor gave, waiting while the host does not take more.
#[derive(Clone)]
pub(super) struct BulkWriter {
    lines: Sender<Vec<u8>>,
    waker: Arc<Waker>,
}

impl BulkWriter {
    /// Writes one line, waiting until the link takes it; false once the link has ended.
    pub(super) fn write(&self, line: Vec<u8>) -> bool {
        let sent = self.lines.send(line).is_ok();
        if sent {
            let _ = self.waker.wake();
        }
        sent
    }
}

/// The socket and session of one link, and what waits to go out.
pub(super) struct LinkIo {
    poll: Poll,
    tcp: mio::net::TcpStream,
    tls: Option<Box<ClientConnection>>,
    urgent: Receiver<Vec<u8>>,
    bulk: Receiver<Vec<u8>>,
    /// Plaintext not yet given to the session (or, bare, to the socket), from `written` on.
    out: Vec<u8>,
    written: usize,
    reader: Reader,
    /// Where the plaintext read from the host lands (64 KiB).
    read_buf: Vec<u8>,
    /// Bytes read from a TLS link's socket, from `net_at` to `net_len` not yet given to the
    /// session.
    net_buf: Vec<u8>,
    net_at: usize,
    net_len: usize,
    idle_timeout: Duration,
    last_heard: Instant,
    /// When the socket last took bytes, or had nothing to take.
    last_written: Instant,
    /// Kept open here: the writers' last wake-up (as the supervisor lets go) must not be
    /// lost with the last writer closing the waker.
    _waker: Arc<Waker>,
}

/// Why the link thread stops.
enum Stop {
    /// The supervisor let go of the link.
    Closed,
    /// The link ended; the error was passed on (or nobody listens any more).
    Ended,
}

impl LinkIo {
    /// Sets up the poll for `stream`; the thread is started by the caller with [`LinkIo::run`].
    pub(super) fn new(
        stream: HostStream,
        reader: Reader,
        idle_timeout: Duration,
    ) -> io::Result<(LinkIo, LinkWriter, BulkWriter)> {
        let (tcp, tls) = stream.into_parts();
        tcp.set_nonblocking(true)?;
        let mut tcp = mio::net::TcpStream::from_std(tcp);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut tcp, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (urgent_tx, urgent) = crossbeam_channel::unbounded();
        // One line in the channel, one being written: the files thread waits beyond that.
        let (bulk_tx, bulk) = crossbeam_channel::bounded(1);
        let io = LinkIo {
            poll,
            tcp,
            tls,
            urgent,
            bulk,
            out: Vec::new(),
            written: 0,
            reader,
            read_buf: vec![0; 64 * 1024],
            net_buf: vec![0; NET_READ_BYTES],
            net_at: 0,
            net_len: 0,
            idle_timeout,
            last_heard: Instant::now(),
            last_written: Instant::now(),
            _waker: Arc::clone(&waker),
        };
        let writer = LinkWriter {
            lines: Some(urgent_tx),
            waker: Arc::clone(&waker),
        };
        let bulk = BulkWriter {
            lines: bulk_tx,
            waker,
        };
        Ok((io, writer, bulk))
    }

    /// Moves bytes both ways until the link ends or the supervisor closes it.
    pub(super) fn run(mut self) {
        if let Flow::Stop = self.reader.forward_early() {
            return self.close(false);
        }
        let mut events = Events::with_capacity(8);
        let stop = loop {
            match self.turn() {
                Ok(timeout) => {
                    if let Err(e) = self.poll.poll(&mut events, timeout)
                        && e.kind() != io::ErrorKind::Interrupted
                    {
                        self.reader.end(ClientError::lost(&e));
                        break Stop::Ended;
                    }
                }
                Err(stop) => break stop,
            }
        };
        self.close(matches!(stop, Stop::Closed));
    }

    /// One round: take lines to write, write, read, look at the clock. Returns how long the
    /// poll may wait for the next.
    fn turn(&mut self) -> Result<Option<Duration>, Stop> {
        let open = self.take_lines();
        if let Err(e) = self.flush() {
            self.reader.end(ClientError::lost(&e));
            return Err(Stop::Ended);
        }
        if !open {
            return Err(Stop::Closed);
        }
        if self.out_is_empty() {
            self.last_written = Instant::now();
        } else if self.last_written.elapsed() >= WRITE_STALL {
            let secs = WRITE_STALL.as_secs();
            let detail = format!("the host took nothing we sent for {secs} s");
            self.reader.end(ClientError::Lost { detail });
            return Err(Stop::Ended);
        }
        let more = self.read()?;
        // A line just taken from the files thread is written at once, before waiting.
        if self.out_is_empty() && !self.bulk.is_empty() {
            return Ok(Some(Duration::ZERO));
        }
        if more {
            return Ok(Some(Duration::ZERO));
        }
        let quiet = self.last_heard.elapsed();
        match self.reader.on_quiet(quiet, self.idle_timeout) {
            Flow::Go => {}
            Flow::Stop => return Err(Stop::Ended),
        }
        let wait = self
            .reader
            .wait_for(self.last_heard.elapsed(), self.idle_timeout);
        if self.out_is_empty() {
            return Ok(wait);
        }
        let stall = WRITE_STALL.saturating_sub(self.last_written.elapsed());
        Ok(Some(wait.map_or(stall, |w| w.min(stall))))
    }

    /// Moves the supervisor's lines, and a line of the files thread when nothing else waits,
    /// into `out`. False once the supervisor let go of the link.
    fn take_lines(&mut self) -> bool {
        loop {
            match self.urgent.try_recv() {
                Ok(line) => self.push_out(&line),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        if self.out_is_empty()
            && let Ok(line) = self.bulk.try_recv()
        {
            self.push_out(&line);
        }
        true
    }

    fn push_out(&mut self, line: &[u8]) {
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
        self.out.extend_from_slice(line);
    }

    /// Nothing waits to be written, in `out` or in the session.
    fn out_is_empty(&self) -> bool {
        self.written == self.out.len() && !self.tls.as_ref().is_some_and(|s| s.wants_write())
    }

    /// Writes what waits, as far as the socket takes it now.
    fn flush(&mut self) -> io::Result<()> {
        loop {
            if let Some(session) = &mut self.tls {
                while session.wants_write() {
                    match session.write_tls(&mut self.tcp) {
                        Ok(n) if n > 0 => self.last_written = Instant::now(),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            if self.written == self.out.len() {
                self.out.clear();
                self.written = 0;
                return Ok(());
            }
            let rest = &self.out[self.written..];
            let taken = match &mut self.tls {
                // The session takes at most its buffer's worth at a time; the records are
                // sent above before it is given more.
                Some(session) => session.writer().write(rest)?,
                None => match self.tcp.write(rest) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        self.last_written = Instant::now();
                        n
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                },
            };
            if taken == 0 && self.tls.as_ref().is_some_and(|s| !s.wants_write()) {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.written += taken;
        }
    }

    /// Reads what the host sent, up to a turn's worth, and passes it on. True when more may
    /// be waiting (the turn's worth was read).
    fn read(&mut self) -> Result<bool, Stop> {
        // Kept between turns: zeroing 64 KiB on every turn showed in the profile.
        let mut buf = std::mem::take(&mut self.read_buf);
        let read = self.read_into(&mut buf);
        self.read_buf = buf;
        read
    }

    fn read_into(&mut self, buf: &mut [u8]) -> Result<bool, Stop> {
        let mut total = 0;
        while total < READ_PER_TURN {
            let n = match self.read_some(buf) {
                Ok(Some(0)) => {
                    self.reader.closed();
                    return Err(Stop::Ended);
                }
                Ok(Some(n)) => n,
                Ok(None) => return Ok(false),
                Err(e) => {
                    self.reader.end(ClientError::lost(&e));
                    return Err(Stop::Ended);
                }
            };
            total += n;
            self.last_heard = Instant::now();
            if let Flow::Stop = self.reader.on_bytes(&buf[..n]) {
                return Err(Stop::Ended);
            }
        }
        Ok(true)
    }

    /// Plaintext from the host: `Some(0)` at its end, `None` when nothing more is there now.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let Some(session) = &mut self.tls else {
            return loop {
                match self.tcp.read(buf) {
                    Ok(n) => break Ok(Some(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
        };
        loop {
            match session.reader().read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
                Err(e) => return Err(e),
            }
            // No plaintext waits: the session takes the next records, from what was read
            // from the socket before, or from a new read. The socket is read here in large
            // gulps, not by the session: it reads at most 4 KiB at a time, a system call per
            // 4 KiB of a file.
            if self.net_at == self.net_len {
                let n = match self.tcp.read(&mut self.net_buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                (self.net_at, self.net_len) = (0, n);
            }
            let mut records = &self.net_buf[self.net_at..self.net_len];
            let before = records.len();
            // Nothing read: the host closed; the session learns it, and its reader says so
            // above.
            session.read_tls(&mut records)?;
            self.net_at += before - records.len();
            if let Err(e) = session.process_new_packets() {
                // The alert that says why goes out if it can.
                let _ = session.write_tls(&mut self.tcp);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }

    /// Ends the link: what waits is written first when the supervisor closed it (for at most
    /// [`CLOSE_FLUSH`]), a TLS link says goodbye, and both directions are shut.
    fn close(mut self, flush: bool) {
        if flush {
            // Lines the supervisor gave before it let go still go (its `bye` above all).
            while let Ok(line) = self.urgent.try_recv() {
                self.push_out(&line);
            }
            let deadline = Instant::now() + CLOSE_FLUSH;
            let mut events = Events::with_capacity(8);
            while !self.out_is_empty() && self.flush().is_ok() && !self.out_is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let _ = self.poll.poll(&mut events, Some(left));
            }
        }
        if let Some(session) = &mut self.tls {
            session.send_close_notify();
            let _ = session.write_tls(&mut self.tcp);
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
mod tests;
