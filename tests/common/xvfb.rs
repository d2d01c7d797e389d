//! A private X server (Xvfb) for tests of the real binary in a real window, and whether a
//! tool they need is there (outside CI a missing one skips the test; under CI it fails).

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;

use super::{Killed, WAIT};

/// `CI` set to anything but empty, `0` or `false`: the test must run, not skip.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

pub fn found(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts Xvfb on a display it picks itself (`-displayfd`), so two runs never race for a
/// display number. Xvfb writes the number to the fd once it accepts connections; here that fd
/// is its stdout, a pipe read with a timeout.
pub fn start_xvfb() -> (Killed, String) {
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    let xvfb = Killed(
        Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
                // No reset when the last client goes: the accessibility bus's address is a
                // property of the root window, which a reset would clear.
                "-noreset",
            ])
            .stdout(writer)
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts"),
    );
    let (number_tx, number) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        // Xvfb keeps the pipe open: read up to the newline after the number.
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while reader.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
            text.push(byte[0]);
        }
        let _ = number_tx.send(String::from_utf8_lossy(&text).trim().to_string());
    });
    let number = number
        .recv_timeout(WAIT)
        .expect("Xvfb announced its display number");
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "Xvfb did not start: it wrote {number:?} instead of a display number"
    );
    (xvfb, format!(":{number}"))
}
