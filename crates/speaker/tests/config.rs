//! The configuration file: the issue's example, the defaults docs/config.md
//! promises, every example file, and the one-line message of each mistake.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use ribbit::config::{Config, ConfigError, NextHopSpec, RouteConfig};
use ribbit_exabgp::text::EncodeSettings;
use ribbit_wire::attribute::{AsPath, Community, ExtendedCommunity, LargeCommunity};
use ribbit_wire::capability::AddPathMode;
use ribbit_wire::{Family, FamilySet, NlriList, Origin, PathAttributes};

const ISSUE_EXAMPLE: &str = r#"
[global]
asn = 65000
router-id = "192.0.2.1"
listen = ["127.0.0.1:1179"]

[[neighbor]]
address = "127.0.0.2"
port = 179                      # the peer's port; default 179
local-address = "127.0.0.1"
asn = 65001
families = ["ipv4-unicast", "ipv6-unicast", "ipv4-flowspec"]
hold-time = 90
passive = false
md5-password = "secret"         # optional
ttl-security = 1                # optional, GTSM hops

[[neighbor.route]]              # a static route announced to this neighbor
prefix = "10.0.0.0/24"
next-hop = "self"
communities = ["100:100"]
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(text: &str) -> Config {
    match Config::parse(text, "t.toml") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// The problems of a text that must not load, one string per line.
fn problems(text: &str) -> Vec<String> {
    match Config::parse(text, "t.toml") {
        Ok(c) => panic!("loaded: {c:?}"),
        Err(e) => {
            let lines: Vec<String> = e.to_string().lines().map(str::to_string).collect();
            assert_eq!(lines.len(), e.problems().len(), "one line per problem");
            lines
        }
    }
}

/// A config with one neighbor whose table ends with `extra` (line 8 on).
fn with_neighbor(extra: &str) -> String {
    format!(
        "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\nlisten = []\n\n[[neighbor]]\naddress = \"127.0.0.2\"\nasn = 65001\n{extra}\n"
    )
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

#[test]
fn the_issue_example_parses_as_written() {
    let c = parse(ISSUE_EXAMPLE);
    assert_eq!(c.global.asn, 65000);
    assert_eq!(c.global.router_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(
        c.global.listen,
        vec!["127.0.0.1:1179".parse::<SocketAddr>().unwrap()]
    );
    assert!(c.routes.is_empty());
    assert_eq!(c.neighbors.len(), 1);
    let n = &c.neighbors[0];
    assert_eq!(n.address, v4("127.0.0.2"));
    assert_eq!(n.port, 179);
    assert_eq!(n.local_address, Some(v4("127.0.0.1")));
    assert_eq!(n.peer_asn, 65001);
    assert_eq!(n.local_asn, 65000);
    assert!(n.is_ebgp());
    assert_eq!(
        n.families,
        vec![
            Family::IPV4_UNICAST,
            Family::IPV6_UNICAST,
            Family::IPV4_FLOWSPEC
        ]
    );
    assert_eq!(n.hold_time, 90);
    assert!(!n.passive);
    assert_eq!(
        n.md5_password.as_ref().map(|p| p.as_bytes()),
        Some(&b"secret"[..])
    );
    assert_eq!(n.ttl_security, Some(1));
    assert_eq!(n.outgoing_ttl(), Some(255));
    assert_eq!(n.minimum_ttl(), Some(255));
    assert_eq!(n.multihop, None);
    assert_eq!(n.line, 7);

    assert_eq!(n.routes.len(), 1);
    let r = &n.routes[0];
    assert_eq!(r.prefix, "10.0.0.0/24".parse::<IpNet>().unwrap());
    assert_eq!(r.family(), Family::IPV4_UNICAST);
    assert_eq!(r.next_hop, NextHopSpec::SelfAddress);
    assert_eq!(r.path_id, None);
    assert_eq!(r.attributes.communities, vec![Community::new(100, 100)]);
    assert_eq!(r.line, 18);
}

#[test]
fn the_example_file_is_the_issue_example() {
    let file = root().join("examples/ribbit.toml");
    let from_file = Config::load(&file).unwrap();
    let mut inline = parse(ISSUE_EXAMPLE);
    // Only the lines differ: the file has a comment on top.
    let shift = from_file.neighbors[0].line - inline.neighbors[0].line;
    inline.neighbors[0].line += shift;
    inline.neighbors[0].routes[0].line += shift;
    assert_eq!(from_file, inline);
}

#[test]
fn every_example_loads() {
    let dir = root().join("examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Config::load(&path) {
                panic!("{e}");
            }
            count += 1;
        }
    }
    assert!(count >= 3, "examples found: {count}");
}

#[test]
fn defaults() {
    let c = parse(
        r#"
[global]
asn = 65000
router-id = "192.0.2.1"

[[neighbor]]
address = "192.0.2.2"
asn = 65000

[[neighbor]]
address = "2001:db8::2"
asn = 65001

[[route]]
prefix = "10.0.0.0/8"
"#,
    );
    assert_eq!(
        c.global.listen,
        vec![
            "0.0.0.0:179".parse::<SocketAddr>().unwrap(),
            "[::]:179".parse().unwrap()
        ]
    );
    assert_eq!(c.global.hold_time, 90);
    assert_eq!(c.global.connect_retry, Duration::from_secs(30));

    let n = &c.neighbors[0];
    assert_eq!(n.port, 179);
    assert_eq!(n.local_address, None);
    assert_eq!(n.local_asn, 65000);
    assert!(!n.is_ebgp());
    assert_eq!(n.description, None);
    assert!(n.enabled);
    assert!(!n.passive);
    assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
    assert_eq!(n.hold_time, 90);
    assert_eq!(n.connect_retry, Duration::from_secs(30));
    assert_eq!(n.delay_open, None);
    assert_eq!(n.md5_password, None);
    assert_eq!(n.ttl_security, None);
    assert_eq!(n.multihop, None);
    assert!(n.route_refresh);
    assert!(n.extended_message);
    assert!(n.add_path.is_empty());
    assert!(n.routes.is_empty());
    // iBGP: the system's TTL; eBGP: 1.
    assert_eq!(n.outgoing_ttl(), None);
    assert_eq!(n.minimum_ttl(), None);
    assert_eq!(c.neighbors[1].families, vec![Family::IPV6_UNICAST]);
    assert_eq!(c.neighbors[1].outgoing_ttl(), Some(1));

    let r = &c.routes[0];
    assert_eq!(r.next_hop, NextHopSpec::SelfAddress);
    assert_eq!(r.path_id, None);
    assert_eq!(
        r.attributes,
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::default()),
            ..PathAttributes::default()
        }
    );
}

#[test]
fn global_defaults_flow_to_neighbors() {
    let c = parse(
        r#"
[global]
asn = 65000
listen = ["[::1]:1179", "0.0.0.0", "127.0.0.1:1179"]
hold-time = 0
connect-retry = 5

[[neighbor]]
address = "127.0.0.2"
asn = 65001
local-asn = 4200000000

[[neighbor]]
address = "127.0.0.3"
asn = 65001
hold-time = 30
connect-retry = 60
"#,
    );
    // The first IPv4 listen address other than 0.0.0.0.
    assert_eq!(c.global.router_id, Ipv4Addr::new(127, 0, 0, 1));
    assert_eq!(
        c.global.listen[1],
        "0.0.0.0:179".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.neighbors[0].hold_time, 0);
    assert_eq!(c.neighbors[0].connect_retry, Duration::from_secs(5));
    assert_eq!(c.neighbors[0].local_asn, 4_200_000_000);
    assert_eq!(c.neighbors[1].hold_time, 30);
    assert_eq!(c.neighbors[1].connect_retry, Duration::from_secs(60));
    assert_eq!(c.neighbors[1].local_asn, 65000);
}

#[test]
fn every_key() {
    let c = parse(
        r#"
[global]
asn = 65000
router-id = "192.0.2.1"
listen = []
hold-time = 60
connect-retry = 10

[[neighbor]]
address = "2001:db8::2"
port = 1179
local-address = "2001:db8::1"
asn = 65001
local-asn = 65002
description = "upstream"
enabled = false
passive = true
families = ["ipv6-unicast", "ipv4-unicast"]
hold-time = 9
connect-retry = 20
delay-open = 3
md5-password = "k"
multihop = 4
route-refresh = false
extended-message = false
add-path = { ipv6-unicast = "send", ipv4-unicast = "receive" }

[[neighbor.route]]
prefix = "2001:db8:1::/48"
next-hop = "2001:db8::9"
path-id = 7
origin = "egp"
as-path = "65010 (65011 65012)"
med = 5
local-pref = 300
communities = ["no-export", "65000:1"]
large-communities = ["65000:1:2"]
extended-communities = ["target:65000:7"]

[[route]]
prefix = "10.0.0.0/8"
next-hop = "192.0.2.9"
as-path = [65010, 65011]
"#,
    );
    let n = &c.neighbors[0];
    assert_eq!(n.port, 1179);
    assert_eq!(n.local_asn, 65002);
    assert_eq!(n.description.as_deref(), Some("upstream"));
    assert!(!n.enabled && n.passive && !n.route_refresh && !n.extended_message);
    assert_eq!(n.families, vec![Family::IPV6_UNICAST, Family::IPV4_UNICAST]);
    assert_eq!(n.hold_time, 9);
    assert_eq!(n.connect_retry, Duration::from_secs(20));
    assert_eq!(n.delay_open, Some(Duration::from_secs(3)));
    assert_eq!(n.multihop, Some(4));
    assert_eq!(n.outgoing_ttl(), Some(4));
    assert_eq!(
        n.add_path,
        vec![
            (Family::IPV4_UNICAST, AddPathMode::Receive),
            (Family::IPV6_UNICAST, AddPathMode::Send)
        ]
    );
    assert_eq!(
        n.add_path_mode(Family::IPV6_UNICAST),
        Some(AddPathMode::Send)
    );
    let mut set = FamilySet::EMPTY;
    set.insert(Family::IPV4_UNICAST);
    set.insert(Family::IPV6_UNICAST);
    assert_eq!(n.family_set(), set);

    let r = &n.routes[0];
    assert_eq!(r.path_id, Some(7));
    assert_eq!(
        r.next_hop,
        NextHopSpec::Address("2001:db8::9".parse().unwrap())
    );
    let a = &r.attributes;
    assert_eq!(a.origin, Some(Origin::Egp));
    assert_eq!(a.as_path, Some("65010 (65011 65012)".parse().unwrap()));
    assert_eq!(a.med, Some(5));
    assert_eq!(a.local_pref, Some(300));
    assert_eq!(
        a.communities,
        vec![Community::NO_EXPORT, Community::new(65000, 1)]
    );
    assert_eq!(
        a.large_communities,
        vec!["65000:1:2".parse::<LargeCommunity>().unwrap()]
    );
    assert_eq!(
        a.extended_communities,
        vec!["target:65000:7".parse::<ExtendedCommunity>().unwrap()]
    );
    assert_eq!(
        c.routes[0].attributes.as_path,
        Some(AsPath::sequence(vec![65010, 65011]))
    );

    // Every key used above is documented.
    let docs = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    for key in [
        "asn",
        "router-id",
        "listen",
        "hold-time",
        "connect-retry",
        "address",
        "port",
        "local-address",
        "local-asn",
        "description",
        "enabled",
        "passive",
        "families",
        "delay-open",
        "md5-password",
        "ttl-security",
        "multihop",
        "route-refresh",
        "extended-message",
        "add-path",
        "prefix",
        "next-hop",
        "path-id",
        "origin",
        "as-path",
        "med",
        "local-pref",
        "communities",
        "large-communities",
        "extended-communities",
    ] {
        assert!(
            docs.contains(&format!("| `{key}` |")),
            "{key} is not in docs/config.md"
        );
    }
}

#[test]
fn routes_become_announcements() {
    let c = parse(ISSUE_EXAMPLE);
    let route = &c.neighbors[0].routes[0];
    let a = route.announcement();
    assert_eq!(a.family, Family::IPV4_UNICAST);
    assert_eq!(a.nlri, NlriList::Prefixes(vec![route.nlri()]));
    assert_eq!(a.next_hop, NextHopSpec::SelfAddress);
    let settings = EncodeSettings {
        next_hop_self: Some(v4("127.0.0.1")),
        ..EncodeSettings::default()
    };
    let messages = a.encode(&settings).unwrap();
    assert_eq!(messages.len(), 1);
    // Without an address for `self` there is nothing to send.
    assert!(a.encode(&EncodeSettings::default()).is_err());
}

#[test]
fn routes_for_a_neighbor() {
    let c = parse(
        r#"
[global]
asn = 65000
router-id = "192.0.2.1"

[[neighbor]]
address = "192.0.2.2"
asn = 65001
families = ["ipv4-unicast", "ipv6-unicast"]

[[neighbor.route]]
prefix = "10.0.0.0/8"
med = 1

[[route]]
prefix = "10.0.0.0/8"
med = 2

[[route]]
prefix = "10.1.0.0/16"

[[route]]
prefix = "2001:db8::/32"
"#,
    );
    let n = &c.neighbors[0];
    let meds = |routes: Vec<&RouteConfig>| -> Vec<(String, Option<u32>)> {
        routes
            .iter()
            .map(|r| (r.prefix.to_string(), r.attributes.med))
            .collect()
    };
    let mut v4_only = FamilySet::EMPTY;
    v4_only.insert(Family::IPV4_UNICAST);
    assert_eq!(
        meds(c.routes_for(n, v4_only)),
        vec![
            ("10.1.0.0/16".to_string(), None),
            ("10.0.0.0/8".to_string(), Some(1))
        ]
    );
    assert_eq!(c.routes_for(n, n.family_set()).len(), 3);
    assert_eq!(c.neighbor(v4("192.0.2.2")).map(|n| n.peer_asn), Some(65001));
    assert!(c.neighbor(v4("192.0.2.3")).is_none());
}

#[test]
fn the_md5_key_is_not_printed() {
    let c = parse(ISSUE_EXAMPLE);
    let text = format!("{:?}", c);
    assert!(!text.contains("secret"), "{text}");
}

// ------------------------------------------------------------- problems

#[test]
fn hold_time_of_one_or_two() {
    assert_eq!(
        problems(&with_neighbor("hold-time = 2")),
        ["t.toml:9: neighbor 127.0.0.2: hold-time 2 is not allowed (0, or 3 to 65535)"]
    );
    assert_eq!(
        problems(&with_neighbor("hold-time = 65536")),
        ["t.toml:9: neighbor 127.0.0.2: hold-time 65536 is not allowed (0, or 3 to 65535)"]
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    assert_eq!(
        problems(&with_neighbor("hold-tme = 30")),
        ["t.toml:9: neighbor 127.0.0.2: unknown key hold-tme (did you mean hold-time?)"]
    );
    assert_eq!(
        problems(&with_neighbor("remote-as = 65001")),
        ["t.toml:9: neighbor 127.0.0.2: unknown key remote-as (did you mean asn?)"]
    );
    let p = problems(&with_neighbor("colour = \"green\""));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(
            "t.toml:9: neighbor 127.0.0.2: unknown key colour (expected one of: address, port,"
        ),
        "{p:?}"
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter_id = \"192.0.2.1\"\n"),
        ["t.toml:3: global: unknown key router_id (did you mean router-id?)"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n[[neighbour]]\naddress = \"192.0.2.2\"\n"),
        ["t.toml:4: unknown key neighbour (did you mean neighbor?)"]
    );
    assert_eq!(
        problems(&with_neighbor(
            "[[neighbor.route]]\nprefix = \"10.0.0.0/8\"\nnexthop = \"self\""
        )),
        ["t.toml:11: neighbor 127.0.0.2: route 10.0.0.0/8: unknown key nexthop (did you mean next-hop?)"]
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        problems(&with_neighbor("hold-time = \"90\"")),
        ["t.toml:9: neighbor 127.0.0.2: hold-time must be an integer, not string \"90\""]
    );
    assert_eq!(
        problems(&with_neighbor("hold-time = 99999999999999999999")),
        ["t.toml:9: neighbor 127.0.0.2: hold-time 99999999999999999999 is out of range"]
    );
    assert_eq!(
        problems(&with_neighbor("add-path = \"both\"")),
        ["t.toml:9: neighbor 127.0.0.2: add-path must be a table, not string \"both\""]
    );
    assert_eq!(
        problems(&with_neighbor("passive = \"yes\"")),
        ["t.toml:9: neighbor 127.0.0.2: passive must be true or false, not string \"yes\""]
    );
    assert_eq!(
        problems(&with_neighbor("families = \"ipv4-unicast\"")),
        ["t.toml:9: neighbor 127.0.0.2: families must be a list, not string \"ipv4-unicast\""]
    );
    assert_eq!(
        problems("neighbor = 3\n[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n"),
        ["t.toml:1: neighbor must be written [[neighbor]], one table per entry"]
    );
    assert_eq!(
        problems("[neighbor]\naddress = \"192.0.2.2\"\n[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n"),
        ["t.toml:1: neighbor must be written [[neighbor]], one table per entry"]
    );
    assert_eq!(
        problems("global = 1\n"),
        ["t.toml:1: global must be a table: [global]"]
    );
}

#[test]
fn syntax_errors() {
    // The words are the TOML parser's; the line, the prefix and the hint are Ribbit's.
    let p = problems("[global]\nasn = 65000\nrouter-id = 192.0.2.1\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("t.toml:3: TOML syntax: "), "{p:?}");
    assert!(
        p[0].ends_with("(addresses are written in quotes: \"192.0.2.1\")"),
        "{p:?}"
    );
    let p = problems("[global]\nasn = 65000\nasn = 65001\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("t.toml:3: TOML syntax: "), "{p:?}");
    assert!(p[0].contains("asn"), "{p:?}");
    // A syntax error is the only problem reported.
    let p = problems("[global\nasn = 0\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("t.toml:1: TOML syntax: "), "{p:?}");
}

#[test]
fn global_problems() {
    assert_eq!(
        problems("[[neighbor]]\naddress = \"192.0.2.2\"\nasn = 65001\n"),
        ["t.toml:1: [global] is missing (it needs at least asn)"]
    );
    assert_eq!(
        problems("[global]\nrouter-id = \"192.0.2.1\"\n"),
        ["t.toml:1: global: asn is required"]
    );
    assert_eq!(
        problems("[global]\nasn = 23456\nrouter-id = \"192.0.2.1\"\n"),
        ["t.toml:2: global: asn 23456 is AS_TRANS (RFC 6793), which stands in for 4-octet AS numbers and cannot be used"]
    );
    assert_eq!(
        problems("[global]\nasn = 0\nrouter-id = \"192.0.2.1\"\n"),
        ["t.toml:2: global: asn 0 is reserved (RFC 7607) and cannot be used"]
    );
    assert_eq!(
        problems("[global]\nasn = 4294967296\nrouter-id = \"192.0.2.1\"\n"),
        ["t.toml:2: global: asn 4294967296 is out of range (1 to 4294967295)"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"0.0.0.0\"\n"),
        ["t.toml:3: global: router-id 0.0.0.0 is not allowed"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"2001:db8::1\"\n"),
        ["t.toml:3: global: router-id \"2001:db8::1\" is not an IPv4 address"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\n"),
        ["t.toml:1: global: router-id is required (there is no IPv4 listen address other than 0.0.0.0 to take it from)"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\nlisten = [\"127.0.0.1:1179\",\n  \"localhost:179\",\n  \"127.0.0.1:1179\",\n  \"127.0.0.1:0\"]\n"),
        [
            "t.toml:5: global: listen \"localhost:179\" is not a socket address (such as 192.0.2.1:179, [2001:db8::1]:179 or 192.0.2.1)",
            "t.toml:6: global: listen 127.0.0.1:1179 is given twice",
            "t.toml:7: global: listen \"127.0.0.1:0\" has port 0",
        ]
    );
    assert_eq!(
        problems(
            "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\nhold-time = 1\nconnect-retry = 0\n"
        ),
        [
            "t.toml:4: global: hold-time 1 is not allowed (0, or 3 to 65535)",
            "t.toml:5: global: connect-retry 0 is out of range (1 to 65535)",
        ]
    );
}

#[test]
fn neighbor_problems() {
    assert_eq!(
        problems(&with_neighbor(&format!("md5-password = \"{}\"", "k".repeat(81)))),
        ["t.toml:9: neighbor 127.0.0.2: md5-password is 81 bytes long; TCP-MD5 keys are at most 80 bytes (RFC 2385, Linux TCP_MD5SIG_MAXKEYLEN) and are never truncated"]
    );
    let c = parse(&with_neighbor(&format!(
        "md5-password = \"{}\"",
        "k".repeat(80)
    )));
    assert_eq!(
        c.neighbors[0]
            .md5_password
            .as_ref()
            .unwrap()
            .as_bytes()
            .len(),
        80
    );
    assert_eq!(
        problems(&with_neighbor("md5-password = \"\"")),
        ["t.toml:9: neighbor 127.0.0.2: md5-password is empty (leave the key out for no password)"]
    );
    assert_eq!(
        problems(&with_neighbor("route-refresh = false\nenhanced-route-refresh = true")),
        ["t.toml:10: neighbor 127.0.0.2: enhanced-route-refresh needs route-refresh (RFC 7313 extends RFC 2918)"]
    );
    let c = parse(&with_neighbor("route-refresh = false"));
    assert!(!c.neighbors[0].route_refresh && !c.neighbors[0].enhanced_route_refresh);
    let c = parse(&with_neighbor("enhanced-route-refresh = false"));
    assert!(c.neighbors[0].route_refresh && !c.neighbors[0].enhanced_route_refresh);
    assert_eq!(
        problems(&with_neighbor("ttl-security = 1\nmultihop = 2")),
        ["t.toml:10: neighbor 127.0.0.2: multihop and ttl-security cannot both be set (with ttl-security the TTL is always 255; its value is the number of hops)"]
    );
    assert_eq!(
        problems(&with_neighbor("ttl-security = 255\nmultihop = 0")),
        [
            "t.toml:9: neighbor 127.0.0.2: ttl-security 255 is out of range (1 to 254)",
            "t.toml:10: neighbor 127.0.0.2: multihop 0 is out of range (1 to 255)",
            "t.toml:10: neighbor 127.0.0.2: multihop and ttl-security cannot both be set (with ttl-security the TTL is always 255; its value is the number of hops)",
        ]
    );
    assert_eq!(
        problems(&with_neighbor("families = [\"ipv4-unicast\", \"ipv4-unicst\"]")),
        ["t.toml:9: neighbor 127.0.0.2: families: unknown address family \"ipv4-unicst\" (expected one of ipv4-unicast, ipv6-unicast, ipv4-multicast, ipv6-multicast, ipv4-labeled-unicast, ipv6-labeled-unicast, ipv4-vpn, ipv6-vpn, ipv4-flowspec, ipv6-flowspec, ipv4-flowspec-vpn, ipv6-flowspec-vpn, or afi-N-safi-M)"]
    );
    let p = problems(&with_neighbor("families = [\"afi-25-safi-70\"]"));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("t.toml:9: neighbor 127.0.0.2: families: Ribbit cannot carry afi-25-safi-70 (it knows ipv4-unicast, "),
        "{p:?}"
    );
    assert_eq!(
        problems(&with_neighbor(
            "families = [\"ipv4-unicast\", \"ipv4-unicast\"]"
        )),
        ["t.toml:9: neighbor 127.0.0.2: families lists ipv4-unicast twice"]
    );
    assert_eq!(
        problems(&with_neighbor("families = []")),
        ["t.toml:9: neighbor 127.0.0.2: families is empty (leave it out for the unicast family of the address)"]
    );
    assert_eq!(
        problems(&with_neighbor("local-address = \"::1\"")),
        ["t.toml:9: neighbor 127.0.0.2: local-address ::1 and address 127.0.0.2 are not of the same IP version"]
    );
    assert_eq!(
        problems(&with_neighbor("port = 0\nlocal-asn = 23456\ndelay-open = 0")),
        [
            "t.toml:9: neighbor 127.0.0.2: port 0 is out of range (1 to 65535)",
            "t.toml:10: neighbor 127.0.0.2: local-asn 23456 is AS_TRANS (RFC 6793), which stands in for 4-octet AS numbers and cannot be used",
            "t.toml:11: neighbor 127.0.0.2: delay-open 0 is out of range (1 to 65535)",
        ]
    );
    assert_eq!(
        problems(&with_neighbor("add-path = { ipv6-unicast = \"both\", ipv4-unicast = \"sometimes\" }")),
        [
            "t.toml:9: neighbor 127.0.0.2: add-path ipv4-unicast = \"sometimes\" is not receive, send or both",
            "t.toml:9: neighbor 127.0.0.2: add-path: ipv6-unicast is not in this neighbor's families (ipv4-unicast)",
        ]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n[[neighbor]]\naddress = \"0.0.0.0\"\nasn = 1\n[[neighbor]]\naddress = \"fe80::1\"\nasn = 1\n[[neighbor]]\nasn = 1\n"),
        [
            "t.toml:5: neighbor 0.0.0.0: address 0.0.0.0 is not a host address",
            "t.toml:8: neighbor fe80::1: address fe80::1 is link-local, which needs an interface (not supported yet)",
            "t.toml:10: neighbor: address is required",
        ]
    );
}

#[test]
fn duplicate_neighbors() {
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n\n[[neighbor]]\naddress = \"192.0.2.2\"\nasn = 65001\n\n[[neighbor]]\naddress = \"192.0.2.2\"\nasn = 65002\nport = 1179\n"),
        ["t.toml:9: neighbor 192.0.2.2: address is already that of the neighbor at line 5"]
    );
}

#[test]
fn route_problems() {
    assert_eq!(
        problems(&with_neighbor("[[neighbor.route]]\nprefix = \"10.0.0.1/24\"")),
        ["t.toml:10: neighbor 127.0.0.2: route 10.0.0.1/24: prefix 10.0.0.1/24 has host bits set (the network is 10.0.0.0/24)"]
    );
    assert_eq!(
        problems(&with_neighbor("[[neighbor.route]]\nprefix = \"2001:db8::/32\"")),
        ["t.toml:9: neighbor 127.0.0.2: route 2001:db8::/32 is ipv6-unicast, which is not in this neighbor's families (ipv4-unicast)"]
    );
    let global = "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n";
    assert_eq!(
        problems(&format!("{global}[[route]]\nprefix = \"10.0.0.1\"\n[[route]]\nnext-hop = \"self\"\n")),
        [
            "t.toml:5: route 10.0.0.1: prefix 10.0.0.1 has no length (write 10.0.0.1/32 for one address)",
            "t.toml:6: route: prefix is required",
        ]
    );
    assert_eq!(
        problems(&format!("{global}[[route]]\nprefix = \"10.0.0.0/8\"\nnext-hop = \"2001:db8::1\"\norigin = \"bgp\"\nas-path = [65001, 0]\nmed = -1\ncommunities = [\"1:2:3\"]\nlarge-communities = [\"1:2\"]\nextended-communities = [\"target\"]\n")),
        [
            "t.toml:6: route 10.0.0.0/8: next-hop 2001:db8::1 is IPv6, and an IPv4 prefix needs an IPv4 next-hop (extended next hop, RFC 8950, is not configurable yet)",
            "t.toml:7: route 10.0.0.0/8: origin \"bgp\" is not igp, egp or incomplete",
            "t.toml:8: route 10.0.0.0/8: as-path contains AS 0, which is reserved (RFC 7607)",
            "t.toml:9: route 10.0.0.0/8: med -1 is out of range (0 to 4294967295)",
            "t.toml:10: route 10.0.0.0/8: communities \"1:2:3\" is not a community (such as 65000:100 or no-export)",
            "t.toml:11: route 10.0.0.0/8: large-communities \"1:2\" is not a large community (such as 65000:1:2)",
            "t.toml:12: route 10.0.0.0/8: extended-communities \"target\" is not an extended community (such as target:65000:100)",
        ]
    );
    assert_eq!(
        problems(&format!("{global}[[route]]\nprefix = \"10.0.0.0/8\"\n\n[[route]]\nprefix = \"10.0.0.0/8\"\n[[route]]\nprefix = \"10.0.0.0/8\"\npath-id = 2\n")),
        ["t.toml:7: route 10.0.0.0/8 is given twice (first at line 4)"]
    );
}

#[test]
fn all_problems_are_reported_together() {
    let text = r#"[global]
asn = 65000
router-id = "192.0.2.1"

[[neighbor]]
address = "192.0.2.2"
asn = 65001
hold-time = 1
colour = "blue"

[[neighbor]]
address = "192.0.2.3"
asn = 23456
md5-password = "ok"

[[neighbor.route]]
prefix = "10.0.0.1/8"

[[route]]
prefix = "192.168.0.0/16"
med = "high"
"#;
    let e = Config::parse(text, "ribbit.toml").unwrap_err();
    assert!(matches!(e, ConfigError::Invalid(_)));
    let lines: Vec<String> = e.to_string().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].starts_with("ribbit.toml:9: neighbor 192.0.2.2: unknown key colour"));
    assert_eq!(
        &lines[1..],
        [
            "ribbit.toml:13: neighbor 192.0.2.3: asn 23456 is AS_TRANS (RFC 6793), which stands in for 4-octet AS numbers and cannot be used",
            "ribbit.toml:17: neighbor 192.0.2.3: route 10.0.0.1/8: prefix 10.0.0.1/8 has host bits set (the network is 10.0.0.0/8)",
            "ribbit.toml:21: route 192.168.0.0/16: med must be an integer, not string \"high\"",
        ]
    );
}

#[test]
fn a_missing_file() {
    let e = Config::load("/nonexistent/ribbit.toml").unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(
        e.to_string().starts_with("/nonexistent/ribbit.toml: "),
        "{e}"
    );
    assert!(e.problems().is_empty());
}
