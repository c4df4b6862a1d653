//! `ribbit demo`: the main job on an embedded default, with no set-up.
//!
//! Two speakers run in this process on loopback: `alpha` (AS 65000)
//! announces unicast routes and a Flowspec rule from its configuration,
//! `beta` (AS 65001), built with the library's builders, receives them. The
//! demo prints beta's view of each UPDATE as it arrives, then beta's RIB
//! with every path and why the best one won, then stops both speakers.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokio::time::{timeout_at, Instant};

use ribbit_wire::nlri::NlriList;
use ribbit_wire::update::MpNlri;
use ribbit_wire::{Family, PathAttributes, Update};

use crate::builder::{BuildError, Neighbor};
use crate::config::{Config, ConfigError};
use crate::peer::PeerEvent;
use crate::rib_view::nlri_text;
use crate::speaker::{NeighborError, StartError};
use crate::Speaker;

/// `ribbit demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The loopback port alpha listens on (beta connects to it).
    #[arg(long, default_value_t = 17179)]
    pub port: u16,
    /// Give up when the session is not up and the routes are not in after
    /// this many seconds.
    #[arg(long, default_value_t = 15)]
    pub timeout: u64,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded configuration did not load (a bug).
    #[error("the demo's configuration: {0}")]
    Config(#[from] ConfigError),
    /// A speaker did not start (the port may be taken: try --port).
    #[error("a speaker did not start: {0}")]
    Start(#[from] StartError),
    /// Beta could not be built.
    #[error("beta: {0}")]
    Build(#[from] BuildError),
    /// Beta's neighbor could not be added.
    #[error("beta: {0}")]
    Neighbor(#[from] NeighborError),
    /// The runtime could not be created.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// Nothing or not everything arrived in time.
    #[error("{0}")]
    Timeout(String),
}

const ALPHA: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const BETA: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Alpha: AS 65000, what it announces to every neighbor. The Flowspec rule
/// is the one of the issue that asked for this demo.
fn alpha_config(port: u16) -> String {
    format!(
        r#"
[global]
asn = 65000
router-id = "{ALPHA}"
listen = ["{ALPHA}:{port}"]

[[neighbor]]
address = "{BETA}"
asn = 65001
passive = true
families = ["ipv4-unicast", "ipv6-unicast", "ipv4-flowspec"]
description = "beta"

[[route]]
prefix = "10.0.0.0/24"
next-hop = "self"
communities = ["65000:100"]

[[route]]
prefix = "10.0.1.0/24"
next-hop = "self"
as-path = [64512]
med = 20

[[route]]
prefix = "2001:db8:1::/48"
next-hop = "2001:db8::1"
large-communities = ["65000:1:1"]

[[flow]]
match = {{ destination = "10.0.0.0/24", protocol = ["=udp"], source-port = ["=53"] }}
then = {{ discard = true, community = ["100:100"] }}
"#
    )
}

/// Run `ribbit demo`.
pub fn run(args: &DemoArgs) -> Result<ExitCode, DemoError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DemoError::Runtime)?;
    runtime.block_on(demo(args))
}

async fn demo(args: &DemoArgs) -> Result<ExitCode, DemoError> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let alpha = Speaker::start(&Config::parse(&alpha_config(args.port), "demo/alpha")?).await?;
    println!(
        "alpha  AS 65000  {ALPHA}:{}  announces 2 IPv4 routes, 1 IPv6 route and a Flowspec rule",
        args.port
    );

    // Beta is built in code, as a program embedding Ribbit would.
    let beta = Speaker::builder()
        .asn(65001)
        .router_id(BETA)
        .listen([])
        .build()?;
    let mut events = beta.subscribe();
    beta.add_neighbor(
        Neighbor::new(IpAddr::V4(ALPHA), 65000)
            .port(args.port)
            .local_address(IpAddr::V4(BETA))
            .families([
                Family::IPV4_UNICAST,
                Family::IPV6_UNICAST,
                Family::IPV4_FLOWSPEC,
            ])
            .connect_retry(Duration::from_secs(1)),
    )?;
    println!("beta   AS 65001  {BETA}       connects to alpha\n");

    // Every family's End-of-RIB marks the end of alpha's table.
    let mut announced = 0usize;
    let mut pending: Vec<Family> = vec![
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        Family::IPV4_FLOWSPEC,
    ];
    while !pending.is_empty() {
        let event = match timeout_at(deadline, events.next()).await {
            Ok(Some(e)) => e,
            Ok(None) => return Err(DemoError::Timeout("beta stopped".into())),
            Err(_) => {
                return Err(DemoError::Timeout(format!(
                    "no End-of-RIB for {} from alpha within {} s",
                    pending
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    args.timeout
                )))
            }
        };
        match &event {
            PeerEvent::State { peer, from, to } => println!("{peer}: {from} -> {to}"),
            PeerEvent::Update { peer, update } => {
                if let Some(f) = update.end_of_rib_family() {
                    println!("{peer}: End-of-RIB {f}");
                    pending.retain(|p| *p != f);
                } else {
                    for line in update_lines(update) {
                        announced += usize::from(line.starts_with('+'));
                        println!("{peer}: {line}");
                    }
                }
            }
            other => println!("{other}"),
        }
    }

    // The events go out as UPDATEs arrive; the RIB task applies them a
    // moment later. Wait until it holds every route before showing it.
    loop {
        let held: usize = match beta.rib_stats().await {
            Some(stats) => stats.families.iter().map(|f| f.destinations).sum(),
            None => 0,
        };
        if held >= announced {
            break;
        }
        if Instant::now() >= deadline {
            return Err(DemoError::Timeout(format!(
                "beta's RIB holds {held} of the {announced} routes received"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for family in [
        Family::IPV4_UNICAST,
        Family::IPV6_UNICAST,
        Family::IPV4_FLOWSPEC,
    ] {
        println!("\nbeta's RIB, {family}:");
        for line in beta.paths(family, None).await.unwrap_or_default() {
            print!("{line}");
        }
    }
    beta.stop(None).await;
    alpha.shutdown(None).await;
    Ok(ExitCode::SUCCESS)
}

/// One readable line per route an UPDATE announces or withdraws.
fn update_lines(update: &Update) -> Vec<String> {
    let attrs = describe(&update.attributes);
    let mut lines = Vec::new();
    for n in &update.announced {
        let nh = update
            .attributes
            .next_hop
            .map_or_else(String::new, |a| format!(" next-hop {a}"));
        lines.push(format!("+ {}{nh}{attrs}", n.prefix));
    }
    for n in &update.withdrawn {
        lines.push(format!("- {}", n.prefix));
    }
    if let Some(r) = &update.mp_reach {
        if let MpNlri::Decoded(list) = &r.nlri {
            for one in single(list) {
                let (text, _) = nlri_text(&one, r.family);
                let nh = match r.next_hop {
                    ribbit_wire::NextHop::Empty => String::new(),
                    ribbit_wire::NextHop::V4(a) => format!(" next-hop {a}"),
                    ribbit_wire::NextHop::V6 { global, .. } => format!(" next-hop {global}"),
                };
                lines.push(format!("+ {text}{nh}{attrs}"));
            }
        }
    }
    if let Some(u) = &update.mp_unreach {
        if let MpNlri::Decoded(list) = &u.nlri {
            for one in single(list) {
                let (text, _) = nlri_text(&one, u.family);
                lines.push(format!("- {text}"));
            }
        }
    }
    lines
}

/// Each NLRI of a list as a list of its own.
fn single(list: &NlriList) -> Vec<NlriList> {
    match list {
        NlriList::Prefixes(v) => v.iter().map(|n| NlriList::Prefixes(vec![*n])).collect(),
        NlriList::Labeled(v) => v
            .iter()
            .map(|n| NlriList::Labeled(vec![n.clone()]))
            .collect(),
        NlriList::Vpn(v) => v.iter().map(|n| NlriList::Vpn(vec![n.clone()])).collect(),
        NlriList::Flowspec(v) => v
            .iter()
            .map(|n| NlriList::Flowspec(vec![n.clone()]))
            .collect(),
    }
}

/// The attributes people look at, in the order of a `show route`.
fn describe(a: &PathAttributes) -> String {
    let mut s = String::new();
    if let Some(p) = &a.as_path {
        s.push_str(&format!(" as-path [{p}]"));
    }
    if let Some(o) = a.origin {
        s.push_str(&format!(" origin {}", o.name()));
    }
    if let Some(m) = a.med {
        s.push_str(&format!(" med {m}"));
    }
    if let Some(lp) = a.local_pref {
        s.push_str(&format!(" local-pref {lp}"));
    }
    let join = |v: Vec<String>| v.join(" ");
    if !a.communities.is_empty() {
        let v = a.communities.iter().map(ToString::to_string).collect();
        s.push_str(&format!(" communities {}", join(v)));
    }
    if !a.extended_communities.is_empty() {
        let v = a
            .extended_communities
            .iter()
            .map(ToString::to_string)
            .collect();
        s.push_str(&format!(" extended-communities {}", join(v)));
    }
    if !a.large_communities.is_empty() {
        let v = a
            .large_communities
            .iter()
            .map(ToString::to_string)
            .collect();
        s.push_str(&format!(" large-communities {}", join(v)));
    }
    s
}
