//! Decode ExaBGP's own test vectors with Ribbit's codec and compare the
//! ExaBGP JSON that `ribbit-exabgp` writes with the JSON ExaBGP printed.
//!
//! The vectors (`shared/conformance/exabgp-qa`, see its README) come in two
//! shapes:
//! - `decoding/NAME`: kind, message hex, ExaBGP 5 JSON;
//! - `encoding/NAME.ci`: numbered `raw` messages ExaBGP sent for a config in
//!   `etc/`, with the JSON for them (`json`: ExaBGP 6; `jsv4`: API v4, which
//!   is what Ribbit writes, used whenever present).
//!
//! The content compared is `neighbor.message` for UPDATEs and
//! `neighbor.open` for OPENs, after the normalisations listed in
//! [`normalise`]. Vectors of families Ribbit does not decode are skipped and
//! listed by name; every other vector must match.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use ribbit_exabgp::json::{self as exa, Neighbor};
use ribbit_wire::update::MpNlri;
use ribbit_wire::{DecodeContext, Family, FamilySet, Message, Reason};

fn qa_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/exabgp-qa")
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .chars()
        .filter_map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect();
    digits.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect()
}

/// The vectors skipped, and why: families Ribbit does not decode (yet), and
/// UPDATEs that RFC 4271 says to reject. Any other vector must decode and
/// match ExaBGP's JSON; a vector that starts being skipped fails the test.
const EXPECTED_SKIPS: &[(&str, &str)] = &[
    ("decoding/bgp-evpn-1", "EVPN (AFI 25 / SAFI 70)"),
    ("decoding/bgp-ls-1", "BGP-LS bare NLRI"),
    ("decoding/bgp-ls-2", "BGP-LS (AFI 16388 / SAFI 71)"),
    ("decoding/bgp-ls-3", "BGP-LS"),
    ("decoding/bgp-ls-4", "BGP-LS"),
    ("decoding/bgp-ls-5", "BGP-LS"),
    ("decoding/bgp-ls-6", "BGP-LS"),
    ("decoding/bgp-ls-7", "BGP-LS"),
    ("decoding/bgp-ls-8", "BGP-LS"),
    ("decoding/bgp-ls-9", "BGP-LS"),
    ("decoding/bgp-ls-10", "BGP-LS"),
    ("decoding/bgp-sr-policy-1", "SR Policy (SAFI 73)"),
    ("decoding/bgp-sr-policy-2", "SR Policy (SAFI 73)"),
    (
        "encoding/conf-generic-attribute.ci#2",
        "unknown attribute 0x99 with well-known flags 0x60: RFC 4271 §6.3 NOTIFICATION",
    ),
    (
        "encoding/conf-generic-attribute.ci#3",
        "unknown attribute 0x99 with well-known flags 0x70: RFC 4271 §6.3 NOTIFICATION",
    ),
    ("encoding/conf-l2vpn.ci#1", "VPLS (AFI 25 / SAFI 65)"),
    ("encoding/conf-l2vpn.ci#2", "VPLS"),
    ("encoding/conf-l2vpn.ci#3", "VPLS"),
    ("encoding/conf-mvpn.ci#1", "MCAST-VPN (SAFI 5)"),
    ("encoding/conf-mvpn.ci#2", "MCAST-VPN"),
    ("encoding/conf-mvpn.ci#3", "MCAST-VPN"),
    ("encoding/conf-mvpn.ci#4", "MCAST-VPN"),
    ("encoding/conf-sr-policy.ci#3", "SR Policy (SAFI 73)"),
    ("encoding/conf-sr-policy.ci#4", "SR Policy"),
    ("encoding/conf-sr-policy.ci#5", "SR Policy"),
    ("encoding/conf-sr-policy.ci#6", "SR Policy"),
    ("encoding/conf-srv6-mup-v3.ci#1", "MUP (SAFI 85)"),
    ("encoding/conf-srv6-mup-v3.ci#2", "MUP"),
    ("encoding/conf-srv6-mup.ci#3", "MUP (SAFI 85)"),
    ("encoding/conf-srv6-mup.ci#4", "MUP"),
    ("encoding/conf-srv6-mup.ci#5", "MUP"),
    ("encoding/conf-srv6-mup.ci#6", "MUP"),
    ("encoding/conf-srv6-mup.ci#7", "MUP"),
    ("encoding/conf-srv6-mup.ci#8", "MUP"),
    ("encoding/conf-srv6-mup.ci#9", "MUP"),
    ("encoding/conf-srv6-mup.ci#10", "MUP"),
    ("encoding/conf-srv6-mup.ci#11", "MUP"),
    ("encoding/conf-srv6-mup.ci#12", "MUP"),
];

/// Some `decoding/*` vectors hold only the UPDATE body: put the header
/// (marker, length, type from the vector's kind line) in front of those.
fn with_header(bytes: Vec<u8>, kind: &str) -> Vec<u8> {
    if bytes.starts_with(&[0xff; 16]) {
        return bytes;
    }
    let ty = if kind.starts_with("open") { 1 } else { 2 };
    let len = u16::try_from(bytes.len().saturating_add(19)).unwrap_or(u16::MAX);
    let mut out = vec![0xff; 16];
    out.extend_from_slice(&len.to_be_bytes());
    out.push(ty);
    out.extend_from_slice(&bytes);
    out
}

/// What happened to the vectors.
#[derive(Default)]
struct Report {
    compared: usize,
    /// Decoded without error, but ExaBGP gave no JSON to compare with.
    decoded_only: usize,
    /// (vector, reason)
    skipped: Vec<(String, String)>,
    /// (vector, what differs)
    failures: Vec<(String, String)>,
}

/// The first family of the UPDATE that Ribbit keeps as raw bytes, if any.
fn undecoded_family(msg: &Message) -> Option<Family> {
    let Message::Update(u) = msg else { return None };
    let reach = u
        .mp_reach
        .as_ref()
        .filter(|m| matches!(m.nlri, MpNlri::Raw(_)))
        .map(|m| m.family);
    let unreach = u
        .mp_unreach
        .as_ref()
        .filter(|m| matches!(m.nlri, MpNlri::Raw(_)) && !m.nlri.is_empty())
        .map(|m| m.family);
    reach.or(unreach)
}

/// Which JSON the expected line is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// API v4 (`jsv4`): Ribbit's target, nothing to adapt but the as-path form.
    V4,
    /// ExaBGP 5 or 6 (`decoding/*`, `json`).
    Later,
}

/// Bring ExaBGP 5/6 output and Ribbit's API v4 output to one form. Each
/// step is a documented difference between the dialects, or an attribute
/// Ribbit does not interpret:
///
/// 1. AS_PATH: ExaBGP 5+ writes `{"0": {"element": "as-sequence", "value":
///    [..]}, ...}`; API v4 flattens by segment type into `as-path`,
///    `as-set`, `confederation-path`, `confederation-set`, always writing the
///    two sequences (possibly empty). The expected form is flattened.
/// 2. Flowspec `next-hop`: API v4 repeats the next hop inside each rule;
///    ExaBGP 6 does not. Removed from Ribbit's rules when the expected JSON
///    is not API v4.
/// 3. IPv6 address specific extended communities (attribute 25): ExaBGP 5+
///    names them `extended-community-ipv6` with a 160-bit integer value;
///    ExaBGP 4 (and Ribbit's API v4 output) prints the generic
///    `attribute-0x19-0xE0`. Both are removed.
/// 4. BGP Prefix-SID (attribute 40): Ribbit does not interpret it and prints
///    the generic `attribute-0x28-0xE0`; ExaBGP decodes it as
///    `bgp-prefix-sid`. Both are removed.
fn normalise(expected: &mut Value, ours: &mut Value, dialect: Dialect) {
    if let Some(attrs) = expected
        .pointer_mut("/update/attribute")
        .and_then(Value::as_object_mut)
    {
        if let Some(Value::Object(segments)) = attrs.get("as-path").cloned() {
            flatten_as_path(&segments, attrs);
        }
        attrs.remove("extended-community-ipv6");
        attrs.remove("bgp-prefix-sid");
    }
    if let Some(attrs) = ours
        .pointer_mut("/update/attribute")
        .and_then(Value::as_object_mut)
    {
        attrs.retain(|k, _| !k.starts_with("attribute-0x19-") && !k.starts_with("attribute-0x28-"));
    }
    if dialect == Dialect::Later {
        if let Some(Value::Object(families)) = ours.pointer_mut("/update/announce") {
            for (family, by_hop) in families.iter_mut() {
                if !family.contains("flow") {
                    continue;
                }
                for rules in by_hop
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|m| m.values_mut())
                {
                    for rule in rules.as_array_mut().into_iter().flatten() {
                        if let Some(r) = rule.as_object_mut() {
                            r.remove("next-hop");
                        }
                    }
                }
            }
        }
    }
}

fn flatten_as_path(segments: &Map<String, Value>, attrs: &mut Map<String, Value>) {
    let mut ordered: Vec<(u64, &Value)> = segments
        .iter()
        .map(|(k, v)| (k.parse().unwrap_or(u64::MAX), v))
        .collect();
    ordered.sort_by_key(|(k, _)| *k);
    let mut flat: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (_, seg) in ordered {
        let element = seg["element"].as_str().unwrap_or_default();
        let key = match (element.contains("confed"), element.contains("set")) {
            (false, false) => "as-path",
            (false, true) => "as-set",
            (true, false) => "confederation-path",
            (true, true) => "confederation-set",
        };
        flat.entry(key)
            .or_default()
            .extend(seg["value"].as_array().cloned().unwrap_or_default());
    }
    attrs.remove("as-path");
    flat.entry("as-path").or_default();
    flat.entry("confederation-path").or_default();
    for (k, v) in flat {
        attrs.insert(k.to_string(), Value::Array(v));
    }
}

/// Decode `raw`, build Ribbit's API v4 JSON and compare it with `expected`.
fn check(
    name: &str,
    kind: &str,
    raw: &str,
    expected: Option<(&str, Dialect)>,
    ctx: &DecodeContext,
    report: &mut Report,
) {
    let bytes = with_header(hex(raw), kind);
    let msg = match Message::decode(&bytes, ctx) {
        Ok(m) => m,
        Err(e) if matches!(e.reason, Reason::UnrecognizedWellKnown(_)) => {
            // ExaBGP's `attribute [...]` command lets a user send an unknown
            // attribute with the well-known flags; RFC 4271 §6.3 makes a
            // receiver answer it with a NOTIFICATION, as Ribbit does.
            report.skipped.push((
                name.to_string(),
                format!("rejected as RFC 4271 §6.3 requires: {e}"),
            ));
            return;
        }
        Err(e) => {
            report
                .failures
                .push((name.to_string(), format!("decode error: {e}\n  hex: {raw}")));
            return;
        }
    };
    if let Some(f) = undecoded_family(&msg) {
        report.skipped.push((
            name.to_string(),
            format!("family {f} is not decoded by Ribbit"),
        ));
        return;
    }
    let Some((expected_text, dialect)) = expected else {
        report.decoded_only += 1;
        return;
    };
    let expected_all: Value = match serde_json::from_str(expected_text) {
        Ok(v) => v,
        Err(e) => {
            report.failures.push((
                name.to_string(),
                format!("expected JSON does not parse: {e}"),
            ));
            return;
        }
    };
    let ours_all = exa::message(&msg, &Neighbor::decoder(65533, 65533));
    let pointer = if matches!(msg, Message::Open(_)) {
        "/neighbor/open"
    } else {
        "/neighbor/message"
    };
    let mut expected = expected_all
        .pointer(pointer)
        .cloned()
        .unwrap_or(Value::Null);
    let mut ours = ours_all.pointer(pointer).cloned().unwrap_or(Value::Null);
    if expected.is_null() {
        report
            .failures
            .push((name.to_string(), format!("expected JSON has no {pointer}")));
        return;
    }
    normalise(&mut expected, &mut ours, dialect);
    report.compared += 1;
    if expected != ours {
        report.failures.push((
            name.to_string(),
            format!("hex: {raw}\n  expected: {expected}\n  got:      {ours}"),
        ));
    }
}

/// The session settings a `.ci` file's config ran with.
fn context_of(conf: &str) -> DecodeContext {
    let four_octet_as = !conf.contains("asn4 disable");
    let mut add_path = FamilySet::EMPTY;
    let sends_paths = conf.lines().any(|l| {
        let l = l.trim();
        l.starts_with("add-path send")
    });
    if sends_paths {
        // Families in an `add-path { ... }` block, else every configured family.
        let families = block(conf, "add-path")
            .or_else(|| block(conf, "family"))
            .unwrap_or_default();
        let mut any = false;
        for line in families.lines() {
            if let Some(f) = Family::from_exabgp_name(line.trim().trim_end_matches(';').trim()) {
                add_path.insert(f);
                any = true;
            }
        }
        if !any {
            add_path.insert(Family::IPV4_UNICAST);
        }
    }
    DecodeContext {
        four_octet_as,
        add_path,
        extended_message: conf.contains("extended-message enable"),
    }
}

/// The text between `NAME {` and the next `}`.
fn block(conf: &str, name: &str) -> Option<String> {
    let start = conf.find(&format!("{name} {{"))?;
    let rest = conf.get(start..)?;
    let open = rest.find('{')?;
    let close = rest.find('}')?;
    rest.get(open.saturating_add(1)..close).map(str::to_string)
}

fn decoding_vectors(report: &mut Report) {
    let dir = qa_dir().join("decoding");
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    for path in names {
        let name = format!(
            "decoding/{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("?")
        );
        let text = fs::read_to_string(&path).unwrap_or_default();
        let mut lines = text.lines();
        let (Some(kind), Some(raw), Some(json)) = (lines.next(), lines.next(), lines.next()) else {
            report.failures.push((name, "not three lines".into()));
            continue;
        };
        // `nlri FAMILY`: a bare NLRI field, which only BGP-LS vectors use.
        if let Some(family) = kind.strip_prefix("nlri ") {
            let decodable =
                Family::from_exabgp_name(family).is_some_and(|f| f.nlri_kind().is_some());
            if !decodable {
                report.skipped.push((
                    name,
                    format!("bare NLRI of family {family} is not decoded by Ribbit"),
                ));
                continue;
            }
        }
        check(
            &name,
            kind,
            raw,
            Some((json, Dialect::Later)),
            &DecodeContext::default(),
            report,
        );
    }
}

fn encoding_vectors(report: &mut Report) {
    let dir = qa_dir().join("encoding");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ci"))
        .collect();
    files.sort();
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let conf_name = text
            .lines()
            .find_map(|l| l.strip_prefix("option:file:"))
            .unwrap_or_default()
            .trim();
        let conf = fs::read_to_string(qa_dir().join("etc").join(conf_name)).unwrap_or_default();
        let ctx = context_of(&conf);

        // Each raw line, with the JSON lines that follow it.
        let mut vectors: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_n), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            match kind {
                "raw" => vectors.push((rest.to_string(), Vec::new())),
                "json" | "jsv4" | "jsv6" => {
                    if let Some(last) = vectors.last_mut() {
                        last.1.push((kind.to_string(), rest.to_string()));
                    }
                }
                _ => {}
            }
        }
        for (i, (raw, jsons)) in vectors.iter().enumerate() {
            let name = format!("encoding/{file}#{}", i.saturating_add(1));
            let pick = |k: &str| {
                jsons
                    .iter()
                    .find(|(kind, _)| kind == k)
                    .map(|(_, j)| j.as_str())
            };
            let expected = pick("jsv4")
                .map(|j| (j, Dialect::V4))
                .or_else(|| pick("json").map(|j| (j, Dialect::Later)));
            check(&name, "update", raw, expected, &ctx, report);
        }
    }
}

#[test]
fn exabgp_vectors_decode_to_exabgp_json() {
    assert!(
        qa_dir().is_dir(),
        "conformance data not found at {}",
        qa_dir().display()
    );
    let mut report = Report::default();
    decoding_vectors(&mut report);
    encoding_vectors(&mut report);

    println!(
        "compared {} vectors with ExaBGP's JSON; {} more decoded without JSON to compare; {} skipped",
        report.compared,
        report.decoded_only,
        report.skipped.len()
    );
    for (name, why) in &report.skipped {
        println!("  skipped {name}: {why}");
    }
    for (name, what) in &report.failures {
        println!("FAILED {name}\n  {what}");
    }
    assert!(
        report.failures.is_empty(),
        "{} vectors differ (see above)",
        report.failures.len()
    );
    let mut skipped: Vec<&str> = report.skipped.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected: Vec<&str> = EXPECTED_SKIPS.iter().map(|(n, _)| *n).collect();
    skipped.sort_unstable();
    expected.sort_unstable();
    assert_eq!(skipped, expected, "the skipped vectors changed");
    // Everything in the data set that is not skipped is compared or decoded.
    assert!(
        report.compared >= 90,
        "too few vectors compared: {}",
        report.compared
    );
}
