//! A decode context taken from the first two input bytes, so that every
//! combination of negotiated settings gets fuzzed.

use ribbit_wire::{DecodeContext, Family, FamilySet};

/// Split `data` into a context and the rest.
pub fn split(data: &[u8]) -> Option<(DecodeContext, &[u8])> {
    let (&a, rest) = data.split_first()?;
    let (&b, rest) = rest.split_first()?;
    let bits = u16::from_be_bytes([a, b]);
    let add_path: FamilySet = Family::known()
        .enumerate()
        .filter(|(i, _)| bits & (1 << (i + 2)) != 0)
        .map(|(_, f)| f)
        .collect();
    let ctx = DecodeContext {
        four_octet_as: bits & 1 != 0,
        extended_message: bits & 2 != 0,
        add_path,
    };
    Some((ctx, rest))
}
