//! `reload` and `restart` from a program, and SIGHUP: the configuration
//! file read again and applied to the running speaker with
//! [`Speaker::reload`] (the difference only: see `crate::reload`).
//! `restart` also resets every session the change did not already
//! restart. `[[process]]` changes take effect at the next start.

use std::path::Path;

use tracing::{info, warn};

use crate::config::{Config, ConfigError};
use crate::reload::ReloadReport;
use crate::speaker::{NeighborError, Speaker};

/// Why a reload did not happen, or stopped partway.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file has problems: nothing changed.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Applying the difference failed partway: what was applied before
    /// stays.
    #[error("the reload stopped partway: {0}")]
    Apply(#[from] NeighborError),
}

/// Read `path` and apply it; with `reset`, every session that was not
/// restarted by the change is reset too (`restart`). A file with problems
/// changes nothing; the error lists them. A failure while applying it
/// (a neighbor that cannot be added) stops there, and says so.
pub async fn reload(
    speaker: &Speaker,
    path: &Path,
    reset: bool,
) -> Result<ReloadReport, ReloadError> {
    let new = Config::load(path)?;
    if new.processes != speaker.config_snapshot().processes {
        warn!("[[process]] changed: it takes effect when Ribbit is started again");
    }
    let mut report = speaker.reload(&new).await.inspect_err(|e| {
        warn!(error = %e, "configuration reload stopped");
    })?;
    if reset {
        for n in &new.neighbors {
            let untouched =
                !report.added.contains(&n.address) && !report.reset.contains(&n.address);
            if untouched
                && speaker
                    .reset_neighbor(n.address, Some("Ribbit restart".to_string()))
                    .await
                    .is_ok()
            {
                report.reset.push(n.address);
            }
        }
    }
    info!(
        added = ?report.added,
        removed = ?report.removed,
        reset = ?report.reset,
        rerouted = ?report.rerouted,
        "configuration reloaded"
    );
    if !report.needs_restart.is_empty() {
        warn!(settings = ?report.needs_restart, "these [global] settings apply at the next start");
    }
    Ok(report)
}
