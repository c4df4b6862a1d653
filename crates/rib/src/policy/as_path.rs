//! AS-path regular expressions, matched against the path as text.
//!
//! The text of a path is its AS numbers in order, separated by single
//! spaces: `65001 65002 65003`. An AS_SET is written `{65004,65005}`, an
//! AS_CONFED_SEQUENCE `(65100 65101)` and an AS_CONFED_SET `[65100,65101]`
//! (RFC 5065), each separated from its neighbours by a space. The empty
//! path is the empty text, which `^$` matches.
//!
//! Expressions are those of the `regex` crate, plus Cisco's `_`, which
//! stands for a boundary between AS numbers: the start or end of the text,
//! a space, a brace, a parenthesis, a bracket or a comma. `_65000_` is
//! therefore "AS 65000 anywhere", `^65000_` "received from 65000" and
//! `_65000$` "originated by 65000".

use std::fmt;
use std::fmt::Write as _;

use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use ribbit_wire::attribute::{AsPath, SegmentType};

/// What `_` stands for.
const BOUNDARY: &str = r"(?:^|$|[ {},()\[\]])";

/// The most memory one set of expressions may compile to; a pattern beyond
/// it is refused rather than allowed to grow without bound.
const SIZE_LIMIT: usize = 1 << 20;

/// Why an AS-path regular expression cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAsPathRegex {
    /// The expression as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidAsPathRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid regular expression: {}",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for InvalidAsPathRegex {}

/// Write the text form of `path` (see the module documentation) into `out`.
pub fn write_as_path_text(path: &AsPath, out: &mut String) {
    for (i, seg) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let (open, sep, close) = match seg.kind {
            SegmentType::Sequence => ("", ' ', ""),
            SegmentType::Set => ("{", ',', "}"),
            SegmentType::ConfedSequence => ("(", ' ', ")"),
            SegmentType::ConfedSet => ("[", ',', "]"),
        };
        out.push_str(open);
        for (j, asn) in seg.asns.iter().enumerate() {
            if j > 0 {
                out.push(sep);
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "{asn}");
        }
        out.push_str(close);
    }
}

/// The text form of `path`.
pub fn as_path_text(path: &AsPath) -> String {
    let mut s = String::new();
    write_as_path_text(path, &mut s);
    s
}

/// `pattern` with each `_` outside a character class and not escaped
/// replaced by [`BOUNDARY`].
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut class_depth = 0usize;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' => {
                class_depth = class_depth.saturating_add(1);
                out.push(c);
                // A `]` right after `[` or `[^` is a literal member.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if class_depth > 0 => {
                class_depth = class_depth.saturating_sub(1);
                out.push(c);
            }
            '_' if class_depth == 0 => out.push_str(BOUNDARY),
            _ => out.push(c),
        }
    }
    out
}

/// The useful part of a `regex` error: its last line, without the caret
/// drawing above it.
fn reason(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(_) => {
            "it compiles to more than the size limit (1 MiB); simplify it".to_string()
        }
        other => {
            let text = other.to_string();
            let last = text.lines().rev().find(|l| !l.trim().is_empty());
            last.map_or(text.clone(), |l| {
                l.trim().trim_start_matches("error: ").to_string()
            })
        }
    }
}

/// AS-path regular expressions: a path matches when any of them does.
#[derive(Debug, Clone)]
pub struct AsPathSet {
    name: String,
    patterns: Vec<String>,
    set: RegexSet,
}

impl AsPathSet {
    /// Compile `patterns`; the error names the first that is not valid.
    /// `name` is for people; inline lists of a rule have an empty one.
    pub fn new<I, S>(name: impl Into<String>, patterns: I) -> Result<AsPathSet, InvalidAsPathRegex>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let patterns: Vec<String> = patterns.into_iter().map(Into::into).collect();
        let mut translated = Vec::with_capacity(patterns.len());
        for p in &patterns {
            if p.trim().is_empty() {
                return Err(InvalidAsPathRegex {
                    pattern: p.clone(),
                    reason: "it is empty (write ^$ for the empty path, or .* for any)".to_string(),
                });
            }
            let t = translate(p);
            // Each on its own first, so that the error names the pattern.
            RegexBuilder::new(&t)
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| InvalidAsPathRegex {
                    pattern: p.clone(),
                    reason: reason(&e),
                })?;
            translated.push(t);
        }
        let set = RegexSetBuilder::new(&translated)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| InvalidAsPathRegex {
                pattern: patterns.join(" | "),
                reason: reason(&e),
            })?;
        Ok(AsPathSet {
            name: name.into(),
            patterns,
            set,
        })
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expressions, as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether any expression matches the text form of a path.
    pub fn is_match(&self, text: &str) -> bool {
        self.set.is_match(text)
    }
}

/// Two sets are equal when they have the same name and expressions.
impl PartialEq for AsPathSet {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.patterns == other.patterns
    }
}

impl Eq for AsPathSet {}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::attribute::Segment;

    fn set(patterns: &[&str]) -> AsPathSet {
        AsPathSet::new("t", patterns.iter().copied()).unwrap()
    }

    fn path(text: &str) -> AsPath {
        text.parse().unwrap()
    }

    #[test]
    fn text_form() {
        assert_eq!(as_path_text(&AsPath::default()), "");
        assert_eq!(as_path_text(&path("65001 65002")), "65001 65002");
        let p = AsPath {
            segments: vec![
                Segment {
                    kind: SegmentType::ConfedSequence,
                    asns: vec![65100, 65101],
                },
                Segment {
                    kind: SegmentType::ConfedSet,
                    asns: vec![65102, 65103],
                },
                Segment {
                    kind: SegmentType::Sequence,
                    asns: vec![1, 2],
                },
                Segment {
                    kind: SegmentType::Set,
                    asns: vec![3, 4],
                },
            ],
        };
        assert_eq!(as_path_text(&p), "(65100 65101) [65102,65103] 1 2 {3,4}");
    }

    #[test]
    fn underscore_is_a_boundary() {
        let anywhere = set(&["_65000_"]);
        for text in [
            "65000",
            "1 65000 2",
            "65000 1",
            "1 65000",
            "1 {2,65000}",
            "{65000,2}",
        ] {
            assert!(anywhere.is_match(text), "{text}");
        }
        for text in ["165000", "650001", "1 650001 2", ""] {
            assert!(!anywhere.is_match(text), "{text}");
        }
        let from = set(&["^65001_"]);
        assert!(from.is_match("65001 2 3"));
        assert!(!from.is_match("2 65001"));
        let origin = set(&["_65003$"]);
        assert!(origin.is_match("1 2 65003"));
        assert!(!origin.is_match("65003 2"));
        // Two boundaries in a row share the one space between them.
        assert!(set(&["_1_2_"]).is_match("1 2"));
        // Inside a class and escaped, `_` is itself.
        assert_eq!(translate("[_]"), "[_]");
        assert_eq!(translate(r"\_"), r"\_");
        assert_eq!(translate("[]_]_"), format!("[]_]{BOUNDARY}"));
        assert_eq!(translate("[[:digit:]]_"), format!("[[:digit:]]{BOUNDARY}"));
    }

    #[test]
    fn plain_regexes() {
        let s = set(&["^$"]);
        assert!(s.is_match(""));
        assert!(!s.is_match("1"));
        let s = set(&["^6451[2-9] ", "^(\\d+ )?64496$"]);
        assert!(s.is_match("64512 1"));
        assert!(s.is_match("7 64496"));
        assert!(s.is_match("64496"));
        assert!(!s.is_match("7 8 64496"));
        assert_eq!(s.patterns().len(), 2);
        assert_eq!(s.name(), "t");
    }

    #[test]
    fn bad_regexes() {
        let e = AsPathSet::new("x", ["_1_", "(65000"]).unwrap_err();
        assert_eq!(e.pattern, "(65000");
        assert_eq!(e.reason, "unclosed group");
        assert_eq!(
            e.to_string(),
            "\"(65000\" is not a valid regular expression: unclosed group"
        );
        let e = AsPathSet::new("x", [""]).unwrap_err();
        assert!(e.reason.starts_with("it is empty"), "{e}");
        let e = AsPathSet::new("x", ["(a{1000}){1000}"]).unwrap_err();
        assert!(e.reason.contains("size limit"), "{e}");
    }
}
