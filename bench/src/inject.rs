//! The load generator: UPDATEs built from an MRT table dump, grouped by
//! attribute set and encoded before any connection is made, then written
//! as fast as the target reads them.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::sync::Mutex;

use std::thread;
use std::time::Instant;

use ribbit_mrt::{Body, MrtReader, RibNlri, TableDumpV2};
use ribbit_wire::attribute::Community;
use ribbit_wire::nlri::PrefixNlri;
use ribbit_wire::Prefix;
use ribbit_wire::{
    EncodeContext, Family, Message, NextHop, NlriList, PathAttributes, Update, UpdatePacker,
};

/// One peer of the dump, with its routes ready to send.
#[derive(Debug, Clone)]
pub struct PeerLoad {
    /// The peer's address in the dump (the injector sends from it).
    pub address: IpAddr,
    /// The peer's AS (the injector's AS on the session).
    pub asn: u32,
    /// The peer's BGP identifier.
    pub router_id: Ipv4Addr,
    /// Every UPDATE, back to back.
    pub updates: Vec<u8>,
    /// How many UPDATEs.
    pub update_count: usize,
    /// How many prefixes they announce.
    pub prefixes: usize,
    /// Distinct attribute sets (one group of UPDATEs each).
    pub sets: usize,
    /// The End-of-RIB markers of the families sent.
    pub end_of_rib: Vec<u8>,
    /// The families announced.
    pub families: Vec<Family>,
    /// Churn: UPDATEs withdrawing every [`CHURN_EVERY`]th prefix of the dump.
    pub churn_withdraw: Vec<u8>,
    /// Churn: UPDATEs announcing them again, with [`CHURN_MARK`] added.
    pub churn_announce: Vec<u8>,
    /// The churned prefixes.
    pub churned: Vec<Prefix>,
}

/// Errors while preparing the load.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The dump could not be read.
    #[error("{0}")]
    Mrt(#[from] ribbit_mrt::Error),
    /// I/O on the dump.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A RIB entry names a peer the PEER_INDEX_TABLE does not have.
    #[error("RIB entry for peer index {0}, which the peer index table does not list")]
    UnknownPeer(u16),
    /// An attribute set too large for one UPDATE.
    #[error("{0}")]
    TooLarge(#[from] ribbit_wire::pack::TooLarge),
}

/// A peer of the dump, its groups by encoded attribute set, and the groups.
type PeerGroups = (ribbit_mrt::Peer, HashMap<Vec<u8>, usize>, Vec<Group>);

struct Group {
    family: Family,
    attributes: PathAttributes,
    next_hop: NextHop,
    nlri: Vec<PrefixNlri>,
    /// The group's prefixes chosen for churn (also in `nlri`).
    churn: Vec<PrefixNlri>,
}

/// The community that marks re-announced routes in the churn scenario
/// (64999:1), so that the monitor can tell the new version from the old.
pub const CHURN_MARK: Community = Community(0xFDE7_0001);

/// Every how many prefixes of the dump one is churned (10 %).
pub const CHURN_EVERY: usize = 10;

/// The load of every peer of a dump.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// One load per peer, in PEER_INDEX_TABLE order.
    pub peers: Vec<PeerLoad>,
    /// Distinct prefixes in the dump (RIB records).
    pub prefixes: usize,
}

/// Read the dump and build each peer's UPDATEs with `ctx` (the encoding the
/// session will negotiate: 4-octet AS, 4096-byte messages).
pub fn prepare(dump: impl Read, ctx: EncodeContext) -> Result<Prepared, PrepareError> {
    let mut distinct = 0usize;
    let mut peers: Vec<PeerGroups> = Vec::new();
    let mut key = Vec::with_capacity(128);
    for record in MrtReader::new(dump)? {
        match record?.body {
            Body::TableDumpV2(TableDumpV2::PeerIndexTable(t)) => {
                peers = t
                    .peers
                    .into_iter()
                    .map(|p| (p, HashMap::new(), Vec::new()))
                    .collect();
            }
            Body::TableDumpV2(TableDumpV2::Rib(rib)) => {
                let RibNlri::Prefix(prefix) = rib.nlri else {
                    continue;
                };
                let churned = distinct.is_multiple_of(CHURN_EVERY);
                distinct += 1;
                for e in rib.entries {
                    let Some((_, index, groups)) = peers.get_mut(usize::from(e.peer_index)) else {
                        return Err(PrepareError::UnknownPeer(e.peer_index));
                    };
                    let Some(next_hop) = e.next_hop() else {
                        continue;
                    };
                    key.clear();
                    key.extend_from_slice(&rib.family.afi.0.to_be_bytes());
                    key.push(rib.family.safi.0);
                    key.extend_from_slice(next_hop.to_string().as_bytes());
                    e.attributes.encode(true, &mut key);
                    let nlri = PrefixNlri {
                        path_id: e.path_id,
                        prefix,
                    };
                    let g = match index.get(&key) {
                        Some(&g) => g,
                        None => {
                            index.insert(key.clone(), groups.len());
                            let mut attributes = e.attributes;
                            attributes.next_hop = None;
                            groups.push(Group {
                                family: rib.family,
                                attributes,
                                next_hop,
                                nlri: Vec::new(),
                                churn: Vec::new(),
                            });
                            groups.len() - 1
                        }
                    };
                    groups[g].nlri.push(nlri);
                    if churned {
                        groups[g].churn.push(nlri);
                    }
                }
            }
            _ => {}
        }
    }
    let packer = UpdatePacker::new(ctx);
    let mut out = Vec::with_capacity(peers.len());
    for (peer, _, groups) in peers {
        let mut updates = Vec::new();
        let mut update_count = 0;
        let mut prefixes = 0;
        let mut families: Vec<Family> = Vec::new();
        for g in &groups {
            prefixes += g.nlri.len();
            if !families.contains(&g.family) {
                families.push(g.family);
            }
            update_count += packer.announce(
                g.family,
                &g.attributes,
                g.next_hop,
                &NlriList::Prefixes(g.nlri.clone()),
                &mut updates,
            )?;
        }
        let mut end_of_rib = Vec::new();
        for f in &families {
            Message::Update(Update::end_of_rib(*f)).encode(&ctx, &mut end_of_rib);
        }
        let mut churn_withdraw = Vec::new();
        let mut churn_announce = Vec::new();
        let mut churned = Vec::new();
        for f in &families {
            let mine: Vec<PrefixNlri> = groups
                .iter()
                .filter(|g| g.family == *f)
                .flat_map(|g| g.churn.iter().copied())
                .collect();
            churned.extend(mine.iter().map(|n| n.prefix));
            packer.withdraw(*f, &NlriList::Prefixes(mine), &mut churn_withdraw)?;
        }
        for g in groups.iter().filter(|g| !g.churn.is_empty()) {
            let mut attributes = g.attributes.clone();
            attributes.communities.push(CHURN_MARK);
            packer.announce(
                g.family,
                &attributes,
                g.next_hop,
                &NlriList::Prefixes(g.churn.clone()),
                &mut churn_announce,
            )?;
        }
        out.push(PeerLoad {
            address: peer.address,
            asn: peer.asn,
            router_id: peer.bgp_id,
            updates,
            update_count,
            prefixes,
            sets: groups.len(),
            end_of_rib,
            families,
            churn_withdraw,
            churn_announce,
            churned,
        });
    }
    Ok(Prepared {
        peers: out,
        prefixes: distinct,
    })
}

/// Write every UPDATE then the End-of-RIB markers, holding the session's
/// writer for the whole run (the UPDATEs themselves keep the peer's hold
/// timer going). `on_first` gets the instant just before the first byte is
/// written, as soon as it is known; it is also returned.
pub fn send(
    writer: &Mutex<TcpStream>,
    load: &PeerLoad,
    on_first: impl FnOnce(Instant),
) -> io::Result<Instant> {
    let mut w = writer
        .lock()
        .map_err(|_| io::Error::other("writer lock poisoned"))?;
    let first = Instant::now();
    on_first(first);
    // Large writes: the kernel takes what the socket buffer holds, the rest
    // waits for the target to read. 1 MiB per call keeps syscalls few.
    for chunk in load.updates.chunks(1 << 20) {
        w.write_all(chunk)?;
    }
    w.write_all(&load.end_of_rib)?;
    w.flush()?;
    Ok(first)
}

/// Read and drop whatever the target sends back (FRR re-advertises the
/// routes to their sender, RFC 4271 leaves loop detection to the receiver),
/// so that it never blocks on us. Ends when the session closes.
pub fn drain(mut session_reader: crate::session::MessageReader) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut n = 0u64;
        while let Ok(Some(m)) = session_reader.next_message() {
            n += m.len() as u64;
        }
        n
    })
}
