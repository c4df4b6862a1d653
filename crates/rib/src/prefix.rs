//! Prefixes as small fixed-size keys, and an ordered table of them with
//! exact lookup, longest-prefix match and more-specifics walks.
//!
//! A key orders by network address, then by length. A prefix therefore
//! comes right before all of its more-specifics, which form one contiguous
//! range of keys: a sub-tree walk is a range scan, and longest-prefix match
//! is at most one lookup per possible length.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A prefix key of one address family.
pub trait PrefixKey: Copy + Ord + std::fmt::Debug {
    /// The address type.
    type Addr: Copy;
    /// The longest prefix length of the family.
    const MAX_LEN: u8;
    /// The key of `addr`/`len`, host bits cleared (`len` capped at `MAX_LEN`).
    fn new(addr: Self::Addr, len: u8) -> Self;
    /// The prefix length.
    fn prefix_len(&self) -> u8;
    /// The first key that lies within this prefix (the prefix itself).
    fn range_start(&self) -> Self;
    /// The last key that lies within this prefix.
    fn range_end(&self) -> Self;
}

/// An IPv4 prefix in 8 bytes: address in the high 32 bits, length below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V4Key(u64);

fn mask4(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(len)))
        .unwrap_or(0)
}

impl PrefixKey for V4Key {
    type Addr = Ipv4Addr;
    const MAX_LEN: u8 = 32;

    fn new(addr: Ipv4Addr, len: u8) -> V4Key {
        let len = len.min(32);
        V4Key((u64::from(u32::from(addr) & mask4(len)) << 8) | u64::from(len))
    }

    fn prefix_len(&self) -> u8 {
        (self.0 & 0xff) as u8
    }

    fn range_start(&self) -> V4Key {
        *self
    }

    fn range_end(&self) -> V4Key {
        let host = !mask4(self.prefix_len());
        V4Key((((self.0 >> 8) | u64::from(host)) << 8) | 32)
    }
}

impl V4Key {
    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from((self.0 >> 8) as u32)
    }
}

impl From<Ipv4Net> for V4Key {
    fn from(p: Ipv4Net) -> V4Key {
        V4Key::new(p.network(), p.prefix_len())
    }
}

impl From<V4Key> for Ipv4Net {
    fn from(k: V4Key) -> Ipv4Net {
        Ipv4Net::new_assert(k.addr(), k.prefix_len())
    }
}

/// An IPv6 prefix: address and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V6Key {
    addr: u128,
    len: u8,
}

fn mask6(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(len)))
        .unwrap_or(0)
}

impl PrefixKey for V6Key {
    type Addr = Ipv6Addr;
    const MAX_LEN: u8 = 128;

    fn new(addr: Ipv6Addr, len: u8) -> V6Key {
        let len = len.min(128);
        V6Key {
            addr: u128::from(addr) & mask6(len),
            len,
        }
    }

    fn prefix_len(&self) -> u8 {
        self.len
    }

    fn range_start(&self) -> V6Key {
        *self
    }

    fn range_end(&self) -> V6Key {
        V6Key {
            addr: self.addr | !mask6(self.len),
            len: 128,
        }
    }
}

impl V6Key {
    /// The network address.
    pub fn addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.addr)
    }
}

impl From<Ipv6Net> for V6Key {
    fn from(p: Ipv6Net) -> V6Key {
        V6Key::new(p.network(), p.prefix_len())
    }
}

impl From<V6Key> for Ipv6Net {
    fn from(k: V6Key) -> Ipv6Net {
        Ipv6Net::new_assert(k.addr(), k.len)
    }
}

/// Either family's key, for code that handles both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnyKey {
    /// IPv4.
    V4(V4Key),
    /// IPv6.
    V6(V6Key),
}

impl From<IpNet> for AnyKey {
    fn from(p: IpNet) -> AnyKey {
        match p {
            IpNet::V4(p) => AnyKey::V4(p.into()),
            IpNet::V6(p) => AnyKey::V6(p.into()),
        }
    }
}

/// A table of values by prefix of one family.
#[derive(Debug, Clone)]
pub struct PrefixTable<K: PrefixKey, V> {
    map: BTreeMap<K, V>,
}

impl<K: PrefixKey, V> Default for PrefixTable<K, V> {
    fn default() -> Self {
        PrefixTable {
            map: BTreeMap::new(),
        }
    }
}

impl<K: PrefixKey, V> PrefixTable<K, V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of exactly this prefix.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value of exactly this prefix, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    /// Set the value of a prefix; returns the old one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.map.insert(key, value)
    }

    /// Remove a prefix.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    /// The value of a prefix, inserted with `make` if missing.
    pub fn entry_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.map.entry(key).or_insert_with(make)
    }

    /// The most specific prefix that contains `addr`.
    pub fn longest_match(&self, addr: K::Addr) -> Option<(K, &V)> {
        (0..=K::MAX_LEN)
            .rev()
            .map(|len| K::new(addr, len))
            .find_map(|k| self.map.get(&k).map(|v| (k, v)))
    }

    /// `key` and every more-specific prefix, in key order.
    pub fn more_specifics(&self, key: K) -> impl Iterator<Item = (&K, &V)> {
        self.map.range(key.range_start()..=key.range_end())
    }

    /// Every prefix, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    /// The number of prefixes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn k4(s: &str) -> V4Key {
        s.parse::<Ipv4Net>().unwrap().into()
    }

    #[test]
    fn ipv4_lookups() {
        let mut t = PrefixTable::new();
        for (p, v) in [
            ("0.0.0.0/0", 0),
            ("10.0.0.0/8", 8),
            ("10.1.0.0/16", 16),
            ("10.1.2.0/24", 24),
            ("11.0.0.0/8", 11),
        ] {
            t.insert(k4(p), v);
        }
        let lpm = |a: &str| t.longest_match(a.parse().unwrap()).map(|(_, v)| *v);
        assert_eq!(lpm("10.1.2.3"), Some(24));
        assert_eq!(lpm("10.1.3.3"), Some(16));
        assert_eq!(lpm("10.200.0.1"), Some(8));
        assert_eq!(lpm("192.0.2.1"), Some(0));
        let under: Vec<i32> = t
            .more_specifics(k4("10.0.0.0/8"))
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(under, [8, 16, 24]);
        assert_eq!(t.more_specifics(k4("10.1.0.0/16")).count(), 2);
        assert_eq!(t.more_specifics(k4("0.0.0.0/0")).count(), 5);
        assert_eq!(Ipv4Net::from(k4("10.1.2.0/24")).to_string(), "10.1.2.0/24");
        // Host bits never make a different key.
        assert_eq!(
            V4Key::new("10.1.2.3".parse().unwrap(), 24),
            k4("10.1.2.0/24")
        );
    }

    #[test]
    fn ipv6_lookups() {
        let mut t = PrefixTable::new();
        let k6 = |s: &str| V6Key::from(s.parse::<Ipv6Net>().unwrap());
        t.insert(k6("2001:db8::/32"), 32);
        t.insert(k6("2001:db8:1::/48"), 48);
        t.insert(k6("::/0"), 0);
        assert_eq!(
            t.longest_match("2001:db8:1::5".parse().unwrap())
                .map(|(_, v)| *v),
            Some(48)
        );
        assert_eq!(
            t.longest_match("2001:db9::".parse().unwrap())
                .map(|(_, v)| *v),
            Some(0)
        );
        assert_eq!(t.more_specifics(k6("2001:db8::/32")).count(), 2);
        assert_eq!(std::mem::size_of::<V4Key>(), 8);
    }

    proptest! {
        /// Lookups agree with a scan of every prefix.
        #[test]
        fn agrees_with_brute_force(
            prefixes in proptest::collection::vec((any::<u32>(), 0u8..=32), 1..60),
            probes in proptest::collection::vec(any::<u32>(), 1..20),
        ) {
            let mut t = PrefixTable::new();
            for &(a, l) in &prefixes {
                t.insert(V4Key::new(Ipv4Addr::from(a), l), ());
            }
            let nets: Vec<Ipv4Net> = t.iter().map(|(k, _)| Ipv4Net::from(*k)).collect();
            for &p in &probes {
                let addr = Ipv4Addr::from(p);
                let want = nets.iter().filter(|n| n.contains(&addr)).map(|n| n.prefix_len()).max();
                let got = t.longest_match(addr).map(|(k, _)| k.prefix_len());
                prop_assert_eq!(got, want);
            }
            for n in &nets {
                let want = nets.iter().filter(|m| n.contains(&m.network()) && m.prefix_len() >= n.prefix_len()).count();
                prop_assert_eq!(t.more_specifics(V4Key::from(*n)).count(), want);
            }
        }
    }
}
