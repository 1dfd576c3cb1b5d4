//! sigil-top: watch the Sigil MCP server and the Cloudflare tunnel in front of it.
//!
//! ```text
//!   source                     parse                        model                                     view
//! sd-journal ─┐                                  ┌─▶ log (ring + Filter) ─────────────────┐           ┌─▶ tui
//! stdin ──────┼─▶ RawEntry ─batch─▶ Event ─apply─┼─▶ correlate ─▶ Trace ─▶ stats (HDR) ───┼─▶ &Model ─┼─▶ report
//! demo ───────┘  bytes, unit,       level, kind, └─▶ detect (Event + Trace) ─▶ Incident ──┘           └─▶ export
//!                cursor, time       + its RawEntry
//! ```
//!
//! Imports only point upstream (left in the diagram): see `../shared/STYLE.md` §1.4.

pub mod model;
pub mod parse;
pub mod source;
pub mod text;
pub mod view;
