//! One connection's life on the I/O thread that owns it: sniffing its dialect, reading into
//! its handler, writing its outbox, and closing it in order.
//!
//! Owns the non-blocking socket and everything that touches it, in both directions, so the
//! connection's transport state, its TLS session included, needs no lock. A peer whose first
//! byte starts a TLS handshake gets one; the plaintext inside goes through the same phases
//! (sniffing, an HTTP request's head and a browser's WebSocket: `conn_io/web`, serving, closing).
//! Not waiting, timers or fairness (see `io_thread`), nor what the peer says (see `handler`).

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::connection::{ConnId, Connection, End, Recipient};
use super::handler::Handler;
use super::outbox::{Ending, Outbox, Take};
use super::state::ServerState;
use super::web::Sniffed;
use super::web::ws::WsReader;
use crate::network::plain;
use crate::network::protocol::{
    Dialect, ErrorCode, LeaveReason, ServerFrame, detect_dialect, encode,
};
use crate::network::tls::TLS_HANDSHAKE_BYTE;

mod tls;
mod web;
mod writing;

/// At most this many bytes are taken from the outbox for one round of sends.
const MAX_SEND_BYTES: usize = 256 * 1024;
/// At most this many lines go into one `writev`.
const MAX_SLICES: usize = 512;
/// Lines-taken lists longer than this are not kept between writes.
const KEEP_OUT_CAPACITY: usize = 256;
/// At most this much is read from one connection in one turn, so a blaster cannot starve
/// the others on its thread (and one turn's fan-out stays well under a queue's capacity).
pub(super) const READ_BUDGET: usize = 16 * 1024;
/// A turn's reading in the middle of file data (`file_data`): larger, since a frame's bytes
/// are relayed to one receiver, and a small budget cost a pass through the thread's loop and
/// a system call per 16 KiB of a file.
const DATA_READ_BUDGET: usize = 256 * 1024;
/// The I/O thread's buffer for one read: a file's data comes in reads this large, lines in
/// reads of at most [`READ_BUDGET`].
pub(super) const READ_SCRATCH: usize = 64 * 1024;
/// Whether new data after a read that emptied the socket brings a new readiness event by
/// itself: yes with epoll and kqueue (edge-triggered); no with Windows' AFD polls, which mio
/// re-arms only when an operation says "would block" (a short read that stopped there left
/// the connection deaf: every later line from the peer went unread).
const SHORT_READ_REARMS: bool = cfg!(unix);
/// The first bytes decide the dialect once this many came, even if all white space.
const SNIFF_MAX: usize = 4096;
/// What a peer is told when the host drops it after an internal error (a contained panic).
const INTERNAL_ERROR: &str =
    "The host hit an internal error while serving this connection and closed it. Connect again.";
/// A closing connection's unread input is drained this long at most...
const LINGER: Duration = Duration::from_secs(1);
/// ...and this much at most.
const LINGER_BYTES: usize = 1 << 20;

enum Phase {
    /// Waiting for the first bytes, until the sniff window ends.
    Sniffing {
        first: Vec<u8>,
        until: Instant,
    },
    /// An HTTP request's head is coming (see `web`), until the handshake timeout.
    Http {
        head: Vec<u8>,
        until: Instant,
    },
    Serving(Box<Handler>),
    /// Out of the room: writing what is queued, then maybe draining the peer's input.
    Closing {
        /// The peer was sent an error: drain its input before closing, so the kernel does not
        /// answer it with a reset that could swallow that error.
        linger: bool,
        /// The peer closed its side: there is nothing to drain.
        read_closed: bool,
        drain_until: Option<Instant>,
        drained: usize,
    },
    /// Nothing more to do: the thread drops the connection.
    Done,
}

/// What a write turn led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flushed {
    /// A batch was sent; look again for more a coalescing interval later.
    Sent,
    /// Nothing was waiting.
    Empty,
    /// The socket is full; wait until it has room.
    Blocked,
    /// Writing is over (ended, failed or killed).
    Over,
}

pub(super) struct Conn {
    pub(super) id: ConnId,
    pub(super) stream: TcpStream,
    pub(super) connection: Arc<Connection>,
    outbox: Outbox,
    phase: Phase,
    /// Lines taken from the outbox and not yet (wholly) sent; the first is sent from
    /// `out_offset` on.
    out: Vec<Arc<[u8]>>,
    out_offset: usize,
    /// The socket was full at this moment and took nothing since.
    blocked_since: Option<Instant>,
    /// Told the outbox it does not hold the room (blocked past the hold grace).
    exempt: bool,
    /// The handler's next deadline (pings, timeouts, a plain peer's partial line).
    handler_due: Option<Instant>,
    /// Readiness was reported and not yet read to the end.
    pub(super) readable: bool,
    /// The poll said the peer closed its side: a short read does not mean all was read (its
    /// end comes with no new readiness event).
    pub(super) read_closed: bool,
    /// When the thread plans to write this connection (`None`: not planned).
    pub(super) write_due: Option<Instant>,
    /// The deadline the thread's timer heap holds for this connection.
    pub(super) timer: Option<Instant>,
    /// The TLS session, once the peer's first byte started one.
    tls: Option<Box<rustls::ServerConnection>>,
    /// A browser's WebSocket, once its upgrade was answered: its frames in, and every line out
    /// is sent as a text frame (but the first `raw_lines`: the upgrade's response).
    ws: Option<Box<WsReader>>,
    raw_lines: usize,
}

impl Conn {
    pub(super) fn new(
        id: ConnId,
        stream: TcpStream,
        connection: Arc<Connection>,
        sniff_window: Duration,
        now: Instant,
    ) -> Conn {
        let outbox = connection.outbox.clone();
        Conn {
            id,
            stream,
            connection,
            outbox,
            phase: Phase::Sniffing {
                first: Vec::new(),
                until: now + sniff_window,
            },
            out: Vec::new(),
            out_offset: 0,
            blocked_since: None,
            exempt: false,
            handler_due: None,
            readable: false,
            read_closed: false,
            write_due: None,
            timer: None,
            tls: None,
            ws: None,
            raw_lines: 0,
        }
    }

    /// The session has handshake records or alerts to send (the thread plans a write).
    /// File data waits to be written: the next batch goes at once, not a coalescing
    /// interval later (a file moves as fast as the socket takes it; chat still goes first).
    pub(super) fn has_bulk(&self) -> bool {
        self.outbox.has_bulk()
    }

    pub(super) fn wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.wants_write())
    }

    pub(super) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Whether reading waits while the room is under pressure: a member's input does (it is
    /// what makes the server send to others). A new connection's first bytes do not: if they
    /// waited past the sniff window, a Natter client would be taken for plain text.
    pub(super) fn reads_add_load(&self) -> bool {
        matches!(self.phase, Phase::Serving(_))
    }

    pub(super) fn is_blocked(&self) -> bool {
        self.blocked_since.is_some()
    }

    /// The earliest moment something must be looked at without any event.
    /// `stall` and `grace` are the server's `write_stall` and `hold_grace`.
    pub(super) fn deadline(&self, stall: Duration, grace: Duration) -> Option<Instant> {
        let phase = match &self.phase {
            Phase::Sniffing { until, .. } | Phase::Http { until, .. } => Some(*until),
            Phase::Serving(_) => self.handler_due,
            Phase::Closing { drain_until, .. } => *drain_until,
            Phase::Done => None,
        };
        let blocked = self.blocked_since.map(|since| {
            if self.exempt {
                since + stall
            } else {
                since + grace.min(stall)
            }
        });
        [phase, blocked].into_iter().flatten().min()
    }

    /// Reads what the peer sent, at most `budget` bytes. Returns false if readiness is not
    /// used up (more may be waiting).
    pub(super) fn read(&mut self, state: &Arc<ServerState>, scratch: &mut [u8]) -> bool {
        let mut taken = 0;
        while taken < self.read_budget() && !self.is_done() {
            // Lines left waiting by pressure come first; while some still wait, read nothing
            // more (the peer's TCP window fills and slows it down).
            if !self.handle_pending() {
                return false;
            }
            let want = scratch.len().min(self.read_budget() - taken);
            match (&self.stream).read(&mut scratch[..want]) {
                Ok(0) => {
                    self.on_closed(state, "closed the connection");
                    return true;
                }
                Ok(n) => {
                    taken += n;
                    self.take_in(state, &scratch[..n]);
                    // A short read emptied the socket. With epoll and kqueue more data
                    // raises a new edge, so the read that would only say "would block" is
                    // skipped (one syscall less per message). Not on Windows: mio arms
                    // its next readiness event there only when a read says "would block".
                    if SHORT_READ_REARMS && n < want && !self.read_closed && !self.is_done() {
                        return self.handle_pending();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => {
                    self.on_closed(state, "connection lost");
                    return true;
                }
            }
        }
        self.is_done()
    }

    /// How much one turn may read: [`READ_BUDGET`], or [`DATA_READ_BUDGET`] in the middle of
    /// a `file_data` frame, whose bytes go to one receiver and make no fan-out.
    fn read_budget(&self) -> usize {
        match &self.phase {
            Phase::Serving(handler) if handler.splitter.in_data() => DATA_READ_BUDGET,
            _ => READ_BUDGET,
        }
    }

    /// Reads what is already there, without waiting, while the dialect is undecided.
    fn read_first_bytes(&mut self, state: &Arc<ServerState>) {
        let mut buf = [0u8; SNIFF_MAX];
        while matches!(self.phase, Phase::Sniffing { .. }) {
            match (&self.stream).read(&mut buf) {
                Ok(0) => return self.on_closed(state, "closed the connection"),
                Ok(n) => self.take_in(state, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Handles lines left waiting by pressure; false if some still wait (read nothing more).
    fn handle_pending(&mut self) -> bool {
        let Phase::Serving(handler) = &mut self.phase else {
            return true;
        };
        if !handler.has_pending() {
            return true;
        }
        let end = handler.handle_pending(false);
        self.after_handler(end, Instant::now());
        match &self.phase {
            Phase::Serving(handler) => !handler.has_pending(),
            _ => true,
        }
    }

    /// Bytes from the socket: a TLS handshake's first record starts a session; inside one,
    /// the bytes are decrypted first.
    fn take_in(&mut self, state: &Arc<ServerState>, raw: &[u8]) {
        if self.tls.is_some() {
            return self.decrypt(state, raw);
        }
        let first_of_all = matches!(&self.phase, Phase::Sniffing { first, .. } if first.is_empty());
        if first_of_all && raw.first() == Some(&TLS_HANDSHAKE_BYTE) {
            return self.begin_tls(state, raw);
        }
        self.on_bytes(state, raw);
    }

    fn on_bytes(&mut self, state: &Arc<ServerState>, bytes: &[u8]) {
        let now = Instant::now();
        match &mut self.phase {
            Phase::Sniffing { first, .. } => {
                first.extend_from_slice(bytes);
                // A request method's first letters wait for the rest (within the window).
                let decided = !first.iter().all(u8::is_ascii_whitespace)
                    && super::web::sniff(first) != Sniffed::Maybe;
                if decided || first.len() >= SNIFF_MAX {
                    self.start_serving(state, now);
                }
            }
            Phase::Http { head, .. } => {
                head.extend_from_slice(bytes);
                self.on_request_bytes(state);
            }
            Phase::Serving(_) if self.ws.is_some() => self.on_ws_bytes(bytes, now),
            Phase::Serving(handler) => {
                handler.heard(now);
                let end = handler.feed(bytes);
                self.after_handler(end, now);
            }
            Phase::Closing { drained, .. } => {
                *drained += bytes.len();
                if *drained >= LINGER_BYTES {
                    self.phase = Phase::Done;
                }
            }
            Phase::Done => {}
        }
    }

    /// The dialect is decided by what came (or by silence): the handler takes over.
    fn start_serving(&mut self, state: &Arc<ServerState>, now: Instant) {
        let Phase::Sniffing { first, .. } = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        if super::web::sniff(&first) == Sniffed::Http {
            return self.begin_http(state, first, now);
        }
        let dialect = if first.is_empty() {
            // Silence: a tutorial script waiting for us to speak first.
            Dialect::Plain
        } else {
            detect_dialect(&first)
        };
        self.serve(state, dialect, &first, now);
    }

    /// A handler for `dialect` takes over, `first` read as if just received.
    fn serve(&mut self, state: &Arc<ServerState>, dialect: Dialect, first: &[u8], now: Instant) {
        let recipient = Recipient {
            queue: self.outbox.clone(),
            connection: Arc::clone(&self.connection),
        };
        let encrypted = self.tls.is_some();
        log::debug!(
            "connection {} from {}: dialect {}{}",
            self.id,
            self.connection.peer,
            match dialect {
                Dialect::Json => "Natter",
                Dialect::Plain => "plain text",
            },
            if encrypted { ", encrypted" } else { "" }
        );
        let mut handler = Box::new(Handler::new(state, recipient, self.id, dialect, encrypted));
        handler.local = self.stream.local_addr().ok();
        if self.ws.is_some() {
            handler.on_websocket();
        }
        let end = handler.start(first);
        self.phase = Phase::Serving(handler);
        self.after_handler(end, now);
    }

    /// After the handler acted: end the connection, or note its next deadline.
    fn after_handler(&mut self, end: Option<End>, now: Instant) {
        let Phase::Serving(handler) = &mut self.phase else {
            return;
        };
        let end = end.map_or_else(|| handler.next_deadline(now), Err);
        match end {
            Ok(due) => self.handler_due = due,
            Err(end) => self.end(end),
        }
    }

    fn on_closed(&mut self, state: &Arc<ServerState>, detail: &str) {
        match &mut self.phase {
            // Closed before a word: a port scan or a wake-up connection. Nobody is told.
            Phase::Sniffing { first, .. } if first.is_empty() => {
                log::debug!(
                    "connection {} from {}: {detail} before sending anything",
                    self.id,
                    self.connection.peer
                );
                self.phase = Phase::Done;
            }
            Phase::Sniffing { .. } => {
                self.start_serving(state, Instant::now());
                self.on_closed(state, detail);
            }
            // Closed before its request was whole: nobody to answer.
            Phase::Http { .. } => self.phase = Phase::Done,
            Phase::Serving(handler) => {
                let end = handler.on_closed(detail);
                self.end(end);
                self.on_closed(state, detail);
            }
            Phase::Closing {
                read_closed,
                drain_until,
                ..
            } => {
                *read_closed = true;
                // Written out already (draining): done. Otherwise the writes finish first.
                if drain_until.is_some() {
                    self.phase = Phase::Done;
                }
            }
            Phase::Done => {}
        }
    }

    /// Takes the member out of the room and starts the orderly close.
    fn end(&mut self, end: End) {
        let Phase::Serving(mut handler) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        let (reason, detail) = self
            .connection
            .end_reason()
            .unwrap_or((end.reason, end.detail.clone()));
        handler.leave_room(reason, &detail);
        drop(handler);
        // No one can queue more for this connection now: write what is queued, then close.
        self.outbox.finish();
        self.handler_due = None;
        self.phase = Phase::Closing {
            linger: end.linger,
            read_closed: false,
            drain_until: None,
            drained: 0,
        };
        if self.outbox.killed() {
            self.phase = Phase::Done;
        }
    }

    /// `Connection::close` was called from elsewhere: stop now, writing nothing more.
    pub(super) fn kill(&mut self) {
        if let Phase::Serving(handler) = &mut self.phase {
            let end = handler.on_closed("connection lost");
            self.end(end);
        }
        self.phase = Phase::Done;
    }

    /// A deadline may have passed. Returns true when a write went out just now (the socket
    /// had room after all): the thread plans the next one.
    pub(super) fn on_timer(&mut self, state: &Arc<ServerState>, now: Instant) -> bool {
        let stall = state.config.write_stall;
        let mut wrote = false;
        if let Some(since) = self.blocked_since {
            let blocked = now.saturating_duration_since(since);
            if blocked >= stall {
                // Try once more before calling it a stall. A peer that reads, but slowly,
                // frees its socket's room a little at a time: too little for the system to
                // report it writable (it waits for a third of the buffer), yet a write takes
                // bytes. Such a peer is not stalled; if it cannot keep up, its queue says so
                // ("reading too slowly", the sweep in `io_thread`).
                let _ = self.write(now);
                if self.blocked_since == Some(since) {
                    self.write_failed(
                        LeaveReason::Dropped,
                        format!(
                            "stopped reading: a write stalled for {} s",
                            stall.as_secs_f32()
                        ),
                    );
                }
                if self.is_done() {
                    return false;
                }
                wrote = true;
            } else if blocked >= state.config.hold_grace && !self.exempt {
                self.exempt = true;
                self.outbox.set_exempt(true);
            }
        }
        match &mut self.phase {
            Phase::Sniffing { until, .. } if now >= *until => {
                if self.tls.as_ref().is_some_and(|tls| tls.is_handshaking()) {
                    // A TLS handshake that never finishes is cut at the handshake timeout.
                    self.phase = Phase::Done;
                    return wrote;
                }
                // Bytes that came just now but were not read yet still decide the dialect.
                self.read_first_bytes(state);
                if matches!(self.phase, Phase::Sniffing { .. }) {
                    self.start_serving(state, now);
                }
            }
            Phase::Http { until, .. } if now >= *until => self.request_timed_out(state),
            Phase::Serving(handler) if self.handler_due.is_some_and(|due| now >= due) => {
                let end = handler.on_deadline(now);
                self.after_handler(end, now);
            }
            Phase::Closing {
                drain_until: Some(until),
                ..
            } if now >= *until => self.phase = Phase::Done,
            _ => {}
        }
        wrote
    }

    /// After a panic while handling this connection (see `io_thread::contain`): the peer is
    /// told `server_error` in its dialect if no line is half-written and the socket takes it
    /// at once, and it leaves the room, everyone told. Returns its dialect, if decided.
    pub(super) fn abandon(&mut self) -> Option<Dialect> {
        let Phase::Serving(mut handler) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return None;
        };
        let dialect = handler.dialect;
        if self.out_offset == 0 {
            let line = match dialect {
                Dialect::Json => encode(&ServerFrame::Error {
                    code: ErrorCode::ServerError,
                    message: INTERNAL_ERROR.into(),
                    client_id: None,
                }),
                Dialect::Plain => plain::notice(INTERNAL_ERROR).into_bytes(),
            };
            let line = match self.ws {
                Some(_) => super::web::ws::frame_line(&line).to_vec(),
                None => line,
            };
            self.send_now(&line);
        }
        handler.leave_room(
            LeaveReason::Dropped,
            "dropped after an internal error on the host",
        );
        Some(dialect)
    }

    /// Writes `line` if the socket takes it now (through the TLS session on a TLS link).
    fn send_now(&mut self, line: &[u8]) {
        match self.tls.as_mut() {
            Some(tls) => {
                let _ = tls.writer().write_all(line);
                while tls.wants_write() && tls.write_tls(&mut &self.stream).is_ok_and(|n| n > 0) {}
            }
            None => {
                let _ = (&self.stream).write_all(line);
            }
        }
    }

    /// Called as the thread lets the connection go: the room must not count its queue.
    pub(super) fn release(&mut self) {
        self.outbox.discard();
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// On stop: leaves the room without writing anything more.
    pub(super) fn stop(&mut self) {
        if let Phase::Serving(handler) = &mut self.phase {
            let end = handler.on_closed("the server stopped");
            self.end(End {
                reason: LeaveReason::ServerStopped,
                ..end
            });
        }
        self.phase = Phase::Done;
    }
}
