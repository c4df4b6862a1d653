//! The text of the `show` commands and `help`, in ExaBGP's layouts where
//! programs may parse them (`show adj-rib`, `show neighbor summary`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ribbit_exabgp::json::{extended_community_string, family_key};
use ribbit_fsm::State;
use ribbit_wire::update::NextHop;
use ribbit_wire::PathAttributes;

use super::command::NeighborView;
use super::{Program, Shared};
use crate::config::NeighborScope;
use crate::peer::ReceivedRoute;
use crate::speaker::Speaker;

/// The commands, one per line.
pub fn help() -> Vec<String> {
    [
        "commands (ExaBGP's API; [neighbor ADDRESS [filters]] may start a route command):",
        "  announce route|ipv4 ...|ipv6 ...|vpn ...|flow ...|attributes ... nlri ...",
        "  withdraw route|ipv4 ...|ipv6 ...|vpn ...|flow ...|attributes ... nlri ...",
        "  announce route-refresh AFI SAFI",
        "  announce watchdog NAME | withdraw watchdog NAME",
        "  [neighbor ADDRESS] teardown 2|4",
        "  show neighbor [ADDRESS] summary|extensive|configuration",
        "  show adj-rib in|out [ADDRESS] [extensive]",
        "  show processes",
        "  [neighbor ADDRESS] flush adj-rib out",
        "  [neighbor ADDRESS] clear adj-rib [in|out]",
        "  shutdown | reload | restart | version | help",
        "  enable-ack | disable-ack | silence-ack",
        "filters: local-ip ADDRESS, local-as ASN, peer-as ASN, router-id ID",
        "a line may start with @ID (letters, digits, -_.:): its replies start with @ID too",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `show processes`: one line per program.
pub fn processes(programs: &[Arc<Program>]) -> Vec<String> {
    let mut out = vec![format!(
        "{:<16} {:<10} {:>8} {:>9} {:>7} {:>8} {:>8} {:>8} {:>6} {:>6}",
        "Process",
        "state",
        "pid",
        "queued",
        "policy",
        "lines",
        "dropped",
        "missed",
        "gaps",
        "starts"
    )];
    for p in programs {
        let s = p.status();
        out.push(format!(
            "{:<16} {:<10} {:>8} {:>9} {:>7} {:>8} {:>8} {:>8} {:>6} {:>6}",
            s.name,
            s.state,
            s.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
            format!("{}/{}", s.queued, s.queue),
            s.on_overflow,
            s.counters.lines,
            s.counters.events_dropped + s.counters.replies_dropped,
            s.counters.events_missed,
            s.counters.gaps,
            s.counters.starts,
        ));
    }
    out
}

/// Hours, minutes and seconds from `since` (Unix seconds) to now.
fn duration(since: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = now.saturating_sub(since);
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

pub(crate) fn neighbors_in(
    speaker: &Speaker,
    scope: &NeighborScope,
    only: Option<IpAddr>,
) -> Result<Vec<IpAddr>, String> {
    let all: Vec<IpAddr> = speaker
        .neighbor_addresses()
        .into_iter()
        .filter(|p| scope.contains(*p))
        .collect();
    match only {
        None => Ok(all),
        Some(a) if all.contains(&a) => Ok(vec![a]),
        Some(a) => Err(format!("no neighbor {a} among this process's neighbors")),
    }
}

/// Routes held from and for a neighbor, every family.
#[derive(Debug, Clone, Copy, Default)]
struct RouteCounts {
    /// In its Adj-RIB-In after import policy.
    accepted: u64,
    /// In its Adj-RIB-Out.
    advertised: u64,
}

/// Each neighbor's [`RouteCounts`], from the RIB's counters: not a copy of
/// its tables, which for a full table would hold the RIB for a second.
async fn route_counts(speaker: &Speaker) -> HashMap<IpAddr, RouteCounts> {
    let Some(stats) = speaker.rib_stats().await else {
        return HashMap::new();
    };
    stats
        .peers
        .iter()
        .map(|p| {
            let c = p
                .families
                .iter()
                .fold(RouteCounts::default(), |c, f| RouteCounts {
                    accepted: c.accepted + u64::from(f.accepted),
                    advertised: c.advertised + u64::from(f.advertised),
                });
            (p.address, c)
        })
        .collect()
}

/// `show neighbor [ADDRESS] [summary|extensive|configuration]`.
pub async fn neighbors(
    shared: &Shared,
    scope: &NeighborScope,
    only: Option<IpAddr>,
    view: Option<NeighborView>,
) -> Result<Vec<String>, String> {
    let speaker = &shared.speaker;
    let peers = neighbors_in(speaker, scope, only)?;
    let Some(view) = view else {
        return Ok(vec![
            "please specify summary, extensive or configuration".to_string(),
            "you can filter by peer ip address adding it after the word neighbor".to_string(),
        ]);
    };
    let counts = route_counts(speaker).await;
    let count = |p: IpAddr| counts.get(&p).copied().unwrap_or_default();
    let mut out = Vec::new();
    match view {
        NeighborView::Summary => {
            out.push(
                "Peer            AS        up/down state       |     #sent     #recvd".to_string(),
            );
            for p in peers {
                let Some(n) = speaker.neighbor_config(p) else {
                    continue;
                };
                // The neighbor's task answers for its session; none runs
                // for a disabled neighbor.
                let info = speaker.neighbor_info(p).await;
                let state = info.as_ref().map(|i| i.state);
                let updown = match (&info, state) {
                    (Some(i), Some(State::Established)) => {
                        i.since.map_or_else(String::new, duration)
                    }
                    _ => "down".to_string(),
                };
                let sent = count(p).advertised;
                out.push(format!(
                    "{:<15} {:<7} {:>9} {:<12} {:>10} {:>10}",
                    p,
                    n.peer_asn,
                    updown,
                    state.map_or("disabled", |s| s.name()).to_lowercase(),
                    sent,
                    info.as_ref().map_or(0, |i| i.received.update),
                ));
            }
        }
        NeighborView::Extensive => {
            let router_id = speaker.config_snapshot().global.router_id;
            for p in peers {
                let Some(n) = speaker.neighbor_config(p) else {
                    continue;
                };
                let info = speaker.neighbor_info(p).await;
                let state = info.as_ref().map(|i| i.state);
                let kv = |k: &str, l: &str, r: &str| format!("   {k:<20} {l:>15} {r:>15}");
                out.push(format!("Neighbor {p}"));
                out.push(String::new());
                out.push("  Session                         Local".to_string());
                out.push(kv(
                    "local",
                    &n.local_address
                        .map_or_else(|| "-".to_string(), |a| a.to_string()),
                    "",
                ));
                out.push(kv(
                    "state",
                    &state.map_or("DISABLED", |s| s.name()).to_uppercase(),
                    "",
                ));
                if let Some(since) = info.as_ref().and_then(|i| i.since) {
                    let what = if state == Some(State::Established) {
                        "up for"
                    } else {
                        "down for"
                    };
                    out.push(kv(what, &duration(since), ""));
                }
                out.push(String::new());
                out.push("  Setup                           Local          Remote".to_string());
                out.push(kv("AS", &n.local_asn.to_string(), &n.peer_asn.to_string()));
                out.push(kv("ID", &router_id.to_string(), ""));
                out.push(kv("hold-time", &n.hold_time.to_string(), ""));
                out.push(String::new());
                out.push("  Families                        Local".to_string());
                for f in &n.families {
                    out.push(kv(&format!("{}:", family_key(*f)), "enabled", ""));
                }
                out.push(String::new());
                out.push("  Routes                       Received        Advertised".to_string());
                let c = count(p);
                out.push(kv(
                    "routes:",
                    &c.accepted.to_string(),
                    &c.advertised.to_string(),
                ));
                out.push(kv(
                    "updates:",
                    &info.as_ref().map_or(0, |i| i.received.update).to_string(),
                    "",
                ));
                out.push(String::new());
            }
        }
        NeighborView::Configuration => {
            for p in peers {
                if let Some(n) = speaker.neighbor_config(p) {
                    out.push(format!("neighbor {p} {{"));
                    out.push(format!("  peer-as {};", n.peer_asn));
                    out.push(format!("  local-as {};", n.local_asn));
                    if let Some(a) = n.local_address {
                        out.push(format!("  local-address {a};"));
                    }
                    out.push(format!("  hold-time {};", n.hold_time));
                    out.push(format!("  passive {};", n.passive));
                    let fams: Vec<String> = n.families.iter().map(|f| family_key(*f)).collect();
                    out.push(format!("  family {{ {}; }}", fams.join("; ")));
                    out.push("}".to_string());
                }
            }
        }
    }
    Ok(out)
}

/// One route of `show adj-rib`: ExaBGP's line, every attribute when
/// `extensive`.
pub(crate) fn route_line(peer: IpAddr, r: &ReceivedRoute, extensive: bool) -> String {
    let mut s = format!("neighbor {peer} {} {}", family_key(r.family), r.nlri);
    if let Some(id) = r.path_id {
        s.push_str(&format!(
            " path-information {}",
            std::net::Ipv4Addr::from(id)
        ));
    }
    match r.next_hop {
        Some(NextHop::V4(a)) => s.push_str(&format!(" next-hop {a}")),
        Some(NextHop::V6 { global, .. }) => s.push_str(&format!(" next-hop {global}")),
        Some(NextHop::Empty) | None => {}
    }
    if extensive {
        attributes_text(&r.attributes, &mut s);
    }
    s
}

/// The attributes in ExaBGP's command syntax, so a line can be fed back.
fn attributes_text(a: &PathAttributes, s: &mut String) {
    if let Some(o) = a.origin {
        s.push_str(&format!(" origin {}", o.name()));
    }
    if let Some(p) = a.as_path.as_ref().filter(|p| !p.segments.is_empty()) {
        let mut parts = Vec::new();
        for seg in &p.segments {
            let asns: Vec<String> = seg.asns.iter().map(u32::to_string).collect();
            let (open, close) = match seg.kind {
                ribbit_wire::attribute::SegmentType::Sequence => ("", ""),
                ribbit_wire::attribute::SegmentType::Set => ("( ", " )"),
                ribbit_wire::attribute::SegmentType::ConfedSequence => ("{ ", " }"),
                ribbit_wire::attribute::SegmentType::ConfedSet => ("{ ( ", " ) }"),
            };
            parts.push(format!("{open}{}{close}", asns.join(" ")));
        }
        s.push_str(&format!(" as-path [ {} ]", parts.join(" ")));
    }
    if let Some(m) = a.med {
        s.push_str(&format!(" med {m}"));
    }
    if let Some(lp) = a.local_pref {
        s.push_str(&format!(" local-preference {lp}"));
    }
    if a.atomic_aggregate {
        s.push_str(" atomic-aggregate");
    }
    if let Some(agg) = a.aggregator {
        s.push_str(&format!(" aggregator ( {}:{} )", agg.asn, agg.address));
    }
    if !a.communities.is_empty() {
        let c: Vec<String> = a
            .communities
            .iter()
            .map(|c| format!("{}:{}", c.high(), c.low()))
            .collect();
        s.push_str(&format!(" community [ {} ]", c.join(" ")));
    }
    if !a.large_communities.is_empty() {
        let c: Vec<String> = a.large_communities.iter().map(|c| c.to_string()).collect();
        s.push_str(&format!(" large-community [ {} ]", c.join(" ")));
    }
    if !a.extended_communities.is_empty() {
        let c: Vec<String> = a
            .extended_communities
            .iter()
            .map(|c| extended_community_string(*c))
            .collect();
        s.push_str(&format!(" extended-community [ {} ]", c.join(" ")));
    }
    if let Some(o) = a.originator_id {
        s.push_str(&format!(" originator-id {o}"));
    }
    if !a.cluster_list.is_empty() {
        let c: Vec<String> = a.cluster_list.iter().map(|c| c.to_string()).collect();
        s.push_str(&format!(" cluster-list [ {} ]", c.join(" ")));
    }
}
