//! Views: everything that writes what sigil-top found, on screen or as text.
//!
//! Owns output formats. Views read entries and the model (`&Model`) and never change
//! them, never parse, and do not import `app` (they are handed what to draw or print).
//!
//! - `entries`: the headless `entries` and `stats` printers.
//! - `snapshot`: incident snapshot bundles, with redaction and safe writing (*export*
//!   means only journald's export format).
//! - `summary`: the headline figures (requests, failures, latency, hosts) computed once
//!   from the model; the report, the screen's header and `summary.md` all read it.
//! - `report`: the `sigil-top.report/1` document and its text/Markdown forms.
//! - `svg`: the snapshot's `latency.svg` chart (layout, axes, legend, XML-safe text).
//! - `watch`: incident change lines for `sigil-top watch`, and what it announced.
//! - `metrics`: the Prometheus text of `watch --metrics`.
//! - `tui`: the live screen (key map, UI state, layout and widgets).

pub mod entries;
pub(crate) mod metrics;
pub mod report;
pub mod snapshot;
pub(crate) mod summary;
pub mod svg;
pub mod tui;
pub(crate) mod watch;
