//! ROUTE-REFRESH messages (RFC 2918) with the Enhanced Route Refresh
//! subtypes of RFC 7313.
//!
//! ```text
//!  +-------------------+------------------+-----------+
//!  | AFI (2 octets)    | Subtype (1)      | SAFI (1)  |
//!  +-------------------+------------------+-----------+
//!  subtype: 0 normal request, 1 BoRR, 2 EoRR
//! ```

use crate::error::{DecodeError, Reason};
use crate::family::{Afi, Family, Safi};
use crate::reader::Reader;

/// The ROUTE-REFRESH subtype (RFC 7313 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshSubtype {
    /// A request to re-advertise the Adj-RIB-Out.
    Request,
    /// Beginning of Route Refresh.
    Begin,
    /// End of Route Refresh.
    End,
    /// A reserved value, to be ignored by the receiver (RFC 7313 §4).
    Reserved(u8),
}

impl RefreshSubtype {
    fn code(self) -> u8 {
        match self {
            RefreshSubtype::Request => 0,
            RefreshSubtype::Begin => 1,
            RefreshSubtype::End => 2,
            RefreshSubtype::Reserved(v) => v,
        }
    }

    /// The name used in logs and JSON (`refresh`, `begin`, `end`).
    pub fn name(self) -> &'static str {
        match self {
            RefreshSubtype::Request => "refresh",
            RefreshSubtype::Begin => "begin",
            RefreshSubtype::End => "end",
            RefreshSubtype::Reserved(_) => "reserved",
        }
    }
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// The subtype.
    pub subtype: RefreshSubtype,
}

impl RouteRefresh {
    /// A plain refresh request for `family`.
    pub fn request(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: RefreshSubtype::Request,
        }
    }

    /// Decode the body. RFC 7313 §5: a length other than 23 bytes is a
    /// ROUTE-REFRESH Message Error / Invalid Message Length, data = the message.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        if body.len() != 4 {
            let total =
                u16::try_from(body.len().saturating_add(crate::HEADER_LEN)).unwrap_or(u16::MAX);
            return Err({
                // RFC 7313 §5: the data is the complete message.
                let mut data = Vec::with_capacity(usize::from(total));
                data.extend_from_slice(&crate::MARKER);
                data.extend_from_slice(&total.to_be_bytes());
                data.push(crate::MessageType::RouteRefresh as u8);
                data.extend_from_slice(body);
                DecodeError::new(16, Reason::BadRouteRefreshLength(total)).with_data(data)
            });
        }
        let mut r = Reader::new(body, crate::HEADER_LEN);
        let (Ok(afi), Ok(sub), Ok(safi)) = (r.u16(), r.u8(), r.u8()) else {
            return Err(DecodeError::new(16, Reason::BadRouteRefreshLength(0)));
        };
        let subtype = match sub {
            0 => RefreshSubtype::Request,
            1 => RefreshSubtype::Begin,
            2 => RefreshSubtype::End,
            v => RefreshSubtype::Reserved(v),
        };
        Ok(RouteRefresh {
            family: Family::new(Afi(afi), Safi(safi)),
            subtype,
        })
    }

    /// Append the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.0.to_be_bytes());
        out.push(self.subtype.code());
        out.push(self.family.safi.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_length_error() {
        let rr = RouteRefresh {
            family: Family::IPV6_UNICAST,
            subtype: RefreshSubtype::End,
        };
        let mut body = Vec::new();
        rr.encode_body(&mut body);
        assert_eq!(body, [0, 2, 2, 1]);
        assert_eq!(RouteRefresh::decode(&body), Ok(rr));
        let e = RouteRefresh::decode(&[0, 1, 0, 1, 0]).unwrap_err();
        assert_eq!((e.notification().code, e.notification().subcode), (7, 1));
    }
}
