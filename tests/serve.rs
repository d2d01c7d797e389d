//! `natter serve`, the headless host, as a real process on 127.0.0.1 with port 0.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
