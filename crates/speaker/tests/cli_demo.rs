//! `ribbit demo` runs with no set-up: the session comes up, every route and
//! the Flowspec rule arrive, and the RIB is printed.

use std::process::Command;

#[test]
fn demo_shows_the_routes_and_the_rib() {
    let out = Command::new(env!("CARGO_BIN_EXE_ribbit"))
        .args(["demo", "--port", "11898", "--timeout", "20"])
        .output()
        .expect("ribbit runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    for expected in [
        "127.0.0.1: OpenConfirm -> Established",
        "127.0.0.1: + 10.0.0.0/24 next-hop 127.0.0.1 as-path [65000] origin igp communities 65000:100",
        "127.0.0.1: + 10.0.1.0/24 next-hop 127.0.0.1 as-path [65000 64512] origin igp med 20",
        "127.0.0.1: + 2001:db8:1::/48 next-hop 2001:db8::1 as-path [65000] origin igp large-communities 65000:1:1",
        // The rule: discard is traffic-rate 0 (RFC 8955 §7.3).
        "127.0.0.1: + flow destination-ipv4 10.0.0.0/24 protocol =udp source-port =53 as-path [65000] origin igp communities 100:100 extended-communities rate-limit:0",
        "127.0.0.1: End-of-RIB ipv4-flowspec",
        "beta's RIB, ipv4-unicast:",
        "10.0.1.0/24  (best: only path)",
        "  *> from 127.0.0.1 next-hop 127.0.0.1 origin igp as-path [65000 64512] med 20",
        "flow destination-ipv4 10.0.0.0/24 protocol =udp source-port =53  (best: only path)",
    ] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "missing line {expected:?} in:\n{stdout}"
        );
    }
}
