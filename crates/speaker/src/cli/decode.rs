//! `ribbit decode`: BGP messages given in hex, printed as JSON, one object
//! per line.
//!
//! Each argument is one whole message, marker included; `:`, white space
//! and `0x` may appear inside it (`FFFF...FFFF:003C:02:0000...`). The
//! argument `-` reads more messages from standard input, one per line,
//! skipping blank lines and `#` comments. A message that does not decode is
//! reported on standard error with its index, the byte at fault and the
//! NOTIFICATION a speaker would send; the other messages are still printed
//! and the exit status is 1.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};

use ribbit_exabgp::json as exa;
use ribbit_wire::reader::Reader;
use ribbit_wire::{DecodeContext, DecodeError, Family, FamilySet, Message, NlriList};

use crate::cli::input::{gather, Origin};
use crate::json;

/// The JSON dialect to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Ribbit's own JSON (stable names, no data in keys; see docs/json.md).
    Ribbit,
    /// ExaBGP's API v4 JSON, for programs written for ExaBGP.
    Exabgp,
}

/// Options of `ribbit decode`.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// Messages in hex, one per argument (marker included; `:`, spaces and
    /// `0x` allowed). `-` reads one message per line from standard input.
    #[arg(value_name = "HEX", required = true)]
    pub messages: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ribbit)]
    pub format: Format,

    /// The sender lacks the 4-octet AS capability: AS_PATH and AGGREGATOR
    /// carry 2-octet AS numbers, and AS4_PATH / AS4_AGGREGATOR are merged in.
    #[arg(long)]
    pub asn2: bool,

    /// ADD-PATH was negotiated for this family: its NLRI carry path
    /// identifiers (repeatable; `ipv4-unicast` or ExaBGP's `ipv4 unicast`).
    #[arg(long = "add-path", value_name = "FAMILY")]
    pub add_path: Vec<Family>,

    /// Accept UPDATE and ROUTE-REFRESH messages up to 65535 bytes (RFC 8654).
    #[arg(long)]
    pub extended_message: bool,

    /// The input is a bare NLRI field of this family, without any header.
    #[arg(long, value_name = "FAMILY")]
    pub family: Option<Family>,

    /// Our AS, for the `neighbor` block of `--format exabgp`.
    #[arg(long, value_name = "ASN", default_value_t = exa::DEFAULT_DECODER_ASN)]
    pub local_as: u32,

    /// The peer's AS, for the `neighbor` block of `--format exabgp`.
    #[arg(long, value_name = "ASN", default_value_t = exa::DEFAULT_DECODER_ASN)]
    pub peer_as: u32,
}

/// A failure that stops `ribbit decode` as a whole (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DecodeCommandError {
    /// `--family` names a family whose NLRI Ribbit cannot decode.
    #[error("cannot decode NLRI of family {0}")]
    UnsupportedFamily(Family),
    /// Standard input could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(#[source] io::Error),
    /// The output could not be written (a closed pipe, a full disk).
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
    /// A value could not be turned into JSON (never expected).
    #[error("cannot write JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// Why one message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A character that is neither a hex digit nor an allowed separator.
    #[error("character {position}: {found:?} is not a hex digit")]
    NotHex {
        /// 1-based position in the argument or line.
        position: usize,
        /// The character.
        found: char,
    },
    /// An odd number of hex digits: the last one has no pair.
    #[error("character {position}: odd number of hex digits ({count}), the last one has no pair")]
    OddLength {
        /// 1-based position of the unpaired digit.
        position: usize,
        /// How many digits there are.
        count: usize,
    },
    /// No hex digit at all.
    #[error("no hex digits")]
    Empty,
    /// The bytes are not a valid message (or NLRI field).
    #[error("{error} (NOTIFICATION {code}/{subcode} {code_name} / {subcode_name})")]
    Decode {
        /// The codec's error: the byte at fault and what is wrong.
        error: DecodeError,
        /// The NOTIFICATION code a speaker would send.
        code: u8,
        /// The NOTIFICATION subcode.
        subcode: u8,
        /// The code's name.
        code_name: &'static str,
        /// The subcode's name.
        subcode_name: &'static str,
    },
}

impl From<DecodeError> for InputError {
    fn from(error: DecodeError) -> Self {
        let n = error.notification();
        InputError::Decode {
            code: n.code,
            subcode: n.subcode,
            code_name: n.code_name(),
            subcode_name: n.subcode_name(),
            error,
        }
    }
}

/// Parse hex with optional `:` and white-space separators and `0x` at the
/// start of any group.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, InputError> {
    let mut digits: Vec<(usize, u8)> = Vec::with_capacity(text.len());
    let mut chars = text.chars().enumerate().peekable();
    let mut group_start = true;
    while let Some((i, c)) = chars.next() {
        let position = i.saturating_add(1);
        if c == ':' || c.is_whitespace() {
            group_start = true;
            continue;
        }
        if group_start && c == '0' && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
            chars.next();
            group_start = false;
            continue;
        }
        group_start = false;
        let value = c
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or(InputError::NotHex { position, found: c })?;
        digits.push((position, value));
    }
    if digits.is_empty() {
        return Err(InputError::Empty);
    }
    if digits.len() % 2 == 1 {
        let position = digits.last().map_or(0, |d| d.0);
        return Err(InputError::OddLength {
            position,
            count: digits.len(),
        });
    }
    Ok(digits
        .chunks_exact(2)
        .map(|p| (p[0].1 << 4) | p[1].1)
        .collect())
}

/// Run `ribbit decode`.
pub fn run(args: &DecodeArgs) -> Result<ExitCode, DecodeCommandError> {
    if let Some(f) = args.family {
        if f.nlri_kind().is_none() {
            return Err(DecodeCommandError::UnsupportedFamily(f));
        }
    }
    let inputs = gather(&args.messages).map_err(DecodeCommandError::Stdin)?;
    let ctx = DecodeContext {
        four_octet_as: !args.asn2,
        add_path: args.add_path.iter().copied().collect::<FamilySet>(),
        extended_message: args.extended_message,
    };
    let mut neighbor = exa::Neighbor::decoder(args.local_as, args.peer_as);
    neighbor.time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    neighbor.host = host_name();
    neighbor.pid = std::process::id();
    neighbor.ppid = std::os::unix::process::parent_id();

    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for (index, input) in inputs.iter().enumerate() {
        let number = index.saturating_add(1);
        match render(args, &ctx, &neighbor, &input.text) {
            Ok(line) => {
                writeln!(out, "{line}").map_err(DecodeCommandError::Output)?;
                neighbor.counter = neighbor.counter.saturating_add(1);
            }
            Err(RenderError::Input(e)) => {
                failed = true;
                // Keep stdout and stderr in order for a reader of both.
                out.flush().map_err(DecodeCommandError::Output)?;
                let origin = match input.origin {
                    Origin::Stdin(_) => format!(" ({})", input.origin),
                    Origin::Argument(_) => String::new(),
                };
                eprintln!("ribbit: message {number}{origin}: {e}");
            }
            Err(RenderError::Json(e)) => return Err(DecodeCommandError::Json(e)),
        }
    }
    out.flush().map_err(DecodeCommandError::Output)?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

enum RenderError {
    Input(InputError),
    Json(serde_json::Error),
}

impl From<InputError> for RenderError {
    fn from(e: InputError) -> Self {
        RenderError::Input(e)
    }
}

impl From<DecodeError> for RenderError {
    fn from(e: DecodeError) -> Self {
        RenderError::Input(e.into())
    }
}

/// Decode one input and return its JSON line.
fn render(
    args: &DecodeArgs,
    ctx: &DecodeContext,
    neighbor: &exa::Neighbor,
    text: &str,
) -> Result<String, RenderError> {
    let bytes = parse_hex(text)?;
    let line = if let Some(family) = args.family {
        let list = NlriList::decode(
            &mut Reader::new(&bytes, 0),
            family,
            ctx.add_path(family),
            false,
        )?;
        match args.format {
            Format::Ribbit => serde_json::to_string(&json::NlriDocument::new(family, &list)),
            Format::Exabgp => serde_json::to_string(&serde_json::json!({
                "type": "nlri",
                "family": exa::family_key(family),
                "nlri": exa::nlri_values(family, &list, None),
            })),
        }
    } else {
        let msg = Message::decode(&bytes, ctx)?;
        match args.format {
            Format::Ribbit => serde_json::to_string(&json::Message::new(&msg, bytes.len())),
            Format::Exabgp => serde_json::to_string(&exa::message(&msg, neighbor)),
        }
    };
    line.map_err(RenderError::Json)
}

/// The machine's host name for ExaBGP's `host` member.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("0102"), Ok(vec![1, 2]));
        assert_eq!(parse_hex("0x01:02 0X0a"), Ok(vec![1, 2, 10]));
        assert_eq!(parse_hex("FF:F F"), Ok(vec![0xff, 0xff]));
        assert_eq!(
            parse_hex("01g2"),
            Err(InputError::NotHex {
                position: 3,
                found: 'g'
            })
        );
        assert_eq!(
            parse_hex("01:020"),
            Err(InputError::OddLength {
                position: 6,
                count: 5
            })
        );
        assert_eq!(parse_hex(" : "), Err(InputError::Empty));
        // `0x` only opens a group: inside one, `x` is an error.
        assert_eq!(
            parse_hex("010x"),
            Err(InputError::NotHex {
                position: 4,
                found: 'x'
            })
        );
    }

    #[test]
    fn decode_errors_name_the_notification() {
        let bytes = parse_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 0014 04 00").unwrap();
        let e: InputError = Message::decode(&bytes, &DecodeContext::default())
            .unwrap_err()
            .into();
        let text = e.to_string();
        assert!(text.starts_with("byte 16: "), "{text}");
        assert!(
            text.ends_with("(NOTIFICATION 1/2 Message Header Error / Bad Message Length)"),
            "{text}"
        );
    }
}
