//! The inbound ACL: which peers may talk to the mock at all (FreeSWITCH's
//! `apply-inbound-acl`, default `loopback.auto`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One allowed network, e.g. `127.0.0.0/8` or `::1/128`. A bare address means a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A CIDR string that cannot be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid CIDR {0:?} (expected ADDRESS or ADDRESS/PREFIX)")]
pub struct CidrError(pub String);

impl Cidr {
    /// What `loopback.auto` amounts to on a usual host.
    pub fn loopback() -> Vec<Cidr> {
        vec![
            Cidr { addr: IpAddr::from([127, 0, 0, 0]), prefix: 8 },
            Cidr { addr: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), prefix: 128 },
        ]
    }

    /// Allows every peer (both families).
    pub fn any() -> Vec<Cidr> {
        vec![
            Cidr { addr: IpAddr::from([0, 0, 0, 0]), prefix: 0 },
            Cidr { addr: IpAddr::from([0u16; 8]), prefix: 0 },
        ]
    }

    /// Does the network hold `ip`? IPv4-mapped IPv6 peers are compared as IPv4, as a dual
    /// stack listener on `::` reports them that way.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), 32, self.prefix)
                    == masked(u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix) == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(value: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        value >> (bits - prefix.min(bits))
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrError(s.to_string());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(err)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A peer passes when some network in the list holds it (one allow-list ACL, default deny).
pub fn allows(acl: &[Cidr], ip: IpAddr) -> bool {
    acl.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_matches() {
        let net: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains(ip("192.0.2.77")));
        assert!(!net.contains(ip("192.0.3.1")));
        assert!(net.contains(ip("::ffff:192.0.2.1")));
        assert!(!net.contains(ip("2001:db8::1")));
        let host: Cidr = "10.1.2.3".parse().unwrap();
        assert_eq!(host.to_string(), "10.1.2.3/32");
        assert!(host.contains(ip("10.1.2.3")) && !host.contains(ip("10.1.2.4")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "10.0.0.0/33", "::/129", "host/8", "10.0.0.0/x"] {
            assert_eq!(bad.parse::<Cidr>(), Err(CidrError(bad.to_string())));
        }
    }

    #[test]
    fn loopback_default() {
        let acl = Cidr::loopback();
        assert!(allows(&acl, ip("127.0.0.1")) && allows(&acl, ip("127.9.9.9")) && allows(&acl, ip("::1")));
        assert!(!allows(&acl, ip("192.0.2.1")) && !allows(&[], ip("127.0.0.1")));
        assert!(allows(&Cidr::any(), ip("203.0.113.5")));
    }
}
