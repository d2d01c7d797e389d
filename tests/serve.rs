//! `natter serve`, the headless host, as a real process on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Killed, RawPeer, WAIT};

#[test]
fn serve_prints_where_to_connect_then_one_line_per_event() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--name",
            "Lab",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _child = Killed(child);
    // A thread turns lines into a channel, so every wait has a timeout.
    let (tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                return;
            }
        }
    });
    let next_until = |needle: &str| -> String {
        loop {
            let line = lines
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    assert!(next_until("People can connect to").contains("Natter is hosting"));
    let listening = next_until("listening on 127.0.0.1:");
    let port: u16 = listening
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (mut alice, _) = RawPeer::join(([127, 0, 0, 1], port).into(), "alice");
    assert!(next_until("alice joined").contains("(Natter)"));
    alice.say("hello from a test", "1");
    assert!(next_until("alice: hello from a test").contains('#'));
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
        "--flusher-threads",
    ] {
        assert!(text.contains(option), "{option} missing from: {text}");
    }
}
