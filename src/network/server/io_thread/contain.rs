//! Containing a panic to the connection it happened on, and noticing an I/O thread that died.
//!
//! Owns what a panic costs on the server. One caught while adopting, reading, timing, writing
//! or stopping one connection (the per-connection boundary of [`Worker`]) costs that
//! connection only: the peer is told `server_error` in its dialect if its socket takes it at
//! once, it leaves the room (everyone sees it go), it is dropped, and the owner is told once
//! ([`ServerEvent::InternalError`], and a `log` record) with the connection's number, dialect,
//! stage and the panic's summary, never the peer's text. A panic outside that boundary ends
//! the thread; the server then stops, saying goodbye to everyone, and reports
//! [`ServerEvent::Failed`] (a restarted thread could not know the state of the connections the
//! dead one owned). Does not own catching itself (`network::panics`) or what a connection does
//! (`conn_io`).

use std::net::SocketAddr;
use std::sync::Arc;

use super::Worker;
use crate::network::lock;
use crate::network::panics::guarded;
use crate::network::protocol::Dialect;
use crate::network::server::ServerEvent;
use crate::network::server::connection::ConnId;
use crate::network::server::state::ServerState;

/// Where in a connection's handling a panic was caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Adopting,
    Reading,
    Timers,
    Writing,
    Stopping,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Adopting => "taking it on",
            Stage::Reading => "reading",
            Stage::Timers => "a timer",
            Stage::Writing => "writing",
            Stage::Stopping => "stopping",
        }
    }
}

impl Worker {
    /// A panic was caught while handling the connection of `token` at `stage`: it alone is
    /// dropped, as the module says. `unadopted`: the connection's id and peer, for a panic
    /// that came before the thread held it (only the tables know it then).
    pub(super) fn drop_after_panic(
        &mut self,
        token: usize,
        stage: Stage,
        panic: String,
        unadopted: Option<(ConnId, SocketAddr)>,
    ) {
        let (id, peer, dialect) = match self.conns.remove(&token) {
            Some(mut conn) => {
                let _ = self.shared.registry.deregister(&mut conn.stream);
                // Telling the peer and the room runs the handler's code again: a second
                // panic there still ends with the connection dropped and forgotten.
                let dialect = guarded(|| conn.abandon()).unwrap_or(None);
                let _ = guarded(|| conn.release());
                (conn.id, conn.connection.peer, dialect)
            }
            None => match unadopted {
                Some((id, peer)) => (id, peer, None),
                None => return,
            },
        };
        self.state.unregister(id, peer.ip());
        let dialect_name = match dialect {
            Some(Dialect::Json) => "Natter",
            Some(Dialect::Plain) => "plain text",
            None => "dialect not decided",
        };
        log::error!(
            "dropped connection {id} from {peer} ({dialect_name}) after an internal error while {}: {panic}",
            stage.as_str()
        );
        self.state.emit(ServerEvent::InternalError {
            peer,
            connection: id,
            dialect,
            stage: stage.as_str(),
            detail: panic,
        });
    }
}

/// The work of I/O thread `index` ended in a panic outside any one connection: the server
/// stops, as the module says.
pub(super) fn thread_died(state: &Arc<ServerState>, index: usize, panic: &str) {
    let reason = format!(
        "the server stopped after an internal error on its I/O thread natter-io-{index} ({panic}), \
         so that nobody waits on a thread that is gone; start it again"
    );
    log::error!("{reason}");
    lock(&state.failure).get_or_insert_with(|| reason.clone());
    state.emit(ServerEvent::Failed { reason });
    state.stop();
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    use crate::network::protocol::Dialect;
    use crate::network::server::plain_dialect::PANIC_LINE;
    use crate::network::server::{self, ServerConfig, ServerEvent, ServerHandle};

    const WAIT: Duration = Duration::from_secs(10);

    fn start(io_threads: usize) -> ServerHandle {
        let config = ServerConfig {
            io_threads,
            max_per_address: 64,
            ..ServerConfig::default()
        };
        let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        server::start(listener, config, crate::network::no_wake_up()).unwrap()
    }

    /// A plain-text peer, as `nc` is.
    struct Plain {
        stream: TcpStream,
        seen: String,
    }

    impl Plain {
        /// Connects and names itself `nick`; returns once the room said so.
        fn join(addr: SocketAddr, nick: &str) -> Plain {
            let stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut peer = Plain {
                stream,
                seen: String::new(),
            };
            peer.send(format!("/nick {nick}\n").as_bytes());
            peer.read_until(&format!("is now {nick}"));
            peer
        }

        fn send(&mut self, bytes: &[u8]) {
            self.stream.write_all(bytes).unwrap();
        }

        /// Reads until `needle` was seen (panics after WAIT); true if the host then closed.
        fn read_until(&mut self, needle: &str) {
            let deadline = Instant::now() + WAIT;
            let mut buf = [0u8; 4096];
            while !self.seen.contains(needle) {
                assert!(
                    Instant::now() < deadline,
                    "no {needle:?} within {WAIT:?}; got {:?}",
                    self.seen
                );
                match self.stream.read(&mut buf) {
                    Ok(0) => panic!("closed before {needle:?}; got {:?}", self.seen),
                    Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                    Err(_) => {}
                }
            }
        }

        /// Reads until the host closes (panics after WAIT).
        fn read_to_close(&mut self) {
            let deadline = Instant::now() + WAIT;
            let mut buf = [0u8; 4096];
            loop {
                assert!(Instant::now() < deadline, "not closed: {:?}", self.seen);
                match self.stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                    Err(_) => {}
                }
            }
        }
    }

    fn next_internal_error(handle: &ServerHandle) -> ServerEvent {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = handle.events().recv_timeout(left).unwrap();
            if matches!(event, ServerEvent::InternalError { .. }) {
                return event;
            }
        }
    }

    #[test]
    fn a_panic_reading_one_peer_drops_it_with_an_error_it_alone_and_its_thread_serves_on() {
        // One I/O thread: without containment the panic would take every connection.
        let handle = start(1);
        let addr = handle.local_addr();
        let mut alice = Plain::join(addr, "alice");
        let mut bob = Plain::join(addr, "bob");
        let mut mallory = Plain::join(addr, "mallory");
        mallory.send(&[PANIC_LINE, b"\n"].concat());
        mallory.read_to_close();
        assert!(
            mallory.seen.contains("! The host hit an internal error"),
            "{:?}",
            mallory.seen
        );
        alice.read_until("* mallory left (dropped after an internal error on the host)");
        match next_internal_error(&handle) {
            ServerEvent::InternalError {
                dialect,
                stage,
                detail,
                ..
            } => {
                assert_eq!(dialect, Some(Dialect::Plain));
                assert_eq!(stage, "reading");
                assert_eq!(detail, "a test asked for a panic");
            }
            other => unreachable!("{other:?}"),
        }
        let mut carol = Plain::join(addr, "carol");
        carol.read_until("Welcome to Natter");
        alice.send(b"still here\n");
        bob.read_until("alice: still here");
        carol.read_until("alice: still here");
        assert_eq!(handle.members(), ["alice", "bob", "carol"]);
    }

    #[test]
    fn a_panic_in_a_peers_timer_drops_that_peer_with_an_error_and_others_stay() {
        let handle = start(1);
        let addr = handle.local_addr();
        let mut alice = Plain::join(addr, "alice");
        let mut mallory = Plain::join(addr, "mallory");
        // No newline: the line is handled when the partial-line timer fires.
        mallory.send(PANIC_LINE);
        mallory.read_to_close();
        assert!(
            mallory.seen.contains("internal error"),
            "{:?}",
            mallory.seen
        );
        match next_internal_error(&handle) {
            ServerEvent::InternalError { stage, .. } => assert_eq!(stage, "a timer"),
            other => unreachable!("{other:?}"),
        }
        alice.read_until("* mallory left");
        assert_eq!(handle.members(), ["alice"]);
    }

    #[test]
    fn an_io_thread_that_dies_outside_a_connection_stops_the_server_saying_why() {
        let handle = start(2);
        let addr = handle.local_addr();
        // Connection 1 is on thread 1; thread 0 fails.
        let mut alice = Plain::join(addr, "alice");
        let threads = crate::network::lock(&handle.state.io_threads);
        let shared = std::sync::Arc::clone(&threads.as_ref().unwrap().shared[0]);
        drop(threads);
        shared.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        shared.wake();
        alice.read_until("The host stopped hosting");
        let deadline = Instant::now() + WAIT;
        let mut failed = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match handle.events().recv_timeout(left).unwrap() {
                ServerEvent::Failed { reason } => failed = Some(reason),
                ServerEvent::Stopped => break,
                _ => {}
            }
        }
        let reason = failed.expect("a Failed event before Stopped");
        assert!(
            reason.contains("natter-io-0")
                && reason.contains("a test asked this I/O thread to fail"),
            "{reason}"
        );
        assert_eq!(handle.failure(), Some(reason));
    }
}
