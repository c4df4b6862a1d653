//! Interop with OpenBGPD (`bgpd` and `bgpctl` from Debian's `openbgpd`
//! package), started by the test on loopback; Ribbit runs in-process.
//!
//! What each test covers:
//! - `openbgpd_ibgp_ribbit_connects`: iBGP; OpenBGPD is passive and Ribbit
//!   connects.
//! - `openbgpd_ebgp_openbgpd_connects`: eBGP (multihop, see below); Ribbit
//!   is passive and OpenBGPD connects.
//! - `openbgpd_ebgp_ribbit_run_binary`: eBGP; OpenBGPD is passive and
//!   `ribbit run --config FILE` connects, as a process: Established,
//!   Ribbit's routes at OpenBGPD, and SIGTERM sends Cease with Ribbit's
//!   message.
//!
//! The first two check: the session reaches Established; Ribbit receives OpenBGPD's
//! IPv4 and IPv6 routes with their next hop, AS path, MED, LOCAL_PREF (iBGP)
//! and (large) communities; OpenBGPD receives Ribbit's (`bgpctl show rib
//! detail`); route refresh (with Enhanced Route Refresh negotiated): `bgpctl
//! neighbor X refresh` makes OpenBGPD ask and Ribbit send each of its routes
//! exactly once more, and OpenBGPD takes Ribbit's ROUTE-REFRESH (but does not
//! answer it: see `exchange`); Ribbit's shutdown sends Cease / Administrative
//! Shutdown with its message, which OpenBGPD shows as the last error and
//! shutdown reason.

mod support;

use std::path::PathBuf;

use ribbit_wire::Family;
use serde_json::Value;
use support::{
    eventually, expect_cease, expect_peer_route, find_binary, run_cli, Daemon, Lab, Ribbit,
    RibbitSide, SeenRoute, Steps, ESTABLISHED, PROPAGATE,
};

/// OpenBGPD's side of a test.
struct OpenBgpdSide {
    asn: u32,
    address: &'static str,
    port: u16,
    /// Ribbit.
    neighbor: &'static str,
    neighbor_asn: u32,
    neighbor_port: u16,
    passive: bool,
}

impl OpenBgpdSide {
    fn ebgp(&self) -> bool {
        self.asn != self.neighbor_asn
    }

    fn config(&self) -> String {
        let passive = if self.passive { "\tpassive\n" } else { "" };
        // On eBGP a next hop set by a filter is used only on a multihop
        // session and with "nexthop no-modify" after it (trap O1).
        let (multihop, next_hops) = if self.ebgp() {
            (
                "\tmultihop 2\n",
                format!(
                    "match to {n} inet set nexthop 198.18.0.41\n\
                     match to {n} inet6 set nexthop 2001:db8:ffff::41\n\
                     match to {n} set nexthop no-modify\n",
                    n = self.neighbor
                ),
            )
        } else {
            (
                "",
                format!(
                    "match to {n} inet6 set nexthop 2001:db8:ffff::41\n",
                    n = self.neighbor
                ),
            )
        };
        format!(
            r#"AS {asn}
router-id {address}
# Not the default of all addresses on port 179 (trap O2).
listen on {address} port {port}
fib-update no
socket "bgpd.sock"

network 198.51.100.64/28 set {{ community 65140:7 med 70 localpref 300 }}
network 2001:db8:41::/48 set {{ med 80 large-community 65140:1:1 }}

neighbor {neighbor} {{
	remote-as {neighbor_asn}
	port {neighbor_port}
	local-address {address}
	# IPv4 unicast only by default (O4).
	announce IPv6 unicast
	announce enhanced refresh yes
{passive}{multihop}}}

allow from any
allow to any
{next_hops}"#,
            asn = self.asn,
            address = self.address,
            port = self.port,
            neighbor = self.neighbor,
            neighbor_asn = self.neighbor_asn,
            neighbor_port = self.neighbor_port,
        )
    }
}

/// A running OpenBGPD and its control socket.
struct OpenBgpd {
    daemon: Daemon,
    bgpctl: PathBuf,
    dir: PathBuf,
    neighbor: &'static str,
}

impl OpenBgpd {
    async fn start(lab: &Lab, side: &OpenBgpdSide) -> OpenBgpd {
        let bgpd = find_binary("bgpd", "openbgpd");
        let bgpctl = find_binary("bgpctl", "openbgpd");
        // The session and route engines chroot to the home of _openbgpd,
        // /run/openbgpd, which systemd creates for the service; without
        // systemd nothing does.
        std::fs::create_dir_all("/run/openbgpd").unwrap_or_else(|e| {
            panic!("OpenBGPD needs /run/openbgpd (its chroot); cannot create it: {e}")
        });
        lab.write("bgpd.conf", &side.config());
        let check = run_cli(&bgpd, &["-n", "-f", "bgpd.conf"], lab.dir()).await;
        if let Err(e) = check {
            panic!("OpenBGPD refuses its configuration: {e}\n{}", side.config());
        }
        let mut command = std::process::Command::new(bgpd);
        // -d: foreground, log to stderr. The parent's children (session,
        // route and RTR engines) exit with it.
        command.args(["-d", "-f", "bgpd.conf"]);
        let daemon = Daemon::spawn("openbgpd", lab, command, &[]);
        let openbgpd = OpenBgpd {
            daemon,
            bgpctl,
            dir: lab.dir().to_path_buf(),
            neighbor: side.neighbor,
        };
        eventually("OpenBGPD's control socket to answer", PROPAGATE, || async {
            openbgpd.daemon.check_running()?;
            openbgpd.run(&["show"]).await
        })
        .await;
        openbgpd
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-s", "bgpd.sock"];
        all.extend_from_slice(args);
        run_cli(&self.bgpctl, &all, &self.dir).await
    }

    async fn json(&self, args: &[&str]) -> Result<Value, String> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let text = self.run(&all).await?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// `bgpctl show neighbor X`, as JSON.
    async fn neighbor(&self) -> Result<Value, String> {
        let v = self.json(&["show", "neighbor", self.neighbor]).await?;
        Ok(v["neighbors"][0].clone())
    }

    /// A number at `path` in the neighbor's JSON.
    async fn stat(&self, path: &[&str]) -> Result<u64, String> {
        let n = self.neighbor().await?;
        let mut v = &n;
        for key in path {
            v = &v[*key];
        }
        v.as_u64()
            .ok_or_else(|| format!("no {} in {n}", path.join(".")))
    }

    /// The routes OpenBGPD has from Ribbit for a prefix.
    async fn routes(&self, prefix: &str) -> Result<Vec<SeenRoute>, String> {
        let v = self.json(&["show", "rib", "detail", prefix]).await?;
        let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        Ok(v["rib"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["neighbor"]["remote_addr"].as_str() == Some(self.neighbor))
            .map(|r| SeenRoute {
                prefix: r["prefix"].as_str().unwrap_or_default().to_string(),
                next_hop: r["exit_nexthop"].as_str().unwrap_or_default().to_string(),
                as_path: r["aspath"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|a| a.parse().ok())
                    .collect(),
                med: number(&r["metric"]),
                local_pref: number(&r["localpref"]),
                communities: strings(&r["communities"]),
                large_communities: strings(&r["large_communities"]),
            })
            .collect())
    }
}

/// Everything both tests check once Ribbit and OpenBGPD run.
async fn exchange(
    openbgpd: &OpenBgpd,
    ribbit: &mut Ribbit,
    from_openbgpd: [SeenRoute; 2],
    mut steps: Steps,
) {
    ribbit.wait_established().await;
    steps.done("Ribbit Established");
    eventually(
        "OpenBGPD to show the session Established",
        PROPAGATE,
        || async {
            let n = openbgpd.neighbor().await?;
            match n["state"].as_str() {
                Some("Established") => Ok(()),
                other => Err(format!("state {other:?}")),
            }
        },
    )
    .await;
    steps.done("OpenBGPD Established");

    // OpenBGPD's routes, with their attributes, in Ribbit's Adj-RIB-In.
    ribbit.wait_routes(&from_openbgpd).await;
    steps.done("OpenBGPD's routes in Ribbit");

    // Ribbit's routes in OpenBGPD.
    for expected in ribbit.side.expected_at_peer() {
        eventually(
            format!("OpenBGPD to receive {expected}"),
            PROPAGATE,
            || async { expect_peer_route(&openbgpd.routes(&expected.prefix).await?, &expected) },
        )
        .await;
    }
    // Route updates (one per prefix) OpenBGPD has received from Ribbit.
    let received = ["stats", "update", "received", "updates"];
    let initial = eventually("OpenBGPD to count two route updates", PROPAGATE, || async {
        match openbgpd.stat(&received).await? {
            2 => Ok(2),
            n => Err(format!("{n}")),
        }
    })
    .await;
    steps.done("Ribbit's routes in OpenBGPD");

    // Route refresh asked by Ribbit: OpenBGPD takes the two ROUTE-REFRESH
    // (its counter; a malformed one would reset the session). OpenBGPD 7.7
    // then logs "route refresh: AID IPv4 unicast not negotiated" and sends
    // nothing, for families that were negotiated; it does the same with
    // BIRD's ROUTE-REFRESH, so it is OpenBGPD's doing. That OpenBGPD sends
    // its routes again is therefore not checked.
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        assert!(ribbit.speaker().route_refresh(ribbit.peer, family).await);
    }
    eventually(
        "OpenBGPD to count Ribbit's two ROUTE-REFRESH",
        PROPAGATE,
        || async {
            match openbgpd
                .stat(&["stats", "route-refresh", "received", "request"])
                .await?
            {
                n if n >= 2 => Ok(()),
                n => Err(format!("{n}")),
            }
        },
    )
    .await;
    steps.done("route refresh asked by Ribbit");

    // Route refresh asked by OpenBGPD: Ribbit sends its two routes again,
    // once each (OpenBGPD counts in order, so nothing else is in flight).
    openbgpd
        .run(&["neighbor", openbgpd.neighbor, "refresh"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = eventually(
        "OpenBGPD to receive Ribbit's routes again",
        PROPAGATE,
        || async {
            match openbgpd.stat(&received).await? {
                n if n >= initial + 2 => Ok(n),
                n => Err(format!("{n} route updates (before: {initial})")),
            }
        },
    )
    .await;
    assert_eq!(
        after,
        initial + 2,
        "OpenBGPD received {after} route updates from Ribbit, not {}: Ribbit sent its routes \
         more often than OpenBGPD asked for them",
        initial + 2
    );
    let refreshes = openbgpd
        .stat(&["stats", "route-refresh", "sent", "request"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(refreshes >= 2, "OpenBGPD sent {refreshes} ROUTE-REFRESH");
    steps.done("route refresh asked by OpenBGPD");

    // A clean shutdown: Cease / Administrative Shutdown with our message.
    let sent = ribbit.shutdown(Some("maintenance")).await;
    expect_cease(&sent, Some("maintenance"));
    eventually(
        "OpenBGPD to show the Cease and its message",
        PROPAGATE,
        || async {
            let n = openbgpd.neighbor().await?;
            let state = n["state"].as_str();
            let error = n["last_error_received"].as_str();
            let reason = n["last_shutdown_reason"].as_str();
            if state != Some("Established")
                && error == Some("Cease, administratively down")
                && reason == Some("maintenance")
            {
                Ok(())
            } else {
                Err(format!(
                "state {state:?}, last_error_received {error:?}, last_shutdown_reason {reason:?}"
            ))
            }
        },
    )
    .await;
    steps.done("Cease seen by OpenBGPD");
}

/// iBGP; OpenBGPD passive, Ribbit connects. OpenBGPD sends LOCAL_PREF, and
/// its own address as the IPv4 next hop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbgpd_ibgp_ribbit_connects() {
    let lab = Lab::new("openbgpd-ibgp");
    let steps = Steps::new("openbgpd_ibgp_ribbit_connects");
    let openbgpd = OpenBgpd::start(
        &lab,
        &OpenBgpdSide {
            asn: 65140,
            address: "127.0.8.41",
            port: 11841,
            neighbor: "127.0.8.42",
            neighbor_asn: 65140,
            neighbor_port: 11843,
            passive: true,
        },
    )
    .await;
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65140,
        address: "127.0.8.42".parse().unwrap(),
        port: 11843,
        peer: "127.0.8.41".parse().unwrap(),
        peer_port: 11841,
        peer_asn: 65140,
        passive: false,
        enhanced_route_refresh: true,
    })
    .await;
    let from_openbgpd = [
        SeenRoute {
            prefix: "198.51.100.64/28".into(),
            next_hop: "127.0.8.41".into(),
            med: Some(70),
            local_pref: Some(300),
            communities: vec!["65140:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:41::/48".into(),
            next_hop: "2001:db8:ffff::41".into(),
            med: Some(80),
            local_pref: Some(100),
            large_communities: vec!["65140:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&openbgpd, &mut ribbit, from_openbgpd, steps).await;
}

/// eBGP; Ribbit passive, OpenBGPD connects. OpenBGPD uses the next hops its
/// filters set (multihop + no-modify), and sends no LOCAL_PREF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbgpd_ebgp_openbgpd_connects() {
    let lab = Lab::new("openbgpd-ebgp");
    let steps = Steps::new("openbgpd_ebgp_openbgpd_connects");
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65147,
        address: "127.0.8.47".parse().unwrap(),
        port: 11848,
        peer: "127.0.8.46".parse().unwrap(),
        peer_port: 11846,
        peer_asn: 65146,
        passive: true,
        enhanced_route_refresh: true,
    })
    .await;
    let openbgpd = OpenBgpd::start(
        &lab,
        &OpenBgpdSide {
            asn: 65146,
            address: "127.0.8.46",
            port: 11846,
            neighbor: "127.0.8.47",
            neighbor_asn: 65147,
            neighbor_port: 11848,
            passive: false,
        },
    )
    .await;
    let from_openbgpd = [
        SeenRoute {
            prefix: "198.51.100.64/28".into(),
            next_hop: "198.18.0.41".into(),
            as_path: vec![65146],
            med: Some(70),
            communities: vec!["65140:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:41::/48".into(),
            next_hop: "2001:db8:ffff::41".into(),
            as_path: vec![65146],
            med: Some(80),
            large_communities: vec!["65140:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&openbgpd, &mut ribbit, from_openbgpd, steps).await;
}

/// `ribbit run --config FILE` as a process (the other tests run Ribbit
/// in-process): eBGP, Ribbit connects and OpenBGPD is passive. OpenBGPD
/// receives Ribbit's routes, and SIGTERM makes Ribbit send Cease /
/// Administrative Shutdown with "Ribbit shutting down".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openbgpd_ebgp_ribbit_run_binary() {
    let lab = Lab::new("openbgpd-run");
    let mut steps = Steps::new("openbgpd_ebgp_ribbit_run_binary");
    let openbgpd = OpenBgpd::start(
        &lab,
        &OpenBgpdSide {
            asn: 65144,
            address: "127.0.8.44",
            port: 11844,
            neighbor: "127.0.8.45",
            neighbor_asn: 65145,
            neighbor_port: 11845,
            passive: true,
        },
    )
    .await;
    let side = RibbitSide {
        asn: 65145,
        address: "127.0.8.45".parse().unwrap(),
        port: 11845,
        peer: "127.0.8.44".parse().unwrap(),
        peer_port: 11844,
        peer_asn: 65144,
        passive: false,
        enhanced_route_refresh: true,
    };
    lab.write("ribbit.toml", &side.toml());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ribbit"));
    command
        .args(["run", "--config", "ribbit.toml"])
        .env("RIBBIT_LOG", "info");
    let mut ribbit = Daemon::spawn("ribbit", &lab, command, &[]);

    eventually(
        "OpenBGPD to show the session Established",
        ESTABLISHED,
        || async {
            ribbit.check_running()?;
            let n = openbgpd.neighbor().await?;
            match n["state"].as_str() {
                Some("Established") => Ok(()),
                other => Err(format!("state {other:?}")),
            }
        },
    )
    .await;
    steps.done("Established");
    for expected in side.expected_at_peer() {
        eventually(
            format!("OpenBGPD to receive {expected}"),
            PROPAGATE,
            || async { expect_peer_route(&openbgpd.routes(&expected.prefix).await?, &expected) },
        )
        .await;
    }
    steps.done("Ribbit's routes in OpenBGPD");

    // SIGTERM, as a service manager stops it.
    let took = ribbit.stop();
    assert!(
        ribbit.log_text().contains("shutting down"),
        "ribbit run did not log its shutdown:\n{}",
        ribbit.log_text()
    );
    steps.done(&format!("ribbit run stopped by SIGTERM in {took:?}"));
    eventually(
        "OpenBGPD to show the Cease and its message",
        PROPAGATE,
        || async {
            let n = openbgpd.neighbor().await?;
            let error = n["last_error_received"].as_str();
            let reason = n["last_shutdown_reason"].as_str();
            if error == Some("Cease, administratively down")
                && reason == Some("Ribbit shutting down")
            {
                Ok(())
            } else {
                Err(format!(
                    "last_error_received {error:?}, last_shutdown_reason {reason:?}"
                ))
            }
        },
    )
    .await;
    steps.done("Cease seen by OpenBGPD");
}
