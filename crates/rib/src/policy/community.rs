//! Community sets and patterns, for the three kinds of community: standard
//! (RFC 1997), extended (RFC 4360) and large (RFC 8092).
//!
//! An entry is an exact value in the text form of `ribbit-wire`
//! (`65000:100`, `no-export`, `target:65000:1`, `65000:1:2`) or a pattern
//! in which each number may be `*` (any) or a range `lo-hi`:
//! `65000:*`, `*:666`, `65000:100-199`, `65000:*:*`, `target:65000:*`,
//! `origin:192.0.2.1:*`. Exact values are kept in a hash set and patterns in
//! a list, so a large set of exact values costs one lookup per community.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;
use std::net::Ipv4Addr;

use ribbit_wire::attribute::{Admin, Community, ExtendedCommunity, ExtendedKind, LargeCommunity};
use ribbit_wire::PathAttributes;

/// Why a community set entry cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCommunityEntry {
    /// Which kind of community was expected (`community`, ...).
    pub kind: &'static str,
    /// The entry as written.
    pub text: String,
    /// Examples of what is accepted.
    pub examples: &'static str,
}

impl fmt::Display for InvalidCommunityEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let article = if self.kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        write!(
            f,
            "{:?} is not {article} {} or a pattern of one (such as {})",
            self.text, self.kind, self.examples
        )
    }
}

impl std::error::Error for InvalidCommunityEntry {}

/// One number of a pattern: any value, or an inclusive range (one value
/// when both ends are equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `*`.
    Any,
    /// `lo-hi`, or `n` for `n-n`.
    Range(u32, u32),
}

impl Field {
    /// Whether `v` is matched.
    pub fn matches(self, v: u32) -> bool {
        match self {
            Field::Any => true,
            Field::Range(lo, hi) => lo <= v && v <= hi,
        }
    }

    /// `*`, `n` or `lo-hi` with every number at most `max`.
    fn parse(s: &str, max: u32) -> Option<Field> {
        let s = s.trim();
        if s == "*" {
            return Some(Field::Any);
        }
        let number = |t: &str| t.trim().parse::<u32>().ok().filter(|n| *n <= max);
        match s.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                (lo <= hi).then_some(Field::Range(lo, hi))
            }
            None => number(s).map(|n| Field::Range(n, n)),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Any => f.write_str("*"),
            Field::Range(lo, hi) if lo == hi => write!(f, "{lo}"),
            Field::Range(lo, hi) => write!(f, "{lo}-{hi}"),
        }
    }
}

/// A standard community pattern: `high:low`, each a [`Field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommunityPattern {
    /// The high half (usually an AS number).
    pub high: Field,
    /// The low half.
    pub low: Field,
}

impl fmt::Display for CommunityPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.high, self.low)
    }
}

/// A large community pattern: `global:local1:local2`, each a [`Field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LargeCommunityPattern {
    /// The global administrator.
    pub global: Field,
    /// The first local part.
    pub local1: Field,
    /// The second local part.
    pub local2: Field,
}

impl fmt::Display for LargeCommunityPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// The administrator part of an extended community pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminPattern {
    /// `*`: any administrator, AS number or address.
    Any,
    /// An AS number (2- or 4-octet) in a range.
    Asn(Field),
    /// This IPv4 address.
    Ipv4(Ipv4Addr),
}

impl fmt::Display for AdminPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminPattern::Any => f.write_str("*"),
            AdminPattern::Asn(field) => write!(f, "{field}"),
            AdminPattern::Ipv4(a) => write!(f, "{a}"),
        }
    }
}

/// An extended community pattern: a route target or route origin
/// (RFC 4360 §4, §5) with wildcards, `target:65000:*`, `origin:*:100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedCommunityPattern {
    /// Route target (`target:`) rather than route origin (`origin:`).
    pub target: bool,
    /// The administrator.
    pub admin: AdminPattern,
    /// The assigned number.
    pub number: Field,
}

impl ExtendedCommunityPattern {
    fn matches(&self, c: ExtendedCommunity) -> bool {
        let admin = match (self.target, c.kind()) {
            (true, ExtendedKind::RouteTarget(a)) | (false, ExtendedKind::RouteOrigin(a)) => a,
            _ => return false,
        };
        let (admin_ok, number) = match (self.admin, admin) {
            (AdminPattern::Any, Admin::As2(_, n)) => (true, n),
            (AdminPattern::Any, Admin::As4(_, n) | Admin::Ipv4(_, n)) => (true, u32::from(n)),
            (AdminPattern::Asn(f), Admin::As2(a, n)) => (f.matches(u32::from(a)), n),
            (AdminPattern::Asn(f), Admin::As4(a, n)) => (f.matches(a), u32::from(n)),
            (AdminPattern::Ipv4(x), Admin::Ipv4(a, n)) => (x == a, u32::from(n)),
            (AdminPattern::Asn(_), Admin::Ipv4(..)) | (AdminPattern::Ipv4(_), _) => return false,
        };
        admin_ok && self.number.matches(number)
    }
}

impl fmt::Display for ExtendedCommunityPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = if self.target { "target" } else { "origin" };
        write!(f, "{word}:{}:{}", self.admin, self.number)
    }
}

/// An entry of a community set: an exact value or a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<T: CommunityValue> {
    /// Exactly this value.
    Exact(T),
    /// The values the pattern matches.
    Pattern(T::Pattern),
}

impl<T: CommunityValue> fmt::Display for Entry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Exact(v) => write!(f, "{v}"),
            Entry::Pattern(p) => write!(f, "{p}"),
        }
    }
}

/// What the three kinds of community have in common for policies: where
/// they are in the attributes, their patterns and how entries are written.
pub trait CommunityValue:
    Copy + Eq + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The pattern type.
    type Pattern: Clone + fmt::Debug + fmt::Display + PartialEq + Eq + Send + Sync;
    /// The kind's name in messages.
    const KIND: &'static str;
    /// Examples of entries, for messages.
    const EXAMPLES: &'static str;
    /// Whether the pattern matches `v`.
    fn pattern_matches(p: &Self::Pattern, v: Self) -> bool;
    /// Read an entry: a value, else a pattern.
    fn parse_entry(text: &str) -> Result<Entry<Self>, InvalidCommunityEntry>;
    /// The communities of this kind a route carries.
    fn list(attributes: &PathAttributes) -> &[Self];
    /// The same, to change.
    fn list_mut(attributes: &mut PathAttributes) -> &mut Vec<Self>;

    /// Read an exact value only (for `add` and `set`, where a pattern
    /// means nothing).
    fn parse_value(text: &str) -> Result<Self, InvalidCommunityEntry> {
        match Self::parse_entry(text) {
            Ok(Entry::Exact(v)) => Ok(v),
            _ => Err(InvalidCommunityEntry {
                kind: Self::KIND,
                text: text.to_string(),
                examples: Self::EXAMPLES,
            }),
        }
    }
}

fn invalid<T: CommunityValue>(text: &str) -> InvalidCommunityEntry {
    InvalidCommunityEntry {
        kind: T::KIND,
        text: text.to_string(),
        examples: T::EXAMPLES,
    }
}

impl CommunityValue for Community {
    type Pattern = CommunityPattern;
    const KIND: &'static str = "community";
    const EXAMPLES: &'static str = "65000:100, no-export, 65000:* or 65000:100-199";

    fn pattern_matches(p: &CommunityPattern, v: Community) -> bool {
        p.high.matches(u32::from(v.high())) && p.low.matches(u32::from(v.low()))
    }

    fn parse_entry(text: &str) -> Result<Entry<Community>, InvalidCommunityEntry> {
        let t = text.trim();
        if let Ok(c) = t.parse::<Community>() {
            return Ok(Entry::Exact(c));
        }
        let (high, low) = t.split_once(':').ok_or_else(|| invalid::<Self>(text))?;
        let max = u32::from(u16::MAX);
        match (Field::parse(high, max), Field::parse(low, max)) {
            (Some(high), Some(low)) => Ok(Entry::Pattern(CommunityPattern { high, low })),
            _ => Err(invalid::<Self>(text)),
        }
    }

    fn list(attributes: &PathAttributes) -> &[Community] {
        &attributes.communities
    }

    fn list_mut(attributes: &mut PathAttributes) -> &mut Vec<Community> {
        &mut attributes.communities
    }
}

impl CommunityValue for LargeCommunity {
    type Pattern = LargeCommunityPattern;
    const KIND: &'static str = "large community";
    const EXAMPLES: &'static str = "65000:1:2, 65000:1:* or 65000:*:*";

    fn pattern_matches(p: &LargeCommunityPattern, v: LargeCommunity) -> bool {
        p.global.matches(v.global) && p.local1.matches(v.local1) && p.local2.matches(v.local2)
    }

    fn parse_entry(text: &str) -> Result<Entry<LargeCommunity>, InvalidCommunityEntry> {
        let t = text.trim();
        if let Ok(c) = t.parse::<LargeCommunity>() {
            return Ok(Entry::Exact(c));
        }
        let mut parts = t.split(':').map(|p| Field::parse(p, u32::MAX));
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Some(global)), Some(Some(local1)), Some(Some(local2)), None) => {
                Ok(Entry::Pattern(LargeCommunityPattern {
                    global,
                    local1,
                    local2,
                }))
            }
            _ => Err(invalid::<Self>(text)),
        }
    }

    fn list(attributes: &PathAttributes) -> &[LargeCommunity] {
        &attributes.large_communities
    }

    fn list_mut(attributes: &mut PathAttributes) -> &mut Vec<LargeCommunity> {
        &mut attributes.large_communities
    }
}

impl CommunityValue for ExtendedCommunity {
    type Pattern = ExtendedCommunityPattern;
    const KIND: &'static str = "extended community";
    const EXAMPLES: &'static str =
        "target:65000:100, origin:192.0.2.1:7, target:65000:* or 0x0002fde800000064";

    fn pattern_matches(p: &ExtendedCommunityPattern, v: ExtendedCommunity) -> bool {
        p.matches(v)
    }

    fn parse_entry(text: &str) -> Result<Entry<ExtendedCommunity>, InvalidCommunityEntry> {
        let t = text.trim();
        if let Ok(c) = t.parse::<ExtendedCommunity>() {
            return Ok(Entry::Exact(c));
        }
        let (target, rest) = if let Some(rest) = t.strip_prefix("target:") {
            (true, rest)
        } else if let Some(rest) = t.strip_prefix("origin:") {
            (false, rest)
        } else {
            return Err(invalid::<Self>(text));
        };
        let (admin, number) = rest.rsplit_once(':').ok_or_else(|| invalid::<Self>(text))?;
        let admin = match admin.trim() {
            "*" => AdminPattern::Any,
            a => match a.parse::<Ipv4Addr>() {
                Ok(addr) => AdminPattern::Ipv4(addr),
                Err(_) => AdminPattern::Asn(
                    Field::parse(a, u32::MAX).ok_or_else(|| invalid::<Self>(text))?,
                ),
            },
        };
        let number = Field::parse(number, u32::MAX).ok_or_else(|| invalid::<Self>(text))?;
        Ok(Entry::Pattern(ExtendedCommunityPattern {
            target,
            admin,
            number,
        }))
    }

    fn list(attributes: &PathAttributes) -> &[ExtendedCommunity] {
        &attributes.extended_communities
    }

    fn list_mut(attributes: &mut PathAttributes) -> &mut Vec<ExtendedCommunity> {
        &mut attributes.extended_communities
    }
}

/// A named set of community entries of one kind; a community is in the set
/// when it equals an exact entry or a pattern matches it.
#[derive(Debug, Clone)]
pub struct CommunitySet<T: CommunityValue> {
    name: String,
    entries: Vec<Entry<T>>,
    exact: HashSet<T>,
    patterns: Vec<T::Pattern>,
}

impl<T: CommunityValue> CommunitySet<T> {
    /// A set of these entries. `name` is for people; inline lists of a
    /// rule have an empty one.
    pub fn new(name: impl Into<String>, entries: impl IntoIterator<Item = Entry<T>>) -> Self {
        let entries: Vec<Entry<T>> = entries.into_iter().collect();
        let mut exact = HashSet::new();
        let mut patterns = Vec::new();
        for e in &entries {
            match e {
                Entry::Exact(v) => {
                    exact.insert(*v);
                }
                Entry::Pattern(p) => patterns.push(p.clone()),
            }
        }
        CommunitySet {
            name: name.into(),
            entries,
            exact,
            patterns,
        }
    }

    /// Read entries from their text; the error names the first bad one.
    pub fn parse<I, S>(name: impl Into<String>, texts: I) -> Result<Self, InvalidCommunityEntry>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let entries = texts
            .into_iter()
            .map(|t| T::parse_entry(t.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CommunitySet::new(name, entries))
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entries, as given.
    pub fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }

    /// Whether `v` is in the set.
    pub fn contains(&self, v: T) -> bool {
        self.exact.contains(&v) || self.patterns.iter().any(|p| T::pattern_matches(p, v))
    }

    /// Whether any of `values` is in the set.
    pub fn contains_any(&self, values: &[T]) -> bool {
        values.iter().any(|v| self.contains(*v))
    }
}

/// Two sets are equal when they have the same name and entries.
impl<T: CommunityValue> PartialEq for CommunitySet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.entries == other.entries
    }
}

impl<T: CommunityValue> Eq for CommunitySet<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn std_set(entries: &[&str]) -> CommunitySet<Community> {
        CommunitySet::parse("s", entries).unwrap()
    }

    #[test]
    fn standard_entries() {
        let s = std_set(&[
            "65000:100",
            "no-export",
            "65001:*",
            "*:666",
            "65002:100-199",
        ]);
        assert!(s.contains(Community::new(65000, 100)));
        assert!(s.contains(Community::NO_EXPORT));
        assert!(s.contains(Community::new(65001, 7)));
        assert!(s.contains(Community::new(1, 666)));
        assert!(s.contains(Community::new(65002, 150)));
        assert!(!s.contains(Community::new(65002, 200)));
        assert!(!s.contains(Community::new(65000, 101)));
        assert!(s.contains_any(&[Community::new(1, 1), Community::new(65001, 0)]));
        assert!(!s.contains_any(&[]));
        let printed: Vec<String> = s.entries().iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "65000:100",
                "no-export",
                "65001:*",
                "*:666",
                "65002:100-199"
            ]
        );
        let bad = CommunitySet::<Community>::parse("s", ["65000:70000"]).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "\"65000:70000\" is not a community or a pattern of one (such as 65000:100, no-export, 65000:* or 65000:100-199)"
        );
        for text in ["65000", "a:b", "1:2:3", "5-3:1", "*", "65000:*:1"] {
            let e = Community::parse_entry(text);
            if text == "65000" {
                assert_eq!(e, Ok(Entry::Exact(Community(65000))));
            } else {
                assert!(e.is_err(), "{text}");
            }
        }
        assert_eq!(
            Community::parse_value("no-export"),
            Ok(Community::NO_EXPORT)
        );
        assert!(Community::parse_value("65000:*").is_err());
    }

    #[test]
    fn large_entries() {
        let s = CommunitySet::<LargeCommunity>::parse("l", ["65000:1:2", "65001:*:*", "*:5:10-20"])
            .unwrap();
        let l = |s: &str| s.parse::<LargeCommunity>().unwrap();
        assert!(s.contains(l("65000:1:2")));
        assert!(s.contains(l("65001:9:9")));
        assert!(s.contains(l("4200000000:5:15")));
        assert!(!s.contains(l("4200000000:5:21")));
        assert!(!s.contains(l("65000:1:3")));
        assert!(LargeCommunity::parse_entry("1:2").is_err());
        assert!(LargeCommunity::parse_entry("1:2:*:4").is_err());
        assert_eq!(
            LargeCommunity::parse_entry("*:5:10-20")
                .unwrap()
                .to_string(),
            "*:5:10-20"
        );
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            ExtendedCommunity::parse_entry("x").unwrap_err().to_string(),
            "\"x\" is not an extended community or a pattern of one (such as target:65000:100, origin:192.0.2.1:7, target:65000:* or 0x0002fde800000064)"
        );
        assert_eq!(
            LargeCommunity::parse_entry("x").unwrap_err().to_string(),
            "\"x\" is not a large community or a pattern of one (such as 65000:1:2, 65000:1:* or 65000:*:*)"
        );
    }

    #[test]
    fn extended_entries() {
        let s = CommunitySet::<ExtendedCommunity>::parse(
            "e",
            [
                "target:65000:*",
                "origin:192.0.2.1:*",
                "target:*:7",
                "target:4200000000:1-5",
                "rate-limit:0",
            ],
        )
        .unwrap();
        let e = |s: &str| s.parse::<ExtendedCommunity>().unwrap();
        assert!(s.contains(e("target:65000:99999")));
        assert!(!s.contains(e("origin:65000:1")));
        assert!(s.contains(e("origin:192.0.2.1:5")));
        assert!(!s.contains(e("origin:192.0.2.2:5")));
        assert!(s.contains(e("target:192.0.2.9:7")));
        assert!(s.contains(e("target:4200000000:3")));
        assert!(!s.contains(e("target:4200000000:6")));
        assert!(s.contains(e("rate-limit:0")));
        assert!(!s.contains(e("rate-limit:100")));
        assert!(!s.contains(e("redirect:65000:1")));
        let printed: Vec<String> = s.entries().iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "target:65000:*",
                "origin:192.0.2.1:*",
                "target:*:7",
                "target:4200000000:1-5",
                "rate-limit:0"
            ]
        );
        for text in ["target:65000", "colour:1:*", "target:x:*", "target:1:*:*"] {
            assert!(ExtendedCommunity::parse_entry(text).is_err(), "{text}");
        }
    }

    #[test]
    fn sets_compare_by_name_and_entries() {
        assert_eq!(std_set(&["1:1", "2:*"]), std_set(&["1:1", "2:*"]));
        assert_ne!(std_set(&["1:1"]), std_set(&["1:2"]));
        assert_eq!(std_set(&["1:1"]).name(), "s");
    }
}
