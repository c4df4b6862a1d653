//! Interop with GoBGP (`gobgpd` and `gobgp` from Debian's `gobgpd` package),
//! started by the test on loopback; Ribbit runs in-process.
//!
//! What each test covers:
//! - `gobgp_ebgp_ribbit_connects`: eBGP; GoBGP is passive and Ribbit connects.
//! - `gobgp_ibgp_gobgp_connects`: iBGP; Ribbit is passive and GoBGP connects
//!   (after its random first wait of 5 to 10 s).
//!
//! Both check: the session reaches Established; Ribbit receives GoBGP's IPv4
//! and IPv6 routes with their next hop, AS path, MED, LOCAL_PREF (iBGP) and
//! communities; GoBGP receives Ribbit's (`gobgp neighbor X adj-in`); Ribbit's
//! ROUTE-REFRESH reaches GoBGP (its counter) and GoBGP sends its routes
//! again; Ribbit's shutdown sends Cease / Administrative Shutdown with its
//! message, which GoBGP logs.
//!
//! Not covered: GoBGP asking Ribbit for a refresh. `gobgp neighbor X
//! softresetin` re-applies the import policy to GoBGP's own Adj-RIB-In and
//! sends no ROUTE-REFRESH; the other daemons' tests cover that direction.

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{
    eventually, expect_cease, expect_peer_route, find_binary, run_cli, Daemon, Lab, Ribbit,
    RibbitSide, SeenRoute, Steps, PROPAGATE,
};

/// A running gobgpd and its command line client.
struct GoBgp {
    daemon: Daemon,
    cli: PathBuf,
    host: String,
    port: String,
    dir: PathBuf,
}

/// GoBGP's side of a test.
struct GoBgpSide {
    asn: u32,
    address: &'static str,
    port: u16,
    api_port: u16,
    /// Ribbit.
    neighbor: &'static str,
    neighbor_asn: u32,
    neighbor_port: u16,
    passive: bool,
}

impl GoBgpSide {
    fn config(&self) -> String {
        // Without `local-address-list` GoBGP listens on all addresses (trap G5).
        let transport = if self.passive {
            "passive-mode = true".to_string()
        } else {
            format!("remote-port = {}", self.neighbor_port)
        };
        format!(
            r#"
[global.config]
  as = {asn}
  router-id = "{address}"
  port = {port}
  local-address-list = ["{address}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{neighbor}"
    peer-as = {neighbor_asn}
  [neighbors.transport.config]
    local-address = "{address}"
    {transport}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#,
            asn = self.asn,
            address = self.address,
            port = self.port,
            neighbor = self.neighbor,
            neighbor_asn = self.neighbor_asn,
        )
    }
}

impl GoBgp {
    /// Start gobgpd and wait until its API answers.
    async fn start(lab: &Lab, side: &GoBgpSide) -> GoBgp {
        let gobgpd = find_binary("gobgpd", "gobgpd");
        let cli = find_binary("gobgp", "gobgpd");
        lab.write("gobgpd.toml", &side.config());
        let api = format!("{}:{}", side.address, side.api_port);
        let mut command = std::process::Command::new(gobgpd);
        // -p: log to stdout (gobgpd.out); no pprof listener (trap G5).
        command.args([
            "-f",
            "gobgpd.toml",
            "-p",
            "--pprof-disable",
            "--api-hosts",
            &api,
        ]);
        let daemon = Daemon::spawn("gobgpd", lab, command, &[]);
        let gobgp = GoBgp {
            daemon,
            cli,
            host: side.address.to_string(),
            port: side.api_port.to_string(),
            dir: lab.dir().to_path_buf(),
        };
        eventually("gobgpd's API to answer", PROPAGATE, || async {
            gobgp.daemon.check_running()?;
            gobgp.run(&["global"]).await
        })
        .await;
        gobgp
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-u", &self.host, "-p", &self.port];
        all.extend_from_slice(args);
        run_cli(&self.cli, &all, &self.dir).await
    }

    async fn json(&self, args: &[&str]) -> Result<Value, String> {
        let text = self.run(args).await?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// GoBGP's view of the session (`gobgp neighbor X -j`).
    async fn neighbor(&self, address: &str) -> Result<Value, String> {
        self.json(&["neighbor", address, "-j"]).await
    }

    async fn wait_established(&self, address: &str) {
        eventually(
            "GoBGP to show the session Established",
            PROPAGATE,
            || async {
                let n = self.neighbor(address).await?;
                // In GoBGP 3 the state is a number; 6 is Established.
                match n["state"]["session_state"].as_u64() {
                    Some(6) => Ok(()),
                    other => Err(format!("session_state {other:?}")),
                }
            },
        )
        .await;
    }

    /// How many messages of `kind` GoBGP received from the neighbor.
    async fn received(&self, address: &str, kind: &str) -> Result<u64, String> {
        let n = self.neighbor(address).await?;
        Ok(n["state"]["messages"]["received"][kind]
            .as_u64()
            .unwrap_or(0))
    }

    /// What the neighbor sent, as GoBGP keeps it (`adj-in`), both families.
    async fn adj_in(&self, address: &str) -> Result<Vec<SeenRoute>, String> {
        let mut out = Vec::new();
        for family in ["ipv4", "ipv6"] {
            let v = self
                .json(&["neighbor", address, "adj-in", "-a", family, "-j"])
                .await?;
            let Some(map) = v.as_object() else {
                return Err(format!("adj-in -a {family}: not an object: {v}"));
            };
            for paths in map.values() {
                for path in paths.as_array().into_iter().flatten() {
                    out.push(seen_route(path));
                }
            }
        }
        Ok(out)
    }
}

/// A GoBGP path in JSON: `attrs` is a list of attributes by type code.
fn seen_route(path: &Value) -> SeenRoute {
    let mut r = SeenRoute {
        prefix: path["nlri"]["prefix"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ..SeenRoute::default()
    };
    let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    for attr in path["attrs"].as_array().into_iter().flatten() {
        match attr["type"].as_u64() {
            Some(2) => {
                for seg in attr["as_paths"].as_array().into_iter().flatten() {
                    r.as_path.extend(
                        seg["asns"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(number),
                    );
                }
            }
            // NEXT_HOP, or MP_REACH_NLRI's next hop.
            Some(3) | Some(14) => {
                r.next_hop = attr["nexthop"].as_str().unwrap_or_default().to_string();
            }
            Some(4) => r.med = number(&attr["metric"]),
            Some(5) => r.local_pref = number(&attr["value"]),
            Some(8) => {
                for c in attr["communities"].as_array().into_iter().flatten() {
                    if let Some(c) = number(c) {
                        r.communities.push(format!("{}:{}", c >> 16, c & 0xffff));
                    }
                }
            }
            Some(32) => {
                for c in attr["value"].as_array().into_iter().flatten() {
                    r.large_communities.push(format!(
                        "{}:{}:{}",
                        c["ASN"], c["LocalData1"], c["LocalData2"]
                    ));
                }
            }
            _ => {}
        }
    }
    r
}

/// Everything both tests check once Ribbit and GoBGP run.
async fn exchange(
    gobgp: &GoBgp,
    ribbit: &mut Ribbit,
    from_gobgp: [SeenRoute; 2],
    mut steps: Steps,
) {
    ribbit.wait_established().await;
    steps.done("Ribbit Established");
    let ribbit_addr = ribbit.side.address.to_string();
    gobgp.wait_established(&ribbit_addr).await;
    steps.done("GoBGP Established");

    // GoBGP's routes, with their attributes, in Ribbit's Adj-RIB-In.
    ribbit.wait_routes(&from_gobgp).await;
    steps.done("GoBGP's routes in Ribbit");

    // Ribbit's routes in GoBGP's Adj-RIB-In for Ribbit.
    for expected in ribbit.side.expected_at_peer() {
        eventually(
            format!("GoBGP to receive {expected}"),
            PROPAGATE,
            || async { expect_peer_route(&gobgp.adj_in(&ribbit_addr).await?, &expected) },
        )
        .await;
    }
    steps.done("Ribbit's routes in GoBGP");

    // Route refresh asked by Ribbit: GoBGP counts the ROUTE-REFRESH messages
    // and sends its routes of each family again.
    let before = gobgp.received(&ribbit_addr, "refresh").await.unwrap_or(0);
    ribbit.refresh_from_peer(&from_gobgp).await;
    eventually(
        "GoBGP to count Ribbit's two ROUTE-REFRESH",
        PROPAGATE,
        || async {
            let now = gobgp.received(&ribbit_addr, "refresh").await?;
            if now >= before + 2 {
                Ok(())
            } else {
                Err(format!("{now} received (before: {before})"))
            }
        },
    )
    .await;
    // The refresh did not disturb the session or the routes.
    ribbit.wait_routes(&from_gobgp).await;
    steps.done("route refresh asked by Ribbit");

    // A clean shutdown: Cease / Administrative Shutdown with our message.
    let sent = ribbit.shutdown(Some("maintenance")).await;
    expect_cease(&sent, Some("maintenance"));
    eventually(
        "GoBGP to log the Cease and its message",
        PROPAGATE,
        || async {
            let log = gobgp.daemon.log_text();
            let line = log
                .lines()
                .find(|l| l.contains("received notification") && l.contains(&ribbit_addr));
            match line {
                Some(l)
                    if l.contains("Code=6")
                        && l.contains("Subcode=2")
                        // logrus quotes a value only when it needs to.
                        && (l.contains("Communicated-Reason=maintenance ")
                            || l.contains("Communicated-Reason=\"maintenance\"")) =>
                {
                    Ok(())
                }
                Some(l) => Err(l.to_string()),
                None => Err("no \"received notification\" line".to_string()),
            }
        },
    )
    .await;
    eventually("GoBGP to show the session down", PROPAGATE, || async {
        let n = gobgp.neighbor(&ribbit_addr).await?;
        match n["state"]["session_state"].as_u64() {
            Some(6) => Err("still Established".to_string()),
            _ => Ok(()),
        }
    })
    .await;
    steps.done("Cease seen by GoBGP");
}

/// eBGP; GoBGP passive, Ribbit connects. GoBGP sends its routes with itself
/// as next hop: its address for IPv4, and the IPv4-mapped form of it for
/// IPv6 over this IPv4 session (trap G2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_ebgp_ribbit_connects() {
    let lab = Lab::new("gobgp-ebgp");
    let steps = Steps::new("gobgp_ebgp_ribbit_connects");
    let side = GoBgpSide {
        asn: 65101,
        address: "127.0.8.1",
        port: 11801,
        api_port: 11802,
        neighbor: "127.0.8.2",
        neighbor_asn: 65100,
        neighbor_port: 11803,
        passive: true,
    };
    let gobgp = GoBgp::start(&lab, &side).await;
    for route in [
        &[
            "global",
            "rib",
            "add",
            "198.51.100.0/28",
            "-a",
            "ipv4",
            "origin",
            "igp",
            "med",
            "70",
            "community",
            "65101:7",
        ][..],
        &[
            "global",
            "rib",
            "add",
            "2001:db8:1::/48",
            "-a",
            "ipv6",
            "med",
            "80",
            "large-community",
            "65101:1:1",
        ][..],
    ] {
        gobgp.run(route).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65100,
        address: "127.0.8.2".parse().unwrap(),
        port: 11803,
        peer: "127.0.8.1".parse().unwrap(),
        peer_port: 11801,
        peer_asn: 65101,
        passive: false,
        enhanced_route_refresh: true,
    })
    .await;
    let from_gobgp = [
        SeenRoute {
            prefix: "198.51.100.0/28".into(),
            next_hop: "127.0.8.1".into(),
            as_path: vec![65101],
            med: Some(70),
            communities: vec!["65101:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:1::/48".into(),
            next_hop: "::ffff:127.0.8.1".into(),
            as_path: vec![65101],
            med: Some(80),
            large_communities: vec!["65101:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&gobgp, &mut ribbit, from_gobgp, steps).await;
}

/// iBGP; Ribbit passive, GoBGP connects. GoBGP keeps the next hops it was
/// given and sends LOCAL_PREF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_ibgp_gobgp_connects() {
    let lab = Lab::new("gobgp-ibgp");
    let steps = Steps::new("gobgp_ibgp_gobgp_connects");
    let side = GoBgpSide {
        asn: 65110,
        address: "127.0.8.11",
        port: 11811,
        api_port: 11812,
        neighbor: "127.0.8.12",
        neighbor_asn: 65110,
        neighbor_port: 11813,
        passive: false,
    };
    // Ribbit first, so that GoBGP's first attempt finds it listening.
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65110,
        address: "127.0.8.12".parse().unwrap(),
        port: 11813,
        peer: "127.0.8.11".parse().unwrap(),
        peer_port: 11811,
        peer_asn: 65110,
        passive: true,
        enhanced_route_refresh: true,
    })
    .await;
    let gobgp = GoBgp::start(&lab, &side).await;
    for route in [
        &[
            "global",
            "rib",
            "add",
            "198.51.100.16/28",
            "-a",
            "ipv4",
            "nexthop",
            "198.18.0.11",
            "local-pref",
            "300",
            "med",
            "70",
            "community",
            "65110:7",
        ][..],
        &[
            "global",
            "rib",
            "add",
            "2001:db8:11::/48",
            "-a",
            "ipv6",
            "nexthop",
            "2001:db8:ffff::11",
            "med",
            "80",
            "large-community",
            "65110:1:1",
        ][..],
    ] {
        gobgp.run(route).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let from_gobgp = [
        SeenRoute {
            prefix: "198.51.100.16/28".into(),
            next_hop: "198.18.0.11".into(),
            med: Some(70),
            local_pref: Some(300),
            communities: vec!["65110:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:11::/48".into(),
            next_hop: "2001:db8:ffff::11".into(),
            med: Some(80),
            local_pref: Some(100),
            large_communities: vec!["65110:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&gobgp, &mut ribbit, from_gobgp, steps).await;
}
