//! The console ("default") format: zerolog's `ConsoleWriter` as cloudflared configures it.
//!
//! `<RFC3339 time> <LVL> <message> <error=…> <key=value sorted>`, one space between parts
//! (see `../shared/formats/cloudflared.md` §1.2). Owns the tokenizer for that line: the
//! time prefix, the level word, the boundary between message and fields, and values, which
//! are one of
//! - a Go `strconv.Quote` string (`"…"` with `\"`, `\\`, `\n`, `\xNN`, `\uNNNN`, …),
//! - unquoted, balanced JSON (`headers={"Accept-Encoding":["gzip, br"]}`, spaces inside),
//! - a bare token up to the next space.
//!
//! **Where the message ends.** There is no delimiter: the fields are the longest trailing
//! run of `key=value` tokens that reaches the end of the line. The boundary is the first
//! word start (after a space) from which such a run parses. So `ERR  error=…` (two spaces:
//! empty message) and `ERR   1. ensure … records. event=0` (a message that *begins* with
//! spaces) both come out right: two spaces mean "empty message" only when a field run
//! follows. A message whose last word happens to look like `key=value` loses that word to
//! the fields; cloudflared writes no such message. At most [`MAX_BOUNDARY_TRIES`] word
//! starts are tried, so a hostile 1 MB line costs a bounded number of passes.

use std::borrow::Cow;

use super::json;
use super::record::{Enc, Fields, Record, Val};
use crate::bytes;
use crate::parse::Level;

/// How many candidate field-run starts are tried before the whole rest is taken as message.
const MAX_BOUNDARY_TRIES: u32 = 32;

/// Reads a console line; `None` when it does not start with a time and a level word.
pub(super) fn parse(line: &str) -> Option<Record<'_>> {
    let b = line.as_bytes();
    let t = time_len(b)?;
    if b.get(t) != Some(&b' ') {
        return None;
    }
    let level = match b.get(t + 1..t + 4)? {
        b"TRC" => Some(Level::Trace),
        b"DBG" => Some(Level::Debug),
        b"INF" => Some(Level::Info),
        b"WRN" => Some(Level::Warn),
        b"ERR" => Some(Level::Error),
        b"FTL" | b"PNC" => Some(Level::Critical),
        b"???" => None,
        _ => return None,
    };
    let rest = match b.get(t + 4) {
        None => "",
        Some(b' ') => line.get(t + 5..)?,
        Some(_) => return None,
    };
    let (message, fields) = split_message(rest);
    Some(Record {
        level,
        message: Cow::Borrowed(message),
        fields,
    })
}

/// True when `line` starts like a console record (time, space); used to tell records from
/// bare lines without parsing further.
pub(super) fn has_time_prefix(line: &str) -> bool {
    time_len(line.as_bytes()).is_some_and(|t| line.as_bytes().get(t) == Some(&b' '))
}

/// Length of an RFC 3339 timestamp at the start: `YYYY-MM-DDTHH:MM:SS`, optional fraction,
/// then `Z` or `±HH:MM`. cloudflared writes whole seconds and `Z`; the rest is tolerated.
fn time_len(b: &[u8]) -> Option<usize> {
    const SHAPE: &[u8; 19] = b"dddd-dd-ddTdd:dd:dd";
    let head = b.get(..19)?;
    let shape_ok = head.iter().zip(SHAPE).all(|(c, s)| match s {
        b'd' => c.is_ascii_digit(),
        _ => c == s,
    });
    if !shape_ok {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i)? {
        b'Z' => Some(i + 1),
        b'+' | b'-' => {
            let off = b.get(i + 1..i + 6)?;
            let ok = off[2] == b':' && [0, 1, 3, 4].iter().all(|&k| off[k].is_ascii_digit());
            ok.then_some(i + 6)
        }
        _ => None,
    }
}

/// Bytes a field key is made of (`connIndex`, `content-length`, `CF-RAY`), as a table: this
/// test runs on every byte of every key.
static KEY_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        // `i < 256`, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.';
        i += 1;
    }
    t
};

fn is_key_byte(b: u8) -> bool {
    KEY_BYTES[usize::from(b)]
}

/// Splits `rest` (everything after `LVL `) into the message and the trailing fields.
///
/// Candidates are found from the `=` signs (a word-at-a-time search), not word by word: a
/// field run can only start at the word holding an `=` right after its key, and most
/// messages have no `=` at all.
fn split_message(rest: &str) -> (&str, Fields<'_>) {
    let b = rest.as_bytes();
    let mut tries = 0;
    // Just past the `=` before this one: a run starting before it was tried already.
    let mut from = 0;
    let mut split = None;
    let _ = bytes::find_byte_where(b, 0, b'=', |eq| {
        let tried_up_to = std::mem::replace(&mut from, eq + 1);
        // The word holding this `=` starts after the last space before it.
        let word = b
            .get(..eq)
            .and_then(|head| memchr::memrchr(b' ', head))
            .map_or(0, |p| p + 1);
        let is_key = word < eq
            && b.get(word..eq)
                .is_some_and(|k| k.iter().all(|&c| is_key_byte(c)));
        if !is_key || word < tried_up_to {
            return false;
        }
        let mut fields = Fields::default();
        if parse_fields(rest, word, &mut fields) {
            let message = if word == 0 {
                ""
            } else {
                rest.get(..word - 1).unwrap_or(rest)
            };
            split = Some((message, fields));
            return true;
        }
        tries += 1;
        // Stops the search: the whole rest is then the message.
        tries >= MAX_BOUNDARY_TRIES
    });
    split.unwrap_or((rest, Fields::default()))
}

/// Parses `key=value( key=value)*` from `i` to the end of `rest` into `fields`; false
/// (with `fields` partly filled: the caller discards it) when the run does not reach the end.
fn parse_fields<'a>(rest: &'a str, mut i: usize, fields: &mut Fields<'a>) -> bool {
    let b = rest.as_bytes();
    loop {
        let key_start = i;
        while b.get(i).is_some_and(|&c| is_key_byte(c)) {
            i += 1;
        }
        if i == key_start || b.get(i) != Some(&b'=') {
            return false;
        }
        let Some(key) = rest.get(key_start..i) else {
            return false;
        };
        i += 1;
        let value_start = i;
        let (value_end, enc) = match b.get(i) {
            None | Some(b' ') => (i, Enc::Bare),
            Some(b'"') => match bytes::quoted_end(b, i) {
                Some(end) => (end, Enc::GoQuoted),
                None => return false,
            },
            Some(b'{' | b'[') => match bytes::bracketed_end(b, i, json::MAX_DEPTH) {
                Some(end) if matches!(b.get(end), None | Some(b' ')) => (end, Enc::Json),
                _ => (bare_end(b, i), Enc::Bare),
            },
            Some(_) => (bare_end(b, i), Enc::Bare),
        };
        let Some(raw) = rest.get(value_start..value_end) else {
            return false;
        };
        fields.set(key, Val { raw, enc });
        i = value_end;
        match b.get(i) {
            None => return true,
            Some(b' ') => {
                i += 1;
                if b.get(i..)
                    .is_some_and(|tail| tail.iter().all(|&c| c == b' '))
                {
                    return true;
                }
            }
            Some(_) => return false,
        }
    }
}

/// A bare value ends at the next space (or the line's end). Values are mostly short: a
/// word-at-a-time search.
fn bare_end(b: &[u8], i: usize) -> usize {
    bytes::find_byte(b, i, b' ').unwrap_or(b.len())
}
