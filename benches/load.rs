//! Load benchmark for the server: `natter serve` in a process of its own on 127.0.0.1, and N
//! clients in this one.
//!
//! ```text
//! cargo bench --bench load -- [--mode rate|blast|storm] --clients 10,100,500
//!     [--rate 4] [--seconds 10] [--messages 200] [--window 1024] [--io-threads 2]
//!     [--tls off|on|both] [--dialect json|ws|both]
//! cargo bench --bench load -- --against ngircd [--clients 10,100,500] [--joins 500,5000]
//!     [--rate 4] [--seconds 10] [--messages 200] [--window 1024]
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
//! `--against ngircd` runs the rate, blast and window (`--window`, 1,024 unless given)
//! scenarios at every `--clients` count and join storms of `--joins` (500,5000 unless given)
//! against `natter serve` (JSON, in the clear) and then against Debian's ngIRCd (installed with
//! apt-get when missing, on 127.0.0.1 with a private config, pinned like Natter) with IRC
//! clients, and prints a table of both servers' figures and their ratios, peak resident memory
//! (VmHWM) included.
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

use std::thread;

#[path = "common/apt.rs"]
mod apt;
#[path = "load/compare.rs"]
mod compare;
#[path = "load/irc.rs"]
mod irc;
#[path = "load/link.rs"]
mod link;
#[path = "common/procfs.rs"]
mod procfs;
#[path = "load/read.rs"]
mod read;
#[path = "load/run.rs"]
mod run;
#[path = "load/server.rs"]
mod server;
#[path = "load/ws.rs"]
mod ws;

use run::{Target, run_storm, run_traffic};
use server::keep_off_server_cpu;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Rate,
    Blast,
    Storm,
}

#[derive(Clone)]
pub(crate) struct Args {
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
    /// `--against ngircd`: every scenario against `natter serve` and ngIRCd, and the ratios.
    against_ngircd: bool,
    /// The join storms of `--against ngircd`.
    joins: Vec<usize>,
}

/// `10,100,500` as numbers; `none` (or nothing) is none.
fn numbers(list: &str) -> Vec<usize> {
    list.split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
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
        against_ngircd: false,
        joins: vec![500, 5000],
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
            "--clients" => args.clients = numbers(&value()),
            "--joins" => args.joins = numbers(&value()),
            "--against" => args.against_ngircd = value() == "ngircd",
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

fn main() {
    let args = parse_args();
    keep_off_server_cpu();
    println!(
        "natter load benchmark: loopback, server in its own process on CPU 0, bench on the rest, {} cores",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    if args.against_ngircd {
        compare::against_ngircd(&args);
        return;
    }
    for clients in args.clients.clone() {
        for &tls in &args.tls {
            // A browser's WebSocket is never TLS here (PROTOCOL.md §14).
            for &ws in args.ws.iter().filter(|&&ws| !(ws && tls)) {
                let target = Target::Natter { tls, ws };
                match args.mode {
                    // The storm is of Natter members only.
                    Mode::Storm if ws => {}
                    Mode::Storm => {
                        run_storm(&args, clients.max(1), target);
                    }
                    _ => {
                        run_traffic(&args, clients.max(1), target);
                    }
                }
            }
        }
    }
}
