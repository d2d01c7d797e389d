//! The client side of the network: dialing a host, the handshake, reading and writing frames,
//! reconnecting with backoff and resending what was not confirmed.
//!
//! This module owns the public face: [`connect`], the [`ClientHandle`], the
//! [`ClientCommand`]s it takes (UI → network) and the [`ClientEvent`]s it reports
//! (network → UI). The work is split by concept:
//!
//! - `address`: what a person types to reach a host ([`parse_address`]);
//! - `error`: why a connection failed, in words ([`ClientError`]);
//! - `from_host`: decoding the host's lines with every text field cleaned;
//! - `handshake`: dialing, `hello`, and the handshake as a small state type;
//! - `host_stream`: the link's bytes, bare or through TLS, with the host key's fingerprint;
//! - `supervisor`: the connection's life as a loop over named states, one thread;
//! - `link_io`: the link thread, the one owner of a live link's socket and TLS session;
//! - `reader`: what a live link does with the host's bytes (lines, frames, idle timeout).
//!
//! Knows nothing of windows; calls the [`WakeUp`] after each event.
//!
//! A server that does not answer with a Natter `welcome` (an echo server, a tutorial chat
//! server) is spoken to in plain mode: raw lines both ways.

mod address;
mod error;
mod from_host;
mod handshake;
mod host_stream;
mod link_io;
mod reader;
mod supervisor;
mod transfers;

use std::io;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

pub use address::parse_address;
pub use error::ClientError;
pub use transfers::FileCommand;

use super::WakeUp;
use super::protocol::{ChatMessage, FileOffer, LeaveReason, ModCommand, ModNotice, RoomRoles};
use super::tls::Fingerprint;
use supervisor::Supervisor;

/// How to reach a host and how patient to be.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// What the person typed: `host`, `host:port`, `IP`, `IP:port` or `[IPv6]:port`.
    pub address: String,
    pub nick: String,
    pub connect_timeout: Duration,
    /// No Natter `welcome` within this time means the server speaks plain text.
    pub handshake_timeout: Duration,
    /// Nothing heard for this long (the server pings every 15 s) means the link is dead.
    pub idle_timeout: Duration,
    /// First wait before reconnecting; it doubles up to `backoff_max`. Each wait is cut by a
    /// random share of up to a quarter (jitter), so clients of one host do not come back in
    /// step; no wait is ever longer than `backoff_max`.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// A link that stays up this long counts as working: its loss starts the backoff over.
    /// A shorter link does not, so a host that lets us in and hangs up at once is retried
    /// with a growing wait, never in a loop. A plain host that closes sooner than this
    /// without ever having stayed up is not a host to retry: the client gives up.
    pub stable_after: Duration,
    /// The host key this client trusts for this host (remembered from an earlier connection,
    /// or announced). A host that shows another key, or no longer encrypts, is not talked to:
    /// the client fails with [`ClientError::HostKeyChanged`] or
    /// [`ClientError::NoLongerEncrypted`] before sending anything. `None`: the first key seen
    /// is trusted for the rest of this client's life (trust on first use).
    pub pinned: Option<Fingerprint>,
    /// The key the room announced, for a room joined from the network list with no key
    /// `pinned`: a host that proves another key, or offers no encryption, fails with
    /// [`ClientError::NotAnnouncedKey`] before anything is sent. An announcement proves
    /// nothing, so a host that proves this key is still a first visit (the person is asked
    /// to compare the code).
    pub announced: Option<Fingerprint>,
    /// The person chose to talk to this pinned host although it no longer encrypts.
    pub allow_unencrypted: bool,
    /// The hosting window's own link: the secret that makes this stay the room's host
    /// (`ServerConfig::host_token`), presented on every link. `None` for everyone else.
    pub host_token: Option<String>,
}

impl ConnectOptions {
    pub fn new(address: impl Into<String>, nick: impl Into<String>) -> Self {
        ConnectOptions {
            address: address.into(),
            nick: nick.into(),
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(45),
            backoff_first: Duration::from_millis(500),
            // On a LAN a host is back within seconds: keep the waits short.
            backoff_max: Duration::from_secs(3),
            stable_after: Duration::from_secs(10),
            pinned: None,
            announced: None,
            allow_unencrypted: false,
            host_token: None,
        }
    }
}

/// What the owner asks of the connection (UI → network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// Send a message. It stays unconfirmed, and is sent again after a reconnect, until the
    /// server confirms it ([`ClientEvent::Message`] with this `local_id`) or refuses it
    /// ([`ClientEvent::NotSent`]). `local_id` must be unique for this client's lifetime.
    Send { local_id: u64, text: String },
    /// Like `Send`, for an action ("/me waves" sends `waves`): everyone sees `* alice waves`.
    SendAction { local_id: u64, text: String },
    /// Like `Send`, for `to` alone (a private message); the server refuses it with a reason
    /// ([`ClientEvent::NotSent`]) when nobody of that name is online or it is us.
    SendPrivate {
        local_id: u64,
        to: String,
        text: String,
        action: bool,
    },
    /// Ask for another nickname; the answer is a [`ClientEvent::Renamed`] or a warning.
    Rename(String),
    /// Leave on purpose: says `bye`, closes, and ends with [`ClientEvent::Closed`].
    Disconnect,
    /// While waiting to reconnect (after [`ClientEvent::LinkLost`]): stop waiting and dial
    /// now. Ignored at any other time. The backoff is not reset: if this attempt fails too,
    /// the next wait is as long as it would have been.
    RetryNow,
    /// Offer, save, decline or stop a file (see [`FileCommand`]). Taken also while the link
    /// is down: what must reach the host goes out on the next link.
    File(FileCommand),
    /// A host's or co-host's command (`/mute bob 10`…); the answer comes as
    /// [`ClientEvent::Moderation`], [`ClientEvent::Notice`] or a [`ClientEvent::Warning`].
    Moderate(ModCommand),
}

/// What happened on the connection (network → UI). Events come in the order things happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Dialing; `attempt` is 1 for the first try and counts up while reconnecting.
    Connecting { address: String, attempt: u32 },
    /// The link is encrypted with the host key `fingerprint`, checked against the pinned one.
    /// `first_time`: no key was pinned, so this one is trusted from now on (the person should
    /// compare its code with the host's screen). Posted on every encrypted link, before
    /// `Connected`.
    Encrypted {
        fingerprint: Fingerprint,
        first_time: bool,
    },
    /// The host speaks no TLS: this link is not encrypted. Posted on every such link, before
    /// `Connected` or `PlainMode`.
    Unencrypted,
    /// In the room. `users` includes us. The history follows as `Message` events.
    Connected {
        nick: String,
        server: String,
        welcome: String,
        users: Vec<String>,
        /// Those of `users` whose link to the host is not encrypted.
        unencrypted: Vec<String>,
        /// The server recognised us and sends exactly what we missed.
        resumed: bool,
        /// False if we missed more than the server keeps.
        history_complete: bool,
        /// How many of the `Message` events that follow at once are history (sent before we
        /// joined), not live.
        history: usize,
    },
    /// The server does not speak Natter: lines go out raw and come back as `PlainText`.
    /// `looks_like` is what its first bytes suggest it is, e.g. "a web server", when they
    /// suggest anything. Posted on every plain link (also after a reconnect).
    PlainMode {
        address: String,
        looks_like: Option<String>,
    },
    /// A chat message, live or from history. `local_id` is set when it is our own message
    /// coming back: the server's confirmation that it was delivered. `message.to` is set on a
    /// private message (to us, or ours to that person); the host sends it to nobody else.
    Message {
        message: ChatMessage,
        local_id: Option<u64>,
    },
    /// A line from a server in plain mode, escapes stripped.
    PlainText(String),
    Joined {
        nick: String,
        time: String,
        /// The newcomer's link to the host is not encrypted.
        unencrypted: bool,
    },
    /// `nick`'s stay came back over a link that is not encrypted (`unencrypted`), or that is
    /// again: the mark in the user list follows.
    EncryptionChanged {
        nick: String,
        unencrypted: bool,
        time: String,
    },
    Left {
        nick: String,
        reason: LeaveReason,
        detail: String,
        time: String,
    },
    /// Someone, maybe we, changed nickname.
    Renamed {
        from: String,
        to: String,
        time: String,
    },
    /// The server refused one of our messages; it is no longer unconfirmed and was not delivered.
    NotSent { local_id: u64, reason: String },
    /// Something the person should read that changes nothing (e.g. a refused nickname).
    Warning(String),
    /// Someone ran the room: `notice.text` is the line to show (`notice.you`: it was done to
    /// us).
    Moderation(ModNotice),
    /// The room's roles as we see them: ours, the host, co-hosts, the lecture, our mute.
    Roles(RoomRoles),
    /// A line for us alone from the host (the list of bans, what a command did).
    Notice(String),
    /// The link dropped (`attempt` 0), or reconnect attempt `attempt` failed; attempt
    /// `attempt + 1` starts after `retry_in` (or at once on [`ClientCommand::RetryNow`]). Posted once per failed
    /// attempt. Unconfirmed messages wait.
    LinkLost {
        error: ClientError,
        attempt: u32,
        retry_in: Duration,
    },
    /// We asked to offer a file (`FileCommand::Offer`): it is being read and hashed as `id`.
    FileOffering {
        id: String,
        name: String,
        to: Option<String>,
    },
    /// A file on offer: someone's (we may save or decline it), or ours (`ours`) now shown by
    /// the host. `offer.name` is cleaned as the file would be saved.
    FileOffered { offer: FileOffer, ours: bool },
    /// A transfer moved: `done` of `total` bytes at `bytes_per_sec`. `peer`: the receiver of
    /// one delivery of our file `id`; `None`: a file we save. About ten a second at most
    /// per transfer.
    FileProgress {
        id: String,
        peer: Option<String>,
        done: u64,
        total: u64,
        bytes_per_sec: u64,
    },
    /// The file `id` we saved is complete at `path`, its SHA-256 checked.
    FileSaved {
        id: String,
        path: std::path::PathBuf,
    },
    /// `peer` has all of our file `id`, checked.
    FileDelivered { id: String, peer: String },
    /// `peer` does not want our file `id`.
    FileDeclined { id: String, peer: String },
    /// A transfer ended before its end, `reason` in words: our offer `id` (`peer` `None`:
    /// for everyone), its delivery to `peer`, or our saving of `id` (its partial file is
    /// removed), or someone's offer `id` was withdrawn.
    FileStopped {
        id: String,
        peer: Option<String>,
        reason: String,
        /// Someone's offer `id` is still open: Save may be pressed again (after a stop of our
        /// own saving, or a download whose check failed). False for our own offers, and for
        /// offers withdrawn or forgotten by the host.
        offer_open: bool,
    },
    /// Gave up (the first connection failed, or the host refused us for good). Last event.
    Failed(ClientError),
    /// Closed on request. Last event.
    Closed,
}

/// A running connection. Dropping it disconnects too; [`ClientHandle::disconnect`] also waits.
pub struct ClientHandle {
    commands: Sender<ClientCommand>,
    events: Receiver<ClientEvent>,
    supervisor: Option<JoinHandle<()>>,
}

impl ClientHandle {
    pub fn send(&self, command: ClientCommand) {
        // A closed channel means the client already ended, and said so with its last event.
        let _ = self.commands.send(command);
    }

    pub fn events(&self) -> &Receiver<ClientEvent> {
        &self.events
    }

    /// Says `bye`, closes, and joins the client's threads.
    pub fn disconnect(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            let _ = self.commands.send(ClientCommand::Disconnect);
            let _ = supervisor.join();
        }
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Starts connecting in the background and returns at once; progress arrives as events.
pub fn connect(options: ConnectOptions, wake: WakeUp) -> io::Result<ClientHandle> {
    let (commands_tx, commands) = crossbeam_channel::unbounded();
    let (events_tx, events) = crossbeam_channel::unbounded();
    let supervisor = thread::Builder::new()
        .name("natter-client".into())
        .spawn(move || Supervisor::new(options, commands, events_tx, wake).run())?;
    Ok(ClientHandle {
        commands: commands_tx,
        events,
        supervisor: Some(supervisor),
    })
}
