//! Helpers shared by the fuzz targets: feeding a decoder in fuzzer-chosen chunks, and the
//! check that display text holds nothing a terminal would act on.

#![allow(dead_code)] // each target uses a different part

use sigil_top::source::stream::{DecodeCounts, Decoder};
use sigil_top::source::{RawEntry, UnitFilter};

/// Decodes `bytes` fed in one piece.
pub fn decode_whole(bytes: &[u8], filter: &UnitFilter) -> (Vec<RawEntry>, DecodeCounts) {
    let mut d = Decoder::new(filter.clone(), 0);
    let mut out = Vec::new();
    d.feed(bytes, &mut out);
    d.finish(&mut out);
    let _ = d.take_warnings();
    (out, d.counts().clone())
}

/// Decodes `bytes` cut into chunks whose lengths come from `seed` (xorshift), so the
/// fuzzer controls the split as well as the bytes.
pub fn decode_split(bytes: &[u8], filter: &UnitFilter, seed: u64) -> (Vec<RawEntry>, DecodeCounts) {
    let mut d = Decoder::new(filter.clone(), 0);
    let mut out = Vec::new();
    let mut state = seed | 1;
    let mut rest = bytes;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Mostly short chunks (splits inside a field, a length prefix, a UTF-8 sequence),
        // sometimes empty ones.
        let n = usize::try_from(state % 17).unwrap_or(0).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        d.feed(chunk, &mut out);
        let _ = d.take_warnings();
        rest = tail;
    }
    d.finish(&mut out);
    let _ = d.take_warnings();
    (out, d.counts().clone())
}

/// Decodes `bytes` one byte at a time.
pub fn decode_bytewise(bytes: &[u8], filter: &UnitFilter) -> (Vec<RawEntry>, DecodeCounts) {
    let mut d = Decoder::new(filter.clone(), 0);
    let mut out = Vec::new();
    for b in bytes {
        d.feed(std::slice::from_ref(b), &mut out);
    }
    d.finish(&mut out);
    let _ = d.take_warnings();
    (out, d.counts().clone())
}

/// The split invariant: any chunking of the same bytes gives the same entries and counts.
pub fn assert_split_invariant(bytes: &[u8], filter: &UnitFilter, seed: u64) -> Vec<RawEntry> {
    let (whole, whole_counts) = decode_whole(bytes, filter);
    let (split, split_counts) = decode_split(bytes, filter, seed);
    assert_eq!(whole, split, "chunked decoding differs (seed {seed})");
    assert_eq!(
        whole_counts, split_counts,
        "chunked counts differ (seed {seed})"
    );
    if bytes.len() <= 4096 {
        let (bytewise, bytewise_counts) = decode_bytewise(bytes, filter);
        assert_eq!(whole, bytewise, "byte-at-a-time decoding differs");
        assert_eq!(
            whole_counts, bytewise_counts,
            "byte-at-a-time counts differ"
        );
    }
    whole
}

/// The first 8 bytes as a seed, and the rest.
pub fn take_seed(data: &[u8]) -> (u64, &[u8]) {
    if data.len() < 8 {
        return (0x9e37_79b9_7f4a_7c15, data);
    }
    let (head, rest) = data.split_at(8);
    let mut b = [0u8; 8];
    b.copy_from_slice(head);
    (u64::from_le_bytes(b), rest)
}

/// Characters that must never reach a terminal or a document raw (issue 17): controls other
/// than newline and tab (C0, DEL, C1), line and paragraph separators, bidi marks,
/// embeddings, overrides and isolates, zero-width and other invisible format characters,
/// tag characters, the BOM, Hangul fillers. Written out here, not taken from the crate, so
/// the oracle does not share a bug with what it checks.
pub fn is_terminal_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c,
            '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}' | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{3164}' | '\u{ffa0}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}')
}

/// Panics when display text holds a character a terminal would act on.
pub fn assert_terminal_safe(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| is_terminal_unsafe(c)) {
        let from = text.floor_char_boundary_compat(at.saturating_sub(40));
        panic!(
            "{what}: raw {:?} (U+{:04X}) at byte {at}, near {:?}",
            c,
            u32::from(c),
            &text[from..(at + c.len_utf8()).min(text.len())]
        );
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}
