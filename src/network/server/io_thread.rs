//! The server's I/O threads: a fixed few, each owning a share of the connections, both
//! directions, from the first byte to the close.
//!
//! Owns waiting (a mio poll: epoll on Linux, kqueue on macOS and BSD, IOCP-backed on
//! Windows), the hand-over of new connections and of outboxes with new lines ([`IoShared`]),
//! write coalescing, timers, fairness between connections, and pausing reads while the room
//! is under pressure. Does not own what a connection does with its bytes (see `conn_io`).
//!
//! Why a few threads and not one per connection: 5,000 people meant 5,000 threads and
//! 250 MB; and a connection owned by one thread needs no lock around its transport state.
//!
//! Write coalescing: a connection is written at once if idle, else at most once per
//! the coalescing interval, gathering what arrived meanwhile into one send. The interval
//! follows what is waiting: it is the configured `coalesce` once the thread writes to
//! [`CROWD`] connections or more, and proportionally less for fewer, since a round of writes to
//! a few connections costs little and waiting would only add latency (a room of ten is written
//! as soon as the thread comes round, as a select loop would). It grows to twice that as the
//! thread gets busy: under heavy load most of the CPU goes into sends, so fewer, larger sends
//! keep it from saturating (which is what made the latency tail). Deadlines of different
//! connections fall at different moments, so the work is spread evenly over time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Registry, Token, Waker};

use super::conn_io::{Conn, Flushed, READ_SCRATCH};
use super::connection::{ConnId, Connection};
use super::outbox::Pressure;
use super::state::ServerState;
use crate::network::lock;
use crate::network::panics::guarded;
use contain::Stage;
use load::Load;
use sweep::SWEEP;

mod contain;
mod load;
mod sweep;

const WAKER: Token = Token(0);

/// Connections written in one load window from which a thread uses the whole configured
/// coalescing interval. 500 members on two threads are 250 each, so a large room is coalesced
/// as before; 100 are 50 each and wait half of it, which still gathers their lines at four
/// a second each (at a tenth of it, 100 members cost the host twice the CPU for a p50 of 0.4
/// instead of 2.4 ms); 10 members are 5 each and wait a twentieth, so a small room is written
/// as soon as the thread comes round.
pub(super) const CROWD: usize = 100;

/// The token of connection `id` (ids start at 1; token 0 is the waker's).
pub(super) fn token_for(id: ConnId) -> usize {
    (id as usize).wrapping_add(1).max(1)
}

/// A new connection for an I/O thread.
pub(super) struct NewConn {
    pub(super) id: ConnId,
    pub(super) stream: std::net::TcpStream,
    pub(super) connection: Arc<Connection>,
}

#[derive(Default)]
struct Inbox {
    new: Vec<NewConn>,
    /// Outboxes with work, each with the earliest time it may be written (`None`: at once).
    dirty: Vec<(usize, Option<Instant>)>,
}

/// What other threads may do to an I/O thread: hand it connections and work, wake it, stop it.
pub(super) struct IoShared {
    /// The configured least time between two writes to one busy connection.
    base_coalesce: Duration,
    /// The interval in use, in microseconds: from `base_coalesce` to twice it, with load.
    coalesce_micros: AtomicU64,
    registry: Registry,
    waker: Waker,
    inbox: Mutex<Inbox>,
    /// When the thread plans to wake, in microseconds since `epoch`: `u64::MAX` while it
    /// waits with nothing due, 0 while it runs (it looks at the inbox before it sleeps).
    wake_at: AtomicU64,
    epoch: Instant,
    stop: AtomicBool,
    /// Tests only: the thread panics outside any connection (see `contain`'s tests).
    #[cfg(test)]
    fail: AtomicBool,
}

impl IoShared {
    /// Hands over an outbox with work, to be written at `due` (`None`: at once). Wakes the
    /// thread only if it would otherwise sleep past `due` by more than the slack: under load it
    /// wakes every few hundred microseconds anyway, so a broadcast costs next to no wake-ups.
    pub(super) fn schedule(&self, token: usize, due: Option<Instant>) {
        lock(&self.inbox).dirty.push((token, due));
        let due = self.micros(due.unwrap_or_else(Instant::now));
        let planned = self.wake_at.fetch_min(due, Ordering::SeqCst);
        if planned > due.saturating_add(micros_of(self.slack())) {
            let _ = self.waker.wake();
        }
    }

    /// Gives the thread a new connection.
    pub(super) fn hand_over(&self, conn: NewConn) {
        lock(&self.inbox).new.push(conn);
        let _ = self.waker.wake();
    }

    pub(super) fn wake(&self) {
        let _ = self.waker.wake();
    }

    fn micros(&self, t: Instant) -> u64 {
        micros_of(t.saturating_duration_since(self.epoch))
    }

    /// Least time between two writes to one busy connection, now.
    pub(super) fn coalesce(&self) -> Duration {
        Duration::from_micros(self.coalesce_micros.load(Ordering::Relaxed))
    }

    /// Sets the interval for a thread that was busy `busy` (0 to 1) of the last while and
    /// wrote to `writers` connections meanwhile.
    fn adapt_coalesce(&self, busy: f64, writers: usize) {
        let crowd = (writers as f64 / CROWD as f64).min(1.0);
        let factor = crowd * (1.0 + (2.0 * busy).clamp(0.0, 1.0));
        let micros = micros_of(self.base_coalesce.mul_f64(factor));
        self.coalesce_micros.store(micros, Ordering::Relaxed);
    }

    /// Deadlines this close together are served by one wake-up.
    fn slack(&self) -> Duration {
        self.base_coalesce / 4
    }
}

fn micros_of(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The running I/O threads.
pub(super) struct IoThreads {
    shared: Vec<Arc<IoShared>>,
    handles: Vec<JoinHandle<()>>,
}

impl IoThreads {
    /// Starts `count` (at least one) threads named `natter-io-{i}`.
    pub(super) fn start(state: &Arc<ServerState>, count: usize) -> io::Result<IoThreads> {
        let mut threads = IoThreads {
            shared: Vec::new(),
            handles: Vec::new(),
        };
        for index in 0..count.max(1) {
            let poll = Poll::new()?;
            let shared = Arc::new(IoShared {
                base_coalesce: state.config.coalesce,
                coalesce_micros: AtomicU64::new(micros_of(state.config.coalesce)),
                registry: poll.registry().try_clone()?,
                waker: Waker::new(poll.registry(), WAKER)?,
                inbox: Mutex::new(Inbox::default()),
                wake_at: AtomicU64::new(0),
                epoch: Instant::now(),
                stop: AtomicBool::new(false),
                #[cfg(test)]
                fail: AtomicBool::new(false),
            });
            let worker = Worker::new(Arc::clone(&shared), Arc::clone(state), poll);
            let state = Arc::clone(state);
            let handle = thread::Builder::new()
                .name(format!("natter-io-{index}"))
                .spawn(move || {
                    if let Err(panic) = guarded(|| worker.run()) {
                        contain::thread_died(&state, index, &panic);
                    }
                })?;
            threads.shared.push(shared);
            threads.handles.push(handle);
        }
        state.pressure.set_io_threads(threads.shared.clone());
        Ok(threads)
    }

    /// The thread that owns connection `id`.
    pub(super) fn pick(&self, id: ConnId) -> Option<&Arc<IoShared>> {
        let n = self.shared.len().max(1);
        self.shared.get((id as usize) % n)
    }

    /// Stops every thread (each takes its remaining connections out of the room without
    /// writing more) and joins them.
    pub(super) fn stop(self) {
        for shared in &self.shared {
            shared.stop.store(true, Ordering::SeqCst);
            shared.wake();
        }
        for handle in self.handles {
            let _ = handle.join();
        }
    }
}

/// One I/O thread's own bookkeeping.
struct Worker {
    shared: Arc<IoShared>,
    state: Arc<ServerState>,
    pressure: Arc<Pressure>,
    poll: Poll,
    conns: HashMap<usize, Conn>,
    /// Planned writes; an item whose connection's `write_due` differs is stale.
    writes: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Deadlines; an item whose connection's `timer` differs is stale.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Connections with input not yet read to the end.
    to_read: Vec<usize>,
    /// Connections written since the load was last measured (see [`CROWD`]).
    written: HashSet<usize>,
    scratch: Vec<u8>,
    next_sweep: Instant,
    /// Connections on this thread when memory was last handed back, and at the last sweep.
    conns_at_trim: usize,
    conns_at_sweep: usize,
}

impl Worker {
    fn new(shared: Arc<IoShared>, state: Arc<ServerState>, poll: Poll) -> Worker {
        Worker {
            pressure: Arc::clone(&state.pressure),
            shared,
            state,
            poll,
            conns: HashMap::new(),
            writes: BinaryHeap::new(),
            timers: BinaryHeap::new(),
            to_read: Vec::new(),
            written: HashSet::new(),
            scratch: vec![0; READ_SCRATCH],
            next_sweep: Instant::now() + SWEEP,
            conns_at_trim: 0,
            conns_at_sweep: 0,
        }
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let slack = self.shared.slack();
        let mut load = Load::new(Instant::now());
        loop {
            let now = Instant::now();
            self.take_inbox(now);
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            #[cfg(test)]
            if self.shared.fail.load(Ordering::SeqCst) {
                panic!("a test asked this I/O thread to fail");
            }
            if !self.pressure.is_on() {
                self.read_ready();
            }
            self.fire_timers(Instant::now());
            if self
                .state
                .presence_due()
                .is_some_and(|due| due <= Instant::now())
            {
                self.state.flush_presence();
            }
            self.write_due(Instant::now() + slack);
            self.sweep(Instant::now());

            let wake_at = self.next_wake();
            let planned = self
                .next_write()
                .map_or(u64::MAX, |t| self.shared.micros(t));
            self.shared.wake_at.store(planned, Ordering::SeqCst);
            // Look at the inbox once more: a hand-over before the store is seen here, one
            // after it sees the plan and wakes us.
            {
                let inbox = lock(&self.shared.inbox);
                if !inbox.new.is_empty() || !inbox.dirty.is_empty() {
                    drop(inbox);
                    self.shared.wake_at.store(0, Ordering::SeqCst);
                    continue;
                }
            }
            let timeout = if !self.to_read.is_empty() && !self.pressure.is_on() {
                Some(Duration::ZERO)
            } else {
                wake_at.map(|t| t.saturating_duration_since(Instant::now()))
            };
            let waiting = Instant::now();
            let polled = self.poll.poll(&mut events, timeout);
            if let Some(busy) = load.waited(waiting, Instant::now()) {
                self.shared.adapt_coalesce(busy, self.written.len());
                self.written.clear();
            }
            self.shared.wake_at.store(0, Ordering::SeqCst);
            if let Err(e) = polled
                && e.kind() != io::ErrorKind::Interrupted
            {
                // Nothing sensible to do but not spin: wait a little and go on.
                thread::sleep(Duration::from_millis(1));
            }
            let now = Instant::now();
            for event in &events {
                self.on_event(event, now);
            }
        }
        self.stop_all();
    }

    fn on_event(&mut self, event: &mio::event::Event, now: Instant) {
        let token = event.token().0;
        if token == WAKER.0 {
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        // The peer's FIN may have come with its last bytes, in one edge: the read that finds
        // it must not be skipped after a short read (see `Conn::read`).
        conn.read_closed |= event.is_read_closed();
        if (event.is_readable() || event.is_read_closed() || event.is_error()) && !conn.readable {
            conn.readable = true;
            self.to_read.push(token);
        }
        if (event.is_writable() || event.is_error()) && conn.is_blocked() {
            self.plan_write(token, now);
        }
    }

    /// New connections and outboxes with work.
    fn take_inbox(&mut self, now: Instant) {
        let Inbox { new, dirty } = std::mem::take(&mut *lock(&self.shared.inbox));
        for conn in new {
            let (id, peer) = (conn.id, conn.connection.peer);
            if let Err(panic) = guarded(|| self.adopt(conn, now)) {
                self.drop_after_panic(token_for(id), Stage::Adopting, panic, Some((id, peer)));
            }
        }
        for (token, due) in dirty {
            let due = due.map_or(now, |t| t.max(now));
            self.plan_write(token, due);
        }
    }

    fn adopt(&mut self, new: NewConn, now: Instant) {
        let token = token_for(new.id);
        let _ = new.stream.set_nonblocking(true);
        let mut stream = mio::net::TcpStream::from_std(new.stream);
        let registered = self.shared.registry.register(
            &mut stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        );
        let mut conn = Conn::new(
            new.id,
            stream,
            new.connection,
            self.state.config.sniff_window,
            now,
        );
        if registered.is_err() {
            conn.release();
            self.state.unregister(new.id, conn.connection.peer.ip());
            return;
        }
        // Whatever already arrived is read at once; the registration reports it too.
        conn.readable = true;
        self.to_read.push(token);
        self.conns.insert(token, conn);
        self.retime(token);
    }

    /// Reads every connection with input waiting, one budget each; what is left waits for
    /// the next turn, so one sender cannot starve the others.
    fn read_ready(&mut self) {
        let tokens = std::mem::take(&mut self.to_read);
        for token in tokens {
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            if self.pressure.is_on() && conn.reads_add_load() {
                self.to_read.push(token);
                continue;
            }
            let (state, scratch) = (&self.state, &mut self.scratch);
            let drained = match guarded(|| conn.read(state, scratch)) {
                Ok(drained) => drained,
                Err(panic) => {
                    self.drop_after_panic(token, Stage::Reading, panic, None);
                    continue;
                }
            };
            if drained {
                conn.readable = false;
            } else {
                self.to_read.push(token);
            }
            // A TLS handshake's answer goes out at once.
            if conn.wants_write() {
                let now = Instant::now();
                conn.write_due = Some(now);
                self.writes.push(Reverse((now, token)));
            }
            self.settle(token);
        }
    }

    fn plan_write(&mut self, token: usize, due: Instant) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if conn.write_due.is_some_and(|planned| planned <= due) {
            return;
        }
        conn.write_due = Some(due);
        self.writes.push(Reverse((due, token)));
    }

    /// Writes every connection due by `until`.
    fn write_due(&mut self, until: Instant) {
        let coalesce = self.shared.coalesce();
        while let Some(&Reverse((due, token))) = self.writes.peek() {
            if due > until {
                break;
            }
            self.writes.pop();
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            if conn.write_due != Some(due) {
                continue;
            }
            conn.write_due = None;
            let flushed = match guarded(|| conn.write(Instant::now())) {
                Ok(flushed) => flushed,
                Err(panic) => {
                    self.drop_after_panic(token, Stage::Writing, panic, None);
                    continue;
                }
            };
            match flushed {
                Flushed::Sent => {
                    self.written.insert(token);
                    let wait = if conn.has_bulk() {
                        Duration::ZERO
                    } else {
                        coalesce
                    };
                    let next = Instant::now() + wait;
                    conn.write_due = Some(next);
                    self.writes.push(Reverse((next, token)));
                }
                // Written again when the socket says it has room (`on_event`).
                Flushed::Blocked | Flushed::Empty | Flushed::Over => {}
            }
            self.settle(token);
        }
    }

    fn next_write(&mut self) -> Option<Instant> {
        while let Some(&Reverse((due, token))) = self.writes.peek() {
            if self.conns.get(&token).and_then(|c| c.write_due) == Some(due) {
                return Some(due);
            }
            self.writes.pop();
        }
        None
    }

    fn next_timer(&mut self) -> Option<Instant> {
        while let Some(&Reverse((due, token))) = self.timers.peek() {
            if self.conns.get(&token).and_then(|c| c.timer) == Some(due) {
                return Some(due);
            }
            self.timers.pop();
        }
        None
    }

    fn next_wake(&mut self) -> Option<Instant> {
        let presence = self.state.presence_due();
        [
            self.next_write(),
            self.next_timer(),
            Some(self.next_sweep),
            presence,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(due) = self.next_timer() {
            if due > now {
                break;
            }
            let Some(Reverse((_, token))) = self.timers.pop() else {
                break;
            };
            let mut wrote = false;
            if let Some(conn) = self.conns.get_mut(&token) {
                conn.timer = None;
                let state = &self.state;
                match guarded(|| conn.on_timer(state, now)) {
                    Ok(took) => wrote = took,
                    Err(panic) => {
                        self.drop_after_panic(token, Stage::Timers, panic, None);
                        continue;
                    }
                }
            }
            // The socket took bytes after all: what is left goes at once (or when the
            // socket says it has room again, if it blocked).
            if wrote {
                self.plan_write(token, now);
            }
            self.settle(token);
        }
    }

    /// After anything happened to a connection: drop it if done, else keep its timer right.
    fn settle(&mut self, token: usize) {
        let done = self.conns.get(&token).is_none_or(Conn::is_done);
        if done {
            if let Some(mut conn) = self.conns.remove(&token) {
                let _ = self.shared.registry.deregister(&mut conn.stream);
                conn.release();
                self.state.unregister(conn.id, conn.connection.peer.ip());
            }
            return;
        }
        self.retime(token);
    }

    fn retime(&mut self, token: usize) {
        let stall = self.state.config.write_stall;
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let deadline = conn.deadline(stall, self.state.config.hold_grace);
        if deadline != conn.timer {
            conn.timer = deadline;
            if let Some(due) = deadline {
                self.timers.push(Reverse((due, token)));
            }
        }
    }

    /// On stop: every connection leaves the room without a word more, and is dropped.
    fn stop_all(&mut self) {
        self.take_inbox(Instant::now());
        let tokens: Vec<usize> = self.conns.keys().copied().collect();
        for token in tokens {
            if let Some(conn) = self.conns.get_mut(&token)
                && let Err(panic) = guarded(|| conn.stop())
            {
                self.drop_after_panic(token, Stage::Stopping, panic, None);
                continue;
            }
            self.settle(token);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An I/O thread's shared side with no thread behind it (its poll is returned too, so
    /// the waker stays valid), for tests of what hands work to it.
    pub(in crate::network::server) fn idle_shared() -> (Poll, IoShared) {
        let poll = Poll::new().unwrap();
        let shared = IoShared {
            base_coalesce: Duration::from_millis(4),
            coalesce_micros: AtomicU64::new(4000),
            registry: poll.registry().try_clone().unwrap(),
            waker: Waker::new(poll.registry(), WAKER).unwrap(),
            inbox: Mutex::new(Inbox::default()),
            wake_at: AtomicU64::new(0),
            epoch: Instant::now(),
            stop: AtomicBool::new(false),
            fail: AtomicBool::new(false),
        };
        (poll, shared)
    }

    #[test]
    fn the_coalescing_interval_of_a_crowd_grows_from_the_configured_one_to_twice_it_with_load() {
        let (_poll, shared) = idle_shared();
        shared.adapt_coalesce(0.0, CROWD);
        assert_eq!(shared.coalesce(), Duration::from_millis(4));
        shared.adapt_coalesce(0.25, CROWD * 3);
        assert_eq!(shared.coalesce(), Duration::from_millis(6));
        shared.adapt_coalesce(0.9, CROWD);
        assert_eq!(shared.coalesce(), Duration::from_millis(8));
    }

    #[test]
    fn the_coalescing_interval_shrinks_in_proportion_for_fewer_connections_and_is_zero_for_none() {
        let (_poll, shared) = idle_shared();
        shared.adapt_coalesce(0.0, CROWD / 4);
        assert_eq!(shared.coalesce(), Duration::from_millis(1));
        shared.adapt_coalesce(0.9, CROWD / 20);
        assert_eq!(shared.coalesce(), Duration::from_micros(400));
        shared.adapt_coalesce(0.9, 0);
        assert_eq!(shared.coalesce(), Duration::ZERO);
    }
}
