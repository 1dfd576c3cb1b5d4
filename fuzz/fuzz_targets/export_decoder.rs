//! The `journalctl -o export` decoder on arbitrary bytes in arbitrary chunks. Oracles: no
//! panic, and the split invariant: whole, fuzzer-chunked and byte-at-a-time feeding give
//! the same entries and the same counts.
//!
//! Input: the first 8 bytes seed the chunk lengths; the rest is the stream. Byte 0 of the
//! stream also picks the unit filter (none, or the two watched units).

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sigil_top::source::{Unit, UnitFilter};

fuzz_target!(|data: &[u8]| {
    let (seed, stream) = common::take_seed(data);
    let filter = UnitFilter {
        units: if seed & 1 == 0 {
            Vec::new()
        } else {
            vec![Unit::new("sigil-mcp"), Unit::new("cloudflared")]
        },
    };
    let entries = common::assert_split_invariant(stream, &filter, seed);
    for e in &entries {
        assert!(
            filter.units.is_empty() || e.unit.is_some(),
            "an entry passed the filter without a unit"
        );
    }
});
