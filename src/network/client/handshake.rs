//! Dialing a host and the handshake, up to being in the room (or knowing the host is plain).
//!
//! Owns resolving the address, connecting, sending `hello`, and [`Handshake`]: the small
//! state type that reads `welcome`, `accepted` and the history that follows, or decides the
//! host does not speak Natter. Does not own what happens once in the room (see `supervisor`).

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::address::parse_address;
use super::error::ClientError;
use super::from_host::decode_from_host;
use super::host_stream::HostStream;
use crate::network::protocol::{
    ChatMessage, ClientFrame, DATA_BYTES, FileLimits, FrameSplitter, HostData, PROTOCOL_VERSION,
    Piece, Resume, ServerFrame, SplitError, encode,
};
use crate::network::timed_read::ReadOutcome;

/// Longest line read from a host. Hosts keep every line within their `max_line_bytes` but
/// `accepted`, whose user list can pass 64 KiB in a big room (PROTOCOL.md §3).
const HOST_LINE_LIMIT: usize = 1 << 20;

/// What `accepted` told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Accepted {
    pub(super) nick: String,
    pub(super) session: String,
    pub(super) users: Vec<String>,
    pub(super) history_count: usize,
    pub(super) resumed: bool,
    pub(super) history_complete: bool,
    pub(super) unencrypted: Vec<String>,
}

/// A handshake that got us into the room.
#[derive(Debug)]
pub(super) struct Joined {
    pub(super) server: String,
    pub(super) welcome: String,
    /// What `welcome` said about files (`None`: the host carries none).
    pub(super) files: Option<FileLimits>,
    pub(super) accepted: Accepted,
    pub(super) history: Vec<ChatMessage>,
}

/// The handshake's states, in the order they come.
#[derive(Debug)]
enum Stage {
    AwaitingWelcome,
    AwaitingAccepted {
        server: String,
        welcome: String,
        files: Option<FileLimits>,
    },
    ReceivingHistory {
        server: String,
        welcome: String,
        files: Option<FileLimits>,
        accepted: Accepted,
        history: Vec<ChatMessage>,
    },
}

/// What one line did to the handshake.
#[derive(Debug)]
pub(super) enum Progress {
    /// Go on reading.
    Waiting,
    /// The host pinged: answer `pong`, then go on reading.
    Pong,
    /// The first line was not `welcome`: the host speaks plain text, this line included.
    NotNatter,
    /// In the room.
    Joined(Box<Joined>),
}

/// The handshake as a state machine over received lines; no I/O.
#[derive(Debug)]
pub(super) struct Handshake {
    stage: Stage,
}

impl Handshake {
    pub(super) fn new() -> Self {
        Handshake {
            stage: Stage::AwaitingWelcome,
        }
    }

    pub(super) fn saw_welcome(&self) -> bool {
        !matches!(self.stage, Stage::AwaitingWelcome)
    }

    /// Takes one complete line from the host.
    pub(super) fn on_line(&mut self, line: &[u8]) -> Result<Progress, ClientError> {
        if let Stage::AwaitingWelcome = self.stage {
            return self.on_first_line(line);
        }
        let frame = decode_from_host(line).map_err(|e| ClientError::Lost {
            detail: format!("the host sent a bad frame: {e}"),
        })?;
        match (frame, &mut self.stage) {
            (ServerFrame::Error { code, message, .. }, _) => {
                Err(ClientError::Rejected { code, message })
            }
            (ServerFrame::Ping {}, _) => Ok(Progress::Pong),
            (
                ServerFrame::Accepted {
                    nick,
                    session,
                    users,
                    history_count,
                    resumed,
                    history_complete,
                    unencrypted,
                },
                Stage::AwaitingAccepted {
                    server,
                    welcome,
                    files,
                },
            ) => {
                let accepted = Accepted {
                    nick,
                    session,
                    users,
                    history_count,
                    resumed,
                    history_complete,
                    unencrypted,
                };
                let (server, welcome) = (std::mem::take(server), std::mem::take(welcome));
                self.stage = Stage::ReceivingHistory {
                    server,
                    welcome,
                    files: *files,
                    accepted,
                    history: Vec::new(),
                };
                Ok(self.finish_if_complete())
            }
            (ServerFrame::Chat(message), Stage::ReceivingHistory { history, .. }) => {
                history.push(message);
                Ok(self.finish_if_complete())
            }
            // Every frame type is named, so a new one does not compile until it is decided
            // here; `accepted` and `chat` land here only out of their turn.
            (
                other @ (ServerFrame::Welcome { .. }
                | ServerFrame::Accepted { .. }
                | ServerFrame::Chat(_)
                | ServerFrame::Join { .. }
                | ServerFrame::Leave { .. }
                | ServerFrame::Encryption { .. }
                | ServerFrame::Nick { .. }
                | ServerFrame::Pong {}
                | ServerFrame::Bye { .. }
                | ServerFrame::Presence { .. }
                | ServerFrame::FileOffer(_)
                | ServerFrame::FileAccept { .. }
                | ServerFrame::FileDecline { .. }
                | ServerFrame::FileChunk { .. }
                | ServerFrame::FileAck { .. }
                | ServerFrame::FileDone { .. }
                | ServerFrame::FileCancel { .. }
                | ServerFrame::Moderation(_)
                | ServerFrame::Roles(_)
                | ServerFrame::Notice { .. }),
                _,
            ) => Err(ClientError::Lost {
                detail: format!("the host sent {other:?} during the handshake"),
            }),
        }
    }

    fn on_first_line(&mut self, line: &[u8]) -> Result<Progress, ClientError> {
        let (server, version, text, files) = match decode_from_host(line) {
            Ok(ServerFrame::Welcome {
                server,
                version,
                text,
                files,
                ..
            }) => (server, version, text, files),
            // A Natter host may refuse before its welcome (too many new connections).
            Ok(ServerFrame::Error { code, message, .. }) => {
                return Err(ClientError::Rejected { code, message });
            }
            // Anything else first is no Natter host's greeting.
            Ok(
                ServerFrame::Accepted { .. }
                | ServerFrame::Chat(_)
                | ServerFrame::Join { .. }
                | ServerFrame::Leave { .. }
                | ServerFrame::Encryption { .. }
                | ServerFrame::Nick { .. }
                | ServerFrame::Ping {}
                | ServerFrame::Pong {}
                | ServerFrame::Bye { .. }
                | ServerFrame::Presence { .. }
                | ServerFrame::FileOffer(_)
                | ServerFrame::FileAccept { .. }
                | ServerFrame::FileDecline { .. }
                | ServerFrame::FileChunk { .. }
                | ServerFrame::FileAck { .. }
                | ServerFrame::FileDone { .. }
                | ServerFrame::FileCancel { .. }
                | ServerFrame::Moderation(_)
                | ServerFrame::Roles(_)
                | ServerFrame::Notice { .. },
            )
            | Err(_) => return Ok(Progress::NotNatter),
        };
        if version != PROTOCOL_VERSION {
            return Err(ClientError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: version,
            });
        }
        self.stage = Stage::AwaitingAccepted {
            server,
            welcome: text,
            files,
        };
        Ok(Progress::Waiting)
    }

    /// The session token of the stay the host gave us, once `accepted` has come.
    pub(super) fn session(&self) -> Option<&str> {
        match &self.stage {
            Stage::ReceivingHistory { accepted, .. } => Some(&accepted.session),
            _ => None,
        }
    }

    fn finish_if_complete(&mut self) -> Progress {
        let Stage::ReceivingHistory {
            accepted, history, ..
        } = &self.stage
        else {
            return Progress::Waiting;
        };
        if history.len() < accepted.history_count {
            return Progress::Waiting;
        }
        match std::mem::replace(&mut self.stage, Stage::AwaitingWelcome) {
            Stage::ReceivingHistory {
                server,
                welcome,
                files,
                accepted,
                history,
            } => Progress::Joined(Box::new(Joined {
                server,
                welcome,
                files,
                accepted,
                history,
            })),
            other => {
                self.stage = other;
                Progress::Waiting
            }
        }
    }
}

/// A connection to a host, past the handshake.
pub(super) struct Established {
    pub(super) stream: HostStream,
    /// Bytes already read past the handshake, with their partial last line.
    pub(super) splitter: FrameSplitter<HostData>,
    /// Complete lines (and file data) read during the handshake that belong to what follows it.
    pub(super) early_lines: Vec<Piece<HostData>>,
    /// The host speaks plain text, not Natter.
    pub(super) plain: bool,
}

/// Resolves and dials `address`, trying each of its addresses in turn.
pub(super) fn dial(address: &str, timeout: Duration) -> Result<TcpStream, ClientError> {
    let (host, port) = parse_address(address)?;
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|_| ClientError::UnknownHost { host: host.clone() })?
        .collect();
    let mut last_error = ClientError::UnknownHost { host };
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                return Ok(stream);
            }
            Err(e) => last_error = ClientError::from_connect(&e, addr, timeout),
        }
    }
    Err(last_error)
}

/// Says `hello` at once (the server tells Natter clients from plain peers by the first byte)
/// and reads until we are in the room, or know the host speaks plain text. `resume` is
/// updated as soon as the host names our new session, so a drop during the history still
/// resumes the right stay. What the host said to let us in comes with a Natter host only.
pub(super) fn greet(
    mut stream: HostStream,
    hello: &ClientFrame,
    timeout: Duration,
    resume: &mut Option<Resume>,
) -> Result<(Established, Option<Box<Joined>>), ClientError> {
    stream
        .write_all(&encode(hello))
        .map_err(|e| ClientError::lost(&e))?;
    let deadline = Instant::now() + timeout;
    let mut handshake = Handshake::new();
    let mut splitter = FrameSplitter::new(HOST_LINE_LIMIT, DATA_BYTES);
    let mut lines: VecDeque<Piece<HostData>> = VecDeque::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(piece) = lines.pop_front() {
            // File data comes only to a member, behind every line before it: never before
            // `accepted` and its history, after which this loop has returned.
            let Piece::Line(line) = piece else {
                return Err(lost("the host sent file data before letting us in"));
            };
            let progress = handshake.on_line(&line)?;
            if let Some(session) = handshake.session() {
                remember_session(resume, session);
            }
            match progress {
                Progress::Waiting => {}
                Progress::Pong => {
                    let _ = stream.write_all(&encode(&ClientFrame::Pong {}));
                }
                Progress::NotNatter => {
                    lines.push_front(Piece::Line(line));
                    return Ok((established(stream, splitter, lines, true), None));
                }
                Progress::Joined(joined) => {
                    remember_session(resume, &joined.accepted.session);
                    return Ok((established(stream, splitter, lines, false), Some(joined)));
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if handshake.saw_welcome() {
                return Err(lost("the host did not finish the handshake"));
            }
            // Silence, or text without a newline: a plain server.
            return Ok((established(stream, splitter, lines, true), None));
        }
        match stream.read_within(&mut buf, left) {
            ReadOutcome::Bytes(n) => {
                let mut complete = Vec::new();
                if let Err(e) = splitter.push(&buf[..n], &mut complete) {
                    return Err(lost(&split_error(&e)));
                }
                lines.extend(complete);
            }
            ReadOutcome::TimedOut => {}
            ReadOutcome::Closed if handshake.saw_welcome() => {
                return Err(lost("the host closed the connection during the handshake"));
            }
            ReadOutcome::Closed => {
                let Some(partial) = splitter.take_partial() else {
                    return Err(lost("the host closed the connection at once"));
                };
                lines.push_back(Piece::Line(partial));
                return Ok((established(stream, splitter, lines, true), None));
            }
            ReadOutcome::Failed(e) => return Err(ClientError::lost(&e)),
        }
    }
}

/// What a host that does not speak Natter seems to be, from the first line it sent (and the
/// `hello` we sent, which an echo server sends back), e.g. "a web server".
pub(super) fn looks_like(first_line: &[u8], hello: &[u8]) -> Option<&'static str> {
    let starts = |prefix: &str| {
        first_line.len() >= prefix.len()
            && first_line[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    if !hello.is_empty() && first_line == hello {
        Some("an echo server (it sends back what it receives)")
    } else if starts("HTTP/") || starts("<!DOCTYPE") || starts("<html") {
        Some("a web server")
    } else if starts("SSH-") {
        Some("an SSH server")
    } else if starts("220 ") || starts("220-") {
        Some("a mail or FTP server")
    } else if starts("+OK") || starts("* OK") {
        Some("a mail server")
    } else {
        None
    }
}

fn established(
    stream: HostStream,
    mut splitter: FrameSplitter<HostData>,
    lines: VecDeque<Piece<HostData>>,
    plain: bool,
) -> Established {
    if plain {
        // A plain host's lines are text, whatever they look like.
        splitter.stop_data();
    }
    Established {
        stream,
        splitter,
        early_lines: lines.into(),
        plain,
    }
}

/// What a stream that cannot be split is, in the words a link's end is shown with.
pub(super) fn split_error(e: &SplitError) -> String {
    match e {
        SplitError::LineTooLong { .. } => "the host sent a line that is too long".to_string(),
        other => format!("the host sent bad file data: {other}"),
    }
}

fn remember_session(resume: &mut Option<Resume>, session: &str) {
    let last_id = resume.as_ref().map_or(0, |r| r.last_id);
    *resume = Some(Resume {
        session: session.to_string(),
        last_id,
    });
}

fn lost(detail: &str) -> ClientError {
    ClientError::Lost {
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(frame: &ServerFrame) -> Vec<u8> {
        let mut bytes = encode(frame);
        bytes.pop();
        bytes
    }

    fn welcome(version: u32) -> Vec<u8> {
        line(&ServerFrame::Welcome {
            server: "Lab".into(),
            version,
            max_line_bytes: crate::network::protocol::MAX_LINE_BYTES,
            ping_interval_secs: 15,
            idle_timeout_secs: 45,
            text: "Hi".into(),
            files: None,
        })
    }

    fn accepted(history_count: usize) -> Vec<u8> {
        line(&ServerFrame::Accepted {
            nick: "dana".into(),
            session: "s".repeat(32),
            users: vec!["dana".into()],
            history_count,
            resumed: false,
            history_complete: true,
            unencrypted: Vec::new(),
        })
    }

    #[test]
    fn welcome_accepted_and_the_announced_history_complete_the_handshake() {
        let mut handshake = Handshake::new();
        assert!(matches!(
            handshake.on_line(&welcome(PROTOCOL_VERSION)),
            Ok(Progress::Waiting)
        ));
        assert!(matches!(
            handshake.on_line(&accepted(1)),
            Ok(Progress::Waiting)
        ));
        assert_eq!(handshake.session(), Some("s".repeat(32).as_str()));
        let chat = line(&ServerFrame::Chat(ChatMessage {
            id: 7,
            time: "2026-11-25T10:00:00.000Z".into(),
            from: "ari".into(),
            text: "earlier".into(),
            client_id: None,
            action: false,
            to: None,
        }));
        let Ok(Progress::Joined(joined)) = handshake.on_line(&chat) else {
            panic!("the handshake should be complete after the one history message");
        };
        assert_eq!(joined.server, "Lab");
        assert_eq!(joined.accepted.nick, "dana");
        assert_eq!(joined.history.len(), 1);
        assert_eq!(joined.history[0].id, 7);
    }

    #[test]
    fn looks_like_names_web_ssh_mail_and_echo_servers_and_nothing_else() {
        let hello = br#"{"type":"hello"}"#;
        assert_eq!(
            looks_like(b"HTTP/1.1 400 Bad Request\r", hello),
            Some("a web server")
        );
        assert_eq!(
            looks_like(b"SSH-2.0-OpenSSH_9.6", hello),
            Some("an SSH server")
        );
        assert_eq!(
            looks_like(b"220 mail.example ESMTP", hello),
            Some("a mail or FTP server")
        );
        assert!(looks_like(hello, hello).is_some_and(|s| s.contains("echo")));
        assert_eq!(looks_like(b"Welcome to the chat!", hello), None);
        assert_eq!(looks_like(b"", hello), None);
    }

    #[test]
    fn a_first_line_that_is_not_welcome_means_a_plain_host() {
        let mut handshake = Handshake::new();
        assert!(matches!(
            handshake.on_line(b"Enter your name:"),
            Ok(Progress::NotNatter)
        ));
    }

    #[test]
    fn an_error_frame_before_welcome_is_a_rejection_not_a_plain_host() {
        let mut handshake = Handshake::new();
        let error = line(&ServerFrame::Error {
            code: crate::network::protocol::ErrorCode::TooManyJoins,
            message: "Too many new connections".into(),
            client_id: None,
        });
        assert!(matches!(
            handshake.on_line(&error),
            Err(ClientError::Rejected { .. })
        ));
    }

    #[test]
    fn another_protocol_version_is_refused() {
        let mut handshake = Handshake::new();
        assert!(matches!(
            handshake.on_line(&welcome(PROTOCOL_VERSION + 1)),
            Err(ClientError::VersionMismatch { .. })
        ));
    }

    #[test]
    fn an_error_frame_after_welcome_is_a_rejection_and_a_ping_asks_for_pong() {
        let mut handshake = Handshake::new();
        assert!(handshake.on_line(&welcome(PROTOCOL_VERSION)).is_ok());
        assert!(matches!(
            handshake.on_line(&line(&ServerFrame::Ping {})),
            Ok(Progress::Pong)
        ));
        let error = line(&ServerFrame::Error {
            code: crate::network::protocol::ErrorCode::RoomFull,
            message: "full".into(),
            client_id: None,
        });
        assert!(matches!(
            handshake.on_line(&error),
            Err(ClientError::Rejected { .. })
        ));
    }
}
