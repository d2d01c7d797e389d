//! Transfer benchmark: one file through the host on 127.0.0.1 while 50 other members chat.
//!
//! ```text
//! cargo bench --bench transfer -- [--mib 1024] [--members 50] [--rate 2]
//! ```
//!
//! Linux only: it reads /proc and runs nc and socat for its baseline (not built for Windows).
//!
//! `natter serve` runs in its own process; the sender and the receiver are Natter clients in
//! processes of their own (this program, run again with `--role`), so each one's memory is
//! its own; the chatting members live in this process. Reports the transfer's throughput
//! (from Save to the checked file in place, and the sender's hashing before its offer), the
//! peak resident memory each of host, sender and receiver added during the transfer, and the
//! chat latency (send to receipt by every member) before and during the transfer.
//!
//! Before it, the same file goes through a raw relay on 127.0.0.1 (`nc` → `socat` → `nc -l`
//! writing it to disk, no TLS, no hashing; socat and netcat-openbsd installed with apt-get when
//! missing) as the baseline: the bench prints both throughputs and their ratio, and the CPU
//! seconds per GiB of host, sender and receiver for both (Natter's from /proc from the go to
//! offer, the sender's hashing included, to the checked file in place; the relay's from the
//! kernel's account of each process). Last, the crypto a gigabyte needs is timed on this
//! machine, and the best ratio to the relay its cores allow printed (`transfer/floor.rs`).
//!
//! Bounded: the transfer must end within 300 s; the chat stops with it. Loopback only; the
//! file and the download live in a temporary folder that is removed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use natter::network::client::{self, ClientCommand, ClientEvent, ConnectOptions, FileCommand};

#[path = "common/apt.rs"]
mod apt;
#[path = "transfer/floor.rs"]
mod floor;
#[path = "common/procfs.rs"]
mod procfs;
#[path = "transfer/relay.rs"]
mod relay;

const LIMIT: Duration = Duration::from_secs(300);

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// (resident kB now, threads) of a process.
fn rss_kb(pid: u32) -> u64 {
    procfs::status_field(pid, "VmRSS:")
}

/// CPU seconds (user + system) a running process has used so far.
fn cpu_s(pid: u32) -> f64 {
    procfs::cpu_seconds(pid)
}

fn connect(addr: &str, nick: &str) -> client::ClientHandle {
    let client = client::connect(
        ConnectOptions::new(addr, nick),
        natter::network::no_wake_up(),
    )
    .unwrap();
    loop {
        match client
            .events()
            .recv_timeout(LIMIT)
            .expect("connected in time")
        {
            ClientEvent::Connected { .. } => return client,
            ClientEvent::Failed(e) => panic!("{nick}: {e}"),
            _ => {}
        }
    }
}

/// The sender's process: offer the file, report when it is offered and when delivered.
fn run_sender(addr: &str, path: &Path) {
    let client = connect(addr, "sender");
    println!("ready");
    // Offer only when told: the bench takes its baselines (memory, CPU) first. A file that
    // goes through in less than the baseline's wait was otherwise gone before it was measured.
    let _ = std::io::stdin().read_line(&mut String::new());
    let started = Instant::now();
    client.send(ClientCommand::File(FileCommand::Offer {
        path: path.to_path_buf(),
        to: None,
    }));
    loop {
        match client
            .events()
            .recv_timeout(LIMIT)
            .expect("the transfer ends in time")
        {
            ClientEvent::FileOffered { ours: true, .. } => {
                println!("offered {:.3}", started.elapsed().as_secs_f64());
            }
            ClientEvent::FileDelivered { .. } => {
                println!("delivered");
                break;
            }
            ClientEvent::FileStopped { reason, .. } => panic!("sender: {reason}"),
            _ => {}
        }
    }
    client.disconnect();
}

/// The receiver's process: save the first offer, report start and end (wall clock, µs).
fn run_receiver(addr: &str, folder: &Path) {
    let client = connect(addr, "receiver");
    println!("ready");
    loop {
        match client
            .events()
            .recv_timeout(LIMIT)
            .expect("the transfer ends in time")
        {
            ClientEvent::FileOffered { offer, ours: false } => {
                println!("start {}", now_us());
                let folder = folder.to_path_buf();
                client.send(ClientCommand::File(FileCommand::Save {
                    id: offer.id,
                    folder,
                }));
            }
            ClientEvent::FileSaved { .. } => {
                println!("saved {}", now_us());
                break;
            }
            ClientEvent::FileStopped { reason, .. } => panic!("receiver: {reason}"),
            ClientEvent::LinkLost { error, .. } => eprintln!("receiver: link lost: {error}"),
            _ => {}
        }
    }
    // Stay until the bench has heard the sender's `delivered`: a receiver that leaves at once
    // can be gone before the host tells the sender, which then reads "receiver left".
    let _ = std::io::stdin().read_line(&mut String::new());
    client.disconnect();
}

/// This program again, in a role; its stdout lines come back on a channel.
fn spawn_role(role: &str, addr: &str, path: &Path) -> (Child, crossbeam_channel::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--role", role, "--addr", addr, "--path"])
        .arg(path)
        // The receiver leaves when this closes (dropped with `child.stdin`).
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn expect_line(rx: &crossbeam_channel::Receiver<String>, starts: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(LIMIT)
            .expect("the helper process answers in time");
        if line.starts_with(starts) {
            return line;
        }
    }
}

fn start_host(folder: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--no-announce",
        ])
        .args([
            "--rate",
            "100000",
            "--burst",
            "100000",
            "--max-file-mib",
            "65536",
        ])
        .args([
            "--max-per-address",
            "1000",
            "--join-burst",
            "1000",
            "--joins-per-minute",
            "100000",
        ])
        .arg("--identity")
        .arg(folder.join("host-identity.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("natter serve runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut addr = None;
    while addr.is_none() && stdout.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some((_, port)) = line.trim().split_once("listening on 127.0.0.1:") {
            addr = Some(format!("127.0.0.1:{port}"));
        }
        line.clear();
    }
    thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, addr.expect("serve says its port"))
}

/// Chat latencies (µs), each with when it was received (wall clock, µs).
type Samples = Vec<(u64, u64)>;

/// `members` Natter clients, each sending `rate` messages a second stamped with the time,
/// until `stop`; every receipt by another member is a sample.
fn chat(
    addr: &str,
    members: usize,
    rate: f64,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<Samples> {
    let addr = addr.to_string();
    thread::spawn(move || {
        let clients: Vec<_> = (0..members)
            .map(|i| connect(&addr, &format!("m{i}")))
            .collect();
        // People do not all press Enter at the same instant: the members take turns, evenly
        // spread, so that each sends `rate` a second.
        let every = Duration::from_secs_f64(1.0 / (rate.max(0.1) * members.max(1) as f64));
        let mut samples = Vec::new();
        let mut next = Instant::now();
        let mut id = 0u64;
        let deadline = Instant::now() + LIMIT;
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            while Instant::now() >= next {
                let c = &clients[id as usize % clients.len()];
                id += 1;
                c.send(ClientCommand::Send {
                    local_id: id,
                    text: format!("t{}", now_us()),
                });
                next += every;
            }
            for c in &clients {
                while let Ok(event) = c.events().try_recv() {
                    if let ClientEvent::Message {
                        message,
                        local_id: None,
                    } = event
                        && let Some(sent) = message
                            .text
                            .strip_prefix('t')
                            .and_then(|t| t.parse::<u64>().ok())
                    {
                        let at = now_us();
                        samples.push((at, at.saturating_sub(sent)));
                    }
                }
            }
            thread::sleep(Duration::from_millis(1));
        }
        samples
    })
}

fn p99_ms(mut latencies: Vec<u64>) -> (f64, f64, usize) {
    latencies.sort_unstable();
    let at = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    (at(0.5), at(0.99), latencies.len())
}

fn main() {
    if let Some(role) = arg("--role") {
        let addr = arg("--addr").unwrap();
        let path = PathBuf::from(arg("--path").unwrap());
        match role.as_str() {
            "send" => run_sender(&addr, &path),
            _ => run_receiver(&addr, &path),
        }
        return;
    }
    let mib: u64 = arg("--mib").and_then(|m| m.parse().ok()).unwrap_or(1024);
    let members: usize = arg("--members").and_then(|m| m.parse().ok()).unwrap_or(50);
    let rate: f64 = arg("--rate").and_then(|m| m.parse().ok()).unwrap_or(2.0);
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("big.bin");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let block: Vec<u8> = (0..1024 * 1024)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for i in 0..mib {
            file.write_all(&block[(i as usize % 7)..]).unwrap();
            file.write_all(&block[..(i as usize % 7)]).unwrap();
        }
    }
    // The baseline first, on the same file, while the machine is as it is now.
    let raw = relay::raw_relay(&source, work.path(), LIMIT);
    let downloads = work.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    let (mut host, addr) = start_host(work.path());
    let stop = Arc::new(AtomicBool::new(false));
    let chatting = chat(&addr, members, rate, Arc::clone(&stop));
    let (mut receiver, receiver_out) = spawn_role("receive", &addr, &downloads);
    expect_line(&receiver_out, "ready");
    let (mut sender, sender_out) = spawn_role("send", &addr, &source);
    expect_line(&sender_out, "ready");
    // Baselines once everyone is in and the chat has run a moment.
    thread::sleep(Duration::from_secs(2));
    let pids = [host.id(), sender.id(), receiver.id()];
    let base: Vec<u64> = pids.iter().map(|&p| rss_kb(p)).collect();
    let before_us = now_us();
    let cpu_before: Vec<f64> = pids.iter().map(|&p| cpu_s(p)).collect();
    writeln!(sender.stdin.as_mut().unwrap(), "go").unwrap();
    let mut peak = base.clone();
    let offered = expect_line(&sender_out, "offered");
    let start: u64 = expect_line(&receiver_out, "start")[6..].parse().unwrap();
    let saved = loop {
        for (i, &pid) in pids.iter().enumerate() {
            peak[i] = peak[i].max(rss_kb(pid));
        }
        if let Ok(line) = receiver_out.recv_timeout(Duration::from_millis(20))
            && let Some(at) = line.strip_prefix("saved ")
        {
            break at.parse::<u64>().unwrap();
        }
    };
    let cpu: Vec<f64> = (pids.iter().zip(&cpu_before))
        .map(|(&p, before)| cpu_s(p) - before)
        .collect();
    expect_line(&sender_out, "delivered");
    drop(receiver.stdin.take());
    stop.store(true, Ordering::Relaxed);
    let samples = chatting.join().unwrap();
    let _ = (sender.wait(), receiver.wait(), host.kill(), host.wait());
    let secs = (saved - start) as f64 / 1e6;
    let bytes = mib * 1024 * 1024;
    let gib = bytes as f64 / (1u64 << 30) as f64;
    let (natter_mbs, raw_mbs) = (bytes as f64 / secs / 1e6, bytes as f64 / raw.secs / 1e6);
    let quiet: Vec<u64> = samples
        .iter()
        .filter(|(at, _)| *at < before_us)
        .map(|s| s.1)
        .collect();
    let busy: Vec<u64> = samples
        .iter()
        .filter(|(at, _)| (start..=saved).contains(at))
        .map(|s| s.1)
        .collect();
    let (q50, q99, qn) = p99_ms(quiet);
    let (b50, b99, bn) = p99_ms(busy);
    let added = |i: usize| peak[i].saturating_sub(base[i]) as f64 / 1024.0;
    println!(
        "file={mib} MiB hashing_before_offer={}s transfer={secs:.2}s throughput={:.0} MB/s \
         peak_rss_added: host={:.1}MB sender={:.1}MB receiver={:.1}MB (peaks {:?} kB) \
         chat among {members} members at {rate}/s each: before p50={q50:.1}ms p99={q99:.1}ms (n={qn}), \
         during p50={b50:.1}ms p99={b99:.1}ms (n={bn})",
        offered.trim_start_matches("offered "),
        bytes as f64 / secs / 1e6,
        added(0),
        added(1),
        added(2),
        peak,
    );
    println!(
        "raw relay (nc -> socat -> nc -l to disk, no TLS, no hashing): {:.2}s {raw_mbs:.0} MB/s; \
         Natter {natter_mbs:.0} MB/s = {:.2} of the raw relay",
        raw.secs,
        natter_mbs / raw_mbs,
    );
    println!(
        "CPU s/GiB  Natter (offer to saved, the sender's hashing included; the host's includes \
         the {members} members' chat): \
         host={:.2} sender={:.2} receiver={:.2}; raw relay: socat={:.2} nc_send={:.2} nc_receive={:.2}",
        cpu[0] / gib,
        cpu[1] / gib,
        cpu[2] / gib,
        raw.cpu[0] / gib,
        raw.cpu[1] / gib,
        raw.cpu[2] / gib,
    );
    let crypto = floor::Crypto::measure();
    let relay_cpu = raw.cpu.iter().sum::<f64>() / gib;
    let least = crypto.floor(relay_cpu);
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "floor on this machine: SHA-256 {:.2} and AES-256-GCM {:.2} CPU s/GiB a pass; the relay's \
         {relay_cpu:.2} + 4 AES-GCM passes + 1 SHA-256 = {least:.2} CPU s/GiB on {cores} cores: \
         at best {:.2} of the raw relay",
        crypto.sha256,
        crypto.aes_gcm,
        floor::best_ratio(least, cores, raw.secs / gib),
    );
}
