//! TABLE_DUMP, the first RIB dump format (RFC 6396 §4.2): one record per
//! path, 2-octet AS numbers only. Superseded by TABLE_DUMP_V2 but still
//! found in archives.
//!
//! ```text
//!  View Number (2) | Sequence Number (2) | Prefix (4/16) | Prefix Length (1)
//!  | Status (1) | Originated Time (4) | Peer IP (4/16) | Peer AS (2)
//!  | Attribute Length (2) | BGP Attributes
//! ```

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use ribbit_wire::reader::Reader;
use ribbit_wire::{AttributeIssue, NextHop, PathAttributes, Prefix};

use crate::attrs::{decode_attributes, encode_attributes, patch_u16, read_ip, write_ip};
use crate::error::{truncated, At, ErrorKind};

/// TABLE_DUMP subtype codes: the AFI of the prefix and the peer address.
pub mod subtype {
    /// AFI_IPv4.
    pub const AFI_IPV4: u16 = 1;
    /// AFI_IPv6.
    pub const AFI_IPV6: u16 = 2;
}

/// A TABLE_DUMP record: one path to one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDump {
    /// The view number, normally 0.
    pub view: u16,
    /// Incremented per record of one dump (wraps at 2^16).
    pub sequence: u16,
    /// The prefix.
    pub prefix: Prefix,
    /// Unused by the format; 1 by convention.
    pub status: u8,
    /// When the route was received, in seconds since the Unix epoch.
    pub originated: u32,
    /// The peer's address, of the prefix's family.
    pub peer_ip: IpAddr,
    /// The peer's AS number.
    pub peer_as: u16,
    /// The path attributes (2-octet AS numbers, AS4_PATH reconciled).
    pub attributes: PathAttributes,
    /// The next hop of an MP_REACH_NLRI attribute, if there is one.
    pub mp_next_hop: Option<NextHop>,
    /// RFC 7606 findings while decoding the attributes. Ignored when writing.
    pub issues: Vec<AttributeIssue>,
}

impl TableDump {
    /// The subtype this record is written with.
    pub fn subtype(&self) -> u16 {
        match self.prefix {
            IpNet::V4(_) => subtype::AFI_IPV4,
            IpNet::V6(_) => subtype::AFI_IPV6,
        }
    }

    /// Decode the body of a record of `subtype`; `None` for unknown subtypes.
    pub(crate) fn decode(subtype: u16, body: &[u8], base: usize) -> Option<Result<TableDump, At>> {
        let v6 = match subtype {
            subtype::AFI_IPV4 => false,
            subtype::AFI_IPV6 => true,
            _ => return None,
        };
        let mut r = Reader::new(body, base);
        Some((|| {
            let view = r.u16().map_err(truncated("view number"))?;
            let sequence = r.u16().map_err(truncated("sequence number"))?;
            let address = read_ip(&mut r, v6, "prefix")?;
            let len_at = r.offset();
            let len = r.u8().map_err(truncated("prefix length"))?;
            let bad_len = || At::malformed(len_at, "prefix length");
            let prefix = match address {
                IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, len).map_err(|_| bad_len())?.trunc()),
                IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, len).map_err(|_| bad_len())?.trunc()),
            };
            let status = r.u8().map_err(truncated("status"))?;
            let originated = r.u32().map_err(truncated("originated time"))?;
            let peer_ip = read_ip(&mut r, v6, "peer address")?;
            let peer_as = r.u16().map_err(truncated("peer AS"))?;
            let alen = r.u16().map_err(truncated("attribute length"))?;
            let at = r.offset();
            let bytes = r.take(usize::from(alen)).map_err(truncated("attributes"))?;
            if !r.is_empty() {
                return Err(At::malformed(r.offset(), "bytes after the attributes"));
            }
            let a = decode_attributes(bytes, at, false)?;
            Ok(TableDump {
                view,
                sequence,
                prefix,
                status,
                originated,
                peer_ip,
                peer_as,
                attributes: a.attributes,
                mp_next_hop: a.mp_next_hop,
                issues: a.issues,
            })
        })())
    }

    /// Append the body of the record.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
        out.extend_from_slice(&self.view.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        let address = match self.prefix {
            IpNet::V4(p) => IpAddr::V4(p.network()),
            IpNet::V6(p) => IpAddr::V6(p.network()),
        };
        if address.is_ipv6() != self.peer_ip.is_ipv6() {
            return Err(ErrorKind::Unencodable(
                "TABLE_DUMP peer address of another family than the prefix",
            ));
        }
        write_ip(&address, out);
        out.push(self.prefix.prefix_len());
        out.push(self.status);
        out.extend_from_slice(&self.originated.to_be_bytes());
        write_ip(&self.peer_ip, out);
        out.extend_from_slice(&self.peer_as.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        encode_attributes(&self.attributes, self.mp_next_hop.as_ref(), false, out);
        patch_u16(out, len_at, "attributes longer than 65535 bytes")
    }
}
