//! `ribbit neighbor [ADDRESS [adj-in | adj-out [PREFIX]]]`: the neighbors
//! of a running Ribbit, one in detail, or the routes exchanged with one;
//! and, as `gobgp neighbor` does, the commands that change them:
//!
//! ```text
//! ribbit neighbor add ADDRESS --asn N [KEY=VALUE ...]   POST /v1/neighbors
//! ribbit neighbor del ADDRESS                           DELETE /v1/neighbors/ADDRESS
//! ribbit neighbor ADDRESS enable | disable | reset      POST .../enable ...
//! ribbit neighbor ADDRESS softreset [in | out]          POST .../soft-reset
//! ```
//!
//! `add` takes the keys of a `[[neighbor]]` table of the configuration
//! (docs/config.md) as KEY=VALUE, VALUE in TOML (`passive=true`,
//! `families=["ipv4-unicast"]`); a VALUE that is not TOML is a string
//! (`description=edge`).

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use hyper::Method;
use serde_json::{Map, Value};

use super::client::{self, ApiArgs, Client, ClientError};
use super::control::{decode, print};
use super::rib::{family_for, lookup_query};
use super::view::{self, AdjRibPage, NeighborDetail, NeighborList};

/// Arguments of `ribbit neighbor`.
#[derive(Debug, Args)]
pub struct NeighborArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Nothing: every neighbor. ADDRESS: its details. ADDRESS adj-in |
    /// adj-out [PREFIX]: the routes it sent us or we sent it (PREFIX: a
    /// prefix, or an address for the most specific prefix that contains
    /// it). ADDRESS enable | disable | reset | softreset [in | out]. add
    /// ADDRESS [KEY=VALUE ...]. del ADDRESS.
    // The text above is the command's help, in its own notation.
    #[allow(rustdoc::broken_intra_doc_links)]
    #[arg(value_name = "ARGS", num_args = 0..)]
    pub words: Vec<String>,
    /// The family of adj-in, adj-out or softreset; for the tables, by
    /// default ipv6-unicast for an IPv6 PREFIX, else ipv4-unicast; for
    /// softreset, by default every negotiated family.
    #[arg(short = 'a', long = "family", value_name = "FAMILY")]
    pub family: Option<String>,
    /// adj-in: the routes before import policy (kept with keep-adj-rib-in).
    #[arg(long)]
    pub pre_policy: bool,
    /// With PREFIX: that prefix and every prefix inside it.
    #[arg(long)]
    pub more_specifics: bool,
    /// add: the neighbor's AS (the `asn` key).
    #[arg(long, value_name = "AS")]
    pub asn: Option<u32>,
    /// disable, reset: the shutdown communication sent with the
    /// NOTIFICATION (RFC 9003).
    #[arg(long, short = 'm', value_name = "TEXT")]
    pub message: Option<String>,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `ribbit neighbor`.
pub fn run(args: &NeighborArgs) -> ExitCode {
    client::finish(client::block_on(neighbor(args)))
}

/// What the words ask for.
#[derive(Debug, PartialEq, Eq)]
enum Action<'a> {
    List,
    Detail(&'a str),
    Table(&'a str, &'static str, Option<&'a str>),
    Add(&'a str, &'a [String]),
    Delete(&'a str),
    Command(&'a str, &'static str),
    SoftReset(&'a str, &'static str),
}

fn usage(problem: &str) -> ClientError {
    ClientError::Request(format!(
        "{problem}; usage: ribbit neighbor [ADDRESS [adj-in | adj-out [PREFIX] | enable | disable | reset | softreset [in | out]]], ribbit neighbor add ADDRESS --asn N [KEY=VALUE ...], ribbit neighbor del ADDRESS"
    ))
}

fn action(words: &[String]) -> Result<Action<'_>, ClientError> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    Ok(match w.as_slice() {
        [] => Action::List,
        ["add"] => return Err(usage("add needs the new neighbor's ADDRESS")),
        ["add", address, ..] => Action::Add(address, words.get(2..).unwrap_or_default()),
        ["del" | "delete"] => return Err(usage("del needs the neighbor's ADDRESS")),
        ["del" | "delete", address] => Action::Delete(address),
        [address] => Action::Detail(address),
        [address, "adj-in"] => Action::Table(address, "adj-rib-in", None),
        [address, "adj-out"] => Action::Table(address, "adj-rib-out", None),
        [address, "adj-in", prefix] => Action::Table(address, "adj-rib-in", Some(prefix)),
        [address, "adj-out", prefix] => Action::Table(address, "adj-rib-out", Some(prefix)),
        [address, "enable"] => Action::Command(address, "enable"),
        [address, "disable"] => Action::Command(address, "disable"),
        [address, "reset"] => Action::Command(address, "reset"),
        [address, "softreset"] => Action::SoftReset(address, "both"),
        [address, "softreset", "in"] | [address, "softresetin"] => Action::SoftReset(address, "in"),
        [address, "softreset", "out"] | [address, "softresetout"] => {
            Action::SoftReset(address, "out")
        }
        [_, "softreset", other] => {
            return Err(usage(&format!(
                "softreset {other}: the direction is in or out (both when not given)"
            )))
        }
        [_, other, ..] => return Err(usage(&format!("unknown neighbor command {other:?}"))),
    })
}

/// The JSON body of `add`: the address, `--asn`, and every KEY=VALUE.
fn add_body(address: &str, asn: Option<u32>, pairs: &[String]) -> Result<Value, ClientError> {
    let mut obj = Map::new();
    obj.insert("address".to_string(), Value::String(address.to_string()));
    if let Some(a) = asn {
        obj.insert("asn".to_string(), Value::from(a));
    }
    for pair in pairs {
        let Some((key, text)) = pair.split_once('=') else {
            return Err(usage(&format!(
                "{pair:?} is not KEY=VALUE (a key of [[neighbor]], such as passive=true)"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(usage(&format!("{pair:?} has no key before =")));
        }
        // VALUE as TOML, so that numbers, booleans, lists and tables keep
        // their type; else as a string.
        let value = toml::from_str::<toml::Table>(&format!("v = {text}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| Value::String(text.to_string()));
        if obj.insert(key.to_string(), value).is_some() {
            return Err(usage(&format!("{key} is given twice")));
        }
    }
    Ok(Value::Object(obj))
}

fn json_body(v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

async fn neighbor(args: &NeighborArgs) -> Result<ExitCode, ClientError> {
    let act = action(&args.words)?;
    let table = matches!(act, Action::Table(..));
    if args.pre_policy && !matches!(act, Action::Table(_, "adj-rib-in", _)) {
        return Err(ClientError::Request(
            "--pre-policy goes with adj-in: ribbit neighbor ADDRESS adj-in --pre-policy"
                .to_string(),
        ));
    }
    if args.more_specifics && !matches!(act, Action::Table(_, _, Some(_))) {
        return Err(ClientError::Request(
            "--more-specifics goes with a PREFIX: ribbit neighbor ADDRESS adj-in PREFIX --more-specifics".to_string(),
        ));
    }
    if args.family.is_some() && !table && !matches!(act, Action::SoftReset(..)) {
        return Err(ClientError::Request(
            "--family goes with adj-in, adj-out or softreset".to_string(),
        ));
    }
    if args.asn.is_some() && !matches!(act, Action::Add(..)) {
        return Err(ClientError::Request("--asn goes with add".to_string()));
    }
    if args.message.is_some()
        && !matches!(
            act,
            Action::Command(_, "disable") | Action::Command(_, "reset")
        )
    {
        return Err(ClientError::Request(
            "--message goes with disable or reset".to_string(),
        ));
    }
    let client = Client::from_args(&args.api)?;
    let done = |body: &[u8], text: String| -> Result<ExitCode, ClientError> {
        if args.json {
            print(&format!("{}\n", String::from_utf8_lossy(body)))?;
        } else {
            print(&text)?;
        }
        Ok(ExitCode::SUCCESS)
    };
    match act {
        Action::List => {
            let path = "/v1/neighbors";
            let body = client.get_bytes(path).await?;
            let list: NeighborList = decode(path, &body)?;
            done(&body, neighbor_table(&list))
        }
        Action::Detail(address) => {
            let path = format!("/v1/neighbors/{}", client::encode(address));
            let body = client.get_bytes(&path).await?;
            let d: NeighborDetail = decode(&path, &body)?;
            done(&body, detail_text(&d))
        }
        Action::Add(address, pairs) => {
            let path = "/v1/neighbors";
            let req = add_body(address, args.asn, pairs)?;
            let body = client
                .send_bytes(Method::POST, path, json_body(&req))
                .await?;
            let d: NeighborDetail = decode(path, &body)?;
            done(
                &body,
                format!("neighbor {} added, AS {}\n", d.address, d.asn),
            )
        }
        Action::Delete(address) => {
            let path = format!("/v1/neighbors/{}", client::encode(address));
            let body = client.send_bytes(Method::DELETE, &path, None).await?;
            done(&body, format!("neighbor {address} removed\n"))
        }
        Action::Command(address, command) => {
            let path = format!("/v1/neighbors/{}/{command}", client::encode(address));
            let req = args
                .message
                .as_ref()
                .map(|m| serde_json::json!({ "message": m }));
            let body = client
                .send_bytes(Method::POST, &path, req.as_ref().and_then(json_body))
                .await?;
            let did = match command {
                "enable" => "enabled",
                "disable" => "disabled",
                _ => "reset",
            };
            done(&body, format!("neighbor {address} {did}\n"))
        }
        Action::SoftReset(address, direction) => {
            let path = format!("/v1/neighbors/{}/soft-reset", client::encode(address));
            let mut req = serde_json::json!({ "direction": direction });
            if let Some(f) = &args.family {
                req["family"] = Value::String(f.clone());
            }
            let body = client
                .send_bytes(Method::POST, &path, json_body(&req))
                .await?;
            let v: Value = decode(&path, &body)?;
            let families: Vec<&str> = v["families"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            done(
                &body,
                format!(
                    "neighbor {address}: soft reset {direction} of {}\n",
                    families.join(", ")
                ),
            )
        }
        Action::Table(address, name, prefix) => {
            let family = family_for(args.family.as_deref(), prefix);
            let mut query = lookup_query(prefix, args.more_specifics);
            if args.pre_policy {
                query.push_str(if query.is_empty() { "?" } else { "&" });
                query.push_str("pre-policy=true");
            }
            let path = format!(
                "/v1/neighbors/{}/{name}/{}{query}",
                client::encode(address),
                client::encode(&family)
            );
            let body = client.get_bytes(&path).await?;
            let page: AdjRibPage = decode(&path, &body)?;
            let text: String = page.routes.iter().map(|r| format!("{r}\n")).collect();
            done(&body, text)?;
            match (prefix, page.routes.is_empty()) {
                (Some(p), true) => {
                    eprintln!("ribbit: {p}: no route in the {name} of {address} ({family})");
                    Ok(ExitCode::from(1))
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
    }
}

/// The table of `ribbit neighbor`.
pub fn neighbor_table(list: &NeighborList) -> String {
    let mut rows = vec![[
        "Peer",
        "AS",
        "Up/Down",
        "State",
        "Received",
        "Accepted",
        "Advertised",
        "Description",
    ]
    .map(String::from)
    .to_vec()];
    for n in &list.neighbors {
        rows.push(vec![
            n.address.to_string(),
            n.asn.to_string(),
            view::age(n.state_since),
            n.state.clone(),
            n.prefixes.received.to_string(),
            n.prefixes.accepted.to_string(),
            n.prefixes.advertised.to_string(),
            n.description.clone().unwrap_or_default(),
        ]);
    }
    view::table(&rows)
}

/// The text of `ribbit neighbor ADDRESS`.
pub fn detail_text(d: &NeighborDetail) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "BGP neighbor {}, port {}, remote AS {}, local AS {}",
        d.address, d.port, d.asn, d.local_asn
    );
    if let Some(desc) = &d.description {
        let _ = writeln!(s, "  Description: {desc}");
    }
    let _ = writeln!(s, "  State: {}, for {}", d.state, view::age(d.state_since));
    if let Some(l) = d.local_address {
        let _ = writeln!(s, "  Local address: {l}");
    }
    let mut role = Vec::new();
    if d.passive {
        role.push("passive");
    }
    if d.route_server_client {
        role.push("route-server client");
    }
    if d.route_reflector_client {
        role.push("route-reflector client");
    }
    if !role.is_empty() {
        let _ = writeln!(s, "  Role: {}", role.join(", "));
    }
    let _ = writeln!(s, "  Hold time (configured): {} s", d.hold_time);
    let _ = writeln!(s, "  Families (configured): {}", d.families.join(" "));
    let _ = writeln!(
        s,
        "  Sessions established: {}, UPDATEs received: {}",
        d.established_count, d.updates_received
    );
    if let Some(n) = &d.session {
        let _ = writeln!(
            s,
            "  Negotiated: router ID {}, hold time {} s, families {}",
            n.router_id,
            n.hold_time,
            n.families.join(" ")
        );
        let mut caps = Vec::new();
        if n.four_octet_as {
            caps.push("4-octet AS");
        }
        if n.route_refresh {
            caps.push("route refresh");
        }
        if n.enhanced_route_refresh {
            caps.push("enhanced route refresh");
        }
        let _ = writeln!(s, "  Capabilities in use: {}", caps.join(", "));
        let _ = writeln!(
            s,
            "  Neighbor's capabilities: {}",
            n.capabilities.join(", ")
        );
    }
    if let (Some(r), Some(t)) = (&d.messages_received, &d.messages_sent) {
        let _ = writeln!(
            s,
            "  Messages received/sent: OPEN {}/{}, UPDATE {}/{}, KEEPALIVE {}/{}, NOTIFICATION {}/{}, ROUTE-REFRESH {}/{}",
            r.open, t.open, r.update, t.update, r.keepalive, t.keepalive, r.notification, t.notification, r.route_refresh, t.route_refresh
        );
    }
    if let Some(why) = &d.last_down {
        let _ = writeln!(s, "  Last down: {why}");
    }
    if let Some(n) = &d.last_notification {
        let _ = write!(
            s,
            "  Last NOTIFICATION: {} {}/{} {} / {}, {} ago",
            n.direction,
            n.code,
            n.subcode,
            n.code_name,
            n.subcode_name,
            view::age(Some(n.time))
        );
        if let Some(m) = &n.shutdown_message {
            let _ = write!(s, ": {m:?}");
        }
        s.push('\n');
    }
    if !d.counters.is_empty() {
        let mut rows = vec![[
            "Family",
            "Received",
            "Accepted",
            "Rejected",
            "Withdrawn",
            "Advertised",
            "Ignored",
        ]
        .map(String::from)
        .to_vec()];
        for c in &d.counters {
            rows.push(vec![
                c.family.clone().unwrap_or_else(|| "(other)".to_string()),
                c.received.to_string(),
                c.accepted.to_string(),
                c.rejected.to_string(),
                c.withdrawn.to_string(),
                c.advertised.to_string(),
                c.ignored.to_string(),
            ]);
        }
        s.push('\n');
        for line in view::table(&rows).lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_words_say_what_to_do() {
        let w = words("");
        assert_eq!(action(&w).unwrap(), Action::List);
        let w = words("127.0.0.2");
        assert_eq!(action(&w).unwrap(), Action::Detail("127.0.0.2"));
        let w = words("127.0.0.2 adj-in 10.0.0.0/8");
        assert_eq!(
            action(&w).unwrap(),
            Action::Table("127.0.0.2", "adj-rib-in", Some("10.0.0.0/8"))
        );
        let w = words("127.0.0.2 disable");
        assert_eq!(action(&w).unwrap(), Action::Command("127.0.0.2", "disable"));
        let w = words("127.0.0.2 softreset");
        assert_eq!(action(&w).unwrap(), Action::SoftReset("127.0.0.2", "both"));
        let w = words("127.0.0.2 softreset out");
        assert_eq!(action(&w).unwrap(), Action::SoftReset("127.0.0.2", "out"));
        let w = words("127.0.0.2 softresetin");
        assert_eq!(action(&w).unwrap(), Action::SoftReset("127.0.0.2", "in"));
        let w = words("del 127.0.0.2");
        assert_eq!(action(&w).unwrap(), Action::Delete("127.0.0.2"));
        let w = words("add 127.0.0.9 passive=true");
        assert!(
            matches!(action(&w).unwrap(), Action::Add("127.0.0.9", [p]) if p == "passive=true")
        );
        for bad in [
            "add",
            "del",
            "127.0.0.2 frobnicate",
            "127.0.0.2 softreset sideways",
        ] {
            let w = words(bad);
            assert!(action(&w).is_err(), "{bad}");
        }
    }

    #[test]
    fn add_takes_toml_values_and_bare_strings() {
        let pairs =
            words(r#"passive=true families=["ipv4-unicast"] hold-time=30 description=edge"#);
        let v = add_body("127.0.0.9", Some(65009), &pairs).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "address": "127.0.0.9",
                "asn": 65009,
                "passive": true,
                "families": ["ipv4-unicast"],
                "hold-time": 30,
                "description": "edge",
            })
        );
        assert!(add_body("127.0.0.9", None, &words("passive")).is_err());
        assert!(add_body("127.0.0.9", None, &words("=1")).is_err());
        assert!(add_body("127.0.0.9", Some(1), &words("asn=2")).is_err());
    }
}
