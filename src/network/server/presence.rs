//! Joins and leaves: told one by one while the room is quiet, gathered while they come in a
//! burst.
//!
//! Owns the pending batch and who gets which part of it. Why: every join is told to everyone,
//! so 5,000 people joining at once meant 12.5 million `join` frames. Now the first join after
//! a quiet [`WINDOW`] goes out at once (an ordinary `join`), and the ones that follow within
//! the window wait and go out together: one `presence` frame for clients that asked for it,
//! the same single frames (or plain lines) in one write for everyone else. Order is kept: the
//! room flushes the batch before it relays anything else. A member gets only the events after
//! it entered (its `accepted` list already counts the earlier ones). Does not decide who is in
//! the room (see `room`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::room::Member;
use crate::network::protocol::Dialect;

/// Joins and leaves this close to the previous announcement wait and go out together.
pub(super) const WINDOW: Duration = Duration::from_millis(50);

/// One join or leave, already written in every form a member may need.
struct Announcement {
    seq: u64,
    /// The single `join`/`leave` frame, without its newline.
    json: Vec<u8>,
    plain: String,
}

#[derive(Default)]
pub(super) struct Presence {
    /// Numbers announcements; a member remembers the last one it was told of or counted.
    seq: u64,
    pending: Vec<Announcement>,
    last_sent: Option<Instant>,
}

/// What [`Presence::add`] decided.
pub(super) enum Decision {
    /// The room is quiet: send this line (json frame with newline, plain line) to everyone now.
    Now { json: Vec<u8>, plain: String },
    /// It waits in the batch, which must be sent by this time.
    Batched { due: Instant },
}

impl Presence {
    /// The number of the latest announcement: a member entering now has counted it.
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// Takes one join or leave (`json` is the single frame with its newline).
    pub(super) fn add(&mut self, mut json: Vec<u8>, plain: String, now: Instant) -> Decision {
        self.seq += 1;
        let quiet = self.pending.is_empty()
            && self
                .last_sent
                .is_none_or(|sent| now.saturating_duration_since(sent) >= WINDOW);
        if quiet {
            self.last_sent = Some(now);
            return Decision::Now { json, plain };
        }
        if json.last() == Some(&b'\n') {
            json.pop();
        }
        self.pending.push(Announcement {
            seq: self.seq,
            json,
            plain,
        });
        let since = self.last_sent.unwrap_or(now);
        Decision::Batched {
            due: since + WINDOW,
        }
    }

    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Sends the pending batch: each member gets the events after the one it last counted,
    /// in the form it reads, as one line (or one write of lines).
    pub(super) fn flush(&mut self, members: &[Member], now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        self.last_sent = Some(now);
        let mut lines: HashMap<(usize, Form), Arc<[u8]>> = HashMap::new();
        for member in members {
            let first = batch.partition_point(|a| a.seq <= member.presence_seq);
            if first == batch.len() {
                continue;
            }
            let form = Form::of(member);
            let line = lines
                .entry((first, form))
                .or_insert_with(|| form.write(&batch[first..]));
            member.recipient.send(Arc::clone(line));
        }
    }
}

/// How a member reads joins and leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// One `presence` frame.
    Batched,
    /// One `join`/`leave` frame each.
    Single,
    /// One plain-text line each.
    Plain,
}

impl Form {
    fn of(member: &Member) -> Form {
        match (member.dialect, member.batches_presence) {
            (Dialect::Plain, _) => Form::Plain,
            (Dialect::Json, true) => Form::Batched,
            (Dialect::Json, false) => Form::Single,
        }
    }

    fn write(self, events: &[Announcement]) -> Arc<[u8]> {
        let mut out = Vec::new();
        match self {
            Form::Batched => {
                out.extend_from_slice(br#"{"type":"presence","events":["#);
                for (i, event) in events.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&event.json);
                }
                out.extend_from_slice(b"]}\n");
            }
            Form::Single => {
                for event in events {
                    out.extend_from_slice(&event.json);
                    out.push(b'\n');
                }
            }
            Form::Plain => {
                for event in events {
                    out.extend_from_slice(event.plain.as_bytes());
                }
            }
        }
        out.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_event_after_a_quiet_window_goes_now_and_the_next_within_it_waits() {
        let mut presence = Presence::default();
        let t0 = Instant::now();
        assert!(matches!(
            presence.add(b"a\n".to_vec(), "a".into(), t0),
            Decision::Now { .. }
        ));
        let due = match presence.add(b"b\n".to_vec(), "b".into(), t0 + WINDOW / 2) {
            Decision::Batched { due } => due,
            Decision::Now { .. } => panic!("an event within the window waits"),
        };
        assert_eq!(due, t0 + WINDOW);
        assert!(presence.has_pending());
        assert_eq!(presence.seq(), 2);
    }

    #[test]
    fn a_batch_is_one_presence_frame_of_the_single_frames_in_order() {
        let events = [
            Announcement {
                seq: 1,
                json: br#"{"type":"join","nick":"a","time":"t"}"#.to_vec(),
                plain: "* a joined\r\n".into(),
            },
            Announcement {
                seq: 2,
                json: br#"{"type":"leave","nick":"b","reason":"left","detail":"","time":"t"}"#
                    .to_vec(),
                plain: "* b left\r\n".into(),
            },
        ];
        let batched = Form::Batched.write(&events);
        let frame: crate::network::protocol::ServerFrame =
            crate::network::protocol::decode(&batched[..batched.len() - 1]).unwrap();
        let crate::network::protocol::ServerFrame::Presence { events: decoded } = frame else {
            panic!("not a presence frame: {frame:?}");
        };
        assert_eq!(decoded.len(), 2);
        assert_eq!(
            &Form::Plain.write(&events)[..],
            b"* a joined\r\n* b left\r\n"
        );
        assert_eq!(
            Form::Single.write(&events).split(|&b| b == b'\n').count(),
            3
        );
    }
}
