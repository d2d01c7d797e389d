//! The `natter` binary: parses the command line, then opens the window or runs headless.
// Release builds on Windows are GUI programs: no console window behind Natter.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use natter::app::Startup;
use natter::network::discovery::{AnnounceConfig, Pace, Reach};
use natter::network::protocol::DEFAULT_PORT;
use natter::network::server::{JoinLimit, RateLimit, ServerConfig};

/// Natter: a LAN messenger. One person hosts; everyone else connects by IP address and chats.
///
/// With no command, opens the window.
#[derive(Parser)]
#[command(
    name = "natter",
    version,
    long_version = concat!(
        env!("CARGO_PKG_VERSION"),
        "\nwindow: drawn with wgpu (Vulkan, Metal, DirectX 12), or OpenGL (glow) where wgpu cannot \
         open it; NATTER_RENDERER=wgpu or glow picks one. The one in use is printed on stderr."
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Open the window and start hosting at once, as this nickname (without one: the
    /// nickname used last time, or your account's name the first time).
    #[arg(long, value_name = "NICK", num_args = 0..=1, conflicts_with = "connect")]
    host: Option<Option<String>>,
    /// Port for --host (default: the last one used, or 5050).
    #[arg(long)]
    port: Option<u16>,
    /// Open the window and connect at once to this address (use with --nick).
    #[arg(long, value_name = "ADDRESS", requires = "nick")]
    connect: Option<String>,
    /// Nickname for --connect.
    #[arg(long)]
    nick: Option<String>,
    /// Neither announce a hosted room on the network nor look for rooms (this run only).
    #[arg(long)]
    no_announce: bool,
}

#[derive(Subcommand)]
// Parsed once at start; boxing the serve options would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Host a room without a window, for an always-on machine. Prints where people can
    /// connect, then one line per event.
    Serve(ServeArgs),
    /// List the rooms announced on your network, one per line: name, host, address:port,
    /// people and the code the room announced (`-`: none), separated by tabs, for scripts.
    /// Two hosts claiming one room are two lines; an announcement proves nothing, so compare
    /// the code with the host's screen.
    Rooms(RoomsArgs),
}

#[derive(clap::Args)]
struct RoomsArgs {
    /// Seconds to listen for announcements after asking.
    #[arg(long, default_value_t = 1.5)]
    wait: f64,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; 0.0.0.0 accepts people on every network.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Port to listen on; 0 picks any free port.
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Room name shown to everyone who connects.
    #[arg(long, default_value = "Natter")]
    name: String,
    /// Welcome text for newcomers.
    #[arg(long)]
    welcome: Option<String>,
    /// People in the room at once; the next one is told the room is full.
    #[arg(long, default_value_t = 1024)]
    max_clients: usize,
    /// Open connections from one IP address.
    #[arg(long, default_value_t = 16)]
    max_per_address: usize,
    /// New connections one IP address may open in a burst (a classroom behind one NAT).
    #[arg(long, default_value_t = 20.0)]
    join_burst: f64,
    /// New connections one IP address may open per minute after the burst; more are refused.
    #[arg(long, default_value_t = 60.0)]
    joins_per_minute: f64,
    /// Longest line (frame or plain-text line) in bytes.
    #[arg(long, default_value_t = natter::network::protocol::MAX_LINE_BYTES)]
    max_line_bytes: usize,
    /// Messages (and nickname changes) per second one person may send, on average.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Messages (and nickname changes) one person may send in a burst.
    #[arg(long, default_value_t = 20.0)]
    burst: f64,
    /// Seconds a peer has to finish a TLS handshake, and then (again) a Natter client to say
    /// hello.
    #[arg(long, default_value_t = 5)]
    handshake_secs: u64,
    /// Seconds of silence (pings unanswered) before a Natter client is dropped.
    #[arg(long, default_value_t = 45)]
    idle_secs: u64,
    /// Threads that read and write every connection (1 to 64), whatever the number of people.
    #[arg(long, default_value_t = 2)]
    io_threads: usize,
    /// Milliseconds a busy connection's writes are gathered for (fewer, larger sends; an idle
    /// connection is written at once).
    #[arg(long, default_value_t = 4)]
    coalesce_ms: u64,
    /// Do not announce the room on the local network (it is announced by default, so that it
    /// appears in others' Connect tab and in `natter rooms`).
    #[arg(long)]
    no_announce: bool,
    /// The host name announced with the room (default: this computer's name).
    #[arg(long, value_name = "NAME")]
    announce_as: Option<String>,
    /// The host identity file (its key decides the code people compare). Default: the one
    /// in Natter's configuration folder, made there the first time.
    #[arg(long, value_name = "FILE")]
    identity: Option<std::path::PathBuf>,
    /// Refuse everyone who connects without encryption (nc, telnet, tutorial scripts); the
    /// Natter app and `ncat --ssl` still join.
    #[arg(long)]
    require_encryption: bool,
    /// The largest file people may send through this host, in MiB (4096: 4 GiB).
    #[arg(long, default_value_t = 4096)]
    max_file_mib: u64,
    /// File deliveries the host carries at once (everyone's together).
    #[arg(long, default_value_t = natter::network::protocol::DEFAULT_MAX_TRANSFERS)]
    max_transfers: usize,
    /// File deliveries that receivers at one IP address may have at once (default: half of
    /// --max-transfers, at least 1).
    #[arg(long, value_name = "N")]
    max_transfers_per_address: Option<usize>,
    /// Seconds a file delivery may move no data before the host ends it (both sides told).
    #[arg(long, default_value_t = 60)]
    file_idle_secs: u64,
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            name: self.name.clone(),
            welcome_text: self
                .welcome
                .clone()
                .unwrap_or(defaults.welcome_text.clone()),
            max_clients: self.max_clients,
            max_per_address: self.max_per_address,
            joins_per_address: JoinLimit {
                burst: self.join_burst.max(1.0),
                per_second: self.joins_per_minute.max(0.1) / 60.0,
            },
            max_line_bytes: self
                .max_line_bytes
                .max(natter::network::protocol::MIN_LINE_BYTES),
            handshake_timeout: Duration::from_secs(self.handshake_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_secs.max(2)),
            ping_interval: Duration::from_secs((self.idle_secs / 3).max(1)),
            io_threads: self.io_threads.clamp(1, 64),
            coalesce: Duration::from_millis(self.coalesce_ms.min(1000)),
            rate: RateLimit {
                burst: self.burst.max(1.0),
                per_second: self.rate.max(0.1),
                ..defaults.rate
            },
            announce: self.announce(),
            require_encryption: self.require_encryption,
            max_file_bytes: self.max_file_mib.saturating_mul(1024 * 1024),
            max_transfers: self.max_transfers.max(1),
            max_transfers_per_address: self.max_transfers_per_address,
            file_idle: Duration::from_secs(self.file_idle_secs.max(1)),
            ..defaults
        }
    }

    /// Where and as whom to announce: on every interface when listening on all of them, on
    /// one when bound to one, nowhere when bound to loopback or asked not to.
    fn announce(&self) -> Option<AnnounceConfig> {
        if self.no_announce {
            return None;
        }
        let bind = match self.bind {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) if ip.is_unspecified() => Ipv4Addr::UNSPECIFIED,
            IpAddr::V6(_) => return None,
        };
        let reach = Reach::lan().for_bind(bind)?;
        Some(AnnounceConfig {
            key: None,
            reach,
            host: self
                .announce_as
                .clone()
                .unwrap_or_else(natter::headless::computer_name),
            pace: Pace::default(),
        })
    }
}

impl Cli {
    /// What the window does as it opens: `--host [NICK]`, `--connect ADDRESS --nick NICK`, or
    /// nothing (the tabs).
    fn startup(self) -> Startup {
        if let Some(nick) = self.host {
            Startup::Host {
                nick,
                port: self.port,
            }
        } else if let (Some(address), Some(nick)) = (self.connect, self.nick) {
            Startup::Connect { address, nick }
        } else {
            Startup::Tabs
        }
    }
}

fn main() -> ExitCode {
    #[cfg(windows)]
    natter::windows_console::attach_to_parent_console();
    // A panic prints its summary, never the peer text its message may quote.
    natter::network::panics::install_hook();
    // RUST_LOG=debug: connections, handshakes, refusals and transfers on stderr.
    natter::logging::init_from_env();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => {
            match natter::headless::serve(
                args.bind,
                args.port,
                args.config(),
                args.identity.clone(),
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Rooms(args)) => {
            let wait = Duration::from_secs_f64(args.wait.clamp(0.1, 600.0));
            match natter::rooms::print_rooms(Reach::lan(), wait) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::FAILURE
                }
            }
        }
        None => {
            let discovery = (!cli.no_announce).then(Reach::lan);
            let startup = cli.startup();
            match natter::app::run_window(startup, discovery) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup(args: &[&str]) -> Startup {
        let cli = Cli::try_parse_from(std::iter::once("natter").chain(args.iter().copied()));
        match cli {
            Ok(cli) => cli.startup(),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    #[test]
    fn host_without_a_nickname_hosts_with_the_remembered_one() {
        // The desktop entry's "Host a room" action runs exactly `natter --host`.
        assert_eq!(
            startup(&["--host"]),
            Startup::Host {
                nick: None,
                port: None
            }
        );
        assert_eq!(
            startup(&["--host", "--port", "6000"]),
            Startup::Host {
                nick: None,
                port: Some(6000)
            }
        );
    }

    #[test]
    fn host_with_a_nickname_hosts_as_that_nickname() {
        assert_eq!(
            startup(&["--host", "dana", "--port", "0"]),
            Startup::Host {
                nick: Some("dana".into()),
                port: Some(0)
            }
        );
    }

    #[test]
    fn no_option_opens_the_tabs_and_connect_needs_a_nickname() {
        assert_eq!(startup(&[]), Startup::Tabs);
        assert_eq!(
            startup(&["--connect", "10.0.0.5", "--nick", "eli"]),
            Startup::Connect {
                address: "10.0.0.5".into(),
                nick: "eli".into()
            }
        );
        assert!(Cli::try_parse_from(["natter", "--connect", "10.0.0.5"]).is_err());
    }
}
