//! The load bench's scenarios against one server: rate and blast (`run_traffic`) and the join
//! storm (`run_storm`), each against a fresh server (`natter serve`, or ngIRCd with
//! `--against ngircd`). Each prints its line and returns its figures for the comparison table.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use crate::link::{Link, connect};
use crate::read::{Readers, Tally};
use crate::server::Server;
use crate::{Args, Mode, irc};

/// The server under load and how its clients speak.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// `natter serve`; members over TLS and/or as browsers (WebSocket).
    Natter { tls: bool, ws: bool },
    /// ngIRCd, members as IRC clients.
    Ngircd,
}

impl Target {
    fn start(self, args: &Args, clients: usize) -> Server {
        match self {
            Target::Natter { .. } => Server::start(clients, args.io_threads),
            Target::Ngircd => irc::start_ngircd(clients),
        }
    }

    fn connect(self, addr: SocketAddr, nick: &str) -> Link {
        match self {
            Target::Natter { tls, ws } => connect(addr, nick, tls, ws),
            Target::Ngircd => irc::connect(addr, nick),
        }
    }

    /// How many members receive each message: Natter sends the sender its own copy too.
    pub(crate) fn recipients(self, clients: usize) -> u64 {
        match self {
            Target::Natter { .. } => clients as u64,
            Target::Ngircd => clients.saturating_sub(1).max(1) as u64,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Target::Natter { tls: true, .. } => "json tls=on ",
            Target::Natter { ws: true, .. } => "ws   tls=off",
            Target::Natter { .. } => "json tls=off",
            Target::Ngircd => "ngircd      ",
        }
    }
}

/// How long members may take to join before the traffic starts anyway.
const JOIN_LIMIT: Duration = Duration::from_secs(120);

/// What a rate or blast run measured.
#[derive(Clone, Copy, Default)]
pub(crate) struct Traffic {
    /// Copies delivered to members other than the sender, a second.
    pub(crate) to_others_per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) lost: u64,
    pub(crate) dropped: usize,
    /// The server's CPU time over the wall time of the run (1.0 = one core).
    pub(crate) busy: f64,
    /// The server's peak resident memory (VmHWM), kB.
    pub(crate) peak_kb: u64,
}

/// What a join storm measured.
#[derive(Clone, Copy, Default)]
pub(crate) struct Storm {
    /// Seconds from the first connect until every member has seen everyone.
    pub(crate) all_ready_s: f64,
    pub(crate) ready: usize,
    pub(crate) peak_kb: u64,
}

/// One pacer for everyone, round robin: `rate` a second per client, or as fast as the
/// window allows (`may_send` says whether one more may go now), until `cap` messages are sent
/// or `until`. Ending at the cap lets a window run end when its messages are delivered, not
/// at `until`, so its deliveries a second are those of the work and not of the wait.
fn pace(
    writers: &mut [Link],
    base: Instant,
    until: Instant,
    cap: u64,
    mut may_send: impl FnMut(u64, Duration) -> bool,
) -> u64 {
    let start = Instant::now();
    let mut sent = 0u64;
    while Instant::now() < until && sent < cap {
        if !may_send(sent, start.elapsed()) {
            thread::sleep(Duration::from_micros(200));
            continue;
        }
        let i = (sent % writers.len() as u64) as usize;
        if !{
            let line = writers[i].chat_line(base);
            writers[i].write_whole(&line, until)
        } {
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
                        let batch: Vec<u8> = (0..batch_len)
                            .flat_map(|_| stream.chat_line(base))
                            .collect();
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
pub(crate) fn run_traffic(args: &Args, clients: usize, target: Target) -> Traffic {
    let server = target.start(args, clients);
    let recipients = target.recipients(clients);
    let base = Instant::now();
    let tally = Arc::new(Tally::default());
    let send_for = Duration::from_secs_f64(args.seconds);
    // Joining has a bound of its own: ngIRCd's listen backlog of 10 overflows while members
    // join one after another, and each dropped SYN costs the kernel's 1 s retry (500 members
    // took 35 s), which must not eat the time the readers count deliveries in.
    let joined_by = Instant::now() + JOIN_LIMIT;
    let until = joined_by + send_for + Duration::from_secs(30);
    let mut readers = Readers::start(clients, base, &tally, until);
    let mut writers: Vec<Link> = (0..clients)
        .map(|i| {
            let link = target.connect(server.addr, &format!("c{i}"));
            readers.add(&link);
            link
        })
        .collect();
    wait_for(joined_by, || tally.ready.load(Ordering::Relaxed) >= clients);
    let joined_in = base.elapsed().as_secs_f64();
    let (_, _, cpu_before) = server.stats();
    let start = Instant::now();
    let send_until = start + send_for;
    let delivered_by = send_until + Duration::from_secs(30);
    let sent = match (args.mode, args.window) {
        (Mode::Blast, None) => blast_all(&writers, args.messages, base, send_until),
        (Mode::Blast, Some(window)) => {
            let cap = (args.messages * clients) as u64;
            let tally = Arc::clone(&tally);
            pace(&mut writers, base, send_until, cap, move |sent, _| {
                let delivered = tally.deliveries.load(Ordering::Relaxed) / recipients;
                sent < delivered + window
            })
        }
        _ => {
            let total_rate = clients as f64 * args.rate;
            pace(
                &mut writers,
                base,
                send_until,
                u64::MAX,
                move |sent, elapsed| (sent as f64) < elapsed.as_secs_f64() * total_rate,
            )
        }
    };
    let expected = sent * recipients;
    wait_for(delivered_by, || {
        tally.deliveries.load(Ordering::Relaxed) >= expected
            || tally.dropped.load(Ordering::Relaxed) > 0
                && Instant::now() > send_until + Duration::from_secs(3)
    });
    // Until the last delivery was read when all arrived (a blast at N=10 lasts a few
    // milliseconds, so the 5 ms poll above would be a large share of it), else until now.
    let got = tally.deliveries.load(Ordering::Relaxed);
    let elapsed = if got >= expected {
        let last = Duration::from_micros(tally.last_delivery_us.load(Ordering::Relaxed));
        (base + last).saturating_duration_since(start).as_secs_f64()
    } else {
        start.elapsed().as_secs_f64()
    };
    let (rss_kb, threads, cpu_after) = server.stats();
    let peak_kb = server.peak_kb();
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
        "{} clients={clients:4} joined_in={joined_in:.2}s sent={sent} deliveries={got}/{expected} delivered/s={:.0} \
         p50={:.2}ms p99={:.2}ms max={:.2}ms lost={} dropped={} server_cpu={cpu:.2}s \
         ({:.0}% of one core, {:.0} ns/delivery) rss={} MB peak_rss={} MB threads={threads}",
        target.label(),
        got as f64 / elapsed,
        quantile_ms(&latencies, 0.50),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 1.0),
        expected.saturating_sub(got),
        dropped,
        cpu / elapsed * 100.0,
        cpu * 1e9 / got.max(1) as f64,
        rss_kb / 1024,
        peak_kb / 1024,
    );
    // Natter's copy to the sender is left out, so that both servers count the same copies.
    let to_others = got.saturating_sub(if recipients == clients as u64 {
        sent.min(got)
    } else {
        0
    });
    Traffic {
        to_others_per_s: to_others as f64 / elapsed,
        p50_ms: quantile_ms(&latencies, 0.50),
        p99_ms: quantile_ms(&latencies, 0.99),
        lost: expected.saturating_sub(got),
        dropped,
        busy: cpu / elapsed,
        peak_kb,
    }
}

/// The storm mode: everyone connects at once.
pub(crate) fn run_storm(args: &Args, clients: usize, target: Target) -> Storm {
    let server = target.start(args, clients);
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
    let connecting = if matches!(target, Target::Natter { tls: true, .. }) {
        16
    } else {
        4
    };
    let connectors: Vec<_> = (0..connecting)
        .map(|t| {
            let addr = server.addr;
            let readers = Arc::clone(&readers);
            thread::spawn(move || {
                // Bounded: a server that takes connections slowly gets no more after `until`.
                (t..clients)
                    .step_by(connecting)
                    .take_while(|_| Instant::now() < until)
                    .map(|i| {
                        let link = target.connect(addr, &format!("s{i}"));
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
    let peak_kb = server.peak_kb();
    let ready_count = tally.ready.load(Ordering::Relaxed);
    println!(
        "{} clients={clients:5} connected_in={:.2}s 99%_ready_in={:.2}s all_ready_in={:.2}s \
         ready={}/{clients} dropped={dropped} \
         rss_empty={:.1}MB rss_with_all={:.1}MB per_member={}B threads={threads} \
         rss_after_all_left={:.1}MB threads_after={threads_after} peak_rss={:.1}MB",
        target.label(),
        connected.as_secs_f64(),
        ready_99.as_secs_f64(),
        ready.as_secs_f64(),
        ready_count,
        rss_empty as f64 / 1024.0,
        rss_full as f64 / 1024.0,
        rss_full.saturating_sub(rss_empty) * 1024 / clients.max(1) as u64,
        rss_after as f64 / 1024.0,
        peak_kb as f64 / 1024.0,
    );
    Storm {
        all_ready_s: ready.as_secs_f64(),
        ready: ready_count,
        peak_kb,
    }
}
