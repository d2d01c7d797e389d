//! `natter serve`: the server without a window, for an always-on host.
//!
//! Owns the wording of what the headless host prints. Runs the same `network::server` the
//! window uses, so both behave the same.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::console::{self, Console};
use crate::network::doctor;
use crate::network::interfaces::{AddressKind, local_ipv4_addresses};
use crate::network::protocol::Dialect;
use crate::network::server::{self, ServerConfig, ServerEvent};
use crate::network::text::clean_text_into;
use crate::network::tls::{Identity, Origin};

/// One line for the console per server event, or `None` for the last one.
pub fn describe(event: &ServerEvent) -> Option<String> {
    let text = match event {
        ServerEvent::Started { addr } => format!("listening on {addr}"),
        ServerEvent::Joined {
            nick,
            peer,
            dialect,
            encrypted,
        } => {
            let how = match dialect {
                Dialect::Json => "Natter",
                Dialect::Plain => "plain text",
            };
            let link = if *encrypted {
                "encrypted"
            } else {
                "not encrypted"
            };
            format!("{nick} joined from {peer} ({how}, {link})")
        }
        ServerEvent::Left { nick, detail, .. } => format!("{nick} left: {detail}"),
        ServerEvent::Renamed { from, to } => format!("{from} is now {to}"),
        ServerEvent::Moderation { text } => text.clone(),
        ServerEvent::Message(message) => {
            // The line a room in full flow prints thousands of a second: built straight into
            // the stamped line, not formatted into a copy first.
            let id = message.id;
            // "#", an id of at most 20 digits, a space and ": " besides the two texts.
            let len = 24 + message.from.len() + message.text.len();
            return Some(stamped_with(len, |line| {
                let _ = write!(line, "#{id} ");
                for_console(&message.from, line);
                line.push_str(": ");
                for_console(&message.text, line);
            }));
        }
        ServerEvent::PeerError {
            peer,
            code,
            message,
        } => format!("{peer}: {} ({message})", code.as_str()),
        ServerEvent::Refused {
            peer,
            code,
            message,
            total,
        } => format!(
            "refused {peer}: {} ({message}); {total} refused so far",
            code.as_str()
        ),
        ServerEvent::CouldNotReach { from, port } => {
            let mut text = doctor::firewall_note(*from, *port);
            for steps in doctor::firewall_steps(*port) {
                text.push_str(&format!("\n  {steps}"));
            }
            text
        }
        ServerEvent::CouldNotReachMore { count, port } => format!(
            "{count} more like this in the last minute (someone could not reach port {port}; not shown one by one)"
        ),
        ServerEvent::NotAnnounced { reason } => format!(
            "not announcing the room on the network ({reason}); people can still type the address"
        ),
        ServerEvent::InternalError {
            peer,
            connection,
            dialect,
            stage,
            detail,
        } => {
            let how = match dialect {
                Some(Dialect::Json) => "Natter",
                Some(Dialect::Plain) => "plain text",
                None => "dialect not decided yet",
            };
            format!(
                "Dropped a connection after an internal error (connection {connection} from {peer}, {how}, while {stage}: {detail}); everyone else goes on"
            )
        }
        ServerEvent::Failed { reason } => format!("stopping: {reason}"),
        ServerEvent::Stopped => return None,
    };
    Some(stamped(&text))
}

/// `text` after the local time, as every event line is printed, made safe for the console;
/// built in one string, since a room in full flow prints thousands a second.
fn stamped(text: &str) -> String {
    stamped_with(text.len(), |line| for_console(text, line))
}

/// The local time and what `fill` writes after it (about `len` bytes), in one string.
fn stamped_with(len: usize, fill: impl FnOnce(&mut String)) -> String {
    STAMP.with_borrow_mut(|stamp| {
        let stamp = stamp.at(std::time::SystemTime::now());
        let mut line = String::with_capacity(stamp.len() + 3 + len);
        line.push('[');
        line.push_str(stamp);
        line.push_str("] ");
        fill(&mut line);
        line
    })
}

thread_local! {
    static STAMP: std::cell::RefCell<Stamp> = const { std::cell::RefCell::new(Stamp::new()) };
}

/// The console's time stamp, made once a second: a room in full flow prints thousands of
/// lines a second, and asking the time zone and formatting for each took a fifth of the
/// host's CPU.
struct Stamp {
    /// The whole second since the Unix epoch that `text` shows, if any yet.
    second: Option<u64>,
    text: String,
}

impl Stamp {
    const fn new() -> Stamp {
        Stamp {
            second: None,
            text: String::new(),
        }
    }

    /// `HH:MM:SS` in local time for `now`.
    fn at(&mut self, now: std::time::SystemTime) -> &str {
        let second = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if self.second != Some(second) {
            self.second = Some(second);
            self.text = chrono::DateTime::<chrono::Local>::from(now)
                .format("%H:%M:%S")
                .to_string();
        }
        &self.text
    }
}

/// Indent of a message's further lines: the width of the time stamp.
const CONTINUATION: &str = "\n           ";

/// The last guard before the console: no escape or control byte (peer text is cleaned where
/// it enters, this makes sure), and a message's further lines indented so that none can pass
/// for a log line of its own.
fn for_console(text: &str, line: &mut String) {
    let start = line.len();
    clean_text_into(text, line);
    if line[start..].contains('\n') {
        let indented = line[start..].replace('\n', CONTINUATION);
        line.truncate(start);
        line.push_str(&indented);
    }
}

/// This computer's name, announced as the host of a `natter serve` room: the kernel's host
/// name on Linux, `COMPUTERNAME` on Windows, `HOSTNAME` elsewhere; "natter serve" if none.
pub fn computer_name() -> String {
    let from_file = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let from_env = || {
        ["COMPUTERNAME", "HOSTNAME"]
            .iter()
            .find_map(|var| std::env::var(var).ok())
    };
    from_file
        .or_else(from_env)
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "natter serve".into())
}

/// Where people can connect, for the first lines the host prints.
pub fn address_lines(bind: IpAddr, port: u16) -> Vec<String> {
    if !bind.is_unspecified() {
        return vec![format!("  {}", SocketAddr::new(bind, port))];
    }
    local_ipv4_addresses()
        .into_iter()
        .filter(|a| a.kind != AddressKind::Loopback)
        .map(|a| format!("  {}:{port}    ({})", a.ip, a.interface))
        .collect()
}

/// Binds, prints where to connect, then prints one line per event until a stop signal
/// (Ctrl+C, SIGINT, SIGTERM, SIGHUP; Ctrl+C or closing the console on Windows), when everyone is
/// told goodbye in their own dialect before the process ends. A server that stopped by itself
/// (an I/O thread failed) is an `Err` with its reason: the process exits non-zero. Printing never holds the server:
/// lines go through a bounded queue (see [`Console`]).
/// `identity_file`: where the host key is kept (`None`: the configuration folder's file);
/// the bans are kept beside it unless `config.bans_file` says where. Lines typed on standard
/// input are room commands (`/mute bob 10`…, see `console_input`), given as the host.
pub fn serve(
    bind: IpAddr,
    port: u16,
    mut config: ServerConfig,
    identity_file: Option<PathBuf>,
) -> Result<(), String> {
    let path = match identity_file {
        Some(path) => path,
        None => Identity::default_path().map_err(|e| e.to_string())?,
    };
    let (identity, origin) = Identity::load_or_create(&path).map_err(|e| e.to_string())?;
    let code = identity.fingerprint().code();
    let key = identity.fingerprint().to_text();
    config.identity = Some(Arc::new(identity));
    // The bans are kept beside the identity (the data folder) unless told otherwise.
    if config.bans_file.is_none() {
        config.bans_file = Some(path.with_file_name(server::BANS_FILE));
    }
    let require_encryption = config.require_encryption;
    let history_file = config.history_file.clone();
    // Before anything listens, so no signal finds the default action (dying without a word).
    let (stop_tx, stop) = crossbeam_channel::bounded::<()>(1);
    #[cfg(windows)]
    let close_tx = stop_tx.clone();
    ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    })
    .map_err(|e| format!("Could not catch Ctrl+C and termination signals: {e}"))?;
    // Windows: closing the console waits (a little) for the goodbyes, until this is dropped at
    // the end. After ctrlc's handler, because Windows asks the newest handler first.
    #[cfg(windows)]
    let _closing = crate::windows_console::stop_on_close(close_tx)?;
    let listener = server::bind(SocketAddr::new(bind, port)).map_err(|e| e.to_string())?;
    let handle = server::start(listener, config, crate::network::no_wake_up())
        .map_err(|e| format!("Could not start the server: {e}"))?;
    let mut console = Console::start(
        std::io::stdout(),
        console::QUEUE_LINES,
        console::QUEUE_BYTES,
    )
    .map_err(|e| format!("Could not start printing: {e}"))?;
    for line in intro_lines(bind, handle.local_addr().port(), require_encryption) {
        console.print(line);
    }
    console.print(format!(
        "Host code: {code}  (people who connect see it in their window: read it to them)"
    ));
    console.print(format!("Host key: {key}"));
    if origin == Origin::Created {
        console.print(format!(
            "A new host identity was made and kept in {}.",
            path.display()
        ));
    }
    if let Some(problem) = handle.bans_problem() {
        console.print(stamped(&problem));
    }
    if let Some(file) = &history_file {
        console.print(format!(
            "The room's history is kept in {} (readable by you only) and read back at the next start.",
            file.display()
        ));
    }
    // Started: what only starting touched of the program's code need not stay resident.
    let handed = crate::startup_pages::hand_back();
    log::debug!(
        "started: let go of {} kB of the program's pages in {} mappings",
        handed.kb,
        handed.mappings
    );
    let events = handle.events().clone();
    let mut failure = None;
    // Commands typed by the person hosting; a closed standard input just stops them coming.
    let mut typed = crate::console_input::start().unwrap_or_else(crossbeam_channel::never);
    loop {
        crossbeam_channel::select! {
            recv(typed) -> line => match line {
                Ok(line) => {
                    let answer = handle.console_command(&line);
                    if !answer.is_empty() {
                        console.print(stamped(&answer));
                    }
                }
                Err(_) => {
                    typed = crossbeam_channel::never();
                    console.print(stamped(
                        "standard input closed: room commands can no longer be typed here; the room goes on",
                    ));
                }
            },
            recv(events) -> event => match event.ok().as_ref().and_then(describe) {
                Some(line) => console.print(line),
                None => {
                    failure = handle.failure();
                    break;
                }
            },
            recv(stop) -> _ => {
                let people = handle.members().len();
                console.print(stamped(&format!(
                    "stopping: asked to stop (Ctrl+C or a termination signal); saying goodbye to {people} {}",
                    if people == 1 { "person" } else { "people" }
                )));
                handle.stop();
                for line in events.try_iter().filter_map(|e| describe(&e)) {
                    console.print(line);
                }
                console.print(stamped("stopped"));
                break;
            },
            default(ANNOUNCE_EVERY) => {
                console.announce_dropped();
            },
        }
    }
    console.finish(FINISH_PRINTING_WITHIN);
    match failure {
        Some(reason) => Err(format!("natter serve stopped: {reason}")),
        None => Ok(()),
    }
}

/// How often a notice of dropped lines is tried again while nothing else is printed.
const ANNOUNCE_EVERY: Duration = Duration::from_millis(250);

/// How long a stopping server waits for the output to take its last lines: a blocked output
/// must not keep the process from ending (the whole stop stays within a second).
const FINISH_PRINTING_WITHIN: Duration = Duration::from_millis(300);

fn intro_lines(bind: IpAddr, port: u16, require_encryption: bool) -> Vec<String> {
    let lines = address_lines(bind, port);
    let mut intro = Vec::new();
    if lines.is_empty() {
        intro.push(format!(
            "Natter is hosting on port {port}, but this machine has no network address yet."
        ));
    } else {
        intro.push("Natter is hosting. People can connect to:".to_string());
        intro.extend(lines);
    }
    if require_encryption {
        intro.push(format!(
            "Only encrypted connections: the Natter app, or ncat --ssl ADDRESS {port}. Press Ctrl+C to stop."
        ));
    } else {
        intro.push(format!(
            "Plain-text peers can join too: nc ADDRESS {port} (or ncat --ssl ADDRESS {port}, encrypted). Press Ctrl+C to stop."
        ));
        intro.extend(phone_lines(bind, port));
    }
    intro
}

/// "On a phone: open http://…" and a QR code of it, for the address a phone on the LAN most
/// likely reaches (the one listened on, or the first private LAN address).
fn phone_lines(bind: IpAddr, port: u16) -> Vec<String> {
    let ip = if bind.is_unspecified() {
        let addresses = local_ipv4_addresses();
        let lan = (addresses.iter())
            .find(|a| a.kind == AddressKind::Lan)
            .or_else(|| addresses.iter().find(|a| a.kind != AddressKind::Loopback));
        match lan {
            Some(address) => IpAddr::V4(address.ip),
            None => return Vec::new(),
        }
    } else {
        bind
    };
    let url = crate::phone::page_url(ip, port);
    let mut lines = vec![format!(
        "On a phone or any browser: open {url} (or scan this code); browsers join without encryption."
    )];
    lines.extend(crate::phone::qr_lines(&url));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn local(t: SystemTime) -> String {
        chrono::DateTime::<chrono::Local>::from(t)
            .format("%H:%M:%S")
            .to_string()
    }

    #[test]
    fn a_message_line_is_the_stamp_then_id_sender_and_text_cleaned_and_indented() {
        let message = crate::network::protocol::ChatMessage {
            id: 7,
            time: "2026-12-05T22:00:00.000Z".into(),
            from: "dana\u{1b}[31m".into(),
            text: "שלום\nsecond line\u{7}".into(),
            client_id: None,
            action: false,
            to: None,
        };
        let line = describe(&ServerEvent::Message(message)).expect("a message is printed");
        let (stamp, rest) = line.split_once("] ").expect("a stamp in brackets");
        assert_eq!(stamp.len(), "[HH:MM:SS".len());
        assert_eq!(rest, format!("#7 dana: שלום{CONTINUATION}second line"));
    }

    #[test]
    fn the_time_stamp_is_made_once_a_second_and_again_when_the_second_changes() {
        let t0 = UNIX_EPOCH + Duration::from_millis(1_700_000_000_100);
        let mut stamp = Stamp::new();
        assert_eq!(stamp.at(t0), local(t0));
        // Within the same second the made stamp is reused, not made again.
        stamp.text = "kept".into();
        assert_eq!(stamp.at(t0 + Duration::from_millis(800)), "kept");
        let t1 = t0 + Duration::from_millis(900);
        assert_eq!(stamp.at(t1), local(t1));
    }
}
