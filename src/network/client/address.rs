//! What a person types to reach a host: `host`, `host:port`, `IP`, `IP:port`, `[IPv6]:port`.
//!
//! Owns parsing and checking that text, with the default port. Does not resolve names or dial.

use std::net::{IpAddr, SocketAddr};

use super::error::ClientError;
use crate::network::protocol::DEFAULT_PORT;

/// Splits what a person typed into host and port, checking it on the way.
pub fn parse_address(input: &str) -> Result<(String, u16), ClientError> {
    let trimmed = input.trim();
    let invalid = |why: &str| ClientError::InvalidAddress {
        input: trimmed.to_string(),
        why: why.to_string(),
    };
    if trimmed.is_empty() {
        return Err(invalid("it is empty."));
    }
    if let Ok(addr) = trimmed.parse::<SocketAddr>() {
        return Ok((addr.ip().to_string(), addr.port()));
    }
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok((ip.to_string(), DEFAULT_PORT));
    }
    if let Some(inner) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => Ok((ip.to_string(), DEFAULT_PORT)),
            Err(_) => Err(invalid("the part in brackets is not an IPv6 address.")),
        };
    }
    let (host, port) = match trimmed.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| invalid("the port after ':' must be a number from 1 to 65535."))?;
            (host, port)
        }
        None => (trimmed, DEFAULT_PORT),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if !host_ok {
        return Err(invalid("it is neither an IP address nor a computer name."));
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_parsed_with_the_default_port() {
        assert_eq!(
            parse_address("192.168.1.20").unwrap(),
            ("192.168.1.20".into(), 5050)
        );
        assert_eq!(
            parse_address(" 10.0.0.7:6000 ").unwrap(),
            ("10.0.0.7".into(), 6000)
        );
        assert_eq!(parse_address("[::1]:7000").unwrap(), ("::1".into(), 7000));
        assert_eq!(
            parse_address("[fe80::1]").unwrap(),
            ("fe80::1".into(), 5050)
        );
        assert_eq!(parse_address("::1").unwrap(), ("::1".into(), 5050));
        assert_eq!(
            parse_address("my-pc.local").unwrap(),
            ("my-pc.local".into(), 5050)
        );
        assert_eq!(parse_address("my-pc:5051").unwrap(), ("my-pc".into(), 5051));
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (input, hint) in [
            ("", "empty"),
            ("1.2.3.4:port", "port"),
            ("1.2.3.4:70000", "port"),
            ("host:0", "port"),
            ("my pc", "neither"),
            ("[zz]", "IPv6"),
            ("a..b", "neither"),
        ] {
            let error = parse_address(input).unwrap_err();
            assert!(error.is_final());
            assert!(error.to_string().contains(hint), "{input}: {error}");
            assert!(error.to_string().contains("192.168.1.20"), "{error}");
        }
    }
}
