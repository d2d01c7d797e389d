//! The real `natter` binary in a real window under Xvfb, found, read and driven the way a
//! screen reader does (issue 29, "a screen reader hears it all"): over AT-SPI, on a private
//! session bus with accessibility switched on (`org.a11y.Status` `IsEnabled` and
//! `ScreenReaderEnabled`), through Debian's python3-pyatspi (tests/atspi/driver.py). A peer on
//! 127.0.0.1 is the other side of the conversation. Needs Xvfb, dbus-daemon and pyatspi for
//! /usr/bin/python3 (scripts/setup.sh installs them): without them the test says so and
//! passes; with `CI` set it fails instead.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::thread;
use std::time::Duration;

use crossbeam_channel::Receiver;
use serde_json::json;

use crate::common;

use common::xvfb::{found, on_ci, start_xvfb};
use common::{Killed, RawPeer, WAIT, chat_of};

/// Debian's Python, the one its python3-pyatspi is for (a `python3` earlier on PATH, such as a
/// pyenv one, has no pyatspi).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The driver gives up on any one wait after 30 s; this is longer, so its own words come first.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// What is missing to run the test, in words, if anything.
fn missing_tools() -> Option<String> {
    for tool in ["Xvfb", "dbus-daemon"] {
        if !found(tool) {
            return Some(format!("{tool} not found"));
        }
    }
    let pyatspi = Command::new(SYSTEM_PYTHON)
        .args(["-c", "import pyatspi"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!pyatspi).then(|| format!("{SYSTEM_PYTHON} cannot import pyatspi (python3-pyatspi)"))
}

/// A session bus of the test's own (`dbus-daemon --session`), and its address. The
/// accessibility bus is started on it when first asked for, and ends with it.
fn start_session_bus() -> (Killed, String) {
    let mut daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon starts");
    let stdout = daemon.stdout.take().unwrap();
    let daemon = Killed(daemon);
    let (address_tx, address) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = address_tx.send(line.trim().to_string());
    });
    let address = address
        .recv_timeout(WAIT)
        .expect("dbus-daemon printed its address");
    assert!(
        address.starts_with("unix:"),
        "dbus-daemon printed {address:?}"
    );
    (daemon, address)
}

/// tests/atspi/driver.py, answering one line per command.
struct Driver {
    _child: Killed,
    stdin: ChildStdin,
    answers: Receiver<String>,
}

impl Driver {
    fn start(display: &str, bus: &str) -> Driver {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/atspi/driver.py");
        let mut child = Command::new(SYSTEM_PYTHON)
            .arg(script)
            .env("DISPLAY", display)
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (answer_tx, answers) = crossbeam_channel::unbounded();
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = answer_tx.send(line);
            }
        });
        Driver {
            _child: Killed(child),
            stdin,
            answers,
        }
    }

    /// Runs one command (see driver.py) and returns its result; panics with the driver's
    /// words if it failed.
    fn run(&mut self, command: serde_json::Value) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let answer = self
            .answers
            .recv_timeout(ANSWER_WAIT)
            .unwrap_or_else(|_| panic!("the driver did not answer {command}"));
        match answer.strip_prefix("ok") {
            Some(result) => result.trim_start().to_string(),
            None => panic!("over AT-SPI, could not {command}: {answer}"),
        }
    }
}

#[test]
fn a_screen_reader_finds_the_window_box_settings_and_people_list_by_name_reads_a_message_with_its_sender_and_sends_one()
 {
    if let Some(missing) = missing_tools() {
        assert!(
            !on_ci(),
            "{missing}, and CI is set so this test may not skip: run scripts/setup.sh"
        );
        // Straight to stderr: eprintln! would be captured, and hidden, for a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "screen reader test skipped: {missing}; install with scripts/setup.sh \
             (with CI=true this fails instead)"
        );
        return;
    }
    let (_xvfb, display) = start_xvfb();
    let (_bus, bus) = start_session_bus();
    let mut reader = Driver::start(&display, &bus);
    // As a desktop does when its screen reader starts, before any application comes.
    reader.run(json!({"do": "enable"}));
    let home = tempfile::tempdir().unwrap();
    let _natter = Killed(
        Command::new(env!("CARGO_BIN_EXE_natter"))
            .arg("--no-announce")
            .env_remove("NATTER_RENDERER")
            .env_remove("WAYLAND_DISPLAY")
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    assert_eq!(reader.run(json!({"do": "window"})), "Natter");
    let port = reader.run(json!({"do": "host", "nick": "zoe"}));
    assert_eq!(reader.run(json!({"do": "window"})), "Natter — zoe's room");
    let role_of = |reader: &mut Driver, name: &str, roles: &[&str]| {
        reader.run(json!({"do": "role_of", "name": name, "roles": roles}))
    };
    assert_eq!(
        role_of(&mut reader, "Message to the room", &["entry", "text"]),
        "entry"
    );
    assert_eq!(
        role_of(&mut reader, "Settings", &["push button"]),
        "push button"
    );
    assert_eq!(
        role_of(&mut reader, "People in the room", &["list", "panel"]),
        "list"
    );

    let (mut amy, _) = RawPeer::join(format!("127.0.0.1:{port}").parse().unwrap(), "amy");
    let people = reader.run(json!({"do": "people", "with": "amy"}));
    assert!(people.starts_with("zoe,amy"), "the list read {people:?}");
    amy.say("hello from amy", "a1");
    let line = reader.run(json!({"do": "see", "text": "hello from amy"}));
    assert!(
        line.ends_with("amy: hello from amy"),
        "a message is read with its sender: {line:?}"
    );

    reader.run(json!({"do": "say", "text": "hi amy, from a screen reader"}));
    let sent = amy.frame_where(|f| chat_of(f).filter(|m| m.from == "zoe"));
    assert_eq!(sent.text, "hi amy, from a screen reader");
    reader.run(json!({"do": "see", "text": "zoe: hi amy, from a screen reader"}));
}
