//! The listener thread: accepts connections, caps them, hands each to an I/O thread, and on
//! stop says goodbye to everyone and stops the I/O threads.
//!
//! Owns the accept loop, the pace of new connections per address, the table of open
//! connections and the order of shutting down. Does not own what happens on a connection (see
//! `connection` and `handler`).

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::ServerEvent;
use super::connection::{self, ConnId, Connection};
use super::handler::room_full_message;
use super::io_thread::{NewConn, token_for};
use super::outbox::{Marks, Outbox};
use super::rate::{ADDRESSES_TRACKED, AddressBuckets, Refused};
use super::refuser::{Refusal, Refuser};
use super::state::ServerState;
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{ErrorCode, LeaveReason, ServerFrame, encode};
use crate::network::tls::{DoorRefusal, TLS_HANDSHAKE_BYTE};

/// Accepts until the server stops, then ends every connection and joins every thread.
pub(super) fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    let refuser = Refuser::start(&state);
    let mut joins = AddressBuckets::new(state.config.joins_per_address, ADDRESSES_TRACKED);
    for incoming in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match incoming {
            Ok(stream) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                state.emit(ServerEvent::PeerError {
                    peer: state.local_addr,
                    code: ErrorCode::TooManyConnections,
                    message: format!("could not accept a connection: {e}"),
                });
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        if let Err(refused) = joins.admit(peer.ip(), Instant::now()) {
            refuse_join(&state, &stream, peer, refused);
            continue;
        }
        admit(&state, stream, &refuser);
    }
    refuser.stop();
    say_goodbye_to_everyone(&state);
    // Each I/O thread takes what is left out of the room and drops it.
    if let Some(io_threads) = lock(&state.io_threads).take() {
        io_threads.stop();
    }
    drop(listener);
    state.emit(ServerEvent::Stopped);
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
            code,
            message,
            door,
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
