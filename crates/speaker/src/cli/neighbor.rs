//! `ribbit neighbor [ADDRESS [adj-in | adj-out [PREFIX]]]`: the neighbors
//! of a running Ribbit, one in detail, or the routes exchanged with one.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::client::{self, ApiArgs, Client, ClientError};
use super::rib::{family_for, lookup_query};
use super::view::{self, AdjRibPage, NeighborDetail, NeighborList};

/// Which routes of a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdjTable {
    /// What it sent us (after import policy; before with --pre-policy).
    AdjIn,
    /// What we sent it.
    AdjOut,
}

/// Arguments of `ribbit neighbor`.
#[derive(Debug, Args)]
pub struct NeighborArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// A neighbor's address: its details. Nothing: every neighbor.
    #[arg(value_name = "ADDRESS")]
    pub address: Option<String>,
    /// The routes it sent us (adj-in) or we sent it (adj-out).
    #[arg(value_name = "TABLE", requires = "address", value_enum)]
    pub table: Option<AdjTable>,
    /// In TABLE, a prefix, or an address (the most specific prefix that
    /// contains it).
    #[arg(value_name = "PREFIX", requires = "table")]
    pub prefix: Option<String>,
    /// The family of TABLE; by default ipv6-unicast for an IPv6 PREFIX,
    /// else ipv4-unicast.
    #[arg(
        short = 'a',
        long = "family",
        value_name = "FAMILY",
        requires = "table"
    )]
    pub family: Option<String>,
    /// adj-in: the routes before import policy (kept with keep-adj-rib-in).
    #[arg(long)]
    pub pre_policy: bool,
    /// With PREFIX: that prefix and every prefix inside it.
    #[arg(long, requires = "prefix")]
    pub more_specifics: bool,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `ribbit neighbor`.
pub fn run(args: &NeighborArgs) -> ExitCode {
    client::finish(client::block_on(neighbor(args)))
}

fn print(text: &str) -> Result<(), ClientError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ClientError::Output)
}

fn decode<T: serde::de::DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|source| ClientError::Decode {
        path: path.to_string(),
        source,
    })
}

async fn neighbor(args: &NeighborArgs) -> Result<ExitCode, ClientError> {
    if args.pre_policy && args.table != Some(AdjTable::AdjIn) {
        return Err(ClientError::Request(
            "--pre-policy goes with adj-in: ribbit neighbor ADDRESS adj-in --pre-policy"
                .to_string(),
        ));
    }
    let client = Client::from_args(&args.api)?;
    let Some(address) = &args.address else {
        let path = "/v1/neighbors";
        let body = client.get_bytes(path).await?;
        let list: NeighborList = decode(path, &body)?;
        if args.json {
            print(&format!("{}\n", String::from_utf8_lossy(&body)))?;
        } else {
            print(&neighbor_table(&list))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let base = format!("/v1/neighbors/{}", client::encode(address));
    let Some(table) = args.table else {
        let body = client.get_bytes(&base).await?;
        let d: NeighborDetail = decode(&base, &body)?;
        if args.json {
            print(&format!("{}\n", String::from_utf8_lossy(&body)))?;
        } else {
            print(&detail_text(&d))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let prefix = args.prefix.as_deref();
    let family = family_for(args.family.as_deref(), prefix);
    let mut query = lookup_query(prefix, args.more_specifics);
    if args.pre_policy {
        query.push_str(if query.is_empty() { "?" } else { "&" });
        query.push_str("pre-policy=true");
    }
    let name = match table {
        AdjTable::AdjIn => "adj-rib-in",
        AdjTable::AdjOut => "adj-rib-out",
    };
    let path = format!("{base}/{name}/{}{query}", client::encode(&family));
    let body = client.get_bytes(&path).await?;
    let page: AdjRibPage = decode(&path, &body)?;
    if args.json {
        print(&format!("{}\n", String::from_utf8_lossy(&body)))?;
    } else {
        let text: String = page.routes.iter().map(|r| format!("{r}\n")).collect();
        print(&text)?;
    }
    match (prefix, page.routes.is_empty()) {
        (Some(p), true) => {
            eprintln!("ribbit: {p}: no route in the {name} of {address} ({family})");
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
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
