//! What a path carries besides its destination.

use ribbit_wire::update::NextHop;
use ribbit_wire::PathAttributes;

/// A path's next hop and attributes: the unit that is interned
/// ([`crate::Interner`]) and shared by every path that carries the same.
///
/// The next hop is kept here rather than beside each path: for the MP
/// families it lives in MP_REACH_NLRI, not in [`PathAttributes`], and
/// storing it once per distinct set costs less than 36 bytes per path.
/// `attributes.next_hop` is always `None`; `next_hop` is the one next hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteAttrs {
    /// The next hop ([`NextHop::Empty`] for Flowspec).
    pub next_hop: NextHop,
    /// Every other attribute.
    pub attributes: PathAttributes,
}

impl RouteAttrs {
    /// Attributes with their next hop moved out of `attributes` (IPv4
    /// unicast carries it in NEXT_HOP) or taken from MP_REACH_NLRI.
    pub fn new(mut attributes: PathAttributes, mp_next_hop: Option<NextHop>) -> RouteAttrs {
        let classic = attributes.next_hop.take().map(NextHop::V4);
        RouteAttrs {
            next_hop: mp_next_hop.or(classic).unwrap_or(NextHop::Empty),
            attributes,
        }
    }
}
