//! `RUST_LOG`: the real `natter serve` logs a connection's life on stderr when asked, and
//! prints nothing there when not.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use crossbeam_channel::Receiver;

/// Long enough for a loaded CI machine, short enough that a hang fails fast.
const WAIT: Duration = Duration::from_secs(10);

/// `natter serve` on 127.0.0.1:0 with stdout and stderr each as lines on a channel; killed
/// when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    _identity_dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                // Lossy on purpose: an escape byte stays visible as itself.
                Ok(_)
                    if tx
                        .send(String::from_utf8_lossy(&line).into_owned())
                        .is_err() =>
                {
                    return;
                }
                Ok(_) => {}
            }
        }
    });
    rx
}

/// The next line of `lines` containing `needle`, or a panic naming what came instead.
fn line_with(lines: &Receiver<String>, needle: &str, what: &str) -> String {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(WAIT) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no {needle:?} on {what} ({e}); it printed {seen:?}"),
        }
    }
}

impl Serve {
    /// Starts it with `RUST_LOG` set to `rust_log`, or removed for `None`.
    fn start(rust_log: Option<&str>) -> Serve {
        let identity_dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_natter"));
        command
            .args([
                "serve",
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--no-announce",
            ])
            .arg("--identity")
            .arg(identity_dir.path().join("host-identity.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let mut child = command.spawn().expect("the natter binary starts");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        let listening = line_with(&stdout, "listening on 127.0.0.1:", "stdout");
        let port: u16 = listening
            .trim()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        Serve {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stdout,
            stderr,
            _identity_dir: identity_dir,
        }
    }

    /// A plain-text peer (as `nc`) joins, tries a nickname with a terminal escape in it, and
    /// leaves; returns once the console said it left.
    fn plain_peer_comes_and_goes(&self) {
        let mut peer = TcpStream::connect(self.addr).unwrap();
        peer.set_read_timeout(Some(WAIT)).unwrap();
        peer.write_all(b"hello everyone\n").unwrap();
        line_with(&self.stdout, "joined from", "stdout");
        peer.write_all(b"/nick \x1b[2Jmallory\n").unwrap();
        peer.write_all(b"/quit\n").unwrap();
        // Everything the host says until it closes: the quit was handled.
        let mut rest = Vec::new();
        let _ = peer.read_to_end(&mut rest);
        line_with(&self.stdout, " left", "stdout");
    }
}

#[test]
fn with_rust_log_debug_serve_logs_a_plain_peers_connection_and_join_on_stderr_without_escapes() {
    let serve = Serve::start(Some("debug"));
    serve.plain_peer_comes_and_goes();
    let accepted = line_with(&serve.stderr, "accepted", "stderr");
    assert!(accepted.contains("127.0.0.1"), "{accepted}");
    let dialect = line_with(&serve.stderr, "dialect plain text", "stderr");
    assert!(dialect.contains("DEBUG"), "{dialect}");
    let joined = line_with(&serve.stderr, "joined", "stderr");
    let left = line_with(&serve.stderr, " left ", "stderr");
    for line in [&accepted, &dialect, &joined, &left] {
        assert!(
            !line.contains('\u{1b}'),
            "escape byte in a log line: {line:?}"
        );
    }
    drop(serve);
}

#[test]
fn without_rust_log_serve_prints_nothing_on_stderr_while_a_peer_comes_and_goes() {
    let mut serve = Serve::start(None);
    serve.plain_peer_comes_and_goes();
    let _ = serve.child.kill();
    let _ = serve.child.wait();
    // The pipe ends when the process is gone: everything it ever wrote is in the channel.
    let printed: Vec<String> = serve.stderr.iter().collect();
    assert!(printed.is_empty(), "stderr without RUST_LOG: {printed:?}");
}
