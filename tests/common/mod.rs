//! Helpers shared by the network tests: a server on 127.0.0.1:0 and a raw line-level peer.
//!
//! Every wait is a channel receive with a timeout; nothing sleeps to synchronise.
#![allow(dead_code)]

// The window through kittest: Linux only (no wgpu device under Wine), and only with the window.
#[cfg(all(feature = "window", not(windows)))]
pub mod app_window;
#[cfg(target_os = "linux")]
pub mod lab;
pub mod processes;
pub mod tls_peer;
pub mod xvfb;

// Each test crate uses some of these; the others would be unused imports there.
#[allow(unused_imports)]
pub use processes::{Killed, ServeProcess};

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use natter::network::no_wake_up;
use natter::network::protocol::{
    ClientFrame, DATA_BYTES, ErrorCode, FrameSplitter, HostData, Piece, Resume, ServerFrame,
    decode, encode,
};
use natter::network::server::{self, ServerConfig, ServerEvent, ServerHandle};

/// Long enough for a loaded CI machine, short enough that a hang fails fast.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn test_config() -> ServerConfig {
    ServerConfig {
        max_per_address: 1024,
        // Tests open many connections from 127.0.0.1 in quick succession.
        joins_per_address: natter::network::server::JoinLimit {
            burst: 100_000.0,
            per_second: 100_000.0,
        },
        // A dropped link is announced as left at once, as most tests wait for that leave;
        // tests/resume_grace.rs holds it for a grace of its own.
        member_grace: Duration::ZERO,
        // A key of its own, as the window and `natter serve` have one: links are encrypted.
        ..ServerConfig::default()
            .with_new_identity()
            .expect("a fresh host key")
    }
}

pub fn start_server(config: ServerConfig) -> ServerHandle {
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let handle = server::start(listener, config, no_wake_up()).unwrap();
    match handle.events().recv_timeout(WAIT).unwrap() {
        ServerEvent::Started { addr } => assert_eq!(addr, handle.local_addr()),
        other => panic!("first event should be Started, got {other:?}"),
    }
    handle
}

/// Receives from `events` until `pick` accepts one, skipping the rest; panics after WAIT with
/// `what` and the last events skipped, so a failure says what was awaited and what came instead.
pub fn recv_where<E: std::fmt::Debug, T>(
    events: &Receiver<E>,
    what: &str,
    mut pick: impl FnMut(E) -> Option<T>,
) -> T {
    const KEEP: usize = 20;
    let deadline = Instant::now() + WAIT;
    let mut skipped = std::collections::VecDeque::with_capacity(KEEP);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(event) => {
                let shown = format!("{event:?}");
                if let Some(found) = pick(event) {
                    return found;
                }
                if skipped.len() == KEEP {
                    skipped.pop_front();
                }
                skipped.push_back(shown);
            }
            Err(e) => panic!("no {what} within {WAIT:?} ({e}); last skipped: {skipped:?}"),
        }
    }
}

/// An address on 127.0.0.1 that refuses connections and stays that way while this lives.
///
/// The port is bound by a socket that never listens: a connection gets a reset (refused), and
/// no other socket can take the port meanwhile (it has no `SO_REUSEADDR`, so a later bind
/// fails even with it). Unlike binding a listener and dropping it, nothing can race for it.
#[must_use = "the port is only reserved while the ClosedPort lives"]
pub struct ClosedPort {
    pub addr: SocketAddr,
    _reserved: socket2::Socket,
}

pub fn closed_port() -> ClosedPort {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("a TCP socket");
    let any_port: SocketAddr = (std::net::Ipv4Addr::LOCALHOST, 0).into();
    socket.bind(&any_port.into()).expect("bind 127.0.0.1:0");
    let addr = socket
        .local_addr()
        .expect("the bound address")
        .as_socket()
        .expect("an IP address");
    ClosedPort {
        addr,
        _reserved: socket,
    }
}

/// What a raw peer's reader thread saw.
#[derive(Debug)]
pub enum Seen {
    Line(Vec<u8>),
    /// A `file_data` frame (to a peer that listed `file_data`): its header and bytes.
    Data(HostData, Vec<u8>),
    Closed,
}

/// A peer speaking bytes on a real socket, with a reader thread feeding a channel.
pub struct RawPeer {
    pub stream: TcpStream,
    lines: Receiver<Seen>,
    pub nick: String,
    pub session: String,
}

impl RawPeer {
    pub fn connect(addr: SocketAddr) -> RawPeer {
        Self::connect_with(addr, true)
    }

    /// `auto_pong`: the reader thread answers the server's pings, as any live client would.
    pub fn connect_with(addr: SocketAddr, auto_pong: bool) -> RawPeer {
        Self::over(TcpStream::connect(addr).unwrap(), auto_pong)
    }

    /// Connects from another loopback address (`from` in 127.0.0.0/8), as a second computer
    /// would: the server counts it as another address.
    pub fn connect_from(addr: SocketAddr, from: std::net::IpAddr) -> RawPeer {
        assert!(from.is_loopback(), "tests connect from loopback only");
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a TCP socket");
        socket
            .bind(&SocketAddr::new(from, 0).into())
            .expect("bind a loopback address");
        socket.connect(&addr.into()).expect("connect");
        Self::over(socket.into(), true)
    }

    /// A peer on a connected stream, with its reader thread.
    fn over(stream: TcpStream, auto_pong: bool) -> RawPeer {
        stream.set_nodelay(true).unwrap();
        let (tx, lines) = crossbeam_channel::unbounded();
        let mut reader = stream.try_clone().unwrap();
        let mut ponger = stream.try_clone().unwrap();
        thread::Builder::new()
            .name("test-peer-read".into())
            .spawn(move || {
                let mut splitter = FrameSplitter::<HostData>::new(1 << 20, DATA_BYTES);
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            if let Some(rest) = splitter.take_partial() {
                                let _ = tx.send(Seen::Line(rest));
                            }
                            let _ = tx.send(Seen::Closed);
                            return;
                        }
                        Ok(n) => {
                            let mut out = Vec::new();
                            if splitter.push(&buf[..n], &mut out).is_err() {
                                let _ = tx.send(Seen::Closed);
                                return;
                            }
                            for piece in out {
                                let line = match piece {
                                    Piece::Line(line) => line,
                                    Piece::Data(header, bytes) => {
                                        if tx.send(Seen::Data(header, bytes)).is_err() {
                                            return;
                                        }
                                        continue;
                                    }
                                };
                                if auto_pong && line == br#"{"type":"ping"}"# {
                                    let _ = ponger.write_all(&encode(&ClientFrame::Pong {}));
                                }
                                if tx.send(Seen::Line(line)).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
            })
            .unwrap();
        RawPeer {
            stream,
            lines,
            nick: String::new(),
            session: String::new(),
        }
    }

    /// Connects, says hello and reads welcome, accepted and the history.
    pub fn join(addr: SocketAddr, nick: &str) -> (RawPeer, Vec<ServerFrame>) {
        Self::join_with(addr, nick, None)
    }

    pub fn join_with(
        addr: SocketAddr,
        nick: &str,
        resume: Option<Resume>,
    ) -> (RawPeer, Vec<ServerFrame>) {
        Self::join_full(addr, nick, resume, true)
    }

    pub fn join_full(
        addr: SocketAddr,
        nick: &str,
        resume: Option<Resume>,
        auto_pong: bool,
    ) -> (RawPeer, Vec<ServerFrame>) {
        let mut peer = RawPeer::connect_with(addr, auto_pong);
        peer.send_hello(nick, resume);
        let (accepted, history_count) = peer.accepted();
        let mut frames = vec![accepted];
        for _ in 0..history_count {
            frames.push(peer.frame());
        }
        (peer, frames)
    }

    /// Connects and sends a version 1 Natter `hello`, reading nothing back yet: follow with
    /// [`RawPeer::accepted`] or [`RawPeer::assert_error`] (or use [`RawPeer::join`]).
    pub fn hello(addr: SocketAddr, nick: &str) -> RawPeer {
        let mut peer = RawPeer::connect(addr);
        peer.send_hello(nick, None);
        peer
    }

    /// [`RawPeer::hello`] listing hello `features` (e.g. "presence").
    pub fn hello_with_features(addr: SocketAddr, nick: &str, features: &[&str]) -> RawPeer {
        RawPeer::connect(addr).say_hello(nick, features)
    }

    /// Sends `hello` listing `features`, reading nothing back yet.
    pub fn say_hello(mut self, nick: &str, features: &[&str]) -> RawPeer {
        self.nick = nick.into();
        self.send(&ClientFrame::Hello {
            version: 1,
            nick: nick.into(),
            resume: None,
            features: features.iter().map(|f| f.to_string()).collect(),
        });
        self
    }

    fn send_hello(&mut self, nick: &str, resume: Option<Resume>) {
        self.nick = nick.into();
        self.send(&ClientFrame::Hello {
            version: 1,
            nick: nick.into(),
            resume,
            features: Vec::new(),
        });
    }

    /// Reads `welcome` then `accepted`, and takes on the nickname and session the server gave.
    /// Returns the `accepted` frame and how many history frames follow it.
    pub fn accepted(&mut self) -> (ServerFrame, usize) {
        let welcome = self.frame();
        assert!(
            matches!(welcome, ServerFrame::Welcome { .. }),
            "{}: expected welcome, got {welcome:?}",
            self.nick
        );
        let accepted = self.frame();
        let ServerFrame::Accepted {
            nick,
            session,
            history_count,
            ..
        } = &accepted
        else {
            panic!("{}: expected accepted, got {accepted:?}", self.nick);
        };
        self.nick = nick.clone();
        self.session = session.clone();
        let count = *history_count;
        (accepted, count)
    }

    /// Reads until the server sends an `error` frame with `code` and returns its message;
    /// other frames (and errors with other codes) on the way are skipped. Panics with
    /// everything seen if the connection closes or WAIT passes first.
    pub fn assert_error(&mut self, code: ErrorCode) -> String {
        let mut seen = Vec::new();
        loop {
            let line = match self.lines.recv_timeout(WAIT) {
                Ok(Seen::Line(line)) => line,
                Ok(Seen::Data(..)) => continue,
                Ok(Seen::Closed) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: closed without an error {code:?}; got {seen:?}",
                    self.nick
                ),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no error {code:?} within {WAIT:?}; got {seen:?}",
                    self.nick
                ),
            };
            let frame: ServerFrame = decode(&line).unwrap_or_else(|e| {
                panic!("{}: {e}: {:?}", self.nick, String::from_utf8_lossy(&line))
            });
            match frame {
                ServerFrame::Error {
                    code: got, message, ..
                } if got == code => return message,
                other => seen.push(other),
            }
        }
    }

    pub fn send(&mut self, frame: &ClientFrame) {
        self.stream.write_all(&encode(frame)).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn say(&mut self, text: &str, client_id: &str) {
        self.send(&ClientFrame::Chat {
            text: text.into(),
            client_id: Some(client_id.into()),
            action: false,
            to: None,
        });
    }

    /// The next line, or panics after WAIT. `None` when the server closed the connection.
    pub fn line(&self) -> Option<Vec<u8>> {
        match self.lines.recv_timeout(WAIT) {
            Ok(Seen::Line(line)) => Some(line),
            Ok(Seen::Data(header, _)) => panic!("{}: file_data {header:?} came", self.nick),
            Ok(Seen::Closed) => None,
            Err(RecvTimeoutError::Timeout) => panic!("{}: nothing within {WAIT:?}", self.nick),
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next `file_data` frame (lines before it are skipped), or panics after WAIT or when
    /// the connection closes.
    pub fn data(&self) -> (HostData, Vec<u8>) {
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(Seen::Data(header, bytes)) => return (header, bytes),
                Ok(Seen::Line(_)) => {}
                Ok(Seen::Closed) | Err(_) => panic!("{}: no file_data within {WAIT:?}", self.nick),
            }
        }
    }

    /// The next frame if one comes within `wait`; `None` if none does (or the link closed).
    pub fn frame_within(&self, wait: Duration) -> Option<ServerFrame> {
        match self.lines.recv_timeout(wait) {
            Ok(Seen::Line(line)) => decode(&line).ok(),
            _ => None,
        }
    }

    pub fn text_line(&self) -> String {
        String::from_utf8(self.line().expect("connection closed")).unwrap()
    }

    pub fn frame(&self) -> ServerFrame {
        let line = self
            .line()
            .unwrap_or_else(|| panic!("{}: closed", self.nick));
        decode(&line).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&line)))
    }

    /// Skips frames until `pick` accepts one (pings and others in between are ignored).
    pub fn frame_where<T>(&self, mut pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.frame()) {
                return found;
            }
        }
    }

    /// Reads until the server closes, returning every frame on the way.
    pub fn frames_until_closed(&self) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        while let Some(line) = self.line() {
            frames.push(decode(&line).unwrap());
        }
        frames
    }

    /// Lines until the server closes.
    pub fn text_until_closed(&self) -> String {
        let mut text = String::new();
        while let Some(line) = self.line() {
            text.push_str(&String::from_utf8_lossy(&line));
            text.push('\n');
        }
        text
    }

    /// Reads text lines until one contains `needle`; returns everything read.
    pub fn text_until(&self, needle: &str) -> String {
        let mut text = String::new();
        loop {
            let line = self
                .line()
                .unwrap_or_else(|| panic!("closed before {needle:?}; got {text:?}"));
            text.push_str(&String::from_utf8_lossy(&line));
            text.push('\n');
            if text.contains(needle) {
                return text;
            }
        }
    }

    /// Ends the TCP connection without a bye.
    pub fn vanish(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// A TCP relay in front of a server whose links can be cut, to drop a client's connection
/// the way a flaky network does while the server and the client both keep running.
pub struct CuttableProxy {
    pub addr: SocketAddr,
    links: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
    accepted: Receiver<()>,
    /// Bytes the links still pass from the server to their clients (see
    /// [`CuttableProxy::limit_downloads`]).
    download_budget: Budget,
}

/// Bytes a proxy's links may still pass to their clients, and the wake-up of those waiting.
type Budget = std::sync::Arc<(std::sync::Mutex<u64>, std::sync::Condvar)>;

impl CuttableProxy {
    pub fn start(target: SocketAddr) -> CuttableProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let download_budget: Budget =
            std::sync::Arc::new((std::sync::Mutex::new(u64::MAX), std::sync::Condvar::new()));
        let (accepted_tx, accepted) = crossbeam_channel::unbounded();
        let shared = links.clone();
        let budget = download_budget.clone();
        thread::Builder::new()
            .name("test-proxy".into())
            .spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { return };
                    let Ok(upstream) = TcpStream::connect(target) else {
                        return;
                    };
                    let pairs = [
                        (
                            client.try_clone().unwrap(),
                            upstream.try_clone().unwrap(),
                            None,
                        ),
                        (
                            upstream.try_clone().unwrap(),
                            client.try_clone().unwrap(),
                            Some(budget.clone()),
                        ),
                    ];
                    shared.lock().unwrap().extend([client, upstream]);
                    for (from, to, budget) in pairs {
                        thread::spawn(move || relay(from, to, budget));
                    }
                    if accepted_tx.send(()).is_err() {
                        return;
                    }
                }
            })
            .unwrap();
        CuttableProxy {
            addr,
            links,
            accepted,
            download_budget,
        }
    }

    /// From now on the links pass at most `bytes` more from the server to their clients, then
    /// hold the rest without closing, until [`CuttableProxy::unlimit_downloads`] or
    /// [`CuttableProxy::cut`]: a transfer is then under way and cannot end however fast it
    /// goes.
    pub fn limit_downloads(&self, bytes: u64) {
        *self.download_budget.0.lock().unwrap() = bytes;
    }

    /// What the links held goes on, and everything after it.
    pub fn unlimit_downloads(&self) {
        *self.download_budget.0.lock().unwrap() = u64::MAX;
        self.download_budget.1.notify_all();
    }

    /// Waits until the proxy has relayed one more new connection.
    pub fn wait_accept(&self) {
        self.accepted
            .recv_timeout(WAIT)
            .expect("no connection through the proxy");
    }

    /// Cuts every relayed connection at once.
    pub fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            let _ = link.shutdown(Shutdown::Both);
        }
        self.unlimit_downloads();
    }
}

/// Copies `from` to `to` until either ends, then closes `to`; with a `budget`, passing only
/// as many bytes as it has left, and waiting while it has none.
fn relay(mut from: TcpStream, mut to: TcpStream, budget: Option<Budget>) {
    let mut buf = vec![0u8; 64 * 1024];
    'copy: loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut start = 0;
        while start < n {
            let mut pass = n - start;
            if let Some((left, more)) = budget.as_deref() {
                let mut left = left.lock().unwrap();
                while *left == 0 {
                    left = more.wait(left).unwrap();
                }
                pass = pass.min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= pass as u64;
            }
            if to.write_all(&buf[start..start + pass]).is_err() {
                break 'copy;
            }
            start += pass;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// The SHA-256 of `bytes` in the hex form an offer carries (`files::sha256_hex`).
pub fn sha256_hex_of(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    natter::network::files::sha256_hex(&out)
}

/// The message inside a `chat` frame, for `frame_where`.
pub fn chat_of(frame: ServerFrame) -> Option<natter::network::protocol::ChatMessage> {
    match frame {
        ServerFrame::Chat(message) => Some(message),
        _ => None,
    }
}

/// The `python3` to run documented scripts with: `None` (the test is skipped, saying why)
/// where there is none, except under `CI=true`, where CI installs it and its absence fails.
pub fn python3() -> Option<&'static str> {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some("python3");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "python3 is missing: scripts/setup.sh installs it"
    );
    eprintln!("skipped: no python3 on this machine (scripts/setup.sh installs it)");
    None
}

/// Accepts the next connection that does not start a TLS handshake. A Natter client tries
/// TLS first; a host that does not speak it (these fake hosts) closes that connection, and the
/// client dials again in the clear.
pub fn accept_skipping_tls(listener: &std::net::TcpListener) -> TcpStream {
    loop {
        let (stream, _) = listener.accept().expect("a connection");
        stream.set_read_timeout(Some(WAIT)).expect("a read timeout");
        let mut first = [0u8; 1];
        match stream.peek(&mut first) {
            Ok(1) if first[0] == 0x16 => continue,
            _ => {
                stream.set_read_timeout(None).expect("no read timeout");
                return stream;
            }
        }
    }
}

/// Opens a socket with a tiny receive buffer, joins, and never reads again.
pub fn join_and_stop_reading(addr: SocketAddr, nick: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .write_all(&encode(&ClientFrame::Hello {
            version: 1,
            nick: nick.into(),
            resume: None,
            features: Vec::new(),
        }))
        .unwrap();
    stream
}

/// Names of this process's threads that belong to Natter (`natter-…`), from /proc (Linux).
pub fn natter_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| name.starts_with("natter-"))
        .collect()
}
