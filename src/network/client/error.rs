//! Why a client's connection failed, in words a person can act on.
//!
//! Owns [`ClientError`]: its wording, which errors are final, and how socket errors map onto
//! it. Does not decide when to retry (the supervisor does).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::network::protocol::ErrorCode;
use crate::network::tls::{DoorRefusal, Fingerprint};

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
    #[error("The host has too many connections from your network; try again in a minute.")]
    TooManyFromYou,
    #[error(
        "The host is busy: its room is full or many people are connecting at once; try again in a minute."
    )]
    HostBusy,
    #[error("The host stopped hosting.")]
    HostStopped,
    /// The host said goodbye for good (Stop hosting, or its window closed): final.
    #[error("The host stopped hosting: this room has ended.")]
    RoomEnded,
    #[error("The connection to the host was lost ({detail}).")]
    Lost { detail: String },
    #[error("Nothing heard from the host for {secs} s: the link seems down.")]
    Silent { secs: u64 },
    #[error(
        "{address} closed the connection: it is not a Natter host. Check the address and port with the person hosting."
    )]
    NotNatter { address: String },
    #[error(
        "This host's code has changed: it was {expected}, now it is {found}. Someone may be \
         posing as the host. Ask the person hosting which code their window shows; connect \
         only if it is the new one."
    )]
    HostKeyChanged {
        expected: Fingerprint,
        found: Fingerprint,
    },
    #[error(
        "This host used to encrypt (code {expected}) and now offers no encryption. Someone may \
         be posing as the host. Ask the person hosting before you connect without encryption."
    )]
    NoLongerEncrypted { expected: Fingerprint },
    #[error(
        "This host is not the one its room announced: the room on the list gave the code \
         {announced}, the host {}. Someone may be posing as the host. Ask the person hosting \
         which code their window shows.",
        found.map_or("offers no encryption".to_string(), |f| format!("shows {f}"))
    )]
    NotAnnouncedKey {
        announced: Fingerprint,
        /// The key the host proved; `None`: it offered no encryption.
        found: Option<Fingerprint>,
    },
}

impl ClientError {
    /// Final errors end the client; the others are retried with backoff once connected.
    pub fn is_final(&self) -> bool {
        match self {
            ClientError::InvalidAddress { .. }
            | ClientError::VersionMismatch { .. }
            | ClientError::NotNatter { .. }
            | ClientError::RoomEnded
            | ClientError::HostKeyChanged { .. }
            | ClientError::NoLongerEncrypted { .. }
            | ClientError::NotAnnouncedKey { .. } => true,
            ClientError::Rejected { code, .. } => !matches!(
                code,
                ErrorCode::RoomFull
                    | ErrorCode::TooManyConnections
                    | ErrorCode::TooManyJoins
                    | ErrorCode::IdleTimeout
                    | ErrorCode::HandshakeTimeout
                    | ErrorCode::ServerError
            ),
            _ => false,
        }
    }

    /// The error a refusal at the door stands for (a TLS alert, PROTOCOL.md §12).
    pub fn turned_away(refusal: DoorRefusal) -> Self {
        match refusal {
            DoorRefusal::TooManyFromYou => ClientError::TooManyFromYou,
            DoorRefusal::Busy => ClientError::HostBusy,
        }
    }

    /// The host turned us away for now (too many connections, full, busy): trying again
    /// later may work, so the person is offered Retry.
    pub fn is_refusal_for_now(&self) -> bool {
        match self {
            ClientError::TooManyFromYou | ClientError::HostBusy => true,
            ClientError::Rejected { .. } => !self.is_final(),
            _ => false,
        }
    }

    /// The error for a failed TCP connect to `addr` (public for the doctor's tests and tools).
    pub fn from_connect(e: &io::Error, addr: SocketAddr, timeout: Duration) -> Self {
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
            _ => ClientError::lost(e),
        }
    }

    /// The link broke: what the system said, in words (never "(os error 104)").
    pub fn lost(e: &io::Error) -> Self {
        ClientError::Lost {
            detail: crate::network::io_words::in_words(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 29 §9: the chat said "(os error 104)" and "(os error 103)".
    #[test]
    fn a_link_lost_to_a_reset_or_abort_is_told_in_words_without_the_error_number() {
        for code in [104, 103] {
            let text = ClientError::lost(&io::Error::from_raw_os_error(code)).to_string();
            assert!(!text.contains("os error"), "{text}");
            assert!(
                text.starts_with("The connection to the host was lost ("),
                "{text}"
            );
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
