//! The lines a program writes: ExaBGP's API commands, parsed into
//! [`Request`]s. Route commands (`announce ...`, `withdraw ...`) go through
//! `ribbit_exabgp::text`, the one parser of that grammar; the control
//! commands ExaBGP's API has beside them (`show neighbor`, `teardown`,
//! `shutdown`, the ack switches, ...) are read here.
//!
//! A line may start with a command id, `@ID ` (ID: 1 to 64 letters, digits
//! or `-_.:`), which every line of the reply repeats: `@7 done`,
//! `@7 error ...`. ExaBGP would answer such a line with an error, so no
//! program written for ExaBGP sends one by accident.

use std::net::IpAddr;

use ribbit_exabgp::text::{self, ApiCommand, NeighborSelector, ParseErrorKind};

/// The longest command id.
pub const MAX_ID_LEN: usize = 64;

/// One line of a program, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The command id the reply repeats (without its `@`).
    pub id: Option<String>,
    /// The command.
    pub request: Request,
}

/// A line that is not a command: what was wrong, for the `error` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The command id, when the line had a valid one (the reply repeats it).
    pub id: Option<String>,
    /// What was wrong, on one line; starts with `column N:` when a place
    /// in the line is known.
    pub message: String,
    /// Whether the command is valid ExaBGP that Ribbit does not implement.
    pub unsupported: bool,
}

/// How `show neighbor` shows each neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighborView {
    /// One line per established neighbor.
    Summary,
    /// Everything known of each neighbor.
    Extensive,
    /// The configuration of each neighbor.
    Configuration,
}

/// Which Adj-RIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rib {
    /// What neighbors sent us.
    In,
    /// What we sent them.
    Out,
}

/// Whether and how commands are acknowledged from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckSwitch {
    /// `enable-ack`: answer every command (answered `done`).
    Enable,
    /// `disable-ack`: answer this one `done`, then nothing.
    Disable,
    /// `silence-ack`: nothing from this one on.
    Silence,
}

/// A command of the process API.
// One request is handled at a time: the size of the inline route command
// costs nothing worth a Box in every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `# ...`: a comment, logged and answered `done`.
    Comment(String),
    /// `enable-ack`, `disable-ack`, `silence-ack`.
    Ack(AckSwitch),
    /// `shutdown`: stop Ribbit.
    Shutdown,
    /// `reload`: read the configuration file again and apply it.
    Reload,
    /// `restart`: reload, then restart every session.
    Restart,
    /// `version`.
    Version,
    /// `help`: the commands.
    Help,
    /// `show neighbor [ADDRESS] [summary|extensive|configuration]`.
    ShowNeighbor {
        /// Only this neighbor.
        address: Option<IpAddr>,
        /// How; `None`: the usage is printed, as ExaBGP does.
        view: Option<NeighborView>,
    },
    /// `show adj-rib in|out [ADDRESS] [extensive]`.
    ShowAdjRib {
        /// Which.
        rib: Rib,
        /// Only this neighbor.
        address: Option<IpAddr>,
        /// With every attribute.
        extensive: bool,
    },
    /// `show processes` (Ribbit's): the programs, their queues and counters.
    ShowProcesses,
    /// `[neighbor ...] teardown CODE`: end the sessions with Cease / CODE.
    Teardown {
        /// The neighbors; empty: all the program's.
        neighbors: Vec<NeighborSelector>,
        /// The Cease subcode (RFC 4486).
        code: u8,
    },
    /// `[neighbor ...] flush adj-rib out`: send the routes again.
    FlushAdjRibOut {
        /// The neighbors; empty: all the program's.
        neighbors: Vec<NeighborSelector>,
    },
    /// `[neighbor ...] clear adj-rib [in|out]`.
    ClearAdjRib {
        /// The neighbors; empty: all the program's.
        neighbors: Vec<NeighborSelector>,
        /// Which (ExaBGP's default: out).
        rib: Rib,
    },
    /// A route command of ExaBGP's grammar (`announce`, `withdraw`, `eor`,
    /// `route-refresh`, watchdogs), with its neighbor selectors.
    Route(ApiCommand),
}

impl Request {
    /// Whether the command goes on to the route grammar.
    pub fn is_route(&self) -> bool {
        matches!(self, Request::Route(_))
    }
}

/// The id at the start of a line and the rest; an `@` that starts no valid
/// id is an error.
fn take_id(line: &str) -> Result<(Option<String>, &str), CommandError> {
    let Some(after) = line.strip_prefix('@') else {
        return Ok((None, line));
    };
    let end = after.find(char::is_whitespace).unwrap_or(after.len());
    let (id, rest) = after.split_at(end);
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if !valid {
        return Err(CommandError {
            id: None,
            message: format!(
                "column 1: a command id is @ and 1 to {MAX_ID_LEN} letters, digits or -_.: then a space, got {:?}",
                format!("@{id}")
            ),
            unsupported: false,
        });
    }
    Ok((Some(id.to_string()), rest.trim_start()))
}

/// Parse one line a program wrote (without its newline).
pub fn parse(raw: &str) -> Result<Line, CommandError> {
    let trimmed = raw.trim();
    let (id, line) = take_id(trimmed)?;
    // Columns in messages count from the start of the trimmed line.
    let offset = text::column_offset(trimmed, line);
    let fail = |message: String, unsupported: bool| CommandError {
        id: id.clone(),
        message,
        unsupported,
    };
    if let Some(comment) = line.strip_prefix('#') {
        return Ok(Line {
            id,
            request: Request::Comment(comment.trim().to_string()),
        });
    }
    // Route commands are nearly every line a busy program writes: they go
    // straight to the route grammar, without the passes that look for the
    // other commands.
    if matches!(
        line.split_ascii_whitespace().next(),
        Some("announce" | "withdraw")
    ) {
        return route(id, line, offset);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let simple = match words.as_slice() {
        [] => return Err(fail("the line is empty".to_string(), false)),
        ["enable-ack"] => Some(Request::Ack(AckSwitch::Enable)),
        ["disable-ack"] => Some(Request::Ack(AckSwitch::Disable)),
        ["silence-ack"] => Some(Request::Ack(AckSwitch::Silence)),
        ["shutdown"] => Some(Request::Shutdown),
        ["reload"] => Some(Request::Reload),
        ["restart"] => Some(Request::Restart),
        ["version"] => Some(Request::Version),
        ["help"] => Some(Request::Help),
        ["show", "processes"] => Some(Request::ShowProcesses),
        ["show", "neighbor" | "neighbors", rest @ ..] => {
            Some(show_neighbor(rest).map_err(|m| fail(column(line, offset, m), false))?)
        }
        ["show", rib @ ("adj-rib" | "adj-rib-in" | "adj-rib-out"), rest @ ..] => {
            Some(show_adj_rib(rib, rest).map_err(|m| fail(column(line, offset, m), false))?)
        }
        ["show", ..] => {
            return Err(fail(
                format!(
                    "column {}: expected \"show neighbor\", \"show adj-rib in|out\" or \"show processes\"",
                    offset + 1
                ),
                false,
            ))
        }
        _ => None,
    };
    if let Some(request) = simple {
        return Ok(Line { id, request });
    }

    // Commands that may follow neighbor selectors.
    let (neighbors, rest) = text::split_selectors(line).map_err(|e| {
        fail(
            format!("column {}: {}", e.column + offset, e.message),
            false,
        )
    })?;
    let rest_at = offset + text::column_offset(line, rest);
    let words: Vec<&str> = rest.split_whitespace().collect();
    let control = match words.as_slice() {
        ["teardown", code] => {
            let code = code.parse::<u8>().ok().filter(|c| *c >= 1).ok_or_else(|| {
                fail(
                    format!(
                        "column {}: teardown takes a Cease subcode from 1 to 255 (2: administrative shutdown, 4: administrative reset), got {code:?}",
                        rest_at + "teardown ".len() + 1
                    ),
                    false,
                )
            })?;
            Some(Request::Teardown {
                neighbors: neighbors.clone(),
                code,
            })
        }
        ["teardown", ..] => {
            return Err(fail(
                format!(
                    "column {}: teardown takes one Cease subcode (neighbor 192.0.2.1 teardown 2)",
                    rest_at + 1
                ),
                false,
            ))
        }
        ["flush", "adj-rib", "out"] | ["flush", "adj-rib-out"] => Some(Request::FlushAdjRibOut {
            neighbors: neighbors.clone(),
        }),
        ["clear", "adj-rib" | "adj-rib-out"] | ["clear", "adj-rib", "out"] => {
            Some(Request::ClearAdjRib {
                neighbors: neighbors.clone(),
                rib: Rib::Out,
            })
        }
        ["clear", "adj-rib-in"] | ["clear", "adj-rib", "in"] => Some(Request::ClearAdjRib {
            neighbors: neighbors.clone(),
            rib: Rib::In,
        }),
        ["flush" | "clear", ..] => {
            return Err(fail(
                format!(
                    "column {}: expected \"flush adj-rib out\" or \"clear adj-rib [in|out]\"",
                    rest_at + 1
                ),
                false,
            ))
        }
        _ => None,
    };
    if let Some(request) = control {
        return Ok(Line { id, request });
    }
    route(id, line, offset)
}

/// A line of the route grammar (neighbor selectors included); `offset`
/// counts the characters before `line` in what the program wrote.
fn route(id: Option<String>, line: &str, offset: usize) -> Result<Line, CommandError> {
    match text::parse(line) {
        Ok(cmd) => Ok(Line {
            id,
            request: Request::Route(cmd),
        }),
        Err(e) => Err(CommandError {
            id,
            message: format!("column {}: {}", e.column + offset, e.message),
            unsupported: e.kind == ParseErrorKind::Unsupported,
        }),
    }
}

/// A message about `show ...` with the column of the offending word.
fn column(line: &str, offset: usize, (word, message): (String, String)) -> String {
    let at = line
        .find(&format!(" {word}"))
        .map_or(0, |i| line.get(..=i).map_or(0, |h| h.chars().count()));
    format!("column {}: {message}", offset + at + 1)
}

type Problem = (String, String);

fn show_neighbor(rest: &[&str]) -> Result<Request, Problem> {
    let mut address = None;
    let mut view = None;
    for w in rest {
        let v = match *w {
            "summary" => Some(NeighborView::Summary),
            "extensive" => Some(NeighborView::Extensive),
            "configuration" => Some(NeighborView::Configuration),
            _ => None,
        };
        match (v, w.parse::<IpAddr>()) {
            (Some(v), _) if view.is_none() => view = Some(v),
            (None, Ok(a)) if address.is_none() => address = Some(a),
            _ => {
                return Err((
                    w.to_string(),
                    format!(
                    "unexpected {w:?}: show neighbor [ADDRESS] [summary|extensive|configuration]"
                ),
                ))
            }
        }
    }
    Ok(Request::ShowNeighbor { address, view })
}

fn show_adj_rib(first: &str, rest: &[&str]) -> Result<Request, Problem> {
    let mut rib = match first {
        "adj-rib-in" => Some(Rib::In),
        "adj-rib-out" => Some(Rib::Out),
        _ => None,
    };
    let mut address = None;
    let mut extensive = false;
    for w in rest {
        match *w {
            "in" if rib.is_none() => rib = Some(Rib::In),
            "out" if rib.is_none() => rib = Some(Rib::Out),
            "extensive" if !extensive => extensive = true,
            _ => match w.parse::<IpAddr>() {
                Ok(a) if address.is_none() => address = Some(a),
                _ => {
                    return Err((
                        w.to_string(),
                        format!("unexpected {w:?}: show adj-rib in|out [ADDRESS] [extensive]"),
                    ))
                }
            },
        }
    }
    let rib = rib.ok_or_else(|| {
        (
            first.to_string(),
            "show adj-rib needs in or out (show adj-rib in)".to_string(),
        )
    })?;
    Ok(Request::ShowAdjRib {
        rib,
        address,
        extensive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_exabgp::text::Command;

    fn ok(line: &str) -> Line {
        parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn err(line: &str) -> CommandError {
        match parse(line) {
            Ok(l) => panic!("{line:?} parsed as {l:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn control_commands() {
        assert_eq!(ok("shutdown").request, Request::Shutdown);
        assert_eq!(ok("  version  ").request, Request::Version);
        assert_eq!(ok("silence-ack").request, Request::Ack(AckSwitch::Silence));
        assert_eq!(ok("# hello").request, Request::Comment("hello".into()));
        assert_eq!(
            ok("show neighbor 127.0.0.2 extensive").request,
            Request::ShowNeighbor {
                address: Some("127.0.0.2".parse().unwrap()),
                view: Some(NeighborView::Extensive)
            }
        );
        assert_eq!(
            ok("show neighbor").request,
            Request::ShowNeighbor {
                address: None,
                view: None
            }
        );
        assert_eq!(
            ok("show adj-rib out extensive").request,
            Request::ShowAdjRib {
                rib: Rib::Out,
                address: None,
                extensive: true
            }
        );
        assert_eq!(
            ok("show adj-rib-in").request,
            Request::ShowAdjRib {
                rib: Rib::In,
                address: None,
                extensive: false
            }
        );
        match ok("neighbor 127.0.0.2 teardown 2").request {
            Request::Teardown { neighbors, code } => {
                assert_eq!(neighbors.len(), 1);
                assert_eq!(code, 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ok("teardown 4").request,
            Request::Teardown { ref neighbors, code: 4 } if neighbors.is_empty()
        ));
        assert!(matches!(
            ok("neighbor 10.0.0.1 flush adj-rib out").request,
            Request::FlushAdjRibOut { .. }
        ));
        assert!(matches!(
            ok("clear adj-rib").request,
            Request::ClearAdjRib { rib: Rib::Out, .. }
        ));
        assert!(matches!(
            ok("clear adj-rib in").request,
            Request::ClearAdjRib { rib: Rib::In, .. }
        ));
    }

    #[test]
    fn route_commands_and_ids() {
        let l = ok("@abc-1 neighbor 127.0.0.2 announce route 10.0.0.0/24 next-hop 1.2.3.4");
        assert_eq!(l.id.as_deref(), Some("abc-1"));
        match l.request {
            Request::Route(c) => {
                assert_eq!(c.neighbors.len(), 1);
                assert!(matches!(c.command, Command::Announce(_)));
            }
            other => panic!("{other:?}"),
        }
        assert!(ok("announce eor").request.is_route());
        assert!(ok("announce route-refresh ipv4 unicast").request.is_route());
        assert!(ok("withdraw route 10.0.0.0/24").request.is_route());
    }

    #[test]
    fn errors_name_the_column() {
        let e = err("announce route 10.0.0.0/33 next-hop 1.2.3.4");
        assert!(e.message.starts_with("column 16:"), "{e}");
        // Columns count in the whole line, id included; the id is kept.
        let e = err("@9 announce route 10.0.0.0/33 next-hop 1.2.3.4");
        assert_eq!(e.id.as_deref(), Some("9"));
        assert!(e.message.starts_with("column 19:"), "{e}");
        let e = err("neighbor 127.0.0.2 teardown x");
        assert!(e.message.starts_with("column 29:"), "{e}");
        let e = err("show neighbor bogus");
        assert!(e.message.starts_with("column 15:"), "{e}");
        assert!(err("bogus command").message.contains("got \"bogus\""));
        assert!(err("@ announce eor").message.contains("command id"));
        assert!(err("announce vpls x").unsupported);
        assert_eq!(err("").message, "the line is empty");
    }
}
