//! `ribbit encode`: ExaBGP API commands in, the UPDATE messages a session
//! would send for them out, in hex, one message per line.
//!
//! Each argument is one command (`announce route 10.0.0.0/24 next-hop
//! 192.0.2.1`); the argument `-` reads more from standard input, one per
//! line, skipping blank lines and `#` comments. The grammar is ExaBGP's
//! (see `docs/commands.md`), parsed by [`ribbit_exabgp::text`]. A command
//! that fails is reported on standard error with where it came from, the
//! column and the problem; the others are still encoded and the exit status
//! is 1.

use std::io::{self, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Args;

use ribbit_exabgp::text::{self, EncodeError, EncodeSettings, ParseError, Peering};
use ribbit_wire::{EncodeContext, Family, FamilySet, HEADER_LEN};

use crate::cli::input::gather;

/// Options of `ribbit encode`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Without --local-as and --peer-as the attributes are encoded exactly as \
given, except that ORIGIN (igp) and an empty AS_PATH are added when missing, since every \
announcement must carry them. The grammar is ExaBGP's API syntax: see docs/commands.md."
)]
pub struct EncodeArgs {
    /// Commands in ExaBGP's API syntax, one per argument, e.g. `announce
    /// route 10.0.0.0/24 next-hop 192.0.2.1 community [65000:1]`. `-` reads
    /// one command per line from standard input (blank lines and `#`
    /// comments are skipped).
    #[arg(value_name = "COMMAND", required = true)]
    pub commands: Vec<String>,

    /// The peer lacks the 4-octet AS capability: AS_PATH and AGGREGATOR get
    /// 2-octet AS numbers, AS_TRANS (23456) standing in for larger ones,
    /// whose real values go in AS4_PATH / AS4_AGGREGATOR.
    #[arg(long)]
    pub asn2: bool,

    /// ADD-PATH was negotiated for sending this family: its NLRI carry path
    /// identifiers (from `path-information`, 0 when absent). Repeatable;
    /// `ipv4-unicast` or ExaBGP's `ipv4 unicast`.
    #[arg(long = "add-path", value_name = "FAMILY")]
    pub add_path: Vec<Family>,

    /// The peer accepts UPDATEs of up to 65535 bytes (RFC 8654), so more
    /// prefixes go in each message.
    #[arg(long)]
    pub extended_message: bool,

    /// Our AS. With --peer-as, apply the defaults ExaBGP applies when it
    /// sends: towards iBGP (same AS) LOCAL_PREF 100 when absent; towards
    /// eBGP our AS prepended to AS_PATH and LOCAL_PREF removed. Without
    /// them the attributes are encoded exactly as given.
    #[arg(long, value_name = "ASN", requires = "peer_as")]
    pub local_as: Option<u32>,

    /// The peer's AS (see --local-as).
    #[arg(long, value_name = "ASN", requires = "local_as")]
    pub peer_as: Option<u32>,

    /// Our address on the session: what `next-hop self` stands for.
    #[arg(long, value_name = "ADDRESS")]
    pub next_hop_self: Option<IpAddr>,

    /// The peer negotiated next hops of the other family (RFC 8950): send
    /// an IPv4 next hop of IPv6 routes as 4 octets instead of the
    /// IPv4-mapped address ::ffff:a.b.c.d.
    #[arg(long)]
    pub extended_next_hop: bool,

    /// Print each message as marker, length, type and body joined by this
    /// text; `--separator :` gives ExaBGP's `FFFF...FFFF:0030:02:0000...`.
    /// By default the hex has no separators.
    #[arg(long, value_name = "TEXT")]
    pub separator: Option<String>,
}

impl EncodeArgs {
    /// The session the options describe.
    pub fn settings(&self) -> EncodeSettings {
        EncodeSettings {
            context: EncodeContext {
                four_octet_as: !self.asn2,
                add_path: self.add_path.iter().copied().collect::<FamilySet>(),
                extended_message: self.extended_message,
            },
            peering: match (self.local_as, self.peer_as) {
                (Some(local_as), Some(peer_as)) => Some(Peering { local_as, peer_as }),
                _ => None,
            },
            next_hop_self: self.next_hop_self,
            extended_next_hop: self.extended_next_hop,
        }
    }
}

/// A failure that stops `ribbit encode` as a whole (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum EncodeCommandError {
    /// Standard input could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(#[source] io::Error),
    /// The output could not be written (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
}

/// Why one command produced no message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The text is not a valid command.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// `next-hop self` without --next-hop-self.
    #[error("{0} (give it with --next-hop-self)")]
    NextHopSelf(EncodeError),
    /// The command cannot be encoded for this session.
    #[error(transparent)]
    Encode(EncodeError),
}

impl From<EncodeError> for LineError {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::NextHopSelf => LineError::NextHopSelf(e),
            other => LineError::Encode(other),
        }
    }
}

/// Run `ribbit encode`.
pub fn run(args: &EncodeArgs) -> Result<ExitCode, EncodeCommandError> {
    let settings = args.settings();
    let inputs = gather(&args.commands).map_err(EncodeCommandError::Stdin)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for input in &inputs {
        match encode_line(&input.text, &settings) {
            Ok(messages) => {
                for m in messages {
                    writeln!(out, "{}", format_message(&m, args.separator.as_deref()))
                        .map_err(EncodeCommandError::Output)?;
                }
            }
            Err(e) => {
                failed = true;
                // Keep stdout and stderr in order for a reader of both.
                out.flush().map_err(EncodeCommandError::Output)?;
                eprintln!("ribbit: {}: {e}", input.origin);
            }
        }
    }
    out.flush().map_err(EncodeCommandError::Output)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Parse one command and encode it. Neighbor selectors are accepted and
/// ignored: there is one session here, described by the options.
pub fn encode_line(text: &str, settings: &EncodeSettings) -> Result<Vec<Vec<u8>>, LineError> {
    let command = text::parse(text)?.command;
    Ok(command.encode(settings)?)
}

/// Upper-case hex; with a separator, ExaBGP's `marker:length:type:body` layout.
pub fn format_message(message: &[u8], separator: Option<&str>) -> String {
    let hex = |b: &[u8]| -> String { b.iter().map(|x| format!("{x:02X}")).collect() };
    match separator {
        None => hex(message),
        Some(sep) => {
            let part = |r: std::ops::Range<usize>| hex(message.get(r).unwrap_or_default());
            let mut s = [part(0..16), part(16..18), part(18..HEADER_LEN)].join(sep);
            let body = message.get(HEADER_LEN..).unwrap_or_default();
            if !body.is_empty() {
                s.push_str(sep);
                s.push_str(&hex(body));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_layout() {
        let eor = encode_line("announce eor", &EncodeSettings::default()).unwrap();
        assert_eq!(
            format_message(&eor[0], None),
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00170200000000"
        );
        assert_eq!(
            format_message(&eor[0], Some(":")),
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0017:02:00000000"
        );
        // A header alone has no body part.
        assert_eq!(
            format_message(&eor[0][..19], Some(" ")),
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0017 02"
        );
    }

    #[test]
    fn next_hop_self_hint() {
        let e = encode_line(
            "announce route 10.0.0.0/8 next-hop self",
            &EncodeSettings::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().ends_with("(give it with --next-hop-self)"),
            "{e}"
        );
        let e = encode_line("announce route 10.0.0.0/33", &EncodeSettings::default()).unwrap_err();
        assert!(e.to_string().starts_with("column 16: "), "{e}");
    }
}
