//! Load benchmark for the server: `natter serve` in a process of its own on 127.0.0.1, and N
//! clients in this one.
//!
//! ```text
//! cargo bench --bench load -- [--mode rate|blast|storm] --clients 10,100,500
//!     [--rate 4] [--seconds 10] [--messages 200] [--window 1024] [--io-threads 2]
//!     [--tls off|on|both] [--dialect json|ws|both]
//! ```
//!
//! - `rate` (default): every client sends `--rate` messages a second for `--seconds`.
//!   Reports deliveries a second, latency (send to receipt by every member, p50/p99/max),
//!   lost deliveries, members dropped and the server's CPU.
//! - `blast`: every client sends `--messages` as fast as its socket takes them, or, with
//!   `--window W`, one sender keeps at most W messages in flight. Reports the same, plus CPU
//!   per delivery.
//! - `storm`: N clients connect at once; reports the time until every one has seen everyone,
//!   then the server's resident memory and threads with N idle members, the cost of one idle
//!   member, and the memory left once they all leave.
//!
//! `--tls on` runs every client over TLS 1.3 (as the Natter app does), `--tls both` runs each
//! client count twice in one run, in the clear and then encrypted, for comparing the two.
//! `--dialect ws` makes every client a browser-protocol member (the JSON dialect over a
//! WebSocket, PROTOCOL.md §14; never TLS), `--dialect both` runs each client count as Natter
//! (JSON) members and then as WebSocket members, at the same rate, for p99 and CPU side by side.
//!
//! Server figures come from /proc/PID (Linux). Bounded: every phase stops by itself (at most
//! `--seconds` + 30 s). Loopback only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use mio::{Events, Interest, Poll, Token};
use natter::network::protocol::{ClientFrame, encode};
use rustls::ClientConnection;

#[path = "load/ws.rs"]
mod ws;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Rate,
    Blast,
    Storm,
}

struct Args {
    mode: Mode,
    clients: Vec<usize>,
    rate: f64,
    seconds: f64,
    messages: usize,
    window: Option<u64>,
    /// `natter serve --io-threads`; its default when not given.
    io_threads: Option<usize>,
    /// Each client count is run in the clear (false) and/or over TLS (true), in this order.
    tls: Vec<bool>,
    /// Each client count is run with Natter members (false) and/or WebSocket ones (true).
    ws: Vec<bool>,
}

fn parse_args() -> Args {
    let mut args = Args {
        mode: Mode::Rate,
        clients: vec![10, 100, 500],
        rate: 4.0,
        seconds: 10.0,
        messages: 200,
        window: None,
        io_threads: None,
        tls: vec![false],
        ws: vec![false],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match arg.as_str() {
            "--mode" => {
                args.mode = match value().as_str() {
                    "blast" => Mode::Blast,
                    "storm" => Mode::Storm,
                    _ => Mode::Rate,
                }
            }
            "--clients" => {
                args.clients = value()
                    .split(',')
                    .filter_map(|n| n.trim().parse().ok())
                    .collect()
            }
            "--rate" => args.rate = value().parse().unwrap_or(4.0),
            "--seconds" => args.seconds = value().parse().unwrap_or(10.0),
            "--messages" => args.messages = value().parse().unwrap_or(200),
            "--window" => args.window = value().parse().ok(),
            "--io-threads" => args.io_threads = value().parse().ok(),
            "--tls" => {
                args.tls = match value().as_str() {
                    "on" => vec![true],
                    "both" => vec![false, true],
                    _ => vec![false],
                }
            }
            "--dialect" => {
                args.ws = match value().as_str() {
                    "ws" => vec![true],
                    "both" => vec![false, true],
                    _ => vec![false],
                }
            }
            _ => {} // cargo bench passes --bench
        }
    }
    args.seconds = args.seconds.clamp(1.0, 120.0);
    args.messages = args.messages.clamp(1, 100_000);
    args
}

#[path = "load/link.rs"]
mod link;
#[path = "load/server.rs"]
mod server;

use link::{Link, connect};
use server::{Server, keep_off_server_cpu};

/// What every reader thread adds to.
#[derive(Default)]
struct Tally {
    deliveries: AtomicU64,
    /// Connections the server closed.
    dropped: AtomicUsize,
    /// Clients that have seen every member (storm).
    ready: AtomicUsize,
    /// Set when the readers should end.
    stop: std::sync::atomic::AtomicBool,
}

/// One client as its reader thread sees it.
struct ClientView {
    socket: mio::net::TcpStream,
    tls: Option<Arc<Mutex<ClientConnection>>>,
    ws: Option<ws::Deframer>,
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
        for Link { stream, tls, ws } in streams.try_iter() {
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
                for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    look_at(line, now_us, client, &tally, &mut latencies);
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
            let sent_us = tail[at + TEXT.len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
            lat.push(now_us.saturating_sub(sent_us) as u32);
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

/// Reader threads sharing the clients between them; give each client to
/// [`Readers::add`] as soon as it is connected.
struct Readers {
    inboxes: Vec<crossbeam_channel::Sender<Link>>,
    threads: Vec<thread::JoinHandle<Vec<u32>>>,
    added: usize,
}

impl Readers {
    fn start(everyone: usize, base: Instant, tally: &Arc<Tally>, until: Instant) -> Readers {
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

    fn add(&mut self, link: &Link) {
        let inbox = &self.inboxes[self.added % self.inboxes.len()];
        inbox.send(link.try_clone()).unwrap();
        self.added += 1;
    }

    /// Every latency the readers measured (they end when the tally says stop).
    fn join(self) -> Vec<u32> {
        self.threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    }
}

fn chat_line(base: Instant) -> Vec<u8> {
    encode(&ClientFrame::Chat {
        text: format!("b{}", base.elapsed().as_micros()),
        client_id: None,
        action: false,
        to: None,
    })
}

/// One pacer for everyone, round robin: `rate` a second per client, or as fast as the
/// window allows (`in_flight` returns how many messages are not yet delivered to everyone).
fn pace(
    writers: &mut [Link],
    base: Instant,
    until: Instant,
    mut may_send: impl FnMut(u64, Duration) -> bool,
) -> u64 {
    let start = Instant::now();
    let mut sent = 0u64;
    while Instant::now() < until {
        if !may_send(sent, start.elapsed()) {
            thread::sleep(Duration::from_micros(200));
            continue;
        }
        let i = (sent % writers.len() as u64) as usize;
        if !writers[i].write_whole(&chat_line(base), until) {
            break;
        }
        sent += 1;
    }
    sent
}

/// Every client sends `messages` as fast as its socket takes them, from two sender threads.
fn blast_all(writers: &[Link], messages: usize, base: Instant, until: Instant) -> u64 {
    let senders: Vec<_> = (0..2)
        .map(|t| {
            let mut mine: Vec<(Link, usize)> = writers
                .iter()
                .skip(t)
                .step_by(2)
                .map(|w| (w.try_clone(), 0))
                .collect();
            thread::spawn(move || {
                while mine.iter().any(|(_, n)| *n < messages) && Instant::now() < until {
                    for (stream, n) in mine.iter_mut().filter(|(_, n)| *n < messages) {
                        // A batch per turn, so every client keeps sending.
                        let batch_len = 16.min(messages - *n);
                        let batch: Vec<u8> = (0..batch_len).flat_map(|_| chat_line(base)).collect();
                        if stream.write_whole(&batch, until) {
                            *n += batch_len;
                        }
                    }
                }
                mine.iter().map(|(_, n)| *n as u64).sum::<u64>()
            })
        })
        .collect();
    senders.into_iter().map(|s| s.join().unwrap_or(0)).sum()
}

fn quantile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

/// Waits until `done` or `until`, looking every 5 ms.
fn wait_for(until: Instant, done: impl Fn() -> bool) {
    while !done() && Instant::now() < until {
        thread::sleep(Duration::from_millis(5));
    }
}

/// The rate and blast modes: join everyone, send, wait for the deliveries, report.
fn run_traffic(args: &Args, clients: usize, tls: bool, websocket: bool) {
    let server = Server::start(clients, args.io_threads);
    let base = Instant::now();
    let tally = Arc::new(Tally::default());
    let send_for = Duration::from_secs_f64(args.seconds);
    let until = Instant::now() + send_for + Duration::from_secs(30);
    let mut readers = Readers::start(clients, base, &tally, until);
    let mut writers: Vec<Link> = (0..clients)
        .map(|i| {
            let link = connect(server.addr, &format!("c{i}"), tls, websocket);
            readers.add(&link);
            link
        })
        .collect();
    wait_for(until, || tally.ready.load(Ordering::Relaxed) >= clients);
    let (_, _, cpu_before) = server.stats();
    let start = Instant::now();
    let send_until = start + send_for;
    let sent = match (args.mode, args.window) {
        (Mode::Blast, None) => blast_all(&writers, args.messages, base, send_until),
        (Mode::Blast, Some(window)) => {
            let cap = (args.messages * clients) as u64;
            let tally = Arc::clone(&tally);
            pace(&mut writers, base, send_until, move |sent, _| {
                let delivered = tally.deliveries.load(Ordering::Relaxed) / clients as u64;
                sent < cap && sent < delivered + window
            })
        }
        _ => {
            let total_rate = clients as f64 * args.rate;
            pace(&mut writers, base, send_until, move |sent, elapsed| {
                (sent as f64) < elapsed.as_secs_f64() * total_rate
            })
        }
    };
    let expected = sent * clients as u64;
    wait_for(until, || {
        tally.deliveries.load(Ordering::Relaxed) >= expected
            || tally.dropped.load(Ordering::Relaxed) > 0
                && Instant::now() > send_until + Duration::from_secs(3)
    });
    let elapsed = start.elapsed().as_secs_f64();
    let (rss_kb, threads, cpu_after) = server.stats();
    let cpu = cpu_after - cpu_before;
    let dropped = tally.dropped.load(Ordering::Relaxed);
    tally.stop.store(true, Ordering::Relaxed);
    for w in &writers {
        let _ = w.stream.shutdown(std::net::Shutdown::Both);
    }
    let mut latencies = readers.join();
    latencies.sort_unstable();
    let got = tally.deliveries.load(Ordering::Relaxed);
    println!(
        "{} tls={} clients={clients:4} sent={sent} deliveries={got}/{expected} delivered/s={:.0} \
         p50={:.2}ms p99={:.2}ms max={:.2}ms lost={} dropped={} server_cpu={cpu:.2}s \
         ({:.0}% of one core, {:.0} ns/delivery) rss={} MB threads={threads}",
        if websocket { "ws  " } else { "json" },
        if tls { "on " } else { "off" },
        got as f64 / elapsed,
        quantile_ms(&latencies, 0.50),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 1.0),
        expected.saturating_sub(got),
        dropped,
        cpu / elapsed * 100.0,
        cpu * 1e9 / got.max(1) as f64,
        rss_kb / 1024,
    );
}

/// The storm mode: everyone connects at once.
fn run_storm(args: &Args, clients: usize, tls: bool) {
    let server = Server::start(clients, args.io_threads);
    thread::sleep(Duration::from_millis(200));
    let (rss_empty, _, _) = server.stats();
    let base = Instant::now();
    let tally = Arc::new(Tally::default());
    let until = base + Duration::from_secs_f64(args.seconds) + Duration::from_secs(30);
    let readers = Arc::new(std::sync::Mutex::new(Readers::start(
        clients, base, &tally, until,
    )));
    // A TLS client waits for the host's handshake answer before its hello, so a few
    // connecting threads would make a trickle of what is a crowd arriving at once (every
    // person's computer shakes hands in parallel): many threads connect when encrypted.
    let connecting = if tls { 16 } else { 4 };
    let connectors: Vec<_> = (0..connecting)
        .map(|t| {
            let addr = server.addr;
            let readers = Arc::clone(&readers);
            thread::spawn(move || {
                (t..clients)
                    .step_by(connecting)
                    .map(|i| {
                        let link = connect(addr, &format!("s{i}"), tls, false);
                        readers.lock().unwrap().add(&link);
                        link
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let streams: Vec<Link> = connectors
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let connected = base.elapsed();
    wait_for(until, || {
        tally.ready.load(Ordering::Relaxed) >= clients * 99 / 100
    });
    let ready_99 = base.elapsed();
    wait_for(until, || {
        tally.ready.load(Ordering::Relaxed) + tally.dropped.load(Ordering::Relaxed) >= clients
    });
    let ready = base.elapsed();
    let dropped = tally.dropped.load(Ordering::Relaxed);
    thread::sleep(Duration::from_millis(500));
    let (rss_full, threads, _) = server.stats();
    tally.stop.store(true, Ordering::Relaxed);
    for s in &streams {
        let _ = s.stream.shutdown(std::net::Shutdown::Both);
    }
    drop(streams);
    if let Ok(readers) = Arc::try_unwrap(readers) {
        readers.into_inner().unwrap().join();
    }
    thread::sleep(Duration::from_secs(2));
    let (rss_after, threads_after, _) = server.stats();
    println!(
        "tls={} clients={clients:5} connected_in={:.2}s 99%_ready_in={:.2}s all_ready_in={:.2}s \
         ready={}/{clients} dropped={dropped} \
         rss_empty={:.1}MB rss_with_all={:.1}MB per_member={}B threads={threads} \
         rss_after_all_left={:.1}MB threads_after={threads_after}",
        if tls { "on " } else { "off" },
        connected.as_secs_f64(),
        ready_99.as_secs_f64(),
        ready.as_secs_f64(),
        tally.ready.load(Ordering::Relaxed),
        rss_empty as f64 / 1024.0,
        rss_full as f64 / 1024.0,
        rss_full.saturating_sub(rss_empty) * 1024 / clients.max(1) as u64,
        rss_after as f64 / 1024.0,
    );
}

fn main() {
    let args = parse_args();
    keep_off_server_cpu();
    println!(
        "natter load benchmark: loopback, server in its own process on CPU 0, bench on the rest, {} cores",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    for clients in args.clients.clone() {
        for &tls in &args.tls {
            // A browser's WebSocket is never TLS here (PROTOCOL.md §14).
            for &websocket in args.ws.iter().filter(|&&ws| !(ws && tls)) {
                match args.mode {
                    // The storm is of Natter members only.
                    Mode::Storm if websocket => {}
                    Mode::Storm => run_storm(&args, clients.max(1), tls),
                    _ => run_traffic(&args, clients.max(1), tls, websocket),
                }
            }
        }
    }
}
