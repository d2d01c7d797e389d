//! Each connection's outgoing queue: what broadcasters hand over, and the room's pressure.
//!
//! Owns the bounded line queue of one connection ([`Outbox`]), its hand-over to the I/O thread
//! that owns the socket (a push schedules a write there), and [`Pressure`]: how many members'
//! queues are over their high mark. While any is, the I/O threads read from nobody, so senders
//! are slowed by their own TCP window instead of readers being dropped (PROTOCOL.md §9).
//! Does not write to sockets (see `io_thread`) nor know what a line means. What it queues are
//! `fanout` entries: a broadcast line is a span of the room's shared chunk, not a copy of a
//! pointer per member, and capacity and marks count lines, whatever the entries.
//!
//! Guarantees:
//! - [`Outbox::push`] never blocks on the peer: it appends or says the queue is full.
//! - Lines go out in the order pushed, each whole.
//! - A queue counts toward the pressure only while it is over the high mark and its socket is
//!   taking bytes: a member whose socket took nothing for `hold_grace` (see `ServerConfig`) holds nobody up.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::fanout::{Deferred, Entry, SharedLine};
use super::io_thread::IoShared;
use crate::network::lock;

/// [`Outbox::push`] refused a line: the queue is at its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QueueFull;

/// How the writing side ends once everything queued is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Shut our sending side, so the peer reads end-of-stream after the last line.
    ShutdownWrite,
    /// Leave the socket as it is; its owner closes it.
    Keep,
}

/// What [`Outbox::take_lines`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Take {
    /// Lines were moved into the batch.
    Took,
    /// Nothing is queued; the outbox goes on.
    Nothing,
    /// Nothing is queued and the owner asked for this ending.
    Ended(Ending),
}

/// The queue sizes that matter.
#[derive(Debug, Clone, Copy)]
pub(super) struct Marks {
    /// Lines waiting; one more is [`QueueFull`] and the member is dropped.
    pub(super) capacity: usize,
    /// At this many lines the queue starts holding the room's readers...
    pub(super) high: usize,
    /// ...until it is down to this many.
    pub(super) low: usize,
}

impl Marks {
    /// High and low marks for a queue of `capacity` lines: a quarter and a sixteenth, so a
    /// whole read's worth of fan-out from every I/O thread still fits above the high mark.
    pub(super) fn for_capacity(capacity: usize) -> Marks {
        let capacity = capacity.max(16);
        Marks {
            capacity,
            high: capacity / 4,
            low: capacity / 16,
        }
    }
}

/// A queue emptied with more room than this gives it back (a burst's room is not kept).
const KEEP_ENTRIES: usize = 64;

struct Queue {
    /// What waits, in order: lines of this member's own and spans of broadcast lines
    /// (see `fanout`), [`Queue::count`] lines in all.
    lines: VecDeque<Entry>,
    count: usize,
    /// File data: written only when `lines` is empty, so chat never waits behind a file.
    /// Not counted against the capacity: each sender's window bounds it (see `files`).
    bulk: VecDeque<Arc<[u8]>>,
    ending: Option<Ending>,
    /// `Connection::close` was called: write nothing more, the owner drops the socket.
    killed: bool,
    /// The owner already knows this outbox has work; a push need not tell it again.
    scheduled: bool,
    last_write: Option<Instant>,
    /// Over the high mark (until down to the low mark), since this moment.
    over_since: Option<Instant>,
    /// The socket took nothing for `hold_grace` (see `ServerConfig`): this queue does not hold the room.
    exempt: bool,
    /// Currently counted in [`Pressure`].
    counted: bool,
}

/// An emptied queue with room for more than `keep` gives its room back: a burst's room is
/// not kept for good by every connection that saw one.
pub(super) fn give_back_room<T>(queue: &mut VecDeque<T>, keep: usize) {
    if queue.is_empty() && queue.capacity() > keep {
        *queue = VecDeque::new();
    }
}

impl Queue {
    /// The first line waiting (a span gives up its first line).
    fn take_line(&mut self) -> Option<Arc<[u8]>> {
        loop {
            let front = self.lines.front_mut()?;
            let line = match front {
                Entry::Line(_) | Entry::Deferred { .. } => match self.lines.pop_front() {
                    Some(Entry::Line(line)) => Some(line),
                    Some(Entry::Deferred { source, part }) => Some(source.line(part)),
                    _ => None,
                },
                Entry::Span { .. } => {
                    let line = front.take_first();
                    if front.lines() == 0 {
                        self.lines.pop_front();
                    }
                    line
                }
            };
            // Every line taken counts, even one a span could not give (it cannot happen:
            // a span covers only lines already set).
            self.count = self.count.saturating_sub(1);
            if line.is_some() {
                return line;
            }
        }
    }

    fn forget_all(&mut self) {
        self.lines = VecDeque::new();
        self.count = 0;
        self.bulk = VecDeque::new();
    }
}

struct Shared {
    queue: Mutex<Queue>,
    token: usize,
    marks: Marks,
    io: Arc<IoShared>,
    pressure: Arc<Pressure>,
}

/// One connection's outgoing queue. Cloning gives another handle to the same queue.
#[derive(Clone)]
pub(super) struct Outbox {
    shared: Arc<Shared>,
}

impl Outbox {
    /// An outbox written by the I/O thread `io`, where the connection is known as `token`.
    pub(super) fn new(
        token: usize,
        marks: Marks,
        io: Arc<IoShared>,
        pressure: Arc<Pressure>,
    ) -> Self {
        let queue = Queue {
            lines: VecDeque::new(),
            count: 0,
            bulk: VecDeque::new(),
            ending: None,
            killed: false,
            scheduled: false,
            last_write: None,
            over_since: None,
            exempt: false,
            counted: false,
        };
        Outbox {
            shared: Arc::new(Shared {
                queue: Mutex::new(queue),
                token,
                marks,
                io,
                pressure,
            }),
        }
    }

    /// Queues `line`. Lines pushed after the end was asked for are dropped.
    pub(super) fn push(&self, line: Arc<[u8]>) -> Result<(), QueueFull> {
        self.push_all(std::iter::once(line))
    }

    /// Queues every line, in order, under one lock (history replay).
    pub(super) fn push_all(
        &self,
        lines: impl IntoIterator<Item = Arc<[u8]>>,
    ) -> Result<(), QueueFull> {
        let shared = &self.shared;
        let mut queue = lock(&shared.queue);
        if queue.killed || queue.ending.is_some() {
            return Ok(());
        }
        for line in lines {
            if queue.count >= shared.marks.capacity {
                return Err(QueueFull);
            }
            queue.lines.push_back(Entry::Line(line));
            queue.count += 1;
        }
        self.pushed(&mut queue);
        Ok(())
    }

    /// Queues a line written only when taken (see `fanout::Deferred`).
    pub(super) fn push_deferred(
        &self,
        source: Arc<dyn Deferred>,
        part: u32,
    ) -> Result<(), QueueFull> {
        self.push_one(|lines| lines.push_back(Entry::Deferred { source, part }))
    }

    /// Queues a broadcast line: it extends the last span when it follows it in its chunk.
    pub(super) fn push_shared(&self, line: &SharedLine) -> Result<(), QueueFull> {
        self.push_one(|lines| {
            if !lines.back_mut().is_some_and(|last| last.extend(line)) {
                lines.push_back(Entry::span(line));
            }
        })
    }

    /// Counts one more line, which `add` puts in the queue, if there is room for it.
    fn push_one(&self, add: impl FnOnce(&mut VecDeque<Entry>)) -> Result<(), QueueFull> {
        let mut queue = lock(&self.shared.queue);
        if queue.killed || queue.ending.is_some() {
            return Ok(());
        }
        if queue.count >= self.shared.marks.capacity {
            return Err(QueueFull);
        }
        add(&mut queue.lines);
        queue.count += 1;
        self.pushed(&mut queue);
        Ok(())
    }

    /// After a push: the queue may be over its high mark now, and has work for its owner.
    fn pushed(&self, queue: &mut Queue) {
        if queue.over_since.is_none() && queue.count >= self.shared.marks.high {
            queue.over_since = Some(Instant::now());
            self.recount(queue);
        }
        self.schedule(queue);
    }

    /// Queues file data behind every line, now and to come (see `Queue::bulk`).
    pub(super) fn push_bulk(&self, line: Arc<[u8]>) {
        let mut queue = lock(&self.shared.queue);
        if queue.killed || queue.ending.is_some() {
            return;
        }
        queue.bulk.push_back(line);
        self.schedule(&mut queue);
    }

    /// Writes what is queued, then shuts the sending side. Returns at once.
    pub(super) fn close_after_flush(&self) {
        self.ask_to_end(Ending::ShutdownWrite);
    }

    /// Writes what is queued and leaves the socket to its owner. Returns at once.
    pub(super) fn finish(&self) {
        self.ask_to_end(Ending::Keep);
    }

    fn ask_to_end(&self, ending: Ending) {
        let mut queue = lock(&self.shared.queue);
        queue.ending.get_or_insert(ending);
        self.schedule(&mut queue);
    }

    /// Stops all writing; the owner drops the socket as soon as it looks.
    pub(super) fn kill(&self) {
        let mut queue = lock(&self.shared.queue);
        queue.killed = true;
        queue.forget_all();
        queue.over_since = None;
        self.recount(&mut queue);
        // Told even if already scheduled: a write waiting for room would not look soon.
        queue.scheduled = true;
        self.shared.io.schedule(self.shared.token, None);
    }

    /// Tells the owner there is work, unless it knows: at once, or `coalesce` after the last
    /// write of a busy connection, so many small lines go out in one send.
    fn schedule(&self, queue: &mut Queue) {
        if queue.scheduled {
            return;
        }
        queue.scheduled = true;
        let due = queue.last_write.map(|t| t + self.shared.io.coalesce());
        self.shared.io.schedule(self.shared.token, due);
    }

    /// Counts this queue in the pressure exactly while it is over its mark and not exempt.
    fn recount(&self, queue: &mut Queue) {
        let holds = queue.over_since.is_some() && !queue.exempt && !queue.killed;
        if holds == queue.counted {
            return;
        }
        queue.counted = holds;
        if holds {
            self.shared.pressure.hold();
        } else {
            self.shared.pressure.release();
        }
    }

    // The owner's side.

    pub(super) fn killed(&self) -> bool {
        lock(&self.shared.queue).killed
    }

    /// Moves queued lines into `taken` (up to `max_bytes`, at least one line). With nothing
    /// queued, the outbox leaves the owner's hands until its next push, or has ended.
    pub(super) fn take_lines(&self, taken: &mut Vec<Arc<[u8]>>, max_bytes: usize) -> Take {
        let mut queue = lock(&self.shared.queue);
        let mut bytes = 0;
        while bytes < max_bytes {
            let Some(line) = queue.take_line() else {
                break;
            };
            bytes += line.len();
            taken.push(line);
        }
        give_back_room(&mut queue.lines, KEEP_ENTRIES);
        // File data only once every line is out: chat that arrives meanwhile goes first.
        while bytes < max_bytes && queue.lines.is_empty() {
            let Some(line) = queue.bulk.pop_front() else {
                break;
            };
            bytes += line.len();
            taken.push(line);
        }
        if queue.over_since.is_some() && queue.count <= self.shared.marks.low {
            queue.over_since = None;
            self.recount(&mut queue);
        }
        if !taken.is_empty() {
            queue.last_write = Some(Instant::now());
            return Take::Took;
        }
        queue.scheduled = false;
        match queue.ending {
            Some(ending) => Take::Ended(ending),
            None => Take::Nothing,
        }
    }

    /// The socket took nothing for `hold_grace` (see `ServerConfig`) (`true`) or took bytes again (`false`).
    pub(super) fn set_exempt(&self, exempt: bool) {
        let mut queue = lock(&self.shared.queue);
        if queue.exempt != exempt {
            queue.exempt = exempt;
            self.recount(&mut queue);
        }
    }

    /// Since when the queue has been over its high mark, if it is.
    pub(super) fn over_since(&self) -> Option<Instant> {
        lock(&self.shared.queue).over_since
    }

    /// File data waits (see `Queue::bulk`).
    pub(super) fn has_bulk(&self) -> bool {
        !lock(&self.shared.queue).bulk.is_empty()
    }

    /// Lines waiting that are written only when taken (see `fanout::Deferred`).
    #[cfg(test)]
    pub(super) fn deferred_waiting(&self) -> usize {
        let queue = lock(&self.shared.queue);
        (queue.lines.iter())
            .filter(|entry| matches!(entry, Entry::Deferred { .. }))
            .count()
    }

    /// Lines waiting.
    pub(super) fn len(&self) -> usize {
        lock(&self.shared.queue).count
    }

    /// Forgets everything queued and stops counting in the pressure: the connection is gone.
    pub(super) fn discard(&self) {
        let mut queue = lock(&self.shared.queue);
        queue.killed = true;
        queue.forget_all();
        queue.over_since = None;
        self.recount(&mut queue);
    }
}

/// How many members' queues are holding the room's readers, and who to wake when none is.
pub(super) struct Pressure {
    holding: AtomicUsize,
    io_threads: Mutex<Vec<Arc<IoShared>>>,
}

impl Pressure {
    pub(super) fn new() -> Arc<Pressure> {
        Arc::new(Pressure {
            holding: AtomicUsize::new(0),
            io_threads: Mutex::new(Vec::new()),
        })
    }

    /// The I/O threads to wake when the last queue lets go.
    pub(super) fn set_io_threads(&self, threads: Vec<Arc<IoShared>>) {
        *lock(&self.io_threads) = threads;
    }

    /// Whether readers must wait: some member's queue is over its high mark.
    pub(super) fn is_on(&self) -> bool {
        self.holding.load(Ordering::Acquire) > 0
    }

    fn hold(&self) {
        self.holding.fetch_add(1, Ordering::AcqRel);
    }

    fn release(&self) {
        if self.holding.fetch_sub(1, Ordering::AcqRel) == 1 {
            for io in lock(&self.io_threads).iter() {
                io.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fanout::{CHUNK_LINES, Fanout};
    use super::*;

    fn outbox(capacity: usize) -> (mio::Poll, Outbox) {
        let (poll, io) = super::super::io_thread::tests::idle_shared();
        let outbox = Outbox::new(
            1,
            Marks::for_capacity(capacity),
            Arc::new(io),
            Pressure::new(),
        );
        (poll, outbox)
    }

    fn entries(outbox: &Outbox) -> usize {
        lock(&outbox.shared.queue).lines.len()
    }

    #[test]
    fn a_thousand_broadcast_lines_in_a_row_are_queued_as_one_entry_per_chunk_and_come_out_in_order()
    {
        let (_poll, outbox) = outbox(4096);
        let mut fanout = Fanout::default();
        let lines: Vec<Arc<[u8]>> = (0..1000)
            .map(|i| format!("{i}\n").into_bytes().into())
            .collect();
        for line in &lines {
            outbox.push_shared(&fanout.add(Arc::clone(line))).unwrap();
        }
        assert_eq!(outbox.len(), 1000);
        assert_eq!(entries(&outbox), 1000usize.div_ceil(CHUNK_LINES));
        let mut taken = Vec::new();
        assert_eq!(outbox.take_lines(&mut taken, usize::MAX), Take::Took);
        assert_eq!(taken, lines);
        assert_eq!(outbox.len(), 0);
    }

    #[test]
    fn own_lines_between_broadcast_lines_keep_their_place_and_every_line_counts_against_the_capacity()
     {
        let (_poll, outbox) = outbox(16);
        let mut fanout = Fanout::default();
        let line = |t: &str| -> Arc<[u8]> { t.as_bytes().into() };
        outbox.push_shared(&fanout.add(line("b1"))).unwrap();
        outbox.push_shared(&fanout.add(line("b2"))).unwrap();
        outbox.push(line("own")).unwrap();
        outbox.push_shared(&fanout.add(line("b3"))).unwrap();
        let _skipped = fanout.add(line("not for this member"));
        outbox.push_shared(&fanout.add(line("b5"))).unwrap();
        assert_eq!(outbox.len(), 5);
        for i in 5..16 {
            outbox
                .push_shared(&fanout.add(line(&i.to_string())))
                .unwrap();
        }
        assert_eq!(
            outbox.push_shared(&fanout.add(line("one too many"))),
            Err(QueueFull)
        );
        let mut taken = Vec::new();
        assert_eq!(outbox.take_lines(&mut taken, 1), Take::Took);
        assert_eq!(outbox.take_lines(&mut taken, 1), Take::Took);
        assert_eq!(outbox.take_lines(&mut taken, 1), Take::Took);
        assert_eq!(outbox.take_lines(&mut taken, 1), Take::Took);
        assert_eq!(outbox.take_lines(&mut taken, 1), Take::Took);
        assert_eq!(
            taken,
            [line("b1"), line("b2"), line("own"), line("b3"), line("b5")]
        );
        assert_eq!(outbox.len(), 11);
    }

    #[test]
    fn an_emptied_deque_gives_back_more_room_than_it_may_keep_and_a_non_empty_one_keeps_its_room() {
        let mut deque: VecDeque<Vec<u8>> = (0..200).map(|_| vec![0]).collect();
        give_back_room(&mut deque, 16);
        assert!(
            deque.capacity() >= 200,
            "a queue still holding lines keeps its room"
        );
        deque.clear();
        give_back_room(&mut deque, 16);
        assert_eq!(deque.capacity(), 0);
        let mut small: VecDeque<u8> = VecDeque::with_capacity(8);
        give_back_room(&mut small, 16);
        assert!(small.capacity() >= 8, "room within the limit is kept");
    }

    #[test]
    fn a_queue_emptied_after_a_burst_gives_back_the_room_the_burst_took() {
        let (_poll, outbox) = outbox(4096);
        let line: Arc<[u8]> = b"line\n".as_slice().into();
        outbox.push_all(std::iter::repeat_n(line, 1000)).unwrap();
        assert!(lock(&outbox.shared.queue).lines.capacity() >= 1000);
        let mut taken = Vec::new();
        assert_eq!(outbox.take_lines(&mut taken, usize::MAX), Take::Took);
        assert_eq!(taken.len(), 1000);
        assert!(lock(&outbox.shared.queue).lines.capacity() <= KEEP_ENTRIES);
    }

    #[test]
    fn a_line_pushed_after_file_data_is_taken_first_and_file_data_only_once_no_line_waits() {
        let (_poll, io) = super::super::io_thread::tests::idle_shared();
        let outbox = Outbox::new(1, Marks::for_capacity(64), Arc::new(io), Pressure::new());
        let (chunk1, chunk2): (Arc<[u8]>, Arc<[u8]>) =
            (b"chunk1\n".as_slice().into(), b"chunk2\n".as_slice().into());
        outbox.push_bulk(Arc::clone(&chunk1));
        outbox.push_bulk(Arc::clone(&chunk2));
        let chat: Arc<[u8]> = b"chat\n".as_slice().into();
        outbox.push(Arc::clone(&chat)).unwrap();
        let mut taken = Vec::new();
        assert_eq!(outbox.take_lines(&mut taken, 1), Take::Took);
        assert_eq!(
            taken,
            [Arc::clone(&chat)],
            "the chat line goes before the file data queued earlier"
        );
        taken.clear();
        assert!(outbox.has_bulk());
        assert_eq!(outbox.take_lines(&mut taken, 1 << 20), Take::Took);
        assert_eq!(taken, [chunk1, chunk2]);
        assert!(!outbox.has_bulk());
    }
}
