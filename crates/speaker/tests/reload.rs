//! `ribbit run` reloads its configuration on SIGHUP and applies the
//! difference: a changed export policy reaches its neighbor, an added
//! neighbor comes up, a removed one goes down with Cease 6/3 (RFC 4486),
//! and the untouched session never drops.
//!
//! R is the `ribbit` binary; its neighbors B (untouched), C (export policy
//! changed), D (added) and E (removed) are speakers in this process.
//! Addresses 127.0.1.130-135, ports 11930-11935.

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ribbit::config::Config;
use ribbit::peer::PeerEvent;
use ribbit::Speaker;
use ribbit_fsm::State;
use tokio::time::{sleep, Instant};

const R: &str = "127.0.1.130";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// R's configuration; `after` is the one SIGHUP loads.
fn r_config(after: bool) -> String {
    let c_export = if after { r#"export = ["tag"]"# } else { "" };
    let d_or_e = if after {
        r#"
[[neighbor]]
address = "127.0.1.133"
asn = 65133
passive = true
"#
    } else {
        r#"
[[neighbor]]
address = "127.0.1.134"
asn = 65134
passive = true
"#
    };
    format!(
        r#"
[global]
asn = 65130
router-id = "{R}"
listen = ["{R}:11930"]

[api]
enabled = false

[[policy]]
name = "tag"
[[policy.rule]]
then = {{ communities = {{ add = ["65130:7"] }} }}

[[route]]
prefix = "10.130.0.0/24"
next-hop = "self"

[[neighbor]]
address = "127.0.1.131"
asn = 65131
passive = true

[[neighbor]]
address = "127.0.1.132"
asn = 65132
passive = true
{c_export}
{d_or_e}
"#
    )
}

/// A neighbor of R, in this process, connecting to it; B announces a
/// route of its own, which R passes on to the others.
async fn neighbor(me: &str, asn: u32) -> Speaker {
    let route = if me == "127.0.1.131" {
        "[[neighbor.route]]\nprefix = \"10.131.0.0/24\"\n"
    } else {
        ""
    };
    let text = format!(
        r#"
[global]
asn = {asn}
router-id = "{me}"
listen = []

[[neighbor]]
address = "{R}"
port = 11930
local-address = "{me}"
asn = 65130
connect-retry = 1
{route}"#
    );
    let config = Config::parse(&text, me).expect("config");
    Speaker::start(&config).await.expect("speaker")
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig} failed");
}

#[tokio::test]
async fn sighup_applies_the_difference() {
    let dir = std::env::temp_dir().join(format!("ribbit-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("r.toml");
    std::fs::write(&file, r_config(false)).unwrap();
    let r = Killed(
        Command::new(env!("CARGO_BIN_EXE_ribbit"))
            .args(["run", "--config"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ribbit runs"),
    );
    let r_ip = ip(R);
    let b = neighbor("127.0.1.131", 65131).await;
    let c = neighbor("127.0.1.132", 65132).await;
    let e = neighbor("127.0.1.134", 65134).await;
    let mut b_events = b.subscribe();
    let mut e_events = e.subscribe();
    // R's static route to everyone, B's route through R to the others.
    for (name, s, n) in [("B", &b, 1), ("C", &c, 2), ("E", &e, 2)] {
        wait_for(&format!("{name}'s routes from R"), async || {
            s.adj_rib_in(r_ip).await.is_some_and(|v| v.len() == n)
        })
        .await;
    }
    let communities = async |s: &Speaker| -> Vec<String> {
        s.adj_rib_in(r_ip)
            .await
            .unwrap_or_default()
            .iter()
            .flat_map(|r| {
                r.attributes
                    .communities
                    .iter()
                    .map(|c| format!("{} {c}", r.nlri))
            })
            .collect()
    };
    assert!(communities(&c).await.is_empty());

    // D is started first: it waits for R to know it.
    let d = neighbor("127.0.1.133", 65133).await;
    std::fs::write(&file, r_config(true)).unwrap();
    signal(&r.0, "-HUP");

    // The policy tags what R originates too (its static route).
    wait_for("C's routes tagged by its new export policy", async || {
        let mut seen = communities(&c).await;
        seen.sort();
        seen == ["10.130.0.0/24 65130:7", "10.131.0.0/24 65130:7"]
    })
    .await;
    wait_for("D up with R", async || {
        d.state(r_ip).await == Some(State::Established)
    })
    .await;
    wait_for("D's routes from R", async || {
        d.adj_rib_in(r_ip).await.is_some_and(|v| v.len() == 2)
    })
    .await;
    // E was removed: Cease / Peer De-configured.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, e_events.recv()).await {
            Ok(Ok(PeerEvent::Notification {
                received: true,
                notification,
                ..
            })) if (notification.code, notification.subcode) == (6, 3) => break,
            Ok(Ok(_)) => continue,
            other => panic!("E got no Cease 6/3: {other:?}"),
        }
    }
    // B's session never went down, and it still has its route.
    while let Ok(ev) = b_events.try_recv() {
        assert!(
            !matches!(
                ev,
                PeerEvent::State {
                    from: State::Established,
                    ..
                }
            ),
            "B's session dropped: {ev}"
        );
    }
    assert_eq!(b.state(r_ip).await, Some(State::Established));
    assert_eq!(b.adj_rib_in(r_ip).await.map(|v| v.len()), Some(1));
    assert!(communities(&b).await.is_empty());

    signal(&r.0, "-TERM");
    for s in [b, c, d, e] {
        s.shutdown(None).await;
    }
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}
