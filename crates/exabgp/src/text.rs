//! ExaBGP's API text commands: parsed into typed commands, and encoded into
//! UPDATE messages for a session.
//!
//! Programs written for ExaBGP print lines such as
//!
//! ```text
//! announce route 10.0.0.0/24 next-hop 192.0.2.1 community [65000:100]
//! withdraw route 10.0.0.0/24
//! announce attributes next-hop 192.0.2.1 local-preference 200 nlri 10.0.1.0/24 10.0.2.0/24
//! announce ipv4 flow destination-ipv4 192.0.2.1/32 protocol =tcp destination-port =80 discard
//! announce flow route { match { destination 192.0.2.1/32; } then { rate-limit 9600; } }
//! announce eor ipv4 unicast
//! ```
//!
//! This module is the one parser of that grammar in Ribbit: the process API,
//! the HTTP API and `ribbit encode` all go through [`parse`]. It produces a
//! [`Command`] whose routes carry wire types ([`NlriList`], [`PathAttributes`])
//! so that nothing is re-interpreted later, and [`Command::encode`] turns it
//! into UPDATE messages with [`UpdatePacker`].
//!
//! The grammar follows ExaBGP 4's, including the text ExaBGP itself prints
//! when it describes a route (so that its output can be fed back): see
//! `docs/commands.md` for the full list of keywords. Where Ribbit departs
//! from ExaBGP it says so next to the code.
//!
//! Every error is a [`ParseError`] that names the column and the token where
//! the line went wrong and what was expected there.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;
use ribbit_wire::attribute::{
    flags, type_code, Admin, Aggregator, Community, ExtendedCommunity, Ipv6ExtendedCommunity,
    LargeCommunity, RawAttribute, Segment, SegmentType,
};
use ribbit_wire::nlri::flowspec::{Component, ComponentType, FlowspecError};
use ribbit_wire::nlri::{
    FlowspecNlri, Label, LabeledNlri, PathId, PrefixNlri, RouteDistinguisher, VpnNlri,
};
use ribbit_wire::pack::TooLarge;
use ribbit_wire::{
    Afi, AsPath, EncodeContext, Family, Message, NextHop, NlriList, Origin, PathAttributes,
    RouteRefresh, Safi, Update, UpdatePacker, HEADER_LEN,
};

// ------------------------------------------------------------------ errors

/// Whether a rejected line is wrong, or right but asks for more than Ribbit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// The line does not follow the grammar, or a value is out of range.
    Invalid,
    /// Valid ExaBGP, but a family, attribute or command Ribbit does not
    /// implement (VPLS, EVPN, BGP-LS, SR policy, `bgp-prefix-sid`, ...).
    Unsupported,
}

/// A command line that cannot be parsed: where, what token, and why.
///
/// Displays as `column 34: expected a prefix after "route", got "10.0.0.0/33": ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column, counted in characters, where the offending token
    /// starts; one past the last character when the line ended too early.
    pub column: usize,
    /// The offending token (without quotes); empty when the line ended too early.
    pub token: String,
    /// What was expected there and what was found.
    pub message: String,
    /// Whether the line is invalid or asks for something Ribbit lacks.
    pub kind: ParseErrorKind,
}

impl ParseError {
    fn new(column: usize, token: &str, message: String, kind: ParseErrorKind) -> ParseError {
        ParseError {
            column,
            token: token.to_string(),
            message,
            kind,
        }
    }

    fn at(tok: Tok<'_>, message: String) -> ParseError {
        ParseError::new(tok.column, tok.text, message, ParseErrorKind::Invalid)
    }

    fn unsupported(tok: Tok<'_>, message: String) -> ParseError {
        ParseError::new(tok.column, tok.text, message, ParseErrorKind::Unsupported)
    }

    /// `expected WHAT after "AFTER", got "TOKEN"`, and why the token is not it.
    fn expected(tok: Tok<'_>, what: &str, after: &str, detail: Option<&str>) -> ParseError {
        let mut message = format!("expected {what} after \"{after}\", got \"{}\"", tok.text);
        if let Some(d) = detail {
            message.push_str(": ");
            message.push_str(d);
        }
        ParseError::at(tok, message)
    }
}

/// Why an otherwise valid command cannot be turned into messages for a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// `next-hop self` was used but the session's own address is not known.
    #[error("\"next-hop self\" cannot be resolved: the session's own address is not known")]
    NextHopSelf,
    /// A route of a family that needs a next hop has none.
    #[error("a {family} route needs a next hop")]
    MissingNextHop {
        /// The family of the route.
        family: Family,
    },
    /// One NLRI does not fit in an UPDATE even alone.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The command changes session state and has no message of its own.
    #[error("\"{0}\" changes what the session announces and has no message of its own")]
    NoMessage(&'static str),
}

// --------------------------------------------------------------- the model

/// One parsed API line: the neighbors it is for, and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCommand {
    /// ExaBGP's `neighbor 192.0.2.1 [local-as N ...] , neighbor ...` prefix;
    /// empty means every neighbor.
    pub neighbors: Vec<NeighborSelector>,
    /// What to do.
    pub command: Command,
}

/// ExaBGP's neighbor selector: the neighbors a command applies to are those
/// matching every field that is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSelector {
    /// The peer address.
    pub address: IpAddr,
    /// `local-ip`: our address on the session.
    pub local_address: Option<IpAddr>,
    /// `local-as`.
    pub local_as: Option<u32>,
    /// `peer-as`.
    pub peer_as: Option<u32>,
    /// `router-id`.
    pub router_id: Option<Ipv4Addr>,
    /// `family-allowed`: ExaBGP's text (`in-open` or families joined by `/`),
    /// kept as written for the session layer to interpret.
    pub family_allowed: Option<String>,
}

/// A command of ExaBGP's API.
// Commands are parsed and handled one at a time, never stored by the
// thousand, so the size of an inline `Announcement` costs nothing worth a
// `Box` in every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Announce routes (`announce route`, `announce attributes ... nlri`,
    /// `announce ipv4 flow`, ...).
    Announce(Announcement),
    /// Withdraw routes.
    Withdraw(Withdrawal),
    /// Send the End-of-RIB marker of a family (`announce eor [afi safi]`;
    /// ExaBGP's default, kept here, is IPv4 unicast).
    EndOfRib(Family),
    /// Ask the peer to re-send a family (`announce route-refresh afi safi`).
    RouteRefresh(Family),
    /// `announce watchdog NAME`: send the routes held under this watchdog.
    AnnounceWatchdog(String),
    /// `withdraw watchdog NAME`: withdraw them but remember them.
    WithdrawWatchdog(String),
}

/// The next hop of an announcement, as the command gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHopSpec {
    /// None given: Flowspec rules without a redirect, and withdrawals.
    Absent,
    /// An address.
    Address(IpAddr),
    /// `next-hop self`: the session's own address, resolved when sending.
    SelfAddress,
}

/// Routes to announce: NLRI of one family sharing attributes and next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The family of the NLRI.
    pub family: Family,
    /// The NLRI (several with `attributes ... nlri` and `split`).
    pub nlri: NlriList,
    /// The next hop.
    pub next_hop: NextHopSpec,
    /// The attributes as given. `next_hop` is never set here (it is in
    /// [`Announcement::next_hop`]); ORIGIN and AS_PATH are added when
    /// encoding if missing (see [`Announcement::wire_attributes`]).
    pub attributes: PathAttributes,
    /// `watchdog NAME`: the routes can be withdrawn and re-announced as a
    /// group with `withdraw watchdog NAME` / `announce watchdog NAME`.
    pub watchdog: Option<String>,
    /// The `withdraw` keyword: known, but not sent until the watchdog is announced.
    pub held: bool,
    /// ExaBGP's `name` keyword, a label for people; never sent.
    pub name: Option<String>,
}

/// Routes to withdraw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The family of the NLRI.
    pub family: Family,
    /// The NLRI.
    pub nlri: NlriList,
}

// ----------------------------------------------------------------- tokens

/// A word of the line, with where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tok<'a> {
    text: &'a str,
    /// 1-based, in characters.
    column: usize,
    /// Written in quotes: never a keyword or a bracket.
    quoted: bool,
}

impl Tok<'_> {
    fn is(&self, word: &str) -> bool {
        !self.quoted && self.text == word
    }
}

/// Characters that are tokens of their own, as in ExaBGP's tokeniser, so
/// that `[65000:1]` and `[ 65000:1 ]` read the same.
fn is_syntax(ch: char) -> bool {
    matches!(ch, '[' | ']' | '(' | ')' | '{' | '}' | ';' | ',')
}

/// Whether a character separates words: `char::is_whitespace` for ASCII.
fn is_ascii_space(b: u8) -> bool {
    b == b' ' || (0x09..=0x0d).contains(&b)
}

/// The words of a line: runs of characters between white space and the
/// syntax characters, which are words of their own, and quoted text.
fn tokenize(line: &str) -> Result<Vec<Tok<'_>>, ParseError> {
    if line.is_ascii() {
        tokenize_ascii(line)
    } else {
        tokenize_chars(line)
    }
}

/// [`tokenize`] for an ASCII line (what programs write), by bytes: a
/// column is a byte's place. Decoding each character and testing it for
/// every kind of Unicode space was a quarter of the time to take a route
/// command.
fn tokenize_ascii(line: &str) -> Result<Vec<Tok<'_>>, ParseError> {
    let bytes = line.as_bytes();
    let mut toks = Vec::with_capacity(16);
    let slice = |a: usize, b: usize| line.get(a..b).unwrap_or_default();
    let separates = |b: u8| is_ascii_space(b) || is_syntax(char::from(b));
    let mut at = 0usize;
    while let Some(&b) = bytes.get(at) {
        let next = at.saturating_add(1);
        if is_ascii_space(b) {
            at = next;
        } else if is_syntax(char::from(b)) {
            toks.push(Tok {
                text: slice(at, next),
                column: next,
                quoted: false,
            });
            at = next;
        } else if b == b'"' || b == b'\'' {
            let rest = bytes.get(next..).unwrap_or_default();
            let Some(len) = rest.iter().position(|&c| c == b) else {
                return Err(ParseError::new(
                    next,
                    slice(next, bytes.len()),
                    format!("the text quoted with {} here is not closed", char::from(b)),
                    ParseErrorKind::Invalid,
                ));
            };
            let end = next.saturating_add(len);
            toks.push(Tok {
                text: slice(next, end),
                column: next,
                quoted: true,
            });
            at = end.saturating_add(1);
        } else {
            let len = bytes
                .get(at..)
                .unwrap_or_default()
                .iter()
                .position(|&c| separates(c))
                .unwrap_or(bytes.len().saturating_sub(at));
            let end = at.saturating_add(len);
            toks.push(Tok {
                text: slice(at, end),
                column: next,
                quoted: false,
            });
            at = end;
        }
    }
    Ok(toks)
}

/// [`tokenize`] for any line, by characters.
fn tokenize_chars(line: &str) -> Result<Vec<Tok<'_>>, ParseError> {
    // A route command has a dozen tokens or so: one allocation for most.
    let mut toks = Vec::with_capacity(16);
    let mut word: Option<(usize, usize)> = None;
    let mut quote: Option<(char, usize, usize)> = None;
    let slice = |a: usize, b: usize| line.get(a..b).unwrap_or_default();
    for (column, (at, ch)) in (1usize..).zip(line.char_indices()) {
        if let Some((q, start, col)) = quote {
            if ch == q {
                toks.push(Tok {
                    text: slice(start, at),
                    column: col,
                    quoted: true,
                });
                quote = None;
            }
            continue;
        }
        if ch.is_whitespace() || is_syntax(ch) {
            if let Some((start, col)) = word.take() {
                toks.push(Tok {
                    text: slice(start, at),
                    column: col,
                    quoted: false,
                });
            }
            if is_syntax(ch) {
                toks.push(Tok {
                    text: slice(at, at.saturating_add(ch.len_utf8())),
                    column,
                    quoted: false,
                });
            }
        } else if word.is_none() && (ch == '"' || ch == '\'') {
            quote = Some((ch, at.saturating_add(ch.len_utf8()), column));
        } else if word.is_none() {
            word = Some((at, column));
        }
    }
    if let Some((q, start, col)) = quote {
        return Err(ParseError::new(
            col,
            line.get(start..).unwrap_or_default(),
            format!("the text quoted with {q} here is not closed"),
            ParseErrorKind::Invalid,
        ));
    }
    if let Some((start, col)) = word {
        toks.push(Tok {
            text: line.get(start..).unwrap_or_default(),
            column: col,
            quoted: false,
        });
    }
    Ok(toks)
}

/// The tokens of one line and how far the parser got.
struct Cursor<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    /// The column one past the last character, for "ended too early".
    end: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str) -> Result<Cursor<'a>, ParseError> {
        Ok(Cursor {
            toks: tokenize(line)?,
            pos: 0,
            end: if line.is_ascii() {
                line.len()
            } else {
                line.chars().count()
            }
            .saturating_add(1),
        })
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn peek_is(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.is(word))
    }

    fn advance(&mut self) -> Option<Tok<'a>> {
        let t = self.peek();
        if t.is_some() {
            self.pos = self.pos.saturating_add(1);
        }
        t
    }

    fn eat(&mut self, word: &str) -> bool {
        let yes = self.peek_is(word);
        if yes {
            self.advance();
        }
        yes
    }

    /// An error at the end of the line.
    fn ended(&self, message: String) -> ParseError {
        ParseError::new(self.end, "", message, ParseErrorKind::Invalid)
    }

    /// The next token, which must be `what` following the keyword `after`.
    fn value(&mut self, what: &str, after: Tok<'_>) -> Result<Tok<'a>, ParseError> {
        self.advance().ok_or_else(|| {
            self.ended(format!(
                "expected {what} after \"{}\", got the end of the line",
                after.text
            ))
        })
    }

    /// The items of `[ a b c ]` (commas allowed between them), or the one
    /// token given without brackets; the flag says which.
    fn items(&mut self, what: &str, after: Tok<'_>) -> Result<(Vec<Tok<'a>>, bool), ParseError> {
        let first = self.value(what, after)?;
        if !first.is("[") {
            return Ok((vec![first], false));
        }
        let mut out = Vec::new();
        loop {
            let Some(t) = self.advance() else {
                return Err(self.ended(format!(
                    "expected \"]\" to close the list opened at column {}, got the end of the line",
                    first.column
                )));
            };
            if t.is("]") {
                break;
            }
            if !t.is(",") {
                out.push(t);
            }
        }
        if out.is_empty() {
            return Err(ParseError::at(
                first,
                format!(
                    "the list after \"{}\" is empty: expected {what}",
                    after.text
                ),
            ));
        }
        Ok((out, true))
    }
}

// -------------------------------------------------------------- the parser

/// Parse one line of ExaBGP's API, neighbor selectors included.
pub fn parse(line: &str) -> Result<ApiCommand, ParseError> {
    let mut c = Cursor::new(line)?;
    let neighbors = selectors(&mut c)?;
    let command = command(&mut c)?;
    if let Some(t) = c.peek() {
        return Err(ParseError::at(
            t,
            format!("unexpected \"{}\" after the end of the command", t.text),
        ));
    }
    Ok(ApiCommand { neighbors, command })
}

/// The neighbor selectors at the start of a line (`neighbor 192.0.2.1
/// [local-as N ...] [, neighbor ...]`) and the rest of the line after them,
/// for callers that handle commands beyond the route grammar (the process
/// API's `neighbor 192.0.2.1 teardown 2`). Columns in errors about the
/// rest are those of the whole line when the rest is parsed with
/// [`column_offset`] added.
pub fn split_selectors(line: &str) -> Result<(Vec<NeighborSelector>, &str), ParseError> {
    let mut c = Cursor::new(line)?;
    let neighbors = selectors(&mut c)?;
    let rest = match c.peek() {
        // The token's column counts characters from 1; a quoted token
        // starts at its quote, one character before its text.
        Some(t) => {
            let column = t.column.saturating_sub(1);
            let at = line
                .char_indices()
                .nth(column)
                .map_or(line.len(), |(i, _)| i);
            line.get(at..).unwrap_or_default()
        }
        None => "",
    };
    Ok((neighbors, rest))
}

/// The number of characters before `rest` in `line`, when `rest` is a
/// suffix of it (as [`split_selectors`] returns it): add it to the column
/// of an error found in `rest` to name the column in `line`.
pub fn column_offset(line: &str, rest: &str) -> usize {
    let cut = line.len().saturating_sub(rest.len());
    line.get(..cut).map_or(0, |head| head.chars().count())
}

/// Parses a command without neighbor selectors.
impl FromStr for Command {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Command, ParseError> {
        let mut c = Cursor::new(s)?;
        if let Some(t) = c.peek().filter(|t| t.is("neighbor")) {
            return Err(ParseError::at(
                t,
                "a neighbor selector is not allowed here: give the command alone".into(),
            ));
        }
        let command = command(&mut c)?;
        match c.peek() {
            Some(t) => Err(ParseError::at(
                t,
                format!("unexpected \"{}\" after the end of the command", t.text),
            )),
            None => Ok(command),
        }
    }
}

fn selectors(c: &mut Cursor<'_>) -> Result<Vec<NeighborSelector>, ParseError> {
    let mut out = Vec::new();
    while let Some(kw) = c.peek().filter(|t| t.is("neighbor")) {
        c.advance();
        let a = c.value("an IP address", kw)?;
        let address = a
            .text
            .parse()
            .map_err(|_| ParseError::expected(a, "an IP address", kw.text, None))?;
        let mut s = NeighborSelector {
            address,
            local_address: None,
            local_as: None,
            peer_as: None,
            router_id: None,
            family_allowed: None,
        };
        while let Some(q) = c.peek() {
            // Each qualifier takes one value, parsed by `read`.
            fn value<'a, T>(
                c: &mut Cursor<'a>,
                q: Tok<'_>,
                what: &str,
                read: impl Fn(&str) -> Option<T>,
            ) -> Result<T, ParseError> {
                let v = c.value(what, q)?;
                read(v.text).ok_or_else(|| ParseError::expected(v, what, q.text, None))
            }
            if !matches!(
                q.text,
                "local-ip" | "local-as" | "peer-as" | "router-id" | "family-allowed"
            ) || q.quoted
            {
                break;
            }
            c.advance();
            match q.text {
                "local-ip" => {
                    s.local_address = Some(value(c, q, "an IP address", |v| v.parse().ok())?);
                }
                "local-as" => {
                    s.local_as = Some(value(c, q, "an AS number", |v| parse_asn(v).ok())?)
                }
                "peer-as" => s.peer_as = Some(value(c, q, "an AS number", |v| parse_asn(v).ok())?),
                "router-id" => {
                    s.router_id = Some(value(c, q, "an IPv4 address", |v| v.parse().ok())?);
                }
                _ => {
                    s.family_allowed =
                        Some(value(c, q, "a list of families", |v| Some(v.to_string()))?);
                }
            }
        }
        out.push(s);
        if !c.eat(",") {
            break;
        }
        if !c.peek_is("neighbor") {
            let what = "\"neighbor\" after \",\"";
            return Err(match c.peek() {
                Some(t) => ParseError::at(t, format!("expected {what}, got \"{}\"", t.text)),
                None => c.ended(format!("expected {what}, got the end of the line")),
            });
        }
    }
    Ok(out)
}

/// Whether the command adds or removes routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Announce,
    Withdraw,
}

/// ExaBGP commands that exist but that Ribbit does not implement here.
const OTHER_COMMANDS: [&str; 16] = [
    "shutdown",
    "reload",
    "restart",
    "version",
    "show",
    "clear",
    "flush",
    "teardown",
    "help",
    "reset",
    "enable-ack",
    "disable-ack",
    "silence-ack",
    "ping",
    "status",
    "group",
];

fn command(c: &mut Cursor<'_>) -> Result<Command, ParseError> {
    let Some(verb) = c.advance() else {
        return Err(c.ended(
            "expected a command such as \"announce\" or \"withdraw\", got an empty line".into(),
        ));
    };
    match verb.text {
        "announce" if !verb.quoted => action(c, verb, Action::Announce),
        "withdraw" if !verb.quoted => action(c, verb, Action::Withdraw),
        // ExaBGP's configuration forms, accepted alone as announcements:
        // `route 10.0.0.0/24 next-hop ...` and `flow route { ... }`.
        "route" if !verb.quoted => route(c, verb, Action::Announce, Want::Auto),
        "flow" if !verb.quoted => flow(c, verb, Action::Announce, None, false),
        w if OTHER_COMMANDS.contains(&w) => Err(ParseError::unsupported(
            verb,
            format!("\"{w}\" is an ExaBGP command that Ribbit does not implement here"),
        )),
        w => Err(ParseError::at(
            verb,
            format!("expected \"announce\", \"withdraw\", \"route\" or \"flow\", got \"{w}\""),
        )),
    }
}

/// Families ExaBGP names after `announce ipv4`/`ipv6` that Ribbit does not carry.
const UNSUPPORTED_SAFI: [&str; 9] = [
    "mcast-vpn",
    "mup",
    "sr-policy",
    "evpn",
    "vpls",
    "bgp-ls",
    "bgp-ls-vpn",
    "rtc",
    "mvpn",
];

fn action(c: &mut Cursor<'_>, verb: Tok<'_>, act: Action) -> Result<Command, ParseError> {
    let what = c.value(
        "what to announce or withdraw (route, ipv4, ipv6, flow, attributes, eor, watchdog)",
        verb,
    )?;
    match what.text {
        "route" => route(c, what, act, Want::Auto),
        "vpn" => route(c, what, act, Want::Vpn),
        "ipv4" | "ipv6" => {
            let afi = if what.text == "ipv4" {
                Afi::IPV4
            } else {
                Afi::IPV6
            };
            let what_safi = "a subsequent address family (unicast, multicast, nlri-mpls, mpls-vpn, flow, flow-vpn)";
            let safi = c.value(what_safi, what)?;
            let fam = |s: Safi| Want::Family(Family::new(afi, s));
            match safi.text {
                "unicast" => route(c, safi, act, fam(Safi::UNICAST)),
                "multicast" => route(c, safi, act, fam(Safi::MULTICAST)),
                "nlri-mpls" | "labeled-unicast" | "labelled-unicast" => {
                    route(c, safi, act, fam(Safi::LABELED))
                }
                "mpls-vpn" | "vpn" => route(c, safi, act, fam(Safi::VPN)),
                "flow" => flow(c, safi, act, Some(afi), false),
                "flow-vpn" => flow(c, safi, act, Some(afi), true),
                s if UNSUPPORTED_SAFI.contains(&s) => Err(ParseError::unsupported(
                    safi,
                    format!("{} {s} routes are not supported by Ribbit", what.text),
                )),
                _ => Err(ParseError::expected(safi, what_safi, what.text, None)),
            }
        }
        "flow" => flow(c, what, act, None, false),
        "attribute" | "attributes" => attributes_nlri(c, what, act),
        "eor" if act == Action::Announce => {
            let family = if c.peek().is_none() {
                Family::IPV4_UNICAST
            } else {
                family_names(c, what)?
            };
            Ok(Command::EndOfRib(family))
        }
        "route-refresh" if act == Action::Announce => {
            Ok(Command::RouteRefresh(family_names(c, what)?))
        }
        "watchdog" => {
            let name = c.value("a watchdog name", what)?;
            Ok(match act {
                Action::Announce => Command::AnnounceWatchdog(name.text.to_string()),
                Action::Withdraw => Command::WithdrawWatchdog(name.text.to_string()),
            })
        }
        "vpls" | "l2vpn" | "evpn" | "operational" | "mcast-vpn" | "mup" | "sr-policy"
        | "bgp-ls" => Err(ParseError::unsupported(
            what,
            format!("\"{} {}\" is not supported by Ribbit", verb.text, what.text),
        )),
        _ => Err(ParseError::expected(
            what,
            "route, ipv4, ipv6, vpn, flow, attributes, eor, route-refresh or watchdog",
            verb.text,
            None,
        )),
    }
}

/// `AFI SAFI` in ExaBGP's words, for any family with a number (End-of-RIB
/// and ROUTE-REFRESH need no NLRI, so they work for families whose routes
/// Ribbit cannot carry).
fn family_names(c: &mut Cursor<'_>, after: Tok<'_>) -> Result<Family, ParseError> {
    let what_afi = "an address family (ipv4, ipv6, l2vpn, bgp-ls)";
    let a = c.value(what_afi, after)?;
    let afi = match a.text {
        "ipv4" => Afi::IPV4,
        "ipv6" => Afi::IPV6,
        "l2vpn" => Afi::L2VPN,
        "bgp-ls" => Afi(16388),
        _ => return Err(ParseError::expected(a, what_afi, after.text, None)),
    };
    let what_safi = "a subsequent address family (unicast, multicast, nlri-mpls, mpls-vpn, flow, flow-vpn, ...)";
    let s = c.value(what_safi, a)?;
    let safi = match s.text {
        "unicast" => Safi::UNICAST,
        "multicast" => Safi::MULTICAST,
        "nlri-mpls" | "labeled-unicast" | "labelled-unicast" => Safi::LABELED,
        "mcast-vpn" => Safi(5),
        "vpls" => Safi(65),
        "evpn" => Safi(70),
        "bgp-ls" => Safi(71),
        "bgp-ls-vpn" => Safi(72),
        "sr-policy" => Safi(73),
        "mup" => Safi(85),
        "mpls-vpn" | "vpn" => Safi::VPN,
        "rtc" => Safi(132),
        "flow" => Safi::FLOWSPEC,
        "flow-vpn" => Safi::FLOWSPEC_VPN,
        _ => return Err(ParseError::expected(s, what_safi, a.text, None)),
    };
    Ok(Family::new(afi, safi))
}

/// How the family of a prefix route is chosen.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// `announce route`: from the prefix, `rd` (VPN) and `label` (labeled).
    Auto,
    /// `announce vpn`: VPN of the prefix's AFI.
    Vpn,
    /// `announce ipv4 unicast` and the like.
    Family(Family),
}

/// How many keywords [`Draft::once`] refuses twice (`next-hop`,
/// `origin`, `med`, ...).
const ONCE_KEYWORDS: usize = 17;

/// What a route command collects before its family is settled.
#[derive(Default)]
struct Draft<'a> {
    attrs: PathAttributes,
    next_hop: Option<(NextHopSpec, Tok<'a>)>,
    labels: Option<(Vec<Label>, Tok<'a>)>,
    rd: Option<(RouteDistinguisher, Tok<'a>)>,
    path_id: Option<PathId>,
    split: Option<(u8, Tok<'a>)>,
    watchdog: Option<String>,
    held: bool,
    name: Option<String>,
    /// Where each single-valued keyword first appeared, to refuse giving
    /// one twice: the first `seen_len` entries. In place rather than a
    /// vector, an allocation less for each command of a table.
    seen: [(&'static str, usize); ONCE_KEYWORDS],
    seen_len: usize,
    /// Generic attributes, checked against the typed ones once all are known.
    generic: Vec<(RawAttribute, Tok<'a>)>,
}

impl<'a> Draft<'a> {
    /// Refuse a second occurrence of a single-valued keyword: silently
    /// keeping one of two values hides mistakes.
    fn once(&mut self, key: &'static str, kw: Tok<'_>) -> Result<(), ParseError> {
        let seen = self.seen.get(..self.seen_len).unwrap_or_default();
        if let Some((_, col)) = seen.iter().find(|s| s.0 == key) {
            return Err(ParseError::at(
                kw,
                format!("\"{key}\" is given twice (first at column {col})"),
            ));
        }
        // Each keyword takes a place once: there is one per keyword.
        if let Some(slot) = self.seen.get_mut(self.seen_len) {
            *slot = (key, kw.column);
            self.seen_len = self.seen_len.saturating_add(1);
        }
        Ok(())
    }

    fn set_next_hop(&mut self, spec: NextHopSpec, at: Tok<'a>) -> Result<(), ParseError> {
        if let Some((_, first)) = self.next_hop {
            return Err(ParseError::at(
                at,
                format!(
                    "the next hop is given twice (first at column {})",
                    first.column
                ),
            ));
        }
        self.next_hop = Some((spec, at));
        Ok(())
    }

    /// Move the generic attributes into the attribute set, refusing those
    /// that would put a second copy of an attribute on the wire.
    fn settle_generic(&mut self) -> Result<(), ParseError> {
        for (raw, at) in std::mem::take(&mut self.generic) {
            let code = raw.type_code;
            let a = &self.attrs;
            let typed = match code {
                type_code::ORIGIN => a.origin.is_some(),
                type_code::AS_PATH => a.as_path.is_some(),
                type_code::NEXT_HOP => self.next_hop.is_some(),
                type_code::MED => a.med.is_some(),
                type_code::LOCAL_PREF => a.local_pref.is_some(),
                type_code::ATOMIC_AGGREGATE => a.atomic_aggregate,
                type_code::AGGREGATOR => a.aggregator.is_some(),
                type_code::COMMUNITIES => !a.communities.is_empty(),
                type_code::ORIGINATOR_ID => a.originator_id.is_some(),
                type_code::CLUSTER_LIST => !a.cluster_list.is_empty(),
                type_code::EXTENDED_COMMUNITIES => !a.extended_communities.is_empty(),
                type_code::IPV6_EXTENDED_COMMUNITIES => !a.ipv6_extended_communities.is_empty(),
                type_code::AIGP => a.aigp.is_some(),
                type_code::LARGE_COMMUNITIES => !a.large_communities.is_empty(),
                type_code::OTC => a.otc.is_some(),
                _ => false,
            };
            let twice = self.attrs.unknown.iter().any(|u| u.type_code == code);
            if typed || twice {
                return Err(ParseError::at(
                    at,
                    format!("attribute 0x{code:02x} is given twice (once by its own keyword or another \"attribute\")"),
                ));
            }
            self.attrs.unknown.push(raw);
        }
        // Keep them in type order, as they go on the wire.
        self.attrs.unknown.sort_by_key(|u| u.type_code);
        Ok(())
    }
}

const ROUTE_KEYWORDS: &str = "next-hop, origin, as-path, med, local-preference, community, large-community, extended-community, originator-id, cluster-list, atomic-aggregate, aggregator, aigp, attribute, label, rd, path-information, split, watchdog, withdraw, name";

/// ExaBGP attributes Ribbit does not carry.
const UNSUPPORTED_ATTRIBUTES: [&str; 5] = [
    "bgp-prefix-sid",
    "bgp-prefix-sid-srv6",
    "interface-set",
    "extended-community-ipv6",
    "bandwidth",
];

/// Parse one route attribute whose keyword is `kw`; `Ok(false)` when `kw`
/// is not a route attribute.
fn route_attribute<'a>(
    c: &mut Cursor<'a>,
    kw: Tok<'a>,
    d: &mut Draft<'a>,
) -> Result<bool, ParseError> {
    if kw.quoted {
        return Ok(false);
    }
    match kw.text {
        "next-hop" => {
            d.once("next-hop", kw)?;
            let what = "an IP address or \"self\"";
            let v = c.value(what, kw)?;
            let spec = if v.text.eq_ignore_ascii_case("self") {
                NextHopSpec::SelfAddress
            } else {
                NextHopSpec::Address(
                    v.text
                        .parse()
                        .map_err(|_| ParseError::expected(v, what, kw.text, None))?,
                )
            };
            d.set_next_hop(spec, v)?;
        }
        "origin" => {
            d.once("origin", kw)?;
            let what = "igp, egp or incomplete";
            let v = c.value(what, kw)?;
            d.attrs.origin = Some(match v.text.to_ascii_lowercase().as_str() {
                "igp" => Origin::Igp,
                "egp" => Origin::Egp,
                "incomplete" => Origin::Incomplete,
                _ => return Err(ParseError::expected(v, what, kw.text, None)),
            });
        }
        "med" => {
            d.once("med", kw)?;
            d.attrs.med = Some(number(c, kw)?);
        }
        "local-preference" => {
            d.once("local-preference", kw)?;
            d.attrs.local_pref = Some(number(c, kw)?);
        }
        "as-path" => {
            d.once("as-path", kw)?;
            d.attrs.as_path = Some(as_path(c, kw)?);
        }
        "community" => {
            let what = "a community such as 65000:100 or no-export";
            let (items, _) = c.items(what, kw)?;
            for t in items {
                let v = parse_community(t.text)
                    .map_err(|e| ParseError::expected(t, what, kw.text, Some(&e)))?;
                push_unique(&mut d.attrs.communities, v);
            }
        }
        "large-community" => {
            let what = "a large community such as 65000:1:2";
            let (items, _) = c.items(what, kw)?;
            for t in items {
                let v = t
                    .text
                    .parse::<LargeCommunity>()
                    .map_err(|e| ParseError::expected(t, what, kw.text, Some(&e.to_string())))?;
                push_unique(&mut d.attrs.large_communities, v);
            }
        }
        "extended-community" => extended_communities(c, kw, d)?,
        "originator-id" => {
            d.once("originator-id", kw)?;
            let what = "an IPv4 address";
            let v = c.value(what, kw)?;
            d.attrs.originator_id = Some(
                v.text
                    .parse()
                    .map_err(|_| ParseError::expected(v, what, kw.text, None))?,
            );
        }
        "cluster-list" => {
            d.once("cluster-list", kw)?;
            let what = "a cluster id (an IPv4 address)";
            let (items, _) = c.items(what, kw)?;
            for t in items {
                let id = t
                    .text
                    .parse()
                    .map_err(|_| ParseError::expected(t, what, kw.text, None))?;
                d.attrs.cluster_list.push(id);
            }
        }
        "atomic-aggregate" => {
            d.once("atomic-aggregate", kw)?;
            d.attrs.atomic_aggregate = true;
        }
        "aggregator" => {
            d.once("aggregator", kw)?;
            d.attrs.aggregator = Some(aggregator(c, kw)?);
        }
        "aigp" => {
            d.once("aigp", kw)?;
            let what = "a number";
            let v = c.value(what, kw)?;
            let n =
                parse_u64(v.text).map_err(|e| ParseError::expected(v, what, kw.text, Some(&e)))?;
            d.attrs.aigp = Some(n);
        }
        "attribute" => {
            let raw = generic_attribute(c, kw)?;
            d.generic.push((raw, kw));
        }
        "label" => {
            d.once("label", kw)?;
            let what = "an MPLS label (0 to 1048575)";
            let (items, _) = c.items(what, kw)?;
            let mut labels = Vec::with_capacity(items.len());
            for t in items {
                let v = parse_u32(t.text)
                    .ok()
                    .filter(|v| *v <= 0xf_ffff)
                    .ok_or_else(|| ParseError::expected(t, what, kw.text, None))?;
                labels.push(Label::new(v));
            }
            d.labels = Some((labels, kw));
        }
        "rd" | "route-distinguisher" => {
            d.once("rd", kw)?;
            let what = "a route distinguisher such as 65000:1 or 192.0.2.1:1";
            let v = c.value(what, kw)?;
            let rd = v
                .text
                .parse()
                .map_err(|_| ParseError::expected(v, what, kw.text, None))?;
            d.rd = Some((rd, kw));
        }
        "path-information" => {
            d.once("path-information", kw)?;
            let what = "a path identifier (a number or an IPv4 address)";
            let v = c.value(what, kw)?;
            let id = parse_u32(v.text)
                .ok()
                .or_else(|| v.text.parse::<Ipv4Addr>().ok().map(u32::from))
                .ok_or_else(|| ParseError::expected(v, what, kw.text, None))?;
            d.path_id = Some(id);
        }
        "split" => {
            d.once("split", kw)?;
            let what = "a prefix length such as /24";
            let v = c.value(what, kw)?;
            let len = v
                .text
                .strip_prefix('/')
                .and_then(|n| n.parse::<u8>().ok())
                .ok_or_else(|| ParseError::expected(v, what, kw.text, None))?;
            d.split = Some((len, v));
        }
        "watchdog" => {
            d.once("watchdog", kw)?;
            let what = "a watchdog name";
            let v = c.value(what, kw)?;
            // ExaBGP refuses these names: "watchdog announce" reads as a command.
            if !v.quoted && matches!(v.text, "announce" | "withdraw") {
                return Err(ParseError::expected(v, what, kw.text, None));
            }
            d.watchdog = Some(v.text.to_string());
        }
        "withdraw" => {
            d.once("withdraw", kw)?;
            d.held = true;
        }
        "name" => {
            d.once("name", kw)?;
            d.name = Some(c.value("a name", kw)?.text.to_string());
        }
        w if UNSUPPORTED_ATTRIBUTES.contains(&w) => {
            return Err(ParseError::unsupported(
                kw,
                format!("\"{w}\" is an ExaBGP attribute that Ribbit does not support"),
            ))
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, v: T) {
    // Communities are sets: a repeated one would only waste bytes.
    if !list.contains(&v) {
        list.push(v);
    }
}

fn number(c: &mut Cursor<'_>, kw: Tok<'_>) -> Result<u32, ParseError> {
    let what = "a number from 0 to 4294967295";
    let v = c.value(what, kw)?;
    parse_u32(v.text).map_err(|e| ParseError::expected(v, what, kw.text, Some(&e)))
}

fn parse_u32(s: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal number".into());
    }
    s.parse().map_err(|_| "larger than 4294967295".to_string())
}

fn parse_u64(s: &str) -> Result<u64, String> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).map_err(|_| "not a hexadecimal number".into());
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a number".into());
    }
    s.parse().map_err(|_| "too large".to_string())
}

/// An AS number: plain (`65000`), or asdot (`1.10` = 65546, RFC 5396).
fn parse_asn(s: &str) -> Result<u32, String> {
    if let Some((hi, lo)) = s.split_once('.') {
        let hi: u16 = hi.parse().map_err(|_| "not an AS number".to_string())?;
        let lo: u16 = lo.parse().map_err(|_| "not an AS number".to_string())?;
        return Ok((u32::from(hi) << 16) | u32::from(lo));
    }
    parse_u32(s).map_err(|_| "not an AS number (0 to 4294967295)".to_string())
}

/// A number, or a dotted quad standing for one (ExaBGP writes the 4-octet
/// part of some extended communities as `0.1.29.40`).
fn number_or_dotted(s: &str) -> Option<u32> {
    parse_u32(s)
        .ok()
        .or_else(|| s.parse::<Ipv4Addr>().ok().map(u32::from))
}

/// `65000:100`, a well-known name, a 32-bit number, or `0x` and hex digits.
fn parse_community(s: &str) -> Result<Community, String> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .map(Community)
            .map_err(|_| "not a 32-bit hexadecimal number".into());
    }
    s.parse::<Community>().map_err(|e| e.to_string())
}

/// AS_PATH in ExaBGP's forms: one AS number, or groups in a row, `[ ... ]`
/// for AS_SEQUENCE and `( ... )` for AS_SET; a group that starts with `{`
/// is the confederation variant (ExaBGP's `[ { 1 2 } ]`). Ribbit also reads
/// a `( ... )` inside `[ ... ]` as an AS_SET, the form paths are displayed in.
fn as_path<'a>(c: &mut Cursor<'a>, kw: Tok<'a>) -> Result<AsPath, ParseError> {
    let what = "an AS path such as [ 65000 65001 ]";
    let first = c.value(what, kw)?;
    if !first.is("[") && !first.is("(") {
        let asn = parse_asn(first.text)
            .map_err(|e| ParseError::expected(first, what, kw.text, Some(&e)))?;
        return Ok(AsPath::sequence(vec![asn]));
    }
    let mut path = AsPath::default();
    let mut open = first;
    loop {
        as_path_group(c, open, &mut path)?;
        match c.peek() {
            Some(t) if t.is("[") || t.is("(") => {
                c.advance();
                open = t;
            }
            _ => return Ok(path),
        }
    }
}

fn as_path_group<'a>(
    c: &mut Cursor<'a>,
    open: Tok<'a>,
    path: &mut AsPath,
) -> Result<(), ParseError> {
    let sequence = open.is("[");
    let close = if sequence { "]" } else { ")" };
    let mut kind = if sequence {
        SegmentType::Sequence
    } else {
        SegmentType::Set
    };
    let mut asns: Vec<u32> = Vec::new();
    let flush = |path: &mut AsPath, kind: SegmentType, asns: &mut Vec<u32>| {
        if !asns.is_empty() {
            path.segments.push(Segment {
                kind,
                asns: std::mem::take(asns),
            });
        }
    };
    let unclosed = |c: &Cursor<'_>| {
        c.ended(format!(
            "expected an AS number or \"{close}\" to close the AS path group opened at column {}, got the end of the line",
            open.column
        ))
    };
    loop {
        let t = c.advance().ok_or_else(|| unclosed(c))?;
        if t.is(close) {
            break;
        }
        if t.is(",") || t.is("}") {
            continue;
        }
        if t.is("{") {
            kind = if sequence {
                SegmentType::ConfedSequence
            } else {
                SegmentType::ConfedSet
            };
            continue;
        }
        if sequence && t.is("(") {
            flush(path, kind, &mut asns);
            let mut set = Vec::new();
            loop {
                let s = c.advance().ok_or_else(|| unclosed(c))?;
                if s.is(")") {
                    break;
                }
                if s.is(",") {
                    continue;
                }
                set.push(parse_asn(s.text).map_err(|e| {
                    ParseError::expected(s, "an AS number or \")\"", "(", Some(&e))
                })?);
            }
            flush(path, SegmentType::Set, &mut set);
            continue;
        }
        let what = format!("an AS number or \"{close}\"");
        asns.push(
            parse_asn(t.text).map_err(|e| ParseError::expected(t, &what, open.text, Some(&e)))?,
        );
    }
    flush(path, kind, &mut asns);
    Ok(())
}

/// `( 65000:192.0.2.1 )` or `65000:192.0.2.1`.
fn aggregator<'a>(c: &mut Cursor<'a>, kw: Tok<'a>) -> Result<Aggregator, ParseError> {
    let what = "an aggregator such as ( 65000:192.0.2.1 )";
    let mut v = c.value(what, kw)?;
    let paren = v.is("(");
    if paren {
        v = c.value(what, kw)?;
    }
    let (asn, addr) = v
        .text
        .split_once(':')
        .ok_or_else(|| ParseError::expected(v, what, kw.text, None))?;
    let asn = parse_asn(asn).map_err(|e| ParseError::expected(v, what, kw.text, Some(&e)))?;
    let address = addr.parse().map_err(|_| {
        ParseError::expected(
            v,
            what,
            kw.text,
            Some("the part after ':' is not an IPv4 address"),
        )
    })?;
    if paren {
        let t = c.value("\")\"", v)?;
        if !t.is(")") {
            return Err(ParseError::expected(t, "\")\"", v.text, None));
        }
    }
    Ok(Aggregator { asn, address })
}

/// `attribute [ 0xCODE 0xFLAGS 0xVALUE ]`: any attribute, as bytes. The
/// extended-length flag is recomputed from the value's length.
fn generic_attribute<'a>(c: &mut Cursor<'a>, kw: Tok<'a>) -> Result<RawAttribute, ParseError> {
    let what = "[ 0xCODE 0xFLAGS 0xVALUE ]";
    let open = c.value(what, kw)?;
    if !open.is("[") {
        return Err(ParseError::expected(open, what, kw.text, None));
    }
    let hex_byte = |c: &mut Cursor<'a>, name: &str| -> Result<(u8, Tok<'a>), ParseError> {
        let w = format!("the attribute {name} as 0x and two hexadecimal digits");
        let t = c.value(&w, kw)?;
        t.text
            .strip_prefix("0x")
            .or_else(|| t.text.strip_prefix("0X"))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map(|b| (b, t))
            .ok_or_else(|| ParseError::expected(t, &w, kw.text, None))
    };
    let (code, code_tok) = hex_byte(c, "type code")?;
    let (fl, _) = hex_byte(c, "flags")?;
    let w = "the attribute value as 0x and hexadecimal digits";
    let data = c.value(w, kw)?;
    let value = data
        .text
        .strip_prefix("0x")
        .or_else(|| data.text.strip_prefix("0X"))
        .and_then(decode_hex)
        .ok_or_else(|| {
            ParseError::expected(
                data,
                w,
                kw.text,
                Some("an even number of hexadecimal digits after 0x"),
            )
        })?;
    let close = c.value("\"]\"", kw)?;
    if !close.is("]") {
        return Err(ParseError::expected(close, "\"]\"", data.text, None));
    }
    if matches!(
        code,
        type_code::MP_REACH_NLRI
            | type_code::MP_UNREACH_NLRI
            | type_code::AS4_PATH
            | type_code::AS4_AGGREGATOR
    ) {
        return Err(ParseError::at(
            code_tok,
            format!(
                "attribute 0x{code:02x} is written by Ribbit itself and cannot be given as bytes"
            ),
        ));
    }
    if u16::try_from(value.len()).is_err() {
        return Err(ParseError::at(
            data,
            "the attribute value is longer than 65535 bytes".into(),
        ));
    }
    Ok(RawAttribute {
        flags: fl & !flags::EXTENDED_LENGTH,
        type_code: code,
        value,
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// Extended communities whose text is two words (`mark 10`), as ExaBGP prints them.
const TWO_WORD_EXTENDED: [&str; 5] = [
    "mark",
    "action",
    "rate-limit",
    "redirect-to-nexthop-ietf",
    "copy-to-nexthop-ietf",
];

fn extended_communities<'a>(
    c: &mut Cursor<'a>,
    kw: Tok<'a>,
    d: &mut Draft<'a>,
) -> Result<(), ParseError> {
    let what = "an extended community such as target:65000:1";
    let (items, bracketed) = c.items(what, kw)?;
    let mut i = 0usize;
    while let Some(&t) = items.get(i) {
        i = i.saturating_add(1);
        let text = if TWO_WORD_EXTENDED.contains(&t.text) {
            let arg = match items.get(i) {
                Some(a) => {
                    i = i.saturating_add(1);
                    *a
                }
                None if !bracketed => c.value(what, t)?,
                None => {
                    return Err(ParseError::at(
                        t,
                        format!(
                            "expected a value after \"{}\" in the extended community list",
                            t.text
                        ),
                    ))
                }
            };
            format!("{} {}", t.text, arg.text)
        } else {
            t.text.to_string()
        };
        let v =
            parse_extended(&text).map_err(|e| ParseError::expected(t, what, kw.text, Some(&e)))?;
        push_unique(&mut d.attrs.extended_communities, v);
    }
    Ok(())
}

/// The administrator and number of `target:`, `origin:` and `redirect:`.
///
/// A dotted administrator is an IPv4 address (type 0x01); an AS number above
/// 65535, or one written with ExaBGP's `L` suffix, is a 4-octet AS (type 0x02,
/// RFC 5668). ExaBGP uses the IPv4 type for 4-octet AS numbers; Ribbit follows
/// the RFC so that the community means what it says to other routers.
fn admin(a: &str, n: &str) -> Result<Admin, String> {
    if a.contains('.') {
        let addr = a
            .parse::<Ipv4Addr>()
            .map_err(|_| format!("{a:?} is not an IPv4 address"))?;
        let n = n
            .parse::<u16>()
            .map_err(|_| "after an IPv4 administrator the number is at most 65535".to_string())?;
        return Ok(Admin::Ipv4(addr, n));
    }
    let (digits, four) = match a.strip_suffix('L') {
        Some(d) => (d, true),
        None => (a, false),
    };
    let asn = parse_u32(digits).map_err(|_| format!("{a:?} is not an AS number"))?;
    let value = number_or_dotted(n).ok_or_else(|| format!("{n:?} is not a number"))?;
    match u16::try_from(asn) {
        Ok(two) if !four => Ok(Admin::As2(two, value)),
        _ => u16::try_from(value)
            .map(|v| Admin::As4(asn, v))
            .map_err(|_| "after a 4-octet AS number the number is at most 65535".to_string()),
    }
}

/// One extended community in ExaBGP's text.
fn parse_extended(s: &str) -> Result<ExtendedCommunity, String> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.len() != 16 {
            return Err("a hexadecimal extended community has 16 digits".into());
        }
        return u64::from_str_radix(hex, 16)
            .map(|v| ExtendedCommunity(v.to_be_bytes()))
            .map_err(|_| "not hexadecimal".into());
    }
    let parts: Vec<&str> = s.split(':').collect();
    let u8_of = |p: &str| {
        p.parse::<u8>()
            .map_err(|_| format!("{p:?} is not a number from 0 to 255"))
    };
    let u16_of = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{p:?} is not a number from 0 to 65535"))
    };
    let raw = |bytes: [u8; 8]| Ok(ExtendedCommunity(bytes));
    match parts.as_slice() {
        // ExaBGP reads two bare parts as a route target.
        [a, b] if number_or_dotted(a).is_some() && number_or_dotted(b).is_some() => {
            admin(a, b).map(ExtendedCommunity::route_target)
        }
        ["target", a, b] => admin(a, b).map(ExtendedCommunity::route_target),
        ["origin", a, b] => admin(a, b).map(ExtendedCommunity::route_origin),
        ["redirect", a, b] => admin(a, b).map(ExtendedCommunity::redirect),
        // ExaBGP's explicit forms for a 4-octet first part: the IPv4 type.
        ["target4", a, b] | ["origin4", a, b] => {
            let addr = number_or_dotted(a).ok_or_else(|| format!("{a:?} is not a number"))?;
            let admin = Admin::Ipv4(Ipv4Addr::from(addr), u16_of(b)?);
            Ok(if parts.first() == Some(&"target4") {
                ExtendedCommunity::route_target(admin)
            } else {
                ExtendedCommunity::route_origin(admin)
            })
        }
        // Layer-2 info (RFC 4761 §3.2.4): encapsulation, flags, MTU, reserved.
        ["l2info", a, b, m, r] => {
            let [m0, m1] = u16_of(m)?.to_be_bytes();
            let [r0, r1] = u16_of(r)?.to_be_bytes();
            raw([0x80, 0x0a, u8_of(a)?, u8_of(b)?, m0, m1, r0, r1])
        }
        // Link bandwidth (draft-ietf-idr-link-bandwidth): AS and bytes per second as a float.
        ["bandwidth", a, b] => {
            let [a0, a1] = u16_of(a)?.to_be_bytes();
            let rate = b
                .parse::<f32>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| format!("{b:?} is not a bandwidth in bytes per second"))?;
            let [b0, b1, b2, b3] = rate.to_be_bytes();
            raw([0x40, 0x04, a0, a1, b0, b1, b2, b3])
        }
        // MUP extended community (draft-mpmz-bess-mup-safi): 2-octet and 4-octet parts.
        ["mup", a, b] => {
            let [a0, a1] = u16_of(a)?.to_be_bytes();
            let [b0, b1, b2, b3] = parse_u32(b)?.to_be_bytes();
            raw([0x0c, 0x00, a0, a1, b0, b1, b2, b3])
        }
        _ => s.parse::<ExtendedCommunity>().map_err(|e| e.to_string()),
    }
}

/// Parse a prefix: `10.0.0.0/24`, `2001:db8::/32`, or an address alone for a
/// host route. Host bits beyond the length are refused, as ExaBGP does:
/// they are almost always a typo for another prefix.
fn parse_prefix(s: &str) -> Result<IpNet, String> {
    let Some((addr, len)) = s.split_once('/') else {
        let addr: IpAddr = s
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address"))?;
        return Ok(IpNet::from(addr));
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("the prefix length must be a number from 0 to {max}"))?;
    let net = IpNet::new(addr, len).map_err(|e| e.to_string())?;
    if net.trunc() != net {
        return Err(format!(
            "host bits are set beyond /{len} (the network is {})",
            net.trunc()
        ));
    }
    Ok(net)
}

/// The most prefixes one `split` may produce; beyond that a typo (`split /32`
/// of a /8) would exhaust memory instead of failing.
const MAX_SPLIT: u32 = 65536;

fn split(prefix: IpNet, len: u8, at: Tok<'_>) -> Result<Vec<IpNet>, ParseError> {
    let have = prefix.prefix_len();
    if len < have {
        return Err(ParseError::at(
            at,
            format!("cannot split {prefix} into /{len}: /{len} is shorter than the prefix"),
        ));
    }
    let more = u32::from(len.saturating_sub(have));
    if 1u32.checked_shl(more).is_none_or(|n| n > MAX_SPLIT) {
        return Err(ParseError::at(
            at,
            format!("splitting {prefix} into /{len} gives more than {MAX_SPLIT} prefixes"),
        ));
    }
    prefix
        .subnets(len)
        .map(Iterator::collect)
        .map_err(|_| ParseError::at(at, format!("cannot split {prefix} into /{len}")))
}

/// `announce route PREFIX ATTRIBUTES...` and the explicit-family forms.
fn route<'a>(
    c: &mut Cursor<'a>,
    after: Tok<'a>,
    act: Action,
    want: Want,
) -> Result<Command, ParseError> {
    let what = "a prefix";
    let p = c.value(what, after)?;
    let prefix =
        parse_prefix(p.text).map_err(|e| ParseError::expected(p, what, after.text, Some(&e)))?;
    let mut d = Draft::default();
    while let Some(kw) = c.advance() {
        if !route_attribute(c, kw, &mut d)? {
            return Err(ParseError::at(
                kw,
                format!(
                    "unknown route attribute \"{}\" (expected one of {ROUTE_KEYWORDS})",
                    kw.text
                ),
            ));
        }
    }
    finish_routes(c, &[(prefix, p)], d, want, act)
}

/// `announce attributes ATTRIBUTES... nlri PREFIX...`.
fn attributes_nlri<'a>(
    c: &mut Cursor<'a>,
    after: Tok<'a>,
    act: Action,
) -> Result<Command, ParseError> {
    let mut d = Draft::default();
    let nlri = loop {
        let kw = c.value("route attributes, then \"nlri\" and the prefixes", after)?;
        if kw.is("nlri") {
            break kw;
        }
        if !route_attribute(c, kw, &mut d)? {
            return Err(ParseError::at(
                kw,
                format!(
                    "expected a route attribute or \"nlri\", got \"{}\"",
                    kw.text
                ),
            ));
        }
    };
    let mut prefixes = Vec::new();
    while let Some(p) = c.advance() {
        let prefix = parse_prefix(p.text)
            .map_err(|e| ParseError::expected(p, "a prefix", "nlri", Some(&e)))?;
        prefixes.push((prefix, p));
    }
    if prefixes.is_empty() {
        return Err(c.ended(format!(
            "expected at least one prefix after \"{}\", got the end of the line",
            nlri.text
        )));
    }
    finish_routes(c, &prefixes, d, Want::Auto, act)
}

fn afi_of(p: &IpNet) -> Afi {
    match p {
        IpNet::V4(_) => Afi::IPV4,
        IpNet::V6(_) => Afi::IPV6,
    }
}

fn afi_name(afi: Afi) -> &'static str {
    if afi == Afi::IPV6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// Settle the family of prefix routes, check that `rd`, `label` and
/// `next-hop` fit it, apply `split`, and build the command.
fn finish_routes<'a>(
    c: &Cursor<'a>,
    prefixes: &[(IpNet, Tok<'a>)],
    mut d: Draft<'a>,
    want: Want,
    act: Action,
) -> Result<Command, ParseError> {
    let Some(&(first, first_tok)) = prefixes.first() else {
        return Err(c.ended("expected a prefix".into()));
    };
    let afi = afi_of(&first);
    if let Some((p, t)) = prefixes.iter().find(|(p, _)| afi_of(p) != afi) {
        return Err(ParseError::at(
            *t,
            format!(
                "{p} is an {} prefix but {first} is {}: one command takes prefixes of one address family",
                afi_name(afi_of(p)),
                afi_name(afi)
            ),
        ));
    }
    let family = match want {
        Want::Family(f) => {
            if f.afi != afi {
                return Err(ParseError::at(
                    first_tok,
                    format!(
                        "{first} is an {} prefix, not one of {}",
                        afi_name(afi),
                        f.exabgp_name().unwrap_or("this family")
                    ),
                ));
            }
            f
        }
        Want::Vpn => Family::new(afi, Safi::VPN),
        Want::Auto if d.rd.is_some() => Family::new(afi, Safi::VPN),
        Want::Auto if d.labels.is_some() => Family::new(afi, Safi::LABELED),
        // ExaBGP picks multicast for multicast group prefixes.
        Want::Auto if first.addr().is_multicast() => Family::new(afi, Safi::MULTICAST),
        Want::Auto => Family::new(afi, Safi::UNICAST),
    };
    let name = family.exabgp_name().unwrap_or("this family");
    let safi = family.safi;
    let labeled = safi == Safi::LABELED || safi == Safi::VPN;
    if let (Some((_, at)), false) = (d.rd, safi == Safi::VPN) {
        return Err(ParseError::at(
            at,
            format!("\"rd\" is only for mpls-vpn routes, and this is an {name} route"),
        ));
    }
    if let (Some((_, at)), false) = (&d.labels, labeled) {
        return Err(ParseError::at(
            *at,
            format!(
                "\"label\" is only for nlri-mpls and mpls-vpn routes, and this is an {name} route"
            ),
        ));
    }
    if safi == Safi::VPN && d.rd.is_none() {
        return Err(c.ended(format!("an {name} route needs an \"rd\"")));
    }
    if act == Action::Announce && labeled && d.labels.is_none() {
        return Err(c.ended(format!("an {name} route needs a \"label\"")));
    }
    // `split` makes several prefixes of each; without it (nearly every
    // command) the NLRI are the prefixes as given.
    let split_nets;
    let nets: &[(IpNet, Tok<'_>)] = match d.split {
        Some((len, at)) => {
            let mut v = Vec::new();
            for (p, t) in prefixes {
                v.extend(split(*p, len, at)?.into_iter().map(|n| (n, *t)));
            }
            split_nets = v;
            &split_nets
        }
        None => prefixes,
    };
    let labels = d.labels.take().map(|(l, _)| l).unwrap_or_default();
    let path_id = d.path_id;
    let prefixes = nets.iter().map(|(prefix, _)| *prefix);
    let nlri = if safi == Safi::VPN {
        let rd =
            d.rd.map(|(rd, _)| rd)
                .unwrap_or(RouteDistinguisher::Other([0; 8]));
        NlriList::Vpn(
            prefixes
                .map(|prefix| VpnNlri {
                    path_id,
                    labels: labels.clone(),
                    rd,
                    prefix,
                })
                .collect(),
        )
    } else if safi == Safi::LABELED {
        NlriList::Labeled(
            prefixes
                .map(|prefix| LabeledNlri {
                    path_id,
                    labels: labels.clone(),
                    prefix,
                })
                .collect(),
        )
    } else {
        NlriList::Prefixes(
            prefixes
                .map(|prefix| PrefixNlri { path_id, prefix })
                .collect(),
        )
    };
    d.settle_generic()?;
    match act {
        Action::Withdraw => Ok(Command::Withdraw(Withdrawal { family, nlri })),
        Action::Announce => {
            let Some((next_hop, _)) = d.next_hop else {
                return Err(ParseError::at(
                    first_tok,
                    format!("the route to {first} has no next hop: add \"next-hop ADDRESS\" or \"next-hop self\""),
                ));
            };
            Ok(Command::Announce(Announcement {
                family,
                nlri,
                next_hop,
                attributes: d.attrs,
                watchdog: d.watchdog,
                held: d.held,
                name: d.name,
            }))
        }
    }
}

// -------------------------------------------------------------- flowspec

/// A match component as written, parsed once the family is known.
struct RawComponent<'a> {
    kind: ComponentType,
    keyword: Tok<'a>,
    groups: Vec<Tok<'a>>,
}

const FLOW_KEYWORDS: &str = "destination, source, protocol, next-header, port, destination-port, source-port, icmp-type, icmp-code, tcp-flags, packet-length, dscp, traffic-class, fragment, flow-label";
const FLOW_ACTIONS: &str = "accept, discard, rate-limit, redirect, redirect-to-nexthop, redirect-to-nexthop-ietf, copy, mark, action, community, large-community, extended-community";

/// `flow route [NAME] { ... }` or the one-line form
/// `ipv4 flow destination-ipv4 10.0.0.0/24 ... discard`.
fn flow<'a>(
    c: &mut Cursor<'a>,
    after: Tok<'a>,
    act: Action,
    afi: Option<Afi>,
    vpn: bool,
) -> Result<Command, ParseError> {
    let mut d = Draft::default();
    let mut comps: Vec<RawComponent<'a>> = Vec::new();
    let mut anchor = after;
    if let Some(r) = c.peek().filter(|t| t.is("route")) {
        c.advance();
        anchor = r;
        // An optional rule name, as in ExaBGP's configuration.
        if let Some(n) = c.peek() {
            let keyword = ComponentType::from_exabgp_name(n.text).is_some()
                || is_flow_action(n.text)
                || is_route_keyword(n.text);
            if !n.is("{") && (n.quoted || !keyword) {
                c.advance();
                d.name = Some(n.text.to_string());
            }
        }
    }
    if let Some(open) = c.peek().filter(|t| t.is("{")) {
        c.advance();
        flow_block(c, open, &mut d, &mut comps)?;
    } else {
        while let Some(kw) = c.advance() {
            flow_item(c, kw, &mut d, &mut comps, false)?;
        }
    }
    finish_flow(c, anchor, d, comps, act, afi, vpn)
}

fn is_flow_action(w: &str) -> bool {
    matches!(
        w,
        "accept"
            | "discard"
            | "rate-limit"
            | "redirect"
            | "redirect-to-nexthop"
            | "redirect-to-nexthop-ietf"
            | "copy"
            | "copy-to-nexthop"
            | "mark"
            | "action"
    )
}

fn is_route_keyword(w: &str) -> bool {
    ROUTE_KEYWORDS.split(", ").any(|k| k == w) || w == "route-distinguisher"
}

/// One keyword of a flow rule: a match component, an action, or a route attribute.
fn flow_item<'a>(
    c: &mut Cursor<'a>,
    kw: Tok<'a>,
    d: &mut Draft<'a>,
    comps: &mut Vec<RawComponent<'a>>,
    block: bool,
) -> Result<(), ParseError> {
    if let Some(kind) = ComponentType::from_exabgp_name(kw.text).filter(|_| !kw.quoted) {
        comps.push(component(c, kw, kind, block)?);
        return Ok(());
    }
    if flow_action(c, kw, d)? || route_attribute(c, kw, d)? {
        return Ok(());
    }
    Err(ParseError::at(
        kw,
        format!(
            "unknown flow keyword \"{}\" (expected a match component: {FLOW_KEYWORDS}; an action: {FLOW_ACTIONS}; or a route attribute)",
            kw.text
        ),
    ))
}

/// The values of a match component: `[ a b ]`, one token, or, inside a
/// block, every token up to `;`.
fn component<'a>(
    c: &mut Cursor<'a>,
    kw: Tok<'a>,
    kind: ComponentType,
    block: bool,
) -> Result<RawComponent<'a>, ParseError> {
    let what = if kind.is_prefix() {
        "a prefix"
    } else {
        "operators and values such as =80 or [ >1024&<2048 ]"
    };
    let (mut groups, bracketed) = c.items(what, kw)?;
    if block && !bracketed {
        while let Some(t) = c.peek().filter(|t| !t.is(";") && !t.is("}")) {
            c.advance();
            groups.push(t);
        }
    }
    Ok(RawComponent {
        kind,
        keyword: kw,
        groups,
    })
}

/// A Flowspec action (RFC 8955 §7, RFC 7674, draft-ietf-idr-flowspec-redirect-ip),
/// as ExaBGP's `then` block and one-line form write it. `Ok(false)` when
/// `kw` is not an action.
fn flow_action<'a>(c: &mut Cursor<'a>, kw: Tok<'a>, d: &mut Draft<'a>) -> Result<bool, ParseError> {
    if kw.quoted {
        return Ok(false);
    }
    let ext =
        |d: &mut Draft<'a>, e: ExtendedCommunity| push_unique(&mut d.attrs.extended_communities, e);
    match kw.text {
        "accept" => {}
        // ExaBGP discards with a rate of 0 and AS 0, as Juniper and Arbor do.
        "discard" => ext(d, ExtendedCommunity::traffic_rate_bytes(0, 0.0)),
        "rate-limit" => {
            let what = "a rate in bytes per second";
            let v = c.value(what, kw)?;
            let rate = v
                .text
                .parse::<f32>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| ParseError::expected(v, what, kw.text, None))?;
            // Ribbit also reads "rate-limit 1000 packets" (RFC 8955 traffic-rate-packets).
            let packets = c.peek().is_some_and(|t| t.is("packets"));
            if packets || c.peek().is_some_and(|t| t.is("bytes")) {
                c.advance();
            }
            ext(
                d,
                if packets {
                    ExtendedCommunity::traffic_rate_packets(0, rate)
                } else {
                    ExtendedCommunity::traffic_rate_bytes(0, rate)
                },
            );
        }
        "redirect" => {
            let what = "a route target (65000:1) or an IP address";
            let v = c.value(what, kw)?;
            if let Ok(addr) = v.text.parse::<IpAddr>() {
                // To an address: the address is the next hop, and the
                // community says to use it (ExaBGP's "redirect 1.2.3.4").
                d.set_next_hop(NextHopSpec::Address(addr), v)?;
                ext(d, ExtendedCommunity::redirect_to_next_hop(false));
            } else {
                let (a, n) = v
                    .text
                    .rsplit_once(':')
                    .ok_or_else(|| ParseError::expected(v, what, kw.text, None))?;
                let admin =
                    admin(a, n).map_err(|e| ParseError::expected(v, what, kw.text, Some(&e)))?;
                ext(d, ExtendedCommunity::redirect(admin));
            }
        }
        "redirect-to-nexthop" => ext(d, ExtendedCommunity::redirect_to_next_hop(false)),
        "copy-to-nexthop" => ext(d, ExtendedCommunity::redirect_to_next_hop(true)),
        "redirect-to-nexthop-ietf" => {
            let what = "an IP address";
            let v = c.value(what, kw)?;
            match v.text.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => ext(d, ExtendedCommunity::redirect_to_ipv4(a, false)),
                // The IPv6 form is an IPv6 address specific extended community (type 0x000c).
                Ok(IpAddr::V6(a)) => push_unique(
                    &mut d.attrs.ipv6_extended_communities,
                    Ipv6ExtendedCommunity::new(0x00, 0x0c, a, 0),
                ),
                Err(_) => return Err(ParseError::expected(v, what, kw.text, None)),
            }
        }
        "copy" => {
            let what = "an IP address";
            let v = c.value(what, kw)?;
            let addr = v
                .text
                .parse::<IpAddr>()
                .map_err(|_| ParseError::expected(v, what, kw.text, None))?;
            d.set_next_hop(NextHopSpec::Address(addr), v)?;
            ext(d, ExtendedCommunity::redirect_to_next_hop(true));
        }
        "mark" => {
            let what = "a DSCP value from 0 to 63";
            let v = c.value(what, kw)?;
            let dscp = v
                .text
                .parse::<u8>()
                .ok()
                .filter(|x| *x < 64)
                .ok_or_else(|| ParseError::expected(v, what, kw.text, None))?;
            ext(d, ExtendedCommunity::traffic_marking(dscp));
        }
        "action" => {
            let what = "sample, terminal or sample-terminal";
            let v = c.value(what, kw)?;
            let (sample, terminal) = match v.text {
                "sample" => (true, false),
                "terminal" => (false, true),
                "sample-terminal" | "terminal-sample" => (true, true),
                _ => return Err(ParseError::expected(v, what, kw.text, None)),
            };
            ext(d, ExtendedCommunity::traffic_action(sample, terminal));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `{ [rd X;] [next-hop X;] match { ... } then { ... } }`.
fn flow_block<'a>(
    c: &mut Cursor<'a>,
    open: Tok<'a>,
    d: &mut Draft<'a>,
    comps: &mut Vec<RawComponent<'a>>,
) -> Result<(), ParseError> {
    let unclosed = |c: &Cursor<'_>, o: Tok<'_>| {
        c.ended(format!(
            "expected \"}}\" to close the block opened at column {}, got the end of the line",
            o.column
        ))
    };
    loop {
        let t = c.advance().ok_or_else(|| unclosed(c, open))?;
        if t.is("}") {
            return Ok(());
        }
        if t.is(";") {
            continue;
        }
        if t.is("match") || t.is("then") {
            let inner = c.value("\"{\"", t)?;
            if !inner.is("{") {
                return Err(ParseError::expected(inner, "\"{\"", t.text, None));
            }
            loop {
                let s = c.advance().ok_or_else(|| unclosed(c, inner))?;
                if s.is("}") {
                    break;
                }
                if s.is(";") {
                    continue;
                }
                if t.is("match") {
                    let Some(kind) = ComponentType::from_exabgp_name(s.text).filter(|_| !s.quoted)
                    else {
                        return Err(ParseError::at(
                            s,
                            format!(
                                "unknown match component \"{}\" (expected one of {FLOW_KEYWORDS})",
                                s.text
                            ),
                        ));
                    };
                    comps.push(component(c, s, kind, true)?);
                } else if !flow_action(c, s, d)? && !route_attribute(c, s, d)? {
                    return Err(ParseError::at(
                        s,
                        format!(
                            "unknown action \"{}\" (expected one of {FLOW_ACTIONS})",
                            s.text
                        ),
                    ));
                }
            }
            continue;
        }
        if !route_attribute(c, t, d)? {
            return Err(ParseError::at(
                t,
                format!("expected \"match\", \"then\", \"rd\" or \"next-hop\" in the flow block, got \"{}\"", t.text),
            ));
        }
    }
}

/// The AFI a rule without an explicit family is for: IPv6 when a keyword or
/// a prefix says so, else IPv4.
fn guess_flow_afi(comps: &[RawComponent<'_>]) -> Afi {
    let v6 = comps.iter().any(|r| {
        matches!(
            r.keyword.text,
            "destination-ipv6" | "source-ipv6" | "next-header" | "traffic-class" | "flow-label"
        ) || (r.kind.is_prefix() && r.groups.iter().any(|g| g.text.contains(':')))
    });
    if v6 {
        Afi::IPV6
    } else {
        Afi::IPV4
    }
}

fn flow_error(at: Tok<'_>, e: &FlowspecError) -> ParseError {
    ParseError::at(at, format!("invalid \"{}\": {e}", at.text))
}

fn finish_flow<'a>(
    c: &Cursor<'a>,
    anchor: Tok<'a>,
    mut d: Draft<'a>,
    comps: Vec<RawComponent<'a>>,
    act: Action,
    afi: Option<Afi>,
    vpn: bool,
) -> Result<Command, ParseError> {
    let afi = afi.unwrap_or_else(|| guess_flow_afi(&comps));
    // Components of one type given twice are ORed together, as in ExaBGP.
    let mut components: Vec<(Component, Tok<'a>)> = Vec::new();
    for raw in comps {
        let texts: Vec<&str> = raw.groups.iter().map(|g| g.text).collect();
        let parsed = Component::parse_exabgp(raw.kind, afi, &texts).map_err(|e| {
            // Point at the value that fails, when one does alone.
            let bad = raw
                .groups
                .iter()
                .find(|g| Component::parse_exabgp(raw.kind, afi, &[g.text]).is_err())
                .copied()
                .unwrap_or(raw.keyword);
            let mut err = flow_error(bad, &e);
            err.message = format!("invalid {} value \"{}\": {e}", raw.keyword.text, bad.text);
            err
        })?;
        match (components.iter_mut().find(|(c, _)| c.kind() == raw.kind), parsed) {
            (Some((Component::Numeric { ops, .. }, _)), Component::Numeric { ops: more, .. }) => {
                ops.extend(more)
            }
            (Some((Component::Bitmask { ops, .. }, _)), Component::Bitmask { ops: more, .. }) => {
                ops.extend(more)
            }
            (Some((_, first)), _) => {
                return Err(ParseError::at(
                    raw.keyword,
                    format!(
                        "\"{}\" is given twice (first at column {}): a rule matches one prefix of each kind",
                        raw.keyword.text, first.column
                    ),
                ))
            }
            (None, parsed) => components.push((parsed, raw.keyword)),
        }
    }
    if let Some((_, at)) = &d.labels {
        return Err(ParseError::at(
            *at,
            "\"label\" is not used by flow rules".into(),
        ));
    }
    if let Some((_, at)) = d.split {
        return Err(ParseError::at(
            at,
            "\"split\" is not used by flow rules".into(),
        ));
    }
    let rd = d.rd.map(|(rd, _)| rd);
    let family = Family::new(
        afi,
        if vpn || rd.is_some() {
            Safi::FLOWSPEC_VPN
        } else {
            Safi::FLOWSPEC
        },
    );
    if vpn && rd.is_none() {
        return Err(c.ended(format!(
            "an {} rule needs an \"rd\"",
            family.exabgp_name().unwrap_or("flow-vpn")
        )));
    }
    if components.is_empty() {
        return Err(c.ended(format!(
            "a flow rule needs at least one match component ({FLOW_KEYWORDS})"
        )));
    }
    let mut rule = FlowspecNlri {
        path_id: d.path_id,
        rd,
        components: components.into_iter().map(|(c, _)| c).collect(),
    };
    rule.sort_components();
    rule.validate(afi).map_err(|e| flow_error(anchor, &e))?;
    d.settle_generic()?;
    let nlri = NlriList::Flowspec(vec![rule]);
    Ok(match act {
        Action::Withdraw => Command::Withdraw(Withdrawal { family, nlri }),
        Action::Announce => Command::Announce(Announcement {
            family,
            nlri,
            next_hop: d.next_hop.map_or(NextHopSpec::Absent, |(n, _)| n),
            attributes: d.attrs,
            watchdog: d.watchdog,
            held: d.held,
            name: d.name,
        }),
    })
}

// --------------------------------------------------------------- encoding

/// The two ends of a session, for the defaults ExaBGP applies when sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peering {
    /// Our AS.
    pub local_as: u32,
    /// The peer's AS.
    pub peer_as: u32,
}

impl Peering {
    /// Whether both ends are in one AS.
    pub fn is_internal(&self) -> bool {
        self.local_as == self.peer_as
    }
}

/// What encoding needs to know about the session the messages are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeSettings {
    /// What was negotiated: AS number width, ADD-PATH, message size.
    pub context: EncodeContext,
    /// Our AS and the peer's. When given, the defaults ExaBGP applies when it
    /// sends are applied: on iBGP LOCAL_PREF 100 when absent; on eBGP our AS
    /// is prepended to AS_PATH and LOCAL_PREF is dropped (RFC 4271 §5.1.2,
    /// §5.1.5). When absent the attributes are sent as given.
    pub peering: Option<Peering>,
    /// Our address on the session, which `next-hop self` stands for.
    pub next_hop_self: Option<IpAddr>,
    /// The peer takes next hops of the other address family as they are
    /// (RFC 8950, ExaBGP's `nexthop` capability): an IPv4 next hop of IPv6
    /// NLRI is then sent as 4 octets instead of the IPv4-mapped address
    /// `::ffff:a.b.c.d`. (IPv6 next hops of IPv4 NLRI are always sent as
    /// they are: there is no other way to send them.)
    pub extended_next_hop: bool,
}

impl Announcement {
    /// The attributes as they go on the wire: ORIGIN (IGP) and AS_PATH
    /// (empty) added when missing, since every UPDATE that announces must
    /// carry them (RFC 4271 §5.1.1, §5.1.2), then the session defaults of
    /// [`EncodeSettings::peering`].
    pub fn wire_attributes(&self, settings: &EncodeSettings) -> PathAttributes {
        let mut a = self.attributes.clone();
        a.origin.get_or_insert(Origin::Igp);
        let path = a.as_path.get_or_insert_with(AsPath::default);
        if let Some(p) = settings.peering {
            if p.is_internal() {
                a.local_pref.get_or_insert(100);
            } else {
                path.prepend(p.local_as, 1);
                // RFC 4271 §5.1.5: LOCAL_PREF is not sent to external peers.
                a.local_pref = None;
            }
        }
        a
    }

    /// The next hop as it goes in the UPDATE for this session.
    pub fn wire_next_hop(&self, settings: &EncodeSettings) -> Result<NextHop, EncodeError> {
        let addr = match self.next_hop {
            NextHopSpec::Address(a) => a,
            NextHopSpec::SelfAddress => settings.next_hop_self.ok_or(EncodeError::NextHopSelf)?,
            NextHopSpec::Absent if matches!(self.nlri, NlriList::Flowspec(_)) => {
                return Ok(NextHop::Empty)
            }
            NextHopSpec::Absent => {
                return Err(EncodeError::MissingNextHop {
                    family: self.family,
                })
            }
        };
        Ok(match addr {
            IpAddr::V4(a) if self.family.afi == Afi::IPV6 && !settings.extended_next_hop => {
                NextHop::V6 {
                    global: a.to_ipv6_mapped(),
                    link_local: None,
                }
            }
            IpAddr::V4(a) => NextHop::V4(a),
            IpAddr::V6(a) => NextHop::V6 {
                global: a,
                link_local: None,
            },
        })
    }

    /// The UPDATEs announcing these routes, each a whole message. Routes
    /// held by the `withdraw` keyword produce none.
    pub fn encode(&self, settings: &EncodeSettings) -> Result<Vec<Vec<u8>>, EncodeError> {
        if self.held {
            return Ok(Vec::new());
        }
        let attributes = self.wire_attributes(settings);
        let next_hop = self.wire_next_hop(settings)?;
        let mut out = Vec::new();
        UpdatePacker::new(settings.context).announce(
            self.family,
            &attributes,
            next_hop,
            &self.nlri,
            &mut out,
        )?;
        Ok(split_messages(&out))
    }
}

impl Withdrawal {
    /// The UPDATEs withdrawing these routes, each a whole message.
    pub fn encode(&self, settings: &EncodeSettings) -> Result<Vec<Vec<u8>>, EncodeError> {
        let mut out = Vec::new();
        UpdatePacker::new(settings.context).withdraw(self.family, &self.nlri, &mut out)?;
        Ok(split_messages(&out))
    }
}

impl Command {
    /// The messages this command sends on a session with `settings`, each a
    /// whole message (marker and header included).
    pub fn encode(&self, settings: &EncodeSettings) -> Result<Vec<Vec<u8>>, EncodeError> {
        let ctx = &settings.context;
        match self {
            Command::Announce(a) => a.encode(settings),
            Command::Withdraw(w) => w.encode(settings),
            Command::EndOfRib(f) => Ok(vec![Message::Update(Update::end_of_rib(*f)).to_bytes(ctx)]),
            Command::RouteRefresh(f) => Ok(vec![
                Message::RouteRefresh(RouteRefresh::request(*f)).to_bytes(ctx)
            ]),
            Command::AnnounceWatchdog(_) => Err(EncodeError::NoMessage("announce watchdog")),
            Command::WithdrawWatchdog(_) => Err(EncodeError::NoMessage("withdraw watchdog")),
        }
    }
}

/// Cut a buffer of whole messages into one vector per message, by the
/// length in each header.
fn split_messages(buf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let len = rest
            .get(16..18)
            .and_then(|l| <[u8; 2]>::try_from(l).ok())
            .map(|l| usize::from(u16::from_be_bytes(l)))
            .filter(|l| *l >= HEADER_LEN && *l <= rest.len())
            .unwrap_or(rest.len());
        let (msg, tail) = rest.split_at(len);
        out.push(msg.to_vec());
        rest = tail;
    }
    out
}

impl fmt::Display for NextHopSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHopSpec::Absent => f.write_str("none"),
            NextHopSpec::Address(a) => write!(f, "{a}"),
            NextHopSpec::SelfAddress => f.write_str("self"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::attribute::ExtendedKind;
    use ribbit_wire::nlri::flowspec::{BitmaskOp, NumericOp};
    use ribbit_wire::{FamilySet, MpNlri};

    fn cmd(s: &str) -> Command {
        s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    /// The ASCII tokenizer splits every line as the general one does.
    #[test]
    fn ascii_lines_tokenize_as_any_line() {
        let lines = [
            "",
            "   ",
            "announce route 10.0.0.0/24 next-hop 192.0.2.1",
            "\tannounce  route\x0b10.0.0.0/24\rnext-hop\x0c self  ",
            "announce route 10.0.0.0/24 next-hop self community [65000:1 65000:2]",
            "announce flow route { match { destination 10.0.0.0/24; } then { discard; } }",
            "neighbor 127.0.0.1 announce route 10.0.0.0/8 next-hop 1.2.3.4 as-path [ 1 2 ( 3 4 ) ]",
            "a,b;c[d]e{f}g(h)",
            "say \"quoted words\" and 'single ones' end",
            "\"\"'' \"x\"y 'z'\"w\" ab\"cd\"",
            "an \"unclosed quote",
            "an 'unclosed one \" inside",
            "'",
            "trailing\"",
        ];
        for line in lines {
            assert_eq!(tokenize_ascii(line), tokenize_chars(line), "{line:?}");
        }
    }

    fn err(s: &str) -> ParseError {
        match s.parse::<Command>() {
            Ok(c) => panic!("{s:?} parsed as {c:?}"),
            Err(e) => e,
        }
    }

    fn announcement(s: &str) -> Announcement {
        match cmd(s) {
            Command::Announce(a) => a,
            other => panic!("{s:?} is {other:?}"),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn encode_with(s: &str, settings: &EncodeSettings) -> Vec<String> {
        cmd(s)
            .encode(settings)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .iter()
            .map(|m| hex(m))
            .collect()
    }

    fn encode(s: &str) -> Vec<String> {
        encode_with(s, &EncodeSettings::default())
    }

    fn decode(bytes: &[u8], settings: &EncodeSettings) -> Update {
        match Message::decode(bytes, &settings.context.mirror()) {
            Ok(Message::Update(u)) => u,
            other => panic!("{}: {other:?}", hex(bytes)),
        }
    }

    /// The command encodes to one UPDATE with the same content as ExaBGP's
    /// (attribute order and length-field forms may differ). ExaBGP also
    /// sends NEXT_HOP beside MP_REACH_NLRI when there is no IPv4 NLRI, which
    /// RFC 4760 §3 says to ignore: it is dropped before comparing.
    fn same_as_exabgp(s: &str, settings: &EncodeSettings, raw: &str) {
        let mine = cmd(s).encode(settings).unwrap();
        assert_eq!(mine.len(), 1, "{s:?}");
        let mut theirs = decode(&unhex(raw), settings);
        if theirs.announced.is_empty() {
            theirs.attributes.next_hop = None;
        }
        assert_eq!(decode(&mine[0], settings), theirs, "{s:?}");
    }

    const MARKER: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";

    #[test]
    fn unicast_route_with_community() {
        let a = announcement("announce route 10.0.0.0/24 next-hop 192.0.2.1 community [100:100]");
        assert_eq!(a.family, Family::IPV4_UNICAST);
        assert_eq!(
            a.next_hop,
            NextHopSpec::Address("192.0.2.1".parse().unwrap())
        );
        assert_eq!(a.attributes.communities, vec![Community::new(100, 100)]);
        let NlriList::Prefixes(p) = &a.nlri else {
            panic!()
        };
        assert_eq!(p[0].prefix.to_string(), "10.0.0.0/24");
        assert_eq!(
            encode("announce route 10.0.0.0/24 next-hop 192.0.2.1 community [100:100]"),
            [
                format!(
                    "{MARKER}003002000000154001010040020040030 4C0000201C0080400640064180A0000"
                )
                .replace(' ', "")
            ]
        );
        // A single community needs no brackets; a host route no length.
        let b = announcement("announce route 10.0.0.1 next-hop 192.0.2.1 community no-export");
        assert_eq!(b.attributes.communities, vec![Community::NO_EXPORT]);
        let NlriList::Prefixes(p) = &b.nlri else {
            panic!()
        };
        assert_eq!(p[0].prefix.to_string(), "10.0.0.1/32");
    }

    #[test]
    fn exabgp_vectors_unicast() {
        let d = EncodeSettings::default();
        // conf-attributes.ci, conf-aggregator.ci, conf-generic-attribute.ci, conf-addpath-less ones.
        assert_eq!(
            encode("announce route 10.0.0.7/32 next-hop 255.255.255.255 origin igp local-preference 100 large-community [1:2:3 10:11:12]"),
            [format!("{MARKER}004C020000003040010100400200400304FFFFFFFF40050400000064C020180000000100000002000000030000000A0000000B0000000C200A000007")]
        );
        assert_eq!(
            encode("announce route 1.0.64.0/18 next-hop 192.168.1.254 origin igp as-path [57821 6939] local-preference 100 atomic-aggregate aggregator 18144:219.118.225.189"),
            [format!("{MARKER}004802 0000002D4001010040020A02020000E1DD00001B1B400304C0A801FE40050400000064400600C00708000046E0DB76E1BD12010040").replace(' ', "")]
        );
        assert_eq!(
            encode("announce route 101.101.101.101/32 next-hop 192.168.1.100 origin igp local-preference 100 attribute [0x99 0x60 0x00000064]"),
            [format!("{MARKER}0038020000001C40010100400200400304C0A8016440050400000064609904000000642065656565")]
        );
        for (ext, bytes) in [
            ("origin:100:0.0.3.232", "00030064000003E8"),
            ("origin:300:0.1.29.40", "0003012C00011D28"),
            ("target:400:74000", "0002019000012110"),
            ("origin:0.1.19.100:5000", "0103000113641388"),
            ("target:8.8.8.8:8000", "0102080808081F40"),
            ("origin:9000:9.9.9.9", "0003232809090909"),
            ("redirect:1300:83000", "8008051400014438"),
            ("l2info:1:2:13398:30864", "800A010234567890"),
            ("72:0.0.0.1", "0002004800000001"),
            ("target4:71200:12000", "010200011620 2EE0"),
            ("bandwidth:65000:1000", "4004FDE8447A0000"),
            ("mup:10:10", "0C00000A0000000A"),
            ("target:4200000000:1", "0202FA56EA000001"),
            ("target:100L:1", "0202000000640001"),
            ("redirect:4200000000:1", "8208FA56EA000001"),
            ("0x0102030405060708", "0102030405060708"),
        ] {
            let line = format!(
                "announce route 10.0.0.1/32 next-hop 15.15.15.1 extended-community [{ext}]"
            );
            let a = announcement(&line);
            assert_eq!(
                hex(&a.attributes.extended_communities[0].0),
                bytes.replace(' ', ""),
                "{ext}"
            );
        }
        same_as_exabgp(
            "announce route 10.0.0.0/24 next-hop 10.0.1.254 origin igp as-path [65533]",
            &d,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:002F:02:000000144001010040020602010000FFFD4003040A0001FE180A0000",
        );
    }

    #[test]
    fn two_octet_peer() {
        let settings = EncodeSettings {
            context: EncodeContext {
                four_octet_as: false,
                ..EncodeContext::default()
            },
            ..EncodeSettings::default()
        };
        // conf-no-asn4.ci
        assert_eq!(
            encode_with("announce route 10.0.1.0/24 next-hop 10.0.255.254 origin igp as-path [100] local-preference 100", &settings),
            [format!("{MARKER}0034020000001940010100400204020100644003040A00FFFE40050400000064180A0001")]
        );
        // A 4-octet AS goes as AS_TRANS with the real path in AS4_PATH.
        let m = &cmd("announce route 10.0.1.0/24 next-hop 10.0.255.254 as-path [ 100 4200000000 ]")
            .encode(&settings)
            .unwrap()[0];
        assert!(
            hex(m).contains("4002060202 00645BA0".replace(' ', "").as_str()),
            "{}",
            hex(m)
        );
        assert!(hex(m).contains("C0110A020200000064FA56EA00"), "{}", hex(m));
        assert_eq!(
            decode(m, &settings).attributes.as_path,
            Some(AsPath::sequence(vec![100, 4_200_000_000]))
        );
    }

    #[test]
    fn families_from_keywords() {
        let f = |s: &str| announcement(s).family;
        assert_eq!(
            f("announce ipv4 unicast 10.0.0.0/8 next-hop 1.2.3.4"),
            Family::IPV4_UNICAST
        );
        assert_eq!(
            f("announce ipv6 unicast 2001:db8::/32 next-hop 2001:db8::1"),
            Family::IPV6_UNICAST
        );
        assert_eq!(
            f("announce route 2001:db8::/32 next-hop 2001:db8::1"),
            Family::IPV6_UNICAST
        );
        assert_eq!(
            f("announce ipv4 multicast 10.0.0.0/8 next-hop 1.2.3.4"),
            Family::IPV4_MULTICAST
        );
        assert_eq!(
            f("announce ipv6 multicast ff0e::/16 next-hop ::1"),
            Family::IPV6_MULTICAST
        );
        // ExaBGP picks multicast for group prefixes given with "route".
        assert_eq!(
            f("announce route 239.1.0.0/16 next-hop 1.2.3.4"),
            Family::IPV4_MULTICAST
        );
        assert_eq!(
            f("announce route 10.0.0.0/8 next-hop 1.2.3.4 label 100"),
            Family::IPV4_LABELED
        );
        assert_eq!(
            f("announce ipv4 nlri-mpls 10.0.0.0/8 next-hop 1.2.3.4 label [ 100 200 ]"),
            Family::IPV4_LABELED
        );
        assert_eq!(
            f("announce route 10.0.0.0/8 next-hop 1.2.3.4 rd 65000:1 label 100"),
            Family::IPV4_VPN
        );
        assert_eq!(f("announce ipv6 mpls-vpn 2001:db8::/32 next-hop ::ffff:1.2.3.4 rd 1.2.3.4:5 label 926"), Family::IPV6_VPN);
        assert_eq!(
            f("announce vpn 10.0.0.0/8 next-hop 1.2.3.4 rd 65000:1 label 100"),
            Family::IPV4_VPN
        );
        let a =
            announcement("announce ipv4 nlri-mpls 10.0.0.0/8 next-hop 1.2.3.4 label [ 100 200 ]");
        let NlriList::Labeled(l) = &a.nlri else {
            panic!()
        };
        assert_eq!(l[0].labels, vec![Label::new(100), Label::new(200)]);
        let v = announcement("announce route 10.0.0.0/24 next-hop 192.168.0.1 path-information 0.0.0.10 rd 100:100 label 20012");
        let NlriList::Vpn(n) = &v.nlri else { panic!() };
        assert_eq!(n[0].rd, "100:100".parse().unwrap());
        assert_eq!(n[0].path_id, Some(10));
        assert_eq!(n[0].labels, vec![Label::new(20012)]);
    }

    #[test]
    fn exabgp_vectors_mp_families() {
        let mut add_path = FamilySet::EMPTY;
        add_path.insert(Family::IPV4_UNICAST);
        add_path.insert(Family::IPV4_VPN);
        let ap = EncodeSettings {
            context: EncodeContext {
                add_path,
                ..EncodeContext::default()
            },
            ..EncodeSettings::default()
        };
        // conf-addpath.ci
        same_as_exabgp(
            "announce route 10.0.0.0/24 next-hop 192.168.0.1 path-information 0.0.0.10 rd 100:100 label 20012 origin igp local-preference 100 extended-community [target:0:0 target:1:1]",
            &ap,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0066:02:0000004F40010100400200400304C0A8000140050400000064C0101000020000000000000002000100000001800E240001800C0000000000000000C0A80001000000000A7004E2C100000064000000640A0000",
        );
        assert_eq!(
            encode_with("announce route 193.0.2.1/32 next-hop 10.0.0.1 path-information 1.2.3.4 origin igp local-preference 100 extended-community [target:72:1]", &ap),
            [format!("{MARKER}00400200000020400101004002004003040A00000140050400000064C0100800020048000000010102030420C1000201")]
        );
        let d = EncodeSettings::default();
        // conf-parity.ci: IPv6 VPN.
        same_as_exabgp(
            "announce ipv6 mpls-vpn 2001:4b50:20c0::/48 next-hop ::ffff:81.52.17.146 rd 3215:583457597 label 926 origin igp as-path [25186 65000 64512] local-preference 100 community [65000:33] extended-community [target:10283:83451000] originator-id 57.35.2.240",
            &d,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:007E:02:000000674001010040020E0203000062620000FDE80000FC0040050400000064C00804FDE80021800904392302F0C010080002282B04F95C78800E2F00028018000000000000000000000000000000000000FFFF5134119200880039E100000C8F22C6DB3D20014B5020C0",
        );
        // conf-ipv6grouping.ci
        same_as_exabgp(
            "announce ipv6 unicast 2a02:b80:0:1::1/128 next-hop 2a02:b80:0:2::1 origin igp local-preference 200 community [30740:0 30740:30740]",
            &d,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0059:02:0000004240010100400200400504000000C8C008087814000078147814800E26000201102A020B8000000002000000000000000100802A020B80000000010000000000000001",
        );
        // extended-nexthop.ci: IPv4 NLRI with an IPv6 next hop.
        same_as_exabgp(
            "announce route 153.153.153.153/32 next-hop bad:cafe:bad:cafe:bad:cafe:bad:cafe origin igp local-preference 100",
            &d,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0042:02:0000002B4001010040020040050400000064800E1A000101100BADCAFE0BADCAFE0BADCAFE0BADCAFE002099999999",
        );
    }

    #[test]
    fn ipv4_next_hop_of_ipv6_routes() {
        let line = "announce ipv6 unicast 2001:db8::/32 next-hop 192.0.2.1";
        let a = announcement(line);
        let mapped = a.wire_next_hop(&EncodeSettings::default()).unwrap();
        assert_eq!(mapped.to_string(), "::ffff:192.0.2.1");
        let ext = EncodeSettings {
            extended_next_hop: true,
            ..EncodeSettings::default()
        };
        assert_eq!(
            a.wire_next_hop(&ext).unwrap(),
            NextHop::V4("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn next_hop_self_is_resolved_when_sending() {
        let line = "announce route 10.0.0.0/24 next-hop self";
        assert_eq!(announcement(line).next_hop, NextHopSpec::SelfAddress);
        assert_eq!(
            cmd(line).encode(&EncodeSettings::default()),
            Err(EncodeError::NextHopSelf)
        );
        let s = EncodeSettings {
            next_hop_self: Some("127.0.0.1".parse().unwrap()),
            ..EncodeSettings::default()
        };
        // conf-ipself4.ci, with its origin and local preference spelled out.
        assert_eq!(
            encode_with(
                "announce route 10.0.0.0/32 next-hop self origin igp local-preference 100",
                &s
            ),
            [format!(
                "{MARKER}0031020000001540010100400200400304 7F00000140050400000064200A000000"
            )
            .replace(' ', "")]
        );
    }

    #[test]
    fn session_defaults() {
        let line = "announce route 10.0.0.0/24 next-hop 10.0.1.254 local-preference 200";
        let ebgp = EncodeSettings {
            peering: Some(Peering {
                local_as: 65533,
                peer_as: 65000,
            }),
            ..EncodeSettings::default()
        };
        // conf-ebgp.conf's route as ExaBGP sent it (conf-ebgp.ci).
        assert_eq!(
            encode_with(line, &ebgp),
            [format!(
                "{MARKER}002F02000000144001010040020602010000FFFD4003040A0001FE180A0000"
            )]
        );
        let ibgp = EncodeSettings {
            peering: Some(Peering {
                local_as: 1,
                peer_as: 1,
            }),
            ..EncodeSettings::default()
        };
        let a = announcement("announce route 10.0.0.0/24 next-hop 10.0.1.254");
        let attrs = a.wire_attributes(&ibgp);
        assert_eq!(attrs.local_pref, Some(100));
        assert_eq!(attrs.as_path, Some(AsPath::default()));
        assert_eq!(attrs.origin, Some(Origin::Igp));
        // An explicit value wins over the default.
        assert_eq!(
            announcement(line).wire_attributes(&ibgp).local_pref,
            Some(200)
        );
        // Without a peering nothing but the mandatory attributes is added.
        let plain = a.wire_attributes(&EncodeSettings::default());
        assert_eq!(plain.local_pref, None);
    }

    #[test]
    fn every_attribute() {
        let a = announcement(
            "announce route 10.0.0.0/24 next-hop 1.2.3.4 origin egp med 10 local-preference 20 \
             as-path [ 1 2 3 ] community [ 65000:1 no-export 0x00010002 ] \
             large-community [ 1:2:3 ] extended-community [ target:65000:1 rate-limit:9600 mark 10 ] \
             originator-id 9.9.9.9 cluster-list [ 1.1.1.1 2.2.2.2 ] atomic-aggregate \
             aggregator ( 65000:192.0.2.1 ) aigp 100 name foo watchdog dog withdraw",
        );
        let at = &a.attributes;
        assert_eq!(at.origin, Some(Origin::Egp));
        assert_eq!(at.med, Some(10));
        assert_eq!(at.local_pref, Some(20));
        assert_eq!(at.as_path, Some(AsPath::sequence(vec![1, 2, 3])));
        assert_eq!(
            at.communities,
            vec![
                Community::new(65000, 1),
                Community::NO_EXPORT,
                Community::new(1, 2)
            ]
        );
        assert_eq!(at.large_communities.len(), 1);
        let kinds: Vec<String> = at
            .extended_communities
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(kinds, ["target:65000:1", "rate-limit:9600", "mark 10"]);
        assert_eq!(at.originator_id, Some("9.9.9.9".parse().unwrap()));
        assert_eq!(at.cluster_list.len(), 2);
        assert!(at.atomic_aggregate);
        assert_eq!(
            at.aggregator,
            Some(Aggregator {
                asn: 65000,
                address: "192.0.2.1".parse().unwrap()
            })
        );
        assert_eq!(at.aigp, Some(100));
        assert_eq!(a.name.as_deref(), Some("foo"));
        assert_eq!(a.watchdog.as_deref(), Some("dog"));
        assert!(a.held);
        // Held routes send nothing until their watchdog is announced.
        assert_eq!(
            cmd("announce route 10.0.0.0/24 next-hop 1.2.3.4 watchdog w withdraw")
                .encode(&EncodeSettings::default()),
            Ok(vec![])
        );
        assert_eq!(
            cmd("announce watchdog w"),
            Command::AnnounceWatchdog("w".into())
        );
        assert_eq!(
            cmd("withdraw watchdog w"),
            Command::WithdrawWatchdog("w".into())
        );
        assert_eq!(
            cmd("announce watchdog w").encode(&EncodeSettings::default()),
            Err(EncodeError::NoMessage("announce watchdog"))
        );
    }

    #[test]
    fn as_path_forms() {
        let p = |s: &str| {
            announcement(&format!(
                "announce route 10.0.0.0/8 next-hop 1.2.3.4 as-path {s}"
            ))
            .attributes
            .as_path
            .unwrap()
        };
        let seg = |kind, asns: &[u32]| Segment {
            kind,
            asns: asns.to_vec(),
        };
        assert_eq!(p("65000"), AsPath::sequence(vec![65000]));
        assert_eq!(p("[1 2 3]"), AsPath::sequence(vec![1, 2, 3]));
        assert_eq!(p("[ 1, 2 ]"), AsPath::sequence(vec![1, 2]));
        assert_eq!(p("[ 1.10 ]"), AsPath::sequence(vec![65546]));
        assert_eq!(p("[ ]"), AsPath::default());
        assert_eq!(p("( 1 2 )").segments, vec![seg(SegmentType::Set, &[1, 2])]);
        assert_eq!(
            p("[ 1 2 ] ( 3 4 )").segments,
            vec![
                seg(SegmentType::Sequence, &[1, 2]),
                seg(SegmentType::Set, &[3, 4])
            ]
        );
        assert_eq!(
            p("[ 1 ( 2 3 ) 4 ]").segments,
            vec![
                seg(SegmentType::Sequence, &[1]),
                seg(SegmentType::Set, &[2, 3]),
                seg(SegmentType::Sequence, &[4])
            ]
        );
        assert_eq!(
            p("[ { 1 2 } ]").segments,
            vec![seg(SegmentType::ConfedSequence, &[1, 2])]
        );
        assert_eq!(
            p("( { 1 2 } )").segments,
            vec![seg(SegmentType::ConfedSet, &[1, 2])]
        );
        assert_eq!(
            err("announce route 10.0.0.0/8 next-hop 1.2.3.4 as-path [ 1 x ]").to_string(),
            "column 56: expected an AS number or \"]\" after \"[\", got \"x\": not an AS number (0 to 4294967295)"
        );
        assert_eq!(
            err("announce route 10.0.0.0/8 next-hop 1.2.3.4 as-path [ 1 2").to_string(),
            "column 57: expected an AS number or \"]\" to close the AS path group opened at column 52, got the end of the line"
        );
    }

    #[test]
    fn generic_attributes() {
        let a = announcement(
            "announce route 10.0.0.0/8 next-hop 1.2.3.4 attribute [ 0x99 0x70 0x00000064 ]",
        );
        assert_eq!(
            a.attributes.unknown,
            vec![RawAttribute {
                flags: 0x60,
                type_code: 0x99,
                value: vec![0, 0, 0, 100]
            }]
        );
        let e = err(
            "announce route 10.0.0.0/8 next-hop 1.2.3.4 med 1 attribute [ 0x04 0x80 0x00000064 ]",
        );
        assert!(e.message.contains("attribute 0x04 is given twice"), "{e}");
        let e = err("announce route 10.0.0.0/8 next-hop 1.2.3.4 attribute [ 0x0e 0x80 0x00 ]");
        assert_eq!(e.token, "0x0e");
        let e = err("announce route 10.0.0.0/8 next-hop 1.2.3.4 attribute [ 0x99 0x80 0x123 ]");
        assert_eq!(e.token, "0x123");
    }

    #[test]
    fn attributes_nlri_and_split() {
        let a = announcement("announce attributes next-hop 10.0.0.1 origin igp local-preference 100 nlri 193.0.2.1/32 193.0.2.2/32");
        assert_eq!(a.nlri.len(), 2);
        // conf-group-limit.ci: both in one UPDATE.
        assert_eq!(
            encode("announce attributes next-hop 10.0.0.1 origin igp local-preference 100 nlri 193.0.2.1/32 193.0.2.2/32"),
            [format!("{MARKER}003602000000154001010040020040030 40A0000014005040000006420C100020120C1000202").replace(' ', "")]
        );
        let w = cmd("withdraw attributes nlri 10.0.0.0/8 10.1.0.0/16");
        assert!(matches!(&w, Command::Withdraw(x) if x.nlri.len() == 2));
        // conf-split.conf's route.
        let s = announcement(
            "announce route 172.10.0.0/22 next-hop 192.0.2.1 med 200 community [174:666] split /24",
        );
        let NlriList::Prefixes(p) = &s.nlri else {
            panic!()
        };
        let got: Vec<String> = p.iter().map(|n| n.prefix.to_string()).collect();
        assert_eq!(
            got,
            [
                "172.10.0.0/24",
                "172.10.1.0/24",
                "172.10.2.0/24",
                "172.10.3.0/24"
            ]
        );
        assert!(err("announce route 10.0.0.0/8 next-hop 1.2.3.4 split /7")
            .message
            .contains("shorter"));
        assert!(err("announce route 10.0.0.0/8 next-hop 1.2.3.4 split /32")
            .message
            .contains("more than 65536"));
        // Many prefixes are packed into several full-size UPDATEs.
        let msgs = cmd("announce route 10.0.0.0/8 next-hop 1.2.3.4 split /24")
            .encode(&EncodeSettings::default())
            .unwrap();
        assert!(msgs.len() > 1);
        assert!(msgs.iter().all(|m| m.len() <= 4096));
        let total: usize = msgs
            .iter()
            .map(|m| decode(m, &EncodeSettings::default()).announced.len())
            .sum();
        assert_eq!(total, 65536);
    }

    #[test]
    fn withdrawals_and_markers() {
        // conf-watchdog.ci
        assert_eq!(
            encode("withdraw route 77.77.77.77/32"),
            [format!("{MARKER}001C0200052 04D4D4D4D0000").replace(' ', "")]
        );
        let w = cmd("withdraw route 10.0.0.0/8 next-hop 1.2.3.4 label 5");
        assert!(matches!(&w, Command::Withdraw(x) if x.family == Family::IPV4_LABELED));
        // Withdrawals need no label.
        assert!(matches!(
            cmd("withdraw ipv4 nlri-mpls 10.0.0.0/8"),
            Command::Withdraw(_)
        ));
        assert_eq!(cmd("announce eor"), Command::EndOfRib(Family::IPV4_UNICAST));
        assert_eq!(
            encode("announce eor ipv4 unicast"),
            [format!("{MARKER}00170200000000")]
        );
        let eor6 = cmd("announce eor ipv6 unicast")
            .encode(&EncodeSettings::default())
            .unwrap();
        assert_eq!(
            decode(&eor6[0], &EncodeSettings::default()),
            decode(
                &unhex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:001E:02:00000007900F0003000201"),
                &EncodeSettings::default()
            )
        );
        assert_eq!(
            cmd("announce eor ipv4 flow-vpn"),
            Command::EndOfRib(Family::IPV4_FLOWSPEC_VPN)
        );
        assert_eq!(
            cmd("announce eor l2vpn vpls"),
            Command::EndOfRib(Family::new(Afi::L2VPN, Safi(65)))
        );
        assert_eq!(
            cmd("announce route-refresh ipv6 unicast"),
            Command::RouteRefresh(Family::IPV6_UNICAST)
        );
        assert_eq!(
            encode("announce route-refresh ipv4 unicast"),
            [format!("{MARKER}00170500010001")]
        );
    }

    #[test]
    fn neighbor_selectors() {
        let l = parse("neighbor 192.0.2.1 local-as 1 peer-as 2 router-id 1.1.1.1 local-ip 192.0.2.2 family-allowed in-open , neighbor 2001:db8::1 announce eor").unwrap();
        assert_eq!(l.neighbors.len(), 2);
        assert_eq!(l.neighbors[0].local_as, Some(1));
        assert_eq!(l.neighbors[0].peer_as, Some(2));
        assert_eq!(l.neighbors[0].router_id, Some("1.1.1.1".parse().unwrap()));
        assert_eq!(
            l.neighbors[0].local_address,
            Some("192.0.2.2".parse().unwrap())
        );
        assert_eq!(l.neighbors[0].family_allowed.as_deref(), Some("in-open"));
        assert_eq!(
            l.neighbors[1].address,
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(l.command, Command::EndOfRib(Family::IPV4_UNICAST));
        assert!(parse("announce eor").unwrap().neighbors.is_empty());
        assert_eq!(
            parse("neighbor 1.2.3.4 , announce eor").unwrap_err().token,
            "announce"
        );
        assert_eq!(err("neighbor 1.2.3.4 announce eor").token, "neighbor");
        let e = parse("neighbor 1.2.3.4 peer-as x announce eor").unwrap_err();
        assert_eq!(
            (e.column, e.message.as_str()),
            (26, "expected an AS number after \"peer-as\", got \"x\"")
        );
    }

    #[test]
    fn flow_one_line() {
        // conf-flow.ci
        let a = announcement("announce ipv4 flow destination-ipv4 10.0.0.2/32 source-ipv4 10.0.0.1/32 protocol =tcp destination-port =3128 tcp-flags [ syn rst&fin&!=push ] extended-community [rate-limit:0]");
        assert_eq!(a.family, Family::IPV4_FLOWSPEC);
        assert_eq!(a.next_hop, NextHopSpec::Absent);
        let ibgp = EncodeSettings {
            peering: Some(Peering {
                local_as: 1,
                peer_as: 1,
            }),
            ..EncodeSettings::default()
        };
        same_as_exabgp(
            "announce ipv4 flow destination-ipv4 10.0.0.2/32 source-ipv4 10.0.0.1/32 protocol =tcp destination-port =3128 tcp-flags [ syn rst&fin&!=push ] extended-community [rate-limit:0]",
            &ibgp,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0055:02:0000003E4001010040020040050400000064C010088006000000000000800E2200018500001C01200A00000202200A00000103810605910C3809000200044001C308",
        );
        same_as_exabgp(
            "announce ipv4 flow source-ipv4 10.0.0.3/32 rd 65535:65536 next-hop 5.6.7.8 extended-community [redirect-to-nexthop]",
            &ibgp,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:004B:02:000000344001010040020040050400000064C010080800000000000000800E180001860405060708000E0000FFFF0001000002200A000003",
        );
        same_as_exabgp(
            "announce ipv6 flow destination-ipv6 2a02:b80:15:0:7aca:39ff:feae:a87a/128/0 source-ipv6 ::1/128/120 next-header =udp traffic-class =101 flow-label =2013 extended-community [rate-limit:0]",
            &ibgp,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0069:02:000000524001010040020040050400000064C010088006000000000000800E360002850000300180002A020B80001500007ACA39FFFEAEA87A028078000000000000000000000000000000010381110B81650D9107DD",
        );
        same_as_exabgp(
            "announce ipv4 flow destination-ipv4 192.168.0.1/32 source-ipv4 10.0.0.1/32 protocol [ =tcp =udp ] port [ =80 =8080 ] destination-port [ >8080&<8088 =3128 ] source-port >1024 icmp-type [ =unreachable =echo-request =echo-reply ] icmp-code [ =1 =0 ] tcp-flags [ urg rst ] packet-length [ >200&<300 >400&<500 ] dscp [ =10 =20 ] fragment [ first-fragment last-fragment ] extended-community [origin:2345:6.7.8.9 origin:2.3.4.5:6789 redirect:65500:12345] community [30740:0 30740:30740]",
            &ibgp,
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:00A0:02:000000894001010040020040050400000064C008087814000078147814C0101800030929060708090103020304051A858008FFDC00003039800E5200018500004C0120C0A8000102200A0000010301068111040150911F9005121F90541F98910C380692040007010301088100080101810009002080040A02C854012C120190D401F40B010A81140C00048008",
        );
    }

    #[test]
    fn flow_actions_and_block_form() {
        let line = "announce flow route { match { destination 10.0.0.0/24; source 10.1.0.0/16; protocol tcp; destination-port >=1024&<=2048; } then { discard; rate-limit 9600; redirect 65000:1; redirect-to-nexthop; mark 10; action sample; community [ 1:2 ]; extended-community [ target:1:1 ]; } }";
        let a = announcement(line);
        assert_eq!(a.family, Family::IPV4_FLOWSPEC);
        let NlriList::Flowspec(rules) = &a.nlri else {
            panic!()
        };
        assert_eq!(rules[0].exabgp_string(Afi::IPV4), "flow destination-ipv4 10.0.0.0/24 source-ipv4 10.1.0.0/16 protocol =tcp destination-port [ >=1024&<=2048 ]");
        let ext: Vec<String> = a
            .attributes
            .extended_communities
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            ext,
            [
                "rate-limit:0",
                "rate-limit:9600",
                "redirect:65000:1",
                "redirect-to-nexthop",
                "mark 10",
                "action sample",
                "target:1:1"
            ]
        );
        assert_eq!(a.attributes.communities, vec![Community::new(1, 2)]);
        // The same rule on one line, without "route" and braces.
        let b = announcement("announce flow destination 10.0.0.0/24 source 10.1.0.0/16 protocol tcp destination-port >=1024&<=2048 discard");
        assert_eq!(b.nlri, a.nlri);
        // A named block, withdrawn, without "announce".
        let w = cmd(
            "withdraw flow route drop-it { match { destination 10.0.0.0/24; } then { discard; } }",
        );
        assert!(
            matches!(&w, Command::Withdraw(x) if x.nlri.len() == 1 && x.family == Family::IPV4_FLOWSPEC)
        );
        let f = announcement("flow route { rd 65000:1; match { source ::1/128/120; next-header udp; } then { copy 2001:db8::1; } }");
        assert_eq!(f.family, Family::IPV6_FLOWSPEC_VPN);
        let kinds: Vec<ExtendedKind> = f
            .attributes
            .extended_communities
            .iter()
            .map(|e| e.kind())
            .collect();
        assert_eq!(kinds, [ExtendedKind::RedirectToNextHop { copy: true }]);
        // "copy" sets the next hop, which is then given twice here.
        let e = err("flow route { next-hop 192.0.2.1; match { destination ::1/128; } then { copy 2001:db8::1; } }");
        assert!(e.message.contains("next hop is given twice"), "{e}");
        // "redirect ADDRESS" is a next hop and the redirect-to-nexthop community.
        let r = announcement("announce ipv4 flow destination-ipv4 192.168.0.1/32 redirect 1.2.3.4");
        assert_eq!(r.next_hop, NextHopSpec::Address("1.2.3.4".parse().unwrap()));
        assert_eq!(
            r.attributes.extended_communities,
            vec![ExtendedCommunity::redirect_to_next_hop(false)]
        );
        // Repeated components are ORed.
        let o =
            announcement("announce ipv4 flow destination-port =80 destination-port =443 accept");
        let NlriList::Flowspec(rules) = &o.nlri else {
            panic!()
        };
        assert_eq!(
            rules[0].components,
            vec![Component::Numeric {
                kind: ComponentType::DestinationPort,
                ops: vec![
                    NumericOp {
                        eq: true,
                        value: 80,
                        ..NumericOp::default()
                    },
                    NumericOp {
                        eq: true,
                        value: 443,
                        ..NumericOp::default()
                    }
                ]
            }]
        );
        let t = announcement(
            "announce ipv4 flow fragment last-fragment extended-community [action sample-terminal]",
        );
        let NlriList::Flowspec(rules) = &t.nlri else {
            panic!()
        };
        assert_eq!(
            rules[0].components,
            vec![Component::Bitmask {
                kind: ComponentType::Fragment,
                ops: vec![BitmaskOp {
                    value: 8,
                    ..BitmaskOp::default()
                }]
            }]
        );
        let p = announcement("announce ipv4 flow source-ipv4 10.0.1.0/24 rate-limit 1000 packets");
        assert_eq!(
            p.attributes.extended_communities,
            vec![ExtendedCommunity::traffic_rate_packets(0, 1000.0)]
        );
        let v6 = announcement(
            "announce flow route destination 2001:db8::/32 redirect-to-nexthop-ietf 2001:db8::1",
        );
        assert_eq!(v6.family, Family::IPV6_FLOWSPEC);
        assert_eq!(v6.attributes.ipv6_extended_communities.len(), 1);
    }

    #[test]
    fn flow_errors() {
        let e = err("announce ipv4 flow destination-port =80 bogus 1");
        assert_eq!((e.column, e.token.as_str()), (41, "bogus"));
        assert!(
            e.message.starts_with("unknown flow keyword \"bogus\""),
            "{e}"
        );
        let e = err("announce ipv4 flow destination-port [ =80 >99999 ]");
        assert_eq!(e.token, ">99999");
        assert!(
            e.message
                .starts_with("invalid destination-port value \">99999\": value 99999 is too large"),
            "{e}"
        );
        let e = err("announce ipv4 flow discard");
        assert!(
            e.message
                .starts_with("a flow rule needs at least one match component"),
            "{e}"
        );
        let e = err("announce ipv4 flow-vpn destination 10.0.0.0/8 discard");
        assert!(e.message.contains("needs an \"rd\""), "{e}");
        let e = err("announce ipv4 flow destination 2001:db8::/32 discard");
        assert_eq!(e.token, "2001:db8::/32");
        let e = err("announce ipv4 flow flow-label =1");
        assert!(e.message.contains("does not exist"), "{e}");
        let e = err("announce ipv4 flow destination 10.0.0.0/8 destination 10.1.0.0/16");
        assert!(e.message.contains("given twice"), "{e}");
        let e = err("announce flow route { match { destination 10.0.0.0/8; } then { discard; }");
        assert!(
            e.message.contains("to close the block opened at column 21"),
            "{e}"
        );
        let e = err("announce flow route { match { color red; } }");
        assert_eq!(e.token, "color");
    }

    #[test]
    fn every_single_valued_keyword_is_refused_twice() {
        // Every keyword `Draft::once` knows, in one command.
        let all = "announce route 10.0.0.0/24 rd 65000:1 label 100 next-hop 192.0.2.1 \
                   origin igp med 1 local-preference 2 as-path [ 65001 ] \
                   originator-id 192.0.2.2 cluster-list [ 192.0.2.3 ] atomic-aggregate \
                   aggregator ( 65001:192.0.2.4 ) aigp 3 path-information 4 split /25 \
                   watchdog dog withdraw name n";
        parse(all).unwrap_or_else(|e| panic!("{}", e.message));
        for again in [
            "rd 65000:2",
            "label 101",
            "next-hop 192.0.2.9",
            "origin egp",
            "med 9",
            "local-preference 9",
            "as-path [ 65009 ]",
            "originator-id 192.0.2.9",
            "cluster-list [ 192.0.2.9 ]",
            "atomic-aggregate",
            "aggregator ( 65009:192.0.2.9 )",
            "aigp 9",
            "path-information 9",
            "split /26",
            "watchdog cat",
            "withdraw",
            "name m",
        ] {
            let e = err(&format!("{all} {again}"));
            assert!(e.message.contains("given twice"), "{again}: {}", e.message);
        }
    }

    #[test]
    fn error_messages_name_column_and_token() {
        let e = err("announce route 10.0.0.0/33 next-hop 192.0.2.1");
        assert_eq!(
            e.to_string(),
            "column 16: expected a prefix after \"route\", got \"10.0.0.0/33\": the prefix length must be a number from 0 to 32"
        );
        assert_eq!(e.token, "10.0.0.0/33");
        assert_eq!(e.kind, ParseErrorKind::Invalid);
        assert_eq!(
            err("announce route 10.0.0.1/24 next-hop 1.2.3.4").message,
            "expected a prefix after \"route\", got \"10.0.0.1/24\": host bits are set beyond /24 (the network is 10.0.0.0/24)"
        );
        assert_eq!(
            err("announce route 10.0.0.0/24").to_string(),
            "column 16: the route to 10.0.0.0/24 has no next hop: add \"next-hop ADDRESS\" or \"next-hop self\""
        );
        assert_eq!(
            err("announce route").to_string(),
            "column 15: expected a prefix after \"route\", got the end of the line"
        );
        let e = err("announce route 10.0.0.0/24 next-hop 1.2.3.4 colour blue");
        assert_eq!((e.column, e.token.as_str()), (45, "colour"));
        assert!(e.message.starts_with("unknown route attribute \"colour\""));
        assert_eq!(
            err("announce route 10.0.0.0/24 next-hop 1.2.3.4 med 1 med 2").message,
            "\"med\" is given twice (first at column 45)"
        );
        assert_eq!(
            err("announce route 10.0.0.0/24 next-hop 1.2.3.4 community [ 1:1").message,
            "expected \"]\" to close the list opened at column 55, got the end of the line"
        );
        assert_eq!(
            err("announce route 10.0.0.0/24 next-hop 1.2.3.4 community [ 65536:1 ]").message,
            "expected a community such as 65000:100 or no-export after \"community\", got \"65536:1\": invalid community \"65536:1\""
        );
        assert_eq!(
            err("announce route 10.0.0.0/24 next-hop 1.2.3.4 community [ ]").column,
            55
        );
        assert_eq!(
            err("announce route 10.0.0.0/24 next-hop 1.2.3.4 name \"x").message,
            "the text quoted with \" here is not closed"
        );
        assert_eq!(
            err("announce ipv4 unicast 10.0.0.0/24 next-hop 1.2.3.4 rd 1:1").token,
            "rd"
        );
        assert!(
            err("announce ipv4 unicast 10.0.0.0/24 next-hop 1.2.3.4 rd 1:1")
                .message
                .contains("only for mpls-vpn")
        );
        assert!(err("announce route 10.0.0.0/24 next-hop 1.2.3.4 rd 1:1")
            .message
            .contains("needs a \"label\""));
        assert!(
            err("announce ipv4 unicast 10.0.0.0/24 next-hop 1.2.3.4 label 1")
                .message
                .contains("only for nlri-mpls")
        );
        assert!(err("announce ipv4 nlri-mpls 10.0.0.0/24 next-hop 1.2.3.4")
            .message
            .contains("needs a \"label\""));
        assert!(err("announce ipv6 unicast 10.0.0.0/24 next-hop 1.2.3.4")
            .message
            .contains("is an IPv4 prefix"));
        assert!(
            err("announce attributes next-hop 1.2.3.4 nlri 10.0.0.0/8 2001:db8::/32")
                .message
                .contains("one address family")
        );
        assert!(
            err("announce route 10.0.0.0/8 next-hop 1.2.3.4 label 1048576")
                .message
                .contains("0 to 1048575")
        );
        assert!(
            err("announce route 10.0.0.0/8 next-hop 1.2.3.4 extended-community [ target:1 ]")
                .message
                .contains("invalid extended community")
        );
        assert_eq!(
            err("announce route 10.0.0.0/8 next-hop 1.2.3.4 extra ] ").token,
            "extra"
        );
        assert_eq!(
            err("").message,
            "expected a command such as \"announce\" or \"withdraw\", got an empty line"
        );
        // The configuration form of the issue's contract: a bare `route`.
        assert_eq!(
            parse("route 10.0.0.0/24 next-hop 192.0.2.1 community [100:100]").map(|c| c.command),
            parse("announce route 10.0.0.0/24 next-hop 192.0.2.1 community [100:100]")
                .map(|c| c.command)
        );
        assert_eq!(
            err("bonjour").message,
            "expected \"announce\", \"withdraw\", \"route\" or \"flow\", got \"bonjour\""
        );
        for s in [
            "announce vpls rd 1:1",
            "announce ipv4 mup mup-t1st 192.168.0.2/32",
            "announce route 1.0.0.0/8 next-hop 1.2.3.4 bgp-prefix-sid [ 777 ]",
            "show neighbor",
            "group announce route 1.0.0.0/8 next-hop 1.2.3.4",
        ] {
            assert_eq!(err(s).kind, ParseErrorKind::Unsupported, "{s}");
        }
        assert!(err("announce eor ipv4 bogus")
            .message
            .starts_with("expected a subsequent address family"));
        assert_eq!(err("announce eor ipv4 unicast extra").token, "extra");
    }

    #[test]
    fn never_panics_on_prefixes_of_valid_lines() {
        let lines = [
            "neighbor 192.0.2.1 local-as 1 , neighbor 192.0.2.2 announce route 10.0.0.0/24 next-hop self as-path [ 1 ( 2 3 ) { 4 } ] aggregator ( 1:1.1.1.1 ) attribute [ 0x99 0xc0 0x00 ]",
            "announce flow route name { rd 1:1; match { source ::1/128/120; tcp-flags [ syn&!=ack ]; } then { redirect 1.2.3.4:5; action sample-terminal; } }",
            "announce ipv4 flow destination-port [ >8080&<8088 =3128 ] extended-community [ mark 10 redirect-to-nexthop-ietf 1.2.3.4 ]",
            "announce attributes label [ 1 2 ] rd 1:1 split /26 nlri 10.0.0.0/24 \"é\" 'q'",
        ];
        for line in lines {
            for (i, _) in line.char_indices() {
                let _ = parse(&line[..i]);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_token_soup(words in proptest::collection::vec(proptest::sample::select(vec![
            "announce", "withdraw", "route", "flow", "ipv4", "ipv6", "unicast", "flow-vpn", "nlri", "attributes",
            "10.0.0.0/8", "2001:db8::/32", "1.2.3.4", "next-hop", "self", "[", "]", "(", ")", "{", "}", ";", ",",
            "as-path", "community", "extended-community", "label", "rd", "1:1", "65000", "split", "/9",
            "match", "then", "destination", "source-port", "=80", ">1&<2", "discard", "redirect", "copy", "mark",
            "attribute", "0x99", "0xc0", "0x", "eor", "\"", "neighbor",
        ]), 0..24)) {
            let line = words.join(" ");
            if let Ok(c) = parse(&line) {
                let _ = c.command.encode(&EncodeSettings::default());
            }
        }
    }

    #[test]
    fn decoded_labels_and_rd_survive_encoding() {
        let s = EncodeSettings::default();
        let msgs = cmd("announce route 10.0.0.0/24 next-hop 1.2.3.4 rd 65000:1 label 100")
            .encode(&s)
            .unwrap();
        let u = decode(&msgs[0], &s);
        let Some(MpNlri::Decoded(NlriList::Vpn(v))) = u.mp_reach.map(|m| m.nlri) else {
            panic!()
        };
        assert_eq!(v[0].labels[0].value(), 100);
        assert_eq!(v[0].rd.to_string(), "65000:1");
    }

    #[test]
    fn selectors_split_from_the_rest() {
        let (n, rest) =
            split_selectors("neighbor 192.0.2.1 local-as 65000 , neighbor 2001:db8::1 teardown 2")
                .unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].local_as, Some(65000));
        assert_eq!(rest, "teardown 2");
        let line = "neighbor 192.0.2.1 \"quoted\" x";
        let (_, rest) = split_selectors(line).unwrap();
        assert_eq!(rest, "\"quoted\" x");
        assert_eq!(column_offset(line, rest), 19);
        assert_eq!(
            split_selectors("show neighbor").unwrap(),
            (Vec::new(), "show neighbor")
        );
        assert_eq!(split_selectors("neighbor 192.0.2.1").unwrap().1, "");
        assert!(split_selectors("neighbor bogus teardown 2").is_err());
    }
}
