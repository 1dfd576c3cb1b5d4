//! The redactor on arbitrary text (issue 17).
//!
//! Oracles: no panic, no hang (libFuzzer's timeout); redaction is idempotent (what a
//! replayed bundle is read with gives the same text again, so it tells the same story);
//! it never adds a character the input did not have except those of `<redacted>`; and
//! the screen's `text::display` is terminal-safe, as are its cut forms (issue 17 point 4:
//! the head of a line drawn to a width, a page of a long line), whose page lies inside
//! the input and whose head, when nothing was cut, is the whole display text.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sigil_top::text::{self, Redactor};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let mut once = Redactor::new(&[]).expect("no extra patterns");
    let redacted = once.redact(&line).into_owned();
    let mut twice = Redactor::new(&[]).expect("no extra patterns");
    let again = twice.redact(&redacted).into_owned();
    assert_eq!(again, redacted, "redaction is idempotent");
    assert_eq!(twice.count, 0, "nothing left to redact in redacted text");
    if once.count == 0 {
        assert_eq!(redacted, line, "nothing redacted, nothing changed");
    }
    for c in redacted.chars() {
        assert!(
            line.contains(c) || "<redacted>".contains(c),
            "redaction added {c:?}"
        );
    }
    common::assert_terminal_safe("text::display", &text::display(&line));

    // Widths and page numbers from the input itself, so the fuzzer moves the cuts.
    let cols = usize::from(data.first().copied().unwrap_or(0));
    let (head, is_cut) = text::display_bytes_cols(data, cols);
    common::assert_terminal_safe("text::display_bytes_cols", &head);
    if !is_cut {
        assert_eq!(head, text::display_bytes(data), "an uncut head is the whole text");
    }
    let index = usize::from(data.last().copied().unwrap_or(0) % 8);
    let page = text::display_page(data, index, 1024);
    common::assert_terminal_safe("text::display_page", &page.text);
    assert!(page.start <= page.end && page.end <= data.len() && page.total == data.len());
    assert!(page.index < page.count);
});
