//! The load bench's reading side: reader threads that take many clients each (mio), undo TLS
//! or WebSocket framing, and count what the figures need from each line: deliveries and their
//! latency, the members a client knows of, and connections the server closed. Lines of both
//! servers are understood: Natter's JSON and ngIRCd's IRC (`--against ngircd`). Sending is
//! not here (see `run.rs`).

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use rustls::ClientConnection;

use crate::link::Link;
use crate::ws;

/// What every reader thread adds to.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) deliveries: AtomicU64,
    /// When the latest delivery was read, in µs since the run's base: a short run's end is
    /// this, not the moment a 5 ms poll noticed the count was complete.
    pub(crate) last_delivery_us: AtomicU64,
    /// Connections the server closed.
    pub(crate) dropped: AtomicUsize,
    /// Clients that have seen every member (storm).
    pub(crate) ready: AtomicUsize,
    /// Set when the readers should end.
    pub(crate) stop: AtomicBool,
}

/// One client as its reader thread sees it.
struct ClientView {
    socket: mio::net::TcpStream,
    tls: Option<Arc<Mutex<ClientConnection>>>,
    ws: Option<ws::Deframer>,
    /// An IRC client (ngIRCd): lines are IRC's, and its own JOIN echo is not a member.
    irc: bool,
    /// Whether the IRC client has seen its own JOIN echo (the first JOIN it reads).
    joined: bool,
    pending: Vec<u8>,
    /// Members this client knows of (accepted's list, then joins and leaves).
    members: usize,
    ready: bool,
}

/// Reads many clients on one thread (mio); counts deliveries and their latency (the text is
/// `b` and the send time in microseconds), members seen, and closes.
fn read_loop(
    streams: crossbeam_channel::Receiver<Link>,
    everyone: usize,
    base: Instant,
    tally: Arc<Tally>,
    until: Instant,
) -> Vec<u32> {
    let poll = Poll::new().unwrap();
    let mut clients: Vec<ClientView> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut latencies = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut poll = poll;
    while Instant::now() < until && !tally.stop.load(Ordering::Relaxed) {
        // Clients still connecting are read from the moment they are there.
        for Link {
            stream,
            tls,
            ws,
            irc,
        } in streams.try_iter()
        {
            stream.set_nonblocking(true).unwrap();
            let mut socket = mio::net::TcpStream::from_std(stream);
            let token = Token(clients.len());
            poll.registry()
                .register(&mut socket, token, Interest::READABLE)
                .unwrap();
            clients.push(ClientView {
                socket,
                tls,
                ws: ws.then(ws::Deframer::default),
                irc,
                joined: false,
                pending: Vec::new(),
                members: 0,
                ready: false,
            });
        }
        if poll
            .poll(&mut events, Some(Duration::from_millis(5)))
            .is_err()
        {
            continue;
        }
        for event in &events {
            let client = &mut clients[event.token().0];
            loop {
                let n = match client.socket.read(&mut chunk) {
                    Ok(0) => {
                        tally.dropped.fetch_add(1, Ordering::Relaxed);
                        let _ = poll.registry().deregister(&mut client.socket);
                        break;
                    }
                    Ok(n) => n,
                    Err(_) => break,
                };
                let now_us = base.elapsed().as_micros() as u64;
                match (&client.tls, &mut client.ws) {
                    (Some(tls), _) => decrypt(tls, &chunk[..n], &mut client.pending),
                    (None, Some(frames)) => frames.push(&chunk[..n], &mut client.pending),
                    (None, None) => client.pending.extend_from_slice(&chunk[..n]),
                }
                let lines = take_lines(&mut client.pending);
                let before = tally.deliveries.load(Ordering::Relaxed);
                for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    if client.irc {
                        look_at_irc(line, now_us, client, &tally, &mut latencies);
                    } else {
                        look_at(line, now_us, client, &tally, &mut latencies);
                    }
                }
                if tally.deliveries.load(Ordering::Relaxed) != before {
                    tally.last_delivery_us.fetch_max(now_us, Ordering::Relaxed);
                }
                if !client.ready && client.members >= everyone {
                    client.ready = true;
                    tally.ready.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    for client in clients.iter().filter(|c| !c.ready && everyone > 1) {
        if std::env::var_os("BENCH_DEBUG").is_some() {
            eprintln!("not ready: knows {} of {everyone}", client.members);
        }
    }
    latencies
}

/// Feeds TLS records to the session and appends the plaintext they carry to `pending`.
fn decrypt(tls: &Mutex<ClientConnection>, mut raw: &[u8], pending: &mut Vec<u8>) {
    let mut session = tls.lock().unwrap();
    while !raw.is_empty() {
        session.read_tls(&mut raw).unwrap();
        let state = session.process_new_packets().unwrap();
        let from = pending.len();
        pending.resize(from + state.plaintext_bytes_to_read(), 0);
        session.reader().read_exact(&mut pending[from..]).unwrap();
    }
}

/// The complete lines at the front of `pending`, taken out of it.
fn take_lines(pending: &mut Vec<u8>) -> Vec<u8> {
    match pending.iter().rposition(|&b| b == b'\n') {
        Some(last) => pending.drain(..=last).collect(),
        None => Vec::new(),
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| w == &needle)
        .count()
}

/// One line from the server, looked at only as much as the figures need.
fn look_at(line: &[u8], now_us: u64, client: &mut ClientView, tally: &Tally, lat: &mut Vec<u32>) {
    const CHAT: &[u8] = b"{\"type\":\"chat\"";
    const TEXT: &[u8] = b"\"text\":\"b";
    if line.starts_with(CHAT) {
        tally.deliveries.fetch_add(1, Ordering::Relaxed);
        // The text is the last field of a chat frame: look only at the tail.
        let tail = &line[line.len().saturating_sub(48)..];
        if let Some(at) = tail.windows(TEXT.len()).position(|w| w == TEXT) {
            lat.push(latency(&tail[at + TEXT.len()..], now_us));
        }
    } else if line.starts_with(b"{\"type\":\"accepted\"") {
        // "users":["a","b"]: two quotes per nick (bench nicks hold none).
        let users = line
            .windows(9)
            .position(|w| w == b"\"users\":[")
            .map_or(0, |at| {
                let list = &line[at + 9..];
                let end = list.iter().position(|&b| b == b']').unwrap_or(0);
                count(&list[..end], b"\"") / 2
            });
        client.members = users;
    } else {
        // A `join`/`leave` frame, or the short events inside a `presence` frame.
        client.members += count(line, b"\"type\":\"join\"") + count(line, b"{\"join\":");
        let left = count(line, b"\"type\":\"leave\"") + count(line, b"{\"leave\":");
        client.members = client.members.saturating_sub(left);
    }
}

/// The time since the send time (µs) at the front of `digits`, in µs.
fn latency(digits: &[u8], now_us: u64) -> u32 {
    let sent_us = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    now_us.saturating_sub(sent_us) as u32
}

/// One line from ngIRCd: `:nick!user@host PRIVMSG #room :b<µs>` is a delivery (IRC sends
/// none to the sender); members are the `353` names list plus later JOINs, less PARTs and
/// QUITs; a client's first JOIN is its own echo, which comes before the names list.
fn look_at_irc(
    line: &[u8],
    now_us: u64,
    client: &mut ClientView,
    tally: &Tally,
    lat: &mut Vec<u32>,
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // The command is the second word of a line with a prefix.
    let mut words = line.splitn(3, |&b| b == b' ');
    let _prefix = words.next();
    let command = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default();
    match command {
        b"PRIVMSG" => {
            tally.deliveries.fetch_add(1, Ordering::Relaxed);
            if let Some(at) = rest.windows(2).position(|w| w == b":b") {
                lat.push(latency(&rest[at + 2..], now_us));
            }
        }
        b"353" => {
            // `353 me = #room :a b c`
            if let Some(at) = rest.windows(2).position(|w| w == b" :") {
                client.members += rest[at + 2..]
                    .split(|&b| b == b' ')
                    .filter(|n| !n.is_empty())
                    .count();
            }
        }
        b"JOIN" if !client.joined => client.joined = true,
        b"JOIN" => client.members += 1,
        b"PART" | b"QUIT" => client.members = client.members.saturating_sub(1),
        _ => {}
    }
}

/// Reader threads sharing the clients between them; give each client to
/// [`Readers::add`] as soon as it is connected.
pub(crate) struct Readers {
    inboxes: Vec<crossbeam_channel::Sender<Link>>,
    threads: Vec<thread::JoinHandle<Vec<u32>>>,
    added: usize,
}

impl Readers {
    pub(crate) fn start(
        everyone: usize,
        base: Instant,
        tally: &Arc<Tally>,
        until: Instant,
    ) -> Readers {
        const READERS: usize = 2;
        let mut readers = Readers {
            inboxes: Vec::new(),
            threads: Vec::new(),
            added: 0,
        };
        for i in 0..READERS {
            let (inbox, streams) = crossbeam_channel::unbounded();
            let tally = Arc::clone(tally);
            let thread = thread::Builder::new()
                .name(format!("bench-read-{i}"))
                .spawn(move || read_loop(streams, everyone, base, tally, until))
                .unwrap();
            readers.inboxes.push(inbox);
            readers.threads.push(thread);
        }
        readers
    }

    /// Gives `link` to a reader; one that has ended (its time is up: a slow join storm)
    /// takes no more, and the member counts as not ready.
    pub(crate) fn add(&mut self, link: &Link) {
        let inbox = &self.inboxes[self.added % self.inboxes.len()];
        let _ = inbox.send(link.try_clone());
        self.added += 1;
    }

    /// Every latency the readers measured (they end when the tally says stop).
    pub(crate) fn join(self) -> Vec<u32> {
        self.threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    }
}
