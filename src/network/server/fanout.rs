//! Lines sent to many members, kept once for all of them.
//!
//! Owns [`Fanout`] (the room's current [`Chunk`] of broadcast lines) and [`Entry`], what an
//! outbox queues: a line of its own, a span of consecutive lines of one chunk, or a line
//! written only when taken ([`Deferred`], e.g. a joiner's own part of a burst). Why: a
//! broadcast used to put a pointer (16 bytes) into every member's queue, so in a blast of 500
//! members, each queue a thousand lines deep, 16 MB of pointers to the same few lines. A span
//! stands for up to [`CHUNK_LINES`] broadcast lines in a row, so a member's queue holds a few
//! dozen entries where it held a thousand. Does not decide who gets a line (see `room`), nor
//! count or write what is queued (see `outbox`, `conn_io`).

use std::sync::{Arc, OnceLock};

/// Broadcast lines per chunk: a member's queue holds one entry per this many lines in a row.
pub(super) const CHUNK_LINES: usize = 64;

/// Consecutive broadcast lines of one room, each set once, by the room, under its lock.
pub(super) struct Chunk {
    lines: [OnceLock<Arc<[u8]>>; CHUNK_LINES],
}

impl Chunk {
    fn new() -> Arc<Chunk> {
        Arc::new(Chunk {
            lines: std::array::from_fn(|_| OnceLock::new()),
        })
    }

    fn line(&self, index: u32) -> Option<&Arc<[u8]>> {
        self.lines.get(index as usize)?.get()
    }
}

/// One broadcast line's place: its chunk and its index there.
pub(super) struct SharedLine {
    chunk: Arc<Chunk>,
    index: u32,
}

/// The room's chunk being filled.
#[derive(Default)]
pub(super) struct Fanout {
    current: Option<Arc<Chunk>>,
    used: u32,
}

impl Fanout {
    /// Puts `line` after the last one (in a new chunk when the current one is full).
    pub(super) fn add(&mut self, line: Arc<[u8]>) -> SharedLine {
        let chunk = match &self.current {
            Some(chunk) if (self.used as usize) < CHUNK_LINES => Arc::clone(chunk),
            _ => {
                let chunk = Chunk::new();
                self.current = Some(Arc::clone(&chunk));
                self.used = 0;
                chunk
            }
        };
        let index = self.used;
        self.used += 1;
        // The slot is new: it was never set.
        let _ = chunk.lines[index as usize].set(line);
        SharedLine { chunk, index }
    }
}

/// A line written only when its outbox hands it to the socket: members' lines that differ
/// (each joiner's own part of a burst of joins) need not all wait in memory at once.
pub(super) trait Deferred: Send + Sync {
    /// Part `part` of this source, as the line to send.
    fn line(&self, part: u32) -> Arc<[u8]>;
}

/// What an outbox queues.
pub(super) enum Entry {
    /// A line for this member alone (or shared by a plain `Arc`).
    Line(Arc<[u8]>),
    /// A line written when taken (see [`Deferred`]).
    Deferred {
        source: Arc<dyn Deferred>,
        part: u32,
    },
    /// Broadcast lines `start..end` of `chunk`.
    Span {
        chunk: Arc<Chunk>,
        start: u32,
        end: u32,
    },
}

impl Entry {
    /// Lines in this entry.
    pub(super) fn lines(&self) -> usize {
        match self {
            Entry::Line(_) | Entry::Deferred { .. } => 1,
            Entry::Span { start, end, .. } => end.saturating_sub(*start) as usize,
        }
    }

    /// Appends `line` to this span if it is the next line of the same chunk.
    pub(super) fn extend(&mut self, line: &SharedLine) -> bool {
        match self {
            Entry::Span { chunk, end, .. }
                if Arc::ptr_eq(chunk, &line.chunk) && *end == line.index =>
            {
                *end += 1;
                true
            }
            _ => false,
        }
    }

    /// A span of `line` alone.
    pub(super) fn span(line: &SharedLine) -> Entry {
        Entry::Span {
            chunk: Arc::clone(&line.chunk),
            start: line.index,
            end: line.index + 1,
        }
    }

    /// Takes the first line of a span (the span is then one shorter); `None` for a line or a
    /// deferred line (taken whole by the caller) or an empty span.
    pub(super) fn take_first(&mut self) -> Option<Arc<[u8]>> {
        let Entry::Span { chunk, start, end } = self else {
            return None;
        };
        if start >= end {
            return None;
        }
        let line = chunk.line(*start).map(Arc::clone);
        *start += 1;
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Arc<[u8]> {
        text.as_bytes().into()
    }

    #[test]
    fn consecutive_broadcast_lines_make_one_span_until_the_chunk_is_full() {
        let mut fanout = Fanout::default();
        let first = fanout.add(line("0"));
        let mut span = Entry::span(&first);
        for i in 1..CHUNK_LINES {
            assert!(span.extend(&fanout.add(line(&i.to_string()))));
        }
        assert_eq!(span.lines(), CHUNK_LINES);
        let next = fanout.add(line("next chunk"));
        assert!(!span.extend(&next), "a new chunk starts a new span");
        let mut taken = Vec::new();
        while let Some(l) = span.take_first() {
            taken.push(String::from_utf8(l.to_vec()).unwrap());
        }
        let expected: Vec<String> = (0..CHUNK_LINES).map(|i| i.to_string()).collect();
        assert_eq!(taken, expected);
        assert_eq!(span.lines(), 0);
    }

    #[test]
    fn a_skipped_broadcast_line_ends_the_span() {
        let mut fanout = Fanout::default();
        let mut span = Entry::span(&fanout.add(line("a")));
        let _not_for_this_member = fanout.add(line("b"));
        assert!(!span.extend(&fanout.add(line("c"))));
        assert_eq!(span.lines(), 1);
    }
}
