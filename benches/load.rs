//! Load benchmark for the server: N clients on 127.0.0.1, each sending at a fixed rate.
//!
//! `cargo bench --bench load -- --clients 10,100,500 --rate 4 --seconds 10 [--coalesce-ms 4]
//! [--io-threads 2]`
//!
//! Reports delivered messages per second, delivery latency (p50/p99/max, send to receipt by
//! every other client), lost deliveries and the CPU time of the server's threads. Bounded: each
//! run sends for `--seconds` and then waits at most 10 s for stragglers. Loopback only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use natter::network::no_wake_up;
use natter::network::protocol::{ClientFrame, encode};
use natter::network::server::{self, JoinLimit, RateLimit, ServerConfig};

struct Args {
    clients: Vec<usize>,
    rate: f64,
    seconds: f64,
    /// Overrides the server's write coalescing window.
    coalesce_ms: Option<f64>,
    /// Overrides the server's I/O thread count.
    io_threads: Option<usize>,
}

fn parse_args() -> Args {
    let mut args = Args {
        clients: vec![10, 100, 500],
        rate: 4.0,
        seconds: 10.0,
        coalesce_ms: None,
        io_threads: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--clients" => {
                args.clients = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|n| n.trim().parse().ok())
                    .collect()
            }
            "--rate" => args.rate = it.next().and_then(|v| v.parse().ok()).unwrap_or(4.0),
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(10.0),
            "--coalesce-ms" => args.coalesce_ms = it.next().and_then(|v| v.parse().ok()),
            "--io-threads" => args.io_threads = it.next().and_then(|v| v.parse().ok()),
            _ => {} // cargo bench passes --bench
        }
    }
    args.seconds = args.seconds.clamp(1.0, 120.0);
    args
}

/// CPU seconds used so far by this process's threads whose name starts with `prefix`.
fn thread_cpu_seconds(prefix: &str) -> Option<f64> {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the ")" that closes the thread name: utime is the 12th, stime the 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        ticks += utime + stime;
    }
    // Linux reports in clock ticks of 1/100 s on every common configuration.
    Some(ticks as f64 / 100.0)
}

/// Connects and completes the handshake; returns the stream ready for chat.
fn join(addr: SocketAddr, nick: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .write_all(&encode(&ClientFrame::Hello {
            version: 1,
            nick: nick.into(),
            resume: None,
        }))
        .unwrap();
    // Welcome and accepted (no history in a fresh room): read two lines.
    let mut seen_lines = 0;
    let mut byte = [0u8; 1];
    while seen_lines < 2 {
        stream.read_exact(&mut byte).unwrap();
        if byte[0] == b'\n' {
            seen_lines += 1;
        }
    }
    stream
}

/// Reads chat frames on many sockets with one thread (epoll via mio), and for each frame our
/// bench sent, records its latency in microseconds. A few such threads stand in for all the
/// clients, so the clients' own scheduling does not swamp what is measured.
fn read_loop(
    streams: Vec<TcpStream>,
    base: Instant,
    received: Arc<AtomicU64>,
    until: Instant,
) -> Vec<u32> {
    use mio::{Events, Interest, Poll, Token};
    let mut poll = Poll::new().unwrap();
    let mut sockets: Vec<(mio::net::TcpStream, Vec<u8>)> = streams
        .into_iter()
        .map(|s| {
            s.set_nonblocking(true).unwrap();
            (
                mio::net::TcpStream::from_std(s),
                Vec::with_capacity(64 * 1024),
            )
        })
        .collect();
    for (i, (socket, _)) in sockets.iter_mut().enumerate() {
        poll.registry()
            .register(socket, Token(i), Interest::READABLE)
            .unwrap();
    }
    let mut events = Events::with_capacity(1024);
    let mut latencies = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 256 * 1024];
    let needle = b"\"text\":\"b";
    while Instant::now() < until {
        if poll
            .poll(&mut events, Some(Duration::from_millis(100)))
            .is_err()
        {
            continue;
        }
        for event in &events {
            let (socket, pending) = &mut sockets[event.token().0];
            loop {
                let n = match socket.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(_) => break,
                };
                let now_us = base.elapsed().as_micros() as u64;
                pending.extend_from_slice(&chunk[..n]);
                let mut start = 0;
                while let Some(newline) = pending[start..].iter().position(|&b| b == b'\n') {
                    let line = &pending[start..start + newline];
                    // The text is the last field of a chat frame: look only at the tail.
                    let tail = &line[line.len().saturating_sub(40)..];
                    if let Some(at) = tail.windows(needle.len()).position(|w| w == needle) {
                        let line = tail;
                        let sent_us = line[at + needle.len()..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
                        latencies.push(now_us.saturating_sub(sent_us) as u32);
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    start += newline + 1;
                }
                pending.drain(..start);
                // A short read means the socket is drained for now; more data raises a new
                // (edge-triggered) event, so skip the read that would only say WouldBlock.
                if n < chunk.len() {
                    break;
                }
            }
        }
    }
    latencies
}

/// The server as the bench runs it: room for everyone, and a rate limit no sender reaches.
fn bench_config(args: &Args, clients: usize) -> ServerConfig {
    let defaults = ServerConfig::default();
    ServerConfig {
        io_threads: args.io_threads.unwrap_or(defaults.io_threads),
        coalesce: args
            .coalesce_ms
            .map_or(defaults.coalesce, |ms| Duration::from_secs_f64(ms / 1000.0)),
        max_clients: clients + 16,
        max_per_address: clients + 16,
        // Every bench client connects from 127.0.0.1 at once.
        joins_per_address: JoinLimit {
            burst: (clients + 16) as f64,
            per_second: 1000.0,
        },
        queue_lines: 65_536,
        rate: RateLimit {
            burst: 1000.0,
            per_second: 1000.0,
            strikes: 10,
        },
        ..defaults
    }
}

const READER_THREADS: usize = 2;

/// Reader threads sharing the clients' sockets between them; each returns its latencies.
fn start_readers(
    writers: &[TcpStream],
    base: Instant,
    received: &Arc<AtomicU64>,
    until: Instant,
) -> Vec<thread::JoinHandle<Vec<u32>>> {
    let mut groups: Vec<Vec<TcpStream>> = (0..READER_THREADS).map(|_| Vec::new()).collect();
    for (i, w) in writers.iter().enumerate() {
        groups[i % READER_THREADS].push(w.try_clone().unwrap());
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let received = Arc::clone(received);
            thread::Builder::new()
                .name(format!("bench-read-{i}"))
                .spawn(move || read_loop(group, base, received, until))
                .unwrap()
        })
        .collect()
}

/// One pacer sends for everyone, round robin, at clients × rate messages per second, for
/// `send_for`. Returns how many messages it sent.
fn pace(writers: &mut [TcpStream], rate: f64, base: Instant, send_for: Duration) -> u64 {
    let start = Instant::now();
    let total_rate = writers.len() as f64 * rate;
    let mut sent = 0u64;
    while start.elapsed() < send_for {
        let due = (start.elapsed().as_secs_f64() * total_rate) as u64;
        while sent < due {
            let i = (sent % writers.len() as u64) as usize;
            let text = format!("b{}", base.elapsed().as_micros());
            let line = encode(&ClientFrame::Chat {
                text,
                client_id: None,
                action: false,
            });
            writers[i].write_all(&line).unwrap();
            sent += 1;
        }
        thread::sleep(Duration::from_micros(500));
    }
    sent
}

/// The `p`-quantile of sorted latencies (microseconds), in milliseconds.
fn quantile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

/// CPU used between two readings, as seconds and as a share of one core over `elapsed`.
fn cpu_share(before: Option<f64>, after: Option<f64>, elapsed: f64) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!(
            "{:.2} s ({:.0}% of one core)",
            a - b,
            (a - b) / elapsed * 100.0
        ),
        _ => "n/a".into(),
    }
}

fn run(args: &Args, clients: usize) {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let server = server::start(listener, bench_config(args, clients), no_wake_up()).unwrap();
    let addr = server.local_addr();
    let base = Instant::now();
    let mut writers: Vec<TcpStream> = (0..clients).map(|i| join(addr, &format!("c{i}"))).collect();
    let received = Arc::new(AtomicU64::new(0));
    let send_for = Duration::from_secs_f64(args.seconds);
    let start = Instant::now();
    let until = start + send_for + Duration::from_secs(10);
    let readers = start_readers(&writers, base, &received, until);
    let cpu_before = thread_cpu_seconds("natter-");
    let readers_cpu_before = thread_cpu_seconds("bench-read");

    let sent = pace(&mut writers, args.rate, base, send_for);
    let expected = sent * clients as u64;
    while received.load(Ordering::Relaxed) < expected && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_share(cpu_before, thread_cpu_seconds("natter-"), elapsed);
    let readers_cpu = cpu_share(
        readers_cpu_before,
        thread_cpu_seconds("bench-read"),
        elapsed,
    );
    for w in &writers {
        let _ = w.shutdown(std::net::Shutdown::Both);
    }
    let mut latencies: Vec<u32> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    latencies.sort_unstable();
    let got = latencies.len() as u64;
    println!(
        "clients={clients:4} rate={}/s/client sent={sent} deliveries={got}/{expected} \
         delivered/s={:.0} p50={:.2}ms p99={:.2}ms max={:.2}ms lost={} server_cpu={cpu} bench_readers_cpu={readers_cpu}",
        args.rate,
        got as f64 / elapsed,
        quantile_ms(&latencies, 0.50),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 1.0),
        expected.saturating_sub(got),
    );
    server.stop();
}

fn main() {
    let args = parse_args();
    println!(
        "natter load benchmark: loopback, {} s per run, {} cores",
        args.seconds,
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    for clients in args.clients.clone() {
        run(&args, clients.max(1));
    }
}
