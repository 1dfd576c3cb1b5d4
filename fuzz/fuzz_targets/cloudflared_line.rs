//! cloudflared's line parser over a sequence of lines, so the per-process state (torn
//! JSON heads waiting for their tails, the last level for continuation lines, the LRU of
//! processes) is exercised. Oracle: no panic; fragments are counted at most once each.
//!
//! Input: byte 0 is a bit pattern choosing each line's PID (8 PIDs plus "no PID", so the
//! process table's eviction runs too); the rest is split at `\n` into the lines, each
//! passed as raw bytes (invalid UTF-8 included).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_top::parse::cloudflared::State;
use sigil_top::parse::ParseStats;

fuzz_target!(|data: &[u8]| {
    let Some((&pattern, rest)) = data.split_first() else {
        return;
    };
    let mut state = State::default();
    let mut stats = ParseStats::default();
    let mut lines = 0u64;
    for (i, line) in rest.split(|&b| b == b'\n').enumerate() {
        // Rotate the pattern by the line index: a few processes interleave, and with a
        // long input more than MAX_PROCESSES distinct PIDs appear.
        let bits = u32::from(pattern.rotate_left(u32::try_from(i % 8).unwrap_or(0)));
        let pid = match bits & 0x0f {
            0 => None,
            n => Some(4000 + n + u32::try_from(i / 64).unwrap_or(0) * 16),
        };
        let _ = state.parse(line, pid, &mut stats);
        lines += 1;
    }
    // A fragment starts at a line's start or at a `{` (one line can hold several, between
    // the complete records inside it), and each is counted once.
    let braces = rest.iter().filter(|&&b| b == b'{').count() as u64;
    assert!(
        stats.unrecovered_fragments <= lines + braces,
        "{} unrecovered fragments from {lines} lines and {braces} braces",
        stats.unrecovered_fragments
    );
});
