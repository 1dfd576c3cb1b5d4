//! The command-line surface: flags exactly as typed, and the `--help` text.
//!
//! Owns [`Args`] and its subcommands. Does no I/O and no validation: `config` turns
//! `Args` into a checked `Config` (times parsed, units normalised, defaults resolved).
//!
//! Input flags are global (they may come before or after the subcommand). The positional
//! inputs (`-` for standard input, or a file of `journalctl -o export`/`-o json` text)
//! belong to each subcommand, because clap does not allow global positionals.

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
}

/// Where entries come from and which ones are read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// Unit to watch, as `journalctl -u` reads it (repeatable; a bare name gets `.service`)
    /// [default: sigil-mcp.service, cloudflared.service]
    #[arg(short = 'u', long = "unit", value_name = "UNIT", global = true)]
    pub units: Vec<String>,
    /// Read the journal files in this directory instead of the system journal (repeatable)
    #[arg(short = 'D', long = "directory", value_name = "DIR", global = true)]
    pub directories: Vec<PathBuf>,
    /// Read this journal file (repeatable; all files given are read together)
    #[arg(long = "file", value_name = "FILE", global = true)]
    pub files: Vec<PathBuf>,
    /// Start at this time: "2026-11-24 10:00", "10:00", "today", "-1h", "10 min ago", "@1795626316", …
    #[arg(
        short = 'S',
        long,
        value_name = "TIME",
        global = true,
        allow_hyphen_values = true
    )]
    pub since: Option<String>,
    /// Stop at this time (same forms as --since)
    #[arg(
        short = 'U',
        long,
        value_name = "TIME",
        global = true,
        allow_hyphen_values = true
    )]
    pub until: Option<String>,
    /// Start with only the last N matching entries
    #[arg(short = 'n', long = "lines", value_name = "N", global = true)]
    pub lines: Option<u64>,
    /// Keep reading new entries after the history [default: on for the live screen over the
    /// system journal, off otherwise]
    #[arg(short = 'f', long, global = true, overrides_with = "no_follow")]
    pub follow: bool,
    /// Stop at the end of the history
    #[arg(long = "no-follow", global = true, overrides_with = "follow")]
    pub no_follow: bool,
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
        streams: StreamArgs,
    },
    /// Count the entries read, per unit and per input
    Stats {
        #[command(flatten)]
        streams: StreamArgs,
    },
}

/// How `entries` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Short,
}
