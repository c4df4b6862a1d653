//! `[mrt]`: MRT dumps (RFC 6396) of what the speaker receives, as route
//! collectors write them, like GoBGP's `mrt-dump` and BIRD's `mrtdump`.
//!
//! ```toml
//! [mrt]
//! updates = "/var/lib/ribbit/updates.%Y%m%d.%H%M.mrt"  # BGP4MP_ET: received UPDATEs, state changes
//! updates-interval = 300                               # a new file every 300 s (0: one file)
//! table = "/var/lib/ribbit/rib.%Y%m%d.%H%M.mrt"        # TABLE_DUMP_V2 snapshots
//! table-interval = 7200                                # one snapshot every 2 h
//! compress = "none"                                    # or "gzip", "bzip2"
//! ```
//!
//! File names are patterns: `%Y %m %d %H %M %S` (UTC) and `%s` (Unix
//! seconds) of the start of the file's period, `%%` for `%`. Periods are
//! aligned on multiples of the interval since the Unix epoch, so a
//! 300-second interval starts files at :00, :05, ... of every hour.
//!
//! One `[mrt]` section holds one update stream and one table stream:
//! what GoBGP needs several `[[mrt-dump]]` entries for. A section rather
//! than an array keeps the common case short; several recorders are a
//! library use ([`crate::Speaker::tap`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ribbit_mrt::Compression;
use serde::Deserialize;
use toml::de::DeTable;
use toml::Spanned;

use super::report::Report;
use super::values::number;

/// The default `updates-interval`: 5 minutes, as RIPE RIS and RouteViews
/// (15 minutes) rotate theirs.
pub const DEFAULT_UPDATES_INTERVAL: Duration = Duration::from_secs(300);
/// The default `table-interval`: 2 hours, as RouteViews.
pub const DEFAULT_TABLE_INTERVAL: Duration = Duration::from_secs(7200);

/// A file name pattern with strftime-like time fields (see the module
/// documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePattern(String);

/// A pattern that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is empty.
    #[error("is empty")]
    Empty,
    /// A `%` field this pattern language does not have.
    #[error("has %{0}, which is not a known field (%Y %m %d %H %M %S %s %%)")]
    Field(char),
    /// A `%` at the end.
    #[error("ends with a lone %")]
    Trailing,
}

impl FilePattern {
    /// Check a pattern.
    pub fn new(pattern: &str) -> Result<FilePattern, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError::Empty);
        }
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c == '%' {
                match chars.next() {
                    Some('Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 's' | '%') => {}
                    Some(other) => return Err(PatternError::Field(other)),
                    None => return Err(PatternError::Trailing),
                }
            }
        }
        Ok(FilePattern(pattern.to_string()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name changes with time (has a field other than `%%`).
    pub fn has_time(&self) -> bool {
        let mut chars = self.0.chars();
        while let Some(c) = chars.next() {
            if c == '%' && chars.next().is_some_and(|f| f != '%') {
                return true;
            }
        }
        false
    }

    /// The file name for a period starting at `unix` seconds (UTC).
    pub fn expand(&self, unix: u64) -> PathBuf {
        let (y, mo, d, h, mi, s) = civil(unix);
        let mut out = String::with_capacity(self.0.len().saturating_add(16));
        let mut chars = self.0.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let field = match chars.next() {
                Some('Y') => format!("{y:04}"),
                Some('m') => format!("{mo:02}"),
                Some('d') => format!("{d:02}"),
                Some('H') => format!("{h:02}"),
                Some('M') => format!("{mi:02}"),
                Some('S') => format!("{s:02}"),
                Some('s') => unix.to_string(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            out.push_str(&field);
        }
        PathBuf::from(out)
    }
}

impl fmt::Display for FilePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// UTC calendar date and time of Unix seconds: (year, month, day, hour,
/// minute, second), by the days-to-civil algorithm of the proleptic
/// Gregorian calendar (H. Hinnant).
fn civil(unix: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (h, mi, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    // Days since 0000-03-01, in eras of 400 years (146,097 days).
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(mo <= 2);
    (y, mo, d, h, mi, s)
}

/// `[mrt]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtConfig {
    /// Where received UPDATEs and state changes go (`updates`), BGP4MP_ET.
    pub updates: Option<FilePattern>,
    /// A new updates file each interval (`updates-interval`); zero: one
    /// file for the whole run.
    pub updates_interval: Duration,
    /// Where table snapshots go (`table`), TABLE_DUMP_V2.
    pub table: Option<FilePattern>,
    /// Time between snapshots (`table-interval`).
    pub table_interval: Duration,
    /// Compression of every file (`compress`, default none).
    pub compress: Compression,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMrt {
    updates: Option<Spanned<String>>,
    updates_interval: Option<Spanned<i64>>,
    table: Option<Spanned<String>>,
    table_interval: Option<Spanned<i64>>,
    compress: Option<Spanned<String>>,
}

/// Read `[mrt]`; `None` when it has problems (recorded in `r`).
pub(super) fn read(
    r: &mut Report<'_>,
    key_span: &std::ops::Range<usize>,
    table: Spanned<DeTable<'_>>,
) -> Option<MrtConfig> {
    const CTX: &str = "mrt";
    let raw = r.deserialize::<RawMrt>(table, CTX)?;
    let mut ok = true;
    let mut pattern = |r: &mut Report<'_>, key: &str, v: &Option<Spanned<String>>| match v {
        None => None,
        Some(v) => match FilePattern::new(v.get_ref()) {
            Ok(p) => Some(p),
            Err(e) => {
                r.error(&v.span(), CTX, format!("{key} {:?} {e}", v.get_ref()));
                ok = false;
                None
            }
        },
    };
    let updates = pattern(r, "updates", &raw.updates);
    let table = pattern(r, "table", &raw.table);
    let interval = |r: &mut Report<'_>, key: &str, v: &Option<Spanned<i64>>, min, default| match v {
        None => Some(default),
        Some(v) => number::<u64>(r, CTX, key, v, min..=86_400 * 366).map(Duration::from_secs),
    };
    let updates_interval = interval(
        r,
        "updates-interval",
        &raw.updates_interval,
        0,
        DEFAULT_UPDATES_INTERVAL,
    );
    let table_interval = interval(
        r,
        "table-interval",
        &raw.table_interval,
        1,
        DEFAULT_TABLE_INTERVAL,
    );
    let compress = match &raw.compress {
        None => Some(Compression::None),
        Some(v) => match v.get_ref().as_str() {
            "none" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "bzip2" => Some(Compression::Bzip2),
            other => {
                r.error(
                    &v.span(),
                    CTX,
                    format!("compress {other:?} is not one of \"none\", \"gzip\", \"bzip2\""),
                );
                None
            }
        },
    };
    if raw.updates.is_none() && raw.table.is_none() {
        r.error(
            key_span,
            CTX,
            "nothing to dump: give updates (a file name pattern for received UPDATEs), table (for table snapshots), or both",
        );
        return None;
    }
    if raw.updates.is_none() && raw.updates_interval.is_some() {
        r.error(
            key_span,
            CTX,
            "updates-interval without updates (the file name pattern)",
        );
        ok = false;
    }
    if raw.table.is_none() && raw.table_interval.is_some() {
        r.error(
            key_span,
            CTX,
            "table-interval without table (the file name pattern)",
        );
        ok = false;
    }
    if let (Some(p), Some(i), Some(v)) = (&updates, updates_interval, &raw.updates) {
        if !i.is_zero() && !p.has_time() {
            r.error(
                &v.span(),
                CTX,
                format!("updates {p:?} has no time field (such as %Y%m%d.%H%M): each file of updates-interval would replace the last; add one, or set updates-interval = 0 for one file", p = p.as_str()),
            );
            ok = false;
        }
    }
    if let (Some(p), Some(v)) = (&table, &raw.table) {
        if !p.has_time() {
            r.error(
                &v.span(),
                CTX,
                format!("table {:?} has no time field (such as %Y%m%d.%H%M): each snapshot would replace the last", p.as_str()),
            );
            ok = false;
        }
        if updates.as_ref().is_some_and(|u| u == p) {
            r.error(
                &v.span(),
                CTX,
                "table is the same pattern as updates: both would write the same files",
            );
            ok = false;
        }
    }
    // bgpdump and most MRT tools choose the decompressor by the name.
    let suffix = match compress {
        Some(Compression::Gzip) => Some(".gz"),
        Some(Compression::Bzip2) => Some(".bz2"),
        _ => None,
    };
    if let Some(suffix) = suffix {
        for (key, v) in [("updates", &raw.updates), ("table", &raw.table)] {
            if let Some(v) = v.as_ref().filter(|v| !v.get_ref().ends_with(suffix)) {
                r.error(
                    &v.span(),
                    CTX,
                    format!("{key} {:?} does not end with {suffix}, which tools such as bgpdump need to read a compressed file", v.get_ref()),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    Some(MrtConfig {
        updates,
        updates_interval: updates_interval?,
        table,
        table_interval: table_interval?,
        compress: compress?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn patterns_expand_in_utc() {
        let p = FilePattern::new("/d/updates.%Y%m%d.%H%M%S.%s.100%%.mrt").unwrap();
        assert!(p.has_time());
        // 2024-02-29 23:59:58 UTC: a leap day.
        assert_eq!(
            p.expand(1_709_251_198),
            PathBuf::from("/d/updates.20240229.235958.1709251198.100%.mrt")
        );
        assert_eq!(
            FilePattern::new("%Y-%m-%d %H:%M").unwrap().expand(0),
            PathBuf::from("1970-01-01 00:00")
        );
        assert_eq!(
            FilePattern::new("%Y%m%d").unwrap().expand(951_782_400),
            PathBuf::from("20000229")
        );
        assert!(!FilePattern::new("plain-100%%.mrt").unwrap().has_time());
        assert_eq!(FilePattern::new("a%q"), Err(PatternError::Field('q')));
        assert_eq!(FilePattern::new("a%"), Err(PatternError::Trailing));
        assert_eq!(FilePattern::new(""), Err(PatternError::Empty));
    }

    #[test]
    fn civil_dates_match_known_days() {
        for (unix, date) in [
            (0, (1970, 1, 1)),
            (68_169_600, (1972, 2, 29)),
            (946_684_800, (2000, 1, 1)),
            (4_102_444_800, (2100, 1, 1)),
            (1_735_689_599, (2024, 12, 31)),
        ] {
            let (y, m, d, ..) = civil(unix);
            assert_eq!((y, m, d), date, "{unix}");
        }
    }

    const BASE: &str = "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n";

    fn parse(section: &str) -> Result<Config, String> {
        Config::parse(&format!("{BASE}{section}"), "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_section_is_read() {
        let c = parse(
            "[mrt]\nupdates = \"/tmp/u.%Y%m%d.%H%M.mrt.gz\"\nupdates-interval = 60\ntable = \"/tmp/rib.%s.mrt.gz\"\ntable-interval = 600\ncompress = \"gzip\"\n",
        )
        .unwrap();
        let m = c.mrt.unwrap();
        assert_eq!(m.updates.unwrap().as_str(), "/tmp/u.%Y%m%d.%H%M.mrt.gz");
        assert_eq!(m.updates_interval, Duration::from_secs(60));
        assert_eq!(m.table.unwrap().as_str(), "/tmp/rib.%s.mrt.gz");
        assert_eq!(m.table_interval, Duration::from_secs(600));
        assert_eq!(m.compress, Compression::Gzip);
        let c = parse("[mrt]\nupdates = \"/tmp/u.mrt\"\nupdates-interval = 0\n").unwrap();
        let m = c.mrt.unwrap();
        assert!(m.table.is_none());
        assert_eq!(m.compress, Compression::None);
        assert!(parse("").unwrap().mrt.is_none());
        let c = parse("[[neighbor]]\naddress = \"192.0.2.2\"\nasn = 65001\ninject-mrt = \"/d/rib.mrt\"\ninject-mrt-peer = 2\n").unwrap();
        let n = &c.neighbors[0];
        assert_eq!(n.inject_mrt, Some(PathBuf::from("/d/rib.mrt")));
        assert_eq!(n.inject_mrt_peer, 2);
    }

    #[test]
    fn mistakes_are_reported_with_key_and_line() {
        for (section, expected) in [
            ("[mrt]\n", "t.toml:4: mrt: nothing to dump"),
            (
                "[mrt]\nupdates = \"u.%q\"\n",
                "t.toml:5: mrt: updates \"u.%q\" has %q, which is not a known field",
            ),
            (
                "[mrt]\nupdates = \"u.mrt\"\n",
                "t.toml:5: mrt: updates \"u.mrt\" has no time field",
            ),
            (
                "[mrt]\ntable = \"t.mrt\"\n",
                "t.toml:5: mrt: table \"t.mrt\" has no time field",
            ),
            (
                "[mrt]\ntable = \"t.%s\"\ntable-interval = 0\n",
                "t.toml:6: mrt: table-interval 0 is out of range (1 to 31622400)",
            ),
            (
                "[mrt]\nupdates = \"u.%s\"\nupdates-interval = -5\n",
                "t.toml:6: mrt: updates-interval -5 is out of range",
            ),
            (
                "[mrt]\nupdates = \"u.%s\"\ncompress = \"xz\"\n",
                "t.toml:6: mrt: compress \"xz\" is not one of",
            ),
            (
                "[mrt]\nupdates = \"u.%s\"\ntable = \"u.%s\"\n",
                "t.toml:6: mrt: table is the same pattern as updates",
            ),
            (
                "[mrt]\ntable = \"u.%s\"\nupdates-interval = 5\n",
                "t.toml:4: mrt: updates-interval without updates",
            ),
            (
                "[mrt]\nupdate = \"u.%s\"\n",
                "t.toml:5: mrt: unknown key update",
            ),
            (
                "[mrt]\ntable = \"t.%s.mrt\"\ncompress = \"bzip2\"\n",
                "t.toml:5: mrt: table \"t.%s.mrt\" does not end with .bz2",
            ),
            (
                "[[neighbor]]\naddress = \"192.0.2.2\"\nasn = 65001\ninject-mrt-peer = 1\n",
                "t.toml:7: neighbor 192.0.2.2: inject-mrt-peer without inject-mrt",
            ),
            (
                "[[neighbor]]\naddress = \"192.0.2.2\"\nasn = 65001\ninject-mrt = \"\"\n",
                "t.toml:7: neighbor 192.0.2.2: inject-mrt is empty",
            ),
        ] {
            let e = parse(section).unwrap_err();
            assert!(e.contains(expected), "{section:?}: {e}");
        }
        let e = Config::parse(&format!("mrt = 3\n{BASE}"), "t.toml").unwrap_err();
        assert!(
            e.to_string()
                .contains("t.toml:1: mrt must be a table: [mrt]"),
            "{e}"
        );
    }

    #[test]
    fn every_key_is_documented() {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md"),
        )
        .unwrap();
        for key in [
            "updates",
            "updates-interval",
            "table",
            "table-interval",
            "compress",
            "inject-mrt",
            "inject-mrt-peer",
        ] {
            assert!(
                docs.contains(&format!("| `{key}` |")),
                "{key} is not in docs/config.md"
            );
        }
    }
}
