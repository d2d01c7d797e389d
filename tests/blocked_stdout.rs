//! `natter serve` whose stdout nobody reads (`natter serve | less`, or Ctrl+S in a terminal):
//! the server goes on serving, its memory stays bounded, and once the output flows again it
//! says how many lines it dropped. Linux only: it reads the process's memory from /proc.
#![cfg(target_os = "linux")]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{Killed, RawPeer, WAIT, chat_of};

const MESSAGES: usize = 1500;
const MESSAGE_BYTES: usize = 24 * 1024;

/// Resident memory of process `pid`, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn with_stdout_unread_the_server_answers_memory_stays_bounded_and_drops_are_counted() {
    // The host identity goes to this test's own folder, never the user's settings.
    let identity = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args(["serve", "--bind", "127.0.0.1", "--port", "0"])
        .args(["--rate", "100000", "--burst", "100000"])
        .arg("--identity")
        .arg(identity.path().join("host-identity.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Killed(child);
    let pid = child.0.id();
    // Read up to the address, then stop reading: the pipe fills and stays full.
    let mut line = String::new();
    while !line.contains("listening on 127.0.0.1:") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no address printed"
        );
    }
    let port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    let addr = ([127, 0, 0, 1], port).into();

    let (mut alice, _) = RawPeer::join(addr, "alice");
    let before = rss_kb(pid);
    let text = "x".repeat(MESSAGE_BYTES);
    for i in 0..MESSAGES {
        alice.say(&text, &i.to_string());
    }
    let last = (MESSAGES - 1).to_string();
    alice.frame_where(|f| chat_of(f).filter(|m| m.client_id.as_deref() == Some(last.as_str())));
    let grown_mb = rss_kb(pid).saturating_sub(before) / 1024;
    let output_mb = MESSAGES * MESSAGE_BYTES / (1024 * 1024);
    eprintln!("{output_mb} MB of console output blocked; memory grew {grown_mb} MB");
    assert!(grown_mb < 20, "memory grew {grown_mb} MB");

    let asked = Instant::now();
    let (bob, _) = RawPeer::join(addr, "bob");
    let answered = asked.elapsed();
    eprintln!("a new peer was let in after {answered:?}");
    assert!(answered < WAIT);

    // The output flows again: what was dropped is counted.
    let (tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WAIT;
    let dropped = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("no dropped-lines notice");
        if line.contains("lines dropped: output was blocked") {
            break line;
        }
    };
    eprintln!("{dropped}");
    drop((alice, bob));
}
