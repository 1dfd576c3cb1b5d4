//! Faults the tests inject into the journal reader, read from the environment only in a
//! build with the `fault-injection` cargo feature (`cargo test --features
//! fault-injection`; see README "Tests" and docs/robustness.md).
//!
//! - `SIGIL_TOP_REOPEN_EVERY=N`: reopen the journal after every N entries (history and
//!   following), so the resume-at-cursor path runs on small test journals too; in use it
//!   runs only past ~64 MiB of mapped journal pages.
//! - `SIGIL_TOP_FAULT=reader-panic`: the reader thread panics after its first entry, to
//!   prove that a reader's panic ends the program with the terminal restored.
//!
//! A normal build (`cargo build --release`, the package) has neither the code nor the
//! variables' names: setting them changes nothing (checked by
//! `a_normal_build_ignores_the_fault_injection_variables`).
//!
//! Owns: reading those two variables. Does not own what the reader does with them.

/// The faults asked for this run; none in a normal build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Faults {
    /// Reopen after every this many entries.
    pub(super) reopen_every: Option<u64>,
    /// Panic after the first entry.
    pub(super) is_reader_panic: bool,
}

impl Faults {
    /// The faults the environment asks for.
    #[cfg(feature = "fault-injection")]
    pub(super) fn from_env() -> Faults {
        Faults {
            reopen_every: std::env::var("SIGIL_TOP_REOPEN_EVERY")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0),
            is_reader_panic: std::env::var_os("SIGIL_TOP_FAULT")
                .is_some_and(|v| v == "reader-panic"),
        }
    }

    /// No faults: a normal build reads nothing from the environment.
    #[cfg(not(feature = "fault-injection"))]
    pub(super) fn from_env() -> Faults {
        Faults::default()
    }

    /// Panics when the reader-panic fault is asked for (after the reader's first entry).
    #[cfg(feature = "fault-injection")]
    pub(super) fn panic_if_asked(self) {
        assert!(
            !self.is_reader_panic,
            "injected fault (SIGIL_TOP_FAULT=reader-panic)"
        );
    }

    /// Nothing to inject in a normal build.
    #[cfg(not(feature = "fault-injection"))]
    #[allow(
        clippy::unused_self,
        reason = "the same call as in the fault-injection build"
    )]
    pub(super) fn panic_if_asked(self) {}
}
