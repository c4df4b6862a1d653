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

/// Path attributes encoded once, for many UPDATEs of any family and next
/// hop: every attribute of a [`PathAttributes`] but NEXT_HOP, in ascending
/// type order, and the two places where NEXT_HOP (IPv4 unicast) or
/// MP_REACH_NLRI (every other family) go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EncodedAttributes {
    /// (A vector: made once per set and session and soon dropped, it is
    /// not worth shrinking.)
    bytes: Vec<u8>,
    /// Where the attributes with type codes above NEXT_HOP start.
    next_hop_at: u32,
    /// Where the attributes with type codes above MP_UNREACH_NLRI start.
    mp_at: u32,
}

impl EncodedAttributes {
    /// Encode `attributes` (their `next_hop` is left out: it is given
    /// with each announcement) with 4-octet or 2-octet AS numbers.
    pub fn new(attributes: &PathAttributes, four_octet_as: bool) -> EncodedAttributes {
        let mut bytes = Vec::with_capacity(64);
        attributes.encode_range(0..=type_code::AS_PATH, four_octet_as, &mut bytes);
        let next_hop_at = bytes.len();
        attributes.encode_range(
            type_code::MED..=type_code::MP_UNREACH_NLRI,
            four_octet_as,
            &mut bytes,
        );
        let mp_at = bytes.len();
        attributes.encode_range(
            type_code::MP_UNREACH_NLRI.saturating_add(1)..=u8::MAX,
            four_octet_as,
            &mut bytes,
        );
        EncodedAttributes {
            bytes,
            next_hop_at: u32::try_from(next_hop_at).unwrap_or(u32::MAX),
            mp_at: u32::try_from(mp_at).unwrap_or(u32::MAX),
        }
    }

    /// Attributes already in wire form, such as an edited copy of
    /// [`EncodedAttributes::as_bytes`]: whole attributes in ascending type
    /// order, without NEXT_HOP, MP_REACH_NLRI or MP_UNREACH_NLRI. `None`
    /// when the bytes are not that.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<EncodedAttributes> {
        let v = AttributesView::parse(&bytes)?;
        let (next_hop_at, mp_at) = (v.next_hop_at, v.mp_at);
        Some(EncodedAttributes {
            bytes,
            next_hop_at: u32::try_from(next_hop_at).ok()?,
            mp_at: u32::try_from(mp_at).ok()?,
        })
    }

    /// The bytes, for their buffer to be reused (see
    /// [`EncodedAttributes::from_bytes`]).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// A borrowed view of the same.
    pub fn view(&self) -> AttributesView<'_> {
        let end = self.bytes.len();
        AttributesView {
            bytes: &self.bytes,
            next_hop_at: usize::try_from(self.next_hop_at).unwrap_or(end).min(end),
            mp_at: usize::try_from(self.mp_at).unwrap_or(end).min(end),
        }
    }

    /// The encoded attributes, NEXT_HOP and MP_REACH_NLRI left out.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Their length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no attribute is encoded.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Attributes in the form of [`EncodedAttributes`], borrowed: where a
/// caller keeps many sets in one buffer, packing needs no copy of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributesView<'a> {
    bytes: &'a [u8],
    next_hop_at: usize,
    mp_at: usize,
}

impl<'a> AttributesView<'a> {
    /// Whole attributes in ascending type order, without NEXT_HOP,
    /// MP_REACH_NLRI or MP_UNREACH_NLRI (as [`EncodedAttributes::as_bytes`]
    /// gives them); `None` when the bytes are not that.
    pub fn parse(bytes: &'a [u8]) -> Option<AttributesView<'a>> {
        let mut next_hop_at = None;
        let mut mp_at = None;
        let mut at = 0usize;
        let mut last = 0u8;
        while at < bytes.len() {
            let fl = *bytes.get(at)?;
            let code = *bytes.get(at.checked_add(1)?)?;
            let (len, header) = if fl & flags::EXTENDED_LENGTH != 0 {
                let b = bytes.get(at.checked_add(2)?..at.checked_add(4)?)?;
                (
                    usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])),
                    4,
                )
            } else {
                (usize::from(*bytes.get(at.checked_add(2)?)?), 3)
            };
            if code < last
                || matches!(
                    code,
                    type_code::NEXT_HOP | type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI
                )
            {
                return None;
            }
            last = code;
            if code > type_code::NEXT_HOP && next_hop_at.is_none() {
                next_hop_at = Some(at);
            }
            if code > type_code::MP_UNREACH_NLRI && mp_at.is_none() {
                mp_at = Some(at);
            }
            at = at.checked_add(header)?.checked_add(len)?;
        }
        if at != bytes.len() {
            return None;
        }
        let end = bytes.len();
        Some(AttributesView {
            bytes,
            next_hop_at: next_hop_at.unwrap_or(end),
            mp_at: mp_at.unwrap_or(end),
        })
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn split(&self, at: usize) -> (&'a [u8], &'a [u8]) {
        self.bytes.split_at(at.min(self.bytes.len()))
    }
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
    /// For IPv4 unicast, [`NextHop::Empty`] means the NEXT_HOP of
    /// `attributes`, if any.
    pub fn announce(
        &self,
        family: Family,
        attributes: &PathAttributes,
        next_hop: NextHop,
        nlri: &NlriList,
        out: &mut Vec<u8>,
    ) -> Result<usize, TooLarge> {
        let next_hop = match (next_hop, attributes.next_hop) {
            (NextHop::Empty, Some(nh)) if family == Family::IPV4_UNICAST => NextHop::V4(nh),
            (nh, _) => nh,
        };
        let encoded = EncodedAttributes::new(attributes, self.ctx.four_octet_as);
        self.announce_encoded(family, encoded.view(), next_hop, nlri, out)
    }

    /// [`UpdatePacker::announce`] with attributes encoded beforehand
    /// ([`EncodedAttributes::view`], or any bytes of that form, with this
    /// session's `four_octet_as`), so that a set sent with many NLRI, in
    /// many calls, is encoded once.
    pub fn announce_encoded(
        &self,
        family: Family,
        attributes: AttributesView<'_>,
        next_hop: NextHop,
        nlri: &NlriList,
        out: &mut Vec<u8>,
    ) -> Result<usize, TooLarge> {
        let (bytes, ends) = encode_nlri(family, self.ctx.add_path(family), nlri);
        self.announce_wire(family, attributes, next_hop, &bytes, &ends, out)
    }

    /// [`UpdatePacker::announce_encoded`] of NLRI already in wire form:
    /// `nlri` holds them back to back (with path identifiers where the
    /// session sends them), `ends[i]` is where the i-th one ends. Nothing
    /// is allocated: the attributes and the NLRI are copied into `out`.
    pub fn announce_wire(
        &self,
        family: Family,
        attributes: AttributesView<'_>,
        next_hop: NextHop,
        nlri: &[u8],
        ends: &[u32],
        out: &mut Vec<u8>,
    ) -> Result<usize, TooLarge> {
        let (before_nh, after_nh) = attributes.split(attributes.next_hop_at);
        if family == Family::IPV4_UNICAST && matches!(next_hop, NextHop::V4(_) | NextHop::Empty) {
            let mut nh_attr = [0u8; 7];
            let nh_attr: &[u8] = match next_hop {
                NextHop::V4(nh) => {
                    nh_attr[0] = flags::TRANSITIVE;
                    nh_attr[1] = type_code::NEXT_HOP;
                    nh_attr[2] = 4;
                    nh_attr[3..].copy_from_slice(&nh.octets());
                    &nh_attr
                }
                _ => &[],
            };
            let alen = attributes.bytes.len().saturating_add(nh_attr.len());
            let alen16 = u16::try_from(alen).unwrap_or(u16::MAX);
            return self.pack_wire(
                nlri,
                ends,
                out,
                |msg, body| {
                    msg.extend_from_slice(&[0, 0]);
                    msg.extend_from_slice(&alen16.to_be_bytes());
                    msg.extend_from_slice(before_nh);
                    msg.extend_from_slice(nh_attr);
                    msg.extend_from_slice(after_nh);
                    msg.extend_from_slice(body);
                },
                alen,
            );
        }
        let (low, high) = attributes.split(attributes.mp_at);
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
        self.pack_wire(
            nlri,
            ends,
            out,
            |msg, body| {
                msg.extend_from_slice(&[0, 0]);
                let len_at = msg.len();
                msg.extend_from_slice(&[0, 0]);
                msg.extend_from_slice(low);
                let value_len = mp_head.len().saturating_add(body.len());
                match u8::try_from(value_len) {
                    Ok(short) => {
                        msg.extend_from_slice(&[flags::OPTIONAL, type_code::MP_REACH_NLRI, short])
                    }
                    Err(_) => {
                        let [hi, lo] = u16::try_from(value_len).unwrap_or(u16::MAX).to_be_bytes();
                        msg.extend_from_slice(&[
                            flags::OPTIONAL | flags::EXTENDED_LENGTH,
                            type_code::MP_REACH_NLRI,
                            hi,
                            lo,
                        ]);
                    }
                }
                msg.extend_from_slice(&mp_head);
                msg.extend_from_slice(body);
                msg.extend_from_slice(high);
                let alen = msg.len().saturating_sub(len_at).saturating_sub(2);
                let [hi, lo] = u16::try_from(alen).unwrap_or(u16::MAX).to_be_bytes();
                if let Some(slot) = msg.get_mut(len_at..len_at.saturating_add(2)) {
                    slot.copy_from_slice(&[hi, lo]);
                }
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
        let (bytes, ends) = encode_nlri(family, self.ctx.add_path(family), nlri);
        self.withdraw_wire(family, &bytes, &ends, out)
    }

    /// [`UpdatePacker::withdraw`] of NLRI already in wire form, laid out as
    /// for [`UpdatePacker::announce_wire`].
    pub fn withdraw_wire(
        &self,
        family: Family,
        nlri: &[u8],
        ends: &[u32],
        out: &mut Vec<u8>,
    ) -> Result<usize, TooLarge> {
        if family == Family::IPV4_UNICAST {
            return self.pack_wire(
                nlri,
                ends,
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
        self.pack_wire(
            nlri,
            ends,
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

    /// Split NLRI in wire form (`nlri`, each ending at `ends[i]`) into runs
    /// that fit next to `fixed` bytes of attributes and write one message
    /// per run with `write_body`, each run a slice of `nlri`.
    fn pack_wire(
        &self,
        nlri: &[u8],
        ends: &[u32],
        out: &mut Vec<u8>,
        write_body: impl Fn(&mut Vec<u8>, &[u8]),
        fixed: usize,
    ) -> Result<usize, TooLarge> {
        let room = self
            .max()
            .saturating_sub(UPDATE_OVERHEAD)
            .saturating_sub(fixed);
        let mut messages = 0usize;
        let mut run_start = 0usize;
        let mut prev = 0usize;
        for &end in ends {
            let end = usize::try_from(end).unwrap_or(usize::MAX).min(nlri.len());
            let need = end.saturating_sub(prev);
            if need > room {
                return Err(TooLarge {
                    needed: need,
                    available: room,
                    max: self.max(),
                });
            }
            if end.saturating_sub(run_start) > room {
                let start = begin(out, MessageType::Update);
                write_body(out, nlri.get(run_start..prev).unwrap_or_default());
                finish(out, start);
                messages = messages.saturating_add(1);
                run_start = prev;
            }
            prev = end;
        }
        if prev > run_start {
            let start = begin(out, MessageType::Update);
            write_body(out, nlri.get(run_start..prev).unwrap_or_default());
            finish(out, start);
            messages = messages.saturating_add(1);
        }
        Ok(messages)
    }
}

/// NLRI in wire form, back to back, and where each ends.
fn encode_nlri(family: Family, add_path: bool, nlri: &NlriList) -> (Vec<u8>, Vec<u32>) {
    let mut bytes = Vec::with_capacity(nlri.len().saturating_mul(5));
    let mut ends = Vec::with_capacity(nlri.len());
    for n in nlri.iter() {
        n.encode(family.afi, add_path, &mut bytes);
        ends.push(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    }
    (bytes, ends)
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

    #[test]
    fn pre_encoded_attributes_give_the_same_messages() {
        let mut a = attrs();
        a.med = Some(7);
        a.communities = vec![crate::attribute::Community(9)];
        a.large_communities = vec![crate::attribute::LargeCommunity {
            global: 1,
            local1: 2,
            local2: 3,
        }];
        a.otc = Some(65001);
        let v4 = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v6 = NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        for ctx in [
            EncodeContext::default(),
            EncodeContext {
                four_octet_as: false,
                ..EncodeContext::default()
            },
        ] {
            let packer = UpdatePacker::new(ctx);
            let encoded = EncodedAttributes::new(&a, ctx.four_octet_as);
            for (family, nh, list) in [
                (Family::IPV4_UNICAST, v4, prefixes(1500, false)),
                (Family::IPV4_UNICAST, v6, prefixes(10, false)),
                (Family::IPV4_MULTICAST, v4, prefixes(10, false)),
                (Family::IPV6_UNICAST, v6, prefixes(1500, true)),
                (Family::IPV4_UNICAST, v4, prefixes(10, false)),
                (Family::IPV6_UNICAST, v6, prefixes(10, true)),
            ] {
                let mut by_value = Vec::new();
                packer
                    .announce(family, &a, nh, &list, &mut by_value)
                    .unwrap();
                let mut pre = Vec::new();
                packer
                    .announce_encoded(family, encoded.view(), nh, &list, &mut pre)
                    .unwrap();
                assert_eq!(pre, by_value);
                if list.len() <= 10 {
                    // One message: the same bytes as the UPDATE encoder writes.
                    let NlriList::Prefixes(v) = &list else {
                        panic!()
                    };
                    let mut u = crate::update::Update {
                        attributes: a.clone(),
                        ..Default::default()
                    };
                    match (family, nh) {
                        (Family::IPV4_UNICAST, NextHop::V4(addr)) => {
                            u.attributes.next_hop = Some(addr);
                            u.announced = v.clone();
                        }
                        _ => {
                            u.mp_reach = Some(crate::update::MpReach {
                                family,
                                next_hop: nh,
                                nlri: crate::update::MpNlri::Decoded(list.clone()),
                            })
                        }
                    }
                    assert_eq!(pre, Message::Update(u).to_bytes(&ctx));
                }
                let ctx_in = ctx.mirror();
                let mut rest = &pre[..];
                let mut n = 0;
                while !rest.is_empty() {
                    let len = u16::from_be_bytes([rest[16], rest[17]]) as usize;
                    let Message::Update(u) = Message::decode(&rest[..len], &ctx_in).unwrap() else {
                        panic!()
                    };
                    assert_eq!(u.attributes.med, Some(7));
                    assert_eq!(u.attributes.otc, Some(65001));
                    n += u.announced.len() + u.mp_reach.map_or(0, |r| r.nlri.len());
                    rest = &rest[len..];
                }
                assert_eq!(n, list.len());
            }
        }
        // Without NEXT_HOP the bytes are those of the attributes alone.
        let mut with_nh = a.clone();
        with_nh.next_hop = Some(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            EncodedAttributes::new(&with_nh, true),
            EncodedAttributes::new(&a, true)
        );
        let mut plain = Vec::new();
        a.encode(true, &mut plain);
        let enc = EncodedAttributes::new(&a, true);
        assert_eq!(enc.as_bytes(), &plain[..]);
        // Read back from its bytes, the same places are found.
        assert_eq!(EncodedAttributes::from_bytes(plain.clone()), Some(enc));
        let only_origin = EncodedAttributes::new(
            &PathAttributes {
                origin: Some(Origin::Igp),
                ..PathAttributes::default()
            },
            true,
        );
        assert_eq!(
            EncodedAttributes::from_bytes(only_origin.as_bytes().to_vec()),
            Some(only_origin)
        );
        // Not whole attributes, out of order, or with a NEXT_HOP: refused.
        assert_eq!(
            EncodedAttributes::from_bytes(plain[..plain.len() - 1].to_vec()),
            None
        );
        assert_eq!(
            EncodedAttributes::from_bytes(vec![0x40, 3, 4, 1, 2, 3, 4]),
            None
        );
        assert_eq!(
            EncodedAttributes::from_bytes(vec![0x80, 4, 4, 0, 0, 0, 1, 0x40, 1, 1, 0]),
            None
        );
    }
}
