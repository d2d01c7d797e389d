//! Processes the tests start: `natter serve` as a real process on 127.0.0.1 with port 0
//! ([`ServeProcess`]), and any child killed and reaped however the test ends ([`Killed`]).

use std::net::SocketAddr;
use std::thread;

use crossbeam_channel::Receiver;

use super::WAIT;

/// A child process killed and reaped when the test ends, however it ends.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `natter serve` on 127.0.0.1, port 0, killed when dropped, with its stdout as raw
/// lines on a channel (raw, so tests can look for control bytes).
pub struct ServeProcess {
    pub child: Killed,
    pub addr: SocketAddr,
    lines: Receiver<Vec<u8>>,
    /// Every line read so far, in order.
    pub printed: Vec<Vec<u8>>,
    /// Its standard input (room commands, one a line); `None` once closed.
    pub stdin: Option<std::process::ChildStdin>,
    _identity_dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts `natter serve --bind 127.0.0.1 --port 0` plus `extra` arguments and waits for
    /// the line that says where it listens.
    pub fn start(extra: &[&str]) -> ServeProcess {
        use std::io::BufRead;
        // The host identity goes to a folder of this test's own, never the user's settings.
        let identity_dir = tempfile::tempdir().expect("a temporary folder");
        let identity = identity_dir.path().join("host-identity.pem");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_natter"));
        command
            .args(["serve", "--bind", "127.0.0.1", "--port", "0"])
            // Never a datagram from a test outside a network namespace of its own.
            .arg("--no-announce");
        if !extra.contains(&"--identity") {
            command.arg("--identity").arg(&identity);
        }
        let mut child = command
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the natter binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdin = child.stdin.take();
        let (tx, lines) = crossbeam_channel::unbounded();
        thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) if tx.send(line).is_err() => return,
                    Ok(_) => {}
                }
            }
        });
        let mut serve = ServeProcess {
            child: Killed(child),
            _identity_dir: identity_dir,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            printed: Vec::new(),
            stdin,
        };
        let listening = serve.line_with("listening on 127.0.0.1:");
        let port = listening
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok());
        serve
            .addr
            .set_port(port.expect("a port after 'listening on'"));
        serve
    }

    /// Types `line` into its standard input, as the person hosting would.
    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("standard input still open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("natter serve reads its standard input");
        stdin.flush().expect("flushed");
    }

    /// Waits (up to WAIT) for the next printed line containing `needle` and returns it.
    pub fn line_with(&mut self, needle: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(WAIT).unwrap_or_else(|_| {
                let printed: Vec<_> = self
                    .printed
                    .iter()
                    .map(|l| String::from_utf8_lossy(l))
                    .collect();
                panic!("natter serve printed no {needle:?}; it printed {printed:?}")
            });
            self.printed.push(line.clone());
            let text = String::from_utf8_lossy(&line).into_owned();
            if text.contains(needle) {
                return text;
            }
        }
    }
}
