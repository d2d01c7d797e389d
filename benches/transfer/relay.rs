//! The transfer bench's baseline: the same file through a raw relay on 127.0.0.1, `nc` →
//! `socat` → `nc -l` writing it to disk, with no TLS, no hashing and no framing, so that
//! Natter's throughput is read as a share of what this machine's loopback, page cache and disk
//! carry in the same minutes. socat stands where the host stands, the two nc where the sender
//! and the receiver do. The programs are Debian's (`socat`, `netcat-openbsd`), installed when
//! missing. Natter's own transfer is `transfer.rs`'s.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::apt::ensure_installed;

/// What the relay measured.
pub(crate) struct Relay {
    pub(crate) secs: f64,
    /// CPU seconds (user + system) of the relay (socat), the sender and the receiver (nc).
    pub(crate) cpu: [f64; 3],
}

/// Two different ports on 127.0.0.1 that nothing listens on right now (nc and socat take no
/// port 0): both probes are held until both are chosen, or the kernel may give one port twice.
fn free_ports() -> (u16, u16) {
    let one = TcpListener::bind("127.0.0.1:0").unwrap();
    let two = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    (port(&one), port(&two))
}

/// Waits for `child` to end (by `until`, else kills it) and returns its CPU seconds from the
/// kernel's account of it (wait4's rusage: the process is gone, /proc has nothing left).
/// The child must not have been waited for (std's wait and try_wait reap it).
/// Also says whether it exited with success.
pub(crate) fn reap(child: &mut Child, until: Instant) -> (f64, bool) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: plain libc call on our own child's pid with valid pointers.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if done == pid || done < 0 {
            break;
        }
        if Instant::now() > until {
            let _ = child.kill();
        }
        thread::sleep(Duration::from_millis(5));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let success = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (seconds(usage.ru_utime) + seconds(usage.ru_stime), success)
}

/// Relays `source` into a file in `work` (removed afterwards) and times it from the sender's
/// start until the receiver has written the last byte and ended.
pub(crate) fn raw_relay(source: &Path, work: &Path, limit: Duration) -> Relay {
    ensure_installed("socat", "socat", "-V");
    ensure_installed("nc", "netcat-openbsd", "-h");
    let until = Instant::now() + limit;
    let (receiver_port, relay_port) = free_ports();
    let copy = work.join("relayed.bin");
    // -d: the receiver reads nothing from its stdin, and ends when the relay closes.
    let mut receiver = Command::new("nc")
        .args(["-d", "-l", "127.0.0.1", &receiver_port.to_string()])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&copy).unwrap())
        .spawn()
        .expect("nc runs");
    // A probe connection would be the listener's one connection: look in /proc instead.
    wait_port_in_proc(receiver_port, until);
    let mut relay = Command::new("socat")
        .arg(format!("TCP-LISTEN:{relay_port},bind=127.0.0.1,reuseaddr"))
        .arg(format!("TCP:127.0.0.1:{receiver_port}"))
        .stdin(Stdio::null())
        .spawn()
        .expect("socat runs");
    wait_port_in_proc(relay_port, until);
    let started = Instant::now();
    // -N: shut the connection down at the end of the file, so the relay and receiver end.
    let mut sender = Command::new("nc")
        .args(["-N", "127.0.0.1", &relay_port.to_string()])
        .stdin(std::fs::File::open(source).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .expect("nc runs");
    let receiver_cpu = reap(&mut receiver, until);
    let secs = started.elapsed().as_secs_f64();
    let sender_cpu = reap(&mut sender, until);
    let relay_cpu = reap(&mut relay, until);
    assert!(relay_cpu.1, "socat failed (its error is above)");
    let (sent, got) = (
        std::fs::metadata(source).map_or(0, |m| m.len()),
        std::fs::metadata(&copy).map_or(0, |m| m.len()),
    );
    let _ = std::fs::remove_file(&copy);
    assert_eq!(got, sent, "the raw relay delivered {got} of {sent} bytes");
    Relay {
        secs,
        cpu: [relay_cpu.0, sender_cpu.0, receiver_cpu.0],
    }
}

/// Waits until a socket listens on 127.0.0.1:`port`, read from /proc/net/tcp so that no probe
/// connection takes the listener's one connection.
fn wait_port_in_proc(port: u16, until: Instant) {
    let wanted = format!("0100007F:{port:04X}");
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        // State 0A is LISTEN.
        if table.lines().any(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&"0A")
        }) {
            return;
        }
        assert!(
            Instant::now() < until,
            "nothing listens on 127.0.0.1:{port}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}
