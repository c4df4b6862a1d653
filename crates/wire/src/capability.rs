//! Capabilities advertised in OPEN (RFC 5492).
//!
//! ```text
//!  +------------------------------+
//!  | Capability Code (1 octet)    |
//!  +------------------------------+
//!  | Capability Length (1 octet)  |
//!  +------------------------------+
//!  | Capability Value (variable)  |
//!  +------------------------------+
//! ```

use crate::family::{Afi, Family, Safi};
use crate::reader::Reader;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    /// Multiprotocol Extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Next Hop Encoding (RFC 8950).
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// Extended Message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// BGP Role (RFC 9234).
    pub const ROLE: u8 = 9;
    /// Graceful Restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS number (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
    /// Enhanced Route Refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// Long-Lived Graceful Restart (RFC 9494).
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    /// FQDN (draft-walton-bgp-hostname-capability).
    pub const FQDN: u8 = 73;
    /// Software Version (draft-abraitis-bgp-version-capability).
    pub const SOFTWARE_VERSION: u8 = 75;
}

/// ADD-PATH send/receive mode (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    /// Able to receive multiple paths.
    Receive = 1,
    /// Able to send multiple paths.
    Send = 2,
    /// Both.
    Both = 3,
}

impl AddPathMode {
    /// Whether the mode includes receiving.
    pub fn receives(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Whether the mode includes sending.
    pub fn sends(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }

    /// The lower-case name (`receive`, `send`, `send/receive`).
    pub fn name(self) -> &'static str {
        match self {
            AddPathMode::Receive => "receive",
            AddPathMode::Send => "send",
            AddPathMode::Both => "send/receive",
        }
    }
}

/// BGP roles (RFC 9234 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Provider.
    Provider,
    /// Route server.
    RouteServer,
    /// Route server client.
    RouteServerClient,
    /// Customer.
    Customer,
    /// Peer.
    Peer,
    /// A value RFC 9234 does not define.
    Other(u8),
}

impl Role {
    /// The wire value.
    pub fn code(self) -> u8 {
        match self {
            Role::Provider => 0,
            Role::RouteServer => 1,
            Role::RouteServerClient => 2,
            Role::Customer => 3,
            Role::Peer => 4,
            Role::Other(v) => v,
        }
    }

    /// The role from its wire value.
    pub fn from_code(v: u8) -> Role {
        match v {
            0 => Role::Provider,
            1 => Role::RouteServer,
            2 => Role::RouteServerClient,
            3 => Role::Customer,
            4 => Role::Peer,
            other => Role::Other(other),
        }
    }

    /// The config name (`provider`, `rs`, `rs-client`, `customer`, `peer`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::RouteServer => "rs",
            Role::RouteServerClient => "rs-client",
            Role::Customer => "customer",
            Role::Peer => "peer",
            Role::Other(_) => "unknown",
        }
    }
}

/// One family in a Graceful Restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// Forwarding state was preserved (F bit).
    pub forwarding_preserved: bool,
}

/// One family in a Long-Lived Graceful Restart capability (RFC 9494 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LongLivedFamily {
    /// The family.
    pub family: Family,
    /// Forwarding state was preserved (F bit).
    pub forwarding_preserved: bool,
    /// How long stale routes are kept, in seconds (24 bits).
    pub stale_time: u32,
}

/// A capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol Extensions for one family (RFC 4760 §8).
    Multiprotocol(Family),
    /// Route Refresh (RFC 2918).
    RouteRefresh,
    /// Enhanced Route Refresh (RFC 7313).
    EnhancedRouteRefresh,
    /// Extended Next Hop Encoding (RFC 8950 §3): NLRI family and next-hop AFI.
    ExtendedNextHop(Vec<(Family, Afi)>),
    /// Extended Message (RFC 8654).
    ExtendedMessage,
    /// BGP Role (RFC 9234).
    Role(Role),
    /// Graceful Restart (RFC 4724 §3, RFC 8538 N bit).
    GracefulRestart {
        /// Restart State (R bit): the sender has restarted.
        restarting: bool,
        /// Graceful Notification (N bit, RFC 8538).
        notification: bool,
        /// Restart time in seconds (12 bits).
        restart_time: u16,
        /// Families whose state is kept.
        families: Vec<GracefulRestartFamily>,
    },
    /// 4-octet AS number (RFC 6793).
    FourOctetAs(u32),
    /// ADD-PATH (RFC 7911).
    AddPath(Vec<(Family, AddPathMode)>),
    /// Long-Lived Graceful Restart (RFC 9494).
    LongLivedGracefulRestart(Vec<LongLivedFamily>),
    /// Host and domain name.
    Fqdn {
        /// Host name.
        hostname: String,
        /// Domain name.
        domain: String,
    },
    /// Software version string.
    SoftwareVersion(String),
    /// Any other capability, as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Value bytes.
        value: Vec<u8>,
    },
}

/// A capability whose value does not match its code's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("capability {code} is malformed: {detail}")]
pub struct CapabilityError {
    /// Capability code.
    pub code: u8,
    /// What was wrong.
    pub detail: &'static str,
}

fn read_family(r: &mut Reader<'_>, code: u8) -> Result<Family, CapabilityError> {
    let err = |_| CapabilityError {
        code,
        detail: "truncated address family",
    };
    let afi = r.u16().map_err(err)?;
    let safi = r.u8().map_err(err)?;
    Ok(Family::new(Afi(afi), Safi(safi)))
}

fn short_string(r: &mut Reader<'_>, code: u8) -> Result<String, CapabilityError> {
    let err = |_| CapabilityError {
        code,
        detail: "truncated string",
    };
    let len = r.u8().map_err(err)?;
    let bytes = r.take(usize::from(len)).map_err(err)?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// A length-prefixed string, cut at the last character boundary within 255 bytes.
fn write_short_string(s: &str, out: &mut Vec<u8>) {
    let mut n = s.len().min(255);
    while !s.is_char_boundary(n) {
        n = n.saturating_sub(1);
    }
    let bytes = s.get(..n).unwrap_or_default().as_bytes();
    out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes);
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => code::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::Role(_) => code::ROLE,
            Capability::GracefulRestart { .. } => code::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Capability::AddPath(_) => code::ADD_PATH,
            Capability::LongLivedGracefulRestart(_) => code::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn { .. } => code::FQDN,
            Capability::SoftwareVersion(_) => code::SOFTWARE_VERSION,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// The name used in logs and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Capability::Multiprotocol(_) => "multiprotocol",
            Capability::RouteRefresh => "route-refresh",
            Capability::EnhancedRouteRefresh => "enhanced-route-refresh",
            Capability::ExtendedNextHop(_) => "extended-next-hop",
            Capability::ExtendedMessage => "extended-message",
            Capability::Role(_) => "role",
            Capability::GracefulRestart { .. } => "graceful-restart",
            Capability::FourOctetAs(_) => "asn4",
            Capability::AddPath(_) => "add-path",
            Capability::LongLivedGracefulRestart(_) => "long-lived-graceful-restart",
            Capability::Fqdn { .. } => "hostname",
            Capability::SoftwareVersion(_) => "software-version",
            Capability::Unknown { .. } => "unknown",
        }
    }

    /// Decode one capability's value. Lengths that do not match the format
    /// are errors; codes Ribbit does not know are kept as bytes.
    pub fn decode(code: u8, value: &[u8]) -> Result<Capability, CapabilityError> {
        let mut r = Reader::new(value, 0);
        let bad = |detail| CapabilityError { code, detail };
        let exact = |n: usize| {
            if value.len() == n {
                Ok(())
            } else {
                Err(bad("wrong length"))
            }
        };
        let cap = match code {
            code::MULTIPROTOCOL => {
                exact(4)?;
                let afi = r.u16().map_err(|_| bad("wrong length"))?;
                r.u8().map_err(|_| bad("wrong length"))?; // reserved
                let safi = r.u8().map_err(|_| bad("wrong length"))?;
                Capability::Multiprotocol(Family::new(Afi(afi), Safi(safi)))
            }
            code::ROUTE_REFRESH => {
                exact(0)?;
                Capability::RouteRefresh
            }
            code::ENHANCED_ROUTE_REFRESH => {
                exact(0)?;
                Capability::EnhancedRouteRefresh
            }
            code::EXTENDED_MESSAGE => {
                exact(0)?;
                Capability::ExtendedMessage
            }
            code::ROLE => {
                exact(1)?;
                Capability::Role(Role::from_code(r.u8().map_err(|_| bad("wrong length"))?))
            }
            code::FOUR_OCTET_AS => {
                exact(4)?;
                Capability::FourOctetAs(r.u32().map_err(|_| bad("wrong length"))?)
            }
            code::EXTENDED_NEXT_HOP => {
                // NLRI AFI (2), NLRI SAFI (2 octets here), next hop AFI (2).
                if value.is_empty() || !value.len().is_multiple_of(6) {
                    return Err(bad("length is not a multiple of 6"));
                }
                let mut v = Vec::new();
                while !r.is_empty() {
                    let afi = r.u16().map_err(|_| bad("truncated"))?;
                    let safi = r.u16().map_err(|_| bad("truncated"))?;
                    let nh = r.u16().map_err(|_| bad("truncated"))?;
                    let safi = u8::try_from(safi).map_err(|_| bad("SAFI over 255"))?;
                    v.push((Family::new(Afi(afi), Safi(safi)), Afi(nh)));
                }
                Capability::ExtendedNextHop(v)
            }
            code::GRACEFUL_RESTART => {
                let flags_time = r.u16().map_err(|_| bad("shorter than 2 bytes"))?;
                if !r.remaining().is_multiple_of(4) {
                    return Err(bad("family list is not a multiple of 4 bytes"));
                }
                let mut families = Vec::new();
                while !r.is_empty() {
                    let family = read_family(&mut r, code)?;
                    let f = r.u8().map_err(|_| bad("truncated"))?;
                    families.push(GracefulRestartFamily {
                        family,
                        forwarding_preserved: f & 0x80 != 0,
                    });
                }
                Capability::GracefulRestart {
                    restarting: flags_time & 0x8000 != 0,
                    notification: flags_time & 0x4000 != 0,
                    restart_time: flags_time & 0x0fff,
                    families,
                }
            }
            code::ADD_PATH => {
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    return Err(bad("length is not a multiple of 4"));
                }
                let mut v = Vec::new();
                while !r.is_empty() {
                    let family = read_family(&mut r, code)?;
                    let mode = match r.u8().map_err(|_| bad("truncated"))? {
                        1 => AddPathMode::Receive,
                        2 => AddPathMode::Send,
                        3 => AddPathMode::Both,
                        _ => return Err(bad("send/receive value not 1, 2 or 3")),
                    };
                    v.push((family, mode));
                }
                Capability::AddPath(v)
            }
            code::LONG_LIVED_GRACEFUL_RESTART => {
                if !value.len().is_multiple_of(7) {
                    return Err(bad("length is not a multiple of 7"));
                }
                let mut v = Vec::new();
                while !r.is_empty() {
                    let family = read_family(&mut r, code)?;
                    let f = r.u8().map_err(|_| bad("truncated"))?;
                    let [a, b, c] = r.array::<3>().map_err(|_| bad("truncated"))?;
                    v.push(LongLivedFamily {
                        family,
                        forwarding_preserved: f & 0x80 != 0,
                        stale_time: u32::from_be_bytes([0, a, b, c]),
                    });
                }
                Capability::LongLivedGracefulRestart(v)
            }
            code::FQDN => {
                let hostname = short_string(&mut r, code)?;
                let domain = short_string(&mut r, code)?;
                if !r.is_empty() {
                    return Err(bad("trailing bytes"));
                }
                Capability::Fqdn { hostname, domain }
            }
            code::SOFTWARE_VERSION => {
                let s = short_string(&mut r, code)?;
                if !r.is_empty() {
                    return Err(bad("trailing bytes"));
                }
                Capability::SoftwareVersion(s)
            }
            _ => Capability::Unknown {
                code,
                value: value.to_vec(),
            },
        };
        Ok(cap)
    }

    /// Append the value (without code and length).
    pub fn encode_value(&self, out: &mut Vec<u8>) {
        match self {
            Capability::Multiprotocol(f) => {
                out.extend_from_slice(&f.afi.0.to_be_bytes());
                out.push(0);
                out.push(f.safi.0);
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::Role(r) => out.push(r.code()),
            Capability::FourOctetAs(asn) => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::ExtendedNextHop(v) => {
                for (f, nh) in v {
                    out.extend_from_slice(&f.afi.0.to_be_bytes());
                    out.extend_from_slice(&u16::from(f.safi.0).to_be_bytes());
                    out.extend_from_slice(&nh.0.to_be_bytes());
                }
            }
            Capability::GracefulRestart {
                restarting,
                notification,
                restart_time,
                families,
            } => {
                let mut ft = restart_time & 0x0fff;
                if *restarting {
                    ft |= 0x8000;
                }
                if *notification {
                    ft |= 0x4000;
                }
                out.extend_from_slice(&ft.to_be_bytes());
                for f in families {
                    out.extend_from_slice(&f.family.afi.0.to_be_bytes());
                    out.push(f.family.safi.0);
                    out.push(if f.forwarding_preserved { 0x80 } else { 0 });
                }
            }
            Capability::AddPath(v) => {
                for (f, mode) in v {
                    out.extend_from_slice(&f.afi.0.to_be_bytes());
                    out.push(f.safi.0);
                    out.push(*mode as u8);
                }
            }
            Capability::LongLivedGracefulRestart(v) => {
                for f in v {
                    out.extend_from_slice(&f.family.afi.0.to_be_bytes());
                    out.push(f.family.safi.0);
                    out.push(if f.forwarding_preserved { 0x80 } else { 0 });
                    let [_, a, b, c] = (f.stale_time & 0xff_ffff).to_be_bytes();
                    out.extend_from_slice(&[a, b, c]);
                }
            }
            Capability::Fqdn { hostname, domain } => {
                write_short_string(hostname, out);
                write_short_string(domain, out);
            }
            Capability::SoftwareVersion(s) => write_short_string(s, out),
            Capability::Unknown { value, .. } => out.extend_from_slice(value),
        }
    }

    /// Append code, length and value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.code());
        let at = out.len();
        out.push(0);
        self.encode_value(out);
        let len = out.len().saturating_sub(at.saturating_add(1));
        if let Some(l) = out.get_mut(at) {
            *l = u8::try_from(len).unwrap_or(u8::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cap: Capability) {
        let mut out = Vec::new();
        cap.encode(&mut out);
        assert_eq!(usize::from(out[1]), out.len() - 2);
        assert_eq!(Capability::decode(out[0], &out[2..]), Ok(cap));
    }

    #[test]
    fn every_capability_round_trips() {
        round_trip(Capability::Multiprotocol(Family::IPV6_FLOWSPEC));
        round_trip(Capability::RouteRefresh);
        round_trip(Capability::EnhancedRouteRefresh);
        round_trip(Capability::ExtendedMessage);
        round_trip(Capability::Role(Role::Customer));
        round_trip(Capability::FourOctetAs(4_200_000_000));
        round_trip(Capability::ExtendedNextHop(vec![(
            Family::IPV4_UNICAST,
            Afi::IPV6,
        )]));
        round_trip(Capability::GracefulRestart {
            restarting: true,
            notification: true,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                forwarding_preserved: true,
            }],
        });
        round_trip(Capability::AddPath(vec![(
            Family::IPV4_UNICAST,
            AddPathMode::Both,
        )]));
        round_trip(Capability::LongLivedGracefulRestart(vec![
            LongLivedFamily {
                family: Family::IPV6_UNICAST,
                forwarding_preserved: false,
                stale_time: 86400,
            },
        ]));
        round_trip(Capability::Fqdn {
            hostname: "r1".into(),
            domain: "example.net".into(),
        });
        round_trip(Capability::SoftwareVersion("Ribbit/0.1".into()));
        round_trip(Capability::Unknown {
            code: 200,
            value: vec![1, 2, 3],
        });
    }

    #[test]
    fn malformed_capabilities() {
        assert!(Capability::decode(code::MULTIPROTOCOL, &[0, 1, 0]).is_err());
        assert!(Capability::decode(code::FOUR_OCTET_AS, &[0, 1]).is_err());
        assert!(Capability::decode(code::ADD_PATH, &[0, 1, 1, 4]).is_err());
        assert!(Capability::decode(code::GRACEFUL_RESTART, &[0]).is_err());
        assert!(Capability::decode(code::SOFTWARE_VERSION, &[5, b'a']).is_err());
    }
}
