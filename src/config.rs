//! Turning [`Args`] into a checked [`Config`]: times parsed, units normalised, inputs and
//! defaults resolved, and every limit in one place with its unit.
//!
//! Owns validation and defaults. Does not own the flag surface (`cli`) or any I/O: it
//! reads only the clock (for relative times) and never opens an input, so "does this
//! directory exist" is answered by the source when it opens it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    Args, Command, InputArgs, JournalctlArgs, OutputFormat, ReportFormat, ScreenArgs, ThemeName,
    WatchFormat,
};
use crate::config_file::{self, ConfigFileError};
use crate::duration::{DurationError, ACCEPTED_DURATION_FORMS};
use crate::model::Settings;
use crate::source::demo::Pace;
use crate::source::filter::{self, EntryFilter, FilterError, Grep, StartCursor};
use crate::source::since::{parse_time_in, TimeError};
use crate::source::{InputSpec, ReadOptions, StartAt, Timestamp, Unit, UnitFilter};

/// Events the log keeps in the headless modes (`report`, `watch`): none, because they
/// never show it. A log entry holds a whole `RawEntry` (message, cursor, fields), so the
/// default 100k-event log would be most of their memory. `[limits] log_events` sizes the
/// log of the modes that show it (the live screen, snapshots).
pub const HEADLESS_LOG_CAPACITY_EVENTS: usize = 0;

/// Sealed traces kept in the headless modes: none, for the same reason (a report counts
/// every trace in its statistics and incidents; only the request view and snapshots list
/// traces).
pub const HEADLESS_TRACE_CAPACITY: usize = 0;

/// Batches in flight between the sources and the app loop. Enough to absorb a burst while
/// the loop draws; more only holds entries in memory (64 batches of 1024 entries were
/// ~50 MB of a report's peak), since a source that is ahead just waits.
pub(crate) const CHANNEL_CAPACITY_BATCHES: usize = 8;

/// The units watched when no `-u` is given.
pub const DEFAULT_UNITS: &[&str] = &["sigil-mcp.service", "cloudflared.service"];

/// The live screen's defaults.
pub(crate) const DEFAULT_FRAMES_PER_SEC: u32 = 30;
/// How fast the demo plays on the live screen unless `--speed` says otherwise: its 78 s
/// (start, traffic, restart, 502s, recovery) in about 4 s.
pub(crate) const DEFAULT_DEMO_PACE: Pace = Pace::Times(20);

/// How the live screen looks and redraws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScreenSettings {
    pub(crate) theme: ThemeName,
    /// Redraws at most this often (only when something changed).
    pub(crate) frames_per_sec: u32,
    /// The demo's replay pace on the live screen; `None` for every other input.
    pub(crate) replay: Option<Pace>,
    /// The bounded look-back the live screen started with over the running journal
    /// (`[screen] lookback`, when no `--since` was given), in µs: the header says it.
    pub(crate) lookback_us: Option<u64>,
}

/// What the terminal and environment say, read once ([`TerminalFacts::detect`]) so
/// validation stays a pure function in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TerminalFacts {
    pub(crate) stdout_is_terminal: bool,
    /// `NO_COLOR` is set and not empty (<https://no-color.org>).
    pub(crate) no_color: bool,
}

impl TerminalFacts {
    pub(crate) fn detect() -> TerminalFacts {
        use std::io::IsTerminal;
        TerminalFacts {
            stdout_is_terminal: std::io::stdout().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// Reads `--speed`: `20x`, `20`, `1.5x` is refused (whole multiples only), `max`.
fn parse_pace(text: &str) -> Result<Pace, ConfigError> {
    let t = text.trim().to_ascii_lowercase();
    if t == "max" {
        return Ok(Pace::Max);
    }
    match t.strip_suffix('x').unwrap_or(&t).parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Pace::Times(n)),
        _ => Err(ConfigError::Speed(text.to_owned())),
    }
}

/// What to do with the entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// No subcommand: the live screen (not built yet).
    Tui,
    /// `entries`: print every entry read.
    Entries { format: OutputFormat },
    /// `stats`: counts per unit and per input.
    Stats,
    /// `report`: the headless summary, with optional SLO gates.
    Report { format: ReportFormat, slo: Slo },
    /// `watch`: incidents as they open, update and close.
    Watch {
        format: WatchFormat,
        exec: Option<String>,
        hooks: HookLimits,
        /// `--cursor-file`: where the position (and open incidents, next to it) is kept.
        cursor_file: Option<PathBuf>,
        /// `--metrics`: where `/metrics` is served.
        metrics: Option<std::net::SocketAddr>,
    },
    /// `config --default` / `config --check FILE`, `completions SHELL`, `manpage`: print,
    /// and exit.
    PrintConfig { text: Vec<u8> },
    /// `snapshot`: write a bundle.
    Snapshot {
        incident: Option<u64>,
        output: PathBuf,
        archive: bool,
    },
}

/// How `watch` runs its `--exec` hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookLimits {
    /// Hooks running at once, over all incidents.
    pub(crate) max_running: usize,
    /// A hook still running after this is killed and reported.
    pub(crate) timeout: Duration,
    /// On exit, how long `watch` waits for hooks still running or queued.
    pub(crate) exit_grace: Duration,
}

/// `--exec-max-running` when not given.
pub(crate) const DEFAULT_HOOKS_RUNNING: usize = 4;
/// `--exec-timeout` when not given: enough for a pager's HTTP call with retries.
pub(crate) const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `watch` waits for hooks when it stops. systemd's default `TimeoutStopSec` is
/// 90 s; this stays well under it.
pub(crate) const HOOK_EXIT_GRACE: Duration = Duration::from_secs(10);
/// How often `watch --cursor-file` saves its position while entries flow (and always on
/// exit): a crash repeats at most this much work, and the disk sees one small write.
pub(crate) const CURSOR_SAVE_EVERY: Duration = Duration::from_secs(2);

/// Gates `report` checks for cron and CI: exit 1 when any is breached.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Slo {
    pub max_p99_us: Option<u64>,
    pub(crate) max_5xx_pct: Option<f64>,
    pub(crate) max_502: Option<u64>,
}

impl Slo {
    /// Whether any gate is set (`report` is then a check, not only a summary).
    pub(crate) fn is_gate(&self) -> bool {
        self.max_p99_us.is_some() || self.max_5xx_pct.is_some() || self.max_502.is_some()
    }
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// In the order given: journal directories, then journal files (one input together),
    /// then text inputs; the system journal alone when none is given. An entry's
    /// `RawEntry::input` is an index into this list.
    pub(crate) inputs: Vec<InputSpec>,
    pub(crate) units: UnitFilter,
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    /// Where reading starts when a window (`--since`) needs state from before it: the
    /// look-back (`[window] lookback`), read for state only (`Settings::count_from`).
    pub(crate) read_from: Option<Timestamp>,
    pub(crate) backlog_entries: Option<u64>,
    pub(crate) follow: bool,
    /// Where journal inputs start when `--since`/`-n` do not say: their end for `watch`
    /// (see [`StartAt`]), their head otherwise. `watch --cursor-file` replaces it with
    /// the saved cursor when it reads one.
    pub(crate) start: StartAt,
    /// Capacity of the source channel, in batches (each up to `batch_max_entries`).
    pub(crate) channel_capacity_batches: usize,
    pub(crate) batch_max_entries: usize,
    pub(crate) batch_max_wait: Duration,
    /// Limits and thresholds of the model.
    pub(crate) model: Settings,
    /// Extra redaction regexes for snapshots (config file `[redact] patterns`).
    pub(crate) redact_patterns: Vec<String>,
    /// `snapshot --anonymize-ip`: IP addresses in the bundle are replaced by stand-ins.
    pub(crate) anonymize_ips: bool,
    /// The live screen's look and pace.
    pub(crate) screen: ScreenSettings,
    /// journalctl's filters besides units and times (`-p`, `-t`, `-b`, `-g`,
    /// `--cursor`): every mode reads only what they let through.
    pub(crate) filter: EntryFilter,
    /// How entries and messages are printed (`-r`, `--utc`, `-q`).
    pub(crate) output: OutputSettings,
    /// Said on standard error before the mode starts (unless `-q`): deprecated spellings.
    pub(crate) warnings: Vec<String>,
}

/// journalctl's output flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct OutputSettings {
    /// `-r`: `entries` prints the newest first.
    pub(crate) reverse: bool,
    /// `--utc`: times in UTC (`entries`, the live screen).
    pub(crate) utc: bool,
    /// `-q`: no warnings or informational lines (boot separators) are printed.
    pub(crate) quiet: bool,
}

/// Whether the subcommand replaces the inputs (the demo reads only its own scenario).
enum CommandKind {
    Demo,
    Other,
}

/// Model settings for the watched units. The config file names the origin and tunnel
/// units; when `-u` names others, the first unit that looks like cloudflared is the
/// tunnel and the first other one the origin.
fn model_settings(mut settings: Settings, units: &[Unit]) -> Settings {
    // A glob covers the configured unit when it matches its name (`-u 'cloudflared*'`
    // keeps `cloudflared.service` as the tunnel); the names a glob stands for are known
    // only as entries arrive, so a glob is never picked as a unit itself.
    let covers = |name: &Unit| {
        units.iter().any(|u| {
            u == name
                || (u.is_glob()
                    && filter::glob_match(u.as_str().as_bytes(), name.as_str().as_bytes()))
        })
    };
    if !covers(&settings.tunnel_unit) {
        if let Some(t) = units
            .iter()
            .find(|u| !u.is_glob() && u.as_str().contains("cloudflared"))
        {
            settings.tunnel_unit = t.clone();
        }
    }
    if !covers(&settings.origin_unit) {
        if let Some(o) = units.iter().find(|u| {
            !u.is_glob() && **u != settings.tunnel_unit && !u.as_str().contains("cloudflared")
        }) {
            settings.origin_unit = o.clone();
        }
    }
    settings
}

/// A flag combination that cannot run; the message says which flag and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--{flag}: {error}")]
    Time {
        flag: &'static str,
        error: TimeError,
    },
    #[error("-u/--unit: an empty unit name was given")]
    EmptyUnit,
    #[error("-u/--unit: unit {0} is given twice")]
    DuplicateUnit(String),
    #[error("--since ({since}) is after --until ({until}): nothing can match")]
    SinceAfterUntil { since: String, until: String },
    #[error("'-' (standard input) is given more than once")]
    StdinTwice,
    #[error("stats counts the history only: drop --follow")]
    StatsFollow,
    #[error(transparent)]
    File(#[from] ConfigFileError),
    #[error("--{flag}: invalid duration {text:?} ({error}): use {ACCEPTED_DURATION_FORMS}")]
    Duration {
        flag: &'static str,
        text: String,
        error: DurationError,
    },
    #[error("--max-5xx-rate: {0} is not a percentage between 0 and 100")]
    Percentage(f64),
    #[error("config: give --default or --check FILE")]
    ConfigWhat,
    #[error("--speed: cannot read {0:?}: give a whole multiple like 10x or 20x, or max")]
    Speed(String),
    #[error("--exec-timeout: give a time longer than 0s")]
    ExecTimeoutZero,
    #[error("--exec-max-running: give at least 1")]
    ExecMaxRunning,
    #[error("--metrics: cannot read {0:?}: give HOST:PORT (\"127.0.0.1:9464\", \"[::1]:9464\") or a port")]
    MetricsAddr(String),
    #[error("--cursor-file needs one journal input (the system journal, one -D DIR, or --file): a cursor names a place in one journal, and {0} has none")]
    CursorInput(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("give only one of --since, --cursor and --after-cursor (as journalctl)")]
    StartTwice,
    #[error(
        "-b/--boot {0}: an offset needs journal files (the system journal, -D or --file); \
         a text input holds no list of boots: give a boot ID"
    )]
    BootOffsetOnText(String),
    #[error("-r/--reverse: only `entries` prints entries, and not with --follow")]
    Reverse,
}

/// A duration flag's value in the one duration grammar ([`crate::duration`]), in µs.
fn parse_duration(flag: &'static str, text: String) -> Result<u64, ConfigError> {
    crate::duration::parse_us(&text).map_err(|error| ConfigError::Duration { flag, text, error })
}

/// `--metrics`' address: `HOST:PORT` with a numeric host, or a bare port on loopback.
fn parse_metrics_addr(text: &str) -> Result<std::net::SocketAddr, ConfigError> {
    let t = text.trim();
    if let Ok(port) = t.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    t.parse()
        .map_err(|_| ConfigError::MetricsAddr(text.to_owned()))
}

/// `report`'s gates: `--max-5xx-rate` must be a percentage.
fn slo_of(
    max_p99: Option<String>,
    max_5xx_rate: Option<f64>,
    max_502: Option<u64>,
) -> Result<Slo, ConfigError> {
    let max_p99_us = max_p99.map(|t| parse_duration("max-p99", t)).transpose()?;
    if let Some(p) = max_5xx_rate {
        if !(0.0..=100.0).contains(&p) {
            return Err(ConfigError::Percentage(p));
        }
    }
    Ok(Slo {
        max_p99_us,
        max_5xx_pct: max_5xx_rate,
        max_502,
    })
}

/// `watch --exec`'s limits: a timeout above 0, at least one hook running.
fn hook_limits(
    exec_timeout: Option<String>,
    exec_max_running: Option<usize>,
) -> Result<HookLimits, ConfigError> {
    let timeout = match exec_timeout {
        Some(t) => match parse_duration("exec-timeout", t)? {
            0 => return Err(ConfigError::ExecTimeoutZero),
            us => Duration::from_micros(us),
        },
        None => DEFAULT_HOOK_TIMEOUT,
    };
    let max_running = exec_max_running.unwrap_or(DEFAULT_HOOKS_RUNNING);
    if max_running == 0 {
        return Err(ConfigError::ExecMaxRunning);
    }
    Ok(HookLimits {
        max_running,
        timeout,
        exit_grace: HOOK_EXIT_GRACE,
    })
}

/// What `config --default` or `config --check FILE` prints.
fn config_text(default: bool, check: Option<PathBuf>) -> Result<String, ConfigError> {
    Ok(match (default, check) {
        (true, _) => config_file::DEFAULT_TOML.to_owned(),
        (false, Some(path)) => {
            // TOML, so the output can be saved as a config file as is.
            let s = config_file::load(Some(&path))?;
            format!(
                "# {path}: ok; the effective settings:\n{}",
                config_file::to_toml(&s),
                path = crate::text::sanitize(&path.display().to_string())
            )
        }
        (false, None) => return Err(ConfigError::ConfigWhat),
    })
}

/// What the subcommand asks for: its mode, the input flags (those given before the
/// subcommand with those after it on top) and the text inputs, and what only
/// `snapshot` sets.
struct Subcommand {
    mode: Mode,
    input: InputArgs,
    /// Text inputs (`-` or a path) in the order given, before and after the subcommand.
    text_inputs: Vec<PathBuf>,
    anonymize_ips: bool,
    /// Deprecated spellings used.
    warnings: Vec<String>,
}

/// Said when `snapshot -o DIR` is used.
const SNAPSHOT_OUTPUT_DEPRECATED: &str = "snapshot -o/--output DIR is deprecated: use \
    --output-dir DIR (-o is the output format, as in journalctl, in every other subcommand)";

/// Reads the subcommand and its own flags (see [`Subcommand`]).
#[allow(
    clippy::too_many_lines,
    reason = "one short arm per subcommand; rustfmt puts each field of a variant on a line"
)]
fn subcommand(
    command: Option<Command>,
    input: InputArgs,
    mut text_inputs: Vec<PathBuf>,
    facts: TerminalFacts,
) -> Result<Subcommand, ConfigError> {
    let mut anonymize_ips = false;
    let mut warnings = Vec::new();
    let (mode, input) = match command {
        None => (Mode::Tui, input),
        Some(Command::Entries {
            output,
            input: later,
            streams,
        }) => {
            text_inputs.extend(streams.inputs);
            (Mode::Entries { format: output }, input.merge(later))
        }
        Some(Command::Stats {
            input: later,
            streams,
        }) => {
            text_inputs.extend(streams.inputs);
            (Mode::Stats, input.merge(later))
        }
        Some(Command::Report {
            format,
            max_p99,
            max_5xx_rate,
            max_502,
            input: later,
            streams,
        }) => {
            text_inputs.extend(streams.inputs);
            let slo = slo_of(max_p99, max_5xx_rate, max_502)?;
            (Mode::Report { format, slo }, input.merge(later))
        }
        Some(Command::Watch {
            format,
            exec,
            exec_timeout,
            exec_max_running,
            cursor_file,
            metrics,
            input: later,
            streams,
        }) => {
            text_inputs.extend(streams.inputs);
            let mode = Mode::Watch {
                format,
                exec,
                hooks: hook_limits(exec_timeout, exec_max_running)?,
                cursor_file,
                metrics: metrics.as_deref().map(parse_metrics_addr).transpose()?,
            };
            (mode, input.merge(later))
        }
        Some(Command::Snapshot {
            incident,
            output_dir,
            output,
            archive,
            anonymize_ip,
            input: later,
            streams,
        }) => {
            text_inputs.extend(streams.inputs);
            if output.is_some() {
                warnings.push(SNAPSHOT_OUTPUT_DEPRECATED.to_owned());
            }
            anonymize_ips = anonymize_ip;
            let mode = Mode::Snapshot {
                incident,
                output: output_dir
                    .or(output)
                    .unwrap_or_else(crate::paths::snapshot_dir),
                archive,
            };
            (mode, input.merge(later))
        }
        Some(Command::Config { default, check }) => (
            Mode::PrintConfig {
                text: config_text(default, check)?.into_bytes(),
            },
            input,
        ),
        Some(Command::Completions { shell }) => (
            Mode::PrintConfig {
                text: crate::cli::completions(shell),
            },
            input,
        ),
        Some(Command::Manpage) => (
            Mode::PrintConfig {
                text: crate::cli::manpage(),
            },
            input,
        ),
        // The demo opens the live screen on a terminal unless a format is asked for.
        Some(Command::Demo { format: None, .. }) if facts.stdout_is_terminal => (Mode::Tui, input),
        Some(Command::Demo { format, .. }) => (
            Mode::Report {
                format: format.unwrap_or(ReportFormat::Text),
                slo: Slo::default(),
            },
            input,
        ),
    };
    Ok(Subcommand {
        mode,
        input,
        text_inputs,
        anonymize_ips,
        warnings,
    })
}

/// The unit names given (`-u`; the config file's origin and tunnel units when none is),
/// as units: none empty, none twice.
fn units_of(given: Vec<String>, settings: &Settings) -> Result<Vec<Unit>, ConfigError> {
    let names: Vec<String> = if given.is_empty() {
        vec![
            settings.origin_unit.to_string(),
            settings.tunnel_unit.to_string(),
        ]
    } else {
        given
    };
    let mut units: Vec<Unit> = Vec::with_capacity(names.len());
    for name in &names {
        if name.trim().is_empty() {
            return Err(ConfigError::EmptyUnit);
        }
        let unit = Unit::new(name);
        if units.contains(&unit) {
            return Err(ConfigError::DuplicateUnit(unit.to_string()));
        }
        units.push(unit);
    }
    Ok(units)
}

/// The inputs in the order [`Config::inputs`] keeps: journal directories, then the
/// journal files (one input together), then text inputs and the replay; the system
/// journal when none is given.
fn input_specs(
    directories: Vec<PathBuf>,
    files: Vec<PathBuf>,
    text_inputs: Vec<PathBuf>,
    replay: Option<&Path>,
) -> Result<Vec<InputSpec>, ConfigError> {
    let mut inputs: Vec<InputSpec> = directories.into_iter().map(InputSpec::Directory).collect();
    if !files.is_empty() {
        inputs.push(InputSpec::Files(files));
    }
    let mut has_stdin = false;
    for path in text_inputs {
        if path.as_os_str() == "-" {
            if has_stdin {
                return Err(ConfigError::StdinTwice);
            }
            has_stdin = true;
            inputs.push(InputSpec::Stdin);
        } else {
            inputs.push(InputSpec::TextFile(path));
        }
    }
    if let Some(path) = replay {
        // A bundle is a directory holding journal.export; anything else is export text,
        // or a bundle's .tar.gz (recognised by its bytes when it is opened).
        let file = if path.is_dir() {
            path.join("journal.export")
        } else {
            path.to_owned()
        };
        inputs.push(InputSpec::TextFile(file));
    }
    if inputs.is_empty() {
        inputs.push(InputSpec::System);
    }
    Ok(inputs)
}

/// journalctl's filters besides units and times (`-p`, `-t`, `-b`, `-g`, `--cursor`),
/// checked against the start (`since`) and the inputs.
fn entry_filter(
    jc: &JournalctlArgs,
    since: Option<Timestamp>,
    inputs: &[InputSpec],
) -> Result<EntryFilter, ConfigError> {
    let filter = EntryFilter {
        priorities: jc
            .priority
            .as_deref()
            .map(filter::parse_priorities)
            .transpose()?,
        identifiers: jc.identifiers.clone(),
        boot: jc.boot.as_deref().map(filter::parse_boot).transpose()?,
        grep: jc
            .grep
            .as_deref()
            .map(|g| Grep::new(g, jc.case_sensitive))
            .transpose()?,
        start: match (jc.cursor.clone(), jc.after_cursor.clone()) {
            (Some(_), Some(_)) => return Err(ConfigError::StartTwice),
            (Some(cursor), None) => Some(StartCursor {
                cursor,
                is_after: false,
            }),
            (None, Some(cursor)) => Some(StartCursor {
                cursor,
                is_after: true,
            }),
            (None, None) => None,
        },
    };
    if filter.start.is_some() && since.is_some() {
        return Err(ConfigError::StartTwice);
    }
    if let Some(boot) = &filter.boot {
        let is_text = |i: &InputSpec| {
            matches!(
                i,
                InputSpec::Stdin | InputSpec::TextFile(_) | InputSpec::Demo
            )
        };
        if boot.exact_id().is_none() && inputs.iter().any(is_text) {
            return Err(ConfigError::BootOffsetOnText(
                jc.boot.clone().unwrap_or_default(),
            ));
        }
    }
    Ok(filter)
}

/// Whether an input is a journal (a place in it has a cursor).
fn is_journal(input: &InputSpec) -> bool {
    matches!(
        input,
        InputSpec::System | InputSpec::Directory(_) | InputSpec::Files(_)
    )
}

/// Where journal inputs start (see [`Config::start`]). `watch` starts at now on a
/// journal (as `journalctl -f`): what happened before it started was alerted by whoever
/// watched then. `--since`/`-n` (`is_replaying`) replay on purpose, and without
/// following there would be nothing to read. `watch --cursor-file` needs one journal.
fn start_of(
    mode: &Mode,
    follow: bool,
    is_replaying: bool,
    inputs: &[InputSpec],
) -> Result<StartAt, ConfigError> {
    let start = if matches!(mode, Mode::Watch { .. })
        && follow
        && !is_replaying
        && inputs.iter().all(is_journal)
    {
        StartAt::End
    } else {
        StartAt::Head
    };
    if let Mode::Watch {
        cursor_file: Some(_),
        ..
    } = mode
    {
        check_cursor_input(inputs)?;
    }
    Ok(start)
}

/// `watch --cursor-file` needs exactly one journal input.
fn check_cursor_input(inputs: &[InputSpec]) -> Result<(), ConfigError> {
    match inputs {
        [one] if is_journal(one) => Ok(()),
        [_, second, ..] if is_journal(second) => Err(ConfigError::CursorInput(format!(
            "{} and {}",
            inputs[0].describe(),
            second.describe()
        ))),
        [one, ..] => Err(ConfigError::CursorInput(one.describe())),
        [] => Ok(()),
    }
}

/// `--since` and `--until`, read against `now`; `--since` after `--until` is refused.
fn window_of(
    since: Option<String>,
    until: Option<String>,
    now: &jiff::Zoned,
) -> Result<(Option<Timestamp>, Option<Timestamp>), ConfigError> {
    let time = |flag: &'static str, text: Option<String>| {
        text.map(|t| {
            parse_time_in(&t, now.timestamp(), now.time_zone())
                .map_err(|error| ConfigError::Time { flag, error })
        })
        .transpose()
    };
    let since = time("since", since)?;
    let until = time("until", until)?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ConfigError::SinceAfterUntil {
                since: s.to_rfc3339(),
                until: u.to_rfc3339(),
            });
        }
    }
    Ok((since, until))
}

/// Whether the inputs are followed: as `--follow`/`--no-follow` say, else history modes
/// stop at the end; the live screen follows the live journal, and shows recorded inputs
/// (-D, --file, text) as history.
fn is_following(follow: bool, no_follow: bool, mode: &Mode, inputs: &[InputSpec]) -> bool {
    if follow {
        true
    } else if no_follow {
        false
    } else {
        match mode {
            Mode::Tui => inputs == [InputSpec::System],
            Mode::Watch { .. } => true,
            Mode::Snapshot { .. }
            | Mode::Entries { .. }
            | Mode::Stats
            | Mode::Report { .. }
            | Mode::PrintConfig { .. } => false,
        }
    }
}

/// The live screen's look and pace (its look-back is decided with the inputs): the
/// demo's pace, or a replay's, when the screen shows one.
fn screen_settings(
    screen: ScreenArgs,
    facts: TerminalFacts,
    mode: &Mode,
    is_demo: bool,
    has_replay: bool,
) -> Result<ScreenSettings, ConfigError> {
    let ScreenArgs { theme, speed } = screen;
    let is_replay = has_replay && *mode == Mode::Tui;
    let replay = if is_demo && *mode == Mode::Tui {
        Some(speed.as_deref().map_or(Ok(DEFAULT_DEMO_PACE), parse_pace)?)
    } else if is_replay {
        speed.as_deref().map(parse_pace).transpose()?
    } else {
        None
    };
    Ok(ScreenSettings {
        theme: theme.unwrap_or(if facts.no_color {
            ThemeName::Mono
        } else {
            ThemeName::Dark
        }),
        frames_per_sec: DEFAULT_FRAMES_PER_SEC,
        replay,
        lookback_us: None,
    })
}

/// Where reading starts for a window starting at `since`, with the model told where
/// counting starts. A window that starts inside a story needs the state before it: the
/// tunnel's registrations, the origin's state, requests in flight. The model reads a
/// bounded look-back for that and counts nothing from it. `-n` (`has_lines`) keeps
/// journalctl's meaning (the first N entries from --since), so it reads no look-back.
fn window_start(
    model: &mut Settings,
    mode: &Mode,
    since: Option<Timestamp>,
    has_lines: bool,
) -> Option<Timestamp> {
    let builds_model = matches!(
        mode,
        Mode::Tui | Mode::Report { .. } | Mode::Watch { .. } | Mode::Snapshot { .. }
    );
    match since {
        Some(s) if builds_model && !has_lines && model.lookback_us > 0 => {
            model.count_from = Some(s);
            Some(Timestamp(s.0.saturating_sub(model.lookback_us)))
        }
        _ => since,
    }
}

/// Where the live screen over the running journal starts: `back` µs before `now`. It
/// reads what it shows, not the whole retention, which takes long to catch up with
/// (issue 19; docs/bench-results.md): `[screen] lookback` (15 min) unless --since, -n or
/// "0s" says otherwise.
fn lookback_start(back: u64, now: &jiff::Zoned) -> Timestamp {
    Timestamp(
        u64::try_from(now.timestamp().as_microsecond())
            .unwrap_or(0)
            .saturating_sub(back),
    )
}

impl Config {
    /// Validates `args`, reading relative times against the local clock.
    pub(crate) fn from_args(args: Args) -> Result<Config, ConfigError> {
        Config::from_args_at(args, &jiff::Zoned::now())
    }

    /// As [`Config::from_args`], with "now" given (local times are read in its time zone:
    /// the system's, `TZ` or `/etc/localtime`, for [`Config::from_args`]).
    pub fn from_args_at(args: Args, now: &jiff::Zoned) -> Result<Config, ConfigError> {
        Config::from_args_with(args, now, TerminalFacts::detect())
    }

    /// As [`Config::from_args_at`], with the terminal facts given.
    pub(crate) fn from_args_with(
        args: Args,
        now: &jiff::Zoned,
        facts: TerminalFacts,
    ) -> Result<Config, ConfigError> {
        let Args {
            command,
            input,
            streams,
            screen,
        } = args;
        let screen = match &command {
            Some(Command::Demo { screen: later, .. }) => screen.merge(later),
            _ => screen,
        };
        let command_kind = match command {
            Some(Command::Demo { .. }) => CommandKind::Demo,
            _ => CommandKind::Other,
        };
        let Subcommand {
            mode,
            input,
            text_inputs,
            anonymize_ips,
            warnings,
        } = subcommand(command, input, streams.inputs, facts)?;
        let is_demo = matches!(command_kind, CommandKind::Demo);

        let loaded = if matches!(mode, Mode::PrintConfig { .. }) {
            config_file::Loaded::default()
        } else {
            config_file::load(input.config.as_deref())?
        };
        let redact_patterns = loaded.redact_patterns;
        let screen_lookback_us = loaded.screen_lookback_us;
        let file_settings = loaded.settings;
        let units = units_of(input.units, &file_settings)?;

        let (since, until) = window_of(input.since, input.until, now)?;

        let input_replay = input.replay.is_some();
        let mut inputs = input_specs(
            input.directories,
            input.files,
            text_inputs,
            input.replay.as_deref(),
        )?;
        if is_demo {
            // The demo reads only its own scenario (the inputs are still checked).
            inputs = vec![InputSpec::Demo];
        }

        let follow = is_following(input.follow, input.no_follow, &mode, &inputs);
        if follow && mode == Mode::Stats {
            return Err(ConfigError::StatsFollow);
        }
        let is_replaying = since.is_some() || input.lines.is_some();
        let start = start_of(&mode, follow, is_replaying, &inputs)?;

        let is_live_screen = mode == Mode::Tui && inputs == [InputSpec::System] && follow;
        let lookback_us = (is_live_screen && since.is_none() && input.lines.is_none())
            .then_some(screen_lookback_us)
            .filter(|&back| back > 0);
        let since = lookback_us.map_or(since, |back| Some(lookback_start(back, now)));

        let jc = input.journalctl;
        let filter = entry_filter(&jc, since, &inputs)?;
        let output = OutputSettings {
            reverse: jc.reverse,
            utc: jc.utc,
            quiet: jc.quiet,
        };
        if output.reverse && (!matches!(mode, Mode::Entries { .. }) || follow) {
            return Err(ConfigError::Reverse);
        }

        let mut model = model_settings(file_settings, &units);
        let read_from = window_start(&mut model, &mode, since, input.lines.is_some());
        // Several inputs may hold the same entries (`-D D -D D`, a directory and a file in
        // it, an export of the journal also read): each entry is counted once.
        model.dedupe = inputs.len() > 1;
        if matches!(mode, Mode::Report { .. } | Mode::Watch { .. }) {
            model.log_capacity_events = HEADLESS_LOG_CAPACITY_EVENTS;
            model.trace_capacity = HEADLESS_TRACE_CAPACITY;
            model.keep_timeline = false;
        }
        let screen = ScreenSettings {
            lookback_us,
            ..screen_settings(screen, facts, &mode, is_demo, input_replay)?
        };
        Ok(Config {
            mode,
            inputs,
            units: UnitFilter { units },
            since,
            until,
            read_from,
            backlog_entries: input.lines,
            follow,
            start,
            channel_capacity_batches: CHANNEL_CAPACITY_BATCHES,
            batch_max_entries: 1024,
            batch_max_wait: Duration::from_millis(10),
            model,
            redact_patterns,
            anonymize_ips,
            screen,
            filter,
            output,
            warnings,
        })
    }

    /// Moves the window's start to `from` (the screen's `:` to a time before where it
    /// started): reading starts the look-back before it, counting at it.
    pub(crate) fn start_window_at(&mut self, from: Timestamp) {
        self.since = Some(from);
        if self.model.lookback_us > 0 && self.backlog_entries.is_none() {
            self.model.count_from = Some(from);
            self.read_from = Some(Timestamp(from.0.saturating_sub(self.model.lookback_us)));
        } else {
            self.model.count_from = None;
            self.read_from = Some(from);
        }
    }

    /// What every source is asked to read.
    pub(crate) fn read_options(&self) -> ReadOptions {
        ReadOptions {
            units: self.units.clone(),
            since: self.read_from,
            until: self.until,
            backlog_entries: self.backlog_entries,
            follow: self.follow,
            start: self.start.clone(),
            filter: self.filter.clone(),
            batch_max_entries: self.batch_max_entries,
            batch_max_wait: self.batch_max_wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(argv: &[&str]) -> Result<Config, ConfigError> {
        let now: jiff::Zoned = "2026-11-24T15:30:00+01:00[+01:00]".parse().unwrap();
        let args = Args::try_parse_from(std::iter::once("sigil-top").chain(argv.iter().copied()))
            .expect("argv parses");
        Config::from_args_at(args, &now)
    }

    #[test]
    fn defaults_watch_both_units_in_the_system_journal_without_following_history_modes() {
        let c = config(&["entries"]).unwrap();
        let names: Vec<&str> = c.units.units.iter().map(Unit::as_str).collect();
        assert_eq!(names, DEFAULT_UNITS);
        assert_eq!(c.inputs, [InputSpec::System]);
        assert!(!c.follow);
        assert_eq!(
            c.mode,
            Mode::Entries {
                format: OutputFormat::Short
            }
        );
    }

    #[test]
    fn headless_modes_keep_no_log_traces_or_timeline_and_the_live_screen_keeps_them() {
        let default = Settings::default().log_capacity_events;
        assert_eq!(config(&["report"]).unwrap().model.log_capacity_events, 0);
        assert_eq!(config(&["report"]).unwrap().model.trace_capacity, 0);
        assert_eq!(config(&["watch"]).unwrap().model.log_capacity_events, 0);
        assert!(!config(&["report"]).unwrap().model.keep_timeline);
        assert!(!config(&["watch"]).unwrap().model.keep_timeline);
        assert!(config(&[]).unwrap().model.keep_timeline);
        assert!(config(&["snapshot"]).unwrap().model.keep_timeline);
        assert_eq!(config(&[]).unwrap().model.log_capacity_events, default);
        assert_eq!(
            config(&["snapshot"]).unwrap().model.log_capacity_events,
            default
        );
    }

    #[test]
    fn live_screen_follows_only_the_live_journal() {
        assert!(config(&[]).unwrap().follow);
        assert!(!config(&["-D", "/tmp"]).unwrap().follow);
        assert!(!config(&["-"]).unwrap().follow);
        assert!(config(&["-D", "/tmp", "--follow"]).unwrap().follow);
        assert!(!config(&["--follow", "--no-follow"]).unwrap().follow);
        assert!(
            config(&["--no-follow", "entries", "--follow"])
                .unwrap()
                .follow
        );
    }

    #[test]
    fn flags_may_come_before_or_after_the_subcommand() {
        let c = config(&[
            "-u",
            "a",
            "entries",
            "-u",
            "b.service",
            "-o",
            "json",
            "-",
            "-D",
            "/d",
        ])
        .unwrap();
        let names: Vec<&str> = c.units.units.iter().map(Unit::as_str).collect();
        assert_eq!(names, ["a.service", "b.service"]);
        assert_eq!(
            c.inputs,
            [InputSpec::Directory("/d".into()), InputSpec::Stdin]
        );
        assert_eq!(
            c.mode,
            Mode::Entries {
                format: OutputFormat::Json
            }
        );
    }

    #[test]
    fn files_are_one_input_in_given_order() {
        let c = config(&["stats", "--file", "a.journal", "--file", "b.journal"]).unwrap();
        assert_eq!(
            c.inputs,
            [InputSpec::Files(vec![
                "a.journal".into(),
                "b.journal".into()
            ])]
        );
    }

    #[test]
    fn relative_times_and_lines_are_resolved() {
        let c = config(&["entries", "--since", "-1h", "--until", "now", "-n", "5"]).unwrap();
        assert_eq!(
            c.since.map(Timestamp::to_rfc3339).as_deref(),
            Some("2026-11-24T13:30:00.000000Z")
        );
        assert_eq!(c.backlog_entries, Some(5));
    }

    /// See: issue 19 (point 5). The live screen over the running journal starts 15 min
    /// back (the header says so); `--since`, `-n`, `[screen] lookback` and recorded inputs
    /// change that, and no other mode gets a look-back.
    #[test]
    fn issue_19_the_live_screen_starts_with_a_bounded_look_back() {
        let now_us = 1_795_530_600_000_000; // 2026-11-24T14:30:00Z, the tests' "now"
        let c = config(&[]).unwrap();
        assert_eq!(c.mode, Mode::Tui);
        assert_eq!(c.since, Some(Timestamp(now_us - 15 * 60 * 1_000_000)));
        assert_eq!(c.screen.lookback_us, Some(15 * 60 * 1_000_000));
        let c = config(&["--since", "-1h"]).unwrap();
        assert_eq!(c.since, Some(Timestamp(now_us - 3_600_000_000)));
        assert_eq!(c.screen.lookback_us, None);
        for argv in [
            &["-n", "100"][..],
            &["-D", "/tmp"],
            &["--no-follow"],
            &["report"],
            &["entries"],
        ] {
            let c = config(argv).unwrap();
            assert_eq!(c.screen.lookback_us, None, "{argv:?}");
            assert_eq!(c.since, None, "{argv:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        for (text, want) in [
            ("[screen]\nlookback = \"2h\"\n", Some(7_200_000_000)),
            ("[screen]\nlookback = \"0s\"\n", None),
        ] {
            let file = dir.path().join("c.toml");
            std::fs::write(&file, text).unwrap();
            let c = config(&["--config", file.to_str().unwrap()]).unwrap();
            assert_eq!(c.screen.lookback_us, want, "{text}");
            assert_eq!(c.since, want.map(|w| Timestamp(now_us - w)), "{text}");
        }
    }

    fn config_on(argv: &[&str], facts: TerminalFacts) -> Result<Config, ConfigError> {
        let now: jiff::Zoned = "2026-11-24T15:30:00+01:00[+01:00]".parse().unwrap();
        let args = Args::try_parse_from(std::iter::once("sigil-top").chain(argv.iter().copied()))
            .expect("argv parses");
        Config::from_args_with(args, &now, facts)
    }

    const TTY: TerminalFacts = TerminalFacts {
        stdout_is_terminal: true,
        no_color: false,
    };
    const PIPE: TerminalFacts = TerminalFacts {
        stdout_is_terminal: false,
        no_color: false,
    };

    #[test]
    fn demo_opens_the_live_screen_on_a_terminal_and_prints_the_report_otherwise() {
        let c = config_on(&["demo"], TTY).unwrap();
        assert_eq!(c.mode, Mode::Tui);
        assert_eq!(c.inputs, [InputSpec::Demo]);
        assert_eq!(c.screen.replay, Some(DEFAULT_DEMO_PACE));
        let c = config_on(&["demo"], PIPE).unwrap();
        assert_eq!(
            c.mode,
            Mode::Report {
                format: ReportFormat::Text,
                slo: Slo::default(),
            }
        );
        let c = config_on(&["demo", "--format", "json"], TTY).unwrap();
        assert_eq!(
            c.mode,
            Mode::Report {
                format: ReportFormat::Json,
                slo: Slo::default(),
            }
        );
        assert_eq!(c.screen.replay, None);
    }

    #[test]
    fn demo_speed_and_theme_are_read_and_no_color_means_mono() {
        let c = config_on(&["demo", "--speed", "10x", "--theme", "light"], TTY).unwrap();
        assert_eq!(c.screen.replay, Some(Pace::Times(10)));
        assert_eq!(c.screen.theme, ThemeName::Light);
        let c = config_on(&["--theme", "light", "demo", "--speed", "max"], TTY).unwrap();
        assert_eq!(
            (c.screen.replay, c.screen.theme),
            (Some(Pace::Max), ThemeName::Light)
        );
        let no_color = TerminalFacts {
            no_color: true,
            ..TTY
        };
        assert_eq!(
            config_on(&[], no_color).unwrap().screen.theme,
            ThemeName::Mono
        );
        assert_eq!(
            config_on(&["--theme", "dark"], no_color)
                .unwrap()
                .screen
                .theme,
            ThemeName::Dark,
            "an explicit --theme wins over NO_COLOR"
        );
        let err = config_on(&["demo", "--speed", "fast"], TTY).unwrap_err();
        assert!(err.to_string().contains("--speed"), "{err}");
    }

    #[test]
    fn watch_starts_at_the_end_of_a_journal_unless_told_where() {
        assert_eq!(config(&["watch"]).unwrap().start, StartAt::End);
        assert_eq!(config(&["watch", "-D", "/d"]).unwrap().start, StartAt::End);
        for argv in [
            &["watch", "--since", "-1h"][..],
            &["watch", "-n", "10"],
            &["watch", "--no-follow"],
            &["watch", "-"],
            &["watch", "-D", "/d", "some.export"],
            &["report"],
            &[],
        ] {
            assert_eq!(config(argv).unwrap().start, StartAt::Head, "{argv:?}");
        }
    }

    #[test]
    fn watch_flags_are_read_and_checked() {
        let c = config(&[
            "watch",
            "--cursor-file",
            "/var/lib/x/c",
            "--metrics",
            "--exec-timeout",
            "2s",
            "--exec-max-running",
            "3",
        ])
        .unwrap();
        let Mode::Watch {
            hooks,
            cursor_file,
            metrics,
            ..
        } = c.mode
        else {
            panic!("watch mode")
        };
        assert_eq!(
            cursor_file.as_deref(),
            Some(std::path::Path::new("/var/lib/x/c"))
        );
        assert_eq!(metrics, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(hooks.timeout, Duration::from_secs(2));
        assert_eq!(hooks.max_running, 3);
        let port = |arg: &str| match config(&["watch", arg]).map(|c| c.mode) {
            Ok(Mode::Watch { metrics, .. }) => metrics.map(|a| a.to_string()),
            _ => None,
        };
        assert_eq!(port("--metrics=9100").as_deref(), Some("127.0.0.1:9100"));
        assert_eq!(port("--metrics=[::1]:9100").as_deref(), Some("[::1]:9100"));
        let rows: [(&[&str], &str); 5] = [
            (&["watch", "--metrics=localhost"], "--metrics: cannot read"),
            (&["watch", "--exec-timeout", "soon"], "--exec-timeout"),
            (&["watch", "--exec-max-running", "0"], "at least 1"),
            (
                &["watch", "--cursor-file", "c", "-D", "/a", "-D", "/b"],
                "needs one journal input",
            ),
            (
                &["watch", "--cursor-file", "c", "-"],
                "needs one journal input",
            ),
        ];
        for (argv, want) in rows {
            let message = config(argv).unwrap_err().to_string();
            assert!(message.contains(want), "{argv:?}: {message}");
        }
    }

    #[test]
    fn journalctl_flags_resolve_and_may_come_before_or_after_the_subcommand() {
        let c = config(&[
            "-t",
            "a",
            "-p",
            "err..warning",
            "entries",
            "-t",
            "b",
            "-g",
            "Boom",
            "-b",
            "-1",
            "--after-cursor",
            "s=x;t=10",
            "-q",
            "--utc",
            "--no-pager",
            "-D",
            "/d",
        ])
        .unwrap();
        assert_eq!(c.filter.identifiers, ["a", "b"]);
        assert_eq!(c.filter.priorities, Some(0b0001_1000));
        assert!(c.filter.grep.as_ref().is_some_and(|g| !g.is_match(b"boom")));
        assert_eq!(
            c.filter.boot,
            Some(filter::Boot {
                id: None,
                offset: -1
            })
        );
        assert_eq!(
            c.filter.start,
            Some(StartCursor {
                cursor: "s=x;t=10".into(),
                is_after: true
            })
        );
        assert!(c.output.quiet && c.output.utc && !c.output.reverse);
        assert_eq!(c.read_options().filter.identifiers, ["a", "b"]);
        // A bare -b after the subcommand is the current (or last) boot.
        let c = config(&["entries", "-D", "/d", "-b"]).unwrap();
        assert_eq!(c.filter.boot.map(|b| (b.id, b.offset)), Some((None, 0)));
    }

    #[test]
    fn unit_globs_keep_the_configured_units_as_origin_and_tunnel() {
        let c = config(&["entries", "-u", "cloudflared*", "-u", "sigil*"]).unwrap();
        let names: Vec<&str> = c.units.units.iter().map(Unit::as_str).collect();
        assert_eq!(names, ["cloudflared*", "sigil*"], "globs get no .service");
        assert_eq!(c.model.tunnel_unit.as_str(), "cloudflared.service");
        assert_eq!(c.model.origin_unit.as_str(), "sigil-mcp.service");
    }

    #[test]
    fn bad_combinations_say_which_flag() {
        let rows: [(&[&str], &str); 10] = [
            (
                &["entries", "--since", "soon"],
                "--since: cannot read \"soon\"",
            ),
            (
                &["entries", "-u", "a", "-u", "a.service"],
                "unit a.service is given twice",
            ),
            (
                &["entries", "--since", "now", "--until", "-1h"],
                "is after --until",
            ),
            (&["entries", "-", "-"], "standard input"),
            (&["stats", "--follow"], "drop --follow"),
            (&["entries", "-p", "loud"], "-p/--priority"),
            (
                &["entries", "--cursor", "a", "--after-cursor", "b"],
                "only one of --since, --cursor",
            ),
            (&["entries", "-", "-b"], "an offset needs journal files"),
            (&["report", "-r"], "-r/--reverse"),
            (&["entries", "-g", "a(", "-D", "/d"], "-g/--grep"),
        ];
        for (argv, want) in rows {
            let message = config(argv).unwrap_err().to_string();
            assert!(message.contains(want), "{argv:?}: {message}");
        }
    }
}
