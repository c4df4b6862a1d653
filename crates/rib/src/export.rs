//! The rules that decide whether a path may be sent to a neighbor and what
//! it looks like when it is (before the neighbor's export policy, which
//! runs after them so that it can override what they set).
//!
//! They depend only on the attribute set, on where the path came from and
//! on the neighbor, never on the prefix, so their result is cached per
//! (attribute set, source) and neighbor by the caller.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use ribbit_wire::attribute::{AsPath, Community};
use ribbit_wire::capability::Role;
use ribbit_wire::NextHop;

use crate::rib::{PeerConfig, SessionInfo};
use crate::route::RouteAttrs;

/// LOCAL_PREF given to paths sent over iBGP without one (the usual default).
pub(crate) const DEFAULT_LOCAL_PREF: u32 = 100;

/// Where a path came from, as far as the export rules care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    /// Locally originated.
    pub local: bool,
    /// Learned over eBGP (route server clients included).
    pub ebgp: bool,
    /// Learned from a route reflector client.
    pub rr_client: bool,
    /// The BGP identifier of the neighbor it came from (ORIGINATOR_ID when
    /// reflected, RFC 4456 §8).
    pub router_id: Ipv4Addr,
}

/// The neighbor a path is sent to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// Its configuration.
    pub config: &'a PeerConfig,
    /// Its session.
    pub session: &'a SessionInfo,
    /// Whether the session is eBGP.
    pub ebgp: bool,
    /// Our cluster identifier (RFC 4456 §7).
    pub cluster_id: Ipv4Addr,
}

fn has(attrs: &RouteAttrs, c: Community) -> bool {
    attrs.attributes.communities.contains(&c)
}

/// Our address on the session for a next hop of the same family; `None`
/// when the runtime does not know one (the next hop is then left as is).
fn next_hop_self(current: NextHop, session: &SessionInfo) -> Option<NextHop> {
    match current {
        NextHop::Empty => None,
        NextHop::V4(_) => session.local_v4.map(NextHop::V4),
        NextHop::V6 { .. } => session.local_v6.map(|global| NextHop::V6 {
            global,
            link_local: None,
        }),
    }
}

/// Whether the path may be sent at all, by the well-known communities
/// (RFC 1997, RFC 9494), iBGP split horizon and route reflection
/// (RFC 4271 §9.2, RFC 4456 §8) and route leak prevention (RFC 9234 §5).
fn allowed(src: &Source, t: &Target<'_>, attrs: &RouteAttrs) -> bool {
    // NO_ADVERTISE: to nobody. NO_EXPORT and NO_EXPORT_SUBCONFED: not over
    // eBGP (without confederations both stop at the AS border). Route
    // server clients are external peers: RFC 7947 §2.2 keeps the route
    // server out of the AS path, not out of the AS boundary, and operators
    // expect NO_EXPORT to stay within the neighbor that set it.
    if has(attrs, Community::NO_ADVERTISE) {
        return false;
    }
    if t.ebgp && (has(attrs, Community::NO_EXPORT) || has(attrs, Community::NO_EXPORT_SUBCONFED)) {
        return false;
    }
    // iBGP-learned to iBGP: only as a route reflector. From a client to
    // everyone; from a non-client to clients only.
    if !src.local && !src.ebgp && !t.ebgp && !src.rr_client && !t.config.route_reflector_client {
        return false;
    }
    // Long-lived stale paths only to neighbors that negotiated LLGR
    // (RFC 9494 §4.5).
    if !t.session.llgr && has(attrs, Community::LLGR_STALE) {
        return false;
    }
    // RFC 9234 §5 egress 2: a path with OTC is not sent to a provider, a
    // peer or a route server (our role customer, peer, RS client).
    if attrs.attributes.otc.is_some()
        && matches!(
            t.config.role,
            Some(Role::Customer | Role::Peer | Role::RouteServerClient)
        )
    {
        return false;
    }
    true
}

/// Apply the export rules: `None` when the path is not sent, else the
/// attributes to send (borrowed when nothing changes).
pub(crate) fn export_rules<'a>(
    src: &Source,
    t: &Target<'_>,
    attrs: &'a RouteAttrs,
) -> Option<Cow<'a, RouteAttrs>> {
    if !allowed(src, t, attrs) {
        return None;
    }
    let mut out = Cow::Borrowed(attrs);
    let cfg = t.config;
    // RFC 9234 §5 egress 1: to a customer, a peer or an RS client (our
    // role provider, peer, route server), add OTC with our AS.
    if attrs.attributes.otc.is_none()
        && matches!(
            cfg.role,
            Some(Role::Provider | Role::Peer | Role::RouteServer)
        )
    {
        out.to_mut().attributes.otc = Some(cfg.local_as);
    }
    if cfg.route_server_client {
        // RFC 7947 §2.2: transparent. No AS of ours, next hop and MED as
        // they are; only what never crosses an AS border is removed.
        strip_internal(&mut out);
    } else if t.ebgp {
        strip_internal(&mut out);
        // RFC 4271 §5.1.2: our AS in front.
        let a = &mut out.to_mut().attributes;
        let mut path = a.as_path.take().unwrap_or_else(AsPath::default);
        path.prepend(cfg.local_as, 1);
        a.as_path = Some(path);
        // RFC 4271 §5.1.3: ourselves as next hop, unless configured not to.
        if !cfg.next_hop_unchanged {
            if let Some(nh) = next_hop_self(out.next_hop, t.session) {
                if nh != out.next_hop {
                    out.to_mut().next_hop = nh;
                }
            }
        }
        // RFC 4271 §5.1.4: a MED received from a neighboring AS is not
        // passed on to another. Our own routes keep the MED they were
        // given, and `send_med` passes every MED on.
        if out.attributes.med.is_some() && !cfg.send_med && !src.local {
            out.to_mut().attributes.med = None;
        }
    } else {
        // iBGP: LOCAL_PREF is always sent (RFC 4271 §5.1.5).
        if out.attributes.local_pref.is_none() {
            out.to_mut().attributes.local_pref = Some(DEFAULT_LOCAL_PREF);
        }
        if cfg.next_hop_self {
            if let Some(nh) = next_hop_self(out.next_hop, t.session) {
                if nh != out.next_hop {
                    out.to_mut().next_hop = nh;
                }
            }
        }
        // RFC 4456 §8: reflecting an iBGP-learned path, record its
        // originator (unless already there) and our cluster.
        if !src.local && !src.ebgp {
            let a = &mut out.to_mut().attributes;
            if a.originator_id.is_none() {
                a.originator_id = Some(src.router_id);
            }
            a.cluster_list.insert(0, t.cluster_id);
        }
    }
    Some(out)
}

/// Remove what is only meaningful inside an AS: LOCAL_PREF (RFC 4271
/// §5.1.5), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456 §8: iBGP only).
fn strip_internal(out: &mut Cow<'_, RouteAttrs>) {
    let a = &out.attributes;
    if a.local_pref.is_some() || a.originator_id.is_some() || !a.cluster_list.is_empty() {
        let a = &mut out.to_mut().attributes;
        a.local_pref = None;
        a.originator_id = None;
        a.cluster_list.clear();
    }
}
