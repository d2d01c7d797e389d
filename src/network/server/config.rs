//! The limits and timings of a server, in one place.
//!
//! Owns [`ServerConfig`], [`RateLimit`] and [`JoinLimit`] and their defaults (what `natter serve` and the
//! window use). Does not enforce anything: the listener, handlers and room read these.

use std::sync::Arc;
use std::time::Duration;

use crate::network::discovery::AnnounceConfig;
use crate::network::tls::{Identity, IdentityError};

/// Every limit and timing of a server. `Default` is what `natter serve` and the window use
/// (`natter serve`'s flag defaults are read from it), each with its own host identity added.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Shown to clients in `welcome` and in the plain-text greeting.
    pub name: String,
    /// A sentence for newcomers, like the tutorials' welcome message.
    pub welcome_text: String,
    pub max_line_bytes: usize,
    /// People in the room at once; the next one gets `room_full`.
    pub max_clients: usize,
    /// Open connections from one IP address; the next one gets `too_many_connections`.
    pub max_per_address: usize,
    /// New connections from one IP address over time: beyond it a connection is refused at
    /// once with `too_many_joins`. Bounds join/leave churn and reconnect storms.
    pub joins_per_address: JoinLimit,
    pub history_len: usize,
    /// Keep the history (its newest `history_len` room messages) in this file across a
    /// restart: read back at start, appended as it goes (`history_file`). `None`: kept in
    /// memory only, gone when the server stops.
    pub history_file: Option<std::path::PathBuf>,
    /// Lines waiting for one member; a member whose queue is full is dropped. While a
    /// member's queue holds a quarter of this, the server reads from nobody (backpressure).
    pub queue_lines: usize,
    /// A write that cannot make progress for this long drops the member.
    pub write_stall: Duration,
    /// A member whose socket took nothing for this long stops holding everyone's reading
    /// (backpressure): it is gone or not reading, and `write_stall` or a full queue decides.
    pub hold_grace: Duration,
    /// A busy member is written at most once per this interval, gathering what arrives
    /// meanwhile into one write; an I/O thread that is busy stretches it up to twice this, so
    /// under heavy load fewer, larger sends keep the CPU from saturating. An idle link is
    /// written at once. Trades a few milliseconds for far fewer syscalls and wake-ups.
    pub coalesce: Duration,
    /// Threads that own the connections, reading and writing them (at least one).
    pub io_threads: usize,
    /// How long the server waits for a peer's first bytes before taking it for plain text.
    pub sniff_window: Duration,
    /// A Natter client must complete `hello` within this time of connecting (of its TLS
    /// handshake's end, on a TLS link); a TLS handshake must finish within it too.
    pub handshake_timeout: Duration,
    /// The server pings a Natter client that has been silent this long.
    pub ping_interval: Duration,
    /// A Natter client silent this long (pings unanswered) is closed as timed out.
    pub idle_timeout: Duration,
    /// A plain peer's line without a newline counts as sent after this much silence.
    pub plain_flush: Duration,
    pub rate: RateLimit,
    /// Announce the room on the local network (see `network::discovery`). Off by default, so
    /// nothing built from `Default` (tests above all) sends a datagram by surprise: the window
    /// and `natter serve` turn it on.
    pub announce: Option<AnnounceConfig>,
    /// The host's key: peers whose first byte starts a TLS handshake get an encrypted link
    /// made with it. `None`: the server speaks no TLS (like a Natter before it), and closes a
    /// connection that starts one. `Default` has none (making a key costs, and most who build a
    /// config replace it); [`ServerConfig::with_new_identity`] makes a fresh one kept nowhere,
    /// and the window and `natter serve` load the one kept in the identity file.
    pub identity: Option<Arc<Identity>>,
    /// Only encrypted peers may join; the others are refused in their own dialect.
    pub require_encryption: bool,
    /// The largest file the host carries (announced in `welcome`).
    pub max_file_bytes: u64,
    /// File deliveries the host carries at once, everyone's together (announced in `welcome`).
    pub max_transfers: usize,
    /// How long an offer or a delivery waits for a side whose link dropped to come back.
    pub file_grace: Duration,
    /// How long a Natter client (or browser) whose link dropped without a goodbye stays in
    /// the room, unannounced, for its session to resume: one that resumes within it was never
    /// seen to leave; one that does not is announced as left when it runs out. Zero: the
    /// leave is announced at once.
    pub member_grace: Duration,
    /// A delivery through which no data moved for this long (both sides in the room) is
    /// ended, both sides told why: a place is not held by a transfer that does not go on.
    pub file_idle: Duration,
    /// Deliveries that receivers at one IP address may have at once; `None`: half of
    /// `max_transfers` (at least one), so one address cannot take every place.
    pub max_transfers_per_address: Option<usize>,
    /// The secret the hosting window's own link presents (`host_token` frame) to be the
    /// room's host; `None`: only `natter serve`'s console is (see `moderation`). Made with
    /// [`ServerConfig::new_host_token`], never shown to anyone.
    pub host_token: Option<String>,
    /// Where the room's bans are kept across restarts (owner-only); `None`: they last as
    /// long as this run.
    pub bans_file: Option<std::path::PathBuf>,
}

impl ServerConfig {
    /// This configuration with a fresh host key, kept nowhere: the server speaks TLS with a
    /// code that changes every run (tests; anyone hosting without an identity file).
    pub fn with_new_identity(self) -> Result<Self, IdentityError> {
        Ok(ServerConfig {
            identity: Some(Arc::new(Identity::generate()?)),
            ..self
        })
    }

    /// A fresh secret for [`ServerConfig::host_token`]: 128 bits from the OS's secure random
    /// source, as session tokens are made.
    pub fn new_host_token() -> Result<String, getrandom::Error> {
        super::session::new_token()
    }

    /// Deliveries receivers at one address may have at once (see
    /// [`ServerConfig::max_transfers_per_address`]), never more than the host carries.
    pub fn transfers_per_address(&self) -> usize {
        let all = self.max_transfers.max(1);
        (self.max_transfers_per_address)
            .unwrap_or(all / 2)
            .clamp(1, all)
    }
}

/// Per-member message rate: a token bucket.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Messages that may be sent in a burst.
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
    /// Messages refused in a row (each answered `rate_limited`) before the member is dropped.
    pub strikes: u32,
}

/// New connections per IP address: a token bucket per address.
#[derive(Debug, Clone, Copy)]
pub struct JoinLimit {
    /// Connections that may be opened in a burst (a classroom behind one NAT at the bell).
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: "Natter".into(),
            welcome_text: "Welcome! Be kind; everyone here can read what you write.".into(),
            max_line_bytes: crate::network::protocol::MAX_LINE_BYTES,
            max_clients: 1024,
            max_per_address: 16,
            joins_per_address: JoinLimit {
                burst: 20.0,
                per_second: 1.0,
            },
            history_len: crate::network::protocol::HISTORY_LEN,
            history_file: None,
            queue_lines: 4096,
            write_stall: Duration::from_secs(10),
            hold_grace: Duration::from_secs(1),
            coalesce: Duration::from_millis(4),
            io_threads: 2,
            sniff_window: Duration::from_millis(500),
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            plain_flush: Duration::from_millis(200),
            rate: RateLimit {
                burst: 20.0,
                per_second: 10.0,
                strikes: 10,
            },
            announce: None,
            identity: None,
            require_encryption: false,
            max_file_bytes: crate::network::protocol::DEFAULT_MAX_FILE_BYTES,
            max_transfers: crate::network::protocol::DEFAULT_MAX_TRANSFERS,
            file_grace: Duration::from_secs(120),
            // A Natter client redials 0.5, 1.5, 3.5, 6.5, 9.5 and 12.5 s after the drop (its
            // backoff, `ClientOptions`): six tries fit, and the host noticing late costs some.
            member_grace: Duration::from_secs(15),
            file_idle: Duration::from_secs(60),
            max_transfers_per_address: None,
            host_token: None,
            bans_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_makes_no_key_and_with_new_identity_makes_a_different_one_each_time() {
        assert!(ServerConfig::default().identity.is_none());
        let key = |config: ServerConfig| config.identity.map(|i| i.fingerprint());
        let first = key(ServerConfig::default().with_new_identity().unwrap());
        let second = key(ServerConfig::default().with_new_identity().unwrap());
        assert!(first.is_some());
        assert!(first != second, "two fresh keys are the same");
    }
}
