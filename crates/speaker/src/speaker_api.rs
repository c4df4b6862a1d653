//! Lookups of one destination the HTTP API and the CLI make, answered by
//! the RIB task with one lookup each.

use std::net::IpAddr;

use ipnet::IpNet;
use ribbit_wire::Family;

use crate::rib_task::RibQuery;
use crate::rib_view::DestinationLine;
use crate::Speaker;

impl Speaker {
    /// Every path of exactly `prefix` (unicast and multicast families):
    /// empty when the table has no such destination, `None` when the RIB
    /// did not answer.
    pub async fn destination(&self, family: Family, prefix: IpNet) -> Option<Vec<DestinationLine>> {
        self.ask_rib(|reply| RibQuery::Destination {
            family,
            prefix: prefix.trunc(),
            reply,
        })
        .await
    }

    /// Every path of the most specific destination that contains `addr`
    /// (unicast and multicast families): empty when none does, `None` when
    /// the RIB did not answer.
    pub async fn longest_match(
        &self,
        family: Family,
        addr: IpAddr,
    ) -> Option<Vec<DestinationLine>> {
        self.ask_rib(|reply| RibQuery::LongestMatch {
            family,
            addr,
            reply,
        })
        .await
    }

    /// Up to `limit` destinations of a prefix family in table order, after
    /// `after` (from the start when `None`): one page of the Loc-RIB.
    pub async fn page(
        &self,
        family: Family,
        after: Option<IpNet>,
        limit: usize,
    ) -> Option<Vec<DestinationLine>> {
        self.ask_rib(|reply| RibQuery::Page {
            family,
            after,
            limit,
            reply,
        })
        .await
    }
}
