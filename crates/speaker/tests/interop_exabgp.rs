//! Interop with ExaBGP 4.2 (`exabgp` and `exabgpcli` from Debian's `exabgp`
//! package), started by the test on loopback with an API helper that
//! announces its routes and logs every JSON message; Ribbit runs in-process.
//!
//! What each test covers:
//! - `exabgp_ebgp_exabgp_connects`: eBGP; Ribbit is passive and ExaBGP
//!   connects.
//! - `exabgp_ibgp_ribbit_connects`: iBGP; ExaBGP is passive (listening) and
//!   Ribbit connects.
//!
//! Both check: the session reaches Established; Ribbit receives ExaBGP's IPv4
//! and IPv6 routes with their next hop, AS path, MED, LOCAL_PREF (iBGP) and
//! (large) communities; ExaBGP receives Ribbit's (its JSON log); route
//! refresh asked by ExaBGP (`exabgpcli announce route-refresh`): Ribbit sends
//! its routes again; Ribbit's shutdown sends Cease / Administrative Shutdown,
//! which ExaBGP reports as the reason the session went down.
//!
//! Ribbit runs with `enhanced-route-refresh = false` here. Not covered:
//! Ribbit asking ExaBGP for a refresh. With Enhanced Route Refresh
//! negotiated (ExaBGP's `route-refresh` capability offers both, and so does
//! Ribbit by default), ExaBGP 4.2.21 fails on any ROUTE-REFRESH it receives,
//! the BoRR and EoRR that frame an answer included:
//! `TypeError: 'RouteRefresh' object is not iterable` in `Update.messages`
//! ("EXABGP MISBEHAVED" in its log); it drops the session without a
//! NOTIFICATION and reconnects. Its JSON for a received ROUTE-REFRESH is
//! also not valid JSON (`"afi": ""ipv4""`).
//!
//! The shutdown here carries no message: ExaBGP 4.2 cannot decode a Cease
//! with a shutdown communication (RFC 9003) under Python 3. Its Notification
//! class formats the text with `b'...%s' % str`, which raises, so ExaBGP
//! reports "can not decode update message of type 3" and answers with a
//! NOTIFICATION of its own. GoBGP, BIRD, FRR and OpenBGPD all decode Ribbit's
//! message, so this is ExaBGP's bug.

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{
    eventually, expect_cease, expect_peer_route, find_binary, run_cli, Daemon, Lab, Ribbit,
    RibbitSide, SeenRoute, Steps, PROPAGATE,
};

/// The API helper: announces ExaBGP's routes (given in its first argument,
/// one per line) and appends every JSON message from ExaBGP to
/// `exabgp-received.jsonl` next to itself (ExaBGP starts it with `/` as its
/// working directory, trap E2). Lines that are not JSON are the `done` acks
/// of our commands (E6).
const HELPER: &str = r#"#!/usr/bin/env python3
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "announce.txt")) as f:
    for command in f:
        if command.strip():
            sys.stdout.write(command.strip() + "\n")
            sys.stdout.flush()

with open(os.path.join(HERE, "exabgp-received.jsonl"), "a") as log:
    for line in sys.stdin:
        if line.startswith("{"):
            log.write(line)
            log.flush()
"#;

/// ExaBGP's side of a test.
struct ExaBgpSide {
    asn: u32,
    address: &'static str,
    port: u16,
    /// Ribbit.
    neighbor: &'static str,
    neighbor_asn: u32,
    neighbor_port: u16,
    passive: bool,
    /// The API commands that announce ExaBGP's routes.
    announce: &'static [&'static str],
}

impl ExaBgpSide {
    fn config(&self) -> String {
        // With a passive neighbor ExaBGP listens (exabgp_tcp_bind and _port
        // below); otherwise `connect` is the port it connects to (E1).
        let mode = if self.passive {
            "passive;".to_string()
        } else {
            format!("connect {};", self.neighbor_port)
        };
        format!(
            r#"process api {{
    run ./exabgp-api.py;
    encoder json;
}}

neighbor {neighbor} {{
    router-id {address};
    local-address {address};
    local-as {asn};
    peer-as {neighbor_asn};
    {mode}
    capability {{
        route-refresh;
    }}
    family {{
        ipv4 unicast;
        ipv6 unicast;
    }}
    api {{
        processes [ api ];
        neighbor-changes;
        receive {{ parsed; update; refresh; notification; }}
    }}
}}
"#,
            neighbor = self.neighbor,
            address = self.address,
            asn = self.asn,
            neighbor_asn = self.neighbor_asn,
        )
    }
}

/// A running ExaBGP, its JSON log and its CLI.
struct ExaBgp {
    daemon: Daemon,
    cli: PathBuf,
    dir: PathBuf,
    log: PathBuf,
}

impl ExaBgp {
    async fn start(lab: &Lab, side: &ExaBgpSide) -> ExaBgp {
        let exabgp = find_binary("exabgp", "exabgp");
        let cli = find_binary("exabgpcli", "exabgp");
        lab.write("exabgp.conf", &side.config());
        lab.write("announce.txt", &side.announce.join("\n"));
        lab.write_executable("exabgp-api.py", HELPER);
        // exabgpcli talks through these FIFOs, made before ExaBGP starts (E5).
        std::fs::create_dir_all(lab.path("run")).unwrap_or_else(|e| panic!("mkdir run: {e}"));
        for fifo in ["run/exabgp.in", "run/exabgp.out"] {
            run_cli("mkfifo", &["-m", "600", fifo], lab.dir())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let port = side.port.to_string();
        let mut command = std::process::Command::new(exabgp);
        command
            .args(["--root", ".", "exabgp.conf"])
            .env("exabgp_tcp_bind", side.address)
            .env("exabgp_tcp_port", &port)
            // Run the helper as root too, not as user exabgp (E3).
            .env("exabgp_daemon_user", "root");
        let daemon = Daemon::spawn("exabgp", lab, command, &["exabgp-received.jsonl"]);
        let exabgp = ExaBgp {
            daemon,
            cli,
            dir: lab.dir().to_path_buf(),
            log: lab.path("exabgp-received.jsonl"),
        };
        exabgp
            .daemon
            .check_running()
            .unwrap_or_else(|e| panic!("{e}"));
        exabgp
    }

    /// Every JSON message ExaBGP gave its helper so far.
    fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The neighbor-change messages so far: state and reason.
    fn states(&self) -> Vec<(String, String)> {
        self.messages()
            .iter()
            .filter(|m| m["type"] == "state")
            .map(|m| {
                let n = &m["neighbor"];
                (
                    n["state"].as_str().unwrap_or_default().to_string(),
                    n["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Every route announcement ExaBGP received, in order.
    fn announcements(&self) -> Vec<SeenRoute> {
        let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let mut out = Vec::new();
        for m in self.messages() {
            let update = &m["neighbor"]["message"]["update"];
            let Some(families) = update["announce"].as_object() else {
                continue;
            };
            let a = &update["attribute"];
            let tuples = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        t.as_array()
                            .into_iter()
                            .flatten()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(":")
                    })
                    .collect()
            };
            for by_next_hop in families.values() {
                for (next_hop, nlris) in by_next_hop.as_object().into_iter().flatten() {
                    for nlri in nlris.as_array().into_iter().flatten() {
                        out.push(SeenRoute {
                            prefix: nlri["nlri"].as_str().unwrap_or_default().to_string(),
                            next_hop: next_hop.clone(),
                            as_path: a["as-path"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(number)
                                .collect(),
                            med: number(&a["med"]),
                            local_pref: number(&a["local-preference"]),
                            communities: tuples(&a["community"]),
                            large_communities: tuples(&a["large-community"]),
                        });
                    }
                }
            }
        }
        out
    }

    /// One command through exabgpcli.
    async fn cli(&self, command: &[&str]) -> Result<String, String> {
        let mut all = vec!["--root", "."];
        all.extend_from_slice(command);
        run_cli(&self.cli, &all, &self.dir).await
    }
}

/// Everything both tests check once Ribbit and ExaBGP run.
async fn exchange(
    exabgp: &ExaBgp,
    ribbit: &mut Ribbit,
    from_exabgp: [SeenRoute; 2],
    mut steps: Steps,
) {
    ribbit.wait_established().await;
    steps.done("Ribbit Established");
    eventually("ExaBGP to report the session up", PROPAGATE, || async {
        exabgp.daemon.check_running()?;
        let states = exabgp.states();
        match states.last() {
            Some((state, _)) if state == "up" => Ok(()),
            _ => Err(format!("{states:?}")),
        }
    })
    .await;
    steps.done("ExaBGP Established");

    // ExaBGP's routes, with their attributes, in Ribbit's Adj-RIB-In.
    ribbit.wait_routes(&from_exabgp).await;
    steps.done("ExaBGP's routes in Ribbit");

    // Ribbit's routes in ExaBGP.
    for expected in ribbit.side.expected_at_peer() {
        eventually(
            format!("ExaBGP to receive {expected}"),
            PROPAGATE,
            || async { expect_peer_route(&exabgp.announcements(), &expected) },
        )
        .await;
    }
    steps.done("Ribbit's routes in ExaBGP");

    // Route refresh asked by ExaBGP: Ribbit sends its routes of the family
    // again.
    let v4 = &ribbit.side.expected_at_peer()[0];
    let count = |routes: &[SeenRoute]| routes.iter().filter(|r| r.prefix == v4.prefix).count();
    let before = count(&exabgp.announcements());
    exabgp
        .cli(&["announce", "route-refresh", "ipv4", "unicast"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eventually(
        "ExaBGP to receive Ribbit's IPv4 route again",
        PROPAGATE,
        || async {
            let routes = exabgp.announcements();
            match count(&routes) {
                // The new announcement carries the same attributes.
                n if n > before => {
                    let last: Vec<SeenRoute> = routes
                        .iter()
                        .rev()
                        .filter(|r| r.prefix == v4.prefix)
                        .take(1)
                        .cloned()
                        .collect();
                    expect_peer_route(&last, v4)
                }
                n => Err(format!("announced {n} times (before: {before})")),
            }
        },
    )
    .await;
    steps.done("route refresh asked by ExaBGP");

    // A clean shutdown: Cease / Administrative Shutdown, no message (see the
    // top of this file).
    let sent = ribbit.shutdown(None).await;
    expect_cease(&sent, None);
    // The first "down" after the session was up; an active ExaBGP then
    // tries again and finds no one listening, which it reports too.
    eventually("ExaBGP to report the Cease", PROPAGATE, || async {
        let states = exabgp.states();
        let up = states.iter().rposition(|(s, _)| s == "up").unwrap_or(0);
        match states[up..].iter().find(|(s, _)| s == "down") {
            Some((_, reason)) if reason.contains("notification received (6,2)") => Ok(()),
            _ => Err(format!("{states:?}")),
        }
    })
    .await;
    steps.done("Cease seen by ExaBGP");
}

/// eBGP; Ribbit passive, ExaBGP connects. ExaBGP prepends its AS and sends no
/// LOCAL_PREF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_ebgp_exabgp_connects() {
    let lab = Lab::new("exabgp-ebgp");
    let steps = Steps::new("exabgp_ebgp_exabgp_connects");
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65151,
        address: "127.0.8.52".parse().unwrap(),
        port: 11853,
        peer: "127.0.8.51".parse().unwrap(),
        peer_port: 11851,
        peer_asn: 65150,
        passive: true,
        enhanced_route_refresh: false,
    })
    .await;
    let exabgp = ExaBgp::start(
        &lab,
        &ExaBgpSide {
            asn: 65150,
            address: "127.0.8.51",
            port: 11851,
            neighbor: "127.0.8.52",
            neighbor_asn: 65151,
            neighbor_port: 11853,
            passive: false,
            announce: &[
                "announce route 198.51.100.96/28 next-hop 198.18.0.51 med 70 community [65150:7]",
                "announce route 2001:db8:51::/48 next-hop 2001:db8:ffff::51 med 80 large-community [65150:1:1]",
            ],
        },
    )
    .await;
    let from_exabgp = [
        SeenRoute {
            prefix: "198.51.100.96/28".into(),
            next_hop: "198.18.0.51".into(),
            as_path: vec![65150],
            med: Some(70),
            communities: vec!["65150:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:51::/48".into(),
            next_hop: "2001:db8:ffff::51".into(),
            as_path: vec![65150],
            med: Some(80),
            large_communities: vec!["65150:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&exabgp, &mut ribbit, from_exabgp, steps).await;
}

/// iBGP; ExaBGP passive, Ribbit connects. ExaBGP sends LOCAL_PREF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_ibgp_ribbit_connects() {
    let lab = Lab::new("exabgp-ibgp");
    let steps = Steps::new("exabgp_ibgp_ribbit_connects");
    let exabgp = ExaBgp::start(
        &lab,
        &ExaBgpSide {
            asn: 65156,
            address: "127.0.8.56",
            port: 11856,
            neighbor: "127.0.8.57",
            neighbor_asn: 65156,
            neighbor_port: 11858,
            passive: true,
            announce: &[
                "announce route 198.51.100.96/28 next-hop 198.18.0.56 local-preference 300 med 70 community [65156:7]",
                "announce route 2001:db8:56::/48 next-hop 2001:db8:ffff::56 med 80 large-community [65156:1:1]",
            ],
        },
    )
    .await;
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65156,
        address: "127.0.8.57".parse().unwrap(),
        port: 11858,
        peer: "127.0.8.56".parse().unwrap(),
        peer_port: 11856,
        peer_asn: 65156,
        passive: false,
        enhanced_route_refresh: false,
    })
    .await;
    let from_exabgp = [
        SeenRoute {
            prefix: "198.51.100.96/28".into(),
            next_hop: "198.18.0.56".into(),
            med: Some(70),
            local_pref: Some(300),
            communities: vec!["65156:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:56::/48".into(),
            next_hop: "2001:db8:ffff::56".into(),
            med: Some(80),
            local_pref: Some(100),
            large_communities: vec!["65156:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&exabgp, &mut ribbit, from_exabgp, steps).await;
}
