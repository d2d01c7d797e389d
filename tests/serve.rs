//! `natter serve`, the headless host, as a real process on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use common::{RawPeer, ServeProcess};

#[test]
fn serve_prints_where_to_connect_then_one_line_per_event() {
    let mut serve = ServeProcess::start(&["--name", "Lab"]);
    let banner = serve
        .printed
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned());
    assert!(
        banner
            .into_iter()
            .any(|l| l.contains("People can connect to") && l.contains("Natter is hosting")),
        "the first lines say where to connect"
    );
    let (mut alice, _) = RawPeer::join(serve.addr, "alice");
    assert!(
        serve
            .line_with("alice joined")
            .contains("(Natter, not encrypted)")
    );
    alice.say("hello from a test", "1");
    assert!(serve.line_with("alice: hello from a test").contains('#'));
}

#[test]
fn help_explains_every_command() {
    let help = Command::new(env!("CARGO_BIN_EXE_natter"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("serve"), "{text}");
    assert!(text.contains("--host"), "{text}");
    let help = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for option in [
        "--bind",
        "--port",
        "--name",
        "--max-clients",
        "--max-per-address",
        "--join-burst",
        "--joins-per-minute",
        "--rate",
        "--max-line-bytes",
        "--io-threads",
    ] {
        assert!(text.contains(option), "{option} missing from: {text}");
    }
}

/// The line that took down an I/O thread: `/nic` + U+212A KELVIN SIGN + ` bob` (its lowercase
/// is 2 bytes shorter, and the line was cut at the lowercase's offsets). After it, every new
/// connection, on every I/O thread, is greeted, and the room still flows to everyone.
#[test]
fn after_the_kelvin_line_from_nc_every_io_thread_greets_newcomers_and_relays() {
    const IO_THREADS: usize = 2;
    let mut serve = ServeProcess::start(&["--io-threads", &IO_THREADS.to_string()]);
    let mut mallory = RawPeer::connect(serve.addr);
    mallory.send_raw(b"/nick mallory\n");
    mallory.text_until("is now mallory");
    mallory.send_raw("/nic\u{212A} bob\n/who\n".as_bytes());
    // Connection ids go round the threads: 3 × IO_THREADS newcomers land on each of them.
    let mut newcomers = Vec::new();
    for i in 0..3 * IO_THREADS {
        let mut peer = RawPeer::connect(serve.addr);
        peer.send_raw(format!("/nick p{i}\n").as_bytes());
        let seen = peer.text_until(&format!("is now p{i}"));
        assert!(seen.contains("Welcome to Natter"), "p{i} got {seen:?}");
        newcomers.push(peer);
    }
    // Mallory's own thread answers too (a plain sender is not echoed its own line).
    mallory.text_until("* Online");
    newcomers[0].send_raw(b"still flowing\n");
    for peer in &newcomers[1..] {
        peer.text_until("p0: still flowing");
    }
    mallory.text_until("p0: still flowing");
    // The line was said as typed (the console shows it cleaned, as every message).
    serve.line_with("mallory: /nic\u{212A} bob");
}
