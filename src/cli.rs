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
#[command(name = "sigil-top", version, about, long_about = None)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub streams: StreamArgs,
    #[command(flatten)]
    pub screen: ScreenArgs,
}

/// How the live screen looks (given before or after `demo`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScreenArgs {
    /// Colours of the live screen [default: dark, or mono when `NO_COLOR` is set]
    #[arg(long, value_enum, value_name = "THEME")]
    pub theme: Option<ThemeName>,
    /// How fast the live screen replays the demo or a `--replay` input: `10x`, `20x`, … or
    /// `max` [default: 20x for the demo; a replay is shown whole unless this is given]
    #[arg(long, value_name = "SPEED")]
    pub speed: Option<String>,
}

impl ScreenArgs {
    /// `self` (given before the subcommand) with `later` (given after it) on top.
    #[must_use]
    pub fn merge(self, later: &ScreenArgs) -> ScreenArgs {
        ScreenArgs {
            theme: later.theme.or(self.theme),
            speed: later.speed.clone().or(self.speed),
        }
    }
}

/// The live screen's palettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThemeName {
    Dark,
    Light,
    /// No colour: bold and reverse only
    Mono,
}

/// Where entries come from and which ones are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// Unit to watch, as `journalctl -u` reads it (repeatable; a bare name gets `.service`)
    /// [default: sigil-mcp.service, cloudflared.service]
    #[arg(short = 'u', long = "unit", value_name = "UNIT")]
    pub units: Vec<String>,
    /// Read the journal files in this directory instead of the system journal (repeatable)
    #[arg(short = 'D', long = "directory", value_name = "DIR")]
    pub directories: Vec<PathBuf>,
    /// Read this journal file (repeatable; all files given are read together)
    #[arg(long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Start at this time: "2026-11-24 10:00", "10:00", "today", "-1h", "10 min ago", "@1795626316", …
    #[arg(short = 'S', long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Stop at this time (same forms as --since)
    #[arg(short = 'U', long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Start with only the last N matching entries
    #[arg(short = 'n', long = "lines", value_name = "N")]
    pub lines: Option<u64>,
    /// Keep reading new entries after the history [default: on for the live screen over the
    /// system journal, off otherwise]
    #[arg(short = 'f', long, overrides_with = "no_follow")]
    pub follow: bool,
    /// Stop at the end of the history
    #[arg(long = "no-follow", overrides_with = "follow")]
    pub no_follow: bool,
    /// Replay a snapshot bundle (its `journal.export`) or any journal export file
    #[arg(long = "replay", value_name = "BUNDLE_OR_EXPORT")]
    pub replay: Option<PathBuf>,
    /// Read thresholds, windows, unit names and limits from this TOML file
    /// [default: $XDG_CONFIG_HOME/sigil-top/config.toml when it exists]
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl InputArgs {
    /// `self` (given before the subcommand) with `later` (given after it) on top.
    #[must_use]
    pub fn merge(mut self, later: InputArgs) -> InputArgs {
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
        self
    }
}

/// Text inputs given as positionals.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StreamArgs {
    /// `-` for `journalctl -o export` or `-o json` text on standard input, or a file holding
    /// such text (repeatable)
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the entries read from the inputs, merged in time order
    Entries {
        /// `json`: one object per line (ts, unit, host, pid, priority, message, cursor, …);
        /// `short`: like `journalctl -o short`
        #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Short)]
        output: OutputFormat,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        streams: StreamArgs,
    },
    /// Summarise requests, latency, 502s, timeouts and incidents over the inputs
    Report {
        /// `text` (readable), `json` (the `sigil-top.report/1` document) or `markdown`
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Exit 1 when the p99 origin latency is above this ("500ms", "2s")
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
        /// Print the report in this format instead of opening the live screen [default: the
        /// live screen on a terminal, text otherwise]
        #[arg(long, value_enum)]
        format: Option<ReportFormat>,
        #[command(flatten)]
        screen: ScreenArgs,
    },
    /// Follow the inputs and print incidents as they open, update and close (for scripts
    /// and alerting)
    Watch {
        /// `json`: one `{"event": "open"|"update"|"close", "incident": {…}}` per line;
        /// `text`: one readable line per event
        #[arg(long, value_enum, default_value_t = WatchFormat::Json)]
        format: WatchFormat,
        /// Run this command for every event, with the event's JSON on its standard input
        /// and `SIGIL_TOP_EVENT` / `SIGIL_TOP_KIND` / `SIGIL_TOP_SEVERITY` /
        /// `SIGIL_TOP_INCIDENT` set; log text never reaches its command line. Failures are
        /// reported on stderr; on exit, running commands get up to 10 s
        #[arg(long, value_name = "CMD")]
        exec: Option<String>,
        /// Kill an `--exec` command still running after this long, and report it
        /// ("500ms", "30s") [default: 30s]
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
        #[arg(short = 'o', long = "output", value_name = "DIR")]
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

/// How `entries` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Short,
}
