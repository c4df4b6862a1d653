//! Interop with FRR's bgpd (Debian's `frr` package), started standalone by
//! the test on loopback (no zebra, no watchfrr); Ribbit runs in-process.
//!
//! What each test covers:
//! - `frr_ebgp_frr_connects`: eBGP; Ribbit is passive and FRR connects.
//! - `frr_ibgp_ribbit_connects`: iBGP; FRR is passive and Ribbit connects.
//!
//! Both check: the session reaches Established; Ribbit receives FRR's IPv4
//! and IPv6 routes with their next hop, AS path, MED, LOCAL_PREF (iBGP) and
//! (large) communities; FRR receives Ribbit's (`show bgp ... PREFIX json`);
//! route refresh: `clear bgp ... soft in` makes FRR ask and Ribbit send its
//! routes again, and FRR takes Ribbit's ROUTE-REFRESH (but does not answer
//! it: see `exchange`);
//! Ribbit's shutdown sends Cease / Administrative Shutdown with its message,
//! which FRR shows as the last notification and shutdown message.
//!
//! Ribbit's routes carry explicit next hops: FRR calls a 127/8 next hop
//! "martian" and resets the session with UPDATE Message Error / Invalid
//! NEXT_HOP, so `next-hop = "self"` cannot be used on loopback.

mod support;

use std::path::PathBuf;

use ribbit_wire::Family;
use serde_json::Value;
use support::{
    eventually, expect_cease, expect_peer_route, find_binary, frr_bgpd, run_cli, Daemon, Lab,
    Ribbit, RibbitSide, SeenRoute, Steps, PROPAGATE,
};

/// FRR's side of a test.
struct FrrSide {
    asn: u32,
    address: &'static str,
    port: u16,
    /// Ribbit.
    neighbor: &'static str,
    neighbor_asn: u32,
    neighbor_port: u16,
    passive: bool,
}

impl FrrSide {
    /// The configuration. FRR allows no trailing comments (trap F3), so the
    /// comments are lines of their own. The route-maps come first so that
    /// the `network` statements find them at once.
    fn config(&self) -> String {
        let passive = if self.passive {
            format!(" neighbor {} passive\n", self.neighbor)
        } else {
            String::new()
        };
        format!(
            r#"frr defaults traditional
hostname ribbit-interop
log stdout debugging
! For the log printed when a test fails.
debug bgp neighbor-events
!
route-map ORIGIN4 permit 10
 set community 65130:7
 set metric 70
 set local-preference 300
!
route-map ORIGIN6 permit 10
 set metric 80
 set large-community 65130:1:1
!
! Without it FRR sends ::ffff:<its IPv4 address> over this IPv4 session.
route-map NH6 permit 10
 set ipv6 next-hop global 2001:db8:ffff::31
!
router bgp {asn}
 bgp router-id {address}
 ! Without this line nothing is sent or accepted on eBGP (trap F1).
 no bgp ebgp-requires-policy
 neighbor {neighbor} remote-as {neighbor_asn}
 neighbor {neighbor} port {neighbor_port}
 neighbor {neighbor} update-source {address}
{passive} !
 address-family ipv4 unicast
  network 198.51.100.48/28 route-map ORIGIN4
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8:31::/48 route-map ORIGIN6
  neighbor {neighbor} activate
  neighbor {neighbor} route-map NH6 out
 exit-address-family
!
"#,
            asn = self.asn,
            address = self.address,
            neighbor = self.neighbor,
            neighbor_asn = self.neighbor_asn,
            neighbor_port = self.neighbor_port,
        )
    }
}

/// A running bgpd and its vty socket directory.
struct Frr {
    daemon: Daemon,
    vtysh: PathBuf,
    dir: PathBuf,
    neighbor: &'static str,
}

impl Frr {
    async fn start(lab: &Lab, side: &FrrSide) -> Frr {
        let bgpd = frr_bgpd();
        let vtysh = find_binary("vtysh", "frr");
        lab.write("frr.conf", &side.config());
        std::fs::create_dir_all(lab.path("vty")).unwrap_or_else(|e| panic!("mkdir vty: {e}"));
        let mut command = std::process::Command::new(bgpd);
        // -Z: no zebra; -S: do not switch to user frr (F2); -l: listen on this
        // address only, and no kernel routes; -P 0: no TCP vty.
        let port = side.port.to_string();
        command.args([
            "-f",
            "frr.conf",
            "-Z",
            "-S",
            "-l",
            side.address,
            "-p",
            &port,
            "-P",
            "0",
            "-i",
            "bgpd.pid",
            "--vty_socket",
            "vty",
        ]);
        let daemon = Daemon::spawn("frr-bgpd", lab, command, &[]);
        let frr = Frr {
            daemon,
            vtysh,
            dir: lab.dir().to_path_buf(),
            neighbor: side.neighbor,
        };
        eventually("FRR's vty to answer", PROPAGATE, || async {
            frr.daemon.check_running()?;
            frr.vty("show bgp summary").await
        })
        .await;
        let log = frr.daemon.log_text();
        assert!(
            !log.contains("No such command") && !log.contains("Unknown command"),
            "FRR did not take its configuration:\n{log}"
        );
        frr
    }

    async fn vty(&self, command: &str) -> Result<String, String> {
        run_cli(
            &self.vtysh,
            &["--vty_socket", "vty", "-c", command],
            &self.dir,
        )
        .await
    }

    async fn json(&self, command: &str) -> Result<Value, String> {
        let text = self.vty(command).await?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// `show bgp neighbors X json`, the part about Ribbit.
    async fn neighbor(&self) -> Result<Value, String> {
        let v = self
            .json(&format!("show bgp neighbors {} json", self.neighbor))
            .await?;
        Ok(v[self.neighbor].clone())
    }

    /// A counter of `messageStats`.
    async fn counter(&self, name: &str) -> Result<u64, String> {
        let n = self.neighbor().await?;
        n["messageStats"][name]
            .as_u64()
            .ok_or_else(|| format!("no messageStats.{name} in {n}"))
    }

    /// The paths FRR has for a prefix that came from Ribbit.
    async fn routes(&self, prefix: &str) -> Result<Vec<SeenRoute>, String> {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        let v = self
            .json(&format!("show bgp {afi} unicast {prefix} json"))
            .await?;
        let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let strings = |v: &Value| -> Vec<String> {
            v["list"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let mut out = Vec::new();
        for path in v["paths"].as_array().into_iter().flatten() {
            if path["peer"]["peerId"].as_str() != Some(self.neighbor) {
                continue;
            }
            out.push(SeenRoute {
                prefix: prefix.to_string(),
                next_hop: path["nexthops"][0]["ip"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                as_path: path["aspath"]["segments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["list"].as_array().into_iter().flatten())
                    .filter_map(number)
                    .collect(),
                med: number(&path["metric"]),
                local_pref: number(&path["locPrf"]),
                communities: strings(&path["community"]),
                large_communities: strings(&path["largeCommunity"]),
            });
        }
        Ok(out)
    }
}

/// Everything both tests check once Ribbit and FRR run.
async fn exchange(frr: &Frr, ribbit: &mut Ribbit, from_frr: [SeenRoute; 2], mut steps: Steps) {
    ribbit.wait_established().await;
    steps.done("Ribbit Established");
    eventually("FRR to show the session Established", PROPAGATE, || async {
        let n = frr.neighbor().await?;
        match n["bgpState"].as_str() {
            Some("Established") => Ok(()),
            other => Err(format!("bgpState {other:?}")),
        }
    })
    .await;
    steps.done("FRR Established");

    // FRR's routes, with their attributes, in Ribbit's Adj-RIB-In.
    ribbit.wait_routes(&from_frr).await;
    steps.done("FRR's routes in Ribbit");

    // Ribbit's routes in FRR.
    for expected in ribbit.side.expected_at_peer() {
        eventually(format!("FRR to receive {expected}"), PROPAGATE, || async {
            expect_peer_route(&frr.routes(&expected.prefix).await?, &expected)
        })
        .await;
    }
    steps.done("Ribbit's routes in FRR");

    // Route refresh asked by Ribbit: FRR takes the two ROUTE-REFRESH (its
    // counter; a malformed one would reset the session). FRR 8.4 holds a
    // refresh request until it has sent End-of-RIB, and sends End-of-RIB
    // only to peers that advertised Graceful Restart, which Ribbit does not:
    // so FRR logs "rcvd route-refresh (REQUEST) ... before EoR" and never
    // answers. That FRR sends its routes again is therefore not checked.
    let refresh_before = frr.counter("routeRefreshRecv").await.unwrap_or(0);
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        assert!(ribbit.speaker().route_refresh(ribbit.peer, family).await);
    }
    eventually(
        "FRR to count Ribbit's two ROUTE-REFRESH",
        PROPAGATE,
        || async {
            match frr.counter("routeRefreshRecv").await? {
                n if n >= refresh_before + 2 => Ok(()),
                n => Err(format!("{n} (before: {refresh_before})")),
            }
        },
    )
    .await;
    steps.done("route refresh asked by Ribbit");

    // Route refresh asked by FRR: Ribbit sends each family again.
    let updates_before = frr.counter("updatesRecv").await.unwrap_or(0);
    let sent_before = frr.counter("routeRefreshSent").await.unwrap_or(0);
    for afi in ["ipv4", "ipv6"] {
        frr.vty(&format!("clear bgp {afi} unicast {} soft in", frr.neighbor))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    eventually(
        "FRR to receive Ribbit's routes again",
        PROPAGATE,
        || async {
            let sent = frr.counter("routeRefreshSent").await?;
            let updates = frr.counter("updatesRecv").await?;
            if sent >= sent_before + 2 && updates >= updates_before + 2 {
                Ok(())
            } else {
                Err(format!(
                    "{sent} ROUTE-REFRESH sent (before: {sent_before}), {updates} UPDATEs \
                 received (before: {updates_before})"
                ))
            }
        },
    )
    .await;
    for expected in ribbit.side.expected_at_peer() {
        let seen = frr.routes(&expected.prefix).await.unwrap_or_default();
        expect_peer_route(&seen, &expected).unwrap_or_else(|e| panic!("after the refresh: {e}"));
    }
    steps.done("route refresh asked by FRR");

    // A clean shutdown: Cease / Administrative Shutdown with our message.
    let sent = ribbit.shutdown(Some("maintenance")).await;
    expect_cease(&sent, Some("maintenance"));
    eventually(
        "FRR to show the Cease and its message",
        PROPAGATE,
        || async {
            let n = frr.neighbor().await?;
            let state = n["bgpState"].as_str();
            let reason = n["lastNotificationReason"].as_str();
            let message = n["lastShutdownDescription"].as_str();
            if state != Some("Established")
                && reason == Some("Cease/Administrative Shutdown")
                && message == Some("maintenance")
            {
                Ok(())
            } else {
                Err(format!(
                    "bgpState {state:?}, lastNotificationReason {reason:?}, \
                 lastShutdownDescription {message:?}"
                ))
            }
        },
    )
    .await;
    steps.done("Cease seen by FRR");
}

/// eBGP; Ribbit passive, FRR connects. FRR's IPv4 next hop is its own
/// address (next hop self); LOCAL_PREF is not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_ebgp_frr_connects() {
    let lab = Lab::new("frr-ebgp");
    let steps = Steps::new("frr_ebgp_frr_connects");
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65131,
        address: "127.0.8.32".parse().unwrap(),
        port: 11833,
        peer: "127.0.8.31".parse().unwrap(),
        peer_port: 11831,
        peer_asn: 65130,
        passive: true,
        enhanced_route_refresh: true,
    })
    .await;
    let frr = Frr::start(
        &lab,
        &FrrSide {
            asn: 65130,
            address: "127.0.8.31",
            port: 11831,
            neighbor: "127.0.8.32",
            neighbor_asn: 65131,
            neighbor_port: 11833,
            passive: false,
        },
    )
    .await;
    let from_frr = [
        SeenRoute {
            prefix: "198.51.100.48/28".into(),
            next_hop: "127.0.8.31".into(),
            as_path: vec![65130],
            med: Some(70),
            communities: vec!["65130:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:31::/48".into(),
            next_hop: "2001:db8:ffff::31".into(),
            as_path: vec![65130],
            med: Some(80),
            large_communities: vec!["65130:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&frr, &mut ribbit, from_frr, steps).await;
}

/// iBGP; FRR passive, Ribbit connects. FRR sends LOCAL_PREF, and its own
/// address as the IPv4 next hop of a route it originates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_ibgp_ribbit_connects() {
    let lab = Lab::new("frr-ibgp");
    let steps = Steps::new("frr_ibgp_ribbit_connects");
    let frr = Frr::start(
        &lab,
        &FrrSide {
            asn: 65136,
            address: "127.0.8.36",
            port: 11836,
            neighbor: "127.0.8.37",
            neighbor_asn: 65136,
            neighbor_port: 11838,
            passive: true,
        },
    )
    .await;
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65136,
        address: "127.0.8.37".parse().unwrap(),
        port: 11838,
        peer: "127.0.8.36".parse().unwrap(),
        peer_port: 11836,
        peer_asn: 65136,
        passive: false,
        enhanced_route_refresh: true,
    })
    .await;
    let from_frr = [
        SeenRoute {
            prefix: "198.51.100.48/28".into(),
            next_hop: "127.0.8.36".into(),
            med: Some(70),
            local_pref: Some(300),
            communities: vec!["65130:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:31::/48".into(),
            next_hop: "2001:db8:ffff::31".into(),
            med: Some(80),
            local_pref: Some(100),
            large_communities: vec!["65130:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&frr, &mut ribbit, from_frr, steps).await;
}
