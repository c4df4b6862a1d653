//! Flowspec end to end with real daemons (GoBGP, ExaBGP, BIRD 2), started by
//! the test on loopback (127.0.4.x, ports 11401 to 11499); Ribbit runs
//! in-process.
//!
//! What each test covers:
//! - `gobgp_flowspec_both_ways`: Ribbit's `[[flow]]` rules (IPv4 and IPv6,
//!   every component, every action kind) reach GoBGP, whose Loc-RIB
//!   (`gobgp global rib -a ipv4-flowspec -j`) shows each rule's components
//!   operator by operator and its extended communities, communities and
//!   next hop as configured; GoBGP's own rules reach Ribbit, whose
//!   Adj-RIB-In shows them in ExaBGP's text with their actions.
//! - `exabgp_flowspec_both_ways`: the same rules reach ExaBGP, whose JSON
//!   shows each component's values (ExaBGP's spelling), the extended
//!   communities by value, the communities and the next hop; ExaBGP's rules
//!   (announced through its API) reach Ribbit.
//! - `bird_flowspec_to_ribbit`: BIRD's static `flow4` and `flow6` routes,
//!   with extended communities, reach Ribbit.
//!
//! The comparisons are structural: components are rebuilt from what the
//! daemon shows (GoBGP: type, operator byte and value; ExaBGP: its lists
//! of values) and compared with the configured NLRI, never just counted.

mod support;

use std::net::IpAddr;
use std::path::PathBuf;

use ribbit::config::{Config, FlowConfig};
use ribbit::peer::ReceivedRoute;
use ribbit::route::RouteTarget;
use ribbit::Speaker;
use ribbit_fsm::State;
use ribbit_wire::attribute::{Community, ExtendedCommunity, LargeCommunity};
use ribbit_wire::nlri::flowspec::{BitmaskOp, Component, ComponentType, FlowPrefix, NumericOp};
use ribbit_wire::update::NextHop;
use ribbit_wire::{Afi, Family};
use serde_json::Value;
use support::{eventually, find_binary, run_cli, Daemon, Lab, Steps, ESTABLISHED, PROPAGATE};

/// The rules Ribbit announces to GoBGP and ExaBGP: IPv4 and IPv6, every
/// component type and every action kind at least once. Next hops stay
/// out of 127/8, which GoBGP treats as a withdrawal.
const FLOWS: &str = r#"
[[flow]]
name = "issue-example"
match = { destination = "10.0.0.0/24", protocol = ["=udp"], source-port = ["=53"] }
then = { discard = true, community = ["100:100"] }

[[flow]]
name = "rate"
match = { destination = "10.0.1.0/24", source = "192.0.2.0/24", protocol = "=tcp", destination-port = [">=1024&<=2048", "=8080"], tcp-flags = "=syn&!ack", packet-length = "<=1500" }
then = { rate-limit = 9600, action = "sample" }

[[flow]]
name = "redirect"
match = { destination = "10.0.2.0/24", icmp-type = "=echo-request", icmp-code = 0 }
then = { redirect = "65000:7", mark = 10 }

[[flow]]
name = "to-next-hop"
match = { destination = "10.0.3.0/24", port = 80, dscp = "=46", fragment = "is-fragment" }
then = { redirect-to-nexthop = true, next-hop = "198.18.4.1", action = "terminal", large-community = "65400:1:2" }

[[flow]]
name = "packets"
match = { destination = "10.0.4.0/24", source-port = ">1023" }
then = { rate-limit-packets = 100, extended-community = ["target:65000:1"] }

[[flow]]
name = "ietf"
match = { destination = "10.0.5.0/24" }
then = { redirect-to-nexthop-ietf = "198.18.4.9" }

[[flow]]
name = "v6"
match = { destination = "2001:db8:1::/48", next-header = "=udp", destination-port = "=53", traffic-class = "=10", flow-label = "=2013" }
then = { discard = true, community = "100:106" }

[[flow]]
name = "v6-offset"
match = { source = "0:0:1234::/64/32", next-header = "=tcp" }
then = { redirect = "65000:8", mark = 20 }
"#;

/// Ribbit with one neighbor that offers both Flowspec families, connecting
/// to it, with `flows` announced to everyone.
fn ribbit_config(me: &str, port: u16, peer: &str, peer_port: u16, peer_asn: u32) -> String {
    format!(
        r#"
[global]
asn = 65400
router-id = "{me}"
listen = ["{me}:{port}"]

[[neighbor]]
address = "{peer}"
port = {peer_port}
local-address = "{me}"
asn = {peer_asn}
families = ["ipv4-flowspec", "ipv6-flowspec"]
connect-retry = 1
enhanced-route-refresh = false
"#
    )
}

/// Ribbit running in-process with one neighbor.
struct Ribbit {
    speaker: Option<Speaker>,
    config: Config,
    peer: IpAddr,
}

impl Ribbit {
    async fn start(text: &str, peer: &str) -> Ribbit {
        let config = Config::parse(text, "flowspec.toml")
            .unwrap_or_else(|e| panic!("Ribbit's configuration does not load:\n{e}\n{text}"));
        let speaker = Speaker::start(&config)
            .await
            .unwrap_or_else(|e| panic!("Ribbit does not start: {e}"));
        Ribbit {
            speaker: Some(speaker),
            config,
            peer: peer.parse().expect("an address"),
        }
    }

    fn speaker(&self) -> &Speaker {
        self.speaker.as_ref().expect("running")
    }

    async fn wait_established(&self) {
        eventually(
            format!("Ribbit's session with {} to be Established", self.peer),
            ESTABLISHED,
            || async {
                match self.speaker().state(self.peer).await {
                    Some(State::Established) => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
    }

    /// Wait until the Adj-RIB-In holds exactly `expected` (in any order).
    async fn wait_flows(&self, expected: &[Seen]) {
        let mut want: Vec<Seen> = expected.to_vec();
        want.sort();
        eventually(
            format!("Ribbit to receive {want:#?}"),
            PROPAGATE,
            || async {
                let routes = self
                    .speaker()
                    .adj_rib_in(self.peer)
                    .await
                    .unwrap_or_default();
                let mut seen: Vec<Seen> = routes.iter().map(Seen::from_received).collect();
                seen.sort();
                if seen == want {
                    Ok(())
                } else {
                    Err(format!("{seen:#?}"))
                }
            },
        )
        .await;
    }

    /// The Flowspec rules this Ribbit holds from `from` (after import).
    async fn flows_from(&self, from: IpAddr) -> usize {
        self.speaker()
            .adj_rib_in(from)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|route| route.family == Family::IPV4_FLOWSPEC)
            .count()
    }

    async fn stop(&mut self) {
        if let Some(s) = self.speaker.take() {
            s.shutdown(None).await;
        }
    }
}

/// A received flow rule as Ribbit shows it: family, NLRI in ExaBGP's text,
/// next hop, extended communities and communities in Ribbit's text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    family: String,
    nlri: String,
    next_hop: String,
    extended: Vec<String>,
    communities: Vec<String>,
}

impl Seen {
    fn new(
        family: Family,
        nlri: &str,
        next_hop: &str,
        extended: &[&str],
        communities: &[&str],
    ) -> Seen {
        let mut extended: Vec<String> = extended.iter().map(ToString::to_string).collect();
        extended.sort();
        Seen {
            family: family.to_string(),
            nlri: nlri.to_string(),
            next_hop: next_hop.to_string(),
            extended,
            communities: communities.iter().map(ToString::to_string).collect(),
        }
    }

    fn from_received(r: &ReceivedRoute) -> Seen {
        let next_hop = match r.next_hop {
            Some(NextHop::V4(a)) => a.to_string(),
            Some(NextHop::V6 { global, .. }) => global.to_string(),
            Some(NextHop::Empty) | None => String::new(),
        };
        let mut extended: Vec<String> = r
            .attributes
            .extended_communities
            .iter()
            .map(ToString::to_string)
            .collect();
        extended.sort();
        Seen {
            family: r.family.to_string(),
            nlri: r.nlri.clone(),
            next_hop,
            extended,
            communities: r
                .attributes
                .communities
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

/// What a rule must look like at the receiving daemon: its components,
/// extended communities (sorted), communities, large communities and next
/// hop (empty without one).
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    name: String,
    family: Family,
    components: Vec<Component>,
    extended: Vec<ExtendedCommunity>,
    communities: Vec<Community>,
    large: Vec<LargeCommunity>,
    next_hop: String,
}

impl Expected {
    fn of(f: &FlowConfig) -> Expected {
        let a = f.announcement();
        let mut extended = a.attributes.extended_communities.clone();
        extended.sort();
        Expected {
            name: f.name.clone().unwrap_or_default(),
            family: f.family(),
            components: f.rule.nlri().components.clone(),
            extended,
            communities: a.attributes.communities.clone(),
            large: a.attributes.large_communities.clone(),
            next_hop: f.rule.next_hop().map(|a| a.to_string()).unwrap_or_default(),
        }
    }
}

/// The flows Ribbit sends, as each must arrive.
fn expected_flows(config: &Config) -> Vec<Expected> {
    let n = &config.neighbors[0];
    config
        .flows_for(n, n.family_set())
        .into_iter()
        .map(Expected::of)
        .collect()
}

// ------------------------------------------------------------------ GoBGP

struct GoBgp {
    daemon: Daemon,
    cli: PathBuf,
    host: String,
    port: String,
    dir: PathBuf,
}

impl GoBgp {
    async fn start(lab: &Lab) -> GoBgp {
        let gobgpd = find_binary("gobgpd", "gobgpd");
        let cli = find_binary("gobgp", "gobgpd");
        lab.write(
            "gobgpd.toml",
            r#"
[global.config]
  as = 65401
  router-id = "127.0.4.1"
  port = 11401
  local-address-list = ["127.0.4.1"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.4.2"
    peer-as = 65400
  [neighbors.transport.config]
    local-address = "127.0.4.1"
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-flowspec"
"#,
        );
        let mut command = std::process::Command::new(gobgpd);
        command.args([
            "-f",
            "gobgpd.toml",
            "-p",
            "--pprof-disable",
            "--api-hosts",
            "127.0.4.1:11402",
        ]);
        let gobgp = GoBgp {
            daemon: Daemon::spawn("gobgpd", lab, command, &[]),
            cli,
            host: "127.0.4.1".into(),
            port: "11402".into(),
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

    /// The Flowspec paths GoBGP learned from Ribbit, from its Loc-RIB
    /// (`gobgp global rib -a ipv4-flowspec -j`). GoBGP 3.10's `neighbor X
    /// adj-in -j` shows Flowspec paths with `"nlri": null` and
    /// `"attrs": null`, so it cannot be used.
    async fn flows(&self) -> Result<Vec<(String, Value)>, String> {
        let mut out = Vec::new();
        for family in ["ipv4-flowspec", "ipv6-flowspec"] {
            let text = self.run(&["global", "rib", "-a", family, "-j"]).await?;
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
            for (key, paths) in v.as_object().into_iter().flatten() {
                out.extend(
                    paths
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["neighbor-ip"] == "127.0.4.2")
                        .map(|p| (key.clone(), p.clone())),
                );
            }
        }
        Ok(out)
    }
}

/// A GoBGP NLRI (`nlri.value`: type, operator byte and value per pair) as
/// components. The operator byte keeps its AND and comparison bits; the
/// end-of-list and length bits are the codec's business.
fn gobgp_components(nlri: &Value) -> Result<Vec<Component>, String> {
    let mut out = Vec::new();
    for c in nlri["value"]
        .as_array()
        .ok_or_else(|| format!("no nlri.value in {nlri}"))?
    {
        let t = c["type"].as_u64().ok_or("no type")?;
        let kind = u8::try_from(t)
            .ok()
            .and_then(ComponentType::from_code)
            .ok_or_else(|| format!("unknown component type {t}"))?;
        if kind.is_prefix() {
            let prefix = c["value"]["prefix"].as_str().ok_or("no prefix")?;
            let offset = c["offset"].as_u64().unwrap_or(0);
            let p = FlowPrefix::new(
                prefix.parse().map_err(|e| format!("{prefix}: {e}"))?,
                u8::try_from(offset).map_err(|e| e.to_string())?,
            );
            out.push(if kind == ComponentType::DestinationPrefix {
                Component::DestinationPrefix(p)
            } else {
                Component::SourcePrefix(p)
            });
            continue;
        }
        let pairs: Vec<(u8, u64)> = c["value"]
            .as_array()
            .ok_or("no operator list")?
            .iter()
            .map(|p| {
                let op = p["op"].as_u64().and_then(|o| u8::try_from(o).ok());
                match (op, p["value"].as_u64()) {
                    (Some(op), Some(v)) => Ok((op, v)),
                    _ => Err(format!("bad pair {p}")),
                }
            })
            .collect::<Result<_, String>>()?;
        if kind.is_bitmask() {
            let ops = pairs
                .iter()
                .map(|(op, value)| BitmaskOp {
                    and: op & 0x40 != 0,
                    not: op & 0x02 != 0,
                    matches: op & 0x01 != 0,
                    value: *value,
                })
                .collect();
            out.push(Component::Bitmask { kind, ops });
        } else {
            let ops = pairs
                .iter()
                .map(|(op, value)| NumericOp {
                    and: op & 0x40 != 0,
                    lt: op & 0x04 != 0,
                    gt: op & 0x02 != 0,
                    eq: op & 0x01 != 0,
                    value: *value,
                })
                .collect();
            out.push(Component::Numeric { kind, ops });
        }
    }
    Ok(out)
}

/// One of GoBGP's extended communities in JSON as the 8 octets it stands for.
fn gobgp_extended(c: &Value) -> Result<ExtendedCommunity, String> {
    let t = c["type"].as_u64().unwrap_or(999);
    let s = c["subtype"].as_u64().unwrap_or(999);
    let num = |k: &str| c[k].as_u64().ok_or_else(|| format!("no {k} in {c}"));
    let rt = |c: &Value| -> Result<RouteTarget, String> {
        let text = c["value"]
            .as_str()
            .ok_or_else(|| format!("no value in {c}"))?;
        text.parse().map_err(|e| format!("{e}"))
    };
    Ok(match (t, s) {
        (0x80, 0x06) => ExtendedCommunity::traffic_rate_bytes(
            u16::try_from(num("as")?).map_err(|e| e.to_string())?,
            c["rate"].as_f64().ok_or("no rate")? as f32,
        ),
        (0x80, 0x07) => ExtendedCommunity::traffic_action(
            c["sample"].as_bool().ok_or("no sample")?,
            c["terminal"].as_bool().ok_or("no terminal")?,
        ),
        (0x80..=0x82, 0x08) => ExtendedCommunity::redirect(rt(c)?.0),
        (0x80, 0x09) => ExtendedCommunity::traffic_marking(
            u8::try_from(num("value")?).map_err(|e| e.to_string())?,
        ),
        (0x00..=0x02, 0x02) => ExtendedCommunity::route_target(rt(c)?.0),
        (0x08, 0x00) => {
            ExtendedCommunity::redirect_to_next_hop(c["copy"].as_bool().unwrap_or(false))
        }
        (0x01, 0x0c) => ExtendedCommunity::redirect_to_ipv4(
            c["value"]
                .as_str()
                .and_then(|v| v.split(':').next())
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| format!("no address in {c}"))?,
            c["copy"].as_bool().unwrap_or(false),
        ),
        // A type GoBGP does not know (traffic-rate-packets, for one) is
        // shown as its sub-type and value octets in base64.
        (t, _) if c["value"].is_string() => {
            let raw = base64(c["value"].as_str().unwrap_or_default())?;
            let mut bytes = [0u8; 8];
            bytes[0] = u8::try_from(t).map_err(|e| e.to_string())?;
            if raw.len() != 7 {
                return Err(format!("{} octets in {c}", raw.len()));
            }
            bytes[1..].copy_from_slice(&raw);
            ExtendedCommunity(bytes)
        }
        _ => return Err(format!("extended community not understood: {c}")),
    })
}

/// Standard base64 (RFC 4648 §4), as Go's encoding/json writes bytes.
fn base64(text: &str) -> Result<Vec<u8>, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for ch in text.bytes().filter(|b| *b != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == ch)
            .ok_or_else(|| format!("{text:?} is not base64"))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// A GoBGP path in the form of [`Expected`].
fn gobgp_seen(path: &Value) -> Result<Expected, String> {
    let components = gobgp_components(&path["nlri"]).map_err(|e| format!("{e}: {path}"))?;
    let mut e = Expected {
        name: String::new(),
        family: Family::IPV4_FLOWSPEC,
        components,
        extended: Vec::new(),
        communities: Vec::new(),
        large: Vec::new(),
        next_hop: String::new(),
    };
    for a in path["attrs"].as_array().into_iter().flatten() {
        match a["type"].as_u64() {
            Some(8) => {
                for c in a["communities"].as_array().into_iter().flatten() {
                    let c = c
                        .as_u64()
                        .and_then(|c| u32::try_from(c).ok())
                        .ok_or("community")?;
                    e.communities.push(Community(c));
                }
            }
            Some(14) => {
                e.family = match a["afi"].as_u64() {
                    Some(2) => Family::IPV6_FLOWSPEC,
                    _ => Family::IPV4_FLOWSPEC,
                };
                let nh = a["nexthop"].as_str().unwrap_or_default();
                if nh != "0.0.0.0" && nh != "::" && !nh.is_empty() {
                    e.next_hop = nh.to_string();
                }
            }
            Some(16) => {
                for c in a["value"].as_array().into_iter().flatten() {
                    e.extended.push(gobgp_extended(c)?);
                }
            }
            Some(32) => {
                for c in a["value"].as_array().into_iter().flatten() {
                    let n = |k: &str| c[k].as_u64().and_then(|v| u32::try_from(v).ok());
                    match (n("ASN"), n("LocalData1"), n("LocalData2")) {
                        (Some(global), Some(local1), Some(local2)) => {
                            e.large.push(LargeCommunity {
                                global,
                                local1,
                                local2,
                            })
                        }
                        _ => return Err(format!("large community not understood: {c}")),
                    }
                }
            }
            _ => {}
        }
    }
    e.extended.sort();
    Ok(e)
}

/// Every expected rule is at the daemon exactly once, as expected, and
/// nothing else is.
fn compare(expected: &[Expected], seen: &[Expected]) -> Result<(), String> {
    let mut problems = Vec::new();
    for e in expected {
        let same: Vec<&Expected> = seen
            .iter()
            .filter(|s| s.family == e.family && s.components == e.components)
            .collect();
        match same.as_slice() {
            [] => problems.push(format!("{}: not received", e.name)),
            [one] => {
                let mut one = (*one).clone();
                one.name = e.name.clone();
                if one != *e {
                    problems.push(format!("{}: expected {e:?}\n  seen {one:?}", e.name));
                }
            }
            many => problems.push(format!("{}: received {} times", e.name, many.len())),
        }
    }
    if seen.len() != expected.len() {
        problems.push(format!(
            "{} rules seen, {} expected",
            seen.len(),
            expected.len()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_flowspec_both_ways() {
    let lab = Lab::new("flowspec-gobgp");
    let mut steps = Steps::new("gobgp_flowspec_both_ways");
    let gobgp = GoBgp::start(&lab).await;
    // GoBGP's own rules, announced to Ribbit.
    for rule in [
        &[
            "global",
            "rib",
            "-a",
            "ipv4-flowspec",
            "add",
            "match",
            "destination",
            "198.51.100.0/24",
            "protocol",
            "tcp",
            "destination-port",
            "==80",
            "then",
            "discard",
        ][..],
        &[
            "global",
            "rib",
            "-a",
            "ipv4-flowspec",
            "add",
            "match",
            "source",
            "203.0.113.0/24",
            "tcp-flags",
            "=S",
            "&!A",
            "packet-length",
            ">=64",
            "&<=1500",
            "then",
            "rate-limit",
            "9600",
            "redirect",
            "65401:7",
            "mark",
            "12",
        ][..],
        &[
            "global",
            "rib",
            "-a",
            "ipv6-flowspec",
            "add",
            "match",
            "destination",
            "2001:db8:41::/48",
            "protocol",
            "udp",
            "label",
            "==2013",
            "then",
            "action",
            "sample-terminal",
        ][..],
        // An offset prefix (RFC 8956 §3.1) in GoBGP's layout, which
        // Ribbit's decoder falls back to when the RFC layout does not fit.
        &[
            "global",
            "rib",
            "-a",
            "ipv6-flowspec",
            "add",
            "match",
            "source",
            "::1234:0:0:0/96",
            "64",
            "then",
            "discard",
        ][..],
    ] {
        gobgp.run(rule).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let text = format!(
        "{}{FLOWS}",
        ribbit_config("127.0.4.2", 11403, "127.0.4.1", 11401, 65401)
    );
    let mut ribbit = Ribbit::start(&text, "127.0.4.1").await;
    ribbit.wait_established().await;
    steps.done("Established");

    // GoBGP 3.10 reads an IPv6 prefix with a non-zero offset in the same
    // non-RFC layout as ExaBGP (the address up to the length, not the RFC
    // 8956 §3.1 pattern from the offset on). It keeps such a rule as
    // "unknown" with its octets (and shows neither its NLRI nor its
    // attributes in JSON): those octets must be exactly Ribbit's encoding.
    let (offset, expected): (Vec<Expected>, Vec<Expected>) = expected_flows(&ribbit.config)
        .into_iter()
        .partition(|e| e.name == "v6-offset");
    assert_eq!((offset.len(), expected.len()), (1, 7));
    // GoBGP keeps every Flowspec path with next hop 0.0.0.0 ("fictitious"
    // in its table), whatever MP_REACH_NLRI carried; ExaBGP's test checks
    // the next hop of the redirect-to-nexthop rule.
    let expected: Vec<Expected> = expected
        .into_iter()
        .map(|e| Expected {
            next_hop: String::new(),
            ..e
        })
        .collect();
    let offset_rule = ribbit
        .config
        .flows
        .iter()
        .find(|f| f.name.as_deref() == Some("v6-offset"))
        .expect("the offset rule");
    let mut octets = Vec::new();
    offset_rule
        .rule
        .nlri()
        .encode(Afi::IPV6, false, &mut octets);
    // Go prints the component octets, after the NLRI's length octet.
    let unknown = format!(
        "[unknown:[{}]]",
        octets
            .iter()
            .skip(1)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    eventually("GoBGP to show Ribbit's rules", PROPAGATE, || async {
        let paths = gobgp.flows().await?;
        let (raw, parsed): (Vec<_>, Vec<_>) =
            paths.iter().partition(|(k, _)| k.starts_with("[unknown:"));
        let raw: Vec<&String> = raw.iter().map(|(k, _)| k).collect();
        if raw != [&unknown] {
            return Err(format!("unknown rules {raw:?}, expected [{unknown}]"));
        }
        let seen: Vec<Expected> = parsed
            .iter()
            .map(|(_, p)| gobgp_seen(p))
            .collect::<Result<_, _>>()?;
        compare(&expected, &seen)
    })
    .await;
    steps.done("Ribbit's rules in GoBGP");

    ribbit
        .wait_flows(&[
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow destination-ipv4 198.51.100.0/24 protocol =tcp destination-port =80",
                "",
                &["rate-limit:0"],
                &[],
            ),
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow source-ipv4 203.0.113.0/24 tcp-flags [ =syn&!ack ] packet-length [ >=64&<=1500 ]",
                "",
                &["rate-limit:9600", "redirect:65401:7", "mark 12"],
                &[],
            ),
            Seen::new(
                Family::IPV6_FLOWSPEC,
                "flow destination-ipv6 2001:db8:41::/48/0 next-header =udp flow-label =2013",
                "",
                &["action sample-terminal"],
                &[],
            ),
            Seen::new(
                Family::IPV6_FLOWSPEC,
                "flow source-ipv6 ::1234:0:0:0/96/64",
                "",
                &["rate-limit:0"],
                &[],
            ),
        ])
        .await;
    steps.done("GoBGP's rules in Ribbit");
    ribbit.stop().await;
}

// ----------------------------------------------------------------- ExaBGP

/// Announces ExaBGP's rules (`announce.txt`, one command per line) and
/// appends every JSON message to `exabgp-received.jsonl` (see
/// interop_exabgp.rs for why it finds its files through `__file__`).
const EXABGP_HELPER: &str = r#"#!/usr/bin/env python3
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

/// The rules ExaBGP announces to Ribbit.
const EXABGP_ANNOUNCE: &[&str] = &[
    "announce flow route { match { destination 198.51.100.64/26; protocol tcp; destination-port =443; } then { rate-limit 9600; community [ 65411:1 ]; } }",
    "announce flow route { match { source 203.0.113.0/24; tcp-flags [ syn ]; packet-length >100&<200; } then { redirect 65411:9; mark 12; action sample; } }",
    "announce flow route { match { destination 198.51.100.128/26; icmp-type =echo-request; fragment [ is-fragment ]; } then { redirect 198.18.4.99; } }",
    "announce flow route { match { destination 2001:db8:51::/48; next-header udp; destination-port =53; } then { discard; } }",
];

fn read_jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The flow rules in ExaBGP's JSON messages so far, latest announcement
/// per rule (by ExaBGP's `string`).
fn exabgp_seen(messages: &[Value]) -> Result<Vec<Expected>, String> {
    let mut by_string: Vec<(String, Expected)> = Vec::new();
    for m in messages {
        let update = &m["neighbor"]["message"]["update"];
        let Some(families) = update["announce"].as_object() else {
            continue;
        };
        let attrs = &update["attribute"];
        for (family_name, by_next_hop) in families {
            let (family, afi) = match family_name.as_str() {
                "ipv4 flow" => (Family::IPV4_FLOWSPEC, Afi::IPV4),
                "ipv6 flow" => (Family::IPV6_FLOWSPEC, Afi::IPV6),
                _ => continue,
            };
            for (next_hop, rules) in by_next_hop.as_object().into_iter().flatten() {
                for rule in rules.as_array().into_iter().flatten() {
                    let mut components = Vec::new();
                    for (key, values) in rule.as_object().into_iter().flatten() {
                        // The rule's text, and its next hop again.
                        if key == "string" || key == "next-hop" {
                            continue;
                        }
                        let kind = ComponentType::from_exabgp_name(key)
                            .ok_or_else(|| format!("unknown key {key} in {rule}"))?;
                        let values: Vec<&str> = values
                            .as_array()
                            .ok_or_else(|| format!("{key} is not a list in {rule}"))?
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        components.push(
                            Component::parse_exabgp(kind, afi, &values)
                                .map_err(|e| format!("{key} {values:?}: {e}"))?,
                        );
                    }
                    components.sort_by_key(Component::kind);
                    let mut extended: Vec<ExtendedCommunity> = attrs["extended-community"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c["value"].as_u64())
                        .map(|v| ExtendedCommunity(v.to_be_bytes()))
                        .collect();
                    extended.sort();
                    let pairs = |k: &str| -> Vec<Vec<u32>> {
                        attrs[k]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|t| {
                                t.as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|n| n.as_u64().and_then(|n| u32::try_from(n).ok()))
                                    .collect()
                            })
                            .collect()
                    };
                    let communities = pairs("community")
                        .iter()
                        .map(|p| match p.as_slice() {
                            [a, b] => Ok(Community((a << 16) | b)),
                            _ => Err(format!("community {p:?}")),
                        })
                        .collect::<Result<_, String>>()?;
                    let large = pairs("large-community")
                        .iter()
                        .map(|p| match p.as_slice() {
                            [global, local1, local2] => Ok(LargeCommunity {
                                global: *global,
                                local1: *local1,
                                local2: *local2,
                            }),
                            _ => Err(format!("large community {p:?}")),
                        })
                        .collect::<Result<_, String>>()?;
                    let seen = Expected {
                        name: String::new(),
                        family,
                        components,
                        extended,
                        communities,
                        large,
                        next_hop: if next_hop == "no-nexthop" {
                            String::new()
                        } else {
                            next_hop.clone()
                        },
                    };
                    let key = rule["string"].as_str().unwrap_or_default().to_string();
                    by_string.retain(|(k, _)| *k != key);
                    by_string.push((key, seen));
                }
            }
        }
    }
    Ok(by_string.into_iter().map(|(_, e)| e).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_flowspec_both_ways() {
    let lab = Lab::new("flowspec-exabgp");
    let mut steps = Steps::new("exabgp_flowspec_both_ways");
    let exabgp = find_binary("exabgp", "exabgp");
    lab.write(
        "exabgp.conf",
        r#"process api {
    run ./exabgp-api.py;
    encoder json;
}

neighbor 127.0.4.12 {
    router-id 127.0.4.11;
    local-address 127.0.4.11;
    local-as 65411;
    peer-as 65400;
    passive;
    family {
        ipv4 flow;
        ipv6 flow;
    }
    api {
        processes [ api ];
        neighbor-changes;
        receive { parsed; update; }
    }
}
"#,
    );
    lab.write("announce.txt", &EXABGP_ANNOUNCE.join("\n"));
    lab.write_executable("exabgp-api.py", EXABGP_HELPER);
    let mut command = std::process::Command::new(exabgp);
    command
        .args(["exabgp.conf"])
        .env("exabgp_tcp_bind", "127.0.4.11")
        .env("exabgp_tcp_port", "11411")
        .env("exabgp_daemon_user", "root");
    let daemon = Daemon::spawn("exabgp", &lab, command, &["exabgp-received.jsonl"]);
    let log = lab.path("exabgp-received.jsonl");

    let text = format!(
        "{}{FLOWS}",
        ribbit_config("127.0.4.12", 11413, "127.0.4.11", 11411, 65411)
    );
    let mut ribbit = Ribbit::start(&text, "127.0.4.11").await;
    ribbit.wait_established().await;
    steps.done("Established");

    // ExaBGP 4.2 reads an IPv6 prefix with an offset in its own layout
    // (the whole address up to the length, not the RFC 8956 §3.1 pattern;
    // see ribbit_wire::nlri::flowspec), so it cannot read the offset rule:
    // its log shows the NLRI octets as Ribbit sent them, and its JSON the
    // UPDATE's attributes with no rule at all. The other rules must all be
    // there, and the offset rule's UPDATE must be that one.
    let (offset, expected): (Vec<Expected>, Vec<Expected>) = expected_flows(&ribbit.config)
        .into_iter()
        .partition(|e| e.name == "v6-offset");
    assert_eq!((offset.len(), expected.len()), (1, 7));
    let offset_extended: Vec<u64> = offset[0].extended.iter().map(|c| c.value()).collect();
    eventually("ExaBGP to show Ribbit's rules", PROPAGATE, || async {
        daemon.check_running()?;
        let messages = read_jsonl(&log);
        compare(&expected, &exabgp_seen(&messages)?)?;
        let without_rule = messages.iter().any(|m| {
            let u = &m["neighbor"]["message"]["update"];
            let mut values: Vec<u64> = u["attribute"]["extended-community"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["value"].as_u64())
                .collect();
            values.sort_unstable();
            u["announce"].is_null() && !u["attribute"].is_null() && values == offset_extended
        });
        if without_rule {
            Ok(())
        } else {
            Err("no UPDATE with the offset rule's attributes and no rule".to_string())
        }
    })
    .await;
    steps.done("Ribbit's rules in ExaBGP");

    ribbit
        .wait_flows(&[
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow destination-ipv4 198.51.100.64/26 protocol =tcp destination-port =443",
                "",
                &["rate-limit:9600"],
                &["65411:1"],
            ),
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow source-ipv4 203.0.113.0/24 tcp-flags syn packet-length [ >100&<200 ]",
                "",
                &["redirect:65411:9", "mark 12", "action sample"],
                &[],
            ),
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow destination-ipv4 198.51.100.128/26 icmp-type =echo-request fragment is-fragment",
                "198.18.4.99",
                &["redirect-to-nexthop"],
                &[],
            ),
            Seen::new(
                Family::IPV6_FLOWSPEC,
                "flow destination-ipv6 2001:db8:51::/48/0 next-header =udp destination-port =53",
                "",
                &["rate-limit:0"],
                &[],
            ),
        ])
        .await;
    steps.done("ExaBGP's rules in Ribbit");
    ribbit.stop().await;
    drop(daemon);
}

// ------------------------------------------------------------------- BIRD

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_flowspec_to_ribbit() {
    let lab = Lab::new("flowspec-bird");
    let mut steps = Steps::new("bird_flowspec_to_ribbit");
    let bird = find_binary("bird", "bird2");
    let birdc = find_binary("birdc", "bird2");
    // Flow tables have no default (lab trap B3); `multihop` for 127.x (B1).
    // 0x46160000 is 9600.0 as an IEEE float: traffic-rate-bytes 9600.
    lab.write(
        "bird.conf",
        r#"
log "bird.log" all;
router id 127.0.4.21;
flow4 table flowtab4;
flow6 table flowtab6;
protocol device { }
protocol static fs4 {
  flow4;
  route flow4 { dst 198.51.100.0/24; proto = 6; dport = 80; sport > 1023; tcp flags 0x02/0x12; length 64..1500; } {
    bgp_ext_community.add((generic, 0x80060000, 0x46160000));
    bgp_ext_community.add((rt, 65421, 7));
  };
  route flow4 { dst 198.51.100.128/25; src 203.0.113.0/24; icmp type 8; icmp code 0; dscp = 46; fragment is_fragment; };
}
protocol static fs6 {
  flow6;
  route flow6 { dst 2001:db8:21::/48; next header = 17; dport = 53; label 2013; } {
    bgp_ext_community.add((generic, 0x80060000, 0));
  };
}
protocol bgp ribbit {
  local 127.0.4.21 port 11421 as 65421;
  neighbor 127.0.4.22 port 11423 as 65400;
  strict bind yes;
  multihop;
  connect delay time 1;
  passive on;
  flow4 { import all; export all; };
  flow6 { import all; export all; };
}
"#,
    );
    let mut command = std::process::Command::new(bird);
    command.args(["-f", "-c", "bird.conf", "-s", "bird.ctl", "-P", "bird.pid"]);
    let daemon = Daemon::spawn("bird", &lab, command, &["bird.log"]);
    eventually("BIRD's control socket to answer", PROPAGATE, || async {
        daemon.check_running()?;
        run_cli(&birdc, &["-s", "bird.ctl", "show", "status"], lab.dir()).await
    })
    .await;

    let text = ribbit_config("127.0.4.22", 11423, "127.0.4.21", 11421, 65421);
    let mut ribbit = Ribbit::start(&text, "127.0.4.21").await;
    ribbit.wait_established().await;
    steps.done("Established");
    ribbit
        .wait_flows(&[
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow destination-ipv4 198.51.100.0/24 protocol =tcp destination-port =80 source-port >1023 tcp-flags [ =syn&!ack ] packet-length [ >=64&<=1500 ]",
                "",
                &["rate-limit:9600", "target:65421:7"],
                &[],
            ),
            Seen::new(
                Family::IPV4_FLOWSPEC,
                "flow destination-ipv4 198.51.100.128/25 source-ipv4 203.0.113.0/24 icmp-type =echo-request icmp-code =0 dscp =46 fragment =is-fragment",
                "",
                &[],
                &[],
            ),
            Seen::new(
                Family::IPV6_FLOWSPEC,
                "flow destination-ipv6 2001:db8:21::/48/0 next-header =udp destination-port =53 flow-label =2013",
                "",
                &["rate-limit:0"],
                &[],
            ),
        ])
        .await;
    steps.done("BIRD's rules in Ribbit");
    ribbit.stop().await;
    drop(daemon);
}

/// RFC 8955 §6 between three Ribbits: S announces a rule for a
/// destination it does not route; R (validating, the default on eBGP)
/// keeps it but neither uses it nor passes it to M; once S announces a
/// unicast route covering the destination, the rule is valid and reaches M.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_rules_are_validated() {
    use ribbit::route::Route;
    let r_text = r#"
[global]
asn = 65430
router-id = "127.0.4.30"
listen = ["127.0.4.30:11430"]

[[neighbor]]
address = "127.0.4.31"
asn = 65431
passive = true
families = ["ipv4-unicast", "ipv4-flowspec"]

[[neighbor]]
address = "127.0.4.32"
asn = 65432
passive = true
families = ["ipv4-unicast", "ipv4-flowspec"]
"#;
    let edge = |me: &str, asn: u32, extra: &str| {
        format!(
            r#"
[global]
asn = {asn}
router-id = "{me}"
listen = []

[[neighbor]]
address = "127.0.4.30"
port = 11430
local-address = "{me}"
asn = 65430
families = ["ipv4-unicast", "ipv4-flowspec"]
connect-retry = 1
{extra}
"#
        )
    };
    let flow = r#"
[[flow]]
match = { destination = "10.43.1.0/24", protocol = ["=udp"] }
then = { discard = true }
"#;
    let r = Ribbit::start(r_text, "127.0.4.31").await;
    let s = Ribbit::start(&edge("127.0.4.31", 65431, flow), "127.0.4.30").await;
    let m = Ribbit::start(&edge("127.0.4.32", 65432, ""), "127.0.4.30").await;
    let s_addr: IpAddr = "127.0.4.31".parse().unwrap();
    let r_addr: IpAddr = "127.0.4.30".parse().unwrap();
    eventually("R holds S's rule", PROPAGATE, || async {
        match r.flows_from(s_addr).await {
            1 => Ok(()),
            n => Err(format!("{n} rules")),
        }
    })
    .await;
    // An unrelated route after the rule: once M has it, R has dealt with
    // the rule (R handles S's messages in order), and M has no rule.
    s.speaker()
        .announce_route(Route::new("10.99.0.0/24".parse().unwrap()).next_hop(s_addr))
        .expect("a route");
    eventually("M gets S's unrelated route", PROPAGATE, || async {
        let got = m.speaker().adj_rib_in(r_addr).await.unwrap_or_default();
        if got.iter().any(|route| route.nlri.contains("10.99.0.0/24")) {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    assert_eq!(
        m.flows_from(r_addr).await,
        0,
        "an invalid rule is not passed on"
    );
    assert_eq!(m.speaker().state(r_addr).await, Some(State::Established));
    // S comes to route the destination: the rule is valid now.
    s.speaker()
        .announce_route(Route::new("10.43.0.0/16".parse().unwrap()).next_hop(s_addr))
        .expect("a route");
    eventually(
        "M gets the rule once S routes its destination",
        PROPAGATE,
        || async {
            match m.flows_from(r_addr).await {
                1 => Ok(()),
                n => Err(format!("{n} rules")),
            }
        },
    )
    .await;
    // And loses it when S stops routing it.
    s.speaker()
        .withdraw_route(Route::new("10.43.0.0/16".parse().unwrap()).next_hop(s_addr))
        .expect("a route");
    eventually("M loses the rule again", PROPAGATE, || async {
        match m.flows_from(r_addr).await {
            0 => Ok(()),
            n => Err(format!("{n} rules")),
        }
    })
    .await;
    for mut x in [m, s, r] {
        x.stop().await;
    }
}
