//! Each connection's outgoing queue, and the threads that write it to the socket.
//!
//! Owns the bounded line queue of one connection ([`SendQueue`]) and the writing side: on Unix a
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
//! - [`SendQueue::push`] never blocks on the peer: it appends to a queue of at most `capacity`
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

/// What [`QueueState::take_lines`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    /// Lines are in the batch.
    Took,
    /// The queue is empty; the send queue goes on.
    Nothing,
    /// The send queue has ended: nothing more will ever be written.
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

/// [`SendQueue::push`] refused a line: `capacity` lines are already waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueFull;

/// How a send queue's writing side ends once everything queued is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Shut our sending side, so the peer reads end-of-stream after the last line.
    ShutdownWrite,
    /// Leave the socket as it is; its owner closes it.
    Keep,
}

/// Timing of a send queue's writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendQueueConfig {
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
    /// The writing side knows this send queue has work (it is in a flusher's hands, or its writer
    /// thread is not waiting), so a push need not tell it again. Telling costs a syscall, and a
    /// broadcast pushes to hundreds of send queues while holding the room's lock.
    scheduled: bool,
    /// When lines were last taken for writing; a busy connection's next write waits until
    /// `coalesce` after this.
    last_write: Option<Instant>,
    /// Everything is written (or given up); nothing more will be.
    done: bool,
}

struct QueueState {
    queue: Mutex<Queue>,
    /// Signalled when `done` is set.
    changed: Condvar,
    /// Writer-thread mode: signalled when there is work for a waiting writer.
    work: Condvar,
    stream: TcpStream,
    config: SendQueueConfig,
    on_failure: OnFailure,
    #[cfg(unix)]
    flusher: Option<Arc<flusher::Flusher>>,
    #[cfg(unix)]
    token: usize,
}

impl QueueState {
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

    /// Called with the queue empty and everything sent: ends the send queue if its owner asked.
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
    /// send queue is marked unscheduled, or ended if its owner asked. `taken` is scratch space the
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
pub(crate) struct SendQueue {
    shared: Arc<QueueState>,
    /// Writer-thread mode only; taken by the first `finish`.
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl SendQueue {
    /// A send queue writing to `stream` (a handle of its own: it is never read from here). With a
    /// flusher pool that has threads, the pool writes it; otherwise a writer thread of its own
    /// named `natter-write-{id}`. `on_failure` is called at most once, from a writing thread.
    pub(crate) fn new(
        stream: TcpStream,
        id: u64,
        config: SendQueueConfig,
        flushers: &Flushers,
        on_failure: OnFailure,
    ) -> io::Result<SendQueue> {
        #[cfg(unix)]
        let flusher = flushers.pick(id);
        #[cfg(not(unix))]
        let _ = flushers;
        let shared = Arc::new(QueueState {
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
            return Ok(SendQueue {
                shared,
                writer: Arc::new(Mutex::new(None)),
            });
        }
        let thread_shared = Arc::clone(&shared);
        let writer = thread::Builder::new()
            .name(format!("natter-write-{id}"))
            .spawn(move || write_loop(&thread_shared))?;
        Ok(SendQueue {
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

    /// Makes sure the writing side will look at this send queue. Signals after letting go of the
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
fn write_loop(shared: &QueueState) {
    let config = shared.config;
    let _ = shared.stream.set_write_timeout(Some(config.stall));
    let mut batch = Vec::with_capacity(16 * 1024);
    let mut taken = Vec::new();
    let mut last_write: Option<Instant> = None;
    loop {
        // Written moments ago: let more lines gather. The send queue stays marked as scheduled
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

/// The flusher threads of one server. Without threads (or off Unix) every send queue has a writer
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

    /// Stops and joins the flusher threads. Call after every send queue has finished; dropping
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
mod flusher;

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

    fn config() -> SendQueueConfig {
        SendQueueConfig {
            capacity: 8,
            stall: Duration::from_secs(600),
            coalesce: Duration::from_millis(4),
        }
    }

    /// A send queue on `stream` whose failures arrive on the returned channel.
    fn open_queue(
        stream: TcpStream,
        config: SendQueueConfig,
        flushers: &Flushers,
    ) -> (SendQueue, Receiver<WriteFailure>) {
        send_queue_with_id(stream, 1, config, flushers)
    }

    fn send_queue_with_id(
        stream: TcpStream,
        id: u64,
        config: SendQueueConfig,
        flushers: &Flushers,
    ) -> (SendQueue, Receiver<WriteFailure>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let on_failure = Box::new(move |failure| {
            let _ = tx.send(failure);
        });
        (
            SendQueue::new(stream, id, config, flushers, on_failure).unwrap(),
            rx,
        )
    }

    fn line(text: &str) -> Arc<[u8]> {
        format!("{text}\n").into_bytes().into()
    }

    /// Both ways of writing: a flusher pool, and a writer thread per send queue.
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
            let (out, failures) = open_queue(ours, config(), flushers);
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
            let (out, _failures) = open_queue(ours, config(), flushers);
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
            let config = SendQueueConfig {
                capacity: 1000,
                stall,
                ..config()
            };
            let (out, failures) = open_queue(ours, config, flushers);
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
            let (out, failures) = open_queue(ours, config(), flushers);
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
        let (busy_out, _) = send_queue_with_id(busy, 1, config(), &flushers);
        let (quiet_out, _) = send_queue_with_id(quiet, 2, config(), &flushers);
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
