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

/// A silent connection gets its first keepalive probe after this long.
pub(super) const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
/// Then one probe every this long.
pub(super) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Unanswered probes before the kernel gives up (where `TCP_USER_TIMEOUT` does not decide it):
/// 10 s + 2 × 5 s = 20 s.
pub(super) const KEEPALIVE_RETRIES: u32 = 2;
/// Linux: data or probes left unacknowledged this long end the connection, so a vanished peer
/// with messages queued to it is not retried for the kernel's default of about 15 minutes.
/// Worst case: a message queued just before the last probe, 20 s more: about 40 s, within the
/// 45 s idle time Natter clients are held to.
pub(super) const UNACKNOWLEDGED_TIMEOUT: Duration = Duration::from_secs(20);

/// No Nagle delay (chat lines are small and wanted now). Keepalive and, on Linux,
/// `TCP_USER_TIMEOUT` find a peer that vanished without closing (unplugged, lid shut) within
/// 20–40 s whatever its dialect: plain peers cannot answer pings, and retransmissions
/// of queued data would otherwise keep a dead connection for many minutes. Best effort: a
/// socket that refuses an option still works.
pub(super) fn configure(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "windows"
    ))]
    let keepalive = keepalive.with_retries(KEEPALIVE_RETRIES);
    let socket = socket2::SockRef::from(stream);
    let _ = socket.set_tcp_keepalive(&keepalive);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = socket.set_tcp_user_timeout(Some(UNACKNOWLEDGED_TIMEOUT));
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
    let deadline = Instant::now() + window;
    let mut first = Vec::new();
    let mut buf = [0u8; 4096];
    // White space decides nothing (PROTOCOL.md §2: the first non-white-space byte does), so
    // keep reading while only white space came, within the window.
    while first.iter().all(u8::is_ascii_whitespace) && first.len() < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match read_within(stream, &mut buf, left) {
            ReadOutcome::Bytes(n) => first.extend_from_slice(&buf[..n]),
            ReadOutcome::TimedOut => break,
            ReadOutcome::Closed | ReadOutcome::Failed(_) if first.is_empty() => return Err(()),
            ReadOutcome::Closed | ReadOutcome::Failed(_) => break,
        }
    }
    Ok((!first.is_empty()).then_some(first))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A real accepted socket on 127.0.0.1, as the listener would get it.
    fn accepted_socket() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        (accepted, client)
    }

    #[test]
    fn an_accepted_socket_gets_nodelay_and_keepalive_after_10_s_every_5_s_twice() {
        let (accepted, _client) = accepted_socket();
        configure(&accepted);
        let socket = socket2::SockRef::from(&accepted);
        assert!(socket.tcp_nodelay().unwrap());
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(5)
        );
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "windows"
        ))]
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 2);
        assert_eq!(
            KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_RETRIES,
            UNACKNOWLEDGED_TIMEOUT,
            "both ways of noticing a dead peer take the same documented time"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_accepted_socket_gives_up_on_unacknowledged_data_after_20_s() {
        let (accepted, _client) = accepted_socket();
        configure(&accepted);
        let socket = socket2::SockRef::from(&accepted);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(20))
        );
    }
}
