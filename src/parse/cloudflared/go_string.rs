//! Go string literals as cloudflared's console format writes them (`strconv.Quote`).
//!
//! Owns [`go_unquote`]: turning a quoted value (`"say \"hi\"\tthere"`, `\xNN`, octal,
//! `\uNNNN`, `\UNNNNNNNN`) back into its text. Does not own where a quoted value ends in a
//! line (that is `bytes::quoted_end`, which the console tokenizer calls: Go, JSON and
//! Python strings all end at the first quote no backslash escapes) nor when a value is
//! unquoted (only when the classifier asks for its text, see `record::Val::text`).
//!
//! Why a decoder of its own beside JSON's (`json::text`): the escapes differ. Go has
//! `\xNN` and octal escapes that are raw *bytes* (the result may not be UTF-8), `\a`,
//! `\v`, `\'` and `\UNNNNNNNN`, and writes characters outside the BMP as themselves; JSON
//! has `\/` and encodes such characters as UTF-16 surrogate pairs (`\uD83D\uDE00`), which
//! Go's `\u` never is.

use std::borrow::Cow;

use super::json;

/// Decodes a Go `strconv.Quote` string (quotes included). `\xNN` and octal escapes are raw
/// bytes: if they do not form UTF-8 the result is decoded lossily (U+FFFD), never an error.
pub(super) fn go_unquote(raw: &str) -> Cow<'_, str> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Cow::Borrowed(inner);
    }
    let b = inner.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = b.get(i + 1) else {
            out.push(b'\\');
            break;
        };
        i += 2;
        let simple = match e {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'\'' | b'"' => Some(e),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            continue;
        }
        // How many digits after the escape letter were used; octal's first digit is the
        // letter.
        let decoded = match e {
            b'x' => escape_value(inner, i, 2, 16)
                .and_then(|v| u8::try_from(v).ok())
                .map(|byte| {
                    out.push(byte);
                    2
                }),
            b'0'..=b'7' => escape_value(inner, i - 1, 3, 8)
                .and_then(|v| u8::try_from(v).ok())
                .map(|byte| {
                    out.push(byte);
                    2
                }),
            b'u' => escape_value(inner, i, 4, 16)
                .and_then(char::from_u32)
                .map(|c| {
                    push_char(&mut out, c);
                    4
                }),
            b'U' => escape_value(inner, i, 8, 16)
                .and_then(char::from_u32)
                .map(|c| {
                    push_char(&mut out, c);
                    8
                }),
            _ => None,
        };
        if let Some(used) = decoded {
            i += used;
        } else {
            out.push(b'\\');
            out.push(e);
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn escape_value(s: &str, at: usize, len: usize, radix: u32) -> Option<u32> {
    let digits = s.get(at..at.checked_add(len)?)?;
    if radix == 16 {
        json::hex(digits)
    } else if digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        u32::from_str_radix(digits, 8).ok()
    } else {
        None
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}
