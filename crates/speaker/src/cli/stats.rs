//! `ribbit stats`: the table sizes of a running Ribbit.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::client::{self, ApiArgs, Client, ClientError};
use super::view::{self, Stats};

/// Arguments of `ribbit stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print the API's JSON instead of text (with the counters of every
    /// neighbor).
    #[arg(long)]
    pub json: bool,
}

/// Run `ribbit stats`.
pub fn run(args: &StatsArgs) -> ExitCode {
    client::finish(client::block_on(stats(args)))
}

async fn stats(args: &StatsArgs) -> Result<ExitCode, ClientError> {
    let client = Client::from_args(&args.api)?;
    let path = "/v1/stats";
    let body = client.get_bytes(path).await?;
    let s: Stats = serde_json::from_slice(&body).map_err(|source| ClientError::Decode {
        path: path.to_string(),
        source,
    })?;
    let text = if args.json {
        format!("{}\n", String::from_utf8_lossy(&body))
    } else {
        let mut rows = vec![vec![
            "Family".to_string(),
            "Destinations".to_string(),
            "Paths".to_string(),
        ]];
        for f in &s.families {
            rows.push(vec![
                f.family.clone(),
                f.destinations.to_string(),
                f.paths.to_string(),
            ]);
        }
        format!(
            "{}\nAttribute sets: {}\nEvent streams: {}\n",
            view::table(&rows),
            s.attribute_sets,
            s.event_streams
        )
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ClientError::Output)?;
    Ok(ExitCode::SUCCESS)
}
