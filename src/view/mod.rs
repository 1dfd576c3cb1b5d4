//! Views: everything that writes what sigil-top found, on screen or as text.
//!
//! Owns output formats. Views read entries and model state and never change them; they
//! do not import `app` (they are handed what to draw or print).
//!
//! - `entries`: the headless `entries` and `stats` printers.

pub mod entries;
