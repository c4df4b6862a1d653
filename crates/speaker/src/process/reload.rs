//! `reload` and `restart` from a program: the configuration file read
//! again and applied to the running speaker.
//!
//! A neighbor that is new is added, one that is gone is removed (Cease /
//! Peer De-configured), one whose settings changed is removed and added
//! again (its session restarts); the routing settings (policies, route
//! reflection, ...) of the others are applied in place
//! ([`Speaker::reconfigure_routing`]). `[global]` and `[[process]]` are
//! read but not applied: they need Ribbit to be started again.

use std::net::IpAddr;
use std::path::Path;

use tracing::{info, warn};

use crate::config::{Config, ConfigError, NeighborConfig};
use crate::speaker::Speaker;

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Neighbors added.
    pub added: Vec<IpAddr>,
    /// Neighbors removed.
    pub removed: Vec<IpAddr>,
    /// Neighbors removed and added again with new settings.
    pub replaced: Vec<IpAddr>,
    /// Neighbors whose sessions were reset (`restart`).
    pub reset: Vec<IpAddr>,
    /// What could not be applied.
    pub problems: Vec<String>,
}

/// A neighbor's settings without where they were written.
fn same(a: &NeighborConfig, b: &NeighborConfig) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    a.line = 0;
    b.line = 0;
    for r in a.routes.iter_mut().chain(b.routes.iter_mut()) {
        r.line = 0;
    }
    a == b
}

/// Read `path` and apply it; with `reset`, every session that was not
/// restarted by the change is reset too (`restart`).
pub async fn reload(
    speaker: &Speaker,
    path: &Path,
    reset: bool,
) -> Result<ReloadSummary, ConfigError> {
    let new = Config::load(path)?;
    let old = speaker.config_snapshot();
    let mut s = ReloadSummary::default();
    if new.global != old.global {
        s.problems
            .push("[global] changed: it takes effect when Ribbit is started again".to_string());
    }
    if new.processes != old.processes {
        s.problems
            .push("[[process]] changed: it takes effect when Ribbit is started again".to_string());
    }
    for n in &old.neighbors {
        match new.neighbor(n.address) {
            None => {
                if let Err(e) = speaker.remove_neighbor(n.address).await {
                    s.problems.push(format!("neighbor {}: {e}", n.address));
                } else {
                    s.removed.push(n.address);
                }
            }
            Some(m) if !same(n, m) => {
                let r = match speaker.remove_neighbor(n.address).await {
                    Ok(()) => speaker.add_neighbor_config(m.clone()),
                    Err(e) => Err(e),
                };
                match r {
                    Ok(()) => s.replaced.push(n.address),
                    Err(e) => s.problems.push(format!("neighbor {}: {e}", n.address)),
                }
            }
            Some(_) => {}
        }
    }
    for m in &new.neighbors {
        if old.neighbor(m.address).is_none() {
            match speaker.add_neighbor_config(m.clone()) {
                Ok(()) => s.added.push(m.address),
                Err(e) => s.problems.push(format!("neighbor {}: {e}", m.address)),
            }
        }
    }
    // Policies and the like of the neighbors that stayed as they were.
    speaker.reconfigure_routing(&new).await;
    if reset {
        for n in &new.neighbors {
            let untouched = !s.added.contains(&n.address) && !s.replaced.contains(&n.address);
            if untouched
                && speaker
                    .reset_neighbor(n.address, Some("Ribbit restart".to_string()))
                    .await
                    .is_ok()
            {
                s.reset.push(n.address);
            }
        }
    }
    info!(
        added = ?s.added,
        removed = ?s.removed,
        replaced = ?s.replaced,
        reset = ?s.reset,
        "configuration reloaded"
    );
    for p in &s.problems {
        warn!("reload: {p}");
    }
    Ok(s)
}
