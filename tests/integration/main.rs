//! The single integration test target: the real binary against real journal files.
//!
//! Journal files are built from export text with `systemd-journal-remote`; results are
//! compared with what `journalctl` itself prints for the same files.

/// Temp dirs, journal files, running the binary, deadline polling.
mod util;

/// Reading journal directories: `journalctl -u` parity, units, binary and huge messages,
/// several files and hosts, time ranges, follow.
mod journal;

/// Standard input: `journalctl -o export` and `-o json` piped in give the same entries.
mod stdin;

/// Exit codes and messages: missing inputs, bad flags, permissions, broken pipe.
mod headless;

/// `report`: counts against the real captures' truth, stdin = journal, secrets never printed.
mod report;

/// `watch` on a followed journal, `--exec` hooks, SLO exit codes, config file errors.
mod watch;

/// Hostile input (issue 8): a table of bad inputs through stdin and journal files, and terminal injection.
mod hostile;
