//! BMP export (RFC 7854) to a real collector: pmacct's `pmbmpd` from
//! Debian's `pmacct` package, writing what it decodes as JSON lines.
//!
//! `pmbmpd_sees_peers_routes_and_a_reconnect`: a BIRD peer announces three
//! routes to Ribbit, which passes them to a second BIRD and reports to
//! pmbmpd; the collector's log must show the Initiation (our sysName), a
//! Peer Up for BIRD with its address, AS and BGP identifier, each route
//! with its AS path and next hop as received (pre-policy), after import
//! policy (post-policy) and as best paths (Loc-RIB, RFC 9069), the routes
//! as sent to the second BIRD (Adj-RIB-Out, RFC 8671), and Statistics
//! Reports. pmbmpd is then stopped and started again: Ribbit reconnects
//! and sends everything again from its RIB (post-policy and Loc-RIB). BIRD
//! then closes its session: the new log shows the Peer Down with BIRD's
//! NOTIFICATION and the routes leaving the Loc-RIB; Ribbit stops: the
//! Termination.
//!
//! Addresses: 127.0.10.0/24, ports 12000-12049.

mod support;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::scenario::{
    Announcement, Change, Kind, PeerSpec, RibbitSpec, Role, Scenario, Topology,
};
use support::{eventually, find_binary, Daemon, Lab, PROPAGATE};

/// pmbmpd's address and port.
const COLLECTOR: (&str, u16) = ("127.0.10.10", 12010);
/// BIRD's AS.
const PEER_AS: u32 = 65002;
/// BIRD's BGP identifier.
const PEER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 10, 2);
/// The next hop of BIRD's routes.
const NEXT_HOP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 12);
/// The prefixes BIRD announces, each with its AS path as Ribbit receives it.
const ROUTES: [(&str, &[u32]); 3] = [
    ("198.51.100.0/28", &[PEER_AS]),
    ("198.51.100.16/28", &[PEER_AS, 64501]),
    ("198.51.100.32/28", &[PEER_AS, 64502, 64503]),
];

/// A running pmbmpd and the file its JSON log goes to.
struct Collector {
    daemon: Daemon,
    log: PathBuf,
}

impl Collector {
    /// Start pmbmpd on [`COLLECTOR`], logging to `<name>.json`.
    fn start(lab: &Lab, name: &str) -> Collector {
        let pmbmpd = find_binary("pmbmpd", "pmacct");
        let log = lab.path(&format!("{name}.json"));
        let config = lab.write(
            &format!("{name}.conf"),
            &format!(
                "bmp_daemon_ip: {ip}\nbmp_daemon_port: {port}\n\
                 bmp_daemon_msglog_file: {log}\nbmp_daemon_msglog_output: json\n\
                 logfile: {name}.log\n",
                ip = COLLECTOR.0,
                port = COLLECTOR.1,
                log = log.display(),
            ),
        );
        let mut command = Command::new(pmbmpd);
        command.arg("-f").arg(config);
        let log_name = format!("{name}.log");
        let daemon = Daemon::spawn(name, lab, command, &[log_name.as_str()]);
        Collector { daemon, log }
    }

    /// Wait until pmbmpd listens (it says so in its log), so that Ribbit's
    /// first connection finds it.
    async fn listening(&self) {
        let ready = format!("waiting for BMP data on {}:{}", COLLECTOR.0, COLLECTOR.1);
        eventually("pmbmpd to listen", PROPAGATE, || async {
            self.daemon.check_running()?;
            if self.daemon.log_text().contains(&ready) {
                Ok(())
            } else {
                Err("not yet".to_string())
            }
        })
        .await;
    }

    /// Every JSON object pmbmpd logged so far.
    fn messages(&self) -> Result<Vec<Value>, String> {
        self.daemon.check_running()?;
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect())
    }

    /// Wait until `check` finds what it looks for in the log.
    async fn wait_for(&self, what: &str, check: impl Fn(&[Value]) -> Result<(), String>) {
        eventually(what, PROPAGATE, || async {
            let all = self.messages()?;
            check(&all).map_err(|e| format!("{e}; {} message(s) logged", all.len()))
        })
        .await;
    }
}

fn kind(m: &Value) -> &str {
    m["bmp_msg_type"].as_str().unwrap_or_default()
}

fn from_peer(m: &Value) -> bool {
    m["peer_ip"].as_str() == Some("127.0.10.2")
}

/// Initiation with our sysName.
fn has_initiation(all: &[Value]) -> Result<(), String> {
    all.iter()
        .find(|m| kind(m) == "init")
        .filter(|m| m.to_string().contains("ribbit-bmp-test"))
        .map(|_| ())
        .ok_or_else(|| "no Initiation with sysName ribbit-bmp-test".to_string())
}

/// Peer Up of BIRD with its AS and BGP identifier.
fn has_peer_up(all: &[Value]) -> Result<(), String> {
    let up = all
        .iter()
        .find(|m| kind(m) == "peer_up" && from_peer(m))
        .ok_or("no Peer Up from 127.0.10.2")?;
    if up["peer_asn"].as_u64() != Some(u64::from(PEER_AS)) {
        return Err(format!("Peer Up with the wrong AS: {up}"));
    }
    if up["bgp_id"].as_str() != Some(&PEER_ID.to_string()) {
        return Err(format!("Peer Up with the wrong BGP id: {up}"));
    }
    Ok(())
}

/// Each route of BIRD, with its AS path and next hop, in Route Monitoring
/// messages that `select` picks.
fn has_routes(all: &[Value], select: impl Fn(&Value) -> bool) -> Result<(), String> {
    for (prefix, path) in ROUTES {
        let want_path: Vec<String> = path.iter().map(u32::to_string).collect();
        let want_path = want_path.join(" ");
        let found = all.iter().any(|m| {
            kind(m) == "route_monitor"
                && select(m)
                && m["ip_prefix"].as_str() == Some(prefix)
                && m["as_path"].as_str() == Some(want_path.as_str())
                && m["bgp_nexthop"].as_str() == Some(&NEXT_HOP.to_string())
        });
        if !found {
            return Err(format!(
                "no Route Monitoring of {prefix} with AS path {want_path:?} and next hop {NEXT_HOP}"
            ));
        }
    }
    Ok(())
}

/// Each route of BIRD as Ribbit sent it to the second BIRD: our AS
/// prepended, our address as next hop (eBGP).
fn has_adj_rib_out(all: &[Value]) -> Result<(), String> {
    let out: Vec<&Value> = all
        .iter()
        .filter(|m| {
            kind(m) == "route_monitor"
                && m["peer_ip"].as_str() == Some("127.0.10.3")
                && m["is_out"].as_u64() == Some(1)
        })
        .collect();
    for (prefix, path) in ROUTES {
        let mut want = vec!["65000".to_string()];
        want.extend(path.iter().map(u32::to_string));
        let want = want.join(" ");
        if !out.iter().any(|m| {
            m["ip_prefix"].as_str() == Some(prefix)
                && m["as_path"].as_str() == Some(want.as_str())
                && m["bgp_nexthop"].as_str() == Some("127.0.10.1")
        }) {
            return Err(format!("no Adj-RIB-Out {prefix} with AS path {want:?}"));
        }
    }
    Ok(())
}

fn topology() -> Topology {
    Topology {
        ribbit: RibbitSpec {
            asn: 65000,
            address: Ipv4Addr::new(127, 0, 10, 1),
            port: 12001,
            cluster_id: None,
            always_compare_med: false,
        },
        peers: vec![
            PeerSpec {
                name: "a",
                kind: Kind::Bird,
                address: Ipv4Addr::new(127, 0, 10, 2),
                port: 12002,
                api_port: 12003,
                asn: PEER_AS,
                router_id: PEER_ID,
                next_hop: NEXT_HOP,
                role: Role::Plain,
                import_local_pref: None,
                announcements: ROUTES
                    .iter()
                    .map(|(prefix, path)| Announcement::new(prefix, path, &[]))
                    .collect(),
            },
            PeerSpec {
                name: "m",
                kind: Kind::Bird,
                address: Ipv4Addr::new(127, 0, 10, 3),
                port: 12004,
                api_port: 12005,
                asn: 65004,
                router_id: Ipv4Addr::new(10, 0, 10, 4),
                next_hop: Ipv4Addr::new(198, 18, 0, 14),
                role: Role::Plain,
                import_local_pref: None,
                announcements: Vec::new(),
            },
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pmbmpd_sees_peers_routes_and_a_reconnect() {
    let lab = Lab::new("bmp-collector");
    let first = Collector::start(&lab, "pmbmpd-1");
    // Ribbit connects first thing: from then on the collector sees every
    // UPDATE as received (without keep-adj-rib-in a collector that comes
    // later gets the post-policy routes only).
    first.listening().await;
    let bmp = format!(
        "\n[[bmp]]\naddress = \"{}\"\nport = {}\nstatistics-interval = 1\n\
         route-monitoring = [\"pre-policy\", \"post-policy\", \"adj-rib-out\", \"loc-rib\"]\n\
         sys-name = \"ribbit-bmp-test\"\nreconnect-backoff = 1\nreconnect-backoff-max = 2\n",
        COLLECTOR.0, COLLECTOR.1
    );
    let mut s = Scenario::start_with("bmp", topology(), &bmp).await;

    first
        .wait_for(
            "the Initiation, BIRD's Peer Up and routes at pmbmpd",
            |all| {
                has_initiation(all)?;
                has_peer_up(all)?;
                // As received: pre-policy Adj-RIB-In.
                has_routes(all, |m| from_peer(m) && m["is_post"].as_u64() != Some(1))
            },
        )
        .await;
    first
        .wait_for("post-policy and Loc-RIB routes as they change", |all| {
            // The sessions came up after the collector connected: these
            // come from the RIB's change feed, not from a dump.
            has_routes(all, |m| from_peer(m) && m["is_post"].as_u64() == Some(1))?;
            has_routes(all, |m| m["is_loc"].as_u64() == Some(1))
        })
        .await;
    first
        .wait_for(
            "what Ribbit sent the second BIRD (Adj-RIB-Out, RFC 8671)",
            has_adj_rib_out,
        )
        .await;
    first
        .wait_for("a Statistics Report about BIRD", |all| {
            all.iter()
                .find(|m| kind(m) == "stats" && from_peer(m))
                .map(|_| ())
                .ok_or_else(|| "no stats".to_string())
        })
        .await;
    s.steps
        .done("pmbmpd has the Initiation, the Peer Up, the routes, the stats");

    let mut first = first;
    first.daemon.stop();
    let second = Collector::start(&lab, "pmbmpd-2");
    second
        .wait_for("Ribbit to reconnect and send everything again", |all| {
            has_initiation(all)?;
            has_peer_up(all)?;
            // From the RIB: post-policy Adj-RIB-In (no pre-policy copy is
            // kept without keep-adj-rib-in).
            has_routes(all, |m| from_peer(m) && m["is_post"].as_u64() == Some(1))?;
            // The Loc-RIB (RFC 9069 peer type 3, which pmbmpd logs as
            // is_loc).
            has_routes(all, |m| m["is_loc"].as_u64() == Some(1))?;
            // And what the second BIRD was sent (RFC 8671).
            has_adj_rib_out(all)
        })
        .await;
    s.steps
        .done("after pmbmpd restarted: Initiation, Peer Up, routes again");

    s.change("BIRD closes its session", Change::StopSession("a"))
        .await;
    second
        .wait_for("BIRD's Peer Down with its NOTIFICATION", |all| {
            let down = all
                .iter()
                .find(|m| kind(m) == "peer_down" && from_peer(m))
                .ok_or("no Peer Down from 127.0.10.2")?;
            // Reason 3: the peer closed the session with a NOTIFICATION.
            match down["reason_type"].as_u64() {
                Some(3) => Ok(()),
                _ => Err(format!("Peer Down with another reason: {down}")),
            }
        })
        .await;
    second
        .wait_for("BIRD's routes withdrawn from the Loc-RIB", |all| {
            for (prefix, _) in ROUTES {
                if !all.iter().any(|m| {
                    kind(m) == "route_monitor"
                        && m["is_loc"].as_u64() == Some(1)
                        && m["log_type"].as_str() == Some("withdraw")
                        && m["ip_prefix"].as_str() == Some(prefix)
                }) {
                    return Err(format!("no Loc-RIB withdrawal of {prefix}"));
                }
            }
            Ok(())
        })
        .await;
    s.finish().await;
    second
        .wait_for("the second BIRD's Peer Down, then the Termination", |all| {
            // Reason 2, FSM event 2 (ManualStop): the speaker stopped the
            // session.
            let down = all.iter().position(|m| {
                kind(m) == "peer_down"
                    && m["peer_ip"].as_str() == Some("127.0.10.3")
                    && m["reason_type"].as_u64() == Some(2)
                    && m["reason_loc_code"].as_u64() == Some(2)
            });
            let term = all.iter().position(|m| kind(m) == "term");
            match (down, term) {
                (Some(d), Some(t)) if d < t => Ok(()),
                other => Err(format!("Peer Down and Termination at {other:?}")),
            }
        })
        .await;
}
