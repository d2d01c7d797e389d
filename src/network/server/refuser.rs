//! Refusing connections the server will not serve, each with its reason, without a thread each.
//!
//! Owns the refusals decided at accept time (too many connections from one address, too many
//! open at all): one thread waits in a mio poll for each refused peer's first bytes (up to the
//! sniff window), answers in its dialect (a Natter client gets `welcome` then the `error`; a
//! TLS ClientHello gets the refusal's fatal alert, see `tls::DoorRefusal`; a peer that sent
//! anything else or nothing gets a plain line), closes its sending side and drains briefly so
//! the peer reads the reason rather than a reset. No TLS handshake is ever made here: the alert
//! is seven constant bytes, so a flood of refused TLS peers costs no cryptography. Does not
//! decide who is refused (the listener does) nor refuse people at the room's door (the handler
//! does that, after `hello`).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError, TrySendError};
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use super::json_dialect::welcome_frame;
use super::lazy_channel::LazySender;
use super::state::ServerState;
use crate::network::plain;
use crate::network::protocol::{Dialect, ErrorCode, ServerFrame, detect_dialect, encode};
use crate::network::tls::{DoorRefusal, TLS_HANDSHAKE_BYTE};

/// Refused peers waiting for their answer at once; past this, a refusal is a plain line
/// written straight away by the accepting thread.
const WAITING_ROOM: usize = 4096;
/// How long a refused peer's unread input is drained before the socket is closed.
const DRAIN: Duration = Duration::from_secs(1);

/// One connection to refuse, and why.
pub(super) struct Refusal {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) reason: Reason,
}

/// Why a connection is refused, in each of the ways a peer may be told.
pub(super) struct Reason {
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
    inbox: Option<LazySender<Refusal>>,
    /// Wakes the thread to look at its inbox (and, once the inbox is gone, to finish).
    waker: Option<Arc<Waker>>,
    thread: Option<JoinHandle<()>>,
}

/// The token of the waker on the refusing thread's poll; each waiting peer has its own.
const INBOX: Token = Token(usize::MAX);

impl Refuser {
    /// Starts the refusing thread. Should that fail, refusals are plain lines written at once.
    pub(super) fn start(state: &Arc<ServerState>) -> Refuser {
        let (inbox, refusals) = super::lazy_channel::bounded(WAITING_ROOM);
        let state = Arc::clone(state);
        let poll = Poll::new().and_then(|poll| {
            let waker = Waker::new(poll.registry(), INBOX)?;
            Ok((poll, Arc::new(waker)))
        });
        let Ok((poll, waker)) = poll else {
            return Refuser::none();
        };
        // The thread keeps the waker open too: a waker closed right after its last wake-up
        // (by `finish`) would take that wake-up with it, unseen.
        let kept = Arc::clone(&waker);
        let spawned = thread::Builder::new()
            .name("natter-refuse".into())
            .spawn(move || {
                run(&state, &refusals, poll);
                drop(kept);
            });
        match spawned {
            Ok(thread) => Refuser {
                inbox: Some(inbox),
                waker: Some(waker),
                thread: Some(thread),
            },
            Err(_) => Refuser::none(),
        }
    }

    /// No thread: every refusal is answered at once.
    fn none() -> Refuser {
        Refuser {
            inbox: None,
            waker: None,
            thread: None,
        }
    }

    /// Refuses a connection: every refused peer is told why and counted.
    pub(super) fn refuse(&self, state: &ServerState, refusal: Refusal) {
        state.count_refusal(refusal.peer, refusal.reason.code, &refusal.reason.message);
        let refusal = match (&self.inbox, &self.waker) {
            (Some(inbox), Some(waker)) => match inbox.try_send(refusal) {
                Ok(()) => {
                    let _ = waker.wake();
                    return;
                }
                Err(TrySendError::Full(r) | TrySendError::Disconnected(r)) => r,
            },
            _ => refusal,
        };
        // The waiting room is full: no time to wait for the dialect. What already came tells a
        // TLS peer apart; anyone else gets a plain line.
        let _ = refusal.stream.set_nonblocking(true);
        let mut first = [0u8; 4096];
        let kind = match (&refusal.stream).read(&mut first) {
            Ok(n) if n > 0 && first[0] == TLS_HANDSHAKE_BYTE => Answer::Tls,
            _ => Answer::Plain,
        };
        let _ = (&refusal.stream).write_all(&answer(state, &refusal.reason, kind));
        let _ = refusal.stream.shutdown(Shutdown::Write);
    }

    /// Answers the peers still waiting and joins the thread.
    pub(super) fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.inbox.take();
        if let Some(waker) = self.waker.take() {
            let _ = waker.wake();
        }
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
    stream: mio::net::TcpStream,
    reason: Reason,
    since: Instant,
    /// Set once the answer is written: the peer's input is drained until then.
    drain_until: Option<Instant>,
    /// The socket may hold bytes not read yet: readiness is reported once per change, so the
    /// peer is looked at again without waiting for the next.
    ready: bool,
}

/// Reads one peer takes in one turn, so that a peer that never stops sending cannot hold the
/// others up; what is left is read at the next turn.
const READS_PER_TURN: usize = 16;

/// Waits in a poll on every refused peer and the inbox; wakes when a peer sends, a refusal
/// comes, or the earliest deadline (end of a sniff window or of a drain) is reached.
fn run(state: &ServerState, refusals: &Receiver<Refusal>, mut poll: Poll) {
    let mut waiting: HashMap<usize, Waiting> = HashMap::new();
    let mut next_token = 0usize;
    let mut open = true;
    let mut events = Events::with_capacity(256);
    loop {
        loop {
            match refusals.try_recv() {
                Ok(refusal) => {
                    if let Some(w) = admit(poll.registry(), refusal, next_token) {
                        waiting.insert(next_token, w);
                        // Tokens are never reused while a peer waits: INBOX is far off.
                        next_token = (next_token + 1) % INBOX.0;
                    }
                }
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
        waiting.retain(|_, w| {
            let due = !open || w.ready || now >= deadline(w, sniff_window);
            let keep = !due || step(state, w, now, sniff_window, open);
            if !keep {
                let _ = poll.registry().deregister(&mut w.stream);
            }
            keep
        });
        if !open && waiting.is_empty() {
            return;
        }
        let timeout = if waiting.values().any(|w| w.ready) {
            Duration::ZERO
        } else {
            (waiting.values())
                .map(|w| deadline(w, sniff_window))
                .min()
                .map_or(Duration::MAX, |d| d.saturating_duration_since(now))
        };
        let timeout = (timeout != Duration::MAX).then_some(timeout);
        if let Err(e) = poll.poll(&mut events, timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            // The poll broke (it does not): everyone waiting is answered as on stop.
            for w in waiting.values_mut() {
                step(state, w, Instant::now(), Duration::ZERO, false);
            }
            return;
        }
        for event in &events {
            if let Some(w) = waiting.get_mut(&event.token().0) {
                w.ready = true;
            }
        }
    }
}

/// When `waiting` must be looked at even if it sends nothing.
fn deadline(waiting: &Waiting, sniff_window: Duration) -> Instant {
    waiting.drain_until.unwrap_or(waiting.since + sniff_window)
}

fn admit(registry: &Registry, refusal: Refusal, token: usize) -> Option<Waiting> {
    refusal.stream.set_nonblocking(true).ok()?;
    let mut stream = mio::net::TcpStream::from_std(refusal.stream);
    registry
        .register(&mut stream, Token(token), Interest::READABLE)
        .ok()?;
    Some(Waiting {
        stream,
        reason: refusal.reason,
        since: Instant::now(),
        drain_until: None,
        // Its first bytes may have come before it was registered.
        ready: true,
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
    waiting.ready = false;
    if waiting.drain_until.is_none() {
        let kind = match (&waiting.stream).read(&mut buf) {
            Ok(n) if n > 0 => Answer::of_first_bytes(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if now.duration_since(waiting.since) < sniff_window {
                    return true;
                }
                Answer::Plain
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                waiting.ready = true;
                return true;
            }
            // Closed or broken before a word: it may still read what we say.
            _ => Answer::Plain,
        };
        let _ = (&waiting.stream).write_all(&answer(state, &waiting.reason, kind));
        let _ = waiting.stream.shutdown(Shutdown::Write);
        waiting.drain_until = Some(now + DRAIN);
        if !open {
            return false;
        }
    }
    let until = waiting.drain_until.unwrap_or(now);
    if !open || now >= until {
        return false;
    }
    for _ in 0..READS_PER_TURN {
        match (&waiting.stream).read(&mut buf) {
            Ok(n) if n > 0 => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The peer closed (it read the answer) or the socket broke.
            _ => return false,
        }
    }
    waiting.ready = true;
    true
}

/// The refusal as `kind` says: a few hundred bytes, written into an empty socket buffer, so
/// one write takes it whole. The sending side is closed after it.
fn answer(state: &ServerState, reason: &Reason, kind: Answer) -> Vec<u8> {
    match kind {
        Answer::Tls => reason.door.alert_record().to_vec(),
        Answer::Json => {
            let mut bytes = encode(&welcome_frame(&state.config));
            bytes.extend(encode(&ServerFrame::Error {
                code: reason.code,
                message: reason.message.clone(),
                client_id: None,
            }));
            bytes
        }
        Answer::Plain => plain::notice(&reason.message).into_bytes(),
    }
}
