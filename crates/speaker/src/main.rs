//! The `ribbit` command line.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use ribbit::cli::{
    control, decode, demo, encode, healthcheck, monitor, mrt, neighbor, rib, run, stats,
};

/// Ribbit: a programmable BGP speaker and route server.
#[derive(Parser)]
#[command(name = "ribbit", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Two speakers on loopback, no set-up: one announces routes and a
    /// Flowspec rule, the other prints them as they arrive, then its RIB.
    Demo(demo::DemoArgs),
    /// Decode BGP messages given in hex and print them as JSON, one per line.
    Decode(decode::DecodeArgs),
    /// Encode UPDATEs from ExaBGP-style route text and print them in hex.
    Encode(encode::EncodeArgs),
    /// Run the speaker: keep the configured BGP sessions up.
    Run(run::RunArgs),
    /// Show the neighbors of a running Ribbit, one in detail, or the routes
    /// exchanged with one (adj-in, adj-out); add, delete, enable, disable,
    /// reset or soft-reset one.
    Neighbor(neighbor::NeighborArgs),
    /// Announce routes on a running Ribbit, in ExaBGP's text form:
    /// `ribbit announce route 10.0.0.0/24 next-hop self community 100:100`.
    Announce(control::RouteArgs),
    /// Withdraw routes announced with `ribbit announce`: `ribbit withdraw
    /// route 10.0.0.0/24`.
    Withdraw(control::RouteArgs),
    /// Make a running Ribbit read its configuration file again and apply
    /// the difference (as SIGHUP does).
    Reload(control::ReloadArgs),
    /// Show the RIB of a running Ribbit: every path of each prefix, the best
    /// marked and why it won.
    Rib(rib::RibArgs),
    /// Print the events of a running Ribbit as they happen, one JSON object
    /// per line.
    Monitor(monitor::MonitorArgs),
    /// Show the table sizes of a running Ribbit.
    Stats(stats::StatsArgs),
    /// Print MRT dumps (JSON or bgpdump -m lines), or replay one into a session.
    Mrt(mrt::MrtArgs),
    /// Announce addresses while a check command succeeds (ExaBGP's
    /// healthcheck, for [[process]]).
    Healthcheck(Box<healthcheck::HealthcheckArgs>),
    /// Print a shell completion script (bash, zsh, fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// The shells completions are written for.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Each subcommand has its own error type; only the message is needed here.
        Command::Demo(args) => demo::run(&args).map_err(|e| e.to_string()),
        Command::Decode(args) => decode::run(&args).map_err(|e| e.to_string()),
        Command::Encode(args) => encode::run(&args).map_err(|e| e.to_string()),
        Command::Run(args) => run::run(&args).map_err(|e| e.to_string()),
        Command::Mrt(args) => mrt::run(&args).map_err(|e| e.to_string()),
        Command::Healthcheck(args) => healthcheck::run(&args).map_err(|e| e.to_string()),
        // The API's clients print their own errors: their exit status says
        // whether the API refused (1) or could not be asked (2).
        Command::Neighbor(args) => Ok(neighbor::run(&args)),
        Command::Announce(args) => Ok(control::announce(&args)),
        Command::Withdraw(args) => Ok(control::withdraw(&args)),
        Command::Reload(args) => Ok(control::reload(&args)),
        Command::Rib(args) => Ok(rib::run(&args)),
        Command::Monitor(args) => Ok(monitor::run(&args)),
        Command::Stats(args) => Ok(stats::run(&args)),
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut Cli::command(), "ribbit", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ribbit: {e}");
            ExitCode::from(2)
        }
    }
}
