//! Validation of received Flowspec rules (RFC 8955 §6, as revised by
//! RFC 9117).
//!
//! A rule filters traffic towards a destination; only whoever routes that
//! destination should be able to filter it. A rule from a neighbor that
//! validates (`flowspec-validation`, on by default for eBGP) is feasible
//! only when:
//!
//! a. it has a destination prefix component;
//! b. the best unicast route of the longest prefix covering that
//!    destination came from the same neighbor (b.1), or, from an iBGP or
//!    confederation neighbor, the rule's AS_PATH has no AS_SEQUENCE or
//!    AS_SET segment (b.2, RFC 9117 §4.1: it was originated in our AS);
//! c. no more specific unicast route inside the destination has its best
//!    path from another neighbor AS than that route;
//!
//! and, from an eBGP neighbor, its AS_PATH starts with the neighbor's AS
//! (RFC 8955 §6, last paragraph).
//!
//! A rule that fails is kept (it may become valid when unicast routing
//! changes) but is never best, so it is neither used nor passed on. Rules
//! are validated when they arrive and again whenever a unicast route
//! inside or around one of their destinations changes.

use std::fmt;

use ipnet::IpNet;
use ribbit_wire::attribute::SegmentType;
use ribbit_wire::nlri::flowspec::{Component, FlowspecNlri};
use ribbit_wire::{AsPath, Family, Safi};

/// Why a rule is not feasible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowInvalid {
    /// Rule a: no destination prefix component.
    NoDestination,
    /// Rule b: no unicast route covers the destination.
    NoUnicastRoute,
    /// Rule b: the covering unicast route came from another neighbor.
    OtherOriginator,
    /// Rule c: a more specific unicast route came from another AS.
    MoreSpecificFromOtherAs,
    /// From eBGP, the AS_PATH does not start with the neighbor's AS.
    FirstAs,
}

impl fmt::Display for FlowInvalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowInvalid::NoDestination => "no destination prefix",
            FlowInvalid::NoUnicastRoute => "no unicast route covers the destination",
            FlowInvalid::OtherOriginator => {
                "the unicast route of the destination is from another neighbor"
            }
            FlowInvalid::MoreSpecificFromOtherAs => {
                "a more specific unicast route is from another neighbor AS"
            }
            FlowInvalid::FirstAs => "the AS_PATH does not start with the neighbor's AS",
        })
    }
}

/// The neighbor a rule (or a unicast route) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Its index in the RIB.
    pub peer: u32,
    /// Its AS.
    pub asn: u32,
    /// Whether the session is eBGP.
    pub ebgp: bool,
}

/// What validation needs of the unicast tables.
pub trait UnicastView {
    /// The neighbor of the best path of the longest prefix of `family`
    /// that covers `prefix` (of length at most `prefix`'s); `None` when no
    /// prefix covers it. A locally originated route is our own AS.
    fn covering_best(&self, family: Family, prefix: IpNet) -> Option<Source>;
    /// The neighbor ASes of the best paths of `prefix` and every more
    /// specific prefix of `family`.
    fn more_specific_best_asns(&self, family: Family, prefix: IpNet) -> Vec<u32>;
}

/// The unicast family a Flowspec family is validated against; `None` for
/// the VPN variants, which RFC 8955 §8 validates against a VRF Ribbit does
/// not have: those are taken as they come.
pub fn unicast_of(flow: Family) -> Option<Family> {
    (flow.safi == Safi::FLOWSPEC).then_some(Family {
        afi: flow.afi,
        safi: Safi::UNICAST,
    })
}

/// Whether a rule from `from` with this AS_PATH is feasible.
pub fn validate(
    flow_family: Family,
    rule: &FlowspecNlri,
    as_path: &AsPath,
    from: Source,
    unicast: &impl UnicastView,
) -> Result<(), FlowInvalid> {
    let Some(family) = unicast_of(flow_family) else {
        return Ok(());
    };
    if from.ebgp && as_path.first() != Some(from.asn) {
        return Err(FlowInvalid::FirstAs);
    }
    let destination = rule
        .components
        .iter()
        .find_map(|c| match c {
            Component::DestinationPrefix(p) => Some(p.prefix),
            _ => None,
        })
        .ok_or(FlowInvalid::NoDestination)?;
    // b.2: originated in our AS (or our confederation).
    let ours = !from.ebgp
        && as_path
            .segments
            .iter()
            .all(|s| matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet));
    let covering = unicast.covering_best(family, destination);
    let neighbor_as = match covering {
        Some(best) if best.peer == from.peer => best.asn,
        Some(_) if ours => return Ok(()),
        Some(_) => return Err(FlowInvalid::OtherOriginator),
        None if ours => return Ok(()),
        None => return Err(FlowInvalid::NoUnicastRoute),
    };
    if unicast
        .more_specific_best_asns(family, destination)
        .into_iter()
        .any(|asn| asn != neighbor_as)
    {
        return Err(FlowInvalid::MoreSpecificFromOtherAs);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ribbit_wire::attribute::Segment;
    use ribbit_wire::nlri::flowspec::FlowPrefix;

    const FLOW4: Family = Family::IPV4_FLOWSPEC;

    /// Unicast routes: prefix and the source of its best path.
    struct Table(Vec<(IpNet, Source)>);

    impl UnicastView for Table {
        fn covering_best(&self, _: Family, prefix: IpNet) -> Option<Source> {
            self.0
                .iter()
                .filter(|(p, _)| p.prefix_len() <= prefix.prefix_len() && p.contains(&prefix))
                .max_by_key(|(p, _)| p.prefix_len())
                .map(|(_, s)| *s)
        }

        fn more_specific_best_asns(&self, _: Family, prefix: IpNet) -> Vec<u32> {
            self.0
                .iter()
                .filter(|(p, _)| prefix.contains(p))
                .map(|(_, s)| s.asn)
                .collect()
        }
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn rule(dest: Option<&str>) -> FlowspecNlri {
        FlowspecNlri {
            path_id: None,
            rd: None,
            components: dest
                .map(|d| Component::DestinationPrefix(FlowPrefix::new(net(d), 0)))
                .into_iter()
                .collect(),
        }
    }

    fn path(asns: &[u32]) -> AsPath {
        AsPath {
            segments: if asns.is_empty() {
                Vec::new()
            } else {
                vec![Segment {
                    kind: SegmentType::Sequence,
                    asns: asns.to_vec(),
                }]
            },
        }
    }

    const A: Source = Source {
        peer: 1,
        asn: 65001,
        ebgp: true,
    };
    const B: Source = Source {
        peer: 2,
        asn: 65002,
        ebgp: true,
    };
    const IBGP: Source = Source {
        peer: 3,
        asn: 65000,
        ebgp: false,
    };

    #[test]
    fn each_rule_of_rfc_8955_section_6() {
        let t = Table(vec![(net("10.0.0.0/8"), A), (net("10.1.0.0/16"), A)]);
        let check = |r: &FlowspecNlri, p: &AsPath, s: Source| validate(FLOW4, r, p, s, &t);
        // Feasible: A routes 10.1.0.0/24 (through 10.1.0.0/16), no other
        // AS inside.
        assert_eq!(
            check(&rule(Some("10.1.0.0/24")), &path(&[65001]), A),
            Ok(())
        );
        // a: no destination.
        assert_eq!(
            check(&rule(None), &path(&[65001]), A),
            Err(FlowInvalid::NoDestination)
        );
        // b: B does not route it.
        assert_eq!(
            check(&rule(Some("10.1.0.0/24")), &path(&[65002]), B),
            Err(FlowInvalid::OtherOriginator)
        );
        assert_eq!(
            check(&rule(Some("192.0.2.0/24")), &path(&[65001]), A),
            Err(FlowInvalid::NoUnicastRoute)
        );
        // eBGP: the AS_PATH starts with the neighbor's AS.
        assert_eq!(
            check(&rule(Some("10.1.0.0/24")), &path(&[65009, 65001]), A),
            Err(FlowInvalid::FirstAs)
        );
        // c: a more specific route from another AS inside the destination.
        let t = Table(vec![(net("10.0.0.0/8"), A), (net("10.1.2.0/24"), B)]);
        assert_eq!(
            validate(FLOW4, &rule(Some("10.1.0.0/16")), &path(&[65001]), A, &t),
            Err(FlowInvalid::MoreSpecificFromOtherAs)
        );
        // The covering route is the longest one not longer than the rule.
        assert_eq!(
            validate(FLOW4, &rule(Some("10.1.2.0/24")), &path(&[65002]), B, &t),
            Ok(())
        );
    }

    #[test]
    fn ibgp_rules_of_our_own_as_pass_rule_b() {
        let t = Table(vec![(net("10.0.0.0/8"), A)]);
        // RFC 9117 b.2: an empty AS_PATH from iBGP was originated here.
        assert_eq!(
            validate(FLOW4, &rule(Some("10.1.0.0/24")), &path(&[]), IBGP, &t),
            Ok(())
        );
        assert_eq!(
            validate(FLOW4, &rule(Some("192.0.2.0/24")), &path(&[]), IBGP, &t),
            Ok(())
        );
        // From another AS through iBGP: rule b.1 applies.
        assert_eq!(
            validate(FLOW4, &rule(Some("10.1.0.0/24")), &path(&[65001]), IBGP, &t),
            Err(FlowInvalid::OtherOriginator)
        );
    }

    #[test]
    fn vpn_rules_are_not_validated() {
        let t = Table(Vec::new());
        let vpn = Family {
            afi: FLOW4.afi,
            safi: Safi::FLOWSPEC_VPN,
        };
        assert_eq!(validate(vpn, &rule(None), &path(&[1]), A, &t), Ok(()));
    }
}
