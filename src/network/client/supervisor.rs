//! The client's supervisor thread: dials, keeps the link, reconnects with backoff and resends
//! what the host has not confirmed.
//!
//! Owns the connection's life as a loop over named [`State`]s, the unconfirmed messages, the
//! resume token, what to write to the host and turning frames into [`ClientEvent`]s. Does not
//! touch a live link's socket (the link thread, `link_io`, owns it) or parse the handshake
//! (see `handshake`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::address::parse_address;
use super::error::ClientError;
use super::handshake::{Established, Joined, dial, greet, looks_like};
use super::host_stream::{HostStream, TlsRefused};
use super::reader::{Incoming, Reader};
use super::transfers::{FileCommand, FilesInput, FilesThread};
use super::{ClientCommand, ClientEvent, ConnectOptions};
use crate::network::WakeUp;
use crate::network::protocol::{
    ChatMessage, ClientFrame, FEATURE_ENCRYPTION, FEATURE_FILE_DATA, FEATURE_FILES,
    FEATURE_MODERATION, FEATURE_PRESENCE, FileLimits, PROTOCOL_VERSION, Piece, PresenceEvent,
    Resume, ServerFrame, encode, now_rfc3339,
};
use crate::network::text::single_line;
use crate::network::tls::Fingerprint;

mod link;

/// Where the connection is in its life.
enum State {
    /// Dialing and shaking hands; `attempt` counts from 1 and up while reconnecting.
    Dialing { attempt: u32 },
    /// Past the handshake: in the room, or talking to a plain-text host.
    Live(Established),
    /// Attempt `attempt` failed or the link dropped; dial again after `retry_in`.
    WaitingToRetry { attempt: u32, retry_in: Duration },
    /// This event is the last; the thread ends after posting it.
    Finished(ClientEvent),
}

/// What a command that came while no link is up means for the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhileDown {
    Keep,
    /// Dial now ("Retry now").
    Retry,
    /// Disconnect.
    Stop,
}

/// How a live link ended.
enum LinkEnd {
    Disconnected,
    Lost(ClientError),
}

pub(super) struct Supervisor {
    options: ConnectOptions,
    /// Our current nickname (the server may have changed it), wanted again on reconnect.
    nick: String,
    commands: Receiver<ClientCommand>,
    events: Sender<ClientEvent>,
    wake: WakeUp,
    /// Messages sent or waiting to be sent that the host has not confirmed yet, oldest first.
    /// Each is (local id, text, whether it is an action, the nickname of a private message).
    unconfirmed: VecDeque<(u64, String, bool, Option<String>)>,
    resume: Option<Resume>,
    /// Once in, failures are retried; a first attempt that fails is final.
    ever_connected: bool,
    /// Failed attempts and short-lived links since the last link that stayed up: sets the wait.
    failures: u32,
    /// The host key this client expects: the one it was given, else the first one seen.
    pinned: Option<Fingerprint>,
    /// Learned on the first link: whether the host speaks TLS.
    host_encrypts: Option<bool>,
    /// File transfers' thread (`None` if it could not start: file commands are refused).
    files: Option<FilesThread>,
    /// From the last `welcome` and `accepted`: the host's file limits, and whether it
    /// resumed our stay. Handed to the files thread with the link.
    joined_files: Option<(Option<FileLimits>, bool)>,
}

impl Supervisor {
    pub(super) fn new(
        options: ConnectOptions,
        commands: Receiver<ClientCommand>,
        events: Sender<ClientEvent>,
        wake: WakeUp,
    ) -> Self {
        Supervisor {
            nick: options.nick.clone(),
            pinned: options.pinned,
            options,
            commands,
            unconfirmed: VecDeque::new(),
            resume: None,
            ever_connected: false,
            failures: 0,
            host_encrypts: None,
            files: FilesThread::start(events.clone(), Arc::clone(&wake)).ok(),
            joined_files: None,
            events,
            wake,
        }
    }

    fn post(&self, event: ClientEvent) {
        let _ = self.events.send(event);
        (self.wake)();
    }

    pub(super) fn run(&mut self) {
        let mut state = State::Dialing { attempt: 1 };
        loop {
            state = match state {
                State::Dialing { attempt } => self.dial(attempt),
                State::Live(established) => self.live(established),
                State::WaitingToRetry { attempt, retry_in } => match self.wait(retry_in) {
                    true => State::Dialing {
                        attempt: attempt + 1,
                    },
                    false => State::Finished(ClientEvent::Closed),
                },
                State::Finished(event) => {
                    match &event {
                        ClientEvent::Failed(error) => log::info!(
                            "link to {} ended: {}",
                            single_line(&self.options.address),
                            single_line(&error.to_string())
                        ),
                        _ => log::info!("link to {} closed", single_line(&self.options.address)),
                    }
                    if let Some(files) = self.files.take() {
                        files.stop();
                    }
                    return self.post(event);
                }
            };
        }
    }

    fn dial(&mut self, attempt: u32) -> State {
        log::debug!(
            "dialing {} (attempt {attempt})",
            single_line(&self.options.address)
        );
        self.post(ClientEvent::Connecting {
            address: self.options.address.clone(),
            attempt,
        });
        match self.establish() {
            Ok(established) => {
                // A plain host counts as reached only once its link has stayed up (`live`).
                self.ever_connected |= !established.plain;
                State::Live(established)
            }
            Err(error) => self.after_failure(attempt, error),
        }
    }

    /// Runs a link until it ends. Only a link that stayed up `stable_after` starts the backoff
    /// over; every other loss keeps counting, so no host is ever redialed in a tight loop.
    fn live(&mut self, established: Established) -> State {
        let plain = established.plain;
        let started = Instant::now();
        let end = self.run_link(established);
        if started.elapsed() >= self.options.stable_after {
            self.ever_connected = true;
            self.failures = 0;
        }
        match end {
            LinkEnd::Disconnected => State::Finished(ClientEvent::Closed),
            LinkEnd::Lost(_) if plain && !self.ever_connected => {
                State::Finished(ClientEvent::Failed(ClientError::NotNatter {
                    address: self.options.address.clone(),
                }))
            }
            // Attempt 0 failed: the link itself.
            LinkEnd::Lost(error) => self.after_failure(0, error),
        }
    }

    /// Gives up, or says when the next attempt comes.
    fn after_failure(&mut self, attempt: u32, error: ClientError) -> State {
        if !self.ever_connected || error.is_final() {
            return State::Finished(ClientEvent::Failed(error));
        }
        self.failures = self.failures.saturating_add(1);
        if !self.take_queued_commands() {
            return State::Finished(ClientEvent::Closed);
        }
        let retry_in = backoff(
            self.options.backoff_first,
            self.options.backoff_max,
            self.failures,
            jitter(),
        );
        log::info!(
            "link to {} lost: {}; trying again in {retry_in:?}",
            single_line(&self.options.address),
            single_line(&error.to_string())
        );
        self.post(ClientEvent::LinkLost {
            error,
            attempt,
            retry_in,
        });
        State::WaitingToRetry { attempt, retry_in }
    }

    /// Takes the commands that queued up while dialing. A `RetryNow` among them was meant for
    /// an earlier wait (a double click, say): it must not cut the coming one short. False if
    /// told to disconnect.
    fn take_queued_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(command) => {
                    if self.while_down(command) == WhileDown::Stop {
                        return false;
                    }
                }
                Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    /// Waits before a reconnect, still taking commands. False if told to disconnect.
    fn wait(&mut self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(left) {
                Ok(command) => match self.while_down(command) {
                    WhileDown::Keep => {}
                    WhileDown::Retry => return true,
                    WhileDown::Stop => return false,
                },
                Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => return true,
            }
        }
    }

    /// A command that came while no link is up: messages wait as unconfirmed (sent on the
    /// next link), a new nickname is asked for on it.
    fn while_down(&mut self, command: ClientCommand) -> WhileDown {
        match command {
            ClientCommand::Send { local_id, text } => {
                self.unconfirmed.push_back((local_id, text, false, None))
            }
            ClientCommand::SendAction { local_id, text } => {
                self.unconfirmed.push_back((local_id, text, true, None))
            }
            ClientCommand::SendPrivate {
                local_id,
                to,
                text,
                action,
            } => self
                .unconfirmed
                .push_back((local_id, text, action, Some(to))),
            ClientCommand::Rename(nick) => self.nick = nick,
            ClientCommand::Moderate(command) => self.post(ClientEvent::Warning(format!(
                "Not connected to the host just now: /{} was not carried out. Try again once the link is back.",
                command.word()
            ))),
            ClientCommand::RetryNow => return WhileDown::Retry,
            ClientCommand::Disconnect => return WhileDown::Stop,
            ClientCommand::File(command) => self.to_files(FilesInput::Command(command)),
        }
        WhileDown::Keep
    }

    /// Dials, says hello, and reads until we are in the room (or know it is a plain server).
    fn establish(&mut self) -> Result<Established, ClientError> {
        let tcp = dial(&self.options.address, self.options.connect_timeout)?;
        let stream = self.secure(tcp)?;
        let hello = ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            nick: self.nick.clone(),
            resume: self.resume.clone(),
            features: vec![
                FEATURE_PRESENCE.to_string(),
                FEATURE_FILES.to_string(),
                FEATURE_FILE_DATA.to_string(),
                FEATURE_ENCRYPTION.to_string(),
                FEATURE_MODERATION.to_string(),
            ],
        };
        let timeout = self.options.handshake_timeout;
        let (mut established, joined) = greet(stream, &hello, timeout, &mut self.resume)?;
        match joined {
            Some(joined) => self.on_joined(*joined),
            None => self.on_plain_host(&mut established, &hello),
        }
        Ok(established)
    }

    /// Encrypts the link and checks the host's key before anything else is sent. A host with
    /// another key than the pinned one, or a pinned host that no longer encrypts, is not
    /// talked to (unless `allow_unencrypted` says the person chose to). Nor is a host never
    /// pinned that does not prove the key its room announced. A host never pinned, with no
    /// announced key, that does not speak TLS is dialed again in the clear, and the person is
    /// told.
    fn secure(&mut self, tcp: std::net::TcpStream) -> Result<HostStream, ClientError> {
        if self.host_encrypts == Some(false) {
            self.post(ClientEvent::Unencrypted);
            return Ok(HostStream::plain(tcp));
        }
        let (host, _) = parse_address(&self.options.address)?;
        match HostStream::encrypt(tcp, &host, self.options.handshake_timeout) {
            Ok((stream, found)) => {
                if let Some(expected) = self.pinned
                    && expected != found
                {
                    return Err(ClientError::HostKeyChanged { expected, found });
                }
                if let (None, Some(announced)) = (self.pinned, self.options.announced)
                    && announced != found
                {
                    return Err(ClientError::NotAnnouncedKey {
                        announced,
                        found: Some(found),
                    });
                }
                log::debug!(
                    "TLS handshake with {} done; host code {}",
                    single_line(&self.options.address),
                    found.code()
                );
                let first_time = self.pinned.is_none();
                self.pinned = Some(found);
                self.host_encrypts = Some(true);
                self.post(ClientEvent::Encrypted {
                    fingerprint: found,
                    first_time,
                });
                Ok(stream)
            }
            // A host seen encrypting that hangs up mid-handshake is restarting or going away,
            // not giving up encryption: try again later, with no warning.
            Err(TlsRefused::NoAnswer) if self.pinned.is_some() => Err(ClientError::Lost {
                detail: "the host did not finish the encrypted handshake".into(),
            }),
            Err(TlsRefused::NotTls | TlsRefused::NoAnswer) => {
                if let Some(expected) = self.pinned
                    && !self.options.allow_unencrypted
                {
                    return Err(ClientError::NoLongerEncrypted { expected });
                }
                if let (None, Some(announced)) = (self.pinned, self.options.announced)
                    && !self.options.allow_unencrypted
                {
                    return Err(ClientError::NotAnnouncedKey {
                        announced,
                        found: None,
                    });
                }
                self.host_encrypts = Some(false);
                // The first connection carried a handshake the host did not understand.
                log::info!(
                    "{} does not speak TLS; dialing again unencrypted",
                    single_line(&self.options.address)
                );
                let tcp = dial(&self.options.address, self.options.connect_timeout)?;
                self.post(ClientEvent::Unencrypted);
                Ok(HostStream::plain(tcp))
            }
            // Turned away at the door: the host is there and encrypting (or someone forged a
            // refusal, which gains them nothing a dropped packet would not). Try again later;
            // never a reason to talk in the clear.
            Err(TlsRefused::TurnedAway(refusal)) => Err(ClientError::turned_away(refusal)),
            Err(TlsRefused::Io(e)) => Err(ClientError::lost(&e)),
        }
    }

    fn on_joined(&mut self, joined: Joined) {
        let accepted = joined.accepted;
        self.nick = accepted.nick.clone();
        self.joined_files = Some((joined.files, accepted.resumed));
        log::info!(
            "joined {} as {}{}",
            single_line(&self.options.address),
            single_line(&accepted.nick),
            if accepted.resumed {
                " (session resumed)"
            } else {
                ""
            }
        );
        self.post(ClientEvent::Connected {
            nick: accepted.nick,
            server: joined.server,
            welcome: joined.welcome,
            users: accepted.users,
            unencrypted: accepted.unencrypted,
            resumed: accepted.resumed,
            history_complete: accepted.history_complete,
            history: joined.history.len(),
        });
        for message in joined.history {
            self.on_message(message);
        }
    }

    fn on_plain_host(&mut self, established: &mut Established, hello: &ClientFrame) {
        log::info!(
            "{} answered in plain text, not as a Natter host",
            single_line(&self.options.address)
        );
        self.resume = None;
        let mut echoed = encode(hello);
        echoed.pop();
        let looks_like = established
            .early_lines
            .first()
            .and_then(|first| match first {
                Piece::Line(first) => looks_like(first, &echoed),
                Piece::Data(..) => None,
            });
        self.post(ClientEvent::PlainMode {
            address: self.options.address.clone(),
            looks_like: looks_like.map(str::to_string),
        });
        // An echo server sends our hello straight back; nobody needs to see that.
        (established.early_lines).retain(|line| !matches!(line, Piece::Line(l) if *l == echoed));
    }

    /// Posts a chat message; our own confirmed messages stop being unconfirmed.
    fn on_message(&mut self, message: ChatMessage) {
        if let Some(resume) = &mut self.resume {
            resume.last_id = resume.last_id.max(message.id);
        }
        let local_id = message
            .client_id
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok());
        if let Some(id) = local_id {
            self.unconfirmed.retain(|(queued, ..)| *queued != id);
        }
        self.post(ClientEvent::Message { message, local_id });
    }
}

/// The wait before reconnecting after `failures` failures in a row: `first` doubling up to
/// `max`, less a `jitter` share (0.0 to 1.0) of up to a quarter. Never above `max`, never below
/// three quarters of `first`.
fn backoff(first: Duration, max: Duration, failures: u32, jitter: f64) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    let full = first.saturating_mul(factor).min(max);
    full.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// A random share from 0.0 to 1.0; none (0.0) if the OS has no randomness to give.
fn jitter() -> f64 {
    getrandom::u32().map_or(0.0, |r| f64::from(r) / f64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_first_and_never_exceeds_the_cap_whatever_the_jitter() {
        let (first, max) = (Duration::from_millis(500), Duration::from_secs(3));
        let plain: Vec<_> = (1..=5).map(|n| backoff(first, max, n, 0.0)).collect();
        let ms = |d: &Duration| d.as_millis();
        assert_eq!(
            plain.iter().map(ms).collect::<Vec<_>>(),
            vec![500, 1000, 2000, 3000, 3000]
        );
        for failures in [1, 2, 3, 10, 40, u32::MAX] {
            for jitter in [0.0, 0.3, 1.0] {
                let wait = backoff(first, max, failures, jitter);
                assert!(wait <= max, "{wait:?} after {failures} failures");
                assert!(
                    wait >= first.mul_f64(0.75),
                    "{wait:?} after {failures} failures"
                );
            }
        }
    }
}
