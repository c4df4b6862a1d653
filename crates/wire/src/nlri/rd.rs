//! Route distinguishers (RFC 4364 §4.2).
//!
//! ```text
//!  +--------+--------+--------+--------+--------+--------+--------+--------+
//!  |  Type (2 octets) |              Value (6 octets)                       |
//!  +--------+--------+--------+--------+--------+--------+--------+--------+
//!  type 0: 2-octet AS : 4-octet number
//!  type 1: IPv4 address : 2-octet number
//!  type 2: 4-octet AS : 2-octet number
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// A route distinguisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteDistinguisher {
    /// Type 0: a 2-octet AS number and a 4-octet assigned number.
    As2 {
        /// Administrator.
        asn: u16,
        /// Assigned number.
        value: u32,
    },
    /// Type 1: an IPv4 address and a 2-octet assigned number.
    Ipv4 {
        /// Administrator.
        addr: Ipv4Addr,
        /// Assigned number.
        value: u16,
    },
    /// Type 2: a 4-octet AS number and a 2-octet assigned number.
    As4 {
        /// Administrator.
        asn: u32,
        /// Assigned number.
        value: u16,
    },
    /// Any other type, kept as its eight bytes.
    Other([u8; 8]),
}

impl RouteDistinguisher {
    /// Decode from its eight bytes.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        let [t0, t1, v0, v1, v2, v3, v4, v5] = b;
        match u16::from_be_bytes([t0, t1]) {
            0 => RouteDistinguisher::As2 {
                asn: u16::from_be_bytes([v0, v1]),
                value: u32::from_be_bytes([v2, v3, v4, v5]),
            },
            1 => RouteDistinguisher::Ipv4 {
                addr: Ipv4Addr::new(v0, v1, v2, v3),
                value: u16::from_be_bytes([v4, v5]),
            },
            2 => RouteDistinguisher::As4 {
                asn: u32::from_be_bytes([v0, v1, v2, v3]),
                value: u16::from_be_bytes([v4, v5]),
            },
            _ => RouteDistinguisher::Other(b),
        }
    }

    /// The eight bytes on the wire.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        let (ty, value): (u16, [u8; 6]) = match self {
            RouteDistinguisher::As2 { asn, value } => {
                let [a, b] = asn.to_be_bytes();
                let [c, d, e, f] = value.to_be_bytes();
                (0, [a, b, c, d, e, f])
            }
            RouteDistinguisher::Ipv4 { addr, value } => {
                let [a, b, c, d] = addr.octets();
                let [e, f] = value.to_be_bytes();
                (1, [a, b, c, d, e, f])
            }
            RouteDistinguisher::As4 { asn, value } => {
                let [a, b, c, d] = asn.to_be_bytes();
                let [e, f] = value.to_be_bytes();
                (2, [a, b, c, d, e, f])
            }
            RouteDistinguisher::Other(b) => return b,
        };
        let [t0, t1] = ty.to_be_bytes();
        let [v0, v1, v2, v3, v4, v5] = value;
        out.copy_from_slice(&[t0, t1, v0, v1, v2, v3, v4, v5]);
        out
    }
}

impl fmt::Display for RouteDistinguisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDistinguisher::As2 { asn, value } => write!(f, "{asn}:{value}"),
            RouteDistinguisher::Ipv4 { addr, value } => write!(f, "{addr}:{value}"),
            RouteDistinguisher::As4 { asn, value } => write!(f, "{asn}:{value}"),
            RouteDistinguisher::Other(b) => {
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// A route distinguisher that cannot be parsed from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid route distinguisher {0:?}: expected ASN:NUMBER or IPV4:NUMBER")]
pub struct InvalidRouteDistinguisher(pub String);

/// Parses `65000:100` (type 0), `192.0.2.1:100` (type 1) and `4200000000:100`
/// (type 2, chosen when the AS does not fit in two octets).
impl FromStr for RouteDistinguisher {
    type Err = InvalidRouteDistinguisher;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidRouteDistinguisher(s.to_string());
        let (admin, value) = s.split_once(':').ok_or_else(err)?;
        if let Ok(addr) = admin.parse::<Ipv4Addr>() {
            let value = value.parse().map_err(|_| err())?;
            return Ok(RouteDistinguisher::Ipv4 { addr, value });
        }
        let asn: u32 = admin.parse().map_err(|_| err())?;
        match u16::try_from(asn) {
            Ok(asn) => Ok(RouteDistinguisher::As2 {
                asn,
                value: value.parse().map_err(|_| err())?,
            }),
            Err(_) => Ok(RouteDistinguisher::As4 {
                asn,
                value: value.parse().map_err(|_| err())?,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_bytes() {
        for (text, bytes) in [
            ("65535:65536", [0, 0, 0xff, 0xff, 0, 1, 0, 0]),
            ("1.2.3.4:5", [0, 1, 1, 2, 3, 4, 0, 5]),
            ("4200000000:7", [0, 2, 0xfa, 0x56, 0xea, 0, 0, 7]),
        ] {
            let rd: RouteDistinguisher = text.parse().unwrap();
            assert_eq!(rd.to_bytes(), bytes);
            assert_eq!(RouteDistinguisher::from_bytes(bytes), rd);
            assert_eq!(rd.to_string(), text);
        }
        assert!("x:1".parse::<RouteDistinguisher>().is_err());
        assert!("4200000000:70000".parse::<RouteDistinguisher>().is_err());
    }
}
