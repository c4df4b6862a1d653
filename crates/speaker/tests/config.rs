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

// ------------------------------------------------------------- policies

use ribbit::config::{AddPathSendConfig, MaxPrefixAction, MaxPrefixConfig, NeighborConfig};
use ribbit_rib::policy::{
    Action, Amount, Condition, NextHopAction, Outcome, PeerFacts, PolicyChain, Subject, Verdict,
};
use ribbit_rib::RouteAttrs;
use ribbit_wire::capability::Role;
use ribbit_wire::update::NextHop;

fn facts(n: &NeighborConfig) -> PeerFacts {
    PeerFacts {
        address: n.address,
        asn: n.peer_asn,
        local_asn: n.local_asn,
        local_address: n.local_address,
    }
}

fn route(path: &[u32], communities: &[&str], large: &[&str]) -> RouteAttrs {
    RouteAttrs {
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 3)),
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(path.to_vec())),
            communities: communities.iter().map(|c| c.parse().unwrap()).collect(),
            large_communities: large.iter().map(|c| c.parse().unwrap()).collect(),
            ..PathAttributes::default()
        },
    }
}

/// Apply a chain to a route of `prefix` between `peer` (the neighbor) and
/// `source` (where it came from).
fn apply(
    chain: &PolicyChain,
    prefix: &str,
    peer: &PeerFacts,
    source: Option<&PeerFacts>,
    attrs: &RouteAttrs,
) -> Outcome {
    let prefix: IpNet = prefix.parse().unwrap();
    let family = match prefix {
        IpNet::V4(_) => Family::IPV4_UNICAST,
        IpNet::V6(_) => Family::IPV6_UNICAST,
    };
    let subject = Subject {
        family,
        prefix: Some(prefix),
        peer,
        source,
    };
    chain.apply(&subject, attrs)
}

fn accepted(outcome: Outcome, original: &RouteAttrs) -> RouteAttrs {
    match outcome {
        Outcome::Accept(Some(a)) => *a,
        Outcome::Accept(None) => original.clone(),
        Outcome::Reject => panic!("rejected"),
    }
}

fn strings<T: ToString>(list: &[T]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

#[test]
fn the_policies_example_does_what_its_comments_say() {
    let c = Config::load(root().join("examples/policies.toml")).unwrap();
    assert_eq!(c.policies.len(), 5);
    let transit = &c.neighbors[0];
    let customer = &c.neighbors[1];
    let (customer_in, customer_out) = c.policy_chains(customer);
    let (transit_in, transit_out) = c.policy_chains(transit);
    assert_eq!(customer_in.default, Verdict::Reject);
    assert_eq!(transit_out.default, Verdict::Reject);
    let from_customer = facts(customer);
    let from_transit = facts(transit);

    // The customer's prefix, from its AS: preferred and tagged, and our
    // own community it tried to set is gone.
    let r = route(&[64501, 64501], &["64500:666", "64501:1"], &["64500:9:9"]);
    let a = accepted(
        apply(
            &customer_in,
            "198.51.100.0/23",
            &from_customer,
            Some(&from_customer),
            &r,
        ),
        &r,
    );
    assert_eq!(a.attributes.local_pref, Some(200));
    assert_eq!(strings(&a.attributes.communities), ["64501:1", "64500:100"]);
    assert_eq!(strings(&a.attributes.large_communities), ["64500:1:64501"]);
    // Not its prefix, too specific, a bogon, a leak, or not from its AS: dropped.
    for (prefix, path) in [
        ("192.0.2.0/24", &[64501][..]),
        ("198.51.100.0/25", &[64501]),
        ("10.1.0.0/16", &[64501]),
        ("198.51.100.0/24", &[64501, 1299, 64999]),
        ("198.51.100.0/24", &[64502, 64501]),
        ("198.51.100.0/24", &[64501, 65000]),
    ] {
        let r = route(path, &[], &[]);
        assert_eq!(
            apply(
                &customer_in,
                prefix,
                &from_customer,
                Some(&from_customer),
                &r
            ),
            Outcome::Reject,
            "{prefix} {path:?}"
        );
    }

    // From transit: tagged; a long path a little less preferred.
    let r = route(&[64510, 3356, 15169], &[], &[]);
    let a = accepted(
        apply(
            &transit_in,
            "8.8.8.0/24",
            &from_transit,
            Some(&from_transit),
            &r,
        ),
        &r,
    );
    assert_eq!(a.attributes.local_pref, Some(100));
    assert_eq!(strings(&a.attributes.communities), ["64500:300"]);
    let long = route(&[64510, 1, 2, 3, 4, 5], &[], &[]);
    let a = accepted(
        apply(
            &transit_in,
            "8.8.8.0/24",
            &from_transit,
            Some(&from_transit),
            &long,
        ),
        &long,
    );
    assert_eq!(a.attributes.local_pref, Some(90));

    // To transit: customer routes, prepended once, without our tags;
    // transit routes are not sent back.
    let tagged = route(&[64501], &["64500:100", "64501:7"], &[]);
    let a = accepted(
        apply(
            &transit_out,
            "198.51.100.0/24",
            &from_transit,
            Some(&from_customer),
            &tagged,
        ),
        &tagged,
    );
    assert_eq!(
        a.attributes.as_path,
        Some(AsPath::sequence(vec![64500, 64501]))
    );
    assert_eq!(strings(&a.attributes.communities), ["64501:7"]);
    let untagged = route(&[64510, 15169], &["64500:300"], &[]);
    assert_eq!(
        apply(
            &transit_out,
            "8.8.8.0/24",
            &from_transit,
            Some(&from_transit),
            &untagged
        ),
        Outcome::Reject
    );
    // To the customer: everything but blackhole requests.
    assert_eq!(
        apply(
            &customer_out,
            "8.8.8.0/24",
            &from_customer,
            Some(&from_transit),
            &route(&[64510], &["blackhole"], &[])
        ),
        Outcome::Reject
    );
    let a = accepted(
        apply(
            &customer_out,
            "8.8.8.0/24",
            &from_customer,
            Some(&from_transit),
            &untagged,
        ),
        &untagged,
    );
    assert!(a.attributes.communities.is_empty());

    // The route reflector client.
    let rr = &c.neighbors[2];
    assert!(rr.route_reflector_client && rr.next_hop_self && rr.keep_adj_rib_in);
    assert!(!rr.next_hop_unchanged);
    assert!(rr.send_med, "iBGP sends MED");
    assert_eq!(rr.add_path_send, AddPathSendConfig::Best(2));
    assert!(rr.graceful_restart);
    assert_eq!(rr.graceful_restart_time, Duration::from_secs(180));
    assert_eq!(rr.long_lived_stale_time, Duration::from_secs(3600));
    assert!(c.policy_chains(rr).0.is_pass_through());

    assert_eq!(transit.role, Some(Role::Customer));
    assert_eq!(customer.role, Some(Role::Provider));
    assert_eq!(
        transit.max_prefix,
        vec![MaxPrefixConfig {
            family: None,
            limit: 1_200_000,
            action: MaxPrefixAction::Warn,
            restart: None
        }]
    );
    assert_eq!(
        customer.max_prefix_for(Family::IPV4_UNICAST),
        Some(&MaxPrefixConfig {
            family: Some(Family::IPV4_UNICAST),
            limit: 100,
            action: MaxPrefixAction::Teardown,
            restart: Some(Duration::from_secs(300))
        })
    );
    assert_eq!(
        customer
            .max_prefix_for(Family::IPV6_UNICAST)
            .map(|m| (m.limit, m.action)),
        Some((50, MaxPrefixAction::WithdrawExcess))
    );
}

#[test]
fn the_route_server_example_does_what_its_comments_say() {
    let c = Config::load(root().join("examples/route-server.toml")).unwrap();
    assert_eq!(c.global.blackhole, Verdict::Accept);
    assert!(!c.global.always_compare_med);
    let (a, b) = (&c.neighbors[0], &c.neighbors[1]);
    for n in [a, b] {
        assert!(n.route_server_client && n.next_hop_unchanged && n.send_med);
        assert!(!n.next_hop_self && n.keep_adj_rib_in);
        assert_eq!(n.role, Some(Role::RouteServer));
        assert_eq!(n.import_default, Verdict::Reject);
        assert_eq!(n.export_default, Verdict::Accept);
    }
    assert_eq!(
        a.max_prefix,
        vec![MaxPrefixConfig {
            family: None,
            limit: 100,
            action: MaxPrefixAction::Teardown,
            restart: Some(Duration::from_secs(600))
        }]
    );
    assert_eq!(
        b.max_prefix_for(Family::IPV4_UNICAST).map(|m| m.limit),
        Some(50)
    );
    let (fa, fb) = (facts(a), facts(b));
    let (a_in, a_out) = c.policy_chains(a);

    let r = route(&[64501], &[], &[]);
    assert_eq!(
        apply(&a_in, "198.51.100.0/24", &fa, Some(&fa), &r),
        Outcome::Accept(None)
    );
    for (prefix, path) in [
        ("203.0.113.0/24", &[64501][..]),
        ("198.51.100.0/24", &[64502, 64501]),
        ("198.51.100.0/25", &[64501]),
        ("10.0.0.0/8", &[64501]),
        ("192.0.2.0/24", &[64501]),
    ] {
        let r = route(path, &[], &[]);
        assert_eq!(
            apply(&a_in, prefix, &fa, Some(&fa), &r),
            Outcome::Reject,
            "{prefix}"
        );
    }
    // A blackhole request for its own host route: accepted, NO_EXPORT added.
    let bh = route(&[64501], &["blackhole"], &[]);
    let got = accepted(apply(&a_in, "198.51.100.7/32", &fa, Some(&fa), &bh), &bh);
    assert_eq!(
        strings(&got.attributes.communities),
        ["blackhole", "no-export"]
    );
    // ...but not for someone else's.
    assert_eq!(
        apply(&a_in, "203.0.113.7/32", &fa, Some(&fa), &bh),
        Outcome::Reject
    );

    // Export control by large communities, stripped on the way out.
    let from_b = |large: &[&str]| route(&[64502], &[], large);
    let plain = from_b(&["64502:5:5"]);
    assert_eq!(
        apply(&a_out, "203.0.113.0/24", &fa, Some(&fb), &plain),
        Outcome::Accept(None)
    );
    let not_to_a = from_b(&["64500:0:64501"]);
    assert_eq!(
        apply(&a_out, "203.0.113.0/24", &fa, Some(&fb), &not_to_a),
        Outcome::Reject
    );
    let to_none = from_b(&["64500:0:0"]);
    assert_eq!(
        apply(&a_out, "203.0.113.0/24", &fa, Some(&fb), &to_none),
        Outcome::Reject
    );
    let only_a = from_b(&["64500:0:0", "64500:1:64501", "64502:1:1"]);
    let got = accepted(
        apply(&a_out, "203.0.113.0/24", &fa, Some(&fb), &only_a),
        &only_a,
    );
    assert_eq!(strings(&got.attributes.large_communities), ["64502:1:1"]);
}

const SETS_AND_POLICY: &str = r#"
[global]
asn = 65000
router-id = "192.0.2.1"
listen = []

[prefix-sets]
p1 = ["10.0.0.0/8 le 24", "2001:db8::/32 ge 48"]
p2 = "192.168.0.0/16"

[as-path-sets]
a1 = ["_65001_", "^65002$"]

[community-sets]
c1 = ["65000:*", "no-export"]

[extended-community-sets]
e1 = ["target:65000:*"]

[large-community-sets]
l1 = ["65000:*:*"]

[[policy]]
name = "every-key"

[[policy.rule]]
name = "matches"
match.prefix-set = ["p1", "p2"]
match.prefix = "172.16.0.0/12 le 32"
match.as-path = ["_65001_"]
match.as-path-set = "a1"
match.as-path-length = { min = 1, max = 10 }
match.communities = ["65000:1"]
match.community-set = "c1"
match.extended-communities = "target:65000:1"
match.extended-community-set = ["e1"]
match.large-communities = ["65000:1:*"]
match.large-community-set = "l1"
match.neighbor = ["192.0.2.2", "2001:db8::/32"]
match.neighbor-asn = [65001, 65002]
match.source = "192.0.2.0/24"
match.source-asn = 65001
match.next-hop = ["192.0.2.9"]
match.origin = ["igp", "egp"]
match.family = "ipv4-unicast"
match.not = { community-set = "c1", as-path-length = 3 }
then.local-pref = "+10"
then.med = 50
then.origin = "incomplete"
then.next-hop = "self"
then.as-path-prepend = { asn = 65009, count = 3 }
then.communities = { set = ["1:1"], remove = ["65000:*"], remove-set = ["c1"], add = ["no-export"] }
then.extended-communities = { add = ["target:65000:9"], remove-set = "e1" }
then.large-communities = { remove = "65000:*:*" }
then.accept = true

[[policy.rule]]
then = { reject = true }

[[policy.rule]]
then = { med = "-5", local-pref = 7, next-hop = "192.0.2.77", as-path-prepend = 2 }

[[policy.rule]]
then = { next-hop = "peer", med = "+1", local-pref = "-1" }

[[policy.rule]]
then = "accept"

[[neighbor]]
address = "192.0.2.2"
asn = 65001
import = "every-key"
export = ["every-key"]
"#;

#[test]
fn every_policy_key() {
    let c = parse(SETS_AND_POLICY);
    let p = c.policies.get("every-key").unwrap();
    assert_eq!(p.rules.len(), 5);
    let rule = &p.rules[0];
    assert_eq!(rule.name.as_deref(), Some("matches"));
    assert_eq!(rule.verdict, Some(Verdict::Accept));
    // One condition per key, in a fixed order, the two of `not` last.
    assert_eq!(rule.conditions.len(), 20, "{:#?}", rule.conditions);
    let kinds: Vec<String> = rule
        .conditions
        .iter()
        .map(|c| {
            format!("{c:?}")
                .split(['(', ' '])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Prefix",
            "Prefix",
            "AsPath",
            "AsPath",
            "AsPathLength",
            "Communities",
            "Communities",
            "ExtendedCommunities",
            "ExtendedCommunities",
            "LargeCommunities",
            "LargeCommunities",
            "Neighbor",
            "NeighborAsn",
            "Source",
            "SourceAsn",
            "NextHop",
            "Origin",
            "Family",
            "Not",
            "Not"
        ]
    );
    match &rule.conditions[0] {
        Condition::Prefix(sets) => {
            let names: Vec<&str> = sets.iter().map(|s| s.name()).collect();
            assert_eq!(names, ["p1", "p2"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(rule
        .conditions
        .contains(&Condition::AsPathLength { min: 1, max: 10 }));
    assert!(rule.conditions.contains(&Condition::Neighbor(vec![
        "192.0.2.2/32".parse().unwrap(),
        "2001:db8::/32".parse().unwrap()
    ])));
    assert!(rule
        .conditions
        .contains(&Condition::NeighborAsn(vec![65001, 65002])));
    assert!(rule.conditions.contains(&Condition::SourceAsn(vec![65001])));
    assert!(rule
        .conditions
        .contains(&Condition::Origin(vec![Origin::Igp, Origin::Egp])));
    assert!(rule
        .conditions
        .contains(&Condition::Family(vec![Family::IPV4_UNICAST])));
    // The `not` table holds two conditions, each negated.
    let nots = rule
        .conditions
        .iter()
        .filter(|c| matches!(c, Condition::Not(_)))
        .count();
    assert_eq!(nots, 2, "{:#?}", rule.conditions);
    assert!(rule
        .conditions
        .contains(&Condition::Not(Box::new(Condition::AsPathLength {
            min: 3,
            max: 3
        }))));

    // Actions in their fixed order.
    assert_eq!(rule.actions.len(), 8);
    assert_eq!(rule.actions[0], Action::Origin(Origin::Incomplete));
    assert_eq!(
        rule.actions[1],
        Action::AsPathPrepend {
            asn: Some(65009),
            count: 3
        }
    );
    assert_eq!(rule.actions[2], Action::NextHop(NextHopAction::SelfAddress));
    assert_eq!(rule.actions[3], Action::LocalPref(Amount::Add(10)));
    assert_eq!(rule.actions[4], Action::Med(Amount::Set(50)));
    match &rule.actions[5] {
        Action::Communities(e) => {
            assert_eq!(e.set, Some(vec![Community::new(1, 1)]));
            assert_eq!(e.add, vec![Community::NO_EXPORT]);
            let names: Vec<&str> = e.remove.iter().map(|s| s.name()).collect();
            assert_eq!(names, ["", "c1"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&rule.actions[6], Action::ExtendedCommunities(e) if e.add.len() == 1 && e.remove.len() == 1)
    );
    assert!(
        matches!(&rule.actions[7], Action::LargeCommunities(e) if e.set.is_none() && e.remove.len() == 1)
    );

    assert_eq!(p.rules[1].verdict, Some(Verdict::Reject));
    assert!(p.rules[1].actions.is_empty() && p.rules[1].conditions.is_empty());
    assert_eq!(
        p.rules[2].actions,
        vec![
            Action::AsPathPrepend {
                asn: None,
                count: 2
            },
            Action::NextHop(NextHopAction::Address("192.0.2.77".parse().unwrap())),
            Action::LocalPref(Amount::Set(7)),
            Action::Med(Amount::Subtract(5)),
        ]
    );
    assert_eq!(p.rules[2].verdict, None);
    assert_eq!(
        p.rules[3].actions,
        vec![
            Action::NextHop(NextHopAction::Peer),
            Action::LocalPref(Amount::Subtract(1)),
            Action::Med(Amount::Add(1)),
        ]
    );
    assert_eq!(p.rules[4].verdict, Some(Verdict::Accept));

    let n = &c.neighbors[0];
    assert_eq!(n.import, ["every-key"]);
    assert_eq!(n.export, ["every-key"]);
    let (import, export) = c.policy_chains(n);
    assert!(import.uses("every-key") && export.uses("every-key"));
    assert_eq!(import.default, Verdict::Accept);
}

#[test]
fn a_chain_naming_an_unknown_policy_rejects_everything() {
    let c = parse(SETS_AND_POLICY);
    let mut n = c.neighbors[0].clone();
    n.import = vec!["gone".to_string()];
    let (import, export) = c.policy_chains(&n);
    assert_eq!(import, PolicyChain::reject_all());
    assert!(export.uses("every-key"));
}

#[test]
fn routing_defaults() {
    let c = parse(
        r#"
[global]
asn = 65000
router-id = "192.0.2.1"

[[neighbor]]
address = "192.0.2.2"
asn = 65001

[[neighbor]]
address = "192.0.2.3"
asn = 65000

[[neighbor]]
address = "192.0.2.4"
asn = 65004
route-server-client = true

[[neighbor]]
address = "192.0.2.5"
asn = 65005
route-server-client = true
next-hop-self = true
send-med = false
"#,
    );
    let g = &c.global;
    assert_eq!(g.cluster_id, g.router_id);
    assert!(!g.always_compare_med && !g.prefer_oldest);
    assert_eq!(g.blackhole, Verdict::Accept);
    assert_eq!(g.decision_options(), ribbit_rib::DecisionOptions::default());
    assert!(c.policies.is_empty());

    let ebgp = &c.neighbors[0];
    assert!(ebgp.import.is_empty() && ebgp.export.is_empty());
    assert_eq!(
        (ebgp.import_default, ebgp.export_default),
        (Verdict::Accept, Verdict::Accept)
    );
    assert!(!ebgp.route_reflector_client && !ebgp.route_server_client);
    assert!(!ebgp.next_hop_self && !ebgp.next_hop_unchanged);
    assert!(!ebgp.send_med, "no MED to other ASes by default");
    assert_eq!(ebgp.allow_own_as, 0);
    assert!(!ebgp.keep_adj_rib_in);
    assert_eq!(ebgp.role, None);
    assert!(ebgp.max_prefix.is_empty());
    assert_eq!(ebgp.max_prefix_for(Family::IPV4_UNICAST), None);
    assert_eq!(ebgp.add_path_send, AddPathSendConfig::All);
    assert!(!ebgp.graceful_restart);
    assert_eq!(ebgp.graceful_restart_time, Duration::from_secs(120));
    assert_eq!(ebgp.long_lived_stale_time, Duration::ZERO);
    let (import, export) = c.policy_chains(ebgp);
    assert!(import.is_pass_through() && export.is_pass_through());

    assert!(c.neighbors[1].send_med, "iBGP sends MED");
    let rs = &c.neighbors[2];
    assert!(rs.route_server_client && rs.next_hop_unchanged && rs.send_med);
    let rs_self = &c.neighbors[3];
    assert!(rs_self.next_hop_self && !rs_self.next_hop_unchanged && !rs_self.send_med);
}

#[test]
fn every_routing_key() {
    let c = parse(
        r#"
[global]
asn = 65000
router-id = "192.0.2.1"
cluster-id = "10.0.0.1"
always-compare-med = true
deterministic-med = true
prefer-oldest = true
blackhole = "reject"

[[policy]]
name = "a"

[[policy]]
name = "b"

[[neighbor]]
address = "192.0.2.2"
asn = 65000
families = ["ipv4-unicast", "ipv6-unicast"]
import = ["a", "b"]
import-default = "reject"
export = "b"
export-default = "reject"
route-reflector-client = true
next-hop-unchanged = true
send-med = false
allow-own-as = 10
keep-adj-rib-in = true
add-path = { ipv4-unicast = "both" }
add-path-send = "all"
graceful-restart = true
graceful-restart-time = 4095
long-lived-stale-time = 16777215
max-prefix = [{ family = "ipv4-unicast", limit = 10, action = "withdraw-excess" }, { limit = 20, action = "teardown", restart = 65535 }]

[[neighbor]]
address = "192.0.2.3"
asn = 65003
role = "peer"
next-hop-self = true
send-med = true
add-path = { ipv4-unicast = "send" }
add-path-send = 255

[[neighbor]]
address = "192.0.2.4"
asn = 65004
role = "rs-client"
max-prefix = 1
"#,
    );
    let g = &c.global;
    assert_eq!(g.cluster_id, Ipv4Addr::new(10, 0, 0, 1));
    assert!(g.always_compare_med && g.prefer_oldest);
    assert_eq!(g.blackhole, Verdict::Reject);
    assert_eq!(
        g.decision_options(),
        ribbit_rib::DecisionOptions {
            always_compare_med: true,
            prefer_oldest: true
        }
    );
    let n = &c.neighbors[0];
    assert_eq!(n.import, ["a", "b"]);
    assert_eq!(n.export, ["b"]);
    assert_eq!(
        (n.import_default, n.export_default),
        (Verdict::Reject, Verdict::Reject)
    );
    assert!(n.route_reflector_client && n.next_hop_unchanged && !n.send_med);
    assert_eq!(n.allow_own_as, 10);
    assert!(n.keep_adj_rib_in && n.graceful_restart);
    assert_eq!(n.add_path_send, AddPathSendConfig::All);
    assert_eq!(n.graceful_restart_time, Duration::from_secs(4095));
    assert_eq!(n.long_lived_stale_time, Duration::from_secs(16_777_215));
    assert_eq!(
        n.max_prefix_for(Family::IPV4_UNICAST)
            .map(|m| (m.limit, m.action)),
        Some((10, MaxPrefixAction::WithdrawExcess))
    );
    assert_eq!(
        n.max_prefix_for(Family::IPV6_UNICAST),
        Some(&MaxPrefixConfig {
            family: None,
            limit: 20,
            action: MaxPrefixAction::Teardown,
            restart: Some(Duration::from_secs(65535))
        })
    );
    let (import, export) = c.policy_chains(n);
    let names: Vec<&str> = import.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(
        (import.default, export.default),
        (Verdict::Reject, Verdict::Reject)
    );
    assert!(!import.is_pass_through());

    let p = &c.neighbors[1];
    assert_eq!(p.role, Some(Role::Peer));
    assert!(p.next_hop_self && p.send_med);
    assert_eq!(p.add_path_send, AddPathSendConfig::Best(255));
    assert_eq!(c.neighbors[2].role, Some(Role::RouteServerClient));
    assert_eq!(c.neighbors[2].max_prefix[0].limit, 1);

    // A cluster-id may also be a number, as some daemons write it.
    let c = parse("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\ncluster-id = 167772161\n");
    assert_eq!(c.global.cluster_id, Ipv4Addr::new(10, 0, 0, 1));
}

#[test]
fn every_new_key_is_documented() {
    let docs = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    for key in [
        // [global]
        "cluster-id",
        "always-compare-med",
        "deterministic-med",
        "prefer-oldest",
        "blackhole",
        // [[neighbor]]
        "import",
        "import-default",
        "export",
        "export-default",
        "route-reflector-client",
        "route-server-client",
        "next-hop-self",
        "next-hop-unchanged",
        "send-med",
        "allow-own-as",
        "keep-adj-rib-in",
        "role",
        "max-prefix",
        "add-path-send",
        "graceful-restart",
        "graceful-restart-time",
        "long-lived-stale-time",
        // max-prefix
        "family",
        "limit",
        "action",
        "restart",
        // [[policy]], [[policy.rule]]
        "name",
        "rule",
        "match",
        "then",
        // match
        "prefix-set",
        "prefix",
        "as-path",
        "as-path-set",
        "as-path-length",
        "communities",
        "community-set",
        "neighbor",
        "neighbor-asn",
        "source",
        "source-asn",
        "next-hop",
        "origin",
        "not",
        // then
        "accept",
        "reject",
        "local-pref",
        "med",
        "as-path-prepend",
        "extended-communities",
        "large-communities",
    ] {
        assert!(
            docs.contains(&format!("| `{key}` |")) || docs.contains(&format!("| `{key}`, ")),
            "{key} is not in docs/config.md"
        );
    }
    for section in [
        "[prefix-sets]",
        "[as-path-sets]",
        "[community-sets]",
        "[extended-community-sets]",
        "[large-community-sets]",
        "[[policy]]",
        "[[policy.rule]]",
    ] {
        assert!(docs.contains(section), "{section}");
    }
}

const GLOBAL: &str = "[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n";

#[test]
fn set_problems() {
    assert_eq!(
        problems(&format!(
            "{GLOBAL}[prefix-sets]\nbogons = [\"10.0.0.0/8 le 32\", \"10.0.0.1/8\",\n  \"172.16.0.0/12 le 8\", \"10.0.0.0/8 ge 24 le 16\", \"10.0.0.0/8 le 33\", \"10.0.0.0\", \"ten\"]\n\"bad name\" = [\"10.0.0.0/8\"]\nnum = 3\n"
        )),
        [
            "t.toml:5: prefix-set bogons: \"10.0.0.1/8\" has host bits set (the network is 10.0.0.0/8)",
            "t.toml:6: prefix-set bogons: \"172.16.0.0/12 le 8\" has le 8, shorter than the prefix's own length 12",
            "t.toml:6: prefix-set bogons: \"10.0.0.0/8 ge 24 le 16\" has ge 24 greater than le 16",
            "t.toml:6: prefix-set bogons: \"10.0.0.0/8 le 33\" needs a length from 0 to 32 after le",
            "t.toml:6: prefix-set bogons: \"10.0.0.0\" has no prefix length (write 10.0.0.0/32 for one address)",
            "t.toml:6: prefix-set bogons: \"ten\" does not start with a prefix (\"ten\" is not one)",
            "t.toml:7: prefix-set name \"bad name\" may only have letters, digits, -, _ and . (and cannot be empty)",
            "t.toml:8: prefix-set num: entries must be a string or a list of strings, not integer `3`",
        ]
    );
    assert_eq!(
        problems(&format!(
            "{GLOBAL}[as-path-sets]\nx = [\"_1_\", \"(65000\", \"\"]\n[community-sets]\nc = [\"65000:*\", \"1:2:3\", \"70000:1\"]\n[extended-community-sets]\ne = [\"target:65000:*\", \"colour:1\"]\n[large-community-sets]\nl = [\"1:2\"]\n"
        )),
        [
            "t.toml:5: as-path-set x: \"(65000\" is not a valid regular expression: unclosed group",
            "t.toml:5: as-path-set x: \"\" is not a valid regular expression: it is empty (write ^$ for the empty path, or .* for any)",
            "t.toml:7: community-set c: \"1:2:3\" is not a community or a pattern of one (such as 65000:100, no-export, 65000:* or 65000:100-199)",
            "t.toml:7: community-set c: \"70000:1\" is not a community or a pattern of one (such as 65000:100, no-export, 65000:* or 65000:100-199)",
            "t.toml:9: extended-community-set e: \"colour:1\" is not an extended community or a pattern of one (such as target:65000:100, origin:192.0.2.1:7, target:65000:* or 0x0002fde800000064)",
            "t.toml:11: large-community-set l: \"1:2\" is not a large community or a pattern of one (such as 65000:1:2, 65000:1:* or 65000:*:*)",
        ]
    );
    assert_eq!(
        problems(&format!("prefix-sets = [\"10.0.0.0/8\"]\n{GLOBAL}")),
        ["t.toml:1: prefix-sets must be a table: [prefix-sets], one name = [entries] per line"]
    );
    assert_eq!(
        problems(&format!("{GLOBAL}[prefix-set]\na = []\n")),
        ["t.toml:4: unknown key prefix-set (did you mean prefix-sets?)"]
    );
}

#[test]
fn policy_problems() {
    let text = format!(
        r#"{GLOBAL}[prefix-sets]
bogons = ["10.0.0.0/8 le 32"]
broken = ["10.0.0.1/8"]

[[policy]]
name = "in"

[[policy.rule]]
name = "refs"
match = {{ prefix-set = ["bogons", "bogonz", "broken"], as-path-set = "nothing", community-set = [] }}
then = "reject"

[[policy.rule]]
match.as-path-length = {{ min = 5, max = 2 }}
match.not = {{ neighbor = "10.0.0.1/8", origin = "bgp" }}
match.as-path = ["(x"]
then = {{ local-pref = "+x", med = true, next-hop = "unchanged", as-path-prepend = 33, origin = "i-g-p" }}

[[policy.rule]]
then = {{ accept = true, reject = true }}

[[policy.rule]]
match = {{ family = "ipv4-unicst", colour = "blue" }}

[[policy.rule]]
then = "maybe"

[[policy.rule]]
then = {{ communities = {{ add = ["65000:*"], remove = ["1:2:3"], remove-set = ["nope"] }}, large-communities = {{}} }}

[[policy.rule]]
then = {{ accept = false, communities = ["65000:1"] }}

[[policy.rule]]
then = {{}}

[[policy]]
name = "in"

[[policy]]
rule = []

[[policy]]
name = "a b"
"#
    );
    // "broken" in rule refs names a set with problems: only the set's own
    // problem is reported, not the reference.
    assert_eq!(
        problems(&text),
        [
            "t.toml:6: prefix-set broken: \"10.0.0.1/8\" has host bits set (the network is 10.0.0.0/8)",
            "t.toml:13: policy in: rule refs: match: prefix-set: there is no prefix set named \"bogonz\" (did you mean bogons?)",
            "t.toml:13: policy in: rule refs: match: as-path-set: there is no AS-path set named \"nothing\"",
            "t.toml:13: policy in: rule refs: match: community-set is empty (leave it out to match everything)",
            "t.toml:17: policy in: rule 2: match: as-path-length min 5 is greater than max 2",
            "t.toml:18: policy in: rule 2: match: not: neighbor: \"10.0.0.1/8\" has host bits set (the network is 10.0.0.0/8)",
            "t.toml:18: policy in: rule 2: match: not: origin: \"bgp\" is not igp, egp or incomplete",
            "t.toml:19: policy in: rule 2: match: as-path: \"(x\" is not a valid regular expression: unclosed group",
            "t.toml:20: policy in: rule 2: then: origin \"i-g-p\" is not igp, egp or incomplete",
            "t.toml:20: policy in: rule 2: then: as-path-prepend count 33 is out of range (1 to 32)",
            "t.toml:20: policy in: rule 2: then: next-hop \"unchanged\" is not an action: leave next-hop out, or set next-hop-unchanged on the neighbor",
            "t.toml:20: policy in: rule 2: then: local-pref: \"+x\" is not a value from 0 to 4294967295, +N or -N",
            "t.toml:20: policy in: rule 2: then: med must be an integer or a string such as \"+10\" or \"-10\", not boolean",
            "t.toml:23: policy in: rule 3: then: accept and reject cannot both be true",
            "t.toml:25: policy in: rule 4: then is required (accept, reject, or a table of actions); without it the rule does nothing",
            "t.toml:26: policy in: rule 4: match: unknown key colour (expected one of: prefix-set, prefix, as-path, as-path-set, as-path-length, communities, community-set, extended-communities, extended-community-set, large-communities, large-community-set, neighbor, neighbor-asn, source, source-asn, next-hop, origin, family, not)",
            "t.toml:29: policy in: rule 5: then \"maybe\" is not accept, reject or a table of actions",
            "t.toml:32: policy in: rule 6: then: communities: add: \"65000:*\" is a pattern; add takes exact values (patterns go in remove)",
            "t.toml:32: policy in: rule 6: then: communities: remove: \"1:2:3\" is not a community or a pattern of one (such as 65000:100, no-export, 65000:* or 65000:100-199)",
            "t.toml:32: policy in: rule 6: then: communities: remove-set: there is no community set named \"nope\"",
            "t.toml:32: policy in: rule 6: then: large-communities: has nothing to do (give set, add, remove or remove-set)",
            "t.toml:35: policy in: rule 7: then: communities must be a table such as { add = [\"65000:1\"] }, not array",
            "t.toml:35: policy in: rule 7: then: accept = false is not allowed: leave accept out to go on with the next rule",
            "t.toml:38: policy in: rule 8: then: is empty (write accept, reject, or the actions to take)",
            "t.toml:40: policy in: name is already that of the policy at line 8",
            "t.toml:43: policy: name is required",
            "t.toml:47: policy a b: policy name \"a b\" may only have letters, digits, -, _ and . (and cannot be empty)",
        ]
    );
    assert_eq!(
        problems(&format!(
            "{GLOBAL}[[policy]]\nname = \"p\"\npolicy = 1\n[[policy.rule]]\nthen = \"accept\"\n"
        )),
        ["t.toml:6: policy p: unknown key policy (expected one of: name, rule)"]
    );
    assert_eq!(
        problems(&format!(
            "{GLOBAL}[[policy]]\nname = \"p\"\n[[policy.rule]]\nthen = \"accept\"\nwhen = {{}}\n"
        )),
        ["t.toml:8: policy p: rule 1: unknown key when (did you mean then?)"]
    );
    assert_eq!(
        problems(&format!(
            "{GLOBAL}[[policy]]\nname = \"p\"\n[policy.rule]\nthen = \"accept\"\n"
        )),
        ["t.toml:6: policy p: policy.rule must be written [[policy.rule]], one table per entry"]
    );
    assert_eq!(
        problems(&format!("{GLOBAL}[[policy]]\nname = \"p\"\n[[policy.rule]]\nmatch = \"all\"\nthen = \"accept\"\n[[policy.rule]]\nthen = 1\n")),
        [
            "t.toml:7: policy p: rule 1: match must be a table such as { prefix-set = \"name\" }, not string",
            "t.toml:10: policy p: rule 2: then must be \"accept\", \"reject\" or a table of actions, not integer",
        ]
    );
    assert_eq!(
        problems(&format!("{GLOBAL}[[policy]]\nname = \"p\"\n[[policy.rule]]\nmatch = {{ as-path-length = {{ least = 1 }}, neighbor-asn = [1, 23456] }}\nthen = {{ as-path-prepend = {{ asn = 0, times = 2 }}, local-pref = -1, med = 1.5 }}\n")),
        [
            "t.toml:7: policy p: rule 1: match: as-path-length: unknown key least (expected one of: min, max)",
            "t.toml:7: policy p: rule 1: match: neighbor-asn 23456 is AS_TRANS (RFC 6793), which stands in for 4-octet AS numbers and cannot be used",
            "t.toml:8: policy p: rule 1: then: as-path-prepend: unknown key times (expected one of: asn, count)",
            "t.toml:8: policy p: rule 1: then: as-path-prepend asn 0 is reserved (RFC 7607) and cannot be used",
            "t.toml:8: policy p: rule 1: then: local-pref -1 is out of range (0 to 4294967295)",
            "t.toml:8: policy p: rule 1: then: med must be an integer or a string such as \"+10\" or \"-10\", not float",
        ]
    );
}

#[test]
fn routing_problems() {
    let text = format!(
        r#"{GLOBAL}[[policy]]
name = "in"

[[neighbor]]
address = "192.0.2.2"
asn = 65001
import = ["in", "inn", "in", "out"]
import-default = "deny"
route-reflector-client = true
next-hop-self = true
next-hop-unchanged = true
allow-own-as = 11
role = "rs"
add-path-send = 2
graceful-restart-time = 5000
long-lived-stale-time = 10

[[neighbor]]
address = "192.0.2.3"
asn = 65000
route-server-client = true
role = "peer"
add-path = {{ ipv4-unicast = "receive" }}
add-path-send = 0
graceful-restart = true
long-lived-stale-time = 16777216
"#
    );
    assert_eq!(
        problems(&text),
        [
            "t.toml:10: neighbor 192.0.2.2: import: there is no policy named \"inn\" (did you mean in?)",
            "t.toml:10: neighbor 192.0.2.2: import lists in twice",
            "t.toml:10: neighbor 192.0.2.2: import: there is no policy named \"out\"",
            "t.toml:11: neighbor 192.0.2.2: import-default \"deny\" is not accept or reject",
            "t.toml:12: neighbor 192.0.2.2: route-reflector-client is for iBGP neighbors (RFC 4456); this one is in another AS",
            "t.toml:14: neighbor 192.0.2.2: next-hop-self and next-hop-unchanged cannot both be true",
            "t.toml:15: neighbor 192.0.2.2: allow-own-as 11 is out of range (0 to 10)",
            "t.toml:16: neighbor 192.0.2.2: role rs needs route-server-client = true (it makes us the neighbor's route server)",
            "t.toml:17: neighbor 192.0.2.2: add-path-send needs add-path = \"send\" or \"both\" for some family",
            "t.toml:18: neighbor 192.0.2.2: graceful-restart-time 5000 is out of range (1 to 4095)",
            "t.toml:18: neighbor 192.0.2.2: graceful-restart-time needs graceful-restart = true",
            "t.toml:19: neighbor 192.0.2.2: long-lived-stale-time needs graceful-restart = true (Ribbit offers long-lived graceful restart together with graceful restart)",
            "t.toml:24: neighbor 192.0.2.3: route-server-client is for eBGP neighbors (RFC 7947); this one is in our AS",
            "t.toml:25: neighbor 192.0.2.3: role is for eBGP neighbors (RFC 9234 roles are relations between ASes); this one is in our AS",
            "t.toml:27: neighbor 192.0.2.3: add-path-send needs add-path = \"send\" or \"both\" for some family",
            "t.toml:27: neighbor 192.0.2.3: add-path-send 0 is out of range (1 to 255)",
            "t.toml:29: neighbor 192.0.2.3: long-lived-stale-time 16777216 is out of range (0 to 16777215)",
        ]
    );
    let text = format!(
        "{GLOBAL}[[neighbor]]\naddress = \"192.0.2.4\"\nasn = 65004\nroute-server-client = true\nrole = \"customer\"\nexport-default = \"drop\"\nadd-path-send = \"best\"\n"
    );
    assert_eq!(
        problems(&text),
        [
            "t.toml:8: neighbor 192.0.2.4: role customer does not fit route-server-client = true (our role toward a route-server client is rs)",
            "t.toml:9: neighbor 192.0.2.4: export-default \"drop\" is not accept or reject",
            "t.toml:10: neighbor 192.0.2.4: add-path-send needs add-path = \"send\" or \"both\" for some family",
            "t.toml:10: neighbor 192.0.2.4: add-path-send must be \"all\" or a number of paths from 1 to 255, not \"best\"",
        ]
    );
    assert_eq!(
        problems(&with_neighbor("role = \"boss\"\nimport = 3")),
        ["t.toml:10: neighbor 127.0.0.2: import must be a string or a list of strings, not integer `3`"]
    );
    assert_eq!(
        problems(&with_neighbor("role = \"boss\"")),
        ["t.toml:9: neighbor 127.0.0.2: role \"boss\" is not provider, customer, peer, rs or rs-client"]
    );
    // Other daemons' names get Ribbit's suggested.
    for (theirs, ours) in [
        ("allowas-in = 1", "allow-own-as"),
        ("rr-client = true", "route-reflector-client"),
        ("maximum-prefix = 5", "max-prefix"),
        ("import-policy = \"a\"", "import"),
        ("default-import-policy = \"reject\"", "import-default"),
        ("local-role = \"peer\"", "role"),
        ("send-max = 2", "add-path-send"),
        ("restart-time = 5", "graceful-restart-time"),
    ] {
        let p = problems(&with_neighbor(theirs));
        let key = theirs.split(' ').next().unwrap();
        assert_eq!(
            p,
            [format!(
                "t.toml:9: neighbor 127.0.0.2: unknown key {key} (did you mean {ours}?)"
            )]
        );
    }
}

#[test]
fn max_prefix_problems() {
    assert_eq!(
        problems(&with_neighbor(
            "max-prefix = [{ family = \"ipv6-unicast\", limit = 0, action = \"warn\", restart = 5 },\n  100,\n  200,\n  { family = \"ipv4-unicast\", limit = 1 },\n  { family = \"ipv4-unicast\", action = \"shout\" },\n  true]"
        )),
        [
            "t.toml:9: neighbor 127.0.0.2: max-prefix: family ipv6-unicast is not in this neighbor's families (ipv4-unicast)",
            "t.toml:9: neighbor 127.0.0.2: max-prefix: limit 0 is out of range (1 to 4294967295)",
            "t.toml:9: neighbor 127.0.0.2: max-prefix: restart applies only to action teardown (the session stays up with the others)",
            "t.toml:11: neighbor 127.0.0.2: max-prefix for all families is given twice (first at line 10)",
            "t.toml:13: neighbor 127.0.0.2: max-prefix: limit is required",
            "t.toml:13: neighbor 127.0.0.2: max-prefix: action \"shout\" is not warn, withdraw-excess or teardown",
            "t.toml:14: neighbor 127.0.0.2: max-prefix must be a number, a table such as { limit = 1000, action = \"warn\" }, or a list of them, not boolean",
        ]
    );
    assert_eq!(
        problems(&with_neighbor(
            "[[neighbor.max-prefix]]\nlimit = 5\nrestart = 0\n[[neighbor.max-prefix]]\nfamily = \"ipv4-unicast\"\nlimit = 5\nafter = 1"
        )),
        [
            "t.toml:11: neighbor 127.0.0.2: max-prefix: restart 0 is out of range (1 to 65535)",
            "t.toml:15: neighbor 127.0.0.2: max-prefix: unknown key after (expected one of: family, limit, action, restart)",
        ]
    );
    // An inline table and [[neighbor.max-prefix]] together are not TOML.
    let p = problems(&with_neighbor(
        "max-prefix = { limit = 5 }\n[[neighbor.max-prefix]]\nlimit = 6",
    ));
    assert_eq!(p.len(), 1);
    assert!(p[0].contains("TOML syntax"), "{p:?}");
    assert_eq!(
        problems(&with_neighbor("max-prefix = [{ family = \"ipv4-unicast\", limit = 5 },\n  { family = \"ipv4-unicast\", limit = 6 }]")),
        ["t.toml:10: neighbor 127.0.0.2: max-prefix for ipv4-unicast is given twice (first at line 9)"]
    );
}

#[test]
fn global_routing_problems() {
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\ndeterministic-med = false\nblackhole = \"drop\"\ncluster-id = \"x\"\n"),
        [
            "t.toml:4: global: deterministic-med = false is not supported: Ribbit always compares MED within the paths from each neighbouring AS, whatever order they arrived in (RFC 4271 §9.1.2.2)",
            "t.toml:5: global: blackhole \"drop\" is not accept or reject",
            "t.toml:6: global: cluster-id \"x\" is not an IPv4 address",
        ]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\ncluster-id = \"0.0.0.0\"\n"),
        ["t.toml:4: global: cluster-id 0.0.0.0 is not allowed"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\ncluster-id = true\nalways-compare-med = 1\n"),
        ["t.toml:5: global: always-compare-med must be true or false, not integer `1`"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\ncluster-id = [1]\n"),
        ["t.toml:4: global: cluster-id must be an IPv4 address such as \"192.0.2.1\" or a number, not array"]
    );
    assert_eq!(
        problems("[global]\nasn = 65000\nrouter-id = \"192.0.2.1\"\n[policies]\n"),
        ["t.toml:4: unknown key policies (did you mean policy?)"]
    );
}
