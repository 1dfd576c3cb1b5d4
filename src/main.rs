//! The `sigil-top` binary: parse arguments, run, map the result to an exit code.
fn main() {}
