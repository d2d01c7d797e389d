//! The client's link to a host as bytes: a bare TCP stream, or a TLS session over one.
//!
//! Owns the TLS handshake (with the host's key fingerprint recorded, see `tls::verify`),
//! encrypting what the supervisor writes and decrypting what the reader reads. The client
//! keeps two threads per link (the reader blocks on the socket, the supervisor writes), so the
//! session is shared under a lock held only while records are processed or written, never
//! while waiting for the host. Does not decide whether the key is trusted (`supervisor`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use rustls_pki_types::ServerName;

use crate::network::lock;
use crate::network::timed_read::{ReadOutcome, read_within};
use crate::network::tls::{self, DoorRefusal, Fingerprint, RecordingVerifier};

/// The link's bytes, encrypted or not. Clones share the TLS session.
pub(super) struct HostStream {
    tcp: TcpStream,
    tls: Option<Arc<Mutex<Tls>>>,
    /// Held while a bare link is written: the supervisor and the files thread both write,
    /// and a frame must go out whole. (A TLS link's session lock does the same.)
    writing: Arc<Mutex<()>>,
}

/// A TLS session with the records read from the socket that it could not take yet: rustls
/// takes no more while 16 KiB of decrypted bytes wait to be read, and a file's data comes in
/// full-size records back to back.
struct Tls {
    session: ClientConnection,
    unread: Vec<u8>,
}

/// Why the TLS handshake did not give an encrypted link.
#[derive(Debug)]
pub(super) enum TlsRefused {
    /// The host answered with something that is not TLS: it does not speak TLS (an older
    /// Natter, a tutorial server).
    NotTls,
    /// The host closed, reset or said nothing during the handshake: a host that does not
    /// speak TLS, or one that is going away or restarting. Only a host never seen encrypting
    /// is taken for the first.
    NoAnswer,
    /// The host turned us away at the door (too many connections, or busy), with a TLS alert
    /// or an `error` line (PROTOCOL.md §12). Not a sign that it stopped encrypting.
    TurnedAway(DoorRefusal),
    /// The connection broke for another reason.
    Io(io::Error),
}

/// The socket as the handshake reads it, keeping the first bytes the host sent: when they are
/// no TLS, they may still be a Natter host's refusal.
struct Recording<'a> {
    tcp: &'a TcpStream,
    first: Vec<u8>,
}

/// How much of what the host sent first is kept to look at: a refusal line is shorter.
const KEEP_FIRST: usize = 1024;

impl Read for Recording<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        let room = KEEP_FIRST.saturating_sub(self.first.len()).min(n);
        self.first.extend_from_slice(&buf[..room]);
        Ok(n)
    }
}

impl Write for Recording<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// What a handshake that failed on bytes that are not (valid) TLS means: a refusal at the
/// door (a fatal alert of the door's, or a Natter `error` line), or a host that does not speak
/// TLS.
fn not_tls(e: &io::Error, first: &[u8]) -> TlsRefused {
    let alert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|inner| match inner {
            rustls::Error::AlertReceived(description) => Some(u8::from(*description)),
            _ => None,
        });
    let door = match alert {
        Some(description) => DoorRefusal::of_alert(description),
        None => DoorRefusal::of_first_line(first),
    };
    door.map_or(TlsRefused::NotTls, TlsRefused::TurnedAway)
}

impl HostStream {
    pub(super) fn plain(tcp: TcpStream) -> HostStream {
        HostStream {
            tcp,
            tls: None,
            writing: Arc::default(),
        }
    }

    /// Runs a TLS 1.3 handshake over `tcp` within `timeout`; nothing but the handshake is
    /// sent. Returns the encrypted link and the fingerprint of the key the host proved it
    /// holds.
    pub(super) fn encrypt(
        tcp: TcpStream,
        host: &str,
        timeout: Duration,
    ) -> Result<(HostStream, Fingerprint), TlsRefused> {
        let verifier = RecordingVerifier::new();
        let config = tls::client_config(Arc::clone(&verifier))
            .map_err(|e| TlsRefused::Io(io::Error::other(e)))?;
        // The name is not checked (the key is); an IP address sends no SNI.
        let name = ServerName::try_from(host.to_string())
            .or_else(|_| ServerName::try_from("natter.invalid"))
            .map_err(|e| TlsRefused::Io(io::Error::other(e)))?;
        let mut session =
            ClientConnection::new(config, name).map_err(|e| TlsRefused::Io(io::Error::other(e)))?;
        let deadline = Instant::now() + timeout;
        let mut socket = Recording {
            tcp: &tcp,
            first: Vec::new(),
        };
        while session.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TlsRefused::NoAnswer);
            }
            let _ = tcp.set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match session.complete_io(&mut socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if crate::network::timed_read::is_timeout(&e) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(not_tls(&e, &socket.first));
                }
                Err(e) if hung_up(&e) => return Err(TlsRefused::NoAnswer),
                Err(e) => return Err(TlsRefused::Io(e)),
            }
        }
        let _ = tcp.set_read_timeout(None);
        let fingerprint = verifier.seen().ok_or(TlsRefused::NotTls)?;
        let stream = HostStream {
            tcp,
            tls: Some(Arc::new(Mutex::new(Tls {
                session,
                unread: Vec::new(),
            }))),
            writing: Arc::default(),
        };
        Ok((stream, fingerprint))
    }

    pub(super) fn try_clone(&self) -> io::Result<HostStream> {
        Ok(HostStream {
            tcp: self.tcp.try_clone()?,
            tls: self.tls.clone(),
            writing: Arc::clone(&self.writing),
        })
    }

    /// Writes all of `bytes` (encrypted on a TLS link).
    pub(super) fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let Some(tls) = &self.tls else {
            let _whole = lock(&self.writing);
            return (&self.tcp).write_all(bytes);
        };
        // The session takes at most its buffer's worth (64 KiB) at a time: a longer line
        // goes out in parts, each sent before the next is given, all under one lock so no
        // other frame comes between them.
        let session = &mut lock(tls).session;
        let mut rest = bytes;
        while !rest.is_empty() {
            let taken = session.writer().write(rest)?;
            if taken == 0 && !session.wants_write() {
                return Err(io::ErrorKind::WriteZero.into());
            }
            rest = &rest[taken..];
            send_records(session, &self.tcp)?;
        }
        Ok(())
    }

    /// Reads once: plaintext bytes, silence within `timeout`, the end, or a failure.
    pub(super) fn read_within(&self, buf: &mut [u8], timeout: Duration) -> ReadOutcome {
        let Some(tls) = &self.tls else {
            return read_within(&self.tcp, buf, timeout);
        };
        let deadline = Instant::now() + timeout;
        loop {
            let mut link = lock(tls);
            match link.session.reader().read(buf) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => return ReadOutcome::Bytes(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return ReadOutcome::Closed,
                Err(e) => return ReadOutcome::Failed(e),
            }
            // Records read earlier go first, as far as the session takes them.
            if !link.unread.is_empty() {
                if let Err(e) = link.take_records(&self.tcp) {
                    return ReadOutcome::Failed(e);
                }
                continue;
            }
            drop(link);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return ReadOutcome::TimedOut;
            }
            let read = read_within(&self.tcp, buf, left);
            let mut link = lock(tls);
            let taken = match read {
                ReadOutcome::Bytes(n) => {
                    link.unread.extend_from_slice(&buf[..n]);
                    link.take_records(&self.tcp)
                }
                ReadOutcome::Closed => link.host_closed(&self.tcp),
                other => return other,
            };
            if let Err(e) = taken {
                return ReadOutcome::Failed(e);
            }
        }
    }

    /// Says goodbye on a TLS link (best effort), then closes both directions.
    pub(super) fn shutdown(&self) {
        if let Some(tls) = &self.tls {
            let session = &mut lock(tls).session;
            session.send_close_notify();
            let _ = send_records(session, &self.tcp);
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

impl Tls {
    /// Gives the session the records read so far, as many as it takes before its decrypted
    /// bytes must be read, and sends any answer.
    fn take_records(&mut self, tcp: &TcpStream) -> io::Result<()> {
        // What the session took is let go of once at the end: draining after every record
        // moved the rest of a file's 64 kB of records along each time.
        let mut offset = 0;
        let fed = loop {
            if offset == self.unread.len() || !self.session.wants_read() {
                break Ok(());
            }
            let taken = match self.session.read_tls(&mut &self.unread[offset..]) {
                Ok(taken) => taken,
                Err(e) => break Err(e),
            };
            offset += taken;
            if let Err(e) = self.session.process_new_packets() {
                break Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            if taken == 0 {
                break Ok(());
            }
        };
        self.unread.drain(..offset);
        fed?;
        send_records(&mut self.session, tcp)
    }

    /// The host closed: the session learns of the end once it has taken what came before.
    fn host_closed(&mut self, tcp: &TcpStream) -> io::Result<()> {
        self.take_records(tcp)?;
        if self.unread.is_empty() {
            self.session.read_tls(&mut &[][..])?;
            self.session
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        Ok(())
    }
}

fn send_records(session: &mut ClientConnection, tcp: &TcpStream) -> io::Result<()> {
    while session.wants_write() {
        session.write_tls(&mut &*tcp)?;
    }
    Ok(())
}

/// The host hung up during the handshake.
fn hung_up(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
