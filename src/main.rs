//! The `natter` binary: parses the command line, then opens the window or runs headless.
// Release builds on Windows are GUI programs: no console window behind Natter.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
#[cfg(feature = "window")]
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
// Without the window (feature `window`) its options still parse, so the desktop entry's
// `natter --host` is told the window is missing rather than given a usage error.
#[cfg_attr(not(feature = "window"), allow(dead_code))]
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

/// What `natter serve` does unless told otherwise: every flag's default is read from here, so
/// the help, the headless host and the window cannot drift apart. Cheap: it makes no key.
fn defaults() -> ServerConfig {
    ServerConfig::default()
}

/// Bytes in a MiB, the unit of `--max-file-mib`.
const MIB: u64 = 1024 * 1024;

/// A duration in whole milliseconds, for a flag counted in them.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; 0.0.0.0 accepts people on every network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    bind: IpAddr,
    /// Port to listen on; 0 picks any free port.
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Room name shown to everyone who connects.
    #[arg(long, default_value_t = defaults().name)]
    name: String,
    /// Welcome text for newcomers.
    #[arg(long)]
    welcome: Option<String>,
    /// People in the room at once; the next one is told the room is full.
    #[arg(long, default_value_t = defaults().max_clients)]
    max_clients: usize,
    /// Open connections from one IP address.
    #[arg(long, default_value_t = defaults().max_per_address)]
    max_per_address: usize,
    /// New connections one IP address may open in a burst (a classroom behind one NAT).
    #[arg(long, default_value_t = defaults().joins_per_address.burst)]
    join_burst: f64,
    /// New connections one IP address may open per minute after the burst; more are refused.
    #[arg(long, default_value_t = defaults().joins_per_address.per_second * 60.0)]
    joins_per_minute: f64,
    /// Longest line (frame or plain-text line) in bytes.
    #[arg(long, default_value_t = defaults().max_line_bytes)]
    max_line_bytes: usize,
    /// Messages (and nickname changes) per second one person may send, on average.
    #[arg(long, default_value_t = defaults().rate.per_second)]
    rate: f64,
    /// Messages (and nickname changes) one person may send in a burst.
    #[arg(long, default_value_t = defaults().rate.burst)]
    burst: f64,
    /// Seconds a peer has to finish a TLS handshake, and then (again) a Natter client to say
    /// hello.
    #[arg(long, default_value_t = defaults().handshake_timeout.as_secs())]
    handshake_secs: u64,
    /// Seconds of silence (pings unanswered) before a Natter client is dropped.
    #[arg(long, default_value_t = defaults().idle_timeout.as_secs())]
    idle_secs: u64,
    /// Threads that read and write every connection (1 to 64), whatever the number of people.
    #[arg(long, default_value_t = defaults().io_threads)]
    io_threads: usize,
    /// Milliseconds a busy connection's writes are gathered for (fewer, larger sends; an idle
    /// connection is written at once).
    #[arg(long, default_value_t = millis(defaults().coalesce))]
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
    /// Where the room's bans are kept across restarts (owner-only). Default: bans.json beside
    /// the identity file.
    #[arg(long, value_name = "FILE")]
    bans_file: Option<std::path::PathBuf>,
    /// Keep the room's history (what late joiners are shown: its last messages, as many as the
    /// host keeps in memory) in FILE, so it survives a restart: read back at start, each new
    /// message appended. Readable by you only; private messages are not kept. Without it the
    /// history is gone when the host stops.
    #[arg(long, value_name = "FILE")]
    history_file: Option<std::path::PathBuf>,
    /// Refuse everyone who connects without encryption (nc, telnet, tutorial scripts); the
    /// Natter app and `ncat --ssl` still join.
    #[arg(long)]
    require_encryption: bool,
    /// The largest file people may send through this host, in MiB (4096: 4 GiB).
    #[arg(long, default_value_t = defaults().max_file_bytes / MIB)]
    max_file_mib: u64,
    /// File deliveries the host carries at once (everyone's together).
    #[arg(long, default_value_t = defaults().max_transfers)]
    max_transfers: usize,
    /// File deliveries that receivers at one IP address may have at once (default: half of
    /// --max-transfers, at least 1).
    #[arg(long, value_name = "N")]
    max_transfers_per_address: Option<usize>,
    /// Seconds a file delivery may move no data before the host ends it (both sides told).
    #[arg(long, default_value_t = defaults().file_idle.as_secs())]
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
            max_file_bytes: self.max_file_mib.saturating_mul(MIB),
            max_transfers: self.max_transfers.max(1),
            max_transfers_per_address: self.max_transfers_per_address,
            file_idle: Duration::from_secs(self.file_idle_secs.max(1)),
            bans_file: self.bans_file.clone(),
            history_file: self.history_file.clone(),
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
    #[cfg(feature = "window")]
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

/// What a build without the window (cargo feature `window`) says when asked to open one.
#[cfg(not(feature = "window"))]
const NO_WINDOW: &str = "This Natter was built without its window: host a room with `natter serve`, \
     or list the rooms on your network with `natter rooms` (`natter --help` lists the rest).";

fn main() -> ExitCode {
    #[cfg(windows)]
    natter::windows_console::attach_to_parent_console();
    // A panic prints its summary, never the peer text its message may quote.
    natter::network::panics::install_hook();
    // RUST_LOG=debug: connections, handshakes, refusals and transfers on stderr.
    natter::logging::init_from_env();
    // Before any window exists: its taskbar button, the Start-menu shortcuts and its toasts
    // are then one app, Natter (not "Windows PowerShell").
    #[cfg(windows)]
    if let Err(e) = natter::windows_identity::adopt(natter::APP_ID) {
        log::warn!("could not set Natter's AppUserModelID: {e}");
    }
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
        #[cfg(feature = "window")]
        None => {
            // Windows drops toasts from an unregistered id (the zip has no installer to do it).
            #[cfg(windows)]
            if let Err(e) = natter::windows_identity::register_for_toasts(natter::APP_ID) {
                log::warn!("could not register Natter for notifications: {e}");
            }
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
        #[cfg(not(feature = "window"))]
        None => {
            eprintln!("{NO_WINDOW}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "window")]
    fn startup(args: &[&str]) -> Startup {
        let cli = Cli::try_parse_from(std::iter::once("natter").chain(args.iter().copied()));
        match cli {
            Ok(cli) => cli.startup(),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["natter", "serve"].iter().chain(args).copied());
        match cli.map(|cli| cli.command) {
            Ok(Some(Command::Serve(serve))) => serve,
            Ok(_) => panic!("{args:?} is no serve command"),
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    #[test]
    fn serve_without_flags_runs_with_every_limit_and_timing_of_the_default_config() {
        let got = serve_args(&[]).config();
        let want = ServerConfig::default();
        assert_eq!(got.name, want.name);
        assert_eq!(got.welcome_text, want.welcome_text);
        assert_eq!(got.max_line_bytes, want.max_line_bytes);
        assert_eq!(got.max_clients, want.max_clients);
        assert_eq!(got.max_per_address, want.max_per_address);
        assert_eq!(got.joins_per_address.burst, want.joins_per_address.burst);
        assert_eq!(
            got.joins_per_address.per_second,
            want.joins_per_address.per_second
        );
        assert_eq!(got.history_len, want.history_len);
        assert_eq!(got.coalesce, want.coalesce);
        assert_eq!(got.io_threads, want.io_threads);
        assert_eq!(got.handshake_timeout, want.handshake_timeout);
        assert_eq!(got.ping_interval, want.ping_interval);
        assert_eq!(got.idle_timeout, want.idle_timeout);
        assert_eq!(got.rate.burst, want.rate.burst);
        assert_eq!(got.rate.per_second, want.rate.per_second);
        assert_eq!(got.rate.strikes, want.rate.strikes);
        assert_eq!(got.require_encryption, want.require_encryption);
        assert_eq!(got.max_file_bytes, want.max_file_bytes);
        assert_eq!(got.max_transfers, want.max_transfers);
        assert_eq!(got.file_idle, want.file_idle);
        assert_eq!(
            got.max_transfers_per_address,
            want.max_transfers_per_address
        );
        // The key is loaded from the identity file later (headless::serve), never made here.
        assert!(got.identity.is_none());
    }

    #[test]
    fn serve_help_shows_the_default_config_values_as_the_flags_defaults() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        let serve = cli.find_subcommand_mut("serve").expect("a serve command");
        let help = serve.render_long_help().to_string();
        let want = ServerConfig::default();
        for (flag, value) in [
            ("--name", want.name.clone()),
            ("--max-clients", want.max_clients.to_string()),
            ("--max-per-address", want.max_per_address.to_string()),
            ("--idle-secs", want.idle_timeout.as_secs().to_string()),
            ("--coalesce-ms", want.coalesce.as_millis().to_string()),
            ("--max-file-mib", (want.max_file_bytes / MIB).to_string()),
            ("--file-idle-secs", want.file_idle.as_secs().to_string()),
            ("--bind", "0.0.0.0".to_string()),
        ] {
            // The flag's own paragraph: from its line to the next flag's.
            let mut lines = help.lines().skip_while(|l| {
                let l = l.trim_start();
                !(l.starts_with(&format!("{flag} ")) || l.contains(&format!(", {flag} ")))
            });
            let first = lines.next().unwrap_or_else(|| panic!("{flag} in {help}"));
            let rest: Vec<&str> = lines
                .take_while(|l| !l.trim_start().starts_with('-'))
                .collect();
            let shown = format!("[default: {value}]");
            assert!(
                rest.iter().any(|l| l.contains(&shown)),
                "{flag} shows {shown}: {first} {rest:?}"
            );
        }
    }

    #[cfg(feature = "window")]
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

    #[cfg(feature = "window")]
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

    #[cfg(feature = "window")]
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
