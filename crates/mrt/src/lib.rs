//! `ribbit-mrt`: MRT routing information export (RFC 6396, RFC 8050),
//! read and written over the BGP codec of `ribbit-wire`.
//!
//! An MRT stream is a sequence of records, each with a common header:
//!
//! ```text
//!  Timestamp (4) | Type (2) | Subtype (2) | Length (4)
//!  | [Microsecond Timestamp (4), in the _ET types] | Message (Length bytes)
//! ```
//!
//! The Length counts the microsecond field of the extended-timestamp types
//! (RFC 6396 §3). Supported: TABLE_DUMP_V2 with its ADD-PATH subtypes,
//! BGP4MP and BGP4MP_ET with every message and state-change subtype, and
//! the old TABLE_DUMP. Records of other types (OSPF, IS-IS, ...) are kept
//! as raw bytes.
//!
//! [`MrtReader`] streams records from any [`std::io::Read`], gzip or bzip2
//! compressed or not, in constant memory; [`MrtWriter`] writes them to any
//! [`std::io::Write`]; [`decode`] reads one record from a byte slice.
//! Nothing here opens a file or a socket.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod attrs;
pub mod bgp4mp;
pub mod bgpdump;
mod error;
pub mod filter;
mod reader;
pub mod routes;
pub mod table_dump;
pub mod table_dump_v2;
pub mod view;
mod writer;

pub use bgp4mp::{Bgp4mp, Bgp4mpEvent};
pub use error::{Error, ErrorKind};
pub use reader::{Compression, MrtReader, RawRecord, DEFAULT_MAX_RECORD_LEN};
pub use table_dump::TableDump;
pub use table_dump_v2::{Peer, PeerIndexTable, Rib, RibEntry, RibNlri, TableDumpV2};
pub use writer::{CompressedWriter, MrtWriter};

use error::At;

/// MRT type codes (RFC 6396 §4, IANA "MRT Types").
pub mod mrt_type {
    /// OSPFv2.
    pub const OSPF2: u16 = 11;
    /// TABLE_DUMP.
    pub const TABLE_DUMP: u16 = 12;
    /// TABLE_DUMP_V2.
    pub const TABLE_DUMP_V2: u16 = 13;
    /// BGP4MP.
    pub const BGP4MP: u16 = 16;
    /// BGP4MP_ET (extended timestamp).
    pub const BGP4MP_ET: u16 = 17;
    /// IS-IS.
    pub const ISIS: u16 = 32;
    /// IS-IS_ET.
    pub const ISIS_ET: u16 = 33;
    /// OSPFv3.
    pub const OSPF3: u16 = 48;
    /// OSPFv3_ET.
    pub const OSPF3_ET: u16 = 49;

    /// Whether records of this type carry the microsecond timestamp field.
    pub fn is_extended(t: u16) -> bool {
        matches!(t, BGP4MP_ET | ISIS_ET | OSPF3_ET)
    }
}

/// The common header's length.
pub const HEADER_LEN: usize = 12;

/// One MRT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Seconds since the Unix epoch.
    pub timestamp: u32,
    /// The microseconds of the extended-timestamp types (BGP4MP_ET for a
    /// [`Body::Bgp4mp`]): `Some` writes BGP4MP_ET, `None` BGP4MP.
    pub microseconds: Option<u32>,
    /// What the record holds.
    pub body: Body,
}

/// The content of an MRT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// TABLE_DUMP_V2.
    TableDumpV2(TableDumpV2),
    /// BGP4MP or BGP4MP_ET.
    Bgp4mp(Bgp4mp),
    /// TABLE_DUMP (boxed: a legacy format, and a large one).
    TableDump(Box<TableDump>),
    /// A record of a type or subtype this crate does not decode, kept as is.
    Other {
        /// The MRT type.
        mrt_type: u16,
        /// The subtype.
        subtype: u16,
        /// The message, after the microsecond field if the type has one.
        data: Vec<u8>,
    },
}

impl Record {
    /// The MRT type and subtype this record is written with.
    pub fn type_and_subtype(&self) -> Result<(u16, u16), ErrorKind> {
        Ok(match &self.body {
            Body::TableDumpV2(t) => (mrt_type::TABLE_DUMP_V2, t.subtype()?),
            Body::Bgp4mp(b) => {
                let t = if self.microseconds.is_some() {
                    mrt_type::BGP4MP_ET
                } else {
                    mrt_type::BGP4MP
                };
                (t, b.subtype()?)
            }
            Body::TableDump(t) => (mrt_type::TABLE_DUMP, t.subtype()),
            Body::Other {
                mrt_type, subtype, ..
            } => (*mrt_type, *subtype),
        })
    }

    /// Append the whole record, header included, to `out`. On error `out`
    /// is left as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
        let start = out.len();
        let result = self.encode_inner(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
        let (t, subtype) = self.type_and_subtype()?;
        let extended = mrt_type::is_extended(t);
        if self.microseconds.is_some() && !extended {
            return Err(ErrorKind::Unencodable(
                "a microsecond timestamp on a type without one",
            ));
        }
        let start = out.len();
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&subtype.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        if extended {
            out.extend_from_slice(&self.microseconds.unwrap_or(0).to_be_bytes());
        }
        match &self.body {
            Body::TableDumpV2(b) => b.encode(out)?,
            Body::Bgp4mp(b) => b.encode(out)?,
            Body::TableDump(b) => b.encode(out)?,
            Body::Other { data, .. } => out.extend_from_slice(data),
        }
        let len_at = start.saturating_add(8);
        let len = out.len().saturating_sub(len_at.saturating_add(4));
        let len =
            u32::try_from(len).map_err(|_| ErrorKind::Unencodable("record longer than 4 GiB"))?;
        if let Some(slot) = out.get_mut(len_at..len_at.saturating_add(4)) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }
}

/// A parsed common header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) timestamp: u32,
    pub(crate) mrt_type: u16,
    pub(crate) subtype: u16,
    pub(crate) length: u32,
}

impl Header {
    pub(crate) fn parse(b: [u8; HEADER_LEN]) -> Header {
        let [t0, t1, t2, t3, y0, y1, s0, s1, l0, l1, l2, l3] = b;
        Header {
            timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
            mrt_type: u16::from_be_bytes([y0, y1]),
            subtype: u16::from_be_bytes([s0, s1]),
            length: u32::from_be_bytes([l0, l1, l2, l3]),
        }
    }
}

/// Decode a record from its header and its message (`length` bytes).
pub(crate) fn decode_body(h: Header, message: &[u8]) -> Result<Record, At> {
    decode_body_with(h, message, &mut attrs::AttrDecoder::default())
}

/// [`decode_body`] with the attribute decoder's buffers of the caller, kept
/// from one record to the next by [`MrtReader`].
pub(crate) fn decode_body_with(
    h: Header,
    message: &[u8],
    decoder: &mut attrs::AttrDecoder,
) -> Result<Record, At> {
    let mut body = message;
    let mut base = HEADER_LEN;
    let microseconds = if mrt_type::is_extended(h.mrt_type) {
        let Some((us, rest)) = message.split_first_chunk::<4>() else {
            return Err(At::new(
                HEADER_LEN,
                ErrorKind::Truncated {
                    what: "microsecond timestamp",
                    needed: 4,
                    available: u64::try_from(message.len()).unwrap_or(u64::MAX),
                },
            ));
        };
        body = rest;
        base = HEADER_LEN.saturating_add(4);
        Some(u32::from_be_bytes(*us))
    } else {
        None
    };
    let decoded = match h.mrt_type {
        mrt_type::TABLE_DUMP_V2 => {
            TableDumpV2::decode(h.subtype, body, base, decoder).map(|r| r.map(Body::TableDumpV2))
        }
        mrt_type::BGP4MP | mrt_type::BGP4MP_ET => {
            Bgp4mp::decode(h.subtype, body, base).map(|r| r.map(Body::Bgp4mp))
        }
        mrt_type::TABLE_DUMP => TableDump::decode(h.subtype, body, base)
            .map(|r| r.map(|t| Body::TableDump(Box::new(t)))),
        _ => None,
    };
    let body = match decoded {
        Some(b) => b?,
        None => Body::Other {
            mrt_type: h.mrt_type,
            subtype: h.subtype,
            data: body.to_vec(),
        },
    };
    Ok(Record {
        timestamp: h.timestamp,
        microseconds,
        body,
    })
}

/// Decode the attribute field of a RIB entry (RFC 6396 §4.3.4), as
/// [`view::EntryView::attributes`] gives it: the path attributes, the next
/// hop of MP_REACH_NLRI if there is one, and what RFC 7606 would do about
/// malformed ones. `four_octet_as` is true for TABLE_DUMP_V2, false for
/// TABLE_DUMP. Error offsets count from the start of `bytes`.
pub fn decode_rib_attributes(
    bytes: &[u8],
    four_octet_as: bool,
) -> Result<
    (
        ribbit_wire::PathAttributes,
        Option<ribbit_wire::NextHop>,
        Vec<ribbit_wire::AttributeIssue>,
    ),
    Error,
> {
    let a = attrs::decode_attributes(bytes, 0, four_octet_as).map_err(|e| e.at(0))?;
    Ok((a.attributes, a.mp_next_hop, a.issues))
}

/// Decode the record at the start of `bytes`; returns it and the number of
/// bytes it took. Errors carry offsets from the start of `bytes`. This is
/// the whole decoder behind [`MrtReader`], without I/O: the entry point for
/// fuzzing.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), Error> {
    let Some((head, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(Error::new(
            0,
            ErrorKind::Truncated {
                what: "MRT header",
                needed: HEADER_LEN as u64,
                available: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            },
        ));
    };
    let h = Header::parse(*head);
    let len = usize::try_from(h.length).unwrap_or(usize::MAX);
    let Some(message) = rest.get(..len) else {
        return Err(Error::new(
            HEADER_LEN as u64,
            ErrorKind::Truncated {
                what: "MRT message",
                needed: u64::from(h.length),
                available: u64::try_from(rest.len()).unwrap_or(u64::MAX),
            },
        ));
    };
    let record = decode_body(h, message).map_err(|e| e.at(0))?;
    Ok((record, HEADER_LEN.saturating_add(len)))
}

#[cfg(test)]
mod tests;
