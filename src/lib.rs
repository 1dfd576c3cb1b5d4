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

pub mod app;
mod bytes;
pub mod cli;
pub mod config;
pub mod config_file;
pub mod duration;
mod json;
pub mod model;
pub mod parse;
pub(crate) mod paths;
pub(crate) mod redact;
pub mod source;
pub mod text;
pub mod view;

pub use config::Config;

/// Runs sigil-top with a validated configuration (integration tests and benches call this).
pub fn run(config: Config) -> anyhow::Result<()> {
    app::run(config)
}

/// Validates `args` and runs them: what `main` calls.
pub fn run_args(args: cli::Args) -> anyhow::Result<()> {
    run(Config::from_args(args)?)
}
