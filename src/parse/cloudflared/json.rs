//! A small JSON scanner for cloudflared's lines: where a value ends, an object's members
//! and an array's elements as borrowed slices, and string decoding.
//!
//! Owns only syntax. It builds no DOM: callers walk the members they care about and skip
//! the rest, so a `headers` object costs one pass and no allocation. It is lenient where
//! leniency is harmless (numbers are any run of number characters, control bytes inside
//! strings are accepted) and strict where it decides what a record is (balanced braces,
//! quotes, `:`/`,` placement). Nesting deeper than [`MAX_DEPTH`] is rejected, so a hostile
//! line cannot overflow the stack.
//!
//! Every function is total: malformed input gives `None`, never a panic.

use std::borrow::Cow;

use crate::bytes::{first_flagged, prefix_xor, splat, word_at, zero_bytes, Block, Escapes};

/// Deepest nesting accepted. cloudflared's records nest three levels at most (`headers`
/// → list → string); the pushed `config` is decoded separately and nests about five.
pub(super) const MAX_DEPTH: u32 = 64;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    i
}

/// Index just past the closing quote of the string whose opening quote is at `start`
/// (JSON and Go-quoted strings alike: a backslash escapes the next byte).
pub(super) fn string_end(s: &[u8], start: usize) -> Option<usize> {
    let mut j = start.checked_add(1)?;
    loop {
        j = quote_or_backslash(s, j)?;
        if s.get(j) == Some(&b'\\') {
            j += 2;
        } else {
            return Some(j + 1);
        }
    }
}

/// Index of the first `"` or `\` at or after `from`.
///
/// Most strings in cloudflared's records are short (header names and values) where
/// `memchr2`'s set-up costs more than the search, so the first [`SWAR_BYTES`] are looked
/// at eight bytes at a time in a `u64`; longer strings (errors, pushed configs) go on with
/// `memchr2`.
fn quote_or_backslash(s: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let swar_end = from.saturating_add(SWAR_BYTES);
    while i < swar_end {
        let Some(w) = word_at(s, i) else {
            break;
        };
        let hits = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'));
        if hits != 0 {
            return Some(i + first_flagged(hits));
        }
        i += 8;
    }
    memchr::memchr2(b'"', b'\\', s.get(i..)?).map(|k| i + k)
}

/// Index of the first space at or after `from`, or `s.len()` (the same SWAR-then-`memchr`
/// approach: console values are mostly short).
pub(super) fn space_or_end(s: &[u8], from: usize) -> usize {
    let mut i = from;
    let swar_end = from.saturating_add(SWAR_BYTES);
    while i < swar_end {
        let Some(w) = word_at(s, i) else {
            break;
        };
        let hits = zero_bytes(w ^ splat(b' '));
        if hits != 0 {
            return i + first_flagged(hits);
        }
        i += 8;
    }
    s.get(i..)
        .and_then(|t| memchr::memchr(b' ', t))
        .map_or(s.len(), |k| i + k)
}

/// How many bytes the SWAR loops look at before switching to `memchr`.
const SWAR_BYTES: usize = 64;

/// Index just past the object or array opening at `start`, found by matching brackets
/// outside strings, without checking the syntax in between. For console values
/// (`headers={…}`), whose line is already known to be a record: only the end is needed.
/// Nesting is bounded by [`MAX_DEPTH`].
///
/// A DBG request line's header map is a kilobyte of short strings: it is read 64 bytes
/// at a time as masks (quotes less the escaped ones, [`Escapes`]; what is inside strings,
/// [`prefix_xor`]; brackets outside them), and only the brackets are then visited one by
/// one. A backslash outside a string (not JSON) escapes the byte after it here too.
pub(super) fn bracketed_end(s: &[u8], start: usize) -> Option<usize> {
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
                if depth > MAX_DEPTH {
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

/// Index just past the JSON value starting exactly at `start`, or `None` when there is no
/// complete, well-formed value there.
pub(super) fn value_end(s: &[u8], start: usize) -> Option<usize> {
    scan(s, start, 0)
}

fn scan(s: &[u8], i: usize, depth: u32) -> Option<usize> {
    match *s.get(i)? {
        b'"' => string_end(s, i),
        b'{' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = skip_ws(s, i + 1);
            if s.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                if s.get(i) != Some(&b'"') {
                    return None;
                }
                i = skip_ws(s, string_end(s, i)?);
                if s.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(s, scan(s, skip_ws(s, i + 1), depth + 1)?);
                match s.get(i)? {
                    b',' => i = skip_ws(s, i + 1),
                    b'}' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = skip_ws(s, i + 1);
            if s.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = skip_ws(s, scan(s, i, depth + 1)?);
                match s.get(i)? {
                    b',' => i = skip_ws(s, i + 1),
                    b']' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b't' => literal(s, i, b"true"),
        b'f' => literal(s, i, b"false"),
        b'n' => literal(s, i, b"null"),
        b'-' | b'0'..=b'9' => {
            let mut j = i + 1;
            while s
                .get(j)
                .is_some_and(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                j += 1;
            }
            Some(j)
        }
        _ => None,
    }
}

fn literal(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i.checked_add(word.len())?;
    (s.get(i..end)? == word).then_some(end)
}

/// Calls `f(key, value)` for each member of the object that is the whole of `obj` (outer
/// whitespace allowed). Keys are raw (no unescaping: cloudflared's keys never need it);
/// values are raw JSON text (strings keep their quotes). `f` returns `false` to stop early,
/// in which case the rest is not checked. `None` when `obj` is not one well-formed object.
/// A key that appears twice is reported twice (the caller decides; ours keep the last).
pub(super) fn members<'a>(obj: &'a str, mut f: impl FnMut(&'a str, &'a str) -> bool) -> Option<()> {
    let b = obj.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return only_ws_after(b, i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i)?;
        let key = obj.get(i + 1..key_end.checked_sub(1)?)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let value_end = scan(b, i, 1)?;
        let value = obj.get(i..value_end)?;
        if !f(key, value) {
            return Some(());
        }
        i = skip_ws(b, value_end);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return only_ws_after(b, i + 1),
            _ => return None,
        }
    }
}

/// Calls `f(element)` for each element of the array that is the whole of `arr`, with the
/// same conventions as [`members`].
pub(super) fn elements<'a>(arr: &'a str, mut f: impl FnMut(&'a str) -> bool) -> Option<()> {
    let b = arr.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return only_ws_after(b, i + 1);
    }
    loop {
        let end = scan(b, i, 1)?;
        if !f(arr.get(i..end)?) {
            return Some(());
        }
        i = skip_ws(b, end);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b']' => return only_ws_after(b, i + 1),
            _ => return None,
        }
    }
}

fn only_ws_after(b: &[u8], i: usize) -> Option<()> {
    (skip_ws(b, i) >= b.len()).then_some(())
}

/// The text of a raw JSON value: strings are unquoted and unescaped (borrowed when they
/// hold no escape), anything else is returned as written.
pub(super) fn text(raw: &str) -> Cow<'_, str> {
    match raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => unescape(inner),
        None => Cow::Borrowed(raw),
    }
}

/// Decodes JSON string escapes; a bad escape or a lone surrogate becomes U+FFFD.
fn unescape(inner: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(p) = rest.find('\\') {
        out.push_str(rest.get(..p).unwrap_or_default());
        let after = rest.get(p + 1..).unwrap_or_default();
        let mut chars = after.chars();
        let Some(e) = chars.next() else {
            out.push('\\');
            rest = "";
            break;
        };
        rest = chars.as_str();
        match e {
            '"' | '\\' | '/' => out.push(e),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let (c, used) = unicode_escape(rest);
                out.push(c);
                rest = rest.get(used..).unwrap_or_default();
            }
            other => {
                out.push('\u{fffd}');
                out.push(other);
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character of a `\u` escape whose hex digits start `s`, and how many bytes of `s` it
/// used (a surrogate pair uses the following `\uXXXX` too).
fn unicode_escape(s: &str) -> (char, usize) {
    let Some(hi) = s.get(..4).and_then(hex) else {
        return ('\u{fffd}', 0);
    };
    if (0xD800..0xDC00).contains(&hi) {
        let lo = s
            .get(4..6)
            .filter(|p| *p == "\\u")
            .and_then(|_| s.get(6..10))
            .and_then(hex)
            .filter(|lo| (0xDC00..0xE000).contains(lo));
        if let Some(lo) = lo {
            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return (char::from_u32(c).unwrap_or('\u{fffd}'), 10);
        }
    }
    (char::from_u32(hi).unwrap_or('\u{fffd}'), 4)
}

/// Parses hex digits (only digits: `from_str_radix` alone would accept a leading `+`).
pub(super) fn hex(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte walk `bracketed_end` was before it read blocks: the reference.
    fn walk(s: &[u8], start: usize) -> Option<usize> {
        let mut depth: u32 = 0;
        let mut i = start;
        loop {
            match *s.get(i)? {
                b'"' => i = string_end(s, i)?,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
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
        let mut next = crate::bytes::test_rng(5);
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
            let want = walk(s, 8);
            found += usize::from(want.is_some());
            assert_eq!(
                bracketed_end(s, 8),
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
        assert_eq!(bracketed_end(deep.as_bytes(), 0), None);
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(bracketed_end(ok.as_bytes(), 0), Some(128));
    }
}
