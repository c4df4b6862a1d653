//! `ribbit announce ...`, `ribbit withdraw ...` and `ribbit reload`: the
//! commands that change a running Ribbit through its API.
//!
//! The words after `announce` and `withdraw` are ExaBGP's text form
//! (`ribbit announce route 10.0.0.0/24 next-hop self community 100:100`),
//! sent as they are, as `text/plain`, to `POST /v1/announce` or
//! `/v1/withdraw`: the speaker parses them with the process API's parser,
//! so they mean what they mean to an ExaBGP program.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Args;
use hyper::Method;
use serde::Deserialize;

use super::client::{self, ApiArgs, Client, ClientError};
use super::view;

/// Arguments of `ribbit announce` and `ribbit withdraw`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Only to this neighbor (ExaBGP's `neighbor ADDRESS` selector);
    /// repeat for several. By default: every neighbor of the family.
    #[arg(long = "neighbor", short = 'n', value_name = "ADDRESS")]
    pub neighbors: Vec<String>,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The command after the verb, in ExaBGP's text form: `route
    /// 10.0.0.0/24 next-hop self community 100:100`, `flow route { match {
    /// destination 10.0.0.0/24; } then { discard; } }`. `-` reads whole
    /// commands (verb included), one per line, from standard input.
    #[arg(required = true, num_args = 1.., value_name = "COMMAND")]
    pub words: Vec<String>,
}

/// Arguments of `ribbit reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Where the API is.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `ribbit announce`.
pub fn announce(args: &RouteArgs) -> ExitCode {
    client::finish(client::block_on(routes(args, "announce")))
}

/// Run `ribbit withdraw`.
pub fn withdraw(args: &RouteArgs) -> ExitCode {
    client::finish(client::block_on(routes(args, "withdraw")))
}

/// Run `ribbit reload`.
pub fn reload(args: &ReloadArgs) -> ExitCode {
    client::finish(client::block_on(reload_now(args)))
}

/// Print to standard output.
pub fn print(text: &str) -> Result<(), ClientError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ClientError::Output)
}

/// Decode an answer of the API.
pub fn decode<T: serde::de::DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|source| ClientError::Decode {
        path: path.to_string(),
        source,
    })
}

/// The text the command sends: one line from the words, or the lines of
/// standard input.
fn command_text(args: &RouteArgs, verb: &str) -> Result<String, ClientError> {
    if args.words.len() == 1 && args.words.first().is_some_and(|w| w == "-") {
        if !args.neighbors.is_empty() {
            return Err(ClientError::Request(
                "--neighbor goes with a command in the arguments; on standard input, start a line with `neighbor ADDRESS`".to_string(),
            ));
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| ClientError::Request(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    if args.words.first().is_some_and(|w| w == verb) {
        return Err(ClientError::Request(format!(
            "the words after `ribbit {verb}` are the command without its verb: ribbit {verb} {}",
            args.words.get(1..).unwrap_or_default().join(" ")
        )));
    }
    let selectors: Vec<String> = args
        .neighbors
        .iter()
        .map(|n| format!("neighbor {n}"))
        .collect();
    let mut line = String::new();
    if !selectors.is_empty() {
        line.push_str(&selectors.join(" , "));
        line.push(' ');
    }
    line.push_str(verb);
    for w in &args.words {
        line.push(' ');
        line.push_str(w);
    }
    line.push('\n');
    Ok(line)
}

#[derive(Debug, Deserialize)]
struct Results {
    results: Vec<ItemResult>,
}

#[derive(Debug, Deserialize)]
struct ItemResult {
    item: usize,
    command: Option<String>,
    ok: bool,
}

async fn routes(args: &RouteArgs, verb: &str) -> Result<ExitCode, ClientError> {
    let text = command_text(args, verb)?;
    let client = Client::from_args(&args.api)?;
    let path = format!("/v1/{verb}");
    let body = client
        .send_bytes(
            Method::POST,
            &path,
            Some(("text/plain; charset=utf-8", text.into_bytes())),
        )
        .await?;
    if args.json {
        print(&format!("{}\n", String::from_utf8_lossy(&body)))?;
        return Ok(ExitCode::SUCCESS);
    }
    let r: Results = decode(&path, &body)?;
    let mut rows = vec![vec![
        "Line".to_string(),
        "Result".to_string(),
        "Command".to_string(),
    ]];
    for i in &r.results {
        rows.push(vec![
            i.item.to_string(),
            if i.ok { "done" } else { "error" }.to_string(),
            i.command.clone().unwrap_or_default(),
        ]);
    }
    print(&view::table(&rows))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ReloadAnswer {
    file: String,
    added: Vec<String>,
    removed: Vec<String>,
    reset: Vec<String>,
    changed: Vec<String>,
    untouched: Vec<String>,
    needs_restart: Vec<String>,
}

async fn reload_now(args: &ReloadArgs) -> Result<ExitCode, ClientError> {
    let client = Client::from_args(&args.api)?;
    let path = "/v1/reload";
    let body = client.send_bytes(Method::POST, path, None).await?;
    if args.json {
        print(&format!("{}\n", String::from_utf8_lossy(&body)))?;
        return Ok(ExitCode::SUCCESS);
    }
    let r: ReloadAnswer = decode(path, &body)?;
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut rows = vec![vec!["Neighbors".to_string(), String::new()]];
    for (name, v) in [
        ("added", &r.added),
        ("removed", &r.removed),
        ("reset", &r.reset),
        ("changed", &r.changed),
        ("untouched", &r.untouched),
    ] {
        rows.push(vec![name.to_string(), list(v)]);
    }
    let mut text = format!("Reloaded {}\n{}", r.file, view::table(&rows));
    if !r.needs_restart.is_empty() {
        text.push_str(&format!(
            "Applied at the next start only: {}\n",
            r.needs_restart.join(", ")
        ));
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
