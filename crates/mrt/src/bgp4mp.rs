//! BGP4MP and BGP4MP_ET (RFC 6396 §4.4) with the ADD-PATH subtypes of RFC 8050.
//!
//! ```text
//!  Peer AS (2/4) | Local AS (2/4) | Interface Index (2) | Address Family (2)
//!  | Peer IP (4/16) | Local IP (4/16) | then
//!  STATE_CHANGE: Old State (2) | New State (2)
//!  MESSAGE:      the whole BGP message, marker and header included
//! ```
//!
//! The AS fields take four octets in the `_AS4` subtypes. The `_LOCAL`
//! subtypes hold messages the collector sent rather than received; the
//! `_ADDPATH` ones messages of a session that negotiated ADD-PATH.

use std::net::IpAddr;

use ribbit_wire::reader::Reader;
use ribbit_wire::{DecodeContext, DecodeError, Family, FamilySet, Message};

use crate::attrs::{read_ip, write_ip};
use crate::error::{truncated, At, ErrorKind};

/// BGP4MP subtype codes (RFC 6396 §4.4, RFC 8050 §3).
pub mod subtype {
    /// BGP4MP_STATE_CHANGE.
    pub const STATE_CHANGE: u16 = 0;
    /// BGP4MP_MESSAGE.
    pub const MESSAGE: u16 = 1;
    /// BGP4MP_MESSAGE_AS4.
    pub const MESSAGE_AS4: u16 = 4;
    /// BGP4MP_STATE_CHANGE_AS4.
    pub const STATE_CHANGE_AS4: u16 = 5;
    /// BGP4MP_MESSAGE_LOCAL.
    pub const MESSAGE_LOCAL: u16 = 6;
    /// BGP4MP_MESSAGE_AS4_LOCAL.
    pub const MESSAGE_AS4_LOCAL: u16 = 7;
    /// BGP4MP_MESSAGE_ADDPATH.
    pub const MESSAGE_ADDPATH: u16 = 8;
    /// BGP4MP_MESSAGE_AS4_ADDPATH.
    pub const MESSAGE_AS4_ADDPATH: u16 = 9;
    /// BGP4MP_MESSAGE_LOCAL_ADDPATH.
    pub const MESSAGE_LOCAL_ADDPATH: u16 = 10;
    /// BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH.
    pub const MESSAGE_AS4_LOCAL_ADDPATH: u16 = 11;
}

/// BGP finite state machine states as numbered in STATE_CHANGE records
/// (RFC 6396 §4.4.1).
pub mod state {
    /// Idle.
    pub const IDLE: u16 = 1;
    /// Connect.
    pub const CONNECT: u16 = 2;
    /// Active.
    pub const ACTIVE: u16 = 3;
    /// OpenSent.
    pub const OPEN_SENT: u16 = 4;
    /// OpenConfirm.
    pub const OPEN_CONFIRM: u16 = 5;
    /// Established.
    pub const ESTABLISHED: u16 = 6;
}

/// A BGP4MP record: a state change or a message of one BGP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bgp4mp {
    /// The peer's AS number.
    pub peer_as: u32,
    /// The collector's AS number on this session.
    pub local_as: u32,
    /// The interface index, 0 when unknown.
    pub interface: u16,
    /// The peer's address.
    pub peer_ip: IpAddr,
    /// The collector's address. Of the same family as `peer_ip`.
    pub local_ip: IpAddr,
    /// The AS fields take four octets (the `_AS4` subtypes).
    pub as4: bool,
    /// What happened.
    pub event: Bgp4mpEvent,
}

/// What a BGP4MP record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bgp4mpEvent {
    /// The session changed state (numbers as in [`state`]).
    StateChange {
        /// The state left.
        old: u16,
        /// The state entered.
        new: u16,
    },
    /// A BGP message, as it was on the wire.
    Message {
        /// Sent by the collector rather than received (the `_LOCAL` subtypes).
        local: bool,
        /// The session negotiated ADD-PATH (the `_ADDPATH` subtypes).
        add_path: bool,
        /// The whole message, marker and header included.
        bytes: Vec<u8>,
    },
}

impl Bgp4mp {
    /// The subtype this record is written with.
    pub fn subtype(&self) -> Result<u16, ErrorKind> {
        use subtype::*;
        Ok(match (&self.event, self.as4) {
            (Bgp4mpEvent::StateChange { .. }, false) => STATE_CHANGE,
            (Bgp4mpEvent::StateChange { .. }, true) => STATE_CHANGE_AS4,
            (
                Bgp4mpEvent::Message {
                    local, add_path, ..
                },
                as4,
            ) => match (as4, *local, *add_path) {
                (false, false, false) => MESSAGE,
                (true, false, false) => MESSAGE_AS4,
                (false, true, false) => MESSAGE_LOCAL,
                (true, true, false) => MESSAGE_AS4_LOCAL,
                (false, false, true) => MESSAGE_ADDPATH,
                (true, false, true) => MESSAGE_AS4_ADDPATH,
                (false, true, true) => MESSAGE_LOCAL_ADDPATH,
                (true, true, true) => MESSAGE_AS4_LOCAL_ADDPATH,
            },
        })
    }

    /// The settings to decode the message with. MRT does not record what
    /// the session negotiated, so this follows what the subtype implies, as
    /// other MRT readers do: 4-octet AS_PATHs in the `_AS4` subtypes, path
    /// identifiers in every family in the `_ADDPATH` ones, and messages up
    /// to 65535 bytes. Use [`Bgp4mp::message_with`] to decide otherwise.
    pub fn decode_context(&self) -> DecodeContext {
        let add_path = matches!(self.event, Bgp4mpEvent::Message { add_path: true, .. });
        DecodeContext {
            four_octet_as: self.as4,
            add_path: if add_path {
                Family::known().collect::<FamilySet>()
            } else {
                FamilySet::EMPTY
            },
            extended_message: true,
        }
    }

    /// The BGP message, decoded with [`Bgp4mp::decode_context`]; `None` for
    /// state changes.
    pub fn message(&self) -> Option<Result<Message, DecodeError>> {
        self.message_with(&self.decode_context())
    }

    /// The BGP message, decoded with `ctx`; `None` for state changes.
    pub fn message_with(&self, ctx: &DecodeContext) -> Option<Result<Message, DecodeError>> {
        match &self.event {
            Bgp4mpEvent::Message { bytes, .. } => Some(Message::decode(bytes, ctx)),
            Bgp4mpEvent::StateChange { .. } => None,
        }
    }

    /// Decode the body of a record of `subtype`; `None` for subtypes this
    /// crate does not know.
    pub(crate) fn decode(subtype: u16, body: &[u8], base: usize) -> Option<Result<Bgp4mp, At>> {
        use subtype::*;
        let (as4, message, local, add_path) = match subtype {
            STATE_CHANGE => (false, false, false, false),
            STATE_CHANGE_AS4 => (true, false, false, false),
            MESSAGE => (false, true, false, false),
            MESSAGE_AS4 => (true, true, false, false),
            MESSAGE_LOCAL => (false, true, true, false),
            MESSAGE_AS4_LOCAL => (true, true, true, false),
            MESSAGE_ADDPATH => (false, true, false, true),
            MESSAGE_AS4_ADDPATH => (true, true, false, true),
            MESSAGE_LOCAL_ADDPATH => (false, true, true, true),
            MESSAGE_AS4_LOCAL_ADDPATH => (true, true, true, true),
            _ => return None,
        };
        let mut r = Reader::new(body, base);
        Some((|| {
            let asn = |r: &mut Reader<'_>, what| {
                if as4 {
                    r.u32().map_err(truncated(what))
                } else {
                    r.u16().map(u32::from).map_err(truncated(what))
                }
            };
            let peer_as = asn(&mut r, "peer AS")?;
            let local_as = asn(&mut r, "local AS")?;
            let interface = r.u16().map_err(truncated("interface index"))?;
            let afi_at = r.offset();
            let v6 = match r.u16().map_err(truncated("address family"))? {
                1 => false,
                2 => true,
                _ => return Err(At::malformed(afi_at, "address family")),
            };
            let peer_ip = read_ip(&mut r, v6, "peer address")?;
            let local_ip = read_ip(&mut r, v6, "local address")?;
            let event = if message {
                Bgp4mpEvent::Message {
                    local,
                    add_path,
                    bytes: r.take_rest().to_vec(),
                }
            } else {
                let old = r.u16().map_err(truncated("old state"))?;
                let new = r.u16().map_err(truncated("new state"))?;
                if !r.is_empty() {
                    return Err(At::malformed(r.offset(), "bytes after the new state"));
                }
                Bgp4mpEvent::StateChange { old, new }
            };
            Ok(Bgp4mp {
                peer_as,
                local_as,
                interface,
                peer_ip,
                local_ip,
                as4,
                event,
            })
        })())
    }

    /// Append the body of the record.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), ErrorKind> {
        for asn in [self.peer_as, self.local_as] {
            if self.as4 {
                out.extend_from_slice(&asn.to_be_bytes());
            } else {
                let a = u16::try_from(asn).map_err(|_| {
                    ErrorKind::Unencodable("a 4-octet AS number in a 2-octet subtype")
                })?;
                out.extend_from_slice(&a.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.interface.to_be_bytes());
        let afi: u16 = match (self.peer_ip, self.local_ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) => 1,
            (IpAddr::V6(_), IpAddr::V6(_)) => 2,
            _ => {
                return Err(ErrorKind::Unencodable(
                    "peer and local addresses of different families",
                ))
            }
        };
        out.extend_from_slice(&afi.to_be_bytes());
        write_ip(&self.peer_ip, out);
        write_ip(&self.local_ip, out);
        match &self.event {
            Bgp4mpEvent::StateChange { old, new } => {
                out.extend_from_slice(&old.to_be_bytes());
                out.extend_from_slice(&new.to_be_bytes());
            }
            Bgp4mpEvent::Message { bytes, .. } => out.extend_from_slice(bytes),
        }
        Ok(())
    }
}
