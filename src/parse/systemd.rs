//! PID 1's lines about a unit (`Stopping …`, `Main process exited, …`).

use super::{EventKind, Parsed};
use crate::source::RawEntry;

pub fn parse(entry: &RawEntry) -> Parsed {
    let _ = entry;
    Parsed::new(None, EventKind::Unparsed)
}
