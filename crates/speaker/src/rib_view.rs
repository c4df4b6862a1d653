//! The RIB's contents as people and programs see them: routes with their
//! NLRI in text form, and every path of a destination with the reason the
//! best one won (`ribbit rib`).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::Serialize;

use ribbit_rib::{DestinationView, Ineligible, PeerId, Rib, RouteView, Step};
use ribbit_wire::nlri::{Nlri, NlriList};
use ribbit_wire::update::NextHop;
use ribbit_wire::{Family, PathAttributes};

use crate::json;
use crate::peer::ReceivedRoute;

/// The text form of the (first) NLRI of a list: the prefix, the route
/// distinguisher and prefix of a VPN route, or the rule for Flowspec.
pub fn nlri_text(list: &NlriList, family: Family) -> (String, Option<u32>) {
    match list.iter().next() {
        Some(Nlri::Prefix(p)) => (p.prefix.to_string(), p.path_id),
        Some(Nlri::Labeled(l)) => (l.prefix.to_string(), l.path_id),
        Some(Nlri::Vpn(v)) => (format!("{} {}", v.rd, v.prefix), v.path_id),
        Some(Nlri::Flowspec(f)) => (f.exabgp_string(family.afi), f.path_id),
        None => (String::new(), None),
    }
}

/// The attributes as on the wire: for IPv4 unicast with an IPv4 next hop,
/// NEXT_HOP carries it.
fn wire_attributes(family: Family, view: &RouteView) -> PathAttributes {
    let mut a = view.attrs.attributes.clone();
    if let (true, NextHop::V4(nh)) = (family == Family::IPV4_UNICAST, view.attrs.next_hop) {
        a.next_hop = Some(nh);
    }
    a
}

fn received_route(view: &RouteView, attributes: Arc<PathAttributes>) -> ReceivedRoute {
    let (nlri, nlri_path_id) = nlri_text(&view.nlri, view.family);
    ReceivedRoute {
        family: view.family,
        nlri,
        path_id: view.path_id.or(nlri_path_id),
        next_hop: Some(view.attrs.next_hop),
        attributes,
    }
}

/// The routes of a table, family by family ([`received_routes_of`]).
fn received_routes(mut table: impl FnMut(Family) -> Vec<RouteView>) -> Vec<ReceivedRoute> {
    let mut out = Vec::new();
    for family in Family::known() {
        out.extend(received_routes_of(&table(family)));
    }
    out
}

/// Routes of one family with one copy of the attributes per set the RIB
/// shares among them (the views live until the routes are made, so a
/// set's address stands for it).
pub fn received_routes_of(views: &[RouteView]) -> Vec<ReceivedRoute> {
    let mut shared: HashMap<usize, Arc<PathAttributes>> = HashMap::new();
    views
        .iter()
        .map(|v| {
            let a = shared
                .entry(v.attrs.addr())
                .or_insert_with(|| Arc::new(wire_attributes(v.family, v)));
            received_route(v, Arc::clone(a))
        })
        .collect()
}

/// A neighbor's Adj-RIB-In, every family.
pub fn adj_rib_in(rib: &Rib, peer: PeerId, pre_policy: bool) -> Vec<ReceivedRoute> {
    received_routes(|f| rib.adj_rib_in(peer, f, pre_policy))
}

/// A neighbor's Adj-RIB-Out, every family.
pub fn adj_rib_out(rib: &Rib, peer: PeerId) -> Vec<ReceivedRoute> {
    received_routes(|f| rib.adj_rib_out(peer, f))
}

/// One path of a destination.
#[derive(Debug, Clone, Serialize)]
pub struct PathLine {
    /// The neighbor it came from; `None` for our own routes.
    pub peer: Option<IpAddr>,
    /// The ADD-PATH path identifier it was received with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_id: Option<u32>,
    /// Whether it is the best path.
    pub best: bool,
    /// Kept while its neighbor restarts.
    pub stale: bool,
    /// Why it cannot be best, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible: Option<&'static str>,
    /// The next hop.
    pub next_hop: String,
    /// The attributes (Ribbit's JSON form, docs/json.md).
    pub attributes: json::Attributes,
    /// The AS path as text, for people.
    #[serde(skip)]
    pub as_path: String,
}

/// Every path of one destination, the best first, and why it won.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationLine {
    /// The family.
    pub family: String,
    /// The destination in text form.
    pub nlri: String,
    /// The step of the decision process that picked the best path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The paths.
    pub paths: Vec<PathLine>,
}

/// What a decision step means, for people.
pub fn step_text(step: Step) -> &'static str {
    match step {
        Step::OnlyPath => "only path",
        Step::LocalPref => "highest local-preference",
        Step::LocalOrigin => "locally originated",
        Step::AsPathLength => "shortest AS path",
        Step::Origin => "lowest origin",
        Step::Med => "lowest MED",
        Step::External => "eBGP over iBGP",
        Step::IgpCost => "lowest IGP cost",
        Step::Oldest => "oldest eBGP path",
        Step::RouterId => "lowest router ID",
        Step::ClusterList => "shortest cluster list",
        Step::PeerAddress => "lowest neighbor address",
        Step::PathId => "lowest path identifier",
    }
}

fn next_hop_text(nh: NextHop) -> String {
    match nh {
        NextHop::Empty => "-".to_string(),
        NextHop::V4(a) => a.to_string(),
        NextHop::V6 {
            global,
            link_local: None,
        } => global.to_string(),
        NextHop::V6 {
            global,
            link_local: Some(ll),
        } => format!("{global} ({ll})"),
    }
}

fn destination_line(view: &DestinationView, names: &HashMap<PeerId, IpAddr>) -> DestinationLine {
    let nlri = view
        .paths
        .first()
        .map(|p| nlri_text(&p.route.nlri, view.family).0)
        .unwrap_or_default();
    DestinationLine {
        family: view.family.to_string(),
        nlri,
        reason: view.step.map(step_text),
        paths: view
            .paths
            .iter()
            .map(|p| PathLine {
                peer: p.route.peer.and_then(|id| names.get(&id).copied()),
                path_id: p.route.path_id,
                best: p.best,
                stale: p.route.stale || p.llgr_stale,
                ineligible: p.ineligible.map(|i| match i {
                    Ineligible::UnreachableNextHop => "unreachable next hop",
                    Ineligible::FlowspecValidation => "failed Flowspec validation (RFC 8955 §6)",
                }),
                next_hop: next_hop_text(p.route.attrs.next_hop),
                attributes: json::Attributes::new(&p.route.attrs.attributes),
                as_path: p
                    .route
                    .attrs
                    .attributes
                    .as_path
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// Every destination of a family (or those a prefix covers, itself
/// included), each with all its paths.
pub fn paths(
    rib: &Rib,
    names: &HashMap<PeerId, IpAddr>,
    family: Family,
    within: Option<IpNet>,
) -> Vec<DestinationLine> {
    let best: Vec<RouteView> = match within {
        Some(prefix) => rib.more_specifics(family, prefix).collect(),
        None => rib.loc_rib(family).collect(),
    };
    best.iter()
        .filter_map(|r| {
            r.nlri
                .iter()
                .next()
                .and_then(|n| rib.destination(family, n))
        })
        .map(|d| destination_line(&d, names))
        .collect()
}

/// Every path of exactly `prefix`; empty when the table has no such
/// destination.
pub fn destination(
    rib: &Rib,
    names: &HashMap<PeerId, IpAddr>,
    family: Family,
    prefix: IpNet,
) -> Vec<DestinationLine> {
    rib.destination_prefix(family, prefix)
        .map(|d| destination_line(&d, names))
        .into_iter()
        .collect()
}

/// Every path of the most specific destination containing `addr`.
pub fn longest_match(
    rib: &Rib,
    names: &HashMap<PeerId, IpAddr>,
    family: Family,
    addr: IpAddr,
) -> Vec<DestinationLine> {
    rib.longest_match(family, addr)
        .and_then(|r| {
            r.nlri
                .iter()
                .next()
                .and_then(|n| rib.destination(family, n))
        })
        .map(|d| destination_line(&d, names))
        .into_iter()
        .collect()
}

/// Up to `limit` destinations after `after`, in table order.
pub fn page(
    rib: &Rib,
    names: &HashMap<PeerId, IpAddr>,
    family: Family,
    after: Option<IpNet>,
    limit: usize,
) -> Vec<DestinationLine> {
    let after = after.map(|p| ribbit_wire::nlri::PrefixNlri {
        path_id: None,
        prefix: p.trunc(),
    });
    rib.loc_rib_page(family, after.as_ref().map(Nlri::Prefix), limit)
        .iter()
        .filter_map(|r| {
            r.nlri
                .iter()
                .next()
                .and_then(|n| rib.destination(family, n))
        })
        .map(|d| destination_line(&d, names))
        .collect()
}

/// `ribbit rib`'s text: one block per destination, one line per path, the
/// best marked `*>` and the reason it won after the destination.
impl fmt::Display for DestinationLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.nlri)?;
        if let Some(reason) = self.reason {
            write!(f, "  (best: {reason})")?;
        }
        writeln!(f)?;
        for p in &self.paths {
            let mark = match (p.best, p.ineligible) {
                (true, _) => "*>",
                (false, Some(_)) => " x",
                (false, None) => "  ",
            };
            let from = p
                .peer
                .map_or_else(|| "local".to_string(), |a| a.to_string());
            write!(f, "  {mark} from {from}")?;
            if let Some(id) = p.path_id {
                write!(f, " path-id {id}")?;
            }
            write!(f, " next-hop {}", p.next_hop)?;
            let a = &p.attributes;
            if let Some(o) = a.origin {
                write!(f, " origin {o}")?;
            }
            write!(f, " as-path [{}]", p.as_path)?;
            if let Some(med) = a.med {
                write!(f, " med {med}")?;
            }
            if let Some(lp) = a.local_pref {
                write!(f, " local-pref {lp}")?;
            }
            if !a.communities.is_empty() {
                write!(f, " communities {}", a.communities.join(" "))?;
            }
            if !a.extended_communities.is_empty() {
                write!(
                    f,
                    " extended-communities {}",
                    a.extended_communities.join(" ")
                )?;
            }
            if !a.large_communities.is_empty() {
                write!(f, " large-communities {}", a.large_communities.join(" "))?;
            }
            if p.stale {
                f.write_str(" stale")?;
            }
            if let Some(why) = p.ineligible {
                write!(f, " ({why})")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
