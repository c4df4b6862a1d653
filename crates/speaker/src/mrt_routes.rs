//! The routes of one peer of a table dump (TABLE_DUMP_V2 or TABLE_DUMP),
//! as announcements: what `ribbit mrt replay` sends into a session and what
//! a neighbor's `inject-mrt` injects into the RIB for it. One reader for
//! both, so that a dump means the same routes either way.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use ribbit_mrt::view::RibView;
use ribbit_mrt::{Body, MrtReader, RibNlri, TableDumpV2};
use ribbit_rib::{InjectNextHop, Injection, PeerId};
use ribbit_wire::nlri::PrefixNlri;
use ribbit_wire::{Action, Family, NextHop, NlriList, PathAttributes, Prefix};
use tracing::{info, warn};

use crate::rib_task::{InjectRoutes, RibControl, RibHandle};

/// Why the routes of a dump could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The dump could not be opened or read.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A record of the dump is broken where the routes are read.
    #[error("{path}: byte {}: {}", .source.offset, .source.kind)]
    Dump {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: ribbit_mrt::Error,
    },
    /// The dump has no such peer, or no table.
    #[error("{0}")]
    NoRoutes(String),
}

/// One attribute set of the dump's peer and its prefixes.
#[derive(Debug)]
pub struct Group {
    /// The family.
    pub family: Family,
    /// The attributes, without NEXT_HOP.
    pub attributes: PathAttributes,
    /// The next hop (the dump's, or the one given for the family).
    pub next_hop: NextHop,
    /// The prefixes.
    pub nlri: Vec<PrefixNlri>,
}

/// The routes of one peer of a dump.
#[derive(Debug)]
pub struct Load {
    /// The peer's AS.
    pub asn: u32,
    /// The peer's BGP identifier (TABLE_DUMP, which has none: its IPv4
    /// address, or 192.0.2.1).
    pub router_id: Ipv4Addr,
    /// Its routes, by attribute set.
    pub groups: Vec<Group>,
    /// How many prefixes.
    pub prefixes: usize,
    /// Paths left out: no next hop, treat-as-withdraw, or not a prefix.
    pub skipped: usize,
}

impl Load {
    /// The families of the routes, in order of appearance.
    pub fn families(&self) -> Vec<Family> {
        let mut f: Vec<Family> = Vec::new();
        for g in &self.groups {
            if !f.contains(&g.family) {
                f.push(g.family);
            }
        }
        f
    }
}

/// Collects the routes of one peer, grouped by their attribute bytes, so
/// that each distinct set is decoded once.
struct Collector<'a> {
    index: HashMap<Family, HashMap<Box<[u8]>, Option<usize>>>,
    groups: Vec<Group>,
    next_hops: &'a [IpAddr],
    prefixes: usize,
    skipped: usize,
}

impl Collector<'_> {
    fn add(
        &mut self,
        family: Family,
        bytes: &[u8],
        four_octet_as: bool,
        nlri: PrefixNlri,
    ) -> Result<(), ribbit_mrt::Error> {
        let map = self.index.entry(family).or_default();
        let slot = match map.get(bytes) {
            Some(slot) => *slot,
            None => {
                let (mut attributes, mp, issues) =
                    ribbit_mrt::decode_rib_attributes(bytes, four_octet_as)?;
                // RFC 7606: a path the codec would treat as withdrawn is not sent.
                let slot = if issues.iter().any(|i| i.action != Action::AttributeDiscard) {
                    None
                } else {
                    let dump_nh = mp.or_else(|| attributes.next_hop.map(NextHop::V4));
                    let v6 = family.afi == ribbit_wire::Afi::IPV6;
                    let next_hop = match self.next_hops.iter().find(|a| a.is_ipv6() == v6) {
                        Some(IpAddr::V4(a)) => NextHop::V4(*a),
                        Some(IpAddr::V6(a)) => NextHop::V6 {
                            global: *a,
                            link_local: None,
                        },
                        None => dump_nh.unwrap_or(NextHop::Empty),
                    };
                    attributes.next_hop = None;
                    if next_hop == NextHop::Empty {
                        None
                    } else {
                        self.groups.push(Group {
                            family,
                            attributes,
                            next_hop,
                            nlri: Vec::new(),
                        });
                        Some(self.groups.len().saturating_sub(1))
                    }
                };
                map.insert(bytes.into(), slot);
                slot
            }
        };
        match slot.and_then(|g| self.groups.get_mut(g)) {
            Some(g) => {
                g.nlri.push(nlri);
                self.prefixes = self.prefixes.saturating_add(1);
            }
            None => self.skipped = self.skipped.saturating_add(1),
        }
        Ok(())
    }
}

/// Read the routes of peer `peer_index` of a table dump (its index in the
/// PEER_INDEX_TABLE; for TABLE_DUMP, in order of appearance), streaming:
/// memory holds the peer's routes, not the file. `next_hops` replace the
/// dump's next hops for routes of their address family.
pub fn load(path: &Path, peer_index: usize, next_hops: &[IpAddr]) -> Result<Load, LoadError> {
    let path = &path.to_path_buf();
    let file = File::open(path).map_err(|source| LoadError::Open {
        path: path.clone(),
        source,
    })?;
    let dump_err = |source| LoadError::Dump {
        path: path.clone(),
        source,
    };
    let mut reader =
        MrtReader::new(io::BufReader::new(file)).map_err(|source| LoadError::Open {
            path: path.clone(),
            source,
        })?;
    let mut c = Collector {
        index: HashMap::new(),
        groups: Vec::new(),
        next_hops,
        prefixes: 0,
        skipped: 0,
    };
    let mut me: Option<(u32, Ipv4Addr)> = None;
    let mut v1_peers: Vec<IpAddr> = Vec::new();
    let want = u16::try_from(peer_index).unwrap_or(u16::MAX);
    while let Some(raw) = reader.next_raw().map_err(dump_err)? {
        if let Some(rib) = RibView::of(&raw) {
            let rib = rib.map_err(dump_err)?;
            for e in rib.entries() {
                let e = e.map_err(dump_err)?;
                if e.peer_index != want {
                    continue;
                }
                let nlri = PrefixNlri {
                    path_id: None,
                    prefix: rib.prefix,
                };
                c.add(rib.family, e.attributes, true, nlri)
                    .map_err(|k| dump_err(ribbit_mrt::Error::new(raw.offset, k.kind)))?;
            }
            continue;
        }
        match raw.decode().map_err(dump_err)?.body {
            Body::TableDumpV2(TableDumpV2::PeerIndexTable(t)) => {
                let p = t.peers.get(peer_index).ok_or_else(|| {
                    LoadError::NoRoutes(format!(
                        "the dump has {} peer(s): no peer index {}",
                        t.peers.len(),
                        peer_index
                    ))
                })?;
                me = Some((p.asn, p.bgp_id));
            }
            Body::TableDumpV2(TableDumpV2::Rib(rib)) => {
                // RIB_GENERIC of families without prefixes: not replayed.
                if let RibNlri::Other(_) = rib.nlri {
                    c.skipped = c.skipped.saturating_add(rib.entries.len());
                }
            }
            Body::TableDump(t) => {
                let n = match v1_peers.iter().position(|p| *p == t.peer_ip) {
                    Some(n) => n,
                    None => {
                        v1_peers.push(t.peer_ip);
                        v1_peers.len().saturating_sub(1)
                    }
                };
                if n != peer_index {
                    continue;
                }
                let id = match t.peer_ip {
                    IpAddr::V4(a) => a,
                    IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 1),
                };
                me.get_or_insert((u32::from(t.peer_as), id));
                let family = match t.prefix {
                    Prefix::V4(_) => Family::IPV4_UNICAST,
                    Prefix::V6(_) => Family::IPV6_UNICAST,
                };
                // Re-encode with 4-octet AS numbers: the group key is the set.
                let mut bytes = Vec::new();
                let a = &t.attributes;
                if let Some(nh) = t.mp_next_hop {
                    let mut v = vec![0u8];
                    match nh {
                        NextHop::V6 { global, link_local } => {
                            v.extend_from_slice(&global.octets());
                            if let Some(ll) = link_local {
                                v.extend_from_slice(&ll.octets());
                            }
                        }
                        NextHop::V4(x) => v.extend_from_slice(&x.octets()),
                        NextHop::Empty => {}
                    }
                    let len = u8::try_from(v.len().saturating_sub(1)).unwrap_or(0);
                    if let Some(l) = v.first_mut() {
                        *l = len;
                    }
                    a.encode(true, &mut bytes);
                    ribbit_wire::attribute::write_attribute(
                        ribbit_wire::attribute::flags::OPTIONAL,
                        ribbit_wire::attribute::type_code::MP_REACH_NLRI,
                        &v,
                        &mut bytes,
                    );
                } else {
                    a.encode(true, &mut bytes);
                }
                let nlri = PrefixNlri {
                    path_id: None,
                    prefix: t.prefix,
                };
                c.add(family, &bytes, true, nlri)
                    .map_err(|k| dump_err(ribbit_mrt::Error::new(raw.offset, k.kind)))?;
            }
            _ => {}
        }
    }
    let Some((asn, router_id)) = me else {
        return Err(LoadError::NoRoutes(format!(
            "{}: no table dump (TABLE_DUMP_V2 or TABLE_DUMP) with a peer {}",
            path.display(),
            peer_index
        )));
    };
    Ok(Load {
        asn,
        router_id,
        groups: c.groups,
        prefixes: c.prefixes,
        skipped: c.skipped,
    })
}

/// How many prefixes go to the RIB task per injection: large enough to
/// amortise the message, small enough that the RIB task serves others
/// between two.
const INJECT_CHUNK: usize = 4096;

/// `inject-mrt`: read the routes of peer `peer_index` of `path` (on a
/// blocking thread: the file may be large) and inject them into the RIB for
/// neighbor `peer`, in chunks; the RIB announces them when the session is
/// up (and again on every new session), as fast as the neighbor reads. The
/// routes are injected routes ([`ribbit_rib::Rib::inject`]): the dump's
/// attributes and next hop, with the session's rules (our AS prepended on
/// eBGP). Problems are logged, never fatal.
pub fn spawn_inject(
    rib: RibHandle,
    peer: PeerId,
    neighbor: IpAddr,
    path: PathBuf,
    peer_index: u16,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let file = path.clone();
        let loaded =
            tokio::task::spawn_blocking(move || load(&file, usize::from(peer_index), &[])).await;
        let load = match loaded {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                warn!(%neighbor, error = %e, "inject-mrt: the dump's routes are not announced");
                return;
            }
            Err(e) => {
                warn!(%neighbor, error = %e, "inject-mrt: reading the dump failed");
                return;
            }
        };
        info!(
            %neighbor,
            file = %path.display(),
            prefixes = load.prefixes,
            attribute_sets = load.groups.len(),
            skipped = load.skipped,
            "inject-mrt: routes of the dump injected for the neighbor"
        );
        let mut routes: Vec<InjectRoutes> = Vec::new();
        let mut queued = 0usize;
        for g in load.groups {
            for nlri in g.nlri.chunks(INJECT_CHUNK) {
                queued = queued.saturating_add(nlri.len());
                routes.push(InjectRoutes {
                    family: g.family,
                    nlri: NlriList::Prefixes(nlri.to_vec()),
                    route: Injection {
                        next_hop: InjectNextHop::Given(g.next_hop),
                        attributes: g.attributes.clone(),
                    },
                });
                if queued >= INJECT_CHUNK {
                    if !send(&rib, peer, &mut routes).await {
                        return;
                    }
                    queued = 0;
                }
            }
        }
        if !routes.is_empty() {
            send(&rib, peer, &mut routes).await;
        }
    })
}

/// Hand routes to the RIB task and wait for its answer (so that one dump
/// never queues more than a chunk ahead of the RIB); false when it is gone
/// or refused them.
async fn send(rib: &RibHandle, peer: PeerId, routes: &mut Vec<InjectRoutes>) -> bool {
    let (reply, rx) = tokio::sync::oneshot::channel();
    let sent = rib.control.send(RibControl::Inject {
        peers: vec![peer],
        routes: std::mem::take(routes),
        reply: Some(reply),
    });
    if sent.is_err() {
        return false;
    }
    match rx.await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            warn!(%peer, error = %e, "inject-mrt: routes not injected");
            false
        }
        Err(_) => false,
    }
}
