//! UPDATE messages (RFC 4271 §4.3) with multiprotocol reachability
//! (RFC 4760) and the revised error handling of RFC 7606.
//!
//! ```text
//!  +-----------------------------------------------------+
//!  |   Withdrawn Routes Length (2 octets)                |
//!  +-----------------------------------------------------+
//!  |   Withdrawn Routes (variable, IPv4 unicast)         |
//!  +-----------------------------------------------------+
//!  |   Total Path Attribute Length (2 octets)            |
//!  +-----------------------------------------------------+
//!  |   Path Attributes (variable)                        |
//!  +-----------------------------------------------------+
//!  |   Network Layer Reachability Information (IPv4)     |
//!  +-----------------------------------------------------+
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::attribute::{self, flags, type_code, As4Pending, AsPath, Incoming, PathAttributes};
use crate::context::{DecodeContext, EncodeContext};
use crate::error::{Action, AttributeIssue, DecodeError, Reason};
use crate::family::{Afi, Family, NlriKind, Safi};
use crate::nlri::{NlriList, PrefixNlri};
use crate::notification::{code, subcode};
use crate::reader::Reader;

const MALFORMED_LIST: (u8, u8) = (code::UPDATE, subcode::MALFORMED_ATTRIBUTE_LIST);

/// The next hop of an MP_REACH_NLRI (RFC 4760 §3, RFC 2545 §3, RFC 8950).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// No next hop (Flowspec, RFC 8955 §5).
    Empty,
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 global address and, optionally, a link-local one.
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address.
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHop {
    /// The length of the address part.
    fn address_len(&self) -> usize {
        match self {
            NextHop::Empty => 0,
            NextHop::V4(_) => 4,
            NextHop::V6 {
                link_local: None, ..
            } => 16,
            NextHop::V6 {
                link_local: Some(_),
                ..
            } => 32,
        }
    }

    /// Decode the next hop field of `family`. VPN families put an all-zero
    /// route distinguisher in front of each address (RFC 4364 §4.3.2, RFC 4659 §3.2.1).
    fn decode(bytes: &[u8], family: Family, offset: usize) -> Result<NextHop, DecodeError> {
        let vpn = matches!(family.nlri_kind(), Some(NlriKind::Vpn));
        let bad = || {
            DecodeError::new(
                offset,
                Reason::OptionalAttribute {
                    type_code: type_code::MP_REACH_NLRI,
                    detail: "next hop length does not fit the address family",
                },
            )
        };
        let mut r = Reader::new(bytes, offset);
        let addr = |r: &mut Reader<'_>, len: usize| -> Result<Vec<u8>, DecodeError> {
            if vpn {
                r.take(8).map_err(|_| bad())?;
            }
            r.take(len).map(<[u8]>::to_vec).map_err(|_| bad())
        };
        // Lengths: plain 0, 4, 16, 32; VPN 12, 24, 48 (an RD before each address).
        let (v4, v6, v6_ll) = if vpn { (12, 24, 48) } else { (4, 16, 32) };
        let n = bytes.len();
        let flowspec = matches!(
            family.nlri_kind(),
            Some(NlriKind::Flowspec | NlriKind::FlowspecVpn)
        );
        let nh = if n == 0 {
            // Only Flowspec routes go without a next hop (RFC 8955 §5);
            // for the others the length is inconsistent with the AFI/SAFI
            // (RFC 7606 §7.11).
            if !flowspec {
                return Err(bad());
            }
            NextHop::Empty
        } else if n == v4 {
            let b = addr(&mut r, 4)?;
            NextHop::V4(Ipv4Addr::from(
                <[u8; 4]>::try_from(b.as_slice()).map_err(|_| bad())?,
            ))
        } else if n == v6 || n == v6_ll {
            let g = addr(&mut r, 16)?;
            let global = Ipv6Addr::from(<[u8; 16]>::try_from(g.as_slice()).map_err(|_| bad())?);
            let link_local = if r.is_empty() {
                None
            } else {
                let l = addr(&mut r, 16)?;
                Some(Ipv6Addr::from(
                    <[u8; 16]>::try_from(l.as_slice()).map_err(|_| bad())?,
                ))
            };
            NextHop::V6 { global, link_local }
        } else {
            return Err(bad());
        };
        Ok(nh)
    }

    /// Append the length byte and the next hop field for `family`.
    pub(crate) fn encode(&self, family: Family, out: &mut Vec<u8>) {
        let vpn = matches!(family.nlri_kind(), Some(NlriKind::Vpn));
        let rd: &[u8] = if vpn { &[0; 8] } else { &[] };
        let len = match (vpn, self) {
            (_, NextHop::Empty) => 0,
            (false, nh) => nh.address_len(),
            (true, NextHop::V4(_)) => 12,
            (
                true,
                NextHop::V6 {
                    link_local: None, ..
                },
            ) => 24,
            (
                true,
                NextHop::V6 {
                    link_local: Some(_),
                    ..
                },
            ) => 48,
        };
        out.push(u8::try_from(len).unwrap_or(0));
        match self {
            NextHop::Empty => {}
            NextHop::V4(a) => {
                out.extend_from_slice(rd);
                out.extend_from_slice(&a.octets());
            }
            NextHop::V6 { global, link_local } => {
                out.extend_from_slice(rd);
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(rd);
                    out.extend_from_slice(&ll.octets());
                }
            }
        }
    }
}

impl std::fmt::Display for NextHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NextHop::Empty => f.write_str("none"),
            NextHop::V4(a) => write!(f, "{a}"),
            NextHop::V6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::V6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global} {ll}"),
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
///
/// ```text
///  +---------------------------------------------------------+
///  | AFI (2) | SAFI (1) | Next hop length (1) | Next hop     |
///  +---------------------------------------------------------+
///  | Reserved (1) | NLRI (variable)                          |
///  +---------------------------------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpReach {
    /// The family of the NLRI.
    pub family: Family,
    /// The next hop.
    pub next_hop: NextHop,
    /// The announced NLRI; raw bytes for families Ribbit does not decode.
    pub nlri: MpNlri,
}

/// MP_UNREACH_NLRI (RFC 4760 §4): AFI (2), SAFI (1), withdrawn NLRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MpUnreach {
    /// The family of the NLRI.
    pub family: Family,
    /// The withdrawn NLRI.
    pub nlri: MpNlri,
}

/// NLRI inside an MP attribute: decoded for known families, raw otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MpNlri {
    /// Decoded NLRI.
    Decoded(NlriList),
    /// NLRI of a family Ribbit does not decode, as received.
    Raw(Vec<u8>),
}

impl MpNlri {
    /// Number of NLRI (0 for raw NLRI).
    pub fn len(&self) -> usize {
        match self {
            MpNlri::Decoded(l) => l.len(),
            MpNlri::Raw(_) => 0,
        }
    }

    /// Whether there are no NLRI at all.
    pub fn is_empty(&self) -> bool {
        match self {
            MpNlri::Decoded(l) => l.is_empty(),
            MpNlri::Raw(b) => b.is_empty(),
        }
    }

    fn decode(
        r: &mut Reader<'_>,
        family: Family,
        add_path: bool,
        withdraw: bool,
    ) -> Result<MpNlri, DecodeError> {
        if family.nlri_kind().is_none() {
            return Ok(MpNlri::Raw(r.take_rest().to_vec()));
        }
        NlriList::decode(r, family, add_path, withdraw).map(MpNlri::Decoded)
    }

    fn encode(&self, family: Family, add_path: bool, out: &mut Vec<u8>) {
        match self {
            MpNlri::Decoded(l) => l.encode(family, add_path, out),
            MpNlri::Raw(b) => out.extend_from_slice(b),
        }
    }
}

/// An UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// IPv4 unicast routes withdrawn in the Withdrawn Routes field.
    pub withdrawn: Vec<PrefixNlri>,
    /// Path attributes (everything but MP_REACH_NLRI and MP_UNREACH_NLRI).
    pub attributes: PathAttributes,
    /// IPv4 unicast routes announced in the NLRI field.
    pub announced: Vec<PrefixNlri>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreach>,
    /// Errors RFC 7606 lets the session survive, found while decoding.
    /// Ignored by the encoder.
    pub issues: Vec<AttributeIssue>,
}

/// The family of the classic IPv4 NLRI and withdrawn fields.
const IPV4: Family = Family::IPV4_UNICAST;

impl Update {
    /// The End-of-RIB marker of `family` (RFC 4724 §2): an empty UPDATE for
    /// IPv4 unicast, an UPDATE with only an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(family: Family) -> Update {
        if family == IPV4 {
            return Update::default();
        }
        let nlri = NlriList::empty_for(family).map_or(MpNlri::Raw(Vec::new()), MpNlri::Decoded);
        Update {
            mp_unreach: Some(MpUnreach { family, nlri }),
            ..Update::default()
        }
    }

    /// The family whose End-of-RIB this UPDATE is, if it is one.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty()
            || !self.announced.is_empty()
            || self.mp_reach.is_some()
            || !self.attributes.is_empty()
        {
            return None;
        }
        match &self.mp_unreach {
            None => Some(IPV4),
            Some(u) if u.nlri.is_empty() => Some(u.family),
            Some(_) => None,
        }
    }

    /// The strongest RFC 7606 action among the issues, if any.
    pub fn action(&self) -> Option<Action> {
        self.issues.iter().map(|i| i.action).max()
    }

    /// Whether the UPDATE must be handled as withdrawing everything it
    /// announces (RFC 7606 §2).
    pub fn treat_as_withdraw(&self) -> bool {
        self.action() == Some(Action::TreatAsWithdraw)
    }

    /// Decode the body of an UPDATE (everything after the 19-byte header).
    ///
    /// Returns `Err` when the session must be reset; errors RFC 7606 lets the
    /// session survive are in [`Update::issues`].
    pub fn decode(body: &[u8], ctx: &DecodeContext) -> Result<Update, DecodeError> {
        let mut update = Update::default();
        update.decode_into(body, ctx)?;
        Ok(update)
    }

    /// [`Update::decode`] into an existing UPDATE, reusing its buffers: a
    /// session that decodes one UPDATE after another allocates nothing once
    /// the buffers have grown. On error the UPDATE's content is unspecified.
    pub fn decode_into(&mut self, body: &[u8], ctx: &DecodeContext) -> Result<(), DecodeError> {
        // The last AS_PATH's memory, for this one's: a path is a list of
        // lists, the most allocations of an UPDATE decoded afresh.
        let mut spare_path = self.attributes.as_path.take();
        self.clear();
        let mut r = Reader::new(body, crate::HEADER_LEN);
        let trunc = |what| move |t| DecodeError::truncated(what, t, MALFORMED_LIST);

        // Withdrawn routes: a length that overruns the message cannot be
        // recovered from (RFC 7606 §5.3, RFC 4271 §6.3).
        let wlen_at = r.offset();
        let wlen = r.u16().map_err(trunc("withdrawn routes length"))?;
        let mut wr = r.sub(usize::from(wlen)).map_err(|_| {
            DecodeError::new(
                wlen_at,
                Reason::MalformedAttributeList("withdrawn routes length overruns the message"),
            )
        })?;
        read_ipv4_field(&mut wr, ctx, &mut self.withdrawn)?;

        let alen_at = r.offset();
        let alen = r.u16().map_err(trunc("total path attribute length"))?;
        let ar = r.sub(usize::from(alen)).map_err(|_| {
            DecodeError::new(
                alen_at,
                Reason::MalformedAttributeList("total path attribute length overruns the message"),
            )
        })?;
        read_ipv4_field(&mut r, ctx, &mut self.announced)?;
        self.decode_attributes(ar, ctx, &mut spare_path)
    }

    /// Empty every field, keeping the buffers.
    fn clear(&mut self) {
        self.withdrawn.clear();
        self.announced.clear();
        self.attributes.clear();
        self.mp_reach = None;
        self.mp_unreach = None;
        self.issues.clear();
    }

    fn issue(&mut self, offset: usize, code: u8, reason: Reason, action: Action) {
        self.issues.push(AttributeIssue {
            offset,
            type_code: code,
            reason,
            action,
        });
    }

    fn decode_attributes(
        &mut self,
        mut r: Reader<'_>,
        ctx: &DecodeContext,
        spare_path: &mut Option<AsPath>,
    ) -> Result<(), DecodeError> {
        let mut seen = [0u64; 4];
        let mut pending = As4Pending::default();
        while !r.is_empty() {
            let at = r.offset();
            // RFC 7606 §4: an attribute header or value that runs past the
            // attribute field: treat-as-withdraw, NLRI are found by the total length.
            let header = (|| {
                let fl = r.u8().ok()?;
                let code = r.u8().ok()?;
                let len = if fl & flags::EXTENDED_LENGTH != 0 {
                    usize::from(r.u16().ok()?)
                } else {
                    usize::from(r.u8().ok()?)
                };
                let value = r.take(len).ok()?;
                Some((fl, code, value))
            })();
            let Some((fl, code, value)) = header else {
                let reason =
                    Reason::MalformedAttributeList("attribute runs past the attribute field");
                if self.mp_reach.is_none() && self.mp_unreach.is_none() && self.announced.is_empty()
                {
                    // Nothing announced could be located: withdrawals cannot be
                    // trusted to be complete either. Only a reset is safe.
                    return Err(DecodeError::new(at, reason));
                }
                self.issue(at, 0, reason, Action::TreatAsWithdraw);
                break;
            };

            // RFC 7606 §3 (g): MP attributes twice reset the session; any other
            // repeated attribute keeps its first occurrence.
            let bit = 1u64 << (code & 63);
            let word = seen.get_mut(usize::from(code >> 6));
            let repeated = word.as_ref().is_some_and(|w| **w & bit != 0);
            if let Some(w) = word {
                *w |= bit;
            }
            if repeated {
                if matches!(code, type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI) {
                    return Err(DecodeError::new(
                        at,
                        Reason::MalformedAttributeList("MP_REACH_NLRI or MP_UNREACH_NLRI repeated"),
                    ));
                }
                self.issue(
                    at,
                    code,
                    Reason::MalformedAttributeList("attribute repeated"),
                    Action::AttributeDiscard,
                );
                continue;
            }

            let value_at = at.saturating_add(if fl & flags::EXTENDED_LENGTH != 0 {
                4
            } else {
                3
            });
            let Some(expected) = attribute::expected_flags(code) else {
                // Unknown attribute. RFC 4271 §6.3: an unrecognised well-known
                // attribute resets the session; optional ones are kept.
                if fl & flags::OPTIONAL == 0 {
                    return Err(DecodeError::new(at, Reason::UnrecognizedWellKnown(code))
                        .with_data(attribute_bytes(fl, code, value)));
                }
                self.attributes.unknown.push(attribute::RawAttribute {
                    // The length form is the encoder's choice, not the attribute's.
                    flags: fl & !flags::EXTENDED_LENGTH,
                    type_code: code,
                    value: value.to_vec(),
                });
                continue;
            };
            let action = attribute::malformed_action(code);
            // RFC 4271 §4.3: the Partial bit is 0 on well-known and on
            // optional non-transitive attributes; only optional transitive
            // ones may carry it.
            let partial_allowed = expected == flags::OPTIONAL | flags::TRANSITIVE;
            let partial_wrong = fl & flags::PARTIAL != 0 && !partial_allowed;
            if fl & (flags::OPTIONAL | flags::TRANSITIVE) != expected || partial_wrong {
                // RFC 7606 §3 (c): flags in conflict make the attribute malformed.
                let reason = Reason::AttributeFlags {
                    type_code: code,
                    flags: fl,
                };
                if action == Action::SessionReset {
                    return Err(
                        DecodeError::new(at, reason).with_data(attribute_bytes(fl, code, value))
                    );
                }
                self.issue(at, code, reason, action);
                continue;
            }
            match code {
                type_code::MP_REACH_NLRI => {
                    let reach = decode_mp_reach(value, value_at, ctx)
                        .map_err(|e| with_attribute(e, fl, code, value))?;
                    self.mp_reach = Some(reach);
                }
                type_code::MP_UNREACH_NLRI => {
                    let unreach = decode_mp_unreach(value, value_at, ctx)
                        .map_err(|e| with_attribute(e, fl, code, value))?;
                    self.mp_unreach = Some(unreach);
                }
                type_code::AS4_PATH | type_code::AS4_AGGREGATOR if ctx.four_octet_as => {
                    // RFC 6793 §4.1: between two NEW speakers these are discarded.
                    self.issue(
                        at,
                        code,
                        Reason::OptionalAttribute {
                            type_code: code,
                            detail: "AS4 attribute between 4-octet speakers",
                        },
                        Action::AttributeDiscard,
                    );
                }
                _ => {
                    let incoming = Incoming { code, value };
                    if let Err(reason) = attribute::decode_value(
                        &mut self.attributes,
                        &mut pending,
                        spare_path,
                        incoming,
                        ctx.four_octet_as,
                    ) {
                        if action == Action::SessionReset {
                            return Err(DecodeError::new(at, reason)
                                .with_data(attribute_bytes(fl, code, value)));
                        }
                        self.issue(at, code, reason, action);
                    }
                }
            }
        }
        if !ctx.four_octet_as {
            attribute::reconcile_as4(&mut self.attributes, pending);
        }
        // The encoder writes attributes in ascending type order (RFC 4271 §5);
        // keep the unknown ones in that order too, so that what is stored is
        // what will be sent.
        if self.attributes.unknown.len() > 1 {
            self.attributes.unknown.sort_by_key(|u| u.type_code);
        }
        self.check_mandatory();
        Ok(())
    }

    /// RFC 7606 §3 (d): a missing mandatory attribute makes the UPDATE
    /// treat-as-withdraw, when it announces anything.
    fn check_mandatory(&mut self) {
        let mp_announces = self.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
        if self.announced.is_empty() && !mp_announces {
            return;
        }
        let a = &self.attributes;
        let mut missing = Vec::new();
        if a.origin.is_none() && !self.issues.iter().any(|i| i.type_code == type_code::ORIGIN) {
            missing.push(type_code::ORIGIN);
        }
        if a.as_path.is_none()
            && !self
                .issues
                .iter()
                .any(|i| i.type_code == type_code::AS_PATH)
        {
            missing.push(type_code::AS_PATH);
        }
        if !self.announced.is_empty()
            && a.next_hop.is_none()
            && !self
                .issues
                .iter()
                .any(|i| i.type_code == type_code::NEXT_HOP)
        {
            missing.push(type_code::NEXT_HOP);
        }
        for code in missing {
            self.issue(
                0,
                code,
                Reason::MissingWellKnown(code),
                Action::TreatAsWithdraw,
            );
        }
    }

    /// Append the body (everything after the header). The caller makes sure
    /// it fits the peer's maximum message size; [`crate::pack::UpdatePacker`]
    /// does.
    pub fn encode_body(&self, ctx: &EncodeContext, out: &mut Vec<u8>) {
        let ap4 = ctx.add_path(IPV4);
        let wstart = out.len();
        out.extend_from_slice(&[0, 0]);
        for n in &self.withdrawn {
            crate::nlri::write_path_id(n.path_id, ap4, out);
            crate::nlri::write_prefix(&n.prefix, out);
        }
        patch_u16(out, wstart);
        let astart = out.len();
        out.extend_from_slice(&[0, 0]);
        self.attributes
            .encode_range(0..=type_code::MP_UNREACH_NLRI, ctx.four_octet_as, out);
        if let Some(m) = &self.mp_reach {
            encode_mp_reach(m, ctx, out);
        }
        if let Some(m) = &self.mp_unreach {
            encode_mp_unreach(m, ctx, out);
        }
        self.attributes.encode_range(
            type_code::MP_UNREACH_NLRI.saturating_add(1)..=u8::MAX,
            ctx.four_octet_as,
            out,
        );
        patch_u16(out, astart);
        for n in &self.announced {
            crate::nlri::write_path_id(n.path_id, ap4, out);
            crate::nlri::write_prefix(&n.prefix, out);
        }
    }
}

/// Read the Withdrawn Routes or NLRI field (IPv4 unicast) into `out`.
fn read_ipv4_field(
    r: &mut Reader<'_>,
    ctx: &DecodeContext,
    out: &mut Vec<PrefixNlri>,
) -> Result<(), DecodeError> {
    let add_path = ctx.add_path(IPV4);
    if !add_path {
        return crate::nlri::read_ipv4_prefixes_into(r, out);
    }
    if let NlriList::Prefixes(v) = NlriList::decode(r, IPV4, add_path, false)? {
        *out = v;
    }
    Ok(())
}

/// Write the length of what follows the 2-byte slot at `at`.
fn patch_u16(out: &mut [u8], at: usize) {
    let len = out.len().saturating_sub(at.saturating_add(2));
    let [hi, lo] = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(slot) = out.get_mut(at..at.saturating_add(2)) {
        slot.copy_from_slice(&[hi, lo]);
    }
}

/// RFC 4271 §6.3: an Optional Attribute Error carries the attribute as its
/// data. (NLRI errors inside it, Invalid Network Field, carry none.)
fn with_attribute(e: DecodeError, fl: u8, code: u8, value: &[u8]) -> DecodeError {
    if e.data.is_empty() && matches!(e.reason, Reason::OptionalAttribute { .. }) {
        e.with_data(attribute_bytes(fl, code, value))
    } else {
        e
    }
}

/// The whole attribute (header and value) for NOTIFICATION data (RFC 4271 §6.3).
fn attribute_bytes(fl: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len().saturating_add(4));
    attribute::write_attribute(fl, code, value, &mut out);
    out
}

fn read_family(r: &mut Reader<'_>) -> Option<Family> {
    let afi = r.u16().ok()?;
    let safi = r.u8().ok()?;
    Some(Family::new(Afi(afi), Safi(safi)))
}

fn decode_mp_reach(value: &[u8], at: usize, ctx: &DecodeContext) -> Result<MpReach, DecodeError> {
    let mut r = Reader::new(value, at);
    let bad = |detail| {
        DecodeError::new(
            at,
            Reason::OptionalAttribute {
                type_code: type_code::MP_REACH_NLRI,
                detail,
            },
        )
    };
    let family = read_family(&mut r).ok_or_else(|| bad("too short for AFI and SAFI"))?;
    let nh_len = r
        .u8()
        .map_err(|_| bad("too short for the next hop length"))?;
    let nh_at = r.offset();
    let nh = r
        .take(usize::from(nh_len))
        .map_err(|_| bad("next hop runs past the attribute"))?;
    let next_hop = NextHop::decode(nh, family, nh_at)?;
    // RFC 4760 §3: one reserved octet, to be ignored.
    r.u8()
        .map_err(|_| bad("too short for the reserved octet"))?;
    let nlri = MpNlri::decode(&mut r, family, ctx.add_path(family), false)?;
    Ok(MpReach {
        family,
        next_hop,
        nlri,
    })
}

fn decode_mp_unreach(
    value: &[u8],
    at: usize,
    ctx: &DecodeContext,
) -> Result<MpUnreach, DecodeError> {
    let mut r = Reader::new(value, at);
    let family = read_family(&mut r).ok_or_else(|| {
        DecodeError::new(
            at,
            Reason::OptionalAttribute {
                type_code: type_code::MP_UNREACH_NLRI,
                detail: "too short for AFI and SAFI",
            },
        )
    })?;
    let nlri = MpNlri::decode(&mut r, family, ctx.add_path(family), true)?;
    Ok(MpUnreach { family, nlri })
}

fn encode_mp_reach(m: &MpReach, ctx: &EncodeContext, out: &mut Vec<u8>) {
    attribute::write_attribute_with(flags::OPTIONAL, type_code::MP_REACH_NLRI, out, |o| {
        o.extend_from_slice(&m.family.afi.0.to_be_bytes());
        o.push(m.family.safi.0);
        m.next_hop.encode(m.family, o);
        o.push(0);
        m.nlri.encode(m.family, ctx.add_path(m.family), o);
    });
}

fn encode_mp_unreach(m: &MpUnreach, ctx: &EncodeContext, out: &mut Vec<u8>) {
    attribute::write_attribute_with(flags::OPTIONAL, type_code::MP_UNREACH_NLRI, out, |o| {
        o.extend_from_slice(&m.family.afi.0.to_be_bytes());
        o.push(m.family.safi.0);
        m.nlri.encode(m.family, ctx.add_path(m.family), o);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{AsPath, Community, Origin};
    use crate::family::FamilySet;
    use crate::message::Message;
    use crate::nlri::Prefix;
    use crate::testing::hex;

    fn p(s: &str) -> PrefixNlri {
        PrefixNlri {
            path_id: None,
            prefix: s.parse::<Prefix>().unwrap(),
        }
    }

    /// Wrap an attribute list and IPv4 NLRI into an UPDATE body.
    fn body(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0];
        b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        b.extend_from_slice(attrs);
        b.extend_from_slice(nlri);
        b
    }

    const BASE: &str = "400101 00 400200 400304 C0000201";
    const ONE_PREFIX: [u8; 4] = [24, 10, 0, 0];

    fn decode(attrs: &str, nlri: &[u8]) -> Result<Update, DecodeError> {
        Update::decode(&body(&hex(attrs), nlri), &DecodeContext::default())
    }

    /// ExaBGP's `ipv4-unicast-1` conformance vector.
    #[test]
    fn decodes_exabgp_ipv4_unicast() {
        let bytes = hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003C020000001C4001010040020040030465016501800404000000C840050400000064000000002001010101");
        let Message::Update(u) = Message::decode(&bytes, &DecodeContext::default()).unwrap() else {
            panic!()
        };
        assert_eq!(u.attributes.origin, Some(Origin::Igp));
        assert_eq!(u.attributes.as_path, Some(AsPath::default()));
        assert_eq!(u.attributes.next_hop, Some(Ipv4Addr::new(101, 1, 101, 1)));
        assert_eq!(u.attributes.med, Some(200));
        assert_eq!(u.attributes.local_pref, Some(100));
        assert_eq!(
            u.announced,
            vec![
                p("0.0.0.0/0"),
                p("0.0.0.0/0"),
                p("0.0.0.0/0"),
                p("0.0.0.0/0"),
                p("1.1.1.1/32")
            ]
        );
        assert!(u.issues.is_empty());
        assert_eq!(
            Message::Update(u).to_bytes(&EncodeContext::default()),
            bytes
        );
    }

    #[test]
    fn invalid_origin_is_treat_as_withdraw() {
        let u = decode("400101 07 400200 400304 C0000201", &ONE_PREFIX).unwrap();
        assert!(u.treat_as_withdraw());
        assert_eq!(u.issues[0].reason, Reason::InvalidOrigin(7));
        assert_eq!(u.announced, vec![p("10.0.0.0/24")]);
    }

    #[test]
    fn missing_mandatory_is_treat_as_withdraw() {
        let u = decode("400101 00 400304 C0000201", &ONE_PREFIX).unwrap();
        assert!(u.treat_as_withdraw());
        assert_eq!(u.issues[0].reason, Reason::MissingWellKnown(2));
        // Without NLRI nothing is missing.
        assert!(decode("400101 00", &[]).unwrap().issues.is_empty());
    }

    #[test]
    fn discard_and_repeat_rules() {
        // AGGREGATOR with a 2-octet length on a 4-octet session: discarded.
        let u = decode(&format!("{BASE} C00706 FDE8C0000201"), &ONE_PREFIX).unwrap();
        assert_eq!(u.action(), Some(Action::AttributeDiscard));
        assert_eq!(u.attributes.aggregator, None);
        // A repeated COMMUNITIES keeps the first.
        let u = decode(
            &format!("{BASE} C00804 FDE80001 C00804 FDE80002"),
            &ONE_PREFIX,
        )
        .unwrap();
        assert_eq!(u.attributes.communities, vec![Community::new(65000, 1)]);
        assert_eq!(u.action(), Some(Action::AttributeDiscard));
        // MED marked transitive well-known: flags conflict, treat-as-withdraw.
        let u = decode(&format!("{BASE} 400404 00000001"), &ONE_PREFIX).unwrap();
        assert!(matches!(
            u.issues[0].reason,
            Reason::AttributeFlags { type_code: 4, .. }
        ));
        assert!(u.treat_as_withdraw());
        // ORIGIN (well-known) with the Partial bit: flags conflict.
        let u = decode("600101 00 400200 400304 C0000201", &ONE_PREFIX).unwrap();
        assert!(matches!(
            u.issues[0].reason,
            Reason::AttributeFlags { type_code: 1, .. }
        ));
        assert!(u.treat_as_withdraw());
        // COMMUNITIES (optional transitive) may carry it.
        let u = decode(&format!("{BASE} E00804 FDE80001"), &ONE_PREFIX).unwrap();
        assert!(u.issues.is_empty());
        // COMMUNITIES whose length is not a multiple of 4.
        let u = decode(&format!("{BASE} C00803 FDE800"), &ONE_PREFIX).unwrap();
        assert!(u.treat_as_withdraw());
    }

    #[test]
    fn session_reset_cases() {
        // MP_UNREACH_NLRI twice: Malformed Attribute List.
        let e = decode("800F03 000101 800F03 000101", &[]).unwrap_err();
        assert_eq!((e.notification().code, e.notification().subcode), (3, 1));
        // An unrecognised well-known attribute: 3/2 with the attribute as data.
        let e = decode(&format!("{BASE} 406401 AA"), &ONE_PREFIX).unwrap_err();
        assert_eq!(
            e.notification(),
            crate::Notification::new(3, 2, hex("406401AA"))
        );
        // Withdrawn routes length beyond the message.
        let e = Update::decode(&hex("0010 0000"), &DecodeContext::default()).unwrap_err();
        assert_eq!(e.notification().subcode, 1);
        // An invalid prefix in the NLRI field: Invalid Network Field.
        let e = decode(BASE, &[33, 1, 2, 3, 4, 5]).unwrap_err();
        assert_eq!(e.notification().subcode, 10);
        // A malformed MP_REACH_NLRI (next hop length 5 for IPv6).
        let e = decode("800E0A 00020105 0000000000 00", &[]).unwrap_err();
        assert_eq!(e.notification().subcode, 9);
        // ... whose data is the attribute (RFC 4271 §6.3).
        assert_eq!(e.notification().data, hex("800E0A 00020105 0000000000 00"));
    }

    #[test]
    fn overrun_attribute_depends_on_what_can_be_found() {
        // The last attribute claims more bytes than the attribute field holds.
        let u = decode(&format!("{BASE} C00808 FDE80001"), &ONE_PREFIX).unwrap();
        assert!(u.treat_as_withdraw());
        assert_eq!(u.announced.len(), 1);
        // With no NLRI anywhere, the routes cannot be located: reset.
        assert!(decode(&format!("{BASE} C00808 FDE80001"), &[]).is_err());
    }

    #[test]
    fn unknown_optional_attributes_are_kept_byte_exact() {
        let u = decode(&format!("{BASE} E06302 BEEF"), &ONE_PREFIX).unwrap();
        assert_eq!(u.attributes.unknown[0].flags, 0xE0);
        assert_eq!(u.attributes.unknown[0].value, vec![0xBE, 0xEF]);
        let mut out = Vec::new();
        u.encode_body(&EncodeContext::default(), &mut out);
        assert!(hex("E06302BEEF")
            .windows(5)
            .any(|w| out.windows(5).any(|o| o == w)));
    }

    #[test]
    fn as4_path_reconciliation_round_trip() {
        let mut u = Update::default();
        u.attributes.origin = Some(Origin::Igp);
        u.attributes.as_path = Some(AsPath::sequence(vec![65001, 4_200_000_000, 65002]));
        u.attributes.next_hop = Some(Ipv4Addr::new(192, 0, 2, 1));
        u.attributes.aggregator = Some(crate::attribute::Aggregator {
            asn: 4_200_000_001,
            address: Ipv4Addr::new(192, 0, 2, 9),
        });
        u.announced = vec![p("10.0.0.0/8")];
        let old = EncodeContext {
            four_octet_as: false,
            ..EncodeContext::default()
        };
        let mut out = Vec::new();
        u.encode_body(&old, &mut out);
        // The 2-octet AS_PATH carries AS_TRANS (0x5ba0), AS4_PATH the real number.
        assert!(out.windows(6).any(|w| w == hex("FDE95BA0FDEA")));
        let back = Update::decode(&out, &old.mirror()).unwrap();
        assert_eq!(back, u);
        // A 4-octet peer gets no AS4 attributes.
        let mut out4 = Vec::new();
        u.encode_body(&EncodeContext::default(), &mut out4);
        assert!(out4.len() < out.len());
        assert_eq!(Update::decode(&out4, &DecodeContext::default()).unwrap(), u);
    }

    #[test]
    fn decode_into_reuses_buffers_without_leaking_state() {
        let first = body(
            &hex(&format!("{BASE} C00804 FDE80001 E06302 BEEF")),
            &ONE_PREFIX,
        );
        let second = body(
            &hex("400101 01 400200 400304 C0000202 800404 00000007"),
            &[16, 10, 1],
        );
        let mut reused = Update::default();
        reused
            .decode_into(&first, &DecodeContext::default())
            .unwrap();
        assert_eq!(
            reused,
            Update::decode(&first, &DecodeContext::default()).unwrap()
        );
        reused
            .decode_into(&second, &DecodeContext::default())
            .unwrap();
        assert_eq!(
            reused,
            Update::decode(&second, &DecodeContext::default()).unwrap()
        );
        assert!(reused.attributes.communities.is_empty() && reused.attributes.unknown.is_empty());
    }

    #[test]
    fn end_of_rib_markers() {
        for family in Family::known() {
            let eor = Update::end_of_rib(family);
            let bytes = Message::Update(eor).to_bytes(&EncodeContext::default());
            let Message::Update(back) = Message::decode(&bytes, &DecodeContext::default()).unwrap()
            else {
                panic!()
            };
            assert_eq!(back.end_of_rib_family(), Some(family));
        }
        assert_eq!(
            Message::Update(Update::end_of_rib(Family::IPV4_UNICAST))
                .to_bytes(&EncodeContext::default())
                .len(),
            23
        );
    }

    #[test]
    fn mp_reach_ipv6_with_link_local_and_add_path() {
        let mut u = Update::default();
        u.attributes.origin = Some(Origin::Igp);
        u.attributes.as_path = Some(AsPath::sequence(vec![65001]));
        u.mp_reach = Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: NextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: Some("fe80::1".parse().unwrap()),
            },
            nlri: MpNlri::Decoded(NlriList::Prefixes(vec![PrefixNlri {
                path_id: Some(9),
                prefix: "2001:db8:1::/48".parse().unwrap(),
            }])),
        });
        let ctx = EncodeContext {
            add_path: [Family::IPV6_UNICAST].into_iter().collect::<FamilySet>(),
            ..EncodeContext::default()
        };
        let mut out = Vec::new();
        u.encode_body(&ctx, &mut out);
        assert_eq!(Update::decode(&out, &ctx.mirror()).unwrap(), u);
        // Without ADD-PATH negotiated the same bytes do not decode to the same thing.
        assert_ne!(
            Update::decode(&out, &DecodeContext::default()).ok(),
            Some(u)
        );
    }
}
