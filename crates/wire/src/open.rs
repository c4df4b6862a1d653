//! OPEN messages (RFC 4271 §4.2) with capabilities (RFC 5492) and the
//! extended optional parameters length of RFC 9072.
//!
//! ```text
//!  +---------+---------------+-----------+-------------------+
//!  | Version | My AS (2)     | Hold Time | BGP Identifier (4)|
//!  +---------+---------------+-----------+-------------------+
//!  | Opt Parm Len (1) | Optional Parameters (variable)       |
//!  +------------------+--------------------------------------+
//!  RFC 9072: Opt Parm Len 255 followed by type 255 means a 2-octet
//!  length follows, and each parameter then has a 2-octet length too.
//! ```

use std::net::Ipv4Addr;

use crate::attribute::AS_TRANS;
use crate::capability::Capability;
use crate::error::{DecodeError, Reason};
use crate::notification::code;
use crate::reader::Reader;

/// Optional parameter type of capabilities (RFC 5492 §4).
const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 marker for the extended optional parameters length.
const PARAM_EXTENDED: u8 = 255;
const OPEN_ERR: (u8, u8) = (code::OPEN, 0);

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Protocol version (4).
    pub version: u8,
    /// The My Autonomous System field: the AS, or AS_TRANS when it does not fit.
    pub my_as: u16,
    /// Proposed hold time in seconds (0, or 3 and more).
    pub hold_time: u16,
    /// BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// An OPEN for `asn` (AS_TRANS goes in My AS when it needs 4 octets, and
    /// the 4-octet AS capability is added if `capabilities` lacks it).
    pub fn new(
        asn: u32,
        hold_time: u16,
        router_id: Ipv4Addr,
        mut capabilities: Vec<Capability>,
    ) -> Open {
        if !capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
        {
            capabilities.push(Capability::FourOctetAs(asn));
        }
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS as u16),
            hold_time,
            router_id,
            capabilities,
        }
    }

    /// The sender's AS: the 4-octet AS capability's value, or My AS.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// Decode the body (after the 19-byte header), checking what RFC 4271
    /// §6.2 asks: version, hold time, BGP identifier, parameter types.
    /// Peer AS and capability agreement are the session's business.
    pub fn decode(body: &[u8]) -> Result<Open, DecodeError> {
        let mut r = Reader::new(body, crate::HEADER_LEN);
        let t = |what| move |e| DecodeError::truncated(what, e, OPEN_ERR);
        let version_at = r.offset();
        let version = r.u8().map_err(t("version"))?;
        if version != 4 {
            // Data: the largest version we support (RFC 4271 §6.2).
            return Err(
                DecodeError::new(version_at, Reason::UnsupportedVersion(version)).with_data([0, 4]),
            );
        }
        let my_as = r.u16().map_err(t("my AS"))?;
        let hold_at = r.offset();
        let hold_time = r.u16().map_err(t("hold time"))?;
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::new(
                hold_at,
                Reason::UnacceptableHoldTime(hold_time),
            ));
        }
        let id_at = r.offset();
        let router_id = r.ipv4().map_err(t("BGP identifier"))?;
        // RFC 6286 §2.1: a non-zero 32-bit value.
        if router_id.is_unspecified() {
            return Err(DecodeError::new(id_at, Reason::BadBgpIdentifier(router_id)));
        }
        let plen_at = r.offset();
        let plen = r.u8().map_err(t("optional parameters length"))?;
        let extended = plen == 255 && r.peek() == Some(PARAM_EXTENDED);
        let mut params = if extended {
            r.u8().map_err(t("extended parameters marker"))?;
            let len = r.u16().map_err(t("extended optional parameters length"))?;
            r.sub(usize::from(len)).map_err(|_| {
                DecodeError::new(
                    plen_at,
                    Reason::MalformedOpen("optional parameters length overruns the message"),
                )
            })?
        } else {
            r.sub(usize::from(plen)).map_err(|_| {
                DecodeError::new(
                    plen_at,
                    Reason::MalformedOpen("optional parameters length overruns the message"),
                )
            })?
        };
        if !r.is_empty() {
            return Err(DecodeError::new(
                r.offset(),
                Reason::MalformedOpen("bytes after the optional parameters"),
            ));
        }
        let mut capabilities = Vec::new();
        while !params.is_empty() {
            let at = params.offset();
            let ptype = params.u8().map_err(t("parameter type"))?;
            let plen = if extended {
                params.u16().map_err(t("parameter length"))?
            } else {
                u16::from(params.u8().map_err(t("parameter length"))?)
            };
            let mut value = params
                .sub(usize::from(plen))
                .map_err(t("parameter value"))?;
            if ptype != PARAM_CAPABILITIES {
                return Err(
                    DecodeError::new(at, Reason::UnsupportedOptionalParameter(ptype))
                        .with_data([ptype]),
                );
            }
            while !value.is_empty() {
                let cat = value.offset();
                let ccode = value.u8().map_err(t("capability code"))?;
                let clen = value.u8().map_err(t("capability length"))?;
                let cval = value
                    .take(usize::from(clen))
                    .map_err(t("capability value"))?;
                let cap = Capability::decode(ccode, cval).map_err(|_| {
                    DecodeError::new(cat, Reason::MalformedOpen("malformed capability"))
                })?;
                capabilities.push(cap);
            }
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            router_id,
            capabilities,
        })
    }

    /// Append the body. Each capability goes in its own optional parameter,
    /// as most speakers do; the RFC 9072 form is used only when the
    /// parameters do not fit in 255 bytes.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.router_id.octets());
        let mut caps = Vec::with_capacity(self.capabilities.len());
        for c in &self.capabilities {
            let mut b = Vec::new();
            c.encode(&mut b);
            caps.push(b);
        }
        let short_total: usize = caps
            .iter()
            .map(|c| c.len().saturating_add(2))
            .fold(0, usize::saturating_add);
        if let Ok(total) = u8::try_from(short_total) {
            out.push(total);
            for c in &caps {
                out.push(PARAM_CAPABILITIES);
                out.push(u8::try_from(c.len()).unwrap_or(u8::MAX));
                out.extend_from_slice(c);
            }
        } else {
            let total: usize = caps
                .iter()
                .map(|c| c.len().saturating_add(3))
                .fold(0, usize::saturating_add);
            out.extend_from_slice(&[255, PARAM_EXTENDED]);
            out.extend_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
            for c in &caps {
                out.push(PARAM_CAPABILITIES);
                out.extend_from_slice(&u16::try_from(c.len()).unwrap_or(u16::MAX).to_be_bytes());
                out.extend_from_slice(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::message::Message;
    use crate::testing::hex;
    use crate::{DecodeContext, EncodeContext};

    /// The OPEN of ExaBGP's `bgp-open-sofware-version` conformance vector.
    #[test]
    fn decodes_exabgp_open() {
        let bytes = hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00510104FFFD00B40A000002340206010400010001020641040000FFFD02224B201F4578614247502F6D61696E2D633261326561386562642D3230323430373135");
        let Message::Open(open) = Message::decode(&bytes, &DecodeContext::default()).unwrap()
        else {
            panic!("not an OPEN")
        };
        assert_eq!(open.asn(), 65533);
        assert_eq!(open.hold_time, 180);
        assert_eq!(open.router_id, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(
            open.capabilities,
            vec![
                Capability::Multiprotocol(Family::IPV4_UNICAST),
                Capability::FourOctetAs(65533),
                Capability::SoftwareVersion("ExaBGP/main-c2a2ea8ebd-20240715".into()),
            ]
        );
        assert_eq!(
            Message::Open(open).to_bytes(&EncodeContext::default()),
            bytes
        );
    }

    #[test]
    fn rfc9072_extended_parameters() {
        let caps = (0..40)
            .map(|i| Capability::Unknown {
                code: 200,
                value: vec![i; 10],
            })
            .collect();
        let open = Open::new(4_200_000_000, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
        assert_eq!(open.my_as, 23456);
        let bytes = Message::Open(open.clone()).to_bytes(&EncodeContext::default());
        assert_eq!(bytes[28], 255);
        assert_eq!(bytes[29], 255);
        assert_eq!(
            Message::decode(&bytes, &DecodeContext::default()),
            Ok(Message::Open(open))
        );
    }

    #[test]
    fn open_errors() {
        let good = Open::new(65001, 90, Ipv4Addr::new(192, 0, 2, 1), vec![]);
        let mut body = Vec::new();
        good.encode_body(&mut body);
        let mut v3 = body.clone();
        v3[0] = 3;
        let e = Open::decode(&v3).unwrap_err();
        assert_eq!(e.notification().data, vec![0, 4]);
        assert_eq!(e.notification().subcode, 1);
        let mut hold = body.clone();
        hold[3..5].copy_from_slice(&[0, 2]);
        assert_eq!(Open::decode(&hold).unwrap_err().notification().subcode, 6);
        let mut id = body.clone();
        id[5..9].copy_from_slice(&[0; 4]);
        assert_eq!(Open::decode(&id).unwrap_err().notification().subcode, 3);
        let mut param = body.clone();
        param[10] = 1; // authentication parameter, long deprecated
        assert_eq!(Open::decode(&param).unwrap_err().notification().subcode, 4);
        assert!(Open::decode(&body[..8]).is_err());
    }
}
