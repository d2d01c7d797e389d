//! One TCP connection on the server as the rest of the server sees it.
//!
//! Owns the connection's off switch ([`Connection`]), the way to queue lines to it
//! ([`Recipient`]), how a handler's run ended ([`End`]) and the socket options every accepted
//! socket gets ([`configure`]). Does not touch the socket after that: the I/O thread that owns
//! it reads and writes (see `conn_io`).

use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::outbox::Outbox;
use crate::network::lock;
use crate::network::protocol::LeaveReason;

/// Numbers every connection of one server run; never reused.
pub(super) type ConnId = u64;

/// One connection's off switch, shared by its handler, its outbox and the room.
pub(super) struct Connection {
    pub(super) peer: SocketAddr,
    pub(super) outbox: Outbox,
    end: Mutex<Option<(LeaveReason, String)>>,
}

impl Connection {
    pub(super) fn new(peer: SocketAddr, outbox: Outbox) -> Self {
        Connection {
            peer,
            outbox,
            end: Mutex::new(None),
        }
    }

    /// Ends the connection for `reason` (the first reason given wins): nothing more is
    /// written, and its I/O thread takes it out of the room and drops the socket.
    pub(super) fn close(&self, reason: LeaveReason, detail: impl Into<String>) {
        self.set_end_reason(reason, detail);
        self.outbox.kill();
    }

    /// Records why the connection ends, unless a reason was already given.
    pub(super) fn set_end_reason(&self, reason: LeaveReason, detail: impl Into<String>) {
        lock(&self.end).get_or_insert_with(|| (reason, detail.into()));
    }

    pub(super) fn end_reason(&self) -> Option<(LeaveReason, String)> {
        lock(&self.end).clone()
    }
}

/// Where lines for one peer go: its outbox, and its connection to close when the outbox
/// overflows. Cheap to clone; never blocks.
#[derive(Clone)]
pub(super) struct Recipient {
    pub(super) queue: Outbox,
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

    /// Queues a broadcast line kept once for everyone (see `fanout`); as [`Recipient::send`].
    pub(super) fn send_shared(&self, line: &super::fanout::SharedLine) {
        if self.queue.push_shared(line).is_err() {
            self.connection.close(
                LeaveReason::Dropped,
                "stopped reading: too many messages waiting",
            );
        }
    }

    /// Queues a line written only when taken (see `fanout::Deferred`); as [`Recipient::send`].
    pub(super) fn send_deferred(&self, source: Arc<dyn super::fanout::Deferred>, part: u32) {
        if self.queue.push_deferred(source, part).is_err() {
            self.connection.close(
                LeaveReason::Dropped,
                "stopped reading: too many messages waiting",
            );
        }
    }

    /// Queues file data, written only when no other line waits; bounded by the sender's
    /// window (see `files`), not by the queue's capacity.
    pub(super) fn send_bulk(&self, line: Arc<[u8]>) {
        self.queue.push_bulk(line);
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
// Elsewhere only the test's check of the documented total reads it.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
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
    fn an_accepted_socket_gets_nodelay_and_keepalive_after_10_s_every_5_s() {
        let (accepted, _client) = accepted_socket();
        configure(&accepted);
        let socket = socket2::SockRef::from(&accepted);
        assert!(socket.tcp_nodelay().unwrap());
        assert!(socket.keepalive().unwrap());
        // Windows sets these but cannot read them back (socket2 has no getter there).
        #[cfg(not(windows))]
        {
            assert_eq!(
                socket.tcp_keepalive_time().unwrap(),
                Duration::from_secs(10)
            );
            assert_eq!(
                socket.tcp_keepalive_interval().unwrap(),
                Duration::from_secs(5)
            );
        }
        assert_eq!(
            KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_RETRIES,
            UNACKNOWLEDGED_TIMEOUT,
            "both ways of noticing a dead peer take the same documented time"
        );
    }

    /// Apart from the test above because Wine 8 refuses `TCP_KEEPCNT` (WSAENOPROTOOPT, both
    /// setting and reading it; Windows has it since 10 version 1703): scripts/windows_tests.sh
    /// skips only this one there, while nodelay and keepalive itself are still checked.
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "windows"
    ))]
    #[test]
    fn an_accepted_socket_gives_up_after_2_unanswered_keepalive_probes() {
        let (accepted, _client) = accepted_socket();
        configure(&accepted);
        let socket = socket2::SockRef::from(&accepted);
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 2);
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
