//! The Natter server: accepts connections, runs the room, relays messages.
//!
//! This module owns the public face of a server: [`start`] and [`bind`], the [`ServerHandle`]
//! that stops it, the [`ServerEvent`]s it reports and the [`HostError`]s of starting. The work
//! is split by concept, in the manner of tokio's mini-redis:
//!
//! - `config`: every limit and timing ([`ServerConfig`]);
//! - `state`: what all threads of one server share (room, open connections, events);
//! - `listener`: the accept loop, per-address caps and pace, and the order of shutting down;
//! - `refuser`: telling every refused connection why, in its dialect, on one thread;
//! - `connection`: one socket's set-up, dialect sniffing, off switch and close;
//! - `handler`: one connection's read loop and the actions both dialects share;
//! - `json_dialect` / `plain_dialect`: what only Natter clients / plain peers get;
//! - `room`: members, history, nickname uniqueness, broadcasting;
//! - `history_file`: the history kept in a file across a restart, when asked;
//! - `rate`: token buckets: each member's budget, and new connections per address;
//! - `session`: session tokens and which ones this run issued;
//! - `away`: members whose link dropped, held in the room for their resume's grace;
//! - `io_thread` / `conn_io`: the fixed few threads that own every connection, both directions;
//! - `outbox`: each connection's bounded outgoing queue, and the room's pressure;
//! - `fanout`: broadcast lines kept once, queued to members as spans;
//! - `presence`: joins and leaves, gathered when they come in a burst;
//! - `lazy_channel`: bounded channels that take memory only as they fill;
//! - `moderation` / `moderation_handler` / `moderation_words` / `bans`: running the room
//!   (roles, mutes, kicks, lectures, bans kept across restarts), a connection's and the
//!   console's side of it, and its words;
//! - `web`: the browser dialect (HTTP, the page, WebSocket).
//!
//! It does not own the wire format (`network::protocol`), the plain-text wording
//! (`network::plain`) or text cleaning (`network::text`), and knows nothing of windows: it
//! reports through [`ServerEvent`]s and a [`WakeUp`].
//!
//! Broadcasting only appends an already-serialised line to each member's bounded outbox; its
//! I/O thread writes it with non-blocking sends. When that cannot keep up, reading stops until
//! the queues drain (backpressure). A member whose socket stops taking bytes stops holding the
//! others after `hold_grace`, and a full queue or a write stalled past the deadline drops it
//! alone.

mod away;
mod bans;
mod config;
mod conn_io;
mod connection;
mod fanout;
mod file_ledger;
mod file_relay;
mod handler;
mod history_file;
mod io_thread;
mod json_dialect;
mod lazy_channel;
mod listener;
mod moderation;
mod moderation_handler;
mod moderation_words;
mod outbox;
mod plain_dialect;
mod presence;
mod private;
mod rate;
mod refuser;
mod room;
mod session;
mod state;
mod web;

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};

use crossbeam_channel::Receiver;
use mio::{Interest, Poll, Waker};

pub use bans::{BANS_FILE, BansError};
pub use config::{JoinLimit, RateLimit, ServerConfig};

use super::discovery::{Announcer, Noted};
use super::protocol::{ChatMessage, Dialect, ErrorCode, LeaveReason};
use super::{WakeUp, lock};
use state::ServerState;

/// What the server reports to whoever runs it (the window or `natter serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The server accepts connections on `addr` (the real port, even when 0 was asked for).
    /// Always the first event.
    Started {
        addr: SocketAddr,
    },
    /// Someone entered the room.
    Joined {
        nick: String,
        peer: SocketAddr,
        dialect: Dialect,
        /// The link is TLS.
        encrypted: bool,
    },
    /// Someone left the room; `detail` is the human-readable why.
    Left {
        nick: String,
        reason: LeaveReason,
        detail: String,
    },
    Renamed {
        from: String,
        to: String,
    },
    /// A message was accepted and relayed.
    Message(ChatMessage),
    /// Someone ran the room: the calm line everyone read ("dana muted bob for 10 minutes").
    Moderation {
        text: String,
    },
    /// A peer broke a rule or a limit and was refused, warned or dropped.
    PeerError {
        peer: SocketAddr,
        code: ErrorCode,
        message: String,
    },
    /// A connection was refused (room full, too many from one address, too many open) and
    /// told why; `total` counts every refusal of this run, this one included.
    Refused {
        peer: SocketAddr,
        code: ErrorCode,
        message: String,
        total: u64,
    },
    /// Someone heard the room announced but could not open a TCP connection to `port`: a
    /// firewall on this computer probably blocks it. Rate-limited per address by the announcer,
    /// and to the first few of a minute whatever the address (forged sources cost nothing).
    CouldNotReach {
        from: IpAddr,
        port: u16,
    },
    /// `count` more such notes came within the last minute and were only counted.
    CouldNotReachMore {
        count: u32,
        port: u16,
    },
    /// The room could not be announced on the local network (the UDP port is unavailable);
    /// hosting goes on, people type the address.
    NotAnnounced {
        reason: String,
    },
    /// Handling one connection went wrong inside the host (a bug, caught): that connection
    /// was told `server_error` if its socket took it, left the room and was dropped; everyone
    /// else goes on. `stage` says what the host was doing (reading, writing, timers...);
    /// `detail` is the panic's summary, without the peer's text. Reported once.
    InternalError {
        peer: SocketAddr,
        connection: u64,
        /// `None`: the connection's dialect was not decided yet.
        dialect: Option<Dialect>,
        stage: &'static str,
        detail: String,
    },
    /// The server cannot go on (an I/O thread failed outside any one connection): it stops,
    /// saying goodbye to everyone, and `Stopped` follows. `reason` is in words.
    Failed {
        reason: String,
    },
    /// Every thread is joined and the port is released. Always the last event.
    Stopped,
}

/// Why hosting could not start, in words for the person who pressed the button.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(
        "Another program already uses port {port}. Pick another port, or 0 to let the system choose a free one."
    )]
    AddrInUse { port: u16 },
    #[error(
        "Not allowed to use port {port}: ports below 1024 need administrator rights. Pick 5050 or another port above 1024."
    )]
    PermissionDenied { port: u16 },
    #[error("This machine has no address {ip}. Use 0.0.0.0 to accept people on every network.")]
    AddrNotAvailable { ip: IpAddr },
    #[error("Could not start hosting on {addr}: {source}")]
    Io { addr: SocketAddr, source: io::Error },
}

/// Connections the kernel holds for us before `accept`: a crowd arriving at once (a class
/// opening the app at the bell, a join storm) would otherwise see its SYNs dropped and wait a
/// second per retry. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds the listening socket, turning the usual failures into advice.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, HostError> {
    listen(addr).map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => HostError::AddrInUse { port: addr.port() },
        io::ErrorKind::PermissionDenied => HostError::PermissionDenied { port: addr.port() },
        io::ErrorKind::AddrNotAvailable => HostError::AddrNotAvailable { ip: addr.ip() },
        _ => HostError::Io { addr, source },
    })
}

/// What `TcpListener::bind` does, with a longer backlog.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // As std does on Unix: a restarted host can take its port back at once. (On Windows this
    // option would let two programs share the port, so it is left off there.)
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// A running server. Dropping it stops it too; [`ServerHandle::stop`] also waits.
pub struct ServerHandle {
    state: Arc<ServerState>,
    events: Receiver<ServerEvent>,
    listener_thread: Option<JoinHandle<()>>,
    announcer: Option<Announcer>,
}

impl ServerHandle {
    /// The address the server accepts on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// The event stream; see [`ServerEvent`].
    pub fn events(&self) -> &Receiver<ServerEvent> {
        &self.events
    }

    /// Nicknames in the room, in the order they joined.
    pub fn members(&self) -> Vec<String> {
        lock(&self.state.room).nicks()
    }

    /// Says `bye` to everyone, closes every connection, joins every thread and releases the
    /// port. Returns when all that is done; `ServerEvent::Stopped` is then on the channel.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    /// Carries out one line typed by the person hosting at `natter serve`'s console (`/mute
    /// bob 10`, `/bans`, `/who`, `/help`…), with the host's rights, and returns what to print.
    pub fn console_command(&self, line: &str) -> String {
        moderation_handler::console_answer(&self.state, line)
    }

    /// Why the bans kept in the file could not be read, if they could not: the room then
    /// starts without them, and the file is left as it was.
    pub fn bans_problem(&self) -> Option<String> {
        lock(&self.state.bans_problem).clone()
    }

    /// Like [`ServerHandle::stop`], for a room the person hosting ended (Stop hosting, the
    /// window closed): the goodbye says so, and clients stop redialling.
    pub fn end_room(mut self) {
        self.state.ending_room.store(true, Ordering::SeqCst);
        self.stop_and_join();
    }

    /// Why the server stopped by itself, if it did (see [`ServerEvent::Failed`]): kept here
    /// too, so it is known even if the event channel was full.
    pub fn failure(&self) -> Option<String> {
        lock(&self.state.failure).clone()
    }

    /// The instance id the room is announced under, when it is announced.
    pub fn announced_id(&self) -> Option<&str> {
        self.announcer.as_ref().map(Announcer::id)
    }

    fn stop_and_join(&mut self) {
        // First the goodbye on the network, so finders drop the room at once.
        if let Some(announcer) = self.announcer.take() {
            announcer.stop();
        }
        let Some(listener_thread) = self.listener_thread.take() else {
            return;
        };
        self.state.stop();
        let _ = listener_thread.join();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts serving on an already-bound listener (so callers, tests above all, can bind port 0
/// and learn the real port). Returns once the listener thread runs.
pub fn start(
    listener: TcpListener,
    config: ServerConfig,
    wake: WakeUp,
) -> io::Result<ServerHandle> {
    let local_addr = listener.local_addr()?;
    let (events_tx, events) = lazy_channel::bounded(8192);
    let io_threads = config.io_threads;
    let tls = (config.identity.as_deref())
        .map(crate::network::tls::server_config)
        .transpose()
        .map_err(io::Error::other)?;
    // The listener waits in a poll, so that stopping is a wake-up (see `listener`).
    listener.set_nonblocking(true)?;
    let mut listener = mio::net::TcpListener::from_std(listener);
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, listener::LISTENER, Interest::READABLE)?;
    let stop_listener = Waker::new(poll.registry(), listener::STOP)?;
    let state = Arc::new(ServerState::new(
        config,
        local_addr,
        events_tx,
        wake,
        tls,
        stop_listener,
    ));
    let threads = io_thread::IoThreads::start(&state, io_threads)?;
    *lock(&state.io_threads) = Some(threads);
    state.emit(ServerEvent::Started { addr: local_addr });
    let listener_state = Arc::clone(&state);
    let listener_thread = thread::Builder::new()
        .name("natter-listen".into())
        .spawn(move || listener::accept_loop(listener, poll, listener_state))?;
    let announcer = announce(&state);
    Ok(ServerHandle {
        state,
        events,
        listener_thread: Some(listener_thread),
        announcer,
    })
}

/// Starts announcing the room when the config asks for it. A failure is reported, not fatal:
/// people can still type the address.
fn announce(state: &Arc<ServerState>) -> Option<Announcer> {
    let mut config = state.config.announce.clone()?;
    config.key = state.config.identity.as_ref().map(|i| i.fingerprint());
    let people_state = Arc::clone(state);
    let note_state = Arc::clone(state);
    let started = Announcer::start(
        config,
        &state.config.name,
        state.local_addr.port(),
        Box::new(move || lock(&people_state.room).nicks().len()),
        Box::new(move |noted: Noted| {
            note_state.emit(match noted {
                Noted::One(note) => ServerEvent::CouldNotReach {
                    from: note.from,
                    port: note.port,
                },
                Noted::More { count, port } => ServerEvent::CouldNotReachMore { count, port },
            });
        }),
    );
    match started {
        Ok(announcer) => Some(announcer),
        Err(e) => {
            state.emit(ServerEvent::NotAnnounced {
                reason: e.to_string(),
            });
            None
        }
    }
}
