//! A finder: one thread that asks "who is hosting?" and then listens for rooms.
//!
//! Owns the `natter-find` thread (asks at once, twice more in case a datagram was lost, then
//! only listens), the channel of what it heard, the [`RoomList`] its owner reads, and sending
//! rate-limited "could not reach you" notes. Does not own what the rooms look like on screen.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::datagram::{Datagram, MAX_DATAGRAM};
use super::pace::Pace;
use super::reach::Reach;
use super::room_list::{FoundRoom, RoomList};
use crate::network::WakeUp;

/// When the finder asks, as offsets from its start.
const ASK_AT: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(400),
    Duration::from_millis(1500),
];
/// The longest the thread waits before looking at its stop flag.
const POLL: Duration = Duration::from_millis(250);
/// Notes about one room are sent at most this often.
const NOTE_EVERY: Duration = Duration::from_secs(10);
/// Heard datagrams waiting for the owner; more are dropped (the next announcement comes).
const QUEUE: usize = 256;

enum Heard {
    Room(super::datagram::Announcement, SocketAddr, Instant),
    Gone {
        id: String,
        port: u16,
        from: SocketAddr,
    },
}

/// A running finder. Dropping it stops it too.
pub struct Finder {
    socket: Arc<UdpSocket>,
    reach: Reach,
    pace: Pace,
    heard: Receiver<Heard>,
    list: RoomList,
    /// Rooms (by id) a note was sent about, and when.
    noted: Vec<(String, Instant)>,
    stop: Arc<AtomicBool>,
    ignored: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Finder {
    /// Opens the socket and asks at once. `wake` is called after each room heard.
    pub fn start(reach: Reach, pace: Pace, wake: WakeUp) -> io::Result<Finder> {
        let socket = Arc::new(reach.open()?);
        let (tx, heard) = crossbeam_channel::bounded(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let ignored = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            socket: Arc::clone(&socket),
            reach: reach.clone(),
            tx,
            wake,
            stop: Arc::clone(&stop),
            ignored: Arc::clone(&ignored),
        };
        let thread = thread::Builder::new()
            .name("natter-find".into())
            .spawn(move || worker.run())?;
        Ok(Finder {
            socket,
            reach,
            pace,
            heard,
            list: RoomList::default(),
            noted: Vec::new(),
            stop,
            ignored,
            thread: Some(thread),
        })
    }

    /// Where the finder hears announcements.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The rooms heard and not yet faded out, sorted by name. Takes in what the thread heard.
    pub fn rooms(&mut self) -> &[FoundRoom] {
        for heard in self.heard.try_iter() {
            match heard {
                Heard::Room(announcement, from, at) => self.list.heard(announcement, from, at),
                Heard::Gone { id, port, from } => self.list.gone(&id, port, from),
            }
        }
        self.list.expire(Instant::now(), self.pace.fade_after);
        self.list.rooms()
    }

    /// The timings rooms fade by.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// The room listening at `addr`, if one was heard (call [`Finder::rooms`] first).
    pub fn room_at(&self, addr: SocketAddr) -> Option<&FoundRoom> {
        self.list.at(addr)
    }

    /// Datagrams ignored so far (malformed, oversized, foreign, queries).
    pub fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    /// Tells the host of the room heard at `addr` that this computer could not reach its TCP
    /// port. At most once per 10 s per room; `false` when nothing was sent (no such room heard,
    /// or too soon).
    pub fn tell_unreachable(&mut self, addr: SocketAddr) -> bool {
        let now = Instant::now();
        self.noted
            .retain(|(_, at)| now.saturating_duration_since(*at) < NOTE_EVERY);
        let Some(room) = self.list.at(addr) else {
            return false;
        };
        if self.noted.iter().any(|(id, _)| *id == room.id) {
            return false;
        }
        let note = Datagram::Unreachable {
            id: room.id.clone(),
            port: room.addr.port(),
        }
        .encode();
        let mut sent = false;
        for destination in self.reach.note_destinations(room.from) {
            sent |= self.socket.send_to(&note, destination).is_ok();
        }
        self.noted.push((room.id.clone(), now));
        sent
    }

    /// Stops and joins the thread; returns within about 250 ms.
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

impl Drop for Finder {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

struct Worker {
    socket: Arc<UdpSocket>,
    reach: Reach,
    tx: Sender<Heard>,
    wake: WakeUp,
    stop: Arc<AtomicBool>,
    ignored: Arc<AtomicU64>,
}

impl Worker {
    fn run(self) {
        let started = Instant::now();
        let mut asked = 0;
        let mut buf = [0u8; 2048];
        let mut errors_in_a_row = 0u32;
        let query = Datagram::Who {
            version: crate::network::protocol::PROTOCOL_VERSION,
        }
        .encode();
        while !self.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if let Some(offset) = ASK_AT.get(asked)
                && now >= started + *offset
            {
                for destination in self.reach.destinations() {
                    let _ = self.socket.send_to(&query, destination);
                }
                asked += 1;
            }
            let wait = ASK_AT
                .get(asked)
                .map_or(POLL, |offset| {
                    (started + *offset).saturating_duration_since(Instant::now())
                })
                .clamp(Duration::from_millis(1), POLL);
            let _ = self.socket.set_read_timeout(Some(wait));
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    errors_in_a_row = 0;
                    self.heard(buf.get(..n).unwrap_or_default(), from);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    errors_in_a_row = errors_in_a_row.saturating_add(1);
                    if errors_in_a_row > 8 {
                        thread::park_timeout(POLL);
                    }
                }
            }
        }
    }

    fn heard(&self, bytes: &[u8], from: SocketAddr) {
        let heard = match Datagram::decode(bytes) {
            Ok(Datagram::Room(announcement)) if bytes.len() <= MAX_DATAGRAM => {
                Heard::Room(announcement, from, Instant::now())
            }
            Ok(Datagram::Gone { id, port }) => Heard::Gone { id, port, from },
            // Queries and notes are for hosts; the rest is noise.
            Ok(_) | Err(_) => {
                self.ignored.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        if self.tx.try_send(heard).is_ok() {
            (self.wake)();
        }
    }
}
