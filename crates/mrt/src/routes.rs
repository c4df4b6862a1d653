//! One owned [`Route`] per path of a table dump, every attribute decoded,
//! attribute sets decoded once and shared.
//!
//! A TABLE_DUMP_V2 file holds each peer's path to each prefix, and the
//! same attribute field often comes back: consecutive prefixes a peer
//! learned over one path with one origin carry byte-identical attributes.
//! [`Routes`] reads the RIB records through the zero-copy views of
//! [`crate::view`], compares each entry's attribute bytes with the last
//! field of the same peer, and decodes them with the BGP codec (exactly as
//! [`crate::RawRecord::decode`] does, the buffers reused) unless they are
//! the same for the third time or more in a row: the paths of such a run
//! share one [`PathAttributes`] behind an [`Arc`]. Memory stays constant:
//! one record and one attribute field per peer.

use std::io::Read;
use std::sync::Arc;

use ribbit_wire::{AttributeIssue, Family, NextHop, PathAttributes, Prefix};

use crate::attrs::AttrDecoder;
use crate::error::{At, Error};
use crate::reader::MrtReader;
use crate::table_dump_v2::{subtype, Peer, TableDumpV2};
use crate::view::{Entries, RibView};
use crate::Body;

/// One path to one prefix, from a TABLE_DUMP_V2 RIB record: what the
/// record and its PEER_INDEX_TABLE say about it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The record's timestamp: when the dump was made.
    pub timestamp: u32,
    /// The peer the path was learned from, from the PEER_INDEX_TABLE.
    pub peer: Peer,
    /// The peer's index in the PEER_INDEX_TABLE.
    pub peer_index: u16,
    /// The family of the RIB record.
    pub family: Family,
    /// The prefix, host bits cleared.
    pub prefix: Prefix,
    /// The ADD-PATH path identifier (RFC 8050), in the ADD-PATH subtypes.
    pub path_id: Option<u32>,
    /// When the route was received, seconds since the Unix epoch.
    pub originated: u32,
    /// The path attributes, AS numbers in 4 octets; shared with the other
    /// routes whose attribute field is byte for byte the same.
    pub attributes: Arc<PathAttributes>,
    /// The next hop of the MP_REACH_NLRI attribute (RFC 6396 §4.3.4).
    pub mp_next_hop: Option<NextHop>,
    /// RFC 7606 findings of the BGP codec about the attributes; their
    /// offsets count from the start of the entry's attribute field.
    pub issues: Vec<AttributeIssue>,
}

impl Route {
    /// The next hop: MP_REACH_NLRI's if there is one, else NEXT_HOP's.
    pub fn next_hop(&self) -> Option<NextHop> {
        self.mp_next_hop
            .or_else(|| self.attributes.next_hop.map(NextHop::V4))
    }
}

/// How a [`Routes`] went through its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Routes handed out.
    pub routes: u64,
    /// Attribute fields decoded.
    pub decoded: u64,
    /// Routes whose attributes are those of the peer's previous route,
    /// not decoded again (from the third path of a run of identical
    /// attribute fields on).
    pub shared: u64,
    /// Records that hold no routes of a table dump (BGP4MP, TABLE_DUMP,
    /// RIB_GENERIC of families other than IP unicast and multicast...).
    pub skipped_records: u64,
}

/// The routes of the TABLE_DUMP_V2 RIB records of an MRT stream, in file
/// order, each with its peer and its decoded attributes.
///
/// Records of other types, and RIB_GENERIC records of families other than
/// IPv4 and IPv6 unicast and multicast, are skipped and counted in
/// [`RouteStats::skipped_records`]; read them with [`MrtReader`]. A
/// malformed entry yields an `Err` and ends its record (the entries have
/// no framing of their own), and reading goes on with the next record, as
/// [`MrtReader`] does.
pub struct Routes<R: Read> {
    reader: MrtReader<R>,
    peers: Vec<Peer>,
    decoder: AttrDecoder,
    cache: AttrCache,
    /// Where the next entry of the current RIB record is.
    cursor: Option<Cursor>,
    stats: RouteStats,
}

/// A position in the RIB record the reader holds, and what the record
/// says of all its entries.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    position: (usize, u16),
    add_path: bool,
    family: Family,
    prefix: Prefix,
}

impl<R: Read> Routes<R> {
    /// The routes of `reader`, sharing attributes between consecutive
    /// paths of a peer.
    pub fn new(reader: MrtReader<R>) -> Self {
        Routes::with_sharing(reader, true)
    }

    /// The routes of `reader`; with `share` false, every attribute field is
    /// decoded on its own and no route shares its attributes.
    pub fn with_sharing(reader: MrtReader<R>, share: bool) -> Self {
        Routes {
            reader,
            peers: Vec::new(),
            decoder: AttrDecoder::default(),
            cache: AttrCache::new(share),
            cursor: None,
            stats: RouteStats::default(),
        }
    }

    /// What was read so far.
    pub fn stats(&self) -> RouteStats {
        self.stats
    }

    /// The peers of the last PEER_INDEX_TABLE read.
    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    /// The next route; `Ok(None)` at the end of the stream.
    pub fn next_route(&mut self) -> Result<Option<Route>, Error> {
        loop {
            if let Some(route) = self.next_in_record()? {
                self.stats.routes = self.stats.routes.saturating_add(1);
                return Ok(Some(route));
            }
            if !self.read_record()? {
                return Ok(None);
            }
        }
    }

    /// The next route of the current record; `Ok(None)` when it has no
    /// more.
    fn next_in_record(&mut self) -> Result<Option<Route>, Error> {
        let Some(c) = self.cursor.take() else {
            return Ok(None);
        };
        let Some(raw) = self.reader.current() else {
            return Ok(None);
        };
        let mut entries = Entries::resume(raw.message, c.position, c.add_path, raw.offset);
        let e = match entries.next() {
            Some(e) => e?,
            None => return Ok(None),
        };
        let at = |a: At| At::new(a.offset.saturating_add(e.attributes_at), a.kind).at(raw.offset);
        let Some(peer) = self.peers.get(usize::from(e.peer_index)).copied() else {
            // The peer index opens the entry (RFC 6396 §4.3.4): peer index
            // (2), originated time (4), path identifier (4, ADD-PATH only),
            // attribute length (2), then the attributes.
            let head = if c.add_path { 12 } else { 8 };
            let entry_at = e.attributes_at.saturating_sub(head);
            let err = At::malformed(entry_at, "peer index not in the PEER_INDEX_TABLE");
            return Err(err.at(raw.offset));
        };
        let again = match self.cache.lookup(e.peer_index, e.attributes) {
            Lookup::Hit(s) => Some(s.clone()),
            Lookup::Again => None,
            Lookup::Miss => None,
        };
        let shared = match again {
            Some(s) => {
                self.stats.shared = self.stats.shared.saturating_add(1);
                s
            }
            None => {
                // Offsets from the start of the field, so that the result
                // does not depend on where it was found.
                let mp_next_hop = self.decoder.parse(e.attributes, 0, true).map_err(at)?;
                self.stats.decoded = self.stats.decoded.saturating_add(1);
                let s = Shared {
                    attributes: Arc::new(self.decoder.take_attributes()),
                    mp_next_hop,
                    issues: self.decoder.take_issues(),
                };
                self.cache.note(e.peer_index, e.attributes, &s);
                s
            }
        };
        self.cursor = Some(Cursor {
            position: entries.suspend(),
            ..c
        });
        Ok(Some(Route {
            timestamp: raw.timestamp,
            peer,
            peer_index: e.peer_index,
            family: c.family,
            prefix: c.prefix,
            path_id: e.path_id,
            originated: e.originated,
            attributes: shared.attributes,
            mp_next_hop: shared.mp_next_hop,
            issues: shared.issues,
        }))
    }

    /// Read the next record: a PEER_INDEX_TABLE is kept, a RIB record
    /// becomes the current one, others are counted. `false` at the end.
    fn read_record(&mut self) -> Result<bool, Error> {
        self.cursor = None;
        let Some(raw) = self.reader.next_raw()? else {
            return Ok(false);
        };
        if raw.mrt_type == crate::mrt_type::TABLE_DUMP_V2
            && raw.subtype == subtype::PEER_INDEX_TABLE
        {
            if let Body::TableDumpV2(TableDumpV2::PeerIndexTable(t)) = raw.decode()?.body {
                self.peers = t.peers;
            }
            return Ok(true);
        }
        match RibView::of(&raw) {
            Some(rib) => {
                let rib = rib?;
                self.cursor = Some(Cursor {
                    position: rib.entries().suspend(),
                    add_path: rib.add_path,
                    family: rib.family,
                    prefix: rib.prefix,
                });
            }
            None => {
                self.stats.skipped_records = self.stats.skipped_records.saturating_add(1);
            }
        }
        Ok(true)
    }
}

impl<R: Read> Iterator for Routes<R> {
    type Item = Result<Route, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_route().transpose()
    }
}

impl<R: Read> std::fmt::Debug for Routes<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("reader", &self.reader)
            .field("cursor", &self.cursor)
            .field("peers", &self.peers.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A decoded attribute field, as routes and the cache hold it.
#[derive(Debug, Clone)]
struct Shared {
    attributes: Arc<PathAttributes>,
    mp_next_hop: Option<NextHop>,
    issues: Vec<AttributeIssue>,
}

/// One peer's last attribute field, and its decoding once the same bytes
/// came twice in a row.
#[derive(Debug, Default)]
struct Slot {
    key: Vec<u8>,
    value: Option<Shared>,
}

/// What the cache knows of an attribute field.
enum Lookup<'a> {
    /// The peer's last field had these bytes, decoded here.
    Hit(&'a Shared),
    /// The peer's last field had these bytes: a run starts, keep them.
    Again,
    /// Something else.
    Miss,
}

/// The last attribute field of each peer, by peer index.
///
/// A dump lists prefixes in order, and the prefixes next to each other
/// often come from the same origin over the same path: one peer's entries
/// in consecutive records then carry the same attribute bytes. The cache
/// remembers each peer's last field, and keeps its decoding (a reference
/// to the shared attributes) only once the same bytes came twice in a row:
/// a table where no two neighbours share costs a copy and a comparison of
/// the bytes per path, and no reference held back. A cache keyed by hash
/// over the whole table was measured slower than decoding (see
/// docs/benchmarks.md): its lookups miss the processor's caches.
#[derive(Debug)]
struct AttrCache {
    enabled: bool,
    slots: Vec<Slot>,
}

impl AttrCache {
    fn new(enabled: bool) -> AttrCache {
        AttrCache {
            enabled,
            slots: Vec::new(),
        }
    }

    fn lookup(&self, peer: u16, key: &[u8]) -> Lookup<'_> {
        match self.slots.get(usize::from(peer)) {
            Some(s) if self.enabled && s.key == key => match &s.value {
                Some(v) => Lookup::Hit(v),
                None => Lookup::Again,
            },
            _ => Lookup::Miss,
        }
    }

    /// A field of `peer` was decoded into `value`: keep its bytes, and the
    /// value too when the bytes are the peer's last ones.
    fn note(&mut self, peer: u16, key: &[u8], value: &Shared) {
        if !self.enabled {
            return;
        }
        let i = usize::from(peer);
        if self.slots.len() <= i {
            // At most 65,536 slots: the peer index is 16 bits.
            self.slots.resize_with(i.saturating_add(1), Slot::default);
        }
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if slot.key == key {
            slot.value = Some(value.clone());
        } else {
            slot.key.clear();
            slot.key.extend_from_slice(key);
            slot.value = None;
        }
    }
}

#[cfg(test)]
mod tests;
