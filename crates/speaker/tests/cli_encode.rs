//! `ribbit encode` as a user runs it: arguments, standard input, options,
//! error lines, exit status, and the round trip through `ribbit decode`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use ribbit_wire::{DecodeContext, Family, FamilySet, Message, Update};
use serde_json::Value;

fn ribbit(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ribbit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ribbit");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait for ribbit")
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn bytes(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex
        .chars()
        .filter_map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect();
    digits.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect()
}

fn update(hex: &str, ctx: &DecodeContext) -> Update {
    match Message::decode(&bytes(hex), ctx) {
        Ok(Message::Update(u)) => u,
        other => panic!("{hex}: {other:?}"),
    }
}

const ROUTE: &str = "announce route 10.0.0.0/24 next-hop 192.0.2.1 community [100:100]";
const ROUTE_HEX: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003002000000154001010040020040030 4C0000201C0080400640064180A0000";

#[test]
fn one_route() {
    let out = ribbit(&["encode", ROUTE], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out), [ROUTE_HEX.replace(' ', "")]);
    assert!(stderr(&out).is_empty());
}

/// The two examples of the contract, as written there.
#[test]
fn contract_examples() {
    let out = ribbit(
        &[
            "encode",
            "route 10.0.0.0/24 next-hop 192.0.2.1 community [100:100]",
            "flow route { match { destination 10.0.0.0/24; } then { discard; } }",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 2);
    let route = update(&lines[0], &DecodeContext::default());
    assert_eq!(route.announced[0].prefix.to_string(), "10.0.0.0/24");
    assert_eq!(route.attributes.communities[0].to_string(), "100:100");
    let flow = update(&lines[1], &DecodeContext::default());
    assert_eq!(flow.mp_reach.map(|m| m.family), Some(Family::IPV4_FLOWSPEC));
    assert_eq!(
        flow.attributes.extended_communities[0].to_string(),
        "rate-limit:0"
    );
}

#[test]
fn exabgp_separator_form() {
    let out = ribbit(&["encode", "--separator", ":", ROUTE, "announce eor"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        [
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0030:02:0000001540010100400200400304C0000201C0080400640064180A0000",
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0017:02:00000000",
        ]
    );
}

#[test]
fn round_trip_through_decode() {
    let enc = ribbit(
        &[
            "encode",
            ROUTE,
            "announce ipv6 unicast 2001:db8::/32 next-hop 2001:db8::1 local-preference 200 large-community [ 65000:1:2 ]",
            "announce ipv4 flow destination-ipv4 192.0.2.1/32 protocol =tcp destination-port [ >=1024&<=2048 ] discard",
            "withdraw route 10.0.0.0/24",
        ],
        None,
    );
    assert!(enc.status.success(), "{}", stderr(&enc));
    let hex = stdout_lines(&enc);
    assert_eq!(hex.len(), 4);
    let mut args = vec!["decode"];
    args.extend(hex.iter().map(String::as_str));
    let dec = ribbit(&args, None);
    assert!(dec.status.success(), "{}", stderr(&dec));
    let json: Vec<Value> = stdout_lines(&dec)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(json[0]["announced"][0]["prefix"], "10.0.0.0/24");
    assert_eq!(json[0]["announced"][0]["next-hop"], "192.0.2.1");
    assert_eq!(json[0]["attributes"]["communities"][0], "100:100");
    assert_eq!(json[1]["announced"][0]["family"], "ipv6-unicast");
    assert_eq!(json[1]["announced"][0]["next-hop"], "2001:db8::1");
    assert_eq!(json[1]["attributes"]["local-pref"], 200);
    assert_eq!(json[2]["announced"][0]["family"], "ipv4-flowspec");
    assert_eq!(
        json[2]["attributes"]["extended-communities"][0],
        "rate-limit:0"
    );
    assert_eq!(json[3]["withdrawn"][0]["prefix"], "10.0.0.0/24");
}

#[test]
fn commands_from_stdin() {
    let input = format!("# routes\n\n{ROUTE}\n   \nannounce eor ipv6 unicast\n");
    let out = ribbit(&["encode", "-"], Some(&input));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], ROUTE_HEX.replace(' ', ""));
    let eor = update(&lines[1], &DecodeContext::default());
    assert_eq!(eor.end_of_rib_family(), Some(Family::IPV6_UNICAST));
}

#[test]
fn bad_lines_are_reported_and_the_rest_encoded() {
    let input = "announce route 10.0.0.0/24 next-hop 192.0.2.1\n# fine\nannounce route 10.0.0.0/33 next-hop 192.0.2.1\nannounce route 10.0.0.0/24 next-hop self\n";
    let out = ribbit(
        &["encode", "announce route 10.0.0.0/24 colour blue", "-"],
        Some(input),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout_lines(&out).len(),
        1,
        "the good line is still encoded"
    );
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "ribbit: argument 1: column 28: unknown route attribute \"colour\" (expected one of next-hop, origin, as-path, med, local-preference, community, large-community, extended-community, originator-id, cluster-list, atomic-aggregate, aggregator, aigp, attribute, label, rd, path-information, split, watchdog, withdraw, name)",
            "ribbit: standard input, line 3: column 16: expected a prefix after \"route\", got \"10.0.0.0/33\": the prefix length must be a number from 0 to 32",
            "ribbit: standard input, line 4: \"next-hop self\" cannot be resolved: the session's own address is not known (give it with --next-hop-self)",
        ]
    );
}

#[test]
fn next_hop_self_option() {
    let out = ribbit(
        &[
            "encode",
            "--next-hop-self",
            "127.0.0.1",
            "announce route 10.0.0.0/32 next-hop self origin igp local-preference 100",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // conf-ipself4.ci
    assert_eq!(
        stdout_lines(&out),
        ["FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00310200000015400101004002004003047F00000140050400000064200A000000"]
    );
}

#[test]
fn two_octet_peer() {
    let cmd = "announce route 10.0.1.0/24 next-hop 10.0.255.254 as-path [ 100 4200000000 ]";
    let out = ribbit(&["encode", "--asn2", cmd], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let hex = stdout_lines(&out);
    let ctx = DecodeContext {
        four_octet_as: false,
        ..DecodeContext::default()
    };
    // AS_TRANS in AS_PATH, the real path in AS4_PATH, merged back on decode.
    assert!(
        hex[0].contains("40020602020064 5BA0".replace(' ', "").as_str()),
        "{}",
        hex[0]
    );
    assert!(hex[0].contains("C0110A020200000064FA56EA00"), "{}", hex[0]);
    let u = update(&hex[0], &ctx);
    assert_eq!(u.attributes.as_path.unwrap().to_string(), "100 4200000000");
    // Decoded by `ribbit decode --asn2` as well.
    let dec = ribbit(&["decode", "--asn2", &hex[0]], None);
    assert!(dec.status.success(), "{}", stderr(&dec));
    let v: Value = serde_json::from_str(stdout_lines(&dec)[0].as_str()).unwrap();
    assert_eq!(v["attributes"]["as-path"][0]["asns"][1], 4_200_000_000u64);
}

#[test]
fn session_options() {
    // eBGP: our AS prepended, LOCAL_PREF dropped (conf-ebgp.ci).
    let out = ribbit(
        &[
            "encode",
            "--local-as",
            "65533",
            "--peer-as",
            "65000",
            "announce route 10.0.0.0/24 next-hop 10.0.1.254 local-preference 200",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        ["FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF002F02000000144001010040020602010000FFFD4003040A0001FE180A0000"]
    );
    // iBGP: LOCAL_PREF 100 added.
    let out = ribbit(
        &[
            "encode",
            "--local-as",
            "1",
            "--peer-as",
            "1",
            "announce route 10.0.0.0/24 next-hop 1.2.3.4",
        ],
        None,
    );
    let u = update(&stdout_lines(&out)[0], &DecodeContext::default());
    assert_eq!(u.attributes.local_pref, Some(100));
    // --local-as alone is refused by the option parser.
    let out = ribbit(&["encode", "--local-as", "1", "announce eor"], None);
    assert_eq!(out.status.code(), Some(2));
    // ADD-PATH: the path identifier is written.
    let out = ribbit(
        &[
            "encode",
            "--add-path",
            "ipv4 unicast",
            "announce route 10.0.0.10/32 next-hop 10.10.1.1 path-information 0.0.0.1",
        ],
        None,
    );
    let ctx = DecodeContext {
        add_path: [Family::IPV4_UNICAST].into_iter().collect::<FamilySet>(),
        ..DecodeContext::default()
    };
    let u = update(&stdout_lines(&out)[0], &ctx);
    assert_eq!(u.announced[0].path_id, Some(1));
    // Extended messages: a /16 split into /24s fits one UPDATE.
    let split = "announce route 10.0.0.0/16 next-hop 1.2.3.4 split /24";
    let small = ribbit(&["encode", split], None);
    let big = ribbit(&["encode", "--extended-message", split], None);
    assert_eq!(stdout_lines(&small).len(), 1);
    assert_eq!(stdout_lines(&big).len(), 1);
    let many = "announce route 10.0.0.0/12 next-hop 1.2.3.4 split /24";
    assert!(
        stdout_lines(&ribbit(&["encode", many], None)).len()
            > stdout_lines(&ribbit(&["encode", "--extended-message", many], None)).len()
    );
}

#[test]
fn help_says_attributes_are_exact_without_ases() {
    let out = ribbit(&["encode", "--help"], None);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains(
            "Without --local-as and --peer-as the attributes are encoded exactly as given"
        ),
        "{help}"
    );
}
