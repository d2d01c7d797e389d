//! `natter serve`: the server without a window, for an always-on host.
//!
//! Owns the wording of what the headless host prints. Runs the same `network::server` the
//! window uses, so both behave the same.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use crate::network::interfaces::{AddressKind, local_ipv4_addresses};
use crate::network::protocol::Dialect;
use crate::network::server::{self, ServerConfig, ServerEvent};
use crate::network::text::clean_text;

/// One line for the console per server event, or `None` for the last one.
pub fn describe(event: &ServerEvent) -> Option<String> {
    let now = chrono::Local::now().format("%H:%M:%S");
    let text = match event {
        ServerEvent::Started { addr } => format!("listening on {addr}"),
        ServerEvent::Joined {
            nick,
            peer,
            dialect,
        } => {
            let how = match dialect {
                Dialect::Json => "Natter",
                Dialect::Plain => "plain text",
            };
            format!("{nick} joined from {peer} ({how})")
        }
        ServerEvent::Left { nick, detail, .. } => format!("{nick} left: {detail}"),
        ServerEvent::Renamed { from, to } => format!("{from} is now {to}"),
        ServerEvent::Message(message) => {
            format!("#{} {}: {}", message.id, message.from, message.text)
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
        ServerEvent::Stopped => return None,
    };
    Some(format!("[{now}] {}", for_console(&text)))
}

/// Indent of a message's further lines: the width of the time stamp.
const CONTINUATION: &str = "\n           ";

/// The last guard before the console: no escape or control byte (peer text is cleaned where
/// it enters, this makes sure), and a message's further lines indented so that none can pass
/// for a log line of its own.
fn for_console(text: &str) -> String {
    clean_text(text).replace('\n', CONTINUATION)
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

/// Binds, prints where to connect, then prints one line per event until the process ends.
pub fn serve(bind: IpAddr, port: u16, config: ServerConfig) -> Result<(), String> {
    let listener = server::bind(SocketAddr::new(bind, port)).map_err(|e| e.to_string())?;
    let handle = server::start(listener, config, crate::network::no_wake_up())
        .map_err(|e| format!("Could not start the server: {e}"))?;
    let port = handle.local_addr().port();
    let mut out = std::io::stdout().lock();
    let lines = address_lines(bind, port);
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "Natter is hosting on port {port}, but this machine has no network address yet."
        );
    } else {
        let _ = writeln!(out, "Natter is hosting. People can connect to:");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(
        out,
        "Plain-text peers can join too: nc ADDRESS {port}. Press Ctrl+C to stop."
    );
    let _ = out.flush();
    drop(out);
    for event in handle.events().iter() {
        match describe(&event) {
            Some(line) => println!("{line}"),
            None => break,
        }
    }
    Ok(())
}
