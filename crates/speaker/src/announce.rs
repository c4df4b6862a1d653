//! Routes announced to neighbors at run time, as ExaBGP's programs do
//! (`announce route 10.0.0.0/24 next-hop 1.2.3.4 med 10`, optionally
//! `neighbor 127.0.0.2 announce ...`), and the static routes of the
//! configuration, which are the same thing from the start.
//!
//! They become routes injected into the RIB for each neighbor
//! ([`ribbit_rib::Rib::inject`], which documents the semantics: ExaBGP's).
//! The RIB sends them through the same machinery as its own routes, keeps
//! them across session flaps and sends them again on ROUTE-REFRESH.

use std::collections::HashSet;
use std::net::IpAddr;

use ribbit_exabgp::text::{
    Announcement, EncodeError, EncodeSettings, NeighborSelector, NextHopSpec, Withdrawal,
};
use ribbit_rib::{InjectError, InjectNextHop, InjectedRoute, Injection, PeerId};
use ribbit_wire::Family;
use tokio::sync::oneshot;

use crate::config::{Config, NeighborConfig};
use crate::rib_task::{InjectRoutes, RibControl};
use crate::Speaker;

/// Why routes could not be announced or withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    /// No neighbor has this address.
    #[error("no neighbor {0}")]
    UnknownNeighbor(IpAddr),
    /// A neighbor named explicitly does not have the family configured.
    #[error("neighbor {neighbor} is not configured for {family}")]
    FamilyNotConfigured {
        /// The neighbor.
        neighbor: IpAddr,
        /// The family.
        family: Family,
    },
    /// A route of a family with next hops has none.
    #[error("a {0} route needs a next hop")]
    MissingNextHop(Family),
    /// The RIB cannot hold routes of the family.
    #[error("routes of {0} cannot be announced")]
    UnsupportedFamily(Family),
    /// The speaker is shutting down.
    #[error("the speaker is shutting down")]
    Stopped,
}

impl From<InjectError> for AnnounceError {
    fn from(e: InjectError) -> Self {
        match e {
            InjectError::MissingNextHop(f) => AnnounceError::MissingNextHop(f),
            InjectError::Family(f) => AnnounceError::UnsupportedFamily(f),
            // Neighbors are looked up before the RIB is asked; one removed
            // in between is gone.
            InjectError::UnknownPeer(_) => AnnounceError::Stopped,
        }
    }
}

/// NLRI of one family to withdraw.
type Withdrawn = (Family, ribbit_wire::NlriList);

/// What an announcement or withdrawal applied to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Neighbors it went to.
    pub neighbors: usize,
    /// Routes announced or withdrawn, summed over the neighbors.
    pub routes: usize,
}

/// The RIB's form of an announcement: its next hop as it goes on the wire
/// (an IPv4 address for IPv6 NLRI as the IPv4-mapped address, as
/// [`Announcement::wire_next_hop`] does without extended next hop), or our
/// session address for `next-hop self`; the attributes as given (the RIB
/// adds ORIGIN and AS_PATH when missing and applies the session's rules,
/// as [`Announcement::wire_attributes`] does).
pub fn injection(a: &Announcement) -> Result<InjectRoutes, AnnounceError> {
    let next_hop = match a.next_hop {
        NextHopSpec::SelfAddress => InjectNextHop::Local,
        _ => InjectNextHop::Given(a.wire_next_hop(&EncodeSettings::default()).map_err(
            |e| match e {
                EncodeError::MissingNextHop { family } => AnnounceError::MissingNextHop(family),
                _ => AnnounceError::MissingNextHop(a.family),
            },
        )?),
    };
    Ok(InjectRoutes {
        family: a.family,
        nlri: a.nlri.clone(),
        route: Injection {
            next_hop,
            attributes: a.attributes.clone(),
        },
    })
}

/// Whether `a` has the next hop of routes already made ready to inject.
fn same_next_hop(routes: &InjectRoutes, a: &Announcement) -> bool {
    match (routes.route.next_hop, &a.next_hop) {
        (InjectNextHop::Local, NextHopSpec::SelfAddress) => true,
        (InjectNextHop::Given(nh), spec) if *spec != NextHopSpec::SelfAddress => a
            .wire_next_hop(&EncodeSettings::default())
            .is_ok_and(|given| given == nh),
        _ => false,
    }
}

/// The static routes and Flowspec rules of a neighbor (`[[route]]`,
/// `[[neighbor.route]]`, `[[flow]]` and `[[neighbor.flow]]` of its
/// families), as routes to inject for it.
pub fn static_routes(config: &Config, n: &NeighborConfig) -> Vec<InjectRoutes> {
    let routes = config
        .routes_for(n, n.family_set())
        .into_iter()
        .map(|r| r.announcement());
    let flows = config
        .flows_for(n, n.family_set())
        .into_iter()
        .map(|f| f.announcement());
    routes
        .chain(flows)
        .filter_map(|a| match injection(&a) {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(peer = %n.address, family = %a.family, error = %e, "static route not announced");
                None
            }
        })
        .collect()
}

/// Whether a neighbor's configuration matches an ExaBGP selector, on what
/// the configuration knows: address, `local-as`, `peer-as` and `local-ip`
/// (when the neighbor has a configured local address).
fn selected(n: &NeighborConfig, s: &NeighborSelector) -> bool {
    n.address == s.address
        && s.local_as.is_none_or(|a| a == n.local_asn)
        && s.peer_as.is_none_or(|a| a == n.peer_asn)
        && s.local_address.is_none_or(|a| n.local_address == Some(a))
}

/// Routes handed to the RIB task, which applies them in the order it gets
/// them; [`Submitted::applied`] waits until it has.
#[derive(Debug)]
#[must_use = "the routes' outcome is known only once applied"]
pub(crate) struct Submitted {
    /// Neighbors the routes go to.
    neighbors: usize,
    /// The RIB task's answer for each of its messages.
    replies: Vec<Reply>,
}

/// The RIB task's answer to one message of a [`Submitted`].
#[derive(Debug)]
enum Reply {
    /// To [`RibControl::Inject`]: the routes injected.
    Injected(oneshot::Receiver<Result<usize, InjectError>>),
    /// To [`RibControl::Retract`]: the routes withdrawn.
    Retracted(oneshot::Receiver<usize>),
}

impl Submitted {
    /// Wait until the RIB task has applied the routes; what it applied.
    pub(crate) async fn applied(self) -> Result<Applied, AnnounceError> {
        let mut applied = Applied {
            neighbors: self.neighbors,
            ..Applied::default()
        };
        for reply in self.replies {
            let n = match reply {
                Reply::Injected(rx) => rx.await.map_err(|_| AnnounceError::Stopped)??,
                Reply::Retracted(rx) => rx.await.map_err(|_| AnnounceError::Stopped)?,
            };
            applied.routes = applied.routes.saturating_add(n);
        }
        Ok(applied)
    }
}

impl Speaker {
    /// The neighbors an ExaBGP neighbor selector list names (`neighbor
    /// 192.0.2.1 local-as 65000 , neighbor ...`), by address, `local-as`,
    /// `peer-as` and `local-ip`; empty when none matches. (An empty list
    /// means every neighbor to [`Speaker::announce`]: pass its result on
    /// only when it is not empty.)
    pub fn neighbors_matching(&self, selectors: &[NeighborSelector]) -> Vec<IpAddr> {
        let config = self.config_snapshot_ref(|c| {
            c.neighbors
                .iter()
                .filter(|n| selectors.iter().any(|s| selected(n, s)))
                .map(|n| n.address)
                .collect::<Vec<_>>()
        });
        config.unwrap_or_default()
    }

    /// The RIB's numbers of the neighbors `to` (every neighbor when empty)
    /// that have `family` configured. A neighbor named in `to` that is
    /// unknown or does not have the family is an error.
    pub(crate) fn targets(
        &self,
        to: &[IpAddr],
        family: Family,
    ) -> Result<Vec<PeerId>, AnnounceError> {
        let chosen = self
            .config_snapshot_ref(|c| -> Result<Vec<IpAddr>, AnnounceError> {
                if to.is_empty() {
                    return Ok(c
                        .neighbors
                        .iter()
                        .filter(|n| n.families.contains(&family))
                        .map(|n| n.address)
                        .collect());
                }
                to.iter()
                    .map(|a| {
                        let n = c
                            .neighbors
                            .iter()
                            .find(|n| n.address == *a)
                            .ok_or(AnnounceError::UnknownNeighbor(*a))?;
                        if !n.families.contains(&family) {
                            return Err(AnnounceError::FamilyNotConfigured {
                                neighbor: *a,
                                family,
                            });
                        }
                        Ok(*a)
                    })
                    .collect()
            })
            .ok_or(AnnounceError::Stopped)??;
        chosen
            .into_iter()
            .map(|a| self.peer_id(a).ok_or(AnnounceError::UnknownNeighbor(a)))
            .collect()
    }

    /// Announce routes to neighbors at run time, as an ExaBGP program does
    /// (`announce route ...`): to the neighbors `to`, or to every neighbor
    /// configured for the family when `to` is empty. Each gets the routes
    /// with ExaBGP's semantics ([`ribbit_rib::Rib::inject`]): attributes as
    /// given with ORIGIN IGP and an empty AS_PATH added when missing, our
    /// AS prepended and LOCAL_PREF dropped on eBGP, LOCAL_PREF 100 added on
    /// iBGP when absent, `next-hop self` as our session address; not part
    /// of the decision process, not re-advertised to other neighbors. A
    /// later announcement of the same NLRI (and path identifier) to a
    /// neighbor replaces this one; the routes are sent again each time the
    /// session comes up and on ROUTE-REFRESH.
    ///
    /// Announcements held by ExaBGP's `withdraw` keyword (watchdogs) are
    /// the caller's to keep: they are not announced (0 routes).
    pub async fn announce(
        &self,
        to: &[IpAddr],
        announcement: &Announcement,
    ) -> Result<Applied, AnnounceError> {
        self.announce_all(to, std::slice::from_ref(announcement))
            .await
    }

    /// [`Speaker::announce`] of several announcements in one exchange with
    /// the RIB task: the way to announce many routes quickly. Nothing is
    /// announced when one of them is in error.
    pub async fn announce_all(
        &self,
        to: &[IpAddr],
        announcements: &[Announcement],
    ) -> Result<Applied, AnnounceError> {
        self.submit_announcements(to, announcements)?
            .applied()
            .await
    }

    /// [`Speaker::announce_all`] up to handing the routes to the RIB task:
    /// checked and queued, to be applied in order with what is queued
    /// after them; [`Submitted::applied`] waits for them.
    pub(crate) fn submit_announcements(
        &self,
        to: &[IpAddr],
        announcements: &[Announcement],
    ) -> Result<Submitted, AnnounceError> {
        // Grouped by the neighbors they go to (per family when `to` is
        // empty), checked before anything is sent.
        let mut groups: Vec<(Vec<PeerId>, Vec<InjectRoutes>)> = Vec::new();
        // The neighbors of the last family seen: a program's batch is
        // nearly always of one family.
        let mut last: Option<(Family, Vec<PeerId>)> = None;
        for a in announcements.iter().filter(|a| !a.held) {
            let peers = match &last {
                Some((f, p)) if *f == a.family => p.clone(),
                _ => {
                    let p = self.targets(to, a.family)?;
                    last = Some((a.family, p.clone()));
                    p
                }
            };
            let group = match groups.iter().position(|(p, _)| *p == peers) {
                Some(i) => &mut groups[i].1,
                None => {
                    groups.push((peers, Vec::new()));
                    &mut groups.last_mut().expect("just pushed").1
                }
            };
            // Routes with the same attributes as the one before them join
            // its NLRI: the RIB interns their attributes once.
            if let Some(prev) = group.last_mut() {
                if prev.family == a.family
                    && prev.route.attributes == a.attributes
                    && same_next_hop(prev, a)
                    && prev.nlri.extend_from(&a.nlri)
                {
                    continue;
                }
            }
            group.push(injection(a)?);
        }
        self.submit(
            groups,
            |peers, routes, reply| RibControl::Inject {
                peers,
                routes,
                reply: Some(reply),
            },
            Reply::Injected,
        )
    }

    /// Send each group to the RIB task as one control message.
    fn submit<R, T>(
        &self,
        groups: Vec<(Vec<PeerId>, R)>,
        message: impl Fn(Vec<PeerId>, R, oneshot::Sender<T>) -> RibControl,
        reply: impl Fn(oneshot::Receiver<T>) -> Reply,
    ) -> Result<Submitted, AnnounceError> {
        let mut replies = Vec::new();
        let mut reached = HashSet::new();
        for (peers, routes) in groups {
            reached.extend(peers.iter().copied());
            if peers.is_empty() {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            self.rib
                .control
                .send(message(peers, routes, tx))
                .map_err(|_| AnnounceError::Stopped)?;
            replies.push(reply(rx));
        }
        Ok(Submitted {
            neighbors: reached.len(),
            replies,
        })
    }

    /// Withdraw routes announced with [`Speaker::announce`] (ExaBGP's
    /// `withdraw route ...`) from the neighbors `to`, or from every
    /// neighbor configured for the family when `to` is empty. Where the
    /// RIB has a route of its own for the destination, the neighbor gets
    /// it again. Returns the routes actually withdrawn.
    pub async fn withdraw(
        &self,
        to: &[IpAddr],
        withdrawal: &Withdrawal,
    ) -> Result<Applied, AnnounceError> {
        self.withdraw_all(to, std::slice::from_ref(withdrawal))
            .await
    }

    /// [`Speaker::withdraw`] of several withdrawals in one exchange with
    /// the RIB task.
    pub async fn withdraw_all(
        &self,
        to: &[IpAddr],
        withdrawals: &[Withdrawal],
    ) -> Result<Applied, AnnounceError> {
        self.submit_withdrawals(to, withdrawals)?.applied().await
    }

    /// [`Speaker::withdraw_all`] up to handing the routes to the RIB task,
    /// as [`Speaker::submit_announcements`].
    pub(crate) fn submit_withdrawals(
        &self,
        to: &[IpAddr],
        withdrawals: &[Withdrawal],
    ) -> Result<Submitted, AnnounceError> {
        let mut groups: Vec<(Vec<PeerId>, Vec<Withdrawn>)> = Vec::new();
        for w in withdrawals {
            let peers = self.targets(to, w.family)?;
            let route = (w.family, w.nlri.clone());
            match groups.iter_mut().find(|(p, _)| *p == peers) {
                Some((_, v)) => v.push(route),
                None => groups.push((peers, vec![route])),
            }
        }
        self.submit(
            groups,
            |peers, routes, reply| RibControl::Retract {
                peers,
                routes,
                reply: Some(reply),
            },
            Reply::Retracted,
        )
    }

    /// The routes announced to a neighbor (static routes and
    /// [`Speaker::announce`]), every family; `None` for an unknown
    /// neighbor.
    pub async fn announced(&self, peer: IpAddr) -> Option<Vec<InjectedRoute>> {
        let peer = self.peer_id(peer)?;
        let (reply, rx) = oneshot::channel();
        self.rib
            .control
            .send(RibControl::Query(crate::rib_task::RibQuery::Injected {
                peer,
                reply,
            }))
            .ok()?;
        rx.await.ok()
    }
}
