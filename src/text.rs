//! Making untrusted log text safe to draw or print.
//!
//! Owns the one conversion from bytes to display text: lossy UTF-8, then every control
//! character (C0, DEL, C1), escape sequence introducer, bidi override and zero-width
//! character is replaced by a visible escape (`\x1b`, `\u{202e}`), so a log line can never
//! move the cursor, clear the screen, set the title or write the clipboard (OSC 52).
//! Also: secret redaction ([`Redactor`], shared by snapshots and the screen), query-string
//! redaction for paths shown in reports, and Markdown cell escaping.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for characters that must never reach a terminal or a document raw: controls
/// (C0, DEL, C1), line and paragraph separators, and every invisible format character
/// (Unicode's `Cf`: zero-width and joiners, bidi marks, embeddings, overrides and
/// isolates, tag characters, …) plus the invisible Hangul fillers and the combining
/// grapheme joiner, which can hide or reorder text.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'                   // soft hyphen
            | '\u{034f}'                 // combining grapheme joiner
            | '\u{0600}'..='\u{0605}'     // Arabic number signs
            | '\u{061c}'                 // Arabic letter mark (bidi)
            | '\u{06dd}' | '\u{070f}' | '\u{0890}' | '\u{0891}' | '\u{08e2}'
            | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
            | '\u{180e}'                 // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}'     // zero-width space/joiners, LRM/RLM
            | '\u{2028}' | '\u{2029}'     // line and paragraph separators
            | '\u{202a}'..='\u{202e}'     // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}'     // word joiner, invisible operators
            | '\u{2066}'..='\u{206f}'     // bidi isolates, deprecated format characters
            | '\u{feff}'                 // BOM / zero-width no-break space
            | '\u{fff9}'..='\u{fffb}'     // interlinear annotations
            | '\u{110bd}' | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'   // Egyptian hieroglyph format controls
            | '\u{1bca0}'..='\u{1bca3}'   // shorthand format controls
            | '\u{1d173}'..='\u{1d17a}'   // musical symbol format controls
            | '\u{e0000}'..='\u{e007f}'   // tag characters
        )
}

/// True when `s` holds nothing [`is_unsafe`]: what every output of the program must be
/// (the fuzz oracle and the hostile-input tests check it).
pub fn is_safe_text(s: &str) -> bool {
    !s.chars().any(|c| is_unsafe(c) && c != '\n')
}

/// Each line of `s` made safe (for messages printed to a terminal: errors and warnings,
/// whose line breaks are the program's own).
pub fn sanitize_lines(s: &str) -> Cow<'_, str> {
    if is_safe_text(s) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(sanitize).collect();
    Cow::Owned(lines.join("\n"))
}

/// Safe display text from a string: unsafe characters become visible escapes.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let n = u32::from(c);
            if n < 0x100 {
                let _ = write!(out, "\\x{n:02x}");
            } else {
                let _ = write!(out, "\\u{{{n:x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Safe display text from bytes (invalid UTF-8 becomes U+FFFD).
pub fn sanitize_bytes(b: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(b) {
        Cow::Borrowed(s) => sanitize(s),
        Cow::Owned(s) => Cow::Owned(sanitize(&s).into_owned()),
    }
}

/// `s` cut to at most `width` terminal columns; when something was cut the last column
/// holds `…` (so a cut line never looks whole). Wide characters are never split.
/// `s` should already be sanitized.
pub fn fit_width(s: &str, width: usize) -> (Cow<'_, str>, bool) {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return (Cow::Borrowed(s), false);
    }
    if width == 0 {
        return (Cow::Borrowed(""), true);
    }
    // Keep what fits in `width - 1` columns; the marker takes the last one.
    let mut cols = 0;
    let mut cut = 0;
    for (i, c) in s.char_indices() {
        let w = c.width().unwrap_or(0);
        if cols + w > width - 1 {
            break;
        }
        cols += w;
        cut = i + c.len_utf8();
    }
    (Cow::Owned(format!("{}…", &s[..cut])), true)
}

/// A path with its query values replaced (`/x?token=abc&a=1` → `/x?token=<redacted>&a=<redacted>`).
pub fn redact_query(path: &str) -> Cow<'_, str> {
    let Some((base, query)) = path.split_once('?') else {
        return Cow::Borrowed(path);
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) => format!("{k}=<redacted>"),
            None => pair.to_owned(),
        })
        .collect();
    Cow::Owned(format!("{base}?{}", redacted.join("&")))
}

/// Text from a log made inert in Markdown, in a table cell or in running text: unsafe
/// characters and line breaks escaped ([`sanitize`]), and every character Markdown
/// gives a meaning escaped with a backslash (`\\ ` ` * [ ] < > | & ~ # @`, and `_` at a word's edge), so no
/// HTML, link, image, emphasis or table cell comes from a log. URL and e-mail autolinks
/// are defused too (`https\://`, `www\.`, `\@`): a log's URL is shown, never linked.
pub fn markdown_text(s: &str) -> String {
    let safe = sanitize(s);
    let mut out = String::with_capacity(safe.len() + 8);
    let mut prev: [char; 3] = [' '; 3];
    let mut chars = safe.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' | '@' => {
                out.push('\\');
                out.push(c);
            }
            // `_` emphasises only at a word's edge (`_i_`), never inside (`read_repo_file`).
            '_' if !prev[2].is_alphanumeric()
                || !chars.peek().is_some_and(|n| n.is_alphanumeric()) =>
            {
                out.push_str("\\_");
            }
            ':' if chars.peek() == Some(&'/') => out.push_str("\\:"),
            '.' if prev.iter().all(|p| p.eq_ignore_ascii_case(&'w')) => out.push_str("\\."),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
        prev = [prev[1], prev[2], c];
    }
    out
}

/// Text safe inside a Markdown table cell (see [`markdown_text`]).
pub fn markdown_cell(s: &str) -> String {
    markdown_text(s)
}

pub use crate::redact::Redactor;

/// Text safe to show on screen: control sequences made visible, then secrets replaced by
/// `<redacted>` (the screen is shared, screenshots end up in tickets). Not counted.
pub fn display_bytes(b: &[u8]) -> Cow<'_, str> {
    match sanitize_bytes(b) {
        Cow::Borrowed(safe) => crate::redact::for_display(safe),
        Cow::Owned(safe) => Cow::Owned(crate::redact::for_display(&safe).into_owned()),
    }
}

/// As [`display_bytes`], for text.
pub fn display(s: &str) -> Cow<'_, str> {
    match sanitize(s) {
        Cow::Borrowed(safe) => crate::redact::for_display(safe),
        Cow::Owned(safe) => Cow::Owned(crate::redact::for_display(&safe).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_invisible_characters_are_made_visible() {
        let rows = [
            ("plain text", "plain text"),
            ("\u{1b}]52;c;SGVsbG8=\u{7}", "\\x1b]52;c;SGVsbG8=\\x07"),
            ("\u{1b}[2J\u{1b}[H", "\\x1b[2J\\x1b[H"),
            ("a\u{9b}31mb", "a\\x9b31mb"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("tab\there", "tab\\x09here"),
        ];
        for (input, want) in rows {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(
            sanitize_bytes(b"ok \xff\xfe end"),
            "ok \u{fffd}\u{fffd} end"
        );
    }

    #[test]
    fn long_text_is_cut_to_the_width_with_a_marker() {
        let rows = [
            ("short", 10, "short", false),
            ("exactly10!", 10, "exactly10!", false),
            ("eleven char", 10, "eleven ch…", true),
            ("日本語テキスト", 5, "日本…", true),
            ("abc", 0, "", true),
        ];
        for (input, width, want, cut) in rows {
            assert_eq!(
                fit_width(input, width),
                (Cow::Borrowed(want), cut),
                "{input:?}"
            );
        }
    }

    #[test]
    fn query_values_are_redacted() {
        assert_eq!(
            redact_query("/healthz?token=abc&x"),
            "/healthz?token=<redacted>&x"
        );
        assert_eq!(redact_query("/"), "/");
    }
}
