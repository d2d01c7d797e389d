//! Where discovery datagrams go and where they are heard: [`Reach`].
//!
//! Owns the choice between the real local network (every IPv4 interface's subnet broadcast
//! address on the discovery port, TTL 1, never routed) and loopback unicast to addresses a test
//! names, and the socket options for each. Decides nothing about what is sent or when.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};

use crate::network::interfaces::{LocalAddress, local_ipv4_addresses};

/// The UDP port discovery datagrams are sent to on the local network. (UDP: it does not clash
/// with the TCP port 5050 rooms listen on by default.)
pub const DISCOVERY_PORT: u16 = 5050;

/// Where datagrams go and are heard.
///
/// Only [`Reach::Lan`] ever sends a broadcast; tests outside network namespaces use
/// [`Reach::Loopback`], which sends to 127.0.0.0/8 addresses only (others are dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The real local network: listen on `0.0.0.0:port` (shared with other Natter programs on
    /// this computer) and send to the subnet broadcast address of every IPv4 interface that is
    /// up and not loopback, or only of the one holding `only` when it is set (a host bound to
    /// one address). TTL 1: no router forwards them.
    Lan { port: u16, only: Option<Ipv4Addr> },
    /// Loopback unicast: listen on `127.0.0.1:listen_port` (0: any free port) and send to
    /// `peers`; a query is answered to its sender.
    Loopback {
        listen_port: u16,
        peers: Vec<SocketAddr>,
    },
}

impl Reach {
    /// The local network on the standard port, every interface.
    pub fn lan() -> Reach {
        Reach::Lan {
            port: DISCOVERY_PORT,
            only: None,
        }
    }

    /// This reach for a host that listens on `bind`: a host bound to one address announces on
    /// that address's interface only; `None` when there is nothing to announce on (a host bound
    /// to loopback is reachable from this computer alone).
    pub fn for_bind(&self, bind: Ipv4Addr) -> Option<Reach> {
        match self {
            Reach::Lan { .. } if bind.is_loopback() => None,
            Reach::Lan { port, .. } if !bind.is_unspecified() => Some(Reach::Lan {
                port: *port,
                only: Some(bind),
            }),
            other => Some(other.clone()),
        }
    }

    /// Opens the socket datagrams are sent from and heard on.
    pub fn open(&self) -> io::Result<UdpSocket> {
        match self {
            Reach::Lan { port, .. } => {
                use socket2::{Domain, Protocol, Socket, Type};
                let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
                // Several hosts and finders on one computer share the port; broadcasts reach
                // every one of them.
                socket.set_reuse_address(true)?;
                #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
                socket.set_reuse_port(true)?;
                socket.set_broadcast(true)?;
                // Never past the first router.
                socket.set_ttl_v4(1)?;
                let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, *port);
                socket.bind(&any.into())?;
                Ok(socket.into())
            }
            Reach::Loopback { listen_port, .. } => {
                UdpSocket::bind((Ipv4Addr::LOCALHOST, *listen_port))
            }
        }
    }

    /// Where an announcement or a query goes now: each interface's broadcast address (the
    /// interfaces are listed again each time: a laptop changes networks), or the loopback peers.
    pub fn destinations(&self) -> Vec<SocketAddr> {
        match self {
            Reach::Lan { port, only } => {
                broadcast_destinations(&local_ipv4_addresses(), *port, *only)
            }
            Reach::Loopback { peers, .. } => loopback_only(peers),
        }
    }

    /// Where the answer to a query from `asker` goes: on the local network, a broadcast (every
    /// finder on the link hears it at once); on loopback, the asker itself.
    pub fn answer_destinations(&self, asker: SocketAddr) -> Vec<SocketAddr> {
        match self {
            Reach::Lan { .. } => self.destinations(),
            Reach::Loopback { .. } => loopback_only(&[asker]),
        }
    }

    /// Where a "could not reach you" note for a host heard from `host` goes: the broadcast
    /// address of the subnet this computer shares with the host (every Natter program on the
    /// host's computer shares the discovery port, and a broadcast reaches each of them), else
    /// the host's address itself; on loopback, `host`.
    pub fn note_destinations(&self, host: SocketAddr) -> Vec<SocketAddr> {
        match (self, host) {
            (Reach::Lan { port, .. }, SocketAddr::V4(v4)) => {
                let shared = local_ipv4_addresses()
                    .into_iter()
                    .filter(|a| !a.ip.is_loopback() && a.same_network(*v4.ip()))
                    .find_map(|a| a.broadcast);
                let ip = shared.unwrap_or(*v4.ip());
                vec![SocketAddr::from((ip, *port))]
            }
            (Reach::Lan { port, .. }, SocketAddr::V6(v6)) => {
                vec![SocketAddr::from((*v6.ip(), *port))]
            }
            (Reach::Loopback { .. }, host) => loopback_only(&[host]),
        }
    }
}

/// The subnet broadcast address of each interface (loopback excluded), optionally only the one
/// holding `only`, on `port`, without duplicates.
pub fn broadcast_destinations(
    addresses: &[LocalAddress],
    port: u16,
    only: Option<Ipv4Addr>,
) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = addresses
        .iter()
        .filter(|a| !a.ip.is_loopback())
        .filter(|a| only.is_none_or(|ip| a.ip == ip))
        .filter_map(|a| a.broadcast)
        .filter(|b| !b.is_unspecified() && !b.is_loopback())
        .map(|b| SocketAddr::from((b, port)))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn loopback_only(peers: &[SocketAddr]) -> Vec<SocketAddr> {
    peers
        .iter()
        .copied()
        .filter(|p| p.ip().is_loopback())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::interfaces::AddressKind;

    fn address(interface: &str, ip: [u8; 4], broadcast: Option<[u8; 4]>) -> LocalAddress {
        LocalAddress {
            ip: ip.into(),
            interface: interface.into(),
            kind: AddressKind::Lan,
            prefix: 24,
            broadcast: broadcast.map(Ipv4Addr::from),
        }
    }

    #[test]
    fn lan_destinations_are_each_subnet_broadcast_and_never_loopback() {
        let addresses = [
            address("lo", [127, 0, 0, 1], Some([127, 255, 255, 255])),
            address("eth0", [10, 66, 1, 1], Some([10, 66, 1, 255])),
            address("eth0", [10, 66, 1, 9], Some([10, 66, 1, 255])),
            address("wlan0", [192, 168, 1, 31], Some([192, 168, 1, 255])),
            address("tun0", [10, 8, 0, 2], None),
        ];
        assert_eq!(
            broadcast_destinations(&addresses, 5050, None),
            [
                "10.66.1.255:5050".parse::<SocketAddr>().unwrap(),
                "192.168.1.255:5050".parse().unwrap()
            ]
        );
        assert_eq!(
            broadcast_destinations(&addresses, 5050, Some(Ipv4Addr::new(192, 168, 1, 31))),
            ["192.168.1.255:5050".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn loopback_reach_sends_to_loopback_peers_only() {
        let reach = Reach::Loopback {
            listen_port: 0,
            peers: vec![
                "127.0.0.1:7000".parse().unwrap(),
                "192.168.1.20:5050".parse().unwrap(),
            ],
        };
        assert_eq!(
            reach.destinations(),
            ["127.0.0.1:7000".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            reach.answer_destinations("10.0.0.1:9".parse().unwrap()),
            Vec::<SocketAddr>::new()
        );
    }

    #[test]
    fn a_host_bound_to_loopback_announces_nowhere_and_one_bound_to_an_address_only_there() {
        assert_eq!(Reach::lan().for_bind(Ipv4Addr::LOCALHOST), None);
        assert_eq!(
            Reach::lan().for_bind(Ipv4Addr::new(10, 0, 0, 1)),
            Some(Reach::Lan {
                port: DISCOVERY_PORT,
                only: Some(Ipv4Addr::new(10, 0, 0, 1))
            })
        );
        assert_eq!(
            Reach::lan().for_bind(Ipv4Addr::UNSPECIFIED),
            Some(Reach::lan())
        );
    }
}
