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
pub(crate) fn is_unsafe(c: char) -> bool {
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
pub(crate) fn sanitize(s: &str) -> Cow<'_, str> {
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
pub(crate) fn sanitize_bytes(b: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(b) {
        Cow::Borrowed(s) => sanitize(s),
        Cow::Owned(s) => Cow::Owned(sanitize(&s).into_owned()),
    }
}

/// `s` cut to at most `width` terminal columns; when something was cut the last column
/// holds `…` (so a cut line never looks whole). Wide characters are never split.
/// `s` should already be sanitized.
pub(crate) fn fit_width(s: &str, width: usize) -> (Cow<'_, str>, bool) {
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
pub(crate) fn redact_query(path: &str) -> Cow<'_, str> {
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
pub(crate) fn markdown_text(s: &str) -> String {
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
pub(crate) fn markdown_cell(s: &str) -> String {
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

/// Bytes of a long message processed past what is shown, on each side of a cut: a
/// secret whose name lies just before a page (`"client_secret": "` … ) or whose value runs
/// past the visible columns is still seen whole by the redaction rules. A secret value
/// longer than this that straddles a cut is the one case the rules may miss.
pub(crate) const REDACTION_CONTEXT_BYTES: usize = 4096;

/// How far back a page boundary looks for whitespace to cut at (so a cut falls between
/// words, never inside a token, whenever the text has words).
const PAGE_SNAP_BYTES: usize = 512;

/// The start of the UTF-8 character that byte `i` of `b` is part of (`b.len()` at or past the end).
fn char_floor(b: &[u8], i: usize) -> usize {
    if i >= b.len() {
        return b.len();
    }
    let mut j = i;
    // At most 3 continuation bytes precede a character's first byte in valid UTF-8; in
    // invalid input stop there anyway (lossy decoding replaces what is left).
    while j > 0 && i - j < 3 && b[j] & 0b1100_0000 == 0b1000_0000 {
        j -= 1;
    }
    j
}

/// As [`display_bytes`] for the start of `b` only: at most `keep_bytes` of it, plus
/// [`REDACTION_CONTEXT_BYTES`] for the redaction rules to see a secret whole, are
/// processed, whatever `b`'s length. The cost does not grow with the message. Returns the
/// text and whether `b` went on past what was processed (the caller marks the cut).
pub(crate) fn display_bytes_head(b: &[u8], keep_bytes: usize) -> (Cow<'_, str>, bool) {
    let end = keep_bytes.saturating_add(REDACTION_CONTEXT_BYTES);
    if b.len() <= end {
        return (display_bytes(b), false);
    }
    (display_bytes(&b[..char_floor(b, end)]), true)
}

/// As [`display_bytes_head`] for a line drawn `cols` columns wide: every character takes
/// at least one column, except zero-width ones, and at most 4 bytes, so `4 × cols` bytes
/// fill the width (a line of mostly combining marks shows fewer columns, still marked cut).
pub fn display_bytes_cols(b: &[u8], cols: usize) -> (Cow<'_, str>, bool) {
    display_bytes_head(b, cols.saturating_mul(4))
}

/// One page of a long message as the screen shows it (see [`display_page`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Display text: sanitized and redacted.
    pub text: String,
    /// The byte range of the message the page shows, `start..end`.
    pub start: usize,
    pub end: usize,
    /// The message's length in bytes.
    pub total: usize,
    /// The page's number from 0, and how many pages the message has.
    pub index: usize,
    pub count: usize,
}

/// Where page `k` of `b` starts, for pages of about `page_bytes`: just after the last
/// whitespace in the `PAGE_SNAP_BYTES` before `k × page_bytes`, else at the character
/// there. Page boundaries are on a fixed grid, so paging forward and back meets the same
/// pages.
fn page_boundary(b: &[u8], k: usize, page_bytes: usize) -> usize {
    let at = k.saturating_mul(page_bytes);
    if k == 0 {
        return 0;
    }
    if at >= b.len() {
        return b.len();
    }
    let from = at.saturating_sub(PAGE_SNAP_BYTES).max(1);
    match b[from..at].iter().rposition(u8::is_ascii_whitespace) {
        Some(i) => from + i + 1,
        None => char_floor(b, at),
    }
}

/// How many pages of about `page_bytes` `len` bytes make (at least one).
pub(crate) fn page_count(len: usize, page_bytes: usize) -> usize {
    len.div_ceil(page_bytes.max(1)).max(1)
}

/// Where page `index` (clamped to the last) of `b` lies, without its text (cheap: at
/// most [`PAGE_SNAP_BYTES`] looked at on each side).
pub(crate) fn page_span(b: &[u8], index: usize, page_bytes: usize) -> Page {
    let page_bytes = page_bytes.max(PAGE_SNAP_BYTES * 2);
    let count = page_count(b.len(), page_bytes);
    let index = index.min(count - 1);
    Page {
        text: String::new(),
        start: page_boundary(b, index, page_bytes),
        end: page_boundary(b, index + 1, page_bytes),
        total: b.len(),
        index,
        count,
    }
}

/// Page `index` (clamped to the last) of `b` in pages of about `page_bytes`, as display
/// text. Only the page and [`REDACTION_CONTEXT_BYTES`] on each side are processed, so a
/// page of a 50 MB message costs what a page of a short one does. The page goes through
/// the redaction rules together with its context, as one text (a secret's name on the
/// page before still redacts its value on this one, and a secret cut by the page's edge
/// is seen whole); the page is then cut out of that redacted text, so whatever the cut,
/// it shows only redacted text.
pub fn display_page(b: &[u8], index: usize, page_bytes: usize) -> Page {
    let Page {
        index,
        count,
        start,
        end,
        ..
    } = page_span(b, index, page_bytes);
    let before = char_floor(b, start.saturating_sub(REDACTION_CONTEXT_BYTES));
    let after = char_floor(b, end.saturating_add(REDACTION_CONTEXT_BYTES));
    // Sanitizing is per character, so the page's place in the sanitized text is exact.
    let mut safe = sanitize_bytes(&b[before..start]).into_owned();
    let from = safe.len();
    safe.push_str(&sanitize_bytes(&b[start..end]));
    let to = safe.len();
    safe.push_str(&sanitize_bytes(&b[end..after]));
    let redacted = crate::redact::for_display(&safe);
    let (from, to) = (
        redacted_offset(&safe, &redacted, from, false),
        redacted_offset(&safe, &redacted, to, true),
    );
    Page {
        text: redacted[from..to.max(from)].to_owned(),
        start,
        end,
        total: b.len(),
        index,
        count,
    }
}

/// Where offset `at` of `safe` lies in `redacted` (`safe` with some spans replaced by
/// text holding [`crate::redact::REDACTED`]): the text between two replacements is
/// `safe`'s own, in order, so walking both finds it. An offset inside a replaced span
/// maps to the replacement's start, or its end for a page's end (`is_end`): the mark is
/// shown, never a part of the secret.
/// `redacted` holds no secret wherever it is cut, so a misplaced cut (a literal that
/// also occurs inside the secret) can only move the page's edge, never reveal anything.
fn redacted_offset(safe: &str, redacted: &str, at: usize, is_end: bool) -> usize {
    let mark = crate::redact::REDACTED;
    let (mut s, mut r) = (0, 0);
    loop {
        let next = redacted[r..].find(mark).map(|m| r + m);
        let literal = next.unwrap_or(redacted.len()) - r;
        if at <= s + literal {
            let mut i = (r + at - s).min(redacted.len());
            while !redacted.is_char_boundary(i) {
                i -= 1;
            }
            return i;
        }
        let Some(m) = next else {
            return redacted.len();
        };
        s += literal;
        r = m + mark.len();
        // The replaced span ends where the next literal text starts again in `safe`.
        let following = redacted[r..].find(mark).map_or(redacted.len(), |x| r + x);
        let resume = match &redacted[r..following] {
            "" if following == redacted.len() => safe.len(),
            "" => s,
            lit => safe
                .get(s..)
                .and_then(|rest| rest.find(lit))
                .map_or(safe.len(), |x| s + x),
        };
        if at < resume {
            return if is_end { r } else { m };
        }
        s = resume;
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

    /// The secret shapes both programs log (`tests/data/hostile/secrets.tsv`): secret, line.
    fn secret_rows() -> Vec<(&'static str, &'static str)> {
        include_str!("../tests/data/hostile/secrets.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols.len() >= 4).then(|| (cols[1], cols[3]))
            })
            .collect()
    }

    /// Whether `shown` holds 10 or more consecutive characters of `secret` (its unique part:
    /// `verifier` alone is also a key's name).
    fn leaks(shown: &str, secret: &str) -> bool {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .windows(10.min(chars.len()))
            .any(|w| shown.contains(&w.iter().collect::<String>()))
    }

    #[test]
    fn pages_cover_a_long_message_once_in_order_and_cut_between_words() {
        let mut msg = Vec::new();
        let mut i = 0u32;
        while msg.len() < 300_000 {
            msg.extend_from_slice(format!("word{i} ").as_bytes());
            // Stretches without whitespace and multi-byte characters, so some cuts
            // cannot fall between words and must still fall between characters.
            if i.is_multiple_of(97) {
                msg.extend_from_slice("é日".repeat(400).as_bytes());
            }
            i += 1;
        }
        let page_bytes = 4096;
        let count = page_count(msg.len(), page_bytes);
        let mut at = 0;
        let mut whole = String::new();
        for k in 0..count {
            let page = display_page(&msg, k, page_bytes);
            assert_eq!((page.index, page.count, page.total), (k, count, msg.len()));
            assert_eq!(page.start, at, "page {k} starts where the last ended");
            assert!(page.end > page.start && page.end - page.start <= page_bytes + PAGE_SNAP_BYTES);
            assert!(
                std::str::from_utf8(&msg[page.start..page.end]).is_ok(),
                "page {k} cuts a character"
            );
            let snap = page.end.saturating_sub(PAGE_SNAP_BYTES).max(page.start + 1);
            if page.end < msg.len() && msg[snap..page.end].contains(&b' ') {
                assert_eq!(msg[page.end - 1], b' ', "page {k} ends between words");
            }
            whole.push_str(&page.text);
            at = page.end;
        }
        assert_eq!(at, msg.len());
        assert_eq!(whole.as_bytes(), msg, "the pages are the message");
        // Past the end is the last page.
        assert_eq!(display_page(&msg, count + 5, page_bytes).index, count - 1);
        assert_eq!(display_page(b"", 0, page_bytes).text, "");
    }

    #[test]
    fn a_head_is_the_start_of_the_whole_display_text() {
        let mut msg = b"\x1b[2J evil\xff ".to_vec();
        msg.extend(std::iter::repeat_n(b'a', 100_000));
        let whole = display_bytes(&msg);
        for cols in [0, 1, 10, 80, 300] {
            let (head, is_cut) = display_bytes_cols(&msg, cols);
            assert!(is_cut);
            assert!(whole.starts_with(head.as_ref()), "{cols}");
            assert!(head.len() >= cols && head.len() < 4 * cols + REDACTION_CONTEXT_BYTES + 16);
        }
        assert_eq!(
            display_bytes_cols(b"short", 80),
            (Cow::Borrowed("short"), false)
        );
    }

    /// Every secret shape, wherever a page edge or a head's cut falls in or around it, on
    /// text with and without spaces to cut at: no page and no head shows 10 characters of
    /// the secret.
    #[test]
    fn no_page_or_head_shows_a_secret_wherever_the_cut_falls() {
        let page_bytes = 1024;
        let rows = secret_rows();
        assert!(rows.len() >= 50, "{}", rows.len());
        for (secret, line) in rows {
            let Some(at) = line.find(secret) else {
                continue;
            };
            for filler in ["lorem ipsum ", "x"] {
                for d in (0..=secret.len() + 24).step_by(4) {
                    // The first page edge falls `d` bytes before the secret's end.
                    let lead = (page_bytes + d).saturating_sub(at + secret.len()).max(1);
                    let mut msg = filler.repeat(lead / filler.len() + 1).into_bytes();
                    msg.truncate(lead);
                    msg.extend_from_slice(line.as_bytes());
                    msg.extend_from_slice(filler.repeat(1500 / filler.len()).as_bytes());
                    for k in 0..page_count(msg.len(), page_bytes) {
                        let page = display_page(&msg, k, page_bytes);
                        assert!(
                            !leaks(&page.text, secret),
                            "{secret} shown on page {k} (edge {d} before its end, filler {filler:?}):\n{}",
                            page.text
                        );
                    }
                    let (head, _) = display_bytes_head(&msg, lead + at + d / 2);
                    assert!(!leaks(&head, secret), "{secret} in a head:\n{head}");
                }
            }
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
