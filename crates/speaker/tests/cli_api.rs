//! The API's write side and the `ribbit` commands that use it, against the
//! `ribbit run` binary and two real GoBGP peers on loopback.
//!
//! R is `ribbit run` (127.0.6.200, BGP port 11650, API 127.0.6.200:11655
//! with a token); G1 (127.0.6.201, port 11651, gRPC 11652) is in R's
//! configuration from the start; G2 (127.0.6.202, port 11653, gRPC 11654)
//! is added at run time with `ribbit neighbor add`, deleted, and added
//! again by a reload. Both GoBGPs are passive: R connects at once (GoBGP's
//! own first connect waits 5 to 10 s). Every wait is bounded.
//!
//! What GoBGP sees is the evidence: the announced route arrives with its
//! communities, the withdrawn one goes, Flowspec rules (JSON and text)
//! arrive and go, a disabled session stays down, an
//! added neighbor comes up, a soft reset out sends UPDATEs again and a soft
//! reset in sends a ROUTE-REFRESH, a reload's policy change reaches G1
//! while G1's session (no new OPEN) stays up. Next hops given to GoBGP are
//! outside 127/8, which GoBGP treats as unreachable.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use ribbit::cli::client::Client;
use serde_json::Value;
use support::{eventually, find_binary, run_cli, Daemon, Lab, ESTABLISHED, PROPAGATE};

const R: &str = "127.0.6.200";
const G1: &str = "127.0.6.201";
const G2: &str = "127.0.6.202";
const API: &str = "127.0.6.200:11655";
const TOKEN: &str = "cli-api-token-42";

/// R's configuration; `reloaded` tags what G1 gets and adds G2.
fn r_config(reloaded: bool) -> String {
    let export = if reloaded { r#"export = ["tag"]"# } else { "" };
    let g2 = if reloaded {
        format!(
            r#"
[[neighbor]]
address = "{G2}"
asn = 65202
port = 11653
local-address = "{R}"
connect-retry = 1
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"
[global]
asn = 65200
router-id = "{R}"
listen = ["{R}:11650"]

[api]
listen = "{API}"
token = "{TOKEN}"

[[policy]]
name = "tag"
[[policy.rule]]
then = {{ communities = {{ add = ["65200:7"] }} }}

[[neighbor]]
address = "{G1}"
asn = 65201
port = 11651
local-address = "{R}"
connect-retry = 1
families = ["ipv4-unicast", "ipv4-flowspec"]
# GoBGP treats a next hop in 127/8 as unreachable (and the UPDATE as a
# withdrawal): G2's routes keep theirs.
next-hop-unchanged = true
{export}
{g2}
"#
    )
}

/// A passive GoBGP with R as its only neighbor.
struct GoBgp {
    daemon: Daemon,
    cli: PathBuf,
    host: &'static str,
    api_port: String,
    dir: PathBuf,
}

impl GoBgp {
    async fn start(
        lab: &Lab,
        name: &str,
        me: &'static str,
        asn: u32,
        port: u16,
        flowspec: bool,
    ) -> GoBgp {
        let file = format!("{name}.toml");
        let families = if flowspec {
            r#"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-flowspec"
"#
        } else {
            ""
        };
        lab.write(
            &file,
            &format!(
                r#"
[global.config]
  as = {asn}
  router-id = "{me}"
  port = {port}
  local-address-list = ["{me}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "{R}"
    peer-as = 65200
  [neighbors.transport.config]
    local-address = "{me}"
    passive-mode = true
{families}"#
            ),
        );
        let api_port = (port + 1).to_string();
        let mut command = std::process::Command::new(find_binary("gobgpd", "gobgpd"));
        command.args([
            "-f",
            &file,
            "-p",
            "--pprof-disable",
            "--api-hosts",
            &format!("{me}:{api_port}"),
        ]);
        let g = GoBgp {
            daemon: Daemon::spawn(name, lab, command, &[]),
            cli: find_binary("gobgp", "gobgpd"),
            host: me,
            api_port,
            dir: lab.dir().to_path_buf(),
        };
        eventually(format!("{name}'s API"), PROPAGATE, || async {
            g.daemon.check_running()?;
            g.run(&["global"]).await
        })
        .await;
        g
    }

    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-u", self.host, "-p", &self.api_port];
        all.extend_from_slice(args);
        run_cli(&self.cli, &all, &self.dir).await
    }

    async fn neighbor(&self) -> Result<Value, String> {
        let t = self.run(&["neighbor", R, "-j"]).await?;
        serde_json::from_str(&t).map_err(|e| format!("{e}: {t}"))
    }

    /// GoBGP 3's session state: 6 is Established.
    async fn established(&self) -> Result<bool, String> {
        Ok(self.neighbor().await?["state"]["session_state"].as_u64() == Some(6))
    }

    async fn wait_established(&self, up: bool, within: Duration) {
        eventually(
            format!(
                "GoBGP {} to see R {}",
                self.host,
                if up { "up" } else { "down" }
            ),
            within,
            || async {
                match self.established().await? {
                    s if s == up => Ok(()),
                    s => Err(format!("established: {s}")),
                }
            },
        )
        .await;
    }

    async fn received(&self, kind: &str) -> Result<u64, String> {
        Ok(
            self.neighbor().await?["state"]["messages"]["received"][kind]
                .as_u64()
                .unwrap_or(0),
        )
    }

    /// The communities (as `A:B`, large and extended as GoBGP prints them)
    /// of the path R sent for `prefix`, or `None`.
    async fn route(&self, prefix: &str) -> Result<Option<Vec<String>>, String> {
        let t = self
            .run(&["neighbor", R, "adj-in", "-a", "ipv4", "-j"])
            .await?;
        let v: Value = serde_json::from_str(&t).map_err(|e| format!("{e}: {t}"))?;
        let Some(paths) = v.get(prefix).and_then(Value::as_array) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for attr in paths
            .iter()
            .flat_map(|p| p["attrs"].as_array().into_iter().flatten())
        {
            match attr["type"].as_u64() {
                Some(8) => {
                    for c in attr["communities"].as_array().into_iter().flatten() {
                        if let Some(c) = c.as_u64() {
                            out.push(format!("{}:{}", c >> 16, c & 0xffff));
                        }
                    }
                }
                Some(32) => {
                    for c in attr["value"].as_array().into_iter().flatten() {
                        out.push(format!(
                            "{}:{}:{}",
                            c["ASN"], c["LocalData1"], c["LocalData2"]
                        ));
                    }
                }
                Some(16) => out.push("extended".to_string()),
                _ => {}
            }
        }
        Ok(Some(out))
    }

    async fn wait_route(&self, prefix: &str, communities: &[&str]) {
        eventually(
            format!("GoBGP {} to have {prefix} with {communities:?}", self.host),
            PROPAGATE,
            || async {
                match self.route(prefix).await? {
                    Some(c) if communities.iter().all(|x| c.iter().any(|y| y == x)) => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
    }

    async fn wait_no_route(&self, prefix: &str) {
        eventually(
            format!("GoBGP {} to lose {prefix}", self.host),
            PROPAGATE,
            || async {
                match self.route(prefix).await? {
                    None => Ok(()),
                    Some(c) => Err(format!("still there: {c:?}")),
                }
            },
        )
        .await;
    }
}

/// `ribbit ARGS --api ... --token ...`: standard output, or the exit
/// status and standard error.
async fn ribbit(lab: &Lab, args: &[&str]) -> Result<String, String> {
    let mut all: Vec<&str> = args.to_vec();
    let api = format!("http://{API}");
    all.extend(["--api", &api, "--token", TOKEN]);
    run_cli(env!("CARGO_BIN_EXE_ribbit"), &all, lab.dir()).await
}

async fn ribbit_json(lab: &Lab, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = ribbit(lab, &all)
        .await
        .unwrap_or_else(|e| panic!("ribbit {args:?}: {e}"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("ribbit {args:?}: {e}: {out}"))
}

/// R's view of a neighbor (`ribbit neighbor ADDRESS --json`).
async fn detail(lab: &Lab, address: &str) -> Value {
    ribbit_json(lab, &["neighbor", address]).await
}

async fn wait_r_state(lab: &Lab, address: &str, state: &str) {
    eventually(
        format!("R to show {address} {state}"),
        ESTABLISHED,
        || async {
            let d = detail(lab, address).await;
            if d["state"] == state {
                Ok(())
            } else {
                Err(d["state"].to_string())
            }
        },
    )
    .await;
}

/// A request the CLI does not make, through the library's client.
async fn api(method: &str, path: &str, ctype: &'static str, body: &str) -> Result<Value, String> {
    let c = Client::new(&format!("http://{API}"), Some(TOKEN.to_string())).expect("client");
    let m = method.parse().expect("method");
    match c
        .send_bytes(m, path, Some((ctype, body.as_bytes().to_vec())))
        .await
    {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The one-line error of a refused command: its standard error says `want`.
fn refused(r: Result<String, String>, want: &str) {
    match r {
        Ok(out) => panic!("accepted: {out}"),
        Err(e) => {
            assert!(e.contains("exit status: 1"), "{e}");
            assert!(e.contains(want), "{e:?} lacks {want:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_changes_a_running_ribbit_and_gobgp_sees_it() {
    let lab = Lab::new("cli-api");
    let g1 = GoBgp::start(&lab, "g1", G1, 65201, 11651, true).await;
    let g2 = GoBgp::start(&lab, "g2", G2, 65202, 11653, false).await;
    g2.run(&[
        "global",
        "rib",
        "add",
        "10.202.0.0/24",
        "-a",
        "ipv4",
        "nexthop",
        "198.18.2.1",
    ])
    .await
    .expect("G2's route");
    let config = lab.write("ribbit.toml", &r_config(false));
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ribbit"));
    command.args(["run", "--config"]).arg(&config);
    let _r = Daemon::spawn("ribbit", &lab, command, &[]);
    g1.wait_established(true, ESTABLISHED).await;
    wait_r_state(&lab, G1, "established").await;

    // The detail comes from the session: negotiated capabilities, counters.
    let d = detail(&lab, G1).await;
    assert_eq!(d["session"]["asn"], 65201, "{d}");
    assert_eq!(d["session"]["route-refresh"], true, "{d}");
    assert!(d["messages-received"]["open"].as_u64() == Some(1), "{d}");
    let text = ribbit(&lab, &["neighbor", G1]).await.expect("detail");
    assert!(text.contains("Capabilities in use:"), "{text}");

    // announce / withdraw in ExaBGP's words.
    let out = ribbit(
        &lab,
        &[
            "announce",
            "route",
            "10.200.1.0/24",
            "next-hop",
            "198.18.0.1",
            "community",
            "100:100",
            "large-community",
            "65200:1:2",
        ],
    )
    .await
    .expect("announce");
    assert!(out.contains("done"), "{out}");
    g1.wait_route("10.200.1.0/24", &["100:100", "65200:1:2"])
        .await;
    // next-hop self: our address on the session (GoBGP ignores 127/8
    // next hops, so R's Adj-RIB-Out is the witness).
    ribbit(
        &lab,
        &[
            "announce",
            "-n",
            G1,
            "route",
            "10.200.2.0/24",
            "next-hop",
            "self",
        ],
    )
    .await
    .expect("announce self");
    let out = ribbit_json(&lab, &["neighbor", G1, "adj-out", "10.200.2.0/24"]).await;
    assert_eq!(out["routes"][0]["next-hop"], R, "{out}");
    ribbit(&lab, &["withdraw", "route", "10.200.1.0/24"])
        .await
        .expect("withdraw");
    g1.wait_no_route("10.200.1.0/24").await;

    // JSON: a [[route]] table with every kind of community, and a flow
    // rule (R offers no Flowspec to G1: refused, naming the family).
    let v = api(
        "POST",
        "/v1/announce",
        "application/json",
        &format!(
            r#"{{"prefix": "10.200.3.0/24", "next-hop": "198.18.0.3", "local-preference": 50, "med": 5,
                 "communities": ["65200:3"], "large-communities": ["65200:3:3"],
                 "extended-communities": ["target:65200:3"], "neighbors": ["{G1}"]}}"#
        ),
    )
    .await
    .expect("JSON announce");
    assert_eq!(v["results"][0]["ok"], true, "{v}");
    g1.wait_route("10.200.3.0/24", &["65200:3", "65200:3:3", "extended"])
        .await;
    // Flowspec: a [[flow]] table in JSON, and ExaBGP's text form.
    let v = api(
        "POST",
        "/v1/announce",
        "application/json",
        &format!(r#"{{"match": {{"destination": "10.9.0.0/24", "protocol": ["=udp"]}}, "then": {{"discard": true}}, "neighbors": ["{G1}"]}}"#),
    )
    .await
    .expect("JSON flow");
    assert_eq!(v["results"][0]["ok"], true, "{v}");
    ribbit(
        &lab,
        &[
            "announce",
            "flow",
            "route",
            "{",
            "match",
            "{",
            "destination",
            "10.8.0.0/24;",
            "}",
            "then",
            "{",
            "discard;",
            "}",
            "}",
        ],
    )
    .await
    .expect("text flow");
    let flows = || async {
        g1.run(&["neighbor", R, "adj-in", "-a", "ipv4-flowspec"])
            .await
    };
    eventually("G1 to have both Flowspec rules", PROPAGATE, || async {
        let t = flows().await?;
        if t.contains("10.9.0.0/24") && t.contains("10.8.0.0/24") && t.contains("discard") {
            Ok(())
        } else {
            Err(t)
        }
    })
    .await;
    ribbit(
        &lab,
        &[
            "withdraw",
            "flow",
            "route",
            "{",
            "match",
            "{",
            "destination",
            "10.8.0.0/24;",
            "}",
            "}",
        ],
    )
    .await
    .expect("withdraw flow");
    eventually("G1 to lose the text rule", PROPAGATE, || async {
        let t = flows().await?;
        if t.contains("10.8.0.0/24") {
            Err(t)
        } else {
            Ok(())
        }
    })
    .await;
    // No IPv6 Flowspec with G1: refused, naming the family.
    let e = api(
        "POST",
        "/v1/announce",
        "application/json",
        &format!(r#"{{"match": {{"destination": "2001:db8::/32"}}, "then": {{"discard": true}}, "neighbors": ["{G1}"]}}"#),
    )
    .await
    .expect_err("no IPv6 Flowspec with G1");
    assert!(e.contains("ipv6-flowspec"), "{e}");

    // Text lines are carried out one by one: the good one stays done, the
    // answer is 400 with every line's result.
    let e = api(
        "POST",
        "/v1/announce",
        "text/plain",
        "announce route 10.200.4.0/24 next-hop 198.18.0.4\nannounce route 10.200.5.0/33 next-hop self\n",
    )
    .await
    .expect_err("line 2 fails");
    assert!(
        e.starts_with("line 2:") && e.contains("10.200.5.0/33"),
        "{e}"
    );
    g1.wait_route("10.200.4.0/24", &[]).await;

    // The shell completions know the new commands.
    let bash = run_cli(
        env!("CARGO_BIN_EXE_ribbit"),
        &["completions", "bash"],
        lab.dir(),
    )
    .await
    .expect("completions");
    for word in ["announce", "withdraw", "reload", "--asn", "--message"] {
        assert!(bash.contains(word), "completions lack {word}");
    }

    // Wrong requests: a 4xx that says what, and G1's session untouched.
    let opens = g1.received("open").await.expect("counters");
    refused(
        ribbit(
            &lab,
            &["announce", "route", "10.200.300.0/24", "next-hop", "self"],
        )
        .await,
        "10.200.300.0/24",
    );
    refused(
        ribbit(
            &lab,
            &[
                "announce",
                "-n",
                "127.0.6.249",
                "route",
                "10.1.0.0/24",
                "next-hop",
                "self",
            ],
        )
        .await,
        "no neighbor 127.0.6.249",
    );
    refused(
        ribbit(&lab, &["neighbor", "127.0.6.249", "disable"]).await,
        "no neighbor 127.0.6.249",
    );
    let e = api(
        "POST",
        "/v1/announce",
        "application/json",
        r#"{"prefix": "10.1.0.0/24",}"#,
    )
    .await
    .expect_err("bad JSON");
    assert!(e.contains("not valid JSON") && e.contains("column"), "{e}");
    let e = api(
        "POST",
        "/v1/announce",
        "application/json",
        r#"{"prefix": "10.1.0.0/33"}"#,
    )
    .await
    .expect_err("bad prefix");
    assert!(e.contains("10.1.0.0/33"), "{e}");
    let wrong = run_cli(
        env!("CARGO_BIN_EXE_ribbit"),
        &[
            "reload",
            "--api",
            &format!("http://{API}"),
            "--token",
            "nope",
        ],
        lab.dir(),
    )
    .await;
    refused(wrong, "wrong token");
    let e = api(
        "POST",
        "/v1/neighbors",
        "application/json",
        &format!(r#"{{"address": "{G2}", "asn": 65202, "hold-tme": 30}}"#),
    )
    .await
    .expect_err("unknown key");
    assert!(e.contains("hold-tme"), "{e}");
    refused(
        ribbit(&lab, &["neighbor", "add", G1, "--asn", "65201"]).await,
        "already exists",
    );
    assert_eq!(
        g1.received("open").await.unwrap(),
        opens,
        "G1's session was not disturbed"
    );
    assert!(g1.established().await.unwrap());

    // Soft reset out sends our routes again; in asks for G1's.
    let updates = g1.received("update").await.unwrap();
    let out = ribbit(&lab, &["neighbor", G1, "softreset", "out"])
        .await
        .expect("softreset out");
    assert!(out.contains("ipv4-unicast"), "{out}");
    eventually("G1 to get UPDATEs again", PROPAGATE, || async {
        let now = g1.received("update").await?;
        if now > updates {
            Ok(())
        } else {
            Err(format!("{now} UPDATEs"))
        }
    })
    .await;
    let refreshes = g1.received("refresh").await.unwrap();
    ribbit(&lab, &["neighbor", G1, "softreset", "in"])
        .await
        .expect("softreset in");
    eventually("G1 to get a ROUTE-REFRESH", PROPAGATE, || async {
        let now = g1.received("refresh").await?;
        if now > refreshes {
            Ok(())
        } else {
            Err(format!("{now} refreshes"))
        }
    })
    .await;

    // A neighbor added at run time comes up, and its route reaches G1.
    let out = ribbit(
        &lab,
        &[
            "neighbor",
            "add",
            G2,
            "--asn",
            "65202",
            "port=11653",
            &format!("local-address={R}"),
            "connect-retry=1",
            "description=added",
        ],
    )
    .await
    .expect("add");
    assert!(out.contains("added"), "{out}");
    g2.wait_established(true, ESTABLISHED).await;
    g1.wait_route("10.202.0.0/24", &[]).await;
    let list = ribbit(&lab, &["neighbor"]).await.expect("list");
    assert!(list.contains(G2) && list.contains("added"), "{list}");

    // Deleted: G2 goes down.
    g1.wait_route("10.202.0.0/24", &[]).await;
    ribbit(&lab, &["neighbor", "del", G2]).await.expect("del");
    g2.wait_established(false, PROPAGATE).await;
    refused(
        ribbit(&lab, &["neighbor", G2]).await,
        "no neighbor 127.0.6.202",
    );

    // Its route leaves R's Adj-RIB-Out for G1, and G1.
    eventually("R to withdraw G2's route from G1", PROPAGATE, || async {
        let out = ribbit_json(&lab, &["neighbor", G1, "adj-out"]).await;
        let routes = out["routes"].as_array().cloned().unwrap_or_default();
        if routes.iter().any(|r| r["nlri"] == "10.202.0.0/24") {
            Err(format!("{out}"))
        } else {
            Ok(())
        }
    })
    .await;
    g1.wait_no_route("10.202.0.0/24").await;

    // Reload: G1's export policy tags, G2 is back; G1 keeps its session.
    let opens = g1.received("open").await.unwrap();
    let since = detail(&lab, G1).await["state-since"].clone();
    lab.write("ribbit.toml", &r_config(true));
    let report = ribbit_json(&lab, &["reload"]).await;
    assert_eq!(report["added"], serde_json::json!([G2]), "{report}");
    assert_eq!(report["changed"], serde_json::json!([G1]), "{report}");
    g2.wait_established(true, ESTABLISHED).await;
    eventually("R to send G1 G2's route tagged", PROPAGATE, || async {
        let out = ribbit_json(&lab, &["neighbor", G1, "adj-out", "10.202.0.0/24"]).await;
        if out.to_string().contains("65200:7") {
            Ok(())
        } else {
            Err(format!("{out}"))
        }
    })
    .await;
    g1.wait_route("10.202.0.0/24", &["65200:7"]).await;
    assert_eq!(
        g1.received("open").await.unwrap(),
        opens,
        "G1's session stayed up"
    );
    assert_eq!(detail(&lab, G1).await["state-since"], since);
    let text = ribbit(&lab, &["reload"]).await.expect("reload again");
    assert!(text.contains("untouched"), "{text}");

    // Disabled: down and stays down; enabled: up again.
    ribbit(&lab, &["neighbor", G1, "disable", "-m", "maintenance"])
        .await
        .expect("disable");
    g1.wait_established(false, PROPAGATE).await;
    assert!(
        g1.daemon.log_text().contains("maintenance")
            || detail(&lab, G1).await["state"] == "disabled"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !g1.established().await.unwrap(),
        "G1 stays down while disabled"
    );
    assert_eq!(detail(&lab, G1).await["state"], "disabled");
    ribbit(&lab, &["neighbor", G1, "enable"])
        .await
        .expect("enable");
    g1.wait_established(true, ESTABLISHED).await;
    wait_r_state(&lab, G1, "established").await;
}
