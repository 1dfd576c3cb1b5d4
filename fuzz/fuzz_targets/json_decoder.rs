//! The `journalctl -o json` decoder: the stream is prefixed with `{` so JSON mode is
//! chosen whatever the fuzzer writes. Oracles as for `export_decoder`: no panic, and the
//! same entries and counts however the stream is chunked.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sigil_top::source::UnitFilter;

fuzz_target!(|data: &[u8]| {
    let (seed, rest) = common::take_seed(data);
    let mut stream = Vec::with_capacity(rest.len() + 1);
    stream.push(b'{');
    stream.extend_from_slice(rest);
    let filter = UnitFilter { units: Vec::new() };
    let _ = common::assert_split_invariant(&stream, &filter, seed);
});
