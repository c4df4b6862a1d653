//! Helpers shared by the unit tests of this crate.

/// Bytes from hex text; anything that is not a hex digit (spaces, colons)
/// is skipped, so vectors can be written in readable groups.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .chars()
        .filter_map(|c| c.to_digit(16))
        .map(|d| d as u8)
        .collect();
    assert!(
        digits.len().is_multiple_of(2),
        "odd number of hex digits in {s:?}"
    );
    digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}
