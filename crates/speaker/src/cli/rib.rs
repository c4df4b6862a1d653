//! `ribbit rib [-a FAMILY] [PREFIX | ADDRESS]`: the Loc-RIB of a running
//! Ribbit, every path of each destination, the best marked and the reason
//! it won.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::client::{self, ApiArgs, Client, ClientError};
use super::view::RibPage;

/// Arguments of `ribbit rib`.
#[derive(Debug, Args)]
pub struct RibArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The family (`ipv4-unicast`, `ipv6-unicast`, `ipv4-flowspec`, ...);
    /// by default ipv6-unicast for an IPv6 PREFIX, else ipv4-unicast.
    #[arg(short = 'a', long = "family", value_name = "FAMILY")]
    pub family: Option<String>,
    /// A prefix: its paths. An address: the paths of the most specific
    /// prefix that contains it. Nothing: the whole table.
    #[arg(value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// With PREFIX: that prefix and every prefix inside it.
    #[arg(long, requires = "prefix")]
    pub more_specifics: bool,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The family a lookup is in: the one given, or the unicast family of the
/// prefix's address family.
pub fn family_for(family: Option<&str>, prefix: Option<&str>) -> String {
    match (family, prefix) {
        (Some(f), _) => f.to_string(),
        (None, Some(p)) if p.contains(':') => "ipv6-unicast".to_string(),
        (None, _) => "ipv4-unicast".to_string(),
    }
}

/// The query string of a lookup: `prefix=` for a prefix, `longest-match=`
/// for an address, `more-specifics=` when asked.
pub fn lookup_query(prefix: Option<&str>, more_specifics: bool) -> String {
    match prefix {
        None => String::new(),
        Some(p) if more_specifics => format!("?more-specifics={}", client::encode(p)),
        Some(p) if p.contains('/') => format!("?prefix={}", client::encode(p)),
        Some(p) => format!("?longest-match={}", client::encode(p)),
    }
}

/// Run `ribbit rib`.
pub fn run(args: &RibArgs) -> ExitCode {
    client::finish(client::block_on(rib(args)))
}

async fn rib(args: &RibArgs) -> Result<ExitCode, ClientError> {
    let client = Client::from_args(&args.api)?;
    let prefix = args.prefix.as_deref();
    let family = family_for(args.family.as_deref(), prefix);
    let path = format!(
        "/v1/rib/{}{}",
        client::encode(&family),
        lookup_query(prefix, args.more_specifics)
    );
    let body = client.get_bytes(&path).await?;
    let page: RibPage = serde_json::from_slice(&body).map_err(|source| ClientError::Decode {
        path: path.clone(),
        source,
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(&body).map_err(ClientError::Output)?;
        out.write_all(b"\n").map_err(ClientError::Output)?;
    } else {
        for d in &page.destinations {
            write!(out, "{d}").map_err(ClientError::Output)?;
        }
    }
    out.flush().map_err(ClientError::Output)?;
    match (prefix, page.destinations.is_empty()) {
        (Some(p), true) => {
            eprintln!("ribbit: {p}: no route in {family}");
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
