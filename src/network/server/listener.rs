//! The listener thread: accepts connections, caps them, gives each a thread, and on stop says
//! goodbye to everyone and joins every thread.
//!
//! Owns the accept loop, the table of open connections and the order of shutting down. Does
//! not own what happens on a connection (see `connection` and `handler`).

use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::ServerEvent;
use super::connection::{self, ConnId, Connection};
use super::state::ServerState;
use crate::network::lock;
use crate::network::plain;
use crate::network::protocol::{ErrorCode, LeaveReason, ServerFrame};

/// Accepts until the server stops, then ends every connection and joins every thread.
pub(super) fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
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
        admit(&state, stream);
    }
    say_goodbye_to_everyone(&state);
    state.conn_threads.join_all();
    // Every send queue has finished with its connection, so the flushers have nothing left.
    if let Some(flushers) = lock(&state.flushers).take() {
        flushers.stop();
    }
    drop(listener);
    state.emit(ServerEvent::Stopped);
}

/// Registers a new connection and starts its thread (or closes it unread).
fn admit(state: &Arc<ServerState>, stream: TcpStream) -> Option<()> {
    let peer = stream.peer_addr().ok()?;
    let connection = Arc::new(Connection::new(stream.try_clone().ok()?, peer));
    let id: ConnId = state.next_conn_id.fetch_add(1, Ordering::Relaxed);
    // Connections beyond this are closed unread: it bounds threads under a connection flood.
    let hard_cap = state.config.max_clients + 64;
    let over_address_cap = {
        let mut open = lock(&state.connections);
        if open.by_id.len() >= hard_cap {
            return None;
        }
        open.by_id.insert(id, Arc::clone(&connection));
        let count = open.per_ip.entry(peer.ip()).or_default();
        *count += 1;
        *count > state.config.max_per_address
    };
    let thread_state = Arc::clone(state);
    let spawned = thread::Builder::new()
        .name(format!("natter-conn-{id}"))
        .spawn(move || {
            connection::serve(&thread_state, stream, connection, id, over_address_cap);
            unregister(&thread_state, id, peer.ip());
            thread_state.conn_threads.ending(id);
        });
    match spawned {
        Ok(handle) => {
            state.conn_threads.add(id, handle);
            Some(())
        }
        Err(_) => {
            unregister(state, id, peer.ip());
            None
        }
    }
}

fn unregister(state: &ServerState, id: ConnId, ip: IpAddr) {
    let mut open = lock(&state.connections);
    open.by_id.remove(&id);
    if let Some(count) = open.per_ip.get_mut(&ip) {
        *count -= 1;
        if *count == 0 {
            open.per_ip.remove(&ip);
        }
    }
    state.connections_changed.notify_all();
}

/// On stop: members get `bye` (or a plain line) and a moment to read it; then every
/// connection still open is shut.
fn say_goodbye_to_everyone(state: &ServerState) {
    {
        let room = lock(&state.room);
        let bye = ServerFrame::Bye {
            reason: "The host stopped hosting.".into(),
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
