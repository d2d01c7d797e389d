//! The listener thread: accepts connections, caps them, hands each to an I/O thread, and on
//! stop says goodbye to everyone and stops the I/O threads. It waits in a mio poll on the
//! listening socket and a waker, so stopping is a wake-up, not a connection to itself.
//!
//! Owns the accept loop, the pace of new connections per address, the table of open
//! connections and the order of shutting down. Does not own what happens on a connection (see
//! `connection` and `handler`).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::ServerEvent;
use super::connection::{self, ConnId, Connection};
use super::handler::room_full_message;
use super::io_thread::{NewConn, token_for};
use super::outbox::{Marks, Outbox};
use super::rate::{ADDRESSES_TRACKED, AddressBuckets, Refused};
use super::refuser::{Reason, Refusal, Refuser};
use super::state::ServerState;
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{ErrorCode, LeaveReason, ServerFrame, encode};
use crate::network::tls::{DoorRefusal, TLS_HANDSHAKE_BYTE};

/// The listening socket's token on the listener's poll.
pub(super) const LISTENER: Token = Token(0);
/// The token of the waker that stops the listener (see [`ServerState::stop`]).
pub(super) const STOP: Token = Token(1);
/// How long accepting pauses after a failed accept (out of file descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts until the server stops, then ends every connection and joins every thread. `poll`
/// has `listener` registered as [`LISTENER`] and the stop waker as [`STOP`]: the thread
/// sleeps in it until someone connects or the server stops, never in `accept`.
pub(super) fn accept_loop(
    listener: mio::net::TcpListener,
    mut poll: Poll,
    state: Arc<ServerState>,
) {
    // Before anyone is accepted: the first to join gets the history kept from before.
    super::history_file::restore(&state);
    let refuser = Refuser::start(&state);
    let mut joins = AddressBuckets::new(state.config.joins_per_address, ADDRESSES_TRACKED);
    let mut events = Events::with_capacity(8);
    while !state.stopping.load(Ordering::SeqCst) {
        // Readiness is reported once per change: everyone waiting is accepted before the
        // next wait.
        let backoff = accept_waiting(&listener, &state, &mut joins, &refuser);
        if state.stopping.load(Ordering::SeqCst) {
            break;
        }
        match poll.poll(&mut events, backoff) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let reason = format!("the server stopped: it could not wait for connections ({e})");
                lock(&state.failure).get_or_insert_with(|| reason.clone());
                state.emit(ServerEvent::Failed { reason });
                break;
            }
        }
    }
    refuser.stop();
    say_goodbye_to_everyone(&state);
    // Each I/O thread takes what is left out of the room and drops it.
    if let Some(io_threads) = lock(&state.io_threads).take() {
        io_threads.stop();
    }
    super::history_file::stop(&state);
    // The listening socket goes back as it came, blocking: a handle the caller kept on it
    // (`try_clone`, to serve again at the same port) shares the flag.
    let mut listener = listener;
    let _ = poll.registry().deregister(&mut listener);
    let _ = std::net::TcpListener::from(listener).set_nonblocking(false);
    state.emit(ServerEvent::Stopped);
}

/// Accepts every connection waiting. Returns how long to wait before trying again without
/// being told (after a failed accept), or `None` when there is nothing left to accept.
fn accept_waiting(
    listener: &mio::net::TcpListener,
    state: &Arc<ServerState>,
    joins: &mut AddressBuckets,
    refuser: &Refuser,
) -> Option<Duration> {
    loop {
        if state.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let (stream, peer) = match listener.accept() {
            Ok((stream, peer)) => (TcpStream::from(stream), peer),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A connection that went away before it was accepted.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning. The
                // connection is still waiting, so no new readiness may come: try again then.
                state.emit(ServerEvent::PeerError {
                    peer: state.local_addr,
                    code: ErrorCode::TooManyConnections,
                    message: format!("could not accept a connection: {e}"),
                });
                return Some(ACCEPT_BACKOFF);
            }
        };
        if let Err(refused) = joins.admit(peer.ip(), Instant::now()) {
            refuse_join(state, &stream, peer, refused);
            continue;
        }
        admit(state, stream, refuser);
    }
}

/// Registers a new connection and hands it to its I/O thread, or hands it to the refuser
/// with the reason it cannot be served.
fn admit(state: &Arc<ServerState>, stream: TcpStream, refuser: &Refuser) -> Option<()> {
    let peer = stream.peer_addr().ok()?;
    let id: ConnId = state.next_conn_id.fetch_add(1, Ordering::Relaxed);
    let io = lock(&state.io_threads).as_ref()?.pick(id).cloned()?;
    let marks = Marks::for_capacity(state.config.queue_lines);
    let outbox = Outbox::new(
        token_for(id),
        marks,
        Arc::clone(&io),
        Arc::clone(&state.pressure),
    );
    let connection = Arc::new(Connection::new(peer, outbox));
    // Connections beyond this are refused: it bounds memory under a connection flood.
    let hard_cap = state.config.max_clients + 64;
    let (from_peer, too_many_open) = {
        let mut open = lock(&state.connections);
        let from_peer = open.per_ip.get(&peer.ip()).copied().unwrap_or(0);
        let too_many_open = open.by_id.len() >= hard_cap;
        if from_peer < state.config.max_per_address && !too_many_open {
            open.by_id.insert(id, Arc::clone(&connection));
            *open.per_ip.entry(peer.ip()).or_default() += 1;
        }
        (from_peer, too_many_open)
    };
    let refused = if from_peer >= state.config.max_per_address {
        let (code, message) = too_many_from(state, peer.ip());
        Some((code, message, DoorRefusal::TooManyFromYou))
    } else if too_many_open {
        let (code, message) = busy(state);
        Some((code, message, DoorRefusal::Busy))
    } else {
        None
    };
    if let Some((code, message, door)) = refused {
        let refusal = Refusal {
            stream,
            peer,
            reason: Reason {
                code,
                message,
                door,
            },
        };
        refuser.refuse(state, refusal);
        return None;
    }
    connection::configure(&stream);
    log::debug!("connection {id} from {peer}: accepted");
    io.hand_over(NewConn {
        id,
        stream,
        connection,
    });
    Some(())
}

fn too_many_from(state: &ServerState, ip: IpAddr) -> (ErrorCode, String) {
    let message = format!(
        "Too many connections from {ip}: at most {} at once.",
        state.config.max_per_address
    );
    (ErrorCode::TooManyConnections, message)
}

/// Why a connection past the cap on open connections is refused: the room is full, or too
/// many connections have not joined yet.
fn busy(state: &ServerState) -> (ErrorCode, String) {
    if lock(&state.room).members.len() >= state.config.max_clients {
        return (ErrorCode::RoomFull, room_full_message(&state.config));
    }
    let message =
        "The server is busy: too many connections are still saying hello. Try again in a moment.";
    (ErrorCode::TooManyConnections, message.to_string())
}

/// Refuses a connection from an address that opened too many lately, on the listener thread
/// and without waiting for the peer: one `too_many_joins` frame (a Natter client shows it; to `nc` it is a
/// readable line), or, when the peer's TLS ClientHello is already there, the fatal alert that
/// says the same (`tls::DoorRefusal`; a Natter client that sent its ClientHello and reads the
/// frame instead takes it as the same refusal), then close. The host is told when [`Refused::note`] says so: at the first
/// refusal and then every few seconds with a count, so a flood cannot flood the log.
fn refuse_join(state: &ServerState, stream: &TcpStream, peer: SocketAddr, refused: Refused) {
    let limit = state.config.joins_per_address;
    let message = format!(
        "Too many new connections from {}: at most {} at once, then {} a minute. Try again in a minute.",
        peer.ip(),
        limit.burst,
        limit.per_second * 60.0
    );
    let line = encode(&ServerFrame::Error {
        code: ErrorCode::TooManyJoins,
        message: message.clone(),
        client_id: None,
    });
    // Never block the listener: a new socket's send buffer has room for one line. What the
    // peer already sent (its hello) is read first, so closing does not answer it with a reset
    // that could overtake the refusal.
    if stream.set_nonblocking(true).is_ok() {
        let mut socket = stream;
        let mut unread = [0u8; 4096];
        let tls =
            matches!(socket.read(&mut unread), Ok(n) if n > 0 && unread[0] == TLS_HANDSHAKE_BYTE);
        let alert = DoorRefusal::TooManyFromYou.alert_record();
        let _ = socket.write(if tls { &alert[..] } else { &line[..] });
    }
    let _ = stream.shutdown(Shutdown::Write);
    if let Some(count) = refused.note {
        state.emit(ServerEvent::PeerError {
            peer,
            code: ErrorCode::TooManyJoins,
            message: format!("{message} ({count} refused since the last note)"),
        });
    }
}

/// On stop: members get `bye` (or a plain line) and a moment to read it; then every
/// connection still open is shut.
fn say_goodbye_to_everyone(state: &ServerState) {
    {
        let mut room = lock(&state.room);
        let bye = ServerFrame::Bye {
            reason: "The host stopped hosting.".into(),
            ended: state.ending_room.load(Ordering::SeqCst),
        };
        room.broadcast(None, &bye, || {
            plain::notice("The host stopped hosting. Goodbye.")
        });
        for member in &room.members {
            member.recipient.queue.close_after_flush();
            // The reason others would read if they could: the room is going away.
            let connection = &member.recipient.connection;
            connection.set_end_reason(LeaveReason::ServerStopped, "the server stopped");
        }
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut open = lock(&state.connections);
    while !open.by_id.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        open = state
            .connections_changed
            .wait_timeout(open, left)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
    for connection in open.by_id.values() {
        connection.close(LeaveReason::ServerStopped, "the server stopped");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use crate::network::no_wake_up;
    use crate::network::server::{ServerConfig, bind, start};

    /// Lines of the kernel's TCP tables (`/proc/net/tcp`, `tcp6`) with `port` at either end.
    fn sockets_on_port(port: u16) -> Vec<String> {
        let mut found = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = std::fs::read_to_string(table) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let ends = line.split_whitespace().skip(1).take(2);
                let on_port = ends
                    .filter_map(|end| end.rsplit(':').next())
                    .filter_map(|hex| u16::from_str_radix(hex, 16).ok())
                    .any(|p| p == port);
                if on_port {
                    found.push(line.to_string());
                }
            }
        }
        found
    }

    #[test]
    fn stopping_a_server_nobody_connected_to_leaves_no_socket_on_its_port() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let handle = start(listener, ServerConfig::default(), no_wake_up()).unwrap();
        let port = handle.local_addr().port();
        assert_eq!(sockets_on_port(port).len(), 1, "only the listening socket");
        handle.stop();
        // A connection to itself (the old way to wake a blocking accept) would linger here
        // in TIME_WAIT for a minute.
        let left = sockets_on_port(port);
        assert!(left.is_empty(), "sockets left on port {port}: {left:?}");
    }
}
