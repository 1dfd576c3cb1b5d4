//! Word-at-a-time byte searches shared by the decoders and the parsers.
//!
//! Owns the bit tricks, nothing else: eight bytes at a time in a `u64` (SWAR) for the
//! short spans where a `memchr` call costs more to set up than the search itself (field
//! names, header strings, bare values), and 64-byte masks with escape tracking for long
//! strings dense with quotes and backslashes (a JSON body quoted inside a log line).
//! Plain integer arithmetic: no `unsafe`, no intrinsics. Used by `source` and `parse`;
//! imports nothing of the crate.

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;
/// `0x7f` in every byte.
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// `b` in every byte.
pub(crate) fn splat(b: u8) -> u64 {
    ONES * u64::from(b)
}

/// The eight bytes at `i`, little-endian; `None` when fewer than eight are left.
pub(crate) fn word_at(s: &[u8], i: usize) -> Option<u64> {
    let bytes = s.get(i..i.checked_add(8)?)?;
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
}

/// Flags (high bit) the zero bytes of `x`. The lowest flag is always exact; flags above a
/// true zero byte can be wrong, so only the lowest may be used ([`first_flagged`]).
pub(crate) fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Byte offset of the lowest flag (`flags != 0`).
pub(crate) fn first_flagged(flags: u64) -> usize {
    // trailing_zeros() / 8 is at most 7.
    usize::try_from(flags.trailing_zeros() / 8).unwrap_or(0)
}

/// Bit `i` set exactly where byte `i` of `word` is `byte` (every flag exact, unlike
/// [`zero_bytes`]).
pub(crate) fn equal_bytes(word: u64, byte: u8) -> u8 {
    let x = word ^ splat(byte);
    // High bit of each byte that is zero (no carry crosses bytes: 0x7f + 0x7f < 0x100).
    let zero = !(((x & LOW7) + LOW7) | x | LOW7);
    // Gathers the eight high bits into one byte, byte 0 → bit 0; the top byte of the
    // product holds them, so the shift leaves at most eight bits.
    u8::try_from((zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56).unwrap_or(0)
}

/// Masks of the bytes of a 64-byte block equal to `a` and to `b` (bit `i` is byte `i`).
pub(crate) fn block_masks(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    let (mut mask_a, mut mask_b) = (0u64, 0u64);
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        mask_a |= u64::from(equal_bytes(word, a)) << (8 * k);
        mask_b |= u64::from(equal_bytes(word, b)) << (8 * k);
    }
    (mask_a, mask_b)
}

/// Which bytes of consecutive 64-byte blocks a backslash escapes: the byte after a run
/// of an odd number of backslashes (simdjson's escape scanner, in plain integers).
#[derive(Debug, Default)]
pub(crate) struct Escapes {
    /// 1 when the last block ended in an odd run: the next block's first byte is escaped.
    next_is_escaped: u64,
}

impl Escapes {
    /// The escaped bytes of the next block, given its backslashes.
    pub(crate) fn next(&mut self, backslashes: u64) -> u64 {
        const EVEN: u64 = 0x5555_5555_5555_5555;
        let escaped = std::mem::take(&mut self.next_is_escaped);
        if backslashes == 0 {
            return escaped;
        }
        // A backslash that is itself escaped escapes nothing.
        let backslashes = backslashes & !escaped;
        let follows_escape = (backslashes << 1) | escaped;
        let odd_starts = backslashes & !EVEN & !follows_escape;
        let (even_starts, overflow) = odd_starts.overflowing_add(backslashes);
        self.next_is_escaped = u64::from(overflow);
        (EVEN ^ (even_starts << 1)) & follows_escape
    }

    /// Whether the byte after the last block is escaped (the last block ended in an
    /// odd run of backslashes).
    pub(crate) fn next_is_escaped(&self) -> bool {
        self.next_is_escaped != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position: the exact mask flags exactly the equal
    /// bytes, and the lowest flag of `zero_bytes` is the first equal byte.
    #[test]
    fn masks_flag_exactly_the_equal_bytes() {
        for target in [0u8, b'"', b'\\', b'=', 0x80, 0xff] {
            for other in 0..=255u8 {
                for at in 0..8 {
                    let mut bytes = [other; 8];
                    bytes[at] = target;
                    let word = u64::from_le_bytes(bytes);
                    let want: u8 = (0..8)
                        .filter(|&i| bytes[i] == target)
                        .fold(0, |m, i| m | 1 << i);
                    assert_eq!(equal_bytes(word, target), want, "{target} {other} {at}");
                    let first = bytes.iter().position(|&b| b == target).unwrap();
                    assert_eq!(first_flagged(zero_bytes(word ^ splat(target))), first);
                }
            }
        }
    }
}
