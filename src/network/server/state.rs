//! What every thread of one running server shares.
//!
//! Owns [`ServerState`]: the configuration, the room, the table of open connections, the
//! event channel to the owner, the stop flag and its waker, and the record of issued session tokens. Does not
//! run anything: the listener and the handlers act on it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use super::ServerEvent;
use super::bans::BanList;
use super::config::ServerConfig;
use super::connection::{ConnId, Connection};
use super::io_thread::IoThreads;
use super::lazy_channel::LazySender;
use super::outbox::Pressure;
use super::room::Room;
use super::session::{self, IssuedSessions};
use crate::network::protocol::ErrorCode;
use crate::network::{WakeUp, lock};

pub(super) struct ServerState {
    pub(super) config: ServerConfig,
    pub(super) local_addr: SocketAddr,
    pub(super) stopping: AtomicBool,
    /// Wakes the listener thread out of its wait, to see `stopping` (see [`ServerState::stop`]).
    stop_listener: mio::Waker,
    /// Set before a stop that ends the room for good (`ServerHandle::end_room`): the goodbye
    /// tells clients not to redial.
    pub(super) ending_room: AtomicBool,
    pub(super) room: Mutex<Room>,
    pub(super) connections: Mutex<OpenConnections>,
    /// Signalled whenever a connection leaves `connections`.
    pub(super) connections_changed: Condvar,
    /// How many members' queues hold the readers back (see `outbox`).
    pub(super) pressure: Arc<Pressure>,
    events: LazySender<ServerEvent>,
    wake: WakeUp,
    pub(super) next_conn_id: AtomicU64,
    /// The session tokens this run issued, so that only those can resume.
    sessions: Mutex<IssuedSessions>,
    /// Connections refused so far in this run, for the log.
    refused: AtomicU64,
    /// When the room's batch of joins and leaves must be sent, in microseconds since `epoch`
    /// (`u64::MAX`: none waits). Written under the room's lock; any I/O thread sends it.
    presence_due: AtomicU64,
    epoch: Instant,
    /// The threads that own the connections; set right after start, taken and stopped by the
    /// listener thread at stop.
    pub(super) io_threads: Mutex<Option<IoThreads>>,
    /// Made from `config.identity` at start: what each TLS session is set up with.
    pub(super) tls: Option<Arc<rustls::ServerConfig>>,
    /// Why the server stopped by itself (an I/O thread failed), in words; see `contain`.
    pub(super) failure: Mutex<Option<String>>,
    /// The addresses refused at connect (see `moderation`), kept in `config.bans_file`.
    pub(super) bans: Mutex<BanList>,
    /// Why the kept bans could not be read, if they could not.
    pub(super) bans_problem: Mutex<Option<String>>,
}

/// Every open connection, in the room or not, so that stop can reach them all.
#[derive(Default)]
pub(super) struct OpenConnections {
    pub(super) by_id: HashMap<ConnId, Arc<Connection>>,
    pub(super) per_ip: HashMap<IpAddr, usize>,
}

impl ServerState {
    pub(super) fn new(
        config: ServerConfig,
        local_addr: SocketAddr,
        events: LazySender<ServerEvent>,
        wake: WakeUp,
        tls: Option<Arc<rustls::ServerConfig>>,
        stop_listener: mio::Waker,
    ) -> Self {
        let (bans, bans_problem) = match BanList::load(config.bans_file.as_deref()) {
            Ok(bans) => (bans, None),
            Err(e) => (BanList::unkept(), Some(e.to_string())),
        };
        ServerState {
            config,
            local_addr,
            stopping: AtomicBool::new(false),
            stop_listener,
            ending_room: AtomicBool::new(false),
            room: Mutex::new(Room::default()),
            connections: Mutex::new(OpenConnections::default()),
            connections_changed: Condvar::new(),
            pressure: Pressure::new(),
            events,
            wake,
            next_conn_id: AtomicU64::new(1),
            sessions: Mutex::new(IssuedSessions::default()),
            refused: AtomicU64::new(0),
            presence_due: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            io_threads: Mutex::new(None),
            tls,
            failure: Mutex::new(None),
            bans: Mutex::new(bans),
            bans_problem: Mutex::new(bans_problem),
        }
    }

    /// Tells the listener thread to stop: it says goodbye to everyone, stops the other threads
    /// and ends (`ServerEvent::Stopped`). Returns at once.
    pub(super) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Should the wake-up fail (it cannot on a working poll), the listener still sees
        // `stopping` at its next connection.
        let _ = self.stop_listener.wake();
    }

    /// An unguessable token naming one client's stay, so a resuming client can prove it is the
    /// same one: 128 bits from the OS's secure random source. Fails only if the OS has none.
    /// Not yet resumable: see [`ServerState::remember_session`].
    pub(super) fn new_session_token(&self) -> Result<String, getrandom::Error> {
        session::new_token()
    }

    /// Records that `session` names a stay in this run (a new one, or one resumed again), so
    /// that it can resume later.
    pub(super) fn remember_session(&self, session: &str) {
        lock(&self.sessions).remember(session);
    }

    /// Whether this run of the server issued `session` (and has not forgotten it since): only
    /// those can resume, since message ids start again with every run.
    pub(super) fn issued_here(&self, session: &str) -> bool {
        lock(&self.sessions).contains(session)
    }

    /// Counts one refused connection and reports it with the running total, so the log
    /// accounts for every refusal even when some events were dropped.
    pub(super) fn count_refusal(&self, peer: SocketAddr, code: ErrorCode, message: &str) {
        let total = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        log::info!(
            "refused {peer}: {} ({}); {total} refused so far",
            code.as_str(),
            crate::network::text::single_line(message)
        );
        self.emit(ServerEvent::Refused {
            peer,
            code,
            message: message.to_string(),
            total,
        });
    }

    /// A batch of joins and leaves waits and must be sent by `due` (call under the room's
    /// lock, with what [`super::room::Room::announce`] returned).
    pub(super) fn presence_due_by(&self, due: Option<Instant>) {
        if let Some(due) = due {
            let micros = u64::try_from(due.saturating_duration_since(self.epoch).as_micros());
            self.presence_due
                .fetch_min(micros.unwrap_or(u64::MAX - 1), Ordering::SeqCst);
        }
    }

    /// When the waiting batch of joins and leaves must be sent, if one waits.
    pub(super) fn presence_due(&self) -> Option<Instant> {
        match self.presence_due.load(Ordering::SeqCst) {
            u64::MAX => None,
            micros => Some(self.epoch + std::time::Duration::from_micros(micros)),
        }
    }

    /// Sends the waiting batch of joins and leaves (from any I/O thread, once it is due).
    pub(super) fn flush_presence(&self) {
        let mut room = lock(&self.room);
        room.flush_presence();
        self.presence_due.store(u64::MAX, Ordering::SeqCst);
    }

    /// Forgets a connection that has ended, so its address may open another.
    pub(super) fn unregister(&self, id: ConnId, ip: IpAddr) {
        let mut open = lock(&self.connections);
        open.by_id.remove(&id);
        if let Some(count) = open.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.per_ip.remove(&ip);
            }
        }
        self.connections_changed.notify_all();
    }

    /// Posts an event and wakes the owner. A full event channel (nobody reading) drops the
    /// event rather than stalling the network.
    pub(super) fn emit(&self, event: ServerEvent) {
        let _ = self.events.try_send(event);
        (self.wake)();
    }
}
