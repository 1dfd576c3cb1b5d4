//! The Sigil MCP server's lines. See `../shared/formats/sigil-mcp.md` (§5 wins).

use super::{EventKind, Parsed};
use crate::source::RawEntry;

pub fn parse(entry: &RawEntry) -> Parsed {
    let _ = entry;
    Parsed::new(None, EventKind::Unparsed)
}
