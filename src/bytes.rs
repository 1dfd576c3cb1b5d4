//! Fast byte searches, as named operations: the decoders and the parsers ask *where* (the
//! next `=`, the end of a quoted value, the end of a bracketed value, every newline) and
//! this file decides *how*.
//!
//! Owns the bit tricks, and keeps them to itself: eight bytes at a time in a `u64` (SWAR)
//! for the short spans where a `memchr` call costs more to set up than the search itself
//! (field names, header strings, bare values), then `memchr` for what is longer; 64-byte
//! masks (`Block`, 16-byte compares through `wide`, SSE2 on `x86_64`) for every newline of
//! a buffer ([`positions`]) and for long strings dense with quotes and backslashes, with
//! escape tracking (`Escapes`). No caller sees a mask. No `unsafe`: `wide` wraps the
//! intrinsics. Used by `source` and `parse`; imports nothing of the crate.
//!
//! The verbs:
//! - [`find_byte`], [`find_byte_where`]: the one "scan fast, then confirm" loop (a word
//!   search for a candidate, `memchr` past the first 64 bytes, the caller's test on each);
//! - [`quoted_end`]: where a quoted value ends, a backslash escaping the byte after it
//!   (JSON, Go `strconv.Quote` and Python `repr` strings all end by this rule; what their
//!   escapes *mean* differs, so decoding stays with each format's parser);
//! - [`bracketed_end`]: where a JSON object or array ends, without checking its syntax;
//! - [`positions`]: every offset of a byte in a buffer (newlines of an export stream);
//! - [`same`], [`utf8`]: equality and UTF-8 validation for short values.

use wide::u8x16;

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// How many bytes the word-at-a-time searches look at before handing over to `memchr`
/// (or, for quoted values, to 64-byte blocks): past that, a call's set-up is paid back.
const WORD_SCAN_BYTES: usize = 64;

/// `b` in every byte.
fn splat(b: u8) -> u64 {
    ONES * u64::from(b)
}

/// The eight bytes at `i`, little-endian; `None` when fewer than eight are left.
fn word_at(s: &[u8], i: usize) -> Option<u64> {
    let bytes = s.get(i..i.checked_add(8)?)?;
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
}

/// Flags (high bit) the zero bytes of `x`. The lowest flag is always exact; flags above a
/// true zero byte can be wrong, so only the lowest may be used ([`first_flagged`]).
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Byte offset of the lowest flag (`flags != 0`).
fn first_flagged(flags: u64) -> usize {
    // trailing_zeros() / 8 is at most 7.
    usize::try_from(flags.trailing_zeros() / 8).unwrap_or(0)
}

/// Index of the first `byte` at or after `from`, `None` when there is none.
///
/// The values searched are mostly short (a field name's `=`, a bare value's closing
/// space), so the first [`WORD_SCAN_BYTES`] are looked at eight at a time (a word compare,
/// no call); a longer span goes on with `memchr`.
#[inline]
pub(crate) fn find_byte(s: &[u8], from: usize, byte: u8) -> Option<usize> {
    let mut i = from;
    let word_end = from.saturating_add(WORD_SCAN_BYTES);
    while i < word_end {
        let Some(word) = word_at(s, i) else {
            // Fewer than eight bytes left: a plain walk.
            let rest = s.get(i..)?;
            return rest.iter().position(|&b| b == byte).map(|k| i + k);
        };
        let hits = zero_bytes(word ^ splat(byte));
        if hits != 0 {
            return Some(i + first_flagged(hits));
        }
        i += 8;
    }
    let rest = s.get(i..)?;
    if rest.len() < 8 {
        rest.iter().position(|&b| b == byte)
    } else {
        memchr::memchr(byte, rest)
    }
    .map(|k| i + k)
}

/// Index of the first `byte` at or after `from` that `is_it` confirms, `None` when no
/// candidate is confirmed: the scan-fast-then-confirm loop ([`find_byte`] for each
/// candidate, the caller's test on it). `is_it` may also end the search early by
/// returning true and telling its caller so through what it captures.
#[inline]
pub(crate) fn find_byte_where(
    s: &[u8],
    from: usize,
    byte: u8,
    mut is_it: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let mut i = from;
    while let Some(at) = find_byte(s, i, byte) {
        if is_it(at) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Index just past the closing quote of the quoted value whose opening quote is at
/// `start` (the byte there, `"` or `'`, is the quote), or `None` when it does not close.
/// A backslash escapes the byte after it: the rule of JSON strings, Go `strconv.Quote`
/// strings and Python `repr` strings alike.
///
/// Most quoted values are short and plain (header names and values): up to
/// [`WORD_SCAN_BYTES`] are read a word at a time, looking for the closing quote or a
/// backslash. A longer value, or one with a backslash (a logged JSON `response_body`
/// whose quotes are all escaped, a pushed config: a quote or backslash every few bytes,
/// kilobytes long), goes on 64 bytes at a time as masks of quotes and backslashes, the
/// escaped bytes of the whole block worked out at once (`Escapes`): a call per hit, or a
/// byte walk, was the largest single cost of parsing such lines.
pub(crate) fn quoted_end(s: &[u8], start: usize) -> Option<usize> {
    let quote = *s.get(start)?;
    let mut i = start + 1;
    let word_end = i.saturating_add(WORD_SCAN_BYTES);
    while i < word_end {
        let Some(word) = word_at(s, i) else {
            // Fewer than eight bytes left: a plain walk.
            while let Some(&b) = s.get(i) {
                if b == quote {
                    return Some(i + 1);
                }
                i += if b == b'\\' { 2 } else { 1 };
            }
            return None;
        };
        let hits = zero_bytes(word ^ splat(quote)) | zero_bytes(word ^ splat(b'\\'));
        if hits == 0 {
            i += 8;
            continue;
        }
        let at = i + first_flagged(hits);
        if s[at] == quote {
            return Some(at + 1);
        }
        // A backslash: a value with one escape usually has many (an embedded JSON
        // document), so the rest is read as blocks, from this backslash on.
        i = at;
        break;
    }
    // `i` is never an escaped byte here (the bytes before it hold no backslash), so the
    // escape tracking starts afresh. A last block shorter than 64 bytes is padded with
    // spaces, which are neither quotes nor backslashes.
    let mut escapes = Escapes::default();
    while i < s.len() {
        let block = Block::load_padded(s, i, b' ');
        let ends = block.eq(quote) & !escapes.next(block.eq(b'\\'));
        if ends != 0 {
            return Some(i + ends.trailing_zeros() as usize + 1);
        }
        i += 64;
    }
    None
}

/// Index just past the JSON object or array opening at `start`, found by matching brackets
/// outside strings (`"`-quoted, backslash escapes), without checking the syntax in
/// between; `None` when it does not close, or nests deeper than `max_depth`. A backslash
/// outside a string (not JSON) escapes the byte after it here too.
///
/// A header map is a kilobyte of short strings: it is read 64 bytes at a time as masks
/// (quotes less the escaped ones; what is inside strings, from a prefix XOR of the quotes;
/// brackets outside them), and only the brackets are then visited one by one.
pub(crate) fn bracketed_end(s: &[u8], start: usize, max_depth: u32) -> Option<usize> {
    let mut depth: u32 = 0;
    let mut escapes = Escapes::default();
    // All ones when the block before ended inside a string.
    let mut inside = 0u64;
    let mut at = start;
    while at < s.len() {
        let block = Block::load_padded(s, at, b' ');
        let quotes = block.eq(b'"') & !escapes.next(block.eq(b'\\'));
        let in_string = prefix_xor(quotes) ^ inside;
        inside = 0u64.wrapping_sub(in_string >> 63);
        let opens = (block.eq(b'{') | block.eq(b'[')) & !in_string;
        let mut brackets = (opens | block.eq(b'}') | block.eq(b']')) & !in_string;
        while brackets != 0 {
            let bit = brackets & brackets.wrapping_neg();
            brackets ^= bit;
            if opens & bit != 0 {
                depth += 1;
                if depth > max_depth {
                    return None;
                }
            } else {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + bit.trailing_zeros() as usize + 1);
                }
            }
        }
        at += 64;
    }
    None
}

/// The offsets of every `byte` in `hay`, in order (an iterator like
/// `memchr::memchr_iter`). Compares 64 bytes at a time and then takes the hits from the
/// mask, a trailing-zeros count each: for hits a few dozen bytes apart (the lines of an
/// export stream) that is several times cheaper than a `memchr` call per hit, whose setup
/// costs more than its search.
pub(crate) fn positions(hay: &[u8], byte: u8) -> Positions<'_> {
    Positions {
        hay,
        byte,
        base: 0,
        mask: mask_from(hay, 0, byte),
    }
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
struct Block([u8x16; 4]);

impl Block {
    #[inline]
    fn load(block: &[u8; 64]) -> Block {
        let lane = |k: usize| {
            u8x16::from(<[u8; 16]>::try_from(&block[16 * k..16 * k + 16]).unwrap_or_default())
        };
        Block([lane(0), lane(1), lane(2), lane(3)])
    }

    /// The 64 bytes of `s` from `at`; past its end, `pad`.
    #[inline]
    fn load_padded(s: &[u8], at: usize, pad: u8) -> Block {
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
    fn eq(&self, byte: u8) -> u64 {
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
fn prefix_xor(mut x: u64) -> u64 {
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

/// What [`positions`] returns.
#[derive(Debug, Clone)]
pub(crate) struct Positions<'a> {
    hay: &'a [u8],
    byte: u8,
    /// Offset of the block `mask` describes.
    base: usize,
    /// The hits of that block not yet returned.
    mask: u64,
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
struct Escapes {
    /// 1 when the last block ended in an odd run: the next block's first byte is escaped.
    next_is_escaped: u64,
}

impl Escapes {
    /// The escaped bytes of the next block, given its backslashes.
    fn next(&mut self, backslashes: u64) -> u64 {
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
                assert_eq!(positions(&hay, b'\n').collect::<Vec<_>>(), want, "{len}");
                let all = vec![0xf5u8; len];
                let want: Vec<usize> = (0..len).collect();
                assert_eq!(positions(&all, 0xf5).collect::<Vec<_>>(), want);
            }
        }
    }

    /// Every length and hit position around the eight-byte words and the switch to
    /// `memchr`: the first hit at or after `from`, as a byte walk finds it.
    #[test]
    fn find_byte_is_the_first_hit_wherever_the_words_fall() {
        for len in 0..150 {
            for hit in 0..=len {
                let mut s: Vec<u8> = (0..len)
                    .map(|k| b'a' + u8::try_from(k % 26).unwrap())
                    .collect();
                if hit < len {
                    s[hit] = b'=';
                }
                for from in [0, 1, 7, 9, 70] {
                    let want = s
                        .get(from..)
                        .and_then(|t| t.iter().position(|&c| c == b'='))
                        .map(|p| from + p);
                    assert_eq!(find_byte(&s, from, b'='), want, "len {len} hit {hit}");
                }
            }
        }
        assert_eq!(find_byte("É\u{3d}".as_bytes(), 0, b'='), Some(2));
        assert_eq!(find_byte(b"=x", 0, b'='), Some(0));
    }

    /// Candidates the test refuses are passed over; the search resumes after each.
    #[test]
    fn find_byte_where_skips_unconfirmed_candidates() {
        let s = b"a] b] ] c".repeat(12);
        let mut seen = Vec::new();
        let found = find_byte_where(&s, 0, b']', |at| {
            seen.push(at);
            s[at..].starts_with(b"] c")
        });
        assert_eq!(found, Some(6));
        assert_eq!(seen, [1, 4, 6]);
        let far = find_byte_where(&s, 0, b']', |at| at > 100);
        assert_eq!(
            far,
            s.iter()
                .enumerate()
                .position(|(i, &c)| c == b']' && i > 100)
        );
        assert_eq!(find_byte_where(&s, 0, b'z', |_| true), None);
    }

    /// The end of a quoted value by a byte walk: the reference.
    fn quoted_walk(b: &[u8], start: usize) -> Option<usize> {
        let mut i = start + 1;
        while i < b.len() {
            match b[i] {
                c if c == b[start] => return Some(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        None
    }

    /// The word-then-block quote search ends a quoted value where a byte-by-byte walk
    /// does, wherever quotes and backslashes fall relative to the words and the blocks,
    /// for both quote kinds, closed or not.
    #[test]
    fn quoted_end_agrees_with_a_byte_walk() {
        let pieces: [&[u8]; 8] = [
            b"ab",
            b"\\\"",
            b"\\\\",
            b"'",
            b"\"",
            b"xyz\\",
            b"\\\\\\",
            b"0123456789abcdefghijklmnopqrstuvwxyz",
        ];
        let mut next = test_rng(7);
        let mut longest = 0;
        for round in 0..6000 {
            let quote = if round % 4 == 1 { b'\'' } else { b'"' };
            let mut b = vec![quote];
            // Short strings with any piece; long ones (up to ~1 KB) where a bare quote is
            // rare, so that they end far in, after runs of backslashes across the blocks.
            let (n, kinds) = if round % 3 == 0 {
                (next(13), pieces.len())
            } else {
                (20 + next(80), pieces.len() - 1)
            };
            for _ in 0..n {
                let piece = match next(kinds) {
                    4 => pieces[7],
                    k => pieces[k],
                };
                b.extend_from_slice(piece);
            }
            if round % 2 == 0 {
                b.push(quote);
            }
            longest = longest.max(quoted_walk(&b, 0).unwrap_or(0));
            assert_eq!(
                quoted_end(&b, 0),
                quoted_walk(&b, 0),
                "{:?}",
                String::from_utf8_lossy(&b)
            );
        }
        assert!(longest > 500, "{longest}");
    }

    /// Every length and position of an escaped quote around the words and the switch to
    /// blocks: the value ends at the quote after it.
    #[test]
    fn quoted_end_skips_an_escaped_quote_anywhere() {
        for len in 0..150 {
            for hit in 0..=len {
                let mut q = vec![b'"'];
                q.extend((0..len).map(|k| b'a' + u8::try_from(k % 26).unwrap()));
                if hit < len {
                    q[hit + 1] = b'\\';
                    q.insert(hit + 2, b'"');
                }
                q.extend_from_slice(b"\" tail\"");
                assert_eq!(
                    quoted_end(&q, 0),
                    quoted_walk(&q, 0),
                    "len {len} hit {hit}: {}",
                    String::from_utf8_lossy(&q)
                );
                assert!(quoted_end(&q, 0).is_some());
            }
        }
        assert_eq!(quoted_end(b"", 0), None);
        assert_eq!(quoted_end(b"\"ab\\", 0), None);
    }

    /// The byte walk `bracketed_end` was before it read blocks: the reference.
    fn bracketed_walk(s: &[u8], start: usize, max_depth: u32) -> Option<usize> {
        let mut depth: u32 = 0;
        let mut i = start;
        loop {
            match *s.get(i)? {
                b'"' => i = quoted_walk(s, i)?,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > max_depth {
                        return None;
                    }
                    i += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    i += 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => i += 1,
            }
        }
    }

    /// Random bracket soups with strings holding brackets, quotes and backslash runs,
    /// across block edges, cut anywhere: the block scan agrees with the walk.
    #[test]
    fn bracketed_end_agrees_with_a_byte_walk() {
        let pieces: [&[u8]; 12] = [
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"a b\"",
            b"\"\\\"\"",
            b"\"\\\\\"",
            b"\"{[}]\"",
            b"\"x\\\\\\\"y\"",
            b",",
            b":",
            b"\"Accept-Encoding\":[\"gzip, deflate, br\"]",
        ];
        let mut next = test_rng(5);
        let mut found = 0;
        for round in 0..20_000 {
            let mut s = b"headers=".to_vec();
            s.push(if round % 2 == 0 { b'{' } else { b'[' });
            for _ in 0..next(120) {
                s.extend_from_slice(pieces[next(pieces.len())]);
            }
            if round % 3 == 0 {
                s.extend_from_slice(b"}} rest");
            }
            let cut = if round % 5 == 0 {
                next(s.len()) + 1
            } else {
                s.len()
            };
            let s = &s[..cut.max(9)];
            let want = bracketed_walk(s, 8, 64);
            found += usize::from(want.is_some());
            assert_eq!(
                bracketed_end(s, 8, 64),
                want,
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
        assert!(
            found > 1000,
            "too few complete values to mean anything: {found}"
        );
    }

    #[test]
    fn bracketed_end_refuses_nesting_past_the_limit() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(bracketed_end(deep.as_bytes(), 0, 64), None);
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(bracketed_end(ok.as_bytes(), 0, 64), Some(128));
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
