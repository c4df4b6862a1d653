//! AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 5065, RFC 6793).
//!
//! ```text
//!  +--------------+---------------+-------------------------------+
//!  | Segment type | Segment count | count AS numbers (2 or 4 each) |
//!  +--------------+---------------+-------------------------------+
//!  types: 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET
//! ```

use std::fmt;
use std::str::FromStr;

use crate::reader::Reader;

/// AS_TRANS, the 2-octet stand-in for a 4-octet AS number (RFC 6793 §2).
pub const AS_TRANS: u32 = 23456;

/// The kind of an AS path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentType {
    /// Unordered set of ASes a route in an aggregate has traversed.
    Set = 1,
    /// Ordered list of ASes the route has traversed.
    Sequence = 2,
    /// Ordered list of member ASes inside a confederation (RFC 5065).
    ConfedSequence = 3,
    /// Unordered set of member ASes inside a confederation (RFC 5065).
    ConfedSet = 4,
}

impl SegmentType {
    fn from_code(code: u8) -> Option<SegmentType> {
        match code {
            1 => Some(SegmentType::Set),
            2 => Some(SegmentType::Sequence),
            3 => Some(SegmentType::ConfedSequence),
            4 => Some(SegmentType::ConfedSet),
            _ => None,
        }
    }

    /// Whether the segment is a confederation segment.
    pub fn is_confed(self) -> bool {
        matches!(self, SegmentType::ConfedSequence | SegmentType::ConfedSet)
    }
}

/// One segment of an AS path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment {
    /// The segment type.
    pub kind: SegmentType,
    /// The AS numbers, 1 to 255 of them on the wire.
    pub asns: Vec<u32>,
}

/// An AS path: a list of segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct AsPath {
    /// The segments, nearest AS first.
    pub segments: Vec<Segment>,
}

/// Why an AS path is malformed (RFC 7606 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AsPathError {
    /// A segment header or AS number runs past the attribute.
    #[error("segment runs past the end of the attribute")]
    Truncated,
    /// Segment type other than 1 to 4.
    #[error("unknown segment type {0}")]
    UnknownSegmentType(u8),
    /// A segment with no AS numbers.
    #[error("empty segment")]
    EmptySegment,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> AsPath {
        let asns = asns.into();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: SegmentType::Sequence,
                asns,
            }],
        }
    }

    /// Whether the path has no AS at all.
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }

    /// The path length used by best-path selection (RFC 4271 §9.1.2.2): an
    /// AS_SET counts as one, confederation segments count as zero (RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .fold(0usize, usize::saturating_add)
    }

    /// Whether `asn` appears anywhere in the path.
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// The origin AS: the last AS of the last AS_SEQUENCE, if the path ends in one.
    pub fn origin(&self) -> Option<u32> {
        let last = self.segments.last()?;
        (last.kind == SegmentType::Sequence)
            .then(|| last.asns.last().copied())
            .flatten()
    }

    /// The nearest AS (first of the first non-confederation segment).
    pub fn first(&self) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| !s.kind.is_confed())
            .and_then(|s| s.asns.first().copied())
    }

    /// Prepend `asn` `count` times, as an eBGP speaker does (RFC 4271 §5.1.2).
    pub fn prepend(&mut self, asn: u32, count: usize) {
        match self.segments.first_mut() {
            Some(seg) if seg.kind == SegmentType::Sequence && seg.asns.len() < 255 => {
                let room = 255usize.saturating_sub(seg.asns.len()).min(count);
                seg.asns.splice(0..0, std::iter::repeat_n(asn, room));
                let rest = count.saturating_sub(room);
                if rest > 0 {
                    self.prepend(asn, rest);
                }
            }
            _ if count > 0 => {
                let n = count.min(255);
                self.segments.insert(
                    0,
                    Segment {
                        kind: SegmentType::Sequence,
                        asns: vec![asn; n],
                    },
                );
                self.prepend(asn, count.saturating_sub(n));
            }
            _ => {}
        }
    }

    /// Decode the attribute value with 2- or 4-octet AS numbers.
    pub fn decode(value: &[u8], four_octet: bool) -> Result<AsPath, AsPathError> {
        let mut path = AsPath {
            segments: Vec::with_capacity(1),
        };
        path.decode_into(value, four_octet)?;
        Ok(path)
    }

    /// [`AsPath::decode`] into this path's memory, replacing its segments:
    /// a decoder that reuses its UPDATEs reuses their paths' lists too.
    /// Left with no meaning on error.
    pub fn decode_into(&mut self, value: &[u8], four_octet: bool) -> Result<(), AsPathError> {
        let mut r = Reader::new(value, 0);
        let mut used = 0;
        while !r.is_empty() {
            let kind = r.u8().map_err(|_| AsPathError::Truncated)?;
            let kind = SegmentType::from_code(kind).ok_or(AsPathError::UnknownSegmentType(kind))?;
            let count = usize::from(r.u8().map_err(|_| AsPathError::Truncated)?);
            if count == 0 {
                return Err(AsPathError::EmptySegment);
            }
            let width = if four_octet { 4 } else { 2 };
            let bytes = r
                .take(count.saturating_mul(width))
                .map_err(|_| AsPathError::Truncated)?;
            if used == self.segments.len() {
                self.segments.push(Segment {
                    kind,
                    asns: Vec::new(),
                });
            }
            let Some(segment) = self.segments.get_mut(used) else {
                break;
            };
            used = used.saturating_add(1);
            segment.kind = kind;
            let asns = &mut segment.asns;
            asns.clear();
            // Sized up front: the filter below never drops a whole chunk,
            // but it hides the count from `extend`, which would grow the
            // vector a few times per path. Not exactly: a segment decoded
            // into again and again (a neighbor's UPDATEs, one after the
            // other) then soon has room for the paths that follow.
            asns.reserve(count);
            if four_octet {
                asns.extend(
                    bytes
                        .chunks_exact(4)
                        .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                        .map(u32::from_be_bytes),
                );
            } else {
                asns.extend(
                    bytes
                        .chunks_exact(2)
                        .filter_map(|c| <[u8; 2]>::try_from(c).ok())
                        .map(|c| u32::from(u16::from_be_bytes(c))),
                );
            }
        }
        self.segments.truncate(used);
        Ok(())
    }

    /// Encode with 4-octet AS numbers, or with 2-octet ones where AS_TRANS
    /// stands for every AS that does not fit (RFC 6793 §4.2.2). Segments
    /// longer than 255 ASes are split.
    pub fn encode(&self, four_octet: bool, out: &mut Vec<u8>) {
        for seg in &self.segments {
            for chunk in seg.asns.chunks(255) {
                out.push(seg.kind as u8);
                out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
                for &asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let two = u16::try_from(asn).unwrap_or(AS_TRANS as u16);
                        out.extend_from_slice(&two.to_be_bytes());
                    }
                }
            }
        }
    }

    /// Whether some AS number does not fit in two octets.
    pub fn needs_four_octets(&self) -> bool {
        self.segments
            .iter()
            .any(|s| s.asns.iter().any(|&a| a > u32::from(u16::MAX)))
    }

    /// The AS4_PATH to send to a 2-octet peer beside this path: the path
    /// without confederation segments (RFC 6793 §4.2.2).
    pub fn as4_path(&self) -> AsPath {
        AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        }
    }

    /// Number of ASes counted the way RFC 6793 §4.2.3 counts them when
    /// merging: an AS_SET counts one, confederation segments count zero.
    fn merge_len(&self) -> usize {
        self.path_len()
    }

    /// Reconstruct the real path from an AS_PATH received from a 2-octet
    /// speaker and its AS4_PATH (RFC 6793 §4.2.3): keep the leading part of
    /// AS_PATH that AS4_PATH does not cover and append AS4_PATH. When
    /// AS4_PATH is longer than AS_PATH it is ignored.
    pub fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let path_len = self.merge_len();
        let as4_len = as4.merge_len();
        if as4_len > path_len {
            return self.clone();
        }
        let mut keep = path_len.saturating_sub(as4_len);
        let mut segments = Vec::new();
        for seg in &self.segments {
            if keep == 0 && !seg.kind.is_confed() {
                break;
            }
            match seg.kind {
                // Confederation segments precede the merge point and are kept.
                SegmentType::ConfedSequence | SegmentType::ConfedSet => segments.push(seg.clone()),
                SegmentType::Set => {
                    segments.push(seg.clone());
                    keep = keep.saturating_sub(1);
                }
                SegmentType::Sequence => {
                    let take = keep.min(seg.asns.len());
                    segments.push(Segment {
                        kind: SegmentType::Sequence,
                        asns: seg.asns.iter().take(take).copied().collect(),
                    });
                    keep = keep.saturating_sub(take);
                }
            }
        }
        // Join the kept head and AS4_PATH into one sequence where they meet.
        let mut tail = as4.segments.iter().cloned();
        if let (Some(last), Some(first)) = (segments.last_mut(), as4.segments.first()) {
            if last.kind == SegmentType::Sequence
                && first.kind == SegmentType::Sequence
                && last.asns.len().saturating_add(first.asns.len()) <= 255
            {
                last.asns.extend_from_slice(&first.asns);
                tail.next();
            }
        }
        segments.extend(tail);
        segments.retain(|s| !s.asns.is_empty());
        AsPath { segments }
    }
}

/// Text as ExaBGP's configuration writes it: `65001 65002 ( 65010 65011 )`,
/// with AS_SET in parentheses; confederation sequences go in `[ ]` and
/// confederation sets in `{ }`.
impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.segments {
            let (open, close) = match seg.kind {
                SegmentType::Sequence => ("", ""),
                SegmentType::Set => ("( ", " )"),
                SegmentType::ConfedSequence => ("[ ", " ]"),
                SegmentType::ConfedSet => ("{ ", " }"),
            };
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(open)?;
            for (i, asn) in seg.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// Text that is not an AS path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AS path {0:?}")]
pub struct InvalidAsPath(pub String);

/// Parses the form [`Display`](fmt::Display) writes.
impl FromStr for AsPath {
    type Err = InvalidAsPath;

    fn from_str(s: &str) -> Result<AsPath, InvalidAsPath> {
        let err = || InvalidAsPath(s.to_string());
        let spaced = s
            .replace('(', " ( ")
            .replace(')', " ) ")
            .replace('[', " [ ")
            .replace(']', " ] ")
            .replace('{', " { ")
            .replace('}', " } ");
        let mut path = AsPath::default();
        let mut open: Option<(SegmentType, &str)> = None;
        let mut current: Vec<u32> = Vec::new();
        let flush = |path: &mut AsPath, kind, asns: &mut Vec<u32>| {
            if !asns.is_empty() {
                path.segments.push(Segment {
                    kind,
                    asns: std::mem::take(asns),
                });
            }
        };
        for token in spaced.split_whitespace() {
            let group = match token {
                "(" => Some((SegmentType::Set, ")")),
                "[" => Some((SegmentType::ConfedSequence, "]")),
                "{" => Some((SegmentType::ConfedSet, "}")),
                _ => None,
            };
            if let Some(g) = group {
                if open.is_some() {
                    return Err(err());
                }
                flush(&mut path, SegmentType::Sequence, &mut current);
                open = Some(g);
            } else if matches!(token, ")" | "]" | "}") {
                let (kind, close) = open.take().ok_or_else(err)?;
                if close != token || current.is_empty() {
                    return Err(err());
                }
                flush(&mut path, kind, &mut current);
            } else {
                current.push(token.parse().map_err(|_| err())?);
            }
        }
        if open.is_some() {
            return Err(err());
        }
        flush(&mut path, SegmentType::Sequence, &mut current);
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_both_widths() {
        let bytes4 = [2, 2, 0, 0, 0xfd, 0xe9, 0, 1, 0, 0];
        let path = AsPath::decode(&bytes4, true).unwrap();
        assert_eq!(path, AsPath::sequence(vec![65001, 65536]));
        let mut out = Vec::new();
        path.encode(true, &mut out);
        assert_eq!(out, bytes4);
        let mut out2 = Vec::new();
        path.encode(false, &mut out2);
        assert_eq!(out2, [2, 2, 0xfd, 0xe9, 0x5b, 0xa0]);
        assert!(path.needs_four_octets());
    }

    #[test]
    fn decoding_into_a_used_path_replaces_it() {
        let long: AsPath = "65001 65002 { 65010 65011 } 65003".parse().unwrap();
        let short: AsPath = "( 64512 ) 65001".parse().unwrap();
        let mut path = AsPath::default();
        for p in [&long, &short, &long, &AsPath::default(), &short] {
            let mut bytes = Vec::new();
            p.encode(true, &mut bytes);
            path.decode_into(&bytes, true).unwrap();
            assert_eq!(&path, p);
            assert_eq!(AsPath::decode(&bytes, true).as_ref(), Ok(p));
        }
    }

    #[test]
    fn malformed_paths() {
        assert_eq!(
            AsPath::decode(&[2, 0], true),
            Err(AsPathError::EmptySegment)
        );
        assert_eq!(
            AsPath::decode(&[5, 1, 0, 1], false),
            Err(AsPathError::UnknownSegmentType(5))
        );
        assert_eq!(
            AsPath::decode(&[2, 2, 0, 1], false),
            Err(AsPathError::Truncated)
        );
        assert_eq!(AsPath::decode(&[2], false), Err(AsPathError::Truncated));
    }

    #[test]
    fn lengths_and_text() {
        let path: AsPath = "65001 65002 ( 65010 65011 ) [ 64512 ]".parse().unwrap();
        assert_eq!(path.path_len(), 3);
        assert_eq!(path.to_string(), "65001 65002 ( 65010 65011 ) [ 64512 ]");
        assert_eq!(path.origin(), None);
        assert_eq!(AsPath::sequence(vec![1, 2, 3]).origin(), Some(3));
        assert!("65001 (".parse::<AsPath>().is_err());
        assert!("65001 x".parse::<AsPath>().is_err());
    }

    #[test]
    fn prepend_splits_long_segments() {
        let mut path = AsPath::sequence(vec![1; 250]);
        path.prepend(7, 10);
        assert_eq!(path.segments.len(), 2);
        assert_eq!(path.path_len(), 260);
        assert_eq!(path.first(), Some(7));
    }

    #[test]
    fn as4_merge_rfc6793() {
        // 2-octet path: 65001 AS_TRANS AS_TRANS 65002; AS4_PATH: 200000 300000 65002.
        let path = AsPath::sequence(vec![65001, AS_TRANS, AS_TRANS, 65002]);
        let as4 = AsPath::sequence(vec![200000, 300000, 65002]);
        assert_eq!(
            path.merge_as4(&as4),
            AsPath::sequence(vec![65001, 200000, 300000, 65002])
        );
        // A longer AS4_PATH is ignored.
        let long = AsPath::sequence(vec![1, 2, 3, 4, 5]);
        assert_eq!(path.merge_as4(&long), path);
    }
}
