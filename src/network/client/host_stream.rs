//! The client's link to a host as bytes: a bare TCP stream, or a TLS session over one.
//!
//! Owns the TLS handshake (with the host key's fingerprint recorded, see `tls::verify`) and
//! the blocking reads and writes of the Natter handshake that follows, on the supervisor's
//! thread. A [`HostStream`] has one owner at a time: the supervisor while it dials and says
//! hello, then the link thread (`link_io`), which takes its socket and session apart with
//! [`HostStream::into_parts`]. Does not decide whether the key is trusted (`supervisor`).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use rustls_pki_types::ServerName;

use crate::network::timed_read::{ReadOutcome, is_timeout, read_within};
use crate::network::tls::{self, DoorRefusal, Fingerprint, RecordingVerifier};

/// The link's bytes, encrypted or not, with one owner.
pub(super) struct HostStream {
    tcp: TcpStream,
    tls: Option<Box<ClientConnection>>,
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
        HostStream { tcp, tls: None }
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
                Err(e) if is_timeout(&e) => {}
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
            tls: Some(Box::new(session)),
        };
        Ok((stream, fingerprint))
    }

    /// Writes all of `bytes` (encrypted on a TLS link), blocking.
    pub(super) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(session) = &mut self.tls else {
            return (&self.tcp).write_all(bytes);
        };
        // The session takes at most its buffer's worth (64 KiB) at a time: a longer line
        // goes out in parts, each sent before the next is given.
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

    /// Reads once, blocking: plaintext bytes, silence within `timeout`, the end, or a failure.
    pub(super) fn read_within(&mut self, buf: &mut [u8], timeout: Duration) -> ReadOutcome {
        let Some(session) = &mut self.tls else {
            return read_within(&self.tcp, buf, timeout);
        };
        let deadline = Instant::now() + timeout;
        loop {
            match session.reader().read(buf) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => return ReadOutcome::Bytes(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return ReadOutcome::Closed,
                Err(e) => return ReadOutcome::Failed(e),
            }
            // No plaintext waits, so the session takes the next records from the socket
            // itself: there is nothing to keep for later.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return ReadOutcome::TimedOut;
            }
            if let Err(e) = self
                .tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            {
                return ReadOutcome::Failed(e);
            }
            match session.read_tls(&mut &self.tcp) {
                // 0: the host closed; the session learns it, and the reader says so above.
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return ReadOutcome::Failed(e),
            }
            if let Err(e) = session.process_new_packets() {
                // The alert that says why goes out if it can.
                let _ = send_records(session, &self.tcp);
                return ReadOutcome::Failed(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            if let Err(e) = send_records(session, &self.tcp) {
                return ReadOutcome::Failed(e);
            }
        }
    }

    /// The socket and the TLS session, for the link thread that owns them from now on.
    pub(super) fn into_parts(self) -> (TcpStream, Option<Box<ClientConnection>>) {
        (self.tcp, self.tls)
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
