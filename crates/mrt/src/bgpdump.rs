//! The one-line output of `bgpdump -m` (bgpdump 1.6, the version Debian
//! ships), byte for byte, so that scripts written for it keep working:
//!
//! ```text
//! TABLE_DUMP2|ts|B|peer|peer_as|prefix|as_path|origin|next_hop|local_pref|med|communities|AG or NAG|aggregator|
//! TABLE_DUMP2_AP|ts|B|peer|peer_as|prefix|path_id|as_path|...            (RFC 8050 subtypes)
//! TABLE_DUMP|ts|B|peer|peer_as|prefix|as_path|...                        (RFC 6396 §4.2)
//! BGP4MP|ts|A|peer|peer_as|prefix|as_path|origin|next_hop|local_pref|med|communities|AG|aggregator|
//! BGP4MP|ts|W|peer|peer_as|prefix
//! BGP4MP|ts|STATE|peer|peer_as|old_state|new_state
//! ```
//!
//! bgpdump's quirks are reproduced on purpose (docs/mrt.md lists them):
//! its own IPv6 text (a single zero group is compressed too), AS_SETs as
//! `{1,2}` and confederation segments as `(1 2)` and `[1,2]`, absent MED and
//! LOCAL_PREF as 0, an absent NEXT_HOP as 255.255.255.255, only three
//! well-known communities by name, LOCAL_PREF and MED of IPv4 routes in
//! MP_REACH_NLRI printed as signed numbers, `_ET` timestamps with six
//! decimals, the format names of the `_LOCAL` and `_ADDPATH` BGP4MP subtypes
//! (`BGP4MP_LOCAL`, `BGP4MP_AP`; the `_LOCAL_ADDPATH` ones print the local
//! side as the peer), and the records it prints nothing for (OPEN,
//! NOTIFICATION, KEEPALIVE, PEER_INDEX_TABLE, multicast and RIB_GENERIC
//! records, families other than IPv4 and IPv6 unicast and multicast).
//!
//! Nothing is allocated per line: text goes straight into the caller's
//! buffer.

use std::net::{IpAddr, Ipv4Addr};

use ribbit_wire::reader::Reader;
use ribbit_wire::text::{self, push_padded, push_u32};
use ribbit_wire::Prefix;

use crate::bgp4mp::subtype as b4;
use crate::error::{truncated, At, Error, ErrorKind};
use crate::filter::{Filter, Kind};
use crate::reader::RawRecord;
use crate::table_dump_v2::subtype as td2;
use crate::view::{bgp4mp_header, origin_as, prefix_from, AttrView, OriginAs, RibView};
use crate::{mrt_type, HEADER_LEN};

/// AS_TRANS (RFC 6793 §9).
const AS_TRANS: u32 = 23456;
/// bgpdump gives up an AS path text at this length and appends `...`.
const MAX_AS_PATH_TEXT: usize = 8000 - 100;
/// bgpdump builds the community text in a buffer of BUFSIZ (8192) bytes.
const COMMUNITY_BUF: usize = 8192;

/// Formats records the way `bgpdump -m` does. Keeps the last
/// PEER_INDEX_TABLE, which the RIB records that follow refer to.
#[derive(Debug, Default)]
pub struct Bgpdump {
    peers: Vec<(IpAddr, u32)>,
    /// Scratch space for an AS_PATH merged with AS4_PATH.
    merged: Vec<u8>,
    /// Problems found in records that were otherwise printed (a RIB entry
    /// naming an unknown peer, say), for the caller to report.
    errors: Vec<Error>,
}

/// The attributes of one route as bgpdump prints them.
struct Attrs<'a> {
    view: AttrView<'a>,
    /// AS number width of AS_PATH and AGGREGATOR: 2 or 4.
    width: usize,
}

impl Bgpdump {
    /// A formatter with no PEER_INDEX_TABLE yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Problems found in entries of the records formatted so far that did
    /// not stop the rest of their record, oldest first; taking them clears
    /// the list.
    pub fn take_errors(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.errors)
    }

    /// Append the lines of `raw` that `filter` keeps to `out`; returns how
    /// many. A record that cannot be read is an error and adds nothing, not
    /// even the lines of the entries before the one that went wrong, so that
    /// the output has every line of a record or none (as the JSON output).
    pub fn format(
        &mut self,
        raw: &RawRecord<'_>,
        filter: &Filter,
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let start = out.len();
        let result = match raw.mrt_type {
            mrt_type::TABLE_DUMP_V2 => self.table_dump_v2(raw, filter, out),
            mrt_type::BGP4MP | mrt_type::BGP4MP_ET => self.bgp4mp(raw, filter, out),
            mrt_type::TABLE_DUMP => self.table_dump(raw, filter, out),
            _ => Ok(0),
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn table_dump_v2(
        &mut self,
        raw: &RawRecord<'_>,
        filter: &Filter,
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        if raw.subtype == td2::PEER_INDEX_TABLE {
            return self.peer_index(raw).map(|()| 0);
        }
        // bgpdump 1.6 prints unicast RIB records only.
        if !matches!(
            raw.subtype,
            td2::RIB_IPV4_UNICAST
                | td2::RIB_IPV6_UNICAST
                | td2::RIB_IPV4_UNICAST_ADDPATH
                | td2::RIB_IPV6_UNICAST_ADDPATH
        ) || !filter.wants(Kind::Table)
        {
            return Ok(0);
        }
        let Some(rib) = RibView::of(raw) else {
            return Ok(0);
        };
        let rib = rib?;
        if !filter.prefix(&rib.prefix) {
            return Ok(0);
        }
        let v6 = matches!(rib.prefix, Prefix::V6(_));
        let mut lines = 0usize;
        for entry in rib.entries() {
            let entry = entry?;
            let Some(&(peer, peer_as)) = self.peers.get(usize::from(entry.peer_index)) else {
                self.errors.push(Error::new(
                    raw.offset,
                    ErrorKind::Malformed("RIB entry of a peer index beyond the PEER_INDEX_TABLE"),
                ));
                continue;
            };
            if !filter.peer(peer) {
                continue;
            }
            let attrs = Attrs {
                view: AttrView::parse(entry.attributes, entry.attributes_at)
                    .map_err(|e| e.at(raw.offset))?,
                width: 4,
            };
            if filter.needs_origin() && !filter.origin(&self.origin(&attrs)) {
                continue;
            }
            out.extend_from_slice(if rib.add_path {
                b"TABLE_DUMP2_AP|"
            } else {
                b"TABLE_DUMP2|"
            });
            push_u32(out, raw.timestamp);
            out.extend_from_slice(b"|B|");
            push_ip(out, &peer);
            out.push(b'|');
            push_u32(out, peer_as);
            out.push(b'|');
            push_raw_prefix(out, rib.prefix_raw, v6);
            out.push(b'|');
            if let Some(id) = entry.path_id {
                push_u32(out, id);
                out.push(b'|');
            }
            self.attributes(out, &attrs, NextHopRule::TableDump, Numbers::Unsigned);
            lines = lines.saturating_add(1);
        }
        Ok(lines)
    }

    fn peer_index(&mut self, raw: &RawRecord<'_>) -> Result<(), Error> {
        let mut r = Reader::new(raw.message, HEADER_LEN);
        let parse = |r: &mut Reader<'_>, peers: &mut Vec<(IpAddr, u32)>| -> Result<(), At> {
            r.take(4).map_err(truncated("collector BGP ID"))?;
            let name = r.u16().map_err(truncated("view name length"))?;
            r.take(usize::from(name)).map_err(truncated("view name"))?;
            let count = r.u16().map_err(truncated("peer count"))?;
            for _ in 0..count {
                let kind = r.u8().map_err(truncated("peer type"))?;
                r.take(4).map_err(truncated("peer BGP ID"))?;
                let ip = if kind & 1 != 0 {
                    IpAddr::V6(r.ipv6().map_err(truncated("peer address"))?)
                } else {
                    IpAddr::V4(r.ipv4().map_err(truncated("peer address"))?)
                };
                let asn = if kind & 2 != 0 {
                    r.u32().map_err(truncated("peer AS"))?
                } else {
                    u32::from(r.u16().map_err(truncated("peer AS"))?)
                };
                peers.push((ip, asn));
            }
            Ok(())
        };
        self.peers.clear();
        parse(&mut r, &mut self.peers).map_err(|e| e.at(raw.offset))
    }

    fn table_dump(
        &mut self,
        raw: &RawRecord<'_>,
        filter: &Filter,
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let v6 = match raw.subtype {
            1 => false,
            2 => true,
            _ => return Ok(0),
        };
        if !filter.wants(Kind::Table) {
            return Ok(0);
        }
        let mut r = Reader::new(raw.message, HEADER_LEN);
        let mut parse = || -> Result<_, At> {
            r.take(4).map_err(truncated("view and sequence"))?;
            let addr = r
                .take(if v6 { 16 } else { 4 })
                .map_err(truncated("prefix"))?;
            let len = r.u8().map_err(truncated("prefix length"))?;
            r.take(5).map_err(truncated("status and originated time"))?;
            let peer = if v6 {
                IpAddr::V6(r.ipv6().map_err(truncated("peer address"))?)
            } else {
                IpAddr::V4(r.ipv4().map_err(truncated("peer address"))?)
            };
            let peer_as = u32::from(r.u16().map_err(truncated("peer AS"))?);
            let alen = r.u16().map_err(truncated("attribute length"))?;
            let at = r.offset();
            let bytes = r.take(usize::from(alen)).map_err(truncated("attributes"))?;
            let view = AttrView::parse(bytes, at)?;
            Ok((addr, len, peer, peer_as, view))
        };
        let (addr, len, peer, peer_as, view) = parse().map_err(|e| e.at(raw.offset))?;
        let prefix = prefix_from(addr, len, v6).ok_or_else(|| {
            Error::new(
                raw.offset.saturating_add(HEADER_LEN as u64),
                ErrorKind::Malformed("prefix length"),
            )
        })?;
        let attrs = Attrs { view, width: 2 };
        if !filter.prefix(&prefix)
            || !filter.peer(peer)
            || (filter.needs_origin() && !filter.origin(&self.origin(&attrs)))
        {
            return Ok(0);
        }
        out.extend_from_slice(b"TABLE_DUMP|");
        push_u32(out, raw.timestamp);
        out.extend_from_slice(b"|B|");
        push_ip(out, &peer);
        out.push(b'|');
        push_u32(out, peer_as);
        out.push(b'|');
        // The whole address field is printed, host bits and all.
        push_raw_prefix(out, (len, addr), v6);
        out.push(b'|');
        self.attributes(out, &attrs, NextHopRule::TableDump, Numbers::Unsigned);
        Ok(1)
    }

    fn bgp4mp(
        &mut self,
        raw: &RawRecord<'_>,
        filter: &Filter,
        out: &mut Vec<u8>,
    ) -> Result<usize, Error> {
        let (us, body, base) = raw.split_microseconds()?;
        let at = |e: At| e.at(raw.offset);
        let (as4, message) = match raw.subtype {
            b4::STATE_CHANGE => (false, false),
            b4::STATE_CHANGE_AS4 => (true, false),
            b4::MESSAGE | b4::MESSAGE_LOCAL | b4::MESSAGE_ADDPATH | b4::MESSAGE_LOCAL_ADDPATH => {
                (false, true)
            }
            b4::MESSAGE_AS4
            | b4::MESSAGE_AS4_LOCAL
            | b4::MESSAGE_AS4_ADDPATH
            | b4::MESSAGE_AS4_LOCAL_ADDPATH => (true, true),
            _ => return Ok(0),
        };
        let (peer_as, local_as, peer, local, rest_at) =
            bgp4mp_header(body, base, as4).map_err(at)?;
        let rest = body.get(rest_at.saturating_sub(base)..).unwrap_or(&[]);
        let mut line = Line {
            format: "",
            time: (raw.timestamp, us),
            peer,
            peer_as,
        };
        if !message {
            let mut r = Reader::new(rest, rest_at);
            let old = r.u16().map_err(truncated("old state")).map_err(at)?;
            let new = r.u16().map_err(truncated("new state")).map_err(at)?;
            if !r.is_empty() {
                return Err(at(At::malformed(r.offset(), "bytes after the new state")));
            }
            if !filter.routeless(Kind::State, peer) {
                return Ok(0);
            }
            line.format = if us.is_some() { "BGP4MP_ET" } else { "BGP4MP" };
            line.start(out, "STATE");
            line.peer_fields(out);
            push_u32(out, u32::from(old));
            out.push(b'|');
            push_u32(out, u32::from(new));
            out.push(b'\n');
            return Ok(1);
        }
        let local_subtype = matches!(raw.subtype, b4::MESSAGE_LOCAL | b4::MESSAGE_AS4_LOCAL);
        let add_path = matches!(
            raw.subtype,
            b4::MESSAGE_ADDPATH
                | b4::MESSAGE_AS4_ADDPATH
                | b4::MESSAGE_LOCAL_ADDPATH
                | b4::MESSAGE_AS4_LOCAL_ADDPATH
        );
        line.format = match (us.is_some(), local_subtype, add_path) {
            (false, false, false) => "BGP4MP",
            (true, false, false) => "BGP4MP_ET",
            (false, true, _) => "BGP4MP_LOCAL",
            (true, true, _) => "BGP4MP_ET_LOCAL",
            (false, false, true) => "BGP4MP_AP",
            (true, false, true) => "BGP4MP_ET_AP",
        };
        // bgpdump reads the `_LOCAL_ADDPATH` subtypes as sent messages but
        // prints them as received ones: the local side stands as the peer.
        if matches!(
            raw.subtype,
            b4::MESSAGE_LOCAL_ADDPATH | b4::MESSAGE_AS4_LOCAL_ADDPATH
        ) {
            line.peer = local;
            line.peer_as = local_as;
        }
        // The BGP message: marker, length, type (RFC 4271 §4.1).
        let mut r = Reader::new(rest, rest_at);
        let marker = r.take(16).map_err(truncated("BGP marker")).map_err(at)?;
        if marker.iter().any(|b| *b != 0xff) {
            return Err(at(At::malformed(rest_at, "BGP marker")));
        }
        let size = usize::from(r.u16().map_err(truncated("BGP length")).map_err(at)?);
        let kind = r.u8().map_err(truncated("BGP type")).map_err(at)?;
        if kind != 2 {
            // OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH: nothing in -m.
            return Ok(0);
        }
        let body_len = size.saturating_sub(19).min(r.remaining());
        let mut u = r.sub(body_len).map_err(truncated("UPDATE")).map_err(at)?;
        let wlen = u
            .u16()
            .map_err(truncated("withdrawn routes length"))
            .map_err(at)?;
        let withdrawn = u
            .sub(usize::from(wlen))
            .map_err(truncated("withdrawn routes"))
            .map_err(at)?;
        let alen = u
            .u16()
            .map_err(truncated("path attribute length"))
            .map_err(at)?;
        let attrs_at = u.offset();
        let attr_bytes = u
            .take(usize::from(alen))
            .map_err(truncated("path attributes"))
            .map_err(at)?;
        let nlri = u;
        let attrs = Attrs {
            view: AttrView::parse(attr_bytes, attrs_at).map_err(at)?,
            width: if as4 { 4 } else { 2 },
        };
        // Check every NLRI field before printing anything.
        let base = |v: &[u8]| rest_at.saturating_add(offset_in(rest, v));
        let unreach = match attrs.view.mp_unreach {
            Some(v) => mp_unreach(v, base(v)).map_err(at)?,
            None => None,
        };
        let reach = match attrs.view.mp_reach {
            Some(v) => mp_reach(v, base(v)).map_err(at)?,
            None => None,
        };
        check_prefixes(withdrawn.clone(), false, add_path).map_err(at)?;
        check_prefixes(nlri.clone(), false, add_path).map_err(at)?;
        if let Some((afi, list)) = &unreach {
            check_prefixes(list.clone(), *afi == 2, add_path).map_err(at)?;
        }
        if let Some((afi, _, list)) = &reach {
            check_prefixes(list.clone(), *afi == 2, add_path).map_err(at)?;
        }
        let mut lines = 0usize;
        let peer_ok = filter.peer(line.peer);
        if peer_ok && filter.wants(Kind::Withdraw) && !filter.needs_origin() {
            lines = lines.saturating_add(self.withdrawals(
                out,
                &line,
                withdrawn,
                false,
                add_path,
                filter,
                local_subtype,
            ));
            if let Some((afi, list)) = unreach {
                lines = lines.saturating_add(self.withdrawals(
                    out,
                    &line,
                    list,
                    afi == 2,
                    add_path,
                    filter,
                    local_subtype,
                ));
            }
        }
        if peer_ok
            && filter.wants(Kind::Update)
            && (!filter.needs_origin() || filter.origin(&self.origin(&attrs)))
        {
            lines = lines.saturating_add(self.announcements(
                out,
                &line,
                nlri,
                false,
                add_path,
                filter,
                &attrs,
                Announce::Classic,
            ));
            if let Some((afi, nh, list)) = reach {
                let rule = if afi == 2 {
                    Announce::V6(nh)
                } else {
                    Announce::MpV4(nh)
                };
                lines = lines.saturating_add(self.announcements(
                    out,
                    &line,
                    list,
                    afi == 2,
                    add_path,
                    filter,
                    &attrs,
                    rule,
                ));
            }
        }
        Ok(lines)
    }

    #[allow(clippy::too_many_arguments)]
    fn withdrawals(
        &self,
        out: &mut Vec<u8>,
        line: &Line,
        mut field: Reader<'_>,
        v6: bool,
        add_path: bool,
        filter: &Filter,
        local_subtype: bool,
    ) -> usize {
        let mut n = 0usize;
        while let Some((id, prefix, bits)) = next_prefix(&mut field, v6, add_path) {
            if !filter.prefix(&prefix) {
                continue;
            }
            // bgpdump prints the peer of an IPv6 withdrawal from a `_LOCAL`
            // record of an IPv4 session as if its IPv4 address were IPv6.
            if v6 && local_subtype {
                if let IpAddr::V4(a) = line.peer {
                    let mut b = [0u8; 16];
                    for (d, s) in b.iter_mut().zip(a.octets()) {
                        *d = s;
                    }
                    let fake = Line {
                        peer: IpAddr::V6(b.into()),
                        ..*line
                    };
                    fake.start(out, "W");
                    fake.peer_fields(out);
                    push_raw_prefix(out, bits, v6);
                    push_path_id_tail(out, id);
                    n = n.saturating_add(1);
                    continue;
                }
            }
            line.start(out, "W");
            line.peer_fields(out);
            push_raw_prefix(out, bits, v6);
            push_path_id_tail(out, id);
            n = n.saturating_add(1);
        }
        n
    }

    #[allow(clippy::too_many_arguments)]
    fn announcements(
        &mut self,
        out: &mut Vec<u8>,
        line: &Line,
        mut field: Reader<'_>,
        v6: bool,
        add_path: bool,
        filter: &Filter,
        attrs: &Attrs<'_>,
        rule: Announce<'_>,
    ) -> usize {
        let mut n = 0usize;
        while let Some((id, prefix, bits)) = next_prefix(&mut field, v6, add_path) {
            if !filter.prefix(&prefix) {
                continue;
            }
            line.start(out, "A");
            line.peer_fields(out);
            push_raw_prefix(out, bits, v6);
            out.push(b'|');
            if let Some(id) = id {
                push_u32(out, id);
                out.push(b'|');
            }
            match rule {
                Announce::Classic => {
                    self.attributes(out, attrs, NextHopRule::NextHop, Numbers::Unsigned)
                }
                Announce::MpV4(nh) => {
                    self.attributes(out, attrs, NextHopRule::Given(nh, false), Numbers::Signed)
                }
                Announce::V6(nh) => {
                    self.attributes(out, attrs, NextHopRule::Given(nh, true), Numbers::Unsigned)
                }
            }
            n = n.saturating_add(1);
        }
        n
    }

    /// The origin AS a filter compares, from the path bgpdump would print.
    fn origin<'a>(&'a mut self, attrs: &Attrs<'a>) -> OriginAs<'a> {
        let Some(path) = attrs.view.as_path else {
            return OriginAs::None;
        };
        if attrs.width == 2 && self.merge_as4(attrs) {
            return origin_as(&self.merged, 4).unwrap_or(OriginAs::None);
        }
        origin_as(path, attrs.width).unwrap_or(OriginAs::None)
    }

    /// `as_path|origin|next_hop|local_pref|med|communities|AG|aggregator|\n`.
    fn attributes(
        &mut self,
        out: &mut Vec<u8>,
        a: &Attrs<'_>,
        nh: NextHopRule<'_>,
        numbers: Numbers,
    ) {
        let v = &a.view;
        // AS_PATH, merged with AS4_PATH for 2-octet records (RFC 6793 §4.2.3,
        // in bgpdump's way of counting).
        if let Some(path) = v.as_path {
            if a.width == 2 && self.merge_as4(a) {
                push_as_path(out, &self.merged, 4);
            } else {
                push_as_path(out, path, a.width);
            }
        }
        out.push(b'|');
        out.extend_from_slice(match v.origin.map(|o| o.first().copied().unwrap_or(0)) {
            Some(0) => b"IGP",
            Some(1) => b"EGP",
            _ => b"INCOMPLETE",
        });
        out.push(b'|');
        match nh {
            NextHopRule::TableDump => match v.mp_reach.and_then(table_dump_v6_next_hop) {
                Some(b) => push_ipv6_bgpdump(out, b),
                None => push_ipv4(out, v.next_hop.map_or([255; 4], be4)),
            },
            NextHopRule::NextHop => push_ipv4(out, v.next_hop.map_or([255; 4], be4)),
            NextHopRule::Given(b, true) => push_ipv6_bgpdump(out, padded16(b)),
            NextHopRule::Given(b, false) => push_ipv4(out, be4(b)),
        }
        out.push(b'|');
        for value in [v.local_pref, v.med] {
            let n = value.map_or(0, |b| u32::from_be_bytes(be4(b)));
            match numbers {
                Numbers::Unsigned => push_u32(out, n),
                Numbers::Signed => push_i32(out, n),
            }
            out.push(b'|');
        }
        if let Some(c) = v.communities {
            push_communities(out, c);
        }
        out.push(b'|');
        out.extend_from_slice(if v.atomic_aggregate { b"AG|" } else { b"NAG|" });
        if let Some((asn, addr)) = self.aggregator(a) {
            if addr != [255; 4] {
                push_u32(out, asn);
                out.push(b' ');
                push_ipv4(out, addr);
            }
        }
        out.extend_from_slice(b"|\n");
    }

    /// AGGREGATOR, replaced by AS4_AGGREGATOR in 2-octet records when it
    /// holds AS_TRANS (RFC 6793 §4.2.3).
    fn aggregator(&self, a: &Attrs<'_>) -> Option<(u32, [u8; 4])> {
        let read = |b: &[u8], width: usize| {
            let mut padded = [0u8; 8];
            for (d, s) in padded.iter_mut().zip(b) {
                *d = *s;
            }
            let (asn, addr) = padded.split_at(width);
            (asn_of_padded(asn), be4(addr))
        };
        let agg = a.view.aggregator.map(|b| read(b, a.width));
        if a.width == 2 {
            if let (Some((AS_TRANS, _)), Some(as4)) = (agg, a.view.as4_aggregator) {
                return Some(read(as4, 4));
            }
        }
        agg
    }

    /// bgpdump's AS4_PATH merge (RFC 6793 §4.2.3 as bgpdump counts): keep
    /// the first (AS_PATH count − AS4_PATH count) ASes of AS_PATH, then
    /// append AS4_PATH. Writes the merged path into `merged`; false when no
    /// merge applies.
    fn merge_as4(&mut self, a: &Attrs<'_>) -> bool {
        let (Some(path), Some(as4)) = (a.view.as_path, a.view.as4_path) else {
            return false;
        };
        // An AGGREGATOR of a real 2-octet AS with an AS4_AGGREGATOR makes
        // bgpdump skip the whole reconciliation, the path included.
        if let (Some(agg), Some(_)) = (a.view.aggregator, a.view.as4_aggregator) {
            let asn = agg
                .first_chunk::<2>()
                .map_or(0, |b| u32::from(u16::from_be_bytes(*b)));
            if asn != AS_TRANS {
                return false;
            }
        }
        let count = as_count(path, 2);
        let count4 = as_count(as4, 4);
        if count < count4 {
            return false;
        }
        let target = count.saturating_sub(count4);
        self.merged.clear();
        let mut have = 0usize;
        let mut r = Reader::new(path, 0);
        while have < target {
            let (Ok(kind), Ok(n)) = (r.u8(), r.u8()) else {
                break;
            };
            let Ok(asns) = r.take(usize::from(n).saturating_mul(2)) else {
                break;
            };
            let mut keep = usize::from(n);
            if matches!(kind, 1 | 4) {
                have = have.saturating_add(1);
            } else {
                have = have.saturating_add(keep);
                if have > target {
                    keep = keep.saturating_sub(have.saturating_sub(target));
                }
            }
            self.merged.push(kind);
            self.merged.push(u8::try_from(keep).unwrap_or(u8::MAX));
            for c in asns.chunks_exact(2).take(keep) {
                self.merged.extend_from_slice(&[0, 0]);
                self.merged.extend_from_slice(c);
            }
        }
        self.merged.extend_from_slice(as4);
        true
    }
}

/// bgpdump's count of an AS path: the length of each sequence, 1 per set;
/// 0 for a path it cannot read.
fn as_count(path: &[u8], width: usize) -> usize {
    let mut r = Reader::new(path, 0);
    let mut count = 0usize;
    while !r.is_empty() {
        let (Ok(kind), Ok(n)) = (r.u8(), r.u8()) else {
            return 0;
        };
        if r.take(usize::from(n).saturating_mul(width)).is_err() || !(1..=4).contains(&kind) {
            return 0;
        }
        count = count.saturating_add(if matches!(kind, 1 | 4) {
            1
        } else {
            usize::from(n)
        });
    }
    count
}

/// Where `inner`, a part of `outer`, starts in it.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// The start of a BGP4MP line.
#[derive(Clone, Copy)]
struct Line {
    format: &'static str,
    time: (u32, Option<u32>),
    peer: IpAddr,
    peer_as: u32,
}

impl Line {
    /// `FORMAT|time|TYPE|`.
    fn start(&self, out: &mut Vec<u8>, kind: &str) {
        out.extend_from_slice(self.format.as_bytes());
        out.push(b'|');
        push_u32(out, self.time.0);
        if let Some(us) = self.time.1 {
            out.push(b'.');
            push_padded(out, us, 6);
        }
        out.push(b'|');
        out.extend_from_slice(kind.as_bytes());
        out.push(b'|');
    }

    /// `peer|peer_as|`.
    fn peer_fields(&self, out: &mut Vec<u8>) {
        push_ip(out, &self.peer);
        out.push(b'|');
        push_u32(out, self.peer_as);
        out.push(b'|');
    }
}

#[derive(Clone, Copy)]
enum Announce<'a> {
    /// The NLRI field: NEXT_HOP.
    Classic,
    /// IPv4 in MP_REACH_NLRI, with its next hop.
    MpV4(&'a [u8]),
    /// IPv6 in MP_REACH_NLRI, with its (global) next hop.
    V6(&'a [u8]),
}

#[derive(Clone, Copy)]
enum NextHopRule<'a> {
    /// Table dumps: MP_REACH_NLRI's IPv6 next hop if there is one, else NEXT_HOP.
    TableDump,
    /// NEXT_HOP.
    NextHop,
    /// This address; IPv6 when true.
    Given(&'a [u8], bool),
}

#[derive(Clone, Copy)]
enum Numbers {
    Unsigned,
    /// bgpdump prints LOCAL_PREF and MED of IPv4 routes in MP_REACH_NLRI with `%d`.
    Signed,
}

/// MP_UNREACH_NLRI: AFI and the withdrawn routes; `None` for the
/// families bgpdump ignores.
fn mp_unreach(v: &[u8], base: usize) -> Result<Option<(u16, Reader<'_>)>, At> {
    let mut r = Reader::new(v, base);
    let afi = r.u16().map_err(truncated("MP_UNREACH_NLRI AFI"))?;
    let safi = r.u8().map_err(truncated("MP_UNREACH_NLRI SAFI"))?;
    if !(1..=2).contains(&afi) || !(1..=3).contains(&safi) {
        return Ok(None);
    }
    Ok(Some((afi, r)))
}

/// MP_REACH_NLRI of an UPDATE: AFI, next hop and the announced
/// routes; `None` for the families bgpdump ignores and for the short form
/// of table dumps (next hop only), which announces nothing.
#[allow(clippy::type_complexity)]
fn mp_reach(v: &[u8], base: usize) -> Result<Option<(u16, &[u8], Reader<'_>)>, At> {
    if v.first().is_some_and(|b| *b != 0) {
        return Ok(None);
    }
    let mut r = Reader::new(v, base);
    let afi = r.u16().map_err(truncated("MP_REACH_NLRI AFI"))?;
    let safi = r.u8().map_err(truncated("MP_REACH_NLRI SAFI"))?;
    if !(1..=2).contains(&afi) || !(1..=3).contains(&safi) {
        return Ok(None);
    }
    let len_at = r.offset();
    let len = r.u8().map_err(truncated("MP_REACH_NLRI next hop length"))?;
    let ok = if afi == 1 {
        len == 4
    } else {
        len == 16 || len == 32
    };
    if !ok {
        return Err(At::malformed(len_at, "MP_REACH_NLRI next hop length"));
    }
    let nh = r
        .take(usize::from(len))
        .map_err(truncated("MP_REACH_NLRI next hop"))?;
    let snpa = r.u8().map_err(truncated("MP_REACH_NLRI reserved octet"))?;
    for _ in 0..snpa {
        let n = r.u8().map_err(truncated("SNPA length"))?;
        r.take(usize::from(n)).map_err(truncated("SNPA"))?;
    }
    Ok(Some((afi, nh, r)))
}

/// The IPv6 next hop bgpdump prints for a table dump: that of an
/// MP_REACH_NLRI in the short form of RFC 6396 §4.3.4 (first octet, the
/// next hop length, not 0), or of a whole one of IPv6 unicast.
fn table_dump_v6_next_hop(v: &[u8]) -> Option<[u8; 16]> {
    match v.first()? {
        0 => {
            let head = v.get(..4)?;
            if head != [0, 2, 1, 16] && head != [0, 2, 1, 32] {
                return None;
            }
            Some(padded16(v.get(4..).unwrap_or(&[])))
        }
        _ => Some(padded16(v.get(1..).unwrap_or(&[]))),
    }
}

/// Check that a prefix list is well formed, so that no line of a broken
/// UPDATE is printed.
fn check_prefixes(mut r: Reader<'_>, v6: bool, add_path: bool) -> Result<(), At> {
    while !r.is_empty() {
        if add_path {
            r.u32().map_err(truncated("path identifier"))?;
        }
        let at = r.offset();
        let len = r.u8().map_err(truncated("prefix length"))?;
        if len > if v6 { 128 } else { 32 } {
            return Err(At::malformed(at, "prefix length"));
        }
        r.take(usize::from(len).div_ceil(8))
            .map_err(truncated("prefix"))?;
    }
    Ok(())
}

/// The next prefix of a checked list: path id, prefix, and its raw form.
#[allow(clippy::type_complexity)]
fn next_prefix<'a>(
    r: &mut Reader<'a>,
    v6: bool,
    add_path: bool,
) -> Option<(Option<u32>, Prefix, (u8, &'a [u8]))> {
    if r.is_empty() {
        return None;
    }
    let id = if add_path { Some(r.u32().ok()?) } else { None };
    let len = r.u8().ok()?;
    let bytes = r.take(usize::from(len).div_ceil(8)).ok()?;
    let prefix = prefix_from(bytes, len, v6)?;
    Some((id, prefix, (len, bytes)))
}

fn push_path_id_tail(out: &mut Vec<u8>, id: Option<u32>) {
    if let Some(id) = id {
        out.push(b'|');
        push_u32(out, id);
    }
    out.push(b'\n');
}

/// A value of up to 4 bytes as bgpdump reads it: missing bytes are zeros.
fn be4(b: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

fn padded16(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

fn asn_of_padded(b: &[u8]) -> u32 {
    match *b {
        [x, y] => u32::from(u16::from_be_bytes([x, y])),
        [x, y, z, w] => u32::from_be_bytes([x, y, z, w]),
        _ => 0,
    }
}

/// `prefix/len` from the bytes as written, host bits included.
fn push_raw_prefix(out: &mut Vec<u8>, (len, bytes): (u8, &[u8]), v6: bool) {
    if v6 {
        push_ipv6_bgpdump(out, padded16(bytes));
    } else {
        push_ipv4(out, be4(bytes));
    }
    out.push(b'/');
    push_u32(out, u32::from(len));
}

fn push_ip(out: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => push_ipv4(out, a.octets()),
        IpAddr::V6(a) => push_ipv6_bgpdump(out, a.octets()),
    }
}

fn push_i32(out: &mut Vec<u8>, n: u32) {
    let signed = n as i32;
    if signed < 0 {
        out.push(b'-');
        push_u32(out, signed.unsigned_abs());
    } else {
        push_u32(out, n);
    }
}

fn push_ipv4(out: &mut Vec<u8>, a: [u8; 4]) {
    text::push_ipv4(out, Ipv4Addr::from(a));
}

/// IPv6 text as bgpdump writes it: lower-case groups without leading
/// zeros, the longest run of zero groups (the first of equal ones, even a
/// single group) as `::`, IPv4-mapped and IPv4-compatible addresses with a
/// dotted quad.
pub fn push_ipv6_bgpdump(out: &mut Vec<u8>, a: [u8; 16]) {
    let words: [u16; 8] = std::array::from_fn(|i| {
        let hi = a.get(i.saturating_mul(2)).copied().unwrap_or(0);
        let lo = a
            .get(i.saturating_mul(2).saturating_add(1))
            .copied()
            .unwrap_or(0);
        u16::from_be_bytes([hi, lo])
    });
    let v4 = [
        a.get(12).copied().unwrap_or(0),
        a.get(13).copied().unwrap_or(0),
        a.get(14).copied().unwrap_or(0),
        a.get(15).copied().unwrap_or(0),
    ];
    let first_five_zero = words.iter().take(5).all(|w| *w == 0);
    let mapped = first_five_zero && words.get(5) == Some(&0xffff);
    // IN6_IS_ADDR_V4COMPAT: 96 zero bits, then neither 0 nor 1.
    let compat = first_five_zero && words.get(5) == Some(&0) && u32::from_be_bytes(v4) > 1;
    if mapped || compat {
        out.extend_from_slice(if mapped { b"::ffff:" } else { b"::" });
        push_ipv4(out, v4);
        return;
    }
    // The longest run of zero groups, the first one on a tie.
    let (mut best_at, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0usize;
    while i < 8 {
        if words.get(i) == Some(&0) {
            let run = words.iter().skip(i).take_while(|w| **w == 0).count();
            if run > best_len {
                best_at = i;
                best_len = run;
            }
            i = i.saturating_add(run);
        } else {
            i = i.saturating_add(1);
        }
    }
    let mut i = 0usize;
    while i < 8 {
        if i == best_at {
            if i == 0 {
                out.push(b':');
            }
            out.push(b':');
            i = i.saturating_add(best_len);
            continue;
        }
        push_hex16(out, words.get(i).copied().unwrap_or(0));
        if i != 7 {
            out.push(b':');
        }
        i = i.saturating_add(1);
    }
}

fn push_hex16(out: &mut Vec<u8>, w: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let d = usize::from((w >> shift) & 0xf);
        if d != 0 || started || shift == 0 {
            started = true;
            out.push(HEX.get(d).copied().unwrap_or(b'0'));
        }
    }
}

/// bgpdump's AS path text: AS_SEQUENCE `1 2`, AS_SET `{1,2}`,
/// AS_CONFED_SEQUENCE `(1 2)`, AS_CONFED_SET `[1,2]`, segments separated by
/// a space; `! Error !` for a path it cannot read; `...` after 7900 bytes.
fn push_as_path(out: &mut Vec<u8>, path: &[u8], width: usize) {
    let start = out.len();
    let close = |kind: u8| match kind {
        1 => b'}',
        4 => b']',
        3 => b')',
        _ => b' ',
    };
    let open = |kind: u8| match kind {
        1 => b'{',
        4 => b'[',
        3 => b'(',
        _ => b' ',
    };
    let mut r = Reader::new(path, 0);
    let mut prev = 2u8;
    let mut space = false;
    let mut any = false;
    while !r.is_empty() {
        let (Ok(kind), Ok(n)) = (r.u8(), r.u8()) else {
            out.truncate(start);
            out.extend_from_slice(b"! Error !");
            return;
        };
        let asns = match r.take(usize::from(n).saturating_mul(width)) {
            Ok(a) if (1..=4).contains(&kind) => a,
            _ => {
                out.truncate(start);
                out.extend_from_slice(b"! Error !");
                return;
            }
        };
        any = true;
        if prev != 2 {
            out.push(close(prev));
        }
        if space {
            out.push(b' ');
        }
        if kind != 2 {
            out.push(open(kind));
        }
        space = false;
        for c in asns.chunks_exact(width) {
            if space {
                out.push(if matches!(kind, 1 | 4) { b',' } else { b' ' });
            } else {
                space = true;
            }
            push_u32(out, asn_of_padded(c));
            if out.len().saturating_sub(start) > MAX_AS_PATH_TEXT {
                out.extend_from_slice(b"...");
                return;
            }
        }
        prev = kind;
    }
    if any && prev != 2 {
        out.push(close(prev));
    }
}

/// COMMUNITIES as bgpdump writes them: `65000:1 no-export`, the names of
/// NO_EXPORT, NO_ADVERTISE and 0xFFFFFF03 (`local-AS`) only.
fn push_communities(out: &mut Vec<u8>, value: &[u8]) {
    // bgpdump builds " a:b c:d" in an 8192-byte buffer (strlcat for the
    // names, which leaves the buffer as it was when a name does not fit;
    // snprintf for the numbers, which cuts them short), then prints it
    // without its first character.
    let start = out.len();
    let limit = start.saturating_add(COMMUNITY_BUF.saturating_sub(1));
    for c in value.chunks_exact(4) {
        let before = out.len();
        let v = u32::from_be_bytes(be4(c));
        let named = match v {
            0xFFFF_FF01 => Some(&b" no-export"[..]),
            0xFFFF_FF02 => Some(&b" no-advertise"[..]),
            0xFFFF_FF03 => Some(&b" local-AS"[..]),
            _ => None,
        };
        match named {
            Some(text) => {
                out.extend_from_slice(text);
                if out.len() > limit {
                    out.truncate(before);
                }
            }
            None => {
                out.push(b' ');
                push_u32(out, v >> 16);
                out.push(b':');
                push_u32(out, v & 0xffff);
                if out.len() > limit {
                    out.truncate(limit);
                }
            }
        }
    }
    if out.len() > start {
        out.remove(start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> String {
        let mut out = Vec::new();
        push_ipv6_bgpdump(&mut out, s.parse::<std::net::Ipv6Addr>().unwrap().octets());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ipv6_text_follows_bgpdump() {
        // bgpdump's own checks (bgpdump -T) and its differences from RFC 5952.
        for s in [
            "fe80::",
            "2001:db8::1",
            "::ffff:192.168.2.1",
            "::192.168.1.2",
            "2001:7f8:30::2:1:0:8447",
            "::",
            "::1",
        ] {
            assert_eq!(v6(s), s);
        }
        // One zero group is compressed too (RFC 5952 §4.2.2 would not).
        assert_eq!(v6("2001:db8:0:1:1:1:1:1"), "2001:db8::1:1:1:1:1");
        // The first of two equal runs.
        assert_eq!(v6("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
    }

    fn path(segments: &[(u8, &[u32])], width: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for (kind, asns) in segments {
            b.push(*kind);
            b.push(asns.len() as u8);
            for a in *asns {
                if width == 2 {
                    b.extend_from_slice(&(*a as u16).to_be_bytes());
                } else {
                    b.extend_from_slice(&a.to_be_bytes());
                }
            }
        }
        b
    }

    fn text(segments: &[(u8, &[u32])]) -> String {
        let mut out = Vec::new();
        push_as_path(&mut out, &path(segments, 4), 4);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn as_path_text_follows_bgpdump() {
        assert_eq!(text(&[(2, &[1, 2]), (1, &[3, 4])]), "1 2 {3,4}");
        assert_eq!(
            text(&[(3, &[1, 2]), (4, &[3, 4]), (2, &[5])]),
            "(1 2) [3,4] 5"
        );
        assert_eq!(text(&[(1, &[3]), (1, &[4])]), "{3} {4}");
        assert_eq!(text(&[]), "");
        // An empty set then a sequence: bgpdump writes no space between.
        assert_eq!(text(&[(1, &[]), (2, &[5])]), "{}5");
        let mut out = Vec::new();
        push_as_path(&mut out, &[2, 2, 0, 0, 0, 1], 4);
        assert_eq!(out, b"! Error !");
        let long: Vec<u32> = (0..255).map(|i| 4_200_000_000 + i).collect();
        let mut out = Vec::new();
        push_as_path(
            &mut out,
            &path(&[(2, &long), (2, &long), (2, &long), (2, &long)], 4),
            4,
        );
        assert!(out.ends_with(b"..."));
        assert!(out.len() < 8000);
    }

    #[test]
    fn communities_and_numbers() {
        let mut out = Vec::new();
        let c: Vec<u8> = [0xFFFF_FF01u32, 0xFFFF_FF03, 0xFFFF_029A, (65000 << 16) | 1]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        push_communities(&mut out, &c);
        assert_eq!(out, b"no-export local-AS 65535:666 65000:1");
        let mut out = Vec::new();
        push_i32(&mut out, 4_000_000_000);
        out.push(b' ');
        push_u32(&mut out, u32::MAX);
        out.push(b' ');
        push_padded(&mut out, 5, 6);
        assert_eq!(out, b"-294967296 4294967295 000005");
    }

    #[test]
    fn as4_path_merge_counts_like_bgpdump() {
        let mut f = Bgpdump::new();
        let as_path = path(&[(2, &[65009, 23456]), (1, &[1, 2])], 2);
        let as4 = path(&[(2, &[4_200_000_009]), (1, &[1, 2])], 4);
        let attrs = Attrs {
            view: AttrView {
                as_path: Some(&as_path),
                as4_path: Some(&as4),
                ..AttrView::default()
            },
            width: 2,
        };
        assert!(f.merge_as4(&attrs));
        let mut out = Vec::new();
        push_as_path(&mut out, &f.merged, 4);
        assert_eq!(out, b"65009 4200000009 {1,2}");
        // AS4_PATH longer than AS_PATH: ignored.
        let long4 = path(&[(2, &[1, 2, 3, 4])], 4);
        let attrs = Attrs {
            view: AttrView {
                as_path: Some(&as_path),
                as4_path: Some(&long4),
                ..AttrView::default()
            },
            width: 2,
        };
        assert!(!f.merge_as4(&attrs));
    }
}
