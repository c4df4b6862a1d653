//! Lookups the HTTP API needs that the runtime does not answer directly
//! yet, built only on [`Speaker::paths`].
//!
//! Both walk more of the table than they need to: the RIB can answer them
//! with one lookup (`Rib::destination_prefix`, `Rib::longest_match`), and
//! once the RIB task takes those queries these methods should ask it; their
//! callers stay as they are.

use std::net::IpAddr;

use ipnet::IpNet;
use ribbit_wire::Family;

use crate::rib_view::DestinationLine;
use crate::Speaker;

/// Whether a destination's text is exactly `prefix`.
fn is(line: &DestinationLine, prefix: IpNet) -> bool {
    line.nlri.parse::<IpNet>().is_ok_and(|p| p == prefix)
}

impl Speaker {
    /// Every path of exactly `prefix` (unicast and multicast families):
    /// empty when the table has no such destination, `None` when the RIB
    /// did not answer.
    pub async fn destination(&self, family: Family, prefix: IpNet) -> Option<Vec<DestinationLine>> {
        let prefix = prefix.trunc();
        let mut lines = self.paths(family, Some(prefix)).await?;
        lines.retain(|l| is(l, prefix));
        Some(lines)
    }

    /// Every path of the most specific destination that contains `addr`
    /// (unicast and multicast families): empty when none does, `None` when
    /// the RIB did not answer.
    pub async fn longest_match(
        &self,
        family: Family,
        addr: IpAddr,
    ) -> Option<Vec<DestinationLine>> {
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        // From the host route outwards: the first length at which `addr`'s
        // prefix is a destination is the longest match. Each step asks for
        // the prefix and its more-specifics, the only query there is.
        for len in (0..=max).rev() {
            let Ok(net) = IpNet::new(addr, len) else {
                continue;
            };
            let net = net.trunc();
            let mut lines = self.paths(family, Some(net)).await?;
            lines.retain(|l| is(l, net));
            if !lines.is_empty() {
                return Some(lines);
            }
        }
        Some(Vec::new())
    }
}
