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

use super::fanout::Deferred;
use super::room::Member;
use crate::network::protocol::{Dialect, PresenceEvent, ServerFrame, encode, now_rfc3339};

/// Joins and leaves this close to the previous announcement wait and go out together.
pub(super) const WINDOW: Duration = Duration::from_millis(50);

/// One join or leave, already written in every form a member may need.
struct Announcement {
    seq: u64,
    /// The single `join`/`leave` frame, with its newline.
    json: Vec<u8>,
    /// The short form inside a `presence` frame.
    event: Vec<u8>,
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

    /// Takes one join or leave: `frame` is the single `join` or `leave` frame.
    pub(super) fn add(&mut self, frame: &ServerFrame, plain: String, now: Instant) -> Decision {
        let json = encode(frame);
        self.seq += 1;
        let quiet = self.pending.is_empty()
            && self
                .last_sent
                .is_none_or(|sent| now.saturating_duration_since(sent) >= WINDOW);
        if quiet {
            self.last_sent = Some(now);
            return Decision::Now { json, plain };
        }
        let mut event = short_form(frame).map_or_else(Vec::new, |e| encode(&e));
        event.pop();
        self.pending.push(Announcement {
            seq: self.seq,
            json,
            event,
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
        let batch = Arc::new(Batch {
            events: std::mem::take(&mut self.pending),
            time: now_rfc3339(),
        });
        self.last_sent = Some(now);
        let mut lines: HashMap<(usize, Form), Arc<[u8]>> = HashMap::new();
        for member in members {
            let first = batch
                .events
                .partition_point(|a| a.seq <= member.presence_seq);
            if first == batch.events.len() {
                continue;
            }
            let form = Form::of(member);
            // A member that joined during the burst gets a line of its own: written when
            // its turn to send comes (see `Batch`), not now.
            if first > 0
                && form == Form::Batched
                && let Ok(part) = u32::try_from(first)
            {
                member
                    .recipient
                    .send_deferred(Arc::clone(&batch) as Arc<dyn Deferred>, part);
                continue;
            }
            let line = lines
                .entry((first, form))
                .or_insert_with(|| form.write(&batch.events[first..], &batch.time));
            member.recipient.send(Arc::clone(line));
        }
    }
}

/// One flushed batch, kept until every member's line of it is written. Why: in a storm, each
/// member who joined during the batch is owed only the events after its own join, a line of
/// its own; written at once, 500 joiners' lines (1.7 MB) all waited in memory together.
struct Batch {
    events: Vec<Announcement>,
    /// When the batch was sent.
    time: String,
}

impl Deferred for Batch {
    /// The `presence` frame of the events from index `part` on.
    fn line(&self, part: u32) -> Arc<[u8]> {
        let events = self.events.get(part as usize..).unwrap_or_default();
        Form::Batched.write(events, &self.time)
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

    /// The batch as this form's line(s); `time` is when it is sent (an RFC 3339 string, so
    /// it needs no escaping).
    fn write(self, events: &[Announcement], time: &str) -> Arc<[u8]> {
        let mut out = Vec::new();
        match self {
            Form::Batched => {
                out.extend_from_slice(br#"{"type":"presence","time":""#);
                out.extend_from_slice(time.as_bytes());
                out.extend_from_slice(br#"","events":["#);
                for (i, event) in events.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&event.event);
                }
                out.extend_from_slice(b"]}\n");
            }
            Form::Single => {
                for event in events {
                    out.extend_from_slice(&event.json);
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

/// A `join` or `leave` frame's short form inside a `presence` frame.
fn short_form(frame: &ServerFrame) -> Option<PresenceEvent> {
    match frame {
        ServerFrame::Join {
            nick, unencrypted, ..
        } => Some(PresenceEvent::Join {
            join: nick.clone(),
            unencrypted: *unencrypted,
        }),
        ServerFrame::Leave {
            nick,
            reason,
            detail,
            ..
        } => Some(PresenceEvent::Leave {
            leave: nick.clone(),
            reason: *reason,
            detail: detail.clone(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::network::protocol::{LeaveReason, decode};

    fn join(nick: &str) -> ServerFrame {
        ServerFrame::Join {
            nick: nick.into(),
            time: "2026-12-02T01:00:00.000Z".into(),
            unencrypted: false,
        }
    }

    fn member(id: u64, presence_seq: u64) -> (mio::Poll, Member) {
        use super::super::connection::{Connection, Recipient};
        use super::super::outbox::{Marks, Outbox, Pressure};
        let (poll, io) = super::super::io_thread::tests::idle_shared();
        let outbox = Outbox::new(1, Marks::for_capacity(64), Arc::new(io), Pressure::new());
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
        let recipient = Recipient {
            queue: outbox.clone(),
            connection: Arc::new(Connection::new(peer, outbox)),
        };
        let nick = format!("m{id}");
        let member = Member {
            id,
            key: crate::network::text::NickKey::of(&nick),
            nick,
            dialect: Dialect::Json,
            session: String::new(),
            recipient,
            presence_seq,
            batches_presence: true,
            named_at: Instant::now(),
            unencrypted: false,
            files: false,
            takes_data: false,
            hears_encryption: false,
            hears_moderation: false,
            announced: true,
            away: None,
        };
        (poll, member)
    }

    fn taken(member: &Member) -> ServerFrame {
        let mut taken = Vec::new();
        member.recipient.queue.take_lines(&mut taken, usize::MAX);
        assert_eq!(taken.len(), 1);
        decode(&taken[0][..taken[0].len() - 1]).unwrap()
    }

    fn joined(frame: &ServerFrame) -> Vec<String> {
        match frame {
            ServerFrame::Presence { events, .. } => (events.iter())
                .map(|e| match e {
                    PresenceEvent::Join { join, .. } => join.clone(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_member_who_joined_during_a_burst_is_queued_its_part_unwritten_and_reads_only_the_later_events()
     {
        let t0 = Instant::now();
        let mut presence = Presence::default();
        presence.add(&join("first"), String::new(), t0);
        for nick in ["a", "b", "c"] {
            presence.add(&join(nick), String::new(), t0);
        }
        // One member entered before the burst, one right after "b" joined (seq 3).
        let (_p1, before) = member(1, 1);
        let (_p2, during) = member(2, 3);
        let members = [before, during];
        presence.flush(&members, t0);
        let [before, during] = &members;
        assert_eq!(before.recipient.queue.deferred_waiting(), 0);
        assert_eq!(
            during.recipient.queue.deferred_waiting(),
            1,
            "the joiner's own part is written when taken"
        );
        assert_eq!(joined(&taken(before)), ["a", "b", "c"]);
        assert_eq!(joined(&taken(during)), ["c"]);
    }

    #[test]
    fn the_first_event_after_a_quiet_window_goes_now_and_the_next_within_it_waits() {
        let mut presence = Presence::default();
        let t0 = Instant::now();
        assert!(matches!(
            presence.add(&join("a"), "a".into(), t0),
            Decision::Now { .. }
        ));
        let due = match presence.add(&join("b"), "b".into(), t0 + WINDOW / 2) {
            Decision::Batched { due } => due,
            Decision::Now { .. } => panic!("an event within the window waits"),
        };
        assert_eq!(due, t0 + WINDOW);
        assert!(presence.has_pending());
        assert_eq!(presence.seq(), 2);
    }

    #[test]
    fn a_batch_is_one_presence_frame_of_short_events_in_order_and_the_same_single_frames() {
        let t0 = Instant::now();
        let mut presence = Presence::default();
        presence.add(&join("first"), String::new(), t0);
        presence.add(&join("a"), "* a joined\r\n".into(), t0);
        let leave = ServerFrame::Leave {
            nick: "b".into(),
            reason: LeaveReason::Left,
            detail: "bye".into(),
            time: "2026-12-02T01:00:00.000Z".into(),
        };
        presence.add(&leave, "* b left\r\n".into(), t0);
        let events = &presence.pending;
        let batched = Form::Batched.write(events, "2026-12-02T01:00:00.050Z");
        let frame: ServerFrame = decode(&batched[..batched.len() - 1]).unwrap();
        assert_eq!(
            frame,
            ServerFrame::Presence {
                time: "2026-12-02T01:00:00.050Z".into(),
                events: vec![
                    PresenceEvent::Join {
                        join: "a".into(),
                        unencrypted: false,
                    },
                    PresenceEvent::Leave {
                        leave: "b".into(),
                        reason: LeaveReason::Left,
                        detail: "bye".into(),
                    },
                ],
            }
        );
        assert_eq!(
            &Form::Plain.write(events, "")[..],
            b"* a joined\r\n* b left\r\n"
        );
        let single = Form::Single.write(events, "");
        let expected = [encode(&join("a")), encode(&leave)].concat();
        assert_eq!(&single[..], &expected[..]);
    }
}
