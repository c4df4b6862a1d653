//! The API's answers as the CLI reads them, and their text for people.
//!
//! These types read only what the CLI prints and ignore the rest, so that
//! an API that adds members (docs/json.md allows it) does not break an
//! older CLI.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// An AS_PATH segment.
#[derive(Debug, Clone, Deserialize)]
pub struct Segment {
    /// `sequence`, `set`, `confed-sequence` or `confed-set`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The AS numbers.
    pub asns: Vec<u32>,
}

/// The attributes the CLI prints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Attributes {
    /// ORIGIN.
    pub origin: Option<String>,
    /// AS_PATH.
    pub as_path: Option<Vec<Segment>>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// COMMUNITIES.
    #[serde(default)]
    pub communities: Vec<String>,
    /// EXTENDED COMMUNITIES.
    #[serde(default)]
    pub extended_communities: Vec<String>,
    /// LARGE_COMMUNITY.
    #[serde(default)]
    pub large_communities: Vec<String>,
}

/// An AS path as `ribbit rib` writes it: a sequence as numbers, a set in
/// `( )`, a confederation sequence in `[ ]`, a confederation set in `{ }`
/// (the text form of `ribbit_wire::AsPath`).
pub fn as_path_text(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate() {
        let (open, close) = match seg.kind.as_str() {
            "set" => ("( ", " )"),
            "confed-sequence" => ("[ ", " ]"),
            "confed-set" => ("{ ", " }"),
            _ => ("", ""),
        };
        if i > 0 {
            out.push(' ');
        }
        out.push_str(open);
        let asns: Vec<String> = seg.asns.iter().map(ToString::to_string).collect();
        out.push_str(&asns.join(" "));
        out.push_str(close);
    }
    out
}

impl fmt::Display for Attributes {
    /// ` origin igp as-path [65002 65100] med 5 ...`, each attribute the
    /// route has, with a leading space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = &self.origin {
            write!(f, " origin {o}")?;
        }
        write!(
            f,
            " as-path [{}]",
            as_path_text(self.as_path.as_deref().unwrap_or_default())
        )?;
        if let Some(med) = self.med {
            write!(f, " med {med}")?;
        }
        if let Some(lp) = self.local_pref {
            write!(f, " local-pref {lp}")?;
        }
        if !self.communities.is_empty() {
            write!(f, " communities {}", self.communities.join(" "))?;
        }
        if !self.large_communities.is_empty() {
            write!(f, " large-communities {}", self.large_communities.join(" "))?;
        }
        Ok(())
    }
}

/// One path of a destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Path {
    /// The neighbor it came from; none for our own.
    pub neighbor: Option<IpAddr>,
    /// ADD-PATH path identifier.
    pub path_id: Option<u32>,
    /// The best path.
    pub best: bool,
    /// Kept while its neighbor restarts.
    #[serde(default)]
    pub stale: bool,
    /// Why it cannot be best.
    pub ineligible: Option<String>,
    /// The next hop.
    pub next_hop: String,
    /// The attributes.
    #[serde(default)]
    pub attributes: Attributes,
}

/// Every path of a destination.
#[derive(Debug, Clone, Deserialize)]
pub struct Destination {
    /// The destination.
    pub nlri: String,
    /// Why the best path won.
    pub reason: Option<String>,
    /// The paths, the best first.
    pub paths: Vec<Path>,
}

/// `ribbit rib`'s text: the destination and the reason its best path won,
/// then one line per path, the best marked `*>` and one that cannot be
/// best ` x` (the text of the runtime's `rib_view::DestinationLine`).
impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.nlri)?;
        if let Some(reason) = &self.reason {
            write!(f, "  (best: {reason})")?;
        }
        writeln!(f)?;
        for p in &self.paths {
            let mark = match (p.best, &p.ineligible) {
                (true, _) => "*>",
                (false, Some(_)) => " x",
                (false, None) => "  ",
            };
            let from = p
                .neighbor
                .map_or_else(|| "local".to_string(), |a| a.to_string());
            write!(f, "  {mark} from {from}")?;
            if let Some(id) = p.path_id {
                write!(f, " path-id {id}")?;
            }
            write!(f, " next-hop {}{}", p.next_hop, p.attributes)?;
            if p.stale {
                f.write_str(" stale")?;
            }
            if let Some(why) = &p.ineligible {
                write!(f, " ({why})")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// `GET /v1/rib/{family}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RibPage {
    /// The destinations.
    pub destinations: Vec<Destination>,
    /// The cursor of the next page.
    pub next: Option<String>,
}

/// A route of an Adj-RIB.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AdjRoute {
    /// The destination.
    pub nlri: String,
    /// ADD-PATH path identifier.
    pub path_id: Option<u32>,
    /// The next hop.
    pub next_hop: String,
    /// The attributes.
    #[serde(default)]
    pub attributes: Attributes,
}

impl fmt::Display for AdjRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.nlri)?;
        if let Some(id) = self.path_id {
            write!(f, " path-id {id}")?;
        }
        write!(f, " next-hop {}{}", self.next_hop, self.attributes)?;
        if !self.attributes.extended_communities.is_empty() {
            write!(
                f,
                " extended-communities {}",
                self.attributes.extended_communities.join(" ")
            )?;
        }
        Ok(())
    }
}

/// An Adj-RIB page.
#[derive(Debug, Clone, Deserialize)]
pub struct AdjRibPage {
    /// The routes.
    pub routes: Vec<AdjRoute>,
    /// The cursor of the next page.
    pub next: Option<String>,
}

/// Prefix counts of a neighbor.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PrefixCounts {
    /// Accepted.
    pub accepted: u64,
    /// Advertised.
    pub advertised: u64,
    /// Received.
    pub received: u64,
}

/// One neighbor of `GET /v1/neighbors`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborSummary {
    /// Address.
    pub address: IpAddr,
    /// AS.
    pub asn: u32,
    /// Session state.
    pub state: String,
    /// Since when (Unix seconds).
    pub state_since: Option<u64>,
    /// Description.
    pub description: Option<String>,
    /// Prefix counts.
    pub prefixes: PrefixCounts,
}

/// `GET /v1/neighbors`.
#[derive(Debug, Clone, Deserialize)]
pub struct NeighborList {
    /// The neighbors.
    pub neighbors: Vec<NeighborSummary>,
}

/// Counters of one family.
#[derive(Debug, Clone, Deserialize)]
pub struct FamilyCounters {
    /// The family (none: other families).
    pub family: Option<String>,
    /// Received.
    pub received: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Withdrawn.
    pub withdrawn: u64,
    /// Advertised.
    pub advertised: u64,
    /// Ignored.
    pub ignored: u64,
}

/// The last NOTIFICATION.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LastNotification {
    /// `sent` or `received`.
    pub direction: String,
    /// When.
    pub time: u64,
    /// Code.
    pub code: u8,
    /// Subcode.
    pub subcode: u8,
    /// Code name.
    pub code_name: String,
    /// Subcode name.
    pub subcode_name: String,
    /// Shutdown communication.
    pub shutdown_message: Option<String>,
}

/// `GET /v1/neighbors/{address}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NeighborDetail {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Local address.
    pub local_address: Option<IpAddr>,
    /// AS.
    pub asn: u32,
    /// Our AS.
    pub local_asn: u32,
    /// Description.
    pub description: Option<String>,
    /// Passive.
    pub passive: bool,
    /// Hold time we propose.
    pub hold_time: u16,
    /// Families offered.
    pub families: Vec<String>,
    /// Route-server client.
    pub route_server_client: bool,
    /// Route-reflector client.
    pub route_reflector_client: bool,
    /// Session state.
    pub state: String,
    /// Since when.
    pub state_since: Option<u64>,
    /// Sessions that came up.
    pub established_count: u64,
    /// UPDATEs received.
    pub updates_received: u64,
    /// Last NOTIFICATION.
    pub last_notification: Option<LastNotification>,
    /// Counters per family.
    pub counters: Vec<FamilyCounters>,
    /// What the session negotiated, while established.
    #[serde(default)]
    pub session: Option<Negotiated>,
    /// Messages received, by type.
    #[serde(default)]
    pub messages_received: Option<MessageCounters>,
    /// Messages sent, by type.
    #[serde(default)]
    pub messages_sent: Option<MessageCounters>,
    /// Why the session last went down.
    #[serde(default)]
    pub last_down: Option<String>,
}

/// What a session negotiated.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Negotiated {
    /// The neighbor's BGP identifier.
    pub router_id: String,
    /// Families.
    pub families: Vec<String>,
    /// Hold time in force.
    pub hold_time: u16,
    /// Route refresh.
    pub route_refresh: bool,
    /// Enhanced route refresh.
    pub enhanced_route_refresh: bool,
    /// 4-octet AS.
    pub four_octet_as: bool,
    /// The capabilities of the neighbor's OPEN.
    pub capabilities: Vec<String>,
}

/// Messages by type, as the API writes them.
pub use crate::api::model::MessageCounters;

/// `GET /v1/stats`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Stats {
    /// Table sizes.
    pub families: Vec<FamilySize>,
    /// Attribute sets.
    pub attribute_sets: u64,
    /// Event streams open.
    pub event_streams: u64,
}

/// A table's size.
#[derive(Debug, Clone, Deserialize)]
pub struct FamilySize {
    /// Family.
    pub family: String,
    /// Destinations.
    pub destinations: u64,
    /// Paths.
    pub paths: u64,
}

/// How long ago a Unix time was, as `3d04h05m` / `04:05:06`; `-` when
/// unknown.
pub fn age(since: Option<u64>) -> String {
    let Some(since) = since else {
        return "-".to_string();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = now.saturating_sub(since);
    let (d, h, m, sec) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// Rows of text cells laid out in columns, two spaces apart, the last
/// column not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_paths() {
        let seg = |kind: &str, asns: &[u32]| Segment {
            kind: kind.to_string(),
            asns: asns.to_vec(),
        };
        assert_eq!(
            as_path_text(&[seg("sequence", &[1, 2]), seg("set", &[3, 4])]),
            "1 2 ( 3 4 )"
        );
        assert_eq!(
            as_path_text(&[seg("confed-sequence", &[5]), seg("confed-set", &[6])]),
            "[ 5 ] { 6 }"
        );
        assert_eq!(as_path_text(&[]), "");
    }

    #[test]
    fn tables() {
        let rows = vec![
            vec!["Peer".to_string(), "AS".to_string(), "State".to_string()],
            vec![
                "127.0.0.2".to_string(),
                "65002".to_string(),
                "established".to_string(),
            ],
        ];
        assert_eq!(
            table(&rows),
            "Peer       AS     State\n127.0.0.2  65002  established\n"
        );
    }
}
