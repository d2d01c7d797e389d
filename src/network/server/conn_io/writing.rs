//! A connection's writing side: taking lines from its outbox, gathering them into as few sends
//! as possible (encrypted first, for a TLS peer), and what a write that failed or finished
//! means for the connection. Reading and the connection's phases are in `conn_io`.

use super::*;

impl Conn {
    /// Writing failed for good: the connection ends for `reason`.
    pub(super) fn write_failed(&mut self, reason: LeaveReason, detail: String) {
        self.connection.set_end_reason(reason, detail.clone());
        self.outbox.discard();
        if matches!(self.phase, Phase::Serving(_)) {
            self.end(End::new(reason, detail));
        }
        self.phase = Phase::Done;
    }

    /// Writes one batch of what is queued (taking more lines first if the last batch is out).
    pub(in crate::network::server) fn write(&mut self, now: Instant) -> Flushed {
        if self.is_done() {
            return Flushed::Over;
        }
        if self.outbox.killed() {
            self.kill();
            return Flushed::Over;
        }
        if self.tls.is_some() {
            return self.write_encrypted(now);
        }
        if let Some(ended) = self.refill(now) {
            return ended;
        }
        while !self.out.is_empty() {
            match self.send_some() {
                Ok(0) => {
                    self.write_failed(LeaveReason::Left, "connection lost".into());
                    return Flushed::Over;
                }
                Ok(n) => {
                    self.advance(n);
                    self.took_some();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked_since.get_or_insert(now);
                    return Flushed::Blocked;
                }
                Err(_) => {
                    self.write_failed(LeaveReason::Left, "connection lost".into());
                    return Flushed::Over;
                }
            }
        }
        self.batch_sent()
    }

    /// Takes the next batch of lines once the last one is out. `None`: there are lines to
    /// send; otherwise how this write turn ends.
    fn refill(&mut self, now: Instant) -> Option<Flushed> {
        if !self.out.is_empty() {
            return None;
        }
        self.out_offset = 0;
        match self.outbox.take_lines(&mut self.out, MAX_SEND_BYTES) {
            Take::Took => {
                self.frame_taken();
                None
            }
            Take::Nothing => Some(Flushed::Empty),
            Take::Ended(ending) => {
                self.written_out(ending, now);
                Some(Flushed::Over)
            }
        }
    }

    /// A batch went out.
    fn batch_sent(&mut self) -> Flushed {
        // A crowd's `accepted` lists are large: do not keep room for one per connection.
        if self.out.capacity() > KEEP_OUT_CAPACITY {
            self.out = Vec::new();
        }
        Flushed::Sent
    }

    /// The socket took bytes: it is not blocked, and holds the room again.
    fn took_some(&mut self) {
        self.blocked_since = None;
        if self.exempt {
            self.exempt = false;
            self.outbox.set_exempt(false);
        }
    }

    /// One write turn of a TLS link: what the session has ready goes out first; then one
    /// batch of lines is encrypted (as much as the session buffers at a time) and sent.
    fn write_encrypted(&mut self, now: Instant) -> Flushed {
        let mut sent = false;
        loop {
            match self.flush_tls(now) {
                Ok(true) => {}
                Ok(false) => return Flushed::Blocked,
                Err(()) => {
                    self.write_failed(LeaveReason::Left, "connection lost".into());
                    return Flushed::Over;
                }
            }
            if self.tls.as_ref().is_none_or(|tls| tls.is_handshaking()) {
                return if sent { Flushed::Sent } else { Flushed::Empty };
            }
            if self.out.is_empty() {
                if sent {
                    break;
                }
                if let Some(ended) = self.refill(now) {
                    return ended;
                }
                sent = true;
            }
            let Some(tls) = self.tls.as_mut() else {
                return Flushed::Over;
            };
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = gather(&self.out, self.out_offset, &mut slices);
            match tls.writer().write_vectored(&slices[..count]) {
                // Nothing taken and nothing to send would spin: try again next turn.
                Ok(0) if !tls.wants_write() => return Flushed::Sent,
                Ok(n) => self.advance(n),
                Err(_) => {
                    self.write_failed(LeaveReason::Left, "connection lost".into());
                    return Flushed::Over;
                }
            }
        }
        self.batch_sent()
    }

    /// Sends what the TLS session has encrypted: `Ok(true)` when all of it went, `Ok(false)`
    /// when the socket is full.
    fn flush_tls(&mut self, now: Instant) -> Result<bool, ()> {
        loop {
            let Some(tls) = self.tls.as_mut() else {
                return Ok(true);
            };
            if !tls.wants_write() {
                return Ok(true);
            }
            match tls.write_tls(&mut &self.stream) {
                Ok(0) => return Err(()),
                Ok(_) => self.took_some(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked_since.get_or_insert(now);
                    return Ok(false);
                }
                Err(_) => return Err(()),
            }
        }
    }

    /// One gathering write (`writev`) of the lines taken: no copying into a buffer.
    fn send_some(&self) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let count = gather(&self.out, self.out_offset, &mut slices);
        (&self.stream).write_vectored(&slices[..count])
    }

    /// Forgets the first `n` bytes of the lines taken.
    fn advance(&mut self, mut n: usize) {
        let mut done = 0;
        for line in &self.out {
            let left = line.len() - self.out_offset;
            if n < left {
                self.out_offset += n;
                break;
            }
            n -= left;
            done += 1;
            self.out_offset = 0;
        }
        self.out.drain(..done);
    }

    /// Everything queued is written and the owner asked for the end.
    fn written_out(&mut self, ending: Ending, now: Instant) {
        if let Some(tls) = self.tls.as_mut() {
            // Best effort: the peer learns the end was meant, not cut.
            tls.send_close_notify();
            let _ = self.flush_tls(now);
        }
        if ending == Ending::ShutdownWrite {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
        match &mut self.phase {
            Phase::Closing {
                linger: true,
                read_closed: false,
                drain_until,
                ..
            } => {
                drain_until.get_or_insert(now + LINGER);
            }
            Phase::Closing { .. } => self.phase = Phase::Done,
            // Still serving (a goodbye asked for the end): the peer's close ends the rest.
            _ => {}
        }
    }
}

/// The lines taken, the first from `offset` on, as slices for one gathering write; returns
/// how many of `slices` it filled.
fn gather<'a>(out: &'a [Arc<[u8]>], offset: usize, slices: &mut [IoSlice<'a>]) -> usize {
    let mut count = 0;
    for (slot, (i, line)) in slices.iter_mut().zip(out.iter().enumerate()) {
        *slot = IoSlice::new(&line[if i == 0 { offset } else { 0 }..]);
        count += 1;
    }
    count
}
