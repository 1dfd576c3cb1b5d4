//! The single integration test target: the real binary against real journal files.
//!
//! Journal files are built from export text with `systemd-journal-remote`; results are
//! compared with what `journalctl` itself prints for the same files.

/// Temp dirs, journal files, running the binary, deadline polling.
mod util;

/// Reading journal directories: `journalctl -u` parity, units, binary and huge messages,
/// several files and hosts, time ranges, follow.
mod journal;

/// Faults while following: rotation and vacuuming at 5,000 entries/s, the directory
/// gone and back, damaged journal files.
mod faults;

/// Standard input: `journalctl -o export` and `-o json` piped in give the same entries.
mod stdin;

/// Exit codes and messages: missing inputs, bad flags, permissions, broken pipe.
mod headless;

/// `report`: counts against the real captures' truth, stdin = journal, secrets never printed.
mod report;

/// `watch` on a followed journal, `--exec` hooks, SLO exit codes, config file errors.
mod watch;

/// Operating it (issue 18): gates that read nothing fail, `watch` starts at now and
/// resumes from `--cursor-file`, hooks under a storm, `/metrics`, systemd units.
mod operate;

/// Generated scenarios (restart, crash, edge timeouts, tunnel flap/outage, each format)
/// through real journal files, compared with the generator's truth.
mod scenarios;

/// Issue 16: a busy day in every format and level, in process against the generator's
/// truth: timeouts, aborts and 502s under concurrency, stream reordering, windows.
mod load;

/// `snapshot`: bundle files, redaction, permissions, atomicity, archive, replay.
mod snapshot;
/// The live screen in a real terminal (tmux): panels, keys, a hostile line kept inert,
/// the terminal restored after `q`, SIGTERM and SIGHUP; the demo plays and stays open;
/// issue 8's faults while following: Ctrl-Z/SIGTSTP/SIGCONT, a resize storm, and a flood
/// into a live journal (behind indicator, keys, nothing lost).
mod tui_e2e;

/// Deployments without a real capture: native journald fields, old cloudflared, an
/// unhandled exception, garbage on the socket, cloudflared's start-up exit loop.
mod formats;

/// Hostile input (issue 8): a table of bad inputs through stdin and journal files, and terminal injection.
mod hostile;

/// journalctl's flags side by side with journalctl on the same generated journal files.
mod journalctl_flags;

/// Issue 22: history read by several handles at once is the one reader's, in
/// journalctl's order, on a directory of tangled files, hosts, boots and ties.
mod parallel;

/// Completions the shells accept, the man page through groff, `--version`'s commit.
mod install;

/// One grammar for what operators type: time spans against systemd's own parser,
/// duration flags, `config --check` round trip, `-o` in every subcommand.
mod grammar;

/// Issue 17 point 5: damaged journal files against the real journalctl, damage by damage.
mod damaged;
