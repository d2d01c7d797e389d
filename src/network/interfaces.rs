//! This machine's IPv4 addresses, in the order people should try them.
//!
//! Owns the listing and ranking only (via if-addrs); opens no sockets.

use std::net::Ipv4Addr;

/// How useful an address is to someone on another machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressKind {
    /// A private LAN address (10/8, 172.16/12, 192.168/16): what people on the network type.
    Lan,
    /// Any other routable address.
    Other,
    /// 169.254/16: the machine got no address from the network.
    LinkLocal,
    /// 127/8: only this machine can use it.
    Loopback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddress {
    pub ip: Ipv4Addr,
    pub interface: String,
    pub kind: AddressKind,
}

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

/// IPv4 addresses of the interfaces that are up, LAN addresses first, loopback last.
/// An error listing interfaces gives an empty list: the window then says so.
pub fn local_ipv4_addresses() -> Vec<LocalAddress> {
    let mut addresses: Vec<LocalAddress> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|iface| iface.is_oper_up() || iface.is_loopback())
        .filter_map(|iface| match iface.addr {
            if_addrs::IfAddr::V4(v4) => Some(LocalAddress {
                ip: v4.ip,
                kind: kind_of(v4.ip),
                interface: iface.name,
            }),
            if_addrs::IfAddr::V6(_) => None,
        })
        .collect();
    addresses.sort_by(|a, b| (a.kind, &a.interface, a.ip).cmp(&(b.kind, &b.interface, b.ip)));
    addresses.dedup();
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn this_machine_lists_its_loopback_last() {
        let addresses = local_ipv4_addresses();
        let loopback = addresses.iter().position(|a| a.ip == Ipv4Addr::LOCALHOST);
        assert_eq!(loopback, Some(addresses.len() - 1), "{addresses:?}");
    }
}
