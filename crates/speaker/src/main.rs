//! The `ribbit` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ribbit::cli::{decode, encode, mrt, run};

/// Ribbit: a programmable BGP speaker and route server.
#[derive(Parser)]
#[command(name = "ribbit", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode BGP messages given in hex and print them as JSON, one per line.
    Decode(decode::DecodeArgs),
    /// Encode UPDATEs from ExaBGP-style route text and print them in hex.
    Encode(encode::EncodeArgs),
    /// Run the speaker: keep the configured BGP sessions up.
    Run(run::RunArgs),
    /// Print MRT dumps (JSON or bgpdump -m lines), or replay one into a session.
    Mrt(mrt::MrtArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Each subcommand has its own error type; only the message is needed here.
        Command::Decode(args) => decode::run(&args).map_err(|e| e.to_string()),
        Command::Encode(args) => encode::run(&args).map_err(|e| e.to_string()),
        Command::Run(args) => run::run(&args).map_err(|e| e.to_string()),
        Command::Mrt(args) => mrt::run(&args).map_err(|e| e.to_string()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ribbit: {e}");
            ExitCode::from(2)
        }
    }
}
