//! `ribbit monitor`: the events of a running Ribbit as they happen, one
//! JSON object per line (`GET /v1/events`).

use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;

use clap::Args;

use super::client::{self, ApiArgs, Client, ClientError};

/// Arguments of `ribbit monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Only the events of this neighbor (repeatable).
    #[arg(long = "neighbor", value_name = "ADDRESS")]
    pub neighbors: Vec<String>,
    /// Only UPDATEs and ROUTE-REFRESHes of this family (repeatable); state
    /// changes and NOTIFICATIONs concern no family and still show.
    #[arg(short = 'a', long = "family", value_name = "FAMILY")]
    pub families: Vec<String>,
    /// Only events of this type: state, update, route-refresh, notification
    /// (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Start with each neighbor's state and table, and get them again
    /// after lost events (`resync-state`, `resync-routes`, `resync-end`).
    #[arg(long)]
    pub resync: bool,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// The query string of the filters.
pub fn events_query(args: &MonitorArgs) -> String {
    let mut parts = Vec::new();
    for (key, values) in [
        ("neighbor", &args.neighbors),
        ("family", &args.families),
        ("type", &args.types),
    ] {
        if !values.is_empty() {
            let list: Vec<String> = values.iter().map(|v| client::encode(v)).collect();
            parts.push(format!("{key}={}", list.join(",")));
        }
    }
    if args.resync {
        parts.push("resync=true".to_string());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Run `ribbit monitor`.
pub fn run(args: &MonitorArgs) -> ExitCode {
    client::finish(client::block_on(monitor(args)))
}

async fn monitor(args: &MonitorArgs) -> Result<ExitCode, ClientError> {
    let client = Client::from_args(&args.api)?;
    let path = format!("/v1/events{}", events_query(args));
    let mut seen = 0u64;
    let out = std::io::stdout();
    let ended = client
        .lines(&path, |line| {
            if line.is_empty() {
                return Ok(ControlFlow::Continue(()));
            }
            // Each line as soon as it comes: a program reading the pipe
            // must not wait for a buffer to fill.
            let mut o = out.lock();
            o.write_all(line)
                .and_then(|()| o.write_all(b"\n"))
                .and_then(|()| o.flush())
                .map_err(ClientError::Output)?;
            seen += 1;
            if args.count.is_some_and(|c| seen >= c) {
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
    match ended {
        false => Ok(ExitCode::SUCCESS),
        true => {
            eprintln!("ribbit: the API ended the event stream (Ribbit stopped)");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        monitor: MonitorArgs,
    }

    fn query(args: &[&str]) -> String {
        let cli = Cli::try_parse_from(std::iter::once("monitor").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        events_query(&cli.monitor)
    }

    #[test]
    fn the_query_says_what_the_arguments_do() {
        assert_eq!(query(&[]), "");
        assert_eq!(
            query(&[
                "--neighbor",
                "192.0.2.1",
                "--type",
                "update",
                "--type",
                "state"
            ]),
            "?neighbor=192.0.2.1&type=update,state"
        );
        assert_eq!(
            query(&["--resync", "-a", "ipv4-unicast"]),
            "?family=ipv4-unicast&resync=true"
        );
    }
}
