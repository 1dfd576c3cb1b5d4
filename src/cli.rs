//! The command-line surface: flags exactly as typed, and the `--help` text.
//!
//! Owns [`Args`] and its subcommands. Does no I/O and no validation: `config` turns
//! `Args` into a checked `Config` (times parsed, units normalised, defaults resolved).
//!
//! Input flags may come before or after the subcommand: [`InputArgs`] and [`StreamArgs`]
//! are flattened into the top level and into each subcommand, and `config` merges the two
//! (lists add up; for a single value the subcommand's wins). Clap's `global = true` is
//! not used because a repeated global flag given on both sides keeps only one side's
//! values, and positionals cannot be global.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Watch the Sigil MCP server and the Cloudflare tunnel in front of it, from their journald logs.
#[derive(Debug, Parser)]
#[command(
    name = "sigil-top",
    version = concat!(env!("CARGO_PKG_VERSION"), " ", env!("SIGIL_TOP_BUILD")),
    about,
    long_about = None
)]
pub struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) input: InputArgs,
    #[command(flatten)]
    pub(crate) streams: StreamArgs,
    #[command(flatten)]
    pub(crate) screen: ScreenArgs,
}

/// How the live screen looks (given before or after `demo`).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ScreenArgs {
    /// Colours of the live screen [default: dark, or mono when `NO_COLOR` is set]
    #[arg(long, value_enum, value_name = "THEME")]
    pub(crate) theme: Option<ThemeName>,
    /// How fast the live screen replays the demo or a `--replay` input: `10x`, `20x`, … or
    /// `max` [default: 20x for the demo; a replay is shown whole unless this is given]
    #[arg(long, value_name = "SPEED")]
    pub(crate) speed: Option<String>,
}

impl ScreenArgs {
    /// `self` (given before the subcommand) with `later` (given after it) on top.
    #[must_use]
    pub(crate) fn merge(self, later: &ScreenArgs) -> ScreenArgs {
        ScreenArgs {
            theme: later.theme.or(self.theme),
            speed: later.speed.clone().or(self.speed),
        }
    }
}

/// The live screen's palettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ThemeName {
    Dark,
    Light,
    /// No colour: bold and reverse only
    Mono,
}

/// Where entries come from and which ones are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct InputArgs {
    /// Unit to watch, as `journalctl -u` reads it (repeatable; a bare name gets `.service`)
    /// [default: sigil-mcp.service, cloudflared.service]
    #[arg(short = 'u', long = "unit", value_name = "UNIT")]
    pub(crate) units: Vec<String>,
    /// Read the journal files in this directory instead of the system journal (repeatable)
    #[arg(short = 'D', long = "directory", value_name = "DIR")]
    pub(crate) directories: Vec<PathBuf>,
    /// Read this journal file (repeatable; all files given are read together)
    #[arg(long = "file", value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Start at this time, as journalctl reads it: "2026-11-24 10:00", "10:00", "Mon
    /// 2026-11-24 10:00", "2026-11-24 10:00 Europe/Berlin", "… UTC", "today", "-1h30m", "10
    /// min ago", "@1795626316", …
    #[arg(short = 'S', long, value_name = "TIME", allow_hyphen_values = true)]
    pub(crate) since: Option<String>,
    /// Stop at this time (same forms as --since)
    #[arg(short = 'U', long, value_name = "TIME", allow_hyphen_values = true)]
    pub(crate) until: Option<String>,
    /// Start with only the last N matching entries
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub(crate) lines: Option<u64>,
    /// Keep reading new entries after the history [default: on for the live screen over the
    /// system journal, off otherwise]
    #[arg(short = 'f', long, overrides_with = "no_follow")]
    pub(crate) follow: bool,
    /// Stop at the end of the history
    #[arg(long = "no-follow", overrides_with = "follow")]
    pub(crate) no_follow: bool,
    /// Replay a snapshot bundle (its `journal.export`) or any journal export file
    #[arg(long = "replay", value_name = "BUNDLE_OR_EXPORT")]
    pub(crate) replay: Option<PathBuf>,
    /// Read thresholds, windows, unit names and limits from this TOML file
    /// [default: $XDG_CONFIG_HOME/sigil-top/config.toml when it exists]
    #[arg(long = "config", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) journalctl: JournalctlArgs,
}

/// The flags `journalctl` users type, with `journalctl`'s meaning (systemd 252); they
/// filter every mode, the live screen included. See README "journalctl's flags".
#[derive(Debug, Clone, Default, clap::Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "journalctl's independent switches (-r, --utc, -q, --no-pager), as typed"
)]
pub(crate) struct JournalctlArgs {
    /// Only entries of this priority or more important: a name (emerg, alert, crit, err,
    /// warning, notice, info, debug), a number 0-7, or a range `err..warning`
    #[arg(short = 'p', long = "priority", value_name = "PRIORITY")]
    pub(crate) priority: Option<String>,
    /// Only entries whose message matches this regular expression (case-insensitive unless
    /// it has an upper-case letter, as journalctl does; see --case-sensitive)
    #[arg(short = 'g', long = "grep", value_name = "PATTERN")]
    pub(crate) grep: Option<String>,
    /// Make --grep case-sensitive (`--case-sensitive=false`: insensitive)
    #[arg(
        long = "case-sensitive",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(crate) case_sensitive: Option<bool>,
    /// Only entries with this `SYSLOG_IDENTIFIER` (repeatable)
    #[arg(short = 't', long = "identifier", value_name = "ID")]
    pub(crate) identifiers: Vec<String>,
    /// Only entries of one boot: `-b` the current (or, with -D/--file, the last) boot, `-b
    /// -1` the one before, `-b 1` the first, `-b ID`, `-b ID+1`, … (put `-b` after the
    /// subcommand, or give it a value)
    #[arg(
        short = 'b',
        long = "boot",
        value_name = "ID|±N",
        num_args = 0..=1,
        default_missing_value = "0",
        allow_negative_numbers = true
    )]
    pub(crate) boot: Option<String>,
    /// Start at the entry with this cursor (or the next one after where it would be)
    #[arg(long = "cursor", value_name = "CURSOR")]
    pub(crate) cursor: Option<String>,
    /// Start after the entry with this cursor
    #[arg(long = "after-cursor", value_name = "CURSOR")]
    pub(crate) after_cursor: Option<String>,
    /// Newest entries first (entries)
    #[arg(short = 'r', long = "reverse")]
    pub(crate) reverse: bool,
    /// Show times in UTC (entries)
    #[arg(long = "utc")]
    pub(crate) utc: bool,
    /// No informational messages and no warnings on standard error
    #[arg(short = 'q', long = "quiet")]
    pub(crate) quiet: bool,
    /// Accepted for journalctl's habit; sigil-top never pipes into a pager
    #[arg(long = "no-pager")]
    pub(crate) no_pager: bool,
}

impl JournalctlArgs {
    /// `self` (given before the subcommand) with `later` (given after it) on top.
    #[must_use]
    pub(crate) fn merge(mut self, later: JournalctlArgs) -> JournalctlArgs {
        self.identifiers.extend(later.identifiers);
        self.priority = later.priority.or(self.priority);
        self.grep = later.grep.or(self.grep);
        self.case_sensitive = later.case_sensitive.or(self.case_sensitive);
        self.boot = later.boot.or(self.boot);
        self.cursor = later.cursor.or(self.cursor);
        self.after_cursor = later.after_cursor.or(self.after_cursor);
        self.reverse |= later.reverse;
        self.utc |= later.utc;
        self.quiet |= later.quiet;
        self.no_pager |= later.no_pager;
        self
    }
}

impl InputArgs {
    /// `self` (given before the subcommand) with `later` (given after it) on top.
    #[must_use]
    pub(crate) fn merge(mut self, later: InputArgs) -> InputArgs {
        self.units.extend(later.units);
        self.directories.extend(later.directories);
        self.files.extend(later.files);
        self.since = later.since.or(self.since);
        self.until = later.until.or(self.until);
        self.lines = later.lines.or(self.lines);
        if later.follow || later.no_follow {
            self.follow = later.follow;
            self.no_follow = later.no_follow;
        }
        self.config = later.config.or(self.config);
        self.replay = later.replay.or(self.replay);
        self.journalctl = self.journalctl.merge(later.journalctl);
        self
    }
}

/// Text inputs given as positionals.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct StreamArgs {
    /// `-` for `journalctl -o export` or `-o json` text on standard input, or a file holding
    /// such text (repeatable)
    #[arg(value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the entries read from the inputs, merged in time order
    Entries {
        /// Output format, as `journalctl -o`: `short`, `short-iso`, `short-precise`, `cat`, `export`,
        /// `json` and `json-pretty` (journalctl's fields that sigil-top reads, plus its own
        /// lower-case keys: ts, unit, host, pid, priority, message, cursor, …)
        #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Short)]
        output: OutputFormat,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        streams: StreamArgs,
    },
    /// Summarise requests, latency, 502s, timeouts and incidents over the inputs
    Report {
        /// Output format: `text` (readable), `json` (the `sigil-top.report/1` document) or
        /// `markdown` (also `--format`)
        #[arg(short = 'o', long = "output", visible_alias = "format", value_name = "FORMAT",
              value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Exit 1 when the p99 origin latency is above this (a systemd time span: "500ms",
        /// "2s", "1.5s", "1h30m")
        #[arg(long = "max-p99", value_name = "DURATION")]
        max_p99: Option<String>,
        /// Exit 1 when more than this percentage of answered requests were 5xx
        #[arg(long = "max-5xx-rate", value_name = "PCT")]
        max_5xx_rate: Option<f64>,
        /// Exit 1 when more than this many requests got a 502 from the tunnel
        #[arg(long = "max-502", value_name = "N")]
        max_502: Option<u64>,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        streams: StreamArgs,
    },
    /// Run on the built-in demo scenario (a real capture: restart, 502s, client cancel)
    Demo {
        /// Print the report in this format instead of opening the live screen (also
        /// `--format`) [default: the live screen on a terminal, text otherwise]
        #[arg(
            short = 'o',
            long = "output",
            visible_alias = "format",
            value_name = "FORMAT",
            value_enum
        )]
        format: Option<ReportFormat>,
        #[command(flatten)]
        screen: ScreenArgs,
    },
    /// Follow the inputs and print incidents as they open, update and close (for scripts
    /// and alerting)
    Watch {
        /// Output format: `json`, one `{"event": "open"|"update"|"close", "incident": {…}}`
        /// per line; `text`, one readable line per event (also `--format`)
        #[arg(short = 'o', long = "output", visible_alias = "format", value_name = "FORMAT",
              value_enum, default_value_t = WatchFormat::Json)]
        format: WatchFormat,
        /// Run this command for every event, with the event's JSON on its standard input
        /// and `SIGIL_TOP_EVENT` / `SIGIL_TOP_KIND` / `SIGIL_TOP_SEVERITY` /
        /// `SIGIL_TOP_INCIDENT` set; log text never reaches its command line. Failures are
        /// reported on stderr; on exit, running commands get up to 10 s
        #[arg(long, value_name = "CMD")]
        exec: Option<String>,
        /// Kill an `--exec` command still running after this long, and report it (a
        /// systemd time span: "500ms", "30s", "1min 30s") [default: 30s]
        #[arg(long = "exec-timeout", value_name = "DURATION")]
        exec_timeout: Option<String>,
        /// Run at most this many `--exec` commands at once (the events of one incident
        /// always run one after another, in order) [default: 4]
        #[arg(long = "exec-max-running", value_name = "N")]
        exec_max_running: Option<usize>,
        /// Start after the cursor saved in FILE, and save the cursor of the last entry
        /// processed there (as `journalctl --cursor-file`); open incidents are saved next
        /// to it (`FILE.incidents.json`), so a restart neither loses nor repeats an alert
        #[arg(long = "cursor-file", value_name = "FILE")]
        cursor_file: Option<PathBuf>,
        /// Serve Prometheus metrics on `http://ADDR/metrics` [default ADDR: 127.0.0.1:9464;
        /// a bare port means 127.0.0.1:PORT]
        #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true,
              default_missing_value = "127.0.0.1:9464")]
        metrics: Option<String>,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        streams: StreamArgs,
    },
    /// Write an incident snapshot bundle (summary.md, report.json, traces.jsonl,
    /// histogram.hgrm, latency.svg, journal.export) and print its path
    Snapshot {
        /// The incident to snapshot (its id in `report`); default: the whole window read
        #[arg(long, value_name = "ID")]
        incident: Option<u64>,
        /// Where to write [default: $XDG_STATE_HOME/sigil-top/snapshots]
        #[arg(long = "output-dir", value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// Deprecated spelling of --output-dir (warns): `-o` is the output format in every
        /// other subcommand, as in journalctl
        #[arg(
            short = 'o',
            long = "output",
            value_name = "DIR",
            hide = true,
            conflicts_with = "output_dir"
        )]
        output: Option<PathBuf>,
        /// Write one .tar.gz instead of a directory
        #[arg(long)]
        archive: bool,
        /// Also replace IP addresses (not loopback) by stand-ins, the same stand-in for the
        /// same address within the bundle
        #[arg(long = "anonymize-ip")]
        anonymize_ip: bool,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        streams: StreamArgs,
    },
    /// Print the configuration file's keys with their defaults (`--default`), or check one
    Config {
        /// Print the commented default configuration
        #[arg(long)]
        default: bool,
        /// Check this file and print the settings it gives
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
    /// Count the entries read, per unit and per input
    Stats {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        streams: StreamArgs,
    },
    /// Print a shell completion script (`sigil-top completions bash > …`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff: `sigil-top manpage | man -l -`)
    Manpage,
}

/// How `watch` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    Json,
    Text,
}

/// How `report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

/// How `entries` prints (`journalctl -o`'s modes of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `Nov 24 10:00:00 host ident[pid]: message`
    Short,
    /// `2026-11-24T10:00:00+0100 host ident[pid]: message`
    ShortIso,
    /// `Nov 24 10:00:00.123456 host ident[pid]: message`
    ShortPrecise,
    /// The message alone
    Cat,
    /// journald's export format (`systemd-journal-remote` reads it back)
    Export,
    /// One JSON object per line
    Json,
    /// One indented JSON object per entry
    JsonPretty,
}

/// The completion script for `shell`, generated from [`Args`] (so it never lags the
/// flags).
pub(crate) fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut command = Args::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "sigil-top", &mut out);
    out
}

/// The man page, `sigil-top(1)` in roff, generated from [`Args`]: the top-level flags,
/// then one section per subcommand with its own flags, exit status, files and see-also.
pub(crate) fn manpage() -> Vec<u8> {
    use clap::CommandFactory;
    // The version without the commit: the page is packaged (assets/man) and must not
    // change with every commit.
    let command = Args::command().version(env!("CARGO_PKG_VERSION"));
    let man = clap_mangen::Man::new(command.clone()).date(MANPAGE_DATE);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    let _ = man.render_subcommands_section(&mut out);
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        // Flags given to a subcommand: its own and the input flags it repeats. Input
        // flags are documented once, above; the subcommand's section lists its own.
        let own: Vec<clap::Arg> = sub
            .get_arguments()
            .filter(|a| {
                a.get_id() != "help"
                    && !command
                        .get_arguments()
                        .any(|top| top.get_id() == a.get_id())
            })
            .cloned()
            .collect();
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        out.extend_from_slice(
            format!(
                ".SH \"SIGIL-TOP {}\"\n{}\n",
                name.to_uppercase(),
                roff_escape(&about)
            )
            .as_bytes(),
        );
        if own.is_empty() {
            continue;
        }
        // Help is documented once, at the top.
        let mut only = clap::Command::new("subcommand").disable_help_flag(true);
        for a in own {
            only = only.arg(a);
        }
        let mut section = Vec::new();
        let _ = clap_mangen::Man::new(only).render_options_section(&mut section);
        // Its options as a sub-heading of the subcommand's section.
        let text = String::from_utf8_lossy(&section).replacen(".SH OPTIONS", ".SS OPTIONS", 1);
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(MANPAGE_TAIL.as_bytes());
    let _ = man.render_version_section(&mut out);
    roff_ascii(&out)
}

/// Non-ASCII characters as roff's `\[uXXXX]` escapes, so the page renders the same under
/// any locale and through `groff` without `preconv`.
fn roff_ascii(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out.into_bytes()
}

/// The man page's date: the release it documents (a fixed date keeps builds
/// reproducible).
const MANPAGE_DATE: &str = "2026-12-06";

/// What the generated sections cannot say: exit status, files, see also.
const MANPAGE_TAIL: &str = r#".SH "EXIT STATUS"
0 on success (also when the output pipe closes early), 1 when a \fBreport\fR gate
(\fB\-\-max\-p99\fR, \fB\-\-max\-5xx\-rate\fR, \fB\-\-max\-502\fR) is breached or
\fBentries \-\-grep\fR matched nothing, 2 on error.
.SH ENVIRONMENT
.TP
\fBTZ\fR
The time zone of local times: in \fB\-\-since\fR/\fB\-\-until\fR, on screen and in
\fBentries\fR, read as journalctl reads it (a zone name, a path or a POSIX rule).
.TP
\fBNO_COLOR\fR
When set and not empty, the live screen's default theme is \fBmono\fR.
.TP
\fBXDG_CONFIG_HOME\fR, \fBXDG_STATE_HOME\fR
Where the configuration file and snapshot bundles are (see FILES).
.TP
\fBSIGIL_TOP_READERS\fR=\fIN\fR
How many sd\-journal handles read history at once (\fB1\fR: one). Unset: one, plus one per
core the rest of the machine leaves idle (at most one per core and 4).
.TP
\fBSIGIL_TOP_ZSTD_REUSE\fR=\fB0\fR
Turns off the zstd context cache: libsystemd then creates a context for every compressed
field it reads, as journalctl does (the cache saves a third of a history read\(aqs CPU on a
virtual machine).
.TP
\fBSIGIL_TOP_ZSTD_STATS\fR=\fB1\fR
Prints how many zstd contexts were created and reused, at exit, on standard error.
.TP
\fBSIGIL_TOP_PARALLEL_PLAN\fR=\fBspans\fR|\fBinterleaved\fR
For diagnosis: how parallel handles share history out, and an account of the merge on
standard error.
.PP
\fB\-\-exec\fR hooks get \fBSIGIL_TOP_EVENT\fR, \fBSIGIL_TOP_KIND\fR,
\fBSIGIL_TOP_SEVERITY\fR and \fBSIGIL_TOP_INCIDENT\fR (see \fBwatch\fR).
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/sigil\-top/config.toml\fR
Thresholds, windows, unit names, limits and redaction patterns
(\fBsigil\-top config \-\-default\fR prints every key).
.TP
\fI$XDG_STATE_HOME/sigil\-top/snapshots/\fR
Incident snapshot bundles.
.SH "SEE ALSO"
\fBjournalctl\fR(1), \fBsystemd.journal\-fields\fR(7), \fBsystemd\-journal\-remote\fR(8)
"#;

/// `text` safe as roff body text: a backslash doubled, a leading dot or quote escaped.
fn roff_escape(text: &str) -> String {
    let t = text.replace('\\', "\\\\");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// See: issue 19 (point 7). `-o` means one thing, as in journalctl: in every
    /// subcommand that has it (visibly), it is `--output FORMAT`, a choice of formats.
    /// Output paths are `--output-dir`; `snapshot -o DIR` is only a hidden, deprecated
    /// spelling of it.
    #[test]
    fn issue_19_o_is_the_output_format_in_every_subcommand() {
        let command = Args::command();
        let mut with_o = Vec::new();
        for sub in command.get_subcommands() {
            for arg in sub.get_arguments().filter(|a| a.get_short() == Some('o')) {
                let name = sub.get_name();
                if arg.is_hide_set() {
                    assert_eq!(
                        (name, arg.get_id().as_str()),
                        ("snapshot", "output"),
                        "only snapshot's old -o DIR may be hidden"
                    );
                    continue;
                }
                assert_eq!(arg.get_long(), Some("output"), "{name}");
                assert!(
                    !arg.get_possible_values().is_empty(),
                    "{name} -o is not a choice of formats"
                );
                with_o.push(name);
            }
            // An output path is never `--output`.
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_long() == Some("output") {
                    assert!(!arg.get_possible_values().is_empty(), "{}", sub.get_name());
                }
            }
        }
        assert_eq!(with_o, ["entries", "report", "demo", "watch"]);
    }

    #[test]
    fn format_is_another_name_for_output() {
        for argv in [
            ["sigil-top", "report", "-o", "json"],
            ["sigil-top", "report", "--output", "json"],
            ["sigil-top", "report", "--format", "json"],
        ] {
            let args = Args::try_parse_from(argv).unwrap();
            assert!(
                matches!(
                    args.command,
                    Some(Command::Report {
                        format: ReportFormat::Json,
                        ..
                    })
                ),
                "{argv:?}"
            );
        }
        let bad = Args::try_parse_from(["sigil-top", "snapshot", "-o", "a", "--output-dir", "b"]);
        assert!(bad.is_err(), "both spellings of the directory at once");
    }
}
