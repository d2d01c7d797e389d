//! Refusing connections the server will not serve, each with its reason, without a thread each.
//!
//! Owns the refusals decided at accept time (too many connections from one address, too many
//! open at all): one thread waits for each refused peer's first bytes (up to the sniff window),
//! answers in its dialect (a Natter client gets `welcome` then the `error`; a TLS ClientHello
//! gets the refusal's fatal alert, see `tls::DoorRefusal`; a peer that sent anything else or
//! nothing gets a plain line), closes its sending side and drains briefly so the peer reads
//! the reason rather than a reset. No TLS handshake is ever made here: the alert is seven
//! constant bytes, so a flood of refused TLS peers costs no cryptography. Does not decide who is refused (the listener
//! does) nor refuse people at the room's door (the handler does that, after `hello`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

use super::json_dialect::welcome_frame;
use super::state::ServerState;
use crate::network::plain;
use crate::network::protocol::{Dialect, ErrorCode, ServerFrame, detect_dialect, encode};
use crate::network::tls::{DoorRefusal, TLS_HANDSHAKE_BYTE};

/// Refused peers waiting for their answer at once; past this, a refusal is a plain line
/// written straight away by the accepting thread.
const WAITING_ROOM: usize = 4096;
/// How long a refused peer's unread input is drained before the socket is closed.
const DRAIN: Duration = Duration::from_secs(1);
/// Pause between two rounds over the waiting peers.
const ROUND: Duration = Duration::from_millis(5);

/// One connection to refuse, and why.
pub(super) struct Refusal {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) code: ErrorCode,
    pub(super) message: String,
    /// What a TLS peer is told (it reads no `error` before a handshake).
    pub(super) door: DoorRefusal,
}

/// How a refused peer is answered, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A Natter client: `welcome`, then the `error`.
    Json,
    /// A TLS ClientHello: the refusal's alert.
    Tls,
    /// Anything else, or nothing: a plain line.
    Plain,
}

impl Answer {
    fn of_first_bytes(bytes: &[u8]) -> Answer {
        if bytes.first() == Some(&TLS_HANDSHAKE_BYTE) {
            return Answer::Tls;
        }
        match detect_dialect(bytes) {
            Dialect::Json => Answer::Json,
            Dialect::Plain => Answer::Plain,
        }
    }
}

/// The refusing thread's inbox. Dropping it lets the thread finish and end.
pub(super) struct Refuser {
    inbox: Option<Sender<Refusal>>,
    thread: Option<JoinHandle<()>>,
}

impl Refuser {
    /// Starts the refusing thread. Should that fail, refusals are plain lines written at once.
    pub(super) fn start(state: &Arc<ServerState>) -> Refuser {
        let (inbox, refusals) = crossbeam_channel::bounded(WAITING_ROOM);
        let state = Arc::clone(state);
        let spawned = thread::Builder::new()
            .name("natter-refuse".into())
            .spawn(move || run(&state, &refusals));
        match spawned {
            Ok(thread) => Refuser {
                inbox: Some(inbox),
                thread: Some(thread),
            },
            Err(_) => Refuser {
                inbox: None,
                thread: None,
            },
        }
    }

    /// Refuses a connection: every refused peer is told why and counted.
    pub(super) fn refuse(&self, state: &ServerState, refusal: Refusal) {
        state.count_refusal(refusal.peer, refusal.code, &refusal.message);
        let refusal = match &self.inbox {
            Some(inbox) => match inbox.try_send(refusal) {
                Ok(()) => return,
                Err(TrySendError::Full(r) | TrySendError::Disconnected(r)) => r,
            },
            None => refusal,
        };
        // The waiting room is full: no time to wait for the dialect. What already came tells a
        // TLS peer apart; anyone else gets a plain line.
        let _ = refusal.stream.set_nonblocking(true);
        let mut first = [0u8; 4096];
        let kind = match (&refusal.stream).read(&mut first) {
            Ok(n) if n > 0 && first[0] == TLS_HANDSHAKE_BYTE => Answer::Tls,
            _ => Answer::Plain,
        };
        answer(state, &refusal, kind);
    }

    /// Answers the peers still waiting and joins the thread.
    pub(super) fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.inbox.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Refuser {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A refused peer on its way out.
struct Waiting {
    refusal: Refusal,
    since: Instant,
    /// Set once the answer is written: the peer's input is drained until then.
    drain_until: Option<Instant>,
}

fn run(state: &ServerState, refusals: &Receiver<Refusal>) {
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut open = true;
    while open || !waiting.is_empty() {
        if waiting.is_empty() {
            match refusals.recv() {
                Ok(refusal) => waiting.extend(admit(refusal)),
                Err(_) => break,
            }
        }
        loop {
            match refusals.try_recv() {
                Ok(refusal) => waiting.extend(admit(refusal)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let now = Instant::now();
        // On stop nobody waits any more: the undecided are answered in plain text.
        let sniff_window = if open {
            state.config.sniff_window
        } else {
            Duration::ZERO
        };
        waiting.retain_mut(|w| step(state, w, now, sniff_window, open));
        if !waiting.is_empty() {
            thread::sleep(ROUND);
        }
    }
}

fn admit(refusal: Refusal) -> Option<Waiting> {
    refusal.stream.set_nonblocking(true).ok()?;
    Some(Waiting {
        refusal,
        since: Instant::now(),
        drain_until: None,
    })
}

/// Moves one refused peer along; false once it is done with.
fn step(
    state: &ServerState,
    waiting: &mut Waiting,
    now: Instant,
    sniff_window: Duration,
    open: bool,
) -> bool {
    let mut buf = [0u8; 4096];
    let read = (&waiting.refusal.stream).read(&mut buf);
    if let Some(until) = waiting.drain_until {
        return match read {
            Ok(n) if n > 0 => open && now < until,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => open && now < until,
            _ => false,
        };
    }
    let kind = match read {
        Ok(n) if n > 0 => Answer::of_first_bytes(&buf[..n]),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            if now.duration_since(waiting.since) < sniff_window {
                return true;
            }
            Answer::Plain
        }
        // Closed or broken before a word: it may still read what we say.
        _ => Answer::Plain,
    };
    answer(state, &waiting.refusal, kind);
    waiting.drain_until = Some(now + DRAIN);
    open
}

/// Writes the refusal as `kind` says to a non-blocking socket and closes our sending side. The
/// answer is a few hundred bytes into an empty socket buffer, so one write takes it whole.
fn answer(state: &ServerState, refusal: &Refusal, kind: Answer) {
    let bytes = match kind {
        Answer::Tls => refusal.door.alert_record().to_vec(),
        Answer::Json => {
            let mut bytes = encode(&welcome_frame(&state.config));
            bytes.extend(encode(&ServerFrame::Error {
                code: refusal.code,
                message: refusal.message.clone(),
                client_id: None,
            }));
            bytes
        }
        Answer::Plain => plain::notice(&refusal.message).into_bytes(),
    };
    let _ = (&refusal.stream).write_all(&bytes);
    let _ = refusal.stream.shutdown(Shutdown::Write);
}
