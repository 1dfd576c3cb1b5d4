//! Views: everything that shows the model — the headless report, (later) the TUI and
//! incident snapshots. Views read `&Model` and never change it, and never parse.

pub mod report;
