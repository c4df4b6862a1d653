//! Applying a changed configuration to a running speaker: the difference
//! only. New neighbors come up, removed ones go down, changed policies and
//! routing settings are evaluated again without touching sessions, changed
//! static routes are announced and withdrawn, and only a neighbor whose
//! session settings changed (AS, port, families, timers, keys...) has its
//! session reset.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::announce::static_routes;
use crate::config::{Config, NeighborConfig};
use crate::rib_task::RibControl;
use crate::speaker::NeighborError;
use crate::Speaker;

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Neighbors added and started.
    pub added: Vec<IpAddr>,
    /// Neighbors removed (Cease / Peer De-configured).
    pub removed: Vec<IpAddr>,
    /// Neighbors whose session settings changed: their session was reset.
    pub reset: Vec<IpAddr>,
    /// Neighbors whose routing settings, policies or static routes changed,
    /// applied without touching their session.
    pub rerouted: Vec<IpAddr>,
    /// `[global]` settings (and `[mrt]`) that only apply at the next start.
    pub needs_restart: Vec<&'static str>,
}

/// The settings of a neighbor that its session depends on: everything but
/// what the RIB applies (policies, route reflection, next hop, limits,
/// routes) and what is only for people.
fn session_part(n: &NeighborConfig) -> NeighborConfig {
    let mut s = n.clone();
    s.description = None;
    s.line = 0;
    s.routes.clear();
    s.flows.clear();
    s.import.clear();
    s.export.clear();
    s.import_default = Default::default();
    s.export_default = Default::default();
    s.route_reflector_client = false;
    s.route_server_client = false;
    s.next_hop_self = false;
    s.next_hop_unchanged = false;
    s.send_med = false;
    s.allow_own_as = 0;
    s.keep_adj_rib_in = false;
    s.flowspec_validation = false;
    s.max_prefix.clear();
    s.add_path_send = Default::default();
    s
}

impl Speaker {
    /// Apply `new` to the running speaker (SIGHUP, the process API's
    /// `reload`): see the module documentation. `[global]` settings that
    /// shape every session (AS, router ID, listening addresses) and the
    /// RIB's own options are reported in [`ReloadReport::needs_restart`]
    /// and not applied.
    pub async fn reload(&self, new: &Config) -> Result<ReloadReport, NeighborError> {
        let old = self.config_snapshot();
        let mut report = ReloadReport::default();
        let (g, h) = (&old.global, &new.global);
        for (changed, key) in [
            (g.asn != h.asn, "asn"),
            (g.router_id != h.router_id, "router-id"),
            (g.listen != h.listen, "listen"),
            (g.cluster_id != h.cluster_id, "cluster-id"),
            (
                g.always_compare_med != h.always_compare_med,
                "always-compare-med",
            ),
            (g.prefer_oldest != h.prefer_oldest, "prefer-oldest"),
            (g.blackhole != h.blackhole, "blackhole"),
            (g.event_buffer != h.event_buffer, "event-buffer"),
            (old.mrt != new.mrt, "mrt"),
        ] {
            if changed {
                report.needs_restart.push(key);
            }
        }
        // What later additions take their defaults and policies from.
        self.replace_config(new);

        let wanted: HashSet<IpAddr> = new.neighbors.iter().map(|n| n.address).collect();
        for n in &old.neighbors {
            if !wanted.contains(&n.address) {
                self.remove_neighbor(n.address).await?;
                report.removed.push(n.address);
            }
        }
        for n in &new.neighbors {
            match old.neighbors.iter().find(|o| o.address == n.address) {
                None => {
                    self.add_neighbor_config(n.clone())?;
                    report.added.push(n.address);
                }
                Some(o) if session_part(o) != session_part(n) => {
                    self.remove_neighbor(n.address).await?;
                    self.add_neighbor_config(n.clone())?;
                    report.reset.push(n.address);
                }
                Some(o) => {
                    let routes_changed = static_routes(&old, o) != static_routes(new, n);
                    if routes_changed {
                        self.replace_static_routes(&old, o, new, n);
                    }
                    // Policies have no equality; their Debug text shows every rule.
                    let policies_changed =
                        format!("{:?}", old.policies) != format!("{:?}", new.policies);
                    if routes_changed || o != n || policies_changed {
                        report.rerouted.push(n.address);
                    }
                    self.update_neighbor_config(n.clone());
                }
            }
        }
        // Policies and routing settings: the RIB evaluates again what
        // changed (import from the pre-policy copy or by ROUTE-REFRESH,
        // export by difference).
        self.reconfigure_routing(new).await;
        Ok(report)
    }

    /// Withdraw a neighbor's old static routes that are gone and announce
    /// the new ones (an unchanged route is replaced by itself: nothing is
    /// sent).
    fn replace_static_routes(
        &self,
        old: &Config,
        o: &NeighborConfig,
        new: &Config,
        n: &NeighborConfig,
    ) {
        let Some(id) = self.id(n.address) else {
            return;
        };
        let before = static_routes(old, o);
        let after = static_routes(new, n);
        let gone: Vec<_> = before
            .iter()
            .filter(|b| {
                !after
                    .iter()
                    .any(|a| a.family == b.family && a.nlri == b.nlri)
            })
            .map(|b| (b.family, b.nlri.clone()))
            .collect();
        if !gone.is_empty() {
            let _ = self.rib.control.send(RibControl::Retract {
                peers: vec![id],
                routes: gone,
                reply: None,
            });
        }
        if !after.is_empty() {
            let _ = self.rib.control.send(RibControl::Inject {
                peers: vec![id],
                routes: after,
                reply: None,
            });
        }
    }
}
