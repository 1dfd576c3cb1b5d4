//! cloudflared's log lines: console (zerolog `ConsoleWriter`), `--output json`, the raw-order
//! JSON of `--logfile`, and older versions' shapes. See `../shared/formats/cloudflared.md`
//! (§7, "observed", wins over earlier sections).

use super::{ParseStats, Parsed};

/// Per-process state for stitching torn `--output json` lines. Bounded.
#[derive(Debug, Default)]
pub struct State {}

impl State {
    /// Parses one cloudflared line. Total: unknown text is `Unparsed`.
    pub fn parse(&mut self, message: &[u8], pid: Option<u32>, stats: &mut ParseStats) -> Parsed {
        let _ = (message, pid, stats);
        Parsed::new(None, super::EventKind::Unparsed)
    }
}
