//! A hosting Natter's announcer: one thread that says "a room is hosted here" on the local
//! network and hears queries and "could not reach you" notes.
//!
//! Owns the `natter-announce` thread: the schedule (a burst, then a steady pace; queries and a
//! changed people count bring the next announcement forward, rate-limited by [`Pace`]), the
//! goodbye when it stops, and the rate limit on notes passed to the owner. Does not own the
//! room: it asks the owner for the people count and hands notes back through a callback; what
//! a note means to the person hosting is the owner's business.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::datagram::{Announcement, Datagram, MAX_DATAGRAM, new_instance_id};
use super::note_gate::NoteGate;
use super::pace::{Pace, Schedule};
use super::reach::Reach;
use crate::network::protocol::PROTOCOL_VERSION;
use crate::network::tls::Fingerprint;

/// How to announce: where, as whom, how often. The room name, port and people count come from
/// the server itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceConfig {
    pub reach: Reach,
    /// The host's nickname, or for `natter serve` the computer's name.
    pub host: String,
    pub pace: Pace,
    /// The host key's fingerprint, announced so a joiner can check it before the first
    /// connection (the server fills it in from its identity).
    pub key: Option<Fingerprint>,
}

/// Someone could not reach the room's TCP port although they heard it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    /// Where the note came from: the person who tried to join.
    pub from: IpAddr,
    /// The port they could not reach.
    pub port: u16,
}

/// What the owner is told of notes: each of the first few in a minute, then how many more
/// came (see [`NoteGate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noted {
    /// A note, passed on as it came.
    One(Note),
    /// `count` more notes for `port`, from addresses not heard from lately, came within the
    /// last minute and were only counted (told once that minute is over, or at stop).
    More { count: u32, port: u16 },
}

/// The people count, asked about once a second.
pub type PeopleCount = Box<dyn Fn() -> usize + Send>;
/// Called with what passes the rate limits on notes.
pub type OnNote = Box<dyn Fn(Noted) + Send>;

/// The longest the thread waits before looking at its stop flag and the people count.
const POLL: Duration = Duration::from_millis(250);
/// How often the people count is read.
const PEOPLE_EVERY: Duration = Duration::from_secs(1);
/// Notes from one address are passed on at most this often.
const NOTE_EVERY: Duration = Duration::from_secs(30);
/// Addresses remembered for the note rate limit.
const NOTE_SOURCES: usize = 64;
/// Askers (loopback reach) answered with the next announcement, at most.
const ASKERS: usize = 16;

/// A running announcer. Dropping it stops it too.
pub struct Announcer {
    id: String,
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    ignored: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Announcer {
    /// Opens the socket and starts announcing `room` on TCP `port` at once.
    pub fn start(
        config: AnnounceConfig,
        room: &str,
        port: u16,
        people: PeopleCount,
        on_note: OnNote,
    ) -> io::Result<Announcer> {
        let socket = config.reach.open()?;
        let local_addr = socket.local_addr()?;
        let id = new_instance_id();
        let stop = Arc::new(AtomicBool::new(false));
        let ignored = Arc::new(AtomicU64::new(0));
        let mut worker = Worker {
            socket,
            reach: config.reach,
            pace: config.pace,
            id: id.clone(),
            announcement: Announcement {
                version: PROTOCOL_VERSION,
                id: id.clone(),
                room: room.to_string(),
                host: config.host,
                port,
                people: 0,
                key: config.key.map(|k| k.to_text()),
            }
            .fitted(),
            port,
            people,
            on_note,
            stop: Arc::clone(&stop),
            ignored: Arc::clone(&ignored),
            askers: Vec::new(),
            notes: VecDeque::new(),
            gate: NoteGate::default(),
        };
        let thread = thread::Builder::new()
            .name("natter-announce".into())
            .spawn(move || worker.run())?;
        Ok(Announcer {
            id,
            local_addr,
            stop,
            ignored,
            thread: Some(thread),
        })
    }

    /// This run's instance id, as announced.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the announcer hears queries and notes.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Datagrams ignored so far (malformed, oversized, foreign, or not for this room).
    pub fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    /// Says goodbye (a `gone` datagram) and joins the thread; returns within about 250 ms.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

struct Worker {
    socket: UdpSocket,
    reach: Reach,
    pace: Pace,
    id: String,
    /// What is announced, names fitted once; the people count is filled in each time.
    announcement: Announcement,
    port: u16,
    people: PeopleCount,
    on_note: OnNote,
    stop: Arc<AtomicBool>,
    ignored: Arc<AtomicU64>,
    /// Who asked since the last announcement (loopback reach answers them directly).
    askers: Vec<SocketAddr>,
    /// When each recent note's sender was last passed on, oldest first.
    notes: VecDeque<(IpAddr, Instant)>,
    /// Bounds the notes passed on whatever their (forgeable) sources.
    gate: NoteGate,
}

impl Worker {
    fn run(&mut self) {
        let mut schedule = Schedule::new(Instant::now(), self.pace);
        let mut announced_people = None;
        let mut people_due = Instant::now();
        let mut buf = [0u8; 2048];
        let mut errors_in_a_row = 0u32;
        while !self.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if let Some(count) = self.gate.due(now) {
                (self.on_note)(Noted::More {
                    count,
                    port: self.port,
                });
            }
            if now >= people_due {
                people_due = now + PEOPLE_EVERY;
                if announced_people.is_some_and(|n| n != (self.people)()) {
                    schedule.soon(now);
                }
            }
            if now >= schedule.due() {
                announced_people = Some(self.announce());
                schedule.sent(now);
            }
            let wait = schedule
                .due()
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), POLL);
            let _ = self.socket.set_read_timeout(Some(wait));
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    errors_in_a_row = 0;
                    self.heard(buf.get(..n).unwrap_or_default(), from, &mut schedule);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    // E.g. Windows reports an earlier datagram's ICMP error here. A socket
                    // that keeps failing must not spin.
                    errors_in_a_row = errors_in_a_row.saturating_add(1);
                    if errors_in_a_row > 8 {
                        thread::park_timeout(POLL);
                    }
                }
            }
        }
        if let Some(count) = self.gate.take_held() {
            (self.on_note)(Noted::More {
                count,
                port: self.port,
            });
        }
        let gone = Datagram::Gone {
            id: self.id.clone(),
            port: self.port,
        };
        self.send(&gone.encode(), &self.reach.destinations());
    }

    /// Sends the announcement everywhere (and to askers); returns the people count it named.
    fn announce(&mut self) -> usize {
        let people = (self.people)();
        let announcement = Datagram::Room(Announcement {
            people: u32::try_from(people).unwrap_or(u32::MAX),
            ..self.announcement.clone()
        });
        let mut to = self.reach.destinations();
        for asker in std::mem::take(&mut self.askers) {
            to.extend(self.reach.answer_destinations(asker));
        }
        to.sort();
        to.dedup();
        self.send(&announcement.encode(), &to);
        people
    }

    fn send(&self, bytes: &[u8], to: &[SocketAddr]) {
        if bytes.len() > MAX_DATAGRAM {
            return;
        }
        for destination in to {
            // An interface that went away meanwhile: the next round lists them again.
            let _ = self.socket.send_to(bytes, destination);
        }
    }

    fn heard(&mut self, bytes: &[u8], from: SocketAddr, schedule: &mut Schedule) {
        match Datagram::decode(bytes) {
            Ok(Datagram::Who { .. }) => {
                if self.askers.len() < ASKERS && !self.askers.contains(&from) {
                    self.askers.push(from);
                }
                schedule.soon(Instant::now());
            }
            Ok(Datagram::Unreachable { id, port }) if id == self.id && port == self.port => {
                self.note(from.ip(), port);
            }
            // Other rooms' announcements and goodbyes, other rooms' notes: not for us.
            Ok(_) | Err(_) => {
                self.ignored.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Passes a note on, at most once per [`NOTE_EVERY`] per sender, and only the first few
    /// of a minute whoever sends them (the rest are counted by the gate).
    fn note(&mut self, from: IpAddr, port: u16) {
        let now = Instant::now();
        self.notes
            .retain(|(_, at)| now.saturating_duration_since(*at) < NOTE_EVERY);
        if self.notes.iter().any(|(ip, _)| *ip == from) {
            self.ignored.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self.notes.len() == NOTE_SOURCES {
            self.notes.pop_front();
        }
        self.notes.push_back((from, now));
        if self.gate.admit(now) {
            (self.on_note)(Noted::One(Note { from, port }));
        }
    }
}
