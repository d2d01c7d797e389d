//! The server side of the load bench: `natter serve` as a process of its own, pinned to one
//! CPU while the bench keeps to the others.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::thread;

use crate::procfs;

/// With two cores or more the server runs on this one and the bench on the others, so the
/// clients' work does not land on the server's core.
pub(crate) const SERVER_CPU: usize = 0;

/// Whether to pin at all (`BENCH_NO_PIN=1` lets the scheduler place everything, as on a
/// desktop).
fn pinning() -> bool {
    std::env::var_os("BENCH_NO_PIN").is_none()
}

/// Pins the child to CPU `cpu` (Linux), and has the kernel kill it when the bench's main
/// thread ends, so that a server outlives no bench, not even one that was killed or aborted.
pub(crate) fn pin_to(command: &mut Command, cpu: usize) {
    let pin = pinning();
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl and sched_setaffinity are async-signal-safe and touch only the child.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if pin {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            }
            Ok(())
        });
    }
}

/// Keeps this process (and the threads it starts later) off the server's CPU.
pub(crate) fn keep_off_server_cpu() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || !pinning() {
        return;
    }
    // SAFETY: plain libc calls on a zeroed cpu_set_t owned here.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in (0..cores).filter(|&c| c != SERVER_CPU) {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A server on 127.0.0.1 (`natter serve`, or ngIRCd: see `irc.rs`), killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// Holds the server's files (Natter's identity, ngIRCd's config): never the user's own.
    pub(crate) _dir: tempfile::TempDir,
}

impl Server {
    /// Room for everyone, joins from one address allowed, a rate limit no sender reaches.
    pub(crate) fn start(clients: usize, io_threads: Option<usize>) -> Server {
        let room = (clients + 16).to_string();
        // NATTER_BIN compares another build (an older commit's) on the same bench.
        let bin = std::env::var("NATTER_BIN")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or(env!("CARGO_BIN_EXE_natter").into());
        let mut threads: Vec<String> = io_threads
            .map(|n| vec!["--io-threads".into(), n.to_string()])
            .unwrap_or_default();
        if let Ok(ms) = std::env::var("NATTER_COALESCE_MS") {
            threads.extend(["--coalesce-ms".into(), ms]);
        }
        let identity = tempfile::tempdir().unwrap();
        let mut command = Command::new(bin);
        pin_to(&mut command, SERVER_CPU);
        // An older build (NATTER_BIN) has no identity and speaks no TLS.
        if std::env::var_os("NATTER_BIN").is_none() {
            command
                .arg("serve")
                .arg("--identity")
                .arg(identity.path().join("host-identity.pem"));
        } else {
            command.arg("serve");
        }
        let mut child = command
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(["--max-clients", &room, "--max-per-address", &room])
            .args(["--join-burst", &room, "--joins-per-minute", "1000000"])
            .args(["--rate", "100000", "--burst", "100000"])
            .args(&threads)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("target/release/natter runs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut port = None;
        let mut line = String::new();
        while port.is_none() && stdout.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some((_, p)) = line.trim().split_once("listening on 127.0.0.1:") {
                port = p.parse().ok();
            }
            line.clear();
        }
        // The server prints a line per join and leave: read them so it never waits on us.
        thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port.expect("serve says its port"))),
            _dir: identity,
        }
    }

    /// The server's peak resident memory so far (VmHWM), in kB.
    pub(crate) fn peak_kb(&self) -> u64 {
        procfs::status_field(self.child.id(), "VmHWM:")
    }

    /// (resident kB, threads, CPU seconds) of the server process.
    pub(crate) fn stats(&self) -> (u64, u64, f64) {
        let pid = self.child.id();
        (
            procfs::status_field(pid, "VmRSS:"),
            procfs::status_field(pid, "Threads:"),
            procfs::cpu_seconds(pid),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
