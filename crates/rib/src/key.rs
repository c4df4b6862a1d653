//! What identifies a destination in each family's table, and the way back
//! from a key to an NLRI on the wire.
//!
//! IPv4 and IPv6 unicast and multicast use the fixed-size keys of
//! [`crate::prefix`]. Every other family Ribbit decodes (labeled, VPN,
//! Flowspec) is keyed by the NLRI's own encoding without path identifier
//! ([`NlriKey`]). A label stack is not part of what a labeled or VPN route
//! is (RFC 8277 §2.4: a withdrawal may carry any label, or 0x800000), so it
//! is left out of the key and kept with each path (`Extra`).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use ribbit_wire::nlri::{Label, LabeledNlri, Nlri, NlriList, PrefixNlri, VpnNlri};
use ribbit_wire::reader::Reader;
use ribbit_wire::Family;

use crate::chunk_map::Radix;
use crate::prefix::{PrefixKey, V4Key, V6Key};

impl Radix for V4Key {
    const SCAN: bool = true;

    fn radix(&self) -> u32 {
        u32::from(self.addr())
    }
}

impl Radix for V6Key {
    const SCAN: bool = true;

    fn radix(&self) -> u32 {
        let a = u128::from(ipnet::Ipv6Net::from(*self).network());
        u32::try_from(a >> 96).unwrap_or(u32::MAX)
    }
}

/// Labeled, VPN and Flowspec keys start with labels or a route
/// distinguisher: one slot.
impl Radix for NlriKey {}

/// A table key: the destination part of an NLRI.
pub(crate) trait RouteKey:
    Ord + Clone + Radix + std::fmt::Debug + Send + Sync + 'static
{
    /// What a path of this family carries besides its attributes that is
    /// sent back in the NLRI (the label stack); `()` for plain prefixes.
    type Extra: Clone + Default + PartialEq + Eq + std::fmt::Debug + Send + Sync + 'static;

    /// The key, path identifier and extra of one received NLRI; `None`
    /// when the NLRI does not belong in this kind of table.
    fn from_nlri(family: Family, n: Nlri<'_>) -> Option<(Self, Option<u32>, Self::Extra)>;

    /// Append the NLRI for this key to `list` (made with
    /// [`NlriList::empty_for`] of `family`).
    fn push_nlri(
        &self,
        family: Family,
        path_id: Option<u32>,
        extra: &Self::Extra,
        list: &mut NlriList,
    );

    /// Bytes the NLRI takes on the wire, path identifier not included.
    fn wire_len(&self, extra: &Self::Extra) -> usize;

    /// Append the NLRI in wire form (with the path identifier when one is
    /// given: the session sends them), as `NlriList::encode` would.
    fn write_nlri(
        &self,
        family: Family,
        path_id: Option<u32>,
        extra: &Self::Extra,
        out: &mut Vec<u8>,
    ) {
        let mut list = NlriList::empty_for(family).unwrap_or(NlriList::Prefixes(Vec::new()));
        self.push_nlri(family, path_id, extra, &mut list);
        list.encode(family, path_id.is_some(), out);
    }

    /// The prefix, for families that have one.
    fn prefix(&self) -> Option<IpNet>;

    /// What the Adj-RIB-Out keeps of a path sent with attributes hashing
    /// to `hash` and this extra (the label stack is part of what was sent).
    fn sent_hash(hash: u64, _extra: &Self::Extra, _hasher: &std::hash::RandomState) -> u64 {
        hash
    }
}

fn push_prefix(list: &mut NlriList, n: PrefixNlri) {
    if let NlriList::Prefixes(v) = list {
        v.push(n);
    }
}

impl RouteKey for V4Key {
    type Extra = ();

    fn from_nlri(_: Family, n: Nlri<'_>) -> Option<(V4Key, Option<u32>, ())> {
        match n {
            Nlri::Prefix(PrefixNlri {
                path_id,
                prefix: IpNet::V4(p),
            }) => Some((V4Key::from(*p), *path_id, ())),
            _ => None,
        }
    }

    fn push_nlri(&self, _: Family, path_id: Option<u32>, _: &(), list: &mut NlriList) {
        push_prefix(
            list,
            PrefixNlri {
                path_id,
                prefix: IpNet::V4(Ipv4Net::from(*self)),
            },
        );
    }

    fn wire_len(&self, _: &()) -> usize {
        1 + usize::from(self.prefix_len()).div_ceil(8)
    }

    fn write_nlri(&self, _: Family, path_id: Option<u32>, _: &(), out: &mut Vec<u8>) {
        if let Some(id) = path_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        let len = self.prefix_len();
        out.push(len);
        let n = usize::from(len).div_ceil(8);
        out.extend_from_slice(self.addr().octets().get(..n).unwrap_or_default());
    }

    fn prefix(&self) -> Option<IpNet> {
        Some(IpNet::V4(Ipv4Net::from(*self)))
    }
}

impl RouteKey for V6Key {
    type Extra = ();

    fn from_nlri(_: Family, n: Nlri<'_>) -> Option<(V6Key, Option<u32>, ())> {
        match n {
            Nlri::Prefix(PrefixNlri {
                path_id,
                prefix: IpNet::V6(p),
            }) => Some((V6Key::from(*p), *path_id, ())),
            _ => None,
        }
    }

    fn push_nlri(&self, _: Family, path_id: Option<u32>, _: &(), list: &mut NlriList) {
        push_prefix(
            list,
            PrefixNlri {
                path_id,
                prefix: IpNet::V6(Ipv6Net::from(*self)),
            },
        );
    }

    fn wire_len(&self, _: &()) -> usize {
        1 + usize::from(self.prefix_len()).div_ceil(8)
    }

    fn write_nlri(&self, _: Family, path_id: Option<u32>, _: &(), out: &mut Vec<u8>) {
        if let Some(id) = path_id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        let len = self.prefix_len();
        out.push(len);
        let n = usize::from(len).div_ceil(8);
        let addr = Ipv6Net::from(*self).network().octets();
        out.extend_from_slice(addr.get(..n).unwrap_or_default());
    }

    fn prefix(&self) -> Option<IpNet> {
        Some(IpNet::V6(Ipv6Net::from(*self)))
    }
}

/// The key of a labeled, VPN or Flowspec destination: its NLRI encoded
/// without path identifier and with an empty label stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct NlriKey(Box<[u8]>);

/// The label stack of a labeled or VPN path.
pub(crate) type Labels = Box<[Label]>;

impl NlriKey {
    /// Decode the key back into its NLRI (one element).
    fn decode(&self, family: Family) -> Option<NlriList> {
        NlriList::decode(&mut Reader::new(&self.0, 0), family, false, true).ok()
    }
}

impl RouteKey for NlriKey {
    type Extra = Labels;

    fn from_nlri(family: Family, n: Nlri<'_>) -> Option<(NlriKey, Option<u32>, Labels)> {
        let afi = family.afi;
        let mut bytes = Vec::with_capacity(24);
        let (path_id, labels) = match n {
            Nlri::Prefix(p) => {
                Nlri::Prefix(&PrefixNlri {
                    path_id: None,
                    prefix: p.prefix,
                })
                .encode(afi, false, &mut bytes);
                (p.path_id, Labels::default())
            }
            Nlri::Labeled(l) => {
                let bare = LabeledNlri {
                    path_id: None,
                    labels: Vec::new(),
                    prefix: l.prefix,
                };
                Nlri::Labeled(&bare).encode(afi, false, &mut bytes);
                (l.path_id, l.labels.clone().into_boxed_slice())
            }
            Nlri::Vpn(v) => {
                let bare = VpnNlri {
                    path_id: None,
                    labels: Vec::new(),
                    rd: v.rd,
                    prefix: v.prefix,
                };
                Nlri::Vpn(&bare).encode(afi, false, &mut bytes);
                (v.path_id, v.labels.clone().into_boxed_slice())
            }
            Nlri::Flowspec(f) => {
                Nlri::Flowspec(f).encode(afi, false, &mut bytes);
                (f.path_id, Labels::default())
            }
        };
        Some((NlriKey(bytes.into_boxed_slice()), path_id, labels))
    }

    fn push_nlri(&self, family: Family, path_id: Option<u32>, extra: &Labels, list: &mut NlriList) {
        let Some(decoded) = self.decode(family) else {
            return;
        };
        match (decoded, list) {
            (NlriList::Prefixes(v), NlriList::Prefixes(out)) => {
                out.extend(v.into_iter().map(|n| PrefixNlri { path_id, ..n }))
            }
            (NlriList::Labeled(v), NlriList::Labeled(out)) => {
                out.extend(v.into_iter().map(|n| LabeledNlri {
                    path_id,
                    labels: extra.to_vec(),
                    ..n
                }))
            }
            (NlriList::Vpn(v), NlriList::Vpn(out)) => out.extend(v.into_iter().map(|n| VpnNlri {
                path_id,
                labels: extra.to_vec(),
                ..n
            })),
            (NlriList::Flowspec(v), NlriList::Flowspec(out)) => {
                out.extend(v.into_iter().map(|mut n| {
                    n.path_id = path_id;
                    n
                }))
            }
            _ => {}
        }
    }

    fn wire_len(&self, extra: &Labels) -> usize {
        // The key holds one (withdrawal) label; the path's stack replaces it.
        self.0
            .len()
            .saturating_add(extra.len().saturating_mul(3))
            .saturating_sub(if extra.is_empty() { 0 } else { 3 })
    }

    fn prefix(&self) -> Option<IpNet> {
        None
    }

    fn sent_hash(hash: u64, extra: &Labels, hasher: &std::hash::RandomState) -> u64 {
        use std::hash::BuildHasher;
        if extra.is_empty() {
            hash
        } else {
            hasher.hash_one((hash, extra))
        }
    }
}

/// The prefix of an NLRI of any layout but Flowspec.
pub(crate) fn nlri_prefix(n: Nlri<'_>) -> Option<IpNet> {
    match n {
        Nlri::Prefix(p) => Some(p.prefix),
        Nlri::Labeled(l) => Some(l.prefix),
        Nlri::Vpn(v) => Some(v.prefix),
        Nlri::Flowspec(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::nlri::RouteDistinguisher;

    fn round_trip(family: Family, list: &NlriList) {
        for n in list.iter() {
            let (key, path_id, labels) = NlriKey::from_nlri(family, n).unwrap();
            let mut back = NlriList::empty_for(family).unwrap();
            key.push_nlri(family, path_id, &labels, &mut back);
            assert_eq!(back.iter().next(), Some(n));
            let mut wire = Vec::new();
            n.encode(family.afi, false, &mut wire);
            assert_eq!(key.wire_len(&labels), wire.len());
        }
    }

    #[test]
    fn labeled_keys_leave_the_labels_out() {
        let a = LabeledNlri {
            path_id: Some(4),
            labels: vec![Label::new(100)],
            prefix: "10.0.0.0/8".parse().unwrap(),
        };
        let b = LabeledNlri {
            path_id: None,
            labels: vec![Label::WITHDRAW],
            ..a.clone()
        };
        let ka = NlriKey::from_nlri(Family::IPV4_LABELED, Nlri::Labeled(&a)).unwrap();
        let kb = NlriKey::from_nlri(Family::IPV4_LABELED, Nlri::Labeled(&b)).unwrap();
        assert_eq!(ka.0, kb.0);
        assert_eq!(ka.1, Some(4));
        let mut with_bottom = a.clone();
        with_bottom.labels = vec![Label(Label::new(100).0 | 1)];
        round_trip(Family::IPV4_LABELED, &NlriList::Labeled(vec![with_bottom]));
        let v = VpnNlri {
            path_id: None,
            labels: vec![Label(Label::new(7).0 | 1)],
            rd: "65000:1".parse::<RouteDistinguisher>().unwrap(),
            prefix: "2001:db8::/32".parse().unwrap(),
        };
        round_trip(Family::IPV6_VPN, &NlriList::Vpn(vec![v]));
    }

    #[test]
    fn prefix_keys() {
        let n = PrefixNlri {
            path_id: Some(3),
            prefix: "192.0.2.0/24".parse().unwrap(),
        };
        let (k, id, ()) = V4Key::from_nlri(Family::IPV4_UNICAST, Nlri::Prefix(&n)).unwrap();
        assert_eq!(id, Some(3));
        assert_eq!(k.wire_len(&()), 4);
        assert!(V6Key::from_nlri(Family::IPV6_UNICAST, Nlri::Prefix(&n)).is_none());
        let mut list = NlriList::Prefixes(Vec::new());
        k.push_nlri(Family::IPV4_UNICAST, Some(3), &(), &mut list);
        assert_eq!(list, NlriList::Prefixes(vec![n]));
    }

    /// The prefix keys' own writers give the codec's bytes.
    #[test]
    fn prefix_keys_write_the_codecs_bytes() {
        for (family, p) in [
            (Family::IPV4_UNICAST, "0.0.0.0/0"),
            (Family::IPV4_UNICAST, "10.0.0.0/7"),
            (Family::IPV4_UNICAST, "192.0.2.128/25"),
            (Family::IPV4_UNICAST, "192.0.2.1/32"),
            (Family::IPV6_UNICAST, "::/0"),
            (Family::IPV6_UNICAST, "2001:db8::/33"),
            (Family::IPV6_UNICAST, "2001:db8::1/128"),
        ] {
            for id in [None, Some(7)] {
                let n = PrefixNlri {
                    path_id: id,
                    prefix: p.parse().unwrap(),
                };
                let mut want = Vec::new();
                Nlri::Prefix(&n).encode(family.afi, id.is_some(), &mut want);
                let mut got = Vec::new();
                if family == Family::IPV4_UNICAST {
                    let (k, _, ()) = V4Key::from_nlri(family, Nlri::Prefix(&n)).unwrap();
                    k.write_nlri(family, id, &(), &mut got);
                } else {
                    let (k, _, ()) = V6Key::from_nlri(family, Nlri::Prefix(&n)).unwrap();
                    k.write_nlri(family, id, &(), &mut got);
                }
                assert_eq!(got, want, "{p} {id:?}");
            }
        }
    }
}
