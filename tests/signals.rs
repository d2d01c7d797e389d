//! `natter serve` as a real process told to stop by a signal: every peer gets its goodbye in its
//! own dialect, the console gets a line, and the process exits 0 within a second or so.
#![cfg(unix)]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{Killed, RawPeer, WAIT};
use crossbeam_channel::Receiver;
use natter::network::protocol::ServerFrame;

/// How long the process may take to exit after the signal (the issue asks for 1 s; a little
/// more for a loaded machine).
const EXIT_WITHIN: Duration = Duration::from_millis(1500);

/// Starts `natter serve` on 127.0.0.1, port 0; returns it, its address and its stdout lines.
fn start_serve() -> (Killed, SocketAddr, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args(["serve", "--bind", "127.0.0.1", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                return;
            }
        }
    });
    let listening = next_line_with(&lines, "listening on 127.0.0.1:");
    let port: u16 = listening
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (Killed(child), ([127, 0, 0, 1], port).into(), lines)
}

fn next_line_with(lines: &Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line with {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

/// A plain-text peer that has read its greeting.
fn plain_peer(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("You are guest-") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the greeting");
        seen.extend_from_slice(&buf[..n]);
    }
    stream
}

/// Everything the plain peer reads until the server closes the connection.
fn read_until_closed(mut stream: TcpStream) -> String {
    let mut text = Vec::new();
    let _ = stream.read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

fn wait_exit(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` with a JSON and a plain peer in the room and checks what each one gets.
fn stop_with(signal: libc::c_int) {
    let (mut child, addr, lines) = start_serve();
    let (json, _) = RawPeer::join(addr, "alice");
    next_line_with(&lines, "alice joined");
    let plain = plain_peer(addr);
    next_line_with(&lines, "guest-1 joined");

    let pid = libc::pid_t::try_from(child.0.id()).unwrap();
    // SAFETY: kill(2) with a pid this test started and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let sent = Instant::now();

    let frames = json.frames_until_closed();
    assert!(
        frames.iter().any(
            |f| matches!(f, ServerFrame::Bye { reason } if reason.contains("stopped hosting"))
        ),
        "the JSON peer got no bye: {frames:?}"
    );
    let text = read_until_closed(plain);
    assert!(text.contains("stopped hosting"), "plain peer read {text:?}");
    let status = wait_exit(&mut child.0, sent + EXIT_WITHIN)
        .unwrap_or_else(|| panic!("still running {EXIT_WITHIN:?} after the signal"));
    assert!(status.success(), "{status:?}");
    let elapsed = sent.elapsed();
    eprintln!("signal {signal}: exited {status:?} after {elapsed:?}");
    next_line_with(&lines, "stopping");
}

#[test]
fn sigint_says_bye_to_both_dialects_logs_and_exits_0_promptly() {
    stop_with(libc::SIGINT);
}

#[test]
fn sigterm_says_bye_to_both_dialects_logs_and_exits_0_promptly() {
    stop_with(libc::SIGTERM);
}

#[test]
fn sighup_says_bye_to_both_dialects_logs_and_exits_0_promptly() {
    stop_with(libc::SIGHUP);
}
