//! Each connection's outgoing queue, and the threads that write it to the socket.
//!
//! Owns the bounded line queue of one connection ([`Outbox`]) and the writing side: on Unix a
//! small pool of flusher threads ([`Flushers`]) that write every connection's queue with
//! non-blocking sends and wait for full sockets with epoll (via mio); elsewhere, or when the pool
//! has no threads, one writer thread per connection. Does not know what a line means, who is in
//! the room or why a connection ends: it reports a failed write through a callback and leaves
//! the rest to the server.
//!
//! Why a pool: with a writer thread per connection, 500 busy members meant 500 threads waking
//! hundreds of times a second each, and on two cores the scheduling queue, not the work, made
//! the latency tail. A flusher writes every ready socket in one pass and sleeps between passes;
//! broadcasters only append to queues and never wake anyone while a pass is due anyway.
//!
//! Guarantees, whichever way lines are written:
//! - [`Outbox::push`] never blocks on the peer: it appends to a queue of at most `capacity`
//!   lines or says the queue is full.
//! - Lines go out in the order pushed, each whole, never interleaved with another connection's.
//! - A socket that accepts nothing for `stall` is given up ([`WriteFailure::Stalled`]); any
//!   other write error is [`WriteFailure::Lost`]. Either is reported once, then the queue is
//!   discarded.
//! - While busy, a connection is written at most once per `coalesce`, gathering what arrived
//!   meanwhile into one send; an idle connection is written at once.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::lock;

/// At most this many bytes are gathered into one send, so one backlog cannot hog a pass.
const MAX_SEND_BYTES: usize = 256 * 1024;

/// What [`Shared::take_lines`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    /// Lines are in the batch.
    Took,
    /// The queue is empty; the outbox goes on.
    Nothing,
    /// The outbox has ended: nothing more will ever be written.
    Ended,
}

/// Why writing to a connection stopped before its queue was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteFailure {
    /// The socket accepted nothing for this long: the peer stopped reading.
    Stalled(Duration),
    /// The connection broke (reset, closed, shut down by us).
    Lost,
}

/// [`Outbox::push`] refused a line: `capacity` lines are already waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueFull;

/// How an outbox's writing side ends once everything queued is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Shut our sending side, so the peer reads end-of-stream after the last line.
    ShutdownWrite,
    /// Leave the socket as it is; its owner closes it.
    Keep,
}

/// Timing of an outbox's writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutboxConfig {
    /// Lines waiting to be written; one more is [`QueueFull`].
    pub capacity: usize,
    /// A socket that accepts nothing for this long is given up.
    pub stall: Duration,
    /// Writer-thread mode: a busy connection is written at most once per this interval (a
    /// flusher pool has its own, see [`Flushers::start`]).
    pub coalesce: Duration,
}

type OnFailure = Box<dyn Fn(WriteFailure) + Send + Sync>;

struct Queue {
    lines: VecDeque<Arc<[u8]>>,
    /// Set once the owner asked for the end; later pushes are ignored.
    ending: Option<Ending>,
    /// The writing side knows this outbox has work (it is in a flusher's hands, or its writer
    /// thread is not waiting), so a push need not tell it again. Telling costs a syscall, and a
    /// broadcast pushes to hundreds of outboxes while holding the room's lock.
    scheduled: bool,
    /// When lines were last taken for writing; a busy connection's next write waits until
    /// `coalesce` after this.
    last_write: Option<Instant>,
    /// Everything is written (or given up); nothing more will be.
    done: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when `done` is set.
    changed: Condvar,
    /// Writer-thread mode: signalled when there is work for a waiting writer.
    work: Condvar,
    stream: TcpStream,
    config: OutboxConfig,
    on_failure: OnFailure,
    #[cfg(unix)]
    flusher: Option<Arc<flusher::Flusher>>,
    #[cfg(unix)]
    token: usize,
}

impl Shared {
    /// Ends writing: reports `failure` if any, discards what is queued and wakes `finish`.
    fn set_done(&self, failure: Option<WriteFailure>) {
        if let Some(failure) = failure {
            (self.on_failure)(failure);
        }
        let mut queue = lock(&self.queue);
        queue.done = true;
        queue.lines.clear();
        self.changed.notify_all();
    }

    /// Called with the queue empty and everything sent: ends the outbox if its owner asked.
    fn end_if_asked(&self, queue: &mut Queue) {
        let Some(ending) = queue.ending else {
            return;
        };
        if ending == Ending::ShutdownWrite {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        queue.done = true;
        self.changed.notify_all();
    }

    /// Moves queued lines into `batch` (up to [`MAX_SEND_BYTES`]). With nothing to take, the
    /// outbox is marked unscheduled, or ended if its owner asked. `taken` is scratch space the
    /// caller keeps, so this allocates nothing once warm.
    fn take_lines(&self, batch: &mut Vec<u8>, taken: &mut Vec<Arc<[u8]>>) -> Take {
        // Only pointers move under the lock; the copying happens after it is released, so a
        // broadcaster (which holds the room's lock) never waits behind a 256 KiB copy.
        {
            let mut queue = lock(&self.queue);
            if queue.done {
                return Take::Ended;
            }
            let mut bytes = batch.len();
            while bytes < MAX_SEND_BYTES {
                let Some(line) = queue.lines.pop_front() else {
                    break;
                };
                bytes += line.len();
                taken.push(line);
            }
            if taken.is_empty() {
                queue.scheduled = false;
                self.end_if_asked(&mut queue);
                return if queue.done {
                    Take::Ended
                } else {
                    Take::Nothing
                };
            }
            queue.last_write = Some(Instant::now());
        }
        for line in taken.drain(..) {
            batch.extend_from_slice(&line);
        }
        Take::Took
    }
}

/// One connection's outgoing queue. Cloning gives another handle to the same queue.
#[derive(Clone)]
pub(crate) struct Outbox {
    shared: Arc<Shared>,
    /// Writer-thread mode only; taken by the first `finish`.
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Outbox {
    /// An outbox writing to `stream` (a handle of its own: it is never read from here). With a
    /// flusher pool that has threads, the pool writes it; otherwise a writer thread of its own
    /// named `natter-write-{id}`. `on_failure` is called at most once, from a writing thread.
    pub(crate) fn new(
        stream: TcpStream,
        id: u64,
        config: OutboxConfig,
        flushers: &Flushers,
        on_failure: OnFailure,
    ) -> io::Result<Outbox> {
        #[cfg(unix)]
        let flusher = flushers.pick(id);
        #[cfg(not(unix))]
        let _ = flushers;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                lines: VecDeque::new(),
                ending: None,
                scheduled: false,
                last_write: None,
                done: false,
            }),
            changed: Condvar::new(),
            work: Condvar::new(),
            stream,
            config,
            on_failure,
            #[cfg(unix)]
            token: flusher::token_for(id),
            #[cfg(unix)]
            flusher,
        });
        #[cfg(unix)]
        if let Some(flusher) = &shared.flusher {
            flusher.register(&shared)?;
            return Ok(Outbox {
                shared,
                writer: Arc::new(Mutex::new(None)),
            });
        }
        let thread_shared = Arc::clone(&shared);
        let writer = thread::Builder::new()
            .name(format!("natter-write-{id}"))
            .spawn(move || write_loop(&thread_shared))?;
        Ok(Outbox {
            shared,
            writer: Arc::new(Mutex::new(Some(writer))),
        })
    }

    /// Queues `line` for writing. Lines pushed after the end was asked for are dropped.
    pub(crate) fn push(&self, line: Arc<[u8]>) -> Result<(), QueueFull> {
        let mut queue = lock(&self.shared.queue);
        if queue.done || queue.ending.is_some() {
            return Ok(());
        }
        if queue.lines.len() >= self.shared.config.capacity {
            return Err(QueueFull);
        }
        queue.lines.push_back(line);
        self.schedule(queue);
        Ok(())
    }

    /// Writes what is queued, then shuts the sending side (the peer reads end-of-stream).
    /// Returns at once.
    pub(crate) fn close_after_flush(&self) {
        self.ask_to_end(Ending::ShutdownWrite);
    }

    /// Writes what is queued and returns once it is written or given up (bounded by the stall
    /// deadline). Later pushes are dropped. The socket is left open for its owner.
    pub(crate) fn finish(&self) {
        self.ask_to_end(Ending::Keep);
        let mut queue = lock(&self.shared.queue);
        while !queue.done {
            queue = self
                .shared
                .changed
                .wait(queue)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        drop(queue);
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
    }

    fn ask_to_end(&self, ending: Ending) {
        let mut queue = lock(&self.shared.queue);
        if queue.done || queue.ending.is_some() {
            return;
        }
        queue.ending = Some(ending);
        self.schedule(queue);
    }

    /// Makes sure the writing side will look at this outbox. Signals after letting go of the
    /// queue, so the woken thread does not at once block on the lock we hold.
    fn schedule(&self, mut queue: MutexGuard<'_, Queue>) {
        if queue.scheduled {
            return;
        }
        queue.scheduled = true;
        let due = queue.last_write.map(|t| t + self.shared.config.coalesce);
        drop(queue);
        #[cfg(unix)]
        if let Some(flusher) = &self.shared.flusher {
            flusher.schedule(Arc::clone(&self.shared), due);
            return;
        }
        // Writer-thread mode: only a waiting writer needs a signal (it cleared `scheduled`).
        let _ = due;
        self.shared.work.notify_one();
    }
}

/// Writer-thread mode: waits for work, gathers it and writes it with blocking writes.
fn write_loop(shared: &Shared) {
    let config = shared.config;
    let _ = shared.stream.set_write_timeout(Some(config.stall));
    let mut batch = Vec::with_capacity(16 * 1024);
    let mut taken = Vec::new();
    let mut last_write: Option<Instant> = None;
    loop {
        // Written moments ago: let more lines gather. The outbox stays marked as scheduled
        // meanwhile, so pushers need not signal (a syscall each, made while the room is
        // locked); the thread parks only once the link has really gone quiet.
        if let Some(wait) = last_write.and_then(|t| config.coalesce.checked_sub(t.elapsed())) {
            thread::sleep(wait);
        }
        {
            let mut queue = lock(&shared.queue);
            while !queue.done && queue.lines.is_empty() && queue.ending.is_none() {
                // From here on a push must signal us.
                queue.scheduled = false;
                queue = shared
                    .work
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        match shared.take_lines(&mut batch, &mut taken) {
            Take::Took => {}
            Take::Nothing => continue,
            Take::Ended => return,
        }
        last_write = Some(Instant::now());
        if let Err(e) = (&shared.stream).write_all(&batch) {
            let failure = match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    WriteFailure::Stalled(config.stall)
                }
                _ => WriteFailure::Lost,
            };
            shared.set_done(Some(failure));
            return;
        }
        batch.clear();
    }
}

/// The flusher threads of one server. Without threads (or off Unix) every outbox has a writer
/// thread of its own instead.
pub(crate) struct Flushers {
    #[cfg(unix)]
    pool: Vec<(Arc<flusher::Flusher>, JoinHandle<()>)>,
}

impl Flushers {
    /// Starts `threads` flusher threads (none off Unix), each writing a busy connection at
    /// most once per `coalesce`.
    pub(crate) fn start(threads: usize, coalesce: Duration) -> io::Result<Flushers> {
        #[cfg(unix)]
        {
            let mut pool = Vec::with_capacity(threads);
            for i in 0..threads {
                pool.push(flusher::Flusher::spawn(i, coalesce)?);
            }
            Ok(Flushers { pool })
        }
        #[cfg(not(unix))]
        {
            let _ = (threads, coalesce);
            Ok(Flushers {})
        }
    }

    #[cfg(unix)]
    fn pick(&self, id: u64) -> Option<Arc<flusher::Flusher>> {
        let n = self.pool.len() as u64;
        (n > 0).then(|| Arc::clone(&self.pool[(id % n) as usize].0))
    }

    /// Stops and joins the flusher threads. Call after every outbox has finished; dropping
    /// does the same, so an early error path leaves no thread behind either.
    pub(crate) fn stop(self) {
        drop(self);
    }
}

impl Drop for Flushers {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (flusher, handle) in self.pool.drain(..) {
            flusher.stop();
            let _ = handle.join();
        }
    }
}

#[cfg(unix)]
mod flusher {
    //! One flusher thread: a mio poll for "socket writable again", a list of outboxes with new
    //! lines, and a timetable saying when each may be written next.
    //!
    //! Each connection is written when its lines are due: at once if it was last written more
    //! than `coalesce` ago, else `coalesce` after that write. Deadlines of different connections
    //! fall at different moments, so the work is spread evenly over time instead of arriving as
    //! one long pass over every socket, which would make whoever is written last wait longest.

    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap, HashSet};
    use std::io;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};

    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Registry, Token, Waker};

    use super::{Shared, Take, WriteFailure};
    use crate::network::lock;

    const WAKER: Token = Token(0);

    pub(super) fn token_for(id: u64) -> usize {
        // Token 0 is the waker's; connection ids start at 1 but keep clear of it regardless.
        (id as usize).wrapping_add(1).max(1)
    }

    /// Non-blocking for this call only: the connection's reader shares the socket and relies
    /// on blocking reads, so the socket itself stays blocking. No SIGPIPE on a closed peer.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SEND_FLAGS: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const SEND_FLAGS: i32 = libc::MSG_DONTWAIT;

    pub(super) struct Flusher {
        /// Least time between two writes to one busy connection.
        coalesce: Duration,
        registry: Registry,
        waker: Waker,
        /// Outboxes that got lines (or an end) while not in the thread's hands, each with the
        /// earliest time it may be written (`None`: at once).
        dirty: Mutex<Vec<(Arc<Shared>, Option<Instant>)>>,
        /// When the thread plans to wake, in microseconds since `epoch`: `u64::MAX` while it
        /// waits with nothing due, 0 while it runs (it looks at `dirty` before it sleeps).
        /// A push that is due sooner than this wakes it.
        wake_at: AtomicU64,
        epoch: Instant,
        stop: AtomicBool,
    }

    /// A connection in the thread's hands: from its first new line until its queue is empty.
    struct Entry {
        outbox: Arc<Shared>,
        batch: Vec<u8>,
        sent: usize,
        /// When it is next written; `None` while it waits for room.
        due: Option<Instant>,
        /// The socket was full at this moment and has not taken a byte since.
        blocked_since: Option<Instant>,
    }

    /// What writing one entry led to.
    enum Flushed {
        /// Everything taken was sent: look again `coalesce` from now for more.
        Sent,
        /// Nothing was waiting: the outbox leaves our hands until its next push.
        Empty,
        /// The socket is full; wait for it to have room.
        Blocked,
        /// The outbox ended (all written, or failed): forget it.
        Ended,
    }

    /// The thread's own bookkeeping.
    #[derive(Default)]
    struct Timetable {
        entries: HashMap<usize, Entry>,
        /// Due times; an item whose entry's `due` differs is stale and skipped.
        due: BinaryHeap<Reverse<(Instant, usize)>>,
        blocked: HashSet<usize>,
        /// Scratch for [`Shared::take_lines`].
        taken: Vec<Arc<[u8]>>,
    }

    impl Flusher {
        pub(super) fn spawn(
            index: usize,
            coalesce: Duration,
        ) -> io::Result<(Arc<Flusher>, JoinHandle<()>)> {
            let poll = Poll::new()?;
            let flusher = Arc::new(Flusher {
                coalesce,
                registry: poll.registry().try_clone()?,
                waker: Waker::new(poll.registry(), WAKER)?,
                dirty: Mutex::new(Vec::new()),
                wake_at: AtomicU64::new(0),
                epoch: Instant::now(),
                stop: AtomicBool::new(false),
            });
            let thread_flusher = Arc::clone(&flusher);
            let handle = thread::Builder::new()
                .name(format!("natter-flush-{index}"))
                .spawn(move || thread_flusher.run(poll))?;
            Ok((flusher, handle))
        }

        pub(super) fn register(&self, outbox: &Shared) -> io::Result<()> {
            let fd = outbox.stream.as_raw_fd();
            // Edge-triggered: an event comes only when a socket that was full has room again.
            self.registry
                .register(&mut SourceFd(&fd), Token(outbox.token), Interest::WRITABLE)
        }

        pub(super) fn deregister(&self, outbox: &Shared) {
            let fd = outbox.stream.as_raw_fd();
            let _ = self.registry.deregister(&mut SourceFd(&fd));
        }

        /// Hands over an outbox with new lines, to be written at `due` (`None`: at once).
        pub(super) fn schedule(&self, outbox: Arc<Shared>, due: Option<Instant>) {
            lock(&self.dirty).push((outbox, due));
            // Wake the thread only if it would otherwise sleep past `due` by more than the
            // slack. Under load it wakes every few hundred microseconds anyway, so a broadcast
            // to 500 members costs next to no wake-ups.
            let due = self.micros(due.unwrap_or_else(Instant::now));
            let planned = self.wake_at.fetch_min(due, Ordering::SeqCst);
            if planned > due.saturating_add(self.micros_of(self.slack())) {
                let _ = self.waker.wake();
            }
        }

        fn micros(&self, t: Instant) -> u64 {
            self.micros_of(t.saturating_duration_since(self.epoch))
        }

        fn micros_of(&self, d: Duration) -> u64 {
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
        }

        /// Deadlines this close together are served by one wake-up.
        fn slack(&self) -> Duration {
            self.coalesce / 4
        }

        pub(super) fn stop(&self) {
            self.stop.store(true, Ordering::SeqCst);
            let _ = self.waker.wake();
        }

        fn run(&self, mut poll: Poll) {
            let mut events = Events::with_capacity(1024);
            let mut table = Timetable::default();
            let slack = self.slack();
            while !self.stop.load(Ordering::SeqCst) {
                let now = Instant::now();
                self.take_dirty(&mut table, now);
                table.write_due(now + slack, self.coalesce);
                table.give_up_stalled(Instant::now());

                let next_due = table.next_due();
                let next_stall = table.next_stall();
                let wake_at = match (next_due, next_stall) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                // Tell pushers when we plan to wake, then look at `dirty` once more: a push
                // before the store is seen here, one after it sees the plan.
                let planned = next_due.map_or(u64::MAX, |t| self.micros(t));
                self.wake_at.store(planned, Ordering::SeqCst);
                if !lock(&self.dirty).is_empty() {
                    self.wake_at.store(0, Ordering::SeqCst);
                    continue;
                }
                let timeout = wake_at.map(|t| t.saturating_duration_since(Instant::now()));
                let polled = poll.poll(&mut events, timeout);
                self.wake_at.store(0, Ordering::SeqCst);
                if let Err(e) = polled
                    && e.kind() != io::ErrorKind::Interrupted
                {
                    // Nothing sensible to do but not spin: wait a little and go on.
                    thread::sleep(Duration::from_millis(1));
                }
                let now = Instant::now();
                for event in &events {
                    table.room_again(event.token().0, now);
                }
            }
        }

        /// Puts outboxes that got lines into the timetable.
        fn take_dirty(&self, table: &mut Timetable, now: Instant) {
            let dirty = std::mem::take(&mut *lock(&self.dirty));
            for (outbox, due) in dirty {
                let token = outbox.token;
                // An outbox is handed over only while not in our hands, so the entry is new.
                let due = due.map_or(now, |t| t.max(now));
                table.entries.insert(
                    token,
                    Entry {
                        outbox,
                        batch: Vec::new(),
                        sent: 0,
                        due: Some(due),
                        blocked_since: None,
                    },
                );
                table.due.push(Reverse((due, token)));
            }
        }
    }

    impl Timetable {
        /// Writes every entry due by `until`.
        fn write_due(&mut self, until: Instant, coalesce: Duration) {
            while let Some(&Reverse((due, token))) = self.due.peek() {
                if due > until {
                    break;
                }
                self.due.pop();
                let Some(entry) = self.entries.get_mut(&token) else {
                    continue;
                };
                if entry.due != Some(due) {
                    continue;
                }
                entry.due = None;
                match flush(entry, &mut self.taken) {
                    Flushed::Sent => {
                        let next = Instant::now() + coalesce;
                        entry.due = Some(next);
                        self.due.push(Reverse((next, token)));
                    }
                    Flushed::Blocked => {
                        self.blocked.insert(token);
                    }
                    Flushed::Empty | Flushed::Ended => {
                        self.entries.remove(&token);
                    }
                }
            }
        }

        /// A full socket has room again: write it at once.
        fn room_again(&mut self, token: usize, now: Instant) {
            if !self.blocked.remove(&token) {
                return;
            }
            if let Some(entry) = self.entries.get_mut(&token) {
                entry.due = Some(now);
                self.due.push(Reverse((now, token)));
            }
        }

        fn next_due(&mut self) -> Option<Instant> {
            // Drop stale items so an old deadline does not wake us for nothing.
            while let Some(&Reverse((due, token))) = self.due.peek() {
                if self.entries.get(&token).and_then(|e| e.due) == Some(due) {
                    return Some(due);
                }
                self.due.pop();
            }
            None
        }

        fn next_stall(&self) -> Option<Instant> {
            self.blocked
                .iter()
                .filter_map(|token| self.entries.get(token))
                .filter_map(|e| e.blocked_since.map(|t| t + e.outbox.config.stall))
                .min()
        }

        /// Gives up on connections whose socket took nothing for their stall deadline.
        fn give_up_stalled(&mut self, now: Instant) {
            let entries = &mut self.entries;
            self.blocked.retain(|token| {
                let Some(entry) = entries.get(token) else {
                    return false;
                };
                let stall = entry.outbox.config.stall;
                match entry.blocked_since {
                    Some(since) if now.duration_since(since) >= stall => {
                        entry.outbox.set_done(Some(WriteFailure::Stalled(stall)));
                        entries.remove(token);
                        false
                    }
                    Some(_) => true,
                    None => false,
                }
            });
        }
    }

    /// Sends what the entry holds, taking more from its queue first if it holds nothing.
    fn flush(entry: &mut Entry, taken: &mut Vec<Arc<[u8]>>) -> Flushed {
        if entry.sent == entry.batch.len() {
            entry.batch.clear();
            entry.sent = 0;
            match entry.outbox.take_lines(&mut entry.batch, taken) {
                Take::Took => {}
                Take::Nothing => return Flushed::Empty,
                Take::Ended => return Flushed::Ended,
            }
        }
        while entry.sent < entry.batch.len() {
            let socket = socket2::SockRef::from(&entry.outbox.stream);
            match socket.send_with_flags(&entry.batch[entry.sent..], SEND_FLAGS) {
                Ok(n) => {
                    entry.sent += n;
                    entry.blocked_since = None;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    entry.blocked_since.get_or_insert_with(Instant::now);
                    return Flushed::Blocked;
                }
                Err(_) => {
                    entry.outbox.set_done(Some(WriteFailure::Lost));
                    return Flushed::Ended;
                }
            }
        }
        Flushed::Sent
    }

    impl Drop for Shared {
        fn drop(&mut self) {
            if let Some(flusher) = &self.flusher {
                flusher.deregister(self);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;

    use crossbeam_channel::Receiver;

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    /// A connected pair on loopback: (our end, the peer's end).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (peer, _) = listener.accept().unwrap();
        (ours, peer)
    }

    fn config() -> OutboxConfig {
        OutboxConfig {
            capacity: 8,
            stall: Duration::from_secs(600),
            coalesce: Duration::from_millis(4),
        }
    }

    /// An outbox on `stream` whose failures arrive on the returned channel.
    fn outbox(
        stream: TcpStream,
        config: OutboxConfig,
        flushers: &Flushers,
    ) -> (Outbox, Receiver<WriteFailure>) {
        outbox_with_id(stream, 1, config, flushers)
    }

    fn outbox_with_id(
        stream: TcpStream,
        id: u64,
        config: OutboxConfig,
        flushers: &Flushers,
    ) -> (Outbox, Receiver<WriteFailure>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let on_failure = Box::new(move |failure| {
            let _ = tx.send(failure);
        });
        (
            Outbox::new(stream, id, config, flushers, on_failure).unwrap(),
            rx,
        )
    }

    fn line(text: &str) -> Arc<[u8]> {
        format!("{text}\n").into_bytes().into()
    }

    /// Both ways of writing: a flusher pool, and a writer thread per outbox.
    fn each_mode(test: impl Fn(&Flushers)) {
        for threads in [1, 0] {
            let flushers = Flushers::start(threads, Duration::from_millis(4)).unwrap();
            test(&flushers);
            flushers.stop();
        }
    }

    #[test]
    fn lines_arrive_whole_and_in_order_then_end_of_stream() {
        each_mode(|flushers| {
            let (ours, mut peer) = pair();
            let (out, failures) = outbox(ours, config(), flushers);
            for i in 0..5 {
                out.push(line(&format!("line {i}"))).unwrap();
            }
            out.close_after_flush();
            // Pushed after the end was asked for: dropped, never written.
            out.push(line("late")).unwrap();
            out.finish();
            peer.set_read_timeout(Some(WAIT)).unwrap();
            let mut got = String::new();
            peer.read_to_string(&mut got).unwrap();
            assert_eq!(got, "line 0\nline 1\nline 2\nline 3\nline 4\n");
            assert!(failures.try_recv().is_err(), "no failure expected");
        });
    }

    #[test]
    fn a_full_queue_refuses_the_next_line() {
        // Nobody reads and the socket buffers fill, so lines pile up in the queue.
        each_mode(|flushers| {
            let (ours, _peer) = pair();
            let (out, _failures) = outbox(ours, config(), flushers);
            let big: Arc<[u8]> = vec![b'x'; 1 << 20].into();
            let mut refused = false;
            for _ in 0..64 {
                if out.push(Arc::clone(&big)) == Err(QueueFull) {
                    refused = true;
                    break;
                }
            }
            assert!(refused, "64 MiB never filled a queue of 8 lines");
            out.close_after_flush();
        });
    }

    #[test]
    fn a_socket_that_takes_nothing_is_given_up_after_the_stall_deadline() {
        each_mode(|flushers| {
            let (ours, _peer) = pair();
            let stall = Duration::from_millis(200);
            let config = OutboxConfig {
                capacity: 1000,
                stall,
                ..config()
            };
            let (out, failures) = outbox(ours, config, flushers);
            let big: Arc<[u8]> = vec![b'y'; 1 << 20].into();
            for _ in 0..16 {
                out.push(Arc::clone(&big)).unwrap();
            }
            assert_eq!(
                failures.recv_timeout(WAIT),
                Ok(WriteFailure::Stalled(stall))
            );
            // Given up: finish returns rather than waiting for a peer that never reads.
            out.finish();
        });
    }

    #[test]
    fn a_broken_connection_is_reported_lost() {
        each_mode(|flushers| {
            let (ours, peer) = pair();
            ours.shutdown(Shutdown::Both).unwrap();
            drop(peer);
            let (out, failures) = outbox(ours, config(), flushers);
            out.push(line("into the void")).unwrap();
            assert_eq!(failures.recv_timeout(WAIT), Ok(WriteFailure::Lost));
            out.finish();
        });
    }

    /// A flusher that waits out one busy connection's coalescing window (here an hour) must
    /// still write a quiet connection's line at once.
    #[test]
    #[cfg(unix)]
    fn a_quiet_connection_is_not_held_back_by_a_busy_one() {
        let flushers = Flushers::start(1, Duration::from_secs(3600)).unwrap();
        let (busy, busy_peer) = pair();
        let (quiet, quiet_peer) = pair();
        let (busy_out, _) = outbox_with_id(busy, 1, config(), &flushers);
        let (quiet_out, _) = outbox_with_id(quiet, 2, config(), &flushers);
        let read_line = |mut peer: &TcpStream| {
            peer.set_read_timeout(Some(WAIT)).unwrap();
            let mut buf = [0u8; 64];
            let n = peer.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        busy_out.push(line("first")).unwrap();
        assert_eq!(read_line(&busy_peer), "first\n");
        // The busy connection is now due again in an hour; the flusher plans to sleep till then.
        quiet_out.push(line("hello")).unwrap();
        assert_eq!(read_line(&quiet_peer), "hello\n");
        flushers.stop();
    }
}
