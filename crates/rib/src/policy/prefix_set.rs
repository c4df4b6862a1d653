//! Prefix sets: prefixes with a range of lengths, as in a Cisco or FRR
//! prefix-list (`10.0.0.0/8 ge 16 le 24`) or BIRD's `10.0.0.0/8{16,24}`.
//!
//! A set is indexed by entry length: for each length some entry has, a hash
//! map from the network bits to the lengths the entries of that network
//! allow. Matching a prefix of length `n` is then at most one hash lookup per
//! entry length up to `n`, whatever the number of entries.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// Why a prefix set entry cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPrefixEntry {
    /// The entry as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidPrefixEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.text, self.reason)
    }
}

impl std::error::Error for InvalidPrefixEntry {}

/// One entry of a prefix set: a prefix, and the lengths of the prefixes
/// within it that the entry matches (`min_len..=max_len`).
///
/// Written `10.0.0.0/8` (exactly that prefix), `10.0.0.0/8 le 24` (it and
/// its more-specifics up to /24), `10.0.0.0/8 ge 16` (its more-specifics
/// from /16 to /32), `10.0.0.0/8 ge 16 le 24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixEntry {
    /// The prefix, host bits clear.
    pub prefix: IpNet,
    /// The shortest length matched, at least the prefix's own.
    pub min_len: u8,
    /// The longest length matched, at most the family's maximum.
    pub max_len: u8,
}

impl PrefixEntry {
    /// The entry that matches exactly `prefix` (host bits are cleared).
    pub fn exact(prefix: IpNet) -> PrefixEntry {
        let prefix = prefix.trunc();
        PrefixEntry {
            prefix,
            min_len: prefix.prefix_len(),
            max_len: prefix.prefix_len(),
        }
    }

    /// Whether the entry matches `p`: `p` lies within the entry's prefix
    /// and its length is in range. The plain definition, without an index.
    pub fn matches(&self, p: &IpNet) -> bool {
        let len = p.prefix_len();
        len >= self.min_len && len <= self.max_len && self.prefix.contains(p)
    }
}

impl fmt::Display for PrefixEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.prefix.prefix_len();
        let max = self.prefix.max_prefix_len();
        write!(f, "{}", self.prefix)?;
        match (self.min_len == len, self.max_len == max) {
            (true, _) if self.max_len == len => Ok(()),
            (true, _) => write!(f, " le {}", self.max_len),
            (false, true) => write!(f, " ge {}", self.min_len),
            (false, false) => write!(f, " ge {} le {}", self.min_len, self.max_len),
        }
    }
}

impl FromStr for PrefixEntry {
    type Err = InvalidPrefixEntry;

    fn from_str(s: &str) -> Result<PrefixEntry, InvalidPrefixEntry> {
        let fail = |reason: String| InvalidPrefixEntry {
            text: s.to_string(),
            reason,
        };
        let mut words = s.split_whitespace();
        let Some(first) = words.next() else {
            return Err(fail("is empty (write a prefix such as 10.0.0.0/8)".into()));
        };
        let prefix: IpNet = match first.parse() {
            Ok(p) => p,
            Err(_) => {
                return Err(fail(match first.parse::<IpAddr>() {
                    Ok(a) => format!(
                        "has no prefix length (write {a}/{} for one address)",
                        if a.is_ipv4() { 32 } else { 128 }
                    ),
                    Err(_) => format!("does not start with a prefix ({first:?} is not one)"),
                }))
            }
        };
        if prefix.trunc() != prefix {
            return Err(fail(format!(
                "has host bits set (the network is {})",
                prefix.trunc()
            )));
        }
        let len = prefix.prefix_len();
        let max = prefix.max_prefix_len();
        let mut ge: Option<u8> = None;
        let mut le: Option<u8> = None;
        while let Some(word) = words.next() {
            let slot = match word {
                "ge" => &mut ge,
                "le" => &mut le,
                other => return Err(fail(format!("has {other:?} where ge or le was expected"))),
            };
            if slot.is_some() {
                return Err(fail(format!("gives {word} twice")));
            }
            let n = words
                .next()
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| *n <= max)
                .ok_or_else(|| fail(format!("needs a length from 0 to {max} after {word}")))?;
            if n < len {
                return Err(fail(format!(
                    "has {word} {n}, shorter than the prefix's own length {len}"
                )));
            }
            *slot = Some(n);
        }
        let (min_len, max_len) = match (ge, le) {
            (None, None) => (len, len),
            (Some(g), None) => (g, max),
            (None, Some(l)) => (len, l),
            (Some(g), Some(l)) if g > l => {
                return Err(fail(format!("has ge {g} greater than le {l}")));
            }
            (Some(g), Some(l)) => (g, l),
        };
        Ok(PrefixEntry {
            prefix,
            min_len,
            max_len,
        })
    }
}

/// A set of prefix lengths 0 to 128 (bit `n`: length `n`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Lengths([u64; 3]);

impl Lengths {
    fn add_range(&mut self, min: u8, max: u8) {
        for n in min..=max {
            let (word, bit) = (usize::from(n / 64), n % 64);
            if let Some(w) = self.0.get_mut(word) {
                *w |= 1u64 << bit;
            }
        }
    }

    fn contains(&self, n: u8) -> bool {
        let (word, bit) = (usize::from(n / 64), n % 64);
        self.0.get(word).is_some_and(|w| w & (1u64 << bit) != 0)
    }
}

/// The entries of one family, by entry length.
#[derive(Debug, Clone, Default)]
struct LengthIndex<A> {
    /// Ascending by entry length; only the lengths some entry has.
    by_len: Vec<(u8, HashMap<A, Lengths>)>,
}

/// The network bits of an address as an integer, and masking.
trait Bits: Copy + Eq + Hash {
    fn masked(self, len: u8) -> Self;
}

impl Bits for u32 {
    fn masked(self, len: u8) -> u32 {
        let mask = u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(len)))
            .unwrap_or(0);
        self & mask
    }
}

impl Bits for u128 {
    fn masked(self, len: u8) -> u128 {
        let mask = u128::MAX
            .checked_shl(128u32.saturating_sub(u32::from(len)))
            .unwrap_or(0);
        self & mask
    }
}

impl<A: Bits> LengthIndex<A> {
    fn insert(&mut self, network: A, len: u8, min: u8, max: u8) {
        let at = match self.by_len.binary_search_by_key(&len, |(l, _)| *l) {
            Ok(i) => i,
            Err(i) => {
                self.by_len.insert(i, (len, HashMap::new()));
                i
            }
        };
        if let Some((_, map)) = self.by_len.get_mut(at) {
            map.entry(network).or_default().add_range(min, max);
        }
    }

    fn contains(&self, addr: A, len: u8) -> bool {
        self.by_len
            .iter()
            .take_while(|(l, _)| *l <= len)
            .any(|(l, map)| {
                map.get(&addr.masked(*l))
                    .is_some_and(|lengths| lengths.contains(len))
            })
    }
}

/// A named set of [`PrefixEntry`]; a prefix is in the set when some entry
/// matches it.
#[derive(Debug, Clone)]
pub struct PrefixSet {
    name: String,
    entries: Vec<PrefixEntry>,
    v4: LengthIndex<u32>,
    v6: LengthIndex<u128>,
}

impl PrefixSet {
    /// A set of these entries. `name` is for people; inline lists of a
    /// rule have an empty one.
    pub fn new(name: impl Into<String>, entries: impl IntoIterator<Item = PrefixEntry>) -> Self {
        let mut set = PrefixSet {
            name: name.into(),
            entries: Vec::new(),
            v4: LengthIndex::default(),
            v6: LengthIndex::default(),
        };
        for e in entries {
            let len = e.prefix.prefix_len();
            match e.prefix {
                IpNet::V4(p) => set
                    .v4
                    .insert(u32::from(p.network()), len, e.min_len, e.max_len),
                IpNet::V6(p) => set
                    .v6
                    .insert(u128::from(p.network()), len, e.min_len, e.max_len),
            }
            set.entries.push(e);
        }
        set
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entries, as given.
    pub fn entries(&self) -> &[PrefixEntry] {
        &self.entries
    }

    /// Whether some entry matches `prefix`.
    pub fn contains(&self, prefix: &IpNet) -> bool {
        let len = prefix.prefix_len();
        match prefix {
            IpNet::V4(p) => self.v4.contains(u32::from(p.network()), len),
            IpNet::V6(p) => self.v6.contains(u128::from(p.network()), len),
        }
    }
}

/// Two sets are equal when they have the same name and entries.
impl PartialEq for PrefixSet {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.entries == other.entries
    }
}

impl Eq for PrefixSet {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(s: &str) -> PrefixEntry {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn entries_parse_and_print() {
        let e = entry("10.0.0.0/8");
        assert_eq!((e.min_len, e.max_len), (8, 8));
        let e = entry("10.0.0.0/8 le 24");
        assert_eq!((e.min_len, e.max_len), (8, 24));
        let e = entry("10.0.0.0/8 ge 16 le 24");
        assert_eq!((e.min_len, e.max_len), (16, 24));
        let e = entry("10.0.0.0/8  le 24   ge 16");
        assert_eq!((e.min_len, e.max_len), (16, 24));
        let e = entry("2001:db8::/32 ge 48");
        assert_eq!((e.min_len, e.max_len), (48, 128));
        for text in [
            "10.0.0.0/8",
            "10.0.0.0/8 le 24",
            "10.0.0.0/8 ge 16",
            "10.0.0.0/8 ge 16 le 24",
            "2001:db8::/32 ge 48",
            "0.0.0.0/0 le 32",
        ] {
            assert_eq!(entry(text).to_string(), text);
        }
    }

    #[test]
    fn bad_entries() {
        let bad = |s: &str| s.parse::<PrefixEntry>().unwrap_err().to_string();
        assert_eq!(
            bad("10.0.0.1/8"),
            "\"10.0.0.1/8\" has host bits set (the network is 10.0.0.0/8)"
        );
        assert_eq!(
            bad("10.0.0.1"),
            "\"10.0.0.1\" has no prefix length (write 10.0.0.1/32 for one address)"
        );
        assert_eq!(
            bad("ten/8"),
            "\"ten/8\" does not start with a prefix (\"ten/8\" is not one)"
        );
        assert_eq!(
            bad("10.0.0.0/8 le 33"),
            "\"10.0.0.0/8 le 33\" needs a length from 0 to 32 after le"
        );
        assert_eq!(
            bad("10.0.0.0/16 ge 8"),
            "\"10.0.0.0/16 ge 8\" has ge 8, shorter than the prefix's own length 16"
        );
        assert_eq!(
            bad("10.0.0.0/8 ge 24 le 16"),
            "\"10.0.0.0/8 ge 24 le 16\" has ge 24 greater than le 16"
        );
        assert_eq!(
            bad("10.0.0.0/8 le 16 le 24"),
            "\"10.0.0.0/8 le 16 le 24\" gives le twice"
        );
        assert_eq!(
            bad("10.0.0.0/8 upto 24"),
            "\"10.0.0.0/8 upto 24\" has \"upto\" where ge or le was expected"
        );
        assert_eq!(
            bad("10.0.0.0/8 le"),
            "\"10.0.0.0/8 le\" needs a length from 0 to 32 after le"
        );
        assert_eq!(
            bad(" "),
            "\" \" is empty (write a prefix such as 10.0.0.0/8)"
        );
    }

    #[test]
    fn set_semantics() {
        let set = PrefixSet::new(
            "s",
            [
                "10.0.0.0/8",
                "172.16.0.0/12 le 24",
                "192.168.0.0/16 ge 24",
                "100.64.0.0/10 ge 16 le 20",
                "2001:db8::/32 ge 48 le 64",
                "::/0",
            ]
            .map(entry),
        );
        let yes = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "172.20.1.0/24",
            "192.168.1.0/24",
            "192.168.1.1/32",
            "100.64.0.0/16",
            "100.127.240.0/20",
            "2001:db8:1::/48",
            "2001:db8:1:2::/64",
            "::/0",
        ];
        let no = [
            "10.0.0.0/9",
            "10.0.0.0/7",
            "172.16.0.0/25",
            "172.0.0.0/8",
            "192.168.0.0/16",
            "192.168.0.0/23",
            "100.64.0.0/15",
            "100.64.0.0/21",
            "2001:db8::/32",
            "2001:db8::/65",
            "2001:db9::/48",
            "0.0.0.0/0",
        ];
        for p in yes {
            assert!(set.contains(&net(p)), "{p} should match");
        }
        for p in no {
            assert!(!set.contains(&net(p)), "{p} should not match");
        }
        assert_eq!(set.entries().len(), 6);
        assert_eq!(set.name(), "s");
    }

    fn arb_entry() -> impl Strategy<Value = PrefixEntry> {
        (any::<u32>(), 0u8..=32, 0u8..=32, 0u8..=32).prop_map(|(a, len, x, y)| {
            let prefix = IpNet::V4(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(a), len)
                    .unwrap()
                    .trunc(),
            );
            let (lo, hi) = (x.min(y).max(len), x.max(y).max(len));
            PrefixEntry {
                prefix,
                min_len: lo,
                max_len: hi,
            }
        })
    }

    proptest! {
        /// The indexed set agrees with "some entry matches" on random
        /// entries and probes; probes are taken near the entries so that
        /// matches happen.
        #[test]
        fn index_agrees_with_brute_force(
            entries in proptest::collection::vec(arb_entry(), 0..40),
            probes in proptest::collection::vec((0usize..40, any::<u32>(), 0u8..=32, any::<bool>()), 1..60),
        ) {
            let set = PrefixSet::new("p", entries.iter().copied());
            for (pick, bits, len, near) in probes {
                let addr = match entries.get(pick % entries.len().max(1)) {
                    Some(e) if near => match e.prefix {
                        // Inside the entry: its network bits, random host bits.
                        IpNet::V4(p) => u32::from(p.network()) | (bits & !u32::MAX.checked_shl(32 - u32::from(p.prefix_len())).unwrap_or(0)),
                        IpNet::V6(_) => bits,
                    },
                    _ => bits,
                };
                let probe = IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(addr), len).unwrap().trunc());
                let brute = entries.iter().any(|e| e.matches(&probe));
                prop_assert_eq!(set.contains(&probe), brute, "{}", probe);
            }
        }

        /// Parsing what an entry prints gives the entry back.
        #[test]
        fn display_round_trips(e in arb_entry()) {
            prop_assert_eq!(e.to_string().parse::<PrefixEntry>().unwrap(), e);
        }
    }

    #[test]
    fn v6_index_agrees_with_brute_force() {
        // A table test over IPv6: every entry against probes of every length
        // along one address.
        let entries: Vec<PrefixEntry> = [
            "2001:db8::/32",
            "2001:db8::/32 le 40",
            "2001:db8:8000::/33 ge 64",
            "2001:db8::/48 ge 56 le 60",
            "::/0 ge 127",
        ]
        .map(entry)
        .to_vec();
        let set = PrefixSet::new("", entries.iter().copied());
        for addr in ["2001:db8::1", "2001:db8:8000::1", "2001:db9::", "::1"] {
            let addr: std::net::Ipv6Addr = addr.parse().unwrap();
            for len in 0..=128u8 {
                let p = IpNet::V6(ipnet::Ipv6Net::new(addr, len).unwrap().trunc());
                let brute = entries.iter().any(|e| e.matches(&p));
                assert_eq!(set.contains(&p), brute, "{p}");
            }
        }
    }
}
