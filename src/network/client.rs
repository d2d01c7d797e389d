//! The client side of the network: dialing a host, the handshake, reading and writing frames,
//! reconnecting with backoff and resending what was not confirmed.
//!
//! Owns one supervisor thread per connection (it dials, writes and reconnects) and one reader
//! thread per live link. Talks to its owner only through [`ClientCommand`]s in and
//! [`ClientEvent`]s out, calling the [`WakeUp`] after each event. Knows nothing of windows.
//!
//! A server that does not answer with a Natter `welcome` (an echo server, a tutorial chat
//! server) is spoken to in plain mode: raw lines both ways.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::WakeUp;
use super::protocol::{
    ChatMessage, ClientFrame, DEFAULT_PORT, ErrorCode, LeaveReason, LineSplitter, MAX_LINE_BYTES,
    PROTOCOL_VERSION, Resume, ServerFrame, decode, encode, now_rfc3339,
};
use super::text::clean_text;

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
    /// First wait before reconnecting; it doubles up to `backoff_max`.
    pub backoff_first: Duration,
    pub backoff_max: Duration,
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
            backoff_max: Duration::from_secs(15),
        }
    }
}

/// What the owner asks of the connection (UI → network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// Send a message. It stays in the outbox, and is sent again after a reconnect, until the
    /// server confirms it ([`ClientEvent::Message`] with this `local_id`) or refuses it
    /// ([`ClientEvent::NotSent`]). `local_id` must be unique for this client's lifetime.
    Send { local_id: u64, text: String },
    /// Ask for another nickname; the answer is a [`ClientEvent::Renamed`] or a warning.
    Rename(String),
    /// Leave on purpose: says `bye`, closes, and ends with [`ClientEvent::Closed`].
    Disconnect,
}

/// What happened on the connection (network → UI). Events come in the order things happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Dialing; `attempt` is 1 for the first try and counts up while reconnecting.
    Connecting {
        address: String,
        attempt: u32,
    },
    /// In the room. `users` includes us. The history follows as `Message` events.
    Connected {
        nick: String,
        server: String,
        welcome: String,
        users: Vec<String>,
        /// The server recognised us and sends exactly what we missed.
        resumed: bool,
        /// False if we missed more than the server keeps.
        history_complete: bool,
    },
    /// The server does not speak Natter: lines go out raw and come back as `PlainText`.
    PlainMode {
        address: String,
    },
    /// A chat message, live or from history. `local_id` is set when it is our own message
    /// coming back: the server's confirmation that it was delivered.
    Message {
        message: ChatMessage,
        local_id: Option<u64>,
    },
    /// A line from a server in plain mode, escapes stripped.
    PlainText(String),
    Joined {
        nick: String,
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
    /// The server refused one of our messages; it is out of the outbox and was not delivered.
    NotSent {
        local_id: u64,
        reason: String,
    },
    /// Something the person should read that changes nothing (e.g. a refused nickname).
    Warning(String),
    /// The link dropped; a new attempt starts after `retry_in`. Unconfirmed messages wait.
    LinkLost {
        error: ClientError,
        retry_in: Duration,
    },
    /// Gave up (the first connection failed, or the host refused us for good). Last event.
    Failed(ClientError),
    /// Closed on request. Last event.
    Closed,
}

/// Why a connection failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(
        "\"{input}\" is not an address: {why} Type the host's IP address, such as 192.168.1.20, or with a port, 192.168.1.20:5050."
    )]
    InvalidAddress { input: String, why: String },
    #[error(
        "Could not find a computer called \"{host}\": check the spelling, or type its IP address (the host's Natter window lists it)."
    )]
    UnknownHost { host: String },
    #[error(
        "Connection refused by {addr}: is the host running Natter, and is the port right? A firewall may block it."
    )]
    Refused { addr: SocketAddr },
    #[error(
        "No answer from {addr} within {secs} s: is the address right? A firewall may block port {port}."
    )]
    TimedOut {
        addr: SocketAddr,
        secs: u64,
        port: u16,
    },
    #[error("Cannot reach {addr}: is this computer on the same network as the host?")]
    Unreachable { addr: SocketAddr },
    #[error(
        "The host speaks Natter protocol version {theirs}, this app version {ours}: use the same Natter version on both ends."
    )]
    VersionMismatch { ours: u32, theirs: u32 },
    #[error("The host refused: {message}")]
    Rejected { code: ErrorCode, message: String },
    #[error("The host stopped hosting.")]
    HostStopped,
    #[error("The connection to the host was lost ({detail}).")]
    Lost { detail: String },
    #[error("Nothing heard from the host for {secs} s: the link seems down.")]
    Silent { secs: u64 },
}

impl ClientError {
    /// Final errors end the client; the others are retried with backoff once connected.
    pub fn is_final(&self) -> bool {
        match self {
            ClientError::InvalidAddress { .. } | ClientError::VersionMismatch { .. } => true,
            ClientError::Rejected { code, .. } => !matches!(
                code,
                ErrorCode::RoomFull
                    | ErrorCode::TooManyConnections
                    | ErrorCode::IdleTimeout
                    | ErrorCode::HandshakeTimeout
            ),
            _ => false,
        }
    }

    fn from_connect(e: &io::Error, addr: SocketAddr, timeout: Duration) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => ClientError::Refused { addr },
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ClientError::TimedOut {
                addr,
                secs: timeout.as_secs().max(1),
                port: addr.port(),
            },
            io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
                ClientError::Unreachable { addr }
            }
            _ => ClientError::Lost {
                detail: e.to_string(),
            },
        }
    }

    fn lost(e: &io::Error) -> Self {
        ClientError::Lost {
            detail: e.to_string(),
        }
    }
}

/// Splits what a person typed into host and port, checking it on the way.
pub fn parse_address(input: &str) -> Result<(String, u16), ClientError> {
    let trimmed = input.trim();
    let invalid = |why: &str| ClientError::InvalidAddress {
        input: trimmed.to_string(),
        why: why.to_string(),
    };
    if trimmed.is_empty() {
        return Err(invalid("it is empty."));
    }
    if let Ok(addr) = trimmed.parse::<SocketAddr>() {
        return Ok((addr.ip().to_string(), addr.port()));
    }
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok((ip.to_string(), DEFAULT_PORT));
    }
    if let Some(inner) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => Ok((ip.to_string(), DEFAULT_PORT)),
            Err(_) => Err(invalid("the part in brackets is not an IPv6 address.")),
        };
    }
    let (host, port) = match trimmed.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| invalid("the port after ':' must be a number from 1 to 65535."))?;
            (host, port)
        }
        None => (trimmed, DEFAULT_PORT),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if !host_ok {
        return Err(invalid("it is neither an IP address nor a computer name."));
    }
    Ok((host.to_string(), port))
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
        .spawn(move || {
            let mut supervisor = Supervisor {
                nick: options.nick.clone(),
                options,
                commands,
                events: events_tx,
                wake,
                outbox: VecDeque::new(),
                resume: None,
            };
            supervisor.run();
        })?;
    Ok(ClientHandle {
        commands: commands_tx,
        events,
        supervisor: Some(supervisor),
    })
}

/// The live link after a successful handshake.
struct Link {
    stream: TcpStream,
    /// Bytes already read past the handshake, with their partial last line.
    splitter: LineSplitter,
    /// Complete lines read during the handshake that belong to the session.
    early_lines: Vec<Vec<u8>>,
    plain: bool,
}

/// What the reader thread passes to the supervisor.
enum Incoming {
    Frame(ServerFrame),
    Text(String),
    Ended(ClientError),
}

/// How a live link ended.
enum LinkEnd {
    Disconnected,
    Lost(ClientError),
}

struct Supervisor {
    options: ConnectOptions,
    /// Our current nickname (the server may have changed it), wanted again on reconnect.
    nick: String,
    commands: Receiver<ClientCommand>,
    events: Sender<ClientEvent>,
    wake: WakeUp,
    /// Sent or waiting, not yet confirmed.
    outbox: VecDeque<(u64, String)>,
    resume: Option<Resume>,
}

impl Supervisor {
    fn post(&self, event: ClientEvent) {
        let _ = self.events.send(event);
        (self.wake)();
    }

    fn run(&mut self) {
        let mut attempt = 0;
        let mut ever_connected = false;
        loop {
            attempt += 1;
            self.post(ClientEvent::Connecting {
                address: self.options.address.clone(),
                attempt,
            });
            let error = match self.establish() {
                Ok(link) => {
                    ever_connected = true;
                    attempt = 1;
                    match self.run_link(link) {
                        LinkEnd::Disconnected => return self.post(ClientEvent::Closed),
                        LinkEnd::Lost(error) => error,
                    }
                }
                Err(error) => error,
            };
            if !ever_connected || error.is_final() {
                return self.post(ClientEvent::Failed(error));
            }
            let retry_in = self.backoff(attempt);
            self.post(ClientEvent::LinkLost { error, retry_in });
            if !self.wait(retry_in) {
                return self.post(ClientEvent::Closed);
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(10);
        (self.options.backoff_first * factor).min(self.options.backoff_max)
    }

    /// Waits before a reconnect, still taking commands. False if told to disconnect.
    fn wait(&mut self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(left) {
                Ok(ClientCommand::Send { local_id, text }) => {
                    self.outbox.push_back((local_id, text))
                }
                Ok(ClientCommand::Rename(nick)) => self.nick = nick,
                Ok(ClientCommand::Disconnect) | Err(RecvTimeoutError::Disconnected) => {
                    return false;
                }
                Err(RecvTimeoutError::Timeout) => return true,
            }
        }
    }

    /// Dials, says hello, and reads until we are in the room (or know it is a plain server).
    fn establish(&mut self) -> Result<Link, ClientError> {
        let (host, port) = parse_address(&self.options.address)?;
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|_| ClientError::UnknownHost { host: host.clone() })?
            .collect();
        let mut last_error = ClientError::UnknownHost { host };
        let mut connected = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.options.connect_timeout) {
                Ok(stream) => {
                    connected = Some(stream);
                    break;
                }
                Err(e) => {
                    last_error = ClientError::from_connect(&e, addr, self.options.connect_timeout)
                }
            }
        }
        let stream = connected.ok_or(last_error)?;
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        // Speak at once: the server tells Natter clients from plain peers by the first byte.
        let hello = encode(&ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            nick: self.nick.clone(),
            resume: self.resume.clone(),
        });
        (&stream)
            .write_all(&hello)
            .map_err(|e| ClientError::lost(&e))?;
        self.handshake(stream, &hello)
    }

    fn handshake(&mut self, stream: TcpStream, hello: &[u8]) -> Result<Link, ClientError> {
        let deadline = Instant::now() + self.options.handshake_timeout;
        let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
        let mut lines: VecDeque<Vec<u8>> = VecDeque::new();
        let mut buf = vec![0u8; 16 * 1024];
        let mut welcome: Option<(String, String)> = None;
        let mut accepted: Option<(String, Vec<String>, bool, bool, usize)> = None;
        let mut history: Vec<ChatMessage> = Vec::new();
        loop {
            while let Some(line) = lines.pop_front() {
                if welcome.is_none() {
                    match decode::<ServerFrame>(&line) {
                        Ok(ServerFrame::Welcome {
                            server,
                            version,
                            text,
                            ..
                        }) => {
                            if version != PROTOCOL_VERSION {
                                return Err(ClientError::VersionMismatch {
                                    ours: PROTOCOL_VERSION,
                                    theirs: version,
                                });
                            }
                            welcome = Some((server, text));
                            continue;
                        }
                        // Not a Natter server: everything from here on is plain text.
                        _ => {
                            lines.push_front(line);
                            return Ok(self.plain_link(stream, splitter, lines, hello));
                        }
                    }
                }
                let frame = decode::<ServerFrame>(&line).map_err(|e| ClientError::Lost {
                    detail: format!("the host sent a bad frame: {e}"),
                })?;
                match (frame, &accepted) {
                    (ServerFrame::Error { code, message, .. }, _) => {
                        return Err(ClientError::Rejected { code, message });
                    }
                    (
                        ServerFrame::Accepted {
                            nick,
                            session,
                            users,
                            history_count,
                            resumed,
                            history_complete,
                        },
                        None,
                    ) => {
                        self.resume = Some(Resume {
                            session,
                            last_id: self.resume.as_ref().map_or(0, |r| r.last_id),
                        });
                        accepted = Some((nick, users, resumed, history_complete, history_count));
                    }
                    (ServerFrame::Chat(message), Some(_)) => history.push(message),
                    (ServerFrame::Ping {}, _) => {
                        let _ = (&stream).write_all(&encode(&ClientFrame::Pong {}));
                    }
                    (other, _) => {
                        return Err(ClientError::Lost {
                            detail: format!("the host sent {other:?} during the handshake"),
                        });
                    }
                }
                if let Some((_, _, _, _, count)) = &accepted
                    && history.len() >= *count
                {
                    let Some((nick, users, resumed, history_complete, _)) = accepted.take() else {
                        break;
                    };
                    let (server, welcome) = welcome.take().unwrap_or_default();
                    self.nick = nick.clone();
                    self.post(ClientEvent::Connected {
                        nick,
                        server,
                        welcome,
                        users,
                        resumed,
                        history_complete,
                    });
                    for message in history {
                        self.on_message(message);
                    }
                    return Ok(Link {
                        stream,
                        splitter,
                        early_lines: lines.into(),
                        plain: false,
                    });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if welcome.is_some() {
                    return Err(ClientError::Lost {
                        detail: "the host did not finish the handshake".into(),
                    });
                }
                // Silence, or text without a newline: a plain server.
                return Ok(self.plain_link(stream, splitter, lines, hello));
            }
            let _ = stream.set_read_timeout(Some(left));
            match (&stream).read(&mut buf) {
                Ok(0) if welcome.is_none() && !splitter.has_partial() => {
                    return Err(ClientError::Lost {
                        detail: "the host closed the connection at once".into(),
                    });
                }
                Ok(0) => {
                    lines.extend(splitter.take_partial());
                    if welcome.is_none() {
                        return Ok(self.plain_link(stream, splitter, lines, hello));
                    }
                    return Err(ClientError::Lost {
                        detail: "the host closed the connection during the handshake".into(),
                    });
                }
                Ok(n) => {
                    let mut complete = Vec::new();
                    if splitter.push(&buf[..n], &mut complete).is_err() {
                        return Err(ClientError::Lost {
                            detail: "the host sent a line that is too long".into(),
                        });
                    }
                    lines.extend(complete);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(ClientError::lost(&e)),
            }
        }
    }

    fn plain_link(
        &mut self,
        stream: TcpStream,
        splitter: LineSplitter,
        lines: VecDeque<Vec<u8>>,
        hello: &[u8],
    ) -> Link {
        self.resume = None;
        self.post(ClientEvent::PlainMode {
            address: self.options.address.clone(),
        });
        // An echo server sends our hello straight back; nobody needs to see that.
        let echoed = &hello[..hello.len() - 1];
        Link {
            stream,
            splitter,
            early_lines: lines.into_iter().filter(|l| l != echoed).collect(),
            plain: true,
        }
    }

    /// Posts a chat message; our own confirmed messages leave the outbox.
    fn on_message(&mut self, message: ChatMessage) {
        if let Some(resume) = &mut self.resume {
            resume.last_id = resume.last_id.max(message.id);
        }
        let local_id = message
            .client_id
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok());
        if let Some(id) = local_id {
            self.outbox.retain(|(queued, _)| *queued != id);
        }
        self.post(ClientEvent::Message { message, local_id });
    }

    fn run_link(&mut self, link: Link) -> LinkEnd {
        let (incoming_tx, incoming) = crossbeam_channel::unbounded();
        let reader_stream = match link.stream.try_clone() {
            Ok(stream) => stream,
            Err(e) => return LinkEnd::Lost(ClientError::lost(&e)),
        };
        let plain = link.plain;
        let idle_timeout = self.options.idle_timeout;
        let early = link.early_lines;
        let splitter = link.splitter;
        let reader = thread::Builder::new()
            .name("natter-client-read".into())
            .spawn(move || {
                read_loop(
                    reader_stream,
                    splitter,
                    early,
                    plain,
                    idle_timeout,
                    incoming_tx,
                )
            });
        let reader = match reader {
            Ok(reader) => reader,
            Err(e) => return LinkEnd::Lost(ClientError::lost(&e)),
        };
        let stream = link.stream;
        // Unconfirmed messages from before the drop go out again, oldest first.
        let mut end = None;
        for (local_id, text) in self.outbox.clone() {
            if let Err(e) = self.write_chat(&stream, plain, local_id, &text) {
                end = Some(LinkEnd::Lost(e));
                break;
            }
        }
        let end = match end {
            Some(end) => end,
            None => self.pump(&stream, plain, &incoming),
        };
        if matches!(end, LinkEnd::Disconnected) && !plain {
            let _ = (&stream).write_all(&encode(&ClientFrame::Bye {}));
        }
        let _ = stream.shutdown(Shutdown::Both);
        let _ = reader.join();
        end
    }

    /// Moves commands to the socket and frames to events until the link ends.
    fn pump(&mut self, stream: &TcpStream, plain: bool, incoming: &Receiver<Incoming>) -> LinkEnd {
        loop {
            crossbeam_channel::select! {
                recv(self.commands) -> command => match command {
                    Ok(ClientCommand::Send { local_id, text }) => {
                        self.outbox.push_back((local_id, text.clone()));
                        if let Err(e) = self.write_chat(stream, plain, local_id, &text) {
                            return LinkEnd::Lost(e);
                        }
                    }
                    Ok(ClientCommand::Rename(nick)) => {
                        if plain {
                            self.nick = nick;
                        } else if let Err(e) = write_frame(stream, &ClientFrame::Nick { nick }) {
                            return LinkEnd::Lost(e);
                        }
                    }
                    Ok(ClientCommand::Disconnect) | Err(_) => return LinkEnd::Disconnected,
                },
                recv(incoming) -> item => match item {
                    Ok(Incoming::Frame(frame)) => {
                        if let Some(end) = self.on_frame(stream, frame) {
                            return end;
                        }
                    }
                    Ok(Incoming::Text(text)) => self.post(ClientEvent::PlainText(text)),
                    Ok(Incoming::Ended(error)) => return LinkEnd::Lost(error),
                    Err(_) => return LinkEnd::Lost(ClientError::Lost { detail: "reader stopped".into() }),
                },
            }
        }
    }

    fn write_chat(
        &mut self,
        stream: &TcpStream,
        plain: bool,
        local_id: u64,
        text: &str,
    ) -> Result<(), ClientError> {
        if plain {
            let mut line = text.replace('\n', " ");
            line.push('\n');
            (&*stream)
                .write_all(line.as_bytes())
                .map_err(|e| ClientError::lost(&e))?;
            // A plain server confirms nothing: written is as delivered as it gets.
            let message = ChatMessage {
                id: 0,
                time: now_rfc3339(),
                from: self.nick.clone(),
                text: text.to_string(),
                client_id: None,
            };
            self.outbox.retain(|(queued, _)| *queued != local_id);
            self.post(ClientEvent::Message {
                message,
                local_id: Some(local_id),
            });
            return Ok(());
        }
        write_frame(
            stream,
            &ClientFrame::Chat {
                text: text.to_string(),
                client_id: Some(local_id.to_string()),
            },
        )
    }

    fn on_frame(&mut self, stream: &TcpStream, frame: ServerFrame) -> Option<LinkEnd> {
        match frame {
            ServerFrame::Chat(message) => self.on_message(message),
            ServerFrame::Join { nick, time } => self.post(ClientEvent::Joined { nick, time }),
            ServerFrame::Leave {
                nick,
                reason,
                detail,
                time,
            } => self.post(ClientEvent::Left {
                nick,
                reason,
                detail,
                time,
            }),
            ServerFrame::Nick { from, to, time } => {
                if from == self.nick {
                    self.nick = to.clone();
                }
                self.post(ClientEvent::Renamed { from, to, time });
            }
            ServerFrame::Ping {} => {
                if let Err(e) = write_frame(stream, &ClientFrame::Pong {}) {
                    return Some(LinkEnd::Lost(e));
                }
            }
            ServerFrame::Error {
                code,
                message,
                client_id,
            } => {
                let local_id = client_id.and_then(|id| id.parse::<u64>().ok());
                match local_id {
                    Some(local_id) if !code.is_fatal() => {
                        self.outbox.retain(|(queued, _)| *queued != local_id);
                        self.post(ClientEvent::NotSent {
                            local_id,
                            reason: message,
                        });
                    }
                    _ if !code.is_fatal() => self.post(ClientEvent::Warning(message)),
                    _ => return Some(LinkEnd::Lost(ClientError::Rejected { code, message })),
                }
            }
            ServerFrame::Bye { .. } => return Some(LinkEnd::Lost(ClientError::HostStopped)),
            ServerFrame::Pong {} | ServerFrame::Welcome { .. } | ServerFrame::Accepted { .. } => {}
        }
        None
    }
}

fn write_frame(stream: &TcpStream, frame: &ClientFrame) -> Result<(), ClientError> {
    (&*stream)
        .write_all(&encode(frame))
        .map_err(|e| ClientError::lost(&e))
}

/// The reader thread: turns bytes into frames (or plain lines) for the supervisor.
fn read_loop(
    stream: TcpStream,
    mut splitter: LineSplitter,
    early_lines: Vec<Vec<u8>>,
    plain: bool,
    idle_timeout: Duration,
    incoming: Sender<Incoming>,
) {
    let to_item = |line: &[u8]| -> Option<Incoming> {
        if plain {
            let text = clean_text(&String::from_utf8_lossy(line));
            return Some(Incoming::Text(text));
        }
        match decode::<ServerFrame>(line) {
            Ok(frame) => Some(Incoming::Frame(frame)),
            Err(e) => Some(Incoming::Ended(ClientError::Lost {
                detail: format!("the host sent a bad frame: {e}"),
            })),
        }
    };
    for line in early_lines {
        if let Some(item) = to_item(&line) {
            let _ = incoming.send(item);
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut last_heard = Instant::now();
    loop {
        // A plain server's prompt ("Enter your name: ") has no newline: show it after a pause.
        let timeout = if plain && splitter.has_partial() {
            Duration::from_millis(200)
        } else {
            idle_timeout
        };
        let _ = stream.set_read_timeout(Some(timeout));
        let mut lines = Vec::new();
        let result = match (&stream).read(&mut buf) {
            Ok(0) => Err(ClientError::Lost {
                detail: "the host closed the connection".into(),
            }),
            Ok(n) => {
                last_heard = Instant::now();
                splitter
                    .push(&buf[..n], &mut lines)
                    .map_err(|_| ClientError::Lost {
                        detail: "the host sent a line that is too long".into(),
                    })
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if plain && splitter.has_partial() {
                    lines.extend(splitter.take_partial());
                    Ok(())
                } else if last_heard.elapsed() >= idle_timeout && !plain {
                    Err(ClientError::Silent {
                        secs: idle_timeout.as_secs(),
                    })
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(ClientError::lost(&e)),
        };
        for line in lines {
            if let Some(item) = to_item(&line) {
                let failed = matches!(item, Incoming::Ended(_));
                if incoming.send(item).is_err() || failed {
                    return;
                }
            }
        }
        if let Err(error) = result {
            if plain
                && let Some(line) = splitter.take_partial()
                && let Some(item) = to_item(&line)
            {
                let _ = incoming.send(item);
            }
            let _ = incoming.send(Incoming::Ended(error));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_parsed_with_the_default_port() {
        assert_eq!(
            parse_address("192.168.1.20").unwrap(),
            ("192.168.1.20".into(), 5050)
        );
        assert_eq!(
            parse_address(" 10.0.0.7:6000 ").unwrap(),
            ("10.0.0.7".into(), 6000)
        );
        assert_eq!(parse_address("[::1]:7000").unwrap(), ("::1".into(), 7000));
        assert_eq!(
            parse_address("[fe80::1]").unwrap(),
            ("fe80::1".into(), 5050)
        );
        assert_eq!(parse_address("::1").unwrap(), ("::1".into(), 5050));
        assert_eq!(
            parse_address("my-pc.local").unwrap(),
            ("my-pc.local".into(), 5050)
        );
        assert_eq!(parse_address("my-pc:5051").unwrap(), ("my-pc".into(), 5051));
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (input, hint) in [
            ("", "empty"),
            ("1.2.3.4:port", "port"),
            ("1.2.3.4:70000", "port"),
            ("host:0", "port"),
            ("my pc", "neither"),
            ("[zz]", "IPv6"),
            ("a..b", "neither"),
        ] {
            let error = parse_address(input).unwrap_err();
            assert!(error.is_final());
            assert!(error.to_string().contains(hint), "{input}: {error}");
            assert!(error.to_string().contains("192.168.1.20"), "{error}");
        }
    }

    #[test]
    fn connect_errors_carry_a_hint() {
        let addr: SocketAddr = "10.1.2.3:5050".parse().unwrap();
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let text = ClientError::from_connect(&refused, addr, Duration::from_secs(5)).to_string();
        assert!(text.contains("is the host running"), "{text}");
        let timed_out = io::Error::from(io::ErrorKind::TimedOut);
        let text = ClientError::from_connect(&timed_out, addr, Duration::from_secs(5)).to_string();
        assert!(text.contains("firewall may block port 5050"), "{text}");
    }
}
