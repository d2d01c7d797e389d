//! Helpers shared by the network tests: a server on 127.0.0.1:0 and a raw line-level peer.
//!
//! Every wait is a channel receive with a timeout; nothing sleeps to synchronise.
#![allow(dead_code)]

pub mod app_window;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use natter::network::no_wake_up;
use natter::network::protocol::{ClientFrame, Resume, ServerFrame, decode, encode};
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
        ..ServerConfig::default()
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

/// Waits for the first server event that `pick` accepts, skipping others.
pub fn wait_event<T>(server: &ServerHandle, mut pick: impl FnMut(ServerEvent) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match server.events().recv_timeout(left) {
            Ok(event) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Err(e) => panic!("no matching server event: {e}"),
        }
    }
}

/// What a raw peer's reader thread saw.
#[derive(Debug)]
pub enum Seen {
    Line(Vec<u8>),
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
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let (tx, lines) = crossbeam_channel::unbounded();
        let mut reader = stream.try_clone().unwrap();
        let mut ponger = stream.try_clone().unwrap();
        thread::Builder::new()
            .name("test-peer-read".into())
            .spawn(move || {
                let mut splitter = natter::network::protocol::LineSplitter::new(1 << 20);
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
                            for line in out {
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
        peer.send(&ClientFrame::Hello {
            version: 1,
            nick: nick.into(),
            resume,
        });
        assert!(matches!(peer.frame(), ServerFrame::Welcome { .. }));
        let accepted = peer.frame();
        let ServerFrame::Accepted {
            nick,
            session,
            history_count,
            ..
        } = &accepted
        else {
            panic!("expected accepted, got {accepted:?}");
        };
        peer.nick = nick.clone();
        peer.session = session.clone();
        let mut frames = vec![accepted.clone()];
        for _ in 0..*history_count {
            frames.push(peer.frame());
        }
        (peer, frames)
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
        });
    }

    /// The next line, or panics after WAIT. `None` when the server closed the connection.
    pub fn line(&self) -> Option<Vec<u8>> {
        match self.lines.recv_timeout(WAIT) {
            Ok(Seen::Line(line)) => Some(line),
            Ok(Seen::Closed) => None,
            Err(RecvTimeoutError::Timeout) => panic!("{}: nothing within {WAIT:?}", self.nick),
            Err(RecvTimeoutError::Disconnected) => None,
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
}

impl CuttableProxy {
    pub fn start(target: SocketAddr) -> CuttableProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (accepted_tx, accepted) = crossbeam_channel::unbounded();
        let shared = links.clone();
        thread::Builder::new()
            .name("test-proxy".into())
            .spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { return };
                    let Ok(upstream) = TcpStream::connect(target) else {
                        return;
                    };
                    let pairs = [
                        (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                        (upstream.try_clone().unwrap(), client.try_clone().unwrap()),
                    ];
                    shared.lock().unwrap().extend([client, upstream]);
                    for (mut from, mut to) in pairs {
                        thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(Shutdown::Both);
                        });
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
        }
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
    }
}

/// A child process killed and reaped when the test ends, however it ends.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The message inside a `chat` frame, for `frame_where`.
pub fn chat_of(frame: ServerFrame) -> Option<natter::network::protocol::ChatMessage> {
    match frame {
        ServerFrame::Chat(message) => Some(message),
        _ => None,
    }
}
