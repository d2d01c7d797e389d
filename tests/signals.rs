//! `natter serve` as a real process told to stop by a signal: every peer gets its goodbye in its
//! own dialect, the console gets a line, and the process exits 0 within a second or so.
#![cfg(unix)]
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use common::{RawPeer, ServeProcess, WAIT};
use natter::network::protocol::ServerFrame;

/// How long the process may take to exit after the signal. It takes about 0.5 s (printed
/// below); the bound is ten times that, so a debug build on a busy 2-core machine cannot miss
/// it, while waiting out a stalled write (10 s) or an idle peer (45 s) still fails.
const EXIT_WITHIN: Duration = Duration::from_secs(5);

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
    // Greeted after its silence, it is announced with its first line (PROTOCOL.md §2).
    stream.write_all(b"\n").unwrap();
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
    let mut serve = ServeProcess::start(&[]);
    let (json, _) = RawPeer::join(serve.addr, "alice");
    serve.line_with("alice joined");
    let plain = plain_peer(serve.addr);
    serve.line_with("guest-1 joined");

    let pid = libc::pid_t::try_from(serve.child.0.id()).unwrap();
    // SAFETY: kill(2) with a pid this test started and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let sent = Instant::now();

    let frames = json.frames_until_closed();
    assert!(
        frames.iter().any(
            |f| matches!(f, ServerFrame::Bye { reason, .. } if reason.contains("stopped hosting"))
        ),
        "the JSON peer got no bye: {frames:?}"
    );
    let text = read_until_closed(plain);
    assert!(text.contains("stopped hosting"), "plain peer read {text:?}");
    let status = wait_exit(&mut serve.child.0, sent + EXIT_WITHIN)
        .unwrap_or_else(|| panic!("still running {EXIT_WITHIN:?} after the signal"));
    assert!(status.success(), "{status:?}");
    let elapsed = sent.elapsed();
    eprintln!("signal {signal}: exited {status:?} after {elapsed:?}");
    serve.line_with("stopping");
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
