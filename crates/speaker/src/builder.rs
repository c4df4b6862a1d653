//! Ribbit as a library: a speaker and its neighbors built in code.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ribbit::{Neighbor, Speaker};
//! use ribbit_wire::Family;
//!
//! let speaker = Speaker::builder()
//!     .asn(65000)
//!     .router_id("192.0.2.1".parse()?)
//!     .listen(["127.0.0.1:1179".parse()?])
//!     .build()?;
//! speaker.add_neighbor(
//!     Neighbor::new("127.0.0.2".parse()?, 65001)
//!         .families([Family::IPV4_UNICAST, Family::IPV4_FLOWSPEC]),
//! )?;
//! let mut events = speaker.subscribe();
//! tokio::spawn(async move {
//!     while let Some(event) = events.next().await {
//!         println!("{event}");
//!     }
//! });
//! speaker.serve().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The builders write the same settings a configuration file holds and
//! have them checked by the same code ([`Config::parse`],
//! [`Config::parse_neighbor`]): a neighbor means the same, with the same
//! defaults and the same error messages, whether it comes from a file, an
//! API or a program. docs/config.md describes every setting.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ribbit_wire::Family;
use toml::{Table, Value};

use crate::config::{Config, ConfigError, NeighborConfig};
use crate::speaker::{NeighborError, Speaker, StartError};

/// Why a speaker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The settings are not valid (the messages say which and why).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The speaker could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// `build` was called outside a tokio runtime.
    #[error("Speaker::build must be called within a tokio runtime (e.g. in #[tokio::main])")]
    NoRuntime,
}

/// Settings of a [`Speaker`] under construction; [`Speaker::builder`].
#[derive(Debug, Clone, Default)]
pub struct SpeakerBuilder {
    global: Table,
    neighbors: Vec<Neighbor>,
}

fn int(v: impl Into<i64>) -> Value {
    Value::Integer(v.into())
}

fn text(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

impl SpeakerBuilder {
    /// Our AS (`asn`).
    pub fn asn(mut self, asn: u32) -> Self {
        self.global.insert("asn".into(), int(asn));
        self
    }

    /// Our BGP identifier (`router-id`).
    pub fn router_id(mut self, id: Ipv4Addr) -> Self {
        self.global.insert("router-id".into(), text(id));
        self
    }

    /// Where to listen for neighbors (`listen`); default `0.0.0.0:179` and
    /// `[::]:179`. An empty list: never listen, only connect.
    pub fn listen(mut self, addrs: impl IntoIterator<Item = SocketAddr>) -> Self {
        let v = addrs.into_iter().map(text).collect();
        self.global.insert("listen".into(), Value::Array(v));
        self
    }

    /// The hold time neighbors propose unless they say otherwise.
    pub fn hold_time(mut self, seconds: u16) -> Self {
        self.global.insert("hold-time".into(), int(seconds));
        self
    }

    /// The CLUSTER_ID of route reflection (`cluster-id`).
    pub fn cluster_id(mut self, id: Ipv4Addr) -> Self {
        self.global.insert("cluster-id".into(), text(id));
        self
    }

    /// Any other `[global]` setting, by its name in the configuration file.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.global.insert(key.into(), value.into());
        self
    }

    /// A neighbor to start with (more can be added while running).
    pub fn neighbor(mut self, n: Neighbor) -> Self {
        self.neighbors.push(n);
        self
    }

    /// The configuration these settings make, checked.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut root = Table::new();
        root.insert("global".into(), Value::Table(self.global.clone()));
        if !self.neighbors.is_empty() {
            let tables = self
                .neighbors
                .iter()
                .map(|n| Value::Table(n.table.clone()))
                .collect();
            root.insert("neighbor".into(), Value::Array(tables));
        }
        Config::parse(&root.to_string(), "Speaker::builder")
    }

    /// Start the speaker: bind its listeners and start its neighbors' tasks
    /// on the current tokio runtime. Sessions come up in the background;
    /// [`Speaker::serve`] waits until the speaker is stopped.
    pub fn build(self) -> Result<Speaker, BuildError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BuildError::NoRuntime);
        }
        let config = self.config()?;
        Ok(Speaker::launch(&config)?)
    }
}

/// A neighbor under construction: [`Neighbor::new`], then its settings,
/// then [`Speaker::add_neighbor`] or [`SpeakerBuilder::neighbor`].
#[derive(Debug, Clone)]
pub struct Neighbor {
    table: Table,
}

impl Neighbor {
    /// The neighbor at `address` in AS `asn`, with the defaults of
    /// docs/config.md (IPv4 and IPv6 unicast, active, port 179...).
    pub fn new(address: IpAddr, asn: u32) -> Neighbor {
        let mut table = Table::new();
        table.insert("address".into(), text(address));
        table.insert("asn".into(), int(asn));
        Neighbor { table }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.table.insert(key.into(), value);
        self
    }

    /// The families to offer (`families`).
    pub fn families(self, families: impl IntoIterator<Item = Family>) -> Self {
        let v = families.into_iter().map(text).collect();
        self.with("families", Value::Array(v))
    }

    /// The peer's TCP port (`port`).
    pub fn port(self, port: u16) -> Self {
        self.with("port", int(port))
    }

    /// Our address on the session (`local-address`).
    pub fn local_address(self, addr: IpAddr) -> Self {
        self.with("local-address", text(addr))
    }

    /// Our AS on this session (`local-asn`).
    pub fn local_asn(self, asn: u32) -> Self {
        self.with("local-asn", int(asn))
    }

    /// Wait for the peer to connect (`passive`).
    pub fn passive(self, passive: bool) -> Self {
        self.with("passive", Value::Boolean(passive))
    }

    /// Start the session or not (`enabled`).
    pub fn enabled(self, enabled: bool) -> Self {
        self.with("enabled", Value::Boolean(enabled))
    }

    /// The hold time to propose (`hold-time`).
    pub fn hold_time(self, seconds: u16) -> Self {
        self.with("hold-time", int(seconds))
    }

    /// The base of the connect-retry back-off (`connect-retry`, whole seconds).
    pub fn connect_retry(self, every: Duration) -> Self {
        let secs = i64::try_from(every.as_secs()).unwrap_or(i64::MAX);
        self.with("connect-retry", int(secs))
    }

    /// The TCP-MD5 key (`md5-password`, RFC 2385).
    pub fn md5_password(self, key: &str) -> Self {
        self.with("md5-password", text(key))
    }

    /// Free text (`description`).
    pub fn description(self, description: &str) -> Self {
        self.with("description", text(description))
    }

    /// A route-reflector client (`route-reflector-client`, iBGP).
    pub fn route_reflector_client(self, yes: bool) -> Self {
        self.with("route-reflector-client", Value::Boolean(yes))
    }

    /// A route-server client (`route-server-client`, eBGP).
    pub fn route_server_client(self, yes: bool) -> Self {
        self.with("route-server-client", Value::Boolean(yes))
    }

    /// Import policies by name (`import`).
    pub fn import<S: ToString>(self, policies: impl IntoIterator<Item = S>) -> Self {
        let v = policies.into_iter().map(text).collect();
        self.with("import", Value::Array(v))
    }

    /// Export policies by name (`export`).
    pub fn export<S: ToString>(self, policies: impl IntoIterator<Item = S>) -> Self {
        let v = policies.into_iter().map(text).collect();
        self.with("export", Value::Array(v))
    }

    /// Any other `[[neighbor]]` setting, by its name in the configuration file.
    pub fn set(self, key: &str, value: impl Into<Value>) -> Self {
        self.with(key, value.into())
    }

    /// The neighbor's settings, checked against `config`'s defaults and
    /// policies.
    pub fn config(&self, config: &Config) -> Result<NeighborConfig, ConfigError> {
        let name = format!(
            "neighbor {}",
            self.table
                .get("address")
                .and_then(Value::as_str)
                .unwrap_or("?")
        );
        config.parse_neighbor(&self.table.to_string(), &name)
    }
}

impl Speaker {
    /// Settings for a speaker built in code.
    pub fn builder() -> SpeakerBuilder {
        SpeakerBuilder::default()
    }

    /// Add a neighbor while the speaker runs; it starts at once unless
    /// disabled. Its settings are checked as the configuration file's are.
    pub fn add_neighbor(&self, neighbor: Neighbor) -> Result<(), NeighborError> {
        let config = neighbor
            .config(&self.config_snapshot())
            .map_err(NeighborError::Invalid)?;
        self.add_neighbor_config(config)
    }
}

/// Why a route or Flowspec rule given to the library was not announced.
#[derive(Debug, thiserror::Error)]
pub enum LibraryRouteError {
    /// The Flowspec rule is not valid.
    #[error(transparent)]
    Flow(#[from] crate::route::FlowError),
    /// The route is not valid.
    #[error(transparent)]
    Route(#[from] crate::route::RouteError),
    /// The speaker could not take it.
    #[error(transparent)]
    Announce(#[from] crate::announce::AnnounceError),
}

impl Speaker {
    /// Announce a Flowspec rule to every neighbor configured for its family
    /// (now, and whenever their sessions come up): the builder's rule as
    /// it is ([`crate::route::Flow`]), or a checked [`crate::route::FlowRule`].
    /// Returns once the RIB task has it; the count of neighbors reached is
    /// [`Speaker::announce`]'s business.
    pub fn announce_flow(
        &self,
        rule: impl crate::route::IntoFlowRule,
    ) -> Result<(), LibraryRouteError> {
        let a = rule.into_flow_rule()?.announcement();
        self.inject_now(&a, true)
    }

    /// Withdraw a Flowspec rule announced with [`Speaker::announce_flow`].
    pub fn withdraw_flow(
        &self,
        rule: impl crate::route::IntoFlowRule,
    ) -> Result<(), LibraryRouteError> {
        let a = rule.into_flow_rule()?.announcement();
        self.inject_now(&a, false)
    }

    /// Announce a route ([`crate::route::Route`]) to every neighbor
    /// configured for its family.
    pub fn announce_route(&self, route: crate::route::Route) -> Result<(), LibraryRouteError> {
        let a = route.build()?;
        self.inject_now(&a, true)
    }

    /// Withdraw a route announced with [`Speaker::announce_route`].
    pub fn withdraw_route(&self, route: crate::route::Route) -> Result<(), LibraryRouteError> {
        let a = route.build()?;
        self.inject_now(&a, false)
    }

    /// Hand an announcement or its withdrawal to the RIB task without
    /// waiting for its answer (the library's calls are not async).
    fn inject_now(
        &self,
        a: &ribbit_exabgp::text::Announcement,
        announce: bool,
    ) -> Result<(), LibraryRouteError> {
        use crate::announce::AnnounceError;
        use crate::rib_task::RibControl;
        let peers = self.targets(&[], a.family)?;
        let control = if announce {
            RibControl::Inject {
                peers,
                routes: vec![crate::announce::injection(a)?],
                reply: None,
            }
        } else {
            RibControl::Retract {
                peers,
                routes: vec![(a.family, a.nlri.clone())],
                reply: None,
            }
        };
        self.rib
            .control
            .send(control)
            .map_err(|_| AnnounceError::Stopped)?;
        Ok(())
    }
}
