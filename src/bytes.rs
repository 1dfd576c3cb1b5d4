//! Word-at-a-time byte searches shared by the decoders and the parsers.
//!
//! Owns the bit tricks, nothing else: eight bytes at a time in a `u64` (SWAR) for the
//! short spans where a `memchr` call costs more to set up than the search itself (field
//! names, header strings, bare values); 64-byte masks ([`Block`], 16-byte compares
//! through `wide`, SSE2 on `x86_64`) for every newline of a buffer ([`Positions`]) and for
//! long strings dense with quotes and backslashes, with escape tracking ([`Escapes`]).
//! No `unsafe`: `wide` wraps the intrinsics. Used by `source` and `parse`; imports
//! nothing of the crate.

use wide::u8x16;

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

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

/// `a == b`, inline for the short values the decoders compare per entry (ids, units,
/// hosts, identifiers: a few to a few dozen bytes), where a call to `memcmp` costs more
/// than the compare: words of eight bytes, the last one overlapping.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if n > 64 {
        return a == b;
    }
    let mut i = 0;
    while i + 8 < n {
        if word_at(a, i) != word_at(b, i) {
            return false;
        }
        i += 8;
    }
    word_at(a, n - 8) == word_at(b, n - 8)
}

/// Whether `bytes` are UTF-8, as text: SIMD validation (`simdutf8`), several times
/// faster than `str::from_utf8` on long ASCII lines. `None` when they are not UTF-8
/// (callers then decode lossily).
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// 64 bytes loaded once as four 16-byte lanes, to be compared with several bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Block([u8x16; 4]);

impl Block {
    #[inline]
    pub(crate) fn load(block: &[u8; 64]) -> Block {
        let lane = |k: usize| {
            u8x16::from(<[u8; 16]>::try_from(&block[16 * k..16 * k + 16]).unwrap_or_default())
        };
        Block([lane(0), lane(1), lane(2), lane(3)])
    }

    /// The 64 bytes of `s` from `at`; past its end, `pad`.
    #[inline]
    pub(crate) fn load_padded(s: &[u8], at: usize, pad: u8) -> Block {
        if let Some(block) = s
            .get(at..at + 64)
            .and_then(|b| <&[u8; 64]>::try_from(b).ok())
        {
            return Block::load(block);
        }
        let rest = s.get(at..).unwrap_or_default();
        let mut block = [pad; 64];
        block[..rest.len()].copy_from_slice(rest);
        Block::load(&block)
    }

    /// Bit `i` set exactly where byte `i` is `byte`: a compare and a byte mask per lane
    /// (pcmpeqb + pmovmskb on `x86_64`).
    #[inline]
    pub(crate) fn eq(&self, byte: u8) -> u64 {
        let needle = u8x16::splat(byte);
        let mut mask = 0;
        for (k, lane) in self.0.iter().enumerate() {
            let bits = lane.simd_eq(needle).to_bitmask() & 0xffff;
            mask |= u64::from(bits) << (16 * k);
        }
        mask
    }
}

/// Bit `i` is the XOR of bits `0..=i` of `x`: from the quotes of a block, which bytes
/// are inside a string (the opening quote counts as inside, the closing one not).
#[inline]
pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// [`Block::eq`] of the 64 bytes of `hay` from `at`; past its end, bytes that are not
/// `byte` (so a short last block flags only what is there).
#[inline]
fn mask_from(hay: &[u8], at: usize, byte: u8) -> u64 {
    Block::load_padded(hay, at, !byte).eq(byte)
}

/// The offsets of every `byte` in a slice, in order (an iterator like
/// `memchr::memchr_iter`). Compares 64 bytes at a time and then takes the hits from the
/// mask, a trailing-zeros count each: for hits a few dozen bytes apart (the lines of an
/// export stream) that is several times cheaper than a `memchr` call per hit, whose setup
/// costs more than its search.
#[derive(Debug, Clone)]
pub(crate) struct Positions<'a> {
    hay: &'a [u8],
    byte: u8,
    /// Offset of the block `mask` describes.
    base: usize,
    /// The hits of that block not yet returned.
    mask: u64,
}

impl<'a> Positions<'a> {
    pub(crate) fn new(hay: &'a [u8], byte: u8) -> Self {
        Self {
            hay,
            byte,
            base: 0,
            mask: mask_from(hay, 0, byte),
        }
    }
}

impl Iterator for Positions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.base + 64 >= self.hay.len() {
                return None;
            }
            self.base += 64;
            self.mask = mask_from(self.hay, self.base, self.byte);
        }
        let i = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + i)
    }
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
}

/// A small deterministic generator for randomized tests: `next(n)` is in `0..n`.
#[cfg(test)]
pub(crate) fn test_rng(seed: u32) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |n| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (state >> 16) as usize % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position of the needle in slices of every length around the block size,
    /// with hits at block edges and in the padding's place: the same as a byte walk.
    #[test]
    fn positions_are_every_hit_in_order() {
        let mut next = test_rng(11);
        for len in 0..300usize {
            for density in [2, 7, 60] {
                let hay: Vec<u8> = (0..len)
                    .map(|_| if next(density) == 0 { b'\n' } else { 0xf5 })
                    .collect();
                let want: Vec<usize> = (0..len).filter(|&i| hay[i] == b'\n').collect();
                assert_eq!(
                    Positions::new(&hay, b'\n').collect::<Vec<_>>(),
                    want,
                    "{len}"
                );
                let all = vec![0xf5u8; len];
                let want: Vec<usize> = (0..len).collect();
                assert_eq!(Positions::new(&all, 0xf5).collect::<Vec<_>>(), want);
            }
        }
    }

    /// The SIMD mask against a byte-by-byte one, for every byte value as needle and as
    /// neighbour.
    #[test]
    fn block_mask_flags_exactly_the_equal_bytes() {
        for needle in 0..=255u8 {
            let mut block = [0u8; 64];
            for (i, b) in block.iter_mut().enumerate() {
                *b = u8::try_from(i * 37 % 256).unwrap() ^ needle.rotate_left(3);
            }
            block[0] = needle;
            block[63] = needle;
            let want = (0..64)
                .filter(|&i| block[i] == needle)
                .fold(0u64, |m, i| m | 1 << i);
            assert_eq!(Block::load(&block).eq(needle), want, "{needle}");
        }
    }

    #[test]
    fn prefix_xor_marks_what_lies_between_quotes() {
        let quotes = 0b1000_1001_0000_0010u64;
        assert_eq!(prefix_xor(quotes), 0b0111_1000_1111_1110);
        assert_eq!(prefix_xor(1), u64::MAX);
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
    }

    /// `same` against `==` for every length up to past its word path, with the one
    /// differing byte at every position.
    #[test]
    fn same_is_byte_equality() {
        for n in 0..80usize {
            let a: Vec<u8> = (0..n).map(|i| u8::try_from(i % 251).unwrap()).collect();
            assert!(same(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{n} {at}");
            }
            assert!(!same(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn utf8_accepts_text_and_refuses_the_rest() {
        assert_eq!(utf8("héllo wörld ✓".as_bytes()), Some("héllo wörld ✓"));
        assert_eq!(utf8(&[b'a'; 200]).map(str::len), Some(200));
        assert_eq!(utf8(b"ab\xffcd"), None);
        assert_eq!(utf8(&[0xe2, 0x9c]), None);
    }

    /// Every byte value at every position: the lowest flag of `zero_bytes` is the first
    /// equal byte.
    #[test]
    fn zero_bytes_first_flag_is_the_first_equal_byte() {
        for target in [0u8, b'"', b'\\', b'=', 0x80, 0xff] {
            for other in 0..=255u8 {
                for at in 0..8 {
                    let mut bytes = [other; 8];
                    bytes[at] = target;
                    let word = u64::from_le_bytes(bytes);
                    let first = bytes.iter().position(|&b| b == target).unwrap();
                    assert_eq!(first_flagged(zero_bytes(word ^ splat(target))), first);
                }
            }
        }
    }
}
