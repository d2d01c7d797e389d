//! One flusher thread: a mio poll for "socket writable again", a list of send queues with new
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

use super::{QueueState, Take, WriteFailure};
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
    /// Send queues that got lines (or an end) while not in the thread's hands, each with the
    /// earliest time it may be written (`None`: at once).
    dirty: Mutex<Vec<(Arc<QueueState>, Option<Instant>)>>,
    /// When the thread plans to wake, in microseconds since `epoch`: `u64::MAX` while it
    /// waits with nothing due, 0 while it runs (it looks at `dirty` before it sleeps).
    /// A push that is due sooner than this wakes it.
    wake_at: AtomicU64,
    epoch: Instant,
    stop: AtomicBool,
}

/// A connection in the thread's hands: from its first new line until its queue is empty.
struct Entry {
    queue: Arc<QueueState>,
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
    /// Nothing was waiting: the send queue leaves our hands until its next push.
    Empty,
    /// The socket is full; wait for it to have room.
    Blocked,
    /// The send queue ended (all written, or failed): forget it.
    Ended,
}

/// The thread's own bookkeeping.
#[derive(Default)]
struct Timetable {
    entries: HashMap<usize, Entry>,
    /// Due times; an item whose entry's `due` differs is stale and skipped.
    due: BinaryHeap<Reverse<(Instant, usize)>>,
    blocked: HashSet<usize>,
    /// Scratch for [`QueueState::take_lines`].
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

    pub(super) fn register(&self, queue: &QueueState) -> io::Result<()> {
        let fd = queue.stream.as_raw_fd();
        // Edge-triggered: an event comes only when a socket that was full has room again.
        self.registry
            .register(&mut SourceFd(&fd), Token(queue.token), Interest::WRITABLE)
    }

    pub(super) fn deregister(&self, queue: &QueueState) {
        let fd = queue.stream.as_raw_fd();
        let _ = self.registry.deregister(&mut SourceFd(&fd));
    }

    /// Hands over a send queue with new lines, to be written at `due` (`None`: at once).
    pub(super) fn schedule(&self, queue: Arc<QueueState>, due: Option<Instant>) {
        lock(&self.dirty).push((queue, due));
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

    /// Puts send queues that got lines into the timetable.
    fn take_dirty(&self, table: &mut Timetable, now: Instant) {
        let dirty = std::mem::take(&mut *lock(&self.dirty));
        for (queue, due) in dirty {
            let token = queue.token;
            // A send queue is handed over only while not in our hands, so the entry is new.
            let due = due.map_or(now, |t| t.max(now));
            table.entries.insert(
                token,
                Entry {
                    queue,
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
            .filter_map(|e| e.blocked_since.map(|t| t + e.queue.config.stall))
            .min()
    }

    /// Gives up on connections whose socket took nothing for their stall deadline.
    fn give_up_stalled(&mut self, now: Instant) {
        let entries = &mut self.entries;
        self.blocked.retain(|token| {
            let Some(entry) = entries.get(token) else {
                return false;
            };
            let stall = entry.queue.config.stall;
            match entry.blocked_since {
                Some(since) if now.duration_since(since) >= stall => {
                    entry.queue.set_done(Some(WriteFailure::Stalled(stall)));
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
        match entry.queue.take_lines(&mut entry.batch, taken) {
            Take::Took => {}
            Take::Nothing => return Flushed::Empty,
            Take::Ended => return Flushed::Ended,
        }
    }
    while entry.sent < entry.batch.len() {
        let socket = socket2::SockRef::from(&entry.queue.stream);
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
                entry.queue.set_done(Some(WriteFailure::Lost));
                return Flushed::Ended;
            }
        }
    }
    Flushed::Sent
}

impl Drop for QueueState {
    fn drop(&mut self) {
        if let Some(flusher) = &self.flusher {
            flusher.deregister(self);
        }
    }
}
