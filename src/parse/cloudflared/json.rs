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
//! Where a string ends is `bytes::quoted_end` (the same rule as Go-quoted and Python
//! strings); what its escapes mean is [`text`] here (JSON's own: `\uXXXX` with surrogate
//! pairs, `\/`), apart from Go's (`go_string.rs`), whose escapes differ.
//!
//! Every function is total: malformed input gives `None` (or [`Malformed`]), never a
//! panic.
//!
//! Why this reader and not serde's: cloudflared's lines need raw, borrowed values whose
//! decoding is deferred (most are never read), leniency on numbers, and the end of a value
//! inside a torn line that is not JSON as a whole. The `journalctl -o json` decoder
//! (`source/stream/json.rs`) and the server's JSON records (`parse/sigil.rs`) need
//! `serde_json`'s strict validation instead (`crate::json`): there a line that is not
//! valid JSON must be refused and counted exactly as serde refuses it.

use std::borrow::Cow;

use crate::bytes::quoted_end;

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

/// Index just past the JSON value starting exactly at `start`, or `None` when there is no
/// complete, well-formed value there.
pub(super) fn value_end(s: &[u8], start: usize) -> Option<usize> {
    scan(s, start, 0)
}

fn scan(s: &[u8], i: usize, depth: u32) -> Option<usize> {
    match *s.get(i)? {
        b'"' => quoted_end(s, i),
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
                i = skip_ws(s, quoted_end(s, i)?);
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
/// in which case the rest is not checked. [`Malformed`] when `obj` is not one well-formed
/// object. A key that appears twice is reported twice (the caller decides; ours keep the
/// last).
pub(super) fn members<'a>(
    obj: &'a str,
    mut f: impl FnMut(&'a str, &'a str) -> bool,
) -> Result<(), Malformed> {
    let b = obj.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err(Malformed);
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return only_ws_after(b, i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return Err(Malformed);
        }
        let key_end = quoted_end(b, i).ok_or(Malformed)?;
        let key = obj.get(i + 1..key_end - 1).ok_or(Malformed)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return Err(Malformed);
        }
        i = skip_ws(b, i + 1);
        let value_end = scan(b, i, 1).ok_or(Malformed)?;
        let value = obj.get(i..value_end).ok_or(Malformed)?;
        if !f(key, value) {
            return Ok(());
        }
        i = skip_ws(b, value_end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return only_ws_after(b, i + 1),
            _ => return Err(Malformed),
        }
    }
}

/// Calls `f(element)` for each element of the array that is the whole of `arr`, with the
/// same conventions as [`members`].
pub(super) fn elements<'a>(
    arr: &'a str,
    mut f: impl FnMut(&'a str) -> bool,
) -> Result<(), Malformed> {
    let b = arr.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return Err(Malformed);
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return only_ws_after(b, i + 1);
    }
    loop {
        let end = scan(b, i, 1).ok_or(Malformed)?;
        if !f(arr.get(i..end).ok_or(Malformed)?) {
            return Ok(());
        }
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return only_ws_after(b, i + 1),
            _ => return Err(Malformed),
        }
    }
}

/// The text given to [`members`] or [`elements`] is not one well-formed object or array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed;

fn only_ws_after(b: &[u8], i: usize) -> Result<(), Malformed> {
    if skip_ws(b, i) >= b.len() {
        Ok(())
    } else {
        Err(Malformed)
    }
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
