//! The connection doctor: why a link failed, in words a person can act on, on both ends.
//!
//! Owns the diagnosis of a failed connection ([`diagnose`] → [`Diagnosis`]: this computer's own
//! address (loopback or its own), refused, no
//! answer, no route or another subnet, name not found, or "heard announcing but its firewall
//! blocks the port") and the wording of the host's side ([`firewall_note`], [`FIREWALL_STEPS`]).
//! Pure: it reads the failure, this computer's addresses and whether the room was heard; it
//! opens no socket and sends no note (the app does, through the finder).

use std::net::{IpAddr, SocketAddr};

use crate::network::client::ClientError;
use crate::network::interfaces::{AddressKind, LocalAddress};

/// Which failure it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Nothing listens at that address and port (a TCP reset).
    Refused,
    /// No answer at all: a firewall dropping the port, or a network that keeps its computers
    /// apart (guest Wi-Fi).
    NoAnswer,
    /// The address is on no network this computer is on, or nobody has it on this one.
    NoRoute,
    /// The computer's name could not be looked up.
    NameNotFound,
    /// The room was heard announcing on the local network, but TCP to its port does not get
    /// through: the host's firewall blocks the port. The host is told too.
    HostFirewall,
    /// The address is this computer's own (loopback, or one of its addresses): no router or
    /// network is in the way, only what runs here on that port.
    ThisComputer,
    /// Anything else (the host refused us, a lost link): the error's own words.
    Other,
}

/// What went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub case: Case,
    pub text: String,
}

impl Diagnosis {
    /// Whether the host should get a "could not reach you" note.
    pub fn tell_host(&self) -> bool {
        self.case == Case::HostFirewall
    }
}

/// Explains `error`. `own` is this computer's addresses (with prefixes); `heard` is whether a
/// room was heard announcing at exactly the address and port that failed.
pub fn diagnose(error: &ClientError, own: &[LocalAddress], heard: bool) -> Diagnosis {
    let (case, text) = match error {
        ClientError::Refused { addr }
        | ClientError::TimedOut { addr, .. }
        | ClientError::Unreachable { addr }
            if is_this_computer(addr.ip(), own) =>
        {
            (Case::ThisComputer, this_computer_text(error, *addr))
        }
        ClientError::Refused { addr }
        | ClientError::TimedOut { addr, .. }
        | ClientError::Unreachable { addr }
            if heard =>
        {
            (
                Case::HostFirewall,
                format!(
                    "The host is on your network but its firewall blocks port {port}: Natter heard its room announced from {ip}, yet a connection to port {port} does not get through. Natter has told the host; ask them to allow Natter (TCP port {port}) through their firewall.",
                    port = addr.port(),
                    ip = addr.ip()
                ),
            )
        }
        ClientError::Refused { addr } => (
            Case::Refused,
            format!(
                "Nothing is listening at {addr} (the connection was refused). Is the host's Natter hosting right now, and on port {port}? Their window shows the port; a firewall set to reject can cause this too.",
                port = addr.port()
            ),
        ),
        ClientError::TimedOut { addr, secs, port } => (
            Case::NoAnswer,
            format!(
                "No answer from {addr} within {secs} s. Either a firewall on the host drops port {port}, or this network keeps its computers apart (guest Wi-Fi and some office networks do): check the address, ask the host to allow Natter through their firewall, or use a network that is not a guest network.{}",
                own_network_hint(addr.ip(), own)
            ),
        ),
        ClientError::Unreachable { addr } => (Case::NoRoute, no_route_text(*addr, own)),
        ClientError::UnknownHost { host } => (
            Case::NameNotFound,
            format!(
                "No computer called \"{host}\" was found: check the spelling, or type the host's IP address (their Natter window lists it, or pick the room under Rooms on your network)."
            ),
        ),
        other => (Case::Other, other.to_string()),
    };
    Diagnosis { case, text }
}

/// Whether `ip` is this computer: loopback, or one of its own addresses.
fn is_this_computer(ip: IpAddr, own: &[LocalAddress]) -> bool {
    ip.is_loopback() || own.iter().any(|a| IpAddr::V4(a.ip) == ip)
}

/// A failure at this computer's own address: nothing between, so no firewall or router
/// advice; what listens (or not) on that port here is the question.
fn this_computer_text(error: &ClientError, addr: SocketAddr) -> String {
    let port = addr.port();
    match error {
        ClientError::Refused { .. } => format!(
            "Nothing is listening at {addr}, which is this computer: is Natter hosting here \
             right now, and on port {port}? Its Host tab shows the port."
        ),
        ClientError::TimedOut { secs, .. } => format!(
            "{addr} is this computer, and the program on port {port} did not answer within \
             {secs} s. It may be stuck or busy, or not be Natter: check the port the host's \
             window shows, and if it is this computer's Natter, stop hosting and host again."
        ),
        _ => format!(
            "{addr} is this computer, but it could not be reached: its network settings may \
             be broken. Try 127.0.0.1:{port}."
        ),
    }
}

/// The addresses that matter for comparing: not loopback.
fn usable(own: &[LocalAddress]) -> impl Iterator<Item = &LocalAddress> {
    own.iter().filter(|a| a.kind != AddressKind::Loopback)
}

fn describe_own(own: &[LocalAddress]) -> String {
    let list: Vec<String> = usable(own)
        .take(3)
        .map(|a| format!("{}/{} on {}", a.ip, a.prefix, a.interface))
        .collect();
    list.join(", ")
}

/// For "no answer": a sentence when the address is not on any of this computer's networks.
fn own_network_hint(ip: IpAddr, own: &[LocalAddress]) -> String {
    let IpAddr::V4(ip) = ip else {
        return String::new();
    };
    if usable(own).count() == 0 || usable(own).any(|a| a.same_network(ip)) {
        return String::new();
    }
    format!(
        " Note that {ip} is not on this computer's network ({}): a router between you may be in the way.",
        describe_own(own)
    )
}

fn no_route_text(addr: SocketAddr, own: &[LocalAddress]) -> String {
    let IpAddr::V4(ip) = addr.ip() else {
        return format!(
            "Cannot reach {addr}: this computer has no route to it. Is it on the same network as the host?"
        );
    };
    if usable(own).count() == 0 {
        return format!(
            "Cannot reach {addr}: this computer is not connected to any network. Connect it to the same Wi-Fi or wired network as the host."
        );
    }
    match usable(own).find(|a| a.same_network(ip)) {
        Some(shared) => format!(
            "Cannot reach {addr}: {ip} is on this computer's network ({}/{} on {}) but no computer answers to it. Is the host's computer on and connected, and is the address right?",
            shared.ip, shared.prefix, shared.interface
        ),
        None => format!(
            "Cannot reach {addr}: {ip} is on another network than this computer ({}), and no route leads there. Ask the host for the address on a network you share, or connect both computers to the same network (not a guest network).",
            describe_own(own)
        ),
    }
}

/// The host's side: the sentence its window (and `natter serve`) shows when a note arrives.
pub fn firewall_note(from: IpAddr, port: u16) -> String {
    format!(
        "Someone at {from} tried to join but could not reach port {port}: your firewall probably blocks it."
    )
}

/// What to do about a blocked port, per operating system: (system, steps). `{port}` is
/// replaced by the port.
pub const FIREWALL_STEPS: [(&str, &str); 3] = [
    (
        "Linux",
        "sudo ufw allow {port}/tcp (Ubuntu), or sudo firewall-cmd --add-port={port}/tcp (Fedora), or allow TCP port {port} in your firewall's settings.",
    ),
    (
        "Windows",
        "Allow Natter on private networks: when Windows Firewall asks (the first time you host), tick Private networks and press Allow access. If it did not ask or you cancelled: make this network Private (Settings › Network & internet › Wi-Fi or Ethernet › your network › Private network), then in Windows Security › Firewall & network protection › Allow an app through firewall, press Change settings and tick Private for Natter.",
    ),
    (
        "macOS",
        "System Settings › Network › Firewall › Options: allow incoming connections for Natter (or turn off \"Block all incoming connections\").",
    ),
];

/// [`FIREWALL_STEPS`] with the port filled in, one line per system.
pub fn firewall_steps(port: u16) -> Vec<String> {
    FIREWALL_STEPS
        .iter()
        .map(|(system, steps)| format!("{system}: {}", steps.replace("{port}", &port.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn own() -> Vec<LocalAddress> {
        vec![
            LocalAddress {
                ip: Ipv4Addr::new(192, 168, 1, 31),
                interface: "wlan0".into(),
                kind: AddressKind::Lan,
                prefix: 24,
                broadcast: Some(Ipv4Addr::new(192, 168, 1, 255)),
            },
            LocalAddress {
                ip: Ipv4Addr::LOCALHOST,
                interface: "lo".into(),
                kind: AddressKind::Loopback,
                prefix: 8,
                broadcast: None,
            },
        ]
    }

    fn connect_error(kind: std::io::ErrorKind, addr: &str) -> ClientError {
        ClientError::from_connect(
            &std::io::Error::from(kind),
            addr.parse().unwrap(),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn refused_no_answer_no_route_and_name_not_found_are_told_apart() {
        let refused = diagnose(
            &connect_error(std::io::ErrorKind::ConnectionRefused, "192.168.1.20:5050"),
            &own(),
            false,
        );
        assert_eq!(refused.case, Case::Refused);
        assert!(
            refused
                .text
                .contains("Nothing is listening at 192.168.1.20:5050")
        );
        let silent = diagnose(
            &connect_error(std::io::ErrorKind::TimedOut, "192.168.1.20:5050"),
            &own(),
            false,
        );
        assert_eq!(silent.case, Case::NoAnswer);
        assert!(silent.text.contains("guest Wi-Fi"), "{}", silent.text);
        let unknown = diagnose(
            &ClientError::UnknownHost {
                host: "labpc".into(),
            },
            &own(),
            false,
        );
        assert_eq!(unknown.case, Case::NameNotFound);
        assert!(!refused.tell_host() && !silent.tell_host());
    }

    #[test]
    fn no_route_compares_with_this_computers_networks() {
        let elsewhere = diagnose(
            &connect_error(std::io::ErrorKind::NetworkUnreachable, "10.9.9.9:5050"),
            &own(),
            false,
        );
        assert_eq!(elsewhere.case, Case::NoRoute);
        assert!(
            elsewhere
                .text
                .contains("on another network than this computer (192.168.1.31/24 on wlan0)"),
            "{}",
            elsewhere.text
        );
        let here = diagnose(
            &connect_error(std::io::ErrorKind::HostUnreachable, "192.168.1.77:5050"),
            &own(),
            false,
        );
        assert!(
            here.text.contains("is on this computer's network"),
            "{}",
            here.text
        );
        let offline = diagnose(
            &connect_error(std::io::ErrorKind::NetworkUnreachable, "10.9.9.9:5050"),
            &own()[1..],
            false,
        );
        assert!(offline.text.contains("not connected to any network"));
    }

    /// Issue 29 §8: 127.0.0.1 was "not on this computer's network" and a firewall was blamed.
    #[test]
    fn loopback_and_this_computers_own_addresses_get_advice_about_this_computer() {
        use std::io::ErrorKind;
        for address in ["127.0.0.1:5050", "127.0.0.2:5050", "192.168.1.31:5050"] {
            for kind in [ErrorKind::TimedOut, ErrorKind::ConnectionRefused] {
                let told = diagnose(&connect_error(kind, address), &own(), false);
                assert_eq!(told.case, Case::ThisComputer, "{address} {kind:?}");
                assert!(told.text.contains("is this computer"), "{}", told.text);
                for wrong in ["not on this computer's network", "router", "firewall"] {
                    assert!(
                        !told.text.contains(wrong),
                        "{address} {kind:?}: {}",
                        told.text
                    );
                }
            }
        }
        // Heard announcing from ourselves is still this computer, not a firewall to tell of.
        let heard = diagnose(
            &connect_error(ErrorKind::TimedOut, "192.168.1.31:5050"),
            &own(),
            true,
        );
        assert!(!heard.tell_host(), "{}", heard.text);
        // Another computer on the network keeps its own advice.
        let other = diagnose(
            &connect_error(ErrorKind::TimedOut, "192.168.1.20:5050"),
            &own(),
            false,
        );
        assert_eq!(other.case, Case::NoAnswer);
    }

    #[test]
    fn a_room_heard_announcing_whose_port_fails_is_the_hosts_firewall() {
        for kind in [
            std::io::ErrorKind::TimedOut,
            std::io::ErrorKind::ConnectionRefused,
        ] {
            let blocked = diagnose(&connect_error(kind, "192.168.1.20:5050"), &own(), true);
            assert_eq!(blocked.case, Case::HostFirewall);
            assert!(blocked.tell_host());
            assert!(
                blocked
                    .text
                    .starts_with("The host is on your network but its firewall blocks port 5050"),
                "{}",
                blocked.text
            );
        }
    }

    #[test]
    fn the_hosts_note_names_the_address_and_port_and_gives_steps_per_system() {
        let note = firewall_note("192.168.1.31".parse().unwrap(), 5050);
        assert_eq!(
            note,
            "Someone at 192.168.1.31 tried to join but could not reach port 5050: your firewall probably blocks it."
        );
        let steps = firewall_steps(5050);
        assert!(steps[0].starts_with("Linux: sudo ufw allow 5050/tcp"));
        // Windows asks once, when hosting starts; the words are those of its firewall prompt.
        assert!(steps[1].starts_with("Windows: Allow Natter on private networks"));
        assert!(steps[1].contains("tick Private networks and press Allow access"));
        assert!(steps[2].starts_with("macOS: "));
    }
}
