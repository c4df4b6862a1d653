//! Interop with BIRD 2 (`bird` and `birdc` from Debian's `bird2` package),
//! started by the test on loopback; Ribbit runs in-process.
//!
//! What each test covers:
//! - `bird_ibgp_bird_connects`: iBGP; Ribbit is passive and BIRD connects.
//! - `bird_ebgp_ribbit_connects`: eBGP; BIRD is passive and Ribbit connects.
//!
//! Both check: the session reaches Established; Ribbit receives BIRD's IPv4
//! and IPv6 routes with their next hop, AS path, MED, LOCAL_PREF (iBGP) and
//! (large) communities; BIRD receives Ribbit's (`birdc show route all`);
//! route refresh both ways: Ribbit asks and BIRD sends its routes again
//! (with Enhanced Route Refresh, BoRR and EoRR around them), and `birdc
//! reload in` makes BIRD ask and Ribbit send its routes once more, exactly
//! once per family; Ribbit's shutdown sends Cease / Administrative Shutdown
//! with its message, which BIRD logs.

mod support;

use std::path::PathBuf;

use support::{
    eventually, expect_cease, expect_peer_route, find_binary, run_cli, Daemon, Lab, Ribbit,
    RibbitSide, SeenRoute, Steps, PROPAGATE,
};

/// BIRD's side of a test.
struct BirdSide {
    asn: u32,
    address: &'static str,
    port: u16,
    /// Ribbit.
    neighbor: &'static str,
    neighbor_asn: u32,
    neighbor_port: u16,
    passive: bool,
    /// `next hop address` of the ipv4 channel; without it BIRD sends its own
    /// address.
    v4_next_hop: Option<&'static str>,
}

impl BirdSide {
    fn config(&self) -> String {
        let v4_next_hop = self
            .v4_next_hop
            .map(|a| format!("next hop address {a};"))
            .unwrap_or_default();
        format!(
            r#"
log "bird.log" all;
router id {address};

protocol device {{ }}

protocol static static4 {{
  ipv4;
  route 198.51.100.32/28 unreachable {{
    bgp_local_pref = 300;
    bgp_community.add((65120, 7));
  }};
}}
protocol static static6 {{
  ipv6;
  route 2001:db8:21::/48 unreachable {{
    bgp_large_community.add((65120, 1, 1));
  }};
}}

protocol bgp ribbit {{
  local {address} port {port} as {asn};
  neighbor {neighbor} port {neighbor_port} as {neighbor_asn};
  strict bind yes;            # listen on {address}:{port} only (trap B4)
  multihop;                   # 127.x is not "directly connected" for BIRD (B1)
  connect delay time 1;       # 5 s by default (B5)
  passive {passive};
  # BIRD sends a MED to an eBGP peer only when the export filter sets it.
  ipv4 {{ import all; export filter {{ bgp_med = 70; accept; }}; {v4_next_hop} }};
  # Over an IPv4 session BIRD has no IPv6 next hop of its own (B2).
  ipv6 {{
    import all;
    export filter {{ bgp_med = 80; accept; }};
    next hop address 2001:db8:ffff::21;
  }};
}}
"#,
            address = self.address,
            port = self.port,
            asn = self.asn,
            neighbor = self.neighbor,
            neighbor_port = self.neighbor_port,
            neighbor_asn = self.neighbor_asn,
            passive = if self.passive { "on" } else { "off" },
        )
    }
}

/// A running BIRD and its control socket.
struct Bird {
    daemon: Daemon,
    birdc: PathBuf,
    dir: PathBuf,
}

impl Bird {
    async fn start(lab: &Lab, side: &BirdSide) -> Bird {
        let bird = find_binary("bird", "bird2");
        let birdc = find_binary("birdc", "bird2");
        lab.write("bird.conf", &side.config());
        let mut command = std::process::Command::new(bird);
        command.args(["-f", "-c", "bird.conf", "-s", "bird.ctl", "-P", "bird.pid"]);
        let daemon = Daemon::spawn("bird", lab, command, &["bird.log"]);
        let bird = Bird {
            daemon,
            birdc,
            dir: lab.dir().to_path_buf(),
        };
        eventually("BIRD's control socket to answer", PROPAGATE, || async {
            bird.daemon.check_running()?;
            bird.run(&["show", "status"]).await
        })
        .await;
        bird
    }

    /// One birdc command (always a whole command: birdc alone is interactive, B7).
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-s", "bird.ctl"];
        all.extend_from_slice(args);
        run_cli(&self.birdc, &all, &self.dir).await
    }

    /// `show protocols all ribbit`.
    async fn protocol(&self) -> Result<String, String> {
        self.run(&["show", "protocols", "all", "ribbit"]).await
    }

    /// Route updates BIRD received from Ribbit, summed over the channels
    /// (`Import updates:` in the `received` column).
    async fn import_updates(&self) -> Result<u64, String> {
        let text = self.protocol().await?;
        let counts: Vec<u64> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Import updates:"))
            .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
            .collect();
        if counts.len() == 2 {
            Ok(counts.iter().sum())
        } else {
            Err(format!("no counters of two channels in: {text}"))
        }
    }

    /// The routes BIRD took from Ribbit.
    async fn routes(&self) -> Result<Vec<SeenRoute>, String> {
        let text = self
            .run(&["show", "route", "all", "protocol", "ribbit"])
            .await?;
        Ok(parse_routes(&text))
    }
}

/// `birdc show route all` in the common form. A route starts on an unindented
/// line with its prefix; its attributes follow, indented, as `BGP.name: value`.
fn parse_routes(text: &str) -> Vec<SeenRoute> {
    let mut out: Vec<SeenRoute> = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            let prefix = line.split_whitespace().next().unwrap_or_default();
            out.push(SeenRoute {
                prefix: prefix.to_string(),
                ..SeenRoute::default()
            });
            continue;
        }
        let Some(r) = out.last_mut() else { continue };
        let Some((name, value)) = line.trim().split_once(": ") else {
            continue;
        };
        let numbers = |v: &str| -> Vec<u32> {
            v.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect()
        };
        match name {
            "BGP.as_path" => r.as_path = numbers(value),
            "BGP.next_hop" => {
                r.next_hop = value
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
            "BGP.med" => r.med = value.parse().ok(),
            "BGP.local_pref" => r.local_pref = value.parse().ok(),
            // (65120,7) (65120,8)
            "BGP.community" => {
                r.communities = value
                    .split(')')
                    .map(numbers)
                    .filter(|n| n.len() == 2)
                    .map(|n| format!("{}:{}", n[0], n[1]))
                    .collect();
            }
            // (65120, 1, 1)
            "BGP.large_community" => {
                r.large_communities = value
                    .split(')')
                    .map(numbers)
                    .filter(|n| n.len() == 3)
                    .map(|n| format!("{}:{}:{}", n[0], n[1], n[2]))
                    .collect();
            }
            _ => {}
        }
    }
    out
}

/// Everything both tests check once Ribbit and BIRD run.
async fn exchange(bird: &Bird, ribbit: &mut Ribbit, from_bird: [SeenRoute; 2], mut steps: Steps) {
    ribbit.wait_established().await;
    steps.done("Ribbit Established");
    eventually(
        "BIRD to show the session Established",
        PROPAGATE,
        || async {
            let text = bird.protocol().await?;
            if text.contains("BGP state:          Established") {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;
    steps.done("BIRD Established");

    // BIRD's routes, with their attributes, in Ribbit's Adj-RIB-In.
    ribbit.wait_routes(&from_bird).await;
    steps.done("BIRD's routes in Ribbit");

    // Ribbit's routes in BIRD.
    for expected in ribbit.side.expected_at_peer() {
        eventually(format!("BIRD to receive {expected}"), PROPAGATE, || async {
            expect_peer_route(&bird.routes().await?, &expected)
        })
        .await;
    }
    let initial = eventually("BIRD to count two route updates", PROPAGATE, || async {
        match bird.import_updates().await? {
            2 => Ok(2),
            n => Err(format!("{n}")),
        }
    })
    .await;
    steps.done("Ribbit's routes in BIRD");

    // Route refresh asked by Ribbit: BIRD sends each family again.
    ribbit.refresh_from_peer(&from_bird).await;
    steps.done("route refresh asked by Ribbit");

    // Route refresh asked by BIRD: Ribbit sends its two routes again. BIRD
    // counts route updates in order, so once it has counted these two it
    // has counted anything Ribbit sent before them: Ribbit must not have
    // answered the BoRR and EoRR that framed BIRD's own refresh above
    // (RFC 7313: they are not requests).
    bird.run(&["reload", "in", "ribbit"])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = eventually(
        "BIRD to receive Ribbit's routes again",
        PROPAGATE,
        || async {
            match bird.import_updates().await? {
                n if n >= initial + 2 => Ok(n),
                n => Err(format!("{n} route updates (before: {initial})")),
            }
        },
    )
    .await;
    assert_eq!(
        after,
        initial + 2,
        "BIRD received {after} route updates from Ribbit, not {}: Ribbit sent its routes more \
         often than BIRD asked for them",
        initial + 2
    );
    ribbit.wait_routes(&from_bird).await;
    steps.done("route refresh asked by BIRD");

    // A clean shutdown: Cease / Administrative Shutdown with our message.
    let sent = ribbit.shutdown(Some("maintenance")).await;
    expect_cease(&sent, Some("maintenance"));
    eventually(
        "BIRD to log the Cease and its message",
        PROPAGATE,
        || async {
            let log = bird.daemon.log_text();
            let wanted = "ribbit: Received: Administrative shutdown: \"maintenance\"";
            if log.contains(wanted) {
                Ok(())
            } else {
                Err(log.lines().last().unwrap_or_default().to_string())
            }
        },
    )
    .await;
    let text = bird.protocol().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !text.contains("BGP state:          Established"),
        "BIRD still shows the session Established after the Cease: {text}"
    );
    steps.done("Cease seen by BIRD");
}

/// iBGP; Ribbit passive, BIRD connects. BIRD sends the next hops set in its
/// channels, LOCAL_PREF, MED and communities.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_ibgp_bird_connects() {
    let lab = Lab::new("bird-ibgp");
    let steps = Steps::new("bird_ibgp_bird_connects");
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65120,
        address: "127.0.8.22".parse().unwrap(),
        port: 11823,
        peer: "127.0.8.21".parse().unwrap(),
        peer_port: 11821,
        peer_asn: 65120,
        passive: true,
        enhanced_route_refresh: true,
    })
    .await;
    let bird = Bird::start(
        &lab,
        &BirdSide {
            asn: 65120,
            address: "127.0.8.21",
            port: 11821,
            neighbor: "127.0.8.22",
            neighbor_asn: 65120,
            neighbor_port: 11823,
            passive: false,
            v4_next_hop: Some("198.18.0.21"),
        },
    )
    .await;
    let from_bird = [
        SeenRoute {
            prefix: "198.51.100.32/28".into(),
            next_hop: "198.18.0.21".into(),
            med: Some(70),
            local_pref: Some(300),
            communities: vec!["65120:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:21::/48".into(),
            next_hop: "2001:db8:ffff::21".into(),
            med: Some(80),
            local_pref: Some(100),
            large_communities: vec!["65120:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&bird, &mut ribbit, from_bird, steps).await;
}

/// eBGP; BIRD passive, Ribbit connects. BIRD's IPv4 next hop is its own
/// address (next hop self), and LOCAL_PREF is not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_ebgp_ribbit_connects() {
    let lab = Lab::new("bird-ebgp");
    let steps = Steps::new("bird_ebgp_ribbit_connects");
    let bird = Bird::start(
        &lab,
        &BirdSide {
            asn: 65126,
            address: "127.0.8.26",
            port: 11826,
            neighbor: "127.0.8.27",
            neighbor_asn: 65127,
            neighbor_port: 11828,
            passive: true,
            v4_next_hop: None,
        },
    )
    .await;
    let mut ribbit = Ribbit::start(RibbitSide {
        asn: 65127,
        address: "127.0.8.27".parse().unwrap(),
        port: 11828,
        peer: "127.0.8.26".parse().unwrap(),
        peer_port: 11826,
        peer_asn: 65126,
        passive: false,
        enhanced_route_refresh: true,
    })
    .await;
    let from_bird = [
        SeenRoute {
            prefix: "198.51.100.32/28".into(),
            next_hop: "127.0.8.26".into(),
            as_path: vec![65126],
            med: Some(70),
            communities: vec!["65120:7".into()],
            ..SeenRoute::default()
        },
        SeenRoute {
            prefix: "2001:db8:21::/48".into(),
            next_hop: "2001:db8:ffff::21".into(),
            as_path: vec![65126],
            med: Some(80),
            large_communities: vec!["65120:1:1".into()],
            ..SeenRoute::default()
        },
    ];
    exchange(&bird, &mut ribbit, from_bird, steps).await;
}
