//! Printing lines without ever waiting for the terminal: what `natter serve` prints goes through
//! a bounded queue to a printing thread.
//!
//! Owns the queue, the printing thread and the count of lines dropped while the output was
//! blocked (`natter serve | less`, Ctrl+S in a terminal). Does not own what the lines say.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

/// Lines waiting for the output at most; past this, lines are dropped and counted.
pub const QUEUE_LINES: usize = 1024;

/// Bytes waiting for the output at most (lines can be as long as a 64 KiB message).
pub const QUEUE_BYTES: usize = 1 << 20;

/// What a notice of dropped lines counts for in the byte budget.
const NOTICE_BYTES: usize = 64;

enum Item {
    Line(String),
    /// This many lines were dropped here because the queue was full.
    Dropped(u64),
}

/// The writing end: [`Console::print`] never blocks.
pub struct Console {
    queue: Sender<Item>,
    /// Lines dropped since the last notice that got into the queue.
    dropped: u64,
    /// Bytes of lines queued and not yet written, and the most there may be.
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    printer: Option<JoinHandle<()>>,
    /// Closed by the printing thread when it has written everything.
    done: Receiver<()>,
}

impl Console {
    /// Starts a printing thread that writes to `out`, with room for `lines` lines of at most
    /// `bytes` bytes in all.
    pub fn start(
        out: impl Write + Send + 'static,
        lines: usize,
        bytes: usize,
    ) -> std::io::Result<Console> {
        let (queue, queued) = crossbeam_channel::bounded(lines.max(1));
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let printer_bytes = Arc::clone(&queued_bytes);
        let printer = thread::Builder::new()
            .name("natter-console".into())
            .spawn(move || {
                print_all(out, &queued, &printer_bytes);
                drop(done_tx);
            })?;
        Ok(Console {
            queue,
            dropped: 0,
            queued_bytes,
            max_bytes: bytes,
            printer: Some(printer),
            done,
        })
    }

    /// Queues `line`, or drops it if the queue is full. Lines dropped before it are announced
    /// first, in their place, as soon as there is room.
    pub fn print(&mut self, line: String) {
        if !self.announce_dropped() {
            self.dropped += 1;
            return;
        }
        let len = line.len();
        // Counted before it is queued, so the printing thread never takes off more than is on.
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > self.max_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            self.dropped += 1;
            return;
        }
        match self.queue.try_send(Item::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                self.dropped += 1;
            }
            // The printing thread is gone: nothing can be printed any more.
            Err(TrySendError::Disconnected(_)) => {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            }
        }
    }

    /// Queues the notice of dropped lines, if there is one; `false` if it could not be queued
    /// yet. Call it now and then, so the notice appears once the output flows again even if
    /// nothing else is printed.
    pub fn announce_dropped(&mut self) -> bool {
        if self.dropped == 0 {
            return true;
        }
        // Only once the queue is down to half: while the output is blocked, drops add up in
        // one notice instead of a notice for every line that did not fit.
        let half_lines = self.queue.capacity().unwrap_or(usize::MAX) / 2;
        let before = self.queued_bytes.fetch_add(NOTICE_BYTES, Ordering::AcqRel);
        if before + NOTICE_BYTES > self.max_bytes / 2 || self.queue.len() > half_lines {
            self.queued_bytes.fetch_sub(NOTICE_BYTES, Ordering::AcqRel);
            return false;
        }
        match self.queue.try_send(Item::Dropped(self.dropped)) {
            Ok(()) => {
                self.dropped = 0;
                true
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued_bytes.fetch_sub(NOTICE_BYTES, Ordering::AcqRel);
                self.dropped = 0;
                true
            }
            Err(TrySendError::Full(_)) => {
                self.queued_bytes.fetch_sub(NOTICE_BYTES, Ordering::AcqRel);
                false
            }
        }
    }

    /// Lines dropped and not yet announced.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Lets the printing thread write what is queued, waiting for it at most `within`: a
    /// blocked output must not keep the process from ending.
    pub fn finish(mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.announce_dropped() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        let Console {
            queue,
            printer,
            done,
            ..
        } = &mut self;
        // Closing the queue ends the printing thread's loop once it is empty.
        drop(std::mem::replace(queue, crossbeam_channel::bounded(0).0));
        let _ = done.recv_deadline(deadline);
        if let Some(printer) = printer.take()
            && printer.is_finished()
        {
            let _ = printer.join();
        }
    }
}

/// The most bytes gathered into one write.
const BATCH_BYTES: usize = 64 * 1024;

/// Writes lines as they come, gathering those already waiting into one write: a room in full
/// flow queues thousands of lines a second, and a write (and flush) for each cost the host a
/// tenth of its CPU. A lone line still goes out at once.
fn print_all(mut out: impl Write, lines: &Receiver<Item>, queued_bytes: &AtomicUsize) {
    let mut batch: Vec<u8> = Vec::new();
    for first in lines {
        let mut counted = 0;
        let mut item = Some(first);
        while let Some(next) = item {
            match next {
                Item::Line(line) => {
                    batch.extend_from_slice(line.as_bytes());
                    batch.push(b'\n');
                    counted += line.len();
                }
                Item::Dropped(n) => {
                    let _ = writeln!(batch, "({n} lines dropped: output was blocked)");
                    counted += NOTICE_BYTES;
                }
            }
            item = if batch.len() < BATCH_BYTES {
                lines.try_recv().ok()
            } else {
                None
            };
        }
        // A closed output (`natter serve | head`) is not an error of the server's: the lines
        // are drained and forgotten.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        queued_bytes.fetch_sub(counted, Ordering::AcqRel);
        batch.clear();
        // One 64 KiB message must not keep its room for good.
        if batch.capacity() > 2 * BATCH_BYTES {
            batch = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Each write's bytes, apart.
    type Writes = Arc<Mutex<Vec<Vec<u8>>>>;

    /// A writer that says when a write begins, blocks until the test opens its gate, and keeps
    /// what it was given, each write apart.
    #[derive(Clone)]
    struct Gated {
        gate: Receiver<()>,
        entered: Sender<()>,
        written: Writes,
    }

    impl Gated {
        /// A closed gate, its opener, and the news of each write begun.
        fn closed() -> (Gated, Sender<()>, Receiver<()>, Writes) {
            let (open_gate, gate) = crossbeam_channel::unbounded();
            let (entered, writes_begun) = crossbeam_channel::unbounded();
            let written = Arc::new(Mutex::new(Vec::new()));
            let out = Gated {
                gate,
                entered,
                written: Arc::clone(&written),
            };
            (out, open_gate, writes_begun, written)
        }
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.entered.send(());
            let _ = self.gate.recv();
            self.written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_never_blocks_print_and_the_dropped_lines_are_counted_in_place() {
        let (out, open_gate, writes_begun, written) = Gated::closed();
        let mut console = Console::start(out, 4, 1 << 20).unwrap_or_else(|e| panic!("{e}"));
        // The output blocks on the first line: the printing thread waits at the gate with it.
        console.print("line 0".into());
        writes_begun
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("the first line was never written: {e}"));
        let started = Instant::now();
        for n in 1..1000 {
            console.print(format!("line {n}"));
        }
        assert!(started.elapsed() < Duration::from_secs(1), "print blocked");
        assert!(console.dropped() > 0);
        drop(open_gate);
        // Once the output flows, the notice gets in as soon as the queue is down to half.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !console.announce_dropped() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        console.print("after".into());
        console.finish(Duration::from_secs(10));
        let written = written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .concat();
        let text = String::from_utf8_lossy(&written).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"line 0"), "{text}");
        assert_eq!(lines.last(), Some(&"after"), "{text}");
        // Every line is either shown, in order, or counted by a notice in its place.
        let mut next = 0;
        for line in &lines[..lines.len() - 1] {
            if let Some(n) = line.strip_prefix("line ") {
                assert_eq!(n.parse::<u64>().ok(), Some(next), "{text}");
                next += 1;
            } else {
                let count = line
                    .strip_prefix('(')
                    .and_then(|l| l.strip_suffix(" lines dropped: output was blocked)"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("unexpected {line:?}"));
                next += count;
            }
        }
        assert_eq!(next, 1000, "{text}");
        assert!(lines.len() < 20, "{text}");
    }

    #[test]
    fn lines_waiting_together_are_written_in_one_write_and_all_in_order() {
        let (out, open_gate, _writes_begun, calls) = Gated::closed();
        let mut console = Console::start(out, 100, 1 << 20).unwrap_or_else(|e| panic!("{e}"));
        for n in 0..10 {
            console.print(format!("line {n}"));
        }
        // The printing thread holds at most the first batch at the gate; the rest wait together.
        drop(open_gate);
        console.finish(Duration::from_secs(10));
        let calls = calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert!(calls.len() <= 2, "{} writes for 10 lines", calls.len());
        let text = String::from_utf8(calls.concat()).unwrap_or_default();
        let expected: String = (0..10).map(|n| format!("line {n}\n")).collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn the_queue_holds_at_most_its_bytes_whatever_the_line_count() {
        let (out, _closed_gate, _writes_begun, _written) = Gated::closed();
        let mut console = Console::start(out, 1000, 100).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..10 {
            console.print("x".repeat(40));
        }
        // 100 bytes hold two lines of 40: the printing thread may have one of them.
        assert!(console.dropped() >= 7, "{}", console.dropped());
        assert!(console.queued_bytes.load(Ordering::Acquire) <= 100);
    }
}
