//! `journalctl -o export` and `journalctl -o json` byte streams (stdin or a file).
//!
//! sigil-top never runs journalctl: it reads what journalctl writes. Two jobs, one file
//! each: `decode` turns bytes into entries ([`Decoder`], sync and incremental), `read`
//! turns a `Read` into [`SourceMsg`](super::SourceMsg)s on a thread of its own or on the
//! caller's ([`spawn_reader`], [`spawn_pipe_reader`], [`read_in_place`]). `json` is the
//! fast path for `-o json` lines. The public paths stay `source::stream::…`.

mod decode;
mod json;
mod read;

pub use decode::{DecodeCounts, Decoder};
pub(crate) use read::{read_in_place, spawn_pipe_reader, spawn_reader};
