//! This machine's IPv4 addresses, in the order people should try them.
//!
//! Owns the listing (via if-addrs), the ranking and the labels of adapters that are rarely the
//! one to type: VPNs, virtual machines' and containers' networks, link-local addresses. Also
//! answers "is this address on one of my networks?" for the connection doctor. Opens no sockets.

use std::net::Ipv4Addr;

/// How useful an address is to someone on another machine; the order is the ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressKind {
    /// A private LAN address (10/8, 172.16/12, 192.168/16) on an ordinary adapter: what people
    /// on the network type.
    Lan,
    /// Any other routable address on an ordinary adapter.
    Other,
    /// A VPN tunnel (tun, tap, wg, utun, ppp, Tailscale, ZeroTier): others on the LAN cannot
    /// reach it.
    Vpn,
    /// A virtual machines' network (virbr, vboxnet, vmnet, Hyper-V's vEthernet).
    VirtualMachine,
    /// A containers' network (docker, br-…, veth, podman, cni, lxc).
    Container,
    /// 169.254/16: the machine got no address from the network.
    LinkLocal,
    /// 127/8: only this machine can use it.
    Loopback,
}

impl AddressKind {
    /// What to say beside an address of this kind on the Host tab; `None` for a LAN address.
    pub fn label(self) -> Option<&'static str> {
        match self {
            AddressKind::Lan | AddressKind::Loopback => None,
            AddressKind::Other => Some("not a private LAN address"),
            AddressKind::Vpn => Some("VPN: others on your network cannot use it"),
            AddressKind::VirtualMachine => Some("virtual machines' network"),
            AddressKind::Container => Some("containers' network"),
            AddressKind::LinkLocal => Some("link-local: no address from the network"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddress {
    pub ip: Ipv4Addr,
    pub interface: String,
    pub kind: AddressKind,
    /// The network's prefix length (24 for 255.255.255.0); 32 when unknown.
    pub prefix: u8,
    /// The subnet's broadcast address, when the adapter has one.
    pub broadcast: Option<Ipv4Addr>,
}

impl LocalAddress {
    /// Whether `ip` is on this address's network (same prefix).
    pub fn same_network(&self, ip: Ipv4Addr) -> bool {
        let mask = prefix_mask(self.prefix);
        u32::from(self.ip) & mask == u32::from(ip) & mask
    }
}

fn prefix_mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// The broadcast address of `ip`'s subnet, for an adapter that reports none; `None` for
/// loopback and for /31 and /32 (point-to-point) networks, which have no broadcast.
pub fn subnet_broadcast(ip: Ipv4Addr, prefix: u8) -> Option<Ipv4Addr> {
    if ip.is_loopback() || prefix > 30 {
        return None;
    }
    Some(Ipv4Addr::from(u32::from(ip) | !prefix_mask(prefix)))
}

/// The broadcast address to announce to for `ip`/`prefix`, given what the system `reported`:
/// that, when it is one (on the subnet and not the address itself, or 255.255.255.255), else
/// [`subnet_broadcast`]. An address configured without one (`ip addr add 10.0.0.2/24 dev
/// eth0`, no `brd`) is reported by Linux with the address itself as its broadcast: sending
/// there reaches nobody else.
pub fn broadcast_for(ip: Ipv4Addr, prefix: u8, reported: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
    let mask = prefix_mask(prefix);
    let on_subnet = |b: Ipv4Addr| u32::from(b) & mask == u32::from(ip) & mask;
    let usable = |b: &Ipv4Addr| {
        *b != ip && !b.is_unspecified() && !b.is_loopback() && (b.is_broadcast() || on_subnet(*b))
    };
    reported
        .filter(usable)
        .or_else(|| subnet_broadcast(ip, prefix))
}

/// The kind of an address by the address alone (no adapter name).
pub fn kind_of(ip: Ipv4Addr) -> AddressKind {
    if ip.is_loopback() {
        AddressKind::Loopback
    } else if ip.is_link_local() {
        AddressKind::LinkLocal
    } else if ip.is_private() {
        AddressKind::Lan
    } else {
        AddressKind::Other
    }
}

/// The kind of an address on the adapter called `interface`: the address decides loopback and
/// link-local, the adapter's name decides VPN, virtual machine and container (names as Linux,
/// macOS and Windows give them), and the address the rest.
pub fn kind_on(interface: &str, ip: Ipv4Addr) -> AddressKind {
    let by_address = kind_of(ip);
    if matches!(by_address, AddressKind::Loopback | AddressKind::LinkLocal) {
        return by_address;
    }
    let name = interface.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
    let has = |parts: &[&str]| parts.iter().any(|p| name.contains(p));
    if starts(&[
        "tun",
        "tap",
        "wg",
        "utun",
        "ppp",
        "ipsec",
        "tailscale",
        "zt",
        "nordlynx",
    ]) || has(&["vpn", "wireguard", "openvpn", "tailscale", "zerotier"])
    {
        AddressKind::Vpn
    } else if has(&["(wsl", "docker"]) {
        AddressKind::Container
    } else if starts(&["virbr", "vboxnet", "vmnet", "vethernet", "bridge10"])
        || has(&["virtualbox", "vmware", "hyper-v"])
    {
        AddressKind::VirtualMachine
    } else if starts(&["br-", "veth", "cni", "podman", "lxcbr", "lxdbr", "flannel"]) {
        AddressKind::Container
    } else {
        by_address
    }
}

/// IPv4 addresses of the interfaces that are up, LAN addresses first, then other routable ones,
/// VPN, virtual machine and container adapters, link-local, and loopback last.
/// An error listing interfaces gives an empty list: the window then says so.
pub fn local_ipv4_addresses() -> Vec<LocalAddress> {
    let interfaces = if_addrs::get_if_addrs().unwrap_or_default();
    let mut addresses: Vec<LocalAddress> = interfaces
        .into_iter()
        .filter(|iface| iface.is_oper_up() || iface.is_loopback())
        .filter_map(|iface| match iface.addr {
            if_addrs::IfAddr::V4(v4) => Some(LocalAddress {
                ip: v4.ip,
                kind: kind_on(&iface.name, v4.ip),
                prefix: v4.prefixlen,
                broadcast: broadcast_for(v4.ip, v4.prefixlen, v4.broadcast),
                interface: iface.name,
            }),
            if_addrs::IfAddr::V6(_) => None,
        })
        .collect();
    rank(&mut addresses);
    addresses
}

/// Sorts by kind (then adapter name and address) and drops duplicates.
pub fn rank(addresses: &mut Vec<LocalAddress>) {
    addresses.sort_by(|a, b| (a.kind, &a.interface, a.ip).cmp(&(b.kind, &b.interface, b.ip)));
    addresses.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(interface: &str, ip: [u8; 4]) -> LocalAddress {
        let ip = Ipv4Addr::from(ip);
        LocalAddress {
            ip,
            interface: interface.into(),
            kind: kind_on(interface, ip),
            prefix: 24,
            broadcast: None,
        }
    }

    #[test]
    fn a_missing_or_bogus_broadcast_is_computed_from_the_netmask() {
        let ip = Ipv4Addr::new(10, 0, 0, 2);
        let subnet = Some(Ipv4Addr::new(10, 0, 0, 255));
        // Configured without `brd`: Linux reports the address itself.
        assert_eq!(broadcast_for(ip, 24, Some(ip)), subnet);
        assert_eq!(broadcast_for(ip, 24, None), subnet);
        assert_eq!(broadcast_for(ip, 24, Some(Ipv4Addr::UNSPECIFIED)), subnet);
        assert_eq!(
            broadcast_for(ip, 24, Some(Ipv4Addr::new(192, 168, 1, 255))),
            subnet,
            "not on the subnet"
        );
        assert_eq!(
            broadcast_for(Ipv4Addr::new(172, 20, 5, 9), 20, None),
            Some(Ipv4Addr::new(172, 20, 15, 255))
        );
        // What the system reports when it is a broadcast address is kept.
        assert_eq!(broadcast_for(ip, 24, subnet), subnet);
        assert_eq!(
            broadcast_for(ip, 24, Some(Ipv4Addr::BROADCAST)),
            Some(Ipv4Addr::BROADCAST)
        );
        // Point-to-point and loopback have none.
        assert_eq!(broadcast_for(ip, 32, Some(ip)), None);
        assert_eq!(broadcast_for(Ipv4Addr::LOCALHOST, 8, None), None);
    }

    #[test]
    fn lan_addresses_rank_before_loopback_and_link_local() {
        assert_eq!(kind_of(Ipv4Addr::new(192, 168, 1, 20)), AddressKind::Lan);
        assert_eq!(kind_of(Ipv4Addr::new(10, 0, 0, 5)), AddressKind::Lan);
        assert_eq!(
            kind_of(Ipv4Addr::new(169, 254, 3, 4)),
            AddressKind::LinkLocal
        );
        assert_eq!(kind_of(Ipv4Addr::LOCALHOST), AddressKind::Loopback);
        assert!(AddressKind::Lan < AddressKind::Other);
        assert!(AddressKind::LinkLocal < AddressKind::Loopback);
    }

    #[test]
    fn vpn_virtual_machine_and_container_adapters_are_labelled_by_name() {
        let cases = [
            ("tun0", AddressKind::Vpn),
            ("wg0", AddressKind::Vpn),
            ("utun3", AddressKind::Vpn),
            ("tailscale0", AddressKind::Vpn),
            ("docker0", AddressKind::Container),
            ("br-5f2a1c", AddressKind::Container),
            ("veth12ab", AddressKind::Container),
            ("vEthernet (WSL)", AddressKind::Container),
            ("virbr0", AddressKind::VirtualMachine),
            ("vboxnet0", AddressKind::VirtualMachine),
            ("vmnet8", AddressKind::VirtualMachine),
            ("vEthernet (Default Switch)", AddressKind::VirtualMachine),
            ("eth0", AddressKind::Lan),
            ("wlan0", AddressKind::Lan),
            ("Wi-Fi", AddressKind::Lan),
            ("en0", AddressKind::Lan),
        ];
        for (name, kind) in cases {
            assert_eq!(kind_on(name, Ipv4Addr::new(10, 1, 2, 3)), kind, "{name}");
        }
        assert_eq!(
            kind_on("eth0", Ipv4Addr::new(169, 254, 9, 9)),
            AddressKind::LinkLocal
        );
        assert!(AddressKind::Vpn.label().is_some_and(|l| l.contains("VPN")));
        assert_eq!(AddressKind::Lan.label(), None);
    }

    #[test]
    fn ranking_puts_the_lan_adapter_first_and_vpn_virtual_container_link_local_last() {
        let mut list = vec![
            at("lo", [127, 0, 0, 1]),
            at("docker0", [172, 17, 0, 1]),
            at("tun0", [10, 8, 0, 2]),
            at("eth1", [169, 254, 1, 1]),
            at("virbr0", [192, 168, 122, 1]),
            at("wlan0", [192, 168, 1, 31]),
        ];
        rank(&mut list);
        let order: Vec<&str> = list.iter().map(|a| a.interface.as_str()).collect();
        assert_eq!(order, ["wlan0", "tun0", "virbr0", "docker0", "eth1", "lo"]);
    }

    #[test]
    fn same_network_compares_under_the_prefix() {
        let home = at("wlan0", [192, 168, 1, 31]);
        assert!(home.same_network(Ipv4Addr::new(192, 168, 1, 20)));
        assert!(!home.same_network(Ipv4Addr::new(192, 168, 2, 20)));
        let wide = LocalAddress { prefix: 0, ..home };
        assert!(wide.same_network(Ipv4Addr::new(8, 8, 8, 8)));
    }

    #[test]
    fn a_missing_broadcast_address_is_computed_from_the_prefix() {
        assert_eq!(
            subnet_broadcast(Ipv4Addr::new(10, 66, 1, 1), 24),
            Some(Ipv4Addr::new(10, 66, 1, 255))
        );
        assert_eq!(
            subnet_broadcast(Ipv4Addr::new(172, 16, 5, 9), 20),
            Some(Ipv4Addr::new(172, 16, 15, 255))
        );
        assert_eq!(subnet_broadcast(Ipv4Addr::new(10, 8, 0, 2), 32), None);
        assert_eq!(subnet_broadcast(Ipv4Addr::LOCALHOST, 8), None);
    }

    #[test]
    fn this_machine_lists_its_loopback_last() {
        let addresses = local_ipv4_addresses();
        let loopback = addresses.iter().position(|a| a.ip == Ipv4Addr::LOCALHOST);
        assert_eq!(loopback, Some(addresses.len() - 1), "{addresses:?}");
    }
}
