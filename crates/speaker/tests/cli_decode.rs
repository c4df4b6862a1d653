//! `ribbit decode` as a user runs it: arguments, standard input, exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const KEEPALIVE: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0013:04";
/// 10.0.0.0/24 (among others) via 101.1.101.1, MED 200, LOCAL_PREF 100.
const UPDATE: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:003C:02:0000001C4001010040020040030465016501800404000000C840050400000064000000002001010101";
/// A withdrawn routes length (5) that runs past the 4-byte body.
const BAD_UPDATE: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0017:02:00050000";

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

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn one_message() {
    let out = ribbit(&["decode", UPDATE], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = lines(&out);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["type"], "update");
    assert_eq!(v[0]["length"], 60);
    assert_eq!(v[0]["attributes"]["med"], 200);
    assert_eq!(v[0]["announced"][4]["prefix"], "1.1.1.1/32");
    assert_eq!(v[0]["announced"][4]["next-hop"], "101.1.101.1");
}

#[test]
fn messages_from_stdin() {
    let input = format!(
        "# a comment\n\n{KEEPALIVE}\n   \n0x{}\n",
        UPDATE.replace(':', " ")
    );
    let out = ribbit(&["decode", "-"], Some(&input));
    assert!(out.status.success(), "{}", stderr(&out));
    let v = lines(&out);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["type"], "keepalive");
    assert_eq!(v[1]["type"], "update");
}

#[test]
fn bad_message_among_good_ones() {
    let out = ribbit(&["decode", KEEPALIVE, BAD_UPDATE, UPDATE], None);
    assert_eq!(out.status.code(), Some(1));
    let v = lines(&out);
    assert_eq!(v.len(), 2, "the good messages are still printed");
    assert_eq!(v[0]["type"], "keepalive");
    assert_eq!(v[1]["type"], "update");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("ribbit: message 2: byte 19: malformed attribute list"),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("(NOTIFICATION 3/1 UPDATE Message Error / Malformed Attribute List)"),
        "{err}"
    );
}

#[test]
fn bad_hex_names_the_character() {
    let out = ribbit(&["decode", "-"], Some(&format!("{KEEPALIVE}\nFFFZ\n")));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 1);
    let err = stderr(&out);
    assert!(
        err.contains("message 2 (standard input, line 2): character 4: 'Z' is not a hex digit"),
        "{err}"
    );
    let out = ribbit(&["decode", "FFF"], None);
    assert!(
        stderr(&out).contains("character 3: odd number of hex digits"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bare_nlri() {
    let out = ribbit(
        &["decode", "--family", "ipv4-unicast", "180A0000 20C0000201"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = lines(&out);
    assert_eq!(v[0]["type"], "nlri");
    assert_eq!(v[0]["family"], "ipv4-unicast");
    assert_eq!(v[0]["nlri"][0]["prefix"], "10.0.0.0/24");
    assert_eq!(v[0]["nlri"][1]["prefix"], "192.0.2.1/32");
    // With ADD-PATH, each prefix has a path identifier in front.
    let out = ribbit(
        &[
            "decode",
            "--family",
            "ipv4 unicast",
            "--add-path",
            "ipv4-unicast",
            "00000007180A0000",
        ],
        None,
    );
    assert_eq!(lines(&out)[0]["nlri"][0]["path-id"], 7);
}

#[test]
fn exabgp_format() {
    let out = ribbit(
        &[
            "decode",
            "--format",
            "exabgp",
            "--peer-as",
            "65001",
            UPDATE,
            KEEPALIVE,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = lines(&out);
    assert_eq!(v[0]["exabgp"], "4.0.1");
    assert_eq!(v[0]["type"], "update");
    assert_eq!(v[0]["counter"], 1);
    assert_eq!(v[1]["counter"], 2);
    assert_eq!(v[1]["type"], "keepalive");
    let n = &v[0]["neighbor"];
    assert_eq!(n["asn"]["local"], 65533);
    assert_eq!(n["asn"]["peer"], 65001);
    assert_eq!(n["address"]["peer"], "127.0.0.1");
    assert_eq!(
        n["message"]["update"]["announce"]["ipv4 unicast"]["101.1.101.1"][4]["nlri"],
        "1.1.1.1/32"
    );
}

#[test]
fn usage_errors() {
    let out = ribbit(&["decode", "--family", "ipv5-unicast", "00"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = ribbit(&["decode"], None);
    assert_eq!(out.status.code(), Some(2));
}
