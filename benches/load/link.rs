//! One bench client's connection: bare TCP, TLS 1.3 over it or a WebSocket (`--dialect ws`),
//! the hello, its chat lines (Natter's or IRC's), and whole writes to a non-blocking socket.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use natter::network::protocol::{ClientFrame, encode};
use rustls::ClientConnection;

/// One client's connection as the senders use it: bare TCP, or a TLS session over it. The
/// session is shared with the client's reader thread under a lock held only while records are
/// processed or written.
pub(crate) struct Link {
    pub(crate) stream: TcpStream,
    pub(crate) tls: Option<Arc<Mutex<ClientConnection>>>,
    /// A WebSocket member: lines go out as frames and come in as frames.
    pub(crate) ws: bool,
    /// An IRC client of ngIRCd (`--against ngircd`): lines are IRC commands.
    pub(crate) irc: bool,
}

impl Link {
    pub(crate) fn try_clone(&self) -> Link {
        Link {
            stream: self.stream.try_clone().unwrap(),
            tls: self.tls.clone(),
            ws: self.ws,
            irc: self.irc,
        }
    }

    /// A chat message in this client's dialect, its text `b` and the time since `base` in µs.
    pub(crate) fn chat_line(&self, base: Instant) -> Vec<u8> {
        let text = format!("b{}", base.elapsed().as_micros());
        if self.irc {
            return format!("PRIVMSG {} :{text}\r\n", crate::irc::ROOM).into_bytes();
        }
        encode(&ClientFrame::Chat {
            text,
            client_id: None,
            action: false,
            to: None,
        })
    }

    /// Writes `line` whole to the (non-blocking) socket, waiting for room (bounded by `until`).
    pub(crate) fn write_whole(&mut self, line: &[u8], until: Instant) -> bool {
        if self.ws {
            return write_whole(&mut self.stream, &crate::ws::frames(line), until);
        }
        let Some(tls) = &self.tls else {
            return write_whole(&mut self.stream, line, until);
        };
        tls.lock().unwrap().writer().write_all(line).unwrap();
        loop {
            let mut session = tls.lock().unwrap();
            if !session.wants_write() {
                return true;
            }
            match session.write_tls(&mut self.stream) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    drop(session);
                    if Instant::now() > until {
                        return false;
                    }
                    thread::sleep(Duration::from_micros(200));
                }
                Err(_) => return false,
            }
        }
    }
}

/// Connects (with a TLS handshake when `tls`) and says hello; the welcome is read by the
/// reader threads.
pub(crate) fn connect(addr: SocketAddr, nick: &str, tls: bool, websocket: bool) -> Link {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    if websocket {
        crate::ws::upgrade(&mut stream, addr);
    }
    let session = tls.then(|| {
        let verifier = natter::network::tls::RecordingVerifier::new();
        let config = natter::network::tls::client_config(verifier).unwrap();
        let name = rustls::pki_types::ServerName::try_from("natter.bench").unwrap();
        let mut session = ClientConnection::new(config, name).unwrap();
        while session.is_handshaking() {
            session.complete_io(&mut stream).unwrap();
        }
        Arc::new(Mutex::new(session))
    });
    let hello = ClientFrame::Hello {
        version: 1,
        nick: nick.into(),
        resume: None,
        // Like the Natter client: joins in a burst come as `presence` frames.
        features: vec![natter::network::protocol::FEATURE_PRESENCE.into()],
    };
    let mut link = Link {
        stream,
        tls: session,
        ws: websocket,
        irc: false,
    };
    assert!(link.write_whole(&encode(&hello), Instant::now() + Duration::from_secs(10)));
    link
}

/// Writes `line` whole to a non-blocking socket, waiting for room (bounded by `until`).
pub(crate) fn write_whole(stream: &mut TcpStream, mut line: &[u8], until: Instant) -> bool {
    while !line.is_empty() {
        match stream.write(line) {
            Ok(n) => line = &line[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > until {
                    return false;
                }
                thread::sleep(Duration::from_micros(200));
            }
            Err(_) => return false,
        }
    }
    true
}
