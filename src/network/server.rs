//! The Natter server: accepts connections, runs the room, relays messages.
//!
//! Owns the listener thread, one reader thread per connection, the room (members, history,
//! message ids) and every limit in [`ServerConfig`]. Does not own the wire format (see
//! `protocol`), the plain-text wording (see `plain`) or the writing of queued lines (see
//! `outbox`), and knows nothing of windows: it reports through [`ServerEvent`]s and a [`WakeUp`].
//!
//! Slow clients never hold anyone up: broadcasting only appends an already-serialised line to
//! each member's bounded outbox, and flusher threads write with non-blocking sends. A full
//! queue, or a write stalled past the deadline, drops that member alone.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::outbox::{Flushers, Outbox, OutboxConfig, WriteFailure};
use super::plain::{self, PlainCommand};
use super::protocol::{
    ChatMessage, ClientFrame, DecodeError, Dialect, ErrorCode, LeaveReason, LineSplitter,
    PROTOCOL_VERSION, ServerFrame, decode, detect_dialect, encode, now_rfc3339,
};
use super::text::{clean_text, normalize_nick};
use super::{WakeUp, lock};

/// Every limit and timing of a server. `Default` is what `natter serve` and the window use.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Shown to clients in `welcome` and in the plain-text greeting.
    pub name: String,
    /// A sentence for newcomers, like the tutorials' welcome message.
    pub welcome_text: String,
    pub max_line_bytes: usize,
    /// People in the room at once; the next one gets `room_full`.
    pub max_clients: usize,
    /// Open connections from one IP address; the next one gets `too_many_connections`.
    pub max_per_address: usize,
    pub history_len: usize,
    /// Lines waiting for one member's writer; a member whose queue is full is dropped.
    pub queue_lines: usize,
    /// A write that cannot make progress for this long drops the member.
    pub write_stall: Duration,
    /// A busy member is written at most once per this interval, gathering what arrives
    /// meanwhile into one write. An idle link is written at once; a busy one waits at most this
    /// long. Trades a few milliseconds for far fewer syscalls and wake-ups under load.
    pub coalesce: Duration,
    /// Threads that write every member's queue with non-blocking sends (Unix). 0 gives each
    /// connection a writer thread of its own instead, as is always the case off Unix.
    pub flusher_threads: usize,
    /// How long the server waits for a peer's first bytes before taking it for plain text.
    pub sniff_window: Duration,
    /// A Natter client must complete `hello` within this time of connecting.
    pub handshake_timeout: Duration,
    /// The server pings a Natter client that has been silent this long.
    pub ping_interval: Duration,
    /// A Natter client silent this long (pings unanswered) is closed as timed out.
    pub idle_timeout: Duration,
    /// A plain peer's line without a newline counts as sent after this much silence.
    pub plain_flush: Duration,
    pub rate: RateLimit,
}

/// Per-member message rate: a token bucket.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Messages that may be sent in a burst.
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
    /// Messages refused in a row (each answered `rate_limited`) before the member is dropped.
    pub strikes: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: "Natter".into(),
            welcome_text: "Welcome! Be kind; everyone here can read what you write.".into(),
            max_line_bytes: super::protocol::MAX_LINE_BYTES,
            max_clients: 1024,
            max_per_address: 16,
            history_len: super::protocol::HISTORY_LEN,
            queue_lines: 4096,
            write_stall: Duration::from_secs(10),
            coalesce: Duration::from_millis(4),
            flusher_threads: 2,
            sniff_window: Duration::from_millis(500),
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            plain_flush: Duration::from_millis(200),
            rate: RateLimit {
                burst: 20.0,
                per_second: 10.0,
                strikes: 10,
            },
        }
    }
}

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
    /// A peer broke a rule or a limit and was refused, warned or dropped.
    PeerError {
        peer: SocketAddr,
        code: ErrorCode,
        message: String,
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

/// Binds the listening socket, turning the usual failures into advice.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, HostError> {
    TcpListener::bind(addr).map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => HostError::AddrInUse { port: addr.port() },
        io::ErrorKind::PermissionDenied => HostError::PermissionDenied { port: addr.port() },
        io::ErrorKind::AddrNotAvailable => HostError::AddrNotAvailable { ip: addr.ip() },
        _ => HostError::Io { addr, source },
    })
}

/// A running server. Dropping it stops it too; [`ServerHandle::stop`] also waits.
pub struct ServerHandle {
    shared: Arc<Shared>,
    events: Receiver<ServerEvent>,
    listener_thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server accepts on, with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The event stream; see [`ServerEvent`].
    pub fn events(&self) -> &Receiver<ServerEvent> {
        &self.events
    }

    /// Nicknames in the room, in the order they joined.
    pub fn members(&self) -> Vec<String> {
        lock(&self.shared.room).nicks()
    }

    /// Says `bye` to everyone, closes every connection, joins every thread and releases the
    /// port. Returns when all that is done; `ServerEvent::Stopped` is then on the channel.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let Some(listener_thread) = self.listener_thread.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // accept() blocks; a connection of our own is the portable way to wake it.
        let wake_addr = loopback_for(self.shared.local_addr);
        let _ = TcpStream::connect_timeout(&wake_addr, Duration::from_secs(1));
        let _ = listener_thread.join();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn loopback_for(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
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
    let (events_tx, events) = crossbeam_channel::bounded(8192);
    let flushers = Flushers::start(config.flusher_threads, config.coalesce)?;
    let shared = Arc::new(Shared {
        config,
        local_addr,
        stopping: AtomicBool::new(false),
        room: Mutex::new(Room::default()),
        conns: Mutex::new(Conns::default()),
        conns_changed: Condvar::new(),
        events: events_tx,
        wake,
        next_conn_id: AtomicU64::new(1),
        instance: random_hex(),
        flushers: Mutex::new(Some(flushers)),
    });
    shared.emit(ServerEvent::Started { addr: local_addr });
    let listener_shared = Arc::clone(&shared);
    let listener_thread = thread::Builder::new()
        .name("natter-listen".into())
        .spawn(move || accept_loop(listener, listener_shared))?;
    Ok(ServerHandle {
        shared,
        events,
        listener_thread: Some(listener_thread),
    })
}

type ConnId = u64;

struct Shared {
    config: ServerConfig,
    local_addr: SocketAddr,
    stopping: AtomicBool,
    room: Mutex<Room>,
    conns: Mutex<Conns>,
    conns_changed: Condvar,
    events: Sender<ServerEvent>,
    wake: WakeUp,
    next_conn_id: AtomicU64,
    /// Random per run; prefixes every session token.
    instance: String,
    /// Taken and stopped by the listener thread once every connection has ended.
    flushers: Mutex<Option<Flushers>>,
}

impl Shared {
    /// An unguessable token naming one client's stay, so a resuming client can prove it is the
    /// same one. It starts with this server's instance id, so tokens of an earlier run of the
    /// server are recognised as stale.
    fn new_session_token(&self) -> String {
        format!("{}{}", self.instance, random_hex())
    }

    fn issued_here(&self, session: &str) -> bool {
        session.len() == 32 && session.starts_with(&self.instance)
    }

    /// Posts an event and wakes the owner. A full event channel (nobody reading) drops the
    /// event rather than stalling the network.
    fn emit(&self, event: ServerEvent) {
        let _ = self.events.try_send(event);
        (self.wake)();
    }
}

/// Every open connection, joined to the room or not, so that stop can reach them all.
#[derive(Default)]
struct Conns {
    open: HashMap<ConnId, Arc<Link>>,
    per_ip: HashMap<IpAddr, usize>,
}

/// One TCP connection's off switch, shared by its reader, its outbox and the room.
struct Link {
    stream: TcpStream,
    peer: SocketAddr,
    end: Mutex<Option<(LeaveReason, String)>>,
}

impl Link {
    /// Ends the connection for `reason` (the first reason given wins) by shutting the socket,
    /// which wakes the reader blocked on it and fails any write still to come.
    fn close(&self, reason: LeaveReason, detail: impl Into<String>) {
        {
            let mut end = lock(&self.end);
            if end.is_none() {
                *end = Some((reason, detail.into()));
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn end_reason(&self) -> Option<(LeaveReason, String)> {
        lock(&self.end).clone()
    }
}

struct Member {
    id: ConnId,
    nick: String,
    dialect: Dialect,
    session: String,
    out: Outbox,
    link: Arc<Link>,
}

impl Member {
    fn send(&self, line: Arc<[u8]>) {
        if self.out.push(line).is_err() {
            self.link.close(
                LeaveReason::Dropped,
                "stopped reading: too many messages waiting",
            );
        }
    }
}

struct StoredMessage {
    message: ChatMessage,
    session: String,
}

#[derive(Default)]
struct Room {
    next_message_id: u64,
    next_guest: u64,
    history: VecDeque<StoredMessage>,
    members: Vec<Member>,
}

impl Room {
    fn nicks(&self) -> Vec<String> {
        self.members.iter().map(|m| m.nick.clone()).collect()
    }

    fn nick_taken(&self, nick: &str, except: Option<ConnId>) -> bool {
        let wanted = nick.to_lowercase();
        self.members
            .iter()
            .any(|m| Some(m.id) != except && m.nick.to_lowercase() == wanted)
    }

    /// `wanted` if free, else `wanted-2`, `wanted-3`, ... (case does not make a name unique).
    fn unique_nick(&self, wanted: &str, except: Option<ConnId>) -> String {
        if !self.nick_taken(wanted, except) {
            return wanted.to_string();
        }
        (2..)
            .map(|n| format!("{wanted}-{n}"))
            .find(|candidate| !self.nick_taken(candidate, except))
            .unwrap_or_else(|| wanted.to_string())
    }

    /// Sends one event to every member but `skip`, serialised once per dialect.
    fn broadcast(
        &self,
        skip: Option<ConnId>,
        frame: &ServerFrame,
        plain_text: impl Fn() -> String,
    ) {
        let json: Arc<[u8]> = encode(frame).into();
        let plain = std::cell::OnceCell::<Arc<[u8]>>::new();
        for member in self.members.iter().filter(|m| Some(m.id) != skip) {
            let line = match member.dialect {
                Dialect::Json => Arc::clone(&json),
                Dialect::Plain => {
                    Arc::clone(plain.get_or_init(|| plain_text().into_bytes().into()))
                }
            };
            member.send(line);
        }
    }

    fn member(&self, id: ConnId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    // Connections beyond this are closed unread: it bounds threads under a connection flood.
    let hard_cap = shared.config.max_clients + 64;
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match incoming {
            Ok(stream) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                shared.emit(ServerEvent::PeerError {
                    peer: shared.local_addr,
                    code: ErrorCode::TooManyConnections,
                    message: format!("could not accept a connection: {e}"),
                });
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        threads.retain(|t| !t.is_finished());
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let Ok(link_stream) = stream.try_clone() else {
            continue;
        };
        let id = shared.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let link = Arc::new(Link {
            stream: link_stream,
            peer,
            end: Mutex::new(None),
        });
        let over_address_cap = {
            let mut conns = lock(&shared.conns);
            if conns.open.len() >= hard_cap {
                continue;
            }
            conns.open.insert(id, Arc::clone(&link));
            let count = conns.per_ip.entry(peer.ip()).or_default();
            *count += 1;
            *count > shared.config.max_per_address
        };
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("natter-conn-{id}"))
            .spawn(move || {
                serve_connection(&conn_shared, stream, link, id, over_address_cap);
                unregister(&conn_shared, id, peer.ip());
            });
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(_) => unregister(&shared, id, peer.ip()),
        }
    }
    say_goodbye_to_everyone(&shared);
    for handle in threads {
        let _ = handle.join();
    }
    // Every outbox has finished with its connection, so the flushers have nothing left.
    if let Some(flushers) = lock(&shared.flushers).take() {
        flushers.stop();
    }
    drop(listener);
    shared.emit(ServerEvent::Stopped);
}

fn unregister(shared: &Shared, id: ConnId, ip: IpAddr) {
    let mut conns = lock(&shared.conns);
    conns.open.remove(&id);
    if let Some(count) = conns.per_ip.get_mut(&ip) {
        *count -= 1;
        if *count == 0 {
            conns.per_ip.remove(&ip);
        }
    }
    shared.conns_changed.notify_all();
}

/// On stop: members get `bye` (or a plain line) and a moment to read it; then every
/// connection still open is shut.
fn say_goodbye_to_everyone(shared: &Shared) {
    {
        let room = lock(&shared.room);
        let bye = ServerFrame::Bye {
            reason: "The host stopped hosting.".into(),
        };
        room.broadcast(None, &bye, || {
            plain::notice("The host stopped hosting. Goodbye.")
        });
        for member in &room.members {
            member.out.close_after_flush();
            // The reason others would read if they could: the room is going away.
            let mut end = lock(&member.link.end);
            end.get_or_insert((LeaveReason::ServerStopped, "the server stopped".into()));
        }
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut conns = lock(&shared.conns);
    while !conns.open.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        conns = shared
            .conns_changed
            .wait_timeout(conns, left)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
    for link in conns.open.values() {
        link.close(LeaveReason::ServerStopped, "the server stopped");
    }
}

/// How a session ended, before any reason set on the link by someone else is considered.
struct End {
    reason: LeaveReason,
    detail: String,
    /// The peer was sent an error and its unread input should be drained before closing, so
    /// the kernel does not answer it with a reset that could swallow that error.
    linger: bool,
}

impl End {
    fn new(reason: LeaveReason, detail: impl Into<String>) -> Self {
        End {
            reason,
            detail: detail.into(),
            linger: false,
        }
    }
}

fn serve_connection(
    shared: &Arc<Shared>,
    stream: TcpStream,
    link: Arc<Link>,
    id: ConnId,
    over_address_cap: bool,
) {
    let _ = stream.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(30))
        .with_interval(Duration::from_secs(10));
    let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);

    let (first_bytes, dialect) = match sniff(&stream, shared.config.sniff_window) {
        Ok(Some(first)) => {
            let dialect = detect_dialect(&first);
            (first, dialect)
        }
        // Silence: a tutorial script waiting for us to speak first.
        Ok(None) => (Vec::new(), Dialect::Plain),
        // Closed or reset before saying anything: a port scan or a wake-up connection.
        Err(_) => return,
    };

    let Some(out) = open_outbox(shared, &stream, &link, id) else {
        return;
    };

    let mut session = Session {
        shared,
        stream: &stream,
        link: &link,
        out: out.clone(),
        id,
        dialect,
        splitter: LineSplitter::new(shared.config.max_line_bytes),
        nick: None,
        session_token: String::new(),
        bucket: TokenBucket::new(shared.config.rate),
        connected_at: Instant::now(),
        last_heard: Instant::now(),
        last_ping: Instant::now(),
    };
    let end = if over_address_cap {
        let message = format!(
            "Too many connections from {}: at most {} at once.",
            link.peer.ip(),
            shared.config.max_per_address
        );
        session.refuse(ErrorCode::TooManyConnections, &message)
    } else {
        match dialect {
            Dialect::Json => session.run_json(&first_bytes),
            Dialect::Plain => session.run_plain(&first_bytes),
        }
    };
    let (reason, detail) = link
        .end_reason()
        .unwrap_or((end.reason, end.detail.clone()));
    session.leave_room(reason, &detail);
    drop(session);
    // No one can queue more for this connection now: write what is queued (or give up).
    out.finish();
    if end.linger {
        drain_unread(&stream);
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// The connection's outbox, writing to a handle of its own on the socket; a failed write
/// closes the link with a reason the others will read.
fn open_outbox(
    shared: &Shared,
    stream: &TcpStream,
    link: &Arc<Link>,
    id: ConnId,
) -> Option<Outbox> {
    let config = OutboxConfig {
        capacity: shared.config.queue_lines,
        stall: shared.config.write_stall,
        coalesce: shared.config.coalesce,
    };
    let failed_link = Arc::clone(link);
    let on_failure = Box::new(move |failure: WriteFailure| match failure {
        WriteFailure::Stalled(stall) => failed_link.close(
            LeaveReason::Dropped,
            format!("stopped reading: a write stalled for {} s", stall.as_secs()),
        ),
        WriteFailure::Lost => failed_link.close(LeaveReason::Left, "connection lost"),
    });
    let flushers = lock(&shared.flushers);
    let flushers = flushers.as_ref()?;
    Outbox::new(stream.try_clone().ok()?, id, config, flushers, on_failure).ok()
}

/// Waits up to `window` for the peer's first bytes. `Ok(None)` is silence; `Err` a peer that
/// closed without a word.
fn sniff(stream: &TcpStream, window: Duration) -> io::Result<Option<Vec<u8>>> {
    stream.set_read_timeout(Some(window.max(Duration::from_millis(1))))?;
    let mut buf = vec![0u8; 4096];
    match (&*stream).read(&mut buf) {
        Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(e) if is_timeout(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads and discards what the peer still sends, briefly and boundedly.
fn drain_unread(stream: &TcpStream) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut budget = 1 << 20;
    let mut buf = [0u8; 8192];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    while Instant::now() < deadline && budget > 0 {
        match (&*stream).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => budget -= n.min(budget),
            Err(e) if is_timeout(&e) => continue,
            Err(_) => break,
        }
    }
}

struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
    strikes: u32,
}

impl TokenBucket {
    fn new(limit: RateLimit) -> Self {
        TokenBucket {
            limit,
            tokens: limit.burst,
            refilled: Instant::now(),
            strikes: 0,
        }
    }

    /// Takes one token. `Err(strikes)` counts refusals in a row.
    fn take(&mut self) -> Result<(), u32> {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + earned).min(self.limit.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.strikes = 0;
            Ok(())
        } else {
            self.strikes += 1;
            Err(self.strikes)
        }
    }
}

/// One connection's reading side and its place in the room.
struct Session<'a> {
    shared: &'a Arc<Shared>,
    stream: &'a TcpStream,
    link: &'a Arc<Link>,
    out: Outbox,
    id: ConnId,
    dialect: Dialect,
    splitter: LineSplitter,
    /// Set once the peer is in the room.
    nick: Option<String>,
    session_token: String,
    bucket: TokenBucket,
    connected_at: Instant,
    last_heard: Instant,
    last_ping: Instant,
}

/// What reading produced.
enum Input {
    Bytes(usize),
    /// The read timed out: time to check deadlines.
    Tick,
    Closed(End),
}

impl Session<'_> {
    fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    fn send_line(&self, line: Vec<u8>) {
        if self.out.push(line.into()).is_err() {
            self.link.close(
                LeaveReason::Dropped,
                "stopped reading: too many messages waiting",
            );
        }
    }

    fn send_frame(&self, frame: &ServerFrame) {
        self.send_line(encode(frame));
    }

    fn send_text(&self, text: &str) {
        self.send_line(text.as_bytes().to_vec());
    }

    /// Tells the peer what went wrong in its own dialect.
    fn send_error(&self, code: ErrorCode, message: &str, client_id: Option<String>) {
        match self.dialect {
            Dialect::Json => self.send_frame(&ServerFrame::Error {
                code,
                message: message.to_string(),
                client_id,
            }),
            Dialect::Plain => self.send_text(&plain::notice(message)),
        }
        self.shared.emit(ServerEvent::PeerError {
            peer: self.link.peer,
            code,
            message: message.to_string(),
        });
    }

    /// Sends a fatal error, then closes once it is written.
    fn refuse(&self, code: ErrorCode, message: &str) -> End {
        self.send_error(code, message, None);
        self.out.close_after_flush();
        let reason = match code {
            ErrorCode::IdleTimeout => LeaveReason::TimedOut,
            _ => LeaveReason::Dropped,
        };
        End {
            reason,
            detail: message.to_string(),
            linger: true,
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Input {
        let _ = self
            .stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))));
        match (&*self.stream).read(buf) {
            Ok(0) => Input::Closed(End::new(LeaveReason::Left, "closed the connection")),
            Ok(n) => {
                self.last_heard = Instant::now();
                Input::Bytes(n)
            }
            Err(e) if is_timeout(&e) => Input::Tick,
            Err(_) => Input::Closed(End::new(LeaveReason::Left, "connection lost")),
        }
    }

    // ---- Natter (JSON) dialect ----

    fn run_json(&mut self, first_bytes: &[u8]) -> End {
        let config = self.config();
        self.send_frame(&ServerFrame::Welcome {
            server: config.name.clone(),
            version: PROTOCOL_VERSION,
            max_line_bytes: config.max_line_bytes,
            ping_interval_secs: config.ping_interval.as_secs(),
            idle_timeout_secs: config.idle_timeout.as_secs(),
            text: config.welcome_text.clone(),
        });
        let mut buf = vec![0u8; 16 * 1024];
        if let Some(end) = self.feed_json(first_bytes) {
            return end;
        }
        loop {
            let timeout = match self.check_json_deadlines() {
                Ok(timeout) => timeout,
                Err(end) => return end,
            };
            match self.read(&mut buf, timeout) {
                Input::Bytes(n) => {
                    if let Some(end) = self.feed_json(&buf[..n]) {
                        return end;
                    }
                }
                Input::Tick => {}
                Input::Closed(end) => return end,
            }
        }
    }

    /// Splits `bytes` into lines and handles each complete one.
    fn feed_json(&mut self, bytes: &[u8]) -> Option<End> {
        let mut lines = Vec::new();
        if self.splitter.push(bytes, &mut lines).is_err() {
            return Some(self.line_too_long());
        }
        lines.iter().find_map(|line| self.handle_json_line(line))
    }

    fn line_too_long(&self) -> End {
        let max = self.config().max_line_bytes;
        self.refuse(
            ErrorCode::LineTooLong,
            &format!("A line was longer than {max} bytes."),
        )
    }

    /// Handshake deadline, pings and the idle timeout. Returns how long the next read may wait.
    fn check_json_deadlines(&mut self) -> Result<Duration, End> {
        let config = self.config();
        let now = Instant::now();
        if self.nick.is_none() {
            let deadline = self.connected_at + config.handshake_timeout;
            if now >= deadline {
                let secs = config.handshake_timeout.as_secs_f32();
                return Err(self.refuse(
                    ErrorCode::HandshakeTimeout,
                    &format!("No hello within {secs} s of connecting."),
                ));
            }
            return Ok(deadline - now);
        }
        let silent = now.duration_since(self.last_heard);
        if silent >= config.idle_timeout {
            let secs = config.idle_timeout.as_secs_f32();
            return Err(self.refuse(
                ErrorCode::IdleTimeout,
                &format!("Nothing heard for {secs} s; closing the link."),
            ));
        }
        let (ping_interval, idle_timeout) = (config.ping_interval, config.idle_timeout);
        if silent >= ping_interval && now.duration_since(self.last_ping) >= ping_interval {
            self.last_ping = now;
            self.send_frame(&ServerFrame::Ping {});
        }
        let until_ping = if silent < ping_interval {
            ping_interval - silent
        } else {
            ping_interval.saturating_sub(now.duration_since(self.last_ping))
        };
        Ok(until_ping
            .min(idle_timeout - silent)
            .max(Duration::from_millis(10)))
    }

    fn handle_json_line(&mut self, line: &[u8]) -> Option<End> {
        let frame = match decode::<ClientFrame>(line) {
            Ok(frame) => frame,
            Err(e) => return Some(self.refuse(e.code(), &decode_message(&e))),
        };
        match frame {
            ClientFrame::Hello {
                version,
                nick,
                resume,
            } => self.hello(version, &nick, resume),
            ClientFrame::Chat { text, client_id } => {
                if self.nick.is_none() {
                    return Some(self.refuse(ErrorCode::NotReady, "Send hello before chatting."));
                }
                self.chat(&text, client_id)
            }
            ClientFrame::Nick { nick } => {
                if self.nick.is_none() {
                    return Some(self.refuse(ErrorCode::NotReady, "Send hello before nick."));
                }
                self.rename(&nick);
                None
            }
            ClientFrame::Ping {} => {
                self.send_frame(&ServerFrame::Pong {});
                None
            }
            ClientFrame::Pong {} => None,
            ClientFrame::Bye {} => Some(End::new(LeaveReason::Left, "said goodbye")),
        }
    }

    fn hello(
        &mut self,
        version: u32,
        wanted: &str,
        resume: Option<super::protocol::Resume>,
    ) -> Option<End> {
        if self.nick.is_some() {
            return Some(self.refuse(ErrorCode::AlreadyJoined, "Hello was already sent."));
        }
        if version != PROTOCOL_VERSION {
            let message = format!(
                "This server speaks Natter protocol version {PROTOCOL_VERSION}, your client version {version}: use the same Natter version on both ends."
            );
            return Some(self.refuse(ErrorCode::VersionMismatch, &message));
        }
        let wanted = match normalize_nick(wanted) {
            Ok(nick) => nick,
            Err(e) => return Some(self.refuse(ErrorCode::BadNick, &e.to_string())),
        };
        let mut room = lock(&self.shared.room);
        // A session coming back takes over from its own old link, which may not have noticed
        // the drop yet; the room sees no leave and no join.
        let replaced = resume.as_ref().and_then(|r| {
            let position = room.members.iter().position(|m| m.session == r.session)?;
            Some(room.members.remove(position))
        });
        if replaced.is_none() && room.members.len() >= self.config().max_clients {
            drop(room);
            return Some(self.room_full());
        }
        let nick = match &replaced {
            Some(old) if old.nick.eq_ignore_ascii_case(&wanted) => old.nick.clone(),
            _ => room.unique_nick(&wanted, None),
        };
        if let Some(old) = &replaced {
            old.link
                .close(LeaveReason::Replaced, "reconnected on a new connection");
        }
        // Only a session this very server issued can resume: after a restart, message ids start
        // again and an old last_id means nothing.
        let resumed = resume
            .as_ref()
            .filter(|r| self.shared.issued_here(&r.session));
        self.session_token = match resumed {
            Some(r) => r.session.clone(),
            None => self.shared.new_session_token(),
        };
        let since = resumed.map(|r| r.last_id);
        let history: Vec<&StoredMessage> = room
            .history
            .iter()
            .filter(|stored| since.is_none_or(|last| stored.message.id > last))
            .collect();
        let history_complete = match (since, room.history.front()) {
            (Some(last), Some(oldest)) => oldest.message.id <= last + 1,
            _ => true,
        };
        self.send_frame(&ServerFrame::Accepted {
            nick: nick.clone(),
            session: self.session_token.clone(),
            users: room
                .members
                .iter()
                .map(|m| m.nick.clone())
                .chain([nick.clone()])
                .collect(),
            history_count: history.len(),
            resumed: since.is_some(),
            history_complete,
        });
        for stored in history {
            let mut message = stored.message.clone();
            if stored.session != self.session_token {
                message.client_id = None;
            }
            self.send_frame(&ServerFrame::Chat(message));
        }
        self.enter_room(&mut room, &nick, replaced.is_none());
        drop(room);
        self.nick = Some(nick.clone());
        self.shared.emit(ServerEvent::Joined {
            nick,
            peer: self.link.peer,
            dialect: Dialect::Json,
        });
        None
    }

    /// Rate-limits, cleans, stores and relays one message. `client_id` goes back to the sender.
    fn chat(&mut self, text: &str, client_id: Option<String>) -> Option<End> {
        if let Err(strikes) = self.bucket.take() {
            if strikes >= self.config().rate.strikes {
                return Some(self.refuse(
                    ErrorCode::Flooding,
                    "Too many messages too fast, even after warnings.",
                ));
            }
            let per_second = self.config().rate.per_second;
            let message = format!(
                "Slow down: at most {per_second} messages a second. That message was not sent."
            );
            self.send_error(ErrorCode::RateLimited, &message, client_id);
            return None;
        }
        let text = clean_text(text);
        let text = text.trim_matches(|c: char| c == '\n' || c == ' ' || c == '\t');
        if text.is_empty() {
            self.send_error(
                ErrorCode::EmptyText,
                "An empty message was not sent.",
                client_id,
            );
            return None;
        }
        let from = self.nick.clone().unwrap_or_default();
        let mut room = lock(&self.shared.room);
        room.next_message_id += 1;
        let message = ChatMessage {
            id: room.next_message_id,
            time: now_rfc3339(),
            from,
            text: text.to_string(),
            client_id: None,
        };
        let frame = ServerFrame::Chat(message.clone());
        // A plain-text sender already sees its line on its own terminal; a Natter sender gets
        // its copy back with its client_id, which is its delivery confirmation.
        let skip = Some(self.id);
        room.broadcast(skip, &frame, || plain::chat(&message));
        if self.dialect == Dialect::Json {
            let mut own = message.clone();
            own.client_id = client_id.clone();
            self.send_frame(&ServerFrame::Chat(own));
        }
        room.history.push_back(StoredMessage {
            message: ChatMessage {
                client_id,
                ..message.clone()
            },
            session: self.session_token.clone(),
        });
        while room.history.len() > self.config().history_len {
            room.history.pop_front();
        }
        drop(room);
        self.shared.emit(ServerEvent::Message(message));
        None
    }

    fn rename(&mut self, wanted: &str) {
        let wanted = match normalize_nick(wanted) {
            Ok(nick) => nick,
            Err(e) => return self.send_error(ErrorCode::BadNick, &e.to_string(), None),
        };
        let mut room = lock(&self.shared.room);
        let Some(from) = room.member(self.id).map(|m| m.nick.clone()) else {
            return;
        };
        let to = room.unique_nick(&wanted, Some(self.id));
        if to == from {
            return;
        }
        if let Some(member) = room.members.iter_mut().find(|m| m.id == self.id) {
            member.nick = to.clone();
        }
        let frame = ServerFrame::Nick {
            from: from.clone(),
            to: to.clone(),
            time: now_rfc3339(),
        };
        room.broadcast(None, &frame, || plain::renamed(&from, &to));
        drop(room);
        self.nick = Some(to.clone());
        self.shared.emit(ServerEvent::Renamed { from, to });
    }

    // ---- plain-text dialect ----

    fn run_plain(&mut self, first_bytes: &[u8]) -> End {
        if let Some(end) = self.join_plain() {
            return end;
        }
        let mut buf = vec![0u8; 16 * 1024];
        if let Some(end) = self.feed_plain(first_bytes) {
            return end;
        }
        loop {
            // A script that sends "hello" without a newline and waits: after a short silence
            // the partial line counts as sent. Otherwise wait as long as the peer likes; TCP
            // keepalive finds dead peers, since plain peers cannot answer pings.
            let timeout = if self.splitter.has_partial() {
                self.config().plain_flush
            } else {
                Duration::from_secs(3600)
            };
            let end = match self.read(&mut buf, timeout) {
                Input::Bytes(n) => self.feed_plain(&buf[..n]),
                Input::Tick => self
                    .splitter
                    .take_partial()
                    .and_then(|line| self.handle_plain_line(&line)),
                Input::Closed(end) => {
                    if let Some(line) = self.splitter.take_partial() {
                        self.handle_plain_line(&line);
                    }
                    Some(end)
                }
            };
            if let Some(end) = end {
                return end;
            }
        }
    }

    fn feed_plain(&mut self, bytes: &[u8]) -> Option<End> {
        let mut lines = Vec::new();
        if self.splitter.push(bytes, &mut lines).is_err() {
            return Some(self.line_too_long());
        }
        lines.iter().find_map(|line| self.handle_plain_line(line))
    }

    fn join_plain(&mut self) -> Option<End> {
        let mut room = lock(&self.shared.room);
        if room.members.len() >= self.config().max_clients {
            drop(room);
            return Some(self.room_full());
        }
        room.next_guest += 1;
        let nick = room.unique_nick(&format!("guest-{}", room.next_guest), None);
        self.session_token = self.shared.new_session_token();
        self.enter_room(&mut room, &nick, true);
        let config = self.config();
        let mut greeting =
            plain::greeting(&config.name, &config.welcome_text, &nick, &room.nicks());
        let recent: Vec<_> = room.history.iter().rev().take(20).collect();
        if !recent.is_empty() {
            greeting.push_str(&plain::notice("Recent messages:"));
            for stored in recent.into_iter().rev() {
                greeting.push_str(&plain::chat(&stored.message));
            }
        }
        self.send_text(&greeting);
        drop(room);
        self.nick = Some(nick.clone());
        self.shared.emit(ServerEvent::Joined {
            nick,
            peer: self.link.peer,
            dialect: Dialect::Plain,
        });
        None
    }

    fn handle_plain_line(&mut self, line: &[u8]) -> Option<End> {
        match plain::parse_line(line) {
            PlainCommand::Nothing => None,
            PlainCommand::Say(text) => self.chat(&text, None),
            PlainCommand::Nick(nick) => {
                self.rename(&nick);
                None
            }
            PlainCommand::Who => {
                let nicks = lock(&self.shared.room).nicks();
                self.send_text(&plain::who(&nicks));
                None
            }
            PlainCommand::Help => {
                self.send_text(&plain::help());
                None
            }
            PlainCommand::Quit => {
                let nick = self.nick.clone().unwrap_or_default();
                self.send_text(&format!("Goodbye, {nick}.{}", plain::EOL));
                self.out.close_after_flush();
                Some(End {
                    linger: true,
                    ..End::new(LeaveReason::Left, "said goodbye")
                })
            }
        }
    }

    fn room_full(&self) -> End {
        let message = format!(
            "The room is full ({} people). Try again later.",
            self.config().max_clients
        );
        self.refuse(ErrorCode::RoomFull, &message)
    }

    /// Adds this connection to the room (under the caller's lock), announcing it to the others
    /// unless it quietly takes over its own session's old link.
    fn enter_room(&self, room: &mut Room, nick: &str, announce: bool) {
        if announce {
            let frame = ServerFrame::Join {
                nick: nick.to_string(),
                time: now_rfc3339(),
            };
            room.broadcast(None, &frame, || plain::join(nick));
        }
        room.members.push(Member {
            id: self.id,
            nick: nick.to_string(),
            dialect: self.dialect,
            session: self.session_token.clone(),
            out: self.out.clone(),
            link: Arc::clone(self.link),
        });
    }

    /// Takes this connection out of the room and tells everyone why.
    fn leave_room(&mut self, reason: LeaveReason, detail: &str) {
        let Some(nick) = self.nick.take() else {
            return;
        };
        let mut room = lock(&self.shared.room);
        let Some(position) = room.members.iter().position(|m| m.id == self.id) else {
            // Already replaced by the same session's new link: the room saw no change.
            drop(room);
            let detail = detail.to_string();
            self.shared.emit(ServerEvent::Left {
                nick,
                reason,
                detail,
            });
            return;
        };
        let member = room.members.remove(position);
        let frame = ServerFrame::Leave {
            nick: member.nick.clone(),
            reason,
            detail: detail.to_string(),
            time: now_rfc3339(),
        };
        room.broadcast(None, &frame, || plain::leave(&member.nick, reason, detail));
        drop(room);
        self.shared.emit(ServerEvent::Left {
            nick: member.nick,
            reason,
            detail: detail.to_string(),
        });
    }
}

fn decode_message(e: &DecodeError) -> String {
    match e {
        DecodeError::UnknownType(kind) => format!(
            "Unknown frame type \"{kind}\": this server speaks Natter protocol version {PROTOCOL_VERSION}."
        ),
        other => format!("Could not read your frame: {other}."),
    }
}

/// 64 random bits as hex. RandomState is seeded from the operating system's randomness.
fn random_hex() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:016x}", hasher.finish())
}
