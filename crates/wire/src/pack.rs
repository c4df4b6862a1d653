//! Packing many NLRI that share one attribute set into as few UPDATEs as the
//! peer's maximum message size allows.
//!
//! The attributes are encoded once; each message repeats them and takes as
//! many NLRI as fit. IPv4 unicast with an IPv4 next hop goes in the classic
//! NLRI field; every other family (and IPv4 with an IPv6 next hop, RFC 8950)
//! goes in MP_REACH_NLRI, which is written between the attributes with lower
//! and higher type codes so that the attributes stay in ascending order.

use crate::attribute::{flags, type_code, write_attribute, PathAttributes};
use crate::context::EncodeContext;
use crate::family::Family;
use crate::message::{begin, finish, MessageType, HEADER_LEN};
use crate::nlri::NlriList;
use crate::update::NextHop;

/// An NLRI that does not fit in a message even alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an NLRI of {needed} bytes does not fit: {available} bytes are left in a {max}-byte UPDATE after the attributes")]
pub struct TooLarge {
    /// Bytes the NLRI needs.
    pub needed: usize,
    /// Bytes left for NLRI.
    pub available: usize,
    /// The maximum message size.
    pub max: usize,
}

/// Packs NLRI into UPDATE messages for one session.
#[derive(Debug, Clone, Copy)]
pub struct UpdatePacker {
    ctx: EncodeContext,
}

/// Fixed bytes of an UPDATE besides attributes and NLRI: header, withdrawn
/// routes length, total path attribute length.
const UPDATE_OVERHEAD: usize = HEADER_LEN + 2 + 2;

impl UpdatePacker {
    /// A packer for a session with these settings.
    pub fn new(ctx: EncodeContext) -> Self {
        UpdatePacker { ctx }
    }

    fn max(&self) -> usize {
        self.ctx.max_message_len()
    }

    /// Append UPDATEs (whole messages) announcing `nlri` of `family` with
    /// `attributes` and `next_hop` to `out`; returns how many were written.
    pub fn announce(
        &self,
        family: Family,
        attributes: &PathAttributes,
        next_hop: NextHop,
        nlri: &NlriList,
        out: &mut Vec<u8>,
    ) -> Result<usize, TooLarge> {
        let add_path = self.ctx.add_path(family);
        if family == Family::IPV4_UNICAST && matches!(next_hop, NextHop::V4(_) | NextHop::Empty) {
            let mut attrs_bytes = Vec::with_capacity(64);
            let mut a = attributes.clone();
            if let NextHop::V4(nh) = next_hop {
                a.next_hop = Some(nh);
            }
            a.encode(self.ctx.four_octet_as, &mut attrs_bytes);
            return self.pack(
                nlri,
                family,
                add_path,
                out,
                |msg, body| {
                    msg.extend_from_slice(&[0, 0]);
                    let alen = u16::try_from(attrs_bytes.len()).unwrap_or(u16::MAX);
                    msg.extend_from_slice(&alen.to_be_bytes());
                    msg.extend_from_slice(&attrs_bytes);
                    msg.extend_from_slice(body);
                },
                attrs_bytes.len(),
            );
        }
        let mut low = Vec::with_capacity(64);
        let mut high = Vec::new();
        let mut a = attributes.clone();
        a.next_hop = None;
        a.encode_range(
            0..=type_code::MP_UNREACH_NLRI,
            self.ctx.four_octet_as,
            &mut low,
        );
        a.encode_range(
            type_code::MP_UNREACH_NLRI.saturating_add(1)..=u8::MAX,
            self.ctx.four_octet_as,
            &mut high,
        );
        let mut mp_head = Vec::with_capacity(40);
        mp_head.extend_from_slice(&family.afi.0.to_be_bytes());
        mp_head.push(family.safi.0);
        next_hop.encode(family, &mut mp_head);
        mp_head.push(0);
        // MP_REACH header is 4 bytes when its value might exceed 255 bytes.
        let fixed = low
            .len()
            .saturating_add(high.len())
            .saturating_add(4)
            .saturating_add(mp_head.len());
        self.pack(
            nlri,
            family,
            add_path,
            out,
            |msg, body| {
                let mut attrs = Vec::with_capacity(fixed.saturating_add(body.len()));
                attrs.extend_from_slice(&low);
                let mut value = Vec::with_capacity(mp_head.len().saturating_add(body.len()));
                value.extend_from_slice(&mp_head);
                value.extend_from_slice(body);
                write_attribute(
                    flags::OPTIONAL,
                    type_code::MP_REACH_NLRI,
                    &value,
                    &mut attrs,
                );
                attrs.extend_from_slice(&high);
                msg.extend_from_slice(&[0, 0]);
                msg.extend_from_slice(
                    &u16::try_from(attrs.len()).unwrap_or(u16::MAX).to_be_bytes(),
                );
                msg.extend_from_slice(&attrs);
            },
            fixed,
        )
    }

    /// Append UPDATEs withdrawing `nlri` of `family`; returns how many were written.
    pub fn withdraw(
        &self,
        family: Family,
        nlri: &NlriList,
        out: &mut Vec<u8>,
    ) -> Result<usize, TooLarge> {
        let add_path = self.ctx.add_path(family);
        if family == Family::IPV4_UNICAST {
            return self.pack(
                nlri,
                family,
                add_path,
                out,
                |msg, body| {
                    msg.extend_from_slice(
                        &u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes(),
                    );
                    msg.extend_from_slice(body);
                    msg.extend_from_slice(&[0, 0]);
                },
                0,
            );
        }
        let fixed = 4 + 3;
        self.pack(
            nlri,
            family,
            add_path,
            out,
            |msg, body| {
                let mut value = Vec::with_capacity(3usize.saturating_add(body.len()));
                value.extend_from_slice(&family.afi.0.to_be_bytes());
                value.push(family.safi.0);
                value.extend_from_slice(body);
                let mut attrs = Vec::with_capacity(value.len().saturating_add(4));
                write_attribute(
                    flags::OPTIONAL,
                    type_code::MP_UNREACH_NLRI,
                    &value,
                    &mut attrs,
                );
                msg.extend_from_slice(&[0, 0]);
                msg.extend_from_slice(
                    &u16::try_from(attrs.len()).unwrap_or(u16::MAX).to_be_bytes(),
                );
                msg.extend_from_slice(&attrs);
            },
            fixed,
        )
    }

    /// Split the NLRI into runs that fit next to `fixed` bytes of
    /// attributes and write one message per run with `write_body`.
    fn pack(
        &self,
        nlri: &NlriList,
        family: Family,
        add_path: bool,
        out: &mut Vec<u8>,
        write_body: impl Fn(&mut Vec<u8>, &[u8]),
        fixed: usize,
    ) -> Result<usize, TooLarge> {
        let room = self
            .max()
            .saturating_sub(UPDATE_OVERHEAD)
            .saturating_sub(fixed);
        let mut run = Vec::with_capacity(room.min(nlri.len().saturating_mul(5)));
        let mut messages = 0usize;
        let mut emit = |run: &mut Vec<u8>, out: &mut Vec<u8>| {
            let start = begin(out, MessageType::Update);
            write_body(out, run);
            finish(out, start);
            run.clear();
            messages = messages.saturating_add(1);
        };
        for n in nlri.iter() {
            let need = n.encoded_len(family.afi, add_path);
            if need > room {
                return Err(TooLarge {
                    needed: need,
                    available: room,
                    max: self.max(),
                });
            }
            if run.len().saturating_add(need) > room {
                emit(&mut run, out);
            }
            n.encode(family.afi, add_path, &mut run);
        }
        if !run.is_empty() {
            emit(&mut run, out);
        }
        Ok(messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{AsPath, Origin};
    use crate::context::DecodeContext;
    use crate::message::{Message, MAX_MESSAGE_LEN};
    use crate::nlri::PrefixNlri;
    use std::net::Ipv4Addr;

    fn attrs() -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001, 65002])),
            ..PathAttributes::default()
        }
    }

    fn prefixes(n: u32, v6: bool) -> NlriList {
        NlriList::Prefixes(
            (0..n)
                .map(|i| PrefixNlri {
                    path_id: None,
                    prefix: if v6 {
                        format!("2001:db8:{:x}::/48", i).parse().unwrap()
                    } else {
                        format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()
                    },
                })
                .collect(),
        )
    }

    /// Split a buffer of whole messages and decode each.
    fn messages(buf: &[u8]) -> Vec<crate::update::Update> {
        let mut out = Vec::new();
        let mut rest = buf;
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[16], rest[17]]) as usize;
            assert!(len <= MAX_MESSAGE_LEN);
            let Message::Update(u) =
                Message::decode(&rest[..len], &DecodeContext::default()).unwrap()
            else {
                panic!()
            };
            out.push(u);
            rest = &rest[len..];
        }
        out
    }

    #[test]
    fn packs_ipv4_into_full_messages() {
        let packer = UpdatePacker::new(EncodeContext::default());
        let mut out = Vec::new();
        let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
        let n = packer
            .announce(
                Family::IPV4_UNICAST,
                &attrs(),
                nh,
                &prefixes(2000, false),
                &mut out,
            )
            .unwrap();
        let updates = messages(&out);
        assert_eq!(updates.len(), n);
        // 4 bytes per /24: about a thousand per 4096-byte message.
        assert_eq!(n, 2);
        let all: Vec<_> = updates.iter().flat_map(|u| u.announced.clone()).collect();
        assert_eq!(NlriList::Prefixes(all), prefixes(2000, false));
        assert!(updates
            .iter()
            .all(|u| u.attributes.next_hop == Some(Ipv4Addr::new(192, 0, 2, 1))));
    }

    #[test]
    fn packs_ipv6_in_mp_reach_and_withdraws() {
        let packer = UpdatePacker::new(EncodeContext::default());
        let mut out = Vec::new();
        let nh = NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        packer
            .announce(
                Family::IPV6_UNICAST,
                &attrs(),
                nh,
                &prefixes(1000, true),
                &mut out,
            )
            .unwrap();
        let updates = messages(&out);
        assert!(updates.len() >= 2);
        let mut total = 0;
        for u in &updates {
            let reach = u.mp_reach.as_ref().unwrap();
            assert_eq!(reach.next_hop, nh);
            total += reach.nlri.len();
        }
        assert_eq!(total, 1000);

        let mut out = Vec::new();
        packer
            .withdraw(Family::IPV6_UNICAST, &prefixes(1000, true), &mut out)
            .unwrap();
        let total: usize = messages(&out)
            .iter()
            .map(|u| u.mp_unreach.as_ref().unwrap().nlri.len())
            .sum();
        assert_eq!(total, 1000);
        let mut out = Vec::new();
        packer
            .withdraw(Family::IPV4_UNICAST, &prefixes(3000, false), &mut out)
            .unwrap();
        assert_eq!(
            messages(&out)
                .iter()
                .map(|u| u.withdrawn.len())
                .sum::<usize>(),
            3000
        );
    }

    #[test]
    fn extended_messages_pack_more() {
        let ext = EncodeContext {
            extended_message: true,
            ..EncodeContext::default()
        };
        let mut out = Vec::new();
        let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
        let n = UpdatePacker::new(ext)
            .announce(
                Family::IPV4_UNICAST,
                &attrs(),
                nh,
                &prefixes(2000, false),
                &mut out,
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn refuses_what_cannot_fit() {
        let mut a = attrs();
        a.communities = vec![crate::attribute::Community(1); 1100];
        let mut out = Vec::new();
        let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
        let err = UpdatePacker::new(EncodeContext::default())
            .announce(Family::IPV4_UNICAST, &a, nh, &prefixes(1, false), &mut out)
            .unwrap_err();
        assert_eq!(err.max, MAX_MESSAGE_LEN);
    }
}
