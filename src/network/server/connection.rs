//! One TCP connection on the server: setting it up, telling its dialect, and closing it.
//!
//! Owns the socket options, the sniffing of the first bytes, the connection's off switch
//! ([`Connection`]), the way to queue lines to it ([`Recipient`]) and the orderly close (write
//! what is queued, drain unread input). Does not own what the peer says: the handler reads
//! and answers it.

use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::handler::Handler;
use super::send_queue::{SendQueue, SendQueueConfig, WriteFailure};
use super::state::ServerState;
use crate::network::lock;
use crate::network::protocol::{Dialect, LeaveReason, detect_dialect};
use crate::network::timed_read::{ReadOutcome, read_within};

/// Numbers every connection of one server run; never reused.
pub(super) type ConnId = u64;

/// One connection's off switch, shared by its handler, its send queue and the room.
pub(super) struct Connection {
    stream: TcpStream,
    pub(super) peer: SocketAddr,
    end: Mutex<Option<(LeaveReason, String)>>,
}

impl Connection {
    pub(super) fn new(stream: TcpStream, peer: SocketAddr) -> Self {
        Connection {
            stream,
            peer,
            end: Mutex::new(None),
        }
    }

    /// Ends the connection for `reason` (the first reason given wins) by shutting the socket,
    /// which wakes the handler blocked on it and fails any write still to come.
    pub(super) fn close(&self, reason: LeaveReason, detail: impl Into<String>) {
        self.set_end_reason(reason, detail);
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Records why the connection ends, unless a reason was already given.
    pub(super) fn set_end_reason(&self, reason: LeaveReason, detail: impl Into<String>) {
        lock(&self.end).get_or_insert_with(|| (reason, detail.into()));
    }

    pub(super) fn end_reason(&self) -> Option<(LeaveReason, String)> {
        lock(&self.end).clone()
    }
}

/// Where lines for one peer go: its send queue, and its connection to close when the queue
/// overflows. Cheap to clone; never blocks.
#[derive(Clone)]
pub(super) struct Recipient {
    pub(super) queue: SendQueue,
    pub(super) connection: Arc<Connection>,
}

impl Recipient {
    /// Queues one line; a peer with a full queue has stopped reading and is dropped.
    pub(super) fn send(&self, line: Arc<[u8]>) {
        if self.queue.push(line).is_err() {
            self.connection.close(
                LeaveReason::Dropped,
                "stopped reading: too many messages waiting",
            );
        }
    }
}

/// How a handler's run ended, before any reason set on the connection by someone else.
pub(super) struct End {
    pub(super) reason: LeaveReason,
    pub(super) detail: String,
    /// The peer was sent an error and its unread input should be drained before closing, so
    /// the kernel does not answer it with a reset that could swallow that error.
    pub(super) linger: bool,
}

impl End {
    pub(super) fn new(reason: LeaveReason, detail: impl Into<String>) -> Self {
        End {
            reason,
            detail: detail.into(),
            linger: false,
        }
    }
}

/// Runs one connection from its first byte to its close, on the calling thread.
pub(super) fn serve(
    state: &Arc<ServerState>,
    stream: TcpStream,
    connection: Arc<Connection>,
    id: ConnId,
) {
    configure(&stream);
    let (first_bytes, dialect) = match sniff(&stream, state.config.sniff_window) {
        Ok(Some(first)) => {
            let dialect = detect_dialect(&first);
            (first, dialect)
        }
        // Silence: a tutorial script waiting for us to speak first.
        Ok(None) => (Vec::new(), Dialect::Plain),
        // Closed or reset before saying anything: a port scan or a wake-up connection.
        Err(()) => return,
    };
    let Some(queue) = open_send_queue(state, &stream, &connection, id) else {
        return;
    };
    let recipient = Recipient {
        queue: queue.clone(),
        connection: Arc::clone(&connection),
    };
    let mut handler = Handler::new(state, &stream, recipient, id, dialect);
    let end = handler.run(&first_bytes);
    let (reason, detail) = connection
        .end_reason()
        .unwrap_or((end.reason, end.detail.clone()));
    handler.leave_room(reason, &detail);
    drop(handler);
    // No one can queue more for this connection now: write what is queued (or give up).
    queue.finish();
    if end.linger {
        drain_unread(&stream);
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// No Nagle delay (chat lines are small and wanted now); keepalive finds dead plain peers,
/// which cannot answer pings.
fn configure(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(30))
        .with_interval(Duration::from_secs(10));
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

/// The connection's send queue, writing to a handle of its own on the socket; a failed write
/// closes the connection with a reason the others will read.
fn open_send_queue(
    state: &ServerState,
    stream: &TcpStream,
    connection: &Arc<Connection>,
    id: ConnId,
) -> Option<SendQueue> {
    let config = SendQueueConfig {
        capacity: state.config.queue_lines,
        stall: state.config.write_stall,
        coalesce: state.config.coalesce,
    };
    let failed = Arc::clone(connection);
    let on_failure = Box::new(move |failure: WriteFailure| match failure {
        WriteFailure::Stalled(stall) => failed.close(
            LeaveReason::Dropped,
            format!("stopped reading: a write stalled for {} s", stall.as_secs()),
        ),
        WriteFailure::Lost => failed.close(LeaveReason::Left, "connection lost"),
    });
    let flushers = lock(&state.flushers);
    let flushers = flushers.as_ref()?;
    SendQueue::new(stream.try_clone().ok()?, id, config, flushers, on_failure).ok()
}

/// Waits up to `window` for the peer's first bytes. `Ok(None)` is silence; `Err` a peer that
/// closed or broke without a word.
fn sniff(stream: &TcpStream, window: Duration) -> Result<Option<Vec<u8>>, ()> {
    let mut buf = vec![0u8; 4096];
    match read_within(stream, &mut buf, window) {
        ReadOutcome::Bytes(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        ReadOutcome::TimedOut => Ok(None),
        ReadOutcome::Closed | ReadOutcome::Failed(_) => Err(()),
    }
}

/// Reads and discards what the peer still sends, briefly and boundedly.
fn drain_unread(stream: &TcpStream) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut budget = 1usize << 20;
    let mut buf = [0u8; 8192];
    while budget > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match read_within(stream, &mut buf, left.min(Duration::from_millis(100))) {
            ReadOutcome::Bytes(n) => budget -= n.min(budget),
            ReadOutcome::TimedOut => continue,
            ReadOutcome::Closed | ReadOutcome::Failed(_) => break,
        }
    }
}
