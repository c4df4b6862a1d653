//! The configuration file of `ribbit run --config FILE`: TOML, documented
//! key by key in `docs/config.md`.
//!
//! ```toml
//! [global]
//! asn = 65000
//! router-id = "192.0.2.1"
//! listen = ["127.0.0.1:1179"]
//!
//! [[neighbor]]
//! address = "127.0.0.2"
//! asn = 65001
//!
//! [[neighbor.route]]
//! prefix = "10.0.0.0/24"
//! next-hop = "self"
//! ```
//!
//! [`Config::load`] reads and checks the whole file before anything starts,
//! and reports every problem it finds, each on one line that names the file,
//! the line and the key: `ribbit.toml:12: neighbor 127.0.0.2: hold-time 2 is
//! not allowed (0, or 3 to 65535)`.
//!
//! How it is built: each section has a raw serde struct (every key
//! optional, `deny_unknown_fields`, values kept with their position) and a
//! checked public struct with typed fields and the defaults filled in. The
//! top-level tables are taken apart by hand and each `[global]`,
//! `[[neighbor]]`, `[[route]]`, `[[policy]]` and set table is deserialized
//! on its own, so that one mistake does not hide the others. Sets are read
//! before policies and policies before neighbors, wherever they are in the
//! file, so that names can be checked where they are used. Adding a section (`[[bmp]]`,
//! ...) is a module with its raw and checked structs and a `read`
//! function, one field in [`Config`] and one arm in [`Config::parse`].

mod api;
mod bmp;
mod flow;
mod global;
mod max_prefix;
mod mrt;
mod neighbor;
mod policy;
mod process;
mod report;
mod route;
mod values;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use ribbit_rib::policy::{Policies, PolicyChain};
use ribbit_wire::FamilySet;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use api::{ApiConfig, ApiToken, DEFAULT_API_LISTEN, DEFAULT_API_PORT};
pub use bmp::{
    BmpConfig, Monitoring, DEFAULT_BMP_PORT, DEFAULT_BMP_QUEUE, DEFAULT_RECONNECT_BACKOFF,
    DEFAULT_RECONNECT_BACKOFF_MAX, DEFAULT_STATISTICS_INTERVAL,
};
pub use flow::FlowConfig;
pub use global::{
    default_listen, Global, BGP_PORT, DEFAULT_CONNECT_RETRY, DEFAULT_EVENT_BUFFER,
    DEFAULT_HOLD_TIME,
};
pub use max_prefix::{MaxPrefixAction, MaxPrefixConfig};
pub use mrt::{
    FilePattern, MrtConfig, PatternError, DEFAULT_TABLE_INTERVAL, DEFAULT_UPDATES_INTERVAL,
};
pub use neighbor::{
    AddPathSendConfig, Md5Password, NeighborConfig, DEFAULT_GRACEFUL_RESTART_TIME,
    MAX_ALLOW_OWN_AS, MD5_MAX_LEN,
};
pub use policy::MAX_PREPEND;
pub use process::{
    Encoder, EventKind, NeighborScope, OnExit, Overflow, ProcessConfig, DEFAULT_QUEUE,
    DEFAULT_RESTART_BACKOFF, DEFAULT_RESTART_BACKOFF_MAX,
};
pub use report::{ConfigError, Problem};
pub use ribbit_exabgp::text::NextHopSpec;
pub use route::RouteConfig;

use report::Report;

/// A whole configuration file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[global]`.
    pub global: Global,
    /// The `[[neighbor]]` tables, in file order; addresses are unique.
    pub neighbors: Vec<NeighborConfig>,
    /// The `[[route]]` tables: announced to every neighbor that negotiated
    /// the route's family.
    pub routes: Vec<RouteConfig>,
    /// The `[[flow]]` tables: Flowspec rules announced to every neighbor
    /// that negotiated the rule's family.
    pub flows: Vec<FlowConfig>,
    /// The `[[policy]]` tables, by name, with the named sets they use
    /// resolved.
    pub policies: Policies,
    /// `[api]`: the HTTP API (the defaults when the section is missing).
    pub api: ApiConfig,
    /// The `[[process]]` tables: programs run with the speaker, in file
    /// order; names are unique.
    pub processes: Vec<ProcessConfig>,
    /// `[mrt]`: MRT dumps of received UPDATEs and table snapshots; `None`
    /// when the section is missing.
    pub mrt: Option<MrtConfig>,
    /// The `[[bmp]]` tables: BMP collectors, in file order; each collector
    /// once.
    pub bmp: Vec<BmpConfig>,
}

impl Config {
    /// Read and check a file. Messages name the file as `path` is written.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: name.clone(),
            source,
        })?;
        Config::parse(&text, &name)
    }

    /// Check the text of a configuration file; `name` is the file's name in
    /// messages.
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        let mut r = Report::new(name, text);
        let mut root = match DeTable::parse(text) {
            Ok(root) => root.into_inner(),
            Err(e) => {
                r.syntax(&e);
                return Err(r.into_error());
            }
        };

        // [global] first: neighbors take their defaults from it.
        let global = match root.remove_entry("global") {
            None => global::read(&mut r, None),
            Some((key, value)) => {
                let span = value.span();
                match value.into_inner() {
                    DeValue::Table(t) => {
                        global::read(&mut r, Some((key.span(), Spanned::new(span, t))))
                    }
                    _ => {
                        r.error(&key.span(), "", "global must be a table: [global]");
                        Global::placeholder()
                    }
                }
            }
        };

        let api = match root.remove_entry("api") {
            None => api::read(&mut r, None),
            Some((key, value)) => {
                let span = value.span();
                match value.into_inner() {
                    DeValue::Table(t) => {
                        api::read(&mut r, Some((key.span(), Spanned::new(span, t))))
                    }
                    _ => {
                        r.error(&key.span(), "", "api must be a table: [api]");
                        ApiConfig::default()
                    }
                }
            }
        };

        // Then the sets, which policies name, then the policies, which
        // neighbors name; wherever they are in the file.
        let mut sets = policy::Sets::default();
        for (section, _) in policy::SET_SECTIONS {
            if let Some((key, value)) = root.remove_entry(section) {
                policy::read_sets(&mut r, &mut sets, section, &key.span(), value);
            }
        }
        let mut policies = Policies::new();
        // Every policy name given, also of policies with problems, so that
        // neighbors naming them are not reported as naming nothing.
        let mut policy_names: BTreeMap<String, usize> = BTreeMap::new();
        if let Some((key, value)) = root.remove_entry("policy") {
            for t in r.tables(&key.span(), value, "policy", "") {
                let line = r.line(t.span().start);
                let name = t
                    .get_ref()
                    .get("name")
                    .and_then(|v| v.get_ref().as_str())
                    .map(|n| n.trim().to_string());
                let first = name.as_ref().and_then(|n| policy_names.get(n).copied());
                if let (Some(n), Some(first)) = (&name, first) {
                    r.error_at_line(
                        line,
                        &format!("policy {n}"),
                        format!("name is already that of the policy at line {first}"),
                    );
                } else if let Some(n) = name {
                    policy_names.insert(n, line);
                }
                let read = policy::read_policy(&mut r, &sets, t);
                if let (Some(p), None) = (read, first) {
                    policies.insert(p);
                }
            }
        }

        let mut neighbors = Vec::new();
        let mut routes = Vec::new();
        let mut flows = Vec::new();
        let mut processes = Vec::new();
        let mut mrt = None;
        let mut bmp = Vec::new();
        for (key, value) in root {
            let key_span = key.span();
            match key.get_ref().as_ref() {
                "neighbor" => {
                    for t in r.tables(&key_span, value, "neighbor", "") {
                        neighbors.extend(neighbor::read(&mut r, &global, &policy_names, t));
                    }
                }
                "route" => {
                    for t in r.tables(&key_span, value, "route", "") {
                        routes.extend(route::read(&mut r, "", t));
                    }
                }
                "flow" => {
                    for t in r.tables(&key_span, value, "flow", "") {
                        flows.extend(flow::read(&mut r, "", t));
                    }
                }
                "process" => {
                    for t in r.tables(&key_span, value, "process", "") {
                        processes.extend(process::read(&mut r, t));
                    }
                }
                "mrt" => {
                    let span = value.span();
                    match value.into_inner() {
                        DeValue::Table(t) => {
                            mrt = mrt::read(&mut r, &key_span, Spanned::new(span, t));
                        }
                        _ => r.error(&key_span, "", "mrt must be a table: [mrt]"),
                    }
                }
                "bmp" => {
                    for t in r.tables(&key_span, value, "bmp", "") {
                        bmp.extend(bmp::read(&mut r, t));
                    }
                }
                other => {
                    let mut expected = vec![
                        "global", "neighbor", "route", "flow", "policy", "api", "process", "mrt",
                        "bmp",
                    ];
                    expected.extend(policy::SET_SECTIONS.iter().map(|(s, _)| *s));
                    r.error(&key_span, "", report::unknown_key(other, &expected));
                }
            }
        }

        for (i, n) in neighbors.iter().enumerate() {
            if let Some(first) = neighbors[..i].iter().find(|o| o.address == n.address) {
                r.error_at_line(
                    n.line,
                    &format!("neighbor {}", n.address),
                    format!(
                        "address is already that of the neighbor at line {}",
                        first.line
                    ),
                );
            }
        }
        neighbor::duplicate_routes(&mut r, "", &routes);
        flow::duplicates(&mut r, "", &flows);
        process::check_all(&mut r, &processes, &neighbors);
        bmp::duplicates(&mut r, &bmp);

        r.finish()?;
        Ok(Config {
            global,
            neighbors,
            routes,
            flows,
            policies,
            api,
            processes,
            mrt,
            bmp,
        })
    }

    /// One neighbor given as the body of a `[[neighbor]]` table (its keys,
    /// without the header), checked exactly as in a file, with this
    /// configuration's `[global]` defaults and policies. The library's
    /// neighbor builder and the APIs that add neighbors at run time use it,
    /// so that a neighbor means the same whichever way it arrives. `name`
    /// stands for the file in messages.
    pub fn parse_neighbor(&self, text: &str, name: &str) -> Result<NeighborConfig, ConfigError> {
        let mut r = Report::new(name, text);
        let table = match DeTable::parse(text) {
            Ok(t) => t,
            Err(e) => {
                r.syntax(&e);
                return Err(r.into_error());
            }
        };
        let names: BTreeMap<String, usize> =
            self.policies.iter().map(|p| (p.name.clone(), 0)).collect();
        let n = neighbor::read(&mut r, &self.global, &names, table);
        r.finish()?;
        n.ok_or_else(|| ConfigError::Invalid(Vec::new()))
    }

    /// The import and export policy chains of a neighbor: its `import`
    /// and `export` policies in order, then its `import-default` and
    /// `export-default`. [`Config::load`] has checked that every name is
    /// a policy; a chain that names an unknown policy anyway (a
    /// [`NeighborConfig`] built by hand) rejects every route, so that a
    /// mistake never lets routes through.
    pub fn policy_chains(&self, neighbor: &NeighborConfig) -> (PolicyChain, PolicyChain) {
        let chain = |names: &[String], default| {
            self.policies
                .chain(names, default)
                .unwrap_or_else(|_| PolicyChain::reject_all())
        };
        (
            chain(&neighbor.import, neighbor.import_default),
            chain(&neighbor.export, neighbor.export_default),
        )
    }

    /// The neighbor with this address.
    pub fn neighbor(&self, address: IpAddr) -> Option<&NeighborConfig> {
        self.neighbors.iter().find(|n| n.address == address)
    }

    /// The routes to announce to `neighbor` once the session is up with the
    /// families in `negotiated`: the global routes of those families, then
    /// the neighbor's own. A neighbor's route replaces a global route of the
    /// same prefix and path identifier.
    pub fn routes_for<'a>(
        &'a self,
        neighbor: &'a NeighborConfig,
        negotiated: FamilySet,
    ) -> Vec<&'a RouteConfig> {
        let key = |r: &RouteConfig| (r.prefix, r.path_id.unwrap_or(0));
        let own: Vec<(IpNet, u32)> = neighbor.routes.iter().map(key).collect();
        self.routes
            .iter()
            .filter(|r| !own.contains(&key(r)))
            .chain(neighbor.routes.iter())
            .filter(|r| negotiated.contains(r.family()))
            .collect()
    }

    /// The Flowspec rules to announce to `neighbor` once the session is up
    /// with the families in `negotiated`: the global `[[flow]]` rules of
    /// those families, then the neighbor's own `[[neighbor.flow]]`. A
    /// neighbor's rule replaces a global rule with the same match (family
    /// and NLRI).
    pub fn flows_for<'a>(
        &'a self,
        neighbor: &'a NeighborConfig,
        negotiated: FamilySet,
    ) -> Vec<&'a FlowConfig> {
        let same = |a: &FlowConfig, b: &FlowConfig| {
            a.family() == b.family() && a.rule.nlri() == b.rule.nlri()
        };
        self.flows
            .iter()
            .filter(|g| !neighbor.flows.iter().any(|own| same(g, own)))
            .chain(neighbor.flows.iter())
            .filter(|f| negotiated.contains(f.family()))
            .collect()
    }
}
